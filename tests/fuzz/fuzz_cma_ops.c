/* fuzz_cma_ops.c - libFuzzer target: mm/cma.c regions and registry driven by operation sequences against a page model. */
#include <stdlib.h>
#include <string.h>

#include "mm/cma.h"
#include "tests/fuzz/fuzz.h"

/*
 * Input: a header, then operations until the input or MAX_OPS runs out.
 *
 *	header	u8 flags	bit 0: the region is declared in the registry (freed through cma_free(),
 *				allocated through cma_alloc() by region or device name); bits 1-2: where it
 *				sits (low, high, ending exactly at the top of the address space, at 0)
 *		u16 pages	1 .. 2048 pages
 *		u16 where	page offset of the base
 *	op	u8 kind, arguments
 *
 * A region's memory is never touched (cma.h), so it has no memory at all here: its base is a made-up
 * address, and any access would fault. The model is a state per page (free, chunk start, inside a chunk)
 * and predicts every result exactly: best fit (the smallest free range that holds an aligned chunk, the
 * lowest address on ties, the chunk at its lowest aligned address), ERR_SIZE / ERR_ALIGN / ERR_EXHAUSTED,
 * and ERR_NOENT for every free that is not a chunk start (outside, misaligned, interior, free space,
 * double). After every operation cma_region_info()'s chunk count and four counters must match the model;
 * every 16th operation and at the end cma_region_check() must pass, and a walk of the page model checks
 * the bytes, the free-range count and the largest free range as well.
 *
 * Registry operations (declare further regions, assign devices, exclusive, find) run against a model of
 * names: duplicates, bad names, full tables, overlaps and the "default" fallback must get their codes.
 */
#define MAX_OPS 2000
#define MAX_PAGES 2048
#define PAGE ((uintptr_t)CMA_PAGE_SIZE)

enum { P_FREE, P_HEAD, P_IN };

static uint8_t pg[MAX_PAGES];
static uint32_t chunks[MAX_PAGES];	/* first pages of the live chunks, unordered */
static uint32_t nchunks;
static struct cma_region solo;
static struct cma_region *r;
static uintptr_t base;
static uint32_t npages;
static bool declared;
static uint64_t m_allocs, m_frees, m_failures, m_bad;
static uintptr_t freed[16];
static unsigned nfreed;

/* ---- registry model ---- */

static const char *const names[] = {
	"main", "default", "dma0", "gpu0", "dsi0", "x", "fb.1", "abcdefghijklmno", "abcdefghijklmnop", "",
	"virtio-net", "sd_card",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

struct slot {
	const char *name;
	uintptr_t base;
	size_t size;
	unsigned ndevs;
	const char *devs[CMA_MAX_DEVS];
	bool exclusive;
	void *meta;
};

static struct slot slots[CMA_MAX_REGIONS];
static unsigned nslots;

static bool name_ok(const char *n)
{
	return n && strlen(n) > 0 && strlen(n) < CMA_NAME_MAX;
}

static struct slot *slot_by_region(const char *n)
{
	unsigned i;

	for (i = 0; i < nslots; i++)
		if (!strcmp(slots[i].name, n))
			return &slots[i];
	return NULL;
}

static struct slot *slot_by_dev(const char *n)
{
	unsigned i, d;

	for (i = 0; i < nslots; i++)
		for (d = 0; d < slots[i].ndevs; d++)
			if (!strcmp(slots[i].devs[d], n))
				return &slots[i];
	return NULL;
}

static bool overlaps(uintptr_t a, size_t alen, uintptr_t b, size_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* ---- the region model ---- */

/*
 * After every operation: the counters. The walks - cma_region_check() and the page walk (free ranges,
 * largest) - every 16th time and when @full.
 */
static void check_region(bool full)
{
	struct cma_info in;
	char why[200];
	error_t e;
	uint64_t freep = 0, largest = 0, run = 0;
	unsigned nch = 0, ranges = 0;
	uint32_t i;

	cma_region_info(r, &in);
	FUZZ_CHECK(in.allocs == m_allocs && in.frees == m_frees && in.failures == m_failures && in.bad_frees == m_bad &&
			   in.chunks == nchunks,
		   "cma counters: allocs %llu/%llu frees %llu/%llu failures %llu/%llu bad_frees %llu/%llu chunks %u/%u",
		   (unsigned long long)in.allocs, (unsigned long long)m_allocs, (unsigned long long)in.frees,
		   (unsigned long long)m_frees, (unsigned long long)in.failures, (unsigned long long)m_failures,
		   (unsigned long long)in.bad_frees, (unsigned long long)m_bad, in.chunks, nchunks);
	if (!full && (m_allocs + m_frees + m_failures + m_bad) % 16)
		return;
	e = cma_region_check(r, why, sizeof(why));
	FUZZ_CHECK(e == 0, "cma_region_check: %s (%s)", err_str(e), why);
	for (i = 0; i < npages; i++) {
		if (pg[i] == P_FREE) {
			freep++;
			ranges += !run;
			run++;
			if (run > largest)
				largest = run;
		} else {
			nch += pg[i] == P_HEAD;
			run = 0;
		}
	}
	FUZZ_CHECK(in.base == base && in.total == npages * PAGE && in.free == freep * PAGE &&
			   in.largest_free == largest * PAGE && in.chunks == nch && in.free_ranges == ranges,
		   "cma_region_info: total %zu free %zu/%llu largest %zu/%llu chunks %u/%u ranges %u/%u",
		   in.total, in.free, (unsigned long long)(freep * PAGE), in.largest_free,
		   (unsigned long long)(largest * PAGE), in.chunks, nch, in.free_ranges, ranges);
}

/* the model's best fit: first page of the chunk, or -1 */
static int64_t best_fit(uint32_t need, uintptr_t al)
{
	uint32_t i = 0, best_len = 0;
	int64_t best = -1;

	while (i < npages) {
		uint32_t j = i;
		uint64_t pad;

		if (pg[i] != P_FREE) {
			i++;
			continue;
		}
		while (j < npages && pg[j] == P_FREE)
			j++;
		pad = (uint64_t)((-(base + (uintptr_t)i * PAGE)) & (al - 1)) / PAGE;
		if (j - i >= need && pad <= (uint64_t)(j - i - need) && (best < 0 || j - i < best_len)) {
			best = (int64_t)(i + pad);
			best_len = j - i;
		}
		i = j;
	}
	return best;
}

static const char *alloc_name(uint8_t v)
{
	/* the region's own name, one of its devices, or any name (unknown ones fall back to "default") */
	if (v % 3 == 0 || !slots[0].ndevs)
		return v % 3 == 2 ? names[(v >> 2) % NNAMES] : slots[0].name;
	return v % 3 == 1 ? slots[0].devs[(v >> 2) % slots[0].ndevs] : names[(v >> 2) % NNAMES];
}

static void do_alloc(uint64_t size, uint64_t align, uint8_t how)
{
	uintptr_t al = align < CMA_PAGE_SIZE ? PAGE : (uintptr_t)align, a = 0;
	uint32_t need = 0;
	int64_t at = -1;
	error_t want, e;
	const char *via = NULL;
	struct slot *s = NULL;

	if (declared && (how & 1)) {
		via = alloc_name(how >> 1);
		s = slot_by_region(via);
		if (!s)
			s = slot_by_dev(via);
		if (!s)
			s = slot_by_region("default");
		if (s != &slots[0])
			return;	/* another region, or none: the registry ops check cma_find() */
	}
	fuzz_op(via ? "cma_alloc" : "cma_region_alloc", size, align, 0);
	if (size == 0 || size > npages * PAGE) {
		want = ERR_SIZE;
	} else if (al & (al - 1)) {
		want = ERR_ALIGN;
	} else {
		need = (uint32_t)(size / PAGE + (size % PAGE != 0));
		at = best_fit(need, al);
		want = at < 0 ? ERR_EXHAUSTED : 0;
	}
	e = via ? cma_alloc(via, size, align, &a) : cma_region_alloc(r, size, align, &a);
	EXPECT_ERR(FT, e, want);
	if (e) {
		FUZZ_CHECK(a == 0, "failed cma alloc wrote its out-pointer");
		m_failures++;
		return;
	}
	FUZZ_CHECK(a == base + (uintptr_t)at * PAGE, "cma alloc(%llu, %llu) = %#lx, best fit is %#lx",
		   (unsigned long long)size, (unsigned long long)align, (unsigned long)a,
		   (unsigned long)(base + (uintptr_t)at * PAGE));
	FUZZ_CHECK(cma_region_owns(r, a) && !(a & (al - 1)), "chunk %#lx outside the region or misaligned",
		   (unsigned long)a);
	pg[at] = P_HEAD;
	chunks[nchunks++] = (uint32_t)at;
	memset(&pg[at + 1], P_IN, need - 1);
	m_allocs++;
}

static void do_free(uintptr_t a)
{
	bool inside = a >= base && a - base < npages * PAGE, ok = inside && !((a - base) % PAGE) &&
								      pg[(a - base) / PAGE] == P_HEAD;
	error_t e;

	fuzz_op(declared ? "cma_free" : "cma_region_free", a, ok, 0);
	FUZZ_CHECK(cma_region_owns(r, a) == inside, "cma_region_owns(%#lx) wrong", (unsigned long)a);
	e = declared ? cma_free(a) : cma_region_free(r, a);
	EXPECT_ERR(FT, e, ok ? 0 : ERR_NOENT);
	if (!ok) {
		if (inside || !declared)
			m_bad++;	/* cma_free() of an address no region holds counts nowhere */
		return;
	}
	{
		uint32_t i = (uint32_t)((a - base) / PAGE), j = i + 1;

		while (j < npages && pg[j] == P_IN)
			j++;
		memset(&pg[i], P_FREE, j - i);
		for (j = 0; chunks[j] != i; j++)
			;
		chunks[j] = chunks[--nchunks];
	}
	m_frees++;
	freed[nfreed++ % 16] = a;
}

static uintptr_t chunk_addr(uint16_t k)
{
	return nchunks ? base + (uintptr_t)chunks[k % nchunks] * PAGE : base;
}

static uintptr_t bogus_addr(struct fuzz_in *in)
{
	uint8_t v = fin_u8(in);
	uint32_t x = fin_u32(in);

	switch (v % 6) {
	case 0:	/* any page of the region */
		return base + (uintptr_t)(x % npages) * PAGE;
	case 1:	/* misaligned */
		return chunk_addr((uint16_t)x) + 1 + (x >> 16) % (PAGE - 1);
	case 2:	/* freed before */
		return nfreed ? freed[x % (nfreed < 16 ? nfreed : 16)] : base;
	case 3:	/* just outside */
		return (x & 1) ? base - PAGE * (1 + (x >> 1) % 4) : base + (uintptr_t)npages * PAGE + (x >> 1) % 3 * PAGE;
	case 4:
		return 0;
	default:
		return (uintptr_t)x << 12;
	}
}

static uint64_t align_arg(struct fuzz_in *in)
{
	uint8_t v = fin_u8(in);

	switch (v % 5) {
	case 0: return 0;
	case 1: return 1 + fin_u16(in) % (CMA_PAGE_SIZE - 1);
	case 2: return (uint64_t)1 << (12 + (v >> 3) % 12);	/* 4 KiB .. 8 MiB */
	case 3: return (uint64_t)1 << (12 + (v >> 3) % 52);	/* up to 2^63 */
	default: return fin_u32(in);				/* mostly not a power of two */
	}
}

/* ---- registry ops ---- */

#define XBASE ((uintptr_t)0x7000000000ull)

static void reg_declare(struct fuzz_in *in)
{
	const char *n = names[fin_u8(in) % NNAMES];
	uintptr_t b = XBASE + (uintptr_t)(fin_u8(in) % 64) * PAGE;
	size_t size = (size_t)(1 + fin_u8(in) % 32) * PAGE, msize = cma_meta_size(size);
	void *meta = malloc(msize);
	struct cma_region *out = NULL;
	error_t want = 0, e;
	unsigned i;

	if (!meta)
		abort();
	if (!name_ok(n))
		want = ERR_INVAL;
	else if (slot_by_region(n) || slot_by_dev(n))
		want = ERR_INVAL;
	else if (nslots == CMA_MAX_REGIONS)
		want = ERR_NOMEM;
	else
		for (i = 0; i < nslots; i++)
			if (overlaps(b, size, slots[i].base, slots[i].size))
				want = ERR_OVERLAP;
	fuzz_op("cma_declare", b, size, (uint64_t)(int64_t)want);
	e = cma_declare(n, b, size, meta, msize, &out);
	EXPECT_ERR(FT, e, want);
	if (e) {
		free(meta);
		return;
	}
	FUZZ_CHECK(out && !strcmp(out->name, n), "cma_declare: region not returned");
	slots[nslots] = (struct slot){ n, b, size, 0, { NULL }, false, meta };
	nslots++;
}

static void reg_assign(struct fuzz_in *in)
{
	const char *rn = names[fin_u8(in) % NNAMES], *dev = names[fin_u8(in) % NNAMES];
	struct slot *s = slot_by_region(rn), *o;
	error_t want = 0, e;

	if (!s)
		want = ERR_NODEV;
	else if (!name_ok(dev) || slot_by_region(dev))
		want = ERR_INVAL;
	else if ((o = slot_by_dev(dev)) == s)
		want = 0;
	else if (o || (s->exclusive && s->ndevs > 0))
		want = ERR_INVAL;
	else if (s->ndevs == CMA_MAX_DEVS)
		want = ERR_NOMEM;
	else
		s->devs[s->ndevs++] = dev;
	fuzz_op("cma_assign", (uintptr_t)rn, (uintptr_t)dev, (uint64_t)(int64_t)want);
	e = cma_assign(rn, dev);
	EXPECT_ERR(FT, e, want);
}

static void reg_exclusive(struct fuzz_in *in)
{
	uint8_t v = fin_u8(in);
	const char *rn = names[v % NNAMES];
	struct slot *s = slot_by_region(rn);
	bool ex = v & 0x80;
	error_t want = !s ? ERR_NODEV : ex && s->ndevs > 1 ? ERR_INVAL : 0;

	if (!want)
		s->exclusive = ex;
	fuzz_op("cma_set_exclusive", (uintptr_t)rn, ex, (uint64_t)(int64_t)want);
	EXPECT_ERR(FT, cma_set_exclusive(rn, ex), want);
}

static void reg_find(struct fuzz_in *in)
{
	const char *n = names[fin_u8(in) % NNAMES];
	struct slot *s = slot_by_region(n);
	struct cma_region *out = NULL;
	error_t e;

	if (!s)
		s = slot_by_dev(n);
	if (!s)
		s = slot_by_region("default");
	fuzz_op("cma_find", (uintptr_t)n, s != NULL, 0);
	e = cma_find(n, &out);
	EXPECT_ERR(FT, e, s ? 0 : ERR_NODEV);
	if (!e)
		FUZZ_CHECK(!strcmp(out->name, s->name), "cma_find(%s) = %s, model %s", n, out->name, s->name);
}

/* ---- setup ---- */

static void *setup(struct fuzz_in *in)
{
	uint8_t flags = fin_u8(in);
	uint16_t where = fin_u16(in);
	size_t size, msize;
	void *meta;
	uint8_t dummy[256] __attribute__((aligned(8)));

	npages = 1 + fin_u16(in) % MAX_PAGES;
	size = (size_t)npages * PAGE;
	switch ((flags >> 1) % 4) {
	case 0: base = (uintptr_t)0x80000000u + (uintptr_t)where * PAGE; break;
	case 1: base = (uintptr_t)0xffff800000000000ull + (uintptr_t)where * PAGE; break;
	case 2: base = (uintptr_t)0 - size; break;	/* ends exactly at 2^64 */
	default: base = 0; break;
	}
	msize = cma_meta_size(size);
	FUZZ_CHECK(msize >= (npages + 1) * 28 && msize < (npages + 2) * 28, "cma_meta_size(%zu) = %zu", size, msize);
	meta = malloc(msize);
	if (!meta)
		abort();
	memset(meta, 0xa5, msize);	/* init must not trust the node pool */

	/* the refusals of cma_region_init() */
	EXPECT_ERR(FT, cma_region_init(&solo, "", base, size, meta, msize), ERR_INVAL);
	EXPECT_ERR(FT, cma_region_init(&solo, "abcdefghijklmnop", base, size, meta, msize), ERR_INVAL);
	EXPECT_ERR(FT, cma_region_init(&solo, "main", base, size, NULL, msize), ERR_INVAL);
	EXPECT_ERR(FT, cma_region_init(&solo, "main", base, size, (char *)meta + 1, msize), ERR_INVAL);
	EXPECT_ERR(FT, cma_region_init(&solo, "main", base, 0, meta, msize), ERR_SIZE);
	EXPECT_ERR(FT, cma_region_init(&solo, "main", base + 1, size, meta, msize), ERR_ALIGN);
	EXPECT_ERR(FT, cma_region_init(&solo, "main", base, size - 1, meta, msize), ERR_ALIGN);
	EXPECT_ERR(FT, cma_region_init(&solo, "main", base, size, meta, msize - 1), ERR_SIZE);
	if (base)	/* a region past the end of the address space */
		EXPECT_ERR(FT, cma_region_init(&solo, "main", base, 0 - base + PAGE, meta, msize), ERR_SIZE);
	EXPECT_ERR(FT, cma_region_init(&solo, "main", (uintptr_t)dummy & ~(PAGE - 1), 2 * PAGE, dummy,
				       sizeof(dummy)), ERR_OVERLAP);

	cma_reset();
	nslots = 0;
	declared = flags & 1;
	if (declared) {
		struct cma_region *out = NULL;

		EXPECT_OK(FT, cma_declare("main", base, size, meta, msize, &out));
		r = out;
		slots[0] = (struct slot){ "main", base, size, 0, { NULL }, false, NULL };
		nslots = 1;
	} else {
		EXPECT_OK(FT, cma_region_init(&solo, "main", base, size, meta, msize));
		r = &solo;
	}
	memset(pg, P_FREE, npages);
	nchunks = 0;
	m_allocs = m_frees = m_failures = m_bad = 0;
	nfreed = 0;
	return meta;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	void *meta;
	unsigned ops, i;

	fuzz_begin();
	meta = setup(&in);
	check_region(true);
	for (ops = 0; ops < MAX_OPS && fin_more(&in); ops++) {
		uint8_t kind = fin_u8(&in);

		switch ((kind & 0x0f) % 12) {	/* bit 4: a flag of the op */
		case 0: case 1: case 2: case 3: {
			uint64_t sz = fin_size(&in, 24), al = align_arg(&in);

			do_alloc(sz, al, fin_u8(&in));
			break;
		}
		case 4: case 5: case 6:
			do_free(chunk_addr(fin_u16(&in)));
			break;
		case 7: case 8:
			do_free(bogus_addr(&in));
			break;
		case 9:
			if (declared)
				reg_declare(&in);
			break;
		case 10:
			if (declared)
				((kind >> 4) & 1 ? reg_assign : reg_exclusive)(&in);
			break;
		default:
			if (declared)
				reg_find(&in);
			else
				EXPECT_ERR(FT, cma_region_free(NULL, base), ERR_INVAL);
			break;
		}
		check_region(false);
	}
	/* free every chunk: the region must be one free range again */
	check_region(true);
	while (nchunks)
		do_free(base + (uintptr_t)chunks[nchunks - 1] * PAGE);
	check_region(true);
	FUZZ_CHECK(r->nfree_ranges == 1 && r->free_pages == npages, "after freeing all: %u free ranges, %u/%u pages",
		   r->nfree_ranges, r->free_pages, npages);
	cma_reset();
	for (i = 1; i < nslots; i++)
		free(slots[i].meta);
	free(meta);
	return 0;
}
