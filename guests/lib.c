// SPDX-License-Identifier: GPL-2.0
/* The example guests' little library (lib.h). */
#include "lib.h"

#define LSR		5
#define LSR_DR		0x01
#define LSR_THRE	0x20

void putc(char c)
{
	while (!(inb(COM1 + LSR) & LSR_THRE))
		;
	outb(COM1, c);
}

void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

void put_hex(unsigned long v)
{
	int shift;

	puts("0x");
	for (shift = sizeof(v) * 8 - 4; shift > 0 && !(v >> shift); shift -= 4)
		;
	for (; shift >= 0; shift -= 4)
		putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

void put_dec(unsigned long v)
{
	char buf[24];
	int i = 0;

	do {
		buf[i++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (i)
		putc(buf[--i]);
}

char getc(void)
{
	while (!(inb(COM1 + LSR) & LSR_DR))
		;
	return inb(COM1);
}

static int is_amd(void)
{
	uint32_t a = 0, b, c, d;

	asm volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	return b == 0x68747541 || b == 0x6f677948;	/* "Auth", "Hygo" */
}

long hypercall2(unsigned long nr, unsigned long a0, unsigned long a1)
{
	long ret;

	if (is_amd())
		asm volatile("vmmcall" : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1) : "memory");
	else
		asm volatile("vmcall" : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1) : "memory");
	return ret;
}

long hypercall(unsigned long nr, unsigned long a0)
{
	return hypercall2(nr, a0, 0);
}

void debug_exit(uint8_t v)
{
	outb(PORT_DEBUG_EXIT, v);
	halt();
}

void halt(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

int streq_prefix(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}
