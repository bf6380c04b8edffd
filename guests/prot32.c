// SPDX-License-Identifier: GPL-2.0
/*
 * An ELF32 test guest, started by khyp in 32-bit protected mode without
 * paging: says so and halts with interrupts off (status 0).
 */
#include "lib.h"

int main(void)
{
	uint32_t cr0;

	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	puts((cr0 & 0x80000001) == 1 ? "ELF32 guest in protected mode\n" :
	     "ELF32 guest: unexpected CR0\n");
	halt();
}
