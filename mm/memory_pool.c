/* memory_pool.c - fine-grained allocator: headed blocks, address-ordered first fit, free merges both ways. */
#include <stdio.h>
#include <string.h>

#include "mm/env.h"
#include "mm/memory_pool.h"

/*
 * Layout. Each range [start, end) given to a pool begins with a struct memory_pool_range_s (placed after
 * the descriptor when memory_pool_init() put that in the range too); the rest, [first, limit), is tiled by
 * blocks with no gap. A block is a struct mp_hdr (MEMORY_POOL_OVERHEAD bytes) followed by its payload:
 *
 *	canary		MP_MAGIC mixed with the header's own address and its three other fields (mp_mix())
 *	sizef		block size (header included, a multiple of 16) | MP_USED | MP_LAST | MP_RESV
 *	prev_size	size of the block just below, 0 for the first block of a range (the boundary tag)
 *	pool		the owner, so that memory_pool_resize() can find its pool from the block alone
 *
 * MP_LAST marks the block that ends at limit, so both physical neighbours of any block are found in O(1)
 * without looking up its range. A free block's payload starts with its free-list links, which makes
 * MP_MIN_BLOCK (header + two pointers) the smallest block.
 *
 * Why the canary covers its own address: a user may well store a copy of a header (or of a pointer to a
 * block) in its data. Copied elsewhere, the header no longer matches its address, so a free of an interior
 * address is never mistaken for a block start. A header swallowed by a merge is overwritten with a "dead"
 * canary (MP_DEAD ^ address ^ owner), which lets a later free of that address be recognised as a double
 * free. The dead canary covers the owner field too because memory_pool_resize() takes the pool from a
 * dead header: once a later block's header lands on that field (a split 16 bytes further up), the header
 * stops counting as dead instead of handing over a garbage pool pointer.
 */
#define MP_ALIGN	((uintptr_t)MEMORY_POOL_ALIGN)
#define MP_HDR		((size_t)MEMORY_POOL_OVERHEAD)
#define MP_USED		((size_t)1)
#define MP_LAST		((size_t)2)
#define MP_RESV		((size_t)4)
#define MP_FLAGS	((size_t)(MEMORY_POOL_ALIGN - 1))
#define MP_MAGIC	((uintptr_t)0x6d656d706f6f6c21ULL)	/* "mempool!" */
#define MP_DEAD		((uintptr_t)0x6465616468656164ULL)	/* "deadhead" */
#define MP_MIX		((uintptr_t)0x9e3779b97f4a7c15ULL)

struct mp_hdr {
	uintptr_t canary;
	size_t sizef;
	size_t prev_size;
	struct memory_pool_s *pool;
};

struct memory_pool_free_s {
	struct mp_hdr h;
	struct memory_pool_free_s *next, *prev;	/* address order */
};

struct memory_pool_range_s {
	struct memory_pool_range_s *next;	/* address order */
	uintptr_t start, end;			/* as given: what overlap checks compare */
	uintptr_t first, limit;			/* blocks tile [first, limit) */
};

#define MP_ALIGN_UP(x)	(((x) + MP_ALIGN - 1) & ~(MP_ALIGN - 1))
#define MP_MIN_BLOCK	((size_t)MP_ALIGN_UP(sizeof(struct memory_pool_free_s)))
#define MP_RANGE_HDR	((size_t)MP_ALIGN_UP(sizeof(struct memory_pool_range_s)))
#define MP_DESC_SIZE	((size_t)MP_ALIGN_UP(sizeof(struct memory_pool_s)))

_Static_assert(sizeof(struct mp_hdr) == MEMORY_POOL_OVERHEAD, "header size is what the API says");
_Static_assert(sizeof(struct mp_hdr) % MEMORY_POOL_ALIGN == 0, "payloads stay aligned");
_Static_assert((MEMORY_POOL_ALIGN & (MEMORY_POOL_ALIGN - 1)) == 0 && MEMORY_POOL_ALIGN >= 8, "flag bits");

static inline struct memory_pool_s *mp_of(struct alloc_pool_s *ap)
{
	return (struct memory_pool_s *)ap;	/* alloc is the first member */
}

static inline struct mp_hdr *mp_at(uintptr_t a)
{
	return (struct mp_hdr *)a;
}

static inline struct memory_pool_free_s *mp_free_of(struct mp_hdr *h)
{
	return (struct memory_pool_free_s *)h;
}

static inline size_t mp_size(const struct mp_hdr *h)
{
	return h->sizef & ~MP_FLAGS;
}

static uintptr_t mp_mix(const struct mp_hdr *h)
{
	uintptr_t x = MP_MAGIC ^ (uintptr_t)h;

	x = (x ^ (uintptr_t)h->sizef) * MP_MIX;
	x = (x ^ (uintptr_t)h->prev_size) * MP_MIX;
	x = (x ^ (uintptr_t)h->pool) * MP_MIX;
	return x ^ (x >> 16);
}

static inline bool mp_sealed(const struct mp_hdr *h)
{
	return h->canary == mp_mix(h);
}

static inline void mp_seal(struct mp_hdr *h)
{
	h->canary = mp_mix(h);
}

static inline void mp_kill(struct mp_hdr *h)
{
	h->canary = MP_DEAD ^ (uintptr_t)h ^ (uintptr_t)h->pool;
}

static inline bool mp_dead(const struct mp_hdr *h)
{
	return h->canary == (MP_DEAD ^ (uintptr_t)h ^ (uintptr_t)h->pool);
}

static void mp_set(uintptr_t a, size_t sizef, size_t prev_size, struct memory_pool_s *pool)
{
	struct mp_hdr *h = mp_at(a);

	h->sizef = sizef;
	h->prev_size = prev_size;
	h->pool = pool;
	mp_seal(h);
}

static inline struct mp_hdr *mp_next(struct mp_hdr *h)
{
	return (h->sizef & MP_LAST) ? NULL : mp_at((uintptr_t)h + mp_size(h));
}

static inline struct mp_hdr *mp_prev(struct mp_hdr *h)
{
	return h->prev_size ? mp_at((uintptr_t)h - h->prev_size) : NULL;
}

static inline bool mp_is_free(const struct mp_hdr *h)
{
	return h && !(h->sizef & MP_USED);
}

/* The block above @h learns @h's new size. */
static void mp_fix_next(struct mp_hdr *h)
{
	struct mp_hdr *n = mp_next(h);

	if (n) {
		n->prev_size = mp_size(h);
		mp_seal(n);
	}
}

/* Block size (header included) for a request of @size bytes; the caller has bounded @size. */
static inline size_t mp_need(size_t size)
{
	size_t n = MP_HDR + MP_ALIGN_UP(size);

	return n < MP_MIN_BLOCK ? MP_MIN_BLOCK : n;
}

/* Free list: make @nx follow @pv, dropping whatever was between them (either may be NULL: list ends). */
static void mp_join(struct memory_pool_s *pool, struct memory_pool_free_s *pv, struct memory_pool_free_s *nx)
{
	if (pv)
		pv->next = nx;
	else
		pool->free_head = nx;
	if (nx)
		nx->prev = pv;
}

/* Free list: put @f between @pv and @nx (either may be NULL). */
static void mp_link(struct memory_pool_s *pool, struct memory_pool_free_s *f, struct memory_pool_free_s *pv,
		    struct memory_pool_free_s *nx)
{
	mp_join(pool, pv, f);
	mp_join(pool, f, nx);
}

/* Free list: insert @f at its address-ordered place (a walk: see the allocation comment below). */
static void mp_list_insert(struct memory_pool_s *pool, struct memory_pool_free_s *f)
{
	struct memory_pool_free_s *pv = NULL, *cur = pool->free_head;

	while (cur && (uintptr_t)cur < (uintptr_t)f) {
		pv = cur;
		cur = cur->next;
	}
	mp_link(pool, f, pv, cur);
}

static struct memory_pool_range_s *mp_range_of(struct memory_pool_s *pool, uintptr_t a)
{
	struct memory_pool_range_s *r;

	for (r = pool->ranges; r; r = r->next)
		if (a >= r->first && a < r->limit)
			return r;
	return NULL;
}

/*
 * Allocation: address-ordered first fit. The free list holds every free block in address order; alloc
 * takes the first one large enough and carves the block from its low end, the remainder (if it can be a
 * block) staying in the list at the same place. Free merges with both physical neighbours through the
 * boundary tags: merging into the block below or taking over the block above keeps the list order without
 * a search; only a block with no free neighbour walks the list to find its place.
 *
 * Why first fit in address order rather than best fit: the allocator studies (Wilson et al., "Dynamic
 * Storage Allocation: A Survey and Critical Review", 1995) measure address-ordered first fit with
 * fragmentation as low as best fit, it packs live data towards low addresses, and an address-ordered list
 * can be checked in one pass against a walk of the blocks (memory_pool_check()). The cost is a list walk
 * per allocation and per isolated free, O(free blocks); a fine-grained kernel pool stays small, and
 * per-hart caches above it absorb the hot path.
 */

/*
 * mp_take() - make [@b, @b + @len) of the free block @f a used block with @flags. A leftover of less than
 * MP_MIN_BLOCK below or above is absorbed into the used block; larger ones stay free (the low one keeps
 * @f's list place, the high one goes right after it). Returns the used block.
 */
static struct mp_hdr *mp_take(struct memory_pool_s *pool, struct memory_pool_free_s *f, uintptr_t b, size_t len,
			      size_t flags)
{
	uintptr_t fa = (uintptr_t)f, fend = fa + mp_size(&f->h), e = b + len;
	size_t last = f->h.sizef & MP_LAST, fprev = f->h.prev_size;
	struct memory_pool_free_s *pv = f->prev, *nx = f->next;
	struct mp_hdr *u, *top;

	if (b - fa < MP_MIN_BLOCK)
		b = fa;
	if (fend - e < MP_MIN_BLOCK)
		e = fend;
	if (b > fa) {
		f->h.sizef = b - fa;		/* low piece stays free in place, no longer last */
		mp_seal(&f->h);
		mp_set(b, (e - b) | flags | (e == fend ? last : 0), b - fa, pool);
		if (e < fend) {
			mp_set(e, (fend - e) | last, e - b, pool);
			mp_link(pool, mp_free_of(mp_at(e)), f, nx);
			pool->nfree++;
		}
	} else {
		mp_set(b, (e - b) | flags | (e == fend ? last : 0), fprev, pool);
		if (e < fend) {
			mp_set(e, (fend - e) | last, e - b, pool);
			mp_link(pool, mp_free_of(mp_at(e)), pv, nx);
		} else {
			mp_join(pool, pv, nx);
			pool->nfree--;
		}
	}
	u = mp_at(b);
	top = e < fend ? mp_at(e) : u;
	mp_fix_next(top);
	pool->free -= e - b;
	if (flags & MP_RESV) {
		pool->reserved += e - b;
		pool->nreserved++;
	} else {
		pool->nused++;
	}
	return u;
}

/* mp_release() - make the used block @h free, merging it with free neighbours. */
static void mp_release(struct memory_pool_s *pool, struct mp_hdr *h)
{
	size_t sz = mp_size(h);
	struct mp_hdr *p = mp_prev(h), *n = mp_next(h);

	pool->free += sz;
	pool->nused--;
	if (mp_is_free(p)) {
		size_t grown = mp_size(p) + sz, last = h->sizef & MP_LAST;

		if (mp_is_free(n)) {
			struct memory_pool_free_s *nf = mp_free_of(n);

			mp_join(pool, nf->prev, nf->next);
			grown += mp_size(n);
			last = n->sizef & MP_LAST;
			mp_kill(n);
			pool->nfree--;
		}
		mp_kill(h);
		p->sizef = grown | last;
		mp_seal(p);
		mp_fix_next(p);
	} else if (mp_is_free(n)) {
		struct memory_pool_free_s *nf = mp_free_of(n), *pv = nf->prev, *nx = nf->next;
		size_t grown = sz + mp_size(n), last = n->sizef & MP_LAST;

		mp_kill(n);
		h->sizef = grown | last;
		mp_seal(h);
		mp_link(pool, mp_free_of(h), pv, nx);
		mp_fix_next(h);
	} else {
		h->sizef &= ~MP_USED;
		mp_seal(h);
		mp_list_insert(pool, mp_free_of(h));
		pool->nfree++;
	}
}

/*
 * mp_hdr_ok() - is there a genuine block header at @ha in range @r? @ha is aligned and
 * r->first <= @ha, @ha + MP_HDR <= r->limit, so reading it stays in the range. The header must carry its
 * canary and owner and agree with both neighbours' boundary tags.
 */
static bool mp_hdr_ok(struct memory_pool_s *pool, const struct memory_pool_range_s *r, uintptr_t ha)
{
	const struct mp_hdr *h = mp_at(ha), *o;
	size_t sz;

	if (!mp_sealed(h) || h->pool != pool)
		return false;
	sz = mp_size(h);
	if (sz < MP_MIN_BLOCK || sz > r->limit - ha)
		return false;
	if (h->sizef & MP_LAST) {
		if (ha + sz != r->limit)
			return false;
	} else {
		if (r->limit - (ha + sz) < MP_MIN_BLOCK)
			return false;
		o = mp_at(ha + sz);
		if (!mp_sealed(o) || o->prev_size != sz)
			return false;
	}
	if (h->prev_size == 0)
		return ha == r->first;
	if ((h->prev_size & MP_FLAGS) || h->prev_size < MP_MIN_BLOCK || h->prev_size > ha - r->first)
		return false;
	o = mp_at(ha - h->prev_size);
	return mp_sealed(o) && mp_size(o) == h->prev_size && !(o->sizef & MP_LAST);
}

/*
 * mp_classify() - @ha is not a genuine header: walk the blocks of @r to say why. Inside a free block, at a
 * header killed by a merge: a double free; anywhere else: an interior address. Only bad frees get here.
 */
static error_t mp_classify(const struct memory_pool_range_s *r, uintptr_t ha)
{
	uintptr_t b = r->first;

	while (b < r->limit) {
		const struct mp_hdr *h = mp_at(b);
		size_t sz = mp_size(h);

		if (!mp_sealed(h) || sz < MP_MIN_BLOCK || sz > r->limit - b)
			return ERR_CORRUPT;
		if (ha < b + sz) {
			if (ha == b)
				return ERR_CORRUPT;	/* a real header that disagrees with its neighbours */
			if (mp_is_free(h) && mp_dead(mp_at(ha)))
				return ERR_DOUBLEFREE;
			return ERR_INTERIOR;
		}
		b += sz;
	}
	return ERR_CORRUPT;
}

/* mp_lookup() - find the live, non-reserved block starting at @a; writes nothing anywhere. */
static error_t mp_lookup(struct memory_pool_s *pool, uintptr_t a, struct mp_hdr **hp)
{
	struct memory_pool_range_s *r = mp_range_of(pool, a);
	struct mp_hdr *h;

	if (!r)
		return ERR_NOTOWNED;
	if (a & (MP_ALIGN - 1))
		return ERR_MISALIGNED;
	if (a - r->first < MP_HDR)
		return ERR_INTERIOR;	/* inside the first block's header */
	if (!mp_hdr_ok(pool, r, a - MP_HDR))
		return mp_classify(r, a - MP_HDR);
	h = mp_at(a - MP_HDR);
	if (!(h->sizef & MP_USED))
		return ERR_DOUBLEFREE;
	if (h->sizef & MP_RESV)
		return ERR_INVAL;
	*hp = h;
	return 0;
}

/* mp_add_range() - add [@s, @e), its range header at @meta (>= @s); callers check the descriptor. */
static error_t mp_add_range(struct memory_pool_s *pool, uintptr_t s, uintptr_t e, uintptr_t meta)
{
	struct memory_pool_range_s *r, **pp;
	uintptr_t rh = MP_ALIGN_UP(meta), first = rh + MP_RANGE_HDR, limit = e & ~(MP_ALIGN - 1);
	struct mp_hdr *h;

	for (r = pool->ranges; r; r = r->next)
		if (s < r->end && r->start < e)
			return ERR_OVERLAP;
	if (rh < meta || first < rh || first >= limit || limit - first < MP_MIN_BLOCK)
		return ERR_SIZE;
	r = (struct memory_pool_range_s *)rh;
	r->start = s;
	r->end = e;
	r->first = first;
	r->limit = limit;
	for (pp = &pool->ranges; *pp && (*pp)->start < s; pp = &(*pp)->next)
		;
	r->next = *pp;
	*pp = r;
	h = mp_at(first);
	mp_set(first, (limit - first) | MP_LAST, 0, pool);
	mp_list_insert(pool, mp_free_of(h));
	pool->total += limit - first;
	pool->free += limit - first;
	if (limit - first > pool->max_block)
		pool->max_block = limit - first;
	pool->nfree++;
	pool->nranges++;
	return 0;
}

static void mp_reset(struct memory_pool_s *pool)
{
	memset(pool, 0, sizeof(*pool));
	pool->alloc.model = &memory_pool_model;
}

error_t memory_pool_init(void *start, void *end, struct memory_pool_s **pool)
{
	uintptr_t s = (uintptr_t)start, e = (uintptr_t)end, d;
	struct memory_pool_s *p;
	error_t err;

	if (!pool || !start || !end || e <= s)
		return ERR_INVAL;
	if (*pool) {
		p = *pool;
		d = (uintptr_t)p;
		if (d & (_Alignof(struct memory_pool_s) - 1))
			return ERR_INVAL;
		if (d < e && d + sizeof(*p) > s)
			return ERR_OVERLAP;
		mp_reset(p);
		err = mp_add_range(p, s, e, s);
	} else {
		d = MP_ALIGN_UP(s);
		if (d < s || d > e || e - d < MP_DESC_SIZE + MP_RANGE_HDR + MP_MIN_BLOCK)
			return ERR_SIZE;
		p = (struct memory_pool_s *)d;
		mp_reset(p);
		err = mp_add_range(p, s, e, d + MP_DESC_SIZE);
	}
	if (err)
		return err;
	*pool = p;
	return 0;
}

error_t memory_pool_extend(struct memory_pool_s *pool, void *start, void *end)
{
	uintptr_t s = (uintptr_t)start, e = (uintptr_t)end, d = (uintptr_t)pool;

	if (!pool || !start || !end || e <= s)
		return ERR_INVAL;
	if (d < e && d + sizeof(*pool) > s)
		return ERR_OVERLAP;
	return mp_add_range(pool, s, e, s);
}

error_t memory_pool_alloc(struct memory_pool_s *pool, size_t size, void **addr)
{
	struct memory_pool_free_s *f;
	size_t need;

	if (!pool || !addr)
		return ERR_INVAL;
	if (size == 0 || pool->max_block < MP_HDR || size > pool->max_block - MP_HDR)
		return ERR_SIZE;
	need = mp_need(size);
	for (f = pool->free_head; f; f = f->next)
		if (mp_size(&f->h) >= need)
			break;
	if (!f)
		return ERR_NOMEM;
	*addr = (void *)((uintptr_t)mp_take(pool, f, (uintptr_t)f, need, MP_USED) + MP_HDR);
	return 0;
}

error_t memory_pool_free(struct memory_pool_s *pool, void *addr)
{
	struct mp_hdr *h;
	error_t e;

	if (!pool)
		return ERR_INVAL;
	e = mp_lookup(pool, (uintptr_t)addr, &h);
	if (e) {
		mm_log("memory_pool_free: pool %p: refused free of %p: %s", (void *)pool, addr, err_str(e));
		return e;
	}
	mp_release(pool, h);
	return 0;
}

error_t memory_pool_getsize(struct memory_pool_s *pool, void *addr, size_t *size)
{
	struct mp_hdr *h;
	error_t e;

	if (!pool || !size)
		return ERR_INVAL;
	e = mp_lookup(pool, (uintptr_t)addr, &h);
	if (e)
		return e;
	*size = mp_size(h) - MP_HDR;
	return 0;
}

bool memory_pool_owns(struct memory_pool_s *pool, void *addr)
{
	return pool && mp_range_of(pool, (uintptr_t)addr);
}

/* Shrink the used block @h to @need bytes; the tail joins a free block above or becomes one. */
static void mp_shrink(struct memory_pool_s *pool, struct mp_hdr *h, size_t need)
{
	size_t rem = mp_size(h) - need;
	struct mp_hdr *n = mp_next(h);
	uintptr_t t = (uintptr_t)h + need;

	if (rem == 0)
		return;
	if (mp_is_free(n)) {
		struct memory_pool_free_s *nf = mp_free_of(n), *pv = nf->prev, *nx = nf->next;
		size_t grown = rem + mp_size(n), last = n->sizef & MP_LAST;

		mp_kill(n);		/* before writing the new header, which may overlap it */
		h->sizef = need | MP_USED;
		mp_seal(h);
		mp_set(t, grown | last, need, pool);
		mp_link(pool, mp_free_of(mp_at(t)), pv, nx);
		mp_fix_next(mp_at(t));
		pool->free += rem;
	} else if (rem >= MP_MIN_BLOCK) {
		size_t last = h->sizef & MP_LAST;

		h->sizef = need | MP_USED;
		mp_seal(h);
		mp_set(t, rem | last, need, pool);
		mp_list_insert(pool, mp_free_of(mp_at(t)));
		mp_fix_next(mp_at(t));
		pool->free += rem;
		pool->nfree++;
	}
}

/* Grow the used block @h to @need bytes into the free block @n just above it (large enough). */
static void mp_grow(struct memory_pool_s *pool, struct mp_hdr *h, struct mp_hdr *n, size_t need)
{
	size_t sz = mp_size(h), nsz = mp_size(n), delta = need - sz, last = n->sizef & MP_LAST;
	struct memory_pool_free_s *nf = mp_free_of(n), *pv = nf->prev, *nx = nf->next;
	uintptr_t t = (uintptr_t)h + need;

	mp_kill(n);
	if (nsz - delta >= MP_MIN_BLOCK) {
		h->sizef = need | MP_USED;
		mp_seal(h);
		mp_set(t, (nsz - delta) | last, need, pool);
		mp_link(pool, mp_free_of(mp_at(t)), pv, nx);
		mp_fix_next(mp_at(t));
		pool->free -= delta;
	} else {
		h->sizef = (sz + nsz) | MP_USED | last;
		mp_seal(h);
		mp_join(pool, pv, nx);
		mp_fix_next(h);
		pool->free -= nsz;
		pool->nfree--;
	}
}

error_t memory_pool_resize(void *old, size_t size, void **new_block)
{
	uintptr_t a = (uintptr_t)old;
	struct memory_pool_s *pool;
	struct mp_hdr *h, *n;
	size_t need, sz;
	void *p;
	error_t e;

	if (!old || !new_block)
		return ERR_INVAL;
	if (size == 0)
		return ERR_SIZE;
	if (a & (MP_ALIGN - 1))
		return ERR_MISALIGNED;
	h = mp_at(a - MP_HDR);
	if (!mp_sealed(h) && !mp_dead(h))
		return ERR_NOTOWNED;
	pool = h->pool;
	if (!pool || pool->alloc.model != &memory_pool_model)
		return ERR_NOTOWNED;
	e = mp_lookup(pool, a, &h);
	if (e)
		return e;
	if (size > pool->max_block - MP_HDR)
		return ERR_SIZE;
	need = mp_need(size);
	sz = mp_size(h);
	if (need <= sz) {
		mp_shrink(pool, h, need);
		*new_block = old;
		return 0;
	}
	n = mp_next(h);
	if (mp_is_free(n) && sz + mp_size(n) >= need) {
		mp_grow(pool, h, n, need);
		*new_block = old;
		return 0;
	}
	e = memory_pool_alloc(pool, size, &p);
	if (e)
		return e;
	memcpy(p, old, sz - MP_HDR);	/* the old payload is the smaller one here */
	mp_release(pool, h);
	*new_block = p;
	return 0;
}

error_t memory_pool_reserve(struct memory_pool_s *pool, void *start, size_t size)
{
	uintptr_t s = (uintptr_t)start, a, e, b;
	struct memory_pool_range_s *r;
	struct memory_pool_free_s *f;

	if (!pool)
		return ERR_INVAL;
	if (size == 0 || s + size < s || s + size + MP_ALIGN - 1 < s + size)
		return ERR_SIZE;
	a = s & ~(MP_ALIGN - 1);
	e = MP_ALIGN_UP(s + size);
	r = mp_range_of(pool, a);
	if (!r || e > r->limit)
		return ERR_NOTOWNED;
	if (a - r->first < MP_HDR)
		return ERR_OVERLAP;	/* the header would sit on the range header */
	b = a - MP_HDR;
	for (f = pool->free_head; f; f = f->next)
		if ((uintptr_t)f + mp_size(&f->h) > b)
			break;
	if (!f || (uintptr_t)f > b || (uintptr_t)f + mp_size(&f->h) < e)
		return ERR_OVERLAP;
	mp_take(pool, f, b, e - b, MP_USED | MP_RESV);
	return 0;
}

#define MP_BAD(...)                                                                                 \
	do {                                                                                        \
		if (why && len)                                                                     \
			snprintf(why, len, __VA_ARGS__);                                            \
		return ERR_CORRUPT;                                                                 \
	} while (0)

error_t memory_pool_check(struct memory_pool_s *pool, char *why, size_t len)
{
	struct memory_pool_range_s *r, *pr = NULL;
	struct memory_pool_free_s *f, *pf = NULL;
	size_t total = 0, freeb = 0, resv = 0, maxb = 0;
	unsigned nr = 0, nfree = 0, nused = 0, nresv = 0;

	if (!pool)
		return ERR_INVAL;
	if (why && len)
		why[0] = 0;
	if (pool->alloc.model != &memory_pool_model)
		MP_BAD("pool %p: model is %p, not memory_pool_model", (void *)pool,
		       (const void *)pool->alloc.model);
	f = pool->free_head;
	if (f && f->prev)
		MP_BAD("free list head %p has a prev link %p", (void *)f, (void *)f->prev);
	for (r = pool->ranges; r; pr = r, r = r->next) {
		uintptr_t b, prev_sz = 0;
		bool prev_free = false;

		if (++nr > pool->nranges)
			MP_BAD("range list longer than nranges %u", pool->nranges);
		if ((r->first | r->limit) & (MP_ALIGN - 1) || r->start > (uintptr_t)r ||
		    (uintptr_t)r + sizeof(*r) > r->first || r->first >= r->limit || r->limit > r->end)
			MP_BAD("range %p: bad bounds start %#lx first %#lx limit %#lx end %#lx", (void *)r,
			       (unsigned long)r->start, (unsigned long)r->first, (unsigned long)r->limit,
			       (unsigned long)r->end);
		if (pr && pr->end > r->start)
			MP_BAD("ranges %p and %p out of order or overlapping", (void *)pr, (void *)r);
		total += r->limit - r->first;
		if (r->limit - r->first > maxb)
			maxb = r->limit - r->first;
		for (b = r->first; b < r->limit;) {
			struct mp_hdr *h = mp_at(b);
			size_t sz = mp_size(h);

			if (!mp_sealed(h))
				MP_BAD("block %p: bad canary", (void *)h);
			if (h->pool != pool)
				MP_BAD("block %p: owner %p, not %p", (void *)h, (void *)h->pool, (void *)pool);
			if (sz < MP_MIN_BLOCK || sz > r->limit - b)
				MP_BAD("block %p: size %zu out of its range", (void *)h, sz);
			if (h->prev_size != prev_sz)
				MP_BAD("block %p: prev_size %zu, block below is %zu", (void *)h, h->prev_size,
				       (size_t)prev_sz);
			if (!(h->sizef & MP_LAST) != (b + sz != r->limit))
				MP_BAD("block %p: last flag wrong", (void *)h);
			if (h->sizef & (MP_FLAGS & ~(MP_USED | MP_LAST | MP_RESV)))
				MP_BAD("block %p: unknown flags %#zx", (void *)h, h->sizef & MP_FLAGS);
			if (!(h->sizef & MP_USED)) {
				if (h->sizef & MP_RESV)
					MP_BAD("block %p: free and reserved", (void *)h);
				if (prev_free)
					MP_BAD("free blocks %p and below not merged", (void *)h);
				if (mp_free_of(h) != f)
					MP_BAD("free block %p: free list has %p here (order or membership)",
					       (void *)h, (void *)f);
				if (f->prev != pf)
					MP_BAD("free block %p: prev link %p, expected %p", (void *)h,
					       (void *)f->prev, (void *)pf);
				pf = f;
				f = f->next;
				freeb += sz;
				nfree++;
			} else if (h->sizef & MP_RESV) {
				resv += sz;
				nresv++;
			} else {
				nused++;
			}
			prev_free = !(h->sizef & MP_USED);
			prev_sz = sz;
			b += sz;
		}
	}
	if (nr != pool->nranges)
		MP_BAD("%u ranges, nranges says %u", nr, pool->nranges);
	if (f)
		MP_BAD("free list entry %p is not a free block in order", (void *)f);
	if (total != pool->total || freeb != pool->free || resv != pool->reserved || maxb != pool->max_block)
		MP_BAD("bytes: total %zu/%zu free %zu/%zu reserved %zu/%zu max %zu/%zu (walk/counter)", total,
		       pool->total, freeb, pool->free, resv, pool->reserved, maxb, pool->max_block);
	if (nfree != pool->nfree || nused != pool->nused || nresv != pool->nreserved)
		MP_BAD("blocks: free %u/%u used %u/%u reserved %u/%u (walk/counter)", nfree, pool->nfree, nused,
		       pool->nused, nresv, pool->nreserved);
	return 0;
}

void memory_pool_get_stats(struct memory_pool_s *pool, struct memory_pool_stats *st)
{
	struct memory_pool_free_s *f;
	size_t largest = 0;
	unsigned n = 0;

	memset(st, 0, sizeof(*st));
	if (!pool)
		return;
	for (f = pool->free_head; f && n <= pool->nfree; f = f->next, n++)
		if (mp_size(&f->h) > largest)
			largest = mp_size(&f->h);
	st->total = pool->total;
	st->free = pool->free;
	st->reserved = pool->reserved;
	st->used = pool->total - pool->free - pool->reserved;
	st->largest_free = largest ? largest - MP_HDR : 0;
	st->nfree_blocks = pool->nfree;
	st->nused_blocks = pool->nused;
	st->nreserved_blocks = pool->nreserved;
}

static error_t mp_pop(struct alloc_pool_s *ap, size_t size, uintptr_t *retptr)
{
	void *p;
	error_t e = memory_pool_alloc(mp_of(ap), size, &p);

	if (!e)
		*retptr = (uintptr_t)p;
	return e;
}

static error_t mp_push(struct alloc_pool_s *ap, uintptr_t address)
{
	return memory_pool_free(mp_of(ap), (void *)address);
}

static error_t mp_getsize(struct alloc_pool_s *ap, uintptr_t ptr, size_t *size)
{
	return memory_pool_getsize(mp_of(ap), (void *)ptr, size);
}

static bool mp_owns(struct alloc_pool_s *ap, uintptr_t ptr)
{
	return memory_pool_owns(mp_of(ap), (void *)ptr);
}

const struct alloc_pool_model_s memory_pool_model = {
	.name = "memory_pool",
	.pop = mp_pop,
	.push = mp_push,
	.getsize = mp_getsize,
	.owns = mp_owns,
};
