// SPDX-License-Identifier: GPL-2.0
/*
 * Guest state as the core sees it, read from and written to the VMCB's
 * save area: segment, descriptor-table and control registers
 * (KHYP_GET/SET_SREGS), the MSRs of core/msr.c, the paging mode for
 * guest-virtual reads, and the control registers of KHYP_X_CR exits.
 *
 * Most of it lives in the save area.  What does not: CR4 as the guest
 * reads it (struct svm_vcpu: the real one keeps khyp_cr4_forced()), and
 * CR8, which is V_TPR in the control area (with an irqchip, a copy of the
 * local APIC's TPR that svm_run() exchanges with it, core/khyp.h).  Unlike VMX's state.c nothing
 * needs loading first: the VMCB is ordinary memory.
 */
#include <linux/mm.h>
#include <linux/string.h>
#include <asm/msr.h>
#include <asm/processor-flags.h>
#include <asm/svm.h>

#include "../core/vcpu.h"
#include "../core/vm.h"
#include "svm.h"

static void svm_seg_get(const struct vmcb_seg *seg, struct khyp_segment *out)
{
	u16 a = seg->attrib;

	out->base = seg->base;
	out->limit = seg->limit;
	out->selector = seg->selector;
	out->type = a & SVM_SELECTOR_TYPE_MASK;
	out->s = !!(a & SVM_SELECTOR_S_MASK);
	out->dpl = (a & SVM_SELECTOR_DPL_MASK) >> SVM_SELECTOR_DPL_SHIFT;
	out->present = !!(a & SVM_SELECTOR_P_MASK);
	out->avl = !!(a & SVM_SELECTOR_AVL_MASK);
	out->l = !!(a & SVM_SELECTOR_L_MASK);
	out->db = !!(a & SVM_SELECTOR_DB_MASK);
	out->g = !!(a & SVM_SELECTOR_G_MASK);
	out->unusable = !out->present;
	out->padding = 0;
}

static void svm_seg_put(struct vmcb_seg *seg, const struct khyp_segment *in)
{
	seg->base = in->base;
	seg->limit = in->limit;
	seg->selector = in->selector;
	seg->attrib = in->unusable ? 0 :
		(in->type & SVM_SELECTOR_TYPE_MASK) |
		in->s << SVM_SELECTOR_S_SHIFT |
		in->dpl << SVM_SELECTOR_DPL_SHIFT |
		in->present << SVM_SELECTOR_P_SHIFT |
		in->avl << SVM_SELECTOR_AVL_SHIFT |
		in->l << SVM_SELECTOR_L_SHIFT |
		in->db << SVM_SELECTOR_DB_SHIFT |
		in->g << SVM_SELECTOR_G_SHIFT;
}

/*
 * TR's busy bit stays out of the VMCB.  A loaded TR is a busy TSS, and
 * the ABI shows its type as such (11, or 3 for a 16-bit TSS; VMX's entry
 * requires it).  QEMU's TCG caches the available type after its own LTR
 * and task switch, and aborts the whole emulated machine ("invalid tss
 * type") when an interrupt to an inner ring reads the new stack from a
 * TSS whose cached type is busy: a guest that never ran LTR, went to ring
 * 3 or vm86 mode and took an exception killed its host.  The processor
 * needs only the cached TSS size (the task switch reads the busy bit from
 * the GDT), so the VMCB holds the available type and userspace reads the
 * busy one, as KVM's SVM reports TR.
 */
#define SVM_TSS_BUSY	0x2

static bool svm_is_tss(u8 type)
{
	return (type & ~(0x8 | SVM_TSS_BUSY)) == 0x1;
}

void svm_get_sregs(struct khyp_vcpu *vcpu, struct khyp_sregs *sr)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	struct vmcb_save_area *s = &vmcb->save;

	svm_seg_get(&s->cs, &sr->cs);
	svm_seg_get(&s->ds, &sr->ds);
	svm_seg_get(&s->es, &sr->es);
	svm_seg_get(&s->fs, &sr->fs);
	svm_seg_get(&s->gs, &sr->gs);
	svm_seg_get(&s->ss, &sr->ss);
	svm_seg_get(&s->tr, &sr->tr);
	if (svm_is_tss(sr->tr.type))
		sr->tr.type |= SVM_TSS_BUSY;
	svm_seg_get(&s->ldtr, &sr->ldt);
	sr->gdt.base = s->gdtr.base;
	sr->gdt.limit = s->gdtr.limit;
	sr->idt.base = s->idtr.base;
	sr->idt.limit = s->idtr.limit;
	sr->cr0 = s->cr0;
	sr->cr2 = s->cr2;
	sr->cr3 = s->cr3;
	sr->cr4 = to_svm(vcpu)->cr4;
	sr->cr8 = vmcb->control.int_ctl & V_TPR_MASK;
	sr->efer = s->efer & ~EFER_SVME;
}

void svm_set_sregs(struct khyp_vcpu *vcpu, const struct khyp_sregs *sr)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	struct vmcb_save_area *s = &vmcb->save;

	svm_seg_put(&s->cs, &sr->cs);
	svm_seg_put(&s->ds, &sr->ds);
	svm_seg_put(&s->es, &sr->es);
	svm_seg_put(&s->fs, &sr->fs);
	svm_seg_put(&s->gs, &sr->gs);
	svm_seg_put(&s->ss, &sr->ss);
	svm_seg_put(&s->tr, &sr->tr);
	if (svm_is_tss(sr->tr.type))
		s->tr.attrib &= ~SVM_TSS_BUSY;
	svm_seg_put(&s->ldtr, &sr->ldt);
	s->gdtr.base = sr->gdt.base;
	s->gdtr.limit = sr->gdt.limit;
	s->idtr.base = sr->idt.base;
	s->idtr.limit = sr->idt.limit;
	s->cr0 = sr->cr0;
	s->cr2 = sr->cr2;
	s->cr3 = sr->cr3;
	svm_set_cr4(vcpu, sr->cr4);
	vmcb->control.int_ctl = (vmcb->control.int_ctl & ~V_TPR_MASK) |
				(sr->cr8 & V_TPR_MASK);
	s->efer = sr->efer | EFER_SVME;
	/* SVM keeps CPL apart: protected mode takes it from SS.DPL. */
	s->cpl = (sr->cr0 & X86_CR0_PE) ? sr->ss.dpl : 0;
}

/* ->load_tr: the guest's LTR, emulated (core/desc.c). */
void svm_load_tr(struct khyp_vcpu *vcpu, const struct khyp_segment *tr)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;

	svm_seg_put(&s->tr, tr);
	if (svm_is_tss(tr->type))
		s->tr.attrib &= ~SVM_TSS_BUSY;
}

/*
 * CR4 as the guest sets it (checked already): the real one, in the VMCB,
 * is made from it before each entry (svm_sync_cr4()).  The processor
 * would flush the guest's TLB for a change of a paging bit; a new ASID
 * does that.
 */
void svm_set_cr4(struct khyp_vcpu *vcpu, u64 cr4)
{
	struct svm_vcpu *sv = to_svm(vcpu);
	u64 paging = X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PCIDE |
		     X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE | X86_CR4_LA57;

	if ((sv->cr4 ^ cr4) & paging)
		sv->new_asid = true;
	sv->cr4 = cr4;
	svm_sync_cr4(sv);
}

/**
 * svm_sync_cr4() - the CR4 the next VMRUN loads
 * @sv:		the vCPU, by its own thread
 *
 * The guest's CR4 with khyp_cr4_forced(), and one more bit: CR4.PAE
 * while EFER.LME is set and paging is off.  QEMU's nested SVM loads the
 * host's CR0 at each #VMEXIT through its MOV-to-CR0 code, which, with the
 * guest's EFER and CR4 still in place, sees paging go on with LME but
 * without PAE, gives up without a fault, and leaves the guest's CR0 in
 * the host: paging off, the host kernel gone (issue 16's fuzzer found
 * it; the state is legal, every guest passes through it on its way to
 * long mode if it sets LME before PAE).  With paging off PAE changes
 * nothing the guest can see: it reads CR4 through the intercept
 * (svm_get_cr()), and it cannot clear the real bit without an exit.
 *
 * The one difference: a MOV to CR0 that turns paging on in that state
 * must fault (#GP: long mode needs PAE) but does not exit, and the
 * processor, seeing PAE, enters long mode.  svm_run() then makes the
 * guest's CR4 say PAE, as the processor has it.
 */
void svm_sync_cr4(struct svm_vcpu *sv)
{
	struct vmcb_save_area *s = &sv->vmcb->save;
	u64 cr4 = sv->cr4 | khyp_cr4_forced();

	if ((s->efer & EFER_LME) && !(s->cr0 & X86_CR0_PG))
		cr4 |= X86_CR4_PAE;
	s->cr4 = cr4;
}

u64 svm_get_msr(struct khyp_vcpu *vcpu, u32 index)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	struct vmcb_save_area *s = &vmcb->save;

	switch (index) {
	case MSR_EFER:
		return s->efer & ~EFER_SVME;
	case MSR_STAR:
		return s->star;
	case MSR_LSTAR:
		return s->lstar;
	case MSR_CSTAR:
		return s->cstar;
	case MSR_SYSCALL_MASK:
		return s->sfmask;
	case MSR_FS_BASE:
		return s->fs.base;
	case MSR_GS_BASE:
		return s->gs.base;
	case MSR_KERNEL_GS_BASE:
		return s->kernel_gs_base;
	case MSR_IA32_SYSENTER_CS:
		return s->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP:
		return s->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP:
		return s->sysenter_eip;
	case MSR_IA32_CR_PAT:
		return s->g_pat;
	case MSR_IA32_TSC:
		return rdtsc() + vmcb->control.tsc_offset;
	default:
		WARN_ON_ONCE(1);	/* the core only asks for its set */
		return 0;
	}
}

void svm_set_msr(struct khyp_vcpu *vcpu, u32 index, u64 data)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	struct vmcb_save_area *s = &vmcb->save;

	switch (index) {
	case MSR_EFER:
		s->efer = data | EFER_SVME;
		break;
	case MSR_STAR:
		s->star = data;
		break;
	case MSR_LSTAR:
		s->lstar = data;
		break;
	case MSR_CSTAR:
		s->cstar = data;
		break;
	case MSR_SYSCALL_MASK:
		s->sfmask = data;
		break;
	case MSR_FS_BASE:
		s->fs.base = data;
		break;
	case MSR_GS_BASE:
		s->gs.base = data;
		break;
	case MSR_KERNEL_GS_BASE:
		s->kernel_gs_base = data;
		break;
	case MSR_IA32_SYSENTER_CS:
		s->sysenter_cs = data;
		break;
	case MSR_IA32_SYSENTER_ESP:
		s->sysenter_esp = data;
		break;
	case MSR_IA32_SYSENTER_EIP:
		s->sysenter_eip = data;
		break;
	case MSR_IA32_CR_PAT:
		s->g_pat = data;
		break;
	case MSR_IA32_TSC:
		vmcb->control.tsc_offset = data - rdtsc();
		break;
	default:
		WARN_ON_ONCE(1);
	}
}

void svm_get_paging(struct khyp_vcpu *vcpu, struct khyp_paging *p)
{
	const struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;

	p->cr0 = s->cr0;
	p->cr3 = s->cr3;
	p->cr4 = to_svm(vcpu)->cr4;
	p->efer = s->efer & ~EFER_SVME;
	p->cs_base = s->cs.base;
	p->cs_l = !!(s->cs.attrib & SVM_SELECTOR_L_MASK);
	p->cs_db = !!(s->cs.attrib & SVM_SELECTOR_DB_MASK);
	p->cpl = s->cpl;
}

/*
 * KHYP_X_CR: CR4 reads and writes, and CR8 writes while svm/run.c wants
 * them (CR8 is V_TPR; with an irqchip the core gives it to the APIC).
 * CR2: a page fault the core raises (khyp_irq_queue_page_fault()).
 */
u64 svm_get_cr(struct khyp_vcpu *vcpu, int cr)
{
	struct svm_vcpu *sv = to_svm(vcpu);

	if (cr == 8)
		return sv->vmcb->control.int_ctl & V_TPR_MASK;
	return cr == 4 ? sv->cr4 : 0;
}

bool svm_set_cr(struct khyp_vcpu *vcpu, int cr, u64 val)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	struct vmcb_control_area *c = &vmcb->control;

	if (cr == 2)
		vmcb->save.cr2 = val;
	else if (cr == 4)
		svm_set_cr4(vcpu, val);
	else if (cr == 8)
		c->int_ctl = (c->int_ctl & ~V_TPR_MASK) | (val & V_TPR_MASK);
	return true;
}
