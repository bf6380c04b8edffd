/* SPDX-License-Identifier: GPL-2.0 */
/*
 * irq/'s own view of the local APIC (irq/lapic.c): what the irqchip
 * (irq/irqchip.c) and the injection path (irq/inject.c) call.  The rest
 * of khyp sees only irq/irq.h.
 */
#ifndef KHYP_IRQ_LAPIC_H
#define KHYP_IRQ_LAPIC_H

#include <linux/types.h>

struct khyp_inj;
struct khyp_lapic;
struct khyp_vcpu;
struct khyp_vm;

/**
 * struct khyp_lapic_irq - an interrupt message on its way to the APICs
 * @dest:	the destination: an APIC ID (physical; 0xff or, in x2APIC
 *		mode, 0xffffffff is every APIC) or a logical destination
 *		matched against each APIC's LDR/DFR.
 * @mode:	the delivery mode, APIC_DM_* (ICR bits 10:8).
 * @shorthand:	0, APIC_DEST_SELF, APIC_DEST_ALLINC or APIC_DEST_ALLBUT;
 *		SELF and ALLBUT need a source APIC.
 * @vector:	the vector (fixed, lowest priority).
 * @logical:	@dest is logical.
 * @level:	level-triggered: the target sets the vector's TMR bit, and
 *		its EOI tells the IOAPIC (irq/ioapic.c).
 *
 * Made by an IPI (the ICR), an IOAPIC redirection entry or an MSI.
 */
struct khyp_lapic_irq {
	u32 dest;
	u32 mode;
	u32 shorthand;
	u8 vector;
	bool logical;
	bool level;
};

/*
 * Deliver @irq to the VM's APICs it names (@src: the sending APIC, or
 * NULL from the IOAPIC or an MSI).  Any context; the caller holds no
 * APIC's lock (it may hold the IOAPIC's).  Returns how many took it.
 */
unsigned int khyp_lapic_route(struct khyp_vm *vm, struct khyp_lapic *src,
			      const struct khyp_lapic_irq *irq);

/* A fixed, edge-triggered interrupt from the module (the balloon's). */
bool khyp_lapic_raise(struct khyp_vcpu *vcpu, u8 vector);
void khyp_lapic_lower(struct khyp_vcpu *vcpu, u8 vector);

/* Before an entry: an NMI sent by an IPI goes into events.nmi. */
void khyp_lapic_take_nmi(struct khyp_vcpu *vcpu);
/* The highest IRR vector above the PPR, moved to ISR; false if none. */
bool khyp_lapic_accept(struct khyp_vcpu *vcpu, struct khyp_inj *inj);
/* Is there one (without taking it)? */
bool khyp_lapic_has_interrupt(struct khyp_vcpu *vcpu);
bool khyp_lapic_nmi_pending(struct khyp_vcpu *vcpu);
/* Is a pending vector held back by the TPR alone (CR8 writes must exit)? */
bool khyp_lapic_tpr_holds(struct khyp_vcpu *vcpu);
/* Does LINT0 take an ExtINT (the PIC's INTR, irq/pic.c) now? */
bool khyp_lapic_accepts_extint(struct khyp_vcpu *vcpu);
/* The unmasked LVT timer entry's vector, or -1 (the vCPU's thread). */
int khyp_lapic_timer_vector(struct khyp_vcpu *vcpu);

#endif /* KHYP_IRQ_LAPIC_H */
