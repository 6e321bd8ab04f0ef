/* bench.h - what the benchmark files share: instruction bracket, PRNG, the newlib baseline, the sections. */
#ifndef KERNEL_BENCH_H
#define KERNEL_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include "tests/test.h"

/*
 * bench_insn() - instret with a compiler barrier, so that no access moves across a timing bracket.
 * Under -icount shift=0 it counts guest instructions of every hart together (tests/programs/bench.c).
 */
static inline uint64_t bench_insn(void)
{
	uint64_t v;

	__asm__ volatile("csrr %0, instret" : "=r"(v) : : "memory");
	return v;
}

/* a deterministic stream from a fixed seed (never 0): tests/test.h's test_rand(), xorshift64* */
struct bench_rng {
	uint64_t s;
};

static inline uint64_t bench_rand(struct bench_rng *r)
{
	return test_rand(&r->s);
}

/* bench_pareto() - a Pareto(alpha = 1) size in [lo, hi]: P(size >= s) = lo / s, integer arithmetic only. */
static inline size_t bench_pareto(struct bench_rng *r, size_t lo, size_t hi)
{
	uint64_t u = (bench_rand(r) >> 32) + 1;		/* 1 .. 2^32 */
	uint64_t s = ((uint64_t)lo << 32) / u;

	return s > hi ? hi : s;
}

/* bench_fmt_ratio() - "key=a.bc" for num/den, rounded (den 0 gives 0.00), written to @out. */
void bench_fmt_ratio(char *out, size_t len, const char *key, uint64_t num, uint64_t den);

/*
 * The newlib baseline: newlib's own malloc/free in an sbrk arena carved from the boot hart's cluster
 * (libc_set_arena()), behind one global lock as a kernel without per-cluster heaps would use it.
 * bench_newlib_init() sets the arena up once per boot; 0 or an error code.
 */
int bench_newlib_init(void);
/* bench_newlib_extent() - bytes of the arena newlib has taken through sbrk so far. */
uint64_t bench_newlib_extent(void);

/* The sections, each printing its own "bench: name=..." lines. */
void bench_traces(void);		/* tests/programs/bench_traces.c: name=trace and name=frag */
void bench_remote_burst(void);	/* the same file: name=remote and name=burst */

#endif
