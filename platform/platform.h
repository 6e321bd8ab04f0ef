/* platform.h - what the kernel asks of the QEMU virt platform: console, power, timebase. */
#ifndef PLATFORM_PLATFORM_H
#define PLATFORM_PLATFORM_H

#include <stdint.h>

/**
 * plat_uart_init() - use the ns16550 at @base for the console, polled (no interrupts), 8N1.
 * @base: its register window (0: none, the console stays on SBI's legacy putchar).
 * @reg_shift: the DT's reg-shift (registers 2^@reg_shift bytes apart).
 *
 * Context: boot hart, before other harts print.
 */
void plat_uart_init(uint64_t base, unsigned reg_shift);

/**
 * plat_putc() - write byte @c to the console, waiting while the transmitter is full.
 * @c: the byte.
 *
 * Context: any hart; the caller serialises (printk's console lock).
 */
void plat_putc(char c);
/**
 * plat_getc() - the next received byte.
 *
 * Context: one reader at a time (the console on the boot hart); no lock, never waits.
 * Return: the byte (0..255), or -1 if none is waiting (or there is no UART).
 */
int plat_getc(void);
/**
 * plat_idle() - sleep the calling hart in wfi for up to @ticks of the time CSR (an SBI timer wakes it;
 * sstatus.SIE stays clear, so no trap is taken), or return at once without the SBI TIME extension.
 * @ticks: the longest sleep, in time CSR ticks.
 *
 * Context: any hart; it uses the hart's SBI timer (nothing else here does).
 */
void plat_idle(uint64_t ticks);
/**
 * plat_power_init() - power off through QEMU's sifive_test device at @test_dev_base.
 * @test_dev_base: its address from the DT (0: none, SBI system reset instead).
 *
 * Context: boot hart, once.
 */
void plat_power_init(uint64_t test_dev_base);

/**
 * plat_poweroff() - power the machine off; QEMU exits with @status through sifive_test.
 * @status: 0 = success, else the exit code (low 16 bits).
 *
 * Context: any hart, any lock held. Return: never.
 */
void plat_poweroff(int status) __attribute__((noreturn));

#endif
