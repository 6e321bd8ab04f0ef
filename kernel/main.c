/* main.c - kernel init order, one step per line, from OpenSBI's jump to the test/bench runners. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/bootargs.h"
#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/printk.h"
#include "kernel/smp.h"
#include "mm/cma.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/range.h"
#include "platform/csr.h"
#include "platform/dt.h"
#include "libfdt.h"
#include "platform/platform.h"
#include "platform/virtio.h"
#include "tests/test.h"

extern char __kernel_start[], __kernel_end[], boot_stack_top[];

struct topo boot_topo;
const void *boot_dtb;
struct kernel_opts kopts = { .nohart = ~0ULL, .lock_spin = LOCK_SPIN_DEFAULT };
static struct cls boot_cls;

static const struct bootarg_key bootarg_keys[] = {
	{ "test", "run the in-kernel test suites and power off", BOOTARG_FLAG, &kopts.test, sizeof(kopts.test) },
	{ "filter", "only suites whose name contains this", BOOTARG_STR, kopts.filter, sizeof(kopts.filter) },
	{ "bench", "run benchmarks: all or a name", BOOTARG_STR, kopts.bench, sizeof(kopts.bench) },
	{ "mesh", "XxY mesh for kernel_heap[x][y]", BOOTARG_STR, kopts.mesh, sizeof(kopts.mesh) },
	{ "withhold", "clusters whose RAM the allocator never gets (0,2)", BOOTARG_STR, kopts.withhold,
	  sizeof(kopts.withhold) },
	{ "nohart", "a hart id never started", BOOTARG_U64, &kopts.nohart, sizeof(kopts.nohart) },
	{ "dma_limit", "first address devices cannot reach by DMA (default: all RAM)", BOOTARG_U64,
	  &kopts.dma_limit, sizeof(kopts.dma_limit) },
	{ "private", "private scratch: c<cluster>:<size> or h<hartid>:<size>, '/'-separated", BOOTARG_STR,
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

/*
 * carve_top() - take @size bytes (page-aligned) from the top of the highest usable range of cluster @cl's
 * RAM that lies below @limit (0: anywhere), and add them to the reserved list so that no heap gets them.
 */
static error_t carve_top(const struct topo *t, unsigned cl, uint64_t size, uint64_t limit,
			 struct topo_range *reserved, unsigned *nres, unsigned maxres, uint64_t *base)
{
	struct topo_range use[RANGE_MAX];
	unsigned nu = range_subtract(t->cluster[cl].mem, reserved, *nres, use, RANGE_MAX);

	while (nu) {
		uint64_t top = use[nu - 1].base + use[nu - 1].size;

		if (limit && top > limit)
			top = limit;
		top &= ~4095ULL;
		if (top > use[nu - 1].base && top - use[nu - 1].base >= size && *nres < maxres) {
			*base = top - size;
			reserved[(*nres)++] = (struct topo_range){ *base, size };
			return 0;
		}
		nu--;
	}
	return ERR_NOMEM;
}

/*
 * Private scratch regions (bootarg private=c1:1M/h3:512K): carved, page-aligned, from the top of the
 * highest usable range of the cluster's RAM, added to the reserved list so no heap gets them, and handed
 * to mem_add_private() once the heaps exist. h<hartid> is private to that hart, in its cluster.
 */
struct private_plan {
	unsigned cluster;
	int hart_index;
	uint64_t base, size;
};

static unsigned plan_private(const struct topo *t, const char *spec, struct topo_range *reserved,
			     unsigned *nres, unsigned maxres, struct private_plan *plan, unsigned maxplan)
{
	unsigned n = 0;

	while (*spec && n < maxplan) {
		char kind = *spec, *end;
		unsigned long id = strtoul(spec + 1, &end, 10);
		uint64_t size;
		const char *rest;
		unsigned cl, i;
		int hi = -1;

		if ((kind != 'c' && kind != 'h') || end == spec + 1 || *end != ':')
			goto bad;
		rest = bootargs_parse_u64(end + 1, strcspn(end + 1, "/"), &size);
		if (rest || !size)
			goto bad;
		size = (size + 4095) & ~4095ULL;
		if (kind == 'c') {
			if (id >= t->nclusters)
				goto bad;
			cl = (unsigned)id;
		} else {
			for (i = 0; i < t->nharts; i++)
				if (t->hart[i].hartid == id)
					hi = (int)i;
			if (hi < 0)
				goto bad;
			cl = t->hart[hi].cluster;
		}
		if (carve_top(t, cl, size, 0, reserved, nres, maxres, &plan[n].base)) {
			printk("private: %s: no room for 0x%llx bytes in cluster %u\n", spec, (unsigned long long)size, cl);
			goto next;
		}
		plan[n].size = size;
		plan[n].cluster = cl;
		plan[n].hart_index = hi;
		n++;
		goto next;
bad:
		printk("bootargs: bad value for 'private' at '%s' (want c<cluster>:<size> or h<hartid>:<size>)\n", spec);
next:
		spec += strcspn(spec, "/");
		if (*spec == '/')
			spec++;
	}
	return n;
}

/*
 * CMA regions (bootarg cma=dma0:4M@1:virtio0;default:2M): carved from the top of the chosen cluster's
 * RAM inside the DMA window (the first cluster with room when no @cluster is given), reserved from the
 * heaps, then declared with their metadata from the same cluster's heap.
 */
struct cma_plan {
	struct cma_spec spec;
	unsigned cluster;
	uint64_t base;
};

static unsigned plan_cma(const struct topo *t, const char *all, struct topo_range *reserved, unsigned *nres,
			 unsigned maxres, struct cma_plan *plan, unsigned maxplan)
{
	char one[96];
	unsigned n = 0;

	while (*all && n < maxplan) {
		size_t len = strcspn(all, ";");
		struct cma_plan *p = &plan[n];
		unsigned c;
		error_t e = ERR_NOMEM;

		snprintf(one, sizeof(one), "%.*s", (int)len, all);
		all += len + (all[len] == ';');
		if (cma_parse_spec(one, &p->spec)) {
			printk("cma: bad region spec '%s' (want name:size[@cluster][:dev1,dev2][:exclusive])\n", one);
			continue;
		}
		if (p->spec.cluster >= (int)t->nclusters) {
			printk("cma: region %s: no cluster %d\n", p->spec.name, p->spec.cluster);
			continue;
		}
		for (c = 0; c < t->nclusters && e; c++) {
			p->cluster = p->spec.cluster >= 0 ? (unsigned)p->spec.cluster : c;
			e = carve_top(t, p->cluster, p->spec.size, kopts.dma_limit, reserved, nres, maxres, &p->base);
			if (p->spec.cluster >= 0)
				break;
		}
		if (e) {
			printk("cma: region %s: 0x%llx bytes do not fit in %s%.0d's free RAM inside the DMA window\n",
			       p->spec.name, (unsigned long long)p->spec.size,
			       p->spec.cluster >= 0 ? "cluster " : "any cluster", p->spec.cluster >= 0 ? p->spec.cluster : 0);
			continue;
		}
		n++;
	}
	return n;
}

static void cma_declare_all(struct cma_plan *plan, unsigned n)
{
	unsigned i, d;

	for (i = 0; i < n; i++) {
		struct cma_plan *p = &plan[i];
		size_t msz = cma_meta_size(p->spec.size);
		void *meta;
		error_t e = heap_alloc_near(p->cluster, msz, &meta);

		if (!e)
			e = cma_declare(p->spec.name, (uintptr_t)p->base, p->spec.size, meta, msz, NULL);
		for (d = 0; !e && d < p->spec.ndevs; d++)
			e = cma_assign(p->spec.name, p->spec.devs[d]);
		if (!e && p->spec.exclusive)
			e = cma_set_exclusive(p->spec.name, true);
		if (e)
			printk("cma: region %s: %s\n", p->spec.name, err_str(e));
	}
}

static void cma_info_one(struct cma_region *r, void *arg)
{
	struct cma_info in;

	cma_region_info(r, &in);
	printk("cma: region=%s base=0x%lx total=0x%zx free=0x%zx largest_free=0x%zx chunks=%u failures=%llu\n",
	       in.name, (unsigned long)in.base, in.total, in.free, in.largest_free, in.chunks,
	       (unsigned long long)in.failures);
}

void cma_print_info(void)
{
	cma_for_each(cma_info_one, NULL);
}

/* bootarg heap_limit=0:0/1:64K: fault injection, heaps that start empty or tiny */
static void apply_heap_limits(const struct topo *t, const char *s)
{
	while (*s) {
		char *end;
		unsigned long c = strtoul(s, &end, 10);
		uint64_t bytes;
		size_t len;

		if (end == s || *end != ':' || c >= t->nclusters) {
			printk("bootargs: bad value for 'heap_limit' at '%s' (want <cluster>:<bytes>/...)\n", s);
			return;
		}
		len = strcspn(end + 1, "/");
		if (bootargs_parse_u64(end + 1, len, &bytes)) {
			printk("bootargs: bad size in 'heap_limit' at '%s'\n", s);
			return;
		}
		heap_set_limit((unsigned)c, bytes);
		printk("faults: cluster %lu's heap limited to 0x%llx bytes\n", c, (unsigned long long)bytes);
		s = end + 1 + len;
		if (*s == '/')
			s++;
	}
}

void kmain(unsigned long hartid, void *dtb)
{
	static struct topo_range reserved[TOPO_MAX_RESERVED + 2 + 8 + CMA_MAX_REGIONS];
	static struct private_plan plan[8];
	static struct cma_plan cplan[CMA_MAX_REGIONS];
	unsigned nplan, ncma;
	char err[160], sz[16];
	struct topo *t = &boot_topo;
	unsigned i, nres, boot_index = 0;
	uint64_t total = 0, withhold = 0;
	error_t e;

	/* a static CLS until the heaps exist, so that locks and printk work */
	boot_cls.hartid = (uint32_t)hartid;
	boot_cls.self = &boot_cls;
	boot_cls.stack_top = (uintptr_t)boot_stack_top;
	cls_mcs_init(&boot_cls);
	__asm__ volatile("mv tp, %0" ::"r"(&boot_cls) : "memory");
	trap_init();
	/* software interrupts wake wfi (halting lock waiters, kernel/smp.c); sstatus.SIE stays clear */
	csr_set(sie, SIE_SSIE);
	boot_dtb = dtb;

	/* the topology; its errors go out through SBI's console since the UART is not known yet */
	e = dt_parse_topology(dtb, 1 << 20, t, err, sizeof(err));
	if (e)
		panic("device tree: %s", err);
	plat_uart_init(t->uart_base, t->uart_reg_shift);
	plat_power_init(t->test_dev_base);

	printk("\nProxima: RISC-V SMP kernel, boot hart %lu, DTB at %p\n", hartid, dtb);
	bootargs_parse(t->bootargs, bootarg_keys, sizeof(bootarg_keys) / sizeof(bootarg_keys[0]),
		       bootarg_warn);
	lock_spin_budget = kopts.lock_spin > UINT32_MAX ? UINT32_MAX : (uint32_t)kopts.lock_spin;
	if (lock_spin_budget != LOCK_SPIN_DEFAULT)
		printk("locks: waiters spin %u iterations before they sleep\n", lock_spin_budget);
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
	(void)nplan;

	ncma = plan_cma(t, kopts.cma, reserved, &nres, sizeof(reserved) / sizeof(reserved[0]), cplan,
			CMA_MAX_REGIONS);
	nplan = plan_private(t, kopts.private_spec, reserved, &nres, sizeof(reserved) / sizeof(reserved[0]), plan, 8);

	apply_heap_limits(t, kopts.heap_limit);

	/* the per-cluster heaps, each with its metadata in its own RAM */
	e = heap_init_all(t, reserved, nres, withhold);
	if (e)
		panic("no cluster has usable memory: %s", err_str(e));
	/* regions and proximities over them, and the private scratch regions */
	e = mem_init(t, kopts.dma_limit);
	if (e)
		panic("mem_init: %s", err_str(e));
	for (i = 0; i < nplan; i++) {
		e = mem_add_private(plan[i].cluster, plan[i].hart_index, (uintptr_t)plan[i].base, plan[i].size);
		printk("private: cluster=%u hart_index=%d range=0x%llx+0x%llx%s%s\n", plan[i].cluster,
		       plan[i].hart_index,
		       (unsigned long long)plan[i].base, (unsigned long long)plan[i].size, e ? " error: " : "",
		       e ? err_str(e) : "");
	}
	if (kopts.refill_fail) {
		mem_set_refill_faults((unsigned)kopts.refill_fail);
		printk("faults: %llu per mille of cache refills fail\n", (unsigned long long)kopts.refill_fail);
	}
	cma_declare_all(cplan, ncma);
	cma_print_info();
	if (kopts.dma_limit)
		printk("dma: devices reach RAM below 0x%llx\n", (unsigned long long)kopts.dma_limit);
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
	/* the virtio-blk disk, if one is attached (polled; rings and buffers from MEM_VALID_DMA memory) */
	virtio_blk_probe(dtb);

	if (kopts.test) {
		int failed = test_run_all(kopts.filter);

		plat_poweroff(failed ? 1 : 0);
	}
	if (kopts.soak)
		plat_poweroff(soak_main(kopts.soak) ? 1 : 0);
	if (kopts.bench[0])
		plat_poweroff(bench_main(kopts.bench) ? 1 : 0);
	printk("Proxima: up; nothing to run (bootargs: test, bench=all). Halting.\n");
	plat_poweroff(0);
}
