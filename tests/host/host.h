/* host.h - helpers only the host tests have. */
#ifndef TESTS_HOST_HOST_H
#define TESTS_HOST_HOST_H

#include <stdint.h>

/* host_set_self() - make mm_self() return @id in the calling thread (call first thing in a test thread). */
void host_set_self(unsigned id);

/*
 * host_use_cpu() - make mm_cpu_self() return @c in the calling thread (NULL: the thread's own state).
 * @c must sit MM_CPU_TP_OFFSET bytes into a larger object, as in the kernel's CLS. For a harness that
 * plays several harts in one thread: each keeps its slabs (mm/slab.h) while another one runs.
 */
struct mm_cpu;
void host_use_cpu(struct mm_cpu *c);

/* the shim's lock_halt()/lock_kick() (kernel/lock.h): sleeps that timed out (a test failure), calls */
extern uint32_t host_lost_wakeups;
extern uint64_t host_halts, host_kicks;

/*
 * host_hold_kicks() - with @hold set, lock_kick() still makes its sleeper's wake-up pending but the sleeper
 * stays asleep until host_hold_kicks(0): a kicked vCPU that the host has not run yet, on demand.
 */
void host_hold_kicks(int hold);

#endif
