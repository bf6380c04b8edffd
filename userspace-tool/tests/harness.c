// SPDX-License-Identifier: GPL-2.0
/* Checks and exactly-sized loads used by the loader_test cases. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

void t_fail(struct tctx *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (t->fail_file)
		return;
	t->fail_file = file;
	t->fail_line = line;
	va_start(ap, fmt);
	vsnprintf(t->fail_what, sizeof(t->fail_what), fmt, ap);
	va_end(ap);
}

bool t_err_has(const struct tctx *t, const char *msg)
{
	return strstr(t->err, msg);
}

bool t_guest_filled(const struct tctx *t, uint64_t addr, uint64_t len)
{
	static unsigned char fill[0x10000];
	uint64_t n;

	if (!fill[0])
		memset(fill, GUEST_FILL, sizeof(fill));
	if (addr > t->gm.size || len > t->gm.size - addr)
		return false;
	while (len) {
		n = len < sizeof(fill) ? len : sizeof(fill);
		if (memcmp(t->gm.base + addr, fill, n))
			return false;
		addr += n;
		len -= n;
	}
	return true;
}

uint64_t t_get(const unsigned char *p, size_t off, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, p + off, n);
	return v;
}

bool t_zp_e820_is(const struct tctx *t, int i, uint64_t addr, uint64_t len,
		  uint32_t type)
{
	const unsigned char *e = t->gm.base + LINUX_ZERO_PAGE + 0x2d0 + 20 * i;

	return t_get(e, 0, 8) == addr && t_get(e, 8, 8) == len &&
	       t_get(e, 16, 4) == type;
}

bool t_guest_untouched(const struct tctx *t)
{
	return t_guest_filled(t, 0, t->gm.size);
}

bool t_guest_is(const struct tctx *t, uint64_t addr, const void *p,
		size_t len)
{
	if (addr > t->gm.size || len > t->gm.size - addr)
		return false;
	return !memcmp(t->gm.base + addr, p, len);
}

bool t_guest_zero(const struct tctx *t, uint64_t addr, uint64_t len)
{
	uint64_t i;

	if (addr > t->gm.size || len > t->gm.size - addr)
		return false;
	for (i = 0; i < len; i++)
		if (t->gm.base[addr + i])
			return false;
	return true;
}

static void *copy(const void *img, size_t len)
{
	void *p = malloc(len ? len : 1);

	if (!p) {
		perror("malloc");
		exit(2);
	}
	if (len)
		memcpy(p, img, len);
	return p;
}

int t_load_elf(struct tctx *t, const void *img, size_t len)
{
	void *p = copy(img, len);
	int ret = load_elf(&t->gm, p, len, &t->bi, t->err, sizeof(t->err));

	free(p);
	return ret;
}

int t_load_mb(struct tctx *t, const void *img, size_t len,
	      const char *cmdline)
{
	void *p = copy(img, len);
	int ret = load_multiboot(&t->gm, p, len, cmdline, &t->bi, t->err,
				 sizeof(t->err));

	free(p);
	return ret;
}

int t_load_flat(struct tctx *t, const void *img, size_t len,
		uint64_t load_addr, uint64_t entry)
{
	void *p = copy(img, len);
	int ret = load_flat(&t->gm, p, len, load_addr, entry, &t->bi, t->err,
			    sizeof(t->err));

	free(p);
	return ret;
}

int t_detect(const void *img, size_t len)
{
	void *p = copy(img, len);
	int ret = loader_detect(p, len);

	free(p);
	return ret;
}
