/* power.c - power-off with a status QEMU turns into its exit code (sifive test device, else SBI SRST). */
#include <stdint.h>

#include "platform/platform.h"
#include "platform/sbi.h"
#include "platform/csr.h"

static volatile uint32_t *test_dev;

void plat_power_init(uint64_t test_dev_base)
{
	test_dev = (volatile uint32_t *)(uintptr_t)test_dev_base;
}

/*
 * QEMU's sifive_test device: 0x5555 = pass (exit 0), (code << 16) | 0x3333 = fail (exit code).
 * Without it, SBI system reset with reason "system failure" (QEMU then exits 0: the console says why).
 */
void plat_poweroff(int status)
{
	if (test_dev)
		*test_dev = status ? (((uint32_t)status & 0xffff) << 16) | 0x3333 : 0x5555;
	sbi_system_reset(0, status ? 1 : 0);
	for (;;)
		wfi();
}
