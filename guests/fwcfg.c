// SPDX-License-Identifier: GPL-2.0
/*
 * A multiboot ELF32 test guest that reads QEMU's fw_cfg device as
 * firmware does (selector port 0x510, data port 0x511): the signature,
 * the ID, the RAM size, the CPU counts and the file directory, one line
 * each; with "file=NAME" on its command line, the file NAME found
 * through the directory, then two bytes past its end (0 each).  It also
 * checks that selecting again rewinds and that a key without an item
 * reads 0.  Exits with 0x16 (status 45).
 */
#include "lib.h"

#define FW_CFG_SEL		0x510
#define FW_CFG_DATA		0x511
#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_ID		0x01
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NB_CPUS		0x05
#define FW_CFG_MAX_CPUS		0x0f
#define FW_CFG_FILE_DIR		0x19

struct fw_cfg_file {
	uint32_t size;		/* big-endian, as the whole directory */
	uint16_t select;
	uint16_t reserved;
	char name[56];
};

static void fw_select(uint16_t key)
{
	outw(FW_CFG_SEL, key);
}

static void fw_read(void *buf, uint32_t n)
{
	uint8_t *p = buf;

	while (n--)
		*p++ = inb(FW_CFG_DATA);
}

/* little-endian n bytes (at most 4; the 64-bit RAM size is two halves) */
static uint32_t fw_le(uint32_t n)
{
	uint8_t b[4] = { 0 };

	fw_read(b, n);
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint32_t be32(uint32_t v)
{
	return __builtin_bswap32(v);
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* The value of "key=" on the command line, copied into buf. */
static int cmdline_arg(const struct mb_info *mbi, const char *key,
		       char *buf, int size)
{
	const char *s, *k;
	int n = 0;

	if (!(mbi->flags & MB_INFO_CMDLINE))
		return 0;
	for (s = (const char *)mbi->cmdline; *s; s++)
		if ((s == (const char *)mbi->cmdline || s[-1] == ' ') &&
		    streq_prefix(s, key))
			break;
	if (!*s)
		return 0;
	for (k = key; *k; k++)
		s++;
	for (; *s && *s != ' ' && n < size - 1; s++)
		buf[n++] = *s;
	buf[n] = 0;
	return 1;
}

static void put_bytes(uint32_t n)
{
	char c;

	while (n--) {
		fw_read(&c, 1);
		if (c >= ' ' && c <= '~')
			putc(c);
		else if (c == '\n')
			puts("\\n");
		else {
			puts("\\x");
			putc("0123456789abcdef"[(c >> 4) & 0xf]);
			putc("0123456789abcdef"[c & 0xf]);
		}
	}
}

static void show_dir(const char *want)
{
	struct fw_cfg_file f;
	uint16_t key = 0;
	uint32_t count, i, size = 0;

	fw_select(FW_CFG_FILE_DIR);
	fw_read(&count, 4);
	count = be32(count);
	puts("files: ");
	put_dec(count);
	puts("\n");
	for (i = 0; i < count && i < 64; i++) {
		fw_read(&f, sizeof(f));
		f.name[55] = 0;
		puts("file ");
		put_hex(__builtin_bswap16(f.select));
		puts(" ");
		put_dec(be32(f.size));
		puts(" ");
		puts(f.name);
		puts("\n");
		if (want && streq(f.name, want)) {
			key = __builtin_bswap16(f.select);
			size = be32(f.size);
		}
	}
	if (!want)
		return;
	if (!key) {
		puts(want);
		puts(": not in the directory\n");
		return;
	}
	fw_select(key);
	puts(want);
	puts(": ");
	put_bytes(size);
	puts("\npast the end: ");
	put_dec(fw_le(1));
	puts(" ");
	put_dec(fw_le(1));
	puts("\n");
}

int main(uint32_t magic, const struct mb_info *mbi)
{
	char sig[5] = { 0 }, want[64];
	uint32_t lo, hi;

	if (magic != MB_BOOT_MAGIC)
		return 0x15;
	fw_select(FW_CFG_SIGNATURE);
	fw_read(sig, 4);
	puts("signature: ");
	puts(sig);
	puts("\nid: ");
	fw_select(FW_CFG_ID);
	put_hex(fw_le(4));
	fw_select(FW_CFG_RAM_SIZE);
	lo = fw_le(4);
	hi = fw_le(4);
	puts("\nram: ");
	put_dec(hi << 12 | lo >> 20);
	puts(" MiB\ncpus: ");
	fw_select(FW_CFG_NB_CPUS);
	put_dec(fw_le(2));
	puts("\nmax cpus: ");
	fw_select(FW_CFG_MAX_CPUS);
	put_dec(fw_le(2));
	puts("\n");

	/* selecting rewinds; a key without an item reads 0 */
	fw_select(FW_CFG_SIGNATURE);
	fw_read(sig, 2);
	fw_select(FW_CFG_SIGNATURE);
	fw_read(sig, 4);
	puts("reselect: ");
	puts(sig);
	fw_select(0x1234);
	puts("\nno such key: ");
	put_dec(fw_le(4));
	puts("\n");

	show_dir(cmdline_arg(mbi, "file=", want, sizeof(want)) ? want : 0);
	return 0x16;
}
