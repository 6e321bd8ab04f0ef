/* test_mesh.c - platform/mesh.c: emulated meshes over QEMU's real DTBs, every invariant, and bad input. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/cma.h"
#include "mm/cpu.h"
#include "mm/err.h"
#include "mm/heap.h"
#include "mm/mem.h"
#include "mm/mem_internal.h"
#include "platform/dt.h"
#include "platform/mesh.h"
#include "tests/host/host.h"
#include "tests/common/mem_cases.h"
#include "tests/test.h"

#define DTB_DIR "tests/host/dtb/"

static struct topo topo, orig;	/* ~80 KiB each: off the stack */
static char why[200];

/* load DTB_DIR/@name into orig (and topo); false, with a failed check, if it cannot be read or parsed */
static bool load(struct test *t, const char *name)
{
	char path[128], err[200];
	static char buf[1 << 16];
	FILE *f;
	size_t n;
	error_t e;

	snprintf(path, sizeof(path), DTB_DIR "%s", name);
	f = fopen(path, "rb");
	t->checks++;
	if (!f) {
		test_fail(t, __FILE__, __LINE__, "cannot open %s", path);
		return false;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	e = dt_parse_topology(buf, n, &orig, err, sizeof(err));
	EXPECT_OK(t, e);
	if (e) {
		test_log("%s: %s", name, err);
		return false;
	}
	topo = orig;
	return true;
}

static unsigned absdiff(unsigned a, unsigned b)
{
	return a > b ? a - b : b - a;
}

/*
 * check_mesh() - every promise of mesh_split() on topo (split from orig): cells and ids, socket blocks
 * that tile the mesh, RAM parts that partition each socket's RAM in block order (aligned, large enough,
 * as equal as 2 MiB units allow), harts kept in their socket and spread in order, and the distance
 * formula with its properties. Return: the number of violations.
 */
static unsigned check_mesh(struct test *t, unsigned x, unsigned y, unsigned hop)
{
	unsigned bad = 0, c, d, s, i, owner[TOPO_MAX_CLUSTERS];
	const struct topo *tp = &topo;

	bad += tp->nclusters != x * y || tp->mesh_x != x || tp->mesh_y != y || !tp->emulated || tp->hop != hop;
	bad += tp->nsockets != orig.nsockets || tp->nharts != orig.nharts;
	/* the blocks tile the mesh: every cell in exactly one, and that is its cluster's socket */
	for (c = 0; c < x * y; c++)
		owner[c] = ~0u;
	for (s = 0; s < tp->nsockets; s++) {
		const struct topo_socket *so = &tp->socket[s];
		unsigned xx, yy;

		bad += so->x0 >= so->x1 || so->y0 >= so->y1 || so->x1 > x || so->y1 > y;
		for (yy = so->y0; yy < so->y1 && yy < y; yy++)
			for (xx = so->x0; xx < so->x1 && xx < x; xx++) {
				bad += owner[yy * x + xx] != ~0u;
				owner[yy * x + xx] = s;
			}
	}
	for (c = 0; c < x * y; c++) {
		const struct topo_cluster *cl = &tp->cluster[c];

		bad += owner[c] == ~0u || cl->socket != owner[c];
		bad += cl->id != c || cl->x != c % x || cl->y != c / x;
	}
	/* RAM: each socket's parts, in row-major block order, are contiguous and cover it exactly */
	for (s = 0; s < tp->nsockets; s++) {
		const struct topo_socket *so = &tp->socket[s];
		uint64_t at = so->mem.base, lo = ~0ULL, hi = 0;
		unsigned xx, yy, k = 0;

		for (yy = so->y0; yy < so->y1; yy++)
			for (xx = so->x0; xx < so->x1; xx++) {
				const struct topo_cluster *cl = &tp->cluster[yy * x + xx];

				k++;
				if (!so->mem.size) {
					bad += cl->mem.size != 0;
					continue;
				}
				bad += cl->mem.base != at || cl->mem.size < MESH_MIN_MEM;
				if (at != so->mem.base)
					bad += (at & (MESH_ALIGN - 1)) != 0;	/* inner boundaries are 2 MiB-aligned */
				at = cl->mem.base + cl->mem.size;
				lo = cl->mem.size < lo ? cl->mem.size : lo;
				hi = cl->mem.size > hi ? cl->mem.size : hi;
			}
		if (so->mem.size) {
			bad += at != so->mem.base + so->mem.size;
			/* as equal as whole units allow: one unit apart, plus the head and tail bytes */
			bad += hi - lo > MESH_ALIGN + ((so->mem.base | so->mem.size) & (MESH_ALIGN - 1)) * 2;
		}
		/* harts: those of socket s, in order over its k clusters, spread as i * k / nh */
		{
			unsigned nh = orig.socket[s].nharts, seen = 0;

			for (i = 0; i < tp->nharts; i++) {
				unsigned hc = tp->hart[i].cluster, j;

				if (orig.hart[i].cluster != s)
					continue;
				bad += hc >= x * y || tp->cluster[hc].socket != s;
				j = seen++ * k / nh;
				bad += hc != (so->y0 + j / (so->x1 - so->x0)) * x + so->x0 + j % (so->x1 - so->x0);
			}
			bad += seen != nh;
		}
	}
	for (c = 0; c < x * y; c++) {
		const struct topo_cluster *cl = &tp->cluster[c];
		unsigned n = 0;

		for (i = 0; i < tp->nharts; i++)
			if (tp->hart[i].cluster == c) {
				bad += !n && tp->hart[i].hartid != cl->hart_lo;
				n++;
				if (n == cl->nharts)
					bad += tp->hart[i].hartid != cl->hart_hi;
			}
		bad += n != cl->nharts;
	}
	/* distances: 10 local, symmetric, the formula, >= the socket distance, hop-strict inside a socket */
	for (c = 0; c < x * y; c++)
		for (d = 0; d < x * y; d++) {
			const struct topo_cluster *a = &tp->cluster[c], *b = &tp->cluster[d];
			unsigned h = absdiff(a->x, b->x) + absdiff(a->y, b->y), sd, want;

			sd = a->socket == b->socket ? 10 : orig.socket[a->socket].dist[b->socket];
			if (a->socket != b->socket && orig.socket[b->socket].dist[a->socket] > sd)
				sd = orig.socket[b->socket].dist[a->socket];
			want = sd + hop * h > 255 ? 255 : sd + hop * h;
			bad += a->dist[d] != want || a->dist[d] != b->dist[c] || a->dist[d] != mesh_distance(tp, c, d);
			bad += (c == d) != (a->dist[d] == 10);
			bad += a->socket != b->socket && a->dist[d] < sd;
			bad += a->socket == b->socket && a->dist[d] != 10 + hop * h;
		}
	if (bad)
		test_log("mesh %ux%u hop=%u over %u sockets: %u violations", x, y, hop, tp->nsockets, bad);
	t->checks++;
	return bad;
}

/* every DTB, every mesh from 2x1 to 16x16 whose parts are large enough: split, then every invariant */
static void mesh_split_invariants(struct test *t)
{
	static const char *const dtbs[] = { "plain.dtb", "numa2.dtb", "numa4.dtb", "memless.dtb", "big128.dtb" };
	unsigned i, x, y, ok = 0, refused = 0;

	for (i = 0; i < sizeof(dtbs) / sizeof(dtbs[0]); i++) {
		if (!load(t, dtbs[i]))
			continue;
		for (x = 1; x <= TOPO_MESH_MAX; x++)
			for (y = 1; y <= TOPO_MESH_MAX; y++) {
				unsigned hop = 1 + (x + y) % MESH_HOP_MAX;
				error_t e;

				if (x * y <= orig.nsockets)
					continue;
				topo = orig;
				e = mesh_split(&topo, x, y, hop, why, sizeof(why));
				if (e) {
					/* refused: one line, and the topology as it was */
					EXPECT_ERR(t, e, ERR_RANGE);
					EXPECT_TRUE(t, why[0] && !strchr(why, '\n'));
					EXPECT_TRUE(t, !memcmp(&topo, &orig, sizeof(topo)));
					refused++;
					continue;
				}
				EXPECT_EQ(t, check_mesh(t, x, y, hop), 0);
				ok++;
			}
	}
	test_log("%u meshes split and checked, %u refused", ok, refused);
	EXPECT_GE(t, ok, 500);
}

static void expect_block(struct test *t, unsigned s, unsigned x0, unsigned x1, unsigned y0, unsigned y1)
{
	const struct topo_socket *so = &topo.socket[s];

	TEST_CHECK_(t, so->x0 == x0 && so->x1 == x1 && so->y0 == y0 && so->y1 == y1, (void)0,
		    "socket %u: block x %u..%u y %u..%u, want x %u..%u y %u..%u", s, so->x0, so->x1, so->y0, so->y1,
		    x0, x1, y0, y1);
}

/* the documented tiling for 1, 2, 3 and 4 sockets, and the 8x8 / 16x16 machines of the matrix */
static void mesh_split_rules(struct test *t)
{
	unsigned c, n;

	/* 1 socket: the whole mesh; 4x4 of 256M: 16 MiB each, harts 0 -> cluster 0 */
	if (load(t, "plain.dtb")) {
		ASSERT_OK(t, mesh_split(&topo, 4, 4, 2, why, sizeof(why)));
		expect_block(t, 0, 0, 4, 0, 4);
		for (c = 0; c < 16; c++)
			EXPECT_EQ(t, topo.cluster[c].mem.size, orig.socket[0].mem.size / 16);
		EXPECT_EQ(t, topo.cluster[0].nharts, orig.socket[0].nharts);
		EXPECT_EQ(t, topo.cluster[15].dist[0], 10 + 2 * 6);
	}
	/* 2 sockets: left and right halves */
	if (load(t, "numa2.dtb")) {
		ASSERT_OK(t, mesh_split(&topo, 4, 2, 3, why, sizeof(why)));
		expect_block(t, 0, 0, 2, 0, 2);
		expect_block(t, 1, 2, 4, 0, 2);
		EXPECT_EQ(t, topo.cluster[2].socket, 1);
		EXPECT_EQ(t, topo.cluster[1].dist[2], 20 + 3);	/* neighbours across the border */
		EXPECT_EQ(t, topo.cluster[0].dist[1], 10 + 3);
	}
	/* 3 sockets: 0 | 1 above, 2 across the bottom (the memoryless DTB has 4: take 3 of numa4's) */
	if (load(t, "numa4.dtb")) {
		orig.nsockets = 3;
		topo = orig;
		ASSERT_OK(t, mesh_split(&topo, 4, 4, 2, why, sizeof(why)));
		expect_block(t, 0, 0, 2, 0, 2);
		expect_block(t, 1, 2, 4, 0, 2);
		expect_block(t, 2, 0, 4, 2, 4);
	}
	/* 4 sockets: quadrants; numa4's distance map (0-3:40) is kept between sockets */
	if (load(t, "numa4.dtb")) {
		ASSERT_OK(t, mesh_split(&topo, 8, 8, 2, why, sizeof(why)));
		expect_block(t, 0, 0, 4, 0, 4);
		expect_block(t, 1, 4, 8, 0, 4);
		expect_block(t, 2, 0, 4, 4, 8);
		expect_block(t, 3, 4, 8, 4, 8);
		EXPECT_EQ(t, topo.cluster[0].dist[63], orig.socket[0].dist[3] + 2 * 14);
		EXPECT_EQ(t, check_mesh(t, 8, 8, 2), 0);
	}
	/* 4 sockets x 32 harts on 8x8: 64 clusters, 2 harts each; on 16x16: every other cluster has one */
	if (load(t, "big128.dtb")) {
		ASSERT_OK(t, mesh_split(&topo, 8, 8, 2, why, sizeof(why)));
		for (c = 0; c < 64; c++)
			EXPECT_EQ(t, topo.cluster[c].nharts, 2);
		EXPECT_EQ(t, topo.cluster[0].hart_lo, 0);
		EXPECT_EQ(t, topo.cluster[1].hart_lo, 2);
		EXPECT_EQ(t, topo.cluster[4].hart_lo, 32);	/* (4,0): socket 1's first */
		topo = orig;
		ASSERT_OK(t, mesh_split(&topo, 16, 16, 2, why, sizeof(why)));
		for (c = n = 0; c < 256; c++)
			n += topo.cluster[c].nharts == 0;
		EXPECT_EQ(t, n, 128);
		EXPECT_EQ(t, topo.cluster[0].nharts, 1);
		EXPECT_EQ(t, topo.cluster[1].nharts, 0);
		EXPECT_EQ(t, topo.cluster[0].dist[255], 20 + 2 * 30);
	}
	/* a memoryless socket gives memoryless clusters that keep their harts */
	if (load(t, "memless.dtb")) {
		ASSERT_OK(t, mesh_split(&topo, 4, 4, 2, why, sizeof(why)));
		for (c = 0; c < 16; c++)
			if (topo.cluster[c].socket == 3)
				EXPECT_EQ(t, topo.cluster[c].mem.size, 0);
		EXPECT_EQ(t, topo.cluster[10].nharts + topo.cluster[14].nharts, 2);
	}
}

/* refused(): mesh_split()/mesh_apply() refuse with ERR_RANGE, a line containing @what, @topo unchanged */
static void refused_(struct test *t, int line, error_t e, const char *what)
{
	t->checks++;
	if (e != ERR_RANGE || !strstr(why, what) || strchr(why, '\n') || memcmp(&topo, &orig, sizeof(topo)))
		test_fail(t, __FILE__, line, "want ERR_RANGE and '%s', got %d '%s'%s", what, e, why,
			  memcmp(&topo, &orig, sizeof(topo)) ? " (topology changed)" : "");
}
#define refused(t, e, what) refused_(t, __LINE__, e, what)

static void mesh_split_bad_input(struct test *t)
{
	if (!load(t, "numa4.dtb"))
		return;
	/* a side over 16, or 0; more than 256 clusters cannot be asked for with sides of 16 at most */
	refused(t, mesh_split(&topo, 17, 4, 2, why, sizeof(why)), "each side must be 1..16");
	refused(t, mesh_split(&topo, 32, 16, 2, why, sizeof(why)), "each side must be 1..16");
	refused(t, mesh_split(&topo, 0, 4, 2, why, sizeof(why)), "each side must be 1..16");
	EXPECT_ERR(t, topo_parse_mesh("17x16", &(unsigned){ 0 }, &(unsigned){ 0 }), ERR_RANGE);
	/* fewer cells than nodes */
	refused(t, mesh_split(&topo, 3, 1, 2, why, sizeof(why)), "3 cells for 4 NUMA nodes");
	refused(t, mesh_apply(&topo, 1, 2, 2, why, sizeof(why)), "2 cells for 4 NUMA nodes");
	/* a hop out of range */
	refused(t, mesh_split(&topo, 4, 4, 0, why, sizeof(why)), "hop=0");
	refused(t, mesh_split(&topo, 4, 4, MESH_HOP_MAX + 1, why, sizeof(why)), "a hop costs 1..8");
	/* a side the sockets' grid cannot tile: 4 sockets in a 2x2 grid need 2 rows */
	refused(t, mesh_split(&topo, 8, 1, 2, why, sizeof(why)), "need at least 2x2 cells");
	/* numa4's nodes 2 and 3 have 128M: 64 clusters of them are 2M each (fine), 16x16 of 64M are not */
	orig.socket[2].mem.size = 64 << 20;
	topo = orig;
	refused(t, mesh_split(&topo, 16, 16, 2, why, sizeof(why)), "socket 2 has 64M for 64 clusters: 1M each, below the 2M minimum");
	/* once emulated, a topology is not split again; the same count of cells keeps today's meaning */
	topo = orig;
	ASSERT_OK(t, mesh_split(&topo, 4, 4, 2, why, sizeof(why)));
	EXPECT_ERR(t, mesh_split(&topo, 8, 8, 2, why, sizeof(why)), ERR_INVAL);
	EXPECT_ERR(t, mesh_apply(&topo, 4, 4, 2, why, sizeof(why)), ERR_INVAL);
	EXPECT_ERR(t, topo_set_mesh(&topo, 4, 4), ERR_INVAL);
	topo = orig;
	EXPECT_OK(t, mesh_apply(&topo, 4, 1, 2, why, sizeof(why)));
	EXPECT_EQ(t, topo.emulated, 0);
	EXPECT_EQ(t, topo.nclusters, 4);
	EXPECT_EQ(t, topo.cluster[3].x, 3);
	EXPECT_ERR(t, mesh_split(NULL, 4, 4, 2, why, sizeof(why)), ERR_INVAL);
}

/* the cluster line of an emulated mesh: harts=- for hart-less clusters, the socket, a distance summary */
static void mesh_describe(struct test *t)
{
	char buf[256];

	if (!load(t, "numa4.dtb"))
		return;
	ASSERT_OK(t, mesh_split(&topo, 16, 16, 2, why, sizeof(why)));
	topo_describe_cluster(&topo, 17, buf, sizeof(buf));
	EXPECT_TRUE(t, !strcmp(buf, "cluster=17 x=1 y=1 harts=- mem=0x84800000+0x800000 dist=12..96/hop=2 socket=0"));
	test_log("%s", buf);
}

/* ---- the policy at scale: mm/ over an emulated 8x8 mesh of host memory ---- */

/*
 * One socket of 128 MiB (a host arena) split 8x8: 64 clusters of 2 MiB, hop 2, harts 0..7 in clusters
 * 0, 8, ..., 56. The heaps, regions and proximities are the kernel's own files, under ASan.
 */
#define PM_X 8
#define PM_ARENA ((size_t)128 << 20)
static void *pm_arena;

static bool pm_init(struct test *t)
{
	unsigned i;

	if (!pm_arena && !(pm_arena = aligned_alloc(MESH_ALIGN, PM_ARENA)))
		return false;
	memset(&orig, 0, sizeof(orig));
	orig.nclusters = orig.nsockets = 1;
	orig.mesh_x = orig.mesh_y = 1;
	orig.cluster[0].mem = orig.socket[0].mem = (struct topo_range){ (uintptr_t)pm_arena, PM_ARENA };
	orig.cluster[0].dist[0] = orig.socket[0].dist[0] = 10;
	orig.nharts = 8;
	orig.cluster[0].nharts = orig.socket[0].nharts = 8;
	orig.cluster[0].hart_hi = orig.socket[0].hart_hi = 7;
	for (i = 0; i < 8; i++)
		orig.hart[i] = (struct topo_hart){ i, 0 };
	topo = orig;
	TEST_ERR_(t, mesh_split(&topo, PM_X, PM_X, 2, why, sizeof(why)), 0, return false);
	cma_reset();
	TEST_ERR_(t, heap_init_all(&topo, NULL, 0, NULL), 0, return false);
	TEST_ERR_(t, mem_init(&topo, 0), 0, return false);
	host_set_self(0);
	mem_cpu_init(mm_cpu_self(), 0, topo.hart[0].cluster);
	return true;
}

static struct tc_blk *pm_held;

static void pm_fill(unsigned c)
{
	(void)tc_fill_strict(c, &pm_held);
}

static unsigned pm_release(void)
{
	unsigned bad = tc_blk_free_all(&pm_held);

	mem_drain();
	return bad;
}

/* the orders: every cluster with memory once, by (distance, id); rings where the distance changes */
static void mesh_policy_ring_orders(struct test *t)
{
	static unsigned order[TOPO_MAX_CLUSTERS], ring[TOPO_MAX_CLUSTERS];
	unsigned c, i, n, nr, r;

	if (!pm_init(t))
		return;
	for (c = 0; c < topo.nclusters; c++) {
		struct topo_set seen = { { 0 } };

		n = mem_prox_order(c, order, TOPO_MAX_CLUSTERS);
		nr = mem_prox_rings(c, ring, TOPO_MAX_CLUSTERS);
		EXPECT_EQ(t, n, 64);
		EXPECT_EQ(t, order[0], c);
		for (i = 0; i < n; i++) {
			EXPECT_FALSE(t, topo_set_has(&seen, order[i]));
			topo_set_add(&seen, order[i]);
			if (i) {
				unsigned a = topo.cluster[c].dist[order[i - 1]], b = topo.cluster[c].dist[order[i]];

				EXPECT_TRUE(t, a < b || (a == b && order[i - 1] < order[i]));
			}
		}
		for (r = 0; r < nr; r++) {
			unsigned lo = ring[r], hi = r + 1 < nr ? ring[r + 1] : n;

			/* one ring = one distance = one number of hops on one socket */
			for (i = lo; i < hi; i++)
				EXPECT_EQ(t, topo.cluster[c].dist[order[i]], 10 + 2 * r);
			EXPECT_TRUE(t, r == 0 || topo.cluster[c].dist[order[lo]] > topo.cluster[c].dist[order[lo - 1]]);
		}
		/* corner to corner: 14 hops, 15 rings; the centre (3,3) has 4 neighbours in ring 1 */
		if (c == 0)
			EXPECT_EQ(t, nr, 15);
		if (c == 3 * PM_X + 3)
			EXPECT_EQ(t, ring[2] - ring[1], 4);
	}
}

/*
 * From the centre: fill it, then ring after ring. Each 64 KiB answer comes from the nearest ring that
 * is not full, from its most free cluster, with the ring's first position as rank; inside a ring of
 * equally free clusters successive answers go round-robin (no cluster twice before each had one).
 */
static void mesh_policy_nearest_ring(struct test *t)
{
	static unsigned order[TOPO_MAX_CLUSTERS], ring[TOPO_MAX_CLUSTERS];
	unsigned c = 3 * PM_X + 3, n, nr, r, j;
	struct mem_receipt rc;
	void *p;

	if (!pm_init(t))
		return;
	n = mem_prox_order(c, order, TOPO_MAX_CLUSTERS);
	nr = mem_prox_rings(c, ring, TOPO_MAX_CLUSTERS);
	pm_fill(c);
	for (r = 1; r < nr; r++) {
		unsigned lo = ring[r], hi = r + 1 < nr ? ring[r + 1] : n, d = 10 + 2 * r;
		struct topo_set got = { { 0 } };
		uint64_t most = 0;

		for (j = lo; j < hi; j++)
			most = heap_free_bytes(order[j]) > most ? heap_free_bytes(order[j]) : most;
		for (j = lo; j < hi; j++) {
			ASSERT_OK(t, mem_alloc_receipt(64 << 10, mem_prox_cluster(c), MEM_VALID_SYS, &p, &rc));
			tc_blk_push(&pm_held, p);
			EXPECT_EQ(t, topo.cluster[c].dist[rc.cluster], d);
			EXPECT_EQ(t, rc.rank, lo);
			EXPECT_TRUE(t, rc.fallback);
			if (j == lo)
				EXPECT_EQ(t, heap_free_bytes(rc.cluster) + (64 << 10), most);
			/* equally free at the start: each of the ring once, round-robin over the most free */
			EXPECT_FALSE(t, topo_set_has(&got, rc.cluster));
			topo_set_add(&got, rc.cluster);
			EXPECT_TRUE(t, (uintptr_t)p - topo.cluster[rc.cluster].mem.base < topo.cluster[rc.cluster].mem.size);
		}
		for (j = lo; j < hi; j++)
			pm_fill(order[j]);
	}
	/* all full: ERR_NOMEM, nothing written, and only the counters moved */
	p = NULL;
	EXPECT_ERR(t, mem_alloc(64 << 10, mem_prox_cluster(c), MEM_VALID_SYS, &p), ERR_NOMEM);
	EXPECT_ERR(t, mem_alloc(64, mem_prox_global(), MEM_VALID_SYS, &p), ERR_NOMEM);
	EXPECT_TRUE(t, p == NULL);
	EXPECT_EQ(t, pm_release(), 0);
	for (j = 0; j < topo.nclusters; j++)
		EXPECT_EQ(t, heap_free_bytes(j), heap_of(j)->boot_free);
}

/* remote frees for 63 owners from one hart: the shared body (tests/common/mem_cases.c), 3 blocks each */
static void mesh_policy_remote_slots(struct test *t)
{
	unsigned c, most, owners;

	if (!pm_init(t))
		return;
	owners = tc_mem_remote_slots(t, 3, &most);
	EXPECT_EQ(t, owners, 63);
	EXPECT_GT(t, owners, MM_REMOTE_SLOTS);	/* more owners than slots: the case is about evictions */
	for (c = 0; c < topo.nclusters; c++) {
		EXPECT_EQ(t, heap_free_bytes(c), heap_of(c)->boot_free);
		EXPECT_OK(t, heap_check(heap_of(c), why, sizeof(why)));
	}
}

TEST_SUITE(host_mesh_policy, TEST_CASE(mesh_policy_ring_orders), TEST_CASE(mesh_policy_nearest_ring),
	   TEST_CASE(mesh_policy_remote_slots));

TEST_SUITE(host_mesh, TEST_CASE(mesh_split_invariants), TEST_CASE(mesh_split_rules), TEST_CASE(mesh_split_bad_input),
	   TEST_CASE(mesh_describe));
