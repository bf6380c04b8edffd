// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU spinning on PAUSE gives its host CPU to the vCPU it waits for
 * (core/spin.c): VMX's pause-loop exiting and SVM's pause filter make the
 * loop exit (KHYP_X_PAUSE, "pause" in the vCPU's debugfs exits), and
 * khyp yields to a runnable vCPU thread of the same VM (pause_yields).
 *
 * Both vCPU threads are pinned to one host CPU.  The "holder" (vCPU 1)
 * starts first and spins without PAUSE until the "waiter" (vCPU 0)
 * announces that it spins; the waiter spins on PAUSE until the holder
 * answers.  So the holder is preempted (by the host's tick, or the
 * waiter's wake-up) while the waiter starts, and the handoff needs the
 * holder to run again: with the feature, the waiter's PAUSE loop exits
 * and yields to it at once; without, the waiter keeps the CPU until the
 * tick.  Either way it completes; the test judges the counters, never the
 * time.  Where the CPU lacks the feature (QEMU TCG's SVM) there must be
 * no PAUSE exit at all, and the machine's "pause_exit" expectation says
 * which it is (scripts/test.sh).  The second test turns the feature off
 * by its tuning parameter (ple_gap or pause_filter_count 0) for the VM it
 * makes: no PAUSE exit either, the handoff still completes.  The third
 * checks the SVM parameters' range (the VMCB fields are 16 bits): a
 * write past 65535 is refused, not cut at the next vCPU's creation.
 * They are module parameters on every backend, so it runs everywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define SPIN_CPU	0
#define PARAMS		"/sys/module/khyp/parameters/"

/* ---- guest ---- */

static volatile uint64_t g_holder_running, g_waiting, g_released, g_pauses;

/* vCPU 0: spins on PAUSE until the holder releases it. */
static void guest_waiter(void)
{
	kh_guest_sti();		/* see guest_holder() */
	g_waiting = 1;
	while (!g_released) {
		kh_guest_pause();
		g_pauses++;
	}
	GUEST_DONE();
}

/* vCPU 1: spins without PAUSE until the waiter spins, then releases it. */
static void guest_holder(void)
{
	/*
	 * Interrupts on (none is ever sent here): Bochs' SVM lets a guest's
	 * IF=0 mask the host's interrupts, and this loop has no exit of its
	 * own, so with IF=0 it froze svm-bochs (docs/emulators.md).
	 */
	kh_guest_sti();
	g_holder_running = 1;
	while (!g_waiting)
		;
	g_released = 1;
	GUEST_DONE();
}

/* ---- host ---- */

FIXTURE(pause) {
	char param[64];		/* the parameter to put back, or "" */
	char saved[32];
};

FIXTURE_SETUP(pause)
{
	self->param[0] = 0;
}

FIXTURE_TEARDOWN(pause)
{
	if (self->param[0])
		kh_write_file(self->param, self->saved);
}

#define PAUSE_TEST(name)	TEST_F_TIMEOUT(pause, name, 120)

struct runner {
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;
	int pinned;
	int cmd;
	char msg[512];
};

static void *runner_fn(void *arg)
{
	struct runner *r = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(SPIN_CPU, &set);
	r->pinned = sched_setaffinity(0, sizeof(set), &set);
	r->cmd = kh_vcpu_run_ucall(r->vcpu, &r->uc, r->msg, sizeof(r->msg));
	return NULL;
}

struct handoff {
	long pause_exits, yields, no_target;
	uint64_t pauses;
};

/* The holder, then the waiter, on one CPU; both must end with DONE. */
static void run_handoff(struct __test_metadata *_metadata, struct handoff *h)
{
	struct runner holder = { .cmd = -1 }, waiter = { .cmd = -1 };
	pthread_t th_holder, th_waiter;
	struct kh_vm *vm;
	int vm_id, i;

	vm = kh_vm_create(0);
	vm_id = khyp_newest_vm();
	waiter.vcpu = kh_vcpu_add(vm, 0);
	holder.vcpu = kh_vcpu_add(vm, 1);
	kh_vcpu_setup_long_mode(waiter.vcpu, guest_waiter);
	kh_vcpu_setup_long_mode(holder.vcpu, guest_holder);

	ASSERT_EQ(0, pthread_create(&th_holder, NULL, runner_fn, &holder));
	/* 20 s: only a failure bound, the holder is in its guest at once. */
	for (i = 0; i < 20000 && !kh_vm_global(vm, g_holder_running); i++)
		usleep(1000);
	ASSERT_EQ(1, kh_vm_global(vm, g_holder_running)) TH_LOG("%s", holder.msg);
	ASSERT_EQ(0, pthread_create(&th_waiter, NULL, runner_fn, &waiter));
	pthread_join(th_waiter, NULL);
	pthread_join(th_holder, NULL);

	ASSERT_EQ(0, holder.pinned);
	ASSERT_EQ(0, waiter.pinned);
	ASSERT_EQ(KH_UCALL_DONE, waiter.cmd) TH_LOG("waiter: %s", waiter.msg);
	ASSERT_EQ(KH_UCALL_DONE, holder.cmd) TH_LOG("holder: %s", holder.msg);
	ASSERT_LE(0, vm_id) TH_LOG("no khyp debugfs directory");
	h->pause_exits = khyp_vm_stat(vm_id, "vcpu0/exits", "pause");
	h->yields = khyp_vm_stat(vm_id, "vcpu0/pause_yields", NULL);
	h->no_target = khyp_vm_stat(vm_id, "vcpu0/pause_no_target",
				    NULL);
	h->pauses = kh_vm_global(vm, g_pauses);
	kh_vm_free(vm);
	TH_LOG("waiter: %llu PAUSEs, %ld PAUSE exits, %ld yields, %ld without a vCPU to yield to",
	       (unsigned long long)h->pauses, h->pause_exits, h->yields,
	       h->no_target);
	ASSERT_LE(0, h->pause_exits);
	ASSERT_LE(0, h->yields);
}

static bool have_pause_exit(struct __test_metadata *_metadata)
{
	struct khyp_caps caps = {};
	char val[16];
	bool have;
	int fd;

	fd = open(KHYP_DEV, O_RDWR);
	if (fd < 0 || ioctl(fd, KHYP_GET_CAPS, &caps))
		return false;
	close(fd);
	have = caps.features & KHYP_CAP_PAUSE_EXIT;
	if (machine_expect("pause_exit", val, sizeof(val)))
		EXPECT_EQ(atoi(val), have)
			TH_LOG("KHYP_CAP_PAUSE_EXIT vs the machine's pause_exit=%s",
			       val);
	return have;
}

PAUSE_TEST(spinning_vcpu_yields_to_the_one_it_waits_for)
{
	struct handoff h;
	bool have;

	NEED_DEV();
	have = have_pause_exit(_metadata);
	run_handoff(_metadata, &h);
	if (!have) {
		/* No feature: nothing changes, PAUSE never exits. */
		EXPECT_EQ(0, h.pause_exits);
		EXPECT_EQ(0, h.yields);
		return;
	}
	EXPECT_LT(0, h.pause_exits) TH_LOG("the PAUSE loop never exited");
	EXPECT_LT(0, h.yields)
		TH_LOG("no PAUSE exit yielded to the preempted holder");
}

PAUSE_TEST(tuning_parameter_zero_turns_it_off)
{
	struct khyp_caps caps = {};
	struct handoff h;
	char path[64];
	int fd;

	NEED_DEV();
	fd = open(KHYP_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, KHYP_GET_CAPS, &caps));
	close(fd);
	snprintf(path, sizeof(path), PARAMS "%s",
		 caps.backend == KHYP_BACKEND_VMX ? "ple_gap" :
						    "pause_filter_count");
	ASSERT_LT(0, kh_read_file(path, self->saved, sizeof(self->saved)))
		TH_LOG("%s: %s", path, strerror(errno));
	strcpy(self->param, path);
	ASSERT_EQ(0, kh_write_file(path, "0"));

	run_handoff(_metadata, &h);
	EXPECT_EQ(0, h.pause_exits);
	EXPECT_EQ(0, h.yields);
}

PAUSE_TEST(svm_parameters_refuse_values_past_16_bits)
{
	static const char *const names[] = { "pause_filter_count",
					     "pause_filter_thresh" };
	char path[64], val[32];
	unsigned int i;
	FILE *f;

	NEED_DEV();
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), PARAMS "%s", names[i]);
		f = fopen(path, "r");
		ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
		ASSERT_EQ(1, fscanf(f, "%31s", self->saved));
		fclose(f);
		strcpy(self->param, path);
		EXPECT_EQ(-EINVAL, kh_write_file(path, "65536"));
		EXPECT_EQ(0, kh_write_file(path, "65535"));
		f = fopen(path, "r");
		ASSERT_NE(NULL, f);
		ASSERT_EQ(1, fscanf(f, "%31s", val));
		fclose(f);
		EXPECT_STREQ("65535", val);
		ASSERT_EQ(0, kh_write_file(path, self->saved));
		self->param[0] = 0;
	}
}

TEST_HARNESS_MAIN
