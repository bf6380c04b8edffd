// SPDX-License-Identifier: GPL-2.0
/*
 * The run loop: KHYP_RUN, from the ioctl into the guest and back.
 *
 * Here the core and a backend meet at run time (->vcpu_load, ->vcpu_put,
 * ->run), but not only here: core/mmio.c, core/cr4.c and irq/inject.c
 * ask the backend for the guest's paging state (->get_paging), and
 * core/cr4.c reads and writes control registers (->get_cr, ->set_cr).
 * Read it top to bottom as what happens on each trip:
 *
 *  1. Finish what userspace was asked to do at the last exit (the value of
 *     an IN, an MMIO read or a hypercall result goes into a register).
 *  2. Load the guest FPU state and the vCPU onto this CPU (the backend's
 *     vcpu_load; the preempt notifier repeats it whenever the thread is
 *     scheduled back in, possibly on another CPU).
 *  3. Loop: stop for a pending signal; give the CPU away if needed; take
 *     INIT and SIPI sent to the vCPU, and sleep while it is halted or
 *     waits for a SIPI (vcpu->power, core/vcpu.h); pick the event to
 *     inject (irq/inject.c); with interrupts off, publish
 *     that this vCPU is in the guest, flush the TLB if mappings went away,
 *     and let the backend run the guest once.  Interrupts are enabled
 *     again right after, so a host interrupt that made the guest exit is
 *     taken here, on the host.
 *  4. Handle the exit, in the backend-neutral model of core/khyp.h: most
 *     exits are finished in the kernel and the loop goes on; a
 *     second-level fault is RAM (mmu/fault.c) or MMIO, and MMIO and port
 *     I/O go to an in-kernel device if one claims the address
 *     (core/bus.c); khyp's own hypercalls go to the subsystem that
 *     registered their number (core/subsys.c); the rest of I/O and MMIO,
 *     HLT, other hypercalls, shutdown and errors are described in the
 *     shared struct khyp_run and KHYP_RUN returns.  A guest spinning on
 *     PAUSE gives its CPU to another vCPU of its VM (core/spin.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <asm/cpufeature.h>
#include <asm/pkru.h>
#include <asm/processor-flags.h>
#include <asm/traps.h>
/* smp_send_reschedule() traces its IPI from 6.4 on: the declaration. */
#include <trace/events/ipi.h>

#include "../irq/irq.h"
#include "../mmu/fault.h"
#include "bus.h"
#include "compat.h"
#include "khyp.h"
#include "mitigations.h"
#include "subsys.h"
#include "trace.h"
#include "vcpu.h"
#include "vm.h"

static inline struct khyp_vcpu *preempt_to_vcpu(struct preempt_notifier *pn)
{
	return container_of(pn, struct khyp_vcpu, preempt);
}

static void khyp_vcpu_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct khyp_vcpu *vcpu = preempt_to_vcpu(pn);

	WRITE_ONCE(vcpu->ready, false);
	WRITE_ONCE(vcpu->cpu, cpu);
	khyp_vcpu_host_touched(vcpu);	/* another task ran here */
	khyp_spec_vcpu_load(vcpu, cpu);
	khyp_backend->vcpu_load(vcpu, cpu);
}

/*
 * Runnable while it loses the CPU: preempted, not on its way to sleep,
 * so worth a spinning vCPU's yield (core/spin.c).  On its way to sleep
 * it is not, even if a kick marked it ready while it ran.
 */
static void khyp_vcpu_sched_out(struct preempt_notifier *pn,
				struct task_struct *next)
{
	struct khyp_vcpu *vcpu = preempt_to_vcpu(pn);

	WRITE_ONCE(vcpu->ready, khyp_task_runnable(current));
	khyp_backend->vcpu_put(vcpu);
}

static struct preempt_ops khyp_preempt_ops = {
	.sched_in	= khyp_vcpu_sched_in,
	.sched_out	= khyp_vcpu_sched_out,
};

void khyp_vcpu_preempt_init(struct khyp_vcpu *vcpu)
{
	preempt_notifier_init(&vcpu->preempt, &khyp_preempt_ops);
}

static void khyp_vcpu_load(struct khyp_vcpu *vcpu)
{
	int cpu = get_cpu();

	preempt_notifier_register(&vcpu->preempt);
	WRITE_ONCE(vcpu->ready, false);
	WRITE_ONCE(vcpu->cpu, cpu);
	khyp_vcpu_host_touched(vcpu);	/* userspace ran since the last entry */
	khyp_spec_vcpu_load(vcpu, cpu);
	khyp_backend->vcpu_load(vcpu, cpu);
	put_cpu();
}

static void khyp_vcpu_put(struct khyp_vcpu *vcpu)
{
	preempt_disable();
	khyp_backend->vcpu_put(vcpu);
	preempt_notifier_unregister(&vcpu->preempt);
	preempt_enable();
}

/* The value an IN read goes into AL, AX or EAX (which zero-extends). */
static void khyp_io_in_complete(struct khyp_vcpu *vcpu, u8 size, u64 data)
{
	u64 *rax = &vcpu->regs.gpr[KHYP_RAX];
	u64 mask;

	if (size == 4) {
		*rax = (u32)data;
	} else {
		mask = GENMASK_ULL(size * 8 - 1, 0);
		*rax = (*rax & ~mask) | (data & mask);
	}
}

/* Step 1: the value userspace produced goes where the guest expects it. */
static void khyp_complete_pending(struct khyp_vcpu *vcpu)
{
	struct khyp_run *run = vcpu->run;

	switch (vcpu->pending) {
	case KHYP_PENDING_IO_IN:
		khyp_io_in_complete(vcpu, vcpu->io_size, run->io.data);
		break;
	case KHYP_PENDING_MMIO_READ:
		khyp_mmio_complete(vcpu);
		break;
	case KHYP_PENDING_HYPERCALL:
		vcpu->regs.gpr[KHYP_RAX] = run->hypercall.ret;
		break;
	case KHYP_PENDING_NONE:
		break;
	}
	vcpu->pending = KHYP_PENDING_NONE;
}

/*
 * The instruction is complete.  So is any interrupt shadow it was in:
 * irq/inject.c sees that RIP moved, whoever moved it (core/mmio.c and
 * core/cr4.c do too).
 */
static void khyp_skip_insn(struct khyp_vcpu *vcpu, const struct khyp_exit *exit)
{
	vcpu->regs.rip += exit->insn_len;
}

static int khyp_internal_error(struct khyp_vcpu *vcpu, u32 suberror,
			       const struct khyp_exit *exit)
{
	struct khyp_run *run = vcpu->run;

	run->exit_reason = KHYP_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.hw_exit_code = exit->hw_code;
	run->internal.ndata = 3;
	run->internal.data[0] = exit->hw_info[0];
	run->internal.data[1] = exit->hw_info[1];
	run->internal.data[2] = vcpu->regs.rip;
	return 0;
}

/*
 * The core refused the state before the hardware saw it (core/state.c):
 * INVALID_STATE as from the hardware, with hw_exit_code 0, counted with
 * the backends' refusals.
 */
static int khyp_state_refused(struct khyp_vcpu *vcpu)
{
	const struct khyp_exit none = { .kind = KHYP_X_INVALID_STATE };

	vcpu->exits[KHYP_X_INVALID_STATE]++;
	return khyp_internal_error(vcpu, KHYP_INTERNAL_INVALID_STATE, &none);
}

static int khyp_handle_io(struct khyp_vcpu *vcpu, const struct khyp_exit *exit)
{
	struct khyp_run *run = vcpu->run;
	u8 size = exit->io.size;
	u64 data;

	if (exit->io.string || exit->io.rep ||
	    (size != 1 && size != 2 && size != 4)) {
		khyp_internal_error(vcpu, KHYP_INTERNAL_UNSUPPORTED_IO, exit);
		run->internal.data[0] = exit->io.port;
		return 0;
	}
	/* An in-kernel device (core/bus.c) completes it here, or userspace. */
	if (exit->io.in) {
		if (khyp_bus_read(vcpu, &vcpu->vm->bus, KHYP_BUS_PIO,
				  exit->io.port, size, &data)) {
			khyp_io_in_complete(vcpu, size, data);
			khyp_skip_insn(vcpu, exit);
			return 1;
		}
	} else {
		data = vcpu->regs.gpr[KHYP_RAX] & GENMASK_ULL(size * 8 - 1, 0);
		if (khyp_bus_write(vcpu, &vcpu->vm->bus, KHYP_BUS_PIO,
				   exit->io.port, size, data)) {
			khyp_skip_insn(vcpu, exit);
			return 1;
		}
	}

	run->exit_reason = KHYP_EXIT_IO;
	run->io.port = exit->io.port;
	run->io.size = size;
	run->io.padding = 0;
	if (exit->io.in) {
		run->io.direction = KHYP_IO_IN;
		run->io.data = 0;
		vcpu->pending = KHYP_PENDING_IO_IN;
		vcpu->io_size = size;
	} else {
		run->io.direction = KHYP_IO_OUT;
		run->io.data = data;
	}
	khyp_skip_insn(vcpu, exit);
	return 0;
}

/*
 * A second-level fault: RAM first (mmu/fault.c), then MMIO, which
 * core/mmio.c decodes and gives to an in-kernel device (core/bus.c) or,
 * if none claims it, to userspace.
 *
 * The vCPU's xAPIC page, at its default address and where that is not
 * RAM, is mapped to the backend's APIC-access page if it has one (VMX):
 * its accesses then come back with
 * npf.apic, which need no RAM lookup, and a store to EOI not even a
 * decode.  Such an EOI reads neither guest memory nor the VM's tables,
 * so it leaves the L1D flush alone, as KVM's EOI shortcut does.
 *
 * A guest that polls a device register faults on the same frame again
 * and again (nothing is ever mapped there).  The last frame this vCPU
 * found in no slot is remembered with the VM's mem.inval_seq of that
 * moment: until a slot is added or removed or the balloon reclaims
 * (each bumps it), a fault there goes to MMIO without the RAM lookup,
 * ~300 instructions on vmx-bochs, as KVM's MMIO entries with their
 * generation do.  One frame only: a guest that alternates between two
 * pages of devices finds neither.  Only "in no slot" is remembered: a
 * write to a read-only slot is MMIO too, but a read there is RAM.
 */
static int khyp_handle_npf(struct khyp_vcpu *vcpu,
			   const struct khyp_exit *exit)
{
	u64 gpa = exit->npf.gpa, gfn = gpa >> PAGE_SHIFT;
	phys_addr_t apic_pa = 0;
	bool no_slot = false;
	unsigned long seq;
	int r;

	if (exit->npf.apic) {
		if (exit->npf.apic_store && !exit->interrupted.valid &&
		    khyp_lapic_mmio_eoi(vcpu, gpa)) {
			khyp_skip_insn(vcpu, exit);
			return 1;
		}
		/* The decode walks the guest's page tables. */
		khyp_vcpu_host_touched(vcpu);
		goto mmio;
	}

	/* Page allocation and zeroing, or a guest page-table walk. */
	khyp_vcpu_host_touched(vcpu);
	if (khyp_backend->apic_access_pa &&
	    (gpa & PAGE_MASK) == KHYP_APIC_ACCESS_GPA &&
	    khyp_lapic_mmio_page(vcpu, gpa))
		apic_pa = khyp_backend->apic_access_pa();
	seq = READ_ONCE(vcpu->vm->mem.inval_seq);
	if (vcpu->not_ram_valid && vcpu->not_ram_gfn == gfn &&
	    vcpu->not_ram_seq == seq && !apic_pa && !exit->npf.fetch)
		goto mmio;
	r = khyp_mmu_fault(vcpu->vm, gpa, exit->npf.write, exit->npf.fetch,
			   apic_pa, &no_slot);
	if (r)
		return r;
	/* In no slot, and none came or went meanwhile: remember it. */
	if (no_slot && !apic_pa && !exit->npf.fetch &&
	    READ_ONCE(vcpu->vm->mem.inval_seq) == seq) {
		vcpu->not_ram_gfn = gfn;
		vcpu->not_ram_seq = seq;
		vcpu->not_ram_valid = true;
	}
mmio:

	/* Not RAM, or a write to read-only RAM: MMIO. */
	if (exit->npf.fetch) {
		khyp_internal_error(vcpu, KHYP_INTERNAL_EMULATION, exit);
		vcpu->run->internal.data[0] = gpa;
		vcpu->run->internal.data[1] = 0;
		return 0;
	}
	if (exit->interrupted.valid) {
		khyp_internal_error(vcpu, KHYP_INTERNAL_DELIVERY, exit);
		vcpu->run->internal.data[0] = gpa;
		return 0;
	}
	return khyp_mmio_handle(vcpu, exit);
}

static int khyp_handle_hypercall(struct khyp_vcpu *vcpu,
				 const struct khyp_exit *exit)
{
	static const u8 arg_regs[] = {
		KHYP_RBX, KHYP_RCX, KHYP_RDX, KHYP_RSI, KHYP_RDI,
	};
	struct khyp_run *run = vcpu->run;
	u64 *gpr = vcpu->regs.gpr;
	u64 mask = U64_MAX;
	unsigned int i;

	khyp_skip_insn(vcpu, exit);
	if (exit->hypercall.cpl) {
		gpr[KHYP_RAX] = (u64)-KHYP_HC_EPERM;
		return 1;
	}
	if (!exit->hypercall.long_mode)
		mask = U32_MAX;
	/* khyp's own: the subsystem that registered the number answers. */
	if ((gpr[KHYP_RAX] & mask) >= KHYP_HC_USER_LIMIT) {
		gpr[KHYP_RAX] = khyp_subsys_hypercall(vcpu,
						      gpr[KHYP_RAX] & mask,
						      gpr[KHYP_RBX] & mask,
						      gpr[KHYP_RCX] & mask);
		return 1;
	}
	run->exit_reason = KHYP_EXIT_HYPERCALL;
	run->hypercall.nr = gpr[KHYP_RAX] & mask;
	for (i = 0; i < ARRAY_SIZE(arg_regs); i++)
		run->hypercall.args[i] = gpr[arg_regs[i]] & mask;
	run->hypercall.ret = 0;
	vcpu->pending = KHYP_PENDING_HYPERCALL;
	return 0;
}

/* Step 4: > 0 to enter the guest again, 0 to return to userspace. */
static int khyp_handle_exit(struct khyp_vcpu *vcpu, struct khyp_exit *exit)
{
	struct khyp_run *run = vcpu->run;

	switch (exit->kind) {
	case KHYP_X_NONE:
		return 1;
	case KHYP_X_IO:
		return khyp_handle_io(vcpu, exit);
	case KHYP_X_NPF:
		return khyp_handle_npf(vcpu, exit);
	case KHYP_X_CPUID:
		khyp_cpuid_emulate(vcpu);
		khyp_skip_insn(vcpu, exit);
		return 1;
	case KHYP_X_HLT:
		khyp_skip_insn(vcpu, exit);
		/* An event already queued wakes the guest at once. */
		if (khyp_irq_wakes_halt(vcpu))
			return 1;
		/* With an irqchip, the wait is the kernel's: khyp_wait(). */
		if (vcpu->lapic) {
			vcpu->power = KHYP_POWER_HALTED;
			return 1;
		}
		run->exit_reason = KHYP_EXIT_HLT;
		return 0;
	case KHYP_X_HYPERCALL:
		return khyp_handle_hypercall(vcpu, exit);
	case KHYP_X_RDMSR:
	case KHYP_X_WRMSR:
		if (khyp_msr_emulate(vcpu, exit->kind == KHYP_X_WRMSR))
			khyp_skip_insn(vcpu, exit);
		else
			khyp_irq_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	case KHYP_X_IRQ_WINDOW:
		if (run->request_interrupt_window && khyp_irq_ready(vcpu)) {
			run->exit_reason = KHYP_EXIT_IRQ_WINDOW_OPEN;
			return 0;
		}
		return 1;
	case KHYP_X_SHUTDOWN:
		run->exit_reason = KHYP_EXIT_SHUTDOWN;
		return 0;
	case KHYP_X_UD:
		khyp_irq_queue_exception(vcpu, X86_TRAP_UD, false, 0);
		return 1;
	case KHYP_X_GP:
		khyp_irq_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	case KHYP_X_EXCEPTION:
		khyp_irq_reflect_exception(vcpu, exit);
		return 1;
	case KHYP_X_CR:
		return khyp_cr_emulate(vcpu, exit);
	case KHYP_X_DR:
		return khyp_dr_emulate(vcpu, exit);
	case KHYP_X_PAUSE:
		return khyp_handle_pause(vcpu);
	case KHYP_X_WBINVD:
		/*
		 * Guest memory is write-back cacheable and coherent (EPT/NPT
		 * leaves are WB, CR0.CD stays clear): nothing the guest can
		 * see needs a flush, and a real WBINVD would stall this CPU
		 * and its neighbours for as long as the guest liked.  INVD
		 * lands here too: dropping dirty lines without writing them
		 * back would discard the host's data, and writing them back
		 * is what WBINVD does, which again is not needed.
		 */
		khyp_skip_insn(vcpu, exit);
		return 1;
	case KHYP_X_INVALID_STATE:
		return khyp_internal_error(vcpu, KHYP_INTERNAL_INVALID_STATE,
					   exit);
	case KHYP_X_LTR:
		if (khyp_backend->load_tr)
			return khyp_ltr_emulate(vcpu, exit);
		fallthrough;	/* a backend that reports none */
	default:
		pr_info_ratelimited("vm %u vcpu %u: unexpected %s exit %#llx (%#llx, %#llx) at rip %#llx\n",
				    vcpu->vm->id, vcpu->id, khyp_backend->name,
				    exit->hw_code, exit->hw_info[0],
				    exit->hw_info[1], vcpu->regs.rip);
		return khyp_internal_error(vcpu, KHYP_INTERNAL_UNEXPECTED_EXIT,
					   exit);
	}
}

/*
 * INIT and SIPI that other vCPUs' APICs sent (khyp_vcpu_send_init(),
 * khyp_vcpu_send_sipi()) take effect here, in the vCPU's own thread, so
 * that nothing else ever writes its registers: INIT first, so that
 * INIT, SIPI sent back to back start the vCPU; a SIPI finds it waiting
 * or is dropped, as hardware drops a SIPI to a running processor.
 */
static void khyp_power_events(struct khyp_vcpu *vcpu)
{
	if (!READ_ONCE(vcpu->power_requests))
		return;
	if (test_and_clear_bit(KHYP_REQ_INIT, &vcpu->power_requests)) {
		khyp_vcpu_init_reset(vcpu);
		vcpu->power = KHYP_POWER_WAIT_SIPI;
	}
	if (test_and_clear_bit(KHYP_REQ_SIPI, &vcpu->power_requests) &&
	    vcpu->power == KHYP_POWER_WAIT_SIPI) {
		khyp_vcpu_sipi_start(vcpu, READ_ONCE(vcpu->sipi_vector));
		vcpu->power = KHYP_POWER_RUNNABLE;
	}
}

/* Has the wait of a vCPU that may not run (core/vcpu.h) ended? */
static bool khyp_wait_over(struct khyp_vcpu *vcpu)
{
	if (READ_ONCE(vcpu->power_requests) || READ_ONCE(khyp_hw_going_away))
		return true;
	return vcpu->power == KHYP_POWER_HALTED && khyp_irq_wakes_halt(vcpu);
}

/*
 * The vCPU is halted or waits for SIPI: sleep until its wait is over
 * (khyp_vcpu_kick() wakes us after each interrupt, INIT or SIPI sent to
 * it), a signal or the host going away.  Nothing wakes the sleeper when
 * the host goes away: a reboot does not wait for it, and it holds no
 * hardware state (the preempt notifier put the vCPU); whatever wakes it
 * later finds khyp_hw_going_away set and KHYP_RUN returns -EIO.
 * Returns 0 when woken, -EINTR on a signal: the state is kept and the
 * next KHYP_RUN waits again.
 */
static int khyp_wait(struct khyp_vcpu *vcpu)
{
	int r;

	r = rcuwait_wait_event(&vcpu->halt_wait, khyp_wait_over(vcpu),
			       TASK_INTERRUPTIBLE);
	if (r)
		return -EINTR;
	/* An interrupt ends HLT; INIT and SIPI are the caller's to take. */
	if (vcpu->power == KHYP_POWER_HALTED && khyp_irq_wakes_halt(vcpu))
		vcpu->power = KHYP_POWER_RUNNABLE;
	return 0;
}

/*
 * Step 3, with interrupts off.  Returns false if the guest must not be
 * entered now (a signal or a reschedule came in since the checks).
 */
static bool khyp_enter_guest(struct khyp_vcpu *vcpu, struct khyp_entry *entry,
			     struct khyp_exit *exit)
{
	bool pkru = cpu_feature_enabled(X86_FEATURE_OSPKE);
	unsigned long gen;

	WRITE_ONCE(vcpu->mode, KHYP_IN_GUEST);
	smp_mb();	/* mode before tlb_gen; pairs with khyp_vm_flush_tlbs() */
	if (signal_pending(current) || need_resched() ||
	    khyp_irq_requested(vcpu) || READ_ONCE(vcpu->power_requests) ||
	    READ_ONCE(khyp_hw_going_away)) {
		WRITE_ONCE(vcpu->mode, KHYP_OUTSIDE_GUEST);
		return false;
	}
	gen = atomic_long_read(&vcpu->vm->tlb_gen);
	entry->flush_tlb = gen != vcpu->tlb_gen;
	vcpu->tlb_gen = gen;

	/*
	 * Scheduled out since KHYP_RUN loaded the guest's FPU state: the
	 * registers hold another task's state now.  Load the guest's again,
	 * or the guest would see (and change) that task's registers.
	 */
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();

	if (pkru) {
		vcpu->host_pkru = rdpkru();
		if (vcpu->guest_pkru != vcpu->host_pkru)
			wrpkru(vcpu->guest_pkru);
	}
	trace_khyp_entry(vcpu->vm->id, vcpu->id, vcpu->regs.rip);
	khyp_backend->run(vcpu, entry, exit);
	khyp_spec_after_guest();
	if (pkru) {
		vcpu->guest_pkru = rdpkru();
		if (vcpu->guest_pkru != vcpu->host_pkru)
			wrpkru(vcpu->host_pkru);
	}
	WRITE_ONCE(vcpu->mode, KHYP_OUTSIDE_GUEST);
	return true;
}

/**
 * khyp_vcpu_run() - KHYP_RUN
 * @vcpu:	the vCPU, its mutex held
 *
 * Return: 0 with run->exit_reason set; -EINTR (KHYP_EXIT_INTR) for a
 * signal or immediate_exit; another negative errno if the host failed
 * (-ENOMEM mapping guest memory, -EIO once the host is rebooting).
 */
int khyp_vcpu_run(struct khyp_vcpu *vcpu)
{
	struct khyp_run *run = vcpu->run;
	struct khyp_entry entry;
	struct khyp_exit exit;
	unsigned long now;
	int r;

	khyp_complete_pending(vcpu);
	run->exit_reason = KHYP_EXIT_NONE;
	if (READ_ONCE(run->immediate_exit)) {
		run->exit_reason = KHYP_EXIT_INTR;
		r = -EINTR;
		goto out;
	}

	fpu_swap_kvm_fpstate(&vcpu->fpu, true);
	khyp_vcpu_load(vcpu);
	WRITE_ONCE(vcpu->task, current);	/* for spinners: core/spin.c */
	for (;;) {
		if (signal_pending(current)) {
			run->exit_reason = KHYP_EXIT_INTR;
			r = -EINTR;
			break;
		}
		/* Reboot or crash: virtualization is (being) turned off. */
		if (READ_ONCE(khyp_hw_going_away)) {
			r = -EIO;
			break;
		}
		cond_resched();

		khyp_power_events(vcpu);
		if (vcpu->power != KHYP_POWER_RUNNABLE) {
			khyp_wait(vcpu);
			continue;	/* look again: signal, INIT, SIPI */
		}

		if (run->request_interrupt_window && khyp_irq_ready(vcpu)) {
			run->exit_reason = KHYP_EXIT_IRQ_WINDOW_OPEN;
			r = 0;
			break;
		}
		/* What no entry may take (core/state.c); before any event. */
		if (unlikely(vcpu->state_unchecked)) {
			if (!khyp_state_enterable(vcpu)) {
				r = khyp_state_refused(vcpu);
				break;
			}
			vcpu->state_unchecked = false;
		}
		memset(&entry, 0, sizeof(entry));
		memset(&exit, 0, sizeof(exit));
		/* A HLT in an STI shadow: its exit, without entering. */
		if (unlikely(vcpu->int_shadow) && khyp_irq_shadow_hlt(vcpu)) {
			exit.kind = KHYP_X_HLT;
			exit.insn_len = 1;
			vcpu->exits[exit.kind]++;
			r = khyp_handle_exit(vcpu, &exit);
			if (r <= 0)
				break;
			continue;
		}
		khyp_irq_prepare_entry(vcpu, &entry);

		preempt_disable();
		local_irq_disable();
		if (!khyp_enter_guest(vcpu, &entry, &exit)) {
			local_irq_enable();
			preempt_enable();
			continue;
		}
		/* A host interrupt that stopped the guest is taken here. */
		local_irq_enable();
		preempt_enable();

		trace_khyp_exit(vcpu->vm->id, vcpu->id, exit.kind,
				exit.hw_code, vcpu->regs.rip);
		vcpu->exits[exit.kind]++;
		now = jiffies;
		if (READ_ONCE(vcpu->vm->last_run) != now)	/* shared line */
			WRITE_ONCE(vcpu->vm->last_run, now);
		khyp_irq_after_exit(vcpu, &entry, &exit);
		r = khyp_handle_exit(vcpu, &exit);
		if (r <= 0)
			break;
	}
	WRITE_ONCE(vcpu->task, NULL);
	khyp_vcpu_put(vcpu);
	fpu_swap_kvm_fpstate(&vcpu->fpu, false);
out:
	run->if_flag = !!(vcpu->regs.rflags & X86_EFLAGS_IF);
	run->ready_for_interrupt = khyp_irq_ready(vcpu);
	return r;
}

static void khyp_noop(void *unused)
{
}

/**
 * khyp_vcpu_kick() - make a vCPU that is in the guest exit soon
 * @vcpu:	the vCPU, under rcu_read_lock() or its VM's lock
 *
 * For something that must reach the guest at the next entry (an
 * interrupt the module raised, an IPI or timer of the local APIC, INIT,
 * SIPI); also wakes a vCPU waiting in the kernel (khyp_wait()).  Does
 * not wait; any context.
 */
void khyp_vcpu_kick(struct khyp_vcpu *vcpu)
{
	int cpu;

	/*
	 * Waiting in the kernel (khyp_wait()): wake it (a full barrier); it
	 * is then runnable, a spinner's yield may hurry it (core/spin.c).
	 */
	if (rcuwait_wake_up(&vcpu->halt_wait))
		WRITE_ONCE(vcpu->ready, true);
	smp_mb();	/* the caller's request before mode; see entry */
	if (READ_ONCE(vcpu->mode) != KHYP_IN_GUEST)
		return;
	cpu = READ_ONCE(vcpu->cpu);
	if (cpu < 0 || cpu == raw_smp_processor_id())
		return;
	/*
	 * Any interrupt makes the guest exit; the reschedule IPI, as KVM
	 * sends, costs the target nothing else, can be sent from any
	 * context, and never waits for an earlier one to be handled (a
	 * function-call IPI can, for its per-CPU descriptor).
	 */
	smp_send_reschedule(cpu);
}

/*
 * INIT and SIPI for @vcpu, from its local APIC (irq/lapic.c, any
 * context): a request bit, then a kick; khyp_power_events() applies them.
 */
void khyp_vcpu_send_init(struct khyp_vcpu *vcpu)
{
	set_bit(KHYP_REQ_INIT, &vcpu->power_requests);
	khyp_vcpu_kick(vcpu);
}

void khyp_vcpu_send_sipi(struct khyp_vcpu *vcpu, u8 vector)
{
	WRITE_ONCE(vcpu->sipi_vector, vector);
	smp_mb__before_atomic();	/* the vector before the bit */
	set_bit(KHYP_REQ_SIPI, &vcpu->power_requests);
	khyp_vcpu_kick(vcpu);
}

/**
 * khyp_vm_flush_tlbs() - make every vCPU drop cached guest translations
 * @vm:	the VM, after second-level mappings were removed
 *
 * Each vCPU flushes before its next entry (it compares vm->tlb_gen); a
 * vCPU in the guest right now is sent an IPI, which makes it exit, and we
 * wait for that, so when this returns no vCPU can use a removed mapping.
 */
void khyp_vm_flush_tlbs(struct khyp_vm *vm)
{
	cpumask_var_t cpus;
	struct khyp_vcpu *vcpu;
	unsigned int i;
	bool have_mask;

	have_mask = zalloc_cpumask_var(&cpus, GFP_KERNEL);
	atomic_long_inc(&vm->tlb_gen);
	smp_mb__after_atomic();	/* tlb_gen before mode; see khyp_enter_guest() */

	mutex_lock(&vm->lock);
	for (i = 0; i < KHYP_MAX_VCPUS; i++) {
		vcpu = rcu_dereference_protected(vm->vcpus[i],
						 lockdep_is_held(&vm->lock));
		if (vcpu && READ_ONCE(vcpu->mode) == KHYP_IN_GUEST &&
		    have_mask)
			cpumask_set_cpu(READ_ONCE(vcpu->cpu), cpus);
	}
	mutex_unlock(&vm->lock);

	if (have_mask)
		on_each_cpu_mask(cpus, khyp_noop, NULL, true);
	else
		on_each_cpu(khyp_noop, NULL, true);
	free_cpumask_var(cpus);
}
