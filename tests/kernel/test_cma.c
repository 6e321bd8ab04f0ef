/* test_cma.c - CMA regions in the kernel: device assignment, alignment up to 1 MiB, -ENOENT, exhaustion. */
#include <string.h>

#include "kernel/bootargs.h"
#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "mm/cma.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "tests/test.h"

static struct cma_region *first_region;

static void pick_first(struct cma_region *r, void *arg)
{
	if (!first_region)
		first_region = r;
}

static const char *no_regions(void)
{
	first_region = NULL;
	cma_for_each(pick_first, NULL);
	return first_region ? NULL : "no cma= bootarg on this topology";
}

static void cma_by_region_and_device(struct test *t)
{
	struct cma_region *r, *byname;
	struct cma_info in;
	uintptr_t a;

	ASSERT_OK(t, cma_find(first_region->name, &byname));
	EXPECT_TRUE(t, byname == first_region);
	cma_region_info(first_region, &in);
	/* a device assigned to a region finds that region; an unknown device finds "default" or nothing */
	if (!cma_find("virtio0", &r))
		test_log("virtio0 -> region %s", r->name);
	if (cma_find("default", &r))
		EXPECT_ERR(t, cma_find("no-such-device", &r), ERR_NODEV);
	else
		EXPECT_OK(t, cma_find("no-such-device", &r));
	ASSERT_OK(t, cma_alloc(first_region->name, 8192, 0, &a));
	EXPECT_TRUE(t, cma_region_owns(first_region, a));
	EXPECT_EQ(t, a & (CMA_PAGE_SIZE - 1), 0);
	EXPECT_TRUE(t, mem_is_dma((void *)a, 8192));
	EXPECT_OK(t, cma_free(a));
}

static void cma_alignment_up_to_1m(struct test *t)
{
	struct cma_info in;
	size_t align;
	uintptr_t a;

	cma_region_info(first_region, &in);
	for (align = 4096; align <= (1u << 20); align <<= 1) {
		if (align + 65536 > in.total)
			break;
		/* a 64 KiB chunk aligned far beyond its size */
		ASSERT_OK(t, cma_alloc(first_region->name, 65536, align, &a));
		EXPECT_EQ(t, a & (align - 1), 0);
		EXPECT_OK(t, cma_free(a));
	}
	if (align <= (1u << 20))
		test_log("region %s holds 0x%llx bytes: alignments 0x%lx to 1 MiB not tried", first_region->name,
			 (unsigned long long)in.total, (unsigned long)align);
	ASSERT_OK(t, cma_alloc(first_region->name, 4096, 1, &a));	/* raised to a page */
	EXPECT_EQ(t, a & (CMA_PAGE_SIZE - 1), 0);
	EXPECT_OK(t, cma_free(a));
	EXPECT_ERR(t, cma_alloc(first_region->name, 4096, 12288, &a), ERR_ALIGN);
	EXPECT_ERR(t, cma_alloc(first_region->name, 0, 4096, &a), ERR_SIZE);
	/* an unknown name: ERR_NODEV, or a chunk of "default" when there is one (freed: later cases count it) */
	if (cma_find("default", &(struct cma_region *){ 0 })) {
		EXPECT_ERR(t, cma_alloc("no-such-region-or-device-at-all", 4096, 0, &a), ERR_NODEV);
	} else {
		EXPECT_OK(t, cma_alloc("no-such-region-or-device-at-all", 4096, 0, &a));
		EXPECT_OK(t, cma_free(a));
	}
}

static void cma_bad_free_is_enoent(struct test *t)
{
	struct cma_info before, after;
	uintptr_t a;

	ASSERT_OK(t, cma_alloc(first_region->name, 16384, 0, &a));
	cma_region_info(first_region, &before);
	EXPECT_EQ(t, cma_free(a + 4096), ERR_NOENT);	/* inside a chunk: -ENOENT */
	EXPECT_EQ(t, cma_free(a + 100), ERR_NOENT);
	EXPECT_EQ(t, cma_free(0x1000), ERR_NOENT);	/* in no region */
	cma_region_info(first_region, &after);
	EXPECT_EQ(t, after.free, before.free);
	EXPECT_EQ(t, after.chunks, before.chunks);
	EXPECT_OK(t, cma_free(a));
	EXPECT_EQ(t, cma_free(a), ERR_NOENT);	/* already freed */
	EXPECT_OK(t, cma_region_check(first_region, (char[96]){ 0 }, 96));
}

static void cma_exhaustion_and_recovery(struct test *t)
{
	static uintptr_t chunks[1024];
	struct cma_info in, full;
	unsigned n = 0, i;
	uintptr_t a;
	error_t e;

	cma_region_info(first_region, &in);
	while (n < 1024 && !(e = cma_alloc(first_region->name, in.total / 16, 0, &a)))
		chunks[n++] = a;
	EXPECT_ERR(t, e, ERR_EXHAUSTED);
	/* the region may hold live chunks already (the console's `alloc ... dma`): then fewer fit */
	if (!in.chunks)
		EXPECT_EQ(t, n, 16);
	else if (in.free_ranges == 1)
		EXPECT_EQ(t, n, in.largest_free / (in.total / 16));
	else {
		/* at least what the largest free range holds, at most what all of them could */
		EXPECT_GE(t, n, in.largest_free / (in.total / 16));
		EXPECT_LE(t, n, in.free / (in.total / 16));
	}
	cma_region_info(first_region, &full);
	EXPECT_LT(t, full.largest_free, in.total / 16);
	EXPECT_GT(t, full.failures, in.failures);
	for (i = 0; i < n; i++)
		EXPECT_OK(t, cma_free(chunks[i]));
	cma_region_info(first_region, &full);
	EXPECT_EQ(t, full.free, in.free);
	EXPECT_EQ(t, full.largest_free, in.largest_free);
	EXPECT_OK(t, cma_region_check(first_region, (char[96]){ 0 }, 96));
	cma_print_info();
}

static void cma_large_dma_mem_alloc(struct test *t)
{
	struct cma_region *def;
	struct mem_receipt r;
	unsigned c, home, held = ~0u, nearer = 0;
	void *p;

	if (cma_find("default", &def)) {
		test_skip(t, "no region named default");
		return;
	}
	ASSERT_OK(t, mem_alloc_receipt(128 * 1024, NULL, MEM_VALID_DMA, &p, &r));
	EXPECT_TRUE(t, cma_region_owns(def, (uintptr_t)p));
	EXPECT_EQ(t, strcmp(r.region, "cma:default"), 0);
	/* the receipt names the cluster whose RAM holds the block, ranked in the caller's order */
	home = cls_self()->cluster;
	for (c = 0; c < boot_topo.nclusters; c++)
		if ((uintptr_t)p - boot_topo.cluster[c].mem.base < boot_topo.cluster[c].mem.size)
			held = c;
	EXPECT_EQ(t, r.cluster, held);
	EXPECT_EQ(t, r.fallback, r.rank > 0);
	/* its rank: the clusters with a heap nearer to the caller's than it (equally near ones share a place) */
	for (c = 0; c < boot_topo.nclusters; c++)
		nearer += heap_of(c) && heap_of(c)->size &&
			  boot_topo.cluster[home].dist[c] < boot_topo.cluster[home].dist[held];
	EXPECT_EQ(t, r.rank, nearer);
	EXPECT_TRUE(t, mem_is_dma(p, 128 * 1024));
	EXPECT_OK(t, mem_free_checked(p));
}

/* the errors a bad cma= bootarg meets at boot: malformed spec, overlap with a region, unaligned range */
static void cma_bad_declarations(struct test *t)
{
	struct cma_spec spec;
	struct cma_info in;
	static char meta[4096] __attribute__((aligned(16)));

	EXPECT_ERR(t, bootargs_parse_cma("dma0", &spec), ERR_INVAL);		/* no size */
	EXPECT_ERR(t, bootargs_parse_cma("dma0:12Q", &spec), ERR_INVAL);		/* bad suffix */
	EXPECT_ERR(t, bootargs_parse_cma(":4M", &spec), ERR_INVAL);		/* no name */
	EXPECT_ERR(t, bootargs_parse_cma("x:4M@256", &spec), ERR_INVAL);		/* no such cluster (>= TOPO_MAX_CLUSTERS) */
	EXPECT_OK(t, bootargs_parse_cma("x:4M@1:virtio0,eth0:exclusive", &spec));
	EXPECT_EQ(t, spec.size, 4 << 20);
	EXPECT_EQ(t, spec.cluster, 1);
	EXPECT_EQ(t, spec.ndevs, 2);
	EXPECT_TRUE(t, spec.exclusive);
	cma_region_info(first_region, &in);
	/* a second region over the first one's memory, and one over the firmware's start: refused */
	EXPECT_ERR(t, cma_declare("overlap", in.base, 8192, meta, sizeof(meta), NULL), ERR_OVERLAP);
	EXPECT_ERR(t, cma_declare("unaligned", in.base + in.total + 100, 8192, meta, sizeof(meta), NULL), ERR_ALIGN);
	EXPECT_ERR(t, cma_declare(first_region->name, 0x1000, 8192, meta, sizeof(meta), NULL), ERR_INVAL);
	EXPECT_ERR(t, cma_find("overlap", &(struct cma_region *){ 0 }),
		   cma_find("default", &(struct cma_region *){ 0 }) ? ERR_NODEV : 0);
}

TEST_SUITE_SKIP_IF(cma, no_regions, TEST_CASE(cma_bad_declarations), TEST_CASE(cma_by_region_and_device), TEST_CASE(cma_alignment_up_to_1m),
		   TEST_CASE(cma_bad_free_is_enoent), TEST_CASE(cma_exhaustion_and_recovery),
		   TEST_CASE(cma_large_dma_mem_alloc));
