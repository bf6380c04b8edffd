/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entry of the 32-bit guests (ELF32, and multiboot with mbheader.S):
 * a stack, then main(EAX, EBX) (the multiboot magic and info), then
 * the debug exit with main's return value.
 */
	.code32
	.text
	.globl _start
_start:
	mov	$stack_top, %esp
	push	%ebx
	push	%eax
	call	main
	push	%eax
	call	debug_exit

	.bss
	.align	16
	.skip	16384
stack_top:
