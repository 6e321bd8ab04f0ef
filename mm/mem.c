/* mem.c - mem_alloc(): proximity x reachability over per-cluster regions, with lock-free per-hart caches. */
#include <string.h>

#include "mm/buddy.h"
#include "mm/cma.h"
#include "mm/cpu.h"
#include "mm/env.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/mem_internal.h"
#include "mm/memory_pool.h"
#include "mm/page_pool.h"
#include "mm/slab.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Regions. Each cluster owns an ordered list of regions: its CPU-private regions, its CLUSTER-private
 * region(s), then its SYS heap (kernel_heap[x][y]). A private region is a memory_pool (fine-grained, 16-byte
 * granule) behind its own lock; the SYS heap is the buddy heap behind the heap's lock. Every region is also
 * an alloc_pool_s, so the loop below does not care which model backs it.
 */
enum region_kind { REGION_SYS, REGION_CLUSTER, REGION_CPU };

struct mem_region {
	const char *name;
	enum region_kind kind;
	uintptr_t dma_end;		/* DMA requests may take [base, dma_end): end (all), the limit, or base */
	unsigned cluster;
	int hart;			/* REGION_CPU: the only hart that may use it */
	uintptr_t base, end;
	struct heap *heap;		/* REGION_SYS */
	struct alloc_pool_s *pool;	/* private regions: a memory_pool or a page_pool */
	spinlock_t lock;		/* private regions (the heap has its own) */
};

#define MEM_MAX_REGIONS (2 * TOPO_MAX_CLUSTERS + 16)
#define REGIONS_PER_CLUSTER 8

static struct mem_region regions[MEM_MAX_REGIONS];
static unsigned nregions;
static struct mem_region *cluster_regions[TOPO_MAX_CLUSTERS][REGIONS_PER_CLUSTER];
static unsigned ncluster_regions[TOPO_MAX_CLUSTERS];
static unsigned nprivate;

static const struct topo *topo;
static uint64_t dma_limit;
static struct mm_cpu *cpus[MM_MAX_HARTS];



/* ---- regions ---- */

static bool region_fits(const struct mem_region *r, enum mem_reachability_s valid, unsigned want_cluster,
			int hart)
{
	switch (r->kind) {
	case REGION_SYS:
		return valid != MEM_VALID_DMA || r->dma_end > r->base;
	case REGION_CLUSTER:
		return (valid == MEM_VALID_CLUSTER || valid == MEM_VALID_CPU) && r->cluster == want_cluster;
	case REGION_CPU:
		return valid == MEM_VALID_CPU && r->hart == hart;
	}
	return false;
}

static error_t region_alloc(struct mem_region *r, size_t size, enum mem_reachability_s valid, void **addr)
{
	error_t e;

	if (r->kind == REGION_SYS) {
		if (!r->heap->size)
			return ERR_NOHEAP;
		if (size > r->heap->size)
			return ERR_NOMEM;
		spin_lock(&r->heap->lock);
		if (valid == MEM_VALID_DMA && r->dma_end < r->end)	/* across the DMA limit: its part below */
			e = heap_alloc_below_locked(r->heap, size, r->dma_end, addr);
		else
			e = heap_alloc_run_locked(r->heap, size, addr);
		spin_unlock(&r->heap->lock);
		return e;
	}
	spin_lock(&r->lock);
	e = memory_allocator_pop(r->pool, size, addr);
	spin_unlock(&r->lock);
	return e == ERR_SIZE ? ERR_NOMEM : e;
}

/*
 * Try every region of cluster @c that @valid allows, private ones first. CLUSTER-private memory qualifies
 * only for the cluster the request names (@want), CPU-private only for the calling hart.
 */
error_t mem_cluster_alloc(unsigned c, size_t size, enum mem_reachability_s valid, unsigned want, int hart,
			     void **addr, const char **name)
{
	unsigned i;
	error_t e = ERR_NOMEM;

	for (i = 0; i < ncluster_regions[c]; i++) {
		struct mem_region *r = cluster_regions[c][i];

		if (!region_fits(r, valid, want, hart))
			continue;
		e = region_alloc(r, size, valid, addr);
		if (!e) {
			*name = r->name;
			return 0;
		}
	}
	return e;
}

unsigned mem_cluster_nregions(unsigned c)
{
	return ncluster_regions[c];
}

/* ---- init ---- */

static struct mem_region *region_new(void)
{
	if (nregions >= MEM_MAX_REGIONS)
		return NULL;
	return &regions[nregions++];
}

static void cluster_add_region(unsigned c, struct mem_region *r)
{
	unsigned n = ncluster_regions[c], i;

	/* keep CPU-private before CLUSTER-private before SYS */
	for (i = n; i > 0 && cluster_regions[c][i - 1]->kind < r->kind; i--)
		cluster_regions[c][i] = cluster_regions[c][i - 1];
	cluster_regions[c][i] = r;
	ncluster_regions[c] = n + 1;
}

error_t mem_init(const struct topo *t, uint64_t limit)
{
	unsigned c;

	topo = t;
	dma_limit = limit;
	nregions = 0;
	nprivate = 0;
	memset(ncluster_regions, 0, sizeof(ncluster_regions));
	memset(cpus, 0, sizeof(cpus));
	for (c = 0; c < t->nclusters; c++) {
		struct heap *h = heap_of(c);
		struct mem_region *r = region_new();

		r->name = "heap";
		r->kind = REGION_SYS;
		r->cluster = c;
		r->hart = -1;
		r->heap = h;
		r->base = (uintptr_t)t->cluster[c].mem.base;
		r->end = (uintptr_t)(t->cluster[c].mem.base + t->cluster[c].mem.size);
		/*
		 * A cluster across the limit (Linux's DMA32 zone inside a node): DMA requests take its memory
		 * below the limit, by proximity like any DMA-capable heap; the rest serves the others.
		 */
		r->dma_end = !h->size || (limit && r->base >= limit) ? r->base : r->end;
		if (limit && r->dma_end > limit)
			r->dma_end = (uintptr_t)limit;
		if (r->dma_end > r->base && r->dma_end < r->end)
			mm_log("mem: cluster %u straddles the DMA limit 0x%llx: DMA requests take its memory below it",
			       c, (unsigned long long)limit);
		cluster_add_region(c, r);
	}
	return mem_prox_init(t) ? 0 : ERR_NOMEM;
}

/*
 * A page-granular private region: the page_pool descriptor at the region's start, the pool over the rest
 * (its bitmaps in its first pages). Both live in the region's own memory, as a memory_pool's do.
 */
static error_t pages_init(uintptr_t base, size_t size, struct alloc_pool_s **pool)
{
	struct page_pool_s *pp = (struct page_pool_s *)((base + 15) & ~(uintptr_t)15);
	uintptr_t start = (uintptr_t)(pp + 1);
	error_t e;

	if (size < sizeof(*pp) || start - base > size)
		return ERR_SIZE;
	e = page_pool_init(pp, start, base + size);
	if (!e)
		*pool = &pp->alloc;
	return e;
}

error_t mem_add_private(unsigned cluster, int hart_index, uintptr_t base, size_t size, bool pages)
{
	struct mem_region *r;
	struct memory_pool_s *mp = NULL;
	error_t e;

	if (!topo || cluster >= topo->nclusters || ncluster_regions[cluster] >= REGIONS_PER_CLUSTER)
		return ERR_RANGE;
	r = region_new();
	if (!r)
		return ERR_NOMEM;
	r->pool = NULL;
	if (pages) {
		e = pages_init(base, size, &r->pool);
	} else {
		e = memory_pool_init((void *)base, (void *)(base + size), &mp);
		if (!e)
			r->pool = &mp->alloc;
	}
	if (e) {
		nregions--;
		return e;
	}
	r->name = hart_index < 0 ? "cluster-private" : "cpu-private";
	r->kind = hart_index < 0 ? REGION_CLUSTER : REGION_CPU;
	r->cluster = cluster;
	r->hart = hart_index;
	r->base = base;
	r->end = base + size;
	r->dma_end = base;	/* private memory serves no DMA request */
	spin_init(&r->lock);
	cluster_add_region(cluster, r);
	nprivate++;
	return 0;
}

/* the nearest cluster with memory: the first entry of the cluster's proximity */
void mem_cpu_init(struct mm_cpu *c, unsigned hart, unsigned cluster)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	c->hart = hart;
	c->cluster = cluster;
	c->prox = mem_prox_cluster(cluster);
	if (mem_prox_home(cluster) >= 0) {
		struct heap *h = heap_of((unsigned)mem_prox_home(cluster));

		c->home = h;
		const struct mem_region *sys = cluster_regions[h->cluster][ncluster_regions[h->cluster] - 1];

		c->cache_dma = sys->dma_end == sys->end;	/* all of the home heap is DMA-capable */
		c->heap_direct = mem_prox_home_alone(cluster);
	}
	/* private regions the cache would bypass: CLUSTER/CPU requests then take the slow path */
	c->cache_valid = 1u << MEM_VALID_SYS;
	if (c->cache_dma)
		c->cache_valid |= 1u << MEM_VALID_DMA;
	c->cache_valid |= 1u << MEM_VALID_CLUSTER | 1u << MEM_VALID_CPU;
	for (i = 0; i < ncluster_regions[cluster]; i++) {
		const struct mem_region *r = cluster_regions[cluster][i];

		if (r->kind == REGION_CLUSTER)
			c->cache_valid &= ~(1u << MEM_VALID_CLUSTER | 1u << MEM_VALID_CPU);
		if (r->kind == REGION_CPU && r->hart == (int)hart)
			c->cache_valid &= ~(1u << MEM_VALID_CPU);
	}
	if (!c->home)
		c->cache_valid = 0;
	slab_cpu_init(&c->slab, hart, c->home);
	if (hart < MM_MAX_HARTS)
		cpus[hart] = c;
	c->ready = true;
}

uint64_t mem_dma_limit(void)
{
	return dma_limit;
}

bool mem_is_dma(const void *addr, size_t size)
{
	uintptr_t a = (uintptr_t)addr;

	return !dma_limit || (a < dma_limit && size <= dma_limit - a);
}

/* ---- per-hart caches ---- */

/*
 * The per-hart caches are the slab layer's (mm/slab.c): each hart allocates its small blocks from slabs
 * of its home heap that it owns, frees blocks of its own slabs into them and sends other harts' blocks
 * home through their lock-free inboxes. What stays here: the fault injection of refills, and the batches
 * of other clusters' heap blocks (requests of other proximities), which mm/mem_remote.c batches.
 */
/*
 * heap_give_back_locked() - free a block this layer validated when it took it (a cached or remote block,
 * tagged allocated again): the buddy's O(1) free, or its merge; a refusal is a broken invariant.
 */
void heap_give_back_locked(struct heap *h, void *p, const char *what)
{
	int why = buddy_try_free(&h->b, (uintptr_t)p);

	if (why == BUDDY_TRY_MERGE)
		buddy_free_merge(&h->b, (uintptr_t)p);
	else if (why != BUDDY_TRY_FREED && heap_free_locked(h, p))
		MM_PANIC("%s block %p of cluster %u refused by its heap", what, p, h->cluster);
}

/* fault injection: refills that fail on purpose, per mille (mem_set_refill_faults()) */
static uint32_t refill_fail_permille;

void mem_set_refill_faults(unsigned permille)
{
	refill_fail_permille = permille > 1000 ? 1000 : permille;
}

unsigned mem_get_refill_faults(void)
{
	return refill_fail_permille;
}

static bool refill_fault(struct mm_cpu *c)
{
	/* xorshift per hart, seeded by the hart index: deterministic for a given run */
	uint32_t x = c->fault_rng ? c->fault_rng : 0x9e3779b9u ^ (c->hart * 2654435761u);

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	c->fault_rng = x;
	if (x % 1000 < refill_fail_permille) {
		c->refill_faults++;
		return true;
	}
	return false;
}

void mem_drain(void)
{
	struct mm_cpu *c = mm_cpu_self();

	slab_drain(&c->slab);
	mem_remote_drain(c);
}

/* ---- mem_alloc / mem_free ---- */

/*
 * Large DMA requests and the CMA "default" region. A MEM_VALID_DMA request of MEM_DMA_CMA_MIN bytes or
 * more is served first from the contiguous region named "default" when one is declared (page-granular,
 * page-aligned, best-fit: no power-of-two rounding of a big buffer, and it keeps heap blocks for the rest);
 * smaller DMA requests use the DMA-capable heaps by proximity and fall back to "default" only when no heap
 * has room. A strict proximity never takes "default": it means that cluster or nothing. The region must
 * lie inside the DMA window (the kernel carves it there).
 */
static error_t dma_from_cma(size_t size, struct mem_proximity_s *prox, void **addr, struct mem_receipt *r)
{
	unsigned cl = 0, rank, k;
	uintptr_t a;
	struct cma_region *reg;

	if (cma_find("default", &reg) || cma_alloc("default", size, 0, &a))
		return ERR_NOMEM;
	*addr = (void *)a;
	if (!r || prox->kind == MEM_PROX_CALLER)
		return 0;	/* a caller-made proximity writes no receipt */
	/* the cluster whose RAM holds the block (the region lies in one cluster: the kernel carves it so) */
	for (k = 0; k < topo->nclusters; k++)
		if (a - topo->cluster[k].mem.base < topo->cluster[k].mem.size)
			cl = k;
	rank = mem_prox_rank(prox, cl);
	*r = (struct mem_receipt){ cl, rank, rank > 0, false, "cma:default" };
	return 0;
}

static error_t mem_raw_alloc_walk(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid,
				  void **addr, struct mem_receipt *r);

__attribute__((noinline)) error_t mem_raw_alloc(size_t size, struct mem_proximity_s *prox,
						    enum mem_reachability_s valid, void **addr, struct mem_receipt *r)
{
	struct mm_cpu *c = mm_cpu_self();

	if (!addr)
		return ERR_INVAL;
	if ((unsigned)valid >= MEM_VALID_COUNT_)
		return ERR_REACH;
	if (!size || size > MEM_MAX_SIZE)
		return ERR_SIZE;
	if (!prox)
		prox = c->prox;
	/* the default proximity takes small blocks from the hart's slabs (a new slab: one buddy operation) */
	if (prox == c->prox && ((c->cache_valid >> valid) & 1) && size <= SLAB_MAX_SIZE) {
		unsigned k = c->slab.cls_of_size[(size - 1) >> 4];
		void *p = slab_alloc_fast(&c->slab, k);

		if (p || (!(refill_fail_permille && refill_fault(c)) && (p = slab_alloc_slow(&c->slab, k)) != NULL)) {
			*addr = p;
			if (r)
				*r = (struct mem_receipt){ c->home->cluster, 0, false, true, "heap" };
			return 0;
		}
	}
	return mem_raw_alloc_walk(size, prox, valid, addr, r);
}

/* mem_raw_alloc() past the slabs: CMA for large DMA requests, then the proximity's walk */
static error_t mem_raw_alloc_walk(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid,
				  void **addr, struct mem_receipt *r)
{
	bool strict;
	error_t e;

	/* a strict proximity is its cluster or nothing: no CMA first (its fallback never sees ERR_NOMEM) */
	strict = prox->kind == MEM_PROX_STRICT;
	if (valid == MEM_VALID_DMA && size >= MEM_DMA_CMA_MIN && !strict && !dma_from_cma(size, prox, addr, r))
		return 0;
	if (prox->kind != MEM_PROX_CALLER)
		e = mem_prox_run(prox, size, valid, addr, r);
	else	/* a caller-made proximity: the seed's interface, no receipt */
		e = prox->alloc(size, prox->priv, valid, addr);
	if (e == ERR_NOMEM && valid == MEM_VALID_DMA && !dma_from_cma(size, prox, addr, r))
		return 0;
	return e;
}

/* a request the hart's own slabs serve: the default proximity, an address wanted, a class size, a cached reach */
static inline bool slab_request(const struct mm_cpu *c, size_t size, const struct mem_proximity_s *prox,
				enum mem_reachability_s valid, bool want)
{
	return !prox && want && size - 1 < SLAB_MAX_SIZE && (unsigned)valid < MEM_VALID_COUNT_ &&
	       ((c->cache_valid >> valid) & 1);
}

/* mem_alloc_slow() past its common case; @slab_full: the slab layer had no room for a slab */
static __attribute__((noinline)) struct mm_alloc_ret alloc_slow_rest(size_t size, struct mem_proximity_s *prox,
								      enum mem_reachability_s valid, bool want,
								      bool slab_full)
{
	struct mm_alloc_ret r = { 0, NULL };
	struct mm_cpu *c = mm_cpu_self();

	if (!slab_full && slab_request(c, size, prox, valid, want) && !(refill_fail_permille && refill_fault(c))) {
		if ((r.addr = slab_alloc_slow(&c->slab, c->slab.cls_of_size[(size - 1) >> 4])) != NULL)
			return r;
		slab_full = true;
	}
	if (slab_full) {
		/* no room for a slab: the proximity walk (its fault injection is not drawn twice) */
		r.err = mem_raw_alloc_walk(size, c->prox, valid, &r.addr, NULL);
		return r;
	}
	/*
	 * A larger SYS request of the default proximity goes to the home heap directly when the proximity
	 * would try it first anyway (alone in its ring): the walk's layers cost three times the buddy
	 * allocation. If the home heap has no room, the walk tries it again, then the others in order.
	 */
	if (!prox && want && valid == MEM_VALID_SYS && c->heap_direct && size > SLAB_MAX_SIZE &&
	    size <= c->home->size) {
		struct heap *h = c->home;
		error_t e;

		spin_lock(&h->lock);
		e = heap_alloc_run_locked(h, size, &r.addr);
		spin_unlock(&h->lock);
		if (!e) {
			mem_prox_count_hit(h->cluster);
			return r;
		}
	}
	r.err = mem_raw_alloc(size, prox, valid, want ? &r.addr : NULL, NULL);
	return r;
}

/* slab_alloc_miss()'s fallback: the home heap had no room for a slab */
static struct mm_alloc_ret alloc_after_miss(size_t size, unsigned valid)
{
	return alloc_slow_rest(size, NULL, (enum mem_reachability_s)valid, true, true);
}

/*
 * The inline path's slab request whose current slab ran out (@how: MEM_SLOW_MISS) goes straight to the
 * slab layer's refill (a carve or a switch to a partial slab, most often) by a tail call, nothing
 * checked again; with refill faults injected it takes the checked way, which draws them.
 */
struct mm_alloc_ret mem_alloc_slow(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid,
				   unsigned long how)
{
	struct slab_cpu *sc = &mm_cpu_self()->slab;

	if (likely(how == MEM_SLOW_MISS && !refill_fail_permille))
		return slab_alloc_miss(sc, sc->cls_of_size[(size - 1) >> 4], size, (unsigned)valid, alloc_after_miss);
	return alloc_slow_rest(size, prox, valid, how != MEM_SLOW_NOADDR, false);
}

static struct mem_region *private_owner(uintptr_t a)
{
	unsigned i;

	for (i = 0; i < nregions; i++)
		if (regions[i].kind != REGION_SYS && a >= regions[i].base && a < regions[i].end)
			return &regions[i];
	return NULL;
}

bool mem_private_owns(uintptr_t a)
{
	return nprivate && private_owner(a);
}

static __attribute__((noinline)) error_t free_slow(void *addr)
{
	struct mm_cpu *c = mm_cpu_self();
	uintptr_t a = (uintptr_t)addr;
	struct mem_region *pr;
	struct heap *h;
	error_t e;

	if (!addr)
		return 0;
	if (cma_owns(a))
		return cma_free(a);
	if (nprivate && (pr = private_owner(a))) {
		spin_lock(&pr->lock);
		e = memory_allocator_push(pr->pool, addr);
		spin_unlock(&pr->lock);
		return e;
	}
	h = heap_owner(addr);
	if (!h) {
		mm_log("mem: free %p (no cluster): %s", addr, err_str(ERR_NOTOWNED));
		return ERR_NOTOWNED;
	}
	/* a slab block: freed into its slab, or sent to its owner hart (mm/slab.c) */
	e = slab_free_any(&c->slab, h, a);
	if (e != 1) {
		if (e) {
			__atomic_fetch_add(&h->bad_frees, 1, __ATOMIC_RELAXED);
			mm_log("mem: free %p (cluster %u, size class): %s", addr, h->cluster, err_str(e));
		}
		return e;
	}
	/* a small block of another cluster: batch it back to its owner (validated now, freed later) */
	if (h != c->home && c->ready && !(a & 63) && buddy_section_ready(&h->b, a) && mem_remote_push(c, h, addr))
		return 0;
	spin_lock(&h->lock);
	e = heap_free_locked(h, addr);
	spin_unlock(&h->lock);
	if (e)
		mm_log("mem: free %p (cluster %u): %s", addr, h->cluster, err_str(e));
	return e;
}

/*
 * What mem_free()'s inline and remote paths did not take: a block of the home heap's buddy (a request of
 * more than SLAB_MAX_SIZE, most often) goes straight to it with the O(1) free (buddy_free_fast(): a valid
 * allocated head, or nothing changed), a page run to heap_free_locked(), anything else, slab blocks and
 * reserved memory (CMA, private regions) included, through the checked free_slow().
 */
static void free_other(void *addr)
{
	struct heap *h = mm_cpu_self()->home;
	uintptr_t a = (uintptr_t)addr;

	if (likely(h && a - h->b.base < h->b.span)) {
		unsigned pb = *buddy_page_byte(h->b.pg_bias, a);	/* valid in every section (buddy_init_zeroed()) */
		error_t e;
		bool freed;

		if (pb >= HEAP_RUN_HEAD) {	/* a page run (mm/heap.h), freed whole */
			spin_lock(&h->lock);
			e = heap_free_locked(h, addr);
			spin_unlock(&h->lock);
			if (e)
				mm_log("mem: free %p (cluster %u): %s", addr, h->cluster, err_str(e));
			return;
		}
		if (!pb) {
			spin_lock(&h->lock);
			freed = buddy_free_fast(&h->b, a);
			spin_unlock(&h->lock);
			if (likely(freed))
				return;
		}
	}
	(void)free_slow(addr);
}

/*
 * mem_free()'s slow path: another hart's slab block straight into its batch, anything else checked. Both
 * calls are tail calls: no frame on the way to the batch.
 */
void mem_free_slow(void *addr)
{
	struct heap *h = heap_owner_fast((uintptr_t)addr);

	if (h)
		slab_free_remote_fast(&mm_cpu_self()->slab, h, (uintptr_t)addr, free_other);
	else
		free_other(addr);
}

/*
 * The checked free: the slow path, whose slab lookup tests the section of @addr before it trusts its page
 * byte (slab_free_any()), so that no pointer the allocator never returned is taken for a slab block.
 */
error_t mem_raw_free(void *addr)
{
	return free_slow(addr);
}

error_t mem_raw_getsize(const void *addr, size_t *size)
{
	uintptr_t a = (uintptr_t)addr;
	struct mem_region *pr;
	struct heap *h;
	error_t e;

	if (!size)
		return ERR_INVAL;
	if (cma_owns(a))
		return ERR_NOTOWNED;	/* CMA chunks have no size query: their owner knows the size */
	if (nprivate && (pr = private_owner(a))) {
		spin_lock(&pr->lock);
		e = memory_allocator_getsize(pr->pool, (void *)addr, size);
		spin_unlock(&pr->lock);
		return e;
	}
	h = heap_owner(addr);
	if (!h)
		return ERR_NOTOWNED;
	e = slab_getsize(h, a, size);
	return e == 1 ? heap_getsize(addr, size) : e;
}

error_t mem_alloc_aligned(size_t size, size_t align, struct mem_proximity_s *prox, enum mem_reachability_s valid,
			  void **addr)
{
	struct mm_cpu *c = mm_cpu_self();
	int k;

	if (!align || (align & (align - 1)))
		return ERR_INVAL;
	if (align <= 16 || !size || size > MEM_MAX_SIZE)
		return mem_alloc_receipt(size, prox, valid, addr, NULL);
	if (!addr)
		return ERR_INVAL;
	/* a size class with that alignment, from the hart's slabs */
	k = slab_class_aligned(size, align);
	if (k >= 0 && (!prox || prox == c->prox)) {
		void *p;
		error_t e = mem_alloc_receipt(slab_classes[k].size, prox, valid, &p, NULL);

		if (e)
			return e;
		if (!((uintptr_t)p & (align - 1))) {
			*addr = p;
			return 0;
		}
		/* not from a slab of that class (the debug allocator's extra bytes, a fallback): a heap block */
		mem_free_checked(p);
	}
	/* a heap block: a power of two >= the size and the alignment, aligned to itself */
	if (align > MEM_MAX_SIZE)
		return ERR_SIZE;
	if (size < align)
		size = align;
	if (size <= SLAB_MAX_SIZE)
		size = SLAB_MAX_SIZE + 1;	/* past the classes: a heap block, naturally aligned */
	{
		void *p;
		error_t e = mem_alloc_receipt(size, prox, valid, &p, NULL);

		if (e)
			return e;
		if ((uintptr_t)p & (align - 1)) {	/* CMA or a private pool: not aligned to its size */
			mem_free_checked(p);
			return ERR_NOMEM;
		}
		*addr = p;
		return 0;
	}
}

void mem_cluster_get_stats(unsigned cl, struct mem_cluster_stats *st)
{
	unsigned i;

	memset(st, 0, sizeof(*st));
	if (!topo || cl >= topo->nclusters)
		return;
	mem_prox_stats(cl, st);
	for (i = 0; i < MM_MAX_HARTS; i++) {
		const struct mm_cpu *c = cpus[i];

		if (!c)
			continue;
		if (c->home && c->home->cluster == cl)
			st->local_hits += mm_slabs_taken(c);
	}
}

#if !MM_DEBUG

/* mem_alloc() and mem_free() are inline in mm/mem.h */

error_t mem_alloc_receipt(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid,
			  void **addr, struct mem_receipt *r)
{
	return mem_raw_alloc(size, prox, valid, addr, r);
}

error_t mem_free_checked(void *addr)
{
	return mem_raw_free(addr);
}

error_t mem_getsize(const void *addr, size_t *size)
{
	return mem_raw_getsize(addr, size);
}

#endif /* !MM_DEBUG: the debug allocator's are in mm/mem_debug.c */
