/* trap.c - every trap is a kernel bug here: print what, where, and power off with a failure. */
#include "kernel/kernel.h"
#include "kernel/printk.h"
#include "platform/csr.h"

extern char trap_vector[];

void trap_init(void)
{
	csr_write(stvec, (uintptr_t)trap_vector);
}

static const char *cause_name(uint64_t c)
{
	static const char *const names[] = {
		"instruction misaligned", "instruction access fault", "illegal instruction", "breakpoint",
		"load misaligned", "load access fault", "store misaligned", "store access fault",
		"ecall from U", "ecall from S", "?", "?", "instruction page fault", "load page fault", "?",
		"store page fault",
	};

	if (c >> 63)
		return "interrupt";
	return c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

void trap_fatal(uint64_t scause, uint64_t sepc, uint64_t stval)
{
	panic("trap: %s (scause=0x%llx) at sepc=0x%llx stval=0x%llx", cause_name(scause),
	      (unsigned long long)scause, (unsigned long long)sepc, (unsigned long long)stval);
}
