/* SPDX-License-Identifier: GPL-2.0 */
/*
 * irq/'s own view of the local APIC (irq/lapic.c): what the irqchip
 * (irq/irqchip.c) and the injection path (irq/inject.c) call.  The rest
 * of khyp sees only irq/irq.h.
 */
#ifndef KHYP_IRQ_LAPIC_H
#define KHYP_IRQ_LAPIC_H

#include <linux/types.h>

struct khyp_bus_ops;
struct khyp_inj;
struct khyp_vcpu;

/* The MMIO page's handlers (registered once per VM by irq/irqchip.c). */
extern const struct khyp_bus_ops khyp_lapic_mmio_ops;

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
/* Does LINT0 take an ExtINT (the PIC's INTR, irq/pic.c) now? */
bool khyp_lapic_accepts_extint(struct khyp_vcpu *vcpu);

#endif /* KHYP_IRQ_LAPIC_H */
