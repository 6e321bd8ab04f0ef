/* sbi.h - calls into OpenSBI (SBI v0.2+ base, HSM, IPI, SRST, legacy console putchar). */
#ifndef PLATFORM_SBI_H
#define PLATFORM_SBI_H

#include <stdint.h>

struct sbiret {
	long error;
	long value;
};

#define SBI_EXT_LEGACY_PUTCHAR 0x01
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494D45
#define SBI_EXT_IPI 0x735049
#define SBI_EXT_HSM 0x48534D
#define SBI_EXT_SRST 0x53525354

#define SBI_HSM_STARTED 0
#define SBI_HSM_STOPPED 1
#define SBI_HSM_START_PENDING 2
#define SBI_HSM_STOP_PENDING 3

struct sbiret sbi_ecall(long ext, long fid, long a0, long a1, long a2);
long sbi_probe_extension(long ext);
long sbi_hart_start(unsigned long hartid, unsigned long start_addr, unsigned long opaque);
long sbi_hart_get_status(unsigned long hartid);
long sbi_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base);
void sbi_legacy_putchar(int c);
long sbi_set_timer(uint64_t stime_value);
long sbi_system_reset(unsigned long type, unsigned long reason);

#endif
