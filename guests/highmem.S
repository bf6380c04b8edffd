/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A flat 64-bit image (khyp run -m 2816M --mode long) that checks the
 * memory map of boot/loader.h from inside: with 2816 MiB the RAM is
 * [0, 2 GiB) and [4 GiB, 4.75 GiB).  It maps [4 GiB, 4 GiB + 4 MiB)
 * with two 2 MiB pages of its own (a page directory at 2 MiB, PDPT entry
 * 4 of the launcher's tables), then:
 *   1  the last word below 2 GiB is RAM (reads back what it wrote),
 *   2  the first word of the hole at 2 GiB reads all-ones,
 *   4  4 GiB and 4 GiB + 2 MiB - 8 are RAM,
 *   8  the ECAM at 0xb0000000 reads the host bridge's IDs, 8086:29c0,
 *      and slot 1 all-ones.
 * It exits with 0x30 | the failed checks: 0x30 (status 97) when all is
 * well.
 */
#define PD		0x200000	/* our page directory: RAM at 2 MiB */
#define PDPT		0xa000		/* the launcher's (khyp.h, BOOT_PML4) */
#define HIGH		0x100000000
#define PAT1		0x1234567811223344
#define PAT2		0x5566778899aabbcc

	.code64
	.text
	.globl	_start
_start:
	xor	%ebx, %ebx			/* failed checks */
	/* 4 GiB and 4 GiB + 2 MiB, two 2 MiB pages, through PDPT[4] */
	mov	$PD, %rdi
	movabs	$HIGH | 0x83, %rax		/* P, W, PS */
	mov	%rax, (%rdi)
	movabs	$HIGH + 0x200000 | 0x83, %rax
	mov	%rax, 8(%rdi)
	mov	$PD | 3, %rax
	mov	%rax, PDPT + 4 * 8
	mov	%cr3, %rax
	mov	%rax, %cr3

	/* 1: RAM up to 2 GiB */
	mov	$0x7ffffff8, %rsi
	movabs	$PAT1, %rax
	mov	%rax, (%rsi)
	cmp	(%rsi), %rax
	je	1f
	or	$1, %ebx
1:	/* 2: the hole above it */
	mov	$0x80000000, %esi
	mov	(%rsi), %eax
	cmp	$0xffffffff, %eax
	je	2f
	or	$2, %ebx
2:	/* 4: RAM from 4 GiB */
	movabs	$HIGH, %rsi
	movabs	$PAT2, %rax
	mov	%rax, (%rsi)
	movabs	$PAT1, %rcx
	mov	%rcx, 0x1ffff8(%rsi)
	cmp	(%rsi), %rax
	jne	3f
	cmp	0x1ffff8(%rsi), %rcx
	je	4f
3:	or	$4, %ebx
4:	/* 8: the ECAM, bus 0: the host bridge, then an empty slot */
	mov	$0xb0000000, %esi
	mov	(%rsi), %eax
	cmp	$0x29c08086, %eax
	jne	5f
	mov	0x8000(%rsi), %eax
	cmp	$0xffffffff, %eax
	je	6f
5:	or	$8, %ebx
6:	mov	%bl, %al
	or	$0x30, %al
	out	%al, $0xf4
	hlt
