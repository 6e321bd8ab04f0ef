/* mem_prox.c - mem_alloc()'s proximities: cluster (nearest first), strict and global orders over the heaps. */
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
 * from its cluster in the distance map (the cluster itself first when it has memory). Equal distances form
 * a group; within a group the order is decided at allocation time, by most free memory, then round-robin.
 * The strict proximity has the same cluster alone and no fallback. The global proximity is round-robin
 * over every cluster with memory, each hart keeping its own position (started at its index): no shared
 * counter to bounce between harts, deterministic, and a long run on one hart is spread over the n banks
 * within one allocation of perfectly even.
 */
struct cluster_prox {
	struct mem_proximity_s prox;
	unsigned cluster;
	bool strict;
	unsigned n;
	uint8_t order[TOPO_MAX_CLUSTERS];
	uint8_t dist[TOPO_MAX_CLUSTERS];	/* distance of order[i] */
	uint32_t rr;
};

static struct cluster_prox cprox[TOPO_MAX_CLUSTERS];
static struct cluster_prox sprox[TOPO_MAX_CLUSTERS];
static struct mem_proximity_s gprox;
static unsigned nmem_clusters;
static uint8_t mem_clusters[TOPO_MAX_CLUSTERS];

/* ---- proximities ---- */

static uint64_t free_estimate(unsigned c)
{
	struct heap *h = heap_of(c);
	uint64_t f = 0;
	unsigned k;

	/* a racy read is fine: it only orders equally distant candidates */
	for (k = BUDDY_MIN_ORDER; k <= BUDDY_MAX_ORDER; k++)
		f += __atomic_load_n(&h->b.area[k].nfree, __ATOMIC_RELAXED) << k;
	return f;
}

static void count(unsigned first, unsigned served, unsigned rank, error_t e)
{
	struct mm_cpu *c = mm_cpu_self();

	if (e)
		c->cnt[first].failures++;
	else if (rank == 0)
		c->cnt[served].local_hits++;
	else {
		c->cnt[first].fallbacks_out++;
		c->cnt[served].fallbacks_in++;
	}
}

/*
 * Walk @cp's order. @want is the cluster whose CLUSTER-private memory qualifies: the proximity's for
 * MEM_VALID_CLUSTER, the caller's for MEM_VALID_CPU (that block is the caller's alone, and the caller
 * cannot reach another cluster's private memory). Strict proximities stop after their one cluster and
 * say why it failed.
 */
static error_t prox_run(struct cluster_prox *cp, size_t size, enum mem_reachability_s valid, void **addr,
			struct mem_receipt *r)
{
	struct mm_cpu *self = mm_cpu_self();
	unsigned want = valid == MEM_VALID_CPU ? self->cluster : cp->cluster, first, rank = 0, i = 0;
	const char *name = NULL;
	error_t e = ERR_NOMEM;

	if (cp->strict) {
		unsigned c = cp->cluster;

		if (!mem_cluster_nregions(c) || (mem_cluster_nregions(c) == 1 && !heap_of(c)->size))
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
	if (!cp->n)
		return ERR_NOMEM;
	first = cp->order[0];
	while (i < cp->n) {
		unsigned j, g = i, cand[TOPO_MAX_CLUSTERS], ng = 0, start;
		uint64_t fr[TOPO_MAX_CLUSTERS];

		/* the group of equally distant clusters starting at i */
		while (g < cp->n && cp->dist[g] == cp->dist[i])
			cand[ng++] = cp->order[g++];
		if (ng > 1) {
			/* most free first; equal free: rotate the start (round-robin) */
			start = __atomic_fetch_add(&cp->rr, 1, __ATOMIC_RELAXED) % ng;
			for (j = 0; j < ng; j++)
				fr[j] = free_estimate(cand[j]);
			for (j = 0; j < ng; j++) {
				unsigned k, best = j;

				for (k = j + 1; k < ng; k++) {
					unsigned dk = (k + ng - start) % ng, db = (best + ng - start) % ng;

					if (fr[k] > fr[best] || (fr[k] == fr[best] && dk < db))
						best = k;
				}
				if (best != j) {
					unsigned tc = cand[j];
					uint64_t tf = fr[j];

					cand[j] = cand[best], fr[j] = fr[best];
					cand[best] = tc, fr[best] = tf;
				}
			}
		}
		for (j = 0; j < ng; j++, rank++) {
			unsigned c = cand[j];

			if (rank == 0)
				first = c;
			if (!mem_cluster_alloc(c, size, valid, want, (int)self->hart, addr, &name)) {
				count(first, c, rank, 0);
				if (r)
					*r = (struct mem_receipt){ c, rank, rank > 0, false, name };
				return 0;
			}
		}
		i = g;
	}
	count(first, first, 0, ERR_NOMEM);
	return e;
}

static error_t cluster_prox_alloc(size_t size, void *priv, enum mem_reachability_s valid, void **addr)
{
	return prox_run(priv, size, valid, addr, NULL);
}

/* the global proximity: round-robin from this hart's own position over every cluster with memory */
static error_t global_prox_run(size_t size, enum mem_reachability_s valid, void **addr, struct mem_receipt *r)
{
	struct mm_cpu *self = mm_cpu_self();
	unsigned k, first = 0;
	const char *name = NULL;

	if (!nmem_clusters)
		return ERR_NOMEM;
	for (k = 0; k < nmem_clusters; k++) {
		unsigned c = mem_clusters[(self->hart + self->rr + k) % nmem_clusters];

		if (k == 0)
			first = c;
		/* a CLUSTER request through the global proximity names the caller's cluster */
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

static void build_prox(struct cluster_prox *cp, unsigned c)
{
	unsigned i, j;

	cp->prox.alloc = cluster_prox_alloc;
	cp->prox.priv = cp;
	cp->prox.kind = MEM_PROX_CLUSTER;
	cp->cluster = c;
	cp->n = 0;
	/* selection by (distance, id): the order is fixed at boot; groups are re-ordered per request */
	for (i = 0; i < nmem_clusters; i++) {
		unsigned best = TOPO_MAX_CLUSTERS;

		for (j = 0; j < nmem_clusters; j++) {
			unsigned m = mem_clusters[j], k, used = 0;

			for (k = 0; k < cp->n; k++)
				used |= cp->order[k] == m;
			if (used)
				continue;
			if (best == TOPO_MAX_CLUSTERS || topo->cluster[c].dist[m] < topo->cluster[c].dist[best])
				best = m;
		}
		cp->order[cp->n] = (uint8_t)best;
		cp->dist[cp->n] = topo->cluster[c].dist[best];
		cp->n++;
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
	for (i = 0; i < cprox[c].n && i < max; i++)
		order[i] = cprox[c].order[i];
	return i;
}

/* ---- what mm/mem.c asks of the proximities ---- */

error_t mem_prox_run(struct mem_proximity_s *prox, size_t size, enum mem_reachability_s valid, void **addr,
		     struct mem_receipt *r)
{
	if (prox->kind == MEM_PROX_GLOBAL)
		return global_prox_run(size, valid, addr, r);
	return prox_run(prox->priv, size, valid, addr, r);
}

int mem_prox_home(unsigned c)
{
	return cprox[c].n ? cprox[c].order[0] : -1;
}

unsigned mem_prox_rank(struct mem_proximity_s *prox, unsigned cl)
{
	struct mm_cpu *self = mm_cpu_self();
	unsigned rank, k;

	/*
	 * Its rank in the proximity's order: for a cluster proximity the number of clusters nearer than it
	 * (equally distant ones are re-ordered per request, so the first place of its group), for the global
	 * one its distance from where this request's round-robin started; a cluster outside the order (no heap)
	 * ranks after all of it.
	 */
	if (prox->kind == MEM_PROX_GLOBAL) {
		rank = nmem_clusters;
		for (k = 0; k < nmem_clusters; k++)
			if (mem_clusters[(self->hart + self->rr + k) % nmem_clusters] == cl)
				rank = k;
	} else {
		const struct cluster_prox *cp = prox->priv;

		rank = cp->n;
		for (k = 0; k < cp->n; k++)
			if (cp->order[k] == cl) {
				while (k > 0 && cp->dist[k - 1] == cp->dist[k])
					k--;
				rank = k;
				break;
			}
	}
	return rank;
}

unsigned mem_prox_init(const struct topo *t)
{
	unsigned c;

	topo = t;
	nmem_clusters = 0;
	for (c = 0; c < t->nclusters; c++)
		if (heap_of(c)->size)
			mem_clusters[nmem_clusters++] = (uint8_t)c;
	for (c = 0; c < t->nclusters; c++) {
		build_prox(&cprox[c], c);
		sprox[c] = cprox[c];
		sprox[c].prox.priv = &sprox[c];
		sprox[c].prox.kind = MEM_PROX_STRICT;
		sprox[c].strict = true;
		cprox[c].strict = false;
	}
	gprox.alloc = global_prox_alloc;
	gprox.priv = NULL;
	gprox.kind = MEM_PROX_GLOBAL;
	return nmem_clusters;
}
