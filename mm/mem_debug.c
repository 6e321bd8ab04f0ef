/* mem_debug.c - the debug allocator (make DEBUG=1): mem_alloc()/mem_free() over mm/mem.c's raw paths. */
#include <string.h>

#include "mm/cma.h"
#include "mm/cpu.h"
#include "mm/env.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/mem_internal.h"
#include "mm/slab.h"

#if MM_DEBUG

/*
 * The debug allocator (make DEBUG=1). Every block gets a trailer in its last 16 bytes recording the
 * requested size, the allocating hart and the call site, and MEM_DBG_GUARD guard bytes right after the
 * requested size: a write past the end is reported at free with where the block came from. A block
 * parked in a per-hart cache is poisoned (all but its link word and trailer); the poison is checked when
 * the cache hands it out again, so a write after free is reported with the block's last owner. A block
 * whose check fails is reported and kept out of circulation (leaked on purpose): a free then returns
 * ERR_CORRUPT, an allocation takes another block.
 */

struct dbg_trailer {
	uintptr_t site;
	uint32_t hart;
	uint32_t size;
};

static struct dbg_trailer *dbg_trailer_of(void *p, size_t bsize)
{
	return (struct dbg_trailer *)((char *)p + bsize - MEM_DBG_TRAILER);
}

/* whether the block is a small heap block that went through a per-hart cache (and so was poisoned) */
static bool dbg_cacheable(const void *p, size_t bsize)
{
	return bsize <= SLAB_MAX_SIZE && !cma_owns((uintptr_t)p) && !mem_private_owns((uintptr_t)p) &&
	       slab_owns(heap_owner(p), (uintptr_t)p);
}

static error_t dbg_alloc(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid, void **addr,
			 struct mem_receipt *r, uintptr_t site)
{
	struct mem_receipt rc;
	size_t bsize, i;
	void *p;
	error_t e;

	if (!addr)
		return ERR_INVAL;	/* as mem_raw_alloc() would: the block goes through &p below */
	if (!size || size > MEM_MAX_SIZE || size > UINT32_MAX)
		return mem_raw_alloc(size ? MEM_MAX_SIZE + 1 : 0, prox, valid, addr, r);
again:
	rc.cached = false;	/* a caller-made proximity writes no receipt */
	e = mem_raw_alloc(size + MEM_DBG_GUARD + MEM_DBG_TRAILER, prox, valid, &p, &rc);
	if (e)
		return e;
	if (r)
		*r = rc;
	if (mem_raw_getsize(p, &bsize))
		bsize = size + MEM_DBG_GUARD + MEM_DBG_TRAILER;	/* CMA: the chunk is at least this */
	/*
	 * Only a block served by the cache was poisoned (by slab_carve() or dbg_free()); a small block that
	 * the proximity walk took straight from a heap carries the buddy's free-list links.
	 */
	if (rc.cached && dbg_cacheable(p, bsize)) {
		const unsigned char *c = p;

		for (i = sizeof(struct slab_blk); i < bsize - MEM_DBG_TRAILER; i++)
			if (c[i] != MEM_DBG_POISON) {
				struct dbg_trailer *t = dbg_trailer_of(p, bsize);

				/* someone else's bug: report it, keep the block out of use, and try another */
				mm_log("mem: use after free: block %p (%zu bytes, last allocated by hart %u at 0x%lx) "
				       "modified at offset %zu", p, (size_t)t->size, t->hart, (unsigned long)t->site, i);
				goto again;
			}
	}
	memset((char *)p + size, MEM_DBG_GUARD_BYTE, MEM_DBG_GUARD);
	*dbg_trailer_of(p, bsize) = (struct dbg_trailer){ site, mm_self(), (uint32_t)size };
	*addr = p;
	return 0;
}

static error_t dbg_free(void *addr)
{
	struct dbg_trailer *t;
	size_t bsize, i;
	error_t e;

	if (!addr)
		return 0;
	e = mem_raw_getsize(addr, &bsize);
	if (e == ERR_NOTOWNED && cma_owns((uintptr_t)addr))
		return mem_raw_free(addr);
	if (e)
		return mem_raw_free(addr);	/* the normal checks report it */
	t = dbg_trailer_of(addr, bsize);
	for (i = 0; i < MEM_DBG_GUARD; i++)
		if (t->size + i >= bsize - MEM_DBG_TRAILER ||
		    ((unsigned char *)addr)[t->size + i] != MEM_DBG_GUARD_BYTE) {
			mm_log("mem: overflow past the %u bytes of block %p allocated by hart %u at 0x%lx",
			       t->size, addr, t->hart, (unsigned long)t->site);
			return ERR_CORRUPT;
		}
	if (dbg_cacheable(addr, bsize))
		memset((char *)addr + sizeof(struct slab_blk), MEM_DBG_POISON,
		       bsize - MEM_DBG_TRAILER - sizeof(struct slab_blk));
	return mem_raw_free(addr);
}

error_t mem_alloc(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid, void **addr)
{
	return dbg_alloc(size, prox, valid, addr, NULL, (uintptr_t)__builtin_return_address(0));
}

error_t mem_alloc_receipt(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid,
			  void **addr, struct mem_receipt *r)
{
	return dbg_alloc(size, prox, valid, addr, r, (uintptr_t)__builtin_return_address(0));
}

error_t mem_free_checked(void *addr)
{
	return dbg_free(addr);
}

error_t mem_getsize(const void *addr, size_t *size)
{
	size_t bsize;
	error_t e;

	if (!size)
		return ERR_INVAL;	/* as mem_raw_getsize() would: the size goes through &bsize below */
	e = mem_raw_getsize(addr, &bsize);
	if (!e)
		*size = dbg_trailer_of((void *)addr, bsize)->size;
	return e;
}

void mem_free(void *addr)
{
	(void)dbg_free(addr);
}

#endif /* MM_DEBUG */
