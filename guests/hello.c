// SPDX-License-Identifier: GPL-2.0
/*
 * hello: a multiboot kernel that switches to long mode itself
 * (hello_start.S), greets through COM1 and leaves through the debug-exit
 * port with 0x10: `khyp run guests/hello` exits with status 33.
 */
#include "lib.h"

int main(const struct mb_info *mbi)
{
	uint64_t cr0, efer_lo, efer_hi;

	puts("Hello from a khyp guest\n");
	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	asm volatile("rdmsr" : "=a"(efer_lo), "=d"(efer_hi) : "c"(0xc0000080));
	puts("running in 64-bit long mode: CR0 ");
	put_hex(cr0);
	puts(", EFER ");
	put_hex(efer_hi << 32 | efer_lo);
	if (mbi->flags & MB_INFO_MEM) {
		puts(", ");
		put_dec((mbi->mem_upper + 1024) / 1024);
		puts(" MiB of RAM");
	}
	puts("\n");
	return 0x10;
}
