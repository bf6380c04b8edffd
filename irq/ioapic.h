/* SPDX-License-Identifier: GPL-2.0 */
/*
 * irq/'s own view of the IOAPIC (irq/ioapic.c): its state, embedded in
 * struct khyp_irqchip, and what the irqchip (irq/irqchip.c) and the
 * local APIC's EOI (irq/lapic.c) call.  The rest of khyp sees only
 * irq/irq.h.
 */
#ifndef KHYP_IRQ_IOAPIC_H
#define KHYP_IRQ_IOAPIC_H

#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/io_apic.h>

#include "../core/bus.h"

struct khyp_vm;

/* An 82093AA: 24 pins (redirection entries 0-23), version 0x11. */
#define KHYP_IOAPIC_NR_PINS	24
#define KHYP_IOAPIC_BASE	0xfec00000UL
#define KHYP_IOAPIC_MMIO_LEN	0x1000UL

/**
 * struct khyp_ioapic - the VM's IOAPIC
 * @mmio:	(c) its range on the VM's bus (0xfec00000, one page).
 * @vm:		(c) the VM; its vCPUs' APICs are the destinations.
 * @lock:	protects everything below.
 * @ioregsel:	IOREGSEL: the register IOWIN reads and writes.
 * @id:		the ID register (bits 27:24 only).
 * @lines:	the input lines' levels, one bit per pin (1: asserted).
 *		An edge-triggered pin delivers on a 0 -> 1 change.
 * @redir:	the redirection table, as in the datasheet; delivery
 *		status (bit 12) always reads 0 (delivery is immediate),
 *		remote IRR (bit 14) is set by a level-triggered delivery an
 *		APIC took and cleared by that vector's EOI.
 * @nr_dropped:	messages no APIC took (no APIC matched, every target
 *		disabled, or a delivery mode the APICs do not emulate).
 * @nr_sent:	messages at least one APIC took (debugfs "ioapic").
 * @nr_mmio:	accesses to its page: exits it answered.
 *
 * (c): set in khyp_ioapic_init(), constant until the VM is freed.
 *
 * Lock rules: @lock is a raw spinlock taken with interrupts off, as
 * khyp_irqchip_set_irq() may be called from a timer's hard interrupt
 * (the PIT's).  It is taken by the VM ioctls (KHYP_IRQ_LINE), the
 * vCPU threads (MMIO, EOI) and timers; it is held while a message goes
 * to the APICs (khyp_lapic_route() takes each APIC's raw @lock inside
 * it), so the order is: IOAPIC @lock, then one APIC's lock.  No APIC
 * calls into the IOAPIC with its own lock held: the EOI is reported
 * (khyp_ioapic_eoi()) after the APIC's lock is dropped.
 */
struct khyp_ioapic {
	struct khyp_bus_dev mmio;
	struct khyp_vm *vm;
	raw_spinlock_t lock;	/* see above */
	u32 ioregsel;
	u32 id;
	u32 lines;
	struct IO_APIC_route_entry redir[KHYP_IOAPIC_NR_PINS];
	u64 nr_dropped;
	u64 nr_sent;
	u64 nr_mmio;
};

void khyp_ioapic_init(struct khyp_ioapic *ioapic, struct khyp_vm *vm);
/* The MMIO handlers (the caller registers @ioapic->mmio with them). */
extern const struct khyp_bus_ops khyp_ioapic_mmio_ops;
/* Pin @pin's input goes to @level (0 or 1).  Any context. */
void khyp_ioapic_set_irq(struct khyp_ioapic *ioapic, unsigned int pin,
			 bool level);
/* A local APIC's EOI of a level-triggered @vector (no APIC lock held). */
void khyp_ioapic_eoi(struct khyp_ioapic *ioapic, u8 vector);

#endif /* KHYP_IRQ_IOAPIC_H */
