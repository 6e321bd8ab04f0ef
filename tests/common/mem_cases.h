/*
 * mem_cases.h - mem_alloc() case bodies and helpers shared by the host suite (tests/host/test_mem.c) and
 * the kernel suite (tests/kernel/test_mem.c): one body, two environments, as Linux's
 * tools/testing/memblock runs one body in two modes.
 *
 * What differs between the two is passed in, not copied: the host plays a fixed 4-cluster machine with
 * pthreads as harts, the kernel whatever topology it booted with every hart up. A body takes the few
 * facts it needs (which proximities to try, how many harts, whether DMA memory exists) from its caller;
 * heaps are reached through mm/heap.h's heap_count()/heap_of(), the same in both.
 *
 * Context: the helpers run on the calling hart or thread; tc_stress_run() runs on every hart at once
 * (smp_call_all() in the kernel, one pthread per hart on the host).
 */
#ifndef TESTS_COMMON_MEM_CASES_H
#define TESTS_COMMON_MEM_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/env.h"
#include "mm/err.h"
#include "tests/test.h"

struct mem_proximity_s;

/* ---- heap byte accounting ---- */

/**
 * tc_heaps_snapshot() - the free bytes of every cluster's heap, for tc_expect_heaps_back().
 * @fb: heap_count() entries (0 for a cluster without a heap).
 *
 * Context: any hart; takes each heap's lock in turn. Drain the harts' caches first (mem_drain() on each).
 */
void tc_heaps_snapshot(uint64_t *fb);

/**
 * tc_expect_heaps_back() - every heap holds exactly the free bytes of @before and passes heap_check().
 * @t: the running case; each difference is a failed check with a diagnostic line.
 * @before: a tc_heaps_snapshot() taken before the case allocated.
 *
 * Context: any hart, after the harts' caches are drained again.
 */
void tc_expect_heaps_back(struct test *t, const uint64_t *before);

/* ---- blocks a case keeps, linked through their first word (every block is at least 16 bytes) ---- */

struct tc_blk {
	struct tc_blk *next;
};

/**
 * tc_blk_push() - keep block @p on @list.
 * @list: the list head.
 * @p: a live block of at least 16 bytes; its first word becomes the link.
 *
 * Context: the list's owner only.
 */
void tc_blk_push(struct tc_blk **list, void *p);

/**
 * tc_blk_free_all() - mem_free_checked() every block of @list and empty it.
 * @list: the list head.
 *
 * Context: any hart (a block of another hart's slab takes the remote-free path).
 * Return: how many frees were refused (0 when all were good).
 */
unsigned tc_blk_free_all(struct tc_blk **list);

/* ---- exhausting heaps ---- */

/*
 * tc_req_for_order() - a request that gets a heap block of exactly 2^@k bytes (@k >= 6) in both builds:
 * the debug allocator (MM_DEBUG) adds 24 bytes of guard and trailer, which 2^(k-1) + 1 still leaves
 * room for.
 */
static inline size_t tc_req_for_order(unsigned k)
{
	return ((size_t)1 << (k - 1)) + 1;
}

/**
 * tc_exhaust_strict() - take every block of cluster @c's heap through its strict proximity: the largest
 * blocks first, then every smaller order down to 64 bytes, so that no free block of any order is left.
 * @c: a cluster with a heap.
 * @list: the blocks taken go here.
 * @count: incremented per block taken (NULL: not counted).
 *
 * Context: any hart.
 * Return: ERR_EXHAUSTED when every order ended the way the strict proximity documents, else the first
 * other error.
 */
error_t tc_exhaust_strict(unsigned c, struct tc_blk **list, unsigned *count);

/**
 * tc_mem_exhaust_all() - take every heap block there is through the default proximity (largest orders
 * first, down to 64 bytes) until ERR_NOMEM; then every heap has 0 bytes free, each cluster's strict
 * proximity answers ERR_EXHAUSTED and its falling-back one ERR_NOMEM, and so do the global and the
 * default proximity, none writing the result.
 * @t: the running case.
 * @list: the blocks taken go here; the caller gives them back (tc_blk_free_all()).
 *
 * Context: one hart, while no other allocates. Return: how many blocks it took.
 */
unsigned tc_mem_exhaust_all(struct test *t, struct tc_blk **list);

/* ---- case bodies ---- */

/**
 * tc_mem_args() - argument errors of mem_alloc(), mem_alloc_receipt() and mem_getsize(), through the
 * default proximity, the global one, @cluster's and @cluster's strict one; then requests larger than
 * every heap (ERR_NOMEM through the default and the global proximity).
 * @t: the running case.
 * @cluster: a cluster id of the topology (for mem_prox_cluster() and mem_prox_strict()).
 *
 * No request may succeed and the result pointer is never written.
 * Context: any hart, after mem_init().
 */
void tc_mem_args(struct test *t, unsigned cluster);

/**
 * tc_mem_checked_frees_local() - refused frees of the calling hart's own blocks: a small block freed
 * twice (checked and inline), interior and misaligned addresses of a size-class block, of a 4 KiB block
 * and of a 64 KiB heap block, a double free of that, an address below every heap. Every good free is
 * made, so the heaps end as they began once the caches are drained.
 * @t: the running case.
 *
 * Needs a home heap with a free 64 KiB block. Context: any hart, after mem_init().
 * Return: how many refusals a heap counts in its bad_frees (the kernel checks heap_get_stats() by it).
 */
unsigned tc_mem_checked_frees_local(struct test *t);

/**
 * tc_mem_memoryless_strict() - memoryless cluster @c's strict proximity refuses every reachability with
 * ERR_NOHEAP, small and large, without writing the result, and counts each refusal as a failure of @c;
 * heap_alloc() on @c refuses too.
 * @t: the running case.
 * @c: a cluster without a heap (memoryless or withheld).
 *
 * Context: any hart, after mem_init().
 */
void tc_mem_memoryless_strict(struct test *t, unsigned c);

/**
 * tc_fill_strict() - take every block of cluster @c's heap through its strict proximity, largest first.
 * @c: a cluster with a heap.
 * @list: the blocks taken go here (tc_blk_free_all() gives them back).
 *
 * Context: any hart. Return: how many blocks it took.
 */
unsigned tc_fill_strict(unsigned c, struct tc_blk **list);

/**
 * tc_mem_remote_slots() - one hart frees small blocks of many owner clusters: @per_owner blocks (64 B,
 * 128 B, ...) of every other cluster with a heap, one round over the owners per size. Each free of another
 * cluster's block goes to a remote batch (a second free is refused); with fewer blocks per owner than a
 * batch holds, a slot empties only when a new owner takes it, so the open batches are exactly those of
 * the owners seen so far, up to MM_REMOTE_SLOTS, and never hold more than MM_REMOTE_SLOTS * 8 blocks.
 * mem_drain() then leaves no batch open.
 * @t: the running case.
 * @per_owner: blocks per owner, 1..4 (below a batch's 8).
 * @most: the most blocks the open batches held at once.
 *
 * Context: one hart; other harts may run but not free into its batches.
 * Return: how many owner clusters it freed blocks of.
 */
unsigned tc_mem_remote_slots(struct test *t, unsigned per_owner, unsigned *most);

/* ---- stress: every hart at once, random sizes, proximities and reachabilities, cross-hart frees ---- */

/*
 * Each block starts with a 16-byte header naming its owner and sequence number and its size; the rest is
 * filled with a byte derived from both. The header and every byte are checked before every free, by
 * whichever hart frees it, so that overlapping blocks or a block handed out twice show up as a pattern
 * error. SYS and DMA blocks are sometimes handed to another hart through its mailbox (one slot array per
 * hart, compare-and-swap in, exchange out): the receiver checks and frees them, which sends small blocks
 * of other clusters down the batched remote-free path. Every 256 operations a hart checks its own slabs.
 */
#define TC_STRESS_LIVE 48	/* live blocks per hart at most */
#define TC_STRESS_SLOTS 8	/* mailbox slots per hart */
#define TC_STRESS_MAX_BLOCK 16384	/* the largest request */

/* the facts of one run that differ between host and kernel */
struct tc_stress_env {
	unsigned nharts;			/* hart indexes 0..nharts-1 take part (at most MM_MAX_HARTS) */
	unsigned nclusters;			/* mem_prox_cluster() ids drawn from 0..nclusters-1 */
	unsigned ops;				/* random operations per hart */
	bool dma;				/* some heap has DMA memory: a tenth of the requests ask for it */
	bool (*hart_up)(unsigned index);	/* may receive hand-overs and counts (NULL: every hart) */
	bool (*in_private)(const void *p);	/* @p lies in a private region (NULL: none to check) */
};

/* one hart's results */
struct tc_stress_res {
	uint32_t ran;
	uint64_t allocs, frees, handed, received;
	uint64_t alloc_fail, free_fail, pattern_bad, reach_bad;
	uint64_t slab_bad;		/* slab_check() of the hart's own slabs failed (every 256 ops) */
	uint64_t t_ops, t_end;		/* mm_clock() ticks in the random phase, and in the final frees */
	error_t first_err;
};

extern struct tc_stress_res tc_stress_res[MM_MAX_HARTS];

/**
 * tc_stress_reset() - empty every mailbox and zero every hart's results before a run.
 *
 * Context: one hart, while no other runs tc_stress_run().
 */
void tc_stress_reset(void);

/**
 * tc_stress_run() - one hart's part: @env->ops random operations, then its mailbox checked and freed
 * and its remaining blocks freed. The caller drains the hart's caches afterwards (mem_drain()).
 * @env: the run's facts.
 * @me: the calling hart's index (mm_self()).
 * @seed: its random sequence (test_seed_for(NULL, salt + @me)).
 *
 * Context: every taking-part hart at once; no lock held.
 */
void tc_stress_run(const struct tc_stress_env *env, unsigned me, uint64_t seed);

/**
 * tc_stress_poll() - check and free what other harts handed to hart @me's mailbox.
 * @me: the hart index whose mailbox to empty; results count in @res.
 * @res: where the frees count (tc_stress_res[@me], or a caller's own for blocks left after the run).
 *
 * Context: hart @me, or one hart after every hart finished its run.
 * Return: how many blocks it took.
 */
uint64_t tc_stress_poll(unsigned me, struct tc_stress_res *res);

/**
 * tc_stress_expect() - the verdict of a run: every taking-part hart ran once with no failed request,
 * refused free, broken pattern, wrong reachability or broken slab; every block allocated was freed and
 * every block handed over was received (by its receiver, or in @late: the mailboxes emptied after the
 * run); with more than one hart, some blocks were handed over.
 * @t: the running case.
 * @env: the run's facts.
 * @late: the frees of blocks left in mailboxes after the run (zero if none).
 * @leftover: how many such blocks there were.
 * @sum: the totals over the harts (allocs, frees, handed, received; the slowest t_ops and t_end).
 *
 * Context: one hart, after every hart finished.
 */
void tc_stress_expect(struct test *t, const struct tc_stress_env *env, const struct tc_stress_res *late,
		      uint64_t leftover, struct tc_stress_res *sum);

#endif
