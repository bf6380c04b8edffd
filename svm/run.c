// SPDX-License-Identifier: GPL-2.0
/*
 * Running an SVM guest: vcpu_load/vcpu_put, one entry (svm_run()), and
 * the translation of the #VMEXIT into the core's struct khyp_exit.
 *
 * One guest entry, in order (the same steps as vmx/run.c):
 *  1. the ASID: a new one when needed (below), and the flush of every
 *     ASID a new generation asks for;
 *  2. the host state VMRUN does not restore was saved once per load by
 *     VMSAVE (svm_vcpu_load()): FS/GS/TR hidden parts, KERNEL_GS_BASE,
 *     the SYSCALL and SYSENTER MSRs;
 *  3. RAX, RSP, RIP, RFLAGS go into the save area, the event to inject
 *     and the interrupt window into the control area;
 *  4. entry.S loads the other registers from vcpu->regs, VMLOADs the
 *     guest's state and enters (VMRUN), with GIF clear (below);
 *  5. on exit, a machine check that hit the guest is handed to the host's
 *     handler; a host interrupt or NMI stays pending until STGI and is
 *     taken then (SVM holds them with GIF, where VMX exits with NMIs
 *     unblocked and must call the handler itself);
 *  6. the exit code becomes a KHYP_X_* kind, which the core handles.
 *
 * ASIDs: each CPU hands out ASIDs 1..max in a generation; when they run
 * out, the next generation starts with a flush of every ASID.  A vCPU
 * takes a new ASID when it runs on another CPU, when the CPU's generation
 * moved on, or when the core asks for a TLB flush: a new ASID has no
 * cached translations, so no flush-by-ASID is needed (QEMU has none).
 * The first ASID handed out on a CPU starts a generation, so whatever an
 * earlier user of SVM left in the TLB is flushed.  The flush stays
 * pending on the CPU until a VMRUN succeeds: one that fails its checks
 * flushes nothing, and the next vCPU to run there has an ASID of the new
 * generation too.
 *
 * Entry: with GIF clear, interrupts are enabled so that a physical
 * interrupt makes the guest exit (V_INTR_MASKING uses the host's IF);
 * nothing reaches the host until STGI, after the host state is back.
 */
#include <linux/percpu.h>
#include <asm/asm.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/io.h>
#include <asm/irqflags.h>
#include <asm/msr.h>
#include <asm/processor-flags.h>
#include <asm/svm.h>
#include <asm/trap_pf.h>
#include <asm/traps.h>

#include "../core/vcpu.h"
#include "../core/vm.h"
#include "svm.h"

/* entry.S indexes vcpu->regs.gpr[] by instruction encoding. */
static_assert(KHYP_RAX == 0 && KHYP_RCX == 1 && KHYP_RDX == 2 &&
	      KHYP_RBX == 3 && KHYP_RSP == 4 && KHYP_RBP == 5 &&
	      KHYP_RSI == 6 && KHYP_RDI == 7 && KHYP_R8 == 8 &&
	      KHYP_R15 == 15);

struct svm_asids {
	u64 gen;
	u32 next;
	bool flush;
};

static DEFINE_PER_CPU(struct svm_asids, svm_asids) = { .gen = 0, .next = U32_MAX };

/*
 * CLGI, STGI and VMSAVE (and VMLOAD and VMRUN in entry.S) #UD when
 * EFER.SVME is clear.  A reboot or crash clears it on every CPU with an
 * IPI or NMI (core/hw.c), which can land between two KHYP_RUN steps: a
 * vCPU thread scheduled back in then does the VMSAVE of svm_vcpu_load()
 * with SVM off.  Once khyp_hw_going_away is set such a fault is expected
 * and the instruction is skipped (the run loop stops at its next check);
 * any other is a bug, reported once.
 */
static void svm_insn_faulted(const char *insn)
{
	WARN_ONCE(!READ_ONCE(khyp_hw_going_away),
		  "khyp: %s faulted: SVM is off\n", insn);
}

/*
 * The text of an asm goto for one SVM instruction @insn: it jumps to the
 * label fault if the instruction faulted (the exception table resumes at
 * 2:), as VMX_INSN_GOTO does for VMX.
 */
#define SVM_INSN_GOTO(insn)						\
	"1: " insn "\n\t"						\
	"jmp 3f\n"							\
	"2: jmp %l[fault]\n"						\
	"3:\n\t"							\
	_ASM_EXTABLE(1b, 2b)

static __always_inline void clgi(void)
{
	asm goto(SVM_INSN_GOTO("clgi") : : : "memory" : fault);
	return;
fault:
	svm_insn_faulted(__func__);
}

static __always_inline void stgi(void)
{
	asm goto(SVM_INSN_GOTO("stgi") : : : "memory" : fault);
	return;
fault:
	svm_insn_faulted(__func__);
}

/*
 * The vCPU's thread runs on this CPU now (KHYP_RUN begins, or it was
 * scheduled back in): save the host state that VMLOAD will restore after
 * each exit, in the second page of the CPU's area.  That state (FS/GS/TR
 * hidden parts, KERNEL_GS_BASE, the SYSCALL and SYSENTER MSRs) belongs to
 * this thread and CPU and cannot change until the thread is scheduled
 * out, so one VMSAVE here serves every entry until then.  The ASID is
 * checked by svm_run().  Preemption is off.
 */
void svm_vcpu_load(struct khyp_vcpu *vcpu, int cpu)
{
	u64 pa = page_to_phys(khyp_hw_this_cpu_area()) + PAGE_SIZE;
	struct svm_vcpu *sv = to_svm(vcpu);

	/*
	 * RDPID cannot be intercepted and reads TSC_AUX, which holds the
	 * host CPU's number: the guest sees 0 instead.  The host needs its
	 * value only in user mode (getcpu), which it reaches after
	 * svm_vcpu_put().  RDTSCP, which reads it too, is intercepted.
	 */
	if (boot_cpu_has(X86_FEATURE_RDPID)) {
		rdmsrl(MSR_TSC_AUX, sv->host_tsc_aux);
		wrmsrl(MSR_TSC_AUX, 0);
	}

	/* Every entry until the next load runs on this CPU: svm_run(). */
	sv->host_save_pa = pa;
	asm goto(SVM_INSN_GOTO("vmsave %%rax") : : "a" (pa) : "memory" : fault);
	return;
fault:
	svm_insn_faulted("vmsave");
}

void svm_vcpu_put(struct khyp_vcpu *vcpu)
{
	if (boot_cpu_has(X86_FEATURE_RDPID))
		wrmsrl(MSR_TSC_AUX, to_svm(vcpu)->host_tsc_aux);
}

/* Step 1; vcpu->tlb_tag follows the ASID (only a new one is written). */
static void svm_pick_asid(struct khyp_vcpu *vcpu, struct svm_vcpu *sv,
			  bool flush)
{
	struct svm_asids *a = this_cpu_ptr(&svm_asids);
	int cpu = smp_processor_id();

	if (!flush && sv->asid_cpu == cpu && sv->asid_gen == a->gen)
		return;
	if (a->next >= khyp_caps.nr_asids) {
		a->gen++;
		a->next = 1;
		a->flush = true;
	}
	sv->asid = a->next++;
	sv->asid_gen = a->gen;
	sv->asid_cpu = cpu;
	sv->vmcb->control.asid = sv->asid;
	WRITE_ONCE(vcpu->tlb_tag, sv->asid);
}

static void svm_set_window(struct vmcb *vmcb, bool on)
{
	u32 *w3 = &vmcb->control.intercepts[INTERCEPT_VINTR / 32];

	if (on) {
		vmcb->control.int_ctl |= V_IRQ_MASK | V_IGN_TPR_MASK |
					 V_INTR_PRIO_MASK;
		*w3 |= BIT(INTERCEPT_VINTR % 32);
	} else {
		vmcb->control.int_ctl &= ~(V_IRQ_MASK | V_IGN_TPR_MASK |
					   V_INTR_PRIO_MASK);
		*w3 &= ~BIT(INTERCEPT_VINTR % 32);
	}
}

static void svm_set_cr8_intercept(struct vmcb *vmcb, bool on)
{
	u32 *w = &vmcb->control.intercepts[INTERCEPT_CR8_WRITE / 32];

	if (on)
		*w |= BIT(INTERCEPT_CR8_WRITE % 32);
	else
		*w &= ~BIT(INTERCEPT_CR8_WRITE % 32);
}

static void svm_set_iret_intercept(struct vmcb *vmcb, bool on)
{
	u32 *w = &vmcb->control.intercepts[INTERCEPT_IRET / 32];

	if (on)
		*w |= BIT(INTERCEPT_IRET % 32);
	else
		*w &= ~BIT(INTERCEPT_IRET % 32);
}

static u32 svm_event_type(u8 type)
{
	switch (type) {
	case KHYP_EVENT_NMI:
		return SVM_EVTINJ_TYPE_NMI;
	case KHYP_EVENT_EXCEPTION:
		return SVM_EVTINJ_TYPE_EXEPT;
	default:
		return SVM_EVTINJ_TYPE_INTR;
	}
}

/* The event whose delivery the exit interrupted, for the core to redo. */
static void svm_read_interrupted(struct svm_vcpu *sv, struct khyp_exit *exit)
{
	struct vmcb *vmcb = sv->vmcb;
	u32 info = vmcb->control.exit_int_info;
	u32 type = info & SVM_EXITINTINFO_TYPE_MASK;
	u8 vector = info & SVM_EXITINTINFO_VEC_MASK;
	struct khyp_inj *out = &exit->interrupted;

	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	switch (type) {
	case SVM_EXITINTINFO_TYPE_INTR:
		out->type = KHYP_EVENT_INTERRUPT;
		break;
	case SVM_EXITINTINFO_TYPE_NMI:
		out->type = KHYP_EVENT_NMI;
		/* Delivery failed: the guest did not block NMIs after all. */
		sv->nmi_blocked = false;
		svm_set_iret_intercept(sv->vmcb, false);
		break;
	case SVM_EXITINTINFO_TYPE_EXEPT:
		/* INT3/INTO: the guest executes the instruction again. */
		if (vector == X86_TRAP_BP || vector == X86_TRAP_OF)
			return;
		out->type = KHYP_EVENT_EXCEPTION;
		break;
	default:	/* INTn: executed again too */
		return;
	}
	out->vector = vector;
	out->has_error_code = !!(info & SVM_EXITINTINFO_VALID_ERR);
	out->error_code = vmcb->control.exit_int_info_err;
	out->valid = true;
}

/* The length of an intercepted instruction, from NRIP or known sizes. */
static u8 svm_insn_len(struct vmcb *vmcb, u64 rip, u8 fixed)
{
	if (khyp_caps.features & KHYP_CAP_NRIP_SAVE)
		return vmcb->control.next_rip - rip;
	return fixed;
}

static void svm_translate_exit(struct svm_vcpu *sv, struct khyp_exit *exit)
{
	struct vmcb *vmcb = sv->vmcb;
	struct vmcb_control_area *c = &vmcb->control;
	u64 rip = vmcb->save.rip;
	u64 code = ((u64)c->exit_code_hi << 32) | c->exit_code;
	u64 info1 = c->exit_info_1;

	exit->hw_code = code;
	exit->hw_info[0] = info1;
	exit->hw_info[1] = c->exit_info_2;

	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
		exit->kind = KHYP_X_NONE;
		break;
	case SVM_EXIT_VINTR:
		exit->kind = KHYP_X_IRQ_WINDOW;
		break;
	case SVM_EXIT_IRET:
		/* The NMI handler ends: see svm_nmi_blocked(). */
		sv->nmi_blocked = false;
		sv->at_iret = true;
		sv->iret_rip = rip;
		svm_set_iret_intercept(vmcb, false);
		exit->kind = KHYP_X_NONE;
		break;
	case SVM_EXIT_CPUID:
		exit->kind = KHYP_X_CPUID;
		exit->insn_len = svm_insn_len(vmcb, rip, 2);
		break;
	case SVM_EXIT_HLT:
		exit->kind = KHYP_X_HLT;
		exit->insn_len = svm_insn_len(vmcb, rip, 1);
		break;
	case SVM_EXIT_PAUSE:
		/* The pause filter: the guest spins (core/spin.c). */
		exit->kind = KHYP_X_PAUSE;
		break;
	case SVM_EXIT_VMMCALL:
		exit->kind = KHYP_X_HYPERCALL;
		exit->insn_len = svm_insn_len(vmcb, rip, 3);
		exit->hypercall.cpl = vmcb->save.cpl;
		exit->hypercall.long_mode = (vmcb->save.efer & EFER_LMA) &&
			(vmcb->save.cs.attrib & SVM_SELECTOR_L_MASK);
		break;
	case SVM_EXIT_MSR:
		exit->kind = info1 ? KHYP_X_WRMSR : KHYP_X_RDMSR;
		exit->insn_len = svm_insn_len(vmcb, rip, 2);
		break;
	case SVM_EXIT_IOIO:
		exit->kind = KHYP_X_IO;
		exit->io.port = info1 >> 16;
		exit->io.in = info1 & SVM_IOIO_TYPE_MASK;
		exit->io.string = !!(info1 & SVM_IOIO_STR_MASK);
		exit->io.rep = !!(info1 & SVM_IOIO_REP_MASK);
		exit->io.size = (info1 & SVM_IOIO_SIZE_MASK) >>
				SVM_IOIO_SIZE_SHIFT;
		exit->insn_len = c->exit_info_2 - rip;	/* next RIP */
		break;
	case SVM_EXIT_NPF:
		exit->kind = KHYP_X_NPF;
		exit->npf.gpa = c->exit_info_2;
		exit->npf.write = !!(info1 & X86_PF_WRITE);
		exit->npf.fetch = !!(info1 & X86_PF_INSTR);
		break;
	case SVM_EXIT_SHUTDOWN:
		exit->kind = KHYP_X_SHUTDOWN;
		break;
	case SVM_EXIT_READ_CR4:
	case SVM_EXIT_WRITE_CR4:
	case SVM_EXIT_WRITE_CR8:
		exit->kind = KHYP_X_CR;
		exit->cr.cr = code & 0xf;
		exit->cr.write = code >= SVM_EXIT_WRITE_CR0;
		/* Decode assists name the register of a MOV (bit 63). */
		if ((khyp_caps.features & KHYP_CAP_DECODE_ASSISTS) &&
		    (info1 & BIT_ULL(63))) {
			exit->cr.decoded = true;
			exit->cr.gpr = info1 & 0xf;
			exit->insn_len = svm_insn_len(vmcb, rip, 3);
		}
		break;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_MC:
		/* The host's: svm_run() called its handler. */
		exit->kind = KHYP_X_NONE;
		break;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_AC:
		exit->kind = KHYP_X_EXCEPTION;
		exit->exception.vector = X86_TRAP_AC;
		exit->exception.has_error_code = true;
		exit->exception.error_code = info1;
		break;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_DB:
		/*
		 * The processor updated the guest's DR6 in the VMCB already,
		 * and a single-step trap left RFLAGS.TF set: delivering the
		 * #DB now does what it would have done (push RFLAGS with TF,
		 * clear TF).  The guest cannot read DR6 anyway (#UD).
		 */
		exit->kind = KHYP_X_EXCEPTION;
		exit->exception.vector = X86_TRAP_DB;
		break;
	case SVM_EXIT_INVD:
	case SVM_EXIT_WBINVD:
		exit->kind = KHYP_X_WBINVD;
		exit->insn_len = svm_insn_len(vmcb, rip, 2);
		break;
	case SVM_EXIT_RDPMC:
		/* No performance counters: as a CPU without them, #GP(0). */
		exit->kind = KHYP_X_GP;
		break;
	case SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR7:
	case SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR7:
		/*
		 * Every MOV DR (core/dr.c).  Decode assists name the
		 * register; the length is known only with NRIP save (a REX
		 * prefix makes it 4): else the core decodes.
		 */
		exit->kind = KHYP_X_DR;
		exit->cr.cr = code & 0xf;
		exit->cr.write = code >= SVM_EXIT_WRITE_DR0;
		if ((khyp_caps.features & KHYP_CAP_DECODE_ASSISTS) &&
		    (khyp_caps.features & KHYP_CAP_NRIP_SAVE)) {
			exit->cr.decoded = true;
			exit->cr.gpr = info1 & 0xf;
			exit->insn_len = vmcb->control.next_rip - rip;
		}
		break;
	case SVM_EXIT_TR_WRITE:
		/* LTR, after its #UD and CPL checks: core/desc.c. */
		exit->kind = KHYP_X_LTR;
		break;
	case SVM_EXIT_RDTSCP:
	case SVM_EXIT_RDPRU:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD ... SVM_EXIT_SKINIT:
	case SVM_EXIT_MONITOR ... SVM_EXIT_XSETBV:
		exit->kind = KHYP_X_UD;
		break;
	default:	/* VMEXIT_INVALID never comes here: see svm_run() */
		exit->kind = KHYP_X_UNKNOWN;
		break;
	}
}

/*
 * NMIs are blocked from the delivery of one to the end of the IRET that
 * ends its handler.  SVM does not track this for the guest (VMX does,
 * with virtual NMIs): khyp does, with the IRET intercept.  The IRET
 * exits before it runs, so NMIs stay blocked until RIP has moved past it.
 */
static bool svm_nmi_blocked(struct svm_vcpu *sv, u64 rip)
{
	if (sv->at_iret && sv->iret_rip != rip)
		sv->at_iret = false;
	return sv->nmi_blocked || sv->at_iret;
}

/* ->nmi_held: an NMI waits here and its predecessor's IRET has run. */
bool svm_nmi_held(struct khyp_vcpu *vcpu)
{
	struct svm_vcpu *sv = to_svm(vcpu);

	return sv->nmi_pending && !svm_nmi_blocked(sv, vcpu->regs.rip);
}

/*
 * The event to deliver at entry (EVENTINJ).  An NMI waits in
 * sv->nmi_pending until the guest has left its NMI handler, as on VMX;
 * it is then delivered at the first entry after that IRET (SVM has no
 * NMI-window exit: with RFLAGS.IF clear at the IRET, the interrupt
 * window stands in for one, else the next exit of any kind, a HLT
 * included: that one ends in the kernel, see svm_nmi_held().  Until that
 * exit the NMI waits: a guest that spins with IF clear after the IRET
 * gets it at the host's next timer interrupt, which svm-bochs never
 * lets stop such a guest.)  Other events are delivered whatever the
 * guest's interrupt shadow: the core asks for an interrupt only when
 * the guest can take one.
 */
static void svm_inject(struct svm_vcpu *sv, const struct khyp_inj *inj,
		       u64 rip)
{
	struct vmcb_control_area *c = &sv->vmcb->control;

	c->event_inj = 0;
	if (inj->valid && inj->type == KHYP_EVENT_NMI) {
		sv->nmi_pending = true;
	} else if (inj->valid) {
		c->event_inj = inj->vector | svm_event_type(inj->type) |
			       SVM_EVTINJ_VALID |
			       (inj->has_error_code ? SVM_EVTINJ_VALID_ERR : 0);
		c->event_inj_err = inj->error_code;
		return;
	}
	if (sv->nmi_pending && !svm_nmi_blocked(sv, rip)) {
		c->event_inj = X86_TRAP_NMI | SVM_EVTINJ_TYPE_NMI |
			       SVM_EVTINJ_VALID;
		sv->nmi_pending = false;
		sv->nmi_blocked = true;
		svm_set_iret_intercept(sv->vmcb, true);
	}
}

/* Steps 1 and 3 (2 is svm_vcpu_load()'s). */
static void svm_prepare_entry(struct svm_vcpu *sv, struct khyp_vcpu *vcpu,
			      const struct khyp_entry *entry)
{
	struct vmcb *vmcb = sv->vmcb;
	struct vmcb_save_area *s = &vmcb->save;
	struct svm_asids *asids = this_cpu_ptr(&svm_asids);
	bool nmi_window, window;

	/* EFER, CR0 or CR4 may have changed since the last entry. */
	svm_sync_cr4(sv);
	svm_pick_asid(vcpu, sv, entry->flush_tlb || sv->new_asid);
	sv->new_asid = false;
	vmcb->control.tlb_ctl = asids->flush ? TLB_CONTROL_FLUSH_ALL_ASID :
					       TLB_CONTROL_DO_NOTHING;

	s->rax = vcpu->regs.gpr[KHYP_RAX];
	s->rsp = vcpu->regs.gpr[KHYP_RSP];
	s->rip = vcpu->regs.rip;
	s->rflags = vcpu->regs.rflags;
	/* The guest cannot read DR6 (#UD): each #DB starts from rest. */
	s->dr6 = DR6_RESERVED;

	/* The core ends an interrupt shadow once RIP has moved. */
	if (entry->end_shadow)
		vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
	svm_inject(sv, &entry->inject, s->rip);
	/*
	 * CR8 is the local APIC's TPR: V_TPR, which the guest's MOV to CR8
	 * changes without an exit (V_INTR_MASKING), unless an interrupt
	 * waits for it to go down.
	 */
	if (entry->tpr_sync)
		vmcb->control.int_ctl = (vmcb->control.int_ctl & ~V_TPR_MASK) |
					entry->cr8;
	/* An NMI waits for an IRET to run: see svm_inject(). */
	nmi_window = sv->nmi_pending && sv->at_iret &&
		     !(s->rflags & X86_EFLAGS_IF);
	window = entry->irq_window || nmi_window;
	svm_set_window(vmcb, window);
	/*
	 * While the window's V_IRQ is set, a MOV to CR8 exits too: QEMU's
	 * MOV to CR8 then re-evaluates V_IRQ and calls cpu_interrupt()
	 * without its global lock, an assertion that aborts the whole
	 * machine (QEMU 6.2 to at least 7.2, target/i386 helper_write_crN;
	 * guest_fuzz_test found it, docs/reliability.md).  The exit costs
	 * a guest that writes CR8 with interrupts off and one pending.
	 */
	svm_set_cr8_intercept(vmcb, entry->cr8_write_exit || window);
}

/*
 * The VMRUN failed its checks: the event it was to deliver goes again
 * next time, as vmx_entry_not_delivered() does.  An NMI waits in
 * sv->nmi_pending again, and NMIs are not blocked: its handler never ran.
 */
static void svm_entry_not_delivered(struct svm_vcpu *sv,
				    const struct khyp_entry *entry,
				    struct khyp_exit *exit)
{
	struct vmcb_control_area *c = &sv->vmcb->control;
	/*
	 * What EVENTINJ held: still there, or (QEMU) moved to EXITINTINFO
	 * as for an event whose delivery an exit interrupted.  Nothing
	 * stale can be there: an event in EXITINTINFO goes into EVENTINJ
	 * again at the next entry.
	 */
	u32 inj = c->event_inj & SVM_EVTINJ_VALID ? c->event_inj :
						    c->exit_int_info;

	if (inj & SVM_EVTINJ_VALID) {
		if ((inj & SVM_EVTINJ_TYPE_MASK) == SVM_EVTINJ_TYPE_NMI) {
			sv->nmi_pending = true;
			sv->nmi_blocked = false;
			svm_set_iret_intercept(sv->vmcb, false);
		} else {
			exit->interrupted = entry->inject;
		}
	}
	c->event_inj = 0;
}

/*
 * Enter the guest once (see the top of the file).  Interrupts and
 * preemption are off, the vCPU is loaded on this CPU.
 */
void svm_run(struct khyp_vcpu *vcpu, const struct khyp_entry *entry,
	     struct khyp_exit *exit)
{
	struct svm_vcpu *sv = to_svm(vcpu);
	struct vmcb *vmcb = sv->vmcb;
	struct vmcb_save_area *s = &vmcb->save;
	bool host_dr7 = hw_breakpoint_active();

	svm_prepare_entry(sv, vcpu, entry);

	/* Step 4; the host's VMSAVE area (svm_vcpu_load() filled it). */
	clgi();
	native_irq_enable();
	svm_vmenter(vcpu->regs.gpr, sv->vmcb_pa, sv->host_save_pa);
	native_irq_disable();

	/*
	 * #VMEXIT leaves DR7 with every breakpoint off: the host's again.
	 * DR6 keeps the guest's, which the host's next #DB would take for
	 * its own: back to rest if a #DB in the guest changed it.
	 */
	if (host_dr7)
		hw_breakpoint_restore();
	else if (s->dr6 != DR6_RESERVED)
		native_set_debugreg(6, DR6_RESERVED);
	stgi();

	/* Also when the guest did not run: the CR8 the next entry has. */
	exit->cr8 = vmcb->control.int_ctl & V_TPR_MASK;

	/*
	 * SVM may have been turned off before VMRUN (reboot, crash): no exit
	 * to look at, and the run loop stops at its next check.
	 */
	if (unlikely(READ_ONCE(khyp_hw_going_away))) {
		exit->kind = KHYP_X_NONE;
		return;
	}

	/* Also when the guest did not run: the state the next entry has. */
	exit->int_shadow = !!(vmcb->control.int_state &
			      SVM_INTERRUPT_SHADOW_MASK);

	/* Step 5: a machine check for the host: its handler runs now. */
	if (vmcb->control.exit_code == SVM_EXIT_EXCP_BASE + X86_TRAP_MC)
		khyp_host_machine_check();

	/*
	 * A consistency check failed: the guest did not run, and its
	 * registers are what they were (QEMU even writes its own state
	 * into the save area).  VMEXIT_INVALID is -1; QEMU writes only the
	 * low 32 bits of it, as KVM's u32 exit_code expects.  A flush of
	 * every ASID stays pending until a VMRUN succeeds.
	 */
	if (unlikely(vmcb->control.exit_code == (u32)SVM_EXIT_ERR)) {
		exit->kind = KHYP_X_INVALID_STATE;
		exit->hw_code = (u64)SVM_EXIT_ERR;
		svm_entry_not_delivered(sv, entry, exit);
		return;
	}
	this_cpu_write(svm_asids.flush, false);
	/* Long mode entered from where svm_sync_cr4() set PAE. */
	if (unlikely((s->efer & EFER_LMA) && !(sv->cr4 & X86_CR4_PAE)))
		sv->cr4 |= X86_CR4_PAE;
	vcpu->regs.gpr[KHYP_RAX] = s->rax;
	vcpu->regs.gpr[KHYP_RSP] = s->rsp;
	vcpu->regs.rip = s->rip;
	vcpu->regs.rflags = s->rflags;

	/*
	 * The IRET that ended an NMI handler has run once RIP has left it:
	 * checked at every exit, so that a later visit of the guest to the
	 * same address does not find NMIs still blocked.
	 */
	if (unlikely(sv->at_iret) && s->rip != sv->iret_rip)
		sv->at_iret = false;

	/* Step 6. */
	svm_read_interrupted(sv, exit);
	svm_translate_exit(sv, exit);

	/* After a shutdown the control area is undefined: build it again. */
	if (exit->kind == KHYP_X_SHUTDOWN)
		svm_vmcb_init_control(vcpu, vmcb);
}
