// SPDX-License-Identifier: GPL-2.0
/*
 * The host changes under running VMs: a CPU goes offline and comes back,
 * the machine suspends (as far as syscore: the last step before sleeping),
 * and khyp.ko is asked to unload while something still holds it.
 *
 * cpu_offline_online_while_running: two vCPUs run the worker guest of
 * lib/khyp_worker.h (counting rounds, checking 64 KiB of patterns each
 * round) in threads pinned to CPU 1; CPU 1 goes offline (khyp's cpuhp
 * callback turns VMX/SVM off there, the kernel moves the threads to
 * CPU 0) and online again (the callback turns it back on), ROUNDS times,
 * the threads pinned to CPU 1 again each time.  The guests keep counting
 * through all of it and finish their checks; then a new VM runs on the
 * re-onlined CPU 1: its per-CPU state (VMXON region, host save area) is
 * right.  No kernel report (WARNING, BUG, or khyp's "cannot").
 *
 * syscore_suspend_resume_while_running: with CONFIG_PM_DEBUG,
 * pm_test=core and "mem" run the whole suspend (freezer, devices, the
 * other CPUs offline, syscore_suspend(): khyp turns virtualization off on
 * the last CPU) and resume (syscore_resume(): on again) without sleeping.
 * "freeze" (suspend to idle) never calls the syscore callbacks, and
 * refuses pm_test levels below "platform".  The workers run before,
 * are frozen (their KHYP_RUN returns EINTR), and keep counting after.
 *
 * unload_refused_while_held: rmmod is refused (EAGAIN: the module's
 * reference count) while only a VM fd, only a vCPU fd, or only a mapping
 * of guest memory (every fd closed) is left; the VM still runs after the
 * refusal; when the last holder goes, rmmod succeeds, and khyp.ko loads
 * again.  (lifetime_test's module_unloads_after_all unloads after
 * everything is closed; this one checks what each holder holds.)
 *
 * unload_refused_while_vcpu_in_run: another process's vCPU thread is in
 * KHYP_RUN; rmmod is refused; the process is SIGKILLed; rmmod succeeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"
#include "khyp_worker.h"

#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"
#define ROUNDS		4
#define WAIT_S		60	/* only a failure bound */

FIXTURE(hp) {
	int kmsg;
};

FIXTURE_SETUP(hp)
{
	self->kmsg = kmsg_open();
}

FIXTURE_TEARDOWN(hp)
{
	char line[1024];

	/* Whatever happened, CPU 1 back and the module loaded. */
	if (!access(CPU1_ONLINE, W_OK))
		kh_write_file(CPU1_ONLINE, "1");
	if (!access("/sys/power/pm_test", W_OK))
		kh_write_file("/sys/power/pm_test", "none");
	khyp_module_ensure(true);
	if (self->kmsg >= 0) {
		EXPECT_FALSE(kmsg_report(self->kmsg, line, sizeof(line)))
			TH_LOG("kernel: %s", line);
		close(self->kmsg);
	}
}

#define HP_TEST(name)	TEST_F_TIMEOUT(hp, name, 300)

static int pin_tid(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

/* The CPU a thread of this process last ran on (/proc: field 39). */
static int tid_cpu(pid_t tid)
{
	char path[64], buf[1024], *p;
	int i, cpu = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		for (i = 2; p && i < 39; i++)
			p = strchr(p + 1, ' ');
		if (p)
			cpu = atoi(p + 1);
	}
	fclose(f);
	return cpu;
}

#define EXPECT_WORKERS_ALIVE(w, n)					\
	do {								\
		unsigned int __i;					\
		for (__i = 0; __i < (n); __i++)				\
			ASSERT_EQ(0, (w)[__i].done)			\
				TH_LOG("vCPU %u: %s", __i, (w)[__i].msg); \
	} while (0)

#define EXPECT_WORKERS_DONE(w, n)					\
	do {								\
		unsigned int __i;					\
		for (__i = 0; __i < (n); __i++)				\
			EXPECT_EQ(1, (w)[__i].done)			\
				TH_LOG("vCPU %u: %s", __i, (w)[__i].msg); \
	} while (0)

/*
 * Both workers count 3 more rounds (within WAIT_S) and still run, on
 * CPU @cpu unless it is -1; @when says when, for the log.
 */
static void expect_counting(struct __test_metadata *_metadata,
			    struct kh_worker w[2], int cpu, const char *when)
{
	uint64_t before[2];
	int i;

	for (i = 0; i < 2; i++)
		before[i] = w[i].rounds;
	kh_worker_wait_rounds(w, 2, 3, WAIT_S);
	EXPECT_WORKERS_ALIVE(w, 2);
	for (i = 0; i < 2; i++) {
		EXPECT_LE(before[i] + 3, w[i].rounds)
			TH_LOG("%s: vCPU %d stopped counting", when, i);
		if (cpu >= 0)
			EXPECT_EQ(cpu, tid_cpu(w[i].tid));
	}
}

/* A fresh VM whose vCPU runs on @cpu only: rounds done, and stopped. */
static void run_on_cpu(struct __test_metadata *_metadata, int cpu)
{
	struct kh_vm *vm = kh_vm_create(0);
	struct kh_worker w;
	uint64_t before;

	kh_worker_start(&w, kh_vcpu_add(vm, 0), 0);
	ASSERT_EQ(0, pin_tid(w.tid, cpu));
	before = w.rounds;
	kh_worker_wait_rounds(&w, 1, 5, WAIT_S);
	EXPECT_LE(before + 5, w.rounds) TH_LOG("%s", w.msg);
	EXPECT_EQ(cpu, tid_cpu(w.tid));
	kh_worker_stop_join(vm, &w, 1);
	EXPECT_EQ(1, w.done) TH_LOG("new VM on CPU %d: %s", cpu, w.msg);
	kh_vm_free(vm);
}

HP_TEST(cpu_offline_online_while_running)
{
	struct kh_worker w[2];
	struct kh_vm *vm;
	int round, i, r;
	char when[64];

	NEED_DEV();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || access(CPU1_ONLINE, W_OK))
		SKIP(return, "no CPU 1 that can go offline");
	vm = kh_vm_create(0);
	for (i = 0; i < 2; i++) {
		kh_worker_start(&w[i], kh_vcpu_add(vm, i), 0);
		ASSERT_EQ(0, pin_tid(w[i].tid, 1));
	}
	kh_worker_wait_rounds(w, 2, 3, WAIT_S);
	EXPECT_WORKERS_ALIVE(w, 2);

	for (round = 1; round <= ROUNDS; round++) {
		r = kh_write_file(CPU1_ONLINE, "0");
		ASSERT_EQ(0, r) TH_LOG("round %d: CPU 1 offline: %s", round,
				       strerror(-r));
		snprintf(when, sizeof(when), "round %d, CPU 1 offline", round);
		expect_counting(_metadata, w, 0, when);

		r = kh_write_file(CPU1_ONLINE, "1");
		ASSERT_EQ(0, r) TH_LOG("round %d: CPU 1 online: %s", round,
				       strerror(-r));
		for (i = 0; i < 2; i++)
			ASSERT_EQ(0, pin_tid(w[i].tid, 1));
		snprintf(when, sizeof(when), "round %d, on the re-onlined CPU 1",
			 round);
		expect_counting(_metadata, w, 1, when);
	}
	kh_worker_stop_join(vm, w, 2);
	EXPECT_WORKERS_DONE(w, 2);
	TH_LOG("%d offline/online rounds; the guests counted %llu and %llu rounds",
	       ROUNDS, (unsigned long long)w[0].rounds,
	       (unsigned long long)w[1].rounds);
	kh_vm_free(vm);

	run_on_cpu(_metadata, 1);
}

static bool file_has(const char *path, const char *word)
{
	char buf[256] = "", *tok, *save;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (tok = strtok_r(buf, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, word))
			return true;
	return false;
}

#define SUSPENDS	2

HP_TEST(syscore_suspend_resume_while_running)
{
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN), i, k, r, seen = 0;
	struct kh_worker w[2];
	char line[1024], when[64];
	struct kh_vm *vm;
	int kfd;

	NEED_DEV();
	if (access("/sys/power/pm_test", W_OK))
		SKIP(return, "no /sys/power/pm_test (CONFIG_PM_DEBUG)");
	if (!file_has("/sys/power/state", "mem"))
		SKIP(return, "/sys/power/state has no \"mem\": the machine offers no suspend to RAM, and suspend to idle never reaches syscore");
	/* pm_test waits 5 s at its level unless told otherwise. */
	kh_write_file("/sys/module/suspend/parameters/pm_test_delay", "0");

	vm = kh_vm_create(0);
	for (i = 0; i < 2; i++) {
		kh_worker_start(&w[i], kh_vcpu_add(vm, i), 0);
		if (ncpu > 1)
			ASSERT_EQ(0, pin_tid(w[i].tid, i));
	}
	kh_worker_wait_rounds(w, 2, 3, WAIT_S);
	EXPECT_WORKERS_ALIVE(w, 2);

	for (k = 1; k <= SUSPENDS; k++) {
		kfd = kmsg_open();
		ASSERT_EQ(0, kh_write_file("/sys/power/pm_test", "core"));
		r = kh_write_file("/sys/power/state", "mem");
		kh_write_file("/sys/power/pm_test", "none");
		ASSERT_EQ(0, r) TH_LOG("suspend %d: %s", k, strerror(-r));
		if (kfd >= 0) {
			if (kmsg_find(kfd, "suspend debug: Waiting", line,
				      sizeof(line)))
				seen++;
			close(kfd);
		}
		/* the suspend took CPU 1 away: pinned again */
		for (i = 0; i < 2 && ncpu > 1; i++)
			ASSERT_EQ(0, pin_tid(w[i].tid, i));
		snprintf(when, sizeof(when), "suspend %d, after resume", k);
		expect_counting(_metadata, w, -1, when);
	}
	kh_worker_stop_join(vm, w, 2);
	EXPECT_WORKERS_DONE(w, 2);
	TH_LOG("%d syscore suspend/resume cycles (%d logged at the core level); the guests counted %llu and %llu rounds, %llu and %llu KHYP_RUNs ended by the freezer",
	       SUSPENDS, seen, (unsigned long long)w[0].rounds,
	       (unsigned long long)w[1].rounds,
	       (unsigned long long)w[0].eintr,
	       (unsigned long long)w[1].eintr);
	EXPECT_EQ(SUSPENDS, seen) TH_LOG("pm_test=core did not reach the core level");
	kh_vm_free(vm);

	for (i = 0; i < ncpu; i++)
		run_on_cpu(_metadata, i);
}

#define NEED_MODULE_FILE()						\
	do {								\
		if (access(khyp_module_path(), R_OK))			\
			SKIP(return, "%s is not readable: cannot load it again", \
			     khyp_module_path());			\
	} while (0)

/* rmmod refused, and the module still there. */
#define EXPECT_UNLOAD_REFUSED(what)					\
	do {								\
		int __r = khyp_module_unload();				\
		EXPECT_TRUE(__r == -EAGAIN || __r == -EBUSY)		\
			TH_LOG("rmmod with %s: %s", what,		\
			       __r ? strerror(-__r) : "unloaded");	\
		ASSERT_TRUE(khyp_module_loaded());			\
	} while (0)

#define EXPECT_UNLOAD_RELOAD(what)					\
	do {								\
		int __r = khyp_module_unload();				\
		ASSERT_EQ(0, __r) TH_LOG("rmmod after %s: %s (refcnt %ld)", \
					 what, strerror(-__r),		\
					 khyp_module_refcnt());		\
		__r = khyp_module_load();				\
		ASSERT_EQ(0, __r) TH_LOG("load again: %s", strerror(-__r)); \
	} while (0)

/* Unmap guest memory (the mappings hold the VM file), keep the slots. */
static void unmap_guest_memory(struct kh_vm *vm)
{
	int i;

	for (i = 0; i < KHYP_MAX_MEM_REGIONS; i++)
		if (vm->regions[i].hva) {
			munmap(vm->regions[i].hva, vm->regions[i].size);
			vm->regions[i].hva = NULL;
		}
}

/* A VM whose worker did some rounds and was stopped (fds all open). */
static struct kh_vm *stopped_vm(struct __test_metadata *_metadata)
{
	struct kh_vm *vm = kh_vm_create(0);
	struct kh_worker w;

	kh_worker_start(&w, kh_vcpu_add(vm, 0), 0);
	kh_worker_wait_rounds(&w, 1, 2, WAIT_S);
	kh_worker_stop_join(vm, &w, 1);
	EXPECT_EQ(1, w.done) TH_LOG("%s", w.msg);
	return vm;
}

HP_TEST(unload_refused_while_held)
{
	struct kh_worker w;
	struct kh_vm *vm;
	uint64_t before;

	NEED_DEV();
	NEED_MODULE_FILE();

	/* Only the VM fd (and its memory's mapping). */
	vm = stopped_vm(_metadata);
	kh_vcpu_close(vm->vcpus[0]);
	close(vm->dev);
	vm->dev = -1;
	EXPECT_UNLOAD_REFUSED("only a VM fd open");
	/* The VM still works: a vCPU runs in it after the refusal. */
	kh_vm_global(vm, kh_worker_stop) = 0;
	free(vm->vcpus[0]);
	vm->vcpus[0] = NULL;
	kh_worker_start(&w, kh_vcpu_add(vm, 1), 0);
	before = w.rounds;
	kh_worker_wait_rounds(&w, 1, 3, WAIT_S);
	EXPECT_LE(before + 3, w.rounds) TH_LOG("%s", w.msg);
	kh_worker_stop_join(vm, &w, 1);
	EXPECT_EQ(1, w.done) TH_LOG("%s", w.msg);
	kh_vm_free(vm);
	EXPECT_UNLOAD_RELOAD("the VM fd was closed");

	/* Only a vCPU fd (and its run page): it holds its VM. */
	vm = stopped_vm(_metadata);
	unmap_guest_memory(vm);
	close(vm->fd);
	close(vm->dev);
	vm->fd = vm->dev = -1;
	EXPECT_UNLOAD_REFUSED("only a vCPU fd open");
	kh_vm_free(vm);
	EXPECT_UNLOAD_RELOAD("the vCPU fd was closed");

	/* No fd at all, only the mappings of guest memory and run page. */
	vm = stopped_vm(_metadata);
	close(vm->vcpus[0]->fd);
	close(vm->fd);
	close(vm->dev);
	vm->vcpus[0]->fd = vm->fd = vm->dev = -1;
	EXPECT_UNLOAD_REFUSED("no fd, only mappings");
	kh_vm_free(vm);
	EXPECT_UNLOAD_RELOAD("the mappings were gone");
}

HP_TEST(unload_refused_while_vcpu_in_run)
{
	int fds[2], status;
	struct kh_worker w;
	struct kh_vm *vm;
	char c;
	pid_t pid;

	NEED_DEV();
	NEED_MODULE_FILE();
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(fds[0]);
		vm = kh_vm_create(0);
		kh_worker_start(&w, kh_vcpu_add(vm, 0), 0);
		kh_worker_wait_rounds(&w, 1, 3, WAIT_S);
		if (w.done || write(fds[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	ASSERT_EQ(1, read(fds[0], &c, 1)) TH_LOG("the child's VM did not run");
	close(fds[0]);
	EXPECT_UNLOAD_REFUSED("a vCPU in KHYP_RUN in another process");
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG))
		TH_LOG("the child ended: status %#x", status);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_UNLOAD_RELOAD("the process was killed");
}

TEST_HARNESS_MAIN
