/* lock.c - MCS, ticket and test-and-set spinlocks; every ordering bit is explained where it is used. */
#include <stddef.h>

#include "kernel/lock.h"
#include "mm/env.h"

#if !defined(HOST_TEST)
#include "kernel/cls.h"
#include "kernel/printk.h"

/* In the kernel the queue nodes are the CLS's small per-hart stack: inline, no call on the fast path. */
static __attribute__((noinline, noreturn, cold)) void nest_overflow(void)
{
	panic("MCS nesting deeper than %d", MCS_NEST_MAX);
}

static inline struct mcs_node *node_get(void)
{
	struct cls *c = cls_self();
	unsigned long d = c->mcs_depth;

	if (__builtin_expect(d >= MCS_NEST_MAX, 0))
		nest_overflow();
	c->mcs_depth = d + 1;
	return &c->mcs[d];
}

static inline void node_put(struct mcs_node *n)
{
	(void)n;
	cls_self()->mcs_depth--;
}
#else
#define node_get mcs_node_get
#define node_put mcs_node_put
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

/*
 * MCS (Mellor-Crummey & Scott): each waiter enqueues its own node with one atomic swap on the tail and
 * spins on a flag in that node, so a hand-off touches one waiter's cache line and the queue is FIFO.
 *
 *   lock:   node = {next=NULL, locked=1}; prev = swap(tail, node)
 *           prev == NULL -> we own it; else prev->next = node, spin while node->locked
 *   unlock: next = node->next; if none, CAS(tail, node -> NULL) and done if it worked, else wait for the
 *           late enqueuer to link itself; then next->locked = 0 hands the lock over.
 */
/* the contended half of mcs_lock(), out of line so that the free-lock path needs no stack frame */
static __attribute__((noinline)) void mcs_wait(struct mcs_lock *l, struct mcs_node *n, struct mcs_node *prev)
{
	uint64_t t0 = mm_clock(), spins = 0;

	/* release: publishes n->locked = 1 before the predecessor can clear it. */
	__atomic_store_n(&prev->next, n, __ATOMIC_RELEASE);
	/* acquire: pairs with the release store in mcs_unlock(); the previous holder's critical
	 * section happens before ours. */
	while (__atomic_load_n(&n->locked, __ATOMIC_ACQUIRE))
		spins++, cpu_relax();
	wait_done(&l->st, t0, spins);
	l->owner = n;
	l->st.acquired++;
}

void mcs_lock(struct mcs_lock *l)
{
	struct mcs_node *n = node_get(), *prev;

	n->next = NULL;
	n->locked = 1;
	/*
	 * ACQ_REL swap (fence + amoswap.d.aq): release so that the two plain stores above are visible
	 * before any successor can find our node through the tail; acquire so that, when the lock was
	 * free, nothing of the critical section is performed before we own it.
	 */
	prev = __atomic_exchange_n(&l->tail, n, __ATOMIC_ACQ_REL);
	if (__builtin_expect(prev != NULL, 0)) {
		mcs_wait(l, n, prev);
		return;
	}
	l->owner = n;
	l->st.acquired++;
}

int mcs_trylock(struct mcs_lock *l)
{
	struct mcs_node *n = node_get(), *expect = NULL;

	n->next = NULL;
	n->locked = 1;
	/* acquire on success: as in mcs_lock(); relaxed on failure: we touched nothing shared. */
	if (!__atomic_compare_exchange_n(&l->tail, &expect, n, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		node_put(n);
		return 0;
	}
	l->owner = n;
	l->st.acquired++;
	return 1;
}

void mcs_unlock(struct mcs_lock *l)
{
	struct mcs_node *n = l->owner, *next;

	/* acquire: if a successor linked itself, its node initialisation is visible to us. */
	next = __atomic_load_n(&n->next, __ATOMIC_ACQUIRE);
	if (!next) {
		struct mcs_node *expect = n;

		/* release: our critical section is visible to the next locker that swaps the tail. */
		if (__atomic_compare_exchange_n(&l->tail, &expect, NULL, 0, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED)) {
			node_put(n);
			return;
		}
		/* someone swapped the tail but has not linked itself yet: wait for it (acquire as above) */
		while (!(next = __atomic_load_n(&n->next, __ATOMIC_ACQUIRE)))
			cpu_relax();
	}
	/* release: hands over the lock; the critical section happens before the successor's. */
	__atomic_store_n(&next->locked, 0, __ATOMIC_RELEASE);
	node_put(n);
}

void ticket_init(struct ticket_lock *l)
{
	l->next = 0;
	l->owner = 0;
	l->st = (struct lock_stats){ 0 };
}

static __attribute__((noinline)) void ticket_wait(struct ticket_lock *l, uint32_t me)
{
	uint64_t t0 = mm_clock(), spins = 0;

	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
		spins++, cpu_relax();
	wait_done(&l->st, t0, spins);
}

/* Ticket lock: fetch-and-add a ticket, wait until the owner counter reaches it. FIFO, one shared line. */
void ticket_lock(struct ticket_lock *l)
{
	/* relaxed: taking a ticket orders nothing; the acquire load below does. (amoadd.w) */
	uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	/* acquire: pairs with the release store in ticket_unlock(). */
	if (__builtin_expect(__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me, 0))
		ticket_wait(l, me);
	l->st.acquired++;
}

void ticket_unlock(struct ticket_lock *l)
{
	/* only the holder writes owner, so a plain read is exact; release publishes the critical section. */
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

void tas_init(struct tas_lock *l)
{
	l->held = 0;
	l->st = (struct lock_stats){ 0 };
}

static __attribute__((noinline)) void tas_wait(struct tas_lock *l)
{
	uint64_t t0 = mm_clock(), spins = 0;

	do {
		/* relaxed: only a hint that the swap may now succeed; the swap orders. */
		while (__atomic_load_n(&l->held, __ATOMIC_RELAXED))
			spins++, cpu_relax();
	} while (__atomic_exchange_n(&l->held, 1, __ATOMIC_ACQUIRE));
	wait_done(&l->st, t0, spins);
}

/* Test-and-test-and-set: swap 1 in; while it was held, spin on plain loads (no bus writes) and retry. */
void tas_lock(struct tas_lock *l)
{
	/* acquire swap (amoswap.w.aq): nothing of the critical section moves before we own the lock. */
	if (__builtin_expect(__atomic_exchange_n(&l->held, 1, __ATOMIC_ACQUIRE) != 0, 0))
		tas_wait(l);
	l->st.acquired++;
}

void tas_unlock(struct tas_lock *l)
{
	/* release: the critical section is visible before the lock looks free. */
	__atomic_store_n(&l->held, 0, __ATOMIC_RELEASE);
}
