// SPDX-License-Identifier: GPL-2.0
/*
 * Soak: 4 VMs of 2 vCPUs each run the worker guest of lib/khyp_worker.h
 * (counting rounds, a 64 KiB pattern written and checked each round, a
 * CPUID and an I/O exit each round; vCPU 0 of each VM also runs the
 * balloon protocol over a 32 MiB heap whose every page it checks) for
 * KHYP_SOAK_SECONDS (else the machine's soak_seconds, else 15) of the
 * machine's clock, while
 *  - a memory hog (host_hog(), a child process) grows 16 MiB past the
 *    host's available memory before the first hog, holds 2 s and exits,
 *    again and again, each the same size: reclaim
 *    calls khyp's shrinker and the balloons inflate; while the hogs keep
 *    coming (MemAvailable falling again) the pressure decay holds, so
 *    from the second hog on they meet full balloons;
 *  - every ~100 ms each vCPU thread gets a new CPU affinity (CPU 0, CPU 1
 *    or both), so the vCPUs move between host CPUs while they run.
 * Then every guest finishes its own checks (GUEST_DONE), its rounds came
 * one after the other, the hogs all ended by themselves (no OOM kill:
 * /proc/vmstat's oom_kill unchanged), no kernel report, and the process's
 * fds, the module's reference count and the VMs in debugfs are back.
 *
 * `make soak` runs it for SOAK_SECONDS (default 600) in MACHINE
 * (default svm-qemu-smp2); the suite runs 15 s in svm-qemu-smp2.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"
#include "khyp_worker.h"

#define VMS		4
#define VCPUS		2
#define HEAP_SIZE	(32UL << 20)
#define VM_MEM		(KH_WORKER_HEAP + HEAP_SIZE)
#define HOG_OVER_KIB	(16 * 1024)	/* past MemAvailable */

FIXTURE(soak) {
	int unused;
};

FIXTURE_SETUP(soak)
{
}

FIXTURE_TEARDOWN(soak)
{
}

static unsigned long soak_seconds(void)
{
	const char *env = getenv("KHYP_SOAK_SECONDS");
	char buf[24];

	if (!env || !*env)
		env = machine_expect("soak_seconds", buf, sizeof(buf));
	return env ? strtoul(env, NULL, 0) : 15;
}

struct mover {
	struct kh_worker *w;
	int ncpu;
	volatile int stop;
	unsigned long moves, failed;
};

/* Every ~100 ms a new affinity for each vCPU thread. */
static void *move_vcpus(void *arg)
{
	struct mover *m = arg;
	uint64_t rnd = 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL);
	cpu_set_t set;
	int i, c, pick;

	while (!m->stop) {
		for (i = 0; i < VMS * VCPUS; i++) {
			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			pick = rnd % (m->ncpu + 1);	/* ncpu: all of them */
			CPU_ZERO(&set);
			for (c = 0; c < m->ncpu; c++)
				if (pick == m->ncpu || pick == c)
					CPU_SET(c, &set);
			if (sched_setaffinity(m->w[i].tid, sizeof(set), &set))
				m->failed++;
			else
				m->moves++;
		}
		usleep(100000);
	}
	return NULL;
}

struct soak_snap {
	long fds, refcnt, vms;
};

static void snap(struct soak_snap *s)
{
	s->fds = kh_dir_count("/proc/self/fd", "");
	s->refcnt = khyp_module_refcnt();
	s->vms = kh_dir_count("/sys/kernel/debug/khyp", "vm");
}

/* Pages the VMs' balloons hold now, and their pressure targets. */
static void balloons(struct kh_vm **vm, uint64_t *size, uint64_t *target)
{
	struct khyp_balloon_stats st;
	int v;

	*size = *target = 0;
	for (v = 0; v < VMS; v++) {
		if (ioctl(vm[v]->fd, KHYP_GET_BALLOON, &st))
			continue;
		*size += st.size;
		*target += st.pressure_target;
	}
}

TEST_F_TIMEOUT(soak, four_vms_two_vcpus_under_pressure, 3600)
{
	unsigned long seconds = soak_seconds(), hogs = 0, bad_hogs = 0;
	struct kh_worker w[VMS * VCPUS];
	struct mover m = { .w = w };
	struct soak_snap a, b;
	uint64_t peak = 0, rounds = 0, held, target;
	long oom0, oom1, hog_kib;
	struct kh_vm *vm[VMS];
	double start, t;
	pthread_t mover;
	char line[1024];
	int i, v, kfd, status;
	pid_t pid;

	NEED_DEV();
	m.ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	kfd = kmsg_open();
	snap(&a);
	oom0 = host_vmstat("oom_kill");

	for (v = 0; v < VMS; v++) {
		vm[v] = kh_vm_create(VM_MEM);
		for (i = 0; i < VCPUS; i++)
			kh_worker_start(&w[v * VCPUS + i],
					kh_vcpu_add(vm[v], i),
					i ? 0 : VM_MEM);
	}
	kh_worker_wait_rounds(w, VMS * VCPUS, 1, 120);
	for (i = 0; i < VMS * VCPUS; i++)
		ASSERT_EQ(0, w[i].done) TH_LOG("worker %d: %s", i, w[i].msg);
	ASSERT_EQ(0, pthread_create(&mover, NULL, move_vcpus, &m));

	/*
	 * Every hog the same size, from MemAvailable before the first: once
	 * the balloons hold pages, MemAvailable counts them, and a hog sized
	 * from it asks for more than the VMs can give (measured: every hog
	 * after the first OOM-killed).
	 */
	hog_kib = host_available_kib() + HOG_OVER_KIB;
	start = now_s();
	while (now_s() - start < seconds) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			host_hog(hog_kib, 2);
		t = now_s();
		balloons(vm, &held, &target);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		hogs++;
		TH_LOG("hog %lu: %.1f s, status %#x; at its start the balloons held %llu pages, pressure targets %llu",
		       hogs, now_s() - t, status, (unsigned long long)held,
		       (unsigned long long)target);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			bad_hogs++;
			TH_LOG("hog %lu ended with status %#x after %.1f s (%s)",
			       hogs, status, now_s() - t,
			       WIFEXITED(status) ?
			       "the balloons gave too little" : "OOM kill?");
		}
		for (i = 0; i < VMS * VCPUS; i++)
			if (w[i].done)
				break;
		if (i < VMS * VCPUS)
			break;
	}
	m.stop = 1;
	pthread_join(mover, NULL);
	t = now_s() - start;

	for (v = 0; v < VMS; v++)
		kh_worker_stop_join(vm[v], &w[v * VCPUS], VCPUS);
	for (i = 0; i < VMS * VCPUS; i++) {
		EXPECT_EQ(1, w[i].done)
			TH_LOG("VM %d vCPU %d: %s", i / VCPUS, i % VCPUS,
			       w[i].msg);
		rounds += w[i].rounds;
		if (w[i].balloon_peak > peak)
			peak = w[i].balloon_peak;
	}
	TH_LOG("%.1f s: %lu hogs, %llu rounds in all (VM 0 vCPU 0: %llu), largest balloon %llu pages, %lu affinity changes (%lu refused)",
	       t, hogs, (unsigned long long)rounds,
	       (unsigned long long)w[0].rounds, (unsigned long long)peak,
	       m.moves, m.failed);
	EXPECT_EQ(0, bad_hogs);
	EXPECT_LT(0, peak) TH_LOG("no balloon inflated: no pressure reached khyp");
	EXPECT_EQ(0, m.failed);
	oom1 = host_vmstat("oom_kill");
	EXPECT_EQ(oom0, oom1) TH_LOG("the OOM killer ran");

	for (v = 0; v < VMS; v++)
		kh_vm_free(vm[v]);
	for (i = 0; i < 30; i++) {	/* deferred frees: up to 3 s */
		snap(&b);
		if (b.fds == a.fds && b.refcnt == a.refcnt && b.vms == a.vms)
			break;
		usleep(100000);
	}
	EXPECT_EQ(a.fds, b.fds);
	EXPECT_EQ(a.refcnt, b.refcnt);
	EXPECT_EQ(a.vms, b.vms);
	if (kfd >= 0) {
		EXPECT_FALSE(kmsg_report(kfd, line, sizeof(line)))
			TH_LOG("kernel: %s", line);
		close(kfd);
	}
}

TEST_HARNESS_MAIN
