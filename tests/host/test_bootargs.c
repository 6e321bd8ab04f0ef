/* test_bootargs.c - kernel/bootargs.c: flags, numbers, strings, unknown keys, bad values, long input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/bootargs.h"
#include "mm/err.h"
#include "tests/test.h"

#define MAX_WARN 16

static char warned[MAX_WARN][600];
static unsigned nwarned;

static void collect(const char *line)
{
	if (nwarned < MAX_WARN)
		snprintf(warned[nwarned], sizeof(warned[0]), "%s", line);
	nwarned++;
}

static int quiet, debug;
static uint64_t num, mem;
static char mesh[8], name[32];

static const struct bootarg_key keys[] = {
	{ "quiet", "less output", BOOTARG_FLAG, &quiet, sizeof(quiet) },
	{ "debug", "debug checks", BOOTARG_FLAG, &debug, sizeof(debug) },
	{ "num", "a number", BOOTARG_U64, &num, sizeof(num) },
	{ "mem", "bytes", BOOTARG_U64, &mem, sizeof(mem) },
	{ "mesh", "XxY", BOOTARG_STR, mesh, sizeof(mesh) },
	{ "name", "a name", BOOTARG_STR, name, sizeof(name) },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
#define ACCEPTED "quiet debug num mem mesh name"

static int run(const char *cmdline)
{
	nwarned = 0;
	memset(warned, 0, sizeof(warned));
	return bootargs_parse(cmdline, keys, NKEYS, collect);
}

static void reset(void)
{
	quiet = debug = -1;
	num = mem = 12345;
	strcpy(mesh, "keep");
	strcpy(name, "keep");
}

static void bootargs_flags(struct test *t)
{
	reset();
	EXPECT_EQ(t, run("quiet debug=0"), 0);
	EXPECT_EQ(t, quiet, 1);
	EXPECT_EQ(t, debug, 0);
	EXPECT_EQ(t, run("quiet=off debug=yes"), 0);
	EXPECT_EQ(t, quiet, 0);
	EXPECT_EQ(t, debug, 1);
	EXPECT_EQ(t, run("debug=maybe"), 1);
	EXPECT_EQ(t, debug, 1);		/* a bad value leaves dst alone */
	EXPECT_EQ(t, nwarned, 1);
	EXPECT_TRUE(t, strstr(warned[0], "bootargs: bad value for 'debug': 'maybe'") == warned[0]);
	EXPECT_EQ(t, run("debug="), 1);
}

static void bootargs_numbers(struct test *t)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "0", 0 }, { "42", 42 }, { "0x1F", 31 }, { "0Xff", 255 }, { "4K", 4096 }, { "4k", 4096 },
		{ "16M", 16ull << 20 }, { "2G", 2ull << 30 }, { "0x10k", 16 << 10 }, { "007", 7 },
		{ "18446744073709551615", UINT64_MAX }, { "0xffffffffffffffff", UINT64_MAX },
		{ "17179869183G", 17179869183ull << 30 },
	};
	static const struct { const char *s; const char *why; } bad[] = {
		{ "", "empty" }, { "abc", "not a number" }, { "-1", "not a number" }, { "0x", "junk" },
		{ "12abc", "junk" }, { "4KB", "junk" }, { "1T", "junk" }, { "0xg", "not a number" },
		{ "18446744073709551616", "overflows" }, { "0x10000000000000000", "overflows" },
		{ "17179869184G", "overflows" }, { "99999999999999999999999999", "overflows" },
	};
	unsigned i;
	uint64_t v;
	char line[64];

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 1;
		EXPECT_TRUE(t, bootargs_parse_u64(good[i].s, strlen(good[i].s), &v) == NULL);
		EXPECT_EQ(t, v, good[i].v);
		snprintf(line, sizeof(line), "num=%s", good[i].s);
		reset();
		EXPECT_EQ(t, run(line), 0);
		EXPECT_EQ(t, num, good[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why;

		v = 77;
		why = bootargs_parse_u64(bad[i].s, strlen(bad[i].s), &v);
		EXPECT_TRUE(t, why && strstr(why, bad[i].why));
		if (!why || !strstr(why, bad[i].why))
			test_log("'%s': %s", bad[i].s, why ? why : "accepted");
		EXPECT_EQ(t, v, 77);
		snprintf(line, sizeof(line), "num=%s", bad[i].s);
		reset();
		EXPECT_EQ(t, run(line), 1);
		EXPECT_EQ(t, num, 12345);
		EXPECT_TRUE(t, strstr(warned[0], "bootargs: bad value for 'num'") == warned[0]);
		EXPECT_TRUE(t, strstr(warned[0], bad[i].why) != NULL);
	}
	/* only the given length is read */
	EXPECT_TRUE(t, bootargs_parse_u64("123456", 2, &v) == NULL);
	EXPECT_EQ(t, v, 12);
	EXPECT_TRUE(t, bootargs_parse_u64(NULL, 0, &v) != NULL);
	reset();
	EXPECT_EQ(t, run("num"), 1);
	EXPECT_TRUE(t, strstr(warned[0], "needs '=<number>'") != NULL);
	/* several keys, the last occurrence wins */
	EXPECT_EQ(t, run("num=1 mem=64M num=2"), 0);
	EXPECT_EQ(t, num, 2);
	EXPECT_EQ(t, mem, 64ull << 20);
}

static void bootargs_strings(struct test *t)
{
	reset();
	EXPECT_EQ(t, run("mesh=2x2 name=first name=second"), 0);
	EXPECT_TRUE(t, strcmp(mesh, "2x2") == 0);
	EXPECT_TRUE(t, strcmp(name, "second") == 0);
	EXPECT_EQ(t, run("name="), 0);
	EXPECT_EQ(t, name[0], 0);
	EXPECT_EQ(t, run("name=a=b"), 0);	/* only the first '=' splits */
	EXPECT_TRUE(t, strcmp(name, "a=b") == 0);
	/* mesh has 8 bytes: 7 characters fit, 8 do not */
	EXPECT_EQ(t, run("mesh=1234567"), 0);
	EXPECT_TRUE(t, strcmp(mesh, "1234567") == 0);
	EXPECT_EQ(t, run("mesh=12345678"), 1);
	EXPECT_TRUE(t, strcmp(mesh, "1234567") == 0);
	EXPECT_TRUE(t, strstr(warned[0], "bootargs: bad value for 'mesh': '12345678' is too long") == warned[0]);
	EXPECT_EQ(t, run("mesh"), 1);
	EXPECT_TRUE(t, strstr(warned[0], "needs '=<text>'") != NULL);
}

static void bootargs_unknown_keys(struct test *t)
{
	reset();
	EXPECT_EQ(t, run("foo quiet bar=1"), 2);
	EXPECT_EQ(t, quiet, 1);
	EXPECT_EQ(t, nwarned, 2);
	EXPECT_TRUE(t, strcmp(warned[0], "bootargs: unknown key 'foo' (accepted: " ACCEPTED ")") == 0);
	EXPECT_TRUE(t, strcmp(warned[1], "bootargs: unknown key 'bar' (accepted: " ACCEPTED ")") == 0);
	/* keys are whole words: prefixes and case differences are unknown */
	EXPECT_EQ(t, run("qui Quiet quiets =5"), 4);
	EXPECT_TRUE(t, strstr(warned[3], "unknown key ''") != NULL);
	/* no warn callback: still counted */
	EXPECT_EQ(t, bootargs_parse("foo num=x", keys, NKEYS, NULL), 2);
	/* an empty table */
	nwarned = 0;
	EXPECT_EQ(t, bootargs_parse("foo", keys, 0, collect), 1);
	EXPECT_TRUE(t, strcmp(warned[0], "bootargs: unknown key 'foo' (accepted:)") == 0);
}

static void bootargs_empty_and_spaces(struct test *t)
{
	reset();
	EXPECT_EQ(t, run(""), 0);
	EXPECT_EQ(t, run(NULL), 0);
	EXPECT_EQ(t, run("   \t\n  "), 0);
	EXPECT_EQ(t, nwarned, 0);
	EXPECT_EQ(t, run("\tquiet\n\nnum=5\r\n"), 0);
	EXPECT_EQ(t, quiet, 1);
	EXPECT_EQ(t, num, 5);
}

static void bootargs_long_input(struct test *t)
{
	size_t n = 20000;
	char *s = malloc(n + 1);
	struct bootarg_key many[100];
	static char names[100][40];
	unsigned i;

	/* a huge unknown word: the message quotes a bounded prefix */
	memset(s, 'k', n);
	s[n] = '\0';
	reset();
	EXPECT_EQ(t, run(s), 1);
	EXPECT_LT(t, strlen(warned[0]), 512);
	EXPECT_TRUE(t, strstr(warned[0], "kkk...' (accepted: quiet") != NULL);
	/* a huge value for a string key and for a number */
	memcpy(s, "name=", 5);
	EXPECT_EQ(t, run(s), 1);
	EXPECT_TRUE(t, strstr(warned[0], "is too long") != NULL);
	EXPECT_TRUE(t, strcmp(name, "keep") == 0);
	memcpy(s, "num=1", 5);
	memset(s + 5, '1', n - 5);
	EXPECT_EQ(t, run(s), 1);
	EXPECT_TRUE(t, strstr(warned[0], "overflows") != NULL);
	/* thousands of words */
	for (i = 0; i + 6 < n; i += 6)
		memcpy(s + i, "quiet ", 6);
	s[i] = '\0';
	EXPECT_EQ(t, run(s), 0);
	/* a long accepted list is cut with "..." and stays one bounded line */
	for (i = 0; i < 100; i++) {
		snprintf(names[i], sizeof(names[i]), "some_rather_long_key_name_%u", i);
		many[i] = (struct bootarg_key){ names[i], "", BOOTARG_FLAG, &quiet, sizeof(quiet) };
	}
	nwarned = 0;
	EXPECT_EQ(t, bootargs_parse("nope", many, 100, collect), 1);
	EXPECT_LT(t, strlen(warned[0]), 512);
	EXPECT_TRUE(t, strstr(warned[0], " ...)") != NULL);
	EXPECT_TRUE(t, strstr(warned[0], "some_rather_long_key_name_0 ") != NULL);
	free(s);
}

static void bootargs_table_bugs(struct test *t)
{
	int small;
	const struct bootarg_key broken[] = {
		{ "f", "", BOOTARG_FLAG, NULL, 0 },
		{ "n", "", BOOTARG_U64, &small, sizeof(small) },
		{ "s", "", BOOTARG_STR, NULL, 0 },
		{ NULL, "", BOOTARG_FLAG, NULL, 0 },
	};

	nwarned = 0;
	EXPECT_EQ(t, bootargs_parse("f n=1 s=x", broken, 4, collect), 3);
	EXPECT_TRUE(t, strstr(warned[1], "key table bug") != NULL);
}

static unsigned nhelp;
static char help0[200];

static void help_line(const char *line)
{
	if (!nhelp++)
		snprintf(help0, sizeof(help0), "%s", line);
}

static void bootargs_help_lines(struct test *t)
{
	nhelp = 0;
	bootargs_help(keys, NKEYS, help_line);
	EXPECT_EQ(t, nhelp, NKEYS);
	EXPECT_TRUE(t, strcmp(help0, "  quiet                  less output") == 0);
}

TEST_SUITE(bootargs,
	   TEST_CASE(bootargs_flags),
	   TEST_CASE(bootargs_numbers),
	   TEST_CASE(bootargs_strings),
	   TEST_CASE(bootargs_unknown_keys),
	   TEST_CASE(bootargs_empty_and_spaces),
	   TEST_CASE(bootargs_long_input),
	   TEST_CASE(bootargs_table_bugs),
	   TEST_CASE(bootargs_help_lines));
