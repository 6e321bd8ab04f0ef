/*
 * selftest.h - what the kernel runs of its suites and test programs, which tests/ implements (as mm/env.h
 * is mm's, implemented by the kernel): the kernel names these three and includes nothing of tests/, and
 * tests/ includes this header for their one declaration, so the folders' arrows point one way (tests/ ->
 * kernel/). Suites and programs register themselves in linker sections (TEST_SUITE(), TEST_PROGRAM()):
 * the kernel knows none of their files.
 */
#ifndef KERNEL_SELFTEST_H
#define KERNEL_SELFTEST_H

#include <stdint.h>

/**
 * test_run_all() - run the registered cases that @filter selects, print KTAP and "N passed, N failed".
 * @filter: NULL or "" = all; "suite.case", or a part of a suite's or a case's name.
 *
 * Context: the boot hart, the others parked (the cases call them). Return: the failed count, or 1 when
 * the filter selects nothing (a typo must not pass).
 */
int test_run_all(const char *filter);

/**
 * test_program_run() - run the test program registered as @name (tests/programs/: "bench", "soak").
 * @name: its name.
 * @arg: the bootarg's value or the console's word, passed on.
 *
 * Context: as test_run_all(). Return: the program's result (0 = pass); nonzero for an unknown name.
 */
int test_program_run(const char *name, const char *arg);

/* test_seed - the seed every randomised case draws from (the seed= bootarg; tests/test.h) */
extern uint64_t test_seed;

#endif
