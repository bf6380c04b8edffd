/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A real-mode boot sector that never stops, with interrupts enabled:
 * for khyp run --timeout.
 */
	.code16
	.text
	.globl	_start
_start:
	sti
1:	jmp	1b
