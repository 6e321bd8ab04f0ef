/* shim.c - the host side of mm/env.h and tests/ktap.c: stdio output, a mutex for whole lines, thread ids. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernel/lock.h"
#include "mm/cpu.h"
#include "mm/env.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned next_self;
static __thread int self_id = -1;

/* mm/env.c formats mm_log() and mm_panic() (and tests/ktap.c its lines); here they reach stdio */
void mm_env_line(const char *line)
{
	pthread_mutex_lock(&out_lock);
	fputs(line, stdout);
	fputc('\n', stdout);
	pthread_mutex_unlock(&out_lock);
}

void mm_env_stop(const char *fn, const char *msg)
{
	fprintf(stderr, "panic: %s: %s\n", fn, msg);
	abort();
}

uint64_t mm_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned lock_self(void)
{
	return mm_self();
}

uint64_t lock_clock(void)
{
	return mm_clock();
}

/* host_set_self() - give the calling thread hart index @id (tests that start threads call it first). */
void host_set_self(unsigned id)
{
	if (id >= MM_MAX_HARTS)
		mm_panic(__func__, "hart index %u >= %d", id, MM_MAX_HARTS);
	self_id = (int)id;
}

/* Threads that never called host_set_self() get ids in the order they first ask. */
unsigned mm_self(void)
{
	if (self_id < 0) {
		self_id = (int)(__atomic_fetch_add(&next_self, 1, __ATOMIC_RELAXED) % MM_MAX_HARTS);
	}
	return (unsigned)self_id;
}

/* MCS nodes and the per-hart mm state of a host thread: thread-local, like a hart's CLS. */
static __thread struct mcs_node host_mcs[MCS_NEST_MAX];
static __thread unsigned host_mcs_depth;
/* padded like the kernel's CLS: mm_cpu_base() points MM_CPU_TP_OFFSET bytes before the struct */
static __thread struct {
	char cls_head[MM_CPU_TP_OFFSET];
	struct mm_cpu mm;
} host_cls;

struct mcs_node *mcs_node_get(void)
{
	if (host_mcs_depth >= MCS_NEST_MAX)
		mm_panic(__func__, "MCS nesting deeper than %d", MCS_NEST_MAX);
	return &host_mcs[host_mcs_depth++];
}

void mcs_node_put(struct mcs_node *n)
{
	(void)n;
	host_mcs_depth--;
}

/* a single-threaded harness that plays several harts gives each its own state (host_use_cpu()) */
static __thread struct mm_cpu *host_cpu;

void host_use_cpu(struct mm_cpu *c)
{
	host_cpu = c;
}

struct mm_cpu *mm_cpu_self(void)
{
	if (host_cpu)
		return host_cpu;
	host_cls.mm.hart = mm_self();
	return &host_cls.mm;
}

/*
 * lock_halt()/lock_kick(), kernel/lock.h's hooks, for threads: a per-thread "kick pending" flag (SIP.SSIP)
 * under a mutex, and a condition variable to sleep on (wfi). A sleep that lasts HOST_HALT_TIMEOUT_S
 * without a kick is counted in host_lost_wakeups and logged: the lock tests fail on any such timeout,
 * so a lost wake-up cannot hide behind the timeout. (No waiter here legitimately waits that long: a
 * few critical sections of microseconds at most.)
 */
#define HOST_HALT_TIMEOUT_S 10

static struct host_sleeper {
	pthread_mutex_t m;
	pthread_cond_t cv;
	int pending;
} host_sleepers[MM_MAX_HARTS];
static pthread_once_t host_sleepers_once = PTHREAD_ONCE_INIT;
uint32_t host_lost_wakeups;
uint64_t host_halts, host_kicks;
/* while set, a kick is recorded but the sleeper does not wake until host_hold_kicks(0) (a slow vCPU) */
static int host_kicks_held;

static void host_sleepers_init(void)
{
	pthread_condattr_t ca;
	unsigned i;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (i = 0; i < MM_MAX_HARTS; i++) {
		pthread_mutex_init(&host_sleepers[i].m, NULL);
		pthread_cond_init(&host_sleepers[i].cv, &ca);
	}
	pthread_condattr_destroy(&ca);
}

void lock_halt(void)
{
	struct host_sleeper *h;
	struct timespec until;
	int r = 0;

	pthread_once(&host_sleepers_once, host_sleepers_init);
	h = &host_sleepers[mm_self()];
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += HOST_HALT_TIMEOUT_S;
	__atomic_fetch_add(&host_halts, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&h->m);
	while (!(h->pending && !__atomic_load_n(&host_kicks_held, __ATOMIC_RELAXED)) && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&h->cv, &h->m, &until);
	/* like clearing SIP.SSIP after wfi: a kick from now on makes the next lock_halt() return at once */
	h->pending = 0;
	pthread_mutex_unlock(&h->m);
	if (r == ETIMEDOUT) {
		__atomic_fetch_add(&host_lost_wakeups, 1, __ATOMIC_RELAXED);
		mm_log("lock_halt: thread %u slept %d s without a kick (a lost wake-up?)", mm_self(),
		       HOST_HALT_TIMEOUT_S);
	}
}

void lock_kick(unsigned hart)
{
	struct host_sleeper *h;

	pthread_once(&host_sleepers_once, host_sleepers_init);
	h = &host_sleepers[hart % MM_MAX_HARTS];
	__atomic_fetch_add(&host_kicks, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&h->m);
	h->pending = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->m);
}

void host_hold_kicks(int hold)
{
	unsigned i;

	pthread_once(&host_sleepers_once, host_sleepers_init);
	__atomic_store_n(&host_kicks_held, hold, __ATOMIC_RELAXED);
	if (hold)
		return;
	/* each sleeper re-checks under its own mutex, so none misses the release */
	for (i = 0; i < MM_MAX_HARTS; i++) {
		pthread_mutex_lock(&host_sleepers[i].m);
		pthread_cond_broadcast(&host_sleepers[i].cv);
		pthread_mutex_unlock(&host_sleepers[i].m);
	}
}
