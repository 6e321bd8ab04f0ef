/*
 * mem_internal.h - what mm/mem.c shares with mm/mem_debug.c (the debug allocator) and nothing else: the raw
 * allocation paths under mem_alloc()/mem_free(), and the debug allocator's block layout.
 */
#ifndef MM_MEM_INTERNAL_H
#define MM_MEM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/mem.h"

/* the debug allocator: guard bytes after the requested size, a trailer in a block's last 16 bytes, poison */
#define MEM_DBG_GUARD 8
#define MEM_DBG_TRAILER 16
#define MEM_DBG_GUARD_BYTE 0xfd
#define MEM_DBG_POISON 0x6b

/*
 * mem_raw_alloc() - mem_alloc_receipt() without the debug layer: checks, per-hart cache, proximity walk,
 * CMA for DMA. mem_raw_free() - mem_free_checked() without it. mem_raw_getsize() - the block's size as
 * its allocator rounded it (mem_getsize() answers the requested size under DEBUG=1).
 */
error_t mem_raw_alloc(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid, void **addr,
		      struct mem_receipt *r);
error_t mem_raw_free(void *addr);
error_t mem_raw_getsize(const void *addr, size_t *size);

/* mem_private_owns() - whether @a lies in a private region (no lock, no log) */
bool mem_private_owns(uintptr_t a);

#endif
