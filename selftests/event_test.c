// SPDX-License-Identifier: GPL-2.0
/*
 * Event injection: external interrupts (delivered only with IF set, the
 * interrupt window and its exit), NMIs (delivered even with IF clear,
 * blocked until the handler's IRET, not after it has run, not lost by an
 * entry the hardware refuses), exceptions with and without an
 * error code (pushed as the CPU would), the run page's
 * ready_for_interrupt and if_flag, KHYP_INJECT_EVENT's refusals, the
 * order in which queued events of different types are delivered, and
 * STI's shadow ending with an instruction the kernel emulates.
 * The guest's IDT is the library's: each handler counts its vector in
 * kh_guest_vector_count[] and logs it in kh_guest_event_log[].
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define VEC	0x30
#define RFLAGS_IF	0x200

#define KH_STR_(x)	#x
#define KH_STR(x)	KH_STR_(x)

#define vcount	kh_guest_vector_count

static struct kh_vcpu *vcpu_with_idt(struct kh_vm **vm, void (*fn)(void))
{
	struct kh_vcpu *vcpu;

	*vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(*vm, 0);
	kh_vcpu_setup_long_mode(vcpu, fn);
	kh_vm_install_idt(*vm, vcpu);
	return vcpu;
}

/* Spin long enough for a pending event to show up if it were taken. */
static inline __attribute__((always_inline)) void guest_spin(void)
{
	int i;

	for (i = 0; i < 2000; i++)
		kh_guest_pause();
}

static void guest_irq(void)
{
	kh_guest_sti();
	GUEST_SYNC(1);
	while (!vcount[VEC])
		kh_guest_pause();
	guest_spin();
	GUEST_SYNC4(kh_guest_last_vector, vcount[VEC], 0, 0);
	GUEST_DONE();
}

TEST(interrupt_delivered_with_if_set)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu = NULL;
	struct kh_ucall uc;

	NEED_DEV();
	vcpu = vcpu_with_idt(&vm, guest_irq);
	ASSERT_SYNC(vcpu, 1);
	EXPECT_EQ(1, vcpu->run->if_flag);
	EXPECT_EQ(1, vcpu->run->ready_for_interrupt);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT: %s", strerror(errno));
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(VEC, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]) TH_LOG("delivered %llu times",
					 (unsigned long long)uc.args[1]);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_irq_blocked(void)
{
	kh_guest_cli();
	GUEST_SYNC(1);
	guest_spin();
	GUEST_SYNC(vcount[VEC]);		/* IF = 0: not delivered */
	kh_guest_sti_nop();
	while (!vcount[VEC])
		kh_guest_pause();
	GUEST_SYNC4(vcount[VEC], kh_guest_last_vector, 0, 0);
	GUEST_DONE();
}

/* Pending while IF = 0, delivered once the guest sets IF. */
TEST(interrupt_waits_for_if)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;
	char msg[512];
	int i, cmd;

	NEED_DEV();
	vcpu = vcpu_with_idt(&vm, guest_irq_blocked);
	ASSERT_SYNC(vcpu, 1);
	EXPECT_EQ(0, vcpu->run->if_flag);
	EXPECT_EQ(0, vcpu->run->ready_for_interrupt);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT: %s", strerror(errno));
	vcpu->run->request_interrupt_window = 1;
	ASSERT_SYNC(vcpu, 0);
	EXPECT_EQ(0, vcpu->run->if_flag);
	EXPECT_EQ(0, vcpu->run->ready_for_interrupt);

	/*
	 * The guest sets IF: the interrupt goes in.  Whether the window
	 * opening is also reported (before or after the delivery) is the
	 * kernel's choice: accept and stop asking at the first such exit.
	 */
	for (i = 0; i < 3; i++) {
		cmd = kh_vcpu_run_ucall(vcpu, &uc, msg, sizeof(msg));
		if (cmd >= 0)
			break;
		ASSERT_EQ(KHYP_EXIT_IRQ_WINDOW_OPEN, vcpu->run->exit_reason)
			TH_LOG("%s", msg);
		EXPECT_EQ(1, vcpu->run->if_flag);
		vcpu->run->request_interrupt_window = 0;
	}
	ASSERT_EQ(KH_UCALL_SYNC, cmd) TH_LOG("%s", msg);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(VEC, uc.args[1]);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_window(void)
{
	kh_guest_cli();
	GUEST_SYNC(1);
	guest_spin();
	GUEST_SYNC(2);
	kh_guest_sti_nop();
	while (!vcount[VEC])
		kh_guest_pause();
	GUEST_SYNC(kh_guest_last_vector);
	GUEST_DONE();
}

/* Nothing pending: the window exit comes once IF = 1, not before. */
TEST(irq_window_open_exit)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;

	NEED_DEV();
	vcpu = vcpu_with_idt(&vm, guest_window);
	ASSERT_SYNC(vcpu, 1);
	vcpu->run->request_interrupt_window = 1;
	ASSERT_SYNC(vcpu, 2);
	ASSERT_EXIT(vcpu, KHYP_EXIT_IRQ_WINDOW_OPEN);
	EXPECT_EQ(1, vcpu->run->if_flag);
	EXPECT_EQ(1, vcpu->run->ready_for_interrupt);
	vcpu->run->request_interrupt_window = 0;
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT: %s", strerror(errno));
	ASSERT_SYNC(vcpu, VEC);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_nmi(void)
{
	kh_guest_cli();
	GUEST_SYNC(1);
	while (!vcount[2])
		kh_guest_pause();
	guest_spin();
	GUEST_SYNC4(vcount[2], kh_guest_last_vector,
		    kh_guest_rflags() & RFLAGS_IF, 0);
	GUEST_DONE();
}

TEST(nmi_delivered_with_if_clear)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;

	NEED_DEV();
	vcpu = vcpu_with_idt(&vm, guest_nmi);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_NMI, 0, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT NMI: %s", strerror(errno));
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(2, uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- NMIs are blocked until the handler's IRET ---- */

#define NMI_PORT	0x71

volatile uint32_t ev_nmi_seen, ev_nmi_depth, ev_nmi_max_depth;
extern const char ev_guest_nmi_handler[], ev_guest_nmi_iret[];

/*
 * The guest's NMI handler for the tests below: counts NMIs and how deep
 * they nest, and at the first one exits with an OUT to NMI_PORT (the
 * host queues a second NMI there) before it returns with IRETQ (at
 * ev_guest_nmi_iret).
 */
asm(".pushsection .text\n"
    ".balign 16\n"
    "ev_guest_nmi_handler:\n"
    "	pushq %rax\n"
    "	pushq %rdx\n"
    "	incl ev_nmi_depth(%rip)\n"
    "	movl ev_nmi_depth(%rip), %eax\n"
    "	cmpl ev_nmi_max_depth(%rip), %eax\n"
    "	jbe 1f\n"
    "	movl %eax, ev_nmi_max_depth(%rip)\n"
    "1:	incl ev_nmi_seen(%rip)\n"
    "	cmpl $1, ev_nmi_seen(%rip)\n"
    "	jne 2f\n"
    "	movw $" KH_STR(NMI_PORT) ", %dx\n"
    "	outb %al, %dx\n"
    "	pause\n"
    "	pause\n"
    "2:	decl ev_nmi_depth(%rip)\n"
    "	popq %rdx\n"
    "	popq %rax\n"
    "ev_guest_nmi_iret:\n"
    "	iretq\n"
    ".popsection\n");

/*
 * IF set: SVM has no NMI-window exit, and delivers the waiting NMI at an
 * interrupt-window exit right after the IRET (svm/run.c).  (With IF clear
 * it would wait for the next exit, and svm-bochs lets no host interrupt
 * stop a guest that has IF clear.)
 */
static void guest_nmi_nest(void)
{
	kh_guest_sti();
	GUEST_SYNC(1);
	while (ev_nmi_seen < 2)
		kh_guest_pause();
	GUEST_SYNC4(ev_nmi_seen, ev_nmi_max_depth, 0, 0);
	GUEST_DONE();
}

/* @fn with the library's IDT, and the NMI handler above in gate 2. */
static struct kh_vcpu *vcpu_with_nmi_handler(struct kh_vm **vm,
					     void (*fn)(void))
{
	uint64_t *idt, h = (uint64_t)(uintptr_t)ev_guest_nmi_handler;
	struct kh_vcpu *vcpu = vcpu_with_idt(vm, fn);

	/* A 64-bit interrupt gate, as the others. */
	idt = kh_gpa(*vm, KH_GPA_IDT);
	idt[4] = (h & 0xffff) | KH_SEL_CODE64 << 16 | 0x8eULL << 40 |
		 (h >> 16 & 0xffff) << 48;
	idt[5] = h >> 32;
	return vcpu;
}

/*
 * Runs @guest with the NMI handler above in gate 2: one NMI at its first
 * sync, a second queued while the handler runs (its OUT to NMI_PORT);
 * both must be delivered, never nested.
 */
static void nmi_twice(struct __test_metadata *_metadata, void (*guest)(void))
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;

	vcpu = vcpu_with_nmi_handler(&vm, guest);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_NMI, 0, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT NMI: %s", strerror(errno));
	ASSERT_IO(vcpu, NMI_PORT, 1, KHYP_IO_OUT);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_NMI, 0, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT NMI: %s", strerror(errno));
	/* A KHYP_EXIT_HLT here: the waiting NMI did not wake the guest. */
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]) TH_LOG("NMIs nested %llu deep",
					 (unsigned long long)uc.args[1]);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * An NMI queued while the guest is in its NMI handler waits for the
 * handler's IRET, as on hardware, and is delivered after it: on both
 * backends (VMX tracks NMI blocking in the VMCS, SVM through the IRET
 * intercept).
 */
TEST(nmi_blocked_until_handler_iret)
{
	NEED_DEV();
	nmi_twice(_metadata, guest_nmi_nest);
}

/*
 * IF clear throughout: the NMI queued during the first handler is still
 * waiting when its IRET has run, and the guest halts.  The NMI wakes the
 * CPU, as on hardware: the HLT must not end the run as a halt.
 */
static void guest_nmi_then_halt(void)
{
	GUEST_SYNC(1);
	while (ev_nmi_seen < 1)
		kh_guest_pause();
	while (ev_nmi_seen < 2)
		asm volatile("cli; hlt" ::: "memory");
	GUEST_SYNC4(ev_nmi_seen, ev_nmi_max_depth, 0, 0);
	GUEST_DONE();
}

TEST(nmi_waiting_after_iret_wakes_hlt)
{
	NEED_DEV();
	nmi_twice(_metadata, guest_nmi_then_halt);
}

#define FRAME_PORT	0x72

/*
 * After the first NMI's handler has returned: an IRET frame to label 1
 * on the stack, and an OUT to FRAME_PORT, where the host moves RIP to
 * the handler's IRETQ and queues an NMI.  At label 1 the guest looks
 * whether that NMI came, before any other exit.
 */
static void guest_nmi_at_old_iret(void)
{
	GUEST_SYNC(1);
	while (ev_nmi_seen < 1)
		kh_guest_pause();
	asm volatile("movq %%rsp, %%rax\n\t"
		     "movl %%ss, %%ecx\n\t"
		     "pushq %%rcx\n\t"
		     "pushq %%rax\n\t"
		     "pushfq\n\t"
		     "movl %%cs, %%ecx\n\t"
		     "pushq %%rcx\n\t"
		     "leaq 1f(%%rip), %%rcx\n\t"
		     "pushq %%rcx\n\t"
		     "movw $" KH_STR(FRAME_PORT) ", %%dx\n\t"
		     "outb %%al, %%dx\n\t"
		     "ud2\n"
		     "1:"
		     : : : "rax", "rcx", "rdx", "memory");
	GUEST_SYNC4(ev_nmi_seen, ev_nmi_max_depth, 0, 0);
	GUEST_DONE();
}

/*
 * SVM keeps NMIs blocked while RIP is still at the IRET that ended the
 * handler (the intercept exits before it runs).  That IRET has run here,
 * and other exits came since; an NMI queued when RIP is at that address
 * again must go in at once, not wait for an exit after the guest has
 * left it.
 */
TEST(nmi_not_blocked_at_an_old_iret)
{
	struct khyp_regs regs;
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;

	NEED_DEV();
	vcpu = vcpu_with_nmi_handler(&vm, guest_nmi_at_old_iret);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_NMI, 0, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT NMI: %s", strerror(errno));
	ASSERT_IO(vcpu, NMI_PORT, 1, KHYP_IO_OUT);
	ASSERT_IO(vcpu, FRAME_PORT, 1, KHYP_IO_OUT);
	kh_vcpu_get_regs(vcpu, &regs);
	regs.rip = (uintptr_t)ev_guest_nmi_iret;
	kh_vcpu_set_regs(vcpu, &regs);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_NMI, 0, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT NMI: %s", strerror(errno));
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]) TH_LOG("the NMI waited");
	EXPECT_EQ(1, uc.args[1]);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* IF clear: the NMI alone can come; the guest looks without an exit. */
static void guest_nmi_once(void)
{
	kh_guest_cli();
	GUEST_SYNC(1);
	guest_spin();
	GUEST_SYNC4(vcount[2], kh_guest_last_vector, 0, 0);
	GUEST_DONE();
}

/*
 * An entry refused for an invalid state (64-bit CS with D set too: the
 * core refuses it before VMEXIT_INVALID or a failed VM entry would)
 * delivers nothing: the NMI waits for the next entry that succeeds, and
 * NMIs are not left blocked, as if its handler ran.
 */
TEST(nmi_survives_refused_entry)
{
	struct khyp_sregs sregs;
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;

	NEED_DEV();
	vcpu = vcpu_with_idt(&vm, guest_nmi_once);
	ASSERT_SYNC(vcpu, 1);
	kh_vcpu_get_sregs(vcpu, &sregs);
	sregs.cs.db = 1;
	kh_vcpu_set_sregs(vcpu, &sregs);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_NMI, 0, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT NMI: %s", strerror(errno));
	ASSERT_EXIT(vcpu, KHYP_EXIT_INTERNAL_ERROR);
	EXPECT_EQ(KHYP_INTERNAL_INVALID_STATE, vcpu->run->internal.suberror);
	sregs.cs.db = 0;
	kh_vcpu_set_sregs(vcpu, &sregs);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]) TH_LOG("the NMI was lost");
	EXPECT_EQ(2, uc.args[1]);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_exceptions(void)
{
	kh_guest_exc_expected = 1U << 13 | 1U << 6;
	GUEST_SYNC(1);
	while (!vcount[13])
		kh_guest_pause();
	GUEST_SYNC4(kh_guest_last_vector, kh_guest_last_error, vcount[13], 0);
	GUEST_SYNC(2);
	while (!vcount[6])
		kh_guest_pause();
	GUEST_SYNC4(kh_guest_last_vector, kh_guest_last_error, vcount[6], 0);
	GUEST_DONE();
}

TEST(exception_with_and_without_error_code)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;

	NEED_DEV();
	vcpu = vcpu_with_idt(&vm, guest_exceptions);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_EXCEPTION, 13, 0x1234,
				    KHYP_EVENT_FLAG_ERROR_CODE))
		TH_LOG("KHYP_INJECT_EVENT #GP: %s", strerror(errno));
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(13, uc.args[0]);
	EXPECT_EQ(0x1234, uc.args[1]);
	EXPECT_EQ(1, uc.args[2]);
	ASSERT_SYNC(vcpu, 2);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_EXCEPTION, 6, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT #UD: %s", strerror(errno));
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(6, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);	/* the stub's, the CPU pushed none */
	EXPECT_EQ(1, uc.args[2]);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * The error code goes on the guest's stack exactly when the processor
 * would push one, whatever the flag says: #GP without the flag gets 0,
 * #UD with it gets none (both backends; the handler's frame would be
 * off by one slot otherwise and its IRETQ would not come back).
 */
TEST(exception_error_code_as_the_cpu_pushes)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;

	NEED_DEV();
	vcpu = vcpu_with_idt(&vm, guest_exceptions);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_EXCEPTION, 13, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT #GP: %s", strerror(errno));
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(13, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(1, uc.args[2]);
	ASSERT_SYNC(vcpu, 2);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_EXCEPTION, 6, 0x77,
				    KHYP_EVENT_FLAG_ERROR_CODE))
		TH_LOG("KHYP_INJECT_EVENT #UD: %s", strerror(errno));
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(6, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);	/* the stub's: the CPU pushes none */
	EXPECT_EQ(1, uc.args[2]);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

TEST(bad_events_einval)
{
	static const struct khyp_event bad[] = {
		{ .type = KHYP_EVENT_INTERRUPT, .vector = 256 },
		{ .type = KHYP_EVENT_NMI, .vector = 2 },
		{ .type = KHYP_EVENT_EXCEPTION, .vector = 2 },
		{ .type = KHYP_EVENT_EXCEPTION, .vector = 32 },
		{ .type = KHYP_EVENT_EXCEPTION, .vector = 255 },
		{ .type = 1, .vector = VEC },
		{ .type = 4, .vector = VEC },
		{ .type = KHYP_EVENT_INTERRUPT, .vector = VEC, .flags = 2 },
		{ .type = KHYP_EVENT_INTERRUPT, .vector = VEC,
		  .flags = 1U << 31 },
		{ .type = KHYP_EVENT_INTERRUPT, .vector = VEC,
		  .reserved = { 1, 0 } },
		{ .type = KHYP_EVENT_NMI, .reserved = { 0, 1 } },
	};
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	unsigned int i;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, ioctl(vcpu->fd, KHYP_INJECT_EVENT, &bad[i]))
			TH_LOG("event %u accepted", i);
		EXPECT_EQ(EINVAL, errno) TH_LOG("event %u", i);
	}
	EXPECT_EQ(-1, ioctl(vcpu->fd, KHYP_INJECT_EVENT, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* none of them left an event pending */
	EXPECT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC, 0, 0));
	EXPECT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_NMI, 0, 0, 0));
	kh_vm_free(vm);
}

static void guest_three_events(void)
{
	kh_guest_exc_expected = 1U << 6;
	kh_guest_sti();
	GUEST_SYNC(1);
	while (!vcount[VEC] || !vcount[2] || !vcount[6])
		kh_guest_pause();
	guest_spin();
	GUEST_SYNC4(vcount[VEC], vcount[2], vcount[6], 0);
	GUEST_DONE();
}

/* One pending event per type; a second of a type is EBUSY. */
TEST(second_pending_event_ebusy)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;

	NEED_DEV();
	vcpu = vcpu_with_idt(&vm, guest_three_events);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC, 0, 0));
	EXPECT_EQ(-1, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC + 1, 0, 0));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_NMI, 0, 0, 0));
	EXPECT_EQ(-1, kh_vcpu_inject(vcpu, KHYP_EVENT_NMI, 0, 0, 0));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_EXCEPTION, 6, 0, 0));
	EXPECT_EQ(-1, kh_vcpu_inject(vcpu, KHYP_EVENT_EXCEPTION, 6, 0, 0));
	EXPECT_EQ(EBUSY, errno);
	/* all three get delivered, once each */
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]);
	EXPECT_EQ(1, uc.args[2]);
	ASSERT_DONE(vcpu);
	/* and the slots are free again */
	EXPECT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC, 0, 0));
	kh_vm_free(vm);
}

/*
 * One event of each type queued at once: docs/api.md says exception,
 * then NMI, then interrupt, one per entry.  The guest halts until its
 * handlers have run three times: each HLT ends in the kernel while an
 * event it can take waits, and the next one goes in.
 */
static void guest_event_order(void)
{
	kh_guest_exc_expected = 1U << 6;
	kh_guest_sti();
	GUEST_SYNC(1);
	while (kh_guest_event_log_n < 3)
		kh_guest_hlt();
	guest_spin();
	GUEST_SYNC4(kh_guest_event_log_n, vcount[6], vcount[2], vcount[VEC]);
	GUEST_DONE();
}

static bool in_idt_code(uint64_t rip)
{
	return rip >= (uintptr_t)kh_guest_idt_stubs &&
	       rip < (uintptr_t)kh_guest_idt_end;
}

TEST(queued_events_delivered_in_order)
{
	static const uint64_t expected[3] = { 6, 2, VEC };
	struct kh_guest_event log[3], t;
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;
	char msg[512];
	int i, cmd = -1;

	NEED_DEV();
	vcpu = vcpu_with_idt(&vm, guest_event_order);
	ASSERT_SYNC(vcpu, 1);
	EXPECT_EQ(1, vcpu->run->if_flag);
	/* Queued in the reverse of the order they must arrive in. */
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT: %s", strerror(errno));
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_NMI, 0, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT NMI: %s", strerror(errno));
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_EXCEPTION, 6, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT #UD: %s", strerror(errno));

	/*
	 * An event delivered between the guest's check and its HLT (a host
	 * interrupt made it exit there) leaves that HLT nothing to wait
	 * for: it exits to us, and we run it again.
	 */
	for (i = 0; i < 4; i++) {
		cmd = kh_vcpu_run_ucall(vcpu, &uc, msg, sizeof(msg));
		if (cmd >= 0)
			break;
		ASSERT_EQ(KHYP_EXIT_HLT, vcpu->run->exit_reason)
			TH_LOG("%s", msg);
	}
	ASSERT_EQ(KH_UCALL_SYNC, cmd) TH_LOG("%s", msg);
	EXPECT_EQ(3, uc.args[0]) TH_LOG("handlers ran %llu times",
					 (unsigned long long)uc.args[0]);
	EXPECT_EQ(1, uc.args[1]);
	EXPECT_EQ(1, uc.args[2]);
	EXPECT_EQ(1, uc.args[3]);

	for (i = 0; i < 3; i++) {
		log[i].vector = kh_vm_global(vm, kh_guest_event_log)[i].vector;
		log[i].rip = kh_vm_global(vm, kh_guest_event_log)[i].rip;
	}
	/*
	 * The next event goes in at the next entry, after an exit: if one
	 * came right after a delivery, the next event interrupted the
	 * first one's handler before it logged (and so logged first, with
	 * a RIP in the handlers' code).  Put those back in delivery order.
	 */
	for (i = 0; i < 2; i++) {
		if (in_idt_code(log[i].rip)) {
			t = log[i];
			log[i] = log[i + 1];
			log[i + 1] = t;
			i++;
		}
	}
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(expected[i], log[i].vector)
			TH_LOG("delivery %d: vector %llu (rip %#llx), expected %llu",
			       i, (unsigned long long)log[i].vector,
			       (unsigned long long)log[i].rip,
			       (unsigned long long)expected[i]);
	}
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- STI's shadow ends with an instruction khyp emulates ---- */

#define CR4_MCE		(1UL << 6)

/*
 * STI, then an instruction the kernel emulates (it moves RIP itself),
 * then a load of the interrupt count.  STI's shadow covers only the
 * emulated instruction: an interrupt pending by then is taken right
 * after it, so the load already sees it.  One taken an instruction late
 * would leave the load at 0.
 */
static void guest_sti_mmio(void)
{
	uint32_t seen;

	kh_guest_cli();
	GUEST_SYNC(1);
	asm volatile("sti\n\t"
		     "movb %%al, (%[mmio])\n\t"
		     "movl %[cnt], %[seen]\n\t"
		     "cli"
		     : [seen] "=&r"(seen)
		     : [mmio] "r"(KH_GPA_MMIO), "a"(0x5a),
		       [cnt] "m"(vcount[VEC])
		     : "memory");
	GUEST_SYNC(seen);
	GUEST_DONE();
}

static void guest_sti_cr4(void)
{
	uint64_t cr4;
	uint32_t seen;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	kh_guest_cli();
	GUEST_SYNC(1);
	/* MCE: a bit khyp owns, so the write exits on VMX too. */
	asm volatile("sti\n\t"
		     "mov %[cr4], %%cr4\n\t"
		     "movl %[cnt], %[seen]\n\t"
		     "cli"
		     : [seen] "=&r"(seen)
		     : [cr4] "r"(cr4 ^ CR4_MCE), [cnt] "m"(vcount[VEC])
		     : "memory");
	GUEST_SYNC(seen);
	GUEST_DONE();
}

/*
 * After the MMIO store in STI's shadow, RIP is past the store: the
 * shadow is over, so the run page says an interrupt can go in, and one
 * injected now arrives before the next instruction.
 */
TEST(interrupt_right_after_mmio_in_sti_shadow)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;

	NEED_DEV();
	vcpu = vcpu_with_idt(&vm, guest_sti_mmio);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);
	EXPECT_EQ(KH_GPA_MMIO, vcpu->run->mmio.phys_addr);
	EXPECT_EQ(1, vcpu->run->mmio.is_write);
	EXPECT_EQ(1, vcpu->run->if_flag);
	EXPECT_EQ(1, vcpu->run->ready_for_interrupt);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT: %s", strerror(errno));
	ASSERT_SYNC(vcpu, 1);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* The same with a MOV to CR4 (emulated in the kernel, no exit). */
TEST(interrupt_right_after_cr4_write_in_sti_shadow)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;

	NEED_DEV();
	vcpu = vcpu_with_idt(&vm, guest_sti_cr4);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_vcpu_inject(vcpu, KHYP_EVENT_INTERRUPT, VEC, 0, 0))
		TH_LOG("KHYP_INJECT_EVENT: %s", strerror(errno));
	ASSERT_SYNC(vcpu, 1);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
