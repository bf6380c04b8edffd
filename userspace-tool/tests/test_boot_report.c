// SPDX-License-Identifier: GPL-2.0
/*
 * --boot-report (boot_report.c): its moments stamped once each, MARK
 * found in COM1's output however the guest split it, and the lines
 * khyp(1) promises, word for word.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "../khyp.h"

static struct boot_report br;

static void br_init(const char *mark)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	boot_report__init(&br, &start, true, mark);
}

static void br_out(const char *s)
{
	boot_report__output(&br, (const uint8_t *)s, strlen(s));
}

static void br_sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

/* What boot_report__print() writes for @status, in a static buffer. */
static const char *br_print(int status)
{
	static char buf[1024];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	buf[0] = 0;
	if (!f)
		return "(fmemopen failed)";
	boot_report__print(&br, f, status);
	fclose(f);
	return buf;
}

static bool br_starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* "KHYP-SH" then "ELL": the MARK is seen at the write that completes it. */
static void boot_report_split_mark(struct tctx *t)
{
	int64_t first;

	br_init("KHYP-SHELL");
	CHECK(t, br.ns[BOOT_FIRST_OUTPUT] < 0 && br.ns[BOOT_MARK] < 0);
	br_out("[ 1.0] KHYP-SH");
	first = br.ns[BOOT_FIRST_OUTPUT];
	CHECK(t, first >= 0);
	CHECK(t, br.ns[BOOT_MARK] < 0);
	br_sleep_ms(5);
	br_out("ELL");
	CHECK(t, br.ns[BOOT_MARK] >= first + 4000000);
	/* the first output's time stays the first write's */
	CHECK(t, br.ns[BOOT_FIRST_OUTPUT] == first);
}

/* One byte a write, as COM1 gives them, and a MARK that overlaps itself. */
static void boot_report_bytewise_overlap(struct tctx *t)
{
	const char *s = "xaaab";
	unsigned int i;

	br_init("aab");
	for (i = 0; s[i]; i++) {
		CHECK(t, br.ns[BOOT_MARK] < 0);
		boot_report__output(&br, (const uint8_t *)&s[i], 1);
	}
	CHECK(t, br.ns[BOOT_MARK] >= 0);
	br_init("abac");
	br_out("ab");
	br_out("abac");
	CHECK(t, br.ns[BOOT_MARK] >= 0);
	br_init("/ # ");
	br_out("/ #");
	br_out("\n/ ");
	br_out("# ");
	CHECK(t, br.ns[BOOT_MARK] >= 0);
}

static void boot_report_not_seen(struct tctx *t)
{
	br_init("KHYP-SHELL");
	br_out("KHYP-SHEL");
	br_out("-L KHYP");		/* the match broken by "-" ... */
	br_out("-SHELx");		/* ... and by "x" */
	CHECK(t, br.ns[BOOT_MARK] < 0 && br.ns[BOOT_FIRST_OUTPUT] >= 0);
	CHECK(t, strstr(br_print(0), "khyp: boot: 'KHYP-SHELL' not seen\n"));
	/* no MARK: nothing to look for, output still stamped */
	br_init(NULL);
	br_out("KHYP-SHELL");
	CHECK(t, br.ns[BOOT_MARK] < 0 && br.ns[BOOT_FIRST_OUTPUT] >= 0);
	/* without --boot-report: nothing stamped, nothing printed */
	memset(&br, 0, sizeof(br));
	br.ns[BOOT_FIRST_OUTPUT] = -1;
	br_out("x");
	boot_report__event(&br, BOOT_VM_READY);
	CHECK(t, br.ns[BOOT_FIRST_OUTPUT] == -1 && br.ns[BOOT_VM_READY] == 0);
	CHECK(t, !br_print(0)[0]);
}

/* Each moment once: a later boot (--reboot restart) keeps the first's. */
static void boot_report_once(struct tctx *t)
{
	int64_t ready, entry;

	br_init("ok");
	boot_report__event(&br, BOOT_VM_READY);
	boot_report__event(&br, BOOT_FIRST_ENTRY);
	ready = br.ns[BOOT_VM_READY];
	entry = br.ns[BOOT_FIRST_ENTRY];
	CHECK(t, ready >= 0 && entry >= ready);
	br_out("o");
	br_sleep_ms(2);
	boot_report__event(&br, BOOT_VM_READY);
	boot_report__event(&br, BOOT_FIRST_ENTRY);
	br_out("k");
	br_out("ok");
	CHECK(t, br.ns[BOOT_VM_READY] == ready &&
		 br.ns[BOOT_FIRST_ENTRY] == entry);
	CHECK(t, br.ns[BOOT_MARK] > br.ns[BOOT_FIRST_OUTPUT]);
}

/* The lines, as scripts parse them. */
static void boot_report_lines(struct tctx *t)
{
	br_init("/ # ");
	br.ns[BOOT_VM_READY] = 12000000;
	br.ns[BOOT_FIRST_ENTRY] = 12500000;
	br.ns[BOOT_FIRST_OUTPUT] = 1234000000;
	br.ns[BOOT_MARK] = 23456700000;
	CHECK(t, br_starts(br_print(33),
			  "khyp: boot: vm ready after 0.012 s\n"
			  "khyp: boot: first guest entry after 0.013 s\n"
			  "khyp: boot: first serial output after 1.234 s\n"
			  "khyp: boot: '/ # ' after 23.457 s\n"
			  "khyp: boot: guest ended after "));
	CHECK(t, strstr(br_print(33), " s (status 33)\n"));
	br_init(NULL);
	CHECK(t, br_starts(br_print(1),
			  "khyp: boot: vm not ready\n"
			  "khyp: boot: no guest entry\n"
			  "khyp: boot: no serial output\n"
			  "khyp: boot: guest ended after 0.0"));
}

const struct tcase boot_report_cases[] = {
	{ "boot_report_split_mark", boot_report_split_mark },
	{ "boot_report_bytewise_overlap", boot_report_bytewise_overlap },
	{ "boot_report_not_seen", boot_report_not_seen },
	{ "boot_report_once", boot_report_once },
	{ "boot_report_lines", boot_report_lines },
	{ NULL, NULL },
};
