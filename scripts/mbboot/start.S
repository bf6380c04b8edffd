/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbboot's entry from GRUB (32-bit protected mode, paging off, EAX the
 * multiboot magic, EBX its info) and its jump into the kernel: long mode
 * with the first 4 GiB identity-mapped, CS = 0x10 and the data segments
 * 0x18 (flat), RSI = the zero page, at the vmlinux's 64-bit entry, as
 * the Linux boot protocol's 64-bit entry wants (Documentation/x86/boot.rst).
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000003	/* modules page-aligned, memory map */
#define MSR_EFER	0xc0000080
#define EFER_LME	(1 << 8)
#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)

	.section .multiboot, "a"
	.align	4
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.code32
	.text
	.globl	_start
_start:
	cli
	cld			/* multiboot leaves DF undefined */
	mov	$stack_top, %esp
	push	%ebx
	push	%eax
	call	mbboot_main		/* returns only when all is in place */

	lgdt	gdt_desc
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$CR0_PG, %eax
	mov	%eax, %cr0
	ljmp	$0x10, $long_mode

	.code64
long_mode:
	mov	$0x18, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$zero_page, %esi
	mov	$kernel_entry, %ebx
	mov	(%rbx), %eax
	xor	%ebp, %ebp
	jmp	*%rax

	.section .rodata
	.align	8
gdt:
	.quad	0
	.quad	0
	.quad	0x00af9a000000ffff	/* 0x10: 64-bit code */
	.quad	0x00cf92000000ffff	/* 0x18: flat data */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt

	.bss
	.align	16
	.skip	16384
stack_top:
