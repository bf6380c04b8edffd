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

/* Every result khyp-bench --short prints, and for which hypervisor. */
enum { BOTH, KVM_ONLY, KHYP_ONLY };
static const struct {
	const char *name;
	int who;
	bool may_be_na;		/* "n/a" allowed */
} results[] = {
	{ "cpuid", BOTH, false },
	{ "hypercall", BOTH, false },
	{ "pio_in", BOTH, false },
	{ "mmio_read", BOTH, false },
	{ "irq_inject", BOTH, false },
	{ "mem_first_touch", BOTH, false },
	{ "mem_steady", BOTH, false },
	{ "mem_first_touch_idle", BOTH, false },
	{ "mem_first_touch_4k", KVM_ONLY, false },
	{ "mem_steady_4k", KVM_ONLY, false },
	{ "vm_create_destroy", BOTH, false },
	{ "vcpu_create", BOTH, false },
	{ "balloon_reclaim", KHYP_ONLY, false },
	/*
	 * n/a when drop_caches did not call scan_objects: the shrinker's
	 * count found nothing the VM could still give (svm-bochs, short).
	 */
	{ "shrinker_scan", KHYP_ONLY, true },
	/* the local APIC, with both in-kernel irqchips */
	{ "apic_self_ipi", BOTH, false },
	{ "apic_timer", BOTH, false },
	{ "apic_eoi", BOTH, false },
	{ "apic_ipi_2vcpu", BOTH, false },
	/* two vCPUs touching halves of a fresh region at once */
	{ "mem_first_touch_2vcpu", BOTH, false },
	{ "mem_2vcpu_vs_1", BOTH, false },
};

#define NR_RESULTS	(sizeof(results) / sizeof(results[0]))

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
 * and that it gave each expected result as a positive number.
 */
static void run_bench(struct __test_metadata *_metadata, const char *hv,
		      bool khyp)
{
	char cmd[PATH_MAX + 64], line[512], hv_[16], name[64], median[32];
	bool seen[NR_RESULTS] = { false };
	size_t i;
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
		for (i = 0; i < NR_RESULTS; i++)
			if (!strcmp(name, results[i].name))
				break;
		EXPECT_LT(i, NR_RESULTS) TH_LOG("unknown result %s", name);
		if (i == NR_RESULTS)
			continue;
		seen[i] = true;
		if (results[i].may_be_na && !strcmp(median, "n/a"))
			continue;
		EXPECT_LT(0, atof(median)) TH_LOG("%s", line);
	}
	st = pclose(p);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("%s exited with status 0x%x", cmd, st);
	for (i = 0; i < NR_RESULTS; i++) {
		bool want = results[i].who == BOTH ||
			    results[i].who == (khyp ? KHYP_ONLY : KVM_ONLY);

		EXPECT_EQ(want, seen[i]) TH_LOG("result %s: %s",
						results[i].name,
						want ? "missing" : "unexpected");
	}
}

FIXTURE(bench) {
	int unused;
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
	kvm_out_khyp_in();
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
	ASSERT_EQ(0, kvm_modules(true))
		TH_LOG("modprobe %s failed", kvm_vendor());
	run_bench(_metadata, "kvm", false);
}

TEST_HARNESS_MAIN
