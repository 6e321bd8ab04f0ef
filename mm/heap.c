/* heap.c - kernel_heap[x][y]: per-cluster buddy heaps, each behind its own queuing spinlock. */
#include <string.h>

#include "mm/cpu.h"
#include "mm/env.h"
#include "mm/heap.h"
#include "mm/range.h"

struct heap *kernel_heap[TOPO_MESH_MAX][TOPO_MESH_MAX];

/* descriptors of clusters without memory: nothing to place in their own RAM, so they live here */
static struct heap empty_heap[TOPO_MAX_CLUSTERS];
static struct heap *by_id[TOPO_MAX_CLUSTERS];
static const struct topo *topo;
static uint64_t heap_limit[TOPO_MAX_CLUSTERS];
static uint32_t heap_limited;

/* heaps with memory, sorted by span base, for heap_owner()'s binary search */
static struct {
	uintptr_t base, end;
	struct heap *h;
} spans[TOPO_MAX_CLUSTERS];
static unsigned nspans;

static uintptr_t align_up(uintptr_t v, uintptr_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * Build one cluster's heap: RAM minus reserved ranges gives the usable ranges; the descriptor and the
 * buddy metadata go at the start of the first usable range large enough; the rest is handed to the
 * buddy allocator, which carves it into naturally aligned maximal blocks.
 */
static struct heap *heap_build(const struct topo_cluster *c, const struct topo_range *reserved,
			       unsigned nreserved)
{
	struct topo_range use[RANGE_MAX];
	unsigned n, i;
	uintptr_t base = (uintptr_t)c->mem.base, end = (uintptr_t)(c->mem.base + c->mem.size);
	size_t meta = buddy_meta_size(base, end);
	size_t need = align_up(sizeof(struct heap), 64) + align_up(meta, 64);
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
	e = buddy_init(&h->b, base, end, (char *)h + align_up(sizeof(struct heap), 64), meta);
	if (e)
		MM_PANIC("cluster %u: buddy_init: %s", c->id, err_str(e));
	for (i = 0; i < n; i++) {
		if ((heap_limited >> c->id) & 1) {	/* fault injection: a tiny (or empty) heap */
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
	/* what the buddy really took: each range clipped to whole 64-byte granules (== free + used) */
	h->size = h->b.added;
	return h;
}

void heap_set_limit(unsigned cluster, uint64_t bytes)
{
	if (cluster < TOPO_MAX_CLUSTERS) {
		heap_limit[cluster] = bytes;
		heap_limited |= 1u << cluster;
	}
}

error_t heap_init_all(const struct topo *t, const struct topo_range *reserved, unsigned nreserved,
		      uint64_t withhold)
{
	unsigned c, i, j, with_mem = 0;

	topo = t;
	memset(kernel_heap, 0, sizeof(kernel_heap));
	nspans = 0;
	for (c = 0; c < t->nclusters; c++) {
		const struct topo_cluster *tc = &t->cluster[c];
		struct heap *h = NULL;

		if (tc->mem.size && !(withhold & (1ULL << c)))
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
		by_id[c] = h;
		kernel_heap[tc->x][tc->y] = h;
	}
	/* insertion sort by base: at most TOPO_MAX_CLUSTERS entries */
	for (i = 1; i < nspans; i++)
		for (j = i; j > 0 && spans[j].base < spans[j - 1].base; j--) {
			__typeof__(spans[0]) tmp = spans[j];

			spans[j] = spans[j - 1];
			spans[j - 1] = tmp;
		}
	return with_mem ? 0 : ERR_NOMEM;
}

struct heap *heap_of(unsigned c)
{
	return topo && c < topo->nclusters ? by_id[c] : NULL;
}

unsigned heap_count(void)
{
	return topo ? topo->nclusters : 0;
}

const struct topo *heap_topo(void)
{
	return topo;
}

struct heap *heap_owner(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
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

error_t heap_alloc_locked(struct heap *h, size_t size, void **addr)
{
	error_t e = buddy_alloc(&h->b, size, addr);

	if (e == ERR_NOMEM)
		h->failures++;
	return e;
}

error_t heap_free_locked(struct heap *h, void *addr)
{
	error_t e = buddy_free(&h->b, addr);

	if (e)
		h->bad_frees++;
	return e;
}

static error_t heap_alloc_in(struct heap *h, size_t size, void **addr)
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

error_t remote_malloc(size_t size, unsigned x, unsigned y, void **addr)
{
	if (!topo || x >= topo->mesh_x || y >= topo->mesh_y || !kernel_heap[x][y])
		return ERR_RANGE;
	return heap_alloc_in(kernel_heap[x][y], size, addr);
}

error_t heap_alloc(unsigned cluster, size_t size, void **addr)
{
	struct heap *h = heap_of(cluster);

	return h ? heap_alloc_in(h, size, addr) : ERR_RANGE;
}

error_t heap_alloc_local(size_t size, void **addr)
{
	return heap_alloc(mm_cpu_self()->cluster, size, addr);
}

error_t heap_alloc_near(unsigned c, size_t size, void **addr)
{
	unsigned tried = 0;
	error_t e = ERR_NOMEM;

	if (!topo || c >= topo->nclusters)
		return ERR_RANGE;
	/* by increasing distance from c; ties by cluster id */
	while (tried != (1u << topo->nclusters) - 1) {
		unsigned best = TOPO_MAX_CLUSTERS, i;

		for (i = 0; i < topo->nclusters; i++)
			if (!(tried & (1u << i)) &&
			    (best == TOPO_MAX_CLUSTERS || topo->cluster[c].dist[i] < topo->cluster[c].dist[best]))
				best = i;
		tried |= 1u << best;
		e = heap_alloc_in(by_id[best], size, addr);
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

error_t heap_free(void *addr)
{
	struct heap *h;
	error_t e;

	if (!addr)
		return 0;
	h = heap_owner(addr);
	if (!h) {
		report("free", addr, NULL, ERR_NOTOWNED);
		return ERR_NOTOWNED;
	}
	spin_lock(&h->lock);
	e = heap_free_locked(h, addr);
	spin_unlock(&h->lock);
	return e;
}

error_t heap_getsize(const void *addr, size_t *size)
{
	struct heap *h = heap_owner(addr);
	error_t e;

	if (!h)
		return ERR_NOTOWNED;
	spin_lock(&h->lock);
	e = buddy_getsize(&h->b, addr, size);
	spin_unlock(&h->lock);
	return e;
}

error_t heap_check(struct heap *h, char *why, size_t whylen)
{
	error_t e;

	if (!h->size)
		return 0;
	spin_lock(&h->lock);
	e = buddy_check(&h->b, why, whylen);
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
