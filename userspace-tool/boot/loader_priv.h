/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the loaders; not part of the loader API. */
#ifndef KHYP_LOADER_PRIV_H
#define KHYP_LOADER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A guest-physical range [start, end) a loader must not write. */
struct gm_range {
	uint64_t start;
	uint64_t end;
	const char *what;
};

/* Formats the message into err and returns errnum (a negative errno). */
int loader_fail(char *err, size_t errlen, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "64 MiB", "1536 KiB", "1000 bytes": buf must hold 32 bytes. */
const char *fmt_size(char *buf, uint64_t size);

/* Does [start, start + len) wrap past limit (limit 0: 2^64)? */
static inline bool range_wraps(uint64_t start, uint64_t len, uint64_t limit)
{
	if (len > UINT64_MAX - start)
		return true;
	return limit && start + len > limit;
}

static inline bool ranges_overlap(uint64_t a0, uint64_t a1,
				  uint64_t b0, uint64_t b1)
{
	return a0 < b1 && b0 < a1;
}

/*
 * What every loader checks first: @bi given (and cleared), guest memory
 * usable (base set, size non-zero), an image that is not empty.
 */
int loader_begin(const struct guest_mem *gm, const void *img, size_t len,
		 struct boot_info *bi, char *err, size_t errlen);

/*
 * [start, start + len) (which must not wrap) lies in guest RAM and misses
 * every reserved range; what names it in the message ("segment 2").
 */
int check_place(const struct guest_mem *gm, const char *what,
		uint64_t start, uint64_t len,
		const struct gm_range *rsv, size_t nrsv,
		char *err, size_t errlen);

/* Sets bi->stack to LOADER_STACK_TOP if the stack area is free RAM. */
void set_stack(struct boot_info *bi, const struct guest_mem *gm);

/* Multiboot header search (detect.c). */
enum mb_scan {
	MB_FOUND,
	MB_NONE,		/* no magic in the first 8192 bytes */
	MB_BAD_SUM,		/* magic, but magic + flags + checksum != 0 */
	MB_TRUNCATED,		/* magic, but the header runs past the end */
};

struct mb_header {
	uint32_t magic;
	uint32_t flags;
	uint32_t checksum;
	uint32_t header_addr;	/* a.out kludge fields, valid with bit 16 */
	uint32_t load_addr;
	uint32_t load_end_addr;
	uint32_t bss_end_addr;
	uint32_t entry_addr;
};

#define MB_HEADER_LEN		12	/* magic, flags, checksum */
#define MB_HEADER_AOUT_LEN	32	/* ... entry_addr */

/*
 * Finds the first valid header.  On MB_FOUND, *off is its file offset and
 * the first three words of *hdr are filled in; on MB_BAD_SUM or
 * MB_TRUNCATED, *off is where the first bad one was.
 */
int mb_scan(const void *img, size_t len, size_t *off, struct mb_header *hdr);

/* ELF loading with the extra constraints of multiboot (elf.c). */
struct elf_opts {
	int want_class;			/* 0: any; else ELFCLASS32/64 */
	const struct gm_range *rsv;	/* ranges not to be loaded over */
	size_t nrsv;
	bool dry_run;			/* check and fill bi, write nothing */
};

int elf_load(struct guest_mem *gm, const void *img, size_t len,
	     const struct elf_opts *opts, struct boot_info *bi,
	     char *err, size_t errlen);

/*
 * Multiboot info structure, memory map and strings (mbinfo.c): check that
 * they can be built before loading the image, build them after.
 */
int mb_check_info(const struct guest_mem *gm, const char *cmdline,
		  char *err, size_t errlen);
/* mods_count modules listed at mods_addr (flag MB_IF_MODS), or none. */
void mb_build_info(struct guest_mem *gm, const char *cmdline,
		   uint32_t mods_count, uint32_t mods_addr);

#endif /* KHYP_LOADER_PRIV_H */
