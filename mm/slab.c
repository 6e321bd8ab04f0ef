/* slab.c - the class/slab layer: per-hart slabs of 28 size classes, lazy carving, lock-free remote frees. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mm/buddy.h"
#include "mm/env.h"
#include "mm/heap.h"
#include "mm/slab.h"
#if MM_DEBUG
#include "mm/mem_internal.h"
#endif

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

_Static_assert(sizeof(struct slab) == HEAP_PAGE_DESC_SIZE, "a slab descriptor fills its heap slot");
_Static_assert(SLAB_MAX_ORDER < BUDDY_SECTION_ORDER, "slabs live in fully initialised sections");
_Static_assert(BUDDY_PAGE_ORDER == 12, "the inline free shifts by 12");

/*
 * The class table (see mm/slab.h). C(size, order): a slab of 2^order bytes holds 2^order / size blocks;
 * the order is the smallest of 12..15 whose tail waste is at most 1/16 of the slab (3584: 8 KiB, 1/8 at
 * any order below 32 KiB), and 13 at least for 160..512. Small slabs matter more than the tail: a class
 * with a few live blocks holds a whole slab (a first choice of "at most 1/40" took 32 KiB slabs for
 * 640..3584 and made the powerlaw trace's footprint 1.65 times its live bytes). But a slab of 8 to 25
 * blocks is taken or given back every dozen allocations of a growing or shrinking class, and each take
 * or give is a few hundred instructions: with 4 KiB slabs for 160..512, 2% of the uniform trace's
 * operations (sizes 16..512) did one, its 99th percentile was 286 instructions (93 with 8 KiB), for a
 * footprint 1.20 rather than 1.21 times its live bytes. div = ceil(2^64 / size) = floor((2^64 - 1) /
 * size) + 1 (for a power of two as well): Lemire's divisibility test, exact for every offset in a slab
 * (see struct slab_class).
 */
#define C(sz, ord)                                                                                  \
	{ .div = UINT64_MAX / (sz) + 1, .omask = (1u << (ord)) - 1, .end = (1u << (ord)) / (sz) * (sz), \
	  .size = (sz), .n = (uint16_t)((1u << (ord)) / (sz)) }

_Static_assert(SLAB_NCLASSES < HEAP_RUN_HEAD && HEAP_RUN_HEAD < HEAP_RUN_BODY &&
	       HEAP_RUN_BODY < HEAP_PAGE_BYTE_VALUES, "page bytes: 0, the classes, the page runs'");

const struct slab_class slab_class_of_byte[HEAP_PAGE_BYTE_VALUES] = {
	/*
	 * Page bytes past the classes mark page runs (mm/heap.h: HEAP_RUN_HEAD, HEAP_RUN_BODY): their div of
	 * 0 fails the inline free's first test, and their omask points its (speculated) loads at their own
	 * page's descriptor, never outside the table or the descriptor array.
	 */
	[SLAB_NCLASSES + 1 ... HEAP_PAGE_BYTE_VALUES - 1] = { .div = 0, .omask = 0xfff },
	[0] = { .div = 0, .omask = 0xfff },	/* page byte 0: no slab */
	C(16, 12),   C(32, 12),   C(48, 12),   C(64, 12),   C(80, 12),   C(96, 12),   C(112, 12),
	C(128, 12),  C(160, 13),  C(192, 13),  C(224, 13),  C(256, 13),  C(320, 13),  C(384, 13),
	C(448, 13),  C(512, 13),  C(640, 12),  C(768, 12),  C(896, 13),  C(1024, 12), C(1280, 12),
	C(1536, 13), C(1792, 14), C(2048, 12), C(2560, 13), C(3072, 14), C(3584, 13), C(4096, 12),
};

_Static_assert(sizeof(struct slab_class) == 16, "the inline free indexes the table with a shift");
_Static_assert(sizeof(struct slab_ent) == 32, "the inline free indexes the per-hart table with a shift");
_Static_assert(offsetof(struct slab_cpu, spare) < 2048 - 16, "every field of struct slab_cpu starts within "
	       "the 12-bit offset of a load from its address, or from tp (mm/cpu.h: MM_CPU_TP_OFFSET)");

#define class_tab slab_classes

struct slab slab_none = { .bump = UINT16_MAX, .state = SLAB_NONE, .owner = 0xffff };

/* every hart's slab state, for the owner of a remote free's block */
static struct slab_cpu *harts[MM_MAX_HARTS];

unsigned slab_size_class(size_t size)
{
	unsigned k = 0;

	while (class_tab[k].size < size)
		k++;
	return k;
}

int slab_class_aligned(size_t size, size_t align)
{
	unsigned k;

	if (!size || size > SLAB_MAX_SIZE || align > SLAB_MAX_SIZE)
		return -1;
	for (k = slab_size_class(size); k < SLAB_NCLASSES; k++)
		if (!(class_tab[k].size & (align - 1)))
			return (int)k;
	return -1;
}

void slab_cpu_init(struct slab_cpu *sc, unsigned hart, struct heap *home)
{
	unsigned i, k;

	memset(sc, 0, sizeof(*sc));
	for (i = 0; i < HEAP_PAGE_BYTE_VALUES; i++)
		sc->ent[i].ci = slab_class_of_byte[i];
	for (i = 0; i < SLAB_NCLASSES; i++) {
		struct slab_cache *m = slab_cache_of(sc, i);

		sc->cur[i] = &slab_none;
		m->bound = m->max = m->room = (uint16_t)slab_cache_max(class_tab[i].size);
	}
	for (i = 0, k = 0; i < SLAB_MAX_SIZE / 16; i++) {	/* one walk of the classes, not one per size */
		while (class_tab[k].size < 16 * i + 16)
			k++;
		sc->cls_of_size[i] = (uint8_t)k;
	}
	sc->hart = hart;
	if (home && home->size) {
		sc->home = home;
		sc->lo = home->b.base;
		sc->span = home->b.end - home->b.base;
		sc->pg_bias = home->b.pg_bias;
		sc->desc_bias = home->page_desc_bias;
	}
	if (hart < MM_MAX_HARTS)
		harts[hart] = sc;
}

/* ---- slabs ---- */

static uintptr_t slab_base(uintptr_t desc_bias, const struct slab *s)
{
	return ((uintptr_t)s - desc_bias) << 7;	/* / sizeof(struct slab) << 12 (see slab_desc_at()) */
}

static void set_pages(uintptr_t pg_bias, uintptr_t base, unsigned order, uint8_t v)
{
	unsigned i;

	for (i = 0; i < 1u << (order - BUDDY_PAGE_ORDER); i++)
		*buddy_page_byte(pg_bias, base + ((uintptr_t)i << BUDDY_PAGE_ORDER)) = v;
}

/*
 * The partial list of a class: NULL-ended through next, and head->prev is the tail, so that slabs join
 * at the tail and leave from the head (FIFO): the slab that has waited longest has had the most frees
 * since it left the full state, and a switch to it buys the most allocations per slow path.
 */
static void list_add(struct slab **head, struct slab *s)
{
	struct slab *h = *head;

	s->next = NULL;
	if (!h) {
		s->prev = s;
		*head = s;
		return;
	}
	s->prev = h->prev;
	h->prev->next = s;
	h->prev = s;
}

static void list_del(struct slab **head, struct slab *s)
{
	struct slab *h = *head;

	if (s == h) {
		*head = s->next;
		if (s->next)
			s->next->prev = s->prev;
	} else {
		s->prev->next = s->next;
		if (s->next)
			s->next->prev = s->prev;
		else
			h->prev = s->prev;	/* s was the tail */
	}
	s->next = s->prev = NULL;
}

/* a new slab of class k from the home heap: one buddy allocation under its lock (inline in its two callers) */
static inline __attribute__((always_inline)) struct slab *slab_take(struct slab_cpu *sc, unsigned k)
{
	const struct slab_class *ci = &class_tab[k];
	unsigned order = slab_class_order(ci);
	struct heap *h = sc->home;
	struct slab *s;
	void *p;
	error_t e;

	spin_lock(&h->lock);
	e = buddy_alloc_order(&h->b, order, &p);
	if (!e)
		buddy_take(&h->b, (uintptr_t)p);
	else
		h->failures++;
	spin_unlock(&h->lock);
	if (e)
		return NULL;
	s = slab_desc(sc->desc_bias, (uintptr_t)p >> 12);
	*s = (struct slab){ .free = NULL, .used = 0, .bump = 0, .cls = (uint8_t)k, .state = SLAB_CUR,
			    .owner = (uint16_t)sc->hart };
	set_pages(sc->pg_bias, (uintptr_t)p, order, (uint8_t)(k + 1));
	sc->cnt.slabs_taken++;
	return s;
}

/* give empty slab @s (on no list) back to the home heap: page bytes cleared first, then one buddy free */
static void slab_give(struct slab_cpu *sc, struct slab *s)
{
	const struct slab_class *ci = &class_tab[s->cls];
	uintptr_t base = slab_base(sc->desc_bias, s);
	struct heap *h = sc->home;

	s->state = SLAB_NONE;
	set_pages(sc->pg_bias, base, slab_class_order(ci), 0);
	spin_lock(&h->lock);
	buddy_untake(&h->b, base);
	if (!buddy_free_fast(&h->b, base))
		MM_PANIC("slab %lx of cluster %u refused by its heap", (unsigned long)base, h->cluster);
	spin_unlock(&h->lock);
	sc->cnt.slabs_given++;
}

/*
 * Hand out the next never-used block of @s (bump < end; its free list is empty): slab_alloc_fast()'s
 * bump, out of line, for the first allocation from a slab just taken or switched to.
 */
static inline __attribute__((always_inline)) void *bump(struct slab_cpu *sc, struct slab *s,
							const struct slab_class *ci)
{
	unsigned o = s->bump;
	struct slab_blk *b = (struct slab_blk *)(slab_base(sc->desc_bias, s) + o);

#if MM_DEBUG
	/* served as if from a free list: poisoned past its link (see the debug allocator, mm/mem_debug.c) */
	if (ci->size > MEM_DBG_TRAILER + sizeof(*b))
		memset((char *)b + sizeof(*b), MEM_DBG_POISON, ci->size - MEM_DBG_TRAILER - sizeof(*b));
#endif
	b->mark = 0;
	s->bump = (uint16_t)(o + ci->size);
	s->used++;
	return b;
}

/*
 * The bias of the current slab (mm/slab.h: SLAB_USED_BIAS): it has it iff its class has no spare. Every
 * change of cur[k] or spare[k] goes through these two, which keep that so.
 */
static void spare_set(struct slab_cpu *sc, unsigned k, struct slab *sp)
{
	struct slab *c = sc->cur[k];

	if (c != &slab_none && !sp != !sc->spare[k])
		c->used = (uint16_t)(sp ? c->used - SLAB_USED_BIAS : c->used + SLAB_USED_BIAS);
	sc->spare[k] = sp;
}

static inline __attribute__((always_inline)) void cur_set(struct slab_cpu *sc, unsigned k, struct slab *s)
{
	struct slab *c = sc->cur[k];

	if (c != &slab_none && !sc->spare[k])
		c->used = (uint16_t)(c->used - SLAB_USED_BIAS);
	if (s != &slab_none && !sc->spare[k])
		s->used = (uint16_t)(s->used + SLAB_USED_BIAS);
	sc->cur[k] = s;
}

/*
 * After a free into @s (used already decremented): a slab that was full (on no list) joins the partial
 * list; a partial slab that emptied goes back to the heap unless @keep (a drain over its budget: it stays
 * on the list, empty, and serves allocations or the next slab_drain()). The inline free also calls it
 * for a current slab that had no free block (carved out): nothing to do then.
 */
static void note(struct slab_cpu *sc, struct slab *s, bool keep)
{
	unsigned k = s->cls;
	struct slab *sp = sc->spare[k];

	if (s->state == SLAB_FULL) {
		s->state = SLAB_PARTIAL;
		list_add(&sc->partial[k], s);
	}
	if (slab_used(s))
		return;
	/* at most one empty slab per class stays: the current one if it is empty, else a spare */
	if (s->state == SLAB_CUR) {
		if (sp && !keep) {
			spare_set(sc, k, NULL);
			list_del(&sc->partial[k], sp);
			slab_give(sc, sp);
		}
	} else if (s->state == SLAB_PARTIAL && s != sp) {
		if (!sp && slab_used(sc->cur[k]))
			spare_set(sc, k, s);
		else if (!keep) {
			list_del(&sc->partial[k], s);
			slab_give(sc, s);
		}
	}
}


/* free marked block @b into its slab @s (owner only) */
static void local_free(struct slab_cpu *sc, struct slab *s, struct slab_blk *b, bool keep)
{
	b->next = s->free;
	b->mark = SLAB_MARK(b);
	s->free = b;
	s->used--;
	if (!s->used || s->state == SLAB_FULL)
		note(sc, s, keep);	/* a current slab with the bias never reaches 0 */
}

/*
 * Free at most @max blocks of the inbox into their slabs (all: max 0). The inbox is taken whole with one
 * atomic exchange (acquire: the pushers' link and marker stores, released by their compare-and-swap, are
 * visible) into the private pending chain, which is worked off SLAB_DRAIN_MAX at a time. At most two
 * slabs emptied by one call go back to the heap; further empty ones wait on their partial list.
 */
static __attribute__((noinline)) void take_inbox(struct slab_cpu *sc, unsigned max)
{
	uint64_t given0 = sc->cnt.slabs_given;
	unsigned i;

	for (i = 0; !max || i < max; i++) {
		struct slab_blk *b = sc->pending;
		struct slab *s;
		unsigned k;

		if (!b) {
			if (!__atomic_load_n(&sc->inbox, __ATOMIC_RELAXED))
				break;
			b = __atomic_exchange_n(&sc->inbox, NULL, __ATOMIC_ACQUIRE);
			sc->cnt.inbox_takes++;
		}
		sc->pending = b->next;
		sc->cnt.inbox_blocks++;
		k = *buddy_page_byte(sc->pg_bias, (uintptr_t)b);
		if (!k)
			MM_PANIC("remote-freed block %p of hart %u is in no slab", (void *)b, sc->hart);
		s = slab_desc_at(sc->desc_bias, (uintptr_t)b & ~(uintptr_t)class_tab[k - 1].omask);
		local_free(sc, s, b, max && sc->cnt.slabs_given - given0 >= 2);
	}
}

/*
 * The current slab of class @k has no free block: hand out its never-used ones, take the inbox, switch to
 * a partial slab, or take a new slab. Return the new state of cur[k] with a free or never-used block, or
 * NULL (no room for a slab).
 */
static __attribute__((noinline)) struct slab *refill_rare(struct slab_cpu *sc, unsigned k)
{
	struct slab *s = sc->cur[k], *t;

	for (;;) {
		if (s->free)
			return s;
		if (s != &slab_none && s->bump < class_tab[k].end)
			return s;
		if (sc->pending || __atomic_load_n(&sc->inbox, __ATOMIC_RELAXED)) {
			take_inbox(sc, SLAB_DRAIN_MAX);
			if (s->free)
				return s;
		}
		/*
		 * The current slab is used up (carved whole, no free block: used == n, blocks in transit
		 * included): it goes on no list (full) until a free reaches it.
		 */
		if (s != &slab_none) {
			cur_set(sc, k, &slab_none);
			s->state = SLAB_FULL;
		}
		if ((t = sc->partial[k]) != NULL) {
			if (t == sc->spare[k] && t->next)
				t = t->next;	/* a slab with live blocks first: the spare stays empty */
			if (t == sc->spare[k])
				spare_set(sc, k, NULL);
			list_del(&sc->partial[k], t);
			sc->cnt.switches++;
		} else if ((t = slab_take(sc, k)) == NULL) {
			return NULL;
		}
		t->state = SLAB_CUR;
		cur_set(sc, k, t);
		s = t;
	}
}

/* pop the first free block of @s (it has one): the inline path's pop, out of line */
static inline __attribute__((always_inline)) void *pop(struct slab_cpu *sc, struct slab *s)
{
	struct slab_blk *b = s->free;

	s->free = b->next;
	b->mark = 0;
	s->used++;
	return b;
}

/* refill_rare() and the pop, out of line: slab_alloc_slow() reaches it by a tail call */
static __attribute__((noinline)) void *alloc_rare(struct slab_cpu *sc, unsigned k)
{
	struct slab *s = refill_rare(sc, k);

	return !s ? NULL : s->free ? pop(sc, s) : bump(sc, s, &class_tab[k]);
}

/*
 * The current slab of class @k is used up (or none), no partial slab and nothing in the inbox: straight
 * to a new slab, without refill_rare()'s walk, and its first block.
 */
static __attribute__((noinline)) void *alloc_take(struct slab_cpu *sc, unsigned k)
{
	struct slab *s = sc->cur[k];

	if (s != &slab_none) {	/* full: on no list until a free reaches it (see refill_rare()) */
		cur_set(sc, k, &slab_none);
		s->state = SLAB_FULL;
	}
	s = slab_take(sc, k);
	if (!s)
		return NULL;
	cur_set(sc, k, s);
	return bump(sc, s, &class_tab[k]);
}

/*
 * slab_alloc_slow()'s common cases, with no call, so that it saves no register: the current slab @s has
 * never-used blocks left (bump()), or it is carved out and full, nothing waits in the inbox, and the partial list's
 * head is not the spare: that head becomes current (the bias, if any, moves with it; a partial slab
 * always has a free block). The switch spells out cur_set() and list_del() of the head.
 */
static inline __attribute__((always_inline)) void *alloc_slow(struct slab_cpu *sc, unsigned k)
{
	const struct slab_class *ci = &class_tab[k];
	struct slab *s = sc->cur[k], *t, *nx;
	struct slab_cache *m = slab_cache_of(sc, k);

	if (unlikely(!sc->home))
		return NULL;
	if (unlikely(m->max < m->bound)) {
		/* the cache missed: its bound grows back by SLAB_CACHE_STEP (slab_cache_gc() shrank it) */
		unsigned add = m->bound - m->max < SLAB_CACHE_STEP ? m->bound - m->max : SLAB_CACHE_STEP;

		m->max = (uint16_t)(m->max + add);
		m->room = (uint16_t)(m->room + add);
	}
	if (s->free)
		return pop(sc, s);
	if (likely(s != &slab_none && s->bump < ci->end))
		return bump(sc, s, ci);
	t = sc->partial[k];
	if (unlikely(s == &slab_none || !t || t == sc->spare[k] || sc->pending ||
		     __atomic_load_n(&sc->inbox, __ATOMIC_RELAXED))) {
		if (!t && !sc->pending && !__atomic_load_n(&sc->inbox, __ATOMIC_RELAXED))
			return alloc_take(sc, k);
		return alloc_rare(sc, k);
	}
	if (!sc->spare[k]) {
		s->used = (uint16_t)(s->used - SLAB_USED_BIAS);
		t->used = (uint16_t)(t->used + SLAB_USED_BIAS);
	}
	s->state = SLAB_FULL;
	nx = t->next;	/* list_del() of the head */
	sc->partial[k] = nx;
	if (nx)
		nx->prev = t->prev;
	t->next = t->prev = NULL;
	t->state = SLAB_CUR;
	sc->cur[k] = t;
	sc->cnt.switches++;
	return pop(sc, t);
}

void *slab_alloc_slow(struct slab_cpu *sc, unsigned k)
{
	return alloc_slow(sc, k);
}

struct mm_alloc_ret slab_alloc_miss(struct slab_cpu *sc, unsigned k, size_t size, unsigned valid,
				    struct mm_alloc_ret (*full)(size_t size, unsigned valid))
{
	void *p = alloc_slow(sc, k);

	if (unlikely(!p))
		return full(size, valid);
	return (struct mm_alloc_ret){ 0, p };
}

/* ---- frees from the slow path, checked; remote frees ---- */

/*
 * Find the slab of @a in heap @h and check @a is a live block start of it. Return 0 (and *@sp, *@kp); 1
 * when @a is in no slab; the refusal otherwise.
 */
static int lookup(struct heap *h, uintptr_t a, struct slab **sp)
{
	const struct slab_class *ci;
	uintptr_t off, q;
	struct slab *s;
	unsigned k;

	if (!h || !h->size || a - h->b.base >= h->b.span)
		return 1;	/* (a cluster heap's page bytes are valid in every section: buddy_init_zeroed()) */
	k = *buddy_page_byte(h->b.pg_bias, a);
	if (!k || k > SLAB_NCLASSES)
		return 1;	/* no slab: a buddy block, or a page run of the heap (mm/heap.h) */
	ci = &class_tab[k - 1];
	off = a & ci->omask;
	s = slab_desc_at(h->page_desc_bias, a - off);
	*sp = s;
	if (a & 15)
		return ERR_MISALIGNED;
	q = off / ci->size;
	if (q * ci->size != off || q >= ci->n)
		return ERR_INTERIOR;	/* inside a block, or in the slab's unused tail */
	/* never carved, or carrying the marker: free (bump only grows; a racy read errs towards "carved") */
	if (off >= __atomic_load_n(&s->bump, __ATOMIC_RELAXED) || ((struct slab_blk *)a)->mark == SLAB_MARK(a))
		return ERR_DOUBLEFREE;
	return 0;
}

bool slab_owns(struct heap *h, uintptr_t a)
{
	struct slab *s;

	return lookup(h, a, &s) != 1;
}

int slab_getsize(struct heap *h, uintptr_t a, size_t *size)
{
	struct slab *s;
	int e = lookup(h, a, &s);

	if (!e)
		*size = class_tab[s->cls].size;
	return e;
}

/* push batch @o onto its owner's inbox: one compare-and-swap (release: the links and markers first) */
static __attribute__((noinline)) void out_flush(struct slab_cpu *sc, struct slab_out *o)
{
	struct slab_cpu *dst = harts[o->owner];
	struct slab_blk *old = __atomic_load_n(&dst->inbox, __ATOMIC_RELAXED);

	for (;;) {
		o->tail->next = old;
		if (__atomic_compare_exchange_n(&dst->inbox, &old, o->head, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			break;
		sc->cnt.remote_cas_retries++;
	}
	sc->cnt.remote_pushes++;
	sc->cnt.remote_frees += o->n;
	o->head = o->tail = NULL;
	o->n = 0;
}

/* append block @b to batch @o (empty, or @owner's); return its new length */
static inline __attribute__((always_inline)) uint32_t out_append(struct slab_cpu *sc, struct slab_out *o,
								 unsigned owner, struct slab_blk *b)
{
	struct slab_blk *head = o->head;

	b->mark = SLAB_MARK(b);
	b->next = head;
	if (!head)
		o->tail = b;
	o->head = b;
	o->owner = owner;
	return ++o->n;
}

/* remote_free()'s rare case, out of line so that its common one saves no register */
static __attribute__((noinline)) void out_evict(struct slab_cpu *sc, struct slab_out *o, unsigned owner,
						struct slab_blk *b)
{
	out_flush(sc, o);	/* the slot holds another owner's batch: it goes first */
	(void)out_append(sc, o, owner, b);	/* 1 < SLAB_REMOTE_BATCH: no flush */
}

/*
 * Append marked-to-be block @b to the outgoing batch of @owner: slot owner % SLAB_OUT (direct-mapped, so
 * finding it is one index); a slot busy with another owner is pushed first. The calls are tail calls.
 */
static inline __attribute__((always_inline)) void remote_free(struct slab_cpu *sc, uintptr_t owner,
							      struct slab_blk *b)
{
	struct slab_out *o = &sc->out[owner % SLAB_OUT];
	struct slab_blk *head = o->head;
	uint32_t n = o->n;

	_Static_assert(SLAB_REMOTE_BATCH > 1, "out_evict() appends without a flush");
	b->mark = SLAB_MARK(b);
	b->next = head;
	if (!head) {
		o->tail = b;
		o->owner = (uint32_t)owner;
	} else if (unlikely(o->owner != owner)) {
		out_evict(sc, o, (unsigned)owner, b);	/* b's link is written again there */
		return;
	}
	o->head = b;
	o->n = ++n;
	if (unlikely(n >= SLAB_REMOTE_BATCH))
		out_flush(sc, o);
}

void slab_free_remote_fast(struct slab_cpu *sc, struct heap *h, uintptr_t a, void (*other)(void *))
{
	const struct slab_class *ci;
	uintptr_t off;
	struct slab *s;
	uintptr_t owner;

	/*
	 * Every page byte of a cluster heap is valid (heap_build() zeroes them: 0 outside slabs and page runs,
	 * in every section), so no section state is tested first.
	 */
	ci = &slab_class_of_byte[*buddy_page_byte(h->b.pg_bias, a)];
	off = a & ci->omask;
	s = slab_desc_at(h->page_desc_bias, a - off);
	/* div 0 (no class) fails the first test */
	if (off * ci->div >= ci->div || off >= __atomic_load_n(&s->bump, __ATOMIC_RELAXED) ||
	    ((struct slab_blk *)a)->mark == SLAB_MARK(a))
		goto other;
	/* a live slab's owner is a hart with slab state (slab_take() wrote it): no test of harts[] */
	owner = s->owner;
	if (owner == sc->hart)
		goto other;
	remote_free(sc, owner, (struct slab_blk *)a);
	return;
other:
	other((void *)a);
}

int slab_free_any(struct slab_cpu *sc, struct heap *h, uintptr_t a)
{
	struct slab *s;
	int e = lookup(h, a, &s);
	unsigned owner;

	if (e) {
		if (e == ERR_DOUBLEFREE)
			sc->cnt.double_frees++;
		else if (e != 1)
			sc->cnt.bad_frees++;
		return e;
	}
	owner = s->owner;
	if (owner == sc->hart && h == sc->home)
		local_free(sc, s, (struct slab_blk *)a, false);
	else
		remote_free(sc, owner, (struct slab_blk *)a);
	return 0;
}

/* live block @b of slab @s of the home heap: into @s, or into the batch for its owner */
static void free_home(struct slab_cpu *sc, struct slab *s, struct slab_blk *b)
{
	if (s->owner == sc->hart)
		local_free(sc, s, b, false);
	else
		remote_free(sc, s->owner, b);
}

/* the most recent block of class @k's cache (it has one): live again, and back to its slab */
static void cache_evict(struct slab_cpu *sc, unsigned k)
{
	struct slab_cache *m = slab_cache_of(sc, k);
	struct slab_blk *b = m->head;

	m->head = b->next;
	m->room++;
	b->mark = 0;
	free_home(sc, slab_desc_at(sc->desc_bias, (uintptr_t)b & ~(uintptr_t)class_tab[k].omask), b);
}

/* an idle cache's step: up to SLAB_CACHE_STEP blocks back, out of line so that a busy step saves no register */
static __attribute__((noinline)) void cache_gc_evict(struct slab_cpu *sc, unsigned k)
{
	struct slab_cache *m = slab_cache_of(sc, k);
	uint64_t given = sc->cnt.slabs_given;
	unsigned i;

	/* a slab given back ends the step: no step gives more than one */
	for (i = 0; i < SLAB_CACHE_STEP && m->head && sc->cnt.slabs_given == given; i++) {
		cache_evict(sc, k);	/* room + 1 ... */
		m->room--;		/* ... and the bound - 1: the room stays */
		m->max--;
	}
}

/*
 * The caches' garbage collection, one class per step, in turn: a cache whose head has not changed since
 * the step before on it (no free into it, no allocation from it in between: idle) gives up to
 * SLAB_CACHE_STEP blocks back to their slabs and its bound shrinks by as many, so that a cache does not
 * keep the slabs of its last frees after a burst. A slow-path allocation grows the bound back
 * (alloc_slow()). The steps ride on the slab layer's rare paths (slab_free_note(), refills): a quiet
 * hart does none, and no step costs more than SLAB_CACHE_STEP frees.
 */
static inline __attribute__((always_inline)) void cache_gc(struct slab_cpu *sc)
{
	unsigned k = sc->gc_next;
	struct slab_blk *head = slab_cache_of(sc, k)->head;	/* idle: SLAB_CACHE_SEEN() unchanged */

	sc->gc_next = k + 1 < SLAB_NCLASSES ? k + 1 : 0;
	if (head && SLAB_CACHE_SEEN(head) == slab_cache_of(sc, k)->seen) {
		cache_gc_evict(sc, k);
		head = slab_cache_of(sc, k)->head;
	}
	slab_cache_of(sc, k)->seen = SLAB_CACHE_SEEN(head);
}

void slab_cache_gc(struct slab_cpu *sc)
{
	cache_gc(sc);
}

/*
 * A free that empties its slab may give it back, and then takes no garbage-collection step: at most one
 * buddy operation per free. The common case (a full slab joins the partial list, or nothing) spells out
 * note()'s first part, so that it costs no more than the step.
 */
void slab_free_note(struct slab *s)
{
	struct slab_cpu *sc = harts[s->owner];	/* the caller's own: the inline free passes no @sc */

	if (unlikely(!slab_used(s))) {
		note(sc, s, false);
		return;
	}
	if (s->state == SLAB_FULL) {
		s->state = SLAB_PARTIAL;
		list_add(&sc->partial[s->cls], s);
	}
	cache_gc(sc);
}

/* empty the cache of class @k: each block live again, then freed into its slab or sent to its owner */
static void cache_flush(struct slab_cpu *sc, unsigned k)
{
	struct slab_cache *m = slab_cache_of(sc, k);

	while (m->head)
		cache_evict(sc, k);
}

void slab_drain(struct slab_cpu *sc)
{
	unsigned i;

	for (i = 0; i < SLAB_NCLASSES; i++)
		cache_flush(sc, i);
	for (i = 0; i < SLAB_OUT; i++)
		if (sc->out[i].n)
			out_flush(sc, &sc->out[i]);
	take_inbox(sc, 0);
	for (i = 0; i < SLAB_NCLASSES; i++) {
		struct slab *s = sc->partial[i], *next;

		spare_set(sc, i, NULL);
		for (; s; s = next) {
			next = s->next;
			if (!slab_used(s)) {
				list_del(&sc->partial[i], s);
				slab_give(sc, s);
			}
		}
		s = sc->cur[i];
		if (s != &slab_none && !slab_used(s)) {
			cur_set(sc, i, &slab_none);
			slab_give(sc, s);
		}
	}
}

/* ---- invariant check ---- */

static error_t check_slab(const struct slab_cpu *sc, const struct slab *s, unsigned k, unsigned state,
			  char *why, size_t len)
{
	const struct slab_class *ci = &class_tab[k];
	uintptr_t base = slab_base(sc->desc_bias, s), i;
	const struct slab_blk *b;
	unsigned nfree = 0;
	const struct heap *h = sc->home;

	if (s->cls != k || s->owner != sc->hart || s->state != state) {
		snprintf(why, len, "slab %lx: class %u owner %u state %u, expected %u %u %u", (unsigned long)base,
			 s->cls, s->owner, s->state, k, sc->hart, state);
		return ERR_CORRUPT;
	}
	if (base - h->b.base >= h->b.span || (base & ci->omask) ||
	    *buddy_tag(h->b.tag_bias, base) != (BUDDY_TAG_FREE | slab_class_order(ci))) {
		snprintf(why, len, "slab %lx: not a taken block of order %u", (unsigned long)base, slab_class_order(ci));
		return ERR_CORRUPT;
	}
	/* the bias: a current slab has it iff its class has no spare, no other slab has it */
	if (!(s->used & SLAB_USED_BIAS) != !(state == SLAB_CUR && !sc->spare[k])) {
		snprintf(why, len, "slab %lx: used %#x: wrong bias", (unsigned long)base, s->used);
		return ERR_CORRUPT;
	}
	for (i = 0; i < (1u << (slab_class_order(ci) - 12)); i++)
		if (*buddy_page_byte(sc->pg_bias, base + (i << 12)) != k + 1) {
			snprintf(why, len, "slab %lx: page %lu byte is not class %u", (unsigned long)base,
				 (unsigned long)i, k);
			return ERR_CORRUPT;
		}
	for (b = s->free; b; b = b->next) {
		uintptr_t off = (uintptr_t)b - base;

		if (off >= ci->end || off % ci->size || off >= s->bump ||
		    b->mark != SLAB_MARK(b) || ++nfree > ci->n) {
			snprintf(why, len, "slab %lx: bad free block %p", (unsigned long)base, (const void *)b);
			return ERR_CORRUPT;
		}
	}
	if (s->bump > ci->end || s->bump % ci->size || slab_used(s) + nfree != s->bump / ci->size) {
		snprintf(why, len, "slab %lx: used %u + free %u != carved %u (bump %u)", (unsigned long)base,
			 slab_used(s), nfree, s->bump / ci->size, s->bump);
		return ERR_CORRUPT;
	}
	if (state == SLAB_PARTIAL && !s->free && s->bump == ci->end) {
		snprintf(why, len, "slab %lx: on the partial list with no free block", (unsigned long)base);
		return ERR_CORRUPT;
	}
	return 0;
}

/* the cache of class @k: at most its bound, room counts the rest, each block a marked carved one of class @k */
static error_t check_cache(const struct slab_cpu *sc, unsigned k, char *why, size_t len)
{
	const struct slab_cache *m = slab_cache_of(sc, k);
	const struct slab_class *ci = &class_tab[k];
	const struct slab_blk *b;
	unsigned n = 0;

	if (m->bound != slab_cache_max(ci->size) || m->max > m->bound || m->room > m->max) {
		snprintf(why, len, "class %u: cache room %u of %u (bound %u)", k, m->room, m->max, m->bound);
		return ERR_CORRUPT;
	}
	for (b = m->head; b; b = b->next) {
		uintptr_t a = (uintptr_t)b, off = a & ci->omask;
		const struct slab *s = slab_desc_at(sc->desc_bias, a - off);

		if (++n > m->max || a - sc->lo >= sc->span || *buddy_page_byte(sc->pg_bias, a) != k + 1 ||
		    off % ci->size || off >= s->bump || b->mark != SLAB_MARK(b) || !slab_used(s)) {
			snprintf(why, len, "class %u: bad cached block %p", k, (const void *)b);
			return ERR_CORRUPT;
		}
	}
	if (n != (unsigned)(m->max - m->room)) {
		snprintf(why, len, "class %u: %u cached blocks, room %u of %u", k, n, m->room, m->max);
		return ERR_CORRUPT;
	}
	return 0;
}

/* slab_usage()'s count of one current or partial slab @s of class @ci */
static void usage_of(const struct slab_cpu *sc, const struct slab *s, const struct slab_class *ci,
		     struct slab_usage *u)
{
	uint64_t bytes = (uint64_t)1 << slab_class_order(ci);

	u->slabs++;
	if (s == sc->spare[s->cls]) {
		u->spare += bytes;
		return;
	}
	u->slab_free += (uint64_t)(ci->n - slab_used(s)) * ci->size;
	u->slab_tail += bytes - (uint64_t)ci->n * ci->size;
}

void slab_usage(const struct slab_cpu *sc, struct slab_usage *u)
{
	const struct slab *s;
	unsigned k;

	*u = (struct slab_usage){ 0 };
	for (k = 0; k < SLAB_NCLASSES; k++) {
		const struct slab_class *ci = &class_tab[k];

		u->cached += (uint64_t)(slab_cache_of(sc, k)->max - slab_cache_of(sc, k)->room) * ci->size;
		if (sc->cur[k] != &slab_none)
			usage_of(sc, sc->cur[k], ci, u);
		for (s = sc->partial[k]; s; s = s->next)
			usage_of(sc, s, ci, u);
	}
}

error_t slab_check(const struct slab_cpu *sc, char *why, size_t whylen)
{
	char dummy[8];
	unsigned k;

	if (!why)
		why = dummy, whylen = sizeof(dummy);
	snprintf(why, whylen, "ok");
	if (!sc->home)
		return 0;	/* (its inline free reads no class: its span is empty) */
	/* the inline free trusts the per-hart copy of the class table: it must be the table */
	for (k = 0; k < HEAP_PAGE_BYTE_VALUES; k++)
		if (memcmp(&sc->ent[k].ci, &slab_class_of_byte[k], sizeof(struct slab_class))) {
			snprintf(why, whylen, "hart %u: class entry of page byte %u differs from the table", sc->hart, k);
			return ERR_CORRUPT;
		}
	for (k = 0; k < SLAB_NCLASSES; k++) {
		const struct slab *s;
		unsigned n = 0;
		error_t e;

		if (sc->cur[k] != &slab_none && (e = check_slab(sc, sc->cur[k], k, SLAB_CUR, why, whylen)))
			return e;
		bool spare_seen = false;

		for (s = sc->partial[k]; s; s = s->next) {
			if ((e = check_slab(sc, s, k, SLAB_PARTIAL, why, whylen)))
				return e;
			spare_seen |= s == sc->spare[k];
			if (++n > (1u << 24) || (s->next && s->next->prev != s) || (!s->next && sc->partial[k]->prev != s)) {
				snprintf(why, whylen, "class %u: partial list broken", k);
				return ERR_CORRUPT;
			}
		}
		if (sc->spare[k] && (!spare_seen || slab_used(sc->spare[k]))) {
			snprintf(why, whylen, "class %u: the spare slab is not an empty partial one", k);
			return ERR_CORRUPT;
		}
		if ((e = check_cache(sc, k, why, whylen)))
			return e;
	}
	return 0;
}
