// SPDX-License-Identifier: GPL-2.0
/*
 * IPIs between vCPUs of a VM with an in-kernel irqchip (irq/lapic.c,
 * khyp_lapic_route(), docs/irq.md): lowest-priority arbitration (one
 * APIC takes the message, the lowest bidder, ties in turn), an NMI by
 * IPI waking its target's HLT, logical flat and cluster destinations,
 * the broadcast shorthands, an IPI storm from every vCPU, teardown while
 * a periodic LAPIC timer runs, a signal to a vCPU halted in the
 * kernel, and bench's IPI ping-pong through HLT (a watchdog dumps both
 * vCPUs' threads and APICs if it stalls).
 *
 * Two ways of running the vCPUs.  Where the test is about who takes a
 * message, the host runs one vCPU at a time to its next GUEST_SYNC
 * (delivery sets IRR at once, whether the target runs or not) and the
 * receivers keep IF=0, so each reports its IRR: exact and repeatable.
 * Where the test is about vCPUs at the same time (the NMI that wakes a
 * halted vCPU, the storm, the signal), each vCPU runs in a thread of its
 * own, as sipi_test's APs do.  Nothing needs two host CPUs.
 *
 * The library's IDT handlers count in one array shared by every vCPU;
 * the handlers below count per APIC ID instead (ipi_got[], nmi_got[]).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"
#include "apic.h"

#define DM_LOWEST	0x100
#define DM_NMI		0x400
#define LOGICAL		0x800
#define SH_SELF		0x40000
#define SH_ALLINC	0x80000
#define SH_ALLBUT	0xc0000
#define LVT_PERIODIC	0x20000
#define TDCR_DIV1	0xb
#define DFR_CLUSTER	0x0fffffff
#define SVR_ON		0x1ff
#define SVR_OFF		0xff		/* software-disabled */

#define MSI_ADDR(id)	(KH_APIC_BASE_GPA | ((uint64_t)(id) << 12))
#define MSI_LOGICAL	0x4

#define NR_CPUS		4

/* ---- per-APIC counting handlers (installed over the library's) ---- */

volatile uint32_t ipi_got[8];	/* fixed interrupts taken, by APIC ID */
volatile uint32_t nmi_got[8];	/* NMIs taken, by APIC ID */

/*
 * The APIC ID from the xAPIC page (an MMIO exit), a locked increment of
 * the counter, then (fixed interrupts only) EOI.
 */
asm(".pushsection .text\n"
    "ipi_count_handler:\n"
    "	pushq %rax\n"
    "	pushq %rbx\n"
    "	movl $0xfee00020, %ebx\n"
    "	movl (%rbx), %eax\n"
    "	shrl $24, %eax\n"
    "	andl $7, %eax\n"
    "	lock incl ipi_got(,%rax,4)\n"
    "	movl $0xfee000b0, %ebx\n"
    "	movl $0, (%rbx)\n"
    "	popq %rbx\n"
    "	popq %rax\n"
    "	iretq\n"
    "nmi_count_handler:\n"
    "	pushq %rax\n"
    "	pushq %rbx\n"
    "	movl $0xfee00020, %ebx\n"
    "	movl (%rbx), %eax\n"
    "	shrl $24, %eax\n"
    "	andl $7, %eax\n"
    "	lock incl nmi_got(,%rax,4)\n"
    "	popq %rbx\n"
    "	popq %rax\n"
    "	iretq\n"
    ".popsection\n");
extern const char ipi_count_handler[], nmi_count_handler[];

/* Point IDT gate @vector at @handler (after kh_vm_install_idt()). */
static void set_gate(struct kh_vm *vm, uint8_t vector, const void *handler)
{
	uint64_t *idt = kh_gpa(vm, KH_GPA_IDT);
	uint64_t h = (uint64_t)(uintptr_t)handler;

	/* 64-bit interrupt gate, DPL 0, present, no IST */
	idt[2 * vector] = (h & 0xffff) | KH_SEL_CODE64 << 16 |
			  0x8eULL << 40 | (h >> 16 & 0xffff) << 48;
	idt[2 * vector + 1] = h >> 32;
}

/* ---- guest helpers ---- */

KH_GUEST_INLINE void ipi(uint32_t dest, uint32_t low)
{
	kh_guest_apic_write(R_ICR2, dest << 24);
	kh_guest_apic_write(R_ICR, low);
}

KH_GUEST_INLINE int irr_bit(uint8_t v)
{
	return vec_bit(R_IRR, v);
}

/* Bit i set if vector @first + i is in this APIC's IRR (i < 16). */
KH_GUEST_INLINE uint32_t irr_mask(uint8_t first)
{
	uint32_t m = 0;
	int i;

	for (i = 0; i < 16; i++)
		if (irr_bit(first + i))
			m |= 1U << i;
	return m;
}

/* ---- host helpers ---- */

/* @n vCPUs, vCPU i at fn(i, arg[i]), IDTs loaded. */
static struct kh_vm *vm_with_apic(unsigned int n, void (*fn)(void),
				  const uint64_t *arg)
{
	void (*fns[KHYP_MAX_VCPUS])(void);
	struct kh_vm *vm;
	unsigned int i;

	for (i = 0; i < n; i++)
		fns[i] = fn;
	vm = kh_vm_with_irqchip(n, fns);
	for (i = 0; vm && i < n; i++)
		kh_vcpu_set_args(vm->vcpus[i], i, arg ? arg[i] : 0);
	return vm;
}

static void on_usr1(int sig)
{
}

/* SIGUSR1 with a handler and without SA_RESTART: KHYP_RUN ends. */
static void catch_usr1(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
}

/*
 * A vCPU in a thread: one KHYP_RUN (@once), or runs until GUEST_DONE,
 * stopping at anything else.  Only the fd is used: the test may close
 * it and unmap the run page while the thread is inside KHYP_RUN.
 */
struct runner {
	struct kh_vcpu *vcpu;
	int fd;
	bool once;
	pthread_t thread;
	int tid;
	int done;		/* the thread has ended */
	int r, err;		/* the last KHYP_RUN */
	uint32_t exit_reason;
	int ucall;		/* the last ucall, or -1 */
	struct kh_ucall uc;
};

static void *runner_fn(void *p)
{
	struct runner *rn = p;

	__atomic_store_n(&rn->tid, syscall(SYS_gettid), __ATOMIC_RELEASE);
	do {
		rn->r = ioctl(rn->fd, KHYP_RUN, 0);
		rn->err = errno;
		if (rn->once)
			break;
		rn->exit_reason = rn->vcpu->run->exit_reason;
		rn->ucall = rn->r ? -1 : kh_vcpu_get_ucall(rn->vcpu, &rn->uc);
	} while (rn->ucall == KH_UCALL_SYNC);
	__atomic_store_n(&rn->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void runner_start(struct runner *rn, struct kh_vcpu *vcpu, bool once)
{
	memset(rn, 0, sizeof(*rn));
	rn->vcpu = vcpu;
	rn->fd = vcpu->fd;
	rn->once = once;
	rn->ucall = -1;
	catch_usr1();
	pthread_create(&rn->thread, NULL, runner_fn, rn);
	while (!__atomic_load_n(&rn->tid, __ATOMIC_ACQUIRE))
		usleep(1000);
}

/* Wait up to @ms for the thread to end; else interrupt it.  True if it ended. */
static bool runner_join(struct runner *rn, int ms)
{
	for (; ms > 0 && !__atomic_load_n(&rn->done, __ATOMIC_ACQUIRE);
	     ms -= 10)
		usleep(10000);
	if (__atomic_load_n(&rn->done, __ATOMIC_ACQUIRE)) {
		pthread_join(rn->thread, NULL);
		return true;
	}
	rn->vcpu->run->immediate_exit = 1;
	while (pthread_tryjoin_np(rn->thread, NULL) == EBUSY) {
		pthread_kill(rn->thread, SIGUSR1);
		usleep(10000);
	}
	rn->vcpu->run->immediate_exit = 0;
	return false;
}

static char runner_state(struct runner *rn)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", rn->tid);
	return task_state(path);
}

/* Wait up to @ms for the thread to sleep (state S). */
static char runner_wait_sleeping(struct runner *rn, int ms)
{
	char s = runner_state(rn);

	for (; ms > 0 && s != 'S'; ms -= 10) {
		usleep(10000);
		s = runner_state(rn);
	}
	return s;
}

/* Run @vcpu to its next GUEST_SYNC; the ucall's args in @uc. */
#define ASSERT_SYNC_UC(vcpu, val, uc)					\
	do {								\
		ASSERT_UCALL(vcpu, KH_UCALL_SYNC, uc);			\
		ASSERT_EQ((uint64_t)(val), (uc)->args[0]);		\
	} while (0)

/* ---- lowest priority ---- */

/* Four messages, one vector each: bit i of a mask is V_LP1 + i. */
#define V_LP1	0x51

/*
 * vCPU @id with TPR @tpr, IF=0, logical ID bit @id (flat).  vCPU 0 sends
 * three lowest-priority IPIs (logical to all four, physical broadcast,
 * all-but-self); the host then signals a lowest-priority MSI to all
 * four.  Each vCPU reports which of the four vectors wait in its IRR.
 */
static void guest_lowest(uint64_t id, uint64_t tpr)
{
	kh_guest_cli();
	kh_guest_apic_write(R_SVR, SVR_ON);
	kh_guest_apic_write(R_LDR, (1U << id) << 24);
	kh_guest_apic_write(R_TPR, tpr);
	GUEST_SYNC(1);
	if (id == 0) {
		ipi(0x0f, DM_LOWEST | LOGICAL | (V_LP1 + 0));
		ipi(0xff, DM_LOWEST | (V_LP1 + 1));
		ipi(0, DM_LOWEST | SH_ALLBUT | (V_LP1 + 2));
		GUEST_SYNC(2);
	}
	GUEST_SYNC4(3, irr_mask(V_LP1) & 0xf, kh_guest_apic_read(R_TPR), 0);
	GUEST_DONE();
}

/*
 * TPRs 0x40, 0x30, 0x10, 0x20.  A vector of class 5 waiting in IRR
 * raises its APIC's arbitration priority to 0x50 (SDM 10.8.3.1), so:
 * the first message goes to vCPU 2 (0x10), the second to vCPU 3 (0x20),
 * the third, which excludes vCPU 0, to vCPU 1 (0x30), the MSI to vCPU
 * 0 (0x40, the others now 0x50).  Each takes exactly one.
 */
TEST(lowest_priority_goes_to_lowest_tpr_only)
{
	static const uint64_t tpr[NR_CPUS] = { 0x40, 0x30, 0x10, 0x20 };
	static const uint32_t want[NR_CPUS] = { 0x8, 0x4, 0x1, 0x2 };
	struct kh_ucall uc;
	struct kh_vm *vm;
	unsigned int i;

	NEED_DEV();
	vm = vm_with_apic(NR_CPUS, (void (*)(void))guest_lowest, tpr);
	ASSERT_NE(NULL, vm);
	for (i = 0; i < NR_CPUS; i++)
		ASSERT_SYNC(vm->vcpus[i], 1);
	ASSERT_SYNC(vm->vcpus[0], 2);
	ASSERT_EQ(0, kh_signal_msi(vm, MSI_ADDR(0x0f) | MSI_LOGICAL,
				DM_LOWEST | (V_LP1 + 3)))
		TH_LOG("KHYP_SIGNAL_MSI: %s", strerror(errno));
	for (i = 0; i < NR_CPUS; i++) {
		ASSERT_SYNC_UC(vm->vcpus[i], 3, &uc);
		EXPECT_EQ(tpr[i], uc.args[2]);
		EXPECT_EQ(want[i], uc.args[1])
			TH_LOG("vCPU %u (TPR %#lx) has IRR mask %#lx, not %#x",
			       i, (unsigned long)tpr[i],
			       (unsigned long)uc.args[1], want[i]);
	}
	for (i = 0; i < NR_CPUS; i++)
		ASSERT_DONE(vm->vcpus[i]);
	kh_vm_free(vm);
}

#define V_TIE1	0x21

/*
 * Equal bids: TPR 0x20 everywhere and class-2 vectors (a class not above
 * the TPR's leaves the arbitration priority at the TPR).  vCPU 3 is
 * software-disabled with TPR 0: it would bid lowest, but a disabled APIC
 * takes no interrupt and must not win.  vCPU 0 sends four messages to
 * logical 0x0f; ties go round-robin from the last winner, starting at
 * vCPU 0 in a new VM (docs/irq.md): vCPUs 0, 1, 2, then 0 again.
 */
static void guest_ties(uint64_t id, uint64_t unused)
{
	int i;

	kh_guest_cli();
	kh_guest_apic_write(R_SVR, id == 3 ? SVR_OFF : SVR_ON);
	kh_guest_apic_write(R_LDR, (1U << id) << 24);
	kh_guest_apic_write(R_TPR, id == 3 ? 0 : 0x20);
	GUEST_SYNC(1);
	if (id == 0) {
		for (i = 0; i < 4; i++)
			ipi(0x0f, DM_LOWEST | LOGICAL | (V_TIE1 + i));
		GUEST_SYNC(2);
	}
	GUEST_SYNC4(3, irr_mask(V_TIE1) & 0xf, 0, 0);
	GUEST_DONE();
}

TEST(lowest_priority_ties_take_turns)
{
	static const uint32_t want[NR_CPUS] = { 0x9, 0x2, 0x4, 0x0 };
	struct kh_ucall uc;
	struct kh_vm *vm;
	unsigned int i;

	NEED_DEV();
	vm = vm_with_apic(NR_CPUS, (void (*)(void))guest_ties, NULL);
	ASSERT_NE(NULL, vm);
	for (i = 0; i < NR_CPUS; i++)
		ASSERT_SYNC(vm->vcpus[i], 1);
	ASSERT_SYNC(vm->vcpus[0], 2);
	for (i = 0; i < NR_CPUS; i++) {
		ASSERT_SYNC_UC(vm->vcpus[i], 3, &uc);
		EXPECT_EQ(want[i], uc.args[1])
			TH_LOG("vCPU %u has IRR mask %#lx, not %#x", i,
			       (unsigned long)uc.args[1], want[i]);
	}
	for (i = 0; i < NR_CPUS; i++)
		ASSERT_DONE(vm->vcpus[i]);
	kh_vm_free(vm);
}

/* ---- NMI ---- */

/*
 * vCPU 1 halts with IF=0: only an NMI (or INIT) ends that HLT.  vCPU 0
 * sends it one by IPI (delivery mode 100b); vCPU 1's NMI handler counts
 * it under APIC ID 1, and vCPU 0's must see none.
 */
static void guest_nmi(uint64_t id, uint64_t unused)
{
	kh_guest_cli();
	kh_guest_apic_write(R_SVR, SVR_ON);
	GUEST_SYNC(1);
	if (id == 1) {
		kh_guest_hlt();
		GUEST_SYNC4(2, nmi_got[1], nmi_got[0], 0);
	} else {
		ipi(1, DM_NMI);
		kh_guest_spin(20000);	/* a misrouted NMI would come here */
		GUEST_SYNC4(2, nmi_got[0], 0, 0);
	}
	GUEST_DONE();
}

TEST(nmi_ipi_reaches_target_handler)
{
	struct runner rn;
	struct kh_ucall uc;
	struct kh_vm *vm;

	NEED_DEV();
	vm = vm_with_apic(2, (void (*)(void))guest_nmi, NULL);
	ASSERT_NE(NULL, vm);
	set_gate(vm, 2, nmi_count_handler);
	ASSERT_SYNC(vm->vcpus[0], 1);
	ASSERT_SYNC(vm->vcpus[1], 1);

	/* vCPU 1 halts in its thread's one KHYP_RUN. */
	runner_start(&rn, vm->vcpus[1], true);
	EXPECT_EQ('S', runner_wait_sleeping(&rn, 2000));
	ASSERT_SYNC_UC(vm->vcpus[0], 2, &uc);
	EXPECT_EQ(0, uc.args[1]) TH_LOG("the sender took its own NMI");
	ASSERT_TRUE(runner_join(&rn, 10000))
		TH_LOG("vCPU 1 still halted 10 s after the NMI IPI");
	ASSERT_EQ(0, rn.r) TH_LOG("KHYP_RUN: %s", strerror(rn.err));
	ASSERT_EQ(KH_UCALL_SYNC, kh_vcpu_get_ucall(vm->vcpus[1], &uc));
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]);	/* one NMI, on APIC ID 1 */
	EXPECT_EQ(0, uc.args[2]);	/* none on APIC ID 0 */
	EXPECT_EQ(0, kh_vm_global(vm, nmi_got)[0]);
	EXPECT_EQ(1, kh_vm_global(vm, nmi_got)[1]);
	ASSERT_DONE(vm->vcpus[0]);
	ASSERT_DONE(vm->vcpus[1]);
	kh_vm_free(vm);
}

/* ---- logical destinations ---- */

/* Flat: bit i of the mask is V_FLAT + i; cluster: V_CL + i. */
#define V_FLAT	0x61
#define V_CL	0x71

/*
 * Flat model (DFR all ones): LDR bit @id.  vCPU 0 sends to 0x0a (vCPUs
 * 1 and 3) and to 0x01 (itself).  Then the cluster model (DFR 0x0fff..):
 * vCPUs 0, 1 are cluster 1 (0x11, 0x12), vCPUs 2, 3 cluster 2 (0x21,
 * 0x22); vCPU 0 sends to 0x13 (0 and 1), 0x22 (3), 0x23 (2 and 3), 0x24
 * (nobody: cluster 2 has no member 4) and 0xff (everybody).
 */
static void guest_logical(uint64_t id, uint64_t unused)
{
	static const uint8_t cl_ldr[NR_CPUS] = { 0x11, 0x12, 0x21, 0x22 };

	kh_guest_cli();
	kh_guest_apic_write(R_SVR, SVR_ON);
	kh_guest_apic_write(R_LDR, (1U << id) << 24);
	GUEST_SYNC(1);
	if (id == 0) {
		ipi(0x0a, LOGICAL | (V_FLAT + 0));
		ipi(0x01, LOGICAL | (V_FLAT + 1));
	}
	GUEST_SYNC(2);
	kh_guest_apic_write(R_DFR, DFR_CLUSTER);
	kh_guest_apic_write(R_LDR, (uint32_t)cl_ldr[id] << 24);
	GUEST_SYNC4(3, irr_mask(V_FLAT) & 0x3, 0, 0);
	if (id == 0) {
		ipi(0x13, LOGICAL | (V_CL + 0));
		ipi(0x22, LOGICAL | (V_CL + 1));
		ipi(0x23, LOGICAL | (V_CL + 2));
		ipi(0x24, LOGICAL | (V_CL + 3));
		ipi(0xff, LOGICAL | (V_CL + 4));
	}
	GUEST_SYNC(4);
	GUEST_SYNC4(5, irr_mask(V_CL) & 0x1f, 0, 0);
	GUEST_DONE();
}

TEST(logical_flat_and_cluster_destinations)
{
	static const uint32_t flat[NR_CPUS] = { 0x2, 0x1, 0x0, 0x1 };
	static const uint32_t cl[NR_CPUS] = { 0x11, 0x11, 0x14, 0x16 };
	struct kh_ucall uc;
	struct kh_vm *vm;
	unsigned int i;

	NEED_DEV();
	vm = vm_with_apic(NR_CPUS, (void (*)(void))guest_logical, NULL);
	ASSERT_NE(NULL, vm);
	for (i = 0; i < NR_CPUS; i++)
		ASSERT_SYNC(vm->vcpus[i], 1);
	ASSERT_SYNC(vm->vcpus[0], 2);		/* vCPU 0 sent, flat */
	for (i = 1; i < NR_CPUS; i++)
		ASSERT_SYNC(vm->vcpus[i], 2);
	for (i = 0; i < NR_CPUS; i++) {
		ASSERT_SYNC_UC(vm->vcpus[i], 3, &uc);
		EXPECT_EQ(flat[i], uc.args[1])
			TH_LOG("flat: vCPU %u has IRR mask %#lx, not %#x", i,
			       (unsigned long)uc.args[1], flat[i]);
	}
	ASSERT_SYNC(vm->vcpus[0], 4);		/* vCPU 0 sent, cluster */
	for (i = 1; i < NR_CPUS; i++)
		ASSERT_SYNC(vm->vcpus[i], 4);
	for (i = 0; i < NR_CPUS; i++) {
		ASSERT_SYNC_UC(vm->vcpus[i], 5, &uc);
		EXPECT_EQ(cl[i], uc.args[1])
			TH_LOG("cluster: vCPU %u has IRR mask %#lx, not %#x", i,
			       (unsigned long)uc.args[1], cl[i]);
	}
	for (i = 0; i < NR_CPUS; i++)
		ASSERT_DONE(vm->vcpus[i]);
	kh_vm_free(vm);
}

/* ---- shorthands ---- */

#define V_SH	0x81	/* + 0 all-incl-self, 1 all-but-self, 2 self, 3 0xff */

/* vCPU 1 sends; each vCPU reports the four vectors in its IRR. */
static void guest_shorthands(uint64_t id, uint64_t unused)
{
	kh_guest_cli();
	kh_guest_apic_write(R_SVR, SVR_ON);
	GUEST_SYNC(1);
	if (id == 1) {
		ipi(0x02, SH_ALLINC | (V_SH + 0));	/* dest ignored */
		ipi(0x02, SH_ALLBUT | (V_SH + 1));
		ipi(0x02, SH_SELF | (V_SH + 2));
		ipi(0xff, V_SH + 3);			/* physical broadcast */
		GUEST_SYNC(2);
	}
	GUEST_SYNC4(3, irr_mask(V_SH) & 0xf, 0, 0);
	GUEST_DONE();
}

TEST(broadcast_shorthands)
{
	static const uint32_t want[NR_CPUS] = { 0xb, 0xd, 0xb, 0xb };
	struct kh_ucall uc;
	struct kh_vm *vm;
	unsigned int i;

	NEED_DEV();
	vm = vm_with_apic(NR_CPUS, (void (*)(void))guest_shorthands, NULL);
	ASSERT_NE(NULL, vm);
	for (i = 0; i < NR_CPUS; i++)
		ASSERT_SYNC(vm->vcpus[i], 1);
	ASSERT_SYNC(vm->vcpus[1], 2);
	for (i = 0; i < NR_CPUS; i++) {
		ASSERT_SYNC_UC(vm->vcpus[i], 3, &uc);
		EXPECT_EQ(want[i], uc.args[1])
			TH_LOG("vCPU %u has IRR mask %#lx, not %#x", i,
			       (unsigned long)uc.args[1], want[i]);
	}
	for (i = 0; i < NR_CPUS; i++)
		ASSERT_DONE(vm->vcpus[i]);
	kh_vm_free(vm);
}

/* ---- a storm ---- */

#define V_STORM		0x91
#define STORM_IPIS	500	/* per vCPU */

volatile uint32_t storm_sent[8];	/* messages sent to each APIC ID */
volatile uint32_t storm_finished;	/* vCPUs done sending */

/*
 * Every vCPU, IF=1, sends STORM_IPIS fixed IPIs as fast as it can: to
 * each other vCPU in turn, and every 8th one to all but itself.  The
 * handler counts them per APIC ID and EOIs.  An interrupt sent while the
 * same vector waits in IRR merges with it, so a vCPU takes at most what
 * was sent to it.  When all have sent, each has taken and EOIed
 * everything: the vector is neither in its IRR nor in its ISR.
 */
static void guest_storm(uint64_t id, uint64_t unused)
{
	uint32_t k, to;

	kh_guest_apic_write(R_SVR, SVR_ON);
	kh_guest_sti();
	GUEST_SYNC(1);
	for (k = 0; k < STORM_IPIS; k++) {
		if (k % 8 == 7) {
			ipi(0, SH_ALLBUT | V_STORM);
			for (to = 0; to < NR_CPUS; to++)
				if (to != id)
					__atomic_add_fetch(&storm_sent[to], 1,
							   __ATOMIC_RELAXED);
			continue;
		}
		to = (id + 1 + k % (NR_CPUS - 1)) % NR_CPUS;
		ipi(to, V_STORM);
		__atomic_add_fetch(&storm_sent[to], 1, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&storm_finished, 1, __ATOMIC_ACQ_REL);
	while (storm_finished < NR_CPUS)
		kh_guest_pause();
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_STORM), 0);
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_STORM), 0);
	GUEST_DONE();
}

TEST(ipi_storm_from_every_vcpu)
{
	struct runner rn[NR_CPUS];
	double t0, t, worst = 0, start;
	uint32_t got, sent, total = 0;
	struct kh_vm *vm;
	unsigned int i, ended;

	NEED_DEV();
	vm = vm_with_apic(NR_CPUS, (void (*)(void))guest_storm, NULL);
	ASSERT_NE(NULL, vm);
	set_gate(vm, V_STORM, ipi_count_handler);
	for (i = 0; i < NR_CPUS; i++)
		ASSERT_SYNC(vm->vcpus[i], 1);
	for (i = 0; i < NR_CPUS; i++)
		runner_start(&rn[i], vm->vcpus[i], false);

	/* The host stays responsive: a 10 ms sleep is never much longer. */
	start = now_s();
	do {
		t0 = now_s();
		usleep(10000);
		t = now_s() - t0;
		if (t > worst)
			worst = t;
		for (ended = 0, i = 0; i < NR_CPUS; i++)
			ended += __atomic_load_n(&rn[i].done, __ATOMIC_ACQUIRE);
	} while (ended < NR_CPUS && now_s() - start < 25);
	TH_LOG("storm: %u IPIs sent in %.2f s, longest 10 ms sleep %.3f s",
	       NR_CPUS * STORM_IPIS, now_s() - start, worst);
	for (i = 0; i < NR_CPUS; i++) {
		EXPECT_TRUE(runner_join(&rn[i], 100))
			TH_LOG("vCPU %u did not finish", i);
		EXPECT_EQ(KH_UCALL_DONE, rn[i].ucall)
			TH_LOG("vCPU %u: KHYP_RUN %d (%s), exit %s, %s %#lx %#lx",
			       i, rn[i].r, strerror(rn[i].err),
			       kh_exit_name(rn[i].exit_reason),
			       rn[i].ucall == KH_UCALL_ASSERT ?
			       rn[i].uc.expr : "",
			       (unsigned long)rn[i].uc.args[0],
			       (unsigned long)rn[i].uc.args[1]);
	}
	EXPECT_GT(2.0, worst);
	for (i = 0; i < NR_CPUS; i++) {
		got = kh_vm_global(vm, ipi_got)[i];
		sent = kh_vm_global(vm, storm_sent)[i];
		total += got;
		TH_LOG("vCPU %u: %u IPIs sent to it, %u taken", i, sent, got);
		EXPECT_LT(0, got);
		EXPECT_GE(sent, got);
	}
	/* Every vCPU sent STORM_IPIS messages, 1 in 8 to three vCPUs. */
	EXPECT_EQ(NR_CPUS * (STORM_IPIS + 2 * (STORM_IPIS / 8)),
		  kh_vm_global(vm, storm_sent)[0] +
		  kh_vm_global(vm, storm_sent)[1] +
		  kh_vm_global(vm, storm_sent)[2] +
		  kh_vm_global(vm, storm_sent)[3]);
	EXPECT_LT(0, total);
	kh_vm_free(vm);
}

/* ---- teardown with a running timer ---- */

#define V_TICK		0xa1
#define REFCNT		"/sys/module/khyp/refcnt"
#define DEBUGFS		"/sys/kernel/debug"

/* The VMs khyp still has: its debugfs vm<N> directories, or -1. */
static int debugfs_vms(void)
{
	struct dirent *d;
	DIR *dir;
	int n = 0;

	khyp_debugfs();
	dir = opendir(DEBUGFS "/khyp");
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += !strncmp(d->d_name, "vm", 2);
	closedir(dir);
	return n;
}

/* Wait up to 2 s for khyp's VMs to fall to @want. */
static int vms_settle(int want)
{
	int v = debugfs_vms();
	int i;

	for (i = 0; i < 200 && v != want; i++) {
		usleep(10000);
		v = debugfs_vms();
	}
	return v;
}

static long module_refcnt(void)
{
	char buf[32];
	long v = -1;
	int fd, n;

	fd = open(REFCNT, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		v = strtol(buf, NULL, 10);
	}
	close(fd);
	return v;
}

/* Wait up to 2 s for the module's references to fall to @want. */
static long refcnt_settles(long want)
{
	long v = module_refcnt();
	int i;

	for (i = 0; i < 200 && v != want; i++) {
		usleep(10000);
		v = module_refcnt();
	}
	return v;
}

/*
 * A periodic timer of 10 ms, counted and EOIed; halts between ticks.
 * (At 1 ms the vCPU's thread in Bochs is busy most of the time.)
 */
static void guest_ticking(uint64_t id, uint64_t unused)
{
	kh_guest_apic_write(R_SVR, SVR_ON);
	kh_guest_apic_write(R_TDCR, TDCR_DIV1);
	kh_guest_apic_write(R_LVTT, LVT_PERIODIC | V_TICK);
	kh_guest_apic_write(R_TMICT, 10000000);
	kh_guest_sti();
	while (ipi_got[id] < 3)
		kh_guest_hlt();
	GUEST_SYNC(1);
	for (;;)
		kh_guest_hlt();
}

static struct kh_vm *ticking_vm(void)
{
	struct kh_vm *vm = vm_with_apic(2, (void (*)(void))guest_ticking,
					NULL);

	if (vm)
		set_gate(vm, V_TICK, ipi_count_handler);
	return vm;
}

/*
 * Close every fd (and unmap) while the timers run: first with both vCPUs
 * out of KHYP_RUN, then with vCPU 1 halted inside it in a thread, which
 * keeps its files open until a signal ends the run.  Every reference to
 * the module goes away, the VM is freed (its debugfs directory goes),
 * and the timers,
 * whose callbacks use the vCPU, fire no more (a callback on freed memory
 * would show in the kernel's log, which the run judges).
 */
TEST(teardown_with_periodic_timer_running)
{
	struct runner rn;
	struct kh_vm *vm;
	long base, v;
	uint32_t before;
	int vms;

	NEED_DEV();
	base = module_refcnt();
	if (base < 0)
		SKIP(return, "no " REFCNT);
	vms = debugfs_vms();
	ASSERT_LE(0, vms) TH_LOG("no " DEBUGFS "/khyp");

	vm = ticking_vm();
	ASSERT_NE(NULL, vm);
	ASSERT_SYNC(vm->vcpus[0], 1);
	ASSERT_SYNC(vm->vcpus[1], 1);
	EXPECT_LT(base, module_refcnt());
	kh_vm_free(vm);
	v = refcnt_settles(base);
	EXPECT_EQ(base, v) TH_LOG("khyp refcnt %ld after the VM, %ld before",
				  v, base);
	EXPECT_EQ(vms, vms_settle(vms)) TH_LOG("the closed VM is still there");
	usleep(50000);		/* a timer left behind would fire now */

	vm = ticking_vm();
	ASSERT_NE(NULL, vm);
	ASSERT_SYNC(vm->vcpus[0], 1);
	ASSERT_SYNC(vm->vcpus[1], 1);
	runner_start(&rn, vm->vcpus[1], true);
	/* It ticks on inside its KHYP_RUN. */
	before = kh_vm_global(vm, ipi_got)[1];
	usleep(200000);
	EXPECT_LT(before, kh_vm_global(vm, ipi_got)[1]);
	EXPECT_EQ(0, __atomic_load_n(&rn.done, __ATOMIC_ACQUIRE));
	/* Only the thread's run keeps the vCPU now; kh_vm_free() closes. */
	rn.vcpu = NULL;
	kh_vm_free(vm);
	EXPECT_LT(base, module_refcnt());	/* the running vCPU's file */
	pthread_kill(rn.thread, SIGUSR1);
	EXPECT_EQ(0, pthread_join(rn.thread, NULL));
	EXPECT_EQ(-1, rn.r);
	EXPECT_EQ(EINTR, rn.err);
	v = refcnt_settles(base);
	EXPECT_EQ(base, v) TH_LOG("khyp refcnt %ld after the VM, %ld before",
				  v, base);
	EXPECT_EQ(vms, vms_settle(vms)) TH_LOG("the closed VM is still there");
	usleep(50000);
}

/* ---- a signal to a halted vCPU ---- */

#define V_WAKE	0xb1
#define MAGIC	0x5a5a1234c0ffee00ULL

/*
 * HLT with IF=1 and nothing pending: the vCPU sleeps in the kernel.  R12
 * holds a value across it; after the wake-up interrupt the guest goes on
 * after the HLT, once.
 */
static void guest_sleeper(uint64_t id, uint64_t unused)
{
	uint64_t r12;

	kh_guest_apic_write(R_SVR, SVR_ON);
	GUEST_SYNC(1);
	asm volatile("movq %1, %%r12\n\t"
		     "sti\n\t"
		     "hlt\n\t"
		     "cli\n\t"
		     "movq %%r12, %0"
		     : "=r"(r12) : "r"(MAGIC) : "r12", "memory");
	GUEST_SYNC4(2, ipi_got[0], r12 == MAGIC, 0);
	GUEST_DONE();
}

TEST(signal_to_halted_vcpu_then_resume)
{
	struct runner rn;
	struct kh_ucall uc;
	struct kh_vm *vm;
	int i;

	NEED_DEV();
	vm = vm_with_apic(1, (void (*)(void))guest_sleeper, NULL);
	ASSERT_NE(NULL, vm);
	set_gate(vm, V_WAKE, ipi_count_handler);
	ASSERT_SYNC(vm->vcpus[0], 1);

	/* Three times: asleep in HLT, a signal, EINTR; no exit of ours. */
	for (i = 0; i < 3; i++) {
		runner_start(&rn, vm->vcpus[0], true);
		ASSERT_EQ('S', runner_wait_sleeping(&rn, 2000));
		usleep(50000);
		EXPECT_EQ(0, __atomic_load_n(&rn.done, __ATOMIC_ACQUIRE));
		pthread_kill(rn.thread, SIGUSR1);
		ASSERT_TRUE(runner_join(&rn, 2000));
		EXPECT_EQ(-1, rn.r);
		EXPECT_EQ(EINTR, rn.err) TH_LOG("%s", strerror(rn.err));
		EXPECT_EQ(KHYP_EXIT_INTR, vm->vcpus[0]->run->exit_reason);
		EXPECT_EQ(0, kh_vm_global(vm, ipi_got)[0]);
	}

	/* Still halted: the next KHYP_RUN sleeps until an interrupt comes. */
	runner_start(&rn, vm->vcpus[0], true);
	ASSERT_EQ('S', runner_wait_sleeping(&rn, 2000));
	ASSERT_EQ(0, kh_signal_msi(vm, MSI_ADDR(0), V_WAKE));
	ASSERT_TRUE(runner_join(&rn, 10000)) TH_LOG("the MSI did not wake it");
	ASSERT_EQ(0, rn.r) TH_LOG("KHYP_RUN: %s", strerror(rn.err));
	ASSERT_EQ(KH_UCALL_SYNC, kh_vcpu_get_ucall(vm->vcpus[0], &uc));
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]);	/* one interrupt */
	EXPECT_EQ(1, uc.args[2]);	/* R12 kept across the sleeps */
	ASSERT_DONE(vm->vcpus[0]);
	kh_vm_free(vm);
}

/* ---- ping-pong through HLT ---- */

#define V_PP		0xc1
#define PP_ROUNDS	20000
#define PP_SECONDS	8	/* the host stops it after this */
#define PP_STALL	10	/* seconds without a round: a lost wakeup */

volatile uint32_t pp_rounds;	/* rounds vCPU 0 completed */
volatile uint32_t pp_host_stop;	/* the host: stop now (vCPU 0 reads it) */
volatile uint32_t pp_stop;	/* vCPU 0 to vCPU 1: the last IPI */

/* Sleep until APIC @id took more than @before interrupts: STI; HLT. */
KH_GUEST_INLINE void halt_until(uint32_t id, uint32_t before)
{
	kh_guest_cli();
	while (ipi_got[id] == before)
		asm volatile("sti; hlt; cli" : : : "memory");
	kh_guest_sti();
}

/*
 * bench's apic_ipi_2vcpu: vCPU 0 sends a fixed IPI to APIC 1 and halts
 * until the answer came in; vCPU 1 halts until an IPI and answers it.
 * Each HLT sleeps in the kernel (khyp_wait()) and the other vCPU's ICR
 * write wakes it (khyp_lapic_notify()).
 */
static void guest_pingpong(uint64_t id, uint64_t rounds)
{
	uint32_t seen;

	kh_guest_apic_write(R_SVR, SVR_ON);
	kh_guest_sti();
	GUEST_SYNC(1);
	if (id == 0) {
		while (pp_rounds < rounds && !pp_host_stop) {
			seen = ipi_got[0];
			ipi(1, V_PP);
			halt_until(0, seen);
			pp_rounds++;
		}
		pp_stop = 1;
		ipi(1, V_PP);
	} else {
		seen = ipi_got[1];
		for (;;) {
			halt_until(1, seen);
			seen = ipi_got[1];
			if (pp_stop)
				break;
			ipi(0, V_PP);
		}
	}
	kh_guest_cli();
	GUEST_DONE();
}

static void dump_file(const char *path)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f) {
		printf("# %s: %s\n", path, strerror(errno));
		return;
	}
	printf("# --- %s\n", path);
	while ((n = fread(buf, 1, sizeof(buf) - 1, f)) > 0) {
		buf[n] = 0;
		printf("%s", buf);
	}
	fclose(f);
}

/* What a stalled ping-pong looks like: threads, APICs, registers. */
static void pingpong_dump(struct kh_vm *vm, struct runner *rn)
{
	char path[320];
	struct dirent *d;
	DIR *dir;
	int i;

	for (i = 0; i < 2; i++) {
		printf("# vCPU %d: thread %d state %c got %u\n", i, rn[i].tid,
		       runner_state(&rn[i]), kh_vm_global(vm, ipi_got)[i]);
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat",
			 rn[i].tid);
		dump_file(path);
		snprintf(path, sizeof(path), "/proc/self/task/%d/stack",
			 rn[i].tid);
		dump_file(path);
	}
	dump_file("/proc/interrupts");
	debugfs_vms();
	dir = opendir(DEBUGFS "/khyp");
	while (dir && (d = readdir(dir))) {
		if (strncmp(d->d_name, "vm", 2))
			continue;
		snprintf(path, sizeof(path), DEBUGFS "/khyp/%s/lapic",
			 d->d_name);
		dump_file(path);
		for (i = 0; i < 2; i++) {
			snprintf(path, sizeof(path),
				 DEBUGFS "/khyp/%s/vcpu%d/irqs", d->d_name, i);
			dump_file(path);
			snprintf(path, sizeof(path),
				 DEBUGFS "/khyp/%s/vcpu%d/exits", d->d_name, i);
			dump_file(path);
		}
	}
	if (dir)
		closedir(dir);
	fflush(stdout);
}

TEST(ipi_ping_pong_through_hlt)
{
	uint64_t arg[2] = { PP_ROUNDS, PP_ROUNDS };
	double start, changed;
	struct khyp_regs regs;
	struct runner rn[2];
	uint32_t last = 0, r;
	bool stalled = false;
	struct kh_vm *vm;
	int i;

	NEED_DEV();
	vm = vm_with_apic(2, (void (*)(void))guest_pingpong, arg);
	ASSERT_NE(NULL, vm);
	set_gate(vm, V_PP, ipi_count_handler);
	/* vCPU 1's APIC on first: a software-disabled APIC drops the IPI. */
	ASSERT_SYNC(vm->vcpus[1], 1);
	ASSERT_SYNC(vm->vcpus[0], 1);
	runner_start(&rn[1], vm->vcpus[1], false);
	runner_start(&rn[0], vm->vcpus[0], false);

	start = now_s();
	changed = start;
	while (!__atomic_load_n(&rn[0].done, __ATOMIC_ACQUIRE) ||
	       !__atomic_load_n(&rn[1].done, __ATOMIC_ACQUIRE)) {
		usleep(20000);
		r = kh_vm_global(vm, pp_rounds);
		if (r != last) {
			last = r;
			changed = now_s();
		}
		if (now_s() - start > PP_SECONDS)
			kh_vm_global(vm, pp_host_stop) = 1;
		if (now_s() - changed > PP_STALL) {
			stalled = true;
			break;
		}
	}
	TH_LOG("%u rounds in %.2f s", last, now_s() - start);
	if (stalled) {
		TH_LOG("no round for %d s: stalled", PP_STALL);
		pingpong_dump(vm, rn);
	}
	for (i = 0; i < 2; i++) {
		EXPECT_TRUE(runner_join(&rn[i], 1000))
			TH_LOG("vCPU %d did not finish", i);
		kh_vcpu_get_regs(vm->vcpus[i], &regs);
		if (stalled)
			TH_LOG("vCPU %d: rip %#llx rflags %#llx", i,
			       (unsigned long long)regs.rip,
			       (unsigned long long)regs.rflags);
		EXPECT_EQ(KH_UCALL_DONE, rn[i].ucall)
			TH_LOG("vCPU %d: KHYP_RUN %d (%s), exit %s", i,
			       rn[i].r, strerror(rn[i].err),
			       kh_exit_name(rn[i].exit_reason));
	}
	EXPECT_FALSE(stalled);
	EXPECT_LT(0, last);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
