/* console.c - the serial console's commands: topology, heaps, NUMA counters, alloc/free, CMA, tests, benchmarks. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kernel/bootargs.h"
#include "kernel/cls.h"
#include "kernel/console.h"
#include "kernel/console_line.h"
#include "kernel/kernel.h"
#include "kernel/printk.h"
#include "kernel/selftest.h"
#include "kernel/smp.h"
#include "mm/cma.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "platform/platform.h"

/*
 * Every command gets argv[0] = its name and between min_args and max_args more words (checked before it
 * runs). Whatever is typed, a command only reads counters, or goes through the allocator's own checked
 * entry points (mem_alloc_receipt(), mem_free_checked()), so no input can corrupt a heap.
 */
struct console_cmd {
	const char *name;
	const char *args;	/* usage, after the name */
	const char *help;
	unsigned min_args, max_args;
	void (*fn)(int argc, char **argv);
};

/*
 * The blocks `alloc` handed out and `free` has not taken back. `free` of any other address that is a live
 * block (the kernel's own: a CLS, a stack, a test's buffer) is refused before it reaches the allocator;
 * every other address goes to mem_free_checked(), which refuses what it never handed out.
 */
#define CONSOLE_BLOCKS 64
static uintptr_t blocks[CONSOLE_BLOCKS];
static void *last_alloc;	/* what `free last` frees: the address `alloc` printed last */

static int block_find(uintptr_t a)
{
	int i;

	for (i = 0; i < CONSOLE_BLOCKS; i++)
		if (blocks[i] == a)
			return i;
	return -1;
}

static void cmd_help(int argc, char **argv);

static void echo(const char *s)
{
	printk("%s", s);
}

static void usage(const struct console_cmd *c)
{
	printk("usage: %s%s%s\n", c->name, c->args[0] ? " " : "", c->args);
}

/* a number as bootargs take it (decimal, 0x hex, K/M/G suffix); prints the error line itself */
static bool parse_u64(const char *cmd, const char *what, const char *s, uint64_t *v)
{
	const char *why = bootargs_parse_u64(s, strlen(s), v);

	if (why)
		printk("%s: bad %s '%s': %s\n", cmd, what, s, why);
	return !why;
}

static bool parse_cluster(const char *cmd, const char *s, unsigned *c)
{
	uint64_t v;

	if (!parse_u64(cmd, "cluster", s, &v))
		return false;
	if (v >= heap_count()) {
		printk("%s: no cluster %s (have 0..%u)\n", cmd, s, heap_count() - 1);
		return false;
	}
	*c = (unsigned)v;
	return true;
}

static void cmd_topo(int argc, char **argv)
{
	const struct topo *t = &boot_topo;
	unsigned x, y, c;
	int grid[TOPO_MESH_MAX][TOPO_MESH_MAX];

	topo_print_machine();
	topo_print_clusters();
	memset(grid, 0xff, sizeof(grid));
	for (c = 0; c < t->nclusters; c++)
		if (t->cluster[c].x < TOPO_MESH_MAX && t->cluster[c].y < TOPO_MESH_MAX)
			grid[t->cluster[c].x][t->cluster[c].y] = (int)c;
	printk("mesh: %ux%u, kernel_heap[x][y] holds cluster:\n", t->mesh_x, t->mesh_y);
	for (y = 0; y < t->mesh_y && y < TOPO_MESH_MAX; y++) {
		char line[160];
		size_t n = (size_t)snprintf(line, sizeof(line), "mesh: y=%-2u", y);

		for (x = 0; x < t->mesh_x && x < TOPO_MESH_MAX && n < sizeof(line); x++) {
			if (grid[x][y] < 0)
				n += (size_t)snprintf(line + n, sizeof(line) - n, "   -");
			else
				n += (size_t)snprintf(line + n, sizeof(line) - n, " %3d", grid[x][y]);
		}
		printk("%s\n", line);
	}
}

static void heap_show(unsigned c)
{
	struct heap_stats st;
	unsigned o;

	heap_get_stats(heap_of(c), &st);
	if (!st.size) {
		printk("heap: cluster=%u no memory\n", c);
		return;
	}
	printk("heap: cluster=%u size=0x%llx free=0x%llx used=0x%llx reserved=0x%llx largest_free=0x%llx "
	       "allocs=%llu frees=%llu failures=%llu bad_frees=%llu\n", c, (unsigned long long)st.size,
	       (unsigned long long)st.free_bytes, (unsigned long long)st.used_bytes,
	       (unsigned long long)st.reserved_bytes, (unsigned long long)st.largest_free,
	       (unsigned long long)st.allocs, (unsigned long long)st.frees, (unsigned long long)st.failures,
	       (unsigned long long)st.bad_frees);
	for (o = BUDDY_MIN_ORDER; o <= BUDDY_MAX_ORDER; o++)
		if (st.nfree[o])
			printk("heap: cluster=%u order=%u block=0x%llx free_blocks=%llu free_bytes=0x%llx\n", c, o,
			       1ULL << o, (unsigned long long)st.nfree[o], (unsigned long long)(st.nfree[o] << o));
	printk("heap: cluster=%u lock acquired=%llu contended=%llu spins=%llu wait_total=%llu wait_max=%llu\n", c,
	       (unsigned long long)st.lock.acquired, (unsigned long long)st.lock.contended,
	       (unsigned long long)st.lock.spins, (unsigned long long)st.lock.wait_total,
	       (unsigned long long)st.lock.wait_max);
}

static void cmd_heaps(int argc, char **argv)
{
	unsigned c;

	if (argc > 1) {
		if (parse_cluster(argv[0], argv[1], &c))
			heap_show(c);
		return;
	}
	for (c = 0; c < heap_count(); c++)
		heap_show(c);
}

static void cmd_numastat(int argc, char **argv)
{
	unsigned c;

	for (c = 0; c < heap_count(); c++) {
		struct mem_cluster_stats st;

		mem_cluster_get_stats(c, &st);
		printk("numastat: cluster=%u local_hits=%llu fallbacks_in=%llu fallbacks_out=%llu failures=%llu\n", c,
		       (unsigned long long)st.local_hits, (unsigned long long)st.fallbacks_in,
		       (unsigned long long)st.fallbacks_out, (unsigned long long)st.failures);
	}
}

/*
 * Hart @i's slab state and what it holds (slabs taken and not given back, and slab_usage()); NULL if the
 * hart is not up. The other harts are idle in their loop while the console runs, so it reads consistently.
 */
static const struct slab_cpu *hart_slabs(unsigned i, uint64_t *held, struct slab_usage *u)
{
	const struct slab_cpu *sc;

	if (!smp_hart_up(i))
		return NULL;
	sc = &cls_of(i)->mm.slab;
	*held = sc->cnt.slabs_taken - sc->cnt.slabs_given;
	slab_usage(sc, u);
	return sc;
}

/* slabs: per hart, what its slab layer holds (mm/slab.h), and its remote-free traffic */
static void cmd_slabs(int argc, char **argv)
{
	unsigned i;

	for (i = 0; i < smp_nharts(); i++) {
		const struct slab_cpu *sc;
		struct slab_usage u;
		uint64_t held;

		if (!(sc = hart_slabs(i, &held, &u)))
			continue;
		printk("slabs: hart=%u cluster=%u held=%llu cached=%llu free=%llu spare=%llu taken=%llu given=%llu "
		       "remote_sent=%llu remote_received=%llu\n",
		       i, cls_of(i)->cluster, (unsigned long long)held, (unsigned long long)u.cached,
		       (unsigned long long)u.slab_free, (unsigned long long)u.spare,
		       (unsigned long long)sc->cnt.slabs_taken, (unsigned long long)sc->cnt.slabs_given,
		       (unsigned long long)sc->cnt.remote_frees, (unsigned long long)sc->cnt.inbox_blocks);
	}
}

/* the slabs held and the bytes cached, summed over the harts that are up */
static void slabs_total(uint64_t *held, uint64_t *cached)
{
	unsigned i;

	*held = *cached = 0;
	for (i = 0; i < smp_nharts(); i++) {
		struct slab_usage u;
		uint64_t h;

		if (hart_slabs(i, &h, &u)) {
			*held += h;
			*cached += u.cached;
		}
	}
}

/*
 * trim: what the idle console does by itself a second after a command (console_run()), on demand: every
 * hart drains (smp_mem_drain_all(): caches and remote batches back to their slabs, every empty slab back
 * to its heap), so that a burst's memory returns whole once the machine is quiet.
 */
static void cmd_trim(int argc, char **argv)
{
	uint64_t held0, cached0, held, cached;

	slabs_total(&held0, &cached0);
	smp_mem_drain_all();
	slabs_total(&held, &cached);
	printk("trim: slabs held %llu -> %llu, cached bytes %llu -> %llu\n", (unsigned long long)held0,
	       (unsigned long long)held, (unsigned long long)cached0, (unsigned long long)cached);
}

/* "local", "global", "<c>", "strict<c>", "<x>,<y>" -> a proximity (NULL = the caller's own) */
static bool parse_prox(const char *s, struct mem_proximity_s **prox)
{
	unsigned c;

	if (!strcmp(s, "local")) {
		*prox = NULL;
		return true;
	}
	if (!strcmp(s, "global")) {
		*prox = mem_prox_global();
		return true;
	}
	if (!strncmp(s, "strict", 6)) {
		if (!parse_cluster("alloc", s + 6, &c))
			return false;
		*prox = mem_prox_strict(c);
	} else if (strchr(s, ',')) {
		uint64_t x, y;
		const char *comma = strchr(s, ',');

		if (bootargs_parse_u64(s, (size_t)(comma - s), &x) || bootargs_parse_u64(comma + 1, strlen(comma + 1), &y)) {
			printk("alloc: bad mesh position '%s' (want <x>,<y>)\n", s);
			return false;
		}
		*prox = x < TOPO_MESH_MAX && y < TOPO_MESH_MAX ? mem_prox_xy((unsigned)x, (unsigned)y) : NULL;
		if (!*prox) {
			printk("alloc: no cluster at mesh position %s\n", s);
			return false;
		}
		return true;
	} else {
		if (!parse_cluster("alloc", s, &c))
			return false;
		*prox = mem_prox_cluster(c);
	}
	if (!*prox) {
		printk("alloc: no proximity '%s'\n", s);
		return false;
	}
	return true;
}

static const char *const reach_names[MEM_VALID_COUNT_] = {
	[MEM_VALID_SYS] = "sys", [MEM_VALID_DMA] = "dma", [MEM_VALID_CLUSTER] = "cluster", [MEM_VALID_CPU] = "cpu",
};

static void cmd_alloc(int argc, char **argv)
{
	struct mem_proximity_s *prox = NULL;
	enum mem_reachability_s valid = MEM_VALID_SYS;
	struct mem_receipt r;
	uint64_t size;
	void *addr;
	error_t e;
	int slot;

	if (!parse_u64(argv[0], "size", argv[1], &size))
		return;
	if (argc > 2 && !parse_prox(argv[2], &prox))
		return;
	if (argc > 3) {
		unsigned v;

		for (v = 0; v < MEM_VALID_COUNT_ && strcmp(argv[3], reach_names[v]); v++)
			;
		if (v == MEM_VALID_COUNT_) {
			printk("alloc: bad reach '%s' (want sys, dma, cluster or cpu)\n", argv[3]);
			return;
		}
		valid = (enum mem_reachability_s)v;
	}
	if (size > SIZE_MAX)
		size = SIZE_MAX;
	slot = block_find(0);
	if (slot < 0) {
		printk("alloc: %u blocks from the console are live: free some first\n", CONSOLE_BLOCKS);
		return;
	}
	e = mem_alloc_receipt((size_t)size, prox, valid, &addr, &r);
	if (e) {
		printk("alloc: %s\n", err_str(e));
		return;
	}
	blocks[slot] = (uintptr_t)addr;
	last_alloc = addr;
	printk("alloc: addr=%p size=0x%llx reach=%s cluster=%u rank=%u fallback=%s cached=%s region=%s\n", addr,
	       (unsigned long long)size, reach_names[valid], r.cluster, r.rank, r.fallback ? "yes" : "no",
	       r.cached ? "yes" : "no", r.region ? r.region : "?");
}

static void cmd_free(int argc, char **argv)
{
	uint64_t a;
	error_t e;
	int slot;

	if (!strcmp(argv[1], "last")) {
		if (!last_alloc) {
			printk("free: nothing allocated yet ('last' is the address alloc printed last)\n");
			return;
		}
		a = (uintptr_t)last_alloc;
	} else if (!parse_u64(argv[0], "address", argv[1], &a)) {
		return;
	}
	if (a > UINTPTR_MAX || !a) {
		printk("free: %s: not an address a block can have\n", argv[1]);
		return;
	}
	slot = block_find((uintptr_t)a);
	if (slot < 0) {
		size_t size;

		/* CMA chunks have no size query: their owner (a driver) keeps the size */
		if (cma_owns((uintptr_t)a)) {
			printk("free: 0x%llx: not freed: CMA memory the console did not allocate\n",
			       (unsigned long long)a);
			return;
		}
		if (!mem_getsize((void *)(uintptr_t)a, &size)) {
			printk("free: 0x%llx: not freed: a live block of 0x%zx bytes the console did not allocate\n",
			       (unsigned long long)a, size);
			return;
		}
	}
	/* the checked free: it refuses (with a log line) what the allocator never handed out, and says why */
	e = mem_free_checked((void *)(uintptr_t)a);
	if (!e && slot >= 0)
		blocks[slot] = 0;
	printk("free: 0x%llx: %s\n", (unsigned long long)a, e ? err_str(e) : "ok");
}

static void cma_one(struct cma_region *r, void *arg)
{
	struct cma_info in;

	(*(unsigned *)arg)++;
	cma_region_info(r, &in);
	printk("cma: region=%s base=0x%lx total=0x%zx free=0x%zx largest_free=0x%zx chunks=%u free_ranges=%u "
	       "allocs=%llu frees=%llu failures=%llu bad_frees=%llu\n", in.name, (unsigned long)in.base, in.total,
	       in.free, in.largest_free, in.chunks, in.free_ranges, (unsigned long long)in.allocs,
	       (unsigned long long)in.frees, (unsigned long long)in.failures, (unsigned long long)in.bad_frees);
}

static void cmd_cma(int argc, char **argv)
{
	unsigned n = 0;

	cma_for_each(cma_one, &n);
	if (!n)
		printk("cma: no regions (bootarg cma=name:size[@cluster][:devs][:exclusive])\n");
}

static void cmd_test(int argc, char **argv)
{
	test_run_all(argc > 1 ? argv[1] : NULL);
}

static void cmd_bench(int argc, char **argv)
{
	test_program_run("bench", argc > 1 ? argv[1] : "all");
}

/*
 * The idle trim: once the prompt has waited CONSOLE_TRIM_POLLS polls (about a second) since the last
 * character, every hart drains, as `trim` does, silently. A hart's caches and spare slabs are only given
 * back on its own slow paths otherwise, so an idle machine would keep what its last burst left in them
 * (the burst benchmark's footprint_after). Linux's SLAB reaped its per-CPU arrays every two seconds
 * likewise.
 */
#define CONSOLE_TRIM_POLLS 100
static unsigned trim_in = CONSOLE_TRIM_POLLS;	/* polls left before the trim; 0 once done, until a key */

/* one poll's wait of the idle prompt (or of `sleep`): 10 ms in wfi, then the idle trim if it is due */
static bool idle_poll(void)
{
	/* 10 ms between polls: an idle prompt costs the host almost nothing, typing feels immediate */
	plat_idle(boot_topo.timebase_hz / 100);
	if (trim_in && !--trim_in) {
		smp_mem_drain_all();
		return true;
	}
	return false;
}

/* sleep: the prompt idles that long, reading nothing, as if nothing were typed (the idle trim included) */
static void cmd_sleep(int argc, char **argv)
{
	uint64_t ms, i, trimmed_at = 0;

	if (!parse_u64("sleep", "milliseconds", argv[1], &ms))
		return;
	if (ms > 600000) {
		printk("sleep: at most 600000 ms\n");
		return;
	}
	for (i = 0; i < (ms + 9) / 10; i++)
		if (idle_poll())
			trimmed_at = (i + 1) * 10;
	if (trimmed_at)
		printk("sleep: %llu ms idle; the idle trim ran after %llu ms\n", (unsigned long long)ms,
		       (unsigned long long)trimmed_at);
	else
		printk("sleep: %llu ms idle; no idle trim due\n", (unsigned long long)ms);
}

static void cmd_halt(int argc, char **argv)
{
	printk("Proxima: halt\n");
	plat_poweroff(0);
}

static const struct console_cmd cmds[] = {
	{ "help", "", "this list", 0, 0, cmd_help },
	{ "topo", "", "the machine, one line per cluster, the mesh", 0, 0, cmd_topo },
	{ "heaps", "[cluster]", "free blocks per order, largest free block, lock statistics", 0, 1, cmd_heaps },
	{ "numastat", "", "per cluster: local hits, fallbacks in and out, failures", 0, 0, cmd_numastat },
	{ "slabs", "", "per hart: slabs held, bytes cached, free and spare in slabs, remote frees", 0, 0, cmd_slabs },
	{ "trim", "", "every hart gives its caches and empty slabs back (idle does it after 1 s)", 0, 0, cmd_trim },
	{ "sleep", "<ms>", "idle that long, as if nothing were typed (the idle trim included)", 1, 1, cmd_sleep },
	{ "alloc", "<size> [prox] [reach]", "mem_alloc(): the address and the receipt", 1, 3, cmd_alloc },
	{ "free", "<addr>|last", "mem_free_checked(): ok or why the free is refused", 1, 1, cmd_free },
	{ "cma", "", "every CMA region", 0, 0, cmd_cma },
	{ "test", "[filter]", "the in-kernel KTAP cases: all, or a suite/case name part, or suite.case", 0, 1, cmd_test },
	{ "bench", "[name]", "benchmarks: all (default), contention, fast_pair, trace, ...", 0, 1, cmd_bench },
	{ "halt", "", "power off (exit status 0); ^D on an empty line too", 0, 0, cmd_halt },
};
static const unsigned ncmds = sizeof(cmds) / sizeof(cmds[0]);

static void cmd_help(int argc, char **argv)
{
	unsigned i;

	for (i = 0; i < ncmds; i++) {
		char head[48];

		snprintf(head, sizeof(head), "%s%s%s", cmds[i].name, cmds[i].args[0] ? " " : "", cmds[i].args);
		printk("  %-30s %s\n", head, cmds[i].help);
	}
	printk("  prox: local (default), global, <c> (cluster c, then by distance), strict<c>, <x>,<y>\n");
	printk("  reach: sys (default), dma, cluster, cpu; numbers: 4096, 0x1000, 4K, 1M\n");
}

static void run_line(char *line)
{
	char *argv[CONSOLE_ARGS_MAX];
	int argc = console_tokenize(line, argv, CONSOLE_ARGS_MAX);
	unsigned i;

	if (argc == 0 || argv[0][0] == '#')
		return;		/* an empty line, or a comment (scripts may carry them) */
	for (i = 0; i < ncmds; i++)
		if (!strcmp(argv[0], cmds[i].name))
			break;
	if (i == ncmds) {
		printk("console: unknown command '%s' (help lists them)\n", argv[0]);
		return;
	}
	if (argc < 0 || (unsigned)argc - 1 < cmds[i].min_args || (unsigned)argc - 1 > cmds[i].max_args) {
		usage(&cmds[i]);
		return;
	}
	cmds[i].fn(argc, argv);
}

void console_run(void)
{
	static struct console_line line;

	printk("Proxima: up; console on the serial port ('help' lists the commands, 'halt' powers off)\n");
	console_line_reset(&line);
	printk("%s", CONSOLE_PROMPT);
	for (;;) {
		int c = plat_getc();
		enum console_line_event ev;

		if (c < 0) {
			idle_poll();
			continue;
		}
		trim_in = CONSOLE_TRIM_POLLS;
		ev = console_line_feed(&line, c, echo);
		if (ev == CONSOLE_LINE_EOF) {
			printk("\n");
			cmd_halt(0, NULL);
		}
		if (ev != CONSOLE_LINE_DONE)
			continue;
		if (line.overflow)
			printk("console: line too long (at most %u characters)\n", CONSOLE_LINE_MAX - 1);
		else
			run_line(line.buf);
		{
			bool after_cr = line.after_cr;

			console_line_reset(&line);
			line.after_cr = after_cr;	/* so the LF of a CR LF ends nothing */
		}
		printk("%s", CONSOLE_PROMPT);
	}
}
