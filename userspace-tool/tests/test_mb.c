// SPDX-License-Identifier: GPL-2.0
/* Multiboot loader cases: good kernels, the info structure, the header search. */
#include <errno.h>
#include <string.h>

#include "test.h"

#define LOAD	0x100000u	/* where the a.out images go */
#define HDR	0x40		/* their header offset */

static struct aoutb *A(void)
{
	static struct aoutb a;

	return &a;
}

static struct elfb *B(void)
{
	static struct elfb b;

	return &b;
}

/* The standard a.out image: 0x800 bytes, 0x1000 of bss, entry at +0x80. */
static struct aoutb *aout_std(void)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x800, HDR, LOAD, 0x1000, 0x80);
	return a;
}

static bool mmap_entry_is(const struct mb_mmap_entry *e, uint64_t addr,
			  uint64_t len, uint32_t type)
{
	return e->size == 20 && e->addr == addr && e->len == len &&
	       e->type == type;
}

/* The multiboot info, memory map and strings in guest memory. */
static void mbinfo_ok(struct tctx *t, const char *cmdline)
{
	uint64_t upper = (t->gm.size - HIGH_MEM_START) >> 10;
	unsigned int n = t->gm.size > HIGH_MEM_START ? 3 : 2;
	struct mb_mmap_entry map[MB_MMAP_MAX_ENTRIES];
	unsigned char *g = t->gm.base;
	struct mb_info mbi;

	CHECK(t, t->bi.format == IMAGE_MULTIBOOT);
	CHECK(t, t->bi.mode == MODE_PROT32);
	CHECK(t, t->bi.mb_magic == 0x2badb002);
	CHECK(t, t->bi.mb_info_addr == MB_INFO_ADDR);
	CHECK(t, t->bi.stack == LOADER_STACK_TOP);
	memcpy(&mbi, g + MB_INFO_ADDR, sizeof(mbi));
	CHECK(t, mbi.flags == (MB_IF_MEM | MB_IF_MMAP | MB_IF_LOADER_NAME |
			       (cmdline ? MB_IF_CMDLINE : 0)));
	CHECK(t, mbi.mem_lower == 639);
	CHECK(t, mbi.mem_upper == (upper > UINT32_MAX ? UINT32_MAX : upper));
	CHECK(t, mbi.mods_count == 0 && mbi.boot_device == 0);
	CHECK(t, mbi.mmap_addr == MB_MMAP_ADDR);
	CHECK(t, mbi.mmap_length == n * 24);
	memcpy(map, g + MB_MMAP_ADDR, sizeof(map));
	CHECK(t, mmap_entry_is(&map[0], 0, 0x9fc00, MB_MMAP_AVAILABLE));
	CHECK(t, mmap_entry_is(&map[1], 0xf0000, 0x10000, MB_MMAP_RESERVED));
	if (n == 3)
		CHECK(t, mmap_entry_is(&map[2], 0x100000,
				       t->gm.size - 0x100000,
				       MB_MMAP_AVAILABLE));
	CHECK(t, mbi.boot_loader_name == MB_NAME_ADDR);
	CHECK(t, !strcmp((char *)g + MB_NAME_ADDR, "khyp"));
	if (cmdline) {
		CHECK(t, mbi.cmdline == MB_CMDLINE_ADDR);
		CHECK(t, !strcmp((char *)g + MB_CMDLINE_ADDR, cmdline));
	} else {
		CHECK(t, mbi.cmdline == 0);
		CHECK(t, t_guest_zero(t, MB_CMDLINE_ADDR, MB_CMDLINE_MAX));
	}
	/* nothing else of low memory was written */
	CHECK(t, t_guest_filled(t, 0, MB_AREA_START));
	if (t->bi.load_start >= HIGH_MEM_START)
		CHECK(t, t_guest_filled(t, MB_AREA_END,
					HIGH_MEM_START - MB_AREA_END));
}

static void mb_aout_good(struct tctx *t)
{
	const char *cmd = "console=ttyS0 root=/dev/vda quiet";
	struct aoutb *a = aout_std();

	EXPECT_OK(t, t_load_mb(t, a->file, a->len, cmd));
	CHECK(t, t_guest_is(t, LOAD, a->file, 0x800));
	CHECK(t, t_guest_zero(t, LOAD + 0x800, 0x1000));
	CHECK(t, t_guest_filled(t, LOAD + 0x1800, GUEST_SIZE - LOAD - 0x1800));
	CHECK(t, t->bi.entry == LOAD + 0x80);
	CHECK(t, t->bi.load_start == LOAD && t->bi.load_end == LOAD + 0x1800);
	mbinfo_ok(t, cmd);
	CHECK(t, t_detect(a->file, a->len) == IMAGE_MULTIBOOT);
}

static void mb_aout_whole_file(struct tctx *t)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x400, 0, 0x200000, 0, 0x10);
	a->load_end_addr = 0;	/* the whole file */
	aoutb_emit(a);
	EXPECT_OK(t, t_load_mb(t, a->file, a->len, ""));
	CHECK(t, t_guest_is(t, 0x200000, a->file, 0x400));
	CHECK(t, t_guest_filled(t, 0x200400, 0x100));
	CHECK(t, t->bi.entry == 0x200010);
	CHECK(t, t->bi.load_end == 0x200400);
	mbinfo_ok(t, "");
}

/* The header 0x1000 into the file, text starting 0x800 into it. */
static void mb_aout_text_offset(struct tctx *t)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x2000, 0x1000, LOAD, 0, 0);
	a->load_addr = LOAD + 0x800;	/* file offset 0x800 */
	a->load_end_addr = LOAD + 0x1000;
	a->entry_addr = LOAD + 0x800;
	aoutb_emit(a);
	EXPECT_OK(t, t_load_mb(t, a->file, a->len, NULL));
	CHECK(t, t_guest_is(t, LOAD + 0x800, a->file + 0x800, 0x800));
	CHECK(t, t_guest_filled(t, LOAD, 0x800));
	CHECK(t, t_guest_filled(t, LOAD + 0x1000, 0x1000));
	mbinfo_ok(t, NULL);
}

static void mb_elf_good(struct tctx *t)
{
	struct elfb *b = B();

	mb_elf_build(b);
	EXPECT_OK(t, t_load_mb(t, b->file, b->len, "x"));
	CHECK(t, elfb_seg_loaded(t, b, 0) && elfb_seg_loaded(t, b, 1));
	CHECK(t, t->bi.entry == 0x100040);
	CHECK(t, t->bi.load_start == 0x100000 && t->bi.load_end == 0x202000);
	mbinfo_ok(t, "x");
	CHECK(t, t_detect(b->file, b->len) == IMAGE_MULTIBOOT);
}

static void mb_no_cmdline(struct tctx *t)
{
	struct aoutb *a = aout_std();

	EXPECT_OK(t, t_load_mb(t, a->file, a->len, NULL));
	mbinfo_ok(t, NULL);
}

static void mb_cmdline_longest(struct tctx *t)
{
	static char cmd[MB_CMDLINE_MAX];
	struct aoutb *a = aout_std();

	memset(cmd, 'c', MB_CMDLINE_MAX - 1);
	EXPECT_OK(t, t_load_mb(t, a->file, a->len, cmd));
	mbinfo_ok(t, cmd);
	/* a second load with a shorter one leaves nothing of the first */
	EXPECT_OK(t, t_load_mb(t, a->file, a->len, "short"));
	CHECK(t, t_guest_zero(t, MB_CMDLINE_ADDR + 6, MB_CMDLINE_MAX - 6));
	mbinfo_ok(t, "short");
}

static void mb_cmdline_too_long(struct tctx *t)
{
	static char cmd[MB_CMDLINE_MAX + 1];
	struct aoutb *a = aout_std();

	memset(cmd, 'c', MB_CMDLINE_MAX);
	EXPECT_FAIL(t, t_load_mb(t, a->file, a->len, cmd), -E2BIG,
		    "command line too long (4096 bytes, max 4095)");
}

static void mb_guest_1mib(struct tctx *t)
{
	struct aoutb *a = A();

	t->gm.size = 1 << 20;
	aoutb_init(a, 0x800, HDR, 0x10000, 0x800, 0);
	EXPECT_OK(t, t_load_mb(t, a->file, a->len, NULL));
	CHECK(t, t_guest_is(t, 0x10000, a->file, 0x800));
	mbinfo_ok(t, NULL);
}

static void mb_guest_too_small(struct tctx *t)
{
	struct aoutb *a = A();

	t->gm.size = 512 << 10;
	aoutb_init(a, 0x800, HDR, 0x10000, 0, 0);
	EXPECT_FAIL(t, t_load_mb(t, a->file, a->len, NULL), -ERANGE,
		    "multiboot needs at least 1 MiB of guest RAM (have 512 KiB)");
}

/* Guest RAM sizes beyond 4 TiB: mem_upper saturates, the map does not. */
static void mb_huge_guest(struct tctx *t)
{
	struct aoutb *a = aout_std();

	t->gm.size = 1ull << 43;	/* only the first 2 MiB are touched */
	EXPECT_OK(t, t_load_mb(t, a->file, a->len, NULL));
	t->gm.size = GUEST_SIZE;
	CHECK(t, t_guest_is(t, LOAD, a->file, 0x800));
	t->gm.size = 1ull << 43;
	mbinfo_ok(t, NULL);
	t->gm.size = GUEST_SIZE;
}

static void mb_header_last_slot(struct tctx *t)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x3000, MB_SEARCH_LEN - 32, LOAD, 0, 0);
	EXPECT_OK(t, t_load_mb(t, a->file, a->len, NULL));
	CHECK(t, t_guest_is(t, LOAD, a->file, 0x3000));
}

static void mb_header_past_8192(struct tctx *t)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x3000, MB_SEARCH_LEN, LOAD, 0, 0);
	EXPECT_FAIL(t, t_load_mb(t, a->file, a->len, NULL), -ENOEXEC,
		    "no multiboot header in the first 8192 bytes");
	CHECK(t, t_detect(a->file, a->len) == IMAGE_FLAT);
}

static void mb_header_straddles_8192(struct tctx *t)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x3000, MB_SEARCH_LEN - 8, LOAD, 0, 0);
	a->flags &= ~MB_HF_AOUT_KLUDGE;
	aoutb_emit(a);
	EXPECT_FAIL(t, t_load_mb(t, a->file, a->len, NULL), -EINVAL,
		    "truncated multiboot header at offset 0x1ff8");
	CHECK(t, t_detect(a->file, a->len) == IMAGE_FLAT);
	aoutb_init(a, 0x3000, MB_SEARCH_LEN - 16, LOAD, 0, 0);
	EXPECT_FAIL(t, t_load_mb(t, a->file, a->len, NULL), -EINVAL,
		    "truncated multiboot header at offset 0x1ff0 (a.out kludge fields need 32 bytes)");
}

static void mb_header_unaligned(struct tctx *t)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x800, HDR + 2, LOAD, 0, 0);
	EXPECT_FAIL(t, t_load_mb(t, a->file, a->len, NULL), -ENOEXEC,
		    "no multiboot header");
	CHECK(t, t_detect(a->file, a->len) == IMAGE_FLAT);
}

static void mb_bad_checksum(struct tctx *t)
{
	struct aoutb *a = aout_std();

	a->file[HDR + 8] ^= 1;
	EXPECT_FAIL(t, t_load_mb(t, a->file, a->len, NULL), -ENOEXEC,
		    "bad multiboot checksum (header at offset 0x40: magic + flags + checksum = 0xffffffff, not 0)");
	CHECK(t, t_detect(a->file, a->len) == IMAGE_FLAT);
}

/* Like GRUB, a header with a bad checksum is passed over. */
static void mb_bad_then_good_header(struct tctx *t)
{
	struct aoutb *a = aout_std();

	mb_put(a->file, 0x10, 0);
	a->file[0x18] ^= 0x80;
	EXPECT_OK(t, t_load_mb(t, a->file, a->len, NULL));
	CHECK(t, t_guest_is(t, LOAD, a->file, 0x800));
}

static void mb_unsupported_flags(struct tctx *t)
{
	struct aoutb *a = aout_std();

	a->flags |= 1u << 3;
	aoutb_emit(a);
	EXPECT_FAIL(t, t_load_mb(t, a->file, a->len, NULL), -ENOEXEC,
		    "multiboot header requires unsupported features (flags 0x0001000b)");
}

static void mb_optional_flags_accepted(struct tctx *t)
{
	struct aoutb *a = aout_std();

	a->flags |= MB_HF_VIDEO | (1u << 20) | (1u << 31);
	aoutb_emit(a);
	EXPECT_OK(t, t_load_mb(t, a->file, a->len, NULL));
	mbinfo_ok(t, NULL);
}

static void mb_elf_in_boot_area(struct tctx *t)
{
	struct elfb *b = B();

	mb_elf_build(b);
	b->ph[1].p_paddr = 0x1000;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_mb(t, b->file, b->len, NULL), -ERANGE,
		    "segment 1 [0x1000-0x3000) overlaps the boot area");
}

static void mb_elf_outside_ram(struct tctx *t)
{
	struct elfb *b = B();

	mb_elf_build(b);
	b->ph[1].p_paddr = GUEST_SIZE - 0x1000;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_mb(t, b->file, b->len, NULL), -ERANGE,
		    "segment 1 [0x3fff000-0x4001000) lies outside guest RAM (64 MiB)");
}

static void mb_elf64_refused(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	mb_put(b->file, ELF_DATA_OFF, MB_HF_MEMINFO);
	EXPECT_FAIL(t, t_load_mb(t, b->file, b->len, NULL), -ENOEXEC,
		    "without the a.out kludge must be ELF32");
}

static void mb_not_elf_without_kludge(struct tctx *t)
{
	struct aoutb *a = aout_std();

	a->flags &= ~MB_HF_AOUT_KLUDGE;
	aoutb_emit(a);
	EXPECT_FAIL(t, t_load_mb(t, a->file, a->len, NULL), -ENOEXEC,
		    "not ELF and does not use the a.out kludge");
}

/*
 * Modules: page-aligned from the first page above the kernel (here the
 * a.out image ends at LOAD + 0x1800), in order, then the list and the
 * strings on the next page.
 */
static void mb_modules_placed(struct tctx *t)
{
	static const char one[] = "module one", two[0x1001] = "2";
	struct mb_module mods[3] = {
		{ one, sizeof(one), "one a=1", 0, 0 },
		{ two, sizeof(two), "two", 0, 0 },
		{ "", 0, "empty", 0, 0 },
	};
	struct aoutb *a = aout_std();
	struct mb_mod_entry e[3];
	struct mb_info mbi;

	EXPECT_OK(t, load_multiboot_mods(&t->gm, a->file, a->len, NULL, mods,
					 3, &t->bi, t->err, sizeof(t->err)));
	CHECK(t, mods[0].start == LOAD + 0x2000 &&
		 mods[0].end == LOAD + 0x2000 + sizeof(one));
	CHECK(t, mods[1].start == LOAD + 0x3000 &&
		 mods[1].end == LOAD + 0x4001);
	CHECK(t, mods[2].start == LOAD + 0x5000 && mods[2].end == LOAD + 0x5000);
	CHECK(t, t_guest_is(t, mods[0].start, one, sizeof(one)));
	CHECK(t, t_guest_is(t, mods[1].start, two, sizeof(two)));
	CHECK(t, t->bi.load_end == LOAD + 0x1800);
	memcpy(&mbi, t->gm.base + MB_INFO_ADDR, sizeof(mbi));
	CHECK(t, (mbi.flags & MB_IF_MODS) && mbi.mods_count == 3 &&
		 mbi.mods_addr == LOAD + 0x5000);
	memcpy(e, t->gm.base + mbi.mods_addr, sizeof(e));
	CHECK(t, e[0].mod_start == mods[0].start && e[0].mod_end == mods[0].end);
	CHECK(t, e[1].mod_start == mods[1].start && e[2].mod_end == mods[2].end);
	CHECK(t, e[0].string == LOAD + 0x5000 + sizeof(e) && !e[0].reserved);
	CHECK(t, t_guest_is(t, e[0].string, "one a=1", 8));
	CHECK(t, t_guest_is(t, e[1].string, "two", 4));
	CHECK(t, t_guest_is(t, e[2].string, "empty", 6));
	/* none: no flag */
	EXPECT_OK(t, t_load_mb(t, a->file, a->len, NULL));
	memcpy(&mbi, t->gm.base + MB_INFO_ADDR, sizeof(mbi));
	CHECK(t, !(mbi.flags & MB_IF_MODS) && !mbi.mods_count);
}

/*
 * A module past the end of RAM, after an ELF kernel: refused before the
 * kernel is written (the loader's dry run of the ELF).
 */
static void mb_module_outside_ram(struct tctx *t)
{
	static const char small[0x1000];
	struct mb_module mods[2] = {
		{ small, sizeof(small), "fits", 0, 0 },
		{ t->gm.base, GUEST_SIZE - 0x200000, "does not", 0, 0 },
	};
	struct elfb *b = B();

	mb_elf_build(b);
	EXPECT_FAIL(t, load_multiboot_mods(&t->gm, b->file, b->len, NULL,
					   mods, 2, &t->bi, t->err,
					   sizeof(t->err)),
		    -ERANGE, "module 2 (does not) [0x");
	CHECK(t, t_err_has(t, ") lies outside guest RAM (64 MiB)"));
}

const struct tcase mb_cases[] = {
	{ "mb_aout_good", mb_aout_good },
	{ "mb_aout_whole_file", mb_aout_whole_file },
	{ "mb_aout_text_offset", mb_aout_text_offset },
	{ "mb_elf_good", mb_elf_good },
	{ "mb_no_cmdline", mb_no_cmdline },
	{ "mb_cmdline_longest", mb_cmdline_longest },
	{ "mb_cmdline_too_long", mb_cmdline_too_long },
	{ "mb_guest_1mib", mb_guest_1mib },
	{ "mb_guest_too_small", mb_guest_too_small },
	{ "mb_huge_guest", mb_huge_guest },
	{ "mb_header_last_slot", mb_header_last_slot },
	{ "mb_header_past_8192", mb_header_past_8192 },
	{ "mb_header_straddles_8192", mb_header_straddles_8192 },
	{ "mb_header_unaligned", mb_header_unaligned },
	{ "mb_bad_checksum", mb_bad_checksum },
	{ "mb_bad_then_good_header", mb_bad_then_good_header },
	{ "mb_unsupported_flags", mb_unsupported_flags },
	{ "mb_optional_flags_accepted", mb_optional_flags_accepted },
	{ "mb_elf_in_boot_area", mb_elf_in_boot_area },
	{ "mb_elf_outside_ram", mb_elf_outside_ram },
	{ "mb_elf64_refused", mb_elf64_refused },
	{ "mb_not_elf_without_kludge", mb_not_elf_without_kludge },
	{ "mb_modules_placed", mb_modules_placed },
	{ "mb_module_outside_ram", mb_module_outside_ram },
	{ NULL, NULL },
};
