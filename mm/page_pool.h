/* page_pool.h - physical page allocator: two bitmaps per range, runs of contiguous pages, first fit. */
#ifndef MM_PAGE_POOL_H
#define MM_PAGE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/err.h"
#include "mm/pool.h"

#define PAGE_POOL_PAGE_SHIFT 12
#define PAGE_POOL_PAGE_SIZE ((uintptr_t)1 << PAGE_POOL_PAGE_SHIFT)	/* 4096 */
#define PAGE_POOL_MAX_RANGES 8

/* One range of pages; private to page_pool.c. */
struct page_pool_range_s {
	uintptr_t start, end;		/* as given: what overlap checks compare */
	uintptr_t base;			/* first managed page */
	size_t npages;			/* pages [base, base + npages * PAGE_POOL_PAGE_SIZE) */
	size_t nfree;
	size_t hint;			/* no free page has an index below this */
	unsigned long *used;		/* bit i: page i is allocated */
	unsigned long *head;		/* bit i: page i starts an allocated run */
	uintptr_t meta_start, meta_end;	/* where the two bitmaps live */
};

/* The descriptor (caller memory). All fields are private to page_pool.c. */
struct page_pool_s {
	struct alloc_pool_s alloc;	/* first: a page_pool_s is an alloc_pool_s */
	unsigned nranges;
	size_t total, nfree, nruns, max_pages;
	struct page_pool_range_s range[PAGE_POOL_MAX_RANGES];	/* in address order */
};

struct page_pool_stats {
	size_t total_pages;		/* pages handed out or free (bitmap pages not counted) */
	size_t free_pages;
	size_t largest_free_run;	/* in pages: the largest page_pool_alloc() that would succeed now */
	size_t nruns;			/* live allocations */
	unsigned nranges;
};

extern const struct alloc_pool_model_s page_pool_model;

/**
 * page_pool_storage_size() - bytes of bitmap a range needs when its storage is passed separately.
 * @start: first byte of the range
 * @end: first byte after it
 *
 * Context: any.
 * Return: the size for page_pool_extend_storage(); 0 if the range holds no whole page.
 */
size_t page_pool_storage_size(uintptr_t start, uintptr_t end);

/**
 * page_pool_init() - make @pool manage the pages of [@start, @end).
 * @pool: caller memory for the descriptor
 * @start: first byte (rounded up to a page)
 * @end: first byte after the range, excluded (rounded down to a page)
 *
 * The two bitmaps (allocated pages, run starts) are stored in the first pages of the range, which are
 * then never handed out: the range must be accessible memory. Use page_pool_init_storage() otherwise.
 * Context: no lock taken; nothing else may use @pool yet.
 * Return: 0; ERR_INVAL for a NULL @pool or @end <= @start; ERR_SIZE if no page is left after the bitmaps.
 * On error @pool is left empty.
 */
error_t page_pool_init(struct page_pool_s *pool, uintptr_t start, uintptr_t end);

/**
 * page_pool_init_storage() - page_pool_init() with the bitmaps in @storage instead of in the range.
 * @pool: caller memory for the descriptor
 * @start: first byte (rounded up to a page)
 * @end: first byte after the range (rounded down)
 * @storage: at least page_pool_storage_size(@start, @end) bytes (+ alignment), outside the range
 * @len: bytes at @storage
 *
 * Context: no lock taken; nothing else may use @pool yet.
 * Return: as page_pool_extend_storage().
 */
error_t page_pool_init_storage(struct page_pool_s *pool, uintptr_t start, uintptr_t end, void *storage,
			       size_t len);

/**
 * page_pool_extend() - add the pages of [@start, @end) to @pool, bitmaps at the start of the range.
 * @pool: an initialised pool
 * @start: first byte (rounded up to a page)
 * @end: first byte after the range (rounded down)
 *
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: 0; ERR_INVAL for NULL or @end <= @start; ERR_OVERLAP if the range overlaps a range of @pool,
 * its bitmaps or the descriptor; ERR_SIZE if no page is left after the bitmaps; ERR_NOMEM if @pool already
 * has PAGE_POOL_MAX_RANGES ranges.
 */
error_t page_pool_extend(struct page_pool_s *pool, uintptr_t start, uintptr_t end);

/**
 * page_pool_extend_storage() - add [@start, @end) with its bitmaps in @storage.
 * @pool: an initialised pool
 * @start: first byte (rounded up to a page)
 * @end: first byte after the range (rounded down)
 * @storage: bitmap memory, or NULL to place the bitmaps at the start of the range
 * @len: bytes at @storage
 *
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: as page_pool_extend(), plus ERR_SIZE if @len is too small and ERR_OVERLAP if @storage overlaps
 * the new range, another range, another range's bitmaps or the descriptor.
 */
error_t page_pool_extend_storage(struct page_pool_s *pool, uintptr_t start, uintptr_t end, void *storage,
				 size_t len);

/**
 * page_pool_alloc() - allocate a run of contiguous pages.
 * @pool: the pool
 * @size: bytes, > 0, rounded up to whole pages
 * @addr: where to write the page-aligned address of the run, written only on success
 *
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: 0; ERR_INVAL for a NULL argument; ERR_SIZE if @size is 0 or more pages than any range has;
 * ERR_NOMEM if no range has that many contiguous free pages now.
 */
error_t page_pool_alloc(struct page_pool_s *pool, size_t size, uintptr_t *addr);

/**
 * page_pool_free() - checked free of a run by its first address.
 * @pool: the pool the run came from
 * @addr: first byte of the run
 *
 * A refused free logs one line and leaves the pool unchanged.
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: 0; ERR_INVAL for a NULL @pool; ERR_NOTOWNED if @addr is not a managed page of @pool (bitmap
 * pages included); ERR_MISALIGNED if not page aligned; ERR_INTERIOR if inside a run but not its first page;
 * ERR_DOUBLEFREE if the page is free.
 */
error_t page_pool_free(struct page_pool_s *pool, uintptr_t addr);

/**
 * page_pool_getsize() - size in bytes of the live run starting at @addr.
 * @pool: the pool
 * @addr: first byte of the run
 * @size: where to write the size, written only on success
 *
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: 0, or the codes of page_pool_free() (nothing is logged).
 */
error_t page_pool_getsize(struct page_pool_s *pool, uintptr_t addr, size_t *size);

/**
 * page_pool_owns() - is @addr in a managed page of @pool?
 * @pool: the pool
 * @addr: any address
 *
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: true or false (false for a NULL @pool).
 */
bool page_pool_owns(struct page_pool_s *pool, uintptr_t addr);

/**
 * page_pool_check() - verify every invariant of @pool.
 * @pool: the pool
 * @why: buffer for a one-line description of the first broken invariant (may be NULL)
 * @len: size of @why
 *
 * Ranges ordered and disjoint, bitmaps outside the pages they describe, no bit past the last page, run
 * starts only on allocated pages, every allocated stretch begins with a run start, the hint, counters.
 * Context: no lock taken; the caller serialises access to @pool.
 * Return: 0; ERR_INVAL for a NULL @pool; ERR_CORRUPT with @why filled in.
 */
error_t page_pool_check(struct page_pool_s *pool, char *why, size_t len);

/**
 * page_pool_get_stats() - page counts of @pool.
 * @pool: the pool
 * @st: filled in
 *
 * Context: no lock taken; the caller serialises access to @pool. Scans the bitmaps for the largest run.
 */
void page_pool_get_stats(struct page_pool_s *pool, struct page_pool_stats *st);

#endif
