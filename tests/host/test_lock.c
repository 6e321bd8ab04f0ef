/* test_lock.c - the three spinlocks under pthreads: mutual exclusion, FIFO hand-off, statistics. */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "kernel/lock.h"
#include "mm/err.h"
#include "tests/host/host.h"
#include "tests/test.h"

#define THREADS 8
#define ITERS 5000

enum kind { K_MCS, K_TICKET, K_TAS };

static struct mcs_lock l_mcs;
static struct ticket_lock l_ticket;
static struct tas_lock l_tas;
static volatile uint64_t shared_counter;
static volatile int inside;
static int overlap_seen;

static void take(enum kind k)
{
	if (k == K_MCS)
		mcs_lock(&l_mcs);
	else if (k == K_TICKET)
		ticket_lock(&l_ticket);
	else
		tas_lock(&l_tas);
}

static void drop(enum kind k)
{
	if (k == K_MCS)
		mcs_unlock(&l_mcs);
	else if (k == K_TICKET)
		ticket_unlock(&l_ticket);
	else
		tas_unlock(&l_tas);
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
	for (i = 0; i < ITERS; i++) {
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
	const struct lock_stats *st = k == K_MCS ? &l_mcs.st : k == K_TICKET ? &l_ticket.st : &l_tas.st;
	unsigned i;

	mcs_init(&l_mcs);
	ticket_init(&l_ticket);
	tas_init(&l_tas);
	shared_counter = 0;
	overlap_seen = 0;
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ k, i };
		ASSERT_EQ(t, pthread_create(&th[i], NULL, hammer, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(t, shared_counter, (uint64_t)THREADS * ITERS);
	EXPECT_FALSE(t, overlap_seen);
	EXPECT_EQ(t, st->acquired, (uint64_t)THREADS * ITERS);
	EXPECT_LE(t, st->contended, st->acquired);
	EXPECT_GE(t, st->wait_total, st->wait_max);
	test_log("acquired=%llu contended=%llu max_wait_ns=%llu", (unsigned long long)st->acquired,
		 (unsigned long long)st->contended, (unsigned long long)st->wait_max);
}

static void lock_mcs_mutual_exclusion(struct test *t) { run_hammer(t, K_MCS); }
static void lock_ticket_mutual_exclusion(struct test *t) { run_hammer(t, K_TICKET); }
static void lock_tas_mutual_exclusion(struct test *t) { run_hammer(t, K_TAS); }

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
	return __atomic_load_n(&l_mcs.tail, __ATOMIC_ACQUIRE) != queued_tail;
}

static void run_fifo(struct test *t, enum kind k)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	unsigned i;

	mcs_init(&l_mcs);
	ticket_init(&l_ticket);
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

static void lock_mcs_trylock(struct test *t)
{
	mcs_init(&l_mcs);
	EXPECT_TRUE(t, mcs_trylock(&l_mcs));
	EXPECT_EQ(t, l_mcs.st.acquired, 1);
	mcs_unlock(&l_mcs);
	EXPECT_TRUE(t, l_mcs.tail == NULL);
}

TEST_SUITE(host_locks, TEST_CASE(lock_mcs_mutual_exclusion), TEST_CASE(lock_ticket_mutual_exclusion),
	   TEST_CASE(lock_tas_mutual_exclusion), TEST_CASE(lock_mcs_fifo), TEST_CASE(lock_ticket_fifo),
	   TEST_CASE(lock_mcs_trylock));
