/* dt.c - the device-tree topology parser: memory, cpus, NUMA ids, distance map, reservations, chosen. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libfdt.h>

#include "platform/dt.h"

/*
 * Safety model. The blob may be anything (a truncated copy, a fuzzer's mutation). Before any libfdt
 * lookup we check: maxlen covers the header, the magic, totalsize <= maxlen, fdt_check_header() (blocks
 * inside totalsize), and then walk every tag of the structure block (dt_check_structure(), our stand-in
 * for fdt_check_full(), which this libfdt copy declares but does not ship): nodes must nest, end once,
 * and every property's name must resolve. After that libfdt's own bounds checks keep every lookup inside
 * the blob. Our side of the bargain: never trust a property length (every read is checked against the
 * length libfdt returns, and strings are only used when NUL-terminated inside the property), and never
 * hand libfdt an alias (its alias resolution calls strlen() on the alias value and recurses on aliases
 * of aliases), only absolute paths of known length.
 */

#define DT_MAX_DEPTH 64
#define DT_MAX_MEM_RANGES (2 * TOPO_MAX_NODES)
#define DT_LOCAL_DISTANCE 10
#define DT_REMOTE_DISTANCE 20

struct dt_ctx {
	const void *fdt;
	struct topo *t;
	char *err;
	size_t errlen;
	char path[128];
};

/* One reg entry of a memory node, before it is assigned to a cluster. */
struct dt_mem {
	uint64_t base, size;
	int nid;		/* numa-node-id, -1 if the node has none */
	int node;		/* node offset, for messages */
};

static error_t dt_fail(struct dt_ctx *c, error_t e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static error_t dt_fail(struct dt_ctx *c, error_t e, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		char *p;

		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
		/* names and strings come from the blob: keep the message one printable line */
		for (p = c->err; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
	}
	return e;
}

/* dt_path() - @node's full path for messages (in c->path; valid until the next call). */
static const char *dt_path(struct dt_ctx *c, int node)
{
	if (fdt_get_path(c->fdt, node, c->path, sizeof(c->path)) < 0)
		snprintf(c->path, sizeof(c->path), "(node at offset %d)", node);
	return c->path;
}

static uint64_t dt_cells(const void *p, int n)
{
	const fdt32_t *q = p;
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = (v << 32) | fdt32_ld(q + i);
	return v;
}

/* dt_str_eq() - does property value @v (@len bytes) hold exactly the string @s? */
static int dt_str_eq(const void *v, int len, const char *s)
{
	size_t n = strlen(s) + 1;

	return v && len >= 0 && (size_t)len == n && memcmp(v, s, n) == 0;
}

/* dt_enabled() - status absent, "okay" or "ok" */
static int dt_enabled(const void *fdt, int node)
{
	int len;
	const void *v = fdt_getprop(fdt, node, "status", &len);

	return !v || dt_str_eq(v, len, "okay") || dt_str_eq(v, len, "ok");
}

/*
 * dt_u32() - read a one-cell property. Return: 1 absent, 0 found (in *v), or a negative error (with the
 * message set) if present with another length than 4.
 */
static error_t dt_u32(struct dt_ctx *c, int node, const char *name, uint32_t *v)
{
	int len;
	const void *p = fdt_getprop(c->fdt, node, name, &len);

	if (!p) {
		if (len == -FDT_ERR_NOTFOUND)
			return 1;
		return dt_fail(c, ERR_CORRUPT, "%s: cannot read %s: %s", dt_path(c, node), name,
			       fdt_strerror(len));
	}
	if (len != 4)
		return dt_fail(c, ERR_CORRUPT, "%s: %s has %d bytes, expected 4", dt_path(c, node), name, len);
	*v = fdt32_ld(p);
	return 0;
}

/* A node's reg property decoded with its parent's #address-cells / #size-cells. */
struct dt_reg {
	const uint8_t *p;
	int ac, sc, n;
};

static uint64_t dt_reg_addr(const struct dt_reg *r, int i)
{
	return dt_cells(r->p + (size_t)i * 4 * (r->ac + r->sc), r->ac);
}

static uint64_t dt_reg_size(const struct dt_reg *r, int i)
{
	return dt_cells(r->p + (size_t)i * 4 * (r->ac + r->sc) + 4 * r->ac, r->sc);
}

/*
 * dt_reg() - find and size-check @node's reg. @parent is @node's parent if the caller knows it (saves
 * fdt_parent_offset()'s walk from the root), else -1. @min_sc is the smallest acceptable #size-cells (1
 * for memory, 0 for cpus and devices). Return: 1 if there is no reg, 0 with *r filled, or a negative error.
 */
static error_t dt_reg(struct dt_ctx *c, int node, int parent, int min_sc, struct dt_reg *r)
{
	int len, stride;
	const void *p;

	if (parent < 0)
		parent = fdt_parent_offset(c->fdt, node);
	if (parent < 0)
		return dt_fail(c, ERR_CORRUPT, "%s: no parent: %s", dt_path(c, node), fdt_strerror(parent));
	r->ac = fdt_address_cells(c->fdt, parent);
	r->sc = fdt_size_cells(c->fdt, parent);
	if (r->ac < 0 || r->sc < 0)
		return dt_fail(c, ERR_CORRUPT, "%s: parent's #address-cells/#size-cells unreadable: %s",
			       dt_path(c, node), fdt_strerror(r->ac < 0 ? r->ac : r->sc));
	if (r->ac < 1 || r->ac > 2)
		return dt_fail(c, ERR_CORRUPT, "%s: parent's #address-cells is %d, expected 1 or 2",
			       dt_path(c, node), r->ac);
	if (r->sc < min_sc || r->sc > 2)
		return dt_fail(c, ERR_CORRUPT, "%s: parent's #size-cells is %d, expected %d..2",
			       dt_path(c, node), r->sc, min_sc);
	p = fdt_getprop(c->fdt, node, "reg", &len);
	if (!p) {
		if (len == -FDT_ERR_NOTFOUND)
			return 1;
		return dt_fail(c, ERR_CORRUPT, "%s: cannot read reg: %s", dt_path(c, node), fdt_strerror(len));
	}
	stride = 4 * (r->ac + r->sc);
	if (len == 0 || len % stride)
		return dt_fail(c, ERR_CORRUPT, "%s: reg has %d bytes, not a multiple of %d (%d+%d cells)",
			       dt_path(c, node), len, stride, r->ac, r->sc);
	r->p = p;
	r->n = len / stride;
	return 0;
}

/* dt_device_base() - a device's first reg address into *base; the device must have a well-formed reg. */
static error_t dt_device_base(struct dt_ctx *c, int node, uint64_t *base)
{
	struct dt_reg r;
	error_t e = dt_reg(c, node, -1, 0, &r);

	if (e < 0)
		return e;
	if (e > 0)
		return dt_fail(c, ERR_CORRUPT, "%s: device without reg", dt_path(c, node));
	*base = dt_reg_addr(&r, 0);
	return 0;
}

/*
 * dt_check_structure() - walk every tag of the structure block once: the first tag opens the root node,
 * nodes nest at most DT_MAX_DEPTH deep, properties sit inside a node and have a name in the strings
 * block, and FDT_END follows the root's end and nothing else does.
 */
static error_t dt_check_structure(struct dt_ctx *c)
{
	int off = 0, next, depth = 0, seen_root = 0, root_closed = 0;
	uint32_t tag;

	for (;;) {
		tag = fdt_next_tag(c->fdt, off, &next);
		if (next < 0)
			return dt_fail(c, ERR_CORRUPT, "DTB structure broken at offset %d: %s", off,
				       fdt_strerror(next));
		if (root_closed && tag != FDT_NOP && tag != FDT_END)
			return dt_fail(c, ERR_CORRUPT, "DTB structure broken: tag 0x%x after the root node ends",
				       tag);
		switch (tag) {
		case FDT_BEGIN_NODE:
			if (++depth > DT_MAX_DEPTH)
				return dt_fail(c, ERR_CORRUPT, "DTB structure broken: nodes nest deeper than %d",
					       DT_MAX_DEPTH);
			seen_root = 1;
			break;
		case FDT_END_NODE:
			if (--depth < 0)
				return dt_fail(c, ERR_CORRUPT, "DTB structure broken: unbalanced end of node at %d",
					       off);
			if (depth == 0)
				root_closed = 1;
			break;
		case FDT_PROP: {
			const char *name;
			int len;

			if (depth < 1)
				return dt_fail(c, ERR_CORRUPT, "DTB structure broken: property outside a node at %d",
					       off);
			if (!fdt_getprop_by_offset(c->fdt, off, &name, &len) || !name)
				return dt_fail(c, ERR_CORRUPT, "DTB structure broken: bad property at %d: %s", off,
					       fdt_strerror(len));
			break;
		}
		case FDT_NOP:
			break;
		case FDT_END:
			if (!seen_root || !root_closed)
				return dt_fail(c, ERR_CORRUPT, "DTB structure broken: ends inside a node");
			return 0;
		default:
			return dt_fail(c, ERR_CORRUPT, "DTB structure broken: unknown tag 0x%x at %d", tag, off);
		}
		if (!seen_root)
			return dt_fail(c, ERR_CORRUPT, "DTB structure broken: does not start with a node");
		off = next;
	}
}

/* dt_check_blob() - header, size and structure checks before any lookup. */
static error_t dt_check_blob(struct dt_ctx *c, size_t maxlen)
{
	uint32_t total;
	int e;

	if ((uintptr_t)c->fdt & 7)
		return dt_fail(c, ERR_CORRUPT, "DTB at %p is not 8-byte aligned", c->fdt);
	if (maxlen >= 4 && fdt_magic(c->fdt) != FDT_MAGIC)
		return dt_fail(c, ERR_CORRUPT, "DTB bad magic 0x%08x (expected 0x%08x)",
			       (unsigned)fdt_magic(c->fdt), (unsigned)FDT_MAGIC);
	if (maxlen < sizeof(struct fdt_header))
		return dt_fail(c, ERR_CORRUPT, "DTB truncated: have %zu bytes, less than the %zu-byte header",
			       maxlen, sizeof(struct fdt_header));
	total = fdt_totalsize(c->fdt);
	if (total > maxlen)
		return dt_fail(c, ERR_CORRUPT, "DTB truncated: header says %u bytes, have %zu", (unsigned)total,
			       maxlen);
	if (fdt_version(c->fdt) < 17)
		return dt_fail(c, ERR_CORRUPT, "DTB version %u unsupported (need 17)",
			       (unsigned)fdt_version(c->fdt));
	e = fdt_check_header(c->fdt);
	if (e < 0)
		return dt_fail(c, ERR_CORRUPT, "DTB header invalid: %s", fdt_strerror(e));
	/* libfdt loads tags and memreserve entries with plain (aligned) loads */
	if (fdt_off_dt_struct(c->fdt) % 4 || fdt_off_mem_rsvmap(c->fdt) % 8)
		return dt_fail(c, ERR_CORRUPT, "DTB header invalid: misaligned block (struct at %u, memreserve at %u)",
			       (unsigned)fdt_off_dt_struct(c->fdt), (unsigned)fdt_off_mem_rsvmap(c->fdt));
	return dt_check_structure(c);
}

/*
 * dt_parse_memory() - every enabled node with device_type = "memory": its reg entries and numa-node-id,
 * into @mem (at most DT_MAX_MEM_RANGES). *first_with / *first_without get the first node that has / lacks
 * a numa-node-id.
 */
static error_t dt_parse_memory(struct dt_ctx *c, struct dt_mem *mem, unsigned *nmem, int *first_with,
			       int *first_without)
{
	int node, i;
	error_t e;

	*nmem = 0;
	for (node = fdt_node_offset_by_prop_value(c->fdt, -1, "device_type", "memory", sizeof("memory"));
	     node >= 0;
	     node = fdt_node_offset_by_prop_value(c->fdt, node, "device_type", "memory", sizeof("memory"))) {
		struct dt_reg r;
		uint32_t nid;
		int has_nid;

		if (!dt_enabled(c->fdt, node))
			continue;
		e = dt_u32(c, node, "numa-node-id", &nid);
		if (e < 0)
			return e;
		has_nid = e == 0;
		if (has_nid && nid >= TOPO_MAX_NODES)
			return dt_fail(c, ERR_RANGE, "%s: numa-node-id %u out of range (max %d)", dt_path(c, node),
				       (unsigned)nid, TOPO_MAX_NODES - 1);
		if (has_nid && *first_with < 0)
			*first_with = node;
		if (!has_nid && *first_without < 0)
			*first_without = node;
		e = dt_reg(c, node, -1, 1, &r);
		if (e < 0)
			return e;
		if (e > 0)
			return dt_fail(c, ERR_CORRUPT, "%s: memory node without reg", dt_path(c, node));
		for (i = 0; i < r.n; i++) {
			uint64_t base = dt_reg_addr(&r, i), size = dt_reg_size(&r, i);

			if (size && base + size - 1 < base)
				return dt_fail(c, ERR_RANGE, "%s: reg 0x%llx+0x%llx wraps past 2^64", dt_path(c, node),
					       (unsigned long long)base, (unsigned long long)size);
			if (*nmem >= DT_MAX_MEM_RANGES)
				return dt_fail(c, ERR_RANGE, "%s: too many memory ranges (max %d)", dt_path(c, node),
					       DT_MAX_MEM_RANGES);
			mem[*nmem].base = base;
			mem[*nmem].size = size;
			mem[*nmem].nid = has_nid ? (int)nid : -1;
			mem[*nmem].node = node;
			(*nmem)++;
		}
	}
	if (node != -FDT_ERR_NOTFOUND)
		return dt_fail(c, ERR_CORRUPT, "DTB: searching memory nodes failed: %s", fdt_strerror(node));
	if (*nmem == 0)
		return dt_fail(c, ERR_CORRUPT, "DTB has no memory node (device_type = \"memory\")");
	return 0;
}

/*
 * dt_parse_cpus() - the enabled /cpus children with device_type = "cpu": hart id (reg) and numa-node-id
 * (kept in hart[].cluster for now, TOPO_MAX_NODES meaning "none"), and /cpus/timebase-frequency.
 */
static error_t dt_parse_cpus(struct dt_ctx *c, int *first_with, int *first_without)
{
	struct topo *t = c->t;
	int cpus, node, len;
	const void *p;
	error_t e;

	cpus = fdt_path_offset(c->fdt, "/cpus");
	if (cpus < 0)
		return dt_fail(c, ERR_CORRUPT, "DTB has no /cpus node");
	fdt_for_each_subnode(node, c->fdt, cpus) {
		struct dt_reg r;
		uint64_t id;
		uint32_t nid;
		unsigned i;

		p = fdt_getprop(c->fdt, node, "device_type", &len);
		if (!dt_str_eq(p, len, "cpu") || !dt_enabled(c->fdt, node))
			continue;
		e = dt_reg(c, node, cpus, 0, &r);
		if (e < 0)
			return e;
		if (e > 0)
			return dt_fail(c, ERR_CORRUPT, "%s: cpu node without reg (hart id)", dt_path(c, node));
		id = dt_reg_addr(&r, 0);
		if (id > UINT32_MAX)
			return dt_fail(c, ERR_RANGE, "%s: hart id 0x%llx does not fit 32 bits", dt_path(c, node),
				       (unsigned long long)id);
		e = dt_u32(c, node, "numa-node-id", &nid);
		if (e < 0)
			return e;
		if (e == 0 && nid >= TOPO_MAX_NODES)
			return dt_fail(c, ERR_RANGE, "%s: numa-node-id %u out of range (max %d)", dt_path(c, node),
				       (unsigned)nid, TOPO_MAX_NODES - 1);
		if (e == 0 && *first_with < 0)
			*first_with = node;
		if (e > 0 && *first_without < 0)
			*first_without = node;
		for (i = 0; i < t->nharts; i++)
			if (t->hart[i].hartid == id)
				return dt_fail(c, ERR_CORRUPT, "%s: duplicate hart id %u", dt_path(c, node),
					       (unsigned)id);
		if (t->nharts >= TOPO_MAX_HARTS)
			return dt_fail(c, ERR_RANGE, "%s: too many harts (max %d)", dt_path(c, node),
				       TOPO_MAX_HARTS);
		t->hart[t->nharts].hartid = (uint32_t)id;
		t->hart[t->nharts].cluster = e == 0 ? nid : TOPO_MAX_NODES;
		t->nharts++;
	}
	if (node != -FDT_ERR_NOTFOUND)
		return dt_fail(c, ERR_CORRUPT, "/cpus: walking the cpu nodes failed: %s", fdt_strerror(node));
	if (t->nharts == 0)
		return dt_fail(c, ERR_CORRUPT, "/cpus: no enabled cpu node");

	p = fdt_getprop(c->fdt, cpus, "timebase-frequency", &len);
	if (!p)
		return dt_fail(c, ERR_CORRUPT, "/cpus: missing timebase-frequency");
	if (len != 4 && len != 8)
		return dt_fail(c, ERR_CORRUPT, "/cpus: timebase-frequency has %d bytes, expected 4 or 8", len);
	t->timebase_hz = dt_cells(p, len / 4);
	/* every timing in the kernel divides by it: a DT that says 0 (or less than 1 kHz) is refused here */
	if (t->timebase_hz < 1000)
		return dt_fail(c, ERR_CORRUPT, "/cpus: timebase-frequency %llu Hz (want >= 1000)",
			       (unsigned long long)t->timebase_hz);
	return 0;
}

/* dt_sort_harts() - insertion sort by hart id (at most TOPO_MAX_HARTS entries). */
static void dt_sort_harts(struct topo *t)
{
	unsigned i, j;

	for (i = 1; i < t->nharts; i++) {
		struct topo_hart h = t->hart[i];

		for (j = i; j > 0 && t->hart[j - 1].hartid > h.hartid; j--)
			t->hart[j] = t->hart[j - 1];
		t->hart[j] = h;
	}
}

/*
 * dt_assign_clusters() - decide the clusters: the NUMA node ids seen on memory and cpu nodes (dense
 * 0..n-1, every memory and cpu node has one once any has), or one cluster without any. Then merge each
 * cluster's memory into one range and count its harts.
 */
static error_t dt_assign_clusters(struct dt_ctx *c, struct dt_mem *mem, unsigned nmem, int mem_with,
				  int mem_without, int cpu_with, int cpu_without)
{
	struct topo *t = c->t;
	unsigned seen = 0, n = 0, i, k;
	int numa = mem_with >= 0 || cpu_with >= 0;

	if (numa && mem_without >= 0)
		return dt_fail(c, ERR_CORRUPT, "%s: memory node has no numa-node-id but %s has one",
			       dt_path(c, mem_without), mem_with >= 0 ? "another memory node" : "a cpu node");
	if (numa && cpu_without >= 0)
		return dt_fail(c, ERR_CORRUPT, "%s: cpu node has no numa-node-id but %s has one",
			       dt_path(c, cpu_without), cpu_with >= 0 ? "another cpu node" : "a memory node");
	if (numa) {
		for (i = 0; i < nmem; i++)
			seen |= 1u << mem[i].nid;
		for (i = 0; i < t->nharts; i++)
			seen |= 1u << t->hart[i].cluster;
		while (n < TOPO_MAX_NODES && (seen >> n))
			n++;
		for (k = 0; k < n; k++)
			if (!(seen & (1u << k)))
				return dt_fail(c, ERR_CORRUPT,
					       "numa node ids not dense: node %u has no memory or cpu node but node %u exists",
					       k, n - 1);
	} else {
		n = 1;
		for (i = 0; i < nmem; i++)
			mem[i].nid = 0;
		for (i = 0; i < t->nharts; i++)
			t->hart[i].cluster = 0;
	}
	t->nclusters = n;

	/* Memory: sort each cluster's non-empty ranges by base; they must abut (one range per cluster). */
	for (k = 0; k < n; k++) {
		struct topo_cluster *cl = &t->cluster[k];
		int have = 0;

		cl->id = k;
		for (;;) {
			int best = -1;

			for (i = 0; i < nmem; i++)
				if (mem[i].nid == (int)k && mem[i].size &&
				    (best < 0 || mem[i].base < mem[best].base))
					best = (int)i;
			if (best < 0)
				break;
			if (!have) {
				cl->mem.base = mem[best].base;
				cl->mem.size = mem[best].size;
				have = 1;
			} else if (mem[best].base - cl->mem.base == cl->mem.size) {
				if (cl->mem.size + mem[best].size < cl->mem.size)
					return dt_fail(c, ERR_RANGE, "cluster %u memory is larger than 2^64", k);
				cl->mem.size += mem[best].size;
			} else {
				return dt_fail(c, ERR_CORRUPT,
					       "%s: cluster %u memory 0x%llx+0x%llx %s 0x%llx+0x%llx (one range per cluster)",
					       dt_path(c, mem[best].node), k, (unsigned long long)mem[best].base,
					       (unsigned long long)mem[best].size,
					       mem[best].base - cl->mem.base < cl->mem.size ? "overlaps" :
											     "is not contiguous with",
					       (unsigned long long)cl->mem.base, (unsigned long long)cl->mem.size);
			}
			mem[best].size = 0;	/* consumed */
			if (cl->mem.size && cl->mem.base + cl->mem.size - 1 < cl->mem.base)
				return dt_fail(c, ERR_RANGE, "cluster %u memory wraps past 2^64", k);
		}
		if (!have) {
			/* memoryless: keep the base the DT gives with its zero size */
			for (i = 0; i < nmem; i++)
				if (mem[i].nid == (int)k) {
					cl->mem.base = mem[i].base;
					break;
				}
		}
	}
	for (k = 0; k < n; k++)
		for (i = k + 1; i < n; i++) {
			const struct topo_range *a = &t->cluster[k].mem, *b = &t->cluster[i].mem;

			if (a->size && b->size && a->base <= b->base + (b->size - 1) &&
			    b->base <= a->base + (a->size - 1))
				return dt_fail(c, ERR_CORRUPT, "memory of clusters %u and %u overlaps", k, i);
		}
	for (k = 0; k < n && !t->cluster[k].mem.size; k++)
		;
	if (k == n)
		return dt_fail(c, ERR_CORRUPT, "DTB memory nodes hold no RAM (all sizes are 0)");

	dt_sort_harts(t);
	for (i = 0; i < t->nharts; i++) {
		struct topo_cluster *cl = &t->cluster[t->hart[i].cluster];

		if (i && t->hart[i].hartid == t->hart[i - 1].hartid)
			return dt_fail(c, ERR_CORRUPT, "/cpus: duplicate hart id %u", (unsigned)t->hart[i].hartid);
		if (!cl->nharts)
			cl->hart_lo = t->hart[i].hartid;
		cl->hart_hi = t->hart[i].hartid;
		cl->nharts++;
	}
	return 0;
}

/*
 * dt_parse_distance() - rows default to 10 local / 20 remote; a numa-distance-map-v1 node's
 * distance-matrix (from, to, distance) triples override them. An entry given in one direction only is
 * mirrored; Linux's rules hold: local distance 10, remote distances above 10.
 */
static error_t dt_parse_distance(struct dt_ctx *c)
{
	struct topo *t = c->t;
	uint16_t given[TOPO_MAX_NODES] = { 0 };
	const uint8_t *p;
	unsigned i, j, n = t->nclusters;
	int node, len, k;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			t->cluster[i].dist[j] = i == j ? DT_LOCAL_DISTANCE : DT_REMOTE_DISTANCE;
	node = fdt_node_offset_by_compatible(c->fdt, -1, "numa-distance-map-v1");
	if (node == -FDT_ERR_NOTFOUND)
		return 0;
	if (node < 0)
		return dt_fail(c, ERR_CORRUPT, "DTB: searching the distance map failed: %s", fdt_strerror(node));
	p = fdt_getprop(c->fdt, node, "distance-matrix", &len);
	if (!p)
		return dt_fail(c, ERR_CORRUPT, "%s: missing distance-matrix", dt_path(c, node));
	if (len % 12)
		return dt_fail(c, ERR_CORRUPT, "%s: distance-matrix has %d bytes, not a multiple of 12",
			       dt_path(c, node), len);
	for (k = 0; k < len / 12; k++) {
		uint32_t from = fdt32_ld((const fdt32_t *)(p + 12 * k));
		uint32_t to = fdt32_ld((const fdt32_t *)(p + 12 * k + 4));
		uint32_t d = fdt32_ld((const fdt32_t *)(p + 12 * k + 8));

		if (from >= n || to >= n)
			return dt_fail(c, ERR_CORRUPT, "%s: distance-map names unknown node %u (%u nodes)",
				       dt_path(c, node), (unsigned)(from >= n ? from : to), n);
		if (d > 255)
			return dt_fail(c, ERR_RANGE, "%s: distance %u->%u = %u does not fit 8 bits",
				       dt_path(c, node), (unsigned)from, (unsigned)to, (unsigned)d);
		if (from == to && d != DT_LOCAL_DISTANCE)
			return dt_fail(c, ERR_CORRUPT, "%s: local distance of node %u is %u, must be %d",
				       dt_path(c, node), (unsigned)from, (unsigned)d, DT_LOCAL_DISTANCE);
		if (from != to && d <= DT_LOCAL_DISTANCE)
			return dt_fail(c, ERR_CORRUPT, "%s: distance %u->%u is %u, must exceed %d",
				       dt_path(c, node), (unsigned)from, (unsigned)to, (unsigned)d, DT_LOCAL_DISTANCE);
		t->cluster[from].dist[to] = (uint8_t)d;
		given[from] |= (uint16_t)(1u << to);
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			if (!(given[i] & (1u << j)) && (given[j] & (1u << i)))
				t->cluster[i].dist[j] = t->cluster[j].dist[i];
	t->has_distance_map = 1;
	return 0;
}

static error_t dt_add_reserved(struct dt_ctx *c, uint64_t base, uint64_t size, const char *what)
{
	struct topo *t = c->t;

	if (!size)
		return 0;
	if (base + size - 1 < base)
		return dt_fail(c, ERR_RANGE, "%s: reserved 0x%llx+0x%llx wraps past 2^64", what,
			       (unsigned long long)base, (unsigned long long)size);
	if (t->nreserved >= TOPO_MAX_RESERVED)
		return dt_fail(c, ERR_RANGE, "%s: too many reserved ranges (max %d)", what, TOPO_MAX_RESERVED);
	t->reserved[t->nreserved].base = base;
	t->reserved[t->nreserved].size = size;
	t->nreserved++;
	return 0;
}

/* dt_parse_reserved() - enabled /reserved-memory children with reg, then the memreserve block. */
static error_t dt_parse_reserved(struct dt_ctx *c)
{
	int rm, node, n, i;
	error_t e;

	rm = fdt_path_offset(c->fdt, "/reserved-memory");
	if (rm >= 0) {
		fdt_for_each_subnode(node, c->fdt, rm) {
			struct dt_reg r;

			if (!dt_enabled(c->fdt, node))
				continue;
			e = dt_reg(c, node, rm, 1, &r);
			if (e < 0)
				return e;
			if (e > 0)
				continue;	/* dynamically placed (size/alloc-ranges): nothing fixed to keep */
			for (i = 0; i < r.n; i++) {
				e = dt_add_reserved(c, dt_reg_addr(&r, i), dt_reg_size(&r, i), dt_path(c, node));
				if (e)
					return e;
			}
		}
		if (node != -FDT_ERR_NOTFOUND)
			return dt_fail(c, ERR_CORRUPT, "/reserved-memory: walking children failed: %s",
				       fdt_strerror(node));
	}
	n = fdt_num_mem_rsv(c->fdt);
	if (n < 0)
		return dt_fail(c, ERR_CORRUPT, "DTB memreserve block broken: %s", fdt_strerror(n));
	for (i = 0; i < n; i++) {
		uint64_t base, size;

		if (fdt_get_mem_rsv(c->fdt, i, &base, &size) < 0)
			return dt_fail(c, ERR_CORRUPT, "DTB memreserve entry %d unreadable", i);
		e = dt_add_reserved(c, base, size, "memreserve");
		if (e)
			return e;
	}
	return 0;
}

/*
 * dt_resolve_path() - the node an absolute path or an alias names; @s is @len bytes without NUL. Aliases
 * are looked up here (one level, the value must be an absolute path NUL-terminated inside its property)
 * because libfdt's fdt_path_offset() would trust the alias value.
 */
static int dt_resolve_path(struct dt_ctx *c, const char *s, int len)
{
	const char *slash, *v;
	int aliases, vlen, node, alen;

	if (len <= 0)
		return -FDT_ERR_BADPATH;
	if (s[0] == '/')
		return fdt_path_offset_namelen(c->fdt, s, len);
	slash = memchr(s, '/', (size_t)len);
	alen = slash ? (int)(slash - s) : len;
	aliases = fdt_path_offset(c->fdt, "/aliases");
	if (aliases < 0)
		return aliases;
	v = fdt_getprop_namelen(c->fdt, aliases, s, alen, &vlen);
	if (!v || vlen < 2 || v[0] != '/' || !memchr(v, '\0', (size_t)vlen))
		return -FDT_ERR_BADPATH;
	node = fdt_path_offset_namelen(c->fdt, v, (int)strlen(v));
	if (node < 0 || !slash)
		return node;
	/* "alias/sub/path": walk the rest from the alias's node */
	s = slash;
	len -= alen;
	while (len > 0 && node >= 0) {
		const char *q;
		int seg;

		while (len > 0 && *s == '/') {
			s++;
			len--;
		}
		if (!len)
			break;
		q = memchr(s, '/', (size_t)len);
		seg = q ? (int)(q - s) : len;
		node = fdt_subnode_offset_namelen(c->fdt, node, s, seg);
		s += seg;
		len -= seg;
	}
	return node;
}

static int dt_is_uart(const void *fdt, int node)
{
	return fdt_node_check_compatible(fdt, node, "ns16550a") == 0 ||
	       fdt_node_check_compatible(fdt, node, "ns16550") == 0;
}

/*
 * dt_parse_chosen() - bootargs (truncated to TOPO_BOOTARGS_MAX - 1), the console UART from stdout-path
 * (path or alias, ":options" stripped; falls back to the first ns16550 node), and the test device.
 */
static error_t dt_parse_chosen(struct dt_ctx *c)
{
	struct topo *t = c->t;
	int chosen, len, uart = -1, node;
	const char *p;
	uint32_t shift;
	error_t e;

	chosen = fdt_path_offset(c->fdt, "/chosen");
	if (chosen >= 0) {
		p = fdt_getprop(c->fdt, chosen, "bootargs", &len);
		if (p && len > 0) {
			size_t n = strnlen(p, (size_t)len);

			if (n > TOPO_BOOTARGS_MAX - 1)
				n = TOPO_BOOTARGS_MAX - 1;
			memcpy(t->bootargs, p, n);
			t->bootargs[n] = '\0';
		}
		p = fdt_getprop(c->fdt, chosen, "stdout-path", &len);
		if (!p)
			p = fdt_getprop(c->fdt, chosen, "linux,stdout-path", &len);
		if (p && len > 0) {
			int n = (int)strnlen(p, (size_t)len);
			const char *colon = memchr(p, ':', (size_t)n);

			if (colon)
				n = (int)(colon - p);
			uart = dt_resolve_path(c, p, n);
			if (uart < 0)
				return dt_fail(c, ERR_CORRUPT, "/chosen: stdout-path '%.*s' does not resolve: %s", n,
					       p, fdt_strerror(uart));
			if (!dt_is_uart(c->fdt, uart))
				uart = -1;
		}
	}
	if (uart < 0) {
		uart = fdt_node_offset_by_compatible(c->fdt, -1, "ns16550a");
		if (uart < 0)
			uart = fdt_node_offset_by_compatible(c->fdt, -1, "ns16550");
	}
	if (uart >= 0) {
		e = dt_device_base(c, uart, &t->uart_base);
		if (e)
			return e;
		e = dt_u32(c, uart, "reg-shift", &shift);
		if (e < 0)
			return e;
		if (e == 0 && shift > 3)
			return dt_fail(c, ERR_CORRUPT, "%s: reg-shift %u, expected 0..3", dt_path(c, uart),
				       (unsigned)shift);
		t->uart_reg_shift = e == 0 ? shift : 0;
	}

	node = fdt_node_offset_by_compatible(c->fdt, -1, "sifive,test1");
	if (node < 0)
		node = fdt_node_offset_by_compatible(c->fdt, -1, "sifive,test0");
	if (node < 0) {
		/* syscon-poweroff points at its register block through regmap = <phandle> */
		int po = fdt_node_offset_by_compatible(c->fdt, -1, "syscon-poweroff");
		uint32_t ph;

		if (po >= 0) {
			e = dt_u32(c, po, "regmap", &ph);
			if (e < 0)
				return e;
			if (e == 0)
				node = fdt_node_offset_by_phandle(c->fdt, ph);
		}
	}
	if (node < 0)
		node = fdt_node_offset_by_compatible(c->fdt, -1, "syscon");
	if (node >= 0)
		return dt_device_base(c, node, &t->test_dev_base);
	return 0;
}

/* dt_fill_sockets() - each node as a socket too: what an emulated mesh splits (platform/mesh.c) */
static void dt_fill_sockets(struct topo *t)
{
	unsigned i, j;

	t->nsockets = t->nclusters;
	for (i = 0; i < t->nclusters; i++) {
		const struct topo_cluster *cl = &t->cluster[i];
		struct topo_socket *s = &t->socket[i];

		s->mem = cl->mem;
		s->nharts = cl->nharts;
		s->hart_lo = cl->hart_lo;
		s->hart_hi = cl->hart_hi;
		for (j = 0; j < t->nclusters; j++)
			s->dist[j] = cl->dist[j];
		t->cluster[i].socket = i;
	}
}

/* dt_default_mesh() - X = ceil(sqrt(n)), Y = ceil(n / X). */
static void dt_default_mesh(struct topo *t)
{
	unsigned x = 1;

	while (x * x < t->nclusters)
		x++;
	topo_set_mesh(t, x, (t->nclusters + x - 1) / x);
}

error_t dt_parse_topology(const void *fdt, size_t maxlen, struct topo *t, char *err, size_t errlen)
{
	struct dt_ctx c = { fdt, t, err, errlen, { 0 } };
	struct dt_mem mem[DT_MAX_MEM_RANGES];
	unsigned nmem = 0;
	int mem_with = -1, mem_without = -1, cpu_with = -1, cpu_without = -1;
	error_t e;

	if (err && errlen)
		err[0] = '\0';
	if (!fdt || !t)
		return dt_fail(&c, ERR_INVAL, "dt_parse_topology: NULL %s", fdt ? "topology" : "DTB");
	memset(t, 0, sizeof(*t));
	e = dt_check_blob(&c, maxlen);
	if (!e)
		e = dt_parse_memory(&c, mem, &nmem, &mem_with, &mem_without);
	if (!e)
		e = dt_parse_cpus(&c, &cpu_with, &cpu_without);
	if (!e)
		e = dt_assign_clusters(&c, mem, nmem, mem_with, mem_without, cpu_with, cpu_without);
	if (!e)
		e = dt_parse_distance(&c);
	if (!e)
		e = dt_parse_reserved(&c);
	if (!e)
		e = dt_parse_chosen(&c);
	if (e) {
		memset(t, 0, sizeof(*t));
		return e < 0 ? e : dt_fail(&c, ERR_CORRUPT, "dt_parse_topology: internal error %d", e);
	}
	dt_fill_sockets(t);
	dt_default_mesh(t);
	if (err && errlen)
		err[0] = '\0';
	return 0;
}

error_t topo_set_mesh(struct topo *t, unsigned x, unsigned y)
{
	unsigned i;

	if (!t)
		return ERR_INVAL;
	if (t->emulated)
		return ERR_INVAL;
	if (!x || !y || x > TOPO_MESH_MAX || y > TOPO_MESH_MAX || x * y < t->nclusters)
		return ERR_RANGE;
	t->mesh_x = x;
	t->mesh_y = y;
	for (i = 0; i < t->nclusters && i < TOPO_MAX_CLUSTERS; i++) {
		t->cluster[i].x = i % x;
		t->cluster[i].y = i / x;
		if (i < TOPO_MAX_NODES && i < t->nsockets) {	/* one cluster per socket: its block is its cell */
			t->socket[i].x0 = i % x;
			t->socket[i].y0 = i / x;
			t->socket[i].x1 = i % x + 1;
			t->socket[i].y1 = i / x + 1;
		}
	}
	return 0;
}

/* dt_parse_dec() - 1..4 decimal digits at *s; advances *s. Return: the value or -1. */
static int dt_parse_dec(const char **s)
{
	int v = 0, n = 0;

	while (**s >= '0' && **s <= '9') {
		if (++n > 4)
			return -1;
		v = v * 10 + (**s - '0');
		(*s)++;
	}
	return n ? v : -1;
}

error_t topo_parse_mesh(const char *s, unsigned *x, unsigned *y)
{
	int a, b;

	if (!s || !x || !y)
		return ERR_INVAL;
	a = dt_parse_dec(&s);
	if (a < 0 || (*s != 'x' && *s != 'X'))
		return ERR_INVAL;
	s++;
	b = dt_parse_dec(&s);
	if (b < 0 || *s)
		return ERR_INVAL;
	if (!a || !b || a > TOPO_MESH_MAX || b > TOPO_MESH_MAX)
		return ERR_RANGE;
	*x = (unsigned)a;
	*y = (unsigned)b;
	return 0;
}

/* dt_append() - snprintf at *pos in @buf, clamping *pos so later appends stay inside. */
static void dt_append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void dt_append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*pos = *pos + (size_t)n < len ? *pos + (size_t)n : len;
}

void topo_describe_cluster(const struct topo *t, unsigned c, char *buf, size_t len)
{
	const struct topo_cluster *cl;
	size_t pos = 0;
	unsigned j;

	if (!buf || !len)
		return;
	buf[0] = '\0';
	if (!t || c >= t->nclusters || c >= TOPO_MAX_CLUSTERS) {
		dt_append(buf, len, &pos, "cluster=%u invalid", c);
		return;
	}
	cl = &t->cluster[c];
	dt_append(buf, len, &pos, "cluster=%u x=%u y=%u harts=", c, cl->x, cl->y);
	if (!cl->nharts)
		dt_append(buf, len, &pos, "-");
	else if (cl->hart_lo == cl->hart_hi)
		dt_append(buf, len, &pos, "%u", (unsigned)cl->hart_lo);
	else
		dt_append(buf, len, &pos, "%u-%u", (unsigned)cl->hart_lo, (unsigned)cl->hart_hi);
	dt_append(buf, len, &pos, " mem=0x%llx+0x%llx dist=", (unsigned long long)cl->mem.base,
		  (unsigned long long)cl->mem.size);
	if (t->nclusters <= TOPO_MAX_NODES) {
		for (j = 0; j < t->nclusters; j++)
			dt_append(buf, len, &pos, "%s%u", j ? "," : "", (unsigned)cl->dist[j]);
	} else {
		/* a row of up to 256 numbers helps nobody: its nearest other cluster, its farthest, the hop cost */
		unsigned lo = 255, hi = 0;

		for (j = 0; j < t->nclusters; j++)
			if (j != c) {
				lo = cl->dist[j] < lo ? cl->dist[j] : lo;
				hi = cl->dist[j] > hi ? cl->dist[j] : hi;
			}
		dt_append(buf, len, &pos, "%u..%u/hop=%u", lo, hi, t->hop);
	}
	dt_append(buf, len, &pos, " socket=%u", cl->socket);
}
