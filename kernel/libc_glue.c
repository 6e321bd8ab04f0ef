/* libc_glue.c - the system calls newlib expects, for a kernel: console writes, a fixed sbrk arena. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "kernel/printk.h"
#include "platform/platform.h"

/*
 * newlib's malloc (only the benchmark baseline uses it) grows through _sbrk() inside an arena that
 * the benchmark hands over with libc_set_arena(); with no arena every sbrk fails.
 */
static char *arena_cur, *arena_end;

void libc_set_arena(void *start, size_t size)
{
	arena_cur = start;
	arena_end = (char *)start + size;
}

void *_sbrk(ptrdiff_t incr)
{
	char *old = arena_cur;

	if (!arena_cur || incr > arena_end - arena_cur || incr < -(arena_cur - (char *)0)) {
		errno = ENOMEM;
		return (void *)-1;
	}
	arena_cur += incr;
	return old;
}

int _write(int fd, const char *buf, int len)
{
	int i;

	for (i = 0; i < len; i++)
		plat_putc(buf[i]);
	return len;
}

int _read(int fd, char *buf, int len) { return 0; }
int _close(int fd) { return -1; }
int _lseek(int fd, int off, int whence) { return 0; }
int _isatty(int fd) { return 1; }
int _getpid(void) { return 1; }
int _kill(int pid, int sig) { errno = EINVAL; return -1; }

int _fstat(int fd, struct stat *st)
{
	st->st_mode = S_IFCHR;
	return 0;
}

void _exit(int status)
{
	plat_poweroff(status);
}
