/* heap.h - kernel_heap[x][y]: one locked power-of-two buddy heap per cluster of the mesh. */
#ifndef MM_HEAP_H
#define MM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/lock.h"
#include "mm/buddy.h"
#include "mm/err.h"
#include "mm/topo.h"

/*
 * The GIET-VM kernel_heap[x][y] design made complete. Each cluster with memory gets a heap whose
 * descriptor, lock and buddy metadata sit at the start of the cluster's own RAM, so a hart touches
 * remote memory only for remote allocations. A memoryless cluster (or one whose RAM is withheld)
 * gets an empty descriptor: every request aimed at it returns ERR_NOHEAP.
 *
 * Blocks are powers of two >= MIN_BLOCK_SIZE and naturally aligned; free finds the owner heap from
 * the address alone, in O(1) through a table of address slots, else by binary search over the heaps'
 * spans (O(log clusters)). Up to TOPO_MAX_CLUSTERS (256) heaps: one per cluster of an emulated mesh.
 */
#define MIN_BLOCK_SIZE (1UL << BUDDY_MIN_ORDER)

/*
 * Beside the buddy metadata each heap reserves HEAP_PAGE_DESC_SIZE bytes per 4 KiB page of its span for
 * the slab layer's descriptors (struct slab, mm/slab.h) and the page runs' lengths: never initialised,
 * valid only for the pages marked in the buddy's page bytes (a slab's first page, a run's). The
 * descriptor of address a is at
 * page_desc_bias + (a >> 12) * HEAP_PAGE_DESC_SIZE.
 */
#define HEAP_PAGE_DESC_SIZE 32

struct heap {
	spinlock_t lock;
	unsigned cluster, x, y;
	uint64_t size;			/* bytes of RAM given to the heap (0: memoryless) */
	uint64_t fast_max;		/* min(size, 2^BUDDY_MAX_ORDER): heap_alloc() inline for 1..fast_max */
	uint64_t boot_free;		/* free bytes right after heap_init_all() */
	uint64_t failures;		/* allocation failures (ERR_NOMEM) */
	uint64_t bad_frees;
	uintptr_t page_desc_bias;	/* see HEAP_PAGE_DESC_SIZE */
	struct buddy b;
} __attribute__((aligned(64)));

struct heap_stats {
	uint64_t size, free_bytes, used_bytes, reserved_bytes, largest_free;
	uint64_t nfree[BUDDY_MAX_ORDER + 1];
	uint64_t allocs, frees, failures, bad_frees;
	struct lock_stats lock;
};

extern struct heap *kernel_heap[TOPO_MESH_MAX][TOPO_MESH_MAX];

/**
 * heap_init_all() - build kernel_heap[x][y] from @t.
 * @t: the topology (clusters, their RAM and mesh positions).
 * @reserved: ranges never to hand out (OpenSBI, the kernel image, the DTB, ...).
 * @nreserved: entries in @reserved.
 * @withhold: clusters that get an empty heap (NULL: none).
 *
 * Context: boot hart, once, before any other hart runs.
 * Return: 0, or ERR_NOMEM if no cluster has RAM.
 */
error_t heap_init_all(const struct topo *t, const struct topo_range *reserved, unsigned nreserved,
		      const struct topo_set *withhold);

/**
 * heap_set_limit() - fault injection: give cluster @cluster's heap at most @bytes.
 * @cluster: a cluster id.
 * @bytes: the most its heap gets (0: an empty heap, ERR_NOMEM on every request while its harts fall
 *         back by distance).
 *
 * Context: boot hart, before heap_init_all().
 */
void heap_set_limit(unsigned cluster, uint64_t bytes);

/**
 * heap_of() - the heap of cluster id @c.
 * @c: a cluster id.
 *
 * Context: any hart, no lock. Return: the heap, NULL if @c is outside the topology.
 */
struct heap *heap_of(unsigned c);

/**
 * remote_malloc() - GIET's _remote_malloc(size, x, y) with an error code.
 * @size: bytes, rounded up to a power of two >= 64.
 * @x: mesh column of the cluster.
 * @y: mesh row of the cluster.
 * @addr: the block's address, written only on success.
 *
 * Context: any hart; takes that heap's lock.
 * Return: 0; ERR_SIZE (0 or larger than the heap); ERR_RANGE ((x,y) outside the mesh or no cluster
 * there); ERR_NOHEAP (memoryless cluster); ERR_NOMEM (no block large enough); ERR_INVAL (@addr NULL).
 */
error_t remote_malloc(size_t size, unsigned x, unsigned y, void **addr);

/**
 * heap_alloc() - remote_malloc() by cluster id.
 * @cluster: the cluster id.
 * @size: bytes, rounded up to a power of two >= 64.
 * @addr: the block's address, written only on success.
 *
 * Context: any hart; takes that heap's lock. Return: as remote_malloc(), ERR_RANGE for a bad id.
 */
error_t heap_alloc(unsigned cluster, size_t size, void **addr);

/**
 * heap_alloc_local() - heap_alloc() in the calling hart's cluster.
 * @size: bytes, rounded up to a power of two >= 64.
 * @addr: the block's address, written only on success.
 *
 * Context: any hart after its CLS is set; takes its cluster's heap lock. Return: as heap_alloc().
 */
error_t heap_alloc_local(size_t size, void **addr);

/**
 * heap_alloc_near() - a block from cluster @c, else from the nearest clusters by distance (boot-time
 * placement of per-cluster structures).
 * @c: the preferred cluster id.
 * @size: bytes, rounded up to a power of two >= 64.
 * @addr: the block's address, written only on success.
 *
 * Context: any hart; takes each tried heap's lock in turn.
 * Return: 0; ERR_RANGE (@c outside the topology, or before heap_init_all()); ERR_NOMEM (no heap had
 * room), or the last heap's other error.
 */
error_t heap_alloc_near(unsigned c, size_t size, void **addr);

/**
 * heap_free() - free a block by address alone.
 * @addr: a block start returned by a heap allocation; NULL is a no-op.
 *
 * Each error prints one line (address, cluster, reason) and changes nothing.
 * Context: any hart; takes the owner's lock.
 * Return: 0; ERR_NOTOWNED (no heap owns it); ERR_MISALIGNED; ERR_INTERIOR (inside a block);
 * ERR_DOUBLEFREE.
 */
error_t heap_free(void *addr);

/**
 * heap_getsize() - the size of the allocated block at @addr.
 * @addr: a block start.
 * @size: the block's size, written only on success.
 *
 * Context: any hart; takes the owner's lock. Return: 0, or heap_free()'s errors.
 */
error_t heap_getsize(const void *addr, size_t *size);

/**
 * heap_owner() - the heap whose span holds @addr.
 * @addr: any address.
 *
 * O(1) (O(log clusters) at a span's edge). Context: any hart, no lock. Return: the heap, or NULL.
 */
struct heap *heap_owner(const void *addr);

/* The owner map's table (mm/heap.c explains it), for heap_owner_fast(). */
#define HEAP_OWNER_SLOTS 1024	/* 4 per cluster of a 16x16 mesh: the search stays for the rare shared slot */
struct heap_owner_map {
	unsigned long shift3;		/* shift - 3: see heap_owner_fast() */
	struct heap *slot[HEAP_OWNER_SLOTS];
};
extern struct heap_owner_map heap_owner_map;

/**
 * heap_owner_fast() - heap_owner() without its search: the heap its owner map names for @a, if @a lies
 * in that heap's span.
 * @a: any address.
 *
 * A shift, a mask, a load and a range test, inline (mem_free()'s slow path). Context: any hart, no lock.
 * Return: the heap; NULL when the map does not confirm one (heap_owner() then searches).
 */
static inline struct heap *heap_owner_fast(uintptr_t a)
{
	/* (a >> shift) % HEAP_OWNER_SLOTS, scaled by sizeof(pointer) = 8: one shift and one mask */
	uintptr_t off = (a >> heap_owner_map.shift3) & ((HEAP_OWNER_SLOTS - 1) * sizeof(struct heap *));
	struct heap *h = *(struct heap **)((char *)heap_owner_map.slot + off);

	if (__builtin_expect(a - h->b.base >= h->b.span, 0))
		return NULL;
	return h;
}

/**
 * heap_check() - check every invariant of @h.
 * @h: a heap.
 * @why: the first violation, as text (may be NULL).
 * @whylen: bytes at @why.
 *
 * Context: any hart; takes @h's lock (none for an empty heap, which passes).
 * Return: 0, or ERR_CORRUPT with the reason in @why.
 */
error_t heap_check(struct heap *h, char *why, size_t whylen);

/**
 * heap_get_stats() - a consistent snapshot of @h's counters.
 * @h: a heap.
 * @st: the snapshot.
 *
 * Context: any hart; takes @h's lock.
 */
void heap_get_stats(struct heap *h, struct heap_stats *st);

/**
 * heap_free_bytes() - the free bytes of cluster @cluster's heap.
 * @cluster: a cluster id.
 *
 * Context: any hart; takes its lock. Return: the free bytes, 0 without a heap.
 */
uint64_t heap_free_bytes(unsigned cluster);

/*
 * Direct, lock-held variants for the layers above that batch several operations under one lock: the
 * same arguments and returns as heap_alloc() and heap_free(). Context: the caller holds @h's lock.
 */

/** heap_alloc_locked() - heap_alloc() on @h, its lock held by the caller. */
error_t heap_alloc_locked(struct heap *h, size_t size, void **addr);
/**
 * heap_alloc_below_locked() - heap_alloc_locked() from @h's memory below @limit only (buddy_alloc_below():
 * walks free lists). Return: as heap_alloc(); ERR_NOMEM when no block lies below @limit.
 */
error_t heap_alloc_below_locked(struct heap *h, size_t size, uintptr_t limit, void **addr);
/** heap_free_locked() - heap_free() of @addr into @h, its lock held by the caller. */
error_t heap_free_locked(struct heap *h, void *addr);

/*
 * Page runs: the heap's blocks are powers of two (GIET's kernel_heap[x][y]), but mem_alloc()'s requests of
 * 4..64 KiB take whole pages: the power-of-two block is allocated, then trimmed to the pages the request
 * needs (buddy_trim(): the kept part is a few allocated blocks back to back, the rest goes back free), so
 * a 20 KiB request holds 20 KiB, not 32. The run is marked in the buddy's page bytes, which the slab layer
 * uses for its classes (1..SLAB_NCLASSES): its first page HEAP_RUN_HEAD, every other page HEAP_RUN_BODY,
 * and its length in bytes in its first page's descriptor (HEAP_PAGE_DESC_SIZE). Its blocks are taken
 * (buddy_trim(), buddy_take()), so that the buddy's O(1) free refuses each of them and a free reaches the
 * run's. heap_free() and heap_free_locked() free a run whole (given its first address; one inside it is
 * ERR_INTERIOR), heap_getsize() answers its length. A run is aligned as its power-of-two block was: to
 * the power of two at or above the request.
 *
 * Every page byte is below HEAP_PAGE_BYTE_VALUES: 0 (no slab, no run), a class + 1, or a run's. So a
 * table indexed by page byte has that many entries (the inline free's, per hart: mm/slab.h).
 */
#define HEAP_RUN_MAX_ORDER 16		/* runs for requests up to 64 KiB */
#define HEAP_RUN_HEAD 29		/* page byte of a run's first page (past the slab classes, 1..28) */
#define HEAP_RUN_BODY 30		/* page byte of a run's pages but its first */
#define HEAP_PAGE_BYTE_VALUES 32

/**
 * heap_alloc_run_locked() - heap_alloc_locked() of @size bytes in whole pages: a page run for a request
 * of more than 4 KiB and up to 64 KiB whose page count is not a power of two, else a power-of-two block.
 * Return: as heap_alloc().
 */
error_t heap_alloc_run_locked(struct heap *h, size_t size, void **addr);

/**
 * heap_count() - the clusters in the topology the heaps were built from.
 *
 * Context: any hart, no lock, after heap_init_all(). Return: the count (0 before).
 */
unsigned heap_count(void);

/**
 * heap_topo() - the topology the heaps were built from.
 *
 * Context: any hart, no lock. Return: the topology (NULL before heap_init_all()).
 */
const struct topo *heap_topo(void);

#endif
