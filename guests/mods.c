// SPDX-License-Identifier: GPL-2.0
/*
 * A multiboot ELF32 test guest that prints its modules: their count,
 * then for each its string, its size, whether it starts on a page
 * boundary above the kernel and the previous module, and its bytes
 * (non-printable ones as \xNN; of a module over 64 bytes the first 16
 * and the sum of all).  Exits with 0x18 (status 49), or 0x17
 * (status 47) when the loader gave no modules.
 */
#include "lib.h"

extern const char _bss_end[];	/* guest.ld: the kernel's end */

static void put_bytes(const uint8_t *p, uint32_t n)
{
	uint32_t sum = 0, i;

	if (n > 64) {
		for (i = 0; i < n; i++)
			sum += p[i];
		put_bytes(p, 16);
		puts("... sum ");
		put_dec(sum);
		return;
	}
	while (n--) {
		uint8_t c = *p++;

		if (c >= ' ' && c <= '~') {
			putc(c);
		} else {
			puts("\\x");
			putc("0123456789abcdef"[c >> 4]);
			putc("0123456789abcdef"[c & 0xf]);
		}
	}
}

int main(uint32_t magic, const struct mb_info *mbi)
{
	const struct mb_module *m;
	uint32_t i, prev_end = (uint32_t)_bss_end;

	if (magic != MB_BOOT_MAGIC)
		return 0x15;
	if (!(mbi->flags & MB_INFO_MODS)) {
		puts("no modules\n");
		return 0x17;
	}
	puts("modules: ");
	put_dec(mbi->mods_count);
	puts("\n");
	m = (const struct mb_module *)mbi->mods_addr;
	for (i = 0; i < mbi->mods_count; i++, m++) {
		puts("module ");
		put_dec(i + 1);
		puts(" '");
		puts((const char *)m->string);
		puts("' ");
		put_dec(m->mod_end - m->mod_start);
		puts(" bytes");
		if (m->mod_start & 0xfff)
			puts(", not page-aligned");
		if (m->mod_start < prev_end || m->mod_end < m->mod_start)
			puts(", overlaps the kernel or the module before");
		puts(": ");
		put_bytes((const uint8_t *)m->mod_start,
			  m->mod_end - m->mod_start);
		puts("\n");
		prev_end = m->mod_end;
	}
	return 0x18;
}
