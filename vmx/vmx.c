// SPDX-License-Identifier: GPL-2.0
/*
 * The VMX backend (Intel VT-x with EPT): probing the CPU and VMX operation.
 *
 * vmx_probe() reads the VMX capability MSRs once and decides whether khyp
 * can run here: VMX enabled by the firmware, a VMCS that fits a page in
 * write-back memory, EPT with 4-level write-back tables.  Everything else
 * (VPID, unrestricted guest, 2M/1G pages, ...) is optional and reported in
 * struct khyp_caps.  It also settles, once, the controls every VMCS gets
 * (struct vmx_config); a CPU that loads the module but lacks something
 * vCPUs need (unrestricted guest, INVEPT, ...) says so once, and vCPU
 * creation then fails with -EOPNOTSUPP.
 *
 * vmx_cpu_enable() enters VMX root operation (VMXON) on one CPU;
 * vmx_cpu_disable() VMCLEARs the VMCSs still active there and leaves it.
 * The ops table at the end names the rest of the backend (vmx.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": vmx: " fmt

#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <asm/asm.h>
#include <asm/cpufeature.h>
#include <asm/io.h>
#include <asm/mtrr.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "../core/compat.h"
#include "../core/khyp.h"
#include "../mmu/pgtable.h"
#include "vmx.h"

struct vmx_config vmx_cfg;

/* The allowed-1 settings of a VMX control capability MSR. */
static u32 vmx_allowed1(u32 msr)
{
	u64 val;

	rdmsrl(msr, val);
	return val >> 32;
}

/**
 * vmx_adjust() - the controls khyp sets in one VMX control field
 * @msr:	its capability MSR (bits 31:0 must be 1, bits 63:32 may be 1)
 * @want:	controls khyp needs
 * @optional:	controls khyp uses when offered
 * @forbid:	controls khyp cannot work with, should the CPU force them
 * @ctl:	receives the value to write
 *
 * Returns false if a wanted control is not offered or a forbidden one is
 * forced; @ctl is then what could be had.
 */
static bool vmx_adjust(u32 msr, u32 want, u32 optional, u32 forbid, u32 *ctl)
{
	u64 val;
	u32 must1, may1;

	rdmsrl(msr, val);
	must1 = val;
	may1 = val >> 32;
	*ctl = (must1 | want | (optional & may1)) & may1;
	return !(want & ~may1) && !(must1 & forbid);
}

/*
 * The controls of every VMCS (see vmx/run.c for what each exit becomes):
 * external interrupts and NMIs exit (interrupts are left pending for the
 * host, not acknowledged); HLT, MWAIT, MONITOR, RDPMC, MOV DR, CR8
 * accesses, WBINVD and all port I/O exit, and spin loops on PAUSE where the
 * CPU has pause-loop exiting (vmcs.c); RDMSR/WRMSR always exit (no MSR
 * bitmap); RDTSC runs natively with an offset; EPT, unrestricted guest,
 * VPID.  RDTSCP and RDPID stay disabled (#UD): they would read the
 * host's TSC_AUX, the host CPU's number.  EFER, PAT and DR7/DEBUGCTL are
 * switched by the VMCS.
 */
static void vmx_setup_config(u64 basic, u64 ept_vpid)
{
	bool true_ctls = basic & VMX_BASIC_TRUE_CTLS;
	u64 misc, fixed0;
	u32 unused;

	vmx_cfg.revision = vmx_basic_vmcs_revision_id(basic);

	if (!vmx_adjust(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
				    MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING,
			PIN_BASED_VIRTUAL_NMIS,
			PIN_BASED_POSTED_INTR | PIN_BASED_VMX_PREEMPTION_TIMER,
			&vmx_cfg.pin))
		vmx_cfg.missing = "pin-based controls";
	if (!vmx_adjust(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
				    MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_HLT_EXITING | CPU_BASED_USE_TSC_OFFSETTING |
			CPU_BASED_MWAIT_EXITING | CPU_BASED_MONITOR_EXITING |
			CPU_BASED_RDPMC_EXITING | CPU_BASED_CR8_LOAD_EXITING |
			CPU_BASED_CR8_STORE_EXITING | CPU_BASED_MOV_DR_EXITING |
			CPU_BASED_UNCOND_IO_EXITING |
			CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, 0,
			CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
			CPU_BASED_INVLPG_EXITING | CPU_BASED_RDTSC_EXITING |
			CPU_BASED_TPR_SHADOW | CPU_BASED_USE_IO_BITMAPS |
			CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_INTR_WINDOW_EXITING |
			CPU_BASED_NMI_WINDOW_EXITING |
			CPU_BASED_MONITOR_TRAP_FLAG | CPU_BASED_PAUSE_EXITING |
			CPU_BASED_ACTIVATE_TERTIARY_CONTROLS,
			&vmx_cfg.proc))
		vmx_cfg.missing = "processor-based controls";
	/* Turned on and off at run time: they must be allowed. */
	if (!vmx_adjust(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
				    MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_INTR_WINDOW_EXITING, 0, 0, &unused))
		vmx_cfg.missing = "interrupt-window exiting";
	if (!vmx_adjust(MSR_IA32_VMX_PROCBASED_CTLS2,
			SECONDARY_EXEC_ENABLE_EPT |
			SECONDARY_EXEC_UNRESTRICTED_GUEST, 0, 0,
			&vmx_cfg.proc2))
		vmx_cfg.missing = "unrestricted guest";
	if (!vmx_adjust(MSR_IA32_VMX_PROCBASED_CTLS2,
			SECONDARY_EXEC_WBINVD_EXITING, 0, 0, &unused))
		vmx_cfg.missing = "WBINVD exiting";
	vmx_cfg.proc2 |= SECONDARY_EXEC_WBINVD_EXITING;
	if (!vmx_adjust(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
				    MSR_IA32_VMX_EXIT_CTLS,
			VM_EXIT_HOST_ADDR_SPACE_SIZE |
			VM_EXIT_SAVE_DEBUG_CONTROLS |
			VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |
			VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER, 0,
			VM_EXIT_ACK_INTR_ON_EXIT, &vmx_cfg.exit))
		vmx_cfg.missing = "VM-exit controls (EFER, PAT)";
	if (!vmx_adjust(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
				    MSR_IA32_VMX_ENTRY_CTLS,
			VM_ENTRY_LOAD_DEBUG_CONTROLS |
			VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER, 0,
			VM_ENTRY_SMM | VM_ENTRY_DEACT_DUAL_MONITOR |
			VM_ENTRY_IA32E_MODE, &vmx_cfg.entry))
		vmx_cfg.missing = "VM-entry controls (EFER, PAT)";
	if (!vmx_adjust(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
				    MSR_IA32_VMX_ENTRY_CTLS,
			VM_ENTRY_IA32E_MODE, 0, 0, &unused))
		vmx_cfg.missing = "IA-32e mode guests";

	/* Exits store EFER.LMA in the entry controls: the guest may switch. */
	rdmsrl(MSR_IA32_VMX_MISC, misc);
	vmx_cfg.timer_rate = -1;
	if (vmx_allowed1(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
				     MSR_IA32_VMX_PINBASED_CTLS) &
	    PIN_BASED_VMX_PREEMPTION_TIMER)
		vmx_cfg.timer_rate = vmx_misc_preemption_timer_rate(misc);
	if (!(misc & VMX_MISC_SAVE_EFER_LMA))
		vmx_cfg.missing = "EFER.LMA saved on VM exit";
	if (!(ept_vpid & VMX_EPT_INVEPT_BIT) ||
	    !(ept_vpid & (VMX_EPT_EXTENT_CONTEXT_BIT |
			  VMX_EPT_EXTENT_GLOBAL_BIT)))
		vmx_cfg.missing = "INVEPT";
	vmx_cfg.invept_single = ept_vpid & VMX_EPT_EXTENT_CONTEXT_BIT;

	vmx_cfg.vnmi = (vmx_cfg.pin & PIN_BASED_VIRTUAL_NMIS) &&
		vmx_adjust(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
				       MSR_IA32_VMX_PROCBASED_CTLS,
			   CPU_BASED_NMI_WINDOW_EXITING, 0, 0, &unused);
	if (!vmx_cfg.vnmi)
		vmx_cfg.pin &= ~PIN_BASED_VIRTUAL_NMIS;
	vmx_cfg.apic_access = vmx_allowed1(MSR_IA32_VMX_PROCBASED_CTLS2) &
			      SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES;
	vmx_cfg.vpid = (vmx_allowed1(MSR_IA32_VMX_PROCBASED_CTLS2) &
			SECONDARY_EXEC_ENABLE_VPID) &&
		       ((ept_vpid >> 32) & VMX_VPID_INVVPID_BIT);
	if (vmx_cfg.vpid)
		vmx_cfg.proc2 |= SECONDARY_EXEC_ENABLE_VPID;

	/* Unrestricted guest: CR0.PE and CR0.PG may be 0. */
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, fixed0);
	vmx_cfg.cr0_fixed1_bits = fixed0 & ~(u64)(X86_CR0_PE | X86_CR0_PG);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, fixed0);
	vmx_cfg.cr4_fixed1_bits = fixed0;

	if (vmx_cfg.missing)
		pr_warn("this CPU lacks %s: khyp loads, but cannot create vCPUs\n",
			vmx_cfg.missing);
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
	/*
	 * iTLB multihit (CVE-2018-12207): on the CPUs the kernel marks, a
	 * guest that changes the page size of code it executes (which an
	 * executable 2 MiB EPT leaf lets it do) can cause a machine check
	 * that takes the host down.  2 MiB leaves are then not executable,
	 * and split where the guest runs code (mmu/pgtable.c).
	 */
	if (ept_vpid & VMX_EPT_2MB_PAGE_BIT) {
		caps->features |= KHYP_CAP_2M_PAGES;
		if (boot_cpu_has_bug(X86_BUG_ITLB_MULTIHIT))
			pr_info("iTLB multihit: 2 MiB mappings are not executable; split to 4 KiB where the guest runs code\n");
	}
	if (ept_vpid & VMX_EPT_1GB_PAGE_BIT)
		caps->features |= KHYP_CAP_1G_PAGES;
	if (ept_vpid & VMX_EPT_AD_BIT)
		caps->features |= KHYP_CAP_EPT_AD;
	if (pin & PIN_BASED_VMX_PREEMPTION_TIMER)
		caps->features |= KHYP_CAP_PREEMPTION_TIMER;
	/* Pause-loop exiting: core/spin.c, the VMCS fields in vmcs.c. */
	if ((proc2 & SECONDARY_EXEC_PAUSE_LOOP_EXITING) && khyp_pause_exit)
		caps->features |= KHYP_CAP_PAUSE_EXIT;
	vmx_setup_config(basic, ept_vpid);
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
	asm goto(VMX_INSN_GOTO("vmxon %[pa]")
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
	vmx_cpu_init_loaded();
	*(u32 *)page_address(vmxon_region) = vmx_cfg.revision;
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
	/* VMXOFF leaves active VMCSs undefined: write them back first. */
	vmx_clear_loaded_vmcss();

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

/*
 * A VMX instruction that cannot fail did: a khyp bug, or VMX turned off
 * under a running vCPU (emergency reboot).  The VM-instruction error says
 * which check failed.
 */
void vmx_insn_failed(const char *insn, unsigned long arg, bool fault)
{
	unsigned long err = 0;

	if (!fault)
		asm volatile("1: vmread %[field], %[err]\n"
			     "2:\n\t"
			     _ASM_EXTABLE(1b, 2b)
			     : [err] "+r" (err)
			     : [field] "r" ((unsigned long)VM_INSTRUCTION_ERROR)
			     : "cc");
	/* VMX turned off by a reboot or crash (core/hw.c): expected. */
	WARN_ONCE(!fault || !READ_ONCE(khyp_hw_going_away),
		  "khyp: %s %#lx %s (VM-instruction error %lu)\n", insn,
		  arg, fault ? "faulted" : "failed", err);
}

/*
 * The APIC-access page (SDM 29.4): with "virtualize APIC accesses" on,
 * every guest access to the page at this host-physical address exits
 * (without the TPR shadow, none is virtualized), with the register's
 * offset and the kind of access in the qualification, and, for a store,
 * the instruction's length.  The core maps it at the xAPIC page of a VM
 * with an irqchip (core/run.c) and uses that to take EOI stores without
 * decoding them.  Its content is never used: one zeroed page for all VMs.
 */
static bool apic_access = true;
module_param(apic_access, bool, 0444);
MODULE_PARM_DESC(apic_access,
		 "VMX: take the local APIC's page accesses as APIC-access exits where the CPU can (bool: Y or N; default Y)");
struct page *vmx_apic_access_page;

static phys_addr_t vmx_apic_access_pa(void)
{
	return vmx_apic_access_page ? page_to_phys(vmx_apic_access_page) : 0;
}

static int vmx_setup(void)
{
	int r;

	if (vmx_cfg.apic_access && apic_access) {
		vmx_apic_access_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!vmx_apic_access_page)
			return -ENOMEM;
	}
	r = vmx_l1d_setup();
	if (r && vmx_apic_access_page) {
		__free_page(vmx_apic_access_page);
		vmx_apic_access_page = NULL;
	}
	return r;
}

static void vmx_teardown(void)
{
	vmx_l1d_teardown();
	if (vmx_apic_access_page)
		__free_page(vmx_apic_access_page);
	vmx_apic_access_page = NULL;
}

const struct khyp_backend_ops khyp_vmx_ops = {
	.name		= "vmx",
	.cpu_area_order	= 0,
	.pt_format	= &khyp_pt_ept,
	.probe		= vmx_probe,
	.cpu_enable	= vmx_cpu_enable,
	.cpu_disable	= vmx_cpu_disable,
	.setup		= vmx_setup,
	.teardown	= vmx_teardown,
	.vcpu_create	= vmx_vcpu_create,
	.vcpu_destroy	= vmx_vcpu_destroy,
	.vcpu_load	= vmx_vcpu_load,
	.vcpu_put	= vmx_vcpu_put,
	.get_sregs	= vmx_get_sregs,
	.set_sregs	= vmx_set_sregs,
	.get_msr	= vmx_get_msr,
	.set_msr	= vmx_set_msr,
	.get_paging	= vmx_get_paging,
	.get_cr		= vmx_get_cr,
	.set_cr		= vmx_set_cr,
	.apic_access_pa	= vmx_apic_access_pa,
	.run		= vmx_run,
};
