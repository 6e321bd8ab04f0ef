/* main.c - kernel init order, one step per line, from OpenSBI's jump to the test/bench runners. */
#include <stdio.h>
#include <stdlib.h>

#include "kernel/bootargs.h"
#include "kernel/cls.h"
#include "kernel/console.h"
#include "kernel/kernel.h"
#include "kernel/memplan.h"
#include "kernel/printk.h"
#include "kernel/selftest.h"
#include "kernel/smp.h"
#include "kernel/virtio.h"
#include "mm/heap.h"
#include "platform/csr.h"
#include "platform/dt.h"
#include "platform/mesh.h"
#include "platform/platform.h"

extern char __kernel_start[], __kernel_end[], boot_stack_top[];

struct topo boot_topo;
const void *boot_dtb;
struct kernel_opts kopts = { .nohart = ~0ULL, .lock_spin = LOCK_SPIN_DEFAULT, .lock_steal = LOCK_STEAL_DEFAULT };
static struct cls boot_cls;

static const struct bootarg_key bootarg_keys[] = {
	{ "test", "run the in-kernel test suites and power off", BOOTARG_FLAG, &kopts.test, sizeof(kopts.test) },
	{ "filter", "only these cases: a part of a suite or case name, or suite.case", BOOTARG_STR, kopts.filter, sizeof(kopts.filter) },
	{ "bench", "run benchmarks: all or a name", BOOTARG_STR, kopts.bench, sizeof(kopts.bench) },
	{ "seed", "base seed of the randomised test cases (each prints it; the same seed replays them)", BOOTARG_U64,
	  &kopts.seed, sizeof(kopts.seed) },
	{ "mesh", "XxY mesh for kernel_heap[x][y]; more cells than NUMA nodes emulate a mesh of clusters",
	  BOOTARG_STR, kopts.mesh, sizeof(kopts.mesh) },
	{ "hop", "emulated mesh: the distance one hop adds (1..8, default 2)", BOOTARG_U64, &kopts.hop,
	  sizeof(kopts.hop) },
	{ "withhold", "clusters whose RAM the allocator never gets (0,2)", BOOTARG_STR, kopts.withhold,
	  sizeof(kopts.withhold) },
	{ "nohart", "a hart id never started", BOOTARG_U64, &kopts.nohart, sizeof(kopts.nohart) },
	{ "dma_limit", "first address devices cannot reach by DMA (default: all RAM)", BOOTARG_U64,
	  &kopts.dma_limit, sizeof(kopts.dma_limit) },
	{ "private", "private scratch: c<cluster>:<size>[:pages] or h<hartid>:<size>[:pages], '/'-separated",
	  BOOTARG_STR,
	  kopts.private_spec, sizeof(kopts.private_spec) },
	{ "cma", "CMA regions name:size[@cluster][:dev1,dev2][:exclusive], ';'-separated", BOOTARG_STR, kopts.cma,
	  sizeof(kopts.cma) },
	{ "heap_limit", "fault injection: c:bytes/... heaps that start tiny (0 = empty)", BOOTARG_STR,
	  kopts.heap_limit, sizeof(kopts.heap_limit) },
	{ "refill_fail", "fault injection: per mille of cache refills that fail", BOOTARG_U64, &kopts.refill_fail,
	  sizeof(kopts.refill_fail) },
	{ "soak", "run the all-hart soak with this many operations", BOOTARG_U64, &kopts.soak, sizeof(kopts.soak) },
	{ "lock_spin", "spin iterations before a lock or SMP waiter sleeps in wfi (0 = at once)", BOOTARG_U64,
	  &kopts.lock_spin, sizeof(kopts.lock_spin) },
	{ "lock_steal", "iterations a hart tries to take an unclaimed free qspin lock before it queues (0 = FIFO)",
	  BOOTARG_U64, &kopts.lock_steal, sizeof(kopts.lock_steal) },
	{ "expect", "topology the runner asked QEMU for (checked by tests)", BOOTARG_STR, kopts.expect,
	  sizeof(kopts.expect) },
	{ "expect_dist", "distances the runner asked QEMU for", BOOTARG_STR, kopts.expect_dist,
	  sizeof(kopts.expect_dist) },
};

struct topo_set boot_withhold;	/* clusters whose RAM was withheld (bootarg withhold=) */

static void bootarg_warn(const char *line)
{
	printk("%s\n", line);
}

/* "0,2" -> the set of those cluster ids; unknown ids are reported and ignored */
static void parse_withhold(const char *s, unsigned nclusters, struct topo_set *set)
{

	while (*s) {
		char *end;
		unsigned long c = strtoul(s, &end, 0);

		if (end == s) {
			printk("bootargs: bad value for 'withhold': '%s' (want ids like 0,2)\n", s);
			return;
		}
		if (c < nclusters)
			topo_set_add(set, (unsigned)c);
		else
			printk("bootargs: withhold: no cluster %lu (have %u)\n", c, nclusters);
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',') {
			printk("bootargs: bad value for 'withhold': '%s'\n", end);
			return;
		}
	}
}

static void print_size(char *buf, size_t len, uint64_t b)
{
	if (b >= (1ULL << 30) && !(b & ((1ULL << 30) - 1)))
		snprintf(buf, len, "%lluG", (unsigned long long)(b >> 30));
	else if (b >= (1ULL << 20))
		snprintf(buf, len, "%lluM", (unsigned long long)(b >> 20));
	else
		snprintf(buf, len, "%lluK", (unsigned long long)(b >> 10));
}

void topo_print_machine(void)
{
	const struct topo *t = &boot_topo;
	uint64_t total = 0;
	char sz[16];
	unsigned i;

	for (i = 0; i < t->nclusters; i++)
		total += t->cluster[i].mem.size;
	print_size(sz, sizeof(sz), total);
	if (t->emulated)
		printk("machine: %u clusters on a %ux%u mesh emulated from %u socket%s (hop=%u), %u harts, %s RAM "
		       "(0x%llx bytes), socket distances %s, lock %s\n", t->nclusters, t->mesh_x, t->mesh_y,
		       t->nsockets, t->nsockets == 1 ? "" : "s", t->hop, t->nharts, sz, (unsigned long long)total,
		       t->has_distance_map ? "from DT" : "absent (10 local / 20 remote)", LOCK_KIND_NAME);
	else
		printk("machine: %u clusters on a %ux%u mesh, %u harts, %s RAM (0x%llx bytes), distance-map %s, "
		       "lock %s\n", t->nclusters, t->mesh_x, t->mesh_y, t->nharts, sz, (unsigned long long)total,
		       t->has_distance_map ? "from DT" : "absent (10 local / 20 remote)", LOCK_KIND_NAME);
}

void topo_print_clusters(void)
{
	const struct topo *t = &boot_topo;
	unsigned i;

	for (i = 0; i < t->nclusters; i++) {
		char line[200];
		struct heap_stats st;

		topo_describe_cluster(t, i, line, sizeof(line));
		heap_get_stats(heap_of(i), &st);
		printk("%s heap=0x%llx free=0x%llx%s\n", line, (unsigned long long)st.size,
		       (unsigned long long)st.free_bytes,
		       topo_set_has(&boot_withhold, i) ? " withheld" : !t->cluster[i].mem.size ? " memoryless" : "");
	}
}

/* ---- the init steps ---- */

static char boot_why[160];	/* a step's detail for boot_step()'s panic */

/* boot_step() - the one place a failed init step is checked: the boot cannot go on without it */
static void boot_step(const char *name, error_t e)
{
	if (e)
		panic("boot: %s: %s%s%s", name, err_str(e), boot_why[0] ? ": " : "", boot_why);
}

/* a static CLS until the heaps exist, so that locks, printk and traps work */
static void boot_cls_init(unsigned long hartid)
{
	boot_cls.hartid = (uint32_t)hartid;
	boot_cls.self = &boot_cls;
	boot_cls.stack_top = (uintptr_t)boot_stack_top;
	cls_mcs_init(&boot_cls);
	__asm__ volatile("mv tp, %0" ::"r"(&boot_cls) : "memory");
	trap_init();
	/* software interrupts wake wfi (halting lock waiters, kernel/smp.c); sstatus.SIE stays clear */
	csr_set(sie, SIE_SSIE);
}

/* the topology from the DT, then the UART and the power-off device it names (errors go out through SBI) */
static error_t topology_init(struct topo *t, const void *dtb)
{
	error_t e = dt_parse_topology(dtb, 1 << 20, t, boot_why, sizeof(boot_why));

	if (e)
		return e;
	boot_why[0] = 0;
	boot_dtb = dtb;
	plat_uart_init(t->uart_base, t->uart_reg_shift);
	plat_power_init(t->test_dev_base);
	return 0;
}

/* the bootargs into kopts, and the two that reshape the topology: mesh= and withhold= */
static void options_init(struct topo *t, unsigned long hartid, const void *dtb)
{
	printk("\nProxima: RISC-V SMP kernel, boot hart %lu, DTB at %p\n", hartid, dtb);
	bootargs_parse(t->bootargs, bootarg_keys, sizeof(bootarg_keys) / sizeof(bootarg_keys[0]),
		       bootarg_warn);
	lock_spin_budget = kopts.lock_spin > UINT32_MAX ? UINT32_MAX : (uint32_t)kopts.lock_spin;
	if (lock_spin_budget != LOCK_SPIN_DEFAULT)
		printk("locks: waiters spin %u iterations before they sleep\n", lock_spin_budget);
	lock_steal_budget = kopts.lock_steal > UINT32_MAX ? UINT32_MAX : (uint32_t)kopts.lock_steal;
	if (lock_steal_budget != LOCK_STEAL_DEFAULT)
		printk("locks: qspin newcomers try to steal for %u iterations%s\n", lock_steal_budget,
		       lock_steal_budget ? "" : " (strict FIFO)");
	if (kopts.mesh[0]) {
		unsigned mx = 0, my = 0, hop = kopts.hop ? (kopts.hop > 255 ? 255 : (unsigned)kopts.hop) : MESH_HOP_DEFAULT;
		char why[160];

		if (topo_parse_mesh(kopts.mesh, &mx, &my))
			printk("bootargs: mesh=%s: want XxY, each side 1..%u; keeping %ux%u without emulation\n",
			       kopts.mesh, TOPO_MESH_MAX, t->mesh_x, t->mesh_y);
		else if (mesh_apply(t, mx, my, hop, why, sizeof(why)))
			printk("bootargs: %s; keeping %u clusters on %ux%u without emulation\n", why, t->nclusters,
			       t->mesh_x, t->mesh_y);
	} else if (kopts.hop) {
		printk("bootargs: hop=%llu without mesh=: no emulated mesh, ignored\n", (unsigned long long)kopts.hop);
	}
	if (kopts.withhold[0])
		parse_withhold(kopts.withhold, t->nclusters, &boot_withhold);
	topo_print_machine();
}

/* every hart's CLS (the boot hart's first), then the other harts, each in wfi until called */
static error_t smp_start(const struct topo *t, unsigned long hartid)
{
	unsigned i, boot_index = t->nharts;

	for (i = 0; i < t->nharts; i++)
		if (t->hart[i].hartid == hartid)
			boot_index = i;
	if (boot_index == t->nharts) {
		snprintf(boot_why, sizeof(boot_why), "boot hart %lu is not in the device tree", hartid);
		return ERR_CORRUPT;
	}
	smp_boot_hart_cls(t, boot_index);
	smp_boot(t, kopts.nohart == ~0ULL ? -1 : (long)kopts.nohart);
	return 0;
}

/* what the bootargs ask for (test, soak=, bench=), powering off with its verdict; else the console */
static void run_program(void)
{
	if (kopts.test) {
		if (kopts.seed)
			test_seed = kopts.seed;
		plat_poweroff(test_run_all(kopts.filter) ? 1 : 0);
	}
	if (kopts.soak) {
		char ops[24];

		snprintf(ops, sizeof(ops), "%llu", (unsigned long long)kopts.soak);
		plat_poweroff(test_program_run("soak", ops) ? 1 : 0);
	}
	if (kopts.bench[0])
		plat_poweroff(test_program_run("bench", kopts.bench) ? 1 : 0);
	console_run();
}

/* OpenSBI jumps here on the boot hart (a lottery: any hart id), in S-mode, with a0 = hartid, a1 = DTB. */
void kmain(unsigned long hartid, void *dtb)
{
	struct topo *t = &boot_topo;

	boot_cls_init(hartid);					/* static CLS: locks, printk, traps */
	boot_step("device tree", topology_init(t, dtb));	/* harts, clusters, RAM, UART, power */
	options_init(t, hartid, dtb);				/* bootargs; mesh=, withhold= */
	memplan_reserve(t, dtb, (uintptr_t)__kernel_start,	/* firmware, this image, the DTB */
			(size_t)(__kernel_end - __kernel_start));
	memplan_carve(t);					/* cma=, private= out of cluster RAM */
	boot_step("heaps", memplan_heaps(t, &boot_withhold));	/* kernel_heap[x][y] */
	boot_step("regions", memplan_regions(t));		/* mem_alloc(): regions, proximities, CMA */
	topo_print_clusters();					/* one line per cluster, heap sizes */
	boot_step("smp", smp_start(t, hartid));			/* every hart's CLS, the other harts */
	virtio_blk_probe(dtb);					/* the disk, if one is attached */
	run_program();						/* test / soak= / bench=, else the console */
}
