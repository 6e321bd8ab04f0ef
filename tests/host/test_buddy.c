/* test_buddy.c - host tests of mm/buddy.c: model-checked random driver, bad frees, odd ranges, lazy sections. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mm/buddy.h"
#include "mm/err.h"
#include "tests/test.h"

#define KiB (1ul << 10)
#define MiB (1ul << 20)
#define NORD (BUDDY_MAX_ORDER + 1)

struct range {
	uintptr_t s, e;
};

/* An arena, its metadata and the heap over it; ranges are what was added, clipped to whole granules. */
struct fix {
	struct buddy b;
	uint8_t *mem;
	size_t memsize;
	uint8_t *meta;
	size_t metasize;
	uintptr_t lo, hi;	/* the span as given to buddy_init() */
	struct range r[64];	/* added ranges (granules), merged and sorted */
	int nr;
	uint64_t added;
};

static bool fix_zeroed;	/* fix_new() takes buddy_init_zeroed() (which clears the poison) */

static void fix_free(struct fix *f)
{
	if (!f)
		return;
	free(f->mem);
	free(f->meta);
	free(f);
}

/* fix_new() - a memsize arena aligned to align; the span leaves lo_off bytes at its start and hi_off at its end. */
static struct fix *fix_new(struct test *t, size_t memsize, size_t align, size_t lo_off, size_t hi_off, int poison)
{
	struct fix *f = calloc(1, sizeof(*f));
	void *p = NULL, *m = NULL;
	error_t e;

	if (!f || posix_memalign(&p, align, memsize)) {
		test_fail(t, __FILE__, __LINE__, "out of host memory");
		free(f);
		return NULL;
	}
	f->mem = p;
	f->memsize = memsize;
	f->lo = (uintptr_t)p + lo_off;
	f->hi = (uintptr_t)p + memsize - hi_off;
	f->metasize = buddy_meta_size(f->lo, f->hi);
	if (!f->metasize || posix_memalign(&m, 64, f->metasize)) {
		test_fail(t, __FILE__, __LINE__, "no metadata (size %zu)", f->metasize);
		fix_free(f);
		return NULL;
	}
	f->meta = m;
	memset(f->meta, poison, f->metasize);
	e = fix_zeroed ? buddy_init_zeroed(&f->b, f->lo, f->hi, f->meta, f->metasize) :
			 buddy_init(&f->b, f->lo, f->hi, f->meta, f->metasize);
	EXPECT_OK(t, e);
	if (e) {
		fix_free(f);
		return NULL;
	}
	return f;
}

static uintptr_t up64(uintptr_t x)
{
	return (x + 63) & ~(uintptr_t)63;
}

static uintptr_t down64(uintptr_t x)
{
	return x & ~(uintptr_t)63;
}

/* fix_note() - record [s, e) (already clipped) in the sorted, merged list of added granules. */
static void fix_note(struct fix *f, uintptr_t s, uintptr_t e)
{
	int i, j;

	if (s >= e)
		return;
	f->added += e - s;
	f->r[f->nr].s = s;
	f->r[f->nr].e = e;
	f->nr++;
	for (i = 1; i < f->nr; i++)
		for (j = i; j > 0 && f->r[j].s < f->r[j - 1].s; j--) {
			struct range x = f->r[j];

			f->r[j] = f->r[j - 1];
			f->r[j - 1] = x;
		}
	for (i = 0; i + 1 < f->nr;) {
		if (f->r[i].e >= f->r[i + 1].s) {
			if (f->r[i + 1].e > f->r[i].e)
				f->r[i].e = f->r[i + 1].e;
			memmove(&f->r[i + 1], &f->r[i + 2], (size_t)(f->nr - i - 2) * sizeof(f->r[0]));
			f->nr--;
		} else {
			i++;
		}
	}
}

/* fix_add() - buddy_add_range() that must succeed, and its effect on the model. */
static error_t fix_add(struct test *t, struct fix *f, uintptr_t s, uintptr_t e)
{
	error_t err = buddy_add_range(&f->b, s, e);
	uintptr_t cs = up64(s), ce = down64(e);

	EXPECT_OK(t, err);
	if (err)
		return err;
	if (cs < f->b.base)
		cs = f->b.base;
	if (ce > f->b.end)
		ce = f->b.end;
	fix_note(f, cs, ce);
	return 0;
}

/* ref_carve() - the blocks a heap holding exactly the added granules, fully merged, must have. */
static void ref_carve(const struct fix *f, uint64_t want[NORD])
{
	int i;

	memset(want, 0, NORD * sizeof(want[0]));
	for (i = 0; i < f->nr; i++) {
		uintptr_t pos = f->r[i].s, e = f->r[i].e;

		while (pos < e) {
			unsigned k = BUDDY_MIN_ORDER;

			while (k < BUDDY_MAX_ORDER && !(pos & ((2ul << k) - 1)) && e - pos >= (2ul << k))
				k++;
			want[k]++;
			pos += 1ul << k;
		}
	}
}

static bool heap_ok(struct test *t, const struct buddy *b)
{
	char why[200];
	error_t e = buddy_check(b, why, sizeof(why));

	if (e)
		test_log("buddy_check: %s", why);
	EXPECT_OK(t, e);
	return !e;
}

static bool nfree_eq(struct test *t, const struct buddy *b, const uint64_t want[NORD])
{
	struct buddy_stats st;
	bool ok = true;
	unsigned k;

	buddy_get_stats(b, &st);
	for (k = 0; k <= BUDDY_MAX_ORDER; k++)
		if (st.nfree[k] != want[k]) {
			test_log("order %u: %lu free blocks, expected %lu", k, (unsigned long)st.nfree[k],
				 (unsigned long)want[k]);
			ok = false;
		}
	EXPECT_TRUE(t, ok);
	return ok;
}

static bool stats_eq(const struct buddy_stats *a, const struct buddy_stats *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static uint64_t block_size(size_t req)
{
	uint64_t s = 64;

	while (s < req)
		s <<= 1;
	return s;
}

/* Fill patterns: word i of a block holding token tok. */
static uint64_t pat(uint64_t tok, size_t i)
{
	return tok ^ (i * 0x9e3779b97f4a7c15ull);
}

static void fill(uintptr_t a, uint64_t size, uint64_t tok)
{
	uint64_t *w = (uint64_t *)a;
	size_t i;

	for (i = 0; i < size / 8; i++)
		w[i] = pat(tok, i);
}

static bool filled(uintptr_t a, uint64_t size, uint64_t tok)
{
	const uint64_t *w = (const uint64_t *)a;
	size_t i;

	for (i = 0; i < size / 8; i++)
		if (w[i] != pat(tok, i))
			return false;
	return true;
}

/* The model: every live allocation with its block size and fill token. */
struct live {
	uintptr_t a;
	uint64_t size;
	uint64_t tok;
};

struct model {
	struct live *v;
	size_t n, cap;
	uint64_t used, allocs, frees, failures, tok;
	uint64_t *map;		/* 1 bit per granule of the arena: in a live block */
	uintptr_t mbase;
};

static void model_init(struct model *m, const struct fix *f)
{
	memset(m, 0, sizeof(*m));
	m->map = calloc(f->memsize / 64 / 64 + 1, sizeof(uint64_t));
	m->mbase = (uintptr_t)f->mem;
}

static void model_free_all(struct model *m)
{
	free(m->v);
	free(m->map);
	memset(m, 0, sizeof(*m));
}

/*
 * map_flip() - flip the granules of the block [a, a + bs) (aligned to bs, so a block below 4 KiB is
 * inside one word); true if they were all clear before (set = true) or all set (set = false).
 */
static bool map_flip(struct model *m, uintptr_t a, uint64_t bs, bool set)
{
	size_t g = (a - m->mbase) / 64, n = bs / 64, i;
	uint64_t want = set ? 0 : ~0ull, mask;
	bool ok = true;

	if (n < 64) {
		mask = ((1ull << n) - 1) << (g % 64);
		ok = (m->map[g / 64] & mask) == (want & mask);
		m->map[g / 64] ^= mask;
		return ok;
	}
	for (i = 0; i < n / 64; i++) {
		ok &= m->map[g / 64 + i] == want;
		m->map[g / 64 + i] = ~want;
	}
	return ok;
}

/* model_alloc() - allocate req bytes and check the block against the model; false on ERR_NOMEM. */
static bool model_add(struct test *t, struct fix *f, struct model *m, void *p, uint64_t bs);

static bool model_alloc(struct test *t, struct fix *f, struct model *m, size_t req)
{
	uint64_t bs = block_size(req);
	struct buddy_stats st;
	void *p = NULL;
	error_t e;

	e = buddy_alloc(&f->b, req, &p);
	if (e == ERR_NOMEM) {
		m->failures++;
		buddy_get_stats(&f->b, &st);
		EXPECT_LT(t, st.largest_free, bs);
		return false;
	}
	EXPECT_OK(t, e);
	if (e)
		return false;
	return model_add(t, f, m, p, bs);
}

/* model_add() - check a block the heap just allocated against the model, fill it and record it. */
static bool model_add(struct test *t, struct fix *f, struct model *m, void *p, uint64_t bs)
{
	bool inside = false;
	size_t got = 0;
	uintptr_t a;
	int r;

	a = (uintptr_t)p;
	EXPECT_EQ(t, a & (bs - 1), 0);
	for (r = 0; r < f->nr; r++)
		inside |= a >= f->r[r].s && a + bs <= f->r[r].e;
	EXPECT_TRUE(t, inside);
	if (!inside)
		return false;
	if (!map_flip(m, a, bs, true)) {
		test_log("block 0x%lx+%lu overlaps a live block", (unsigned long)a, (unsigned long)bs);
		EXPECT_TRUE(t, false);
		return false;
	}
	EXPECT_OK(t, buddy_getsize(&f->b, p, &got));
	EXPECT_EQ(t, got, bs);
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 256;
		m->v = realloc(m->v, m->cap * sizeof(m->v[0]));
	}
	m->v[m->n].a = a;
	m->v[m->n].size = bs;
	m->v[m->n].tok = ++m->tok * 0x2545f4914f6cdd1dull;
	fill(a, bs, m->v[m->n].tok);
	m->n++;
	m->used += bs;
	m->allocs++;
	return true;
}

/* model_free() - check live allocation i's fill pattern and free it. */
static void model_free(struct test *t, struct fix *f, struct model *m, size_t i)
{
	struct live l = m->v[i];

	EXPECT_TRUE(t, filled(l.a, l.size, l.tok));
	EXPECT_OK(t, buddy_free(&f->b, (void *)l.a));
	EXPECT_TRUE(t, map_flip(m, l.a, l.size, false));
	m->v[i] = m->v[--m->n];
	m->used -= l.size;
	m->frees++;
}

/* model_ok() - the heap's statistics agree with the model and buddy_check() passes. */
static bool model_ok(struct test *t, struct fix *f, const struct model *m)
{
	struct buddy_stats st;
	int fails = t->failures;

	buddy_get_stats(&f->b, &st);
	EXPECT_EQ(t, st.used_bytes, m->used);
	EXPECT_EQ(t, st.free_bytes, f->added - m->used);
	EXPECT_EQ(t, st.reserved_bytes, (f->b.end - f->b.base) - f->added);
	EXPECT_EQ(t, st.allocs, m->allocs);
	EXPECT_EQ(t, st.frees, m->frees);
	EXPECT_EQ(t, st.failures, m->failures);
	heap_ok(t, &f->b);
	return t->failures == fails;
}

static void model_release(struct test *t, struct fix *f, struct model *m, uint64_t *seed)
{
	while (m->n)
		model_free(t, f, m, seed ? test_rand(seed) % m->n : m->n - 1);
}

/* A request size: mostly small, sometimes up to 64 KiB, rarely up to 1 MiB. */
static size_t rnd_size(uint64_t *seed)
{
	uint64_t r = test_rand(seed);
	unsigned bits = (r & 63) == 0 ? 20 : (unsigned)((r >> 6) % 17);

	return 1 + (size_t)((r >> 16) & ((1ul << bits) - 1));
}

/* ---- cases ---- */

static void run_random(struct test *t, uint64_t seed, int ops, int poison)
{
	struct model m;
	uint64_t want[NORD];
	struct fix *f;
	uintptr_t base;
	int i;

	/* 4 MiB arena, odd span edges, three ranges with holes between them; stale tags are poison */
	seed ^= test_seed ^ TEST_SEED_DEFAULT;	/* $TEST_SEED varies the case's fixed seed */
	test_log("seed=0x%llx", (unsigned long long)seed);
	f = fix_new(t, 4 * MiB, 2 * MiB, 13, 7, poison);
	if (!f)
		return;
	model_init(&m, f);
	base = (uintptr_t)f->mem;
	fix_add(t, f, base + 13, base + 1 * MiB + 100);
	fix_add(t, f, base + 1 * MiB + 4096 + 3, base + 3 * MiB - 4096 * 3 + 1);
	fix_add(t, f, base + 3 * MiB, base + 4 * MiB - 7);
	ref_carve(f, want);
	nfree_eq(t, &f->b, want);
	if (!model_ok(t, f, &m))
		goto out;
	for (i = 0; i < ops; i++) {
		uint64_t r = test_rand(&seed);

		if (m.n && (r % 100 < (m.n > 400 ? 70u : 45u)))
			model_free(t, f, &m, (size_t)(test_rand(&seed) % m.n));
		else if (r % 100 < 90)
			model_alloc(t, f, &m, rnd_size(&seed));
		else if (r % 100 < 95) {
			/* a cache refill: up to 16 blocks of one small order at once */
			unsigned order = 6 + (unsigned)(test_rand(&seed) % 7), n = 1 + (unsigned)(test_rand(&seed) % 16), k, got;
			void *blk[16];
			struct buddy_stats st;

			got = buddy_alloc_bulk(&f->b, order, blk, n);
			EXPECT_TRUE(t, got <= n);
			for (k = 0; k < got; k++)
				if (!model_add(t, f, &m, blk[k], 1ul << order))
					break;
			if (got < n) {
				m.failures++;
				buddy_get_stats(&f->b, &st);
				EXPECT_LT(t, st.largest_free, 1ul << order);
			}
		}
		else {
			/* alloc_order() and getsize() of a random live block */
			unsigned order = (unsigned)(test_rand(&seed) % 14);
			uint64_t bs = 1ul << (order < 6 ? 6 : order);
			struct buddy_stats st;
			void *p = NULL;
			error_t e;

			/* it fails exactly when no free block is large enough */
			buddy_get_stats(&f->b, &st);
			e = buddy_alloc_order(&f->b, order, &p);
			EXPECT_ERR(t, e, st.largest_free >= bs ? 0 : ERR_NOMEM);
			if (e == ERR_NOMEM) {
				m.failures++;
			} else if (!e) {
				size_t got = 0;

				EXPECT_EQ(t, (uintptr_t)p & (bs - 1), 0);
				EXPECT_OK(t, buddy_getsize(&f->b, p, &got));
				EXPECT_EQ(t, got, bs);
				EXPECT_OK(t, buddy_free(&f->b, p));
				m.allocs++;
				m.frees++;
			}
		}
		if (!model_ok(t, f, &m)) {
			test_log("seed step %d", i);
			goto out;
		}
	}
	model_release(t, f, &m, &seed);
	model_ok(t, f, &m);
	nfree_eq(t, &f->b, want);
out:
	model_free_all(&m);
	fix_free(f);
}

static void buddy_random_seed1(struct test *t)
{
	run_random(t, 0x9e3779b97f4a7c15ull, 5000, 0xa5);
}

static void buddy_random_seed2(struct test *t)
{
	run_random(t, 0xdeadbeefcafef00dull, 5000, 0xa5);
}

static void buddy_random_seed3(struct test *t)
{
	run_random(t, 12345, 5000, 0xa5);
}

/* stale tags that look like an allocated, then a free, 64-byte head: what a head-only section must hide */
static void buddy_random_stale_heads(struct test *t)
{
	run_random(t, 0x243f6a8885a308d3ull, 5000, BUDDY_TAG_HEAD | 6);
	run_random(t, 0x13198a2e03707344ull, 5000, BUDDY_TAG_HEAD | BUDDY_TAG_FREE | 6);
}

/* bad_free() - a refused free: the expected code from free and getsize, nothing else changes. */
static void bad_free(struct test *t, struct buddy *b, uintptr_t a, error_t want)
{
	struct buddy_stats before, after;
	size_t sz = 0;

	buddy_get_stats(b, &before);
	EXPECT_ERR(t, buddy_getsize(b, (void *)a, &sz), want);
	EXPECT_ERR(t, buddy_free(b, (void *)a), want);
	buddy_get_stats(b, &after);
	EXPECT_EQ(t, after.bad_frees, before.bad_frees + 1);
	after.bad_frees = before.bad_frees;
	EXPECT_TRUE(t, stats_eq(&before, &after));
	heap_ok(t, b);
}

static void buddy_bad_frees(struct test *t)
{
	struct buddy_stats before, after;
	void *a = NULL, *s = NULL, *l = NULL, *d = NULL;
	struct buddy_node *fb;
	uintptr_t m, big = 0;
	unsigned k;
	struct fix *f;

	/* 1 MiB aligned span; holes: 128 B at 4 KiB (initialised section), 64 KiB at 256 KiB (never touched) */
	f = fix_new(t, 1 * MiB, 1 * MiB, 0, 0, 0xa5);
	if (!f)
		return;
	m = (uintptr_t)f->mem;
	fix_add(t, f, m, m + 4096);
	fix_add(t, f, m + 4096 + 128, m + 256 * KiB);
	fix_add(t, f, m + 320 * KiB, m + 1 * MiB);
	ASSERT_TRUE(t, heap_ok(t, &f->b));
	ASSERT_OK(t, buddy_alloc(&f->b, 4096, &a));
	ASSERT_OK(t, buddy_alloc(&f->b, 64, &s));
	ASSERT_OK(t, buddy_alloc(&f->b, 256 * KiB, &l));
	ASSERT_OK(t, buddy_alloc(&f->b, 100, &d));

	/* free(NULL) is a no-op that counts nothing */
	buddy_get_stats(&f->b, &before);
	EXPECT_OK(t, buddy_free(&f->b, NULL));
	buddy_get_stats(&f->b, &after);
	EXPECT_TRUE(t, stats_eq(&before, &after));

	/* not owned */
	bad_free(t, &f->b, m - 64, ERR_NOTOWNED);
	bad_free(t, &f->b, m + 1 * MiB, ERR_NOTOWNED);
	bad_free(t, &f->b, 16, ERR_NOTOWNED);
	bad_free(t, &f->b, UINTPTR_MAX - 63, ERR_NOTOWNED);
	EXPECT_FALSE(t, buddy_owns(&f->b, (void *)(m + 1 * MiB)));
	EXPECT_TRUE(t, buddy_owns(&f->b, (void *)(m + 1 * MiB - 1)));
	EXPECT_TRUE(t, buddy_owns(&f->b, (void *)m));

	/* misaligned */
	bad_free(t, &f->b, (uintptr_t)a + 1, ERR_MISALIGNED);
	bad_free(t, &f->b, (uintptr_t)a + 32, ERR_MISALIGNED);
	bad_free(t, &f->b, (uintptr_t)l + 8, ERR_MISALIGNED);

	/* interior of allocated blocks, including sections of a large block that hold no head */
	bad_free(t, &f->b, (uintptr_t)a + 64, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)a + 2048, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)l + 64, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)l + 64 * KiB, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)l + 256 * KiB - 64, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)d + 64, ERR_INTERIOR);

	/* reserved (never added): a small hole in an initialised section and a section never touched */
	bad_free(t, &f->b, m + 4096, ERR_INTERIOR);
	bad_free(t, &f->b, m + 4096 + 64, ERR_INTERIOR);
	bad_free(t, &f->b, m + 256 * KiB, ERR_INTERIOR);
	bad_free(t, &f->b, m + 256 * KiB + 4096, ERR_INTERIOR);
	bad_free(t, &f->b, m + 320 * KiB - 64, ERR_INTERIOR);

	/* double free: the same block twice (now merged into a larger free block or its head) */
	EXPECT_OK(t, buddy_free(&f->b, s));
	bad_free(t, &f->b, (uintptr_t)s, ERR_DOUBLEFREE);
	EXPECT_OK(t, buddy_free(&f->b, d));
	bad_free(t, &f->b, (uintptr_t)d, ERR_DOUBLEFREE);

	/* the head and the interior of every free block on every list; a free block of >= 128 KiB
	   has sections beyond its first that may be uninitialised */
	for (k = BUDDY_MIN_ORDER; k <= BUDDY_MAX_ORDER; k++) {
		if (!f->b.area[k].nfree)
			continue;
		fb = f->b.area[k].list.next;
		bad_free(t, &f->b, (uintptr_t)fb, ERR_DOUBLEFREE);
		if (k > BUDDY_MIN_ORDER) {
			bad_free(t, &f->b, (uintptr_t)fb + 64, ERR_DOUBLEFREE);
			bad_free(t, &f->b, (uintptr_t)fb + (1ul << k) - 64, ERR_DOUBLEFREE);
		}
		if (k > BUDDY_SECTION_ORDER)
			big = (uintptr_t)fb;
	}
	if (big)
		bad_free(t, &f->b, big + BUDDY_SECTION_SIZE, ERR_DOUBLEFREE);
	else
		test_log("no free block above one section to probe");

	/* the good frees still work and everything merges back */
	EXPECT_OK(t, buddy_free(&f->b, a));
	EXPECT_OK(t, buddy_free(&f->b, l));
	bad_free(t, &f->b, (uintptr_t)l, ERR_DOUBLEFREE);
	heap_ok(t, &f->b);
	{
		uint64_t want[NORD];

		ref_carve(f, want);
		nfree_eq(t, &f->b, want);
	}
	buddy_get_stats(&f->b, &after);
	EXPECT_EQ(t, after.used_bytes, 0);
	EXPECT_EQ(t, after.frees, 4);
	fix_free(f);
}

/* try_size() - allocate req bytes from an otherwise empty heap, check it and free it. */
static int try_size(struct test *t, struct fix *f, uint64_t req, const uint64_t want[NORD])
{
	uint64_t bs = block_size(req);
	void *p = NULL;
	size_t got = 0;
	error_t e = buddy_alloc(&f->b, req, &p);

	if (bs > f->b.end - f->b.base) {
		EXPECT_ERR(t, e, ERR_SIZE);
		return 1;
	}
	EXPECT_OK(t, e);
	if (e) {
		test_log("size %lu", (unsigned long)req);
		return 0;
	}
	EXPECT_EQ(t, (uintptr_t)p & (bs - 1), 0);
	EXPECT_TRUE(t, (uintptr_t)p >= f->b.base && (uintptr_t)p + bs <= f->b.end);
	EXPECT_OK(t, buddy_getsize(&f->b, p, &got));
	EXPECT_EQ(t, got, bs);
	fill((uintptr_t)p, bs < 4096 ? bs : 4096, req);
	EXPECT_TRUE(t, filled((uintptr_t)p, bs < 4096 ? bs : 4096, req));
	EXPECT_OK(t, buddy_free(&f->b, p));
	if (!(req & 0xff))
		heap_ok(t, &f->b);
	nfree_eq(t, &f->b, want);
	return 0;
}

static void buddy_all_sizes(struct test *t)
{
	uint64_t want[NORD], req, fails = 0;
	struct buddy_stats st;
	unsigned k, order;
	void *p = NULL;
	struct fix *f;

	f = fix_new(t, 4 * MiB, 4 * MiB, 0, 0, 0);
	if (!f)
		return;
	fix_add(t, f, f->lo, f->hi);
	ref_carve(f, want);
	EXPECT_EQ(t, want[22], 1);
	nfree_eq(t, &f->b, want);
	buddy_get_stats(&f->b, &st);
	EXPECT_EQ(t, st.largest_free, 4 * MiB);
	for (req = 1; req <= 4096; req++)
		fails += try_size(t, f, req, want);
	for (k = 12; k <= 24; k++) {
		fails += try_size(t, f, (1ul << k) - 1, want);
		fails += try_size(t, f, 1ul << k, want);
		fails += try_size(t, f, (1ul << k) + 1, want);
	}
	EXPECT_EQ(t, fails, 7);
	EXPECT_ERR(t, buddy_alloc(&f->b, 0, &p), ERR_SIZE);
	EXPECT_ERR(t, buddy_alloc(&f->b, SIZE_MAX, &p), ERR_SIZE);
	EXPECT_ERR(t, buddy_alloc(&f->b, 1ul << 40, &p), ERR_SIZE);
	EXPECT_ERR(t, buddy_alloc(&f->b, (1ul << 40) + 1, &p), ERR_SIZE);
	EXPECT_ERR(t, buddy_alloc(&f->b, 1ul << 63, &p), ERR_SIZE);
	for (order = 0; order <= 70; order++) {
		error_t e = buddy_alloc_order(&f->b, order, &p);

		if (order <= 22) {
			size_t got = 0;

			EXPECT_OK(t, e);
			EXPECT_OK(t, buddy_getsize(&f->b, p, &got));
			EXPECT_EQ(t, got, 1ul << (order < 6 ? 6 : order));
			EXPECT_OK(t, buddy_free(&f->b, p));
		} else {
			EXPECT_ERR(t, e, ERR_SIZE);
		}
	}
	nfree_eq(t, &f->b, want);
	buddy_get_stats(&f->b, &st);
	EXPECT_EQ(t, st.failures, fails + 5 + (70 - 22));
	fix_free(f);

	/* the same span with only its first half given: 4 MiB is possible in the span but not free now */
	f = fix_new(t, 4 * MiB, 4 * MiB, 0, 0, 0);
	if (!f)
		return;
	fix_add(t, f, f->lo, f->lo + 2 * MiB);
	EXPECT_ERR(t, buddy_alloc(&f->b, 4 * MiB, &p), ERR_NOMEM);
	EXPECT_ERR(t, buddy_alloc(&f->b, 2 * MiB + 1, &p), ERR_NOMEM);
	EXPECT_ERR(t, buddy_alloc(&f->b, 4 * MiB + 1, &p), ERR_SIZE);
	EXPECT_OK(t, buddy_alloc(&f->b, 2 * MiB, &p));
	EXPECT_ERR(t, buddy_alloc(&f->b, 64, &p), ERR_NOMEM);
	EXPECT_OK(t, buddy_free(&f->b, p));
	heap_ok(t, &f->b);
	fix_free(f);

	/* an unaligned span: the largest block possible is smaller than the span */
	f = fix_new(t, 4 * MiB, 4 * MiB, 64, 0, 0);
	if (!f)
		return;
	fix_add(t, f, f->lo, f->hi);
	EXPECT_ERR(t, buddy_alloc(&f->b, 4 * MiB - 64, &p), ERR_SIZE);
	EXPECT_ERR(t, buddy_alloc(&f->b, 2 * MiB + 1, &p), ERR_SIZE);
	EXPECT_OK(t, buddy_alloc(&f->b, 2 * MiB, &p));
	EXPECT_EQ(t, (uintptr_t)p, f->lo + 2 * MiB - 64);
	EXPECT_OK(t, buddy_free(&f->b, p));
	ref_carve(f, want);
	nfree_eq(t, &f->b, want);
	heap_ok(t, &f->b);
	fix_free(f);
}

static void buddy_odd_ranges(struct test *t)
{
	struct model m;
	uint64_t seed = 77, want[NORD];
	struct buddy_stats st;
	struct fix *f;
	uintptr_t x;
	int round;

	/* span with unaligned ends; ranges unaligned, tiny, adjacent, with holes */
	f = fix_new(t, 3 * MiB + 4096, 2 * MiB, 13, 4096 + 7, 0x5a);
	if (!f)
		return;
	x = (uintptr_t)f->mem;
	EXPECT_EQ(t, f->b.base, x + 64);
	EXPECT_EQ(t, f->b.end, x + 3 * MiB - 64);
	fix_add(t, f, x + 13, x + 50);			/* inside one granule: nothing */
	fix_add(t, f, x + 60, x + 130);			/* the granule [64, 128) */
	fix_add(t, f, x + 200, x + 250);			/* nothing */
	fix_add(t, f, x + 4096 - 64, x + 4096 + 63);	/* one granule before 4 KiB */
	fix_add(t, f, x + 8192 + 1, x + 64 * KiB + 4096 + 31);
	fix_add(t, f, x + 64 * KiB + 4096 + 64, x + 100 * KiB); /* one granule hole from the previous */
	fix_add(t, f, x + 128 * KiB, x + 192 * KiB);
	fix_add(t, f, x + 192 * KiB, x + 256 * KiB);	/* adjacent: merges into 128 KiB */
	fix_add(t, f, x + 300 * KiB + 17, x + 1 * MiB + 5);
	fix_add(t, f, x + 1 * MiB + 4096, x + 3 * MiB - 7);	/* ends at the span's unaligned end */
	EXPECT_EQ(t, f->nr, 7);
	ASSERT_TRUE(t, heap_ok(t, &f->b));
	ref_carve(f, want);
	ASSERT_TRUE(t, nfree_eq(t, &f->b, want));
	model_init(&m, f);
	ASSERT_TRUE(t, model_ok(t, f, &m));

	for (round = 0; round < 4; round++) {
		uint64_t fails = m.failures;

		/* even rounds: random sizes until 64 requests failed; then 64 B until even that fails */
		while (!(round & 1) && m.failures - fails < 64 && !t->failures)
			model_alloc(t, f, &m, rnd_size(&seed));
		while (!t->failures && model_alloc(t, f, &m, 1 + test_rand(&seed) % 64))
			;
		buddy_get_stats(&f->b, &st);
		EXPECT_EQ(t, st.free_bytes, 0);
		EXPECT_EQ(t, st.largest_free, 0);
		ASSERT_TRUE(t, model_ok(t, f, &m));
		model_release(t, f, &m, &seed);
		ASSERT_TRUE(t, model_ok(t, f, &m));
		ASSERT_TRUE(t, nfree_eq(t, &f->b, want));
	}
	model_free_all(&m);
	fix_free(f);
}

/*
 * buddy_trim(): every keep (4 KiB steps) of every order it takes (13..16), from a fresh 1 MiB heap: the kept
 * part is allocated (or, every other keep, taken and refused by buddy_free()) blocks back to back (one per bit of keep, largest first), the free bytes grow by what
 * was cut off, buddy_check() passes, and freeing the kept blocks gives the heap back exactly as it was.
 * Blocks it refuses, changing nothing: order 12, a free block, an interior address; keeps of 0, the whole
 * block, or not a multiple of 4 KiB.
 */
static void buddy_trim_every_keep(struct test *t)
{
	uint64_t want[NORD];
	struct buddy_stats st0, st;
	unsigned order;
	size_t keep, off, bs;
	struct fix *f;
	void *p;
	int k;

	f = fix_new(t, 1 * MiB, 1 * MiB, 0, 0, 0);
	if (!f)
		return;
	fix_add(t, f, f->lo, f->hi);
	ref_carve(f, want);
	buddy_get_stats(&f->b, &st0);
	for (order = 13; order <= 16 && !t->failures; order++)
		for (keep = 4 * KiB; keep < (1ul << order) && !t->failures; keep += 4 * KiB) {
			bool take = (keep >> 12) & 1;	/* every other keep: the kept blocks taken */

			ASSERT_OK(t, buddy_alloc_order(&f->b, order, &p));
			ASSERT_OK(t, buddy_trim(&f->b, p, keep, take));
			buddy_get_stats(&f->b, &st);
			EXPECT_EQ(t, st0.free_bytes - st.free_bytes, keep);
			for (k = 16, off = 0; k >= 12; k--)
				if (keep & (1ul << k)) {
					if (take) {	/* taken: refused by the buddy's free until untaken */
						EXPECT_ERR(t, buddy_free(&f->b, (char *)p + off), ERR_DOUBLEFREE);
						buddy_untake(&f->b, (uintptr_t)p + off);
					}
					EXPECT_OK(t, buddy_getsize(&f->b, (char *)p + off, &bs));
					EXPECT_EQ(t, bs, 1ul << k);
					off += 1ul << k;
				}
			EXPECT_ERR(t, buddy_getsize(&f->b, (char *)p + keep, &bs), ERR_DOUBLEFREE);	/* cut off */
			heap_ok(t, &f->b);
			for (k = 16, off = 0; k >= 12; k--)
				if (keep & (1ul << k)) {
					EXPECT_OK(t, buddy_free(&f->b, (char *)p + off));
					off += 1ul << k;
				}
			heap_ok(t, &f->b);
			nfree_eq(t, &f->b, want);
		}
	ASSERT_OK(t, buddy_alloc_order(&f->b, 12, &p));
	EXPECT_ERR(t, buddy_trim(&f->b, p, 4 * KiB, false), ERR_INVAL);	/* order 12: nothing to trim to */
	EXPECT_OK(t, buddy_free(&f->b, p));
	ASSERT_OK(t, buddy_alloc_order(&f->b, 14, &p));
	EXPECT_ERR(t, buddy_trim(&f->b, p, 0, false), ERR_INVAL);
	EXPECT_ERR(t, buddy_trim(&f->b, p, 16 * KiB, false), ERR_INVAL);
	EXPECT_ERR(t, buddy_trim(&f->b, p, 6 * KiB, true), ERR_INVAL);
	EXPECT_ERR(t, buddy_trim(&f->b, (char *)p + 8 * KiB, 4 * KiB, false), ERR_INVAL);	/* not its head */
	EXPECT_OK(t, buddy_free(&f->b, p));
	EXPECT_ERR(t, buddy_trim(&f->b, p, 4 * KiB, false), ERR_INVAL);		/* free */
	heap_ok(t, &f->b);
	nfree_eq(t, &f->b, want);
	fix_free(f);
}

static void buddy_exhaustion(struct test *t)
{
	uint64_t want[NORD], seed = 5;
	struct buddy_stats st;
	struct model m;
	size_t n64;
	struct fix *f;

	f = fix_new(t, 256 * KiB, 64 * KiB, 0, 0, 0);
	if (!f)
		return;
	model_init(&m, f);
	fix_add(t, f, f->lo + 64, f->hi - 128);
	ref_carve(f, want);
	buddy_get_stats(&f->b, &st);
	n64 = st.free_bytes / 64;
	while (model_alloc(t, f, &m, 1 + test_rand(&seed) % 64))
		if (m.n > n64)
			break;
	EXPECT_EQ(t, m.n, n64);
	EXPECT_EQ(t, m.failures, 1);
	ASSERT_TRUE(t, model_ok(t, f, &m));
	EXPECT_FALSE(t, model_alloc(t, f, &m, 1));
	EXPECT_FALSE(t, model_alloc(t, f, &m, 4096));
	ASSERT_TRUE(t, model_ok(t, f, &m));
	model_release(t, f, &m, &seed);
	ASSERT_TRUE(t, model_ok(t, f, &m));
	ASSERT_TRUE(t, nfree_eq(t, &f->b, want));

	/* mixed sizes until the first failure of each size class, then back */
	while ((model_alloc(t, f, &m, 1 + (rnd_size(&seed) & 16383)) || m.failures < 40) && !t->failures)
		;
	ASSERT_TRUE(t, model_ok(t, f, &m));
	model_release(t, f, &m, NULL);
	ASSERT_TRUE(t, model_ok(t, f, &m));
	nfree_eq(t, &f->b, want);
	/* the recovered heap serves its largest block again */
	buddy_get_stats(&f->b, &st);
	EXPECT_TRUE(t, model_alloc(t, f, &m, st.largest_free));
	model_release(t, f, &m, NULL);
	model_free_all(&m);
	fix_free(f);
}

/*
 * buddy_alloc_below(): every block ends at or below the limit, until none fits (ERR_NOMEM while memory
 * above it is still free); the heap stays valid and comes back whole.
 */
static void buddy_below_limit(struct test *t)
{
	enum { MAXB = 4096 };
	static void *blk[MAXB];
	uint64_t want[NORD], seed = test_seed_for(t, 0x62), below = 0;
	struct buddy_stats st;
	uintptr_t limit;
	unsigned n = 0, i;
	struct fix *f;
	void *p;

	f = fix_new(t, 4 * MiB, 2 * MiB, 0, 0, 0);
	if (!f)
		return;
	fix_add(t, f, f->lo, f->hi);
	ref_carve(f, want);
	limit = f->lo + MiB + 3 * 4096 + 64;	/* not a power-of-two boundary */
	EXPECT_ERR(t, buddy_alloc_below(&f->b, 64, f->lo, &p), ERR_NOMEM);
	EXPECT_ERR(t, buddy_alloc_below(&f->b, 0, limit, &p), ERR_SIZE);
	/* a whole-span block is split from its low end: the first 64 bytes come from the span's start */
	ASSERT_OK(t, buddy_alloc_below(&f->b, 64, limit, &blk[n]));
	EXPECT_EQ(t, (uintptr_t)blk[n], f->lo);
	n++;
	while (n < MAXB) {
		size_t size = (size_t)64 << (test_rand(&seed) % 11);	/* 64 B .. 64 KiB */
		error_t e = buddy_alloc_below(&f->b, size, limit, &p);

		if (e) {
			EXPECT_ERR(t, e, ERR_NOMEM);
			if (size == 64)
				break;
			continue;
		}
		EXPECT_GE(t, (uintptr_t)p, f->lo);
		EXPECT_LE(t, (uintptr_t)p + size, limit);
		below += size;
		blk[n++] = p;
	}
	EXPECT_LT(t, n, MAXB);
	heap_ok(t, &f->b);
	/* once 64 bytes fail, everything below the limit is taken and everything above it is free */
	EXPECT_EQ(t, below + 64, limit - f->lo);
	buddy_get_stats(&f->b, &st);
	EXPECT_EQ(t, st.free_bytes, f->hi - limit);
	EXPECT_OK(t, buddy_alloc(&f->b, 64, &p));	/* the unconstrained path still serves, above */
	EXPECT_GE(t, (uintptr_t)p, limit);
	EXPECT_OK(t, buddy_free(&f->b, p));
	for (i = 0; i < n; i++)
		EXPECT_OK(t, buddy_free(&f->b, blk[i]));
	heap_ok(t, &f->b);
	nfree_eq(t, &f->b, want);
	fix_free(f);
}

/* add_fails() - buddy_add_range() must fail with want and change nothing. */
static void add_fails(struct test *t, struct fix *f, uintptr_t s, uintptr_t e, error_t want)
{
	struct buddy_stats before, after;

	buddy_get_stats(&f->b, &before);
	EXPECT_ERR(t, buddy_add_range(&f->b, s, e), want);
	buddy_get_stats(&f->b, &after);
	EXPECT_TRUE(t, stats_eq(&before, &after));
	heap_ok(t, &f->b);
}

static void buddy_add_range_errors(struct test *t)
{
	uint64_t want[NORD];
	struct buddy_stats st;
	void *p = NULL, *q = NULL;
	struct fix *f;
	uintptr_t x;

	f = fix_new(t, 1 * MiB, 1 * MiB, 5, 3, 0);
	if (!f)
		return;
	x = (uintptr_t)f->mem;
	/* outside the span as given */
	add_fails(t, f, x, x + 4096, ERR_RANGE);
	add_fails(t, f, x + 4, x + 4096, ERR_RANGE);
	add_fails(t, f, x + 4096, x + 1 * MiB, ERR_RANGE);
	add_fails(t, f, x + 4096, x + 1 * MiB - 2, ERR_RANGE);
	add_fails(t, f, x + 8192, x + 4096, ERR_RANGE);
	add_fails(t, f, 0, 64, ERR_RANGE);
	/* the span's own unaligned edges are fine, and an empty range adds nothing */
	fix_add(t, f, x + 5, x + 5);
	fix_add(t, f, x + 5, x + 64 * KiB);
	fix_add(t, f, x + 512 * KiB, x + 1 * MiB - 3);
	heap_ok(t, &f->b);
	/* overlaps with free memory: same range, inside, around, straddling either end */
	add_fails(t, f, x + 5, x + 64 * KiB, ERR_OVERLAP);
	add_fails(t, f, x + 4096, x + 8192, ERR_OVERLAP);
	add_fails(t, f, x + 64 * KiB - 64, x + 128 * KiB, ERR_OVERLAP);
	add_fails(t, f, x + 256 * KiB, x + 512 * KiB + 64, ERR_OVERLAP);
	add_fails(t, f, x + 256 * KiB, x + 1 * MiB - 3, ERR_OVERLAP);
	add_fails(t, f, x + 128 * KiB, x + 1 * MiB - 3, ERR_OVERLAP);
	add_fails(t, f, x + 1 * MiB - 128 - 3, x + 1 * MiB - 3, ERR_OVERLAP);
	/* a partial granule next to a free one is not an overlap (it is clipped away) */
	fix_add(t, f, x + 64 * KiB + 1, x + 64 * KiB + 60);
	/* overlaps with allocated memory */
	ASSERT_OK(t, buddy_alloc(&f->b, 256 * KiB, &p));
	ASSERT_OK(t, buddy_alloc(&f->b, 64, &q));
	add_fails(t, f, (uintptr_t)p + 4096, (uintptr_t)p + 8192, ERR_OVERLAP);
	add_fails(t, f, (uintptr_t)p + 128 * KiB, (uintptr_t)p + 128 * KiB + 64, ERR_OVERLAP);
	add_fails(t, f, (uintptr_t)q, (uintptr_t)q + 64, ERR_OVERLAP);
	add_fails(t, f, x + 128 * KiB, x + 1 * MiB - 3, ERR_OVERLAP);
	EXPECT_OK(t, buddy_free(&f->b, p));
	EXPECT_OK(t, buddy_free(&f->b, q));
	/* fill the gap: the heap becomes one piece and merges fully */
	fix_add(t, f, x + 64 * KiB, x + 512 * KiB);
	heap_ok(t, &f->b);
	ref_carve(f, want);
	nfree_eq(t, &f->b, want);
	buddy_get_stats(&f->b, &st);
	EXPECT_EQ(t, st.reserved_bytes, 0);	/* the partial first and last granules are not in the span */
	EXPECT_EQ(t, st.largest_free, 256 * KiB);
	add_fails(t, f, x + 5, x + 1 * MiB - 3, ERR_OVERLAP);
	fix_free(f);
}

static void buddy_init_errors(struct test *t)
{
	static uint64_t meta[256];
	struct buddy *b = calloc(1, sizeof(*b));
	uintptr_t m = 64 * MiB;

	ASSERT_TRUE(t, b != NULL);
	EXPECT_EQ(t, buddy_meta_size(m, m), 0);
	EXPECT_EQ(t, buddy_meta_size(m + 1, m + 64), 0);
	/* per section: a map byte, 1 KiB of tags, BUDDY_SECTION_PAGES page bytes */
	EXPECT_EQ(t, buddy_meta_size(m, m + 64), 8 + 1024 + BUDDY_SECTION_PAGES);
	EXPECT_EQ(t, buddy_meta_size(m, m + 64 * MiB), 1024 * (1 + 1024 + BUDDY_SECTION_PAGES));
	EXPECT_EQ(t, buddy_meta_size(m - 64, m + 64), 8 + 2 * (1024 + BUDDY_SECTION_PAGES));
	EXPECT_ERR(t, buddy_init(b, m, m, meta, sizeof(meta)), ERR_RANGE);
	EXPECT_ERR(t, buddy_init(b, m + 1, m + 64, meta, sizeof(meta)), ERR_RANGE);
	EXPECT_ERR(t, buddy_init(b, m, m + 64 * KiB, NULL, sizeof(meta)), ERR_INVAL);
	EXPECT_ERR(t, buddy_init(b, m, m + 64 * KiB, (char *)meta + 4, sizeof(meta) - 8), ERR_INVAL);
	EXPECT_ERR(t, buddy_init(b, m, m + 128 * KiB, meta, sizeof(meta)), ERR_INVAL);
	EXPECT_ERR(t, buddy_init(NULL, m, m + 64 * KiB, meta, sizeof(meta)), ERR_INVAL);
	/* a span at address 0 never hands out NULL */
	EXPECT_OK(t, buddy_init(b, 0, 64 * KiB, meta, sizeof(meta)));
	EXPECT_EQ(t, b->base, 64);
	EXPECT_FALSE(t, buddy_owns(b, NULL));
	free(b);
}

static void buddy_lazy_sections(struct test *t)
{
	uint64_t want[NORD], secs = 0;
	struct buddy_stats st;
	void *s = NULL, *l = NULL;
	struct fix *f;
	uintptr_t x;
	size_t tags, i, touched = 0;

	/* 64 MiB span (1024 sections); meta poisoned so stale tags would be noticed */
	f = fix_new(t, 64 * MiB, 64 * MiB, 4096 + 3 * 64, 0, 0xa5);	/* the block layout below needs 64 MiB alignment */
	if (!f)
		return;
	x = (uintptr_t)f->mem;
	tags = (size_t)(f->b.tags - f->meta);
	EXPECT_EQ(t, f->b.nsec, 1024);
	for (i = 0; i < tags; i++)
		EXPECT_EQ(t, f->meta[i], 0);
	for (i = tags; i < f->metasize; i++)
		if (f->meta[i] != 0xa5)
			touched++;
	EXPECT_EQ(t, touched, 0);	/* init cleared the section map and nothing else */
	ASSERT_TRUE(t, heap_ok(t, &f->b));

	fix_add(t, f, x + 1 * MiB + 4096, x + 40 * MiB);
	ASSERT_TRUE(t, heap_ok(t, &f->b));
	for (i = 0; i < f->b.nsec; i++)
		secs += f->b.secmap[i] != 0;
	/*
	 * One section per carved block's head, and no other: [1 MiB + 4 KiB, 40 MiB) carves 13 blocks, 4 to
	 * 32 KiB sharing the section at 1 MiB, then 64 KiB .. 512 KiB, 2, 4, 8, 16 and 8 MiB: 10 sections.
	 * (Was "<= 20", which a map that marked nothing also met.)
	 */
	EXPECT_EQ(t, secs, 10);
	for (i = tags, touched = 0; i < f->metasize; i++)
		if (f->meta[i] != 0xa5)
			touched++;
	EXPECT_LE(t, touched, secs * 1024);
	ref_carve(f, want);
	ASSERT_TRUE(t, nfree_eq(t, &f->b, want));

	/* bad frees into sections nobody touched */
	bad_free(t, &f->b, x + 50 * MiB, ERR_INTERIOR);		/* reserved */
	bad_free(t, &f->b, x + 64 * MiB - 64, ERR_INTERIOR);	/* reserved, last granule */
	bad_free(t, &f->b, x + 8192, ERR_INTERIOR);		/* reserved, below the range */
	bad_free(t, &f->b, x + 20 * MiB, ERR_DOUBLEFREE);	/* inside a 16 MiB free block */
	bad_free(t, &f->b, x + 20 * MiB + 64, ERR_DOUBLEFREE);
	bad_free(t, &f->b, x + 40 * MiB - 64, ERR_DOUBLEFREE);

	/* a small and a large allocation split their way through untouched sections */
	ASSERT_OK(t, buddy_alloc(&f->b, 64, &s));
	ASSERT_OK(t, buddy_alloc(&f->b, 8 * MiB, &l));
	heap_ok(t, &f->b);
	bad_free(t, &f->b, (uintptr_t)l + 3 * MiB, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)l + 8 * MiB - 64, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)s + 4 * MiB, ERR_DOUBLEFREE);
	{
		size_t got = 0;

		EXPECT_OK(t, buddy_getsize(&f->b, l, &got));
		EXPECT_EQ(t, got, 8 * MiB);
	}
	buddy_get_stats(&f->b, &st);
	EXPECT_EQ(t, st.used_bytes, 8 * MiB + 64);
	EXPECT_OK(t, buddy_free(&f->b, s));
	EXPECT_OK(t, buddy_free(&f->b, l));
	heap_ok(t, &f->b);
	nfree_eq(t, &f->b, want);

	/* add the rest later: merges across into sections initialised only now */
	fix_add(t, f, x + 40 * MiB, x + 64 * MiB);
	fix_add(t, f, x + 1 * MiB, x + 1 * MiB + 4096);
	heap_ok(t, &f->b);
	ref_carve(f, want);
	nfree_eq(t, &f->b, want);
	buddy_get_stats(&f->b, &st);
	EXPECT_EQ(t, st.largest_free, 32 * MiB);
	fix_free(f);
}

static uint8_t *tag_at(struct fix *f, uintptr_t a)
{
	return f->b.tags + ((a - f->b.org) >> BUDDY_MIN_ORDER);
}

static uint8_t *sec_at(struct fix *f, uintptr_t a)
{
	return f->b.secmap + ((a - f->b.org) >> BUDDY_SECTION_ORDER);
}

/* count_sec() - how many sections are in state st */
static size_t count_sec(const struct fix *f, unsigned st)
{
	size_t i, n = 0;

	for (i = 0; i < f->b.nsec; i++)
		n += f->b.secmap[i] == st;
	return n;
}

/*
 * buddy_init_zeroed(): over metadata it clears (poisoned before) its sections are initialised without
 * clearing their tags, and every byte of its metadata (section map, tags, page bytes) stays equal to that of a
 * buddy_init() heap over zeroed metadata running the same operations: allocations of every order that
 * split fresh sections, small blocks inside head-only ones, frees that merge back to whole sections.
 */
static void buddy_zeroed_meta(struct test *t)
{
	enum { NLIVE = 512 };
	static uintptr_t off[NLIVE];
	struct fix *a, *z;
	uint64_t seed = 0x3c6ef372fe94f82bull ^ test_seed ^ TEST_SEED_DEFAULT;
	unsigned n = 0, i;

	/* aligned to their size: the same carve of the span into blocks, at the same offsets */
	a = fix_new(t, 8 * MiB, 8 * MiB, 4096 + 64, 4096, 0);
	fix_zeroed = true;
	z = fix_new(t, 8 * MiB, 8 * MiB, 4096 + 64, 4096, 0xa5);	/* cleared by buddy_init_zeroed() */
	fix_zeroed = false;
	if (!a || !z)
		goto out;
	EXPECT_TRUE(t, z->b.meta_zero && !a->b.meta_zero);
	EXPECT_OK(t, fix_add(t, a, a->lo, a->hi));
	EXPECT_OK(t, fix_add(t, z, z->lo, z->hi));
	EXPECT_EQ(t, memcmp(a->meta, z->meta, a->metasize), 0);
	for (i = 0; i < 6000; i++) {
		uint64_t r = test_rand(&seed);
		void *pa = NULL, *pz = NULL;
		unsigned order;

		if (n && (n == NLIVE || r % 100 < 45)) {
			unsigned j = (unsigned)(test_rand(&seed) % n);

			EXPECT_OK(t, buddy_free(&a->b, (void *)((uintptr_t)a->mem + off[j])));
			EXPECT_OK(t, buddy_free(&z->b, (void *)((uintptr_t)z->mem + off[j])));
			off[j] = off[--n];
		} else {
			order = 6 + (unsigned)(test_rand(&seed) % 15);	/* 64 B .. 1 MiB */
			EXPECT_ERR(t, buddy_alloc_order(&z->b, order, &pz), buddy_alloc_order(&a->b, order, &pa));
			if (pa && pz) {
				EXPECT_EQ(t, (uintptr_t)pz - (uintptr_t)z->mem, (uintptr_t)pa - (uintptr_t)a->mem);
				off[n++] = (uintptr_t)pa - (uintptr_t)a->mem;
			}
		}
		if (i % 500 == 0 && memcmp(a->meta, z->meta, a->metasize)) {
			test_fail(t, __FILE__, __LINE__, "metadata differs after %u operations", i);
			break;
		}
	}
	while (n) {
		n--;
		EXPECT_OK(t, buddy_free(&a->b, (void *)((uintptr_t)a->mem + off[n])));
		EXPECT_OK(t, buddy_free(&z->b, (void *)((uintptr_t)z->mem + off[n])));
	}
	EXPECT_EQ(t, memcmp(a->meta, z->meta, a->metasize), 0);
	EXPECT_TRUE(t, heap_ok(t, &a->b));
	EXPECT_TRUE(t, heap_ok(t, &z->b));
	EXPECT_GT(t, count_sec(z, BUDDY_SEC_FULL), 0);
out:
	fix_free(a);
	fix_free(z);
}

/*
 * Head-only sections (BUDDY_SEC_HEAD): a block of order >= 16 gets only its first tag written, and the
 * rest of its section keeps whatever the metadata held (poison: tags that look like 64-byte heads), which
 * no reader may trust. A section becomes fully initialised, its head kept, only when a block below 16 is
 * made in it.
 */
static void head_only_run(struct test *t, int poison)
{
	void *s = NULL, *l = NULL, *m16 = NULL, *p = NULL, *p2 = NULL;
	uint64_t want[NORD];
	size_t tags, i, touched, sz = 0;
	unsigned k;
	char why[200];
	struct fix *f;
	uintptr_t x;

	/* 64 MiB span on a 64 MiB boundary: one block of order 26 */
	f = fix_new(t, 64 * MiB, 64 * MiB, 0, 0, poison);
	if (!f)
		return;
	x = (uintptr_t)f->mem;
	tags = (size_t)(f->b.tags - f->meta);
	fix_add(t, f, x, x + 64 * MiB);
	ASSERT_TRUE(t, heap_ok(t, &f->b));
	EXPECT_EQ(t, *sec_at(f, x), BUDDY_SEC_HEAD);
	EXPECT_EQ(t, count_sec(f, BUDDY_SEC_NONE), f->b.nsec - 1);
	EXPECT_EQ(t, *tag_at(f, x), BUDDY_TAG_HEAD | BUDDY_TAG_FREE | 26);
	for (i = tags + 1, touched = 0; i < f->metasize; i++)
		touched += f->meta[i] != (uint8_t)poison;
	EXPECT_EQ(t, touched, BUDDY_SECTION_PAGES);	/* boot wrote one tag and zeroed the section's page bytes */

	/* a deep first split, 26 down to 6: right halves 25..16 each start a head-only section */
	ASSERT_OK(t, buddy_alloc(&f->b, 64, &s));
	EXPECT_EQ(t, (uintptr_t)s, x);
	ASSERT_TRUE(t, heap_ok(t, &f->b));
	EXPECT_EQ(t, *sec_at(f, x), BUDDY_SEC_FULL);	/* halves 15..6 live in the first section */
	for (k = 16; k <= 25; k++) {
		EXPECT_EQ(t, *sec_at(f, x + (1ul << k)), BUDDY_SEC_HEAD);
		EXPECT_EQ(t, *tag_at(f, x + (1ul << k)), BUDDY_TAG_HEAD | BUDDY_TAG_FREE | k);
		EXPECT_EQ(t, *tag_at(f, x + (1ul << k) + 64), (uint8_t)poison);	/* not zeroed */
	}
	EXPECT_EQ(t, count_sec(f, BUDDY_SEC_HEAD), 10);
	EXPECT_EQ(t, count_sec(f, BUDDY_SEC_FULL), 1);
	for (i = tags, touched = 0; i < f->metasize; i++)
		touched += f->meta[i] != (uint8_t)poison;
	EXPECT_LE(t, touched, 1024 + 10 + 11 * BUDDY_SECTION_PAGES);

	/* bad frees in and around head-only sections of free blocks: the stale tags are not believed */
	bad_free(t, &f->b, x + 64 * KiB, ERR_DOUBLEFREE);
	bad_free(t, &f->b, x + 64 * KiB + 64, ERR_DOUBLEFREE);
	bad_free(t, &f->b, x + 128 * KiB - 64, ERR_DOUBLEFREE);
	bad_free(t, &f->b, x + 32 * MiB + 4096, ERR_DOUBLEFREE);
	bad_free(t, &f->b, x + 32 * MiB + 64 * KiB, ERR_DOUBLEFREE);	/* uninitialised, in the same block */
	bad_free(t, &f->b, x + 64 * MiB - 64, ERR_DOUBLEFREE);

	/* allocated blocks that start head-only sections: exact-order pops, their heads the only valid tags */
	ASSERT_OK(t, buddy_alloc(&f->b, 1 * MiB, &l));
	EXPECT_EQ(t, (uintptr_t)l, x + 1 * MiB);
	ASSERT_OK(t, buddy_alloc(&f->b, 64 * KiB, &m16));
	EXPECT_EQ(t, (uintptr_t)m16, x + 64 * KiB);
	EXPECT_EQ(t, *sec_at(f, (uintptr_t)l), BUDDY_SEC_HEAD);
	EXPECT_EQ(t, *sec_at(f, (uintptr_t)m16), BUDDY_SEC_HEAD);
	ASSERT_TRUE(t, heap_ok(t, &f->b));
	EXPECT_OK(t, buddy_getsize(&f->b, l, &sz));
	EXPECT_EQ(t, sz, 1 * MiB);
	EXPECT_OK(t, buddy_getsize(&f->b, m16, &sz));
	EXPECT_EQ(t, sz, 64 * KiB);
	bad_free(t, &f->b, (uintptr_t)l + 64, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)l + 4096, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)l + 64 * KiB, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)l + 1 * MiB - 64, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)m16 + 64, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)m16 + 64 * KiB - 64, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)l + 2, ERR_MISALIGNED);
	/* a good free of one: its buddy (order 20 at x) is not free; then it is a free block like the others */
	EXPECT_OK(t, buddy_free(&f->b, l));
	bad_free(t, &f->b, (uintptr_t)l, ERR_DOUBLEFREE);
	bad_free(t, &f->b, (uintptr_t)l + 64, ERR_DOUBLEFREE);
	ASSERT_TRUE(t, heap_ok(t, &f->b));

	/* a split below 16 of a block that started head-only: its section is filled, its head kept */
	ASSERT_OK(t, buddy_alloc(&f->b, 32 * KiB, &p));	/* the free half of order 15 in the first section */
	EXPECT_EQ(t, (uintptr_t)p, x + 32 * KiB);
	ASSERT_OK(t, buddy_alloc(&f->b, 32 * KiB, &p2));	/* splits the free block of order 17 */
	EXPECT_EQ(t, (uintptr_t)p2, x + 128 * KiB);
	EXPECT_EQ(t, *sec_at(f, x + 128 * KiB), BUDDY_SEC_FULL);
	EXPECT_EQ(t, *tag_at(f, x + 128 * KiB), BUDDY_TAG_HEAD | 15);
	EXPECT_EQ(t, *tag_at(f, x + 128 * KiB + 64), 0);
	EXPECT_EQ(t, *tag_at(f, x + 160 * KiB), BUDDY_TAG_HEAD | BUDDY_TAG_FREE | 15);
	EXPECT_EQ(t, *sec_at(f, x + 192 * KiB), BUDDY_SEC_HEAD);	/* the half of order 16 */
	EXPECT_EQ(t, *tag_at(f, x + 192 * KiB), BUDDY_TAG_HEAD | BUDDY_TAG_FREE | 16);
	ASSERT_TRUE(t, heap_ok(t, &f->b));
	bad_free(t, &f->b, (uintptr_t)p2 + 64, ERR_INTERIOR);
	bad_free(t, &f->b, (uintptr_t)p2 + 32 * KiB, ERR_DOUBLEFREE);
	bad_free(t, &f->b, (uintptr_t)p2 + 32 * KiB + 64, ERR_DOUBLEFREE);
	bad_free(t, &f->b, x + 192 * KiB + 64, ERR_DOUBLEFREE);

	/* buddy_clear_tags() leaves a section fully initialised, and a head-only one's head where it was */
	buddy_clear_tags(&f->b, x + 256 * KiB, x + 256 * KiB + 1);
	EXPECT_EQ(t, *sec_at(f, x + 256 * KiB), BUDDY_SEC_FULL);
	EXPECT_EQ(t, *tag_at(f, x + 256 * KiB), BUDDY_TAG_HEAD | BUDDY_TAG_FREE | 18);
	EXPECT_EQ(t, *tag_at(f, x + 256 * KiB + 64), 0);
	ASSERT_TRUE(t, heap_ok(t, &f->b));
	bad_free(t, &f->b, x + 256 * KiB + 64, ERR_DOUBLEFREE);

	/* everything back: merges across head-only, uninitialised and full sections to the one block */
	EXPECT_OK(t, buddy_free(&f->b, p2));
	EXPECT_OK(t, buddy_free(&f->b, m16));
	EXPECT_OK(t, buddy_free(&f->b, s));
	EXPECT_OK(t, buddy_free(&f->b, p));
	ASSERT_TRUE(t, heap_ok(t, &f->b));
	ref_carve(f, want);
	nfree_eq(t, &f->b, want);
	EXPECT_EQ(t, *tag_at(f, x), BUDDY_TAG_HEAD | BUDDY_TAG_FREE | 26);
	bad_free(t, &f->b, x + 64 * KiB + 64, ERR_DOUBLEFREE);
	bad_free(t, &f->b, x + 192 * KiB, ERR_DOUBLEFREE);	/* head-only, its head merged away (0) */
	/* buddy_check() reads a head-only section's first tag only (here 0: merged away), and knows what
	   may be there */
	{
		uint8_t *sm = sec_at(f, x + 32 * MiB), *tg = tag_at(f, x + 32 * MiB);

		EXPECT_EQ(t, *sm, BUDDY_SEC_HEAD);
		EXPECT_EQ(t, *tg, 0);
		*sm = 3;
		EXPECT_ERR(t, buddy_check(&f->b, why, sizeof(why)), ERR_CORRUPT);
		test_log("detected: %s", why);
		*sm = BUDDY_SEC_HEAD;
		*tg = BUDDY_TAG_HEAD | 6;
		EXPECT_ERR(t, buddy_check(&f->b, why, sizeof(why)), ERR_CORRUPT);
		test_log("detected: %s", why);
		*tg = 0;
		ASSERT_TRUE(t, heap_ok(t, &f->b));
	}
	/* the next deep split finds its sections ready: full 0, 2 (split), 4 (cleared); head-only the rest */
	ASSERT_OK(t, buddy_alloc(&f->b, 64, &s));
	EXPECT_EQ(t, count_sec(f, BUDDY_SEC_FULL), 3);
	EXPECT_EQ(t, count_sec(f, BUDDY_SEC_HEAD), 9);
	EXPECT_EQ(t, *sec_at(f, x + 192 * KiB), BUDDY_SEC_HEAD);
	EXPECT_OK(t, buddy_free(&f->b, s));
	heap_ok(t, &f->b);
	fix_free(f);

	/* a head-only section must lie in a block: one made up in reserved memory is caught */
	f = fix_new(t, 1 * MiB, 1 * MiB, 0, 0, poison);
	if (!f)
		return;
	x = (uintptr_t)f->mem;
	fix_add(t, f, x, x + 64 * KiB);
	buddy_clear_tags(&f->b, x + 64 * KiB, x + 1 * MiB);
	ASSERT_TRUE(t, heap_ok(t, &f->b));
	EXPECT_EQ(t, *sec_at(f, x), BUDDY_SEC_HEAD);
	EXPECT_EQ(t, count_sec(f, BUDDY_SEC_FULL), 15);
	*sec_at(f, x + 512 * KiB) = BUDDY_SEC_HEAD;
	EXPECT_ERR(t, buddy_check(&f->b, why, sizeof(why)), ERR_CORRUPT);
	test_log("detected: %s", why);
	*sec_at(f, x + 512 * KiB) = BUDDY_SEC_FULL;
	heap_ok(t, &f->b);
	fix_free(f);
}

static void buddy_head_only(struct test *t)
{
	head_only_run(t, BUDDY_TAG_HEAD | 6);			/* stale "allocated 64-byte head" */
	head_only_run(t, BUDDY_TAG_HEAD | BUDDY_TAG_FREE | 6);	/* stale "free 64-byte head" */
	head_only_run(t, 0xa5);
}

static void buddy_meta_in_span(struct test *t)
{
	struct model m;
	uint64_t seed = 99, want[NORD];
	struct fix *f;
	uintptr_t x;
	size_t meta;
	int i;

	f = fix_new(t, 8 * MiB, 1 * MiB, 0, 0, 0);
	if (!f)
		return;
	x = (uintptr_t)f->mem;
	/* start over with the metadata in the first bytes of the span itself */
	meta = buddy_meta_size(x, x + 8 * MiB);
	memset(f->mem, 0xa5, meta);
	ASSERT_OK(t, buddy_init(&f->b, x, x + 8 * MiB, f->mem, meta));
	fix_add(t, f, x + meta, x + 8 * MiB);
	model_init(&m, f);
	ref_carve(f, want);
	ASSERT_TRUE(t, nfree_eq(t, &f->b, want));
	ASSERT_TRUE(t, model_ok(t, f, &m));
	for (i = 0; i < 2000; i++) {
		if (m.n && test_rand(&seed) % 2)
			model_free(t, f, &m, (size_t)(test_rand(&seed) % m.n));
		else
			model_alloc(t, f, &m, rnd_size(&seed));
		if (!model_ok(t, f, &m))
			break;
	}
	bad_free(t, &f->b, x, ERR_INTERIOR);
	bad_free(t, &f->b, x + 4096, ERR_INTERIOR);
	model_release(t, f, &m, &seed);
	model_ok(t, f, &m);
	nfree_eq(t, &f->b, want);
	model_free_all(&m);
	fix_free(f);
}

/* buddy_check() itself: each kind of damage is reported, and undoing it makes the heap clean again. */
static void buddy_check_detects(struct test *t)
{
	char why[200];
	struct buddy_node *n, *saved;
	uint8_t *tag, old;
	void *p = NULL, *q = NULL;
	struct fix *f;
	uint64_t cnt;

	f = fix_new(t, 1 * MiB, 1 * MiB, 0, 0, 0);
	if (!f)
		return;
	fix_add(t, f, f->lo, f->hi);
	ASSERT_OK(t, buddy_alloc(&f->b, 64, &p));
	ASSERT_OK(t, buddy_alloc(&f->b, 4096, &q));
	ASSERT_TRUE(t, heap_ok(t, &f->b));

	/* a free head marked allocated */
	n = f->b.area[6].list.next;
	tag = f->b.tags + (((uintptr_t)n - f->b.org) >> 6);
	old = *tag;
	*tag = old & ~0x40;
	EXPECT_ERR(t, buddy_check(&f->b, why, sizeof(why)), ERR_CORRUPT);
	test_log("detected: %s", why);
	*tag = old;
	/* a count off by one */
	cnt = f->b.area[12].nfree++;
	EXPECT_ERR(t, buddy_check(&f->b, why, sizeof(why)), ERR_CORRUPT);
	test_log("detected: %s", why);
	f->b.area[12].nfree = cnt;
	/* a broken back link */
	n = f->b.area[7].list.next;
	saved = n->prev;
	n->prev = n;
	EXPECT_ERR(t, buddy_check(&f->b, why, sizeof(why)), ERR_CORRUPT);
	test_log("detected: %s", why);
	n->prev = saved;
	/* a head inside an allocated block (overlap) */
	tag = f->b.tags + (((uintptr_t)q + 1024 - f->b.org) >> 6);
	*tag = 0x80 | 6;
	EXPECT_ERR(t, buddy_check(&f->b, why, sizeof(why)), ERR_CORRUPT);
	test_log("detected: %s", why);
	*tag = 0;
	/* an allocated block that lost its head: used bytes no longer add up */
	tag = f->b.tags + (((uintptr_t)q - f->b.org) >> 6);
	old = *tag;
	*tag = 0;
	EXPECT_ERR(t, buddy_check(&f->b, why, sizeof(why)), ERR_CORRUPT);
	test_log("detected: %s", why);
	*tag = old;
	/* a short message buffer is still terminated */
	f->b.area[12].nfree++;
	EXPECT_ERR(t, buddy_check(&f->b, why, 8), ERR_CORRUPT);
	EXPECT_EQ(t, strlen(why), 7);
	f->b.area[12].nfree = cnt;
	EXPECT_OK(t, buddy_check(&f->b, why, sizeof(why)));
	EXPECT_TRUE(t, !strcmp(why, "ok"));
	EXPECT_OK(t, buddy_free(&f->b, p));
	EXPECT_OK(t, buddy_free(&f->b, q));
	heap_ok(t, &f->b);
	fix_free(f);
}

/* buddy_order() against the definition, at and around every power of two (its table and its 6-bit steps) */
static void buddy_order_rounding(struct test *t)
{
	unsigned k, bad = 0;
	int d;

	for (k = 0; k <= BUDDY_MAX_ORDER; k++)
		for (d = -1; d <= 1; d++) {
			uint64_t size = ((uint64_t)1 << k) + (uint64_t)(int64_t)d;
			unsigned long want = BUDDY_MIN_ORDER;

			if (!size || size > ((uint64_t)1 << BUDDY_MAX_ORDER))
				continue;
			while (((uint64_t)1 << want) < size)
				want++;
			if (buddy_order(size) != want && bad++ < 4)
				test_log("buddy_order(%llu) = %lu, not %lu", (unsigned long long)size, buddy_order(size),
					 want);
		}
	EXPECT_EQ(t, bad, 0);
}

TEST_SUITE(buddy,
	   TEST_CASE(buddy_order_rounding),
	   TEST_CASE(buddy_below_limit),
	   TEST_CASE(buddy_init_errors),
	   TEST_CASE(buddy_random_seed1),
	   TEST_CASE(buddy_random_seed2),
	   TEST_CASE(buddy_random_seed3),
	   TEST_CASE(buddy_random_stale_heads),
	   TEST_CASE(buddy_bad_frees),
	   TEST_CASE(buddy_all_sizes),
	   TEST_CASE(buddy_odd_ranges),
	   TEST_CASE(buddy_exhaustion),
	   TEST_CASE(buddy_trim_every_keep),
	   TEST_CASE(buddy_add_range_errors),
	   TEST_CASE(buddy_lazy_sections), TEST_CASE(buddy_zeroed_meta),
	   TEST_CASE(buddy_head_only),
	   TEST_CASE(buddy_meta_in_span),
	   TEST_CASE(buddy_check_detects));
