// SPDX-License-Identifier: GPL-2.0
/*
 * An ELF64 test guest, started by khyp in long mode: says so, checks
 * that it really is (EFER.LMA), exits with 0x12 (status 37) or 0x13.
 */
#include "lib.h"

int main(void)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000080));
	if (!(lo & (1u << 10))) {
		puts("ELF64 guest: not in long mode\n");
		return 0x13;
	}
	puts("ELF64 guest in long mode\n");
	return 0x12;
}
