// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the ELF loader, the vmlinux loader on what
 * detection calls a vmlinux, and format detection: whatever the input, no
 * crash, no out-of-bounds access, and a successful load must describe an
 * image inside guest RAM.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../boot/loader.h"

#define FUZZ_GUEST_SIZE	(32u << 20)	/* a vmlinux seed loads at 16 MiB */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A vmlinux loads above the first MiB, in RAM, entered in long mode. */
static void fuzz_vmlinux(struct guest_mem *gm, const uint8_t *data,
			 size_t size)
{
	struct linux_args la = { "console=ttyS0", "initrd", 6 };
	struct boot_info bi;
	char err[256] = "";
	int ret;

	ret = load_vmlinux(gm, data, size, &la, &bi, err, sizeof(err));
	if (ret) {
		if (ret >= 0 || !err[0])
			abort();
		return;
	}
	if (bi.entry < bi.load_start || bi.entry >= bi.load_end ||
	    bi.load_end > gm->size || bi.load_start < HIGH_MEM_START ||
	    bi.mode != MODE_LONG64 || bi.format != IMAGE_VMLINUX ||
	    bi.boot_params != LINUX_ZERO_PAGE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem gm;
	struct boot_info bi;
	char err[256];
	int fmt, ret;

	if (!gm.base) {
		gm.base = calloc(1, FUZZ_GUEST_SIZE);
		if (!gm.base)
			abort();
		gm.size = FUZZ_GUEST_SIZE;
	}
	fmt = loader_detect(data, size);
	if (fmt < IMAGE_FLAT || fmt > IMAGE_VMLINUX)
		abort();
	if (fmt == IMAGE_VMLINUX)
		fuzz_vmlinux(&gm, data, size);

	err[0] = 0;
	ret = load_elf(&gm, data, size, &bi, err, sizeof(err));
	if (ret) {
		if (ret >= 0 || !err[0])
			abort();	/* failures are negative and explained */
		return 0;
	}
	if (bi.entry < bi.load_start || bi.entry >= bi.load_end ||
	    bi.load_end > gm.size || bi.load_start >= bi.load_end)
		abort();
	if (bi.mode != (bi.format == IMAGE_ELF32 ? MODE_PROT32 : MODE_LONG64))
		abort();
	if (fmt != IMAGE_ELF32 && fmt != IMAGE_ELF64 &&
	    fmt != IMAGE_MULTIBOOT && fmt != IMAGE_VMLINUX)
		abort();
	return 0;
}
