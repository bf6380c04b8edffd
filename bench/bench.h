/* SPDX-License-Identifier: GPL-2.0 */
/*
 * khyp-bench: the same guest workloads run through KVM (/dev/kvm) and
 * through khyp (/dev/khyp), timed on the host.
 *
 * Three layers, each in its own file:
 *
 *   hv_kvm.c, hv_khyp.c  a thin hypervisor layer: only the raw ioctls of
 *                        each API behind one struct hv_ops (create a VM,
 *                        add memory, create a vCPU, set the registers,
 *                        run and decode the exit, complete an IN or an
 *                        MMIO read, inject an interrupt);
 *   guest.c              the guest's setup, written once for both: long
 *                        mode, page tables, GDT, IDT and the binary's
 *                        PT_LOAD segments at gpa == vaddr (the approach of
 *                        selftests/lib/khyp_vm.c), so that guest code is a
 *                        plain C function of this binary;
 *   main.c               the workloads (guest function + host driver),
 *                        repetitions, medians and the output.
 *
 * Guest-physical layout:
 *
 *   0x001000-0x006fff  PML4, PDPT, 4 page directories: 0-4 GiB identity
 *                      mapped with 2 MiB pages
 *   0x007000           GDT (code64 0x08, data 0x10, TSS 0x18)
 *   0x007800           TSS
 *   0x008000           IDT
 *   0x200000-0x3fffff  the guest stack (RSP starts at 0x400000 - 8)
 *   0x400000-...       this binary (static, non-PIE)
 *   [0, BENCH_BASE_MEM)          slot 0: all of the above
 *   BENCH_GPA_BIG (1 GiB)        slot 1: the memory workloads' region
 *   BENCH_GPA_MMIO (3 GiB)       no memory: MMIO exits
 */
#ifndef KHYP_BENCH_H
#define KHYP_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MiB			(1024UL * 1024)
#define PAGE_SIZE_4K		4096UL

#define BENCH_GPA_PML4		0x1000UL
#define BENCH_GPA_GDT		0x7000UL
#define BENCH_GPA_TSS		0x7800UL
#define BENCH_GPA_IDT		0x8000UL
#define BENCH_GPA_STACK_TOP	0x400000UL
#define BENCH_GPA_BIG		0x40000000UL
#define BENCH_GPA_MMIO		0xC0000000UL

#define BENCH_SEL_CODE64	0x08
#define BENCH_SEL_DATA		0x10
#define BENCH_SEL_TSS		0x18

/* Ports the guest uses to talk to the host (all exit to userspace). */
#define BENCH_PORT_DONE		0xe0	/* OUT: the workload finished */
#define BENCH_PORT_IN		0xe1	/* IN: the port I/O workload */
#define BENCH_PORT_READY	0xe2	/* OUT: inject an interrupt now */
#define BENCH_PORT_ACK		0xe3	/* OUT: the interrupt handler ran */
#define BENCH_PORT_EXC		0xe4	/* OUT: vector of a guest exception */
#define BENCH_PORT_SYNC		0xe5	/* OUT: a step of a workload is done */

#define BENCH_IRQ_VECTOR	0x20
/*
 * The local APIC workloads' vectors (VMs with an irqchip): each one's
 * handler counts in bench_apic_count[vector - BENCH_APIC_VECTOR] and
 * writes EOI to the xAPIC page.
 */
#define BENCH_APIC_VECTOR	0x40
#define BENCH_APIC_NR_VECTORS	4
#define BENCH_APIC_BASE		0xfee00000UL
#define BENCH_IN_VALUE		0x6b687970	/* "khyp", what IN and MMIO read */

/* ---- the hypervisor layer ---- */

/* A segment register with its hidden part, as both APIs describe it. */
struct hv_seg {
	uint64_t base;
	uint32_t limit;		/* in bytes, already scaled by g */
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g;
};

/* What the guest needs to start in long mode at a function. */
struct hv_state {
	struct hv_seg cs, ds, tr;	/* ds is also es, fs, gs, ss */
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t rip, rsp, rflags, rdi, rsi;
};

enum hv_exit_kind {
	HV_EXIT_IO,
	HV_EXIT_MMIO,
	HV_EXIT_HLT,
	HV_EXIT_IRQ_WINDOW,
	HV_EXIT_OTHER,		/* anything else: a failure of the run */
};

struct hv_exit {
	enum hv_exit_kind kind;
	bool write;		/* OUT, MMIO write */
	uint16_t port;
	uint8_t size;
	uint64_t addr;		/* MMIO */
	uint64_t data;		/* OUT or MMIO write value */
	char what[160];		/* HV_EXIT_OTHER: a description */
};

struct hv_vm;
struct hv_vcpu;

/*
 * One implementation per API.  Functions returning int give 0 or -1 with
 * errno set; the caller names the call in its message.
 */
struct hv_ops {
	const char *name;
	/* open the device (once per process) */
	int (*open)(void);
	struct hv_vm *(*vm_create)(void);
	void (*vm_destroy)(struct hv_vm *vm);
	/* RAM at [gpa, gpa + size) in @slot; the host's view of it, or NULL */
	void *(*mem_add)(struct hv_vm *vm, int slot, uint64_t gpa,
			 uint64_t size);
	int (*mem_del)(struct hv_vm *vm, int slot);
	struct hv_vcpu *(*vcpu_create)(struct hv_vm *vm, int id);
	void (*vcpu_destroy)(struct hv_vcpu *vcpu);
	int (*set_state)(struct hv_vcpu *vcpu, const struct hv_state *st);
	/* run until userspace must act; decode the exit into @ex */
	int (*run)(struct hv_vcpu *vcpu, struct hv_exit *ex);
	/* the value of the IN or MMIO read of the last exit */
	void (*complete_read)(struct hv_vcpu *vcpu, uint64_t value);
	/* would an interrupt injected now be taken at the next entry? */
	bool (*irq_ready)(struct hv_vcpu *vcpu);
	void (*request_irq_window)(struct hv_vcpu *vcpu, bool on);
	int (*inject_irq)(struct hv_vcpu *vcpu, uint8_t vector);
	/* in-kernel interrupt controllers (before the first vCPU) */
	int (*create_irqchip)(struct hv_vm *vm);
	/* with an irqchip: let vCPU @id > 0 run without INIT/SIPI */
	int (*vcpu_runnable)(struct hv_vcpu *vcpu);
	/* the in-kernel hypercall: number, argument, what RAX gets back */
	uint64_t hc_nr, hc_arg, hc_ret;
	const char *hc_name;
};

extern const struct hv_ops hv_kvm_ops;
extern const struct hv_ops hv_khyp_ops;

/* KVM only: back new guest memory with huge pages if the system does. */
void hv_kvm_set_thp(bool on);

/* ---- guest setup (guest.c) ---- */

/* A VM with its RAM (slot 0) and the binary loaded, ready for vCPUs. */
struct bench_vm {
	const struct hv_ops *hv;
	struct hv_vm *vm;
	uint64_t base_size;
	uint8_t *base;		/* host view of slot 0 */
};

/* Slot 0 size: the binary, its bss, the tables and the stack. */
uint64_t bench_base_mem(void);
int bench_vm_create(struct bench_vm *bvm, const struct hv_ops *hv);
void bench_vm_destroy(struct bench_vm *bvm);
/* Host pointer to a guest-physical address of slot 0. */
void *bench_gpa(struct bench_vm *bvm, uint64_t gpa);
/* Start @vcpu at fn(a0, a1) in 64-bit mode, with the IDT loaded. */
int bench_vcpu_start(struct bench_vm *bvm, struct hv_vcpu *vcpu,
		     void (*fn)(uint64_t, uint64_t), uint64_t a0,
		     uint64_t a1);
/* The same on another stack (a second vCPU): its top, in slot 0. */
int bench_vcpu_start_stack(struct bench_vm *bvm, struct hv_vcpu *vcpu,
			   void (*fn)(uint64_t, uint64_t), uint64_t a0,
			   uint64_t a1, uint64_t stack_top);

/* The guest's copy of a global of the binary, as an lvalue. */
#define bench_global(bvm, var) \
	(*(__typeof__(&(var)))bench_gpa((bvm), (uint64_t)(uintptr_t)&(var)))

/* Written by the guest's interrupt handlers (guest.c). */
extern volatile uint64_t bench_irq_count;
extern volatile uint64_t bench_apic_count[BENCH_APIC_NR_VECTORS];

/* ---- guest helpers ---- */

#define GUEST_INLINE static inline __attribute__((always_inline))

GUEST_INLINE void guest_out32(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

GUEST_INLINE uint32_t guest_in32(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

GUEST_INLINE void guest_cpuid(uint32_t leaf, uint32_t r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		     : "a"(leaf), "c"(0) : "memory");
}

GUEST_INLINE uint64_t guest_vmmcall(uint64_t nr, uint64_t a0, uint64_t a1)
{
	uint64_t ret;

	asm volatile("vmmcall" : "=a"(ret) : "a"(nr), "b"(a0), "c"(a1)
		     : "memory");
	return ret;
}

GUEST_INLINE uint64_t guest_vmcall(uint64_t nr, uint64_t a0, uint64_t a1)
{
	uint64_t ret;

	asm volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(a0), "c"(a1)
		     : "memory");
	return ret;
}

#endif /* KHYP_BENCH_H */
