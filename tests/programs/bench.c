/* bench.c - benchmarks printed on the console as "bench: name=... key=value" lines. */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/programs/bench.h"
#include "tests/programs/programs.h"
#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/lock.h"
#include "kernel/printk.h"
#include "kernel/smp.h"
#include "mm/buddy.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/mem_internal.h"
#include "platform/csr.h"
#include "platform/mesh.h"

/*
 * Two boots (tools/run.py bench) print everything tools/bench_report.py reads:
 *
 *   bench=all          under -icount shift=0,sleep=off: instruction counts. instret then counts guest
 *                      instructions exactly and repeatably. It sums over all harts, so single-hart figures
 *                      run on the boot hart while the others sleep in wfi (they execute nothing). Sections:
 *                      empty_loop, fast_pair, buddy_pair, lock_pair, trace + frag, remote + burst
 *                      (bench_traces.c), placement, boot, mesh (the fallback over a full mesh, the cost
 *                      of splitting).
 *   bench=contention   without -icount (MTTCG: one host thread per hart, really parallel): throughput
 *                      in fixed windows of the time CSR.
 *   bench=a,b,...      only the named sections (any of the above names, or contention).
 *
 * Loop figures are (instret over N iterations - the same loop with an empty body) / N, the best of a few
 * repeats (all repeats are equal under -icount; the minimum only matters without it).
 */
#define BENCH_ITERS 2000
#define BENCH_REPEAT 3

static uint64_t empty_cost;

static void __attribute__((noinline)) empty_body(void *arg)
{
	__asm__ volatile("" ::"r"(arg) : "memory");
}

static uint64_t measure(void (*body)(void *), void *arg)
{
	uint64_t best = ~0ULL;
	int r, i;

	for (r = 0; r < BENCH_REPEAT; r++) {
		uint64_t t0 = bench_insn(), d;

		for (i = 0; i < BENCH_ITERS; i++)
			body(arg);
		d = bench_insn() - t0;
		if (d < best)
			best = d;
	}
	return best;
}

/* per-iteration cost of @body minus the empty loop, in hundredths of an instruction */
static uint64_t per_iter_x100(void (*body)(void *), void *arg)
{
	uint64_t c = measure(body, arg);

	c = c > empty_cost ? c - empty_cost : 0;
	return c * 100 / BENCH_ITERS;
}

static void print_x100(const char *prefix, uint64_t v, const char *key)
{
	printk("%s %s=%llu.%02llu\n", prefix, key, (unsigned long long)(v / 100), (unsigned long long)(v % 100));
}

void bench_fmt_ratio(char *out, size_t len, const char *key, uint64_t num, uint64_t den)
{
	uint64_t v = den ? (num * 100 + den / 2) / den : 0;

	snprintf(out, len, " %s=%llu.%02llu", key, (unsigned long long)(v / 100), (unsigned long long)(v % 100));
}

/* "256M", "1G", "64K": a byte count for the header */
static void fmt_size(char *buf, size_t len, uint64_t b)
{
	if (b >= (1ULL << 30) && !(b & ((1ULL << 30) - 1)))
		snprintf(buf, len, "%lluG", (unsigned long long)(b >> 30));
	else if (b >= (1ULL << 20) && !(b & ((1ULL << 20) - 1)))
		snprintf(buf, len, "%lluM", (unsigned long long)(b >> 20));
	else
		snprintf(buf, len, "%lluK", (unsigned long long)(b >> 10));
}

static uint64_t timebase_hz(void)
{
	return boot_topo.timebase_hz;	/* the DT parser refuses < 1 kHz */
}

/* ---- header ---- */

/*
 * Whether instret counts instructions (-icount) or follows the host clock (QEMU without -icount): the same
 * loop measured three times gives three equal counts only in the first case.
 */
static bool instret_exact(void)
{
	uint64_t d[3];
	int r, i;

	for (r = 0; r < 3; r++) {
		uint64_t t0 = bench_insn();

		for (i = 0; i < 1000; i++)
			empty_body(NULL);
		d[r] = bench_insn() - t0;
	}
	return d[0] == d[1] && d[1] == d[2];
}

static void print_header(const char *which, const char *flags, bool exact)
{
	const struct topo *t = &boot_topo;
	char topo[400], sz[16];
	uint64_t ram = 0;
	size_t len = 0;
	unsigned c, j;

	for (c = 0; c < t->nclusters; c++)
		ram += t->cluster[c].mem.size;
	len += (size_t)snprintf(topo + len, sizeof(topo) - len, "%u clusters on a %ux%u mesh;", t->nclusters,
				t->mesh_x, t->mesh_y);
	for (c = 0; c < t->nclusters && len < sizeof(topo); c++) {
		fmt_size(sz, sizeof(sz), t->cluster[c].mem.size);
		len += (size_t)snprintf(topo + len, sizeof(topo) - len, " c%u %s %uh d", c, sz, t->cluster[c].nharts);
		for (j = 0; j < t->nclusters && len < sizeof(topo); j++)
			len += (size_t)snprintf(topo + len, sizeof(topo) - len, "%s%u", j ? "," : "",
						t->cluster[c].dist[j]);
		if (len < sizeof(topo))
			len += (size_t)snprintf(topo + len, sizeof(topo) - len, ";");
	}
	printk("bench: header lock=%s harts=%u harts_dt=%u clusters=%u ram=%llu flags=%s instret=%s "
	       "timebase_hz=%llu iters=%d repeat=%d\n", LOCK_KIND_NAME, smp_nharts(), t->nharts, t->nclusters,
	       (unsigned long long)ram, flags, exact ? "exact" : "host-clock", (unsigned long long)timebase_hz(),
	       BENCH_ITERS, BENCH_REPEAT);
	printk("bench: header cmdline=\"%s\" sections=%s\n", t->bootargs, which);
	printk("bench: header topology=\"%s\"\n", topo);
	if (!strcmp(flags, "ICOUNT") && !exact)
		printk("benchmark: warning: bench=%s expects -icount but instret follows the host clock: instruction "
		       "counts are not exact\n", which);
}

/* ---- fast_pair: the per-hart cache ---- */

struct size_arg {
	size_t size;
};

static void __attribute__((noinline)) body_fast_pair(void *a)
{
	void *p;

	if (!mem_alloc(((struct size_arg *)a)->size, NULL, MEM_VALID_SYS, &p))
		mem_free(p);
}

/* the same with the size known at compile time, the common case in kernel code (sizeof a struct) */
static void __attribute__((noinline)) body_fast_pair64(void *a)
{
	void *p;

	if (!mem_alloc(64, NULL, MEM_VALID_SYS, &p))
		mem_free(p);
}

/* one call each, bracketed alone: what a warm mem_alloc() and mem_free() cost apart (minus time_none()) */
static __attribute__((noinline)) uint64_t time_none(void)
{
	uint64_t t0 = bench_insn();

	return bench_insn() - t0;
}

static __attribute__((noinline)) uint64_t time_alloc(size_t size, void **p)
{
	uint64_t t0 = bench_insn();

	mem_alloc(size, NULL, MEM_VALID_SYS, p);
	return bench_insn() - t0;
}

static __attribute__((noinline)) uint64_t time_free(void *p)
{
	uint64_t t0 = bench_insn();

	mem_free(p);
	return bench_insn() - t0;
}

static spinlock_t fp_newlib_lock;

static void __attribute__((noinline)) body_newlib_pair(void *a)
{
	void *p;

	spin_lock(&fp_newlib_lock);
	p = malloc(((struct size_arg *)a)->size);
	spin_unlock(&fp_newlib_lock);
	spin_lock(&fp_newlib_lock);
	free(p);
	spin_unlock(&fp_newlib_lock);
}

/*
 * A warm pair on the calling hart: one pair first fills the bin, then every measured mem_alloc pops the
 * block the previous mem_free pushed (16 and 32 B share the 64 B bin). insn_alloc and insn_free are one
 * warm call each, timed alone (argument set-up and call included, the empty bracket subtracted). The
 * const=1 line is the 64 B pair with the size a compile-time constant, which names its bin directly. The
 * newlib lines are the same pair through newlib's malloc/free behind one global lock (the build's
 * spinlock kind), for the plot.
 */
static void bench_fast_pair(void)
{
	struct size_arg a;
	char p[96];
	int nl = bench_newlib_init();

	spin_init(&fp_newlib_lock);
	for (a.size = 16; a.size <= 4096; a.size <<= 1) {
		uint64_t none = time_none(), ta, tf;
		void *x = NULL;

		body_fast_pair(&a);
		ta = time_alloc(a.size, &x) - none;
		tf = time_free(x) - none;
		snprintf(p, sizeof(p), "bench: name=fast_pair size=%zu insn_alloc=%llu insn_free=%llu", a.size,
			 (unsigned long long)ta, (unsigned long long)tf);
		print_x100(p, per_iter_x100(body_fast_pair, &a), "insn_per_pair");
	}
	a.size = 64;
	body_fast_pair64(&a);
	print_x100("bench: name=fast_pair size=64 const=1", per_iter_x100(body_fast_pair64, &a), "insn_per_pair");
	for (a.size = 16; !nl && a.size <= 4096; a.size <<= 1) {
		body_newlib_pair(&a);
		snprintf(p, sizeof(p), "bench: name=fast_pair size=%zu alloc=newlib lock=%s", a.size, LOCK_KIND_NAME);
		print_x100(p, per_iter_x100(body_newlib_pair, &a), "insn_per_pair");
	}
}

/* ---- lock_pair ---- */

static struct mcs_lock b_mcs;
static struct ticket_lock b_ticket;
static struct tas_lock b_tas;
static struct qspin_lock b_qspin;

static void __attribute__((noinline)) body_qspin(void *a) { qspin_lock(&b_qspin); qspin_unlock(&b_qspin); }
static void __attribute__((noinline)) body_mcs(void *a) { mcs_lock(&b_mcs); mcs_unlock(&b_mcs); }
static void __attribute__((noinline)) body_ticket(void *a) { ticket_lock(&b_ticket); ticket_unlock(&b_ticket); }
static void __attribute__((noinline)) body_tas(void *a) { tas_lock(&b_tas); tas_unlock(&b_tas); }

static void bench_lock_pair(void)
{
	char p[64];

	mcs_init(&b_mcs);
	ticket_init(&b_ticket);
	tas_init(&b_tas);
	qspin_init(&b_qspin);
	snprintf(p, sizeof(p), "bench: name=lock_pair lock=mcs");
	print_x100(p, per_iter_x100(body_mcs, NULL), "insn_per_pair");
	snprintf(p, sizeof(p), "bench: name=lock_pair lock=ticket");
	print_x100(p, per_iter_x100(body_ticket, NULL), "insn_per_pair");
	snprintf(p, sizeof(p), "bench: name=lock_pair lock=tas");
	print_x100(p, per_iter_x100(body_tas, NULL), "insn_per_pair");
	snprintf(p, sizeof(p), "bench: name=lock_pair lock=qspin");
	print_x100(p, per_iter_x100(body_qspin, NULL), "insn_per_pair");
}

/* ---- buddy_pair: the heap straight ---- */

struct heap_pair_arg {
	unsigned cluster;
	size_t size;
};

static void __attribute__((noinline)) body_heap_pair(void *a)
{
	struct heap_pair_arg *p = a;
	void *x;

	if (!heap_alloc(p->cluster, p->size, &x))
		heap_free(x);
}

/*
 * The heap straight (lock included, no per-hart cache): "steady" holds the block's buddy so that the
 * pair pops and pushes one free-list entry, the common state of a heap in use; "splitmerge" first takes
 * every free block of the request's order and the SPLIT_LEVELS - 1 orders above off the heap (held, given
 * back after), so that each pair splits at least SPLIT_LEVELS levels down and merges back up; levels= is
 * the number it really splits (the smallest free order above minus the request's).
 */
#define SPLIT_LEVELS 4

/* hold every free block of orders [o, o + SPLIT_LEVELS) of heap @c on list *@held; the levels left */
static unsigned hold_small_free(unsigned c, unsigned o, void **held)
{
	struct heap_stats st;
	unsigned k;

	for (;;) {
		void *x;

		heap_get_stats(heap_of(c), &st);
		for (k = o; k < o + SPLIT_LEVELS && k <= BUDDY_MAX_ORDER && !st.nfree[k]; k++)
			;
		if (k >= o + SPLIT_LEVELS || k > BUDDY_MAX_ORDER || heap_alloc(c, (size_t)1 << k, &x))
			break;
		*(void **)x = *held;
		*held = x;
	}
	for (k = o; k <= BUDDY_MAX_ORDER && !st.nfree[k]; k++)
		;
	return k - o;
}

static void release_held(void *held)
{
	while (held) {
		void *next = *(void **)held;

		heap_free(held);
		held = next;
	}
}

static void bench_buddy_pair(void)
{
	unsigned c = cls_self()->cluster, o;
	size_t size;

	if (!heap_of(c)->size)
		c = 0;
	for (size = 64, o = 6; size <= (1u << 20); size <<= 2, o += 2) {
		struct heap_pair_arg a = { c, size };
		void *x, *y, *held = NULL;
		unsigned levels = hold_small_free(c, o, &held);
		char p[96];

		snprintf(p, sizeof(p), "bench: name=buddy_pair size=%zu mode=splitmerge levels=%u", size, levels);
		print_x100(p, per_iter_x100(body_heap_pair, &a), "insn_per_pair");
		release_held(held);
		if (heap_alloc(c, size, &x) || heap_alloc(c, size, &y))
			continue;
		heap_free(x);
		print_x100((snprintf(p, sizeof(p), "bench: name=buddy_pair size=%zu mode=steady", size), p),
			   per_iter_x100(body_heap_pair, &a), "insn_per_pair");
		heap_free(y);
	}
}

/* ---- boot: heap initialisation against RAM size ---- */

/*
 * The live heaps cannot be rebuilt, so this times the same work heap_init_all() does per cluster
 * (descriptor cleared, buddy_init(), buddy_add_range() of the RAM behind the metadata, buddy_get_stats())
 * on scratch "clusters": one block per real cluster, carved from that cluster's heap, used at 4, 16 and
 * 64 MiB each. The cost should not grow with RAM: buddy_init() clears one bit per 64 KiB, tags are
 * initialised lazily, and add_range carves O(log size) blocks. Per-hart state (mem_cpu_init(), CLS,
 * stacks) is per hart, not per byte, and is not included (it would overwrite the live harts' state).
 */
struct scratch_heap {
	struct buddy b;
} __attribute__((aligned(64)));

static void scratch_build(uintptr_t base, size_t size)
{
	struct scratch_heap *h = (struct scratch_heap *)base;
	uintptr_t end = base + size, meta = (base + sizeof(*h) + 63) & ~(uintptr_t)63;
	size_t msize = buddy_meta_size(base, end);
	struct buddy_stats st;

	memset(h, 0, sizeof(*h));
	if (buddy_init(&h->b, base, end, (void *)meta, msize) ||
	    buddy_add_range(&h->b, (meta + msize + 63) & ~(uintptr_t)63, end))
		printk("benchmark: boot: scratch heap at 0x%lx+0x%zx refused\n", (unsigned long)base, size);
	buddy_get_stats(&h->b, &st);
}

static void bench_boot(void)
{
	static void *area[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	size_t max = (size_t)64 << 20, size;
	unsigned c, n = 0, i;

	for (c = 0; c < boot_topo.nclusters; c++) {
		struct heap *h = heap_of(c);

		if (h && h->size && !heap_alloc(c, max, &area[n]))
			n++;
	}
	if (!n) {
		printk("benchmark: boot: no room for a scratch area\n");
		return;
	}
	for (size = (size_t)4 << 20; size <= max; size <<= 2) {
		uint64_t best = ~0ULL;
		int r;

		for (r = 0; r < BENCH_REPEAT; r++) {
			uint64_t t0 = bench_insn(), d;

			for (i = 0; i < n; i++)
				scratch_build((uintptr_t)area[i], size);
			d = bench_insn() - t0;
			best = d < best ? d : best;
		}
		printk("bench: name=boot harts=%u clusters=%u ram=%llu insn=%llu\n", smp_nharts(), n,
		       (unsigned long long)size * n, (unsigned long long)best);
	}
	for (i = 0; i < n; i++)
		heap_free(area[i]);
}

/* ---- placement ---- */

/*
 * Every hart allocates its own working set with the default proximity (prox NULL) and classifies each
 * block by the cluster whose RAM holds it. Per cluster of harts: local_pct = bytes in their own cluster,
 * cost = sum of distance(hart's cluster, block's cluster) * block bytes, and the same cost for the best
 * placement the clusters' free capacities allowed (capacity = heap free bytes after draining every cache,
 * just before the run), found greedily by distance: all local demand first, then the clusters at the next
 * distance, and so on. Bytes are block bytes (the heaps' powers of two >= 64).
 *
 *   has_room  2 MiB per hart, Pareto sizes 64 B .. 64 KiB (mostly served by the per-hart cache): every
 *             cluster has room, so the optimum is all-local (cost 10 * bytes).
 *   exhaust   blocks of 64 KiB .. 1 MiB; the harts of odd clusters ask for 125% of their cluster's free
 *             bytes, those of even clusters for 55% (90% of the machine in all): odd clusters must spill,
 *             and the optimum sends the overflow to the nearest cluster with room left.
 */
#define PLACE_MAX_BLOCKS 16384
#define PLACE_ROOM_BYTES ((uint64_t)2 << 20)

struct place_hart {
	void **ptr;
	unsigned n, fails;
	uint64_t demand, got;
	uint64_t bytes_in[TOPO_MAX_CLUSTERS];
};

struct place_run {
	bool exhaust;
	struct place_hart h[TOPO_MAX_HARTS];
};

static unsigned cluster_of_addr(uintptr_t a)
{
	unsigned c;

	for (c = 0; c < boot_topo.nclusters; c++)
		if (a - boot_topo.cluster[c].mem.base < boot_topo.cluster[c].mem.size)
			return c;
	return TOPO_MAX_CLUSTERS;
}

static void place_alloc_fn(void *arg)
{
	struct place_run *run = arg;
	unsigned me = cls_self()->index;
	struct place_hart *ph = &run->h[me];
	struct bench_rng rng = { 0x243f6a8885a308d3ULL ^ ((uint64_t)(me + 1) * 0x9e3779b97f4a7c15ULL) };

	while (ph->got < ph->demand && ph->n < PLACE_MAX_BLOCKS) {
		size_t size = run->exhaust ? (size_t)65536 << (bench_rand(&rng) % 5) : bench_pareto(&rng, 64, 65536);
		size_t bytes;
		void *p;
		unsigned c;

		if (mem_alloc(size, NULL, MEM_VALID_SYS, &p)) {
			ph->fails++;
			break;
		}
		ph->ptr[ph->n++] = p;
		/* the heap's block: a power of two >= 64 (mem_getsize() would take the heap lock once more) */
		for (bytes = 64; bytes < size; bytes <<= 1)
			;
		ph->got += bytes;
		c = cluster_of_addr((uintptr_t)p);
		if (c < TOPO_MAX_CLUSTERS)
			ph->bytes_in[c] += bytes;
	}
}

static void place_free_fn(void *arg)
{
	struct place_hart *ph = &((struct place_run *)arg)->h[cls_self()->index];
	unsigned i;

	for (i = 0; i < ph->n; i++)
		mem_free(ph->ptr[i]);
	ph->n = 0;
	mem_drain();
}

static void drain_fn(void *arg)
{
	mem_drain();
}

static void place_print(const char *trace, int cluster, unsigned harts, uint64_t bytes, uint64_t local,
			uint64_t cost, uint64_t opt, unsigned fails)
{
	char cl[24] = "", ratio[48];
	uint64_t pct = bytes ? (local * 1000 + bytes / 2) / bytes : 0;

	if (cluster >= 0)
		snprintf(cl, sizeof(cl), " cluster=%d", cluster);
	bench_fmt_ratio(ratio, sizeof(ratio), "cost_over_optimal", cost, opt);
	printk("bench: name=placement trace=%s alloc=proxima%s harts=%u bytes=%llu local_pct=%llu.%llu%s fails=%u\n",
	       trace, cl, harts, (unsigned long long)bytes, (unsigned long long)(pct / 10),
	       (unsigned long long)(pct % 10), ratio, fails);
}

/*
 * place_one() - one placement run. In the exhaust trace every other cluster with harts (in id order: on
 * the default machine the odd ones; on a mesh whose harts sit on every other cluster, every other of
 * those) asks for 125% of its free bytes. Per distance (a ring of the harts' clusters) it also prints the
 * bytes placed at that distance against the optimum's (placement_ring).
 */
static void place_one(struct place_run *run, bool exhaust)
{
	const struct topo *t = &boot_topo;
	const char *trace = exhaust ? "exhaust" : "has_room";
	static uint64_t cap[TOPO_MAX_CLUSTERS], dem[TOPO_MAX_CLUSTERS], opt[TOPO_MAX_CLUSTERS];
	static uint64_t at_dist[256], opt_dist[256];
	static unsigned harts_in[TOPO_MAX_CLUSTERS], fails_in[TOPO_MAX_CLUSTERS];
	static bool spill[TOPO_MAX_CLUSTERS];
	unsigned nc = t->nclusters, c, m, i, lvl, nth = 0, tf = 0, th = 0;
	uint64_t (*row)[TOPO_MAX_CLUSTERS];	/* [hart's cluster][block's cluster]: 512 KiB, from a heap */
	uint64_t tb = 0, tl = 0, tc = 0, to = 0;
	void *rowmem;

	if (heap_alloc_near(cls_self()->cluster, sizeof(*row) * TOPO_MAX_CLUSTERS, &rowmem)) {
		printk("benchmark: placement: no room for the table\n");
		return;
	}
	row = rowmem;
	memset(row, 0, sizeof(*row) * TOPO_MAX_CLUSTERS);
	memset(dem, 0, sizeof(dem));
	memset(opt, 0, sizeof(opt));
	memset(at_dist, 0, sizeof(at_dist));
	memset(opt_dist, 0, sizeof(opt_dist));
	memset(harts_in, 0, sizeof(harts_in));
	memset(fails_in, 0, sizeof(fails_in));

	smp_call_all(drain_fn, NULL);
	for (c = 0; c < nc; c++)
		cap[c] = heap_free_bytes(c);
	for (i = 0; i < TOPO_MAX_HARTS; i++)
		if (cls_of(i) && smp_hart_up(i))
			harts_in[cls_of(i)->cluster]++;
	for (c = 0; c < nc; c++)
		spill[c] = harts_in[c] && (nth++ & 1);
	run->exhaust = exhaust;
	for (i = 0; i < TOPO_MAX_HARTS; i++) {
		struct place_hart *ph = &run->h[i];

		ph->n = ph->fails = 0;
		ph->got = 0;
		memset(ph->bytes_in, 0, sizeof(ph->bytes_in));
		if (!cls_of(i) || !smp_hart_up(i) || !ph->ptr)
			continue;
		c = cls_of(i)->cluster;
		ph->demand = !exhaust ? PLACE_ROOM_BYTES : cap[c] * (spill[c] ? 125 : 55) / 100 / harts_in[c];
	}
	smp_call_all(place_alloc_fn, run);

	/* the run: per cluster of harts, where their bytes went */
	for (i = 0; i < TOPO_MAX_HARTS; i++) {
		if (!cls_of(i) || !smp_hart_up(i))
			continue;
		c = cls_of(i)->cluster;
		for (m = 0; m < nc; m++)
			row[c][m] += run->h[i].bytes_in[m];
		fails_in[c] += run->h[i].fails;
	}
	/* the greedy optimum for the same demand: distance levels in increasing order */
	for (c = 0; c < nc; c++)
		for (m = 0; m < nc; m++)
			dem[c] += row[c][m];
	for (lvl = 0; lvl <= 255; lvl++)
		for (c = 0; c < nc; c++)
			for (m = 0; m < nc && dem[c]; m++) {
				uint64_t x;

				if (t->cluster[c].dist[m] != lvl || !cap[m])
					continue;
				x = dem[c] < cap[m] ? dem[c] : cap[m];
				dem[c] -= x;
				cap[m] -= x;
				opt[c] += x * lvl;
				opt_dist[lvl] += x;
			}
	for (c = 0; c < nc; c++) {
		uint64_t bytes = 0, cost = 0;

		if (!harts_in[c])
			continue;
		for (m = 0; m < nc; m++) {
			bytes += row[c][m];
			cost += row[c][m] * t->cluster[c].dist[m];
			at_dist[t->cluster[c].dist[m]] += row[c][m];
		}
		place_print(trace, (int)c, harts_in[c], bytes, row[c][c], cost, opt[c], fails_in[c]);
		tb += bytes, tl += row[c][c], tc += cost, to += opt[c], tf += fails_in[c], th += harts_in[c];
	}
	place_print(trace, -1, th, tb, tl, tc, to, tf);
	for (lvl = 0; lvl <= 255; lvl++)
		if (at_dist[lvl] || opt_dist[lvl])
			printk("bench: name=placement_ring trace=%s clusters=%u dist=%u bytes=%llu opt_bytes=%llu\n", trace,
			       nc, lvl, (unsigned long long)at_dist[lvl], (unsigned long long)opt_dist[lvl]);
	heap_free(rowmem);
	smp_call_all(place_free_fn, run);
}

static void bench_placement(void)
{
	struct place_run *run;
	unsigned i;
	void *m;

	if (heap_alloc_local(sizeof(*run), &m)) {
		printk("benchmark: placement: no room for the run table\n");
		return;
	}
	run = m;
	memset(run, 0, sizeof(*run));
	for (i = 0; i < TOPO_MAX_HARTS; i++) {
		void *p;

		if (cls_of(i) && smp_hart_up(i) &&
		    !heap_alloc_near(cls_of(i)->cluster, PLACE_MAX_BLOCKS * sizeof(void *), &p))
			run->h[i].ptr = p;
	}
	place_one(run, false);
	place_one(run, true);
	for (i = 0; i < TOPO_MAX_HARTS; i++)
		if (run->h[i].ptr)
			heap_free(run->h[i].ptr);
	heap_free(run);
}

/* ---- contention (MTTCG) ---- */

/*
 * Each of the first n harts runs alloc/free pairs of random sizes (16..512 B) for a fixed window of the
 * time CSR: a ring of CONT_RING live blocks per hart, each step frees the oldest and allocates a new one;
 * ops counts those pairs. ops_per_sec = all harts' pairs / window; fairness = most / fewest pairs of one
 * hart; each variant runs CONT_REPEATS windows and reports the medians. Variants:
 *   alloc=proxima        mem_alloc/mem_free: the per-hart caches, the heaps' locks only on refill/trim.
 *   alloc=proxima-heap   heap_alloc/heap_free on one shared heap (cluster 0): the heap lock under test
 *                        (its kind is chosen at build time, LOCK=).
 *   alloc=newlib         newlib's malloc/free, each call behind one global lock, once per lock kind
 *                        (mcs, qspin, ticket, tas): the same critical section under each.
 * spins, contended, halts, kicks, steals, acquired and max_wait_us come from the lock statistics of the locks
 * involved (all heaps for proxima) over the window.
 *
 * Caveat: these figures come from QEMU's MTTCG, each hart a host thread, on however many host cores there
 * are. With fewer cores than harts the host deschedules vCPUs at random; a FIFO lock (MCS, ticket) whose
 * holder or next-in-line is descheduled stalls every waiter behind it for a whole host time slice (the
 * vCPU-preemption problem), which TAS does not suffer from. Absolute numbers, and the lock ranking, depend
 * on the host; the icount figures above do not.
 */
#define CONT_RING 16
#define CONT_WINDOW_MS 400

enum cont_kind { CONT_PROXIMA, CONT_HEAP, CONT_NEWLIB };

struct cont_run {
	enum cont_kind kind;
	enum lock_kind lock;
	unsigned heap;
	uint64_t window;
	uint64_t ops[TOPO_MAX_HARTS];
	bool ran[TOPO_MAX_HARTS];
	unsigned fails[TOPO_MAX_HARTS];
};

/* newlib's one global lock, of the kind the run asks for */
static struct any_lock c_lock;

static inline void *c_alloc(const struct cont_run *r, size_t size)
{
	void *p = NULL;

	switch (r->kind) {
	case CONT_PROXIMA:
		if (mem_alloc(size, NULL, MEM_VALID_SYS, &p))
			p = NULL;
		break;
	case CONT_HEAP:
		if (heap_alloc(r->heap, size, &p))
			p = NULL;
		break;
	case CONT_NEWLIB:
		any_lock(&c_lock);
		p = malloc(size);
		any_unlock(&c_lock);
		break;
	}
	return p;
}

static inline void c_free(const struct cont_run *r, void *p)
{
	if (!p)
		return;
	switch (r->kind) {
	case CONT_PROXIMA:
		mem_free(p);
		break;
	case CONT_HEAP:
		heap_free(p);
		break;
	case CONT_NEWLIB:
		any_lock(&c_lock);
		free(p);
		any_unlock(&c_lock);
		break;
	}
}

static void cont_fn(void *arg)
{
	struct cont_run *r = arg;
	unsigned me = cls_self()->index, k, fails = 0;
	struct bench_rng rng = { 0x6a09e667f3bcc909ULL ^ ((uint64_t)(me + 1) << 32) };
	void *ring[CONT_RING];
	uint64_t n = 0, end;

	for (k = 0; k < CONT_RING; k++)
		ring[k] = c_alloc(r, 16 + bench_rand(&rng) % 497);
	smp_barrier();
	end = rdtime() + r->window;
	do {
		for (k = 0; k < CONT_RING; k++) {
			c_free(r, ring[k]);
			ring[k] = c_alloc(r, 16 + bench_rand(&rng) % 497);
			fails += !ring[k];
		}
		n += CONT_RING;
	} while (rdtime() < end);
	smp_barrier();
	for (k = 0; k < CONT_RING; k++)
		c_free(r, ring[k]);
	if (r->kind == CONT_PROXIMA)
		mem_drain();
	r->ops[me] = n;
	r->fails[me] = fails;
	r->ran[me] = true;
}

static void lock_stats_add(struct lock_stats *sum, const struct lock_stats *s)
{
	sum->acquired += s->acquired;
	sum->contended += s->contended;
	sum->spins += s->spins;
	sum->halts += s->halts;
	sum->kicks += s->kicks;
	sum->steals += s->steals;
	sum->wait_total += s->wait_total;
	if (s->wait_max > sum->wait_max)
		sum->wait_max = s->wait_max;
}

/* the statistics of the heap locks a variant uses; wait_max is reset (under the lock) when @reset */
static void heap_lock_stats(const struct cont_run *r, struct lock_stats *sum, bool reset)
{
	unsigned c;

	memset(sum, 0, sizeof(*sum));
	for (c = 0; c < boot_topo.nclusters; c++) {
		struct heap *h = heap_of(c);
		struct heap_stats st;

		if (!h || !h->size || (r->kind == CONT_HEAP && c != r->heap))
			continue;
		if (reset) {
			spin_lock(&h->lock);
			spin_stats(&h->lock)->wait_max = 0;
			spin_unlock(&h->lock);
		}
		heap_get_stats(h, &st);
		lock_stats_add(sum, &st.lock);
	}
}

/* one window's outcome; cont_median() prints the median of CONT_REPEATS of them */
struct cont_result {
	uint64_t total, ops_per_sec, fair_x100;
	unsigned harts, fails;
	struct lock_stats d;
};

/* Each variant runs CONT_REPEATS windows; the line reports their medians (host noise is large). */
#define CONT_REPEATS 3

static void cont_one(struct cont_run *r, unsigned n, struct cont_result *res)
{
	struct lock_stats before, after, d = { 0 };
	uint64_t total = 0, most = 0, fewest = ~0ULL;
	unsigned i, harts = 0, fails = 0;

	memset(r->ops, 0, sizeof(r->ops));
	memset(r->ran, 0, sizeof(r->ran));
	memset(r->fails, 0, sizeof(r->fails));
	any_lock_init(&c_lock, r->lock);
	if (r->kind != CONT_NEWLIB)
		heap_lock_stats(r, &before, true);
	smp_call_n(n, cont_fn, r);
	if (r->kind != CONT_NEWLIB) {
		heap_lock_stats(r, &after, false);
		d.acquired = after.acquired - before.acquired;
		d.contended = after.contended - before.contended;
		d.spins = after.spins - before.spins;
		d.halts = after.halts - before.halts;
		d.kicks = after.kicks - before.kicks;
		d.steals = after.steals - before.steals;
		d.wait_max = after.wait_max;
	} else {
		d = *any_lock_stats(&c_lock);
	}
	for (i = 0; i < TOPO_MAX_HARTS; i++) {
		if (!r->ran[i])
			continue;
		harts++;
		total += r->ops[i];
		fails += r->fails[i];
		most = r->ops[i] > most ? r->ops[i] : most;
		fewest = r->ops[i] < fewest ? r->ops[i] : fewest;
	}
	if (!fewest)
		fewest = 1;
	*res = (struct cont_result){ total, total * timebase_hz() / r->window, (most * 100 + fewest / 2) / fewest,
				     harts, fails, d };
}

static void sort_u64(uint64_t *v, unsigned n)
{
	unsigned i, j;

	for (i = 1; i < n; i++)
		for (j = i; j && v[j - 1] > v[j]; j--) {
			uint64_t x = v[j];

			v[j] = v[j - 1];
			v[j - 1] = x;
		}
}

/*
 * cont_median() - CONT_REPEATS windows of one variant: ops_per_sec and fairness are the medians (each on
 * its own), the lock statistics those of the median-throughput window; ops_per_sec_min/max show the spread.
 */
static void cont_median(struct cont_run *r, unsigned n)
{
	const char *alloc = r->kind == CONT_PROXIMA ? "proxima" : r->kind == CONT_HEAP ? "proxima-heap" : "newlib";
	const char *lock = r->kind == CONT_NEWLIB ? lock_kind_name(r->lock) : LOCK_KIND_NAME;
	struct cont_result res[CONT_REPEATS], *m = &res[0];
	uint64_t ops[CONT_REPEATS], fair[CONT_REPEATS];
	unsigned i, fails = 0;

	for (i = 0; i < CONT_REPEATS; i++) {
		cont_one(r, n, &res[i]);
		ops[i] = res[i].ops_per_sec;
		fair[i] = res[i].fair_x100;
		fails += res[i].fails;
	}
	sort_u64(ops, CONT_REPEATS);
	sort_u64(fair, CONT_REPEATS);
	for (i = 0; i < CONT_REPEATS; i++)
		if (res[i].ops_per_sec == ops[CONT_REPEATS / 2])
			m = &res[i];
	printk("bench: name=contention alloc=%s lock=%s harts=%u clusters=%u ops=%llu ops_per_sec=%llu "
	       "fairness=%llu.%02llu spins=%llu contended=%llu halts=%llu kicks=%llu steals=%llu acquired=%llu "
	       "max_wait_us=%llu window_ms=%d repeats=%d ops_per_sec_min=%llu ops_per_sec_max=%llu fails=%u\n",
	       alloc, lock, m->harts, boot_topo.nclusters, (unsigned long long)m->total,
	       (unsigned long long)ops[CONT_REPEATS / 2], (unsigned long long)(fair[CONT_REPEATS / 2] / 100),
	       (unsigned long long)(fair[CONT_REPEATS / 2] % 100), (unsigned long long)m->d.spins,
	       (unsigned long long)m->d.contended, (unsigned long long)m->d.halts, (unsigned long long)m->d.kicks,
	       (unsigned long long)m->d.steals, (unsigned long long)m->d.acquired,
	       (unsigned long long)(m->d.wait_max * 1000000 / timebase_hz()), CONT_WINDOW_MS, CONT_REPEATS,
	       (unsigned long long)ops[0], (unsigned long long)ops[CONT_REPEATS - 1], fails);
}

static void bench_contention(void)
{
	static const unsigned want[] = { 1, 2, 4, 8, 16, 32, TOPO_MAX_HARTS };
	unsigned counts[sizeof(want) / sizeof(want[0])], ncounts = 0, i, j, up = smp_nharts();
	struct cont_run *r;
	void *m;

	if (bench_newlib_init() || heap_alloc_local(sizeof(*r), &m)) {
		printk("benchmark: contention: no room for newlib's arena or the run table\n");
		return;
	}
	r = m;
	memset(r, 0, sizeof(*r));
	r->window = timebase_hz() * CONT_WINDOW_MS / 1000;
	for (r->heap = 0; r->heap < boot_topo.nclusters && !heap_of(r->heap)->size; r->heap++)
		;
	/* 1, 2, 4, 8, 16, 32 and all harts, each clamped to the harts up, without repeats */
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		unsigned n = want[i] < up ? want[i] : up;

		for (j = 0; j < ncounts && counts[j] != n; j++)
			;
		if (j == ncounts)
			counts[ncounts++] = n;
	}
	for (i = 0; i < ncounts; i++) {
		r->kind = CONT_PROXIMA;
		cont_median(r, counts[i]);
		r->kind = CONT_HEAP;
		cont_median(r, counts[i]);
		r->kind = CONT_NEWLIB;
		for (r->lock = 0; r->lock < LOCK_NKINDS; r->lock++)
			cont_median(r, counts[i]);
	}
	heap_free(r);
}

/* ---- mesh: the fallback walk over a full mesh, and what emulating a mesh costs at boot ---- */

/*
 * Every cluster with memory is filled through its strict proximity (largest blocks first, held in a list
 * threaded through them), then a 64 KiB request through the proximity of cluster 0 (a corner: its order
 * reaches the farthest cell) must walk every ring and skip every cluster: fallback_full is its
 * instruction count (ERR_NOMEM, no lock taken). fallback_last frees one block of the last cluster of the
 * order and asks again: the walk then ends in that cluster's heap (one lock). mesh_split is the cost of
 * turning the booted sockets into an XxY mesh (platform/mesh.c, distances included) for 4, 16, 64 and
 * 256 clusters; prox_init that of the proximities' ring orders for the booted clusters (mm/mem_prox.c).
 */
struct mesh_blk {
	struct mesh_blk *next;
};

static struct topo mesh_scratch;

/* the booted machine as the DT gave it: one cluster per socket (what mesh_split() starts from) */
static void mesh_unsplit(struct topo *s)
{
	const struct topo *t = &boot_topo;
	unsigned i, j;

	*s = *t;
	s->emulated = 0;
	s->nclusters = t->nsockets;
	for (i = 0; i < t->nsockets; i++) {
		struct topo_cluster *c = &s->cluster[i];

		memset(c, 0, sizeof(*c));
		c->id = c->socket = i;
		c->mem = t->socket[i].mem;
		c->nharts = t->socket[i].nharts;
		c->hart_lo = t->socket[i].hart_lo;
		c->hart_hi = t->socket[i].hart_hi;
		for (j = 0; j < t->nsockets; j++)
			c->dist[j] = t->socket[i].dist[j];
	}
	for (i = 0; i < t->nharts; i++)
		s->hart[i].cluster = t->cluster[t->hart[i].cluster].socket;
}

static void bench_mesh(void)
{
	const struct topo *t = &boot_topo;
	static const unsigned side[] = { 2, 4, 8, 16 };
	struct mesh_blk *held = NULL;
	unsigned c, k, order[1], last = 0, n, rings, nmem = 0;
	static unsigned all[TOPO_MAX_CLUSTERS], ring[TOPO_MAX_CLUSTERS];
	uint64_t best, t0;
	void *p = NULL;
	error_t e = 0;
	int r;

	for (k = 0; k < sizeof(side) / sizeof(side[0]); k++) {
		char why[160];

		if (side[k] * side[k] < t->nsockets)
			continue;
		best = ~0ULL;
		for (r = 0; r < BENCH_REPEAT; r++) {
			mesh_unsplit(&mesh_scratch);
			t0 = bench_insn();
			e = mesh_apply(&mesh_scratch, side[k], side[k], t->hop ? t->hop : MESH_HOP_DEFAULT, why, sizeof(why));
			t0 = bench_insn() - t0;
			best = t0 < best ? t0 : best;
		}
		printk("bench: name=mesh_split sockets=%u clusters=%u mesh=%ux%u insn=%llu%s%s\n", t->nsockets,
		       e ? t->nsockets : side[k] * side[k], side[k], side[k], (unsigned long long)best, e ? " refused=" : "",
		       e ? err_str(e) : "");
	}
	t0 = bench_insn();
	nmem = mem_prox_init(t);	/* the live tables again: the same orders, the counters restart */
	printk("bench: name=prox_init clusters=%u mem_clusters=%u insn=%llu\n", t->nclusters, nmem,
	       (unsigned long long)(bench_insn() - t0));

	n = mem_prox_order(0, all, TOPO_MAX_CLUSTERS);
	rings = mem_prox_rings(0, ring, TOPO_MAX_CLUSTERS);
	if (n < 2 || mem_prox_order(0, order, 1) != 1) {
		printk("benchmark: mesh: fewer than 2 clusters with memory\n");
		return;
	}
	last = all[n - 1];
	for (c = 0; c < t->nclusters; c++) {
		int o;

		if (!heap_of(c)->size)
			continue;
		for (o = 63 - __builtin_clzll(heap_of(c)->size); o >= 6; o--)
			while (!mem_alloc(((size_t)1 << o) - 16, mem_prox_strict(c), MEM_VALID_SYS, &p)) {
				((struct mesh_blk *)p)->next = held;
				held = p;
			}
	}
	/* a hart's cache may still hold blocks of cluster 0: requests of 64 KiB never use it */
	best = ~0ULL;
	for (r = 0; r < BENCH_REPEAT; r++) {
		t0 = bench_insn();
		e = mem_alloc(64 << 10, mem_prox_cluster(0), MEM_VALID_SYS, &p);
		t0 = bench_insn() - t0;
		best = t0 < best ? t0 : best;
	}
	printk("bench: name=fallback_full clusters=%u mem_clusters=%u rings=%u insn=%llu result=\"%s\"\n", t->nclusters,
	       n, rings, (unsigned long long)best, e ? err_str(e) : "served?");
	/* one 64 KiB block free in the last cluster of the order: the walk ends there */
	{
		struct mesh_blk **pp;

		/* give back one held block of the last cluster, at least 64 KiB */
		for (pp = &held; *pp; pp = &(*pp)->next) {
			size_t sz = 0;

			if (heap_owner(*pp) == heap_of(last) && !heap_getsize(*pp, &sz) && sz >= (64 << 10)) {
				struct mesh_blk *b = *pp;

				*pp = b->next;
				mem_free(b);
				break;
			}
		}
		best = ~0ULL;
		for (r = 0; r < BENCH_REPEAT; r++) {
			struct mem_receipt rc = { 0 };

			t0 = bench_insn();
			e = mem_alloc_receipt(64 << 10, mem_prox_cluster(0), MEM_VALID_SYS, &p, &rc);
			t0 = bench_insn() - t0;
			best = t0 < best ? t0 : best;
			if (!e) {
				if (rc.cluster != last)
					printk("benchmark: mesh: served by cluster %u, not %u\n", rc.cluster, last);
				mem_free(p);
			}
		}
		printk("bench: name=fallback_last clusters=%u mem_clusters=%u rank=%u insn=%llu result=\"%s\"\n",
		       t->nclusters, n, n - 1, (unsigned long long)best, e ? err_str(e) : "0");
	}
	while (held) {
		struct mesh_blk *b = held;

		held = b->next;
		mem_free(b);
	}
	mem_drain();
}

/* ---- the runner ---- */

static const struct {
	const char *name;
	void (*fn)(void);
} sections[] = {
	{ "fast_pair", bench_fast_pair },
	{ "buddy_pair", bench_buddy_pair },
	{ "lock_pair", bench_lock_pair },
	{ "trace", bench_traces },
	{ "remote", bench_remote_burst },
	{ "placement", bench_placement },
	{ "boot", bench_boot },
	{ "mesh", bench_mesh },
	{ "contention", bench_contention },
};

/* whether section @name is in the comma-separated list @which ("all": every section but contention) */
static bool wanted(const char *which, const char *name)
{
	size_t n = strlen(name);
	const char *p = which;

	if (!strcmp(which, "all"))
		return strcmp(name, "contention") != 0;
	while (*p) {
		size_t l = strcspn(p, ",");

		if (l == n && !strncmp(p, name, n))
			return true;
		p += l + (p[l] == ',');
	}
	return false;
}

static int bench_main(const char *which)
{
	bool exact = instret_exact();
	const char *flags = !strcmp(which, "all") ? "ICOUNT" : !strcmp(which, "contention") ? "MTTCG" :
			    exact ? "ICOUNT" : "MTTCG";
	unsigned i, ran = 0;

	print_header(which, flags, exact);
	empty_cost = measure(empty_body, NULL);
	if (strcmp(which, "contention"))
		printk("bench: name=empty_loop insn_per_iter=%llu\n", (unsigned long long)(empty_cost / BENCH_ITERS));
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (!wanted(which, sections[i].name))
			continue;
		sections[i].fn();
		ran++;
	}
	if (!ran) {
		printk("benchmark: no section named '%s' (have all, contention, fast_pair, buddy_pair, lock_pair, trace, "
		       "remote, placement, boot, mesh)\n", which);
		return 1;
	}
	return 0;
}

TEST_PROGRAM(bench, bench_main);
