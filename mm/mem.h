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
	/*
	 * heap allocations served by their first-choice cluster, which is this one: blocks, and the slabs
	 * that serve the size classes (a class block from a slab the hart holds already is no request to a
	 * heap, as Linux's numa_hit counts pages, not slab objects: no counter on the inline path)
	 */
	uint64_t local_hits;
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
 * @size:  bytes (> 0). With the default proximity, 1..4096 bytes come from the hart's slabs in 28 size
 *         classes (mm/slab.h: 16-byte steps to 128, then four per doubling), each block aligned to the
 *         largest power of two dividing its class size (a power of two naturally, others at least 16);
 *         anything else is a heap block, a power of two >= 64 aligned to its size. mem_alloc_aligned()
 *         asks for an alignment.
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
 * It refuses, with one log line, what mem_free_checked() refuses: the cluster heaps' metadata is zeroed
 * when they are built (buddy_init_zeroed()), so its fast paths find no stale tag or page byte even in
 * memory never split below 64 KiB. (Memory of the span the heap does not manage, reserved or private,
 * has cleared tags: see buddy_clear_tags().)
 */
#if MM_DEBUG
void mem_free(void *addr);
#endif
/*
 * mem_free_checked() - the same, returning why a free was refused: ERR_NOTOWNED, ERR_MISALIGNED,
 * ERR_INTERIOR, ERR_DOUBLEFREE (one log line each; nothing changes). Context: any hart.
 */
error_t mem_free_checked(void *addr);

/*
 * mem_getsize() - usable size of the live block at @addr: its size class or heap block size. Return: 0;
 * ERR_INVAL (@size NULL); the codes mem_free_checked() would refuse @addr with (a free class block:
 * ERR_DOUBLEFREE). Context: any hart; no lock for a class block.
 */
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

/*
 * mem_drain() - the calling hart pushes its outgoing remote frees, frees the blocks other harts sent it
 * into its slabs, and gives every empty slab back to its heap (tests, soak). Blocks this hart sent reach
 * their slabs when their owners drain: "nothing cached anywhere" takes a drain on every hart, twice.
 */
void mem_drain(void);

/*
 * mem_set_refill_faults() - fault injection: make @permille of per-hart cache refills fail (the request
 * then takes the locked path through the proximity, as when the home heap has no block to spare).
 */
void mem_set_refill_faults(unsigned permille);

/* mem_get_refill_faults() - the permille mem_set_refill_faults() set (0: no fault injected). */
unsigned mem_get_refill_faults(void);

/* mem_dma_limit() - the DMA window's end (exclusive). */
uint64_t mem_dma_limit(void);

/* mem_cluster_get_stats() - counters of cluster @c summed over every hart. */
void mem_cluster_get_stats(unsigned c, struct mem_cluster_stats *st);

/* mem_is_dma() - whether [addr, addr+size) lies inside the DMA window. */
bool mem_is_dma(const void *addr, size_t size);

/*
 * mem_alloc_aligned() - mem_alloc() of a block whose address is a multiple of @align.
 * @size:  bytes (> 0)
 * @align: a power of two; up to 16 every block already has it (mem_alloc() then)
 * @prox, @valid, @addr: as mem_alloc()
 *
 * The alignment rule of mem_alloc() itself: a block of a size class (1 .. 4096 bytes, default proximity,
 * mm/slab.h) is aligned to the largest power of two dividing its class size, so a power-of-two request
 * is naturally aligned up to 4096 and any other at least to 16; a heap block (larger, or another
 * proximity) is a power of two >= 64 aligned to its size. mem_alloc_aligned() takes the smallest size
 * class that holds @size with that alignment, else a heap block of at least max(@size, @align) bytes.
 *
 * Context: as mem_alloc(). Return: as mem_alloc(); ERR_INVAL also for an @align that is not a power of
 * two (or 0).
 */
error_t mem_alloc_aligned(size_t size, size_t align, struct mem_proximity_s *prox, enum mem_reachability_s valid,
			  void **addr);

/* ---- the fast paths: the calling hart's slabs, inline, no lock and no call (see mm/slab.h) ---- */

/*
 * The rest of mem_alloc() and mem_free(), out of line; not for direct use. The slow allocation returns
 * the block in registers (struct mm_alloc_ret, mm/slab.h), so that the caller's out-variable is not
 * forced to memory by having its address passed to a call. @how: MEM_SLOW_MISS (a slab request whose
 * class's current slab ran out: nothing is checked again, the class is looked up again rather than kept
 * in a register across the inline path), else MEM_SLOW_WANT or MEM_SLOW_NOADDR (no out-pointer).
 */
#define MEM_SLOW_MISS 0UL
#define MEM_SLOW_WANT 1UL
#define MEM_SLOW_NOADDR 2UL
struct mm_alloc_ret mem_alloc_slow(size_t size, struct mem_proximity_s *prox, enum mem_reachability_s valid,
				   unsigned long how);
void mem_free_slow(void *addr);

/* the size class of a size of 1..4096 bytes known at compile time: a constant, like Linux's kmalloc_index() */
#define MEM_CONST_CLASS_(s, b) ((s) <= (b) * 5 / 4 ? 0 : (s) <= (b) * 6 / 4 ? 1 : (s) <= (b) * 7 / 4 ? 2 : 3)
#define MEM_CONST_CLASS(s)                                                                          \
	((s) <= 128 ? ((s) + 15) / 16 - 1 :                                                         \
	 (s) <= 256 ? 8 + MEM_CONST_CLASS_(s, 128) : (s) <= 512 ? 12 + MEM_CONST_CLASS_(s, 256) :     \
	 (s) <= 1024 ? 16 + MEM_CONST_CLASS_(s, 512) : (s) <= 2048 ? 20 + MEM_CONST_CLASS_(s, 1024) : \
	 24 + MEM_CONST_CLASS_(s, 2048))

#if !MM_DEBUG
/*
 * A request of 1..4096 bytes with the default proximity pops a block of its class's current slab (a
 * size known at compile time names its class directly). Reachability SYS is always served by the home
 * heap (a hart without one has only empty slabs); the others only when cache_valid says so (private
 * regions come first).
 */
static inline __attribute__((always_inline)) error_t mem_alloc(size_t size, struct mem_proximity_s *prox,
								enum mem_reachability_s valid, void **addr)
{
	struct mm_cpu *c = mm_cpu_self();
	struct mm_alloc_ret r;
	error_t e;
	unsigned long how = addr ? MEM_SLOW_WANT : MEM_SLOW_NOADDR;

	if (__builtin_expect(!prox && size - 1 < SLAB_MAX_SIZE && addr &&
			     (valid == MEM_VALID_SYS || ((unsigned)valid < 32 && ((c->cache_valid >> valid) & 1))), 1)) {
		unsigned long k = __builtin_constant_p(size) ? (unsigned long)MEM_CONST_CLASS(size) :
							       c->slab.cls_of_size[(size - 1) >> 4];
		void *p = slab_alloc_fast(&c->slab, k);

		if (__builtin_expect(p != NULL, 1)) {
			*addr = p;
			return 0;
		}
		how = MEM_SLOW_MISS;	/* the current slab ran out: mem_alloc_slow() goes straight to the slab layer */
	}
	r = mem_alloc_slow(size, prox, valid, how);
	e = (error_t)r.err;
	if (!e)
		*addr = r.addr;
	return e;
}

/*
 * mem_free(): a live block of one of the calling hart's own slabs is freed into it inline
 * (slab_free_fast(): a double free is caught there too, by the block's marker); everything else - another
 * hart's slab block, a heap block, NULL, a bad address - goes to mem_free_slow().
 */
static inline __attribute__((always_inline)) void mem_free(void *addr)
{
	if (__builtin_expect(!slab_free_fast(&mm_cpu_self()->slab, (uintptr_t)addr), 0))
		mem_free_slow(addr);
}
#endif

#endif
