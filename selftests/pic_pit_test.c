// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy PC devices of the irqchip (irq/pic.c, irq/pit.c): a 16-bit
 * real-mode guest that sets the PIC and PIT up as a BIOS does and counts
 * IRQ 0 in its IVT handler; PIT channel 2 through port 0x61 as Linux
 * calibrates the TSC; the latch and read-back commands and the status
 * byte; OCW3 reads of IRR and ISR, masks, specific and non-specific EOI,
 * auto-EOI; the ELCR's fixed bits; the ExtINT path through LVT0; a PIT
 * programmed with a count of 1 that must not storm; and, without an
 * irqchip, the same ports still exiting to userspace.
 *
 * Times are never asserted tightly (the machines are slow and noisy):
 * only lower bounds that follow from the programmed rate and upper
 * bounds that follow from the period floor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"
#include "apic.h"

#define PIT_HZ		1193182
#define V_IRQ0		0x20	/* the vector base the guests program */
#define LVT_MASKED	0x10000
#define LVT_EXTINT	0x700

/* Ports that exit to userspace in the real-mode guest. */
#define PORT_START	0xe4
#define PORT_REPORT	0xe5

#define MIN_PERIOD_PARAM "/sys/module/khyp/parameters/pit_min_period_us"

#define vcount	kh_guest_vector_count

/*
 * Real mode, loaded at KH_GPA_LOW_CODE: the IVT entry of vector 0x20,
 * the PICs at 0x20/0x28 with IRQ 0 alone unmasked, PIT channel 0 in
 * mode 2 with the count in BX, OUT to PORT_START, then CX HLTs with
 * interrupts on; OUT of the count of IRQ 0 handlers (word at 0x500) to
 * PORT_REPORT.  The handler EOIs with a non-specific EOI.
 */
asm(".pushsection .text\n"
    ".code16\n"
    "rm_start:\n"
    "	cli\n"
    "	movw $(rm_irq0 - rm_start + 0x9000), 0x80\n"
    "	movw $0, 0x82\n"
    "	movw $0, 0x500\n"
    "	movb $0x11, %al\n"
    "	outb %al, $0x20\n"
    "	movb $0x20, %al\n"
    "	outb %al, $0x21\n"
    "	movb $0x04, %al\n"
    "	outb %al, $0x21\n"
    "	movb $0x01, %al\n"
    "	outb %al, $0x21\n"
    "	movb $0x11, %al\n"
    "	outb %al, $0xa0\n"
    "	movb $0x28, %al\n"
    "	outb %al, $0xa1\n"
    "	movb $0x02, %al\n"
    "	outb %al, $0xa1\n"
    "	movb $0x01, %al\n"
    "	outb %al, $0xa1\n"
    "	movb $0xfe, %al\n"
    "	outb %al, $0x21\n"
    "	movb $0xff, %al\n"
    "	outb %al, $0xa1\n"
    "	movb $0x34, %al\n"
    "	outb %al, $0x43\n"
    "	movb %bl, %al\n"
    "	outb %al, $0x40\n"
    "	movb %bh, %al\n"
    "	outb %al, $0x40\n"
    "	outb %al, $0xe4\n"
    "	sti\n"
    "1:	hlt\n"
    "	loop 1b\n"
    "	cli\n"
    "	movw 0x500, %ax\n"
    "	outw %ax, $0xe5\n"
    "	hlt\n"
    "rm_irq0:\n"
    "	incw 0x500\n"
    "	pushw %ax\n"
    "	movb $0x20, %al\n"
    "	outb %al, $0x20\n"
    "	popw %ax\n"
    "	iret\n"
    "rm_end:\n"
    ".code64\n"
    ".popsection\n");
extern const char rm_start[], rm_end[];

/* A VM with an irqchip and vCPU 0 in long mode at @fn, IDT loaded. */
static struct kh_vcpu *one_vcpu(struct kh_vm **vm, void (*fn)(void))
{
	struct kh_vcpu *vcpu;

	*vm = kh_vm_create(0);
	if (kh_create_irqchip((*vm)->fd))
		return NULL;
	vcpu = kh_vcpu_add(*vm, 0);
	kh_vcpu_setup_long_mode(vcpu, fn);
	kh_vm_install_idt(*vm, vcpu);
	return vcpu;
}

/* ---- guest helpers ---- */

#define outb	kh_guest_out8
#define inb	kh_guest_in8

/* ICW1-4 on both chips, slave on IR2; then everything masked. */
KH_GUEST_INLINE void pic_init(uint8_t icw4)
{
	outb(0x20, 0x11);
	outb(0x21, V_IRQ0);
	outb(0x21, 0x04);
	outb(0x21, icw4);
	outb(0xa0, 0x11);
	outb(0xa1, V_IRQ0 + 8);
	outb(0xa1, 0x02);
	outb(0xa1, icw4);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

KH_GUEST_INLINE uint8_t pic_irr(void)
{
	outb(0x20, 0x0a);
	return inb(0x20);
}

KH_GUEST_INLINE uint8_t pic_isr(void)
{
	outb(0x20, 0x0b);
	return inb(0x20);
}

/*
 * A bound on waits, in exits to the kernel (one or two port accesses
 * each): some seconds in every machine, so a test whose interrupt never
 * comes fails on its assertion before the harness's timeout.
 */
#define WAIT_EXITS	50000

/* Channel @ch's status byte by read-back. */
KH_GUEST_INLINE uint8_t pit_status(int ch)
{
	outb(0x43, 0xe0 | (2 << ch));
	return inb(0x40 + ch);
}

/* Latch channel @ch (LSB then MSB mode) and read the count. */
KH_GUEST_INLINE uint16_t pit_latch(int ch)
{
	uint16_t v;

	outb(0x43, ch << 6);
	v = inb(0x40 + ch);
	return v | inb(0x40 + ch) << 8;
}

/* Channel 0 in @mode, LSB then MSB, with @count. */
KH_GUEST_INLINE void pit0_program(int mode, uint16_t count)
{
	outb(0x43, 0x30 | (mode << 1));
	outb(0x40, count & 0xff);
	outb(0x40, count >> 8);
}

/*
 * Wait (bounded) until OUT0 is high and its edge is in the PIC's IRR:
 * the IRR follows OUT0 by the host timer's latency (irq/pit.c).
 */
KH_GUEST_INLINE void pit0_wait_out(void)
{
	long i;

	for (i = 0; i < WAIT_EXITS && !(pit_status(0) & 0x80); i++)
		;
	GUEST_ASSERT(pit_status(0) & 0x80);
	for (i = 0; i < WAIT_EXITS && !(pic_irr() & 0x01); i++)
		;
}

KH_GUEST_INLINE void wait_vcount(int v, uint32_t n)
{
	long i;

	for (i = 0; i < WAIT_EXITS && vcount[v] < n; i++)
		inb(0x61);		/* an exit: seconds in all, not hours */
	GUEST_ASSERT(vcount[v] >= n);
}

/* ---- real mode: the BIOS's way ---- */

/*
 * 20 HLTs at 100 Hz (count 11932): every HLT ends with IRQ 0 only, so at
 * least 20 handlers ran, no faster than the programmed rate, and no
 * more than the time allows.
 */
TEST(real_mode_pit_irq0_counted)
{
	const unsigned int hlts = 20, count = 11932;
	const double period = (double)count / PIT_HZ;
	struct khyp_regs r;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	double t0, t;
	unsigned int n;

	NEED_DEV();
	vm = kh_vm_create(0);
	ASSERT_EQ(0, kh_create_irqchip(vm->fd));
	vcpu = kh_vcpu_add(vm, 0);
	kh_vm_load(vm, KH_GPA_LOW_CODE, rm_start, rm_end);
	kh_vcpu_setup_real_mode(vcpu, KH_GPA_LOW_CODE);
	kh_vcpu_get_regs(vcpu, &r);
	r.rbx = count;
	r.rcx = hlts;
	kh_vcpu_set_regs(vcpu, &r);

	ASSERT_IO(vcpu, PORT_START, 1, KHYP_IO_OUT);
	t0 = now_s();
	ASSERT_IO(vcpu, PORT_REPORT, 2, KHYP_IO_OUT);
	t = now_s() - t0;
	n = vcpu->run->io.data & 0xffff;
	EXPECT_LE(hlts, n);
	EXPECT_LE(n, t / period + 2) TH_LOG("%u interrupts in %.3f s", n, t);
	EXPECT_LE((hlts - 1) * period * 0.9, t)
		TH_LOG("%u interrupts in %.3f s", n, t);
	kh_vm_free(vm);
}

/* ---- PIT channel 2 and port 0x61, as Linux's pit_calibrate_tsc() ---- */

#define CAL_LATCH	(PIT_HZ / 33)	/* 30 ms */

static void guest_calibrate(void)
{
	uint32_t polls = 0, prev = 0x10000, v, a, b;
	uint8_t msb, pmsb;
	int i;

	/* Gate on, speaker off; mode 0, LSB then MSB, binary. */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	GUEST_ASSERT_EQ(inb(0x61) & 0x20, 0);	/* OUT low after the mode */
	outb(0x42, CAL_LATCH & 0xff);
	outb(0x42, CAL_LATCH >> 8);
	GUEST_SYNC(0);
	while (!(inb(0x61) & 0x20)) {
		v = pit_latch(2);
		/* Counting down while OUT is still low. */
		if (!(inb(0x61) & 0x20)) {
			GUEST_ASSERT(v <= prev);
			prev = v;
		}
		polls++;
	}
	GUEST_SYNC4(1, polls, prev, 0);
	GUEST_ASSERT(pit_status(2) & 0x80);
	GUEST_ASSERT_EQ(inb(0x61) & 0x01, 1);
	GUEST_ASSERT_EQ(inb(0x61) & 0x02, 0);

	/* As quick_pit_calibrate(): the MSB read without latching. */
	outb(0x43, 0xb0);
	outb(0x42, 0xff);
	outb(0x42, 0xff);
	inb(0x42);
	pmsb = inb(0x42);
	for (i = 0; i < 20; i++) {
		inb(0x42);
		msb = inb(0x42);
		GUEST_ASSERT(msb <= pmsb);
		pmsb = msb;
	}
	GUEST_ASSERT(pmsb < 0xff);

	/* Gate low holds a mode-0 count; gate high lets it go on. */
	outb(0x61, 0);
	a = pit_latch(2);
	kh_guest_spin(200000);
	b = pit_latch(2);
	GUEST_ASSERT_EQ(a, b);
	outb(0x61, 1);
	for (i = 0; i < 100000 && pit_latch(2) == b; i++)
		kh_guest_spin(100);
	GUEST_ASSERT(pit_latch(2) < b);
	GUEST_DONE();
}

TEST(pit_channel2_as_linux_calibrates)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	struct kh_ucall uc;
	double t0, t;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_calibrate);
	ASSERT_NE(NULL, vcpu);
	ASSERT_SYNC(vcpu, 0);
	t0 = now_s();
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	t = now_s() - t0;
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_LE(2, uc.args[1]) TH_LOG("OUT2 high after %lu polls",
					(unsigned long)uc.args[1]);
	EXPECT_GT(CAL_LATCH, uc.args[2]);
	/* OUT2 rose after 30 ms of host time, not before (some slack). */
	EXPECT_LE(0.020, t) TH_LOG("OUT2 high after %.4f s", t);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- latch, read-back, status, access modes ---- */

static void guest_latch_readback(void)
{
	uint16_t v;
	uint8_t s;

	/* Channel 0, mode 2, count 0x1234; interrupts off throughout. */
	pit0_program(2, 0x1234);
	kh_guest_spin(20000);
	v = pit_latch(0);
	GUEST_ASSERT(v >= 1 && v <= 0x1234);
	s = pit_status(0);
	GUEST_ASSERT_EQ(s & 0x7f, 0x34);	/* no null count, lo/hi, mode 2 */
	/* Read-back of status and count: status first, then the count. */
	outb(0x43, 0xc2);
	s = inb(0x40);
	v = inb(0x40);
	v |= inb(0x40) << 8;
	GUEST_ASSERT_EQ(s & 0x3f, 0x34);
	GUEST_ASSERT(v >= 1 && v <= 0x1234);
	/* Mode 3; the BCD bit is shown. */
	outb(0x43, 0x36);
	GUEST_ASSERT_EQ(pit_status(0) & 0x0f, 0x06);
	outb(0x43, 0x31);
	GUEST_ASSERT_EQ(pit_status(0) & 0x01, 0x01);
	outb(0x43, 0x30);			/* channel 0 stopped */

	/* Channel 2, gate low: a new mode shows null count and OUT low. */
	outb(0x61, 0);
	outb(0x43, 0xb0);
	GUEST_ASSERT_EQ(pit_status(2), 0x70);
	outb(0x42, 0x10);
	outb(0x42, 0x00);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(pit_latch(2), 0x10);	/* gate low: not counting */
	outb(0x61, 1);
	while (!(inb(0x61) & 0x20))
		;
	s = pit_status(2);
	GUEST_ASSERT_EQ(s & 0xc0, 0x80);	/* OUT high, count loaded */

	/* LSB only and MSB only. */
	outb(0x61, 0);
	outb(0x43, 0x90);
	outb(0x42, 0x55);
	GUEST_ASSERT_EQ(pit_status(2) & 0x3f, 0x10);
	outb(0x43, 0x80);
	GUEST_ASSERT_EQ(inb(0x42), 0x55);
	GUEST_ASSERT_EQ(inb(0x42), 0x55);	/* live: still the LSB */
	outb(0x43, 0xa0);
	outb(0x42, 0x12);
	GUEST_ASSERT_EQ(pit_status(2) & 0x3f, 0x20);
	outb(0x43, 0x80);
	GUEST_ASSERT_EQ(inb(0x42), 0x12);

	/* A second latch before the first is read is ignored. */
	outb(0x43, 0xb0);
	outb(0x42, 0x00);
	outb(0x42, 0x40);			/* 0x4000, gate still low */
	outb(0x43, 0x80);
	outb(0x61, 1);
	kh_guest_spin(200000);
	outb(0x43, 0x80);
	v = inb(0x42);
	v |= inb(0x42) << 8;
	GUEST_ASSERT_EQ(v, 0x4000);
	outb(0x61, 0);
	GUEST_DONE();
}

TEST(pit_latch_and_readback)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_latch_readback);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- the PIC: IRR, ISR, masks, EOI ---- */

static void guest_pic_regs(void)
{
	pic_init(0x01);
	/* A one-shot IRQ 0 (mode 0, 100 ticks) while masked. */
	pit0_program(0, 100);
	pit0_wait_out();
	GUEST_ASSERT_EQ(pic_irr(), 0x01);	/* latched though masked */
	GUEST_ASSERT_EQ(pic_isr(), 0x00);
	GUEST_ASSERT_EQ(inb(0x21), 0xff);	/* OCW1 reads back */
	kh_guest_sti();
	kh_guest_spin(50000);
	GUEST_ASSERT_EQ(vcount[V_IRQ0], 0);	/* masked: not delivered */
	outb(0x21, 0xfe);
	wait_vcount(V_IRQ0, 1);
	kh_guest_cli();
	GUEST_ASSERT_EQ(vcount[V_IRQ0], 1);
	GUEST_ASSERT_EQ(pic_isr(), 0x01);	/* the acknowledge set ISR */
	GUEST_ASSERT_EQ(pic_irr(), 0x00);

	/* In service: another IRQ 0 waits in IRR. */
	pit0_program(0, 100);
	pit0_wait_out();
	kh_guest_sti();
	kh_guest_spin(50000);
	GUEST_ASSERT_EQ(vcount[V_IRQ0], 1);
	kh_guest_cli();
	GUEST_ASSERT_EQ(pic_irr(), 0x01);
	/* A specific EOI of another level leaves it; of level 0 ends it. */
	outb(0x20, 0x63);
	GUEST_ASSERT_EQ(pic_isr(), 0x01);
	outb(0x20, 0x60);
	GUEST_ASSERT_EQ(pic_isr(), 0x00);
	kh_guest_sti();
	wait_vcount(V_IRQ0, 2);
	kh_guest_cli();
	GUEST_ASSERT_EQ(vcount[V_IRQ0], 2);
	GUEST_ASSERT_EQ(pic_isr(), 0x01);
	/* Non-specific EOI. */
	outb(0x20, 0x20);
	GUEST_ASSERT_EQ(pic_isr(), 0x00);
	GUEST_ASSERT_EQ(pic_irr(), 0x00);
	/* The slave's registers are its own. */
	outb(0xa0, 0x0a);
	GUEST_ASSERT_EQ(inb(0xa0), 0x00);
	GUEST_ASSERT_EQ(inb(0xa1), 0xff);
	GUEST_DONE();
}

TEST(pic_irr_isr_mask_eoi)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_pic_regs);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* Auto-EOI: no EOI from the handlers, yet IRQ 0 keeps coming. */
static void guest_auto_eoi(void)
{
	pic_init(0x03);
	outb(0x21, 0xfe);
	pit0_program(2, PIT_HZ / 1000);		/* 1 ms */
	kh_guest_sti();
	wait_vcount(V_IRQ0, 3);
	kh_guest_cli();
	outb(0x43, 0x30);			/* stop channel 0 */
	GUEST_ASSERT_EQ(pic_isr(), 0x00);
	GUEST_DONE();
}

TEST(pic_auto_eoi)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_auto_eoi);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_elcr(void)
{
	GUEST_ASSERT_EQ(inb(0x4d0), 0);
	GUEST_ASSERT_EQ(inb(0x4d1), 0);
	outb(0x4d0, 0xff);
	outb(0x4d1, 0xff);
	/* IRQ 0, 1, 2, 8 and 13 are edge only. */
	GUEST_ASSERT_EQ(inb(0x4d0), 0xf8);
	GUEST_ASSERT_EQ(inb(0x4d1), 0xde);
	GUEST_ASSERT_EQ(kh_guest_in16(0x4d0), 0xdef8);
	kh_guest_out16(0x4d0, 0x0820);
	GUEST_ASSERT_EQ(inb(0x4d0), 0x20);
	GUEST_ASSERT_EQ(inb(0x4d1), 0x08);
	GUEST_DONE();
}

TEST(elcr_fixed_bits)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_elcr);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * The virtual wire: with LVT0 masked the PIC's interrupt waits; with
 * LVT0 ExtINT again, or the APIC hardware-disabled, it comes in.
 */
static void guest_extint_lvt0(void)
{
	volatile uint32_t *lvt0 = (volatile uint32_t *)(APIC_BASE_GPA + R_LVT0);
	uint64_t base = kh_guest_rdmsr(MSR_APIC_BASE);

	*(volatile uint32_t *)(APIC_BASE_GPA + R_SVR) = 0x1ff;
	GUEST_ASSERT_EQ(*lvt0, LVT_EXTINT);
	*lvt0 = LVT_EXTINT | LVT_MASKED;
	pic_init(0x03);
	outb(0x21, 0xfe);
	pit0_program(0, 100);
	pit0_wait_out();
	kh_guest_sti();
	kh_guest_spin(50000);
	GUEST_ASSERT_EQ(vcount[V_IRQ0], 0);
	*lvt0 = LVT_EXTINT;
	wait_vcount(V_IRQ0, 1);
	kh_guest_cli();

	/* Hardware-disabled APIC: INTR goes straight in. */
	kh_guest_wrmsr(MSR_APIC_BASE, base & ~(1UL << 11));
	pit0_program(0, 100);
	pit0_wait_out();
	kh_guest_sti();
	wait_vcount(V_IRQ0, 2);
	kh_guest_cli();
	GUEST_DONE();
}

TEST(extint_follows_lvt0)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_extint_lvt0);
	ASSERT_NE(NULL, vcpu);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- lines from userspace: SNGL, the ELCR, the OR of IRQ 0 ---- */

KH_GUEST_INLINE uint8_t pic_slave_irr(void)
{
	outb(0xa0, 0x0a);
	return inb(0xa0);
}

/*
 * IRQ 10 (slave IR2) held high by userspace, all masked on the master:
 * the cascade shows in the master's IRR only while the master is in
 * cascade mode, not after an ICW1 with SNGL.  Then a slave ICW1 forgets
 * the latched edge, and making IRQ 10 level-triggered in the ELCR
 * requests it again while the line is high.
 */
static void guest_sngl_elcr(void)
{
	pic_init(0x01);
	outb(0xa1, 0xfb);			/* slave: IR2 unmasked */
	GUEST_SYNC(1);				/* IRQ 10 goes up */
	GUEST_ASSERT_EQ(pic_slave_irr(), 0x04);
	GUEST_ASSERT_EQ(pic_irr() & 0x04, 0x04);
	outb(0x20, 0x13);			/* master alone: SNGL, IC4 */
	outb(0x21, V_IRQ0);
	outb(0x21, 0x01);			/* ICW4 (no ICW3) */
	outb(0x21, 0xff);
	GUEST_ASSERT_EQ(pic_irr() & 0x04, 0x00);
	pic_init(0x01);				/* cascade again */
	/* The slave's ICW1 forgot the edge; the line is still high. */
	GUEST_ASSERT_EQ(pic_slave_irr(), 0x00);
	outb(0xa1, 0xfb);
	outb(0x4d1, 0x04);			/* IRQ 10 level-triggered */
	GUEST_ASSERT_EQ(pic_slave_irr(), 0x04);
	GUEST_ASSERT_EQ(pic_irr() & 0x04, 0x04);
	GUEST_SYNC(2);				/* IRQ 10 goes down */
	GUEST_ASSERT_EQ(pic_slave_irr(), 0x00);
	GUEST_DONE();
}

TEST(pic_sngl_and_elcr_level)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_sngl_elcr);
	ASSERT_NE(NULL, vcpu);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_irq_line(vm, 10, 1)) TH_LOG("%s", strerror(errno));
	ASSERT_SYNC(vcpu, 2);
	ASSERT_EQ(0, kh_irq_line(vm, 10, 0));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * IRQ 0 is the OR of its sources: while userspace holds it high, the
 * PIT's pulses make no edge, so the edge-triggered PIC sees at most the
 * one edge of userspace's raise; once userspace lets go the PIT's edges
 * come through again.
 */
KH_GUEST_INLINE uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* Wait @ms milliseconds of the TSC, at the rate CPUID 0x40000010 gives. */
KH_GUEST_INLINE void guest_wait_ms(uint32_t ms)
{
	uint32_t r[4];
	uint64_t t0;

	kh_guest_cpuid(0x40000010, 0, r);
	GUEST_ASSERT(r[0]);
	t0 = guest_rdtsc();
	while (guest_rdtsc() - t0 < (uint64_t)r[0] * ms)
		inb(0x61);
}

static void guest_irq0_or(void)
{
	uint32_t n;

	pic_init(0x03);				/* auto-EOI */
	outb(0x21, 0xfe);
	pit0_program(2, PIT_HZ / 1000);		/* 1 ms */
	kh_guest_sti();
	wait_vcount(V_IRQ0, 3);
	kh_guest_cli();
	GUEST_SYNC(1);				/* userspace raises IRQ 0 */
	n = vcount[V_IRQ0];
	kh_guest_sti();
	guest_wait_ms(30);			/* 30 PIT periods */
	kh_guest_cli();
	GUEST_ASSERT(vcount[V_IRQ0] <= n + 1);
	GUEST_SYNC(2);				/* userspace lowers it */
	n = vcount[V_IRQ0];
	kh_guest_sti();
	wait_vcount(V_IRQ0, n + 3);
	kh_guest_cli();
	outb(0x43, 0x30);			/* stop channel 0 */
	GUEST_DONE();
}

TEST(irq0_is_the_or_of_pit_and_userspace)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = one_vcpu(&vm, guest_irq0_or);
	ASSERT_NE(NULL, vcpu);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_irq_line(vm, 0, 1)) TH_LOG("%s", strerror(errno));
	ASSERT_SYNC(vcpu, 2);
	ASSERT_EQ(0, kh_irq_line(vm, 0, 0));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- a count of 1 must not storm ---- */

/* Channel 0, mode 2, count 1 (838 ns); @n interrupts by HLT, auto-EOI. */
static void guest_fast_pit(uint64_t n)
{
	pic_init(0x03);
	outb(0x21, 0xfe);
	pit0_program(2, 1);
	GUEST_SYNC(0);
	while (vcount[V_IRQ0] < n)
		asm volatile("sti; hlt; cli" : : : "memory");
	GUEST_SYNC(vcount[V_IRQ0]);
	outb(0x43, 0x30);
	GUEST_DONE();
}

/*
 * At most one interrupt per floor period of host time, and the test
 * completes.  The floor is raised to 1 ms: the default (100 us) is about
 * what one timer interrupt costs the emulated host in Bochs (~40 M
 * instructions per second), where 500 interrupts at 100 us did not
 * complete in 30 s.
 */
TEST(pit_one_count_does_not_storm)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	struct kh_ucall uc;
	double t0, t;

	NEED_DEV();
	if (kh_write_ulong(MIN_PERIOD_PARAM, 1000))
		SKIP(return, "cannot write " MIN_PERIOD_PARAM);
	vcpu = one_vcpu(&vm, (void (*)(void))guest_fast_pit);
	ASSERT_NE(NULL, vcpu);
	kh_vcpu_set_args(vcpu, 100, 0);
	ASSERT_SYNC(vcpu, 0);
	t0 = now_s();
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	t = now_s() - t0;
	kh_write_ulong(MIN_PERIOD_PARAM, 100);
	EXPECT_LE(100, uc.args[0]);
	EXPECT_LE(uc.args[0], t / 1e-3 + 2)
		TH_LOG("%lu interrupts in %.4f s", (unsigned long)uc.args[0], t);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* With the floor raised to 20 ms, 10 interrupts take 180 ms or more. */
TEST(pit_minimum_period)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	struct kh_ucall uc;
	double t0, t;

	NEED_DEV();
	if (kh_write_ulong(MIN_PERIOD_PARAM, 20000))
		SKIP(return, "cannot write " MIN_PERIOD_PARAM);
	vcpu = one_vcpu(&vm, (void (*)(void))guest_fast_pit);
	ASSERT_NE(NULL, vcpu);
	kh_vcpu_set_args(vcpu, 10, 0);
	ASSERT_SYNC(vcpu, 0);
	t0 = now_s();
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	t = now_s() - t0;
	kh_write_ulong(MIN_PERIOD_PARAM, 100);
	EXPECT_LE(10, uc.args[0]);
	EXPECT_LE(0.18, t) TH_LOG("10 periods in %.3f s", t);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- without an irqchip: userspace's ports, as before ---- */

static void guest_no_chip(void)
{
	outb(0x20, 0x11);
	GUEST_ASSERT_EQ(inb(0x40), 0x5a);
	outb(0x61, 0x03);
	GUEST_ASSERT_EQ(inb(0x4d0), 0xa5);
	GUEST_DONE();
}

TEST(no_irqchip_ports_exit)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_no_chip);
	ASSERT_IO(vcpu, 0x20, 1, KHYP_IO_OUT);
	EXPECT_EQ(0x11, vcpu->run->io.data);
	ASSERT_IO(vcpu, 0x40, 1, KHYP_IO_IN);
	vcpu->run->io.data = 0x5a;
	ASSERT_IO(vcpu, 0x61, 1, KHYP_IO_OUT);
	EXPECT_EQ(0x03, vcpu->run->io.data);
	ASSERT_IO(vcpu, 0x4d0, 1, KHYP_IO_IN);
	vcpu->run->io.data = 0xa5;
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
