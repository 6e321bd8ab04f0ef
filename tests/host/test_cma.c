/* test_cma.c - host tests of the CMA region core (against a page-map model) and of the region registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/bootargs.h"
#include "mm/cma.h"
#include "mm/env.h"
#include "tests/host/rng.h"
#include "tests/test.h"

#define PG ((uintptr_t)CMA_PAGE_SIZE)
#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* A region with its metadata on the host heap. The base is a made-up address: CMA never touches it. */
struct fixture {
	struct cma_region r;
	void *meta;
};

static bool fx_init(struct test *t, struct fixture *f, const char *name, uintptr_t base, size_t size)
{
	size_t ms = cma_meta_size(size);
	error_t e;

	f->meta = malloc(ms);
	CHECK_OR_FALSE(t, f->meta != NULL, "no host memory for %zu bytes of metadata", ms);
	e = cma_region_init(&f->r, name, base, size, f->meta, ms);
	CHECK_OR_FALSE(t, e == 0, "cma_region_init: %s", err_str(e));
	return true;
}

static void fx_fini(struct fixture *f)
{
	free(f->meta);
	f->meta = NULL;
}

static bool region_ok(struct test *t, const struct cma_region *r)
{
	char why[160];
	error_t e = cma_region_check(r, why, sizeof(why));

	CHECK_OR_FALSE(t, e == 0, "cma_region_check: %s: %s", err_str(e), why);
	return true;
}

/* ---- the model: one byte per page and the live chunks ------------------------------------------------------ */

#define M_PAGES 8192		/* 32 MiB */
#define M_LIVE_MAX 4096

enum { PG_FREE = 0, PG_HEAD, PG_BODY };

struct chunk {
	uintptr_t addr;
	uint32_t first, pages;
};

struct model {
	uintptr_t base;
	uint32_t npages;
	uint8_t map[M_PAGES];
	struct chunk live[M_LIVE_MAX];
	unsigned nlive;
	uint64_t allocs, frees, failures, bad_frees;
};

static void model_init(struct model *m, uintptr_t base, uint32_t npages)
{
	memset(m, 0, sizeof(*m));
	m->base = base;
	m->npages = npages;
}

/*
 * The best fit, computed the slow way: every maximal run of free pages, smallest run in which an aligned
 * chunk fits, lowest address on ties; the chunk at the run's first aligned page. False if none fits.
 */
static bool model_best_fit(const struct model *m, uint32_t need, uintptr_t align, uint32_t *first)
{
	uint32_t s = 0, best_len = UINT32_MAX;
	bool found = false;

	while (s < m->npages) {
		uint32_t e = s, pad;
		uintptr_t a;

		if (m->map[s] != PG_FREE) {
			s++;
			continue;
		}
		while (e < m->npages && m->map[e] == PG_FREE)
			e++;
		a = m->base + s * PG;
		pad = (uint32_t)(((-a) & (align - 1)) / PG);
		if ((uint64_t)pad + need <= e - s && e - s < best_len) {
			best_len = e - s;
			*first = s + pad;
			found = true;
		}
		s = e;
	}
	return found;
}

/* Free pages, free runs and the longest run of the model. */
static void model_stats(const struct model *m, size_t *free_pages, unsigned *runs, size_t *largest)
{
	uint32_t i = 0;

	*free_pages = 0;
	*runs = 0;
	*largest = 0;
	while (i < m->npages) {
		uint32_t e = i;

		if (m->map[i] != PG_FREE) {
			i++;
			continue;
		}
		while (e < m->npages && m->map[e] == PG_FREE)
			e++;
		*free_pages += e - i;
		(*runs)++;
		if (e - i > *largest)
			*largest = e - i;
		i = e;
	}
}

/* Everything cma_region_info() says agrees with the model, and cma_region_check() passes. */
static bool model_agrees(struct test *t, const struct cma_region *r, const struct model *m)
{
	struct cma_info in;
	size_t fp, largest;
	unsigned runs;

	cma_region_info(r, &in);
	model_stats(m, &fp, &runs, &largest);
	CHECK_OR_FALSE(t, in.total == m->npages * PG, "total %zu", in.total);
	CHECK_OR_FALSE(t, in.base == m->base, "base %#lx", (unsigned long)in.base);
	CHECK_OR_FALSE(t, in.free == fp * PG, "free %zu, model %zu", in.free, fp * PG);
	CHECK_OR_FALSE(t, in.largest_free == largest * PG, "largest %zu, model %zu", in.largest_free,
		       largest * PG);
	CHECK_OR_FALSE(t, in.free_ranges == runs, "free ranges %u, model %u", in.free_ranges, runs);
	CHECK_OR_FALSE(t, in.chunks == m->nlive, "chunks %u, model %u", in.chunks, m->nlive);
	CHECK_OR_FALSE(t, in.allocs == m->allocs && in.frees == m->frees && in.failures == m->failures &&
				  in.bad_frees == m->bad_frees,
		       "counters %llu/%llu/%llu/%llu, model %llu/%llu/%llu/%llu", (unsigned long long)in.allocs,
		       (unsigned long long)in.frees, (unsigned long long)in.failures,
		       (unsigned long long)in.bad_frees, (unsigned long long)m->allocs,
		       (unsigned long long)m->frees, (unsigned long long)m->failures,
		       (unsigned long long)m->bad_frees);
	return region_ok(t, r);
}

/*
 * One allocation, checked: the result must be the model's best fit (or ERR_EXHAUSTED exactly when the
 * model finds none); the chunk is aligned, inside the region and over free pages only.
 */
static bool model_alloc(struct test *t, struct cma_region *r, struct model *m, size_t size, size_t align)
{
	uintptr_t eff = align < PG ? PG : align, a = 0;
	uint32_t need = (uint32_t)((size + PG - 1) / PG), want = 0, first, i;
	bool fits = model_best_fit(m, need, eff, &want);
	error_t e = cma_region_alloc(r, size, align, &a);

	if (!fits) {
		m->failures++;
		CHECK_OR_FALSE(t, e == ERR_EXHAUSTED, "alloc %zu align %zu: %s, model has no fit", size, align,
			       err_str(e));
		return true;
	}
	CHECK_OR_FALSE(t, e == 0, "alloc %zu align %zu: %s, model fits at page %u", size, align, err_str(e),
		       want);
	CHECK_OR_FALSE(t, cma_region_owns(r, a) && a + need * PG <= m->base + m->npages * PG,
		       "chunk %#lx+%u pages outside the region", (unsigned long)a, need);
	CHECK_OR_FALSE(t, (a & (eff - 1)) == 0, "chunk %#lx not aligned to %#lx", (unsigned long)a,
		       (unsigned long)eff);
	first = (uint32_t)((a - m->base) / PG);
	CHECK_OR_FALSE(t, first == want, "alloc %zu align %#lx: got page %u, best fit is page %u", size,
		       (unsigned long)eff, first, want);
	for (i = 0; i < need; i++)
		CHECK_OR_FALSE(t, m->map[first + i] == PG_FREE, "page %u handed out twice", first + i);
	for (i = 0; i < need; i++)
		m->map[first + i] = i ? PG_BODY : PG_HEAD;
	CHECK_OR_FALSE(t, m->nlive < M_LIVE_MAX, "model full");
	m->live[m->nlive++] = (struct chunk){ a, first, need };
	m->allocs++;
	return true;
}

static bool model_free(struct test *t, struct cma_region *r, struct model *m, unsigned k)
{
	struct chunk c = m->live[k];
	error_t e = cma_region_free(r, c.addr);
	uint32_t i;

	CHECK_OR_FALSE(t, e == 0, "free %#lx: %s", (unsigned long)c.addr, err_str(e));
	for (i = 0; i < c.pages; i++)
		m->map[c.first + i] = PG_FREE;
	m->live[k] = m->live[--m->nlive];
	m->frees++;
	return true;
}

/* A refused free: ERR_NOENT and nothing but bad_frees changes (compared field by field, then checked). */
static bool bad_free(struct test *t, struct cma_region *r, uintptr_t addr)
{
	struct cma_info a, b;
	error_t e;

	cma_region_info(r, &a);
	e = cma_region_free(r, addr);
	cma_region_info(r, &b);
	CHECK_OR_FALSE(t, e == ERR_NOENT && e == -2, "free %#lx: %s, expected ENOENT", (unsigned long)addr,
		       err_str(e));
	CHECK_OR_FALSE(t, b.bad_frees == a.bad_frees + 1, "bad_frees not counted");
	b.bad_frees = a.bad_frees;
	CHECK_OR_FALSE(t, !memcmp(&a, &b, sizeof(a)), "a refused free of %#lx changed the region",
		       (unsigned long)addr);
	return region_ok(t, r);
}

/* A random size, 1 byte .. 1 MiB, small ones more likely; sometimes not a page multiple. */
static size_t rnd_size(void)
{
	switch (rnd_below(4)) {
	case 0:
		return 1 + rnd_below(4 * PG);
	case 1:
		return (1 + rnd_below(16)) * PG;
	case 2:
		return 1 + rnd_below(MiB);
	default:
		return (1 + rnd_below(256)) * PG;
	}
}

/* A random alignment 0 .. 2 MiB: 0, sub-page values (raised to a page) or powers of two up to 2 MiB. */
static size_t rnd_align(void)
{
	switch (rnd_below(5)) {
	case 0:
		return 0;
	case 1:
		return rnd_below(PG);
	default:
		return PG << rnd_below(10);	/* 4 KiB .. 2 MiB */
	}
}

/*
 * An address no live chunk starts at (the model says so): inside a chunk, unaligned, in free space, or
 * outside the region.
 */
static uintptr_t rnd_bad_addr(const struct model *m)
{
	for (;;) {
		const struct chunk *c = m->nlive ? &m->live[rnd_below(m->nlive)] : NULL;
		uintptr_t a;

		switch (rnd_below(4)) {
		case 0:
			if (!c || c->pages < 2)
				continue;
			return c->addr + PG * (1 + rnd_below(c->pages - 1));
		case 1:
			if (!c)
				continue;
			return c->addr + 1 + rnd_below(PG - 1);
		case 2:
			a = rnd_below(m->npages);
			if (m->map[a] == PG_HEAD)
				continue;
			return m->base + a * PG;
		default:
			return rnd_below(2) ? m->base - PG * (1 + rnd_below(4)) : m->base + m->npages * PG;
		}
	}
}

/* ---- cma_region ------------------------------------------------------------------------------------------ */

static void init_args(struct test *t)
{
	static uint8_t meta[4096] __attribute__((aligned(8)));
	struct cma_region r;
	size_t ms = cma_meta_size(64 * KiB);
	char longname[CMA_NAME_MAX + 1];

	memset(longname, 'x', sizeof(longname) - 1);
	longname[CMA_NAME_MAX] = 0;
	EXPECT_GT(t, ms, 0);
	EXPECT_LE(t, ms, sizeof(meta));
	EXPECT_EQ(t, cma_meta_size(64 * KiB), cma_meta_size(64 * KiB - 100));
	EXPECT_ERR(t, cma_region_init(NULL, "a", 0x10000, 64 * KiB, meta, ms), ERR_INVAL);
	EXPECT_ERR(t, cma_region_init(&r, "a", 0x10000, 64 * KiB, NULL, ms), ERR_INVAL);
	EXPECT_ERR(t, cma_region_init(&r, "", 0x10000, 64 * KiB, meta, ms), ERR_INVAL);
	EXPECT_ERR(t, cma_region_init(&r, NULL, 0x10000, 64 * KiB, meta, ms), ERR_INVAL);
	EXPECT_ERR(t, cma_region_init(&r, longname, 0x10000, 64 * KiB, meta, ms), ERR_INVAL);
	longname[CMA_NAME_MAX - 1] = 0;	/* exactly CMA_NAME_MAX - 1 characters: fine */
	EXPECT_OK(t, cma_region_init(&r, longname, 0x10000, 64 * KiB, meta, ms));
	EXPECT_ERR(t, cma_region_init(&r, "a", 0x10000, 0, meta, ms), ERR_SIZE);
	EXPECT_ERR(t, cma_region_init(&r, "a", 0x10001, 64 * KiB, meta, ms), ERR_ALIGN);
	EXPECT_ERR(t, cma_region_init(&r, "a", 0x10000, 64 * KiB + 1, meta, ms), ERR_ALIGN);
	EXPECT_ERR(t, cma_region_init(&r, "a", 0x10000, 64 * KiB, meta, ms - 1), ERR_SIZE);
	EXPECT_ERR(t, cma_region_init(&r, "a", 0x10000, 64 * KiB, meta + 1, ms), ERR_INVAL);
	EXPECT_ERR(t, cma_region_init(&r, "a", UINTPTR_MAX - 0x7fff, 64 * KiB, meta, ms), ERR_SIZE);	/* wraps */
	EXPECT_ERR(t, cma_region_init(&r, "a", (uintptr_t)meta & ~(PG - 1), 64 * KiB, meta, ms), ERR_OVERLAP);
	/* the region may end exactly at the top of the address space */
	EXPECT_OK(t, cma_region_init(&r, "top", UINTPTR_MAX - 64 * KiB + 1, 64 * KiB, meta, ms));
	EXPECT_TRUE(t, cma_region_owns(&r, UINTPTR_MAX));
	EXPECT_TRUE(t, region_ok(t, &r));
	EXPECT_OK(t, cma_region_init(&r, "a", 0x10000, 64 * KiB, meta, ms));
	EXPECT_TRUE(t, region_ok(t, &r));
	EXPECT_TRUE(t, cma_region_owns(&r, 0x10000));
	EXPECT_TRUE(t, cma_region_owns(&r, 0x1ffff));
	EXPECT_FALSE(t, cma_region_owns(&r, 0x20000));
	EXPECT_FALSE(t, cma_region_owns(&r, 0xffff));
	EXPECT_FALSE(t, cma_region_owns(NULL, 0x10000));
}

static void alloc_args(struct test *t)
{
	struct fixture f;
	struct cma_info in;
	uintptr_t a = 0;

	if (!fx_init(t, &f, "args", 0x80100000, 4 * MiB))	/* 1 MiB- but not 2 MiB-aligned */
		return;
	EXPECT_ERR(t, cma_region_alloc(&f.r, 0, 0, &a), ERR_SIZE);
	EXPECT_ERR(t, cma_region_alloc(&f.r, 4 * MiB + 1, 0, &a), ERR_SIZE);
	EXPECT_ERR(t, cma_region_alloc(&f.r, SIZE_MAX, 0, &a), ERR_SIZE);
	EXPECT_ERR(t, cma_region_alloc(&f.r, PG, 3 * PG, &a), ERR_ALIGN);
	EXPECT_ERR(t, cma_region_alloc(&f.r, PG, 12288, &a), ERR_ALIGN);
	EXPECT_ERR(t, cma_region_alloc(&f.r, PG, (size_t)1 << 20 | 4096, &a), ERR_ALIGN);
	EXPECT_ERR(t, cma_region_alloc(&f.r, PG, PG, NULL), ERR_INVAL);
	EXPECT_ERR(t, cma_region_alloc(NULL, PG, PG, &a), ERR_INVAL);
	EXPECT_EQ(t, a, 0);	/* never written on failure */
	cma_region_info(&f.r, &in);
	EXPECT_EQ(t, in.failures, 6);
	EXPECT_EQ(t, in.allocs, 0);
	EXPECT_EQ(t, in.free, 4 * MiB);

	/* align 0, 1 and 4095 all mean page alignment: three one-page chunks, back to back from the base */
	EXPECT_OK(t, cma_region_alloc(&f.r, 1, 0, &a));
	EXPECT_EQ(t, a, 0x80100000);
	EXPECT_OK(t, cma_region_alloc(&f.r, 100, 1, &a));
	EXPECT_EQ(t, a, 0x80101000);
	EXPECT_OK(t, cma_region_alloc(&f.r, PG, 4095, &a));
	EXPECT_EQ(t, a, 0x80102000);
	/* a 64 KiB chunk 1 MiB-aligned: the next 1 MiB boundary, alignment far above the size */
	EXPECT_OK(t, cma_region_alloc(&f.r, 64 * KiB, MiB, &a));
	EXPECT_EQ(t, a, 0x80200000);
	/* 2 MiB alignment: the only 2 MiB boundary in [0x80100000, 0x80500000) is 0x80400000 */
	EXPECT_OK(t, cma_region_alloc(&f.r, 8 * KiB, 2 * MiB, &a));
	EXPECT_EQ(t, a, 0x80400000);
	/* and now no 2 MiB-aligned page is left */
	EXPECT_ERR(t, cma_region_alloc(&f.r, PG, 2 * MiB, &a), ERR_EXHAUSTED);
	/* an alignment larger than the whole region still works when the region happens to be aligned */
	EXPECT_ERR(t, cma_region_alloc(&f.r, PG, (size_t)1 << 40, &a), ERR_EXHAUSTED);
	cma_region_info(&f.r, &in);
	EXPECT_EQ(t, in.chunks, 5);
	EXPECT_EQ(t, in.free, 4 * MiB - 3 * PG - 64 * KiB - 8 * KiB);
	EXPECT_EQ(t, in.free_ranges, 3);
	EXPECT_EQ(t, in.failures, 8);
	EXPECT_TRUE(t, region_ok(t, &f.r));
	fx_fini(&f);

	if (!fx_init(t, &f, "huge-align", 0x40000000, 1 * MiB))
		return;
	EXPECT_OK(t, cma_region_alloc(&f.r, PG, (size_t)1 << 30, &a));
	EXPECT_EQ(t, a, 0x40000000);
	EXPECT_TRUE(t, region_ok(t, &f.r));
	fx_fini(&f);
}

/* Best fit by hand: holes of 3, 1, 2 and 2 pages; requests pick the smallest hole, lowest on ties. */
static void best_fit_basic(struct test *t)
{
	struct fixture f;
	uintptr_t a[16], x;
	struct cma_info in;
	unsigned i;

	if (!fx_init(t, &f, "bf", 0x100000, 16 * PG))
		return;
	for (i = 0; i < 16; i++) {
		ASSERT_OK(t, cma_region_alloc(&f.r, PG, 0, &a[i]));
		ASSERT_EQ(t, a[i], 0x100000 + i * PG);
	}
	/* pages 1-3, 5, 7-8, 10-11 become holes (hole 7-8 and 10-11 tie at 2 pages) */
	EXPECT_OK(t, cma_region_free(&f.r, a[1]));
	EXPECT_OK(t, cma_region_free(&f.r, a[3]));
	EXPECT_OK(t, cma_region_free(&f.r, a[2]));	/* merges both ways */
	EXPECT_OK(t, cma_region_free(&f.r, a[5]));
	EXPECT_OK(t, cma_region_free(&f.r, a[8]));
	EXPECT_OK(t, cma_region_free(&f.r, a[7]));
	EXPECT_OK(t, cma_region_free(&f.r, a[10]));
	EXPECT_OK(t, cma_region_free(&f.r, a[11]));
	cma_region_info(&f.r, &in);
	EXPECT_EQ(t, in.free_ranges, 4);
	EXPECT_EQ(t, in.largest_free, 3 * PG);
	EXPECT_TRUE(t, region_ok(t, &f.r));
	EXPECT_OK(t, cma_region_alloc(&f.r, 2 * PG, 0, &x));	/* smallest fitting: 7-8 (ties with 10-11) */
	EXPECT_EQ(t, x, 0x100000 + 7 * PG);
	EXPECT_OK(t, cma_region_alloc(&f.r, PG, 0, &x));	/* the one-page hole, not the first hole */
	EXPECT_EQ(t, x, 0x100000 + 5 * PG);
	EXPECT_OK(t, cma_region_alloc(&f.r, PG, 8 * KiB, &x));	/* holes 1-3, 10-11: the smaller, 0x10a000 */
	EXPECT_EQ(t, x, 0x100000 + 10 * PG);
	EXPECT_OK(t, cma_region_alloc(&f.r, 2 * PG, 8 * KiB, &x));	/* 1-3: aligned start 2, fits 2-3 */
	EXPECT_EQ(t, x, 0x100000 + 2 * PG);
	cma_region_info(&f.r, &in);
	EXPECT_EQ(t, in.free_ranges, 2);	/* pages 1 and 11 */
	EXPECT_EQ(t, in.free, 2 * PG);
	EXPECT_TRUE(t, region_ok(t, &f.r));
	fx_fini(&f);
}

static void bad_frees(struct test *t)
{
	struct fixture f;
	uintptr_t a, b, c;

	if (!fx_init(t, &f, "bad", 0x90000000, 8 * MiB))
		return;
	ASSERT_OK(t, cma_region_alloc(&f.r, 64 * KiB, 0, &a));
	ASSERT_OK(t, cma_region_alloc(&f.r, 128 * KiB, MiB, &b));
	ASSERT_OK(t, cma_region_alloc(&f.r, 3 * PG, 0, &c));
	EXPECT_TRUE(t, bad_free(t, &f.r, a + PG));		/* interior, page-aligned */
	EXPECT_TRUE(t, bad_free(t, &f.r, a + 1));		/* interior, unaligned */
	EXPECT_TRUE(t, bad_free(t, &f.r, b + 64 * KiB));
	EXPECT_TRUE(t, bad_free(t, &f.r, c - PG));		/* c went right after a: a's last page */
	EXPECT_TRUE(t, bad_free(t, &f.r, 0x90000000 + 7 * MiB));	/* free space */
	EXPECT_TRUE(t, bad_free(t, &f.r, 0x90000000 - PG));	/* below the region */
	EXPECT_TRUE(t, bad_free(t, &f.r, 0x90000000 + 8 * MiB));	/* just past it */
	EXPECT_TRUE(t, bad_free(t, &f.r, 0));
	EXPECT_TRUE(t, bad_free(t, &f.r, UINTPTR_MAX));
	EXPECT_OK(t, cma_region_free(&f.r, b));
	EXPECT_TRUE(t, bad_free(t, &f.r, b));			/* already freed */
	EXPECT_OK(t, cma_region_free(&f.r, a));
	EXPECT_TRUE(t, bad_free(t, &f.r, a));
	EXPECT_ERR(t, cma_region_free(NULL, a), ERR_INVAL);
	EXPECT_OK(t, cma_region_free(&f.r, c));
	{
		struct cma_info in;

		cma_region_info(&f.r, &in);
		EXPECT_EQ(t, in.bad_frees, 11);
		EXPECT_EQ(t, in.free_ranges, 1);
		EXPECT_EQ(t, in.free, 8 * MiB);
		EXPECT_EQ(t, in.chunks, 0);
	}
	EXPECT_TRUE(t, region_ok(t, &f.r));
	fx_fini(&f);
}

/* What cma_region_info() says: @bytes free in @ranges ranges, the largest @largest, @chunks live chunks. */
static void expect_space(struct test *t, const struct cma_region *r, size_t bytes, unsigned ranges, size_t largest,
			 unsigned chunks)
{
	struct cma_info in;

	cma_region_info(r, &in);
	EXPECT_EQ(t, in.free, bytes);
	EXPECT_EQ(t, in.free_ranges, ranges);
	EXPECT_EQ(t, in.largest_free, largest);
	EXPECT_EQ(t, in.chunks, chunks);
}

static void exhaustion(struct test *t)
{
	struct fixture f;
	uintptr_t a[64], x = 0;
	unsigned i, n = 0;

	if (!fx_init(t, &f, "full", 0xa0000000, 4 * MiB))
		return;
	/* 64 KiB chunks until the region says no: exactly 64 of them */
	for (;;) {
		error_t e = cma_region_alloc(&f.r, 64 * KiB, 64 * KiB, &x);

		if (e) {
			EXPECT_ERR(t, e, ERR_EXHAUSTED);
			break;
		}
		ASSERT_LE(t, n, 63);
		a[n++] = x;
	}
	EXPECT_EQ(t, n, 64);
	expect_space(t, &f.r, 0, 0, 0, 64);
	EXPECT_ERR(t, cma_region_alloc(&f.r, PG, 0, &x), ERR_EXHAUSTED);
	EXPECT_TRUE(t, region_ok(t, &f.r));
	/* free every other chunk: 32 holes of 64 KiB, none can hold 128 KiB */
	for (i = 0; i < n; i += 2)
		EXPECT_OK(t, cma_region_free(&f.r, a[i]));
	expect_space(t, &f.r, 2 * MiB, 32, 64 * KiB, 32);
	EXPECT_ERR(t, cma_region_alloc(&f.r, 128 * KiB, 0, &x), ERR_EXHAUSTED);
	/* 64 KiB 128 KiB-aligned fits in every hole (the even chunks were 128 KiB-aligned): the lowest */
	EXPECT_OK(t, cma_region_alloc(&f.r, 64 * KiB, 128 * KiB, &x));
	EXPECT_EQ(t, x, a[0]);
	EXPECT_OK(t, cma_region_free(&f.r, x));
	EXPECT_TRUE(t, region_ok(t, &f.r));
	/* the rest: back to one free range */
	for (i = 1; i < n; i += 2)
		EXPECT_OK(t, cma_region_free(&f.r, a[i]));
	expect_space(t, &f.r, 4 * MiB, 1, 4 * MiB, 0);
	EXPECT_TRUE(t, region_ok(t, &f.r));
	EXPECT_OK(t, cma_region_alloc(&f.r, 4 * MiB, 0, &x));
	EXPECT_EQ(t, x, 0xa0000000);
	EXPECT_OK(t, cma_region_free(&f.r, x));
	fx_fini(&f);
}

/*
 * Random allocations and frees against the model, several seeds: after every step the model and the
 * region agree (info, check), and every allocation is the model's best fit.
 */
static bool random_run(struct test *t, uint64_t seed, unsigned steps, uintptr_t base, bool report)
{
	static struct model m;
	struct fixture f;
	unsigned s, target = 0, nbad = 0, max_ranges = 0;
	uint64_t sum_ranges = 0, sum_pct = 0, samples = 0;
	struct cma_info in;
	bool ok_end;

	rng_seed(seed);
	model_init(&m, base, M_PAGES);
	if (!fx_init(t, &f, "rnd", base, M_PAGES * PG))
		return false;
	for (s = 0; s < steps; s++) {
		unsigned op = (unsigned)rnd_below(100);
		bool ok = true;

		if (s % 500 == 0)
			target = 4 + (unsigned)rnd_below(84);	/* swing the number of live chunks */
		if (op < 2 && nbad < 8) {
			/* a bad free now and then (each logs a line, so only a few per run) */
			uintptr_t bad = rnd_bad_addr(&m);

			ok = bad_free(t, &f.r, bad);
			m.bad_frees++;
			nbad++;
		} else if (m.nlive && (m.nlive >= target || op < 40)) {
			ok = model_free(t, &f.r, &m, (unsigned)rnd_below(m.nlive));
		} else {
			ok = model_alloc(t, &f.r, &m, rnd_size(), rnd_align());
		}
		if (!ok || !model_agrees(t, &f.r, &m)) {
			test_log("seed %llu: step %u failed", (unsigned long long)seed, s);
			fx_fini(&f);
			return false;
		}
		cma_region_info(&f.r, &in);
		if (in.chunks >= 16) {	/* fragmentation only means something with chunks around */
			samples++;
			sum_ranges += in.free_ranges;
			sum_pct += in.free ? in.largest_free * 100 / in.free : 100;
			if (in.free_ranges > max_ranges)
				max_ranges = in.free_ranges;
		}
	}
	cma_region_info(&f.r, &in);
	if (report)
	{
		test_log("seed %#llx, %u steps: %llu allocs (%llu refused), %llu frees, %llu bad frees",
			 (unsigned long long)seed, steps, (unsigned long long)in.allocs,
			 (unsigned long long)in.failures, (unsigned long long)in.frees,
			 (unsigned long long)in.bad_frees);
		test_log("  with >= 16 chunks (%llu steps): %.1f free ranges on average (max %u), largest free "
			 "range %.0f%% of free on average", (unsigned long long)samples,
			 samples ? (double)sum_ranges / samples : 0.0, max_ranges,
			 samples ? (double)sum_pct / samples : 0.0);
		test_log("  at the end: %u chunks, %u free ranges, largest free %zu KiB of %zu KiB free", in.chunks,
			 in.free_ranges, in.largest_free / KiB, in.free / KiB);
	}
	ok_end = true;
	while (m.nlive && ok_end)
		ok_end = model_free(t, &f.r, &m, m.nlive - 1);
	ok_end = ok_end && model_agrees(t, &f.r, &m);
	cma_region_info(&f.r, &in);
	fx_fini(&f);
	CHECK_OR_FALSE(t, in.free_ranges == 1 && in.free == M_PAGES * PG, "not one free range at the end");
	return ok_end;
}

static void random_vs_model(struct test *t)
{
	static const uint64_t seeds[] = { 1, 0xc0ffee, 20100826, 0x5eed5eed5eedULL };
	unsigned i;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		if (!random_run(t, seeds[i], 3000, 0x80000000 + 5 * PG, true))
			return;
	test_log("%d checks", t->checks);
}

static void fragmentation(struct test *t)
{
	/* a longer run on a 2 MiB-aligned base */
	random_run(t, 0xdeadbeef, 12000, 0x200000000ULL & UINTPTR_MAX, true);
	test_log("%d checks", t->checks);
}

/*
 * Scale: 65536 one-page chunks, every other freed (32768 free ranges in the trees), then aligned best
 * fits that must skip misaligned holes, and all freed again. Checks the trees stay balanced at this size.
 */
static void scale(struct test *t)
{
	enum { N = 65536 };
	struct fixture f;
	uintptr_t x;
	struct cma_info in;
	uint64_t t0, t1, t2;
	unsigned i;

	if (!fx_init(t, &f, "scale", 0x1000000000ULL & UINTPTR_MAX, (size_t)N * PG))
		return;
	for (i = 0; i < N; i++) {
		ASSERT_OK(t, cma_region_alloc(&f.r, PG, 0, &x));
		ASSERT_EQ(t, x, f.r.base + i * PG);
	}
	EXPECT_TRUE(t, region_ok(t, &f.r));
	for (i = 0; i < N; i += 2)
		ASSERT_OK(t, cma_region_free(&f.r, f.r.base + i * PG));
	cma_region_info(&f.r, &in);
	EXPECT_EQ(t, in.free_ranges, N / 2);
	EXPECT_EQ(t, in.chunks, N / 2);
	EXPECT_TRUE(t, region_ok(t, &f.r));
	/* every hole is page 2k: an 8 KiB-aligned one-page chunk fits in the first (lowest) hole */
	EXPECT_OK(t, cma_region_alloc(&f.r, PG, 8 * KiB, &x));
	EXPECT_EQ(t, x, f.r.base);
	/* all holes are 1 page: a 2-page request has no room (one descent, no candidate) */
	EXPECT_ERR(t, cma_region_alloc(&f.r, 2 * PG, 0, &x), ERR_EXHAUSTED);
	/*
	 * The documented worst case: one page 1 GiB-aligned. The only 1 GiB-aligned page (the base) is taken,
	 * so every one of the 32767 one-page holes is a candidate that fails alignment and is scanned.
	 */
	t0 = mm_clock();
	EXPECT_ERR(t, cma_region_alloc(&f.r, PG, (size_t)1 << 30, &x), ERR_EXHAUSTED);
	t1 = mm_clock();
	EXPECT_OK(t, cma_region_alloc(&f.r, PG, 16 * KiB, &x));	/* the first hole at a 16 KiB boundary */
	EXPECT_EQ(t, x, f.r.base + 4 * PG);
	t2 = mm_clock();
	EXPECT_OK(t, cma_region_free(&f.r, x));
	test_log("32768 free ranges: worst-case aligned scan %llu us, a best fit that skips one hole %llu us",
		 (unsigned long long)(t1 - t0) / 1000, (unsigned long long)(t2 - t1) / 1000);
	/* free the odd pages: everything merges back */
	for (i = 1; i < N; i += 2)
		ASSERT_OK(t, cma_region_free(&f.r, f.r.base + i * PG));
	ASSERT_OK(t, cma_region_free(&f.r, f.r.base));
	cma_region_info(&f.r, &in);
	EXPECT_EQ(t, in.free_ranges, 1);
	EXPECT_EQ(t, in.free, (size_t)N * PG);
	EXPECT_TRUE(t, region_ok(t, &f.r));
	fx_fini(&f);
}

/* cma_region_check() notices broken counters and trees. */
static void check_detects(struct test *t)
{
	struct fixture f;
	uintptr_t a, b;
	char why[160];
	uint32_t save;

	if (!fx_init(t, &f, "chk", 0x100000, MiB))
		return;
	ASSERT_OK(t, cma_region_alloc(&f.r, PG, 0, &a));
	ASSERT_OK(t, cma_region_alloc(&f.r, PG, 0, &b));
	ASSERT_OK(t, cma_region_free(&f.r, a));
	EXPECT_TRUE(t, region_ok(t, &f.r));

	save = f.r.free_pages;
	f.r.free_pages++;
	EXPECT_ERR(t, cma_region_check(&f.r, why, sizeof(why)), ERR_CORRUPT);
	test_log("free_pages off by one: %s", why);
	f.r.free_pages = save;

	save = f.r.root[1];
	f.r.root[1] = 0;
	EXPECT_ERR(t, cma_region_check(&f.r, why, sizeof(why)), ERR_CORRUPT);
	test_log("size tree dropped: %s", why);
	f.r.root[1] = save;

	save = f.r.root[0];
	f.r.root[0] = f.r.cap + 5;
	EXPECT_ERR(t, cma_region_check(&f.r, why, sizeof(why)), ERR_CORRUPT);
	test_log("wild root: %s", why);
	f.r.root[0] = save;

	save = f.r.nchunks;
	f.r.nchunks = 7;
	EXPECT_ERR(t, cma_region_check(&f.r, NULL, 0), ERR_CORRUPT);
	f.r.nchunks = save;
	EXPECT_TRUE(t, region_ok(t, &f.r));
	EXPECT_ERR(t, cma_region_check(NULL, why, sizeof(why)), ERR_INVAL);
	fx_fini(&f);
}

TEST_SUITE(cma_region, TEST_CASE(init_args), TEST_CASE(alloc_args), TEST_CASE(best_fit_basic),
	   TEST_CASE(bad_frees), TEST_CASE(exhaustion), TEST_CASE(random_vs_model), TEST_CASE(fragmentation),
	   TEST_CASE(scale), TEST_CASE(check_detects));

/* ---- cma registry ------------------------------------------------------------------------------------------ */

#define REG_META (32 * 1024)

static uint8_t reg_meta[CMA_MAX_REGIONS + 2][REG_META] __attribute__((aligned(8)));

static error_t declare(const char *name, uintptr_t base, size_t size, unsigned meta_slot)
{
	return cma_declare(name, base, size, reg_meta[meta_slot], REG_META, NULL);
}

static void count_fn(struct cma_region *r, void *arg)
{
	(void)r;
	(*(unsigned *)arg)++;
}

static void declare_rules(struct test *t)
{
	struct cma_region *r = NULL, *r2;
	unsigned i, count = 0;
	char name[CMA_NAME_MAX];

	cma_reset();
	EXPECT_LE(t, cma_meta_size(MiB), REG_META);
	EXPECT_OK(t, cma_declare("dma0", 0x10000000, MiB, reg_meta[0], REG_META, &r));
	ASSERT_TRUE(t, r != NULL);
	EXPECT_EQ(t, r->base, 0x10000000);
	EXPECT_ERR(t, declare("dma1", 0x10080000, MiB, 1), ERR_OVERLAP);	/* overlaps dma0's top half */
	EXPECT_ERR(t, declare("dma1", 0x0ff80000, MiB, 1), ERR_OVERLAP);	/* and its bottom half */
	EXPECT_ERR(t, declare("dma1", 0x0fe00000, 4 * MiB, 1), ERR_OVERLAP);	/* around it */
	EXPECT_OK(t, declare("dma1", 0x0fc00000, 4 * MiB, 1));		/* just below: fine */
	EXPECT_ERR(t, declare("dma2", 0x10000000 + MiB - PG, 2 * PG, 2), ERR_OVERLAP);	/* last page */
	EXPECT_ERR(t, cma_declare("m0", 0x20000000, MiB, reg_meta[0], REG_META, NULL), ERR_OVERLAP); /* meta */
	EXPECT_ERR(t, declare("dma0", 0x20000000, MiB, 2), ERR_INVAL);	/* duplicate name */
	EXPECT_ERR(t, declare("", 0x20000000, MiB, 2), ERR_INVAL);
	EXPECT_ERR(t, declare("m0", 0x20000800, MiB, 2), ERR_ALIGN);
	EXPECT_ERR(t, declare("m0", 0x20000000, 0, 2), ERR_SIZE);
	EXPECT_ERR(t, cma_declare("m0", 0x20000000, MiB, reg_meta[2], 100, NULL), ERR_SIZE);
	EXPECT_ERR(t, cma_find("m0", &r2), ERR_NODEV);	/* nothing of the refused ones stuck */
	EXPECT_OK(t, declare("dma2", 0x10100000, MiB, 2));	/* just above: fine */
	for (i = 3; i < CMA_MAX_REGIONS; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		EXPECT_OK(t, declare(name, 0x40000000 + i * 2 * MiB, MiB, i));
	}
	EXPECT_ERR(t, declare("one-too-many", 0x60000000, MiB, CMA_MAX_REGIONS), ERR_NOMEM);
	EXPECT_OK(t, cma_find("dma0", &r2));
	EXPECT_TRUE(t, r2 == r);
	EXPECT_OK(t, cma_find("r7", &r2));
	EXPECT_EQ(t, r2->base, 0x40000000 + 7 * 2 * MiB);
	cma_for_each(count_fn, &count);
	EXPECT_EQ(t, count, CMA_MAX_REGIONS);
	cma_reset();
	EXPECT_ERR(t, cma_find("dma0", &r2), ERR_NODEV);
	EXPECT_OK(t, declare("dma0", 0x10000000, MiB, 0));	/* reusable after a reset */
	cma_reset();
}

static void assign_rules(struct test *t)
{
	struct cma_region *r, *shared, *excl, *def;

	cma_reset();
	ASSERT_OK(t, cma_declare("shared", 0x10000000, MiB, reg_meta[0], REG_META, &shared));
	ASSERT_OK(t, cma_declare("excl", 0x20000000, MiB, reg_meta[1], REG_META, &excl));
	/* shared: several devices */
	EXPECT_OK(t, cma_assign("shared", "virtio0"));
	EXPECT_OK(t, cma_assign("shared", "virtio1"));
	EXPECT_OK(t, cma_assign("shared", "virtio0"));		/* again: no-op */
	EXPECT_ERR(t, cma_assign("excl", "virtio0"), ERR_INVAL);	/* already has a region */
	EXPECT_ERR(t, cma_assign("nope", "gpu"), ERR_NODEV);
	EXPECT_ERR(t, cma_assign("shared", ""), ERR_INVAL);
	EXPECT_ERR(t, cma_assign("shared", "excl"), ERR_INVAL);	/* a region's name is not a device */
	EXPECT_OK(t, cma_assign("shared", "d2"));
	EXPECT_OK(t, cma_assign("shared", "d3"));
	EXPECT_ERR(t, cma_assign("shared", "d4"), ERR_NOMEM);	/* CMA_MAX_DEVS */
	EXPECT_ERR(t, cma_set_exclusive("shared", true), ERR_INVAL);	/* already shared by 4 */
	EXPECT_ERR(t, cma_set_exclusive("nope", true), ERR_NODEV);
	/* exclusive: one device */
	EXPECT_OK(t, cma_set_exclusive("excl", true));
	EXPECT_OK(t, cma_assign("excl", "gpu0"));
	EXPECT_ERR(t, cma_assign("excl", "gpu1"), ERR_INVAL);
	EXPECT_OK(t, cma_assign("excl", "gpu0"));
	EXPECT_OK(t, cma_set_exclusive("excl", false));
	EXPECT_OK(t, cma_assign("excl", "gpu1"));
	/* lookups */
	EXPECT_OK(t, cma_find("virtio1", &r));
	EXPECT_TRUE(t, r == shared);
	EXPECT_OK(t, cma_find("gpu1", &r));
	EXPECT_TRUE(t, r == excl);
	EXPECT_OK(t, cma_find("excl", &r));
	EXPECT_TRUE(t, r == excl);
	EXPECT_ERR(t, cma_find("uart0", &r), ERR_NODEV);	/* no region and no "default" */
	EXPECT_ERR(t, cma_find(NULL, &r), ERR_INVAL);
	/* "default" catches devices without a region */
	ASSERT_OK(t, cma_declare("default", 0x30000000, MiB, reg_meta[2], REG_META, &def));
	EXPECT_OK(t, cma_find("uart0", &r));
	EXPECT_TRUE(t, r == def);
	EXPECT_OK(t, cma_find("virtio0", &r));
	EXPECT_TRUE(t, r == shared);
	cma_reset();
}

static void alloc_free_by_name(struct test *t)
{
	struct cma_region *r;
	struct cma_info in;
	uintptr_t a = 0, b = 0, c = 0;

	cma_reset();
	ASSERT_OK(t, cma_declare("dma0", 0x10000000, MiB, reg_meta[0], REG_META, NULL));
	ASSERT_OK(t, cma_declare("default", 0x20000000, MiB, reg_meta[1], REG_META, NULL));
	ASSERT_OK(t, cma_assign("dma0", "virtio0"));
	EXPECT_OK(t, cma_alloc("virtio0", 64 * KiB, 0, &a));
	EXPECT_EQ(t, a, 0x10000000);
	EXPECT_OK(t, cma_alloc("dma0", 8 * KiB, 64 * KiB, &b));
	EXPECT_EQ(t, b, 0x10010000);
	EXPECT_OK(t, cma_alloc("eth0", PG, 0, &c));		/* falls back to "default" */
	EXPECT_EQ(t, c, 0x20000000);
	EXPECT_ERR(t, cma_alloc("eth0", 2 * MiB, 0, &c), ERR_SIZE);
	EXPECT_ERR(t, cma_alloc("eth0", PG, 3 * PG, &c), ERR_ALIGN);
	EXPECT_ERR(t, cma_alloc("eth0", PG, 0, NULL), ERR_INVAL);
	EXPECT_ERR(t, cma_free(a + PG), ERR_NOENT);		/* interior */
	EXPECT_ERR(t, cma_free(0x50000000), ERR_NOENT);		/* in no region */
	EXPECT_OK(t, cma_free(a));
	EXPECT_ERR(t, cma_free(a), ERR_NOENT);			/* double */
	EXPECT_OK(t, cma_free(b));
	EXPECT_OK(t, cma_free(c));
	ASSERT_OK(t, cma_find("dma0", &r));
	cma_region_info(r, &in);
	EXPECT_EQ(t, in.allocs, 2);
	EXPECT_EQ(t, in.frees, 2);
	EXPECT_EQ(t, in.bad_frees, 2);
	EXPECT_EQ(t, in.free_ranges, 1);
	EXPECT_TRUE(t, !strcmp(in.name, "dma0"));
	EXPECT_TRUE(t, region_ok(t, r));
	cma_reset();
	EXPECT_ERR(t, cma_alloc("virtio0", PG, 0, &a), ERR_NODEV);
}

static void parse_good(struct test *t)
{
	struct cma_spec s;

	EXPECT_OK(t, bootargs_parse_cma("dma0:4M@1:virtio0", &s));
	EXPECT_TRUE(t, !strcmp(s.name, "dma0"));
	EXPECT_EQ(t, s.size, 4 * MiB);
	EXPECT_EQ(t, s.cluster, 1);
	EXPECT_EQ(t, s.ndevs, 1);
	EXPECT_TRUE(t, !strcmp(s.devs[0], "virtio0"));
	EXPECT_FALSE(t, s.exclusive);

	EXPECT_OK(t, bootargs_parse_cma("default:8M", &s));
	EXPECT_TRUE(t, !strcmp(s.name, "default"));
	EXPECT_EQ(t, s.size, 8 * MiB);
	EXPECT_EQ(t, s.cluster, -1);
	EXPECT_EQ(t, s.ndevs, 0);
	EXPECT_FALSE(t, s.exclusive);

	EXPECT_OK(t, bootargs_parse_cma("fb:16m:gpu0,dsi.0,cam_1,x-y:exclusive", &s));
	EXPECT_EQ(t, s.size, 16 * MiB);
	EXPECT_EQ(t, s.ndevs, 4);
	EXPECT_TRUE(t, !strcmp(s.devs[3], "x-y"));
	EXPECT_TRUE(t, s.exclusive);

	EXPECT_OK(t, bootargs_parse_cma("big:1G@15:exclusive", &s));
	EXPECT_EQ(t, s.size, (uint64_t)1 << 30);
	EXPECT_EQ(t, s.cluster, 15);
	EXPECT_EQ(t, s.ndevs, 0);
	EXPECT_TRUE(t, s.exclusive);

	EXPECT_OK(t, bootargs_parse_cma("k:256K@0", &s));		/* no devices */
	EXPECT_EQ(t, s.size, 256 * KiB);
	EXPECT_EQ(t, s.cluster, 0);

	EXPECT_OK(t, bootargs_parse_cma("raw:65536", &s));		/* no suffix: bytes */
	EXPECT_EQ(t, s.size, 65536);
	EXPECT_OK(t, bootargs_parse_cma("hex:0x100000", &s));
	EXPECT_EQ(t, s.size, MiB);
	EXPECT_OK(t, bootargs_parse_cma("abcdefghijklmno:4k", &s));	/* 15 characters */
	EXPECT_EQ(t, s.size, 4096);
}

static void parse_bad(struct test *t)
{
	static const char *const bad[] = {
		"",			/* empty */
		":4M",			/* empty name */
		"dma0",			/* no size */
		"dma0:",		/* empty size */
		"dma0:M",		/* suffix without number */
		"dma0:4X",		/* bad suffix */
		"dma0:4MB",		/* junk after the suffix */
		"dma0:4T",		/* no T */
		"dma0:1000",		/* no suffix, not a page multiple */
		"dma0:0",		/* zero */
		"dma0:0M",
		"dma0:-4M",
		"dma0:99999999999999999999",	/* overflows 64 bits */
		"dma0:17179869184G",	/* overflows after the suffix */
		"dma0:4M@",		/* empty cluster */
		"dma0:4M@x",		/* bad cluster */
		"dma0:4M@-1",
		"dma0:4M@256",		/* >= TOPO_MAX_CLUSTERS */
		"dma0:4M@1x",
		"dma0:4M@99999999999999999999",
		"dma0:4M:",		/* empty device list */
		"dma0:4M:a,,b",		/* empty device */
		"dma0:4M:a,",
		"dma0:4M:a,b,c,d,e",	/* too many devices */
		"dma0:4M:a,a",		/* duplicate device */
		"dma0:4M:dma0",		/* the region's own name */
		"dma0:4M:a:exclusive:",	/* junk after exclusive */
		"dma0:4M:a:excl",	/* not "exclusive" */
		"dma0:4M:exclusive:a",	/* flag must be last */
		"dma0:4M:a:b",		/* two device lists */
		"dma 0:4M",		/* bad name character */
		"dma0:4M ",		/* trailing space */
		"abcdefghijklmnop:4M",	/* 16 characters */
		"dma0:4M:abcdefghijklmnop", /* device name too long */
	};
	struct cma_spec s, keep;
	unsigned i;

	memset(&keep, 0x5a, sizeof(keep));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = keep;
		TEST_CHECK_(t, bootargs_parse_cma(bad[i], &s) == ERR_INVAL, (void)0, "\"%s\" accepted", bad[i]);
		TEST_CHECK_(t, !memcmp(&s, &keep, sizeof(s)), (void)0, "\"%s\" wrote the output", bad[i]);
	}
	EXPECT_ERR(t, bootargs_parse_cma(NULL, &s), ERR_INVAL);
	EXPECT_ERR(t, bootargs_parse_cma("dma0:4M", NULL), ERR_INVAL);
}

TEST_SUITE(cma_registry, TEST_CASE(declare_rules), TEST_CASE(assign_rules), TEST_CASE(alloc_free_by_name),
	   TEST_CASE(parse_good), TEST_CASE(parse_bad));
