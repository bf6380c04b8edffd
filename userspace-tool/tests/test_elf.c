// SPDX-License-Identifier: GPL-2.0
/* ELF loader cases: good images, the ELF header, the program header table. */
#include <errno.h>
#include <string.h>

#include "test.h"

static struct elfb *B(void)
{
	static struct elfb b;

	return &b;
}

static void good(struct tctx *t, int class)
{
	struct elfb *b = B();

	elfb_good(b, class);
	EXPECT_OK(t, t_load_elf(t, b->file, b->len));
	CHECK(t, elfb_seg_loaded(t, b, 0));
	CHECK(t, elfb_seg_loaded(t, b, 1));
	CHECK(t, t_guest_filled(t, 0x100300, 0x100000 - 0x300));
	CHECK(t, t_guest_filled(t, 0x202000, GUEST_SIZE - 0x202000));
	CHECK(t, t_guest_filled(t, 0, 0x100000));
	CHECK(t, t->bi.entry == 0x100040);
	CHECK(t, t->bi.mode == (class == ELFCLASS32 ? MODE_PROT32 :
						       MODE_LONG64));
	CHECK(t, t->bi.format == (class == ELFCLASS32 ? IMAGE_ELF32 :
							 IMAGE_ELF64));
	CHECK(t, t->bi.load_start == 0x100000 && t->bi.load_end == 0x202000);
	CHECK(t, t->bi.stack == LOADER_STACK_TOP);
	CHECK(t, t->bi.mb_magic == 0 && t->bi.mb_info_addr == 0);
	CHECK(t, t_detect(b->file, b->len) ==
		 (class == ELFCLASS32 ? IMAGE_ELF32 : IMAGE_ELF64));
}

static void elf64_good(struct tctx *t)
{
	good(t, ELFCLASS64);
}

static void elf32_good(struct tctx *t)
{
	good(t, ELFCLASS32);
}

static void elf64_higher_half_entry(struct tctx *t)
{
	struct elfb *b = B();
	const uint64_t va = 0xffffffff80000000ull;

	elfb_init(b, ELFCLASS64, va + 0x100010);
	elfb_load(b, 0x100000, 0x100, 0x1000, 0x21);
	b->ph[0].p_vaddr = va + 0x100000;
	elfb_emit(b);
	EXPECT_OK(t, t_load_elf(t, b->file, b->len));
	CHECK(t, elfb_seg_loaded(t, b, 0));
	CHECK(t, t->bi.entry == 0x100010);
}

/* Every proper prefix of a good image fails, with the right complaint. */
static void truncated(struct tctx *t, int class)
{
	struct elfb *b = B();
	size_t ehsz = class == ELFCLASS32 ? sizeof(Elf32_Ehdr) :
					    sizeof(Elf64_Ehdr);
	size_t phend = ehsz + 2 * (class == ELFCLASS32 ? sizeof(Elf32_Phdr) :
							 sizeof(Elf64_Phdr));
	const char *want;
	size_t len;
	int ret;

	elfb_good(b, class);
	for (len = 0; len < b->len; len++) {
		ret = t_load_elf(t, b->file, len);
		if (len == 0)
			want = "empty image";
		else if (len < ehsz)
			want = "truncated ELF header";
		else if (len < phend)
			want = "program headers";
		else
			want = "extends beyond the end of the file";
		if (ret != -EINVAL || !t_err_has(t, want)) {
			t_fail(t, __FILE__, __LINE__,
			       "length %zu: returned %d, err \"%s\"", len, ret,
			       t->err);
			return;
		}
		CHECK(t, t_guest_untouched(t));
	}
	EXPECT_OK(t, t_load_elf(t, b->file, len));
}

static void elf64_truncated_every_length(struct tctx *t)
{
	truncated(t, ELFCLASS64);
}

static void elf32_truncated_every_length(struct tctx *t)
{
	truncated(t, ELFCLASS32);
}

static void elf_bad_magic(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->file[1] = 'e';
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -ENOEXEC, "bad magic");
	EXPECT_FAIL(t, t_load_elf(t, "\x7f" "EL", 3), -EINVAL,
		    "truncated ELF header (3 of 16 bytes)");
	EXPECT_FAIL(t, t_load_elf(t, "MZ", 2), -ENOEXEC, "bad magic");
}

static void ident(struct tctx *t, int byte, int val, int errnum,
		  const char *msg)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->eh.e_ident[byte] = val;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), errnum, msg);
}

static void elf_bad_class(struct tctx *t)
{
	ident(t, EI_CLASS, 3, -ENOEXEC, "unsupported ELF class 3");
	ident(t, EI_CLASS, ELFCLASSNONE, -ENOEXEC, "unsupported ELF class 0");
}

static void elf_big_endian(struct tctx *t)
{
	ident(t, EI_DATA, ELFDATA2MSB, -ENOEXEC, "not little-endian");
}

static void elf_bad_version(struct tctx *t)
{
	struct elfb *b = B();

	ident(t, EI_VERSION, 2, -ENOEXEC, "unsupported ELF version 2");
	elfb_good(b, ELFCLASS32);
	b->eh.e_version = 7;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -ENOEXEC,
		    "unsupported ELF version 7");
}

/* A 64-bit layout whose ident says ELF32 is read as a (wrong) ELF32. */
static void elf_class_mismatch(struct tctx *t)
{
	ident(t, EI_CLASS, ELFCLASS32, -ENOEXEC, "wrong machine 62 for ELF32");
}

static void elf_not_executable(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->eh.e_type = ET_DYN;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -ENOEXEC,
		    "not an executable ELF (e_type 3)");
}

static void elf64_wrong_machine(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->eh.e_machine = EM_386;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -ENOEXEC,
		    "wrong machine 3 for ELF64 (want EM_X86_64)");
}

static void elf32_wrong_machine(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS32);
	b->eh.e_machine = EM_X86_64;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -ENOEXEC,
		    "wrong machine 62 for ELF32 (want EM_386)");
}

static void elf_bad_phentsize(struct tctx *t)
{
	static const uint16_t bad[] = { 0, 1, 32, 55, 57, 0xffff };
	struct elfb *b = B();
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		elfb_good(b, ELFCLASS64);
		b->eh.e_phentsize = bad[i];
		elfb_emit(b);
		EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
			    "bad e_phentsize");
	}
}

static void elf_no_phdrs(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS32);
	b->eh.e_phnum = 0;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "no program headers");
}

static void elf_huge_phnum(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->eh.e_phnum = 0xfffe;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "extend beyond the end of the file");
	b->eh.e_phnum = PN_XNUM;
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "extended program header numbering");
}

static void elf_phoff_out_of_file(struct tctx *t)
{
	struct elfb *b = B();

	elfb_good(b, ELFCLASS64);
	b->eh.e_phoff = b->len - 56;	/* one of two headers fits */
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "program headers");
	b->eh.e_phoff = ~0ull - 16;	/* phoff + table wraps */
	elfb_emit(b);
	EXPECT_FAIL(t, t_load_elf(t, b->file, b->len), -EINVAL,
		    "extend beyond the end of the file");
}

static void elf_bad_arguments(struct tctx *t)
{
	struct elfb *b = B();
	struct guest_mem nomem = { NULL, GUEST_SIZE, 0 };
	char small[12];

	elfb_good(b, ELFCLASS64);
	CHECK(t, load_elf(&nomem, b->file, b->len, &t->bi, t->err,
			  sizeof(t->err)) == -EINVAL);
	CHECK(t, t_err_has(t, "no guest memory"));
	CHECK(t, load_elf(NULL, b->file, b->len, &t->bi, NULL, 0) == -EINVAL);
	CHECK(t, load_elf(&t->gm, b->file, b->len, NULL, t->err,
			  sizeof(t->err)) == -EINVAL);
	CHECK(t, load_elf(&t->gm, NULL, 100, &t->bi, t->err,
			  sizeof(t->err)) == -EINVAL);
	CHECK(t, t_err_has(t, "empty image"));
	/* a short message buffer gets a truncated, terminated message */
	b->file[0] = 0;
	memset(small, 'x', sizeof(small));
	CHECK(t, load_elf(&t->gm, b->file, b->len, &t->bi, small,
			  sizeof(small)) == -ENOEXEC);
	CHECK(t, !strcmp(small, "not an ELF "));
	CHECK(t, t_guest_untouched(t));
}

const struct tcase elf_cases[] = {
	{ "elf64_good", elf64_good },
	{ "elf32_good", elf32_good },
	{ "elf64_higher_half_entry", elf64_higher_half_entry },
	{ "elf64_truncated_every_length", elf64_truncated_every_length },
	{ "elf32_truncated_every_length", elf32_truncated_every_length },
	{ "elf_bad_magic", elf_bad_magic },
	{ "elf_bad_class", elf_bad_class },
	{ "elf_big_endian", elf_big_endian },
	{ "elf_bad_version", elf_bad_version },
	{ "elf_class_mismatch", elf_class_mismatch },
	{ "elf_not_executable", elf_not_executable },
	{ "elf64_wrong_machine", elf64_wrong_machine },
	{ "elf32_wrong_machine", elf32_wrong_machine },
	{ "elf_bad_phentsize", elf_bad_phentsize },
	{ "elf_no_phdrs", elf_no_phdrs },
	{ "elf_huge_phnum", elf_huge_phnum },
	{ "elf_phoff_out_of_file", elf_phoff_out_of_file },
	{ "elf_bad_arguments", elf_bad_arguments },
	{ NULL, NULL },
};
