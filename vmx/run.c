// SPDX-License-Identifier: GPL-2.0
/*
 * Running a VMX guest: vcpu_load/vcpu_put, one entry (vmx_run()), and the
 * translation of the VM exit into the core's struct khyp_exit.
 *
 * One guest entry, in order:
 *  1. the VMCS is current here (vcpu_load made it so);
 *  2. the host state the VMCS does not restore is saved, once per load:
 *     segment selectors, FS/GS bases, and the SYSCALL MSRs and
 *     KERNEL_GS_BASE, which then hold the guest's values until vcpu_put()
 *     (the host needs them only in user mode, which it reaches only
 *     through vcpu_put(), at the end of KHYP_RUN or when preempted);
 *  3. RSP, RIP, RFLAGS go into the VMCS, the event to inject and the
 *     interrupt/NMI windows into the controls, stale EPT translations are
 *     dropped, CR2 is loaded;
 *     the host perf MSRs that must differ in the guest go into the MSR-load
 *     lists (perf.c), and the L1D cache is flushed where L1TF needs it
 *     (l1d.c);
 *  4. entry.S loads the other registers from vcpu->regs and enters;
 *  5. on exit, an NMI that hit the guest is handed to the host's handler
 *     at once; an external interrupt is left pending (not acknowledged)
 *     and the host takes it when the core enables interrupts;
 *  6. the exit reason becomes a KHYP_X_* kind, which the core handles
 *     (the CR accesses that exist only because of VMX, CR0/CR4 bits khyp
 *     owns and CR8, too: KHYP_X_CR).
 */
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>
#include <asm/tsc.h>

#include "../core/khyp.h"
#include "../core/vcpu.h"
#include "vmx.h"

/* entry.S indexes vcpu->regs.gpr[] by instruction encoding. */
static_assert(KHYP_RAX == 0 && KHYP_RCX == 1 && KHYP_RDX == 2 &&
	      KHYP_RBX == 3 && KHYP_RSP == 4 && KHYP_RBP == 5 &&
	      KHYP_RSI == 6 && KHYP_RDI == 7 && KHYP_R8 == 8 &&
	      KHYP_R15 == 15);

/* Exit qualification of a control-register access. */
#define CR_ACCESS_CR(q)		((q) & 0xf)
#define CR_ACCESS_TYPE(q)	(((q) & CONTROL_REG_ACCESS_TYPE) >> 4)
#define CR_ACCESS_GPR(q)	(((q) & CONTROL_REG_ACCESS_REG) >> 8)
#define CR_ACCESS_MOV_TO	0
#define CR_ACCESS_MOV_FROM	1

/* Exit qualification of an I/O instruction. */
#define IO_SIZE(q)		(((q) & 7) + 1)
#define IO_IN			BIT(3)
#define IO_STRING		BIT(4)
#define IO_REP			BIT(5)
#define IO_PORT(q)		((q) >> 16)

static void vmx_lldt(u16 sel)
{
	asm volatile("lldt %0" : : "rm" (sel));
}

static u16 vmx_sldt(void)
{
	u16 sel;

	asm volatile("sldt %0" : "=rm" (sel));
	return sel;
}

/*
 * Step 2 above; interrupts off.  The VM exit loads FS and GS with the
 * selectors and bases written here, DS and ES with 0, and leaves LDTR
 * unusable and the GDT and TSS limits at their maximum: all put back by
 * vmx_switch_to_host().
 */
static void vmx_switch_to_guest(struct vmx_vcpu *vv)
{
	struct vmx_host_state *h = &vv->host;
	u64 gs_base;

	savesegment(ds, h->ds);
	savesegment(es, h->es);
	savesegment(fs, h->fs);
	savesegment(gs, h->gs);
	h->ldt = vmx_sldt();
	rdmsrl(MSR_FS_BASE, h->fs_base);
	rdmsrl(MSR_GS_BASE, gs_base);
	/* VM exit can only load selectors with RPL 0 from the GDT. */
	vmcs_write(HOST_FS_SELECTOR, (h->fs & 7) ? 0 : h->fs);
	vmcs_write(HOST_GS_SELECTOR, (h->gs & 7) ? 0 : h->gs);
	vmcs_write(HOST_FS_BASE, h->fs_base);
	vmcs_write(HOST_GS_BASE, gs_base);

	rdmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	rdmsrl(MSR_STAR, h->star);
	rdmsrl(MSR_LSTAR, h->lstar);
	rdmsrl(MSR_CSTAR, h->cstar);
	rdmsrl(MSR_SYSCALL_MASK, h->sfmask);
	wrmsrl(MSR_KERNEL_GS_BASE, vv->kernel_gs_base);
	wrmsrl(MSR_STAR, vv->star);
	wrmsrl(MSR_LSTAR, vv->lstar);
	wrmsrl(MSR_CSTAR, vv->cstar);
	wrmsrl(MSR_SYSCALL_MASK, vv->sfmask);
	vv->guest_msrs_loaded = true;
}

static void vmx_switch_to_host(struct vmx_vcpu *vv)
{
	struct vmx_host_state *h = &vv->host;
	unsigned long flags;

	local_irq_save(flags);
	/* The guest's SWAPGS changed it; the other four only exit. */
	rdmsrl(MSR_KERNEL_GS_BASE, vv->kernel_gs_base);

	if (h->ldt)
		vmx_lldt(h->ldt);
	if (h->gs & 7)
		load_gs_index(h->gs);	/* before KERNEL_GS_BASE: sets it */
	if (h->fs & 7) {
		loadsegment(fs, h->fs);
		wrmsrl(MSR_FS_BASE, h->fs_base);
	}
	if (h->ds | h->es) {
		loadsegment(ds, h->ds);
		loadsegment(es, h->es);
	}
	wrmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	wrmsrl(MSR_STAR, h->star);
	wrmsrl(MSR_LSTAR, h->lstar);
	wrmsrl(MSR_CSTAR, h->cstar);
	wrmsrl(MSR_SYSCALL_MASK, h->sfmask);
	invalidate_tss_limit();
	load_fixmap_gdt(raw_smp_processor_id());
	vv->guest_msrs_loaded = false;
	local_irq_restore(flags);
}

void vmx_vcpu_load(struct khyp_vcpu *vcpu, int cpu)
{
	/* A failure (VMX off: going down) is reported by the next run(). */
	vmx_vmcs_load(to_vmx(vcpu), cpu);
}

void vmx_vcpu_put(struct khyp_vcpu *vcpu)
{
	struct vmx_vcpu *vv = to_vmx(vcpu);

	if (vv->guest_msrs_loaded)
		vmx_switch_to_host(vv);
}

/* Called by entry.S just before VMLAUNCH/VMRESUME. */
void vmx_set_host_rsp(unsigned long rsp)
{
	vmcs_write(HOST_RSP, rsp);
}

/*
 * The event to deliver at entry.  An NMI waits in vv->nmi_pending until
 * the guest can take it (no NMI blocking, no interrupt shadow); with
 * virtual NMIs the NMI window exit says when.  The core has decided
 * whether an exception pushes an error code (irq/inject.c).
 */
static void vmx_inject(struct vmx_vcpu *vv, const struct khyp_inj *inj,
		       u32 intr_state)
{
	u32 info = INTR_INFO_VALID_MASK;

	if (inj->valid && inj->type == KHYP_EVENT_NMI) {
		vv->nmi_pending = true;
	} else if (inj->valid) {
		info |= inj->vector;
		if (inj->type == KHYP_EVENT_EXCEPTION) {
			info |= INTR_TYPE_HARD_EXCEPTION;
			if (inj->has_error_code) {
				info |= INTR_INFO_DELIVER_CODE_MASK;
				vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE,
					   inj->error_code);
			}
		} else {
			info |= INTR_TYPE_EXT_INTR;
		}
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info);
		return;
	}

	if (vv->nmi_pending &&
	    !(intr_state & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS |
			    GUEST_INTR_STATE_NMI))) {
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD,
			   info | INTR_TYPE_NMI_INTR | X86_TRAP_NMI);
		vv->nmi_pending = false;
	}
}

/*
 * Host interrupts must stop the guest whatever its RFLAGS.IF (external-
 * interrupt exiting).  Bochs 2.7 keeps them masked while a guest entered
 * with IF clear leaves it clear (it judges the mask before it counts the
 * CPU as being in the guest), so such a guest would spin with the host's
 * timer locked out.  Bound its time with the VMX-preemption timer: 1 ms,
 * an exit that costs nothing on hardware, where the case is rare anyway.
 */
static void vmx_set_timer(struct vmx_vcpu *vv, bool guest_if)
{
	u32 pin = vmx_cfg.pin;

	if (vmx_cfg.timer_rate >= 0 && !guest_if) {
		pin |= PIN_BASED_VMX_PREEMPTION_TIMER;
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE,
			   max(tsc_khz >> vmx_cfg.timer_rate, 1U));
	}
	if (pin != vv->pin) {
		vmcs_write(PIN_BASED_VM_EXEC_CONTROL, pin);
		vv->pin = pin;
	}
}

/* Steps 1 to 3: returns false if the VMCS cannot be made current. */
static bool vmx_prepare_entry(struct vmx_vcpu *vv,
			      const struct khyp_entry *entry)
{
	struct khyp_vcpu *vcpu = vv->vcpu;
	int cpu = smp_processor_id();
	u32 intr_state, old_state, proc;
	unsigned long cr;

	/*
	 * CR8 is the local APIC's TPR: every CR8 access exits anyway
	 * (entry->cr8_write_exit changes nothing), so vv->cr8 only keeps
	 * it for the exit's report.
	 */
	if (entry->tpr_sync)
		vv->cr8 = entry->cr8;

	/* VMX went off and back on here (CPU hotplug, suspend) meanwhile. */
	if (unlikely(READ_ONCE(vv->cpu) != cpu)) {
		if (WARN_ON_ONCE(READ_ONCE(vv->cpu) >= 0) ||
		    vmx_vmcs_load(vv, cpu))
			return false;
	}
	if (!vv->guest_msrs_loaded)
		vmx_switch_to_guest(vv);

	/* Per task, and may change while the vCPU is loaded. */
	cr = __read_cr3();
	if (unlikely(cr != vmcs_read(HOST_CR3)))
		vmcs_write(HOST_CR3, cr);
	cr = cr4_read_shadow();
	if (unlikely(cr != vmcs_read(HOST_CR4)))
		vmcs_write(HOST_CR4, cr);

	vmcs_write(GUEST_RSP, vcpu->regs.gpr[KHYP_RSP]);
	vmcs_write(GUEST_RIP, vcpu->regs.rip);
	vmcs_write(GUEST_RFLAGS, vcpu->regs.rflags);

	/*
	 * The core ends an interrupt shadow once RIP has moved (see
	 * struct khyp_entry).  VMX also drops STI's when the guest has IF
	 * clear (userspace's set_regs): VM entry refuses STI blocking with
	 * IF clear, SVM has no such check.
	 */
	old_state = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	intr_state = old_state;
	if (entry->end_shadow)
		intr_state &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	if (!(vcpu->regs.rflags & X86_EFLAGS_IF))
		intr_state &= ~GUEST_INTR_STATE_STI;
	if (intr_state != old_state)
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO, intr_state);

	vmx_inject(vv, &entry->inject, intr_state);
	vmx_set_timer(vv, vcpu->regs.rflags & X86_EFLAGS_IF);

	proc = vv->proc & ~(CPU_BASED_INTR_WINDOW_EXITING |
			    CPU_BASED_NMI_WINDOW_EXITING);
	if (entry->irq_window)
		proc |= CPU_BASED_INTR_WINDOW_EXITING;
	if (vv->nmi_pending && vmx_cfg.vnmi)
		proc |= CPU_BASED_NMI_WINDOW_EXITING;
	if (proc != vv->proc) {
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc);
		vv->proc = proc;
	}

	if (entry->flush_tlb || vv->need_flush)
		vmx_flush_ept(vv);
	vmx_perf_switch(vv);
	if (native_read_cr2() != vv->cr2)
		native_write_cr2(vv->cr2);
	return true;
}

static bool vmx_in_64bit_mode(void)
{
	return (vmcs_read(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE) &&
	       (vmcs_read(GUEST_CS_AR_BYTES) & VMX_AR_L_MASK);
}

/*
 * CR-access exits: MOV to CR0/CR4 touching an owned bit, MOV to/from CR8
 * (vmx_setup_config()).  The core checks and finishes them (KHYP_X_CR,
 * core/cr4.c) through vmx_set_cr() and vmx_get_cr() (state.c).
 */
static void vmx_translate_cr(struct khyp_exit *exit)
{
	unsigned long q = vmcs_read(EXIT_QUALIFICATION);
	bool to = CR_ACCESS_TYPE(q) == CR_ACCESS_MOV_TO;
	bool from = CR_ACCESS_TYPE(q) == CR_ACCESS_MOV_FROM;
	u8 cr = CR_ACCESS_CR(q);

	exit->hw_info[0] = q;
	/* CR3 accesses, CLTS, LMSW and reads of CR0/CR4 do not exit. */
	if (!(to && (cr == 0 || cr == 4 || cr == 8)) && !(from && cr == 8)) {
		exit->kind = KHYP_X_UNKNOWN;
		return;
	}
	exit->kind = KHYP_X_CR;
	exit->cr.cr = cr;
	exit->cr.write = to;
	exit->cr.decoded = true;
	exit->cr.gpr = CR_ACCESS_GPR(q);
	exit->insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
}

/* The event whose delivery the exit interrupted, for the core to redo. */
static void vmx_read_interrupted(struct khyp_exit *exit)
{
	u32 info = vmcs_read(IDT_VECTORING_INFO_FIELD);
	u32 type = info & VECTORING_INFO_TYPE_MASK;
	struct khyp_inj *inj = &exit->interrupted;

	if (!(info & VECTORING_INFO_VALID_MASK))
		return;
	switch (type) {
	case INTR_TYPE_EXT_INTR:
		inj->type = KHYP_EVENT_INTERRUPT;
		break;
	case INTR_TYPE_NMI_INTR:
		inj->type = KHYP_EVENT_NMI;
		/* Delivery failed: the guest did not block NMIs after all. */
		vmcs_clear_bits(GUEST_INTERRUPTIBILITY_INFO,
				GUEST_INTR_STATE_NMI);
		break;
	case INTR_TYPE_HARD_EXCEPTION:
		inj->type = KHYP_EVENT_EXCEPTION;
		break;
	default:
		/* INT n, INT3, INTO: the guest executes them again. */
		return;
	}
	inj->valid = true;
	inj->vector = info & VECTORING_INFO_VECTOR_MASK;
	if (info & VECTORING_INFO_DELIVER_CODE_MASK) {
		inj->has_error_code = true;
		inj->error_code = vmcs_read(IDT_VECTORING_ERROR_CODE);
	}
}

/*
 * An exception in the exception bitmap (vmx_set_controls()): #MC was the
 * host's and is handled already (vmx_run()); #AC goes back to the guest.
 */
static void vmx_handle_exception(struct khyp_exit *exit, u32 info)
{
	u8 vector = info & INTR_INFO_VECTOR_MASK;

	exit->hw_info[1] = info;
	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR ||
	    vector == X86_TRAP_MC) {
		exit->kind = KHYP_X_NONE;
		return;
	}
	if (vector != X86_TRAP_AC) {
		exit->kind = KHYP_X_UNKNOWN;
		return;
	}
	exit->kind = KHYP_X_EXCEPTION;
	exit->exception.vector = vector;
	if (info & INTR_INFO_DELIVER_CODE_MASK) {
		exit->exception.has_error_code = true;
		exit->exception.error_code = vmcs_read(VM_EXIT_INTR_ERROR_CODE);
	}
	/* As for EPT violations: an IRET that unblocked NMIs faulted. */
	if (vmx_cfg.vnmi && !exit->interrupted.valid &&
	    (info & INTR_INFO_UNBLOCK_NMI))
		vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
}

/*
 * An access to the APIC-access page (vmx.c), which the core maps only at
 * KHYP_APIC_ACCESS_GPA: a second-level fault there that needs no RAM
 * lookup.  A store by an instruction also gives the instruction's
 * length, so the core can take an EOI without decoding it, as KVM does.
 * A fetch, or an access by the CPU itself to a guest paging structure or
 * the like there, is not emulated (the core's error for fetches).
 */
static void vmx_translate_apic_access(struct khyp_exit *exit)
{
	unsigned long q = vmcs_read(EXIT_QUALIFICATION);

	exit->hw_info[0] = q;
	exit->kind = KHYP_X_NPF;
	exit->npf.gpa = KHYP_APIC_ACCESS_GPA;
	/* Bits 11:0 say the offset for linear accesses only (SDM 29.4.4). */
	if ((q & APIC_ACCESS_TYPE) <= TYPE_LINEAR_APIC_EVENT)
		exit->npf.gpa |= q & APIC_ACCESS_OFFSET;
	exit->npf.apic = true;
	exit->hw_info[1] = exit->npf.gpa;
	switch (q & APIC_ACCESS_TYPE) {
	case TYPE_LINEAR_APIC_INST_READ:
	case TYPE_LINEAR_APIC_EVENT:		/* exit->interrupted is set */
	case TYPE_PHYSICAL_APIC_EVENT:
		break;
	case TYPE_LINEAR_APIC_INST_WRITE:
		exit->npf.write = true;
		exit->npf.apic_store = true;
		exit->insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
		break;
	default:
		exit->npf.fetch = true;
		break;
	}
}

static void vmx_translate_exit(struct vmx_vcpu *vv, u32 reason,
			       struct khyp_exit *exit)
{
	unsigned long q;

	switch (reason) {
	case EXIT_REASON_EXCEPTION_NMI:
		vmx_handle_exception(exit, vmcs_read(VM_EXIT_INTR_INFO));
		return;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_NMI_WINDOW:
	case EXIT_REASON_PREEMPTION_TIMER:
		exit->kind = KHYP_X_NONE;
		return;
	case EXIT_REASON_TRIPLE_FAULT:
		exit->kind = KHYP_X_SHUTDOWN;
		return;
	case EXIT_REASON_INTERRUPT_WINDOW:
		exit->kind = KHYP_X_IRQ_WINDOW;
		return;
	case EXIT_REASON_CR_ACCESS:
		vmx_translate_cr(exit);
		return;
	case EXIT_REASON_DR_ACCESS:
		/* Every MOV DR (core/dr.c): the qualification names it all. */
		q = vmcs_read(EXIT_QUALIFICATION);
		exit->hw_info[0] = q;
		exit->kind = KHYP_X_DR;
		exit->cr.cr = q & DEBUG_REG_ACCESS_NUM;
		exit->cr.write = !(q & TYPE_MOV_FROM_DR);
		exit->cr.decoded = true;
		exit->cr.gpr = DEBUG_REG_ACCESS_REG(q);
		exit->insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
		return;
	case EXIT_REASON_IO_INSTRUCTION:
		q = vmcs_read(EXIT_QUALIFICATION);
		exit->hw_info[0] = q;
		exit->kind = KHYP_X_IO;
		exit->io.port = IO_PORT(q);
		exit->io.size = IO_SIZE(q);
		exit->io.in = q & IO_IN;
		exit->io.string = q & IO_STRING;
		exit->io.rep = q & IO_REP;
		break;
	case EXIT_REASON_CPUID:
		exit->kind = KHYP_X_CPUID;
		break;
	case EXIT_REASON_HLT:
		exit->kind = KHYP_X_HLT;
		break;
	case EXIT_REASON_PAUSE_INSTRUCTION:
		/* Pause-loop exiting: the guest spins (core/spin.c). */
		exit->kind = KHYP_X_PAUSE;
		return;
	case EXIT_REASON_VMCALL:
		exit->kind = KHYP_X_HYPERCALL;
		/* VMX keeps the CPL in SS.DPL (0 in real mode). */
		exit->hypercall.cpl = VMX_AR_DPL(vmcs_read(GUEST_SS_AR_BYTES));
		exit->hypercall.long_mode = vmx_in_64bit_mode();
		break;
	case EXIT_REASON_MSR_READ:
		exit->kind = KHYP_X_RDMSR;
		break;
	case EXIT_REASON_MSR_WRITE:
		exit->kind = KHYP_X_WRMSR;
		break;
	case EXIT_REASON_WBINVD:
	case EXIT_REASON_INVD:
		exit->kind = KHYP_X_WBINVD;
		break;
	case EXIT_REASON_RDPMC:
		/* No performance counters: as a CPU without them, #GP(0). */
		exit->kind = KHYP_X_GP;
		return;
	case EXIT_REASON_EPT_VIOLATION:
		q = vmcs_read(EXIT_QUALIFICATION);
		exit->hw_info[0] = q;
		exit->kind = KHYP_X_NPF;
		exit->npf.gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
		exit->npf.write = q & EPT_VIOLATION_ACC_WRITE;
		exit->npf.fetch = q & EPT_VIOLATION_ACC_INSTR;
		exit->hw_info[1] = exit->npf.gpa;
		/*
		 * An IRET that unblocked NMIs faulted: it runs again, and
		 * NMIs stay blocked until it does.
		 */
		if (vmx_cfg.vnmi && !exit->interrupted.valid &&
		    (q & INTR_INFO_UNBLOCK_NMI))
			vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO,
				      GUEST_INTR_STATE_NMI);
		return;
	case EXIT_REASON_APIC_ACCESS:
		vmx_translate_apic_access(exit);
		return;
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMOFF:
	case EXIT_REASON_VMON:
	case EXIT_REASON_MWAIT_INSTRUCTION:
	case EXIT_REASON_MONITOR_INSTRUCTION:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_XSETBV:
	case EXIT_REASON_VMFUNC:
		exit->kind = KHYP_X_UD;
		return;
	case EXIT_REASON_EPT_MISCONFIG:
	default:
		exit->kind = KHYP_X_UNKNOWN;
		exit->hw_info[0] = vmcs_read(EXIT_QUALIFICATION);
		exit->hw_info[1] = vmcs_read(GUEST_PHYSICAL_ADDRESS);
		return;
	}
	/* The instruction exits (the "break"s above). */
	exit->insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
}

/* The entry failed: the event it was to deliver goes again next time. */
static void vmx_entry_not_delivered(struct vmx_vcpu *vv,
				    const struct khyp_entry *entry,
				    struct khyp_exit *exit)
{
	u32 info = vmcs_read(VM_ENTRY_INTR_INFO_FIELD);

	if (info & INTR_INFO_VALID_MASK) {
		if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
			vv->nmi_pending = true;
		else
			exit->interrupted = entry->inject;
	}
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
}

/*
 * Enter the guest once (see the top of the file).  Interrupts and
 * preemption are off, the vCPU is loaded on this CPU.
 */
void vmx_run(struct khyp_vcpu *vcpu, const struct khyp_entry *entry,
	     struct khyp_exit *exit)
{
	struct vmx_vcpu *vv = to_vmx(vcpu);
	unsigned long host_debugctl;
	bool host_dr7;
	u32 reason;
	int fail;

	if (!vmx_prepare_entry(vv, entry)) {
		exit->kind = KHYP_X_INVALID_STATE;
		exit->cr8 = vv->cr8;
		return;
	}

	/* VM exits clear DEBUGCTL and set DR7 to 0x400: keep the host's. */
	host_debugctl = get_debugctlmsr();
	host_dr7 = hw_breakpoint_active();

	vmx_l1d_flush(vcpu);
	fail = vmx_vmenter(vcpu->regs.gpr, vv->launched);

	vv->cr2 = native_read_cr2();
	/* Also when the guest did not run: the CR8 the next entry has. */
	exit->cr8 = vv->cr8;
	if (host_debugctl)
		update_debugctlmsr(host_debugctl);
	/*
	 * DR6 is not in the VMCS: a #DB in the guest (single-step) set its
	 * bits in the real one, which the host's next #DB would take for
	 * its own.  Outside its #DB handler the host keeps DR6 at rest.
	 */
	if (host_dr7)
		hw_breakpoint_restore();
	else if (native_get_debugreg(6) != DR6_RESERVED)
		native_set_debugreg(6, DR6_RESERVED);

	/* Also when the guest did not run: the state the next entry has. */
	exit->int_shadow = vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
			   (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	if (unlikely(fail)) {
		/* VMfail: the controls or host state are wrong (a bug). */
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
		exit->kind = KHYP_X_INVALID_STATE;
		exit->hw_code = VMX_EXIT_REASONS_FAILED_VMENTRY;
		exit->hw_info[0] = vmcs_read(VM_INSTRUCTION_ERROR);
		return;
	}

	reason = vmcs_read(VM_EXIT_REASON);
	exit->hw_code = reason;
	if (unlikely((u16)reason == EXIT_REASON_MCE_DURING_VMENTRY)) {
		/*
		 * The host's machine check, not the guest's state: handle it
		 * and enter again, with the event this entry was to deliver.
		 */
		khyp_host_machine_check();
		vmx_entry_not_delivered(vv, entry, exit);
		exit->kind = KHYP_X_NONE;
		return;
	}
	if (unlikely(reason & VMX_EXIT_REASONS_FAILED_VMENTRY)) {
		/*
		 * Invalid guest state: the guest did not run, nor take the
		 * event; it waits for the entry that succeeds.
		 */
		vmx_entry_not_delivered(vv, entry, exit);
		exit->kind = KHYP_X_INVALID_STATE;
		exit->hw_info[0] = vmcs_read(EXIT_QUALIFICATION);
		return;
	}
	vv->launched = true;

	/*
	 * An NMI or a machine check for the host: its handler runs now, as
	 * if it had hit here.
	 */
	if ((u16)reason == EXIT_REASON_EXCEPTION_NMI) {
		u32 info = vmcs_read(VM_EXIT_INTR_INFO);

		if ((info & (INTR_INFO_VALID_MASK | INTR_INFO_INTR_TYPE_MASK)) ==
		    (INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR))
			asm volatile("int $2");
		else if ((info & INTR_INFO_VECTOR_MASK) == X86_TRAP_MC)
			khyp_host_machine_check();
	}

	vcpu->regs.gpr[KHYP_RSP] = vmcs_read(GUEST_RSP);
	vcpu->regs.rip = vmcs_read(GUEST_RIP);
	vcpu->regs.rflags = vmcs_read(GUEST_RFLAGS);

	vmx_read_interrupted(exit);
	vmx_translate_exit(vv, (u16)reason, exit);
}
