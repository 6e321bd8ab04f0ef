/* bench_traces.c - request traces replayed against Proxima and newlib: cost per op, worst op, footprint. */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/programs/bench.h"
#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/lock.h"
#include "kernel/printk.h"
#include "kernel/smp.h"
#include "mm/cpu.h"
#include "mm/heap.h"
#include "mm/mem.h"

/* kernel/libc_glue.c: newlib's sbrk arena */
void libc_set_arena(void *start, size_t size);
void *_sbrk(ptrdiff_t incr);

/*
 * Three deterministic traces of TRACE_OPS operations each, generated before any replay (xorshift64*
 * with a fixed seed per trace) so that both allocators see exactly the same requests in the same order:
 *
 *   uniform   sizes uniform in 16..512. Allocation probability 3/4 for the first quarter, 1/2 in the
 *             middle half, 1/4 in the last quarter: the live set climbs to ~2500 blocks, wanders, drains.
 *   powerlaw  the same schedule, sizes Pareto(alpha = 1) from 16 B to 64 KiB: P(size >= s) = 16 / s, so
 *             every octave holds about the same number of live bytes; a few requests exceed the
 *             per-hart caches (4 KiB) and go to the heaps.
 *   mixed     long-lived blocks (1 in 8 operations, Pareto 32 B .. 16 KiB) kept until the last 15% of the
 *             trace, interleaved with short-lived ones (16..512 B, 8 to 64 of them live, each freed at a
 *             random moment a few dozen operations later): the pattern that fragments a first-fit heap.
 *
 * Each operation is measured alone: instret just before and just after the call, minus the same bracket
 * around a call of an empty allocator (bracket()). insn_per_op is the mean over the trace, insn_max the
 * worst single operation (max_op: which, and its request size; max_at: its index in the trace),
 * insn_p50 and insn_p99 the median and 99th percentile. Between operations, outside the bracket, the
 * replay records the footprint (below) and the live requested bytes.
 *
 * Footprint (name=frag): Proxima's is the sum of used_bytes over every heap minus its value before the
 * trace (after mem_drain()); blocks parked in the per-hart cache or in a remote-free batch count as used,
 * so cache residue is included. newlib's is its sbrk extent minus the extent before the trace (after
 * malloc_trim(0)). footprint_over_live = peak footprint / peak live requested bytes. rounding_waste is
 * measured when the live requested bytes peak: (sum of block sizes - sum requested) / sum requested, with
 * Proxima's block = mem_getsize() (a power of two >= 64) and newlib's = malloc_usable_size() + 8 (the
 * chunk header).
 */
#define TRACE_OPS 20000
#define TRACE_SLOTS 8192
#define HIST_MAX 4096			/* per-op cost histogram buckets (for the percentile); more: last bucket */

enum { OP_ALLOC, OP_FREE };

struct trace_op {
	uint32_t size;			/* OP_ALLOC: bytes requested */
	uint16_t slot;			/* which live block: the replay's pointer table index */
	uint8_t kind;
};

struct trace {
	const char *name;
	unsigned nops;
	struct trace_op op[TRACE_OPS];
};

/* generator state: free slots (a stack) and two live classes (short, long) with O(1) random removal */
struct gen {
	struct bench_rng rng;
	struct trace *t;
	uint16_t free_slot[TRACE_SLOTS];
	unsigned nfree;
	uint16_t live[2][TRACE_SLOTS];
	unsigned nlive[2];
	uint16_t pos[TRACE_SLOTS];
};

enum { SHORT, LONG };

static void gen_start(struct gen *g, struct trace *t, const char *name, uint64_t seed)
{
	unsigned i;

	memset(g, 0, sizeof(*g));
	g->rng.s = seed;
	g->t = t;
	t->name = name;
	t->nops = 0;
	for (i = 0; i < TRACE_SLOTS; i++)
		g->free_slot[i] = (uint16_t)(TRACE_SLOTS - 1 - i);
	g->nfree = TRACE_SLOTS;
}

static void gen_alloc(struct gen *g, size_t size, int cls)
{
	uint16_t slot = g->free_slot[--g->nfree];

	g->pos[slot] = (uint16_t)g->nlive[cls];
	g->live[cls][g->nlive[cls]++] = slot;
	g->t->op[g->t->nops++] = (struct trace_op){ (uint32_t)size, slot, OP_ALLOC };
}

static void gen_free(struct gen *g, int cls)
{
	unsigned i = (unsigned)(bench_rand(&g->rng) % g->nlive[cls]);
	uint16_t slot = g->live[cls][i], last = g->live[cls][--g->nlive[cls]];

	g->live[cls][i] = last;
	g->pos[last] = (uint16_t)i;
	g->free_slot[g->nfree++] = slot;
	g->t->op[g->t->nops++] = (struct trace_op){ 0, slot, OP_FREE };
}

static void gen_ramp(struct gen *g, bool powerlaw)
{
	unsigned i;

	for (i = 0; i < TRACE_OPS; i++) {
		unsigned pct = i < TRACE_OPS / 4 ? 75 : i < 3 * TRACE_OPS / 4 ? 50 : 25;
		bool alloc = !g->nlive[SHORT] || (g->nfree && bench_rand(&g->rng) % 100 < pct);

		if (!alloc)
			gen_free(g, SHORT);
		else if (powerlaw)
			gen_alloc(g, bench_pareto(&g->rng, 16, 65536), SHORT);
		else
			gen_alloc(g, 16 + bench_rand(&g->rng) % 497, SHORT);
	}
}

static void gen_mixed(struct gen *g)
{
	unsigned i;

	for (i = 0; i < TRACE_OPS; i++) {
		unsigned r = (unsigned)(bench_rand(&g->rng) % 16);

		if (i < TRACE_OPS * 85 / 100) {
			if (r < 2 && g->nfree > 64)
				gen_alloc(g, bench_pareto(&g->rng, 32, 16384), LONG);
			else if (g->nlive[SHORT] < 8 || (r < 9 && g->nlive[SHORT] < 64))
				gen_alloc(g, 16 + bench_rand(&g->rng) % 497, SHORT);
			else
				gen_free(g, SHORT);
		} else if (g->nlive[LONG] && (r >= 4 || !g->nlive[SHORT])) {
			gen_free(g, LONG);
		} else if (g->nlive[SHORT]) {
			gen_free(g, SHORT);
		} else {
			gen_alloc(g, 16 + bench_rand(&g->rng) % 497, SHORT);
		}
	}
}

/* ---- the allocators under test ---- */

struct bench_alloc {
	const char *name;
	void *(*alloc)(size_t size);
	void (*free)(void *p);
	uint64_t (*block)(void *p);		/* bytes the block really takes */
	uint64_t (*footprint)(void);		/* bytes taken from the system so far */
	void (*settle)(void);			/* before and after a replay: give cached memory back */
};

static void *px_alloc(size_t size)
{
	void *p;

	return mem_alloc(size, NULL, MEM_VALID_SYS, &p) ? NULL : p;
}

static void px_free(void *p)
{
	mem_free(p);
}

static uint64_t px_block(void *p)
{
	size_t s = 0;

	return mem_getsize(p, &s) ? 0 : s;
}

static uint64_t px_footprint(void)
{
	uint64_t used = 0;
	unsigned c;

	for (c = 0; c < boot_topo.nclusters; c++) {
		struct heap *h = heap_of(c);
		struct heap_stats st;

		if (!h || !h->size)
			continue;
		heap_get_stats(h, &st);
		used += st.used_bytes;
	}
	return used;
}

static spinlock_t nl_lock;
static char *nl_arena;

static void *nl_alloc(size_t size)
{
	void *p;

	spin_lock(&nl_lock);
	p = malloc(size);
	spin_unlock(&nl_lock);
	return p;
}

static void nl_free(void *p)
{
	spin_lock(&nl_lock);
	free(p);
	spin_unlock(&nl_lock);
}

static uint64_t nl_block(void *p)
{
	return malloc_usable_size(p) + sizeof(size_t);
}

static void nl_settle(void)
{
	spin_lock(&nl_lock);
	malloc_trim(0);
	spin_unlock(&nl_lock);
}

uint64_t bench_newlib_extent(void)
{
	return nl_arena ? (uint64_t)((char *)_sbrk(0) - nl_arena) : 0;
}

#define NEWLIB_ARENA ((size_t)32 << 20)

int bench_newlib_init(void)
{
	void *a;
	int e;

	if (nl_arena)
		return 0;
	e = heap_alloc(cls_self()->cluster, NEWLIB_ARENA, &a);
	if (e)
		e = heap_alloc_near(cls_self()->cluster, NEWLIB_ARENA, &a);
	if (e)
		return e;
	spin_init(&nl_lock);
	nl_arena = a;
	libc_set_arena(a, NEWLIB_ARENA);
	/* newlib sets itself up on its first call (sbrk alignment, bins): not part of any trace */
	free(malloc(16));
	return 0;
}

static const struct bench_alloc allocators[] = {
	{ "proxima", px_alloc, px_free, px_block, px_footprint, mem_drain },
	{ "newlib", nl_alloc, nl_free, nl_block, bench_newlib_extent, nl_settle },
};

/* ---- replay ---- */

/* The timing bracket. noinline/noclone: the call stays an indirect call, the same for every allocator. */
static __attribute__((noinline, noclone)) uint64_t timed_alloc(void *(*fn)(size_t), size_t size, void **p)
{
	uint64_t t0 = bench_insn();

	*p = fn(size);
	return bench_insn() - t0;
}

static __attribute__((noinline, noclone)) uint64_t timed_free(void (*fn)(void *), void *p)
{
	uint64_t t0 = bench_insn();

	fn(p);
	return bench_insn() - t0;
}

static char null_block[64];

static __attribute__((noinline)) void *null_alloc(size_t size)
{
	__asm__ volatile("" ::"r"(size) : "memory");
	return null_block;
}

static __attribute__((noinline)) void null_free(void *p)
{
	__asm__ volatile("" ::"r"(p) : "memory");
}

/* the cost of an empty bracket: the least of a few tries (all equal under -icount) */
static void bracket(uint64_t *alloc_cost, uint64_t *free_cost)
{
	uint64_t a = ~0ULL, f = ~0ULL, d;
	void *p;
	int i;

	for (i = 0; i < 16; i++) {
		d = timed_alloc(null_alloc, 16, &p);
		a = d < a ? d : a;
		d = timed_free(null_free, p);
		f = d < f ? d : f;
	}
	*alloc_cost = a;
	*free_cost = f;
}

struct replay {
	void *ptr[TRACE_SLOTS];
	uint32_t req[TRACE_SLOTS];
	uint64_t blk[TRACE_SLOTS];
	uint32_t hist[HIST_MAX + 1];
};

/*
 * What Proxima's operations did (name=tail): each op is put in the first class of what the slab layer
 * counted during it (a slab taken from / given to the heap, a switch to a partial slab, an inbox take),
 * else "heap" for a request of more than SLAB_MAX_SIZE bytes (or its free: the heap serves it), else
 * "plain" (the inline paths, a never-used block's bump, a free that moved a slab between lists). Per class: KIND=over/all (ops over TAIL_INSN instructions / all), mean_KIND, max_KIND.
 */
#define TAIL_INSN 100
enum { TAIL_TAKE, TAIL_GIVE, TAIL_SWITCH, TAIL_INBOX, TAIL_HEAP, TAIL_PLAIN, TAIL_KINDS };
static const char *const tail_name[TAIL_KINDS] = { "take", "give", "switch", "inbox", "heap", "plain" };

struct tail {
	uint64_t over, all, sum, max;	/* ops over TAIL_INSN, all ops, their instructions, the worst */
};

static unsigned tail_kind(const struct slab_counters *a, const struct slab_counters *b, unsigned size)
{
	return b->slabs_taken != a->slabs_taken ? TAIL_TAKE : b->slabs_given != a->slabs_given ? TAIL_GIVE :
	       b->switches != a->switches ? TAIL_SWITCH :
	       b->inbox_takes != a->inbox_takes ? TAIL_INBOX : size > SLAB_MAX_SIZE ? TAIL_HEAP : TAIL_PLAIN;
}

static uint64_t pct_of(const uint32_t *hist, uint64_t n, unsigned pct)
{
	uint64_t want = (n * pct + 99) / 100, seen = 0;
	unsigned v;

	for (v = 0; v <= HIST_MAX; v++) {
		seen += hist[v];
		if (seen >= want)
			return v;
	}
	return HIST_MAX;
}

static void replay(const struct trace *t, const struct bench_alloc *a, struct replay *r)
{
	uint64_t ba, bf, sum = 0, max = 0, fp0, fp_peak = 0, live = 0, blk = 0, live_peak = 0, blk_at_peak = 0;
	/* at the footprint's peak: live bytes, rounding of heap blocks (the rest of blk - live is the classes'), slack */
	uint64_t round_heap = 0, at_live = 0, at_cls = 0, at_heap = 0;
	struct slab_usage at_use = { 0 };
	unsigned i, fails = 0, max_i = 0, max_size = 0;
	uint64_t sum_kind[2] = { 0, 0 }, n_kind[2] = { 0, 0 };
	struct tail tail[TAIL_KINDS] = { { 0 } }, *tk;
	char line[400], fo[48], rw[48];
	size_t len;
	unsigned k;
	bool px = a->settle == mem_drain;
	struct slab_counters c0 = cls_self()->mm.slab.cnt, c1, before;

	memset(r, 0, sizeof(*r));
	bracket(&ba, &bf);
	a->settle();
	fp0 = a->footprint();
	for (i = 0; i < t->nops; i++) {
		const struct trace_op *op = &t->op[i];
		unsigned size = op->kind == OP_ALLOC ? op->size : r->req[op->slot];
		uint64_t d, fp;

		before = cls_self()->mm.slab.cnt;
		if (op->kind == OP_ALLOC) {
			d = timed_alloc(a->alloc, op->size, &r->ptr[op->slot]);
			d = d > ba ? d - ba : 0;
			if (!r->ptr[op->slot]) {
				fails++;
			} else {
				r->req[op->slot] = op->size;
				r->blk[op->slot] = a->block(r->ptr[op->slot]);
				live += op->size;
				blk += r->blk[op->slot];
				if (op->size > SLAB_MAX_SIZE)
					round_heap += r->blk[op->slot] - op->size;
			}
		} else {
			d = timed_free(a->free, r->ptr[op->slot]);
			d = d > bf ? d - bf : 0;
			if (r->ptr[op->slot]) {
				live -= r->req[op->slot];
				blk -= r->blk[op->slot];
				if (r->req[op->slot] > SLAB_MAX_SIZE)
					round_heap -= r->blk[op->slot] - r->req[op->slot];
				r->ptr[op->slot] = NULL;
			}
		}
		sum += d;
		sum_kind[op->kind] += d;
		n_kind[op->kind]++;
		if (px) {
			tk = &tail[tail_kind(&before, &cls_self()->mm.slab.cnt, size)];
			tk->all++;
			tk->sum += d;
			tk->over += d > TAIL_INSN;
			tk->max = d > tk->max ? d : tk->max;
		}
		r->hist[d < HIST_MAX ? d : HIST_MAX]++;
		if (d > max)
			max = d, max_i = i, max_size = size;
		if (live > live_peak)
			live_peak = live, blk_at_peak = blk;
		fp = a->footprint() - fp0;
		if (fp > fp_peak) {
			fp_peak = fp;
			if (px) {
				at_live = live, at_heap = round_heap, at_cls = blk - live - round_heap;
				slab_usage(&cls_self()->mm.slab, &at_use);
			}
		}
	}
	/* whatever the trace left live goes back unmeasured */
	for (i = 0; i < TRACE_SLOTS; i++)
		if (r->ptr[i])
			a->free(r->ptr[i]);
	a->settle();

	len = (size_t)snprintf(line, sizeof(line), "bench: name=trace trace=%s alloc=%s lock=%s ops=%u", t->name,
			       a->name, LOCK_KIND_NAME, t->nops);
	bench_fmt_ratio(line + len, sizeof(line) - len, "insn_per_op", sum, t->nops);
	len = strlen(line);
	snprintf(line + len, sizeof(line) - len,
		 " insn_max=%llu insn_p50=%llu insn_p99=%llu max_op=%s:%u max_at=%u fails=%u",
		 (unsigned long long)max, (unsigned long long)pct_of(r->hist, t->nops, 50),
		 (unsigned long long)pct_of(r->hist, t->nops, 99),
		 t->op[max_i].kind == OP_ALLOC ? "alloc" : "free", max_size, max_i, fails);
	len = strlen(line);
	bench_fmt_ratio(line + len, sizeof(line) - len, "insn_alloc", sum_kind[OP_ALLOC], n_kind[OP_ALLOC]);
	len = strlen(line);
	bench_fmt_ratio(line + len, sizeof(line) - len, "insn_free", sum_kind[OP_FREE], n_kind[OP_FREE]);
	printk("%s\n", line);
	if (px) {
		len = (size_t)snprintf(line, sizeof(line), "bench: name=tail trace=%s alloc=%s over=%d", t->name,
				       a->name, TAIL_INSN);
		for (k = 0; k < TAIL_KINDS && len < sizeof(line); k++)
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s=%llu/%llu mean_%s=%llu max_%s=%llu",
						tail_name[k], (unsigned long long)tail[k].over,
						(unsigned long long)tail[k].all, tail_name[k],
						(unsigned long long)(tail[k].all ? tail[k].sum / tail[k].all : 0),
						tail_name[k], (unsigned long long)tail[k].max);
		printk("%s\n", line);
	}
	bench_fmt_ratio(fo, sizeof(fo), "footprint_over_live", fp_peak, live_peak);
	bench_fmt_ratio(rw, sizeof(rw), "rounding_waste", blk_at_peak - live_peak, live_peak);
	printk("bench: name=frag trace=%s alloc=%s%s%s peak_live=%llu peak_footprint=%llu\n", t->name, a->name, fo,
	       rw, (unsigned long long)live_peak, (unsigned long long)fp_peak);
	if (px)
		printk("bench: name=frag_parts trace=%s alloc=%s footprint=%llu live=%llu class_rounding=%llu "
		       "heap_rounding=%llu cached=%llu slab_free=%llu spare=%llu slab_tail=%llu other=%lld slabs=%llu\n",
		       t->name, a->name, (unsigned long long)fp_peak, (unsigned long long)at_live,
		       (unsigned long long)at_cls, (unsigned long long)at_heap, (unsigned long long)at_use.cached,
		       (unsigned long long)at_use.slab_free, (unsigned long long)at_use.spare,
		       (unsigned long long)at_use.slab_tail,
		       (long long)(fp_peak - at_live - at_cls - at_heap - at_use.cached - at_use.slab_free -
				   at_use.spare - at_use.slab_tail),
		       (unsigned long long)at_use.slabs);
	c1 = cls_self()->mm.slab.cnt;
	if (px)	/* what the slab layer did during the replay (and its final drain) */
		printk("bench: name=slabs trace=%s alloc=%s slabs_taken=%llu slabs_given=%llu switches=%llu\n",
		       t->name, a->name, (unsigned long long)(c1.slabs_taken - c0.slabs_taken),
		       (unsigned long long)(c1.slabs_given - c0.slabs_given),
		       (unsigned long long)(c1.switches - c0.switches));
}

void bench_traces(void)
{
	static const struct {
		const char *name;
		uint64_t seed;
	} traces[] = { { "uniform", 0x9e3779b97f4a7c15ULL }, { "powerlaw", 0xd1b54a32d192ed03ULL },
		       { "mixed", 0x8cb92ba72f3d8dd7ULL } };
	void *tm, *gm, *rm;
	unsigned i, k;

	if (bench_newlib_init()) {
		printk("benchmark: trace: no room for newlib's arena\n");
		return;
	}
	if (heap_alloc_local(sizeof(struct trace), &tm) || heap_alloc_local(sizeof(struct gen), &gm) ||
	    heap_alloc_local(sizeof(struct replay), &rm)) {
		printk("benchmark: trace: no room for the trace tables\n");
		return;
	}
	for (i = 0; i < sizeof(traces) / sizeof(traces[0]); i++) {
		struct gen *g = gm;

		gen_start(g, tm, traces[i].name, traces[i].seed);
		if (!strcmp(traces[i].name, "mixed"))
			gen_mixed(g);
		else
			gen_ramp(g, !strcmp(traces[i].name, "powerlaw"));
		for (k = 0; k < sizeof(allocators) / sizeof(allocators[0]); k++)
			replay(tm, &allocators[k], rm);
	}
	heap_free(rm);
	heap_free(gm);
	heap_free(tm);
}

/*
 * remote: producers in one cluster, consumers in another. The boot hart (the producer) allocates
 * REMOTE_N blocks of 16..512 bytes; a hart of another cluster (the consumer) frees them all, timed alone:
 * Proxima's frees go into per-owner batches and reach the producer's inbox by one compare-and-swap per
 * SLAB_REMOTE_BATCH (atomics= counts them, the last partial batch included, which the consumer's
 * mem_drain() pushes); newlib's take its one lock per free (two atomics: lock and unlock). owner_insn is
 * what the producer then pays per block to take them back (one exchange, then a free into the slab).
 * The consumer's loop is measured against the same loop with an empty body, and the wait of the boot
 * hart, asleep in wfi, costs the same in both.
 */
#define REMOTE_N 2048

struct remote_run {
	void *ptr[REMOTE_N];
	const struct bench_alloc *a;
	uint64_t insn, atomics, frees;
};

static __attribute__((noinline)) void remote_none(void *p)
{
	__asm__ volatile("" ::"r"(p) : "memory");
}

static void remote_consume(void *arg)
{
	struct remote_run *r = arg;
	const struct slab_counters *sc = &cls_self()->mm.slab.cnt;
	uint64_t t0, t1, t2, p0 = sc->remote_pushes, f0 = sc->remote_frees;
	unsigned i;

	t0 = bench_insn();
	for (i = 0; i < REMOTE_N; i++)
		remote_none(r->ptr[i]);
	t1 = bench_insn();
	for (i = 0; i < REMOTE_N; i++)
		r->a->free(r->ptr[i]);
	t2 = bench_insn();
	if (r->a->settle == mem_drain)
		mem_drain();	/* the last partial batch: one more push */
	r->insn = (t2 - t1) - (t1 - t0);
	r->atomics = sc->remote_pushes - p0;
	r->frees = sc->remote_frees - f0;
}

static void bench_remote(struct remote_run *r)
{
	unsigned me = cls_self()->index, cons = ~0u, i, k;
	struct bench_rng rng = { 0x2545f4914f6cdd1dULL };
	struct hart_set set;

	for (i = 0; i < smp_nharts() && cons == ~0u; i++)
		if (smp_hart_up(i) && cls_of(i) && cls_of(i)->cluster != cls_self()->cluster &&
		    heap_of(cls_of(i)->cluster)->size)
			cons = i;
	if (cons == ~0u) {
		printk("benchmark: remote: no hart of another cluster with memory\n");
		return;
	}
	for (k = 0; k < sizeof(allocators) / sizeof(allocators[0]); k++) {
		char line[240], ip[48], ap[48], op[48];
		uint64_t t0, owner;

		r->a = &allocators[k];
		r->a->settle();
		for (i = 0; i < REMOTE_N; i++)
			if (!(r->ptr[i] = r->a->alloc(16 + bench_rand(&rng) % 497)))
				break;
		if (i < REMOTE_N) {
			printk("benchmark: remote: %s out of memory\n", r->a->name);
			while (i--)
				r->a->free(r->ptr[i]);
			continue;
		}
		smp_set_clear(&set);
		smp_set_add(&set, cons);
		smp_call_set(&set, remote_consume, r);
		t0 = bench_insn();
		r->a->settle();	/* Proxima: the producer takes its inbox back */
		owner = bench_insn() - t0;
		if (r->a->settle != mem_drain) {
			r->atomics = 2 * REMOTE_N;	/* a lock and an unlock per free */
			owner = 0;
		}
		bench_fmt_ratio(ip, sizeof(ip), "insn_per_free", r->insn, REMOTE_N);
		/* per 8 frees: the goal is at most one, which 2 decimals of a per-free figure cannot tell */
		bench_fmt_ratio(ap, sizeof(ap), "atomics_per_8_frees", 8 * r->atomics, REMOTE_N);
		bench_fmt_ratio(op, sizeof(op), "owner_insn_per_block", owner, REMOTE_N);
		snprintf(line, sizeof(line), "bench: name=remote trace=remote alloc=%s lock=%s frees=%u producer=%u consumer=%u atomics=%llu%s%s%s",
			 r->a->name, LOCK_KIND_NAME, REMOTE_N, me, cons, (unsigned long long)r->atomics, ip, ap, op);
		printk("%s\n", line);
	}
}

/*
 * burst: footprint after a burst and its frees. 4000 blocks of 16..512 bytes in random order, then all
 * freed in another order: footprint_after is what the allocator still holds (Proxima: slabs its caches
 * pin, partial and spare ones; newlib: its sbrk extent past what free() trimmed), footprint_after_trim
 * the same after a trim (Proxima: mem_drain() on this hart, the only one that allocated, which is what
 * the idle console's trim does on each hart; newlib: malloc_trim(0)).
 */
#define BURST_N 4000

static void bench_burst(struct remote_run *scratch)
{
	static void *ptr[BURST_N];
	unsigned k, i;

	(void)scratch;
	for (k = 0; k < sizeof(allocators) / sizeof(allocators[0]); k++) {
		const struct bench_alloc *a = &allocators[k];
		struct bench_rng rng = { 0x9e3779b97f4a7c15ULL };
		uint64_t fp0, peak, after, trimmed, live = 0;

		a->settle();
		fp0 = a->footprint();
		for (i = 0; i < BURST_N; i++) {
			size_t s = 16 + bench_rand(&rng) % 497;

			ptr[i] = a->alloc(s);
			live += ptr[i] ? s : 0;
		}
		peak = a->footprint() - fp0;
		for (i = 0; i < BURST_N; i++) {
			unsigned j = (unsigned)(bench_rand(&rng) % BURST_N);
			void *t = ptr[i];

			ptr[i] = ptr[j];
			ptr[j] = t;
		}
		for (i = 0; i < BURST_N; i++)
			if (ptr[i])
				a->free(ptr[i]);
		after = a->footprint() - fp0;
		a->settle();	/* Proxima: what the idle console's trim does on this hart; newlib: malloc_trim() */
		trimmed = a->footprint() - fp0;
		printk("bench: name=burst alloc=%s blocks=%u live=%llu peak_footprint=%llu footprint_after=%llu "
		       "footprint_after_trim=%llu\n", a->name, BURST_N, (unsigned long long)live, (unsigned long long)peak,
		       (unsigned long long)after, (unsigned long long)trimmed);
	}
}

void bench_remote_burst(void)
{
	void *rm;

	if (bench_newlib_init()) {
		printk("benchmark: remote: no room for newlib's arena\n");
		return;
	}
	if (heap_alloc_local(sizeof(struct remote_run), &rm)) {
		printk("benchmark: remote: no room for its table\n");
		return;
	}
	bench_remote(rm);
	bench_burst(rm);
	heap_free(rm);
}
