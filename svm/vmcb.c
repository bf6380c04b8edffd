// SPDX-License-Identifier: GPL-2.0
/*
 * The VMCB: what the guest is allowed to do, and the guest's state.
 *
 * The control area says which guest actions exit (intercepts).  khyp
 * intercepts what it must own: physical interrupts, NMIs and machine
 * checks (the host takes them), every I/O port and every MSR (permission
 * maps full of 1s, shared by all vCPUs), CPUID, HLT, VMMCALL, shutdown,
 * WBINVD and INVD (skipped: they would stall or corrupt the host's
 * caches), and the instructions a guest may not use here: the SVM
 * instructions themselves, MONITOR/MWAIT, XSETBV, RDTSCP and RDPRU (#UD;
 * they would show host state), RDPMC (#GP: no counters), PAUSE where the
 * pause filter lets only a spin loop exit (core/spin.c), and every debug
 * register (#UD: DR0-3 would put breakpoints on host addresses, and DR7
 * could arm them).  #AC and #DB are intercepted only to be given back
 * (core/run.c): their delivery can raise them again forever without an
 * interrupt window (CVE-2015-5307, CVE-2015-8104).  CR4 reads and writes
 * exit so that the real CR4.MCE stays set and the guest gets only the
 * bits of core/cr4.c.  LTR exits so that no guest can load a null TR,
 * which QEMU's TCG takes where a processor raises #GP(0) and which then
 * aborts the whole emulated machine at the next stack switch through
 * the TSS (core/desc.c emulates it).  CR8 writes exit while the TPR holds an interrupt
 * back and while an interrupt window is asked for (svm/run.c).  With
 * nested paging, no other CR and no page-fault intercepts are needed.
 *
 * The save area holds the guest's segments, control registers, EFER, PAT
 * and the MSRs VMLOAD/VMSAVE switch; state.c converts it to and from the
 * uapi register structs.  This file allocates and frees a vCPU's VMCB
 * and builds the x86 reset state.
 */
#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor-flags.h>
#include <asm/svm.h>
#include <asm/trapnr.h>

#include "../core/vcpu.h"
#include "../core/vm.h"
#include "svm.h"

#define SVM_IOPM_ORDER		2	/* 12 KiB used */
#define SVM_MSRPM_ORDER		1	/* 8 KiB */

static struct page *svm_iopm, *svm_msrpm;

/*
 * The pause filter (core/spin.c), with KHYP_CAP_PAUSE_EXIT: PAUSE is
 * intercepted, but exits only at the pause_filter_count-th since the
 * entry; with the filter threshold (svm_pause_thresh, from CPUID), the
 * count starts again whenever two PAUSEs are more than
 * pause_filter_thresh cycles apart, so only a tight loop exits.  Read
 * once each time a vCPU's control area is made; both are the VMCB's 16-bit
 * fields, and a write outside 0-65535 is refused.  KVM's defaults.
 */
bool svm_pause_thresh;

static int svm_param_set_u16(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, U16_MAX);
}

static const struct kernel_param_ops svm_u16_param_ops = {
	.set = svm_param_set_u16,
	.get = param_get_uint,
};

static unsigned int pause_filter_count = 3000;
module_param_cb(pause_filter_count, &svm_u16_param_ops, &pause_filter_count,
		0644);
MODULE_PARM_DESC(pause_filter_count,
		 "SVM: a spin loop exits at this many PAUSEs, 1-65535; 0 turns the pause filter off for vCPUs created after (default 3000)");
static unsigned int pause_filter_thresh = 128;
module_param_cb(pause_filter_thresh, &svm_u16_param_ops, &pause_filter_thresh,
		0644);
MODULE_PARM_DESC(pause_filter_thresh,
		 "SVM: where the CPU has the filter threshold, PAUSEs more than this many cycles apart start the count again, 0-65535 (default 128)");

/* The permission maps: all 1s, every port and MSR exits. */
int svm_vmcb_setup(void)
{
	svm_iopm = alloc_pages(GFP_KERNEL, SVM_IOPM_ORDER);
	svm_msrpm = alloc_pages(GFP_KERNEL, SVM_MSRPM_ORDER);
	if (!svm_iopm || !svm_msrpm) {
		svm_vmcb_teardown();
		return -ENOMEM;
	}
	memset(page_address(svm_iopm), 0xff, PAGE_SIZE << SVM_IOPM_ORDER);
	memset(page_address(svm_msrpm), 0xff, PAGE_SIZE << SVM_MSRPM_ORDER);
	return 0;
}

void svm_vmcb_teardown(void)
{
	if (svm_iopm)
		__free_pages(svm_iopm, SVM_IOPM_ORDER);
	if (svm_msrpm)
		__free_pages(svm_msrpm, SVM_MSRPM_ORDER);
	svm_iopm = NULL;
	svm_msrpm = NULL;
}

static void svm_intercept(struct vmcb *vmcb, unsigned int bit)
{
	vmcb->control.intercepts[bit / 32] |= BIT(bit % 32);
}

static void svm_seg_set(struct vmcb_seg *seg, u16 selector, u16 attrib,
			u32 limit, u64 base)
{
	seg->selector = selector;
	seg->attrib = attrib;
	seg->limit = limit;
	seg->base = base;
}

/* P, S, type: data read/write accessed (0x93), code exec/read accessed. */
#define SVM_ATTR_DATA16		0x0093
#define SVM_ATTR_CODE16		0x009b
#define SVM_ATTR_LDT		0x0082
#define SVM_ATTR_TSS_BUSY	0x008b

/*
 * The control area, from scratch: at creation, and after a shutdown
 * intercept, which leaves it undefined.  The ASID is picked at entry.
 */
void svm_vmcb_init_control(struct khyp_vcpu *vcpu, struct vmcb *vmcb)
{
	unsigned int filter_count = READ_ONCE(pause_filter_count);
	struct vmcb_control_area *c = &vmcb->control;
	unsigned int i;

	memset(c, 0, sizeof(*c));
	to_svm(vcpu)->asid_cpu = -1;
	/* No IRET intercept: no NMI handler runs (after a shutdown neither). */
	to_svm(vcpu)->nmi_blocked = false;
	to_svm(vcpu)->at_iret = false;

	for (i = INTERCEPT_DR0_READ; i <= INTERCEPT_DR7_READ; i++)
		svm_intercept(vmcb, i);
	for (i = INTERCEPT_DR0_WRITE; i <= INTERCEPT_DR7_WRITE; i++)
		svm_intercept(vmcb, i);
	svm_intercept(vmcb, INTERCEPT_CR4_READ);
	svm_intercept(vmcb, INTERCEPT_CR4_WRITE);
	svm_intercept(vmcb, INTERCEPT_LOAD_TR);
	svm_intercept(vmcb, INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_DB);
	svm_intercept(vmcb, INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_AC);
	svm_intercept(vmcb, INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_MC);
	svm_intercept(vmcb, INTERCEPT_INVD);
	svm_intercept(vmcb, INTERCEPT_WBINVD);
	svm_intercept(vmcb, INTERCEPT_RDPMC);
	svm_intercept(vmcb, INTERCEPT_RDTSCP);
	if (boot_cpu_has(X86_FEATURE_RDPRU))
		svm_intercept(vmcb, INTERCEPT_RDPRU);
	svm_intercept(vmcb, INTERCEPT_INTR);
	svm_intercept(vmcb, INTERCEPT_NMI);
	svm_intercept(vmcb, INTERCEPT_SMI);
	svm_intercept(vmcb, INTERCEPT_CPUID);
	svm_intercept(vmcb, INTERCEPT_HLT);
	svm_intercept(vmcb, INTERCEPT_INVLPGA);
	svm_intercept(vmcb, INTERCEPT_IOIO_PROT);
	svm_intercept(vmcb, INTERCEPT_MSR_PROT);
	svm_intercept(vmcb, INTERCEPT_SHUTDOWN);
	svm_intercept(vmcb, INTERCEPT_VMRUN);
	svm_intercept(vmcb, INTERCEPT_VMMCALL);
	svm_intercept(vmcb, INTERCEPT_VMLOAD);
	svm_intercept(vmcb, INTERCEPT_VMSAVE);
	svm_intercept(vmcb, INTERCEPT_STGI);
	svm_intercept(vmcb, INTERCEPT_CLGI);
	svm_intercept(vmcb, INTERCEPT_SKINIT);
	svm_intercept(vmcb, INTERCEPT_MONITOR);
	svm_intercept(vmcb, INTERCEPT_MWAIT);
	svm_intercept(vmcb, INTERCEPT_MWAIT_COND);
	svm_intercept(vmcb, INTERCEPT_XSETBV);
	if ((khyp_caps.features & KHYP_CAP_PAUSE_EXIT) && filter_count) {
		svm_intercept(vmcb, INTERCEPT_PAUSE);
		c->pause_filter_count = filter_count;
		if (svm_pause_thresh)
			c->pause_filter_thresh = READ_ONCE(pause_filter_thresh);
	}

	c->iopm_base_pa = page_to_phys(svm_iopm);
	c->msrpm_base_pa = page_to_phys(svm_msrpm);
	c->int_ctl = V_INTR_MASKING_MASK;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = khyp_pgtable_root(&vcpu->vm->pt);
	c->tsc_offset = vcpu->vm->tsc_offset;
}

void svm_vmcb_reset(struct khyp_vcpu *vcpu, struct vmcb *vmcb)
{
	struct vmcb_save_area *s = &vmcb->save;

	memset(vmcb, 0, PAGE_SIZE);
	svm_vmcb_init_control(vcpu, vmcb);

	/* The x86 reset state: real mode at F000:FFF0. */
	svm_seg_set(&s->cs, 0xf000, SVM_ATTR_CODE16, 0xffff, 0xffff0000);
	svm_seg_set(&s->ds, 0, SVM_ATTR_DATA16, 0xffff, 0);
	svm_seg_set(&s->es, 0, SVM_ATTR_DATA16, 0xffff, 0);
	svm_seg_set(&s->ss, 0, SVM_ATTR_DATA16, 0xffff, 0);
	svm_seg_set(&s->fs, 0, SVM_ATTR_DATA16, 0xffff, 0);
	svm_seg_set(&s->gs, 0, SVM_ATTR_DATA16, 0xffff, 0);
	svm_seg_set(&s->gdtr, 0, 0, 0xffff, 0);
	svm_seg_set(&s->idtr, 0, 0, 0xffff, 0);
	svm_seg_set(&s->ldtr, 0, SVM_ATTR_LDT, 0xffff, 0);
	svm_seg_set(&s->tr, 0, SVM_ATTR_TSS_BUSY, 0xffff, 0);
	s->efer = EFER_SVME;
	s->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	s->cr4 = khyp_cr4_forced();
	to_svm(vcpu)->cr4 = 0;
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->rflags = X86_EFLAGS_FIXED;
	s->rip = 0xfff0;
	s->g_pat = 0x0007040600070406ULL;

	vcpu->regs.rip = 0xfff0;
	vcpu->regs.rflags = X86_EFLAGS_FIXED;
	vcpu->regs.gpr[KHYP_RDX] = cpuid_eax(1);	/* family/model */
}

int svm_vcpu_create(struct khyp_vcpu *vcpu)
{
	struct svm_vcpu *sv;
	struct page *page;

	sv = kzalloc(sizeof(*sv), GFP_KERNEL_ACCOUNT);
	if (!sv)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT);
	if (!page) {
		kfree(sv);
		return -ENOMEM;
	}
	sv->vmcb = page_address(page);
	sv->vmcb_pa = page_to_phys(page);
	sv->asid_cpu = -1;
	vcpu->priv = sv;
	svm_vmcb_reset(vcpu, sv->vmcb);
	return 0;
}

void svm_vcpu_destroy(struct khyp_vcpu *vcpu)
{
	struct svm_vcpu *sv = to_svm(vcpu);

	free_page((unsigned long)sv->vmcb);
	kfree(sv);
	vcpu->priv = NULL;
}
