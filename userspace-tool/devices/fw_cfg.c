// SPDX-License-Identifier: GPL-2.0
/*
 * fw_cfg: how firmware and test kernels built for QEMU learn about their
 * machine (QEMU's docs/specs/fw_cfg.rst, the traditional interface).
 * The guest writes a 16-bit key to the selector port 0x510, which
 * selects an item and rewinds its offset to 0; each byte read from the
 * data port 0x511 is the item's next byte, and 0 once past its end (or
 * for a key with no item).  Writes to the data port are ignored, as in
 * QEMU since 2.4; so is the key's write-channel bit 14.  FW_CFG_ID says
 * "traditional interface" only: there is no DMA interface at 0x514.
 *
 * The items: the signature "QEMU", the ID, the RAM size (-m), the CPU
 * count and maximum (-c), and the file directory (key 0x19, big-endian
 * as QEMU's) of the files from key 0x20 on, numbered in the order of
 * their names as QEMU numbers them: khyp's own "etc/boot-fail-wait"
 * (le32 -1: no reboot after a failed boot, QEMU's default) and those of
 * --fw-cfg.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../khyp.h"

_Static_assert(sizeof(struct fw_cfg_file) == 64, "fw_cfg directory entry");

void fw_cfg__setup(struct fw_cfg *f)
{
	memset(f, 0, sizeof(*f));
}

void fw_cfg__free(struct fw_cfg *f)
{
	unsigned int i;

	for (i = 0; i < f->nr; i++)
		free(f->items[i].data);
	free(f->items);
	fw_cfg__setup(f);
}

static struct fw_cfg_item *fw_cfg__new(struct fw_cfg *f, const void *data,
				       uint32_t size, char *err,
				       size_t errlen)
{
	struct fw_cfg_item *items, *it;
	unsigned int alloc;

	if (f->nr == f->alloc) {
		alloc = f->alloc ? 2 * f->alloc : 16;
		items = realloc(f->items, alloc * sizeof(*items));
		if (!items)
			goto nomem;
		f->items = items;
		f->alloc = alloc;
	}
	it = &f->items[f->nr];
	memset(it, 0, sizeof(*it));
	it->data = malloc(size ? size : 1);
	if (!it->data)
		goto nomem;
	memcpy(it->data, data, size);
	it->size = size;
	f->nr++;
	return it;
nomem:
	snprintf(err, errlen, "fw_cfg: out of memory");
	return NULL;
}

int fw_cfg__add(struct fw_cfg *f, uint16_t key, const void *data,
		uint32_t size, char *err, size_t errlen)
{
	struct fw_cfg_item *it = fw_cfg__new(f, data, size, err, errlen);

	if (!it)
		return -1;
	it->key = key;
	return 0;
}

int fw_cfg__add_file(struct fw_cfg *f, const char *name, const void *data,
		     uint32_t size, char *err, size_t errlen)
{
	size_t len = strnlen(name, FW_CFG_FILE_NAME_SIZE);
	struct fw_cfg_item *it;
	unsigned int i;

	if (!len || len >= FW_CFG_FILE_NAME_SIZE) {
		snprintf(err, errlen, "fw_cfg: a file name must have 1 to %d characters",
			 FW_CFG_FILE_NAME_SIZE - 1);
		return -1;
	}
	for (i = 0; i < f->nr; i++) {
		if (!strcmp(f->items[i].name, name)) {
			snprintf(err, errlen, "fw_cfg: there is a file '%s' already",
				 name);
			return -1;
		}
	}
	if (FW_CFG_FILE_FIRST + f->nr >= FW_CFG_WRITE_CHANNEL) {
		snprintf(err, errlen, "fw_cfg: too many files");
		return -1;
	}
	it = fw_cfg__new(f, data, size, err, errlen);
	if (!it)
		return -1;
	memcpy(it->name, name, len + 1);
	return 0;
}

static int fw_cfg__by_name(const void *a, const void *b)
{
	const struct fw_cfg_item *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

int fw_cfg__finish(struct fw_cfg *f, char *err, size_t errlen)
{
	struct fw_cfg_item **files;
	struct fw_cfg_file *dir;
	unsigned int i, n = 0;
	uint32_t size;
	int ret;

	files = calloc(f->nr + 1, sizeof(*files));
	if (!files) {
		snprintf(err, errlen, "fw_cfg: out of memory");
		return -1;
	}
	for (i = 0; i < f->nr; i++)
		if (f->items[i].name[0])
			files[n++] = &f->items[i];
	qsort(files, n, sizeof(*files), fw_cfg__by_name);
	size = sizeof(uint32_t) + n * sizeof(*dir);
	dir = calloc(1, size);
	if (!dir) {
		free(files);
		snprintf(err, errlen, "fw_cfg: out of memory");
		return -1;
	}
	*(uint32_t *)dir = htobe32(n);
	for (i = 0; i < n; i++) {
		struct fw_cfg_file *e = (void *)((char *)dir + sizeof(uint32_t) +
						 i * sizeof(*e));

		files[i]->key = FW_CFG_FILE_FIRST + i;
		e->size = htobe32(files[i]->size);
		e->select = htobe16(files[i]->key);
		memcpy(e->name, files[i]->name, sizeof(e->name));
	}
	free(files);
	ret = fw_cfg__add(f, FW_CFG_FILE_DIR, dir, size, err, errlen);
	free(dir);
	return ret;
}

void fw_cfg__select(struct fw_cfg *f, uint16_t key)
{
	unsigned int i;

	key &= ~FW_CFG_WRITE_CHANNEL;
	f->cur = NULL;
	f->offset = 0;
	for (i = 0; i < f->nr; i++) {
		if (f->items[i].key == key && (key || !f->items[i].name[0])) {
			f->cur = &f->items[i];
			return;
		}
	}
}

uint8_t fw_cfg__read(struct fw_cfg *f)
{
	if (!f->cur || f->offset >= f->cur->size)
		return 0;
	return f->cur->data[f->offset++];
}

/* ---- on the machine's port bus ---- */

static int fw_cfg__sel_io(struct bus_access *a, void *opaque)
{
	struct machine *m = opaque;

	if (a->write)
		fw_cfg__select(&m->fw_cfg, a->data);
	return RUN_CONTINUE;	/* a read: write-only, all-ones */
}

static int fw_cfg__data_io(struct bus_access *a, void *opaque)
{
	struct machine *m = opaque;

	if (!a->write)
		a->data = fw_cfg__read(&m->fw_cfg);
	return RUN_CONTINUE;	/* a write: ignored */
}

/* The files of --fw-cfg: read (file=) or copied (string=, no NUL). */
static int fw_cfg__user_files(struct machine *m, char *err, size_t errlen)
{
	const struct run_opts *o = m->opts;
	uint64_t max = o->mem_size < UINT32_MAX ? o->mem_size : UINT32_MAX;
	const struct fw_cfg_opt *fo;
	char path[4096], why[512];
	unsigned int i;
	void *data;
	size_t len;
	int ret;

	for (i = 0; i < o->nr_fw_cfg; i++) {
		fo = &o->fw_cfg[i];
		if (strncmp(fo->name, "opt/", 4))
			fprintf(stderr, "khyp: warning: --fw-cfg %s: QEMU reserves names that do not begin with opt/ for itself\n",
				fo->name);
		if (!fo->is_file) {
			ret = fw_cfg__add_file(&m->fw_cfg, fo->name, fo->value,
					       fo->value_len, why, sizeof(why));
		} else {
			snprintf(path, sizeof(path), "%.*s",
				 (int)fo->value_len, fo->value);
			data = file__read(path, max, true, &len, why,
					  sizeof(why));
			if (!data) {
				snprintf(err, errlen, "--fw-cfg %s: %s",
					 fo->name, why);
				return -1;
			}
			ret = fw_cfg__add_file(&m->fw_cfg, fo->name, data, len,
					       why, sizeof(why));
			free(data);
		}
		if (ret) {
			snprintf(err, errlen, "--fw-cfg %s: %s", fo->name, why);
			return -1;
		}
	}
	return 0;
}

int fw_cfg__init(struct machine *m, char *err, size_t errlen)
{
	const struct run_opts *o = m->opts;
	const uint32_t id = htole32(FW_CFG_ID_TRADITIONAL);
	const uint64_t ram = htole64(o->mem_size);
	const uint16_t cpus = htole16(o->cpus);
	const uint32_t boot_fail_wait = htole32(UINT32_MAX);
	const struct bus_dev sel = {
		.name = "fw_cfg selector",
		.base = FW_CFG_PORT_SEL,
		.len = 1,
		.widths = BUS_WIDTH_2,
		.handle = fw_cfg__sel_io,
		.opaque = m,
	};
	const struct bus_dev data = {
		.name = "fw_cfg data",
		.base = FW_CFG_PORT_DATA,
		.len = 1,
		.widths = BUS_WIDTH_1,
		.handle = fw_cfg__data_io,
		.opaque = m,
	};
	struct fw_cfg *f = &m->fw_cfg;

	fw_cfg__setup(f);
	if (fw_cfg__add(f, FW_CFG_SIGNATURE, "QEMU", 4, err, errlen) ||
	    fw_cfg__add(f, FW_CFG_ID, &id, sizeof(id), err, errlen) ||
	    fw_cfg__add(f, FW_CFG_RAM_SIZE, &ram, sizeof(ram), err, errlen) ||
	    fw_cfg__add(f, FW_CFG_NB_CPUS, &cpus, sizeof(cpus), err, errlen) ||
	    fw_cfg__add(f, FW_CFG_MAX_CPUS, &cpus, sizeof(cpus), err, errlen) ||
	    fw_cfg__add_file(f, "etc/boot-fail-wait", &boot_fail_wait,
			     sizeof(boot_fail_wait), err, errlen) ||
	    fw_cfg__user_files(m, err, errlen) ||
	    fw_cfg__finish(f, err, errlen))
		return -1;
	if (bus__register(&m->ports, &sel, err, errlen))
		return -1;
	return bus__register(&m->ports, &data, err, errlen);
}
