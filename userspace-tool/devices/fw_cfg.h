/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU's firmware configuration device (fw_cfg), the traditional
 * interface of QEMU's docs/specs/fw_cfg.rst on x86: a 16-bit selector
 * at port 0x510 and an 8-bit data port at 0x511.  The model (items,
 * selector, offset) is pure, so that loader_test checks it natively;
 * fw_cfg__init() in fw_cfg.c fills it from the options and puts it on
 * the port bus.
 */
#ifndef KHYP_FW_CFG_H
#define KHYP_FW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FW_CFG_PORT_SEL		0x510
#define FW_CFG_PORT_DATA	0x511

/* The keys khyp fills (QEMU's include/standard-headers/linux/qemu_fw_cfg.h). */
#define FW_CFG_SIGNATURE	0x00	/* "QEMU" */
#define FW_CFG_ID		0x01	/* le32 features: bit 0 traditional */
#define FW_CFG_RAM_SIZE		0x03	/* le64 bytes */
#define FW_CFG_NB_CPUS		0x05	/* le16 */
#define FW_CFG_MAX_CPUS		0x0f	/* le16 */
#define FW_CFG_FILE_DIR		0x19	/* be32 count, struct fw_cfg_file[] */
#define FW_CFG_FILE_FIRST	0x20	/* the files, in the directory's order */
#define FW_CFG_WRITE_CHANNEL	0x4000	/* ignored: items are read-only */
#define FW_CFG_ARCH_LOCAL	0x8000	/* arch-specific keys: none here */

#define FW_CFG_ID_TRADITIONAL	(1u << 0)
#define FW_CFG_FILE_NAME_SIZE	56

/* One entry of the file directory; every number big-endian. */
struct fw_cfg_file {
	uint32_t size;
	uint16_t select;
	uint16_t reserved;
	char name[FW_CFG_FILE_NAME_SIZE];
} __attribute__((packed));

struct fw_cfg_item {
	uint16_t key;		/* 0 for a file until fw_cfg__finish() */
	char name[FW_CFG_FILE_NAME_SIZE];	/* files only, else "" */
	uint8_t *data;		/* malloc'ed copy */
	uint32_t size;
};

struct fw_cfg {
	struct fw_cfg_item *items;
	unsigned int nr, alloc;
	const struct fw_cfg_item *cur;	/* selected, NULL: no such key */
	uint32_t offset;		/* of the next data byte */
};

void fw_cfg__setup(struct fw_cfg *f);
void fw_cfg__free(struct fw_cfg *f);
/* A numbered item (key below FW_CFG_FILE_FIRST); 0 or -1 (a message). */
int fw_cfg__add(struct fw_cfg *f, uint16_t key, const void *data,
		uint32_t size, char *err, size_t errlen);
/*
 * A named file; 0, or -1 with a message: a name that is empty, longer
 * than 55 characters or already there.
 */
int fw_cfg__add_file(struct fw_cfg *f, const char *name, const void *data,
		     uint32_t size, char *err, size_t errlen);
/*
 * After the last file: number the files from FW_CFG_FILE_FIRST in the
 * order of their names (as QEMU does) and add the directory; 0 or -1.
 */
int fw_cfg__finish(struct fw_cfg *f, char *err, size_t errlen);
/* The guest's two ports. */
void fw_cfg__select(struct fw_cfg *f, uint16_t key);
uint8_t fw_cfg__read(struct fw_cfg *f);

#endif /* KHYP_FW_CFG_H */
