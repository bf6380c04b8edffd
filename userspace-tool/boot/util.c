// SPDX-License-Identifier: GPL-2.0
/* Error messages and range checks shared by the loaders. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "loader_priv.h"

int loader_fail(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return errnum;
}

const char *fmt_size(char *buf, uint64_t size)
{
	static const char * const unit[] = { "bytes", "KiB", "MiB", "GiB",
					     "TiB" };
	unsigned int i = 0;

	while (size && !(size & 1023) && i < 4) {
		size >>= 10;
		i++;
	}
	snprintf(buf, 32, "%" PRIu64 " %s", size, unit[i]);
	return buf;
}

int loader_begin(const struct guest_mem *gm, const void *img, size_t len,
		 struct boot_info *bi, char *err, size_t errlen)
{
	if (!bi)
		return loader_fail(err, errlen, -EINVAL, "no boot_info");
	memset(bi, 0, sizeof(*bi));
	if (!gm || !gm->base || !gm->size)
		return loader_fail(err, errlen, -EINVAL, "no guest memory");
	if (!img || !len)
		return loader_fail(err, errlen, -EINVAL, "empty image");
	return 0;
}

int check_place(const struct guest_mem *gm, const char *what,
		uint64_t start, uint64_t len,
		const struct gm_range *rsv, size_t nrsv,
		char *err, size_t errlen)
{
	uint64_t end = start + len;
	char sz[32];
	size_t i;

	if (range_wraps(start, len, gm->size))
		return loader_fail(err, errlen, -ERANGE,
				   "%s [0x%" PRIx64 "-0x%" PRIx64
				   ") lies outside guest RAM (%s)",
				   what, start, end, fmt_size(sz, gm->size));
	for (i = 0; i < nrsv; i++) {
		if (ranges_overlap(start, end, rsv[i].start, rsv[i].end))
			return loader_fail(err, errlen, -ERANGE,
					   "%s [0x%" PRIx64 "-0x%" PRIx64
					   ") overlaps %s [0x%" PRIx64
					   "-0x%" PRIx64 ")", what, start, end,
					   rsv[i].what, rsv[i].start,
					   rsv[i].end);
	}
	return 0;
}

void set_stack(struct boot_info *bi, const struct guest_mem *gm)
{
	bi->stack = 0;
	if (gm->size < LOADER_STACK_TOP)
		return;
	if (ranges_overlap(bi->load_start, bi->load_end,
			   LOADER_STACK_BASE, LOADER_STACK_TOP))
		return;
	bi->stack = LOADER_STACK_TOP;
}
