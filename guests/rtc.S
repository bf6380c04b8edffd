/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A boot sector that reads the CMOS clock as firmware does (wait for
 * UIP to clear, then the BCD registers) and prints
 * "CCYY-MM-DD HH:MM\n" on COM1; exit 0x23 (status 71).
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
uip:	mov	$0x0a, %al
	out	%al, $0x70
	in	$0x71, %al
	test	$0x80, %al
	jnz	uip
	mov	$fields, %si
next:	lodsb
	test	%al, %al
	jz	done
	test	$0x80, %al		/* 0x80 | a register, else a character */
	jnz	reg
	call	putc
	jmp	next
reg:	out	%al, $0x70		/* bit 7: the NMI mask, ignored */
	in	$0x71, %al
	mov	%al, %bl
	shr	$4, %al
	add	$'0', %al
	call	putc
	mov	%bl, %al
	and	$0x0f, %al
	add	$'0', %al
	call	putc
	jmp	next
done:	mov	$0x23, %al
	out	%al, $0xf4
	hlt

putc:	mov	%al, %cl
	mov	$0x3fd, %dx
1:	in	%dx, %al
	test	$0x20, %al
	jz	1b
	mov	%cl, %al
	mov	$0x3f8, %dx
	out	%al, %dx
	ret

/* 0x80 | a register, or a character */
fields:	.byte	0xb2, 0x89, '-', 0x88, '-', 0x87, ' ', 0x84, ':', 0x82, '\n', 0
