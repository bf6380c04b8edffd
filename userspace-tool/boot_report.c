// SPDX-License-Identifier: GPL-2.0
/*
 * --boot-report[=MARK]: where the time of a boot goes.  `khyp run` takes
 * CLOCK_MONOTONIC first thing (cmd_run) and stamps, once each, the
 * moments of a boot on the way:
 *
 *   vm ready             the VM made, its memory and image loaded, its
 *                        vCPUs made, just before the first KHYP_RUN
 *                        (run.c, machine__run)
 *   first guest entry    vCPU 0's first KHYP_RUN issued (run.c)
 *   first serial output  the first byte the guest wrote to COM1's THR
 *                        (devices/serial.c)
 *   MARK                 the first time COM1's output stream holds MARK,
 *                        however the guest split it into writes
 *   guest ended          the last boot over (main.c, before the devices
 *                        go), with the launcher's exit status
 *
 * and prints them on stderr when the run ends, one "khyp: boot: " line
 * each (boot_report__print; khyp(1) gives the lines, which scripts
 * parse).  Each moment is stamped once for the whole run: with
 * --reboot restart the VM and entry times are the first boot's, the
 * first output and MARK the first seen in any boot, all counted from the
 * start of `khyp run`.
 *
 * Pure (no device, no VM), so loader_test checks the matcher natively.
 */
#include <string.h>

#include "khyp.h"

static int64_t boot_report__now(const struct boot_report *r)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - r->start.tv_sec) * 1000000000 +
	       (now.tv_nsec - r->start.tv_nsec);
}

/*
 * The matcher's table (Knuth-Morris-Pratt): next[i] is the length of the
 * longest proper prefix of mark[0..i] that is also its suffix, so that a
 * mismatch after i + 1 matched bytes goes on from next[i] of them and a
 * MARK that overlaps itself ("aab" in "aaab") is still found.
 */
static void boot_report__table(struct boot_report *r)
{
	unsigned int i, k = 0;

	r->next[0] = 0;
	for (i = 1; i < r->mark_len; i++) {
		while (k && r->mark[i] != r->mark[k])
			k = r->next[k - 1];
		if (r->mark[i] == r->mark[k])
			k++;
		r->next[i] = k;
	}
}

void boot_report__init(struct boot_report *r, const struct timespec *start,
		       bool on, const char *mark)
{
	size_t len;
	unsigned int i;

	memset(r, 0, sizeof(*r));
	r->start = *start;
	r->on = on;
	for (i = 0; i < BOOT_NR_EVENTS; i++)
		r->ns[i] = -1;
	if (!on || !mark)
		return;
	len = strlen(mark);
	r->mark_len = len < BOOT_MARK_MAX ? len : BOOT_MARK_MAX;	/* options.c */
	memcpy(r->mark, mark, r->mark_len);
	boot_report__table(r);
}

void boot_report__event(struct boot_report *r, enum boot_event e)
{
	int64_t unset = -1;

	if (!r->on || __atomic_load_n(&r->ns[e], __ATOMIC_RELAXED) >= 0)
		return;
	__atomic_compare_exchange_n(&r->ns[e], &unset, boot_report__now(r),
				    false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

void boot_report__output(struct boot_report *r, const uint8_t *buf,
			 size_t len)
{
	unsigned int k;
	size_t i;

	if (!r->on || !len)
		return;
	boot_report__event(r, BOOT_FIRST_OUTPUT);
	if (!r->mark_len ||
	    __atomic_load_n(&r->ns[BOOT_MARK], __ATOMIC_RELAXED) >= 0)
		return;
	k = r->matched;
	for (i = 0; i < len; i++) {
		while (k && buf[i] != (uint8_t)r->mark[k])
			k = r->next[k - 1];
		if (buf[i] == (uint8_t)r->mark[k])
			k++;
		if (k == r->mark_len) {
			boot_report__event(r, BOOT_MARK);
			break;
		}
	}
	r->matched = k;
}

/* "khyp: boot: WHAT after S.sss s", or @missing if it never happened. */
static void boot_report__line(const struct boot_report *r, FILE *f,
			      enum boot_event e, const char *what,
			      const char *missing)
{
	int64_t ns = r->ns[e];

	if (ns < 0)
		fprintf(f, "khyp: boot: %s\n", missing);
	else
		fprintf(f, "khyp: boot: %s after %.3f s\n", what, ns / 1e9);
}

void boot_report__print(struct boot_report *r, FILE *f, int status)
{
	char what[BOOT_MARK_MAX + 3], missing[BOOT_MARK_MAX + 16];

	if (!r->on)
		return;
	boot_report__event(r, BOOT_ENDED);
	boot_report__line(r, f, BOOT_VM_READY, "vm ready", "vm not ready");
	boot_report__line(r, f, BOOT_FIRST_ENTRY, "first guest entry",
			  "no guest entry");
	boot_report__line(r, f, BOOT_FIRST_OUTPUT, "first serial output",
			  "no serial output");
	if (r->mark_len) {
		snprintf(what, sizeof(what), "'%.*s'", (int)r->mark_len,
			 r->mark);
		snprintf(missing, sizeof(missing), "%s not seen", what);
		boot_report__line(r, f, BOOT_MARK, what, missing);
	}
	fprintf(f, "khyp: boot: guest ended after %.3f s (status %d)\n",
		r->ns[BOOT_ENDED] / 1e9, status);
}
