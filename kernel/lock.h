/* lock.h - spinlocks: MCS (queuing, FIFO), ticket and test-and-set, behind one interface, with statistics. */
#ifndef KERNEL_LOCK_H
#define KERNEL_LOCK_H

#include <stdint.h>

/*
 * All three locks use only 32- and 64-bit atomics (RISC-V has no sub-word AMOs here) through GCC's
 * __atomic builtins, so this file builds in the kernel and, unchanged, in host tests. The heaps use
 * spinlock_t, which LOCK=mcs|ticket|tas (make) selects at build time; the benchmarks and tests also
 * call each kind directly.
 *
 * Statistics are updated by the holder, inside the critical section, so they need no atomics:
 * acquisitions, contended acquisitions (had to wait), spin iterations, and total/longest wait in
 * mm_clock() ticks (the time CSR in the kernel). The clock is read only on the contended path.
 */
struct lock_stats {
	uint64_t acquired;
	uint64_t contended;
	uint64_t spins;
	uint64_t wait_total;
	uint64_t wait_max;
};

/* One MCS queue node per hart and nesting level, kept in CLS (see mcs_node_get()). */
struct mcs_node {
	struct mcs_node *next;
	uint32_t locked;
} __attribute__((aligned(64)));

struct mcs_lock {
	struct mcs_node *tail;		/* last waiter, NULL when free */
	struct mcs_node *owner;		/* holder's node: written and read only by the holder */
	struct lock_stats st;
};

struct ticket_lock {
	uint32_t next;			/* next ticket to hand out */
	uint32_t owner;			/* ticket now served */
	struct lock_stats st;
};

struct tas_lock {
	uint32_t held;
	struct lock_stats st;
};

/*
 * Provided by the embedding (kernel/cls.c, tests/host/shim.c): a free MCS node of the calling hart for
 * one more nesting level, and its return. Nesting depth is bounded by MCS_NEST_MAX.
 */
#define MCS_NEST_MAX 4
struct mcs_node *mcs_node_get(void);
void mcs_node_put(struct mcs_node *n);

void mcs_init(struct mcs_lock *l);
void mcs_lock(struct mcs_lock *l);
void mcs_unlock(struct mcs_lock *l);
int mcs_trylock(struct mcs_lock *l);

void ticket_init(struct ticket_lock *l);
void ticket_lock(struct ticket_lock *l);
void ticket_unlock(struct ticket_lock *l);

void tas_init(struct tas_lock *l);
void tas_lock(struct tas_lock *l);
void tas_unlock(struct tas_lock *l);

#if defined(LOCK_KIND_ticket)
typedef struct ticket_lock spinlock_t;
#define LOCK_KIND_NAME "ticket"
#define spin_init ticket_init
#define spin_lock ticket_lock
#define spin_unlock ticket_unlock
#elif defined(LOCK_KIND_tas)
typedef struct tas_lock spinlock_t;
#define LOCK_KIND_NAME "tas"
#define spin_init tas_init
#define spin_lock tas_lock
#define spin_unlock tas_unlock
#else
typedef struct mcs_lock spinlock_t;
#define LOCK_KIND_NAME "mcs"
#define spin_init mcs_init
#define spin_lock mcs_lock
#define spin_unlock mcs_unlock
#endif

/* spin_stats() - the statistics of any of the three lock kinds (read them under the lock for exact values). */
#define spin_stats(l) (&(l)->st)

/*
 * cpu_relax() - the body of every spin loop. On RISC-V, Zihintpause's "pause" (encoded as a FENCE
 * hint, a no-op on harts without it). In host tests threads outnumber cores, and a FIFO lock whose next
 * owner is descheduled stalls everyone behind it (the vCPU-preemption problem), so yield instead.
 */
#if defined(HOST_TEST)
#include <sched.h>
static inline void cpu_relax(void)
{
	sched_yield();
}
#else
static inline void cpu_relax(void)
{
	__asm__ volatile(".insn i 0x0F, 0, x0, x0, 0x010" ::: "memory");
}
#endif

#endif
