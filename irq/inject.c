// SPDX-License-Identifier: GPL-2.0
/*
 * Event injection: external interrupts, NMIs and exceptions into a guest.
 *
 * Userspace queues events with KHYP_INJECT_EVENT; the core queues #GP and
 * #UD when it emulates.  Before each entry, khyp_irq_prepare_entry() picks
 * at most one event for the backend to deliver, in the order the CPU would
 * take them:
 *  1. an event whose delivery an exit interrupted (say, the interrupt whose
 *     handler's stack page was not mapped yet), exactly as it was;
 *  2. an exception;
 *  3. an NMI;
 *  4. an external interrupt, only if the guest can take one now (RFLAGS.IF
 *     set, no STI/MOV SS shadow); if not, the backend is asked for an
 *     interrupt-window exit so that it is delivered as soon as it can be.
 *     Userspace's interrupt goes before one the module raised itself.
 * After the exit, khyp_irq_after_exit() retires what was delivered.
 *
 * With a local APIC, CR8 is its TPR: the entry hands the TPR to the
 * backend (entry->cr8), which reports at the exit what the guest's CR8
 * is then (exit->cr8; SVM's guest changes V_TPR without an exit), and a
 * change goes back into the APIC.  While a pending vector is held back
 * by the TPR alone, the entry asks that MOV to CR8 exit, so that
 * lowering it delivers the vector at once.
 *
 * The module raises interrupts (the balloon's notification) with
 * khyp_irq_raise_vector() from any context: the vector is set in the vCPU's
 * irq_requests bitmap, the vCPU is kicked out of the guest if it is in
 * it, and the next entry moves the highest requested vector into
 * events.kirq.  A vector requested again before delivery is delivered
 * once, like an edge-triggered interrupt line; khyp_irq_lower_vector()
 * withdraws a request not delivered yet.
 *
 * NMI blocking (the guest is still in its NMI handler) is the backend's:
 * an NMI handed to it waits there until the handler's IRET (VMX's
 * virtual-NMI state, SVM's IRET intercept).  Everything here but
 * khyp_irq_raise_vector() and khyp_irq_lower_vector() runs under
 * vcpu->mutex.  The interface is irq/irq.h.
 */
#include <linux/nospec.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/traps.h>

#include "../core/vcpu.h"
#include "../core/vm.h"
#include "../mmu/gwalk.h"
#include "irq.h"
#include "irqchip.h"
#include "lapic.h"
#include "pic.h"

/*
 * An STI or MOV SS shadow covers the one instruction after it: the exit
 * reports it, and it lasts only while RIP is still at that instruction.
 * Once the core has emulated it (and moved RIP, however: khyp_skip_insn(),
 * MMIO, CR accesses) or userspace has set RIP, it is over, as it would
 * be on hardware, and the backend clears it at the next entry.
 */
static bool khyp_irq_in_shadow(struct khyp_vcpu *vcpu)
{
	return vcpu->int_shadow && vcpu->regs.rip == vcpu->shadow_rip;
}

static bool khyp_irq_can_take(struct khyp_vcpu *vcpu)
{
	return (vcpu->regs.rflags & X86_EFLAGS_IF) && !khyp_irq_in_shadow(vcpu);
}

/* KHYP_INJECT_EVENT: check and queue.  -EBUSY if one of the type waits. */
int khyp_irq_queue(struct khyp_vcpu *vcpu, const struct khyp_event *ev)
{
	bool has_err = ev->flags & KHYP_EVENT_FLAG_ERROR_CODE;
	struct khyp_inj *slot;

	if ((ev->flags & ~KHYP_EVENT_FLAG_ERROR_CODE) ||
	    memchr_inv(ev->reserved, 0, sizeof(ev->reserved)) ||
	    ev->vector > 255 || (!has_err && ev->error_code))
		return -EINVAL;

	switch (ev->type) {
	case KHYP_EVENT_INTERRUPT:
		if (has_err)
			return -EINVAL;
		/*
		 * With an irqchip, interrupts come through the local APIC
		 * (IRR, ISR, PPR): one put in beside it would be EOI'd
		 * against another vector's ISR bit.
		 */
		if (vcpu->lapic)
			return -ENXIO;
		slot = &vcpu->events.irq;
		break;
	case KHYP_EVENT_NMI:
		if (has_err || ev->vector)
			return -EINVAL;
		slot = &vcpu->events.nmi;
		break;
	case KHYP_EVENT_EXCEPTION:
		if (ev->vector >= 32 || ev->vector == X86_TRAP_NMI)
			return -EINVAL;
		slot = &vcpu->events.exception;
		break;
	default:
		return -EINVAL;
	}
	if (slot->valid)
		return -EBUSY;

	slot->type = ev->type;
	slot->vector = ev->type == KHYP_EVENT_NMI ? X86_TRAP_NMI : ev->vector;
	slot->has_error_code = has_err;
	slot->error_code = ev->error_code;
	slot->valid = true;
	return 0;
}

/* An exception from emulation; a second one before delivery is dropped. */
void khyp_irq_queue_exception(struct khyp_vcpu *vcpu, u8 vector,
			      bool has_error_code, u32 error_code)
{
	struct khyp_inj *e = &vcpu->events.exception;

	if (e->valid)
		return;
	e->type = KHYP_EVENT_EXCEPTION;
	e->vector = vector;
	e->has_error_code = has_error_code;
	e->error_code = error_code;
	e->valid = true;
}

/*
 * A page fault from emulation: CR2 gets @addr, as the processor's own
 * fault sets it, unless an exception is queued already (this one is
 * dropped then, see above, and CR2 stays).
 */
void khyp_irq_queue_page_fault(struct khyp_vcpu *vcpu, u64 addr,
			       u32 error_code)
{
	if (vcpu->events.exception.valid)
		return;
	khyp_backend->set_cr(vcpu, 2, addr);
	khyp_irq_queue_exception(vcpu, X86_TRAP_PF, true, error_code);
}

/**
 * khyp_irq_reflect_exception() - give an intercepted exception back
 * @vcpu:	the vCPU
 * @exit:	a KHYP_X_EXCEPTION exit
 *
 * khyp intercepts a few exceptions only so that the host keeps control
 * (#AC and #DB, which can recur during their own delivery without the
 * processor ever taking an interrupt; #MC is the host's and never comes
 * here).  The guest must see them as if nothing had intercepted them.
 * The exception goes first at the next entry, as an event the exit
 * interrupted: it was on its way into the guest.  If it was raised while
 * another event was being delivered, the processor would have delivered
 * this one instead (#AC and #DB are benign: no double fault), so that
 * event is dropped, as it would have been without the intercept.  A
 * guest that loops this way now loops through the run loop, which takes
 * host interrupts and signals at each turn.
 */
void khyp_irq_reflect_exception(struct khyp_vcpu *vcpu,
				const struct khyp_exit *exit)
{
	struct khyp_inj *e = &vcpu->events.reinject;

	e->type = KHYP_EVENT_EXCEPTION;
	e->vector = exit->exception.vector;
	e->has_error_code = exit->exception.has_error_code;
	e->error_code = exit->exception.error_code;
	e->valid = true;
}

/**
 * khyp_irq_raise_vector() - raise an external interrupt in a vCPU
 * @vm:		the VM
 * @vcpu_id:	which vCPU; nothing happens if there is none by that id
 * @vector:	32 .. 255
 *
 * Any context that may send IPIs.  Delivered at the vCPU's next entry
 * once the guest has interrupts enabled (see the top of this file).
 *
 * Return: true if the request is new (the vector was not waiting yet;
 * with an irqchip: the local APIC took it).
 */
bool khyp_irq_raise_vector(struct khyp_vm *vm, unsigned int vcpu_id,
			   u8 vector)
{
	struct khyp_vcpu *vcpu;
	bool raised = false;

	if (vcpu_id >= KHYP_MAX_VCPUS || vector < 32)
		return false;
	vcpu_id = array_index_nospec(vcpu_id, KHYP_MAX_VCPUS);
	rcu_read_lock();
	vcpu = rcu_dereference(vm->vcpus[vcpu_id]);
	if (vcpu && vcpu->lapic) {
		/* With an irqchip: a fixed interrupt into the local APIC. */
		raised = khyp_lapic_raise(vcpu, vector);
	} else if (vcpu && !test_and_set_bit(vector, vcpu->irq_requests)) {
		/* After the bit (a full barrier): see khyp_irq_take_request(). */
		WRITE_ONCE(vcpu->irq_request_pending, true);
		khyp_vcpu_kick(vcpu);
		raised = true;
	}
	rcu_read_unlock();
	return raised;
}

/**
 * khyp_irq_lower_vector() - withdraw a raised vector not delivered yet
 * @vm:		the VM
 * @vcpu_id:	which vCPU; nothing happens if there is none by that id
 * @vector:	32 .. 255
 *
 * Any context.  A vector already moved into events.kirq for the next
 * entry is still delivered, as a real edge already latched would be.
 */
void khyp_irq_lower_vector(struct khyp_vm *vm, unsigned int vcpu_id,
			   u8 vector)
{
	struct khyp_vcpu *vcpu;

	if (vcpu_id >= KHYP_MAX_VCPUS || vector < 32)
		return;
	vcpu_id = array_index_nospec(vcpu_id, KHYP_MAX_VCPUS);
	rcu_read_lock();
	vcpu = rcu_dereference(vm->vcpus[vcpu_id]);
	/*
	 * irq_request_pending may stay set: the next entry finds no bit
	 * (a halted guest may wake once for nothing, as on a spurious
	 * interrupt).
	 */
	if (vcpu && vcpu->lapic)
		khyp_lapic_lower(vcpu, vector);
	else if (vcpu)
		clear_bit(vector, vcpu->irq_requests);
	rcu_read_unlock();
}

/* A request waits that the next entry would take: don't enter yet. */
bool khyp_irq_requested(struct khyp_vcpu *vcpu)
{
	/* The APIC's: even with kirq taken, the entry re-picks (priority). */
	if (vcpu->lapic)
		return READ_ONCE(vcpu->irq_request_pending);
	return !vcpu->events.kirq.valid && READ_ONCE(vcpu->irq_request_pending);
}

/*
 * With a local APIC, the entry looks at the APIC itself: the flag is
 * cleared first, so that an interrupt raised after the look sets it
 * again and khyp_irq_requested() sees it.
 */
static void khyp_irq_lapic_begin(struct khyp_vcpu *vcpu)
{
	bool nmi = vcpu->events.nmi.valid;

	WRITE_ONCE(vcpu->irq_request_pending, false);
	smp_mb();	/* flag cleared before the APIC is read */
	khyp_lapic_take_nmi(vcpu);
	if (!nmi && vcpu->events.nmi.valid)
		vcpu->irq_stats[KHYP_IRQ_STAT_NMI]++;
}

/* Move the highest requested vector into events.kirq. */
static void khyp_irq_take_request(struct khyp_vcpu *vcpu)
{
	struct khyp_inj *k = &vcpu->events.kirq;
	unsigned long v;

	if (k->valid || !READ_ONCE(vcpu->irq_request_pending))
		return;
	v = find_last_bit(vcpu->irq_requests, 256);
	if (v < 256 && !test_and_clear_bit(v, vcpu->irq_requests))
		v = 256;
	if (bitmap_empty(vcpu->irq_requests, 256)) {
		/*
		 * A request that sets its bit now also sets the flag after
		 * it; one that set it before is seen by the check below.
		 */
		WRITE_ONCE(vcpu->irq_request_pending, false);
		smp_mb();	/* flag cleared before the bitmap is read */
		if (!bitmap_empty(vcpu->irq_requests, 256))
			WRITE_ONCE(vcpu->irq_request_pending, true);
	}
	if (v >= 256)
		return;
	k->type = KHYP_EVENT_INTERRUPT;
	k->vector = v;
	k->has_error_code = false;
	k->error_code = 0;
	k->valid = true;
}

/*
 * The PIC's INTR reaches vCPU 0 through LINT0 as an ExtINT (the virtual
 * wire, irq/pic.c) when the local APIC lets it in.
 */
static bool khyp_irq_extint_pending(struct khyp_vcpu *vcpu)
{
	struct khyp_irqchip *chip = vcpu->vm->irqchip;

	return vcpu->id == 0 && chip && chip->pic &&
	       khyp_pic_output(chip->pic) && khyp_lapic_accepts_extint(vcpu);
}

/*
 * With an irqchip, the interrupt to deliver now: an ExtINT before the
 * APIC's own (as KVM orders them): its vector comes from the PIC's
 * acknowledge, bypasses the TPR and PPR and never enters IRR or ISR.
 */
static bool khyp_irq_chip_accept(struct khyp_vcpu *vcpu, struct khyp_inj *inj)
{
	u64 *st = vcpu->irq_stats;

	if (!khyp_irq_extint_pending(vcpu)) {
		if (!khyp_lapic_accept(vcpu, inj))
			return false;
		st[KHYP_IRQ_STAT_INJECTED]++;
		if (inj->vector == khyp_lapic_timer_vector(vcpu))
			st[KHYP_IRQ_STAT_TIMER]++;
		return true;
	}
	st[KHYP_IRQ_STAT_INJECTED]++;
	st[KHYP_IRQ_STAT_EXTINT]++;
	inj->type = KHYP_EVENT_INTERRUPT;
	inj->vector = khyp_pic_intack(vcpu->vm->irqchip->pic);
	inj->has_error_code = false;
	inj->error_code = 0;
	inj->valid = true;
	return true;
}

/* Is there one (without taking it)? */
static bool khyp_irq_chip_pending(struct khyp_vcpu *vcpu)
{
	return khyp_irq_extint_pending(vcpu) || khyp_lapic_has_interrupt(vcpu);
}

/*
 * Does delivering @inj push an error code?  Exactly when the processor
 * would push one: for the exceptions that have one, in protected mode
 * (real mode pushes none).  Userspace's flag does not decide it: VMX
 * refuses an entry that disagrees, SVM would push what it is told and
 * leave the guest's handler with the wrong stack.  The one place this is
 * decided for both backends.
 */
static bool khyp_irq_error_code(struct khyp_vcpu *vcpu,
				const struct khyp_inj *inj)
{
	struct khyp_paging p;

	if (inj->type != KHYP_EVENT_EXCEPTION)
		return false;
	switch (inj->vector) {
	case X86_TRAP_DF:
	case X86_TRAP_TS:
	case X86_TRAP_NP:
	case X86_TRAP_SS:
	case X86_TRAP_GP:
	case X86_TRAP_PF:
	case X86_TRAP_AC:
	case X86_TRAP_CP:
		break;
	default:
		return false;
	}
	khyp_backend->get_paging(vcpu, &p);
	return p.cr0 & X86_CR0_PE;
}

/**
 * khyp_irq_shadow_hlt() - is the guest about to run a HLT in a shadow?
 * @vcpu:	the vCPU, before an entry
 *
 * STI; HLT (or MOV SS; HLT) with an exit between the two: a host
 * interrupt, or a fault fetching the HLT.  On hardware the entry brings
 * back the shadow the exit reported, the HLT runs inside it (the
 * intercept: an exit at once) and an interrupt that waits ends it.  An
 * emulator that drops the shadow at entry (QEMU before 9.1 does not
 * load SVM's int_state at VMRUN) lets an interrupt in before the HLT;
 * the handler returns to the HLT, which sleeps with nothing left to wake
 * it (khyp-bench's apic_ipi_2vcpu hung so).  So the core takes such a
 * HLT as if it had exited, without entering (core/run.c).  Reads guest
 * memory only in a shadow, which few entries are.
 */
bool khyp_irq_shadow_hlt(struct khyp_vcpu *vcpu)
{
	struct khyp_paging p;
	u64 linear = vcpu->regs.rip;
	u8 op;

	/* An event the entry delivers goes before the HLT. */
	if (!khyp_irq_in_shadow(vcpu) || vcpu->events.reinject.valid ||
	    vcpu->events.exception.valid || vcpu->events.nmi.valid)
		return false;
	khyp_backend->get_paging(vcpu, &p);
	if (p.cpl)		/* a HLT there is a #GP, the CPU's to raise */
		return false;
	if (!((p.efer & EFER_LMA) && p.cs_l))
		linear = (p.cs_base + linear) & U32_MAX;
	return !khyp_guest_read_virt(vcpu, &p, linear, &op, 1, NULL) &&
	       op == 0xf4;
}

void khyp_irq_prepare_entry(struct khyp_vcpu *vcpu, struct khyp_entry *entry)
{
	struct khyp_vcpu_events *ev = &vcpu->events;
	bool irq_waits;

	if (vcpu->lapic)
		khyp_irq_lapic_begin(vcpu);
	else
		khyp_irq_take_request(vcpu);
	vcpu->injecting = NULL;
	if (ev->reinject.valid)
		vcpu->injecting = &ev->reinject;
	else if (ev->exception.valid)
		vcpu->injecting = &ev->exception;
	else if (ev->nmi.valid)
		vcpu->injecting = &ev->nmi;
	else if (ev->irq.valid && khyp_irq_can_take(vcpu))
		vcpu->injecting = &ev->irq;
	else if (ev->kirq.valid && khyp_irq_can_take(vcpu))
		vcpu->injecting = &ev->kirq;
	else if (vcpu->lapic && !ev->kirq.valid && khyp_irq_can_take(vcpu) &&
		 khyp_irq_chip_accept(vcpu, &ev->kirq))
		vcpu->injecting = &ev->kirq;	/* in the APIC's or PIC's ISR */

	if (vcpu->injecting) {
		entry->inject = *vcpu->injecting;
		entry->inject.has_error_code =
			khyp_irq_error_code(vcpu, &entry->inject);
	}
	entry->end_shadow = vcpu->int_shadow && !khyp_irq_in_shadow(vcpu);
	irq_waits = (ev->irq.valid && vcpu->injecting != &ev->irq) ||
		    (ev->kirq.valid && vcpu->injecting != &ev->kirq) ||
		    (vcpu->lapic && khyp_irq_chip_pending(vcpu));
	if (irq_waits || vcpu->run->request_interrupt_window)
		entry->irq_window = true;
	/* CR8 is the TPR, as the APIC has it after the accept above. */
	if (vcpu->lapic) {
		entry->tpr_sync = true;
		entry->cr8 = khyp_lapic_get_cr8(vcpu);
		entry->cr8_write_exit = khyp_lapic_tpr_holds(vcpu);
	}
}

void khyp_irq_after_exit(struct khyp_vcpu *vcpu, const struct khyp_entry *entry,
			 const struct khyp_exit *exit)
{
	/* Delivered, or handed back in exit->interrupted just below. */
	if (vcpu->injecting)
		vcpu->injecting->valid = false;
	vcpu->injecting = NULL;
	if (exit->interrupted.valid)
		vcpu->events.reinject = exit->interrupted;
	vcpu->int_shadow = exit->int_shadow;
	vcpu->shadow_rip = vcpu->regs.rip;
	/*
	 * A CR8 the guest wrote without an exit (SVM's V_TPR) is the TPR
	 * from now on; before the exit is handled, which may change the
	 * TPR again (a MOV to CR8 that exited, a write of the register).
	 */
	if (entry->tpr_sync && exit->cr8 != entry->cr8)
		khyp_lapic_set_cr8(vcpu, exit->cr8);
}

/*
 * The guest halted with an event queued that it can take: HLT is over at
 * once (the shadow of an STI before the HLT has ended by now).
 */
bool khyp_irq_wakes_halt(struct khyp_vcpu *vcpu)
{
	struct khyp_vcpu_events *ev = &vcpu->events;

	bool irq;

	/* With an APIC, only a vector it (or the PIC) would deliver counts. */
	if (vcpu->lapic)
		irq = ev->irq.valid || ev->kirq.valid ||
		      khyp_irq_chip_pending(vcpu);
	else
		irq = ev->irq.valid || ev->kirq.valid ||
		      READ_ONCE(vcpu->irq_request_pending);
	if (vcpu->lapic && khyp_lapic_nmi_pending(vcpu))
		return true;
	return ev->nmi.valid || ev->exception.valid ||
	       (khyp_backend->nmi_held && khyp_backend->nmi_held(vcpu)) ||
	       (irq && (vcpu->regs.rflags & X86_EFLAGS_IF));
}

/* An interrupt injected now would be delivered at the next entry. */
bool khyp_irq_ready(struct khyp_vcpu *vcpu)
{
	return khyp_irq_can_take(vcpu) && !vcpu->events.irq.valid &&
	       !vcpu->events.reinject.valid;
}
