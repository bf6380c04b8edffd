// SPDX-License-Identifier: GPL-2.0
/*
 * The irqchip: a VM's in-kernel interrupt controllers, made by
 * KHYP_CREATE_IRQCHIP before the first vCPU.
 *
 * Without one, a VM has no interrupt controller in the kernel: userspace
 * injects interrupts (KHYP_INJECT_EVENT) and sees every HLT, as before.
 * With one, each vCPU gets a local APIC (irq/lapic.c) when it is created,
 * and the devices shared by the whole VM are registered here on the VM's
 * bus (core/bus.c): the xAPIC page, one range whose handlers serve the
 * accessing vCPU's own APIC; the PIC pair with its ELCR (irq/pic.c); the
 * PIT with port 0x61 (irq/pit.c), whose channel 0 raises ISA IRQ 0.  The
 * IOAPIC (issue 13) will be a member of struct khyp_irqchip and register
 * its range in khyp_irqchip_create() the same way.
 *
 * Lifetime: vm->irqchip is set once, under vm->lock, and stays until the
 * VM is freed (khyp_irqchip_destroy(), after every vCPU is gone).
 */
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/apicdef.h>

#include "../core/bus.h"
#include "../core/vm.h"
#include "irq.h"
#include "irqchip.h"
#include "lapic.h"
#include "pic.h"

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
	r = khyp_bus_register(&vm->bus, KHYP_BUS_MMIO, APIC_DEFAULT_PHYS_BASE,
			      PAGE_SIZE, &khyp_lapic_mmio_ops,
			      &chip->lapic_mmio);
	if (r)
		goto free_chip;
	r = khyp_pic_create(chip);
	if (r)
		goto unregister_lapic;
	r = khyp_pit_create(chip);
	if (r)
		goto destroy_pic;
	vm->irqchip = chip;
	mutex_unlock(&vm->lock);
	return 0;

destroy_pic:
	khyp_pic_destroy(chip);
unregister_lapic:
	khyp_bus_unregister(&vm->bus, KHYP_BUS_MMIO, &chip->lapic_mmio);
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
	/* The PIT first: its timer raises IRQ 0 in the PIC. */
	khyp_pit_destroy(chip);
	khyp_pic_destroy(chip);
	khyp_bus_unregister(&vm->bus, KHYP_BUS_MMIO, &chip->lapic_mmio);
	kfree(chip);
	vm->irqchip = NULL;
}
