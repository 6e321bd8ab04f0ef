/* test_mesh.c - in-kernel suite for the emulated mesh: cluster RAM per address, placement, hop rings, stress. */
#include <stdbool.h>
#include <string.h>

#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/smp.h"
#include "mm/cpu.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/mem_internal.h"
#include "mm/slab.h"
#include "platform/mesh.h"
#include "tests/common/mem_cases.h"
#include "tests/test.h"

/*
 * Every case runs on every topology. On a machine without an emulated mesh the clusters are the
 * sockets and the checks hold all the same (a cluster is then its socket's whole RAM); the cases about
 * hops and hart-less clusters skip where there are none.
 */

static const struct topo *tp = &boot_topo;

static bool has_mem(unsigned c)
{
	return heap_of(c) && heap_of(c)->size;
}

static bool in_range(const struct topo_range *m, uintptr_t a, size_t size)
{
	return m->size && a >= m->base && a - m->base < m->size && size <= m->size - (a - m->base);
}

static unsigned hops(unsigned a, unsigned b)
{
	const struct topo_cluster *ca = &tp->cluster[a], *cb = &tp->cluster[b];

	return (ca->x > cb->x ? ca->x - cb->x : cb->x - ca->x) + (ca->y > cb->y ? ca->y - cb->y : cb->y - ca->y);
}

static uint64_t before[TOPO_MAX_CLUSTERS];

static void snapshot(void)
{
	unsigned c;

	smp_mem_drain_all();
	for (c = 0; c < tp->nclusters; c++)
		before[c] = heap_free_bytes(c);
}

/* every heap back to its snapshot (after every hart's cache and batches are drained), heap_check() clean */
static void expect_back(struct test *t)
{
	char why[128];
	unsigned c;

	smp_mem_drain_all();
	for (c = 0; c < tp->nclusters; c++) {
		TEST_CHECK_(t, heap_free_bytes(c) == before[c], (void)0, "cluster %u: free 0x%llx, was 0x%llx", c,
			    (unsigned long long)heap_free_bytes(c), (unsigned long long)before[c]);
		TEST_CHECK_(t, heap_check(heap_of(c), why, sizeof(why)) == 0, (void)0, "cluster %u: %s", c, why);
	}
}

/*
 * Each socket's RAM is exactly the union of its clusters' ranges (contiguous, in block order, each inside
 * the socket), each heap's descriptor and metadata lie in its cluster's RAM, and per address: the first, a middle and the last granule of every cluster with a heap
 * belong to that cluster's heap (heap_owner()), a block from remote_malloc(x, y) lies in the cluster's
 * range and so in its socket's.
 */
static void mesh_clusters_partition_sockets(struct test *t)
{
	unsigned s, c, checked = 0, full = 0;

	EXPECT_EQ(t, tp->nclusters, tp->emulated ? tp->mesh_x * tp->mesh_y : tp->nsockets);
	for (s = 0; s < tp->nsockets; s++) {
		const struct topo_socket *so = &tp->socket[s];
		uint64_t at = so->mem.base, sum = 0;
		unsigned n = 0;

		for (c = 0; c < tp->nclusters; c++) {
			const struct topo_cluster *cl = &tp->cluster[c];

			if (cl->socket != s)
				continue;
			n++;
			if (!so->mem.size) {
				EXPECT_EQ(t, cl->mem.size, 0);
				continue;
			}
			TEST_CHECK_(t, in_range(&so->mem, (uintptr_t)cl->mem.base, (size_t)cl->mem.size), (void)0,
				    "cluster %u 0x%llx+0x%llx outside socket %u", c, (unsigned long long)cl->mem.base,
				    (unsigned long long)cl->mem.size, s);
			sum += cl->mem.size;
		}
		/* contiguous: walk the socket from its base, each step the cluster starting there */
		while (so->mem.size && at < so->mem.base + so->mem.size) {
			for (c = 0; c < tp->nclusters; c++)
				if (tp->cluster[c].socket == s && tp->cluster[c].mem.base == at && tp->cluster[c].mem.size)
					break;
			TEST_CHECK_(t, c < tp->nclusters, (void)0, "socket %u: no cluster starts at 0x%llx", s,
				    (unsigned long long)at);
			if (c == tp->nclusters)
				break;
			at += tp->cluster[c].mem.size;
		}
		EXPECT_EQ(t, sum, so->mem.size);
		EXPECT_GE(t, n, 1);
	}
	for (c = 0; c < tp->nclusters; c++) {
		const struct topo_cluster *cl = &tp->cluster[c];
		struct heap *h = heap_of(c);
		uintptr_t probe[3];
		unsigned i;
		error_t e;
		void *p;

		if (!has_mem(c))
			continue;
		/* the heap's descriptor and its buddy metadata (tags, section map) sit in the cluster's own RAM */
		TEST_CHECK_(t, in_range(&cl->mem, (uintptr_t)h, sizeof(*h)), (void)0, "cluster %u: heap at %p", c,
			    (void *)h);
		EXPECT_TRUE(t, in_range(&cl->mem, (uintptr_t)h->b.secmap, h->b.nsec));
		EXPECT_TRUE(t, in_range(&cl->mem, (uintptr_t)h->b.tags, 1));
		probe[0] = h->b.base;
		probe[1] = h->b.base + ((h->b.end - h->b.base) / 2 & ~(uintptr_t)63);
		probe[2] = h->b.end - 64;
		for (i = 0; i < 3; i++) {
			TEST_CHECK_(t, heap_owner((void *)probe[i]) == h, (void)0, "0x%lx: not cluster %u's",
				    (unsigned long)probe[i], c);
			EXPECT_TRUE(t, in_range(&cl->mem, probe[i], 64));
		}
		e = remote_malloc(4096, cl->x, cl->y, &p);
		if (e) {
			/* a full (tiny) heap may refuse, with that code only */
			EXPECT_ERR(t, e, ERR_NOMEM);
			full++;
			continue;
		}
		EXPECT_TRUE(t, in_range(&cl->mem, (uintptr_t)p, 4096));
		EXPECT_TRUE(t, in_range(&tp->socket[cl->socket].mem, (uintptr_t)p, 4096));
		EXPECT_TRUE(t, heap_owner(p) == h);
		EXPECT_OK(t, heap_free(p));
		checked++;
	}
	test_log("%u clusters over %u sockets; %u remote_malloc blocks checked, %u heaps without 4 KiB free",
		 tp->nclusters, tp->nsockets, checked, full);
}

/* the distance formula of platform/mesh.h, computed here from the socket rows and the positions */
static void mesh_distances(struct test *t)
{
	unsigned a, b, bad = 0;

	if (!tp->emulated) {
		test_skip(t, "no emulated mesh (mesh= with more cells than sockets)");
		return;
	}
	EXPECT_GE(t, tp->hop, 1);
	for (a = 0; a < tp->nclusters; a++)
		for (b = 0; b < tp->nclusters; b++) {
			unsigned sa = tp->cluster[a].socket, sb = tp->cluster[b].socket, sd, want;

			sd = sa == sb ? 10 : tp->socket[sa].dist[sb] > tp->socket[sb].dist[sa] ? tp->socket[sa].dist[sb] :
												 tp->socket[sb].dist[sa];
			want = sd + tp->hop * hops(a, b);
			want = want > 255 ? 255 : want;
			bad += tp->cluster[a].dist[b] != want;
			bad += tp->cluster[a].dist[b] != tp->cluster[b].dist[a];
			bad += sa != sb && tp->cluster[a].dist[b] < sd;
		}
	EXPECT_EQ(t, bad, 0);
}

/* ---- default placement: every hart's blocks come from its own cluster ---- */

static uint32_t place_bad[TOPO_MAX_HARTS];
static uintptr_t place_bad_addr[TOPO_MAX_HARTS];

static void place_body(void *arg)
{
	struct cls *me = cls_self();
	static const size_t sizes[] = { 64, 200, 4096, 65536 };
	unsigned c = me->cluster, home, i;
	int h = mem_prox_home(c);

	(void)arg;
	if (h < 0) {
		place_bad[me->index]++;	/* no cluster with memory in its order: nothing could be placed */
		return;
	}
	home = (unsigned)h;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct mem_receipt rc;
		void *p;

		if (sizes[i] > heap_of(home)->size / 8)
			continue;
		if (mem_alloc_receipt(sizes[i], NULL, MEM_VALID_SYS, &p, &rc)) {
			place_bad[me->index]++;
			continue;
		}
		/*
		 * own cluster when it has memory, else one of the nearest ring (the cache's home, or for a
		 * request past the cache the ring's most free cluster): rank 0 either way
		 */
		if (!in_range(&tp->cluster[rc.cluster].mem, (uintptr_t)p, sizes[i]) || rc.rank != 0 ||
		    (has_mem(c) ? rc.cluster != c || home != c :
				  tp->cluster[c].dist[rc.cluster] != tp->cluster[c].dist[home])) {
			place_bad[me->index]++;
			place_bad_addr[me->index] = (uintptr_t)p;
		}
		mem_free(p);
	}
}

static void mesh_default_placement_own_cluster(struct test *t)
{
	unsigned i;

	memset(place_bad, 0, sizeof(place_bad));
	snapshot();
	/*
	 * Each hart takes a slab per class it uses (up to 2^SLAB_MAX_ORDER bytes) from its home heap: with
	 * less room than that for every hart of a cluster, the next block rightly comes from the next ring.
	 */
	for (i = 0; i < tp->nclusters; i++) {
		int h = mem_prox_home(i);

		if (tp->cluster[i].nharts && h >= 0 &&
		    before[h] < (uint64_t)tp->cluster[i].nharts * 4 * (1ULL << SLAB_MAX_ORDER)) {
			test_skip(t, "a home heap too small for every hart's slabs (tiny heaps)");
			return;
		}
	}
	smp_call_all(place_body, NULL);
	for (i = 0; i < tp->nharts; i++)
		TEST_CHECK_(t, !place_bad[i], (void)0, "hart index %u (cluster %u): %u blocks misplaced (0x%lx)", i,
			    tp->hart[i].cluster, place_bad[i], (unsigned long)place_bad_addr[i]);
	expect_back(t);
}

/* ---- fallback: when the cluster is full, the nearest ring that is not ---- */

static struct tc_blk *held;
static unsigned nheld;

static void hold(void *p)
{
	tc_blk_push(&held, p);
	nheld++;
}

/* give every held block back; returns how many frees were refused */
static unsigned release_all(void)
{
	nheld = 0;
	return tc_blk_free_all(&held);
}

/* take every block of cluster @c through its strict proximity, largest first */
static void fill(unsigned c)
{
	nheld += tc_fill_strict(c, &held);
}

/* the cluster nearest the mesh's centre that has memory and neighbours with memory */
static unsigned central_cluster(void)
{
	unsigned c, best = 0, bd = ~0u;

	for (c = 0; c < tp->nclusters; c++) {
		unsigned d = (2 * tp->cluster[c].x > tp->mesh_x ? 2 * tp->cluster[c].x - tp->mesh_x :
								  tp->mesh_x - 2 * tp->cluster[c].x) +
			     (2 * tp->cluster[c].y > tp->mesh_y ? 2 * tp->cluster[c].y - tp->mesh_y :
								  tp->mesh_y - 2 * tp->cluster[c].y);

		if (has_mem(c) && d < bd) {
			bd = d;
			best = c;
		}
	}
	return best;
}

/*
 * Fill cluster c, then each ring of its order in turn: after the rings nearer than ring r are full, a
 * 64 KiB request through c's proximity must come from ring r (the nearest non-full one), from its cluster
 * with most free memory, with rank = ring r's first position; its address lies in that cluster's RAM.
 * Up to 4 rings (the whole order on small machines).
 */
static void mesh_fallback_nearest_ring(struct test *t)
{
	static unsigned order[TOPO_MAX_CLUSTERS], ring[TOPO_MAX_CLUSTERS];
	unsigned c = central_cluster(), n, nr, r, j;
	const size_t req = 64 << 10;

	n = mem_prox_order(c, order, TOPO_MAX_CLUSTERS);
	nr = mem_prox_rings(c, ring, TOPO_MAX_CLUSTERS);
	if (n < 2) {
		test_skip(t, "fewer than 2 clusters with memory");
		return;
	}
	if (heap_of(c)->size < 4 * req) {
		test_skip(t, "the central cluster's heap is smaller than four 64 KiB requests");
		return;
	}
	ASSERT_EQ(t, order[0], c);
	ASSERT_EQ(t, ring[0], 0);
	ASSERT_GE(t, nr, 2);	/* two clusters with memory, at different distances: else no ring is checked */
	snapshot();
	fill(c);
	for (r = 1; r < nr && r <= 4; r++) {
		unsigned lo = ring[r], hi = r + 1 < nr ? ring[r + 1] : n, d = tp->cluster[c].dist[order[lo]];
		uint64_t most = 0;
		struct mem_receipt rc;
		void *p;

		for (j = lo; j < hi; j++) {
			EXPECT_EQ(t, tp->cluster[c].dist[order[j]], d);
			most = heap_free_bytes(order[j]) > most ? heap_free_bytes(order[j]) : most;
		}
		if (tp->emulated && r == 1 && tp->cluster[order[lo]].socket == tp->cluster[c].socket)
			EXPECT_EQ(t, d, 10 + tp->hop);	/* the first ring: one hop away */
		ASSERT_OK(t, mem_alloc_receipt(req, mem_prox_cluster(c), MEM_VALID_SYS, &p, &rc));
		hold(p);
		test_log("ring %u (distance %u, %u clusters): served by cluster %u (%u hops), rank %u", r, d, hi - lo,
			 rc.cluster, hops(c, rc.cluster), rc.rank);
		EXPECT_EQ(t, tp->cluster[c].dist[rc.cluster], d);
		EXPECT_EQ(t, rc.rank, lo);
		EXPECT_TRUE(t, rc.fallback);
		EXPECT_TRUE(t, in_range(&tp->cluster[rc.cluster].mem, (uintptr_t)p, req));
		{
			size_t blk = req;	/* the block it took (the debug allocator's trailer doubles it) */

			EXPECT_OK(t, heap_getsize(p, &blk));
			EXPECT_GE(t, heap_free_bytes(rc.cluster) + blk, most);	/* the most free of the ring */
		}
		for (j = lo; j < hi; j++)
			fill(order[j]);
	}
	test_log("%u blocks held", nheld);
	EXPECT_EQ(t, release_all(), 0);
	expect_back(t);
}

/* ---- memory-only and withheld clusters, reached explicitly ---- */

static void mesh_memory_only_clusters(struct test *t)
{
	unsigned c, only = 0, withheld = 0;

	snapshot();
	for (c = 0; c < tp->nclusters; c++) {
		const struct topo_cluster *cl = &tp->cluster[c];
		struct mem_receipt rc;
		void *p;

		if (cl->nharts)
			continue;
		if (!has_mem(c)) {
			/* withheld (or memoryless): no heap, said so by every explicit path */
			EXPECT_ERR(t, remote_malloc(64, cl->x, cl->y, &p), ERR_NOHEAP);
			EXPECT_ERR(t, mem_alloc(64, mem_prox_strict(c), MEM_VALID_SYS, &p), ERR_NOHEAP);
			withheld++;
			continue;
		}
		only++;
		ASSERT_OK(t, remote_malloc(8192, cl->x, cl->y, &p));
		EXPECT_TRUE(t, in_range(&cl->mem, (uintptr_t)p, 8192) && heap_owner(p) == heap_of(c));
		EXPECT_OK(t, heap_free(p));
		ASSERT_OK(t, mem_alloc_receipt(100, mem_prox_strict(c), MEM_VALID_SYS, &p, &rc));
		EXPECT_EQ(t, rc.cluster, c);
		EXPECT_TRUE(t, in_range(&cl->mem, (uintptr_t)p, 100));
		mem_free(p);
		ASSERT_OK(t, mem_alloc_receipt(70000, mem_prox_xy(cl->x, cl->y), MEM_VALID_SYS, &p, &rc));
		EXPECT_EQ(t, rc.cluster, c);
		EXPECT_EQ(t, rc.rank, 0);
		EXPECT_TRUE(t, in_range(&cl->mem, (uintptr_t)p, 70000));
		mem_free(p);
	}
	if (!only && !withheld) {
		test_skip(t, "every cluster has harts");
		return;
	}
	test_log("%u memory-only clusters reached, %u hart-less clusters without a heap", only, withheld);
	expect_back(t);
}

/*
 * A hart frees blocks of many clusters (more owners than it has remote slots): the shared body
 * (tests/common/mem_cases.c), 4 blocks per owner; the batches go home and nothing is lost.
 */
static void mesh_remote_frees_many_owners(struct test *t)
{
	unsigned owners, most;

	snapshot();
	owners = tc_mem_remote_slots(t, 4, &most);
	test_log("%u owner clusters, at most %u blocks in open batches", owners, most);
	expect_back(t);
	if (!owners)
		test_skip(t, "no other cluster with memory: no remote free");
	else if (owners <= MM_REMOTE_SLOTS)
		test_log("%u owners fit in the %u remote slots: no batch had to make room", owners,
			 MM_REMOTE_SLOTS);
}

/* ---- all harts: random sizes and proximities over the mesh, fill patterns, nothing lost ---- */

#define STRESS_LIVE 48
#define STRESS_ORDERS 10	/* sizes 16 B .. 8 KiB */
static unsigned stress_orders;	/* sizes 16 << 0 .. stress_orders - 1: what the machine's free memory holds */
static uint32_t stress_bad[TOPO_MAX_HARTS], stress_ops[TOPO_MAX_HARTS], stress_nomem[TOPO_MAX_HARTS];

static uint64_t word(unsigned h, unsigned i, unsigned w)
{
	return 0x6d00000000000000ULL | ((uint64_t)h << 40) | ((uint64_t)i << 20) | w;
}

static void stress_body(void *arg)
{
	struct cls *me = cls_self();
	static struct { uint64_t *p; size_t words; } live[TOPO_MAX_HARTS][STRESS_LIVE];
	uint64_t s = test_seed_for(NULL, me->index) | 1;
	unsigned h = me->index, i, op, w;

	(void)arg;
	memset(live[h], 0, sizeof(live[h]));
	for (op = 0; op < 1500; op++) {
		uint64_t r = test_rand(&s);

		i = (unsigned)(r % STRESS_LIVE);
		if (live[h][i].p) {
			for (w = 0; w < live[h][i].words; w++)
				stress_bad[h] += live[h][i].p[w] != word(h, i, w);
			mem_free(live[h][i].p);
			live[h][i].p = NULL;
		} else {
			size_t size = (size_t)16 << ((r >> 8) % stress_orders);
			unsigned c = (unsigned)((r >> 16) % tp->nclusters);
			struct mem_proximity_s *px = (r >> 24) % 4 == 0 ? NULL :
						     (r >> 24) % 4 == 1 ? mem_prox_cluster(c) :
						     (r >> 24) % 4 == 2 ? mem_prox_xy(tp->cluster[c].x, tp->cluster[c].y) :
									  mem_prox_global();
			void *p;

			if (mem_alloc(size, px, MEM_VALID_SYS, &p)) {
				stress_nomem[h]++;	/* every proximity here falls back: only a full machine */
				continue;
			}
			live[h][i].p = p;
			live[h][i].words = size / 8;
			for (w = 0; w < size / 8; w++)
				live[h][i].p[w] = word(h, i, w);
		}
		stress_ops[h]++;
	}
	for (i = 0; i < STRESS_LIVE; i++)
		if (live[h][i].p) {
			for (w = 0; w < live[h][i].words; w++)
				stress_bad[h] += live[h][i].p[w] != word(h, i, w);
			mem_free(live[h][i].p);
		}
	mem_drain();
}

static void mesh_stress_all_harts(struct test *t)
{
	unsigned i, ops = 0, nomem = 0;
	uint64_t free = 0;

	memset(stress_bad, 0, sizeof(stress_bad));
	memset(stress_ops, 0, sizeof(stress_ops));
	memset(stress_nomem, 0, sizeof(stress_nomem));
	snapshot();
	/*
	 * Every hart's live set at its largest (STRESS_LIVE blocks of the top size) and a 4 KiB slab per size
	 * for each hart, together, in half the free memory: a hart that runs while the others hold all they
	 * can still finds room (with 64 KiB heaps, 16..64 B; else up to 8 KiB), so "no operation done" is
	 * never a full machine.
	 */
	for (i = 0; i < tp->nclusters; i++)
		free += heap_free_bytes(i);
	for (stress_orders = STRESS_ORDERS; stress_orders > 1; stress_orders--)
		if ((((uint64_t)16 << (stress_orders - 1)) * STRESS_LIVE + ((uint64_t)stress_orders << SLAB_MIN_ORDER)) *
			    tp->nharts <= free / 2)
			break;
	test_log("sizes 16 B .. %u B (%llu bytes free)", 16u << (stress_orders - 1), (unsigned long long)free);
	smp_call_all(stress_body, NULL);
	for (i = 0; i < tp->nharts; i++) {
		TEST_CHECK_(t, !stress_bad[i], (void)0, "hart index %u: %u words overwritten", i, stress_bad[i]);
		/* a hart that ran did something: its first operation is an allocation, on an empty list */
		if (smp_hart_up(i))
			TEST_CHECK_(t, stress_ops[i] > 0, (void)0, "hart index %u: no operation done (%u refused)", i,
				    stress_nomem[i]);
		ops += stress_ops[i];
		nomem += stress_nomem[i];
	}
	test_log("%u operations on %u harts over %u clusters, %u allocations refused", ops, smp_nharts(),
		 tp->nclusters, nomem);
	expect_back(t);
}

TEST_SUITE(mesh, TEST_CASE(mesh_clusters_partition_sockets), TEST_CASE(mesh_distances),
	   TEST_CASE(mesh_default_placement_own_cluster), TEST_CASE(mesh_fallback_nearest_ring),
	   TEST_CASE(mesh_memory_only_clusters), TEST_CASE(mesh_remote_frees_many_owners),
	   TEST_CASE(mesh_stress_all_harts));
