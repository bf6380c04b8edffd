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
 * is what brings the interrupt in.  On a machine with one CPU that test
 * skips (listed in scripts/expected-skips).
 *
 * Two vCPUs that LTR the same available TSS at once: exactly one loads
 * it, the other gets #GP(sel), as on a processor, whose busy-bit update
 * is one locked read-modify-write.  SVM emulates LTR (core/desc.c), and
 * only a locked test-and-set of the busy bit keeps its check and its
 * write together.  It takes two host CPUs running at once for the two
 * emulations to overlap (a thread pinned on each); on one, or in
 * svm-qemu-smp2, whose QEMU runs its two CPUs in turn (thread=single,
 * 100 ms turns), the rounds check the rule with the threads taking
 * turns.  So the test has a budget: 1000 rounds or 1 s of them
 * (guest_state_test holds the other LTR cases).
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

/*
 * LTR races: vCPU 0 makes the descriptor available and starts a round,
 * both vCPUs LTR it, vCPU 0 counts the rounds where not exactly one
 * won.  A #GP goes to ltr_race_gp, which skips the 3-byte LTR and sets
 * ECX: the library's fixup is one global for both vCPUs.
 */
#define RACE_SEL	0x40

asm(".pushsection .text\n"
    "ltr_race_gp:\n"
    "	addq $8, %rsp\n"		/* the error code */
    "	addq $3, (%rsp)\n"		/* past ltr %ax: 0f 00 d8 */
    "	movl $1, %ecx\n"
    "	iretq\n"
    ".popsection");
extern const char ltr_race_gp[];

#define RACE_ROUNDS	1000
#define RACE_END	(~0U)

static volatile uint32_t g_race_go, g_race_done, g_race_wins, g_race_bad;
static volatile uint32_t g_race_stop, g_race_played;

static bool guest_race_ltr(uint16_t sel)
{
	uint32_t faulted = 0;

	asm volatile("ltr %w1" : "+c"(faulted) : "a"(sel) : "memory");
	return !faulted;
}

static void guest_ltr_race(uint64_t id)
{
	volatile uint8_t *type = (volatile uint8_t *)(KH_GPA_GDT + RACE_SEL + 5);
	uint32_t r;

	kh_guest_sti();		/* Bochs' SVM: see pause_test's holder */
	for (r = 1; r <= RACE_ROUNDS; r++) {
		if (id == 0) {
			if (g_race_stop) {
				g_race_go = RACE_END;
				break;
			}
			*type = 0x89;
			g_race_wins = 0;
			g_race_go = r;
		} else {
			while (g_race_go != r && g_race_go != RACE_END)
				;
			if (g_race_go == RACE_END)
				break;
		}
		if (guest_race_ltr(RACE_SEL))
			__atomic_fetch_add(&g_race_wins, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&g_race_done, 1, __ATOMIC_SEQ_CST);
		if (id == 0) {
			while (g_race_done != 2 * r)
				;
			if (g_race_wins != 1)
				g_race_bad++;
		}
	}
	if (id == 0)
		g_race_played = r - 1;
}

/* vCPU n's thread on CPU n where there are two: the LTRs overlap. */
static void *run_race(void *arg)
{
	struct runner *r = arg;

	r->pinned = sysconf(_SC_NPROCESSORS_ONLN) < 2 ? 0 :
		    pin(r->vcpu->id);
	r->cmd = kh_vcpu_run_ucall(r->vcpu, &r->uc, r->msg, sizeof(r->msg));
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

SMP_TEST(ltr_race_one_vcpu_wins)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t h = (uint64_t)(uintptr_t)ltr_race_gp, *gdt, *idt;
	struct runner r[2] = { { .cmd = -1 }, { .cmd = -1 } };
	struct khyp_sregs s;
	pthread_t thread[2];
	struct kh_vm *vm;
	double start;
	int i;

	NEED_DEV();
	vm = kh_vm_create(0);
	for (i = 0; i < 2; i++) {
		r[i].vcpu = kh_vcpu_add(vm, i);
		kh_vcpu_setup_long_mode(r[i].vcpu,
					(void (*)(void))guest_ltr_race);
		kh_vcpu_set_args(r[i].vcpu, i, 0);
		kh_vm_install_idt(vm, r[i].vcpu);
		kh_vcpu_get_sregs(r[i].vcpu, &s);
		s.gdt.limit = RACE_SEL + 15;
		kh_vcpu_set_sregs(r[i].vcpu, &s);
	}
	gdt = kh_gpa(vm, KH_GPA_GDT);
	gdt[RACE_SEL >> 3] = gdt[KH_SEL_TSS >> 3];
	gdt[(RACE_SEL >> 3) + 1] = 0;
	idt = kh_gpa(vm, KH_GPA_IDT + 13 * 16);
	idt[0] = (idt[0] & 0x0000ffffffff0000ULL) | (h & 0xffff) |
		 (h & 0xffff0000) << 32;
	idt[1] = h >> 32;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&thread[i], NULL, run_race, &r[i]));
	/* A budget, not a measure: 1 s of rounds, or RACE_ROUNDS. */
	start = now_s();
	while (now_s() - start < 1 && !r[0].done)
		usleep(10000);
	kh_vm_global(vm, g_race_stop) = 1;
	for (i = 0; i < 2; i++)
		pthread_join(thread[i], NULL);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, r[i].pinned);
		ASSERT_EQ(KH_UCALL_DONE, r[i].cmd)
			TH_LOG("vCPU %d: %s", i, r[i].msg);
	}
	TH_LOG("%u rounds on %ld CPUs, %u without exactly one winner",
	       kh_vm_global(vm, g_race_played), ncpu,
	       kh_vm_global(vm, g_race_bad));
	EXPECT_LT(0, kh_vm_global(vm, g_race_played));
	EXPECT_EQ(0, kh_vm_global(vm, g_race_bad));
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
