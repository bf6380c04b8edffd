/* SPDX-License-Identifier: GPL-2.0 */
/*
 * irq/'s own view of a VM's irqchip (irq/irqchip.c): the devices shared
 * by the whole VM and how an interrupt line or a message reaches the
 * local APICs.  The rest of khyp sees only irq/irq.h.
 *
 * Interrupt lines (docs/irq.md): "IRQ" n below is an input of the board,
 * numbered as QEMU and KVM number them for a PC: 0-15 are the ISA IRQs,
 * wired both to the PIC pair (pin n; 2 is the cascade) and to the IOAPIC
 * (pin n, but IRQ 0, the PIT, goes to IOAPIC pin 2, the override that
 * the MP and ACPI tables announce); 16-23 reach IOAPIC pins 16-23 only.
 */
#ifndef KHYP_IRQ_IRQCHIP_H
#define KHYP_IRQ_IRQCHIP_H

#include <linux/spinlock.h>
#include <linux/types.h>

#include "../core/bus.h"
#include "ioapic.h"

struct khyp_pic;
struct khyp_pit;
struct khyp_vm;

/* The board's interrupt lines: ISA IRQs 0-15, then IOAPIC-only 16-23. */
#define KHYP_IRQCHIP_NR_IRQS	24

/*
 * Who drives a line.  A line is the OR of its sources (wired-OR, as
 * KVM's IRQ source ids): userspace's KHYP_IRQ_LINE and the in-kernel
 * PIT both drive IRQ 0, and a pulse of the PIT must not undo a level
 * that userspace holds.
 */
enum khyp_irq_source {
	KHYP_IRQ_SRC_USER,
	KHYP_IRQ_SRC_PIT,
	KHYP_IRQ_SRC_NR
};

/**
 * struct khyp_irqchip - a VM's in-kernel interrupt controllers
 * @vm:		(c) the VM.
 * @lines_lock:	protects @lines and orders the changes of a line as the
 *		PIC and the IOAPIC see them; taken outside their locks
 *		(and so outside an APIC's), never inside any of them.
 * @lines:	per source, the lines it asserts (bit n: IRQ n).
 * @ioapic:	the IOAPIC (irq/ioapic.c), with its own lock.
 * @pic:	(c) the 8259A pair and the ELCR (irq/pic.c).
 * @pit:	(c) the 8254 and port 0x61 (irq/pit.c).
 * @lowest_next: where lowest-priority arbitration (irq/lapic.c) starts
 *		looking for the lowest bidder: the vCPU after the last
 *		winner, so that equal bidders take turns.  A hint, read and
 *		written with READ_ONCE()/WRITE_ONCE() without a lock.
 *
 * (c): set in khyp_irqchip_create(), constant until the VM is freed.
 * Each device below has its own lock, described beside its struct.
 */
struct khyp_irqchip {
	struct khyp_vm *vm;
	raw_spinlock_t lines_lock;	/* see @lines */
	u32 lines[KHYP_IRQ_SRC_NR];
	struct khyp_ioapic ioapic;
	struct khyp_pic *pic;
	struct khyp_pit *pit;
	unsigned int lowest_next;
};

/* IRQ @irq (0 .. KHYP_IRQCHIP_NR_IRQS - 1) goes to @level.  Any context. */
void khyp_irqchip_set_irq(struct khyp_irqchip *chip, unsigned int irq,
			  enum khyp_irq_source src, bool level);

/*
 * Count an access to the APIC at register offset @reg (U32_MAX: a
 * store that reaches no register) in the vCPU's interrupt counts; the
 * vCPU's own thread.
 */
void khyp_irq_count_apic(struct khyp_vcpu *vcpu, u32 reg, bool write,
			 bool x2apic);

#endif /* KHYP_IRQ_IRQCHIP_H */
