/* bench.c - benchmarks printed on the console as "bench: name=... key=value" lines. */
#include <stdio.h>
#include <string.h>

#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/lock.h"
#include "kernel/printk.h"
#include "kernel/smp.h"
#include "mm/heap.h"
#include "platform/csr.h"

/*
 * Instruction counts: under ICOUNT=1 (-icount shift=0,sleep=off) instret counts guest instructions
 * exactly and repeatably. It sums over all harts, so single-hart figures run on the boot hart while the
 * others sleep in wfi (they execute nothing). Each figure is (instret over N iterations - the same loop
 * with an empty body) / N, the best of a few repeats.
 */
#define BENCH_ITERS 2000
#define BENCH_REPEAT 3

static uint64_t empty_cost;

static void __attribute__((noinline)) empty_body(void *arg)
{
	__asm__ volatile("" ::"r"(arg) : "memory");
}

static uint64_t measure(void (*body)(void *), void *arg)
{
	uint64_t best = ~0ULL;
	int r, i;

	for (r = 0; r < BENCH_REPEAT; r++) {
		uint64_t t0 = rdinstret(), d;

		for (i = 0; i < BENCH_ITERS; i++)
			body(arg);
		d = rdinstret() - t0;
		if (d < best)
			best = d;
	}
	return best;
}

/* per-iteration cost of @body minus the empty loop, in hundredths of an instruction */
static uint64_t per_iter_x100(void (*body)(void *), void *arg)
{
	uint64_t c = measure(body, arg);

	c = c > empty_cost ? c - empty_cost : 0;
	return c * 100 / BENCH_ITERS;
}

static void print_x100(const char *prefix, uint64_t v, const char *key)
{
	printk("%s %s=%llu.%02llu\n", prefix, key, (unsigned long long)(v / 100), (unsigned long long)(v % 100));
}

static struct mcs_lock b_mcs;
static struct ticket_lock b_ticket;
static struct tas_lock b_tas;

static void __attribute__((noinline)) body_mcs(void *a) { mcs_lock(&b_mcs); mcs_unlock(&b_mcs); }
static void __attribute__((noinline)) body_ticket(void *a) { ticket_lock(&b_ticket); ticket_unlock(&b_ticket); }
static void __attribute__((noinline)) body_tas(void *a) { tas_lock(&b_tas); tas_unlock(&b_tas); }

static void bench_lock_pair(void)
{
	char p[64];

	mcs_init(&b_mcs);
	ticket_init(&b_ticket);
	tas_init(&b_tas);
	snprintf(p, sizeof(p), "bench: name=lock_pair lock=mcs");
	print_x100(p, per_iter_x100(body_mcs, NULL), "insn_per_pair");
	snprintf(p, sizeof(p), "bench: name=lock_pair lock=ticket");
	print_x100(p, per_iter_x100(body_ticket, NULL), "insn_per_pair");
	snprintf(p, sizeof(p), "bench: name=lock_pair lock=tas");
	print_x100(p, per_iter_x100(body_tas, NULL), "insn_per_pair");
}

struct heap_pair_arg {
	unsigned cluster;
	size_t size;
};

static void __attribute__((noinline)) body_heap_pair(void *a)
{
	struct heap_pair_arg *p = a;
	void *x;

	if (!heap_alloc(p->cluster, p->size, &x))
		heap_free(x);
}

/*
 * The heap straight (lock included, no per-hart cache): "steady" holds the block's buddy so that the
 * pair pops and pushes one free-list entry, the common state of a heap in use; "splitmerge" starts from
 * a heap whose smallest free block is far larger, so each pair splits down and merges back up.
 */
static void bench_buddy_pair(void)
{
	unsigned c = cls_self()->cluster;
	size_t size;

	if (!heap_of(c)->size)
		c = 0;
	for (size = 64; size <= (1u << 20); size <<= 2) {
		struct heap_pair_arg a = { c, size };
		void *x, *y;
		char p[96];

		print_x100((snprintf(p, sizeof(p), "bench: name=buddy_pair size=%zu mode=splitmerge", size), p),
			   per_iter_x100(body_heap_pair, &a), "insn_per_pair");
		if (heap_alloc(c, size, &x) || heap_alloc(c, size, &y))
			continue;
		heap_free(x);
		print_x100((snprintf(p, sizeof(p), "bench: name=buddy_pair size=%zu mode=steady", size), p),
			   per_iter_x100(body_heap_pair, &a), "insn_per_pair");
		heap_free(y);
	}
}

int bench_main(const char *which)
{
	printk("bench: header lock=%s harts=%u clusters=%u iters=%d repeat=%d\n", LOCK_KIND_NAME, smp_nharts(),
	       boot_topo.nclusters, BENCH_ITERS, BENCH_REPEAT);
	empty_cost = measure(empty_body, NULL);
	printk("bench: name=empty_loop insn_per_iter=%llu\n", (unsigned long long)(empty_cost / BENCH_ITERS));
	bench_lock_pair();
	bench_buddy_pair();
	return 0;
}
