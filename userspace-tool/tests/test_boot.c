// SPDX-License-Identifier: GPL-2.0
/* The boot state of each CPU mode (boot/state.c): tables in memory, registers. */
#include <string.h>

#include "test.h"
#include "../khyp.h"

static uint64_t get64(const struct tctx *t, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, t->gm.base + gpa, sizeof(v));
	return v;
}

static void boot_real_mode(struct tctx *t)
{
	struct boot_info bi = { .entry = 0x7c00, .mode = MODE_REAL16,
				.stack = 0x6000, .load_start = 0x7c00,
				.load_end = 0x7e00 };
	struct khyp_sregs s;
	struct khyp_regs r;

	CHECK(t, boot__tables(&t->gm, &bi, t->err, sizeof(t->err)) == 0);
	CHECK(t, t_guest_untouched(t));		/* real mode needs none */
	boot__regs(&bi, &r, &s);
	CHECK(t, s.cs.selector == 0 && s.cs.base == 0 && r.rip == 0x7c00);
	CHECK(t, s.cs.limit == 0xffff && s.cs.type == 11 && s.cs.present);
	CHECK(t, s.ss.selector == 0 && s.ds.base == 0 && s.ds.limit == 0xffff);
	CHECK(t, s.cr0 == 0x10 && !s.efer && !s.cr4);
	CHECK(t, s.tr.type == 11 && s.tr.present && !s.tr.s);
	CHECK(t, s.idt.limit == 0x3ff);
	CHECK(t, r.rsp == 0x6000 && r.rflags == 2);
}

static void boot_real_mode_high(struct tctx *t)
{
	struct boot_info bi = { .entry = 0x12345, .mode = MODE_REAL16 };
	struct khyp_sregs s;
	struct khyp_regs r;

	boot__regs(&bi, &r, &s);
	CHECK(t, s.cs.selector == 0x1234 && s.cs.base == 0x12340);
	CHECK(t, r.rip == 5);
}

static void boot_prot32_multiboot(struct tctx *t)
{
	struct boot_info bi = { .entry = 0x10000c, .mode = MODE_PROT32,
				.stack = 0x6000, .mb_magic = MB_BOOT_MAGIC,
				.mb_info_addr = MB_INFO_ADDR,
				.load_start = 0x100000, .load_end = 0x105000 };
	struct khyp_sregs s;
	struct khyp_regs r;

	CHECK(t, boot__tables(&t->gm, &bi, t->err, sizeof(t->err)) == 0);
	/* flat 32-bit code at 0x10, data at 0x18, busy TSS at 0x20 */
	CHECK(t, get64(t, BOOT_GDT) == 0);
	CHECK(t, get64(t, BOOT_GDT + SEL_CODE32) == 0x00cf9b000000ffffULL);
	CHECK(t, get64(t, BOOT_GDT + SEL_DATA) == 0x00cf93000000ffffULL);
	CHECK(t, get64(t, BOOT_GDT + SEL_CODE64) == 0x00af9b000000ffffULL);
	CHECK(t, get64(t, BOOT_GDT + SEL_TSS) == 0x00008b0081000067ULL);
	CHECK(t, t_guest_filled(t, BOOT_PML4, BOOT_TABLES_END - BOOT_PML4));
	boot__regs(&bi, &r, &s);
	CHECK(t, s.cs.selector == SEL_CODE32 && s.cs.db && !s.cs.l && s.cs.g);
	CHECK(t, s.cs.limit == 0xffffffff && s.cs.base == 0);
	CHECK(t, s.ds.selector == SEL_DATA && s.ss.selector == SEL_DATA);
	CHECK(t, s.tr.selector == SEL_TSS && s.tr.base == BOOT_TSS);
	CHECK(t, s.gdt.base == BOOT_GDT && s.gdt.limit == BOOT_GDT_LIMIT);
	CHECK(t, s.cr0 == 0x31 && !s.cr4 && !s.efer);
	CHECK(t, r.rax == 0x2badb002 && r.rbx == 0x6000 && r.rip == 0x10000c);
	CHECK(t, r.rflags == 2 && r.rsp == 0x6000);
}

static void boot_long_mode(struct tctx *t)
{
	struct boot_info bi = { .entry = 0x100000, .mode = MODE_LONG64,
				.stack = 0x6000, .load_start = 0x100000,
				.load_end = 0x101000 };
	struct khyp_sregs s;
	struct khyp_regs r;

	CHECK(t, boot__tables(&t->gm, &bi, t->err, sizeof(t->err)) == 0);
	CHECK(t, get64(t, BOOT_PML4) == (BOOT_PML4 + 0x1000 + 3));
	CHECK(t, get64(t, BOOT_PML4 + 8) == 0);
	CHECK(t, get64(t, BOOT_PML4 + 0x1000 + 3 * 8) == BOOT_PML4 + 0x5000 + 3);
	CHECK(t, get64(t, BOOT_PML4 + 0x2000) == 0x83);
	/* the last 2 MiB page below 4 GiB */
	CHECK(t, get64(t, BOOT_TABLES_END - 8) == (0xffe00000ULL | 0x83));
	boot__regs(&bi, &r, &s);
	CHECK(t, s.cs.selector == SEL_CODE64 && s.cs.l && !s.cs.db);
	CHECK(t, s.cr3 == BOOT_PML4 && (s.cr0 & 0x80000001) == 0x80000001);
	CHECK(t, s.cr4 & 0x20);
	CHECK(t, s.efer == 0x500);
	CHECK(t, s.tr.type == 11 && s.tr.limit == 0x67);
	CHECK(t, r.rip == 0x100000 && r.rsp == 0x6000);
}

static void boot_tables_overlap(struct tctx *t)
{
	struct boot_info bi = { .entry = 0x8000, .mode = MODE_LONG64,
				.load_start = 0x7c00, .load_end = 0xa000 };

	CHECK(t, boot__tables(&t->gm, &bi, t->err, sizeof(t->err)) == -1);
	CHECK(t, t_err_has(t, "overlaps the launcher's GDT"));
	CHECK(t, t_guest_untouched(t));
	/* prot32 needs only the GDT page */
	bi.mode = MODE_PROT32;
	bi.load_start = 0x9000;
	CHECK(t, boot__tables(&t->gm, &bi, t->err, sizeof(t->err)) == 0);
}

static void boot_tables_small_ram(struct tctx *t)
{
	struct boot_info bi = { .mode = MODE_LONG64, .load_start = 0x100000,
				.load_end = 0x100001 };

	t->gm.size = 0xe000;
	CHECK(t, boot__tables(&t->gm, &bi, t->err, sizeof(t->err)) == -1);
	CHECK(t, t_err_has(t, "too small"));
}

const struct tcase boot_cases[] = {
	{ "boot_real_mode", boot_real_mode },
	{ "boot_real_mode_high", boot_real_mode_high },
	{ "boot_prot32_multiboot", boot_prot32_multiboot },
	{ "boot_long_mode", boot_long_mode },
	{ "boot_tables_overlap", boot_tables_overlap },
	{ "boot_tables_small_ram", boot_tables_small_ram },
	{ NULL, NULL },
};
