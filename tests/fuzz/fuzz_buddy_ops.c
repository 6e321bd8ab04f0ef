/* fuzz_buddy_ops.c - libFuzzer target: mm/buddy.c driven by an operation sequence, checked against a granule model. */
#include <stdlib.h>
#include <string.h>

#include "mm/buddy.h"
#include "tests/fuzz/fuzz.h"

/*
 * Input: a header, then operations until the input or MAX_OPS runs out.
 *
 *	header	u32 lo, u32 len		span [arena + lo % 3/4 of it, + len % what is left): any alignment
 *		u8 meta_fill		buddy_init() must not trust the tag bytes (only the section bitmap)
 *		u8 probes		bits 0-2: bad buddy_init() calls first (short, misaligned, NULL meta);
 *					bit 3: buddy_init_zeroed() (the fill is cleared)
 *		u8 setup		0: add the whole span, 1: 1..4 sub-ranges from the input, 2: nothing,
 *					3: the span minus one hole from the input
 *	op	u8 kind, arguments (see the switch in LLVMFuzzerTestOneInput())
 *
 * The arena is 2 MiB around a 4 MiB boundary (two section-bitmap words) between guard pages. The model
 * keeps one state per 64-byte granule: reserved (never added), free, live head, live interior. Reserved
 * granules are ASan-poisoned: the allocator must never touch memory it was not given.
 *
 * After every operation, in O(1): the call's result is the one the model predicts (exact error codes for
 * every bad free, add_range and size), no two live blocks overlap (their granules were free in the
 * model), blocks are aligned to their size, and the call counters match. Allocation is checked to take
 * the smallest free order that fits (the nfree[] change of one split, on the orders it touches). The
 * O(orders) and O(heap) checks run less often, so that a run does hundreds of thousands of inputs a
 * minute; a broken invariant is still found, a few operations later: the byte counters and buddy_check()
 * every CHECK_EVERY operations and at the end, and nfree[] equal to the canonical decomposition of the
 * free granules (maximal aligned free blocks, which is what eager merging must give) every CANON_EVERY
 * operations and at the end. At the end everything
 * is freed; without adds during the run, the statistics must equal the snapshot taken after setup.
 */
#define ARENA_SIZE (2ul << 20)
#define GRAN 64ul
#define NGRAN (ARENA_SIZE / GRAN)
#define MAX_OPS 2000
#define MAX_LIVE 2048
#define NFREED 16
#define CANON_EVERY 128
#define CHECK_EVERY 128

enum { G_RSV, G_FREE, G_HEAD, G_IN };

struct live {
	uintptr_t a;
	unsigned order;
	uint64_t seed;
};

static uint8_t *arena;
static uint8_t gstate[NGRAN];
static struct live live[MAX_LIVE];
static unsigned nlive;
static uintptr_t freed[NFREED];
static unsigned nfreed_seen;

static struct buddy b;
static uintptr_t raw_base, raw_end, base, end;
static unsigned max_order;
static uint64_t m_free, m_used, m_added, m_allocs, m_frees, m_failures, m_bad;
static uint64_t seq;

static inline uint8_t *gs(uintptr_t a)
{
	return &gstate[(a - (uintptr_t)arena) / GRAN];
}

static void set_range(uintptr_t a, uintptr_t e, uint8_t s)
{
	memset(gs(a), s, (e - a) / GRAN);
}

/* whether every granule of [a, e) is in state @s (G_RSV or G_FREE): one memcmp against a row of them */
static bool all_state(uintptr_t a, uintptr_t e, uint8_t s)
{
	static uint8_t row[2][NGRAN];

	if (!row[1][0])
		memset(row[1], G_FREE, NGRAN);
	return !memcmp(gs(a), row[s == G_FREE], (e - a) / GRAN);
}

/* what buddy_free() must answer for @a (0: a live head) */
static error_t expect_free(uintptr_t a)
{
	if (a < base || a >= end)
		return ERR_NOTOWNED;
	if (a & (GRAN - 1))
		return ERR_MISALIGNED;
	switch (*gs(a)) {
	case G_RSV: return ERR_INTERIOR;
	case G_FREE: return ERR_DOUBLEFREE;
	case G_IN: return ERR_INTERIOR;
	default: return 0;
	}
}

static unsigned model_max_order(void)
{
	unsigned k;

	for (k = BUDDY_MAX_ORDER; k > BUDDY_MIN_ORDER; k--) {
		uintptr_t a = (base + (1ul << k) - 1) & ~((1ul << k) - 1);

		if (a >= base && a < end && end - a >= (1ul << k))
			break;
	}
	return k;
}

/* the byte and call counters against the model's (O(orders)) */
static void check_counts(void)
{
	struct buddy_stats st;

	buddy_get_stats(&b, &st);
	FUZZ_CHECK(st.free_bytes == m_free && st.used_bytes == m_used && st.reserved_bytes == (end - base) - m_added,
		   "bytes: free %llu/%llu used %llu/%llu reserved %llu/%llu (buddy/model)",
		   (unsigned long long)st.free_bytes, (unsigned long long)m_free, (unsigned long long)st.used_bytes,
		   (unsigned long long)m_used, (unsigned long long)st.reserved_bytes,
		   (unsigned long long)((end - base) - m_added));
	FUZZ_CHECK(st.allocs == m_allocs && st.frees == m_frees && st.failures == m_failures &&
			   st.bad_frees == m_bad,
		   "counters: allocs %llu/%llu frees %llu/%llu failures %llu/%llu bad_frees %llu/%llu",
		   (unsigned long long)st.allocs, (unsigned long long)m_allocs, (unsigned long long)st.frees,
		   (unsigned long long)m_frees, (unsigned long long)st.failures, (unsigned long long)m_failures,
		   (unsigned long long)st.bad_frees, (unsigned long long)m_bad);
}

/* the call counters against the model's: after every operation, O(1) */
static void check_calls(void)
{
	FUZZ_CHECK(b.allocs == m_allocs && b.frees == m_frees && b.failures == m_failures && b.bad_frees == m_bad,
		   "counters: allocs %llu/%llu frees %llu/%llu failures %llu/%llu bad_frees %llu/%llu",
		   (unsigned long long)b.allocs, (unsigned long long)m_allocs, (unsigned long long)b.frees,
		   (unsigned long long)m_frees, (unsigned long long)b.failures, (unsigned long long)m_failures,
		   (unsigned long long)b.bad_frees, (unsigned long long)m_bad);
}

/* check_counts() and buddy_check()'s walk of the whole heap: every CHECK_EVERY operations and at the end */
static void check_all(void)
{
	char why[160];
	error_t e = buddy_check(&b, why, sizeof(why));

	FUZZ_CHECK(e == 0, "buddy_check: %s (%s)", err_str(e), why);
	check_counts();
}

/* the free granules as maximal naturally aligned blocks, counted per order, against nfree[] */
static void check_canonical(void)
{
	uint64_t cnt[BUDDY_MAX_ORDER + 1] = { 0 }, largest = 0;
	struct buddy_stats st;
	uintptr_t pos = base;
	unsigned k;

	while (pos < end) {
		if (*gs(pos) != G_FREE) {
			/* to the next free granule: one memchr over the model, not a loop per granule */
			const uint8_t *f = memchr(gs(pos), G_FREE, (end - pos) / GRAN);

			if (!f)
				break;
			pos = (uintptr_t)arena + (uintptr_t)(f - gstate) * GRAN;
			continue;
		}
		k = BUDDY_MIN_ORDER;
		while (k < BUDDY_MAX_ORDER) {
			uintptr_t half = 1ul << k, whole = half << 1;

			if ((pos & (whole - 1)) || end - pos < whole || !all_state(pos + half, pos + whole, G_FREE))
				break;
			k++;
		}
		cnt[k]++;
		if ((1ull << k) > largest)
			largest = 1ull << k;
		pos += 1ul << k;
	}
	buddy_get_stats(&b, &st);
	for (k = 0; k <= BUDDY_MAX_ORDER; k++)
		FUZZ_CHECK(st.nfree[k] == cnt[k], "nfree[%u] = %llu, the free granules make %llu maximal blocks", k,
			   (unsigned long long)st.nfree[k], (unsigned long long)cnt[k]);
	FUZZ_CHECK(st.largest_free == largest, "largest_free %llu, model %llu", (unsigned long long)st.largest_free,
		   (unsigned long long)largest);
}

static void remember_freed(uintptr_t a)
{
	freed[nfreed_seen++ % NFREED] = a;
}

static void do_free_live(unsigned i)
{
	struct live l = live[i];
	uintptr_t sz = 1ul << l.order;
	error_t e;

	fuzz_op("free", l.a, l.order, 0);
	FUZZ_CHECK(fuzz_fill_ok((void *)l.a, sz, l.seed), "block 0x%lx (order %u): fill pattern overwritten",
		   (unsigned long)l.a, l.order);
	e = buddy_free(&b, (void *)l.a);
	EXPECT_OK(FT, e);
	set_range(l.a, l.a + sz, G_FREE);
	m_free += sz;
	m_used -= sz;
	m_frees++;
	live[i] = live[--nlive];
	remember_freed(l.a);
}

/* model_take() - the model's side of an allocation of the block [a, a + 2^order): live, filled */
static void model_take(uintptr_t a, unsigned order)
{
	uintptr_t sz = 1ul << order;

	set_range(a, a + sz, G_IN);
	*gs(a) = G_HEAD;
	m_free -= sz;
	m_used += sz;
	m_allocs++;
	live[nlive].a = a;
	live[nlive].order = order;
	live[nlive].seed = ++seq;
	fuzz_fill((void *)a, sz, seq);
	nlive++;
}

/* a free (or getsize) of any address: the model says what it must answer */
static void do_free_any(uintptr_t a, bool getsize)
{
	error_t want = a ? expect_free(a) : (getsize ? ERR_NOTOWNED : 0), e;
	unsigned i = 0;

	if (want == 0 && a) {
		for (i = 0; i < nlive && live[i].a != a; i++)
			;
		FUZZ_CHECK(i < nlive, "model: head 0x%lx not in the live list", (unsigned long)a);
		if (!getsize) {
			do_free_live(i);
			return;
		}
	}
	fuzz_op(getsize ? "getsize" : "free?", a, (uint64_t)(int64_t)want, 0);
	if (getsize) {
		size_t sz = 0;

		e = buddy_getsize(&b, (void *)a, &sz);
		EXPECT_ERR(FT, e, want);
		if (!e)
			FUZZ_CHECK(sz == (1ul << live[i].order), "getsize 0x%lx: %zu, block order %u", (unsigned long)a,
				   sz, live[i].order);
		return;
	}
	e = buddy_free(&b, (void *)a);
	EXPECT_ERR(FT, e, want);
	if (a)
		m_bad++;
}

static void do_alloc(uint64_t size, int order_req)
{
	uint64_t nfree_k[BUDDY_MAX_ORDER + 1];
	unsigned order, k, j;
	error_t want, e;
	void *p = NULL;

	if (order_req >= 0) {
		order = order_req < BUDDY_MIN_ORDER ? BUDDY_MIN_ORDER : (unsigned)order_req;
		fuzz_op("alloc_order", (uint64_t)order_req, 0, 0);
	} else {
		fuzz_op("alloc", size, 0, 0);
		if (size == 0 || size - 1 >= (1ull << BUDDY_MAX_ORDER))
			order = BUDDY_MAX_ORDER + 1;	/* ERR_SIZE */
		else
			for (order = BUDDY_MIN_ORDER; (1ull << order) < size; order++)
				;
	}
	if (nlive == MAX_LIVE)
		return;
	/* the smallest non-empty free list that fits: where the allocation must come from */
	for (k = order; k <= BUDDY_MAX_ORDER && !b.area[k].nfree; k++)
		;
	for (j = order; j <= k && j <= BUDDY_MAX_ORDER; j++)
		nfree_k[j] = b.area[j].nfree;
	want = order > max_order ? ERR_SIZE : k > BUDDY_MAX_ORDER ? ERR_NOMEM : 0;
	e = order_req >= 0 ? buddy_alloc_order(&b, (unsigned)order_req, &p) : buddy_alloc(&b, size, &p);
	EXPECT_ERR(FT, e, want);
	if (e) {
		FUZZ_CHECK(p == NULL, "failed alloc wrote its out-pointer");
		m_failures++;
		return;
	}
	{
		uintptr_t a = (uintptr_t)p, sz = 1ul << order;

		FUZZ_CHECK(!(a & (sz - 1)), "block 0x%lx not aligned to its size %lu", (unsigned long)a,
			   (unsigned long)sz);
		FUZZ_CHECK(a >= base && a + sz <= end, "block 0x%lx+%lu outside the span", (unsigned long)a,
			   (unsigned long)sz);
		FUZZ_CHECK(all_state(a, a + sz, G_FREE), "block 0x%lx+%lu overlaps memory that is not free",
			   (unsigned long)a, (unsigned long)sz);
		/*
		 * one block of order k left its list, split into one free block of each order order..k-1 (the
		 * other orders are checked by check_canonical(), every CANON_EVERY operations)
		 */
		for (j = order; j <= k; j++) {
			uint64_t w = nfree_k[j] + (j < k) - (j == k);

			FUZZ_CHECK(b.area[j].nfree == w, "alloc order %u from order %u: nfree[%u] %llu, expected %llu",
				   order, k, j, (unsigned long long)b.area[j].nfree, (unsigned long long)w);
		}
		model_take(a, order);
	}
}

/* bulk(order, n): a cache refill; each block is checked and taken as a single allocation's would be */
static void do_bulk(unsigned order, unsigned n)
{
	struct buddy_stats st;
	void *blk[16];
	unsigned got, i, k;

	fuzz_op("alloc_bulk", order, n, 0);
	if (n > MAX_LIVE - nlive)
		n = (unsigned)(MAX_LIVE - nlive);
	got = buddy_alloc_bulk(&b, order, blk, n);
	FUZZ_CHECK(got <= n, "alloc_bulk(%u, %u) returned %u blocks", order, n, got);
	for (i = 0; i < got; i++) {
		uintptr_t a = (uintptr_t)blk[i], sz = 1ul << order;
		size_t gs_ = 0;

		FUZZ_CHECK(!(a & (sz - 1)) && a >= base && a + sz <= end, "bulk block 0x%lx+%lu misplaced",
			   (unsigned long)a, (unsigned long)sz);
		FUZZ_CHECK(all_state(a, a + sz, G_FREE), "bulk block 0x%lx+%lu overlaps memory that is not free",
			   (unsigned long)a, (unsigned long)sz);
		FUZZ_CHECK(!buddy_getsize(&b, blk[i], &gs_) && gs_ == sz, "bulk block 0x%lx: getsize %zu",
			   (unsigned long)a, gs_);
		model_take(a, order);
	}
	if (got < n && order <= max_order) {
		/* short only when nothing of this order or larger is left (that split is a failure) */
		buddy_get_stats(&b, &st);
		for (k = order; k <= BUDDY_MAX_ORDER; k++)
			FUZZ_CHECK(!st.nfree[k], "alloc_bulk stopped at %u of %u with %llu free of order %u", got, n,
				   (unsigned long long)st.nfree[k], k);
		m_failures++;
	}
}

/* add_range(start, end): ERR_RANGE outside the raw span, ERR_OVERLAP on any given granule, else adds */
static bool do_add(uintptr_t s0, uintptr_t e0)
{
	uintptr_t s, e;
	error_t want = 0, got;

	fuzz_op("add_range", s0, e0, 0);
	s = (s0 + GRAN - 1) & ~(GRAN - 1);
	e = e0 & ~(GRAN - 1);
	if (s < base)
		s = base;
	if (e > end)
		e = end;
	if (s0 > e0 || s0 < raw_base || e0 > raw_end)
		want = ERR_RANGE;
	else if (s < e && !all_state(s, e, G_RSV))
		want = ERR_OVERLAP;
	if (!want && s < e)
		fuzz_unpoison((void *)s, e - s);	/* the free lists live in the blocks */
	got = buddy_add_range(&b, s0, e0);
	EXPECT_ERR(FT, got, want);
	if (got || s >= e)
		return false;
	set_range(s, e, G_FREE);
	m_free += e - s;
	m_added += e - s;
	return true;
}

/* an address that is not a live head, of the kind @v says */
static uintptr_t bogus_addr(struct fuzz_in *in, unsigned v)
{
	uint32_t r = fin_u32(in);
	struct live *l = nlive ? &live[r % nlive] : NULL;

	switch (v % 8) {
	case 0:	/* inside a live block, granule-aligned or not */
		if (l && l->order > BUDDY_MIN_ORDER)
			return l->a + ((r >> 8) % ((1ul << l->order) / GRAN - 1) + 1) * GRAN;
		return base + (r % (end - base));
	case 1:	/* misaligned */
		return (l ? l->a : base) + 1 + (r >> 8) % (GRAN - 1);
	case 2:	/* below the span (still mapped: the arena or its raw margin) */
		return base - 1 - (r % 4096);
	case 3:	/* at or above the end */
		return end + (r % 4096) * 8;
	case 4:	/* a block freed earlier */
		return nfreed_seen ? freed[r % (nfreed_seen < NFREED ? nfreed_seen : NFREED)] : base;
	case 5:	/* anywhere in the span, granule-aligned */
		return base + ((r % (end - base)) & ~(GRAN - 1));
	case 6:	/* far away, or NULL */
		return (r & 1) ? 0 : (uintptr_t)r << 20;
	default:	/* the raw span's unaligned edges */
		return (r & 1) ? raw_base : raw_end - 1;
	}
}

static void setup_adds(struct fuzz_in *in, unsigned mode)
{
	unsigned n, i;

	switch (mode % 4) {
	case 0:
		do_add(raw_base, raw_end);
		break;
	case 1:
		n = 1 + fin_u8(in) % 4;
		for (i = 0; i < n; i++) {
			uintptr_t s = raw_base + fin_u32(in) % (raw_end - raw_base + 1);
			uintptr_t e = s + fin_u32(in) % (raw_end - s + 1);

			do_add(s, e);
		}
		break;
	case 2:
		break;
	default: {
		uintptr_t hs = raw_base + fin_u32(in) % (raw_end - raw_base + 1);
		uintptr_t he = hs + fin_u16(in) * 64ul;

		if (he > raw_end)
			he = raw_end;
		do_add(raw_base, hs);
		do_add(he, raw_end);
	}
	}
}

/*
 * The metadata: the first msize + 8 bytes after a 64-byte guard of a static buffer, everything around them
 * ASan-poisoned, exactly like a malloc(msize + 8) with its redzones; a malloc/free per input got fresh
 * memory (ASan's quarantine) and its page faults every time.
 */
#define META_MAX (128ul << 10)
static uint8_t meta_buf[64 + META_MAX + 64] __attribute__((aligned(64)));

static void *meta_get(size_t n)
{
	static bool poisoned;

	if (!poisoned) {
		fuzz_poison(meta_buf, sizeof(meta_buf));
		poisoned = true;
	}
	FUZZ_CHECK(n <= META_MAX, "buddy metadata of %zu bytes, the harness has %lu", n, META_MAX);
	fuzz_unpoison(meta_buf + 64, n);
	fuzz_poison(meta_buf + 64 + n, META_MAX + 64 - n);
	return meta_buf + 64;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct buddy_stats st0, st1;
	uint32_t lo, len;
	uint8_t meta_fill, probes, mode;
	bool grew = false;
	size_t msize;
	void *meta;
	unsigned ops;
	error_t e;

	if (!arena) {
		arena = fuzz_arena(ARENA_SIZE, 4ul << 20, 3ul << 20);	/* [4M-aligned + 3M, + 2M) */
		fuzz_poison(arena, ARENA_SIZE);
	}
	fuzz_begin();
	lo = fin_u32(&in) % (ARENA_SIZE / 4 * 3);
	len = fin_u32(&in) % (ARENA_SIZE - lo + 1);
	meta_fill = fin_u8(&in);
	probes = fin_u8(&in);
	mode = fin_u8(&in);
	raw_base = (uintptr_t)arena + lo;
	raw_end = raw_base + len;
	base = (raw_base + GRAN - 1) & ~(GRAN - 1);
	end = raw_end & ~(GRAN - 1);

	msize = buddy_meta_size(raw_base, raw_end);
	if (end <= base) {
		uint64_t dummy[4];

		FUZZ_CHECK(msize == 0, "meta size %zu for a span without a granule", msize);
		EXPECT_ERR(FT, buddy_init(&b, raw_base, raw_end, dummy, sizeof(dummy)), ERR_RANGE);
		return 0;
	}
	FUZZ_CHECK(msize >= ((end - base) >> BUDDY_MIN_ORDER), "meta size %zu below one tag per granule", msize);
	meta = meta_get(msize + 8);
	memset(meta, meta_fill, msize + 8);
	if (probes & 1)
		EXPECT_ERR(FT, buddy_init(&b, raw_base, raw_end, meta, msize - 1), ERR_INVAL);
	if (probes & 2)
		EXPECT_ERR(FT, buddy_init(&b, raw_base, raw_end, (char *)meta + 4, msize), ERR_INVAL);
	if (probes & 4)
		EXPECT_ERR(FT, buddy_init(&b, raw_base, raw_end, NULL, msize), ERR_INVAL);
	/* probes bit 3: buddy_init_zeroed() clears the whole array, and then no section on initialisation */
	if (probes & 8)
		EXPECT_OK(FT, buddy_init_zeroed(&b, raw_base, raw_end, meta, msize));
	else
		EXPECT_OK(FT, buddy_init(&b, raw_base, raw_end, meta, msize));

	/*
	 * Between inputs the whole arena is poisoned and gstate[] all G_RSV: only [base, end) is ever unpoisoned
	 * (do_add()) or leaves G_RSV, and the end of the input restores that part alone. Poisoning the whole
	 * arena each time cost a 256 KiB shadow write, and unpoisoning it a release of the shadow pages (ASan
	 * does so above 64 KiB) and their page faults on the next input.
	 */
	nlive = 0;
	nfreed_seen = 0;
	m_free = m_used = m_added = m_allocs = m_frees = m_failures = m_bad = 0;
	max_order = model_max_order();

	setup_adds(&in, mode);
	check_all();
	check_canonical();
	buddy_get_stats(&b, &st0);

	for (ops = 0; ops < MAX_OPS && fin_more(&in); ops++) {
		uint8_t kind = fin_u8(&in);

		switch (kind % 16) {
		case 0: case 1: case 2: case 3: case 4:
			do_alloc(fin_size(&in, 22), -1);
			break;
		case 5:
			do_alloc(0, fin_u8(&in) % 48);
			break;
		case 6: {
			uint8_t v = fin_u8(&in);

			do_bulk(BUDDY_MIN_ORDER + v % 10, 1 + (v >> 4));
			break;
		}
		case 7: case 8: case 9: case 10:
			if (nlive)
				do_free_live(fin_u16(&in) % nlive);
			break;
		case 11: case 12:
			do_free_any(bogus_addr(&in, fin_u8(&in)), false);
			break;
		case 13: {
			uint8_t v = fin_u8(&in);

			do_free_any(v & 1 && nlive ? live[fin_u16(&in) % nlive].a : bogus_addr(&in, v >> 1), true);
			break;
		}
		case 14: {
			/* add a sub-range: mostly in the span, sometimes over its edges */
			uintptr_t s = raw_base - 128 + fin_u32(&in) % (raw_end - raw_base + 256);
			uintptr_t e2 = s + fin_u32(&in) % (raw_end + 128 - s + 1);

			grew |= do_add(s, e2);
			break;
		}
		default: {
			uintptr_t a = bogus_addr(&in, fin_u8(&in));

			FUZZ_CHECK(buddy_owns(&b, (void *)a) == (a >= base && a < end), "buddy_owns(0x%lx) wrong",
				   (unsigned long)a);
			break;
		}
		}
		if (ops % CHECK_EVERY == CHECK_EVERY - 1)
			check_all();
		else
			check_calls();
		if (ops % CANON_EVERY == CANON_EVERY - 1)
			check_canonical();
	}
	check_all();
	check_canonical();

	/* free everything, newest first, and compare with the state after setup */
	for (ops = 0; nlive; ops++) {
		do_free_live(nlive - 1);
		if (ops % CHECK_EVERY == CHECK_EVERY - 1)
			check_all();
		else
			check_calls();
	}
	check_all();
	check_canonical();
	buddy_get_stats(&b, &st1);
	FUZZ_CHECK(st1.used_bytes == 0 && st1.free_bytes == m_added, "after freeing all: used %llu free %llu of %llu",
		   (unsigned long long)st1.used_bytes, (unsigned long long)st1.free_bytes, (unsigned long long)m_added);
	if (!grew) {
		FUZZ_CHECK(!memcmp(st0.nfree, st1.nfree, sizeof(st0.nfree)) && st0.free_bytes == st1.free_bytes &&
				   st0.reserved_bytes == st1.reserved_bytes && st0.largest_free == st1.largest_free,
			   "after freeing all, the free lists differ from the state after setup");
	}
	e = buddy_check(&b, NULL, 0);
	EXPECT_OK(FT, e);
	fuzz_poison((void *)base, end - base);
	set_range(base, end, G_RSV);
	return 0;
}
