/* heap.c - kernel_heap[x][y]: per-cluster buddy heaps, each behind its own queuing spinlock. */
#include <stdio.h>
#include <string.h>

#include "mm/cpu.h"
#include "mm/env.h"
#include "mm/heap.h"
#include "mm/range.h"

struct heap *kernel_heap[TOPO_MESH_MAX][TOPO_MESH_MAX];

/* descriptors of clusters without memory: nothing to place in their own RAM, so they live here */
static struct heap empty_heap[TOPO_MAX_CLUSTERS];
/* the heap of each cluster id, and how many there are (0 before heap_init_all()): one base for heap_alloc() */
static struct {
	unsigned n;
	struct heap *h[TOPO_MAX_CLUSTERS];
} by_id;
static const struct topo *topo;
static uint64_t heap_limit[TOPO_MAX_CLUSTERS];
static uint8_t heap_limited[TOPO_MAX_CLUSTERS];

/* heaps with memory, sorted by span base, for heap_owner()'s binary search */
static struct {
	uintptr_t base, end;
	struct heap *h;
} spans[TOPO_MAX_CLUSTERS];
static unsigned nspans;

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Owner map (struct heap_owner_map, mm/heap.h): the heap of an address in O(1), for heap_free() and
 * heap_owner(). Addresses are cut into slots of 2^shift bytes, shift the smallest (>= 16) with which
 * every heap's buddy span lies in a run of at most HEAP_OWNER_SLOTS consecutive slots;
 * slot[(a >> shift) % HEAP_OWNER_SLOTS] names one heap whose buddy span [b.base, b.end) meets slot
 * a >> shift, and an unused entry names owner_none, whose span is empty. As only that run is filled,
 * slots outside it may alias an entry: no matter, since a lookup always confirms that the address lies in
 * the named heap's buddy span, which also gives buddy_try_free() its precondition. Whatever that
 * confirmation rejects - a slot two spans share (named for the first), the few bytes a span's 64-byte
 * rounding leaves out, an address no heap owns, NULL - goes to the binary search over spans[], which is
 * exact. A lookup (heap_owner_fast()) is a shift, a mask, a load and a range test.
 */
static struct heap owner_none;
struct heap_owner_map heap_owner_map = {	/* no heap yet */
	.shift3 = 16 - 3, .slot = { [0 ... HEAP_OWNER_SLOTS - 1] = &owner_none }
};
static void owner_map_build(void)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0, k;
	unsigned long shift = 16;
	unsigned i;

	for (k = 0; k < HEAP_OWNER_SLOTS; k++)
		heap_owner_map.slot[k] = &owner_none;
	for (i = 0; i < nspans; i++) {
		if (spans[i].h->b.base < lo)
			lo = spans[i].h->b.base;
		if (spans[i].h->b.end > hi)
			hi = spans[i].h->b.end;
	}
	if (lo < hi)
		while (((hi - 1) >> shift) - (lo >> shift) >= HEAP_OWNER_SLOTS)
			shift++;
	heap_owner_map.shift3 = shift - 3;
	for (i = 0; i < nspans; i++) {
		struct heap *h = spans[i].h;

		for (k = h->b.base >> shift; k <= (h->b.end - 1) >> shift; k++)
			if (heap_owner_map.slot[k % HEAP_OWNER_SLOTS] == &owner_none)
				heap_owner_map.slot[k % HEAP_OWNER_SLOTS] = h;
	}
}

static uintptr_t align_up(uintptr_t v, uintptr_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* bytes of slab descriptors for the span [base, end): one per page of every section it touches */
static size_t page_descs_size(uintptr_t base, uintptr_t end)
{
	uintptr_t org = align_up(base, 64) & ~(BUDDY_SECTION_SIZE - 1);

	if (end <= org)
		return 0;
	return (((end - 1 - org) >> BUDDY_SECTION_ORDER) + 1) * BUDDY_SECTION_PAGES * HEAP_PAGE_DESC_SIZE;
}

/*
 * Build one cluster's heap: RAM minus reserved ranges gives the usable ranges; the descriptor, the
 * buddy metadata and the slab descriptors (HEAP_PAGE_DESC_SIZE) go at the start of the first usable range large enough; the rest is handed to the
 * buddy allocator, which carves it into naturally aligned maximal blocks.
 */
static struct heap *heap_build(const struct topo_cluster *c, const struct topo_range *reserved,
			       unsigned nreserved)
{
	struct topo_range use[RANGE_MAX];
	unsigned n, i;
	uintptr_t base = (uintptr_t)c->mem.base, end = (uintptr_t)(c->mem.base + c->mem.size), prev;
	size_t meta = buddy_meta_size(base, end);
	size_t descs = page_descs_size(base, end);
	size_t need = align_up(sizeof(struct heap), 64) + align_up(meta, 64) + descs;
	struct heap *h = NULL;
	error_t e;

	n = range_subtract(c->mem, reserved, nreserved, use, RANGE_MAX);
	for (i = 0; i < n; i++) {
		uintptr_t b = align_up((uintptr_t)use[i].base, 64);

		if (b + need <= use[i].base + use[i].size) {
			h = (struct heap *)b;
			use[i].size -= (b + need) - use[i].base;
			use[i].base = b + need;
			break;
		}
	}
	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h));
	spin_init(&h->lock);
	h->cluster = c->id;
	h->x = c->x;
	h->y = c->y;
	/* the tag array zeroed now (1/64 of the cluster's memory), so that no allocation pays a section's clear */
	e = buddy_init_zeroed(&h->b, base, end, (char *)h + align_up(sizeof(struct heap), 64), meta);
	if (e)
		MM_PANIC("cluster %u: buddy_init: %s", c->id, err_str(e));
	h->page_desc_bias = (uintptr_t)h + align_up(sizeof(struct heap), 64) + align_up(meta, 64) -
			    (h->b.org >> BUDDY_PAGE_ORDER) * HEAP_PAGE_DESC_SIZE;
	for (i = 0; i < n; i++) {
		if (heap_limited[c->id]) {	/* fault injection: a tiny (or empty) heap */
			uint64_t room = heap_limit[c->id] > h->b.added ? heap_limit[c->id] - h->b.added : 0;

			if (use[i].size > room)
				use[i].size = room;
		}
		if (!use[i].size)
			continue;
		e = buddy_add_range(&h->b, (uintptr_t)use[i].base, (uintptr_t)(use[i].base + use[i].size));
		if (e)
			MM_PANIC("cluster %u: add 0x%llx+0x%llx: %s", c->id, (unsigned long long)use[i].base,
				 (unsigned long long)use[i].size, err_str(e));
	}
	/*
	 * Memory of the span never added (reserved ranges, the metadata, a heap_limit= cut) gets valid tags
	 * (no head): mem_free()'s inline path reads the home heap's tags without testing the section.
	 */
	for (i = 0, prev = base; i < n; i++) {
		if (!use[i].size)
			continue;
		buddy_clear_tags(&h->b, prev, (uintptr_t)use[i].base);
		prev = (uintptr_t)(use[i].base + use[i].size);
	}
	buddy_clear_tags(&h->b, prev, end);
	/* what the buddy really took: each range clipped to whole 64-byte granules (== free + used) */
	h->size = h->b.added;
	h->fast_max = h->size < ((uint64_t)1 << BUDDY_MAX_ORDER) ? h->size : (uint64_t)1 << BUDDY_MAX_ORDER;
	return h;
}

void heap_set_limit(unsigned cluster, uint64_t bytes)
{
	if (cluster < TOPO_MAX_CLUSTERS) {
		heap_limit[cluster] = bytes;
		heap_limited[cluster] = 1;
	}
}

error_t heap_init_all(const struct topo *t, const struct topo_range *reserved, unsigned nreserved,
		      const struct topo_set *withhold)
{
	unsigned c, i, j, with_mem = 0;

	topo = t;
	by_id.n = 0;
	memset(kernel_heap, 0, sizeof(kernel_heap));
	nspans = 0;
	for (c = 0; c < t->nclusters; c++) {
		const struct topo_cluster *tc = &t->cluster[c];
		struct heap *h = NULL;

		if (tc->mem.size && !topo_set_has(withhold, c))
			h = heap_build(tc, reserved, nreserved);
		/* a heap that got no memory (heap_limit=0) is a memoryless cluster's: it owns no addresses */
		if (!h || !h->size) {
			h = &empty_heap[c];
			memset(h, 0, sizeof(*h));
			spin_init(&h->lock);
			h->cluster = c;
			h->x = tc->x;
			h->y = tc->y;
		} else {
			struct buddy_stats st;

			buddy_get_stats(&h->b, &st);
			h->boot_free = st.free_bytes;
			spans[nspans].base = (uintptr_t)tc->mem.base;
			spans[nspans].end = (uintptr_t)(tc->mem.base + tc->mem.size);
			spans[nspans].h = h;
			nspans++;
			with_mem++;
		}
		by_id.h[c] = h;
		kernel_heap[tc->x][tc->y] = h;
	}
	/* insertion sort by base: at most TOPO_MAX_CLUSTERS entries, once at boot */
	for (i = 1; i < nspans; i++)
		for (j = i; j > 0 && spans[j].base < spans[j - 1].base; j--) {
			__typeof__(spans[0]) tmp = spans[j];

			spans[j] = spans[j - 1];
			spans[j - 1] = tmp;
		}
	owner_map_build();
	by_id.n = t->nclusters;
	return with_mem ? 0 : ERR_NOMEM;
}

struct heap *heap_of(unsigned c)
{
	return c < by_id.n ? by_id.h[c] : NULL;
}

unsigned heap_count(void)
{
	return topo ? topo->nclusters : 0;
}

const struct topo *heap_topo(void)
{
	return topo;
}

/* owner_search() - the exact answer: binary search over the sorted raw spans, O(log clusters) */
static struct heap *owner_search(uintptr_t a)
{
	unsigned lo = 0, hi = nspans;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (a < spans[mid].base)
			hi = mid;
		else if (a >= spans[mid].end)
			lo = mid + 1;
		else
			return spans[mid].h;
	}
	return NULL;
}

struct heap *heap_owner(const void *addr)
{
	struct heap *h = heap_owner_fast((uintptr_t)addr);

	return h ? h : owner_search((uintptr_t)addr);
}

error_t heap_alloc_locked(struct heap *h, size_t size, void **addr)
{
	error_t e = buddy_alloc(&h->b, size, addr);

	if (e == ERR_NOMEM)
		h->failures++;
	return e;
}

error_t heap_alloc_below_locked(struct heap *h, size_t size, uintptr_t limit, void **addr)
{
	error_t e = buddy_alloc_below(&h->b, size, limit, addr);

	if (e == ERR_NOMEM)
		h->failures++;
	return e;
}

/* the length of the page run at @a, in its first page's descriptor (mm/heap.h) */
static size_t *run_len(const struct heap *h, uintptr_t a)
{
	_Static_assert(sizeof(size_t) <= HEAP_PAGE_DESC_SIZE, "a run's length fits its descriptor");
	return (size_t *)(h->page_desc_bias + (a >> BUDDY_PAGE_ORDER) * HEAP_PAGE_DESC_SIZE);
}

error_t heap_alloc_run_locked(struct heap *h, size_t size, void **addr)
{
	size_t keep = (size + BUDDY_PAGE_SIZE - 1) & ~(size_t)(BUDDY_PAGE_SIZE - 1);
	unsigned long order;
	uintptr_t a;
	unsigned i;
	error_t e;

	if (size <= BUDDY_PAGE_SIZE || size > ((size_t)1 << HEAP_RUN_MAX_ORDER) || !addr)
		return heap_alloc_locked(h, size, addr);
	order = buddy_order(size);
	if (keep == (size_t)1 << order)
		return heap_alloc_locked(h, size, addr);
	e = buddy_alloc_order(&h->b, (unsigned)order, addr);
	if (e) {
		if (e == ERR_NOMEM)
			h->failures++;
		return e;
	}
	a = (uintptr_t)*addr;
	/* its blocks taken: the buddy's O(1) free refuses each, so that only the run's frees them */
	if (buddy_trim(&h->b, *addr, keep, true))
		MM_PANIC("heap %u: trim of its own block %lx refused", h->cluster, (unsigned long)a);
	*run_len(h, a) = keep;
	*buddy_page_byte(h->b.pg_bias, a) = HEAP_RUN_HEAD;
	for (i = 1; i < keep >> BUDDY_PAGE_ORDER; i++)
		*buddy_page_byte(h->b.pg_bias, a + ((uintptr_t)i << BUDDY_PAGE_ORDER)) = HEAP_RUN_BODY;
	return 0;
}

/* the page byte of @a, 0 outside @h's span (inside it valid in every section: buddy_init_zeroed()) */
static unsigned page_byte(const struct heap *h, uintptr_t a)
{
	return a - h->b.base < h->b.span ? *buddy_page_byte(h->b.pg_bias, a) : 0;
}

/*
 * A free or size query at @a, in a page run's page (page byte @pb): the run's length if @a is its first
 * address, else the refusal. Page bytes name a live run only (a run's are cleared when it is freed, a
 * slab's when it goes back; every section's are valid: buddy_init_zeroed()), so the length is trusted.
 */
static error_t run_at(const struct heap *h, uintptr_t a, unsigned pb, size_t *len)
{
	if (a & (BUDDY_MIN_BLOCK_SIZE - 1))
		return ERR_MISALIGNED;
	if (pb == HEAP_RUN_BODY || (a & (BUDDY_PAGE_SIZE - 1)))
		return ERR_INTERIOR;
	*len = *run_len(h, a);
	return 0;
}

/* free the run of @keep bytes at @a: its page bytes cleared, then each of its (taken) blocks, largest first */
static void run_free(struct heap *h, uintptr_t a, size_t keep)
{
	uintptr_t p = a;
	unsigned k;
	size_t i;

	for (i = 0; i < keep; i += BUDDY_PAGE_SIZE)
		*buddy_page_byte(h->b.pg_bias, a + i) = 0;
	for (k = HEAP_RUN_MAX_ORDER; k >= BUDDY_PAGE_ORDER; k--)
		if (keep & ((size_t)1 << k)) {
			buddy_untake(&h->b, p);
			if (!buddy_free_fast(&h->b, p))
				MM_PANIC("heap %u: block %lx of the page run at %lx refused", h->cluster,
					 (unsigned long)p, (unsigned long)a);
			p += (uintptr_t)1 << k;
		}
}

error_t heap_free_locked(struct heap *h, void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	unsigned pb = page_byte(h, a);
	size_t keep;
	error_t e;

	if (pb < HEAP_RUN_HEAD) {
		e = buddy_free(&h->b, addr);
	} else if ((e = run_at(h, a, pb, &keep)) == 0) {
		run_free(h, a, keep);
	} else {
		mm_log("heap: free %p (cluster %u): %s: in a page run", addr, h->cluster, err_str(e));
	}
	if (e)
		h->bad_frees++;
	return e;
}

/* alloc_checked() - an allocation from @h with every case checked in order: what alloc_fast() declines */
static __attribute__((noinline)) error_t alloc_checked(struct heap *h, size_t size, void **addr)
{
	error_t e;

	if (!addr)
		return ERR_INVAL;
	if (!size)
		return ERR_SIZE;
	if (!h->size)
		return ERR_NOHEAP;
	if (size > h->size)
		return ERR_SIZE;
	spin_lock(&h->lock);
	e = heap_alloc_locked(h, size, addr);
	spin_unlock(&h->lock);
	return e;
}

/* alloc_split_unlock() - alloc_fast() holds the lock but no block of @order is free: split one or fail */
static __attribute__((noinline)) error_t alloc_split_unlock(struct heap *h, unsigned long order, void **addr)
{
	error_t e = buddy_alloc_split(&h->b, order, addr);

	if (e == ERR_NOMEM)
		h->failures++;
	spin_unlock(&h->lock);
	return e;
}

/*
 * The common allocation and free, inline and without a stack frame: the lock's and the buddy's fast paths
 * (kernel/lock.h, mm/buddy.h) with nothing between them. A request of 1..fast_max bytes (fast_max is
 * the heap's size, capped at the largest order; 0 for an empty heap) needs none of alloc_checked()'s
 * tests, and an address that heap_owner_fast() places in a heap's buddy span none of buddy_free()'s range
 * test. Every other case leaves through a tail call that does the full work (and, under the lock, also
 * the unlock), so the results, counters and messages are those of the checked paths.
 */
static inline error_t alloc_fast(struct heap *h, size_t size, void **addr)
{
	unsigned long order;
	void *p;

	if (unlikely(!addr || (uint64_t)size - 1 >= h->fast_max))
		return alloc_checked(h, size, addr);
	order = buddy_order(size);
	spin_lock(&h->lock);
	p = buddy_try_alloc(&h->b, order);
	if (unlikely(!p))
		return alloc_split_unlock(h, order, addr);
	spin_unlock(&h->lock);
	*addr = p;
	return 0;
}

error_t remote_malloc(size_t size, unsigned x, unsigned y, void **addr)
{
	if (!topo || x >= topo->mesh_x || y >= topo->mesh_y || !kernel_heap[x][y])
		return ERR_RANGE;
	return alloc_fast(kernel_heap[x][y], size, addr);
}

error_t heap_alloc(unsigned cluster, size_t size, void **addr)
{
	if (unlikely(cluster >= by_id.n))
		return ERR_RANGE;
	/* (int): below by_id.n, so the sign-extended register rv64 passes an unsigned in is the index as is */
	return alloc_fast(by_id.h[(int)cluster], size, addr);
}

error_t heap_alloc_local(size_t size, void **addr)
{
	return heap_alloc(mm_cpu_self()->cluster, size, addr);
}

error_t heap_alloc_near(unsigned c, size_t size, void **addr)
{
	struct topo_set tried = { { 0 } };
	unsigned ntried;
	error_t e = ERR_NOMEM;

	if (!topo || c >= topo->nclusters)
		return ERR_RANGE;
	/* by increasing distance from c; ties by cluster id (a scan per candidate: boot and rare paths only) */
	for (ntried = 0; ntried < topo->nclusters; ntried++) {
		unsigned best = TOPO_MAX_CLUSTERS, i;

		for (i = 0; i < topo->nclusters; i++)
			if (!topo_set_has(&tried, i) &&
			    (best == TOPO_MAX_CLUSTERS || topo->cluster[c].dist[i] < topo->cluster[c].dist[best]))
				best = i;
		topo_set_add(&tried, best);
		e = alloc_checked(by_id.h[best], size, addr);
		if (!e)
			return 0;
	}
	return e == ERR_NOHEAP ? ERR_NOMEM : e;
}

static void report(const char *what, const void *addr, struct heap *h, error_t e)
{
	if (h)
		mm_log("heap: %s %p (cluster %u): %s", what, addr, h->cluster, err_str(e));
	else
		mm_log("heap: %s %p (no cluster): %s", what, addr, err_str(e));
}

/* free_search() - heap_free() of what heap_owner_fast() does not place: NULL, a span's edge, no heap's address */
static __attribute__((noinline)) error_t free_search(void *addr)
{
	struct heap *h;
	error_t e;

	if (!addr)
		return 0;
	h = owner_search((uintptr_t)addr);
	if (!h) {
		report("free", addr, NULL, ERR_NOTOWNED);
		return ERR_NOTOWNED;
	}
	spin_lock(&h->lock);
	e = heap_free_locked(h, addr);
	spin_unlock(&h->lock);
	return e;
}

/* free_finish_unlock() - what buddy_try_free() left (@why): a merge, or a bad address to classify */
static __attribute__((noinline)) error_t free_finish_unlock(struct heap *h, void *addr, int why)
{
	error_t e;

	if (why == BUDDY_TRY_MERGE)
		e = buddy_free_merge(&h->b, (uintptr_t)addr);
	else
		e = heap_free_locked(h, addr);
	spin_unlock(&h->lock);
	return e;
}

error_t heap_free(void *addr)
{
	struct heap *h = heap_owner_fast((uintptr_t)addr);
	int why;

	if (unlikely(!h))
		return free_search(addr);
	spin_lock(&h->lock);
	why = buddy_try_free(&h->b, (uintptr_t)addr);
	if (unlikely(why != BUDDY_TRY_FREED))
		return free_finish_unlock(h, addr, why);
	spin_unlock(&h->lock);
	return 0;
}

error_t heap_getsize(const void *addr, size_t *size)
{
	struct heap *h = heap_owner(addr);
	unsigned pb;
	error_t e;

	if (!h)
		return ERR_NOTOWNED;
	spin_lock(&h->lock);
	pb = page_byte(h, (uintptr_t)addr);
	e = pb < HEAP_RUN_HEAD ? buddy_getsize(&h->b, addr, size) : run_at(h, (uintptr_t)addr, pb, size);
	spin_unlock(&h->lock);
	return e;
}

/*
 * The page runs' bytes (mm/heap.h): each HEAP_RUN_HEAD page has in its descriptor a length of whole
 * pages that is no power of two and at most 64 KiB, the pages after it up to that length are
 * HEAP_RUN_BODY and inside the span, and its first block is taken; no HEAP_RUN_BODY page lies outside a
 * run, no page byte is past the runs'. A word of eight zero page bytes outside a run is skipped at once:
 * a 256 MiB heap is 8192 loads.
 */
static error_t check_runs(const struct heap *h, char *why, size_t len)
{
	uintptr_t p = h->b.base >> BUDDY_PAGE_ORDER, last = (h->b.end - 1) >> BUDDY_PAGE_ORDER;
	uintptr_t run_end = 0;	/* the page number past the run being walked */

	for (; p <= last; p++) {
		const uint8_t *pb = (const uint8_t *)(h->b.pg_bias + p);
		uint64_t word;
		size_t l;
		unsigned k;

		if (!(p & 7) && p + 7 <= last && p >= run_end) {
			memcpy(&word, pb, sizeof(word));
			if (!word) {
				p += 7;
				continue;
			}
		}
		if (*pb == HEAP_RUN_BODY) {
			if (p >= run_end) {
				snprintf(why, len, "page %lx: a run's body page outside any run",
					 (unsigned long)(p << BUDDY_PAGE_ORDER));
				return ERR_CORRUPT;
			}
			continue;
		}
		if (p < run_end) {
			snprintf(why, len, "page %lx: byte %u inside the run that ends at %lx",
				 (unsigned long)(p << BUDDY_PAGE_ORDER), *pb, (unsigned long)(run_end << BUDDY_PAGE_ORDER));
			return ERR_CORRUPT;
		}
		if (*pb > HEAP_RUN_BODY) {
			snprintf(why, len, "page %lx: page byte %u out of range", (unsigned long)(p << BUDDY_PAGE_ORDER),
				 *pb);
			return ERR_CORRUPT;
		}
		if (*pb != HEAP_RUN_HEAD)
			continue;
		l = *run_len(h, p << BUDDY_PAGE_ORDER);
		for (k = BUDDY_PAGE_ORDER; k < HEAP_RUN_MAX_ORDER && ((size_t)2 << k) <= l; k++)
			;	/* the order of its first (largest) block */
		if (l % BUDDY_PAGE_SIZE || l <= BUDDY_PAGE_SIZE || l >= ((size_t)1 << HEAP_RUN_MAX_ORDER) ||
		    !(l & (l - 1)) || (l >> BUDDY_PAGE_ORDER) - 1 > last - p ||
		    *buddy_tag(h->b.tag_bias, p << BUDDY_PAGE_ORDER) != (BUDDY_TAG_FREE | k)) {
			snprintf(why, len, "page run %lx: length %#lx, or its first block not taken",
				 (unsigned long)(p << BUDDY_PAGE_ORDER), (unsigned long)l);
			return ERR_CORRUPT;
		}
		run_end = p + (l >> BUDDY_PAGE_ORDER);
	}
	return 0;
}

error_t heap_check(struct heap *h, char *why, size_t whylen)
{
	char dummy[8];
	error_t e;

	if (!h->size)
		return 0;
	if (!why)
		why = dummy, whylen = sizeof(dummy);
	spin_lock(&h->lock);
	e = buddy_check(&h->b, why, whylen);
	if (!e)
		e = check_runs(h, why, whylen);
	spin_unlock(&h->lock);
	return e;
}

void heap_get_stats(struct heap *h, struct heap_stats *st)
{
	struct buddy_stats b;

	memset(st, 0, sizeof(*st));
	st->size = h->size;
	if (!h->size)
		return;
	spin_lock(&h->lock);
	buddy_get_stats(&h->b, &b);
	st->lock = *spin_stats(&h->lock);
	st->failures = h->failures;
	st->bad_frees = h->bad_frees;
	spin_unlock(&h->lock);
	st->free_bytes = b.free_bytes;
	st->used_bytes = b.used_bytes;
	st->reserved_bytes = b.reserved_bytes;
	st->largest_free = b.largest_free;
	memcpy(st->nfree, b.nfree, sizeof(st->nfree));
	st->allocs = b.allocs;
	st->frees = b.frees;
}

uint64_t heap_free_bytes(unsigned cluster)
{
	struct heap *h = heap_of(cluster);
	struct heap_stats st;

	if (!h || !h->size)
		return 0;
	heap_get_stats(h, &st);
	return st.free_bytes;
}
