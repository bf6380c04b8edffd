// SPDX-License-Identifier: GPL-2.0
/*
 * Exit statistics in debugfs and the khyp_entry/khyp_exit tracepoints:
 * run a guest that makes a known number of exits of known kinds, then
 * read them back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define DEBUGFS		"/sys/kernel/debug"
#define TRACEFS		"/sys/kernel/tracing"
#define NR_OUTS		37
#define NR_CPUIDS	5

static void guest_counted_exits(void)
{
	uint32_t r[4];
	int i;

	for (i = 0; i < NR_OUTS; i++)
		kh_guest_out8(0x70, i);
	for (i = 0; i < NR_CPUIDS; i++)
		kh_guest_cpuid(0, 0, r);
	GUEST_DONE();
}

/* Mount a pseudo filesystem at @dir unless something is there already. */
static bool ensure_mounted(const char *type, const char *dir,
			   const char *probe)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, probe);
	if (!access(path, F_OK))
		return true;
	mkdir(dir, 0755);
	mount(type, dir, type, 0, NULL);
	return !access(path, F_OK);
}

/* debugfs is mounted at DEBUGFS (mount it if not): by its magic number. */
static bool debugfs_mounted(void)
{
	struct statfs st;

	if (!statfs(DEBUGFS, &st) && st.f_type == DEBUGFS_MAGIC)
		return true;
	mkdir(DEBUGFS, 0755);
	mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	return !statfs(DEBUGFS, &st) && st.f_type == DEBUGFS_MAGIC;
}


TEST(debugfs_exit_counts)
{
	char vm_path[128], vcpu_path[128];
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int i, id;

	NEED_DEV();
	/* debugfs itself may be missing; khyp's directory in it may not. */
	if (!debugfs_mounted())
		SKIP(return, "no debugfs");
	ASSERT_EQ(0, access(DEBUGFS "/khyp", F_OK))
		TH_LOG("debugfs is mounted but has no khyp directory");
	vm = kh_vm_create(0);
	id = khyp_newest_vm();
	ASSERT_LT(0, id);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_counted_exits);
	for (i = 0; i < NR_OUTS; i++)
		ASSERT_IO(vcpu, 0x70, 1, KHYP_IO_OUT);
	ASSERT_DONE(vcpu);

	snprintf(vm_path, sizeof(vm_path), DEBUGFS "/khyp/vm%d/exits", id);
	snprintf(vcpu_path, sizeof(vcpu_path),
		 DEBUGFS "/khyp/vm%d/vcpu0/exits", id);
	/* the ucall of GUEST_DONE is one more port exit */
	EXPECT_EQ(NR_OUTS + 1, khyp_file_count(vcpu_path, "io"));
	EXPECT_EQ(NR_CPUIDS, khyp_file_count(vcpu_path, "cpuid"));
	EXPECT_LT(0, khyp_file_count(vcpu_path, "npf"));
	EXPECT_EQ(0, khyp_file_count(vcpu_path, "unknown"));

	/* The VM keeps the counts of a closed vCPU. */
	kh_vcpu_close(vcpu);
	EXPECT_EQ(-1, access(vcpu_path, F_OK));
	EXPECT_EQ(NR_OUTS + 1, khyp_file_count(vm_path, "io"));
	EXPECT_EQ(NR_CPUIDS, khyp_file_count(vm_path, "cpuid"));

	kh_vm_free(vm);
	EXPECT_EQ(-1, access(vm_path, F_OK));
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd >= 0) {
		if (write(fd, s, strlen(s)) < 0)
			perror(path);
		close(fd);
	}
}

TEST(tracepoints)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int i, entries = 0, io_exits = 0;
	char line[512];
	FILE *f;

	NEED_DEV();
	if (!ensure_mounted("tracefs", TRACEFS, "events"))
		SKIP(return, "no tracefs");
	ASSERT_EQ(0, access(TRACEFS "/events/khyp/khyp_exit/enable", W_OK));

	write_file(TRACEFS "/tracing_on", "0");
	write_file(TRACEFS "/trace", "");
	write_file(TRACEFS "/events/khyp/enable", "1");
	write_file(TRACEFS "/tracing_on", "1");

	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_counted_exits);
	for (i = 0; i < NR_OUTS; i++)
		ASSERT_IO(vcpu, 0x70, 1, KHYP_IO_OUT);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);

	write_file(TRACEFS "/tracing_on", "0");
	write_file(TRACEFS "/events/khyp/enable", "0");
	f = fopen(TRACEFS "/trace", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "khyp_entry:"))
			entries++;
		/* kind 1 is KHYP_X_IO (core/khyp.h) */
		if (strstr(line, "khyp_exit:") && strstr(line, " kind 1 "))
			io_exits++;
	}
	fclose(f);
	EXPECT_EQ(NR_OUTS + 1, io_exits);
	EXPECT_LE(NR_OUTS + 1 + NR_CPUIDS, entries);
}

TEST_HARNESS_MAIN
