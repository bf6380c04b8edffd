// SPDX-License-Identifier: GPL-2.0
/*
 * The guest state khyp hands to the hardware: what it refuses, and where.
 *
 * The hardware checks a guest's state at VM entry (VMX) or VMRUN (SVM)
 * and refuses what it cannot run, but emulated CPUs check less than the
 * manuals say, and one (QEMU's nested SVM) can even leave the host's
 * own CR0 broken when it gives a state back (svm/state.c).  So the core
 * checks what userspace sets before any hardware sees it, in the same
 * way for both backends, in two places:
 *
 *  - KHYP_SET_SREGS and KHYP_SET_MSRS (EFER) refuse with EINVAL a
 *    combination of CR0, CR4 and EFER that no processor can be in
 *    (khyp_mode_check()): NW without CD, paging without protection,
 *    EFER.LMA other than LME && PG (the processor sets LMA itself when
 *    paging goes on with LME, and never otherwise), long mode without
 *    PAE, PCIDE outside long mode.  Each of those ioctls carries, or
 *    meets in the vCPU, all it needs to tell.  The guest's own WRMSR to
 *    EFER (core/msr.c) follows the processor instead: LMA is read-only,
 *    and LME cannot change while paging is on (#GP).
 *  - Before the first entry after userspace set registers,
 *    khyp_state_enterable() checks combinations that span several
 *    ioctls and that the hardware refuses to enter: a 64-bit code
 *    segment that is also a 32-bit one (CS.L with CS.D in long mode),
 *    virtual-8086 mode (RFLAGS.VM) in long mode or without protection,
 *    a TR that is not a present busy TSS (type 11, or 3 outside long
 *    mode: what every processor holds from reset on, and what VMX's
 *    entry requires; QEMU's SVM takes any TR, and aborts the whole
 *    emulated machine when an interrupt later reads the TSS through a
 *    TR that is not present, docs/reliability.md's finding 6).
 *    The run then ends with internal error INVALID_STATE, as when the
 *    hardware refuses (core/run.c), and no event is taken for delivery:
 *    it waits for the next entry.
 *
 * What else the hardware refuses still ends the run in INVALID_STATE
 * from the backend; what it accepts is the guest's to run.
 */
#include <linux/errno.h>
#include <linux/lockdep.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "khyp.h"
#include "vcpu.h"

/**
 * khyp_mode_check() - could a processor hold these CR0, CR4 and EFER?
 * @cr0:	CR0 (its reserved upper half is checked by the caller)
 * @cr4:	CR4 (the bits the guest may own are checked by the caller)
 * @efer:	EFER (its bits likewise)
 *
 * Return: 0, or -EINVAL for a combination no processor can be in.
 */
int khyp_mode_check(u64 cr0, u64 cr4, u64 efer)
{
	bool paging = cr0 & X86_CR0_PG;
	bool lma = efer & EFER_LMA;

	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return -EINVAL;
	if (paging && !(cr0 & X86_CR0_PE))
		return -EINVAL;
	if (lma != (paging && (efer & EFER_LME)))
		return -EINVAL;
	if (lma && !(cr4 & X86_CR4_PAE))
		return -EINVAL;
	if ((cr4 & X86_CR4_PCIDE) && !lma)
		return -EINVAL;
	return 0;
}

/**
 * khyp_state_enterable() - may the next entry take the vCPU's state?
 * @vcpu:	the vCPU, loaded, in KHYP_RUN (its mutex held)
 *
 * The checks across registers set by different ioctls (see above); the
 * run loop calls it once after userspace set registers.
 *
 * Return: false if the hardware would refuse the state.
 */
bool khyp_state_enterable(struct khyp_vcpu *vcpu)
{
	u64 rflags = vcpu->regs.rflags;
	struct khyp_paging p;
	struct khyp_sregs s;
	bool lma;

	lockdep_assert_held(&vcpu->mutex);
	khyp_backend->get_paging(vcpu, &p);
	lma = p.efer & EFER_LMA;
	if (lma && p.cs_l && p.cs_db)
		return false;
	if ((rflags & X86_EFLAGS_VM) && (lma || !(p.cr0 & X86_CR0_PE)))
		return false;
	khyp_backend->get_sregs(vcpu, &s);
	if (!s.tr.present || s.tr.unusable || s.tr.s ||
	    (s.tr.type != 11 && (lma || s.tr.type != 3)))
		return false;
	return true;
}
