/* slab.h - size classes between the powers of two, served from per-hart slabs carved out of the home heap. */
#ifndef MM_SLAB_H
#define MM_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/buddy.h"
#include "mm/err.h"
#include "mm/heap.h"

/*
 * The class/slab layer under mem_alloc()'s small requests (1 .. SLAB_MAX_SIZE bytes, default proximity).
 *
 * Classes: 16-byte steps up to 128, then four per doubling (jemalloc's spacing): 16 32 48 64 80 96 112 128,
 * 160 192 224 256, 320 384 448 512, 640 768 896 1024, 1280 1536 1792 2048, 2560 3072 3584 4096. Rounding
 * wastes at most 25% of a request (a 129-byte one), 1/9 on average over a doubling.
 *
 * Alignment: every block starts at a multiple of its class size from a slab base aligned to the slab's
 * size (>= 4 KiB), so a block is aligned to the largest power of two dividing its class size: a
 * power-of-two class is naturally aligned (up to 4 KiB, the page), every other class at least to 16.
 * slab_class_aligned() finds the smallest class with a given alignment (mem_alloc_aligned()).
 *
 * Slabs: a slab is one naturally aligned buddy block of 4 to 16 KiB (per class: the smallest that wastes
 * at most 1/16 at its end, 8 KiB for 3584, and 8 KiB at least for 160..512, so that a growing class
 * takes a slab less often; small slabs keep a class with few live blocks cheap), taken from the home
 * heap under its lock in one buddy
 * operation and marked "taken" there (buddy_take(): the buddy counts it as used and refuses to free it).
 * Its descriptor (struct slab) lives outside it, in the heap's descriptor array (HEAP_PAGE_DESC_SIZE per
 * 4 KiB page, mm/heap.h), at its first page; every page of the slab carries the class index + 1 in the
 * buddy's page byte (buddy_page_byte()), 0 elsewhere (or a page run's byte, mm/heap.h). So a block holds
 * no header, and the owner of any address is found in three loads: page byte -> class -> descriptor;
 * each hart keeps the class table by page byte beside its caches (struct slab_ent), so that the inline
 * free finds both through tp.
 *
 * Ownership: a slab belongs to the hart that took it; only that hart touches its free list and counts.
 * Each hart has per class a current slab (cur[], a static empty one when it has none), allocated from by
 * the inline path, and a list of partial slabs (free blocks, not current). A slab whose blocks are all
 * handed out and that is not current is on no list; a free into it puts it on the partial list; a free
 * that empties a partial slab gives it back to the heap (one buddy free), so footprint shrinks after a
 * burst. At most one empty slab per class stays, so that a class whose live count wavers around a slab
 * boundary does not take and give a slab per call: the current slab when it is empty, else one spare
 * kept on the partial list. slab_drain() gives those back as well.
 *
 * Caches: in front of the slabs, each hart keeps per class a cache of blocks it freed (struct slab_cache):
 * a LIFO list of at most SLAB_CACHE_BYTES of blocks (2 to 64), from any slab of its home heap, its own or
 * another hart's of the same cluster. The inline free puts a block there, marked; the inline allocation
 * takes the cache's most recent block first, then the current slab's. A cached block still counts as used
 * in its slab, so a slab is never given back under a cache. Without the cache, frees land in whatever slab
 * their block came from, and in a steady state (as many frees as allocations, at random) every partial
 * slab holds a free block or two: the current slab ran out every two allocations or so, and each switch to
 * a partial slab cost a hundred instructions. A free into a full cache goes into its slab (the owner's) or
 * to the slow path; an allocation from an empty one pops the current slab. So that a cache does not keep
 * the slabs of its last frees after a burst, the rare paths take garbage-collection steps
 * (slab_cache_gc()): an idle cache gives its blocks back, SLAB_CACHE_STEP at a time, and its bound shrinks
 * with them; an allocation that misses it grows the bound back.
 *
 * Carving is lazy and bounded: a new slab is taken whole, its free list empty, and its blocks are handed
 * out one at a time from the never-used end by the bump offset `bump` (the blocks below it have been
 * handed out at least once), so no allocation does more than one buddy operation and a few stores,
 * whatever the slab's block count, and a fresh block is never written before it is handed out.
 *
 * Free-block marker and double frees: a free block holds its link and, in its second word, its own
 * address inverted (SLAB_MARK()); an allocation clears that word. A free whose block already carries the
 * marker is a double free (checked by the inline path too, before anything is written). Blocks that
 * were never carved (at or past bump) are free by definition. A live block whose second word happens to
 * equal its inverted address (only stale data from a freed block copied into a live one can) is
 * refused as a double free and leaks: never a corruption.
 *
 * Remote frees (a block of a slab another hart owns, in this cluster or another): the block is marked,
 * linked into the freeing hart's batch for that owner (slot owner % SLAB_OUT; no atomic), and a batch of
 * SLAB_REMOTE_BATCH blocks is pushed onto the owner's inbox with one compare-and-swap (a Treiber stack of
 * chains: push only). The owner takes its whole inbox with one atomic exchange when it runs short of
 * blocks (and in slab_drain()), and frees the blocks into their slabs, at most SLAB_DRAIN_MAX per call
 * (the rest stays on a private pending chain), so no call does unbounded work. No heap lock is taken.
 */

#define SLAB_NCLASSES 28
#define SLAB_MAX_SIZE 4096
#define SLAB_MIN_ORDER 12		/* smallest slab: 4 KiB */
#define SLAB_MAX_ORDER 15		/* largest: 32 KiB (below a buddy section, so its section is full) */
#define SLAB_REMOTE_BATCH 8		/* remote frees per compare-and-swap */
#define SLAB_OUT 4			/* outgoing batches per hart: slot owner % SLAB_OUT */
#define SLAB_DRAIN_MAX 64		/* inbox blocks freed per call */
#define SLAB_CACHE_STEP 4		/* a cache's bound shrinks (garbage collection) and grows by this many */

/* a free block: its link, and SLAB_MARK() of its address */
struct slab_blk {
	struct slab_blk *next;
	uintptr_t mark;
};

/*
 * One class: what the inline free needs to validate an address, and its block size (16 bytes). The
 * block-start test is Lemire's: for an offset o < 2^32, o is a multiple of size iff (o * div) mod 2^64 <
 * div, with div = ceil(2^64 / size); whether the block was ever handed out is o < its slab's bump.
 */
struct slab_class {
	uint64_t div;			/* ceil(2^64 / size); 0 for page bytes that name no class: every test fails */
	uint16_t omask;			/* slab size - 1: a & omask is the offset in its (naturally aligned) slab */
	uint16_t end;			/* n * size: the offset past its last block */
	uint16_t size;
	uint16_t n;			/* blocks per slab */
};

/*
 * The class table indexed by page byte (class + 1; entry 0 and those past the classes name no class, and
 * their div of 0 fails the inline free's first test), so that the inline free indexes it with the byte it
 * loaded without testing it first; slab_classes[k] is class k. Every page byte is below
 * HEAP_PAGE_BYTE_VALUES (mm/heap.h).
 */
extern const struct slab_class slab_class_of_byte[HEAP_PAGE_BYTE_VALUES];
#define slab_classes (slab_class_of_byte + 1)

/*
 * slab_class_order() - the order of class @ci's slabs (12..15): three compares, where __builtin_clz()
 * would be a libgcc call on a RISC-V without Zbb.
 */
static inline unsigned slab_class_order(const struct slab_class *ci)
{
	unsigned x = ci->omask >> SLAB_MIN_ORDER;	/* 0, 1, 3 or 7 */

	_Static_assert(SLAB_MAX_ORDER - SLAB_MIN_ORDER == 3, "three compares cover the orders");
	return SLAB_MIN_ORDER + (x > 0) + (x > 1) + (x > 3);
}

/* the marker word of a free block at @a: its address inverted (one instruction; see above) */
#define SLAB_MARK(a) (~(uintptr_t)(a))

enum slab_state { SLAB_CUR, SLAB_PARTIAL, SLAB_FULL, SLAB_NONE };

/*
 * The current slab of a class without a spare counts its used blocks from SLAB_USED_BIAS, so that the
 * inline free's "now empty" test (used == 0) never fires for it: an empty current slab with no spare to
 * give back needs nothing (a warm alloc/free pair calls nothing). With a spare, the current slab counts
 * from 0, and its emptying gives the spare back (at most one empty slab per class stays). slab_used()
 * is the real count.
 */
#define SLAB_USED_BIAS 0x8000u

/* A slab's descriptor: HEAP_PAGE_DESC_SIZE (32) bytes in its heap's descriptor array. */
struct slab {
	struct slab_blk *free;		/* free blocks (owner only) */
	struct slab *next, *prev;	/* the owner's partial list of this class */
	uint16_t used;			/* blocks handed out and not freed back to it (in transit included),
					   + SLAB_USED_BIAS for a current slab whose class has no spare */
	uint16_t bump;			/* the blocks below this offset were handed out at least once */
	uint8_t cls;
	uint8_t state;			/* enum slab_state */
	uint16_t owner;			/* hart index */
};

/* an outgoing batch of remote frees, for one owner hart */
struct slab_out {
	struct slab_blk *head, *tail;	/* head NULL iff n == 0 */
	uint32_t owner;
	uint32_t n;
	uint64_t unused;		/* 32 bytes: out[i] is one shift away */
};

struct slab_counters {
	uint64_t slabs_taken, slabs_given;	/* buddy operations */
	uint64_t switches;			/* current slab replaced by a partial one */
	uint64_t remote_frees, remote_pushes;	/* remote frees sent (counted as their batch goes); pushes */
	uint64_t remote_cas_retries;
	uint64_t inbox_takes, inbox_blocks;	/* atomic exchanges of the inbox; blocks received */
	uint64_t double_frees, bad_frees;
};

/*
 * A hart's cache of one class: blocks freed on this hart, of any slab of its home heap, handed out again
 * before the current slab's (LIFO). Each is marked free (SLAB_MARK()) and still counted as used by its
 * slab. room counts down from the class's bound (slab_cache_max()): a free into a full cache, and an
 * allocation from an empty one, pass through to the slabs.
 */
struct slab_cache {
	struct slab_blk *head;
	uint16_t room;			/* blocks it may still take: max - cached */
	uint16_t max;			/* its bound now: 0 .. bound */
	uint16_t bound;			/* slab_cache_max() of the class */
	uint16_t seen;			/* SLAB_CACHE_SEEN(head) at the last garbage collection step */
};

/*
 * What a garbage-collection step remembers of a cache's head: bits 4..19 of its address (blocks are
 * 16-byte aligned). Two heads a multiple of 1 MiB apart look alike: the step then takes a busy cache for
 * an idle one and gives SLAB_CACHE_STEP blocks back, which costs time, never correctness.
 */
#define SLAB_CACHE_SEEN(head) ((uint16_t)((uintptr_t)(head) >> 4))

/* the bound of a class's cache: SLAB_CACHE_BYTES of blocks, 2 to 64 of them */
#define SLAB_CACHE_BYTES 4096
static inline unsigned slab_cache_max(unsigned size)
{
	unsigned n = SLAB_CACHE_BYTES / size;

	return n < 2 ? 2 : n > 64 ? 64 : n;
}

/*
 * One entry of a hart's table indexed by page byte (struct slab_cpu): for the byte of class k (k + 1),
 * that class's cache and a copy of slab_classes[k]; every other entry's class is slab_class_of_byte's
 * (div 0: the inline free's first test fails) and its cache is never used. The inline free reaches both
 * with the one shift of the byte it loaded, at small offsets from tp.
 */
struct slab_ent {
	struct slab_cache cache;
	struct slab_class ci;
};

/*
 * A hart's slab state, the first part of its struct mm_cpu (mm/cpu.h): ent[], cur[], cls_of_size[] and
 * the home heap's bounds sit at small offsets from tp, what the inline paths read; every scalar and the
 * start of every array lie within 2 KiB of its start, so that the slow paths address each field with
 * one instruction.
 */
struct slab_cpu {
	struct slab_ent ent[HEAP_PAGE_BYTE_VALUES];	/* by page byte: class k's cache is ent[k + 1].cache */
	struct slab *cur[SLAB_NCLASSES];	/* the current slab per class (never NULL) */
	/* the home heap: span, page bytes, descriptors (the inline free's ownership test) */
	uintptr_t lo, span, pg_bias, desc_bias;
	uint32_t hart;
	unsigned gc_next;			/* the class of the next garbage collection step */
	struct heap *home;
	struct slab_blk *inbox;		/* remote frees for this hart's slabs: pushed by others, taken by it */
	struct slab_blk *pending;	/* taken from the inbox, not freed into their slabs yet */
	struct slab_counters cnt;
	struct slab_out out[SLAB_OUT];
	uint8_t cls_of_size[SLAB_MAX_SIZE / 16];	/* (size - 1) / 16 -> class */
	struct slab *partial[SLAB_NCLASSES];	/* partial slabs per class (FIFO; head->prev is the tail) */
	struct slab *spare[SLAB_NCLASSES];	/* an empty slab kept on the partial list, or NULL */
};

/*
 * slab_ent_of() - hart @sc's entry of class @k, slab_cache_of() its cache (macros: @sc may be const; the
 * size_t lets the + 1 fold into a load's offset)
 */
#define slab_ent_of(sc, k) (&(sc)->ent[(size_t)(k) + 1])
#define slab_cache_of(sc, k) (&slab_ent_of(sc, k)->cache)

/*
 * slab_none: the empty current slab of a class a hart has no slab of: free NULL, and bump past any
 * class's end, so that the inline bump finds no never-used block in it either. Never written.
 */
extern struct slab slab_none;

/*
 * slab_cpu_init() - set up hart @hart's slab state @sc over home heap @home (NULL: none, every request
 * takes the slow path and fails there). Context: boot hart, before the hart allocates.
 */
void slab_cpu_init(struct slab_cpu *sc, unsigned hart, struct heap *home);

/* slab_size_class() - the class of a request of 1 .. SLAB_MAX_SIZE bytes. Context: any. Return: 0..27. */
unsigned slab_size_class(size_t size);

/*
 * slab_class_aligned() - the smallest class holding @size bytes whose blocks are aligned to @align (a
 * power of two). Context: any. Return: the class; -1 if none (larger than 4096 bytes, or aligned beyond).
 */
int slab_class_aligned(size_t size, size_t align);

/*
 * slab_alloc_slow() - an allocation of class @k that the inline path could not serve (the current slab
 * has no free block): bump, take the inbox, switch to a partial slab, or take a new slab (one buddy
 * allocation under the home heap's lock). Context: the calling hart's own @sc. Return: the block; NULL
 * when the home heap has no room for a slab (ERR_NOMEM: the caller falls back to the proximity).
 */
void *slab_alloc_slow(struct slab_cpu *sc, unsigned k);

/* an allocation's result in two registers (a0: the error, a1: the block), as the slow paths return it */
struct mm_alloc_ret {
	long err;			/* an error_t, register-wide: gcc builds an int's padding on the stack */
	void *addr;
};

/*
 * slab_alloc_miss() - mem_alloc()'s inline path found no free block in the current slab of class @k:
 * slab_alloc_slow(), and if the home heap has no room for a slab, @full(@size, @valid) (the layer above's
 * fallback, reached by a tail call, as is every other way out). Context: the calling hart's own @sc.
 * Return: { 0, the block }, or what @full returns.
 */
struct mm_alloc_ret slab_alloc_miss(struct slab_cpu *sc, unsigned k, size_t size, unsigned valid,
				    struct mm_alloc_ret (*full)(size_t size, unsigned valid));

/*
 * slab_free_any() - free @a if it lies in a slab of heap @h (the home heap or another): a block of the
 * caller's own slab is freed into it, one of another hart's goes into a remote batch. Context: the calling
 * hart's @sc; no lock (a slab given back takes the home heap's). Return: 0 (freed); 1 (not a slab
 * address: the caller goes on to the heap); ERR_MISALIGNED, ERR_INTERIOR, ERR_DOUBLEFREE (one log line,
 * nothing changed).
 */
int slab_free_any(struct slab_cpu *sc, struct heap *h, uintptr_t a);

/*
 * slab_free_remote_fast() - mem_free()'s path for a live block of another hart's slab in heap @h, whose
 * span holds @a (heap_owner_fast() said so): into the batch for its owner, no division, no lookup beyond
 * the block's page. Anything else goes to @other(@a)
 * (the checked path), with nothing written. Every call is a tail call, so that this saves no register.
 * Context: the calling hart's own @sc; no lock.
 */
void slab_free_remote_fast(struct slab_cpu *sc, struct heap *h, uintptr_t a, void (*other)(void *));

/*
 * slab_getsize() - the class size of the live block at @a in heap @h. Return: 0; 1 (not a slab address);
 * ERR_MISALIGNED, ERR_INTERIOR, ERR_DOUBLEFREE (a free block) as slab_free_any() would refuse it.
 */
int slab_getsize(struct heap *h, uintptr_t a, size_t *size);

/* slab_owns() - whether @a lies in a live slab of heap @h. Context: any hart; no lock, no log. */
bool slab_owns(struct heap *h, uintptr_t a);

/*
 * slab_free_note() - the inline free's rare case: slab @s had no free block (full: it joins the partial
 * list; or the current one, carved out: nothing), or is now empty (back to the heap unless it is the
 * current or the spare one; a current one that empties gives the spare back). Then a slab_cache_gc()
 * step, unless @s emptied: no free does more than one buddy operation. The slab state is its owner's
 * (the inline free keeps no register for it). Context: the owner of @s; takes the home heap's lock to
 * give a slab back.
 */
void slab_free_note(struct slab *s);

/*
 * slab_drain() - push every outgoing batch, free the whole inbox, give every empty slab back (the current
 * ones included). Context: the calling hart's own @sc (tests, soak, benchmarks: not bounded).
 */
void slab_drain(struct slab_cpu *sc);

/*
 * slab_check() - verify the slabs of @sc: descriptors, page bytes, free lists (each block marked, inside
 * its slab, at a block start, below bump), counts (used + free == the blocks below bump), list states. Context: the
 * owning hart, or any hart while the owner is idle. Return: 0; ERR_CORRUPT with the reason in @why.
 */
error_t slab_check(const struct slab_cpu *sc, char *why, size_t whylen);

/*
 * Where the memory of a hart's slabs goes beyond its live blocks (for footprint reports): bytes in
 * blocks parked in the caches, free in the current and partial slabs (never-carved ones included, the
 * spares excluded), in the spare slabs (whole), and past the last block of the current and partial slabs.
 */
struct slab_usage {
	uint64_t cached, slab_free, spare, slab_tail;
	uint64_t slabs;			/* current and partial slabs, spares included */
};

/* slab_usage() - fill @u for @sc. Context: the owning hart, or any hart while the owner is idle. */
void slab_usage(const struct slab_cpu *sc, struct slab_usage *u);

/*
 * slab_cache_gc() - one garbage-collection step of @sc's caches: the next class in turn, whose cache, if
 * idle since the step before on it (its head unchanged), gives up to SLAB_CACHE_STEP blocks back to
 * their slabs and shrinks its bound by as many (a slow-path allocation of the class grows it back). The
 * inline free's rare path takes a step each time. Context: the calling hart's own @sc.
 */
void slab_cache_gc(struct slab_cpu *sc);

/* slab_used() - the blocks of @s handed out and not freed back (the bias of a current slab dropped) */
static inline unsigned slab_used(const struct slab *s)
{
	return s->used & (SLAB_USED_BIAS - 1);
}

/* ---- the inline paths (mm/mem.h) ---- */

/* slab_desc() - the descriptor of page number @page (a >> 12) in a heap whose descriptor bias is @bias. */
static inline struct slab *slab_desc(uintptr_t bias, uintptr_t page)
{
	return (struct slab *)(bias + page * sizeof(struct slab));
}

/* slab_desc_at() - the descriptor of the page at page-aligned address @base: one shift, no multiply */
static inline struct slab *slab_desc_at(uintptr_t bias, uintptr_t base)
{
	_Static_assert(sizeof(struct slab) << 7 == 1u << BUDDY_PAGE_ORDER, "(base >> 12) * 32 == base >> 7");
	return (struct slab *)(bias + (base >> 7));
}

/*
 * slab_alloc_fast() - a block of class @k: the cache's most recent, else the current slab's first free
 * one, else its next never-used one (at bump); NULL if it has none (then slab_alloc_slow()).
 * The block's marker word is cleared: it is live (never-used memory may hold a stale marker of an
 * earlier slab at the same address).
 */
static inline __attribute__((always_inline)) void *slab_alloc_fast(struct slab_cpu *sc, unsigned k)
{
	struct slab_ent *e = slab_ent_of(sc, k);
	struct slab_cache *m = &e->cache;
	struct slab_blk *b = m->head;
	struct slab *s;

	if (__builtin_expect(b != NULL, 1)) {
		m->head = b->next;
		b->mark = 0;
		m->room++;
		return b;
	}
	s = sc->cur[k];
	b = s->free;
	if (__builtin_expect(b != NULL, 1)) {
		s->free = b->next;
		b->mark = 0;
		s->used++;
	} else if (!MM_DEBUG) {
		/*
		 * The next never-used block (none in slab_none: its bump is past end); see "Carving" above. The
		 * debug allocator's blocks take slab_alloc_slow()'s bump, which poisons them as a free list's are.
		 */
		const struct slab_class *ci = &e->ci;
		unsigned o = s->bump;

		if (__builtin_expect(o < ci->end, 1)) {
			b = (struct slab_blk *)((((uintptr_t)s - sc->desc_bias) << 7) + o);
			b->mark = 0;
			s->bump = (uint16_t)(o + ci->size);
			s->used++;
		}
	}
	return b;
}

/*
 * slab_free_fast() - free @a into its slab if it is a live block of one of the calling hart's own slabs
 * of its home heap: in the span, a page byte naming a class, at a block start below bump, unmarked.
 * False, with nothing written, for anything else (another hart's slab, a buddy block, any bad address):
 * the caller's slow path decides. The rare cases call slab_free_note(): the slab had no free block (it
 * was full, or is the current one, carved out) or is now empty (and not a current slab with the bias).
 */
static inline __attribute__((always_inline)) bool slab_free_fast(struct slab_cpu *sc, uintptr_t a)
{
	if (__builtin_expect(a - sc->lo < sc->span, 1)) {
		uintptr_t pb = *buddy_page_byte(sc->pg_bias, a);
		struct slab_ent *e = &sc->ent[pb];
		const struct slab_class *ci = &e->ci;
		uintptr_t off = a & ci->omask;
		struct slab *s = slab_desc_at(sc->desc_bias, a - off);
		struct slab_blk *b = (struct slab_blk *)a;

		if (__builtin_expect(off * ci->div < ci->div && off < s->bump && b->mark != SLAB_MARK(a), 1)) {
			struct slab_cache *m = &e->cache;	/* pb names a class: div != 0 */
			unsigned room = m->room;
			struct slab_blk *old;
			uint32_t u;

			if (__builtin_expect(room != 0, 1)) {
				b->next = m->head;
				b->mark = SLAB_MARK(a);
				m->head = b;
				m->room = (uint16_t)(room - 1);
				return true;
			}
			if (s->owner != sc->hart)
				return false;
			old = s->free;
			u = s->used - 1u;	/* a live block's slab has used >= 1: no wrap */
			b->next = old;
			b->mark = SLAB_MARK(a);
			s->free = b;
			s->used = (uint16_t)u;
			if (__builtin_expect(!old || !u, 0))
				slab_free_note(s);
			return true;
		}
	}
	return false;
}

#endif
