/* printk.h - the console: whole lines from any hart, never interleaved; panic. */
#ifndef KERNEL_PRINTK_H
#define KERNEL_PRINTK_H

#include <stddef.h>
#include <stdint.h>

/* printk() - format with newlib's vsnprintf and write the result at once under the console lock. */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* panic() - print "panic: hart H: <reason>" and power off with a failure status. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* printk_log_pos() - bytes ever printed; printk_log_copy() - the log from position @from (NUL-terminated). */
uint64_t printk_log_pos(void);
size_t printk_log_copy(uint64_t from, char *dst, size_t max);

#endif
