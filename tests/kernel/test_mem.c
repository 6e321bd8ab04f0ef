/* test_mem.c - in-kernel suites for mem_alloc(): placement, fallback order, reachability, regions, stress. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/printk.h"
#include "kernel/smp.h"
#include "mm/cma.h"
#include "mm/cpu.h"
#include "mm/env.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/mem_internal.h"
#include "mm/slab.h"
#include "tests/common/mem_cases.h"
#include "tests/test.h"

/*
 * Every case runs on whatever topology the runner booted and skips only what that topology cannot show
 * (one cluster with memory, no memoryless cluster, no dma_limit=, no private=). Cases that allocate from
 * every hart (smp_call_all(), all at once: the heap locks' waiters sleep instead of convoying, see
 * kernel/lock.c) keep per-hart verdicts in hres[], indexed by CLS
 * index, and the boot hart turns them into checks afterwards: harts other than the caller never print.
 *
 * Byte accounting: a freed small block may sit in a per-hart cache or in a remote-free batch, both of which
 * the heap counts as used. Every "0 bytes lost" check therefore runs mem_drain() on every hart (smp_mem_drain_all())
 * before taking the "before" snapshot and again before the "after" one.
 */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIG_REQ ((size_t)64 << 10)	/* above the cache's 4 KiB: always takes the proximity walk */

/* ---- helpers ---- */

static unsigned nclusters(void)
{
	return boot_topo.nclusters;
}

/* a cluster "has memory" when its heap got RAM (a withheld cluster has RAM in the DT but no heap) */
static bool has_mem(unsigned c)
{
	const struct heap *h = heap_of(c);

	return h && h->size;
}

static unsigned nmem_clusters(void)
{
	unsigned c, n = 0;

	for (c = 0; c < nclusters(); c++)
		n += has_mem(c);
	return n;
}

static unsigned dist(unsigned from, unsigned to)
{
	return boot_topo.cluster[from].dist[to];
}

/* the smallest distance from @c to a cluster with memory (@c itself included) */
static unsigned nearest_mem_dist(unsigned c)
{
	unsigned m, best = ~0u;

	for (m = 0; m < nclusters(); m++)
		if (has_mem(m) && dist(c, m) < best)
			best = dist(c, m);
	return best;
}

static bool in_cluster_ram(unsigned c, const void *p, size_t size)
{
	const struct topo_range *m = &boot_topo.cluster[c].mem;
	uintptr_t a = (uintptr_t)p;

	return c < nclusters() && m->size && a >= m->base && a - m->base <= m->size &&
	       size <= m->size - (a - m->base);
}

static bool is_region(const struct mem_receipt *r, const char *name)
{
	return r->region && !strcmp(r->region, name);
}

/* ticks of mm_clock() (the time CSR) per second, for the informational timings in the logs */
static uint64_t tb_hz(void)
{
	return boot_topo.timebase_hz;	/* the DT parser refuses < 1 kHz */
}

/* the block size as its allocator rounded it: a size class's (mm/slab.h) or a heap block's */
static error_t raw_size(const void *p, size_t *got)
{
	int e = slab_getsize(heap_owner(p), (uintptr_t)p, got);

	return e == 1 ? heap_getsize(p, got) : e;
}

/*
 * need_mem() - a case that needs memory looks first: unless every cluster with memory has a free block of
 * @largest bytes and @total bytes free (caches drained first), the case skips, saying which cluster lacks
 * what (a heap_limit= machine: the allocator is right to refuse, the case would not be).
 */
static bool need_mem(struct test *t, uint64_t largest, uint64_t total)
{
	static char why[160];
	unsigned c;

	smp_mem_drain_all();
	for (c = 0; c < nclusters(); c++) {
		struct heap_stats st;

		if (!has_mem(c))
			continue;
		heap_get_stats(heap_of(c), &st);
		if (st.largest_free >= largest && st.free_bytes >= total)
			continue;
		snprintf(why, sizeof(why), "cluster %u has %llu bytes free, largest block %llu: the case needs %llu "
			 "free and a block of %llu", c, (unsigned long long)st.free_bytes,
			 (unsigned long long)st.largest_free, (unsigned long long)total, (unsigned long long)largest);
		test_skip(t, why);
		return false;
	}
	return true;
}

/* ---- per-hart verdicts ---- */

struct hart_res {
	uint32_t ran;
	uint32_t bad;			/* failed checks */
	unsigned line;			/* line of the first failed check */
	uint64_t a, b;			/* two values of the first failed check */
};

static struct hart_res hres[TOPO_MAX_HARTS];

static void hart_fail(struct hart_res *r, unsigned line, uint64_t a, uint64_t b)
{
	if (!r->bad++) {
		r->line = line;
		r->a = a;
		r->b = b;
	}
}

/* a check on any hart: records the line and two values of the first failure (printed by the boot hart) */
#define HCHECK(r, cond, va, vb)                                                                     \
	do {                                                                                        \
		if (!(cond))                                                                        \
			hart_fail((r), __LINE__, (uint64_t)(va), (uint64_t)(vb));                   \
	} while (0)

static void hres_reset(void)
{
	memset(hres, 0, sizeof(hres));
}

static struct hart_res *hres_self(void)
{
	struct hart_res *r = &hres[cls_self()->index];

	r->ran++;
	return r;
}

static void expect_harts_ok(struct test *t, const char *what)
{
	unsigned i;

	for (i = 0; i < boot_topo.nharts; i++) {
		if (!smp_hart_up(i))
			continue;
		EXPECT_EQ(t, hres[i].ran, 1);
		if (hres[i].bad)
			test_log("%s: hart index %u (cluster %u): %u failed checks, first at test_mem.c:%u "
				 "(0x%llx, 0x%llx)", what, i, cls_of(i)->cluster, (unsigned)hres[i].bad,
				 hres[i].line, (unsigned long long)hres[i].a, (unsigned long long)hres[i].b);
		EXPECT_EQ(t, hres[i].bad, 0);
	}
}

/* ---- argument errors ---- */

/* the shared body (tests/common/mem_cases.c) through cluster 0's proximities, on this topology */
static void mem_args_errors(struct test *t)
{
	tc_mem_args(t, 0);
}

/* ---- placement with the default proximity, on every hart ---- */

static const size_t place_sizes[] = { 1, 64, 100, 4096, 4097, 65536, 1 << 20 };

static void place_body(void *arg)
{
	struct hart_res *r = hres_self();
	struct cls *me = cls_self();
	unsigned c = me->cluster, order[TOPO_MAX_CLUSTERS], near = nearest_mem_dist(c), i;

	(void)arg;
	/* order[0] indexes heap_of() below: without one, this hart has nothing to check */
	if (mem_prox_order(c, order, TOPO_MAX_CLUSTERS) < 1) {
		hart_fail(r, __LINE__, c, 0);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(place_sizes); i++) {
		size_t want = place_sizes[i], got = 0;
		struct mem_receipt rc;
		void *p = NULL, *q = NULL;
		error_t e;

		/* a first choice made tiny by fault injection (heap_limit=) cannot be the first choice of big requests */
		if (want > heap_of(order[0])->size / 4)
			continue;
		e = mem_alloc_receipt(want, NULL, MEM_VALID_SYS, &p, &rc);

		HCHECK(r, e == 0, e, want);
		if (e)
			continue;
		/* first choice: the own cluster, or (memoryless / withheld) a nearest cluster with memory */
		if (has_mem(c))
			HCHECK(r, rc.cluster == c, rc.cluster, want);
		else
			HCHECK(r, has_mem(rc.cluster) && dist(c, rc.cluster) == near, rc.cluster, want);
		if (rc.cached)
			HCHECK(r, rc.cluster == order[0], rc.cluster, order[0]);
		HCHECK(r, in_cluster_ram(rc.cluster, p, want), (uintptr_t)p, rc.cluster);
		HCHECK(r, heap_owner(p) == heap_of(rc.cluster), (uintptr_t)p, rc.cluster);
		HCHECK(r, rc.rank == 0 && !rc.fallback, rc.rank, rc.fallback);
		HCHECK(r, is_region(&rc, "heap"), (uintptr_t)p, 0);
		/*
		 * a size class up to 4 KiB (aligned to the lowest set bit of its size), else a heap block: a
		 * power of two >= 64 holding the request, naturally aligned
		 */
		HCHECK(r, raw_size(p, &got) == 0 && got >= want && got >= 16 &&
			  (got <= SLAB_MAX_SIZE || !(got & (got - 1))), got, want);
		HCHECK(r, got && !((uintptr_t)p & ((got & -got) - 1)), (uintptr_t)p, got);
		/* usable size: the block (the debug allocator answers the requested size) */
		HCHECK(r, mem_getsize(p, &got) == 0 && got >= want, got, want);
		memset(p, 0xa5, want);

		/* the same through plain mem_alloc() (its own fast path) */
		e = mem_alloc(want, NULL, MEM_VALID_SYS, &q);
		HCHECK(r, e == 0, e, want);
		if (!e) {
			if (has_mem(c))
				HCHECK(r, in_cluster_ram(c, q, want), (uintptr_t)q, c);
			else
				HCHECK(r, heap_owner(q) && dist(c, heap_owner(q)->cluster) == near, (uintptr_t)q, near);
			HCHECK(r, q != p, (uintptr_t)q, (uintptr_t)p);
			HCHECK(r, mem_free_checked(q) == 0, (uintptr_t)q, want);
		}
		HCHECK(r, mem_free_checked(p) == 0, (uintptr_t)p, want);
	}
}

static void mem_placement_default(struct test *t)
{
	unsigned c, i, k = nmem_clusters();
	uint64_t t0;

	/* the preference orders: every cluster with memory once, nearest first, the own cluster first */
	for (c = 0; c < nclusters(); c++) {
		static unsigned order[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
		unsigned n = mem_prox_order(c, order, TOPO_MAX_CLUSTERS);
		struct topo_set seen = { { 0 } };

		EXPECT_EQ(t, n, k);
		for (i = 0; i < n; i++) {
			EXPECT_TRUE(t, order[i] < nclusters() && has_mem(order[i]));
			EXPECT_EQ(t, topo_set_has(&seen, order[i]), 0);
			topo_set_add(&seen, order[i]);
			if (i)
				EXPECT_LE(t, dist(c, order[i - 1]), dist(c, order[i]));
		}
		if (!n)
			continue;
		if (has_mem(c))
			EXPECT_EQ(t, order[0], c);
		EXPECT_EQ(t, dist(c, order[0]), nearest_mem_dist(c));
	}
	/* every hart holds two blocks of each size at a time, its cache some more */
	if (!need_mem(t, 0, 256 * 1024))
		return;
	hres_reset();
	t0 = mm_clock();
	smp_call_all(place_body, NULL);
	test_log("placement on %u harts at once: %llu ms", smp_nharts(),
		 (unsigned long long)((mm_clock() - t0) / (tb_hz() / 1000)));
	expect_harts_ok(t, "placement");
}

/* ---- fallback in distance order ---- */

/* the cluster with memory whose heap is smallest (quickest to exhaust); ties: lowest id */
static unsigned smallest_mem_cluster(void)
{
	unsigned c, best = TOPO_MAX_CLUSTERS;

	for (c = 0; c < nclusters(); c++)
		if (has_mem(c) && (best == TOPO_MAX_CLUSTERS || heap_of(c)->size < heap_of(best)->size))
			best = c;
	return best;
}

/*
 * Exhaust cluster c through its strict proximity, then ask c's (falling-back) proximity again and again:
 * each answer must come from the next group of equally distant clusters, from the member with the most
 * free memory, with the counters moving by exactly one. After each answer the whole group is exhausted
 * too, until nothing is left and the proximity says ERR_NOMEM.
 */
static void mem_fallback_distance_order(struct test *t)
{
	void *const sentinel = (void *)0x5a5a5a40;
	static unsigned order[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	unsigned c = smallest_mem_cluster(), n, i, nblocks = 0;
	static uint64_t before[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	struct topo_set done = { { 0 } };
	struct mem_cluster_stats s0, s1;
	struct tc_blk *list = NULL;
	void *p = sentinel;
	error_t e;

	if (nmem_clusters() < 2) {
		test_skip(t, "fewer than 2 clusters with memory: nothing to fall back to");
		return;
	}
	if (!need_mem(t, BIG_REQ, 0))	/* each answer is a BIG_REQ block of the next cluster */
		return;
	n = mem_prox_order(c, order, TOPO_MAX_CLUSTERS);
	ASSERT_EQ(t, n, nmem_clusters());
	ASSERT_EQ(t, order[0], c);
	smp_mem_drain_all();
	tc_heaps_snapshot(before);

	e = tc_exhaust_strict(c, &list, &nblocks);
	EXPECT_ERR(t, e, ERR_EXHAUSTED);
	EXPECT_EQ(t, heap_free_bytes(c), 0);
	topo_set_add(&done, c);
	/* strict: no fallback, its own code, *addr untouched, one failure counted for c */
	mem_cluster_get_stats(c, &s0);
	EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(c), MEM_VALID_SYS, &p), ERR_EXHAUSTED);
	EXPECT_ERR(t, mem_alloc(BIG_REQ, mem_prox_strict(c), MEM_VALID_SYS, &p), ERR_EXHAUSTED);
	EXPECT_TRUE(t, p == sentinel);
	mem_cluster_get_stats(c, &s1);
	EXPECT_EQ(t, s1.failures, s0.failures + 2);

	for (i = 1; i < n;) {
		unsigned d = dist(c, order[i]), g = i, j;
		static struct mem_cluster_stats sv0[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
		struct mem_cluster_stats sc0, sc1, sv1;
		static uint64_t fr[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
		struct mem_receipt rc;

		while (g < n && dist(c, order[g]) == d)
			g++;
		for (j = 0; j < nclusters(); j++) {
			fr[j] = has_mem(j) ? heap_free_bytes(j) : 0;
			mem_cluster_get_stats(j, &sv0[j]);
		}
		sc0 = sv0[c];
		p = NULL;
		e = mem_alloc_receipt(BIG_REQ, mem_prox_cluster(c), MEM_VALID_SYS, &p, &rc);
		ASSERT_OK(t, e);
		tc_blk_push(&list, p);
		ASSERT_TRUE(t, rc.cluster < nclusters());	/* an index of dist() and fr[] below */
		test_log("fallback from cluster %u: served by cluster %u (distance %u, rank %u)", c, rc.cluster,
			 dist(c, rc.cluster), rc.rank);
		EXPECT_TRUE(t, rc.fallback);
		EXPECT_EQ(t, rc.rank, i);
		EXPECT_EQ(t, dist(c, rc.cluster), d);
		EXPECT_EQ(t, topo_set_has(&done, rc.cluster), 0);
		EXPECT_TRUE(t, in_cluster_ram(rc.cluster, p, BIG_REQ));
		EXPECT_TRUE(t, is_region(&rc, "heap"));
		/* inside the group the most free cluster goes first */
		for (j = i; j < g; j++)
			EXPECT_GE(t, fr[rc.cluster], fr[order[j]]);
		/* one fallback: out of c, into the server, nothing else */
		mem_cluster_get_stats(c, &sc1);
		mem_cluster_get_stats(rc.cluster, &sv1);
		EXPECT_EQ(t, sc1.fallbacks_out, sc0.fallbacks_out + 1);
		EXPECT_EQ(t, sc1.fallbacks_in, sc0.fallbacks_in);
		EXPECT_EQ(t, sc1.failures, sc0.failures);
		EXPECT_EQ(t, sv1.fallbacks_in, sv0[rc.cluster].fallbacks_in + 1);
		EXPECT_EQ(t, sv1.fallbacks_out, sv0[rc.cluster].fallbacks_out);
		/* now the whole group goes, and the next answer must come from further away */
		for (j = i; j < g; j++) {
			EXPECT_ERR(t, tc_exhaust_strict(order[j], &list, &nblocks), ERR_EXHAUSTED);
			EXPECT_EQ(t, heap_free_bytes(order[j]), 0);
			topo_set_add(&done, order[j]);
		}
		i = g;
	}
	/* every cluster with memory is full: the falling-back proximity has nothing left */
	p = sentinel;
	mem_cluster_get_stats(c, &s0);
	EXPECT_ERR(t, mem_alloc(BIG_REQ, mem_prox_cluster(c), MEM_VALID_SYS, &p), ERR_NOMEM);
	EXPECT_ERR(t, mem_alloc(64, mem_prox_cluster(c), MEM_VALID_SYS, &p), ERR_NOMEM);
	EXPECT_TRUE(t, p == sentinel);
	mem_cluster_get_stats(c, &s1);
	EXPECT_EQ(t, s1.failures, s0.failures + 2);
	test_log("%u blocks held to exhaust %u clusters", nblocks, n);

	EXPECT_EQ(t, tc_blk_free_all(&list), 0);
	smp_mem_drain_all();
	tc_expect_heaps_back(t, before);
}

/*
 * The same on a fixed pair: the fallback counters of c and of its server each move by exactly one per
 * fallback, checked with snapshots taken before the request.
 */
static void mem_fallback_counters(struct test *t)
{
	static unsigned order[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	unsigned c = smallest_mem_cluster(), m, n;
	static struct mem_cluster_stats srv0[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	struct mem_cluster_stats c0, c1, srv1;
	static uint64_t before[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	struct tc_blk *list = NULL;
	struct mem_receipt rc;
	void *p;
	error_t e;

	if (nmem_clusters() < 2) {
		test_skip(t, "fewer than 2 clusters with memory: nothing to fall back to");
		return;
	}
	if (!need_mem(t, BIG_REQ, 0))	/* the fallback serves a BIG_REQ block */
		return;
	n = mem_prox_order(c, order, TOPO_MAX_CLUSTERS);
	ASSERT_GE(t, n, 2);
	smp_mem_drain_all();
	tc_heaps_snapshot(before);
	EXPECT_ERR(t, tc_exhaust_strict(c, &list, NULL), ERR_EXHAUSTED);
	for (m = 0; m < nclusters(); m++)
		mem_cluster_get_stats(m, &srv0[m]);
	mem_cluster_get_stats(c, &c0);
	e = mem_alloc_receipt(BIG_REQ, mem_prox_cluster(c), MEM_VALID_SYS, &p, &rc);
	ASSERT_OK(t, e);
	tc_blk_push(&list, p);
	/* the nearest by the distance map: order[1], or any cluster at the same distance */
	EXPECT_TRUE(t, rc.cluster == order[1] || dist(c, rc.cluster) == dist(c, order[1]));
	EXPECT_TRUE(t, rc.fallback && rc.rank == 1);
	mem_cluster_get_stats(c, &c1);
	mem_cluster_get_stats(rc.cluster, &srv1);
	EXPECT_EQ(t, c1.fallbacks_out, c0.fallbacks_out + 1);
	EXPECT_EQ(t, c1.failures, c0.failures);
	EXPECT_EQ(t, srv1.fallbacks_in, srv0[rc.cluster].fallbacks_in + 1);
	EXPECT_EQ(t, srv1.local_hits, srv0[rc.cluster].local_hits);
	EXPECT_EQ(t, tc_blk_free_all(&list), 0);
	smp_mem_drain_all();
	tc_expect_heaps_back(t, before);
}

/* ---- memoryless (or withheld) clusters ---- */

static void mem_memoryless_strict(struct test *t)
{
	unsigned c, found = 0;

	for (c = 0; c < nclusters(); c++) {
		struct mem_receipt rc;
		void *p;
		error_t e;

		if (has_mem(c))
			continue;
		found++;
		/* the strict proximity refuses (the shared body, tests/common/mem_cases.c) */
		tc_mem_memoryless_strict(t, c);
		/* its falling-back proximity starts at a nearest cluster with memory: not a fallback */
		e = mem_alloc_receipt(BIG_REQ, mem_prox_cluster(c), MEM_VALID_SYS, &p, &rc);
		EXPECT_OK(t, e);
		if (!e) {
			EXPECT_TRUE(t, has_mem(rc.cluster));
			EXPECT_EQ(t, dist(c, rc.cluster), nearest_mem_dist(c));
			EXPECT_TRUE(t, in_cluster_ram(rc.cluster, p, BIG_REQ));
			EXPECT_TRUE(t, !rc.fallback && rc.rank == 0);
			EXPECT_OK(t, mem_free_checked(p));
		}
	}
	if (!found)
		test_skip(t, "every cluster has memory");
}

/* ---- the global proximity ---- */

/*
 * n = 64 * k requests of 4 KiB from one hart, k = clusters with memory. Each hart walks the clusters
 * round-robin from its own position, one step per request, so with room everywhere (no request falls
 * back) every cluster serves exactly n / k of them, whatever the start position: n is a multiple of k.
 */
static void mem_global_spread(struct test *t)
{
	static unsigned cnt[TOPO_MAX_CLUSTERS], first[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	memset(cnt, 0, sizeof(cnt));
	unsigned k = nmem_clusters(), n = 64 * k, i;
	static uint64_t before[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	struct tc_blk *list = NULL;
	unsigned c;

	ASSERT_GE(t, k, 1);
	if (!need_mem(t, 4096, 64 * 4096 + 64 * 1024))	/* 64 pages per cluster, and room for the caches */
		return;
	EXPECT_TRUE(t, mem_prox_global() != NULL && mem_prox_global() == mem_prox_global());
	for (c = 0; c < nclusters(); c++)
		EXPECT_TRUE(t, mem_prox_global() != mem_prox_cluster(c) && mem_prox_global() != mem_prox_strict(c));
	smp_mem_drain_all();
	tc_heaps_snapshot(before);
	for (i = 0; i < n; i++) {
		struct mem_receipt rc;
		void *p;
		error_t e = mem_alloc_receipt(4096, mem_prox_global(), MEM_VALID_SYS, &p, &rc);

		EXPECT_OK(t, e);
		if (e)
			break;
		tc_blk_push(&list, p);
		EXPECT_TRUE(t, rc.cluster < nclusters() && has_mem(rc.cluster));
		EXPECT_TRUE(t, in_cluster_ram(rc.cluster, p, 4096));
		EXPECT_FALSE(t, rc.fallback);
		EXPECT_FALSE(t, rc.cached);
		if (rc.cluster < nclusters())
			cnt[rc.cluster]++;
		if (i < k)
			first[i] = rc.cluster;
	}
	/* the first k requests visit k different clusters */
	for (i = 0; i < k; i++)
		for (c = i + 1; c < k; c++)
			EXPECT_NE(t, first[i], first[c]);
	for (c = 0; c < nclusters(); c++) {
		if (!has_mem(c)) {
			EXPECT_EQ(t, cnt[c], 0);
			continue;
		}
		EXPECT_EQ(t, cnt[c], n / k);
	}
	EXPECT_EQ(t, tc_blk_free_all(&list), 0);
	smp_mem_drain_all();
	tc_expect_heaps_back(t, before);
}

/* ---- proximities by mesh position ---- */

static void mem_prox_xy_matches(struct test *t)
{
	const struct topo *tp = &boot_topo;
	static unsigned order[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	unsigned c, x, y;
	bool used[TOPO_MESH_MAX][TOPO_MESH_MAX] = { { false } };

	for (c = 0; c < tp->nclusters; c++) {
		const struct topo_cluster *tc = &tp->cluster[c];

		EXPECT_TRUE(t, mem_prox_cluster(c) != NULL);
		EXPECT_TRUE(t, mem_prox_xy(tc->x, tc->y) == mem_prox_cluster(c));
		EXPECT_TRUE(t, mem_prox_strict(c) != NULL && mem_prox_strict(c) != mem_prox_cluster(c));
		used[tc->x][tc->y] = true;
	}
	/* mesh positions without a cluster, and everything outside the mesh */
	for (x = 0; x < tp->mesh_x; x++)
		for (y = 0; y < tp->mesh_y; y++)
			if (!used[x][y])
				EXPECT_TRUE(t, mem_prox_xy(x, y) == NULL);
	EXPECT_TRUE(t, mem_prox_xy(tp->mesh_x, 0) == NULL);
	EXPECT_TRUE(t, mem_prox_xy(0, tp->mesh_y) == NULL);
	EXPECT_TRUE(t, mem_prox_xy(TOPO_MESH_MAX, TOPO_MESH_MAX) == NULL);
	EXPECT_TRUE(t, mem_prox_xy(~0u, 0) == NULL);
	EXPECT_TRUE(t, mem_prox_cluster(tp->nclusters) == NULL);
	EXPECT_TRUE(t, mem_prox_strict(tp->nclusters) == NULL);
	EXPECT_TRUE(t, mem_prox_cluster(~0u) == NULL);
	EXPECT_EQ(t, mem_prox_order(tp->nclusters, order, TOPO_MAX_CLUSTERS), 0);
}

/* ---- the DMA window ---- */

/* some heap has memory below the DMA limit (all of it, or the part of a heap across the limit) */
static bool any_dma_heap(void)
{
	unsigned c;

	for (c = 0; c < nclusters(); c++)
		if (has_mem(c) && (!kopts.dma_limit || boot_topo.cluster[c].mem.base < kopts.dma_limit))
			return true;
	return false;
}

/*
 * No heap has DMA memory: a request gets ERR_NOMEM, or a chunk of the CMA region "default" when there is
 * one with room. Such a chunk is freed at once, so that the cases after this one find the region as it was.
 */
static bool dma_without_heap_ok(error_t e, void *p)
{
	if (e)
		return e == ERR_NOMEM;
	if (!cma_owns((uintptr_t)p))
		return false;
	return mem_free_checked(p) == 0;
}

static const size_t dma_sizes[] = { 16, 64, 100, 256, 1000, 4096, 4100, 16384, 65536, 200000 };
#define DMA_ALLOCS 200
#define DMA_LIVE 16

static void dma_body(void *arg)
{
	struct hart_res *r = hres_self();
	struct cls *me = cls_self();
	uint64_t limit = kopts.dma_limit;
	bool can = any_dma_heap();
	void *live[DMA_LIVE] = { NULL };
	unsigned i;

	(void)arg;
	for (i = 0; i < DMA_ALLOCS; i++) {
		size_t size = dma_sizes[(i * 7 + me->index) % ARRAY_SIZE(dma_sizes)];
		struct mem_proximity_s *px = i % 5 == 3 ? mem_prox_global() :
					     i % 5 == 4 ? mem_prox_cluster(me->cluster) : NULL;
		void *p = NULL;
		error_t e = mem_alloc(size, px, MEM_VALID_DMA, &p);

		if (!can) {
			HCHECK(r, dma_without_heap_ok(e, p), e, size);
			continue;
		}
		HCHECK(r, e == 0, e, size);
		if (e)
			continue;
		HCHECK(r, mem_is_dma(p, size), (uintptr_t)p, size);
		HCHECK(r, (uint64_t)(uintptr_t)p + size <= limit, (uintptr_t)p, size);
		memset(p, 0x3c, size);
		if (live[i % DMA_LIVE])
			HCHECK(r, mem_free_checked(live[i % DMA_LIVE]) == 0, (uintptr_t)live[i % DMA_LIVE], i);
		live[i % DMA_LIVE] = p;
	}
	for (i = 0; i < DMA_LIVE; i++)
		if (live[i])
			HCHECK(r, mem_free_checked(live[i]) == 0, (uintptr_t)live[i], i);
}

static void mem_dma_window(struct test *t)
{
	static uint64_t before[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	uint64_t limit = kopts.dma_limit;
	unsigned c, above = 0, across = 0;

	EXPECT_EQ(t, mem_dma_limit(), limit);
	if (!limit) {
		EXPECT_TRUE(t, mem_is_dma((void *)(uintptr_t)0xffffffffffff0000ull, 0x1000));
		test_skip(t, "no dma_limit= bootarg: all RAM is DMA-capable");
		return;
	}
	EXPECT_TRUE(t, mem_is_dma((void *)(uintptr_t)(limit - 64), 64));
	EXPECT_FALSE(t, mem_is_dma((void *)(uintptr_t)(limit - 64), 65));
	EXPECT_FALSE(t, mem_is_dma((void *)(uintptr_t)limit, 1));
	smp_mem_drain_all();
	tc_heaps_snapshot(before);
	hres_reset();
	smp_call_all(dma_body, NULL);
	expect_harts_ok(t, "dma");

	/*
	 * A cluster across the limit serves DMA from its part below it, as the first choice of its own
	 * proximity and through its strict one.
	 */
	for (c = 0; c < nclusters(); c++) {
		const struct topo_range *m = &boot_topo.cluster[c].mem;
		struct mem_receipt rc;
		void *p;

		if (!has_mem(c) || m->base >= limit || m->base + m->size <= limit)
			continue;
		across++;
		ASSERT_OK(t, mem_alloc_receipt(4096, mem_prox_cluster(c), MEM_VALID_DMA, &p, &rc));
		EXPECT_EQ(t, rc.cluster, c);
		EXPECT_FALSE(t, rc.fallback);
		EXPECT_TRUE(t, mem_is_dma(p, 4096) && in_cluster_ram(c, p, 4096));
		EXPECT_OK(t, mem_free_checked(p));
		ASSERT_OK(t, mem_alloc_receipt(64, mem_prox_strict(c), MEM_VALID_DMA, &p, &rc));
		EXPECT_EQ(t, rc.cluster, c);
		EXPECT_TRUE(t, mem_is_dma(p, 64));
		EXPECT_OK(t, mem_free_checked(p));
	}
	/* a cluster above the limit: its proximity serves DMA elsewhere (a fallback), below the limit */
	for (c = 0; c < nclusters(); c++) {
		const struct topo_range *m = &boot_topo.cluster[c].mem;
		void *const sentinel = (void *)0x5a5a5a40;
		struct mem_receipt rc;
		void *p = sentinel;
		error_t e;

		if (!has_mem(c) || m->base < limit)
			continue;
		above++;
		EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(c), MEM_VALID_DMA, &p), ERR_EXHAUSTED);
		EXPECT_TRUE(t, p == sentinel);
		e = mem_alloc_receipt(4096, mem_prox_cluster(c), MEM_VALID_DMA, &p, &rc);
		if (!any_dma_heap()) {
			EXPECT_TRUE(t, dma_without_heap_ok(e, p));
			continue;
		}
		EXPECT_OK(t, e);
		if (e)
			continue;
		EXPECT_NE(t, rc.cluster, c);
		EXPECT_TRUE(t, rc.fallback && rc.rank >= 1);
		EXPECT_TRUE(t, mem_is_dma(p, 4096));
		EXPECT_TRUE(t, in_cluster_ram(rc.cluster, p, 4096));
		EXPECT_OK(t, mem_free_checked(p));
		/* the same cluster still serves SYS requests itself */
		e = mem_alloc_receipt(4096, mem_prox_strict(c), MEM_VALID_SYS, &p, &rc);
		EXPECT_OK(t, e);
		if (!e) {
			EXPECT_EQ(t, rc.cluster, c);
			EXPECT_OK(t, mem_free_checked(p));
		}
	}
	if (!above)
		test_log("dma: no cluster lies above 0x%llx: the fallback half had nothing to do",
			 (unsigned long long)limit);
	if (!across)
		test_log("dma: no cluster lies across 0x%llx: the DMA32-zone half had nothing to do",
			 (unsigned long long)limit);
	smp_mem_drain_all();
	tc_expect_heaps_back(t, before);
}

/* ---- private regions (bootarg private=) ---- */

static struct topo_set priv_clusters;			/* clusters with a cluster-private region */
static uint8_t priv_hart[TOPO_MAX_HARTS];	/* hart indexes with a cpu-private region */
static struct topo_set priv_paged;			/* clusters whose cluster-private region has ":pages" */

/* the regions main.c's plan_private() made from kopts.private_spec ("c1:1M:pages/h3:512K") */
static void parse_private(void)
{
	const char *s = kopts.private_spec;

	memset(&priv_clusters, 0, sizeof(priv_clusters));
	memset(&priv_paged, 0, sizeof(priv_paged));
	memset(priv_hart, 0, sizeof(priv_hart));
	while (*s) {
		char kind = *s, *end;
		unsigned long id = strtoul(s + 1, &end, 10);
		unsigned i;

		if (end != s + 1 && *end == ':') {
			size_t len = strcspn(s, "/");

			if (kind == 'c' && id < nclusters()) {
				topo_set_add(&priv_clusters, (unsigned)id);
				if (len > 6 && !strncmp(s + len - 6, ":pages", 6))
					topo_set_add(&priv_paged, (unsigned)id);
			}
			for (i = 0; kind == 'h' && i < boot_topo.nharts; i++)
				if (boot_topo.hart[i].hartid == id)
					priv_hart[i] = 1;
		}
		s += strcspn(s, "/");
		if (*s == '/')
			s++;
	}
}

/*
 * What heap_getsize() must answer for private memory, which no heap ever hands out: outside every heap's
 * span ERR_NOTOWNED; inside one (memplan reserves it from the cluster's RAM, like the kernel image)
 * ERR_MISALIGNED off the buddy granule, else ERR_INTERIOR (reserved memory).
 */
static error_t priv_getsize_code(const void *p)
{
	if (!heap_owner(p))
		return ERR_NOTOWNED;
	return (uintptr_t)p & (MIN_BLOCK_SIZE - 1) ? ERR_MISALIGNED : ERR_INTERIOR;
}

/*
 * One request on this hart; checks that the region is one of the names allowed and where its memory is:
 * private memory is in no heap (heap_getsize() refuses it as priv_getsize_code() says), heap memory is a
 * live heap block.
 */
static void *priv_one(struct hart_res *r, size_t size, struct mem_proximity_s *px, enum mem_reachability_s v,
		      const char *want, unsigned want_cluster, struct mem_receipt *out)
{
	struct mem_receipt rc;
	size_t got = 0;
	void *p = NULL;
	error_t e = mem_alloc_receipt(size, px, v, &p, &rc);

	HCHECK(r, e == 0, e, size);
	if (e)
		return NULL;
	if (out)
		*out = rc;
	if (want) {
		HCHECK(r, is_region(&rc, want), v, (uintptr_t)p);
		if (want_cluster < TOPO_MAX_CLUSTERS)
			HCHECK(r, rc.cluster == want_cluster, rc.cluster, want_cluster);
	}
	if (is_region(&rc, "heap"))
		HCHECK(r, raw_size(p, &got) == 0 && got >= size, (uintptr_t)p, got);
	else
		HCHECK(r, heap_getsize(p, &got) == priv_getsize_code(p) && in_cluster_ram(rc.cluster, p, size),
		       (uintptr_t)p, rc.cluster);
	HCHECK(r, mem_getsize(p, &got) == 0 && got >= size, (uintptr_t)p, got);
	memset(p, 0x5e, size);
	return p;
}

static const size_t priv_sizes[] = { 16, 64, 1000, 4096 };

static void priv_body(void *arg)
{
	struct hart_res *r = hres_self();
	struct cls *me = cls_self();
	unsigned cl = me->cluster, i, c;
	bool hc = topo_set_has(&priv_clusters, cl), hh = priv_hart[me->index];
	struct tc_blk *list = NULL;

	(void)arg;
	for (i = 0; i < ARRAY_SIZE(priv_sizes); i++) {
		size_t sz = priv_sizes[i];
		struct mem_receipt rc;
		void *p;

		/* default proximity: CLUSTER -> cluster-private, CPU -> cpu-private if mine, SYS/DMA -> heap */
		if ((p = priv_one(r, sz, NULL, MEM_VALID_CLUSTER, hc ? "cluster-private" : "heap",
				  hc ? cl : TOPO_MAX_CLUSTERS, NULL)))
			tc_blk_push(&list, p);
		if ((p = priv_one(r, sz, NULL, MEM_VALID_CPU, hh ? "cpu-private" : hc ? "cluster-private" : "heap",
				  hh || hc ? cl : TOPO_MAX_CLUSTERS, NULL)))
			tc_blk_push(&list, p);
		if ((p = priv_one(r, sz, NULL, MEM_VALID_SYS, "heap", TOPO_MAX_CLUSTERS, NULL)))
			tc_blk_push(&list, p);
		if (any_dma_heap() && (p = priv_one(r, sz, NULL, MEM_VALID_DMA, "heap", TOPO_MAX_CLUSTERS, NULL)))
			tc_blk_push(&list, p);
		/* global proximity: private memory only of this hart's cluster, cpu-private only its own */
		if ((p = priv_one(r, sz, mem_prox_global(), MEM_VALID_CPU, NULL, 0, &rc))) {
			tc_blk_push(&list, p);
			if (is_region(&rc, "cpu-private"))
				HCHECK(r, hh && rc.cluster == cl, rc.cluster, hh);
			else if (is_region(&rc, "cluster-private"))
				HCHECK(r, hc && rc.cluster == cl, rc.cluster, hc);
			else
				HCHECK(r, is_region(&rc, "heap"), (uintptr_t)p, 0);
		}
		if ((p = priv_one(r, sz, mem_prox_global(), MEM_VALID_SYS, "heap", TOPO_MAX_CLUSTERS, NULL)))
			tc_blk_push(&list, p);
		/* another cluster's proximity */
		for (c = 0; c < nclusters(); c++) {
			if (c == cl || !topo_set_has(&priv_clusters, c))
				continue;
			/* a CLUSTER request names the proximity's cluster: its cluster-private region serves it */
			if ((p = priv_one(r, sz, mem_prox_cluster(c), MEM_VALID_CLUSTER, "cluster-private", c, NULL)))
				tc_blk_push(&list, p);
			/* a CPU request is for this hart only: never another cluster's private memory */
			if ((p = priv_one(r, sz, mem_prox_cluster(c), MEM_VALID_CPU, "heap", c, NULL)))
				tc_blk_push(&list, p);
			if ((p = priv_one(r, sz, mem_prox_cluster(c), MEM_VALID_SYS, "heap", c, NULL)))
				tc_blk_push(&list, p);
		}
	}
	while (list) {
		struct tc_blk *b = list;

		list = b->next;
		HCHECK(r, mem_free_checked(b) == 0, (uintptr_t)b, 0);
	}
}

/*
 * With cluster c's heap exhausted, SYS and DMA requests must not spill into c's private region (they
 * fall back to other clusters, or fail for the strict proximity), while CLUSTER requests still get it.
 */
static void priv_exhausted_heap(struct test *t, unsigned c)
{
	void *const sentinel = (void *)0x5a5a5a40;
	static uint64_t before[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	struct tc_blk *list = NULL;
	struct mem_receipt rc;
	void *p = sentinel, *a, *b;
	size_t got, gran;
	error_t e;

	smp_mem_drain_all();
	tc_heaps_snapshot(before);
	EXPECT_ERR(t, tc_exhaust_strict(c, &list, NULL), ERR_EXHAUSTED);
	EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(c), MEM_VALID_SYS, &p), ERR_EXHAUSTED);
	EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(c), MEM_VALID_DMA, &p), ERR_EXHAUSTED);
	EXPECT_TRUE(t, p == sentinel);
	e = mem_alloc_receipt(BIG_REQ, mem_prox_cluster(c), MEM_VALID_SYS, &p, &rc);
	if (nmem_clusters() < 2) {
		EXPECT_ERR(t, e, ERR_NOMEM);
	} else {
		EXPECT_OK(t, e);
		if (!e) {
			tc_blk_push(&list, p);
			EXPECT_NE(t, rc.cluster, c);
			EXPECT_TRUE(t, is_region(&rc, "heap") && rc.fallback);
		}
	}
	/* the private region is still there for CLUSTER requests naming c, from any hart */
	e = mem_alloc_receipt(64, mem_prox_strict(c), MEM_VALID_CLUSTER, &a, &rc);
	EXPECT_OK(t, e);
	if (e)
		goto out;
	EXPECT_TRUE(t, is_region(&rc, "cluster-private") && rc.cluster == c);
	EXPECT_ERR(t, heap_getsize(a, &got), priv_getsize_code(a));
	e = mem_alloc_receipt(64, mem_prox_strict(c), MEM_VALID_CLUSTER, &b, &rc);
	EXPECT_OK(t, e);
	/*
	 * Checked frees of private blocks: a, then a again; an address off the pool's granule, and one a
	 * granule into a live block (a memory_pool's is 16 bytes, a page_pool's a page, and its blocks are
	 * whole pages: b + 4096 is inside b only when b has two).
	 */
	gran = topo_set_has(&priv_paged, c) ? 4096 : 16;
	EXPECT_OK(t, mem_free_checked(a));
	EXPECT_ERR(t, mem_free_checked(a), ERR_DOUBLEFREE);
	EXPECT_ERR(t, mem_free_checked((char *)a + 8), ERR_MISALIGNED);
	if (!e) {
		EXPECT_OK(t, mem_free_checked(b));
		e = mem_alloc_receipt(gran + 1, mem_prox_strict(c), MEM_VALID_CLUSTER, &b, &rc);
		EXPECT_OK(t, e);
	}
	if (!e) {
		EXPECT_TRUE(t, is_region(&rc, "cluster-private"));
		EXPECT_EQ(t, (uintptr_t)b & (gran - 1), 0);
		EXPECT_ERR(t, mem_free_checked((char *)b + gran), ERR_INTERIOR);
		EXPECT_OK(t, mem_free_checked(b));
	}
out:
	EXPECT_EQ(t, tc_blk_free_all(&list), 0);
	smp_mem_drain_all();
	tc_expect_heaps_back(t, before);
}

static void mem_private_regions(struct test *t)
{
	unsigned c, i, nh = 0;

	parse_private();
	for (i = 0; i < boot_topo.nharts; i++)
		nh += priv_hart[i];
	if (!nh && !memcmp(&priv_clusters, &(struct topo_set){ { 0 } }, sizeof(priv_clusters))) {
		test_skip(t, "no private= bootarg");
		return;
	}
	test_log("private: clusters 0x%llx (first 64), %u cpu-private harts (spec '%s')",
		 (unsigned long long)priv_clusters.w[0], nh,
		 kopts.private_spec);
	hres_reset();
	smp_call_all(priv_body, NULL);
	expect_harts_ok(t, "private");
	for (c = 0; c < nclusters(); c++)
		if (topo_set_has(&priv_clusters, c) && has_mem(c))
			priv_exhausted_heap(t, c);
}

/* ---- checked frees ---- */

/* bad frees the heaps have refused so far, all clusters together */
static uint64_t total_bad_frees(void)
{
	uint64_t n = 0;
	unsigned c;

	for (c = 0; c < nclusters(); c++) {
		struct heap_stats st;

		heap_get_stats(heap_of(c), &st);
		n += st.bad_frees;
	}
	return n;
}

/* a 64-byte granule of the kernel image (.bss) that no allocator ever handed out */
static char image_probe[64] __attribute__((aligned(64)));

static void mem_checked_frees(struct test *t)
{
	struct mm_cpu *mc = &cls_self()->mm;
	static uint64_t before[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	uint64_t top = 0, bad0;
	unsigned c, refused;

	ASSERT_TRUE(t, mc->home != NULL);
	if (!need_mem(t, BIG_REQ, 0))	/* a BIG_REQ block, and small blocks of the home heap itself */
		return;
	tc_heaps_snapshot(before);
	bad0 = total_bad_frees();

	/* the home heap's own blocks: the shared body (tests/common/mem_cases.c) */
	refused = tc_mem_checked_frees_local(t);

	/* nobody's memory: below RAM, and past the last cluster's */
	for (c = 0; c < nclusters(); c++)
		if (boot_topo.cluster[c].mem.base + boot_topo.cluster[c].mem.size > top)
			top = boot_topo.cluster[c].mem.base + boot_topo.cluster[c].mem.size;
	EXPECT_ERR(t, mem_free_checked((void *)(uintptr_t)(top + 0x1000)), ERR_NOTOWNED);
	/*
	 * The kernel image: never any heap's to give. It lies in the span of the heap of the cluster whose RAM
	 * holds it, as reserved (never added) memory, unless that cluster has no heap (withheld).
	 */
	if (heap_owner(image_probe)) {
		EXPECT_ERR(t, mem_free_checked(image_probe), ERR_INTERIOR);
		refused++;
	} else {
		EXPECT_ERR(t, mem_free_checked(image_probe), ERR_NOTOWNED);
	}
	/* every refusal by a heap was counted */
	EXPECT_EQ(t, total_bad_frees(), bad0 + refused);
	smp_mem_drain_all();
	tc_expect_heaps_back(t, before);
}

/* A small block of another cluster: its free goes to a remote batch; a second free is refused. */
static void mem_checked_frees_remote(struct test *t)
{
	struct mm_cpu *mc = &cls_self()->mm;
	static uint64_t before[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	uint64_t bad0;
	unsigned c;
	void *q, *s;

	ASSERT_TRUE(t, mc->home != NULL);
	smp_mem_drain_all();
	tc_heaps_snapshot(before);
	bad0 = total_bad_frees();

	for (c = 0; c < nclusters(); c++) {
		struct heap_stats o0, o1;
		char why[120];

		if (!has_mem(c) || heap_of(c) == mc->home)
			continue;
		heap_get_stats(heap_of(c), &o0);
		ASSERT_OK(t, mem_alloc(256, mem_prox_strict(c), MEM_VALID_SYS, &q));
		ASSERT_OK(t, mem_alloc(1024, mem_prox_strict(c), MEM_VALID_SYS, &s));
		EXPECT_ERR(t, mem_free_checked((char *)s + 64), ERR_INTERIOR);
		EXPECT_OK(t, mem_free_checked(q));
		EXPECT_ERR(t, mem_free_checked(q), ERR_DOUBLEFREE);
		EXPECT_OK(t, mem_free_checked(s));
		EXPECT_ERR(t, mem_free_checked(s), ERR_DOUBLEFREE);
		EXPECT_OK(t, heap_check(heap_of(c), why, sizeof(why)));
		mem_drain();
		heap_get_stats(heap_of(c), &o1);
		EXPECT_EQ(t, o1.free_bytes, o0.free_bytes);
		EXPECT_EQ(t, o1.bad_frees, o0.bad_frees + 3);
		EXPECT_EQ(t, total_bad_frees(), bad0 + 3);
		smp_mem_drain_all();
		tc_expect_heaps_back(t, before);
		return;
	}
	test_skip(t, "no other cluster with a heap");
}

/* ---- whole-system exhaustion and recovery ---- */

static void mem_exhaust_recover(struct test *t)
{
	void *const sentinel = (void *)0x5a5a5a40;
	static uint64_t before[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	uint64_t largest = 0;
	struct cma_region *cma;
	struct tc_blk *list = NULL;
	unsigned c, nblocks;
	void *p = sentinel;
	error_t e;

	smp_mem_drain_all();
	tc_heaps_snapshot(before);
	for (c = 0; c < nclusters(); c++) {
		struct heap_stats st;

		heap_get_stats(heap_of(c), &st);
		if (st.largest_free > largest)
			largest = st.largest_free;
	}
	/* every heap empty, every proximity refusing: the shared body (tests/common/mem_cases.c) */
	nblocks = tc_mem_exhaust_all(t, &list);
	test_log("exhausted with %u blocks", nblocks);
	p = sentinel;
	/* DMA requests still have the CMA region "default" when cma= declared one (mm/mem.c's DMA rule) */
	e = mem_alloc(64, NULL, MEM_VALID_DMA, &p);
	if (cma_find("default", &cma)) {
		EXPECT_ERR(t, e, ERR_NOMEM);
		EXPECT_TRUE(t, p == sentinel);
	} else {
		EXPECT_OK(t, e);
		if (!e) {
			EXPECT_TRUE(t, cma_owns((uintptr_t)p) && mem_is_dma(p, 64));
			EXPECT_OK(t, mem_free_checked(p));
		}
	}

	EXPECT_EQ(t, tc_blk_free_all(&list), 0);
	smp_mem_drain_all();
	tc_expect_heaps_back(t, before);
	/* recovery: the largest block there was before is there again */
	e = mem_alloc(64, NULL, MEM_VALID_SYS, &p);
	EXPECT_OK(t, e);
	if (!e)
		EXPECT_OK(t, mem_free_checked(p));
	/* largest - 64 rounds up to that block, also with the debug allocator's 24-byte guard and trailer */
	e = mem_alloc(largest - 64, mem_prox_global(), MEM_VALID_SYS, &p);
	EXPECT_OK(t, e);
	if (!e)
		EXPECT_OK(t, mem_free_checked(p));
	smp_mem_drain_all();
	tc_expect_heaps_back(t, before);
}

TEST_SUITE(mem, TEST_CASE(mem_args_errors), TEST_CASE(mem_placement_default), TEST_CASE(mem_fallback_counters),
	   TEST_CASE(mem_fallback_distance_order), TEST_CASE(mem_memoryless_strict), TEST_CASE(mem_global_spread),
	   TEST_CASE(mem_prox_xy_matches), TEST_CASE(mem_dma_window), TEST_CASE(mem_private_regions),
	   TEST_CASE(mem_checked_frees), TEST_CASE(mem_checked_frees_remote), TEST_CASE(mem_exhaust_recover));

/* ---- stress: every hart, random sizes, proximities and reachabilities, cross-hart frees ---- */

/*
 * The body is tests/common/mem_cases.c's tc_stress_run(), the one the host suite runs on pthreads. Here
 * every hart runs it at once, max(200, 24000 / harts) operations each; a hand-over goes to any other hart
 * that is up, and what a finished hart receives afterwards stays in its mailbox for the boot hart.
 */
static struct tc_stress_env stress_env;
/* after the run, on every hart: its remote-free counters (mm/slab.h) */
static uint64_t stress_remote_frees[TOPO_MAX_HARTS], stress_remote_pushes[TOPO_MAX_HARTS];
static uint32_t stress_inbox_bad[TOPO_MAX_HARTS];

static bool stress_hart_up(unsigned index)
{
	return smp_hart_up(index);
}

static void stress_body(void *arg)
{
	unsigned idx = cls_self()->index;
	uint64_t t;

	(void)arg;
	tc_stress_run(&stress_env, idx, test_seed_for(NULL, 0x100 + idx));
	/*
	 * Empty this hart's caches. No barrier: a finished hart goes back to wfi instead of spinning (under
	 * TCG a spinning vCPU takes host time from the harts still working).
	 */
	t = mm_clock();
	mem_drain();
	tc_stress_res[idx].t_end += mm_clock() - t;
}

/* after the run, on every hart: its slabs' invariants, an empty inbox, its remote-free counters */
static void stress_after(void *arg)
{
	struct cls *me = cls_self();
	char why[120];

	(void)arg;
	if (slab_check(&me->mm.slab, why, sizeof(why))) {
		stress_inbox_bad[me->index]++;
		printk("    # hart index %u: slab_check: %s\n", me->index, why);
	}
	if (__atomic_load_n(&me->mm.slab.inbox, __ATOMIC_ACQUIRE) || me->mm.slab.pending)
		stress_inbox_bad[me->index]++;
	stress_remote_frees[me->index] = me->mm.slab.cnt.remote_frees;
	stress_remote_pushes[me->index] = me->mm.slab.cnt.remote_pushes;
}

static void mem_stress_all_harts(struct test *t)
{
	static uint64_t before[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	static struct lock_stats lk0[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	uint64_t t0, t1, leftover = 0;
	struct tc_stress_res late = { 0 }, sum;
	unsigned i, n = smp_nharts();
	uint64_t total;

	stress_env.nharts = boot_topo.nharts;
	stress_env.nclusters = nclusters();
	stress_env.hart_up = stress_hart_up;
	stress_env.dma = kopts.dma_limit && any_dma_heap();
	stress_env.ops = 24000 / (n ? n : 1);
	if (stress_env.ops < 200)
		stress_env.ops = 200;
#if MM_DEBUG
	/* the debug allocator checks every byte of every cached block it hands out: a quarter will do */
	stress_env.ops /= 4;
#endif
	(void)test_seed_for(t, 0);	/* each hart's sequence: test_seed_for(NULL, 0x100 + hart index) */
	tc_stress_reset();
	memset(stress_inbox_bad, 0, sizeof(stress_inbox_bad));
	smp_mem_drain_all();
	tc_heaps_snapshot(before);
	/*
	 * Every hart holds up to TC_STRESS_LIVE blocks of up to 16 KiB (a 16 KiB block each, by power-of-two
	 * rounding, at worst) and expects no refusal: the machine as a whole needs that much free, falling
	 * back across clusters as it must.
	 */
	for (i = 0, total = 0; i < nclusters(); i++)
		total += before[i];
	if (total < (uint64_t)n * TC_STRESS_LIVE * TC_STRESS_MAX_BLOCK * 2) {
		static char why[120];

		snprintf(why, sizeof(why), "%llu bytes free in all heaps: %u harts need %llu",
			 (unsigned long long)total, n,
			 (unsigned long long)n * TC_STRESS_LIVE * TC_STRESS_MAX_BLOCK * 2);
		test_skip(t, why);
		return;
	}
	for (i = 0; i < nclusters(); i++) {
		struct heap_stats st;

		heap_get_stats(heap_of(i), &st);
		lk0[i] = st.lock;
	}
	t0 = mm_clock();
	smp_call_all(stress_body, NULL);
	t1 = mm_clock();
	/* hand-overs nobody took before finishing: checked and freed here, then back to their heaps */
	for (i = 0; i < boot_topo.nharts; i++)
		leftover += tc_stress_poll(i, &late);
	smp_mem_drain_all();
	smp_call_all(stress_after, NULL);
	{
		uint64_t rf = 0, rp = 0;

		for (i = 0; i < boot_topo.nharts; i++) {
			EXPECT_EQ(t, stress_inbox_bad[i], 0);
			rf += stress_remote_frees[i];
			rp += stress_remote_pushes[i];
		}
		test_log("stress: %llu remote frees of slab blocks in %llu pushes", (unsigned long long)rf,
			 (unsigned long long)rp);
		if (n > 1)
			EXPECT_GT(t, rf, 0);
		else
			test_log("stress: one hart: no remote frees and no hand-overs to check");
		EXPECT_LE(t, rp, rf);	/* a push carries at least one block, SLAB_REMOTE_BATCH when full */
	}
	tc_stress_expect(t, &stress_env, &late, leftover, &sum);
	EXPECT_EQ(t, sum.ran, n);
	test_log("stress: %u harts x %u ops at once: %llu allocs, %llu frees, %llu handed to other harts "
		 "(%llu ms)", n, stress_env.ops, (unsigned long long)sum.allocs, (unsigned long long)sum.frees,
		 (unsigned long long)sum.handed, (unsigned long long)((t1 - t0) / (tb_hz() / 1000)));
	/* where the time went (informational: under TCG a descheduled lock holder or waiter stalls a queue) */
	test_log("stress: slowest hart: %llu ms of operations, %llu ms to free and drain",
		 (unsigned long long)(sum.t_ops / (tb_hz() / 1000)),
		 (unsigned long long)(sum.t_end / (tb_hz() / 1000)));
	for (i = 0; i < nclusters(); i++) {
		struct heap_stats st;

		heap_get_stats(heap_of(i), &st);
		if (st.size)
			test_log("stress: heap %u lock: %llu acquisitions, %llu contended, %llu halts, %llu kicks, "
				 "%llu ms waited in all", i,
				 (unsigned long long)(st.lock.acquired - lk0[i].acquired),
				 (unsigned long long)(st.lock.contended - lk0[i].contended),
				 (unsigned long long)(st.lock.halts - lk0[i].halts),
				 (unsigned long long)(st.lock.kicks - lk0[i].kicks),
				 (unsigned long long)((st.lock.wait_total - lk0[i].wait_total) / (tb_hz() / 1000)));
	}
	/* every block is back: each hart drained its caches and remote batches, smp_mem_drain_all() the boot hart's */
	tc_expect_heaps_back(t, before);
}

TEST_SUITE(mem_stress, TEST_CASE(mem_stress_all_harts));
