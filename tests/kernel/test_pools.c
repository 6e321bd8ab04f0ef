/*
 * test_pools.c - the seed's pool models on real cluster memory: a memory_pool and a page_pool built over
 * blocks of each cluster's heap, grown with memory_pool_extend()/page_pool_extend(), exercised with
 * allocations, resizes, reservations and checked frees from the boot hart, then given back.
 */
#include <string.h>

#include "kernel/kernel.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/memory_pool.h"
#include "mm/page_pool.h"
#include "tests/test.h"

#define CHUNK ((size_t)256 << 10)	/* each pool starts on one chunk and is extended by a second */
#define NBLK 64

/* two chunks of cluster c's own memory (strict proximity); false (nothing held) if it has no room */
static bool two_chunks(unsigned c, void **a, void **b)
{
	*a = *b = NULL;
	if (mem_alloc(CHUNK, mem_prox_strict(c), MEM_VALID_SYS, a) ||
	    mem_alloc(CHUNK, mem_prox_strict(c), MEM_VALID_SYS, b)) {
		mem_free(*a);
		*a = NULL;
		return false;
	}
	return true;
}

static void memory_pool_one(struct test *t, unsigned c, void *a, void *b)
{
	struct memory_pool_s *mp = NULL;
	struct memory_pool_stats st0, st;
	void *blk[NBLK], *p, *q;
	uint64_t seed = test_seed_for(NULL, 0x700 + c);
	char why[120];
	unsigned i;

	ASSERT_OK(t, memory_pool_init(a, (char *)a + CHUNK, &mp));
	ASSERT_OK(t, memory_pool_extend(mp, b, (char *)b + CHUNK));
	memory_pool_get_stats(mp, &st0);
	EXPECT_GE(t, st0.total, 2 * CHUNK - 4096);
	/* blocks of random sizes, each filled, from both ranges */
	for (i = 0; i < NBLK; i++) {
		size_t sz = 16 + test_rand(&seed) % 6000;

		ASSERT_OK(t, memory_pool_alloc(mp, sz, &blk[i]));
		memset(blk[i], (int)i, sz);
		EXPECT_TRUE(t, memory_pool_owns(mp, blk[i]));
	}
	EXPECT_OK(t, memory_pool_check(mp, why, sizeof(why)));
	/* resize: grow one (its contents kept), shrink another */
	ASSERT_OK(t, memory_pool_resize(blk[3], 20000, &p));
	EXPECT_EQ(t, ((unsigned char *)p)[15], 3);
	blk[3] = p;
	ASSERT_OK(t, memory_pool_resize(blk[5], 16, &q));
	EXPECT_TRUE(t, q == blk[5]);	/* a shrink stays in place */
	/* refusals: interior, misaligned, a double free */
	EXPECT_ERR(t, memory_pool_free(mp, (char *)blk[7] + 16), ERR_INTERIOR);
	EXPECT_ERR(t, memory_pool_free(mp, (char *)blk[7] + 8), ERR_MISALIGNED);
	EXPECT_OK(t, memory_pool_free(mp, blk[7]));
	EXPECT_ERR(t, memory_pool_free(mp, blk[7]), ERR_DOUBLEFREE);
	blk[7] = NULL;
	for (i = 0; i < NBLK; i++)
		if (blk[i])
			EXPECT_OK(t, memory_pool_free(mp, blk[i]));
	/* a reservation in the middle of the second range, then everything else is still usable */
	EXPECT_OK(t, memory_pool_reserve(mp, (char *)b + CHUNK / 2, 4096));
	memory_pool_get_stats(mp, &st);
	EXPECT_EQ(t, st.used, 0);
	EXPECT_EQ(t, st.nreserved_blocks, 1);
	EXPECT_OK(t, memory_pool_alloc(mp, CHUNK / 4, &p));
	EXPECT_OK(t, memory_pool_free(mp, p));
	EXPECT_OK(t, memory_pool_check(mp, why, sizeof(why)));
}

static void page_pool_one(struct test *t, unsigned c, void *a, void *b)
{
	static struct page_pool_s pp;
	struct page_pool_stats st0, st;
	uintptr_t run[NBLK];
	uint64_t seed = test_seed_for(NULL, 0x800 + c);
	char why[120];
	size_t sz, used = 0, pages = 0;
	unsigned i, n = 0;
	error_t e = 0;

	ASSERT_OK(t, page_pool_init(&pp, (uintptr_t)a, (uintptr_t)a + CHUNK));
	ASSERT_OK(t, page_pool_extend(&pp, (uintptr_t)b, (uintptr_t)b + CHUNK));
	page_pool_get_stats(&pp, &st0);
	EXPECT_EQ(t, st0.nranges, 2);
	EXPECT_EQ(t, st0.free_pages, st0.total_pages);
	/* runs of 1..8 pages until none fits, every page written */
	while (n < NBLK) {
		pages = 1 + test_rand(&seed) % 8;

		if ((e = page_pool_alloc(&pp, pages * PAGE_POOL_PAGE_SIZE, &run[n])))
			break;
		used += pages;
		EXPECT_EQ(t, run[n] & (PAGE_POOL_PAGE_SIZE - 1), 0);
		memset((void *)run[n], 0x5c, pages * PAGE_POOL_PAGE_SIZE);
		EXPECT_OK(t, page_pool_getsize(&pp, run[n], &sz));
		EXPECT_EQ(t, sz, pages * PAGE_POOL_PAGE_SIZE);
		n++;
	}
	EXPECT_GT(t, n, 8);
	/* the pool counts exactly the pages handed out; the loop ended because the last run did not fit */
	page_pool_get_stats(&pp, &st);
	EXPECT_EQ(t, st.nruns, n);
	EXPECT_EQ(t, st.free_pages, st0.free_pages - used);
	if (n < NBLK) {
		EXPECT_ERR(t, e, ERR_NOMEM);
		EXPECT_LT(t, st.largest_free_run, pages);
	}
	EXPECT_OK(t, page_pool_check(&pp, why, sizeof(why)));
	EXPECT_ERR(t, page_pool_free(&pp, run[0] + 64), ERR_MISALIGNED);
	EXPECT_ERR(t, page_pool_free(&pp, 0x1000), ERR_NOTOWNED);	/* in neither range */
	for (i = 0; i < n; i++)
		EXPECT_OK(t, page_pool_free(&pp, run[i]));
	EXPECT_ERR(t, page_pool_free(&pp, run[0]), ERR_DOUBLEFREE);
	page_pool_get_stats(&pp, &st);
	EXPECT_EQ(t, st.free_pages, st0.free_pages);
	EXPECT_EQ(t, st.nruns, 0);
	EXPECT_OK(t, page_pool_check(&pp, why, sizeof(why)));
}

/* every cluster with a heap: its own memory backs the pools (what a region of that cluster would be) */
static void run_on_clusters(struct test *t, void (*one)(struct test *, unsigned, void *, void *))
{
	unsigned c, done = 0, full = 0;

	for (c = 0; c < boot_topo.nclusters; c++) {
		void *a, *b;

		if (!heap_of(c) || !heap_of(c)->size)
			continue;
		if (!two_chunks(c, &a, &b)) {
			full++;
			continue;
		}
		one(t, c, a, b);
		mem_free(a);
		mem_free(b);
		done++;
		if (t->failures)
			break;
	}
	if (!done)
		test_skip(t, "no cluster has two free 256 KiB blocks");
	else
		test_log("%u cluster(s), %u with a heap but without two free 256 KiB blocks: not tried", done,
			 full);
}

static void pools_memory_pool_on_cluster_ram(struct test *t)
{
	run_on_clusters(t, memory_pool_one);
}

static void pools_page_pool_on_cluster_ram(struct test *t)
{
	run_on_clusters(t, page_pool_one);
}

TEST_SUITE(pools, TEST_CASE(pools_memory_pool_on_cluster_ram), TEST_CASE(pools_page_pool_on_cluster_ram));
