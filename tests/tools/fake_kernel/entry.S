/* entry.S - fake kernel entry: hart a0 with the DTB in a1; secondaries count themselves in and sleep. */
	.section .text.entry, "ax"
	.globl _start
_start:
	la	sp, stack_top
	call	fake_main
1:	wfi
	j	1b

	.globl secondary_entry
secondary_entry:
	la	t0, arrived
	li	t1, 1
	amoadd.w zero, t1, (t0)
2:	wfi
	j	2b

	.section .rodata
	.globl console_text, console_text_end
console_text:
	.incbin CONSOLE_FILE
console_text_end:
	.byte 0

	.bss
	.align 4
	.space 16384
stack_top:
