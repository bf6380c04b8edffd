// SPDX-License-Identifier: GPL-2.0
/*
 * `khyp balloon PID [SIZE]`: the balloon of the VM that process PID holds
 * (a running `khyp run`, or any VMM): with SIZE, set userspace's target
 * (KHYP_SET_BALLOON: SIZE is a multiple of 4 KiB, at most the VM's RAM);
 * then print its figures (KHYP_GET_BALLOON), as `khyp run --balloon`
 * does at its end.
 *
 * The VM fd is PID's own: pidfd_open() and pidfd_getfd() copy it here,
 * which needs the permission of ptrace (root, or the same user where
 * ptrace is allowed).  It is found among PID's fds by its file system
 * (fstatfs() gives KHYP_VM_FS_MAGIC), so that no ioctl goes to a file
 * that is not a VM.  The new target reaches the guest as any
 * KHYP_SET_BALLOON does: the module signals the balloon device's
 * eventfd (virtio-balloon: num_pages and a configuration-change
 * interrupt, from the VMM's I/O thread) or raises the NOTIFY vector of a
 * guest that speaks the hypercall protocol.  The VMM needs no control
 * socket and does nothing but what it does for the host's pressure.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "khyp.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open	434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd	438
#endif

/*
 * A copy of PID's VM fd, or -1 (the reason printed).  A process with
 * fds of two different VMs is refused: which one was meant?
 */
static int balloon__vm_fd(pid_t pid)
{
	char dir[64];
	struct dirent *e;
	struct statfs sfs;
	struct stat st, first;
	int pidfd, fd, vm = -1, err = 0;
	DIR *d;

	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		fprintf(stderr, "khyp: balloon: process %d: %s\n", (int)pid,
			strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "khyp: balloon: %s: %s\n", dir, strerror(errno));
		close(pidfd);
		return -1;
	}
	while ((e = readdir(d))) {
		char *end;
		long n = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name)
			continue;
		fd = syscall(SYS_pidfd_getfd, pidfd, (int)n, 0);
		if (fd < 0) {
			if (errno == EPERM) {
				err = EPERM;
				break;
			}
			continue;	/* closed meanwhile */
		}
		if (fstatfs(fd, &sfs) || sfs.f_type != KHYP_VM_FS_MAGIC ||
		    fstat(fd, &st)) {
			close(fd);
			continue;
		}
		if (vm < 0) {
			vm = fd;
			first = st;
			continue;
		}
		close(fd);
		if (st.st_ino != first.st_ino) {
			fprintf(stderr, "khyp: balloon: process %d holds more than one VM\n",
				(int)pid);
			close(vm);
			vm = -1;
			err = EEXIST;
			break;
		}
	}
	closedir(d);
	close(pidfd);
	if (err == EPERM)
		fprintf(stderr, "khyp: balloon: process %d's fds: %s (the permission of ptrace is needed)\n",
			(int)pid, strerror(EPERM));
	else if (vm < 0 && !err)
		fprintf(stderr, "khyp: balloon: process %d holds no khyp VM\n",
			(int)pid);
	if (err == EPERM && vm >= 0) {
		close(vm);
		vm = -1;
	}
	return vm;
}

int cmd_balloon(int argc, char **argv)
{
	struct khyp_balloon_target t = { 0 };
	struct khyp_balloon_stats st;
	uint64_t bytes, pid;
	int fd, status = 0;

	if (argc < 2 || argc > 3 || parse_u64(argv[1], &pid) || !pid ||
	    pid > INT32_MAX) {
		fputs("usage: khyp balloon PID [SIZE]\n", stderr);
		return STATUS_USAGE;
	}
	if (argc == 3 && (parse_size(argv[2], &bytes) || bytes & 0xfff)) {
		fprintf(stderr, "khyp: balloon: bad size '%s' (a multiple of 4 KiB: 0, 4K, 64M...)\n",
			argv[2]);
		return STATUS_USAGE;
	}
	fd = balloon__vm_fd((pid_t)pid);
	if (fd < 0)
		return STATUS_HOST_ERROR;
	if (argc == 3) {
		t.pages = bytes >> 12;
		if (ioctl(fd, KHYP_SET_BALLOON, &t)) {
			fprintf(stderr, "khyp: balloon: KHYP_SET_BALLOON %llu pages: %s%s\n",
				(unsigned long long)t.pages, strerror(errno),
				errno == EINVAL ? " (more than the VM's RAM?)" : "");
			status = STATUS_HOST_ERROR;
		}
	}
	if (ioctl(fd, KHYP_GET_BALLOON, &st)) {
		fprintf(stderr, "khyp: balloon: KHYP_GET_BALLOON: %s\n",
			strerror(errno));
		status = STATUS_HOST_ERROR;
	} else {
		balloon__print(stdout, "balloon: ", &st);
	}
	close(fd);
	return status;
}
