// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel local APIC: one per vCPU of a VM that has an irqchip
 * (KHYP_CREATE_IRQCHIP, irq/irqchip.c).
 *
 * The guest reaches it two ways: the xAPIC page at IA32_APIC_BASE
 * (0xfee00000 from reset; each vCPU sees its own APIC there) and,
 * once IA32_APIC_BASE.EXTD is set, the x2APIC MSRs 0x800-0x8ff
 * (khyp_lapic_msr(), from core/msr.c).  Both end in the same register
 * read and write below; the state is the architectural register page,
 * kept as the 4 KiB the xAPIC shows (regs[], one u32 per 16 bytes used).
 *
 * Interrupts: a fixed interrupt for this APIC (an IPI from another vCPU,
 * the timer, the LVT error entry, the balloon) sets its bit in IRR and
 * kicks the vCPU (khyp_vcpu_kick(): out of the guest, or out of HLT).
 * Before each entry irq/inject.c asks khyp_lapic_accept() for the
 * highest IRR vector whose priority class is above the PPR's; that moves
 * it to ISR, and inject.c puts it into the hardware.  EOI clears the
 * highest ISR bit and, if that vector was level-triggered (TMR), tells
 * the IOAPIC (khyp_ioapic_eoi()).  IPIs, the IOAPIC and MSIs all reach
 * their targets through one loop, khyp_lapic_route().  NMIs sent by IPI
 * wait in a flag that the next entry turns into an NMI event.
 *
 * The timer (one-shot, periodic, TSC-deadline, on an hrtimer) is in
 * irq/lapic_timer.c; this file gives it the registers and IRR.
 *
 * INIT and SIPI go to the target vCPU's own thread, which resets or
 * starts itself (core/run.c, docs/smp.md); INIT level de-assert is
 * ignored, as modern processors do.
 *
 * The page sits at each vCPU's own IA32_APIC_BASE: core/mmio.c asks
 * khyp_lapic_mmio_read()/_write() first, before the VM's bus, and a
 * new base moves it at once; disabled or in x2APIC mode there is no
 * page (the address goes on to the bus or userspace).  A base on RAM
 * is not seen (RAM never exits), as in KVM without APICv.
 *
 * CR8 is the TPR's bits 7:4 in 64-bit mode: core/cr4.c gives the CR8
 * accesses that exit (all on VMX; on SVM the writes entry->
 * cr8_write_exit asks for) to khyp_lapic_get_cr8()/_set_cr8(), and
 * irq/inject.c hands the TPR to the backend before each entry and takes
 * back what SVM's guest wrote into V_TPR without an exit.
 *
 * A lowest-priority message goes to one APIC only, the one with the
 * lowest arbitration priority, ties taking turns
 * (khyp_lapic_route_lowest()).
 *
 * Not emulated yet (issue 13): LINT1.  LINT0 takes the PIC's ExtINT on vCPU 0
 * (irq/pic.c, khyp_lapic_accepts_extint()); the EOI of a level-triggered
 * vector is passed on to the IOAPIC (irq/ioapic.c).
 *
 * Locking: @lock (struct khyp_lapic, irq/lapic.h; irqsave: the hrtimer
 * callback runs in hard interrupt context) protects regs[] and the timer
 * fields.  A vCPU's own thread reads and writes its registers; other
 * vCPUs (IPIs) and the timer only set IRR, ESR bits and @nmi_pending.
 * No code holds two APICs' locks: an IPI reads the ICR under the
 * sender's lock, drops it, then takes each target's in turn.
 * khyp_lapic_timer_cancel() is called without @lock (the callback
 * takes it).  The IOAPIC's lock (irq/ioapic.h) comes before
 * any APIC's: the IOAPIC delivers holding it, so an APIC never calls the
 * IOAPIC with @lock held (the EOI is reported after it is dropped).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>
#include <asm/tsc.h>		/* tsc_khz: the LVT's TSC-deadline bit */

#include "../core/vcpu.h"
#include "../core/vm.h"
#include "ioapic.h"
#include "irq.h"
#include "irqchip.h"
#include "lapic.h"

#define KHYP_LAPIC_VERSION	0x14	/* an integrated xAPIC */
#define KHYP_LAPIC_NR_LVT	6	/* timer, thermal, perf, LINT0/1, error */
#define KHYP_X2APIC_MSR_FIRST	APIC_BASE_MSR
#define KHYP_X2APIC_MSR_LAST	(APIC_BASE_MSR + 0xff)
/* Reserved bits of IA32_APIC_BASE: 0-7, 9 and above 51 (MAXPHYADDR 52). */
#define KHYP_APIC_BASE_RSVD	(GENMASK_ULL(7, 0) | BIT_ULL(9) | \
				 GENMASK_ULL(63, 52))

/* IRR, ISR or TMR: 8 registers of 32 bits, 16 bytes apart. */
static u32 *khyp_lapic_vec_reg(struct khyp_lapic *a, u32 base, u8 vector)
{
	return &a->regs[(base + (vector / 32) * 0x10) >> 2];
}

static void khyp_lapic_vec_set(struct khyp_lapic *a, u32 base, u8 vector)
{
	*khyp_lapic_vec_reg(a, base, vector) |= BIT(vector % 32);
}

static void khyp_lapic_vec_clear(struct khyp_lapic *a, u32 base, u8 vector)
{
	*khyp_lapic_vec_reg(a, base, vector) &= ~BIT(vector % 32);
}

/* The highest vector set in IRR or ISR, or -1. */
static int khyp_lapic_vec_highest(struct khyp_lapic *a, u32 base)
{
	int i;
	u32 v;

	for (i = 7; i >= 0; i--) {
		v = khyp_lapic_get(a, base + i * 0x10);
		if (v)
			return i * 32 + __fls(v);
	}
	return -1;
}

/*
 * IRR and ISR, with what is counted of them (struct khyp_lapic:
 * @irr_count, @isr_count, @isr_highest); caller holds @lock.  Every
 * change of IRR or ISR but a reset's goes through these.
 */
static void khyp_lapic_irr_set(struct khyp_lapic *a, u8 vector)
{
	u32 *r = khyp_lapic_vec_reg(a, APIC_IRR, vector);

	if (*r & BIT(vector % 32))
		return;
	*r |= BIT(vector % 32);
	WRITE_ONCE(a->irr_count, a->irr_count + 1);
}

static void khyp_lapic_irr_clear(struct khyp_lapic *a, u8 vector)
{
	u32 *r = khyp_lapic_vec_reg(a, APIC_IRR, vector);

	if (!(*r & BIT(vector % 32)))
		return;
	*r &= ~BIT(vector % 32);
	WRITE_ONCE(a->irr_count, a->irr_count - 1);
}

/* The highest vector in IRR, or -1 (without a look when it is empty). */
static int khyp_lapic_irr_highest(struct khyp_lapic *a)
{
	if (!a->irr_count)
		return -1;
	return khyp_lapic_vec_highest(a, APIC_IRR);
}

static int khyp_lapic_isr_highest(struct khyp_lapic *a)
{
	return a->isr_highest;
}

/* @vector goes in service: the accept; it is above all in service. */
static void khyp_lapic_isr_set(struct khyp_lapic *a, u8 vector)
{
	u32 *r = khyp_lapic_vec_reg(a, APIC_ISR, vector);

	if (*r & BIT(vector % 32))
		return;
	*r |= BIT(vector % 32);
	a->isr_count++;
	if (vector > a->isr_highest)
		a->isr_highest = vector;
}

/* The EOI: the highest in-service vector @vector is done. */
static void khyp_lapic_isr_clear_highest(struct khyp_lapic *a, u8 vector)
{
	khyp_lapic_vec_clear(a, APIC_ISR, vector);
	a->isr_count--;
	a->isr_highest = a->isr_count ? khyp_lapic_vec_highest(a, APIC_ISR) :
			 -1;
}

/* After a clear of the whole page: IRR and ISR are empty. */
static void khyp_lapic_vec_reset(struct khyp_lapic *a)
{
	WRITE_ONCE(a->irr_count, 0);
	a->isr_count = 0;
	a->isr_highest = -1;
}

/* PPR: the TPR, or the class of the highest in-service vector if higher. */
static void khyp_lapic_update_ppr(struct khyp_lapic *a)
{
	u32 tpr = khyp_lapic_get(a, APIC_TASKPRI) & 0xff;
	int isr = khyp_lapic_isr_highest(a);
	u32 isrv = isr < 0 ? 0 : isr;

	khyp_lapic_set(a, APIC_PROCPRI,
		       (tpr & 0xf0) >= (isrv & 0xf0) ? tpr : isrv & 0xf0);
}

/* The vector to deliver now, or -1 (caller holds @lock). */
static int khyp_lapic_pending_vector(struct khyp_lapic *a)
{
	int irr;

	/*
	 * Software disable drops new interrupts (khyp_lapic_set_irr_locked())
	 * but, as the SDM says, those already in IRR still go in.
	 */
	if (!khyp_lapic_hw_enabled(a))
		return -1;
	irr = khyp_lapic_irr_highest(a);
	if (irr < 0 ||
	    (irr & 0xf0) <= (khyp_lapic_get(a, APIC_PROCPRI) & 0xf0))
		return -1;
	return irr;
}

/*
 * May IRR hold a vector?  The vCPU's own thread asks before each entry,
 * without @lock: an entry with nothing pending then takes no lock.  A
 * vector set in IRR after this look is not lost: its sender sets IRR
 * (and @irr_count) before khyp_lapic_notify() sets
 * vcpu->irq_request_pending, and the entry cleared that flag, with a
 * full barrier, before it looked (khyp_irq_lapic_begin(), irq/inject.c);
 * so the flag is set again and khyp_enter_guest() (core/run.c) does
 * not enter.  HLT's wait pairs the same way with the kick's barrier.
 */
static bool khyp_lapic_irr_maybe(struct khyp_lapic *a)
{
	return READ_ONCE(a->irr_count);
}

/* ---- CR8: the TPR's bits 7:4 (core/cr4.c, irq/inject.c, SREGS) ---- */

/* Only the vCPU's own thread writes the TPR: it reads it without @lock. */
u8 khyp_lapic_get_cr8(struct khyp_vcpu *vcpu)
{
	return (READ_ONCE(vcpu->lapic->regs[APIC_TASKPRI >> 2]) >> 4) & 0xf;
}

/*
 * MOV to CR8 (or the CR8 that SVM's guest set in V_TPR): TPR bits 7:4
 * from @cr8, bits 3:0 cleared (SDM 10.8.6.1); the PPR follows at once,
 * so the next entry delivers what the new priority lets through.
 */
void khyp_lapic_set_cr8(struct khyp_vcpu *vcpu, u8 cr8)
{
	struct khyp_lapic *a = vcpu->lapic;
	unsigned long flags;

	raw_spin_lock_irqsave(&a->lock, flags);
	khyp_lapic_set(a, APIC_TASKPRI, (cr8 & 0xf) << 4);
	khyp_lapic_update_ppr(a);
	raw_spin_unlock_irqrestore(&a->lock, flags);
}

/*
 * Is the highest pending vector held back by the TPR (its class is not
 * above the TPR's)?  Then lowering CR8 must exit (entry->cr8_write_exit)
 * for it to be delivered at once, on SVM where CR8 writes do not exit
 * by themselves.
 */
bool khyp_lapic_tpr_holds(struct khyp_vcpu *vcpu)
{
	struct khyp_lapic *a = vcpu->lapic;
	u32 tpr = khyp_lapic_get_cr8(vcpu) << 4;
	unsigned long flags;
	int irr;

	if (!tpr || !khyp_lapic_irr_maybe(a))
		return false;
	raw_spin_lock_irqsave(&a->lock, flags);
	irr = khyp_lapic_irr_highest(a);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return irr >= 0 && (irr & 0xf0) <= tpr;
}

/* Tell the vCPU to look at its APIC: out of the guest or out of HLT. */
void khyp_lapic_notify(struct khyp_vcpu *vcpu)
{
	/*
	 * After the IRR or NMI change: khyp_irq_requested() tests this.
	 * The barrier orders the IRR (and @irr_count) stores before the
	 * flag's, pairing with the full barrier of the entry that clears
	 * the flag before it looks at @irr_count (khyp_lapic_irr_maybe()).
	 * On x86 it is a compiler barrier: stores are not reordered.
	 */
	smp_wmb();
	WRITE_ONCE(vcpu->irq_request_pending, true);
	khyp_vcpu_kick(vcpu);
}

static void khyp_lapic_error(struct khyp_lapic *a, u32 bits);

/*
 * Accept a fixed interrupt (caller holds @lock).  Returns true if the
 * vCPU must be told.  A vector below 16 is a receive error instead;
 * a software-disabled APIC drops fixed interrupts.
 */
bool khyp_lapic_set_irr_locked(struct khyp_lapic *a, u8 vector, bool level)
{
	if (!khyp_lapic_hw_enabled(a) || !khyp_lapic_sw_enabled(a))
		return false;
	if (vector < 16) {
		khyp_lapic_error(a, APIC_ESR_RECVILL);
		return true;
	}
	khyp_lapic_irr_set(a, vector);
	if (level)
		khyp_lapic_vec_set(a, APIC_TMR, vector);
	else
		khyp_lapic_vec_clear(a, APIC_TMR, vector);
	return true;
}

/*
 * An error (ESR bits); the LVT error entry raises its vector unless
 * masked.  Caller holds @lock.  An illegal vector in the error entry
 * itself sets its error bit only once: it is already set then.
 */
static void khyp_lapic_error(struct khyp_lapic *a, u32 bits)
{
	u32 lvt = khyp_lapic_get(a, APIC_LVTERR);

	if ((a->esr_pending & bits) == bits)
		return;
	a->esr_pending |= bits;
	if (!(lvt & APIC_LVT_MASKED))
		khyp_lapic_set_irr_locked(a, lvt & APIC_VECTOR_MASK, false);
}

/*
 * Deliver to @a from anywhere (not holding any APIC's lock).  Returns
 * false if @a dropped it (disabled, or a mode not emulated yet).
 */
static bool khyp_lapic_deliver(struct khyp_lapic *a, u32 mode, u8 vector,
			       bool level)
{
	unsigned long flags;
	bool notify = false;

	switch (mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		raw_spin_lock_irqsave(&a->lock, flags);
		notify = khyp_lapic_set_irr_locked(a, vector, level);
		raw_spin_unlock_irqrestore(&a->lock, flags);
		break;
	case APIC_DM_NMI:
		if (!khyp_lapic_hw_enabled(a))
			break;
		set_bit(0, &a->nmi_pending);
		notify = true;
		break;
	case APIC_DM_INIT:
	case APIC_DM_STARTUP:
		/* The target's own thread resets or starts it (core/run.c). */
		if (!khyp_lapic_hw_enabled(a))
			break;
		if (mode == APIC_DM_INIT)
			khyp_vcpu_send_init(a->vcpu);
		else
			khyp_vcpu_send_sipi(a->vcpu, vector);
		return true;
	default:
		/* SMI, ExtINT: not yet (see the top). */
		break;
	}
	if (notify)
		khyp_lapic_notify(a->vcpu);
	return notify;
}

/* ---- registers ---- */

static void khyp_lapic_reset_regs(struct khyp_lapic *a)
{
	unsigned int i;

	memset(a->regs, 0, sizeof(a->regs));
	khyp_lapic_vec_reset(a);
	khyp_lapic_set(a, APIC_ID, a->vcpu->id << 24);
	khyp_lapic_set(a, APIC_LVR, KHYP_LAPIC_VERSION |
		       ((KHYP_LAPIC_NR_LVT - 1) << 16));
	khyp_lapic_set(a, APIC_DFR, APIC_DFR_FLAT);
	khyp_lapic_set(a, APIC_SPIV, 0xff);
	for (i = APIC_LVTT; i <= APIC_LVTERR; i += 0x10)
		khyp_lapic_set(a, i, APIC_LVT_MASKED);
	/*
	 * The BSP's LINT0 takes the PIC (irq/pic.c) as ExtINT from reset,
	 * as QEMU and KVM set it up for the BIOS's virtual wire.
	 */
	if (a->vcpu->id == 0)
		khyp_lapic_set(a, APIC_LVT0, APIC_DM_EXTINT);
	a->esr_pending = 0;
	khyp_lapic_timer_reset(a);
}

/*
 * What a reset of the registers is about to drop (caller holds @lock):
 * the level-triggered vectors in IRR or ISR.  Each holds an IOAPIC pin's
 * remote IRR until its EOI, which will never come now.
 */
static void khyp_lapic_level_pending(struct khyp_lapic *a, u32 level[8])
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		level[i] = khyp_lapic_get(a, APIC_TMR + i * 0x10) &
			   (khyp_lapic_get(a, APIC_IRR + i * 0x10) |
			    khyp_lapic_get(a, APIC_ISR + i * 0x10));
}

/*
 * ... so EOI them to the IOAPIC, as if the guest had, once @lock is
 * dropped (the IOAPIC may deliver again, to this APIC too): a pin must
 * not stay stuck because the APIC that took its message was disabled.
 */
static void khyp_lapic_eoi_dropped(struct khyp_lapic *a, const u32 level[8])
{
	struct khyp_ioapic *ioapic = &a->vcpu->vm->irqchip->ioapic;
	unsigned int i;
	u32 bits;

	for (i = 0; i < 8; i++)
		for (bits = level[i]; bits; bits &= bits - 1)
			khyp_ioapic_eoi(ioapic, i * 32 + __ffs(bits));
}

/* The x2APIC logical ID follows from the x2APIC ID (SDM 10.12.10.2). */
static u32 khyp_x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | BIT(id & 0xf);
}

/* Does @a answer destination @dest in the mode of ICR @icr? */
static bool khyp_lapic_match(struct khyp_lapic *a, u32 dest, bool logical)
{
	bool x2 = khyp_lapic_x2apic(a);
	u32 ldr = khyp_lapic_get(a, APIC_LDR);

	if (!logical) {
		if (dest == (x2 ? U32_MAX : 0xff))
			return true;
		return dest == (x2 ? a->vcpu->id :
				khyp_lapic_get(a, APIC_ID) >> 24);
	}
	if (x2)
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	ldr >>= 24;
	if (dest == 0xff)
		return true;
	if ((khyp_lapic_get(a, APIC_DFR) >> 28) == 0xf)	/* flat */
		return dest & ldr;
	/* cluster: same cluster (high nibble), one of its 4 CPUs */
	return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf);
}

/* Does @t take @irq, by its shorthand or destination (@src: the sender)? */
static bool khyp_lapic_targets(struct khyp_lapic *t, struct khyp_lapic *src,
			       const struct khyp_lapic_irq *irq)
{
	switch (irq->shorthand) {
	case APIC_DEST_ALLINC:
		return true;
	case APIC_DEST_ALLBUT:
		return t != src;
	default:
		return khyp_lapic_match(t, irq->dest, irq->logical);
	}
}

/*
 * The arbitration priority of @a for a lowest-priority message: the
 * APR of the SDM (Vol 3, 10.8.3.1), from the TPR and the
 * highest vectors in ISR and IRR:
 *
 *	if TPR[7:4] >= IRRV[7:4] and TPR[7:4] > ISRV[7:4]: APR = TPR
 *	else: APR = max(TPR[7:4], ISRV[7:4], IRRV[7:4]) << 4
 *
 * A busy APIC (a higher class in service or waiting) bids higher than
 * its TPR alone.  U32_MAX if @a takes no fixed interrupt now (hardware-
 * or software-disabled): it never wins.
 */
static u32 khyp_lapic_arb_priority(struct khyp_lapic *a)
{
	u32 tpr, isrv, irrv;
	unsigned long flags;
	int isr, irr;

	raw_spin_lock_irqsave(&a->lock, flags);
	if (!khyp_lapic_hw_enabled(a) || !khyp_lapic_sw_enabled(a)) {
		raw_spin_unlock_irqrestore(&a->lock, flags);
		return U32_MAX;
	}
	tpr = khyp_lapic_get(a, APIC_TASKPRI) & 0xff;
	isr = khyp_lapic_isr_highest(a);
	irr = khyp_lapic_irr_highest(a);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	isrv = isr < 0 ? 0 : isr;
	irrv = irr < 0 ? 0 : irr;
	if ((tpr >> 4) >= (irrv >> 4) && (tpr >> 4) > (isrv >> 4))
		return tpr;
	return max3(tpr, isrv, irrv) & 0xf0;
}

/*
 * Lowest-priority delivery (SDM Vol 3, 10.6.2.4): of the enabled APICs
 * the message names (a destination, a broadcast or a shorthand), the one
 * with the lowest arbitration priority takes it, and only that one.
 * Ties go round-robin: the search starts after the APIC that won last
 * (struct khyp_irqchip @lowest_next) and the first lowest found wins, so
 * equal bidders take turns in vCPU order.  The focus processor (an APIC
 * that already has the vector) is not emulated, as in KVM.  Each APIC's
 * lock is taken in turn to read its priority; the winner's state may
 * change before the delivery, as a real bus arbitration is a snapshot.
 * Caller holds rcu_read_lock().  Returns 1 if the winner took it.
 */
static unsigned int khyp_lapic_route_lowest(struct khyp_vm *vm,
					    struct khyp_lapic *src,
					    const struct khyp_lapic_irq *irq)
{
	struct khyp_irqchip *chip = vm->irqchip;
	struct khyp_lapic *best = NULL;
	u32 prio, best_prio = U32_MAX;
	unsigned int i, k, start, best_i = 0;
	struct khyp_vcpu *t;

	start = READ_ONCE(chip->lowest_next) % KHYP_MAX_VCPUS;
	for (k = 0; k < KHYP_MAX_VCPUS; k++) {
		i = (start + k) % KHYP_MAX_VCPUS;
		t = rcu_dereference(vm->vcpus[i]);
		/* Every vCPU of a VM with an irqchip has an APIC. */
		if (!t || WARN_ON_ONCE(!t->lapic))
			continue;
		if (!khyp_lapic_targets(t->lapic, src, irq))
			continue;
		prio = khyp_lapic_arb_priority(t->lapic);
		if (prio < best_prio) {
			best = t->lapic;
			best_prio = prio;
			best_i = i;
		}
	}
	if (!best)
		return 0;
	/* A hint for the next tie: concurrent senders may both write it. */
	WRITE_ONCE(chip->lowest_next, best_i + 1);
	return khyp_lapic_deliver(best, irq->mode, irq->vector, irq->level);
}

/**
 * khyp_lapic_route() - deliver an interrupt message to the APICs it names
 * @vm:		the VM
 * @src:	the sending APIC (an IPI), or NULL (the IOAPIC, an MSI)
 * @irq:	the message
 *
 * The one delivery loop of IPIs, IOAPIC redirection entries and MSIs.
 * Takes each target's lock in turn, never two at once; the caller holds
 * no APIC's lock (the IOAPIC's lock may be held: it comes first).  A
 * lowest-priority message goes to one APIC of those it names
 * (khyp_lapic_route_lowest()), every other mode to each of them.
 *
 * Return: how many APICs took it (0: dropped, e.g. no APIC matched, all
 * disabled, or a delivery mode khyp_lapic_deliver() does not emulate).
 */
unsigned int khyp_lapic_route(struct khyp_vm *vm, struct khyp_lapic *src,
			      const struct khyp_lapic_irq *irq)
{
	unsigned int n = 0, i;
	struct khyp_vcpu *t;

	if (irq->shorthand == APIC_DEST_SELF)
		return src && khyp_lapic_deliver(src, irq->mode, irq->vector,
						 irq->level);
	rcu_read_lock();
	if (irq->mode == APIC_DM_LOWEST) {
		n = khyp_lapic_route_lowest(vm, src, irq);
		goto out;
	}
	for (i = 0; i < KHYP_MAX_VCPUS; i++) {
		t = rcu_dereference(vm->vcpus[i]);
		/* Every vCPU of a VM with an irqchip has an APIC. */
		if (!t || WARN_ON_ONCE(!t->lapic))
			continue;
		if (!khyp_lapic_targets(t->lapic, src, irq))
			continue;
		n += khyp_lapic_deliver(t->lapic, irq->mode, irq->vector,
					irq->level);
	}
out:
	rcu_read_unlock();
	return n;
}

/* ICR written: send.  Called without any APIC's lock. */
static void khyp_lapic_send_ipi(struct khyp_lapic *a, u32 low, u32 dest)
{
	struct khyp_lapic_irq irq = {
		.dest		= dest,
		.mode		= low & APIC_DM_FIXED_MASK,
		.shorthand	= low & APIC_DEST_ALLBUT,
		.vector		= low & APIC_VECTOR_MASK,
		.logical	= low & APIC_DEST_LOGICAL,
		.level		= low & APIC_INT_LEVELTRIG,
	};
	unsigned long flags;

	if ((irq.mode == APIC_DM_FIXED || irq.mode == APIC_DM_LOWEST) &&
	    irq.vector < 16) {
		raw_spin_lock_irqsave(&a->lock, flags);
		khyp_lapic_error(a, APIC_ESR_SENDILL);
		raw_spin_unlock_irqrestore(&a->lock, flags);
		khyp_lapic_notify(a->vcpu);
		return;
	}
	/* INIT level de-assert: ignored, as since the Pentium 4 (SDM 10.6.1). */
	if (irq.mode == APIC_DM_INIT && irq.level && !(low & APIC_INT_ASSERT))
		return;
	khyp_lapic_route(a->vcpu->vm, a, &irq);
}

/*
 * EOI: the highest in-service vector is done (caller holds @lock).
 * Returns it if it was level-triggered (its TMR bit set): the caller
 * tells the IOAPIC once it has dropped @lock.  Else -1.
 */
static int khyp_lapic_eoi(struct khyp_lapic *a)
{
	int v = khyp_lapic_isr_highest(a);

	if (v < 0)
		return -1;
	khyp_lapic_isr_clear_highest(a, v);
	khyp_lapic_update_ppr(a);
	if (*khyp_lapic_vec_reg(a, APIC_TMR, v) & BIT(v % 32))
		return v;
	return -1;
}

static u32 khyp_lapic_read_reg(struct khyp_lapic *a, u32 reg)
{
	switch (reg) {
	case APIC_TMCCT:
		return khyp_lapic_timer_current(a);
	case APIC_ID:
		if (khyp_lapic_x2apic(a))
			return a->vcpu->id;
		return khyp_lapic_get(a, reg);
	case APIC_PROCPRI:
		khyp_lapic_update_ppr(a);
		return khyp_lapic_get(a, reg);
	default:
		return khyp_lapic_get(a, reg);
	}
}

/* What an LVT entry may hold (vector, mode, polarity, trigger, mask). */
static u32 khyp_lapic_lvt_mask(u32 reg)
{
	switch (reg) {
	case APIC_LVTT:
		return APIC_LVT_MASKED | APIC_LVT_TIMER_PERIODIC |
		       (tsc_khz ? APIC_LVT_TIMER_TSCDEADLINE : 0) |
		       APIC_VECTOR_MASK;
	case APIC_LVT0:
	case APIC_LVT1:
		return APIC_LVT_MASKED | APIC_LVT_LEVEL_TRIGGER |
		       APIC_INPUT_POLARITY | APIC_MODE_MASK | APIC_VECTOR_MASK;
	case APIC_LVTERR:
		return APIC_LVT_MASKED | APIC_VECTOR_MASK;
	default:	/* thermal, performance counters */
		return APIC_LVT_MASKED | APIC_MODE_MASK | APIC_VECTOR_MASK;
	}
}

/**
 * khyp_lapic_write_reg() - a guest write of a register
 * @a:		the APIC, @lock held
 * @reg:	the xAPIC offset
 * @val:	the value
 * @ipi:	out: set when an IPI must be sent (after @lock is dropped)
 * @eoi:	out: the vector of a level-triggered EOI, for the IOAPIC
 *		(after @lock is dropped); untouched otherwise
 * @cancel:	out: set when the timer must be stopped first; the caller
 *		drops @lock, cancels, and calls again with *@cancel set
 *
 * Return: 0, or -EINVAL for what x2APIC answers with #GP (a reserved
 * bit set, a read-only register); xAPIC ignores those writes.
 */
static int khyp_lapic_write_reg(struct khyp_lapic *a, u32 reg, u32 val,
				bool *ipi, int *eoi, bool *cancel)
{
	bool x2 = khyp_lapic_x2apic(a);
	u32 old, mask;
	unsigned int i;

	switch (reg) {
	case APIC_ID:
		if (x2)
			return -EINVAL;
		khyp_lapic_set(a, reg, val & 0xff000000);
		break;
	case APIC_TASKPRI:
		if (x2 && (val & ~APIC_TPRI_MASK))
			return -EINVAL;
		khyp_lapic_set(a, reg, val & APIC_TPRI_MASK);
		khyp_lapic_update_ppr(a);
		break;
	case APIC_EOI:
		if (x2 && val)
			return -EINVAL;
		*eoi = khyp_lapic_eoi(a);
		break;
	case APIC_LDR:
		if (x2)
			return -EINVAL;
		khyp_lapic_set(a, reg, val & APIC_LDR_MASK);
		break;
	case APIC_DFR:
		if (x2)
			return -EINVAL;
		khyp_lapic_set(a, reg, val | APIC_DFR_CLUSTER);
		break;
	case APIC_SPIV:
		mask = APIC_SPIV_APIC_ENABLED | APIC_SPIV_FOCUS_DISABLED | 0xff;
		if (x2 && (val & ~mask))
			return -EINVAL;
		khyp_lapic_set(a, reg, val & mask);
		if (!(val & APIC_SPIV_APIC_ENABLED))	/* software disable */
			for (i = APIC_LVTT; i <= APIC_LVTERR; i += 0x10)
				khyp_lapic_set(a, i, khyp_lapic_get(a, i) |
					       APIC_LVT_MASKED);
		break;
	case APIC_ESR:
		if (x2 && val)
			return -EINVAL;
		khyp_lapic_set(a, reg, a->esr_pending);
		a->esr_pending = 0;
		break;
	case APIC_ICR:
		mask = APIC_VECTOR_MASK | APIC_MODE_MASK | APIC_DEST_LOGICAL |
		       APIC_INT_ASSERT | APIC_INT_LEVELTRIG | APIC_DEST_ALLBUT;
		khyp_lapic_set(a, reg, val & mask);
		*ipi = true;
		break;
	case APIC_ICR2:
		if (x2)
			return -EINVAL;
		khyp_lapic_set(a, reg, val & 0xff000000);
		break;
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
		mask = khyp_lapic_lvt_mask(reg);
		if (x2 && (val & ~mask))
			return -EINVAL;
		if (!khyp_lapic_sw_enabled(a))
			val |= APIC_LVT_MASKED;
		old = khyp_lapic_get(a, reg);
		/* A new timer mode stops the count (as KVM does). */
		if (reg == APIC_LVTT && khyp_lapic_timer_running(a) && !*cancel &&
		    ((old ^ val) & KHYP_LVT_TIMER_MODE)) {
			*cancel = true;
			return 0;
		}
		if (reg == APIC_LVTT && *cancel) {
			khyp_lapic_timer_reset(a);
			khyp_lapic_set(a, APIC_TMICT, 0);
		}
		khyp_lapic_set(a, reg, val & mask);
		break;
	case APIC_TMICT:
		/* Ignored in TSC-deadline mode (SDM 10.5.4.1) and in 11b. */
		if (khyp_lapic_timer_mode(a) & APIC_LVT_TIMER_TSCDEADLINE)
			break;
		/*
		 * A timer queued or firing is cancelled first, without
		 * @lock; an idle one (a one-shot that fired, or none) needs
		 * nothing: only this thread starts it.
		 */
		if (!*cancel && khyp_lapic_timer_active(a)) {
			*cancel = true;
			return 0;
		}
		khyp_lapic_set(a, reg, val);
		khyp_lapic_timer_start(a);
		break;
	case APIC_TDCR:
		if (x2 && (val & ~APIC_TDR_DIV_1))
			return -EINVAL;
		khyp_lapic_set(a, reg, val & APIC_TDR_DIV_1);
		break;
	case APIC_SELF_IPI:
		if (!x2)
			break;		/* x2APIC only; xAPIC: reserved */
		if (val & ~APIC_VECTOR_MASK)
			return -EINVAL;
		khyp_lapic_set(a, APIC_ICR, APIC_DEST_SELF |
			       (val & APIC_VECTOR_MASK));
		*ipi = true;
		break;
	default:
		/* Read-only or reserved: xAPIC ignores the write. */
		return x2 ? -EINVAL : 0;
	}
	return 0;
}

/* A write, with the timer cancelled outside @lock and the IPI sent after. */
static int khyp_lapic_write(struct khyp_lapic *a, u32 reg, u32 val,
			    u32 icr_high)
{
	bool ipi = false, cancel = false;
	unsigned long flags;
	u32 icr = 0, dest = 0;
	int r, eoi = -1;

	raw_spin_lock_irqsave(&a->lock, flags);
	if (reg == APIC_ICR && khyp_lapic_x2apic(a))
		khyp_lapic_set(a, APIC_ICR2, icr_high);
	r = khyp_lapic_write_reg(a, reg, val, &ipi, &eoi, &cancel);
	if (cancel) {
		raw_spin_unlock_irqrestore(&a->lock, flags);
		khyp_lapic_timer_cancel(a);
		raw_spin_lock_irqsave(&a->lock, flags);
		r = khyp_lapic_write_reg(a, reg, val, &ipi, &eoi, &cancel);
	}
	if (ipi) {
		icr = khyp_lapic_get(a, APIC_ICR);
		if (khyp_lapic_x2apic(a))
			dest = icr_high;
		else
			dest = khyp_lapic_get(a, APIC_ICR2) >> 24;
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	if (ipi)
		khyp_lapic_send_ipi(a, icr, dest);
	/* Without @lock: the IOAPIC may deliver again, to this APIC too. */
	if (eoi >= 0)
		khyp_ioapic_eoi(&a->vcpu->vm->irqchip->ioapic, eoi);
	return r;
}

/* ---- the xAPIC page (core/mmio.c asks first, before the VM's bus) ---- */

/*
 * The offset of [@addr, @addr + @len) in @a's page, or -1 if the access
 * is not all inside it.  The page is where IA32_APIC_BASE puts it while
 * the APIC is enabled in xAPIC mode; disabled or in x2APIC mode it is
 * not there at all (SDM 10.4.3, 10.12.2): the address is the system's
 * again (RAM, another device, or userspace's).  Only the vCPU's own
 * thread changes @base, so it reads it without @lock.
 */
static s32 khyp_lapic_mmio_offset(struct khyp_lapic *a, u64 addr,
				  unsigned int len)
{
	u64 off = addr - (a->base & MSR_IA32_APICBASE_BASE);

	if (!khyp_lapic_hw_enabled(a) || khyp_lapic_x2apic(a) ||
	    off >= PAGE_SIZE || len > PAGE_SIZE - off)
		return -1;
	/* The guest chose @addr: no speculative read past the page. */
	return array_index_nospec(off, PAGE_SIZE);
}

bool khyp_lapic_mmio_read(struct khyp_vcpu *vcpu, u64 addr, unsigned int len,
			  u64 *val)
{
	struct khyp_lapic *a = vcpu->lapic;
	unsigned long flags;
	s32 off;
	u32 v;

	if (!a)
		return false;
	off = khyp_lapic_mmio_offset(a, addr, len);
	if (off < 0)
		return false;
	khyp_irq_count_apic(vcpu, 0, false, false);
	raw_spin_lock_irqsave(&a->lock, flags);
	v = khyp_lapic_read_reg(a, off & ~0xf);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	/* Registers are 32 bits at 16-byte boundaries; the rest reads 0. */
	if ((off & 0xf) >= 4)
		v = 0;
	else
		v >>= (off & 3) * 8;
	*val = v;
	return true;
}

bool khyp_lapic_mmio_write(struct khyp_vcpu *vcpu, u64 addr, unsigned int len,
			   u64 val)
{
	struct khyp_lapic *a = vcpu->lapic;
	s32 off;

	if (!a)
		return false;
	off = khyp_lapic_mmio_offset(a, addr, len);
	if (off < 0)
		return false;
	/*
	 * Only aligned 32-bit stores reach a register (SDM 10.4.1 leaves
	 * narrower ones model specific); a narrower one to EOI is an EOI
	 * too, as VMX's APIC-access exit cannot tell it from a 32-bit one
	 * (khyp_lapic_mmio_eoi()): the same on both backends.
	 */
	if (off & 0xf || (len < 4 && off != APIC_EOI)) {
		khyp_irq_count_apic(vcpu, U32_MAX, true, false);
		return true;
	}
	khyp_irq_count_apic(vcpu, off, true, false);
	khyp_lapic_write(a, off, val, 0);
	return true;
}

/*
 * The EOI register takes any value in xAPIC mode, so a store to it needs
 * no decoding: the offset and the instruction's length are enough, as
 * VMX's APIC-access exit gives them (core/run.c).
 */
bool khyp_lapic_mmio_eoi(struct khyp_vcpu *vcpu, u64 addr)
{
	struct khyp_lapic *a = vcpu->lapic;

	if (!a || khyp_lapic_mmio_offset(a, addr, 4) != APIC_EOI)
		return false;
	khyp_irq_count_apic(vcpu, APIC_EOI, true, false);
	khyp_lapic_write(a, APIC_EOI, 0, 0);
	return true;
}

bool khyp_lapic_mmio_page(struct khyp_vcpu *vcpu, u64 gpa)
{
	struct khyp_lapic *a = vcpu->lapic;

	return a && !khyp_lapic_mmio_offset(a, gpa & PAGE_MASK, PAGE_SIZE);
}

/* ---- MSRs: IA32_APIC_BASE and x2APIC ---- */

/*
 * A new IA32_APIC_BASE, with the SDM's transitions (10.12.5).  A new
 * base address moves the xAPIC page at once (khyp_lapic_mmio_offset()):
 * the next access to the old address is no longer the APIC's.  Clearing
 * EN disables the APIC and resets its registers, as after power-up: set
 * again, it starts from there (SVR 0xff: software-disabled, every LVT
 * entry masked).  The level-triggered vectors it drops are EOI'd to the
 * IOAPIC.
 */
static int khyp_lapic_set_base(struct khyp_lapic *a, u64 val)
{
	u64 old = a->base;
	u64 mode = X2APIC_ENABLE | MSR_IA32_APICBASE_ENABLE;
	bool disable = (old & MSR_IA32_APICBASE_ENABLE) &&
		       !(val & MSR_IA32_APICBASE_ENABLE);
	u32 level[8] = { 0 };
	unsigned long flags;

	if (val & KHYP_APIC_BASE_RSVD)
		return -EINVAL;
	if ((val & MSR_IA32_APICBASE_BSP) != (old & MSR_IA32_APICBASE_BSP))
		return -EINVAL;
	/* EXTD without EN; x2APIC -> xAPIC; disabled -> x2APIC: invalid. */
	if ((val & mode) == X2APIC_ENABLE ||
	    ((old & mode) == mode && (val & mode) == MSR_IA32_APICBASE_ENABLE) ||
	    (!(old & MSR_IA32_APICBASE_ENABLE) && (val & mode) == mode))
		return -EINVAL;

	if (disable)
		khyp_lapic_timer_cancel(a);

	raw_spin_lock_irqsave(&a->lock, flags);
	a->base = val;
	if (disable) {
		khyp_lapic_level_pending(a, level);
		khyp_lapic_reset_regs(a);
	} else if (!(old & X2APIC_ENABLE) && (val & X2APIC_ENABLE)) {
		khyp_lapic_set(a, APIC_ID, a->vcpu->id);
		khyp_lapic_set(a, APIC_LDR, khyp_x2apic_ldr(a->vcpu->id));
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	khyp_lapic_eoi_dropped(a, level);
	return 0;
}

/* x2APIC MSR -> xAPIC offset; false for a register x2APIC does not have. */
static bool khyp_x2apic_reg(u32 index, bool write, u32 *reg)
{
	u32 r = (index - APIC_BASE_MSR) << 4;

	switch (r) {
	case APIC_ID:
	case APIC_LVR:
	case APIC_TASKPRI:
	case APIC_PROCPRI:
	case APIC_LDR:
	case APIC_SPIV:
	case APIC_ESR:
	case APIC_ICR:
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TMCCT:
	case APIC_TDCR:
		break;
	case APIC_ISR ... APIC_ISR + 0x70:
	case APIC_TMR ... APIC_TMR + 0x70:
	case APIC_IRR ... APIC_IRR + 0x70:
		if (write)
			return false;
		break;
	case APIC_EOI:
	case APIC_SELF_IPI:
		if (!write)		/* write-only */
			return false;
		break;
	default:		/* DFR, ICR2, APR, RRD, reserved */
		return false;
	}
	*reg = r;
	return true;
}

/**
 * khyp_lapic_msr() - a guest RDMSR or WRMSR that may be the APIC's
 * @vcpu:	the vCPU, its mutex held
 * @index:	the MSR
 * @write:	WRMSR (else RDMSR)
 * @data:	the value written, or where the value read goes
 *
 * Return: -ENOENT if @index is not an APIC MSR (or the VM has no
 * irqchip): core/msr.c goes on; -EINVAL for #GP; 0 when emulated.
 */
int khyp_lapic_msr(struct khyp_vcpu *vcpu, u32 index, bool write, u64 *data)
{
	struct khyp_lapic *a = vcpu->lapic;
	unsigned long flags;
	u32 reg;
	u64 v;

	if (!a)
		return -ENOENT;
	if (index == MSR_IA32_APICBASE) {
		if (write)
			return khyp_lapic_set_base(a, *data);
		*data = a->base;
		return 0;
	}
	if (index == MSR_IA32_TSC_DEADLINE)
		return khyp_lapic_tsc_deadline_msr(a, write, data);
	if (index < KHYP_X2APIC_MSR_FIRST || index > KHYP_X2APIC_MSR_LAST)
		return -ENOENT;
	/* Outside x2APIC mode the MSRs do not exist (SDM 10.12.1.2). */
	if (!khyp_lapic_hw_enabled(a) || !khyp_lapic_x2apic(a) ||
	    !khyp_x2apic_reg(index, write, &reg))
		return -EINVAL;
	if (write) {
		/* Only the ICR is 64 bits wide; the rest has 63:32 reserved. */
		if (reg != APIC_ICR && *data >> 32)
			return -EINVAL;
		if (reg == APIC_ICR &&
		    (*data & (u32)~(APIC_VECTOR_MASK | APIC_MODE_MASK |
				    APIC_DEST_LOGICAL | APIC_INT_ASSERT |
				    APIC_INT_LEVELTRIG | APIC_DEST_ALLBUT)))
			return -EINVAL;
		return khyp_lapic_write(a, reg, (u32)*data, *data >> 32);
	}
	raw_spin_lock_irqsave(&a->lock, flags);
	v = khyp_lapic_read_reg(a, reg);
	if (reg == APIC_ICR)
		v |= (u64)khyp_lapic_get(a, APIC_ICR2) << 32;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	*data = v;
	return 0;
}

/* ---- the injection path's questions (irq/inject.c) ---- */

void khyp_lapic_take_nmi(struct khyp_vcpu *vcpu)
{
	struct khyp_inj *n = &vcpu->events.nmi;

	if (n->valid || !test_and_clear_bit(0, &vcpu->lapic->nmi_pending))
		return;
	n->type = KHYP_EVENT_NMI;
	n->vector = 2;
	n->has_error_code = false;
	n->error_code = 0;
	n->valid = true;
}

bool khyp_lapic_nmi_pending(struct khyp_vcpu *vcpu)
{
	return test_bit(0, &vcpu->lapic->nmi_pending);
}

bool khyp_lapic_accept(struct khyp_vcpu *vcpu, struct khyp_inj *inj)
{
	struct khyp_lapic *a = vcpu->lapic;
	unsigned long flags;
	int v;

	if (!khyp_lapic_irr_maybe(a))
		return false;
	raw_spin_lock_irqsave(&a->lock, flags);
	v = khyp_lapic_pending_vector(a);
	if (v >= 0) {
		khyp_lapic_irr_clear(a, v);
		khyp_lapic_isr_set(a, v);
		khyp_lapic_update_ppr(a);
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	if (v < 0)
		return false;
	inj->type = KHYP_EVENT_INTERRUPT;
	inj->vector = v;
	inj->has_error_code = false;
	inj->error_code = 0;
	inj->valid = true;
	return true;
}

bool khyp_lapic_has_interrupt(struct khyp_vcpu *vcpu)
{
	struct khyp_lapic *a = vcpu->lapic;
	unsigned long flags;
	int v;

	if (!khyp_lapic_irr_maybe(a))
		return false;
	raw_spin_lock_irqsave(&a->lock, flags);
	v = khyp_lapic_pending_vector(a);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return v >= 0;
}

/*
 * Does LINT0 take the PIC's INTR as an ExtINT now?  When the APIC is
 * hardware-disabled (the processor's INTR pin then goes straight in), or
 * LVT0 is unmasked with delivery mode ExtINT (the virtual wire).
 */
bool khyp_lapic_accepts_extint(struct khyp_vcpu *vcpu)
{
	struct khyp_lapic *a = vcpu->lapic;
	unsigned long flags;
	u32 lvt0;
	bool r;

	raw_spin_lock_irqsave(&a->lock, flags);
	lvt0 = khyp_lapic_get(a, APIC_LVT0);
	r = !khyp_lapic_hw_enabled(a) ||
	    (!(lvt0 & APIC_LVT_MASKED) &&
	     (lvt0 & APIC_MODE_MASK) == APIC_DM_EXTINT);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return r;
}

bool khyp_lapic_raise(struct khyp_vcpu *vcpu, u8 vector)
{
	return khyp_lapic_deliver(vcpu->lapic, APIC_DM_FIXED, vector, false);
}

void khyp_lapic_lower(struct khyp_vcpu *vcpu, u8 vector)
{
	struct khyp_lapic *a = vcpu->lapic;
	unsigned long flags;

	raw_spin_lock_irqsave(&a->lock, flags);
	khyp_lapic_irr_clear(a, vector);
	raw_spin_unlock_irqrestore(&a->lock, flags);
}

/* ---- lifetime ---- */

/*
 * INIT (core/vcpu.c, the vCPU's own thread): the registers as after
 * reset but the APIC ID (SDM 10.4.7.3), the timer stopped, a pending NMI
 * dropped, the level-triggered vectors it drops EOI'd to the IOAPIC.
 * IA32_APIC_BASE keeps its value, x2APIC mode included; the x2APIC's
 * logical ID follows from its ID again.
 */
void khyp_lapic_init(struct khyp_vcpu *vcpu)
{
	struct khyp_lapic *a = vcpu->lapic;
	u32 id, ldr, level[8];
	unsigned long flags;

	if (!a)
		return;
	khyp_lapic_timer_cancel(a);
	raw_spin_lock_irqsave(&a->lock, flags);
	id = khyp_lapic_get(a, APIC_ID);
	ldr = khyp_lapic_get(a, APIC_LDR);
	khyp_lapic_level_pending(a, level);
	khyp_lapic_reset_regs(a);
	khyp_lapic_set(a, APIC_ID, id);
	if (khyp_lapic_x2apic(a))
		khyp_lapic_set(a, APIC_LDR, ldr);
	clear_bit(0, &a->nmi_pending);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	khyp_lapic_eoi_dropped(a, level);
}

/* A vCPU of a VM with an irqchip: its APIC, in the reset state. */
int khyp_lapic_create(struct khyp_vcpu *vcpu)
{
	struct khyp_lapic *a;

	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return -ENOMEM;
	a->vcpu = vcpu;
	raw_spin_lock_init(&a->lock);
	khyp_lapic_timer_init(a);
	a->base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE;
	if (vcpu->id == 0)
		a->base |= MSR_IA32_APICBASE_BSP;
	khyp_lapic_reset_regs(a);
	vcpu->lapic = a;
	return 0;
}

/*
 * The vCPU is out of vm->vcpus[] and goes away: stop the timer (its
 * callback uses the vCPU), then free after a grace period, as the vCPU
 * itself is (a sender of an IPI may still be looking at it).
 */
void khyp_lapic_destroy(struct khyp_vcpu *vcpu)
{
	struct khyp_lapic *a = vcpu->lapic;

	if (!a)
		return;
	khyp_lapic_timer_cancel(a);
	kfree_rcu(a, rcu);
}

/* ---- debugfs and the interrupt counts (core/stats.c, irq/inject.c) ---- */

/* " 0x41 0xef": the vectors set in IRR, ISR or TMR; " -" for none. */
static void khyp_lapic_show_vectors(struct seq_file *m, struct khyp_lapic *a,
				    const char *name, u32 base)
{
	unsigned int v;
	bool any = false;

	seq_printf(m, "  %s", name);
	for (v = 0; v < 256; v++) {
		if (*khyp_lapic_vec_reg(a, base, v) & BIT(v % 32)) {
			seq_printf(m, " 0x%02x", v);
			any = true;
		}
	}
	seq_puts(m, any ? "\n" : " -\n");
}

/**
 * khyp_lapic_show() - one vCPU's local APIC, for debugfs (core/stats.c)
 * @m:		the file
 * @vcpu:	a vCPU of a VM with an irqchip
 *
 * IA32_APIC_BASE and the mode, the registers, the LVT, the timer's
 * state and the vectors in IRR, ISR and TMR, as the guest would read
 * them now.  Takes @lock.
 */
void khyp_lapic_show(struct seq_file *m, struct khyp_vcpu *vcpu)
{
	struct khyp_lapic *a = vcpu->lapic;
	unsigned long flags;

	raw_spin_lock_irqsave(&a->lock, flags);
	seq_printf(m, "vcpu %u\n  base 0x%llx mode %s %s\n", vcpu->id, a->base,
		   !khyp_lapic_hw_enabled(a) ? "disabled" :
		   khyp_lapic_x2apic(a) ? "x2apic" : "xapic",
		   khyp_lapic_sw_enabled(a) ? "sw-enabled" : "sw-disabled");
	seq_printf(m, "  id 0x%08x version 0x%08x tpr 0x%02x ppr 0x%02x svr 0x%03x\n",
		   khyp_lapic_read_reg(a, APIC_ID),
		   khyp_lapic_get(a, APIC_LVR),
		   khyp_lapic_get(a, APIC_TASKPRI),
		   khyp_lapic_read_reg(a, APIC_PROCPRI),
		   khyp_lapic_get(a, APIC_SPIV));
	seq_printf(m, "  ldr 0x%08x dfr 0x%08x esr 0x%02x esr_pending 0x%02x icr 0x%08x%08x\n",
		   khyp_lapic_get(a, APIC_LDR), khyp_lapic_get(a, APIC_DFR),
		   khyp_lapic_get(a, APIC_ESR), a->esr_pending,
		   khyp_lapic_get(a, APIC_ICR2), khyp_lapic_get(a, APIC_ICR));
	seq_printf(m, "  lvt timer 0x%05x thermal 0x%05x perf 0x%05x lint0 0x%05x lint1 0x%05x error 0x%05x\n",
		   khyp_lapic_get(a, APIC_LVTT),
		   khyp_lapic_get(a, APIC_LVTTHMR),
		   khyp_lapic_get(a, APIC_LVTPC),
		   khyp_lapic_get(a, APIC_LVT0),
		   khyp_lapic_get(a, APIC_LVT1),
		   khyp_lapic_get(a, APIC_LVTERR));
	khyp_lapic_timer_show(m, a);
	khyp_lapic_show_vectors(m, a, "irr", APIC_IRR);
	khyp_lapic_show_vectors(m, a, "isr", APIC_ISR);
	khyp_lapic_show_vectors(m, a, "tmr", APIC_TMR);
	seq_printf(m, "  nmi_pending %u\n", test_bit(0, &a->nmi_pending));
	raw_spin_unlock_irqrestore(&a->lock, flags);
}
