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
	bool phys_entry;		/* e_entry is a physical address */
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

/*
 * Linux's boot protocol (bzimage.c, vmlinux.c): the offsets of the
 * setup header, the same in a bzImage and in the zero page (the image's
 * first 0x1f1 bytes are the old boot sector; the header follows).
 */
#define HDR_SETUP_SECTS		0x1f1	/* u8: 512-byte setup sectors, 0 = 4 */
#define HDR_VID_MODE		0x1fa	/* u16 */
#define HDR_BOOT_FLAG		0x1fe	/* u16: 0xaa55 */
#define HDR_JUMP		0x200	/* u16: jmp; byte 0x201 = header end */
#define HDR_MAGIC		0x202	/* u32: "HdrS" */
#define HDR_VERSION		0x206	/* u16: protocol major.minor */
#define HDR_TYPE_OF_LOADER	0x210	/* u8 */
#define HDR_LOADFLAGS		0x211	/* u8 */
#define HDR_CODE32_START	0x214	/* u32 */
#define HDR_RAMDISK_IMAGE	0x218	/* u32 */
#define HDR_RAMDISK_SIZE	0x21c	/* u32 */
#define HDR_HEAP_END_PTR	0x224	/* u16 */
#define HDR_CMD_LINE_PTR	0x228	/* u32 */
#define HDR_INITRD_ADDR_MAX	0x22c	/* u32 */
#define HDR_KERNEL_ALIGNMENT	0x230	/* u32 */
#define HDR_RELOCATABLE		0x234	/* u8 */
#define HDR_XLOADFLAGS		0x236	/* u16 */
#define HDR_CMDLINE_SIZE	0x238	/* u32 */
#define HDR_PREF_ADDRESS	0x258	/* u64 */
#define HDR_INIT_SIZE		0x260	/* u32 */

/* The rest of the zero page. */
#define BP_EXT_RAMDISK_IMAGE	0x0c0	/* u32: bits 63:32 */
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8	/* u8 */
#define BP_E820_TABLE		0x2d0	/* 128 of {u64 addr, u64 size, u32 type} */
#define BP_E820_MAX		128
#define BP_SIZE			0x1000

#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define LOADED_HIGH		0x01
#define KEEP_SEGMENTS		0x40
#define CAN_USE_HEAP		0x80
#define XLF_KERNEL_64		0x01
#define LOADER_TYPE_UNKNOWN	0xff
#define E820_RAM		1
#define E820_RESERVED		2

/*
 * The checks every Linux loader makes before it writes anything: RAM
 * below the PCI hole and big enough for the zero page and the command
 * line, the command line at most @cmdline_max bytes, an initrd with its
 * data.  0 or a negative errno with err set.
 */
int linux_check_args(const struct guest_mem *gm, const struct linux_args *la,
		     uint32_t cmdline_max, char *err, size_t errlen);

/*
 * Where the initrd of @len bytes goes: as high as RAM and @initrd_max
 * allow, page-aligned, above @kernel_end.  0 or -ERANGE.
 */
int linux_place_initrd(const struct guest_mem *gm, uint32_t initrd_max,
		       uint64_t kernel_end, size_t len, uint64_t *addr,
		       char *err, size_t errlen);

/*
 * Write the initrd (at @initrd), the command line (LINUX_CMDLINE) and
 * the zero page (LINUX_ZERO_PAGE): the setup header bytes of @hdr from
 * HDR_SETUP_SECTS to @hdr_end, then what the loader fills in
 * (type_of_loader, no heap, code32_start = @code32, the command line,
 * the initrd, the e820 map of the machine's layout).
 */
void linux_zero_page(struct guest_mem *gm, const unsigned char *hdr,
		     size_t hdr_end, uint64_t code32,
		     const struct linux_args *la, uint64_t initrd);

#endif /* KHYP_LOADER_PRIV_H */
