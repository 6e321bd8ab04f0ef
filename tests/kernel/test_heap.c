/* test_heap.c - in-kernel suites for kernel_heap[x][y]: placement, errors, exhaustion, bad frees, stress. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/smp.h"
#include "mm/env.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "tests/test.h"

extern char __kernel_start[], __kernel_end[];

#define KIB (1UL << 10)
#define MIB (1UL << 20)

/* ---- helpers ---- */

/* block_size() - the block a request of @size bytes gets: the next power of two >= MIN_BLOCK_SIZE. */
static size_t block_size(size_t size)
{
	size_t b = MIN_BLOCK_SIZE;

	while (b < size)
		b <<= 1;
	return b;
}

/*
 * no_block_error() - what heap_alloc() must answer for @size when @h has no free block for it: ERR_SIZE
 * when no block of that size could ever fit the heap (larger than its RAM or its largest order),
 * ERR_NOMEM when one could but none is free now.
 */
static error_t no_block_error(const struct heap *h, size_t size)
{
	return size > h->size || block_size(size) > (1ull << h->b.max_order) ? ERR_SIZE : ERR_NOMEM;
}

/* in_ram() - [a, a + len) lies inside cluster @c's RAM as the device tree gives it. */
static int in_ram(unsigned c, uintptr_t a, uint64_t len)
{
	const struct topo_range *m = &boot_topo.cluster[c].mem;

	return m->size && a >= m->base && len <= m->size && a - m->base <= m->size - len;
}

static int overlaps(uintptr_t a, uint64_t alen, uintptr_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* ram_cluster() - the cluster whose RAM holds @a, or -1. */
static int ram_cluster(uintptr_t a)
{
	unsigned c;

	for (c = 0; c < boot_topo.nclusters; c++)
		if (in_ram(c, a, 1))
			return (int)c;
	return -1;
}

static int has_heap(unsigned c)
{
	return heap_of(c) && heap_of(c)->size != 0;
}

/*
 * block_bad() - why the block @p from a request of @size bytes in cluster @c is wrong (0: it is right):
 * 1 not in the cluster's RAM, 2 not aligned to its block size, 4 heap_getsize() disagrees (asked only
 * if @getsize: it takes the heap lock), 8 heap_owner() names another heap. Touches the first and last
 * byte. Usable from any hart.
 */
static unsigned block_bad_(unsigned c, void *p, size_t size, int getsize)
{
	size_t want = block_size(size), got = 0;
	uintptr_t a = (uintptr_t)p;
	unsigned bad = 0;

	if (!in_ram(c, a, want))
		return 1;
	if (a & (want - 1))
		bad |= 2;
	if (getsize && (heap_getsize(p, &got) || got != want))
		bad |= 4;
	if (heap_owner(p) != heap_of(c) || heap_owner((char *)p + want - 1) != heap_of(c))
		bad |= 8;
	((volatile char *)p)[0] = (char)0x5a;
	((volatile char *)p)[want - 1] = (char)0xa5;
	return bad;
}

static unsigned block_bad(unsigned c, void *p, size_t size)
{
	return block_bad_(c, p, size, 1);
}

/* check_all_heaps() - heap_check() on every heap; each failure is one EXPECT with the reason logged. */
static void check_all_heaps(struct test *t)
{
	unsigned c;

	for (c = 0; c < heap_count(); c++) {
		char why[160] = "";
		error_t e = heap_check(heap_of(c), why, sizeof(why));

		if (e)
			test_log("cluster %u: heap_check: %s", c, why);
		EXPECT_OK(t, e);
	}
}

/* ---- per-cluster allocation ---- */

static const size_t sizes[] = { 1, 64, 65, 4096, 1 * MIB };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void heap_alloc_each_cluster(struct test *t)
{
	unsigned c, i, j, tested = 0;

	for (c = 0; c < heap_count(); c++) {
		struct heap *h = heap_of(c);
		const struct topo_cluster *tc = &boot_topo.cluster[c];
		struct heap_stats before, after;
		void *p[2 * NSIZES] = { 0 };
		size_t want[2 * NSIZES];
		size_t dummy;
		unsigned got = 0, nomem = 0;

		if (!has_heap(c))
			continue;
		tested++;
		heap_get_stats(h, &before);
		for (i = 0; i < 2 * NSIZES; i++) {
			size_t size = sizes[i / 2];
			struct heap_stats now;
			error_t e;

			/* a tiny heap (heap_limit=) may have no block that large: then it must say so */
			heap_get_stats(h, &now);
			want[i] = block_size(size);
			e = i & 1 ? remote_malloc(size, tc->x, tc->y, &p[i]) : heap_alloc(c, size, &p[i]);
			if (want[i] <= now.largest_free) {
				EXPECT_OK(t, e);
			} else {
				EXPECT_ERR(t, e, no_block_error(h, size));
				nomem += e == ERR_NOMEM;
				if (!e)
					heap_free(p[i]);
				test_log("cluster %u: no free block of %lu bytes (largest 0x%llx)", c,
					 (unsigned long)want[i], (unsigned long long)now.largest_free);
			}
			if (e)
				p[i] = NULL;
			else
				got++;
		}
		for (i = 0; i < 2 * NSIZES; i++) {
			unsigned bad;

			if (!p[i])
				continue;
			bad = block_bad(c, p[i], want[i]);
			if (bad)
				test_log("cluster %u: %s(%lu) = %p: check mask 0x%x", c,
					 i & 1 ? "remote_malloc" : "heap_alloc", (unsigned long)sizes[i / 2],
					 p[i], bad);
			EXPECT_EQ(t, bad, 0);
			for (j = 0; j < i; j++)
				if (p[j])
					EXPECT_FALSE(t, overlaps((uintptr_t)p[i], want[i], (uintptr_t)p[j],
								 want[j]));
		}
		heap_get_stats(h, &after);
		{
			uint64_t used = 0;

			for (i = 0; i < 2 * NSIZES; i++)
				used += p[i] ? want[i] : 0;
			EXPECT_EQ(t, after.used_bytes, before.used_bytes + used);
			EXPECT_EQ(t, after.free_bytes, before.free_bytes - used);
			EXPECT_EQ(t, after.allocs, before.allocs + got);
		}
		for (i = 0; i < 2 * NSIZES; i++) {
			EXPECT_OK(t, heap_free(p[i]));
			/* freed, and possibly merged: inside or at a free block */
			if (p[i])
				EXPECT_ERR(t, heap_getsize(p[i], &dummy), ERR_DOUBLEFREE);
		}
		heap_get_stats(h, &after);
		EXPECT_EQ(t, after.free_bytes, before.free_bytes);
		EXPECT_EQ(t, after.used_bytes, before.used_bytes);
		EXPECT_EQ(t, after.largest_free, before.largest_free);
		for (i = 0; i <= BUDDY_MAX_ORDER; i++)
			EXPECT_EQ(t, after.nfree[i], before.nfree[i]);
		EXPECT_EQ(t, after.failures, before.failures + nomem);	/* failures: ERR_NOMEM only */
		EXPECT_EQ(t, after.bad_frees, before.bad_frees);

		/* the largest free block can be had whole, and nothing twice that size */
		p[0] = NULL;
		EXPECT_OK(t, heap_alloc(c, before.largest_free, &p[0]));
		if (p[0]) {
			error_t e;

			EXPECT_EQ(t, block_bad(c, p[0], before.largest_free), 0);
			e = heap_alloc(c, 2 * before.largest_free, &p[1]);
			EXPECT_ERR(t, e, no_block_error(h, 2 * before.largest_free));
			EXPECT_OK(t, heap_free(p[0]));
		}
		heap_get_stats(h, &after);
		EXPECT_EQ(t, after.free_bytes, before.free_bytes);
		EXPECT_EQ(t, after.largest_free, before.largest_free);
	}
	EXPECT_GE(t, tested, 1);
	check_all_heaps(t);
}

/* ---- every hart allocates in every cluster ---- */

static uint32_t remote_errors[TOPO_MAX_HARTS];
static uint32_t remote_local_errors[TOPO_MAX_HARTS];
static uint32_t remote_ran[TOPO_MAX_HARTS];
static uint32_t remote_nomem[TOPO_MAX_HARTS];
/* a heap this small (bootarg heap_limit=) may run out with every hart in it at once: not an error */
#define REMOTE_TINY (16UL << 20)

/* fill()/unfilled() - write @tag ^ i to word i of a block; count the words that no longer hold it. */
static void fill(void *p, size_t bytes, uint64_t tag)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < bytes / 8; i++)
		w[i] = tag ^ i;
}

static size_t unfilled(const void *p, size_t bytes, uint64_t tag)
{
	const uint64_t *w = p;
	size_t i, bad = 0;

	for (i = 0; i < bytes / 8; i++)
		bad += w[i] != (tag ^ i);
	return bad;
}

/*
 * Each hart takes one block of each size in a cluster, fills them, checks them, frees them, then the next
 * cluster, starting from a different cluster per hart. The fills are also what keeps the harts out of
 * the locks most of the time: with every hart hammering cluster 0's lock at once, a FIFO lock under TCG
 * on two host cores hands over to one descheduled vCPU after another and 128 harts never finish.
 */
static void remote_body(void *arg)
{
	static const size_t rsizes[] = { 24, 200, 4096, 64 * KIB };
	enum { NR = sizeof(rsizes) / sizeof(rsizes[0]) };
	struct cls *self = cls_self();
	unsigned i = self->index, j, c, k, errors = 0;
	void *p, *blk[NR];
	error_t e;

	remote_ran[i]++;
	for (j = 0; j < boot_topo.nclusters; j++) {
		const struct topo_cluster *tc;

		c = (i + j) % boot_topo.nclusters;
		tc = &boot_topo.cluster[c];
		for (k = 0; k < NR; k++) {
			uint64_t tag = 0xc0de000000000000ULL | (uint64_t)i << 32 | c << 8 | k;

			blk[k] = NULL;
			p = (void *)1;
			e = remote_malloc(rsizes[k], tc->x, tc->y, &p);
			if (!has_heap(c)) {
				errors += e != ERR_NOHEAP || p != (void *)1;
				if (!e)
					heap_free(p);	/* a block from nowhere: do not leak it too */
				continue;
			}
			if (e == ERR_NOMEM && heap_of(c)->size < REMOTE_TINY) {
				remote_nomem[i]++;
				continue;
			}
			if (e) {
				errors++;
				continue;
			}
			errors += block_bad(c, p, rsizes[k]) != 0;
			fill(p, block_size(rsizes[k]), tag);
			blk[k] = p;
		}
		for (k = 0; k < NR; k++) {
			uint64_t tag = 0xc0de000000000000ULL | (uint64_t)i << 32 | c << 8 | k;

			if (!blk[k])
				continue;
			errors += unfilled(blk[k], block_size(rsizes[k]), tag) != 0;
			errors += heap_free(blk[k]) != 0;
		}
	}
	/* heap_alloc_local(): the hart's own cluster, or ERR_NOHEAP when it has no memory */
	p = (void *)1;
	e = heap_alloc_local(100, &p);
	if (has_heap(self->cluster))
		remote_local_errors[i] = e ? 1 : (block_bad(self->cluster, p, 100) != 0) +
						 (heap_free(p) != 0);
	else
		remote_local_errors[i] = e != ERR_NOHEAP || p != (void *)1;
	remote_errors[i] = errors;
}

/* one snapshot of every heap for the cases that compare before and after (they run one at a time) */
static struct heap_stats heap_before[TOPO_MAX_CLUSTERS];

static void heap_remote_all_harts(struct test *t)
{
	struct heap_stats *before = heap_before;
	struct heap_stats after;
	unsigned i, c, ran = 0, nomem = 0;

	for (c = 0; c < heap_count(); c++)
		heap_get_stats(heap_of(c), &before[c]);
	memset(remote_errors, 0, sizeof(remote_errors));
	memset(remote_local_errors, 0, sizeof(remote_local_errors));
	memset(remote_ran, 0, sizeof(remote_ran));
	memset(remote_nomem, 0, sizeof(remote_nomem));
	smp_call_all(remote_body, NULL);
	for (i = 0; i < TOPO_MAX_HARTS; i++) {
		if (!smp_hart_up(i))
			continue;
		ran++;
		EXPECT_EQ(t, remote_ran[i], 1);
		if (remote_errors[i] || remote_local_errors[i])
			test_log("hart index %u (cluster %u): %u remote errors, %u local errors", i,
				 cls_of(i)->cluster, remote_errors[i], remote_local_errors[i]);
		EXPECT_EQ(t, remote_errors[i], 0);
		EXPECT_EQ(t, remote_local_errors[i], 0);
		nomem += remote_nomem[i];
	}
	EXPECT_EQ(t, ran, smp_nharts());
	if (nomem)
		test_log("%u request(s) found a tiny heap (< %lu MiB) full", nomem, REMOTE_TINY >> 20);
	for (c = 0; c < heap_count(); c++) {
		heap_get_stats(heap_of(c), &after);
		EXPECT_EQ(t, after.free_bytes, before[c].free_bytes);
	}
	check_all_heaps(t);
}

/* ---- error codes ---- */

static void heap_errors_memoryless(struct test *t)
{
	unsigned c, n = 0;

	for (c = 0; c < heap_count(); c++) {
		const struct topo_cluster *tc = &boot_topo.cluster[c];
		struct heap *h = heap_of(c);
		struct heap_stats st;
		void *p = (void *)1;
		char why[160];

		if (has_heap(c))
			continue;
		n++;
		test_log("cluster %u (%u,%u): %s", c, tc->x, tc->y,
			 tc->mem.size ? "RAM not given to a heap (withhold= or heap_limit=0)" : "memoryless");
		ASSERT_TRUE(t, h != NULL);
		EXPECT_TRUE(t, kernel_heap[tc->x][tc->y] == h);
		EXPECT_ERR(t, remote_malloc(64, tc->x, tc->y, &p), ERR_NOHEAP);
		EXPECT_ERR(t, remote_malloc(1 * MIB, tc->x, tc->y, &p), ERR_NOHEAP);
		EXPECT_ERR(t, heap_alloc(c, 64, &p), ERR_NOHEAP);
		EXPECT_ERR(t, heap_alloc(c, 4096, &p), ERR_NOHEAP);
		EXPECT_TRUE(t, p == (void *)1);		/* written only on success */
		heap_get_stats(h, &st);
		EXPECT_EQ(t, st.size, 0);
		EXPECT_EQ(t, st.free_bytes, 0);
		EXPECT_EQ(t, st.largest_free, 0);
		EXPECT_OK(t, heap_check(h, why, sizeof(why)));
		/* withheld RAM belongs to no heap */
		if (tc->mem.size) {
			uintptr_t a = (uintptr_t)tc->mem.base + tc->mem.size / 2;
			size_t sz;

			EXPECT_TRUE(t, heap_owner((void *)a) == NULL);
			EXPECT_TRUE(t, heap_owner((void *)(uintptr_t)tc->mem.base) == NULL);
			EXPECT_ERR(t, heap_getsize((void *)a, &sz), ERR_NOTOWNED);
			EXPECT_ERR(t, heap_free((void *)a), ERR_NOTOWNED);
		}
		/* the boot-time fallback goes to the nearest cluster that has memory */
		p = NULL;
		EXPECT_OK(t, heap_alloc_near(c, 64, &p));
		if (p) {
			int where = ram_cluster((uintptr_t)p);
			unsigned d, best = 256;

			for (d = 0; d < boot_topo.nclusters; d++)
				if (has_heap(d) && tc->dist[d] < best)
					best = tc->dist[d];
			ASSERT_GE(t, where, 0);
			EXPECT_TRUE(t, has_heap((unsigned)where));
			EXPECT_EQ(t, tc->dist[where], best);
			EXPECT_OK(t, heap_free(p));
		}
	}
	if (!n) {
		test_skip(t, "every cluster has a heap (no memoryless node, nothing withheld)");
		return;
	}
	check_all_heaps(t);
}

static void heap_errors_arguments(struct test *t)
{
	const struct topo *tp = &boot_topo;
	unsigned c, x, y, holes = 0;
	int first = -1;
	struct heap_stats before, after;
	void *p = (void *)1;
	size_t sz = 0;

	/* outside the mesh, and mesh slots without a cluster */
	EXPECT_ERR(t, remote_malloc(64, tp->mesh_x, 0, &p), ERR_RANGE);
	EXPECT_ERR(t, remote_malloc(64, 0, tp->mesh_y, &p), ERR_RANGE);
	EXPECT_ERR(t, remote_malloc(64, TOPO_MESH_MAX, TOPO_MESH_MAX, &p), ERR_RANGE);
	EXPECT_ERR(t, remote_malloc(64, ~0u, 0, &p), ERR_RANGE);
	EXPECT_ERR(t, remote_malloc(64, 0, ~0u, &p), ERR_RANGE);
	for (x = 0; x < tp->mesh_x; x++)
		for (y = 0; y < tp->mesh_y; y++)
			if (!kernel_heap[x][y]) {
				holes++;
				EXPECT_ERR(t, remote_malloc(64, x, y, &p), ERR_RANGE);
			}
	EXPECT_EQ(t, holes, tp->mesh_x * tp->mesh_y - tp->nclusters);
	test_log("%ux%u mesh, %u clusters: %u empty slot(s) checked", tp->mesh_x, tp->mesh_y, tp->nclusters,
		 holes);
	EXPECT_ERR(t, heap_alloc(tp->nclusters, 64, &p), ERR_RANGE);
	EXPECT_ERR(t, heap_alloc(TOPO_MAX_CLUSTERS, 64, &p), ERR_RANGE);
	EXPECT_ERR(t, heap_alloc(~0u, 64, &p), ERR_RANGE);
	EXPECT_TRUE(t, p == (void *)1);

	for (c = 0; c < heap_count() && first < 0; c++)
		if (has_heap(c))
			first = (int)c;
	ASSERT_GE(t, first, 0);
	c = (unsigned)first;
	x = tp->cluster[c].x;
	y = tp->cluster[c].y;
	heap_get_stats(heap_of(c), &before);
	/* size 0, larger than the heap, larger than any block could be */
	EXPECT_ERR(t, heap_alloc(c, 0, &p), ERR_SIZE);
	EXPECT_ERR(t, remote_malloc(0, x, y, &p), ERR_SIZE);
	EXPECT_ERR(t, heap_alloc(c, heap_of(c)->size + 1, &p), ERR_SIZE);
	EXPECT_ERR(t, remote_malloc(heap_of(c)->size + 1, x, y, &p), ERR_SIZE);
	EXPECT_ERR(t, heap_alloc(c, (size_t)1 << 41, &p), ERR_SIZE);
	EXPECT_ERR(t, heap_alloc(c, SIZE_MAX, &p), ERR_SIZE);
	EXPECT_ERR(t, remote_malloc(SIZE_MAX, x, y, &p), ERR_SIZE);
	EXPECT_TRUE(t, p == (void *)1);
	/* no out-pointer */
	EXPECT_ERR(t, heap_alloc(c, 64, NULL), ERR_INVAL);
	EXPECT_ERR(t, remote_malloc(64, x, y, NULL), ERR_INVAL);
	EXPECT_ERR(t, heap_alloc_local(64, NULL), ERR_INVAL);
	/* refused requests change nothing: no block, no ERR_NOMEM failure counted */
	heap_get_stats(heap_of(c), &after);
	EXPECT_EQ(t, after.free_bytes, before.free_bytes);
	EXPECT_EQ(t, after.allocs, before.allocs);
	EXPECT_EQ(t, after.failures, before.failures);
	/* heap_getsize() on nothing a heap owns */
	EXPECT_ERR(t, heap_getsize(NULL, &sz), ERR_NOTOWNED);
	EXPECT_EQ(t, sz, 0);
	check_all_heaps(t);
}

/* ---- exhausting one heap ---- */

/*
 * exhaust() - allocate everything heap @c has, 64 KiB blocks first, then 32 KiB, ... down to 64 bytes,
 * until ERR_NOMEM at 64 bytes. The blocks form a list through their first word (no other memory). Returns
 * the list; *n, *bytes count the blocks; *err receives the first unexpected error (0 if none).
 */
static void *exhaust(unsigned c, size_t start, unsigned long *n, uint64_t *bytes, error_t *err)
{
	void *head = NULL, *p;
	size_t sz = start;

	*n = 0;
	*bytes = 0;
	*err = 0;
	for (;;) {
		error_t e = heap_alloc(c, sz, &p);

		if (e == ERR_NOMEM) {
			if (sz == MIN_BLOCK_SIZE)
				break;
			sz >>= 1;
			continue;
		}
		if (e) {
			*err = e;
			break;
		}
		*(void **)p = head;
		head = p;
		(*n)++;
		*bytes += sz;
	}
	return head;
}

/*
 * The block a case probes cluster @c's heap with: 4 KiB, or the heap's largest free block when that is
 * smaller, which it says. On tiny heaps (64 KiB) the boot hart's cluster can keep no free 4 KiB block:
 * its harts' CLS and stacks and the boot's blocks leave it 4 KiB in fragments (seen when the lottery
 * puts the boot hart in cluster 1). 0, said too, when no free block has 128 bytes (a probe writes at +64).
 */
static size_t probe_size(unsigned c)
{
	struct heap_stats st;

	heap_get_stats(heap_of(c), &st);
	if (st.largest_free >= 4096)
		return 4096;
	test_log("cluster %u: largest free block 0x%llx: probed with it, not 4 KiB", c,
		 (unsigned long long)st.largest_free);
	return st.largest_free >= 128 ? (size_t)st.largest_free : 0;
}

/* free_list() - free every block of an exhaust() list; returns the number of frees that failed. */
static unsigned long free_list(void *head)
{
	unsigned long bad = 0;

	while (head) {
		void *next = *(void **)head;	/* before the free puts list links in the block */

		bad += heap_free(head) != 0;
		head = next;
	}
	return bad;
}

static void heap_exhaust_smallest(struct test *t)
{
	struct heap_stats *before = heap_before;
	struct heap_stats st;
	unsigned c, k, small = ~0u;
	unsigned long n = 0;
	size_t sz;
	uint64_t bytes = 0;
	error_t err;
	void *list, *p = (void *)1;
	char why[160];

	for (c = 0; c < heap_count(); c++) {
		heap_get_stats(heap_of(c), &before[c]);
		if (has_heap(c) && (small == ~0u || heap_of(c)->size < heap_of(small)->size))
			small = c;
	}
	ASSERT_TRUE(t, small != ~0u);
	list = exhaust(small, 64 * KIB, &n, &bytes, &err);
	test_log("cluster %u: %lu blocks, 0x%llx bytes until ERR_NOMEM (free before 0x%llx)", small, n,
		 (unsigned long long)bytes, (unsigned long long)before[small].free_bytes);
	EXPECT_OK(t, err);
	heap_get_stats(heap_of(small), &st);
	EXPECT_LT(t, st.free_bytes, MIN_BLOCK_SIZE);	/* any free block would serve a 64-byte request */
	EXPECT_EQ(t, st.largest_free, 0);
	EXPECT_EQ(t, bytes, before[small].free_bytes);
	EXPECT_EQ(t, st.used_bytes, before[small].used_bytes + bytes);
	EXPECT_EQ(t, st.failures, before[small].failures + 11);	/* one ERR_NOMEM per size 64K..64 */
	for (k = 0; k <= BUDDY_MAX_ORDER; k++)
		EXPECT_EQ(t, st.nfree[k], 0);
	EXPECT_OK(t, heap_check(heap_of(small), why, sizeof(why)));
	/* full: both entry points say so, and the fallback goes elsewhere */
	EXPECT_ERR(t, heap_alloc(small, 1, &p), ERR_NOMEM);
	EXPECT_ERR(t, remote_malloc(64, boot_topo.cluster[small].x, boot_topo.cluster[small].y, &p),
		   ERR_NOMEM);
	EXPECT_TRUE(t, p == (void *)1);
	for (c = 0; c < heap_count(); c++) {
		if (c == small || !has_heap(c))
			continue;
		heap_get_stats(heap_of(c), &st);
		EXPECT_EQ(t, st.free_bytes, before[c].free_bytes);
		if (!(sz = probe_size(c)))
			continue;
		p = NULL;
		EXPECT_OK(t, heap_alloc(c, sz, &p));
		if (p) {
			EXPECT_EQ(t, block_bad(c, p, sz), 0);
			EXPECT_OK(t, heap_free(p));
		}
	}
	p = NULL;
	err = heap_alloc_near(small, 64, &p);
	for (c = 0, k = 0; c < heap_count(); c++)
		k += c != small && has_heap(c);
	if (k) {
		/* another heap has room (checked above): the fallback must find it */
		EXPECT_OK(t, err);
		if (!err) {
			EXPECT_TRUE(t, ram_cluster((uintptr_t)p) != (int)small);
			EXPECT_OK(t, heap_free(p));
		}
	} else {
		test_log("cluster %u has the only heap: heap_alloc_near() has nowhere to fall back to", small);
		EXPECT_ERR(t, err, ERR_NOMEM);	/* the only heap is full */
	}

	EXPECT_EQ(t, free_list(list), 0);
	heap_get_stats(heap_of(small), &st);
	EXPECT_EQ(t, st.free_bytes, before[small].free_bytes);
	EXPECT_EQ(t, st.used_bytes, before[small].used_bytes);
	EXPECT_EQ(t, st.largest_free, before[small].largest_free);
	for (k = 0; k <= BUDDY_MAX_ORDER; k++)
		EXPECT_EQ(t, st.nfree[k], before[small].nfree[k]);
	EXPECT_EQ(t, st.allocs - before[small].allocs, n);
	EXPECT_EQ(t, st.frees - before[small].frees, n);
	for (c = 0; c < heap_count(); c++) {
		heap_get_stats(heap_of(c), &st);
		EXPECT_EQ(t, st.free_bytes, before[c].free_bytes);
		EXPECT_EQ(t, st.largest_free, before[c].largest_free);
	}
	check_all_heaps(t);
}

/* ---- checked frees ---- */

static char kernel_static[128] __attribute__((aligned(64)));

/*
 * bad_free_is() - heap_free(@a) and heap_getsize(@a) both return @want, the owner heap's free/used bytes
 * do not move and its bad_frees grows by one exactly when the address reached a heap.
 */
static void bad_free_is(struct test *t, const char *what, void *a, error_t want)
{
	struct heap *h = heap_owner(a);
	struct heap_stats before, after;
	size_t sz = 0x1234;
	error_t e;

	if (h)
		heap_get_stats(h, &before);
	e = heap_free(a);
	if (e != want)
		test_log("%s (%p): heap_free returned %d (%s)", what, a, e, err_str(e));
	EXPECT_ERR(t, e, want);
	e = heap_getsize(a, &sz);
	if (e != want)
		test_log("%s (%p): heap_getsize returned %d (%s)", what, a, e, err_str(e));
	EXPECT_ERR(t, e, want);
	EXPECT_EQ(t, sz, 0x1234);
	if (h) {
		char why[160];

		heap_get_stats(h, &after);
		EXPECT_EQ(t, after.free_bytes, before.free_bytes);
		EXPECT_EQ(t, after.used_bytes, before.used_bytes);
		EXPECT_EQ(t, after.frees, before.frees);
		EXPECT_EQ(t, after.bad_frees, before.bad_frees + 1);
		e = heap_check(h, why, sizeof(why));
		if (e)
			test_log("%s: heap_check: %s", what, why);
		EXPECT_OK(t, e);
	}
}

/* reserved_code() - what a free of @a in reserved/foreign memory must return: in a heap's RAM, interior. */
static error_t reserved_code(uintptr_t a)
{
	int c = ram_cluster(a);

	return c >= 0 && has_heap((unsigned)c) ? ERR_INTERIOR : ERR_NOTOWNED;
}

static void heap_checked_frees(struct test *t)
{
	unsigned c, last = 0;
	void *b = NULL;
	size_t bs;
	struct heap *h;

	EXPECT_OK(t, heap_free(NULL));
	bad_free_is(t, "0x1000", (void *)0x1000UL, ERR_NOTOWNED);
	bad_free_is(t, "0x40", (void *)0x40UL, ERR_NOTOWNED);
	bad_free_is(t, "kernel static", kernel_static, reserved_code((uintptr_t)kernel_static));
	bad_free_is(t, "kernel text", (void *)((uintptr_t)__kernel_start + 4096),
		    reserved_code((uintptr_t)__kernel_start + 4096));
	if (boot_topo.nreserved)
		bad_free_is(t, "firmware", (void *)(uintptr_t)boot_topo.reserved[0].base,
			    reserved_code((uintptr_t)boot_topo.reserved[0].base));
	for (c = 0; c < boot_topo.nclusters; c++)
		if (boot_topo.cluster[c].mem.size)
			last = c;
	bad_free_is(t, "past the end of RAM",
		    (void *)(uintptr_t)(boot_topo.cluster[last].mem.base + boot_topo.cluster[last].mem.size),
		    ERR_NOTOWNED);

	for (c = 0; c < heap_count(); c++) {
		h = heap_of(c);
		if (!has_heap(c))
			continue;
		/* the heap's own descriptor sits in its RAM but was never added */
		bad_free_is(t, "heap descriptor", h, ERR_INTERIOR);
		if (!(bs = probe_size(c)))
			continue;
		ASSERT_OK(t, heap_alloc(c, bs, &b));
		bad_free_is(t, "block+64", (char *)b + 64, ERR_INTERIOR);
		bad_free_is(t, "block end-64", (char *)b + bs - 64, ERR_INTERIOR);
		bad_free_is(t, "block+8", (char *)b + 8, ERR_MISALIGNED);
		bad_free_is(t, "block+1", (char *)b + 1, ERR_MISALIGNED);
		{
			size_t sz = 0;

			EXPECT_OK(t, heap_getsize(b, &sz));
			EXPECT_EQ(t, sz, bs);
		}
		EXPECT_OK(t, heap_free(b));
		bad_free_is(t, "double free", b, ERR_DOUBLEFREE);
		bad_free_is(t, "inside a free block", (char *)b + 64, ERR_DOUBLEFREE);
		bad_free_is(t, "freed block+8", (char *)b + 8, ERR_MISALIGNED);
	}
	check_all_heaps(t);
}

/* ---- firmware, kernel image, heap metadata: never handed out ---- */

struct prange {
	uintptr_t base;
	uint64_t size;
	const char *what;
};

/* list_hits() - blocks of an exhaust() list of cluster @c that are outside its RAM or overlap @prot. */
static unsigned long list_hits(unsigned c, void *list, const struct prange *prot, unsigned np)
{
	unsigned long hits = 0;
	unsigned i;
	void *p;

	for (p = list; p; p = *(void **)p) {
		size_t sz = 0;

		if (heap_getsize(p, &sz) || !in_ram(c, (uintptr_t)p, sz)) {
			hits++;
			continue;
		}
		for (i = 0; i < np; i++) {
			if (!overlaps((uintptr_t)p, sz, prot[i].base, prot[i].size))
				continue;
			if (hits++ < 8)
				test_log("cluster %u: block %p+0x%lx overlaps %s 0x%lx+0x%llx", c, p,
					 (unsigned long)sz, prot[i].what, (unsigned long)prot[i].base,
					 (unsigned long long)prot[i].size);
		}
	}
	return hits;
}

static void heap_never_hands_out_reserved(struct test *t)
{
	struct prange prot[TOPO_MAX_RESERVED + 1 + 2 * TOPO_MAX_CLUSTERS];
	unsigned np = 0, i, c, exhausted = 0;

	for (i = 0; i < boot_topo.nreserved; i++)
		prot[np++] = (struct prange){ boot_topo.reserved[i].base, boot_topo.reserved[i].size,
					      "reserved" };
	prot[np++] = (struct prange){ (uintptr_t)__kernel_start, (uintptr_t)(__kernel_end - __kernel_start),
				      "kernel image" };
	/* every heap's descriptor and buddy metadata (secmap, whole words, then one tag byte per granule) */
	for (c = 0; c < heap_count(); c++) {
		struct heap *h = heap_of(c);

		if (!has_heap(c))
			continue;
		prot[np++] = (struct prange){ (uintptr_t)h, sizeof(*h), "heap descriptor" };
		prot[np++] = (struct prange){ (uintptr_t)h->b.secmap,
					      h->b.nsecw * sizeof(uint64_t) +
						      h->b.nsec * (BUDDY_SECTION_SIZE / MIN_BLOCK_SIZE),
					      "heap metadata" };
	}

	for (c = 0; c < heap_count(); c++) {
		struct heap_stats before, st;
		unsigned long n = 0;
		uint64_t bytes = 0;
		error_t err;
		void *list;
		int relevant = 0;

		if (!has_heap(c))
			continue;
		for (i = 0; i < np; i++)
			relevant |= overlaps(prot[i].base, prot[i].size, boot_topo.cluster[c].mem.base,
					     boot_topo.cluster[c].mem.size);
		if (!relevant)
			continue;
		exhausted++;
		heap_get_stats(heap_of(c), &before);
		list = exhaust(c, 64 * KIB, &n, &bytes, &err);
		EXPECT_OK(t, err);
		EXPECT_EQ(t, bytes, before.free_bytes);
		EXPECT_EQ(t, list_hits(c, list, prot, np), 0);
		test_log("cluster %u: %lu blocks (0x%llx bytes) checked against %u protected ranges", c, n,
			 (unsigned long long)bytes, np);
		EXPECT_EQ(t, free_list(list), 0);
		heap_get_stats(heap_of(c), &st);
		EXPECT_EQ(t, st.free_bytes, before.free_bytes);
		EXPECT_EQ(t, st.largest_free, before.largest_free);
	}
	/* ranges in RAM without a heap (withhold=0 puts the firmware and the image there): owned by none */
	for (i = 0; i < np; i++) {
		int rc = ram_cluster(prot[i].base);
		size_t sz;

		if (rc >= 0 && has_heap((unsigned)rc))
			continue;
		EXPECT_TRUE(t, heap_owner((void *)prot[i].base) == NULL);
		EXPECT_ERR(t, heap_getsize((void *)prot[i].base, &sz), ERR_NOTOWNED);
		test_log("%s 0x%lx lies in cluster %d without a heap: owned by none", prot[i].what,
			 (unsigned long)prot[i].base, rc);
	}
	EXPECT_GE(t, exhausted, 1);
	check_all_heaps(t);
}

/* owner_expected() - what heap_owner(@a) must say: the heap of the cluster whose RAM holds @a, if it has one */
static struct heap *owner_expected(uintptr_t a)
{
	int c = ram_cluster(a);

	return c >= 0 && has_heap((unsigned)c) ? heap_of((unsigned)c) : NULL;
}

/*
 * heap_owner() answers from a table of address slots, checked against the heap's span, and falls back to
 * a binary search: probe every span's edges (the bytes the 64-byte rounding leaves out, the slot a
 * boundary shares with the next cluster) and a grid over all of RAM with its neighbours.
 */
static void heap_owner_everywhere(struct test *t)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0, a, step;
	unsigned c, bad = 0, probes = 0;
	int d;

	for (c = 0; c < boot_topo.nclusters; c++) {
		const struct topo_range *m = &boot_topo.cluster[c].mem;
		uintptr_t edge[] = { m->base, m->base + m->size };
		unsigned e;

		if (!m->size)
			continue;
		if (m->base < lo)
			lo = m->base;
		if (m->base + m->size > hi)
			hi = m->base + m->size;
		for (e = 0; e < 2; e++)
			for (d = -130; d <= 130; d++) {
				a = edge[e] + (uintptr_t)(intptr_t)d;
				probes++;
				if (heap_owner((void *)a) != owner_expected(a) && bad++ < 4)
					test_log("heap_owner(0x%lx) is wrong", (unsigned long)a);
			}
	}
	ASSERT_TRUE(t, lo < hi);
	step = (hi - lo) / 4096 + 1;
	for (a = lo - step; a < hi + step; a += step)
		for (d = -1; d <= 1; d++) {
			uintptr_t x = a + (uintptr_t)(intptr_t)d;

			probes++;
			if (heap_owner((void *)x) != owner_expected(x) && bad++ < 4)
				test_log("heap_owner(0x%lx) is wrong", (unsigned long)x);
		}
	EXPECT_TRUE(t, heap_owner(NULL) == NULL);
	test_log("%u probes over [0x%lx, 0x%lx)", probes, (unsigned long)lo, (unsigned long)hi);
	EXPECT_EQ(t, bad, 0);
}

TEST_SUITE(heap, TEST_CASE(heap_alloc_each_cluster), TEST_CASE(heap_remote_all_harts),
	   TEST_CASE(heap_errors_memoryless), TEST_CASE(heap_errors_arguments),
	   TEST_CASE(heap_exhaust_smallest), TEST_CASE(heap_checked_frees),
	   TEST_CASE(heap_never_hands_out_reserved), TEST_CASE(heap_owner_everywhere));

/* ---- stress: every hart allocates and frees at random in every cluster ---- */

#define STRESS_LIVE 64			/* live blocks per hart, at most */
#define STRESS_MAX_ORDER 16		/* 64 KiB */
#define STRESS_ORDERS (STRESS_MAX_ORDER - BUDDY_MIN_ORDER)
/* heap_getsize() on one block in four: every lock round trip counts when vCPUs outnumber host cores */
#define STRESS_GETSIZE(seq) (((seq) & 3) == 0)

struct stress_slot {
	uint64_t *p;
	uint32_t seq;
	uint32_t words;
};

struct stress_hart {
	uint32_t ran, ops, cut, allocs, frees, nomem;
	uint32_t alloc_errors, free_errors, place_errors, pattern_errors;
	uint32_t no_room;		/* no heap had room for this hart's list of live blocks */
	uint64_t bytes;
	struct stress_slot *left;	/* cut short: the live blocks it leaves to the caller */
	unsigned nleft;
} __attribute__((aligned(64)));

static struct stress_hart stress[TOPO_MAX_HARTS];
static unsigned stress_clusters[TOPO_MAX_CLUSTERS], stress_nclusters, stress_ops, stress_live;
static uint64_t stress_deadline;

/*
 * Seconds after which a hart starts no new operation. A convoy (see stress_body()) costs a host
 * scheduling delay per acquisition of the heap lock it forms on: 1-2 minutes for 3000 ops on 6-8 harts
 * of a loaded two-core host, against the matrix's 180 s per boot, and up to a second per hand-over
 * with 128 vCPUs. A hart cut short says so (cut = 1) and leaves its live blocks to the caller, which
 * checks and frees them alone; the accounting checks hold all the same.
 */
#define STRESS_BUDGET_S 20

/* a word of the block with sequence number @seq of hart @h: owner, sequence and position */
static inline uint64_t pattern(unsigned h, uint32_t seq, uint32_t i)
{
	return (0xa5ULL << 56) | ((uint64_t)(h & 0xff) << 48) | ((uint64_t)seq << 16) | (i & 0xffff);
}

static unsigned ctz_small(uint64_t x, unsigned max)
{
	unsigned n = 0;

	while (n < max && !(x & 1))
		x >>= 1, n++;
	return n;
}

/* stress_release() - check a live block's pattern, then free it. */
static void stress_release(struct stress_hart *me, unsigned h, struct stress_slot *s)
{
	uint32_t i, bad = 0;
	size_t sz = 0;

	for (i = 0; i < s->words; i++)
		bad += s->p[i] != pattern(h, s->seq, i);
	if (bad)
		me->pattern_errors++;
	if (STRESS_GETSIZE(s->seq) && (heap_getsize(s->p, &sz) || sz != s->words * 8UL))
		me->free_errors++;
	if (heap_free(s->p))
		me->free_errors++;
	me->frees++;
}

/*
 * The harts start one by one (smp_call_all() wakes them in turn) and are never lined up again: no
 * barrier, no heap_check() while they run. Both made all harts queue on one heap lock at once, and a
 * FIFO lock under TCG with more vCPUs than host cores then hands over from one descheduled vCPU to the
 * next, every hart soon waits in that queue again (a convoy): 6 harts took minutes instead of a second,
 * 128 harts never finished. Convoys still form by chance (a vCPU descheduled in the queue); the time
 * budget bounds them.
 */
static void stress_body(void *arg)
{
	struct cls *self = cls_self();
	unsigned h = self->index, live = 0, op, i;
	struct stress_hart *me = &stress[h];
	struct stress_slot *slot = NULL;
	uint64_t s = test_seed_for(NULL, h);
	uint32_t seq = 0;

	me->ran++;
	/* the list of live blocks lives in the heap itself, in or near this hart's cluster */
	error_t e0 = heap_alloc_near(self->cluster, STRESS_LIVE * sizeof(*slot), (void **)&slot);

	if (e0) {
		/* no heap has room for the list (tiny heaps): the case skips rather than fails */
		if (e0 == ERR_NOMEM)
			me->no_room = 1;
		else
			me->alloc_errors++;
		return;
	}
	for (op = 0; op < stress_ops; op++) {
		uint64_t r = test_rand(&s);

		if (mm_clock() > stress_deadline) {
			me->cut = 1;
			break;
		}
		me->ops++;
		if (live < stress_live && (live == 0 || (r & 7) < 5)) {
			unsigned c = stress_clusters[(r >> 3) % stress_nclusters];
			unsigned order = BUDDY_MIN_ORDER + ctz_small(r >> 16, STRESS_ORDERS);
			size_t half = (size_t)1 << (order - 1);
			/* any size whose block has this order: (half, 2 * half], or 1..64 for the smallest */
			size_t size = order == BUDDY_MIN_ORDER ? 1 + ((r >> 32) & 63)
							       : half + 1 + ((r >> 32) & (half - 1));
			struct stress_slot *sl = &slot[live];
			void *p;
			error_t e = heap_alloc(c, size, &p);

			if (e == ERR_NOMEM) {
				me->nomem++;
				continue;
			}
			if (e) {
				me->alloc_errors++;
				continue;
			}
			me->allocs++;
			me->bytes += (size_t)1 << order;
			if (block_bad_(c, p, size, STRESS_GETSIZE(seq)) || block_size(size) != 2 * half)
				me->place_errors++;
			sl->p = p;
			sl->seq = seq++;
			sl->words = (uint32_t)(((size_t)1 << order) / 8);
			for (i = 0; i < sl->words; i++)
				sl->p[i] = pattern(h, sl->seq, i);
			live++;
		} else {
			unsigned k = (unsigned)((r >> 8) % live);

			stress_release(me, h, &slot[k]);
			slot[k] = slot[--live];
		}
	}
	if (me->cut) {
		/* freeing here would queue on the convoy once more: the caller frees them, alone */
		me->left = slot;
		me->nleft = live;
		return;
	}
	while (live)
		stress_release(me, h, &slot[--live]);
	if (heap_free(slot))
		me->free_errors++;
}

static void heap_stress_all_harts(struct test *t)
{
	struct heap_stats *before = heap_before;
	struct heap_stats after;
	unsigned n = smp_nharts(), i, c, ran = 0, cut = 0;
	uint64_t ops = 0, allocs = 0, frees = 0, nomem = 0, bytes = 0;

	stress_nclusters = 0;
	for (c = 0; c < heap_count(); c++)
		if (has_heap(c))
			stress_clusters[stress_nclusters++] = c;
	ASSERT_GE(t, stress_nclusters, 1);
	(void)test_seed_for(t, 0);	/* each hart's sequence: test_seed_for(NULL, hart index) */
	stress_ops = 24000 / n;
	if (stress_ops > 3000)
		stress_ops = 3000;
	if (stress_ops < 200)
		stress_ops = 200;
	/* the frees at the end run even after the budget: fewer live blocks per hart on big machines */
	stress_live = 1024 / n;
	if (stress_live > STRESS_LIVE)
		stress_live = STRESS_LIVE;
	if (stress_live < 8)
		stress_live = 8;
	memset(stress, 0, sizeof(stress));
	/* the harts' empty slabs (mm/slab.h) back to their heaps first: a tiny heap needs all its room */
	smp_mem_drain_all();
	for (c = 0; c < heap_count(); c++)
		heap_get_stats(heap_of(c), &before[c]);
	stress_deadline = mm_clock() + boot_topo.timebase_hz *
					       STRESS_BUDGET_S;

	smp_call_all(stress_body, NULL);
	for (i = 0; i < TOPO_MAX_HARTS; i++)
		if (stress[i].no_room) {
			/* the others ran and freed everything; still check nothing was lost */
			for (c = 0; c < TOPO_MAX_HARTS; c++)
				while (stress[c].left && stress[c].nleft)
					stress_release(&stress[c], c, &stress[c].left[--stress[c].nleft]);
			test_skip(t, "no heap has room for every hart's list of live blocks (tiny heaps)");
			return;
		}
	for (i = 0; i < TOPO_MAX_HARTS; i++) {
		struct stress_hart *s = &stress[i];

		while (s->left && s->nleft)
			stress_release(s, i, &s->left[--s->nleft]);
		if (s->left && heap_free(s->left))
			s->free_errors++;
	}

	for (i = 0; i < TOPO_MAX_HARTS; i++) {
		struct stress_hart *s = &stress[i];

		if (!smp_hart_up(i))
			continue;
		ran++;
		EXPECT_EQ(t, s->ran, 1);
		if (s->cut) {
			cut++;
			EXPECT_LT(t, s->ops, stress_ops);
		} else {
			EXPECT_EQ(t, s->ops, stress_ops);
		}
		EXPECT_EQ(t, s->allocs, s->frees);
		if (s->alloc_errors || s->free_errors || s->place_errors || s->pattern_errors)
			test_log("hart index %u: alloc errors %u, free errors %u, placement errors %u, "
				 "pattern errors %u", i, s->alloc_errors, s->free_errors, s->place_errors,
				 s->pattern_errors);
		EXPECT_EQ(t, s->alloc_errors, 0);
		EXPECT_EQ(t, s->free_errors, 0);
		EXPECT_EQ(t, s->place_errors, 0);
		EXPECT_EQ(t, s->pattern_errors, 0);
		ops += s->ops;
		allocs += s->allocs;
		frees += s->frees;
		nomem += s->nomem;
		bytes += s->bytes;
	}
	EXPECT_EQ(t, ran, n);
	EXPECT_GT(t, allocs, 0);	/* else allocs == frees and "not a byte lost" hold of a run that did nothing */
	if (cut)
		test_log("%u hart(s) cut short by the %u s budget: a lock convoy under TCG (see the lock "
			 "statistics)", cut, STRESS_BUDGET_S);
	test_log("%u hart(s) x %u ops (up to %u live) = %llu ops: %llu allocs (%llu KiB), %llu frees, "
		 "%llu ERR_NOMEM", n, stress_ops, stress_live, (unsigned long long)ops,
		 (unsigned long long)allocs, (unsigned long long)(bytes >> 10), (unsigned long long)frees,
		 (unsigned long long)nomem);
	for (c = 0; c < heap_count(); c++) {
		if (!has_heap(c))
			continue;
		heap_get_stats(heap_of(c), &after);
		test_log("cluster %u: %s lock acquired %llu, contended %llu, halts %llu, kicks %llu, wait max %llu "
			 "ticks; free 0x%llx -> 0x%llx",
			 c, LOCK_KIND_NAME,
			 (unsigned long long)(after.lock.acquired - before[c].lock.acquired),
			 (unsigned long long)(after.lock.contended - before[c].lock.contended),
			 (unsigned long long)(after.lock.halts - before[c].lock.halts),
			 (unsigned long long)(after.lock.kicks - before[c].lock.kicks),
			 (unsigned long long)after.lock.wait_max, (unsigned long long)before[c].free_bytes,
			 (unsigned long long)after.free_bytes);
		EXPECT_EQ(t, after.free_bytes, before[c].free_bytes);	/* not a byte lost */
		EXPECT_EQ(t, after.used_bytes, before[c].used_bytes);
		EXPECT_EQ(t, after.largest_free, before[c].largest_free);
		EXPECT_EQ(t, after.bad_frees, before[c].bad_frees);
		EXPECT_EQ(t, after.allocs - before[c].allocs, after.frees - before[c].frees);
		EXPECT_LE(t, after.lock.contended, after.lock.acquired);
	}
	check_all_heaps(t);
}

TEST_SUITE(heap_stress, TEST_CASE(heap_stress_all_harts));
