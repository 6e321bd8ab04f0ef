/* mem.h - mem_alloc(): placement by proximity, eligibility by reachability, over per-cluster pools. */
#ifndef MM_MEM_H
#define MM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/lock.h"
#include "mm/cpu.h"
#include "mm/err.h"
#include "mm/pool.h"
#include "mm/topo.h"

/*
 * The MutekH proposal (ticket #58), built on kernel_heap[x][y]. Two questions are kept apart:
 *
 * - reachability, "who MAY access the block": a hard constraint deciding which regions qualify. It is a
 *   set relation: a region qualifies when everyone who may access the block can reach the region.
 *       request \ region      SYS   SYS+DMA   CLUSTER(c)   CPU(h)
 *       MEM_VALID_SYS          yes    yes        no          no
 *       MEM_VALID_DMA          no     yes        no          no
 *       MEM_VALID_CLUSTER      yes    yes     c == the proximity's cluster    no
 *       MEM_VALID_CPU          yes    yes     c == caller's cluster           h == caller
 *   (for MEM_VALID_CLUSTER the cluster is the proximity's, or the caller's for the global proximity)
 * - proximity, "where it SHOULD preferably be": a preference order over clusters, tried in turn.
 *
 * Private regions (CLUSTER/CPU) are tried before the cluster's SYS heap for the requests they may serve:
 * that is what scratch memory is for, and it leaves SYS memory to requests that need it.
 */
enum mem_reachability_s {
	MEM_VALID_SYS,
	MEM_VALID_DMA,
	MEM_VALID_CLUSTER,
	MEM_VALID_CPU,
	MEM_VALID_COUNT_
};

/*
 * A proximity: the seed's alloc/priv pair, and what kind it is. A caller-made proximity leaves kind at
 * MEM_PROX_CALLER (0, what a zero-initialised struct holds): mem_alloc() then calls its alloc() and writes
 * no receipt. The kernel's own proximities (mem_prox_cluster(), _strict(), _global()) carry their kind,
 * which mem_alloc() reads instead of telling them apart by their functions.
 */
enum mem_prox_kind {
	MEM_PROX_CALLER,	/* made by the caller: its alloc() decides */
	MEM_PROX_CLUSTER,	/* a cluster, then the others by distance (priv: the order) */
	MEM_PROX_STRICT,	/* that cluster or nothing */
	MEM_PROX_GLOBAL,	/* round-robin over every cluster with memory */
};

struct mem_proximity_s {
	error_t (*alloc)(size_t size, void *priv, enum mem_reachability_s valid, void **addr);
	void *priv;
	enum mem_prox_kind kind;
};

/* What served a request (optional out-struct of mem_alloc_receipt()). */
struct mem_receipt {
	unsigned cluster;		/* cluster whose memory holds the block */
	unsigned rank;			/* position of that cluster in the proximity's order (0 = first choice) */
	bool fallback;			/* rank > 0: the first choice had no room (or no memory) */
	bool cached;			/* served from the calling hart's cache */
	const char *region;		/* region name: "heap", "private", ... */
};

/* per-cluster counters (summed over harts when read) */
struct mem_cluster_stats {
	uint64_t local_hits;		/* requests served by their first-choice cluster, which is this one */
	uint64_t fallbacks_in;		/* requests served here whose first choice was another cluster */
	uint64_t fallbacks_out;		/* requests whose first choice was here but that were served elsewhere */
	uint64_t failures;		/* requests whose first choice was here and that failed */
};

/* MEM_VALID_DMA requests this large go first to the CMA region named "default" (see mm/mem.c). */
#define MEM_DMA_CMA_MIN (64 * 1024)

/* Largest request mem_alloc() accepts at all; larger is ERR_SIZE (absurd), not ERR_NOMEM. */
#define MEM_MAX_SIZE (1ULL << 40)

/*
 * mem_alloc() - allocate @size bytes that everyone @valid names may access, as close as @prox prefers.
 * @size:  bytes (> 0). Blocks from heaps are powers of two >= 64, naturally aligned.
 * @prox:  NULL for the calling hart's cluster proximity (from its CLS); mem_prox_*() for others.
 * @valid: MEM_VALID_*.
 * @addr:  out: the block, written only on success.
 * Context: any hart after mem_init() and mem_cpu_init() for it; may take heap locks (never two at once).
 * Return: 0; ERR_SIZE (0 or > MEM_MAX_SIZE); ERR_REACH (unknown @valid); ERR_INVAL (@addr NULL);
 * ERR_NOMEM (nothing @valid allows has room); ERR_EXHAUSTED (strict proximity: its cluster is full);
 * ERR_NOHEAP (strict proximity: its cluster has no memory). Never panics on exhaustion.
 * The warm-cache path is inline (end of this file); the debug build (MM_DEBUG) has a function instead.
 */
#if MM_DEBUG
error_t mem_alloc(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid, void **addr);
#endif

/* mem_alloc_receipt() - mem_alloc() that also says where the block came from (@r may be NULL). */
error_t mem_alloc_receipt(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid,
			  void **addr, struct mem_receipt *r);

/*
 * mem_free() - free a block from mem_alloc() (errors are logged and otherwise ignored; NULL is a no-op).
 * It refuses, with one log line, what mem_free_checked() refuses, with one exception kept off its fast
 * path: a pointer the allocator never returned, into memory of the home heap that was never split below
 * 64 KiB (inside a large free or allocated block, where no tag past a 64 KiB section's first was ever
 * written: see buddy_section_ready()), is only recognised by mem_free_checked(). (Memory of the span the
 * heap does not manage, reserved or private, has cleared tags: see buddy_clear_tags().)
 */
#if MM_DEBUG
void mem_free(void *addr);
#endif
/*
 * mem_free_checked() - the same, returning why a free was refused: ERR_NOTOWNED, ERR_MISALIGNED,
 * ERR_INTERIOR, ERR_DOUBLEFREE (one log line each; nothing changes). Context: any hart.
 */
error_t mem_free_checked(void *addr);

/* mem_getsize() - usable size of the live block at @addr. */
error_t mem_getsize(const void *addr, size_t *size);

/* Proximity getters: by cluster id, by mesh position, the global one, and the strict no-fallback one. */
struct mem_proximity_s *mem_prox_cluster(unsigned cluster);
struct mem_proximity_s *mem_prox_xy(unsigned x, unsigned y);
struct mem_proximity_s *mem_prox_global(void);
struct mem_proximity_s *mem_prox_strict(unsigned cluster);

/* mem_prox_order() - the preference order of cluster @c's proximity (clusters with memory, nearest first). */
unsigned mem_prox_order(unsigned c, unsigned *order, unsigned max);

/*
 * mem_prox_rings() - where each ring (clusters at one distance) of cluster @c's order starts: up to @max
 * indexes into mem_prox_order()'s array, nearest ring first.
 * Context: any hart after mem_init(); no lock. Return: the number of rings (0 for a bad @c).
 */
unsigned mem_prox_rings(unsigned c, unsigned *ring_start, unsigned max);

/*
 * mem_init() - build the regions and proximities after heap_init_all(). @dma_limit: first address devices
 * cannot reach (0 = all RAM is DMA-capable). A cluster heap is DMA-capable when all its RAM lies below.
 * Context: boot hart, once.
 */
error_t mem_init(const struct topo *t, uint64_t dma_limit);

/*
 * mem_add_private() - make [base, base+size) a private region: reachable by the harts of @cluster only
 * (@hart_index < 0), or by one hart only. The caller has kept the range out of every heap. @pages: back it
 * with a page_pool (page-granular blocks, page-aligned, no header in front of them: scratch buffers of
 * whole pages) instead of a memory_pool (16-byte granules behind a header). Return: 0; ERR_RANGE (bad
 * cluster, or the cluster has all the regions it can); ERR_NOMEM (no region slot); the pool's init error
 * (ERR_SIZE: too small).
 */
error_t mem_add_private(unsigned cluster, int hart_index, uintptr_t base, size_t size, bool pages);

/*
 * mem_cpu_init() - set up a hart's allocator state @c (in its CLS): default proximity, empty caches.
 * Context: boot hart, before that hart allocates (or the hart itself).
 */
struct mm_cpu;
void mem_cpu_init(struct mm_cpu *c, unsigned hart_index, unsigned cluster);

/* mem_drain() - give every block in the calling hart's cache back to its heap (tests, soak). */
void mem_drain(void);

/*
 * mem_set_refill_faults() - fault injection: make @permille of per-hart cache refills fail (the request
 * then takes the locked path through the proximity, as when the home heap has no block to spare).
 */
void mem_set_refill_faults(unsigned permille);

/* mem_dma_limit() - the DMA window's end (exclusive). */
uint64_t mem_dma_limit(void);

/* mem_cluster_get_stats() - counters of cluster @c summed over every hart. */
void mem_cluster_get_stats(unsigned c, struct mem_cluster_stats *st);

/* mem_is_dma() - whether [addr, addr+size) lies inside the DMA window. */
bool mem_is_dma(const void *addr, size_t size);

/* ---- the fast paths: a warm per-hart cache, inline, no lock and no call (see mm/mem.c) ---- */

/*
 * The rest of mem_alloc() and mem_free(), out of line; not for direct use. The slow allocation returns
 * the block in registers (a two-word struct is returned in a0/a1), so that the caller's out-variable is
 * not forced to memory by having its address passed to a call. @want: the caller gave an out-pointer.
 */
struct mem_alloc_ret {
	error_t err;
	void *addr;
};
struct mem_alloc_ret mem_alloc_slow(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid,
				    bool want);
void mem_free_slow(void *addr);
void mem_cache_trim(struct mm_cache_bin *b);

/* the cache order of a size of 1..4096 bytes known at compile time: a constant, like Linux's kmalloc_index() */
#define MEM_CONST_ORDER(s) \
	((s) <= 64 ? 6 : (s) <= 128 ? 7 : (s) <= 256 ? 8 : (s) <= 512 ? 9 : (s) <= 1024 ? 10 : (s) <= 2048 ? 11 : 12)

#if !MM_DEBUG
/*
 * A request of 1..4096 bytes with the default proximity pops the top block of the bin that
 * bin_of_size[] names (a size known at compile time names its bin directly). The bin is never empty:
 * it ends in a sentinel whose next is NULL, so one load tells a block from the end. Reachability SYS is
 * always served by the home heap (a hart without one has only sentinels); the others only when
 * cache_valid says so (private regions come first).
 */
static inline __attribute__((always_inline)) error_t mem_alloc(size_t size, struct mem_proximity_s *prox,
								enum mem_reachability_s valid, void **addr)
{
	struct mm_cpu *c = mm_cpu_self();

	if (__builtin_expect(!prox && size - 1 < 4096 && addr &&
			     (valid == MEM_VALID_SYS || ((unsigned)valid < 32 && ((c->cache_valid >> valid) & 1))), 1)) {
		struct mm_cache_bin *b = __builtin_constant_p(size) ?
			&c->bin[MEM_CONST_ORDER(size) - MM_CACHE_MIN_ORDER] :
			(struct mm_cache_bin *)(mm_cpu_base(c) + c->bin_of_size[(size - 1) >> 6]);
		struct mm_cached *p = b->head, *n = p->next;

		if (__builtin_expect(n != NULL, 1)) {
			b->head = n;
			uintptr_t st = b->end.stat;

			*p->tag = (uint8_t)st;
			b->end.stat = st + MM_CACHE_HIT;
			*addr = p;
			return 0;
		}
	}
	{
		struct mem_alloc_ret r = mem_alloc_slow(size, prox, valid, addr != NULL);

		if (!r.err)
			*addr = r.addr;
		return r.err;
	}
}
#endif

/*
 * mem_cache_park() - the inline free's work, also done by mem_free_checked(): a 64-byte-aligned address
 * inside the home heap whose tag says "allocated head of order 6..12" (bin_of_tag[] maps exactly those
 * tags to a bin) is pushed on that bin and tagged "cached", so that a second free is told apart; a push
 * that fills the bin trims it. False, with nothing changed, for anything else.
 */
static inline __attribute__((always_inline)) bool mem_cache_park(struct mm_cpu *c, void *addr)
{
	uintptr_t a = (uintptr_t)addr;

	if (__builtin_expect(a - c->home_lo < c->home_span && !(a & 63), 1)) {
		uint8_t *t = (uint8_t *)(c->home_tag_bias + (a >> 6));
		unsigned tag = *t, off = c->bin_of_tag[tag];

		if (__builtin_expect(off != 0, 1)) {
			struct mm_cache_bin *b = (struct mm_cache_bin *)(mm_cpu_base(c) + off);
			struct mm_cached *blk = addr, *h = b->head;

			*t = (uint8_t)(tag ^ 0xc0);	/* BUDDY_TAG_HEAD -> BUDDY_TAG_FREE: "cached" */
			blk->next = h;
			blk->tag = t;
			blk->room = h->room - 1;
			b->head = blk;
			if (__builtin_expect(blk->room == 0, 0))
				mem_cache_trim(b);
			return true;
		}
	}
	return false;
}

#if !MM_DEBUG
static inline __attribute__((always_inline)) void mem_free(void *addr)
{
	if (__builtin_expect(!mem_cache_park(mm_cpu_self(), addr), 0))
		mem_free_slow(addr);
}
#endif

#endif
