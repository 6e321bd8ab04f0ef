/* programs.c - finds a registered test program by name (the "test_programs" section) and runs it. */
#include <string.h>

#include "kernel/printk.h"
#include "tests/programs/programs.h"

extern const struct test_program __start_test_programs[];
extern const struct test_program __stop_test_programs[];

int test_program_run(const char *name, const char *arg)
{
	const struct test_program *p;

	for (p = __start_test_programs; p < __stop_test_programs; p++)
		if (!strcmp(p->name, name))
			return p->run(arg);
	printk("programs: no program named '%s'\n", name);
	return -1;
}
