/* dt.h - the device-tree topology parser: DTB -> struct topo (portable: kernel and host tests). */
#ifndef PLATFORM_DT_H
#define PLATFORM_DT_H

#include <stddef.h>

#include "mm/err.h"
#include "mm/topo.h"

/**
 * dt_parse_topology() - describe the machine in a flattened device tree as a struct topo.
 * @fdt:    the DTB (8-byte aligned, as OpenSBI passes it in a1)
 * @maxlen: bytes readable at @fdt; the header's totalsize must fit in it
 * @t:      filled on success; zeroed on failure (never left half-filled)
 * @err:    on failure, a one-line message naming the problem (node path, property); may be NULL
 * @errlen: size of @err (0 for none)
 *
 * Reads memory nodes (reg, numa-node-id), /cpus (reg = hart id, numa-node-id, status, timebase-frequency),
 * the numa-distance-map-v1 node, /reserved-memory children and memreserve entries, /chosen (bootargs,
 * stdout-path -> ns16550 base and reg-shift) and the sifive,test/syscon power-off device. Cluster ids are
 * the NUMA node ids and must be dense; without any numa-node-id the machine is one cluster. The mesh is
 * X = ceil(sqrt(n)), Y = ceil(n / X); topo_set_mesh() overrides it. The blob is validated first (header,
 * size, structure walk) and every property length is checked, so any input is safe to parse.
 *
 * Context: any hart, no locks; uses about 1 KiB of stack. Pure function of the blob.
 * Return: 0; ERR_INVAL for NULL @fdt/@t; ERR_CORRUPT for a truncated, malformed or inconsistent tree;
 * ERR_RANGE when the tree exceeds Proxima's limits (TOPO_MAX_HARTS, TOPO_MAX_NODES, TOPO_MAX_RESERVED,
 * a numa-node-id >= TOPO_MAX_NODES, a distance > 255, addresses beyond 64 bits). Each node is a socket
 * (t->socket[]) and one cluster; platform/mesh.c may split the sockets into more clusters afterwards.
 */
error_t dt_parse_topology(const void *fdt, size_t maxlen, struct topo *t, char *err, size_t errlen);

/**
 * topo_set_mesh() - place the clusters on an @x by @y mesh instead of the default one.
 * @t: a topology from dt_parse_topology()
 * @x: columns (1..TOPO_MESH_MAX)
 * @y: rows (1..TOPO_MESH_MAX)
 *
 * Cluster c goes to (c % @x, c / @x). Used for the `mesh=XxY` bootarg with as many cells as sockets
 * (more cells: mesh_split() in platform/mesh.h).
 *
 * Context: any hart, before the topology is handed to mm/; no locks.
 * Return: 0; ERR_INVAL for NULL @t or an emulated mesh; ERR_RANGE if @x or @y is 0 or > TOPO_MESH_MAX or
 * @x * @y is smaller than t->nclusters (then @t is unchanged).
 */
error_t topo_set_mesh(struct topo *t, unsigned x, unsigned y);

/**
 * topo_parse_mesh() - parse a `mesh=` bootarg value "XxY" (decimal, e.g. "2x2", "4X1").
 * @s: the value
 * @x: columns, written on success
 * @y: rows, written on success
 *
 * Context: any.
 * Return: 0; ERR_INVAL if @s is not "<digits>x<digits>"; ERR_RANGE if X or Y is 0 or > TOPO_MESH_MAX.
 */
error_t topo_parse_mesh(const char *s, unsigned *x, unsigned *y);

/**
 * topo_describe_cluster() - one line describing cluster @c, e.g.
 *   "cluster=2 x=0 y=1 harts=4-5 mem=0xa0000000+0x10000000 dist=20,30,10,20"
 * @t:   the topology
 * @c:   cluster id
 * @buf: output, always NUL-terminated when @len > 0 (truncated if short)
 * @len: size of @buf
 *
 * harts= is "lo-hi", a single id when the cluster has one hart, or "-"; mem= is base+size in hex (size 0x0
 * for a memoryless node); dist= is the cluster's distance row over all clusters, or with more than
 * TOPO_MAX_NODES clusters "<nearest>..<farthest>/hop=<n>"; socket= is the cluster's NUMA node.
 * An out-of-range @c gives "cluster=N invalid".
 *
 * Context: any.
 */
void topo_describe_cluster(const struct topo *t, unsigned c, char *buf, size_t len);

#endif
