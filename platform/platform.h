/* platform.h - what the kernel asks of the QEMU virt platform: console, power, timebase. */
#ifndef PLATFORM_PLATFORM_H
#define PLATFORM_PLATFORM_H

#include <stdint.h>

void plat_uart_init(uint64_t base, unsigned reg_shift);
void plat_putc(char c);
void plat_power_init(uint64_t test_dev_base);
void plat_poweroff(int status) __attribute__((noreturn));

#endif
