/* test_mem.c - mem_alloc() on the host: a simulated NUMA machine made of aligned arenas, checked per case. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mm/cma.h"
#include "mm/cpu.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/page_pool.h"
#include "mm/slab.h"
#include "tests/host/host.h"
#include "tests/common/mem_cases.h"
#include "tests/test.h"

/*
 * The machine: 4 clusters on a 2x2 mesh, 2 harts each (hart h in cluster h / 2). Clusters 0-2 own a
 * 4 MiB arena aligned to 4 MiB (aligned_alloc: their order in the address space is whatever malloc gives);
 * cluster 3 is memoryless. The distance map is deliberately asymmetric (row = from):
 *
 *	from\to   0    1    2    3      preference orders (clusters with memory)
 *	   0     10   20   30   40      0: 0, 1, 2
 *	   1     30   10   20   20      1: 1, 2, 0
 *	   2     20   40   10   30      2: 2, 0, 1
 *	   3     20   30   20   10      3: {0, 2} (equal: most free first), 1
 *
 * Private regions (when asked for) live in a separate arena outside every heap: a cluster-private region
 * of cluster 1 and a cpu-private region of hart 3 (in cluster 1).
 *
 * heap_init_all() and mem_init() keep global state, so every case starts with sim_init(). The calling
 * (main) thread is hart 0. Other harts are threads (run_harts()); their mm state lives in thread-local
 * storage, so a thread drains its caches before it ends and no case reads mem_cluster_get_stats() after
 * a thread has ended (mem.c still points at the dead thread's state until the next mem_init()).
 */
#define ARENA_SIZE ((size_t)4 << 20)
#define NCL 4
#define NMEM 3
#define NHARTS 8
#define PRIV_SIZE ((size_t)256 << 10)
#define PRIV_CLUSTER 1
#define PRIV_HART 3
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIG_REQ ((size_t)64 << 10)

static const uint8_t dist_map[NCL][NCL] = {
	{ 10, 20, 30, 40 },
	{ 30, 10, 20, 20 },
	{ 20, 40, 10, 30 },
	{ 20, 30, 20, 10 },
};
static const unsigned want_order[NCL][NMEM] = { { 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 0, 2, 1 } };

static void *arena[NMEM];
static void *priv_arena;
static struct topo sim;
static uint64_t sim_dma;

static unsigned hart_cluster(unsigned h)
{
	return h / 2;
}

static bool has_mem(unsigned c)
{
	return c < NMEM;
}

static bool in_arena(unsigned c, const void *p, size_t size)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)arena[c];

	return c < NMEM && a >= b && a - b <= ARENA_SIZE && size <= ARENA_SIZE - (a - b);
}

static bool in_priv(const void *p)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)priv_arena;

	return a >= b && a < b + PRIV_SIZE;
}

/* the cluster whose arena holds @p, or NCL */
static unsigned cluster_of(const void *p)
{
	unsigned c;

	for (c = 0; c < NMEM; c++)
		if (in_arena(c, p, 1))
			return c;
	return NCL;
}

static bool is_region(const struct mem_receipt *r, const char *name)
{
	return r->region && !strcmp(r->region, name);
}

/* the lowest arena's end: clusters in it are DMA-capable, every other one lies above the limit */
static uint64_t low_arena_end(unsigned *which)
{
	unsigned c, lo = 0;

	for (c = 1; c < NMEM; c++)
		if ((uintptr_t)arena[c] < (uintptr_t)arena[lo])
			lo = c;
	if (which)
		*which = lo;
	return (uint64_t)(uintptr_t)arena[lo] + ARENA_SIZE;
}

/* the calling thread becomes hart @h with fresh (empty) caches */
static void become(unsigned h)
{
	host_set_self(h);
	mem_cpu_init(mm_cpu_self(), h, hart_cluster(h));
}

static bool sim_priv_pages;	/* sim_init()'s private regions: page_pool-backed */

static int sim_init(uint64_t dma_limit, bool with_private)
{
	unsigned c, i;

	for (c = 0; c < NMEM; c++)
		if (!arena[c] && !(arena[c] = aligned_alloc(ARENA_SIZE, ARENA_SIZE)))
			return -1;
	if (!priv_arena && !(priv_arena = aligned_alloc(4096, PRIV_SIZE)))
		return -1;
	memset(&sim, 0, sizeof(sim));
	sim.nclusters = NCL;
	sim.mesh_x = 2;
	sim.mesh_y = 2;
	sim.nharts = NHARTS;
	sim.has_distance_map = 1;
	for (c = 0; c < NCL; c++) {
		struct topo_cluster *tc = &sim.cluster[c];

		tc->id = c;
		tc->x = c % 2;
		tc->y = c / 2;
		tc->mem.base = has_mem(c) ? (uint64_t)(uintptr_t)arena[c] : 0;
		tc->mem.size = has_mem(c) ? ARENA_SIZE : 0;
		tc->nharts = 2;
		tc->hart_lo = 2 * c;
		tc->hart_hi = 2 * c + 1;
		memcpy(tc->dist, dist_map[c], NCL);
	}
	for (i = 0; i < NHARTS; i++)
		sim.hart[i] = (struct topo_hart){ i, hart_cluster(i) };
	/* no CMA region "default" left over from another suite: large DMA requests would go there */
	cma_reset();
	if (heap_init_all(&sim, NULL, 0, 0))
		return -1;
	sim_dma = dma_limit;
	if (mem_init(&sim, dma_limit))
		return -1;
	if (with_private) {
		uintptr_t b = (uintptr_t)priv_arena;

		if (mem_add_private(PRIV_CLUSTER, -1, b, PRIV_SIZE / 2, sim_priv_pages) ||
		    mem_add_private(PRIV_CLUSTER, PRIV_HART, b + PRIV_SIZE / 2, PRIV_SIZE / 2, sim_priv_pages))
			return -1;
	}
	become(0);
	return 0;
}

/* ---- harts as threads ---- */

struct hart_res {
	unsigned bad, line;
	uint64_t a, b;
};

#define HCHECK(r, cond, va, vb)                                                                     \
	do {                                                                                        \
		if (!(cond) && !(r)->bad++) {                                                       \
			(r)->line = __LINE__;                                                       \
			(r)->a = (uint64_t)(va);                                                    \
			(r)->b = (uint64_t)(vb);                                                    \
		}                                                                                   \
	} while (0)

struct hart_job {
	unsigned hart;
	void (*fn)(struct hart_res *r, unsigned hart);
	struct hart_res res;
};

static pthread_barrier_t job_bar;

/* a hart thread: its job, then two drains apart (remote frees sent, then received) before it ends */
static void *hart_thread(void *p)
{
	struct hart_job *j = p;

	become(j->hart);
	j->fn(&j->res, j->hart);
	mem_drain();
	pthread_barrier_wait(&job_bar);
	mem_drain();
	pthread_barrier_wait(&job_bar);
	return NULL;
}

/* run fn on harts [first, NHARTS) at once, each in its own thread, then check their verdicts */
static void run_harts(struct test *t, const char *what, unsigned first,
		      void (*fn)(struct hart_res *r, unsigned hart))
{
	struct hart_job job[NHARTS];
	pthread_t th[NHARTS];
	unsigned h;

	/* the main thread's cache goes back first: its blocks are not the threads' business */
	mem_drain();
	ASSERT_EQ(t, pthread_barrier_init(&job_bar, NULL, NHARTS - first), 0);
	for (h = first; h < NHARTS; h++) {
		job[h] = (struct hart_job){ h, fn, { 0, 0, 0, 0 } };
		ASSERT_EQ(t, pthread_create(&th[h], NULL, hart_thread, &job[h]), 0);
	}
	for (h = first; h < NHARTS; h++)
		pthread_join(th[h], NULL);
	pthread_barrier_destroy(&job_bar);
	for (h = first; h < NHARTS; h++) {
		if (job[h].res.bad)
			test_log("%s: hart %u: %u failed checks, first at test_mem.c:%u (0x%llx, 0x%llx)", what, h,
				 job[h].res.bad, job[h].res.line, (unsigned long long)job[h].res.a,
				 (unsigned long long)job[h].res.b);
		EXPECT_EQ(t, job[h].res.bad, 0);
	}
	/* the threads' mm state is gone: point hart 0 back at the main thread */
	become(0);
}

/* ---- cases ---- */

/* the shared body (tests/common/mem_cases.c) through memoryless cluster 3's proximities, then the host's own */
static void host_mem_args(struct test *t)
{
	void *p = NULL;

	ASSERT_EQ(t, sim_init(0, false), 0);
	tc_mem_args(t, 3);
	EXPECT_ERR(t, mem_alloc(ARENA_SIZE, mem_prox_strict(0), MEM_VALID_SYS, &p), ERR_EXHAUSTED);
	EXPECT_TRUE(t, p == NULL);
	EXPECT_EQ(t, mem_dma_limit(), 0);
}

static void host_mem_orders_and_xy(struct test *t)
{
	unsigned c, i, order[TOPO_MAX_CLUSTERS];

	ASSERT_EQ(t, sim_init(0, false), 0);
	for (c = 0; c < NCL; c++) {
		EXPECT_EQ(t, mem_prox_order(c, order, TOPO_MAX_CLUSTERS), NMEM);
		for (i = 0; i < NMEM; i++)
			EXPECT_EQ(t, order[i], want_order[c][i]);
		/* the order is cut at max */
		EXPECT_EQ(t, mem_prox_order(c, order, 1), 1);
		EXPECT_TRUE(t, mem_prox_xy(c % 2, c / 2) == mem_prox_cluster(c));
		EXPECT_TRUE(t, mem_prox_strict(c) && mem_prox_strict(c) != mem_prox_cluster(c));
		EXPECT_TRUE(t, mem_prox_global() != mem_prox_cluster(c));
		EXPECT_EQ(t, heap_of(c)->size != 0, has_mem(c));
	}
	EXPECT_EQ(t, mem_prox_order(NCL, order, TOPO_MAX_CLUSTERS), 0);
	EXPECT_TRUE(t, mem_prox_xy(2, 0) == NULL);
	EXPECT_TRUE(t, mem_prox_xy(0, 2) == NULL);
	EXPECT_TRUE(t, mem_prox_xy(~0u, ~0u) == NULL);
	EXPECT_TRUE(t, mem_prox_cluster(NCL) == NULL);
	EXPECT_TRUE(t, mem_prox_strict(NCL) == NULL);
}

/* sizes up to 256 KiB: two live blocks on each of 8 harts fit in the nearest arenas */
static const size_t place_sizes[] = { 1, 16, 64, 100, 4096, 4097, 65536, 256 << 10 };

static void place_fn(struct hart_res *r, unsigned h)
{
	unsigned c = hart_cluster(h), i;

	for (i = 0; i < ARRAY_SIZE(place_sizes); i++) {
		size_t want = place_sizes[i], got = 0;
		struct mem_receipt rc;
		void *p, *q;
		error_t e = mem_alloc_receipt(want, NULL, MEM_VALID_SYS, &p, &rc);

		HCHECK(r, e == 0, e, want);
		if (e)
			continue;
		if (has_mem(c))
			HCHECK(r, rc.cluster == c, rc.cluster, want);
		else	/* cluster 3: 0 and 2 are both at 20 */
			HCHECK(r, rc.cluster == 0 || rc.cluster == 2, rc.cluster, want);
		if (rc.cached)
			HCHECK(r, rc.cluster == want_order[c][0], rc.cluster, want);
		HCHECK(r, cluster_of(p) == rc.cluster && in_arena(rc.cluster, p, want), (uintptr_t)p, rc.cluster);
		HCHECK(r, rc.rank == 0 && !rc.fallback && is_region(&rc, "heap"), rc.rank, rc.fallback);
		/* a size class (aligned to its lowest set bit) up to 4 KiB, a naturally aligned heap block above */
		HCHECK(r, mem_getsize(p, &got) == 0 && got >= want && (got <= SLAB_MAX_SIZE || !(got & (got - 1))),
		       got, want);
		HCHECK(r, got && !((uintptr_t)p & ((got & -got) - 1)), (uintptr_t)p, got);
		memset(p, 0x11, want);
		e = mem_alloc(want, NULL, MEM_VALID_SYS, &q);
		HCHECK(r, e == 0, e, want);
		if (!e) {
			HCHECK(r, has_mem(c) ? cluster_of(q) == c : cluster_of(q) == 0 || cluster_of(q) == 2,
			       (uintptr_t)q, c);
			HCHECK(r, mem_free_checked(q) == 0, (uintptr_t)q, want);
		}
		HCHECK(r, mem_free_checked(p) == 0, (uintptr_t)p, want);
	}
}

static void host_mem_placement(struct test *t)
{
	uint64_t before[NCL];

	ASSERT_EQ(t, sim_init(0, false), 0);
	tc_heaps_snapshot(before);
	run_harts(t, "placement", 0, place_fn);
	tc_expect_heaps_back(t, before);
}

/*
 * For every cluster c with memory: exhaust it strictly, then walk its proximity: each answer comes from
 * the next cluster of c's (asymmetric) order, with exactly one fallback counted out of c and into the
 * server; exhaust that one too, until ERR_NOMEM.
 */
static void host_mem_fallback_order(struct test *t)
{
	void *const sentinel = (void *)0x5a5a5a40;
	unsigned c, i;

	for (c = 0; c < NMEM; c++) {
		struct mem_cluster_stats s0, s1, v0, v1;
		struct tc_blk *list = NULL;
		uint64_t before[NCL];
		void *p = sentinel;

		ASSERT_EQ(t, sim_init(0, false), 0);
		tc_heaps_snapshot(before);
		EXPECT_ERR(t, tc_exhaust_strict(c, &list, NULL), ERR_EXHAUSTED);
		EXPECT_EQ(t, heap_free_bytes(c), 0);
		mem_cluster_get_stats(c, &s0);
		EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(c), MEM_VALID_SYS, &p), ERR_EXHAUSTED);
		EXPECT_TRUE(t, p == sentinel);
		mem_cluster_get_stats(c, &s1);
		EXPECT_EQ(t, s1.failures, s0.failures + 1);
		for (i = 1; i < NMEM; i++) {
			unsigned srv = want_order[c][i];
			struct mem_receipt rc;
			error_t e;

			mem_cluster_get_stats(c, &s0);
			mem_cluster_get_stats(srv, &v0);
			e = mem_alloc_receipt(BIG_REQ, mem_prox_cluster(c), MEM_VALID_SYS, &p, &rc);
			ASSERT_OK(t, e);
			tc_blk_push(&list, p);
			EXPECT_EQ(t, rc.cluster, srv);
			EXPECT_EQ(t, rc.rank, i);
			EXPECT_TRUE(t, rc.fallback && !rc.cached && is_region(&rc, "heap"));
			EXPECT_TRUE(t, in_arena(srv, p, BIG_REQ));
			/* a small request takes the same walk (c is not hart 0's home unless c == 0) */
			EXPECT_OK(t, mem_alloc(64, mem_prox_cluster(c), MEM_VALID_SYS, &p));
			tc_blk_push(&list, p);
			EXPECT_EQ(t, cluster_of(p), srv);
			mem_cluster_get_stats(c, &s1);
			mem_cluster_get_stats(srv, &v1);
			EXPECT_EQ(t, s1.fallbacks_out, s0.fallbacks_out + 2);
			EXPECT_EQ(t, v1.fallbacks_in, v0.fallbacks_in + 2);
			EXPECT_EQ(t, s1.failures, s0.failures);
			EXPECT_ERR(t, tc_exhaust_strict(srv, &list, NULL), ERR_EXHAUSTED);
		}
		p = sentinel;
		EXPECT_ERR(t, mem_alloc(BIG_REQ, mem_prox_cluster(c), MEM_VALID_SYS, &p), ERR_NOMEM);
		EXPECT_ERR(t, mem_alloc(64, mem_prox_global(), MEM_VALID_SYS, &p), ERR_NOMEM);
		EXPECT_TRUE(t, p == sentinel);
		EXPECT_EQ(t, tc_blk_free_all(&list), 0);
		mem_drain();
		tc_expect_heaps_back(t, before);
	}
}

/* One BIG_REQ through cluster 3's proximity, kept on @list: @cluster must serve it, at @rank. */
static void expect_big_from_3(struct test *t, struct tc_blk **list, unsigned cluster, unsigned rank, bool fallback)
{
	struct mem_receipt rc;
	void *p;

	ASSERT_OK(t, mem_alloc_receipt(BIG_REQ, mem_prox_cluster(3), MEM_VALID_SYS, &p, &rc));
	tc_blk_push(list, p);
	EXPECT_EQ(t, rc.cluster, cluster);
	EXPECT_EQ(t, rc.rank, rank);
	EXPECT_EQ(t, rc.fallback, fallback);
}

/* cluster 3 prefers 0 and 2 equally: the one with more free memory serves first */
static void host_mem_equal_group(struct test *t)
{
	struct tc_blk *list = NULL;
	uint64_t before[NCL];
	void *p;

	ASSERT_EQ(t, sim_init(0, false), 0);
	tc_heaps_snapshot(before);
	ASSERT_OK(t, mem_alloc((size_t)1 << 20, mem_prox_strict(0), MEM_VALID_SYS, &p));
	tc_blk_push(&list, p);
	expect_big_from_3(t, &list, 2, 0, false);
	ASSERT_OK(t, mem_alloc((size_t)2 << 20, mem_prox_strict(2), MEM_VALID_SYS, &p));
	tc_blk_push(&list, p);
	expect_big_from_3(t, &list, 0, 0, false);
	/* with 0 and 2 full, the next distance (1 at 30) serves: a fallback at rank 2 */
	EXPECT_ERR(t, tc_exhaust_strict(0, &list, NULL), ERR_EXHAUSTED);
	EXPECT_ERR(t, tc_exhaust_strict(2, &list, NULL), ERR_EXHAUSTED);
	expect_big_from_3(t, &list, 1, 2, true);
	EXPECT_EQ(t, tc_blk_free_all(&list), 0);
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/* memoryless cluster 3: the shared body (tests/common/mem_cases.c) */
static void host_mem_memoryless(struct test *t)
{
	ASSERT_EQ(t, sim_init(0, false), 0);
	tc_mem_memoryless_strict(t, 3);
}

static void host_mem_global(struct test *t)
{
	unsigned n = 64 * NMEM, i, cnt[NCL] = { 0 }, c;
	struct tc_blk *list = NULL;
	uint64_t before[NCL];

	ASSERT_EQ(t, sim_init(0, false), 0);
	tc_heaps_snapshot(before);
	for (i = 0; i < n; i++) {
		struct mem_receipt rc;
		void *p;

		ASSERT_OK(t, mem_alloc_receipt(4096, mem_prox_global(), MEM_VALID_SYS, &p, &rc));
		tc_blk_push(&list, p);
		EXPECT_TRUE(t, rc.cluster < NMEM && in_arena(rc.cluster, p, 4096) && !rc.fallback);
		cnt[rc.cluster < NCL ? rc.cluster : 3]++;
	}
	/* per-hart round robin: exactly n / k each with room everywhere (n is a multiple of k) */
	for (c = 0; c < NMEM; c++)
		EXPECT_EQ(t, cnt[c], n / NMEM);
	EXPECT_EQ(t, cnt[3], 0);
	EXPECT_EQ(t, tc_blk_free_all(&list), 0);
	/*
	 * With cluster 1 full the rotation skips it: the requests whose turn is cluster 1's (one in NMEM)
	 * fall back to the next in line, cluster 2, at rank 1; the others are served where they start.
	 */
	EXPECT_ERR(t, tc_exhaust_strict(1, &list, NULL), ERR_EXHAUSTED);
	for (i = 0, c = 0; i < 4 * NMEM; i++) {
		struct mem_receipt rc;
		void *p;

		ASSERT_OK(t, mem_alloc_receipt(4096, mem_prox_global(), MEM_VALID_SYS, &p, &rc));
		tc_blk_push(&list, p);
		EXPECT_NE(t, rc.cluster, 1);
		EXPECT_EQ(t, rc.fallback, rc.rank > 0);
		if (rc.fallback) {
			EXPECT_EQ(t, rc.cluster, 2);
			EXPECT_EQ(t, rc.rank, 1);
			c++;
		}
	}
	EXPECT_EQ(t, c, 4);	/* cluster 1's turn came 4 times in 4 * NMEM requests */
	EXPECT_EQ(t, tc_blk_free_all(&list), 0);
	mem_drain();
	tc_expect_heaps_back(t, before);
}

static void dma_fn(struct hart_res *r, unsigned h)
{
	static const size_t sizes[] = { 16, 64, 100, 1000, 4096, 5000, 16384, 65536 };
	void *live[8] = { NULL };
	unsigned i;

	for (i = 0; i < 200; i++) {
		size_t size = sizes[(i * 3 + h) % ARRAY_SIZE(sizes)];
		struct mem_proximity_s *px = i % 4 == 1 ? mem_prox_global() :
					     i % 4 == 2 ? mem_prox_cluster((i / 4) % NCL) : NULL;
		void *p;
		error_t e = mem_alloc(size, px, MEM_VALID_DMA, &p);

		HCHECK(r, e == 0, e, size);
		if (e)
			continue;
		HCHECK(r, mem_is_dma(p, size) && (uint64_t)(uintptr_t)p + size <= sim_dma, (uintptr_t)p, size);
		memset(p, 0x42, size);
		if (live[i % 8])
			HCHECK(r, mem_free_checked(live[i % 8]) == 0, (uintptr_t)live[i % 8], i);
		live[i % 8] = p;
	}
	for (i = 0; i < 8; i++)
		if (live[i])
			HCHECK(r, mem_free_checked(live[i]) == 0, (uintptr_t)live[i], i);
}

static void host_mem_dma(struct test *t)
{
	unsigned low, c;
	uint64_t limit, before[NCL];

	ASSERT_EQ(t, sim_init(0, false), 0);
	limit = low_arena_end(&low);
	ASSERT_EQ(t, sim_init(limit, false), 0);
	EXPECT_EQ(t, mem_dma_limit(), limit);
	EXPECT_TRUE(t, mem_is_dma((void *)(uintptr_t)(limit - 64), 64));
	EXPECT_FALSE(t, mem_is_dma((void *)(uintptr_t)(limit - 64), 65));
	EXPECT_FALSE(t, mem_is_dma((void *)(uintptr_t)limit, 1));
	tc_heaps_snapshot(before);
	for (c = 0; c < NMEM; c++) {
		void *const sentinel = (void *)0x5a5a5a40;
		struct mem_receipt rc;
		void *p = sentinel;

		ASSERT_OK(t, mem_alloc_receipt(4096, mem_prox_cluster(c), MEM_VALID_DMA, &p, &rc));
		EXPECT_EQ(t, rc.cluster, low);
		EXPECT_TRUE(t, in_arena(low, p, 4096) && mem_is_dma(p, 4096));
		EXPECT_EQ(t, rc.fallback, c != low);
		EXPECT_OK(t, mem_free_checked(p));
		p = sentinel;
		if (c != low) {
			EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(c), MEM_VALID_DMA, &p), ERR_EXHAUSTED);
			EXPECT_TRUE(t, p == sentinel);
		} else {
			EXPECT_OK(t, mem_alloc(64, mem_prox_strict(c), MEM_VALID_DMA, &p));
			EXPECT_OK(t, mem_free_checked(p));
		}
	}
	/* every hart: its cache must not hand out non-DMA memory for a DMA request */
	run_harts(t, "dma", 0, dma_fn);
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/*
 * The DMA limit in the middle of the lowest cluster's RAM (a node across 4 GiB): DMA requests of every
 * proximity take that cluster's memory below the limit, by proximity like any DMA-capable heap, until it
 * is used up; its memory above the limit still serves everything else.
 */
static void host_mem_dma_straddle(struct test *t)
{
	enum { MAXB = 64 };
	void *blk[MAXB];
	unsigned low, c, n = 0, i;
	uint64_t limit, before[NCL];
	size_t below = 0;
	void *p;

	ASSERT_EQ(t, sim_init(0, false), 0);
	limit = low_arena_end(&low) - ARENA_SIZE / 2;
	ASSERT_EQ(t, sim_init(limit, false), 0);
	tc_heaps_snapshot(before);
	for (c = 0; c < NMEM; c++) {
		struct mem_receipt rc;

		ASSERT_OK(t, mem_alloc_receipt(4096, mem_prox_cluster(c), MEM_VALID_DMA, &p, &rc));
		EXPECT_EQ(t, rc.cluster, low);
		EXPECT_EQ(t, rc.fallback, c != low);
		EXPECT_TRUE(t, in_arena(low, p, 4096) && mem_is_dma(p, 4096));
		EXPECT_OK(t, mem_free_checked(p));
	}
	/* the strict proximity of the straddling cluster: DMA from its part below, until that is gone */
	while (n < MAXB) {
		error_t e = mem_alloc(64 * 1024, mem_prox_strict(low), MEM_VALID_DMA, &p);

		if (e) {
			EXPECT_ERR(t, e, ERR_EXHAUSTED);
			break;
		}
		EXPECT_TRUE(t, mem_is_dma(p, 64 * 1024));
		below += 64 * 1024;
		blk[n++] = p;
	}
	EXPECT_LT(t, n, MAXB);
	EXPECT_GE(t, below, ARENA_SIZE / 2 - 256 * 1024);	/* all but the heap's metadata and split remnants */
	/* the part above the limit serves SYS requests of the same cluster */
	ASSERT_OK(t, mem_alloc(64 * 1024, mem_prox_strict(low), MEM_VALID_SYS, &p));
	EXPECT_TRUE(t, in_arena(low, p, 64 * 1024));
	EXPECT_FALSE(t, mem_is_dma(p, 64 * 1024));
	EXPECT_OK(t, mem_free_checked(p));
	for (i = 0; i < n; i++)
		EXPECT_OK(t, mem_free_checked(blk[i]));
	/* every hart: its cache must not hand out memory above the limit for a DMA request */
	run_harts(t, "dma", 0, dma_fn);
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/* ---- private regions ---- */

static void *priv_one(struct hart_res *r, size_t size, struct mem_proximity_s *px, enum mem_reachability_s v,
		      const char *want, unsigned want_cluster)
{
	struct mem_receipt rc;
	size_t got = 0;
	void *p;
	error_t e = mem_alloc_receipt(size, px, v, &p, &rc);

	HCHECK(r, e == 0, e, size);
	if (e)
		return NULL;
	HCHECK(r, is_region(&rc, want), v, (uintptr_t)p);
	if (want_cluster < NCL)
		HCHECK(r, rc.cluster == want_cluster, rc.cluster, want_cluster);
	/* private memory is in no heap; heap memory never in a private region */
	if (is_region(&rc, "heap"))
		HCHECK(r, !in_priv(p) && heap_owner(p) != NULL && mem_getsize(p, &got) == 0, (uintptr_t)p, 0);
	else
		HCHECK(r, in_priv(p) && heap_owner(p) == NULL, (uintptr_t)p, 0);
	HCHECK(r, mem_getsize(p, &got) == 0 && got >= size, (uintptr_t)p, got);
	memset(p, 0x77, size);
	return p;
}

static void priv_fn(struct hart_res *r, unsigned h)
{
	static const size_t sizes[] = { 16, 64, 1000, 4096 };
	unsigned c = hart_cluster(h), i;
	bool hc = c == PRIV_CLUSTER, hh = h == PRIV_HART;
	struct tc_blk *list = NULL;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t sz = sizes[i];
		void *p;

		if ((p = priv_one(r, sz, NULL, MEM_VALID_CLUSTER, hc ? "cluster-private" : "heap", NCL)))
			tc_blk_push(&list, p);
		if ((p = priv_one(r, sz, NULL, MEM_VALID_CPU, hh ? "cpu-private" : hc ? "cluster-private" : "heap",
				  NCL)))
			tc_blk_push(&list, p);
		if ((p = priv_one(r, sz, NULL, MEM_VALID_SYS, "heap", NCL)))
			tc_blk_push(&list, p);
		if ((p = priv_one(r, sz, NULL, MEM_VALID_DMA, "heap", NCL)))
			tc_blk_push(&list, p);
		if ((p = priv_one(r, sz, mem_prox_strict(PRIV_CLUSTER), MEM_VALID_CLUSTER, "cluster-private",
				  PRIV_CLUSTER)))
			tc_blk_push(&list, p);
		/* a CPU request with cluster 1's proximity: private memory only if this hart may use it */
		if ((p = priv_one(r, sz, mem_prox_cluster(PRIV_CLUSTER), MEM_VALID_CPU,
				  hh ? "cpu-private" : hc ? "cluster-private" : "heap", PRIV_CLUSTER)))
			tc_blk_push(&list, p);
		if ((p = priv_one(r, sz, mem_prox_cluster(PRIV_CLUSTER), MEM_VALID_SYS, "heap", PRIV_CLUSTER)))
			tc_blk_push(&list, p);
	}
	while (list) {
		struct tc_blk *b = list;

		list = b->next;
		HCHECK(r, mem_free_checked(b) == 0, (uintptr_t)b, 0);
	}
}

static void host_mem_private(struct test *t)
{
	void *const sentinel = (void *)0x5a5a5a40;
	struct tc_blk *list = NULL;
	struct mem_receipt rc;
	uint64_t before[NCL];
	void *p = sentinel, *a, *b;

	ASSERT_EQ(t, sim_init(0, true), 0);
	tc_heaps_snapshot(before);
	run_harts(t, "private", 0, priv_fn);
	/* cluster 1's heap full: SYS/DMA never spill into its private memory; CLUSTER requests still fit */
	EXPECT_ERR(t, tc_exhaust_strict(PRIV_CLUSTER, &list, NULL), ERR_EXHAUSTED);
	EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(PRIV_CLUSTER), MEM_VALID_SYS, &p), ERR_EXHAUSTED);
	EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(PRIV_CLUSTER), MEM_VALID_DMA, &p), ERR_EXHAUSTED);
	/* hart 0 is not in cluster 1: its CPU request may not use cluster 1's private memory either */
	EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(PRIV_CLUSTER), MEM_VALID_CPU, &p), ERR_EXHAUSTED);
	EXPECT_TRUE(t, p == sentinel);
	ASSERT_OK(t, mem_alloc_receipt(64, mem_prox_cluster(PRIV_CLUSTER), MEM_VALID_SYS, &p, &rc));
	tc_blk_push(&list, p);
	EXPECT_TRUE(t, rc.cluster == 2 && rc.fallback && !in_priv(p));
	ASSERT_OK(t, mem_alloc_receipt(64, mem_prox_strict(PRIV_CLUSTER), MEM_VALID_CLUSTER, &a, &rc));
	EXPECT_TRUE(t, is_region(&rc, "cluster-private") && in_priv(a));
	ASSERT_OK(t, mem_alloc_receipt(96, mem_prox_strict(PRIV_CLUSTER), MEM_VALID_CLUSTER, &b, &rc));
	EXPECT_OK(t, mem_free_checked(a));
	EXPECT_ERR(t, mem_free_checked(a), ERR_DOUBLEFREE);
	EXPECT_ERR(t, mem_free_checked((char *)b + 8), ERR_MISALIGNED);
	EXPECT_ERR(t, mem_free_checked((char *)b + 16), ERR_INTERIOR);
	EXPECT_OK(t, mem_free_checked(b));
	EXPECT_EQ(t, tc_blk_free_all(&list), 0);
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/*
 * Private regions backed by page pools (private=c1:1M:pages): whole, page-aligned pages for CLUSTER/CPU
 * requests, the page pool's own refusals, and the heap once the region is used up.
 */
static void host_mem_private_pages(struct test *t)
{
	enum { MAXP = 64 };
	void *pg[MAXP], *a, *b;
	struct mem_receipt rc;
	uint64_t before[NCL];
	size_t sz = 0;
	unsigned n = 0, i;

	sim_priv_pages = true;
	i = (unsigned)sim_init(0, true);
	sim_priv_pages = false;
	ASSERT_EQ(t, i, 0);
	tc_heaps_snapshot(before);
	ASSERT_OK(t, mem_alloc_receipt(100, mem_prox_strict(PRIV_CLUSTER), MEM_VALID_CLUSTER, &a, &rc));
	EXPECT_TRUE(t, is_region(&rc, "cluster-private") && in_priv(a));
	EXPECT_EQ(t, (uintptr_t)a & (PAGE_POOL_PAGE_SIZE - 1), 0);
	EXPECT_OK(t, mem_getsize(a, &sz));
	EXPECT_EQ(t, sz, 4096);
	ASSERT_OK(t, mem_alloc_receipt(3 * 4096 + 1, mem_prox_strict(PRIV_CLUSTER), MEM_VALID_CLUSTER, &b, &rc));
	EXPECT_TRUE(t, is_region(&rc, "cluster-private") && in_priv(b));
	EXPECT_OK(t, mem_getsize(b, &sz));
	EXPECT_EQ(t, sz, 4 * 4096);
	/* the page pool's checks: not a page start, inside a run, already free */
	EXPECT_ERR(t, mem_free_checked((char *)b + 64), ERR_MISALIGNED);
	EXPECT_ERR(t, mem_free_checked((char *)b + 4096), ERR_INTERIOR);
	EXPECT_OK(t, mem_free_checked(a));
	EXPECT_ERR(t, mem_free_checked(a), ERR_DOUBLEFREE);
	EXPECT_OK(t, mem_free_checked(b));
	/* pages until the region is used up (its descriptor and bitmaps take some), then the cluster's heap */
	while (n < MAXP) {
		ASSERT_OK(t, mem_alloc_receipt(4096, mem_prox_strict(PRIV_CLUSTER), MEM_VALID_CLUSTER, &pg[n], &rc));
		if (!is_region(&rc, "cluster-private")) {
			EXPECT_TRUE(t, is_region(&rc, "heap") && rc.cluster == PRIV_CLUSTER && !in_priv(pg[n]));
			n++;
			break;
		}
		n++;
	}
	EXPECT_LT(t, n, MAXP);
	EXPECT_GE(t, n, PRIV_SIZE / 2 / 4096 - 2);
	for (i = 0; i < n; i++)
		EXPECT_OK(t, mem_free_checked(pg[i]));
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/* a caller-made proximity (the seed's interface): cluster 2's strict proximity behind a counting alloc() */
static unsigned caller_calls;

static error_t caller_alloc(size_t size, void *priv, enum mem_reachability_s valid, void **addr)
{
	caller_calls++;
	return mem_alloc(size, priv, valid, addr);
}

static void host_mem_caller_prox(struct test *t)
{
	struct mem_proximity_s mine = { caller_alloc, NULL, MEM_PROX_CALLER };
	struct mem_receipt rc;
	uint64_t before[NCL];
	void *p;

	ASSERT_EQ(t, sim_init(0, false), 0);
	mine.priv = mem_prox_strict(2);
	tc_heaps_snapshot(before);
	caller_calls = 0;
	memset(&rc, 0xee, sizeof(rc));
	ASSERT_OK(t, mem_alloc_receipt(100, &mine, MEM_VALID_SYS, &p, &rc));
	EXPECT_EQ(t, caller_calls, 1);
	EXPECT_TRUE(t, in_arena(2, p, 100));
	EXPECT_EQ(t, rc.cluster, 0xeeeeeeeeu);	/* no receipt: the proximity is the caller's */
	EXPECT_OK(t, mem_free_checked(p));
	/* its errors are its own */
	EXPECT_ERR(t, mem_alloc(0, &mine, MEM_VALID_SYS, &p), ERR_SIZE);
	EXPECT_ERR(t, mem_alloc((size_t)2 * ARENA_SIZE, &mine, MEM_VALID_SYS, &p), ERR_EXHAUSTED);
	EXPECT_EQ(t, caller_calls, 2);	/* ERR_SIZE is decided before any proximity runs */
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/* ---- checked frees ---- */

static void host_mem_checked_frees(struct test *t)
{
	struct mm_cpu *mc;
	uint64_t before[NCL];
	void *q, *s;
	char why[120];

	ASSERT_EQ(t, sim_init(0, false), 0);
	mc = mm_cpu_self();
	tc_heaps_snapshot(before);
	/* the home heap's own blocks: the shared body (tests/common/mem_cases.c), all in cluster 0 */
	(void)tc_mem_checked_frees_local(t);
	EXPECT_OK(t, heap_check(heap_of(0), why, sizeof(why)));
	EXPECT_ERR(t, mem_free_checked(&why[0]), ERR_NOTOWNED);
	/* the heap's own descriptor at the start of the arena: inside the span, never handed out */
	EXPECT_ERR(t, mem_free_checked(arena[1]), ERR_INTERIOR);

	/* another cluster's small block: a remote batch; the second free is refused, the batch drains */
	ASSERT_OK(t, mem_alloc(256, mem_prox_strict(2), MEM_VALID_SYS, &q));
	ASSERT_OK(t, mem_alloc(2048, mem_prox_strict(2), MEM_VALID_SYS, &s));
	EXPECT_OK(t, mem_free_checked(q));
	/* one open batch, in the first slot, for cluster 2 */
	EXPECT_TRUE(t, mc->remote[0].head == q && mc->remote[0].count == 1 && mc->remote[0].owner == 2);
	EXPECT_ERR(t, mem_free_checked(q), ERR_DOUBLEFREE);
	EXPECT_ERR(t, mem_free_checked((char *)s + 1024), ERR_INTERIOR);
	EXPECT_OK(t, mem_free_checked(s));
	EXPECT_EQ(t, mc->remote[0].count, 2);
	EXPECT_OK(t, heap_check(heap_of(2), why, sizeof(why)));
	mem_drain();
	EXPECT_EQ(t, mc->remote[0].count, 0);
	tc_expect_heaps_back(t, before);
}

/*
 * mem_free() of a block of the home heap's buddy (a request over 4 KiB) takes the buddy's O(1) free with
 * no other lookup; whatever that refuses (an interior or misaligned address, a second free) goes on to the
 * checked path, which refuses and counts it: the heap stays valid and every block comes back.
 */
static void host_mem_free_large_unchecked(struct test *t)
{
	uint64_t before[NCL], bad0;
	char why[120];
	struct heap *h;
	char *p, *q;

	ASSERT_EQ(t, sim_init(0, false), 0);
	tc_heaps_snapshot(before);
	h = mm_cpu_self()->home;
	ASSERT_OK(t, mem_alloc(8192, NULL, MEM_VALID_SYS, (void **)&p));
	ASSERT_OK(t, mem_alloc(8192, NULL, MEM_VALID_SYS, (void **)&q));
	EXPECT_TRUE(t, heap_owner(p) == h && heap_owner(q) == h);
	bad0 = h->bad_frees;
	mem_free(p + 4096);	/* interior, page-aligned */
	mem_free(p + 64);	/* interior, 64-aligned */
	mem_free(p + 8);	/* misaligned */
	EXPECT_EQ(t, h->bad_frees - bad0, 3);
	mem_free(p);
	mem_free(p);		/* a double free */
	mem_free(q);		/* (merges with p when they are buddies) */
	mem_free(q);
	EXPECT_EQ(t, h->bad_frees - bad0, 5);
	EXPECT_OK(t, heap_check(h, why, sizeof(why)));
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/*
 * mem_free() of addresses the allocator never returned, inside memory that was never split below 64 KiB:
 * refused and counted like mem_free_checked() would, the heap valid, nothing cached. The arena is filled
 * with a byte that reads as class 16 in a page byte (and as a slab descriptor whose bump is 257) before
 * the heaps are built: stale metadata the inline free would trust, had heap_build() not zeroed it.
 */
static void expect_slabs_ok(struct test *t, struct mm_cpu *mc);

static void host_mem_free_never_split(struct test *t)
{
	uint64_t before[NCL], bad0;
	unsigned k = slab_size_class(16), i;
	char why[120];
	struct heap *h;
	char *base;
	void *q;

	ASSERT_EQ(t, sim_init(0, false), 0);	/* the arenas exist now */
	memset(arena[0], 0x01, ARENA_SIZE);
	ASSERT_EQ(t, sim_init(0, false), 0);
	tc_heaps_snapshot(before);
	h = mm_cpu_self()->home;
	ASSERT_TRUE(t, h == heap_of(0));
	base = (char *)arena[0] + ARENA_SIZE / 2;	/* a free 2 MiB block: only its first section is initialised */
	bad0 = h->bad_frees;
	for (i = 0; i < 8; i++) {
		char *p = base + (i + 1) * 64 * 1024 + 4096 + 16 * i;	/* inside sections never initialised */

		((uint64_t *)p)[1] = 0;	/* no free-block marker there */
		mem_free(p);
	}
	EXPECT_EQ(t, h->bad_frees - bad0, 8);
	EXPECT_TRUE(t, slab_cache_of(&mm_cpu_self()->slab, k)->head == NULL);	/* none went into the cache */
	ASSERT_OK(t, mem_alloc(16, NULL, MEM_VALID_SYS, &q));
	EXPECT_TRUE(t, (char *)q < base || (char *)q >= base + ARENA_SIZE / 2);
	mem_free(q);
	EXPECT_OK(t, heap_check(h, why, sizeof(why)));
	expect_slabs_ok(t, mm_cpu_self());
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/*
 * Page runs (mm/heap.h): a request of 4..64 KiB holds whole pages. For every page count 2..16: the block
 * is aligned to the power of two at or above it, the heap's used bytes grow by its pages only, mem_getsize()
 * answers them, an address inside the run is refused by both frees and by mem_getsize(), and the run frees
 * whole (through mem_free(), mem_free_checked() or heap_free() in turn).
 */
static void host_mem_page_runs(struct test *t)
{
	uint64_t before[NCL], bad0;
	struct heap *h;
	char why[120];
	unsigned n;
	size_t got, size;
	char *p;

	ASSERT_EQ(t, sim_init(0, false), 0);
	tc_heaps_snapshot(before);
	h = mm_cpu_self()->home;
	for (n = 2; n <= 16 && !t->failures; n++) {
		size_t pow = 8192;
		struct heap_stats s0, s1;

		while (pow < n * 4096ul)
			pow <<= 1;
		size = n * 4096ul - 100;
		heap_get_stats(h, &s0);
		ASSERT_OK(t, mem_alloc(size, NULL, MEM_VALID_SYS, (void **)&p));
		heap_get_stats(h, &s1);
		EXPECT_EQ(t, s1.used_bytes - s0.used_bytes, n * 4096ul);	/* the pages, not the power of two */
		EXPECT_EQ(t, (uintptr_t)p & (pow - 1), 0);
		ASSERT_OK(t, mem_getsize(p, &got));
		EXPECT_EQ(t, got, n * 4096ul);
		EXPECT_ERR(t, mem_getsize(p + 4096, &got), ERR_INTERIOR);
		bad0 = h->bad_frees;
		EXPECT_ERR(t, mem_free_checked(p + (n - 1) * 4096ul), ERR_INTERIOR);	/* its last page */
		EXPECT_ERR(t, mem_free_checked(p + 64), ERR_INTERIOR);
		EXPECT_ERR(t, mem_free_checked(p + 8), ERR_MISALIGNED);
		mem_free(p + 4096);
		EXPECT_EQ(t, h->bad_frees - bad0, 4);
		EXPECT_OK(t, heap_check(h, why, sizeof(why)));
		if (n % 3 == 0) {
			mem_free(p);
		} else if (n % 3 == 1) {
			EXPECT_OK(t, mem_free_checked(p));
		} else {
			EXPECT_OK(t, heap_free(p));
		}
		EXPECT_ERR(t, mem_free_checked(p), ERR_DOUBLEFREE);
		heap_get_stats(h, &s1);
		EXPECT_EQ(t, s1.used_bytes, s0.used_bytes);
		EXPECT_OK(t, heap_check(h, why, sizeof(why)));
	}
	/* heap_check() sees a run's bytes: a body page overwritten, a length changed, a stray body page */
	ASSERT_OK(t, mem_alloc(5 * 4096, NULL, MEM_VALID_SYS, (void **)&p));
	{
		uint8_t *pb = buddy_page_byte(h->b.pg_bias, (uintptr_t)p + 2 * 4096), keep = *pb;
		size_t *len = (size_t *)(h->page_desc_bias + ((uintptr_t)p >> 12) * HEAP_PAGE_DESC_SIZE), l = *len;

		*pb = 0;
		EXPECT_ERR(t, heap_check(h, why, sizeof(why)), ERR_CORRUPT);
		EXPECT_TRUE(t, strstr(why, "inside the run") != NULL);
		*pb = keep;
		*len = 6 * 4096;
		EXPECT_ERR(t, heap_check(h, why, sizeof(why)), ERR_CORRUPT);
		*len = 8 * 4096;	/* a power of two: no run has it */
		EXPECT_ERR(t, heap_check(h, why, sizeof(why)), ERR_CORRUPT);
		*len = l;
		EXPECT_OK(t, heap_check(h, why, sizeof(why)));
		pb = buddy_page_byte(h->b.pg_bias, (uintptr_t)p + 5 * 4096);
		keep = *pb;
		*pb = HEAP_RUN_BODY;	/* the page past the run */
		EXPECT_ERR(t, heap_check(h, why, sizeof(why)), ERR_CORRUPT);
		EXPECT_TRUE(t, strstr(why, "outside any run") != NULL || strstr(why, "inside the run") != NULL);
		*pb = keep;
		EXPECT_OK(t, heap_check(h, why, sizeof(why)));
	}
	mem_free(p);
	/* another cluster's run: a block of it that starts a page is not sent home as a small block of its own */
	ASSERT_OK(t, mem_alloc(13 * 4096, mem_prox_strict(2), MEM_VALID_SYS, (void **)&p));
	EXPECT_ERR(t, mem_free_checked(p + 12 * 4096), ERR_INTERIOR);
	EXPECT_ERR(t, mem_free_checked(p + 8 * 4096), ERR_INTERIOR);
	EXPECT_OK(t, mem_free_checked(p));
	EXPECT_OK(t, heap_check(heap_of(2), why, sizeof(why)));
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/* ---- the slab layer: classes, alignment, checked frees, empty slabs, remote frees (mm/slab.h) ---- */

static size_t lowbit(size_t x)
{
	return x & -x;
}

static void expect_slabs_ok(struct test *t, struct mm_cpu *mc)
{
	char why[120] = "";
	error_t e = slab_check(&mc->slab, why, sizeof(why));

	if (e)
		test_log("slab_check: %s", why);
	EXPECT_OK(t, e);
}

/*
 * The inline free reads its class from the hart's copy of the table (struct slab_ent): slab_check()
 * compares the copy with slab_class_of_byte, so a wild write into it is caught, not trusted.
 */
static void host_mem_slab_table_copy(struct test *t)
{
	struct mm_cpu *mc;
	char why[120];
	unsigned k;

	ASSERT_EQ(t, sim_init(0, false), 0);
	mc = mm_cpu_self();
	expect_slabs_ok(t, mc);
	for (k = 0; k < HEAP_PAGE_BYTE_VALUES; k += 7) {
		struct slab_class keep = mc->slab.ent[k].ci;

		mc->slab.ent[k].ci.end ^= 16;
		EXPECT_ERR(t, slab_check(&mc->slab, why, sizeof(why)), ERR_CORRUPT);
		EXPECT_TRUE(t, strstr(why, "differs from the table") != NULL);
		mc->slab.ent[k].ci = keep;
		expect_slabs_ok(t, mc);
	}
}

/* a double free through the inline mem_free(): refused by the block's marker, nothing changes */
static void host_mem_slab_fast_double_free(struct test *t)
{
	enum { N = 100 };
	struct mem_cluster_stats st0, st1;
	uint64_t before[NCL], taken0;
	struct mm_cpu *mc;
	struct slab *s;
	struct slab_cache *m;
	unsigned i, used, room;
	void *p, *q, *v[N];

	ASSERT_EQ(t, sim_init(0, false), 0);
	mc = mm_cpu_self();
	tc_heaps_snapshot(before);
	ASSERT_OK(t, mem_alloc(64, NULL, MEM_VALID_SYS, &p));
	s = mc->slab.cur[slab_size_class(64)];
	m = slab_cache_of(&mc->slab, slab_size_class(64));
	used = s->used;
	room = m->room;
	/* into the hart's cache: marked free there, still counted by its slab */
	mem_free(p);
	EXPECT_TRUE(t, m->head == p);
	EXPECT_EQ(t, m->room, room - 1);
	EXPECT_EQ(t, s->used, used);
	mem_free(p);
	EXPECT_TRUE(t, m->head == p && ((struct slab_blk *)p)->next != p);
	EXPECT_EQ(t, m->room, room - 1);
	EXPECT_EQ(t, s->used, used);
	EXPECT_EQ(t, mc->slab.cnt.double_frees, 1);
	EXPECT_ERR(t, mem_free_checked(p), ERR_DOUBLEFREE);
	EXPECT_EQ(t, mc->slab.cnt.double_frees, 2);
	expect_slabs_ok(t, mc);
	ASSERT_OK(t, mem_alloc(64, NULL, MEM_VALID_SYS, &q));
	EXPECT_TRUE(t, q == p);
	EXPECT_OK(t, mem_free_checked(q));
	/* local hits count requests to the heap: each slab taken, each heap block, not each class block */
	mem_cluster_get_stats(0, &st0);
	taken0 = mc->slab.cnt.slabs_taken;
	for (i = 0; i < N; i++)
		ASSERT_OK(t, mem_alloc(i % 2 ? 64 : 40, NULL, MEM_VALID_SYS, &v[i]));
	mem_cluster_get_stats(0, &st1);
	EXPECT_EQ(t, st1.local_hits - st0.local_hits, mc->slab.cnt.slabs_taken - taken0);
	EXPECT_GT(t, mc->slab.cnt.slabs_taken - taken0, 0);	/* N blocks of 48 and 64 B fill more than a slab */
	ASSERT_OK(t, mem_alloc(BIG_REQ, NULL, MEM_VALID_SYS, &q));
	mem_cluster_get_stats(0, &st0);
	EXPECT_EQ(t, st0.local_hits - st1.local_hits, 1);
	mem_free(q);
	for (i = 0; i < N; i++)
		mem_free(v[i]);
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/*
 * The inline free's block-start test (Lemire's, mm/slab.h) in every class: a fresh slab's first FIRST
 * blocks (handed out by bumps), then through mem_free(), which logs and otherwise ignores a refusal, each
 * of: a block +16 (interior; not in class 16, where it is the next block), +8 (misaligned), the first
 * never-used block, the slab's tail past its last block, and the last block handed out freed twice. None may change the
 * slab: its used count and free list stay, and slab_check() passes.
 */
/*
 * Bumps: a fresh slab hands its blocks out one at a time, and nothing is written to a block before it is
 * handed out (a batch carve made the first allocation link the next seven). The slab takes the page that a
 * 4 KiB heap_alloc() had and filled with a pattern: after each of the first 16 allocations of class 48,
 * every byte of the page past the block just handed out still holds the pattern.
 */
static void host_mem_slab_bump_untouched(struct test *t)
{
	uint64_t before[NCL];
	unsigned char *pg, *v[16];
	unsigned i;
	size_t j;

	ASSERT_EQ(t, sim_init(0, false), 0);
	tc_heaps_snapshot(before);
	ASSERT_OK(t, heap_alloc(0, 4096, (void **)&pg));
	memset(pg, 0xa5, 4096);
	ASSERT_OK(t, heap_free(pg));
	for (i = 0; i < 16; i++) {
		ASSERT_OK(t, mem_alloc(48, NULL, MEM_VALID_SYS, (void **)&v[i]));
		ASSERT_TRUE(t, v[i] == pg + i * 48);	/* the slab took that page and hands out its blocks in order */
		for (j = (size_t)(i + 1) * 48; j < 4096 && pg[j] == 0xa5; j++)
			;
		EXPECT_EQ(t, j, 4096);
	}
	for (i = 0; i < 16; i++)
		mem_free(v[i]);
	expect_slabs_ok(t, mm_cpu_self());
	mem_drain();
	tc_expect_heaps_back(t, before);
}

#define FIRST 8
static void host_mem_slab_fast_block_start(struct test *t)
{
	uint64_t before[NCL];
	struct mm_cpu *mc;
	unsigned k, i;

	ASSERT_EQ(t, sim_init(0, false), 0);
	mc = mm_cpu_self();
	tc_heaps_snapshot(before);
	for (k = 0; k < SLAB_NCLASSES; k++) {
		const struct slab_class *ci = &slab_classes[k];
		unsigned carve = ci->n < FIRST ? ci->n : FIRST;
		uint64_t bad0 = mc->slab.cnt.bad_frees + mc->slab.cnt.double_frees;
		void *v[FIRST];
		char *base;
		struct slab *s;
		unsigned used;
		struct slab_blk *fl;

		for (i = 0; i < carve; i++)
			ASSERT_OK(t, mem_alloc(ci->size, NULL, MEM_VALID_SYS, &v[i]));
		s = mc->slab.cur[k];
		base = v[0];
		EXPECT_EQ(t, (uintptr_t)base & ci->omask, 0);	/* a fresh slab: its first block is its base */
		EXPECT_EQ(t, s->bump, carve * ci->size);
		mem_free(v[carve - 1]);
		used = s->used;
		fl = s->free;
		if (ci->size > 16)
			mem_free(base + 16);
		mem_free(base + 8);
		if (carve < ci->n)
			mem_free(base + (size_t)carve * ci->size);		/* never carved */
		if ((size_t)ci->n * ci->size < (size_t)ci->omask + 1)
			mem_free(base + (size_t)ci->n * ci->size);		/* the tail */
		mem_free(v[carve - 1]);						/* free already */
		EXPECT_EQ(t, s->used, used);
		EXPECT_TRUE(t, s->free == fl);
		EXPECT_EQ(t, mc->slab.cnt.bad_frees + mc->slab.cnt.double_frees - bad0,
			  2 + (ci->size > 16) + (carve < ci->n) + ((size_t)ci->n * ci->size < (size_t)ci->omask + 1));
		expect_slabs_ok(t, mc);
		for (i = 0; i + 1 < carve; i++)
			mem_free(v[i]);
		expect_slabs_ok(t, mc);
	}
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/*
 * Random sequences across the classes against a model: sizes at every class boundary -1/0/+1 and
 * uniform in 1 .. 4200 (past the classes: heap blocks). Every block is filled with its own pattern and
 * checked before its free; size, class and alignment are checked at once; slabs and heap every 256 steps.
 */
static void host_mem_slab_model(struct test *t)
{
	enum { SLOTS = 400, OPS = 30000 };
	static struct {
		uint8_t *p;
		size_t size;
		uint8_t fill;
	} live[SLOTS];
	size_t bsz[3 * SLAB_NCLASSES];
	unsigned nb = 0, i, k, bad_fill = 0, bad_size = 0, bad_align = 0, bad_place = 0;
	uint64_t before[NCL], rng = 0x853c49e6748fea9bull;
	struct mm_cpu *mc;
	char why[120];

	ASSERT_EQ(t, sim_init(0, false), 0);
	mc = mm_cpu_self();
	tc_heaps_snapshot(before);
	memset(live, 0, sizeof(live));
	for (k = 0; k < SLAB_NCLASSES; k++) {
		bsz[nb++] = slab_classes[k].size - 1;
		bsz[nb++] = slab_classes[k].size;
		bsz[nb++] = slab_classes[k].size + 1;
	}
	for (i = 0; i < OPS; i++) {
		unsigned j = (unsigned)(test_rand(&rng) % SLOTS);

		if (!live[j].p) {
			size_t size = test_rand(&rng) % 2 ? bsz[test_rand(&rng) % nb] : 1 + test_rand(&rng) % 4200, got = 0;
			void *p;

			if (mem_alloc(size, NULL, MEM_VALID_SYS, &p)) {
				bad_place++;
				continue;
			}
			ASSERT_OK(t, mem_getsize(p, &got));
			if (size <= SLAB_MAX_SIZE) {
				size_t want = slab_classes[slab_size_class(size)].size;

				bad_size += got != want || (slab_size_class(size) && slab_classes[slab_size_class(size) - 1].size >= size);
				bad_align += ((uintptr_t)p & (lowbit(want) - 1)) != 0 || ((uintptr_t)p & 15) != 0;
			} else {
				bad_size += got < size || (got & (got - 1));
				bad_align += ((uintptr_t)p & (got - 1)) != 0;
			}
			bad_place += cluster_of(p) != 0;
			live[j].p = p;
			live[j].size = size;
			live[j].fill = (uint8_t)(i * 131 + 7);
			memset(p, live[j].fill, size);
		} else {
			size_t n;

			for (n = 0; n < live[j].size; n++)
				if (live[j].p[n] != live[j].fill) {
					bad_fill++;
					break;
				}
			if (i % 2)
				mem_free(live[j].p);
			else
				EXPECT_OK(t, mem_free_checked(live[j].p));
			live[j].p = NULL;
		}
		if (i % 256 == 0) {
			expect_slabs_ok(t, mc);
			EXPECT_OK(t, heap_check(heap_of(0), why, sizeof(why)));
		}
	}
	EXPECT_EQ(t, bad_fill, 0);
	EXPECT_EQ(t, bad_size, 0);
	EXPECT_EQ(t, bad_align, 0);
	EXPECT_EQ(t, bad_place, 0);
	for (i = 0; i < SLOTS; i++)
		if (live[i].p)
			EXPECT_OK(t, mem_free_checked(live[i].p));
	expect_slabs_ok(t, mc);
	mem_drain();
	expect_slabs_ok(t, mc);
	tc_expect_heaps_back(t, before);
}

/* every class's alignment, and mem_alloc_aligned() across sizes and alignments */
static void host_mem_slab_align(struct test *t)
{
	static const size_t sizes[] = { 1, 24, 100, 129, 1000, 3000, 4096, 5000 };
	uint64_t before[NCL];
	unsigned k, i;
	size_t a, got;
	void *p;

	ASSERT_EQ(t, sim_init(0, false), 0);
	tc_heaps_snapshot(before);
	for (k = 0; k < SLAB_NCLASSES; k++) {
		size_t s = slab_classes[k].size;

		ASSERT_OK(t, mem_alloc(s, NULL, MEM_VALID_SYS, &p));
		EXPECT_EQ(t, (uintptr_t)p & (lowbit(s) - 1), 0);
		if (!(s & (s - 1)))
			EXPECT_EQ(t, (uintptr_t)p & (s - 1), 0);	/* a power of two: naturally aligned */
		EXPECT_OK(t, mem_free_checked(p));
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		for (a = 1; a <= 65536; a <<= 1) {
			p = NULL;
			ASSERT_OK(t, mem_alloc_aligned(sizes[i], a, NULL, MEM_VALID_SYS, &p));
			EXPECT_EQ(t, (uintptr_t)p & (a - 1), 0);
			ASSERT_OK(t, mem_getsize(p, &got));
			EXPECT_GE(t, got, sizes[i]);
			memset(p, 0x5c, sizes[i]);
			EXPECT_OK(t, mem_free_checked(p));
		}
	EXPECT_ERR(t, mem_alloc_aligned(64, 0, NULL, MEM_VALID_SYS, &p), ERR_INVAL);
	EXPECT_ERR(t, mem_alloc_aligned(64, 48, NULL, MEM_VALID_SYS, &p), ERR_INVAL);
	EXPECT_ERR(t, mem_alloc_aligned(64, 64, NULL, MEM_VALID_SYS, NULL), ERR_INVAL);
	EXPECT_ERR(t, mem_alloc_aligned(0, 64, NULL, MEM_VALID_SYS, &p), ERR_SIZE);
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/* checked frees of class blocks: interior, misaligned, never carved, slab tail, double, the heap's own free */
static void host_mem_slab_checked(struct test *t)
{
	uint64_t before[NCL];
	struct heap_stats h0, h1;
	struct mm_cpu *mc;
	uint8_t *p, *base;
	size_t got;
	char why[120];

	ASSERT_EQ(t, sim_init(0, false), 0);
	mc = mm_cpu_self();
	tc_heaps_snapshot(before);
	heap_get_stats(heap_of(0), &h0);
	/* class 48 (85 blocks in 4 KiB): a fresh slab's first block is its base */
	ASSERT_OK(t, mem_alloc(48, NULL, MEM_VALID_SYS, (void **)&base));
	EXPECT_EQ(t, (uintptr_t)base & (((uintptr_t)1 << SLAB_MIN_ORDER) - 1), 0);	/* a slab's first page */
	ASSERT_OK(t, mem_alloc(100, NULL, MEM_VALID_SYS, (void **)&p));
	ASSERT_OK(t, mem_getsize(p, &got));
	EXPECT_EQ(t, got, 112);
	EXPECT_ERR(t, mem_free_checked(p + 16), ERR_INTERIOR);
	EXPECT_ERR(t, mem_free_checked(p + 8), ERR_MISALIGNED);
	EXPECT_ERR(t, mem_free_checked(p + 1), ERR_MISALIGNED);
	EXPECT_ERR(t, mem_getsize(p + 16, &got), ERR_INTERIOR);
	EXPECT_ERR(t, mem_free_checked(base + 2 * 48), ERR_DOUBLEFREE);	/* never handed out */
	EXPECT_ERR(t, mem_free_checked(base + 85 * 48), ERR_INTERIOR);			/* the slab's tail */
	mem_free(base + 85 * 48);
	mem_free(p + 16);
	/* the heap refuses to free a slab from under its blocks */
	EXPECT_ERR(t, heap_free(base), ERR_DOUBLEFREE);
	EXPECT_OK(t, heap_check(heap_of(0), why, sizeof(why)));
	expect_slabs_ok(t, mc);
	EXPECT_OK(t, mem_free_checked(p));
	EXPECT_ERR(t, mem_free_checked(p), ERR_DOUBLEFREE);
	EXPECT_ERR(t, mem_getsize(p, &got), ERR_DOUBLEFREE);
	mem_free(p);
	expect_slabs_ok(t, mc);
	EXPECT_OK(t, mem_free_checked(base));
	heap_get_stats(heap_of(0), &h1);
	/* every refusal counted by the heap: 7 checked or inline class-block frees, 1 heap_free() */
	EXPECT_EQ(t, h1.bad_frees, h0.bad_frees + 10);
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/*
 * What the slabs of @mc hold once nothing is live: per class the current slab, a spare, and the slabs that
 * hold the cache's blocks (each counted once), where every other slab was given back. Checks that a
 * partial slab holds nothing but cached blocks.
 */
static uint64_t held_when_idle(struct test *t, const struct mm_cpu *mc)
{
	uint64_t held = 0;
	unsigned k;

	for (k = 0; k < SLAB_NCLASSES; k++) {
		const struct slab_class *ci = &slab_classes[k];
		uint64_t sz = (uint64_t)1 << slab_class_order(ci);
		const struct slab *s;
		const struct slab_blk *b, *c;

		if (mc->slab.cur[k] != &slab_none)
			held += sz;
		for (s = mc->slab.partial[k]; s; s = s->next) {
			unsigned cached = 0;

			for (b = slab_cache_of(&mc->slab, k)->head; b; b = b->next)
				cached += slab_desc_at(mc->slab.desc_bias, (uintptr_t)b & ~(uintptr_t)ci->omask) == s;
			EXPECT_EQ(t, slab_used(s), cached);
			held += sz;
		}
		/* a cached block of a full slab (on no list), or of the current one: that slab counted once */
		for (b = slab_cache_of(&mc->slab, k)->head; b; b = b->next) {
			const struct slab *bs = slab_desc_at(mc->slab.desc_bias, (uintptr_t)b & ~(uintptr_t)ci->omask);
			bool seen = bs->state != SLAB_FULL;

			for (c = slab_cache_of(&mc->slab, k)->head; c != b && !seen; c = c->next)
				seen = slab_desc_at(mc->slab.desc_bias, (uintptr_t)c & ~(uintptr_t)ci->omask) == bs;
			if (!seen)
				held += sz;
		}
	}
	return held;
}

/* garbage collection steps until every cache is idle and empty: the slabs it kept go back */
static void gc_until_empty(struct test *t, struct mm_cpu *mc)
{
	unsigned i, k, left = 0;

	for (i = 0; i < 2 * SLAB_NCLASSES * (64 / SLAB_CACHE_STEP + 1); i++)
		slab_cache_gc(&mc->slab);
	for (k = 0; k < SLAB_NCLASSES; k++)
		left += slab_cache_of(&mc->slab, k)->head != NULL;
	EXPECT_EQ(t, left, 0);
}

/*
 * Empty slabs go back to the heap without a drain: after a burst what stays is the current slab of each
 * class, at most one spare, and the slabs of the blocks the hart's caches keep (at most a cache's bound
 * per class), which garbage collection steps on an idle cache give back.
 */
static void host_mem_slab_empty_returned(struct test *t)
{
	enum { N = 5 * 36 };		/* five slabs of class 112 (36 blocks each) */
	uint64_t before[NCL], given0;
	struct mm_cpu *mc;
	void *v[N];
	unsigned i, k;

	ASSERT_EQ(t, sim_init(0, false), 0);
	mc = mm_cpu_self();
	tc_heaps_snapshot(before);
	given0 = mc->slab.cnt.slabs_given;
	for (i = 0; i < N; i++)
		ASSERT_OK(t, mem_alloc(100, NULL, MEM_VALID_SYS, &v[i]));
	EXPECT_EQ(t, before[0] - heap_free_bytes(0), 5 * 4096);	/* N blocks fill exactly five slabs */
	for (i = 0; i < N; i++)
		mem_free(v[i]);
	/* the first slab's 36 blocks went into the cache (its bound), the other frees into their slabs */
	EXPECT_EQ(t, slab_cache_of(&mc->slab, slab_size_class(100))->room, 0);
	EXPECT_EQ(t, before[0] - heap_free_bytes(0), 2 * 4096);	/* that slab and the current one */
	EXPECT_EQ(t, before[0] - heap_free_bytes(0), held_when_idle(t, mc));
	EXPECT_EQ(t, mc->slab.cnt.slabs_given - given0, 3);
	expect_slabs_ok(t, mc);
	gc_until_empty(t, mc);
	EXPECT_EQ(t, before[0] - heap_free_bytes(0), 4096);	/* one empty slab stays: the current one */
	EXPECT_TRUE(t, mc->slab.spare[slab_size_class(100)] == NULL);
	EXPECT_EQ(t, mc->slab.cnt.slabs_given - given0, 4);	/* all five but the current one */
	expect_slabs_ok(t, mc);
	/* a burst in every class, freed in a shuffled order: the current slabs and the caches' stay */
	{
		static void *w[SLAB_NCLASSES][40];
		uint64_t rng = 0x9e3779b97f4a7c15ull, cur = 0;

		for (k = 0; k < SLAB_NCLASSES; k++)
			for (i = 0; i < 40; i++)
				ASSERT_OK(t, mem_alloc(slab_classes[k].size, NULL, MEM_VALID_SYS, &w[k][i]));
		for (i = 0; i < 40 * SLAB_NCLASSES; i++) {
			unsigned a = (unsigned)(test_rand(&rng) % SLAB_NCLASSES), b = (unsigned)(test_rand(&rng) % 40);

			if (w[a][b]) {
				mem_free(w[a][b]);
				w[a][b] = NULL;
			}
		}
		for (k = 0; k < SLAB_NCLASSES; k++)
			for (i = 0; i < 40; i++)
				if (w[k][i])
					mem_free(w[k][i]);
		EXPECT_EQ(t, before[0] - heap_free_bytes(0), held_when_idle(t, mc));
		expect_slabs_ok(t, mc);
		gc_until_empty(t, mc);
		for (k = 0; k < SLAB_NCLASSES; k++) {
			/* one empty slab per class at most: the current one, or a spare on the partial list */
			if (mc->slab.cur[k] != &slab_none)
				cur += (uint64_t)1 << slab_class_order(&slab_classes[k]);
			EXPECT_TRUE(t, mc->slab.spare[k] == NULL || mc->slab.cur[k] == &slab_none);
			if (mc->slab.spare[k])
				cur += (uint64_t)1 << slab_class_order(&slab_classes[k]);
			EXPECT_TRUE(t, mc->slab.partial[k] == mc->slab.spare[k] &&
				       (!mc->slab.partial[k] || !mc->slab.partial[k]->next));
		}
		EXPECT_EQ(t, before[0] - heap_free_bytes(0), cur);
	}
	expect_slabs_ok(t, mc);
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/*
 * A free does at most one buddy operation: the free that empties a slab and gives it back takes no
 * garbage-collection step, which on an idle cache would free its blocks into their slabs and give one
 * of those back as well. Class 4096 (one block per slab, a cache of 2): two cached blocks, a spare, and
 * the cache made idle just before the free that gives its slab back.
 */
static void host_mem_slab_one_give_per_free(struct test *t)
{
	uint64_t before[NCL], given;
	unsigned k = slab_size_class(4096), i;
	struct slab_cache *m;
	struct mm_cpu *mc;
	void *v[5];

	ASSERT_EQ(t, sim_init(0, false), 0);
	mc = mm_cpu_self();
	tc_heaps_snapshot(before);
	for (i = 0; i < 5; i++)
		ASSERT_OK(t, mem_alloc(4096, NULL, MEM_VALID_SYS, &v[i]));
	mem_free(v[0]);
	mem_free(v[1]);
	EXPECT_EQ(t, slab_cache_of(&mc->slab, k)->room, 0);	/* both cached: the cache is full */
	mem_free(v[2]);
	EXPECT_TRUE(t, mc->slab.spare[k] != NULL);	/* its slab stays as the class's spare */
	m = slab_cache_of(&mc->slab, k);
	m->seen = SLAB_CACHE_SEEN(m->head);	/* idle since the last step ... */
	mc->slab.gc_next = k;				/* ... and the next step's */
	given = mc->slab.cnt.slabs_given;
	mem_free(v[3]);				/* its slab empties, and there is a spare: back to the heap */
	EXPECT_EQ(t, mc->slab.cnt.slabs_given - given, 1);
	EXPECT_TRUE(t, slab_cache_of(&mc->slab, k)->head != NULL);	/* no step took the cache's blocks */
	expect_slabs_ok(t, mc);
	mem_free(v[4]);
	gc_until_empty(t, mc);
	expect_slabs_ok(t, mc);
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/*
 * A block of another hart's slab in the same cluster: freed into the freeing hart's cache (no batch, no
 * atomic), handed out to it again (LIFO), and sent to its owner only when that cache is drained.
 */
static void *slab_neighbour_blocks[8];
static void *slab_neighbour_again[8];
static struct slab_counters slab_neighbour_cnt;
static unsigned slab_neighbour_cached;

static void *slab_neighbour_thread(void *arg)
{
	struct slab_cache *m;
	const struct slab_blk *b;
	unsigned i;

	(void)arg;
	become(1);	/* cluster 0, as hart 0 */
	m = slab_cache_of(&mm_cpu_self()->slab, slab_size_class(200));
	for (i = 0; i < 8; i++)
		mem_free(slab_neighbour_blocks[i]);
	for (b = m->head; b; b = b->next)
		slab_neighbour_cached++;
	for (i = 0; i < 8; i++)
		if (mem_alloc(200, NULL, MEM_VALID_SYS, &slab_neighbour_again[i]))
			slab_neighbour_again[i] = NULL;
	for (i = 0; i < 8; i++)
		mem_free(slab_neighbour_again[i]);
	slab_neighbour_cnt = mm_cpu_self()->slab.cnt;
	mem_drain();	/* the cache goes to hart 0's inbox: one batch */
	slab_neighbour_cnt.remote_pushes = mm_cpu_self()->slab.cnt.remote_pushes - slab_neighbour_cnt.remote_pushes;
	slab_neighbour_cnt.remote_frees = mm_cpu_self()->slab.cnt.remote_frees - slab_neighbour_cnt.remote_frees;
	return NULL;
}

static void host_mem_slab_cache_neighbour(struct test *t)
{
	uint64_t before[NCL];
	struct mm_cpu *mc;
	pthread_t th;
	unsigned i;

	ASSERT_EQ(t, sim_init(0, false), 0);
	mc = mm_cpu_self();
	tc_heaps_snapshot(before);
	slab_neighbour_cached = 0;
	for (i = 0; i < 8; i++)
		ASSERT_OK(t, mem_alloc(200, NULL, MEM_VALID_SYS, &slab_neighbour_blocks[i]));
	ASSERT_EQ(t, pthread_create(&th, NULL, slab_neighbour_thread, NULL), 0);
	pthread_join(th, NULL);
	EXPECT_EQ(t, slab_neighbour_cached, 8);
	for (i = 0; i < 8; i++)	/* the most recent free first */
		EXPECT_TRUE(t, slab_neighbour_again[i] == slab_neighbour_blocks[7 - i]);
	/* until its drain, no remote free and no inbox push; then one batch of 8 */
	EXPECT_EQ(t, slab_neighbour_cnt.double_frees + slab_neighbour_cnt.bad_frees, 0);
	EXPECT_EQ(t, slab_neighbour_cnt.remote_pushes, 1);
	EXPECT_EQ(t, slab_neighbour_cnt.remote_frees, 8);
	EXPECT_TRUE(t, __atomic_load_n(&mc->slab.inbox, __ATOMIC_ACQUIRE) != NULL);
	expect_slabs_ok(t, mc);
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/*
 * slab_usage(), the footprint report's breakdown: one and a half slabs of a class allocated, five blocks
 * of the full first slab freed into the cache. The full slab is on no list and counts nothing; the current
 * one counts its free blocks (never-carved ones included) and its tail; the cache its five blocks.
 */
static void host_mem_slab_usage(struct test *t)
{
	const struct slab_class *ci = &slab_classes[slab_size_class(200)];
	static void *p[128];
	uint64_t before[NCL];
	struct slab_usage u;
	struct mm_cpu *mc;
	unsigned i, n = ci->n, total = n + n / 2;

	ASSERT_EQ(t, sim_init(0, false), 0);
	ASSERT_TRUE(t, total <= 128 && n >= 6);
	mc = mm_cpu_self();
	tc_heaps_snapshot(before);
	slab_usage(&mc->slab, &u);
	EXPECT_EQ(t, u.cached + u.slab_free + u.spare + u.slab_tail + u.slabs, 0);
	for (i = 0; i < total; i++)
		ASSERT_OK(t, mem_alloc(200, NULL, MEM_VALID_SYS, &p[i]));
	for (i = 0; i < 5; i++)
		mem_free(p[i]);
	slab_usage(&mc->slab, &u);
	EXPECT_EQ(t, u.cached, 5ull * ci->size);
	EXPECT_EQ(t, u.slab_free, (uint64_t)(n - n / 2) * ci->size);
	EXPECT_EQ(t, u.slab_tail, ((uint64_t)1 << slab_class_order(ci)) - (uint64_t)n * ci->size);
	EXPECT_EQ(t, u.spare, 0);
	EXPECT_EQ(t, u.slabs, 1);
	for (i = 5; i < total; i++)
		mem_free(p[i]);
	expect_slabs_ok(t, mc);
	mem_drain();
	slab_usage(&mc->slab, &u);
	EXPECT_EQ(t, u.cached + u.slab_free + u.spare + u.slab_tail + u.slabs, 0);
	tc_expect_heaps_back(t, before);
}

/* remote frees: hart 2 (cluster 1) frees hart 0's blocks: batched, one compare-and-swap per 8 */
static void *slab_remote_blocks[64];
static struct slab_counters slab_remote_cnt;
static error_t slab_remote_err[3];

static void *slab_remote_thread(void *arg)
{
	unsigned i;

	(void)arg;
	become(2);
	for (i = 0; i < 64; i++)
		mem_free(slab_remote_blocks[i]);
	slab_remote_err[0] = mem_free_checked(slab_remote_blocks[5]);	/* in its batch: a double free */
	slab_remote_err[1] = mem_free_checked(slab_remote_blocks[63]);	/* pushed already: so is this */
	slab_remote_err[2] = mem_free_checked((char *)slab_remote_blocks[7] + 16);
	slab_remote_cnt = mm_cpu_self()->slab.cnt;
	mem_drain();
	return NULL;
}

static void host_mem_slab_remote(struct test *t)
{
	uint64_t before[NCL];
	struct mm_cpu *mc;
	pthread_t th;
	unsigned i;

	ASSERT_EQ(t, sim_init(0, false), 0);
	mc = mm_cpu_self();
	tc_heaps_snapshot(before);
	for (i = 0; i < 64; i++)
		ASSERT_OK(t, mem_alloc(200, NULL, MEM_VALID_SYS, &slab_remote_blocks[i]));
	ASSERT_EQ(t, pthread_create(&th, NULL, slab_remote_thread, NULL), 0);
	pthread_join(th, NULL);
	EXPECT_EQ(t, slab_remote_cnt.remote_frees, 64);
	EXPECT_EQ(t, slab_remote_cnt.remote_pushes, 64 / SLAB_REMOTE_BATCH);
	EXPECT_ERR(t, slab_remote_err[0], ERR_DOUBLEFREE);
	EXPECT_ERR(t, slab_remote_err[1], ERR_DOUBLEFREE);
	EXPECT_ERR(t, slab_remote_err[2], ERR_INTERIOR);
	/* in hart 0's inbox now, not yet in its slabs: a free here is a double free too */
	EXPECT_TRUE(t, mc->slab.inbox != NULL);
	EXPECT_ERR(t, mem_free_checked(slab_remote_blocks[0]), ERR_DOUBLEFREE);
	EXPECT_TRUE(t, heap_free_bytes(0) < before[0]);
	expect_slabs_ok(t, mc);
	mem_drain();
	EXPECT_TRUE(t, mc->slab.inbox == NULL && mc->slab.pending == NULL);
	EXPECT_EQ(t, mc->slab.cnt.inbox_blocks, 64);
	expect_slabs_ok(t, mc);
	tc_expect_heaps_back(t, before);
}

/* ---- exhaustion ---- */

static void host_mem_exhaust_recover(struct test *t)
{
	void *const sentinel = (void *)0x5a5a5a40;
	struct tc_blk *list = NULL;
	uint64_t before[NCL];
	unsigned round;
	void *p = sentinel;

	ASSERT_EQ(t, sim_init(0, false), 0);
	tc_heaps_snapshot(before);
	/* twice: the second round proves the first gave everything back */
	for (round = 0; round < 2; round++) {
		/* every heap empty, every proximity refusing: the shared body (tests/common/mem_cases.c) */
		(void)tc_mem_exhaust_all(t, &list);
		p = sentinel;
		/* no private region here: a cpu-private request has nowhere else to go */
		EXPECT_ERR(t, mem_alloc(16, NULL, MEM_VALID_CPU, &p), ERR_NOMEM);
		EXPECT_TRUE(t, p == sentinel);
		EXPECT_EQ(t, tc_blk_free_all(&list), 0);
		mem_drain();
		tc_expect_heaps_back(t, before);
	}
	EXPECT_OK(t, mem_alloc((size_t)1 << 20, NULL, MEM_VALID_SYS, &p));
	EXPECT_OK(t, mem_free_checked(p));
	mem_drain();
	tc_expect_heaps_back(t, before);
}

/* ---- pthread stress: tests/common/mem_cases.c's tc_stress_run(), one thread per hart ---- */

#define S_OPS 20000

static pthread_barrier_t s_bar;

static bool s_in_priv(const void *p)
{
	return in_priv(p);
}

static const struct tc_stress_env s_env = {
	.nharts = NHARTS, .nclusters = NCL, .ops = S_OPS, .dma = true, .in_private = s_in_priv,
};

static void *stress_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;

	become(me);
	pthread_barrier_wait(&s_bar);
	tc_stress_run(&s_env, me, test_seed_for(NULL, 0x100 + me));
	pthread_barrier_wait(&s_bar);
	/* what others handed over after this thread's last look; then the remote frees (mm/slab.h) */
	tc_stress_res[me].received += tc_stress_poll(me, &tc_stress_res[me]);
	mem_drain();
	pthread_barrier_wait(&s_bar);
	mem_drain();
	pthread_barrier_wait(&s_bar);
	return NULL;
}

static void host_mem_stress(struct test *t)
{
	struct tc_stress_res late = { 0 }, sum;
	uint64_t before[NCL], limit, leftover = 0;
	pthread_t th[NHARTS];
	unsigned h;

	ASSERT_EQ(t, sim_init(0, false), 0);
	limit = low_arena_end(NULL);
	ASSERT_EQ(t, sim_init(limit, true), 0);
	mem_drain();
	tc_heaps_snapshot(before);
	tc_stress_reset();
	(void)test_seed_for(t, 0);	/* each thread's sequence: test_seed_for(NULL, 0x100 + hart index) */
	ASSERT_EQ(t, pthread_barrier_init(&s_bar, NULL, NHARTS), 0);
	for (h = 0; h < NHARTS; h++)
		ASSERT_EQ(t, pthread_create(&th[h], NULL, stress_thread, (void *)(uintptr_t)h), 0);
	for (h = 0; h < NHARTS; h++)
		pthread_join(th[h], NULL);
	pthread_barrier_destroy(&s_bar);
	become(0);
	/* every thread emptied its mailbox after the last hand-over: nothing may be left */
	for (h = 0; h < NHARTS; h++)
		leftover += tc_stress_poll(h, &late);
	EXPECT_EQ(t, leftover, 0);
	tc_stress_expect(t, &s_env, &late, leftover, &sum);
	EXPECT_EQ(t, sum.ran, NHARTS);
	test_log("stress: %u threads x %u ops: %llu allocs, %llu frees, %llu handed to other threads", NHARTS,
		 S_OPS, (unsigned long long)sum.allocs, (unsigned long long)sum.frees,
		 (unsigned long long)sum.handed);
	tc_expect_heaps_back(t, before);
	/* and the private regions are whole again: each takes a block of almost its full size */
	{
		void *p;

		EXPECT_OK(t, mem_alloc(PRIV_SIZE / 2 - 4096, mem_prox_strict(PRIV_CLUSTER), MEM_VALID_CLUSTER, &p));
		EXPECT_TRUE(t, in_priv(p));
		EXPECT_OK(t, mem_free_checked(p));
	}
}

TEST_SUITE(host_mem, TEST_CASE(host_mem_args), TEST_CASE(host_mem_orders_and_xy), TEST_CASE(host_mem_placement),
	   TEST_CASE(host_mem_fallback_order), TEST_CASE(host_mem_equal_group), TEST_CASE(host_mem_memoryless),
	   TEST_CASE(host_mem_global), TEST_CASE(host_mem_dma), TEST_CASE(host_mem_dma_straddle),
	   TEST_CASE(host_mem_private), TEST_CASE(host_mem_private_pages),
	   TEST_CASE(host_mem_caller_prox),
	   TEST_CASE(host_mem_checked_frees), TEST_CASE(host_mem_free_large_unchecked),
	   TEST_CASE(host_mem_free_never_split), TEST_CASE(host_mem_page_runs), TEST_CASE(host_mem_slab_table_copy),
	   TEST_CASE(host_mem_slab_fast_double_free),
	   TEST_CASE(host_mem_slab_fast_block_start), TEST_CASE(host_mem_slab_bump_untouched),
	   TEST_CASE(host_mem_slab_model), TEST_CASE(host_mem_slab_align), TEST_CASE(host_mem_slab_checked),
	   TEST_CASE(host_mem_slab_empty_returned), TEST_CASE(host_mem_slab_one_give_per_free),
	   TEST_CASE(host_mem_slab_cache_neighbour),
	   TEST_CASE(host_mem_slab_remote), TEST_CASE(host_mem_slab_usage),
	   TEST_CASE(host_mem_exhaust_recover), TEST_CASE(host_mem_stress));
