/* test_debug.c - the debug allocator (make DEBUG=1): overflows and writes after free are caught and traced. */
#include <stdio.h>
#include <string.h>

#include "kernel/printk.h"
#include "mm/mem.h"
#include "tests/test.h"

static const char *not_debug(void)
{
	return MM_DEBUG ? NULL : "debug allocator not built in (make DEBUG=1 / build/kernel-debug.elf)";
}

/* whether the kernel log since @pos has a line containing @what */
static int logged(uint64_t pos, const char *what)
{
	static char buf[4096];

	printk_log_copy(pos, buf, sizeof(buf));
	return strstr(buf, what) != NULL;
}

static void debug_overflow_reported(struct test *t)
{
	uint64_t pos = printk_log_pos();
	size_t sz;
	char *p;

	ASSERT_OK(t, mem_alloc(100, NULL, MEM_VALID_SYS, (void **)&p));
	EXPECT_OK(t, mem_getsize(p, &sz));
	EXPECT_EQ(t, sz, 100);				/* the size asked for, as recorded */
	p[100] = 'x';					/* one byte past the end */
	EXPECT_ERR(t, mem_free_checked(p), ERR_CORRUPT);
	EXPECT_TRUE(t, logged(pos, "overflow past the 100 bytes"));
	EXPECT_TRUE(t, logged(pos, "allocated by hart"));
}

static void debug_in_bounds_is_quiet(struct test *t)
{
	char *p;

	ASSERT_OK(t, mem_alloc(100, NULL, MEM_VALID_SYS, (void **)&p));
	memset(p, 0xee, 100);
	EXPECT_OK(t, mem_free_checked(p));
}

static void debug_use_after_free_reported(struct test *t)
{
	uint64_t pos = printk_log_pos();
	char *p, *q;

	ASSERT_OK(t, mem_alloc(200, NULL, MEM_VALID_SYS, (void **)&p));
	ASSERT_OK(t, mem_free_checked(p));
	p[40] = 1;					/* write after free: the block sits in this hart's cache */
	/* the next allocation of that size pops the same block, finds the poison broken, takes another */
	ASSERT_OK(t, mem_alloc(200, NULL, MEM_VALID_SYS, (void **)&q));
	EXPECT_TRUE(t, q != p);
	EXPECT_TRUE(t, logged(pos, "use after free"));
	EXPECT_OK(t, mem_free_checked(q));
}

TEST_SUITE_SKIP_IF(debug_alloc, not_debug, TEST_CASE(debug_overflow_reported), TEST_CASE(debug_in_bounds_is_quiet),
		   TEST_CASE(debug_use_after_free_reported));
