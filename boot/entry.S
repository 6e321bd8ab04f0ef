/* entry.S - where OpenSBI enters (a0 = hartid, a1 = DTB) and where started harts arrive. */
#include "kernel/cls.h"

	.section .text.entry, "ax"
	.globl _start
_start:
	/*
	 * OpenSBI's fw_dynamic jumps here on the hart that won its lottery, which is any hart. Should a
	 * firmware send several, only the first to swap the claim word boots; the others park.
	 */
	csrw	sie, zero
	la	t0, boot_claimed
	li	t1, 1
	amoswap.w.aq t1, t1, (t0)
	bnez	t1, park
	la	sp, boot_stack_top
	mv	s0, a0
	mv	s1, a1
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	mv	a0, s0
	mv	a1, s1
	call	kmain
	j	park

	/*
	 * Started by sbi_hart_start(hartid, secondary_entry, cls): a0 = hartid, a1 = this hart's CLS,
	 * whose first word is the top of the stack the boot hart allocated in this hart's cluster.
	 */
	.globl secondary_entry
secondary_entry:
	csrw	sie, zero
	mv	tp, a1
	ld	sp, CLS_STACK_TOP_OFFSET(a1)
	call	secondary_main
park:
	wfi
	j	park

	.section .data
	.balign 4
boot_claimed:
	.word 0

	.section .bss.stack, "aw", @nobits
	.balign 16
boot_stack:
	.space 16384
	.globl boot_stack_top
boot_stack_top:

	/* Any trap is fatal here (no interrupts are enabled in sstatus): report it and power off. */
	.section .text
	.balign 4
	.globl trap_vector
trap_vector:
	csrr	a0, scause
	csrr	a1, sepc
	csrr	a2, stval
	call	trap_fatal
	j	park
