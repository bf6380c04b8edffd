// SPDX-License-Identifier: GPL-2.0
/*
 * Whole files into memory: the image, multiboot modules (main.c) and the
 * files of fw_cfg (devices/fw_cfg.c).  A size limit keeps a mistaken
 * path (a disk, /dev/zero) from eating the host's memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "khyp.h"

void *file__read(const char *path, uint64_t max, bool allow_empty,
		 size_t *len, char *err, size_t errlen)
{
	struct stat st;
	void *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	errno = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		goto err;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max ||
	    (!st.st_size && !allow_empty)) {
		snprintf(err, errlen, "%s: %s", path, !S_ISREG(st.st_mode) ?
			 "not a regular file" : st.st_size ?
			 "larger than guest RAM" : "empty");
		goto err_close;
	}
	/* one byte more, so that an empty file has a buffer too */
	buf = malloc(st.st_size + 1);
	if (!buf)
		goto err;
	while (got < (size_t)st.st_size) {
		n = read(fd, (char *)buf + got, st.st_size - got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			goto err;
		}
		got += n;
	}
	close(fd);
	*len = got;
	return buf;

err:
	snprintf(err, errlen, "%s: %s", path, errno ? strerror(errno) :
		 "short read");
err_close:
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}
