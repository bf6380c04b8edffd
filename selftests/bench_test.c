// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark cannot rot: one short iteration of each workload of
 * bench/khyp-bench (docs/performance.md), through khyp and through KVM,
 * with khyp-bench's own checks (the guest did its iterations and saw the
 * right values, the touched memory reads back, the times are positive).
 * Times are logged, never judged.
 *
 * khyp and KVM are never loaded together: the KVM run unloads khyp,
 * loads kvm_amd or kvm_intel, and puts khyp back afterwards.
 *
 * khyp-bench is $KHYP_BENCH, else next to this binary (the initramfs),
 * else ../bench/khyp-bench from it (the source tree).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"

#define BENCH_TIMEOUT	120

/* Every result line khyp-bench --short prints, per hypervisor. */
static const char * const common_results[] = {
	"cpuid", "hypercall", "pio_in", "mmio_read", "irq_inject",
	"mem_first_touch", "mem_steady", "vm_create_destroy", "vcpu_create",
};

static const char *bench_path(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX], *dir;
	const char *env = getenv("KHYP_BENCH");
	ssize_t n;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return "khyp-bench";
	self[n] = 0;
	dir = dirname(self);
	snprintf(path, sizeof(path), "%s/khyp-bench", dir);
	if (access(path, X_OK))
		snprintf(path, sizeof(path), "%s/../bench/khyp-bench", dir);
	return path;
}

/*
 * Run khyp-bench --short for @hv; log its output, check that it passed
 * and that each expected result is a positive number (or "n/a" where
 * allowed).
 */
static void run_bench(struct __test_metadata *_metadata, const char *hv,
		      bool khyp)
{
	char cmd[PATH_MAX + 64], line[512], hv_[16], name[64], median[32];
	bool seen[16] = { false };
	size_t i, n = sizeof(common_results) / sizeof(common_results[0]);
	bool seen_balloon = false;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s --hv %s --short 2>&1", bench_path(), hv);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p) TH_LOG("popen %s: %s", cmd, strerror(errno));
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = 0;
		TH_LOG("%s", line);
		if (sscanf(line, "result %15s %63s %31s", hv_, name, median) != 3)
			continue;
		EXPECT_STREQ(hv, hv_);
		if (!strcmp(name, "balloon_reclaim")) {
			seen_balloon = true;
			EXPECT_LT(0, atof(median)) TH_LOG("%s", line);
			continue;
		}
		if (!strcmp(name, "shrinker_scan")) {
			/* n/a until khyp's debugfs has the file */
			EXPECT_TRUE(!strcmp(median, "n/a") || atof(median) > 0)
				TH_LOG("%s", line);
			continue;
		}
		for (i = 0; i < n; i++)
			if (!strcmp(name, common_results[i]))
				break;
		EXPECT_LT(i, n) TH_LOG("unknown result %s", name);
		if (i == n)
			continue;
		seen[i] = true;
		EXPECT_LT(0, atof(median)) TH_LOG("%s", line);
	}
	st = pclose(p);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("%s exited with status 0x%x", cmd, st);
	for (i = 0; i < n; i++) {
		const char *want = common_results[i];

		EXPECT_TRUE(seen[i]) TH_LOG("no result for %s", want ? want : "");
	}
	EXPECT_EQ(khyp, seen_balloon);
}

/* KVM's vendor module for this CPU. */
static const char *kvm_vendor(void)
{
	return cpuinfo_has("vmx") ? "kvm_intel" : "kvm_amd";
}

FIXTURE(bench) {
	char cmd[128];
};

/*
 * The 6.1 harness runs the test body even when the setup skipped, so the
 * bodies check the CPU themselves.
 */
FIXTURE_SETUP(bench)
{
}

FIXTURE_TEARDOWN(bench)
{
	if (!cpu_usable_for_khyp())
		return;
	snprintf(self->cmd, sizeof(self->cmd), "modprobe -r %s kvm",
		 kvm_vendor());
	run_quiet(self->cmd);
	khyp_module_ensure(true);
}

TEST_F_TIMEOUT(bench, khyp_short, BENCH_TIMEOUT)
{
	if (!cpu_usable_for_khyp())
		SKIP(return, "CPU lacks VMX+EPT and SVM+NPT");
	ASSERT_EQ(0, khyp_module_ensure(true));
	run_bench(_metadata, "khyp", true);
}

TEST_F_TIMEOUT(bench, kvm_short, BENCH_TIMEOUT)
{
	if (!cpu_usable_for_khyp())
		SKIP(return, "CPU lacks VMX+EPT and SVM+NPT");
	ASSERT_EQ(0, khyp_module_ensure(false));
	snprintf(self->cmd, sizeof(self->cmd), "modprobe %s", kvm_vendor());
	ASSERT_EQ(0, run_quiet(self->cmd)) TH_LOG("%s failed", self->cmd);
	run_bench(_metadata, "kvm", false);
}

TEST_HARNESS_MAIN
