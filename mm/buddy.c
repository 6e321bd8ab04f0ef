/* buddy.c - power-of-two buddy allocator over one span: a tag per 64-byte granule, lazy sections, LIFO lists. */
#include <stdarg.h>
#include <string.h>

#include "mm/buddy.h"
#include "mm/env.h"

/*
 * Index math and metadata.
 *
 * Blocks are naturally aligned in absolute addresses: a block of order k (2^k bytes, 6 <= k <= 40) starts
 * at a multiple of 2^k, so its buddy is a ^ 2^k and the block that would contain both is a & ~2^k. Two
 * such blocks are either disjoint or nested, so the only block that can contain granule a is one starting
 * at a & ~(2^k - 1) for some k: locate() tries those ~35 candidates and needs no other index.
 *
 * Tags. One byte per 64-byte granule describes the block whose HEAD is that granule:
 *	bit 7 TAG_HEAD  a block starts here          (0 = not a head: interior, reserved, or merged away)
 *	bit 6 TAG_FREE  the block is on a free list
 *	bits 0-5        its order
 * TAG_FREE without TAG_HEAD marks a CACHED block: allocated from the buddy's point of view but parked in a
 * per-hart cache of the layer above (buddy_mark_cached()). It is a head for locate() and buddy_check()
 * (counted as used), never mergeable, and freeing it here is a double free.
 * The tag of address a is tags[(a - org) >> 6], computed as tag_bias + (a >> 6) with tag_bias =
 * tags - (org >> 6) kept as an integer: one shift and one add. org is base rounded down to a section so
 * that sections are aligned in absolute addresses as well.
 *
 * Sections. Zeroing all tags at init would cost time proportional to RAM, so tags are initialised
 * lazily, a section at a time: 64 KiB of memory, 1 KiB of tags, one state byte each in secmap (the only
 * thing buddy_init() clears; byte (a >> 16) - (org >> 16), again through a bias: a byte rather than a bit
 * makes the test that every free needs a load and a branch). The states (BUDDY_SEC_* in buddy.h):
 *	0 SEC_NONE  uninitialised: no tag of the section is valid
 *	1 SEC_FULL  every tag is valid
 *	2 SEC_HEAD  head-only: the tag of its first granule is valid; every other one is 0 by definition
 *	            (never stored: its byte is stale, never trusted)
 * so the tag of address a is valid iff its section is SEC_FULL, or SEC_HEAD and a is section-aligned
 * (sec_ready(), buddy_section_ready()). Sections are aligned, so a block of order < 16 lies in one
 * section and a block of order >= 16 starts one and covers it whole: such a section needs no tag but its
 * head's. Making a head of order >= 16 in an uninitialised section (a right half of order >= 16 that a
 * split gives back, a large block buddy_add_range() carves) writes that one tag and sets SEC_HEAD, with no
 * memset (sec_head()). Making a head anywhere else in a section - a block below 16 that add_range carves,
 * the first half below 16 that a split makes inside a block of order >= 16, buddy_clear_tags() - first
 * makes it SEC_FULL (sec_fill(): its 1 KiB of tags zeroed, a head-only section's first one kept), so that
 * a block of order < 16 only ever lives in a SEC_FULL section (mm/mem.h's inline mem_free() relies on it:
 * it reads the tags of blocks of orders 6..12 without testing the section) and a SEC_HEAD section always
 * lies in one block of order >= 16, which starts there or earlier. A small split tests nothing: its halves
 * lie in its block's SEC_FULL section. A merge only tests the buddy's section for orders >= 16, where the
 * buddy is section-aligned and its tag valid in either initialised state. An address whose tag is not
 * valid is known to be no head at all, only inside a large free, allocated or reserved block (which
 * locate() finds from the heads of larger candidates, all section-aligned). Once initialised a section
 * stays so, and a full one full: merges clear the absorbed heads' tags, keeping "0 = not a head" true in
 * every initialised section. Heads are only ever made inside [base, end), so the tags of a full section
 * outside the span stay 0: below order 16 the buddy shares the block's section and one tag compare
 * decides a merge, with no bounds test. buddy_init_zeroed() clears the whole array once (1/64 of the
 * span): then no tag of a section that is not full was ever written but a head-only one's first, so
 * sec_fill() only sets the state, and the cost of a section's first split drops from the 1 KiB clear
 * (~300 instructions on rv64) to a store.
 *
 * Bad frees are classified by locate(): outside [base, end) ERR_NOTOWNED, not 64-aligned ERR_MISALIGNED,
 * in or at a free block ERR_DOUBLEFREE, inside an allocated block ERR_INTERIOR, and in reserved (never
 * added) memory also ERR_INTERIOR: buddy_owns() says the whole span is this heap's, so ERR_NOTOWNED is
 * kept for addresses a caller should have sent to another heap.
 *
 * Fast paths: buddy_order() finds the order of a request in a table (one 6-bit step first above 4 KiB),
 * buddy_try_alloc() pops an exact-order block, buddy_try_free() pushes a block whose buddy is not free
 * (its tag and its section's state tested in one compare).
 * They are inline in buddy.h, so that mm/heap.c runs lock, buddy and unlock in one frameless function
 * (a 4 KiB heap_alloc() + heap_free() pair is ~145 instructions on rv64gc, lock included; see
 * tests/programs/bench.c buddy_pair). Splitting, merging and every error leave through out-of-line calls
 * (buddy_alloc_split(), buddy_free_merge(), bad_free()).
 *
 * Metadata (buddy_meta_size()): secmap first (nsec bytes, padded to whole 8-byte words), then nsec * 1 KiB
 * of tags, then nsec * 16 page bytes: one byte per 4 KiB page that the buddy never reads and zeroes when
 * the page's section is first initialised (sec_pages_zero()), for the layer above (mm/slab.c marks the
 * pages of its slabs there; see buddy_page_byte()).
 *
 * Free lists: one circular doubly-linked list per order with its sentinel in struct buddy, nodes stored
 * in the free blocks themselves; push and pop at the front (LIFO), O(1) removal of a buddy. No summary
 * of which lists are non-empty is kept, so that push and pop update nothing else: a split finds the
 * smallest usable order by scanning the counts upwards (as Linux does), which costs it a few instructions
 * per order skipped, about what it pays for each order it then splits.
 */

#define GRAN_ORDER BUDDY_MIN_ORDER
#define GRAN ((uintptr_t)1 << GRAN_ORDER)
#define SEC_ORDER BUDDY_SECTION_ORDER
#define SEC_SIZE ((uintptr_t)1 << SEC_ORDER)
#define SEC_TAGS (SEC_SIZE >> GRAN_ORDER)
#define SEC_NONE BUDDY_SEC_NONE
#define SEC_FULL BUDDY_SEC_FULL
#define SEC_HEAD BUDDY_SEC_HEAD

#define TAG_HEAD 0x80u
#define TAG_FREE 0x40u
#define TAG_ORDER 0x3fu
#define TAG_FREE_HEAD (TAG_HEAD | TAG_FREE)

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Bit scans. Without Zbb (the kernel's rv64gc) __builtin_ctz/clz become libgcc calls, so there they use a
 * de Bruijn multiply instead: x ^ (x - 1) (lowest set bit and below) or x smeared right (highest set bit
 * and below) is a mask 2^(n+1) - 1, and (mask * DEBRUIJN) >> 58 is distinct for each n.
 */
#if (defined(__riscv) && !defined(__riscv_zbb)) || defined(BUDDY_SOFT_BITOPS)
#define DEBRUIJN 0x03f79d71b4cb0a89ull
static const uint8_t debruijn_index[64] = {
	0,  47, 1,  56, 48, 27, 2,  60, 57, 49, 41, 37, 28, 16, 3,  61,
	54, 58, 35, 52, 50, 42, 21, 44, 38, 32, 29, 23, 17, 11, 4,  62,
	46, 55, 26, 59, 40, 36, 15, 53, 34, 51, 20, 43, 31, 22, 10, 45,
	25, 39, 14, 33, 19, 30, 9,  24, 13, 18, 8,  12, 7,  6,  5,  63,
};

/* ctz64() - index of the lowest set bit of x != 0. */
static inline unsigned ctz64(uint64_t x)
{
	return debruijn_index[((x ^ (x - 1)) * DEBRUIJN) >> 58];
}

/* log2_64() - index of the highest set bit of x != 0. */
static inline unsigned log2_64(uint64_t x)
{
	x |= x >> 1;
	x |= x >> 2;
	x |= x >> 4;
	x |= x >> 8;
	x |= x >> 16;
	x |= x >> 32;
	return debruijn_index[(x * DEBRUIJN) >> 58];
}
#else
static inline unsigned ctz64(uint64_t x)
{
	return (unsigned)__builtin_ctzll(x);
}

static inline unsigned log2_64(uint64_t x)
{
	return 63 - (unsigned)__builtin_clzll(x);
}
#endif

static inline uintptr_t bit(unsigned long k)
{
	return (uintptr_t)1 << k;
}

static inline uint8_t *tag_of(const struct buddy *b, uintptr_t a)
{
	return (uint8_t *)(b->tag_bias + (a >> GRAN_ORDER));
}

static inline uint8_t *sec_of(const struct buddy *b, uintptr_t a)
{
	return (uint8_t *)(b->sec_bias + (a >> SEC_ORDER));
}

/* sec_state() - the state of a's section: SEC_NONE, SEC_FULL or SEC_HEAD. */
static inline unsigned sec_state(const struct buddy *b, uintptr_t a)
{
	return *sec_of(b, a);
}

/* sec_ready() - the tag of a is valid (its section is fully initialised, or head-only and a starts it). */
static inline bool sec_ready(const struct buddy *b, uintptr_t a)
{
	return buddy_section_ready(b, a);
}

/*
 * sec_pages_zero() - a section is initialised (head-only or full) for the first time: its page bytes
 * (BUDDY_SECTION_PAGES of them, one 8-byte-aligned group per section) become 0 as well, so that the layer
 * above reads 0 ("not mine") in every initialised section until it writes one. Called again when a
 * head-only section is filled: it holds no block below 64 KiB, so no page of it can be the layer's yet.
 */
static inline void sec_pages_zero(struct buddy *b, uintptr_t a)
{
	uint64_t *w = (uint64_t *)(b->pg_bias + ((a & ~(SEC_SIZE - 1)) >> BUDDY_PAGE_ORDER));
	unsigned i;

	for (i = 0; i < BUDDY_SECTION_PAGES / sizeof(uint64_t); i++)
		w[i] = 0;
}

/*
 * sec_head() - a head of order >= 16 is about to be made at a (section-aligned): an uninitialised section
 * becomes head-only, which the tag store that follows makes valid. Nothing else is written.
 */
static inline void sec_head(struct buddy *b, uintptr_t a)
{
	uint8_t *m = sec_of(b, a);

	if (*m == SEC_NONE) {
		sec_pages_zero(b, a);
		*m = SEC_HEAD;
	}
}

/*
 * sec_fill() - make every tag of a's section valid: an uninitialised section's all 0 ("not a head"), a
 * head-only section's all 0 but its first, which keeps its value. Needed before a head is made at any
 * granule but a section's first. The tags are zeroed by a loop of 8-byte stores, 64 bytes a turn (half
 * the instructions of newlib's memset, 16 bytes a turn); the asm keeps GCC from making it a memset call.
 */
static inline __attribute__((always_inline)) void sec_fill_now(struct buddy *b, uintptr_t a)
{
	uint8_t *m = sec_of(b, a), *t = tag_of(b, a & ~(SEC_SIZE - 1));
	uint8_t first = *m == SEC_HEAD ? *t : 0;
	uint64_t *w = __builtin_assume_aligned(t, sizeof(uint64_t)), *e = w + SEC_TAGS / sizeof(uint64_t);

	if (b->meta_zero) {	/* buddy_init_zeroed(): its tags and page bytes are 0, but a head-only first */
		*m = SEC_FULL;
		return;
	}
	for (; w < e; w += 8) {
		__asm__("" : "+r"(w));
		w[0] = 0;
		w[1] = 0;
		w[2] = 0;
		w[3] = 0;
		w[4] = 0;
		w[5] = 0;
		w[6] = 0;
		w[7] = 0;
	}
	*t = first;
	sec_pages_zero(b, a);
	*m = SEC_FULL;
}

/* sec_fill_slow() - sec_fill_now() out of line, for sec_fill() */
static __attribute__((noinline)) void sec_fill_slow(struct buddy *b, uintptr_t a)
{
	sec_fill_now(b, a);
}

static inline void sec_fill(struct buddy *b, uintptr_t a)
{
	if (sec_state(b, a) != SEC_FULL)
		sec_fill_slow(b, a);
}

static inline bool in_span(const struct buddy *b, uintptr_t a)
{
	return a - b->base < b->span;
}

/*
 * free_insert() - make the block [a, a + 2^order) free: merge it with its buddy while buddy_mergeable()
 * says so, then push the result. a's tag is valid (a's section is fully initialised if order < 16, at
 * least head-only if not); the caller has counted nothing yet. Inline (buddy_free_merge() is the caller
 * that matters). The loop carries the buddy offset m = 2^order and the tag a free head of this order
 * has, both stepped instead of recomputed. Every tag it writes is a's, its buddy's, or that of the
 * merged block's start (one of the two): below 16 in a's full section, from 16 up section-aligned.
 */
static inline __attribute__((always_inline)) void free_insert(struct buddy *b, uintptr_t a, unsigned long order)
{
	uintptr_t tb = b->tag_bias;	/* a local: the tag stores below could alias b->tag_bias */
	uint8_t *t = (uint8_t *)(tb + (a >> GRAN_ORDER));
	uintptr_t m = bit(order);
	unsigned long want = TAG_FREE_HEAD | order;

	for (;; m <<= 1, want++, order++) {
		uintptr_t bud = a ^ m;
		uint8_t *tbud = (uint8_t *)(tb + (bud >> GRAN_ORDER));
		struct buddy_node *n = (struct buddy_node *)bud;

		/* below 16 the buddy shares a's section: its tag decides (see buddy_mergeable()); from 16 up
		   it starts a section whose first tag is valid in either initialised state */
		if (order >= SEC_ORDER &&
		    (order >= BUDDY_MAX_ORDER || !in_span(b, bud) || sec_state(b, bud) == SEC_NONE))
			break;
		if (*tbud != want)
			break;
		*tbud = 0;
		*t = 0;
		n->prev->next = n->next;
		n->next->prev = n->prev;
		b->area[order].nfree--;
		if (bud < a)
			t = tbud;
		a &= ~m;
	}
	*t = (uint8_t)want;
	buddy_list_push(b, a, order);
}

/* alloc_done() - the block at n, off its list and split, becomes an allocated head of order */
static inline error_t alloc_done(struct buddy *b, uintptr_t n, unsigned long order, void **addr)
{
	*tag_of(b, n) = TAG_HEAD | order;
	b->allocs++;
	*addr = (void *)n;
	return 0;
}

/*
 * split_push() - the right half r of order k of a block being split becomes a free block. k is below the
 * order of the smallest free block (see buddy_alloc_split()), so its list is empty: r becomes its only
 * node.
 */
static inline void split_push(struct buddy *b, uintptr_t tb, uintptr_t r, unsigned long k)
{
	struct buddy_area *ar = &b->area[k];
	struct buddy_node *n = (struct buddy_node *)r;

	*(uint8_t *)(tb + (r >> GRAN_ORDER)) = TAG_FREE_HEAD | k;
	n->next = n->prev = &ar->list;
	ar->list.next = ar->list.prev = n;
	ar->nfree = 1;
}

/* push_any() - the right half r of order k of a block being split becomes a free block (list k may hold others) */
static inline void push_any(struct buddy *b, uintptr_t tb, uintptr_t r, unsigned long k)
{
	*(uint8_t *)(tb + (r >> GRAN_ORDER)) = TAG_FREE_HEAD | k;
	buddy_list_push(b, r, k);
}

/*
 * split_sections() - split block n of order k down to order 16 (or @order, if larger) from its low end: each
 * right half starts a section, and an uninitialised one becomes head-only, its one valid tag the half's.
 * @any: the lists may hold other blocks (push_any()), else they are empty (split_push()). Returns the
 * order reached.
 */
static inline __attribute__((always_inline)) unsigned long split_sections(struct buddy *b, uintptr_t tb, uintptr_t n,
									  unsigned long k, unsigned long order,
									  bool any)
{
	uintptr_t sb = b->sec_bias;	/* a local, like tb */

	for (; k > SEC_ORDER && k > order; k--) {
		uintptr_t r = n + bit(k - 1);
		uint8_t *m = (uint8_t *)(sb + (r >> SEC_ORDER));

		if (*m == SEC_NONE) {	/* sec_head() */
			sec_pages_zero(b, r);
			*m = SEC_HEAD;
		}
		if (any)
			push_any(b, tb, r, k - 1);
		else
			split_push(b, tb, r, k - 1);
	}
	return k;
}

/*
 * split_fill() - buddy_alloc_split() of a block a of order >= 16 has split it down to order 16 and goes on
 * below, inside a's section, which is not fully initialised (head-only): initialise it (its tags zeroed,
 * a's kept), then split on. Out of line: the common case does not carry the loop.
 */
static __attribute__((noinline)) error_t split_fill(struct buddy *b, uintptr_t a, unsigned long order, void **addr)
{
	uintptr_t tb = b->tag_bias;	/* a local: the tag stores could alias b->tag_bias */
	unsigned long k = SEC_ORDER;

	sec_fill_now(b, a);
	while (k > order) {
		uintptr_t r = a + bit(--k);

		split_push(b, tb, r, k);
	}
	return alloc_done(b, a, order, addr);
}

/*
 * buddy_alloc_split() - take the smallest free block of order >= order (the first non-empty list from
 * order up; normally buddy_try_alloc() has just found list order empty) and split it, giving back its
 * right halves k-1, k-2, ..., order. A half of order >= 16 starts a section: an uninitialised one becomes
 * head-only, its one valid tag the half's. A half below 16 lies in the block's own section: fully
 * initialised if the block had order < 16, else initialised by split_fill() when the split first goes
 * below 16, if it is head-only.
 */
error_t buddy_alloc_split(struct buddy *b, unsigned long order, void **addr)
{
	uintptr_t n, tb = b->tag_bias;	/* a local: the tag stores could alias b->tag_bias */
	unsigned long k;

	if (order > b->max_order) {
		b->failures++;
		return ERR_SIZE;
	}
	for (k = order; k <= b->max_order && !b->area[k].nfree; k++)
		;
	if (k > b->max_order) {
		b->failures++;
		return ERR_NOMEM;
	}
	n = (uintptr_t)buddy_list_pop(b, k);
	if (unlikely(k >= SEC_ORDER)) {
		k = split_sections(b, tb, n, k, order, false);
		if (k > order && sec_state(b, n) != SEC_FULL)
			return split_fill(b, n, order, addr);
	}
	while (k > order) {
		uintptr_t r = n + bit(k - 1);

		split_push(b, tb, r, --k);
	}
	return alloc_done(b, n, order, addr);
}


/*
 * buddy_alloc_below(): the smallest free block whose first 2^order bytes end at or below @limit, split down
 * from its low end as buddy_alloc_split() does, except that the lists below may hold blocks (above the
 * limit), so halves are pushed onto them, not made their only node. A walk of the free lists: O(free
 * blocks of the orders it looks at), for the rare request that must lie below an address.
 */
error_t buddy_alloc_below(struct buddy *b, size_t size, uintptr_t limit, void **addr)
{
	uintptr_t n = 0, tb = b->tag_bias;
	unsigned long order, k;
	struct buddy_node *p = NULL;

	if (unlikely((uint64_t)size - 1 >= bit(BUDDY_MAX_ORDER)) || (order = buddy_order(size)) > b->max_order) {
		b->failures++;
		return ERR_SIZE;
	}
	for (k = order; k <= b->max_order && !n; k++)
		for (p = b->area[k].list.next; p != &b->area[k].list; p = p->next)
			if ((uintptr_t)p < limit && limit - (uintptr_t)p >= bit(order)) {
				n = (uintptr_t)p;
				break;
			}
	if (!n) {
		b->failures++;
		return ERR_NOMEM;
	}
	k--;
	p->prev->next = p->next;
	p->next->prev = p->prev;
	b->area[k].nfree--;
	if (k >= SEC_ORDER) {
		k = split_sections(b, tb, n, k, order, true);
		if (k > order && sec_state(b, n) != SEC_FULL)
			sec_fill_now(b, n);
	}
	while (k > order) {
		uintptr_t r = n + bit(k - 1);

		push_any(b, tb, r, --k);
	}
	return alloc_done(b, n, order, addr);
}

/* alloc_order() - buddy_try_alloc(), else split a larger block (order <= BUDDY_MAX_ORDER). */
static inline error_t alloc_order(struct buddy *b, unsigned long order, void **addr)
{
	void *n = buddy_try_alloc(b, order);

	if (unlikely(!n))
		return buddy_alloc_split(b, order, addr);
	*addr = n;
	return 0;
}

/*
 * locate() - the block (free or allocated) containing the granule at a (64-aligned, in the span): its head
 * and tag. False if a is in reserved memory. See the index math above: the candidates are a rounded down
 * to each order; the first head met either contains a or proves that no block does. Where a's tag is not
 * valid (an uninitialised section, or a head-only one that a does not start) no block starts below its
 * section's start, so the candidates begin at order 16; those are section-aligned, valid in either
 * initialised state.
 */
static bool locate(const struct buddy *b, uintptr_t a, uintptr_t *head, uint8_t *tag)
{
	unsigned long k = sec_ready(b, a) ? GRAN_ORDER : SEC_ORDER;

	for (; k <= BUDDY_MAX_ORDER; k++) {
		uintptr_t p = a & ~(bit(k) - 1);
		uint8_t t;

		if (p < b->base)
			return false;
		if (k >= SEC_ORDER && !sec_ready(b, p))
			continue;
		t = *tag_of(b, p);
		if (!(t & TAG_FREE_HEAD))
			continue;
		if (a - p >= bit(t & TAG_ORDER))
			return false;
		*head = p;
		*tag = t;
		return true;
	}
	return false;
}

/* classify() - why a is not a valid allocated head (0 if it is); *head = 0 when a is in reserved memory. */
static error_t classify(const struct buddy *b, uintptr_t a, uintptr_t *head, unsigned *order)
{
	uint8_t t;

	*head = 0;
	*order = 0;
	if (!in_span(b, a))
		return ERR_NOTOWNED;
	if (a & (GRAN - 1))
		return ERR_MISALIGNED;
	if (!locate(b, a, head, &t))
		return ERR_INTERIOR;
	*order = t & TAG_ORDER;
	if ((t & TAG_FREE_HEAD) == TAG_FREE)	/* cached: live for us, free for its owner */
		return *head == a ? ERR_DOUBLEFREE : ERR_INTERIOR;
	if (t & TAG_FREE)
		return ERR_DOUBLEFREE;
	return *head == a ? 0 : ERR_INTERIOR;
}

static __attribute__((noinline, cold)) error_t bad_free(struct buddy *b, uintptr_t a)
{
	uintptr_t head;
	unsigned order;
	error_t e;

	if (!a)
		return 0;
	e = classify(b, a, &head, &order);
	switch (e) {
	case ERR_NOTOWNED:
		mm_log("buddy: free 0x%lx: ERR_NOTOWNED: outside heap [0x%lx, 0x%lx)", (unsigned long)a,
		       (unsigned long)b->base, (unsigned long)b->end);
		break;
	case ERR_MISALIGNED:
		mm_log("buddy: free 0x%lx: ERR_MISALIGNED: not aligned to %lu bytes", (unsigned long)a,
		       (unsigned long)GRAN);
		break;
	case ERR_INTERIOR:
		if (head)
			mm_log("buddy: free 0x%lx: ERR_INTERIOR: address inside block 0x%lx (order %u)",
			       (unsigned long)a, (unsigned long)head, order);
		else
			mm_log("buddy: free 0x%lx: ERR_INTERIOR: address in reserved memory (never added)",
			       (unsigned long)a);
		break;
	case ERR_DOUBLEFREE:
		if (head == a)
			mm_log("buddy: free 0x%lx: ERR_DOUBLEFREE: block already free (order %u)", (unsigned long)a,
			       order);
		else
			mm_log("buddy: free 0x%lx: ERR_DOUBLEFREE: address inside free block 0x%lx (order %u)",
			       (unsigned long)a, (unsigned long)head, order);
		break;
	default:
		MM_PANIC("0x%lx is an allocated head but its tag or section says otherwise", (unsigned long)a);
	}
	b->bad_frees++;
	return e;
}

error_t buddy_free_merge(struct buddy *b, uintptr_t a)
{
	free_insert(b, a, *tag_of(b, a) & TAG_ORDER);
	b->frees++;
	return 0;
}

/* The span as buddy_init() lays it out; false if it holds no whole granule. */
struct geom {
	uintptr_t base, end, org;
	size_t nsec, nsecw, meta;
};

static bool geom(uintptr_t base, uintptr_t end, struct geom *g)
{
	if (base > UINTPTR_MAX - (GRAN - 1))
		return false;
	g->base = (base + GRAN - 1) & ~(GRAN - 1);
	if (!g->base)
		g->base = GRAN;
	g->end = end & ~(GRAN - 1);
	if (g->end <= g->base)
		return false;
	g->org = g->base & ~(SEC_SIZE - 1);
	g->nsec = ((g->end - 1 - g->org) >> SEC_ORDER) + 1;
	g->nsecw = (g->nsec + sizeof(uint64_t) - 1) / sizeof(uint64_t);
	g->meta = g->nsecw * sizeof(uint64_t) + g->nsec * SEC_TAGS + g->nsec * BUDDY_SECTION_PAGES;
	return true;
}

size_t buddy_meta_size(uintptr_t base, uintptr_t end)
{
	struct geom g;

	return geom(base, end, &g) ? g.meta : 0;
}

error_t buddy_init(struct buddy *b, uintptr_t base, uintptr_t end, void *meta, size_t meta_size)
{
	struct geom g;
	unsigned k;

	if (!b || !meta || ((uintptr_t)meta & (sizeof(uint64_t) - 1)))
		return ERR_INVAL;
	if (!geom(base, end, &g))
		return ERR_RANGE;
	if (meta_size < g.meta)
		return ERR_INVAL;
	memset(b, 0, sizeof(*b));
	b->base = g.base;
	b->end = g.end;
	b->span = g.end - g.base;
	b->raw_base = base;
	b->raw_end = end;
	b->org = g.org;
	b->secmap = meta;
	b->nsecw = g.nsecw;
	b->nsec = g.nsec;
	b->tags = (uint8_t *)meta + g.nsecw * sizeof(uint64_t);
	b->tag_bias = (uintptr_t)b->tags - (g.org >> GRAN_ORDER);
	b->sec_bias = (uintptr_t)b->secmap - (g.org >> SEC_ORDER);
	b->pg_bias = (uintptr_t)(b->tags + g.nsec * SEC_TAGS) - (g.org >> BUDDY_PAGE_ORDER);
	memset(b->secmap, 0, g.nsecw * sizeof(uint64_t));
	for (k = 0; k <= BUDDY_MAX_ORDER; k++)
		b->area[k].list.next = b->area[k].list.prev = &b->area[k].list;
	/* the largest order with an aligned block inside [base, end); order 6 always fits */
	for (k = BUDDY_MAX_ORDER; k > GRAN_ORDER; k--) {
		uintptr_t a = (g.base + bit(k) - 1) & ~(bit(k) - 1);

		if (a >= g.base && a < g.end && g.end - a >= bit(k))
			break;
	}
	b->max_order = k;
	return 0;
}

error_t buddy_init_zeroed(struct buddy *b, uintptr_t base, uintptr_t end, void *meta, size_t meta_size)
{
	error_t e = buddy_init(b, base, end, meta, meta_size);

	if (!e) {
		memset(meta, 0, meta_size);
		b->meta_zero = true;
	}
	return e;
}

/* first_nonzero() - index of the first non-zero byte of p[0..n), or n. */
static size_t first_nonzero(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && ((uintptr_t)(p + i) & 7))
		if (p[i++])
			return i - 1;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		__builtin_memcpy(&w, __builtin_assume_aligned(p + i, 8), 8);	/* one ld, even freestanding */
		if (w)
			break;
	}
	for (; i < n; i++)
		if (p[i])
			return i;
	return n;
}

/*
 * next_head() - the lowest head in [s, e) (64-aligned, in the span), skipping uninitialised sections and
 * all of a head-only section but its first tag.
 */
static bool next_head(const struct buddy *b, uintptr_t s, uintptr_t e, uintptr_t *head)
{
	while (s < e) {
		uintptr_t lim = (s | (SEC_SIZE - 1)) + 1;
		unsigned st = sec_state(b, s);

		if (st == SEC_NONE) {
			/* on to the next initialised section, if any */
			size_t i = (s - b->org) >> SEC_ORDER, n = b->nsec - i, j = first_nonzero(b->secmap + i, n);

			if (j == n)
				break;
			lim = b->org + ((i + j) << SEC_ORDER);
		} else if (st == SEC_HEAD) {
			/* its only head, if any, is its first granule */
			if (!(s & (SEC_SIZE - 1)) && *tag_of(b, s)) {
				*head = s;
				return true;
			}
		} else {
			size_t n, i;

			if (lim > e || !lim)
				lim = e;
			n = (lim - s) >> GRAN_ORDER;
			i = first_nonzero(tag_of(b, s), n);
			if (i < n) {
				*head = s + (i << GRAN_ORDER);
				return true;
			}
		}
		if (lim <= s)
			break;
		s = lim;
	}
	return false;
}

void buddy_clear_tags(struct buddy *b, uintptr_t start, uintptr_t end)
{
	uintptr_t lim = b->org + (b->nsec << SEC_ORDER), a;

	if (start < b->org)
		start = b->org;
	if (end > lim)
		end = lim;
	for (a = start & ~(SEC_SIZE - 1); start < end && a < end; a += SEC_SIZE)
		sec_fill(b, a);
}

error_t buddy_add_range(struct buddy *b, uintptr_t start, uintptr_t end)
{
	uintptr_t s, e, pos, h;
	uint8_t t = 0;
	bool hit;

	if (start > end || start < b->raw_base || end > b->raw_end)
		return ERR_RANGE;
	if (start > UINTPTR_MAX - (GRAN - 1))
		return 0;
	s = (start + GRAN - 1) & ~(GRAN - 1);
	e = end & ~(GRAN - 1);
	if (s < b->base)
		s = b->base;
	if (e > b->end)
		e = b->end;
	if (s >= e)
		return 0;
	hit = locate(b, s, &h, &t);
	if (!hit && next_head(b, s, e, &h)) {
		t = *tag_of(b, h);
		hit = true;
	}
	if (hit) {
		mm_log("buddy: add_range [0x%lx, 0x%lx): ERR_OVERLAP: %s block 0x%lx (order %u)",
		       (unsigned long)start, (unsigned long)end, (t & TAG_FREE) ? "free" : "allocated",
		       (unsigned long)h, t & TAG_ORDER);
		return ERR_OVERLAP;
	}
	for (pos = s; pos < e;) {
		unsigned k = ctz64(pos);
		unsigned fit = log2_64(e - pos);

		if (k > fit)
			k = fit;
		if (k > BUDDY_MAX_ORDER)
			k = BUDDY_MAX_ORDER;
		/* a block of order >= 16 starts its section and needs only its first tag */
		if (k >= SEC_ORDER)
			sec_head(b, pos);
		else
			sec_fill(b, pos);
		free_insert(b, pos, k);
		pos += bit(k);
		if (!pos)
			break;
	}
	b->added += e - s;
	return 0;
}

/* buddy_order_small[(size - 1) >> 6] = order of a request of 1..4096 bytes (see buddy_order()). */
const uint8_t buddy_order_small[64] = {
	6,  7,  8,  8,  9,  9,  9,  9,  10, 10, 10, 10, 10, 10, 10, 10,
	11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
};

error_t buddy_alloc(struct buddy *b, size_t size, void **addr)
{
	/* size 0 wraps around and fails like a size above 2^40 */
	if (unlikely((uint64_t)size - 1 >= bit(BUDDY_MAX_ORDER))) {
		b->failures++;
		return ERR_SIZE;
	}
	return alloc_order(b, buddy_order(size), addr);
}

error_t buddy_alloc_order(struct buddy *b, unsigned order, void **addr)
{
	if (order < GRAN_ORDER)
		order = GRAN_ORDER;
	if (unlikely(order > BUDDY_MAX_ORDER))
		return buddy_alloc_split(b, order, addr);
	return alloc_order(b, order, addr);
}

/*
 * buddy_alloc_bulk(): exact-order blocks first (what buddy_try_alloc() pops); when that list is empty, one
 * block of order + j, with 2^j the largest power of two not above what is still wanted, is taken whole
 * (the smallest free block of an order in between) or split off a larger one, and carved: a head tag
 * HEAD | order at each of its 2^(order + j - order) blocks. Its interior tags are already 0 (merges clear
 * absorbed heads), so the carved blocks are exactly what as many single allocations would have made,
 * with one list operation instead of 2^j. order + j stays below a section, so all the tags it writes lie
 * in the block's own section, which is fully initialised: a block below order 16 lives in no other kind
 * (buddy_alloc_split() sees to it). For order >= 16, j = 0: the one tag written is a block's first.
 */
unsigned buddy_alloc_bulk(struct buddy *b, unsigned long order, void **out, unsigned n)
{
	uintptr_t tb = b->tag_bias;
	unsigned got = 0;

	if (order < GRAN_ORDER || order > b->max_order)
		return 0;
	while (got < n) {
		void *p = buddy_try_alloc(b, order);
		unsigned long j, k;
		uintptr_t a, i, cnt;

		if (p) {
			out[got++] = p;
			continue;
		}
		j = log2_64(n - got);
		if (order + j >= SEC_ORDER)
			j = order < SEC_ORDER ? SEC_ORDER - 1 - order : 0;
		if (order + j > b->max_order)
			j = b->max_order - order;
		for (k = order + 1; k <= order + j && !b->area[k].nfree; k++)
			;
		if (k <= order + j) {
			a = (uintptr_t)buddy_list_pop(b, k);
			b->allocs++;
		} else {
			if (buddy_alloc_split(b, order + j, &p))
				break;
			a = (uintptr_t)p;
			k = order + j;
		}
		cnt = bit(k - order);
		for (i = 0; i < cnt; i++) {
			uintptr_t q = a + (i << order);

			*(uint8_t *)(tb + (q >> GRAN_ORDER)) = (uint8_t)(TAG_HEAD | order);
			out[got++] = (void *)q;
		}
		b->allocs += cnt - 1;
	}
	return got;
}

error_t buddy_trim(struct buddy *b, void *addr, size_t keep, bool take)
{
	uintptr_t a = (uintptr_t)addr, tb, off = 0;
	unsigned long order, k;
	uint8_t tag, kept = take ? TAG_FREE : TAG_HEAD;

	if (!in_span(b, a) || (a & (bit(BUDDY_PAGE_ORDER + 1) - 1)) || !sec_ready(b, a))
		return ERR_INVAL;
	tag = *tag_of(b, a);
	order = tag & TAG_ORDER;
	if ((tag & TAG_FREE_HEAD) != TAG_HEAD || order <= BUDDY_PAGE_ORDER || order > SEC_ORDER || !keep ||
	    keep >= bit(order) || (keep & (bit(BUDDY_PAGE_ORDER) - 1)))
		return ERR_INVAL;
	if (order == SEC_ORDER)
		sec_fill(b, a);	/* heads below 16 inside it: every tag of its section valid (a's kept) */
	tb = b->tag_bias;
	/*
	 * [a + off, a + off + 2^(k+1)) is the part still to split: its left half [off, mid) is kept whole if
	 * keep reaches mid (then the right half is split on, or free if keep ends at mid), else the right
	 * half is free and the left one is split on. The interior tags of an allocated block are 0, so each
	 * head made is one store.
	 */
	for (k = order; k-- > BUDDY_PAGE_ORDER - 1;) {
		uintptr_t mid = off + bit(k);

		if (keep >= mid) {
			*(uint8_t *)(tb + ((a + off) >> GRAN_ORDER)) = (uint8_t)(kept | k);
			off = mid;
			if (keep == mid) {
				push_any(b, tb, a + mid, k);
				break;
			}
		} else {
			push_any(b, tb, a + mid, k);
		}
	}
	return 0;
}

error_t buddy_free(struct buddy *b, void *addr)
{
	uintptr_t a = (uintptr_t)addr;

	/* NULL and foreign addresses, like every other bad one, end in bad_free() */
	if (unlikely(!in_span(b, a)))
		return bad_free(b, a);
	switch (buddy_try_free(b, a)) {
	case BUDDY_TRY_FREED:
		return 0;
	case BUDDY_TRY_MERGE:
		return buddy_free_merge(b, a);
	default:
		return bad_free(b, a);
	}
}

error_t buddy_getsize(const struct buddy *b, const void *addr, size_t *size)
{
	uintptr_t a = (uintptr_t)addr, head;
	unsigned order;
	error_t e;

	if (likely(in_span(b, a) && !(a & (GRAN - 1)) && sec_ready(b, a))) {
		uint8_t t = *tag_of(b, a);

		if ((t & TAG_FREE_HEAD) == TAG_HEAD) {
			*size = bit(t & TAG_ORDER);
			return 0;
		}
	}
	e = classify(b, a, &head, &order);
	if (!e)
		MM_PANIC("0x%lx is an allocated head but its tag or section says otherwise", (unsigned long)a);
	return e;
}

bool buddy_owns(const struct buddy *b, const void *addr)
{
	return in_span(b, (uintptr_t)addr);
}

void buddy_get_stats(const struct buddy *b, struct buddy_stats *st)
{
	uint64_t free = 0;
	unsigned k;

	for (k = 0; k <= BUDDY_MAX_ORDER; k++) {
		st->nfree[k] = b->area[k].nfree;
		free += b->area[k].nfree << k;
	}
	st->free_bytes = free;
	st->used_bytes = b->added - free;
	st->reserved_bytes = b->span - b->added;
	st->largest_free = 0;
	for (k = BUDDY_MAX_ORDER + 1; k-- > 0;)
		if (b->area[k].nfree) {
			st->largest_free = (uint64_t)1 << k;
			break;
		}
	st->allocs = b->allocs;
	st->frees = b->frees;
	st->failures = b->failures;
	st->bad_frees = b->bad_frees;
}

/*
 * why_fmt() - a tiny vsnprintf for buddy_check()'s messages (mm/ takes nothing from stdio): %s, %u, %lu,
 * %lx, always NUL-terminated, truncated to len.
 */
static void why_fmt(char *buf, size_t len, const char *fmt, va_list ap)
{
	size_t n = 0;

#define WHY_PUT(c)                                                                                          \
	do {                                                                                                \
		char c_ = (c);	/* evaluated once, even when the buffer is full */                          \
                                                                                                            \
		if (n + 1 < len)                                                                            \
			buf[n] = c_;                                                                        \
		n++;                                                                                        \
	} while (0)
	for (; *fmt; fmt++) {
		bool lng = false;

		if (*fmt != '%') {
			WHY_PUT(*fmt);
			continue;
		}
		if (fmt[1] == 'l') {
			lng = true;
			fmt++;
		}
		fmt++;
		if (*fmt == 's') {
			const char *s = va_arg(ap, const char *);

			while (*s)
				WHY_PUT(*s++);
		} else if (*fmt == 'u' || *fmt == 'x') {
			unsigned long v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			unsigned radix = *fmt == 'x' ? 16 : 10;
			char tmp[24];
			int i = 0;

			do {
				tmp[i++] = "0123456789abcdef"[v % radix];
				v /= radix;
			} while (v);
			while (i)
				WHY_PUT(tmp[--i]);
		} else if (*fmt) {
			WHY_PUT(*fmt);
		} else {
			break;
		}
	}
#undef WHY_PUT
	if (len)
		buf[n < len ? n : len - 1] = 0;
}

static __attribute__((format(printf, 3, 4))) error_t corrupt(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		why_fmt(why, len, fmt, ap);
		va_end(ap);
	}
	return ERR_CORRUPT;
}

/* check_lists() - every free list against its tags, links and count; *free = their bytes. */
static error_t check_lists(const struct buddy *b, char *why, size_t len, uint64_t *free)
{
	unsigned k;

	*free = 0;
	for (k = 0; k <= BUDDY_MAX_ORDER; k++) {
		const struct buddy_node *h = &b->area[k].list, *prev = h, *n;
		uint64_t count = 0, limit = (b->span >> k) + 1;

		for (n = h->next; n != h; prev = n, n = n->next, count++) {
			uintptr_t a = (uintptr_t)n, bud = a ^ bit(k);

			if (k < GRAN_ORDER)
				return corrupt(why, len, "free list %u below the minimum order is not empty", k);
			if (count >= limit)
				return corrupt(why, len, "free list %u: more than %lu entries (cycle?)", k,
					       (unsigned long)limit);
			if (!in_span(b, a) || b->end - a < bit(k))
				return corrupt(why, len, "free list %u: block 0x%lx not inside [0x%lx, 0x%lx)", k,
					       (unsigned long)a, (unsigned long)b->base, (unsigned long)b->end);
			if (a & (bit(k) - 1))
				return corrupt(why, len, "free list %u: block 0x%lx not aligned to its size", k,
					       (unsigned long)a);
			if (!sec_ready(b, a))
				return corrupt(why, len, "free list %u: block 0x%lx in an uninitialised section", k,
					       (unsigned long)a);
			if (k < SEC_ORDER && sec_state(b, a) != SEC_FULL)
				return corrupt(why, len, "free list %u: block 0x%lx in a head-only section", k,
					       (unsigned long)a);
			if (*tag_of(b, a) != (TAG_FREE_HEAD | k))
				return corrupt(why, len, "free list %u: block 0x%lx has tag 0x%x, not a free head", k,
					       (unsigned long)a, *tag_of(b, a));
			if (n->prev != prev)
				return corrupt(why, len, "free list %u: block 0x%lx: prev 0x%lx, expected 0x%lx", k,
					       (unsigned long)a, (unsigned long)n->prev, (unsigned long)prev);
			if (k < BUDDY_MAX_ORDER && in_span(b, bud) &&
			    (k < SEC_ORDER || sec_state(b, bud) != SEC_NONE) && *tag_of(b, bud) == (TAG_FREE_HEAD | k))
				return corrupt(why, len, "free blocks 0x%lx and 0x%lx are unmerged buddies (order %u)",
					       (unsigned long)a, (unsigned long)bud, k);
		}
		if (h->prev != prev)
			return corrupt(why, len, "free list %u: sentinel prev 0x%lx, expected 0x%lx", k,
				       (unsigned long)h->prev, (unsigned long)prev);
		if (count != b->area[k].nfree)
			return corrupt(why, len, "free list %u holds %lu blocks, nfree says %lu", k,
				       (unsigned long)count, (unsigned long)b->area[k].nfree);
		*free += count << k;
	}
	return 0;
}

/*
 * check_heads() - walk every head of every initialised section in address order (a head-only section has
 * one tag to look at, its first): valid tags, aligned, inside the span, no overlap; count free heads per
 * order and sum the allocated ones. A head-only section lies in one block of order >= 16: it starts
 * there or in an earlier section.
 */
static error_t check_heads(const struct buddy *b, char *why, size_t len, uint64_t *nfree, uint64_t *used)
{
	uintptr_t cursor = b->base, last = 0;
	size_t i;

	*used = 0;
	for (i = 0; i < b->nsec; i++) {
		uintptr_t x = b->org + (i << SEC_ORDER);
		const uint8_t *tags = tag_of(b, x);
		unsigned st = sec_state(b, x);
		size_t j, ntags = SEC_TAGS;

		if (st == SEC_NONE)
			continue;
		if (st == SEC_HEAD) {
			if (tags[0] && (tags[0] & TAG_ORDER) < SEC_ORDER)
				return corrupt(why, len, "head 0x%lx (order %u) in a head-only section",
					       (unsigned long)x, tags[0] & TAG_ORDER);
			if (!tags[0] && x >= cursor)
				return corrupt(why, len, "head-only section 0x%lx lies in no block", (unsigned long)x);
			ntags = 1;
		} else if (st != SEC_FULL) {
			return corrupt(why, len, "section 0x%lx has state %u", (unsigned long)x, st);
		}
		for (j = first_nonzero(tags, ntags); j < ntags; j += 1 + first_nonzero(tags + j + 1, ntags - j - 1)) {
			uintptr_t h = x + (j << GRAN_ORDER);
			uint8_t t = tags[j];
			unsigned o = t & TAG_ORDER;

			if (!(t & TAG_FREE_HEAD))
				return corrupt(why, len, "tag 0x%x at 0x%lx has no head bit", t, (unsigned long)h);
			if (o < GRAN_ORDER || o > BUDDY_MAX_ORDER)
				return corrupt(why, len, "head 0x%lx has order %u", (unsigned long)h, o);
			if (!in_span(b, h) || b->end - h < bit(o))
				return corrupt(why, len, "block 0x%lx (order %u) not inside [0x%lx, 0x%lx)",
					       (unsigned long)h, o, (unsigned long)b->base, (unsigned long)b->end);
			if (h & (bit(o) - 1))
				return corrupt(why, len, "block 0x%lx (order %u) not aligned to its size",
					       (unsigned long)h, o);
			if (h < cursor)
				return corrupt(why, len, "block 0x%lx (order %u) overlaps block 0x%lx",
					       (unsigned long)h, o, (unsigned long)last);
			cursor = h + bit(o);
			last = h;
			if ((t & TAG_FREE_HEAD) == TAG_FREE_HEAD)
				nfree[o]++;
			else
				*used += bit(o);	/* allocated or cached */
		}
	}
	return 0;
}

error_t buddy_check(const struct buddy *b, char *why, size_t whylen)
{
	uint64_t free, used, nfree[BUDDY_MAX_ORDER + 1] = { 0 };
	unsigned k;
	error_t e;

	e = check_lists(b, why, whylen, &free);
	if (e)
		return e;
	e = check_heads(b, why, whylen, nfree, &used);
	if (e)
		return e;
	for (k = 0; k <= BUDDY_MAX_ORDER; k++)
		if (nfree[k] != b->area[k].nfree)
			return corrupt(why, whylen, "%lu free heads of order %u in the tags, %lu on the list",
				       (unsigned long)nfree[k], k, (unsigned long)b->area[k].nfree);
	if (b->added > b->span)
		return corrupt(why, whylen, "added %lu bytes to a span of %lu", (unsigned long)b->added,
			       (unsigned long)b->span);
	if (free + used != b->added)
		return corrupt(why, whylen, "free %lu + used %lu + reserved %lu != span %lu", (unsigned long)free,
			       (unsigned long)used, (unsigned long)(b->span - b->added), (unsigned long)b->span);
	corrupt(why, whylen, "ok");
	return 0;
}
