/*
 * mem_internal.h - what the files of mem_alloc() share and nothing else: mm/mem.c (regions, caches, the
 * entry points), mm/mem_prox.c (the proximities), mm/mem_remote.c (remote-free batches) and
 * mm/mem_debug.c (the debug allocator): the raw allocation paths under mem_alloc()/mem_free(), and the
 * debug allocator's block layout.
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

struct heap;
struct mm_cpu;

/* ---- mm/mem.c, for the proximities ---- */

/*
 * mem_cluster_alloc() - try every region of cluster @c that @valid allows, private ones first; @want is
 * the cluster whose CLUSTER-private memory qualifies, @hart the caller's index; *@name: the region's name.
 * Return: 0; the last region's error (ERR_NOMEM when none qualifies).
 */
error_t mem_cluster_alloc(unsigned c, size_t size, enum mem_reachability_s valid, unsigned want, int hart,
			  void **addr, const char **name);

/* mem_cluster_nregions() - how many regions cluster @c has (its SYS heap, empty or not, is one) */
unsigned mem_cluster_nregions(unsigned c);

/*
 * heap_give_back_locked() - free a block this layer validated when it took it (cached or remote, tagged
 * allocated again); the heap's lock is held. A refusal is a broken invariant (panic).
 */
void heap_give_back_locked(struct heap *h, void *p, const char *what);

/* ---- mm/mem_prox.c ---- */

/* mem_prox_init() - every cluster's, strict and global proximities over the heaps. Return: clusters with memory. */
unsigned mem_prox_init(const struct topo *t);

/* mem_prox_run() - a kernel proximity's allocation (cluster, strict or global), with its receipt and counts */
error_t mem_prox_run(struct mem_proximity_s *prox, size_t size, enum mem_reachability_s valid, void **addr,
		     struct mem_receipt *r);

/* mem_prox_home() - the first cluster of cluster @c's order (its own, or the nearest with memory); -1: none */
int mem_prox_home(unsigned c);

/*
 * mem_prox_home_alone() - whether cluster @c's first choice, mem_prox_home(@c), is alone at its distance
 * (its proximity tries it first whatever the room of the others, the direct path of mem.c)
 */
bool mem_prox_home_alone(unsigned c);

/* mem_prox_count_hit() - count a request served by its first choice, cluster @c, as the walk would */
void mem_prox_count_hit(unsigned c);

/* mem_prox_rank() - the rank cluster @cl has in @prox's order (a CMA block's receipt) */
unsigned mem_prox_rank(struct mem_proximity_s *prox, unsigned cl);

/* mem_prox_stats() - add cluster @c's slow-path counters (local hits, fallbacks, failures) to @st */
void mem_prox_stats(unsigned c, struct mem_cluster_stats *st);

/* ---- mm/mem_remote.c ---- */

/*
 * mem_remote_push() - batch the free of @addr, a small allocated block of @h (not @c's home heap, its
 * section ready), to be given back with others under one lock. False, nothing changed: not such a block.
 */
bool mem_remote_push(struct mm_cpu *c, struct heap *h, void *addr);

/* mem_remote_drain() - give every batched remote block of @c back to its heap */
void mem_remote_drain(struct mm_cpu *c);

/* mem_remote_open() - blocks waiting in @c's open batches (tests) */
unsigned mem_remote_open(const struct mm_cpu *c);

#endif
