/* test_boot.c - in-kernel suites for the foundation: topology vs what QEMU was asked, CLS, SMP, printk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/cls.h"
#include "kernel/kernel.h"
#include "kernel/printk.h"
#include "kernel/smp.h"
#include "mm/heap.h"
#include "tests/test.h"

/* "256M:2/0:2" -> sizes and hart counts per node; returns the node count or -1 */
static int parse_expect(const char *s, uint64_t *mem, unsigned *harts, int max)
{
	int n = 0;

	while (*s && n < max) {
		char *end;
		uint64_t v = strtoull(s, &end, 0);

		if (*end == 'K')
			v <<= 10, end++;
		else if (*end == 'M')
			v <<= 20, end++;
		else if (*end == 'G')
			v <<= 30, end++;
		if (*end != ':')
			return -1;
		mem[n] = v;
		harts[n] = (unsigned)strtoul(end + 1, &end, 0);
		n++;
		if (*end == '/')
			end++;
		else if (*end)
			return -1;
		s = end;
	}
	return n;
}

static void topology_matches_qemu(struct test *t)
{
	const struct topo *tp = &boot_topo;
	uint64_t mem[TOPO_MAX_NODES];
	uint64_t base = 0x80000000ULL;
	unsigned harts[TOPO_MAX_NODES];
	unsigned hart = 0;
	int n, c;

	if (!kopts.expect[0]) {
		test_skip(t, "no expect= bootarg (the test runner passes it)");
		return;
	}
	n = parse_expect(kopts.expect, mem, harts, TOPO_MAX_NODES);
	ASSERT_GE(t, n, 1);
	/* the DT's nodes are the sockets; without an emulated mesh each is one cluster, the same */
	ASSERT_EQ(t, tp->nsockets, n);
	if (!tp->emulated)
		ASSERT_EQ(t, tp->nclusters, n);
	for (c = 0; c < n; c++) {
		const struct topo_socket *so = &tp->socket[c];

		EXPECT_EQ(t, so->mem.size, mem[c]);
		if (mem[c])
			EXPECT_EQ(t, so->mem.base, base);	/* QEMU lays node memories back to back */
		base += mem[c];
		EXPECT_EQ(t, so->nharts, harts[c]);
		if (harts[c]) {
			EXPECT_EQ(t, so->hart_lo, hart);	/* -numa node,cpus=a-b in node order */
			EXPECT_EQ(t, so->hart_hi, hart + harts[c] - 1);
		}
		hart += harts[c];
		if (!tp->emulated) {
			const struct topo_cluster *tc = &tp->cluster[c];

			EXPECT_EQ(t, tc->id, c);
			EXPECT_EQ(t, tc->socket, c);
			EXPECT_TRUE(t, tc->mem.base == so->mem.base && tc->mem.size == so->mem.size);
			EXPECT_TRUE(t, tc->nharts == so->nharts && tc->hart_lo == so->hart_lo && tc->hart_hi == so->hart_hi);
		}
	}
	EXPECT_EQ(t, tp->nharts, hart);
}

static void topology_distances(struct test *t)
{
	const struct topo *tp = &boot_topo;
	unsigned i, j;
	uint8_t want[TOPO_MAX_NODES][TOPO_MAX_NODES];
	const char *s = kopts.expect_dist;

	if (!kopts.expect[0]) {
		test_skip(t, "no expect= bootarg (the test runner passes it)");
		return;
	}
	for (i = 0; i < tp->nsockets; i++)
		for (j = 0; j < tp->nsockets; j++)
			want[i][j] = i == j ? 10 : 20;
	/* "0-1:20/0-2:30": symmetric pairs, missing pairs 20 (the runner's rule, and the kernel's default) */
	while (*s) {
		char *e;
		unsigned a = strtoul(s, &e, 10), b, d;

		ASSERT_EQ(t, *e, '-');
		b = strtoul(e + 1, &e, 10);
		ASSERT_EQ(t, *e, ':');
		d = strtoul(e + 1, &e, 10);
		ASSERT_TRUE(t, a < tp->nsockets && b < tp->nsockets);
		want[a][b] = want[b][a] = (uint8_t)d;
		s = *e == '/' ? e + 1 : e;
	}
	EXPECT_EQ(t, tp->has_distance_map, kopts.expect_dist[0] != 0);
	/* the sockets' rows are the DT's; the clusters' too unless the mesh is emulated (suite mesh checks it) */
	for (i = 0; i < tp->nsockets; i++)
		for (j = 0; j < tp->nsockets; j++) {
			EXPECT_EQ(t, tp->socket[i].dist[j], want[i][j]);
			if (!tp->emulated)
				EXPECT_EQ(t, tp->cluster[i].dist[j], want[i][j]);
		}
}

static void topology_reserved_firmware(struct test *t)
{
	const struct topo *tp = &boot_topo;
	unsigned i;
	int found = 0;

	/* OpenSBI's own region at the start of RAM must be reserved, and no heap may hand it out */
	for (i = 0; i < tp->nreserved; i++)
		if (tp->reserved[i].base <= 0x80000000ULL && tp->reserved[i].base + tp->reserved[i].size > 0x80000000ULL)
			found = 1;
	EXPECT_TRUE(t, found);
	/* reserved memory in a heap's span is interior to nothing the heap gave; outside every span, nobody's */
	EXPECT_ERR(t, heap_getsize((void *)0x80000000UL, &(size_t){ 0 }),
		   heap_owner((void *)0x80000000UL) ? ERR_INTERIOR : ERR_NOTOWNED);
}

static void topology_mesh(struct test *t)
{
	const struct topo *tp = &boot_topo;
	unsigned c, seen[TOPO_MESH_MAX][TOPO_MESH_MAX] = { { 0 } };

	EXPECT_GE(t, tp->mesh_x * tp->mesh_y, tp->nclusters);
	for (c = 0; c < tp->nclusters; c++) {
		const struct topo_cluster *tc = &tp->cluster[c];

		ASSERT_TRUE(t, tc->x < tp->mesh_x && tc->y < tp->mesh_y);
		EXPECT_EQ(t, seen[tc->x][tc->y], 0);
		seen[tc->x][tc->y] = 1;
		EXPECT_TRUE(t, kernel_heap[tc->x][tc->y] == heap_of(c));
		EXPECT_EQ(t, kernel_heap[tc->x][tc->y]->cluster, c);
	}
}

static void topology_all_harts_up(struct test *t)
{
	unsigned expect = boot_topo.nharts - (kopts.nohart != ~0ULL);

	EXPECT_EQ(t, smp_nharts(), expect);
}

TEST_SUITE(topology, TEST_CASE(topology_matches_qemu), TEST_CASE(topology_distances),
	   TEST_CASE(topology_reserved_firmware), TEST_CASE(topology_mesh), TEST_CASE(topology_all_harts_up));

/* ---- CLS ---- */

static uint32_t cls_bad[TOPO_MAX_HARTS];
static uint32_t cls_ran[TOPO_MAX_HARTS];

static int in_cluster_ram(unsigned c, uintptr_t a)
{
	const struct topo_range *m = &boot_topo.cluster[c].mem;

	return a >= m->base && a < m->base + m->size;
}

static void cls_check_self(void *arg)
{
	struct cls *c = cls_self();
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	unsigned i = c->index, bad = 0;
	const struct heap *own = heap_of(c->cluster);

	cls_ran[i]++;
	if (c->self != c)
		bad |= 1;
	if (boot_topo.hart[i].hartid != c->hartid || boot_topo.hart[i].cluster != c->cluster)
		bad |= 2;
	if (c->x != boot_topo.cluster[c->cluster].x || c->y != boot_topo.cluster[c->cluster].y)
		bad |= 4;
	/* CLS in the hart's own cluster when it has a heap; otherwise anywhere a heap owns */
	if (own->size ? !in_cluster_ram(c->cluster, (uintptr_t)c) : !heap_owner(c))
		bad |= 8;
	/* running on the stack CLS names (the boot hart keeps its static boot stack) */
	if (sp > c->stack_top || sp < c->stack_top - 16384)
		bad |= 16;
	if (mm_cpu_self() != &c->mm || c->mm.cluster != c->cluster)
		bad |= 32;
	cls_bad[i] = bad;
}

static void cls_on_every_hart(struct test *t)
{
	unsigned i, ran = 0;

	memset(cls_bad, 0, sizeof(cls_bad));
	memset(cls_ran, 0, sizeof(cls_ran));
	smp_call_all(cls_check_self, NULL);
	for (i = 0; i < boot_topo.nharts; i++) {
		if (!smp_hart_up(i))
			continue;
		EXPECT_EQ(t, cls_ran[i], 1);
		if (cls_bad[i])
			test_log("hart index %u: CLS check mask 0x%x", i, (unsigned)cls_bad[i]);
		EXPECT_EQ(t, cls_bad[i], 0);
		ran++;
	}
	EXPECT_EQ(t, ran, smp_nharts());
}

static void cls_distinct(struct test *t)
{
	unsigned i, j;

	for (i = 0; i < boot_topo.nharts; i++)
		for (j = i + 1; j < boot_topo.nharts; j++)
			if (cls_of(i) && cls_of(j))
				EXPECT_TRUE(t, cls_of(i) != cls_of(j) && cls_of(i)->stack_top != cls_of(j)->stack_top);
}

TEST_SUITE(cls, TEST_CASE(cls_on_every_hart), TEST_CASE(cls_distinct));

/* ---- SMP: call on every hart, barrier ---- */

static uint32_t counter;
static uint32_t barrier_errors;

static void count_once(void *arg)
{
	__atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
}

static void smp_call_all_runs_everywhere(struct test *t)
{
	counter = 0;
	smp_call_all(count_once, NULL);
	EXPECT_EQ(t, counter, smp_nharts());
	counter = 0;
	smp_call_n(2, count_once, NULL);
	EXPECT_EQ(t, counter, smp_nharts() < 2 ? smp_nharts() : 2);
}

#define PHASES 40

static void barrier_body(void *arg)
{
	unsigned n = smp_participants(), k;

	for (k = 0; k < PHASES; k++) {
		__atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
		smp_barrier();
		/* everyone has added k+1 times; nobody adds again before the second barrier */
		if (__atomic_load_n(&counter, __ATOMIC_RELAXED) != (k + 1) * n)
			__atomic_fetch_add(&barrier_errors, 1, __ATOMIC_RELAXED);
		smp_barrier();
	}
}

static void smp_barrier_phases(struct test *t)
{
	counter = 0;
	barrier_errors = 0;
	smp_call_all(barrier_body, NULL);
	EXPECT_EQ(t, barrier_errors, 0);
	EXPECT_EQ(t, counter, PHASES * smp_nharts());
}

/* ---- SMP: a call on a chosen set of harts ---- */

static uint32_t ran_on[TOPO_MAX_HARTS];		/* times each hart index ran the call */
static uint32_t set_bad;			/* a participant that saw the wrong participant count */

static void set_body(void *arg)
{
	const unsigned *want = arg;
	unsigned k;

	__atomic_fetch_add(&ran_on[cls_self()->index], 1, __ATOMIC_RELAXED);
	if (smp_participants() != *want)
		__atomic_fetch_add(&set_bad, 1, __ATOMIC_RELAXED);
	/* the barrier counts exactly the set: it must release, and after it everyone has added */
	for (k = 0; k < 4; k++) {
		__atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
		smp_barrier();
		if (__atomic_load_n(&counter, __ATOMIC_RELAXED) != (k + 1) * *want)
			__atomic_fetch_add(&set_bad, 1, __ATOMIC_RELAXED);
		smp_barrier();
	}
}

/* run set_body on @s; every hart of it (and no other) ran once, with the right count and barrier */
static void expect_set_ran(struct test *t, const struct hart_set *s)
{
	unsigned want = 0, i;

	for (i = 0; i < boot_topo.nharts; i++)
		want += smp_set_has(s, i) && smp_hart_up(i);
	memset(ran_on, 0, sizeof(ran_on));
	counter = 0;
	set_bad = 0;
	smp_call_set(s, set_body, &want);
	EXPECT_EQ(t, set_bad, 0);
	EXPECT_EQ(t, counter, 4 * want);
	for (i = 0; i < boot_topo.nharts; i++)
		TEST_CHECK_(t, ran_on[i] == (smp_set_has(s, i) && smp_hart_up(i)), (void)0,
			    "hart index %u ran the call %u times", i, ran_on[i]);
}

static void smp_call_set_per_cluster(struct test *t)
{
	struct hart_set s;
	static unsigned per[TOPO_MAX_CLUSTERS];	/* static: [TOPO_MAX_CLUSTERS] is too big for a hart stack */
	memset(per, 0, sizeof(per));
	unsigned c, n, with_harts = 0, i;

	for (c = 0; c < boot_topo.nclusters; c++)
		with_harts += boot_topo.cluster[c].nharts > 0;
	/* one per cluster: the call reaches every cluster, not the lowest indexes (all in cluster 0) */
	n = smp_set_per_cluster(&s, &boot_topo, 1);
	EXPECT_EQ(t, n, with_harts);
	EXPECT_EQ(t, smp_set_count(&s), n);
	for (i = 0; i < boot_topo.nharts; i++)
		if (smp_set_has(&s, i))
			per[boot_topo.hart[i].cluster]++;
	for (c = 0; c < boot_topo.nclusters; c++)
		EXPECT_EQ(t, per[c], boot_topo.cluster[c].nharts > 0);
	expect_set_ran(t, &s);
	/* two per cluster (or all a cluster has): exactly that many in each */
	n = smp_set_per_cluster(&s, &boot_topo, 2);
	EXPECT_EQ(t, smp_set_count(&s), n);
	memset(per, 0, sizeof(per));
	for (i = 0; i < boot_topo.nharts; i++)
		if (smp_set_has(&s, i))
			per[boot_topo.hart[i].cluster]++;
	for (c = 0, i = 0; c < boot_topo.nclusters; c++) {
		unsigned up = 0, h, want;

		for (h = 0; h < boot_topo.nharts; h++)
			up += boot_topo.hart[h].cluster == c && smp_hart_up(h);
		want = up < 2 ? up : 2;
		EXPECT_EQ(t, per[c], want);
		i += want;
	}
	EXPECT_EQ(t, n, i);
	expect_set_ran(t, &s);
}

static void smp_call_set_without_caller(struct test *t)
{
	unsigned me = cls_self()->index, i;
	struct hart_set s;

	if (smp_nharts() < 2) {
		test_skip(t, "one hart: no set without the caller");
		return;
	}
	/* every hart but the caller: the caller waits without running it */
	smp_set_clear(&s);
	for (i = 0; i < boot_topo.nharts; i++)
		if (i != me)
			smp_set_add(&s, i);
	expect_set_ran(t, &s);
	EXPECT_EQ(t, ran_on[me], 0);
	/* an empty set returns at once, running nothing */
	smp_set_clear(&s);
	expect_set_ran(t, &s);
}

TEST_SUITE(smp, TEST_CASE(smp_call_all_runs_everywhere), TEST_CASE(smp_barrier_phases),
	   TEST_CASE(smp_call_set_per_cluster), TEST_CASE(smp_call_set_without_caller));

/* ---- printk from every hart at once: whole lines, nothing lost ---- */

#define PRINTK_LINES 4
static const char payload[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static void printk_body(void *arg)
{
	unsigned k;

	for (k = 0; k < PRINTK_LINES; k++)
		printk("        # printk-test hart=%03u line=%u %s\n", cls_self()->index, k, payload);
}

static void printk_all_harts_whole_lines(struct test *t)
{
	static char buf[60 * 1024];
	static unsigned per_hart[TOPO_MAX_HARTS];
	uint64_t pos = printk_log_pos();
	char *line, *save;
	unsigned i, lines = 0, bad = 0;

	memset(per_hart, 0, sizeof(per_hart));
	smp_call_all(printk_body, NULL);
	printk_log_copy(pos, buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned h, k;
		char rest[64];

		if (sscanf(line, "        # printk-test hart=%u line=%u %63s", &h, &k, rest) != 3 ||
		    h >= TOPO_MAX_HARTS || k >= PRINTK_LINES || strcmp(rest, payload)) {
			bad++;
			continue;
		}
		per_hart[h]++;
		lines++;
	}
	EXPECT_EQ(t, bad, 0);
	EXPECT_EQ(t, lines, smp_nharts() * PRINTK_LINES);
	for (i = 0; i < boot_topo.nharts; i++)
		if (smp_hart_up(i))
			EXPECT_EQ(t, per_hart[i], PRINTK_LINES);
}

TEST_SUITE(printk, TEST_CASE(printk_all_harts_whole_lines));
