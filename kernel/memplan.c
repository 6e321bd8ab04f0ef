/*
 * memplan.c - the boot's memory planning: which RAM no heap may get (firmware, this image, the DTB), the
 * CMA regions and private scratch carved from cluster RAM (bootargs cma=, private=), fault-injection
 * heap limits, then the heaps and mem_alloc()'s regions built over what is left. kmain() calls the four
 * memplan_*() steps in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/bootargs.h"
#include "kernel/kernel.h"
#include "kernel/memplan.h"
#include "kernel/printk.h"
#include "mm/cma.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/range.h"
#include "libfdt.h"

#define PAGE_MASK 4095ULL	/* carved ranges are whole 4 KiB pages */
#define MAX_PRIVATE 8		/* private= regions */

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
		top &= ~PAGE_MASK;
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
 * Private scratch regions (bootarg private=c1:1M/h3:512K:pages): carved, page-aligned, from the top of the
 * highest usable range of the cluster's RAM, added to the reserved list so no heap gets them, and handed
 * to mem_add_private() once the heaps exist. h<hartid> is private to that hart, in its cluster. ":pages"
 * backs the region with a page_pool (whole pages) instead of a memory_pool.
 */
struct private_plan {
	unsigned cluster;
	int hart_index;
	bool pages;
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
		size_t len;
		bool pages = false;

		if ((kind != 'c' && kind != 'h') || end == spec + 1 || *end != ':')
			goto bad;
		len = strcspn(end + 1, "/");
		if (len > 6 && !strncmp(end + 1 + len - 6, ":pages", 6)) {
			pages = true;
			len -= 6;
		}
		rest = bootargs_parse_u64(end + 1, len, &size);
		if (rest || !size)
			goto bad;
		size = (size + PAGE_MASK) & ~PAGE_MASK;
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
		plan[n].pages = pages;
		n++;
		goto next;
bad:
		printk("bootargs: bad value for 'private' at '%s' (want c<cluster>:<size>[:pages] or "
		       "h<hartid>:<size>[:pages])\n", spec);
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
		if (bootargs_parse_cma(one, &p->spec)) {
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

/* what the steps hand each other (the boot hart runs them once, in order) */
static struct topo_range reserved[TOPO_MAX_RESERVED + 3 + MAX_PRIVATE + CMA_MAX_REGIONS];
static unsigned nres;
static struct private_plan plan[MAX_PRIVATE];
static unsigned nplan;
static struct cma_plan cplan[CMA_MAX_REGIONS];
static unsigned ncma;

void memplan_reserve(const struct topo *t, const void *dtb, uintptr_t image, size_t image_size)
{
	unsigned i;

	nres = 0;
	for (i = 0; i < t->nreserved; i++)
		reserved[nres++] = t->reserved[i];
	/*
	 * Below the image, in its RAM bank: the firmware's, whatever the device tree reserves. OpenSBI 1.1
	 * reserves 0x80000000+0x80000 on QEMU virt, yet a hart it starts read something of its own past that:
	 * with tiny heaps (bootarg heap_limit), whose first blocks are the CLS and stacks at 0x80080000, one
	 * boot in five lost hart 1 (HSM STARTED, never arrived; none in 40 boots with this range). Linux on
	 * RISC-V has likewise never handed out the memory below its image. The bank is the DT's node (struct
	 * topo_socket, also without an emulated mesh), not the cluster: mesh-16x16's cluster 0 is
	 * 0x80000000+0x200000 and ends where the image starts.
	 */
	for (i = 0; i < t->nsockets; i++) {
		const struct topo_range *m = &t->socket[i].mem;

		if (image > m->base && image - m->base < m->size)
			reserved[nres++] = (struct topo_range){ m->base, image - m->base };
	}
	reserved[nres++] = (struct topo_range){ image, image_size };
	reserved[nres++] = (struct topo_range){ (uintptr_t)dtb, fdt_totalsize(dtb) };
	for (i = 0; i < nres; i++)
		printk("reserved: 0x%llx+0x%llx%s\n", (unsigned long long)reserved[i].base,
		       (unsigned long long)reserved[i].size,
		       i == nres - 2 ? " (kernel image)" : i == nres - 1 ? " (DTB)" :
		       i == nres - 3 && i >= t->nreserved ? " (below the image)" : " (firmware/DT)");
}

void memplan_carve(const struct topo *t)
{
	ncma = plan_cma(t, kopts.cma, reserved, &nres, sizeof(reserved) / sizeof(reserved[0]), cplan,
			CMA_MAX_REGIONS);
	nplan = plan_private(t, kopts.private_spec, reserved, &nres, sizeof(reserved) / sizeof(reserved[0]), plan,
			     MAX_PRIVATE);
	apply_heap_limits(t, kopts.heap_limit);
}

error_t memplan_heaps(const struct topo *t, const struct topo_set *withhold)
{
	return heap_init_all(t, reserved, nres, withhold);
}

error_t memplan_regions(const struct topo *t)
{
	unsigned i;
	error_t e = mem_init(t, kopts.dma_limit);

	if (e)
		return e;
	for (i = 0; i < nplan; i++) {
		e = mem_add_private(plan[i].cluster, plan[i].hart_index, (uintptr_t)plan[i].base, plan[i].size,
				    plan[i].pages);
		printk("private: cluster=%u hart_index=%d range=0x%llx+0x%llx %s%s%s\n", plan[i].cluster,
		       plan[i].hart_index, (unsigned long long)plan[i].base, (unsigned long long)plan[i].size,
		       plan[i].pages ? "page_pool" : "memory_pool", e ? " error: " : "", e ? err_str(e) : "");
	}
	if (kopts.refill_fail) {
		mem_set_refill_faults((unsigned)kopts.refill_fail);
		printk("faults: %llu per mille of cache refills fail\n", (unsigned long long)kopts.refill_fail);
	}
	cma_declare_all(cplan, ncma);
	cma_print_info();
	if (kopts.dma_limit)
		printk("dma: devices reach RAM below 0x%llx\n", (unsigned long long)kopts.dma_limit);
	return 0;
}
