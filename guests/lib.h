/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the example guests share: port I/O, the COM1 UART (polled: wait
 * for LSR.THRE, write THR), the debug-exit port of `khyp run`, and its
 * putchar hypercall.  Freestanding, for 32- and 64-bit guests alike.
 */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

#include <stdint.h>

#define COM1		0x3f8
#define PORT_DEBUG_EXIT	0xf4
#define HC_PUTCHAR	1

/* The multiboot v1 info, as far as the guests read it. */
struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;	/* KiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;	/* MB_INFO_MODS */
};

/* One entry of the module list at mods_addr. */
struct mb_module {
	uint32_t mod_start, mod_end;	/* [start, end) */
	uint32_t string;
	uint32_t reserved;
};

#define MB_BOOT_MAGIC	0x2badb002
#define MB_INFO_MEM	(1u << 0)
#define MB_INFO_CMDLINE	(1u << 2)
#define MB_INFO_MODS	(1u << 3)

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

void putc(char c);
void puts(const char *s);
void put_hex(unsigned long v);
void put_dec(unsigned long v);
/* A byte from the UART: waits for one. */
char getc(void);
/* VMMCALL on AMD, VMCALL on Intel: nr in RAX, a0 in RBX; returns RAX. */
long hypercall(unsigned long nr, unsigned long a0);
/* The same with a second argument in RCX. */
long hypercall2(unsigned long nr, unsigned long a0, unsigned long a1);
/* Out of the launcher with status (v << 1) | 1. */
void __attribute__((noreturn)) debug_exit(uint8_t v);
void __attribute__((noreturn)) halt(void);
int streq_prefix(const char *s, const char *prefix);

#endif /* GUEST_LIB_H */
