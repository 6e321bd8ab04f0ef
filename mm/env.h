/*
 * env.h - the few services mm/ needs from whoever embeds it: the kernel (kernel/mm_env.c) or the host shim.
 * The dependency points one way: mm/ reaches the kernel only through kernel/lock.h (its spinlocks and
 * kernel_tp, the tp register) and this header's mm_env_line(), mm_env_stop(), mm_clock() and mm_self(),
 * which the kernel implements; the kernel's CLS reaches mm/ only as MM_CPU_TP_OFFSET (mm/cpu.h), whose
 * layout kernel/cls.h checks. kernel/lock.c itself needs nothing from mm/ (its own hooks: lock_halt(),
 * lock_kick(), lock_self(), lock_clock()). The README's "Layout" section has the whole folder rule.
 */
#ifndef MM_ENV_H
#define MM_ENV_H

#include <stdarg.h>
#include <stdint.h>

/**
 * mm_log() - print one whole line (no trailing newline needed); never interleaves with other harts.
 * @fmt: printf format, then its arguments.
 *
 * Formats into a line buffer (mm/env.c) and hands the line to mm_env_line().
 * Context: any hart, any lock held.
 */
void mm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * mm_vlog() - mm_log() with a fixed @prefix before the formatted text, from a va_list.
 * @prefix: printed as is before the text ("" for none).
 * @fmt: printf format.
 * @ap: its arguments.
 *
 * Context: any hart, any lock held.
 */
void mm_vlog(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/**
 * mm_panic() - a broken invariant: print "panic: <fn>: <msg>" and stop. Never for caller errors.
 * @fn: the function whose invariant broke (MM_PANIC() passes __func__).
 * @fmt: printf format, then its arguments.
 *
 * Formats the message (mm/env.c) and hands it to mm_env_stop().
 * Context: any hart. Return: never.
 */
void mm_panic(const char *fn, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/*
 * The embedding's two output hooks; mm/env.c builds mm_log() and mm_panic() on them, and tests/ktap.c
 * prints its KTAP lines through mm_log(), so each environment writes a line in one place.
 */

/**
 * mm_env_line() - write @line and a newline as one unit (printk in the kernel, stdout under a mutex on
 * the host).
 * @line: a NUL-terminated line without its newline.
 *
 * Context: any hart, any lock held.
 */
void mm_env_line(const char *line);

/**
 * mm_env_stop() - print "panic: <fn>: <msg>" and stop for good (panic() in the kernel, abort() on the
 * host).
 * @fn: the function whose invariant broke.
 * @msg: the formatted message.
 *
 * Context: any hart. Return: never.
 */
void mm_env_stop(const char *fn, const char *msg) __attribute__((noreturn));

/* mm_clock() - a monotonic tick count (the time CSR in the kernel, ns on the host) for lock statistics. */
uint64_t mm_clock(void);

/* mm_self() - index of the calling hart/thread, 0 <= mm_self() < MM_MAX_HARTS. */
unsigned mm_self(void);

#define MM_MAX_HARTS 128

#define MM_PANIC(...) mm_panic(__func__, __VA_ARGS__)

#endif
