// SPDX-License-Identifier: GPL-2.0
/*
 * A Linux bzImage, by the x86 boot protocol (the kernel's
 * Documentation/arch/x86/boot.rst): the protected-mode kernel is copied
 * where it asks to run, the "zero page" (struct boot_params) gets the
 * setup header of the image, the command line, the initrd and an e820
 * memory map, and the vCPU starts at the 64-bit entry point (or the
 * 32-bit one for a kernel without it) with RSI/ESI pointing at the zero
 * page.  The real-mode setup code is not run: nothing here is a BIOS.
 *
 * Offsets below are the boot protocol's, in the zero page and in the
 * image alike (the image's first 0x1f1 bytes are the old boot sector;
 * the setup header follows at 0x1f1).
 */
#include <errno.h>
#include <string.h>

#include "loader_priv.h"

/* Oldest protocol accepted: 2.10 has init_size, pref_address's forebears. */
#define BZ_MIN_VERSION		0x020a
#define BZ_64BIT_VERSION	0x020c

static uint32_t rd(const unsigned char *p, size_t off, size_t n)
{
	uint32_t v = 0;

	memcpy(&v, p + off, n);		/* little-endian, x86 */
	return v;
}

static uint64_t rd64(const unsigned char *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static void wr(unsigned char *p, size_t off, uint64_t v, size_t n)
{
	memcpy(p + off, &v, n);
}

bool bzimage_detect(const void *img, size_t len)
{
	const unsigned char *p = img;

	return img && len >= HDR_MAGIC + 4 &&
	       rd(p, HDR_BOOT_FLAG, 2) == 0xaa55 &&
	       rd(p, HDR_MAGIC, 4) == HDRS_MAGIC;
}

/* What the header says, checked against the file and the protocol. */
struct bz_header {
	size_t hdr_end;		/* one past the setup header */
	size_t pm_off;		/* the protected-mode kernel in the file */
	size_t pm_len;
	unsigned int version;
	uint64_t pref;		/* where a relocatable kernel wants to run */
	uint32_t align;		/* kernel_alignment */
	uint32_t init_size;	/* memory it needs from there, decompressing */
	uint32_t code32;	/* where a kernel that cannot move runs */
	uint32_t initrd_max;	/* highest byte an initrd may use */
	uint32_t cmdline_max;	/* longest command line, without its NUL */
	bool relocatable;
	bool entry64;
};

static int bz_parse(const unsigned char *p, size_t len, struct bz_header *h,
		    char *err, size_t errlen)
{
	unsigned int sects;

	if (!bzimage_detect(p, len))
		return loader_fail(err, errlen, -ENOEXEC,
				   "not a Linux bzImage (no 0xAA55 and \"HdrS\" boot header)");
	if (len < HDR_INIT_SIZE + 4)
		return loader_fail(err, errlen, -EINVAL,
				   "truncated in its setup header (%zu bytes)", len);
	memset(h, 0, sizeof(*h));
	h->version = rd(p, HDR_VERSION, 2);
	if (h->version < BZ_MIN_VERSION)
		return loader_fail(err, errlen, -ENOEXEC,
				   "boot protocol %u.%02u is older than 2.10 (Linux 2.6.31)",
				   h->version >> 8, h->version & 0xff);
	h->hdr_end = HDR_JUMP + 2 + p[HDR_JUMP + 1];
	sects = p[HDR_SETUP_SECTS] ? p[HDR_SETUP_SECTS] : 4;
	h->pm_off = (size_t)(sects + 1) * 512;
	if (h->hdr_end < HDR_INIT_SIZE + 4 || h->hdr_end > h->pm_off)
		return loader_fail(err, errlen, -EINVAL,
				   "setup header ends at 0x%zx, outside [0x%x, 0x%zx]",
				   h->hdr_end, HDR_INIT_SIZE + 4, h->pm_off);
	if (len <= h->pm_off)
		return loader_fail(err, errlen, -EINVAL,
				   "truncated: %zu bytes, the kernel starts at %zu",
				   len, h->pm_off);
	if (!(p[HDR_LOADFLAGS] & LOADED_HIGH))
		return loader_fail(err, errlen, -ENOEXEC,
				   "a zImage (loaded low): only bzImages are supported");
	h->pm_len = len - h->pm_off;
	h->code32 = rd(p, HDR_CODE32_START, 4);
	h->initrd_max = rd(p, HDR_INITRD_ADDR_MAX, 4);
	h->align = rd(p, HDR_KERNEL_ALIGNMENT, 4);
	h->relocatable = p[HDR_RELOCATABLE];
	h->init_size = rd(p, HDR_INIT_SIZE, 4);
	h->pref = rd64(p, HDR_PREF_ADDRESS);
	h->cmdline_max = h->version >= 0x0206 ? rd(p, HDR_CMDLINE_SIZE, 4) :
						255;
	h->entry64 = h->version >= BZ_64BIT_VERSION &&
		     (rd(p, HDR_XLOADFLAGS, 2) & XLF_KERNEL_64);
	if (h->relocatable && (h->align < 0x1000 || (h->align & (h->align - 1))))
		return loader_fail(err, errlen, -EINVAL,
				   "kernel_alignment 0x%x is not a power of two of at least 4 KiB",
				   h->align);
	if (h->init_size < h->pm_len)
		h->init_size = h->pm_len;
	return 0;
}

/*
 * Where the kernel runs: a relocatable one at pref_address if it fits,
 * else at the lowest aligned address from 1 MiB; one that cannot move at
 * code32_start.  It needs init_size bytes from there.
 */
static int bz_place(const struct guest_mem *gm, const struct bz_header *h,
		    uint64_t *load, char *err, size_t errlen)
{
	const struct gm_range low = { 0, HIGH_MEM_START, "the first MiB" };
	uint64_t a;

	if (h->relocatable) {
		a = h->pref;
		if (a < HIGH_MEM_START || (a & (h->align - 1)) ||
		    range_wraps(a, h->init_size, gm->size)) {
			a = (HIGH_MEM_START + h->align - 1) & ~(uint64_t)(h->align - 1);
		}
	} else {
		a = h->code32;
	}
	*load = a;
	return check_place(gm, "the kernel (init_size)", a, h->init_size,
			   &low, 1, err, errlen);
}

/*
 * The initrd: as high as RAM and initrd_max allow, page-aligned, above
 * the kernel's end, as boot loaders put it.
 */
int linux_place_initrd(const struct guest_mem *gm, uint32_t initrd_max,
		       uint64_t kernel_end, size_t len, uint64_t *addr,
		       char *err, size_t errlen)
{
	uint64_t top = gm->size, max = (uint64_t)initrd_max + 1;
	char a[32], b[32];

	if (top > max)
		top = max;
	if (len > top || ((top - len) & ~0xfffULL) < kernel_end)
		return loader_fail(err, errlen, -ERANGE,
				   "the initrd (%s) does not fit between the kernel's end and %s",
				   fmt_size(a, len), fmt_size(b, top));
	*addr = (top - len) & ~0xfffULL;
	return 0;
}

/*
 * The e820 map of boot/loader.h's layout: the RAM below 640 KiB and
 * from 1 MiB to the PCI hole, the EBDA and the BIOS area (the ACPI
 * tables, acpi.h, and the MP table) reserved, the ECAM reserved (Linux
 * uses MMCONFIG only where the firmware reserved it), the RAM from
 * 4 GiB.
 */
static void bz_e820(unsigned char *bp, const struct guest_mem *gm)
{
	const uint64_t map[][3] = {
		{ 0, LOW_MEM_END, E820_RAM },
		{ LOW_MEM_END, 0xa0000 - LOW_MEM_END, E820_RESERVED },
		{ BIOS_AREA_START, HIGH_MEM_START - BIOS_AREA_START, E820_RESERVED },
		{ HIGH_MEM_START, gm->size - HIGH_MEM_START, E820_RAM },
		{ MEM_ECAM_START, MEM_ECAM_SIZE, E820_RESERVED },
		{ MEM_HIGH_START, gm->high, E820_RAM },
	};
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(map); i++) {
		unsigned char *e = bp + BP_E820_TABLE + 20 * n;

		if (!map[i][1])
			continue;	/* no RAM above 4 GiB */
		wr(e, 0, map[i][0], 8);
		wr(e, 8, map[i][1], 8);
		wr(e, 16, map[i][2], 4);
		n++;
	}
	bp[BP_E820_ENTRIES] = n;
}

int linux_check_args(const struct guest_mem *gm, const struct linux_args *la,
		     uint32_t cmdline_max, char *err, size_t errlen)
{
	const char *cmdline = la && la->cmdline ? la->cmdline : "";
	size_t clen = strlen(cmdline);
	char a[32];

	if (gm->size > MEM_LOW_MAX)
		return loader_fail(err, errlen, -ERANGE,
				   "%s of RAM below 4 GiB runs into the PCI hole at 0x%llx",
				   fmt_size(a, gm->size), MEM_LOW_MAX);
	if (gm->size < HIGH_MEM_START || gm->size < LINUX_CMDLINE + LINUX_CMDLINE_MAX)
		return loader_fail(err, errlen, -ERANGE,
				   "guest RAM (%s) is too small for Linux",
				   fmt_size(a, gm->size));
	if (clen > cmdline_max || clen >= LINUX_CMDLINE_MAX)
		return loader_fail(err, errlen, -E2BIG,
				   "command line of %zu bytes: this kernel takes at most %u",
				   clen, cmdline_max);
	if (la && la->initrd_len && !la->initrd)
		return loader_fail(err, errlen, -EINVAL, "initrd length without data");
	return 0;
}

void linux_zero_page(struct guest_mem *gm, const unsigned char *hdr,
		     size_t hdr_end, uint64_t code32,
		     const struct linux_args *la, uint64_t initrd)
{
	const char *cmdline = la && la->cmdline ? la->cmdline : "";
	size_t ilen = la ? la->initrd_len : 0;
	unsigned char *bp;

	if (ilen)
		memcpy(gm->base + initrd, la->initrd, ilen);
	memcpy(gm->base + LINUX_CMDLINE, cmdline, strlen(cmdline) + 1);

	bp = gm->base + LINUX_ZERO_PAGE;
	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_SETUP_SECTS, hdr + HDR_SETUP_SECTS,
	       hdr_end - HDR_SETUP_SECTS);
	wr(bp, HDR_VID_MODE, 0xffff, 2);		/* "normal" */
	bp[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNKNOWN;
	/* No heap: the real-mode setup code does not run. */
	bp[HDR_LOADFLAGS] &= ~(CAN_USE_HEAP | KEEP_SEGMENTS);
	wr(bp, HDR_HEAP_END_PTR, 0, 2);
	wr(bp, HDR_CODE32_START, code32, 4);
	wr(bp, HDR_CMD_LINE_PTR, LINUX_CMDLINE, 4);
	wr(bp, HDR_RAMDISK_IMAGE, initrd, 4);
	wr(bp, BP_EXT_RAMDISK_IMAGE, initrd >> 32, 4);
	wr(bp, HDR_RAMDISK_SIZE, ilen, 4);
	wr(bp, BP_EXT_RAMDISK_SIZE, (uint64_t)ilen >> 32, 4);
	wr(bp, BP_EXT_CMD_LINE_PTR, 0, 4);
	bz_e820(bp, gm);
}

int load_bzimage(struct guest_mem *gm, const void *img, size_t len,
		 const struct linux_args *la, struct boot_info *bi,
		 char *err, size_t errlen)
{
	size_t ilen = la ? la->initrd_len : 0;
	const unsigned char *p = img;
	uint64_t load, initrd = 0;
	struct bz_header h;
	int ret;

	ret = loader_begin(gm, img, len, bi, err, errlen);
	if (ret)
		return ret;
	ret = bz_parse(p, len, &h, err, errlen);
	if (ret)
		return ret;
	ret = linux_check_args(gm, la, h.cmdline_max, err, errlen);
	if (ret)
		return ret;
	ret = bz_place(gm, &h, &load, err, errlen);
	if (ret)
		return ret;
	if (ilen) {
		ret = linux_place_initrd(gm, h.initrd_max, load + h.init_size,
					 ilen, &initrd, err, errlen);
		if (ret)
			return ret;
	}

	/* All checked: from here on guest memory is written. */
	memcpy(gm->base + load, p + h.pm_off, h.pm_len);
	linux_zero_page(gm, p, h.hdr_end, load, la, initrd);

	bi->format = IMAGE_BZIMAGE;
	bi->mode = h.entry64 ? MODE_LONG64 : MODE_PROT32;
	bi->entry = h.entry64 ? load + 0x200 : load;
	bi->boot_params = LINUX_ZERO_PAGE;
	bi->load_start = load;
	bi->load_end = load + h.init_size;
	set_stack(bi, gm);
	return 0;
}
