/* sbi.c - the ecall wrappers of platform/sbi.h. */
#include "platform/sbi.h"

struct sbiret sbi_ecall(long ext, long fid, long a0, long a1, long a2)
{
	register long r_a0 __asm__("a0") = a0;
	register long r_a1 __asm__("a1") = a1;
	register long r_a2 __asm__("a2") = a2;
	register long r_a6 __asm__("a6") = fid;
	register long r_a7 __asm__("a7") = ext;

	__asm__ volatile("ecall" : "+r"(r_a0), "+r"(r_a1) : "r"(r_a2), "r"(r_a6), "r"(r_a7) : "memory");
	return (struct sbiret){ r_a0, r_a1 };
}

long sbi_probe_extension(long ext)
{
	struct sbiret r = sbi_ecall(SBI_EXT_BASE, SBI_BASE_PROBE_EXTENSION, ext, 0, 0);

	return r.error ? 0 : r.value;
}

long sbi_hart_start(unsigned long hartid, unsigned long start_addr, unsigned long opaque)
{
	return sbi_ecall(SBI_EXT_HSM, SBI_HSM_HART_START, (long)hartid, (long)start_addr, (long)opaque).error;
}

long sbi_hart_get_status(unsigned long hartid)
{
	struct sbiret r = sbi_ecall(SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, (long)hartid, 0, 0);

	return r.error ? r.error : r.value;
}

long sbi_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base)
{
	return sbi_ecall(SBI_EXT_IPI, SBI_IPI_SEND_IPI, (long)hart_mask, (long)hart_mask_base, 0).error;
}

long sbi_set_timer(uint64_t stime_value)
{
	return sbi_ecall(SBI_EXT_TIME, SBI_TIME_SET_TIMER, (long)stime_value, 0, 0).error;
}

void sbi_legacy_putchar(int c)
{
	sbi_ecall(SBI_EXT_LEGACY_PUTCHAR, 0, c, 0, 0);
}

long sbi_system_reset(unsigned long type, unsigned long reason)
{
	return sbi_ecall(SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, (long)type, (long)reason, 0).error;
}
