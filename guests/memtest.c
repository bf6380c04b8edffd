// SPDX-License-Identifier: GPL-2.0
/*
 * memtest: a multiboot ELF32 kernel (32-bit protected mode) that fills
 * N MiB from 4 MiB on with a pattern (command line "mib=N", default 8,
 * at most what the multiboot info says there is), checksums it on the
 * way in and on the way back, then tries the launcher's hypercalls:
 * putchar (1) prints a line, and an unknown number must return -1.
 *
 * With "balloon" on the command line it then speaks khyp's balloon
 * protocol (uapi/linux/khyp_balloon.h): it gives the host as many pages
 * of the tested memory as the balloon target asks (`khyp run
 * --balloon=SIZE`), says so, takes them all back and checks that they
 * read zero.
 *
 * Exit value 0x20 | errors (1: memory, 2: putchar, 4: unknown
 * hypercall, 8: balloon): status 65 when all is well.
 */
#include <linux/khyp_balloon.h>

#include "lib.h"

#define TEST_BASE	0x400000u

/* The word @word on the command line. */
static int has_word(const struct mb_info *mbi, const char *word)
{
	const char *s = (const char *)mbi->cmdline;

	if (!(mbi->flags & MB_INFO_CMDLINE))
		return 0;
	for (; *s; s++)
		if ((s == (const char *)mbi->cmdline || s[-1] == ' ') &&
		    streq_prefix(s, word))
			return 1;
	return 0;
}

static unsigned int parse_mib(const struct mb_info *mbi)
{
	const char *s = (const char *)mbi->cmdline;
	unsigned int n = 0;

	if (!(mbi->flags & MB_INFO_CMDLINE))
		return 8;
	for (; *s; s++) {
		if (!streq_prefix(s, "mib="))
			continue;
		for (s += 4; *s >= '0' && *s <= '9'; s++)
			n = n * 10 + (*s - '0');
		return n;
	}
	return 8;
}

static uint32_t pattern(uint32_t i)
{
	return i * 2654435761u ^ 0x5a5a1234u;
}

/* 0 if the memory reads back what was written. */
static int test_memory(unsigned int mib)
{
	volatile uint32_t *p = (volatile uint32_t *)TEST_BASE;
	uint32_t i, n = mib << 18, sum_in = 0, sum_out = 0;

	for (i = 0; i < n; i++) {
		p[i] = pattern(i);
		sum_in += pattern(i);
	}
	for (i = 0; i < n; i++)
		sum_out += p[i];
	puts("memtest: ");
	put_dec(mib);
	puts(" MiB at ");
	put_hex(TEST_BASE);
	puts(", checksum ");
	put_hex(sum_out);
	puts(sum_in == sum_out ? " ok\n" : " MISMATCH\n");
	return sum_in != sum_out;
}

static int test_hypercalls(void)
{
	const char *s = "hypercall putchar ok\n";
	int err = 0;

	for (; *s; s++)
		if (hypercall(HC_PUTCHAR, *s) != 0)
			err |= 2;
	if (hypercall(0x42, 0) != -1)
		err |= 4;
	puts(err & 4 ? "unknown hypercall: wrong result\n" :
	     "unknown hypercall returned -1\n");
	return err;
}

static uint64_t balloon_list[KHYP_BALLOON_BATCH_MAX]
	__attribute__((aligned(4096)));

/* One batch of pages [first, first + n) of the tested memory. */
static long balloon_batch(unsigned long nr, uint32_t first, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		balloon_list[i] = TEST_BASE + (uint64_t)(first + i) * 4096;
	return hypercall2(nr, (unsigned long)balloon_list, n);
}

static int test_balloon(unsigned int mib)
{
	uint32_t target, given = 0, back = 0, i, n, max = mib * 256;
	int nonzero = 0;
	long r;

	r = hypercall2(KHYP_HC_BALLOON_PROBE, 1, 0);
	if (r != KHYP_BALLOON_VERSION) {
		puts("balloon: PROBE failed\n");
		return 8;
	}
	r = hypercall2(KHYP_HC_BALLOON_TARGET, 0, 0);
	target = r < 0 ? 0 : r > (long)max ? max : (uint32_t)r;
	while (given < target) {
		n = target - given;
		if (n > KHYP_BALLOON_BATCH_MAX)
			n = KHYP_BALLOON_BATCH_MAX;
		r = balloon_batch(KHYP_HC_BALLOON_INFLATE, given, n);
		if (r <= 0)
			break;
		given += r;
	}
	puts("balloon: target ");
	put_dec(target);
	puts(" pages, gave ");
	put_dec(given);
	while (back < given) {
		n = given - back;
		if (n > KHYP_BALLOON_BATCH_MAX)
			n = KHYP_BALLOON_BATCH_MAX;
		r = balloon_batch(KHYP_HC_BALLOON_DEFLATE, back, n);
		if (r <= 0)
			break;
		back += r;
	}
	for (i = 0; i < back; i++)
		nonzero |= *(volatile uint32_t *)(TEST_BASE + i * 4096);
	puts(", took ");
	put_dec(back);
	puts(" back: ");
	puts(nonzero ? "NOT ZERO\n" : "they read zero\n");
	return given == target && back == given && !nonzero ? 0 : 8;
}

int main(uint32_t magic, const struct mb_info *mbi)
{
	unsigned int mib, max_mib;
	int err;

	if (magic != MB_BOOT_MAGIC) {
		puts("memtest: not started by a multiboot loader\n");
		return 0x2f;
	}
	mib = parse_mib(mbi);
	max_mib = (mbi->mem_upper + 1024) / 1024 - TEST_BASE / (1024 * 1024);
	if (mib > max_mib)
		mib = max_mib;
	err = test_memory(mib);
	err |= test_hypercalls();
	if (has_word(mbi, "balloon"))
		err |= test_balloon(mib);
	return 0x20 | err;
}
