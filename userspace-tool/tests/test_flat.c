// SPDX-License-Identifier: GPL-2.0
/* Flat binary loader and format detection cases. */
#include <errno.h>
#include <string.h>

#include "test.h"

static unsigned char img[0x1000];

static void fill_img(void)
{
	size_t k;

	for (k = 0; k < sizeof(img); k++)
		img[k] = (unsigned char)(k * 7 + 3);
}

static void flat_boot_sector(struct tctx *t)
{
	fill_img();
	EXPECT_OK(t, t_load_flat(t, img, 512, 0x7c00, 0x7c00));
	CHECK(t, t_guest_is(t, 0x7c00, img, 512));
	CHECK(t, t_guest_filled(t, 0, 0x7c00));
	CHECK(t, t_guest_filled(t, 0x7e00, GUEST_SIZE - 0x7e00));
	CHECK(t, t->bi.entry == 0x7c00 && t->bi.mode == MODE_REAL16);
	CHECK(t, t->bi.format == IMAGE_FLAT);
	CHECK(t, t->bi.stack == LOADER_STACK_TOP);
	CHECK(t, t->bi.load_start == 0x7c00 && t->bi.load_end == 0x7e00);
	CHECK(t, t->bi.mb_magic == 0 && t->bi.mb_info_addr == 0);
}

static void flat_protected_mode(struct tctx *t)
{
	fill_img();
	EXPECT_OK(t, t_load_flat(t, img, sizeof(img), 0x100000, 0x100ffc));
	CHECK(t, t_guest_is(t, 0x100000, img, sizeof(img)));
	CHECK(t, t->bi.entry == 0x100ffc && t->bi.mode == MODE_PROT32);
}

static void flat_at_end_of_ram(struct tctx *t)
{
	fill_img();
	EXPECT_OK(t, t_load_flat(t, img, sizeof(img), GUEST_SIZE - 0x1000,
				 GUEST_SIZE - 1));
	CHECK(t, t_guest_is(t, GUEST_SIZE - 0x1000, img, sizeof(img)));
}

static void flat_covers_stack(struct tctx *t)
{
	fill_img();
	EXPECT_OK(t, t_load_flat(t, img, sizeof(img), 0x5000, 0x5000));
	CHECK(t, t->bi.stack == 0);
	EXPECT_OK(t, t_load_flat(t, img, sizeof(img), 0x6000, 0x6000));
	CHECK(t, t->bi.stack == LOADER_STACK_TOP);
}

static void flat_outside_ram(struct tctx *t)
{
	fill_img();
	EXPECT_FAIL(t, t_load_flat(t, img, sizeof(img), GUEST_SIZE - 0x800,
				   GUEST_SIZE - 0x800), -ERANGE,
		    "image [0x3fff800-0x4000800) lies outside guest RAM (64 MiB)");
	EXPECT_FAIL(t, t_load_flat(t, img, sizeof(img), 1ull << 50, 1ull << 50),
		    -ERANGE, "lies outside guest RAM");
}

static void flat_wraps(struct tctx *t)
{
	fill_img();
	EXPECT_FAIL(t, t_load_flat(t, img, sizeof(img), ~0ull - 0x10, 0),
		    -EINVAL,
		    "load address 0xffffffffffffffef + image size 0x1000 wraps around");
}

static void flat_entry_outside(struct tctx *t)
{
	fill_img();
	EXPECT_FAIL(t, t_load_flat(t, img, sizeof(img), 0x100000, 0x101000),
		    -EINVAL,
		    "entry 0x101000 is outside the image [0x100000-0x101000)");
	EXPECT_FAIL(t, t_load_flat(t, img, sizeof(img), 0x100000, 0xfffff),
		    -EINVAL, "entry 0xfffff is outside the image");
}

static void flat_empty(struct tctx *t)
{
	EXPECT_FAIL(t, t_load_flat(t, img, 0, 0x100000, 0x100000), -EINVAL,
		    "empty image");
}

static void flat_entry_above_4g(struct tctx *t)
{
	struct guest_mem big = t->gm;

	/* pretend RAM goes up to 8 GiB; the check fires before any write */
	big.size = 8ull << 30;
	CHECK(t, load_flat(&big, img, sizeof(img), 5ull << 30, 5ull << 30,
			   &t->bi, t->err, sizeof(t->err)) == -EINVAL);
	CHECK(t, t_err_has(t, "entry 0x140000000 is above 4 GiB"));
	CHECK(t, t_guest_untouched(t));
}

static void detect_formats(struct tctx *t)
{
	static unsigned char buf[0x3000];
	size_t len;

	memset(buf, 0x90, sizeof(buf));
	CHECK(t, t_detect(buf, sizeof(buf)) == IMAGE_FLAT);
	for (len = 0; len < 16; len++)
		CHECK(t, t_detect("\x7f" "ELF\x01\x01\x01", len < 7 ? len : 7) ==
			 (len >= 5 ? IMAGE_ELF32 : len == 4 ? IMAGE_ELF64 :
			  IMAGE_FLAT));
	CHECK(t, t_detect("\x7f" "ELF\x02", 5) == IMAGE_ELF64);
	CHECK(t, t_detect("\x7f" "ELF\x07", 5) == IMAGE_ELF64);
	CHECK(t, t_detect(NULL, 0) == IMAGE_FLAT);
	CHECK(t, loader_detect(NULL, 100) == IMAGE_FLAT);
	/* multiboot wins over ELF */
	memcpy(buf, "\x7f" "ELF\x02", 5);
	mb_put(buf, 0x1ff0, 0);
	CHECK(t, t_detect(buf, sizeof(buf)) == IMAGE_MULTIBOOT);
	/* not when truncated before its end or with a bad checksum */
	CHECK(t, t_detect(buf, 0x1ff8) == IMAGE_ELF64);
	buf[0x1ff8]++;
	CHECK(t, t_detect(buf, sizeof(buf)) == IMAGE_ELF64);
	CHECK(t, !strcmp(image_format_name(IMAGE_MULTIBOOT), "multiboot"));
	CHECK(t, !strcmp(image_format_name(IMAGE_FLAT), "flat binary"));
	CHECK(t, !strcmp(image_format_name(42), "unknown"));
}

const struct tcase flat_cases[] = {
	{ "flat_boot_sector", flat_boot_sector },
	{ "flat_protected_mode", flat_protected_mode },
	{ "flat_at_end_of_ram", flat_at_end_of_ram },
	{ "flat_covers_stack", flat_covers_stack },
	{ "flat_outside_ram", flat_outside_ram },
	{ "flat_wraps", flat_wraps },
	{ "flat_entry_outside", flat_entry_outside },
	{ "flat_empty", flat_empty },
	{ "flat_entry_above_4g", flat_entry_above_4g },
	{ "detect_formats", detect_formats },
	{ NULL, NULL },
};
