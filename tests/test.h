/* test.h - one assertion vocabulary for host and in-kernel tests; suites register through a linker section. */
#ifndef TESTS_TEST_H
#define TESTS_TEST_H

#include <stdint.h>

/*
 * A case is a function taking a struct test. EXPECT_* records a failure and goes on; ASSERT_* records it
 * and ends the case (it returns from the case function, so use it only there, not in helpers that return
 * a value). Each failure prints one KTAP diagnostic line "    # file:line: message".
 *
 * A suite is declared once in its own file:
 *	static void my_case(struct test *t) { EXPECT_EQ(t, 1 + 1, 2); }
 *	TEST_SUITE(my_suite, TEST_CASE(my_case));
 * and the runner finds it through the "test_suites" section: there is no list to edit.
 */
struct test {
	const char *name;
	int failures;
	int checks;
	int skipped;
	const char *skip_reason;
	int seed_noted;
};

struct test_case {
	const char *name;
	void (*fn)(struct test *t);
};

struct test_suite {
	const char *name;
	const struct test_case *cases;
	/* optional: return non-zero to skip the whole suite on this machine (e.g. one hart only) */
	const char *(*skip_if)(void);
};

#define TEST_CASE(f) { #f, f }

#define TEST_SUITE(sname, ...)                                                                      \
	static const struct test_case sname##_cases_[] = { __VA_ARGS__, { 0, 0 } };                 \
	__attribute__((used, section("test_suites"), aligned(8)))                                   \
	const struct test_suite sname##_suite_ = { #sname, sname##_cases_, 0 }

#define TEST_SUITE_SKIP_IF(sname, skipfn, ...)                                                      \
	static const struct test_case sname##_cases_[] = { __VA_ARGS__, { 0, 0 } };                 \
	__attribute__((used, section("test_suites"), aligned(8)))                                   \
	const struct test_suite sname##_suite_ = { #sname, sname##_cases_, skipfn }

/* Provided by the runner (tests/ktap.c): print a diagnostic for a failed check. */
void test_fail(struct test *t, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Mark the running case as skipped (KTAP "# SKIP reason"); the case should return after it. */
static inline void test_skip(struct test *t, const char *reason)
{
	t->skipped = 1;
	t->skip_reason = reason;
}
/* Print a KTAP diagnostic line ("    # ...") for the running case. */
void test_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TEST_CHECK_(t, cond, onfail, ...)                                                           \
	do {                                                                                        \
		(t)->checks++;                                                                      \
		if (!(cond)) {                                                                      \
			test_fail((t), __FILE__, __LINE__, __VA_ARGS__);                            \
			onfail;                                                                     \
		}                                                                                   \
	} while (0)

/* CHECK_OR_FALSE() - a check inside a helper that returns bool: record the failure and return false */
#define CHECK_OR_FALSE(t, cond, ...) TEST_CHECK_(t, (cond), return false, __VA_ARGS__)

#define EXPECT_TRUE(t, c)   TEST_CHECK_(t, (c), (void)0, "expected %s", #c)
#define ASSERT_TRUE(t, c)   TEST_CHECK_(t, (c), return, "expected %s", #c)
#define EXPECT_FALSE(t, c)  TEST_CHECK_(t, !(c), (void)0, "expected !(%s)", #c)
#define ASSERT_FALSE(t, c)  TEST_CHECK_(t, !(c), return, "expected !(%s)", #c)

#define TEST_CMP_(t, a, op, b, onfail)                                                              \
	do {                                                                                        \
		int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                       \
		TEST_CHECK_(t, a_ op b_, onfail, "%s %s %s (0x%llx vs 0x%llx, %lld vs %lld)", #a,     \
			    #op, #b, (unsigned long long)a_, (unsigned long long)b_, (long long)a_,   \
			    (long long)b_);                                                         \
	} while (0)

#define EXPECT_EQ(t, a, b) TEST_CMP_(t, a, ==, b, (void)0)
#define ASSERT_EQ(t, a, b) TEST_CMP_(t, a, ==, b, return)
#define EXPECT_NE(t, a, b) TEST_CMP_(t, a, !=, b, (void)0)
#define ASSERT_NE(t, a, b) TEST_CMP_(t, a, !=, b, return)
#define EXPECT_LT(t, a, b) TEST_CMP_(t, a, <, b, (void)0)
#define EXPECT_LE(t, a, b) TEST_CMP_(t, a, <=, b, (void)0)
#define EXPECT_GT(t, a, b) TEST_CMP_(t, a, >, b, (void)0)
#define EXPECT_GE(t, a, b) TEST_CMP_(t, a, >=, b, (void)0)
#define ASSERT_LE(t, a, b) TEST_CMP_(t, a, <=, b, return)
#define ASSERT_GE(t, a, b) TEST_CMP_(t, a, >=, b, return)

/* error-code checks print the code's name */
#define TEST_ERR_(t, e, want, onfail)                                                               \
	do {                                                                                        \
		int e_ = (e), w_ = (want);                                                          \
		TEST_CHECK_(t, e_ == w_, onfail, "%s returned %d (%s), expected %d (%s)", #e, e_,     \
			    err_str(e_), w_, err_str(w_));                                          \
	} while (0)
#define EXPECT_OK(t, e)       TEST_ERR_(t, e, 0, (void)0)
#define ASSERT_OK(t, e)       TEST_ERR_(t, e, 0, return)
#define EXPECT_ERR(t, e, w)   TEST_ERR_(t, e, w, (void)0)
#define ASSERT_ERR(t, e, w)   TEST_ERR_(t, e, w, return)

/* test_run_all() and test_seed are declared in kernel/selftest.h: what the kernel runs of tests/ */
#include "kernel/selftest.h"

/*
 * Randomised cases draw every sequence from test_seed (the seed= bootarg in the kernel, $TEST_SEED on the
 * host; TEST_SEED_DEFAULT otherwise), so a seed and a topology replay the same requests (with all harts
 * at once, each hart's requests; their interleaving is the host's). test_seed_for() gives the seed of one
 * stream (@salt: a hart index, a case-local constant), never 0 (xorshift's fixed point), and prints the
 * base seed once per case as a KTAP diagnostic "# seed=0x..." when @t is not NULL. Per-hart bodies call
 * it with NULL, after their case has called it once with its own @t.
 */
#define TEST_SEED_DEFAULT 0x9e3779b97f4a7c15ULL

/* test_rand() - the suites' one generator: xorshift64* over *@s (not 0), the next 64 random bits */
static inline uint64_t test_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}
uint64_t test_seed_for(struct test *t, uint64_t salt);

/* Whether filter selects case tcase of suite suite, and how many registered cases it selects. */
int test_filter_match(const char *filter, const char *suite, const char *tcase);
int test_count_selected(const char *filter);

#endif
