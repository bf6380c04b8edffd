// SPDX-License-Identifier: GPL-2.0
/* The Linux vmlinux loader (boot/vmlinux.c) on made-up kernels. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "../khyp.h"

#define ZP		LINUX_ZERO_PAGE
#define KEND		(VMLINUX_ENTRY + 0x400080)	/* the per-CPU segment's end */

static struct elfb vb;

/* Through an exactly-sized heap copy (ASan), on fresh RAM. */
static int t_load_vm(struct tctx *t, const struct elfb *b, const char *cmdline,
		     const void *initrd, size_t ilen)
{
	struct linux_args la = { cmdline, initrd, ilen };
	void *p = malloc(b->len);
	int ret;

	memset(t->gm.base, GUEST_FILL,
	       t->gm.size < GUEST_SIZE ? t->gm.size : GUEST_SIZE);
	memcpy(p, b->file, b->len);
	ret = load_vmlinux(&t->gm, p, b->len, &la, &t->bi, t->err,
			   sizeof(t->err));
	free(p);
	return ret;
}

static void vmlinux_at_its_physical_entry(struct tctx *t)
{
	const unsigned char *zp;
	struct khyp_sregs s;
	struct khyp_regs r;

	vmlinux_build(&vb, ELFCLASS64, "Linux");
	CHECK(t, t_detect(vb.file, vb.len) == IMAGE_VMLINUX);
	CHECK(t, !strcmp(image_format_name(IMAGE_VMLINUX), "vmlinux"));
	CHECK(t, image_is_linux(IMAGE_VMLINUX) && image_is_linux(IMAGE_BZIMAGE) &&
		 !image_is_linux(IMAGE_ELF64));
	EXPECT_OK(t, t_load_vm(t, &vb, "console=ttyS0", NULL, 0));
	/* each segment at its physical address, bss zeroed */
	CHECK(t, elfb_seg_loaded(t, &vb, 0));
	CHECK(t, elfb_seg_loaded(t, &vb, 1));
	CHECK(t, elfb_seg_loaded(t, &vb, 2));
	CHECK(t, t->bi.format == IMAGE_VMLINUX && t->bi.mode == MODE_LONG64);
	CHECK(t, t->bi.entry == VMLINUX_ENTRY);
	CHECK(t, t->bi.boot_params == ZP);
	CHECK(t, t->bi.load_start == VMLINUX_ENTRY && t->bi.load_end == KEND);
	/* the setup header the loader made: a 64-bit bzImage's, 2.12 */
	zp = t->gm.base + ZP;
	CHECK(t, t_get(zp, 0x1fe, 2) == 0xaa55);
	CHECK(t, t_get(zp, 0x202, 4) == 0x53726448);		/* "HdrS" */
	CHECK(t, t_get(zp, 0x206, 2) == 0x020c);
	CHECK(t, zp[0x201] == 0x264 - 0x202);			/* header end */
	CHECK(t, zp[0x210] == 0xff);				/* type_of_loader */
	CHECK(t, zp[0x211] == 0x01);				/* LOADED_HIGH */
	CHECK(t, t_get(zp, 0x214, 4) == VMLINUX_ENTRY);		/* code32_start */
	CHECK(t, t_get(zp, 0x228, 4) == LINUX_CMDLINE);
	CHECK(t, !strcmp((char *)t->gm.base + LINUX_CMDLINE, "console=ttyS0"));
	CHECK(t, t_get(zp, 0x22c, 4) == 0x7fffffff);		/* initrd_addr_max */
	CHECK(t, t_get(zp, 0x236, 2) == 1);			/* XLF_KERNEL_64 */
	CHECK(t, t_get(zp, 0x238, 4) == 2047);			/* cmdline_size */
	CHECK(t, t_get(zp, 0x258, 8) == VMLINUX_ENTRY);		/* pref_address */
	CHECK(t, t_get(zp, 0x260, 4) == KEND - VMLINUX_ENTRY);	/* init_size */
	CHECK(t, t_get(zp, 0x218, 4) == 0 && t_get(zp, 0x21c, 4) == 0);
	CHECK(t, t_get(zp, 0x1fa, 2) == 0xffff);
	CHECK(t, t_guest_zero(t, ZP, 0x1e8));
	CHECK(t, t_guest_zero(t, ZP + 0x264, 0x2d0 - 0x264));
	CHECK(t, zp[0x1e8] == 5);
	CHECK(t, t_zp_e820_is(t, 0, 0, 0x9fc00, 1));
	CHECK(t, t_zp_e820_is(t, 3, 0x100000, GUEST_SIZE - 0x100000, 1));
	CHECK(t, t_zp_e820_is(t, 4, 0xb0000000, 0x10000000, 2));
	/* nothing else: not between the segments, not above them */
	CHECK(t, t_guest_filled(t, 0x100000, VMLINUX_ENTRY - 0x100000));
	CHECK(t, t_guest_filled(t, VMLINUX_ENTRY + 0x300,
				0x200000 - 0x300));
	CHECK(t, t_guest_filled(t, KEND, GUEST_SIZE - KEND));
	/* the 64-bit boot protocol: __BOOT_CS 64-bit, RSI the zero page */
	CHECK(t, boot__tables(&t->gm, &t->bi, t->err, sizeof(t->err)) == 0);
	boot__regs(&t->bi, &r, &s);
	CHECK(t, s.cs.selector == 0x10 && s.cs.l == 1 && s.cs.db == 0);
	CHECK(t, s.ds.selector == 0x18 && s.ss.selector == 0x18);
	CHECK(t, r.rip == VMLINUX_ENTRY && r.rsi == ZP);
	CHECK(t, (s.cr0 & 0x80000001) == 0x80000001 && (s.efer & 0x500) == 0x500);
}

static void vmlinux_initrd_above_the_kernel(struct tctx *t)
{
	static unsigned char rd[5000];
	unsigned char *big;
	uint64_t at;

	memset(rd, 0x5a, sizeof(rd));
	vmlinux_build(&vb, ELFCLASS64, "Linux");
	EXPECT_OK(t, t_load_vm(t, &vb, "", rd, sizeof(rd)));
	at = (GUEST_SIZE - sizeof(rd)) & ~0xfffULL;
	CHECK(t, t_get(t->gm.base + ZP, 0x218, 4) == at);
	CHECK(t, t_get(t->gm.base + ZP, 0x21c, 4) == sizeof(rd));
	CHECK(t, t_guest_is(t, at, rd, sizeof(rd)));
	CHECK(t, t->gm.base[LINUX_CMDLINE] == 0);
	/* one that does not fit between the kernel's end and RAM's */
	big = calloc(1, GUEST_SIZE - KEND);
	CHECK(t, big != NULL);
	t->gm.size = GUEST_SIZE;
	EXPECT_FAIL(t, t_load_vm(t, &vb, "", big, GUEST_SIZE - KEND), -ERANGE,
		    "initrd");
	free(big);
	/* an initrd length without its data */
	EXPECT_FAIL(t, t_load_vm(t, &vb, "", NULL, 100), -EINVAL, "initrd");
}

static void vmlinux_refused(struct tctx *t)
{
	static char line[2049];

	/* no "Linux" note: a plain ELF64 to detection, refused here */
	vmlinux_build(&vb, ELFCLASS64, "Linuz");
	CHECK(t, t_detect(vb.file, vb.len) == IMAGE_ELF64);
	EXPECT_FAIL(t, t_load_vm(t, &vb, NULL, NULL, 0), -ENOEXEC,
		    "not a Linux vmlinux");
	/* a 32-bit kernel */
	vmlinux_build(&vb, ELFCLASS32, "Linux");
	CHECK(t, t_detect(vb.file, vb.len) == IMAGE_VMLINUX);
	EXPECT_FAIL(t, t_load_vm(t, &vb, NULL, NULL, 0), -ENOEXEC, "32-bit");
	/* an entry that is no segment's physical address (a virtual one) */
	vmlinux_build(&vb, ELFCLASS64, "Linux");
	vb.eh.e_entry = 0xffffffff81000000ULL;
	elfb_emit(&vb);
	EXPECT_FAIL(t, t_load_vm(t, &vb, NULL, NULL, 0), -EINVAL,
		    "physical range");
	/* a segment in the first MiB (the zero page, the tables) */
	vmlinux_build(&vb, ELFCLASS64, "Linux");
	vb.ph[2].p_paddr = 0x80000;
	elfb_emit(&vb);
	EXPECT_FAIL(t, t_load_vm(t, &vb, NULL, NULL, 0), -ERANGE, "first MiB");
	/* a kernel larger than RAM */
	vmlinux_build(&vb, ELFCLASS64, "Linux");
	t->gm.size = VMLINUX_ENTRY + 0x300000;
	EXPECT_FAIL(t, t_load_vm(t, &vb, NULL, NULL, 0), -ERANGE,
		    "outside guest RAM");
	t->gm.size = GUEST_SIZE;
	/* x86's COMMAND_LINE_SIZE: 2047 bytes and the NUL */
	memset(line, 'x', 2048);
	EXPECT_FAIL(t, t_load_vm(t, &vb, line, NULL, 0), -E2BIG, "2047");
	line[2047] = 0;
	EXPECT_OK(t, t_load_vm(t, &vb, line, NULL, 0));
	CHECK(t, !strcmp((char *)t->gm.base + LINUX_CMDLINE, line));
}

/* Notes that lie or run off the file are no "Linux" note. */
static void vmlinux_detect_malformed_notes(struct tctx *t)
{
	Elf64_Phdr *note;
	uint32_t big = 0x7ffffff0;

	vmlinux_build(&vb, ELFCLASS64, "Linux");
	note = &vb.ph[3];
	CHECK(t, note->p_type == PT_NOTE);
	/* the first note's descsz past the segment's end */
	memcpy(vb.file + note->p_offset + 4, &big, 4);
	CHECK(t, t_detect(vb.file, vb.len) == IMAGE_ELF64);
	/* the segment past the file's end */
	vmlinux_build(&vb, ELFCLASS64, "Linux");
	vb.ph[3].p_filesz = vb.len;
	elfb_emit(&vb);
	CHECK(t, t_detect(vb.file, vb.len) == IMAGE_ELF64);
	/* the "Linux" note cut short by the segment's size */
	vmlinux_build(&vb, ELFCLASS64, "Linux");
	vb.ph[3].p_filesz -= 4;
	elfb_emit(&vb);
	CHECK(t, t_detect(vb.file, vb.len) == IMAGE_ELF64);
	/* another machine */
	vmlinux_build(&vb, ELFCLASS64, "Linux");
	vb.eh.e_machine = EM_AARCH64;
	elfb_emit(&vb);
	CHECK(t, t_detect(vb.file, vb.len) == IMAGE_ELF64);
	/* the header alone */
	vmlinux_build(&vb, ELFCLASS64, "Linux");
	CHECK(t, t_detect(vb.file, sizeof(Elf64_Ehdr)) == IMAGE_ELF64);
}

const struct tcase vmlinux_cases[] = {
	{ "vmlinux_at_its_physical_entry", vmlinux_at_its_physical_entry },
	{ "vmlinux_initrd_above_the_kernel", vmlinux_initrd_above_the_kernel },
	{ "vmlinux_refused", vmlinux_refused },
	{ "vmlinux_detect_malformed_notes", vmlinux_detect_malformed_notes },
	{ NULL, NULL },
};
