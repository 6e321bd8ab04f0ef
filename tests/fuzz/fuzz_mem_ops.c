/* fuzz_mem_ops.c - libFuzzer target: heap_init_all + mem_init over a simulated 3-cluster machine, mem_alloc/free sequences. */
#include <stdlib.h>
#include <string.h>

#include "mm/cma.h"
#include "mm/cpu.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/memory_pool.h"
#include "mm/page_pool.h"
#include "mm/slab.h"
#include "tests/fuzz/fuzz.h"
#include "tests/host/host.h"

/*
 * The machine, rebuilt for every input (so re-initialisation is exercised each time):
 *	cluster 0	RAM in a guarded 2 MiB arena (1..2 MiB of it, page-aligned base), harts 0 and 1
 *	cluster 1	memoryless, hart 2 (its home heap is the nearest cluster with memory)
 *	cluster 2	RAM in a guarded 1 MiB arena (512 KiB..1 MiB), hart 3
 * on a 2x2 mesh, with an asymmetric distance matrix from the input (ties possible), up to two reserved
 * ranges, optional private regions (cluster-private in cluster 0, CPU-private for hart 1 or 3, and
 * cluster-private for the memoryless cluster 1 from memory outside every heap), a withheld cluster, a
 * DMA limit (none, the end of the lower cluster, or the middle of one: a straddling heap serves DMA from
 * its part below the limit),
 * an optional CMA region "default" carved from the bottom of a DMA-capable cluster, and the fault
 * injection knobs (heap_set_limit(): empty or tiny heaps; mem_set_refill_faults()).
 *
 * Operations: mem_alloc_receipt() with any size, proximity (NULL, cluster, strict, global, by mesh
 * position) and reachability (valid or not, NULL out-pointer); mem_free_checked() of live blocks and of
 * bad addresses; mem_getsize(); mem_drain(); switching the calling hart (drain, then host_set_self() and
 * host_use_cpu(): each hart keeps its own state, its slabs included, so that blocks of one hart's slabs
 * freed on another take the remote path (mm/slab.h) and come home when their owner drains).
 *
 * Checked after every operation: the error codes (ERR_INVAL > ERR_REACH > ERR_SIZE for bad arguments,
 * ERR_NOMEM only for non-strict proximities and only when no allowed heap has a free block that large,
 * ERR_EXHAUSTED / ERR_NOHEAP for strict ones), the reachability table of mm/mem.h (which regions a block
 * of each MEM_VALID_* may come from, DMA blocks inside the DMA window, strict blocks in their cluster),
 * the receipt (cluster, region, rank within the distance groups, fallback flag, cached blocks from the
 * home heap), that no two live blocks overlap and each lies inside the memory of its region and outside
 * every reserved range, and the exact code of every bad free (misaligned, interior, double free right
 * after the free, foreign; in a slab: misaligned, interior, double free). Every 64 operations and at the
 * end: heap_check() on every heap and slab_check() on every hart. At the end, after freeing everything
 * and two mem_drain() rounds on every hart, every heap must have exactly its boot_free bytes free and the
 * private pools nothing in use: zero bytes lost.
 */
#define MAX_OPS 2000
#define MAX_LIVE 1024
#define NCL 3
#define NHARTS 4
#define KiB (1ul << 10)
#define MiB (1ul << 20)
#define PG 4096ul
#define CHECK_EVERY 64

static uint8_t *ram[NCL];
static const size_t ram_max[NCL] = { 2 * MiB, 0, 1 * MiB };
/* how much of ram[c] may differ from the stale tag: up to the end of the last input's cluster memory */
static size_t ram_dirty[NCL] = { 2 * MiB, 0, 1 * MiB };
static uint8_t *ext_arena;		/* memory outside every cluster, for cluster 1's private region */
#define EXT_SIZE (64 * KiB)

static struct topo T;
static struct topo_range resv[8];
static unsigned nresv;
static uint64_t dma_limit;
static const unsigned hart_cluster[NHARTS] = { 0, 0, 1, 2 };
static unsigned self_hart;
/* each hart's allocator state, padded like a CLS (host_use_cpu()): its slabs outlive a switch */
static struct {
	char cls_head[MM_CPU_TP_OFFSET];
	struct mm_cpu mm;
} hart_cpu[NHARTS];

/* become hart @h (its state as it was) */
static void use_hart(unsigned h)
{
	self_hart = h;
	host_set_self(h);
	host_use_cpu(&hart_cpu[h].mm);
}

/* every hart drains, twice: remote frees are sent in the first round and freed by their owners in the second */
static void drain_every_hart(void)
{
	unsigned me = self_hart, r, h;

	for (r = 0; r < 2; r++)
		for (h = 0; h < NHARTS; h++) {
			use_hart(h);
			mem_drain();
		}
	use_hart(me);
}

struct priv {
	uintptr_t base, end;
	unsigned cluster;
	int hart;		/* -1: cluster-private */
};
static struct priv privs[3];
static unsigned npriv;
static bool priv_pages;

static bool has_heap[NCL];	/* a heap with memory */
static bool has_span[NCL];	/* a heap was built (it may be empty: heap_set_limit(c, 0)) and owns the RAM */
static bool heap_dma[NCL];	/* some of the heap's RAM lies below the DMA limit */
static bool heap_dma_all[NCL];	/* all of it does */
static uintptr_t cma_base, cma_end;	/* the CMA region "default" (cma_end == 0: none) */
static void *cma_meta;

struct blk {
	uintptr_t a;
	size_t usable, req;
	uint64_t seed;
	int priv;		/* index in privs, or -1 for a heap or CMA block */
	bool cma;
	unsigned cluster;
};
static struct blk live[MAX_LIVE];
static unsigned nlive;
static uintptr_t recent[64];
static unsigned nrecent;
static uintptr_t freed[16];
static unsigned nfreed;
static uint64_t seq;

/* ---- where an address belongs ---- */

static int priv_of(uintptr_t a)
{
	unsigned i;

	for (i = 0; i < npriv; i++)
		if (a >= privs[i].base && a < privs[i].end)
			return (int)i;
	return -1;
}

/* the cluster whose heap span holds @a, or -1 */
static int heap_cluster_of(uintptr_t a)
{
	unsigned c;

	for (c = 0; c < NCL; c++)
		if (has_span[c] && a >= T.cluster[c].mem.base && a - T.cluster[c].mem.base < T.cluster[c].mem.size)
			return (int)c;
	return -1;
}

/* the cluster whose RAM holds @a, heap or not (a CMA region may lie in a withheld cluster), or -1 */
static int ram_cluster_of(uintptr_t a)
{
	unsigned c;

	for (c = 0; c < NCL; c++)
		if (a >= T.cluster[c].mem.base && a - T.cluster[c].mem.base < T.cluster[c].mem.size)
			return (int)c;
	return -1;
}

static bool in_resv(uintptr_t a, size_t n)
{
	unsigned i;

	for (i = 0; i < nresv; i++)
		if (a < resv[i].base + resv[i].size && resv[i].base < a + n)
			return true;
	return false;
}

static int live_at(uintptr_t a, bool head_only)
{
	unsigned i;

	for (i = 0; i < nlive; i++)
		if (head_only ? live[i].a == a : (a >= live[i].a && a < live[i].a + live[i].usable))
			return (int)i;
	return -1;
}

static unsigned order_of(uint64_t size)
{
	unsigned k = BUDDY_MIN_ORDER;

	while ((1ull << k) < size)
		k++;
	return k;
}

/* the home heap of a hart in cluster @c: the nearest cluster with memory, ties by id */
static int home_of(unsigned c)
{
	int best = -1;
	unsigned m;

	for (m = 0; m < NCL; m++)
		if (has_heap[m] && (best < 0 || T.cluster[c].dist[m] < T.cluster[c].dist[best]))
			best = (int)m;
	return best;
}

/* ---- checks ---- */

static void check_heaps(void)
{
	unsigned c, h;

	for (c = 0; c < NCL; c++) {
		char why[160];
		error_t e = heap_check(heap_of(c), why, sizeof(why));

		FUZZ_CHECK(e == 0, "heap_check(cluster %u): %s (%s)", c, err_str(e), why);
	}
	for (h = 0; h < NHARTS; h++) {
		char why[160];
		error_t e = slab_check(&hart_cpu[h].mm.slab, why, sizeof(why));

		FUZZ_CHECK(e == 0, "slab_check(hart %u): %s (%s)", h, err_str(e), why);
	}
}

/* may a block for (@valid, want cluster @want, caller hart @hart) come from the region owning @a? */
static bool reachable(uintptr_t a, size_t n, enum mem_reachability_s valid, unsigned want, unsigned hart,
		      unsigned *owner, const char **kind)
{
	int p = priv_of(a), c;

	if (cma_end && a >= cma_base && a < cma_end) {
		/* large DMA requests first, any DMA request when the heaps are full (mm/mem.c) */
		*kind = "cma:default";
		*owner = (unsigned)ram_cluster_of(a);
		return valid == MEM_VALID_DMA && a + n <= cma_end && !(a & (PG - 1)) && mem_is_dma((void *)a, n);
	}
	if (p >= 0) {
		const struct priv *r = &privs[p];

		*owner = r->cluster;
		*kind = r->hart < 0 ? "cluster-private" : "cpu-private";
		if (a + n > r->end)
			return false;
		if (r->hart >= 0)	/* CPU(h): only a CPU request of hart h */
			return valid == MEM_VALID_CPU && (unsigned)r->hart == hart;
		/* CLUSTER(c): a CLUSTER request naming c, or a CPU request of a hart of c (mm/mem.h's table) */
		return (valid == MEM_VALID_CLUSTER && r->cluster == want) ||
		       (valid == MEM_VALID_CPU && r->cluster == hart_cluster[hart]);
	}
	c = heap_cluster_of(a);
	*kind = "heap";
	if (c < 0 || !has_heap[c])
		return false;
	*owner = (unsigned)c;
	if (a + n > T.cluster[c].mem.base + T.cluster[c].mem.size || in_resv(a, n))
		return false;
	return valid != MEM_VALID_DMA || (heap_dma[c] && mem_is_dma((void *)a, n));
}

/*
 * after ERR_NOMEM/ERR_EXHAUSTED: no heap the request could use has a block that large (for DMA, a heap
 * across the limit is left out: its largest block may lie above the limit)
 */
static void check_no_room(uint64_t size, enum mem_reachability_s valid, int only)
{
	unsigned c;

	for (c = 0; c < NCL; c++) {
		struct heap_stats st;

		if (!has_heap[c] || (only >= 0 && (unsigned)only != c) || (valid == MEM_VALID_DMA && !heap_dma_all[c]))
			continue;
		heap_get_stats(heap_of(c), &st);
		FUZZ_CHECK(size > st.size || (1ull << order_of(size)) > st.largest_free,
			   "refused %llu bytes (valid %d) while cluster %u has a free block of %llu",
			   (unsigned long long)size, (int)valid, c, (unsigned long long)st.largest_free);
	}
}

/* ---- operations ---- */

enum pkind { P_NULL, P_CLUSTER, P_STRICT, P_GLOBAL, P_XY, P_KINDS };

static void do_alloc(struct fuzz_in *in)
{
	uint8_t pv = fin_u8(in), vv = fin_u8(in);
	uint64_t size = fin_size(in, 21);
	enum pkind pk = (enum pkind)(pv % P_KINDS);
	unsigned pc = (pv >> 3) % NCL, want;
	struct mem_proximity_s *prox = NULL;
	enum mem_reachability_s valid = (enum mem_reachability_s)(vv % 4);
	struct mem_receipt rc;
	bool null_out = (vv & 0xf0) == 0xf0;
	error_t want_bad = 0, e;
	void *p = NULL;

	if ((vv & 0x0c) == 0x0c)	/* a bad reachability value */
		valid = (enum mem_reachability_s)(vv & 0x10 ? (int)(4 + (vv >> 5)) : (vv & 0x20 ? -1 : 1 << 30));
	switch (pk) {
	case P_CLUSTER: prox = mem_prox_cluster(pc); break;
	case P_STRICT: prox = mem_prox_strict(pc); break;
	case P_GLOBAL: prox = mem_prox_global(); break;
	case P_XY:
		prox = mem_prox_xy(pc % 2, (pc / 2) % 2);
		FUZZ_CHECK(prox == mem_prox_cluster(pc), "mem_prox_xy(%u, %u) is not cluster %u's proximity", pc % 2,
			   pc / 2, pc);
		pk = P_CLUSTER;
		break;
	default: break;
	}
	FUZZ_CHECK(pk == P_NULL || prox, "no proximity for cluster %u", pc);
	if (pk == P_NULL)
		pc = hart_cluster[self_hart];
	want = pk == P_GLOBAL ? hart_cluster[self_hart] : pc;

	if (null_out)
		want_bad = ERR_INVAL;
	else if ((unsigned)valid >= MEM_VALID_COUNT_)
		want_bad = ERR_REACH;
	else if (!size || size > MEM_MAX_SIZE)
		want_bad = ERR_SIZE;
	fuzz_op("mem_alloc", size, (uint64_t)pk << 8 | pc, (uint64_t)(unsigned)valid);
	memset(&rc, 0xee, sizeof(rc));
	e = mem_alloc_receipt(size, prox, valid, null_out ? NULL : &p, &rc);
	if (want_bad) {
		EXPECT_ERR(FT, e, want_bad);
		return;
	}
	if (e) {
		FUZZ_CHECK(p == NULL, "failed mem_alloc wrote its out-pointer");
		if (pk == P_STRICT) {
			bool any = has_heap[pc];
			unsigned i;

			for (i = 0; i < npriv; i++)
				any |= privs[i].cluster == pc;
			EXPECT_ERR(FT, e, any ? ERR_EXHAUSTED : ERR_NOHEAP);
			if (any && valid != MEM_VALID_CLUSTER && valid != MEM_VALID_CPU)
				check_no_room(size, valid, (int)pc);
		} else {
			EXPECT_ERR(FT, e, ERR_NOMEM);
			if (valid == MEM_VALID_SYS || valid == MEM_VALID_DMA || !npriv)
				check_no_room(size, valid, -1);
		}
		return;
	}
	{
		uintptr_t a = (uintptr_t)p;
		size_t us = 0;
		unsigned owner = 0, i;
		const char *kind = NULL;
		struct blk b;

		bool cma = cma_end && a >= cma_base && a < cma_end;

		if (cma) {	/* CMA chunks have no size query (mem_getsize() says ERR_NOTOWNED) */
			EXPECT_ERR(FT, mem_getsize(p, &us), ERR_NOTOWNED);
			us = (size + PG - 1) & ~(PG - 1);
		} else {
			EXPECT_OK(FT, mem_getsize(p, &us));
		}
		FUZZ_CHECK(us >= size, "mem_getsize %zu for a request of %llu", us, (unsigned long long)size);
		FUZZ_CHECK(reachable(a, us, valid, want, self_hart, &owner, &kind),
			   "block %#lx+%zu (%s of cluster %u) does not satisfy valid=%d for cluster %u from hart %u",
			   (unsigned long)a, us, kind ? kind : "nowhere", owner, (int)valid, want, self_hart);
		for (i = 0; i < nlive; i++)
			FUZZ_CHECK(a + us <= live[i].a || live[i].a + live[i].usable <= a,
				   "block %#lx+%zu overlaps live block %#lx+%zu", (unsigned long)a, us,
				   (unsigned long)live[i].a, live[i].usable);
		/* the receipt */
		FUZZ_CHECK(rc.cluster == owner && rc.region && !strcmp(rc.region, kind),
			   "receipt says %s of cluster %u, the block is in %s of cluster %u",
			   rc.region ? rc.region : "(null)", rc.cluster, kind, owner);
		/* a strict proximity is "this cluster or nothing", whatever serves it */
		FUZZ_CHECK(pk != P_STRICT || owner == pc, "strict proximity of cluster %u served by %s of cluster %u",
			   pc, kind, owner);
		if (rc.fallback != (rc.rank > 0)) {
			FUZZ_CHECK(0, "receipt: rank %u, fallback %d", rc.rank, rc.fallback);
		} else if (rc.cached) {
			FUZZ_CHECK((int)owner == home_of(hart_cluster[self_hart]) && !strcmp(kind, "heap") && !rc.rank,
				   "cached block from cluster %u, home is %d", owner, home_of(hart_cluster[self_hart]));
		} else if (pk == P_STRICT) {
			FUZZ_CHECK(owner == pc && rc.rank == 0, "strict proximity of %u served by cluster %u", pc, owner);
		} else if (pk != P_GLOBAL) {
			unsigned closer = 0, same = 0, m;
			uint8_t d = T.cluster[pc].dist[owner];

			/* rank lies in the owner's distance group of pc's order (groups are reordered per request) */
			for (m = 0; m < NCL; m++)
				if (has_heap[m]) {
					closer += T.cluster[pc].dist[m] < d;
					same += T.cluster[pc].dist[m] == d;
				}
			/* a CMA chunk ranks first in its group; one in a cluster without a heap after the whole order */
			if (cma && has_heap[owner])
				same = 1;
			else if (cma)
				for (m = 0, closer = 0, same = 1; m < NCL; m++)
					closer += has_heap[m];
			FUZZ_CHECK(has_heap[owner] || cma ? rc.rank >= closer && rc.rank < closer + same : rc.rank == 0,
				   "receipt rank %u for cluster %u at distance %u (%u closer, %u as close)", rc.rank,
				   owner, d, closer, same);
		}
		b.a = a;
		b.usable = us;
		b.req = size;
		b.seed = ++seq;
		b.priv = priv_of(a);
		b.cluster = owner;
		b.cma = cma;
		if (nlive < MAX_LIVE) {
			fuzz_fill(p, us, b.seed);
			live[nlive++] = b;
		} else {
			EXPECT_OK(FT, mem_free_checked(p));
		}
		nrecent = 0;
	}
}

static void free_live(unsigned i)
{
	struct blk b = live[i];

	fuzz_op("mem_free", b.a, b.usable, 0);
	FUZZ_CHECK(fuzz_fill_ok((void *)b.a, b.usable, b.seed), "block %#lx+%zu: pattern overwritten",
		   (unsigned long)b.a, b.usable);
	/* both frees: the inline fast path of mem_free() and the checked one */
	if (b.seed & 1)
		mem_free((void *)b.a);
	else
		EXPECT_OK(FT, mem_free_checked((void *)b.a));
	live[i] = live[--nlive];
	if (nrecent < 64)
		recent[nrecent++] = b.a;
	freed[nfreed++ % 16] = b.a;
}

#define C(x) (1ull << (-(x) & 63))

static void free_bad(struct fuzz_in *in)
{
	uint8_t v = fin_u8(in);
	uint32_t r = fin_u32(in);
	uintptr_t a;
	uint64_t ok;
	int k, p;
	unsigned i;
	error_t e;

	switch (v % 8) {
	case 0:	/* inside a live block */
		if (nlive) {
			struct blk *b = &live[r % nlive];

			a = b->a + ((r >> 10) % (b->usable / 16 + 1)) * 16;
			break;
		}
		/* fall through */
	case 1:	/* anywhere in a cluster's RAM */
		i = (r & 1) ? 2 : 0;
		a = (uintptr_t)T.cluster[i].mem.base + (r >> 1) % (T.cluster[i].mem.size ? T.cluster[i].mem.size : 1);
		if (!(v & 0x80))
			a &= ~(uintptr_t)63;
		break;
	case 2:	/* freed before */
		a = nfreed ? freed[r % (nfreed < 16 ? nfreed : 16)] : 0;
		break;
	case 3:	/* a private region */
		a = npriv ? privs[r % npriv].base + ((r >> 8) % 4096) : 0;
		break;
	case 4:	/* a reserved range */
		a = nresv ? (uintptr_t)resv[r % nresv].base + (r >> 8) % resv[r % nresv].size : 0;
		break;
	case 5:	/* foreign memory: the guard page below an arena, the external arena, far away */
		a = (r % 3 == 0) ? (uintptr_t)ram[0] - 64 : (r % 3 == 1) ? (uintptr_t)ext_arena + EXT_SIZE - 64 :
								  (uintptr_t)r << 16;
		break;
	case 6:	/* the CMA region */
		a = cma_end ? cma_base + (r >> 4) % (cma_end - cma_base) : 0;
		if (!(v & 0x80))
			a &= ~(PG - 1);
		break;
	default:
		a = 0;
		break;
	}
	p = priv_of(a);
	k = live_at(a, false);
	if (!a) {
		ok = 1;	/* NULL: a no-op returning 0 */
	} else if (k >= 0 && live[k].a == a) {
		free_live((unsigned)k);
		return;
	} else if (cma_end && a >= cma_base && a < cma_end) {
		ok = C(ERR_NOENT);	/* cma_free(): anything but a chunk start */
	} else if (p >= 0 && priv_pages) {
		/* a private region's page_pool (tests/fuzz/fuzz_pools_ops.c pins its codes down exactly) */
		if (k >= 0)
			ok = (a & (PG - 1)) ? C(ERR_MISALIGNED) : C(ERR_INTERIOR);
		else if (a & (PG - 1))
			ok = C(ERR_MISALIGNED) | C(ERR_NOTOWNED);
		else
			ok = C(ERR_NOTOWNED) | C(ERR_DOUBLEFREE);
	} else if (p >= 0) {
		/* a private region's memory_pool (tests/fuzz/fuzz_pools_ops.c pins its codes down exactly) */
		if (k >= 0)
			ok = (a & 15) ? C(ERR_MISALIGNED) : C(ERR_INTERIOR);
		else if (a & 15)
			ok = C(ERR_MISALIGNED) | C(ERR_NOTOWNED);
		else
			ok = C(ERR_NOTOWNED) | C(ERR_INTERIOR) | C(ERR_DOUBLEFREE);
	} else if (heap_cluster_of(a) < 0) {
		ok = C(ERR_NOTOWNED);
	} else if (!has_heap[heap_cluster_of(a)]) {
		ok = (a & 63) ? C(ERR_MISALIGNED) : C(ERR_INTERIOR);	/* an empty heap: all of it reserved */
	} else if (slab_owns(heap_of((unsigned)heap_cluster_of(a)), a)) {
		/* a size-class slab (mm/slab.h): 16-byte granules, a free or never-carved block is a double free */
		if (a & 15)
			ok = C(ERR_MISALIGNED);
		else if (k >= 0)
			ok = C(ERR_INTERIOR);
		else
			ok = C(ERR_INTERIOR) | C(ERR_DOUBLEFREE);
	} else if (a & 63) {
		ok = C(ERR_MISALIGNED);
	} else if (k >= 0) {
		ok = C(ERR_INTERIOR);
	} else if (in_resv(a, 1)) {
		ok = C(ERR_INTERIOR);
	} else {
		bool rec = false;

		for (i = 0; i < nrecent; i++)
			rec |= recent[i] == a;
		/* free, cached (whole or inside), the heap's own descriptor */
		ok = rec ? C(ERR_DOUBLEFREE) : C(ERR_DOUBLEFREE) | C(ERR_INTERIOR);
	}
	fuzz_op("mem_free?", a, ok, 0);
	e = mem_free_checked((void *)a);
	FUZZ_CHECK(ok == 1 ? e == 0 : (e < 0 && (ok & C(e))), "mem_free_checked(%#lx) = %d (%s), acceptable mask %#llx",
		   (unsigned long)a, e, err_str(e), (unsigned long long)ok);
}

static void switch_hart(unsigned h)
{
	fuzz_op("switch_hart", h, hart_cluster[h], 0);
	mem_drain();
	use_hart(h);
}

/* ---- the machine ---- */

/* build() - the machine of this input; false if no cluster ends up with a heap (nothing to run) */
static bool build(struct fuzz_in *in)
{
	uint8_t f = fin_u8(in), g = fin_u8(in), sz0 = fin_u8(in), sz2 = fin_u8(in);
	struct topo_set withhold = { { (f >> 6) == 1 ? 1 : (f >> 6) == 2 ? 4 : 0 } };
	unsigned c, i, j;
	error_t e;

	/*
	 * Zero only what an input writes: its NCL clusters and NHARTS harts (the scalars are all set below).
	 * The rest of the struct (256 clusters' rows, 80 KiB) is never written and stays zero; zeroing it
	 * all took a sixth of each input's time.
	 */
	memset(T.cluster, 0, NCL * sizeof(T.cluster[0]));
	memset(T.hart, 0, NHARTS * sizeof(T.hart[0]));
	T.nclusters = NCL;
	T.mesh_x = 2;
	T.mesh_y = 2;
	for (c = 0; c < NCL; c++) {
		T.cluster[c].id = c;
		T.cluster[c].x = c % 2;
		T.cluster[c].y = c / 2;
		for (j = 0; j < NCL; j++)
			T.cluster[c].dist[j] = c == j ? 10 : (uint8_t)(11 + fin_u8(in) % 40);
	}
	/* RAM: cluster 0 1..2 MiB, cluster 2 512 KiB..1 MiB, page-aligned bases inside the arenas */
	T.cluster[0].mem.base = (uintptr_t)ram[0] + (sz0 & 7) * PG;
	T.cluster[0].mem.size = 1 * MiB + (sz0 >> 3) * 32 * KiB - (sz0 & 7) * PG;
	T.cluster[1].mem.base = (uintptr_t)ram[0];	/* memoryless: the DT's base, size 0 */
	T.cluster[2].mem.base = (uintptr_t)ram[2] + (sz2 & 7) * PG;
	T.cluster[2].mem.size = 512 * KiB + (sz2 >> 3) * 16 * KiB - (sz2 & 7) * PG;
	T.nharts = NHARTS;
	for (i = 0; i < NHARTS; i++) {
		T.hart[i].hartid = i;
		T.hart[i].cluster = hart_cluster[i];
	}

	/* reserved ranges (firmware, an image): anywhere in either cluster, any alignment */
	nresv = 0;
	for (i = 0; i < (g & 3) % 3; i++) {
		unsigned cc = fin_u8(in) & 1 ? 2 : 0;
		uint64_t off = fin_u32(in) % T.cluster[cc].mem.size;

		resv[nresv].base = T.cluster[cc].mem.base + off;
		resv[nresv].size = 1 + fin_u32(in) % (T.cluster[cc].mem.size - off);
		nresv++;
	}
	/* private regions, carved from the top of the RAM and reserved like the kernel does */
	npriv = 0;
	priv_pages = g & 0x80;	/* page_pool-backed (whole pages) instead of memory_pool */
	if (g & 4) {
		privs[npriv] = (struct priv){ T.cluster[0].mem.base + T.cluster[0].mem.size - 64 * KiB,
					      T.cluster[0].mem.base + T.cluster[0].mem.size, 0, -1 };
		npriv++;
	}
	if (g & 8) {
		unsigned hh = g & 0x10 ? 3 : 1, cc = hart_cluster[hh];
		uintptr_t top = T.cluster[cc].mem.base + T.cluster[cc].mem.size - (cc == 0 && (g & 4) ? 64 * KiB : 0);

		privs[npriv] = (struct priv){ top - 32 * KiB, top, cc, (int)hh };
		npriv++;
	}
	if (g & 0x20) {
		privs[npriv] = (struct priv){ (uintptr_t)ext_arena, (uintptr_t)ext_arena + EXT_SIZE, 1, -1 };
		npriv++;
	}
	for (i = 0; i < npriv; i++)
		if (privs[i].cluster != 1) {
			resv[nresv].base = privs[i].base;
			resv[nresv].size = privs[i].end - privs[i].base;
			nresv++;
		}
	/* the DMA window: everything, the end of the lower cluster, or the middle of cluster 0 */
	switch ((f >> 4) & 3) {
	case 1: {
		uint64_t e0 = T.cluster[0].mem.base + T.cluster[0].mem.size, e2 = T.cluster[2].mem.base + T.cluster[2].mem.size;

		dma_limit = T.cluster[0].mem.base < T.cluster[2].mem.base ? e0 : e2;
		break;
	}
	case 2:
		dma_limit = T.cluster[0].mem.base + T.cluster[0].mem.size / 2;
		break;
	default:
		dma_limit = 0;
		break;
	}
	/* the CMA region "default", at the bottom of a cluster inside the DMA window, kept out of the heaps */
	cma_reset();
	cma_end = 0;
	if (g & 0x40) {
		unsigned cc = !dma_limit || T.cluster[0].mem.base < dma_limit ? 0 : 2;
		size_t csize = (16 + fin_u8(in) % 48) * PG, msize = cma_meta_size(csize);

		cma_base = T.cluster[cc].mem.base;
		cma_end = cma_base + csize;
		cma_meta = malloc(msize);
		if (!cma_meta)
			abort();
		EXPECT_OK(FT, cma_declare("default", cma_base, csize, cma_meta, msize, NULL));
		resv[nresv].base = cma_base;
		resv[nresv].size = csize;
		nresv++;
	}
	/* fault injection: empty or tiny heaps, failing cache refills (both global: set for every input) */
	for (c = 0; c < NCL; c++) {
		uint8_t l = (f & 1) ? fin_u8(in) : 0xff;

		heap_set_limit(c, l == 0xff ? UINT64_MAX : (uint64_t)l * l * 64);
	}
	mem_set_refill_faults((f & 2) ? fin_u8(in) * 4u : 0);

	/*
	 * Stale memory, the worst kind: every byte an "allocated 64-byte head" tag, so that a tag read in a
	 * section the heap never initialised (reserved ranges, private regions, metadata) looks valid.
	 * Nothing writes past the end of a cluster's memory (the heaps, regions and fills all lie inside it),
	 * so only the part the last input gave its cluster needs the tag again: 1.5..3 MiB instead of 3 MiB.
	 */
	for (c = 0; c < NCL; c += 2) {
		memset(ram[c], BUDDY_TAG_HEAD | 6, ram_dirty[c]);
		ram_dirty[c] = T.cluster[c].mem.base + T.cluster[c].mem.size - (uintptr_t)ram[c];
	}
	e = heap_init_all(&T, resv, nresv, &withhold);
	for (c = 0; c < NCL; c++) {
		struct heap_stats st;

		heap_get_stats(heap_of(c), &st);
		has_heap[c] = st.size > 0;
		has_span[c] = T.cluster[c].mem.size && heap_owner((void *)T.cluster[c].mem.base) == heap_of(c);
		FUZZ_CHECK(!has_span[c] || (T.cluster[c].mem.size && !topo_set_has(&withhold, c)),
			   "cluster %u got a heap it should not have", c);
		FUZZ_CHECK(!has_heap[c] || has_span[c], "cluster %u: a heap with memory that owns no span", c);
		FUZZ_CHECK(!has_heap[c] || st.free_bytes == heap_of(c)->boot_free, "cluster %u: boot_free", c);
		heap_dma[c] = has_heap[c] && (!dma_limit || T.cluster[c].mem.base < dma_limit);
		heap_dma_all[c] = has_heap[c] &&
				  (!dma_limit || T.cluster[c].mem.base + T.cluster[c].mem.size <= dma_limit);
	}
	EXPECT_ERR(FT, e, has_span[0] || has_span[2] ? 0 : ERR_NOMEM);
	if (!e)
		check_heaps();
	e = e ? e : mem_init(&T, dma_limit);
	EXPECT_ERR(FT, e, has_heap[0] || has_heap[2] ? 0 : ERR_NOMEM);
	if (e) {
		/* reserved ranges, a withheld cluster and heap limits left no memory: nothing to run */
		cma_reset();
		free(cma_meta);
		cma_meta = NULL;
		return false;
	}
	FUZZ_CHECK(mem_dma_limit() == dma_limit, "mem_dma_limit");
	/* the proximity orders: clusters with memory by (distance, id) */
	for (c = 0; c < NCL; c++) {
		unsigned order[NCL + 1], n = mem_prox_order(c, order, NCL + 1), m, k = 0;

		for (m = 0; m < NCL; m++)
			k += has_heap[m];
		FUZZ_CHECK(n == k, "mem_prox_order(%u): %u clusters, %u have memory", c, n, k);
		for (m = 0; m < n; m++) {
			FUZZ_CHECK(order[m] < NCL && has_heap[order[m]], "mem_prox_order(%u)[%u] = %u", c, m, order[m]);
			if (m)
				FUZZ_CHECK(T.cluster[c].dist[order[m - 1]] < T.cluster[c].dist[order[m]] ||
						   (T.cluster[c].dist[order[m - 1]] == T.cluster[c].dist[order[m]] &&
						    order[m - 1] < order[m]),
					   "mem_prox_order(%u) not by (distance, id)", c);
		}
	}
	FUZZ_CHECK(!mem_prox_cluster(NCL) && !mem_prox_strict(NCL) && !mem_prox_xy(1, 1) && !mem_prox_xy(2, 0),
		   "a proximity for a cluster that does not exist");
	EXPECT_ERR(FT, mem_add_private(NCL, -1, privs[0].base, 4096, priv_pages), ERR_RANGE);
	for (i = 0; i < npriv; i++) {
		/* too small for its pool first (nothing must stay registered), then the real one */
		EXPECT_ERR(FT, mem_add_private(privs[i].cluster, privs[i].hart, privs[i].base, 64, priv_pages),
			   ERR_SIZE);
		EXPECT_OK(FT, mem_add_private(privs[i].cluster, privs[i].hart, privs[i].base,
					      privs[i].end - privs[i].base, priv_pages));
	}
	for (i = 0; i < NHARTS; i++) {
		use_hart(i);
		mem_cpu_init(&hart_cpu[i].mm, i, hart_cluster[i]);
	}
	use_hart((f >> 2) % NHARTS);
	nlive = nrecent = nfreed = 0;
	return true;
}

static void finish(void)
{
	unsigned c, i;

	while (nlive)
		free_live(nlive - 1);
	drain_every_hart();
	check_heaps();
	for (c = 0; c < NCL; c++) {
		struct heap_stats st;

		if (!has_heap[c])
			continue;
		heap_get_stats(heap_of(c), &st);
		FUZZ_CHECK(st.free_bytes == heap_of(c)->boot_free && st.used_bytes == 0,
			   "cluster %u lost memory: %llu of %llu bytes free, %llu used after freeing all + mem_drain", c,
			   (unsigned long long)st.free_bytes, (unsigned long long)heap_of(c)->boot_free,
			   (unsigned long long)st.used_bytes);
	}
	for (i = 0; i < npriv; i++) {
		/* either pool's descriptor sits at the region's first 16-byte boundary (mm/mem.c) */
		void *d = (void *)((privs[i].base + 15) & ~(uintptr_t)15);
		char why[160];
		error_t e;

		if (priv_pages) {
			struct page_pool_stats ps;

			e = page_pool_check(d, why, sizeof(why));
			page_pool_get_stats(d, &ps);
			FUZZ_CHECK(ps.nruns == 0 && ps.free_pages == ps.total_pages,
				   "private region %u: %zu pages in %zu runs still used", i,
				   ps.total_pages - ps.free_pages, ps.nruns);
		} else {
			struct memory_pool_stats ms;

			e = memory_pool_check(d, why, sizeof(why));
			memory_pool_get_stats(d, &ms);
			FUZZ_CHECK(ms.used == 0 && ms.nused_blocks == 0, "private region %u: %zu bytes still used", i,
				   ms.used);
		}
		FUZZ_CHECK(e == 0, "private region %u: %s (%s)", i, err_str(e), why);
	}
	if (cma_end) {
		struct cma_region *r = NULL;
		struct cma_info ci;

		EXPECT_OK(FT, cma_find("default", &r));
		cma_region_info(r, &ci);
		FUZZ_CHECK(ci.free == ci.total && ci.chunks == 0, "CMA default: %zu of %zu bytes free, %u chunks",
			   ci.free, ci.total, ci.chunks);
		cma_reset();
		free(cma_meta);
		cma_meta = NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned ops;

	if (!ram[0]) {
		ram[0] = fuzz_arena(ram_max[0], 2 * MiB, 0);
		ram[2] = fuzz_arena(ram_max[2], 1 * MiB, 0);
		ext_arena = fuzz_arena(EXT_SIZE, PG, 0);
	}
	fuzz_begin();
	if (!build(&in))
		return 0;
	for (ops = 0; ops < MAX_OPS && fin_more(&in); ops++) {
		uint8_t kind = fin_u8(&in);

		switch ((kind & 0x7f) % 10) {	/* bit 7: a flag of the op */
		case 0: case 1: case 2: case 3:
			do_alloc(&in);
			break;
		case 4: case 5: case 6:
			if (nlive)
				free_live(fin_u16(&in) % nlive);
			break;
		case 7:
			free_bad(&in);
			break;
		case 8: {
			uint16_t k = fin_u16(&in);
			size_t us = 0;

			if (nlive) {
				struct blk *b = &live[k % nlive];

				fuzz_op("mem_getsize", b->a, 0, 0);
				if (b->cma) {
					EXPECT_ERR(FT, mem_getsize((void *)b->a, &us), ERR_NOTOWNED);
				} else {
					EXPECT_OK(FT, mem_getsize((void *)b->a, &us));
					FUZZ_CHECK(us == b->usable, "mem_getsize %zu, was %zu", us, b->usable);
				}
			}
			break;
		}
		default:
			if (kind & 0x80)
				switch_hart(fin_u8(&in) % NHARTS);
			else {
				fuzz_op("mem_drain", 0, 0, 0);
				mem_drain();
			}
			break;
		}
		if (ops % CHECK_EVERY == CHECK_EVERY - 1)
			check_heaps();
	}
	finish();
	return 0;
}
