/* main.c - kernel init order, one step per line, from OpenSBI's jump to the test/bench runners. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/bootargs.h"
#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/printk.h"
#include "kernel/smp.h"
#include "mm/heap.h"
#include "platform/csr.h"
#include "platform/dt.h"
#include "libfdt.h"
#include "platform/platform.h"
#include "tests/test.h"

extern char __kernel_start[], __kernel_end[], boot_stack_top[];

struct topo boot_topo;
struct kernel_opts kopts = { .nohart = ~0ULL };
static struct cls boot_cls;

static const struct bootarg_key bootarg_keys[] = {
	{ "test", "run the in-kernel test suites and power off", BOOTARG_FLAG, &kopts.test, sizeof(kopts.test) },
	{ "filter", "only suites whose name contains this", BOOTARG_STR, kopts.filter, sizeof(kopts.filter) },
	{ "bench", "run benchmarks: all or a name", BOOTARG_STR, kopts.bench, sizeof(kopts.bench) },
	{ "mesh", "XxY mesh for kernel_heap[x][y]", BOOTARG_STR, kopts.mesh, sizeof(kopts.mesh) },
	{ "withhold", "clusters whose RAM the allocator never gets (0,2)", BOOTARG_STR, kopts.withhold,
	  sizeof(kopts.withhold) },
	{ "nohart", "a hart id never started", BOOTARG_U64, &kopts.nohart, sizeof(kopts.nohart) },
	{ "expect", "topology the runner asked QEMU for (checked by tests)", BOOTARG_STR, kopts.expect,
	  sizeof(kopts.expect) },
	{ "expect_dist", "distances the runner asked QEMU for", BOOTARG_STR, kopts.expect_dist,
	  sizeof(kopts.expect_dist) },
};

static void bootarg_warn(const char *line)
{
	printk("%s\n", line);
}

/* "0,2" -> bit mask of cluster ids; unknown ids are reported and ignored */
static uint64_t parse_withhold(const char *s, unsigned nclusters)
{
	uint64_t mask = 0;

	while (*s) {
		char *end;
		unsigned long c = strtoul(s, &end, 0);

		if (end == s) {
			printk("bootargs: bad value for 'withhold': '%s' (want ids like 0,2)\n", s);
			return mask;
		}
		if (c < nclusters)
			mask |= 1ULL << c;
		else
			printk("bootargs: withhold: no cluster %lu (have %u)\n", c, nclusters);
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',') {
			printk("bootargs: bad value for 'withhold': '%s'\n", end);
			return mask;
		}
	}
	return mask;
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

void kmain(unsigned long hartid, void *dtb)
{
	static struct topo_range reserved[TOPO_MAX_RESERVED + 2];
	char err[160], sz[16];
	struct topo *t = &boot_topo;
	unsigned i, nres, boot_index = 0;
	uint64_t total = 0, withhold = 0;
	error_t e;

	/* a static CLS until the heaps exist, so that locks and printk work */
	boot_cls.hartid = (uint32_t)hartid;
	boot_cls.self = &boot_cls;
	boot_cls.stack_top = (uintptr_t)boot_stack_top;
	__asm__ volatile("mv tp, %0" ::"r"(&boot_cls) : "memory");
	trap_init();

	/* the topology; its errors go out through SBI's console since the UART is not known yet */
	e = dt_parse_topology(dtb, 1 << 20, t, err, sizeof(err));
	if (e)
		panic("device tree: %s", err);
	plat_uart_init(t->uart_base, t->uart_reg_shift);
	plat_power_init(t->test_dev_base);

	printk("\nProxima: RISC-V SMP kernel, boot hart %lu, DTB at %p\n", hartid, dtb);
	bootargs_parse(t->bootargs, bootarg_keys, sizeof(bootarg_keys) / sizeof(bootarg_keys[0]),
		       bootarg_warn);
	if (kopts.mesh[0]) {
		unsigned mx = 0, my = 0;

		if (topo_parse_mesh(kopts.mesh, &mx, &my) || topo_set_mesh(t, mx, my))
			printk("bootargs: mesh=%s does not fit %u clusters; keeping %ux%u\n", kopts.mesh,
			       t->nclusters, t->mesh_x, t->mesh_y);
	}
	if (kopts.withhold[0])
		withhold = parse_withhold(kopts.withhold, t->nclusters);

	/* everything never to hand out: firmware (from the DT), this image, the DTB */
	nres = 0;
	for (i = 0; i < t->nreserved; i++)
		reserved[nres++] = t->reserved[i];
	reserved[nres++] = (struct topo_range){ (uintptr_t)__kernel_start,
						 (uintptr_t)__kernel_end - (uintptr_t)__kernel_start };
	reserved[nres++] = (struct topo_range){ (uintptr_t)dtb, fdt_totalsize(dtb) };
	for (i = 0; i < t->nclusters; i++)
		total += t->cluster[i].mem.size;
	print_size(sz, sizeof(sz), total);
	printk("machine: %u clusters on a %ux%u mesh, %u harts, %s RAM (0x%llx bytes), distance-map %s, "
	       "lock %s\n", t->nclusters, t->mesh_x, t->mesh_y, t->nharts, sz, (unsigned long long)total,
	       t->has_distance_map ? "from DT" : "absent (10 local / 20 remote)", LOCK_KIND_NAME);
	for (i = 0; i < nres; i++)
		printk("reserved: 0x%llx+0x%llx%s\n", (unsigned long long)reserved[i].base,
		       (unsigned long long)reserved[i].size,
		       i == nres - 2 ? " (kernel image)" : i == nres - 1 ? " (DTB)" : " (firmware/DT)");

	/* the per-cluster heaps, each with its metadata in its own RAM */
	e = heap_init_all(t, reserved, nres, withhold);
	if (e)
		panic("no cluster has usable memory: %s", err_str(e));
	for (i = 0; i < t->nclusters; i++) {
		char line[200];
		struct heap_stats st;

		topo_describe_cluster(t, i, line, sizeof(line));
		heap_get_stats(heap_of(i), &st);
		printk("%s heap=0x%llx free=0x%llx%s\n", line, (unsigned long long)st.size,
		       (unsigned long long)st.free_bytes,
		       (withhold >> i) & 1 ? " withheld" : !t->cluster[i].mem.size ? " memoryless" : "");
	}

	/* the boot hart's own CLS, then the other harts */
	for (i = 0; i < t->nharts; i++)
		if (t->hart[i].hartid == hartid)
			boot_index = i;
	smp_boot_hart_cls(t, boot_index);
	smp_boot(t, kopts.nohart == ~0ULL ? -1 : (long)kopts.nohart);

	if (kopts.test) {
		int failed = test_run_all(kopts.filter);

		plat_poweroff(failed ? 1 : 0);
	}
	if (kopts.bench[0])
		plat_poweroff(bench_main(kopts.bench) ? 1 : 0);
	printk("Proxima: up; nothing to run (bootargs: test, bench=all). Halting.\n");
	plat_poweroff(0);
}
