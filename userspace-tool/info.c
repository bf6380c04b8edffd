// SPDX-License-Identifier: GPL-2.0
/*
 * `khyp info`: what /dev/khyp offers (KHYP_GET_API_VERSION,
 * KHYP_GET_CAPS).  `khyp stats`: the counts khyp keeps in debugfs for
 * every VM that exists now (/sys/kernel/debug/khyp/vm<N>/exits and, if
 * its guest speaks the balloon protocol, vm<N>/balloon), then the
 * shrinker's (khyp/shrinker).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "khyp.h"

#define DEBUGFS_DIR	"/sys/kernel/debug"
#define DEBUGFS_MAGIC	0x64626720
#define STATS_DIR	DEBUGFS_DIR "/khyp"

static const char * const cap_names[] = {
	"ept", "npt", "vpid", "unrestricted_guest", "nrip_save",
	"decode_assists", "2m_pages", "1g_pages", "preemption_timer",
	"flush_by_asid", "vmcb_clean", "ept_ad", "irqchip", "balloon_pages",
	"pause_exit", "balloon_pressure_max",
};

static const char *backend_name(uint32_t backend)
{
	switch (backend) {
	case KHYP_BACKEND_VMX:
		return "vmx (Intel VT-x with EPT)";
	case KHYP_BACKEND_SVM:
		return "svm (AMD-V with NPT)";
	}
	return "unknown";
}

int cmd_info(void)
{
	struct khyp_caps caps = { 0 };
	unsigned int i;
	int fd, version;

	fd = open(KHYP_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "khyp: %s: %s%s\n", KHYP_DEV_PATH, strerror(errno),
			errno == ENOENT ? " (is khyp.ko loaded?)" : "");
		return STATUS_HOST_ERROR;
	}
	version = ioctl(fd, KHYP_GET_API_VERSION, 0);
	if (version < 0 || ioctl(fd, KHYP_GET_CAPS, &caps)) {
		perror("khyp: " KHYP_DEV_PATH);
		close(fd);
		return STATUS_HOST_ERROR;
	}
	close(fd);
	printf("api_version: %d (this khyp speaks %d)\n", version,
	       KHYP_API_VERSION);
	printf("backend: %s\n", backend_name(caps.backend));
	printf("features: 0x%llx", (unsigned long long)caps.features);
	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (caps.features & (1ULL << i))
			printf(" %s", cap_names[i]);
	if (caps.features & ~KHYP_CAP_ALL)
		printf(" (unknown bits 0x%llx)",
		       (unsigned long long)(caps.features & ~KHYP_CAP_ALL));
	printf("\nnr_asids: %u\n", caps.nr_asids);
	return 0;
}

/* Why there is nothing to read: a message, and the status. */
static int stats__missing(void)
{
	struct statfs sf;

	if (statfs(DEBUGFS_DIR, &sf) || sf.f_type != DEBUGFS_MAGIC) {
		fprintf(stderr, "khyp: debugfs is not mounted on %s; mount it with\n"
			"  mount -t debugfs none %s\n", DEBUGFS_DIR, DEBUGFS_DIR);
		return STATUS_HOST_ERROR;
	}
	if (access(STATS_DIR, F_OK) && errno == EACCES) {
		fprintf(stderr, "khyp: %s: %s (debugfs is for root)\n", STATS_DIR,
			strerror(errno));
		return STATUS_HOST_ERROR;
	}
	fprintf(stderr, "khyp: no %s: khyp.ko is not loaded\n", STATS_DIR);
	return STATUS_HOST_ERROR;
}

/* "vm3: io 12 npf 4 ..." from the file's "kind count" lines. */
static void stats__print(const char *vm)
{
	char path[300], kind[64];
	unsigned long long n;
	FILE *f;

	snprintf(path, sizeof(path), STATS_DIR "/%s/exits", vm);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "khyp: %s: %s\n", path, strerror(errno));
		return;
	}
	printf("%s:", vm);
	while (fscanf(f, "%63s %llu", kind, &n) == 2)
		printf(" %s %llu", kind, n);
	putchar('\n');
	fclose(f);
}

/*
 * "vm3 balloon: size 1024 target 1024 ..." from the "name value" lines of
 * vm3/balloon, if the guest speaks the hypercall protocol or its pages
 * move through KHYP_BALLOON_PAGES (virtio-balloon: protocol 2).
 */
static void stats__balloon(const char *vm)
{
	char path[300], name[64], line[1024] = "";
	unsigned long long v, probed = 0;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), STATS_DIR "/%s/balloon", vm);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fscanf(f, "%63s %llu", name, &v) == 2) {
		if (!strcmp(name, "probed")) {
			probed |= v;
			continue;
		}
		if (!strcmp(name, "protocol") && v)
			probed = 1;
		if (len < sizeof(line))
			len += snprintf(line + len, sizeof(line) - len,
					" %s %llu", name, v);
	}
	fclose(f);
	if (probed)
		printf("%s balloon:%s\n", vm, line);
}

/* "shrinker: scan_calls 12 ..." (khyp/shrinker). */
static void stats__shrinker(void)
{
	char name[64];
	unsigned long long v;
	FILE *f = fopen(STATS_DIR "/shrinker", "r");

	if (!f)
		return;
	printf("shrinker:");
	while (fscanf(f, "%63s %llu", name, &v) == 2)
		printf(" %s %llu", name, v);
	putchar('\n');
	fclose(f);
}

int cmd_stats(void)
{
	struct dirent **list;
	int i, n, vms = 0;

	n = scandir(STATS_DIR, &list, NULL, versionsort);
	if (n < 0)
		return stats__missing();
	for (i = 0; i < n; i++) {
		if (!strncmp(list[i]->d_name, "vm", 2)) {
			stats__print(list[i]->d_name);
			stats__balloon(list[i]->d_name);
			vms++;
		}
		free(list[i]);
	}
	free(list);
	if (!vms)
		printf("no VMs (the counts go with their VM)\n");
	stats__shrinker();
	return 0;
}
