/* cma.h - Contiguous Memory Allocator: named page-granular regions, best-fit aligned chunks, device registry. */
#ifndef MM_CMA_H
#define MM_CMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/err.h"

#define CMA_PAGE_SIZE 4096
#define CMA_MAX_REGIONS 8
#define CMA_NAME_MAX 16		/* names hold at most CMA_NAME_MAX - 1 characters */
#define CMA_MAX_DEVS 4		/* devices per region, and per cma_spec */

struct cma_node;	/* a chunk or free range in the region's trees (cma.c) */

/*
 * A region: [base, base + size) handed out in page-multiple chunks. The memory itself is never read or
 * written; the bookkeeping lives in the caller's @meta (cma_region_init()). All fields are private to
 * cma.c: read them through cma_region_info().
 */
struct cma_region {
	char name[CMA_NAME_MAX];
	uintptr_t base;
	uint32_t npages;	/* region size in pages */
	uint32_t cap;		/* nodes in the pool: nodes[1..cap] */
	struct cma_node *nodes;	/* the caller's metadata; nodes[0] is the "none" index and never used */
	uint32_t unused;	/* nodes[unused..cap] have never been handed out */
	uint32_t free_list;	/* recycled nodes, linked through kid[0][0] */
	uint32_t root[2];	/* address tree, size tree */
	uint32_t free_pages, nchunks, nfree_ranges, nnodes;
	uint64_t allocs, frees, failures, bad_frees;
};

/* A snapshot of a region, in bytes. total == free + bytes in live chunks. */
struct cma_info {
	char name[CMA_NAME_MAX];
	uintptr_t base;
	size_t total, free, largest_free;	/* largest_free: the largest free range (0 if none) */
	unsigned chunks, free_ranges;		/* live chunks, free ranges (never two adjacent) */
	uint64_t allocs, frees, failures, bad_frees; /* successful calls; refused allocs; refused frees */
};

/* One "cma=" bootarg value, parsed by bootargs_parse_cma() (kernel/bootargs.h). */
struct cma_spec {
	char name[CMA_NAME_MAX];
	uint64_t size;			/* bytes, a non-zero multiple of CMA_PAGE_SIZE */
	int cluster;			/* NUMA cluster to carve the region from; -1 if absent */
	char devs[CMA_MAX_DEVS][CMA_NAME_MAX];
	unsigned ndevs;
	bool exclusive;
};

/* ---- one region (no locks, no platform code) ----------------------------------------------------------- */

/**
 * cma_meta_size() - bytes of metadata cma_region_init() needs for a region of @region_size bytes.
 * @region_size: region size in bytes (rounded up to pages here)
 *
 * Enough for the worst case, every page its own chunk or free range: chunks and free ranges tile the
 * region, so a region of P pages never holds more than P of them together.
 * Context: any.
 * Return: the size in bytes (0 if the region would be too large to describe: more than 2^32 - 2 pages).
 */
size_t cma_meta_size(size_t region_size);

/**
 * cma_region_init() - make @r manage [@base, @base + @size) as one free range.
 * @r: the region descriptor (caller memory)
 * @name: 1 .. CMA_NAME_MAX - 1 characters, copied
 * @base: first byte, page-aligned
 * @size: bytes, a non-zero multiple of CMA_PAGE_SIZE
 * @meta: metadata memory, at least cma_meta_size(@size) bytes, 4-byte aligned, outside the region
 * @meta_size: bytes at @meta
 *
 * Takes O(1) time: the node pool is handed out lazily. The region memory is never touched.
 * Context: no lock taken; nothing else may use @r or @meta yet.
 * Return: 0; ERR_INVAL for a NULL @r/@meta, a bad @name or a misaligned @meta; ERR_ALIGN if @base or
 * @size is not page-aligned; ERR_SIZE for @size 0, a region past the end of the address space or one of
 * more than 2^32 - 2 pages, or @meta_size too small; ERR_OVERLAP if @meta lies in the region.
 */
error_t cma_region_init(struct cma_region *r, const char *name, uintptr_t base, size_t size, void *meta,
			size_t meta_size);

/**
 * cma_region_alloc() - allocate a contiguous chunk, best fit.
 * @r: the region
 * @size: bytes, rounded up to whole pages
 * @align: alignment of the chunk's address. Any value below CMA_PAGE_SIZE (0, 1, 4095, ...) means page
 *	   alignment; larger values must be powers of two and may exceed @size (a 64 KiB chunk 1 MiB-aligned)
 * @addr: where to write the chunk's address, written only on success
 *
 * Among the free ranges that can hold an aligned chunk of this size, takes the smallest one (lowest
 * address on ties) and places the chunk at the lowest aligned address in it. O(log n) unless the
 * alignment makes several small ranges fail (see cma.c). A refusal for lack of room logs one line
 * "cma: <name>: no room for <size> bytes aligned <align> (largest free chunk <n> bytes)".
 * Context: no lock taken; caller serialises all calls on @r.
 * Return: 0; ERR_INVAL for a NULL @r/@addr; ERR_SIZE for @size 0 or larger than the region;
 * ERR_ALIGN for an @align >= CMA_PAGE_SIZE that is not a power of two; ERR_EXHAUSTED if nothing fits now.
 */
error_t cma_region_alloc(struct cma_region *r, size_t size, size_t align, uintptr_t *addr);

/**
 * cma_region_free() - free the chunk starting at @addr, merging it with free neighbours.
 * @r: the region
 * @addr: the address cma_region_alloc() returned
 *
 * O(log n). A refused free changes nothing but the bad_frees counter and logs one line
 * "cma: <name>: free 0x...: no chunk starts here (-ENOENT)".
 * Context: no lock taken; caller serialises all calls on @r.
 * Return: 0; ERR_INVAL for a NULL @r; ERR_NOENT (== -ENOENT) if no live chunk starts at @addr (outside
 * the region, inside a chunk, in free space, already freed).
 */
error_t cma_region_free(struct cma_region *r, uintptr_t addr);

/**
 * cma_region_info() - fill @info with a snapshot of @r.
 * @r: the region
 * @info: filled in
 *
 * O(log n) (largest_free is the size tree's last node).
 * Context: no lock taken; caller serialises all calls on @r.
 */
void cma_region_info(const struct cma_region *r, struct cma_info *info);

/**
 * cma_region_check() - verify every invariant of @r.
 * @r: the region
 * @why: buffer for one line describing the first broken invariant (may be NULL)
 * @len: size of @why
 *
 * Both trees are ordered, balanced (AVL) and of the right heights; the address tree tiles the region with
 * chunks and free ranges in address order, no two free ranges adjacent; the size tree holds exactly the
 * free ranges; counters and the node pool add up. O(n). Never follows an index out of the pool.
 * Context: no lock taken; caller serialises all calls on @r.
 * Return: 0; ERR_INVAL for a NULL @r; ERR_CORRUPT with @why filled in.
 */
error_t cma_region_check(const struct cma_region *r, char *why, size_t len);

/**
 * cma_region_owns() - does @addr lie in [base, base + size) of @r?
 * @r: the region (NULL: false)
 * @addr: any address
 *
 * Context: any; reads only fields fixed at init.
 * Return: true or false.
 */
bool cma_region_owns(const struct cma_region *r, uintptr_t addr);

/* ---- the registry: named regions, devices assigned to them ---------------------------------------------- */

/**
 * cma_declare() - declare region @name over [@base, @base + @size) (see cma_region_init()).
 * @name: region name, unique among regions and assigned devices
 * @base: first byte, page-aligned
 * @size: bytes, page multiple
 * @meta: metadata memory (cma_meta_size(@size) bytes)
 * @meta_size: bytes at @meta
 * @out: the new region, written on success (may be NULL)
 *
 * Nothing changes on failure.
 * Context: caller serialises all registry calls.
 * Return: 0; ERR_INVAL for a bad or duplicate name; ERR_NOMEM if CMA_MAX_REGIONS are declared;
 * ERR_OVERLAP if the range overlaps a declared region (or @meta lies in it); the codes of
 * cma_region_init().
 */
error_t cma_declare(const char *name, uintptr_t base, size_t size, void *meta, size_t meta_size,
		    struct cma_region **out);

/**
 * cma_assign() - let device @dev allocate from region @region.
 * @region: a declared region
 * @dev: device name (1 .. CMA_NAME_MAX - 1 characters, not a region's name)
 *
 * A region may serve several devices (shared) unless it is exclusive; a device has one region.
 * Assigning a device again to its own region is a no-op.
 * Context: caller serialises all registry calls.
 * Return: 0; ERR_NODEV for an unknown @region; ERR_INVAL for a bad @dev, a device already assigned to
 * another region, or a second device on an exclusive region; ERR_NOMEM if the region has CMA_MAX_DEVS.
 */
error_t cma_assign(const char *region, const char *dev);

/**
 * cma_set_exclusive() - make @region serve at most one device (or share it again).
 * @region: a declared region
 * @exclusive: true for exclusive
 *
 * Context: caller serialises all registry calls.
 * Return: 0; ERR_NODEV for an unknown @region; ERR_INVAL if it already serves more than one device.
 */
error_t cma_set_exclusive(const char *region, bool exclusive);

/**
 * cma_find() - the region a region or device name stands for.
 * @region_or_dev: a region name; else a device name: its region, or the region "default" if the device
 *		   has none and "default" is declared
 * @out: the region, written on success
 *
 * Context: caller serialises all registry calls.
 * Return: 0; ERR_INVAL for a NULL argument; ERR_NODEV if nothing matches.
 */
error_t cma_find(const char *region_or_dev, struct cma_region **out);

/**
 * cma_alloc() - cma_find() then cma_region_alloc().
 * @region_or_dev: region or device name
 * @size: bytes
 * @align: alignment (see cma_region_alloc())
 * @addr: the chunk, written on success
 *
 * Context: any hart; takes the registry's spinlock (declare/assign happen at boot, before other harts).
 * Return: 0; ERR_NODEV; the codes of cma_region_alloc().
 */
error_t cma_alloc(const char *region_or_dev, size_t size, size_t align, uintptr_t *addr);

/**
 * cma_free() - free a chunk of whichever declared region holds @addr.
 * @addr: the chunk's address
 *
 * Context: any hart; takes the registry's spinlock (declare/assign happen at boot, before other harts).
 * Return: 0; ERR_NOENT (== -ENOENT), logged as by cma_region_free() (with region "-" when no region
 * holds @addr), if no live chunk starts at @addr.
 */
error_t cma_free(uintptr_t addr);

/* cma_owns() - whether @addr lies in any declared region (no lock, no log). */
bool cma_owns(uintptr_t addr);

/**
 * cma_for_each() - call @fn on every declared region, in declaration order.
 * @fn: the callback; it must not declare regions or reset the registry
 * @arg: passed through
 *
 * Context: caller serialises all registry calls.
 */
void cma_for_each(void (*fn)(struct cma_region *r, void *arg), void *arg);

/**
 * cma_reset() - forget every region and assignment (host tests, or before re-declaring at boot).
 *
 * Context: nothing may use a region any more.
 */
void cma_reset(void);


#endif
