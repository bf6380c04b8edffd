// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/khyp basics: the device node, the API version, the capability query
 * (checked against the CPU flags the guest kernel sees and against what
 * the test runner says of the machine), and the answers to bad input.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(KHYP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_TRUE(self->fd >= 0 || errno == ENOENT)
		TH_LOG("open " KHYP_DEV ": %s", strerror(errno));
}

/*
 * The 6.1 harness runs the test body even when the setup skipped: each
 * test starts with NEED_DEV instead.
 */
#define NEED_DEV()							\
	do {								\
		if (self->fd < 0)					\
			SKIP(return, KHYP_DEV " is absent (khyp.ko not loaded)"); \
	} while (0)

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(dev, node_is_char_device_0660)
{
	struct stat st;

	NEED_DEV();
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0660, st.st_mode & 0777);
}

TEST_F(dev, api_version)
{
	NEED_DEV();
	EXPECT_EQ(KHYP_API_VERSION, ioctl(self->fd, KHYP_GET_API_VERSION, 0));
}

TEST_F(dev, api_version_nonzero_arg)
{
	NEED_DEV();
	EXPECT_EQ(-1, ioctl(self->fd, KHYP_GET_API_VERSION, 1));
	EXPECT_EQ(EINVAL, errno);
}

/* A capability bit and the /proc/cpuinfo flag that must agree with it. */
struct cap_flag {
	__u64 cap;
	const char *flag;
};

static const struct cap_flag svm_flags[] = {
	{ KHYP_CAP_NPT, "npt" },
	{ KHYP_CAP_NRIP_SAVE, "nrip_save" },
	{ KHYP_CAP_DECODE_ASSISTS, "decodeassists" },
	{ KHYP_CAP_FLUSH_BY_ASID, "flushbyasid" },
	{ KHYP_CAP_VMCB_CLEAN, "vmcb_clean" },
	{ KHYP_CAP_1G_PAGES, "pdpe1gb" },
	{ KHYP_CAP_PAUSE_EXIT, "pausefilter" },	/* pause_exit=Y */
};

static const struct cap_flag vmx_flags[] = {
	{ KHYP_CAP_EPT, "ept" },
	{ KHYP_CAP_VPID, "vpid" },
	{ KHYP_CAP_UNRESTRICTED_GUEST, "unrestricted_guest" },
	{ KHYP_CAP_EPT_AD, "ept_ad" },
	{ KHYP_CAP_1G_PAGES, "ept_1gb" },
	{ KHYP_CAP_PREEMPTION_TIMER, "preemption_timer" },
	{ KHYP_CAP_PAUSE_EXIT, "ple" },		/* pause_exit=Y */
};

static const struct {
	const char *name;
	__u64 cap;
} cap_names[] = {
	{ "ept", KHYP_CAP_EPT }, { "npt", KHYP_CAP_NPT },
	{ "vpid", KHYP_CAP_VPID },
	{ "unrestricted_guest", KHYP_CAP_UNRESTRICTED_GUEST },
	{ "nrip_save", KHYP_CAP_NRIP_SAVE },
	{ "decode_assists", KHYP_CAP_DECODE_ASSISTS },
	{ "2m", KHYP_CAP_2M_PAGES }, { "1g", KHYP_CAP_1G_PAGES },
	{ "preemption_timer", KHYP_CAP_PREEMPTION_TIMER },
	{ "flush_by_asid", KHYP_CAP_FLUSH_BY_ASID },
	{ "vmcb_clean", KHYP_CAP_VMCB_CLEAN }, { "ept_ad", KHYP_CAP_EPT_AD },
	{ "pause_exit", KHYP_CAP_PAUSE_EXIT },
};

TEST_F(dev, caps_match_cpu)
{
	struct khyp_caps caps;
	const struct cap_flag *table;
	size_t i, n;

	NEED_DEV();
	memset(&caps, 0, sizeof(caps));
	ASSERT_EQ(0, ioctl(self->fd, KHYP_GET_CAPS, &caps));
	EXPECT_EQ(0, caps.flags);
	EXPECT_EQ(0, caps.reserved0);
	for (i = 0; i < 5; i++)
		EXPECT_EQ(0, caps.reserved[i]);
	EXPECT_EQ(0, caps.features & ~KHYP_CAP_ALL);

	if (cpuinfo_has("vmx")) {
		ASSERT_EQ(KHYP_BACKEND_VMX, caps.backend);
		table = vmx_flags;
		n = sizeof(vmx_flags) / sizeof(vmx_flags[0]);
		EXPECT_EQ(0, caps.features & (KHYP_CAP_NPT | KHYP_CAP_NRIP_SAVE));
	} else {
		ASSERT_TRUE(cpuinfo_has("svm"));
		ASSERT_EQ(KHYP_BACKEND_SVM, caps.backend);
		table = svm_flags;
		n = sizeof(svm_flags) / sizeof(svm_flags[0]);
		EXPECT_EQ(0, caps.features & (KHYP_CAP_EPT | KHYP_CAP_VPID));
		EXPECT_TRUE(caps.features & KHYP_CAP_2M_PAGES);
		EXPECT_LE(2, caps.nr_asids);
	}
	for (i = 0; i < n; i++) {
		const char *flag = table[i].flag;
		int have = !!(caps.features & table[i].cap);

		EXPECT_EQ(cpuinfo_has(flag), have)
			TH_LOG("capability vs /proc/cpuinfo flag '%s'", flag);
	}
}

/* KHYP_EXPECT from the runner: "backend=svm nrip_save=0 ..." */
TEST_F(dev, caps_match_machine)
{
	struct khyp_caps caps;
	char val[32];
	size_t i;
	int checked = 0;

	NEED_DEV();
	if (!getenv("KHYP_EXPECT"))
		SKIP(return, "KHYP_EXPECT not set: not run by scripts/test.sh");
	memset(&caps, 0, sizeof(caps));
	ASSERT_EQ(0, ioctl(self->fd, KHYP_GET_CAPS, &caps));
	if (machine_expect("backend", val, sizeof(val))) {
		EXPECT_EQ(!strcmp(val, "vmx") ? KHYP_BACKEND_VMX :
			  KHYP_BACKEND_SVM, caps.backend);
		checked++;
	}
	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
		if (!machine_expect(cap_names[i].name, val, sizeof(val)))
			continue;
		const char *name = cap_names[i].name;
		int have = !!(caps.features & cap_names[i].cap);

		EXPECT_EQ(atoi(val), have) TH_LOG("capability %s", name);
		checked++;
	}
	EXPECT_LT(0, checked);
}

TEST_F(dev, caps_nonzero_flags_or_reserved)
{
	struct khyp_caps caps;
	size_t i;

	NEED_DEV();
	memset(&caps, 0, sizeof(caps));
	caps.flags = 1;
	caps.backend = 0xdead;
	EXPECT_EQ(-1, ioctl(self->fd, KHYP_GET_CAPS, &caps));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0xdeadU, caps.backend);	/* nothing written back */

	memset(&caps, 0, sizeof(caps));
	caps.reserved0 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, KHYP_GET_CAPS, &caps));
	EXPECT_EQ(EINVAL, errno);

	for (i = 0; i < 5; i++) {
		memset(&caps, 0, sizeof(caps));
		caps.reserved[i] = 1ULL << 63;
		EXPECT_EQ(-1, ioctl(self->fd, KHYP_GET_CAPS, &caps));
		EXPECT_EQ(EINVAL, errno);
	}
}

TEST_F(dev, caps_bad_pointer)
{
	NEED_DEV();
	EXPECT_EQ(-1, ioctl(self->fd, KHYP_GET_CAPS, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, KHYP_GET_CAPS, (void *)16));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(dev, unknown_ioctl)
{
	char buf[64] = { 0 };
	const unsigned long cmds[] = {
		_IO(KHYPIO, 0x7f),
		_IOWR(KHYPIO, 0x01, char[16]),	/* GET_CAPS, wrong size */
		_IOR(KHYPIO, 0x01, struct khyp_caps),	/* wrong direction */
		_IO(0xAE, 0x00),		/* KVM_GET_API_VERSION */
		0,
	};
	size_t i;

	NEED_DEV();

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], buf))
			TH_LOG("ioctl %#lx", cmds[i]);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("ioctl %#lx", cmds[i]);
	}
}

TEST_HARNESS_MAIN
