// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the multiboot loader: whatever the input, no crash,
 * no out-of-bounds access; a successful load has its entry inside the
 * image, the image inside guest RAM and clear of the boot area, and a
 * multiboot info structure where boot_info says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../boot/loader.h"

#define FUZZ_GUEST_SIZE	(4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem gm;
	struct boot_info bi;
	struct mb_info mbi;
	char err[256];
	int ret;

	if (!gm.base) {
		gm.base = calloc(1, FUZZ_GUEST_SIZE);
		if (!gm.base)
			abort();
		gm.size = FUZZ_GUEST_SIZE;
	}
	err[0] = 0;
	ret = load_multiboot(&gm, data, size, "console=ttyS0", &bi, err,
			     sizeof(err));
	if (ret) {
		if (ret >= 0 || !err[0])
			abort();
		return 0;
	}
	if (loader_detect(data, size) != IMAGE_MULTIBOOT)
		abort();
	if (bi.entry < bi.load_start || bi.entry >= bi.load_end ||
	    bi.load_end > gm.size || bi.load_start < MB_AREA_END ||
	    bi.mode != MODE_PROT32 || bi.mb_magic != MB_BOOT_MAGIC ||
	    bi.mb_info_addr != MB_INFO_ADDR)
		abort();
	memcpy(&mbi, gm.base + MB_INFO_ADDR, sizeof(mbi));
	if (mbi.cmdline != MB_CMDLINE_ADDR ||
	    strcmp((char *)gm.base + MB_CMDLINE_ADDR, "console=ttyS0"))
		abort();
	return 0;
}
