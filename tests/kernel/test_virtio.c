/* test_virtio.c - in-kernel suite for the virtio-blk driver: pattern reads, writes, DMA placement, no leaks. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/smp.h"
#include "kernel/virtio.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "platform/csr.h"
#include "tests/test.h"

/*
 * The disk is an image from tools/mkdisk.py (the matrix makes a fresh one per topology): sector s holds
 * its number (le64) in bytes 0..7, the image's sector count (le64) in bytes 8..15, and byte i >= 16 is
 * (s * 2654435761 + i) & 0xff. Every read is checked against that, so a wrong sector, a shifted buffer
 * or a short read shows. The write case uses another pattern and puts the original back.
 *
 * The suite probes the device itself when kmain has not (boot_dtb, weak: kmain may not export it), so it
 * does not depend on the init order; the probe's rings are allocated before the heap snapshot the last
 * case compares against. Buffers are allocated MEM_VALID_SYS on purpose: the driver must bounce them
 * through DMA memory of its own.
 */

extern const void *boot_dtb __attribute__((weak));

#define SECTOR VIRTIO_BLK_SECTOR_SIZE
#define MKDISK_MULT 2654435761ULL
#define NRANDOM 64
#define BUF_SECTORS 320u		/* the largest request below: 2.5 x VIRTIO_BLK_MAX_REQ */
#define WRITE_TAG 0x5752495445000000ULL	/* "WRITE" in the top bytes of a written sector's number */

static uint64_t heap_before[TOPO_MAX_CLUSTERS];
static bool snapshot_taken;

/* ---- helpers ---- */

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void wr64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* the image's pattern for sector @s of a disk of @cap sectors */
static void image_sector(uint8_t *p, uint64_t s, uint64_t cap)
{
	unsigned i;

	wr64(p, s);
	wr64(p + 8, cap);
	for (i = 16; i < SECTOR; i++)
		p[i] = (uint8_t)(s * MKDISK_MULT + i);
}

/* the pattern the write case puts on sector @s (another seed: differs from the image's in every byte run) */
static void written_sector(uint8_t *p, uint64_t s)
{
	unsigned i;

	wr64(p, s ^ WRITE_TAG);
	wr64(p + 8, ~s);
	for (i = 16; i < SECTOR; i++)
		p[i] = (uint8_t)(s * 40503u + i * 7u + 0x5a);
}

/* the first byte of sector @s (at @p) that differs from the image's pattern, or -1 */
static int image_mismatch(const uint8_t *p, uint64_t s, uint64_t cap)
{
	uint8_t want[SECTOR];
	unsigned i;

	image_sector(want, s, cap);
	for (i = 0; i < SECTOR; i++)
		if (p[i] != want[i])
			return (int)i;
	return -1;
}

/* check @n sectors from @first at @buf; logs the first bad one. Return: bad sectors. */
static unsigned check_image(const uint8_t *buf, uint64_t first, unsigned n)
{
	uint64_t cap = virtio_blk_capacity();
	unsigned k, bad = 0;

	for (k = 0; k < n; k++) {
		const uint8_t *p = buf + (size_t)k * SECTOR;
		int at = image_mismatch(p, first + k, cap);

		if (at >= 0 && !bad++)
			test_log("sector %llu: byte %d is 0x%02x (sector field %llu, count field %llu)",
				 (unsigned long long)(first + k), at, p[at], (unsigned long long)rd64(p),
				 (unsigned long long)rd64(p + 8));
	}
	return bad;
}


static void heap_free_snapshot(uint64_t *fb)
{
	unsigned c;

	for (c = 0; c < boot_topo.nclusters; c++) {
		struct heap_stats st;

		heap_get_stats(heap_of(c), &st);
		fb[c] = st.free_bytes;
	}
}

/*
 * A data buffer for a case. On a machine whose heaps have no room for it (heap_limit=) the case skips,
 * saying so: the driver is not at fault. Any other error fails the case. NULL either way.
 */
static void *buf_alloc(struct test *t, size_t size)
{
	static char why[96];
	void *p = NULL;
	error_t e = mem_alloc(size, NULL, MEM_VALID_SYS, &p);

	if (e == ERR_NOMEM) {
		snprintf(why, sizeof(why), "no room for a %zu-byte buffer in any heap", size);
		test_skip(t, why);
		return NULL;
	}
	EXPECT_OK(t, e);
	return e ? NULL : p;
}

static error_t probe_err;

/*
 * The suite's skip rule: probe here if kmain has not (see the top of the file). Only "no device" skips; a
 * device the driver could not set up fails the first case with the probe's error.
 */
static const char *virtio_skip(void)
{
	if (!&boot_dtb || !boot_dtb)
		return virtio_blk_present() ? NULL : "no virtio-blk disk attached (not probed: no boot_dtb)";
	probe_err = virtio_blk_probe(boot_dtb);		/* 0 at once when kmain probed it */
	return probe_err == ERR_NODEV ? "no virtio-blk disk attached" : NULL;
}

/* ---- cases ---- */

static void virtio_transport(struct test *t)
{
	struct virtio_blk_info in;

	ASSERT_OK(t, probe_err);
	ASSERT_TRUE(t, virtio_blk_present());
	virtio_blk_get_info(&in);
	test_log("virtio-mmio version %u (%s) at 0x%llx, queue %u, %llu sectors", in.version,
		 in.version == 2 ? "modern" : "legacy", (unsigned long long)in.mmio_base, in.queue_size,
		 (unsigned long long)in.capacity);
	EXPECT_TRUE(t, in.version == 1 || in.version == 2);
	EXPECT_GE(t, in.queue_size, 4);
	EXPECT_EQ(t, in.queue_size & (in.queue_size - 1), 0);
	if (in.readonly)
		test_log("the disk is read-only: the write case skips");
	EXPECT_FALSE(t, in.broken);
	EXPECT_GE(t, in.dma_logged, 1);		/* the rings */
	EXPECT_EQ(t, virtio_blk_capacity(), in.capacity);

	/* from here on the driver owns only its rings: the last case checks that everything else came back */
	smp_mem_drain_all();
	heap_free_snapshot(heap_before);
	snapshot_taken = true;
}

static void virtio_capacity_matches_image(struct test *t)
{
	uint64_t cap = virtio_blk_capacity();
	uint8_t *buf;

	ASSERT_TRUE(t, virtio_blk_present());
	ASSERT_TRUE(t, cap > 0);	/* cap - 1 is a sector below, and the other cases take sectors % cap */
	buf = buf_alloc(t, 2 * SECTOR);
	if (!buf)
		return;	/* failed or skipped in buf_alloc() */
	/* every sector of the image records the image's size in bytes 8..15 */
	EXPECT_OK(t, virtio_blk_read(0, buf, 1));
	EXPECT_EQ(t, rd64(buf + 8), cap);
	EXPECT_EQ(t, check_image(buf, 0, 1), 0);
	EXPECT_OK(t, virtio_blk_read(cap - 1, buf, 1));
	EXPECT_EQ(t, rd64(buf), cap - 1);
	EXPECT_EQ(t, check_image(buf, cap - 1, 1), 0);
	test_log("capacity %llu sectors (%llu KiB), matches the image", (unsigned long long)cap,
		 (unsigned long long)(cap / 2));

	/* beyond the end, and bad arguments: refused before anything reaches the device */
	EXPECT_ERR(t, virtio_blk_read(cap, buf, 1), ERR_RANGE);
	EXPECT_ERR(t, virtio_blk_read(cap - 1, buf, 2), ERR_RANGE);
	EXPECT_ERR(t, virtio_blk_read(~0ULL, buf, 1), ERR_RANGE);
	EXPECT_ERR(t, virtio_blk_write(cap, buf, 1), ERR_RANGE);
	EXPECT_ERR(t, virtio_blk_read(0, NULL, 1), ERR_INVAL);
	EXPECT_OK(t, virtio_blk_read(cap, buf, 0));
	mem_free(buf);
}

static void virtio_read_random_sectors(struct test *t)
{
	uint64_t cap = virtio_blk_capacity(), seed = test_seed_for(t, 1);
	uint8_t *buf;
	unsigned i, bad = 0;

	ASSERT_TRUE(t, virtio_blk_present());
	ASSERT_TRUE(t, cap > 0);	/* sectors are drawn % cap */
	buf = buf_alloc(t, SECTOR);
	if (!buf)
		return;	/* failed or skipped in buf_alloc() */
	for (i = 0; i < NRANDOM; i++) {
		uint64_t s = test_rand(&seed) % cap;
		error_t e = virtio_blk_read(s, buf, 1);

		EXPECT_OK(t, e);
		if (!e)
			bad += check_image(buf, s, 1);
	}
	EXPECT_EQ(t, bad, 0);
	mem_free(buf);
}

static void virtio_read_multi_sector(struct test *t)
{
	static const unsigned lens[] = { 2, 3, 7, 8, 33, 127, 128, 129, 256, BUF_SECTORS };
	const unsigned per_req = VIRTIO_BLK_MAX_REQ / SECTOR;
	uint64_t cap = virtio_blk_capacity(), seed = test_seed_for(t, 2);
	uint8_t *buf;
	struct virtio_blk_info a, b;
	unsigned i;

	ASSERT_TRUE(t, virtio_blk_present());
	buf = buf_alloc(t, (size_t)BUF_SECTORS * SECTOR);
	if (!buf)
		return;	/* failed or skipped in buf_alloc() */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned n = lens[i] < cap ? lens[i] : (unsigned)cap;
		uint64_t s = test_rand(&seed) % (cap - n + 1);
		error_t e;

		memset(buf, 0xee, (size_t)n * SECTOR);
		virtio_blk_get_info(&a);
		e = virtio_blk_read(s, buf, n);
		virtio_blk_get_info(&b);
		EXPECT_OK(t, e);
		if (e)
			continue;
		EXPECT_EQ(t, check_image(buf, s, n), 0);
		/* one device request per VIRTIO_BLK_MAX_REQ bytes */
		EXPECT_EQ(t, b.requests - a.requests, (n + per_req - 1) / per_req);
	}
	/* the last sectors of the disk in one read */
	if (cap >= 5) {
		EXPECT_OK(t, virtio_blk_read(cap - 5, buf, 5));
		EXPECT_EQ(t, check_image(buf, cap - 5, 5), 0);
	}
	mem_free(buf);
}

static void virtio_read_whole_disk(struct test *t)
{
	uint64_t cap = virtio_blk_capacity(), s;
	uint8_t *buf;
	unsigned bad = 0;

	ASSERT_TRUE(t, virtio_blk_present());
	ASSERT_TRUE(t, cap > 0);	/* else the loop below reads nothing and "bad == 0" holds */
	buf = buf_alloc(t, (size_t)BUF_SECTORS * SECTOR);
	if (!buf)
		return;	/* failed or skipped in buf_alloc() */
	for (s = 0; s < cap; s += BUF_SECTORS) {
		unsigned n = cap - s < BUF_SECTORS ? (unsigned)(cap - s) : BUF_SECTORS;
		error_t e = virtio_blk_read(s, buf, n);

		EXPECT_OK(t, e);
		if (e)
			break;	/* not ASSERT: the buffer is freed below */
		bad += check_image(buf, s, n);
	}
	EXPECT_EQ(t, bad, 0);
	mem_free(buf);
}

/* write another pattern to random sectors and one multi-sector run, read back, then restore the image */
static void virtio_write_read_back(struct test *t)
{
	enum { NSINGLE = 16, RUN = 9 };
	uint64_t cap = virtio_blk_capacity(), seed = test_seed_for(t, 3), sec[NSINGLE + 1];
	unsigned cnt[NSINGLE + 1], i, k;
	struct virtio_blk_info in;
	uint8_t *want, *got;

	ASSERT_TRUE(t, virtio_blk_present());
	virtio_blk_get_info(&in);
	if (in.readonly) {
		uint8_t one[SECTOR];

		EXPECT_ERR(t, virtio_blk_write(0, memset(one, 0, sizeof(one)), 1), ERR_IO);
		test_skip(t, "read-only disk");
		return;
	}
	/* every hart's empty slabs back first: two 64 KiB heaps (tiny-heaps) need all their room here */
	smp_mem_drain_all();
	want = buf_alloc(t, RUN * SECTOR);
	got = buf_alloc(t, RUN * SECTOR);
	if (!want || !got) {
		mem_free(want);
		mem_free(got);
		return;
	}
	/*
	 * the driver allocates a DMA buffer as large as the longest request (and a header block) per
	 * request: look first that one fits beside ours (the other harts are idle: it stays there)
	 */
	{
		void *probe = NULL;

		if (mem_alloc(RUN * SECTOR + SECTOR, NULL, MEM_VALID_DMA, &probe) == ERR_NOMEM) {
			mem_free(want);
			mem_free(got);
			test_skip(t, "no room for the driver's DMA buffers beside the test's (tiny heaps)");
			return;
		}
		mem_free(probe);
	}
	ASSERT_GE(t, cap, 2 * RUN);
	for (i = 0; i < NSINGLE; i++) {
		sec[i] = test_rand(&seed) % cap;
		cnt[i] = 1;
	}
	sec[NSINGLE] = test_rand(&seed) % (cap - RUN + 1);
	cnt[NSINGLE] = RUN;

	for (i = 0; i <= NSINGLE; i++) {
		for (k = 0; k < cnt[i]; k++)
			written_sector(want + (size_t)k * SECTOR, sec[i] + k);
		EXPECT_OK(t, virtio_blk_write(sec[i], want, cnt[i]));
		memset(got, 0, (size_t)cnt[i] * SECTOR);
		EXPECT_OK(t, virtio_blk_read(sec[i], got, cnt[i]));
		if (memcmp(got, want, (size_t)cnt[i] * SECTOR))
			test_log("sector %llu (+%u): read back differs from what was written (want %p, got %p)",
				 (unsigned long long)sec[i], cnt[i], (void *)want, (void *)got);
		EXPECT_EQ(t, memcmp(got, want, (size_t)cnt[i] * SECTOR), 0);
	}
	/* restore (sectors written twice get the image back too), then check every touched sector */
	for (i = 0; i <= NSINGLE; i++) {
		for (k = 0; k < cnt[i]; k++)
			image_sector(want + (size_t)k * SECTOR, sec[i] + k, cap);
		EXPECT_OK(t, virtio_blk_write(sec[i], want, cnt[i]));
	}
	for (i = 0; i <= NSINGLE; i++) {
		EXPECT_OK(t, virtio_blk_read(sec[i], got, cnt[i]));
		EXPECT_EQ(t, check_image(got, sec[i], cnt[i]), 0);
	}
	mem_free(want);
	mem_free(got);
}

/*
 * Harts read sectors of their own at once: their DMA buffers come from their own cluster's proximity (a
 * memoryless or non-DMA cluster falls back), the driver's lock serialises the requests, the boot hart
 * checks. With up to ALL_HARTS_MAX harts every hart takes part; on larger machines the first hart of each
 * cluster to arrive does and the others go straight back to wfi: a spinning vCPU thread per waiting hart
 * starves QEMU's I/O thread on a loaded host (128 harts took 96 s for one sector each).
 */
#define ALL_HARTS_MAX 8
#define HART_READS 4

struct hart_read {
	uint32_t ran, reads, bad;
	int err;
};
static struct hart_read hread[TOPO_MAX_HARTS];
static uint32_t cluster_claimed[TOPO_MAX_CLUSTERS];
static bool all_harts;

static void read_on_hart(void *arg)
{
	unsigned idx = cls_self()->index;
	struct hart_read *r = &hread[idx];
	uint64_t cap = virtio_blk_capacity(), s;
	uint8_t buf[SECTOR];
	unsigned i;

	(void)arg;
	if (!all_harts && __atomic_exchange_n(&cluster_claimed[boot_topo.hart[idx].cluster], 1, __ATOMIC_RELAXED))
		return;
	r->ran = 1;
	for (i = 0; i < HART_READS; i++) {
		error_t e;

		s = ((uint64_t)idx * 131 + i * 977) % cap;
		e = virtio_blk_read(s, buf, 1);
		if (e) {
			r->err = e;
			return;
		}
		r->reads++;
		if (image_mismatch(buf, s, cap) >= 0)
			r->bad++;
	}
}

static void virtio_read_from_other_harts(struct test *t)
{
	static unsigned per_cluster[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	memset(per_cluster, 0, sizeof(per_cluster));
	unsigned i, n = smp_nharts(), ran = 0;
	uint64_t t0;

	ASSERT_TRUE(t, virtio_blk_present());
	memset(hread, 0, sizeof(hread));
	memset(cluster_claimed, 0, sizeof(cluster_claimed));
	all_harts = n <= ALL_HARTS_MAX;
	t0 = rdtime();
	smp_call_all(read_on_hart, NULL);
	t0 = rdtime() - t0;
	for (i = 0; i < boot_topo.nharts; i++) {
		if (!smp_hart_up(i))
			continue;
		if (all_harts)
			EXPECT_EQ(t, hread[i].ran, 1);
		if (!hread[i].ran)
			continue;
		ran++;
		per_cluster[boot_topo.hart[i].cluster]++;
		EXPECT_OK(t, hread[i].err);
		EXPECT_EQ(t, hread[i].reads, HART_READS);
		EXPECT_EQ(t, hread[i].bad, 0);
	}
	/* every cluster with a hart up took part: with all harts, all of them; else exactly one */
	for (i = 0; i < boot_topo.nharts; i++)
		if (smp_hart_up(i)) {
			if (all_harts)
				EXPECT_GE(t, per_cluster[boot_topo.hart[i].cluster], 1);
			else
				EXPECT_EQ(t, per_cluster[boot_topo.hart[i].cluster], 1);
		}
	test_log("%u of %u harts (%s) read %u sectors each in %llu ms", ran, n,
		 all_harts ? "all" : "one per cluster", HART_READS,
		 (unsigned long long)(t0 / (boot_topo.timebase_hz / 1000)));
}

struct dma_check {
	unsigned n, outside, above_limit;
	uintptr_t lo, hi;
};

static void dma_range_check(uintptr_t addr, size_t len, void *arg)
{
	struct dma_check *c = arg;

	if (!c->n++ || addr < c->lo)
		c->lo = addr;
	if (addr + len > c->hi)
		c->hi = addr + len;
	if (!mem_is_dma((const void *)addr, len))
		c->outside++;
	if (kopts.dma_limit && addr + len > kopts.dma_limit)
		c->above_limit++;
}

static void virtio_dma_addresses(struct test *t)
{
	struct dma_check c = { 0, 0, 0, 0, 0 };
	struct virtio_blk_info in;

	ASSERT_TRUE(t, virtio_blk_present());
	virtio_blk_dma_ranges(dma_range_check, &c);
	virtio_blk_get_info(&in);
	test_log("%u distinct ranges (%u more not logged) handed to the device, within 0x%llx..0x%llx; "
		 "dma limit 0x%llx", c.n, in.dma_unlogged, (unsigned long long)in.dma_lo,
		 (unsigned long long)in.dma_hi, (unsigned long long)kopts.dma_limit);
	EXPECT_GE(t, c.n, 4);			/* rings, and a header, data and status buffer */
	EXPECT_EQ(t, c.outside, 0);
	EXPECT_EQ(t, c.above_limit, 0);
	/* the hull of everything ever handed over (the log keeps only the first ranges) */
	EXPECT_TRUE(t, in.dma_lo <= c.lo && c.hi <= in.dma_hi);
	EXPECT_TRUE(t, mem_is_dma((const void *)in.dma_lo, in.dma_hi - in.dma_lo));
	if (kopts.dma_limit)
		EXPECT_LE(t, in.dma_hi, kopts.dma_limit);
	EXPECT_EQ(t, mem_dma_limit(), kopts.dma_limit);
	/* and the device is in good shape after everything above */
	EXPECT_EQ(t, in.errors, 0);
	EXPECT_FALSE(t, in.broken);
}

static void virtio_no_leak(struct test *t)
{
	static uint64_t after[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	unsigned c;

	ASSERT_TRUE(t, snapshot_taken);
	smp_mem_drain_all();
	heap_free_snapshot(after);
	for (c = 0; c < boot_topo.nclusters; c++) {
		char why[120] = "";

		if (after[c] != heap_before[c])
			test_log("cluster %u: free 0x%llx, was 0x%llx", c, (unsigned long long)after[c],
				 (unsigned long long)heap_before[c]);
		EXPECT_EQ(t, after[c], heap_before[c]);
		EXPECT_OK(t, heap_check(heap_of(c), why, sizeof(why)));
	}
}

TEST_SUITE_SKIP_IF(virtio_blk, virtio_skip, TEST_CASE(virtio_transport), TEST_CASE(virtio_capacity_matches_image),
		   TEST_CASE(virtio_read_random_sectors), TEST_CASE(virtio_read_multi_sector),
		   TEST_CASE(virtio_read_whole_disk), TEST_CASE(virtio_write_read_back),
		   TEST_CASE(virtio_read_from_other_harts), TEST_CASE(virtio_dma_addresses), TEST_CASE(virtio_no_leak));
