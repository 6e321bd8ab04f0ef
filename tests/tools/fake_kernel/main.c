/* main.c - a stand-in kernel for testing tools/run.py: boots every hart through SBI HSM, prints the
 * console contract (smp line, a canned console text), then powers off with EXIT_CODE, or hangs (HANG). */
#include <stdint.h>

extern const char console_text[], console_text_end[];
extern void secondary_entry(void);
volatile int arrived = 1; /* the boot hart */

struct sbiret { long error, value; };

static struct sbiret ecall(long ext, long fid, long a0, long a1, long a2)
{
	register long r0 asm("a0") = a0, r1 asm("a1") = a1, r2 asm("a2") = a2;
	register long r6 asm("a6") = fid, r7 asm("a7") = ext;

	asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
	return (struct sbiret){ r0, r1 };
}

static void putc_(char c) { ecall(0x01, 0, c, 0, 0); }      /* legacy console putchar (adds the CR) */
static void puts_(const char *s) { for (; *s; s++) putc_(*s); }

static void putu(unsigned long v)
{
	char b[24];
	int i = 0;

	do b[i++] = '0' + v % 10; while (v /= 10);
	while (i) putc_(b[--i]);
}

#define HSM 0x48534DL

void fake_main(unsigned long hartid)
{
	unsigned long h, expected = 0;

	for (h = 0; h < 512; h++) {
		if (ecall(HSM, 2, h, 0, 0).error)  /* hart_get_status: invalid id ends nothing, skip it */
			continue;
		expected++;
		if (h != hartid)
			ecall(HSM, 0, h, (long)secondary_entry, 0);   /* hart_start */
	}
	while ((unsigned long)__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < expected)
		;
	puts_("smp: harts up="); putu(arrived); puts_(" expected="); putu(expected); puts_("\n");
	for (const char *p = console_text; p < console_text_end; p++)
		putc_(*p);
#ifdef HANG
	for (;;)
		;
#endif
	*(volatile uint32_t *)0x100000 = EXIT_CODE ? ((uint32_t)EXIT_CODE << 16) | 0x3333 : 0x5555;
	for (;;)
		;
}
