/* lock.c - MCS, ticket and test-and-set spinlocks; every ordering bit is explained where it is used. */
#include <stddef.h>

#include "kernel/lock.h"
#include "mm/env.h"

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
	"lock_thunk tas_lock_slow\n"
	".purgem lock_thunk\n");
#endif

static inline void wait_done(struct lock_stats *st, uint64_t t0, uint64_t spins)
{
	uint64_t w = mm_clock() - t0;

	st->contended++;
	st->spins += spins;
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

/* the contended half of mcs_lock(): @prev held or was queued for the lock when our swap made @n the tail */
void mcs_lock_slow(struct mcs_lock *l, struct mcs_node *n, struct mcs_node *prev)
{
	uint64_t t0 = mm_clock(), spins = 0;

	/* plain: nobody reads our flag before it finds the node through prev->next, published below */
	n->locked = 1;
	/* release: publishes n->locked = 1 before the predecessor can clear it. */
	__atomic_store_n(&prev->next, n, __ATOMIC_RELEASE);
	/* acquire: pairs with the release hand-off in mcs_unlock_slow(); the previous holder's critical
	 * section happens before ours. */
	while (__atomic_load_n(&n->locked, __ATOMIC_ACQUIRE))
		spins++, cpu_relax();
	wait_done(&l->st, t0, spins);
	l->owner = n;
	l->st.acquired++;
}

/* the hand-off half of mcs_unlock(): the tail moved past our node @n, so a successor is (being) queued */
void mcs_unlock_slow(struct mcs_lock *l, struct mcs_node *n)
{
	struct mcs_node *next;

	/*
	 * acquire: the successor's release store of our next published its node's locked = 1 first, so our
	 * hand-off below cannot be overwritten by it. Between its swap of the tail and that store it is
	 * not linked yet: wait.
	 */
	while (!(next = __atomic_load_n(&n->next, __ATOMIC_ACQUIRE)))
		cpu_relax();
	/* plain: the successor wrote next once and nobody else will; free nodes keep next == NULL (lock.h) */
	n->next = NULL;
	/* release (amoswap.w.rl): hands over the lock; our critical section and the store above happen
	 * before the successor's critical section. */
	lock_store32_release(&next->locked, 0);
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

void ticket_lock_slow(struct ticket_lock *l, unsigned long me)
{
	uint64_t t0 = mm_clock(), spins = 0;

	/* acquire: pairs with the release store in ticket_unlock(). */
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != (uint32_t)me)
		spins++, cpu_relax();
	wait_done(&l->st, t0, spins);
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
	uint64_t t0 = mm_clock(), spins = 0;

	do {
		/* relaxed: only a hint that the swap may now succeed; the swap orders. */
		while (__atomic_load_n(&l->held, __ATOMIC_RELAXED))
			spins++, cpu_relax();
		/* acquire swap: as in tas_lock_inline() */
	} while (lock_swap32_aq(&l->held, 1));
	wait_done(&l->st, t0, spins);
}

void (tas_lock)(struct tas_lock *l)
{
	tas_lock_inline(l);
}

void (tas_unlock)(struct tas_lock *l)
{
	tas_unlock_inline(l);
}
