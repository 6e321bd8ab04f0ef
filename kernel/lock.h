/* lock.h - spinlocks: MCS (queuing, FIFO), queued (qspin: MCS queue + lock word), ticket and test-and-set. */
#ifndef KERNEL_LOCK_H
#define KERNEL_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * All four locks use only 32- and 64-bit atomics (RISC-V has no sub-word AMOs here): on RISC-V the few
 * that the fast paths need are written out as single instructions (inline asm below, each ordering bit
 * explained), elsewhere they are GCC's __atomic builtins, so this file builds in the kernel and, unchanged,
 * in host tests. The heaps use spinlock_t, which LOCK=mcs|qspin|ticket|tas (make) selects at build time; the
 * benchmarks and tests also call each kind directly.
 *
 * Fast paths. Each lock and unlock is an inline function here that handles the free lock (and, for MCS,
 * the unlock with nobody queued) without a call or a stack frame, and leaves for an out-of-line slow path
 * in lock.c only when it has to wait or hand over. In the kernel, mcs_lock(l) and the others are
 * function-like macros that expand to these inline functions; the real functions stay in lock.c (they are
 * the same inline code) for the host tests and for anyone taking their address: a bare mcs_lock, without
 * an argument list, is not a macro call.
 *
 * Statistics are updated by the holder, inside the critical section, so they need no atomics:
 * acquisitions, contended acquisitions (had to wait), spin iterations, total/longest wait in lock_clock()
 * ticks (the time CSR in the kernel), and for halting waiters (below) halts (acquisitions whose waiter
 * stopped spinning and slept) and kicks (wake-up IPIs sent to this lock's sleeping waiters, counted by
 * the woken waiter once it holds the lock), and for qspin steals (acquisitions that took the free lock
 * ahead of a queued head). The clock is read only on the contended path.
 *
 * Halting waiters (paravirt-style, as Linux's pv qspinlock). QEMU runs every hart as a host thread, and
 * with more harts than host cores a FIFO lock collapses when the next waiter in line is descheduled.
 * So a waiter spins at most lock_spin_budget iterations (bootarg lock_spin=, 0 = sleep at once), then
 * publishes that it sleeps and waits in lock_halt() (wfi: the host thread sleeps too); the unlock that
 * hands it the lock sends it lock_kick() (an SBI IPI). Every wait re-checks its condition after waking,
 * so a spurious or late wake-up only costs a loop. The ordering arguments that rule out a lost wake-up
 * are next to the atomics and fences in lock.c.
 */
/**
 * struct lock_stats - a lock's counters, written by the holder inside its critical section (see above).
 * @acquired: acquisitions, contended or not (trylocks that succeeded included)
 * @contended: acquisitions that had to wait (went through the slow path)
 * @spins: cpu_relax() iterations of those waits
 * @wait_total: lock_clock() ticks spent waiting, summed over the contended acquisitions
 * @wait_max: the longest of those waits, in ticks
 * @halts: contended acquisitions whose waiter stopped spinning and slept in lock_halt()
 * @kicks: wake-up IPIs sent to this lock's sleeping waiters, counted by the woken waiter once it holds
 *         the lock (ticket: kicks that landed after the exchange may count in the hart's next acquisition)
 * @steals: qspin only: acquisitions that took the free lock ahead of a queued head
 */
struct lock_stats {
	uint64_t acquired;
	uint64_t contended;
	uint64_t spins;
	uint64_t wait_total;
	uint64_t wait_max;
	uint64_t halts;
	uint64_t kicks;
	uint64_t steals;
};

/* the spin budget of every waiting lock and smp.c wait, in cpu_relax() iterations (lock.c) */
#define LOCK_SPIN_DEFAULT 1024
extern uint32_t lock_spin_budget;

/*
 * The queued spinlock's steal budget (bootarg lock_steal=): how many iterations a newcomer tries to take
 * an unclaimed free lock ahead of the queue before it queues. 0 = strict FIFO.
 */
#define LOCK_STEAL_DEFAULT 1024
extern uint32_t lock_steal_budget;

/*
 * Platform hooks of the halting waiters, implemented by kernel/smp.c (wfi, SBI IPI) and by the host
 * shim (a per-thread condition variable whose timeout is a test failure, never a silent recovery).
 * A hart is named by its index, lock_self().
 */

/**
 * lock_halt() - sleep until a kick arrives (or spuriously), then forget the kick.
 *
 * Kernel: wfi, then clear SIP.SSIP. Host: wait on the thread's condition variable, then clear its
 * pending flag; a wait of HOST_HALT_TIMEOUT_S without a kick is logged and counted as a lost wake-up.
 * A kick sent before the call makes it return at once. Callers loop on their condition.
 *
 * Context: a waiter of one of the locks (or an smp.c wait) that has published, then fenced, that it
 * sleeps.
 */
void lock_halt(void);

/**
 * lock_kick() - wake a hart out of lock_halt() (or make its next lock_halt() return at once).
 * @hart: the hart's index (lock_self() on that hart)
 *
 * Kernel: fence iorw,iorw (the store the woken hart looks for is visible first), then an SBI IPI; an
 * index with no CLS is ignored. Host: sets the thread's pending flag and signals its condition variable.
 *
 * Context: any hart; takes no lock of this file (the host shim takes the target's mutex).
 */
void lock_kick(unsigned hart);

/*
 * The embedding's other two services, so that the lock needs nothing from mm/ (mm/ uses the lock, not the
 * reverse).
 */
#define LOCK_MAX_HARTS 128

/**
 * lock_self() - the calling hart's index.
 *
 * Kernel: its CLS index. Host: the thread's id from host_set_self(), or one handed out in order of
 * first call.
 *
 * Context: any hart (in the kernel: with its CLS set up).
 * Return: the index, below LOCK_MAX_HARTS.
 */
unsigned lock_self(void);

/**
 * lock_clock() - monotonic ticks for the wait statistics.
 *
 * Context: any; read only on the contended path.
 * Return: the time CSR in the kernel (rdtime), CLOCK_MONOTONIC nanoseconds on the host.
 */
uint64_t lock_clock(void);

/*
 * One MCS queue node per hart and nesting level (see mcs_node_take()). A node that is not in a queue
 * always has next == NULL: nodes start zeroed, a successor writes next only while the node is queued, and
 * the unlock that reads a successor clears it again (mcs_unlock_slow()), so mcs_lock() need not.
 */
struct mcs_node {
	struct mcs_node *next;
	uint32_t locked;		/* MCS_GRANTED, MCS_WAITING or MCS_HALTED (lock.c) */
	uint32_t hart;			/* the owning hart's index: whom the hand-off kicks */
} __attribute__((aligned(64)));

/* a queued node's locked word: the hand-off swaps in GRANTED and kicks if it took HALTED out */
#define MCS_GRANTED 0
#define MCS_WAITING 1
#define MCS_HALTED 2

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
 * Queued spinlock (qspin): Linux's qspinlock with its paravirt hybrid mode, in one 32-bit word. The
 * word holds the lock bit, the queue's tail (a hart index + 1) and two bits of the queue head's state;
 * the waiters queue as in MCS, each spinning (then sleeping) on its own node, but only the head of the
 * queue watches the word, and the lock itself is a bit, not a hand-off. So:
 *   - a free, uncontended lock is one compare-and-swap 0 -> LOCKED, and the unlock one LOCKED -> 0;
 *   - the queue head claims the next release (HANDOFF) while it spins, so a running head is served
 *     next; once it has spun lock_spin_budget iterations it sets SLEEPS, gives the claim up (the
 *     first time it sleeps as the head; later sleeps keep it) and halts, and the unlock that sees
 *     SLEEPS clears it and kicks the head (head_hart), which then claims again. Only the head ever
 *     sleeps on the word; the others sleep on their nodes, as MCS, after a sixteenth of the budget;
 *   - while no head claims the lock (it sleeps, or the next head is still waking up), a running hart
 *     that finds the lock free may take it ahead of the queue ("steal", up to lock_steal_budget
 *     iterations before it queues): no sleeping or descheduled hart sits on the critical path. The
 *     unfairness is bounded: a head that runs when the lock is released is served by that release,
 *     and steals pass it during one of its sleeps at most.
 *     With lock_steal_budget 0 nobody steals and the head keeps its claim while asleep: strict FIFO.
 * Waiting needs one node per hart (a hart waits for one lock at a time), in lock.c, so qspin locks nest
 * without limit and the fast paths touch no node at all.
 */
#define QSPIN_LOCKED 1u		/* held */
#define QSPIN_HANDOFF 2u	/* the head claims the next release: no steals */
#define QSPIN_SLEEPS 4u		/* the head sleeps: the unlock kicks head_hart */
#define QSPIN_TAIL_SHIFT 8	/* bits 8..31: the last queued hart's index + 1, 0 = nobody queued */

struct qspin_lock {
	uint32_t word;
	uint32_t head_hart;		/* the sleeping head's hart: written before it sets SLEEPS */
	struct lock_stats st;
};

/*
 * MCS node stack. A hart takes one node per MCS lock it holds and gives them back in reverse order (locks
 * nest; every caller releases the last lock it took first). Nesting depth is bounded by MCS_NEST_MAX.
 *
 * In the kernel the nodes are an array in the hart's CLS and the next free one is a pointer at
 * tp + MCS_TOP_TP_OFFSET (kernel/cls.h lays the CLS out so and asserts it): take = load it and store it
 * plus one, give back = store the node. The array is aligned to MCS_NODES_ALIGN, twice its size, so of
 * the pointers the stack can hold only the one past the end has bit MCS_NODES_SIZE set, and the overflow
 * check is one and plus one branch. Host tests provide mcs_node_get()/mcs_node_put() (tests/host/shim.c).
 */
#define MCS_NEST_MAX 4
#define MCS_NODES_SIZE (MCS_NEST_MAX * sizeof(struct mcs_node))
#define MCS_NODES_ALIGN (2 * MCS_NODES_SIZE)
#define MCS_TOP_TP_OFFSET 8
_Static_assert((MCS_NEST_MAX & (MCS_NEST_MAX - 1)) == 0, "the overflow check needs a power-of-two stack");

#if defined(HOST_TEST)
/**
 * mcs_node_get() - host only: the calling thread's next free MCS node (tests/host/shim.c).
 *
 * Context: any thread; its nodes are thread-local.
 * Return: the node; mm_panic() beyond MCS_NEST_MAX nodes taken.
 */
struct mcs_node *mcs_node_get(void);

/**
 * mcs_node_put() - host only: give back the thread's last node taken.
 * @n: that node (unused: the thread's stack depth goes down by one)
 *
 * Context: the thread that took it.
 */
void mcs_node_put(struct mcs_node *n);
#endif

/**
 * mcs_nest_overflow() - the hart asked for a node beyond MCS_NEST_MAX: panic (kernel only, lock.c).
 *
 * Context: called by mcs_node_take() only; never returns.
 */
void mcs_nest_overflow(void) __attribute__((noreturn, cold));

/*
 * The slow halves, out of line in lock.c: wait for a held lock, hand the lock to a queued successor.
 * Only the fast paths below call them, through LOCK_SLOW(); they are not an interface of their own.
 */

/**
 * mcs_lock_slow() - the contended half of mcs_lock(): link behind @prev, spin, then sleep, until granted.
 * @l: the lock
 * @n: our node, already the tail
 * @prev: the tail our swap replaced (it held or was queued for @l)
 *
 * Context: mcs_lock_inline() only. Counts the wait in @l's statistics, once it holds @l.
 */
void mcs_lock_slow(struct mcs_lock *l, struct mcs_node *n, struct mcs_node *prev);

/**
 * mcs_unlock_slow() - the hand-off half of mcs_unlock(): wait for the successor to link, grant it, kick
 *                     it if it sleeps, give @n back.
 * @l: the lock
 * @n: the holder's node (the tail has moved past it)
 *
 * Context: mcs_unlock_inline() only, by the holder.
 */
void mcs_unlock_slow(struct mcs_lock *l, struct mcs_node *n);

/**
 * ticket_lock_slow() - wait until ticket @me is served: spin, then sleep with a published slot.
 * @l: the lock
 * @me: our ticket, zero-extended
 *
 * Context: ticket_lock_inline() only. Counts the wait in @l's statistics, once it holds @l.
 */
void ticket_lock_slow(struct ticket_lock *l, unsigned long me);

/**
 * ticket_unlock_slow() - kick the sleeping hart whose turn @owner now is, if any.
 * @l: the lock (compared with the slots' lock, never dereferenced)
 * @owner: the ticket now served, zero-extended
 *
 * Context: ticket_unlock_inline() only, after its release store and fence; some hart has a slot.
 */
void ticket_unlock_slow(struct ticket_lock *l, unsigned long owner);

/**
 * tas_lock_slow() - spin on plain loads while @l is held, swap again when it looks free.
 * @l: the lock
 *
 * Context: tas_lock_inline() only. Never sleeps. Counts the wait in @l's statistics, once it holds @l.
 */
void tas_lock_slow(struct tas_lock *l);

/**
 * qspin_lock_slow() - steal, or queue, become the head, and take @l (lock.c's steps 1-4).
 * @l: the lock
 *
 * Context: qspin_lock_inline() only; uses the calling hart's one qspin node. Counts the wait (and a
 * steal) in @l's statistics, once it holds @l.
 */
void qspin_lock_slow(struct qspin_lock *l);

/**
 * qspin_unlock_slow() - release @l when its word holds more than LOCKED; kick the head if it sleeps.
 * @l: the lock
 *
 * Context: qspin_unlock_inline() only, by the holder.
 */
void qspin_unlock_slow(struct qspin_lock *l);

/**
 * LOCK_SLOW() - call one of the slow halves above from a fast path: fn(a, b, c), extra arguments ignored.
 * @fn: the slow half's name (mcs_lock_slow ... qspin_unlock_slow)
 * @a: its first argument
 * @b: its second argument, if it takes one (else ignored)
 * @c: its third argument, if it takes one (else ignored)
 *
 * Each argument travels as a whole register (uintptr_t), so the slow halves take only pointers and
 * unsigned longs: a uint32_t parameter would be expected sign-extended, as the ABI passes it.
 *
 * In the kernel the call goes through fn##_thunk (lock.c), which saves and restores every caller-saved
 * integer register around the C function and returns through t0: "call t0, ..." (relaxed to one jal)
 * then clobbers only t0 and t1 (the call's scratch register), plus the caller-saved FP registers, which
 * the thunk does not save and kernel code never holds live across a lock. A fast path therefore needs
 * no stack frame of its own and keeps its values in the caller's registers across the rare call: an
 * uncontended lock + unlock in a leaf function is frameless. Elsewhere (host tests) it is a plain call.
 */
#if defined(__riscv) && !defined(HOST_TEST)
#if defined(__riscv_flen)
#define LOCK_FP_CLOBBERS , "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "ft8", "ft9", "ft10", "ft11", \
			   "fa0", "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7"
#else
#define LOCK_FP_CLOBBERS
#endif
#define LOCK_SLOW(fn, a, b, c)                                                                              \
	do {                                                                                                \
		register uintptr_t a0_ __asm__("a0") = (uintptr_t)(a);                                      \
		register uintptr_t a1_ __asm__("a1") = (uintptr_t)(b);                                      \
		register uintptr_t a2_ __asm__("a2") = (uintptr_t)(c);                                      \
                                                                                                            \
		__asm__ volatile("call t0, " #fn "_thunk" : : "r"(a0_), "r"(a1_), "r"(a2_)                  \
				 : "t0", "t1", "memory" LOCK_FP_CLOBBERS);                                  \
	} while (0)
#else
#define LOCK_SLOW_ARGS_mcs_lock_slow(a, b, c) (a, b, c)
#define LOCK_SLOW_ARGS_mcs_unlock_slow(a, b, c) (a, b)
#define LOCK_SLOW_ARGS_ticket_lock_slow(a, b, c) (a, b)
#define LOCK_SLOW_ARGS_ticket_unlock_slow(a, b, c) (a, b)
#define LOCK_SLOW_ARGS_tas_lock_slow(a, b, c) (a)
#define LOCK_SLOW_ARGS_qspin_lock_slow(a, b, c) (a)
#define LOCK_SLOW_ARGS_qspin_unlock_slow(a, b, c) (a)
#define LOCK_SLOW(fn, a, b, c) fn LOCK_SLOW_ARGS_##fn(a, b, c)
#endif

/**
 * mcs_init() - an unlocked MCS lock with zeroed statistics.
 * @l: the lock
 *
 * Context: nobody else uses @l yet.
 */
void mcs_init(struct mcs_lock *l);

/**
 * mcs_lock() - take @l, waiting in FIFO order behind the harts already queued.
 * @l: the lock
 *
 * Uses one of the calling hart's MCS_NEST_MAX nodes until mcs_unlock(); panics beyond that nesting.
 * A waiter spins lock_spin_budget iterations, then sleeps in lock_halt() until the hand-off kicks it.
 * In the kernel a macro for mcs_lock_inline(); the function in lock.c is the same code.
 * Context: any hart with a CLS (host: any thread); locks held at once are released in reverse order.
 */
void mcs_lock(struct mcs_lock *l);

/**
 * mcs_unlock() - release @l, handing it to the first queued hart if any (and kicking it if it sleeps).
 * @l: a lock the calling hart holds (the last MCS lock it took)
 *
 * Gives the hart's node back. With a successor that has swapped the tail but not linked itself yet,
 * waits (spinning) until it has.
 * Context: the holder.
 */
void mcs_unlock(struct mcs_lock *l);

/**
 * mcs_trylock() - take @l only if nobody holds it or is queued for it; never waits.
 * @l: the lock
 *
 * Takes a node as mcs_lock() does (and panics beyond MCS_NEST_MAX as it does), gives it back on failure.
 * Context: as mcs_lock().
 * Return: 1 if the caller now holds @l (release it with mcs_unlock()), else 0.
 */
int mcs_trylock(struct mcs_lock *l);

/**
 * ticket_init() - an unlocked ticket lock (next == owner == 0) with zeroed statistics.
 * @l: the lock
 *
 * Context: nobody else uses @l yet.
 */
void ticket_init(struct ticket_lock *l);

/**
 * ticket_lock() - take a ticket and wait until it is served: FIFO, all waiters on one shared word.
 * @l: the lock
 *
 * A waiter spins lock_spin_budget iterations, then publishes its hart's slot and sleeps in lock_halt()
 * until the unlock that serves its ticket kicks it. No node: ticket locks nest without limit.
 * Context: any hart (index below LOCK_MAX_HARTS); locks held at once are released in any order; not in
 * a trap handler: the one slot per hart relies on a hart waiting for one ticket lock at a time.
 */
void ticket_lock(struct ticket_lock *l);

/**
 * ticket_unlock() - serve the next ticket; kick its hart if some hart sleeps on a ticket lock.
 * @l: a lock the calling hart holds
 *
 * Context: the holder.
 */
void ticket_unlock(struct ticket_lock *l);

/**
 * tas_init() - an unlocked test-and-set lock with zeroed statistics.
 * @l: the lock
 *
 * Context: nobody else uses @l yet.
 */
void tas_init(struct tas_lock *l);

/**
 * tas_lock() - swap 1 in until the old value was 0; no order among waiters, and no sleeping.
 * @l: the lock
 *
 * Context: any hart; nests without limit. Spins only, never sleeps (halts and kicks stay 0).
 */
void tas_lock(struct tas_lock *l);

/**
 * tas_unlock() - release @l (a release store of 0).
 * @l: a lock the calling hart holds
 *
 * Context: the holder.
 */
void tas_unlock(struct tas_lock *l);

/**
 * qspin_init() - an unlocked queued spinlock (word 0) with zeroed statistics.
 * @l: the lock
 *
 * Context: nobody else uses @l yet.
 */
void qspin_init(struct qspin_lock *l);

/**
 * qspin_lock() - take @l: one CAS if it is free and nobody is queued, else the queue (see above).
 * @l: the lock
 *
 * Waiters are served in FIFO order apart from the bounded steals above (none with lock_steal_budget 0).
 * Waiting uses the hart's one qspin node in lock.c, so qspin locks nest without limit.
 * Context: any hart (index below LOCK_MAX_HARTS); not in a trap handler: the one node per hart relies
 * on a hart waiting for one lock at a time.
 */
void qspin_lock(struct qspin_lock *l);

/**
 * qspin_unlock() - release @l: one CAS LOCKED -> 0 if nothing else is in the word, else the slow path
 *                  (clears LOCKED and SLEEPS, keeps the tail and HANDOFF, kicks the head if it slept).
 * @l: a lock the calling hart holds
 *
 * Context: the holder.
 */
void qspin_unlock(struct qspin_lock *l);

/**
 * qspin_trylock() - take @l only if its word is 0: free, unclaimed, nobody queued; never waits.
 * @l: the lock
 *
 * Fails too while the lock is momentarily free but a queue head is about to take it.
 * Context: any hart.
 * Return: 1 if the caller now holds @l (release it with qspin_unlock()), else 0.
 */
int qspin_trylock(struct qspin_lock *l);

/* ---- atomics of the fast paths ---- */

#if defined(__riscv)
/*
 * One instruction where GCC's builtins add a fence: an AMO with .aq orders every later memory access
 * after it, with .rl every earlier one before it, with both it is sequentially consistent. The "memory"
 * clobber keeps the compiler from moving accesses across them as well.
 */

/**
 * mcs_swap_tail() - tail = @n, returning the old tail: amoswap.d.aqrl (see mcs_lock_inline()).
 * @l: the lock
 * @n: the new tail
 *
 * Context: mcs_lock_inline(). Return: the previous tail, NULL if the lock was free.
 */
static inline struct mcs_node *mcs_swap_tail(struct mcs_lock *l, struct mcs_node *n)
{
	struct mcs_node *prev;

	__asm__ volatile("amoswap.d.aqrl %0, %2, %1" : "=r"(prev), "+A"(l->tail) : "r"(n) : "memory");
	return prev;
}

/**
 * mcs_cas_tail_release() - tail = NULL if it is still @n.
 * @l: the lock
 * @n: the holder's node
 *
 * C11's compare-exchange(release, relaxed) in RVWMO's own mapping: lr.d, compare, sc.d.rl (the store, if
 * it happens, is ordered after every earlier access of the hart), retry only on a lost reservation. A
 * failed compare stores nothing and orders nothing. asm goto leaves straight for the caller's slow path.
 *
 * Context: mcs_unlock_inline(). Return: true if the tail was @n (and is now NULL).
 */
static inline bool mcs_cas_tail_release(struct mcs_lock *l, struct mcs_node *n)
{
	struct mcs_node *old;
	unsigned long fail;

	__asm__ goto("1:	lr.d	%0, %2\n"
		     "	bne	%0, %3, %l[differs]\n"
		     "	sc.d.rl	%1, zero, %2\n"
		     "	bnez	%1, 1b"
		     : "=&r"(old), "=&r"(fail), "+A"(l->tail)
		     : "r"(n)
		     : "memory"
		     : differs);
	return true;
differs:
	return false;
}

/**
 * LOCK_CAS32() - the body of a 32-bit compare-and-swap with the ordering bits in @lr and @sc.
 * @p: the word
 * @old: the value expected
 * @v: the value to store
 * @lr: the load-reserved mnemonic ("lr.w" or "lr.w.aq")
 * @sc: the store-conditional mnemonic ("sc.w" or "sc.w.rl")
 *
 * lr.w, compare, sc.w, retry only on a lost reservation; returns (from the function it is the body of)
 * whether *@p was @old (and is now @v). A failed compare stores nothing and orders nothing. asm goto
 * leaves straight for the caller's slow path.
 */
#define LOCK_CAS32(p, old, v, lr, sc)                                                                       \
	do {                                                                                                \
		uint32_t cur_;                                                                              \
		unsigned long fail_;                                                                        \
                                                                                                            \
		__asm__ goto("1:	" lr "	%0, %2\n"                                                    \
			     "	bne	%0, %z3, %l[differs]\n"                                              \
			     "	" sc "	%1, %z4, %2\n"                                                      \
			     "	bnez	%1, 1b"                                                              \
			     : "=&r"(cur_), "=&r"(fail_), "+A"(*(p))                                         \
			     : "rJ"(old), "rJ"(v)                                                             \
			     : "memory"                                                                       \
			     : differs);                                                                      \
		return true;                                                                                \
differs:                                                                                                    \
		return false;                                                                               \
	} while (0)

/**
 * lock_cas32_acquire() - C11's compare-exchange(acquire, relaxed) as RVWMO maps it: lr.w.aq (nothing
 * later is performed before the load that saw @old), sc.w.
 * @p: the word
 * @old: the value expected
 * @v: the value to store
 *
 * Context: any. Return: true if *@p was @old and is now @v.
 */
static inline bool lock_cas32_acquire(uint32_t *p, uint32_t old, uint32_t v)
{
	LOCK_CAS32(p, old, v, "lr.w.aq", "sc.w");
}

/**
 * lock_cas32_release() - compare-exchange(release, relaxed): lr.w, sc.w.rl (the store after all before it).
 * @p: the word
 * @old: the value expected
 * @v: the value to store
 *
 * Context: any. Return: true if *@p was @old and is now @v.
 */
static inline bool lock_cas32_release(uint32_t *p, uint32_t old, uint32_t v)
{
	LOCK_CAS32(p, old, v, "lr.w", "sc.w.rl");
}

/**
 * lock_swap32_aq() - *@p = @v, returning the old value: amoswap.w.aq.
 * @p: the word
 * @v: the value to store
 *
 * Context: any. Return: the value *@p held before.
 */
static inline uint32_t lock_swap32_aq(uint32_t *p, uint32_t v)
{
	uint32_t old;

	__asm__ volatile("amoswap.w.aq %0, %2, %1" : "=r"(old), "+A"(*p) : "r"(v) : "memory");
	return old;
}

/**
 * lock_store32_release() - a release store as one AMO that discards the old value: amoswap.w.rl zero.
 * @p: the word
 * @v: the value to store
 *
 * Context: any.
 */
static inline void lock_store32_release(uint32_t *p, uint32_t v)
{
	__asm__ volatile("amoswap.w.rl zero, %1, %0" : "+A"(*p) : "r"(v) : "memory");
}
#else
static inline struct mcs_node *mcs_swap_tail(struct mcs_lock *l, struct mcs_node *n)
{
	return __atomic_exchange_n(&l->tail, n, __ATOMIC_SEQ_CST);
}

static inline bool mcs_cas_tail_release(struct mcs_lock *l, struct mcs_node *n)
{
	return __atomic_compare_exchange_n(&l->tail, &n, NULL, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static inline bool lock_cas32_acquire(uint32_t *p, uint32_t old, uint32_t v)
{
	return __atomic_compare_exchange_n(p, &old, v, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline bool lock_cas32_release(uint32_t *p, uint32_t old, uint32_t v)
{
	return __atomic_compare_exchange_n(p, &old, v, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static inline uint32_t lock_swap32_aq(uint32_t *p, uint32_t v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_ACQUIRE);
}

static inline void lock_store32_release(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}
#endif

/* ---- the MCS node stack ---- */

/*
 * mcs_node_take() - the calling hart's next free MCS node; panics beyond MCS_NEST_MAX (kernel:
 * mcs_nest_overflow(); host: mcs_node_get()).
 * mcs_node_give() - give back @n, the node last taken (and any taken after it).
 * Context: the calling hart's own stack; no atomics (nobody else touches it).
 */
#if defined(HOST_TEST)
static inline struct mcs_node *mcs_node_take(void)
{
	return mcs_node_get();
}

static inline void mcs_node_give(struct mcs_node *n)
{
	mcs_node_put(n);
}
#else
/*
 * tp as a global register variable rather than __builtin_thread_pointer(): GCC then addresses the slot
 * as MCS_TOP_TP_OFFSET(tp) every time instead of copying tp into a register it must keep across calls.
 * The one declaration of the kernel (GCC allows one variable per register); mm/cpu.h uses it too.
 */
register char *kernel_tp __asm__("tp");

static inline struct mcs_node **mcs_node_top(void)
{
	return (struct mcs_node **)(kernel_tp + MCS_TOP_TP_OFFSET);
}

static inline struct mcs_node *mcs_node_take(void)
{
	struct mcs_node *n = *mcs_node_top();

	if (__builtin_expect((uintptr_t)n & MCS_NODES_SIZE, 0))
		mcs_nest_overflow();
	*mcs_node_top() = n + 1;
	return n;
}

/* @n is the node last taken: giving it back pops it (and any node above it) */
static inline void mcs_node_give(struct mcs_node *n)
{
	*mcs_node_top() = n;
}
#endif

/* ---- fast paths ---- */

/*
 * MCS (Mellor-Crummey & Scott): each waiter enqueues its own node with one atomic swap on the tail and
 * spins on a flag in that node, so a hand-off touches one waiter's cache line and the queue is FIFO.
 *
 *   lock:   node (next == NULL already); prev = swap(tail, node)
 *           prev == NULL -> we own it; else node->locked = 1, prev->next = node, spin while node->locked
 *   unlock: CAS(tail, node -> NULL): done if it worked (nobody queued); else a successor swapped the
 *           tail: wait until it has linked itself into node->next, then next->locked = 0 hands over.
 *
 * The free-lock lock is a swap and a branch; the unlock with nobody queued is an LR/SC pair and needs
 * no read of node->next (when the tail is still our node nobody can have linked behind it).
 */
static inline void mcs_lock_inline(struct mcs_lock *l)
{
	struct mcs_node *n = mcs_node_take(), *prev;

	/*
	 * amoswap.d.aqrl. Release: every earlier write to our node (its next = NULL, made when it was last
	 * released) is visible before a successor can find the node through the tail and link itself in.
	 * Acquire: when the lock was free, nothing of the critical section is performed before we own it;
	 * it pairs with the sc.d.rl of the unlock that emptied the tail.
	 */
	prev = mcs_swap_tail(l, n);
	if (__builtin_expect(prev != NULL, 0)) {
		LOCK_SLOW(mcs_lock_slow, l, n, prev);
		return;
	}
	l->owner = n;
	l->st.acquired++;
}

static inline void mcs_unlock_inline(struct mcs_lock *l)
{
	struct mcs_node *n = l->owner;

	/* release (sc.d.rl): our critical section is visible to the next locker that swaps the tail */
	if (__builtin_expect(!mcs_cas_tail_release(l, n), 0)) {
		LOCK_SLOW(mcs_unlock_slow, l, n, 0);
		return;
	}
	mcs_node_give(n);
}

/* Ticket lock: fetch-and-add a ticket, wait until the owner counter reaches it. FIFO, one shared line. */
static inline void ticket_lock_inline(struct ticket_lock *l)
{
	/* relaxed: taking a ticket orders nothing; the acquire load below does. (amoadd.w) */
	uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	/* acquire: pairs with the release store in ticket_unlock(). */
	if (__builtin_expect(__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me, 0))
		LOCK_SLOW(ticket_lock_slow, l, me, 0);
	l->st.acquired++;
}

/*
 * Ticket waiters that sleep publish a per-hart slot and count themselves in ticket_halted (lock.c); an
 * unlock that sees the count non-zero looks for the waiter whose turn it is now and kicks it
 * (ticket_unlock_slow()).
 */
extern uint32_t ticket_halted;

static inline void ticket_unlock_inline(struct ticket_lock *l)
{
	/* only the holder writes owner, so a plain read is exact; release publishes the critical section. */
	uint32_t owner = l->owner + 1;

	lock_store32_release(&l->owner, owner);
	/*
	 * fence rw,rw (Dekker, with the one in ticket_halt()): our store of owner is ordered before our
	 * load of ticket_halted; a sleeping waiter stores its slot and the count, fences, then loads
	 * owner. Either it sees our owner (and does not sleep) or we see its count (and kick it).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(__atomic_load_n(&ticket_halted, __ATOMIC_RELAXED) != 0, 0))
		LOCK_SLOW(ticket_unlock_slow, l, owner, 0);
}

/* Test-and-test-and-set: swap 1 in; while it was held, spin on plain loads (no bus writes) and retry. */
static inline void tas_lock_inline(struct tas_lock *l)
{
	/* acquire swap (amoswap.w.aq): nothing of the critical section moves before we own the lock. */
	if (__builtin_expect(lock_swap32_aq(&l->held, 1) != 0, 0))
		LOCK_SLOW(tas_lock_slow, l, 0, 0);
	l->st.acquired++;
}

static inline void tas_unlock_inline(struct tas_lock *l)
{
	/* release: the critical section is visible before the lock looks free. */
	lock_store32_release(&l->held, 0);
}

/*
 * Queued spinlock: the free lock is taken by one CAS 0 -> LOCKED (acquire: pairs with the release of
 * the unlock that freed it), which fails whenever anybody is queued (the tail bits), so a newcomer
 * never passes a queue on the fast path; the slow path decides whether it may (lock_steal_budget).
 */
static inline void qspin_lock_inline(struct qspin_lock *l)
{
	if (__builtin_expect(!lock_cas32_acquire(&l->word, 0, QSPIN_LOCKED), 0))
		LOCK_SLOW(qspin_lock_slow, l, 0, 0);
	l->st.acquired++;
}

/* release (sc.w.rl): the critical section is visible before the lock looks free; any other bit -> slow */
static inline void qspin_unlock_inline(struct qspin_lock *l)
{
	if (__builtin_expect(!lock_cas32_release(&l->word, QSPIN_LOCKED, 0), 0))
		LOCK_SLOW(qspin_unlock_slow, l, 0, 0);
}

#if !defined(HOST_TEST)
#define mcs_lock(l) mcs_lock_inline(l)
#define mcs_unlock(l) mcs_unlock_inline(l)
#define ticket_lock(l) ticket_lock_inline(l)
#define ticket_unlock(l) ticket_unlock_inline(l)
#define tas_lock(l) tas_lock_inline(l)
#define tas_unlock(l) tas_unlock_inline(l)
#define qspin_lock(l) qspin_lock_inline(l)
#define qspin_unlock(l) qspin_unlock_inline(l)
#endif

/*
 * spinlock_t, spin_init(), spin_lock(), spin_unlock() - the heaps' lock: the kind LOCK= selects at build
 * time (-DLOCK_KIND_mcs|qspin|ticket|tas; MCS when none is defined), with that kind's contract above.
 * LOCK_KIND_NAME names it.
 */
#if defined(LOCK_KIND_ticket)
typedef struct ticket_lock spinlock_t;
#define LOCK_KIND_NAME "ticket"
#define spin_init ticket_init
#define spin_lock ticket_lock
#define spin_unlock ticket_unlock
#elif defined(LOCK_KIND_qspin)
typedef struct qspin_lock spinlock_t;
#define LOCK_KIND_NAME "qspin"
#define spin_init qspin_init
#define spin_lock qspin_lock
#define spin_unlock qspin_unlock
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

/**
 * spin_stats() - the statistics of any of the four lock kinds.
 * @l: a pointer to a lock of any kind (every kind has its struct lock_stats in st)
 *
 * Context: any; read them under the lock for exact values (the holder writes them without atomics).
 * Return: a pointer to @l's struct lock_stats.
 */
#define spin_stats(l) (&(l)->st)

/**
 * enum lock_kind - the four kinds, for struct any_lock; LOCK_NKINDS counts them.
 */
enum lock_kind { LOCK_MCS, LOCK_QSPIN, LOCK_TICKET, LOCK_TAS, LOCK_NKINDS };

/**
 * struct any_lock - one lock of a kind chosen at run time, for the tests and benchmarks that run the same
 * body under each kind. Not for the kernel's own locks: the switch costs a few instructions per call.
 * @kind: which member of the union is the lock (set by any_lock_init())
 * @mcs: the lock if @kind is LOCK_MCS
 * @qspin: the lock if @kind is LOCK_QSPIN
 * @ticket: the lock if @kind is LOCK_TICKET
 * @tas: the lock for any other @kind
 */
struct any_lock {
	enum lock_kind kind;
	union {
		struct mcs_lock mcs;
		struct qspin_lock qspin;
		struct ticket_lock ticket;
		struct tas_lock tas;
	};
};

/**
 * lock_kind_name() - the name of a lock kind.
 * @k: the kind
 *
 * Context: any.
 * Return: "mcs", "qspin", "ticket" or "tas"; "?" for a value that is no kind.
 */
static inline const char *lock_kind_name(enum lock_kind k)
{
	static const char *const names[LOCK_NKINDS] = { "mcs", "qspin", "ticket", "tas" };

	return k < LOCK_NKINDS ? names[k] : "?";
}

/*
 * ANY_LOCK_CALL() - the one dispatch of any_lock_init(), any_lock() and any_unlock(): <kind>_@op() on the
 * union member of @kind, for example qspin_lock(&@l->qspin). The calls stay direct (in the kernel the
 * inline fast paths), so any_lock() costs only the switch over the kind's own lock.
 */
#define ANY_LOCK_CALL(l, kind, op)                                                                          \
	do {                                                                                                \
		switch (kind) {                                                                             \
		case LOCK_MCS: mcs_##op(&(l)->mcs); break;                                                  \
		case LOCK_QSPIN: qspin_##op(&(l)->qspin); break;                                            \
		case LOCK_TICKET: ticket_##op(&(l)->ticket); break;                                         \
		default: tas_##op(&(l)->tas); break;                                                        \
		}                                                                                           \
	} while (0)

/**
 * any_lock_init() - set @l's kind and initialise that lock (the kind's *_init()).
 * @l: the lock
 * @k: its kind; a value that is no kind makes it a test-and-set lock
 *
 * Context: nobody else uses @l yet.
 */
static inline void any_lock_init(struct any_lock *l, enum lock_kind k)
{
	l->kind = k;
	ANY_LOCK_CALL(l, k, init);
}

/**
 * any_lock() - take @l with its kind's lock function.
 * @l: a lock set up by any_lock_init()
 *
 * Context: that kind's (mcs_lock(), qspin_lock(), ticket_lock(), tas_lock()).
 */
static inline void any_lock(struct any_lock *l)
{
	ANY_LOCK_CALL(l, l->kind, lock);
}

/**
 * any_unlock() - release @l with its kind's unlock function.
 * @l: a lock the calling hart holds
 *
 * Context: the holder.
 */
static inline void any_unlock(struct any_lock *l)
{
	ANY_LOCK_CALL(l, l->kind, unlock);
}

/**
 * any_lock_stats() - its statistics, wherever the kind keeps them.
 * @l: a lock set up by any_lock_init()
 *
 * Context: any; exact under the lock, as spin_stats().
 * Return: a pointer to the kind's struct lock_stats.
 */
static inline struct lock_stats *any_lock_stats(struct any_lock *l)
{
	switch (l->kind) {
	case LOCK_MCS: return &l->mcs.st;
	case LOCK_QSPIN: return &l->qspin.st;
	case LOCK_TICKET: return &l->ticket.st;
	default: return &l->tas.st;
	}
}

/**
 * cpu_relax() - the body of every spin loop.
 *
 * On RISC-V, Zihintpause's "pause" (encoded as a FENCE hint, a no-op on harts without it), with a
 * "memory" clobber so that the loop re-loads what it spins on. In host tests threads outnumber cores,
 * and a FIFO lock whose next owner is descheduled stalls everyone behind it (the vCPU-preemption
 * problem), so yield instead.
 *
 * Context: any.
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
