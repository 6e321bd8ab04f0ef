/* cpu.h - the allocator's per-hart state; the kernel embeds it in each hart's CLS. */
#ifndef MM_CPU_H
#define MM_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/topo.h"

struct mem_proximity_s;
struct heap;

/* Per-hart caches serve orders MM_CACHE_MIN_ORDER..MM_CACHE_MAX_ORDER (64 B .. 4 KiB) without a lock. */
#define MM_CACHE_MIN_ORDER 6
#define MM_CACHE_MAX_ORDER 12
#define MM_CACHE_BINS (MM_CACHE_MAX_ORDER - MM_CACHE_MIN_ORDER + 1)

struct mm_cache_bin {
	void *head;			/* LIFO list linked through the blocks' first word */
	uint32_t count;
	uint32_t max;			/* above this, half the bin goes back to the heap in one batch */
};

/* blocks freed on this hart but owned by another cluster, returned in batches */
struct mm_remote_list {
	void *head;
	uint32_t count;
};

struct mm_cpu_counters {
	uint64_t local_hits, fallbacks_in, fallbacks_out, failures;
};

struct mm_cpu {
	struct mm_cache_bin bin[MM_CACHE_BINS];
	/* the home heap: the hart's cluster, or the nearest with memory; caches refill from it */
	struct heap *home;
	uintptr_t home_lo, home_hi;	/* its span, for the lock-free ownership test in mem_free() */
	uintptr_t home_tag_bias;	/* its buddy's tag bias (see mm/buddy.h) */
	bool cache_dma;			/* the home heap is DMA-capable: the cache may serve MEM_VALID_DMA */
	uint32_t cache_valid;		/* bit v: the cache may serve reachability v */
	bool ready;
	unsigned hart;			/* hart index (mm_self()) */
	unsigned cluster;		/* the hart's cluster id */
	struct mem_proximity_s *prox;	/* default proximity: this cluster's (used for prox == NULL) */
	unsigned rr;			/* this hart's position in the global proximity's round-robin */
	uint32_t fault_rng;		/* fault injection: refill failures (mem_set_refill_faults()) */
	uint64_t refill_faults;
	uint64_t cache_hits;		/* allocations served from the cache (counted as local hits of home) */
	struct mm_remote_list remote[TOPO_MAX_CLUSTERS];
	struct mm_cpu_counters cnt[TOPO_MAX_CLUSTERS];
};

/*
 * mm_cpu_self() - the calling hart's struct mm_cpu. The kernel (built with MM_CPU_AT_TP) keeps it in the
 * hart's CLS, which tp points to, at offset MM_CPU_TP_OFFSET: the fast paths then reach it with one add
 * (GCC's __builtin_thread_pointer() is the generic way to read tp). Elsewhere (host tests) the embedding
 * provides the function.
 */
#define MM_CPU_TP_OFFSET 64
#if defined(MM_CPU_AT_TP)
static inline struct mm_cpu *mm_cpu_self(void)
{
	return (struct mm_cpu *)((char *)__builtin_thread_pointer() + MM_CPU_TP_OFFSET);
}
#else
struct mm_cpu *mm_cpu_self(void);
#endif

#endif
