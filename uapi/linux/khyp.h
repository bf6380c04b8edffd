/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * khyp: the ioctl ABI of /dev/khyp.
 *
 * Rules every structure here follows:
 *  - only fixed-width __u8..__u64 types, no pointers, explicit padding so
 *    that the size is a multiple of 8 and the same for 32- and 64-bit users;
 *  - every "flags" field and every "reserved" field must be zero on input;
 *    the kernel answers -EINVAL otherwise, so that later versions can give
 *    them a meaning without breaking old callers;
 *  - an unknown ioctl number gives -ENOTTY.
 *
 * See docs/api.md for the full description.
 */
#ifndef _UAPI_LINUX_KHYP_H
#define _UAPI_LINUX_KHYP_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Version of this ABI, returned by KHYP_GET_API_VERSION.  It changes only
 * when an existing ioctl changes incompatibly; additions are announced by
 * capability bits instead.
 */
#define KHYP_API_VERSION	1

/* ioctl type number (see Documentation/userspace-api/ioctl/ioctl-number.rst) */
#define KHYPIO			0xB7

/* Which hardware backend the module selected at load time. */
#define KHYP_BACKEND_VMX	1	/* Intel VT-x with EPT */
#define KHYP_BACKEND_SVM	2	/* AMD-V with NPT */

/* struct khyp_caps.features: what the selected backend's CPU offers. */
#define KHYP_CAP_EPT			_BITULL(0)   /* VMX: extended page tables */
#define KHYP_CAP_NPT			_BITULL(1)   /* SVM: nested page tables */
#define KHYP_CAP_VPID			_BITULL(2)   /* VMX: tagged TLB (VPID) */
#define KHYP_CAP_UNRESTRICTED_GUEST	_BITULL(3)   /* VMX: real mode, no paging */
#define KHYP_CAP_NRIP_SAVE		_BITULL(4)   /* SVM: next RIP on exit */
#define KHYP_CAP_DECODE_ASSISTS		_BITULL(5)   /* SVM: decoded exit info */
#define KHYP_CAP_2M_PAGES		_BITULL(6)   /* 2 MiB second-level pages */
#define KHYP_CAP_1G_PAGES		_BITULL(7)   /* 1 GiB second-level pages */
#define KHYP_CAP_PREEMPTION_TIMER	_BITULL(8)   /* VMX preemption timer */
#define KHYP_CAP_FLUSH_BY_ASID		_BITULL(9)   /* SVM: TLB flush per ASID */
#define KHYP_CAP_VMCB_CLEAN		_BITULL(10) /* SVM: VMCB clean bits */
#define KHYP_CAP_EPT_AD			_BITULL(11) /* VMX: EPT accessed/dirty */
#define KHYP_CAP_IRQCHIP		_BITULL(12) /* CREATE_IRQCHIP, IRQ_LINE, MSI */
#define KHYP_CAP_BALLOON_PAGES		_BITULL(13) /* BALLOON_PAGES, _EVENTFD */
#define KHYP_CAP_PAUSE_EXIT		_BITULL(14) /* a PAUSE spin exits, yields */
#define KHYP_CAP_BALLOON_PRESSURE_MAX	_BITULL(15) /* SET_BALLOON's ceiling */
#define KHYP_CAP_ALL			(_BITULL(16) - 1)

/**
 * struct khyp_caps - argument of KHYP_GET_CAPS
 * @flags:	in: must be 0.
 * @backend:	out: KHYP_BACKEND_VMX or KHYP_BACKEND_SVM.
 * @features:	out: KHYP_CAP_* bits.
 * @nr_asids:	out: address-space tags the CPU offers (VPIDs or ASIDs,
 *		including the one the host uses); 0 if none.
 * @reserved:	in: must be 0; out: 0.
 */
struct khyp_caps {
	__u32 flags;
	__u32 backend;
	__u64 features;
	__u32 nr_asids;
	__u32 reserved0;
	__u64 reserved[5];
};

/* Guest memory: at most this many regions per VM, below this address. */
#define KHYP_MAX_MEM_REGIONS	32
#define KHYP_MAX_GPA		(_BITULL(40))	/* 1 TiB */

/* struct khyp_mem_region.flags */
#define KHYP_MEM_READONLY	_BITULL(0)	/* guest writes become MMIO exits */
#define KHYP_MEM_FLAGS_ALL	(KHYP_MEM_READONLY)

/**
 * struct khyp_mem_region - argument of KHYP_SET_MEM_REGION
 * @slot:	0 .. KHYP_MAX_MEM_REGIONS - 1.
 * @flags:	KHYP_MEM_* bits.
 * @guest_phys_addr: first guest-physical byte, page aligned.
 * @size:	bytes, page aligned; 0 deletes the slot.
 * @reserved:	must be 0.
 *
 * The memory belongs to the module: pages are allocated (zeroed, charged
 * to the memory cgroup of the task that touches them first) when the guest
 * or userspace first touches them, and freed when the slot or the VM goes.
 * Userspace sees it by mmap(MAP_SHARED) of the VM fd at offset
 * guest_phys_addr.
 */
struct khyp_mem_region {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 size;
	__u64 reserved[4];
};

/**
 * struct khyp_balloon_target - argument of KHYP_SET_BALLOON
 * @pages:	without flags: how many pages the VM's balloon should hold,
 *		by userspace's wish; the host's memory pressure may ask for
 *		more.  Must not exceed the VM's RAM.  With
 *		KHYP_BALLOON_PRESSURE_MAX: the most the host's memory
 *		pressure may ask of the VM, in pages (the pressure target's
 *		ceiling): 0, never; KHYP_BALLOON_NO_MAX (the default), no
 *		ceiling but the VM's RAM.  Lowering it lowers a pressure
 *		target above it at once.
 * @flags:	0 or KHYP_BALLOON_PRESSURE_MAX (KHYP_CAP_BALLOON_PRESSURE_MAX).
 * @reserved:	must be 0.
 */
struct khyp_balloon_target {
	__u64 pages;
	__u32 flags;
	__u32 reserved0;
	__u64 reserved[2];
};

#define KHYP_BALLOON_PRESSURE_MAX	_BITUL(0)
#define KHYP_BALLOON_NO_MAX		(~0ULL)

/**
 * struct khyp_balloon_stats - result of KHYP_GET_BALLOON (pages, counts)
 * @target:	userspace's target (KHYP_SET_BALLOON).
 * @pressure_target: what host memory pressure asks for (the shrinker).
 * @effective_target: what the guest is told: the larger of the two,
 *		within the VM's RAM.
 * @size:	pages in the balloon now.
 * @inflated, @deflated: pages given to the host, and back, in total.
 * @freed:	pages the host got back from inflations (a page never
 *		touched frees nothing).
 * @violations:	pages the guest touched while they were in the balloon.
 * @rejected:	entries refused (KHYP_BALLOON_S_* other than OK).
 * @guest_free:	free pages the guest last reported.
 * @ram_pages:	pages of the VM's RAM allocated now.
 * @probed:	1 once the guest has probed the protocol.
 * @notify_vector: the guest's notification vector (NOTIFY), 0 if none.
 * @notifications: interrupts raised for target changes.
 * @protocol:	who moves pages: KHYP_BALLOON_PROTO_NONE until the first
 *		call, then _HYPERCALL (the guest's own balloon calls) or
 *		_USERSPACE (KHYP_BALLOON_PAGES, e.g. for virtio-balloon);
 *		the latest one used.
 * @reserved0:	0.
 * @reported:	pages given back by KHYP_BALLOON_OP_REPORT, in total (free
 *		page reporting: not in the balloon, not counted in @size).
 * @target_changes: times the effective target changed (each one signals
 *		the eventfd of KHYP_BALLOON_EVENTFD, if any).
 */
struct khyp_balloon_stats {
	__u64 target;
	__u64 pressure_target;
	__u64 effective_target;
	__u64 size;
	__u64 inflated;
	__u64 deflated;
	__u64 freed;
	__u64 violations;
	__u64 rejected;
	__u64 guest_free;
	__u64 ram_pages;
	__u32 probed;
	__u32 notify_vector;
	__u64 notifications;
	__u32 protocol;
	__u32 reserved0;
	__u64 reported;
	__u64 target_changes;
};

#define KHYP_BALLOON_PROTO_NONE		0
#define KHYP_BALLOON_PROTO_HYPERCALL	1
#define KHYP_BALLOON_PROTO_USERSPACE	2

/**
 * struct khyp_balloon_pages - argument of KHYP_BALLOON_PAGES
 * @op:		in: KHYP_BALLOON_OP_INFLATE, _DEFLATE or _REPORT.
 * @count:	in: entries in the list, 1 .. KHYP_BALLOON_BATCH_MAX.
 * @list:	in: userspace address of @count 64-bit entries in the format
 *		of the hypercall protocol (<linux/khyp_balloon.h>): each the
 *		guest-physical address of a 4 KiB page with its low 12 bits
 *		0; on return each entry's low 12 bits hold its status
 *		(KHYP_BALLOON_S_*).
 * @done:	out: entries that took effect (status S_OK).
 * @flags:	in: must be 0.
 * @reserved0:	in: must be 0.
 * @reserved:	in: must be 0.
 *
 * The same accounting as the guest's hypercalls: INFLATE frees the pages
 * to the host (uncharged from the VM's memory cgroup) and puts them in
 * the balloon, at most up to the effective target (S_TARGET beyond it);
 * DEFLATE takes them out again (they read as zeros at the next touch).
 * REPORT (free page reporting) frees pages the guest does not use now
 * without putting them in the balloon: no target applies, and the guest
 * may touch them again at any time (it gets zeroed pages, no violation).
 * One TLB flush per call.
 */
struct khyp_balloon_pages {
	__u32 op;
	__u32 count;
	__u64 list;
	__u64 done;
	__u32 flags;
	__u32 reserved0;
	__u64 reserved[2];
};

#define KHYP_BALLOON_OP_INFLATE	0
#define KHYP_BALLOON_OP_DEFLATE	1
#define KHYP_BALLOON_OP_REPORT	2

/**
 * struct khyp_balloon_eventfd - argument of KHYP_BALLOON_EVENTFD
 * @fd:		in: an eventfd the module signals whenever the VM's
 *		effective balloon target changes (KHYP_SET_BALLOON, or the
 *		shrinker's pressure target rising or decaying); -1 detaches
 *		the one set before.  The reader then asks KHYP_GET_BALLOON.
 *		While one is set, host memory pressure asks the VM for pages
 *		as it asks a guest that probed the hypercall protocol (a VM
 *		that neither listens nor probed is never asked).
 * @flags:	in: must be 0.
 * @reserved:	in: must be 0.
 */
struct khyp_balloon_eventfd {
	__s32 fd;
	__u32 flags;
	__u64 reserved[2];
};

/* vCPUs: at most this many per VM, with ids 0 .. KHYP_MAX_VCPUS - 1. */
#define KHYP_MAX_VCPUS		64

/**
 * struct khyp_regs - general registers (KHYP_GET_REGS, KHYP_SET_REGS)
 *
 * RFLAGS bit 1 always reads 1 and is forced to 1 on set; the reserved
 * bits (3, 5, 15, 22-63) must be 0 on set.
 */
struct khyp_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
};

/**
 * struct khyp_segment - a segment register with its hidden part
 * @base, @limit, @selector: as loaded; @limit is the byte limit (already
 *		scaled by @g).
 * @type:	the descriptor's 4-bit type.
 * @present, @dpl, @db, @s, @l, @g, @avl: the descriptor's bits.
 * @unusable:	1 for a null or unloaded segment (VMX's "unusable").
 * @padding:	must be 0.
 */
struct khyp_segment {
	__u64 base;
	__u32 limit;
	__u16 selector;
	__u8  type;
	__u8  present, dpl, db, s, l, g, avl;
	__u8  unusable;
	__u8  padding;
};

/* GDTR and IDTR.  @padding must be 0. */
struct khyp_dtable {
	__u64 base;
	__u16 limit;
	__u16 padding[3];
};

/**
 * struct khyp_sregs - system registers (KHYP_GET_SREGS, KHYP_SET_SREGS)
 *
 * @efer never shows EFER.SVME, which is the host's.  @cr8 is the task
 * priority the guest sees.  @reserved must be 0.  The backend accepts any
 * values here; a state the hardware refuses to enter makes the next
 * KHYP_RUN end with KHYP_EXIT_INTERNAL_ERROR, KHYP_INTERNAL_INVALID_STATE.
 */
struct khyp_sregs {
	struct khyp_segment cs, ds, es, fs, gs, ss;
	struct khyp_segment tr, ldt;
	struct khyp_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, cr8;
	__u64 efer;
	__u64 reserved[4];
};

/**
 * struct khyp_msrs - model-specific registers (KHYP_GET_MSRS, KHYP_SET_MSRS)
 * @nmsrs:	entries used, 1 .. KHYP_MAX_MSRS.
 * @flags:	must be 0.
 * @entries:	@index in; @data in (set) or out (get); @reserved must be 0.
 *
 * All or nothing: an index outside the set listed in docs/api.md, or a
 * value the MSR cannot hold, fails the whole call with -EINVAL and changes
 * nothing.  The guest reaches the same set with RDMSR/WRMSR; any other MSR
 * gives it #GP.
 */
#define KHYP_MAX_MSRS		32
struct khyp_msr_entry {
	__u32 index;
	__u32 reserved;
	__u64 data;
};

struct khyp_msrs {
	__u32 nmsrs;
	__u32 flags;
	struct khyp_msr_entry entries[KHYP_MAX_MSRS];
};

/**
 * struct khyp_cpuid - what the guest's CPUID returns (KHYP_GET/SET_CPUID)
 * @nent:	entries used, 0 .. KHYP_MAX_CPUID_ENTRIES.
 * @flags:	must be 0.
 * @entries:	one per (@function, @index) pair; @index is compared only
 *		with KHYP_CPUID_FLAG_INDEXED in the entry's @flags.  A leaf
 *		not in the table returns zeros.  @reserved must be 0.
 *
 * A new vCPU starts with a table derived from the host's (basic leaves up
 * to 1, extended leaves up to 0x80000008, and 0x40000000 with the
 * signature "KhypKhypKhyp"), with VMX, SVM, XSAVE/AVX, x2APIC and the
 * APIC hidden and the "hypervisor" bit set.  A table set by userspace is
 * answered exactly as given.
 */
#define KHYP_MAX_CPUID_ENTRIES	64
#define KHYP_CPUID_FLAG_INDEXED	_BITUL(0)

struct khyp_cpuid_entry {
	__u32 function;
	__u32 index;
	__u32 flags;
	__u32 eax, ebx, ecx, edx;
	__u32 reserved;
};

struct khyp_cpuid {
	__u32 nent;
	__u32 flags;
	struct khyp_cpuid_entry entries[KHYP_MAX_CPUID_ENTRIES];
};

/**
 * struct khyp_event - an event to deliver to the guest (KHYP_INJECT_EVENT)
 * @type:	KHYP_EVENT_INTERRUPT (external interrupt @vector, delivered
 *		as soon as the guest has interrupts enabled and no interrupt
 *		shadow), KHYP_EVENT_NMI (@vector ignored, must be 0) or
 *		KHYP_EVENT_EXCEPTION (@vector 0-31, not 2).
 * @vector:	0-255.
 * @error_code: with KHYP_EVENT_FLAG_ERROR_CODE.
 * @flags:	KHYP_EVENT_FLAG_*.
 * @reserved:	must be 0.
 *
 * One event of each type may be pending: a second one gives -EBUSY.
 */
#define KHYP_EVENT_INTERRUPT	0
#define KHYP_EVENT_NMI		2
#define KHYP_EVENT_EXCEPTION	3
#define KHYP_EVENT_FLAG_ERROR_CODE	_BITUL(0)

struct khyp_event {
	__u32 type;
	__u32 vector;
	__u32 error_code;
	__u32 flags;
	__u64 reserved[2];
};

/*
 * struct khyp_run.exit_reason.  HLT, I/O, MMIO and hypercalls return with
 * RIP past the instruction; after SHUTDOWN (triple fault) the guest state
 * is undefined until userspace sets it again.
 */
#define KHYP_EXIT_NONE			0
#define KHYP_EXIT_IO			1	/* port I/O: .io */
#define KHYP_EXIT_MMIO			2	/* outside RAM: .mmio */
#define KHYP_EXIT_HLT			3
#define KHYP_EXIT_SHUTDOWN		4
#define KHYP_EXIT_HYPERCALL		5	/* .hypercall */
#define KHYP_EXIT_IRQ_WINDOW_OPEN	6	/* see request_interrupt_window */
#define KHYP_EXIT_INTERNAL_ERROR	7	/* .internal */
#define KHYP_EXIT_INTR			8	/* KHYP_RUN gave -EINTR */

/* struct khyp_run.io.direction */
#define KHYP_IO_OUT		0
#define KHYP_IO_IN		1

/*
 * struct khyp_run.internal.suberror, and what internal.data[] holds:
 * EMULATION:	an MMIO access by an instruction khyp does not emulate,
 *		or one whose direction is not the fault's (the instruction
 *		changed under the guest's feet; RIP is unchanged, running
 *		again re-executes it):
 *		data[0] = RIP, data[1..2] = its first 15 bytes (zero
 *		padded), data[3] = the guest-physical address.  Code fetched
 *		from outside RAM: data[0] = that address, data[2] = RIP.
 * UNEXPECTED_EXIT: an exit khyp does not handle: hw_exit_code is the
 *		backend's raw reason (VMX basic exit reason, SVM exit code),
 *		data[0..1] its details (VMX qualification, SVM EXITINFO1/2),
 *		data[2] = RIP.
 * INVALID_STATE: the hardware refused to enter the guest with this state;
 *		hw_exit_code and data[0..2] as above.  hw_exit_code 0 (and
 *		data[0..1] 0): khyp refused it before the hardware saw it
 *		(docs/api.md, KHYP_SET_SREGS).
 * UNSUPPORTED_IO: string (INS/OUTS) or REP port I/O: data[0] = port.
 * DELIVERY:	MMIO while the CPU was delivering an event (say, an IDT or
 *		stack outside RAM): data[0] = the address.
 */
#define KHYP_INTERNAL_EMULATION		1
#define KHYP_INTERNAL_UNEXPECTED_EXIT	2
#define KHYP_INTERNAL_INVALID_STATE	3
#define KHYP_INTERNAL_UNSUPPORTED_IO	4
#define KHYP_INTERNAL_DELIVERY		5

/*
 * Hypercalls (VMCALL/VMMCALL, number in RAX): numbers below
 * KHYP_HC_USER_LIMIT exit to userspace; the rest are khyp's own.  RAX
 * receives -KHYP_HC_ENOSYS for an unknown number of khyp's, and
 * -KHYP_HC_EPERM for a hypercall from CPL > 0; neither exits.
 */
#define KHYP_HC_USER_LIMIT	0x10000
#define KHYP_HC_EPERM		1
#define KHYP_HC_ENOSYS		38

/**
 * struct khyp_run - the page shared by a vCPU and userspace
 *
 * mmap() the vCPU fd, offset 0, KHYP_RUN_SIZE bytes, MAP_SHARED.  Fields
 * marked (in) are read by the kernel at KHYP_RUN; the rest are written by
 * the kernel when KHYP_RUN returns.
 *
 * @request_interrupt_window: (in) return KHYP_EXIT_IRQ_WINDOW_OPEN as soon
 *		as the guest can take an external interrupt.
 * @immediate_exit: (in) do not enter the guest: return -EINTR at once.
 *		Set it, then signal the vCPU thread, to stop a vCPU without
 *		racing with its entry.
 * @exit_reason: KHYP_EXIT_*.
 * @ready_for_interrupt: KHYP_INJECT_EVENT of an interrupt would be
 *		delivered at the next entry (RFLAGS.IF = 1, no interrupt
 *		shadow, no interrupt pending).
 * @if_flag:	RFLAGS.IF at the exit.
 * @io:		KHYP_EXIT_IO.  @data holds the value written (OUT), or is
 *		where userspace puts the value read (IN), which the next
 *		KHYP_RUN loads into AL/AX/EAX.  RIP is already past the
 *		instruction.
 * @mmio:	KHYP_EXIT_MMIO.  @data holds the value written, or receives
 *		the value read, which the next KHYP_RUN loads into the
 *		instruction's register.  RIP is already past it.
 * @hypercall:	KHYP_EXIT_HYPERCALL.  @nr from RAX, @args from RBX, RCX,
 *		RDX, RSI, RDI; the next KHYP_RUN writes @ret into RAX.
 * @internal:	KHYP_EXIT_INTERNAL_ERROR.
 */
#define KHYP_RUN_SIZE		4096

struct khyp_run {
	__u8 request_interrupt_window;
	__u8 immediate_exit;
	__u8 padding1[6];

	__u32 exit_reason;
	__u8 ready_for_interrupt;
	__u8 if_flag;
	__u8 padding2[2];
	__u64 reserved[4];

	union {
		struct {
			__u16 port;
			__u8 size;		/* 1, 2 or 4 */
			__u8 direction;		/* KHYP_IO_* */
			__u32 padding;
			__u64 data;
		} io;
		struct {
			__u64 phys_addr;
			__u64 data;
			__u32 size;		/* 1, 2, 4 or 8 */
			__u8 is_write;
			__u8 padding[3];
		} mmio;
		struct {
			__u64 nr;
			__u64 args[5];
			__u64 ret;
		} hypercall;
		struct {
			__u32 suberror;
			__u32 ndata;
			__u64 hw_exit_code;
			__u64 data[8];
		} internal;
		__u8 padding[256];
	};
};

/**
 * struct khyp_create_irqchip - argument of KHYP_CREATE_IRQCHIP
 * @flags:	in: must be 0.
 * @reserved0, @reserved: in: must be 0.
 *
 * Gives the VM in-kernel interrupt controllers: a local APIC per vCPU
 * (xAPIC page at 0xfee00000, x2APIC MSRs, timer, IPIs), HLT handled in
 * the kernel.  Before the first KHYP_CREATE_VCPU (-EBUSY after), once
 * (-EEXIST).
 */
struct khyp_create_irqchip {
	__u32 flags;
	__u32 reserved0;
	__u64 reserved[3];
};

/**
 * struct khyp_irq_level - argument of KHYP_IRQ_LINE
 * @irq:	in: the line, 0 .. 23 (-EINVAL beyond).  0-15 are the
 *		ISA IRQs (IOAPIC pin n, but IRQ 0 is pin 2 and IRQ 2 no
 *		pin), 16-23 IOAPIC pins 16-23 (docs/irq.md).
 * @level:	in: 1 asserted, 0 deasserted.
 * @reserved:	in: must be 0.
 *
 * Needs an irqchip (-ENXIO).  An edge-triggered input is a 0 then a 1.
 */
struct khyp_irq_level {
	__u32 irq;
	__u32 level;
	__u64 reserved[2];
};

/**
 * struct khyp_msi - argument of KHYP_SIGNAL_MSI
 * @address:	in: the message address, 0xfee00000 - 0xfeefffff:
 *		destination APIC ID in bits 19:12, logical destination
 *		if bit 2 is set.
 * @data:	in: the message data: vector in bits 7:0, delivery mode
 *		in 10:8 (fixed, lowest priority, NMI, ...).  Always
 *		edge-triggered: the trigger bit (15) is ignored.
 * @flags:	in: must be 0.
 * @reserved:	in: must be 0.
 *
 * Needs an irqchip (-ENXIO).
 */
struct khyp_msi {
	__u64 address;
	__u32 data;
	__u32 flags;
	__u64 reserved[2];
};

/*
 * A VM fd's file system: fstatfs() on it gives this f_type, so that a
 * tool holding a copy of another process's fds (pidfd_getfd(), `khyp
 * balloon PID`) can tell which one is the VM without calling an ioctl on
 * a file it does not know.
 */
#define KHYP_VM_FS_MAGIC	0x6b687970	/* "khyp" */

/* On /dev/khyp. */
#define KHYP_GET_API_VERSION	_IO(KHYPIO, 0x00)
#define KHYP_GET_CAPS		_IOWR(KHYPIO, 0x01, struct khyp_caps)
#define KHYP_CREATE_VM		_IO(KHYPIO, 0x02)	/* arg: 0; returns a VM fd */

/* On a VM fd. */
#define KHYP_SET_MEM_REGION	_IOW(KHYPIO, 0x10, struct khyp_mem_region)
#define KHYP_CREATE_VCPU	_IO(KHYPIO, 0x11)	/* arg: id; -> vCPU fd */
#define KHYP_SET_BALLOON	_IOW(KHYPIO, 0x12, struct khyp_balloon_target)
#define KHYP_GET_BALLOON	_IOR(KHYPIO, 0x13, struct khyp_balloon_stats)
#define KHYP_CREATE_IRQCHIP	_IOW(KHYPIO, 0x14, struct khyp_create_irqchip)
#define KHYP_IRQ_LINE		_IOW(KHYPIO, 0x15, struct khyp_irq_level)
#define KHYP_SIGNAL_MSI		_IOW(KHYPIO, 0x16, struct khyp_msi)
#define KHYP_BALLOON_PAGES	_IOWR(KHYPIO, 0x17, struct khyp_balloon_pages)
#define KHYP_BALLOON_EVENTFD	_IOW(KHYPIO, 0x18, struct khyp_balloon_eventfd)

/* On a vCPU fd. */
#define KHYP_RUN		_IO(KHYPIO, 0x20)	/* arg: 0 */
#define KHYP_GET_REGS		_IOR(KHYPIO, 0x21, struct khyp_regs)
#define KHYP_SET_REGS		_IOW(KHYPIO, 0x22, struct khyp_regs)
#define KHYP_GET_SREGS		_IOR(KHYPIO, 0x23, struct khyp_sregs)
#define KHYP_SET_SREGS		_IOW(KHYPIO, 0x24, struct khyp_sregs)
#define KHYP_GET_MSRS		_IOWR(KHYPIO, 0x25, struct khyp_msrs)
#define KHYP_SET_MSRS		_IOW(KHYPIO, 0x26, struct khyp_msrs)
#define KHYP_GET_CPUID		_IOR(KHYPIO, 0x27, struct khyp_cpuid)
#define KHYP_SET_CPUID		_IOW(KHYPIO, 0x28, struct khyp_cpuid)
#define KHYP_INJECT_EVENT	_IOW(KHYPIO, 0x29, struct khyp_event)

#endif /* _UAPI_LINUX_KHYP_H */
