/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A real-mode boot sector that writes with REP OUTSB, which khyp does
 * not emulate: an internal error (status 4, registers on stderr).
 */
	.code16
	.text
	.globl	_start
_start:
	mov	$0x3f8, %dx
	mov	$msg, %si
	mov	$2, %cx
	rep outsb
	hlt
msg:	.ascii	"hi"
