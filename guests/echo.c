// SPDX-License-Identifier: GPL-2.0
/*
 * An ELF32 test guest for serial input: reads a line from COM1, prints
 * it in upper case, exits with its length (without the newline, at most
 * 100): "hello\n" gives status 11.
 */
#include "lib.h"

int main(void)
{
	unsigned int n = 0;
	char c;

	puts("type a line: ");
	while ((c = getc()) != '\n' && c != '\r') {
		putc(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
		if (n < 100)
			n++;
	}
	putc('\n');
	return n;
}
