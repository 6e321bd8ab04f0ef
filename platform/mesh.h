/* mesh.h - an emulated manycore mesh: the DT's sockets split into up to 16x16 clusters with hop distances. */
#ifndef PLATFORM_MESH_H
#define PLATFORM_MESH_H

#include <stddef.h>

#include "mm/err.h"
#include "mm/topo.h"

/*
 * QEMU virt has at most 4 NUMA sockets; the machines this kernel is written for (TSAR-class chips) have
 * 2-D meshes of up to 16x16 clusters. `mesh=XxY` with more cells than sockets emulates one, the way
 * Linux's numa=fake splits nodes, but on a mesh and with distances that grow with hops.
 *
 * The rules (mesh_split()):
 *
 * - Sockets tile the mesh in blocks. They sit on a grid of SX = ceil(sqrt(n)) columns and
 *   SY = ceil(n / SX) rows (the default mesh of n clusters, dt.c's rule), socket s in row s / SX. The
 *   rows of the grid cut the mesh's rows equally (row band r = rows Y*r/SY .. Y*(r+1)/SY - 1), and each
 *   band's sockets cut its columns equally (the last band holds n - SX*(SY-1) sockets, so it may have
 *   fewer, wider blocks):
 *       1 socket:  the whole mesh            2 sockets: left half | right half
 *       3 sockets: 0 | 1 above, 2 below      4 sockets: quadrants 0 1 / 2 3
 *   A side shorter than the grid (e.g. 1x8 for 2 sockets) cannot be tiled and is refused.
 * - Cluster ids are row-major over the whole mesh: the cluster at (x, y) is y * X + x, so every cell
 *   is a cluster (X*Y of them) and kernel_heap[x][y] is cluster y * X + x.
 * - A socket's RAM is cut into contiguous parts, one per cluster of its block in row-major order: each
 *   part a multiple of MESH_ALIGN (2 MiB) and as equal as that allows (the first clusters take one more
 *   2 MiB unit each while there are spare units; the first part also takes the bytes below the first
 *   2 MiB boundary, the last one the bytes after the last). A part smaller than MESH_MIN_MEM is refused.
 *   A memoryless socket gives memoryless clusters.
 * - A socket's harts (in hart-id order, nh of them) go over its k clusters in order: hart i to the
 *   block's cluster floor(i * k / nh). With fewer harts than clusters they are spread out (every other
 *   cluster for half as many harts); the others are memory-only clusters, which keep their heaps.
 * - Distances: d(a, b) = D(sa, sb) + hop * (|xa - xb| + |ya - yb|), capped at 255, where D(s, s) = 10
 *   and D(s, t) for s != t is the DT's socket distance (the larger of the two directions, so the map
 *   stays symmetric). So d is 10 locally, grows by hop with each Manhattan hop inside a socket, and is
 *   never below the socket distance between sockets. hop is 1..MESH_HOP_MAX (10 + 8 * 30 hops = 250:
 *   no distance inside a socket reaches the cap), MESH_HOP_DEFAULT by default (bootarg hop=).
 */
#define MESH_HOP_DEFAULT 2
#define MESH_HOP_MAX 8
#define MESH_ALIGN (2ULL << 20)
#define MESH_MIN_MEM (2ULL << 20)

/**
 * mesh_split() - replace the socket clusters of @t by an emulated @x by @y mesh (rules above).
 * @t: a topology from dt_parse_topology() (one cluster per socket, not emulated yet)
 * @x: columns (1..TOPO_MESH_MAX)
 * @y: rows (1..TOPO_MESH_MAX), with @x * @y > t->nsockets
 * @hop: the distance one hop adds (1..MESH_HOP_MAX)
 * @why: on failure one line naming the limit (may be NULL)
 * @whylen: its size
 *
 * Context: any, before the topology is handed to mm/; no locks, no allocation.
 * Return: 0; ERR_INVAL (NULL @t, already emulated); ERR_RANGE (a side of 0 or over TOPO_MESH_MAX, more
 * than TOPO_MAX_CLUSTERS cells, fewer cells than sockets, a side the sockets' grid cannot tile, a part
 * of a socket's RAM below MESH_MIN_MEM, @hop out of range). On failure @t is unchanged.
 */
error_t mesh_split(struct topo *t, unsigned x, unsigned y, unsigned hop, char *why, size_t whylen);

/**
 * mesh_apply() - what the `mesh=XxY` bootarg means: @x * @y == t->nsockets places one socket per cell
 * (topo_set_mesh()), more cells split the sockets (mesh_split()), fewer are refused.
 * @t, @x, @y, @hop, @why, @whylen: as mesh_split()
 *
 * Context: as mesh_split(). Return: as mesh_split(); @t is unchanged on failure.
 */
error_t mesh_apply(struct topo *t, unsigned x, unsigned y, unsigned hop, char *why, size_t whylen);

/**
 * mesh_distance() - the emulated distance between two cells (the formula above), for tests and tools.
 * @t: an emulated topology
 * @a: a cluster id
 * @b: a cluster id
 *
 * Return: the distance; 0 for an id out of range.
 */
unsigned mesh_distance(const struct topo *t, unsigned a, unsigned b);

#endif
