/* smp.h - starting harts, running a function on every hart, barriers. */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include <stdint.h>

#include "mm/topo.h"

/*
 * smp_boot() - start every hart of @t but the caller with SBI HSM, each with its CLS and stack allocated
 * in its own cluster, and wait (bounded) for each to arrive; harts that never arrive are reported by id.
 * @skip_hart: a hart id to withhold (fault injection), or -1.
 * Context: boot hart, once, after the heaps exist. Return: number of harts up, the caller included.
 */
unsigned smp_boot(const struct topo *t, long skip_hart);

/* smp_nharts() - harts up. smp_hart_up(i) - whether hart index i arrived. */
unsigned smp_nharts(void);
int smp_hart_up(unsigned index);

/*
 * smp_call_all() - run fn(arg) on every hart that is up (the caller included) and wait until all have
 * returned. The other harts sleep in wfi between calls, so instruction counters see only the callers'.
 * Context: one hart at a time (the boot hart, from the test/bench runners); not from inside fn.
 */
void smp_call_all(void (*fn)(void *arg), void *arg);

/* smp_call_n() - the same on the first @n harts up only (by index); the others stay in wfi. */
void smp_call_n(unsigned n, void (*fn)(void *arg), void *arg);

/* smp_barrier() - wait until every hart taking part in the current smp_call_* reaches it. */
void smp_barrier(void);

/* smp_participants() - how many harts run the current smp_call_*. */
unsigned smp_participants(void);

#endif
