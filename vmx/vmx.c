// SPDX-License-Identifier: GPL-2.0
/*
 * The VMX backend (Intel VT-x with EPT): probing the CPU and VMX operation.
 *
 * vmx_probe() reads the VMX capability MSRs once and decides whether khyp
 * can run here: VMX enabled by the firmware, a VMCS that fits a page in
 * write-back memory, EPT with 4-level write-back tables.  Everything else
 * (VPID, unrestricted guest, 2M/1G pages, ...) is optional and reported in
 * struct khyp_caps.  vmx_cpu_enable() enters VMX root operation (VMXON) on
 * one CPU; vmx_cpu_disable() leaves it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": vmx: " fmt

#include <linux/mm.h>
#include <asm/asm.h>
#include <asm/io.h>
#include <asm/mtrr.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "../core/compat.h"
#include "../core/khyp.h"

/* (o) from IA32_VMX_BASIC, written at the start of VMXON region and VMCS. */
static u32 vmx_vmcs_revision;

/* The allowed-1 settings of a VMX control capability MSR. */
static u32 vmx_allowed1(u32 msr)
{
	u64 val;

	rdmsrl(msr, val);
	return val >> 32;
}

static int vmx_probe(struct khyp_caps *caps)
{
	u64 feat_ctl = 0, basic, ept_vpid;
	u32 proc, proc2 = 0, pin;
	bool true_ctls;

	if (!(cpuid_ecx(1) & khyp_cpuid_bit(X86_FEATURE_VMX)))
		return -ENOENT;

	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat_ctl) ||
	    !(feat_ctl & FEAT_CTL_LOCKED) ||
	    !(feat_ctl & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("VMX is disabled by the firmware (IA32_FEATURE_CONTROL %#llx)\n",
		       feat_ctl);
		return -ENODEV;
	}

	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	if (vmx_basic_vmcs_size(basic) > PAGE_SIZE ||
	    vmx_basic_vmcs_mem_type(basic) != MTRR_TYPE_WRBACK) {
		pr_err("unsupported VMCS size or memory type (IA32_VMX_BASIC %#llx)\n",
		       basic);
		return -ENODEV;
	}
	vmx_vmcs_revision = vmx_basic_vmcs_revision_id(basic);
	true_ctls = basic & VMX_BASIC_TRUE_CTLS;

	pin = vmx_allowed1(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
				       MSR_IA32_VMX_PINBASED_CTLS);
	proc = vmx_allowed1(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
					MSR_IA32_VMX_PROCBASED_CTLS);
	if (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
		proc2 = vmx_allowed1(MSR_IA32_VMX_PROCBASED_CTLS2);

	if (!(proc2 & SECONDARY_EXEC_ENABLE_EPT)) {
		pr_err("this CPU has VMX but no EPT (extended page tables), which khyp needs\n");
		return -ENODEV;
	}
	rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, ept_vpid);
	if (!(ept_vpid & VMX_EPT_PAGE_WALK_4_BIT) ||
	    !(ept_vpid & VMX_EPTP_WB_BIT)) {
		pr_err("EPT lacks 4-level write-back page tables (IA32_VMX_EPT_VPID_CAP %#llx)\n",
		       ept_vpid);
		return -ENODEV;
	}

	memset(caps, 0, sizeof(*caps));
	caps->backend = KHYP_BACKEND_VMX;
	caps->features = KHYP_CAP_EPT;
	if ((proc2 & SECONDARY_EXEC_ENABLE_VPID) &&
	    ((ept_vpid >> 32) & VMX_VPID_INVVPID_BIT)) {
		caps->features |= KHYP_CAP_VPID;
		caps->nr_asids = 1U << 16;	/* 16-bit VPIDs, 0 is the host's */
	}
	if (proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST)
		caps->features |= KHYP_CAP_UNRESTRICTED_GUEST;
	if (ept_vpid & VMX_EPT_2MB_PAGE_BIT)
		caps->features |= KHYP_CAP_2M_PAGES;
	if (ept_vpid & VMX_EPT_1GB_PAGE_BIT)
		caps->features |= KHYP_CAP_1G_PAGES;
	if (ept_vpid & VMX_EPT_AD_BIT)
		caps->features |= KHYP_CAP_EPT_AD;
	if (pin & PIN_BASED_VMX_PREEMPTION_TIMER)
		caps->features |= KHYP_CAP_PREEMPTION_TIMER;
	return 0;
}

/* CR0 and CR4 must respect the fixed bits while in VMX operation. */
static bool vmx_cr_ok(unsigned long cr, u32 fixed0_msr, u32 fixed1_msr)
{
	u64 fixed0, fixed1;

	rdmsrl(fixed0_msr, fixed0);
	rdmsrl(fixed1_msr, fixed1);
	return (cr & fixed0) == fixed0 && !(cr & ~fixed1);
}

static int vmx_vmxon(u64 pa)
{
	/* A fault on VMXON resumes at 2:, which goes on to "fault". */
	asm goto("1: vmxon %[pa]\n\t"
		 "jna %l[fail]\n\t"
		 "jmp 3f\n"
		 "2: jmp %l[fault]\n"
		 "3:\n\t"
		 _ASM_EXTABLE(1b, 2b)
		 : : [pa] "m" (pa) : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

static int vmx_cpu_enable(struct page *vmxon_region)
{
	int r;

	if (cr4_read_shadow() & X86_CR4_VMXE)
		return -EBUSY;
	if (!vmx_cr_ok(read_cr0(), MSR_IA32_VMX_CR0_FIXED0,
		       MSR_IA32_VMX_CR0_FIXED1))
		return -EIO;

	cr4_set_bits(X86_CR4_VMXE);
	if (!vmx_cr_ok(__read_cr4(), MSR_IA32_VMX_CR4_FIXED0,
		       MSR_IA32_VMX_CR4_FIXED1)) {
		r = -EIO;
		goto clear_vmxe;
	}
	*(u32 *)page_address(vmxon_region) = vmx_vmcs_revision;
	r = vmx_vmxon(page_to_phys(vmxon_region));
	if (r)
		goto clear_vmxe;
	return 0;

clear_vmxe:
	cr4_clear_bits(X86_CR4_VMXE);
	return r;
}

static void vmx_cpu_disable(void)
{
	/* A fault (not in VMX operation after all) is ignored. */
	asm goto("1: vmxoff\n\t"
		 "jmp 3f\n"
		 "2: jmp %l[fault]\n"
		 "3:\n\t"
		 _ASM_EXTABLE(1b, 2b)
		 : : : "cc", "memory" : fault);
fault:
	cr4_clear_bits(X86_CR4_VMXE);
}

const struct khyp_backend_ops khyp_vmx_ops = {
	.name		= "vmx",
	.probe		= vmx_probe,
	.cpu_enable	= vmx_cpu_enable,
	.cpu_disable	= vmx_cpu_disable,
};
