/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A boot sector: 512 bytes started in real mode at 0000:7C00.  Prints
 * a line through COM1, then leaves through the debug-exit port with 0x11
 * (khyp exits with status 35).
 */
	.code16
	.text
	.globl	_start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$0x7c00, %sp
	mov	$msg, %si
next:	lodsb
	test	%al, %al
	jz	done
	mov	%al, %bl
wait:	mov	$0x3fd, %dx		/* LSR: wait for THR empty */
	in	%dx, %al
	test	$0x20, %al
	jz	wait
	mov	%bl, %al
	mov	$0x3f8, %dx
	out	%al, %dx
	jmp	next
done:	mov	$0x11, %al
	out	%al, $0xf4
	hlt

msg:	.asciz	"Hello from a real-mode boot sector\n"
	.org	510
	.word	0xaa55
