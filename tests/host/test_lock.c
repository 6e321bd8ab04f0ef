/* test_lock.c - the four spinlocks under pthreads: mutual exclusion, FIFO hand-off, halting waiters, statistics. */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "kernel/lock.h"
#include "mm/err.h"
#include "tests/host/host.h"
#include "tests/test.h"

#define THREADS 8
#define ITERS 5000

enum kind { K_MCS = LOCK_MCS, K_QSPIN = LOCK_QSPIN, K_TICKET = LOCK_TICKET, K_TAS = LOCK_TAS };

/* one of each kind (any_lock, kernel/lock.h) */
static struct any_lock locks[LOCK_NKINDS] = {
	[LOCK_MCS].kind = LOCK_MCS, [LOCK_QSPIN].kind = LOCK_QSPIN, [LOCK_TICKET].kind = LOCK_TICKET, [LOCK_TAS].kind = LOCK_TAS
};
#define l_mcs (locks[LOCK_MCS].mcs)
#define l_qspin (locks[LOCK_QSPIN].qspin)
#define l_ticket (locks[LOCK_TICKET].ticket)
static volatile uint64_t shared_counter;
static volatile int inside;
static int overlap_seen;

static void take(enum kind k)
{
	any_lock(&locks[k]);
}

static void drop(enum kind k)
{
	any_unlock(&locks[k]);
}

static unsigned hammer_iters = ITERS;

static const struct lock_stats *stats_of(enum kind k)
{
	return any_lock_stats(&locks[k]);
}

static void init_all(void)
{
	unsigned k;

	for (k = 0; k < LOCK_NKINDS; k++)
		any_lock_init(&locks[k], k);
}

struct worker {
	enum kind k;
	unsigned id;
};

static void *hammer(void *p)
{
	struct worker *w = p;
	int i;

	host_set_self(w->id);
	for (i = 0; i < (int)hammer_iters; i++) {
		take(w->k);
		if (inside++)
			overlap_seen = 1;
		/* a non-atomic read-modify-write that loses updates without mutual exclusion */
		shared_counter = shared_counter + 1;
		if ((i & 255) == 0)
			sched_yield();
		inside--;
		drop(w->k);
	}
	return NULL;
}

static void run_hammer(struct test *t, enum kind k)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	const struct lock_stats *st = stats_of(k);
	unsigned i;
	uint32_t lost = __atomic_load_n(&host_lost_wakeups, __ATOMIC_RELAXED);

	init_all();
	shared_counter = 0;
	overlap_seen = 0;
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ k, i };
		ASSERT_EQ(t, pthread_create(&th[i], NULL, hammer, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(t, shared_counter, (uint64_t)THREADS * hammer_iters);
	EXPECT_FALSE(t, overlap_seen);
	EXPECT_EQ(t, st->acquired, (uint64_t)THREADS * hammer_iters);
	EXPECT_LE(t, st->contended, st->acquired);
	EXPECT_GE(t, st->wait_total, st->wait_max);
	EXPECT_LE(t, st->halts, st->contended);
	EXPECT_LE(t, st->steals, st->contended);
	if (k == K_QSPIN) {
		/* free again, nobody queued, no claim or sleeper left behind */
		EXPECT_EQ(t, l_qspin.word, 0);
		/* each sleep is kicked once; a halted acquisition slept at least once (node, head) */
		EXPECT_GE(t, st->kicks, st->halts);
	}
	/* a sleep that timed out in the shim is a lost wake-up */
	EXPECT_EQ(t, __atomic_load_n(&host_lost_wakeups, __ATOMIC_RELAXED), lost);
	test_log("budget=%u steal=%u acquired=%llu contended=%llu halts=%llu kicks=%llu steals=%llu max_wait_ns=%llu",
		 lock_spin_budget, lock_steal_budget, (unsigned long long)st->acquired,
		 (unsigned long long)st->contended, (unsigned long long)st->halts, (unsigned long long)st->kicks,
		 (unsigned long long)st->steals, (unsigned long long)st->wait_max);
}

static void lock_mcs_mutual_exclusion(struct test *t) { run_hammer(t, K_MCS); }
static void lock_ticket_mutual_exclusion(struct test *t) { run_hammer(t, K_TICKET); }
static void lock_tas_mutual_exclusion(struct test *t) { run_hammer(t, K_TAS); }
static void lock_qspin_mutual_exclusion(struct test *t) { run_hammer(t, K_QSPIN); }

/* run(t, K_QSPIN) with lock_steal 0 (strict FIFO): afterwards no acquisition passed the queue */
static void qspin_strict(struct test *t, void (*run)(struct test *, enum kind))
{
	uint32_t saved = lock_steal_budget;

	lock_steal_budget = 0;
	run(t, K_QSPIN);
	lock_steal_budget = saved;
	EXPECT_EQ(t, l_qspin.st.steals, 0);
	EXPECT_EQ(t, l_qspin.word, 0);
}

/* strict FIFO (no steals): the same, and no acquisition passed the queue */
static void lock_qspin_mutual_exclusion_fifo(struct test *t) { qspin_strict(t, run_hammer); }

/*
 * FIFO: the main thread holds the lock; threads enqueue one at a time (each waits until the previous
 * one is visibly queued: the MCS tail or the ticket counter moved); after release, the order of
 * acquisition must be the order of arrival.
 */
static unsigned order[THREADS], norder;
static struct mcs_node *volatile queued_tail;

static void *fifo_waiter(void *p)
{
	struct worker *w = p;

	host_set_self(w->id);
	take(w->k);
	order[norder++] = w->id;
	drop(w->k);
	return NULL;
}

static int queued(enum kind k, unsigned n)
{
	if (k == K_TICKET)
		return __atomic_load_n(&l_ticket.next, __ATOMIC_ACQUIRE) == n + 1;
	/* qspin: the tail names the hart (thread id + 1) that queued last */
	if (k == K_QSPIN)
		return __atomic_load_n(&l_qspin.word, __ATOMIC_ACQUIRE) >> QSPIN_TAIL_SHIFT == n;
	return __atomic_load_n(&l_mcs.tail, __ATOMIC_ACQUIRE) != queued_tail;
}

static void run_fifo(struct test *t, enum kind k)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	unsigned i;

	init_all();
	host_set_self(THREADS);
	norder = 0;
	take(k);
	for (i = 0; i < THREADS; i++) {
		queued_tail = __atomic_load_n(&l_mcs.tail, __ATOMIC_ACQUIRE);
		w[i] = (struct worker){ k, i };
		ASSERT_EQ(t, pthread_create(&th[i], NULL, fifo_waiter, &w[i]), 0);
		while (!queued(k, i + 1))
			sched_yield();
	}
	drop(k);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(t, norder, THREADS);
	for (i = 0; i < THREADS; i++)
		EXPECT_EQ(t, order[i], i);
	host_set_self(0);
}

static void lock_mcs_fifo(struct test *t) { run_fifo(t, K_MCS); }
static void lock_ticket_fifo(struct test *t) { run_fifo(t, K_TICKET); }

/* qspin with lock_steal 0 serves its queue in order; the head claims each release (HANDOFF) */
static void lock_qspin_fifo(struct test *t) { qspin_strict(t, run_fifo); }

/*
 * Halting waiters (lock_spin_budget 0: sleep at once; 4: a few spins first). Mutual exclusion with the
 * statistics of halting, FIFO order with every waiter asleep, and a lost-wake-up stress: many short
 * critical sections with waiters going to sleep just as the holder hands over, where any lost wake-up
 * leaves a thread asleep until the shim's timeout, which the checks count as a failure.
 */
static void run_halting(struct test *t, enum kind k, uint32_t budget, unsigned iters)
{
	const struct lock_stats *st = stats_of(k);
	uint32_t saved = lock_spin_budget;

	lock_spin_budget = budget;
	hammer_iters = iters;
	run_hammer(t, k);
	hammer_iters = ITERS;
	lock_spin_budget = saved;
	/* with no spinning at all, contention means sleeping */
	if (budget == 0)
		EXPECT_GT(t, st->halts, 0);
	/*
	 * MCS: a successful halt is kicked exactly once. Ticket: a waiter that published its slot may see
	 * the owner move and not sleep, yet be kicked by the unlocker that saw the slot, so no such bound.
	 */
	if (k == K_MCS)
		EXPECT_EQ(t, st->kicks, st->halts);
	if (st->halts)
		EXPECT_GT(t, st->kicks, 0);
}

static void lock_mcs_halt_at_once(struct test *t) { run_halting(t, K_MCS, 0, ITERS); }
static void lock_mcs_halt_after_spins(struct test *t) { run_halting(t, K_MCS, 4, ITERS); }
static void lock_ticket_halt_at_once(struct test *t) { run_halting(t, K_TICKET, 0, ITERS); }
static void lock_ticket_halt_after_spins(struct test *t) { run_halting(t, K_TICKET, 4, ITERS); }
static void lock_qspin_halt_at_once(struct test *t) { run_halting(t, K_QSPIN, 0, ITERS); }
static void lock_qspin_halt_after_spins(struct test *t) { run_halting(t, K_QSPIN, 4, ITERS); }

/* sleeping at once and strictly FIFO: every wait is a sleep, the head's on the word */
static void halt_at_once(struct test *t, enum kind k) { run_halting(t, k, 0, ITERS); }
static void lock_qspin_halt_fifo(struct test *t) { qspin_strict(t, halt_at_once); }

static void run_fifo_halting(struct test *t, enum kind k)
{
	const struct lock_stats *st = stats_of(k);
	uint32_t saved = lock_spin_budget, lost = __atomic_load_n(&host_lost_wakeups, __ATOMIC_RELAXED);

	lock_spin_budget = 0;
	run_fifo(t, k);
	lock_spin_budget = saved;
	EXPECT_EQ(t, __atomic_load_n(&host_lost_wakeups, __ATOMIC_RELAXED), lost);
	/* every waiter slept (a ticket waiter may find its turn come just before it sleeps) */
	if (k == K_MCS || k == K_QSPIN)
		EXPECT_EQ(t, st->halts, THREADS);
	else
		EXPECT_GE(t, st->halts, THREADS - 1);
	EXPECT_GT(t, st->kicks, 0);
	test_log("halts=%llu kicks=%llu", (unsigned long long)st->halts, (unsigned long long)st->kicks);
}

static void lock_mcs_fifo_halting(struct test *t) { run_fifo_halting(t, K_MCS); }
static void lock_ticket_fifo_halting(struct test *t) { run_fifo_halting(t, K_TICKET); }

static void lock_qspin_fifo_halting(struct test *t)
{
	qspin_strict(t, run_fifo_halting);
	/* each waiter slept on its node, as the head, or both: one kick per sleep */
	EXPECT_GE(t, l_qspin.st.kicks, l_qspin.st.halts);
}

static void lock_lost_wakeup_stress(struct test *t)
{
	static const uint32_t budgets[] = { 0, 2 };
	unsigned b;

	for (b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
		run_halting(t, K_MCS, budgets[b], 2 * ITERS);
		run_halting(t, K_TICKET, budgets[b], 2 * ITERS);
		run_halting(t, K_QSPIN, budgets[b], 2 * ITERS);
	}
}

static void lock_mcs_trylock(struct test *t)
{
	mcs_init(&l_mcs);
	EXPECT_TRUE(t, mcs_trylock(&l_mcs));
	EXPECT_FALSE(t, mcs_trylock(&l_mcs));	/* held: refused (the case passed for a trylock that always took) */
	EXPECT_EQ(t, l_mcs.st.acquired, 1);
	mcs_unlock(&l_mcs);
	EXPECT_TRUE(t, l_mcs.tail == NULL);
	EXPECT_TRUE(t, mcs_trylock(&l_mcs));	/* free again after the refusal: its node was given back */
	mcs_unlock(&l_mcs);
	EXPECT_TRUE(t, l_mcs.tail == NULL);
	EXPECT_EQ(t, l_mcs.st.acquired, 2);
	EXPECT_EQ(t, l_mcs.st.contended, 0);
}

static void lock_qspin_trylock(struct test *t)
{
	qspin_init(&l_qspin);
	EXPECT_TRUE(t, qspin_trylock(&l_qspin));
	EXPECT_FALSE(t, qspin_trylock(&l_qspin));
	EXPECT_EQ(t, l_qspin.word, QSPIN_LOCKED);
	qspin_unlock(&l_qspin);
	EXPECT_EQ(t, l_qspin.word, 0);
	qspin_lock(&l_qspin);
	qspin_unlock(&l_qspin);
	EXPECT_EQ(t, l_qspin.st.acquired, 2);
	EXPECT_EQ(t, l_qspin.st.contended, 0);
}

/*
 * The bound on steals: a head passed while it slept keeps its claim through its next sleep. The main
 * thread holds the lock; a thread queues and sleeps at once as the head (spin budget 0), its claim given
 * up. The main thread unlocks (a kick), and while the kicked head is held asleep (host_hold_kicks(), a
 * vCPU not yet run) takes the lock again: a steal. The head, let go, claims, finds the lock taken and
 * sleeps again, and now the word must keep HANDOFF, so that no second steal passes it.
 */
static volatile int head_got;

static void *head_waiter(void *p)
{
	(void)p;
	host_set_self(1);
	take(K_QSPIN);
	head_got = 1;
	drop(K_QSPIN);
	return NULL;
}

static void wait_word(uint32_t bits)
{
	while ((__atomic_load_n(&l_qspin.word, __ATOMIC_ACQUIRE) & bits) != bits)
		sched_yield();
}

static void lock_qspin_steal_bound(struct test *t)
{
	uint32_t saved = lock_spin_budget, lost = __atomic_load_n(&host_lost_wakeups, __ATOMIC_RELAXED);
	uint64_t steals;
	pthread_t th;

	init_all();
	lock_spin_budget = 0;
	host_set_self(0);
	head_got = 0;
	take(K_QSPIN);
	ASSERT_EQ(t, pthread_create(&th, NULL, head_waiter, NULL), 0);
	wait_word(QSPIN_SLEEPS);		/* the head sleeps: its first sleep gives the claim up */
	EXPECT_EQ(t, l_qspin.word & QSPIN_HANDOFF, 0);
	steals = l_qspin.st.steals;
	host_hold_kicks(1);
	drop(K_QSPIN);				/* kicks the head, which stays asleep for now */
	take(K_QSPIN);				/* so this passes it */
	EXPECT_EQ(t, l_qspin.st.steals, steals + 1);
	EXPECT_EQ(t, head_got, 0);
	host_hold_kicks(0);
	wait_word(QSPIN_SLEEPS);		/* woken, passed, asleep again: the claim stays */
	EXPECT_EQ(t, l_qspin.word & QSPIN_HANDOFF, QSPIN_HANDOFF);
	EXPECT_EQ(t, head_got, 0);
	drop(K_QSPIN);				/* served next: the head */
	pthread_join(th, NULL);
	EXPECT_EQ(t, head_got, 1);
	lock_spin_budget = saved;
	EXPECT_EQ(t, l_qspin.word, 0);
	EXPECT_EQ(t, __atomic_load_n(&host_lost_wakeups, __ATOMIC_RELAXED), lost);
}

TEST_SUITE(host_locks, TEST_CASE(lock_mcs_mutual_exclusion), TEST_CASE(lock_ticket_mutual_exclusion),
	   TEST_CASE(lock_tas_mutual_exclusion), TEST_CASE(lock_mcs_fifo), TEST_CASE(lock_ticket_fifo),
	   TEST_CASE(lock_mcs_trylock), TEST_CASE(lock_mcs_halt_at_once), TEST_CASE(lock_mcs_halt_after_spins),
	   TEST_CASE(lock_ticket_halt_at_once), TEST_CASE(lock_ticket_halt_after_spins),
	   TEST_CASE(lock_mcs_fifo_halting), TEST_CASE(lock_ticket_fifo_halting),
	   TEST_CASE(lock_lost_wakeup_stress), TEST_CASE(lock_qspin_mutual_exclusion),
	   TEST_CASE(lock_qspin_mutual_exclusion_fifo), TEST_CASE(lock_qspin_fifo), TEST_CASE(lock_qspin_trylock),
	   TEST_CASE(lock_qspin_halt_at_once), TEST_CASE(lock_qspin_halt_after_spins),
	   TEST_CASE(lock_qspin_halt_fifo), TEST_CASE(lock_qspin_fifo_halting),
	   TEST_CASE(lock_qspin_steal_bound));
