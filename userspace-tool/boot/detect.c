// SPDX-License-Identifier: GPL-2.0
/* Image format detection and the multiboot header search. */
#include <elf.h>
#include <string.h>

#include "loader_priv.h"

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));	/* unaligned, x86 is little-endian */
	return v;
}

int mb_scan(const void *img, size_t len, size_t *off, struct mb_header *hdr)
{
	const unsigned char *p = img;
	size_t limit = len < MB_SEARCH_LEN ? len : MB_SEARCH_LEN;
	int status = MB_NONE;
	size_t o;

	if (!img)
		return MB_NONE;
	for (o = 0; o + 4 <= limit; o += 4) {
		uint32_t magic, flags, sum;

		magic = get32(p + o);
		if (magic != MB_HEADER_MAGIC)
			continue;
		if (o + MB_HEADER_LEN > limit) {
			if (status == MB_NONE) {
				status = MB_TRUNCATED;
				*off = o;
			}
			continue;
		}
		flags = get32(p + o + 4);
		sum = get32(p + o + 8);
		if ((uint32_t)(magic + flags + sum) != 0) {
			if (status == MB_NONE) {
				status = MB_BAD_SUM;
				*off = o;
			}
			continue;
		}
		memset(hdr, 0, sizeof(*hdr));
		hdr->magic = magic;
		hdr->flags = flags;
		hdr->checksum = sum;
		*off = o;
		return MB_FOUND;
	}
	return status;
}

int loader_detect(const void *img, size_t len)
{
	const unsigned char *p = img;
	struct mb_header hdr;
	size_t off;

	if (!img)
		return IMAGE_FLAT;
	if (mb_scan(img, len, &off, &hdr) == MB_FOUND)
		return IMAGE_MULTIBOOT;
	if (bzimage_detect(img, len))
		return IMAGE_BZIMAGE;
	if (vmlinux_detect(img, len))
		return IMAGE_VMLINUX;
	if (len >= SELFMAG && !memcmp(p, ELFMAG, SELFMAG)) {
		if (len > EI_CLASS && p[EI_CLASS] == ELFCLASS32)
			return IMAGE_ELF32;
		return IMAGE_ELF64;
	}
	return IMAGE_FLAT;
}

const char *image_format_name(int format)
{
	switch (format) {
	case IMAGE_FLAT:
		return "flat binary";
	case IMAGE_ELF32:
		return "ELF32";
	case IMAGE_ELF64:
		return "ELF64";
	case IMAGE_MULTIBOOT:
		return "multiboot";
	case IMAGE_BZIMAGE:
		return "bzImage";
	case IMAGE_VMLINUX:
		return "vmlinux";
	}
	return "unknown";
}
