/* ktap.c - the test runner shared by host and kernel: walks the test_suites section and prints KTAP v1. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mm/env.h"
#include "mm/err.h"
#include "tests/test.h"

/*
 * Every line goes out through mm_log() (mm/env.h): whole, never interleaved, to printk in the kernel and
 * stdout on the host. Cases run one at a time on the calling hart/thread; a case that wants all harts
 * uses the kernel's smp_call_all() itself.
 */

extern const struct test_suite __start_test_suites[];
extern const struct test_suite __stop_test_suites[];

static struct test *current;
uint64_t test_seed = TEST_SEED_DEFAULT;

uint64_t test_seed_for(struct test *t, uint64_t salt)
{
	/* splitmix64 of (seed, salt): nearby salts give unrelated streams */
	uint64_t z = test_seed + (salt + 1) * 0x9e3779b97f4a7c15ULL;

	if (t && !t->seed_noted) {
		t->seed_noted = 1;
		test_log("seed=0x%llx", (unsigned long long)test_seed);
	}
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 1;
}

void test_fail(struct test *t, const char *file, int line, const char *fmt, ...)
{
	const char *base = strrchr(file, '/');
	char prefix[96];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "        # %s:%d: ", base ? base + 1 : file, line);
	t->failures++;
	va_start(ap, fmt);
	mm_vlog(prefix, fmt, ap);
	va_end(ap);
}

void test_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mm_vlog("        # ", fmt, ap);
	va_end(ap);
}

/*
 * filter= selects cases. Empty: every case. "suite.case": the cases whose name contains "case" in the
 * suites whose name contains "suite". Otherwise a suite whose name contains the filter runs whole, and in
 * the other suites the cases whose name contains it run.
 */
static int contains(const char *name, const char *part, size_t len)
{
	size_t n = strlen(name);

	for (size_t i = 0; len <= n && i <= n - len; i++)
		if (!memcmp(name + i, part, len))
			return 1;
	return 0;
}

int test_filter_match(const char *filter, const char *suite, const char *tcase)
{
	const char *dot;

	if (!filter || !*filter)
		return 1;
	dot = strchr(filter, '.');
	if (dot)
		return contains(suite, filter, (size_t)(dot - filter)) && contains(tcase, dot + 1, strlen(dot + 1));
	return contains(suite, filter, strlen(filter)) || contains(tcase, filter, strlen(filter));
}

static int count_selected(const struct test_suite *s, const char *filter)
{
	const struct test_case *c;
	int n = 0;

	for (c = s->cases; c->name; c++)
		n += test_filter_match(filter, s->name, c->name);
	return n;
}

int test_count_selected(const char *filter)
{
	const struct test_suite *s;
	int n = 0;

	for (s = __start_test_suites; s < __stop_test_suites; s++)
		n += count_selected(s, filter);
	return n;
}

int test_run_all(const char *filter)
{
	const struct test_suite *s;
	int nsuites = 0, passed = 0, failed = 0, skipped = 0, idx = 0;

	for (s = __start_test_suites; s < __stop_test_suites; s++)
		nsuites += count_selected(s, filter) > 0;
	mm_log("KTAP version 1");
	mm_log("1..%d", nsuites);
	if (!nsuites) {
		mm_log("# filter '%s' matches no suite or case: nothing run", filter ? filter : "");
		mm_log("0 passed, 0 failed, nothing selected");
		return 1;
	}
	for (s = __start_test_suites; s < __stop_test_suites; s++) {
		const struct test_case *c;
		const char *skip = NULL;
		int n = count_selected(s, filter), sp = 0, sf = 0, ss = 0, i = 0;

		if (!n)
			continue;
		idx++;
		mm_log("    KTAP version 1");
		mm_log("    # Subtest: %s", s->name);
		mm_log("    1..%d", n);
		if (s->skip_if)
			skip = s->skip_if();
		for (c = s->cases; c->name; c++) {
			struct test t = { c->name, 0, 0, 0, NULL, 0 };

			if (!test_filter_match(filter, s->name, c->name))
				continue;
			i++;
			if (skip) {
				mm_log("    ok %d %s # SKIP %s", i, c->name, skip);
				ss++;
				continue;
			}
			current = &t;
			c->fn(&t);
			current = NULL;
			if (t.failures) {
				mm_log("    not ok %d %s", i, c->name);
				sf++;
			} else if (t.skipped) {
				mm_log("    ok %d %s # SKIP %s", i, c->name, t.skip_reason);
				ss++;
			} else {
				mm_log("    ok %d %s", i, c->name);
				sp++;
			}
		}
		mm_log("    # %s: pass:%d fail:%d skip:%d total:%d", s->name, sp, sf, ss, n);
		mm_log("%s %d %s", sf ? "not ok" : "ok", idx, s->name);
		passed += sp;
		failed += sf;
		skipped += ss;
	}
	mm_log("# Totals: pass:%d fail:%d skip:%d total:%d", passed, failed, skipped, passed + failed + skipped);
	mm_log("%d passed, %d failed", passed, failed);
	return failed;
}
