/* printk.c - console output on the platform UART: one lock around each formatted message. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "kernel/cls.h"
#include "kernel/lock.h"
#include "kernel/printk.h"
#include "platform/platform.h"

/* A ticket lock: it needs no CLS node, so it works before CLS exists and inside MCS code. */
static struct ticket_lock console_lock;
static int panicking;

/* the kernel log: every message also goes into this ring (a dmesg), so tests can read the console back */
#define LOG_SIZE (64 * 1024)
static char log_ring[LOG_SIZE];
static uint64_t log_pos;		/* bytes ever written; under console_lock */

static void log_append(const char *s)
{
	for (; *s; s++)
		log_ring[log_pos++ % LOG_SIZE] = *s;
}

uint64_t printk_log_pos(void)
{
	uint64_t p;

	ticket_lock(&console_lock);
	p = log_pos;
	ticket_unlock(&console_lock);
	return p;
}

size_t printk_log_copy(uint64_t from, char *dst, size_t max)
{
	size_t n = 0;

	ticket_lock(&console_lock);
	if (log_pos - from > LOG_SIZE)
		from = log_pos - LOG_SIZE;
	while (from < log_pos && n + 1 < max)
		dst[n++] = log_ring[from++ % LOG_SIZE];
	ticket_unlock(&console_lock);
	if (max)
		dst[n] = 0;
	return n;
}

static void console_write(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			plat_putc('\r');
		plat_putc(*s);
	}
}

void printk(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (__atomic_load_n(&panicking, __ATOMIC_RELAXED)) {
		console_write(buf);
		return;
	}
	ticket_lock(&console_lock);
	console_write(buf);
	log_append(buf);
	ticket_unlock(&console_lock);
}

void panic(const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	struct cls *c = cls_self();

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* the first panicking hart writes without the lock (its holder may be the one that broke) */
	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_ACQ_REL))
		for (;;)
			__asm__ volatile("wfi");
	console_write("\npanic: hart ");
	{
		char h[16];

		snprintf(h, sizeof(h), "%u", c ? (unsigned)c->hartid : 0u);
		console_write(h);
	}
	console_write(": ");
	console_write(buf);
	console_write("\n");
	plat_poweroff(3);
}
