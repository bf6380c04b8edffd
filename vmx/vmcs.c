// SPDX-License-Identifier: GPL-2.0
/*
 * The VMCS of a vCPU: allocation, which CPU holds it, and its contents at
 * creation (controls, host state, the x86 reset state).
 *
 * A VMCS is "active" on at most one CPU at a time: that CPU may cache it,
 * so before another CPU loads it (VMPTRLD), the first must write it back
 * (VMCLEAR).  Each CPU keeps a list of the VMCSs active on it and which
 * one is current; vmx_vmcs_load() moves a VMCS to the calling CPU, asking
 * the old CPU by IPI to VMCLEAR it, and refreshes the host-state fields
 * that differ between CPUs (TSS, GDT, SYSENTER stack).  A CPU that leaves
 * VMX operation VMCLEARs its whole list first (vmx_clear_loaded_vmcss()).
 * The lists and vmx_vcpu.cpu/launched change only with interrupts off on
 * the CPU that holds the VMCS, or before it is on any list.
 *
 * The vCPU's ioctls outside KHYP_RUN (sregs, MSRs) reach the VMCS through
 * vmx_vmcs_begin()/vmx_vmcs_end(), which load it on whatever CPU they run.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": vmx: " fmt

#include <linux/bitmap.h>
#include <linux/cred.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>
#include <asm/cpu_entry_area.h>
#include <asm/desc.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>

#include "../core/khyp.h"
#include "../core/vcpu.h"
#include "../core/vm.h"
#include "vmx.h"

/* PAT and DR7 at power-on. */
#define VMX_RESET_PAT	0x0007040600070406ULL
#define VMX_RESET_DR7	0x400

/* The VMCS the CPU works on (VMPTRLD), and all those active on it. */
static DEFINE_PER_CPU(struct vmx_vcpu *, vmx_current);
static DEFINE_PER_CPU(struct list_head, vmx_loaded);

/*
 * VPIDs in use (0 is the host's), and how many each user holds.  There are
 * only 65535 and every vCPU wants one: without a bound, one user could take
 * them all and leave everyone else's vCPUs untagged (a TLB flush on every
 * entry).  A vCPU beyond its user's share runs without a VPID, as it does
 * when none is left.  Both under vmx_vpid_lock (vCPU creation and
 * destruction, which may sleep).
 */
static DEFINE_MUTEX(vmx_vpid_lock);
static DECLARE_BITMAP(vmx_vpids, VMX_NR_VPIDS);
static DEFINE_XARRAY(vmx_vpid_users);	/* uid -> xa_mk_value(count) */

static unsigned int vpids_per_user = 4096;
module_param(vpids_per_user, uint, 0644);
MODULE_PARM_DESC(vpids_per_user,
		 "VMX: VPIDs one user's vCPUs may hold, 0-65535 (default 4096; beyond it vCPUs run untagged)");

/*
 * Pause-loop exiting (core/spin.c), with KHYP_CAP_PAUSE_EXIT: a guest at
 * CPL 0 exits once its PAUSEs, each less than ple_gap TSC cycles after
 * the one before, have gone on for more than ple_window cycles.  Read
 * when a vCPU is created.  128 cycles covers the loops of Linux's
 * spinlocks and cross-CPU calls; 4096 lets a short wait end in the
 * guest (KVM's defaults, which it grows and shrinks per vCPU: khyp
 * keeps them fixed).  Read once per vCPU; the VMCS fields are 32 bits
 * wide, as the parameters are.
 */
static unsigned int ple_gap = 128;
module_param(ple_gap, uint, 0644);
MODULE_PARM_DESC(ple_gap,
		 "VMX: PAUSEs less than this many TSC cycles apart are one spin loop; 0 turns pause-loop exiting off for vCPUs created after (default 128)");
static unsigned int ple_window = 4096;
module_param(ple_window, uint, 0644);
MODULE_PARM_DESC(ple_window,
		 "VMX: a spin loop longer than this many TSC cycles exits (default 4096)");

static int vmx_vmclear(phys_addr_t pa)
{
	asm goto(VMX_INSN_GOTO("vmclear %[pa]")
		 : : [pa] "m" (pa) : "cc", "memory" : fail, fault);
	return 0;
fail:
	vmx_insn_failed("vmclear", pa, false);
	return -EIO;
fault:
	vmx_insn_failed("vmclear", pa, true);
	return -EIO;
}

static int vmx_vmptrld(phys_addr_t pa)
{
	asm goto(VMX_INSN_GOTO("vmptrld %[pa]")
		 : : [pa] "m" (pa) : "cc", "memory" : fail, fault);
	return 0;
fail:
	vmx_insn_failed("vmptrld", pa, false);
	return -EIO;
fault:
	vmx_insn_failed("vmptrld", pa, true);
	return -EIO;
}

static void vmx_invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };

	asm goto(VMX_INSN_GOTO("invept %[desc], %[type]")
		 : : [desc] "m" (desc), [type] "r" (type)
		 : "cc", "memory" : fail, fault);
	return;
fail:
	vmx_insn_failed("invept", type, false);
	return;
fault:
	vmx_insn_failed("invept", type, true);
}

/*
 * Drop the translations this CPU caches for the vCPU's EPT tables (and so
 * for its VPID, whose mappings are all combined with them).
 */
void vmx_flush_ept(struct vmx_vcpu *vv)
{
	if (vmx_cfg.invept_single)
		vmx_invept(VMX_EPT_EXTENT_CONTEXT, vmcs_read(EPT_POINTER));
	else
		vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	vv->need_flush = false;
}

/* Called with VMX about to be on, interrupts off. */
void vmx_cpu_init_loaded(void)
{
	INIT_LIST_HEAD(this_cpu_ptr(&vmx_loaded));
	this_cpu_write(vmx_current, NULL);
}

/* Write @vv back on this CPU, which holds it; interrupts off. */
static void vmx_vmcs_clear_here(void *arg)
{
	struct vmx_vcpu *vv = arg;

	/* Cleared already: this CPU went down before the IPI came. */
	if (READ_ONCE(vv->cpu) != raw_smp_processor_id())
		return;
	vmx_vmclear(page_to_phys(vv->vmcs));
	if (__this_cpu_read(vmx_current) == vv)
		__this_cpu_write(vmx_current, NULL);
	list_del(&vv->loaded_link);
	/* Off the list before another CPU sees cpu == -1 and takes it. */
	smp_wmb();
	vv->launched = false;
	WRITE_ONCE(vv->cpu, -1);
}

/* This CPU leaves VMX operation (interrupts off, maybe an NMI). */
void vmx_clear_loaded_vmcss(void)
{
	struct vmx_vcpu *vv, *tmp;

	list_for_each_entry_safe(vv, tmp, this_cpu_ptr(&vmx_loaded),
				 loaded_link)
		vmx_vmcs_clear_here(vv);
	__this_cpu_write(vmx_current, NULL);
}

/* The VMCS is no longer active anywhere. */
static void vmx_vmcs_clear(struct vmx_vcpu *vv)
{
	int cpu = READ_ONCE(vv->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_vmcs_clear_here, vv, 1);
}

/* Host state that differs between CPUs: this CPU's TSS, GDT, stacks. */
static void vmx_set_host_cpu_state(int cpu)
{
	u64 val;

	vmcs_write(HOST_TR_BASE,
		   (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmcs_write(HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	rdmsrl(MSR_IA32_SYSENTER_ESP, val);
	vmcs_write(HOST_IA32_SYSENTER_ESP, val);
}

/**
 * vmx_vmcs_load() - make @vv's VMCS the current one of this CPU
 * @vv:		the vCPU's VMX state
 * @cpu:	this CPU
 *
 * Preemption off.  Interrupts on, unless the VMCS is known to be active
 * here or nowhere (no IPI is needed then).  Returns 0, or -EIO if VMPTRLD
 * failed (VMX is off: the machine is going down).
 */
int vmx_vmcs_load(struct vmx_vcpu *vv, int cpu)
{
	int old = READ_ONCE(vv->cpu);
	unsigned long flags;
	bool moved = old != cpu;
	int r = 0;

	if (moved && old >= 0) {
		WARN_ON_ONCE(irqs_disabled());
		smp_call_function_single(old, vmx_vmcs_clear_here, vv, 1);
	}
	/* See vmx_vmcs_clear_here(): list_del() before cpu = -1. */
	smp_rmb();

	local_irq_save(flags);
	if (moved) {
		WARN_ON_ONCE(READ_ONCE(vv->cpu) >= 0);
		list_add(&vv->loaded_link, this_cpu_ptr(&vmx_loaded));
		WRITE_ONCE(vv->cpu, cpu);
	}
	if (__this_cpu_read(vmx_current) != vv) {
		r = vmx_vmptrld(page_to_phys(vv->vmcs));
		if (!r)
			__this_cpu_write(vmx_current, vv);
	}
	local_irq_restore(flags);

	if (moved && !r) {
		vmx_set_host_cpu_state(cpu);
		/* What this CPU cached for the vCPU before may be stale. */
		vv->need_flush = true;
	}
	return r;
}

/* For the vCPU's ioctls: the VMCS, loaded here; preemption off until end. */
void vmx_vmcs_begin(struct vmx_vcpu *vv)
{
	vmx_vmcs_load(vv, get_cpu());
}

void vmx_vmcs_end(void)
{
	put_cpu();
}

static unsigned long vmx_vpid_user_count(uid_t uid)
{
	void *v = xa_load(&vmx_vpid_users, uid);

	return v ? xa_to_value(v) : 0;
}

/* A VPID for a vCPU of @uid, or 0: none left, or @uid holds its share. */
static u16 vmx_vpid_alloc(uid_t uid)
{
	unsigned long vpid, held;

	if (!vmx_cfg.vpid)
		return 0;
	mutex_lock(&vmx_vpid_lock);
	held = vmx_vpid_user_count(uid);
	if (held >= READ_ONCE(vpids_per_user)) {
		pr_info_ratelimited("uid %u holds %lu VPIDs, its share: a new vCPU runs without one\n",
				    uid, held);
		vpid = 0;
		goto out;
	}
	vpid = find_next_zero_bit(vmx_vpids, VMX_NR_VPIDS, 1);
	if (vpid >= VMX_NR_VPIDS ||
	    xa_err(xa_store(&vmx_vpid_users, uid, xa_mk_value(held + 1),
			    GFP_KERNEL_ACCOUNT))) {
		vpid = 0;	/* all taken: run without one */
		goto out;
	}
	__set_bit(vpid, vmx_vpids);
out:
	mutex_unlock(&vmx_vpid_lock);
	return vpid;
}

static void vmx_vpid_free(u16 vpid, uid_t uid)
{
	unsigned long held;

	if (!vpid)
		return;
	mutex_lock(&vmx_vpid_lock);
	__clear_bit(vpid, vmx_vpids);
	held = vmx_vpid_user_count(uid);
	if (WARN_ON_ONCE(!held))
		goto out;
	if (held == 1)
		xa_erase(&vmx_vpid_users, uid);
	else	/* replacing an existing entry does not allocate */
		xa_store(&vmx_vpid_users, uid, xa_mk_value(held - 1), GFP_KERNEL);
out:
	mutex_unlock(&vmx_vpid_lock);
}

/*
 * CR0 and CR4 as the guest sets them.  The guest reads the bits khyp owns
 * (the guest/host mask) from the read shadow: those that must be 1 in VMX
 * operation, and for CR0 also CD and NW, which stay 0 in the real CR0 so
 * that the guest's memory is not uncached behind EPT's back.  In CR4 khyp
 * owns every bit but those the guest may have (core/cr4.c), and MCE too,
 * which stays set in the real CR4.  A guest write that changes an owned
 * bit exits (vmx/run.c).
 */
static u64 vmx_cr0_owned(void)
{
	return vmx_cfg.cr0_fixed1_bits | X86_CR0_CD | X86_CR0_NW;
}

static u64 vmx_cr4_owned(void)
{
	return ~khyp_cr4_guest_allowed() | vmx_cfg.cr4_fixed1_bits |
	       X86_CR4_MCE;
}

void vmx_set_cr0(u64 cr0)
{
	vmcs_write(CR0_READ_SHADOW, cr0);
	vmcs_write(GUEST_CR0, (cr0 & ~(u64)(X86_CR0_CD | X86_CR0_NW)) |
			      vmx_cfg.cr0_fixed1_bits);
}

void vmx_set_cr4(u64 cr4)
{
	vmcs_write(CR4_READ_SHADOW, cr4);
	vmcs_write(GUEST_CR4, cr4 | vmx_cfg.cr4_fixed1_bits |
			      khyp_cr4_forced());
}

/* Host state that is the same on every CPU, or refreshed at each entry. */
static void vmx_set_host_state(void)
{
	struct desc_ptr idt;
	u64 val;

	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, __read_cr3());
	vmcs_write(HOST_CR4, cr4_read_shadow());
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	store_idt(&idt);
	vmcs_write(HOST_IDTR_BASE, idt.address);
	vmcs_write(HOST_RIP, (unsigned long)vmx_vmexit);
	rdmsrl(MSR_IA32_SYSENTER_CS, val);
	vmcs_write(HOST_IA32_SYSENTER_CS, val);
	rdmsrl(MSR_IA32_SYSENTER_EIP, val);
	vmcs_write(HOST_IA32_SYSENTER_EIP, val);
	rdmsrl(MSR_EFER, val);
	vmcs_write(HOST_IA32_EFER, val);
	rdmsrl(MSR_IA32_CR_PAT, val);
	vmcs_write(HOST_IA32_PAT, val);
}

static void vmx_set_controls(struct vmx_vcpu *vv)
{
	struct khyp_vm *vm = vv->vcpu->vm;
	unsigned int gap = READ_ONCE(ple_gap);
	u32 proc2;

	vv->pin = vmx_cfg.pin;
	vv->proc = vmx_cfg.proc;
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vv->pin);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vv->proc);
	proc2 = vv->vpid ? vmx_cfg.proc2 :
		vmx_cfg.proc2 & ~SECONDARY_EXEC_ENABLE_VPID;
	if (vmx_apic_access_page) {
		proc2 |= SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES;
		vmcs_write(APIC_ACCESS_ADDR,
			   page_to_phys(vmx_apic_access_page));
	}
	if ((khyp_caps.features & KHYP_CAP_PAUSE_EXIT) && gap) {
		proc2 |= SECONDARY_EXEC_PAUSE_LOOP_EXITING;
		vmcs_write(PLE_GAP, gap);
		vmcs_write(PLE_WINDOW, READ_ONCE(ple_window));
	}
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, proc2);
	vmcs_write(VM_EXIT_CONTROLS, vmx_cfg.exit);
	vmcs_write(VM_ENTRY_CONTROLS, vmx_cfg.entry);
	if (vv->vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vv->vpid);
	vmcs_write(EPT_POINTER, khyp_pgtable_root(&vm->pt) | VMX_EPTP_MT_WB |
				VMX_EPTP_PWL_4);

	/*
	 * #AC: a guest can make its delivery raise #AC again forever, with
	 * no interrupt window in between (CVE-2015-5307); khyp gives it back
	 * to the guest (core).  #MC: the host's, handled at the exit.
	 */
	vmcs_write(EXCEPTION_BITMAP, BIT(X86_TRAP_AC) | BIT(X86_TRAP_MC));
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmcs_write(TSC_OFFSET, vm->tsc_offset);
	vmcs_write(CR0_GUEST_HOST_MASK, vmx_cr0_owned());
	vmcs_write(CR4_GUEST_HOST_MASK, vmx_cr4_owned());
	vmcs_write(VMCS_LINK_POINTER, -1ULL);
}

static void vmx_set_segment_reset(unsigned long sel, u16 selector,
				  u64 base, u32 ar)
{
	/* The fields of one segment are at the same offsets from ES's. */
	vmcs_write(sel, selector);
	vmcs_write(sel - GUEST_ES_SELECTOR + GUEST_ES_BASE, base);
	vmcs_write(sel - GUEST_ES_SELECTOR + GUEST_ES_LIMIT, 0xffff);
	vmcs_write(sel - GUEST_ES_SELECTOR + GUEST_ES_AR_BYTES, ar);
}

/*
 * The x86 power-on state: real mode at F000:FFF0 (CS base FFFF0000),
 * caches "disabled" as the guest sees CR0, no paging.
 */
static void vmx_set_reset_state(struct vmx_vcpu *vv)
{
	const u32 data = 0x93;		/* read/write, accessed, S, P */

	vmx_set_segment_reset(GUEST_CS_SELECTOR, 0xf000, 0xffff0000,
			      0x9b);	/* code, read, accessed, S, P */
	vmx_set_segment_reset(GUEST_DS_SELECTOR, 0, 0, data);
	vmx_set_segment_reset(GUEST_ES_SELECTOR, 0, 0, data);
	vmx_set_segment_reset(GUEST_FS_SELECTOR, 0, 0, data);
	vmx_set_segment_reset(GUEST_GS_SELECTOR, 0, 0, data);
	vmx_set_segment_reset(GUEST_SS_SELECTOR, 0, 0, data);
	vmx_set_segment_reset(GUEST_TR_SELECTOR, 0, 0,
			      VMX_AR_TYPE_BUSY_32_TSS | VMX_AR_P_MASK);
	vmx_set_segment_reset(GUEST_LDTR_SELECTOR, 0, 0,
			      VMX_AR_TYPE_LDT | VMX_AR_P_MASK);
	vmcs_write(GUEST_GDTR_BASE, 0);
	vmcs_write(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0xffff);

	vmx_set_cr0(X86_CR0_CD | X86_CR0_NW | X86_CR0_ET);
	vmx_set_cr4(0);
	vmcs_write(GUEST_CR3, 0);
	vmcs_write(GUEST_IA32_EFER, 0);
	vmcs_write(GUEST_IA32_PAT, VMX_RESET_PAT);
	vmcs_write(GUEST_DR7, VMX_RESET_DR7);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_RSP, 0);
	vmcs_write(GUEST_RIP, 0xfff0);
	vmcs_write(GUEST_RFLAGS, X86_EFLAGS_FIXED);
	vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(GUEST_PDPTR0, 0);
	vmcs_write(GUEST_PDPTR1, 0);
	vmcs_write(GUEST_PDPTR2, 0);
	vmcs_write(GUEST_PDPTR3, 0);

	vv->vcpu->regs.rip = 0xfff0;
	vv->vcpu->regs.rflags = X86_EFLAGS_FIXED;
	vv->need_flush = true;
}

int vmx_vcpu_create(struct khyp_vcpu *vcpu)
{
	struct vmx_vcpu *vv;
	int cpu, r;

	if (vmx_cfg.missing)
		return -EOPNOTSUPP;

	vv = kzalloc(sizeof(*vv), GFP_KERNEL_ACCOUNT);
	if (!vv)
		return -ENOMEM;
	vv->vmcs = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vv->vmcs) {
		r = -ENOMEM;
		goto free_vv;
	}
	*(u32 *)page_address(vv->vmcs) = vmx_cfg.revision;
	vv->vcpu = vcpu;
	vv->cpu = -1;
	INIT_LIST_HEAD(&vv->loaded_link);
	vv->vpid_uid = from_kuid(&init_user_ns, current_uid());
	vv->vpid = vmx_vpid_alloc(vv->vpid_uid);
	vcpu->tlb_tag = vv->vpid;
	r = vmx_perf_init(vv);
	if (r)
		goto free_vmcs;

	/* A new VMCS must be VMCLEARed once, on any CPU, before use. */
	cpu = get_cpu();
	r = vmx_vmclear(page_to_phys(vv->vmcs));
	if (!r)
		r = vmx_vmcs_load(vv, cpu);
	if (!r) {
		vmx_set_controls(vv);
		vmx_perf_set_controls(vv);
		vmx_set_host_state();
		vmx_set_reset_state(vv);
	}
	put_cpu();
	if (r)
		goto clear_vmcs;

	vcpu->priv = vv;
	return 0;

clear_vmcs:
	vmx_vmcs_clear(vv);
	vmx_perf_free(vv);
free_vmcs:
	vmx_vpid_free(vv->vpid, vv->vpid_uid);
	__free_page(vv->vmcs);
free_vv:
	kfree(vv);
	return r;
}

void vmx_vcpu_destroy(struct khyp_vcpu *vcpu)
{
	struct vmx_vcpu *vv = to_vmx(vcpu);

	if (!vv)
		return;
	vmx_vmcs_clear(vv);
	vmx_perf_free(vv);
	vmx_vpid_free(vv->vpid, vv->vpid_uid);
	__free_page(vv->vmcs);
	kfree(vv);
	vcpu->priv = NULL;
}
