// SPDX-License-Identifier: GPL-2.0
/*
 * What needs two host CPUs: an interrupt the module raises for a vCPU
 * that is in its guest on another CPU must kick it out of the guest
 * (khyp_vcpu_kick(), an IPI), or the guest sees it only at its next exit
 * for some other reason.
 *
 * Runs in the svm-qemu-smp2 machine (scripts/test.sh), which boots with
 * nohz_full=1: CPU 1, running nothing but the vCPU, has almost no timer
 * tick, so a guest spinning there seldom exits on its own and the kick
 * is what brings the interrupt in.  On a machine with one CPU every test
 * skips (listed in scripts/expected-skips).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/khyp_balloon.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define NOTIFY_VECTOR	0x41
#define VCPU_CPU	1	/* nohz_full in svm-qemu-smp2 */
#define HOST_CPU	0
#define BOUND_S		20	/* only a failure bound: the kick takes us */

/* The 6.1 harness has timeouts only for fixture tests: an empty fixture. */
FIXTURE(smp) {
	int unused;
};

FIXTURE_SETUP(smp)
{
}

FIXTURE_TEARDOWN(smp)
{
}

#define SMP_TEST(name)	TEST_F_TIMEOUT(smp, name, 120)

#define NEED_TWO_CPUS()							\
	do {								\
		if (sysconf(_SC_NPROCESSORS_ONLN) < 2)			\
			SKIP(return, "one CPU: the vCPU cannot be in its " \
			     "guest while another thread runs");	\
	} while (0)

static volatile uint64_t g_spinning, g_notified;
static volatile int g_stop;

/*
 * Ask for the balloon's notification interrupt, then spin with
 * interrupts enabled, for ever (until told to stop), publishing how many
 * notifications came: the guest never exits of its own accord.
 */
static void guest_count_notifications(void)
{
	GUEST_ASSERT_EQ(1, kh_guest_hypercall(KHYP_HC_BALLOON_PROBE, 1, 0,
					      0, 0, 0));
	GUEST_ASSERT_EQ(0, kh_guest_hypercall(KHYP_HC_BALLOON_NOTIFY,
					      NOTIFY_VECTOR, 0, 0, 0, 0));
	kh_guest_sti();
	g_spinning = 1;
	while (!g_stop) {
		g_notified = kh_guest_vector_count[NOTIFY_VECTOR];
		kh_guest_pause();
	}
	kh_guest_cli();
	GUEST_SYNC(kh_guest_vector_count[NOTIFY_VECTOR]);
	GUEST_DONE();
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -1;
	return sched_getcpu() == cpu ? 0 : -1;
}

struct runner {
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;
	char msg[512];
	int pinned;		/* 0: on VCPU_CPU */
	int cmd;		/* the ucall, or -1 */
	volatile int done;
};

static void *run_on_vcpu_cpu(void *arg)
{
	struct runner *r = arg;

	r->pinned = pin(VCPU_CPU);
	r->cmd = kh_vcpu_run_ucall(r->vcpu, &r->uc, r->msg, sizeof(r->msg));
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void on_signal(int sig)
{
}

/*
 * Interrupts CPU @cpu took so far (/proc/interrupts), in two sums: the
 * IPIs a kick can be (RES, the reschedule IPI khyp_vcpu_kick() sends;
 * CAL, function calls) and all the others (the timer, devices...).
 */
static int cpu_irqs(int cpu, long *cal, long *other)
{
	char line[4096], label[32], *p, *q;
	FILE *f = fopen("/proc/interrupts", "r");
	long v = 0;
	int i, ok;

	*cal = *other = 0;
	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f)) {	/* CPU0 CPU1 ... */
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %31[^:]:", label) != 1)
			continue;
		p = strchr(line, ':') + 1;
		for (i = 0, ok = 1; i <= cpu && ok; i++) {
			v = strtol(p, &q, 10);
			ok = q != p;
			p = q;
		}
		if (!ok || !strcmp(label, "ERR") || !strcmp(label, "MIS"))
			continue;
		if (!strcmp(label, "CAL") || !strcmp(label, "RES"))
			*cal += v;
		else
			*other += v;
	}
	fclose(f);
	return 0;
}

#define ROUNDS	8

/*
 * The vCPU thread on CPU 1 spins in its guest; this thread, on CPU 0,
 * changes the balloon target, ROUNDS times.  Each notification must reach
 * the spinning guest.  A guest leaves the guest only on an interrupt of
 * its CPU: the kick's IPI, or anything else (CPU 1 is tickless, but it
 * still takes an interrupt every few hundred ms, most likely the tick RCU
 * turns on while the vCPU thread stays in the kernel).  With the kick, a notification usually arrives before
 * any other interrupt reaches CPU 1; without it, never.  So at least one
 * round must see no interrupt on CPU 1 but reschedule IPIs between the
 * target change and the guest's notification (a round without is a ~20%
 * chance with the kick: the bound of ROUNDS makes a false red ~1e-5).
 */
SMP_TEST(balloon_notification_kicks_vcpu_on_other_cpu)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* not fatal */
	struct khyp_balloon_target t = {};
	struct khyp_balloon_stats st;
	struct runner r = { .cmd = -1 };
	long cal0, cal1, oth0, oth1;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	pthread_t thread;
	int round, clean = 0, came = 0;
	double start, set;

	NEED_DEV();
	NEED_TWO_CPUS();
	ASSERT_EQ(0, pin(HOST_CPU));
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, cpu_irqs(VCPU_CPU, &cal0, &oth0));
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_count_notifications);
	kh_vm_install_idt(vm, vcpu);
	r.vcpu = vcpu;
	ASSERT_EQ(0, pthread_create(&thread, NULL, run_on_vcpu_cpu, &r));

	/* The guest spins (it wrote the flag from inside the guest). */
	start = now_s();
	while (!kh_vm_global(vm, g_spinning) &&
	       !__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) &&
	       now_s() - start < BOUND_S)
		usleep(1000);
	/* CPU 1 stops its tick (nohz_full): only for the kick to show. */
	usleep(300000);

	for (round = 1; round <= ROUNDS && !r.done; round++) {
		t.pages = round % 2 ? 16 : 32;
		cpu_irqs(VCPU_CPU, &cal0, &oth0);
		set = now_s();
		if (ioctl(vm->fd, KHYP_SET_BALLOON, &t)) {
			TH_LOG("KHYP_SET_BALLOON: %s", strerror(errno));
			break;
		}
		while (kh_vm_global(vm, g_notified) < round &&
		       !__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) &&
		       now_s() - set < BOUND_S)
			usleep(1000);
		cpu_irqs(VCPU_CPU, &cal1, &oth1);
		if (kh_vm_global(vm, g_notified) < round) {
			TH_LOG("round %d: no notification within %d s",
			       round, BOUND_S);
			break;
		}
		came++;
		TH_LOG("round %d: notified after %.3f s; CPU %d took %ld reschedule or function-call IPIs and %ld other interrupts meanwhile",
		       round, now_s() - set, VCPU_CPU, cal1 - cal0,
		       oth1 - oth0);
		if (oth1 == oth0) {
			clean++;
			break;
		}
	}

	kh_vm_global(vm, g_stop) = 1;
	start = now_s();
	while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) &&
	       now_s() - start < BOUND_S)
		usleep(1000);
	if (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
		/* Stop the vCPU: immediate_exit, then a signal. */
		vcpu->run->immediate_exit = 1;
		pthread_kill(thread, SIGUSR1);
	}
	pthread_join(thread, NULL);
	ASSERT_EQ(0, r.pinned) TH_LOG("the vCPU thread is not on CPU %d",
				      VCPU_CPU);
	ASSERT_EQ(1, kh_vm_global(vm, g_spinning)) TH_LOG("%s", r.msg);
	EXPECT_EQ(round > ROUNDS ? ROUNDS : round, came)
		TH_LOG("a notification did not reach the spinning guest");
	EXPECT_EQ(1, clean)
		TH_LOG("in %d rounds every notification waited for another interrupt of CPU %d: no kick",
		       came, VCPU_CPU);
	ASSERT_EQ(KH_UCALL_SYNC, r.cmd) TH_LOG("%s", r.msg);
	EXPECT_EQ(came, r.uc.args[0]) TH_LOG("notification interrupts taken");
	ASSERT_EQ(0, ioctl(vm->fd, KHYP_GET_BALLOON, &st));
	EXPECT_EQ(came, st.notifications);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
