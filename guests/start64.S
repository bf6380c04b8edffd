/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entry of the ELF64 guests, which khyp starts in long mode: a stack,
 * main(), then the debug exit with main's return value.
 */
	.code64
	.text
	.globl _start
_start:
	mov	$stack_top, %rsp
	call	main
	mov	%eax, %edi
	call	debug_exit

	.bss
	.align	16
	.skip	16384
stack_top:
