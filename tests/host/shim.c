/* shim.c - the host side of mm/env.h and tests/ktap.c: stdio output, a mutex for whole lines, thread ids. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernel/lock.h"
#include "mm/cpu.h"
#include "mm/env.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned next_self;
static __thread int self_id = -1;

void test_out(const char *line)
{
	pthread_mutex_lock(&out_lock);
	fputs(line, stdout);
	fputc('\n', stdout);
	pthread_mutex_unlock(&out_lock);
}

void mm_log(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	test_out(buf);
}

void mm_panic(const char *fn, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "panic: %s: %s\n", fn, buf);
	abort();
}

uint64_t mm_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

struct mm_cpu *mm_cpu_self(void)
{
	host_cls.mm.hart = mm_self();
	return &host_cls.mm;
}
