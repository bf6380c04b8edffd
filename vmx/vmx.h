/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of the VMX backend share: the configuration read from
 * the capability MSRs at probe time, the per-vCPU state behind
 * vcpu->priv, and the VMX instructions as C functions.
 *
 * vmx.c	probe, VMXON/VMXOFF, the ops table
 * vmcs.c	VMCS life: vCPU creation and destruction, VPIDs, which CPU
 *		holds it (VMCLEAR / VMPTRLD), controls, host state, reset
 *		state
 * state.c	guest state as the core sees it: sregs, MSRs, paging mode,
 *		control registers
 * run.c	vcpu_load/put, one guest entry, exit translation
 * entry.S	the VMLAUNCH/VMRESUME trampoline
 */
#ifndef KHYP_VMX_VMX_H
#define KHYP_VMX_VMX_H

#include <linux/bug.h>
#include <linux/list.h>
#include <linux/types.h>
#include <asm/asm.h>
#include <asm/vmx.h>

struct khyp_vcpu;
struct page;

/**
 * struct vmx_config - what khyp programs into every VMCS
 * @revision:	VMCS revision identifier (IA32_VMX_BASIC).
 * @pin, @proc, @proc2, @exit, @entry: the VM-execution, VM-exit and
 *		VM-entry controls, already adjusted to the capability MSRs
 *		(true controls when offered).  @proc2 has VPID if @vpid.
 * @cr0_fixed1_bits, @cr4_fixed1_bits: bits that must be 1 in CR0/CR4 in
 *		VMX operation (CR0.PE and PG excepted: unrestricted guest).
 * @timer_rate: the VMX-preemption timer counts every 2^rate TSC cycles;
 *		-1 without the timer.
 * @vnmi:	virtual NMIs (and NMI-window exiting).
 * @vpid:	VPIDs can be used.
 * @invept_single: INVEPT has the single-context type (else global).
 * @apic_access: the CPU can virtualize APIC accesses (vmx.c).
 * @missing:	why vCPUs cannot be created on this CPU, or NULL.
 *
 * All written once by vmx_probe(), read-only afterwards.
 */
struct vmx_config {
	u32 revision;
	u32 pin, proc, proc2, exit, entry;
	u64 cr0_fixed1_bits, cr4_fixed1_bits;
	int timer_rate;
	bool vnmi;
	bool vpid;
	bool invept_single;
	bool apic_access;
	const char *missing;
};

extern struct vmx_config vmx_cfg;

/**
 * struct vmx_host_state - host state the VMCS does not restore, saved
 *			   while the guest's is in the CPU (see run.c)
 */
struct vmx_host_state {
	u16 ds, es, fs, gs, ldt;
	u64 fs_base;
	u64 kernel_gs_base, star, lstar, cstar, sfmask;
};

/**
 * struct vmx_vcpu - the VMX half of a vCPU (vcpu->priv, to_vmx())
 * @vcpu:	(c) the vCPU.
 * @vmcs:	(c) the VMCS page.
 * @vpid:	(c) the vCPU's VPID, 0 if it runs without one.
 * @vpid_uid:	(c) the user the VPID is counted against (its creator).
 * @cpu:	(i) the CPU the VMCS is active on, or -1 when clear.
 * @launched:	(i) VMRESUME rather than VMLAUNCH.
 * @loaded_link: (i) on the per-CPU list of the VMCSs active on @cpu.
 * @need_flush:	(m) drop cached EPT translations before the next entry.
 * @pin:	(m) pin-based controls in the VMCS.
 * @proc:	(m) primary processor-based controls in the VMCS.
 * @nmi_pending: (m) an NMI waits for the guest to unblock NMIs.
 * @cr2:	(m) the guest's CR2 (not in the VMCS).
 * @cr8:	(m) the guest's task priority (CR8 accesses exit); with an
 *		irqchip, a copy of the local APIC's TPR >> 4 (entry->cr8).
 * @guest_msrs_loaded: (m) the MSRs below are in the CPU: between the
 *		first run() after vcpu_load() and vcpu_put().
 * @kernel_gs_base, @star, @lstar, @cstar, @sfmask: (m) guest MSRs the
 *		VMCS does not switch.
 * @host:	(m) host state saved while @guest_msrs_loaded.
 * @msr_lists:	(c) the page of the VMCS's MSR-load lists (perf.c).
 * @nr_switch_msrs: (m) entries in use in those lists.
 *
 * (c): set at creation; (m): the vCPU's own thread (vcpu->mutex held);
 * (i): changed by the vCPU's thread with interrupts off, or by the CPU
 * holding the VMCS (IPI, CPU going down), see vmcs.c.
 */
struct vmx_vcpu {
	struct khyp_vcpu *vcpu;
	struct page *vmcs;
	u16 vpid;
	uid_t vpid_uid;
	int cpu;
	bool launched;
	struct list_head loaded_link;
	bool need_flush;
	u32 pin, proc;
	bool nmi_pending;
	unsigned long cr2;
	u64 cr8;
	bool guest_msrs_loaded;
	u64 kernel_gs_base, star, lstar, cstar, sfmask;
	struct vmx_host_state host;
	struct page *msr_lists;
	int nr_switch_msrs;
};

/* The backend's half of a vCPU (set by vcpu_create). */
#define to_vmx(vcpu)	((struct vmx_vcpu *)(vcpu)->priv)

/* A VMX instruction failed or faulted: log it once, with the error. */
void vmx_insn_failed(const char *insn, unsigned long arg, bool fault);

/*
 * The text of an asm goto for one VMX instruction @insn: it jumps to the
 * label fail on VMfail (CF or ZF set) and to fault if the instruction
 * faulted (VMX is off: the exception table resumes at 2:).  The asm
 * statement names both labels.
 */
#define VMX_INSN_GOTO(insn)						\
	"1: " insn "\n\t"						\
	"jna %l[fail]\n\t"						\
	"jmp 3f\n"							\
	"2: jmp %l[fault]\n"						\
	"3:\n\t"							\
	_ASM_EXTABLE(1b, 2b)

static __always_inline unsigned long vmcs_read(unsigned long field)
{
	unsigned long value = 0;
	bool fail = true;

	/* A fault (VMX off under us) leaves value 0 and fail set. */
	asm volatile("1: vmread %[field], %[value]\n\t"
		     "setna %[fail]\n"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [value] "+r" (value), [fail] "+qm" (fail)
		     : [field] "r" (field)
		     : "cc");
	if (unlikely(fail))
		vmx_insn_failed("vmread", field, false);
	return value;
}

static __always_inline void vmcs_write(unsigned long field, u64 value)
{
	asm goto(VMX_INSN_GOTO("vmwrite %[value], %[field]")
		 : : [field] "r" (field), [value] "rm" (value)
		 : "cc" : fail, fault);
	return;
fail:
	vmx_insn_failed("vmwrite", field, false);
	return;
fault:
	vmx_insn_failed("vmwrite", field, true);
}

static inline void vmcs_set_bits(unsigned long field, u64 bits)
{
	vmcs_write(field, vmcs_read(field) | bits);
}

static inline void vmcs_clear_bits(unsigned long field, u64 bits)
{
	vmcs_write(field, vmcs_read(field) & ~bits);
}

/* vmx.c */
extern const struct khyp_backend_ops khyp_vmx_ops;

/* vmcs.c */
int vmx_vcpu_create(struct khyp_vcpu *vcpu);
void vmx_vcpu_destroy(struct khyp_vcpu *vcpu);
int vmx_vmcs_load(struct vmx_vcpu *vv, int cpu);
void vmx_vmcs_begin(struct vmx_vcpu *vv);
void vmx_vmcs_end(void);
void vmx_cpu_init_loaded(void);
void vmx_clear_loaded_vmcss(void);
void vmx_flush_ept(struct vmx_vcpu *vv);
void vmx_set_cr0(u64 cr0);
void vmx_set_cr4(u64 cr4);

/* state.c */
void vmx_get_sregs(struct khyp_vcpu *vcpu, struct khyp_sregs *sregs);
void vmx_set_sregs(struct khyp_vcpu *vcpu, const struct khyp_sregs *sregs);
u64 vmx_get_msr(struct khyp_vcpu *vcpu, u32 index);
void vmx_set_msr(struct khyp_vcpu *vcpu, u32 index, u64 data);
void vmx_get_paging(struct khyp_vcpu *vcpu, struct khyp_paging *paging);
u64 vmx_get_cr(struct khyp_vcpu *vcpu, int cr);
bool vmx_set_cr(struct khyp_vcpu *vcpu, int cr, u64 val);
u64 vmx_guest_cr0(void);
u64 vmx_guest_cr4(void);

/* vmx.c: the APIC-access page, if VMX virtualizes APIC accesses */
extern struct page *vmx_apic_access_page;

/* l1d.c: the L1TF flush before VM entry */
enum vmx_l1d_mode { VMX_L1D_NONE, VMX_L1D_MSR, VMX_L1D_SOFTWARE };
extern enum vmx_l1d_mode vmx_l1d_mode;
int vmx_l1d_setup(void);
void vmx_l1d_teardown(void);
void vmx_l1d_flush_if_needed(struct khyp_vcpu *vcpu);

/* Right before VMLAUNCH/VMRESUME, interrupts off. */
static __always_inline void vmx_l1d_flush(struct khyp_vcpu *vcpu)
{
	if (likely(vmx_l1d_mode == VMX_L1D_NONE))
		return;
	vmx_l1d_flush_if_needed(vcpu);
}

/* perf.c: host perf MSRs switched at entry and exit */
int vmx_perf_init(struct vmx_vcpu *vv);
void vmx_perf_set_controls(struct vmx_vcpu *vv);
void vmx_perf_free(struct vmx_vcpu *vv);
void vmx_perf_switch(struct vmx_vcpu *vv);

/* run.c */
void vmx_vcpu_load(struct khyp_vcpu *vcpu, int cpu);
void vmx_vcpu_put(struct khyp_vcpu *vcpu);
void vmx_run(struct khyp_vcpu *vcpu, const struct khyp_entry *entry,
	     struct khyp_exit *exit);
void vmx_set_host_rsp(unsigned long rsp);

/* entry.S */
int vmx_vmenter(u64 *gpr, bool launched);
void vmx_vmexit(void);

#endif /* KHYP_VMX_VMX_H */
