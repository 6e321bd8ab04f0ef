/* topo.h - the machine as the allocator sees it: clusters on an X x Y mesh, harts, RAM, distances. */
#ifndef MM_TOPO_H
#define MM_TOPO_H

#include <stdint.h>

/*
 * platform/ fills a struct topo from the device tree (platform/dt.c) and the kernel hands it to mm/.
 * A cluster is a NUMA node: its DT `numa-node-id` is its cluster id (0..nclusters-1, dense). A machine
 * without any numa-node-id is one cluster 0 holding every hart and all RAM.
 */
#define TOPO_MAX_CLUSTERS 16
#define TOPO_MAX_HARTS 128
#define TOPO_MAX_RESERVED 16
#define TOPO_MESH_MAX 16	/* largest X or Y */
#define TOPO_BOOTARGS_MAX 512

struct topo_range {
	uint64_t base;
	uint64_t size;
};

struct topo_cluster {
	unsigned id;		/* = NUMA node id */
	unsigned x, y;		/* position on the mesh: x = id % mesh_x, y = id / mesh_x unless mesh= overrides */
	struct topo_range mem;	/* RAM as the DT gives it; size 0 for a memoryless node */
	unsigned nharts;	/* harts whose numa-node-id is this cluster */
	uint32_t hart_lo, hart_hi; /* lowest and highest hart id in the cluster (when nharts > 0) */
	uint8_t dist[TOPO_MAX_CLUSTERS]; /* this cluster's row of the distance map (10 local, 20 remote if absent) */
};

struct topo_hart {
	uint32_t hartid;	/* the `reg` of the cpu node */
	unsigned cluster;
};

struct topo {
	unsigned nclusters;
	unsigned mesh_x, mesh_y;
	struct topo_cluster cluster[TOPO_MAX_CLUSTERS];
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
