/* ktap.c - the test runner shared by host and kernel: walks the test_suites section and prints KTAP v1. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mm/err.h"
#include "tests/test.h"

/*
 * The embedding provides test_out(): a whole line, printed atomically (printk in the kernel, stdout on the
 * host). Cases run one at a time on the calling hart/thread; a case that wants all harts uses the kernel's
 * smp_call_all() itself.
 */
void test_out(const char *line);

extern const struct test_suite __start_test_suites[];
extern const struct test_suite __stop_test_suites[];

static struct test *current;

static void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void outf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	test_out(buf);
}

void test_fail(struct test *t, const char *file, int line, const char *fmt, ...)
{
	char msg[200];
	const char *base = strrchr(file, '/');
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->failures++;
	outf("        # %s:%d: %s", base ? base + 1 : file, line, msg);
}

void test_skip(struct test *t, const char *reason)
{
	t->skipped = 1;
	t->skip_reason = reason;
}

void test_log(const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	outf("        # %s", msg);
}

static int matches(const char *filter, const char *name)
{
	return !filter || !*filter || strstr(name, filter) != NULL;
}

int test_run_all(const char *filter)
{
	const struct test_suite *s;
	int nsuites = 0, passed = 0, failed = 0, skipped = 0, idx = 0;

	for (s = __start_test_suites; s < __stop_test_suites; s++)
		nsuites += matches(filter, s->name);
	outf("KTAP version 1");
	outf("1..%d", nsuites);
	for (s = __start_test_suites; s < __stop_test_suites; s++) {
		const struct test_case *c;
		const char *skip = NULL;
		int n = 0, sp = 0, sf = 0, ss = 0, i = 0;

		if (!matches(filter, s->name))
			continue;
		idx++;
		for (c = s->cases; c->name; c++)
			n++;
		outf("    KTAP version 1");
		outf("    # Subtest: %s", s->name);
		outf("    1..%d", n);
		if (s->skip_if)
			skip = s->skip_if();
		for (c = s->cases; c->name; c++) {
			struct test t = { c->name, 0, 0, 0, NULL };

			i++;
			if (skip) {
				outf("    ok %d %s # SKIP %s", i, c->name, skip);
				ss++;
				continue;
			}
			current = &t;
			c->fn(&t);
			current = NULL;
			if (t.failures) {
				outf("    not ok %d %s", i, c->name);
				sf++;
			} else if (t.skipped) {
				outf("    ok %d %s # SKIP %s", i, c->name, t.skip_reason);
				ss++;
			} else {
				outf("    ok %d %s", i, c->name);
				sp++;
			}
		}
		outf("    # %s: pass:%d fail:%d skip:%d total:%d", s->name, sp, sf, ss, n);
		outf("%s %d %s", sf ? "not ok" : "ok", idx, s->name);
		passed += sp;
		failed += sf;
		skipped += ss;
	}
	outf("# Totals: pass:%d fail:%d skip:%d total:%d", passed, failed, skipped, passed + failed + skipped);
	outf("%d passed, %d failed", passed, failed);
	return failed;
}
