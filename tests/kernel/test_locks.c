/* test_locks.c - in-kernel suite for the MCS, queued, ticket and test-and-set locks: exclusion, FIFO, halting, statistics. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/lock.h"
#include "kernel/smp.h"
#include "mm/env.h"
#include "mm/err.h"
#include "tests/test.h"

/* one of each kind (any_lock, kernel/lock.h), kept after the exclusion runs for the statistics case */
static struct any_lock the_lock[LOCK_NKINDS] = {
	[LOCK_MCS].kind = LOCK_MCS, [LOCK_QSPIN].kind = LOCK_QSPIN, [LOCK_TICKET].kind = LOCK_TICKET, [LOCK_TAS].kind = LOCK_TAS
};

/*
 * A wait that ends: true once no progress (a change of *@watch) was seen for LOCK_WAIT_S seconds. 128
 * vCPUs on two host cores can take a scheduling round per step, so the bound is on stalls, not the sum.
 */
#define LOCK_WAIT_S 30

/* seconds() - @s seconds in mm_clock() ticks (the time CSR: timebase-frequency). */
static uint64_t seconds(unsigned s)
{
	return boot_topo.timebase_hz * s;
}

struct bounded {
	uint64_t t0, limit;
	uint64_t last;
	uint32_t spins;		/* smp_poll_relax(): spin a little, then sleep in short timed waits */
};

static void bounded_start(struct bounded *b, uint64_t watch)
{
	b->t0 = mm_clock();
	b->limit = seconds(LOCK_WAIT_S);
	b->last = watch;
	b->spins = 0;
}

static int bounded_expired(struct bounded *b, uint64_t watch)
{
	if (watch != b->last) {
		b->last = watch;
		b->t0 = mm_clock();
		return 0;
	}
	smp_poll_relax(&b->spins);
	return mm_clock() - b->t0 > b->limit;
}

/* ---- mutual exclusion ---- */

static volatile uint64_t shared_counter;
static volatile uint32_t inside;
static uint32_t overlap_seen;
static unsigned excl_iters, excl_kind, excl_gap, excl_window, excl_nwin;
static uint64_t excl_deadline;
static uint32_t excl_ran[TOPO_MAX_HARTS];
static uint32_t excl_count[TOPO_MAX_HARTS];	/* iterations each hart completed */
static int excl_done[LOCK_NKINDS];
static unsigned excl_harts[LOCK_NKINDS];
/* the halting cases: every hart at once (no rounds), no work outside the lock, start at a barrier */
static int excl_halting;

/*
 * A FIFO lock whose queue holds a descheduled vCPU stalls until the host runs that thread again, and
 * the queue then refills faster than it drains (a convoy: 36 s for 2000 ticket hand-overs on 6 vCPUs
 * of a busy two-core host). So each hart stops early, after at least one iteration, once this many
 * seconds have passed; the checks below compare against the iterations actually done.
 */
#define EXCL_BUDGET_S 10
/*
 * Delay-loop iterations a hart spends outside the lock, spread over its iterations: without them a
 * hart's few hundred iterations take less than a host time slice and the harts, one vCPU thread each,
 * simply run one after the other (contended 0, and a lock that does nothing passed). Up to 8 harts
 * also start together at a barrier; more overlap anyway.
 */
#define EXCL_GAP_LOOPS (1u << 20)
#define EXCL_BARRIER_MAX 8
/*
 * Harts per round. With 128 vCPUs spinning on two host cores each hand-over to a descheduled waiter
 * took up to a second (a 10 s budget, then minutes to drain the queue); so the harts take turns in
 * rounds of this many (hart index modulo the number of rounds: every round spans all clusters), the
 * others sleeping in wfi. Only two vCPUs run at once on such a host anyway.
 */
#define EXCL_WINDOW 16

static void excl_body(void *arg)
{
	unsigned i, k = excl_kind, me = cls_self()->index;
	volatile unsigned d;

	if (me % excl_nwin != excl_window)
		return;
	excl_ran[me]++;
	if (excl_nwin == 1 && (excl_halting || smp_participants() <= EXCL_BARRIER_MAX))
		smp_barrier();		/* start together */
	for (i = 0; i < excl_iters; i++) {
		uint64_t v;

		if (i && !(i & 7) && mm_clock() > excl_deadline)
			break;
		any_lock(&the_lock[k]);
		if (inside)
			__atomic_fetch_add(&overlap_seen, 1, __ATOMIC_RELAXED);
		inside = 1;
		/* a non-atomic read-modify-write stretched by a short delay: lost updates if two get in */
		v = shared_counter;
		for (d = 0; d < 50; d++)
			;
		shared_counter = v + 1;
		inside = 0;
		any_unlock(&the_lock[k]);
		/* work outside the lock: the harts' runs last long enough to overlap on the host */
		for (d = 0; d < excl_gap; d++)
			;
	}
	excl_count[me] = i;
}

static void excl_run(struct test *t, unsigned k)
{
	unsigned n = smp_nharts(), i, ran = 0;
	const struct lock_stats *st;
	uint64_t total = 0;

	any_lock_init(&the_lock[k], k);
	st = any_lock_stats(&the_lock[k]);	/* where the stats are depends on the kind */
	/* about 2000 hand-overs whatever the hart count; 20000 when halting, so that the harts overlap */
	excl_iters = (excl_halting ? 20000 : 2000) / n;
	if (excl_iters < 16)
		excl_iters = 16;
	excl_gap = excl_halting ? 0 : EXCL_GAP_LOOPS / excl_iters;
	excl_kind = k;
	shared_counter = 0;
	inside = 0;
	overlap_seen = 0;
	memset(excl_ran, 0, sizeof(excl_ran));
	memset(excl_count, 0, sizeof(excl_count));
	excl_deadline = mm_clock() + seconds(EXCL_BUDGET_S);
	excl_nwin = excl_halting ? 1 : (n + EXCL_WINDOW - 1) / EXCL_WINDOW;
	for (excl_window = 0; excl_window < excl_nwin; excl_window++)
		smp_call_all(excl_body, NULL);
	for (i = 0; i < TOPO_MAX_HARTS; i++)
		if (smp_hart_up(i)) {
			EXPECT_EQ(t, excl_ran[i], 1);
			EXPECT_GE(t, excl_count[i], 1);
			EXPECT_LE(t, excl_count[i], excl_iters);
			total += excl_count[i];
			ran++;
		}
	EXPECT_EQ(t, ran, n);
	if (total != (uint64_t)n * excl_iters)
		test_log("%s: the %u s budget ran out after %llu of %llu iterations (a TCG convoy)",
			 lock_kind_name(k), EXCL_BUDGET_S, (unsigned long long)total,
			 (unsigned long long)n * excl_iters);
	test_log("%s: %u hart(s) in %u round(s) x %u: counter %llu, acquired %llu, contended %llu, "
		 "spins %llu, wait max %llu", lock_kind_name(k), n, excl_nwin, excl_iters,
		 (unsigned long long)shared_counter,
		 (unsigned long long)st->acquired, (unsigned long long)st->contended,
		 (unsigned long long)st->spins, (unsigned long long)st->wait_max);
	EXPECT_EQ(t, shared_counter, total);
	EXPECT_EQ(t, overlap_seen, 0);
	EXPECT_EQ(t, inside, 0);
	EXPECT_EQ(t, st->acquired, total);
	/* free again: the MCS tail is empty, the ticket counters agree, the flag is clear */
	if (k == LOCK_MCS) {
		EXPECT_TRUE(t, the_lock[LOCK_MCS].mcs.tail == NULL);
		EXPECT_EQ(t, cls_mcs_depth(cls_self()), 0);
	} else if (k == LOCK_TICKET) {
		EXPECT_EQ(t, the_lock[LOCK_TICKET].ticket.next, the_lock[LOCK_TICKET].ticket.owner);
		EXPECT_EQ(t, the_lock[LOCK_TICKET].ticket.next, (uint32_t)total);
	} else if (k == LOCK_QSPIN) {
		EXPECT_EQ(t, the_lock[LOCK_QSPIN].qspin.word, 0);	/* free, nobody queued, no claim or sleeper left */
		EXPECT_LE(t, st->steals, st->contended);
		test_log("qspin: steals %llu halts %llu kicks %llu (lock_steal=%u)", (unsigned long long)st->steals,
			 (unsigned long long)st->halts, (unsigned long long)st->kicks, lock_steal_budget);
		if (!lock_steal_budget)
			EXPECT_EQ(t, st->steals, 0);
	} else {
		EXPECT_EQ(t, the_lock[LOCK_TAS].tas.held, 0);
	}
	excl_done[k] = 1;
	excl_harts[k] = n;
}

static void locks_mcs_mutual_exclusion(struct test *t)
{
	excl_run(t, LOCK_MCS);
}

static void locks_ticket_mutual_exclusion(struct test *t)
{
	excl_run(t, LOCK_TICKET);
}

static void locks_tas_mutual_exclusion(struct test *t)
{
	excl_run(t, LOCK_TAS);
}

static void locks_qspin_mutual_exclusion(struct test *t)
{
	excl_run(t, LOCK_QSPIN);
}

static void locks_qspin_trylock(struct test *t)
{
	struct qspin_lock l;

	qspin_init(&l);
	EXPECT_EQ(t, qspin_trylock(&l), 1);
	EXPECT_EQ(t, qspin_trylock(&l), 0);
	EXPECT_EQ(t, l.word, QSPIN_LOCKED);
	/* qspin locks take no node: they nest beyond MCS_NEST_MAX */
	{
		struct qspin_lock deep[MCS_NEST_MAX + 2];
		unsigned i;

		for (i = 0; i < MCS_NEST_MAX + 2; i++) {
			qspin_init(&deep[i]);
			qspin_lock(&deep[i]);
		}
		for (i = MCS_NEST_MAX + 2; i-- > 0;) {
			EXPECT_EQ(t, deep[i].word, QSPIN_LOCKED);
			qspin_unlock(&deep[i]);
		}
	}
	qspin_unlock(&l);
	EXPECT_EQ(t, l.word, 0);
	EXPECT_EQ(t, l.st.acquired, 1);
	EXPECT_EQ(t, l.st.contended, 0);
}

static void locks_mcs_trylock(struct test *t)
{
	struct mcs_lock l;
	unsigned depth = cls_mcs_depth(cls_self());

	mcs_init(&l);
	EXPECT_EQ(t, mcs_trylock(&l), 1);
	EXPECT_EQ(t, mcs_trylock(&l), 0);	/* held: refused, and the node is given back */
	EXPECT_EQ(t, cls_mcs_depth(cls_self()), depth + 1);
	mcs_unlock(&l);
	EXPECT_TRUE(t, l.tail == NULL);
	EXPECT_EQ(t, cls_mcs_depth(cls_self()), depth);
	mcs_lock(&l);
	EXPECT_EQ(t, mcs_trylock(&l), 0);
	mcs_unlock(&l);
	EXPECT_EQ(t, l.st.acquired, 2);
	EXPECT_EQ(t, l.st.contended, 0);
}

/* ---- FIFO hand-off order ---- */

/* locks of their own: the statistics case reads those of the exclusion runs */
static struct any_lock fifo;
static unsigned fifo_kind, fifo_n;
static unsigned fifo_rank[TOPO_MAX_HARTS];		/* by hart index; the caller has rank 0 */
#define FIFO_NONE (~0u)					/* a hart that sits this run out */
/*
 * At most this many harts queue. Each place in the queue is a hand-over to one particular vCPU, which
 * under TCG waits for the host to schedule that thread among all the spinning ones: 127 queued harts
 * took minutes on a two-core host. The ones taken are spread over all hart indices (all clusters);
 * the others return at once and sleep in wfi, leaving the host CPUs to the queue.
 */
#define FIFO_MAX 32
static struct mcs_node *fifo_node[TOPO_MAX_HARTS];	/* by rank: the MCS node that rank enqueues */
static uint32_t fifo_started, fifo_ticket_base;
static unsigned fifo_order[TOPO_MAX_HARTS];
static uint32_t fifo_count, fifo_timeouts;

static void fifo_record(unsigned rank)
{
	/* under the lock: plain accesses are ordered by it */
	if (fifo_count < TOPO_MAX_HARTS)
		fifo_order[fifo_count] = rank;
	fifo_count++;
}

static void fifo_lock(void)
{
	any_lock(&fifo);
}

static void fifo_unlock(void)
{
	any_unlock(&fifo);
}

/* fifo_tail_word() - what moves when a hart enqueues: the MCS tail, the qspin word or the next ticket. */
static uint64_t fifo_tail_word(void)
{
	if (fifo_kind == LOCK_QSPIN)
		return __atomic_load_n(&fifo.qspin.word, __ATOMIC_ACQUIRE);
	return fifo_kind == LOCK_MCS ? (uint64_t)(uintptr_t)__atomic_load_n(&fifo.mcs.tail, __ATOMIC_ACQUIRE)
				     : __atomic_load_n(&fifo.ticket.next, __ATOMIC_ACQUIRE);
}

/* fifo_rank_hart[] - by rank: its hart index (the qspin tail names a hart) */
static unsigned fifo_rank_hart[TOPO_MAX_HARTS];

/*
 * fifo_queued() - rank @r has enqueued: the MCS tail is its node, the qspin tail its hart, or the ticket
 * dispenser passed it.
 */
static int fifo_queued(unsigned r)
{
	if (fifo_kind == LOCK_QSPIN) {
		uint32_t w = __atomic_load_n(&fifo.qspin.word, __ATOMIC_ACQUIRE);

		/* rank 0 took the free lock without queueing: it is "queued" once it holds it */
		return r ? w >> QSPIN_TAIL_SHIFT == fifo_rank_hart[r] + 1 : (w & QSPIN_LOCKED) != 0;
	}
	if (fifo_kind == LOCK_MCS) {
		struct mcs_node *n = __atomic_load_n(&fifo_node[r], __ATOMIC_ACQUIRE);

		return n && __atomic_load_n(&fifo.mcs.tail, __ATOMIC_ACQUIRE) == n;
	}
	return __atomic_load_n(&fifo.ticket.next, __ATOMIC_ACQUIRE) == fifo_ticket_base + r + 1;
}

static void fifo_body(void *arg)
{
	struct cls *self = cls_self();
	unsigned r = fifo_rank[self->index];
	struct bounded b;

	if (r == FIFO_NONE)
		return;
	/* the node mcs_lock() will take: this hart's next free nesting level */
	__atomic_store_n(&fifo_node[r], self->mcs_top, __ATOMIC_RELEASE);
	if (r == 0) {
		fifo_lock();
		if (fifo_kind == LOCK_TICKET)
			fifo_ticket_base = fifo.ticket.next - 1;
		fifo_record(0);
		/* release: the base ticket and our node are visible to whoever sees the flag */
		__atomic_store_n(&fifo_started, 1, __ATOMIC_RELEASE);
		/* everyone else queues behind us, one at a time; then hand over */
		bounded_start(&b, fifo_tail_word());
		while (!fifo_queued(fifo_n - 1))
			if (bounded_expired(&b, fifo_tail_word())) {
				__atomic_fetch_add(&fifo_timeouts, 1, __ATOMIC_RELAXED);
				break;
			}
		fifo_unlock();
		return;
	}
	bounded_start(&b, 0);
	while (!__atomic_load_n(&fifo_started, __ATOMIC_ACQUIRE))
		if (bounded_expired(&b, 0)) {
			__atomic_fetch_add(&fifo_timeouts, 1, __ATOMIC_RELAXED);
			break;
		}
	/* enqueue right after rank r - 1 (it is visibly in the queue) */
	bounded_start(&b, fifo_tail_word());
	while (!fifo_queued(r - 1))
		if (bounded_expired(&b, fifo_tail_word())) {
			__atomic_fetch_add(&fifo_timeouts, 1, __ATOMIC_RELAXED);
			break;
		}
	fifo_lock();
	fifo_record(r);
	fifo_unlock();
}

static void fifo_run(struct test *t, unsigned k)
{
	unsigned i, r = 1, self = cls_self()->index, bad = 0, others, stride, seen;
	const struct lock_stats *st;

	if (smp_nharts() < 2) {
		test_skip(t, "one hart: nobody to queue");
		return;
	}
	any_lock_init(&fifo, k);
	fifo_kind = k;
	memset(fifo_node, 0, sizeof(fifo_node));
	memset(fifo_order, 0xff, sizeof(fifo_order));
	/* the caller is rank 0; then every stride-th other hart by index, in index order */
	for (i = 0; i < TOPO_MAX_HARTS; i++)
		fifo_rank[i] = FIFO_NONE;
	fifo_rank[self] = 0;
	fifo_rank_hart[0] = self;
	others = smp_nharts() - 1;
	stride = (others + FIFO_MAX - 2) / (FIFO_MAX - 1);
	fifo_n = 1 + (others + stride - 1) / stride;
	for (i = 0, seen = 0; i < TOPO_MAX_HARTS; i++)
		if (smp_hart_up(i) && i != self && seen++ % stride == 0) {
			fifo_rank_hart[r] = i;
			fifo_rank[i] = r++;
		}
	ASSERT_EQ(t, r, fifo_n);
	fifo_started = 0;
	fifo_count = 0;
	fifo_timeouts = 0;
	fifo_ticket_base = 0;
	smp_call_all(fifo_body, NULL);
	EXPECT_EQ(t, fifo_timeouts, 0);
	EXPECT_EQ(t, fifo_count, fifo_n);
	for (i = 0; i < fifo_n && i < fifo_count; i++)
		if (fifo_order[i] != i) {
			if (bad++ < 4)
				test_log("%s: position %u got rank %u", lock_kind_name(k), i, fifo_order[i]);
		}
	EXPECT_EQ(t, bad, 0);
	if (k == LOCK_MCS)
		EXPECT_TRUE(t, fifo.mcs.tail == NULL);
	else if (k == LOCK_QSPIN)
		EXPECT_EQ(t, fifo.qspin.word, 0);
	else
		EXPECT_EQ(t, fifo.ticket.next, fifo.ticket.owner);
	/* here contention is certain: everyone but the caller queued while the caller held the lock */
	st = any_lock_stats(&fifo);
	EXPECT_EQ(t, st->acquired, fifo_n);
	if (!fifo_timeouts)
		EXPECT_EQ(t, st->contended, fifo_n - 1);
	EXPECT_LE(t, st->wait_max, st->wait_total);
	test_log("%s: %u of %u harts (every %u%s) handed over in %s order", lock_kind_name(k), fifo_n,
		 smp_nharts(), stride, stride == 1 ? "" : ", to keep TCG hand-overs short",
		 bad ? "the WRONG" : "FIFO");
}

static void locks_mcs_fifo(struct test *t)
{
	fifo_run(t, LOCK_MCS);
}

static void locks_ticket_fifo(struct test *t)
{
	fifo_run(t, LOCK_TICKET);
}

/* qspin is FIFO when it lets nobody steal (lock_steal=0): its head claims every release */
static void locks_qspin_fifo(struct test *t)
{
	uint32_t saved = lock_steal_budget;

	lock_steal_budget = 0;
	fifo_run(t, LOCK_QSPIN);
	lock_steal_budget = saved;
	EXPECT_EQ(t, fifo.qspin.st.steals, 0);
}

/*
 * ---- halting waiters ----
 * With lock_spin_budget 0 every waiter sleeps in wfi at once and is woken by an IPI: mutual exclusion
 * with all harts at once, then FIFO hand-off, whose queue makes contention (and so sleeping) certain.
 * The budget is restored afterwards. smp_call_all() and the barrier sleep with the same budget too.
 */
static void halting_run(struct test *t, unsigned k)
{
	uint32_t saved = lock_spin_budget;
	const struct lock_stats *st, *fst;	/* where they are depends on the kind: after the runs' inits */
	uint32_t saved_steal = lock_steal_budget;

	lock_spin_budget = 0;
	excl_halting = 1;
	excl_run(t, k);
	excl_halting = 0;
	st = any_lock_stats(&the_lock[k]);
	test_log("%s, sleeping at once: contended %llu halts %llu kicks %llu", lock_kind_name(k),
		 (unsigned long long)st->contended, (unsigned long long)st->halts, (unsigned long long)st->kicks);
	EXPECT_LE(t, st->halts, st->contended);
	if (k == LOCK_MCS)
		EXPECT_EQ(t, st->kicks, st->halts);	/* a successful halt is kicked exactly once */
	if (k == LOCK_QSPIN) {
		/* each sleep (on the node, as the head) is kicked once: at least one per halted acquisition */
		EXPECT_GE(t, st->kicks, st->halts);
	}
	if (smp_nharts() < 2) {
		lock_spin_budget = saved;
		test_log("%s: one hart: nobody waits, so neither halts nor the FIFO hand-off are checked",
			 lock_kind_name(k));
		return;
	}
	if (k == LOCK_QSPIN)
		lock_steal_budget = 0;		/* FIFO order is checked only without steals */
	fifo_run(t, k);
	fst = any_lock_stats(&fifo);
	lock_spin_budget = saved;
	lock_steal_budget = saved_steal;
	test_log("%s FIFO, sleeping at once: %u queued, contended %llu halts %llu kicks %llu", lock_kind_name(k),
		 fifo_n, (unsigned long long)fst->contended, (unsigned long long)fst->halts,
		 (unsigned long long)fst->kicks);
	/* every waiter queued behind a held lock, so (nearly) all of them slept */
	EXPECT_GT(t, fst->halts, 0);
	EXPECT_GT(t, fst->kicks, 0);
	if (k == LOCK_MCS)
		EXPECT_EQ(t, fst->kicks, fst->halts);
	if (k == LOCK_QSPIN) {
		EXPECT_GE(t, fst->kicks, fst->halts);
	}
}

static void locks_mcs_halting(struct test *t)
{
	halting_run(t, LOCK_MCS);
}

static void locks_ticket_halting(struct test *t)
{
	halting_run(t, LOCK_TICKET);
}

static void locks_qspin_halting(struct test *t)
{
	halting_run(t, LOCK_QSPIN);
}

/* ---- statistics of the exclusion runs ---- */

static void locks_stats_consistent(struct test *t)
{
	unsigned k, ran = 0;

	for (k = 0; k < LOCK_NKINDS; k++) {
		const struct lock_stats *st = any_lock_stats(&the_lock[k]);

		if (!excl_done[k])
			continue;
		ran++;
		test_log("%s: acquired %llu contended %llu spins %llu halts %llu kicks %llu wait total %llu max %llu",
			 lock_kind_name(k), (unsigned long long)st->acquired, (unsigned long long)st->contended,
			 (unsigned long long)st->spins, (unsigned long long)st->halts, (unsigned long long)st->kicks,
			 (unsigned long long)st->wait_total, (unsigned long long)st->wait_max);
		EXPECT_LE(t, st->contended, st->acquired);
		EXPECT_LE(t, st->wait_max, st->wait_total);
		EXPECT_LE(t, st->halts, st->contended);
		EXPECT_LE(t, st->steals, st->contended);
		/* only a contended acquisition spins or waits */
		if (!st->contended) {
			EXPECT_EQ(t, st->spins, 0);
			EXPECT_EQ(t, st->wait_total, 0);
		}
		/* one hart never waits for itself */
		if (excl_harts[k] == 1)
			EXPECT_EQ(t, st->contended, 0);
	}
	if (!ran)
		test_skip(t, "no mutual-exclusion run before this case");
}

TEST_SUITE(locks, TEST_CASE(locks_mcs_mutual_exclusion), TEST_CASE(locks_ticket_mutual_exclusion),
	   TEST_CASE(locks_tas_mutual_exclusion), TEST_CASE(locks_mcs_trylock), TEST_CASE(locks_mcs_fifo),
	   TEST_CASE(locks_ticket_fifo), TEST_CASE(locks_mcs_halting), TEST_CASE(locks_ticket_halting),
	   TEST_CASE(locks_qspin_mutual_exclusion), TEST_CASE(locks_qspin_trylock), TEST_CASE(locks_qspin_fifo),
	   TEST_CASE(locks_qspin_halting), TEST_CASE(locks_stats_consistent));
