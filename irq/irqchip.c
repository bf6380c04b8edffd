// SPDX-License-Identifier: GPL-2.0
/*
 * The irqchip: a VM's in-kernel interrupt controllers, made by
 * KHYP_CREATE_IRQCHIP before the first vCPU.
 *
 * Without one, a VM has no interrupt controller in the kernel: userspace
 * injects interrupts (KHYP_INJECT_EVENT) and sees every HLT, as before.
 * With one, each vCPU gets a local APIC (irq/lapic.c) when it is created,
 * whose xAPIC page core/mmio.c asks for first, at that vCPU's own
 * IA32_APIC_BASE; the devices shared by the whole VM are registered here
 * on the VM's bus (core/bus.c): the IOAPIC's page (irq/ioapic.c); the PIC
 * pair with its ELCR (irq/pic.c); the PIT with port 0x61 (irq/pit.c),
 * whose channel 0 raises ISA IRQ 0.
 *
 * Userspace drives the board's interrupt lines (KHYP_IRQ_LINE, routed by
 * khyp_irqchip_set_irq() as irq/irqchip.h describes) and sends MSIs
 * (KHYP_SIGNAL_MSI), which go straight to the local APICs.
 *
 * Lifetime: vm->irqchip is set once, under vm->lock, and stays until the
 * VM is freed (khyp_irqchip_destroy(), after every vCPU is gone).  The
 * VM ioctls read it without the lock (smp_load_acquire(), paired with
 * the store that publishes it).
 */
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/apicdef.h>
#include <asm/msi.h>

#include "../core/bus.h"
#include "../core/vcpu.h"
#include "../core/vm.h"
#include "irq.h"
#include "irqchip.h"
#include "lapic.h"
#include "pic.h"

/*
 * The APIC's exits, EOIs and IPIs in the vCPU's counts (enum
 * khyp_irq_stat), counted on their way in: from irq/lapic.c for the
 * xAPIC page, from core/msr.c for the MSRs.  @reg is the register's
 * offset, U32_MAX for a store that reaches none.
 */
void khyp_irq_count_apic(struct khyp_vcpu *vcpu, u32 reg, bool write,
			 bool x2apic)
{
	u64 *st = vcpu->irq_stats;

	st[KHYP_IRQ_STAT_APIC_ACCESS]++;
	if (!write)
		return;
	if (reg == APIC_EOI)
		st[KHYP_IRQ_STAT_EOI]++;
	else if (reg == APIC_ICR || (x2apic && reg == APIC_SELF_IPI))
		st[KHYP_IRQ_STAT_IPI]++;
}

/* An APIC MSR that irq/lapic.c emulated (IA32_APIC_BASE, x2APIC, ...). */
void khyp_irq_count_x2apic(struct khyp_vcpu *vcpu, u32 index, bool write)
{
	u32 reg = 0;

	if (index >= APIC_BASE_MSR && index <= APIC_BASE_MSR + 0xff)
		reg = (index - APIC_BASE_MSR) << 4;
	khyp_irq_count_apic(vcpu, reg, write, true);
}

/**
 * khyp_irqchip_create() - KHYP_CREATE_IRQCHIP
 * @vm:		the VM
 * @arg:	flags and reserved fields, all zero
 *
 * Return: 0; -EINVAL for a nonzero flag or reserved field; -EEXIST if
 * the VM has one; -EBUSY once a vCPU was created; -ENOMEM.
 */
int khyp_irqchip_create(struct khyp_vm *vm,
			const struct khyp_create_irqchip *arg)
{
	struct khyp_irqchip *chip;
	int r;

	if (arg->flags || arg->reserved0 ||
	    memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;

	mutex_lock(&vm->lock);
	r = -EEXIST;
	if (vm->irqchip)
		goto unlock;
	r = -EBUSY;
	if (vm->vcpu_created)
		goto unlock;
	r = -ENOMEM;
	chip = kzalloc(sizeof(*chip), GFP_KERNEL_ACCOUNT);
	if (!chip)
		goto unlock;
	chip->vm = vm;
	raw_spin_lock_init(&chip->lines_lock);
	khyp_ioapic_init(&chip->ioapic, vm);
	r = khyp_bus_register(&vm->bus, KHYP_BUS_MMIO, KHYP_IOAPIC_BASE,
			      KHYP_IOAPIC_MMIO_LEN, &khyp_ioapic_mmio_ops,
			      &chip->ioapic.mmio);
	if (r)
		goto free_chip;
	r = khyp_pic_create(chip);
	if (r)
		goto unregister_ioapic;
	r = khyp_pit_create(chip);
	if (r)
		goto destroy_pic;
	/* Complete before seen: the VM ioctls read it without @lock. */
	smp_store_release(&vm->irqchip, chip);
	mutex_unlock(&vm->lock);
	return 0;

destroy_pic:
	khyp_pic_destroy(chip);
unregister_ioapic:
	khyp_bus_unregister(&vm->bus, KHYP_BUS_MMIO, &chip->ioapic.mmio);
free_chip:
	kfree(chip);
unlock:
	mutex_unlock(&vm->lock);
	return r;
}

/* The VM is being freed: no vCPU is left. */
void khyp_irqchip_destroy(struct khyp_vm *vm)
{
	struct khyp_irqchip *chip = vm->irqchip;

	if (!chip)
		return;
	/* The PIT first: its timer raises IRQ 0 in the PIC and the IOAPIC. */
	khyp_pit_destroy(chip);
	khyp_pic_destroy(chip);
	khyp_bus_unregister(&vm->bus, KHYP_BUS_MMIO, &chip->ioapic.mmio);
	kfree(chip);
	vm->irqchip = NULL;
}

/**
 * khyp_irqchip_set_irq() - one of the board's interrupt lines changes
 * @chip:	the irqchip
 * @irq:	the line, 0 .. KHYP_IRQCHIP_NR_IRQS - 1 (irq/irqchip.h)
 * @src:	who drives it: the line is the OR of its sources
 * @level:	true: @src asserts it
 *
 * Any context (a VM ioctl, a timer's hard interrupt).  The ISA IRQs go
 * to the PIC pin of the same number and to the IOAPIC, IRQ 0 (the PIT)
 * to IOAPIC pin 2; IRQ 2, the PICs' cascade, reaches no IOAPIC pin.
 */
void khyp_irqchip_set_irq(struct khyp_irqchip *chip, unsigned int irq,
			  enum khyp_irq_source src, bool level)
{
	unsigned long flags;
	unsigned int i;
	bool line = false;

	if (WARN_ON_ONCE(irq >= KHYP_IRQCHIP_NR_IRQS ||
			 src >= KHYP_IRQ_SRC_NR))
		return;
	irq = array_index_nospec(irq, KHYP_IRQCHIP_NR_IRQS);
	raw_spin_lock_irqsave(&chip->lines_lock, flags);
	if (level)
		chip->lines[src] |= BIT(irq);
	else
		chip->lines[src] &= ~BIT(irq);
	for (i = 0; i < KHYP_IRQ_SRC_NR; i++)
		line |= chip->lines[i] & BIT(irq);
	if (irq < 16 && irq != 2)
		khyp_pic_set_irq(chip->pic, irq, line);
	if (irq != 2)
		khyp_ioapic_set_irq(&chip->ioapic, irq ? irq : 2, line);
	raw_spin_unlock_irqrestore(&chip->lines_lock, flags);
}

/**
 * khyp_irqchip_irq_line() - KHYP_IRQ_LINE
 * @vm:		the VM
 * @arg:	the line and its level
 *
 * Return: 0; -EINVAL for a line out of range, a level other than 0 or
 * 1, or a nonzero reserved field; -ENXIO if the VM has no irqchip.
 */
int khyp_irqchip_irq_line(struct khyp_vm *vm, const struct khyp_irq_level *arg)
{
	struct khyp_irqchip *chip;

	if (arg->irq >= KHYP_IRQCHIP_NR_IRQS || arg->level > 1 ||
	    memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	/* Pairs with the release in khyp_irqchip_create(). */
	chip = smp_load_acquire(&vm->irqchip);
	if (!chip)
		return -ENXIO;
	khyp_irqchip_set_irq(chip, arg->irq, KHYP_IRQ_SRC_USER, arg->level);
	return 0;
}

/**
 * khyp_irqchip_signal_msi() - KHYP_SIGNAL_MSI: a message to the APICs
 * @vm:		the VM
 * @arg:	the message's address and data
 *
 * The address names the destination (APIC ID in bits 19:12, logical if
 * bit 2), the data the vector and delivery mode; an MSI is always
 * edge-triggered.
 *
 * Return: 0 (also if no APIC took it); -EINVAL for an address outside
 * 0xfee00000-0xfeefffff or a nonzero flag or reserved field; -ENXIO if
 * the VM has no irqchip.
 */
int khyp_irqchip_signal_msi(struct khyp_vm *vm, const struct khyp_msi *arg)
{
	u32 addr = lower_32_bits(arg->address);
	arch_msi_msg_data_t data = { .dmar_subhandle = arg->data };
	struct khyp_lapic_irq irq = { 0 };
	struct khyp_irqchip *chip;
	arch_msi_msg_addr_lo_t lo;

	BUILD_BUG_ON(sizeof(lo) != sizeof(addr));
	memcpy(&lo, &addr, sizeof(lo));
	if (upper_32_bits(arg->address) ||
	    lo.base_address != X86_MSI_BASE_ADDRESS_LOW ||
	    arg->flags || memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	/* Pairs with the release in khyp_irqchip_create(). */
	chip = smp_load_acquire(&vm->irqchip);
	if (!chip)
		return -ENXIO;
	irq.dest = lo.destid_0_7;
	irq.logical = lo.dest_mode_logical;
	irq.mode = SET_APIC_DELIVERY_MODE(0, data.delivery_mode);
	irq.vector = data.vector;
	/* As from the IOAPIC: 0xff is every APIC, in x2APIC mode too. */
	if (!irq.logical && irq.dest == 0xff)
		irq.shorthand = APIC_DEST_ALLINC;
	khyp_lapic_route(vm, NULL, &irq);
	return 0;
}
