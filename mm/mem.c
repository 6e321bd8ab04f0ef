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


/* per-hart cache geometry: bin i holds blocks of order MM_CACHE_MIN_ORDER + i */
/*
 * Bin sizes and batches trade lock round-trips against the worst single operation: a refill takes max/4
 * blocks (at most 8, one buddy_alloc_bulk()), a trim gives max/8 back (at most 4 frees, each of which may
 * merge), so no mem_alloc()/mem_free() does more than one batch under one lock; remote frees go home 8 at
 * a time.
 */
static const uint32_t bin_max[MM_CACHE_BINS] = { 32, 32, 32, 16, 16, 8, 8 };

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
			e = heap_alloc_locked(r->heap, size, addr);
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
	for (i = 0; i < MM_CACHE_BINS; i++) {
		struct mm_cache_bin *b = &c->bin[i];

		b->head = &b->end;
		b->end = (struct mm_cached){ .next = NULL, .stat = BUDDY_TAG_HEAD | (MM_CACHE_MIN_ORDER + i),
					     .room = bin_max[i] };
		c->bin_of_tag[BUDDY_TAG_HEAD | (MM_CACHE_MIN_ORDER + i)] = (uint8_t)((char *)b - mm_cpu_base(c));
	}
	for (i = 0; i < 64; i++)	/* entry i: sizes 64 * i + 1 .. 64 * (i + 1), all of one order */
		c->bin_of_size[i] =
			(uint8_t)((char *)&c->bin[buddy_order(64 * i + 64) - MM_CACHE_MIN_ORDER] - mm_cpu_base(c));
	if (mem_prox_home(cluster) >= 0) {
		struct heap *h = heap_of((unsigned)mem_prox_home(cluster));

		c->home = h;
		c->home_lo = h->b.base;
		c->home_span = h->b.end - h->b.base;
		c->home_tag_bias = h->b.tag_bias;
		const struct mem_region *sys = cluster_regions[h->cluster][ncluster_regions[h->cluster] - 1];

		c->cache_dma = sys->dma_end == sys->end;	/* all of the home heap is DMA-capable */
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
 * The cache of a hart holds blocks of its home heap, orders 6..12, tagged "cached" (see mm/buddy.h): the
 * buddy allocator counts them as used and refuses to free them, and mem_free() recognises a second free.
 * Each bin is a LIFO list of struct mm_cached ending in a sentinel (see mm/cpu.h). Refill takes max/4
 * blocks under one heap lock; a push that fills a bin gives max/8 back under one lock. Frees of other
 * clusters' small blocks collect per owner and go back REMOTE_BATCH at a time.
 */
static unsigned bin_order(const struct mm_cpu *c, const struct mm_cache_bin *b)
{
	return MM_CACHE_MIN_ORDER + (unsigned)(b - c->bin);
}

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

/* give the top @n blocks of @b back to heap @h (tagged allocated again first, as the buddy expects) */
static void bin_give_back(struct heap *h, struct mm_cache_bin *b, uint32_t n)
{
	struct mm_cached *p = b->head;
	uint32_t i;

	spin_lock(&h->lock);
	for (i = 0; i < n && p->next; i++) {
		struct mm_cached *next = p->next;

		*p->tag = (uint8_t)b->end.stat;
		heap_give_back_locked(h, p, "cached");
		p = next;
	}
	spin_unlock(&h->lock);
	b->head = p;
}

/* fault injection: refills that fail on purpose, per mille (mem_set_refill_faults()) */
static uint32_t refill_fail_permille;

void mem_set_refill_faults(unsigned permille)
{
	refill_fail_permille = permille > 1000 ? 1000 : permille;
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

/* push @p (a block of @b's order whose tag is at @t) on @b; the caller checked there is room */
static inline void bin_push(struct mm_cache_bin *b, struct mm_cached *p, uint8_t *t)
{
	struct mm_cached *h = b->head;

	p->next = h;
	p->tag = t;
	p->room = h->room - 1;
	b->head = p;
}

/* the most a refill takes: max/4 of the largest bin limit */
#define REFILL_MAX 8

static __attribute__((noinline)) bool bin_refill(struct mm_cpu *c, struct mm_cache_bin *b)
{
	struct heap *h = c->home;
	unsigned order = bin_order(c, b);
	uint32_t want = (uint32_t)b->end.room / 4, got, i;
	void *blk[REFILL_MAX];

	if (refill_fail_permille && refill_fault(c))
		return false;
	if (want > REFILL_MAX)
		want = REFILL_MAX;
	if (want > b->head->room - 1)
		want = (uint32_t)b->head->room - 1;	/* never fill the bin from a refill */

	/* one batch under the lock: exact-order blocks, then one larger block carved (buddy_alloc_bulk()) */
	spin_lock(&h->lock);
	got = buddy_alloc_bulk(&h->b, order, blk, want);
	if (got < want)
		h->failures++;
	spin_unlock(&h->lock);
	for (i = got; i-- > 0;) {
		uint8_t *t = buddy_tag(h->b.tag_bias, (uintptr_t)blk[i]);

		*t = (uint8_t)(BUDDY_TAG_FREE | order);
#if MM_DEBUG
		/* every cached block is poisoned (see the debug allocator below) */
		memset((char *)blk[i] + sizeof(struct mm_cached), MEM_DBG_POISON,
		       ((size_t)1 << order) - MEM_DBG_TRAILER - sizeof(struct mm_cached));
#endif
		bin_push(b, blk[i], t);
	}
	return got > 0;
}

/*
 * mem_cache_trim() - a push filled bin @b of the calling hart: give its top eighth back (mm/mem.h). An
 * eighth, not the quarter a refill takes: each block given back may merge up many orders under the lock,
 * and a quarter made the trim the costliest single operation (1849 instructions on the mixed trace,
 * 977 with an eighth; the mean per operation rises by about 1%).
 */
void mem_cache_trim(struct mm_cache_bin *b)
{
	bin_give_back(mm_cpu_self()->home, b, (uint32_t)(b->end.room + 7) / 8);
}

void mem_drain(void)
{
	struct mm_cpu *c = mm_cpu_self();
	unsigned i;

	for (i = 0; i < MM_CACHE_BINS; i++) {
		struct mm_cache_bin *b = &c->bin[i];

		if (b->head->next)
			bin_give_back(c->home, b, mm_cache_count(b));
	}
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

/* pop the top block of bin @b (not empty) and tag it allocated again */
static inline void *bin_pop(struct mm_cache_bin *b)
{
	struct mm_cached *p = b->head;

	b->head = p->next;
	*p->tag = (uint8_t)b->end.stat;
	return p;
}

__attribute__((noinline)) error_t mem_raw_alloc(size_t size, struct mem_proximity_s *prox,
						    enum mem_reachability_s valid, void **addr, struct mem_receipt *r)
{
	struct mm_cpu *c = mm_cpu_self();
	bool strict;
	error_t e;

	if (!addr)
		return ERR_INVAL;
	if ((unsigned)valid >= MEM_VALID_COUNT_)
		return ERR_REACH;
	if (!size || size > MEM_MAX_SIZE)
		return ERR_SIZE;
	if (!prox)
		prox = c->prox;
	/* the default proximity may refill the cache instead of taking one block under the lock */
	if (prox == c->prox && ((c->cache_valid >> valid) & 1) && size <= ((size_t)1 << MM_CACHE_MAX_ORDER)) {
		struct mm_cache_bin *b = (struct mm_cache_bin *)(mm_cpu_base(c) + c->bin_of_size[(size - 1) >> 6]);

		if (b->head->next || bin_refill(c, b)) {
			*addr = bin_pop(b);
			b->end.stat += MM_CACHE_HIT;
			if (r)
				*r = (struct mem_receipt){ c->home->cluster, 0, false, true, "heap" };
			return 0;
		}
	}
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

struct mem_alloc_ret mem_alloc_slow(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid,
				    bool want)
{
	struct mem_alloc_ret r = { 0, NULL };

	r.err = mem_raw_alloc(size, prox, valid, want ? &r.addr : NULL, NULL);
	return r;
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

void mem_free_slow(void *addr)
{
	(void)free_slow(addr);
}

/*
 * The checked free: mem_free()'s fast path plus the test that @addr's tag in the home heap is valid
 * (buddy_section_ready(): its section is fully initialised, or @addr starts a head-only one), so that
 * no pointer the allocator never returned can enter a cache.
 */
error_t mem_raw_free(void *addr)
{
	struct mm_cpu *c = mm_cpu_self();
	uintptr_t a = (uintptr_t)addr;

	if (!(a - c->home_lo < c->home_span && !buddy_section_ready(&c->home->b, a)) && mem_cache_park(c, addr))
		return 0;
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
	return h ? heap_getsize(addr, size) : ERR_NOTOWNED;
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
			st->local_hits += mm_cache_hits(c);
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
