/* pool.h - the generic pool model of MutekH ticket #58: one interface over memory_pool and page_pool. */
#ifndef MM_POOL_H
#define MM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/err.h"

/*
 * The seed's "generic part": an allocator is a struct alloc_pool_s embedded first in its own descriptor,
 * whose model points at a table of operations. memory_pool (fine-grained blocks with headers,
 * memory_pool_model) and page_pool (bitmap of physical pages, page_pool_model) provide one; any other
 * allocator could, by the same four operations.
 *
 * One change from the seed: its push (free) takes only an address ("pool must be able to find itself").
 * Here push, getsize and owns take the pool explicitly. A pool cannot find itself from an arbitrary address
 * without trusting memory in front of it (page_pool has no per-page header at all), so finding the pool is
 * the job of the layer above: mem_alloc()/mem_free() ask each candidate pool's owns() and then call push
 * on the owner. That keeps every pool able to *check* a free (foreign, interior, misaligned, double) and
 * answer an error code instead of corrupting itself. The seed's push returns void; ours returns error_t.
 */
struct alloc_pool_s;

/**
 * typedef alloc_pool_pop_func_t - a model's allocation.
 * @pool: the pool (the model's own descriptor embeds it first)
 * @size: bytes wanted; memory_allocator_pop() passes only sizes > 0
 * @retptr: receives the block address, written only on success
 *
 * Context: the caller serialises access to @pool.
 * Return: 0; ERR_SIZE if @size can never fit; ERR_NOMEM if the pool has no room now; ERR_INVAL for a
 * NULL descriptor.
 */
typedef error_t alloc_pool_pop_func_t(struct alloc_pool_s *pool, size_t size, uintptr_t *retptr);

/**
 * typedef alloc_pool_push_func_t - a model's checked free of the block starting at @address.
 * @pool: the pool
 * @address: the block's start
 *
 * Context: the caller serialises access to @pool.
 * Return: 0, or why the free was refused (ERR_NOTOWNED, ERR_MISALIGNED, ERR_INTERIOR, ERR_DOUBLEFREE, ...),
 * the pool unchanged.
 */
typedef error_t alloc_pool_push_func_t(struct alloc_pool_s *pool, uintptr_t address);

/**
 * typedef alloc_pool_getsize_func_t - a model's usable size of the live block starting at @ptr.
 * @pool: the pool
 * @ptr: the block's start
 * @size: receives the size (at least what was asked for), written only on success
 *
 * Context: the caller serialises access to @pool.
 * Return: 0, or the code a push of @ptr would be refused with.
 */
typedef error_t alloc_pool_getsize_func_t(struct alloc_pool_s *pool, uintptr_t ptr, size_t *size);

/**
 * typedef alloc_pool_owns_func_t - does @ptr lie in memory this pool hands out (live or free)?
 * @pool: the pool
 * @ptr: any address
 *
 * Never fails, never logs.
 * Context: the caller serialises access to @pool.
 * Return: true if it does.
 */
typedef bool alloc_pool_owns_func_t(struct alloc_pool_s *pool, uintptr_t ptr);

/**
 * struct alloc_pool_model_s - a model's table of operations (one const instance per model).
 * @name: the model's name ("memory_pool", "page_pool")
 * @pop: allocation
 * @push: checked free
 * @getsize: usable size of a live block
 * @owns: ownership test
 *
 * A NULL operation makes the generic call fail (ERR_INVAL, or false for owns).
 */
struct alloc_pool_model_s {
	const char *name;
	alloc_pool_pop_func_t *pop;
	alloc_pool_push_func_t *push;
	alloc_pool_getsize_func_t *getsize;
	alloc_pool_owns_func_t *owns;
};

/**
 * struct alloc_pool_s - the generic part of a pool; implementations embed it as their first member.
 * @model: the table of operations; NULL makes every generic call fail
 */
struct alloc_pool_s {
	const struct alloc_pool_model_s *model;
};

/**
 * memory_allocator_pop() - allocate a block from any pool through its model.
 * @region: the pool (its model's pop is called)
 * @size: bytes wanted, > 0
 * @addr: where to write the block address, written only on success
 *
 * Context: no lock taken; the caller serialises access to @region.
 * Return: 0; ERR_INVAL if @region, its model, the model's pop or @addr is NULL; ERR_SIZE if @size is 0
 * (checked before the model is called) or the model finds it too large ever to fit; ERR_NOMEM if the pool
 * has no room now; any other code of the model's pop.
 */
error_t memory_allocator_pop(struct alloc_pool_s *region, size_t size, void **addr);

/**
 * memory_allocator_push() - checked free of a block through the pool's model.
 * @region: the pool that owns @addr (see memory_allocator_owns(); the pool is never guessed here)
 * @addr: start of a live block obtained from memory_allocator_pop() on @region
 *
 * Context: no lock taken; the caller serialises access to @region.
 * Return: 0; ERR_INVAL if @region, its model or the model's push is NULL; otherwise the model's verdict:
 * ERR_NOTOWNED, ERR_MISALIGNED, ERR_INTERIOR, ERR_DOUBLEFREE (memory_pool also ERR_INVAL for a reserved
 * block and ERR_CORRUPT for a pool it finds broken); a refused free leaves the pool unchanged.
 */
error_t memory_allocator_push(struct alloc_pool_s *region, void *addr);

/**
 * memory_allocator_getsize() - usable size of a live block.
 * @region: the pool that owns @addr
 * @addr: start of a live block
 * @size: where to write the size, written only on success
 *
 * Context: no lock taken; the caller serialises access to @region.
 * Return: 0; ERR_INVAL if @region, its model, the model's getsize or @size is NULL; otherwise the same
 * codes as a bad push.
 */
error_t memory_allocator_getsize(struct alloc_pool_s *region, void *addr, size_t *size);

/**
 * memory_allocator_owns() - does @region manage the memory at @addr?
 * @region: any pool
 * @addr: any address
 *
 * This is how the layer above finds the pool to push a block back to.
 * Context: no lock taken; the caller serialises access to @region.
 * Return: true if @addr lies in memory @region hands out; false otherwise (and for a NULL @region, model
 * or owns operation).
 */
bool memory_allocator_owns(struct alloc_pool_s *region, void *addr);

#endif
