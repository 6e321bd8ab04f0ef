/* cpu.h - the allocator's per-hart state; the kernel embeds it in each hart's CLS. */
#ifndef MM_CPU_H
#define MM_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/slab.h"
#include "mm/topo.h"

struct mem_proximity_s;
struct heap;

/*
 * Buddy blocks of orders up to MM_CACHE_MAX_ORDER (4 KiB) freed on a hart of another cluster go home in
 * batches (remote[] below). Requests of that size with the default proximity are served by the slab
 * layer (mm/slab.h), whose state leads struct mm_cpu.
 */
#define MM_CACHE_MAX_ORDER 12

/*
 * Blocks freed on this hart but owned by another cluster, returned in batches: MM_REMOTE_SLOTS open
 * batches per hart, each for one owner cluster, whatever the number of clusters (see mm/mem_remote.c).
 */
#define MM_REMOTE_SLOTS 8
struct mm_remote_list {
	void *head;
	uint32_t count;			/* 0: the slot is free */
	uint32_t owner;			/* the cluster whose blocks it holds */
};

/*
 * The fast paths (mem_alloc() and mem_free() in mm/mem.h) touch only the slab state at its start, at
 * small offsets from tp in the kernel. Every struct mm_cpu sits MM_CPU_TP_OFFSET bytes into a larger
 * object (the CLS in the kernel, a padded thread-local in host tests).
 */
struct mm_cpu {
	struct slab_cpu slab;		/* first: the inline paths' state (mm/slab.h) */
	/* the home heap: the hart's cluster, or the nearest with memory; slabs come from it */
	struct heap *home;
	bool cache_dma;			/* the home heap is DMA-capable: the cache may serve MEM_VALID_DMA */
	uint32_t cache_valid;		/* bit v: the cache may serve reachability v */
	bool ready;
	bool heap_direct;		/* the home heap is its proximity's only first choice (mem_prox_home_alone()) */
	unsigned hart;			/* hart index (mm_self()) */
	unsigned cluster;		/* the hart's cluster id */
	struct mem_proximity_s *prox;	/* default proximity: this cluster's (used for prox == NULL) */
	unsigned rr;			/* this hart's position in the global proximity's round-robin */
	uint32_t fault_rng;		/* fault injection: refill failures (mem_set_refill_faults()) */
	uint64_t refill_faults;
	struct mm_remote_list remote[MM_REMOTE_SLOTS];
};

/**
 * mm_slabs_taken() - slabs @c took from its home heap (each a local hit of its home cluster).
 * @c: a hart's allocator state.
 *
 * Context: any hart, no lock (a relaxed snapshot). Return: the count.
 */
static inline uint64_t mm_slabs_taken(const struct mm_cpu *c)
{
	return c->slab.cnt.slabs_taken;
}

/**
 * mm_cpu_self() - the calling hart's struct mm_cpu. The kernel (built with MM_CPU_AT_TP) keeps it in the
 * hart's CLS, which tp points to, at offset MM_CPU_TP_OFFSET (kernel/cls.h checks it): the fast paths
 * address its fields through tp directly. Elsewhere (host tests) the embedding provides the function.
 *
 * Context: any hart after its CLS is set (any thread on the host). Return: its state.
 */
#define MM_CPU_TP_OFFSET 16
#if defined(MM_CPU_AT_TP)
/*
 * kernel_tp is tp as a global register variable (kernel/lock.h) rather than __builtin_thread_pointer():
 * GCC then addresses through tp at every use instead of copying it into a callee-saved register to keep
 * across a slow-path call.
 */
#include "kernel/lock.h"

static inline struct mm_cpu *mm_cpu_self(void)
{
	return (struct mm_cpu *)(kernel_tp + MM_CPU_TP_OFFSET);
}
#else
struct mm_cpu *mm_cpu_self(void);
#endif

#endif
