/* csr.h - RISC-V supervisor CSR access and the few instructions the kernel needs. */
#ifndef PLATFORM_CSR_H
#define PLATFORM_CSR_H

#include <stdint.h>

#define csr_read(csr) ({ uint64_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"rK"((uint64_t)(v)))
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"rK"((uint64_t)(v)))
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"rK"((uint64_t)(v)))

#define SSTATUS_SIE (1UL << 1)
#define SIE_SSIE (1UL << 1)
#define SIP_SSIP (1UL << 1)

/** rdtime() - the time CSR (boot_topo.timebase_hz ticks per second). Context: any hart. */
static inline uint64_t rdtime(void) { return csr_read(time); }
/** rdcycle() - the cycle CSR. Context: any hart. */
static inline uint64_t rdcycle(void) { return csr_read(cycle); }
/** rdinstret() - the instret CSR (guest instructions exactly under ICOUNT=1). Context: any hart. */
static inline uint64_t rdinstret(void) { return csr_read(instret); }
/** wfi() - wait for an interrupt (returns on a pending one even with sstatus.SIE clear). Context: any hart. */
static inline void wfi(void) { __asm__ volatile("wfi" ::: "memory"); }

#endif
