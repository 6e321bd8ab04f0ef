/*
 * rng.h - the host suites' fixed-seed sequence over test_rand() (tests/test.h): every run performs the
 * same operations. Each file that includes it gets its own sequence (one static state per file).
 */
#ifndef TESTS_HOST_RNG_H
#define TESTS_HOST_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "tests/test.h"

static uint64_t rng __attribute__((unused));

/* rng_seed() - restart the file's sequence at @s (0 becomes 1: xorshift's fixed point). */
static inline void rng_seed(uint64_t s)
{
	rng = s ? s : 1;
}

/* rnd() - the next 64 random bits of the file's sequence. */
static inline uint64_t rnd(void)
{
	return test_rand(&rng);
}

/* rnd_below() - a number in [0, @n), 0 when @n is 0. */
static inline size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* rnd_range() - a number in [@lo, @hi]. */
static inline size_t rnd_range(size_t lo, size_t hi)
{
	return lo + rnd_below(hi - lo + 1);
}

/* One band of rnd_bands(): taken when the draw is below @pct (cumulative percent); a number in [@lo, @hi]. */
struct rnd_band {
	unsigned pct;
	size_t lo, hi;
};

/*
 * rnd_bands() - draw a percent (rnd_below(100)), take the first of the @n bands it falls in (the last band
 * takes whatever is left), then a number in that band: the same draws as an if-chain over the bands.
 */
static inline size_t rnd_bands(const struct rnd_band *b, size_t n)
{
	size_t r = rnd_below(100), i;

	for (i = 0; i + 1 < n && r >= b[i].pct; i++)
		;
	return rnd_range(b[i].lo, b[i].hi);
}

#endif
