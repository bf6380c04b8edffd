// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC's priority, base and enable (irq/lapic.c): CR8 as the
 * TPR in 64-bit mode (a MOV to CR8 holds a lower class and lets it
 * through at once when lowered; the TPR written through the page or the
 * x2APIC MSR is what CR8 reads, and back; KHYP_GET/SET_SREGS agree; CR8
 * without an irqchip is the backend's as before; MOV to CR8 while an
 * interrupt window is open, with and without an irqchip; a fetch from
 * the xAPIC page), IA32_APIC_BASE moving
 * the xAPIC page mid-run, the APIC disabled and enabled again through
 * the MSR (its registers reset, a level-triggered vector it held EOI'd to
 * the IOAPIC), ESR on an illegal vector, and the software disable of SVR
 * masking the LVT and blocking delivery.
 *
 * The guest's IDT is the library's: its handlers count vectors in
 * kh_guest_vector_count[] and do not EOI; the guests below do.  Where
 * the APIC is not (a page it left, a disabled APIC), an access exits to
 * userspace as any MMIO nobody claims: the host answers it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"
#include "apic.h"

#define NEW_BASE_GPA	0xfef00000UL	/* no RAM, no device */

#define X2_TPR		0x808
#define X2_EOI		0x80b
#define X2_SVR		0x80f

#define LVR_VALUE	0x00050014
#define ICR_SELF	0x40000
#define LVT_MASKED	0x10000
#define GP		13

#define IOAPIC_GPA	0xfec00000UL
#define IOA_LO(pin)	(0x10 + 2 * (pin))
#define IOA_HI(pin)	(0x11 + 2 * (pin))
#define RTE_RIRR	0x4000
#define RTE_LEVEL	0x8000

#define vcount	kh_guest_vector_count

KH_GUEST_INLINE uint32_t mmio_read(uint64_t gpa)
{
	return *(volatile uint32_t *)gpa;
}

KH_GUEST_INLINE void mmio_write(uint64_t gpa, uint32_t v)
{
	*(volatile uint32_t *)gpa = v;
}

KH_GUEST_INLINE uint64_t read_cr8(void)
{
	uint64_t v;

	asm volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

KH_GUEST_INLINE void write_cr8(uint64_t v)
{
	asm volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

KH_GUEST_INLINE uint32_t ioapic_read(uint32_t reg)
{
	mmio_write(IOAPIC_GPA, reg);
	return mmio_read(IOAPIC_GPA + 0x10);
}

KH_GUEST_INLINE void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write(IOAPIC_GPA, reg);
	mmio_write(IOAPIC_GPA + 0x10, v);
}

/* A VM (with an irqchip if @irqchip) with one vCPU at @fn, IDT loaded. */
static struct kh_vcpu *one_vcpu(struct kh_vm **vm, void (*fn)(void),
				bool irqchip)
{
	struct kh_vcpu *vcpu;

	*vm = kh_vm_create(0);
	if (irqchip && kh_create_irqchip((*vm)->fd))
		return NULL;
	vcpu = kh_vcpu_add(*vm, 0);
	kh_vcpu_setup_long_mode(vcpu, fn);
	kh_vm_install_idt(*vm, vcpu);
	return vcpu;
}

/* Run; the guest reads @gpa, which no one in the kernel answers. */
#define ANSWER_MMIO_READ(vcpu, gpa, value)				\
	do {								\
		ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);			\
		ASSERT_EQ((uint64_t)(gpa), (vcpu)->run->mmio.phys_addr); \
		ASSERT_EQ(0, (vcpu)->run->mmio.is_write);		\
		(vcpu)->run->mmio.data = (value);			\
	} while (0)

#define V_LOW	0x41
#define V_HIGH	0x61

/*
 * MOV to CR8 sets the TPR's class: a self-IPI of a class not above it
 * waits in IRR, one above is taken, and lowering CR8 below the waiting
 * class delivers it before the next instruction.  On SVM CR8 writes do
 * not exit by themselves: the last write must exit because a vector
 * waits.
 */
static void guest_cr8_holds(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_sti();
	write_cr8(5);
	GUEST_ASSERT_EQ(read_cr8(), 5);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TPR), 0x50);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), 0x50);
	kh_guest_apic_write(R_ICR, ICR_SELF | V_LOW);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_LOW], 0);
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_LOW), 1);
	kh_guest_apic_write(R_ICR, ICR_SELF | V_HIGH);	/* class 6: taken */
	while (!vcount[V_HIGH])
		kh_guest_pause();
	kh_guest_apic_write(R_EOI, 0);
	GUEST_ASSERT_EQ(vcount[V_LOW], 0);
	write_cr8(4);					/* same class: held */
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_LOW], 0);
	write_cr8(3);
	GUEST_ASSERT_EQ(vcount[V_LOW], 1);		/* at once */
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_LOW), 1);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), 0x40);
	kh_guest_apic_write(R_EOI, 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), 0x30);
	write_cr8(0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), 0);
	GUEST_DONE();
}

TEST(cr8_holds_lower_class_and_releases)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_cr8_holds, true);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* The TPR written any way is what CR8 reads, and back (bits 3:0 go). */
static void guest_tpr_is_cr8(void)
{
	kh_guest_apic_write(R_TPR, 0x7a);
	GUEST_ASSERT_EQ(read_cr8(), 7);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TPR), 0x7a);
	write_cr8(2);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TPR), 0x20);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), 0x20);
	write_cr8(0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TPR), 0);

	kh_guest_wrmsr(MSR_APIC_BASE, APIC_BASE_GPA | BASE_BSP | BASE_EN |
		       BASE_EXTD);
	kh_guest_wrmsr(X2_TPR, 0x90);
	GUEST_ASSERT_EQ(read_cr8(), 9);
	write_cr8(1);
	GUEST_ASSERT_EQ(kh_guest_rdmsr(X2_TPR), 0x10);
	GUEST_ASSERT_EQ(read_cr8(), 1);
	GUEST_DONE();
}

TEST(tpr_and_cr8_agree)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_tpr_is_cr8, true);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_sregs_cr8(void)
{
	write_cr8(6);
	GUEST_SYNC(1);		/* the host reads 6, writes 3 */
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TPR), 0x30);
	GUEST_ASSERT_EQ(read_cr8(), 3);
	kh_guest_apic_write(R_TPR, 0xb0);
	GUEST_SYNC(2);		/* the host reads 11 */
	GUEST_DONE();
}

TEST(sregs_cr8_is_the_tpr)
{
	struct khyp_sregs sregs;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_sregs_cr8, true);
	ASSERT_NE(NULL, vcpu);
	ASSERT_SYNC(vcpu, 1);
	kh_vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(6, sregs.cr8);
	sregs.cr8 = 3;
	kh_vcpu_set_sregs(vcpu, &sregs);
	ASSERT_SYNC(vcpu, 2);
	kh_vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(11, sregs.cr8);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_cr8_alone(void)
{
	write_cr8(4);
	GUEST_ASSERT_EQ(read_cr8(), 4);
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(read_cr8(), 9);
	GUEST_DONE();
}

/* Without an irqchip CR8 is the backend's, as before. */
TEST(cr8_without_irqchip)
{
	struct khyp_sregs sregs;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_cr8_alone, false);
	ASSERT_NE(NULL, vcpu);
	ASSERT_SYNC(vcpu, 1);
	kh_vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(4, sregs.cr8);
	sregs.cr8 = 9;
	kh_vcpu_set_sregs(vcpu, &sregs);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * MOV to CR8 while an interrupt waits for the guest's IF (an interrupt
 * window is open on the backend): on SVM the window is a V_IRQ, and
 * QEMU's MOV to CR8 re-evaluates it by a path that aborts the whole
 * emulated machine (docs/reliability.md, the guest-surface fuzzer's
 * finding 3): the write must exit then, and still reach CR8.
 */
static void guest_cr8_in_window(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_cli();
	kh_guest_apic_write(R_ICR, ICR_SELF | V_LOW);
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_LOW), 1);
	write_cr8(2);
	GUEST_ASSERT_EQ(read_cr8(), 2);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TPR), 0x20);
	write_cr8(5);				/* holds class 4 */
	kh_guest_sti_nop();
	kh_guest_spin(2000);
	GUEST_ASSERT_EQ(vcount[V_LOW], 0);
	write_cr8(0);
	GUEST_ASSERT_EQ(vcount[V_LOW], 1);
	kh_guest_apic_write(R_EOI, 0);
	GUEST_DONE();
}

TEST(cr8_in_interrupt_window)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_cr8_in_window, true);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_cr8_in_user_window(void)
{
	kh_guest_cli();
	GUEST_SYNC(1);		/* the host asks for an interrupt window */
	write_cr8(7);
	GUEST_ASSERT_EQ(read_cr8(), 7);
	write_cr8(3);
	GUEST_ASSERT_EQ(read_cr8(), 3);
	kh_guest_sti_nop();	/* the window opens */
	GUEST_SYNC(2);
	GUEST_DONE();
}

/*
 * Without an irqchip, @guest asks for userspace's interrupt window at
 * GUEST_SYNC(1) and writes CR8 before it opens: 3 when it exits.
 */
static void cr8_in_user_window(struct __test_metadata *_metadata,
			       void (*guest)(void))
{
	struct khyp_sregs sregs;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	vcpu = one_vcpu(&vm, guest, false);
	ASSERT_NE(NULL, vcpu);
	ASSERT_SYNC(vcpu, 1);
	vcpu->run->request_interrupt_window = 1;
	ASSERT_EXIT(vcpu, KHYP_EXIT_IRQ_WINDOW_OPEN);
	vcpu->run->request_interrupt_window = 0;
	kh_vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(3, sregs.cr8);
	ASSERT_SYNC(vcpu, 2);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* The same without an irqchip: userspace's window, the backend's CR8. */
TEST(cr8_in_interrupt_window_without_irqchip)
{
	NEED_DEV();
	cr8_in_user_window(_metadata, guest_cr8_in_user_window);
}

/*
 * AMD's other encoding of MOV to CR8, LOCK MOV to CR0 (CPUID AltMovCr8,
 * "cr8_legacy"), in the same window: SVM's CR8 exit carries no register
 * without decode assists, and khyp's decoder must read the LOCK as CR8
 * (it gave an emulation error).  Only where the CPU has the alias (Bochs'
 * SVM): elsewhere the LOCK is #UD, or QEMU's TCG without it writes CR0.
 */
static void guest_cr8_lock_alias(void)
{
	kh_guest_cli();
	GUEST_SYNC(1);		/* the host asks for an interrupt window */
	asm volatile(".byte 0xf0, 0x0f, 0x22, 0xc0"	/* lock mov %rax, %cr0 */
		     : : "a"(7ULL) : "memory");
	GUEST_ASSERT_EQ(read_cr8(), 7);
	asm volatile(".byte 0xf0, 0x0f, 0x22, 0xc1"	/* lock mov %rcx, %cr0 */
		     : : "c"(3ULL) : "memory");
	GUEST_ASSERT_EQ(read_cr8(), 3);
	kh_guest_sti_nop();	/* the window opens */
	GUEST_SYNC(2);
	GUEST_DONE();
}

TEST(cr8_lock_mov_cr0_alias)
{
	NEED_DEV();
	if (!cpuinfo_has("cr8_legacy"))
		SKIP(return, "no AltMovCr8 (LOCK MOV CR0 is not CR8 here)");
	cr8_in_user_window(_metadata, guest_cr8_lock_alias);
}

/*
 * An instruction fetch from the xAPIC page, after a data access mapped
 * it (on VMX, the APIC-access page): an internal error, as any fetch
 * from MMIO, and the host goes on.  Bochs' VMX stopped the whole machine
 * when the page was executable (docs/reliability.md, the guest-surface
 * fuzzer's finding 5).
 */
static void guest_fetch_apic(void)
{
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVR), LVR_VALUE);
	((void (*)(void))(APIC_BASE_GPA + R_LVR))();
	GUEST_SYNC(1);		/* not reached */
}

TEST(fetch_from_the_apic_page)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_fetch_apic, true);
	ASSERT_NE(NULL, vcpu);
	ASSERT_EXIT(vcpu, KHYP_EXIT_INTERNAL_ERROR);
	EXPECT_EQ(KHYP_INTERNAL_EMULATION, vcpu->run->internal.suberror);
	EXPECT_EQ(APIC_BASE_GPA + R_LVR, vcpu->run->internal.data[0]);
	kh_vm_free(vm);
}

#define V_MOVED	0x52

static void guest_base_moves(void)
{
	uint64_t moved = NEW_BASE_GPA | BASE_BSP | BASE_EN;

	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_TPR, 0x30);
	/* Reserved bits (9, above MAXPHYADDR): #GP, nothing moves. */
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(MSR_APIC_BASE, moved | (1UL << 9)),
			GP);
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(MSR_APIC_BASE, moved | (1UL << 63)),
			GP);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVR), LVR_VALUE);

	kh_guest_wrmsr(MSR_APIC_BASE, moved);
	GUEST_ASSERT_EQ(kh_guest_rdmsr(MSR_APIC_BASE), moved);
	/* The same APIC, registers and all, at the new address. */
	GUEST_ASSERT_EQ(mmio_read(NEW_BASE_GPA + R_LVR), LVR_VALUE);
	GUEST_ASSERT_EQ(mmio_read(NEW_BASE_GPA + R_TPR), 0x30);
	GUEST_ASSERT_EQ(mmio_read(NEW_BASE_GPA + R_SVR), 0x1ff);
	mmio_write(NEW_BASE_GPA + R_TPR, 0x20);
	GUEST_ASSERT_EQ(read_cr8(), 2);
	kh_guest_sti();
	mmio_write(NEW_BASE_GPA + R_ICR, ICR_SELF | V_MOVED);
	while (!vcount[V_MOVED])
		kh_guest_pause();
	mmio_write(NEW_BASE_GPA + R_EOI, 0);
	GUEST_ASSERT_EQ(mmio_read(NEW_BASE_GPA + R_ISR + 0x20), 0);
	/* The old page is no longer the APIC: the host answers. */
	GUEST_SYNC(mmio_read(APIC_BASE_GPA + R_LVR));

	kh_guest_wrmsr(MSR_APIC_BASE, APIC_BASE_GPA | BASE_BSP | BASE_EN);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TPR), 0x20);
	GUEST_SYNC(mmio_read(NEW_BASE_GPA + R_LVR));
	GUEST_DONE();
}

TEST(apic_base_moves_mid_run)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_base_moves, true);
	ASSERT_NE(NULL, vcpu);
	ANSWER_MMIO_READ(vcpu, APIC_BASE_GPA + R_LVR, 0x1234);
	ASSERT_SYNC(vcpu, 0x1234);
	ANSWER_MMIO_READ(vcpu, NEW_BASE_GPA + R_LVR, 0x5678);
	ASSERT_SYNC(vcpu, 0x5678);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_AGAIN	0x53

static void guest_disable_enable(void)
{
	uint64_t v;

	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_TPR, 0x20);
	kh_guest_apic_write(R_LDR, 0x01000000);
	kh_guest_apic_write(R_LVTT, 0x40);
	kh_guest_apic_write(R_LVTERR, 0xe0);

	kh_guest_wrmsr(MSR_APIC_BASE, APIC_BASE_GPA | BASE_BSP);
	GUEST_ASSERT_EQ(kh_guest_rdmsr(MSR_APIC_BASE), APIC_BASE_GPA | BASE_BSP);
	GUEST_ASSERT_EQ(read_cr8(), 0);
	/* No page, no x2APIC MSRs; disabled -> x2APIC directly is #GP. */
	GUEST_SYNC(kh_guest_apic_read(R_LVR));
	GUEST_ASSERT_EQ(kh_guest_rdmsr_safe(0x803, &v), GP);
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(MSR_APIC_BASE, APIC_BASE_GPA |
					    BASE_BSP | BASE_EN | BASE_EXTD),
			GP);

	/* Enabled again: as after power-up. */
	kh_guest_wrmsr(MSR_APIC_BASE, APIC_BASE_GPA | BASE_BSP | BASE_EN);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVR), LVR_VALUE);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ID), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_SVR), 0xff);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TPR), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LDR), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVTT), LVT_MASKED);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVTERR), LVT_MASKED);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ESR), 0);

	/* x2APIC -> disabled -> xAPIC is the way back (not x2APIC -> xAPIC). */
	kh_guest_wrmsr(MSR_APIC_BASE, APIC_BASE_GPA | BASE_BSP | BASE_EN |
		       BASE_EXTD);
	kh_guest_wrmsr(X2_SVR, 0x1ff);
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(MSR_APIC_BASE, APIC_BASE_GPA |
					    BASE_BSP | BASE_EN), GP);
	kh_guest_wrmsr(MSR_APIC_BASE, APIC_BASE_GPA | BASE_BSP);
	kh_guest_wrmsr(MSR_APIC_BASE, APIC_BASE_GPA | BASE_BSP | BASE_EN);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_SVR), 0xff);

	/* And it works. */
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_sti();
	kh_guest_apic_write(R_ICR, ICR_SELF | V_AGAIN);
	while (!vcount[V_AGAIN])
		kh_guest_pause();
	kh_guest_apic_write(R_EOI, 0);
	GUEST_DONE();
}

TEST(apic_disable_and_enable_mid_run)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_disable_enable, true);
	ASSERT_NE(NULL, vcpu);
	ANSWER_MMIO_READ(vcpu, APIC_BASE_GPA + R_LVR, 0xabcd);
	ASSERT_SYNC(vcpu, 0xabcd);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_LEVEL	0x64
#define LEVEL_IRQ	10

/*
 * A level-triggered vector in service when the APIC is disabled: the
 * APIC drops it, and the IOAPIC's remote IRR must not stay set (the pin
 * would never send again).
 */
static void guest_level_dropped(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	ioapic_write(IOA_HI(LEVEL_IRQ), 0);
	ioapic_write(IOA_LO(LEVEL_IRQ), RTE_LEVEL | V_LEVEL);
	kh_guest_sti();
	GUEST_SYNC(1);		/* the host raises the line and keeps it up */
	while (!vcount[V_LEVEL])
		kh_guest_pause();
	kh_guest_cli();
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_LEVEL), 1);
	GUEST_ASSERT(ioapic_read(IOA_LO(LEVEL_IRQ)) & RTE_RIRR);

	kh_guest_wrmsr(MSR_APIC_BASE, APIC_BASE_GPA | BASE_BSP);
	kh_guest_wrmsr(MSR_APIC_BASE, APIC_BASE_GPA | BASE_BSP | BASE_EN);
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_LEVEL), 0);
	GUEST_ASSERT_EQ(ioapic_read(IOA_LO(LEVEL_IRQ)) & RTE_RIRR, 0);
	GUEST_SYNC(2);		/* the host lowers the line */
	GUEST_DONE();
}

TEST(disable_eois_level_vector_to_ioapic)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_level_dropped, true);
	ASSERT_NE(NULL, vcpu);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_irq_line(vm, LEVEL_IRQ, 1))
		TH_LOG("%s", strerror(errno));
	ASSERT_SYNC(vcpu, 2);
	ASSERT_EQ(0, kh_irq_line(vm, LEVEL_IRQ, 0));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_ERR	0xe3

/*
 * An illegal vector sent: ESR's send-illegal bit (0x20), seen only once
 * ESR is written (the write latches it), and the LVT error entry's
 * interrupt.
 */
static void guest_esr(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_LVTERR, V_ERR);
	kh_guest_apic_write(R_ESR, 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ESR), 0);
	kh_guest_sti();
	kh_guest_apic_write(R_ICR, ICR_SELF | 5);
	while (!vcount[V_ERR])
		kh_guest_pause();
	kh_guest_apic_write(R_EOI, 0);
	GUEST_ASSERT_EQ(vcount[5], 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ESR), 0);	/* not latched yet */
	kh_guest_apic_write(R_ESR, 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ESR), 0x20);
	kh_guest_apic_write(R_ESR, 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ESR), 0);
	kh_guest_spin(5000);
	GUEST_ASSERT_EQ(vcount[V_ERR], 1);
	GUEST_DONE();
}

TEST(esr_illegal_vector)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_esr, true);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_SOFT	0x54

static void guest_svr_disable(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_LVTT, 0x40);
	kh_guest_apic_write(R_LVTERR, V_ERR);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVT0), 0x700);

	kh_guest_apic_write(R_SVR, 0xff);			/* software disable */
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVTT), LVT_MASKED | 0x40);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVT0), LVT_MASKED | 0x700);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVTERR), LVT_MASKED | V_ERR);
	kh_guest_apic_write(R_LVTT, 0x40);			/* stays masked */
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVTT), LVT_MASKED | 0x40);
	kh_guest_sti();
	kh_guest_apic_write(R_ICR, ICR_SELF | V_SOFT);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_SOFT], 0);
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_SOFT), 0);

	/* Enabled again: the LVT stays masked until written. */
	kh_guest_apic_write(R_SVR, 0x1ff);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVTT), LVT_MASKED | 0x40);
	kh_guest_apic_write(R_ICR, ICR_SELF | V_SOFT);
	while (!vcount[V_SOFT])
		kh_guest_pause();
	kh_guest_apic_write(R_EOI, 0);
	GUEST_DONE();
}

TEST(svr_software_disable_masks_and_blocks)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_svr_disable, true);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
