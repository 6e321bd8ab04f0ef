/* mm_env.c - the kernel side of mm/env.h and kernel/lock.h's hooks: printk, panic, time CSR, CLS. */
#include <stdarg.h>
#include <stdio.h>

#include "kernel/cls.h"
#include "kernel/printk.h"
#include "mm/env.h"
#include "platform/csr.h"

void mm_log(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printk("%s\n", buf);
}

void mm_panic(const char *fn, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	panic("%s: %s", fn, buf);
}

uint64_t mm_clock(void)
{
	return rdtime();
}

unsigned mm_self(void)
{
	return cls_self()->index;
}

void test_out(const char *line)
{
	printk("%s\n", line);
}
