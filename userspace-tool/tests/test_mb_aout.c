// SPDX-License-Identifier: GPL-2.0
/* Multiboot loader cases: malformed a.out kludge fields and truncation. */
#include <errno.h>

#include "test.h"

#define LOAD	0x100000u	/* where the a.out images go */
#define HDR	0x40		/* their header offset */

static struct aoutb *A(void)
{
	static struct aoutb a;

	return &a;
}

/* The standard a.out image: 0x800 bytes, 0x1000 of bss, entry at +0x80. */
static struct aoutb *aout_std(void)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x800, HDR, LOAD, 0x1000, 0x80);
	return a;
}

static void mb_aout_fields_truncated(struct tctx *t)
{
	struct aoutb *a = aout_std();

	EXPECT_FAIL(t, t_load_mb(t, a->file, HDR + 20, NULL), -EINVAL,
		    "truncated multiboot header at offset 0x40 (a.out kludge fields");
}

static void aout_fail(struct tctx *t, struct aoutb *a, int errnum,
		      const char *msg)
{
	aoutb_emit(a);
	EXPECT_FAIL(t, t_load_mb(t, a->file, a->len, NULL), errnum, msg);
}

static void mb_aout_load_end_below_load(struct tctx *t)
{
	struct aoutb *a = aout_std();

	a->load_end_addr = LOAD - 0x1000;
	aout_fail(t, a, -EINVAL,
		  "a.out kludge: load_end_addr 0xff000 is below load_addr 0x100000");
}

static void mb_aout_load_above_header(struct tctx *t)
{
	struct aoutb *a = aout_std();

	a->load_addr = a->header_addr + 4;
	aout_fail(t, a, -EINVAL,
		  "a.out kludge: load_addr 0x100044 is above header_addr 0x100040");
}

static void mb_aout_header_before_file(struct tctx *t)
{
	struct aoutb *a = aout_std();

	a->header_addr = LOAD + 0x1000;
	aout_fail(t, a, -EINVAL,
		  "header_addr - load_addr = 0x1000 is more than the header's file offset 0x40");
}

static void mb_aout_load_end_beyond_file(struct tctx *t)
{
	struct aoutb *a = aout_std();

	a->load_end_addr = LOAD + 0x801;
	a->bss_end_addr = 0;
	aout_fail(t, a, -EINVAL,
		  "[load_addr, load_end_addr) = [0x100000-0x100801) needs 0x801 bytes from file offset 0x0, the file has 0x800");
}

static void mb_aout_bss_below_load_end(struct tctx *t)
{
	struct aoutb *a = aout_std();

	a->bss_end_addr = LOAD + 0x7ff;
	aout_fail(t, a, -EINVAL,
		  "bss_end_addr 0x1007ff is below the end of the loaded image 0x100800");
}

static void mb_aout_entry_outside(struct tctx *t)
{
	struct aoutb *a = aout_std();

	a->entry_addr = LOAD + 0x800;	/* first byte of bss */
	aout_fail(t, a, -EINVAL,
		  "entry_addr 0x100800 is outside the loaded image [0x100000-0x100800)");
	a->entry_addr = LOAD - 1;
	aout_fail(t, a, -EINVAL, "entry_addr 0xfffff is outside");
}

static void mb_aout_outside_ram(struct tctx *t)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x800, HDR, GUEST_SIZE - 0x400, 0, 0);
	aout_fail(t, a, -ERANGE,
		  "a.out image [0x3fffc00-0x4000400) lies outside guest RAM (64 MiB)");
}

static void mb_aout_bss_outside_ram(struct tctx *t)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x800, HDR, GUEST_SIZE - 0x1000, 0x1000, 0);
	aout_fail(t, a, -ERANGE,
		  "a.out image [0x3fff000-0x4000800) lies outside guest RAM");
}

static void mb_aout_in_boot_area(struct tctx *t)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x800, HDR, 0x7c00, 0, 0);
	aout_fail(t, a, -ERANGE,
		  "a.out image [0x7c00-0x8400) overlaps the boot area (stack, multiboot info) [0x0-0x8000)");
}

static void mb_aout_in_legacy_hole(struct tctx *t)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x1000, HDR, 0x9f000, 0, 0);
	aout_fail(t, a, -ERANGE,
		  "overlaps the legacy BIOS/VGA hole [0x9fc00-0x100000)");
}

static void mb_aout_beyond_4g(struct tctx *t)
{
	struct aoutb *a = A();

	aoutb_init(a, 0x40, 0, 0xffffffe0, 0, 0);
	a->load_end_addr = 0;
	aout_fail(t, a, -EINVAL,
		  "a.out kludge: image [0xffffffe0-0x100000020) extends beyond 4 GiB");
}

/* Every proper prefix of an a.out image fails. */
static void mb_truncated_every_length(struct tctx *t)
{
	struct aoutb *a = A();
	const char *want;
	size_t len;
	int ret, errnum;

	aoutb_init(a, 0x200, HDR, LOAD, 0x100, 0);
	for (len = 0; len < a->len; len++) {
		ret = t_load_mb(t, a->file, len, NULL);
		errnum = -EINVAL;
		if (len == 0) {
			want = "empty image";
		} else if (len < HDR + 4) {
			want = "no multiboot header";
			errnum = -ENOEXEC;
		} else if (len < HDR + 12) {
			want = "truncated multiboot header";
		} else if (len < HDR + 32) {
			want = "a.out kludge fields need 32 bytes";
		} else {
			want = "needs 0x200 bytes from file offset 0x0";
		}
		if (ret != errnum || !t_err_has(t, want)) {
			t_fail(t, __FILE__, __LINE__,
			       "length %zu: returned %d, err \"%s\"", len, ret,
			       t->err);
			return;
		}
		CHECK(t, t_guest_untouched(t));
	}
	EXPECT_OK(t, t_load_mb(t, a->file, len, NULL));
}

const struct tcase mb_aout_cases[] = {
	{ "mb_aout_fields_truncated", mb_aout_fields_truncated },
	{ "mb_aout_load_end_below_load", mb_aout_load_end_below_load },
	{ "mb_aout_load_above_header", mb_aout_load_above_header },
	{ "mb_aout_header_before_file", mb_aout_header_before_file },
	{ "mb_aout_load_end_beyond_file", mb_aout_load_end_beyond_file },
	{ "mb_aout_bss_below_load_end", mb_aout_bss_below_load_end },
	{ "mb_aout_entry_outside", mb_aout_entry_outside },
	{ "mb_aout_outside_ram", mb_aout_outside_ram },
	{ "mb_aout_bss_outside_ram", mb_aout_bss_outside_ram },
	{ "mb_aout_in_boot_area", mb_aout_in_boot_area },
	{ "mb_aout_in_legacy_hole", mb_aout_in_legacy_hole },
	{ "mb_aout_beyond_4g", mb_aout_beyond_4g },
	{ "mb_truncated_every_length", mb_truncated_every_length },
	{ NULL, NULL },
};
