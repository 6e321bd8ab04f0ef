/* kernel.h - kernel-wide declarations: init pieces, the booted topology, bootargs. */
#ifndef KERNEL_KERNEL_H
#define KERNEL_KERNEL_H

#include <stdint.h>

#include "mm/topo.h"

/* the machine as booted (filled once by kmain; read-only afterwards) */
extern struct topo boot_topo;

/* options from /chosen/bootargs */
struct kernel_opts {
	int test;			/* run the in-kernel suites, then power off */
	char filter[64];		/* only these cases (see test_run_all()) */
	uint64_t seed;			/* seed= of the randomised cases, 0 = TEST_SEED_DEFAULT */
	char bench[32];			/* run benchmarks ("all" or a name) */
	char mesh[16];			/* XxY: place the clusters, or split the sockets into an emulated mesh */
	uint64_t hop;			/* emulated mesh: the distance a hop adds (0 = MESH_HOP_DEFAULT) */
	char withhold[256];		/* clusters whose RAM the allocator never gets: "1" or "0,2" */
	uint64_t nohart;		/* a hart id never started (fault injection); ~0 = none */
	uint64_t dma_limit;		/* devices reach RAM below this (0 = all RAM) */
	char private_spec[128];		/* private scratch regions: c<cluster>:<size> or h<hartid>:<size>, '/'-separated */
	char cma[256];			/* CMA regions: name:size[@cluster][:dev1,dev2][:exclusive], ';'-separated */
	char heap_limit[64];		/* fault injection: c:bytes/...: heaps that start tiny or empty */
	uint64_t refill_fail;		/* fault injection: per mille of cache refills that fail */
	uint64_t soak;			/* run the soak with this many operations, then power off */
	uint64_t lock_spin;		/* spin budget of lock and SMP waiters before they sleep (lock_spin_budget) */
	uint64_t lock_steal;		/* a qspin head's patience with steals (lock_steal_budget) */
	char expect[128];		/* what the runner asked QEMU for: "256M:2/0:2" (tests compare the DT) */
	char expect_dist[128];		/* "0-1:20/0-2:30" */
};
extern struct kernel_opts kopts;

/* the clusters whose RAM was withheld (bootarg withhold=) */
extern struct topo_set boot_withhold;

/* the DTB OpenSBI passed (drivers probe their devices in it) */
extern const void *boot_dtb;

/**
 * cma_print_info() - one line per CMA region: total, free, largest free chunk, chunks, failures.
 *
 * Context: any hart; takes each region's lock in turn.
 */
void cma_print_info(void);

/** topo_print_machine() - print boot_topo's "machine:" line. Context: any hart, after kmain's topology step. */
void topo_print_machine(void);
/** topo_print_clusters() - print one "cluster=" line per cluster of boot_topo. Context: as topo_print_machine(). */
void topo_print_clusters(void);

/** trap_init() - install the fatal trap vector on the calling hart. Context: each hart, at its start. */
void trap_init(void);

/**
 * trap_fatal() - a trap was taken (none is expected): print its cause and address, and power off.
 * @scause: the trap's cause.
 * @sepc: the trapping instruction.
 * @stval: the faulting address or instruction bits.
 *
 * Context: boot/entry.S's trap_vector, on the trapping hart. Return: never.
 */
void trap_fatal(uint64_t scause, uint64_t sepc, uint64_t stval) __attribute__((noreturn));

/**
 * smp_boot_hart_cls() - move the boot hart from its static CLS to one allocated in its own cluster.
 * @t: the booted topology.
 * @boot_index: the boot hart's index in @t's hart list.
 *
 * Context: boot hart, once, after the heaps exist and before other harts start.
 */
void smp_boot_hart_cls(const struct topo *t, unsigned boot_index);



#endif
