/* soak.c - bootarg soak=<ops>: all harts hammer mem_alloc/mem_free/CMA with fill patterns; nothing may be lost. */
#include <stdio.h>
#include <string.h>

#include "kernel/bootargs.h"
#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/printk.h"
#include "kernel/smp.h"
#include "mm/cma.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "tests/programs/programs.h"
#include "tests/test.h"

#define SOAK_SLOTS 128

struct soak_slot {
	uint64_t *p;
	size_t size;
	uint64_t tag;
};

static uint64_t soak_ops_per_hart;
static uint64_t soak_done;
static uint32_t soak_errors;

/* every word of the block names its owner hart and the allocation's sequence number */
static void fill(uint64_t *p, size_t size, uint64_t tag)
{
	size_t i;

	for (i = 0; i < size / 8; i++)
		p[i] = tag ^ (i * 0x9e3779b97f4a7c15ULL);
}

static int check(const uint64_t *p, size_t size, uint64_t tag)
{
	size_t i;

	for (i = 0; i < size / 8; i++)
		if (p[i] != (tag ^ (i * 0x9e3779b97f4a7c15ULL)))
			return 0;
	return 1;
}

static void soak_release(struct soak_slot *s)
{
	if (!check(s->p, s->size, s->tag)) {
		printk("soak: hart %u: block %p (%zu bytes) pattern broken\n", cls_self()->index, s->p, s->size);
		__atomic_fetch_add(&soak_errors, 1, __ATOMIC_RELAXED);
	}
	if (mem_free_checked(s->p))
		__atomic_fetch_add(&soak_errors, 1, __ATOMIC_RELAXED);
	s->p = NULL;
}

static void soak_body(void *arg)
{
	struct cls *c = cls_self();
	struct soak_slot *slot;
	uint64_t seed = 0x2545f4914f6cdd1dULL ^ ((uint64_t)c->index << 32), n, seq = 0;
	unsigned i, nclusters = boot_topo.nclusters;

	if (mem_alloc(sizeof(*slot) * SOAK_SLOTS, NULL, MEM_VALID_SYS, (void **)&slot)) {
		__atomic_fetch_add(&soak_errors, 1, __ATOMIC_RELAXED);
		return;
	}
	memset(slot, 0, sizeof(*slot) * SOAK_SLOTS);
	for (n = 0; n < soak_ops_per_hart; n++) {
		uint64_t r = test_rand(&seed);
		struct soak_slot *s = &slot[r % SOAK_SLOTS];

		if (c->index == 0 && n && n % (soak_ops_per_hart / 10 ? soak_ops_per_hart / 10 : 1) == 0)
			printk("soak: %llu%% (%llu ops on hart index 0)\n",
			       (unsigned long long)(n * 100 / soak_ops_per_hart), (unsigned long long)n);
		if (s->p) {
			soak_release(s);
			continue;
		}
		/* sizes: mostly small, some pages, rarely a large DMA buffer (CMA "default" when declared) */
		{
			unsigned kind = (r >> 8) % 100;
			enum mem_reachability_s valid = MEM_VALID_SYS;
			struct mem_proximity_s *prox = NULL;
			size_t size;

			if (kind < 80)
				size = 8 + (r >> 16) % 1024;
			else if (kind < 98)
				size = 1024 + (r >> 16) % 16384;
			else
				size = 65536 + (r >> 16) % 196608, valid = MEM_VALID_DMA;
			if (((r >> 40) & 7) == 0)
				prox = mem_prox_cluster((r >> 43) % nclusters);
			else if (((r >> 40) & 7) == 1)
				prox = mem_prox_global();
			size &= ~(size_t)7;
			if (mem_alloc(size, prox, valid, (void **)&s->p)) {
				s->p = NULL;	/* exhaustion is allowed; it is not an error */
				continue;
			}
			s->size = size;
			s->tag = ((uint64_t)c->index << 48) | seq++;
			fill(s->p, size, s->tag);
		}
	}
	for (i = 0; i < SOAK_SLOTS; i++)
		if (slot[i].p)
			soak_release(&slot[i]);
	mem_free(slot);
	mem_drain();
	__atomic_fetch_add(&soak_done, n, __ATOMIC_RELAXED);
}

static void drain_body(void *arg)
{
	mem_drain();
}

static void cma_free_total(struct cma_region *r, void *arg)
{
	struct cma_info in;

	cma_region_info(r, &in);
	if (in.free != in.total) {
		printk("soak: cma region %s: 0x%zx of 0x%zx bytes still allocated\n", in.name, in.total - in.free,
		       in.total);
		(*(unsigned *)arg)++;
	}
}

static int soak_run(uint64_t ops)
{
	static uint64_t before[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	struct heap_stats st;
	unsigned c, cma_bad = 0, bad = 0;
	char why[96];

	/* twice: remote frees sent in the first round are freed by their owners in the second (mm/slab.h) */
	smp_call_all(drain_body, NULL);
	smp_call_all(drain_body, NULL);
	for (c = 0; c < boot_topo.nclusters; c++) {
		heap_get_stats(heap_of(c), &st);
		before[c] = st.free_bytes;
	}
	soak_ops_per_hart = ops / smp_nharts();
	printk("soak: %llu ops over %u harts, fill patterns checked before every free\n", (unsigned long long)ops,
	       smp_nharts());
	smp_call_all(soak_body, NULL);
	smp_call_all(drain_body, NULL);
	smp_call_all(drain_body, NULL);
	for (c = 0; c < boot_topo.nclusters; c++) {
		heap_get_stats(heap_of(c), &st);
		if (st.free_bytes != before[c]) {
			printk("soak: cluster %u lost 0x%llx bytes\n", c, (unsigned long long)(before[c] - st.free_bytes));
			bad++;
		}
		if (heap_check(heap_of(c), why, sizeof(why))) {
			printk("soak: cluster %u heap_check: %s\n", c, why);
			bad++;
		}
	}
	cma_for_each(cma_free_total, &cma_bad);
	cma_print_info();
	printk("soak: ops=%llu harts=%u errors=%u heaps_bad=%u cma_bad=%u result=%s\n",
	       (unsigned long long)soak_done, smp_nharts(), soak_errors, bad, cma_bad,
	       soak_errors || bad || cma_bad ? "FAIL" : "PASS");
	return soak_errors || bad || cma_bad;
}

/* soak=<ops>: the argument is the operation count, as BOOTARG_U64 reads it */
static int soak_main(const char *arg)
{
	uint64_t ops = 0;

	if (bootargs_parse_u64(arg, strlen(arg), &ops) || !ops) {
		printk("soak: bad operation count '%s'\n", arg);
		return 1;
	}
	return soak_run(ops);
}

TEST_PROGRAM(soak, soak_main);
