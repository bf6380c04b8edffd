/* SPDX-License-Identifier: GPL-2.0 */
/*
 * khyp's internal interfaces: what the arch-neutral core (core/) expects of
 * a hardware backend (vmx/, svm/), and what the core offers to them.
 *
 * A backend owns the hardware state (the VMCS or VMCB); the core owns
 * module lifetime, /dev/khyp and the ABI, and the one page per CPU that the
 * hardware holds while virtualization is on (VMXON region or host save
 * area).
 * Exactly one backend is selected at load time, the first whose ->probe()
 * accepts the CPU, and the rest of the module reaches it only through
 * khyp_backend (a const ops table: no backend code is called by name).
 */
#ifndef KHYP_CORE_KHYP_H
#define KHYP_CORE_KHYP_H

#include <linux/bits.h>
#include <linux/types.h>
#include <uapi/linux/khyp.h>

struct page;
struct khyp_vcpu;
struct khyp_pt_format;

/*
 * The common exit model.  After each guest run the backend translates its
 * hardware exit (VMX exit reason + qualification, SVM exit code + EXITINFO)
 * into one struct khyp_exit; the core (core/run.c) handles it once for
 * both backends.
 */
enum khyp_exit_kind {
	KHYP_X_NONE,		/* nothing to do: host interrupt, NMI, ... */
	KHYP_X_IO,		/* IN/OUT: .io */
	KHYP_X_NPF,		/* second-level page fault: .npf */
	KHYP_X_CPUID,
	KHYP_X_HLT,
	KHYP_X_HYPERCALL,	/* VMCALL / VMMCALL */
	KHYP_X_RDMSR,		/* index in ECX */
	KHYP_X_WRMSR,
	KHYP_X_IRQ_WINDOW,	/* the guest can take an interrupt now */
	KHYP_X_SHUTDOWN,	/* triple fault */
	KHYP_X_UD,		/* an instruction khyp refuses: give #UD */
	KHYP_X_INVALID_STATE,	/* the hardware refused to enter */
	KHYP_X_UNKNOWN,		/* an exit khyp does not handle */
	KHYP_X_EXCEPTION,	/* an intercepted guest exception: .exception */
	KHYP_X_WBINVD,		/* WBINVD or INVD: skipped */
	KHYP_X_GP,		/* an instruction khyp refuses: give #GP(0) */
	KHYP_X_CR,		/* MOV to or from a control register: .cr */
	KHYP_X_DR,		/* MOV to or from a debug register: .cr */
	KHYP_X_LTR,		/* LTR (SVM): core/desc.c emulates it */
	KHYP_X_PAUSE,		/* a spin loop on PAUSE (core/spin.c) */
	KHYP_X_NR
};

/* An event on its way into the guest (irq/inject.c: injection, re-injection). */
struct khyp_inj {
	bool valid;
	bool has_error_code;
	u8 type;		/* KHYP_EVENT_INTERRUPT, _NMI or _EXCEPTION */
	u8 vector;
	u32 error_code;
};

/**
 * struct khyp_exit - why the guest stopped, in the backend-neutral model
 * @kind:	KHYP_X_*.
 * @insn_len:	for exits on an instruction (IO, CPUID, HLT, HYPERCALL,
 *		RDMSR, WRMSR): its length, which the core adds to RIP when it
 *		has emulated it.
 * @hw_code:	the backend's raw exit reason (stats, internal errors).
 * @hw_info:	raw details (qualification / EXITINFO1-2) for error reports.
 * @interrupted: the event the guest was receiving when the exit happened;
 *		the core delivers it again at the next entry.
 * @int_shadow:	the guest is in an STI or MOV SS interrupt shadow.
 * @io:		KHYP_X_IO.
 * @npf:	KHYP_X_NPF: @gpa, and what the access was.  @apic: the
 *		access hit an APIC-access page (->apic_access_pa), so @gpa
 *		is not RAM; @apic_store: it was a store by an instruction
 *		whose length is in @insn_len (VMX's APIC-access exit).
 * @hypercall:	KHYP_X_HYPERCALL: the caller's CPL, and whether it runs
 *		64-bit code (else arguments are 32 bits wide).
 * @cr:	KHYP_X_CR: which control register, the direction, and the
 *		general register if the backend knows it (@insn_len is
 *		then known too); else (CR4 and CR8 only) the core decodes
 *		the instruction.  Which accesses exit differs: SVM
 *		intercepts every CR4 read and write, and MOV to CR8 when
 *		entry->cr8_write_exit asks or while an interrupt or NMI
 *		window (V_IRQ) is open, irqchip or not; VMX only MOV to
 *		CR0/CR4 that
 *		changes a bit khyp owns, and every CR8 access.
 *		KHYP_X_DR uses it the same way for a debug register: VMX
 *		names the register, SVM leaves it to the core's decoder
 *		unless decode assists do.
 * @exception:	KHYP_X_EXCEPTION: the exception the guest raised, which
 *		khyp intercepts only to keep the host safe (see
 *		khyp_irq_reflect_exception()); it goes back to the guest.
 * @cr8:	with entry->tpr_sync, on every exit (also when the guest did
 *		not run): the guest's CR8 as the backend holds it now.  SVM:
 *		V_TPR, which MOV to CR8 changes without an exit; VMX: what
 *		the entry gave (every CR8 access exits).
 */
struct khyp_exit {
	enum khyp_exit_kind kind;
	u8 insn_len;
	bool int_shadow;
	u8 cr8;
	u64 hw_code;
	u64 hw_info[2];
	struct khyp_inj interrupted;
	union {
		struct {
			u16 port;
			u8 size;
			bool in;
			bool string;
			bool rep;
		} io;
		struct {
			u64 gpa;
			bool write;
			bool fetch;
			bool apic;
			bool apic_store;
		} npf;
		struct {
			u8 cpl;
			bool long_mode;
		} hypercall;
		struct {
			u8 vector;
			bool has_error_code;
			u32 error_code;
		} exception;
		struct {
			u8 cr;
			bool write;
			bool decoded;
			u8 gpr;
		} cr;
	};
};

/**
 * struct khyp_entry - what the core asks of the next guest entry
 * @inject:	deliver this event on entry.
 * @irq_window:	exit (KHYP_X_IRQ_WINDOW) as soon as the guest can take an
 *		external interrupt.
 * @flush_tlb:	second-level mappings were removed: drop the guest's
 *		cached translations before entering.
 * @end_shadow:	the STI/MOV SS shadow the last exit reported is over:
 *		RIP has moved since (the core completed the instruction, or
 *		userspace set RIP), so the backend clears it.
 * @tpr_sync:	the VM has an irqchip, so CR8 is the local APIC's TPR
 *		(irq/inject.c): enter with @cr8 as the guest's CR8, and
 *		report it at the exit (exit->cr8).  Without an irqchip the
 *		backend keeps CR8 itself (KHYP_GET/SET_SREGS).
 * @cr8:	with @tpr_sync: the TPR's bits 7:4.
 * @cr8_write_exit: with @tpr_sync: an interrupt waits for the TPR to go
 *		down, so MOV to CR8 must exit (KHYP_X_CR) for it to be
 *		delivered at once.  VMX: every CR8 access exits anyway.
 */
struct khyp_entry {
	struct khyp_inj inject;
	bool irq_window;
	bool flush_tlb;
	bool end_shadow;
	bool tpr_sync;
	bool cr8_write_exit;
	u8 cr8;
};

/**
 * struct khyp_paging - the guest state needed to read guest memory by
 *			virtual address (instruction fetch for MMIO)
 */
struct khyp_paging {
	u64 cr0, cr3, cr4, efer;
	u64 cs_base;
	bool cs_l, cs_db;
	u8 cpl;
};

/* The one guest-physical page where ->apic_access_pa is mapped. */
#define KHYP_APIC_ACCESS_GPA	0xfee00000ULL

/**
 * struct khyp_backend_ops - one hardware virtualization backend
 * @name:	short name, "vmx" or "svm", used in log lines.
 * @cpu_area_order: the per-CPU area given to @cpu_enable is 2^order pages.
 * @pt_format:	the second-level page-table format (EPT or NPT).
 * @probe:	decide whether this CPU can run the backend and fill @caps.
 *		Returns 0, or -ENODEV with one log line saying what is
 *		missing.  Runs once, before anything is allocated.
 * @cpu_enable:	turn virtualization on for the calling CPU (VMXON or
 *		EFER.SVME), giving the hardware @area, zeroed pages of this
 *		CPU's that stay allocated until the CPU is disabled.  Called
 *		with interrupts off.  Returns -EBUSY if another hypervisor
 *		already has it on.
 * @cpu_disable: turn it off on the calling CPU.  Called with interrupts
 *		off, also from the reboot path: must not sleep or fail.
 * @setup:	(optional) after a successful probe, before any CPU is
 *		enabled: allocate what the backend shares between all VMs.
 * @teardown:	(optional) undo @setup, after every CPU is disabled.
 * @vcpu_create: allocate the hardware state of @vcpu (VMCS or VMCB), in
 *		the x86 reset state, and set vcpu->priv.
 * @vcpu_destroy: free it; the vCPU is not loaded on any CPU.
 * @vcpu_load:	the vCPU's thread starts running on this CPU (start of
 *		KHYP_RUN, or scheduled back in); preemption is off.
 * @vcpu_put:	it stops running here (end of KHYP_RUN, or preempted);
 *		preemption is off.
 * @get_sregs:	read segment, descriptor-table and control registers.
 * @set_sregs:	write them; the core has checked reserved fields.
 * @get_msr:	read an MSR of the set in core/msr.c (already validated).
 * @set_msr:	write one; the core has checked the value.
 * @get_paging:	the guest's paging mode and CS, for guest-virtual reads;
 *		CR4 as the guest reads it.
 * @get_cr:	a control register as the guest reads it, for the
 *		KHYP_X_CR exits the backend reports (CR4, CR8; CR8 of a VM
 *		with an irqchip is the local APIC's and never asked for).
 * @set_cr:	the guest's MOV to a control register, for the KHYP_X_CR
 *		exits the backend reports; the core checked the value (and
 *		gives CR8 to the local APIC when the VM has an irqchip);
 *		also CR2, for a page fault the core raises in emulation.
 *		Returns true when the instruction is complete (the core
 *		moves RIP past it), false if the guest must execute it
 *		again (VMX: the write also changes bits the guest owns,
 *		which the processor then does itself).
 * @load_tr:	(optional) load TR from @tr (its type busy, as the ABI
 *		shows it), for the KHYP_X_LTR exits the backend reports
 *		(core/desc.c checked the descriptor and marked it busy).
 * @nmi_held:	whether the backend holds an NMI it could deliver now (one
 *		queued while NMIs were blocked, whose handler has ended): a
 *		HLT then ends in the kernel, as the NMI would wake the CPU.
 *		NULL where the hardware's NMI-window exit delivers such an
 *		NMI before the guest can reach a HLT (VMX).
 * @apic_access_pa: (optional) the host-physical address of a page the
 *		core may map at KHYP_APIC_ACCESS_GPA when that is a vCPU's
 *		xAPIC page and not RAM; the guest's accesses to it then exit
 *		as KHYP_X_NPF with npf.apic (VMX); 0 if there is none.
 * @run:	enter the guest once, with @entry, and describe the exit in
 *		@exit.  Called with interrupts and preemption off, on the CPU
 *		of the last @vcpu_load; returns with interrupts off.  General
 *		registers, RIP and RFLAGS are in vcpu->regs on entry and
 *		must be there on return.
 */
struct khyp_backend_ops {
	const char *name;
	unsigned int cpu_area_order;
	const struct khyp_pt_format *pt_format;
	int (*probe)(struct khyp_caps *caps);
	int (*cpu_enable)(struct page *area);
	void (*cpu_disable)(void);
	int (*setup)(void);
	void (*teardown)(void);

	int (*vcpu_create)(struct khyp_vcpu *vcpu);
	void (*vcpu_destroy)(struct khyp_vcpu *vcpu);
	void (*vcpu_load)(struct khyp_vcpu *vcpu, int cpu);
	void (*vcpu_put)(struct khyp_vcpu *vcpu);
	void (*get_sregs)(struct khyp_vcpu *vcpu, struct khyp_sregs *sregs);
	void (*set_sregs)(struct khyp_vcpu *vcpu,
			  const struct khyp_sregs *sregs);
	u64 (*get_msr)(struct khyp_vcpu *vcpu, u32 index);
	void (*set_msr)(struct khyp_vcpu *vcpu, u32 index, u64 data);
	void (*get_paging)(struct khyp_vcpu *vcpu, struct khyp_paging *paging);
	u64 (*get_cr)(struct khyp_vcpu *vcpu, int cr);
	bool (*set_cr)(struct khyp_vcpu *vcpu, int cr, u64 val);
	void (*load_tr)(struct khyp_vcpu *vcpu,
			const struct khyp_segment *tr);
	bool (*nmi_held)(struct khyp_vcpu *vcpu);
	phys_addr_t (*apic_access_pa)(void);
	void (*run)(struct khyp_vcpu *vcpu, const struct khyp_entry *entry,
		    struct khyp_exit *exit);
};

extern const struct khyp_backend_ops khyp_vmx_ops;
extern const struct khyp_backend_ops khyp_svm_ops;

/* A CPUID feature's bit in the register that holds it. */
#define khyp_cpuid_bit(feature)	BIT((feature) & 31)

/* Set once at load time, read-only afterwards. */
extern const struct khyp_backend_ops *khyp_backend;
extern struct khyp_caps khyp_caps;

/*
 * core/spin.c: whether a backend turns on its PAUSE exits (VMX pause-loop
 * exiting, SVM pause filter) where the CPU has them; read at probe.
 */
extern bool khyp_pause_exit;

/* core/cr4.c: the CR4 bits a guest may own, and the host's #MC handler. */
void khyp_cr4_init(void);
u64 khyp_cr4_guest_allowed(void);
u64 khyp_cr4_forced(void);
bool khyp_cr4_write_ok(u64 old, u64 val, u64 efer, u64 cr3);
void khyp_host_machine_check(void);

/* core/dev.c: the /dev/khyp misc device. */
int khyp_dev_register(void);
void khyp_dev_unregister(void);

/* core/vm.c: VM objects and their files. */
int khyp_vm_init(void);
void khyp_vm_exit(void);
int khyp_vm_create(void);

/* core/hw.c: virtualization on/off on every CPU. */
int khyp_hw_enable_all(void);
void khyp_hw_disable_all(void);
struct page *khyp_hw_this_cpu_area(void);
/* Set for good when a reboot, kexec or crash turns virtualization off. */
extern bool khyp_hw_going_away;

#endif /* KHYP_CORE_KHYP_H */
