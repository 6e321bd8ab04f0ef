/* cls.h - CPU-local storage: one struct per hart, in its own cluster's memory, found through tp. */
#ifndef KERNEL_CLS_H
#define KERNEL_CLS_H

/*
 * Everything reached through tp, by offset, without C's help (assembly, or an inline path that adds a
 * constant to kernel_tp); each is checked against struct cls below:
 *	CLS_STACK_TOP_OFFSET	0	boot/entry.S: secondary_entry loads sp from it (tp = a1 = the CLS)
 *	MCS_TOP_TP_OFFSET	8	kernel/lock.h: the MCS node stack's next free node (mcs_node_get())
 *	MM_CPU_TP_OFFSET	16	mm/cpu.h: struct mm_cpu, whose slab state (mm/slab.h) the inline
 *					mem_alloc()/mem_free() read at constant offsets from tp
 * The last two are defined by the headers that use them (mm/ must not include this one); this header
 * is the one that fixes the layout and asserts it.
 */
#define CLS_STACK_TOP_OFFSET 0

#ifndef __ASSEMBLER__
#include <stdint.h>

#include "kernel/lock.h"
#include "mm/cpu.h"

struct cls {
	uintptr_t stack_top;		/* offset CLS_STACK_TOP_OFFSET: entry.S loads sp from here */
	struct mcs_node *mcs_top;	/* offset MCS_TOP_TP_OFFSET: the next free mcs[] node (kernel/lock.h) */
	/*
	 * the allocator's per-hart state (default proximity, caches) at a fixed, small offset from tp: what
	 * the inline paths read lies within a load's 12-bit offset of tp (the asserts below)
	 */
	struct mm_cpu mm __attribute__((aligned(MM_CPU_TP_OFFSET)));
	struct cls *self;
	uint32_t hartid;
	unsigned index;			/* 0..nharts-1, in hart-id order (topo.hart[]) */
	unsigned cluster;
	unsigned x, y;
	uint32_t arrived;		/* set by the hart when it reaches secondary_main */
	uint32_t call_req;		/* generation of the smp_call_n() this hart is asked to run */
	uint32_t call_seen;		/* last generation it ran */
	uint64_t ops;			/* free counter for tests and benchmarks */
	/* aligned to twice its size: see the overflow check in kernel/lock.h (struct cls inherits it) */
	struct mcs_node mcs[MCS_NEST_MAX] __attribute__((aligned(MCS_NODES_ALIGN)));
};

_Static_assert(__builtin_offsetof(struct cls, stack_top) == CLS_STACK_TOP_OFFSET,
	       "boot/entry.S loads sp from tp + CLS_STACK_TOP_OFFSET");
_Static_assert(sizeof(((struct cls *)0)->stack_top) == 8, "boot/entry.S loads stack_top with ld");
_Static_assert(__builtin_offsetof(struct cls, mm) == MM_CPU_TP_OFFSET,
	       "mm/cpu.h finds struct mm_cpu at tp + MM_CPU_TP_OFFSET");
_Static_assert(__builtin_offsetof(struct mm_cpu, slab) == 0,
	       "the inline paths find the slab state at tp + MM_CPU_TP_OFFSET (mm/cpu.h: first)");
/* a load's 12-bit signed immediate reaches 2047 bytes past tp: the inline paths' tables must lie there */
_Static_assert(__builtin_offsetof(struct cls, mm.slab.cur) + sizeof(((struct slab_cpu *)0)->cur) <= 2048,
	       "slab_cpu.cur[] within one load immediate of tp");
_Static_assert(__builtin_offsetof(struct cls, mm.slab.cls_of_size) + sizeof(((struct slab_cpu *)0)->cls_of_size)
		       <= 2048,
	       "slab_cpu.cls_of_size[] within one load immediate of tp");
_Static_assert(__builtin_offsetof(struct cls, mcs_top) == MCS_TOP_TP_OFFSET,
	       "kernel/lock.h finds mcs_top at tp + MCS_TOP_TP_OFFSET");
_Static_assert(__builtin_offsetof(struct cls, mcs) % MCS_NODES_ALIGN == 0 && _Alignof(struct cls) >= MCS_NODES_ALIGN,
	       "kernel/lock.h's overflow check needs mcs[] aligned to MCS_NODES_ALIGN");

/**
 * cls_mcs_init() - give @c an empty MCS node stack (zeroed nodes: next == NULL).
 * @c: a CLS.
 *
 * Context: before the CLS is used for locks.
 */
static inline void cls_mcs_init(struct cls *c)
{
	c->mcs_top = c->mcs;
}

/**
 * cls_mcs_depth() - how many MCS nodes of @c are taken: the MCS locks its hart holds.
 * @c: a CLS.
 *
 * Context: any hart (exact on @c's own hart). Return: the depth, 0..MCS_NEST_MAX.
 */
static inline unsigned cls_mcs_depth(const struct cls *c)
{
	return (unsigned)(c->mcs_top - c->mcs);
}

/**
 * cls_self() - the calling hart's CLS.
 *
 * Context: any hart, after kmain/secondary_entry set tp. Return: the CLS tp points to.
 */
static inline struct cls *cls_self(void)
{
	struct cls *c;

	__asm__("mv %0, tp" : "=r"(c));
	return c;
}

/**
 * cls_of() - the CLS of hart index @i (for inspection by tests and the boot hart).
 * @i: a hart index.
 *
 * Context: any hart. Return: the CLS, NULL if the hart is not up.
 */
struct cls *cls_of(unsigned i);

/**
 * cls_set() - record @c as the CLS of hart index @i (cls_of()).
 * @i: a hart index.
 * @c: its CLS.
 *
 * Context: the boot hart while starting harts (kernel/smp.c).
 */
void cls_set(unsigned i, struct cls *c);

#endif /* __ASSEMBLER__ */
#endif
