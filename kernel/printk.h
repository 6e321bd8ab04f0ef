/* printk.h - the console: whole lines from any hart, never interleaved; panic. */
#ifndef KERNEL_PRINTK_H
#define KERNEL_PRINTK_H

#include <stddef.h>
#include <stdint.h>

/**
 * printk() - format with newlib's vsnprintf and write the result at once under the console lock; the
 * text also goes into the log ring that printk_log_copy() reads.
 * @fmt: printf format (up to 511 bytes of output; the rest is cut), then its arguments.
 *
 * Context: any hart; takes the console's ticket lock (not while panicking: then it writes at once).
 */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * panic() - print "panic: hart H: <reason>" and power off with a failure status.
 * @fmt: printf format of the reason, then its arguments.
 *
 * Context: any hart, any lock held. Return: never.
 */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/**
 * printk_log_pos() - the bytes ever printed: the log ring's write position.
 *
 * Context: any hart; takes the console lock. Return: the position.
 */
uint64_t printk_log_pos(void);

/**
 * printk_log_copy() - the log from position @from, as far as the ring still holds it.
 * @from: a position from printk_log_pos() (older text than the ring holds is skipped).
 * @dst: the text, NUL-terminated when @max > 0.
 * @max: bytes at @dst.
 *
 * Context: any hart; takes the console lock. Return: bytes copied, the NUL excluded.
 */
size_t printk_log_copy(uint64_t from, char *dst, size_t max);

#endif
