/* main.c - host test driver: runs every registered suite (optionally those whose name contains argv[1]). */
#include <stdio.h>

#include "tests/test.h"

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return test_run_all(argc > 1 ? argv[1] : NULL) ? 1 : 0;
}
