// SPDX-License-Identifier: GPL-2.0
/* ELF loader cases: PT_LOAD segments (ranges, wrap-around, overlaps, entry). */
#include <errno.h>

#include "test.h"

static struct elfb *B(void)
{
	static struct elfb b;

	return &b;
}

static void elf_skips_other_phdrs(struct tctx *t)
{
	struct elfb *b = B();

	elfb_init(b, ELFCLASS64, 0x300000);
	elfb_phdr(b, PT_NOTE, ~0ull, ~0ull, ~0ull, ~0ull, 1);
	elfb_phdr(b, PT_GNU_STACK, 0, 0, 0, 0, 0);
	elfb_phdr(b, PT_LOAD, 0, 0x10, 0x10, 0, 0);	/* empty: ignored */
	elfb_load(b, 0x300000, 0x40, 0x40, 0x33);
	elfb_emit(b);
	EXPECT_OK(t, t_load_elf(t, b->file, b->len));
	CHECK(t, elfb_seg_loaded(t, b, 3));
	CHECK(t, t_guest_filled(t, 0, 0x300000));
	CHECK(t, t->bi.load_start == 0x300000 && t->bi.load_end == 0x300040);
}

static void elf_segment_ends_at_ram_end(struct tctx *t)
{
	struct elfb *b = B();

	elfb_init(b, ELFCLASS64, GUEST_SIZE - 0x1000);
	elfb_load(b, GUEST_SIZE - 0x1000, 0x10, 0x1000, 0x55);
	elfb_emit(b);
	EXPECT_OK(t, t_load_elf(t, b->file, b->len));
	CHECK(t, elfb_seg_loaded(t, b, 0));
}

static void elf_adjacent_segments(struct tctx *t)
{
	struct elfb *b = B();

	elfb_init(b, ELFCLASS32, 0x100000);
	elfb_load(b, 0x101000, 0x20, 0x1000, 1);
	elfb_load(b, 0x100000, 0x20, 0x1000, 2);
	elfb_emit(b);
	EXPECT_OK(t, t_load_elf(t, b->file, b->len));
	CHECK(t, elfb_seg_loaded(t, b, 0) && elfb_seg_loaded(t, b, 1));
	CHECK(t, t->bi.load_start == 0x100000 && t->bi.load_end == 0x102000);
}

static void elf_64_segments(struct tctx *t)
{
	struct elfb *b = B();
	unsigned int i;

	elfb_init(b, ELFCLASS64, 0x100000);
	for (i = 0; i < LOADER_MAX_SEGMENTS; i++)
		elfb_load(b, 0x100000 + i * 0x1000, 8, 0x800, i);
	elfb_emit(b);
	EXPECT_OK(t, t_load_elf(t, b->file, b->len));
	for (i = 0; i < LOADER_MAX_SEGMENTS; i++)
		CHECK(t, elfb_seg_loaded(t, b, i));
}

static void elf_65_segments(struct tctx *t)
{
	struct elfb *b = B();
	unsigned int i;

	elfb_init(b, ELFCLASS64, 0x100000);
	for (i = 0; i <= LOADER_MAX_SEGMENTS; i++)
		elfb_load(b, 0x100000 + i * 0x1000, 8, 0x800, i);
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -E2BIG,
		    "more than 64 PT_LOAD segments");
}

static void elf_segment_outside_ram(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->ph[1].p_paddr = GUEST_SIZE - 0x100;
	b->ph[1].p_vaddr = b->ph[1].p_paddr;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -ERANGE,
		    "segment 1 [0x3ffff00-0x4001f00) lies outside guest RAM (64 MiB)");
	b->ph[1].p_paddr = 1ull << 40;
	b->ph[1].p_vaddr = b->ph[1].p_paddr;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -ERANGE,
		    "segment 1 [0x10000000000-0x10000002000) lies outside guest RAM");
}

static void elf_absurd_memsz(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->ph[0].p_memsz = 1ull << 62;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -ERANGE,
		    "segment 0 [0x100000-0x4000000000100000) lies outside guest RAM");
}

static void elf_paddr_wraps(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->ph[1].p_paddr = ~0ull - 0xff;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "segment 1: p_paddr 0xffffffffffffff00 + p_memsz 0x2000 wraps around");
}

static void elf_vaddr_wraps(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->ph[0].p_vaddr = ~0ull - 0x10;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "segment 0: p_vaddr 0xffffffffffffffef + p_memsz 0x300 wraps around");
}

static void elf32_wraps_4g(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS32);
	b->ph[1].p_paddr = 0xfffff000;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "segment 1: p_paddr 0xfffff000 + p_memsz 0x2000 wraps the 32-bit address space");
	elfb_good(b, ELFCLASS32);
	b->ph[0].p_vaddr = 0xffffff00;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "segment 0: p_vaddr 0xffffff00");
}

static void elf_file_range_beyond_file(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->ph[1].p_filesz = 0x1000;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "segment 1: file range [0x1300-0x2300) extends beyond the end of the file (0x1480 bytes)");
	elfb_good(b, ELFCLASS64);
	b->ph[0].p_offset = 1ull << 40;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "segment 0: file range");
}

static void elf_file_range_wraps(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->ph[0].p_offset = ~0ull - 0x10;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "segment 0: p_offset 0xffffffffffffffef + p_filesz 0x300 wraps around");
}

static void elf_filesz_above_memsz(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS32);
	b->ph[0].p_memsz = 0x100;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "segment 0: p_filesz 0x300 exceeds p_memsz 0x100");
}

static void elf_overlapping_segments(struct tctx *t)
{
	struct elfb *b = B();

	elfb_init(b, ELFCLASS64, 0x100000);
	elfb_load(b, 0x100000, 0x10, 0x1000, 1);
	elfb_load(b, 0x200000, 0x10, 0x1000, 2);
	elfb_load(b, 0x300000, 0x10, 0x1000, 3);
	elfb_load(b, 0x200ff0, 0x10, 0x100, 4);	/* tail of segment 1 */
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "overlapping segments 1 and 3");
}

static void elf_nested_segments(struct tctx *t)
{
	struct elfb *b = B();

	elfb_init(b, ELFCLASS32, 0x100000);
	elfb_load(b, 0x180000, 0x10, 0x10, 1);
	elfb_load(b, 0x100000, 0x10, 0x100000, 2);	/* contains segment 0 */
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "overlapping segments 0 and 1");
}

static void elf_entry_outside_segments(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->eh.e_entry = 0x100300;	/* one past segment 0 */
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "entry point 0x100300 is not inside any PT_LOAD segment");
}

static void elf_interp(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	elfb_phdr(b, PT_INTERP, 0x1000, 0, 0, 0x10, 0x10);
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -ENOEXEC,
		    "PT_INTERP in program header 2");
}

static void elf_no_load_segment(struct tctx *t)
{
	struct elfb *b = B();

	elfb_init(b, ELFCLASS64, 0);
	elfb_phdr(b, PT_NOTE, 0, 0, 0, 0, 0);
	elfb_phdr(b, PT_LOAD, 0, 0x100000, 0x100000, 0, 0);
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "no PT_LOAD segment with contents");
}

const struct tcase elf_seg_cases[] = {
	{ "elf_skips_other_phdrs", elf_skips_other_phdrs },
	{ "elf_segment_ends_at_ram_end", elf_segment_ends_at_ram_end },
	{ "elf_adjacent_segments", elf_adjacent_segments },
	{ "elf_64_segments", elf_64_segments },
	{ "elf_65_segments", elf_65_segments },
	{ "elf_segment_outside_ram", elf_segment_outside_ram },
	{ "elf_absurd_memsz", elf_absurd_memsz },
	{ "elf_paddr_wraps", elf_paddr_wraps },
	{ "elf_vaddr_wraps", elf_vaddr_wraps },
	{ "elf32_wraps_4g", elf32_wraps_4g },
	{ "elf_file_range_beyond_file", elf_file_range_beyond_file },
	{ "elf_file_range_wraps", elf_file_range_wraps },
	{ "elf_filesz_above_memsz", elf_filesz_above_memsz },
	{ "elf_overlapping_segments", elf_overlapping_segments },
	{ "elf_nested_segments", elf_nested_segments },
	{ "elf_entry_outside_segments", elf_entry_outside_segments },
	{ "elf_interp", elf_interp },
	{ "elf_no_load_segment", elf_no_load_segment },
	{ NULL, NULL },
};
