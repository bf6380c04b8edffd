// SPDX-License-Identifier: GPL-2.0
/* The fw_cfg model (devices/fw_cfg.c): items, selector, data, directory. */
#include <endian.h>
#include <string.h>

#include "test.h"
#include "../khyp.h"

static struct fw_cfg fw;

static void fw_read(void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n--)
		*p++ = fw_cfg__read(&fw);
}

static void fw_cfg_items_and_reads(struct tctx *t)
{
	struct fw_cfg_file e[2];
	uint32_t count;
	char buf[8];

	fw_cfg__free(&fw);
	CHECK(t, !fw_cfg__add(&fw, FW_CFG_SIGNATURE, "QEMU", 4, t->err,
			      sizeof(t->err)));
	CHECK(t, !fw_cfg__add_file(&fw, "opt/b", "bee", 3, t->err,
				   sizeof(t->err)));
	CHECK(t, !fw_cfg__add_file(&fw, "opt/a", "", 0, t->err,
				   sizeof(t->err)));
	CHECK(t, !fw_cfg__finish(&fw, t->err, sizeof(t->err)));
	/* sequential bytes, 0 past the end, selecting rewinds */
	fw_cfg__select(&fw, FW_CFG_SIGNATURE);
	fw_read(buf, 6);
	CHECK(t, !memcmp(buf, "QEMU\0\0", 6));
	fw_cfg__select(&fw, FW_CFG_SIGNATURE | FW_CFG_WRITE_CHANNEL);
	fw_read(buf, 2);
	CHECK(t, !memcmp(buf, "QE", 2));
	fw_cfg__select(&fw, 0x1234);
	CHECK(t, fw_cfg__read(&fw) == 0);
	fw_cfg__select(&fw, FW_CFG_ARCH_LOCAL);
	CHECK(t, fw_cfg__read(&fw) == 0);
	/* the directory: big-endian, sorted by name, keys from 0x20 */
	fw_cfg__select(&fw, FW_CFG_FILE_DIR);
	fw_read(&count, 4);
	fw_read(e, sizeof(e));
	CHECK(t, be32toh(count) == 2);
	CHECK(t, !strcmp(e[0].name, "opt/a") && be32toh(e[0].size) == 0 &&
		 be16toh(e[0].select) == 0x20 && !e[0].reserved);
	CHECK(t, !strcmp(e[1].name, "opt/b") && be32toh(e[1].size) == 3 &&
		 be16toh(e[1].select) == 0x21);
	CHECK(t, fw_cfg__read(&fw) == 0);
	fw_cfg__select(&fw, 0x21);
	fw_read(buf, 4);
	CHECK(t, !memcmp(buf, "bee", 4));
	fw_cfg__free(&fw);
}

static void fw_cfg_file_names(struct tctx *t)
{
	char name[64];

	fw_cfg__free(&fw);
	memset(name, 'x', sizeof(name));
	name[55] = 0;
	CHECK(t, !fw_cfg__add_file(&fw, name, "", 0, t->err, sizeof(t->err)));
	CHECK(t, fw_cfg__add_file(&fw, name, "", 0, t->err, sizeof(t->err)));
	CHECK(t, t_err_has(t, "already"));
	name[55] = 'x';
	name[56] = 0;
	CHECK(t, fw_cfg__add_file(&fw, name, "", 0, t->err, sizeof(t->err)));
	CHECK(t, t_err_has(t, "1 to 55 characters"));
	CHECK(t, fw_cfg__add_file(&fw, "", "", 0, t->err, sizeof(t->err)));
	fw_cfg__free(&fw);
}

const struct tcase fw_cfg_cases[] = {
	{ "fw_cfg_items_and_reads", fw_cfg_items_and_reads },
	{ "fw_cfg_file_names", fw_cfg_file_names },
	{ NULL, NULL },
};
