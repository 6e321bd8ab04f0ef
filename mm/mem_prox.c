/* mem_prox.c - mem_alloc()'s proximities: cluster (hop rings, nearest first), strict and global orders. */
#include <string.h>

#include "mm/buddy.h"
#include "mm/cpu.h"
#include "mm/env.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/mem_internal.h"

static const struct topo *topo;

/*
 * Proximities. A cluster proximity holds the clusters with memory in preference order: increasing distance
 * from its cluster in the distance map (the cluster itself first when it has memory), ties by cluster id.
 * The clusters at one distance form a ring (on an emulated mesh: the cells at the same number of hops
 * inside the socket, or at the same socket distance plus hops). The orders are fixed at boot, one row of
 * ring_order[][] per cluster, built by a counting sort on the distance: O(clusters + 256) per cluster,
 * so boot cost grows with clusters (n^2 bytes of table: 64 KiB for 256 clusters), not with RAM.
 *
 * A request walks the rings nearest first. Inside a ring of k clusters the order is decided at request
 * time, in one pass over the ring: each cluster's free memory is read (a racy read of the free-list
 * counts, up to the heap's largest order), a cluster whose largest free block is too small is skipped
 * without touching its lock, and the one with most free memory goes first, ties to the next in a
 * round-robin that starts one further for every request of the ring. If that one cannot serve (the
 * estimate raced, or a DMA or fragmented heap), the others of the ring follow in the round-robin's order.
 * So a ring costs O(k) reads and at most one lock per cluster that might serve, and a request that finds
 * every cluster full costs O(clusters) reads and no lock at all (bench: fallback_full).
 *
 * The strict proximity has the same cluster alone and no fallback. The global proximity is round-robin
 * over every cluster with memory, each hart keeping its own position (started at its index): no shared
 * counter to bounce between harts, deterministic, and a long run on one hart is spread over the n banks
 * within one allocation of perfectly even.
 */
struct cluster_prox {
	struct mem_proximity_s prox;
	unsigned cluster;
	bool strict;
	uint32_t rr;				/* round-robin inside rings, shared by the cluster's harts */
} __attribute__((aligned(64)));

static struct cluster_prox cprox[TOPO_MAX_CLUSTERS];
static struct cluster_prox sprox[TOPO_MAX_CLUSTERS];
static struct mem_proximity_s gprox;
static unsigned nmem_clusters;
static uint8_t mem_clusters[TOPO_MAX_CLUSTERS];
/* ring_order[c]: the nmem_clusters clusters with memory, by (distance from c, id) */
static uint8_t ring_order[TOPO_MAX_CLUSTERS][TOPO_MAX_CLUSTERS];

/*
 * Per-cluster counters, kept per cluster (not per hart x cluster): relaxed atomic adds on the slow path
 * only, which takes a heap lock anyway. A hit in a hart's cache is counted by the cache (mm/mem.c).
 */
static struct {
	uint64_t local_hits, fallbacks_in, fallbacks_out, failures;
} __attribute__((aligned(64))) ccnt[TOPO_MAX_CLUSTERS];

#define BUMP(v) __atomic_fetch_add(&(v), 1, __ATOMIC_RELAXED)

static void count(unsigned first, unsigned served, unsigned rank, error_t e)
{
	if (e)
		BUMP(ccnt[first].failures);
	else if (rank == 0)
		BUMP(ccnt[served].local_hits);
	else {
		BUMP(ccnt[first].fallbacks_out);
		BUMP(ccnt[served].fallbacks_in);
	}
}

static inline unsigned dist(unsigned a, unsigned b)
{
	return topo->cluster[a].dist[b];
}

/*
 * heap_room() - whether cluster @c could serve a block of order @k at all (a free block of order @k or
 * more, by a racy read of the free-list counts from @k up to the heap's largest order: a hopeless
 * cluster costs a few loads), and if so its free bytes (*@freeb, for the ring's ordering). A cluster with
 * private regions always "could": they are tried whatever its heap holds.
 */
static bool heap_room(unsigned c, unsigned k, uint64_t *freeb)
{
	const struct heap *h = heap_of(c);
	unsigned j, top = h->size ? h->b.max_order : 0;
	uint64_t f = 0;
	bool could = mem_cluster_nregions(c) > 1;

	for (j = k; j <= top && !could; j++)
		could = __atomic_load_n(&h->b.area[j].nfree, __ATOMIC_RELAXED) != 0;
	if (!could)
		return false;
	for (j = BUDDY_MIN_ORDER; j <= top; j++)
		f += __atomic_load_n(&h->b.area[j].nfree, __ATOMIC_RELAXED) << j;
	*freeb = f;
	return true;
}

/* the order of the block a request of @size takes (capped: a larger one fits no heap anyway) */
static unsigned req_order(size_t size)
{
	return size > ((size_t)1 << BUDDY_MAX_ORDER) ? BUDDY_MAX_ORDER + 1 : (unsigned)buddy_order(size);
}

/* the strict proximity: its cluster or nothing, and why */
static error_t strict_run(struct cluster_prox *cp, size_t size, enum mem_reachability_s valid, unsigned want,
			  void **addr, struct mem_receipt *r)
{
	struct mm_cpu *self = mm_cpu_self();
	unsigned c = cp->cluster, nr = mem_cluster_nregions(c);
	const char *name = NULL;
	error_t e;

	if (!nr || (nr == 1 && !heap_of(c)->size))
		e = ERR_NOHEAP;
	else if (mem_cluster_alloc(c, size, valid, want, (int)self->hart, addr, &name))
		e = ERR_EXHAUSTED;
	else
		e = 0;
	count(c, c, 0, e);
	if (!e && r)
		*r = (struct mem_receipt){ c, 0, false, false, name };
	return e;
}

/*
 * Walk @cp's rings. @want is the cluster whose CLUSTER-private memory qualifies: the proximity's for
 * MEM_VALID_CLUSTER, the caller's for MEM_VALID_CPU (that block is the caller's alone, and the caller
 * cannot reach another cluster's private memory). The rank in a receipt is the ring's first position in
 * the order plus the clusters of the ring tried before.
 */
static error_t prox_run(struct cluster_prox *cp, size_t size, enum mem_reachability_s valid, void **addr,
			struct mem_receipt *r)
{
	struct mm_cpu *self = mm_cpu_self();
	unsigned want = valid == MEM_VALID_CPU ? self->cluster : cp->cluster, first, i = 0, n = nmem_clusters;
	unsigned k0 = req_order(size);
	const uint8_t *order = ring_order[cp->cluster];
	const char *name = NULL;

	if (cp->strict)
		return strict_run(cp, size, valid, want, addr, r);
	if (!n)
		return ERR_NOMEM;
	first = order[0];
	while (i < n) {
		unsigned d = dist(cp->cluster, order[i]), g = i + 1, ng, start, j, best = ~0u, tried = 0;
		uint64_t best_free = 0;

		while (g < n && dist(cp->cluster, order[g]) == d)	/* the ring [i, g) */
			g++;
		ng = g - i;
		/*
		 * A ring of one cluster (the home one, most often) is tried at once: its room is not read
		 * first, which costs more (two walks of its free lists) than the try saves when it fails.
		 */
		if (ng == 1) {
			unsigned c = order[i];

			if (!mem_cluster_alloc(c, size, valid, want, (int)self->hart, addr, &name)) {
				count(first, c, i, 0);
				if (r)
					*r = (struct mem_receipt){ c, i, i > 0, false, name };
				return 0;
			}
			i = g;
			continue;
		}
		start = __atomic_fetch_add(&cp->rr, 1, __ATOMIC_RELAXED) % ng;
		/* one pass in round-robin order: the most free cluster that could serve (ties: the earliest) */
		for (j = 0; j < ng; j++) {
			unsigned k = start + j < ng ? start + j : start + j - ng;
			uint64_t f = 0;

			if (heap_room(order[i + k], k0, &f) && (best == ~0u || f > best_free)) {
				best = k;
				best_free = f;
			}
		}
		if (i == 0 && best != ~0u)
			first = order[best];
		/* the best first, then the others of the ring that could serve, in round-robin order */
		for (j = 0; best != ~0u && j <= ng; j++) {
			unsigned k = j == 0 ? best : start + j - 1 < ng ? start + j - 1 : start + j - 1 - ng, c;
			uint64_t f;

			if (j > 0 && (k == best || !heap_room(order[i + k], k0, &f)))
				continue;
			c = order[i + k];
			if (!mem_cluster_alloc(c, size, valid, want, (int)self->hart, addr, &name)) {
				unsigned rank = i + tried;

				count(first, c, rank, 0);
				if (r)
					*r = (struct mem_receipt){ c, rank, rank > 0, false, name };
				return 0;
			}
			tried++;
		}
		i = g;
	}
	count(first, first, 0, ERR_NOMEM);
	return ERR_NOMEM;
}

static error_t cluster_prox_alloc(size_t size, void *priv, enum mem_reachability_s valid, void **addr)
{
	return prox_run(priv, size, valid, addr, NULL);
}

/* the global proximity: round-robin from this hart's own position over every cluster with memory */
static error_t global_prox_run(size_t size, enum mem_reachability_s valid, void **addr, struct mem_receipt *r)
{
	struct mm_cpu *self = mm_cpu_self();
	unsigned k, first = 0, at, k0 = req_order(size);
	const char *name = NULL;
	uint64_t f;

	if (!nmem_clusters)
		return ERR_NOMEM;
	at = (self->hart + self->rr) % nmem_clusters;
	for (k = 0; k < nmem_clusters; k++) {
		unsigned c = mem_clusters[at];

		if (++at == nmem_clusters)
			at = 0;
		if (k == 0)
			first = c;
		/* a CLUSTER request through the global proximity names the caller's cluster */
		if (!heap_room(c, k0, &f))
			continue;
		if (!mem_cluster_alloc(c, size, valid, self->cluster, (int)self->hart, addr, &name)) {
			self->rr++;
			count(first, c, k, 0);
			if (r)
				*r = (struct mem_receipt){ c, k, k > 0, false, name };
			return 0;
		}
	}
	self->rr++;
	count(first, first, 0, ERR_NOMEM);
	return ERR_NOMEM;
}

static error_t global_prox_alloc(size_t size, void *priv, enum mem_reachability_s valid, void **addr)
{
	return global_prox_run(size, valid, addr, NULL);
}

/* cluster @c's row of ring_order[][]: a counting sort of the clusters with memory by distance, stable by id */
static void build_order(unsigned c)
{
	const uint8_t *row = topo->cluster[c].dist;
	uint8_t *out = ring_order[c];
	unsigned pos[256] = { 0 }, i, d, sum = 0;

	for (i = 0; i < nmem_clusters; i++)
		pos[row[mem_clusters[i]]]++;
	for (d = 0; d < 256; d++) {
		unsigned k = pos[d];

		pos[d] = sum;
		sum += k;
	}
	for (i = 0; i < nmem_clusters; i++) {
		unsigned m = mem_clusters[i];

		out[pos[row[m]]++] = (uint8_t)m;
	}
}

struct mem_proximity_s *mem_prox_cluster(unsigned cluster)
{
	return topo && cluster < topo->nclusters ? &cprox[cluster].prox : NULL;
}

struct mem_proximity_s *mem_prox_xy(unsigned x, unsigned y)
{
	struct heap *h;

	if (!topo || x >= topo->mesh_x || y >= topo->mesh_y || !(h = kernel_heap[x][y]))
		return NULL;
	return &cprox[h->cluster].prox;
}

struct mem_proximity_s *mem_prox_global(void)
{
	return &gprox;
}

struct mem_proximity_s *mem_prox_strict(unsigned cluster)
{
	return topo && cluster < topo->nclusters ? &sprox[cluster].prox : NULL;
}

unsigned mem_prox_order(unsigned c, unsigned *order, unsigned max)
{
	unsigned i;

	if (!topo || c >= topo->nclusters)
		return 0;
	for (i = 0; i < nmem_clusters && i < max; i++)
		order[i] = ring_order[c][i];
	return i;
}

unsigned mem_prox_rings(unsigned c, unsigned *ring_start, unsigned max)
{
	unsigned i, n = 0;

	if (!topo || c >= topo->nclusters)
		return 0;
	for (i = 0; i < nmem_clusters; i++)
		if (!i || dist(c, ring_order[c][i]) != dist(c, ring_order[c][i - 1])) {
			if (n < max)
				ring_start[n] = i;
			n++;
		}
	return n;
}

/* ---- what mm/mem.c asks of the proximities ---- */

error_t mem_prox_run(struct mem_proximity_s *prox, size_t size, enum mem_reachability_s valid, void **addr,
		     struct mem_receipt *r)
{
	if (prox->kind == MEM_PROX_GLOBAL)
		return global_prox_run(size, valid, addr, r);
	return prox_run(prox->priv, size, valid, addr, r);
}

bool mem_prox_home_alone(unsigned c)
{
	return nmem_clusters && (nmem_clusters == 1 || dist(c, ring_order[c][1]) != dist(c, ring_order[c][0]));
}

void mem_prox_count_hit(unsigned c)
{
	BUMP(ccnt[c].local_hits);
}

int mem_prox_home(unsigned c)
{
	return nmem_clusters ? ring_order[c][0] : -1;
}

unsigned mem_prox_rank(struct mem_proximity_s *prox, unsigned cl)
{
	struct mm_cpu *self = mm_cpu_self();
	unsigned rank, k;

	/*
	 * Its rank in the proximity's order: for a cluster proximity the number of clusters nearer than it
	 * (equally distant ones are re-ordered per request, so the first place of its ring), for the global
	 * one its distance from where this request's round-robin started; a cluster outside the order (no heap)
	 * ranks after all of it.
	 */
	rank = nmem_clusters;
	if (prox->kind == MEM_PROX_GLOBAL) {
		for (k = 0; k < nmem_clusters; k++)
			if (mem_clusters[(self->hart + self->rr + k) % nmem_clusters] == cl)
				rank = k;
	} else {
		const struct cluster_prox *cp = prox->priv;
		const uint8_t *order = ring_order[cp->cluster];

		for (k = 0; k < nmem_clusters; k++)
			if (order[k] == cl) {
				while (k > 0 && dist(cp->cluster, order[k - 1]) == dist(cp->cluster, order[k]))
					k--;
				rank = k;
				break;
			}
	}
	return rank;
}

void mem_prox_stats(unsigned c, struct mem_cluster_stats *st)
{
	st->local_hits += __atomic_load_n(&ccnt[c].local_hits, __ATOMIC_RELAXED);
	st->fallbacks_in += __atomic_load_n(&ccnt[c].fallbacks_in, __ATOMIC_RELAXED);
	st->fallbacks_out += __atomic_load_n(&ccnt[c].fallbacks_out, __ATOMIC_RELAXED);
	st->failures += __atomic_load_n(&ccnt[c].failures, __ATOMIC_RELAXED);
}

unsigned mem_prox_init(const struct topo *t)
{
	unsigned c;

	topo = t;
	nmem_clusters = 0;
	memset(ccnt, 0, sizeof(ccnt));
	for (c = 0; c < t->nclusters; c++)
		if (heap_of(c)->size)
			mem_clusters[nmem_clusters++] = (uint8_t)c;
	for (c = 0; c < t->nclusters; c++) {
		build_order(c);
		cprox[c] = (struct cluster_prox){ { cluster_prox_alloc, &cprox[c], MEM_PROX_CLUSTER }, c, false, 0 };
		sprox[c] = (struct cluster_prox){ { cluster_prox_alloc, &sprox[c], MEM_PROX_STRICT }, c, true, 0 };
	}
	gprox.alloc = global_prox_alloc;
	gprox.priv = NULL;
	gprox.kind = MEM_PROX_GLOBAL;
	return nmem_clusters;
}
