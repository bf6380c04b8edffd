// SPDX-License-Identifier: GPL-2.0
/* Flat binaries: copied as they are to a given address. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "loader_priv.h"

int load_flat(struct guest_mem *gm, const void *img, size_t len,
	      uint64_t load_addr, uint64_t entry, struct boot_info *bi,
	      char *err, size_t errlen)
{
	int ret;

	ret = loader_begin(gm, img, len, bi, err, errlen);
	if (ret)
		return ret;
	if (range_wraps(load_addr, len, 0))
		return loader_fail(err, errlen, -EINVAL,
				   "load address 0x%" PRIx64 " + image size 0x%zx wraps around",
				   load_addr, len);
	ret = check_place(gm, "image", load_addr, len, NULL, 0, err, errlen);
	if (ret)
		return ret;
	if (entry < load_addr || entry - load_addr >= len)
		return loader_fail(err, errlen, -EINVAL,
				   "entry 0x%" PRIx64 " is outside the image [0x%" PRIx64 "-0x%" PRIx64 ")",
				   entry, load_addr, load_addr + len);
	if (entry > UINT32_MAX)
		return loader_fail(err, errlen, -EINVAL,
				   "entry 0x%" PRIx64 " is above 4 GiB; a flat image starts in real or 32-bit mode",
				   entry);

	memcpy(gm->base + load_addr, img, len);
	bi->format = IMAGE_FLAT;
	bi->entry = entry;
	bi->mode = entry < HIGH_MEM_START ? MODE_REAL16 : MODE_PROT32;
	bi->load_start = load_addr;
	bi->load_end = load_addr + len;
	set_stack(bi, gm);
	return 0;
}
