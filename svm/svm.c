// SPDX-License-Identifier: GPL-2.0
/*
 * The SVM backend (AMD-V with NPT): probing the CPU, turning SVM on, and
 * the ops table; the VMCB and the vCPU's life are in vmcb.c, guest state
 * in state.c, a guest run in run.c and entry.S (see svm.h).
 *
 * svm_probe() reads CPUID 0x8000000A once and decides whether khyp can run
 * here: SVM not disabled by the firmware (VM_CR.SVMDIS), nested paging
 * present.  Everything else (NRIP save, decode assists, flush-by-ASID, VMCB
 * clean bits, 1G pages, the pause filter) is optional and reported in
 * struct khyp_caps.
 * svm_cpu_enable() sets EFER.SVME on one CPU and gives it a host save area;
 * svm_cpu_disable() undoes both.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": svm: " fmt

#include <linux/mm.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/svm.h>

#include "../core/vcpu.h"
#include "../mmu/pgtable.h"
#include "svm.h"

#define SVM_CPUID_LEAF		0x8000000a

static int svm_probe(struct khyp_caps *caps)
{
	u32 max_ext = cpuid_eax(0x80000000);
	u32 svm_edx;
	u64 vm_cr;

	if (max_ext < 0x80000001 ||
	    !(cpuid_ecx(0x80000001) & khyp_cpuid_bit(X86_FEATURE_SVM)))
		return -ENOENT;

	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & SVM_VM_CR_SVM_DIS_MASK) {
		pr_err("SVM is disabled by the firmware (VM_CR.SVMDIS)\n");
		return -ENODEV;
	}

	svm_edx = max_ext >= SVM_CPUID_LEAF ? cpuid_edx(SVM_CPUID_LEAF) : 0;
	if (!(svm_edx & khyp_cpuid_bit(X86_FEATURE_NPT))) {
		pr_err("this CPU has SVM but no NPT (nested page tables), which khyp needs\n");
		return -ENODEV;
	}

	memset(caps, 0, sizeof(*caps));
	caps->backend = KHYP_BACKEND_SVM;
	caps->features = KHYP_CAP_NPT | KHYP_CAP_2M_PAGES;
	caps->nr_asids = cpuid_ebx(SVM_CPUID_LEAF);
	if (cpuid_edx(0x80000001) & khyp_cpuid_bit(X86_FEATURE_GBPAGES))
		caps->features |= KHYP_CAP_1G_PAGES;
	if (svm_edx & khyp_cpuid_bit(X86_FEATURE_NRIPS))
		caps->features |= KHYP_CAP_NRIP_SAVE;
	if (svm_edx & khyp_cpuid_bit(X86_FEATURE_DECODEASSISTS))
		caps->features |= KHYP_CAP_DECODE_ASSISTS;
	if (svm_edx & khyp_cpuid_bit(X86_FEATURE_FLUSHBYASID))
		caps->features |= KHYP_CAP_FLUSH_BY_ASID;
	if (svm_edx & khyp_cpuid_bit(X86_FEATURE_VMCBCLEAN))
		caps->features |= KHYP_CAP_VMCB_CLEAN;
	/* The pause filter: core/spin.c, the VMCB fields in vmcb.c. */
	if ((svm_edx & khyp_cpuid_bit(X86_FEATURE_PAUSEFILTER)) &&
	    khyp_pause_exit) {
		caps->features |= KHYP_CAP_PAUSE_EXIT;
		svm_pause_thresh = svm_edx &
				   khyp_cpuid_bit(X86_FEATURE_PFTHRESHOLD);
	}
	return 0;
}

static int svm_cpu_enable(struct page *hsave_area)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;

	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(hsave_area));
	return 0;
}

static void svm_cpu_disable(void)
{
	u64 efer;

	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
}

/* Page 0 of the per-CPU area: host save area; page 1: host VMSAVE area. */
const struct khyp_backend_ops khyp_svm_ops = {
	.name		= "svm",
	.cpu_area_order	= 1,
	.pt_format	= &khyp_pt_npt,
	.probe		= svm_probe,
	.cpu_enable	= svm_cpu_enable,
	.cpu_disable	= svm_cpu_disable,
	.setup		= svm_vmcb_setup,
	.teardown	= svm_vmcb_teardown,
	.vcpu_create	= svm_vcpu_create,
	.vcpu_destroy	= svm_vcpu_destroy,
	.vcpu_load	= svm_vcpu_load,
	.vcpu_put	= svm_vcpu_put,
	.get_sregs	= svm_get_sregs,
	.set_sregs	= svm_set_sregs,
	.get_msr	= svm_get_msr,
	.set_msr	= svm_set_msr,
	.get_paging	= svm_get_paging,
	.nmi_held	= svm_nmi_held,
	.get_cr		= svm_get_cr,
	.set_cr		= svm_set_cr,
	.load_tr	= svm_load_tr,
	.run		= svm_run,
};
