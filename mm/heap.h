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
 * the slab layer's descriptors (struct slab, mm/slab.h): never initialised, valid only for the pages the
 * slab layer marks in the buddy's page bytes. The descriptor of address a is at
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

/*
 * heap_init_all() - build kernel_heap[x][y] from @t. @reserved lists ranges never to hand out (OpenSBI,
 * the kernel image, the DTB, ...); clusters in @withhold (NULL: none) get an empty heap.
 * Context: boot hart, once, before any other hart runs. Return: 0, or ERR_NOMEM if no cluster has RAM.
 */
error_t heap_init_all(const struct topo *t, const struct topo_range *reserved, unsigned nreserved,
		      const struct topo_set *withhold);

/*
 * heap_set_limit() - fault injection: give cluster @cluster's heap at most @bytes (0: an empty heap,
 * ERR_NOMEM on every request while its harts fall back by distance). Call before heap_init_all().
 */
void heap_set_limit(unsigned cluster, uint64_t bytes);

/* heap_of() - the heap of cluster id @c (NULL if @c is outside the topology). */
struct heap *heap_of(unsigned c);

/*
 * remote_malloc() - GIET's _remote_malloc(size, x, y) with an error code: @size bytes (rounded up to a
 * power of two >= 64) in cluster (@x, @y), address in *@addr. Context: any hart; takes that heap's lock.
 * Return: 0; ERR_SIZE (0 or larger than the heap); ERR_RANGE ((x,y) outside the mesh or no cluster
 * there); ERR_NOHEAP (memoryless cluster); ERR_NOMEM (no block large enough); ERR_INVAL (addr NULL).
 */
error_t remote_malloc(size_t size, unsigned x, unsigned y, void **addr);

/* heap_alloc() - the same by cluster id. heap_alloc_local() - in the calling hart's cluster. */
error_t heap_alloc(unsigned cluster, size_t size, void **addr);
error_t heap_alloc_local(size_t size, void **addr);

/* heap_alloc_near() - cluster @c, else the nearest clusters by distance (boot-time placement). */
error_t heap_alloc_near(unsigned c, size_t size, void **addr);

/*
 * heap_free() - free a block by address alone. NULL is a no-op. Context: any hart; takes the owner's
 * lock. Return: 0; ERR_NOTOWNED (no heap owns it); ERR_MISALIGNED; ERR_INTERIOR (inside a block);
 * ERR_DOUBLEFREE. Each error prints one line (address, cluster, reason) and changes nothing.
 */
error_t heap_free(void *addr);

/* heap_getsize() - block size of the allocated block at @addr (same errors as heap_free()). */
error_t heap_getsize(const void *addr, size_t *size);

/* heap_owner() - the heap whose span holds @addr, or NULL. O(1) (O(log clusters) at a span's edge), no lock. */
struct heap *heap_owner(const void *addr);

/* heap_check() - every invariant of @h (under its lock); the first violation is written to @why. */
error_t heap_check(struct heap *h, char *why, size_t whylen);

/* heap_get_stats() - a consistent snapshot of @h's counters (under its lock). */
void heap_get_stats(struct heap *h, struct heap_stats *st);

/* heap_free_bytes() - the free bytes of cluster @cluster's heap (0 without one). Context: takes its lock. */
uint64_t heap_free_bytes(unsigned cluster);

/* Direct, lock-held variants for the layers above that batch several operations under one lock. */
error_t heap_alloc_locked(struct heap *h, size_t size, void **addr);
/* heap_alloc_locked() from the heap's memory below @limit only (buddy_alloc_below(): walks free lists) */
error_t heap_alloc_below_locked(struct heap *h, size_t size, uintptr_t limit, void **addr);
error_t heap_free_locked(struct heap *h, void *addr);

/* heap_count() - clusters in the topology; heap_topo() - the topology the heaps were built from. */
unsigned heap_count(void);
const struct topo *heap_topo(void);

#endif
