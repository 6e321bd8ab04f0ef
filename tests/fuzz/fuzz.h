/* fuzz.h - what the libFuzzer targets share: an input reader, an op trace, arenas with guard pages. */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/err.h"
#include "tests/test.h"

/*
 * Checks use the vocabulary of tests/test.h (EXPECT_*). In a fuzzer the first failed check is a finding:
 * fuzz_common.c's test_fail() prints it, then the last FUZZ_TRACE_LEN operations (fuzz_op()), and
 * abort()s so that libFuzzer saves the input. The struct test every target passes is fuzz_t.
 */
extern struct test fuzz_t;
#define FT (&fuzz_t)

/* A check with a printf-style message of its own (for invariants EXPECT_* cannot spell). */
#define FUZZ_CHECK(cond, ...)                                                                       \
	do {                                                                                        \
		fuzz_t.checks++;                                                                    \
		if (!(cond))                                                                        \
			test_fail(FT, __FILE__, __LINE__, __VA_ARGS__);                             \
	} while (0)

/* ---- reading the input: every read succeeds, an exhausted input reads as zeros --------------------------- */

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline bool fin_more(const struct fuzz_in *in)
{
	return in->n > 0;
}

static inline uint8_t fin_u8(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t fin_u16(struct fuzz_in *in)
{
	uint16_t v = fin_u8(in);

	return (uint16_t)(v | (uint16_t)fin_u8(in) << 8);
}

static inline uint32_t fin_u32(struct fuzz_in *in)
{
	uint32_t v = fin_u16(in);

	return v | (uint32_t)fin_u16(in) << 16;
}

static inline uint64_t fin_u64(struct fuzz_in *in)
{
	uint64_t v = fin_u32(in);

	return v | (uint64_t)fin_u32(in) << 32;
}

/*
 * fin_size() - a request size with a useful spread, from 1 to 3 bytes of input: small (1..256), 16-bit,
 * a power of two (2^0..2^(maxlog-1)) nudged by -8..+7, or any 64-bit value (0 and absurd sizes included).
 */
static inline uint64_t fin_size(struct fuzz_in *in, unsigned maxlog)
{
	uint8_t k = fin_u8(in);

	switch (k & 3) {
	case 0:
		return (uint64_t)fin_u8(in) + 1;
	case 1:
		return fin_u16(in);
	case 2: {
		uint8_t b = fin_u8(in);
		uint64_t v = (uint64_t)1 << ((k >> 2) % maxlog);

		return v + (uint64_t)(int64_t)((int)(b & 15) - 8);
	}
	default:
		return fin_u64(in);
	}
}

/* ---- op trace: the last operations, printed when a check fails -------------------------------------------- */

#define FUZZ_TRACE_LEN 24

/* fuzz_op() - record operation @what (a string literal) with up to three arguments; cheap, no formatting. */
void fuzz_op(const char *what, uint64_t a, uint64_t b, uint64_t c);

/* fuzz_begin() - start of one input: clear the trace, the op counter and the check count. */
void fuzz_begin(void);

/* ---- arenas ------------------------------------------------------------------------------------------------ */

/*
 * fuzz_arena() - @size bytes of zeroed memory whose start is aligned to @align (a power of two) plus
 * @skew bytes, between two inaccessible guard pages: a write past either end faults. Mapped once per
 * call site for the life of the process (the targets keep the pointer in a static), so no leak.
 */
void *fuzz_arena(size_t size, size_t align, size_t skew);

/* ASan poisoning of memory the code under test must never touch (no-ops without ASan). */
void fuzz_poison(const void *p, size_t n);
void fuzz_unpoison(const void *p, size_t n);

/*
 * fuzz_fill() - write a pattern derived from @seed over a block [p, p+n) (all of it up to 4 KiB; above, the
 * first and last 256 bytes and 16 bytes of every 4 KiB). fuzz_fill_check() - whether the pattern written
 * by fuzz_fill(p, @filled, seed) is intact in its first @upto bytes (a prefix, after a resize).
 */
void fuzz_fill(void *p, size_t n, uint64_t seed);
bool fuzz_fill_check(const void *p, size_t filled, size_t upto, uint64_t seed);

static inline bool fuzz_fill_ok(const void *p, size_t n, uint64_t seed)
{
	return fuzz_fill_check(p, n, n, seed);
}

#endif
