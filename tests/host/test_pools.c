/* test_pools.c - host tests of memory_pool, page_pool and the alloc_pool dispatch against simple models. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/memory_pool.h"
#include "mm/page_pool.h"
#include "mm/pool.h"
#include "tests/host/rng.h"
#include "tests/test.h"

/* ---- shared helpers ---------------------------------------------------------------------------------- */

static uint8_t pat(uint32_t seed, size_t i)
{
	return (uint8_t)(seed * 131u + i * 7u + (i >> 8) * 13u + 1u);
}

static void fill(void *p, size_t n, uint32_t seed)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = pat(seed, i);
}

/* Index of the first byte of [p, p+n) that does not hold the pattern, n if all do (from byte @from). */
static size_t bad_fill(const void *p, size_t from, size_t n, uint32_t seed)
{
	const uint8_t *b = p;
	size_t i;

	for (i = from; i < n; i++)
		if (b[i] != pat(seed, i))
			return i;
	return n;
}

struct ival {
	uintptr_t lo, hi;
};

static int ival_cmp(const void *a, const void *b)
{
	const struct ival *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort @n intervals and report the first two that overlap. */
static bool disjoint(struct test *t, struct ival *v, size_t n)
{
	size_t i;

	qsort(v, n, sizeof(*v), ival_cmp);
	for (i = 1; i < n; i++)
		CHECK_OR_FALSE(t, v[i - 1].hi <= v[i].lo, "[%#lx, %#lx) overlaps [%#lx, %#lx)",
			       (unsigned long)v[i - 1].lo, (unsigned long)v[i - 1].hi, (unsigned long)v[i].lo,
			       (unsigned long)v[i].hi);
	return true;
}

static void *xalloc(size_t align, size_t size)
{
	void *p = aligned_alloc(align, size);

	if (p)
		memset(p, 0xa5, size);
	return p;
}

/* ---- memory_pool ------------------------------------------------------------------------------------- */

#define MP_OVH MEMORY_POOL_OVERHEAD
#define MP_LIVE_MAX 600
#define MP_SLACK (MEMORY_POOL_ALIGN + 64)	/* usable size may exceed the request by less than this */

struct mp_live {
	uint8_t *p;
	size_t size;	/* usable size, all of it filled with the pattern */
	uint32_t seed;
};

struct mp_model {
	struct memory_pool_s *pool;
	struct mp_live live[MP_LIVE_MAX];
	unsigned n;
	struct ival resv[8];
	unsigned nresv;
	size_t total;
	uint32_t seed;
	unsigned nomem, grown_in_place, moved, shrunk;	/* what the random run went through */
};

static bool mp_verify(struct test *t, struct mp_model *m, bool full)
{
	static struct ival iv[MP_LIVE_MAX + 8];
	struct memory_pool_stats st;
	char why[160];
	size_t used = 0, k = 0;
	unsigned i;
	error_t e;

	e = memory_pool_check(m->pool, why, sizeof(why));
	CHECK_OR_FALSE(t, e == 0, "memory_pool_check: %s: %s", err_str(e), why);
	memory_pool_get_stats(m->pool, &st);
	for (i = 0; i < m->n; i++) {
		struct mp_live *l = &m->live[i];
		size_t gs = 0;

		CHECK_OR_FALSE(t, (uintptr_t)l->p % MEMORY_POOL_ALIGN == 0, "block %p misaligned", l->p);
		CHECK_OR_FALSE(t, memory_pool_owns(m->pool, l->p), "block %p not owned", l->p);
		e = memory_pool_getsize(m->pool, l->p, &gs);
		CHECK_OR_FALSE(t, e == 0 && gs == l->size, "getsize(%p) = %s %zu, model %zu", l->p, err_str(e),
			       gs, l->size);
		if (full || l->size <= 64)
			CHECK_OR_FALSE(t, bad_fill(l->p, 0, l->size, l->seed) == l->size,
				       "block %p (%zu bytes): byte %zu overwritten", l->p, l->size,
				       bad_fill(l->p, 0, l->size, l->seed));
		else	/* between full checks: the first and last 32 bytes */
			CHECK_OR_FALSE(t, bad_fill(l->p, 0, 32, l->seed) == 32 &&
					  bad_fill(l->p, l->size - 32, l->size, l->seed) == l->size,
				       "block %p (%zu bytes): head or tail overwritten", l->p, l->size);
		used += gs + MP_OVH;
		iv[k].lo = (uintptr_t)l->p - MP_OVH;
		iv[k++].hi = (uintptr_t)l->p + gs;
	}
	for (i = 0; i < m->nresv; i++)
		iv[k++] = m->resv[i];
	CHECK_OR_FALSE(t, st.nused_blocks == m->n, "stats: %u used blocks, model %u", st.nused_blocks, m->n);
	CHECK_OR_FALSE(t, st.nreserved_blocks == m->nresv, "stats: %u reserved, model %u", st.nreserved_blocks,
		       m->nresv);
	CHECK_OR_FALSE(t, st.used == used, "stats: used %zu, model %zu", st.used, used);
	CHECK_OR_FALSE(t, st.total == m->total, "stats: total %zu, expected %zu", st.total, m->total);
	CHECK_OR_FALSE(t, st.free + st.used + st.reserved == st.total, "stats: free+used+reserved != total");
	CHECK_OR_FALSE(t, st.largest_free <= st.free, "stats: largest_free %zu > free %zu", st.largest_free,
		       st.free);
	return disjoint(t, iv, k);
}

/* Sizes: mostly small, some medium, a few large. */
static size_t mp_rnd_size(void)
{
	static const struct rnd_band sizes[] = {
		{ 60, 1, 128 }, { 90, 129, 2048 }, { 99, 2049, 16384 }, { 100, 16385, 80000 },
	};

	return rnd_bands(sizes, sizeof(sizes) / sizeof(sizes[0]));
}

static void mp_add(struct mp_model *m, void *p)
{
	struct mp_live *l = &m->live[m->n++];
	size_t gs = 0;

	memory_pool_getsize(m->pool, p, &gs);
	l->p = p;
	l->size = gs;
	l->seed = ++m->seed;
	fill(p, gs, l->seed);
}

static void mp_del(struct mp_model *m, unsigned i)
{
	m->live[i] = m->live[--m->n];
}

/* the one code a refused request of @size gets: larger than any block of the pool can be, or no room now */
static error_t mp_refusal(const struct memory_pool_s *pool, size_t size)
{
	return size > pool->max_block - MEMORY_POOL_OVERHEAD ? ERR_SIZE : ERR_NOMEM;
}

static void mp_do_alloc(struct test *t, struct mp_model *m)
{
	struct memory_pool_stats st;
	size_t size = mp_rnd_size(), gs = 0;
	void *p = (void *)1;
	error_t e;

	if (m->n == MP_LIVE_MAX)
		return;
	memory_pool_get_stats(m->pool, &st);
	e = memory_pool_alloc(m->pool, size, &p);
	if (size <= st.largest_free) {
		EXPECT_OK(t, e);	/* first fit must find what the stats say is there */
	} else {
		EXPECT_ERR(t, e, mp_refusal(m->pool, size));
		EXPECT_TRUE(t, p == (void *)1);
	}
	m->nomem += e == ERR_NOMEM;
	if (e)
		return;
	EXPECT_OK(t, memory_pool_getsize(m->pool, p, &gs));
	EXPECT_GE(t, gs, size);
	EXPECT_LT(t, gs, size + MP_SLACK);
	mp_add(m, p);
}

static void mp_do_free(struct test *t, struct mp_model *m)
{
	struct memory_pool_stats before, after;
	unsigned i;
	uint8_t *p;

	if (!m->n)
		return;
	i = (unsigned)rnd_below(m->n);
	p = m->live[i].p;
	EXPECT_EQ(t, bad_fill(p, 0, m->live[i].size, m->live[i].seed), m->live[i].size);
	EXPECT_OK(t, memory_pool_free(m->pool, p));
	mp_del(m, i);
	if (rnd_below(50) == 0) {
		memory_pool_get_stats(m->pool, &before);
		EXPECT_ERR(t, memory_pool_free(m->pool, p), ERR_DOUBLEFREE);
		memory_pool_get_stats(m->pool, &after);
		EXPECT_TRUE(t, memcmp(&before, &after, sizeof(before)) == 0);
	}
}

static void mp_do_resize(struct test *t, struct mp_model *m)
{
	struct memory_pool_stats st;
	struct mp_live *l;
	size_t ns, keep;
	void *np = NULL;
	unsigned i;
	error_t e;

	if (!m->n)
		return;
	i = (unsigned)rnd_below(m->n);
	l = &m->live[i];
	ns = rnd_below(3) == 0 ? rnd_range(1, l->size) : mp_rnd_size();
	memory_pool_get_stats(m->pool, &st);
	e = memory_pool_resize(l->p, ns, &np);
	if (ns <= l->size) {
		EXPECT_OK(t, e);		/* shrinking never fails */
		EXPECT_TRUE(t, np == l->p);	/* and stays in place */
	}
	if (e) {
		EXPECT_ERR(t, e, mp_refusal(m->pool, ns));
		if (e == ERR_NOMEM)
			EXPECT_GT(t, ns, st.largest_free);
		EXPECT_EQ(t, bad_fill(l->p, 0, l->size, l->seed), l->size);
		return;
	}
	if (np != l->p)
		m->moved++;
	else if (ns > l->size)
		m->grown_in_place++;
	else
		m->shrunk++;
	keep = ns < l->size ? ns : l->size;
	EXPECT_EQ(t, bad_fill(np, 0, keep, l->seed), keep);
	mp_del(m, i);
	mp_add(m, np);
	EXPECT_GE(t, m->live[m->n - 1].size, ns);
}

/* A refused free: the expected code (or either of two), and no change to the stats or the invariants. */
static void mp_expect_refused(struct test *t, struct mp_model *m, void *addr, error_t want, error_t alt)
{
	struct memory_pool_stats before, after;
	error_t e;

	memory_pool_get_stats(m->pool, &before);
	e = memory_pool_free(m->pool, addr);
	EXPECT_TRUE(t, e == want || e == alt);
	if (e != want && e != alt)
		test_log("free(%p) returned %s, expected %s", addr, err_str(e), err_str(want));
	memory_pool_get_stats(m->pool, &after);
	EXPECT_TRUE(t, memcmp(&before, &after, sizeof(before)) == 0);
}

static void mp_do_bad_free(struct test *t, struct mp_model *m, uint8_t *outside)
{
	struct mp_live *l;

	switch (rnd_below(4)) {
	case 0:
		if (m->n && (l = &m->live[rnd_below(m->n)])->size >= 32)
			mp_expect_refused(t, m, l->p + 16 * rnd_range(1, l->size / 16 - 1), ERR_INTERIOR,
					  ERR_INTERIOR);
		break;
	case 1:
		if (m->n)
			mp_expect_refused(t, m, m->live[rnd_below(m->n)].p + rnd_range(1, 15), ERR_MISALIGNED,
					  ERR_MISALIGNED);
		break;
	case 2:
		mp_expect_refused(t, m, outside + 16 * rnd_below(64), ERR_NOTOWNED, ERR_NOTOWNED);
		break;
	default:
		if (m->nresv)
			mp_expect_refused(t, m, (void *)(m->resv[0].lo & ~(uintptr_t)15), ERR_INVAL,
					  ERR_INTERIOR);
		break;
	}
}

#define MP_BUF (512 * 1024)

/* Thousands of random alloc/free/resize/bad frees over three ranges added over time, two reservations. */
static void mp_random_ops(struct test *t)
{
	uint8_t *buf = xalloc(4096, MP_BUF);
	struct mp_model *m = calloc(1, sizeof(*m));
	struct memory_pool_stats st;
	unsigned step, i;

	ASSERT_TRUE(t, buf && m);
	rng_seed(0x5eed0001);
	/* range 0: [8, 96K) with the descriptor inside */
	ASSERT_OK(t, memory_pool_init(buf + 8, buf + 96 * 1024, &m->pool));
	ASSERT_TRUE(t, (uint8_t *)m->pool >= buf + 8 && (uint8_t *)m->pool < buf + 96 * 1024);
	memory_pool_get_stats(m->pool, &st);
	m->total = st.total;
	EXPECT_LT(t, st.total, 96 * 1024 - 8 - sizeof(struct memory_pool_s));
	EXPECT_GT(t, st.total, 96 * 1024 - 8 - sizeof(struct memory_pool_s) - 128);
	/* reserve 3000 bytes in the middle of range 0 */
	ASSERT_OK(t, memory_pool_reserve(m->pool, buf + 40000 + 3, 3000));
	m->resv[m->nresv++] = (struct ival){ (uintptr_t)buf + 40003, (uintptr_t)buf + 43003 };
	ASSERT_TRUE(t, mp_verify(t, m, true));
	for (step = 0; step < 6000; step++) {
		size_t r = rnd_below(100);

		if (step == 1500) {
			/* range 1: [128K + 8, 256K - 24); overlapping attempts first */
			EXPECT_ERR(t, memory_pool_extend(m->pool, buf + 90 * 1024, buf + 130 * 1024),
				   ERR_OVERLAP);
			EXPECT_ERR(t, memory_pool_extend(m->pool, buf, buf + 16), ERR_OVERLAP);
			ASSERT_OK(t, memory_pool_extend(m->pool, buf + 128 * 1024 + 8, buf + 256 * 1024 - 24));
			memory_pool_get_stats(m->pool, &st);
			EXPECT_GT(t, st.total - m->total, 128 * 1024 - 32 - 128);
			m->total = st.total;
		}
		if (step == 3000) {
			/* range 2: [300K, 512K) plus a reservation in it */
			ASSERT_OK(t, memory_pool_extend(m->pool, buf + 300 * 1024, buf + MP_BUF));
			memory_pool_get_stats(m->pool, &st);
			m->total = st.total;
			ASSERT_OK(t, memory_pool_reserve(m->pool, buf + 350 * 1024 + 5, 777));
			m->resv[m->nresv++] = (struct ival){ (uintptr_t)buf + 350 * 1024 + 5,
							     (uintptr_t)buf + 350 * 1024 + 782 };
		}
		if (r < 40)
			mp_do_alloc(t, m);
		else if (r < 73)
			mp_do_free(t, m);
		else if (r < 99)
			mp_do_resize(t, m);
		else
			mp_do_bad_free(t, m, buf + 270 * 1024);
		if (!mp_verify(t, m, step % 64 == 0)) {
			test_log("model check failed at step %u", step);
			break;
		}
	}
	memory_pool_get_stats(m->pool, &st);
	test_log("after %u steps: %u live, %zu used, %zu free in %u blocks, largest %zu", step, m->n, st.used,
		 st.free, st.nfree_blocks, st.largest_free);
	test_log("alloc refused (ERR_NOMEM) %u times; resize: %u grown in place, %u moved, %u shrunk", m->nomem,
		 m->grown_in_place, m->moved, m->shrunk);
	EXPECT_GT(t, m->nomem, 0);
	EXPECT_GT(t, m->grown_in_place, 0);
	EXPECT_GT(t, m->moved, 0);
	while (m->n) {
		EXPECT_OK(t, memory_pool_free(m->pool, m->live[m->n - 1].p));
		m->n--;
	}
	EXPECT_TRUE(t, mp_verify(t, m, true));
	memory_pool_get_stats(m->pool, &st);
	/* everything merged back: one free block on each side of each reservation, per range */
	EXPECT_EQ(t, st.nfree_blocks, 3 + 2);
	EXPECT_EQ(t, st.free, st.total - st.reserved);
	{
		/* the reservations are disjoint: together at least their 16-byte-rounded sizes (was: each alone) */
		uint64_t sum = 0;

		for (i = 0; i < m->nresv; i++)
			sum += ((m->resv[i].hi + MEMORY_POOL_ALIGN - 1) & ~(uintptr_t)(MEMORY_POOL_ALIGN - 1)) -
			       (m->resv[i].lo & ~(uintptr_t)(MEMORY_POOL_ALIGN - 1));
		EXPECT_GE(t, st.reserved, sum);
	}
	free(m);
	free(buf);
}

/* Exhaust the pool with random sizes, then with ever smaller ones, then free all and use it again. */
static void mp_exhaust_recover(struct test *t)
{
	uint8_t *buf = xalloc(4096, 64 * 1024);
	struct mp_model *m = calloc(1, sizeof(*m));
	struct memory_pool_stats st, st0;
	void *p;
	error_t e;
	size_t size;
	int round;

	ASSERT_TRUE(t, buf && m);
	rng_seed(0x5eed0002);
	ASSERT_OK(t, memory_pool_init(buf, buf + 32 * 1024, &m->pool));
	ASSERT_OK(t, memory_pool_extend(m->pool, buf + 40 * 1024, buf + 64 * 1024));
	memory_pool_get_stats(m->pool, &st0);
	m->total = st0.total;
	EXPECT_EQ(t, st0.nfree_blocks, 2);
	for (round = 0; round < 3; round++) {
		for (size = 4096; size; size /= 2) {
			while ((e = memory_pool_alloc(m->pool, rnd_range(size / 2 + 1, size), &p)) == 0) {
				ASSERT_TRUE(t, m->n < MP_LIVE_MAX);
				mp_add(m, p);
			}
			EXPECT_ERR(t, e, ERR_NOMEM);
		}
		ASSERT_TRUE(t, mp_verify(t, m, true));
		memory_pool_get_stats(m->pool, &st);
		EXPECT_EQ(t, st.free, 0);	/* alloc(1) failing means no free block at all */
		EXPECT_EQ(t, st.nfree_blocks, 0);
		EXPECT_EQ(t, st.largest_free, 0);
		/* free in random order */
		while (m->n) {
			unsigned i = (unsigned)rnd_below(m->n);

			EXPECT_OK(t, memory_pool_free(m->pool, m->live[i].p));
			mp_del(m, i);
			if (m->n % 16 == 0)
				ASSERT_TRUE(t, mp_verify(t, m, false));
		}
		memory_pool_get_stats(m->pool, &st);
		EXPECT_TRUE(t, memcmp(&st, &st0, sizeof(st)) == 0);
	}
	/* the largest request fits exactly, one more byte does not, beyond any range is ERR_SIZE */
	EXPECT_ERR(t, memory_pool_alloc(m->pool, st0.largest_free + 1, &p), ERR_SIZE);
	ASSERT_OK(t, memory_pool_alloc(m->pool, st0.largest_free, &p));
	mp_add(m, p);
	memory_pool_get_stats(m->pool, &st);
	EXPECT_EQ(t, st.nfree_blocks, 1);
	EXPECT_ERR(t, memory_pool_alloc(m->pool, st.largest_free + 1, &p), ERR_NOMEM);
	EXPECT_ERR(t, memory_pool_alloc(m->pool, (size_t)-1, &p), ERR_SIZE);
	EXPECT_ERR(t, memory_pool_alloc(m->pool, 0, &p), ERR_SIZE);
	EXPECT_ERR(t, memory_pool_alloc(m->pool, 16, NULL), ERR_INVAL);
	EXPECT_ERR(t, memory_pool_alloc(NULL, 16, &p), ERR_INVAL);
	EXPECT_TRUE(t, mp_verify(t, m, true));
	free(m);
	free(buf);
}

/* init with *pool NULL (descriptor inside) and non-NULL (caller memory); init/extend argument errors. */
static void mp_init_modes(struct test *t)
{
	uint8_t *buf = xalloc(4096, 64 * 1024);
	static struct memory_pool_s desc;
	struct memory_pool_s *pool = NULL, *p2;
	struct memory_pool_stats st;
	char why[120];
	void *a, *b;

	ASSERT_TRUE(t, buf != NULL);
	/* errors first: nothing written to *pool */
	EXPECT_ERR(t, memory_pool_init(buf, buf + 4096, NULL), ERR_INVAL);
	EXPECT_ERR(t, memory_pool_init(buf + 4096, buf + 4096, &pool), ERR_INVAL);
	EXPECT_ERR(t, memory_pool_init(buf + 4096, buf, &pool), ERR_INVAL);
	EXPECT_ERR(t, memory_pool_init(buf, buf + 64, &pool), ERR_SIZE);
	EXPECT_TRUE(t, pool == NULL);
	p2 = (struct memory_pool_s *)(buf + 128);
	EXPECT_ERR(t, memory_pool_init(buf, buf + 4096, &p2), ERR_OVERLAP);
	EXPECT_TRUE(t, p2 == (struct memory_pool_s *)(buf + 128));

	/* descriptor inside the range, unaligned start */
	ASSERT_OK(t, memory_pool_init(buf + 3, buf + 16 * 1024 - 5, &pool));
	ASSERT_TRUE(t, pool != NULL);
	EXPECT_TRUE(t, (uint8_t *)pool >= buf + 3 && (uint8_t *)pool + sizeof(*pool) <= buf + 16 * 1024);
	EXPECT_EQ(t, (uintptr_t)pool % _Alignof(struct memory_pool_s), 0);
	EXPECT_FALSE(t, memory_pool_owns(pool, pool));	/* the descriptor is not handed-out memory */
	EXPECT_TRUE(t, pool->alloc.model == &memory_pool_model);
	ASSERT_OK(t, memory_pool_alloc(pool, 100, &a));
	EXPECT_EQ(t, (uintptr_t)a % MEMORY_POOL_ALIGN, 0);
	EXPECT_GE(t, (uintptr_t)a, (uintptr_t)pool + sizeof(*pool));
	EXPECT_LE(t, (uintptr_t)a + 100, (uintptr_t)buf + 16 * 1024 - 5);
	EXPECT_OK(t, memory_pool_check(pool, why, sizeof(why)));
	/* extend: overlapping this range, the descriptor, or too small */
	EXPECT_ERR(t, memory_pool_extend(pool, buf, buf + 100), ERR_OVERLAP);
	EXPECT_ERR(t, memory_pool_extend(pool, buf + 16 * 1024 - 6, buf + 20 * 1024), ERR_OVERLAP);
	EXPECT_ERR(t, memory_pool_extend(pool, buf + 20 * 1024, buf + 20 * 1024 + 64), ERR_SIZE);
	EXPECT_ERR(t, memory_pool_extend(pool, buf + 20 * 1024, buf + 20 * 1024), ERR_INVAL);
	EXPECT_ERR(t, memory_pool_extend(NULL, buf + 20 * 1024, buf + 21 * 1024), ERR_INVAL);
	EXPECT_OK(t, memory_pool_extend(pool, buf + 16 * 1024 - 5, buf + 24 * 1024));	/* adjacent is fine */
	EXPECT_OK(t, memory_pool_check(pool, why, sizeof(why)));
	EXPECT_OK(t, memory_pool_free(pool, a));

	/* caller descriptor: the whole range minus one range header is managed */
	p2 = &desc;
	ASSERT_OK(t, memory_pool_init(buf + 32 * 1024, buf + 48 * 1024, &p2));
	EXPECT_TRUE(t, p2 == &desc);
	memory_pool_get_stats(p2, &st);
	EXPECT_LT(t, st.total, 16 * 1024);
	EXPECT_GE(t, st.total, 16 * 1024 - 64);
	EXPECT_EQ(t, st.nfree_blocks, 1);
	EXPECT_EQ(t, st.largest_free, st.total - MP_OVH);
	ASSERT_OK(t, memory_pool_alloc(p2, st.largest_free, &b));
	EXPECT_ERR(t, memory_pool_extend(p2, (void *)&desc, (void *)((uintptr_t)&desc + 4096)), ERR_OVERLAP);
	/* the two pools do not own each other's blocks */
	EXPECT_ERR(t, memory_pool_free(pool, b), ERR_NOTOWNED);
	EXPECT_FALSE(t, memory_pool_owns(pool, b));
	EXPECT_OK(t, memory_pool_free(p2, b));
	EXPECT_OK(t, memory_pool_check(p2, why, sizeof(why)));
	EXPECT_ERR(t, memory_pool_check(NULL, why, sizeof(why)), ERR_INVAL);
	free(buf);
}

/* Every kind of bad free, each leaving every byte of the arena (pool and user data) as it was. */
static void mp_bad_frees(struct test *t)
{
	uint8_t *buf = xalloc(4096, 64 * 1024), *snap = malloc(64 * 1024);
	struct memory_pool_s *pool = NULL;
	uint8_t *a, *b, *c, *d, *x;
	size_t gs;
	char why[120];
	static uint8_t foreign[256] __attribute__((aligned(16)));
	struct {
		const char *what;
		void *addr;
		error_t want;
	} cases[16];
	unsigned n = 0, i;

	ASSERT_TRUE(t, buf && snap);
	ASSERT_OK(t, memory_pool_init(buf, buf + 32 * 1024, &pool));
	ASSERT_OK(t, memory_pool_alloc(pool, 200, (void **)&a));
	ASSERT_OK(t, memory_pool_alloc(pool, 1000, (void **)&b));
	ASSERT_OK(t, memory_pool_alloc(pool, 300, (void **)&c));
	ASSERT_OK(t, memory_pool_alloc(pool, 64, (void **)&d));
	ASSERT_OK(t, memory_pool_alloc(pool, 64, (void **)&x));
	fill(a, 200, 1);
	fill(b, 1000, 2);
	fill(c, 300, 3);
	/* c merges with the free d above it: c heads the merged free block, d's header is dead inside it */
	ASSERT_OK(t, memory_pool_free(pool, d));
	ASSERT_OK(t, memory_pool_free(pool, c));
	/* a copy of a's real header in the middle of b: a canary keyed on its address rejects it */
	memcpy(b + 480, a - MP_OVH, MP_OVH);
	ASSERT_OK(t, memory_pool_reserve(pool, buf + 16 * 1024, 512));

	cases[n++] = (typeof(cases[0])){ "NULL", NULL, ERR_NOTOWNED };
	cases[n++] = (typeof(cases[0])){ "foreign static", foreign + 64, ERR_NOTOWNED };
	cases[n++] = (typeof(cases[0])){ "past the range", buf + 40 * 1024, ERR_NOTOWNED };
	cases[n++] = (typeof(cases[0])){ "the descriptor", pool, ERR_NOTOWNED };
	cases[n++] = (typeof(cases[0])){ "misaligned +1", a + 1, ERR_MISALIGNED };
	cases[n++] = (typeof(cases[0])){ "misaligned +8", b + 8, ERR_MISALIGNED };
	cases[n++] = (typeof(cases[0])){ "interior +16", a + 16, ERR_INTERIOR };
	cases[n++] = (typeof(cases[0])){ "interior +512", b + 512, ERR_INTERIOR };
	cases[n++] = (typeof(cases[0])){ "forged header", b + 480 + MP_OVH, ERR_INTERIOR };
	cases[n++] = (typeof(cases[0])){ "double free, head of a merged block", c, ERR_DOUBLEFREE };
	cases[n++] = (typeof(cases[0])){ "double free, header merged away", d, ERR_DOUBLEFREE };
	cases[n++] = (typeof(cases[0])){ "reserved block", buf + 16 * 1024, ERR_INVAL };
	for (i = 0; i < n; i++) {
		struct memory_pool_stats before, after;
		error_t e;

		memory_pool_get_stats(pool, &before);
		memcpy(snap, buf, 64 * 1024);
		e = memory_pool_free(pool, cases[i].addr);
		EXPECT_ERR(t, e, cases[i].want);
		if (e != cases[i].want)
			test_log("case '%s'", cases[i].what);
		EXPECT_TRUE(t, memcmp(snap, buf, 64 * 1024) == 0);
		memory_pool_get_stats(pool, &after);
		EXPECT_TRUE(t, memcmp(&before, &after, sizeof(before)) == 0);
		EXPECT_OK(t, memory_pool_check(pool, why, sizeof(why)));
		/* getsize agrees with free on what is a live block */
		if (cases[i].want != ERR_INVAL)
			EXPECT_ERR(t, memory_pool_getsize(pool, cases[i].addr, &gs), cases[i].want);
	}
	EXPECT_ERR(t, memory_pool_free(NULL, a), ERR_INVAL);
	EXPECT_EQ(t, bad_fill(a, 0, 200, 1), 200);
	EXPECT_EQ(t, bad_fill(b, 0, 480, 2), 480);
	EXPECT_OK(t, memory_pool_free(pool, a));
	EXPECT_ERR(t, memory_pool_free(pool, a), ERR_DOUBLEFREE);
	EXPECT_OK(t, memory_pool_free(pool, b));
	EXPECT_OK(t, memory_pool_free(pool, x));
	EXPECT_OK(t, memory_pool_check(pool, why, sizeof(why)));
	free(snap);
	free(buf);
}

/* Resize: in place when the next block is free and large enough (same address), moves otherwise. */
static void mp_resize_cases(struct test *t)
{
	uint8_t *buf = xalloc(4096, 64 * 1024);
	struct memory_pool_s *pool = NULL;
	struct memory_pool_stats st, st2;
	uint8_t *a, *b, *c, *r;
	size_t gs;
	char why[120];
	static uint8_t zeros[256] __attribute__((aligned(16)));

	ASSERT_TRUE(t, buf != NULL);
	ASSERT_OK(t, memory_pool_init(buf, buf + 32 * 1024, &pool));
	ASSERT_OK(t, memory_pool_alloc(pool, 256, (void **)&a));
	ASSERT_OK(t, memory_pool_alloc(pool, 512, (void **)&b));
	ASSERT_OK(t, memory_pool_alloc(pool, 256, (void **)&c));
	fill(a, 256, 10);
	fill(c, 256, 30);
	ASSERT_OK(t, memory_pool_free(pool, b));
	/* grow a into part of the free b: same address, the rest of b stays free */
	ASSERT_OK(t, memory_pool_resize(a, 400, (void **)&r));
	EXPECT_TRUE(t, r == a);
	EXPECT_OK(t, memory_pool_getsize(pool, a, &gs));
	EXPECT_EQ(t, gs, 400);
	EXPECT_EQ(t, bad_fill(a, 0, 256, 10), 256);
	EXPECT_OK(t, memory_pool_check(pool, why, sizeof(why)));
	/* grow a to all of a + b: same address, the whole b absorbed */
	ASSERT_OK(t, memory_pool_resize(a, 256 + 512 + MP_OVH, (void **)&r));
	EXPECT_TRUE(t, r == a);
	EXPECT_OK(t, memory_pool_getsize(pool, a, &gs));
	EXPECT_EQ(t, gs, 256 + 512 + MP_OVH);
	EXPECT_EQ(t, (uintptr_t)a + gs, (uintptr_t)c - MP_OVH);
	EXPECT_EQ(t, bad_fill(a, 0, 256, 10), 256);
	fill(a, gs, 11);
	/* shrink by less than a minimal block: nothing to split off, same address and size */
	ASSERT_OK(t, memory_pool_resize(a, gs - 16, (void **)&r));
	EXPECT_TRUE(t, r == a);
	EXPECT_OK(t, memory_pool_getsize(pool, a, &gs));
	EXPECT_EQ(t, gs, 256 + 512 + MP_OVH);
	/* shrink for real: the tail becomes a free block */
	memory_pool_get_stats(pool, &st);
	ASSERT_OK(t, memory_pool_resize(a, 100, (void **)&r));
	EXPECT_TRUE(t, r == a);
	memory_pool_get_stats(pool, &st2);
	EXPECT_EQ(t, st2.nfree_blocks, st.nfree_blocks + 1);
	EXPECT_EQ(t, bad_fill(a, 0, 100, 11), 100);
	EXPECT_OK(t, memory_pool_check(pool, why, sizeof(why)));
	/* a 16-byte shrink next to a free block: the free block grows down */
	EXPECT_OK(t, memory_pool_getsize(pool, a, &gs));
	ASSERT_OK(t, memory_pool_resize(a, gs - 16, (void **)&r));
	EXPECT_TRUE(t, r == a);
	memory_pool_get_stats(pool, &st);
	EXPECT_EQ(t, st.nfree_blocks, st2.nfree_blocks);
	EXPECT_EQ(t, st.free, st2.free + 16);
	EXPECT_OK(t, memory_pool_check(pool, why, sizeof(why)));
	/* grow beyond a + gap: c is in the way, so a moves and keeps its contents */
	ASSERT_OK(t, memory_pool_resize(a, 2000, (void **)&r));
	EXPECT_TRUE(t, r != a);
	EXPECT_EQ(t, bad_fill(r, 0, 96, 11), 96);
	EXPECT_EQ(t, bad_fill(c, 0, 256, 30), 256);
	EXPECT_ERR(t, memory_pool_free(pool, a), ERR_DOUBLEFREE);
	a = r;
	/* the last block grows in place into the free tail of the range */
	ASSERT_OK(t, memory_pool_resize(a, 6000, (void **)&r));
	EXPECT_TRUE(t, r == a);
	EXPECT_OK(t, memory_pool_check(pool, why, sizeof(why)));
	/* failures leave the block untouched */
	fill(c, 256, 31);
	memory_pool_get_stats(pool, &st);
	r = NULL;
	EXPECT_ERR(t, memory_pool_resize(c, 31 * 1024, (void **)&r), ERR_NOMEM);
	EXPECT_ERR(t, memory_pool_resize(c, 1 << 20, (void **)&r), ERR_SIZE);
	EXPECT_ERR(t, memory_pool_resize(c, 0, (void **)&r), ERR_SIZE);
	EXPECT_ERR(t, memory_pool_resize(c, 10, NULL), ERR_INVAL);
	EXPECT_ERR(t, memory_pool_resize(NULL, 10, (void **)&r), ERR_INVAL);
	EXPECT_ERR(t, memory_pool_resize(c + 4, 10, (void **)&r), ERR_MISALIGNED);
	EXPECT_ERR(t, memory_pool_resize(zeros + 128, 10, (void **)&r), ERR_NOTOWNED);
	EXPECT_ERR(t, memory_pool_resize(c + 64, 10, (void **)&r), ERR_NOTOWNED);
	EXPECT_TRUE(t, r == NULL);
	memory_pool_get_stats(pool, &st2);
	EXPECT_TRUE(t, memcmp(&st, &st2, sizeof(st)) == 0);
	EXPECT_EQ(t, bad_fill(c, 0, 256, 31), 256);
	/* a freed block (still a valid free header) */
	ASSERT_OK(t, memory_pool_free(pool, c));
	EXPECT_ERR(t, memory_pool_resize(c, 10, (void **)&r), ERR_DOUBLEFREE);
	EXPECT_OK(t, memory_pool_free(pool, a));
	EXPECT_OK(t, memory_pool_check(pool, why, sizeof(why)));
	memory_pool_get_stats(pool, &st);
	EXPECT_EQ(t, st.nfree_blocks, 1);
	free(buf);
}

/* Reserve: refused over allocated memory or outside; then never handed out, even at exhaustion. */
static void mp_reserve_cases(struct test *t)
{
	uint8_t *buf = xalloc(4096, 64 * 1024);
	struct mp_model *m = calloc(1, sizeof(*m));
	struct memory_pool_stats st, st2;
	void *p, *a;
	uintptr_t lo;
	char why[120];

	ASSERT_TRUE(t, buf && m);
	rng_seed(0x5eed0003);
	ASSERT_OK(t, memory_pool_init(buf, buf + 48 * 1024, &m->pool));
	memory_pool_get_stats(m->pool, &st);
	m->total = st.total;
	ASSERT_OK(t, memory_pool_alloc(m->pool, 1000, &a));
	mp_add(m, a);
	memory_pool_get_stats(m->pool, &st);
	/* refused: over the live block, over its header, outside, across the end, size 0, at the very start */
	EXPECT_ERR(t, memory_pool_reserve(m->pool, (uint8_t *)a + 100, 10), ERR_OVERLAP);
	EXPECT_ERR(t, memory_pool_reserve(m->pool, (uint8_t *)a + 1000, 200), ERR_OVERLAP);
	EXPECT_ERR(t, memory_pool_reserve(m->pool, buf + 60 * 1024, 10), ERR_NOTOWNED);
	EXPECT_ERR(t, memory_pool_reserve(m->pool, buf + 48 * 1024 - 100, 200), ERR_NOTOWNED);
	EXPECT_ERR(t, memory_pool_reserve(m->pool, buf + 8192, 0), ERR_SIZE);
	EXPECT_ERR(t, memory_pool_reserve(m->pool, buf + 8192, (size_t)-4096), ERR_SIZE);
	EXPECT_ERR(t, memory_pool_reserve(NULL, buf + 8192, 10), ERR_INVAL);
	memory_pool_get_stats(m->pool, &st2);
	EXPECT_TRUE(t, memcmp(&st, &st2, sizeof(st)) == 0);
	/* three reservations, two of them back to back (32 free bytes for the second header) */
	lo = (uintptr_t)buf + 8192 + 7;
	ASSERT_OK(t, memory_pool_reserve(m->pool, (void *)lo, 1234));
	m->resv[m->nresv++] = (struct ival){ lo, lo + 1234 };
	lo = (lo + 1234 + 15) / 16 * 16 + MP_OVH;
	ASSERT_OK(t, memory_pool_reserve(m->pool, (void *)lo, 100));
	m->resv[m->nresv++] = (struct ival){ lo, lo + 100 };
	EXPECT_ERR(t, memory_pool_reserve(m->pool, (void *)(lo + 100), 100), ERR_OVERLAP);
	lo = (uintptr_t)buf + 48 * 1024 - 300;	/* up to the end of the range */
	ASSERT_OK(t, memory_pool_reserve(m->pool, (void *)lo, 300));
	m->resv[m->nresv++] = (struct ival){ lo, lo + 300 };
	EXPECT_ERR(t, memory_pool_reserve(m->pool, (void *)lo, 16), ERR_OVERLAP);
	ASSERT_TRUE(t, mp_verify(t, m, true));
	EXPECT_ERR(t, memory_pool_free(m->pool, (void *)((uintptr_t)buf + 8192)), ERR_INVAL);
	EXPECT_ERR(t, memory_pool_resize((void *)((uintptr_t)buf + 8192), 10, &p), ERR_INVAL);
	/* fill the pool completely; mp_verify checks no block touches a reservation */
	while (m->n < MP_LIVE_MAX && memory_pool_alloc(m->pool, rnd_range(1, 700), &p) == 0)
		mp_add(m, p);
	while (m->n < MP_LIVE_MAX && memory_pool_alloc(m->pool, 1, &p) == 0)
		mp_add(m, p);
	memory_pool_get_stats(m->pool, &st);
	EXPECT_EQ(t, st.free, 0);
	EXPECT_GE(t, st.reserved, 1234 + 100 + 300);
	ASSERT_TRUE(t, mp_verify(t, m, true));
	while (m->n) {
		EXPECT_OK(t, memory_pool_free(m->pool, m->live[m->n - 1].p));
		m->n--;
	}
	ASSERT_TRUE(t, mp_verify(t, m, true));
	EXPECT_OK(t, memory_pool_check(m->pool, why, sizeof(why)));
	free(m);
	free(buf);
}

/* memory_pool_check() notices damage and says where; repairing it makes the pool valid again. */
static void mp_check_detects(struct test *t)
{
	uint8_t *buf = xalloc(4096, 16 * 1024);
	struct memory_pool_s *pool = NULL;
	uint8_t *a, *b, save[MP_OVH];
	char why[160];
	size_t saved;

	ASSERT_TRUE(t, buf != NULL);
	ASSERT_OK(t, memory_pool_init(buf, buf + 16 * 1024, &pool));
	ASSERT_OK(t, memory_pool_alloc(pool, 100, (void **)&a));
	ASSERT_OK(t, memory_pool_alloc(pool, 100, (void **)&b));
	/* an overrun from a into b's header */
	memcpy(save, b - MP_OVH, MP_OVH);
	memset(b - MP_OVH, 0x41, 8);
	EXPECT_ERR(t, memory_pool_check(pool, why, sizeof(why)), ERR_CORRUPT);
	test_log("damaged header: %s", why);
	EXPECT_TRUE(t, strstr(why, "canary") != NULL);
	memcpy(b - MP_OVH, save, MP_OVH);
	EXPECT_OK(t, memory_pool_check(pool, why, sizeof(why)));
	/* a wrong counter */
	saved = pool->free;
	pool->free += 16;
	EXPECT_ERR(t, memory_pool_check(pool, why, sizeof(why)), ERR_CORRUPT);
	test_log("damaged counter: %s", why);
	pool->free = saved;
	EXPECT_OK(t, memory_pool_check(pool, NULL, 0));
	EXPECT_OK(t, memory_pool_free(pool, a));
	EXPECT_OK(t, memory_pool_free(pool, b));
	free(buf);
}

TEST_SUITE(memory_pool, TEST_CASE(mp_init_modes), TEST_CASE(mp_bad_frees), TEST_CASE(mp_resize_cases),
	   TEST_CASE(mp_reserve_cases), TEST_CASE(mp_exhaust_recover), TEST_CASE(mp_check_detects),
	   TEST_CASE(mp_random_ops));

/* ---- page_pool --------------------------------------------------------------------------------------- */

#define PG PAGE_POOL_PAGE_SIZE
#define PP_LIVE_MAX 1024

/* The documented placement, computed independently: bitmaps in the first pages unless stored outside. */
struct pp_exp {
	uintptr_t base;
	size_t npages;
	uint8_t *shadow;	/* one byte per page: 0 free, 1 allocated */
};

struct pp_live {
	uintptr_t a;
	size_t k;
	uint32_t seed;
};

struct pp_model {
	struct page_pool_s pool;
	struct pp_exp r[PAGE_POOL_MAX_RANGES];	/* by address, like the pool */
	unsigned nr;
	struct pp_live live[PP_LIVE_MAX];
	unsigned n;
	size_t total;
	uint32_t seed;
	unsigned nomem;
};

static void pp_expect_range(struct pp_model *m, uintptr_t start, uintptr_t end, bool inside)
{
	uintptr_t as = (start + PG - 1) / PG * PG, ae = end / PG * PG;
	size_t n = (ae - as) / PG, meta = 0;
	unsigned i;

	if (inside)
		meta = (2 * ((n + 63) / 64) * 8 + PG - 1) / PG;
	for (i = m->nr; i > 0 && m->r[i - 1].base > as; i--)
		m->r[i] = m->r[i - 1];
	m->r[i].base = as + meta * PG;
	m->r[i].npages = n - meta;
	m->r[i].shadow = calloc(n, 1);
	m->nr++;
	m->total += n - meta;
}

/* The end of a case: the model's shadow maps, the model and the pool's memory. */
static void pp_model_free(struct pp_model *m, uint8_t *buf)
{
	unsigned i;

	for (i = 0; i < m->nr; i++)
		free(m->r[i].shadow);
	free(m);
	free(buf);
}

/* First fit over the shadow maps: where the pool must put a run of @k pages (0 if nowhere). */
static uintptr_t pp_predict(struct pp_model *m, size_t k)
{
	unsigned ri;
	size_t i, run;

	for (ri = 0; ri < m->nr; ri++)
		for (i = 0, run = 0; i < m->r[ri].npages; i++) {
			run = m->r[ri].shadow[i] ? 0 : run + 1;
			if (run == k)
				return m->r[ri].base + (i + 1 - k) * PG;
		}
	return 0;
}

static size_t pp_largest(struct pp_model *m)
{
	unsigned ri;
	size_t i, run, best = 0;

	for (ri = 0; ri < m->nr; ri++)
		for (i = 0, run = 0; i < m->r[ri].npages; i++) {
			run = m->r[ri].shadow[i] ? 0 : run + 1;
			if (run > best)
				best = run;
		}
	return best;
}

static void pp_shadow(struct pp_model *m, uintptr_t a, size_t k, uint8_t v)
{
	unsigned ri;

	for (ri = 0; ri < m->nr; ri++)
		if (a >= m->r[ri].base && a < m->r[ri].base + m->r[ri].npages * PG)
			memset(m->r[ri].shadow + (a - m->r[ri].base) / PG, v, k);
}

/* Two words per page: the first and the last of the page. */
static void pp_fill(uintptr_t a, size_t k, uint32_t seed)
{
	size_t i;

	for (i = 0; i < k; i++) {
		uint64_t *w = (uint64_t *)(a + i * PG);

		w[0] = seed ^ (a + i * PG);
		w[PG / 8 - 1] = ~(uint64_t)seed ^ (a + i * PG);
	}
}

static bool pp_filled(uintptr_t a, size_t k, uint32_t seed)
{
	size_t i;

	for (i = 0; i < k; i++) {
		const uint64_t *w = (const uint64_t *)(a + i * PG);

		if (w[0] != (seed ^ (a + i * PG)) || w[PG / 8 - 1] != (~(uint64_t)seed ^ (a + i * PG)))
			return false;
	}
	return true;
}

static bool pp_verify(struct test *t, struct pp_model *m)
{
	static struct ival iv[PP_LIVE_MAX];
	struct page_pool_stats st;
	size_t used = 0, gs;
	char why[160];
	unsigned i;
	error_t e;

	e = page_pool_check(&m->pool, why, sizeof(why));
	CHECK_OR_FALSE(t, e == 0, "page_pool_check: %s: %s", err_str(e), why);
	page_pool_get_stats(&m->pool, &st);
	for (i = 0; i < m->n; i++) {
		struct pp_live *l = &m->live[i];

		CHECK_OR_FALSE(t, l->a % PG == 0, "run %#lx misaligned", (unsigned long)l->a);
		CHECK_OR_FALSE(t, page_pool_owns(&m->pool, l->a) &&
				  page_pool_owns(&m->pool, l->a + l->k * PG - 1),
			       "run %#lx+%zu not owned", (unsigned long)l->a, l->k);
		e = page_pool_getsize(&m->pool, l->a, &gs);
		CHECK_OR_FALSE(t, e == 0 && gs == l->k * PG, "getsize(%#lx) = %s %zu, model %zu pages",
			       (unsigned long)l->a, err_str(e), gs, l->k);
		CHECK_OR_FALSE(t, pp_filled(l->a, l->k, l->seed), "run %#lx+%zu overwritten",
			       (unsigned long)l->a, l->k);
		used += l->k;
		iv[i].lo = l->a;
		iv[i].hi = l->a + l->k * PG;
	}
	CHECK_OR_FALSE(t, st.total_pages == m->total, "stats: total %zu, model %zu", st.total_pages, m->total);
	CHECK_OR_FALSE(t, st.free_pages == m->total - used, "stats: free %zu, model %zu", st.free_pages,
		       m->total - used);
	CHECK_OR_FALSE(t, st.nruns == m->n, "stats: %zu runs, model %u", st.nruns, m->n);
	CHECK_OR_FALSE(t, st.nranges == m->nr, "stats: %u ranges, model %u", st.nranges, m->nr);
	CHECK_OR_FALSE(t, st.largest_free_run == pp_largest(m), "stats: largest run %zu, model %zu",
		       st.largest_free_run, pp_largest(m));
	return disjoint(t, iv, m->n);
}

/* Run lengths in pages: mostly 1-4, some up to 32, a few up to 160. */
static size_t pp_rnd_pages(void)
{
	static const struct rnd_band pages[] = { { 70, 1, 4 }, { 95, 5, 32 }, { 100, 33, 160 } };

	return rnd_bands(pages, sizeof(pages) / sizeof(pages[0]));
}

static void pp_do_alloc(struct test *t, struct pp_model *m)
{
	size_t k = pp_rnd_pages(), bytes = k * PG - (rnd_below(2) ? rnd_below(PG) : 0);
	uintptr_t want = pp_predict(m, k), a = 1;
	error_t e;

	if (m->n == PP_LIVE_MAX)
		return;
	e = page_pool_alloc(&m->pool, bytes, &a);
	if (!want) {
		m->nomem++;
		EXPECT_ERR(t, e, k > m->pool.max_pages ? ERR_SIZE : ERR_NOMEM);
		EXPECT_EQ(t, a, 1);
		return;
	}
	EXPECT_OK(t, e);
	EXPECT_EQ(t, a, want);	/* exactly where first fit says */
	if (e || a != want)
		return;
	m->live[m->n++] = (struct pp_live){ a, k, ++m->seed };
	pp_fill(a, k, m->seed);
	pp_shadow(m, a, k, 1);
}

static void pp_do_free(struct test *t, struct pp_model *m)
{
	struct pp_live l;
	unsigned i;

	if (!m->n)
		return;
	i = (unsigned)rnd_below(m->n);
	l = m->live[i];
	EXPECT_TRUE(t, pp_filled(l.a, l.k, l.seed));
	EXPECT_OK(t, page_pool_free(&m->pool, l.a));
	m->live[i] = m->live[--m->n];
	pp_shadow(m, l.a, l.k, 0);
	if (rnd_below(50) == 0)
		EXPECT_ERR(t, page_pool_free(&m->pool, l.a), ERR_DOUBLEFREE);
}

/* A refused free changes neither the descriptor nor any bitmap. */
static void pp_expect_refused(struct test *t, struct pp_model *m, uintptr_t a, error_t want)
{
	static struct page_pool_s before;
	static uint8_t maps[PAGE_POOL_MAX_RANGES][8192];
	unsigned i;
	error_t e;

	memcpy(&before, &m->pool, sizeof(before));	/* padding included, unlike an assignment */
	for (i = 0; i < m->pool.nranges; i++)
		memcpy(maps[i], (void *)m->pool.range[i].meta_start,
		       m->pool.range[i].meta_end - m->pool.range[i].meta_start);
	e = page_pool_free(&m->pool, a);
	EXPECT_ERR(t, e, want);
	if (e != want)
		test_log("free(%#lx)", (unsigned long)a);
	EXPECT_TRUE(t, memcmp(&before, &m->pool, sizeof(before)) == 0);
	for (i = 0; i < m->pool.nranges; i++)
		EXPECT_TRUE(t, memcmp(maps[i], (void *)m->pool.range[i].meta_start,
				      m->pool.range[i].meta_end - m->pool.range[i].meta_start) == 0);
}

static void pp_do_bad_free(struct test *t, struct pp_model *m, uintptr_t outside)
{
	struct pp_live *l = m->n ? &m->live[rnd_below(m->n)] : NULL;
	uintptr_t a;

	switch (rnd_below(4)) {
	case 0:
		if (l && l->k > 1)
			pp_expect_refused(t, m, l->a + rnd_range(1, l->k - 1) * PG, ERR_INTERIOR);
		break;
	case 1:
		if (l)
			pp_expect_refused(t, m, l->a + rnd_range(1, PG - 1), ERR_MISALIGNED);
		break;
	case 2:
		pp_expect_refused(t, m, outside + rnd_below(4) * PG, ERR_NOTOWNED);
		break;
	default:
		a = pp_predict(m, 1);	/* a free page */
		if (a)
			pp_expect_refused(t, m, a, ERR_DOUBLEFREE);
		break;
	}
}

/*
 * Thousands of random runs over three ranges (bitmaps inside for two, outside for one, the last added
 * mid-way); every allocation must land exactly where first fit over a byte-per-page shadow map says.
 */
static void pp_random_ops(struct test *t)
{
	size_t bytes = 1024 * PG;
	uint8_t *buf = xalloc(PG, bytes);
	struct pp_model *m = calloc(1, sizeof(*m));
	static unsigned long storage[64];
	uintptr_t b = (uintptr_t)buf;
	unsigned step;

	ASSERT_TRUE(t, buf && m);
	rng_seed(0x5eed0004);
	/* range A: pages 1..400 with an unaligned start, bitmaps inside */
	ASSERT_OK(t, page_pool_init(&m->pool, b + PG - 100, b + 400 * PG + 17));
	pp_expect_range(m, b + PG - 100, b + 400 * PG + 17, true);
	/* range C first (higher address): pages 700..1000, bitmaps outside */
	ASSERT_OK(t, page_pool_extend_storage(&m->pool, b + 700 * PG, b + 1000 * PG, storage, sizeof(storage)));
	pp_expect_range(m, b + 700 * PG, b + 1000 * PG, false);
	EXPECT_TRUE(t, m->pool.range[1].base == b + 700 * PG);
	ASSERT_TRUE(t, pp_verify(t, m));
	for (step = 0; step < 8000; step++) {
		size_t r = rnd_below(100);

		if (step == 3000) {
			/* range B between them: pages 450..650 */
			EXPECT_ERR(t, page_pool_extend(&m->pool, b + 399 * PG, b + 500 * PG), ERR_OVERLAP);
			EXPECT_ERR(t, page_pool_extend(&m->pool, b + 650 * PG, b + 701 * PG), ERR_OVERLAP);
			ASSERT_OK(t, page_pool_extend(&m->pool, b + 450 * PG, b + 650 * PG));
			pp_expect_range(m, b + 450 * PG, b + 650 * PG, true);
		}
		if (r < 50)
			pp_do_alloc(t, m);
		else if (r < 99)
			pp_do_free(t, m);
		else
			pp_do_bad_free(t, m, b + 420 * PG);
		if (!pp_verify(t, m)) {
			test_log("model check failed at step %u", step);
			break;
		}
	}
	test_log("after %u steps: %u runs, %zu of %zu pages free, %u allocations refused", step, m->n,
		 m->pool.nfree, m->pool.total, m->nomem);
	EXPECT_GT(t, m->nomem, 0);
	while (m->n) {
		EXPECT_OK(t, page_pool_free(&m->pool, m->live[m->n - 1].a));
		pp_shadow(m, m->live[m->n - 1].a, m->live[m->n - 1].k, 0);
		m->n--;
	}
	EXPECT_TRUE(t, pp_verify(t, m));
	pp_model_free(m, buf);
}

/* Init/extend: rounding, bitmap placement and every argument error. */
static void pp_init_cases(struct test *t)
{
	uint8_t *buf = xalloc(PG, 64 * PG);
	uintptr_t b = (uintptr_t)buf, a;
	static struct page_pool_s pool;
	static unsigned long storage[8];
	struct page_pool_stats st;
	char why[120];
	unsigned i;

	ASSERT_TRUE(t, buf != NULL);
	EXPECT_ERR(t, page_pool_init(NULL, b, b + 4 * PG), ERR_INVAL);
	EXPECT_ERR(t, page_pool_init(&pool, b + 4 * PG, b + 4 * PG), ERR_INVAL);
	EXPECT_ERR(t, page_pool_init(&pool, b + 1, b + PG + 10), ERR_SIZE);	/* no whole page */
	EXPECT_ERR(t, page_pool_init(&pool, b, b + PG), ERR_SIZE);		/* only room for the bitmaps */
	EXPECT_ERR(t, page_pool_init_storage(&pool, b, b + 4 * PG, storage, 8), ERR_SIZE);
	EXPECT_ERR(t, page_pool_init_storage(&pool, b, b + 4 * PG, buf + 64, 64), ERR_OVERLAP);
	EXPECT_EQ(t, page_pool_storage_size(b, b + 4 * PG), 2 * sizeof(unsigned long));
	EXPECT_EQ(t, page_pool_storage_size(b + 1, b + PG), 0);

	/* 2 pages, bitmaps inside: one page left, right after the bitmap page */
	ASSERT_OK(t, page_pool_init(&pool, b, b + 2 * PG));
	page_pool_get_stats(&pool, &st);
	EXPECT_EQ(t, st.total_pages, 1);
	EXPECT_FALSE(t, page_pool_owns(&pool, b));
	EXPECT_TRUE(t, page_pool_owns(&pool, b + PG));
	ASSERT_OK(t, page_pool_alloc(&pool, 1, &a));
	EXPECT_EQ(t, a, b + PG);
	EXPECT_ERR(t, page_pool_alloc(&pool, 1, &a), ERR_NOMEM);
	EXPECT_ERR(t, page_pool_alloc(&pool, PG + 1, &a), ERR_SIZE);
	EXPECT_ERR(t, page_pool_free(&pool, b), ERR_NOTOWNED);	/* a bitmap page */
	EXPECT_OK(t, page_pool_free(&pool, b + PG));

	/* unaligned bounds round inward; storage outside: every page managed */
	ASSERT_OK(t, page_pool_init_storage(&pool, b + 10 * PG + 1, b + 20 * PG - 1, storage, sizeof(storage)));
	page_pool_get_stats(&pool, &st);
	EXPECT_EQ(t, st.total_pages, 8);
	EXPECT_FALSE(t, page_pool_owns(&pool, b + 10 * PG + 1));
	EXPECT_TRUE(t, page_pool_owns(&pool, b + 11 * PG));
	EXPECT_TRUE(t, page_pool_owns(&pool, b + 19 * PG - 1));
	EXPECT_FALSE(t, page_pool_owns(&pool, b + 19 * PG));
	ASSERT_OK(t, page_pool_alloc(&pool, 8 * PG, &a));
	EXPECT_EQ(t, a, b + 11 * PG);
	EXPECT_OK(t, page_pool_free(&pool, a));
	/* extends: overlaps with a range, the storage, the descriptor; too many ranges */
	EXPECT_ERR(t, page_pool_extend(&pool, b + 19 * PG, b + 30 * PG), ERR_OVERLAP);
	EXPECT_ERR(t, page_pool_extend(&pool, (uintptr_t)storage, (uintptr_t)storage + 4 * PG), ERR_OVERLAP);
	EXPECT_ERR(t, page_pool_extend(&pool, (uintptr_t)&pool, (uintptr_t)&pool + 4 * PG), ERR_OVERLAP);
	EXPECT_ERR(t, page_pool_extend_storage(&pool, b + 30 * PG, b + 32 * PG, storage, sizeof(storage)),
		   ERR_OVERLAP);
	EXPECT_ERR(t, page_pool_extend(NULL, b + 30 * PG, b + 32 * PG), ERR_INVAL);
	for (i = 0; i < PAGE_POOL_MAX_RANGES - 1; i++)
		EXPECT_OK(t, page_pool_extend(&pool, b + (21 + 5 * i) * PG, b + (25 + 5 * i) * PG));
	EXPECT_ERR(t, page_pool_extend(&pool, b + 60 * PG, b + 64 * PG), ERR_NOMEM);
	page_pool_get_stats(&pool, &st);
	EXPECT_EQ(t, st.nranges, PAGE_POOL_MAX_RANGES);
	EXPECT_EQ(t, st.total_pages, 8 + (PAGE_POOL_MAX_RANGES - 1) * 3);
	EXPECT_OK(t, page_pool_check(&pool, why, sizeof(why)));
	EXPECT_ERR(t, page_pool_alloc(&pool, 0, &a), ERR_SIZE);
	EXPECT_ERR(t, page_pool_alloc(&pool, (size_t)-1, &a), ERR_SIZE);
	EXPECT_ERR(t, page_pool_alloc(&pool, 1, NULL), ERR_INVAL);
	EXPECT_ERR(t, page_pool_check(NULL, why, sizeof(why)), ERR_INVAL);
	free(buf);
}

/* Every bad free, with descriptor and bitmaps byte-identical afterwards. */
static void pp_bad_frees(struct test *t)
{
	uint8_t *buf = xalloc(PG, 64 * PG);
	struct pp_model *m = calloc(1, sizeof(*m));
	uintptr_t b = (uintptr_t)buf, r1, r2, r3;
	size_t gs;

	ASSERT_TRUE(t, buf && m);
	ASSERT_OK(t, page_pool_init(&m->pool, b, b + 32 * PG));
	ASSERT_OK(t, page_pool_extend(&m->pool, b + 40 * PG, b + 64 * PG));
	ASSERT_OK(t, page_pool_alloc(&m->pool, 3 * PG, &r1));
	ASSERT_OK(t, page_pool_alloc(&m->pool, 1, &r2));
	ASSERT_OK(t, page_pool_alloc(&m->pool, 5 * PG, &r3));
	EXPECT_EQ(t, r1, b + PG);	/* right after the bitmap page */
	EXPECT_EQ(t, r2, r1 + 3 * PG);
	ASSERT_OK(t, page_pool_free(&m->pool, r2));
	pp_expect_refused(t, m, b, ERR_NOTOWNED);		/* bitmap page */
	pp_expect_refused(t, m, b + 35 * PG, ERR_NOTOWNED);	/* gap between ranges */
	pp_expect_refused(t, m, b + 64 * PG, ERR_NOTOWNED);	/* past the end */
	pp_expect_refused(t, m, 0, ERR_NOTOWNED);
	pp_expect_refused(t, m, r1 + 8, ERR_MISALIGNED);
	pp_expect_refused(t, m, r3 + PG - 1, ERR_MISALIGNED);
	pp_expect_refused(t, m, r1 + PG, ERR_INTERIOR);
	pp_expect_refused(t, m, r3 + 4 * PG, ERR_INTERIOR);
	pp_expect_refused(t, m, r2, ERR_DOUBLEFREE);
	pp_expect_refused(t, m, b + 50 * PG, ERR_DOUBLEFREE);	/* never allocated: a free page */
	EXPECT_ERR(t, page_pool_free(NULL, r1), ERR_INVAL);
	EXPECT_ERR(t, page_pool_getsize(&m->pool, r1 + PG, &gs), ERR_INTERIOR);
	EXPECT_ERR(t, page_pool_getsize(&m->pool, r2, &gs), ERR_DOUBLEFREE);
	EXPECT_OK(t, page_pool_getsize(&m->pool, r3, &gs));
	EXPECT_EQ(t, gs, 5 * PG);
	/* adjacent runs stay separate: freeing r1 leaves r3 (a neighbour once r2 is reused) intact */
	ASSERT_OK(t, page_pool_alloc(&m->pool, 1, &r2));
	EXPECT_OK(t, page_pool_free(&m->pool, r1));
	EXPECT_OK(t, page_pool_getsize(&m->pool, r2, &gs));
	EXPECT_EQ(t, gs, PG);
	EXPECT_OK(t, page_pool_free(&m->pool, r2));
	EXPECT_OK(t, page_pool_free(&m->pool, r3));
	EXPECT_OK(t, page_pool_check(&m->pool, NULL, 0));
	pp_model_free(m, buf);
}

/* Fill with single pages, check, free in random order; then one run of a whole range. */
static void pp_exhaust_recover(struct test *t)
{
	uint8_t *buf = xalloc(PG, 300 * PG);
	struct pp_model *m = calloc(1, sizeof(*m));
	uintptr_t b = (uintptr_t)buf, a;
	struct page_pool_stats st;
	unsigned i, round;

	ASSERT_TRUE(t, buf && m);
	rng_seed(0x5eed0005);
	ASSERT_OK(t, page_pool_init(&m->pool, b, b + 200 * PG));
	pp_expect_range(m, b, b + 200 * PG, true);
	ASSERT_OK(t, page_pool_extend(&m->pool, b + 210 * PG, b + 300 * PG));
	pp_expect_range(m, b + 210 * PG, b + 300 * PG, true);
	for (round = 0; round < 3; round++) {
		while (page_pool_alloc(&m->pool, PG, &a) == 0) {
			ASSERT_TRUE(t, m->n < PP_LIVE_MAX);
			m->live[m->n++] = (struct pp_live){ a, 1, ++m->seed };
			pp_fill(a, 1, m->seed);
			pp_shadow(m, a, 1, 1);
		}
		EXPECT_EQ(t, m->n, m->total);
		ASSERT_TRUE(t, pp_verify(t, m));
		page_pool_get_stats(&m->pool, &st);
		EXPECT_EQ(t, st.free_pages, 0);
		EXPECT_EQ(t, st.largest_free_run, 0);
		while (m->n) {
			i = (unsigned)rnd_below(m->n);
			EXPECT_OK(t, page_pool_free(&m->pool, m->live[i].a));
			pp_shadow(m, m->live[i].a, 1, 0);
			m->live[i] = m->live[--m->n];
		}
		ASSERT_TRUE(t, pp_verify(t, m));
	}
	/* the whole first range in one run, then the second range */
	ASSERT_OK(t, page_pool_alloc(&m->pool, m->r[0].npages * PG, &a));
	EXPECT_EQ(t, a, m->r[0].base);
	EXPECT_ERR(t, page_pool_alloc(&m->pool, (m->r[1].npages + 1) * PG, &a), ERR_NOMEM);
	EXPECT_ERR(t, page_pool_alloc(&m->pool, (m->r[0].npages + 1) * PG, &a), ERR_SIZE);
	EXPECT_OK(t, page_pool_free(&m->pool, m->r[0].base));
	EXPECT_OK(t, page_pool_check(&m->pool, NULL, 0));
	pp_model_free(m, buf);
}

/* page_pool_check() notices bitmap damage. */
static void pp_check_detects(struct test *t)
{
	uint8_t *buf = xalloc(PG, 100 * PG);
	static struct page_pool_s pool;
	uintptr_t b = (uintptr_t)buf, a;
	unsigned long save;
	char why[160];

	ASSERT_TRUE(t, buf != NULL);
	ASSERT_OK(t, page_pool_init(&pool, b, b + 100 * PG));
	ASSERT_OK(t, page_pool_alloc(&pool, 3 * PG, &a));
	save = pool.range[0].head[0];
	pool.range[0].head[0] |= 1UL << 10;	/* a run start on a free page */
	EXPECT_ERR(t, page_pool_check(&pool, why, sizeof(why)), ERR_CORRUPT);
	test_log("head on free page: %s", why);
	pool.range[0].head[0] = save;
	pool.range[0].head[0] &= ~1UL;		/* allocated pages with no run start */
	EXPECT_ERR(t, page_pool_check(&pool, why, sizeof(why)), ERR_CORRUPT);
	test_log("run without head: %s", why);
	pool.range[0].head[0] = save;
	pool.range[0].used[1] |= 1UL << 20;	/* a stray allocated page */
	EXPECT_ERR(t, page_pool_check(&pool, why, sizeof(why)), ERR_CORRUPT);
	test_log("stray used bit: %s", why);
	pool.range[0].used[1] &= ~(1UL << 20);
	pool.range[0].used[1] |= 1UL << 60;	/* a bit past the last page */
	EXPECT_ERR(t, page_pool_check(&pool, why, sizeof(why)), ERR_CORRUPT);
	test_log("bit past the end: %s", why);
	pool.range[0].used[1] &= ~(1UL << 60);
	EXPECT_OK(t, page_pool_check(&pool, why, sizeof(why)));
	EXPECT_OK(t, page_pool_free(&pool, a));
	free(buf);
}

TEST_SUITE(page_pool, TEST_CASE(pp_init_cases), TEST_CASE(pp_bad_frees), TEST_CASE(pp_exhaust_recover),
	   TEST_CASE(pp_check_detects), TEST_CASE(pp_random_ops));

/* ---- alloc_pool: the generic model --------------------------------------------------------------------- */

/* memory_allocator_pop/push/getsize on each model, and argument errors of the dispatch layer. */
static void ap_dispatch(struct test *t)
{
	uint8_t *buf = xalloc(PG, 64 * PG);
	static struct page_pool_s pp;
	static struct alloc_pool_s nomodel;
	struct memory_pool_s *mp = NULL;
	struct alloc_pool_s *pools[2];
	void *a, *sentinel = (void *)0x1234;
	size_t gs;
	unsigned i;

	ASSERT_TRUE(t, buf != NULL);
	ASSERT_OK(t, memory_pool_init(buf, buf + 16 * PG, &mp));
	ASSERT_OK(t, page_pool_init(&pp, (uintptr_t)buf + 16 * PG, (uintptr_t)buf + 64 * PG));
	pools[0] = &mp->alloc;
	pools[1] = &pp.alloc;
	EXPECT_TRUE(t, strcmp(pools[0]->model->name, "memory_pool") == 0);
	EXPECT_TRUE(t, strcmp(pools[1]->model->name, "page_pool") == 0);
	for (i = 0; i < 2; i++) {
		struct alloc_pool_s *p = pools[i];

		a = sentinel;
		EXPECT_ERR(t, memory_allocator_pop(p, 0, &a), ERR_SIZE);
		EXPECT_ERR(t, memory_allocator_pop(p, 100, NULL), ERR_INVAL);
		EXPECT_ERR(t, memory_allocator_pop(p, (size_t)-1, &a), ERR_SIZE);
		EXPECT_TRUE(t, a == sentinel);	/* written only on success */
		ASSERT_OK(t, memory_allocator_pop(p, 5000, &a));
		EXPECT_TRUE(t, memory_allocator_owns(p, a));
		EXPECT_FALSE(t, memory_allocator_owns(pools[1 - i], a));
		EXPECT_OK(t, memory_allocator_getsize(p, a, &gs));
		EXPECT_GE(t, gs, 5000);
		EXPECT_ERR(t, memory_allocator_getsize(p, a, NULL), ERR_INVAL);
		EXPECT_ERR(t, memory_allocator_push(p, (uint8_t *)a + 8), ERR_MISALIGNED);
		EXPECT_ERR(t, memory_allocator_push(pools[1 - i], a), ERR_NOTOWNED);
		EXPECT_OK(t, memory_allocator_push(p, a));
		EXPECT_ERR(t, memory_allocator_push(p, a), ERR_DOUBLEFREE);
		EXPECT_ERR(t, memory_allocator_getsize(p, a, &gs), ERR_DOUBLEFREE);
	}
	a = sentinel;
	EXPECT_ERR(t, memory_allocator_pop(NULL, 16, &a), ERR_INVAL);
	EXPECT_ERR(t, memory_allocator_pop(&nomodel, 16, &a), ERR_INVAL);
	EXPECT_ERR(t, memory_allocator_push(NULL, buf), ERR_INVAL);
	EXPECT_ERR(t, memory_allocator_push(&nomodel, buf), ERR_INVAL);
	EXPECT_ERR(t, memory_allocator_getsize(NULL, buf, &gs), ERR_INVAL);
	EXPECT_FALSE(t, memory_allocator_owns(NULL, buf));
	EXPECT_FALSE(t, memory_allocator_owns(&nomodel, buf));
	EXPECT_TRUE(t, a == sentinel);
	EXPECT_OK(t, memory_pool_check(mp, NULL, 0));
	EXPECT_OK(t, page_pool_check(&pp, NULL, 0));
	free(buf);
}

/*
 * What mem_alloc()/mem_free() will do: pop from a chosen pool, push by finding the owner with owns().
 * Two memory pools and two page pools; exactly one pool owns each block; all checks pass at every step.
 */
static void ap_mixed_random(struct test *t)
{
	enum { NP = 4, NLIVE = 400 };
	uint8_t *buf = xalloc(PG, 256 * PG);
	static struct page_pool_s pp[2];
	static struct memory_pool_s mdesc;
	struct memory_pool_s *mp[2] = { NULL, &mdesc };
	struct alloc_pool_s *pools[NP];
	struct {
		uint8_t *p;
		size_t size;
		uint32_t seed;
	} live[NLIVE];
	unsigned n = 0, step, i, j, owners;
	uint32_t seed = 0;
	char why[160];

	ASSERT_TRUE(t, buf != NULL);
	rng_seed(0x5eed0006);
	ASSERT_OK(t, memory_pool_init(buf, buf + 32 * PG, &mp[0]));
	ASSERT_OK(t, memory_pool_init(buf + 32 * PG, buf + 64 * PG, &mp[1]));
	ASSERT_OK(t, page_pool_init(&pp[0], (uintptr_t)buf + 64 * PG, (uintptr_t)buf + 160 * PG));
	ASSERT_OK(t, page_pool_init(&pp[1], (uintptr_t)buf + 160 * PG, (uintptr_t)buf + 256 * PG));
	pools[0] = &mp[0]->alloc;
	pools[1] = &pp[0].alloc;
	pools[2] = &mp[1]->alloc;
	pools[3] = &pp[1].alloc;
	for (step = 0; step < 4000; step++) {
		struct alloc_pool_s *owner = NULL;
		void *a;
		size_t gs;

		if (n < NLIVE && rnd_below(100) < 55) {
			struct alloc_pool_s *p = pools[rnd_below(NP)];
			size_t size = rnd_below(4) ? rnd_range(1, 600) : rnd_range(601, 20000);
			error_t e = memory_allocator_pop(p, size, &a);

			EXPECT_TRUE(t, e == 0 || e == ERR_NOMEM);
			if (e == 0) {
				EXPECT_OK(t, memory_allocator_getsize(p, a, &gs));
				EXPECT_GE(t, gs, size);
				live[n].p = a;
				live[n].size = size;
				live[n].seed = ++seed;
				fill(a, size, seed);
				n++;
			}
		} else if (n) {
			i = (unsigned)rnd_below(n);
			EXPECT_EQ(t, bad_fill(live[i].p, 0, live[i].size, live[i].seed), live[i].size);
			for (j = 0, owners = 0; j < NP; j++)
				if (memory_allocator_owns(pools[j], live[i].p)) {
					owner = pools[j];
					owners++;
				}
			EXPECT_EQ(t, owners, 1);
			if (owner)
				EXPECT_OK(t, memory_allocator_push(owner, live[i].p));
			live[i] = live[--n];
		}
		for (j = 0; j < 2; j++) {
			EXPECT_OK(t, memory_pool_check(mp[j], why, sizeof(why)));
			EXPECT_OK(t, page_pool_check(&pp[j], why, sizeof(why)));
		}
		if (t->failures) {
			test_log("failed at step %u: %s", step, why);
			break;
		}
	}
	for (i = 0; i < n; i++) {
		EXPECT_EQ(t, bad_fill(live[i].p, 0, live[i].size, live[i].seed), live[i].size);
		for (j = 0; j < NP; j++)
			if (memory_allocator_owns(pools[j], live[i].p))
				EXPECT_OK(t, memory_allocator_push(pools[j], live[i].p));
	}
	for (j = 0; j < 2; j++) {
		struct memory_pool_stats ms;
		struct page_pool_stats ps;

		memory_pool_get_stats(mp[j], &ms);
		page_pool_get_stats(&pp[j], &ps);
		EXPECT_EQ(t, ms.nused_blocks, 0);
		EXPECT_EQ(t, ms.nfree_blocks, 1);
		EXPECT_EQ(t, ps.free_pages, ps.total_pages);
	}
	free(buf);
}

TEST_SUITE(alloc_pool, TEST_CASE(ap_dispatch), TEST_CASE(ap_mixed_random));
