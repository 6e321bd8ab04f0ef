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

/*
 * A block parked in a cache starts with this link. @tag is the block's buddy tag, so that handing the
 * block out again restores "allocated" without recomputing where the tag lives. @room counts down: it is
 * how many more blocks the bin takes once this one is on top, so the bin's length needs no counter that
 * both fast paths would update (the bin's sentinel holds the limit; a push that reaches 0 trims).
 */
struct mm_cached {
	struct mm_cached *next;		/* NULL only in a bin's sentinel */
	union {
		uint8_t *tag;		/* a parked block: its tag byte */
		uintptr_t stat;		/* the sentinel: MM_CACHE_HIT * hits + the allocated tag (below) */
	};
	uintptr_t room;
};

/* A LIFO list of parked blocks of one order, ending in the sentinel @end (never empty, never NULL). */
struct mm_cache_bin {
	struct mm_cached *head;
	struct mm_cached end;		/* next = NULL, stat (below), room = the bin's limit */
};

/*
 * A bin's sentinel word end.stat packs two things the allocation fast path needs together: its low byte
 * is the tag an allocated block of the bin's order carries (restored with one byte store), the rest
 * counts the bin's hits (one add of MM_CACHE_HIT), so counting costs no extra load or store.
 */
#define MM_CACHE_HIT 256u

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
 * The fast paths (mem_alloc() and mem_free() in mm/mem.h) touch only the first fields and the two
 * tables, all at small offsets from tp in the kernel. A table entry is a bin's byte offset from
 * mm_cpu_base() (never 0), 0 meaning "not served by the cache": in the kernel that base is tp itself, so
 * a lookup is one load and one add. Every struct mm_cpu therefore sits MM_CPU_TP_OFFSET bytes into a
 * larger object (the CLS in the kernel, a padded thread-local in host tests).
 */
struct mm_cpu {
	struct mm_cache_bin bin[MM_CACHE_BINS];	/* first: within 255 bytes of mm_cpu_base() */
	/* the home heap's span and tag bias: the lock-free ownership test and tag lookup in mem_free() */
	uintptr_t home_lo, home_span;
	uintptr_t home_tag_bias;	/* its buddy's tag bias (see mm/buddy.h) */
	uint8_t bin_of_size[64];	/* (size - 1) / 64 -> bin, for sizes 1 .. 4096 */
	uint8_t bin_of_tag[256];	/* a tag byte -> the bin of an allocated block of that order */
	/* the home heap: the hart's cluster, or the nearest with memory; caches refill from it */
	struct heap *home;
	bool cache_dma;			/* the home heap is DMA-capable: the cache may serve MEM_VALID_DMA */
	uint32_t cache_valid;		/* bit v: the cache may serve reachability v */
	bool ready;
	unsigned hart;			/* hart index (mm_self()) */
	unsigned cluster;		/* the hart's cluster id */
	struct mem_proximity_s *prox;	/* default proximity: this cluster's (used for prox == NULL) */
	unsigned rr;			/* this hart's position in the global proximity's round-robin */
	uint32_t fault_rng;		/* fault injection: refill failures (mem_set_refill_faults()) */
	uint64_t refill_faults;
	struct mm_remote_list remote[MM_REMOTE_SLOTS];
};

/* mm_cache_hits() - allocations served from @c's cache (counted as local hits of its home cluster). */
static inline uint64_t mm_cache_hits(const struct mm_cpu *c)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < MM_CACHE_BINS; i++)
		n += c->bin[i].end.stat / MM_CACHE_HIT;
	return n;
}

/* mm_cache_count() - how many blocks bin @b holds. */
static inline uint32_t mm_cache_count(const struct mm_cache_bin *b)
{
	return (uint32_t)(b->end.room - b->head->room);
}

/*
 * mm_cpu_self() - the calling hart's struct mm_cpu. The kernel (built with MM_CPU_AT_TP) keeps it in the
 * hart's CLS, which tp points to, at offset MM_CPU_TP_OFFSET: the fast paths address its fields through
 * tp directly. Elsewhere (host tests) the embedding provides the function.
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

/* mm_cpu_base() - what the bin tables' offsets are relative to (tp in the kernel). */
static inline char *mm_cpu_base(struct mm_cpu *c)
{
	return (char *)c - MM_CPU_TP_OFFSET;
}

#endif
