// SPDX-License-Identifier: GPL-2.0
/*
 * khyp-blkbench: the guest side of the virtio-blk benchmark (issue 14;
 * docs/performance.md, "Linux virtio-blk").  It runs inside a Linux
 * guest, under `khyp run` or under QEMU, from the busybox initramfs of
 * scripts/mkinitramfs-linux.sh (/init's khyp.blkbench=1), on the whole
 * of one disk, and times each measurement with the guest's own
 * CLOCK_MONOTONIC:
 *
 *   seq_write   the disk from sector 0 to its end in BS-byte writes
 *               (O_DIRECT), PASSES times, then fsync (a virtio-blk
 *               FLUSH); the fsync is inside the time
 *   seq_read    the disk from sector 0 to its end in BS-byte reads
 *               (O_DIRECT), PASSES times
 *   rand_read   N reads of 4 KiB (O_DIRECT) at 4 KiB-aligned offsets
 *               drawn from a fixed-seed generator, one at a time (queue
 *               depth 1: each read is issued when the last one is done)
 *
 * The write comes first, so that every block read was written by the
 * guest (both hypervisors then read the same data).  O_DIRECT keeps the
 * guest's page cache out: every read and write is a virtio-blk request.
 * Output, one line per measurement as soon as it is done, for /init to
 * pass on as markers (a guest that dies in the middle still tells what
 * it measured before), and after each line a pause of -w SECONDS, so
 * that the console has printed it before the next measurement starts
 * (the guest has one CPU: the reader would otherwise run in the middle
 * of the next measurement, the console's cost in its time):
 *
 *   disk DEV bytes B
 *   seq_write bytes B bs BS s S mibps X fsync_s F
 *   seq_read bytes B bs BS s S mibps X
 *   rand_read ios N bs 4096 qd 1 seed SEED s S iops X
 *   check ok|bad
 *   total s S        (from the first measurement's start, pauses included)
 *
 * The check: the first and last block read back hold the pattern
 * seq_write wrote, and each random read's first word names its block
 * and place (exit status 1 if not).
 *
 * Usage: khyp-blkbench DEV [-b BS] [-p PASSES] [-n N] [-s SEED] [-w SECONDS]
 * Static (cc -static -O2): the initramfs has no C library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include "linux_bench.h"

#define RAND_BS		4096
#define ALIGN		4096

/*
 * The pattern of block i: word k of the block is k, but for the first
 * word of each 4 KiB, which is i << 32 | k.  From one block's pattern to
 * the next, only those words change: the timed write loop stores
 * bs / 4096 words per block, not the whole block.
 */
static void fill(uint64_t *buf, size_t bs, uint64_t i, int all)
{
	size_t k;

	for (k = 0; k < bs / 8; k += all ? 1 : ALIGN / 8)
		buf[k] = (k % (ALIGN / 8) ? 0 : i << 32) | k;
}

static int check(const uint64_t *buf, size_t bs, uint64_t i)
{
	size_t k;

	for (k = 0; k < bs / 8; k++)
		if (buf[k] != ((k % (ALIGN / 8) ? 0 : i << 32) | k))
			return -1;
	return 0;
}

/* All of len bytes at off, or die. */
static void xfer(int fd, void *buf, size_t len, off_t off, int wr)
{
	ssize_t r = wr ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);

	if (r < 0)
		die(wr ? "pwrite" : "pread");
	if ((size_t)r != len) {
		errno = EIO;
		die(wr ? "short pwrite" : "short pread");
	}
}

/* xorshift64*: the same offsets on every run with the same seed. */
static uint64_t next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: khyp-blkbench DEV [-b BS] [-p PASSES] [-n N] "
		"[-s SEED] [-w SECONDS]\n");
	exit(2);
}

/* A line is out: give its reader the CPU for the pause. */
/* A number for an option, all of s, from 1 to max: else the usage. */
static unsigned long long arg(const char *s, unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || !v || v > max || *s == '-')
		usage();
	return v;
}

static void done(unsigned int pause)
{
	fflush(stdout);
	if (pause)
		sleep(pause);
}

int main(int argc, char **argv)
{
	uint64_t size, blocks, i, x, off, seed = 14;
	unsigned long passes = 1, n = 4096, p;
	unsigned int pause = 0;
	size_t bs = 1 << 20;
	double start, t0, t1, t2;
	struct stat st;
	void *buf;
	int fd, c, bad = 0;

	while ((c = getopt(argc, argv, "b:p:n:s:w:")) != -1) {
		switch (c) {
		case 'b':
			bs = arg(optarg, 64 << 20);
			break;
		case 'p':
			passes = arg(optarg, 1000);
			break;
		case 'n':
			n = arg(optarg, 10000000);
			break;
		case 's':
			seed = arg(optarg, ~0ULL);
			break;
		case 'w':
			pause = strcmp(optarg, "0") ? arg(optarg, 60) : 0;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || bs % ALIGN)
		usage();

	fd = open(argv[optind], O_RDWR | O_DIRECT);
	if (fd < 0)
		die(argv[optind]);
	/* a regular file too, for a try on the host */
	if (fstat(fd, &st))
		die("fstat");
	if (!S_ISBLK(st.st_mode))
		size = (uint64_t)st.st_size;
	else if (ioctl(fd, BLKGETSIZE64, &size))
		die("BLKGETSIZE64");
	blocks = size / bs;
	if (!blocks || size < RAND_BS) {
		errno = EINVAL;
		die("the disk is smaller than one block");
	}
	errno = posix_memalign(&buf, ALIGN, bs);
	if (errno)
		die("posix_memalign");
	printf("disk %s bytes %" PRIu64 "\n", argv[optind], size);
	done(pause);

	fill(buf, bs, 0, 1);
	start = now();
	t0 = start;
	for (p = 0; p < passes; p++)
		for (i = 0; i < blocks; i++) {
			fill(buf, bs, i, 0);
			xfer(fd, buf, bs, (off_t)(i * bs), 1);
		}
	t1 = now();
	if (fsync(fd))
		die("fsync");
	t2 = now();
	printf("seq_write bytes %" PRIu64 " bs %zu s %.6f mibps %.2f fsync_s %.6f\n",
	       passes * blocks * bs, bs, t2 - t0,
	       (double)(passes * blocks * bs) / (1 << 20) / (t2 - t0), t2 - t1);
	done(pause);

	t0 = now();
	for (p = 0; p < passes; p++)
		for (i = 0; i < blocks; i++)
			xfer(fd, buf, bs, (off_t)(i * bs), 0);
	t1 = now();
	printf("seq_read bytes %" PRIu64 " bs %zu s %.6f mibps %.2f\n",
	       passes * blocks * bs, bs, t1 - t0,
	       (double)(passes * blocks * bs) / (1 << 20) / (t1 - t0));
	done(pause);
	/* the buffer holds the last block now */
	bad |= check(buf, bs, blocks - 1);
	xfer(fd, buf, bs, 0, 0);
	bad |= check(buf, bs, 0);

	/* each 4 KiB read's first word: its block and its word's index */
	x = seed;
	t0 = now();
	for (p = 0; p < n; p++) {
		off = next(&x) % (blocks * bs / RAND_BS) * RAND_BS;
		xfer(fd, buf, RAND_BS, (off_t)off, 0);
		if (*(uint64_t *)buf != ((off / bs) << 32 | (off % bs) / 8))
			bad = 1;
	}
	t1 = now();
	printf("rand_read ios %lu bs %d qd 1 seed %" PRIu64 " s %.6f iops %.1f\n",
	       n, RAND_BS, seed, t1 - t0, (double)n / (t1 - t0));
	done(pause);
	printf("check %s\n", bad ? "bad" : "ok");
	printf("total s %.6f\n", now() - start);
	return bad ? 1 : 0;
}
