/*
 * main.c - host test driver: runs the registered cases argv[1] selects (all without it; see
 * test_run_all()), with the randomised ones seeded from $TEST_SEED when it is set.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/test.h"

int main(int argc, char **argv)
{
	const char *seed = getenv("TEST_SEED");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (seed && *seed)
		test_seed = strtoull(seed, NULL, 0);
	return test_run_all(argc > 1 ? argv[1] : NULL) ? 1 : 0;
}
