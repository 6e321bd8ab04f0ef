/* cls.h - CPU-local storage: one struct per hart, in its own cluster's memory, found through tp. */
#ifndef KERNEL_CLS_H
#define KERNEL_CLS_H

#include <stdint.h>

#include "kernel/lock.h"
#include "mm/cpu.h"

struct cls {
	uintptr_t stack_top;		/* offset 0: entry.S loads sp from here */
	struct cls *self;
	/*
	 * the allocator's per-hart state (default proximity, caches) at a fixed, small offset from tp: its
	 * bins then lie within 255 bytes of tp, so the fast paths find one with a byte load and an add
	 */
	struct mm_cpu mm __attribute__((aligned(MM_CPU_TP_OFFSET)));
	uint32_t hartid;
	unsigned index;			/* 0..nharts-1, in hart-id order (topo.hart[]) */
	unsigned cluster;
	unsigned x, y;
	uint32_t arrived;		/* set by the hart when it reaches secondary_main */
	uint32_t call_req;		/* generation of the smp_call_n() this hart is asked to run */
	uint32_t call_seen;		/* last generation it ran */
	unsigned long mcs_depth;
	uint64_t ops;			/* free counter for tests and benchmarks */
	struct mcs_node mcs[MCS_NEST_MAX];
};

_Static_assert(__builtin_offsetof(struct cls, mm) == MM_CPU_TP_OFFSET,
	       "mm/cpu.h finds struct mm_cpu at tp + MM_CPU_TP_OFFSET");

/* cls_self() - the calling hart's CLS. Context: any hart, after kmain/secondary_entry set tp. */
static inline struct cls *cls_self(void)
{
	struct cls *c;

	__asm__("mv %0, tp" : "=r"(c));
	return c;
}

/* cls_of() - the CLS of hart index @i (for inspection by tests and the boot hart), NULL if not up. */
struct cls *cls_of(unsigned i);
void cls_set(unsigned i, struct cls *c);

#endif
