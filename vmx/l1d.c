// SPDX-License-Identifier: GPL-2.0
/*
 * L1 Terminal Fault (L1TF, CVE-2018-3646): flush the L1 data cache before
 * every VM entry on CPUs the host kernel reports affected.
 *
 * On an affected Intel CPU a guest can read, speculatively, any data of
 * the host that is in the L1D cache, through a guest page-table entry
 * marked not present.  EPT does not stop it: the lookup goes by host
 * physical address.  The defence is an empty L1D when the guest starts:
 * the L1D_FLUSH command of IA32_FLUSH_CMD where the microcode has it, or
 * else reading 64 KiB of our own (the cache is 32 KiB; the replacement
 * policy is not exactly LRU, hence twice its size) so that every line
 * holds harmless data.
 *
 * Like KVM by default, khyp flushes only when the host may have brought
 * data that is not the guest's into L1D since the last entry ("cond"
 * mode): the vCPU was loaded (KHYP_RUN after userspace ran, or the thread
 * scheduled back in), an exit was handled by code that allocates, frees
 * or walks memory (khyp_vcpu_host_touched(), core/vcpu.h), or a host
 * interrupt ran on this CPU, with the softirqs it ran on its way out
 * (the host's interrupt entry sets irq_stat.kvm_cpu_l1tf_flush_l1d,
 * which KVM and khyp read and clear).
 * The exits handled in a few hundred instructions on the vCPU's own state
 * (CPUID, MSRs, control registers, interrupt windows, HLT with an event
 * waiting, an EOI store known from its APIC-access exit alone) enter
 * again without a flush.  l1d_flush_always=Y flushes
 * before every entry (KVM's "always"), and so does a host built without
 * CONFIG_KVM_INTEL, which keeps no interrupt flag.
 *
 * It follows the host's own decision: no flush when the CPU is
 * not affected, when the host was booted with l1tf=off, or when the CPU
 * says a VM entry flushes by itself (ARCH_CAPABILITIES.SKIP_L1DFL_VMENTRY,
 * set for nested hypervisors).  It tells the host what it does through
 * l1tf_vmx_mitigation, which /sys/devices/system/cpu/vulnerabilities/l1tf
 * reports.  SMT is the host's business (l1tf=flush,nosmt).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/string.h>
#include <linux/moduleparam.h>
#include <asm/cpufeature.h>
#include <asm/hardirq.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/vmx.h>

#include "../core/khyp.h"
#include "../core/vcpu.h"
#include "vmx.h"

#define VMX_L1D_FLUSH_ORDER	4	/* 64 KiB */

enum vmx_l1d_mode vmx_l1d_mode;
static bool vmx_l1d_cond;

static bool l1d_flush_always;
module_param(l1d_flush_always, bool, 0444);
MODULE_PARM_DESC(l1d_flush_always,
		 "L1TF: flush L1D before every VM entry, not only after exits that touched host data: Y or N (default N)");
static struct page *vmx_l1d_pages;
/* What sysfs reported before khyp loaded, and what khyp made it say. */
static enum vmx_l1d_flush_state vmx_l1d_host_state, vmx_l1d_our_state;

static bool vmx_l1d_entry_flushes(void)
{
	u64 cap = 0;

	if (!boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES))
		return false;
	rdmsrl_safe(MSR_IA32_ARCH_CAPABILITIES, &cap);
	return cap & ARCH_CAP_SKIP_VMENTRY_L1DFLUSH;
}

static void vmx_l1d_report(enum vmx_l1d_flush_state state)
{
	vmx_l1d_host_state = l1tf_vmx_mitigation;
	vmx_l1d_our_state = state;
	l1tf_vmx_mitigation = state;
}

int vmx_l1d_setup(void)
{
	unsigned int i;

	vmx_l1d_mode = VMX_L1D_NONE;
	if (!boot_cpu_has_bug(X86_BUG_L1TF) || vmx_l1d_entry_flushes()) {
		vmx_l1d_report(VMENTER_L1D_FLUSH_NOT_REQUIRED);
		return 0;
	}
	if (l1tf_mitigation == L1TF_MITIGATION_OFF) {
		vmx_l1d_report(VMENTER_L1D_FLUSH_NEVER);
		pr_info("L1TF: the host says l1tf=off: no L1D flush before VM entry\n");
		return 0;
	}
	if (boot_cpu_has(X86_FEATURE_FLUSH_L1D)) {
		vmx_l1d_mode = VMX_L1D_MSR;
	} else {
		vmx_l1d_pages = alloc_pages(GFP_KERNEL, VMX_L1D_FLUSH_ORDER);
		if (!vmx_l1d_pages)
			return -ENOMEM;
		/*
		 * A different byte in each page: pages of one content could
		 * be merged into one by a hypervisor under us (KSM), and the
		 * flush would then read 4 KiB, not 64.
		 */
		for (i = 0; i < 1U << VMX_L1D_FLUSH_ORDER; i++)
			memset(page_address(vmx_l1d_pages + i), i + 1, PAGE_SIZE);
		vmx_l1d_mode = VMX_L1D_SOFTWARE;
	}
	vmx_l1d_cond = !l1d_flush_always && IS_ENABLED(CONFIG_KVM_INTEL);
	vmx_l1d_report(vmx_l1d_cond ? VMENTER_L1D_FLUSH_COND :
				      VMENTER_L1D_FLUSH_ALWAYS);
	pr_info("L1TF: L1D flush before %s (%s)\n",
		vmx_l1d_cond ? "VM entries that follow host activity" :
			       "every VM entry",
		vmx_l1d_mode == VMX_L1D_MSR ? "IA32_FLUSH_CMD" : "software");
	return 0;
}

void vmx_l1d_teardown(void)
{
	if (vmx_l1d_pages)
		__free_pages(vmx_l1d_pages, VMX_L1D_FLUSH_ORDER);
	vmx_l1d_pages = NULL;
	vmx_l1d_mode = VMX_L1D_NONE;
	/* Unless kvm_intel loaded meanwhile and said otherwise. */
	if (l1tf_vmx_mitigation == vmx_l1d_our_state)
		l1tf_vmx_mitigation = vmx_l1d_host_state;
}

/*
 * The software flush: touch each page first so that TLB misses do not
 * stop the loads early, then read every cache line.
 */
static void vmx_l1d_flush_software(void)
{
	const u8 *buf = page_address(vmx_l1d_pages);
	unsigned long size = PAGE_SIZE << VMX_L1D_FLUSH_ORDER, i;

	for (i = 0; i < size; i += PAGE_SIZE)
		(void)READ_ONCE(buf[i]);
	for (i = 0; i < size; i += L1_CACHE_BYTES)
		(void)READ_ONCE(buf[i]);
}

/* A host interrupt (and its softirqs) ran on this CPU since the last entry. */
static bool vmx_l1d_host_irq(void)
{
#if IS_ENABLED(CONFIG_KVM_INTEL)
	bool irq = kvm_get_cpu_l1tf_flush_l1d();

	kvm_clear_cpu_l1tf_flush_l1d();
	return irq;
#else
	return true;
#endif
}

/* Right before the entry, interrupts off; vmx_l1d_mode is not NONE. */
void vmx_l1d_flush_if_needed(struct khyp_vcpu *vcpu)
{
	if (vmx_l1d_cond) {
		bool flush = vcpu->flush_l1d;

		vcpu->flush_l1d = false;
		/* Read and clear both, whatever the first said. */
		if (!(vmx_l1d_host_irq() || flush))
			return;
	}
	vcpu->l1d_flushes++;
	if (vmx_l1d_mode == VMX_L1D_MSR)
		native_wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
	else
		vmx_l1d_flush_software();
}
