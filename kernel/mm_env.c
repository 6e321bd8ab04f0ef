/* mm_env.c - the kernel side of mm/env.h and kernel/lock.h's hooks: printk, panic, time CSR, CLS. */
#include "kernel/cls.h"
#include "kernel/printk.h"
#include "mm/env.h"
#include "platform/csr.h"

/* mm/env.c formats mm_log() and mm_panic() (and tests/ktap.c its lines); here they reach the console */
void mm_env_line(const char *line)
{
	printk("%s\n", line);
}

void mm_env_stop(const char *fn, const char *msg)
{
	panic("%s: %s", fn, msg);
}

uint64_t mm_clock(void)
{
	return rdtime();
}

unsigned mm_self(void)
{
	return cls_self()->index;
}
