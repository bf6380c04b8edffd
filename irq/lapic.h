/* SPDX-License-Identifier: GPL-2.0 */
/*
 * irq/'s own view of the local APIC (irq/lapic.c): what the irqchip
 * (irq/irqchip.c) and the injection path (irq/inject.c) call.  The rest
 * of khyp sees only irq/irq.h.
 */
#ifndef KHYP_IRQ_LAPIC_H
#define KHYP_IRQ_LAPIC_H

#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>

struct khyp_inj;
struct khyp_vcpu;
struct khyp_vm;
struct seq_file;

/**
 * struct khyp_lapic - one vCPU's local APIC
 * @vcpu:	(c) its vCPU.
 * @lock:	protects everything below but @nmi_pending.
 * @base:	IA32_APIC_BASE: address, BSP, EXTD (x2APIC), EN.
 * @regs:	the register page, at the xAPIC offsets (reg >> 2).
 * @esr_pending: errors seen since the last write of ESR, which latches
 *		them into regs[APIC_ESR].
 * @timer:	the LAPIC timer (irq/lapic_timer.c); callback
 *		khyp_lapic_timer_fn().
 * @period_ns:	the running timer's period (one-shot: its length), or 0
 *		when it is not running.
 * @start:	when the running timer's current period began.
 * @tsc_deadline: the armed IA32_TSC_DEADLINE, 0 when none (TSC-deadline
 *		mode only).
 * @nmi_pending: an NMI sent by IPI, not yet queued (atomic bit 0).
 * @irr_count:	how many vectors IRR holds.  Written under @lock, read
 *		without it by the vCPU's own thread before each entry
 *		(khyp_lapic_accept(), khyp_lapic_has_interrupt()), so that
 *		an entry with nothing pending takes no lock and reads no
 *		IRR.
 * @isr_count:	how many vectors ISR holds.
 * @isr_highest: the highest of them, -1 for none (what a look at ISR
 *		would find; ISR changes only at an accept, an EOI or a
 *		reset, all of which keep these two up to date).
 * @rcu:	frees it after a grace period, as the vCPU is freed.
 *
 * (c): set at creation, constant until it is freed.  irq/lapic.c and
 * irq/lapic_timer.c are the only files that look inside it.
 */
struct khyp_lapic {
	struct rcu_head rcu;	/* first: kfree_rcu() needs a small offset */
	struct khyp_vcpu *vcpu;
	raw_spinlock_t lock;	/* see above; raw: the hard-irq timer takes it */
	u64 base;
	u32 regs[PAGE_SIZE / sizeof(u32)];
	u32 esr_pending;
	struct hrtimer timer;
	u64 period_ns;
	ktime_t start;
	u64 tsc_deadline;
	unsigned long nmi_pending;
	unsigned int irr_count;
	unsigned int isr_count;
	int isr_highest;
};

static inline u32 khyp_lapic_get(struct khyp_lapic *a, u32 reg)
{
	return a->regs[reg >> 2];
}

static inline void khyp_lapic_set(struct khyp_lapic *a, u32 reg, u32 val)
{
	a->regs[reg >> 2] = val;
}

static inline bool khyp_lapic_hw_enabled(struct khyp_lapic *a)
{
	return a->base & MSR_IA32_APICBASE_ENABLE;
}

static inline bool khyp_lapic_x2apic(struct khyp_lapic *a)
{
	return a->base & X2APIC_ENABLE;
}

static inline bool khyp_lapic_sw_enabled(struct khyp_lapic *a)
{
	return khyp_lapic_get(a, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
}

/* LVT timer bits 18:17: one-shot 00b, periodic 01b, TSC-deadline 10b. */
#define KHYP_LVT_TIMER_MODE	(APIC_LVT_TIMER_PERIODIC | \
				 APIC_LVT_TIMER_TSCDEADLINE)

/*
 * The timer's mode (LVT timer bits 18:17).  The reserved mode 11b is
 * stored as written (as KVM does) and runs no timer: the initial count
 * and IA32_TSC_DEADLINE are both ignored in it.
 */
static inline u32 khyp_lapic_timer_mode(struct khyp_lapic *a)
{
	return khyp_lapic_get(a, APIC_LVTT) & KHYP_LVT_TIMER_MODE;
}

/*
 * irq/lapic.c for irq/lapic_timer.c: accept a fixed interrupt (@lock
 * held; true if the vCPU must be told), and tell the vCPU (without
 * @lock).
 */
bool khyp_lapic_set_irr_locked(struct khyp_lapic *a, u8 vector, bool level);
void khyp_lapic_notify(struct khyp_vcpu *vcpu);

/*
 * The APIC timer (irq/lapic_timer.c).  "@lock" is the APIC's: the
 * hrtimer's callback takes it, so khyp_lapic_timer_cancel() is called
 * without it.  Only the vCPU's own thread starts or stops the timer.
 */
void khyp_lapic_timer_init(struct khyp_lapic *a);	/* at creation */
void khyp_lapic_timer_cancel(struct khyp_lapic *a);	/* without @lock */
/* Forget the count and the deadline (@lock held, timer cancelled). */
void khyp_lapic_timer_reset(struct khyp_lapic *a);
/* Is a count or a deadline running (@lock held)? */
static inline bool khyp_lapic_timer_running(struct khyp_lapic *a)
{
	return a->period_ns;
}

/*
 * Is the hrtimer queued, or its callback running (@lock held)?  If not,
 * nothing but this vCPU's thread can start it, so it needs no cancel.
 */
static inline bool khyp_lapic_timer_active(struct khyp_lapic *a)
{
	return hrtimer_active(&a->timer);
}

/* Start counting from TMICT (@lock held, timer cancelled). */
void khyp_lapic_timer_start(struct khyp_lapic *a);
/* TMCCT: what is left of the period, in ticks (@lock held). */
u32 khyp_lapic_timer_current(struct khyp_lapic *a);
/* IA32_TSC_DEADLINE (the vCPU's thread, without @lock). */
int khyp_lapic_tsc_deadline_msr(struct khyp_lapic *a, bool write, u64 *data);
/* debugfs: the timer's line of khyp_lapic_show() (@lock held). */
void khyp_lapic_timer_show(struct seq_file *m, struct khyp_lapic *a);

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
