// SPDX-License-Identifier: GPL-2.0
/*
 * The multiboot v1 information structure handed to the kernel in EBX:
 * memory sizes, an e820-style memory map, the command line and the boot
 * loader name, all in the multiboot area [MB_AREA_START, MB_AREA_END).
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "loader_priv.h"

static_assert(sizeof(struct mb_info) == 116, "multiboot info layout");
static_assert(sizeof(struct mb_mmap_entry) == 24, "mmap entry layout");
static_assert(MB_INFO_ADDR + sizeof(struct mb_info) <= MB_MMAP_ADDR,
	      "info overlaps mmap");
static_assert(MB_MMAP_ADDR + MB_MMAP_MAX_ENTRIES *
	      sizeof(struct mb_mmap_entry) <= MB_NAME_ADDR,
	      "mmap overlaps loader name");
static_assert(MB_CMDLINE_ADDR + MB_CMDLINE_MAX <= MB_AREA_END,
	      "command line outside the multiboot area");

static const char loader_name[] = "khyp";

int mb_check_info(const struct guest_mem *gm, const char *cmdline,
		  char *err, size_t errlen)
{
	char sz[32];

	if (gm->size < HIGH_MEM_START)
		return loader_fail(err, errlen, -ERANGE,
				   "multiboot needs at least 1 MiB of guest RAM (have %s)",
				   fmt_size(sz, gm->size));
	if (cmdline && strnlen(cmdline, MB_CMDLINE_MAX) >= MB_CMDLINE_MAX)
		return loader_fail(err, errlen, -E2BIG,
				   "command line too long (%zu bytes, max %d)",
				   strlen(cmdline), MB_CMDLINE_MAX - 1);
	return 0;
}

static unsigned int build_mmap(const struct guest_mem *gm,
			       struct mb_mmap_entry *map)
{
	unsigned int n = 0;

	map[n++] = (struct mb_mmap_entry){ 20, 0, LOW_MEM_END,
					   MB_MMAP_AVAILABLE };
	map[n++] = (struct mb_mmap_entry){ 20, BIOS_ROM_START,
					   HIGH_MEM_START - BIOS_ROM_START,
					   MB_MMAP_RESERVED };
	if (gm->size > HIGH_MEM_START)
		map[n++] = (struct mb_mmap_entry){ 20, HIGH_MEM_START,
						   gm->size - HIGH_MEM_START,
						   MB_MMAP_AVAILABLE };
	/* the RAM above the PCI hole (loader.h) */
	if (gm->high)
		map[n++] = (struct mb_mmap_entry){ 20, MEM_HIGH_START, gm->high,
						   MB_MMAP_AVAILABLE };
	return n;
}

void mb_build_info(struct guest_mem *gm, const char *cmdline,
		   uint32_t mods_count, uint32_t mods_addr)
{
	struct mb_mmap_entry map[MB_MMAP_MAX_ENTRIES];
	uint64_t upper_kib = (gm->size - HIGH_MEM_START) >> 10;
	unsigned char *area = gm->base + MB_AREA_START;
	struct mb_info mbi;
	unsigned int n;

	memset(area, 0, MB_AREA_END - MB_AREA_START);
	memset(&mbi, 0, sizeof(mbi));
	n = build_mmap(gm, map);
	memcpy(gm->base + MB_MMAP_ADDR, map, n * sizeof(map[0]));
	memcpy(gm->base + MB_NAME_ADDR, loader_name, sizeof(loader_name));

	mbi.flags = MB_IF_MEM | MB_IF_MMAP | MB_IF_LOADER_NAME;
	mbi.mem_lower = LOW_MEM_END >> 10;
	mbi.mem_upper = (uint32_t)(upper_kib > UINT32_MAX ? UINT32_MAX : upper_kib);
	mbi.mmap_length = n * sizeof(map[0]);
	mbi.mmap_addr = MB_MMAP_ADDR;
	mbi.boot_loader_name = MB_NAME_ADDR;
	if (cmdline) {
		memcpy(gm->base + MB_CMDLINE_ADDR, cmdline,
		       strlen(cmdline) + 1);
		mbi.flags |= MB_IF_CMDLINE;
		mbi.cmdline = MB_CMDLINE_ADDR;
	}
	if (mods_count) {
		mbi.flags |= MB_IF_MODS;
		mbi.mods_count = mods_count;
		mbi.mods_addr = mods_addr;
	}
	memcpy(gm->base + MB_INFO_ADDR, &mbi, sizeof(mbi));
}
