/* cpu.h - the allocator's per-hart state; the kernel embeds it in each hart's CLS. */
#ifndef MM_CPU_H
#define MM_CPU_H

#include <stdint.h>

struct mem_proximity_s;

struct mm_cpu {
	unsigned hart;				/* hart index (mm_self()) */
	unsigned cluster;			/* the hart's cluster id */
	struct mem_proximity_s *prox;		/* default proximity: this cluster's (prox == NULL) */
};

/* mm_cpu_self() - the calling hart's struct mm_cpu (in its CLS); provided by the embedding. */
struct mm_cpu *mm_cpu_self(void);

#endif
