/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the static programs of the Linux guest benchmarks share
 * (blkbench.c in the guest, balbench.c in the machine that runs the
 * hypervisors): the clock they time with, and how they give up.
 */
#ifndef KHYP_LINUX_BENCH_H
#define KHYP_LINUX_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CLOCK_MONOTONIC in seconds: the instruction clock under -icount. */
static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "PROGRAM: WHAT: errno's text", exit 1 (needs _GNU_SOURCE). */
static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
		strerror(errno));
	exit(1);
}

#endif
