/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small KVM-selftests-like library for khyp: create a VM and vCPUs, run
 * guest code that is an ordinary C function of the test binary, and decode
 * the exits, so that a test reads as what it checks.
 *
 * The test binaries are static and non-PIE, linked at 0x400000.  For long
 * mode the library copies the PT_LOAD segments of /proc/self/exe into guest
 * memory at gpa == vaddr and identity-maps the first 4 GiB, so a guest
 * function, its globals and its string literals have the same addresses in
 * the guest and in the test: the host reads a guest global with
 * kh_vm_global(vm, var), and a guest passes pointers to the host freely.
 *
 * Guest-physical layout (all below the binary):
 *
 *   0x000000-0x000fff  unused (zero)
 *   0x001000           PML4                         KH_GPA_PML4
 *   0x002000           PDPT
 *   0x003000-0x006fff  4 page directories: 0-4 GiB identity-mapped with
 *                      2 MiB pages, present, writable, user (U/S=1)
 *   0x007000           GDT                          KH_GPA_GDT
 *   0x007800           TSS (64-bit, rsp0 = KH_GPA_RING0_STACK_TOP)
 *   0x008000           IDT, 256 gates                KH_GPA_IDT
 *   0x009000-0x00efff  code blobs for real and 32-bit protected mode
 *                                                    KH_GPA_LOW_CODE
 *   0x00f000-0x00fff0  stack for those; SP/ESP = KH_GPA_LOW_STACK
 *   0x100000-0x1effff  free for tests                KH_GPA_SCRATCH
 *   0x1f0000-0x1fffff  ring-0 stack taken from the TSS on an interrupt
 *                      from ring 3
 *   0x200000-0x3fffff  long-mode vCPU stacks, 32 KiB each: vCPU n starts
 *                      with RSP = 0x400000 - n * 0x8000 - 8
 *   0x400000-...       the test binary (text, data, zeroed bss)
 *   0xC0000000         KH_GPA_MMIO: never RAM, for MMIO tests
 *
 * GDT selectors: KH_SEL_CODE64 0x08, KH_SEL_DATA 0x10 (flat 4 GiB, also
 * used as SS), KH_SEL_CODE32 0x18, KH_SEL_USER_DATA 0x23,
 * KH_SEL_USER_CODE64 0x2b, KH_SEL_TSS 0x30 (16-byte descriptor, type 11).
 *
 * Guest <-> host conventions ("ucalls"): GUEST_SYNC(), GUEST_DONE() and
 * GUEST_ASSERT*() fill a struct kh_ucall on the guest stack and write its
 * (32-bit) address with OUT to port KH_PORT_UCALL.  The host decodes it
 * with kh_vcpu_get_ucall(); the ASSERT_UCALL()/ASSERT_SYNC()/
 * ASSERT_DONE() macros below do it inside a kselftest-harness test and
 * print the guest's failed assertion (file, line, expression, values) or
 * the unexpected exit.  Returning from the guest function is GUEST_DONE().
 *
 * Rules for guest code: mark it static; no libc (no printf, memcpy, ...),
 * no TLS, no large stack arrays (32 KiB stacks), no loops the compiler
 * may turn into memset/memcpy (use volatile pointers).  The test binaries
 * are built with -mno-red-zone, -fno-stack-protector and
 * -fcf-protection=none for it.  SSE is fine (CR4.OSFXSR is set).
 *
 * Host functions abort() with a "# khyp_vm:" message when an ioctl they
 * need fails; the harness reports the test as failed.
 */
#ifndef SELFTEST_KHYP_VM_H
#define SELFTEST_KHYP_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/khyp.h>

#define KH_GPA_PML4		0x1000UL
#define KH_GPA_GDT		0x7000UL
#define KH_GPA_TSS		0x7800UL
#define KH_GPA_IDT		0x8000UL
#define KH_GPA_LOW_CODE		0x9000UL
#define KH_LOW_CODE_MAX		0x6000UL
#define KH_GPA_LOW_STACK	0xfff0UL
#define KH_GPA_SCRATCH		0x100000UL
#define KH_SCRATCH_SIZE		0xf0000UL
#define KH_GPA_RING0_STACK_TOP	0x200000UL
#define KH_GPA_STACKS_TOP	0x400000UL
#define KH_STACK_SIZE		0x8000UL
#define KH_GPA_MMIO		0xC0000000UL

#define KH_SEL_CODE64		0x08
#define KH_SEL_DATA		0x10
#define KH_SEL_CODE32		0x18
#define KH_SEL_USER_DATA	0x23
#define KH_SEL_USER_CODE64	0x2b
#define KH_SEL_TSS		0x30

/* Control-register and EFER bits the library uses. */
#define KH_CR0_PE	(1UL << 0)
#define KH_CR0_MP	(1UL << 1)
#define KH_CR0_ET	(1UL << 4)
#define KH_CR0_NE	(1UL << 5)
#define KH_CR0_WP	(1UL << 16)
#define KH_CR0_PG	(1UL << 31)
#define KH_CR4_PAE	(1UL << 5)
#define KH_CR4_OSFXSR	(1UL << 9)
#define KH_CR4_OSXMMEXCPT (1UL << 10)
#define KH_EFER_SCE	(1UL << 0)
#define KH_EFER_LME	(1UL << 8)
#define KH_EFER_LMA	(1UL << 10)
#define KH_EFER_SVME	(1UL << 12)

/* MSRs of the set khyp supports (docs/api.md). */
#define KH_MSR_SYSENTER_CS	0x174
#define KH_MSR_SYSENTER_ESP	0x175
#define KH_MSR_SYSENTER_EIP	0x176
#define KH_MSR_PAT		0x277
#define KH_MSR_TSC		0x10
#define KH_MSR_EFER		0xc0000080
#define KH_MSR_STAR		0xc0000081
#define KH_MSR_LSTAR		0xc0000082
#define KH_MSR_CSTAR		0xc0000083
#define KH_MSR_SFMASK		0xc0000084
#define KH_MSR_FS_BASE		0xc0000100
#define KH_MSR_GS_BASE		0xc0000101
#define KH_MSR_KERNEL_GS_BASE	0xc0000102
/* Not in the set: the guest gets #GP, the ioctls EINVAL. */
#define KH_MSR_UNKNOWN		0x4b564d00

/* The port of the guest->host calls: out32 of a struct kh_ucall address */
#define KH_PORT_UCALL		0xe0

/* struct kh_ucall.cmd (defines, for the library's assembly) */
#define KH_UCALL_NONE		0	/* the exit was not a ucall */
#define KH_UCALL_SYNC		1	/* GUEST_SYNC*(): args[0..3] */
#define KH_UCALL_DONE		2	/* GUEST_DONE() or the guest function
					 * returned */
#define KH_UCALL_ASSERT		3	/* GUEST_ASSERT*() failed: line, file,
					 * expr; args[0..1] = values compared */
#define KH_UCALL_UNHANDLED	4	/* exception with no fixup and not
					 * expected: args[0] = vector,
					 * [1] = error code, [2] = RIP */

struct kh_ucall {
	uint64_t cmd;
	uint64_t args[4];
	uint64_t line;
	const char *file;	/* addresses in the binary: valid in the host too */
	const char *expr;
};

struct kh_region {
	uint64_t gpa, size;
	void *hva;		/* NULL: slot unused */
};

struct kh_vcpu;

struct kh_vm {
	int dev;			/* /dev/khyp */
	int fd;				/* VM fd; -1 once closed */
	uint32_t backend;		/* KHYP_BACKEND_* */
	uint64_t features;		/* KHYP_CAP_* */
	struct kh_region regions[KHYP_MAX_MEM_REGIONS];
	bool tables_built;		/* page tables, GDT, TSS */
	bool idt_built;
	bool elf_loaded;
	struct kh_vcpu *vcpus[KHYP_MAX_VCPUS];
};

struct kh_vcpu {
	struct kh_vm *vm;
	unsigned int id;
	int fd;				/* -1 once closed */
	struct khyp_run *run;		/* the shared run page */
};

/* ---- host side: VMs and memory ---- */

/*
 * Slot 0 of this size at gpa 0 when kh_vm_create() gets 0: room for the
 * binary plus some MiB, at least 16 MiB.
 */
size_t kh_vm_default_mem(void);
/* /dev/khyp, KHYP_CREATE_VM, slot 0 = [0, mem_bytes) (0: the default). */
struct kh_vm *kh_vm_create(size_t mem_bytes);
/* Declare a region and map it (MAP_SHARED, offset = gpa); returns the map. */
void *kh_vm_add_region(struct kh_vm *vm, uint32_t slot, uint64_t gpa,
		       uint64_t size, uint32_t flags);
/* Delete a region and unmap it. */
void kh_vm_del_region(struct kh_vm *vm, uint32_t slot);
/* Host pointer of a gpa inside a mapped region; aborts if none. */
void *kh_gpa(struct kh_vm *vm, uint64_t gpa);
/* Copy [start, end) of the binary (a code blob) to guest memory at gpa. */
void kh_vm_load(struct kh_vm *vm, uint64_t gpa, const void *start,
		const void *end);
/* Close vCPUs, unmap everything, close the VM and /dev/khyp; NULL is ok. */
void kh_vm_free(struct kh_vm *vm);

/* The guest's copy of a global of the binary, as an lvalue (long mode). */
#define kh_vm_global(vm, var) \
	(*(__typeof__(&(var)))kh_gpa((vm), (uint64_t)(uintptr_t)&(var)))

/* ---- host side: vCPUs ---- */

/* KHYP_CREATE_VCPU(id) and mmap of its run page. */
struct kh_vcpu *kh_vcpu_add(struct kh_vm *vm, unsigned int id);
/* Unmap the run page and close the vCPU fd (kh_vm_free() does it too). */
void kh_vcpu_close(struct kh_vcpu *vcpu);
/* ioctl(KHYP_RUN): 0, or -1 with errno. */
/* KHYP_CREATE_IRQCHIP with every field 0: 0 or -1 with errno. */
int kh_create_irqchip(int vm_fd);
/* KHYP_IRQ_LINE and KHYP_SIGNAL_MSI, the other fields 0: 0 or -1. */
int kh_irq_line(struct kh_vm *vm, uint32_t irq, uint32_t level);
int kh_signal_msi(struct kh_vm *vm, uint64_t address, uint32_t data);
int kh_vcpu_run(struct kh_vcpu *vcpu);

void kh_vcpu_get_regs(struct kh_vcpu *vcpu, struct khyp_regs *regs);
void kh_vcpu_set_regs(struct kh_vcpu *vcpu, const struct khyp_regs *regs);
void kh_vcpu_get_sregs(struct kh_vcpu *vcpu, struct khyp_sregs *sregs);
void kh_vcpu_set_sregs(struct kh_vcpu *vcpu, const struct khyp_sregs *sregs);
uint64_t kh_vcpu_get_msr(struct kh_vcpu *vcpu, uint32_t index);
void kh_vcpu_set_msr(struct kh_vcpu *vcpu, uint32_t index, uint64_t value);
/* KHYP_INJECT_EVENT: 0, or -1 with errno. */
int kh_vcpu_inject(struct kh_vcpu *vcpu, uint32_t type, uint32_t vector,
		   uint32_t error_code, uint32_t flags);

/*
 * 64-bit mode at guest_fn (a function of this binary, called with
 * RDI/RSI from kh_vcpu_set_args()), with the layout above: loads the
 * binary, builds page tables, GDT and TSS once per VM, sets the vCPU's
 * registers.  No IDT (limit 0): an exception is a triple fault, unless
 * kh_vm_install_idt() follows.
 */
void kh_vcpu_setup_long_mode(struct kh_vcpu *vcpu, void (*guest_fn)(void));
/* RDI and RSI: the guest function's first two arguments. */
void kh_vcpu_set_args(struct kh_vcpu *vcpu, uint64_t a0, uint64_t a1);
/*
 * Fill the IDT with the library's handlers and load IDTR in @vcpu.  A
 * handler counts its vector in kh_guest_vector_count[], records
 * kh_guest_last_vector/last_error and returns with IRETQ; for an exception
 * (vector < 32) it first takes kh_guest_fixup_rip as return address if
 * set (see kh_guest_rdmsr_safe()), else returns only if the vector's bit
 * is set in kh_guest_exc_expected, else reports KH_UCALL_UNHANDLED.
 */
void kh_vm_install_idt(struct kh_vm *vm, struct kh_vcpu *vcpu);
/*
 * A VM with an irqchip (KHYP_CREATE_IRQCHIP) and @n vCPUs, vCPU i in long
 * mode at fns[i] with the library's IDT: NULL if the irqchip is refused.
 */
struct kh_vm *kh_vm_with_irqchip(unsigned int n, void (*fns[])(void));
/*
 * One KHYP_RUN in a thread of its own (pthread_create(..., kh_vcpu_run_once,
 * &r), r.vcpu set): what it returned, its errno and the exit reason.
 */
struct kh_run_once {
	struct kh_vcpu *vcpu;
	int r, err;
	uint32_t exit_reason;
};
void *kh_vcpu_run_once(void *arg);
/* Real mode, CS = DS = SS = 0, IP = ip, SP = KH_GPA_LOW_STACK. */
void kh_vcpu_setup_real_mode(struct kh_vcpu *vcpu, uint16_t ip);
/* 32-bit protected mode without paging, flat segments, EIP = eip. */
void kh_vcpu_setup_prot32(struct kh_vcpu *vcpu, uint32_t eip);

/* ---- host side: exits ---- */

const char *kh_exit_name(uint32_t reason);
/* One line on the last exit: reason and its fields, ucalls decoded. */
void kh_vcpu_exit_str(struct kh_vcpu *vcpu, char *buf, size_t len);
/* The ucall of the last exit (KH_UCALL_NONE if it was none). */
int kh_vcpu_get_ucall(struct kh_vcpu *vcpu, struct kh_ucall *uc);
/*
 * Run once; the ucall command, or -1 (failed run or other exit), with a
 * description of the exit in @msg either way.
 */
int kh_vcpu_run_ucall(struct kh_vcpu *vcpu, struct kh_ucall *uc,
		      char *msg, size_t len);

/*
 * Harness helpers, for test bodies (and functions taking _metadata):
 * include kselftest_harness.h before this header.
 */
#define NEED_DEV()							\
	do {								\
		if (access(KHYP_DEV, F_OK))				\
			SKIP(return, KHYP_DEV " is absent (khyp.ko not loaded)"); \
	} while (0)

/* Run; expect KHYP_RUN to return 0 with this exit reason. */
#define ASSERT_EXIT(vcpu, reason)					\
	do {								\
		char __m[512];						\
		int __r = kh_vcpu_run(vcpu);				\
		int __e = errno;					\
		kh_vcpu_exit_str(vcpu, __m, sizeof(__m));		\
		ASSERT_EQ(0, __r) TH_LOG("KHYP_RUN: %s; %s",		\
					 strerror(__e), __m);		\
		ASSERT_EQ(reason, (vcpu)->run->exit_reason)		\
			TH_LOG("expected %s, got %s",			\
			       kh_exit_name(reason), __m);		\
	} while (0)

/* Run; expect a port I/O exit with these fields (not checking data). */
#define ASSERT_IO(vcpu, port_, size_, dir_)				\
	do {								\
		char __m2[512];						\
		ASSERT_EXIT(vcpu, KHYP_EXIT_IO);			\
		kh_vcpu_exit_str(vcpu, __m2, sizeof(__m2));		\
		ASSERT_EQ(port_, (vcpu)->run->io.port) TH_LOG("%s", __m2); \
		ASSERT_EQ(size_, (vcpu)->run->io.size) TH_LOG("%s", __m2); \
		ASSERT_EQ(dir_, (vcpu)->run->io.direction) TH_LOG("%s", __m2); \
	} while (0)

/* Run; expect the ucall @cmd, decoded into *(uc). */
#define ASSERT_UCALL(vcpu, cmd, uc)					\
	do {								\
		char __m[512];						\
		int __c = kh_vcpu_run_ucall(vcpu, uc, __m, sizeof(__m)); \
		ASSERT_EQ(cmd, __c) TH_LOG("%s", __m);			\
	} while (0)

/* Run; expect GUEST_SYNC(val). */
#define ASSERT_SYNC(vcpu, val)						\
	do {								\
		struct kh_ucall __uc;					\
		ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &__uc);		\
		ASSERT_EQ((uint64_t)(val), __uc.args[0])		\
			TH_LOG("GUEST_SYNC at %s:%lu",			\
			       __uc.file, (unsigned long)__uc.line);	\
	} while (0)

#define ASSERT_DONE(vcpu)						\
	do {								\
		struct kh_ucall __uc;					\
		ASSERT_UCALL(vcpu, KH_UCALL_DONE, &__uc);		\
	} while (0)

/* KHYP_SET_BALLOON of @vm to @npages; KHYP_GET_BALLOON into *(st). */
#define ASSERT_SET_BALLOON(vm, npages)					\
	do {								\
		struct khyp_balloon_target __t = { .pages = (npages) };	\
		ASSERT_EQ(0, ioctl((vm)->fd, KHYP_SET_BALLOON, &__t))	\
			TH_LOG("KHYP_SET_BALLOON: %s", strerror(errno)); \
	} while (0)

#define ASSERT_GET_BALLOON(vm, st)					\
	do {								\
		ASSERT_EQ(0, ioctl((vm)->fd, KHYP_GET_BALLOON, st))	\
			TH_LOG("KHYP_GET_BALLOON: %s", strerror(errno)); \
	} while (0)

/* ---- guest side ---- */

/*
 * What the IDT handlers saw, in the order they ran: each appends its
 * vector and the RIP it interrupted (the first KH_EVENT_LOG_LEN only;
 * kh_guest_event_log_n counts them all).  A handler that interrupted
 * another before it logged (an NMI delivered at the first instruction
 * of an exception handler) logs first, with a RIP inside the handlers'
 * code, [kh_guest_idt_stubs, kh_guest_idt_end).
 */
#define KH_EVENT_LOG_LEN	16

struct kh_guest_event {
	uint64_t vector;
	uint64_t rip;
};

extern volatile struct kh_guest_event kh_guest_event_log[KH_EVENT_LOG_LEN];
extern volatile uint32_t kh_guest_event_log_n;
extern const char kh_guest_idt_stubs[], kh_guest_idt_end[];

/* Set by the host before the guest runs: 1 on SVM (VMMCALL), 0 on VMX. */
extern uint8_t kh_guest_use_vmmcall;
/* Written by the IDT handlers (kh_vm_install_idt()). */
extern volatile uint32_t kh_guest_vector_count[256];
extern volatile uint64_t kh_guest_last_vector;
extern volatile uint64_t kh_guest_last_error;
extern volatile uint64_t kh_guest_fixup_rip;
extern volatile uint64_t kh_guest_fixup_vector;
extern volatile uint32_t kh_guest_exc_expected;

#define KH_GUEST_INLINE static inline __attribute__((always_inline))

KH_GUEST_INLINE void kh_guest_out8(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

KH_GUEST_INLINE void kh_guest_out16(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

KH_GUEST_INLINE void kh_guest_out32(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

KH_GUEST_INLINE uint8_t kh_guest_in8(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

KH_GUEST_INLINE uint16_t kh_guest_in16(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

KH_GUEST_INLINE uint32_t kh_guest_in32(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

KH_GUEST_INLINE void kh_guest_hlt(void)
{
	asm volatile("hlt" : : : "memory");
}

KH_GUEST_INLINE void kh_guest_cli(void)
{
	asm volatile("cli" : : : "memory");
}

KH_GUEST_INLINE void kh_guest_sti(void)
{
	asm volatile("sti" : : : "memory");
}

/* STI then NOP: the one instruction of the interrupt shadow. */
KH_GUEST_INLINE void kh_guest_sti_nop(void)
{
	asm volatile("sti; nop" : : : "memory");
}

KH_GUEST_INLINE void kh_guest_pause(void)
{
	asm volatile("pause" : : : "memory");
}

/* @n PAUSEs: a while, with no exit. */
KH_GUEST_INLINE void kh_guest_spin(int n)
{
	int i;

	for (i = 0; i < n; i++)
		kh_guest_pause();
}

KH_GUEST_INLINE uint64_t kh_guest_rflags(void)
{
	uint64_t f;

	asm volatile("pushfq; popq %0" : "=r"(f) : : "memory");
	return f;
}

/* VMMCALL on SVM, VMCALL on VMX: nr in RAX, args in RBX..RDI; returns RAX. */
KH_GUEST_INLINE uint64_t kh_guest_hypercall(uint64_t nr, uint64_t a0,
					    uint64_t a1, uint64_t a2,
					    uint64_t a3, uint64_t a4)
{
	uint64_t ret;

	if (kh_guest_use_vmmcall)
		asm volatile("vmmcall" : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3),
			       "D"(a4) : "memory");
	else
		asm volatile("vmcall" : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3),
			       "D"(a4) : "memory");
	return ret;
}

KH_GUEST_INLINE void kh_guest_cpuid(uint32_t leaf, uint32_t index,
				    uint32_t r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		     : "a"(leaf), "c"(index) : "memory");
}

KH_GUEST_INLINE uint64_t kh_guest_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return lo | (uint64_t)hi << 32;
}

KH_GUEST_INLINE void kh_guest_wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
		     "d"((uint32_t)(v >> 32)) : "memory");
}

/*
 * RDMSR/WRMSR that survive a fault (needs kh_vm_install_idt()): return
 * the exception vector, or 0xff if none.
 */
KH_GUEST_INLINE uint64_t kh_guest_rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;

	kh_guest_fixup_vector = 0xff;
	asm volatile("leaq 1f(%%rip), %%r11\n\t"
		     "movq %%r11, kh_guest_fixup_rip(%%rip)\n\t"
		     "rdmsr\n"
		     "1:\tmovq $0, kh_guest_fixup_rip(%%rip)"
		     : "+a"(lo), "+d"(hi) : "c"(msr) : "r11", "memory");
	*val = lo | (uint64_t)hi << 32;
	return kh_guest_fixup_vector;
}

KH_GUEST_INLINE uint64_t kh_guest_wrmsr_safe(uint32_t msr, uint64_t v)
{
	kh_guest_fixup_vector = 0xff;
	asm volatile("leaq 1f(%%rip), %%r11\n\t"
		     "movq %%r11, kh_guest_fixup_rip(%%rip)\n\t"
		     "wrmsr\n"
		     "1:\tmovq $0, kh_guest_fixup_rip(%%rip)"
		     : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
		     : "r11", "memory");
	return kh_guest_fixup_vector;
}

/* The xAPIC page of a VM with an irqchip (KHYP_CREATE_IRQCHIP). */
#define KH_APIC_BASE_GPA	0xfee00000UL

KH_GUEST_INLINE uint32_t kh_guest_apic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(KH_APIC_BASE_GPA + reg);
}

KH_GUEST_INLINE void kh_guest_apic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(KH_APIC_BASE_GPA + reg) = v;
}

/* Wait for an interrupt with no window between the check and HLT. */
KH_GUEST_INLINE void kh_guest_safe_halt(void)
{
	asm volatile("sti; hlt; cli" : : : "memory");
}

KH_GUEST_INLINE void kh_guest_ucall(uint64_t cmd, uint64_t a0, uint64_t a1,
				    uint64_t a2, uint64_t a3, uint64_t line,
				    const char *file, const char *expr)
{
	struct kh_ucall uc;

	uc.cmd = cmd;
	uc.args[0] = a0;
	uc.args[1] = a1;
	uc.args[2] = a2;
	uc.args[3] = a3;
	uc.line = line;
	uc.file = file;
	uc.expr = expr;
	kh_guest_out32(KH_PORT_UCALL, (uint32_t)(uintptr_t)&uc);
}

#define GUEST_SYNC(v)							\
	kh_guest_ucall(KH_UCALL_SYNC, (uint64_t)(v), 0, 0, 0, __LINE__,	\
		       __FILE__, NULL)
#define GUEST_SYNC4(a, b, c, d)						\
	kh_guest_ucall(KH_UCALL_SYNC, (uint64_t)(a), (uint64_t)(b),	\
		       (uint64_t)(c), (uint64_t)(d), __LINE__, __FILE__, NULL)
/* Never returns: the host must not run the vCPU again. */
#define GUEST_DONE()							\
	do {								\
		for (;;)						\
			kh_guest_ucall(KH_UCALL_DONE, 0, 0, 0, 0, __LINE__, \
				       __FILE__, NULL);			\
	} while (0)
#define __GUEST_FAIL(a, b, str)						\
	do {								\
		for (;;)						\
			kh_guest_ucall(KH_UCALL_ASSERT, (uint64_t)(a),	\
				       (uint64_t)(b), 0, 0, __LINE__,	\
				       __FILE__, str);			\
	} while (0)
#define GUEST_ASSERT(cond)						\
	do {								\
		if (!(cond))						\
			__GUEST_FAIL(0, 0, #cond);			\
	} while (0)
#define GUEST_ASSERT_EQ(a, b)						\
	do {								\
		uint64_t __a = (uint64_t)(a), __b = (uint64_t)(b);	\
		if (__a != __b)						\
			__GUEST_FAIL(__a, __b, #a " == " #b);		\
	} while (0)

#endif /* SELFTEST_KHYP_VM_H */
