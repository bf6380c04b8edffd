// SPDX-License-Identifier: GPL-2.0
/*
 * Guest state as the core sees it, read from and written to the VMCS:
 * segment, descriptor-table and control registers (KHYP_GET/SET_SREGS),
 * the MSRs of core/msr.c, and the paging mode for guest-virtual reads.
 *
 * Most of it lives in the VMCS.  What does not: CR2 and CR8 (kept in
 * struct vmx_vcpu, CR2 switched by run() and CR8 accesses emulated), and
 * the SYSCALL MSRs and KERNEL_GS_BASE (switched by hand, see run.c).
 *
 * These are called from the vCPU's ioctls, and from the core's exit
 * handling between two run()s; either way vmx_vmcs_begin() makes the
 * VMCS current on the calling CPU.
 */
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <asm/msr.h>
#include <asm/processor-flags.h>

#include "../core/khyp.h"
#include "../core/vcpu.h"
#include "../core/vm.h"
#include "vmx.h"

/* Segment access-rights bit without a name in <asm/vmx.h>. */
#define VMX_AR_AVL_MASK		BIT(12)

/*
 * The fields of one segment register sit at the same distance from ES's
 * in each group (selector, base, limit, access rights).
 */
#define SEG_FIELD(sel, es_field)	((es_field) + (sel) - GUEST_ES_SELECTOR)

static void vmx_get_segment(unsigned long sel, struct khyp_segment *seg)
{
	u32 ar = vmcs_read(SEG_FIELD(sel, GUEST_ES_AR_BYTES));

	memset(seg, 0, sizeof(*seg));
	seg->selector = vmcs_read(sel);
	seg->base = vmcs_read(SEG_FIELD(sel, GUEST_ES_BASE));
	seg->limit = vmcs_read(SEG_FIELD(sel, GUEST_ES_LIMIT));
	seg->type = ar & VMX_AR_TYPE_MASK;
	seg->s = !!(ar & VMX_AR_S_MASK);
	seg->dpl = VMX_AR_DPL(ar);
	seg->present = !!(ar & VMX_AR_P_MASK);
	seg->avl = !!(ar & VMX_AR_AVL_MASK);
	seg->l = !!(ar & VMX_AR_L_MASK);
	seg->db = !!(ar & VMX_AR_DB_MASK);
	seg->g = !!(ar & VMX_AR_G_MASK);
	seg->unusable = !!(ar & VMX_AR_UNUSABLE_MASK);
}

/* A segment that is not present is unusable: VMX refuses it otherwise. */
static void vmx_set_segment(unsigned long sel, const struct khyp_segment *seg)
{
	u32 ar = VMX_AR_UNUSABLE_MASK;

	if (!seg->unusable && seg->present)
		ar = (seg->type & VMX_AR_TYPE_MASK) |
		     (seg->s ? VMX_AR_S_MASK : 0) |
		     ((seg->dpl & 3) << VMX_AR_DPL_SHIFT) | VMX_AR_P_MASK |
		     (seg->avl ? VMX_AR_AVL_MASK : 0) |
		     (seg->l ? VMX_AR_L_MASK : 0) |
		     (seg->db ? VMX_AR_DB_MASK : 0) |
		     (seg->g ? VMX_AR_G_MASK : 0);
	vmcs_write(sel, seg->selector);
	vmcs_write(SEG_FIELD(sel, GUEST_ES_BASE), seg->base);
	vmcs_write(SEG_FIELD(sel, GUEST_ES_LIMIT), seg->limit);
	vmcs_write(SEG_FIELD(sel, GUEST_ES_AR_BYTES), ar);
}

/* CR0 and CR4 as the guest reads them: owned bits from the shadows. */
u64 vmx_guest_cr0(void)
{
	u64 mask = vmcs_read(CR0_GUEST_HOST_MASK);

	return (vmcs_read(GUEST_CR0) & ~mask) |
	       (vmcs_read(CR0_READ_SHADOW) & mask);
}

u64 vmx_guest_cr4(void)
{
	u64 mask = vmcs_read(CR4_GUEST_HOST_MASK);

	return (vmcs_read(GUEST_CR4) & ~mask) |
	       (vmcs_read(CR4_READ_SHADOW) & mask);
}

/* EFER.LMA and the "IA-32e mode guest" entry control go together. */
static void vmx_set_efer(u64 efer)
{
	vmcs_write(GUEST_IA32_EFER, efer);
	if (efer & EFER_LMA)
		vmcs_set_bits(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
	else
		vmcs_clear_bits(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
}

void vmx_get_sregs(struct khyp_vcpu *vcpu, struct khyp_sregs *sregs)
{
	struct vmx_vcpu *vv = to_vmx(vcpu);

	memset(sregs, 0, sizeof(*sregs));
	vmx_vmcs_begin(vv);
	vmx_get_segment(GUEST_CS_SELECTOR, &sregs->cs);
	vmx_get_segment(GUEST_DS_SELECTOR, &sregs->ds);
	vmx_get_segment(GUEST_ES_SELECTOR, &sregs->es);
	vmx_get_segment(GUEST_FS_SELECTOR, &sregs->fs);
	vmx_get_segment(GUEST_GS_SELECTOR, &sregs->gs);
	vmx_get_segment(GUEST_SS_SELECTOR, &sregs->ss);
	vmx_get_segment(GUEST_TR_SELECTOR, &sregs->tr);
	vmx_get_segment(GUEST_LDTR_SELECTOR, &sregs->ldt);
	sregs->gdt.base = vmcs_read(GUEST_GDTR_BASE);
	sregs->gdt.limit = vmcs_read(GUEST_GDTR_LIMIT);
	sregs->idt.base = vmcs_read(GUEST_IDTR_BASE);
	sregs->idt.limit = vmcs_read(GUEST_IDTR_LIMIT);
	sregs->cr0 = vmx_guest_cr0();
	sregs->cr2 = vv->cr2;
	sregs->cr3 = vmcs_read(GUEST_CR3);
	sregs->cr4 = vmx_guest_cr4();
	sregs->cr8 = vv->cr8;
	sregs->efer = vmcs_read(GUEST_IA32_EFER);
	vmx_vmcs_end();
}

/*
 * With EPT, VM entry into PAE paging (not long mode) takes the four
 * PDPTEs from the VMCS, not from memory: read them as MOV to CR3 would.
 * The guest's own CR0/CR3/CR4 writes run natively and load them itself.
 */
static void vmx_read_pdptes(struct khyp_vcpu *vcpu, u64 cr3, u64 pdpte[4])
{
	u64 gpa = cr3 & GENMASK_ULL(31, 5);
	struct page *page;

	memset(pdpte, 0, 4 * sizeof(u64));
	page = khyp_memory_get_page(&vcpu->vm->mem, gpa >> PAGE_SHIFT, NULL);
	if (IS_ERR_OR_NULL(page))
		return;
	memcpy(pdpte, page_address(page) + offset_in_page(gpa),
	       4 * sizeof(u64));
	put_page(page);
}

void vmx_set_sregs(struct khyp_vcpu *vcpu, const struct khyp_sregs *sregs)
{
	struct vmx_vcpu *vv = to_vmx(vcpu);
	bool pae = (sregs->cr0 & X86_CR0_PG) && (sregs->cr4 & X86_CR4_PAE) &&
		   !(sregs->efer & EFER_LMA);
	u64 pdpte[4];

	if (pae)
		vmx_read_pdptes(vcpu, sregs->cr3, pdpte);	/* may sleep */

	vmx_vmcs_begin(vv);
	vmx_set_segment(GUEST_CS_SELECTOR, &sregs->cs);
	vmx_set_segment(GUEST_DS_SELECTOR, &sregs->ds);
	vmx_set_segment(GUEST_ES_SELECTOR, &sregs->es);
	vmx_set_segment(GUEST_FS_SELECTOR, &sregs->fs);
	vmx_set_segment(GUEST_GS_SELECTOR, &sregs->gs);
	vmx_set_segment(GUEST_SS_SELECTOR, &sregs->ss);
	vmx_set_segment(GUEST_TR_SELECTOR, &sregs->tr);
	vmx_set_segment(GUEST_LDTR_SELECTOR, &sregs->ldt);
	vmcs_write(GUEST_GDTR_BASE, sregs->gdt.base);
	vmcs_write(GUEST_GDTR_LIMIT, sregs->gdt.limit);
	vmcs_write(GUEST_IDTR_BASE, sregs->idt.base);
	vmcs_write(GUEST_IDTR_LIMIT, sregs->idt.limit);
	vmx_set_cr0(sregs->cr0);
	vmx_set_cr4(sregs->cr4);
	vmcs_write(GUEST_CR3, sregs->cr3);
	vmx_set_efer(sregs->efer);
	if (pae) {
		vmcs_write(GUEST_PDPTR0, pdpte[0]);
		vmcs_write(GUEST_PDPTR1, pdpte[1]);
		vmcs_write(GUEST_PDPTR2, pdpte[2]);
		vmcs_write(GUEST_PDPTR3, pdpte[3]);
	}
	vv->cr2 = sregs->cr2;
	vv->cr8 = sregs->cr8 & 0xf;
	/* Translations cached under the old CR3 are tagged with the VPID. */
	vv->need_flush = true;
	vmx_vmcs_end();
}

u64 vmx_get_msr(struct khyp_vcpu *vcpu, u32 index)
{
	struct vmx_vcpu *vv = to_vmx(vcpu);
	u64 data = 0;

	vmx_vmcs_begin(vv);
	switch (index) {
	case MSR_EFER:
		data = vmcs_read(GUEST_IA32_EFER);
		break;
	case MSR_STAR:
		data = vv->star;
		break;
	case MSR_LSTAR:
		data = vv->lstar;
		break;
	case MSR_CSTAR:
		data = vv->cstar;
		break;
	case MSR_SYSCALL_MASK:
		data = vv->sfmask;
		break;
	case MSR_KERNEL_GS_BASE:
		/* SWAPGS changes it without an exit. */
		if (vv->guest_msrs_loaded)
			rdmsrl(MSR_KERNEL_GS_BASE, data);
		else
			data = vv->kernel_gs_base;
		break;
	case MSR_FS_BASE:
		data = vmcs_read(GUEST_FS_BASE);
		break;
	case MSR_GS_BASE:
		data = vmcs_read(GUEST_GS_BASE);
		break;
	case MSR_IA32_SYSENTER_CS:
		data = vmcs_read(GUEST_SYSENTER_CS);
		break;
	case MSR_IA32_SYSENTER_ESP:
		data = vmcs_read(GUEST_SYSENTER_ESP);
		break;
	case MSR_IA32_SYSENTER_EIP:
		data = vmcs_read(GUEST_SYSENTER_EIP);
		break;
	case MSR_IA32_CR_PAT:
		data = vmcs_read(GUEST_IA32_PAT);
		break;
	case MSR_IA32_TSC:
		data = rdtsc() + vmcs_read(TSC_OFFSET);
		break;
	}
	vmx_vmcs_end();
	return data;
}

/* A guest-visible copy, and the CPU's register while it holds the guest's. */
static void vmx_set_switched_msr(struct vmx_vcpu *vv, u64 *copy, u32 index,
				 u64 data)
{
	*copy = data;
	if (vv->guest_msrs_loaded)
		wrmsrl(index, data);
}

void vmx_set_msr(struct khyp_vcpu *vcpu, u32 index, u64 data)
{
	struct vmx_vcpu *vv = to_vmx(vcpu);

	vmx_vmcs_begin(vv);
	switch (index) {
	case MSR_EFER:
		/* LMA as the core decided (core/msr.c, core/state.c). */
		vmx_set_efer(data);
		break;
	case MSR_STAR:
		vmx_set_switched_msr(vv, &vv->star, index, data);
		break;
	case MSR_LSTAR:
		vmx_set_switched_msr(vv, &vv->lstar, index, data);
		break;
	case MSR_CSTAR:
		vmx_set_switched_msr(vv, &vv->cstar, index, data);
		break;
	case MSR_SYSCALL_MASK:
		vmx_set_switched_msr(vv, &vv->sfmask, index, data);
		break;
	case MSR_KERNEL_GS_BASE:
		vmx_set_switched_msr(vv, &vv->kernel_gs_base, index, data);
		break;
	case MSR_FS_BASE:
		vmcs_write(GUEST_FS_BASE, data);
		break;
	case MSR_GS_BASE:
		vmcs_write(GUEST_GS_BASE, data);
		break;
	case MSR_IA32_SYSENTER_CS:
		vmcs_write(GUEST_SYSENTER_CS, data);
		break;
	case MSR_IA32_SYSENTER_ESP:
		vmcs_write(GUEST_SYSENTER_ESP, data);
		break;
	case MSR_IA32_SYSENTER_EIP:
		vmcs_write(GUEST_SYSENTER_EIP, data);
		break;
	case MSR_IA32_CR_PAT:
		vmcs_write(GUEST_IA32_PAT, data);
		break;
	case MSR_IA32_TSC:
		/* RDTSC runs natively and adds TSC_OFFSET. */
		vmcs_write(TSC_OFFSET, data - rdtsc());
		break;
	}
	vmx_vmcs_end();
}

void vmx_get_paging(struct khyp_vcpu *vcpu, struct khyp_paging *paging)
{
	struct vmx_vcpu *vv = to_vmx(vcpu);
	u32 cs_ar;

	vmx_vmcs_begin(vv);
	paging->cr0 = vmx_guest_cr0();
	paging->cr3 = vmcs_read(GUEST_CR3);
	paging->cr4 = vmx_guest_cr4();
	paging->efer = vmcs_read(GUEST_IA32_EFER);
	paging->cs_base = vmcs_read(GUEST_CS_BASE);
	cs_ar = vmcs_read(GUEST_CS_AR_BYTES);
	paging->cs_l = cs_ar & VMX_AR_L_MASK;
	paging->cs_db = cs_ar & VMX_AR_DB_MASK;
	/* VMX keeps the CPL in SS.DPL (0 in real mode). */
	paging->cpl = VMX_AR_DPL(vmcs_read(GUEST_SS_AR_BYTES));
	vmx_vmcs_end();
}

/* KHYP_X_CR: only MOV from CR8 exits. */
u64 vmx_get_cr(struct khyp_vcpu *vcpu, int cr)
{
	struct vmx_vcpu *vv = to_vmx(vcpu);

	return cr == 8 ? vv->cr8 : 0;
}

/*
 * KHYP_X_CR, a value the core checked.  MOV to CR8: the task priority.
 * MOV to CR0 or CR4 changed a bit khyp owns (see vmx_set_cr0()): take the
 * owned bits into the read shadow.  If the write also changes bits the
 * guest owns, the guest executes it again: now that the shadow matches,
 * it does not exit, and the processor does the rest itself (paging on or
 * off, IA-32e mode and EFER.LMA, PDPTEs, its own #GP checks).  Returns
 * true when the instruction is complete.  CR2: a page fault the core
 * raises (khyp_irq_queue_page_fault()); the entry loads it.
 */
bool vmx_set_cr(struct khyp_vcpu *vcpu, int cr, u64 val)
{
	struct vmx_vcpu *vv = to_vmx(vcpu);
	bool cr4 = cr == 4;
	u64 mask, cur, owned;

	if (cr == 2) {
		vv->cr2 = val;
		return true;
	}
	if (cr == 8) {
		vv->cr8 = val;
		return true;
	}
	vmx_vmcs_begin(vv);
	mask = vmcs_read(cr4 ? CR4_GUEST_HOST_MASK : CR0_GUEST_HOST_MASK);
	cur = vmcs_read(cr4 ? GUEST_CR4 : GUEST_CR0);
	owned = (cur & ~mask) | (val & mask);
	if (cr4)
		vmx_set_cr4(owned);
	else
		vmx_set_cr0(owned);
	vmx_vmcs_end();
	return !((val ^ cur) & ~mask);
}
