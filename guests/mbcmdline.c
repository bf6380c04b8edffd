// SPDX-License-Identifier: GPL-2.0
/*
 * A multiboot ELF32 test guest: prints its command line and exits with
 * 0x14 (status 41).
 */
#include "lib.h"

int main(uint32_t magic, const struct mb_info *mbi)
{
	if (magic != MB_BOOT_MAGIC) {
		puts("no multiboot magic\n");
		return 0x15;
	}
	puts("cmdline: ");
	if (mbi->flags & MB_INFO_CMDLINE)
		puts((const char *)mbi->cmdline);
	else
		puts("(none)");
	puts("\n");
	return 0x14;
}
