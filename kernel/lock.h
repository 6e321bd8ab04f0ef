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
 *
 * lock_halt() - sleep until a kick arrives (or spuriously), then forget the kick: wfi, then clear
 *               SIP.SSIP. A kick sent before the call makes it return at once. Callers loop on their
 *               condition. Context: the caller has published, then fenced, that it sleeps.
 * lock_kick() - wake hart @hart out of lock_halt() (or make its next lock_halt() return at once).
 */
void lock_halt(void);
void lock_kick(unsigned hart);

/*
 * The embedding's other two services, so that the lock needs nothing from mm/ (mm/ uses the lock, not the
 * reverse): lock_self() - the calling hart's index, below LOCK_MAX_HARTS; lock_clock() - monotonic ticks
 * for the wait statistics (the time CSR in the kernel, ns on the host).
 */
#define LOCK_MAX_HARTS 128
unsigned lock_self(void);
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
 *     next; once it has spun lock_spin_budget iterations it sets SLEEPS, gives the claim up and
 *     halts, and the unlock that sees SLEEPS clears it and kicks the head (head_hart), which then
 *     claims again. Only the head ever sleeps on the word; the others sleep on their nodes, as MCS;
 *   - while no head claims the lock (it sleeps, or the next head is still waking up), a running hart
 *     that finds the lock free may take it ahead of the queue ("steal", up to lock_steal_budget
 *     iterations before it queues): no sleeping or descheduled hart sits on the critical path. The
 *     unfairness is bounded: a head that runs when the lock is released is served by that release.
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
struct mcs_node *mcs_node_get(void);
void mcs_node_put(struct mcs_node *n);
#endif

/* mcs_nest_overflow() - the hart asked for a node beyond MCS_NEST_MAX: panic (kernel only). */
void mcs_nest_overflow(void) __attribute__((noreturn, cold));

/* the slow halves, out of line in lock.c: wait for a held lock, hand the lock to a queued successor */
void mcs_lock_slow(struct mcs_lock *l, struct mcs_node *n, struct mcs_node *prev);
void mcs_unlock_slow(struct mcs_lock *l, struct mcs_node *n);
void ticket_lock_slow(struct ticket_lock *l, unsigned long me);	/* me: a ticket, zero-extended */
void ticket_unlock_slow(struct ticket_lock *l, unsigned long owner);	/* owner: the ticket now served */
void tas_lock_slow(struct tas_lock *l);
void qspin_lock_slow(struct qspin_lock *l);
void qspin_unlock_slow(struct qspin_lock *l);

/*
 * LOCK_SLOW() - call one of the slow halves above from a fast path: fn(a, b, c), extra arguments ignored.
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
 * Context: any hart with a CLS; locks held at once are released in reverse order.
 */
void mcs_lock(struct mcs_lock *l);

/**
 * mcs_unlock() - release @l, handing it to the first queued hart if any.
 * @l: a lock the calling hart holds (the last MCS lock it took)
 *
 * Context: the holder.
 */
void mcs_unlock(struct mcs_lock *l);

/**
 * mcs_trylock() - take @l only if it is free.
 * @l: the lock
 *
 * Context: as mcs_lock(). Return: 1 if the caller now holds @l (release it with mcs_unlock()), else 0.
 */
int mcs_trylock(struct mcs_lock *l);

/* ticket_*(), tas_*(): the same contract as mcs_init(), mcs_lock() and mcs_unlock(), without nodes. */
void ticket_init(struct ticket_lock *l);
void ticket_lock(struct ticket_lock *l);
void ticket_unlock(struct ticket_lock *l);

void tas_init(struct tas_lock *l);
void tas_lock(struct tas_lock *l);
void tas_unlock(struct tas_lock *l);

/* qspin_*(): the same contract too; waiters are served in FIFO order apart from the bounded steals above. */
void qspin_init(struct qspin_lock *l);
void qspin_lock(struct qspin_lock *l);
void qspin_unlock(struct qspin_lock *l);
int qspin_trylock(struct qspin_lock *l);

/* ---- atomics of the fast paths ---- */

#if defined(__riscv)
/*
 * One instruction where GCC's builtins add a fence: an AMO with .aq orders every later memory access
 * after it, with .rl every earlier one before it, with both it is sequentially consistent. The "memory"
 * clobber keeps the compiler from moving accesses across them as well.
 */

/* mcs_swap_tail() - tail = @n, returning the old tail: amoswap.d.aqrl (see mcs_lock_inline()). */
static inline struct mcs_node *mcs_swap_tail(struct mcs_lock *l, struct mcs_node *n)
{
	struct mcs_node *prev;

	__asm__ volatile("amoswap.d.aqrl %0, %2, %1" : "=r"(prev), "+A"(l->tail) : "r"(n) : "memory");
	return prev;
}

/*
 * mcs_cas_tail_release() - tail = NULL if it is still @n; true if it was. C11's compare-exchange(release,
 * relaxed) in RVWMO's own mapping: lr.d, compare, sc.d.rl (the store, if it happens, is ordered after
 * every earlier access of the hart), retry only on a lost reservation. A failed compare stores nothing
 * and orders nothing. asm goto leaves straight for the caller's slow path.
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

/*
 * LOCK_CAS32() - the body of a 32-bit compare-and-swap with the ordering bits in @lr and @sc: lr.w,
 * compare, sc.w, retry only on a lost reservation; returns whether *@p was @old (and is now @v). A
 * failed compare stores nothing and orders nothing. asm goto leaves straight for the caller's slow path.
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

/*
 * lock_cas32_acquire() - C11's compare-exchange(acquire, relaxed) as RVWMO maps it: lr.w.aq (nothing
 * later is performed before the load that saw @old), sc.w.
 */
static inline bool lock_cas32_acquire(uint32_t *p, uint32_t old, uint32_t v)
{
	LOCK_CAS32(p, old, v, "lr.w.aq", "sc.w");
}

/* lock_cas32_release() - compare-exchange(release, relaxed): lr.w, sc.w.rl (the store after all before it). */
static inline bool lock_cas32_release(uint32_t *p, uint32_t old, uint32_t v)
{
	LOCK_CAS32(p, old, v, "lr.w", "sc.w.rl");
}

/* lock_swap32_aq() - *@p = @v, returning the old value: amoswap.w.aq. */
static inline uint32_t lock_swap32_aq(uint32_t *p, uint32_t v)
{
	uint32_t old;

	__asm__ volatile("amoswap.w.aq %0, %2, %1" : "=r"(old), "+A"(*p) : "r"(v) : "memory");
	return old;
}

/* lock_store32_release() - a release store as one AMO that discards the old value: amoswap.w.rl zero. */
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

/* spin_stats() - the statistics of any of the four lock kinds (read them under the lock for exact values). */
#define spin_stats(l) (&(l)->st)

/*
 * any_lock: one lock of a kind chosen at run time, for the tests and benchmarks that run the same body
 * under each kind. Not for the kernel's own locks: the switch costs a few instructions per call.
 */
enum lock_kind { LOCK_MCS, LOCK_QSPIN, LOCK_TICKET, LOCK_TAS, LOCK_NKINDS };

struct any_lock {
	enum lock_kind kind;
	union {
		struct mcs_lock mcs;
		struct qspin_lock qspin;
		struct ticket_lock ticket;
		struct tas_lock tas;
	};
};

/* lock_kind_name() - "mcs", "qspin", "ticket" or "tas" */
static inline const char *lock_kind_name(enum lock_kind k)
{
	static const char *const names[LOCK_NKINDS] = { "mcs", "qspin", "ticket", "tas" };

	return k < LOCK_NKINDS ? names[k] : "?";
}

static inline void any_lock_init(struct any_lock *l, enum lock_kind k)
{
	l->kind = k;
	switch (k) {
	case LOCK_MCS: mcs_init(&l->mcs); break;
	case LOCK_QSPIN: qspin_init(&l->qspin); break;
	case LOCK_TICKET: ticket_init(&l->ticket); break;
	default: tas_init(&l->tas); break;
	}
}

static inline void any_lock(struct any_lock *l)
{
	switch (l->kind) {
	case LOCK_MCS: mcs_lock(&l->mcs); break;
	case LOCK_QSPIN: qspin_lock(&l->qspin); break;
	case LOCK_TICKET: ticket_lock(&l->ticket); break;
	default: tas_lock(&l->tas); break;
	}
}

static inline void any_unlock(struct any_lock *l)
{
	switch (l->kind) {
	case LOCK_MCS: mcs_unlock(&l->mcs); break;
	case LOCK_QSPIN: qspin_unlock(&l->qspin); break;
	case LOCK_TICKET: ticket_unlock(&l->ticket); break;
	default: tas_unlock(&l->tas); break;
	}
}

/* any_lock_stats() - its statistics, wherever the kind keeps them */
static inline struct lock_stats *any_lock_stats(struct any_lock *l)
{
	switch (l->kind) {
	case LOCK_MCS: return &l->mcs.st;
	case LOCK_QSPIN: return &l->qspin.st;
	case LOCK_TICKET: return &l->ticket.st;
	default: return &l->tas.st;
	}
}

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
