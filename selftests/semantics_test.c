// SPDX-License-Identifier: GPL-2.0
/*
 * Behaviour docs/api.md promises that no other test exercised: a pending
 * IN, MMIO read or hypercall result is applied before an immediate_exit
 * or a signal's EINTR return; a
 * state the hardware refuses ends every run with INVALID_STATE until it
 * is fixed; KHYP_SET_SREGS and KHYP_SET_MSRS refuse values outside what
 * they can hold (and the guest gets #GP for the same MSR values); AMD's
 * interrupt pending message MSR reads 0 on an AMD vCPU only; a TSC
 * write sets an offset; a HLT with a deliverable event queued ends in the
 * kernel; an error code without its flag is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define VEC		0x30
#define IN_PORT		0x61
#define IN_VALUE	0xa7
#define HC_NR		0x42
#define HC_RESULT	0x1234567890abcdefULL
#define MMIO_VALUE	0x0123456789abcdefULL
#define WAIT_BOUND_S	30	/* only ends a failing test */
#define PAT_BAD		0x0007040600070402ULL	/* PA0 type 2: reserved */
#define EFER_BAD	(1ULL << 2)		/* reserved */

static void guest_in_then_hypercall(void)
{
	uint64_t m;
	uint8_t v;

	asm volatile("inb %%dx, %%al" : "=a"(v) : "d"(IN_PORT));
	GUEST_SYNC(v);
	asm volatile("movq (%1), %0" : "=b"(m) : "c"(KH_GPA_MMIO) : "memory");
	GUEST_SYNC(m);
	GUEST_SYNC(kh_guest_hypercall(HC_NR, 1, 2, 3, 4, 5));
	GUEST_DONE();
}

/*
 * The value of an IN (and a hypercall's result) goes into the guest's
 * register at the next KHYP_RUN even if that run returns EINTR at once
 * for immediate_exit: KHYP_GET_REGS then shows it.
 */
TEST(pending_results_applied_before_immediate_exit)
{
	struct khyp_regs regs;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	uint64_t rip;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_in_then_hypercall);
	ASSERT_IO(vcpu, IN_PORT, 1, KHYP_IO_IN);
	kh_vcpu_get_regs(vcpu, &regs);
	rip = regs.rip;
	vcpu->run->io.data = IN_VALUE;
	vcpu->run->immediate_exit = 1;
	EXPECT_EQ(-1, kh_vcpu_run(vcpu));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(KHYP_EXIT_INTR, vcpu->run->exit_reason);
	kh_vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(IN_VALUE, regs.rax & 0xff);
	EXPECT_EQ(rip, regs.rip);	/* already past the IN */
	vcpu->run->immediate_exit = 0;
	ASSERT_SYNC(vcpu, IN_VALUE);

	ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);
	ASSERT_EQ(KH_GPA_MMIO, vcpu->run->mmio.phys_addr);
	ASSERT_EQ(0, vcpu->run->mmio.is_write);
	kh_vcpu_get_regs(vcpu, &regs);
	rip = regs.rip;
	vcpu->run->mmio.data = MMIO_VALUE;
	vcpu->run->immediate_exit = 1;
	EXPECT_EQ(-1, kh_vcpu_run(vcpu));
	EXPECT_EQ(EINTR, errno);
	kh_vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(MMIO_VALUE, regs.rbx);
	EXPECT_EQ(rip, regs.rip);	/* already past the load */
	vcpu->run->immediate_exit = 0;
	ASSERT_SYNC(vcpu, MMIO_VALUE);

	ASSERT_EXIT(vcpu, KHYP_EXIT_HYPERCALL);
	ASSERT_EQ(HC_NR, vcpu->run->hypercall.nr);
	vcpu->run->hypercall.ret = HC_RESULT;
	vcpu->run->immediate_exit = 1;
	EXPECT_EQ(-1, kh_vcpu_run(vcpu));
	EXPECT_EQ(EINTR, errno);
	kh_vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(HC_RESULT, regs.rax);
	vcpu->run->immediate_exit = 0;
	ASSERT_SYNC(vcpu, HC_RESULT);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * The same with a signal pending when KHYP_RUN starts, not immediate_exit.
 * A signal is pending at the start of an ioctl only if it came while the
 * ioctl waited: the run waits for the vCPU, which another thread holds in
 * a KHYP_GET_SREGS stopped on a userfaultfd page (its copy to userspace
 * waits for us).  The signal comes during that wait, which it does not
 * end (it is killable only); then the page is filled, the GET_REGS
 * returns and the run starts with the signal pending: EINTR without
 * entering the guest, the result applied all the same.
 */
struct held_run {
	struct kh_vcpu *vcpu;
	void *page;		/* registered with the userfaultfd */
	pid_t tid;
	int r, err;
	volatile int done;
};

static void *hold_vcpu(void *arg)
{
	struct held_run *h = arg;

	ioctl(h->vcpu->fd, KHYP_GET_SREGS, h->page);
	return NULL;
}

static void *run_when_free(void *arg)
{
	struct held_run *h = arg;

	__atomic_store_n(&h->tid, syscall(SYS_gettid), __ATOMIC_RELEASE);
	h->r = kh_vcpu_run(h->vcpu);
	h->err = errno;
	__atomic_store_n(&h->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void on_usr1(int sig)
{
}

static char tid_state(pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	return task_state(path);
}

/* KHYP_RUN with a signal pending at its start; 0, or -1 with errno. */
static int run_signal_pending(struct __test_metadata *_metadata,
			      struct kh_vcpu *vcpu)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage zero = {};
	struct held_run h = { .vcpu = vcpu };
	struct uffd_msg msg;
	pthread_t holder, runner;
	struct pollfd pfd;
	char state = '?';
	double t0;
	int uffd;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		return -2;
	if (ioctl(uffd, UFFDIO_API, &api))
		return -2;
	h.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h.page == MAP_FAILED)
		return -2;
	reg.range.start = (uintptr_t)h.page;
	reg.range.len = 4096;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return -2;

	/* The holder's copy faults: it holds the vCPU until we fill it. */
	if (pthread_create(&holder, NULL, hold_vcpu, &h))
		return -2;
	pfd = (struct pollfd){ .fd = uffd, .events = POLLIN };
	if (poll(&pfd, 1, WAIT_BOUND_S * 1000) != 1 ||
	    read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		return -3;

	/* The run waits for the vCPU; the signal comes meanwhile. */
	if (pthread_create(&runner, NULL, run_when_free, &h))
		return -2;
	t0 = now_s();
	while (!__atomic_load_n(&h.tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	while (!__atomic_load_n(&h.done, __ATOMIC_ACQUIRE) &&
	       (state = tid_state(h.tid)) != 'D' &&
	       now_s() - t0 < WAIT_BOUND_S)
		usleep(1000);
	EXPECT_EQ('D', state) TH_LOG("the run does not wait for the vCPU");
	pthread_kill(runner, SIGUSR1);
	EXPECT_EQ(0, __atomic_load_n(&h.done, __ATOMIC_ACQUIRE));

	zero.range = reg.range;
	ioctl(uffd, UFFDIO_ZEROPAGE, &zero);
	pthread_join(holder, NULL);
	pthread_join(runner, NULL);
	munmap(h.page, 4096);
	close(uffd);
	errno = h.err;
	return h.r;
}

TEST(pending_results_applied_before_signal_return)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* not fatal */
	struct khyp_regs regs;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	uint64_t rip;
	int r;

	NEED_DEV();
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_in_then_hypercall);

	ASSERT_IO(vcpu, IN_PORT, 1, KHYP_IO_IN);
	kh_vcpu_get_regs(vcpu, &regs);
	rip = regs.rip;
	vcpu->run->io.data = IN_VALUE;
	r = run_signal_pending(_metadata, vcpu);
	ASSERT_EQ(-1, r) TH_LOG("KHYP_RUN with a signal pending: %d", r);
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(KHYP_EXIT_INTR, vcpu->run->exit_reason);
	kh_vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(IN_VALUE, regs.rax & 0xff);
	EXPECT_EQ(rip, regs.rip);
	ASSERT_SYNC(vcpu, IN_VALUE);

	ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);
	kh_vcpu_get_regs(vcpu, &regs);
	rip = regs.rip;
	vcpu->run->mmio.data = MMIO_VALUE;
	ASSERT_EQ(-1, run_signal_pending(_metadata, vcpu));
	EXPECT_EQ(EINTR, errno);
	kh_vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(MMIO_VALUE, regs.rbx);
	EXPECT_EQ(rip, regs.rip);
	ASSERT_SYNC(vcpu, MMIO_VALUE);

	ASSERT_EXIT(vcpu, KHYP_EXIT_HYPERCALL);
	vcpu->run->hypercall.ret = HC_RESULT;
	ASSERT_EQ(-1, run_signal_pending(_metadata, vcpu));
	EXPECT_EQ(EINTR, errno);
	kh_vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(HC_RESULT, regs.rax);
	ASSERT_SYNC(vcpu, HC_RESULT);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_done(void)
{
	GUEST_DONE();
}

/*
 * 64-bit code with CS.D set as well as CS.L: both VMX and SVM refuse to
 * enter, and the core refuses first (core/state.c), also where the
 * emulated CPU would not (Bochs' VMRUN).  Every run ends with
 * INVALID_STATE, nothing else changes, and once the state is fixed the
 * guest runs.
 */
TEST(invalid_state_repeats_until_fixed)
{
	struct khyp_sregs sregs;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int i;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_done);
	kh_vcpu_get_sregs(vcpu, &sregs);
	ASSERT_EQ(1, sregs.cs.l);
	sregs.cs.db = 1;
	kh_vcpu_set_sregs(vcpu, &sregs);
	for (i = 0; i < 3; i++) {
		ASSERT_EXIT(vcpu, KHYP_EXIT_INTERNAL_ERROR);
		EXPECT_EQ(KHYP_INTERNAL_INVALID_STATE,
			  vcpu->run->internal.suberror)
			TH_LOG("suberror %u, hardware code %#llx",
			       vcpu->run->internal.suberror,
			       (unsigned long long)vcpu->run->internal.hw_exit_code);
	}
	sregs.cs.db = 0;
	kh_vcpu_set_sregs(vcpu, &sregs);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* Each field outside what it can hold: EINVAL, and nothing changes. */
TEST(sregs_fields_validated)
{
	struct khyp_sregs good, bad, now;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int i;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_done);
	kh_vcpu_get_sregs(vcpu, &good);
	for (i = 0; i < 8; i++) {
		bad = good;
		switch (i) {
		case 0: bad.ds.type = 16; break;
		case 1: bad.ss.dpl = 4; break;
		case 2: bad.cs.present = 2; break;
		case 3: bad.es.g = 2; break;
		case 4: bad.cr0 |= 1ULL << 32; break;
		case 5: bad.cr8 = 16; break;
		case 6: bad.efer |= EFER_BAD; break;
		case 7: bad.efer |= 1ULL << 12; break;	/* SVME */
		}
		EXPECT_EQ(-1, ioctl(vcpu->fd, KHYP_SET_SREGS, &bad))
			TH_LOG("case %d accepted", i);
		EXPECT_EQ(EINVAL, errno) TH_LOG("case %d", i);
	}
	kh_vcpu_get_sregs(vcpu, &now);
	EXPECT_EQ(0, memcmp(&good, &now, sizeof(good)));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_bad_msr_values(void)
{
	GUEST_SYNC(kh_guest_wrmsr_safe(KH_MSR_PAT, PAT_BAD));
	GUEST_SYNC(kh_guest_wrmsr_safe(KH_MSR_EFER,
				       kh_guest_rdmsr(KH_MSR_EFER) | EFER_BAD));
	GUEST_SYNC(kh_guest_rdmsr(KH_MSR_PAT));
	GUEST_DONE();
}

/*
 * An invalid PAT type or a reserved EFER bit: EINVAL from KHYP_SET_MSRS,
 * #GP(0) for the guest's WRMSR, and the MSR keeps its value.
 */
TEST(msr_invalid_values)
{
	struct khyp_msrs m;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	uint64_t pat;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_bad_msr_values);
	kh_vm_install_idt(vm, vcpu);
	pat = kh_vcpu_get_msr(vcpu, KH_MSR_PAT);

	memset(&m, 0, sizeof(m));
	m.nmsrs = 1;
	m.entries[0].index = KH_MSR_PAT;
	m.entries[0].data = PAT_BAD;
	EXPECT_EQ(-1, ioctl(vcpu->fd, KHYP_SET_MSRS, &m));
	EXPECT_EQ(EINVAL, errno);
	m.entries[0].index = KH_MSR_EFER;
	m.entries[0].data = kh_vcpu_get_msr(vcpu, KH_MSR_EFER) | EFER_BAD;
	EXPECT_EQ(-1, ioctl(vcpu->fd, KHYP_SET_MSRS, &m));
	EXPECT_EQ(EINVAL, errno);

	ASSERT_SYNC(vcpu, 13);	/* #GP */
	EXPECT_EQ(0, kh_vm_global(vm, kh_guest_last_error));
	ASSERT_SYNC(vcpu, 13);
	ASSERT_SYNC(vcpu, pat);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define MSR_INT_PENDING_MSG	0xc0010055	/* AMD K8: C1E, erratum 400 */

static void guest_int_pending_msg(void)
{
	uint64_t v;

	GUEST_SYNC(kh_guest_rdmsr_safe(MSR_INT_PENDING_MSG, &v));
	GUEST_SYNC(v);
	GUEST_SYNC(kh_guest_wrmsr_safe(MSR_INT_PENDING_MSG, 0));
	GUEST_DONE();
}

/* Make @vcpu's CPUID leaf 0 say @vendor (12 characters). */
static void set_vendor(struct __test_metadata *_metadata,
		       struct kh_vcpu *vcpu, const char *vendor)
{
	struct khyp_cpuid c = { 0 };
	uint32_t sig[3], i;

	memcpy(sig, vendor, 12);
	ASSERT_EQ(0, ioctl(vcpu->fd, KHYP_GET_CPUID, &c));
	for (i = 0; i < c.nent; i++) {
		if (c.entries[i].function != 0)
			continue;
		c.entries[i].ebx = sig[0];
		c.entries[i].edx = sig[1];
		c.entries[i].ecx = sig[2];
	}
	ASSERT_EQ(0, ioctl(vcpu->fd, KHYP_SET_CPUID, &c))
		TH_LOG("KHYP_SET_CPUID: %s", strerror(errno));
}

/* Run guest_int_pending_msg in a vCPU whose CPUID says @vendor. */
static void int_pending_msg(struct __test_metadata *_metadata,
			    const char *vendor, uint64_t vector, uint64_t value)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	set_vendor(_metadata, vcpu, vendor);
	kh_vcpu_setup_long_mode(vcpu, guest_int_pending_msg);
	kh_vm_install_idt(vm, vcpu);
	ASSERT_SYNC(vcpu, vector);	/* RDMSR */
	ASSERT_SYNC(vcpu, value);
	ASSERT_SYNC(vcpu, vector);	/* WRMSR */
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * Linux reads AMD's interrupt pending message MSR (0xc0010055) with a
 * plain RDMSR on family 0xf/0x10 (erratum 400, at boot; Debian's kernel
 * in svm-qemu's qemu64 did): on an AMD vCPU it reads 0 and takes writes
 * without #GP, whatever the host is.
 */
TEST(msr_int_pending_msg_reads_0_on_amd)
{
	int_pending_msg(_metadata, "AuthenticAMD", 0xff, 0);
}

/* On an Intel vCPU the MSR does not exist: #GP, whatever the host is. */
TEST(msr_int_pending_msg_gp_on_intel)
{
	int_pending_msg(_metadata, "GenuineIntel", 13, 0);
}

#define MSR_UCODE_REV		0x8b	/* Intel: the microcode revision */
#define MSR_MISC_ENABLE		0x1a0
#define MISC_ENABLE_KHYP	(1 << 0 | 1 << 11 | 1 << 12)	/* fast strings, no BTS, no PEBS */
#define MISC_ENABLE_XD_DISABLE	(1ULL << 34)

/*
 * What Linux does with both at boot on Intel (verify_cpu in startup_64,
 * early_init_intel()): read MISC_ENABLE, write it back with XD_DISABLE
 * clear; write 0 to UCODE_REV, CPUID, read it.  Then a MISC_ENABLE write
 * that changes a bit.
 */
static void guest_intel_boot_msrs(void)
{
	uint64_t v = 0;

	GUEST_SYNC(kh_guest_rdmsr_safe(MSR_MISC_ENABLE, &v));
	GUEST_SYNC(v);
	GUEST_SYNC(kh_guest_wrmsr_safe(MSR_MISC_ENABLE,
				       v & ~MISC_ENABLE_XD_DISABLE));
	GUEST_SYNC(kh_guest_wrmsr_safe(MSR_MISC_ENABLE,
				       v | MISC_ENABLE_XD_DISABLE));
	GUEST_SYNC(kh_guest_wrmsr_safe(MSR_UCODE_REV, 0));
	v = 0;
	GUEST_SYNC(kh_guest_rdmsr_safe(MSR_UCODE_REV, &v));
	GUEST_SYNC(v);
	GUEST_DONE();
}

/* Run guest_intel_boot_msrs in a vCPU whose CPUID says @vendor. */
static void intel_boot_msrs(struct __test_metadata *_metadata,
			    const char *vendor, uint64_t vector,
			    uint64_t misc, uint64_t ucode)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	set_vendor(_metadata, vcpu, vendor);
	kh_vcpu_setup_long_mode(vcpu, guest_intel_boot_msrs);
	kh_vm_install_idt(vm, vcpu);
	ASSERT_SYNC(vcpu, vector);	/* RDMSR MISC_ENABLE */
	ASSERT_SYNC(vcpu, misc);
	ASSERT_SYNC(vcpu, vector);	/* WRMSR of the same value */
	ASSERT_SYNC(vcpu, 13);		/* WRMSR that sets XD_DISABLE */
	ASSERT_SYNC(vcpu, vector);	/* WRMSR UCODE_REV */
	ASSERT_SYNC(vcpu, vector);	/* RDMSR UCODE_REV */
	ASSERT_SYNC(vcpu, ucode);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * Linux's startup_64 reads IA32_MISC_ENABLE on Intel family 6 model 0xd
 * and later before it has an IDT (verify_cpu): a #GP there triple-faulted
 * Debian's kernel under VMX before its first line.  On an Intel vCPU it
 * reads fast strings on, BTS and PEBS unavailable, and takes only writes
 * of that value; UCODE_REV takes the write of 0 and reads revision 1.
 */
TEST(msr_misc_enable_and_ucode_rev_on_intel)
{
	intel_boot_msrs(_metadata, "GenuineIntel", 0xff, MISC_ENABLE_KHYP,
			1ULL << 32);
}

/* On an AMD vCPU neither exists (0x8b is AMD's patch level): #GP. */
TEST(msr_misc_enable_and_ucode_rev_gp_on_amd)
{
	intel_boot_msrs(_metadata, "AuthenticAMD", 13, 0, 0);
}

static void guest_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	GUEST_SYNC(lo | (uint64_t)hi << 32);
	GUEST_DONE();
}

/* A TSC write sets where the guest's clock is now; it goes on from there. */
TEST(tsc_write_sets_an_offset)
{
	const uint64_t base = 1ULL << 50, slack = 1ULL << 44;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	struct kh_ucall uc;
	uint64_t t1, t2;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_rdtsc);
	kh_vcpu_set_msr(vcpu, KH_MSR_TSC, base);
	t1 = kh_vcpu_get_msr(vcpu, KH_MSR_TSC);
	EXPECT_LE(base, t1);
	EXPECT_GT(base + slack, t1);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	t2 = uc.args[0];
	EXPECT_LE(t1, t2);
	EXPECT_GT(base + slack, t2);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_sti_hlt(void)
{
	kh_guest_cli();
	GUEST_SYNC(1);
	/* STI's shadow covers HLT: the interrupt can only end the HLT. */
	asm volatile("sti\n\thlt" ::: "memory");
	GUEST_SYNC(kh_guest_vector_count[VEC]);
	GUEST_DONE();
}

/*
 * A HLT while an interrupt the guest can take is queued does not exit to
 * userspace: the interrupt ends it in the kernel, and is taken before the
 * next instruction (HLT was in STI's shadow, which ends with it: svm-bochs
 * showed an SVM backend that kept the shadow one instruction longer).
 */
TEST(hlt_with_queued_interrupt_ends_in_kernel)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_sti_hlt);
	kh_vm_install_idt(vm, vcpu);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC, 0, 0));
	ASSERT_SYNC(vcpu, 1);	/* not KHYP_EXIT_HLT */
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * STI the last byte of one page, HLT the first of the next, which the
 * guest has not run yet: fetching the HLT is a second-level fault, an
 * exit inside STI's shadow.  The page is the HLT's alone.
 */
asm(".pushsection .text\n"
    ".balign 4096\n"
    "split_sti_hlt:\n"
    "	.fill 4095, 1, 0x90\n"	/* NOPs up to the page's last byte */
    "	sti\n"
    "	hlt\n"			/* first byte of the next page */
    "	ret\n"
    "	.fill 4094, 1, 0xcc\n"
    ".popsection\n");
extern void split_sti_hlt(void);

static void guest_split_sti_hlt(void)
{
	kh_guest_cli();
	GUEST_SYNC(1);
	split_sti_hlt();
	GUEST_SYNC(kh_guest_vector_count[VEC]);
	GUEST_DONE();
}

/*
 * As above, with an exit between STI and HLT: the shadow the exit
 * reported must still cover the HLT when the guest goes back in, so the
 * queued interrupt ends the HLT instead of being taken before it (after
 * which the HLT would sleep with nothing left to wake it).  QEMU before
 * 9.1 does not load the shadow from the VMCB at VMRUN (see docs).
 */
TEST(hlt_in_shadow_after_exit_ends_in_kernel)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_split_sti_hlt);
	kh_vm_install_idt(vm, vcpu);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC, 0, 0));
	ASSERT_SYNC(vcpu, 1);	/* not KHYP_EXIT_HLT */
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

TEST(error_code_without_flag_einval)
{
	struct khyp_event ev = {
		.type = KHYP_EVENT_EXCEPTION, .vector = 13, .error_code = 5,
	};
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	EXPECT_EQ(-1, ioctl(vcpu->fd, KHYP_INJECT_EVENT, &ev));
	EXPECT_EQ(EINVAL, errno);
	ev.flags = KHYP_EVENT_FLAG_ERROR_CODE;
	EXPECT_EQ(0, ioctl(vcpu->fd, KHYP_INJECT_EVENT, &ev));
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
