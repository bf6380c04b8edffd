/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entry of the hello guest: a multiboot v1 kernel in the a.out-kludge
 * format (the file is a flat binary, loaded at 1 MiB).  The boot loader
 * starts it in 32-bit protected mode; it builds its own page tables
 * (the first 1 GiB identity-mapped with 2 MiB pages), turns on long mode
 * and calls the 64-bit main(multiboot info).
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00010002	/* a.out kludge, MEMINFO */
#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100
#define PTE_P_W		0x3
#define PTE_PS		0x80

	.section .multiboot, "a"
	.align	4
mb_header:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)
	.long	mb_header		/* header_addr */
	.long	_load_start		/* load_addr */
	.long	_load_end		/* load_end_addr */
	.long	_bss_end		/* bss_end_addr */
	.long	_start			/* entry_addr */

	.text
	.code32
	.globl	_start
_start:
	mov	$stack_top, %esp
	mov	%ebx, mb_info

	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] = i * 2 MiB */
	movl	$pdpt + PTE_P_W, pml4
	movl	$pd + PTE_P_W, pdpt
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	shl	$21, %eax
	or	$PTE_PS + PTE_P_W, %eax
	mov	%eax, pd(, %ecx, 8)
	inc	%ecx
	cmp	$512, %ecx
	jb	1b

	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$CR0_PG + CR0_PE, %eax
	mov	%eax, %cr0
	lgdt	gdt_ptr
	ljmp	$0x08, $start64

	.code64
start64:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$stack_top, %rsp
	mov	mb_info, %edi
	call	main
	mov	%eax, %edi
	call	debug_exit

	.section .rodata
	.align	8
gdt:
	.quad	0
	.quad	0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad	0x00cf92000000ffff	/* 0x10: data */
gdt_ptr:
	.word	gdt_ptr - gdt - 1
	.long	gdt

	.bss
	.align	4096
pml4:	.skip	4096
pdpt:	.skip	4096
pd:	.skip	4096
mb_info: .skip	8
	.align	16
	.skip	16384
stack_top:
