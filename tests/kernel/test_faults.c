/* test_faults.c - fault injection (heap_limit=, refill_fail=): fallbacks in distance order, clear errors, recovery. */
#include <string.h>

#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/smp.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "tests/test.h"

static const char *no_faults(void)
{
	return kopts.heap_limit[0] || kopts.refill_fail ? NULL : "no heap_limit= or refill_fail= bootarg";
}

/* the first limited cluster (heap smaller than its RAM) that has a neighbour with memory */
static int limited_cluster(void)
{
	unsigned c;

	for (c = 0; c < boot_topo.nclusters; c++)
		if (boot_topo.cluster[c].mem.size && heap_of(c)->size < boot_topo.cluster[c].mem.size / 2)
			return (int)c;
	return -1;
}

static void faults_fallback_in_distance_order(struct test *t)
{
	int c = limited_cluster();
	static unsigned order[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	unsigned i, n, served, mind = 255;
	void *list = NULL, *p;
	struct mem_receipt r;

	if (c < 0) {
		test_skip(t, "no heap_limit= cluster");
		return;
	}
	/* every hart's empty slabs back first (twice: remote frees sent, then freed by their owners) */
	smp_mem_drain_all();
	n = mem_prox_order((unsigned)c, order, TOPO_MAX_CLUSTERS);
	ASSERT_GE(t, n, 1);
	/* the nearest other cluster that can take a 16 KiB block now */
	for (i = 0; i < boot_topo.nclusters; i++) {
		struct heap_stats st;

		heap_get_stats(heap_of(i), &st);
		if (i != (unsigned)c && st.largest_free >= 16384 && boot_topo.cluster[c].dist[i] < mind)
			mind = boot_topo.cluster[c].dist[i];
	}
	if (mind == 255) {
		test_skip(t, "no other cluster has a free 16 KiB block (tiny heaps)");
		return;
	}
	/* fill the limited heap (if it has anything), then the next block must come from the nearest other */
	served = (unsigned)c;	/* stays c when no block came from elsewhere (was 0: cluster 0 passed for it) */
	for (i = 0; i < 100000; i++) {
		ASSERT_OK(t, mem_alloc_receipt(16384, mem_prox_cluster((unsigned)c), MEM_VALID_SYS, &p, &r));
		*(void **)p = list;
		list = p;
		if (r.cluster != (unsigned)c) {
			served = r.cluster;
			break;
		}
	}
	ASSERT_NE(t, served, (unsigned)c);
	EXPECT_TRUE(t, r.fallback || !heap_of((unsigned)c)->size);
	EXPECT_EQ(t, boot_topo.cluster[c].dist[served], mind);
	while (list) {
		p = list;
		list = *(void **)p;
		EXPECT_OK(t, mem_free_checked(p));
	}
	mem_drain();
}

static void faults_strict_errors_and_recovery(struct test *t)
{
	int c = limited_cluster();
	void *list = NULL, *p = NULL;
	struct heap_stats before, after;
	error_t e;

	if (c < 0) {
		test_skip(t, "no heap_limit= cluster");
		return;
	}
	if (!heap_of((unsigned)c)->size) {
		EXPECT_ERR(t, mem_alloc(64, mem_prox_strict((unsigned)c), MEM_VALID_SYS, &p), ERR_NOHEAP);
		test_log("cluster %d: heap_limit=%d:0 leaves no heap: no exhaustion or recovery to check", c, c);
		return;
	}
	heap_get_stats(heap_of((unsigned)c), &before);
	while (!(e = mem_alloc(1024, mem_prox_strict((unsigned)c), MEM_VALID_SYS, &p))) {
		*(void **)p = list;
		list = p;
	}
	EXPECT_ERR(t, e, ERR_EXHAUSTED);
	while (list) {
		p = list;
		list = *(void **)p;
		EXPECT_OK(t, mem_free_checked(p));
	}
	mem_drain();	/* frees of another cluster's blocks travel home in batches */
	heap_get_stats(heap_of((unsigned)c), &after);
	EXPECT_EQ(t, after.free_bytes, before.free_bytes);
	EXPECT_OK(t, mem_alloc(1024, mem_prox_strict((unsigned)c), MEM_VALID_SYS, &p));
	EXPECT_OK(t, mem_free_checked(p));
}

static uint32_t refill_errors;

static void refill_body(void *arg)
{
	void *p[16];
	unsigned i, k;

	for (k = 0; k < 200; k++) {
		for (i = 0; i < 16; i++)
			if (mem_alloc(64u << (i % 7), NULL, MEM_VALID_SYS, &p[i]))
				__atomic_fetch_add(&refill_errors, 1, __ATOMIC_RELAXED), p[i] = NULL;
		for (i = 0; i < 16; i++)
			if (p[i] && mem_free_checked(p[i]))
				__atomic_fetch_add(&refill_errors, 1, __ATOMIC_RELAXED);
	}
	mem_drain();
}

static void faults_refill_failures_are_survived(struct test *t)
{
	static uint64_t free_before[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	uint64_t faults = 0;
	struct heap_stats st;
	unsigned c, i;

	if (!kopts.refill_fail) {
		test_skip(t, "no refill_fail= bootarg");
		return;
	}
	/* twice: remote frees sent in the first round are freed by their owners in the second */
	smp_mem_drain_all();
	for (c = 0; c < boot_topo.nclusters; c++) {
		heap_get_stats(heap_of(c), &st);
		free_before[c] = st.free_bytes;
	}
	refill_errors = 0;
	smp_call_all(refill_body, NULL);
	EXPECT_EQ(t, refill_errors, 0);
	for (i = 0; i < boot_topo.nharts; i++)
		if (cls_of(i))
			faults += cls_of(i)->mm.refill_faults;
	EXPECT_GT(t, faults, 0);
	test_log("refill faults injected: %llu", (unsigned long long)faults);
	for (c = 0; c < boot_topo.nclusters; c++) {
		heap_get_stats(heap_of(c), &st);
		EXPECT_EQ(t, st.free_bytes, free_before[c]);
		EXPECT_OK(t, heap_check(heap_of(c), (char[96]){ 0 }, 96));
	}
}

TEST_SUITE_SKIP_IF(faults, no_faults, TEST_CASE(faults_fallback_in_distance_order),
		   TEST_CASE(faults_strict_errors_and_recovery), TEST_CASE(faults_refill_failures_are_survived));
