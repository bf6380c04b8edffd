/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A boot sector that finds QEMU's pvpanic device at port 0x505 (a read
 * gives the events it supports: 3) and reports, first, that its crash
 * kernel took over (bit 1, the run goes on), then a panic (bit 0): khyp
 * ends with status 14.  Without the device it exits with 0x24 (73).
 */
	.code16
	.text
	.globl	_start
_start:
	cli
	mov	$0x505, %dx
	in	%dx, %al
	cmp	$0x03, %al
	jne	bad
	mov	$0x02, %al
	out	%al, %dx
	mov	$0x01, %al
	out	%al, %dx
bad:	mov	$0x24, %al
	out	%al, $0xf4
	hlt
