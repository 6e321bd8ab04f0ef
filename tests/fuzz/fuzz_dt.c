/* fuzz_dt.c - libFuzzer target: any blob through dt_parse_topology(), a clear error or a consistent topology. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/dt.h"
#include "tests/fuzz/fuzz.h"

/*
 * The input is the DTB itself (seeds: the .dtb files of tests/host/dtb, QEMU's real trees; dictionary: dt.dict). It
 * is copied to an exactly sized malloc'd buffer (8-byte aligned as the parser requires; ASan sees any
 * read past its end) and parsed:
 *	error	the code is ERR_CORRUPT or ERR_RANGE, the message is a non-empty printable line, and the
 *		topology is all zeros (never half-filled)
 *	success	the message is empty and the topology is consistent: 1..TOPO_MAX_CLUSTERS clusters with
 *		dense ids, 1..TOPO_MAX_HARTS harts sorted by unique id, each in a cluster whose hart count and
 *		lo/hi ids match, a distance matrix with 10 on the diagonal and more than 10 elsewhere, a mesh
 *		that covers the clusters with each cluster at (id % X, id / X), RAM in at least one cluster,
 *		no two clusters' RAM overlapping, nothing wrapping past 2^64, reserved ranges non-empty,
 *		bootargs NUL-terminated, reg-shift <= 3. topo_describe_cluster() then describes every cluster
 *		(and an invalid one) into roomy and tiny buffers, always NUL-terminated, and topo_set_mesh()
 *		accepts and refuses meshes as documented.
 * The parse is a pure function of the blob: a second one with one byte less of maxlen and no error buffer
 * either fails or gives the same bytes.
 */

static void check_error(error_t e, const char *err, const struct topo *t)
{
	static const struct topo zero;
	const char *p;

	FUZZ_CHECK(e == ERR_CORRUPT || e == ERR_RANGE, "dt_parse_topology: unexpected code %d (%s)", e, err_str(e));
	FUZZ_CHECK(err[0] != '\0', "dt_parse_topology failed (%s) without a message", err_str(e));
	for (p = err; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "error message has byte 0x%02x",
			   (unsigned char)*p);
	FUZZ_CHECK(!memcmp(t, &zero, sizeof(zero)), "topology not zeroed after an error");
}

static void check_topology(const struct topo *t)
{
	unsigned n = t->nclusters, i, j, withmem = 0;

	FUZZ_CHECK(n >= 1 && n <= TOPO_MAX_CLUSTERS, "nclusters %u", n);
	FUZZ_CHECK(t->nharts >= 1 && t->nharts <= TOPO_MAX_HARTS, "nharts %u", t->nharts);
	FUZZ_CHECK(t->mesh_x >= 1 && t->mesh_y >= 1 && t->mesh_x <= TOPO_MESH_MAX && t->mesh_y <= TOPO_MESH_MAX &&
			   t->mesh_x * t->mesh_y >= n,
		   "mesh %ux%u for %u clusters", t->mesh_x, t->mesh_y, n);
	for (i = 0; i < t->nharts; i++) {
		FUZZ_CHECK(t->hart[i].cluster < n, "hart %u in cluster %u of %u", t->hart[i].hartid, t->hart[i].cluster,
			   n);
		if (i)
			FUZZ_CHECK(t->hart[i - 1].hartid < t->hart[i].hartid, "harts not sorted/unique at %u: %u, %u",
				   i, t->hart[i - 1].hartid, t->hart[i].hartid);
	}
	for (i = 0; i < n; i++) {
		const struct topo_cluster *c = &t->cluster[i];
		unsigned cnt = 0;
		uint32_t lo = UINT32_MAX, hi = 0;

		FUZZ_CHECK(c->id == i, "cluster %u has id %u", i, c->id);
		FUZZ_CHECK(c->x == i % t->mesh_x && c->y == i / t->mesh_x, "cluster %u at (%u,%u) on a %ux%u mesh", i,
			   c->x, c->y, t->mesh_x, t->mesh_y);
		for (j = 0; j < t->nharts; j++)
			if (t->hart[j].cluster == i) {
				cnt++;
				lo = t->hart[j].hartid < lo ? t->hart[j].hartid : lo;
				hi = t->hart[j].hartid > hi ? t->hart[j].hartid : hi;
			}
		FUZZ_CHECK(c->nharts == cnt && (!cnt || (c->hart_lo == lo && c->hart_hi == hi)),
			   "cluster %u: %u harts %u-%u, the hart list says %u harts %u-%u", i, c->nharts, c->hart_lo,
			   c->hart_hi, cnt, lo, hi);
		for (j = 0; j < n; j++)
			FUZZ_CHECK(i == j ? c->dist[j] == 10 : c->dist[j] > 10, "distance %u->%u is %u", i, j,
				   c->dist[j]);
		if (c->mem.size) {
			withmem++;
			FUZZ_CHECK(c->mem.base + (c->mem.size - 1) >= c->mem.base, "cluster %u memory wraps", i);
		}
		for (j = 0; j < i; j++) {
			const struct topo_range *a = &t->cluster[j].mem, *b = &c->mem;

			FUZZ_CHECK(!a->size || !b->size || a->base + (a->size - 1) < b->base ||
					   b->base + (b->size - 1) < a->base,
				   "memory of clusters %u and %u overlaps", j, i);
		}
	}
	FUZZ_CHECK(withmem >= 1, "no cluster has memory");
	FUZZ_CHECK(t->nreserved <= TOPO_MAX_RESERVED, "nreserved %u", t->nreserved);
	for (i = 0; i < t->nreserved; i++)
		FUZZ_CHECK(t->reserved[i].size && t->reserved[i].base + (t->reserved[i].size - 1) >= t->reserved[i].base,
			   "reserved range %u: 0x%llx+0x%llx", i, (unsigned long long)t->reserved[i].base,
			   (unsigned long long)t->reserved[i].size);
	FUZZ_CHECK(memchr(t->bootargs, 0, sizeof(t->bootargs)) != NULL, "bootargs not NUL-terminated");
	FUZZ_CHECK(t->uart_reg_shift <= 3, "uart reg-shift %u", t->uart_reg_shift);
}

static void check_describe(const struct topo *t)
{
	char buf[400], tiny[12], want[32];
	unsigned c;
	size_t len;

	for (c = 0; c <= t->nclusters; c++) {
		memset(buf, 'X', sizeof(buf));
		topo_describe_cluster(t, c, buf, sizeof(buf));
		len = strnlen(buf, sizeof(buf));
		FUZZ_CHECK(len > 0 && len < sizeof(buf), "topo_describe_cluster(%u): length %zu", c, len);
		snprintf(want, sizeof(want), c < t->nclusters ? "cluster=%u x=" : "cluster=%u invalid", c);
		FUZZ_CHECK(!strncmp(buf, want, strlen(want)), "topo_describe_cluster(%u) = \"%s\"", c, buf);
		for (len = 1; len <= sizeof(tiny); len += 5) {
			memset(tiny, 'X', sizeof(tiny));
			topo_describe_cluster(t, c, tiny, len);
			FUZZ_CHECK(memchr(tiny, 0, len) && !strncmp(tiny, buf, strlen(tiny)) && strlen(tiny) == len - 1,
				   "topo_describe_cluster(%u) into %zu bytes", c, len);
			FUZZ_CHECK(len == sizeof(tiny) || tiny[len] == 'X', "topo_describe_cluster wrote past %zu bytes",
				   len);
		}
	}
}

static void check_mesh(const struct topo *t0)
{
	struct topo t = *t0;
	unsigned n = t.nclusters;

	EXPECT_ERR(FT, topo_set_mesh(&t, 0, 1), ERR_RANGE);
	EXPECT_ERR(FT, topo_set_mesh(&t, 1, TOPO_MESH_MAX + 1), ERR_RANGE);
	if (n > 1)
		EXPECT_ERR(FT, topo_set_mesh(&t, 1, n - 1), ERR_RANGE);
	FUZZ_CHECK(!memcmp(&t, t0, sizeof(t)), "a refused topo_set_mesh() changed the topology");
	EXPECT_OK(FT, topo_set_mesh(&t, 1, n));
	FUZZ_CHECK(t.mesh_x == 1 && t.mesh_y == n && t.cluster[n - 1].x == 0 && t.cluster[n - 1].y == n - 1,
		   "topo_set_mesh(1, %u)", n);
	EXPECT_OK(FT, topo_set_mesh(&t, TOPO_MESH_MAX, TOPO_MESH_MAX));
	EXPECT_ERR(FT, topo_set_mesh(NULL, 1, 1), ERR_INVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The two results are globals, not malloc'd per input: ASan puts a redzone after each global as after a
 * heap block, and a malloc/free of them per input cost page faults (ASan's quarantine hands out fresh
 * memory). They start each input as a fresh malloc would give them (ASan's 0xbe fill), so a field the
 * parser forgets to write reads the same in every run.
 */
static struct topo topo_a, topo_b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *blob = malloc(size ? size : 1);
	struct topo *t = &topo_a, *t2 = &topo_b;
	char err[160], err2[16];
	error_t e, e2;

	if (!blob)
		abort();
	fuzz_begin();
	memset(t, 0xbe, sizeof(*t));
	memcpy(blob, data, size);
	memset(err, 'X', sizeof(err));
	e = dt_parse_topology(blob, size, t, err, sizeof(err));
	FUZZ_CHECK(memchr(err, 0, sizeof(err)) != NULL, "error buffer not NUL-terminated");
	if (e) {
		check_error(e, err, t);
	} else {
		FUZZ_CHECK(err[0] == '\0', "success with a message: %s", err);
		check_topology(t);
		check_describe(t);
		check_mesh(t);
	}
	/*
	 * One byte less readable, without an error buffer: the header's totalsize no longer fits (a cheap
	 * refusal), or the blob ends before the input does and the parse must give the same bytes again.
	 */
	if (size) {
		memset(t2, 0x5a, sizeof(*t2));
		e2 = dt_parse_topology(blob, size - 1, t2, NULL, 0);
		if (e2)
			check_error(e2, "(no buffer)", t2);
		else
			FUZZ_CHECK(!e && !memcmp(t, t2, sizeof(*t)), "a second parse (maxlen - 1) differs");
	}
	EXPECT_ERR(FT, dt_parse_topology(NULL, size, t2, err2, sizeof(err2)), ERR_INVAL);
	free(blob);
	return 0;
}
