/* SPDX-License-Identifier: GPL-2.0 */
/*
 * irq/: events on their way into a guest (irq/inject.c).
 *
 * What the rest of khyp may ask of it:
 *  - deliver an event to a vCPU: userspace's KHYP_INJECT_EVENT
 *    (khyp_irq_queue()), an exception from emulation
 *    (khyp_irq_queue_exception(), khyp_irq_queue_page_fault()), an
 *    intercepted exception given back (khyp_irq_reflect_exception());
 *    all by the vCPU's own thread;
 *  - raise or lower an interrupt vector from anywhere in the module
 *    (khyp_irq_raise_vector(), khyp_irq_lower_vector()): the balloon's
 *    notification (a fixed interrupt of the local APIC when the VM has
 *    an irqchip, irq/irqchip.c and irq/lapic.c); a raise kicks the vCPU
 *    out of the guest with khyp_vcpu_kick() (core/run.c, where the other
 *    half of that handshake is);
 *  - the board's interrupt lines and MSIs from userspace (KHYP_IRQ_LINE,
 *    KHYP_SIGNAL_MSI: khyp_irqchip_irq_line(), khyp_irqchip_signal_msi(),
 *    irq/irqchip.c), through the IOAPIC (irq/ioapic.c) to the local
 *    APICs;
 *  - the run loop's hooks: one question before entry
 *    (khyp_irq_prepare_entry(): what to inject, whether to ask for an
 *    interrupt window, the TPR as CR8) and one report after exit
 *    (khyp_irq_after_exit()), plus the checks HLT, KHYP_RUN and the
 *    entry make.
 */
#ifndef KHYP_IRQ_IRQ_H
#define KHYP_IRQ_IRQ_H

#include <linux/types.h>

struct khyp_create_irqchip;
struct khyp_irq_level;
struct khyp_msi;
struct khyp_entry;
struct khyp_event;
struct khyp_exit;
struct khyp_vcpu;
struct khyp_vm;
struct seq_file;

/**
 * enum khyp_irq_stat - a vCPU's interrupt counts (vcpu->irq_stats[])
 * @KHYP_IRQ_STAT_INJECTED:	interrupts the irqchip put into the guest
 *				(a vector the local APIC moved to ISR, or
 *				an ExtINT the PIC acknowledged).
 * @KHYP_IRQ_STAT_EXTINT:	of those, ExtINTs from the PIC (vCPU 0).
 * @KHYP_IRQ_STAT_TIMER:	of those, at the vector of the unmasked LVT
 *				timer entry (the APIC timer's interrupts).
 * @KHYP_IRQ_STAT_NMI:		NMIs from the local APIC (IPI, IOAPIC, MSI).
 * @KHYP_IRQ_STAT_EOI:		EOI register writes.
 * @KHYP_IRQ_STAT_IPI:		ICR writes (x2APIC: and SELF IPI): IPIs sent.
 * @KHYP_IRQ_STAT_APIC_ACCESS:	exits that reached the local APIC: accesses
 *				to the xAPIC page and x2APIC MSRs.
 *
 * Written by the vCPU's own thread only (as vcpu->exits[]), read by
 * debugfs without a lock (core/stats.c); kept by the VM when the vCPU
 * goes.
 */
enum khyp_irq_stat {
	KHYP_IRQ_STAT_INJECTED,
	KHYP_IRQ_STAT_EXTINT,
	KHYP_IRQ_STAT_TIMER,
	KHYP_IRQ_STAT_NMI,
	KHYP_IRQ_STAT_EOI,
	KHYP_IRQ_STAT_IPI,
	KHYP_IRQ_STAT_APIC_ACCESS,
	KHYP_IRQ_STAT_NR
};

/* Deliver to a vCPU (its thread, vcpu->mutex held). */
int khyp_irq_queue(struct khyp_vcpu *vcpu, const struct khyp_event *ev);
void khyp_irq_queue_page_fault(struct khyp_vcpu *vcpu, u64 addr,
			       u32 error_code);
void khyp_irq_queue_exception(struct khyp_vcpu *vcpu, u8 vector,
			      bool has_error_code, u32 error_code);
void khyp_irq_reflect_exception(struct khyp_vcpu *vcpu,
				const struct khyp_exit *exit);

/* Raise or lower a vector (any context that may send IPIs). */
bool khyp_irq_raise_vector(struct khyp_vm *vm, unsigned int vcpu_id,
			   u8 vector);
void khyp_irq_lower_vector(struct khyp_vm *vm, unsigned int vcpu_id,
			   u8 vector);

/* The run loop's hooks (the vCPU's thread, vcpu->mutex held). */
void khyp_irq_prepare_entry(struct khyp_vcpu *vcpu, struct khyp_entry *entry);
void khyp_irq_after_exit(struct khyp_vcpu *vcpu, const struct khyp_entry *entry,
			 const struct khyp_exit *exit);
bool khyp_irq_ready(struct khyp_vcpu *vcpu);
bool khyp_irq_wakes_halt(struct khyp_vcpu *vcpu);
bool khyp_irq_shadow_hlt(struct khyp_vcpu *vcpu);
bool khyp_irq_requested(struct khyp_vcpu *vcpu);

/*
 * The irqchip (irq/irqchip.c) and the local APIC (irq/lapic.c): made by
 * the VM ioctl and vCPU creation, freed with them; the lines and MSIs
 * (VM ioctls, any thread); the APIC's MSRs.
 */
int khyp_irqchip_create(struct khyp_vm *vm,
			const struct khyp_create_irqchip *arg);
void khyp_irqchip_destroy(struct khyp_vm *vm);
int khyp_irqchip_irq_line(struct khyp_vm *vm, const struct khyp_irq_level *arg);
int khyp_irqchip_signal_msi(struct khyp_vm *vm, const struct khyp_msi *arg);
int khyp_lapic_create(struct khyp_vcpu *vcpu);
void khyp_lapic_destroy(struct khyp_vcpu *vcpu);
void khyp_lapic_init(struct khyp_vcpu *vcpu);	/* INIT (core/vcpu.c) */
int khyp_lapic_msr(struct khyp_vcpu *vcpu, u32 index, bool write, u64 *data);
/* Count an x2APIC MSR access the APIC emulated (core/msr.c). */
void khyp_irq_count_x2apic(struct khyp_vcpu *vcpu, u32 index, bool write);

/*
 * debugfs (core/stats.c): each controller's state, read under its lock.
 * The VM ones need vm->irqchip set.
 */
void khyp_lapic_show(struct seq_file *m, struct khyp_vcpu *vcpu);
void khyp_ioapic_show(struct seq_file *m, struct khyp_vm *vm);
void khyp_pic_show(struct seq_file *m, struct khyp_vm *vm);
void khyp_pit_show(struct seq_file *m, struct khyp_vm *vm);
/*
 * CR8 of a vCPU with a local APIC is its TPR's bits 7:4 (core/cr4.c,
 * KHYP_GET/SET_SREGS); the vCPU's own thread.
 */
u8 khyp_lapic_get_cr8(struct khyp_vcpu *vcpu);
void khyp_lapic_set_cr8(struct khyp_vcpu *vcpu, u8 cr8);
/*
 * The xAPIC page at the vCPU's own IA32_APIC_BASE (core/mmio.c asks
 * before the VM's bus): false if the access is not to it (the APIC is
 * disabled, in x2APIC mode, or elsewhere).
 */
bool khyp_lapic_mmio_read(struct khyp_vcpu *vcpu, u64 addr, unsigned int len,
			  u64 *val);
bool khyp_lapic_mmio_write(struct khyp_vcpu *vcpu, u64 addr, unsigned int len,
			   u64 val);
/*
 * A store the exit says is to @addr, without its width or value (VMX's
 * APIC-access exit): true if it was an EOI of the vCPU's xAPIC, done.
 */
bool khyp_lapic_mmio_eoi(struct khyp_vcpu *vcpu, u64 addr);
/* Whether @gpa's page is the vCPU's xAPIC page now. */
bool khyp_lapic_mmio_page(struct khyp_vcpu *vcpu, u64 gpa);

#endif /* KHYP_IRQ_IRQ_H */
