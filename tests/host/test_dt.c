/* test_dt.c - platform/dt.c on QEMU's real DTBs (tests/host/dtb/), on edited and broken copies, and fuzzed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "mm/err.h"
#include "platform/dt.h"
#include "tests/test.h"

/*
 * The DTBs were saved from QEMU 7.2 `virt` after OpenSBI 1.1 fixed them up (what the kernel gets in a1;
 * OpenSBI adds /reserved-memory/mmode_resv0@80000000). tests/host/dtb/dump.py regenerates them.
 * The host tests run from the repository root.
 */
#define DTB_DIR "tests/host/dtb/"
#define EDIT_ROOM 16384		/* free space added to edited copies for new properties/nodes */

static struct topo topo;	/* ~2.7 KiB: kept off the stack of each case */
static char msg[256];

/* dtb_load() - read DTB_DIR/@name into a malloc'd buffer; fails the case's check if missing. */
static void *dtb_load(struct test *t, const char *name, size_t *len)
{
	char path[128];
	FILE *f;
	long n;
	void *buf;

	snprintf(path, sizeof(path), DTB_DIR "%s", name);
	f = fopen(path, "rb");
	t->checks++;
	if (!f) {
		test_fail(t, __FILE__, __LINE__, "cannot open %s (run from the repo root; regenerate: python3 %s)",
			  path, DTB_DIR "dump.py");
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = n > 0 ? malloc((size_t)n) : NULL;
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		test_fail(t, __FILE__, __LINE__, "cannot read %s", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* dtb_edit() - a writable copy of DTB_DIR/@name with EDIT_ROOM bytes to spare (NULL if missing). */
static void *dtb_edit(struct test *t, const char *name)
{
	size_t len;
	void *blob = dtb_load(t, name, &len), *buf;

	if (!blob)
		return NULL;
	buf = malloc(len + EDIT_ROOM);
	if (fdt_open_into(blob, buf, (int)(len + EDIT_ROOM)) != 0) {
		test_fail(t, __FILE__, __LINE__, "fdt_open_into(%s) failed", name);
		free(buf);
		buf = NULL;
	}
	free(blob);
	return buf;
}

static error_t parse(const void *fdt)
{
	msg[0] = '\0';
	return dt_parse_topology(fdt, fdt_totalsize(fdt), &topo, msg, sizeof(msg));
}

/* node() - offset of @path in @fdt, -1 (and a failure) if absent: edits then fail loudly. */
static int node_(struct test *t, int line, void *fdt, const char *path)
{
	int off = fdt_path_offset(fdt, path);

	t->checks++;
	if (off < 0)
		test_fail(t, __FILE__, line, "test DTB has no %s", path);
	return off;
}
#define node(t, fdt, path) node_(t, __LINE__, fdt, path)

/* libfdt edits must succeed (the copy has room) */
#define EDIT_OK(t, call) EXPECT_EQ(t, (call), 0)

/*
 * expect_fail() - parsing @fdt fails with @want and the message contains @w1 and @w2 (NULL: not checked),
 * and the topology was zeroed.
 */
static void expect_fail_(struct test *t, int line, const void *fdt, error_t want, const char *w1,
			 const char *w2)
{
	error_t e = parse(fdt);

	t->checks++;
	if (e != want)
		test_fail(t, __FILE__, line, "parse returned %d (%s), expected %d (%s); message '%s'", e,
			  err_str(e), want, err_str(want), msg);
	else if ((w1 && !strstr(msg, w1)) || (w2 && !strstr(msg, w2)))
		test_fail(t, __FILE__, line, "message '%s' lacks '%s' / '%s'", msg, w1, w2 ? w2 : "");
	else if (topo.nclusters || topo.nharts)
		test_fail(t, __FILE__, line, "topology not cleared after an error");
}
#define expect_fail(t, fdt, want, w1, w2) expect_fail_(t, __LINE__, fdt, want, w1, w2)

static void expect_line_(struct test *t, int line, unsigned c, const char *want)
{
	char buf[256];

	topo_describe_cluster(&topo, c, buf, sizeof(buf));
	t->checks++;
	if (strcmp(buf, want))
		test_fail(t, __FILE__, line, "cluster %u: got '%s', want '%s'", c, buf, want);
}
#define expect_line(t, c, want) expect_line_(t, __LINE__, c, want)

/*
 * check_invariants() - what any successful parse promises: counts within limits, dense cluster ids,
 * harts sorted and unique with valid clusters whose counts and lo/hi agree, the mesh covers every
 * cluster, distances are 10 on the diagonal, bootargs NUL-terminated. Return: number of violations.
 */
static int check_invariants(const struct topo *tp)
{
	unsigned i, c, cnt[TOPO_MAX_CLUSTERS] = { 0 };
	int bad = 0;

	bad += tp->nclusters < 1 || tp->nclusters > TOPO_MAX_CLUSTERS;
	bad += tp->nharts < 1 || tp->nharts > TOPO_MAX_HARTS;
	bad += tp->nreserved > TOPO_MAX_RESERVED;
	bad += tp->mesh_x * tp->mesh_y < tp->nclusters || tp->mesh_x > TOPO_MESH_MAX || tp->mesh_y > TOPO_MESH_MAX;
	bad += !memchr(tp->bootargs, '\0', sizeof(tp->bootargs));
	if (bad)
		return bad;
	for (i = 0; i < tp->nharts; i++) {
		bad += tp->hart[i].cluster >= tp->nclusters;
		bad += i && tp->hart[i].hartid <= tp->hart[i - 1].hartid;
		if (tp->hart[i].cluster < tp->nclusters)
			cnt[tp->hart[i].cluster]++;
	}
	for (c = 0; c < tp->nclusters; c++) {
		const struct topo_cluster *cl = &tp->cluster[c];

		bad += cl->id != c || cl->nharts != cnt[c] || cl->dist[c] != 10;
		bad += cl->x != c % tp->mesh_x || cl->y != c / tp->mesh_x;
		bad += cl->nharts && cl->hart_lo > cl->hart_hi;
		bad += cl->mem.size && cl->mem.base + cl->mem.size - 1 < cl->mem.base;
	}
	return bad;
}

/* ---- the real DTBs ---- */

struct dtb_want {
	const char *file;
	unsigned nclusters, mesh_x, mesh_y, nharts;
	int has_distance_map;
	uint64_t fw_size;	/* OpenSBI's mmode_resv0@80000000 */
	const char *bootargs;
	const char *lines[TOPO_MAX_CLUSTERS];
};

static const struct dtb_want real_dtbs[] = {
	{ "plain.dtb", 1, 1, 1, 1, 0, 0x80000, "",
	  { "cluster=0 x=0 y=0 harts=0 mem=0x80000000+0x10000000 dist=10 socket=0" } },
	{ "numa2.dtb", 2, 2, 1, 4, 0, 0x80000, "",
	  { "cluster=0 x=0 y=0 harts=0-1 mem=0x80000000+0x10000000 dist=10,20 socket=0",
	    "cluster=1 x=1 y=0 harts=2-3 mem=0x90000000+0x10000000 dist=20,10 socket=1" } },
	{ "numa4.dtb", 4, 2, 2, 8, 1, 0x80000, "test=dt mesh=2x2 console=uart",
	  { "cluster=0 x=0 y=0 harts=0-1 mem=0x80000000+0x20000000 dist=10,20,30,40 socket=0",
	    "cluster=1 x=1 y=0 harts=2-3 mem=0xa0000000+0x10000000 dist=20,10,20,30 socket=1",
	    "cluster=2 x=0 y=1 harts=4-5 mem=0xb0000000+0x8000000 dist=30,20,10,20 socket=2",
	    "cluster=3 x=1 y=1 harts=6-7 mem=0xb8000000+0x8000000 dist=40,30,20,10 socket=3" } },
	{ "memless.dtb", 4, 2, 2, 8, 0, 0x80000, "",
	  { "cluster=0 x=0 y=0 harts=0-1 mem=0x80000000+0x10000000 dist=10,20,20,20 socket=0",
	    "cluster=1 x=1 y=0 harts=2-3 mem=0x90000000+0x10000000 dist=20,10,20,20 socket=1",
	    "cluster=2 x=0 y=1 harts=4-5 mem=0xa0000000+0x10000000 dist=20,20,10,20 socket=2",
	    "cluster=3 x=1 y=1 harts=6-7 mem=0xb0000000+0x0 dist=20,20,20,10 socket=3" } },
	{ "high.dtb", 2, 2, 1, 4, 0, 0x80000, "",
	  { "cluster=0 x=0 y=0 harts=0-1 mem=0x80000000+0x80000000 dist=10,20 socket=0",
	    "cluster=1 x=1 y=0 harts=2-3 mem=0x100000000+0x80000000 dist=20,10 socket=1" } },
	{ "big128.dtb", 4, 2, 2, 128, 0, 0x200000, "",
	  { "cluster=0 x=0 y=0 harts=0-31 mem=0x80000000+0x20000000 dist=10,20,20,20 socket=0",
	    "cluster=1 x=1 y=0 harts=32-63 mem=0xa0000000+0x20000000 dist=20,10,20,20 socket=1",
	    "cluster=2 x=0 y=1 harts=64-95 mem=0xc0000000+0x20000000 dist=20,20,10,20 socket=2",
	    "cluster=3 x=1 y=1 harts=96-127 mem=0xe0000000+0x20000000 dist=20,20,20,10 socket=3" } },
};

static void check_real(struct test *t, const struct dtb_want *w)
{
	size_t len;
	void *blob = dtb_load(t, w->file, &len);
	unsigned c, i;
	error_t e;

	if (!blob)
		return;
	e = dt_parse_topology(blob, len, &topo, msg, sizeof(msg));
	EXPECT_OK(t, e);
	if (e) {
		test_log("%s: %s", w->file, msg);
		free(blob);
		return;
	}
	EXPECT_EQ(t, topo.nclusters, w->nclusters);
	EXPECT_EQ(t, topo.mesh_x, w->mesh_x);
	EXPECT_EQ(t, topo.mesh_y, w->mesh_y);
	EXPECT_EQ(t, topo.nharts, w->nharts);
	EXPECT_EQ(t, topo.has_distance_map, w->has_distance_map);
	EXPECT_EQ(t, check_invariants(&topo), 0);
	for (c = 0; c < w->nclusters; c++)
		expect_line(t, c, w->lines[c]);
	/* QEMU numbers harts 0..n-1 and gives node k the k-th block of n / nodes */
	for (i = 0; i < topo.nharts; i++) {
		EXPECT_EQ(t, topo.hart[i].hartid, i);
		EXPECT_EQ(t, topo.hart[i].cluster, i / (w->nharts / w->nclusters));
	}
	EXPECT_EQ(t, topo.nreserved, 1);
	EXPECT_EQ(t, topo.reserved[0].base, 0x80000000u);
	EXPECT_EQ(t, topo.reserved[0].size, w->fw_size);
	EXPECT_EQ(t, topo.uart_base, 0x10000000u);
	EXPECT_EQ(t, topo.uart_reg_shift, 0);
	EXPECT_EQ(t, topo.test_dev_base, 0x100000u);
	EXPECT_EQ(t, topo.timebase_hz, 10000000u);
	EXPECT_TRUE(t, strcmp(topo.bootargs, w->bootargs) == 0);
	/* the same blob with room to spare parses the same (maxlen only bounds) */
	{
		void *big = malloc(len + 4096);

		memcpy(big, blob, len);
		EXPECT_OK(t, dt_parse_topology(big, len + 4096, &topo, msg, sizeof(msg)));
		EXPECT_EQ(t, topo.nharts, w->nharts);
		free(big);
	}
	free(blob);
}

static void dt_plain(struct test *t) { check_real(t, &real_dtbs[0]); }
static void dt_numa2(struct test *t) { check_real(t, &real_dtbs[1]); }
static void dt_numa4_distance_map(struct test *t) { check_real(t, &real_dtbs[2]); }
static void dt_memoryless_node(struct test *t) { check_real(t, &real_dtbs[3]); }
static void dt_ram_above_4g(struct test *t) { check_real(t, &real_dtbs[4]); }
static void dt_128_harts(struct test *t) { check_real(t, &real_dtbs[5]); }

/* ---- edited copies: what a firmware or another machine could give ---- */

static void dt_disabled_cpu_skipped(struct test *t)
{
	void *f = dtb_edit(t, "numa4.dtb");

	ASSERT_TRUE(t, f);
	EDIT_OK(t, fdt_setprop_string(f, node(t, f, "/cpus/cpu@5"), "status", "disabled"));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.nharts, 7);
	expect_line(t, 2, "cluster=2 x=0 y=1 harts=4 mem=0xb0000000+0x8000000 dist=30,20,10,20 socket=2");
	EXPECT_EQ(t, topo.hart[5].hartid, 6);
	EDIT_OK(t, fdt_setprop_string(f, node(t, f, "/cpus/cpu@4"), "status", "fail"));
	EXPECT_OK(t, parse(f));
	expect_line(t, 2, "cluster=2 x=0 y=1 harts=- mem=0xb0000000+0x8000000 dist=30,20,10,20 socket=2");
	free(f);
}

static void dt_no_numa_is_one_cluster(struct test *t)
{
	void *f = dtb_edit(t, "numa2.dtb");
	static const char *const nodes[] = { "/memory@80000000", "/memory@90000000", "/cpus/cpu@0",
					     "/cpus/cpu@1", "/cpus/cpu@2", "/cpus/cpu@3" };
	unsigned i;

	ASSERT_TRUE(t, f);
	for (i = 0; i < 6; i++)
		EDIT_OK(t, fdt_delprop(f, node(t, f, nodes[i]), "numa-node-id"));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.nclusters, 1);
	EXPECT_EQ(t, topo.mesh_x * topo.mesh_y, 1);
	/* the two contiguous banks merge into one range */
	expect_line(t, 0, "cluster=0 x=0 y=0 harts=0-3 mem=0x80000000+0x20000000 dist=10 socket=0");
	free(f);
}

static void dt_memory_ranges_merge_or_fail(struct test *t)
{
	void *f = dtb_edit(t, "plain.dtb");
	int mem;
	fdt32_t two[8] = { cpu_to_fdt32(0), cpu_to_fdt32(0x88000000), cpu_to_fdt32(0), cpu_to_fdt32(0x8000000),
			   cpu_to_fdt32(0), cpu_to_fdt32(0x80000000), cpu_to_fdt32(0), cpu_to_fdt32(0x8000000) };

	ASSERT_TRUE(t, f);
	mem = node(t, f, "/memory@80000000");
	/* two abutting ranges given high first: merged */
	EDIT_OK(t, fdt_setprop(f, mem, "reg", two, sizeof(two)));
	EXPECT_OK(t, parse(f));
	expect_line(t, 0, "cluster=0 x=0 y=0 harts=0 mem=0x80000000+0x10000000 dist=10 socket=0");
	/* a hole between them */
	two[1] = cpu_to_fdt32(0x90000000);
	EDIT_OK(t, fdt_setprop(f, mem, "reg", two, sizeof(two)));
	expect_fail(t, f, ERR_CORRUPT, "not contiguous", "memory@80000000");
	/* overlapping */
	two[1] = cpu_to_fdt32(0x84000000);
	EDIT_OK(t, fdt_setprop(f, mem, "reg", two, sizeof(two)));
	expect_fail(t, f, ERR_CORRUPT, "overlaps", NULL);
	/* reg length not a multiple of (2+2) cells */
	EDIT_OK(t, fdt_setprop(f, mem, "reg", two, 12));
	expect_fail(t, f, ERR_CORRUPT, "/memory@80000000: reg has 12 bytes", NULL);
	/* all RAM sizes 0 */
	two[3] = 0;
	EDIT_OK(t, fdt_setprop(f, mem, "reg", two, 16));
	expect_fail(t, f, ERR_CORRUPT, "no RAM", NULL);
	/* no memory node at all */
	EDIT_OK(t, fdt_del_node(f, node(t, f, "/memory@80000000")));
	expect_fail(t, f, ERR_CORRUPT, "no memory node", NULL);
	free(f);
}

/* @dtb without @path's numa-node-id: refused as corrupt, the message naming the node and the property */
static void expect_without_node_id(struct test *t, const char *dtb, const char *path)
{
	void *f = dtb_edit(t, dtb);

	ASSERT_TRUE(t, f);
	EDIT_OK(t, fdt_delprop(f, node(t, f, path), "numa-node-id"));
	expect_fail(t, f, ERR_CORRUPT, path, "numa-node-id");
	free(f);
}

static void dt_memory_without_node_id(struct test *t)
{
	expect_without_node_id(t, "numa4.dtb", "/memory@a0000000");
}

static void dt_cpu_without_node_id(struct test *t)
{
	expect_without_node_id(t, "numa2.dtb", "/cpus/cpu@3");
}

static void dt_node_id_out_of_range(struct test *t)
{
	void *f = dtb_edit(t, "numa4.dtb");

	ASSERT_TRUE(t, f);
	EDIT_OK(t, fdt_setprop_u32(f, node(t, f, "/cpus/cpu@3"), "numa-node-id", 42));
	expect_fail(t, f, ERR_RANGE, "/cpus/cpu@3", "numa-node-id 42 out of range");
	EDIT_OK(t, fdt_setprop_u32(f, node(t, f, "/cpus/cpu@3"), "numa-node-id", 1));
	EXPECT_OK(t, parse(f));
	EDIT_OK(t, fdt_setprop_u32(f, node(t, f, "/memory@b0000000"), "numa-node-id", 16));
	expect_fail(t, f, ERR_RANGE, "/memory@b0000000", "numa-node-id 16");
	/* a 2-byte numa-node-id */
	EDIT_OK(t, fdt_setprop(f, node(t, f, "/memory@b0000000"), "numa-node-id", "\0\2", 2));
	expect_fail(t, f, ERR_CORRUPT, "numa-node-id has 2 bytes", NULL);
	free(f);
}

static void dt_node_ids_not_dense(struct test *t)
{
	void *f = dtb_edit(t, "numa4.dtb");

	ASSERT_TRUE(t, f);
	/* node 3 becomes node 5: 3 and 4 missing */
	EDIT_OK(t, fdt_setprop_u32(f, node(t, f, "/memory@b8000000"), "numa-node-id", 5));
	EDIT_OK(t, fdt_setprop_u32(f, node(t, f, "/cpus/cpu@6"), "numa-node-id", 5));
	EDIT_OK(t, fdt_setprop_u32(f, node(t, f, "/cpus/cpu@7"), "numa-node-id", 5));
	expect_fail(t, f, ERR_CORRUPT, "not dense", "node 3");
	free(f);
}

static void dt_distance_map_errors(struct test *t)
{
	void *f = dtb_edit(t, "numa4.dtb");
	int dm;
	fdt32_t m[16] = { cpu_to_fdt32(0), cpu_to_fdt32(0), cpu_to_fdt32(10),
			  cpu_to_fdt32(0), cpu_to_fdt32(7), cpu_to_fdt32(20) };

	ASSERT_TRUE(t, f);
	dm = node(t, f, "/distance-map");
	EDIT_OK(t, fdt_setprop(f, dm, "distance-matrix", m, 24));
	expect_fail(t, f, ERR_CORRUPT, "distance-map names unknown node 7", NULL);
	EDIT_OK(t, fdt_setprop(f, dm, "distance-matrix", m, 50));
	expect_fail(t, f, ERR_CORRUPT, "/distance-map", "not a multiple of 12");
	m[4] = cpu_to_fdt32(1);
	m[5] = cpu_to_fdt32(300);
	EDIT_OK(t, fdt_setprop(f, dm, "distance-matrix", m, 24));
	expect_fail(t, f, ERR_RANGE, "does not fit", NULL);
	m[5] = cpu_to_fdt32(10);
	EDIT_OK(t, fdt_setprop(f, dm, "distance-matrix", m, 24));
	expect_fail(t, f, ERR_CORRUPT, "must exceed 10", NULL);
	m[2] = cpu_to_fdt32(12);
	m[5] = cpu_to_fdt32(20);
	EDIT_OK(t, fdt_setprop(f, dm, "distance-matrix", m, 24));
	expect_fail(t, f, ERR_CORRUPT, "local distance of node 0 is 12", NULL);
	EDIT_OK(t, fdt_delprop(f, dm, "distance-matrix"));
	expect_fail(t, f, ERR_CORRUPT, "/distance-map: missing distance-matrix", NULL);
	free(f);
}

static void dt_distance_map_partial(struct test *t)
{
	void *f = dtb_edit(t, "numa4.dtb");
	fdt32_t m[3 * 10];
	unsigned i, j, k = 0;
	int dm;

	ASSERT_TRUE(t, f);
	dm = node(t, f, "/distance-map");
	/* upper triangle only (QEMU itself gives both directions): mirrored */
	for (i = 0; i < 4; i++)
		for (j = i; j < 4; j++) {
			static const unsigned d[4][4] = { { 10, 20, 30, 40 }, { 0, 10, 20, 30 }, { 0, 0, 10, 20 },
							  { 0, 0, 0, 10 } };

			m[k++] = cpu_to_fdt32(i);
			m[k++] = cpu_to_fdt32(j);
			m[k++] = cpu_to_fdt32(d[i][j]);
		}
	EDIT_OK(t, fdt_setprop(f, dm, "distance-matrix", m, k * 4));
	EXPECT_OK(t, parse(f));
	EXPECT_TRUE(t, topo.has_distance_map);
	expect_line(t, 0, "cluster=0 x=0 y=0 harts=0-1 mem=0x80000000+0x20000000 dist=10,20,30,40 socket=0");
	expect_line(t, 3, "cluster=3 x=1 y=1 harts=6-7 mem=0xb8000000+0x8000000 dist=40,30,20,10 socket=3");
	/* one entry: the rest default, its mirror follows it */
	m[0] = cpu_to_fdt32(2);
	m[1] = cpu_to_fdt32(1);
	m[2] = cpu_to_fdt32(15);
	EDIT_OK(t, fdt_setprop(f, dm, "distance-matrix", m, 12));
	EXPECT_OK(t, parse(f));
	expect_line(t, 1, "cluster=1 x=1 y=0 harts=2-3 mem=0xa0000000+0x10000000 dist=20,10,15,20 socket=1");
	expect_line(t, 2, "cluster=2 x=0 y=1 harts=4-5 mem=0xb0000000+0x8000000 dist=20,15,10,20 socket=2");
	/* empty matrix: a map with no entries is all defaults */
	EDIT_OK(t, fdt_setprop(f, dm, "distance-matrix", m, 0));
	EXPECT_OK(t, parse(f));
	EXPECT_TRUE(t, topo.has_distance_map);
	expect_line(t, 0, "cluster=0 x=0 y=0 harts=0-1 mem=0x80000000+0x20000000 dist=10,20,20,20 socket=0");
	free(f);
}

static void dt_cpu_errors(struct test *t)
{
	void *f = dtb_edit(t, "numa4.dtb");
	int cpus;

	ASSERT_TRUE(t, f);
	EDIT_OK(t, fdt_delprop(f, node(t, f, "/cpus/cpu@2"), "reg"));
	expect_fail(t, f, ERR_CORRUPT, "/cpus/cpu@2", "without reg");
	EDIT_OK(t, fdt_setprop(f, node(t, f, "/cpus/cpu@2"), "reg", "\0\0\2", 3));
	expect_fail(t, f, ERR_CORRUPT, "/cpus/cpu@2: reg has 3 bytes", NULL);
	EDIT_OK(t, fdt_setprop_u32(f, node(t, f, "/cpus/cpu@2"), "reg", 3));
	expect_fail(t, f, ERR_CORRUPT, "duplicate hart id 3", NULL);
	EDIT_OK(t, fdt_setprop_u32(f, node(t, f, "/cpus/cpu@2"), "reg", 2));
	cpus = node(t, f, "/cpus");
	EDIT_OK(t, fdt_delprop(f, cpus, "timebase-frequency"));
	expect_fail(t, f, ERR_CORRUPT, "/cpus: missing timebase-frequency", NULL);
	EDIT_OK(t, fdt_setprop_u32(f, cpus, "timebase-frequency", 0));
	expect_fail(t, f, ERR_CORRUPT, "/cpus: timebase-frequency 0 Hz", NULL);
	EDIT_OK(t, fdt_setprop_u32(f, cpus, "timebase-frequency", 999));
	expect_fail(t, f, ERR_CORRUPT, "/cpus: timebase-frequency 999 Hz", NULL);
	EDIT_OK(t, fdt_setprop_u64(f, cpus, "timebase-frequency", 1000000000000ull));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.timebase_hz, 1000000000000ull);
	EDIT_OK(t, fdt_setprop_u32(f, cpus, "#address-cells", 3));
	expect_fail(t, f, ERR_CORRUPT, "#address-cells is 3", NULL);
	EDIT_OK(t, fdt_del_node(f, cpus));
	expect_fail(t, f, ERR_CORRUPT, "no /cpus node", NULL);
	free(f);
}

static void dt_too_many_harts(struct test *t)
{
	void *f = dtb_edit(t, "big128.dtb");
	int cpus, n;

	ASSERT_TRUE(t, f);
	cpus = node(t, f, "/cpus");
	n = fdt_add_subnode(f, cpus, "cpu@200");
	if (n < 0)
		free(f);
	ASSERT_GE(t, n, 0);	/* the lines below write to node n */
	EDIT_OK(t, fdt_setprop_string(f, n, "device_type", "cpu"));
	EDIT_OK(t, fdt_setprop_u32(f, n, "reg", 200));
	EDIT_OK(t, fdt_setprop_u32(f, n, "numa-node-id", 0));
	expect_fail(t, f, ERR_RANGE, "too many harts (max 128)", NULL);
	/* disabled, it does not count */
	EDIT_OK(t, fdt_setprop_string(f, fdt_path_offset(f, "/cpus/cpu@200"), "status", "disabled"));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.nharts, 128);
	free(f);
}

static void dt_reserved_and_memreserve(struct test *t)
{
	void *f = dtb_edit(t, "plain.dtb");
	unsigned i;

	ASSERT_TRUE(t, f);
	EDIT_OK(t, fdt_add_mem_rsv(f, 0x84000000, 0x1000));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.nreserved, 2);
	EXPECT_EQ(t, topo.reserved[0].base, 0x80000000u);
	EXPECT_EQ(t, topo.reserved[1].base, 0x84000000u);
	EXPECT_EQ(t, topo.reserved[1].size, 0x1000);
	for (i = 1; i < TOPO_MAX_RESERVED; i++)
		EDIT_OK(t, fdt_add_mem_rsv(f, 0x88000000 + i * 0x1000, 0x1000));
	expect_fail(t, f, ERR_RANGE, "too many reserved ranges (max 16)", NULL);
	free(f);
}

/* node offsets move when nodes are added: look /chosen up each time */
#define CHOSEN node(t, f, "/chosen")

static void dt_chosen_stdout_and_bootargs(struct test *t)
{
	void *f = dtb_edit(t, "plain.dtb");
	char longargs[700];
	int al;

	ASSERT_TRUE(t, f);
	al = fdt_add_subnode(f, 0, "aliases");
	if (al < 0)
		free(f);
	ASSERT_GE(t, al, 0);	/* the line below writes to node al */
	EDIT_OK(t, fdt_setprop_string(f, al, "serial0", "/soc/serial@10000000"));
	EDIT_OK(t, fdt_setprop_string(f, CHOSEN, "stdout-path", "serial0:115200n8"));
	EDIT_OK(t, fdt_setprop_u32(f, node(t, f, "/soc/serial@10000000"), "reg-shift", 2));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.uart_base, 0x10000000u);
	EXPECT_EQ(t, topo.uart_reg_shift, 2);
	/* absolute path with options */
	EDIT_OK(t, fdt_setprop_string(f, CHOSEN, "stdout-path", "/soc/serial@10000000:115200"));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.uart_base, 0x10000000u);
	/* nothing there */
	EDIT_OK(t, fdt_setprop_string(f, CHOSEN, "stdout-path", "/soc/nope@0"));
	expect_fail(t, f, ERR_CORRUPT, "stdout-path '/soc/nope@0' does not resolve", NULL);
	/* an alias naming itself (libfdt alone would recurse forever) and an unterminated alias value */
	al = fdt_path_offset(f, "/aliases");
	EDIT_OK(t, fdt_setprop_string(f, al, "serial0", "serial0"));
	EDIT_OK(t, fdt_setprop_string(f, CHOSEN, "stdout-path", "serial0"));
	expect_fail(t, f, ERR_CORRUPT, "stdout-path 'serial0'", NULL);
	EDIT_OK(t, fdt_setprop(f, al, "serial0", "/soc", 4));
	expect_fail(t, f, ERR_CORRUPT, "does not resolve", NULL);
	/* no stdout-path: the first ns16550 */
	EDIT_OK(t, fdt_delprop(f, CHOSEN, "stdout-path"));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.uart_base, 0x10000000u);
	/* bootargs: longer than TOPO_BOOTARGS_MAX is cut, unterminated is bounded by the property */
	memset(longargs, 'a', sizeof(longargs) - 1);
	longargs[sizeof(longargs) - 1] = '\0';
	EDIT_OK(t, fdt_setprop_string(f, CHOSEN, "bootargs", longargs));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, strlen(topo.bootargs), TOPO_BOOTARGS_MAX - 1);
	EDIT_OK(t, fdt_setprop(f, CHOSEN, "bootargs", "abc", 3));
	EXPECT_OK(t, parse(f));
	EXPECT_TRUE(t, strcmp(topo.bootargs, "abc") == 0);
	/* a console without reg is an error, not a silent 0 */
	EDIT_OK(t, fdt_delprop(f, node(t, f, "/soc/serial@10000000"), "reg"));
	expect_fail(t, f, ERR_CORRUPT, "/soc/serial@10000000: device without reg", NULL);
	EDIT_OK(t, fdt_setprop_u64(f, node(t, f, "/soc/serial@10000000"), "reg", 0x10000000));
	EDIT_OK(t, fdt_appendprop_u64(f, node(t, f, "/soc/serial@10000000"), "reg", 0x100));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.uart_base, 0x10000000u);
	EXPECT_EQ(t, msg[0], 0);	/* no stale message after success */
	/* no /chosen at all */
	EDIT_OK(t, fdt_del_node(f, CHOSEN));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.bootargs[0], 0);
	EXPECT_EQ(t, topo.uart_base, 0x10000000u);
	free(f);
}

static void dt_test_device_fallbacks(struct test *t)
{
	void *f = dtb_edit(t, "plain.dtb");
	int test;

	ASSERT_TRUE(t, f);
	test = node(t, f, "/soc/test@100000");
	/* only "syscon" left: found through syscon-poweroff's regmap */
	EDIT_OK(t, fdt_setprop_string(f, test, "compatible", "syscon"));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.test_dev_base, 0x100000u);
	EDIT_OK(t, fdt_setprop_string(f, fdt_path_offset(f, "/soc/test@100000"), "compatible", "other"));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.test_dev_base, 0x100000u);	/* still the regmap target */
	EDIT_OK(t, fdt_del_node(f, fdt_path_offset(f, "/poweroff")));
	EXPECT_OK(t, parse(f));
	EXPECT_EQ(t, topo.test_dev_base, 0);
	free(f);
}

/* ---- broken blobs ---- */

static void dt_bad_header(struct test *t)
{
	size_t len;
	uint8_t *blob = dtb_load(t, "numa2.dtb", &len), *odd;
	char want[96];

	ASSERT_TRUE(t, blob);
	EXPECT_ERR(t, dt_parse_topology(NULL, len, &topo, msg, sizeof(msg)), ERR_INVAL);
	EXPECT_ERR(t, dt_parse_topology(blob, len, NULL, msg, sizeof(msg)), ERR_INVAL);
	EXPECT_ERR(t, dt_parse_topology(blob, len, &topo, NULL, 0), 0);
	/* misaligned (libfdt wants 8-byte alignment) */
	odd = malloc(len + 1);
	memcpy(odd + 1, blob, len);
	EXPECT_ERR(t, dt_parse_topology(odd + 1, len, &topo, msg, sizeof(msg)), ERR_CORRUPT);
	EXPECT_TRUE(t, strstr(msg, "not 8-byte aligned") != NULL);
	free(odd);
	/* truncated: exact message */
	EXPECT_ERR(t, dt_parse_topology(blob, 4000, &topo, msg, sizeof(msg)), ERR_CORRUPT);
	snprintf(want, sizeof(want), "DTB truncated: header says %zu bytes, have 4000", len);
	EXPECT_TRUE(t, strcmp(msg, want) == 0);
	/* magic */
	blob[0] ^= 0xff;
	EXPECT_ERR(t, dt_parse_topology(blob, len, &topo, msg, sizeof(msg)), ERR_CORRUPT);
	EXPECT_TRUE(t, strstr(msg, "bad magic 0x2f0dfeed") != NULL);
	blob[0] ^= 0xff;
	/* version */
	((fdt32_t *)blob)[5] = cpu_to_fdt32(16);	/* version */
	EXPECT_ERR(t, dt_parse_topology(blob, len, &topo, msg, sizeof(msg)), ERR_CORRUPT);
	EXPECT_TRUE(t, strstr(msg, "version 16") != NULL);
	((fdt32_t *)blob)[5] = cpu_to_fdt32(17);
	/* a tiny err buffer is still NUL-terminated */
	blob[3] = 0;
	EXPECT_ERR(t, dt_parse_topology(blob, len, &topo, msg, 8), ERR_CORRUPT);
	EXPECT_EQ(t, strlen(msg), 7);
	free(blob);
}

/*
 * dt_truncated_everywhere() - every prefix of a real DTB (in a buffer of exactly that size, so ASan sees
 * any read past it), every shorter size_dt_struct and every totalsize the header could claim: all must
 * fail cleanly with a message.
 */
static void dt_truncated_everywhere(struct test *t)
{
	size_t len, n;
	uint8_t *blob = dtb_load(t, "numa4.dtb", &len);
	uint32_t sstruct, need;
	int bad = 0, nomsg = 0;

	ASSERT_TRUE(t, blob);
	for (n = 0; n < len; n++) {
		uint8_t *p = malloc(n ? n : 1);

		memcpy(p, blob, n);
		msg[0] = 0;
		bad += dt_parse_topology(p, n, &topo, msg, sizeof(msg)) != ERR_CORRUPT;
		nomsg += !strstr(msg, "truncated");
		free(p);
	}
	EXPECT_EQ(t, bad, 0);
	EXPECT_EQ(t, nomsg, 0);

	/*
	 * The header claims less than the blob has: an error until totalsize covers the last block (OpenSBI
	 * leaves free space after the strings, so from there on it parses).
	 */
	need = fdt_off_dt_strings(blob) + fdt_size_dt_strings(blob);
	if (need < fdt_off_dt_struct(blob) + fdt_size_dt_struct(blob))
		need = fdt_off_dt_struct(blob) + fdt_size_dt_struct(blob);
	for (n = 0, bad = 0, nomsg = 0; n < len; n++) {
		uint8_t *p = malloc(len);
		error_t e;

		memcpy(p, blob, len);
		((fdt32_t *)p)[1] = cpu_to_fdt32((uint32_t)n);	/* totalsize */
		msg[0] = 0;
		e = dt_parse_topology(p, len, &topo, msg, sizeof(msg));
		bad += n < need ? e != ERR_CORRUPT : e != 0;
		nomsg += n < need && !msg[0];
		free(p);
	}
	EXPECT_EQ(t, bad, 0);
	EXPECT_EQ(t, nomsg, 0);

	/* the structure block cut short: the walk must notice (FDT_END is its last tag) */
	sstruct = fdt_size_dt_struct(blob);
	for (n = 0, bad = 0, nomsg = 0; n < sstruct; n++) {
		uint8_t *p = malloc(len);

		memcpy(p, blob, len);
		((fdt32_t *)p)[9] = cpu_to_fdt32((uint32_t)n);	/* size_dt_struct */
		msg[0] = 0;
		bad += dt_parse_topology(p, len, &topo, msg, sizeof(msg)) != ERR_CORRUPT;
		nomsg += !msg[0];
		free(p);
	}
	EXPECT_EQ(t, bad, 0);
	EXPECT_EQ(t, nomsg, 0);

	/* the strings block cut short: no crash; success only if every name still resolves */
	for (n = 0; n < fdt_size_dt_strings(blob); n++) {
		uint8_t *p = malloc(len);

		memcpy(p, blob, len);
		((fdt32_t *)p)[8] = cpu_to_fdt32((uint32_t)n);	/* size_dt_strings */
		if (dt_parse_topology(p, len, &topo, msg, sizeof(msg)) == 0)
			bad += check_invariants(&topo);
		free(p);
	}
	EXPECT_EQ(t, bad, 0);
	free(blob);
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	return test_rand(&rng_state);
}

/*
 * dt_fuzz_mutations() - random byte flips, random bytes and interesting 32-bit words (in the structure
 * block mostly, where lengths, tags and name offsets live) on copies of each real DTB. Every result must
 * be an error with a message, or a topology that keeps every invariant. ASan/UBSan catch the rest.
 */
static void dt_fuzz_mutations(struct test *t)
{
	static const char *const files[] = { "plain.dtb", "numa2.dtb", "numa4.dtb", "memless.dtb", "high.dtb" };
	static const uint32_t words[] = { 0, 1, 2, 3, 4, 8, 12, 0x10, 0x7f, 0xff, 0xfff, 0x7fffffff, 0x80000000,
					  0xfffffff0, 0xfffffffc, 0xffffffff, FDT_BEGIN_NODE, FDT_END_NODE,
					  FDT_PROP, FDT_NOP, FDT_END };
	unsigned f, i, ok = 0, failed = 0, bad = 0, nomsg = 0;

	rng_state = 0x9e3779b97f4a7c15ull;
	test_log("seed 0x%llx", (unsigned long long)rng_state);
	for (f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len;
		uint8_t *blob = dtb_load(t, files[f], &len);

		if (!blob)
			continue;
		for (i = 0; i < 1000; i++) {
			uint8_t *p = malloc(len);
			uint32_t soff = fdt_off_dt_struct(blob), ssz = fdt_size_dt_struct(blob);
			unsigned k, nmut = 1 + rng() % 4;
			error_t e;

			memcpy(p, blob, len);
			for (k = 0; k < nmut; k++) {
				uint64_t r = rng();
				size_t at;

				switch (r % 4) {
				case 0:		/* flip a bit anywhere */
					at = (r >> 8) % len;
					p[at] ^= (uint8_t)(1u << ((r >> 40) % 8));
					break;
				case 1:		/* random byte in the structure block */
					at = soff + (r >> 8) % ssz;
					p[at] = (uint8_t)(r >> 48);
					break;
				default:	/* interesting word at an aligned structure offset */
					at = soff + ((r >> 8) % (ssz / 4)) * 4;
					((fdt32_t *)(p + at))[0] = cpu_to_fdt32(words[(r >> 40) % (sizeof(words) / 4)]);
					break;
				}
			}
			msg[0] = 0;
			e = dt_parse_topology(p, len, &topo, msg, sizeof(msg));
			if (e == 0) {
				ok++;
				bad += check_invariants(&topo) != 0;
			} else {
				failed++;
				nomsg += !msg[0] || (e != ERR_CORRUPT && e != ERR_RANGE);
				if (getenv("DT_FUZZ_SHOW"))	/* DT_FUZZ_SHOW=1: print every rejection */
					test_log("%s", msg);
			}
			free(p);
		}
		free(blob);
	}
	test_log("%u mutations parsed, %u rejected", ok, failed);
	EXPECT_EQ(t, bad, 0);
	EXPECT_EQ(t, nomsg, 0);
	EXPECT_GT(t, failed, 0);
	EXPECT_GT(t, ok, 0);
}

/* ---- mesh and describe ---- */

static void dt_mesh_default_and_override(struct test *t)
{
	static const unsigned want[17][2] = { { 0, 0 }, { 1, 1 }, { 2, 1 }, { 2, 2 }, { 2, 2 }, { 3, 2 }, { 3, 2 },
					      { 3, 3 }, { 3, 3 }, { 3, 3 }, { 4, 3 }, { 4, 3 }, { 4, 3 }, { 4, 4 },
					      { 4, 4 }, { 4, 4 }, { 4, 4 } };
	void *f = dtb_edit(t, "numa4.dtb");
	unsigned n, x, y;

	ASSERT_TRUE(t, f);
	EXPECT_OK(t, parse(f));
	EXPECT_OK(t, topo_set_mesh(&topo, 4, 1));
	expect_line(t, 2, "cluster=2 x=2 y=0 harts=4-5 mem=0xb0000000+0x8000000 dist=30,20,10,20 socket=2");
	EXPECT_OK(t, topo_set_mesh(&topo, 1, 4));
	expect_line(t, 3, "cluster=3 x=0 y=3 harts=6-7 mem=0xb8000000+0x8000000 dist=40,30,20,10 socket=3");
	EXPECT_ERR(t, topo_set_mesh(&topo, 1, 3), ERR_RANGE);
	EXPECT_ERR(t, topo_set_mesh(&topo, 0, 4), ERR_RANGE);
	EXPECT_ERR(t, topo_set_mesh(&topo, 17, 1), ERR_RANGE);
	EXPECT_ERR(t, topo_set_mesh(NULL, 2, 2), ERR_INVAL);
	EXPECT_EQ(t, topo.mesh_x, 1);	/* unchanged by the failures */
	EXPECT_EQ(t, topo.mesh_y, 4);
	EXPECT_OK(t, topo_set_mesh(&topo, 16, 16));

	/* the default mesh for 1..16 clusters through topo_set_mesh's caller's formula */
	for (n = 1; n <= 16; n++) {
		struct topo m;

		memset(&m, 0, sizeof(m));
		m.nclusters = n;
		for (x = 1; x * x < n; x++)
			;
		y = (n + x - 1) / x;
		EXPECT_EQ(t, x, want[n][0]);
		EXPECT_EQ(t, y, want[n][1]);
		EXPECT_OK(t, topo_set_mesh(&m, x, y));
		EXPECT_EQ(t, m.cluster[n - 1].x, (n - 1) % want[n][0]);
		EXPECT_EQ(t, m.cluster[n - 1].y, (n - 1) / want[n][0]);
	}

	EXPECT_OK(t, topo_parse_mesh("2x2", &x, &y));
	EXPECT_EQ(t, x * 10 + y, 22);
	EXPECT_OK(t, topo_parse_mesh("16X1", &x, &y));
	EXPECT_EQ(t, x * 100 + y, 1601);
	EXPECT_ERR(t, topo_parse_mesh("17x1", &x, &y), ERR_RANGE);
	EXPECT_ERR(t, topo_parse_mesh("0x4", &x, &y), ERR_RANGE);
	EXPECT_ERR(t, topo_parse_mesh("2x", &x, &y), ERR_INVAL);
	EXPECT_ERR(t, topo_parse_mesh("x2", &x, &y), ERR_INVAL);
	EXPECT_ERR(t, topo_parse_mesh("2x2x", &x, &y), ERR_INVAL);
	EXPECT_ERR(t, topo_parse_mesh("99999x1", &x, &y), ERR_INVAL);
	EXPECT_ERR(t, topo_parse_mesh("", &x, &y), ERR_INVAL);
	EXPECT_ERR(t, topo_parse_mesh(NULL, &x, &y), ERR_INVAL);
	free(f);
}

static void dt_describe_format(struct test *t)
{
	static const uint8_t row[4] = { 20, 30, 10, 20 };
	char buf[128];
	unsigned c;

	memset(&topo, 0, sizeof(topo));
	topo.nclusters = 4;
	for (c = 0; c < 4; c++)
		topo.cluster[c].id = topo.cluster[c].socket = c;
	EXPECT_OK(t, topo_set_mesh(&topo, 2, 2));
	topo.cluster[2].nharts = 2;
	topo.cluster[2].hart_lo = 4;
	topo.cluster[2].hart_hi = 5;
	topo.cluster[2].mem.base = 0xa0000000;
	topo.cluster[2].mem.size = 0x10000000;
	memcpy(topo.cluster[2].dist, row, 4);
	expect_line(t, 2, "cluster=2 x=0 y=1 harts=4-5 mem=0xa0000000+0x10000000 dist=20,30,10,20 socket=2");
	topo.cluster[2].nharts = 1;
	topo.cluster[2].hart_hi = 4;
	expect_line(t, 2, "cluster=2 x=0 y=1 harts=4 mem=0xa0000000+0x10000000 dist=20,30,10,20 socket=2");
	topo.cluster[2].nharts = 0;
	expect_line(t, 2, "cluster=2 x=0 y=1 harts=- mem=0xa0000000+0x10000000 dist=20,30,10,20 socket=2");
	topo.cluster[2].mem.base = 0x1000000000ull;
	expect_line(t, 2, "cluster=2 x=0 y=1 harts=- mem=0x1000000000+0x10000000 dist=20,30,10,20 socket=2");
	expect_line(t, 4, "cluster=4 invalid");
	/* short buffers: truncated, terminated, nothing written past len */
	memset(buf, 'Z', sizeof(buf));
	topo_describe_cluster(&topo, 2, buf, 10);
	EXPECT_TRUE(t, strcmp(buf, "cluster=2") == 0);
	EXPECT_EQ(t, buf[10], 'Z');
	topo_describe_cluster(&topo, 2, buf, 1);
	EXPECT_EQ(t, buf[0], 0);
	buf[0] = 'Q';
	topo_describe_cluster(&topo, 2, buf, 0);
	EXPECT_EQ(t, buf[0], 'Q');
	for (c = 1; c < 90; c++) {
		memset(buf, 'Z', sizeof(buf));
		topo_describe_cluster(&topo, 2, buf, c);
		EXPECT_EQ(t, strlen(buf), c - 1 < 79 ? c - 1 : 79);
		EXPECT_EQ(t, buf[c], 'Z');
	}
	topo_describe_cluster(NULL, 0, buf, sizeof(buf));
	EXPECT_TRUE(t, strcmp(buf, "cluster=0 invalid") == 0);
}

TEST_SUITE(dt,
	   TEST_CASE(dt_plain),
	   TEST_CASE(dt_numa2),
	   TEST_CASE(dt_numa4_distance_map),
	   TEST_CASE(dt_memoryless_node),
	   TEST_CASE(dt_ram_above_4g),
	   TEST_CASE(dt_128_harts),
	   TEST_CASE(dt_disabled_cpu_skipped),
	   TEST_CASE(dt_no_numa_is_one_cluster),
	   TEST_CASE(dt_memory_ranges_merge_or_fail),
	   TEST_CASE(dt_memory_without_node_id),
	   TEST_CASE(dt_cpu_without_node_id),
	   TEST_CASE(dt_node_id_out_of_range),
	   TEST_CASE(dt_node_ids_not_dense),
	   TEST_CASE(dt_distance_map_errors),
	   TEST_CASE(dt_distance_map_partial),
	   TEST_CASE(dt_cpu_errors),
	   TEST_CASE(dt_too_many_harts),
	   TEST_CASE(dt_reserved_and_memreserve),
	   TEST_CASE(dt_chosen_stdout_and_bootargs),
	   TEST_CASE(dt_test_device_fallbacks),
	   TEST_CASE(dt_bad_header),
	   TEST_CASE(dt_truncated_everywhere),
	   TEST_CASE(dt_fuzz_mutations),
	   TEST_CASE(dt_mesh_default_and_override),
	   TEST_CASE(dt_describe_format));
