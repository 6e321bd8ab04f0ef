/* platform.h - what the kernel asks of the QEMU virt platform: console, power, timebase. */
#ifndef PLATFORM_PLATFORM_H
#define PLATFORM_PLATFORM_H

#include <stdint.h>

void plat_uart_init(uint64_t base, unsigned reg_shift);
void plat_putc(char c);
/*
 * plat_getc() - the next received byte (0..255), or -1 if none is waiting (or there is no UART).
 * Context: one reader at a time (the console on the boot hart); no lock, never waits.
 */
int plat_getc(void);
/*
 * plat_idle() - sleep the calling hart in wfi for up to @ticks of the time CSR (an SBI timer wakes it;
 * sstatus.SIE stays clear, so no trap is taken), or return at once without the SBI TIME extension.
 * Context: any hart; it uses the hart's SBI timer (nothing else here does).
 */
void plat_idle(uint64_t ticks);
void plat_power_init(uint64_t test_dev_base);
void plat_poweroff(int status) __attribute__((noreturn));

#endif
