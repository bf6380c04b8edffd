// SPDX-License-Identifier: GPL-2.0
/*
 * SMP guests started the hardware way (core/run.c, irq/lapic.c,
 * docs/smp.md): in a VM with an irqchip every vCPU but vCPU 0 waits in
 * the kernel for INIT and SIPI; vCPU 0 starts them through its local
 * APIC, with the MP spec's INIT, SIPI, SIPI, and they start in real mode
 * at the SIPI vector's page.
 *
 * Each AP has a host thread that calls KHYP_RUN in a loop from the start
 * and records what the AP reports by OUT (below); nothing here needs two
 * host CPUs, so the test runs in every machine.  An AP that waits must
 * sleep: its thread's state is S and it uses no CPU time.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define APIC_BASE_GPA	0xfee00000UL
#define MSR_APIC_BASE	0x1b
#define BASE_BSP	(1UL << 8)
#define BASE_EXTD	(1UL << 10)
#define BASE_EN		(1UL << 11)
#define X2APIC_ICR	0x830
#define R_SVR		0xf0
#define R_ICR		0x300
#define R_ICR2		0x310

/* ICR: delivery mode, level, trigger, shorthand. */
#define DM_INIT		0x500
#define DM_STARTUP	0x600
#define ASSERT_BIT	0x4000
#define LEVEL_TRIG	0x8000
#define ALL_BUT_SELF	0xc0000
#define INIT_ASSERT	(DM_INIT | LEVEL_TRIG | ASSERT_BIT)
#define INIT_DEASSERT	(DM_INIT | LEVEL_TRIG)
#define SIPI(v)		(DM_STARTUP | ASSERT_BIT | (v))

/* The APs' code: vector 9 starts at 0x9000, vector 0xa at 0xa000. */
#define SIPI_VECTOR	0x09
#define BAD_VECTOR	0x0a
#define GPA_COUNTERS	0x500	/* u32 per APIC ID, the APs' spin counts */

/* What an AP reports by OUT: first IP, CS, CR0, then its APIC ID. */
#define PORT_ID		0xe8
#define PORT_CS		0xe9
#define PORT_IP		0xea
#define PORT_CR0	0xeb
#define BAD_ID		0xee

/*
 * Real mode at vector << 12: IP (3 if it started at IP 0: the offset
 * after the CALL), CS, CR0 and the initial APIC ID from CPUID, then
 * count in GPA_COUNTERS[id] for ever, never leaving the guest.  It
 * spins with IF=1 (nothing interrupts it): Bochs's SVM lets a guest's
 * IF=0 mask the host's interrupts, and a spinning AP would freeze that
 * machine (docs/emulators.md).
 */
asm(".pushsection .text\n"
    ".code16\n"
    "ap_start:\n"
    "	call 1f\n"
    "1:	popw %ax\n"
    "	outw %ax, $0xea\n"
    "	movw %cs, %ax\n"
    "	outw %ax, $0xe9\n"
    "	movl %cr0, %eax\n"
    "	outl %eax, $0xeb\n"
    "	movl $1, %eax\n"
    "	cpuid\n"
    "	shrl $24, %ebx\n"
    "	movl %ebx, %eax\n"
    "	outl %eax, $0xe8\n"
    "	sti\n"
    "2:	lock incl 0x500(,%ebx,4)\n"
    "	pause\n"
    "	jmp 2b\n"
    "ap_end:\n"
    /* Started at the wrong vector: say so, then spin. */
    "bad_start:\n"
    "	movl $0xee, %eax\n"
    "	outl %eax, $0xe8\n"
    "	sti\n"
    "3:	pause\n"
    "	jmp 3b\n"
    "bad_end:\n"
    ".code64\n"
    ".popsection\n");
extern const char ap_start[], ap_end[], bad_start[], bad_end[];

/* An IPI through the xAPIC page: ICR2 (destination), then ICR sends. */
KH_GUEST_INLINE void ipi(uint32_t dest, uint32_t low)
{
	kh_guest_apic_write(R_ICR2, dest << 24);
	kh_guest_apic_write(R_ICR, low);
}

/* ---- the host's side of an AP ---- */

struct ap {
	struct kh_vcpu *vcpu;
	pthread_t thread;
	int tid;
	int stop;
	int reports;		/* OUTs to PORT_ID */
	uint32_t id, cs, ip, cr0;
	int eintr;		/* KHYP_RUN returned -EINTR */
	uint32_t eintr_reason;	/* run->exit_reason then */
	int err;		/* another errno: the thread stopped */
	uint32_t bad_exit;	/* an exit that is not ours: stopped */
};

static void on_usr1(int sig)
{
}

static void *ap_thread(void *p)
{
	struct ap *ap = p;
	struct khyp_run *run = ap->vcpu->run;

	__atomic_store_n(&ap->tid, syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&ap->stop, __ATOMIC_ACQUIRE)) {
		if (kh_vcpu_run(ap->vcpu)) {
			if (errno != EINTR) {
				ap->err = errno;
				break;
			}
			ap->eintr_reason = run->exit_reason;
			__atomic_add_fetch(&ap->eintr, 1, __ATOMIC_ACQ_REL);
			continue;
		}
		if (run->exit_reason != KHYP_EXIT_IO ||
		    run->io.direction != KHYP_IO_OUT) {
			ap->bad_exit = run->exit_reason;
			break;
		}
		switch (run->io.port) {
		case PORT_CS:
			ap->cs = run->io.data;
			break;
		case PORT_IP:
			ap->ip = run->io.data;
			break;
		case PORT_CR0:
			ap->cr0 = run->io.data;
			break;
		case PORT_ID:
			__atomic_store_n(&ap->id, run->io.data,
					 __ATOMIC_RELEASE);
			__atomic_add_fetch(&ap->reports, 1, __ATOMIC_ACQ_REL);
			break;
		default:
			ap->bad_exit = 0x10000 | run->io.port;
			return NULL;
		}
	}
	return NULL;
}

static void ap_start_thread(struct ap *ap, struct kh_vcpu *vcpu)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART: KHYP_RUN ends */
	sigaction(SIGUSR1, &sa, NULL);
	memset(ap, 0, sizeof(*ap));
	ap->vcpu = vcpu;
	pthread_create(&ap->thread, NULL, ap_thread, ap);
	while (!__atomic_load_n(&ap->tid, __ATOMIC_ACQUIRE))
		usleep(1000);
}

/* Stop the thread: immediate_exit covers a signal before the ioctl. */
static void ap_stop_thread(struct ap *ap)
{
	__atomic_store_n(&ap->stop, 1, __ATOMIC_RELEASE);
	ap->vcpu->run->immediate_exit = 1;
	while (pthread_tryjoin_np(ap->thread, NULL) == EBUSY) {
		pthread_kill(ap->thread, SIGUSR1);
		usleep(10000);
	}
	ap->vcpu->run->immediate_exit = 0;
}

static char ap_state(struct ap *ap)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", ap->tid);
	return task_state(path);
}

/* utime + stime of the AP's thread, in clock ticks. */
static long ap_cpu_ticks(struct ap *ap)
{
	char path[64], buf[512], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", ap->tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* After ")": state, then fields 4..13, then utime, stime. */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return ut + st;
}

/* Wait up to @ms for the AP's thread to sleep; its state at the end. */
static char ap_wait_sleeping(struct ap *ap, int ms)
{
	char s = ap_state(ap);

	for (; ms > 0 && s != 'S'; ms -= 10) {
		usleep(10000);
		s = ap_state(ap);
	}
	return s;
}

/* Wait up to @ms for report number @n; true if it came. */
static bool ap_wait_reports(struct ap *ap, int n, int ms)
{
	for (; ms > 0; ms -= 10) {
		if (__atomic_load_n(&ap->reports, __ATOMIC_ACQUIRE) >= n)
			return true;
		usleep(10000);
	}
	return __atomic_load_n(&ap->reports, __ATOMIC_ACQUIRE) >= n;
}

static volatile uint32_t *ap_counter(struct kh_vm *vm, unsigned int id)
{
	return (volatile uint32_t *)kh_gpa(vm, GPA_COUNTERS + 4 * id);
}

/*
 * A VM with an irqchip: vCPU 0 in long mode at @bsp, vCPUs 1..@n-1 as
 * created (waiting for SIPI), the APs' code at both SIPI pages.
 */
static struct kh_vm *smp_vm(unsigned int n, void (*bsp)(void))
{
	struct kh_vm *vm = kh_vm_create(0);
	struct kh_vcpu *vcpu;
	unsigned int i;

	if (kh_create_irqchip(vm->fd))
		return NULL;
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, bsp);
	kh_vm_install_idt(vm, vcpu);
	for (i = 1; i < n; i++)
		kh_vcpu_add(vm, i);
	kh_vm_load(vm, SIPI_VECTOR << 12, ap_start, ap_end);
	kh_vm_load(vm, BAD_VECTOR << 12, bad_start, bad_end);
	return vm;
}

#define AP_OK(ap)							\
	do {								\
		ASSERT_EQ(0, (ap)->err) TH_LOG("AP KHYP_RUN: %s",	\
					       strerror((ap)->err));	\
		ASSERT_EQ(0, (ap)->bad_exit)				\
			TH_LOG("AP exit %#x", (ap)->bad_exit);		\
	} while (0)

/* ---- tests ---- */

static void bsp_mp_start_one(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	ipi(1, INIT_ASSERT);
	GUEST_SYNC(1);
	ipi(1, INIT_DEASSERT);
	ipi(1, SIPI(SIPI_VECTOR));
	ipi(1, SIPI(SIPI_VECTOR));
	GUEST_DONE();
}

TEST(init_sipi_sipi_starts_ap_in_real_mode)
{
	struct kh_vm *vm;
	struct ap ap;

	NEED_DEV();
	vm = smp_vm(2, bsp_mp_start_one);
	ASSERT_NE(NULL, vm);
	ap_start_thread(&ap, vm->vcpus[1]);

	/* Before anything is sent, the AP's KHYP_RUN sleeps. */
	usleep(200000);
	EXPECT_EQ('S', ap_wait_sleeping(&ap, 2000));
	EXPECT_EQ(0, ap.reports);

	/* INIT alone does not start it. */
	ASSERT_SYNC(vm->vcpus[0], 1);
	usleep(100000);
	EXPECT_EQ('S', ap_wait_sleeping(&ap, 2000));
	EXPECT_EQ(0, ap.reports);

	ASSERT_DONE(vm->vcpus[0]);
	ASSERT_TRUE(ap_wait_reports(&ap, 1, 10000))
		TH_LOG("no report; err %d exit %#x", ap.err, ap.bad_exit);
	AP_OK(&ap);
	EXPECT_EQ(1, ap.id);
	EXPECT_EQ(SIPI_VECTOR << 8, ap.cs);	/* base vector << 12 */
	EXPECT_EQ(3, ap.ip);			/* started at IP 0 */
	EXPECT_EQ(0, ap.cr0 & 1);		/* real mode */
	EXPECT_EQ(0x60000010, ap.cr0 & 0xe0000011);

	/* The second SIPI found it running: one start only. */
	usleep(100000);
	EXPECT_EQ(1, ap.reports);
	EXPECT_NE('S', ap_state(&ap));		/* it spins in the guest */
	ap_stop_thread(&ap);
	AP_OK(&ap);
	EXPECT_LT(0, *ap_counter(vm, 1));
	kh_vm_free(vm);
}

TEST(ap_without_sipi_stays_parked)
{
	struct khyp_sregs sregs;
	struct khyp_regs regs;
	struct kh_vm *vm;
	long t0, t1;
	struct ap ap;
	int i;

	NEED_DEV();
	vm = smp_vm(2, bsp_mp_start_one);
	ASSERT_NE(NULL, vm);
	ap_start_thread(&ap, vm->vcpus[1]);

	/* Parked: asleep every time we look, and no CPU time used. */
	ASSERT_EQ('S', ap_wait_sleeping(&ap, 2000));
	t0 = ap_cpu_ticks(&ap);
	for (i = 0; i < 10; i++) {
		usleep(100000);
		EXPECT_EQ('S', ap_state(&ap));
	}
	t1 = ap_cpu_ticks(&ap);
	ASSERT_LE(0, t0);
	EXPECT_GE(2, t1 - t0) TH_LOG("a parked AP used %ld ticks", t1 - t0);

	/* A signal ends the wait with EINTR; KHYP_RUN again waits again. */
	pthread_kill(ap.thread, SIGUSR1);
	for (i = 0; i < 200 && !__atomic_load_n(&ap.eintr, __ATOMIC_ACQUIRE);
	     i++)
		usleep(10000);
	EXPECT_LE(1, ap.eintr);
	EXPECT_EQ(KHYP_EXIT_INTR, ap.eintr_reason);
	EXPECT_EQ('S', ap_wait_sleeping(&ap, 2000));
	EXPECT_EQ(0, ap.reports);
	ap_stop_thread(&ap);
	AP_OK(&ap);

	/* SET_REGS leaves it waiting (docs/api.md) ... */
	kh_vcpu_get_regs(ap.vcpu, &regs);
	EXPECT_EQ(0xfff0, regs.rip);
	kh_vcpu_set_regs(ap.vcpu, &regs);
	ap_start_thread(&ap, vm->vcpus[1]);
	EXPECT_EQ('S', ap_wait_sleeping(&ap, 2000));
	usleep(200000);
	EXPECT_EQ(0, ap.reports);
	ap_stop_thread(&ap);

	/* ... SET_SREGS starts it: userspace started its AP itself. */
	kh_vcpu_get_sregs(ap.vcpu, &sregs);
	sregs.cs.selector = SIPI_VECTOR << 8;
	sregs.cs.base = SIPI_VECTOR << 12;
	kh_vcpu_set_sregs(ap.vcpu, &sregs);
	regs.rip = 0;
	kh_vcpu_set_regs(ap.vcpu, &regs);
	ap_start_thread(&ap, vm->vcpus[1]);
	EXPECT_TRUE(ap_wait_reports(&ap, 1, 10000));
	ap_stop_thread(&ap);
	AP_OK(&ap);
	EXPECT_EQ(1, ap.id);
	kh_vm_free(vm);
}

static void bsp_sipi_running_then_init(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	ipi(1, INIT_ASSERT);
	ipi(1, INIT_DEASSERT);
	ipi(1, SIPI(SIPI_VECTOR));
	GUEST_SYNC(1);			/* the AP runs */
	ipi(1, SIPI(BAD_VECTOR));	/* ignored */
	ipi(1, INIT_DEASSERT);		/* ignored */
	GUEST_SYNC(2);
	ipi(1, INIT_ASSERT);		/* back to waiting */
	GUEST_SYNC(3);
	ipi(1, SIPI(SIPI_VECTOR));	/* and started again */
	GUEST_DONE();
}

TEST(sipi_to_running_ap_ignored_init_parks_it)
{
	volatile uint32_t *count;
	struct kh_vm *vm;
	uint32_t c0, c1;
	struct ap ap;

	NEED_DEV();
	vm = smp_vm(2, bsp_sipi_running_then_init);
	ASSERT_NE(NULL, vm);
	count = ap_counter(vm, 1);
	ap_start_thread(&ap, vm->vcpus[1]);

	ASSERT_SYNC(vm->vcpus[0], 1);
	ASSERT_TRUE(ap_wait_reports(&ap, 1, 10000))
		TH_LOG("no report; err %d exit %#x", ap.err, ap.bad_exit);
	EXPECT_EQ(1, ap.id);

	/* SIPI and INIT de-assert to a running AP: it goes on counting. */
	ASSERT_SYNC(vm->vcpus[0], 2);
	c0 = *count;
	usleep(300000);
	c1 = *count;
	EXPECT_LT(c0, c1);
	EXPECT_EQ(1, ap.reports);
	EXPECT_EQ(1, ap.id);	/* not BAD_ID: never restarted */

	/* INIT: it stops and sleeps. */
	ASSERT_SYNC(vm->vcpus[0], 3);
	EXPECT_EQ('S', ap_wait_sleeping(&ap, 5000));
	c0 = *count;
	usleep(300000);
	EXPECT_EQ(c0, *count);
	EXPECT_EQ('S', ap_state(&ap));

	/* SIPI: started again, at the start. */
	ASSERT_DONE(vm->vcpus[0]);
	EXPECT_TRUE(ap_wait_reports(&ap, 2, 10000));
	EXPECT_EQ(3, ap.ip);
	ap_stop_thread(&ap);
	AP_OK(&ap);
	kh_vm_free(vm);
}

static void bsp_broadcast(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	ipi(0, INIT_ASSERT | ALL_BUT_SELF);
	ipi(0, INIT_DEASSERT | ALL_BUT_SELF);
	ipi(0, SIPI(SIPI_VECTOR) | ALL_BUT_SELF);
	ipi(0, SIPI(SIPI_VECTOR) | ALL_BUT_SELF);
	GUEST_DONE();		/* not reset by its own broadcast */
}

TEST(broadcast_init_sipi_starts_three_aps)
{
	struct ap aps[4];
	struct kh_vm *vm;
	unsigned int i;

	NEED_DEV();
	vm = smp_vm(4, bsp_broadcast);
	ASSERT_NE(NULL, vm);
	for (i = 1; i < 4; i++)
		ap_start_thread(&aps[i], vm->vcpus[i]);
	for (i = 1; i < 4; i++)
		EXPECT_EQ('S', ap_wait_sleeping(&aps[i], 2000));
	ASSERT_DONE(vm->vcpus[0]);
	for (i = 1; i < 4; i++) {
		EXPECT_TRUE(ap_wait_reports(&aps[i], 1, 10000))
			TH_LOG("AP %u did not start", i);
		EXPECT_EQ(i, aps[i].id);
		EXPECT_EQ(1, aps[i].reports);
	}
	for (i = 1; i < 4; i++) {
		ap_stop_thread(&aps[i]);
		AP_OK(&aps[i]);
	}
	kh_vm_free(vm);
}

static void bsp_x2apic(void)
{
	uint64_t dest = 1ULL << 32;

	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_wrmsr(MSR_APIC_BASE, APIC_BASE_GPA | BASE_BSP | BASE_EN |
		       BASE_EXTD);
	kh_guest_wrmsr(X2APIC_ICR, dest | INIT_ASSERT);
	kh_guest_wrmsr(X2APIC_ICR, dest | INIT_DEASSERT);
	kh_guest_wrmsr(X2APIC_ICR, dest | SIPI(SIPI_VECTOR));
	GUEST_DONE();
}

TEST(x2apic_icr_starts_ap)
{
	struct kh_vm *vm;
	struct ap ap;

	NEED_DEV();
	vm = smp_vm(2, bsp_x2apic);
	ASSERT_NE(NULL, vm);
	ap_start_thread(&ap, vm->vcpus[1]);
	ASSERT_DONE(vm->vcpus[0]);
	EXPECT_TRUE(ap_wait_reports(&ap, 1, 10000));
	EXPECT_EQ(1, ap.id);
	EXPECT_EQ(SIPI_VECTOR << 8, ap.cs);
	ap_stop_thread(&ap);
	AP_OK(&ap);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
