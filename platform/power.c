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
 * QEMU's sifive_test device: SIFIVE_TEST_PASS = exit 0, (code << 16) | SIFIVE_TEST_FAIL = exit code.
 * Without it, SBI system reset with reason "system failure" (QEMU then exits 0: the console says why).
 */
#define SIFIVE_TEST_PASS 0x5555u
#define SIFIVE_TEST_FAIL 0x3333u
#define SIFIVE_TEST_CODE_SHIFT 16
#define SIFIVE_TEST_CODE_MASK 0xffffu

void plat_poweroff(int status)
{
	if (test_dev)
		*test_dev = status ? (((uint32_t)status & SIFIVE_TEST_CODE_MASK) << SIFIVE_TEST_CODE_SHIFT) |
					     SIFIVE_TEST_FAIL :
				     SIFIVE_TEST_PASS;
	sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, status ? SBI_SRST_REASON_FAILURE : SBI_SRST_REASON_NONE);
	for (;;)
		wfi();
}
