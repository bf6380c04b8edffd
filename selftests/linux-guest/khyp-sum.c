// SPDX-License-Identifier: GPL-2.0
/*
 * khyp-sum FILE: a 64-bit checksum of FILE and its length, "%016llx LEN",
 * for the Linux guest's /init (scripts/linux-guest-init), which checks
 * that data it keeps in memory survives the balloon and the host's
 * pressure: the same file must give the same line before and after.
 *
 * Not a CRC and not for the host to recompute: it is chosen for few
 * instructions a byte, since the emulators' clocks count instructions.
 * busybox's crc32 takes ~9 a byte (110-120 s of Bochs' clock for 96 MiB);
 * this takes under one.  Four lanes each take every fourth 64-bit word:
 *
 *	lane = rotl(lane ^ word, 29) * K	(K odd)
 *
 * For a fixed word that step is a bijection of the lane, so changing any
 * one word changes the result, and the order of the words counts (two
 * swapped pages change it).  The lanes, the tail's bytes and the length
 * are mixed at the end.
 *
 * Static (scripts/mkinitramfs-linux.sh puts it in the guest's /bin).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define K	0x9e3779b97f4a7c15ull
#define CHUNK	(1 << 20)	/* a multiple of 32 */

static uint64_t rotl(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static uint64_t lane[4] = {
	0x243f6a8885a308d3ull, 0x13198a2e03707344ull,
	0xa4093822299f31d0ull, 0x082efa98ec4e6c89ull,
};

static void blocks(const unsigned char *p, size_t n)
{
	uint64_t w[4];

	for (; n >= 32; p += 32, n -= 32) {
		memcpy(w, p, 32);
		lane[0] = rotl(lane[0] ^ w[0], 29) * K;
		lane[1] = rotl(lane[1] ^ w[1], 29) * K;
		lane[2] = rotl(lane[2] ^ w[2], 29) * K;
		lane[3] = rotl(lane[3] ^ w[3], 29) * K;
	}
}

int main(int argc, char **argv)
{
	static unsigned char buf[CHUNK];
	unsigned long long len = 0;
	size_t have = 0, i;
	uint64_t h;
	ssize_t r;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: khyp-sum FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "khyp-sum: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (;;) {
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "khyp-sum: %s: %s\n", argv[1],
				strerror(errno));
			return 1;
		}
		if (r == 0)
			break;
		len += r;
		have += r;
		if (have == sizeof(buf)) {
			blocks(buf, have);
			have = 0;
		}
	}
	close(fd);
	/* whole blocks, then the tail a byte at a time */
	blocks(buf, have & ~(size_t)31);
	h = len * K;
	for (i = have & ~(size_t)31; i < have; i++)
		h = rotl(h ^ buf[i], 29) * K;
	for (i = 0; i < 4; i++)
		h = rotl(h ^ lane[i], 29) * K;
	h ^= h >> 32;
	printf("%016llx %llu\n", (unsigned long long)h, len);
	return 0;
}
