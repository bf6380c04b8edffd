// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel IOAPIC (irq/ioapic.c), the board's interrupt lines
 * (KHYP_IRQ_LINE) and MSIs (KHYP_SIGNAL_MSI): an edge reaches the guest
 * with the programmed vector, once; IRQ 0 is IOAPIC pin 2 and IRQ 2 no
 * pin; a masked pin loses edges and keeps a level until unmasked; remote
 * IRR, the EOI that clears it and the redelivery of a line still
 * asserted; a logical destination and MSIs that reach only the vCPU they
 * name; an interrupt that wakes a vCPU halted in the kernel; the
 * registers; the ioctls' checks.
 *
 * The guest's IDT is the library's: its handlers count vectors in
 * kh_guest_vector_count[] and do not EOI; the guests below do.  A line
 * is raised by the host while the vCPU is out of the guest (at a
 * GUEST_SYNC); the interrupt is taken at the next entry.  The vectors
 * differ per test, so a count proves which pin or message delivered.
 */
#include <errno.h>
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

#define IOAPIC_GPA	0xfec00000UL
#define IOREGSEL	0x00
#define IOWIN		0x10
#define IOA_ID		0x00
#define IOA_VER		0x01
#define IOA_ARB		0x02
#define IOA_LO(pin)	(0x10 + 2 * (pin))
#define IOA_HI(pin)	(0x11 + 2 * (pin))

#define RTE_LOGICAL	0x800
#define RTE_RIRR	0x4000
#define RTE_LEVEL	0x8000
#define RTE_MASKED	0x10000
#define RTE_DEST(id)	((uint32_t)(id) << 24)

#define vcount	kh_guest_vector_count

KH_GUEST_INLINE uint32_t ioapic_read(uint32_t reg)
{
	*(volatile uint32_t *)(IOAPIC_GPA + IOREGSEL) = reg;
	return *(volatile uint32_t *)(IOAPIC_GPA + IOWIN);
}

KH_GUEST_INLINE void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(IOAPIC_GPA + IOREGSEL) = reg;
	*(volatile uint32_t *)(IOAPIC_GPA + IOWIN) = v;
}

/* High half first, so the entry is complete when the low half unmasks. */
KH_GUEST_INLINE void ioapic_set_entry(unsigned int pin, uint32_t lo,
				      uint32_t hi)
{
	ioapic_write(IOA_HI(pin), hi);
	ioapic_write(IOA_LO(pin), lo);
}

KH_GUEST_INLINE void wait_count(uint8_t v, uint32_t n)
{
	while (vcount[v] < n)
		kh_guest_pause();
}

/* An edge: the line goes up and down again. */
static int irq_pulse(struct kh_vm *vm, uint32_t irq)
{
	return kh_irq_line(vm, irq, 1) || kh_irq_line(vm, irq, 0);
}

#define V_EDGE	0x41
#define V_PIN2	0x42

static void guest_edge(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	ioapic_set_entry(4, V_EDGE, RTE_DEST(0));
	ioapic_set_entry(2, V_PIN2, RTE_DEST(0));
	kh_guest_sti();
	GUEST_SYNC(1);		/* IRQ 4 goes up, and up again */
	wait_count(V_EDGE, 1);
	GUEST_ASSERT_EQ(kh_guest_last_vector, V_EDGE);
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_EDGE), 1);
	GUEST_ASSERT_EQ(vec_bit(R_TMR, V_EDGE), 0);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_EDGE], 1);
	kh_guest_apic_write(R_EOI, 0);
	GUEST_SYNC(2);		/* down and up: a second edge */
	wait_count(V_EDGE, 2);
	kh_guest_apic_write(R_EOI, 0);
	GUEST_SYNC(3);		/* IRQ 2: no pin */
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_PIN2], 0);
	GUEST_SYNC(4);		/* IRQ 0: pin 2 */
	wait_count(V_PIN2, 1);
	kh_guest_apic_write(R_EOI, 0);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_EDGE], 2);
	GUEST_ASSERT_EQ(vcount[V_PIN2], 1);
	GUEST_DONE();
}

TEST(edge_irq_line_delivers_vector)
{
	void (*fns[])(void) = { guest_edge };
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_with_irqchip(1, fns);
	ASSERT_NE(NULL, vm);
	vcpu = vm->vcpus[0];
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_irq_line(vm, 4, 1)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, kh_irq_line(vm, 4, 1));	/* no edge */
	ASSERT_SYNC(vcpu, 2);
	ASSERT_EQ(0, kh_irq_line(vm, 4, 0));
	ASSERT_EQ(0, kh_irq_line(vm, 4, 1));
	ASSERT_SYNC(vcpu, 3);
	ASSERT_EQ(0, irq_pulse(vm, 2));
	ASSERT_SYNC(vcpu, 4);
	ASSERT_EQ(0, irq_pulse(vm, 0));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_MLVL	0x51
#define V_MEDGE	0x52

static void guest_masked(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	ioapic_set_entry(5, RTE_MASKED | RTE_LEVEL | V_MLVL, RTE_DEST(0));
	ioapic_set_entry(6, RTE_MASKED | V_MEDGE, RTE_DEST(0));
	kh_guest_sti();
	GUEST_SYNC(1);		/* IRQ 5 asserted, an edge on IRQ 6 */
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_MLVL], 0);
	GUEST_ASSERT_EQ(vcount[V_MEDGE], 0);
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_MLVL), 0);
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_MEDGE), 0);
	/* The edge came while masked: lost. */
	ioapic_write(IOA_LO(6), V_MEDGE);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_MEDGE], 0);
	/* The level is still there: unmasked, it is delivered. */
	ioapic_write(IOA_LO(5), RTE_LEVEL | V_MLVL);
	wait_count(V_MLVL, 1);
	GUEST_ASSERT(ioapic_read(IOA_LO(5)) & RTE_RIRR);
	/* Masked again, the EOI clears remote IRR and sends nothing. */
	ioapic_write(IOA_LO(5), RTE_MASKED | RTE_LEVEL | V_MLVL);
	GUEST_ASSERT(ioapic_read(IOA_LO(5)) & RTE_RIRR);
	kh_guest_apic_write(R_EOI, 0);
	GUEST_ASSERT_EQ(ioapic_read(IOA_LO(5)) & RTE_RIRR, 0);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_MLVL], 1);
	GUEST_DONE();
}

TEST(masked_pin_keeps_level_loses_edge)
{
	void (*fns[])(void) = { guest_masked };
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_with_irqchip(1, fns);
	ASSERT_NE(NULL, vm);
	vcpu = vm->vcpus[0];
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_irq_line(vm, 5, 1));
	ASSERT_EQ(0, irq_pulse(vm, 6));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_LVL	0x61

static void guest_level(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	ioapic_set_entry(9, RTE_LEVEL | V_LVL, RTE_DEST(0));
	GUEST_ASSERT_EQ(ioapic_read(IOA_LO(9)) & RTE_RIRR, 0);
	kh_guest_sti();
	GUEST_SYNC(1);		/* IRQ 9 asserted */
	wait_count(V_LVL, 1);
	GUEST_ASSERT(ioapic_read(IOA_LO(9)) & RTE_RIRR);
	GUEST_ASSERT_EQ(vec_bit(R_TMR, V_LVL), 1);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_LVL], 1);
	GUEST_SYNC(2);		/* asserted again: remote IRR holds it */
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_LVL], 1);
	/* Not even sent: the APIC has nothing waiting (IRR). */
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_LVL), 0);
	/* EOI with the line still asserted: delivered again. */
	kh_guest_apic_write(R_EOI, 0);
	wait_count(V_LVL, 2);
	GUEST_ASSERT(ioapic_read(IOA_LO(9)) & RTE_RIRR);
	GUEST_SYNC(3);		/* deasserted */
	kh_guest_apic_write(R_EOI, 0);
	GUEST_ASSERT_EQ(ioapic_read(IOA_LO(9)) & RTE_RIRR, 0);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_LVL], 2);
	GUEST_DONE();
}

TEST(level_remote_irr_and_eoi)
{
	void (*fns[])(void) = { guest_level };
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_with_irqchip(1, fns);
	ASSERT_NE(NULL, vm);
	vcpu = vm->vcpus[0];
	ASSERT_SYNC(vcpu, 1);
	ASSERT_EQ(0, kh_irq_line(vm, 9, 1));
	ASSERT_SYNC(vcpu, 2);
	ASSERT_EQ(0, kh_irq_line(vm, 9, 1));
	ASSERT_SYNC(vcpu, 3);
	ASSERT_EQ(0, kh_irq_line(vm, 9, 0));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define V_LOG	0x71

/* vCPU 0: logical ID 1, programs pin 10 for logical destination 2. */
static void guest_logical_0(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_LDR, 1U << 24);
	ioapic_set_entry(10, RTE_LOGICAL | V_LOG, RTE_DEST(2));
	kh_guest_sti();
	GUEST_SYNC(1);		/* an edge on IRQ 10 */
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_LOG], 0);
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_LOG), 0);
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_LOG), 0);
	GUEST_DONE();
}

/* vCPU 1: logical ID 2, gets it. */
static void guest_logical_1(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_LDR, 2U << 24);
	kh_guest_sti();
	GUEST_SYNC(1);
	wait_count(V_LOG, 1);
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_LOG), 1);
	kh_guest_apic_write(R_EOI, 0);
	GUEST_DONE();
}

TEST(logical_destination_second_vcpu)
{
	void (*fns[])(void) = { guest_logical_0, guest_logical_1 };
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_with_irqchip(2, fns);
	ASSERT_NE(NULL, vm);
	ASSERT_SYNC(vm->vcpus[0], 1);
	ASSERT_SYNC(vm->vcpus[1], 1);
	ASSERT_EQ(0, irq_pulse(vm, 10));
	ASSERT_DONE(vm->vcpus[0]);
	ASSERT_DONE(vm->vcpus[1]);
	kh_vm_free(vm);
}

/* vCPU 0's vector in a higher class: taken first if both went to it. */
#define V_MSI0	0xa1
#define V_MSI1	0x82
#define V_MSIL	0x83
#define MSI_ADDR(id)	(APIC_BASE_GPA | ((uint64_t)(id) << 12))
#define MSI_LOGICAL	0x4
#define MSI_LEVEL	0x8000

static void guest_msi_0(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_LDR, 1U << 24);
	kh_guest_sti();
	GUEST_SYNC(1);		/* an MSI to each vCPU */
	wait_count(V_MSI0, 1);
	/* Edge, whatever the data's trigger bit said. */
	GUEST_ASSERT_EQ(vec_bit(R_TMR, V_MSI0), 0);
	kh_guest_apic_write(R_EOI, 0);
	kh_guest_spin(20000);
	GUEST_ASSERT_EQ(vcount[V_MSI1], 0);
	GUEST_ASSERT_EQ(vec_bit(R_IRR, V_MSI1), 0);
	GUEST_ASSERT_EQ(vcount[V_MSI0], 1);
	GUEST_DONE();
}

static void guest_msi_1(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	kh_guest_apic_write(R_LDR, 2U << 24);
	kh_guest_sti();
	GUEST_SYNC(1);
	wait_count(V_MSI1, 1);
	GUEST_ASSERT_EQ(vec_bit(R_ISR, V_MSI1), 1);
	kh_guest_apic_write(R_EOI, 0);
	GUEST_ASSERT_EQ(vcount[V_MSI0], 1);
	GUEST_SYNC(2);		/* a logical MSI to logical ID 2 */
	wait_count(V_MSIL, 1);
	kh_guest_apic_write(R_EOI, 0);
	GUEST_DONE();
}

TEST(msi_reaches_the_vcpu_it_names)
{
	void (*fns[])(void) = { guest_msi_0, guest_msi_1 };
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_with_irqchip(2, fns);
	ASSERT_NE(NULL, vm);
	ASSERT_SYNC(vm->vcpus[0], 1);
	ASSERT_SYNC(vm->vcpus[1], 1);
	ASSERT_EQ(0, kh_signal_msi(vm, MSI_ADDR(0), MSI_LEVEL | V_MSI0))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, kh_signal_msi(vm, MSI_ADDR(1), V_MSI1));
	ASSERT_DONE(vm->vcpus[0]);
	ASSERT_SYNC(vm->vcpus[1], 2);
	ASSERT_EQ(0, kh_signal_msi(vm, MSI_ADDR(2) | MSI_LOGICAL, V_MSIL));
	ASSERT_DONE(vm->vcpus[1]);
	kh_vm_free(vm);
}

#define V_WAKE	0x91

static void guest_halter(void)
{
	kh_guest_apic_write(R_SVR, 0x1ff);
	ioapic_set_entry(11, V_WAKE, RTE_DEST(0));
	kh_guest_sti();
	GUEST_SYNC(1);
	kh_guest_hlt();
	GUEST_SYNC4(2, vcount[V_WAKE], kh_guest_last_vector, 0);
	GUEST_DONE();
}

TEST(irq_line_wakes_halted_vcpu)
{
	void (*fns[])(void) = { guest_halter };
	struct kh_run_once res;
	struct kh_ucall uc;
	struct kh_vm *vm;
	pthread_t thread;

	NEED_DEV();
	vm = kh_vm_with_irqchip(1, fns);
	ASSERT_NE(NULL, vm);
	ASSERT_SYNC(vm->vcpus[0], 1);
	/* The vCPU halts in its one KHYP_RUN; the line wakes it. */
	res.vcpu = vm->vcpus[0];
	ASSERT_EQ(0, pthread_create(&thread, NULL, kh_vcpu_run_once, &res));
	usleep(200000);
	ASSERT_EQ(0, irq_pulse(vm, 11));
	pthread_join(thread, NULL);
	ASSERT_EQ(0, res.r) TH_LOG("KHYP_RUN: %s", strerror(res.err));
	ASSERT_EQ(KHYP_EXIT_IO, res.exit_reason)
		TH_LOG("left KHYP_RUN with %s", kh_exit_name(res.exit_reason));
	ASSERT_EQ(KH_UCALL_SYNC, kh_vcpu_get_ucall(vm->vcpus[0], &uc));
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]);
	EXPECT_EQ(V_WAKE, uc.args[2]);
	kh_vm_free(vm);
}

static void guest_registers(void)
{
	unsigned int pin;

	GUEST_ASSERT_EQ(ioapic_read(IOA_ID), 0);
	ioapic_write(IOA_ID, 0xffffffff);
	GUEST_ASSERT_EQ(ioapic_read(IOA_ID), 0x0f000000);
	GUEST_ASSERT_EQ(ioapic_read(IOA_ARB), 0x0f000000);
	ioapic_write(IOA_ID, 0);
	GUEST_ASSERT_EQ(ioapic_read(IOA_ID), 0);
	/* Version 0x11, maximum redirection entry 23; read-only. */
	GUEST_ASSERT_EQ(ioapic_read(IOA_VER), 0x00170011);
	ioapic_write(IOA_VER, 0);
	GUEST_ASSERT_EQ(ioapic_read(IOA_VER), 0x00170011);
	ioapic_write(IOA_ARB, 0xffffffff);
	GUEST_ASSERT_EQ(ioapic_read(IOA_ARB), 0);
	/* After reset every pin is masked. */
	for (pin = 0; pin < 24; pin++) {
		GUEST_ASSERT_EQ(ioapic_read(IOA_LO(pin)), RTE_MASKED);
		GUEST_ASSERT_EQ(ioapic_read(IOA_HI(pin)), 0);
	}
	/* Delivery status, remote IRR and reserved bits stay 0. */
	ioapic_write(IOA_LO(7), 0xffffffff);
	GUEST_ASSERT_EQ(ioapic_read(IOA_LO(7)), 0x1afff);
	ioapic_write(IOA_HI(7), 0xffffffff);
	GUEST_ASSERT_EQ(ioapic_read(IOA_HI(7)), 0xff000000);
	ioapic_write(IOA_LO(7), RTE_MASKED);
	GUEST_ASSERT_EQ(ioapic_read(IOA_LO(7)), RTE_MASKED);
	/* Beyond the table: all ones. */
	GUEST_ASSERT_EQ(ioapic_read(IOA_LO(24)), 0xffffffff);
	GUEST_ASSERT_EQ(ioapic_read(0x03), 0xffffffff);
	/* IOREGSEL reads back; other widths and offsets read all ones. */
	*(volatile uint32_t *)(IOAPIC_GPA + IOREGSEL) = 0x12;
	GUEST_ASSERT_EQ(*(volatile uint32_t *)(IOAPIC_GPA + IOREGSEL), 0x12);
	GUEST_ASSERT_EQ(*(volatile uint8_t *)(IOAPIC_GPA + IOWIN), 0xff);
	GUEST_ASSERT_EQ(*(volatile uint32_t *)(IOAPIC_GPA + 0x20), 0xffffffff);
	GUEST_ASSERT_EQ(*(volatile uint32_t *)(IOAPIC_GPA + IOWIN),
			RTE_MASKED);	/* pin 1's low half */
	GUEST_DONE();
}

TEST(registers_read_write)
{
	void (*fns[])(void) = { guest_registers };
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_with_irqchip(1, fns);
	ASSERT_NE(NULL, vm);
	ASSERT_DONE(vm->vcpus[0]);
	kh_vm_free(vm);
}

TEST(bad_input)
{
	struct khyp_irq_level line;
	struct khyp_msi msi;
	struct kh_vm *vm;

	NEED_DEV();
	/* No irqchip: nothing to raise. */
	vm = kh_vm_create(0);
	EXPECT_EQ(-1, kh_irq_line(vm, 4, 1));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, kh_signal_msi(vm, MSI_ADDR(0), 0x40));
	EXPECT_EQ(ENXIO, errno);
	kh_vm_free(vm);

	vm = kh_vm_create(0);
	ASSERT_EQ(0, kh_create_irqchip(vm->fd));
	EXPECT_EQ(0, kh_irq_line(vm, 23, 1));
	EXPECT_EQ(0, kh_irq_line(vm, 23, 0));
	EXPECT_EQ(-1, kh_irq_line(vm, 24, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, kh_irq_line(vm, 0xffffffff, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, kh_irq_line(vm, 4, 2));
	EXPECT_EQ(EINVAL, errno);
	memset(&line, 0, sizeof(line));
	line.irq = 4;
	line.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_IRQ_LINE, &line));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_IRQ_LINE, NULL));
	EXPECT_EQ(EFAULT, errno);

	/* A message no APIC takes (no vCPU) is not an error. */
	EXPECT_EQ(0, kh_signal_msi(vm, MSI_ADDR(0), 0x40));
	EXPECT_EQ(0, kh_signal_msi(vm, 0xfeefffff & ~3UL, 0x40));
	EXPECT_EQ(-1, kh_signal_msi(vm, 0xfed00000, 0x40));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, kh_signal_msi(vm, 0xfef00000, 0x40));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, kh_signal_msi(vm, 0x1fee00000ULL, 0x40));
	EXPECT_EQ(EINVAL, errno);
	memset(&msi, 0, sizeof(msi));
	msi.address = MSI_ADDR(0);
	msi.data = 0x40;
	msi.flags = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_SIGNAL_MSI, &msi));
	EXPECT_EQ(EINVAL, errno);
	msi.flags = 0;
	msi.reserved[0] = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_SIGNAL_MSI, &msi));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_SIGNAL_MSI, NULL));
	EXPECT_EQ(EFAULT, errno);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
