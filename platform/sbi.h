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

/* function ids (SBI specification v0.3: base 4.x, TIME 6, IPI 7, HSM 9, SRST 10) */
#define SBI_BASE_PROBE_EXTENSION 3
#define SBI_TIME_SET_TIMER 0
#define SBI_IPI_SEND_IPI 0
#define SBI_HSM_HART_START 0
#define SBI_HSM_HART_GET_STATUS 2
#define SBI_SRST_SYSTEM_RESET 0
#define SBI_SRST_TYPE_SHUTDOWN 0
#define SBI_SRST_REASON_NONE 0
#define SBI_SRST_REASON_FAILURE 1

/*
 * Every call below may be made on any hart, with any lock held: an ecall traps to OpenSBI on the calling
 * hart and returns; none of them waits for another hart. Negative values are SBI error codes (SBI_ERR_*
 * of the specification: -1 failed, -2 not supported, -3 invalid parameter, ...).
 */

/**
 * sbi_ecall() - one SBI call: ecall with a7 = @ext, a6 = @fid and three arguments.
 * @ext: the extension id (SBI_EXT_*).
 * @fid: the function id within it.
 * @a0: first argument.
 * @a1: second argument.
 * @a2: third argument.
 *
 * Return: OpenSBI's (error, value) pair.
 */
struct sbiret sbi_ecall(long ext, long fid, long a0, long a1, long a2);

/**
 * sbi_probe_extension() - whether OpenSBI implements extension @ext.
 * @ext: an extension id (SBI_EXT_*).
 *
 * Return: 0 if not (or on error), else the extension's non-zero probe value.
 */
long sbi_probe_extension(long ext);

/**
 * sbi_hart_start() - HSM: start hart @hartid at @start_addr in S-mode with a0 = @hartid, a1 = @opaque.
 * @hartid: the hart to start.
 * @start_addr: its entry point (boot/entry.S's secondary_entry).
 * @opaque: its a1 (the hart's CLS).
 *
 * Return: 0, or an SBI error (e.g. already started).
 */
long sbi_hart_start(unsigned long hartid, unsigned long start_addr, unsigned long opaque);

/**
 * sbi_hart_get_status() - HSM: the state of hart @hartid.
 * @hartid: the hart.
 *
 * Return: an SBI_HSM_* state, or a negative SBI error.
 */
long sbi_hart_get_status(unsigned long hartid);

/**
 * sbi_send_ipi() - a supervisor software interrupt (SIP.SSIP) to the harts of a mask.
 * @hart_mask: bit i = hart id @hart_mask_base + i.
 * @hart_mask_base: the hart id of bit 0.
 *
 * Return: 0, or an SBI error.
 */
long sbi_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base);

/**
 * sbi_legacy_putchar() - the legacy console extension's putchar (the console before the UART is known).
 * @c: the byte.
 */
void sbi_legacy_putchar(int c);

/**
 * sbi_set_timer() - TIME: program the calling hart's next timer event; clears a pending supervisor timer.
 * @stime_value: the time CSR value to fire at.
 *
 * Return: 0, or an SBI error.
 */
long sbi_set_timer(uint64_t stime_value);

/**
 * sbi_system_reset() - SRST: reset or shut the system down.
 * @type: SBI_SRST_TYPE_SHUTDOWN (the only one used here).
 * @reason: SBI_SRST_REASON_NONE or SBI_SRST_REASON_FAILURE.
 *
 * Return: only on failure, an SBI error.
 */
long sbi_system_reset(unsigned long type, unsigned long reason);

#endif
