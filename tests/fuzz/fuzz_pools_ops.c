/* fuzz_pools_ops.c - libFuzzer target: memory_pool and page_pool driven by operation sequences against exact models. */
#include <stdlib.h>
#include <string.h>

#include "mm/memory_pool.h"
#include "mm/page_pool.h"
#include "tests/fuzz/fuzz.h"

/*
 * Both pools run side by side, each over its own guarded arena cut into slots; an input is a header and
 * then operations (one byte of kind, then arguments) until it or MAX_OPS runs out.
 *
 * memory_pool. The model is exact: it knows every used block (live blocks: header + usable size; reserved
 * blocks: the extent memory_pool_reserve() must give, leftovers below one minimum block absorbed), so the
 * free blocks are the gaps between them (free blocks always merge). It predicts the address of every
 * allocation (address-ordered first fit, carved from the low end), every in-place shrink/grow and move of
 * memory_pool_resize(), every reserve, and every error code but one: a free of an address in free space
 * that was not freed since the last allocation may be called a double free (a dead header is still
 * there) or an interior address, so both are accepted there. Blocks are filled with a pattern (or
 * deliberately not, so that stale headers stay around) which must survive until they are freed; a
 * resize must keep min(old, new) bytes. Every CHECK_EVERY steps and at the end: memory_pool_check() and
 * the statistics against the model (each step's results are checked at once).
 *
 * page_pool. The model keeps every managed page's state (free, run start, inside a run) per range and
 * predicts first fit exactly, every error code of alloc/free/extend (bitmaps in the range or in separate
 * storage, up to PAGE_POOL_MAX_RANGES ranges, overlaps with ranges, bitmaps and the descriptor, which
 * lives in the arena). Free pages and unused bitmap space are ASan-poisoned: the pool must never touch the
 * pages it manages. page_pool_check() and the statistics: with memory_pool's, every CHECK_EVERY steps.
 */
#define MAX_OPS 2000
#define CHECK_EVERY 16
#define A16(x) (((uintptr_t)(x) + 15) & ~(uintptr_t)15)

/* ======== memory_pool ======== */

#define MP_SLOTS 4
#define MP_SLOT (64ul << 10)
#define MP_DESC_AREA 512ul		/* the external descriptor's own slot, before slot 0 */
#define MP_MAX_EXT 512
#define MP_RECENT 64
#define MP_HDR ((uintptr_t)MEMORY_POOL_OVERHEAD)
/* the smallest block: a header and the two free-list links (memory_pool.c's MP_MIN_BLOCK) */
#define MP_MIN A16(MEMORY_POOL_OVERHEAD + 2 * sizeof(void *))
/* the header at the start of each range: five words (memory_pool.c's MP_RANGE_HDR) */
#define MP_RANGE_HDR A16(5 * sizeof(uintptr_t))

struct mp_range {
	uintptr_t start, end, first, limit;
};

/* a used block [lo, hi): live (payload at lo + MP_HDR) or reserved */
struct mp_ext {
	uintptr_t lo, hi;
	bool resv;
	bool filled;
	size_t req;
	uint64_t seed;
};

static uint8_t *mp_arena;
static struct memory_pool_s *mp;
static struct mp_range mr[MP_SLOTS];
static unsigned nmr;
static bool mp_slot_used[MP_SLOTS];
static bool mp_slot_dirty[MP_SLOTS];	/* slots the pool may have written since their last 0xee fill */
static struct mp_ext mx[MP_MAX_EXT];
static unsigned nmx, mp_nlive, mp_nresv;
static uintptr_t mp_recent[MP_RECENT];
static unsigned mp_nrecent;
static uintptr_t mp_freed[16];
static unsigned mp_nfreed;
static uintptr_t mp_maxcap;
static uint64_t seq;

static uintptr_t mp_slot(unsigned i)
{
	return (uintptr_t)mp_arena + MP_DESC_AREA + i * MP_SLOT;
}

static struct mp_range *mp_range_of(uintptr_t a)
{
	unsigned i;

	for (i = 0; i < nmr; i++)
		if (a >= mr[i].first && a < mr[i].limit)
			return &mr[i];
	return NULL;
}

/* index of the used block containing @a (lo <= a < hi), or -1; *@next = first block with lo > a */
static int mp_ext_at(uintptr_t a, unsigned *next)
{
	unsigned i;

	for (i = 0; i < nmx && mx[i].lo <= a; i++)
		if (a < mx[i].hi) {
			if (next)
				*next = i + 1;
			return (int)i;
		}
	if (next)
		*next = i;
	return -1;
}

/* the free block (gap) holding @a: false if @a is in a used block or outside every range */
static bool mp_gap_at(uintptr_t a, uintptr_t *glo, uintptr_t *ghi)
{
	struct mp_range *r = mp_range_of(a);
	unsigned nx;

	if (!r || mp_ext_at(a, &nx) >= 0)
		return false;
	*glo = nx > 0 && mx[nx - 1].hi > r->first && mx[nx - 1].hi <= a ? mx[nx - 1].hi : r->first;
	*ghi = nx < nmx && mx[nx].lo < r->limit ? mx[nx].lo : r->limit;
	return true;
}

/* walk the gaps in address order: fn(lo, hi, arg) returns true to stop */
static void mp_walk_gaps(bool (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg)
{
	unsigned i, j = 0;

	for (i = 0; i < nmr; i++) {
		uintptr_t cur = mr[i].first;

		while (j < nmx && mx[j].lo < mr[i].limit) {
			if (mx[j].lo > cur && fn(cur, mx[j].lo, arg))
				return;
			cur = mx[j].hi;
			j++;
		}
		if (mr[i].limit > cur && fn(cur, mr[i].limit, arg))
			return;
	}
}

struct fit {
	uintptr_t need, lo, hi;
	bool found;
};

static bool fit_fn(uintptr_t lo, uintptr_t hi, void *arg)
{
	struct fit *f = arg;

	if (hi - lo < f->need)
		return false;
	f->lo = lo;
	f->hi = hi;
	f->found = true;
	return true;
}

struct gsum {
	uintptr_t total, largest;
	unsigned n;
};

static bool gsum_fn(uintptr_t lo, uintptr_t hi, void *arg)
{
	struct gsum *g = arg;

	g->total += hi - lo;
	g->n++;
	if (hi - lo > g->largest)
		g->largest = hi - lo;
	return false;
}

static unsigned mp_insert(struct mp_ext e)
{
	unsigned i = nmx;

	while (i > 0 && mx[i - 1].lo > e.lo) {
		mx[i] = mx[i - 1];
		i--;
	}
	mx[i] = e;
	nmx++;
	if (e.resv)
		mp_nresv++;
	else
		mp_nlive++;
	return i;
}

static void mp_remove(unsigned i)
{
	if (mx[i].resv)
		mp_nresv--;
	else
		mp_nlive--;
	memmove(&mx[i], &mx[i + 1], (nmx - i - 1) * sizeof(mx[0]));
	nmx--;
}

static uintptr_t mp_need(uint64_t size)
{
	uintptr_t n = MP_HDR + A16(size);

	return n < MP_MIN ? MP_MIN : n;
}

static bool mp_recent_has(uintptr_t a)
{
	unsigned i;

	for (i = 0; i < mp_nrecent; i++)
		if (mp_recent[i] == a)
			return true;
	return false;
}

static void mp_check(void)
{
	struct memory_pool_stats st;
	struct gsum g = { 0, 0, 0 };
	uintptr_t used = 0, resv = 0, total = 0;
	char why[200];
	error_t e = memory_pool_check(mp, why, sizeof(why));
	unsigned i;

	FUZZ_CHECK(e == 0, "memory_pool_check: %s (%s)", err_str(e), why);
	mp_walk_gaps(gsum_fn, &g);
	for (i = 0; i < nmx; i++) {
		if (mx[i].resv)
			resv += mx[i].hi - mx[i].lo;
		else
			used += mx[i].hi - mx[i].lo;
	}
	for (i = 0; i < nmr; i++)
		total += mr[i].limit - mr[i].first;
	memory_pool_get_stats(mp, &st);
	FUZZ_CHECK(st.total == total && st.free == g.total && st.used == used && st.reserved == resv,
		   "memory_pool bytes: total %zu/%zu free %zu/%zu used %zu/%zu reserved %zu/%zu (pool/model)",
		   st.total, (size_t)total, st.free, (size_t)g.total, st.used, (size_t)used, st.reserved,
		   (size_t)resv);
	FUZZ_CHECK(st.nfree_blocks == g.n && st.nused_blocks == mp_nlive && st.nreserved_blocks == mp_nresv,
		   "memory_pool blocks: free %u/%u used %u/%u reserved %u/%u", st.nfree_blocks, g.n,
		   st.nused_blocks, mp_nlive, st.nreserved_blocks, mp_nresv);
	FUZZ_CHECK(st.largest_free == (g.largest ? g.largest - MP_HDR : 0), "largest_free %zu, model %zu",
		   st.largest_free, (size_t)(g.largest ? g.largest - MP_HDR : 0));
}

static void mp_fill(struct mp_ext *x, bool fill)
{
	x->seed = ++seq;
	x->filled = fill;
	if (fill)
		fuzz_fill((void *)(x->lo + MP_HDR), x->hi - x->lo - MP_HDR, x->seed);
}

static void mp_expect_fill(const struct mp_ext *x, const char *when)
{
	if (x->filled && !x->resv)
		FUZZ_CHECK(fuzz_fill_ok((void *)(x->lo + MP_HDR), x->hi - x->lo - MP_HDR, x->seed),
			   "memory_pool block %#lx: pattern overwritten (%s)", (unsigned long)(x->lo + MP_HDR), when);
}

static void mp_alloc(uint64_t size, bool fill)
{
	struct fit f = { 0, 0, 0, false };
	error_t want = 0, e;
	void *p = NULL;

	fuzz_op("mp_alloc", size, 0, 0);
	if (size == 0 || size > mp_maxcap - MP_HDR) {
		want = ERR_SIZE;
	} else {
		f.need = mp_need(size);
		mp_walk_gaps(fit_fn, &f);
		if (!f.found)
			want = ERR_NOMEM;
	}
	if (nmx == MP_MAX_EXT)
		return;
	e = memory_pool_alloc(mp, size, &p);
	EXPECT_ERR(FT, e, want);
	if (e) {
		FUZZ_CHECK(p == NULL, "failed memory_pool_alloc wrote its out-pointer");
		return;
	}
	{
		struct mp_ext x = { f.lo, f.hi - f.lo - f.need < MP_MIN ? f.hi : f.lo + f.need, false, false, size, 0 };
		size_t gs = 0;
		unsigned i;

		FUZZ_CHECK((uintptr_t)p == f.lo + MP_HDR, "memory_pool_alloc(%llu) = %p, first fit says %#lx",
			   (unsigned long long)size, p, (unsigned long)(f.lo + MP_HDR));
		EXPECT_OK(FT, memory_pool_getsize(mp, p, &gs));
		FUZZ_CHECK(gs == x.hi - x.lo - MP_HDR && gs >= size, "getsize %zu, model %zu (asked %llu)", gs,
			   (size_t)(x.hi - x.lo - MP_HDR), (unsigned long long)size);
		i = mp_insert(x);
		mp_fill(&mx[i], fill);
		mp_nrecent = 0;
	}
}

static void mp_free_ext(unsigned i)
{
	uintptr_t a = mx[i].lo + MP_HDR;

	fuzz_op("mp_free", a, 0, 0);
	mp_expect_fill(&mx[i], "before free");
	EXPECT_OK(FT, memory_pool_free(mp, (void *)a));
	mp_remove(i);
	if (mp_nrecent < MP_RECENT)
		mp_recent[mp_nrecent++] = a;
	mp_freed[mp_nfreed++ % 16] = a;
}

/* the codes a free of @a may get (a bit set per acceptable code); 0 if @a is a live block */
#define C(x) (1ull << (-(x) & 63))
static uint64_t mp_expect_bad(uintptr_t a, bool resize)
{
	struct mp_range *r = mp_range_of(a);
	uintptr_t ha, glo, ghi;
	int k;

	if (!a)	/* resize: documented; free: NULL lies in no range */
		return resize ? C(ERR_INVAL) : C(ERR_NOTOWNED);
	if (!r && !resize)
		return C(ERR_NOTOWNED);
	if (a & 15)
		return C(ERR_MISALIGNED);
	if (!resize && a - r->first < MP_HDR)
		return C(ERR_INTERIOR);
	ha = a - MP_HDR;
	k = mp_ext_at(ha, NULL);
	if (k >= 0 && mx[k].lo == ha)
		return mx[k].resv ? C(ERR_INVAL) : 0;
	if (k >= 0)	/* inside a used block: no sealed header there, maybe a dead one */
		return resize ? C(ERR_NOTOWNED) | C(ERR_INTERIOR) : C(ERR_INTERIOR);
	if (mp_gap_at(ha, &glo, &ghi) && ha == glo)
		return C(ERR_DOUBLEFREE);	/* a free block's own header */
	if (mp_recent_has(a))
		return C(ERR_DOUBLEFREE);
	return C(ERR_DOUBLEFREE) | C(ERR_INTERIOR) | (resize ? C(ERR_NOTOWNED) : 0);
}

/* an address for a bad free/resize; with @in_pool, one whose header slot lies in a range's block area */
static uintptr_t mp_bogus(struct fuzz_in *in, bool in_pool)
{
	uint8_t v = fin_u8(in);
	uint32_t r = fin_u32(in);
	struct mp_range *g = &mr[r % nmr];
	uintptr_t a;

	switch (v % 8) {
	case 0:	/* inside a used block, often near its start */
		if (nmx) {
			struct mp_ext *x = &mx[(r >> 8) % nmx];

			a = x->lo + MP_HDR + ((r >> 20) % ((x->hi - x->lo) / 16 + 2)) * 16 - 32;
			break;
		}
		/* fall through */
	case 1:	/* anywhere in a range, 16-aligned */
		a = g->first + ((r >> 4) % (g->limit - g->first)) / 16 * 16;
		break;
	case 2:	/* misaligned */
		a = g->first + (r >> 4) % (g->limit - g->first);
		break;
	case 3:	/* freed before */
		a = mp_nfreed ? mp_freed[r % (mp_nfreed < 16 ? mp_nfreed : 16)] : g->first + MP_HDR;
		break;
	case 4:	/* the range header and the first block's header */
		a = g->start + (r % (g->first + MP_HDR - g->start + 1));
		break;
	case 5:	/* just past the block area, or outside the arena */
		a = (r & 1) ? g->limit + (r >> 4) % 64 : (uintptr_t)mp_arena - 4096 - (r >> 8) % 4096;
		break;
	case 6:
		a = 0;
		break;
	default:	/* a reserved block and its surroundings */
		a = g->first + MP_HDR;
		for (unsigned i = 0; i < nmx; i++)
			if (mx[i].resv) {
				a = mx[i].lo + ((r >> 8) % 6) * 16;
				break;
			}
		break;
	}
	if (in_pool && a) {
		struct mp_range *h = mp_range_of(a - MP_HDR);

		if (!h || a - MP_HDR < h->first || a > h->limit)
			a = g->first + MP_HDR + ((r >> 12) % ((g->limit - g->first - MP_HDR) / 16)) * 16 + (a & 15);
	}
	return a;
}

static void mp_free_bogus(struct fuzz_in *in)
{
	uintptr_t a = mp_bogus(in, false);
	uint64_t ok = mp_expect_bad(a, false);
	struct memory_pool_stats s0, s1;
	error_t e;
	int k;

	if (!ok) {
		k = mp_ext_at(a - MP_HDR, NULL);
		mp_free_ext((unsigned)k);
		return;
	}
	fuzz_op("mp_free?", a, ok, 0);
	memory_pool_get_stats(mp, &s0);
	e = memory_pool_free(mp, (void *)a);
	FUZZ_CHECK(e < 0 && (ok & C(e)), "memory_pool_free(%#lx) = %d (%s), acceptable mask %#llx", (unsigned long)a,
		   e, err_str(e), (unsigned long long)ok);
	memory_pool_get_stats(mp, &s1);
	FUZZ_CHECK(!memcmp(&s0, &s1, sizeof(s0)), "a refused free changed the statistics");
}

static void mp_resize_live(unsigned i, uint64_t size, bool fill)
{
	struct mp_ext old = mx[i];
	uintptr_t a = old.lo + MP_HDR, sz = old.hi - old.lo, need, nxt;
	unsigned nx = i + 1;
	error_t want = 0, e;
	void *p = NULL;
	struct mp_ext nu = old;
	bool moved = false;

	fuzz_op("mp_resize", a, size, 0);
	nxt = nx < nmx && mx[nx].lo < mp_range_of(old.lo)->limit ? mx[nx].lo : mp_range_of(old.lo)->limit;
	if (size == 0 || size > mp_maxcap - MP_HDR) {
		want = ERR_SIZE;
	} else if ((need = mp_need(size)) <= sz) {
		uintptr_t rem = sz - need;

		if (rem && (nxt > old.hi || rem >= MP_MIN))
			nu.hi = old.lo + need;
	} else if (nxt > old.hi && sz + (nxt - old.hi) >= need) {
		nu.hi = (nxt - old.hi) - (need - sz) >= MP_MIN ? old.lo + need : nxt;
	} else {
		struct fit f = { need, 0, 0, false };

		mp_walk_gaps(fit_fn, &f);
		if (!f.found) {
			want = ERR_NOMEM;
		} else {
			nu.lo = f.lo;
			nu.hi = f.hi - f.lo - need < MP_MIN ? f.hi : f.lo + need;
			moved = true;
		}
	}
	e = memory_pool_resize((void *)a, size, &p);
	EXPECT_ERR(FT, e, want);
	if (e) {
		FUZZ_CHECK(p == NULL, "failed memory_pool_resize wrote its out-pointer");
		mp_expect_fill(&mx[i], "after a refused resize");
		return;
	}
	FUZZ_CHECK((uintptr_t)p == nu.lo + MP_HDR, "memory_pool_resize(%#lx, %llu) = %p, model %#lx (%s)",
		   (unsigned long)a, (unsigned long long)size, p, (unsigned long)(nu.lo + MP_HDR),
		   moved ? "moved" : "in place");
	{
		size_t keep = (old.hi - old.lo < nu.hi - nu.lo ? old.hi - old.lo : nu.hi - nu.lo) - MP_HDR, gs = 0;

		if (old.filled)
			FUZZ_CHECK(fuzz_fill_check(p, old.hi - old.lo - MP_HDR, keep, old.seed),
				   "memory_pool_resize lost the first %zu bytes", keep);
		EXPECT_OK(FT, memory_pool_getsize(mp, p, &gs));
		FUZZ_CHECK(gs == nu.hi - nu.lo - MP_HDR, "getsize after resize %zu, model %zu", gs,
			   (size_t)(nu.hi - nu.lo - MP_HDR));
	}
	mp_remove(i);
	nu.req = size;
	i = mp_insert(nu);
	mp_fill(&mx[i], fill);
	mp_nrecent = 0;
	if (moved)
		mp_freed[mp_nfreed++ % 16] = a;
}

static void mp_resize_bogus(struct fuzz_in *in)
{
	uint8_t v = fin_u8(in);
	uintptr_t a;
	uint64_t ok;
	void *p = NULL;
	error_t e;

	if (v % 4 == 0 && mp_nlive) {
		/* a live block without an out-pointer */
		unsigned i = fin_u16(in) % nmx;

		while (mx[i].resv)
			i = (i + 1) % nmx;
		a = mx[i].lo + MP_HDR;
		fuzz_op("mp_resize(NULL out)", a, 0, 0);
		EXPECT_ERR(FT, memory_pool_resize((void *)a, 16, NULL), ERR_INVAL);
		mp_expect_fill(&mx[i], "after resize without out-pointer");
		return;
	}
	a = mp_bogus(in, true);
	ok = mp_expect_bad(a, true);
	if (!ok)
		return;	/* a live block: the ordinary resize op covers it */
	fuzz_op("mp_resize?", a, ok, 0);
	e = memory_pool_resize((void *)a, 1 + v, &p);
	FUZZ_CHECK(e < 0 && (ok & C(e)), "memory_pool_resize(%#lx) = %d (%s), acceptable mask %#llx",
		   (unsigned long)a, e, err_str(e), (unsigned long long)ok);
}

static void mp_reserve(uintptr_t s, uint64_t size)
{
	struct mp_range *r;
	uintptr_t a = s & ~(uintptr_t)15, e = 0, b, glo = 0, ghi = 0;
	error_t want = 0, got;

	fuzz_op("mp_reserve", s, size, 0);
	if (size == 0 || s + size < s || s + size + 15 < s + size) {
		want = ERR_SIZE;
	} else {
		e = A16(s + size);
		r = mp_range_of(a);
		if (!r || e > r->limit)
			want = ERR_NOTOWNED;
		else if (a - r->first < MP_HDR)
			want = ERR_OVERLAP;
		else if (!mp_gap_at(a - MP_HDR, &glo, &ghi) || ghi < e)
			want = ERR_OVERLAP;
	}
	if (nmx == MP_MAX_EXT)
		return;
	got = memory_pool_reserve(mp, (void *)s, size);
	EXPECT_ERR(FT, got, want);
	if (got)
		return;
	b = a - MP_HDR;
	{
		struct mp_ext x = { b - glo < MP_MIN ? glo : b, ghi - e < MP_MIN ? ghi : e, true, false, size, 0 };

		mp_insert(x);
	}
	mp_nrecent = 0;
}

/* extend with slot @i ([slot + lo, slot + MP_SLOT - hi)), or one of the bad extends */
static void mp_extend(struct fuzz_in *in)
{
	uint8_t v = fin_u8(in);
	unsigned i = v % MP_SLOTS;
	uintptr_t s = mp_slot(i) + fin_u8(in), e = mp_slot(i) + MP_SLOT - fin_u8(in);
	struct memory_pool_stats a, b;
	error_t want = 0, got;
	unsigned k;

	switch ((v >> 2) % 4) {
	case 0:	/* a new slot, or (if taken) an overlap */
		break;
	case 1:	/* too small for a range header and one block */
		e = s + (v >> 4) * 4;
		break;
	case 2:	/* end <= start */
		e = s - (v >> 4);
		break;
	default: /* over the external descriptor or an existing range */
		s = mp_slot(0) - MP_DESC_AREA + (v >> 4);
		e = mp_slot(0) + 4096;
		break;
	}
	if (e <= s) {
		want = ERR_INVAL;
	} else if ((uintptr_t)mp < e && (uintptr_t)mp + sizeof(*mp) > s) {
		want = ERR_OVERLAP;
	} else {
		uintptr_t first = A16(s) + MP_RANGE_HDR, limit = e & ~(uintptr_t)15;

		for (k = 0; k < nmr; k++)
			if (s < mr[k].end && mr[k].start < e)
				want = ERR_OVERLAP;
		if (!want && (first >= limit || limit - first < MP_MIN))
			want = ERR_SIZE;
	}
	fuzz_op("mp_extend", s, e, (uint64_t)(int64_t)want);
	for (k = 0; k < MP_SLOTS; k++)
		if ((s < e ? s : e) < mp_slot(k) + MP_SLOT && (s < e ? e : s + 1) > mp_slot(k))
			mp_slot_dirty[k] = true;	/* even a refused extend: 0xee again next input */
	memory_pool_get_stats(mp, &a);
	got = memory_pool_extend(mp, (void *)s, (void *)e);
	EXPECT_ERR(FT, got, want);
	memory_pool_get_stats(mp, &b);
	if (got) {
		FUZZ_CHECK(!memcmp(&a, &b, sizeof(a)), "a refused extend changed the statistics");
		return;
	}
	for (k = 0; k < MP_SLOTS; k++)
		if (s >= mp_slot(k) && s < mp_slot(k) + MP_SLOT)
			mp_slot_used[k] = true;
	k = nmr;
	while (k > 0 && mr[k - 1].start > s) {
		mr[k] = mr[k - 1];
		k--;
	}
	mr[k].start = s;
	mr[k].end = e;
	mr[k].limit = e & ~(uintptr_t)15;
	mr[k].first = mr[k].limit - (b.total - a.total);
	FUZZ_CHECK(mr[k].first > s && mr[k].first - s <= 64, "range [%#lx, %#lx): block area starts at %#lx",
		   (unsigned long)s, (unsigned long)e, (unsigned long)mr[k].first);
	if (mr[k].limit - mr[k].first > mp_maxcap)
		mp_maxcap = mr[k].limit - mr[k].first;
	nmr++;
}

static void mp_setup(struct fuzz_in *in)
{
	uint8_t v = fin_u8(in);
	uintptr_t s = mp_slot(0) + fin_u8(in), e = mp_slot(0) + MP_SLOT - fin_u8(in);
	struct memory_pool_stats st;
	struct memory_pool_s *p = NULL;
	unsigned k;

	/* stale memory: 0xee over the descriptor's area and every slot the last input handed the pool */
	memset(mp_arena, 0xee, MP_DESC_AREA);
	for (k = 0; k < MP_SLOTS; k++)
		if (mp_slot_dirty[k] || !mp) {
			memset((void *)mp_slot(k), 0xee, MP_SLOT);
			mp_slot_dirty[k] = false;
		}
	mp_slot_dirty[0] = true;
	nmr = nmx = mp_nlive = mp_nresv = mp_nrecent = mp_nfreed = 0;
	memset(mp_slot_used, 0, sizeof(mp_slot_used));
	if (v & 1) {
		/* the descriptor in its own slot, at an aligned spot of it */
		p = (struct memory_pool_s *)((uintptr_t)mp_arena + ((v >> 1) % 8) * 16);
		EXPECT_ERR(FT, memory_pool_init((void *)s, (void *)s, &p), ERR_INVAL);
		EXPECT_OK(FT, memory_pool_init((void *)s, (void *)e, &p));
		FUZZ_CHECK((uintptr_t)p == (uintptr_t)mp_arena + ((v >> 1) % 8) * 16, "descriptor moved");
	} else {
		EXPECT_ERR(FT, memory_pool_init((void *)s, (void *)(s + 64), &p), ERR_SIZE);
		FUZZ_CHECK(p == NULL, "failed memory_pool_init wrote the pool");
		EXPECT_OK(FT, memory_pool_init((void *)s, (void *)e, &p));
		FUZZ_CHECK((uintptr_t)p == A16(s), "descriptor at %p, not at the start of the range", (void *)p);
	}
	mp = p;
	memory_pool_get_stats(mp, &st);
	mr[0].start = s;
	mr[0].end = e;
	mr[0].limit = e & ~(uintptr_t)15;
	mr[0].first = mr[0].limit - st.total;
	mp_maxcap = st.total;
	nmr = 1;
	mp_slot_used[0] = true;
}

static void mp_finish(void)
{
	struct memory_pool_stats st;
	unsigned i;

	for (i = 0; i < nmx;) {
		if (mx[i].resv) {
			i++;
			continue;
		}
		mp_free_ext(i);
	}
	mp_check();
	memory_pool_get_stats(mp, &st);
	FUZZ_CHECK(st.used == 0 && st.nused_blocks == 0, "memory_pool: %zu bytes in %u blocks still used", st.used,
		   st.nused_blocks);
}

/* ======== page_pool ======== */

#define PP_SLOTS 10
#define PP_PAGE PAGE_POOL_PAGE_SIZE
#define PP_SLOT (24 * PP_PAGE)
#define PP_MAXPAGES 24

enum { PG_FREE, PG_HEAD, PG_IN };

struct pp_range {
	uintptr_t start, end;		/* as given */
	uintptr_t base;			/* first managed page */
	size_t npages;
	uintptr_t meta_lo, meta_hi;	/* bitmaps */
	void *storage;			/* malloc'd storage, if any */
	uint8_t pg[PP_MAXPAGES];
	uint64_t seed[PP_MAXPAGES];	/* fill seed of the run starting there */
};

static uint8_t *pp_arena;
static struct page_pool_s *pp;
static struct pp_range pr[PP_SLOTS];
static unsigned npr;
static uintptr_t pp_freed[16];
static unsigned pp_nfreed;

static uintptr_t pp_slot(unsigned i)
{
	return (uintptr_t)pp_arena + PP_PAGE + i * PP_SLOT;	/* page 0 holds the descriptor */
}

static struct pp_range *pp_range_of(uintptr_t a)
{
	unsigned i;

	for (i = 0; i < npr; i++)
		if (a >= pr[i].base && a < pr[i].base + pr[i].npages * PP_PAGE)
			return &pr[i];
	return NULL;
}

static size_t pp_run_len(const struct pp_range *r, size_t i)
{
	size_t j = i + 1;

	while (j < r->npages && r->pg[j] == PG_IN)
		j++;
	return j - i;
}

static void pp_check(void)
{
	struct page_pool_stats st;
	size_t total = 0, nfree = 0, runs = 0, largest = 0;
	char why[200];
	error_t e = page_pool_check(pp, why, sizeof(why));
	unsigned i;

	FUZZ_CHECK(e == 0, "page_pool_check: %s (%s)", err_str(e), why);
	for (i = 0; i < npr; i++) {
		size_t j, cur = 0;

		total += pr[i].npages;
		for (j = 0; j < pr[i].npages; j++) {
			nfree += pr[i].pg[j] == PG_FREE;
			runs += pr[i].pg[j] == PG_HEAD;
			cur = pr[i].pg[j] == PG_FREE ? cur + 1 : 0;
			if (cur > largest)
				largest = cur;
		}
	}
	page_pool_get_stats(pp, &st);
	FUZZ_CHECK(st.total_pages == total && st.free_pages == nfree && st.nruns == runs &&
			   st.largest_free_run == largest && st.nranges == npr,
		   "page_pool stats: total %zu/%zu free %zu/%zu runs %zu/%zu largest %zu/%zu ranges %u/%u",
		   st.total_pages, total, st.free_pages, nfree, st.nruns, runs, st.largest_free_run, largest,
		   st.nranges, npr);
}

static void pp_alloc(uint64_t size)
{
	size_t k = size / PP_PAGE + (size % PP_PAGE != 0), maxp = 0, i = 0, j;
	struct pp_range *hit = NULL;
	error_t want, e;
	uintptr_t a = 0;
	unsigned r;

	fuzz_op("pp_alloc", size, 0, 0);
	for (r = 0; r < npr; r++)
		if (pr[r].npages > maxp)
			maxp = pr[r].npages;
	for (r = 0; r < npr && !hit && size && k <= maxp; r++)
		for (i = 0; i + k <= pr[r].npages; i++) {
			for (j = 0; j < k && pr[r].pg[i + j] == PG_FREE; j++)
				;
			if (j == k) {
				hit = &pr[r];
				break;
			}
		}
	want = size == 0 || k > maxp ? ERR_SIZE : hit ? 0 : ERR_NOMEM;
	e = page_pool_alloc(pp, size, &a);
	EXPECT_ERR(FT, e, want);
	if (e) {
		FUZZ_CHECK(a == 0, "failed page_pool_alloc wrote its out-pointer");
		return;
	}
	FUZZ_CHECK(a == hit->base + i * PP_PAGE, "page_pool_alloc(%llu) = %#lx, first fit says %#lx",
		   (unsigned long long)size, (unsigned long)a, (unsigned long)(hit->base + i * PP_PAGE));
	hit->pg[i] = PG_HEAD;
	for (j = 1; j < k; j++)
		hit->pg[i + j] = PG_IN;
	hit->seed[i] = ++seq;
	fuzz_unpoison((void *)a, k * PP_PAGE);
	fuzz_fill((void *)a, k * PP_PAGE, seq);
}

static void pp_free_at(struct pp_range *r, size_t i)
{
	uintptr_t a = r->base + i * PP_PAGE;
	size_t n = pp_run_len(r, i), j, gs = 0;

	fuzz_op("pp_free", a, n, 0);
	EXPECT_OK(FT, page_pool_getsize(pp, a, &gs));
	FUZZ_CHECK(gs == n * PP_PAGE, "page_pool_getsize %zu, run of %zu pages", gs, n);
	FUZZ_CHECK(fuzz_fill_ok((void *)a, n * PP_PAGE, r->seed[i]), "page run %#lx: pattern overwritten",
		   (unsigned long)a);
	EXPECT_OK(FT, page_pool_free(pp, a));
	for (j = 0; j < n; j++)
		r->pg[i + j] = PG_FREE;
	fuzz_poison((void *)a, n * PP_PAGE);
	pp_freed[pp_nfreed++ % 16] = a;
}

static void pp_free_any(uintptr_t a, bool getsize)
{
	struct pp_range *r = pp_range_of(a);
	error_t want, e;
	size_t i = 0, sz = 0;

	if (!r)
		want = ERR_NOTOWNED;
	else if (a & (PP_PAGE - 1))
		want = ERR_MISALIGNED;
	else {
		i = (a - r->base) / PP_PAGE;
		want = r->pg[i] == PG_HEAD ? 0 : r->pg[i] == PG_IN ? ERR_INTERIOR : ERR_DOUBLEFREE;
	}
	if (!want && !getsize) {
		pp_free_at(r, i);
		return;
	}
	fuzz_op(getsize ? "pp_getsize" : "pp_free?", a, (uint64_t)(int64_t)want, 0);
	e = getsize ? page_pool_getsize(pp, a, &sz) : page_pool_free(pp, a);
	EXPECT_ERR(FT, e, want);
	if (getsize && !e)
		FUZZ_CHECK(sz == pp_run_len(r, i) * PP_PAGE, "page_pool_getsize %zu", sz);
	FUZZ_CHECK(page_pool_owns(pp, a) == (r != NULL), "page_pool_owns(%#lx) wrong", (unsigned long)a);
}

static uintptr_t pp_bogus(struct fuzz_in *in)
{
	uint8_t v = fin_u8(in);
	uint32_t r = fin_u32(in);
	struct pp_range *g = &pr[r % npr];

	switch (v % 6) {
	case 0:	/* any page of a range, or its bitmap pages */
		return g->start + ((r >> 4) % (g->end - g->start)) / PP_PAGE * PP_PAGE;
	case 1:	/* misaligned */
		return g->base + (r >> 4) % (g->npages * PP_PAGE);
	case 2:	/* freed before */
		return pp_nfreed ? pp_freed[r % (pp_nfreed < 16 ? pp_nfreed : 16)] : g->base;
	case 3:	/* the page after the last, the one before the first */
		return (r & 1) ? g->base + g->npages * PP_PAGE : g->base - PP_PAGE;
	case 4:
		return (uintptr_t)pp;
	default:
		return (uintptr_t)r << 12;
	}
}

/* a range in slot @i: any alignment, 0..3 pages (and a few bytes) trimmed at either end */
static void pp_slot_range(struct fuzz_in *in, unsigned i, uintptr_t *s, uintptr_t *e)
{
	uint16_t lo = fin_u16(in), hi = fin_u16(in);

	*s = pp_slot(i) + lo % (3 * PP_PAGE + 1);
	*e = pp_slot(i) + PP_SLOT - hi % (3 * PP_PAGE + 1);
}

static bool pp_overlap(uintptr_t a, uintptr_t ae, uintptr_t b, uintptr_t be)
{
	return a < be && b < ae;
}

static bool pp_collides(uintptr_t a, uintptr_t ae)
{
	unsigned i;

	if (pp_overlap(a, ae, (uintptr_t)pp, (uintptr_t)pp + sizeof(*pp)))
		return true;
	for (i = 0; i < npr; i++)
		if (pp_overlap(a, ae, pr[i].start, pr[i].end) || pp_overlap(a, ae, pr[i].meta_lo, pr[i].meta_hi))
			return true;
	return false;
}

/* page_pool_init_storage()/extend_storage() with the model's prediction */
static void pp_add(uintptr_t s, uintptr_t e, bool use_storage, unsigned store_slack, bool init)
{
	uintptr_t as = (s + PP_PAGE - 1) & ~(PP_PAGE - 1), ae = e & ~(PP_PAGE - 1);
	size_t n = ae > as && as >= s ? (ae - as) / PP_PAGE : 0, words = (n + 63) / 64, bytes = 16 * words;
	/* bit 4 of @store_slack: 8 bytes short (ERR_SIZE); else 0..15 bytes to spare */
	size_t len = !use_storage ? 0 : (store_slack & 16) ? (bytes >= 8 ? bytes - 8 : 0) : bytes + store_slack % 16;
	uint8_t *store = use_storage ? malloc(len ? len : 1) : NULL;
	struct page_pool_stats before, after;
	error_t want = 0, got;
	size_t meta = (bytes + PP_PAGE - 1) / PP_PAGE;
	unsigned k;

	if (use_storage && !store)
		abort();
	fuzz_op(init ? "pp_init" : "pp_extend", s, e, use_storage ? len : (uint64_t)-1);
	if (init)
		npr = 0;
	if (e <= s)
		want = ERR_INVAL;
	else if (pp_collides(s, e))
		want = ERR_OVERLAP;
	else if (npr >= PAGE_POOL_MAX_RANGES)
		want = ERR_NOMEM;
	else if (!n)
		want = ERR_SIZE;
	else if (use_storage && len < bytes)	/* malloc'd storage is 8-aligned: no adjustment */
		want = ERR_SIZE;
	else if (!use_storage && meta >= n)
		want = ERR_SIZE;
	/* the pool may write the bitmaps now */
	if (e > s && !want)
		fuzz_unpoison((void *)s, e - s);
	if (init) {
		memset(&before, 0, sizeof(before));
		got = page_pool_init_storage(pp, s, e, store, len);
	} else {
		page_pool_get_stats(pp, &before);
		got = page_pool_extend_storage(pp, s, e, store, len);
	}
	EXPECT_ERR(FT, got, want);
	page_pool_get_stats(pp, &after);
	if (got) {
		free(store);
		if (!init)
			FUZZ_CHECK(!memcmp(&before, &after, sizeof(before)), "a refused extend changed the statistics");
		return;
	}
	{
		struct pp_range nr;
		size_t np = after.total_pages - before.total_pages;

		memset(&nr, 0, sizeof(nr));
		nr.start = s;
		nr.end = e;
		nr.npages = np;
		nr.base = ae - np * PP_PAGE;
		nr.storage = store;
		if (use_storage) {
			nr.meta_lo = (uintptr_t)store;
			nr.meta_hi = (uintptr_t)store + bytes;
			FUZZ_CHECK(np == n, "range with separate bitmaps manages %zu of %zu pages", np, n);
		} else {
			nr.meta_lo = as;
			nr.meta_hi = as + 16 * ((np + 63) / 64);
			FUZZ_CHECK(np + meta == n, "range manages %zu pages, %zu bitmap pages, of %zu", np, meta, n);
			fuzz_poison((void *)nr.meta_hi, nr.base - nr.meta_hi);
		}
		/* everything outside the pages and bitmaps is never touched; the free pages neither */
		fuzz_poison((void *)s, (use_storage ? as : nr.meta_lo) - s);
		fuzz_poison((void *)ae, e - ae);
		fuzz_poison((void *)nr.base, np * PP_PAGE);
		for (k = npr; k > 0 && pr[k - 1].start > s; k--)
			pr[k] = pr[k - 1];
		pr[k] = nr;
		npr++;
	}
}

static void pp_extend(struct fuzz_in *in)
{
	uint8_t v = fin_u8(in);
	unsigned i = v % PP_SLOTS;
	uintptr_t s, e;

	pp_slot_range(in, i, &s, &e);
	switch ((v >> 4) % 4) {
	case 0:
	case 1:
		break;	/* the slot (an overlap if it is taken) */
	case 2:		/* a sliver: one page or less */
		e = s + (v & 15) * 512;
		break;
	default:	/* over the descriptor, or end <= start */
		if (v & 8) {
			s = (uintptr_t)pp_arena + (v & 7) * 64;
			e = pp_slot(0) + PP_PAGE;
		} else {
			e = s - (v & 7);
		}
		break;
	}
	pp_add(s, e, fin_u8(in) & 1, fin_u8(in), false);
}

static void pp_setup(struct fuzz_in *in)
{
	uintptr_t s, e;
	uint8_t v = fin_u8(in);

	/* between inputs the arena is poisoned but for page 0 (pp_finish()) */
	fuzz_unpoison(pp_arena, PP_PAGE);
	pp = (struct page_pool_s *)(pp_arena + (v & 7) * 64);
	pp_nfreed = 0;
	pp_slot_range(in, 0, &s, &e);
	pp_add(s, e, v & 8, fin_u8(in) & ~16u, true);
	if (!npr) {
		/* the input asked for an impossible first range: take the whole slot */
		pp_add(pp_slot(0), pp_slot(0) + PP_SLOT, false, 0, true);
	}
}

static void pp_finish(void)
{
	unsigned i;
	size_t j;

	for (i = 0; i < npr; i++) {
		for (j = 0; j < pr[i].npages; j++)
			if (pr[i].pg[j] == PG_HEAD)
				pp_free_at(&pr[i], j);
	}
	pp_check();
	/*
	 * Poison again what the ranges unpoisoned (only they were: pp_add(), pp_alloc()), not the whole arena:
	 * unpoisoning it all each input made ASan release its shadow pages (above 64 KiB), and poisoning it
	 * fault them in again.
	 */
	for (i = 0; i < npr; i++) {
		fuzz_poison((void *)pr[i].start, pr[i].end - pr[i].start);
		free(pr[i].storage);
	}
	npr = 0;
}

/* ======== the driver ======== */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned ops;

	if (!mp_arena) {
		mp_arena = fuzz_arena(MP_DESC_AREA + MP_SLOTS * MP_SLOT, 4096, 0);
		pp_arena = fuzz_arena(PP_PAGE + PP_SLOTS * PP_SLOT, PP_PAGE, 0);
		fuzz_poison(pp_arena, PP_PAGE + PP_SLOTS * PP_SLOT);
	}
	fuzz_begin();
	mp_setup(&in);
	pp_setup(&in);
	mp_check();
	pp_check();
	for (ops = 0; ops < MAX_OPS && fin_more(&in); ops++) {
		uint8_t kind = fin_u8(&in);

		switch ((kind & 0x7f) % 20) {	/* bit 7: a flag of the op (no fill, getsize) */
		case 0: case 1: case 2: case 3:
			mp_alloc(fin_size(&in, 17), !(kind & 0x80));
			break;
		case 4: case 5: case 6:
			if (mp_nlive) {
				unsigned i = fin_u16(&in) % nmx;

				while (mx[i].resv)
					i = (i + 1) % nmx;
				mp_free_ext(i);
			}
			break;
		case 7:
			mp_free_bogus(&in);
			break;
		case 8: case 9:
			if (mp_nlive) {
				unsigned i = fin_u16(&in) % nmx;

				while (mx[i].resv)
					i = (i + 1) % nmx;
				mp_resize_live(i, fin_size(&in, 17), !(kind & 0x80));
			} else {
				mp_resize_bogus(&in);
			}
			break;
		case 10:
			mp_resize_bogus(&in);
			break;
		case 11: {
			struct mp_range *r = &mr[fin_u8(&in) % nmr];
			uintptr_t s = r->first + fin_u32(&in) % (r->limit - r->first + 32);

			mp_reserve(s, fin_size(&in, 12));
			break;
		}
		case 12:
			mp_extend(&in);
			break;
		case 13: case 14: case 15:
			pp_alloc(fin_size(&in, 18));
			break;
		case 16: case 17: {
			unsigned r = fin_u8(&in) % npr;
			size_t i, j = fin_u8(&in) % pr[r].npages;

			for (i = 0; i < pr[r].npages; i++)
				if (pr[r].pg[(i + j) % pr[r].npages] == PG_HEAD) {
					pp_free_at(&pr[r], (i + j) % pr[r].npages);
					break;
				}
			break;
		}
		case 18:
			pp_free_any(pp_bogus(&in), kind & 0x80);
			break;
		default:
			pp_extend(&in);
			break;
		}
		/* the full walks: every CHECK_EVERY steps, after the last step and in the finish */
		if (ops % CHECK_EVERY == CHECK_EVERY - 1) {
			mp_check();
			pp_check();
		}
	}
	mp_check();
	pp_check();
	mp_finish();
	pp_finish();
	return 0;
}
