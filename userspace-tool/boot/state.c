// SPDX-License-Identifier: GPL-2.0
/*
 * The CPU state an image starts in (struct boot_info's mode):
 *
 *   real mode    CS:IP = 0000:entry below 64 KiB, as a BIOS starts a boot
 *                sector, else (entry >> 4):(entry & 0xf); DS = ES = SS = 0
 *   prot32       flat 4 GiB code and data segments, no paging; multiboot:
 *                EAX = 0x2BADB002, EBX = the multiboot info
 *   long mode    64-bit code segment, the first 4 GiB identity-mapped with
 *                2 MiB pages, EFER.LME/LMA, CR4.PAE, paging on
 *   Linux        as prot32 or long mode, with the boot protocol's
 *                selectors (CS 0x10, data 0x18) and RSI = the zero page
 *
 * In every mode TR holds a busy TSS and the GDT in guest memory matches
 * the segment registers, so that VM entry's checks pass and a guest that
 * reloads a segment gets what it had.  RFLAGS.IF is 0.  Pure: it writes
 * guest memory and fills structs, and loader_test checks it natively.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../khyp.h"

#define CR0_PE		(1ULL << 0)
#define CR0_MP		(1ULL << 1)
#define CR0_ET		(1ULL << 4)
#define CR0_NE		(1ULL << 5)
#define CR0_WP		(1ULL << 16)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define CR4_OSFXSR	(1ULL << 9)
#define CR4_OSXMMEXCPT	(1ULL << 10)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

#define SEG_TYPE_DATA	3	/* read/write, accessed */
#define SEG_TYPE_CODE	11	/* execute/read, accessed */
#define SEG_TYPE_TSS	11	/* busy 32- or 64-bit TSS */
#define SEG_TYPE_LDT	2
#define TSS_SIZE	0x68
#define PTE_P_W		0x3
#define PTE_PS		0x80

/* An 8-byte GDT descriptor. */
static uint64_t boot__desc(uint32_t base, uint32_t limit, unsigned int type,
			   unsigned int s, unsigned int l, unsigned int db,
			   unsigned int g)
{
	return (limit & 0xffffULL) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)type << 40 | (uint64_t)s << 44 | 1ULL << 47 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)l << 53 |
	       (uint64_t)db << 54 | (uint64_t)g << 55 |
	       (uint64_t)(base >> 24) << 56;
}

static void put64(struct guest_mem *gm, uint64_t gpa, uint64_t v)
{
	memcpy(gm->base + gpa, &v, sizeof(v));
}

/*
 * Linux's boot protocol names its selectors: CS is __BOOT_CS (0x10, the
 * 32-bit code segment here) and DS, ES, SS are __BOOT_DS (0x18); at its
 * 64-bit entry __BOOT_CS is a 64-bit code segment.
 */
static bool boot__linux64(const struct boot_info *bi)
{
	return image_is_linux(bi->format) && bi->mode == MODE_LONG64;
}

static void boot__gdt(struct guest_mem *gm, const struct boot_info *bi)
{
	int l = boot__linux64(bi);

	memset(gm->base + BOOT_GDT, 0, 0x1000);
	put64(gm, BOOT_GDT + SEL_CODE64,
	      boot__desc(0, 0xfffff, SEG_TYPE_CODE, 1, 1, 0, 1));
	put64(gm, BOOT_GDT + SEL_CODE32,
	      boot__desc(0, 0xfffff, SEG_TYPE_CODE, 1, l, !l, 1));
	put64(gm, BOOT_GDT + SEL_DATA,
	      boot__desc(0, 0xfffff, SEG_TYPE_DATA, 1, 0, 1, 1));
	/* a system descriptor; its second half holds base 63:32 (0) */
	put64(gm, BOOT_GDT + SEL_TSS,
	      boot__desc(BOOT_TSS, TSS_SIZE - 1, SEG_TYPE_TSS, 0, 0, 0, 0));
	/* the TSS: all zero but the I/O map base, past its limit */
	gm->base[BOOT_TSS + 102] = TSS_SIZE;
}

static void boot__page_tables(struct guest_mem *gm)
{
	uint64_t pdpt = BOOT_PML4 + 0x1000, pd = BOOT_PML4 + 0x2000;
	int i;

	memset(gm->base + BOOT_PML4, 0, BOOT_TABLES_END - BOOT_PML4);
	put64(gm, BOOT_PML4, pdpt | PTE_P_W);
	for (i = 0; i < 4; i++)
		put64(gm, pdpt + 8 * i, (pd + 0x1000 * i) | PTE_P_W);
	for (i = 0; i < 4 * 512; i++)
		put64(gm, pd + 8 * i, (uint64_t)i << 21 | PTE_PS | PTE_P_W);
}

int boot__tables(struct guest_mem *gm, const struct boot_info *bi,
		 char *err, size_t errlen)
{
	uint64_t end = bi->mode == MODE_LONG64 ? BOOT_TABLES_END : BOOT_PML4;

	if (bi->mode == MODE_REAL16)
		return 0;
	if (gm->size < end) {
		snprintf(err, errlen, "guest RAM is too small for the boot tables");
		return -1;
	}
	if (bi->load_start < end && BOOT_GDT < bi->load_end) {
		snprintf(err, errlen,
			 "the image [0x%" PRIx64 "-0x%" PRIx64 ") overlaps the launcher's GDT and page tables [0x%x-0x%" PRIx64 ")",
			 bi->load_start, bi->load_end, BOOT_GDT, end);
		return -1;
	}
	boot__gdt(gm, bi);
	if (bi->mode == MODE_LONG64)
		boot__page_tables(gm);
	return 0;
}

static void boot__seg(struct khyp_segment *seg, uint16_t sel, uint64_t base,
		      uint32_t limit, uint8_t type)
{
	memset(seg, 0, sizeof(*seg));
	seg->selector = sel;
	seg->base = base;
	seg->limit = limit;
	seg->type = type;
	seg->present = 1;
	seg->s = 1;
}

/* A flat 4 GiB segment of the boot GDT. */
static void boot__flat(struct khyp_segment *seg, uint16_t sel, uint8_t type,
		       int l)
{
	boot__seg(seg, sel, 0, 0xffffffff, type);
	seg->g = 1;
	seg->l = l;
	seg->db = !l;
}

static void boot__real(const struct boot_info *bi, struct khyp_regs *r,
		       struct khyp_sregs *s)
{
	uint16_t cs = bi->entry < 0x10000 ? 0 : bi->entry >> 4;

	boot__seg(&s->cs, cs, (uint64_t)cs << 4, 0xffff, SEG_TYPE_CODE);
	boot__seg(&s->ds, 0, 0, 0xffff, SEG_TYPE_DATA);
	s->es = s->fs = s->gs = s->ss = s->ds;
	boot__seg(&s->tr, 0, 0, 0xffff, SEG_TYPE_TSS);
	s->tr.s = 0;
	s->idt.limit = 0x3ff;		/* the real-mode IVT at 0 */
	s->gdt.limit = 0xffff;
	s->cr0 = CR0_ET;
	r->rip = bi->entry - ((uint64_t)cs << 4);
}

static void boot__protected(const struct boot_info *bi, struct khyp_regs *r,
			    struct khyp_sregs *s)
{
	int lm = bi->mode == MODE_LONG64;

	boot__flat(&s->cs, lm && !boot__linux64(bi) ? SEL_CODE64 : SEL_CODE32,
		   SEG_TYPE_CODE, lm);
	boot__flat(&s->ds, SEL_DATA, SEG_TYPE_DATA, 0);
	s->es = s->fs = s->gs = s->ss = s->ds;
	boot__seg(&s->tr, SEL_TSS, BOOT_TSS, TSS_SIZE - 1, SEG_TYPE_TSS);
	s->tr.s = 0;
	s->gdt.base = BOOT_GDT;
	s->gdt.limit = BOOT_GDT_LIMIT;
	s->cr0 = CR0_PE | CR0_ET | CR0_NE;
	if (lm) {
		s->cr0 |= CR0_MP | CR0_WP | CR0_PG;
		s->cr3 = BOOT_PML4;
		s->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
		s->efer = EFER_LME | EFER_LMA;
	}
	r->rip = bi->entry;
	r->rax = bi->mb_magic;
	r->rbx = bi->mb_info_addr;
	r->rsi = bi->boot_params;
}

void boot__regs(const struct boot_info *bi, struct khyp_regs *r,
		struct khyp_sregs *s)
{
	memset(r, 0, sizeof(*r));
	memset(s, 0, sizeof(*s));
	/* IDT limit 0 outside real mode: an exception is a triple fault */
	boot__seg(&s->ldt, 0, 0, 0xffff, SEG_TYPE_LDT);
	s->ldt.s = 0;
	if (bi->mode == MODE_REAL16)
		boot__real(bi, r, s);
	else
		boot__protected(bi, r, s);
	r->rsp = bi->stack;
	r->rflags = 2;
}
