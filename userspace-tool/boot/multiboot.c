// SPDX-License-Identifier: GPL-2.0
/*
 * Multiboot v1 kernels: find and check the header, find where the image
 * goes (by the a.out kludge address fields or as an ELF32) and where its
 * modules go after it, load them, then build the multiboot info
 * structure.  Everything is checked before guest memory is written.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "loader_priv.h"

/* Where a multiboot image may not go. */
static const struct gm_range mb_rsv[] = {
	{ 0, MB_AREA_END, "the boot area (stack, multiboot info)" },
	{ LOW_MEM_END, HIGH_MEM_START, "the legacy BIOS/VGA hole" },
};

/* Where the a.out kludge fields put the file. */
struct aout {
	size_t file_off;	/* file offset of load_addr */
	uint64_t load_addr;
	uint64_t load_end;
	uint64_t bss_end;
	uint64_t entry;
};

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int find_header(const void *img, size_t len, size_t *off,
		       struct mb_header *hdr, char *err, size_t errlen)
{
	const unsigned char *p = img;
	uint32_t bad;

	switch (mb_scan(img, len, off, hdr)) {
	case MB_FOUND:
		break;
	case MB_BAD_SUM:
		p += *off;
		bad = get32(p) + get32(p + 4) + get32(p + 8);
		return loader_fail(err, errlen, -ENOEXEC,
				   "bad multiboot checksum (header at offset 0x%zx: magic + flags + checksum = 0x%08" PRIx32 ", not 0)",
				   *off, bad);
	case MB_TRUNCATED:
		return loader_fail(err, errlen, -EINVAL,
				   "truncated multiboot header at offset 0x%zx",
				   *off);
	default:
		return loader_fail(err, errlen, -ENOEXEC,
				   "no multiboot header in the first %d bytes",
				   MB_SEARCH_LEN);
	}
	if (hdr->flags & 0xffff & ~MB_HF_SUPPORTED)
		return loader_fail(err, errlen, -ENOEXEC,
				   "multiboot header requires unsupported features (flags 0x%08" PRIx32 ")",
				   hdr->flags);
	if (!(hdr->flags & MB_HF_AOUT_KLUDGE))
		return 0;
	if (*off + MB_HEADER_AOUT_LEN > len ||
	    *off + MB_HEADER_AOUT_LEN > MB_SEARCH_LEN)
		return loader_fail(err, errlen, -EINVAL,
				   "truncated multiboot header at offset 0x%zx (a.out kludge fields need %d bytes)",
				   *off, MB_HEADER_AOUT_LEN);
	p += *off;
	hdr->header_addr = get32(p + 12);
	hdr->load_addr = get32(p + 16);
	hdr->load_end_addr = get32(p + 20);
	hdr->bss_end_addr = get32(p + 24);
	hdr->entry_addr = get32(p + 28);
	return 0;
}

static int check_aout(const struct guest_mem *gm, size_t len, size_t off,
		      const struct mb_header *h, struct aout *a,
		      char *err, size_t errlen)
{
	uint64_t delta, avail;

	if (h->load_addr > h->header_addr)
		return loader_fail(err, errlen, -EINVAL,
				   "a.out kludge: load_addr 0x%" PRIx32 " is above header_addr 0x%" PRIx32,
				   h->load_addr, h->header_addr);
	delta = h->header_addr - h->load_addr;
	if (delta > off)
		return loader_fail(err, errlen, -EINVAL,
				   "a.out kludge: header_addr - load_addr = 0x%" PRIx64 " is more than the header's file offset 0x%zx",
				   delta, off);
	a->file_off = off - delta;
	a->load_addr = h->load_addr;
	avail = len - a->file_off;
	if (!h->load_end_addr) {
		a->load_end = a->load_addr + avail;
	} else if (h->load_end_addr < h->load_addr) {
		return loader_fail(err, errlen, -EINVAL,
				   "a.out kludge: load_end_addr 0x%" PRIx32 " is below load_addr 0x%" PRIx32,
				   h->load_end_addr, h->load_addr);
	} else {
		a->load_end = h->load_end_addr;
		if (a->load_end - a->load_addr > avail)
			return loader_fail(err, errlen, -EINVAL,
					   "a.out kludge: [load_addr, load_end_addr) = [0x%" PRIx64 "-0x%" PRIx64 ") needs 0x%" PRIx64 " bytes from file offset 0x%zx, the file has 0x%zx",
					   a->load_addr, a->load_end,
					   a->load_end - a->load_addr,
					   a->file_off, len);
	}
	if (a->load_end > UINT32_MAX + 1ull)
		return loader_fail(err, errlen, -EINVAL,
				   "a.out kludge: image [0x%" PRIx64 "-0x%" PRIx64 ") extends beyond 4 GiB",
				   a->load_addr, a->load_end);
	a->bss_end = a->load_end;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < a->load_end)
			return loader_fail(err, errlen, -EINVAL,
					   "a.out kludge: bss_end_addr 0x%" PRIx32 " is below the end of the loaded image 0x%" PRIx64,
					   h->bss_end_addr, a->load_end);
		a->bss_end = h->bss_end_addr;
	}
	a->entry = h->entry_addr;
	if (a->entry < a->load_addr || a->entry >= a->load_end)
		return loader_fail(err, errlen, -EINVAL,
				   "a.out kludge: entry_addr 0x%" PRIx64 " is outside the loaded image [0x%" PRIx64 "-0x%" PRIx64 ")",
				   a->entry, a->load_addr, a->load_end);
	return check_place(gm, "a.out image", a->load_addr,
			   a->bss_end - a->load_addr, mb_rsv,
			   ARRAY_SIZE(mb_rsv), err, errlen);
}

static int load_aout(struct guest_mem *gm, const void *img, size_t len,
		     size_t off, const struct mb_header *h,
		     struct boot_info *bi, char *err, size_t errlen)
{
	struct aout a;
	int ret;

	ret = check_aout(gm, len, off, h, &a, err, errlen);
	if (ret)
		return ret;
	memcpy(gm->base + a.load_addr, (const unsigned char *)img + a.file_off,
	       a.load_end - a.load_addr);
	memset(gm->base + a.load_end, 0, a.bss_end - a.load_end);
	bi->entry = a.entry;
	bi->load_start = a.load_addr;
	bi->load_end = a.bss_end;
	return 0;
}

/* With dry_run, only where it goes: bi->load_start and load_end. */
static int load_mb_elf(struct guest_mem *gm, const void *img, size_t len,
		       bool dry_run, struct boot_info *bi,
		       char *err, size_t errlen)
{
	const struct elf_opts opts = {
		.want_class = ELFCLASS32,
		.rsv = mb_rsv,
		.nrsv = ARRAY_SIZE(mb_rsv),
		.dry_run = dry_run,
	};
	const unsigned char *p = img;

	if (len < SELFMAG || memcmp(p, ELFMAG, SELFMAG))
		return loader_fail(err, errlen, -ENOEXEC,
				   "multiboot kernel is not ELF and does not use the a.out kludge (header flag bit 16)");
	if (len > EI_CLASS && p[EI_CLASS] != ELFCLASS32)
		return loader_fail(err, errlen, -ENOEXEC,
				   "multiboot kernel without the a.out kludge must be ELF32 (EI_CLASS is %u)",
				   p[EI_CLASS]);
	return elf_load(gm, img, len, &opts, bi, err, errlen);
}

static uint64_t page_up(uint64_t v)
{
	return (v + 0xfff) & ~0xfffULL;
}

/* [start, start + len) in guest RAM and below 4 GiB, for 32-bit fields. */
static int check_mod_place(const struct guest_mem *gm, const char *what,
			   uint64_t start, uint64_t len,
			   char *err, size_t errlen)
{
	int ret = check_place(gm, what, start, len, NULL, 0, err, errlen);

	if (!ret && start + len > UINT32_MAX + 1ULL)
		return loader_fail(err, errlen, -ERANGE,
				   "%s [0x%" PRIx64 "-0x%" PRIx64 ") lies above 4 GiB",
				   what, start, start + len);
	return ret;
}

/*
 * Place the modules above kernel_end (and 1 MiB), each on its own pages,
 * then the list and strings: fills mods[].start/end and *list.
 */
static int plan_mods(const struct guest_mem *gm, uint64_t kernel_end,
		     struct mb_module *mods, unsigned int n, uint64_t *list,
		     char *err, size_t errlen)
{
	uint64_t at = page_up(kernel_end > HIGH_MEM_START ? kernel_end :
			      HIGH_MEM_START);
	uint64_t list_len = n * sizeof(struct mb_mod_entry);
	char what[96];
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "module %u (%.64s)", i + 1,
			 mods[i].string);
		ret = check_mod_place(gm, what, at, mods[i].len, err, errlen);
		if (ret)
			return ret;
		mods[i].start = at;
		mods[i].end = at + mods[i].len;
		at = page_up(at + mods[i].len);
		list_len += strlen(mods[i].string) + 1;
	}
	*list = at;
	return check_mod_place(gm, "the module list", at, list_len, err,
			       errlen);
}

static void write_mods(struct guest_mem *gm, const struct mb_module *mods,
		       unsigned int n, uint64_t list)
{
	uint64_t str = list + n * sizeof(struct mb_mod_entry);
	struct mb_mod_entry e = { 0 };
	unsigned int i;
	size_t slen;

	for (i = 0; i < n; i++) {
		memcpy(gm->base + mods[i].start, mods[i].data, mods[i].len);
		slen = strlen(mods[i].string) + 1;
		memcpy(gm->base + str, mods[i].string, slen);
		e.mod_start = mods[i].start;
		e.mod_end = mods[i].end;
		e.string = str;
		memcpy(gm->base + list + i * sizeof(e), &e, sizeof(e));
		str += slen;
	}
}

int load_multiboot_mods(struct guest_mem *gm, const void *img, size_t len,
			const char *cmdline, struct mb_module *mods,
			unsigned int nmods, struct boot_info *bi,
			char *err, size_t errlen)
{
	struct mb_header hdr;
	uint64_t list = 0;
	size_t off = 0;
	struct aout a;
	int ret;

	ret = loader_begin(gm, img, len, bi, err, errlen);
	if (ret)
		return ret;
	if (nmods > MB_MAX_MODULES)
		return loader_fail(err, errlen, -E2BIG,
				   "%u modules, at most %d", nmods,
				   MB_MAX_MODULES);
	ret = mb_check_info(gm, cmdline, err, errlen);
	if (ret)
		return ret;
	ret = find_header(img, len, &off, &hdr, err, errlen);
	if (ret)
		return ret;

	/* where the kernel goes, then the modules: nothing written yet */
	if (hdr.flags & MB_HF_AOUT_KLUDGE) {
		ret = check_aout(gm, len, off, &hdr, &a, err, errlen);
		bi->load_end = a.bss_end;
	} else {
		ret = load_mb_elf(gm, img, len, true, bi, err, errlen);
	}
	if (!ret && nmods)
		ret = plan_mods(gm, bi->load_end, mods, nmods, &list, err,
				errlen);
	if (ret)
		return ret;

	if (hdr.flags & MB_HF_AOUT_KLUDGE)
		ret = load_aout(gm, img, len, off, &hdr, bi, err, errlen);
	else
		ret = load_mb_elf(gm, img, len, false, bi, err, errlen);
	if (ret)
		return ret;

	write_mods(gm, mods, nmods, list);
	mb_build_info(gm, cmdline, nmods, list);
	bi->format = IMAGE_MULTIBOOT;
	bi->mode = MODE_PROT32;
	bi->mb_magic = MB_BOOT_MAGIC;
	bi->mb_info_addr = MB_INFO_ADDR;
	set_stack(bi, gm);
	return 0;
}

int load_multiboot(struct guest_mem *gm, const void *img, size_t len,
		   const char *cmdline, struct boot_info *bi,
		   char *err, size_t errlen)
{
	return load_multiboot_mods(gm, img, len, cmdline, NULL, 0, bi, err,
				   errlen);
}
