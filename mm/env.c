/* env.c - mm_log() and mm_panic() over the embedding's two hooks (mm_env_line(), mm_env_stop()). */
#include <stdarg.h>
#include <stdio.h>

#include "mm/env.h"

#define MM_LOG_LINE 256	/* a longer line is cut */

void mm_vlog(const char *prefix, const char *fmt, va_list ap)
{
	char buf[MM_LOG_LINE];
	int n = snprintf(buf, sizeof(buf), "%s", prefix);

	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	mm_env_line(buf);
}

void mm_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mm_vlog("", fmt, ap);
	va_end(ap);
}

void mm_panic(const char *fn, const char *fmt, ...)
{
	char buf[MM_LOG_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mm_env_stop(fn, buf);
}
