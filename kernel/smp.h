/* smp.h - starting harts, running a function on every hart, barriers. */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/topo.h"

/**
 * smp_boot() - start every hart of @t but the caller with SBI HSM, each with its CLS and stack allocated
 * in its own cluster, and wait (bounded) for each to arrive; harts that never arrive are reported by id.
 * @t: the booted topology.
 * @skip_hart: a hart id to withhold (fault injection), or -1.
 *
 * Context: boot hart, once, after the heaps exist. Return: number of harts up, the caller included.
 */
unsigned smp_boot(const struct topo *t, long skip_hart);

/**
 * smp_nharts() - the harts up.
 *
 * Context: any hart. Return: their count, the boot hart included.
 */
unsigned smp_nharts(void);

/**
 * smp_hart_up() - whether hart index @index arrived.
 * @index: a CLS index (position in the topology's hart list).
 *
 * Context: any hart. Return: non-zero if it is up.
 */
int smp_hart_up(unsigned index);

/**
 * smp_call_all() - run @fn(@arg) on every hart that is up (the caller included) and wait until all have
 * returned. The other harts sleep in wfi between calls, so instruction counters see only the callers'.
 * @fn: the function; it may use smp_barrier().
 * @arg: its argument.
 *
 * Context: one hart at a time (the boot hart, from the test/bench runners); not from inside @fn.
 */
void smp_call_all(void (*fn)(void *arg), void *arg);

/**
 * smp_call_n() - smp_call_all() on the caller and the @n - 1 lowest-index other harts up; the others
 * stay in wfi.
 * @n: harts taking part, the caller included.
 * @fn: the function.
 * @arg: its argument.
 *
 * Context: as smp_call_all().
 */
void smp_call_n(unsigned n, void (*fn)(void *arg), void *arg);

/*
 * A set of hart indexes (CLS index = position in the topology), for running a call on chosen harts: one
 * per cluster, n per cluster, any list. smp_set_per_cluster() fills @s with the @per_cluster lowest-index
 * harts up of each cluster (fewer where a cluster has fewer) and returns how many it took.
 */
#define HART_SET_WORDS ((TOPO_MAX_HARTS + 63) / 64)
struct hart_set {
	uint64_t bits[HART_SET_WORDS];
};

/** smp_set_clear() - empty @s. Context: the set's owner. */
void smp_set_clear(struct hart_set *s);
/** smp_set_add() - put hart index @index into @s. Context: the set's owner. */
void smp_set_add(struct hart_set *s, unsigned index);
/** smp_set_has() - whether @s holds hart index @index. Return: true if it does. */
bool smp_set_has(const struct hart_set *s, unsigned index);
/** smp_set_count() - how many hart indexes @s holds. Return: the count. */
unsigned smp_set_count(const struct hart_set *s);

/**
 * smp_set_per_cluster() - fill @s with the @per_cluster lowest-index harts up of each cluster of @t
 * (fewer where a cluster has fewer).
 * @s: the set, emptied first.
 * @t: the topology.
 * @per_cluster: harts per cluster.
 *
 * Context: any hart. Return: how many harts it took.
 */
unsigned smp_set_per_cluster(struct hart_set *s, const struct topo *t, unsigned per_cluster);

/**
 * smp_call_set() - run @fn(@arg) on the harts of @set that are up, the caller too if it is in @set, and
 * wait until all have returned. smp_barrier() and smp_participants() then count exactly those harts. A
 * set with no hart up returns at once.
 * @set: the harts.
 * @fn: the function.
 * @arg: its argument.
 *
 * Context: as smp_call_all().
 */
void smp_call_set(const struct hart_set *set, void (*fn)(void *arg), void *arg);

/**
 * smp_barrier() - wait until every hart taking part in the current smp_call_*() reaches it.
 *
 * Context: inside an smp_call_*() function, on every hart taking part.
 */
void smp_barrier(void);

/**
 * smp_poll_relax() - the body of a loop that polls for something no hart will kick it for (another
 * hart's progress, a hart arriving at boot): cpu_relax() for the first lock_spin_budget calls, then a
 * timed wfi of SMP_POLL_SLEEP_US per call, so that pollers leave the host CPUs to the vCPUs they wait for.
 * @spins: the loop's count of calls so far (start it at 0).
 *
 * Context: any hart, no lock held (it may sleep).
 */
#define SMP_POLL_SLEEP_US 100
void smp_poll_relax(uint32_t *spins);

/**
 * smp_mem_drain_all() - every hart gives back what the allocator keeps for it (its slabs, its batches of
 * remote frees): mem_drain() on every hart, twice, since a hart's inbox fills while the others drain in
 * the first round and only its owner empties it, in the second.
 *
 * Context: the boot hart (tests, the soak, benchmarks), the other harts idle.
 */
void smp_mem_drain_all(void);

/**
 * smp_participants() - how many harts run the current smp_call_*().
 *
 * Context: inside an smp_call_*() function. Return: the count.
 */
unsigned smp_participants(void);

#endif
