/*
 * env.h - the few services mm/ needs from whoever embeds it: the kernel (kernel/mm_env.c) or the host shim.
 * The dependency points one way: mm/ reaches the kernel only through kernel/lock.h (its spinlocks) and
 * this header, which the kernel implements; kernel/lock.c itself needs nothing from mm/ (its own hooks:
 * lock_halt(), lock_kick(), lock_self(), lock_clock()).
 */
#ifndef MM_ENV_H
#define MM_ENV_H

#include <stdint.h>

/* mm_log() - print one whole line (no trailing newline needed); never interleaves with other harts. */
void mm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* mm_panic() - a broken invariant: print "panic: <fn>: <msg>" and stop. Never for caller errors. */
void mm_panic(const char *fn, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* mm_clock() - a monotonic tick count (the time CSR in the kernel, ns on the host) for lock statistics. */
uint64_t mm_clock(void);

/* mm_self() - index of the calling hart/thread, 0 <= mm_self() < MM_MAX_HARTS. */
unsigned mm_self(void);

#define MM_MAX_HARTS 128

#define MM_PANIC(...) mm_panic(__func__, __VA_ARGS__)

#endif
