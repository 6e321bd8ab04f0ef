/* lock.c - MCS, ticket and test-and-set spinlocks; every ordering bit is explained where it is used. */
#include <stddef.h>

#include "kernel/lock.h"

#if !defined(HOST_TEST)
#include "kernel/printk.h"

void mcs_nest_overflow(void)
{
	panic("MCS nesting deeper than %d", MCS_NEST_MAX);
}

/*
 * The slow halves' register-preserving entries (see LOCK_SLOW() in lock.h): reached with
 * "call t0, <fn>_thunk", they save ra, t0-t6 and a0-a7 (16 registers, keeping sp 16-byte aligned), call
 * the C function with a0-a2 as they came, restore everything and return through t0.
 */
__asm__(".macro lock_thunk fn\n"
	"	.pushsection .text.\\fn\\()_thunk, \"ax\", @progbits\n"
	"	.globl \\fn\\()_thunk\n"
	"	.type \\fn\\()_thunk, @function\n"
	"	.p2align 2\n"
	"\\fn\\()_thunk:\n"
	"	addi sp, sp, -128\n"
	"	sd ra, 0(sp)\n	sd t0, 8(sp)\n	sd t1, 16(sp)\n	sd t2, 24(sp)\n"
	"	sd a0, 32(sp)\n	sd a1, 40(sp)\n	sd a2, 48(sp)\n	sd a3, 56(sp)\n"
	"	sd a4, 64(sp)\n	sd a5, 72(sp)\n	sd a6, 80(sp)\n	sd a7, 88(sp)\n"
	"	sd t3, 96(sp)\n	sd t4, 104(sp)\n	sd t5, 112(sp)\n	sd t6, 120(sp)\n"
	"	call \\fn\n"
	"	ld ra, 0(sp)\n	ld t0, 8(sp)\n	ld t1, 16(sp)\n	ld t2, 24(sp)\n"
	"	ld a0, 32(sp)\n	ld a1, 40(sp)\n	ld a2, 48(sp)\n	ld a3, 56(sp)\n"
	"	ld a4, 64(sp)\n	ld a5, 72(sp)\n	ld a6, 80(sp)\n	ld a7, 88(sp)\n"
	"	ld t3, 96(sp)\n	ld t4, 104(sp)\n	ld t5, 112(sp)\n	ld t6, 120(sp)\n"
	"	addi sp, sp, 128\n"
	"	jr t0\n"
	"	.size \\fn\\()_thunk, . - \\fn\\()_thunk\n"
	"	.popsection\n"
	".endm\n"
	"lock_thunk mcs_lock_slow\n"
	"lock_thunk mcs_unlock_slow\n"
	"lock_thunk ticket_lock_slow\n"
	"lock_thunk ticket_unlock_slow\n"
	"lock_thunk tas_lock_slow\n"
	"lock_thunk qspin_lock_slow\n"
	"lock_thunk qspin_unlock_slow\n"
	".purgem lock_thunk\n");
#endif

uint32_t lock_spin_budget = LOCK_SPIN_DEFAULT;
uint32_t lock_steal_budget = LOCK_STEAL_DEFAULT;

/* wait_done() - the statistics of one contended acquisition; the caller now holds the lock. */
static inline void wait_done(struct lock_stats *st, uint64_t t0, uint64_t spins, uint64_t halts,
			     uint64_t kicks)
{
	uint64_t w = lock_clock() - t0;

	st->contended++;
	st->spins += spins;
	st->halts += halts;
	st->kicks += kicks;
	st->wait_total += w;
	if (w > st->wait_max)
		st->wait_max = w;
}

void mcs_init(struct mcs_lock *l)
{
	l->tail = NULL;
	l->owner = NULL;
	l->st = (struct lock_stats){ 0 };
}

/* The MCS algorithm and its fast paths are in lock.h (mcs_lock_inline()); these are its waiting halves. */

/*
 * Halting MCS waiters. The waiter's locked word carries its state: WAITING while it spins, HALTED once
 * it sleeps, GRANTED (0) once the lock is its. Both transitions that matter are atomic on that one word:
 * the waiter goes to sleep with a compare-and-swap WAITING -> HALTED, the releaser hands over with a
 * swap that returns the old state. They are ordered in the word's coherence order, so exactly one of
 * two things happens:
 *   - the hand-off came first: the CAS fails (it reads GRANTED) and the waiter never sleeps;
 *   - the CAS came first: the releaser's swap returns HALTED and it kicks the waiter's hart.
 * No lost wake-up, and no fence beyond the two AMOs: a Dekker pair (store state; fence rw,rw; load
 * locked / store locked; fence rw,rw; load state) gives the same guarantee with two words, but then the
 * releaser cannot know whether the waiter will count the kick, and the kick count would have to be
 * written after the hand-off, into a lock the new holder may already have freed. Here the waiter whose
 * CAS succeeded knows it is kicked exactly once and counts it itself, as the holder. The releaser reads
 * nothing of the lock after the swap, only the waiter's node (CLS memory, never freed) before it.
 *
 * A kick may arrive late (after the waiter saw GRANTED on a spurious wake) and wake a later wait of the
 * same hart: every wait loops on its own condition, so that wait sleeps again.
 */
static bool __attribute__((noinline)) mcs_halt(struct mcs_node *n)
{
	uint32_t w = MCS_WAITING;

	/*
	 * acquire: on failure we read GRANTED, the releaser's swap (release), and now hold the lock (C11
	 * wants the success order at least as strong; on success only this word's coherence order, above,
	 * matters).
	 */
	if (!__atomic_compare_exchange_n(&n->locked, &w, MCS_HALTED, 0, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
		return false;
	/* acquire: pairs with the releaser's swap, as the spin loop's load */
	while (__atomic_load_n(&n->locked, __ATOMIC_ACQUIRE) != MCS_GRANTED)
		lock_halt();
	return true;
}

/* the contended half of mcs_lock(): @prev held or was queued for the lock when our swap made @n the tail */
void mcs_lock_slow(struct mcs_lock *l, struct mcs_node *n, struct mcs_node *prev)
{
	uint64_t t0 = lock_clock(), spins = 0, budget = __atomic_load_n(&lock_spin_budget, __ATOMIC_RELAXED);
	bool halted = false;

	/* plain: nobody reads our flag or hart before it finds the node through prev->next, published below */
	n->locked = MCS_WAITING;
	n->hart = lock_self();
	/* release: publishes n->locked and n->hart before the predecessor can read them. */
	__atomic_store_n(&prev->next, n, __ATOMIC_RELEASE);
	/* acquire: pairs with the release hand-off in mcs_unlock_slow(); the previous holder's critical
	 * section happens before ours. */
	while (__atomic_load_n(&n->locked, __ATOMIC_ACQUIRE) != MCS_GRANTED) {
		if (spins >= budget) {
			halted = mcs_halt(n);
			break;
		}
		spins++, cpu_relax();
	}
	/* a successful halt is kicked exactly once (see mcs_halt()): halts and kicks move together */
	wait_done(&l->st, t0, spins, halted, halted);
	l->owner = n;
	l->st.acquired++;
}

/* the hand-off half of mcs_unlock(): the tail moved past our node @n, so a successor is (being) queued */
void mcs_unlock_slow(struct mcs_lock *l, struct mcs_node *n)
{
	struct mcs_node *next;
	uint32_t hart;

	/*
	 * acquire: the successor's release store of our next published its node's locked and hart first,
	 * so our hand-off below cannot be overwritten by it. Between its swap of the tail and that store it
	 * is not linked yet: wait.
	 */
	while (!(next = __atomic_load_n(&n->next, __ATOMIC_ACQUIRE)))
		cpu_relax();
	/* plain: the successor wrote next once and nobody else will; free nodes keep next == NULL (lock.h) */
	n->next = NULL;
	hart = next->hart;
	/*
	 * release (amoswap.w.rl): hands over the lock; our critical section and the store above happen
	 * before the successor's critical section. The old value says whether the successor sleeps (see
	 * mcs_halt() for why this swap and its CAS cannot miss each other).
	 */
	if (__atomic_exchange_n(&next->locked, MCS_GRANTED, __ATOMIC_RELEASE) == MCS_HALTED)
		lock_kick(hart);
	mcs_node_give(n);
}

void (mcs_lock)(struct mcs_lock *l)
{
	mcs_lock_inline(l);
}

void (mcs_unlock)(struct mcs_lock *l)
{
	mcs_unlock_inline(l);
}

int mcs_trylock(struct mcs_lock *l)
{
	struct mcs_node *n = mcs_node_take(), *expect = NULL;

	/*
	 * acq_rel on success: as the swap in mcs_lock_inline() (our node's next == NULL is visible before a
	 * successor can link to it; nothing of the critical section moves up); relaxed on failure: we
	 * touched nothing shared, and the node goes back unchanged.
	 */
	if (!__atomic_compare_exchange_n(&l->tail, &expect, n, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		mcs_node_give(n);
		return 0;
	}
	l->owner = n;
	l->st.acquired++;
	return 1;
}

void ticket_init(struct ticket_lock *l)
{
	l->next = 0;
	l->owner = 0;
	l->st = (struct lock_stats){ 0 };
}

/*
 * Halting ticket waiters. All waiters watch the one owner word, so the unlocker cannot swap a state out
 * of a waiter's word as MCS does. Instead a waiter that has spun its budget publishes a per-hart slot
 * "hart i sleeps on lock l for ticket t" and counts itself in ticket_halted; the unlock that moves owner
 * to t kicks the hart whose slot holds (l, t). Ordering (Dekker, the two fences):
 *   waiter:   slot = (l, t); ticket_halted++; fence rw,rw; load owner; sleep only while owner != t
 *   unlocker: store owner;   fence rw,rw; load ticket_halted; if non-zero, load the slots and kick
 * The fences make each side's store visible before its load, so at least one side sees the other's:
 * either the waiter sees the new owner (and does not sleep) or the unlocker sees the slot (and kicks).
 * Woken for any reason, the waiter re-loads owner and sleeps again while it is not its turn.
 *
 * Why not let the next in line spin (and kick t when owner becomes t - 1, ahead of its turn)? Measured
 * at 128 harts on a loaded 2-core host: that spinner took a host core from the holder, and a run of
 * sleeping-at-once hand-overs did 3128 acquisitions in 10 s, against about 20000 for MCS, whose queue
 * has no spinner. A waiter that sleeps only after its budget of spins keeps short waits cheap anyway.
 *
 * The unlocker compares slot.lock with its lock's address but never dereferences the lock after
 * releasing it. Kicks are counted in the kicked hart's slot and moved into the lock's statistics by that
 * hart once it holds the lock, whether it slept or not (it may see its turn come right after publishing
 * the slot, and still be kicked: the kick was sent). A kick whose scan saw the slot just before the
 * waiter left it may be added after that exchange, and so to the hart's next sleeping acquisition.
 */
struct ticket_slot {
	struct ticket_lock *lock;	/* NULL: this hart does not sleep on a ticket lock */
	uint32_t ticket;
	uint32_t kicks;			/* kicks sent to this hart, not yet counted in a lock's statistics */
} __attribute__((aligned(64)));

static struct ticket_slot ticket_slots[LOCK_MAX_HARTS];
uint32_t ticket_halted;			/* harts with a published slot: non-zero sends unlocks to the scan */
static uint32_t ticket_slots_used;	/* 1 + the highest slot index ever published */

static bool __attribute__((noinline)) ticket_halt(struct ticket_lock *l, uint32_t me)
{
	unsigned self = lock_self();
	struct ticket_slot *s = &ticket_slots[self];
	uint32_t used = __atomic_load_n(&ticket_slots_used, __ATOMIC_RELAXED);
	bool slept = false;

	while (used <= self && !__atomic_compare_exchange_n(&ticket_slots_used, &used, self + 1, 1,
							     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	/* relaxed stores: the fence below orders them (and the count) before our load of owner */
	__atomic_store_n(&s->ticket, me, __ATOMIC_RELAXED);
	__atomic_store_n(&s->lock, l, __ATOMIC_RELAXED);
	__atomic_fetch_add(&ticket_halted, 1, __ATOMIC_RELAXED);
	/*
	 * fence rw,rw (Dekker, with the one in ticket_unlock_inline()): the slot and the count are visible
	 * before we load owner; an unlocker stores owner, fences, then loads the count and the slots.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* acquire: when owner is ours, pairs with the unlocker's release store, as in ticket_lock_slow() */
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me) {
		slept = true;
		lock_halt();
	}
	/* relaxed: leaving the slot needs no order; an unlocker that still sees it kicks us spuriously */
	__atomic_store_n(&s->lock, NULL, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&ticket_halted, 1, __ATOMIC_RELAXED);
	return slept;
}

void ticket_lock_slow(struct ticket_lock *l, unsigned long me)
{
	uint64_t t0 = lock_clock(), spins = 0, halts = 0, kicks = 0;
	uint64_t budget = __atomic_load_n(&lock_spin_budget, __ATOMIC_RELAXED);

	/* acquire: pairs with the release store in ticket_unlock(). */
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != (uint32_t)me) {
		if (spins >= budget) {
			/* returns once owner == me (its acquire load orders our critical section) */
			halts = ticket_halt(l, (uint32_t)me);
			kicks = __atomic_exchange_n(&ticket_slots[lock_self()].kicks, 0, __ATOMIC_RELAXED);
			break;
		}
		spins++, cpu_relax();
	}
	wait_done(&l->st, t0, spins, halts, kicks);
}

/* the kick half of ticket_unlock(): some hart sleeps on a ticket lock; wake the one whose turn @owner is */
void ticket_unlock_slow(struct ticket_lock *l, unsigned long owner)
{
	uint32_t want = (uint32_t)owner;
	unsigned i, used = __atomic_load_n(&ticket_slots_used, __ATOMIC_RELAXED);

	for (i = 0; i < used; i++) {
		struct ticket_slot *s = &ticket_slots[i];

		/* relaxed: ordered after our store of owner by the fence in ticket_unlock_inline() */
		if (__atomic_load_n(&s->lock, __ATOMIC_RELAXED) != l ||
		    __atomic_load_n(&s->ticket, __ATOMIC_RELAXED) != want)
			continue;
		__atomic_fetch_add(&s->kicks, 1, __ATOMIC_RELAXED);
		lock_kick(i);
		break;		/* one ticket, one waiter */
	}
}

void (ticket_lock)(struct ticket_lock *l)
{
	ticket_lock_inline(l);
}

void (ticket_unlock)(struct ticket_lock *l)
{
	ticket_unlock_inline(l);
}

void tas_init(struct tas_lock *l)
{
	l->held = 0;
	l->st = (struct lock_stats){ 0 };
}

void tas_lock_slow(struct tas_lock *l)
{
	uint64_t t0 = lock_clock(), spins = 0;

	do {
		/* relaxed: only a hint that the swap may now succeed; the swap orders. */
		while (__atomic_load_n(&l->held, __ATOMIC_RELAXED))
			spins++, cpu_relax();
		/* acquire swap: as in tas_lock_inline() */
	} while (lock_swap32_aq(&l->held, 1));
	wait_done(&l->st, t0, spins, 0, 0);
}

void (tas_lock)(struct tas_lock *l)
{
	tas_lock_inline(l);
}

void (tas_unlock)(struct tas_lock *l)
{
	tas_unlock_inline(l);
}

/*
 * Queued spinlock (see lock.h for the word). A waiter's way through qspin_lock_slow():
 *   1. steal: while the head does not claim the lock (no HANDOFF), spin up to lock_steal_budget
 *      iterations taking the lock the moment it is free, tail or no tail (never with budget 0);
 *   2. queue: put its hart in the tail (CAS on the word); with a predecessor, link behind it and wait on
 *      its own node until the predecessor makes it the head: spin, then sleep (mcs_halt(), as MCS);
 *   3. head: set HANDOFF (the next release is ours) and spin until the lock is free; after
 *      lock_spin_budget iterations set SLEEPS, drop HANDOFF on its first sleep as the head (never if
 *      lock_steal_budget is 0: strict FIFO), and sleep until the unlock kicks it; then claim and spin
 *      again, and keep the claim through any later sleep;
 *   4. owner: if others queued behind it, make the next one the head (an MCS hand-off of the node).
 * This is Linux's pv qspinlock hybrid: steals happen only while the head is not running (asleep, or
 * being woken, or not yet woken as the new head), which is exactly when a FIFO hand-off would stall.
 * Bound: a head that runs when the lock is released is served by that release, and steals pass a head
 * during one of its sleeps at most (from its first sleep to its wake-up after the kick): after that it
 * keeps HANDOFF asleep too, and the lock waits for it. Measured on a 2-core host (MTTCG, newlib behind
 * qspin, 5 and 6 contention boots on 2026-12-03): with a claim dropped at every sleep the fairness
 * (busiest hart over idlest) reached 6.26 at 4 harts and 14.79 at 2, 2 boots of 6 over 4 at 4 harts;
 * dropped at the first sleep only, at most 3.59 and 2.88, for throughput against TAS of 1.01-1.57x at
 * 4 harts and 1.15-1.96x at 8 (1.46-1.78x and 1.48-2.36x before).
 * Statistics: halts counts acquisitions that slept (on the node, as the head, or both), kicks the
 * wake-ups they got (each sleep is kicked exactly once; a head may sleep more than once), steals the
 * acquisitions that passed a queue.
 * One node per hart: a hart is in at most one queue (it waits for one lock at a time, and no lock is
 * taken in a trap), and it leaves the queue in step 3, before its critical section.
 */
static struct mcs_node qspin_nodes[LOCK_MAX_HARTS];

static inline struct mcs_node *qspin_node(uint32_t w)
{
	return &qspin_nodes[(w >> QSPIN_TAIL_SHIFT) - 1];
}

void qspin_init(struct qspin_lock *l)
{
	l->word = 0;
	l->head_hart = 0;
	l->st = (struct lock_stats){ 0 };
}

int qspin_trylock(struct qspin_lock *l)
{
	/* acquire on success, as the fast path; a queue (tail bits) or a holder makes it fail */
	if (!lock_cas32_acquire(&l->word, 0, QSPIN_LOCKED))
		return 0;
	l->st.acquired++;
	return 1;
}

/*
 * qspin_steal() - step 1: take the lock while it is free and unclaimed, ahead of any queue, looking
 * once and then for up to @budget spins. Acquire on success (pairs with the releasing unlock). True if
 * we hold it.
 */
static bool qspin_steal(struct qspin_lock *l, uint64_t budget, uint64_t *spins)
{
	uint32_t w;

	for (;;) {
		w = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
		if (w & QSPIN_HANDOFF)
			return false;
		if (!(w & QSPIN_LOCKED)) {
			if (__atomic_compare_exchange_n(&l->word, &w, w | QSPIN_LOCKED, 0, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED)) {
				if (w >> QSPIN_TAIL_SHIFT)
					l->st.steals++;	/* we hold it: the statistics are ours */
				return true;
			}
			continue;
		}
		if (*spins >= budget)
			return false;
		(*spins)++, cpu_relax();
	}
}

/*
 * A waiter queued behind the head spins lock_spin_budget >> QSPIN_NODE_SPIN_SHIFT iterations before it
 * sleeps; the head spins the whole budget. Measured on a 2-core host (MTTCG contention boots, 7 pairs
 * interleaved, 2026-12-03): the heap behind qspin at 8 harts did 450-588 K ops/s (median 524 K) with a
 * sixteenth, 472-528 K (median 486 K) with the whole budget, and newlib behind qspin over TAS at 8 harts
 * 1.54-1.86x (median 1.71) against 1.42-1.82x (median 1.53); 2 and 4 harts did not move.
 */
#define QSPIN_NODE_SPIN_SHIFT 4

void qspin_lock_slow(struct qspin_lock *l)
{
	uint64_t t0 = lock_clock(), spins = 0, halts = 0, kicks = 0, waited;
	bool head_slept;
	uint64_t budget = __atomic_load_n(&lock_spin_budget, __ATOMIC_RELAXED);
	uint64_t steal = __atomic_load_n(&lock_steal_budget, __ATOMIC_RELAXED);
	unsigned self = lock_self();
	uint32_t code = (uint32_t)(self + 1) << QSPIN_TAIL_SHIFT, w, nw;
	struct mcs_node *n = &qspin_nodes[self], *next;

	/* at least one look; spinning for a steal obeys lock_spin too (lock_spin=0: no spinning at all) */
	if (steal && qspin_steal(l, steal < budget ? steal : budget, &spins))
		goto done;

	/* plain: nobody reads them before our tail or our link (both published below, release) is seen */
	n->locked = MCS_WAITING;
	n->hart = self;
	w = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
	/*
	 * acq_rel, as MCS's swap of the tail. Release: our node's fields (and its next == NULL, from its
	 * last use) are visible before a successor can find the node through the tail and link itself in.
	 * Acquire: so is our predecessor's, whose tail we take: our link into its next comes after its own
	 * reset of that next, made before it queued.
	 */
	while (!__atomic_compare_exchange_n(&l->word, &w, (w & ((1u << QSPIN_TAIL_SHIFT) - 1)) | code, 1,
					    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		;
	if (w >> QSPIN_TAIL_SHIFT) {
		bool halted = false;
		uint64_t s = 0;

		/* release: publishes n->locked and n->hart before the predecessor reads them (as MCS) */
		__atomic_store_n(&qspin_node(w)->next, n, __ATOMIC_RELEASE);
		/*
		 * acquire: pairs with the hand-off of headship below, by our predecessor. We spin a
		 * sixteenth of the budget only (QSPIN_NODE_SPIN_SHIFT): behind a head, with steals passing
		 * the queue, our turn is rarely near, and spinning only takes a host CPU from the holder.
		 */
		while (__atomic_load_n(&n->locked, __ATOMIC_ACQUIRE) != MCS_GRANTED) {
			if (s >= budget >> QSPIN_NODE_SPIN_SHIFT) {
				halted = mcs_halt(n);
				break;
			}
			s++, cpu_relax();
		}
		spins += s;
		halts = halted;
		kicks += halted;	/* a node's successful halt is kicked exactly once, as MCS */
	}

	/*
	 * Head of the queue: only we watch the word now. While we run we claim the next release (HANDOFF:
	 * no steals), so a running head is served next. Once we have spun our budget we sleep, and the
	 * first time (unless strict) give the claim up: running harts may take the lock while we are not
	 * running, and the unlock that finds SLEEPS kicks us to claim it again. A later sleep keeps it.
	 */
	for (waited = 0, head_slept = false;;) {
		/* acquire: when the lock is free, pairs with the release of the unlock that freed it */
		w = __atomic_load_n(&l->word, __ATOMIC_ACQUIRE);
		if (!(w & QSPIN_LOCKED)) {
			/* take it, drop HANDOFF and SLEEPS, and leave the queue: empty it if we are its tail */
			nw = (w & ~((1u << QSPIN_TAIL_SHIFT) - 1)) == code ? QSPIN_LOCKED
									  : (w & ~(QSPIN_HANDOFF | QSPIN_SLEEPS)) |
										    QSPIN_LOCKED;
			if (__atomic_compare_exchange_n(&l->word, &w, nw, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				break;
			continue;
		}
		if (!(w & QSPIN_HANDOFF)) {
			/* relaxed: claims the next release; whether it or a steal comes first, we re-read */
			__atomic_compare_exchange_n(&l->word, &w, w | QSPIN_HANDOFF, 0, __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED);
			continue;
		}
		if (waited < budget) {
			waited++, cpu_relax();
			continue;
		}
		/*
		 * Sleep. head_hart first, then SLEEPS with a CAS (release: the unlocker that reads SLEEPS
		 * with acquire also reads our hart). Both this CAS and the unlock's CAS that clears LOCKED
		 * and SLEEPS act on the one word, so in its coherence order either the unlock comes first
		 * (our CAS fails: the word changed, and we re-read a free lock) or ours does (the unlock
		 * replaces a word with SLEEPS, clears it, and kicks us). No lost wake-up: we sleep while
		 * SLEEPS is set, and only that unlock clears it (a free lock never has SLEEPS, so a steal,
		 * which sets LOCKED on a free word, cannot take it away).
		 */
		__atomic_store_n(&l->head_hart, self, __ATOMIC_RELAXED);
		nw = (w | QSPIN_SLEEPS) & (steal && !head_slept ? ~QSPIN_HANDOFF : ~0u);
		if (!__atomic_compare_exchange_n(&l->word, &w, nw, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			continue;
		halts = 1;
		head_slept = true;
		/* acquire: pairs with the unlock's release, as above; spurious wake-ups sleep again */
		while (__atomic_load_n(&l->word, __ATOMIC_ACQUIRE) & QSPIN_SLEEPS)
			lock_halt();
		kicks++;	/* the unlock that cleared SLEEPS kicked us, exactly once */
		spins += waited;
		waited = 0;	/* awake and running again: claim, spin, perhaps sleep again */
	}
	spins += waited;
	if ((w & ~((1u << QSPIN_TAIL_SHIFT) - 1)) != code) {
		/* others queued behind us: wait until the next has linked itself, then make it the head */
		while (!(next = __atomic_load_n(&n->next, __ATOMIC_ACQUIRE)))
			cpu_relax();
		uint32_t hart = next->hart;	/* before the hand-off, as mcs_unlock_slow() */

		n->next = NULL;		/* plain: as in mcs_unlock_slow() */
		/* release: as MCS's hand-off; the old state says whether it sleeps (see mcs_halt()) */
		if (__atomic_exchange_n(&next->locked, MCS_GRANTED, __ATOMIC_RELEASE) == MCS_HALTED)
			lock_kick(hart);
	}
done:
	wait_done(&l->st, t0, spins, halts, kicks);
}

/* the unlock with more than LOCKED in the word: waiters queued, or a sleeping head to kick */
void qspin_unlock_slow(struct qspin_lock *l)
{
	uint32_t w = __atomic_load_n(&l->word, __ATOMIC_ACQUIRE), hart;

	/*
	 * Read head_hart before the release (we still hold the lock, so the lock is still there), after a
	 * load that saw the word it goes with (acquire: pairs with the head's release CAS that set
	 * SLEEPS). Release: the critical section is visible before the lock looks free. After the CAS
	 * we touch only the hart we kick.
	 */
	do
		hart = __atomic_load_n(&l->head_hart, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&l->word, &w, w & ~(QSPIN_LOCKED | QSPIN_SLEEPS), 0,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	if (w & QSPIN_SLEEPS)
		lock_kick(hart);
}

void (qspin_lock)(struct qspin_lock *l)
{
	qspin_lock_inline(l);
}

void (qspin_unlock)(struct qspin_lock *l)
{
	qspin_unlock_inline(l);
}
