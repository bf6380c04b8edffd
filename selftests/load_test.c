// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and unloading khyp.ko: it loads exactly when the CPU has what it
 * needs (else -ENODEV and a log line naming what is missing), survives
 * many load/unload cycles, and refuses with -EBUSY while KVM is loaded,
 * leaving KVM working.  Every test leaves khyp loaded as it found it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"


/* Loading khyp.ko in an emulator takes seconds: allow minutes. */
#define LOAD_TIMEOUT	600

FIXTURE(load) {
	int unused;
};

FIXTURE_SETUP(load)
{
}

FIXTURE_TEARDOWN(load)
{
}

TEST_F_TIMEOUT(load, matches_cpu, LOAD_TIMEOUT)
{
	char line[512] = "";
	const char *missing;
	int kmsg, r;

	ASSERT_EQ(0, access(khyp_module_path(), R_OK))
		TH_LOG("%s: %s", khyp_module_path(), strerror(errno));
	ASSERT_EQ(0, khyp_module_ensure(false));

	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	r = khyp_module_load();
	if (cpu_usable_for_khyp()) {
		ASSERT_EQ(0, r) TH_LOG("load: %s", strerror(-r));
		EXPECT_EQ(0, access(KHYP_DEV, F_OK));
		EXPECT_TRUE(kmsg_find(kmsg, "backend ready", line, sizeof(line)));
		close(kmsg);
		return;
	}

	/* No usable hardware: ENODEV, and one line that says what lacks. */
	EXPECT_EQ(-ENODEV, r);
	if (cpuinfo_has("svm"))
		missing = "SVM but no NPT";
	else if (cpuinfo_has("vmx"))
		missing = "VMX but no EPT";
	else
		missing = "neither VMX (Intel VT-x) nor SVM (AMD-V)";
	EXPECT_TRUE(kmsg_find(kmsg, missing, line, sizeof(line)))
		TH_LOG("no kernel log line with '%s'", missing);
	TH_LOG("kernel said: %s", line);
	close(kmsg);
	EXPECT_NE(0, access(KHYP_DEV, F_OK));
}

TEST_F_TIMEOUT(load, unload_20_times, LOAD_TIMEOUT)
{
	int i, fd, r;

	if (!cpu_usable_for_khyp())
		SKIP(return, "CPU lacks VMX+EPT and SVM+NPT");
	ASSERT_EQ(0, khyp_module_ensure(false));
	for (i = 0; i < 20; i++) {
		r = khyp_module_load();
		ASSERT_EQ(0, r) TH_LOG("load %d: %s", i, strerror(-r));
		fd = open(KHYP_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd) TH_LOG("open %d: %s", i, strerror(errno));
		EXPECT_EQ(KHYP_API_VERSION, ioctl(fd, KHYP_GET_API_VERSION, 0));
		close(fd);
		r = khyp_module_unload();
		ASSERT_EQ(0, r) TH_LOG("unload %d: %s", i, strerror(-r));
		ASSERT_FALSE(khyp_module_loaded());
	}
	ASSERT_EQ(0, khyp_module_load());
}

TEST_F_TIMEOUT(load, unload_refused_while_open, LOAD_TIMEOUT)
{
	int fd;

	if (!cpu_usable_for_khyp())
		SKIP(return, "CPU lacks VMX+EPT and SVM+NPT");
	ASSERT_EQ(0, khyp_module_ensure(true));
	fd = open(KHYP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, syscall(SYS_delete_module, "khyp", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	EXPECT_TRUE(khyp_module_loaded());
	close(fd);
}

FIXTURE(kvm) {
	int unused;
};

/*
 * The 6.1 harness runs the test body even when the setup skipped, so the
 * body checks the CPU itself and the setup only prepares.
 */
FIXTURE_SETUP(kvm)
{
}

FIXTURE_TEARDOWN(kvm)
{
	kvm_out_khyp_in();
}

TEST_F_TIMEOUT(kvm, load_refused_while_kvm_loaded, LOAD_TIMEOUT)
{
	char line[512] = "", err[256] = "";
	int kmsg, r;

	if (!cpu_usable_for_khyp())
		SKIP(return, "CPU lacks VMX+EPT and SVM+NPT");
	ASSERT_EQ(0, khyp_module_ensure(false));
	ASSERT_EQ(0, kvm_modules(true))
		TH_LOG("modprobe %s failed", kvm_vendor());

	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	r = khyp_module_load();
	ASSERT_EQ(-EBUSY, r) TH_LOG("load with KVM: %s", strerror(-r));
	EXPECT_TRUE(kmsg_find(kmsg, "KVM is loaded", line, sizeof(line)));
	TH_LOG("kernel said: %s", line);
	close(kmsg);
	EXPECT_FALSE(khyp_module_loaded());

	/* KVM is untouched: it still runs a guest. */
	EXPECT_EQ(0, kvm_smoke_test(err, sizeof(err))) TH_LOG("%s", err);

	/* And once KVM is gone, khyp loads again. */
	ASSERT_EQ(0, kvm_modules(false));
	r = khyp_module_load();
	ASSERT_EQ(0, r) TH_LOG("load after KVM left: %s", strerror(-r));
}

TEST_HARNESS_MAIN
