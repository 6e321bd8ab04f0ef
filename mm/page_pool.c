/* page_pool.c - physical page allocator: per-range bitmaps of allocated pages and run starts, first fit. */
#include <stdio.h>
#include <string.h>

#include "mm/env.h"
#include "mm/page_pool.h"

/*
 * Bitmaps. Each range has two bitmaps with one bit per page: `used` (the page is allocated) and `head`
 * (the page is the first of an allocated run). A run of k pages is k used bits of which only the first is
 * a head, so a free by address alone finds its length: the run ends at the first later page that is free
 * or is another head. A free of a page whose head bit is clear is thus classified without any per-page
 * header: used -> inside a run (ERR_INTERIOR), free -> ERR_DOUBLEFREE.
 *
 * Storage: unless the caller passes memory for them, the bitmaps of a range of n pages take the first
 * ceil(2 * ceil(n / BITS) * sizeof(long) / PAGE) pages of the range, which are then not managed (neither
 * handed out nor "owned"). Bits past the last managed page stay zero.
 *
 * Allocation: first fit over the ranges in address order, a word at a time. From the range's hint (every
 * page below it is allocated) find the next zero bit in `used` (words that are all ones are skipped whole),
 * then the next one bit within the k following pages: none means the run fits, else restart after it.
 * First fit rather than next fit keeps long free runs at high addresses for large requests, and the hint
 * removes most of its usual cost of rescanning a full prefix.
 */
#define PP_PAGE		PAGE_POOL_PAGE_SIZE
#define PP_SHIFT	PAGE_POOL_PAGE_SHIFT
#define PP_W		(8 * sizeof(unsigned long))

static inline struct page_pool_s *pp_of(struct alloc_pool_s *ap)
{
	return (struct page_pool_s *)ap;	/* alloc is the first member */
}

static inline size_t pp_words(size_t n)
{
	return (n + PP_W - 1) / PP_W;
}

static inline uintptr_t pp_limit(const struct page_pool_range_s *r)
{
	return r->base + (r->npages << PP_SHIFT);
}

static inline bool pp_bit(const unsigned long *bm, size_t i)
{
	return (bm[i / PP_W] >> (i % PP_W)) & 1;
}

/* First index in [@i, @n) whose bit in @bm is @one; @n if none. */
static size_t pp_next(const unsigned long *bm, size_t n, size_t i, bool one)
{
	unsigned long inv = one ? 0 : ~0UL, x;
	size_t w;

	if (i >= n)
		return n;
	w = i / PP_W;
	x = (bm[w] ^ inv) & (~0UL << (i % PP_W));
	for (;;) {
		if (x) {
			size_t r = w * PP_W + (size_t)__builtin_ctzl(x);

			return r < n ? r : n;
		}
		if (++w * PP_W >= n)
			return n;
		x = bm[w] ^ inv;
	}
}

/* End of the run starting at @i: the first later page that is free or a head; npages if none. */
static size_t pp_run_end(const struct page_pool_range_s *r, size_t i)
{
	size_t n = r->npages, j = i + 1, w;
	unsigned long x;

	if (j >= n)
		return n;
	w = j / PP_W;
	x = (r->head[w] | ~r->used[w]) & (~0UL << (j % PP_W));
	for (;;) {
		if (x) {
			j = w * PP_W + (size_t)__builtin_ctzl(x);
			return j < n ? j : n;
		}
		if (++w * PP_W >= n)
			return n;
		x = r->head[w] | ~r->used[w];
	}
}

/* Set (or clear) bits [@i, @j) of @bm, a word at a time. */
static void pp_fill(unsigned long *bm, size_t i, size_t j, bool set)
{
	while (i < j) {
		size_t b = i % PP_W, nb = PP_W - b < j - i ? PP_W - b : j - i;
		unsigned long m = nb == PP_W ? ~0UL : ((1UL << nb) - 1) << b;

		if (set)
			bm[i / PP_W] |= m;
		else
			bm[i / PP_W] &= ~m;
		i += nb;
	}
}

/* First index where @k free pages start in @r, at or after its hint; npages if none. */
static size_t pp_find_run(const struct page_pool_range_s *r, size_t k)
{
	size_t n = r->npages, i = r->hint, j;

	for (;;) {
		i = pp_next(r->used, n, i, false);
		if (i >= n || n - i < k)
			return n;
		j = pp_next(r->used, i + k, i, true);
		if (j >= i + k)
			return i;
		i = j + 1;
	}
}

static size_t pp_largest_run(const struct page_pool_range_s *r)
{
	size_t n = r->npages, i = r->hint, j, best = 0;

	while (i < n) {
		i = pp_next(r->used, n, i, false);
		if (i >= n)
			break;
		j = pp_next(r->used, n, i, true);
		if (j - i > best)
			best = j - i;
		i = j;
	}
	return best;
}

static bool pp_overlap(uintptr_t a, uintptr_t ae, uintptr_t b, uintptr_t be)
{
	return a < be && b < ae;
}

/* Round [@start, @end) inward to pages; false if no whole page is left. */
static bool pp_round(uintptr_t start, uintptr_t end, uintptr_t *as, uintptr_t *ae)
{
	uintptr_t s = (start + PP_PAGE - 1) & ~(PP_PAGE - 1), e = end & ~(PP_PAGE - 1);

	if (s < start || e <= s)
		return false;
	*as = s;
	*ae = e;
	return true;
}

size_t page_pool_storage_size(uintptr_t start, uintptr_t end)
{
	uintptr_t as, ae;

	if (end <= start || !pp_round(start, end, &as, &ae))
		return 0;
	return 2 * pp_words((ae - as) >> PP_SHIFT) * sizeof(unsigned long);
}

/* Does [@a, @ae) overlap a range, the bitmaps of a range, or the descriptor of @pool? */
static bool pp_collides(const struct page_pool_s *pool, uintptr_t a, uintptr_t ae)
{
	unsigned i;

	if (pp_overlap(a, ae, (uintptr_t)pool, (uintptr_t)pool + sizeof(*pool)))
		return true;
	for (i = 0; i < pool->nranges; i++) {
		const struct page_pool_range_s *r = &pool->range[i];

		if (pp_overlap(a, ae, r->start, r->end) || pp_overlap(a, ae, r->meta_start, r->meta_end))
			return true;
	}
	return false;
}

error_t page_pool_extend_storage(struct page_pool_s *pool, uintptr_t start, uintptr_t end, void *storage,
				 size_t len)
{
	struct page_pool_range_s nr;
	uintptr_t as, ae;
	size_t n, words, bytes;
	unsigned i;

	if (!pool || end <= start)
		return ERR_INVAL;
	if (pp_collides(pool, start, end))
		return ERR_OVERLAP;
	if (pool->nranges >= PAGE_POOL_MAX_RANGES)
		return ERR_NOMEM;
	if (!pp_round(start, end, &as, &ae))
		return ERR_SIZE;
	n = (ae - as) >> PP_SHIFT;
	memset(&nr, 0, sizeof(nr));
	nr.start = start;
	nr.end = end;
	if (storage) {
		uintptr_t st = (uintptr_t)storage, sa;

		sa = (st + sizeof(unsigned long) - 1) & ~(uintptr_t)(sizeof(unsigned long) - 1);
		words = pp_words(n);
		bytes = 2 * words * sizeof(unsigned long);
		if (sa < st || len < sa - st || len - (sa - st) < bytes)
			return ERR_SIZE;
		if (pp_overlap(sa, sa + bytes, start, end) || pp_collides(pool, sa, sa + bytes))
			return ERR_OVERLAP;
		nr.base = as;
		nr.npages = n;
		nr.meta_start = sa;
		nr.meta_end = sa + bytes;
	} else {
		size_t meta;

		bytes = 2 * pp_words(n) * sizeof(unsigned long);
		meta = (bytes + PP_PAGE - 1) >> PP_SHIFT;
		if (meta >= n)
			return ERR_SIZE;
		words = pp_words(n - meta);
		bytes = 2 * words * sizeof(unsigned long);
		nr.base = as + (meta << PP_SHIFT);
		nr.npages = n - meta;
		nr.meta_start = as;
		nr.meta_end = as + bytes;
	}
	nr.nfree = nr.npages;
	nr.used = (unsigned long *)nr.meta_start;
	nr.head = nr.used + words;
	memset(nr.used, 0, bytes);
	for (i = pool->nranges; i > 0 && pool->range[i - 1].start > start; i--)
		pool->range[i] = pool->range[i - 1];
	pool->range[i] = nr;
	pool->nranges++;
	pool->total += nr.npages;
	pool->nfree += nr.npages;
	if (nr.npages > pool->max_pages)
		pool->max_pages = nr.npages;
	return 0;
}

error_t page_pool_extend(struct page_pool_s *pool, uintptr_t start, uintptr_t end)
{
	return page_pool_extend_storage(pool, start, end, NULL, 0);
}

error_t page_pool_init_storage(struct page_pool_s *pool, uintptr_t start, uintptr_t end, void *storage,
			       size_t len)
{
	if (!pool)
		return ERR_INVAL;
	memset(pool, 0, sizeof(*pool));
	pool->alloc.model = &page_pool_model;
	return page_pool_extend_storage(pool, start, end, storage, len);
}

error_t page_pool_init(struct page_pool_s *pool, uintptr_t start, uintptr_t end)
{
	return page_pool_init_storage(pool, start, end, NULL, 0);
}

static struct page_pool_range_s *pp_range_of(struct page_pool_s *pool, uintptr_t a)
{
	unsigned i;

	for (i = 0; i < pool->nranges; i++)
		if (a >= pool->range[i].base && a < pp_limit(&pool->range[i]))
			return &pool->range[i];
	return NULL;
}

error_t page_pool_alloc(struct page_pool_s *pool, size_t size, uintptr_t *addr)
{
	size_t k, i;
	unsigned ri;

	if (!pool || !addr)
		return ERR_INVAL;
	k = (size >> PP_SHIFT) + ((size & (PP_PAGE - 1)) != 0);
	if (size == 0 || k > pool->max_pages)
		return ERR_SIZE;
	for (ri = 0; ri < pool->nranges; ri++) {
		struct page_pool_range_s *r = &pool->range[ri];

		if (r->nfree < k)
			continue;
		i = pp_find_run(r, k);
		if (i >= r->npages)
			continue;
		pp_fill(r->used, i, i + k, true);
		pp_fill(r->head, i, i + 1, true);
		if (i == r->hint)
			r->hint = i + k;
		r->nfree -= k;
		pool->nfree -= k;
		pool->nruns++;
		*addr = r->base + (i << PP_SHIFT);
		return 0;
	}
	return ERR_NOMEM;
}

/* Find the live run starting at @a: its range and page index. Writes nothing on error. */
static error_t pp_lookup(struct page_pool_s *pool, uintptr_t a, struct page_pool_range_s **rp, size_t *ip)
{
	struct page_pool_range_s *r = pp_range_of(pool, a);
	size_t i;

	if (!r)
		return ERR_NOTOWNED;
	if (a & (PP_PAGE - 1))
		return ERR_MISALIGNED;
	i = (a - r->base) >> PP_SHIFT;
	if (!pp_bit(r->head, i))
		return pp_bit(r->used, i) ? ERR_INTERIOR : ERR_DOUBLEFREE;
	*rp = r;
	*ip = i;
	return 0;
}

error_t page_pool_free(struct page_pool_s *pool, uintptr_t addr)
{
	struct page_pool_range_s *r;
	size_t i, j;
	error_t e;

	if (!pool)
		return ERR_INVAL;
	e = pp_lookup(pool, addr, &r, &i);
	if (e) {
		mm_log("page_pool_free: pool %p: refused free of %#lx: %s", (void *)pool, (unsigned long)addr,
		       err_str(e));
		return e;
	}
	j = pp_run_end(r, i);
	pp_fill(r->used, i, j, false);
	pp_fill(r->head, i, i + 1, false);
	if (i < r->hint)
		r->hint = i;
	r->nfree += j - i;
	pool->nfree += j - i;
	pool->nruns--;
	return 0;
}

error_t page_pool_getsize(struct page_pool_s *pool, uintptr_t addr, size_t *size)
{
	struct page_pool_range_s *r;
	size_t i;
	error_t e;

	if (!pool || !size)
		return ERR_INVAL;
	e = pp_lookup(pool, addr, &r, &i);
	if (e)
		return e;
	*size = (pp_run_end(r, i) - i) << PP_SHIFT;
	return 0;
}

bool page_pool_owns(struct page_pool_s *pool, uintptr_t addr)
{
	return pool && pp_range_of(pool, addr);
}

#define PP_BAD(...)                                                                                 \
	do {                                                                                        \
		if (why && len)                                                                     \
			snprintf(why, len, __VA_ARGS__);                                            \
		return ERR_CORRUPT;                                                                 \
	} while (0)

error_t page_pool_check(struct page_pool_s *pool, char *why, size_t len)
{
	size_t total = 0, nfree = 0, nruns = 0, maxp = 0;
	unsigned ri;

	if (!pool)
		return ERR_INVAL;
	if (why && len)
		why[0] = 0;
	if (pool->alloc.model != &page_pool_model)
		PP_BAD("pool %p: model is %p, not page_pool_model", (void *)pool,
		       (const void *)pool->alloc.model);
	if (pool->nranges > PAGE_POOL_MAX_RANGES)
		PP_BAD("nranges %u > %d", pool->nranges, PAGE_POOL_MAX_RANGES);
	for (ri = 0; ri < pool->nranges; ri++) {
		const struct page_pool_range_s *r = &pool->range[ri];
		size_t n = r->npages, nw = pp_words(n), w, used = 0;
		unsigned long carry = 0;

		if (n == 0 || (r->base & (PP_PAGE - 1)) || r->base < r->start ||
		    (n >> (8 * sizeof(uintptr_t) - PP_SHIFT)) || pp_limit(r) < r->base || pp_limit(r) > r->end)
			PP_BAD("range %u: pages %#lx+%zu outside [%#lx, %#lx)", ri, (unsigned long)r->base, n,
			       (unsigned long)r->start, (unsigned long)r->end);
		if (ri && pool->range[ri - 1].end > r->start)
			PP_BAD("ranges %u and %u out of order or overlapping", ri - 1, ri);
		if ((uintptr_t)r->used != r->meta_start || r->head != r->used + nw ||
		    (uintptr_t)(r->head + nw) > r->meta_end ||
		    pp_overlap(r->meta_start, r->meta_end, r->base, pp_limit(r)))
			PP_BAD("range %u: bitmaps misplaced (%#lx..%#lx)", ri, (unsigned long)r->meta_start,
			       (unsigned long)r->meta_end);
		if (r->hint > n)
			PP_BAD("range %u: hint %zu > %zu pages", ri, r->hint, n);
		for (w = 0; w < nw; w++) {
			unsigned long u = r->used[w], h = r->head[w], starts;

			if (w == nw - 1 && n % PP_W) {
				unsigned long tail = ~0UL << (n % PP_W);

				if ((u | h) & tail)
					PP_BAD("range %u: bits set past page %zu", ri, n);
			}
			if (h & ~u)
				PP_BAD("range %u: run start on a free page near %zu", ri, w * PP_W);
			starts = u & ~((u << 1) | carry);
			if (starts & ~h)
				PP_BAD("range %u: allocated page %zu starts no run", ri,
				       w * PP_W + (size_t)__builtin_ctzl(starts & ~h));
			carry = u >> (PP_W - 1);
			used += (size_t)__builtin_popcountl(u);
			nruns += (size_t)__builtin_popcountl(h);
		}
		if (used != n - r->nfree)
			PP_BAD("range %u: %zu pages allocated, nfree says %zu of %zu", ri, used, r->nfree, n);
		if (pp_next(r->used, n, 0, false) < r->hint)
			PP_BAD("range %u: free page %zu below hint %zu", ri, pp_next(r->used, n, 0, false),
			       r->hint);
		total += n;
		nfree += r->nfree;
		if (n > maxp)
			maxp = n;
	}
	if (total != pool->total || nfree != pool->nfree || nruns != pool->nruns || maxp != pool->max_pages)
		PP_BAD("counters: total %zu/%zu free %zu/%zu runs %zu/%zu max %zu/%zu (bitmaps/counter)", total,
		       pool->total, nfree, pool->nfree, nruns, pool->nruns, maxp, pool->max_pages);
	return 0;
}

void page_pool_get_stats(struct page_pool_s *pool, struct page_pool_stats *st)
{
	unsigned ri;

	memset(st, 0, sizeof(*st));
	if (!pool)
		return;
	for (ri = 0; ri < pool->nranges; ri++) {
		size_t l = pp_largest_run(&pool->range[ri]);

		if (l > st->largest_free_run)
			st->largest_free_run = l;
	}
	st->total_pages = pool->total;
	st->free_pages = pool->nfree;
	st->nruns = pool->nruns;
	st->nranges = pool->nranges;
}

static error_t pp_pop(struct alloc_pool_s *ap, size_t size, uintptr_t *retptr)
{
	return page_pool_alloc(pp_of(ap), size, retptr);
}

static error_t pp_push(struct alloc_pool_s *ap, uintptr_t address)
{
	return page_pool_free(pp_of(ap), address);
}

static error_t pp_getsize(struct alloc_pool_s *ap, uintptr_t ptr, size_t *size)
{
	return page_pool_getsize(pp_of(ap), ptr, size);
}

static bool pp_owns(struct alloc_pool_s *ap, uintptr_t ptr)
{
	return page_pool_owns(pp_of(ap), ptr);
}

const struct alloc_pool_model_s page_pool_model = {
	.name = "page_pool",
	.pop = pp_pop,
	.push = pp_push,
	.getsize = pp_getsize,
	.owns = pp_owns,
};
