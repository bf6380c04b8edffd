/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A flat 64-bit image (khyp run --mode long) that reads an unknown port
 * and reads and writes MMIO outside RAM (3 GiB).  Both reads must give
 * all-ones: then it exits with 0x15 (status 43), else with 0x16 (45).
 * With --strict, khyp stops at the port read instead (status 10).
 */
	.code64
	.text
	.globl	_start
_start:
	in	$0xe0, %al
	mov	%al, %bl
	mov	$0xc0000000, %esi
	mov	(%rsi), %eax
	movl	$0x1234, (%rsi)
	cmp	$0xff, %bl
	jne	bad
	cmp	$0xffffffff, %eax
	jne	bad
	mov	$0x15, %al
	out	%al, $0xf4
bad:	mov	$0x16, %al
	out	%al, $0xf4
	hlt
