/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vCPU object: the state the core keeps for one virtual CPU, beside the
 * hardware state (VMCS or VMCB) its backend keeps behind vcpu->priv.
 */
#ifndef KHYP_CORE_VCPU_H
#define KHYP_CORE_VCPU_H

#include <linux/bitmap.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/rcuwait.h>
#include <linux/preempt.h>
#include <linux/types.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

#include "../irq/irq.h"
#include "insn.h"
#include "khyp.h"

struct khyp_vm;
struct khyp_lapic;
struct dentry;

/* General registers in instruction-encoding order (ModRM.reg numbering). */
enum {
	KHYP_RAX, KHYP_RCX, KHYP_RDX, KHYP_RBX,
	KHYP_RSP, KHYP_RBP, KHYP_RSI, KHYP_RDI,
	KHYP_R8, KHYP_R9, KHYP_R10, KHYP_R11,
	KHYP_R12, KHYP_R13, KHYP_R14, KHYP_R15,
	KHYP_NR_GPRS
};

/**
 * struct khyp_vcpu_regs - the registers the core works on
 * @gpr:	general registers, KHYP_RAX .. KHYP_R15.
 * @rip, @rflags: as their names say.
 *
 * The backend loads them into the guest at each entry and stores them
 * back at each exit (SVM keeps RAX, RSP, RIP and RFLAGS in the VMCB, VMX
 * keeps RSP, RIP and RFLAGS in the VMCS).
 */
struct khyp_vcpu_regs {
	u64 gpr[KHYP_NR_GPRS];
	u64 rip;
	u64 rflags;
};

/* What the next KHYP_RUN must finish before entering the guest. */
enum khyp_pending {
	KHYP_PENDING_NONE,
	KHYP_PENDING_IO_IN,	/* load run->io.data into rAX */
	KHYP_PENDING_MMIO_READ,	/* load run->mmio.data into a register */
	KHYP_PENDING_HYPERCALL,	/* load run->hypercall.ret into RAX */
};

/**
 * struct khyp_vcpu_events - events waiting to enter the guest (irq/irq.h)
 * @reinject:	the event an exit interrupted; goes first.
 * @exception:	an exception queued by userspace or by emulation.
 * @nmi:	an NMI queued by userspace.
 * @irq:	an external interrupt queued by userspace, delivered when the
 *		guest has interrupts enabled.
 * @kirq:	an external interrupt the module raised itself (taken from
 *		vcpu->irq_requests), delivered after @irq.
 */
struct khyp_vcpu_events {
	struct khyp_inj reinject;
	struct khyp_inj exception;
	struct khyp_inj nmi;
	struct khyp_inj irq;
	struct khyp_inj kirq;
};

/*
 * vcpu->power: whether KHYP_RUN may enter the guest (core/run.c).  Only
 * a VM with an irqchip leaves RUNNABLE: its vCPUs wait in the kernel,
 * on vcpu->halt_wait, never in a loop and never with an exit per poll.
 *
 *  RUNNABLE:	enter the guest.
 *  HALTED:	the guest executed HLT; an interrupt it can take (or an
 *		NMI) ends the wait.
 *  WAIT_SIPI:	after INIT (and every vCPU but vCPU 0 from its creation,
 *		as the APs of a PC): only a SIPI ends the wait; interrupts
 *		stay pending in the local APIC.  KHYP_SET_SREGS also ends
 *		it: userspace that loads an AP's registers has started it.
 *
 * KHYP_SET_REGS changes none of them; KHYP_SET_SREGS changes only
 * WAIT_SIPI (docs/api.md).  A signal interrupts any wait (KHYP_RUN
 * returns -EINTR) and keeps the state, so the next KHYP_RUN waits again.
 */
enum khyp_vcpu_power {
	KHYP_POWER_RUNNABLE,
	KHYP_POWER_HALTED,
	KHYP_POWER_WAIT_SIPI,
};

/* Bits of vcpu->power_requests: what another vCPU's APIC sent. */
enum {
	KHYP_REQ_INIT,		/* reset as INIT does, then WAIT_SIPI */
	KHYP_REQ_SIPI,		/* start at vcpu->sipi_vector if in WAIT_SIPI */
};

/* vcpu->mode, read by other CPUs that need the vCPU out of the guest. */
enum {
	KHYP_OUTSIDE_GUEST,
	KHYP_IN_GUEST,
};

/**
 * struct khyp_vcpu - one virtual CPU
 * @vm:		(c) its VM, referenced.
 * @id:		(c) 0 .. KHYP_MAX_VCPUS - 1.
 * @mutex:	serialises the vCPU's ioctls: everything marked (m) below
 *		is only touched with it held, by the thread in the ioctl.
 * @run:	(c) the page shared with userspace.
 * @priv:	(c) the backend's state (VMCS or VMCB and friends).
 * @preempt:	(m) notifier that calls the backend's vcpu_load/vcpu_put
 *		while KHYP_RUN runs.
 * @cpu:	CPU the vCPU is loaded on, or -1; written by its own thread
 *		with preemption off, read by TLB shootdowns.
 * @mode:	KHYP_IN_GUEST or KHYP_OUTSIDE_GUEST, see core/run.c.
 * @tlb_gen:	(m) vm->tlb_gen at the last flush.
 * @fpu:	(m) the guest's FPU/XSAVE state.
 * @regs:	(m) general registers, RIP, RFLAGS.
 * @cpuid:	(m) what the guest's CPUID answers.
 * @events:	(m) events waiting to be delivered.
 * @injecting:	(m) which of @events the current entry delivers (irq/).
 * @int_shadow:	(m) the guest was in an interrupt shadow at the last exit.
 * @shadow_rip:	(m) RIP at that exit: the shadow holds only while RIP
 *		is still there (irq/inject.c).
 * @dr:		(m) the guest's debug registers as MOV DR sees them
 *		(core/dr.c): DR0-DR3, DR6, DR7.  The hardware's are not
 *		loaded from them: breakpoints are kept, not armed.
 * @pending:	(m) KHYP_PENDING_*: what userspace must complete.
 * @state_unchecked: (m) userspace set registers since the last entry:
 *		khyp_state_enterable() runs before the next (core/state.c).
 * @mmio_insn:	(m) the decoded instruction of a pending MMIO read.
 * @not_ram_gfn, @not_ram_seq, @not_ram_valid: (m) the last frame a
 *		second-level fault of this vCPU found in no memory slot, and
 *		the VM's mem.inval_seq then, which every slot added or
 *		removed and every balloon reclaim bumps: while it stands,
 *		a fault there is MMIO without the RAM lookup (core/run.c:
 *		khyp_handle_npf()).
 * @io_size:	(m) the size of a pending IN.
 * @exits:	(m) exit counts by kind (debugfs reads them racily).
 * @irq_stats:	(m) interrupt counts, enum khyp_irq_stat (irq/irq.h), by
 *		irq/ on this vCPU's thread; debugfs reads them racily.
 * @host_pkru, @guest_pkru: (m) PKRU outside and inside the guest.
 * @debugfs:	(c) the vCPU's debugfs directory, or NULL.
 * @tlb_tag:	the tag of the vCPU's TLB entries, written by the backend:
 *		its VPID (0: none, the TLB is flushed on each entry) or the
 *		ASID of its last entry; debugfs reads it racily.
 * @irq_requests: interrupt vectors the module raised (the balloon's
 *		notification, khyp_irq_raise_vector()), from any context
 *		with atomic bitops; moved
 *		into @events.kirq before an entry (irq/inject.c).
 * @irq_request_pending: set after a bit of @irq_requests, cleared by the
 *		vCPU's thread when it finds none left: the entry path tests
 *		this flag, not the bitmap.
 * @lapic:	(c) its local APIC (irq/lapic.c) if the VM has an irqchip,
 *		else NULL.
 * @power:	(m) KHYP_POWER_*, above: the vCPU's own thread reads and
 *		writes it, under @mutex (KHYP_RUN, KHYP_SET_SREGS).
 * @power_requests: KHYP_REQ_* bits set by the senders of INIT and SIPI
 *		(irq/lapic.c, any context, atomic bitops, then a kick);
 *		taken by the vCPU's own thread before an entry or in its
 *		wait (core/run.c), which alone changes the vCPU's state:
 *		the sender never touches the registers.
 * @sipi_vector: the last SIPI's vector: WRITE_ONCE before KHYP_REQ_SIPI
 *		is set, READ_ONCE after it is cleared.
 * @halt_wait:	where the vCPU's thread sleeps in a state other than
 *		RUNNABLE; khyp_vcpu_kick() wakes it.
 * @task:	the thread in KHYP_RUN (from its vcpu_load to its
 *		vcpu_put), else NULL: written by that thread, read under
 *		rcu_read_lock() by a spinning vCPU of the VM that looks for
 *		one to yield to (core/spin.c).
 * @spinning:	the vCPU's thread is in core/spin.c's yield: a spinner
 *		itself, no use yielding to; written by its thread, read by
 *		the others' (racy, a hint).
 * @ready:	the vCPU's thread, in KHYP_RUN, is runnable but off its
 *		CPU: set when the scheduler takes the CPU from it while it
 *		is runnable (preempted, not going to sleep) or when
 *		khyp_vcpu_kick() wakes it from khyp_wait(); cleared when it
 *		runs.  Only such a vCPU is worth a spinner's yield (core/
 *		spin.c).  WRITE_ONCE/READ_ONCE, a hint: a wake-up may set it
 *		just after the woken thread started to run.
 * @pause_yields: (m) PAUSE exits that yielded to another vCPU's thread;
 * @pause_no_target: (m) those that found none; debugfs reads them racily.
 * @rcu:	frees the vCPU after a grace period: RCU readers of
 *		vm->vcpus[] may still read @mode, @cpu, @irq_requests,
 *		@task, @spinning and @ready.
 */
/* DR0-DR3, DR6, DR7 of a vCPU (core/dr.c). */
struct khyp_debugregs {
	u64 db[4];
	u64 dr6;
	u64 dr7;
};

struct khyp_vcpu {
	struct khyp_vm *vm;
	unsigned int id;
	struct mutex mutex;	/* serialises ioctls, see above */
	struct khyp_run *run;
	void *priv;
	struct preempt_notifier preempt;
	int cpu;
	int mode;
	unsigned long tlb_gen;
	struct fpu_guest fpu;
	struct khyp_vcpu_regs regs;
	struct khyp_cpuid cpuid;
	struct khyp_vcpu_events events;
	struct khyp_inj *injecting;
	bool int_shadow;
	u64 shadow_rip;
	struct khyp_debugregs dr;
	enum khyp_pending pending;
	bool state_unchecked;
	struct khyp_insn mmio_insn;
	u64 not_ram_gfn;
	unsigned long not_ram_seq;
	bool not_ram_valid;
	u8 io_size;
	u64 exits[KHYP_X_NR];
	u64 irq_stats[KHYP_IRQ_STAT_NR];
	u32 host_pkru, guest_pkru;
	struct dentry *debugfs;
	u32 tlb_tag;
	bool flush_l1d;		/* khyp_vcpu_host_touched() */
	u64 l1d_flushes;	/* by the backend; debugfs l1d_flushes */
	DECLARE_BITMAP(irq_requests, 256);
	bool irq_request_pending;
	struct khyp_lapic *lapic;
	enum khyp_vcpu_power power;
	unsigned long power_requests;
	u8 sipi_vector;
	struct rcuwait halt_wait;
	struct task_struct *task;
	bool spinning;
	bool ready;
	u64 pause_yields;
	u64 pause_no_target;
	struct rcu_head rcu;
};

/*
 * Since the last guest entry, the host may have brought data that is not
 * this guest's (another task's, the kernel's) into this CPU's L1D: the
 * vCPU was (re)loaded, or an exit was handled by code that walks guest
 * page tables, allocates or frees memory (a second-level fault, a balloon
 * batch).  The VMX backend's L1TF defence (vmx/l1d.c) flushes the L1D
 * before the next entry; the exits that do not call this (CPUID, MSRs,
 * control registers, events, the balloon's PROBE) touch only the vCPU's
 * own state and a few words of the VM's.  Host interrupts are tracked by
 * the host kernel.
 */
static inline void khyp_vcpu_host_touched(struct khyp_vcpu *vcpu)
{
	vcpu->flush_l1d = true;
}

/* core/vcpu.c */
int khyp_vcpu_create(struct khyp_vm *vm, unsigned long id);
void khyp_vcpu_init_reset(struct khyp_vcpu *vcpu);
void khyp_vcpu_sipi_start(struct khyp_vcpu *vcpu, u8 vector);

/* core/run.c */
int khyp_vcpu_run(struct khyp_vcpu *vcpu);
void khyp_vcpu_preempt_init(struct khyp_vcpu *vcpu);
void khyp_vm_flush_tlbs(struct khyp_vm *vm);
void khyp_vcpu_kick(struct khyp_vcpu *vcpu);	/* for irq/ */
void khyp_vcpu_send_init(struct khyp_vcpu *vcpu);	/* for irq/ */
void khyp_vcpu_send_sipi(struct khyp_vcpu *vcpu, u8 vector);

/* core/spin.c */
int khyp_handle_pause(struct khyp_vcpu *vcpu);

/* core/cpuid.c */
void khyp_cpuid_set_default(struct khyp_cpuid *table, unsigned int apic_id,
			    bool lapic);
int khyp_cpuid_check(const struct khyp_cpuid *table);
void khyp_cpuid_emulate(struct khyp_vcpu *vcpu);

/* core/msr.c */
int khyp_msr_check(u32 index, u64 data);
bool khyp_msr_known(u32 index);
bool khyp_msr_emulate(struct khyp_vcpu *vcpu, bool write);

/* core/cr4.c */
int khyp_cr_emulate(struct khyp_vcpu *vcpu, const struct khyp_exit *exit);
bool khyp_cr4_long_mode(const struct khyp_paging *p);
int khyp_mov_cr_decode(struct khyp_vcpu *vcpu, const struct khyp_paging *p,
		       bool dr, bool write, int cr, u8 *gpr, u8 *len);
int khyp_mov_cr_failed(struct khyp_vcpu *vcpu, const struct khyp_exit *exit);
/* core/desc.c: LTR, for the SVM backend. */
int khyp_ltr_emulate(struct khyp_vcpu *vcpu, const struct khyp_exit *exit);
/* core/dr.c: MOV to and from the debug registers. */
void khyp_dr_reset(struct khyp_vcpu *vcpu);
int khyp_dr_emulate(struct khyp_vcpu *vcpu, const struct khyp_exit *exit);

/* core/state.c: the guest state khyp refuses to hand to the hardware. */
int khyp_mode_check(u64 cr0, u64 cr4, u64 efer);
bool khyp_state_enterable(struct khyp_vcpu *vcpu);

/* core/mmio.c */
int khyp_mmio_handle(struct khyp_vcpu *vcpu, const struct khyp_exit *exit);
void khyp_mmio_complete(struct khyp_vcpu *vcpu);

#endif /* KHYP_CORE_VCPU_H */
