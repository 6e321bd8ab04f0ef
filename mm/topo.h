/* topo.h - the machine as the allocator sees it: clusters on an X x Y mesh, harts, RAM, distances. */
#ifndef MM_TOPO_H
#define MM_TOPO_H

#include <stdint.h>

/*
 * platform/ fills a struct topo from the device tree (platform/dt.c) and the kernel hands it to mm/.
 * A socket is a NUMA node: its DT `numa-node-id` is its socket id (0..nsockets-1, dense). A machine
 * without any numa-node-id is one socket 0 holding every hart and all RAM. Each socket is one cluster,
 * unless `mesh=XxY` asks for more cells than there are sockets: platform/mesh.c then splits every socket
 * into clusters (its RAM into contiguous parts, its harts in order) and gives them hop distances.
 */
#define TOPO_MAX_NODES 16	/* NUMA nodes (sockets) a device tree may describe */
#define TOPO_MAX_CLUSTERS 256	/* clusters: one per socket, or up to TOPO_MESH_MAX^2 on an emulated mesh */
#define TOPO_MAX_HARTS 128
#define TOPO_MAX_RESERVED 16
#define TOPO_MESH_MAX 16	/* largest X or Y */
#define TOPO_BOOTARGS_MAX 512

struct topo_range {
	uint64_t base;
	uint64_t size;
};

struct topo_cluster {
	unsigned id;		/* 0..nclusters-1: the NUMA node id, or on an emulated mesh y * mesh_x + x */
	unsigned x, y;		/* position on the mesh: x = id % mesh_x, y = id / mesh_x */
	unsigned socket;	/* the NUMA node whose RAM and harts the cluster has (= id unless emulated) */
	struct topo_range mem;	/* RAM: as the DT gives it, or the cluster's part of its socket's; size 0: none */
	unsigned nharts;	/* harts in the cluster */
	uint32_t hart_lo, hart_hi; /* lowest and highest hart id in the cluster (when nharts > 0) */
	uint8_t dist[TOPO_MAX_CLUSTERS]; /* this cluster's row of the distance map (10 local, 20 remote if absent) */
};

/* A NUMA node as the device tree describes it, kept when the mesh is emulated over it. */
struct topo_socket {
	struct topo_range mem;	/* its RAM (size 0: memoryless) */
	unsigned nharts;
	uint32_t hart_lo, hart_hi;
	uint8_t dist[TOPO_MAX_NODES]; /* the DT's distance row (10 local, 20 remote if absent) */
	unsigned x0, y0, x1, y1; /* its block of the mesh: columns x0..x1-1, rows y0..y1-1 */
};

/* A set of cluster ids (withhold=, tests): one bit per cluster. */
struct topo_set {
	uint64_t w[TOPO_MAX_CLUSTERS / 64];
};

/**
 * topo_set_has() - whether cluster id @c is in @s.
 * @s: the set (NULL: the empty set).
 * @c: a cluster id (out of range: not in any set).
 *
 * Return: non-zero if it is.
 */
static inline int topo_set_has(const struct topo_set *s, unsigned c)
{
	return s && c < TOPO_MAX_CLUSTERS && ((s->w[c / 64] >> (c % 64)) & 1);
}

/**
 * topo_set_add() - put cluster id @c into @s (an id out of range is ignored).
 * @s: the set.
 * @c: a cluster id.
 */
static inline void topo_set_add(struct topo_set *s, unsigned c)
{
	if (c < TOPO_MAX_CLUSTERS)
		s->w[c / 64] |= 1ULL << (c % 64);
}

struct topo_hart {
	uint32_t hartid;	/* the `reg` of the cpu node */
	unsigned cluster;
};

struct topo {
	unsigned nclusters;
	unsigned mesh_x, mesh_y;
	struct topo_cluster cluster[TOPO_MAX_CLUSTERS];
	unsigned nsockets;	/* NUMA nodes of the DT (1 without numa-node-id) */
	struct topo_socket socket[TOPO_MAX_NODES];
	int emulated;		/* the clusters are an emulated mesh over the sockets (platform/mesh.c) */
	unsigned hop;		/* emulated: the distance one mesh hop adds (see platform/mesh.h) */
	unsigned nharts;	/* harts the DT lists ("okay"/absent status), sorted by hart id */
	struct topo_hart hart[TOPO_MAX_HARTS];
	unsigned nreserved;	/* /reserved-memory children with reg, and the DTB's memreserve entries */
	struct topo_range reserved[TOPO_MAX_RESERVED];
	int has_distance_map;
	uint64_t uart_base;	/* ns16550 named by /chosen/stdout-path (0 if none) */
	unsigned uart_reg_shift;
	uint64_t test_dev_base;	/* sifive,test / syscon poweroff device (0 if none) */
	uint64_t timebase_hz;	/* /cpus/timebase-frequency */
	char bootargs[TOPO_BOOTARGS_MAX];
};

#endif
