/* test_ktap.c - the runner's filter= (suite names, case names, "suite.case", nothing selected) and seeds. */
#include <stddef.h>

#include "tests/test.h"

static void filter_empty_selects_all(struct test *t)
{
	EXPECT_TRUE(t, test_filter_match(NULL, "mem", "mem_alloc_basic"));
	EXPECT_TRUE(t, test_filter_match("", "mem", "mem_alloc_basic"));
}

static void filter_suite_name(struct test *t)
{
	/* a part of a suite's name runs the whole suite */
	EXPECT_TRUE(t, test_filter_match("host_ra", "host_range", "range_subtract_basic"));
	EXPECT_FALSE(t, test_filter_match("host_ra", "host_buddy", "buddy_split"));
}

static void filter_case_name(struct test *t)
{
	/* a case's name alone selects that case wherever it is, not its neighbours */
	EXPECT_TRUE(t, test_filter_match("mem_checked_frees", "mem", "mem_checked_frees"));
	EXPECT_FALSE(t, test_filter_match("mem_checked_frees", "mem", "mem_default_placement"));
}

static void filter_suite_dot_case(struct test *t)
{
	EXPECT_TRUE(t, test_filter_match("range.basic", "host_range", "range_subtract_basic"));
	EXPECT_FALSE(t, test_filter_match("range.basic", "host_range", "range_subtract_random"));
	EXPECT_FALSE(t, test_filter_match("range.basic", "host_buddy", "basic"));
	/* "suite." is the whole suite, ".case" that case in every suite */
	EXPECT_TRUE(t, test_filter_match("host_range.", "host_range", "range_subtract_random"));
	EXPECT_TRUE(t, test_filter_match(".random", "host_buddy", "buddy_random"));
}

static void filter_counts_registered_cases(struct test *t)
{
	/* this suite's own six cases, by suite name, by "suite.case" and by a case name */
	EXPECT_EQ(t, test_count_selected("host_ktap"), 6);
	EXPECT_EQ(t, test_count_selected("host_ktap.filter_case_name"), 1);
	EXPECT_EQ(t, test_count_selected("filter_counts_registered_cases"), 1);
	EXPECT_EQ(t, test_count_selected("no_such_suite_or_case"), 0);
	EXPECT_GT(t, test_count_selected(NULL), test_count_selected("host_ktap"));
}

static void seed_replays(struct test *t)
{
	uint64_t saved = test_seed, a0, a1, b0;

	test_seed = 42;
	a0 = test_seed_for(t, 0);
	a1 = test_seed_for(NULL, 1);
	EXPECT_EQ(t, test_seed_for(NULL, 0), a0);	/* same seed, same stream */
	EXPECT_NE(t, a1, a0);				/* another salt, another stream */
	EXPECT_TRUE(t, t->seed_noted);			/* the case's KTAP output named the seed */
	test_seed = 43;
	b0 = test_seed_for(NULL, 0);
	EXPECT_NE(t, b0, a0);				/* another seed, another stream */
	test_seed = 0;
	EXPECT_NE(t, test_seed_for(NULL, 0), 0);	/* never xorshift's fixed point */
	test_seed = saved;
}

TEST_SUITE(host_ktap, TEST_CASE(filter_empty_selects_all), TEST_CASE(filter_suite_name),
	   TEST_CASE(filter_case_name), TEST_CASE(filter_suite_dot_case), TEST_CASE(filter_counts_registered_cases),
	   TEST_CASE(seed_replays));
