/* mem_cases.c - mem_alloc() case bodies and helpers built into both the host tests and the kernel. */
#include <stdint.h>
#include <string.h>

#include "mm/cpu.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/mem_internal.h"
#include "mm/slab.h"
#include "tests/common/mem_cases.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIG_REQ ((size_t)64 << 10)	/* above the slab layer's 4 KiB: a heap block */

/* ---- heap byte accounting ---- */

void tc_heaps_snapshot(uint64_t *fb)
{
	unsigned c;

	for (c = 0; c < heap_count(); c++)
		fb[c] = heap_free_bytes(c);
}

void tc_expect_heaps_back(struct test *t, const uint64_t *before)
{
	unsigned c;

	for (c = 0; c < heap_count(); c++) {
		uint64_t now = heap_free_bytes(c);
		char why[120] = "";
		error_t e;

		if (now != before[c])
			test_log("cluster %u: free 0x%llx, was 0x%llx", c, (unsigned long long)now,
				 (unsigned long long)before[c]);
		EXPECT_EQ(t, now, before[c]);
		e = heap_check(heap_of(c), why, sizeof(why));
		if (e)
			test_log("cluster %u: heap_check: %s", c, why);
		EXPECT_OK(t, e);
	}
}

/* ---- kept blocks ---- */

void tc_blk_push(struct tc_blk **list, void *p)
{
	struct tc_blk *b = p;

	b->next = *list;
	*list = b;
}

unsigned tc_blk_free_all(struct tc_blk **list)
{
	unsigned bad = 0;

	while (*list) {
		struct tc_blk *b = *list;

		*list = b->next;
		bad += mem_free_checked(b) != 0;
	}
	return bad;
}

/* ---- exhausting heaps ---- */

static unsigned log2_floor(uint64_t v)
{
	return 63 - (unsigned)__builtin_clzll(v);
}

error_t tc_exhaust_strict(unsigned c, struct tc_blk **list, unsigned *count)
{
	struct mem_proximity_s *sp = mem_prox_strict(c);
	error_t ret = ERR_EXHAUSTED;
	int k;

	for (k = (int)log2_floor(heap_of(c)->size); k >= 6; k--) {
		void *p;
		error_t e;

		while (!(e = mem_alloc(tc_req_for_order((unsigned)k), sp, MEM_VALID_SYS, &p))) {
			tc_blk_push(list, p);
			if (count)
				(*count)++;
		}
		if (e != ERR_EXHAUSTED && ret == ERR_EXHAUSTED)
			ret = e;
	}
	return ret;
}

unsigned tc_mem_exhaust_all(struct test *t, struct tc_blk **list)
{
	void *const sentinel = (void *)0x5a5a5a40;
	uint64_t biggest = 0;
	unsigned c, n = 0;
	void *p = sentinel;
	error_t e = 0;
	int k;

	for (c = 0; c < heap_count(); c++)
		if (heap_of(c)->size > biggest)
			biggest = heap_of(c)->size;
	if (!biggest) {
		test_fail(t, __FILE__, __LINE__, "no heap has memory");
		return 0;
	}
	/* big blocks first, then every smaller order: the default proximity walks every cluster */
	for (k = (int)log2_floor(biggest); k >= 6; k--) {
		while (!(e = mem_alloc(tc_req_for_order((unsigned)k), NULL, MEM_VALID_SYS, &p))) {
			tc_blk_push(list, p);
			n++;
		}
		if (e != ERR_NOMEM)
			break;
	}
	EXPECT_ERR(t, e, ERR_NOMEM);
	EXPECT_GT(t, n, 0);
	p = sentinel;
	for (c = 0; c < heap_count(); c++) {
		if (!heap_of(c)->size)
			continue;
		EXPECT_EQ(t, heap_free_bytes(c), 0);
		EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(c), MEM_VALID_SYS, &p), ERR_EXHAUSTED);
		EXPECT_ERR(t, mem_alloc(64, mem_prox_cluster(c), MEM_VALID_SYS, &p), ERR_NOMEM);
	}
	EXPECT_ERR(t, mem_alloc(64, mem_prox_global(), MEM_VALID_SYS, &p), ERR_NOMEM);
	EXPECT_ERR(t, mem_alloc(64, NULL, MEM_VALID_SYS, &p), ERR_NOMEM);
	EXPECT_TRUE(t, p == sentinel);
	return n;
}

/* ---- argument errors ---- */

void tc_mem_args(struct test *t, unsigned cluster)
{
	void *const sentinel = (void *)0x5a5a5a40;
	struct mem_proximity_s *px[] = { NULL, mem_prox_global(), mem_prox_cluster(cluster),
					  mem_prox_strict(cluster) };
	struct mem_receipt r;
	void *p = sentinel;
	uint64_t biggest = 0;
	unsigned i, c;
	size_t sz;

	for (i = 0; i < ARRAY_SIZE(px); i++) {
		EXPECT_ERR(t, mem_alloc(0, px[i], MEM_VALID_SYS, &p), ERR_SIZE);
		EXPECT_ERR(t, mem_alloc(MEM_MAX_SIZE + 1, px[i], MEM_VALID_SYS, &p), ERR_SIZE);
		EXPECT_ERR(t, mem_alloc(SIZE_MAX, px[i], MEM_VALID_SYS, &p), ERR_SIZE);
		EXPECT_ERR(t, mem_alloc(SIZE_MAX, px[i], MEM_VALID_DMA, &p), ERR_SIZE);
		EXPECT_ERR(t, mem_alloc(64, px[i], (enum mem_reachability_s)17, &p), ERR_REACH);
		EXPECT_ERR(t, mem_alloc(64, px[i], MEM_VALID_COUNT_, &p), ERR_REACH);
		EXPECT_ERR(t, mem_alloc(64, px[i], (enum mem_reachability_s)-1, &p), ERR_REACH);
		EXPECT_ERR(t, mem_alloc(64, px[i], MEM_VALID_SYS, NULL), ERR_INVAL);
		EXPECT_ERR(t, mem_alloc(0, px[i], MEM_VALID_SYS, NULL), ERR_INVAL);
		EXPECT_ERR(t, mem_alloc_receipt(0, px[i], MEM_VALID_SYS, &p, &r), ERR_SIZE);
		EXPECT_ERR(t, mem_alloc_receipt(64, px[i], (enum mem_reachability_s)17, &p, &r), ERR_REACH);
		EXPECT_ERR(t, mem_alloc_receipt(64, px[i], MEM_VALID_SYS, NULL, &r), ERR_INVAL);
		EXPECT_ERR(t, mem_alloc_receipt(64, px[i], MEM_VALID_CPU, NULL, NULL), ERR_INVAL);
		EXPECT_ERR(t, mem_alloc_receipt(MEM_MAX_SIZE + 1, px[i], MEM_VALID_SYS, &p, NULL), ERR_SIZE);
	}
	/* valid but larger than any heap: nothing has room (not ERR_SIZE: the size is not absurd) */
	for (c = 0; c < heap_count(); c++)
		if (heap_of(c)->size > biggest)
			biggest = heap_of(c)->size;
	EXPECT_ERR(t, mem_alloc(biggest + 1, NULL, MEM_VALID_SYS, &p), ERR_NOMEM);
	EXPECT_ERR(t, mem_alloc(biggest + 1, mem_prox_global(), MEM_VALID_SYS, &p), ERR_NOMEM);
#if !MM_DEBUG
	/* (the debug allocator's trailer holds 32-bit sizes: it answers ERR_SIZE above 4 GiB) */
	EXPECT_ERR(t, mem_alloc(MEM_MAX_SIZE, NULL, MEM_VALID_SYS, &p), ERR_NOMEM);
	EXPECT_ERR(t, mem_alloc((size_t)1 << 39, mem_prox_global(), MEM_VALID_SYS, &p), ERR_NOMEM);
#endif
	EXPECT_TRUE(t, p == sentinel);
	EXPECT_ERR(t, mem_getsize(sentinel, NULL), ERR_INVAL);
	EXPECT_ERR(t, mem_getsize((void *)0x1000, &sz), ERR_NOTOWNED);
}

/* ---- refused frees of the hart's own blocks ---- */

/* a SYS block of @size through the default proximity; a failure is a failed check */
static bool take(struct test *t, size_t size, void **p)
{
	error_t e = mem_alloc(size, NULL, MEM_VALID_SYS, p);

	if (e)
		test_fail(t, __FILE__, __LINE__, "mem_alloc(%zu) returned %s", size, err_str(e));
	return !e;
}

static unsigned checked_frees_local(struct test *t);

/*
 * The cases name slab blocks and heap blocks by the sizes they ask: refill faults (bootarg refill_fail=,
 * the faults topology) would serve some of those from the heap instead, at random, so they are off here.
 */
unsigned tc_mem_checked_frees_local(struct test *t)
{
	unsigned permille = mem_get_refill_faults(), refused;

	mem_set_refill_faults(0);
	refused = checked_frees_local(t);
	mem_set_refill_faults(permille);
	return refused;
}

static unsigned checked_frees_local(struct test *t)
{
	struct mm_cpu *mc = mm_cpu_self();
	unsigned refused = 0;
	struct slab *sl;
	void *p, *q, *s;
	size_t bs;

	EXPECT_OK(t, mem_free_checked(NULL));
	mem_free(NULL);

	/*
	 * A small block of the home heap: its free puts it back on its slab's free list; a second free is
	 * refused, checked or not (the inline mem_free() sees the block's marker), and changes nothing.
	 */
	if (!mc->home) {
		test_fail(t, __FILE__, __LINE__, "the calling hart has no home heap");
		return 0;
	}
	if (!take(t, 64, &p))
		return 0;
	EXPECT_TRUE(t, heap_owner(p) == mc->home);
	EXPECT_OK(t, mem_getsize(p, &bs));
	EXPECT_EQ(t, bs, 64);
	/* (the debug allocator asks for 24 bytes more: another class) */
	sl = mc->slab.cur[slab_size_class(MM_DEBUG ? 64 + MEM_DBG_GUARD + MEM_DBG_TRAILER : 64)];
	EXPECT_OK(t, mem_free_checked(p));
	EXPECT_TRUE(t, sl->free == p);
	EXPECT_ERR(t, mem_free_checked(p), ERR_DOUBLEFREE);
	mem_free(p);
	EXPECT_TRUE(t, sl->free == p && ((struct slab_blk *)p)->next != p);
	EXPECT_ERR(t, mem_getsize(p, &bs), ERR_DOUBLEFREE);
	refused += 2;
	/* the slab hands the same block out again (LIFO) and it frees normally */
	if (take(t, 64, &q)) {
		EXPECT_TRUE(t, q == p);
		EXPECT_OK(t, mem_free_checked(q));
	}
	/* a block of a class between powers of two: interior, misaligned, double */
	if (take(t, 100, &q)) {
		EXPECT_OK(t, mem_getsize(q, &bs));
		EXPECT_EQ(t, bs, MM_DEBUG ? 100 : 112);	/* the debug allocator answers the requested size */
		EXPECT_ERR(t, mem_free_checked((char *)q + 16), ERR_INTERIOR);
		EXPECT_ERR(t, mem_free_checked((char *)q + 8), ERR_MISALIGNED);
		EXPECT_OK(t, mem_free_checked(q));
		EXPECT_ERR(t, mem_free_checked(q), ERR_DOUBLEFREE);
		refused += 3;
	}

	/* interior and misaligned addresses of a cached-size block and of a large block */
	if (take(t, 4096, &q)) {
		EXPECT_ERR(t, mem_free_checked((char *)q + 64), ERR_INTERIOR);
		EXPECT_ERR(t, mem_free_checked((char *)q + 4032), ERR_INTERIOR);
		EXPECT_ERR(t, mem_free_checked((char *)q + 8), ERR_MISALIGNED);
		EXPECT_ERR(t, mem_free_checked((char *)q + 1), ERR_MISALIGNED);
		EXPECT_OK(t, mem_free_checked(q));
		refused += 4;
	}
	if (take(t, BIG_REQ, &s)) {
		EXPECT_ERR(t, mem_free_checked((char *)s + 4096), ERR_INTERIOR);
		EXPECT_ERR(t, mem_free_checked((char *)s + BIG_REQ - 64), ERR_INTERIOR);
		EXPECT_ERR(t, mem_free_checked((char *)s + 16), ERR_MISALIGNED);
		EXPECT_OK(t, mem_free_checked(s));
		EXPECT_ERR(t, mem_free_checked(s), ERR_DOUBLEFREE);
		refused += 4;
	}
	/* nobody's memory: no heap counts it */
	EXPECT_ERR(t, mem_free_checked((void *)0x1000), ERR_NOTOWNED);
	return refused;
}

/* ---- a memoryless cluster's strict proximity ---- */

void tc_mem_memoryless_strict(struct test *t, unsigned c)
{
	void *const sentinel = (void *)0x5a5a5a40;
	enum mem_reachability_s v[] = { MEM_VALID_SYS, MEM_VALID_DMA, MEM_VALID_CLUSTER, MEM_VALID_CPU };
	struct mem_cluster_stats s0, s1;
	void *p = sentinel;
	unsigned i;

	mem_cluster_get_stats(c, &s0);
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(c), v[i], &p), ERR_NOHEAP);
		EXPECT_ERR(t, mem_alloc(BIG_REQ, mem_prox_strict(c), v[i], &p), ERR_NOHEAP);
	}
	EXPECT_ERR(t, heap_alloc(c, 64, &p), ERR_NOHEAP);
	EXPECT_TRUE(t, p == sentinel);
	mem_cluster_get_stats(c, &s1);
	EXPECT_EQ(t, s1.failures, s0.failures + 2 * ARRAY_SIZE(v));
}

/* ---- a full heap, and remote frees for many owners ---- */

unsigned tc_fill_strict(unsigned c, struct tc_blk **list)
{
	unsigned n = 0;
	int k;

	for (k = 63 - __builtin_clzll(heap_of(c)->size); k >= 6; k--) {
		void *p;

		while (!mem_alloc(((size_t)1 << k) - 16, mem_prox_strict(c), MEM_VALID_SYS, &p)) {
			tc_blk_push(list, p);
			n++;
		}
	}
	return n;
}

#define TC_REMOTE_PER_OWNER_MAX 4

unsigned tc_mem_remote_slots(struct test *t, unsigned per_owner, unsigned *most)
{
	static void *blk[TOPO_MAX_CLUSTERS][TC_REMOTE_PER_OWNER_MAX];
	static uint8_t freed[TOPO_MAX_CLUSTERS];	/* an owner whose first block was freed */
	struct mm_cpu *mc = mm_cpu_self();
	int home = mem_prox_home(mc->cluster);
	unsigned c, k, owners = 0;

	*most = 0;
	if (per_owner > TC_REMOTE_PER_OWNER_MAX)
		per_owner = TC_REMOTE_PER_OWNER_MAX;
	memset(freed, 0, sizeof(freed));
	for (c = 0; c < heap_count(); c++)
		for (k = 0; k < per_owner; k++) {
			blk[c][k] = NULL;
			if (heap_of(c)->size && (int)c != home &&
			    mem_alloc((size_t)64 << k, mem_prox_strict(c), MEM_VALID_SYS, &blk[c][k]))
				blk[c][k] = NULL;
		}
	for (k = 0; k < per_owner; k++)
		for (c = 0; c < heap_count(); c++)
			if (blk[c][k]) {
				unsigned open, i, slots = 0;

				EXPECT_OK(t, mem_free_checked(blk[c][k]));
				EXPECT_ERR(t, mem_free_checked(blk[c][k]), ERR_DOUBLEFREE);
				open = mem_remote_open(mc);
				*most = open > *most ? open : *most;
				owners += !freed[c];
				freed[c] = 1;
				/* no batch fills: a slot empties only for a new owner */
				for (i = 0; i < MM_REMOTE_SLOTS; i++)
					slots += mc->remote[i].count > 0;
				EXPECT_EQ(t, slots, owners < MM_REMOTE_SLOTS ? owners : MM_REMOTE_SLOTS);
			}
	if (owners)
		EXPECT_GT(t, *most, 0);
	EXPECT_LE(t, *most, MM_REMOTE_SLOTS * 8);
	mem_drain();
	EXPECT_EQ(t, mem_remote_open(mc), 0);
	return owners;
}

/* ---- stress ---- */

#define TC_STRESS_MAGIC 0x53ull
#define TC_STRESS_CHECK_EVERY 256	/* operations between two slab_check()s of the hart's own slabs */

struct tc_stress_res tc_stress_res[MM_MAX_HARTS];
static void *tc_mbox[MM_MAX_HARTS][TC_STRESS_SLOTS];

struct tc_sblock {
	void *p;
	size_t size;
	uint32_t seq;		/* odd: a SYS or DMA block, which any hart may free */
};

void tc_stress_reset(void)
{
	memset(tc_stress_res, 0, sizeof(tc_stress_res));
	memset(tc_mbox, 0, sizeof(tc_mbox));
}

static uint8_t fill_byte(unsigned owner, uint32_t seq)
{
	return (uint8_t)(seq * 31u + owner * 7u + 1u);
}

static void stamp(void *p, size_t size, unsigned owner, uint32_t seq)
{
	uint64_t *w = p;

	w[0] = TC_STRESS_MAGIC << 56 | (uint64_t)owner << 32 | seq;
	w[1] = size;
	memset((char *)p + 16, fill_byte(owner, seq), size - 16);
}

/* the block is intact: header, size and every fill byte (owner/seq come from the header when unknown) */
static bool intact(const void *p, size_t size)
{
	const uint64_t *w = p;
	const uint8_t *b = p;
	unsigned owner;
	uint64_t pat;
	size_t i, n;
	uint8_t f;

	if (w[0] >> 56 != TC_STRESS_MAGIC || (size && w[1] != size) || w[1] < 16 || w[1] > TC_STRESS_MAX_BLOCK)
		return false;
	owner = (unsigned)(w[0] >> 32) & 0xffffff;
	if (owner >= MM_MAX_HARTS)
		return false;
	f = fill_byte(owner, (uint32_t)w[0]);
	pat = f * 0x0101010101010101ull;
	/* a word at a time (blocks are at least 16-byte aligned), then the tail bytes */
	n = w[1];
	for (i = 2; i < n / 8; i++)
		if (w[i] != pat)
			return false;
	for (i = n & ~(size_t)7; i < n; i++)
		if (b[i] != f)
			return false;
	return true;
}

static void checked_free(struct tc_stress_res *s, void *p, size_t size)
{
	error_t e;

	if (!intact(p, size))
		s->pattern_bad++;
	/* a freed block must not look like a live one to the next checker */
	((uint64_t *)p)[0] = 0;
	e = mem_free_checked(p);
	if (e) {
		s->free_fail++;
		if (!s->first_err)
			s->first_err = e;
	} else {
		s->frees++;
	}
}

uint64_t tc_stress_poll(unsigned me, struct tc_stress_res *res)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < TC_STRESS_SLOTS; i++) {
		/* acquire: pairs with the sender's release; the block's contents are visible */
		void *p = __atomic_exchange_n(&tc_mbox[me][i], NULL, __ATOMIC_ACQUIRE);

		if (p) {
			n++;
			checked_free(res, p, 0);
		}
	}
	return n;
}

static bool hart_up(const struct tc_stress_env *env, unsigned i)
{
	return i < env->nharts && (!env->hart_up || env->hart_up(i));
}

/* give @p to another hart that is up (its mailbox); false if four tries found no free slot */
static bool hand_over(const struct tc_stress_env *env, unsigned me, uint64_t *seed, void *p)
{
	unsigned tries, i;

	for (tries = 0; tries < 4; tries++) {
		unsigned to = (unsigned)(test_rand(seed) % env->nharts);

		if (to == me || !hart_up(env, to))
			continue;
		for (i = 0; i < TC_STRESS_SLOTS; i++) {
			void *expected = NULL;

			/* release: the stamp is written before the receiver can see the pointer */
			if (__atomic_compare_exchange_n(&tc_mbox[to][i], &expected, p, false, __ATOMIC_RELEASE,
							__ATOMIC_RELAXED))
				return true;
		}
	}
	return false;
}

/* mostly small: 85% 16..511 B, 10% up to 4 KiB (still a size class), 5% up to 16 KiB (the heap lock) */
static size_t stress_size(uint64_t *seed)
{
	uint64_t r = test_rand(seed), k = r % 100;

	if (k < 85)
		return 16 + (r >> 8) % (512 - 16);
	if (k < 95)
		return 512 + (r >> 8) % (4096 - 512 + 1);
	return 4096 + (r >> 8) % (TC_STRESS_MAX_BLOCK - 4096 + 1);
}

void tc_stress_run(const struct tc_stress_env *env, unsigned me, uint64_t seed)
{
	struct tc_stress_res *s = &tc_stress_res[me];
	struct tc_sblock live[TC_STRESS_LIVE];
	unsigned nlive = 0, op, i;
	uint64_t t0 = mm_clock(), t1;

	s->ran++;
	for (op = 0; op < env->ops; op++) {
		uint64_t r = test_rand(&seed);

		if (op % TC_STRESS_CHECK_EVERY == 0 && slab_check(&mm_cpu_self()->slab, NULL, 0))
			s->slab_bad++;
		s->received += tc_stress_poll(me, s);
		if (nlive && (nlive == TC_STRESS_LIVE || r % 100 < 45)) {
			unsigned k = (unsigned)((r >> 8) % nlive);
			struct tc_sblock b = live[k];

			live[k] = live[--nlive];
			/* SYS/DMA blocks (odd seq) may be freed by another hart */
			if ((b.seq & 1) && (r >> 20) % 3 == 0) {
				if (!intact(b.p, b.size))
					s->pattern_bad++;
				if (hand_over(env, me, &seed, b.p)) {
					s->handed++;
					continue;
				}
			}
			checked_free(s, b.p, b.size);
		} else {
			size_t size = stress_size(&seed);
			unsigned pv = (unsigned)((r >> 12) % 10), pp = (unsigned)((r >> 20) % 20);
			enum mem_reachability_s v = pv < 6 ? MEM_VALID_SYS : pv < 8 ? MEM_VALID_CLUSTER :
						    pv == 8 ? MEM_VALID_CPU : env->dma ? MEM_VALID_DMA : MEM_VALID_SYS;
			/* 70% the default proximity, 15% a random cluster's, 15% the global one */
			struct mem_proximity_s *px = pp < 14 ? NULL : pp < 17 ?
				mem_prox_cluster((unsigned)((r >> 28) % env->nclusters)) : mem_prox_global();
			void *p;
			error_t e = mem_alloc(size, px, v, &p);
			uint32_t seq = ((uint32_t)op << 1) | (v == MEM_VALID_SYS || v == MEM_VALID_DMA);

			if (e) {
				s->alloc_fail++;
				if (!s->first_err)
					s->first_err = e;
				continue;
			}
			s->allocs++;
			if (v == MEM_VALID_DMA && !mem_is_dma(p, size))
				s->reach_bad++;
			/* private scratch memory serves CLUSTER and CPU requests only */
			if ((seq & 1) && env->in_private && env->in_private(p))
				s->reach_bad++;
			stamp(p, size, me, seq);
			live[nlive++] = (struct tc_sblock){ p, size, seq };
		}
	}
	t1 = mm_clock();
	s->t_ops = t1 - t0;
	s->received += tc_stress_poll(me, s);
	for (i = 0; i < nlive; i++)
		checked_free(s, live[i].p, live[i].size);
	s->t_end = mm_clock() - t1;
}

void tc_stress_expect(struct test *t, const struct tc_stress_env *env, const struct tc_stress_res *late,
		      uint64_t leftover, struct tc_stress_res *sum)
{
	unsigned i;

	memset(sum, 0, sizeof(*sum));
	EXPECT_EQ(t, late->pattern_bad, 0);
	EXPECT_EQ(t, late->free_fail, 0);
	for (i = 0; i < env->nharts; i++) {
		const struct tc_stress_res *s = &tc_stress_res[i];

		if (!hart_up(env, i))
			continue;
		EXPECT_EQ(t, s->ran, 1);
		if (s->alloc_fail || s->free_fail || s->pattern_bad || s->reach_bad || s->slab_bad)
			test_log("hart index %u: alloc_fail %llu free_fail %llu pattern_bad %llu reach_bad %llu "
				 "slab_bad %llu (first error %s)", i, (unsigned long long)s->alloc_fail,
				 (unsigned long long)s->free_fail, (unsigned long long)s->pattern_bad,
				 (unsigned long long)s->reach_bad, (unsigned long long)s->slab_bad,
				 err_str(s->first_err));
		EXPECT_EQ(t, s->alloc_fail, 0);
		EXPECT_EQ(t, s->free_fail, 0);
		EXPECT_EQ(t, s->pattern_bad, 0);
		EXPECT_EQ(t, s->reach_bad, 0);
		EXPECT_EQ(t, s->slab_bad, 0);
		sum->ran += s->ran;
		sum->allocs += s->allocs;
		sum->frees += s->frees;
		sum->handed += s->handed;
		sum->received += s->received;
		if (s->t_ops > sum->t_ops)
			sum->t_ops = s->t_ops;
		if (s->t_end > sum->t_end)
			sum->t_end = s->t_end;
	}
	EXPECT_GT(t, sum->allocs, 0);	/* else the two balances below hold of a run that did nothing */
	EXPECT_EQ(t, sum->allocs, sum->frees + late->frees);
	EXPECT_EQ(t, sum->handed, sum->received + leftover);
	if (sum->ran > 1)
		EXPECT_GT(t, sum->handed, 0);
}
