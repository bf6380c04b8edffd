// SPDX-License-Identifier: GPL-2.0
/* The Linux bzImage loader (boot/bzimage.c) on made-up boot headers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "../khyp.h"

#define PM_OFF		0xa00		/* setup_sects 4: (4 + 1) * 512 */
#define PM_LEN		0x3000
#define BZ_LEN		(PM_OFF + PM_LEN)
#define ZP		LINUX_ZERO_PAGE

static unsigned char bz[BZ_LEN];

static void put(unsigned char *p, size_t off, uint64_t v, size_t n)
{
	memcpy(p + off, &v, n);
}

/*
 * A relocatable protocol 2.15 kernel with a 64-bit entry: 2 MiB
 * alignment, pref_address 16 MiB, init_size 8 MiB, initrd below 2 GiB.
 */
static void bz_good(void)
{
	size_t k;

	memset(bz, 0, sizeof(bz));
	for (k = PM_OFF; k < BZ_LEN; k++)
		bz[k] = (unsigned char)(k * 13 + 5);
	bz[0x1f1] = 4;				/* setup_sects */
	put(bz, 0x1fe, 0xaa55, 2);
	bz[0x200] = 0xeb;			/* jmp over the header */
	bz[0x201] = 0x6a;			/* header ends at 0x26c */
	put(bz, 0x202, 0x53726448, 4);		/* "HdrS" */
	put(bz, 0x206, 0x020f, 2);
	bz[0x211] = 0x01 | 0x80;		/* LOADED_HIGH, CAN_USE_HEAP */
	put(bz, 0x214, 0x100000, 4);		/* code32_start */
	put(bz, 0x22c, 0x7fffffff, 4);		/* initrd_addr_max */
	put(bz, 0x230, 0x200000, 4);		/* kernel_alignment */
	bz[0x234] = 1;				/* relocatable */
	put(bz, 0x236, 0x1, 2);			/* XLF_KERNEL_64 */
	put(bz, 0x238, 2047, 4);		/* cmdline_size */
	put(bz, 0x258, 0x1000000, 8);		/* pref_address */
	put(bz, 0x260, 0x800000, 4);		/* init_size */
}

static int t_load_bz(struct tctx *t, const char *cmdline, const void *initrd,
		     size_t ilen)
{
	struct linux_args la = { cmdline, initrd, ilen };
	void *p = malloc(BZ_LEN);
	int ret;

	/* each load on fresh RAM, so that a failed one shows what it wrote */
	memset(t->gm.base, GUEST_FILL,
	       t->gm.size < GUEST_SIZE ? t->gm.size : GUEST_SIZE);
	memcpy(p, bz, BZ_LEN);
	ret = load_bzimage(&t->gm, p, BZ_LEN, &la, &t->bi, t->err,
			   sizeof(t->err));
	free(p);
	return ret;
}

static void bz_64bit_at_pref_address(struct tctx *t)
{
	const unsigned char *zp;

	bz_good();
	EXPECT_OK(t, t_load_bz(t, "console=ttyS0", NULL, 0));
	zp = t->gm.base + ZP;
	CHECK(t, t_guest_is(t, 0x1000000, bz + PM_OFF, PM_LEN));
	CHECK(t, t->bi.format == IMAGE_BZIMAGE && t->bi.mode == MODE_LONG64);
	CHECK(t, t->bi.entry == 0x1000200);
	CHECK(t, t->bi.boot_params == ZP);
	CHECK(t, t->bi.load_start == 0x1000000 &&
		 t->bi.load_end == 0x1800000);
	/* the setup header, then what the loader fills in */
	CHECK(t, t_get(zp, 0x202, 4) == 0x53726448);
	CHECK(t, t_get(zp, 0x258, 8) == 0x1000000);
	CHECK(t, zp[0x210] == 0xff);			/* type_of_loader */
	CHECK(t, zp[0x211] == 0x01);			/* no heap */
	CHECK(t, t_get(zp, 0x214, 4) == 0x1000000);	/* code32_start */
	CHECK(t, t_get(zp, 0x228, 4) == LINUX_CMDLINE);
	CHECK(t, !strcmp((char *)t->gm.base + LINUX_CMDLINE, "console=ttyS0"));
	CHECK(t, t_get(zp, 0x218, 4) == 0 && t_get(zp, 0x21c, 4) == 0);
	CHECK(t, t_get(zp, 0x1fa, 2) == 0xffff);
	/* nothing of the old boot sector, nothing past the header */
	CHECK(t, t_guest_zero(t, ZP, 0x1e8));
	CHECK(t, t_guest_zero(t, ZP + 0x26c, 0x2d0 - 0x26c));
	CHECK(t, zp[0x1e8] == 5);
	CHECK(t, t_zp_e820_is(t, 0, 0, 0x9fc00, 1));
	CHECK(t, t_zp_e820_is(t, 1, 0x9fc00, 0x400, 2));
	CHECK(t, t_zp_e820_is(t, 2, 0xe0000, 0x20000, 2));
	CHECK(t, t_zp_e820_is(t, 3, 0x100000, GUEST_SIZE - 0x100000, 1));
	CHECK(t, t_zp_e820_is(t, 4, 0xb0000000, 0x10000000, 2));	/* the ECAM */
	/* the kernel, the zero page and the command line; nothing else */
	CHECK(t, t_guest_filled(t, 0x100000, 0x1000000 - 0x100000));
	CHECK(t, t_guest_filled(t, 0x1000000 + PM_LEN,
				GUEST_SIZE - 0x1000000 - PM_LEN));
}

static void bz_32bit_entry_without_xlf(struct tctx *t)
{
	bz_good();
	put(bz, 0x236, 0, 2);
	EXPECT_OK(t, t_load_bz(t, NULL, NULL, 0));
	CHECK(t, t->bi.mode == MODE_PROT32 && t->bi.entry == 0x1000000);
	CHECK(t, t->gm.base[LINUX_CMDLINE] == 0);
	/* 2.11 has no 64-bit entry even with the bit */
	bz_good();
	put(bz, 0x206, 0x020b, 2);
	EXPECT_OK(t, t_load_bz(t, NULL, NULL, 0));
	CHECK(t, t->bi.mode == MODE_PROT32);
}

static void bz_relocated_when_pref_does_not_fit(struct tctx *t)
{
	bz_good();
	t->gm.size = 20 << 20;		/* 16 MiB + 8 MiB does not fit */
	EXPECT_OK(t, t_load_bz(t, NULL, NULL, 0));
	CHECK(t, t->bi.load_start == 0x200000);	/* first 2 MiB boundary */
	CHECK(t, t_guest_is(t, 0x200000, bz + PM_OFF, PM_LEN));
	CHECK(t, t_get(t->gm.base + ZP, 0x214, 4) == 0x200000);
	CHECK(t, t_zp_e820_is(t, 3, 0x100000, (20 << 20) - 0x100000, 1));
}

static void bz_fixed_kernel_at_code32_start(struct tctx *t)
{
	bz_good();
	bz[0x234] = 0;
	EXPECT_OK(t, t_load_bz(t, NULL, NULL, 0));
	CHECK(t, t->bi.load_start == 0x100000 && t->bi.entry == 0x100200);
	bz_good();
	bz[0x234] = 0;
	put(bz, 0x214, 0x8000, 4);
	EXPECT_FAIL(t, t_load_bz(t, NULL, NULL, 0), -ERANGE, "first MiB");
}

static void bz_initrd_high_below_max(struct tctx *t)
{
	static unsigned char rd[5000];
	const unsigned char *zp;
	uint64_t at;

	memset(rd, 0x5a, sizeof(rd));
	bz_good();
	EXPECT_OK(t, t_load_bz(t, "", rd, sizeof(rd)));
	zp = t->gm.base + ZP;
	at = (GUEST_SIZE - sizeof(rd)) & ~0xfffULL;
	CHECK(t, t_get(zp, 0x218, 4) == at && t_get(zp, 0x21c, 4) == sizeof(rd));
	CHECK(t, t_guest_is(t, at, rd, sizeof(rd)));
	/* initrd_addr_max below RAM's end wins */
	bz_good();
	put(bz, 0x22c, 0x2000000 - 1, 4);
	EXPECT_OK(t, t_load_bz(t, "", rd, sizeof(rd)));
	CHECK(t, t_get(t->gm.base + ZP, 0x218, 4) ==
		 ((0x2000000 - sizeof(rd)) & ~0xfffULL));
	/* no room above the kernel's init_size */
	bz_good();
	put(bz, 0x22c, 0x1800000 + 0x1000 - 1, 4);
	EXPECT_FAIL(t, t_load_bz(t, "", rd, sizeof(rd)), -ERANGE, "initrd");
}

static void bz_bad_headers(struct tctx *t)
{
	bz_good();
	put(bz, 0x206, 0x0209, 2);
	EXPECT_FAIL(t, t_load_bz(t, NULL, NULL, 0), -ENOEXEC, "2.09");
	bz_good();
	bz[0x211] = 0;
	EXPECT_FAIL(t, t_load_bz(t, NULL, NULL, 0), -ENOEXEC, "zImage");
	bz_good();
	bz[0x201] = 0x10;			/* header too short */
	EXPECT_FAIL(t, t_load_bz(t, NULL, NULL, 0), -EINVAL, "setup header");
	bz_good();
	bz[0x1f1] = 200;			/* setup past the file's end */
	EXPECT_FAIL(t, t_load_bz(t, NULL, NULL, 0), -EINVAL, "truncated");
	bz_good();
	put(bz, 0x230, 0x3000, 4);
	EXPECT_FAIL(t, t_load_bz(t, NULL, NULL, 0), -EINVAL, "kernel_alignment");
	bz_good();
	put(bz, 0x202, 0x53726449, 4);
	EXPECT_FAIL(t, t_load_bz(t, NULL, NULL, 0), -ENOEXEC, "HdrS");
}

static void bz_limits(struct tctx *t)
{
	static char cmd[2049];

	bz_good();
	memset(cmd, 'a', 2048);
	EXPECT_FAIL(t, t_load_bz(t, cmd, NULL, 0), -E2BIG, "2047");
	cmd[2047] = 0;
	EXPECT_OK(t, t_load_bz(t, cmd, NULL, 0));
	t->gm.size = 0xb0001000;	/* RAM into the ECAM: on its size alone */
	CHECK(t, t_load_bz(t, NULL, NULL, 0) == -ERANGE);
	t->gm.size = GUEST_SIZE;
	CHECK(t, t_err_has(t, "runs into the PCI hole") &&
		 t_guest_untouched(t));
	t->gm.size = 0x80000;
	EXPECT_FAIL(t, t_load_bz(t, NULL, NULL, 0), -ERANGE, "too small");
}

static void bz_detect_and_regs(struct tctx *t)
{
	struct khyp_sregs s;
	struct khyp_regs r;
	const unsigned char *gdt;

	bz_good();
	CHECK(t, t_detect(bz, BZ_LEN) == IMAGE_BZIMAGE);
	CHECK(t, t_detect(bz, 0x205) == IMAGE_FLAT);
	CHECK(t, !strcmp(image_format_name(IMAGE_BZIMAGE), "bzImage"));
	EXPECT_OK(t, t_load_bz(t, NULL, NULL, 0));
	CHECK(t, boot__tables(&t->gm, &t->bi, t->err, sizeof(t->err)) == 0);
	boot__regs(&t->bi, &r, &s);
	/* __BOOT_CS 0x10, a 64-bit code segment; __BOOT_DS 0x18 */
	gdt = t->gm.base + BOOT_GDT;
	CHECK(t, s.cs.selector == 0x10 && s.cs.l == 1 && s.cs.db == 0);
	CHECK(t, (t_get(gdt, 0x10, 8) >> 53 & 3) == 1);	/* L=1, D=0 */
	CHECK(t, s.ds.selector == 0x18 && s.ss.selector == 0x18);
	CHECK(t, r.rsi == ZP && r.rip == 0x1000200 && r.rax == 0);
	/* the 32-bit entry: the same selector, a 32-bit segment */
	bz_good();
	put(bz, 0x236, 0, 2);
	EXPECT_OK(t, t_load_bz(t, NULL, NULL, 0));
	CHECK(t, boot__tables(&t->gm, &t->bi, t->err, sizeof(t->err)) == 0);
	boot__regs(&t->bi, &r, &s);
	CHECK(t, s.cs.selector == 0x10 && s.cs.l == 0 && s.cs.db == 1);
	CHECK(t, (t_get(gdt, 0x10, 8) >> 53 & 3) == 2);	/* L=0, D=1 */
	CHECK(t, r.rsi == ZP && r.rbx == 0 && r.rbp == 0 && r.rdi == 0);
}

const struct tcase bz_cases[] = {
	{ "bz_64bit_at_pref_address", bz_64bit_at_pref_address },
	{ "bz_32bit_entry_without_xlf", bz_32bit_entry_without_xlf },
	{ "bz_relocated_when_pref_does_not_fit", bz_relocated_when_pref_does_not_fit },
	{ "bz_fixed_kernel_at_code32_start", bz_fixed_kernel_at_code32_start },
	{ "bz_initrd_high_below_max", bz_initrd_high_below_max },
	{ "bz_bad_headers", bz_bad_headers },
	{ "bz_limits", bz_limits },
	{ "bz_detect_and_regs", bz_detect_and_regs },
	{ NULL, NULL },
};
