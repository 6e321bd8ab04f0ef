/* buddy.h - a lock-free power-of-two buddy allocator over one contiguous span (the caller does the locking). */
#ifndef MM_BUDDY_H
#define MM_BUDDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/err.h"

#define BUDDY_MIN_ORDER 6		/* smallest block and granule: 64 bytes */
#define BUDDY_MAX_ORDER 40		/* largest block order a span may hold (1 TiB) */
#define BUDDY_MIN_BLOCK_SIZE (1ul << BUDDY_MIN_ORDER)
#define BUDDY_SECTION_ORDER 16		/* tags are initialised lazily, 64 KiB of memory (1 KiB of tags) at a time */
#define BUDDY_SECTION_SIZE (1ul << BUDDY_SECTION_ORDER)
#define BUDDY_PAGE_ORDER 12		/* page bytes (buddy_page_byte()): one per 4 KiB */
#define BUDDY_PAGE_SIZE (1ul << BUDDY_PAGE_ORDER)
#define BUDDY_SECTION_PAGES (BUDDY_SECTION_SIZE >> BUDDY_PAGE_ORDER)

/* The state of a section, its byte in the section map (see the top of mm/buddy.c). */
#define BUDDY_SEC_NONE 0		/* uninitialised: no tag of the section is valid */
#define BUDDY_SEC_FULL 1		/* every tag of the section is valid */
#define BUDDY_SEC_HEAD 2		/* head-only: only its first granule's tag is valid, the rest count as 0 */

/* A free block's first 16 bytes: its links on the free list of its order (circular, sentinel in struct buddy). */
struct buddy_node {
	struct buddy_node *next;
	struct buddy_node *prev;
};

/* The free blocks of one order: list sentinel and count side by side (32 bytes: one shift indexes it). */
struct buddy_area {
	struct buddy_node list;
	uint64_t nfree;
	uint64_t unused;
};

/*
 * One heap. Callers embed it and treat every field as private; read it through buddy_get_stats(). It holds
 * the free-list sentinels, so it must not be moved or copied after buddy_init().
 */
struct buddy {
	struct buddy_area area[BUDDY_MAX_ORDER + 1]; /* first: &area[k].list is b + 32 * k */
	uintptr_t base;			/* usable span [base, end): the caller's span rounded inwards to 64 bytes */
	uintptr_t end;
	uintptr_t span;			/* end - base */
	uintptr_t raw_base;		/* the span as the caller gave it (add_range checks against it) */
	uintptr_t raw_end;
	uintptr_t org;			/* base rounded down to a section: tag 0 and section 0 describe org */
	uintptr_t tag_bias;		/* (uintptr_t)tags - (org >> 6): the tag of addr a is at tag_bias + (a >> 6) */
	uintptr_t sec_bias;		/* (uintptr_t)secmap - (org >> 16): the secmap byte of a is at
					   sec_bias + (a >> 16) */
	uintptr_t pg_bias;		/* page bytes - (org >> 12): the page byte of a is at pg_bias + (a >> 12) */
	uint8_t *tags;			/* one tag per granule of the sections [org, org + nsec * 64 KiB) */
	uint8_t *secmap;		/* 1 byte per section: its state, BUDDY_SEC_NONE, _FULL or _HEAD */
	size_t nsec;
	size_t nsecw;			/* secmap's size in 8-byte words (the tags follow it) */
	unsigned max_order;		/* largest order a block in [base, end) can have */
	uint64_t added;			/* bytes made free by buddy_add_range() (free + used) */
	uint64_t allocs, frees, failures, bad_frees;
	bool meta_zero;			/* buddy_init_zeroed(): a section's tags are 0 before it is initialised */
};

struct buddy_stats {
	uint64_t free_bytes;		/* in free blocks */
	uint64_t used_bytes;		/* in allocated blocks (whole blocks: a 100-byte request uses 128) */
	uint64_t reserved_bytes;	/* never added: free + used + reserved = end - base */
	uint64_t largest_free;		/* size of the largest free block, 0 if none */
	uint64_t nfree[BUDDY_MAX_ORDER + 1]; /* free blocks of each order */
	uint64_t allocs;		/* successful allocations */
	uint64_t frees;			/* successful frees (not counting free(NULL)) */
	uint64_t failures;		/* failed allocations (ERR_SIZE, ERR_NOMEM) */
	uint64_t bad_frees;		/* frees refused (ERR_NOTOWNED, ERR_MISALIGNED, ERR_INTERIOR, ERR_DOUBLEFREE) */
};

/**
 * buddy_meta_size() - bytes of metadata buddy_init() needs for a span.
 * @base: first byte of the span (any alignment)
 * @end: one past its last byte
 *
 * One tag byte per 64-byte granule of every 64 KiB section the span touches plus one state byte per
 * section (rounded to 64-bit words): about 1/64 of the span.
 *
 * Context: any; touches no memory.
 * Return: the size in bytes, 0 if the span holds no whole granule.
 */
size_t buddy_meta_size(uintptr_t base, uintptr_t end);

/**
 * buddy_init() - set up an empty heap over a span; nothing in it is free yet.
 * @b: the heap (caller memory; not moved afterwards)
 * @base: first byte of the span, rounded up to 64 (and to at least 64, so that no block is at NULL)
 * @end: one past the span's last byte, rounded down to 64
 * @meta: buddy_meta_size() bytes of 8-byte-aligned caller memory; it may lie in the span as long as the
 *        caller never adds it with buddy_add_range()
 * @meta_size: size of @meta
 *
 * Only the section map (1 byte per 64 KiB) is cleared, every section uninitialised (BUDDY_SEC_NONE): the
 * cost does not grow with the tag array, whose bytes are never trusted before being written.
 *
 * Context: caller holds the heap lock (or owns the heap alone); no allocation.
 * Return: 0; ERR_INVAL if @b or @meta is NULL, @meta is misaligned or smaller than buddy_meta_size();
 *         ERR_RANGE if the span holds no whole 64-byte granule.
 */
error_t buddy_init(struct buddy *b, uintptr_t base, uintptr_t end, void *meta, size_t meta_size);

/**
 * buddy_init_zeroed() - buddy_init() that zeroes all @meta_size bytes of @meta now.
 *
 * A section's tags (and page bytes) are then known to be 0 until it is first initialised, so that
 * initialising it only flips its state byte: no allocation or free ever pays the 1 KiB clear (about 300
 * instructions, the worst single step of a split into a fresh section), and no page byte is stale in any
 * section. The clear is paid once, here: 1/64 of the span, what Linux's struct page array costs a kernel
 * at boot (mm/heap.c builds every cluster heap this way).
 *
 * Context, Return: as buddy_init().
 */
error_t buddy_init_zeroed(struct buddy *b, uintptr_t base, uintptr_t end, void *meta, size_t meta_size);

/**
 * buddy_add_range() - make [start, end) free.
 * @b: the heap
 * @start: first byte; rounded up to 64
 * @end: one past the last byte; rounded down to 64 (a range holding no whole granule adds nothing)
 *
 * The range is carved into naturally aligned power-of-two blocks, greedily (at each position the largest
 * block aligned there that fits, at most BUDDY_MAX_ORDER), each merged with its free buddies. A block of
 * 64 KiB or more writes one tag and leaves its section head-only (BUDDY_SEC_HEAD); a smaller one fully
 * initialises its section (BUDDY_SEC_FULL: 1 KiB of tags zeroed) if that is not done yet.
 *
 * Context: caller holds the heap lock; no allocation.
 * Return: 0; ERR_RANGE if [start, end) is not inside the span given to buddy_init(); ERR_OVERLAP if a
 *         granule of it is already free or allocated (the heap is then unchanged).
 */
error_t buddy_add_range(struct buddy *b, uintptr_t start, uintptr_t end);

/**
 * buddy_alloc() - allocate a block of at least @size bytes.
 * @b: the heap
 * @size: bytes wanted; the block is the next power of two >= max(size, 64), aligned to its size
 * @addr: receives the block's address (written only on success)
 *
 * Context: caller holds the heap lock; no allocation.
 * Return: 0; ERR_SIZE if @size is 0 or larger than any block the span could ever hold; ERR_NOMEM if no
 *         free block is large enough.
 */
error_t buddy_alloc(struct buddy *b, size_t size, void **addr);

/**
 * buddy_alloc_order() - allocate a block of 2^@order bytes, aligned to its size.
 * @b: the heap
 * @order: log2 of the block size; orders below BUDDY_MIN_ORDER are rounded up to it
 * @addr: receives the block's address (written only on success)
 *
 * Context: caller holds the heap lock; no allocation.
 * Return: 0; ERR_SIZE if no block of that order fits in the span; ERR_NOMEM if none is free.
 */
error_t buddy_alloc_order(struct buddy *b, unsigned order, void **addr);

/**
 * buddy_alloc_below() - allocate like buddy_alloc(), from memory below an address only (a DMA window).
 * @b: the heap
 * @size: bytes, rounded up to a power of two as buddy_alloc() does
 * @limit: the block ends at or below this address
 * @addr: receives the block's address (written only on success)
 *
 * Context: caller holds the heap lock. Return: 0; ERR_SIZE as buddy_alloc(); ERR_NOMEM if no free block
 * has room below @limit (both counted in failures). Walks the free lists: not for a fast path.
 */
error_t buddy_alloc_below(struct buddy *b, size_t size, uintptr_t limit, void **addr);

/**
 * buddy_free() - give back a block from buddy_alloc() or buddy_alloc_order(); it merges with free buddies.
 * @b: the heap
 * @addr: the block's address; NULL is a no-op
 *
 * Every bad address is refused with the heap unchanged, counted in bad_frees and logged with mm_log() as
 * one line "buddy: free <addr>: <code>: <reason>". Never panics on a caller error.
 *
 * Context: caller holds the heap lock; no allocation.
 * Return: 0; ERR_NOTOWNED if @addr is outside [base, end); ERR_MISALIGNED if not 64-byte aligned;
 *         ERR_INTERIOR if inside an allocated block but not at its start, or in reserved (never added)
 *         memory; ERR_DOUBLEFREE if at the start of or inside a free block.
 */
error_t buddy_free(struct buddy *b, void *addr);

/**
 * buddy_trim() - keep only the first @keep bytes of the allocated block at @addr and give the rest back.
 * @b: the heap
 * @addr: an allocated block of order 13..16 (buddy_alloc_order())
 * @keep: bytes to keep: a multiple of 4 KiB, below the block's size
 * @take: the kept blocks are taken (buddy_take()), not allocated
 *
 * The block is split where @keep ends: its kept part becomes allocated (or taken) blocks of decreasing
 * orders (one per bit set in @keep, back to back from @addr), the rest free blocks (one per bit clear
 * below the block's order, none of them mergeable: each one's buddy is kept, whole or in part). Each
 * kept block then frees alone with buddy_free() (once untaken). At most one split per order, and for an
 * order-16 block the initialisation of its section's tags (it lies in no other block's section).
 *
 * Context: caller holds the heap lock. Return: 0; ERR_INVAL (nothing changed) if @addr is no allocated
 * block of order 13..16 or @keep is not a multiple of 4 KiB in (0, its size).
 */
error_t buddy_trim(struct buddy *b, void *addr, size_t keep, bool take);

/**
 * buddy_getsize() - size of the allocated block that starts at @addr.
 * @b: the heap
 * @addr: the block's address
 * @size: receives the block size (a power of two >= 64; written only on success)
 *
 * Context: caller holds the heap lock; no allocation; changes nothing and logs nothing.
 * Return: 0; the same codes as buddy_free() for an address it would refuse (ERR_NOTOWNED for NULL).
 */
error_t buddy_getsize(const struct buddy *b, const void *addr, size_t *size);

/**
 * buddy_owns() - whether @addr lies in the heap's span [base, end), allocated, free or reserved.
 * @b: the heap
 * @addr: any address
 *
 * Context: any hart; reads only fields fixed at buddy_init(), so no lock is needed.
 * Return: true if base <= addr < end.
 */
bool buddy_owns(const struct buddy *b, const void *addr);

/**
 * buddy_get_stats() - a snapshot of the heap's byte counts, free block counts and counters.
 * @b: the heap
 * @st: receives the statistics
 *
 * Context: caller holds the heap lock; no allocation; O(BUDDY_MAX_ORDER).
 */
void buddy_get_stats(const struct buddy *b, struct buddy_stats *st);

/**
 * buddy_check() - verify every invariant of the heap (slow: walks the lists and all initialised tags).
 * @b: the heap
 * @why: receives the first violation found as a NUL-terminated line (may be NULL)
 * @whylen: size of @why
 *
 * Checks that each free-list entry is a free head of that order, aligned, inside the span, with
 * consistent links, where its tag is valid (in a fully initialised section below 64 KiB); that list
 * lengths match nfree; that no two blocks overlap; that no free block has a free buddy of its order
 * (unmerged); that free, used and reserved bytes add up to the span; that used bytes equal the sizes of
 * all allocated heads; and that each section map byte is one of the three states, a head-only section's
 * head (the only tag of it read) of 64 KiB or more, and a head-only section without one inside a block
 * that starts earlier.
 *
 * Context: caller holds the heap lock; no allocation.
 * Return: 0 (and @why = "ok"); ERR_CORRUPT with the reason in @why.
 */
error_t buddy_check(const struct buddy *b, char *why, size_t whylen);

/*
 * Tag access for a layer above that keeps allocated blocks for itself (mm/slab.c: its slabs). The tag of
 * an address is one byte at tag_bias + (a >> 6), valid where buddy_section_ready() says so:
 *	BUDDY_TAG_HEAD | order			allocated
 *	BUDDY_TAG_HEAD | BUDDY_TAG_FREE | order	free (on a free list)
 *	BUDDY_TAG_FREE | order			taken ("cached"): allocated, and held by the layer above
 * A taken block counts as used (buddy_get_stats(), buddy_check()), is never mergeable, and freeing it
 * here is refused as a double free, so that heap_free() of a slab's address cannot pull the slab away
 * from under its blocks. buddy_take() and buddy_untake() switch an allocated head between the two
 * states; the layer calls them under the heap lock, around its own bookkeeping. A block below
 * BUDDY_SECTION_SIZE only ever lives in a fully initialised section: its tag is valid without a look at
 * the section map.
 */
#define BUDDY_TAG_HEAD 0x80u
#define BUDDY_TAG_FREE 0x40u
#define BUDDY_TAG_ORDER 0x3fu

static inline uint8_t *buddy_tag(uintptr_t tag_bias, uintptr_t a)
{
	return (uint8_t *)(tag_bias + (a >> BUDDY_MIN_ORDER));
}

/* buddy_take() - allocated head @a becomes taken by the layer above (see above). Context: heap lock held. */
static inline void buddy_take(struct buddy *b, uintptr_t a)
{
	uint8_t *t = buddy_tag(b->tag_bias, a);

	*t = (uint8_t)(BUDDY_TAG_FREE | (*t & BUDDY_TAG_ORDER));
}

/* buddy_untake() - taken head @a becomes an allocated head again (to be freed). Context: heap lock held. */
static inline void buddy_untake(struct buddy *b, uintptr_t a)
{
	uint8_t *t = buddy_tag(b->tag_bias, a);

	*t = (uint8_t)(BUDDY_TAG_HEAD | (*t & BUDDY_TAG_ORDER));
}

/*
 * buddy_page_byte() - the byte of @a's 4 KiB page kept for the layer above (@pg_bias: b->pg_bias). The
 * buddy never reads it; it is 0 from the moment the page's section is initialised until the layer writes
 * it, and after buddy_init() it means nothing in an uninitialised section (buddy_section_state() ==
 * BUDDY_SEC_NONE), where only addresses inside large free, allocated or reserved blocks lie; after
 * buddy_init_zeroed() it is 0 there too.
 */
static inline uint8_t *buddy_page_byte(uintptr_t pg_bias, uintptr_t a)
{
	return (uint8_t *)(pg_bias + (a >> BUDDY_PAGE_ORDER));
}

/* buddy_section_state() - the state of @a's section: BUDDY_SEC_NONE, BUDDY_SEC_FULL or BUDDY_SEC_HEAD. */
static inline unsigned buddy_section_state(const struct buddy *b, uintptr_t a)
{
	return *(const uint8_t *)(b->sec_bias + (a >> BUDDY_SECTION_ORDER));
}

/*
 * buddy_section_ready() - the tag of @a is valid: its section is fully initialised, or head-only and @a
 * is the section's first granule. Else @a is no head, only inside a large free, allocated or reserved
 * block; and as a block below order 16 only ever lives in a fully initialised section, the tag of any
 * such block is valid.
 */
static inline bool buddy_section_ready(const struct buddy *b, uintptr_t a)
{
	unsigned s = buddy_section_state(b, a);

	return __builtin_expect(s == BUDDY_SEC_FULL, 1) ||
	       (s == BUDDY_SEC_HEAD && !(a & (BUDDY_SECTION_SIZE - 1)));
}

/*
 * Inline fast paths, for a layer that takes the heap lock around a single operation (mm/heap.c) and so
 * can run the whole common case without a call: buddy_order() is buddy_alloc()'s rounding,
 * buddy_try_alloc() pops a free block of exactly the order asked, buddy_try_free() pushes a block whose
 * buddy is not free. Whatever else an operation needs (a split, a merge, every error) they leave to
 * buddy_alloc_split(), buddy_free_merge() and buddy_free(), changing nothing first. buddy.c's own entry
 * points are built on them too.
 */

/* buddy_list_push() - put the block at @a (its tag already says free) at the front of list @k. */
static inline void buddy_list_push(struct buddy *b, uintptr_t a, unsigned long k)
{
	struct buddy_area *ar = &b->area[k];
	struct buddy_node *n = (struct buddy_node *)a, *f = ar->list.next;

	n->next = f;
	n->prev = &ar->list;
	f->prev = n;
	ar->list.next = n;
	ar->nfree++;
}

/* buddy_list_pop() - take the first block off list @k, which is not empty. */
static inline struct buddy_node *buddy_list_pop(struct buddy *b, unsigned long k)
{
	struct buddy_area *ar = &b->area[k];
	struct buddy_node *n = ar->list.next, *nx = n->next;

	ar->list.next = nx;
	nx->prev = &ar->list;
	ar->nfree--;
	return n;
}

/*
 * buddy_mergeable() - the buddy of the block [a, a + 2^order) is a free head of the same order inside the
 * span. Below order 16 the buddy lies in a's section, fully initialised (the block lives there), whose
 * tags outside the span are all 0, so one tag compare decides; from 16 up the buddy starts another
 * section that must be in the span and initialised (fully or head-only: its first tag is valid either
 * way) before its tag means anything.
 */
static inline bool buddy_mergeable(const struct buddy *b, uintptr_t a, unsigned long order)
{
	uintptr_t bud = a ^ ((uintptr_t)1 << order);
	uint8_t free_head = (uint8_t)(BUDDY_TAG_HEAD | BUDDY_TAG_FREE | order);

	if (order < BUDDY_SECTION_ORDER)
		return *buddy_tag(b->tag_bias, bud) == free_head;
	return order < BUDDY_MAX_ORDER && bud - b->base < b->span &&
	       buddy_section_state(b, bud) != BUDDY_SEC_NONE && *buddy_tag(b->tag_bias, bud) == free_head;
}

extern const uint8_t buddy_order_small[64];

/**
 * buddy_order() - the order of the block buddy_alloc() gives a request of @size bytes.
 * @size: 1 .. 2^BUDDY_MAX_ORDER
 *
 * A table maps (size - 1) >> 6 below 4 KiB to the order; a larger size loses 6 bits at a time first
 * (the order of s >> 6 is the order of s minus 6 once s >= 4096): one step below 256 KiB, written out.
 *
 * Return: max(BUDDY_MIN_ORDER, ceil(log2(@size))).
 */
static inline unsigned long buddy_order(size_t size)
{
	uint64_t s1 = (uint64_t)size - 1;
	unsigned long order = 12;

	if (__builtin_expect(s1 < 4096, 1))
		return buddy_order_small[s1 >> BUDDY_MIN_ORDER];
	if (s1 < (1ul << 18))
		return 6 + buddy_order_small[s1 >> 12];
	for (s1 >>= 12; s1 >= 4096; s1 >>= 6)
		order += 6;
	return order + buddy_order_small[s1 >> BUDDY_MIN_ORDER];
}

/**
 * buddy_try_alloc() - the O(1) case of buddy_alloc_order(): pop a free block of exactly @order.
 * @b: the heap
 * @order: BUDDY_MIN_ORDER .. BUDDY_MAX_ORDER
 *
 * Context: caller holds the heap lock. Return: the block (counted in allocs), or NULL if none of that
 * order is free: the heap is unchanged and buddy_alloc_split() splits a larger one or fails.
 */
static inline void *buddy_try_alloc(struct buddy *b, unsigned long order)
{
	struct buddy_node *n;

	if (__builtin_expect(b->area[order].list.next == &b->area[order].list, 0))
		return NULL;
	n = buddy_list_pop(b, order);
	*buddy_tag(b->tag_bias, (uintptr_t)n) = (uint8_t)(BUDDY_TAG_HEAD | order);
	b->allocs++;
	return n;
}

/**
 * buddy_alloc_split() - finish an allocation buddy_try_alloc() found no block for: split the smallest
 * larger free block (what buddy_alloc_order() does then; given a free block of exactly @order, it takes it).
 * @b: the heap
 * @order: BUDDY_MIN_ORDER .. BUDDY_MAX_ORDER
 * @addr: receives the block's address (written only on success)
 *
 * Context: caller holds the heap lock. Return: 0; ERR_SIZE if no block of that order fits in the span;
 * ERR_NOMEM if no larger block is free (both counted in failures).
 */
error_t buddy_alloc_split(struct buddy *b, unsigned long order, void **addr);

/**
 * buddy_clear_tags() - fully initialise every section overlapping [@start, @end) (BUDDY_SEC_FULL): all
 * its tags valid, 0 ("no head") where not valid before (a head-only section keeps its head).
 * @b: the heap
 * @start: first byte (clipped to the span's sections)
 * @end: one past the last
 *
 * For memory inside the span that is never added (reserved ranges, the heap's own metadata): a reader
 * that trusts tags without testing the section (mm/mem.c's inline free) then finds no head there
 * instead of whatever the memory held.
 *
 * Context: caller holds the heap lock (or builds the heap).
 */
void buddy_clear_tags(struct buddy *b, uintptr_t start, uintptr_t end);

/**
 * buddy_alloc_bulk() - allocate up to @n blocks of @order at once, for a cache refill.
 * @b: the heap
 * @order: BUDDY_MIN_ORDER .. max order of the heap
 * @out: receives the blocks
 * @n: how many are wanted
 *
 * The blocks are those @n single allocations would return (exact-order free blocks first, then the
 * pieces of one larger block), but a larger block is split once and carved rather than split per block.
 *
 * Context: caller holds the heap lock. Return: how many blocks were written to @out (fewer than @n only
 * when the heap has no more free block of @order or larger; the split that found none is counted in
 * failures, as a single allocation's would be).
 */
unsigned buddy_alloc_bulk(struct buddy *b, unsigned long order, void **out, unsigned n);

#define BUDDY_TRY_FREED 0		/* buddy_try_free(): done */
#define BUDDY_TRY_MERGE 1		/* a valid free whose buddy is free: finish with buddy_free_merge() */
#define BUDDY_TRY_CHECK 2		/* anything else (a bad address): buddy_free() classifies and reports it */

/**
 * buddy_try_free() - the O(1) case of buddy_free() for an address already known to lie in [base, end).
 * @b: the heap
 * @a: the address, with b->base <= @a < b->end
 *
 * A 64-aligned allocated head whose tag is valid (buddy_section_ready(): the common case, a fully
 * initialised section, costs one compare) and whose buddy is not free goes back on its list.
 *
 * Context: caller holds the heap lock. Return: BUDDY_TRY_FREED (counted in frees); otherwise the heap is
 * unchanged and the caller goes on, still under the lock, with buddy_free_merge() for BUDDY_TRY_MERGE
 * or buddy_free() for BUDDY_TRY_CHECK.
 */
static inline int buddy_try_free(struct buddy *b, uintptr_t a)
{
	uint8_t *t, tag;
	unsigned long order, hs;

	if (__builtin_expect(a & (BUDDY_MIN_BLOCK_SIZE - 1), 0))
		return BUDDY_TRY_CHECK;
	t = buddy_tag(b->tag_bias, a);
	tag = *t;	/* the tags array covers the span: a load that is safe even where the tag is not valid */
	/*
	 * An allocated head whose tag is valid (buddy_section_ready()): tag bits 6-7 and state bits 0-1 in one
	 * value, so that the common case, a fully initialised section, costs one compare, and a head-only
	 * section's first granule (where only blocks of order >= 16 start) one more and the alignment test.
	 */
	hs = (tag & (BUDDY_TAG_HEAD | BUDDY_TAG_FREE)) | buddy_section_state(b, a);
	if (__builtin_expect(hs != (BUDDY_TAG_HEAD | BUDDY_SEC_FULL), 0) &&
	    (hs != (BUDDY_TAG_HEAD | BUDDY_SEC_HEAD) || (a & (BUDDY_SECTION_SIZE - 1))))
		return BUDDY_TRY_CHECK;
	order = tag & BUDDY_TAG_ORDER;
	if (__builtin_expect(buddy_mergeable(b, a, order), 0))
		return BUDDY_TRY_MERGE;
	*t = (uint8_t)(tag | BUDDY_TAG_FREE);
	buddy_list_push(b, a, order);
	b->frees++;
	return BUDDY_TRY_FREED;
}

/**
 * buddy_free_merge() - finish a free that buddy_try_free() answered BUDDY_TRY_MERGE for: merge the block
 * at @a with its free buddies and push the result (counted in frees).
 * @b: the heap
 * @a: the address buddy_try_free() was given
 *
 * Context: caller holds the heap lock, held since buddy_try_free(). Return: 0.
 */
error_t buddy_free_merge(struct buddy *b, uintptr_t a);

/**
 * buddy_free_fast() - buddy_try_free(), finished by buddy_free_merge() when it asks for it.
 * Context: caller holds the heap lock. Return: true (freed); false (nothing changed: not an allocated
 * head with a valid tag, which buddy_free() classifies and reports).
 */
static inline bool buddy_free_fast(struct buddy *b, uintptr_t a)
{
	int why = buddy_try_free(b, a);

	if (why == BUDDY_TRY_MERGE)
		buddy_free_merge(b, a);
	return why != BUDDY_TRY_CHECK;
}

#endif
