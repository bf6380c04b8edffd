/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A flat 64-bit image (khyp run --mode long): UD2 with no IDT, so the
 * #UD, the #DF and then the CPU give up: a triple fault.
 */
	.code64
	.text
	.globl	_start
_start:
	ud2
