// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel local APIC (KHYP_CREATE_IRQCHIP, irq/lapic.c): the
 * ioctl's checks, the registers' reset values and write masks through
 * the xAPIC page, self-IPIs with EOI and ISR, two vectors in service at
 * once, the TPR holding back a lower class, the timer (one-shot,
 * periodic, stopped, the minimum period), x2APIC's MSRs and #GP rules,
 * and an IPI that wakes a vCPU halted in the kernel without an exit to
 * userspace.
 *
 * The guest's IDT is the library's: its handlers count vectors in
 * kh_guest_vector_count[] and do not EOI; the guests below do.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"
#include "apic.h"

#define ICR_SELF	0x40000
#define LVT_MASKED	0x10000
#define LVT_PERIODIC	0x20000
#define TDCR_DIV1	0xb
#define GP		13

#define vcount	kh_guest_vector_count

static struct kh_vcpu *one_vcpu(struct kh_vm **vm, void (*fn)(void))
{
	void (*fns[])(void) = { fn };

	*vm = kh_vm_with_irqchip(1, fns);
	return *vm ? (*vm)->vcpus[0] : NULL;
}

TEST(create_irqchip_checks)
{
	struct khyp_create_irqchip arg;
	struct khyp_caps caps;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(0);
	memset(&caps, 0, sizeof(caps));
	ASSERT_EQ(0, ioctl(vm->dev, KHYP_GET_CAPS, &caps));
	EXPECT_TRUE(caps.features & KHYP_CAP_IRQCHIP);

	memset(&arg, 0, sizeof(arg));
	arg.flags = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_CREATE_IRQCHIP, &arg));
	EXPECT_EQ(EINVAL, errno);
	arg.flags = 0;
	arg.reserved0 = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_CREATE_IRQCHIP, &arg));
	EXPECT_EQ(EINVAL, errno);
	arg.reserved0 = 0;
	arg.reserved[2] = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_CREATE_IRQCHIP, &arg));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_CREATE_IRQCHIP, NULL));
	EXPECT_EQ(EFAULT, errno);

	ASSERT_EQ(0, kh_create_irqchip(vm->fd)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(-1, kh_create_irqchip(vm->fd));
	EXPECT_EQ(EEXIST, errno);
	kh_vm_free(vm);

	/* After a vCPU: too late. */
	vm = kh_vm_create(0);
	kh_vcpu_add(vm, 0);
	EXPECT_EQ(-1, kh_create_irqchip(vm->fd));
	EXPECT_EQ(EBUSY, errno);
	kh_vm_free(vm);

	/*
	 * With one, interrupts come through the APIC: KHYP_INJECT_EVENT
	 * refuses them (the guest's EOI would clear another ISR bit), and
	 * still takes NMIs and exceptions.
	 */
	vm = kh_vm_create(0);
	ASSERT_EQ(0, kh_create_irqchip(vm->fd));
	kh_vcpu_add(vm, 0);
	EXPECT_EQ(-1, kh_vcpu_inject(vm->vcpus[0], KHYP_EVENT_INTERRUPT, 0x40,
				     0, 0));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(0, kh_vcpu_inject(vm->vcpus[0], KHYP_EVENT_NMI, 0, 0, 0));
	EXPECT_EQ(0, kh_vcpu_inject(vm->vcpus[0], KHYP_EVENT_EXCEPTION, 6, 0,
				    0));
	kh_vm_free(vm);
}

static void guest_reset_values(void)
{
	uint32_t r[4];

	GUEST_ASSERT_EQ(kh_guest_rdmsr(MSR_APIC_BASE),
			APIC_BASE_GPA | BASE_EN | BASE_BSP);
	kh_guest_cpuid(1, 0, r);
	GUEST_ASSERT(r[3] & (1U << 9));		/* APIC */
	GUEST_ASSERT(r[2] & (1U << 21));	/* x2APIC */
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ID), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVR), 0x00050014);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TPR), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LDR), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_DFR), 0xffffffff);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_SVR), 0xff);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ISR), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_IRR + 0x70), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ESR), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ICR), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVTT), LVT_MASKED);
	/* vCPU 0 (the BSP): LINT0 takes the PIC as ExtINT, as in QEMU. */
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVT0), 0x700);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVT1), LVT_MASKED);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVTERR), LVT_MASKED);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TMICT), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TMCCT), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TDCR), 0);

	/* Write masks; read-only registers keep their value. */
	kh_guest_apic_write(R_TPR, 0xffffffff);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TPR), 0xff);
	kh_guest_apic_write(R_TPR, 0);
	kh_guest_apic_write(R_LDR, 0xffffffff);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LDR), 0xff000000);
	kh_guest_apic_write(R_DFR, 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_DFR), 0x0fffffff);
	kh_guest_apic_write(R_LVR, 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVR), 0x00050014);
	kh_guest_apic_write(R_PPR, 0xff);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), 0);
	/* Software-disabled: LVT entries stay masked. */
	kh_guest_apic_write(R_LVTT, 0x40);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVTT), LVT_MASKED | 0x40);
	kh_guest_apic_write(R_SVR, 0x1ff);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_SVR), 0x1ff);
	kh_guest_apic_write(R_LVTT, 0xffffffff);	/* with the TSC-deadline mode bit */
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVTT), 0x700ff);
	kh_guest_apic_write(R_TDCR, 0xffffffff);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TDCR), 0xb);
	/* An illegal vector sent: ESR's send bit, latched by a write. */
	kh_guest_apic_write(R_ICR, ICR_SELF | 3);
	kh_guest_apic_write(R_ESR, 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ESR), 0x20);
	kh_guest_apic_write(R_ESR, 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ESR), 0);
	GUEST_DONE();
}

TEST(reset_values_and_masks)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_reset_values);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_SELF	0x40

static void guest_self_ipi(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_sti();
	kh_guest_apic_write(R_ICR, ICR_SELF | V_SELF);
	while (!vcount[V_SELF])
		kh_guest_pause();
	kh_guest_spin(5000);
	GUEST_ASSERT_EQ(vcount[V_SELF], 1);
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_SELF), 1);
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_SELF), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), V_SELF & 0xf0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ICR) & 0x1000, 0);	/* delivered */
	kh_guest_apic_write(R_EOI, 0);
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_SELF), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), 0);
	kh_guest_spin(5000);
	GUEST_ASSERT_EQ(vcount[V_SELF], 1);
	GUEST_DONE();
}

TEST(self_ipi_once_eoi_clears_isr)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_self_ipi);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * A one-byte store to EOI is an EOI too (VMX's APIC-access exit cannot
 * tell a narrow store there from a 32-bit one, and SVM's decode follows).
 * Then RAM added over the xAPIC page takes it over, as RAM always does:
 * on VMX the page is mapped to the APIC-access page by then, and the
 * new slot must drop that mapping.
 */
static void guest_ram_over_apic(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_sti();
	kh_guest_apic_write(R_ICR, ICR_SELF | V_SELF);
	while (!vcount[V_SELF])
		kh_guest_pause();
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_SELF), 1);
	*(volatile uint8_t *)(KH_APIC_BASE_GPA + R_EOI) = 0;
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_SELF), 0);
	kh_guest_cli();
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ID), 0x5a5a5a5a);
	kh_guest_apic_write(R_EOI, 0x12345678);
	GUEST_DONE();
}

TEST(narrow_eoi_then_ram_over_apic_page)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	uint32_t *ram;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_ram_over_apic);
	ASSERT_NE(NULL, vcpu);
	ASSERT_SYNC(vcpu, 1);
	ram = kh_vm_add_region(vm, 1, APIC_BASE_GPA, 4096, 0);
	ASSERT_NE(NULL, ram);
	memset(ram, 0x5a, 4096);
	ASSERT_DONE(vcpu);
	EXPECT_EQ(0x12345678, ram[R_EOI / 4]);
	kh_vm_free(vm);
}

#define V_LOW	0x41

static void guest_tpr(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_TPR, 0x50);
	kh_guest_sti();
	kh_guest_apic_write(R_ICR, ICR_SELF | V_LOW);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_LOW], 0);
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_LOW), 1);
	kh_guest_apic_write(R_TPR, 0x40);		/* same class: still held */
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_LOW], 0);
	kh_guest_apic_write(R_TPR, 0x30);
	while (!vcount[V_LOW])
		kh_guest_pause();
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_LOW), 0);
	kh_guest_apic_write(R_EOI, 0);
	GUEST_DONE();
}

TEST(tpr_holds_lower_class)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_tpr);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_NEST_LOW	0x41
#define V_NEST_MID	0x42
#define V_NEST_HIGH	0x81

/*
 * Two vectors in service at once (a higher class interrupts the
 * handler of a lower one): EOI ends the highest first, the PPR falls to
 * the class still in service, which holds back a vector of its own
 * class until its own EOI (SDM 10.8.3.1, 10.8.5).
 */
static void guest_nested_isr(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_sti();
	kh_guest_apic_write(R_ICR, ICR_SELF | V_NEST_LOW);
	while (!vcount[V_NEST_LOW])
		kh_guest_pause();
	kh_guest_apic_write(R_ICR, ICR_SELF | V_NEST_HIGH);
	while (!vcount[V_NEST_HIGH])
		kh_guest_pause();
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_NEST_LOW), 1);
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_NEST_HIGH), 1);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), V_NEST_HIGH & 0xf0);
	kh_guest_apic_write(R_EOI, 0);			/* ends 0x81 */
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_NEST_HIGH), 0);
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_NEST_LOW), 1);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), V_NEST_LOW & 0xf0);
	kh_guest_apic_write(R_ICR, ICR_SELF | V_NEST_MID);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_NEST_MID], 0);		/* same class */
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_NEST_MID), 1);
	kh_guest_apic_write(R_EOI, 0);			/* ends 0x41 */
	while (!vcount[V_NEST_MID])
		kh_guest_pause();
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_NEST_LOW), 0);
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_NEST_MID), 1);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), V_NEST_MID & 0xf0);
	kh_guest_apic_write(R_EOI, 0);			/* ends 0x42 */
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_NEST_MID), 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_PPR), 0);
	GUEST_ASSERT_EQ(vcount[V_NEST_LOW], 1);
	GUEST_ASSERT_EQ(vcount[V_NEST_HIGH], 1);
	GUEST_ASSERT_EQ(vcount[V_NEST_MID], 1);
	GUEST_DONE();
}

TEST(nested_isr_eoi_order)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_nested_isr);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_TIMER	0x60

static void guest_oneshot(void)
{
	uint32_t c;

	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_TDCR, TDCR_DIV1);
	kh_guest_apic_write(R_LVTT, V_TIMER);
	kh_guest_cli();
	/*
	 * The count is read back while a long count runs: a 2 ms count
	 * may already be over when the read comes, because the host can
	 * preempt this vCPU between the two exits (CI's svm-qemu once
	 * read 0). 0xffffffff at divide-by-1 lasts seconds.
	 */
	kh_guest_apic_write(R_TMICT, 0xffffffff);
	c = kh_guest_apic_read(R_TMCCT);
	GUEST_ASSERT(c > 0 && c < 0xffffffff);
	GUEST_ASSERT(kh_guest_apic_read(R_TMCCT) < c);	/* it counts down */
	kh_guest_apic_write(R_TMICT, 2000000);		/* 2 ms, re-armed */
	while (!vcount[V_TIMER])
		kh_guest_safe_halt();
	kh_guest_sti();
	kh_guest_apic_write(R_EOI, 0);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TMCCT), 0);
	GUEST_SYNC(1);		/* the host waits 50 ms */
	GUEST_SYNC(vcount[V_TIMER]);
	GUEST_DONE();
}

TEST(timer_oneshot_fires_once)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_oneshot);
	ASSERT_NE(NULL, vcpu);
	ASSERT_SYNC(vcpu, 1);
	usleep(50000);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_periodic(uint64_t initial, uint64_t n)
{
	uint32_t seen = 0, after;

	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_TDCR, TDCR_DIV1);
	kh_guest_apic_write(R_LVTT, LVT_PERIODIC | V_TIMER);
	kh_guest_cli();
	GUEST_SYNC(0);
	kh_guest_apic_write(R_TMICT, initial);
	while (seen < n) {
		if (vcount[V_TIMER] == seen)
			kh_guest_safe_halt();
		if (vcount[V_TIMER] != seen) {
			seen = vcount[V_TIMER];
			kh_guest_apic_write(R_EOI, 0);
		}
	}
	GUEST_SYNC(seen);
	kh_guest_apic_write(R_TMICT, 0);			/* stop */
	kh_guest_apic_write(R_EOI, 0);
	kh_guest_sti();
	kh_guest_spin(2000);
	after = vcount[V_TIMER];
	GUEST_SYNC(1);		/* the host waits 50 ms */
	GUEST_ASSERT_EQ(vcount[V_TIMER], after);
	GUEST_DONE();
}

TEST(timer_periodic_repeats_and_stops)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	struct kh_ucall uc;

	NEED_DEV();
	vcpu = one_vcpu(&vm, (void (*)(void))guest_periodic);
	ASSERT_NE(NULL, vcpu);
	kh_vcpu_set_args(vcpu, 1000000, 10);	/* 1 ms, 10 times */
	ASSERT_SYNC(vcpu, 0);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_LE(10, uc.args[0]);
	ASSERT_SYNC(vcpu, 1);
	usleep(50000);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define MIN_PERIOD_PARAM "/sys/module/khyp/parameters/lapic_min_period_us"

/*
 * A periodic timer of one tick runs at the minimum period.  The default
 * (100 us) is close to an exit's cost in these emulators, so the test
 * raises the parameter to 20 ms: 10 periods must take 180 ms or more.
 */
TEST(timer_minimum_period)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	struct kh_ucall uc;
	double t0, t;

	NEED_DEV();
	if (kh_write_ulong(MIN_PERIOD_PARAM, 20000))
		SKIP(return, "cannot write " MIN_PERIOD_PARAM);
	vcpu = one_vcpu(&vm, (void (*)(void))guest_periodic);
	ASSERT_NE(NULL, vcpu);
	kh_vcpu_set_args(vcpu, 1, 10);
	ASSERT_SYNC(vcpu, 0);
	t0 = now_s();
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	t = now_s() - t0;
	kh_write_ulong(MIN_PERIOD_PARAM, 100);
	EXPECT_LE(10, uc.args[0]);
	EXPECT_LE(0.18, t) TH_LOG("10 periods in %.3f s", t);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_X2	0x70

static void guest_x2apic(void)
{
	uint64_t v;

	/* Disabled -> x2APIC directly, and EXTD without EN: #GP. */
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(MSR_APIC_BASE,
					    APIC_BASE_GPA | BASE_BSP |
					    BASE_EXTD), GP);
	kh_guest_wrmsr(MSR_APIC_BASE, APIC_BASE_GPA | BASE_BSP | BASE_EN |
		       BASE_EXTD);
	GUEST_ASSERT_EQ(kh_guest_rdmsr(MSR_APIC_BASE),
			APIC_BASE_GPA | BASE_BSP | BASE_EN | BASE_EXTD);
	GUEST_ASSERT_EQ(kh_guest_rdmsr(0x802), 0);		/* ID */
	GUEST_ASSERT_EQ(kh_guest_rdmsr(0x803), 0x00050014);	/* version */
	GUEST_ASSERT_EQ(kh_guest_rdmsr(0x80d), 1);		/* LDR */
	/* Read-only, write-only and absent registers; reserved bits. */
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(0x802, 1), GP);
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(0x803, 0), GP);
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(0x80d, 0), GP);
	GUEST_ASSERT_EQ(kh_guest_rdmsr_safe(0x80b, &v), GP);	/* EOI */
	GUEST_ASSERT_EQ(kh_guest_rdmsr_safe(0x80e, &v), GP);	/* DFR */
	GUEST_ASSERT_EQ(kh_guest_rdmsr_safe(0x831, &v), GP);	/* ICR2 */
	GUEST_ASSERT_EQ(kh_guest_rdmsr_safe(0x83f, &v), GP);	/* SELF */
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(0x808, 0x100), GP);	/* TPR */
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(0x80b, 1), GP);	/* EOI */
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(0x828, 1), GP);	/* ESR */
	/* The page is gone in x2APIC mode: the host answers the read. */
	GUEST_SYNC(kh_guest_apic_read(R_LVR));
	/* x2APIC -> xAPIC is not a valid transition. */
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(MSR_APIC_BASE,
					    APIC_BASE_GPA | BASE_BSP |
					    BASE_EN), GP);

	/* Self-IPIs through SELF_IPI and through the 64-bit ICR. */
	kh_guest_wrmsr(0x80f, 0x1ff);				/* SVR */
	kh_guest_sti();
	kh_guest_wrmsr(0x83f, V_X2);
	while (!vcount[V_X2])
		kh_guest_pause();
	kh_guest_wrmsr(0x80b, 0);
	kh_guest_wrmsr(0x830, (0ULL << 32) | V_X2);		/* to ID 0 */
	while (vcount[V_X2] < 2)
		kh_guest_pause();
	kh_guest_wrmsr(0x80b, 0);
	GUEST_ASSERT_EQ(kh_guest_rdmsr(0x830) & 0xff, V_X2);
	GUEST_ASSERT_EQ(kh_guest_rdmsr(0x813), 0);	/* ISR 96-127 */
	GUEST_DONE();
}

TEST(x2apic_msrs_and_gp)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_x2apic);
	ASSERT_NE(NULL, vcpu);
	ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);
	ASSERT_EQ(APIC_BASE_GPA + R_LVR, vcpu->run->mmio.phys_addr);
	vcpu->run->mmio.data = 0xfeedf00d;
	ASSERT_SYNC(vcpu, 0xfeedf00d);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_IPI	0x50

static void guest_sender(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_ICR2, 1U << 24);		/* physical ID 1 */
	kh_guest_apic_write(R_ICR, V_IPI);
	GUEST_DONE();
}

static void guest_halter(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_ID), 1U << 24);
	kh_guest_sti();
	GUEST_SYNC(1);
	kh_guest_hlt();
	GUEST_SYNC4(2, vcount[V_IPI], kh_guest_last_vector, 0);
	GUEST_DONE();
}

TEST(ipi_wakes_halted_vcpu_in_kernel)
{
	void (*fns[])(void) = { guest_sender, guest_halter };
	struct kh_run_once res;
	struct kh_ucall uc;
	struct kh_vm *vm;
	pthread_t thread;

	NEED_DEV();
	vm = kh_vm_with_irqchip(2, fns);
	ASSERT_NE(NULL, vm);
	ASSERT_SYNC(vm->vcpus[1], 1);

	/* vCPU 1 halts in its one KHYP_RUN; vCPU 0 sends it an IPI. */
	res.vcpu = vm->vcpus[1];
	ASSERT_EQ(0, pthread_create(&thread, NULL, kh_vcpu_run_once, &res));
	usleep(200000);
	ASSERT_DONE(vm->vcpus[0]);
	pthread_join(thread, NULL);
	ASSERT_EQ(0, res.r) TH_LOG("KHYP_RUN: %s", strerror(res.err));
	ASSERT_EQ(KHYP_EXIT_IO, res.exit_reason)
		TH_LOG("vCPU 1 left KHYP_RUN with %s",
		       kh_exit_name(res.exit_reason));
	ASSERT_EQ(KH_UCALL_SYNC, kh_vcpu_get_ucall(vm->vcpus[1], &uc));
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]);
	EXPECT_EQ(V_IPI, uc.args[2]);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
