/* memory_pool.h - fine-grained allocator over raw memory ranges: headed blocks, address-ordered first fit. */
#ifndef MM_MEMORY_POOL_H
#define MM_MEMORY_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/err.h"
#include "mm/pool.h"

/* Every returned block is aligned to MEMORY_POOL_ALIGN bytes. */
#define MEMORY_POOL_ALIGN 16
/* Bytes of header in front of every block (kept a multiple of MEMORY_POOL_ALIGN). */
#define MEMORY_POOL_OVERHEAD \
	((4 * sizeof(uintptr_t) + MEMORY_POOL_ALIGN - 1) & ~(size_t)(MEMORY_POOL_ALIGN - 1))

struct memory_pool_range_s;	/* lives at the start of each range (memory_pool.c) */
struct memory_pool_free_s;	/* a free block: header + free-list links (memory_pool.c) */

/*
 * The descriptor. It lives either inside the first range (memory_pool_init() with *pool == NULL) or in
 * memory the caller provides. All fields are private to memory_pool.c.
 */
struct memory_pool_s {
	struct alloc_pool_s alloc;		/* first: a memory_pool_s is an alloc_pool_s */
	struct memory_pool_free_s *free_head;	/* free blocks, in address order */
	struct memory_pool_range_s *ranges;	/* ranges, in address order */
	size_t total;		/* bytes under block management (sum of all block sizes) */
	size_t free;		/* bytes in free blocks, headers included */
	size_t reserved;	/* bytes in reserved blocks, headers included */
	size_t max_block;	/* largest block a single range can hold */
	unsigned nranges, nfree, nused, nreserved;
};

struct memory_pool_stats {
	size_t total;		/* bytes under block management, headers included */
	size_t free;		/* bytes in free blocks, headers included */
	size_t used;		/* bytes in allocated blocks, headers included */
	size_t reserved;	/* bytes in blocks taken by memory_pool_reserve() */
	size_t largest_free;	/* the largest size memory_pool_alloc() would grant right now (0 if none) */
	unsigned nfree_blocks, nused_blocks, nreserved_blocks;
};

extern const struct alloc_pool_model_s memory_pool_model;

/**
 * memory_pool_init() - make a pool of the memory in [@start, @end).
 * @start: first byte of the range (rounded up to MEMORY_POOL_ALIGN)
 * @end: first byte after the range (rounded down)
 * @pool: in: NULL to place the descriptor at the start of the range, or caller memory for the descriptor
 *	  (which must not overlap the range); out: the descriptor, written only on success
 *
 * A small range header is placed at the start of the range (after the descriptor if that is there too).
 * Context: no lock taken; nothing else may use the memory or the descriptor yet.
 * Return: 0; ERR_INVAL for a NULL argument or @end <= @start; ERR_OVERLAP if the caller's descriptor lies
 * in the range; ERR_SIZE if the range cannot hold the bookkeeping and one smallest block.
 */
error_t memory_pool_init(void *start, void *end, struct memory_pool_s **pool);

/**
 * memory_pool_extend() - add the memory in [@start, @end) to @pool.
 * @pool: an initialised pool
 * @start: first byte of the new range
 * @end: first byte after it
 *
 * The range gets its own range header; blocks never span two ranges.
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: 0; ERR_INVAL for NULL or @end <= @start; ERR_OVERLAP if it overlaps a range of the pool or its
 * descriptor; ERR_SIZE if too small to hold a range header and one smallest block.
 */
error_t memory_pool_extend(struct memory_pool_s *pool, void *start, void *end);

/**
 * memory_pool_alloc() - allocate @size bytes, aligned to MEMORY_POOL_ALIGN.
 * @pool: the pool
 * @size: bytes wanted, > 0
 * @addr: where to write the block address, written only on success
 *
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: 0; ERR_INVAL for a NULL argument; ERR_SIZE if @size is 0 or larger than any range of the pool
 * could hold; ERR_NOMEM if no free block is large enough now.
 */
error_t memory_pool_alloc(struct memory_pool_s *pool, size_t size, void **addr);

/**
 * memory_pool_free() - checked free of a block returned by memory_pool_alloc()/memory_pool_resize().
 * @pool: the pool the block came from
 * @addr: the block
 *
 * The block is merged with free neighbours on both sides. A refused free logs one line and leaves the
 * pool unchanged (nothing in the pool or its memory is written).
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: 0; ERR_INVAL for a NULL @pool or a reserved block; ERR_NOTOWNED if @addr is not in the block
 * area of a range of @pool; ERR_MISALIGNED if it is not MEMORY_POOL_ALIGN aligned; ERR_INTERIOR if it is
 * not the start of a block; ERR_DOUBLEFREE if the block is already free (or was merged into free space);
 * ERR_CORRUPT if the pool was found broken.
 */
error_t memory_pool_free(struct memory_pool_s *pool, void *addr);

/**
 * memory_pool_resize() - change the size of a live block, keeping its contents.
 * @old: a live block (its pool is found from its header, as in the seed)
 * @size: the new size, > 0
 * @new_block: where to write the (possibly moved) block, written only on success
 *
 * Shrinking and growing into a free next neighbour happen in place (*@new_block == @old); otherwise a new
 * block is allocated, min(old, new) bytes copied and @old freed. On any error @old is untouched.
 * Context: no lock taken; the caller serialises access to the block's pool.
 * @old must come from some memory pool: the header in front of it is read before anything else is known.
 * Return: 0; ERR_INVAL for a NULL @old/@new_block or a reserved block; ERR_SIZE for a 0 or too large
 * @size; ERR_MISALIGNED; ERR_NOTOWNED if no valid pool header is found in front of @old (an interior
 * pointer usually ends here); ERR_INTERIOR; ERR_DOUBLEFREE if the block is free; ERR_NOMEM if it must
 * move and nothing fits.
 */
error_t memory_pool_resize(void *old, size_t size, void **new_block);

/**
 * memory_pool_reserve() - take [@start, @start + @size) out of the free space for good.
 * @pool: the pool
 * @start: first byte to reserve (rounded down to MEMORY_POOL_ALIGN)
 * @size: bytes (the end is rounded up to MEMORY_POOL_ALIGN)
 *
 * The bytes become the payload of a "reserved" block that is never handed out or freed. Its header goes
 * right below @start, so the MEMORY_POOL_OVERHEAD bytes below @start must be free as well.
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: 0; ERR_INVAL for a NULL @pool; ERR_SIZE for @size 0 or wrapping; ERR_NOTOWNED if the range is
 * not inside one range of the pool; ERR_OVERLAP if any of it (or its header) is not free.
 */
error_t memory_pool_reserve(struct memory_pool_s *pool, void *start, size_t size);

/**
 * memory_pool_getsize() - usable size of a live block (>= the size asked for).
 * @pool: the pool
 * @addr: the block
 * @size: where to write the size, written only on success
 *
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: 0, or the codes of memory_pool_free() (nothing is logged).
 */
error_t memory_pool_getsize(struct memory_pool_s *pool, void *addr, size_t *size);

/**
 * memory_pool_owns() - does @addr lie in the block area of one of @pool's ranges?
 * @pool: the pool
 * @addr: any address
 *
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: true or false (false for a NULL @pool). The descriptor and range headers are not "owned".
 */
bool memory_pool_owns(struct memory_pool_s *pool, void *addr);

/**
 * memory_pool_check() - verify every invariant of @pool.
 * @pool: the pool
 * @why: buffer for a one-line description of the first broken invariant (may be NULL)
 * @len: size of @why
 *
 * Checks ranges (ordered, disjoint), every block header (canary, owner, size, prev_size, last flag),
 * the free list (exactly the free blocks, in address order, back links right), that no two free blocks
 * are adjacent, and the byte and block counters.
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: 0; ERR_INVAL for a NULL @pool; ERR_CORRUPT with @why filled in.
 */
error_t memory_pool_check(struct memory_pool_s *pool, char *why, size_t len);

/**
 * memory_pool_get_stats() - byte and block counts of @pool.
 * @pool: the pool
 * @st: filled in (total == free + used + reserved)
 *
 * Context: no lock taken; the caller serialises access to @pool. Walks the free list for largest_free.
 */
void memory_pool_get_stats(struct memory_pool_s *pool, struct memory_pool_stats *st);

#endif
