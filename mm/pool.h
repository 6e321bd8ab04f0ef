/* pool.h - the generic pool model of MutekH ticket #58: one interface over memory_pool and page_pool. */
#ifndef MM_POOL_H
#define MM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/err.h"

/*
 * The seed's "generic part": an allocator is a struct alloc_pool_s embedded first in its own descriptor,
 * whose model points at a table of operations. memory_pool (fine-grained blocks with headers) and
 * page_pool (bitmap of physical pages) both provide one; the per-cluster buddy heap can too.
 *
 * One change from the seed: its push (free) takes only an address ("pool must be able to find itself").
 * Here push, getsize and owns take the pool explicitly. A pool cannot find itself from an arbitrary address
 * without trusting memory in front of it (page_pool has no per-page header at all), so finding the pool is
 * the job of the layer above: mem_alloc()/mem_free() ask each candidate pool's owns() and then call push
 * on the owner. That keeps every pool able to *check* a free (foreign, interior, misaligned, double) and
 * answer an error code instead of corrupting itself. The seed's push returns void; ours returns error_t.
 */
struct alloc_pool_s;

/* pop: allocate @size bytes (> 0) from @pool; on success write the block address to *@retptr. */
typedef error_t alloc_pool_pop_func_t(struct alloc_pool_s *pool, size_t size, uintptr_t *retptr);
/* push: checked free of the block starting at @address; returns 0 or why it was refused (pool unchanged). */
typedef error_t alloc_pool_push_func_t(struct alloc_pool_s *pool, uintptr_t address);
/* getsize: usable size of the live block starting at @ptr (at least what was asked for). */
typedef error_t alloc_pool_getsize_func_t(struct alloc_pool_s *pool, uintptr_t ptr, size_t *size);
/* owns: does @ptr lie in memory this pool hands out (live or free)? Never fails, never logs. */
typedef bool alloc_pool_owns_func_t(struct alloc_pool_s *pool, uintptr_t ptr);

struct alloc_pool_model_s {
	const char *name;
	alloc_pool_pop_func_t *pop;
	alloc_pool_push_func_t *push;
	alloc_pool_getsize_func_t *getsize;
	alloc_pool_owns_func_t *owns;
};

struct alloc_pool_s {
	const struct alloc_pool_model_s *model;	/* implementations embed this struct as their first member */
};

/**
 * memory_allocator_pop() - allocate a block from any pool through its model.
 * @region: the pool (its model's pop is called)
 * @size: bytes wanted, > 0
 * @addr: where to write the block address, written only on success
 *
 * Context: no lock taken; the caller serialises access to @region.
 * Return: 0; ERR_INVAL if @region, its model or @addr is NULL; ERR_SIZE if @size is 0 (or the model finds it
 * too large ever to fit); ERR_NOMEM if the pool has no room now.
 */
error_t memory_allocator_pop(struct alloc_pool_s *region, size_t size, void **addr);

/**
 * memory_allocator_push() - checked free of a block through the pool's model.
 * @region: the pool that owns @addr (see memory_allocator_owns(); the pool is never guessed here)
 * @addr: start of a live block obtained from memory_allocator_pop() on @region
 *
 * Context: no lock taken; the caller serialises access to @region.
 * Return: 0; ERR_INVAL if @region or its model is NULL; otherwise the model's verdict: ERR_NOTOWNED,
 * ERR_MISALIGNED, ERR_INTERIOR, ERR_DOUBLEFREE (the pool is left unchanged on any error).
 */
error_t memory_allocator_push(struct alloc_pool_s *region, void *addr);

/**
 * memory_allocator_getsize() - usable size of a live block.
 * @region: the pool that owns @addr
 * @addr: start of a live block
 * @size: where to write the size, written only on success
 *
 * Context: no lock taken; the caller serialises access to @region.
 * Return: 0; ERR_INVAL if @region, its model or @size is NULL; otherwise the same codes as a bad push.
 */
error_t memory_allocator_getsize(struct alloc_pool_s *region, void *addr, size_t *size);

/**
 * memory_allocator_owns() - does @region manage the memory at @addr?
 * @region: any pool
 * @addr: any address
 *
 * This is how the layer above finds the pool to push a block back to.
 * Context: no lock taken; the caller serialises access to @region.
 * Return: true if @addr lies in memory @region hands out; false otherwise (and for a NULL @region).
 */
bool memory_allocator_owns(struct alloc_pool_s *region, void *addr);

#endif
