/*
 * programs.h - the kernel's test programs beside its suites: the benchmarks (bench=), the soak (soak=).
 * A program registers itself with TEST_PROGRAM() in its own file, as a suite does with TEST_SUITE(); the
 * kernel runs one by name (bootargs, the console's `bench`) through test_program_run(), knowing no file.
 */
#ifndef TESTS_PROGRAMS_PROGRAMS_H
#define TESTS_PROGRAMS_PROGRAMS_H

struct test_program {
	const char *name;
	int (*run)(const char *arg);	/* returns 0 = pass; arg: the bootarg's value or the console word */
};

#define TEST_PROGRAM(pname, fn)                                                                     \
	__attribute__((used, section("test_programs"), aligned(8)))                                 \
	const struct test_program pname##_program_ = { #pname, fn }

/**
 * test_program_run() - run the registered program @name with @arg.
 * @name: "bench", "soak", ...
 * @arg: its argument (a benchmark section, an operation count)
 *
 * Context: the boot hart, from kmain() or the console. Return: the program's verdict (0 = pass), or -1
 * (after one line saying so) if no program has that name.
 */
/* test_program_run() is declared in kernel/selftest.h: the kernel runs a program by name */
#include "kernel/selftest.h"

#endif
