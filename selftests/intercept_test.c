// SPDX-License-Identifier: GPL-2.0
/*
 * What khyp intercepts so that a guest cannot hurt the host CPU or read
 * host state (issue 17), on both backends:
 *  - #AC (and #DB on SVM) are intercepted and given back: the guest's
 *    handler sees them as on bare metal, the exit is counted, and a guest
 *    whose #AC delivery raises #AC again forever (CVE-2015-5307) loops
 *    through khyp's run loop, which a signal stops;
 *  - WBINVD and INVD exit and are skipped;
 *  - CR4: the guest gets only the bits khyp allows (#GP / EINVAL for the
 *    others) and its CR4.MCE is a shadow;
 *  - RDTSCP and RDPID give #UD (they would read the host's TSC_AUX),
 *    RDPMC #GP(0);
 *  - the host's hardware breakpoints survive a guest run;
 *  - the SVM and VMX instructions, MONITOR/MWAIT and XSETBV give #UD
 *    (docs/api.md, "What a guest cannot do");
 *  - MOV to and from DR0-DR7 keep the guest's values (core/dr.c).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"


#define X86_TRAP_DB	1
#define X86_TRAP_UD	6
#define X86_TRAP_GP	13
#define X86_TRAP_AC	17
#define NO_FAULT	0xff

#define CR0_AM		(1UL << 18)
#define RFLAGS_TF	(1UL << 8)
#define RFLAGS_AC	(1UL << 18)
#define CR4_MCE		(1UL << 6)

/* ---- debugfs exit counts (core/stats.c) ---- */

/* Exits of @kind of vCPU 0 of VM @id, or -1 if there is no such line. */
static long exit_count(int id, const char *kind)
{
	return khyp_vm_stat(id, "vcpu0/exits", kind);
}

/* A VM with one long-mode vCPU at @fn and the library's IDT. */
static struct kh_vm *vm_long(void (*fn)(void), struct kh_vcpu **vcpu, int *id)
{
	struct kh_vm *vm = kh_vm_create(0);

	*id = khyp_newest_vm();
	*vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(*vcpu, fn);
	kh_vm_install_idt(vm, *vcpu);
	return vm;
}

/* ---- guest helpers ---- */

KH_GUEST_INLINE uint64_t guest_read_cr4(void)
{
	uint64_t v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

/* MOV to CR4 that survives a fault: the vector, or NO_FAULT. */
KH_GUEST_INLINE uint64_t guest_write_cr4_safe(uint64_t v)
{
	kh_guest_fixup_vector = NO_FAULT;
	asm volatile("leaq 1f(%%rip), %%r11\n\t"
		     "movq %%r11, kh_guest_fixup_rip(%%rip)\n\t"
		     "mov %0, %%cr4\n"
		     "1:\tmovq $0, kh_guest_fixup_rip(%%rip)"
		     : : "r"(v) : "r11", "memory");
	return kh_guest_fixup_vector;
}

/* ---- #AC: given back to the guest, counted ---- */

static volatile uint8_t ac_buf[16] __attribute__((aligned(16)));

/*
 * Ring 3 with EFLAGS.AC (and IOPL 3 for the ucalls), a misaligned load:
 * #AC with error code 0 reaches the guest's (ring 0) handler, which
 * resumes after the load.
 */
static void guest_ac(void)
{
	uint64_t cr0;

	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	asm volatile("mov %0, %%cr0" : : "r"(cr0 | CR0_AM));
	asm volatile("movq %%rsp, %%rax\n\t"
		     "pushq $0x23\n\t"		/* KH_SEL_USER_DATA */
		     "pushq %%rax\n\t"
		     "pushq $0x43002\n\t"	/* AC, IOPL 3 */
		     "pushq $0x2b\n\t"		/* KH_SEL_USER_CODE64 */
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "iretq\n"
		     "1:" : : : "rax", "memory");

	kh_guest_fixup_vector = NO_FAULT;
	asm volatile("leaq 1f(%%rip), %%r11\n\t"
		     "movq %%r11, kh_guest_fixup_rip(%%rip)\n\t"
		     "movl (%0), %%eax\n"
		     "1:\tmovq $0, kh_guest_fixup_rip(%%rip)"
		     : : "r"(ac_buf + 1) : "rax", "r11", "memory");
	/* AC off again (ring 3 may change it) before any other access. */
	asm volatile("pushfq\n\t"
		     "andq $~0x40000, (%%rsp)\n\t"
		     "popfq" : : : "memory", "cc");
	GUEST_SYNC4(kh_guest_fixup_vector, kh_guest_last_error, 0, 0);
	GUEST_DONE();
}

TEST(ac_reflected_and_counted)
{
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;
	struct kh_vm *vm;
	int id;

	NEED_DEV();
	if (!khyp_debugfs())
		SKIP(return, "no debugfs");
	vm = vm_long(guest_ac, &vcpu, &id);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	if (uc.args[0] == NO_FAULT) {
		kh_vm_free(vm);
		SKIP(return, "this CPU does not check alignment (no #AC at all)");
	}
	EXPECT_EQ(X86_TRAP_AC, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]) TH_LOG("#AC error code");
	/* The guest saw it because khyp gave it back. */
	EXPECT_EQ(1, exit_count(id, "exception"));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- #DB: on SVM intercepted and given back ---- */

static volatile uint32_t db_seen;
static volatile uint64_t db_rip, db_after_rip;

/* IDT vector 1: count, note RIP, clear TF in the frame. */
asm(".pushsection .text\n"
    "db_handler:\n"
    "	lock incl db_seen(%rip)\n"
    "	pushq %rax\n"
    "	movq 8(%rsp), %rax\n"
    "	movq %rax, db_rip(%rip)\n"
    "	popq %rax\n"
    "	andq $~0x100, 16(%rsp)\n"
    "	iretq\n"
    ".popsection\n");
extern const char db_handler[];

/* Vector 1 of the library's IDT: db_handler. */
static void install_db_handler(struct kh_vm *vm)
{
	uint64_t *idt = kh_gpa(vm, KH_GPA_IDT);
	uint64_t h = (uint64_t)(uintptr_t)db_handler;

	idt[2] = (h & 0xffff) | KH_SEL_CODE64 << 16 | 0x8eULL << 40 |
		 (h >> 16 & 0xffff) << 48;
	idt[3] = h >> 32;
}

static void guest_db(void)
{
	asm volatile("pushfq\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popfq\n\t"		/* TF: trap after the next */
		     "nop\n"
		     "1:\tleaq 1b(%%rip), %%rax\n\t"
		     "movq %%rax, db_after_rip(%%rip)"
		     : : : "rax", "memory", "cc");
	GUEST_SYNC4(db_seen, db_rip, db_after_rip, 0);
	GUEST_DONE();
}

TEST(db_single_step_reaches_guest)
{
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;
	struct kh_vm *vm;
	int id;

	NEED_DEV();
	if (!khyp_debugfs())
		SKIP(return, "no debugfs");
	vm = vm_long(guest_db, &vcpu, &id);
	install_db_handler(vm);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]) TH_LOG("#DB seen by the guest");
	/* a trap: reported after the NOP, with the NOP done */
	EXPECT_EQ(uc.args[2], uc.args[1]);
	if (vm->backend == KHYP_BACKEND_SVM) {
		EXPECT_EQ(1, exit_count(id, "exception"));
	} else {
		/* VMX: MOV DR exits, so no #DB loop can be armed */
		EXPECT_EQ(0, exit_count(id, "exception"));
	}
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- WBINVD and INVD: skipped, counted ---- */

static void guest_wbinvd(void)
{
	asm volatile("wbinvd" : : : "memory");
	GUEST_SYNC(1);
	asm volatile("invd" : : : "memory");
	GUEST_SYNC(2);
	GUEST_DONE();
}

TEST(wbinvd_invd_skipped)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int id;

	NEED_DEV();
	if (!khyp_debugfs())
		SKIP(return, "no debugfs");
	vm = vm_long(guest_wbinvd, &vcpu, &id);
	ASSERT_SYNC(vcpu, 1);
	EXPECT_EQ(1, exit_count(id, "wbinvd"));
	ASSERT_SYNC(vcpu, 2);
	EXPECT_EQ(2, exit_count(id, "wbinvd"));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- CR4.MCE: the guest's view is a shadow ---- */

static void guest_cr4_mce(void)
{
	uint64_t cr4 = guest_read_cr4();

	GUEST_ASSERT_EQ(NO_FAULT, guest_write_cr4_safe(cr4 | CR4_MCE));
	GUEST_ASSERT_EQ(cr4 | CR4_MCE, guest_read_cr4());
	GUEST_ASSERT_EQ(NO_FAULT, guest_write_cr4_safe(cr4 & ~CR4_MCE));
	GUEST_SYNC(guest_read_cr4());
	GUEST_DONE();
}

TEST(cr4_mce_is_shadowed)
{
	struct khyp_sregs s;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;
	struct kh_vm *vm;
	int id;

	NEED_DEV();
	if (!khyp_debugfs())
		SKIP(return, "no debugfs");
	vm = vm_long(guest_cr4_mce, &vcpu, &id);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0] & CR4_MCE) TH_LOG("cr4 %#lx", uc.args[0]);
	kh_vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(uc.args[0], s.cr4);
	/*
	 * SVM has no CR4 mask: the shadow holds only if every access
	 * exits (3 reads and 2 writes above).
	 * VMX: only the 2 writes, which change MCE, exit.
	 */
	EXPECT_EQ(vm->backend == KHYP_BACKEND_SVM ? 5 : 2,
		  exit_count(id, "cr"));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- CR4: only the allowed bits ---- */

struct cr4_bit {
	const char *name;
	int bit;
	const char *cpu_flag;	/* allowed if the host has it; NULL: never */
	bool always;		/* allowed whatever the host */
	bool guest_try;		/* safe to set in the library's guest */
};

static const struct cr4_bit cr4_bits[] = {
	{ "VME", 0, NULL, true, true },
	{ "PVI", 1, NULL, true, true },
	{ "TSD", 2, NULL, true, true },
	{ "DE", 3, NULL, true, true },
	{ "PSE", 4, NULL, true, true },
	{ "PGE", 7, NULL, true, true },
	{ "PCE", 8, NULL, true, true },
	{ "UMIP", 11, "umip", false, true },
	{ "LA57", 12, NULL, false, true },
	{ "VMXE", 13, NULL, false, true },
	{ "SMXE", 14, NULL, false, true },
	{ "FSGSBASE", 16, "fsgsbase", false, true },
	{ "PCIDE", 17, "pcid", false, true },
	{ "OSXSAVE", 18, NULL, false, true },
	{ "KL", 19, NULL, false, true },
	/* every page of the library's guest is a user page: not in it */
	{ "SMEP", 20, "smep", false, false },
	{ "SMAP", 21, "smap", false, false },
	{ "PKE", 22, "pku", false, true },
	{ "CET", 23, NULL, false, true },
	{ "PKS", 24, NULL, false, true },
	{ "UINTR", 25, NULL, false, true },
	{ "bit 26", 26, NULL, false, true },
	{ "LASS", 27, NULL, false, true },
	{ "LAM_SUP", 28, NULL, false, true },
	{ "bit 31", 31, NULL, false, true },
	{ "FRED", 32, NULL, false, true },
	{ "bit 63", 63, NULL, false, true },
};
#define NR_CR4_BITS	(sizeof(cr4_bits) / sizeof(cr4_bits[0]))

static volatile uint64_t cr4_try_mask[NR_CR4_BITS];
static volatile uint64_t cr4_result[NR_CR4_BITS];

/* Set each bit, read it back, clear it: the vector of the set. */
static void guest_cr4_bits(void)
{
	uint64_t cr4 = guest_read_cr4();
	unsigned int i;

	for (i = 0; i < NR_CR4_BITS; i++) {
		if (!cr4_try_mask[i])
			continue;
		cr4_result[i] = guest_write_cr4_safe(cr4 | cr4_try_mask[i]);
		if (cr4_result[i] == NO_FAULT) {
			GUEST_ASSERT_EQ(cr4 | cr4_try_mask[i], guest_read_cr4());
			GUEST_ASSERT_EQ(NO_FAULT, guest_write_cr4_safe(cr4));
		}
		GUEST_ASSERT_EQ(cr4, guest_read_cr4());
	}
	GUEST_DONE();
}

TEST(cr4_only_allowed_bits)
{
	struct khyp_sregs s, set;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	bool allowed[NR_CR4_BITS];
	unsigned int i;
	int id, r;

	NEED_DEV();
	vm = vm_long(guest_cr4_bits, &vcpu, &id);
	kh_vcpu_get_sregs(vcpu, &s);
	for (i = 0; i < NR_CR4_BITS; i++) {
		const struct cr4_bit *b = &cr4_bits[i];

		allowed[i] = b->always || (b->cpu_flag && cpuinfo_has(b->cpu_flag));
		if (b->guest_try)
			kh_vm_global(vm, cr4_try_mask[i]) = 1ULL << b->bit;
		set = s;
		set.cr4 |= 1ULL << b->bit;
		r = ioctl(vcpu->fd, KHYP_SET_SREGS, &set);
		if (allowed[i]) {
			EXPECT_EQ(0, r) TH_LOG("KHYP_SET_SREGS with CR4.%s: %s",
					       b->name, strerror(errno));
		} else {
			EXPECT_EQ(EINVAL, r ? errno : 0)
				TH_LOG("KHYP_SET_SREGS with CR4.%s", b->name);
		}
	}
	kh_vcpu_set_sregs(vcpu, &s);
	ASSERT_DONE(vcpu);
	for (i = 0; i < NR_CR4_BITS; i++) {
		if (!cr4_bits[i].guest_try)
			continue;
		EXPECT_EQ(allowed[i] ? NO_FAULT : X86_TRAP_GP,
			  kh_vm_global(vm, cr4_result[i]))
			TH_LOG("guest MOV to CR4.%s (allowed: %d)",
			       cr4_bits[i].name, allowed[i]);
	}
	kh_vm_free(vm);
}

/* ---- RDTSCP, RDPID, RDPMC: no host state ---- */

static volatile uint64_t hostinfo_vec[3], hostinfo_val[3], hostinfo_aux[3];

/* @insn with ECX = 0; the vector and what it left in RAX (or ECX). */
#define TRY(i, insn)							\
	do {								\
		uint64_t __a = 0, __c = 0;				\
		kh_guest_fixup_vector = NO_FAULT;			\
		asm volatile("leaq 1f(%%rip), %%r11\n\t"		\
			     "movq %%r11, kh_guest_fixup_rip(%%rip)\n\t" \
			     insn "\n"					\
			     "1:\tmovq $0, kh_guest_fixup_rip(%%rip)"	\
			     : "+a"(__a), "+c"(__c)			\
			     : : "r11", "rdx", "memory");		\
		hostinfo_vec[i] = kh_guest_fixup_vector;		\
		hostinfo_val[i] = __a;					\
		hostinfo_aux[i] = __c;					\
	} while (0)

static void guest_hostinfo(void)
{
	TRY(0, "rdtscp");
	TRY(1, "rdpid %%rax");
	TRY(2, "rdpmc");
	GUEST_DONE();
}

TEST(no_host_cpu_number_or_counters)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int id;

	NEED_DEV();
	vm = vm_long(guest_hostinfo, &vcpu, &id);
	ASSERT_DONE(vcpu);
	EXPECT_EQ(X86_TRAP_UD, kh_vm_global(vm, hostinfo_vec[0]))
		TH_LOG("RDTSCP read TSC_AUX %#lx",
		       kh_vm_global(vm, hostinfo_aux[0]));
	/* SVM cannot intercept RDPID: khyp loads TSC_AUX = 0 instead */
	if (vm->backend == KHYP_BACKEND_SVM && cpuinfo_has("rdpid")) {
		EXPECT_EQ(NO_FAULT, kh_vm_global(vm, hostinfo_vec[1]));
		EXPECT_EQ(0, kh_vm_global(vm, hostinfo_val[1]));
	} else {
		EXPECT_EQ(X86_TRAP_UD, kh_vm_global(vm, hostinfo_vec[1]))
			TH_LOG("RDPID read %#lx",
			       kh_vm_global(vm, hostinfo_val[1]));
	}
	EXPECT_EQ(X86_TRAP_GP, kh_vm_global(vm, hostinfo_vec[2]))
		TH_LOG("RDPMC read %#lx", kh_vm_global(vm, hostinfo_val[2]));
	kh_vm_free(vm);
}

/* ---- the host's hardware breakpoints survive a guest run ---- */

/* A single-step #DB in the guest (it sets DR6.BS), then an exit. */
static void guest_step_sync_forever(void)
{
	for (;;) {
		asm volatile("pushfq\n\t"
			     "orq $0x100, (%%rsp)\n\t"
			     "popfq\n\t"
			     "nop" : : : "memory", "cc");
		GUEST_SYNC(0);
	}
}

static volatile uint64_t watched;

TEST(host_breakpoints_survive_runs)
{
	struct perf_event_attr pe = {
		.type = PERF_TYPE_BREAKPOINT,
		.size = sizeof(pe),
		.bp_type = HW_BREAKPOINT_W,
		.bp_len = HW_BREAKPOINT_LEN_8,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	uint64_t hits = 0;
	int fd, i, id;

	NEED_DEV();
	pe.bp_addr = (uintptr_t)&watched;
	fd = syscall(__NR_perf_event_open, &pe, 0, -1, -1, 0);
	if (fd < 0)
		SKIP(return, "no hardware breakpoint: %s", strerror(errno));
	vm = vm_long(guest_step_sync_forever, &vcpu, &id);
	install_db_handler(vm);
	watched++;
	ASSERT_EQ(sizeof(hits), read(fd, &hits, sizeof(hits)));
	ASSERT_EQ(1, hits) TH_LOG("the breakpoint does not work at all");
	for (i = 0; i < 20; i++) {
		ASSERT_SYNC(vcpu, 0);
		watched++;
	}
	ASSERT_EQ(sizeof(hits), read(fd, &hits, sizeof(hits)));
	EXPECT_EQ(21, hits) TH_LOG("breakpoint hits after guest runs");
	EXPECT_EQ(20, kh_vm_global(vm, db_seen));
	close(fd);
	kh_vm_free(vm);
}

/* ---- #UD for what a guest cannot use (docs/api.md) ---- */

struct ud_insn {
	const char *name;
	uint8_t len;
	uint8_t bytes[8];
	uint64_t rax;
};

#define UD_PAGE		0x104000UL	/* a zeroed page for memory operands */

static const struct ud_insn ud_insns[] = {
	{ "VMRUN", 3, { 0x0f, 0x01, 0xd8 }, 0 },
	{ "VMLOAD", 3, { 0x0f, 0x01, 0xda }, 0 },
	{ "VMSAVE", 3, { 0x0f, 0x01, 0xdb }, 0 },
	{ "STGI", 3, { 0x0f, 0x01, 0xdc }, 0 },
	{ "CLGI", 3, { 0x0f, 0x01, 0xdd }, 0 },
	{ "SKINIT", 3, { 0x0f, 0x01, 0xde }, 0 },
	{ "INVLPGA", 3, { 0x0f, 0x01, 0xdf }, 0 },
	{ "VMXON", 4, { 0xf3, 0x0f, 0xc7, 0x30 }, UD_PAGE },	/* (%rax) */
	{ "VMPTRLD", 3, { 0x0f, 0xc7, 0x30 }, UD_PAGE },
	{ "VMPTRST", 3, { 0x0f, 0xc7, 0x38 }, UD_PAGE },
	{ "VMCLEAR", 4, { 0x66, 0x0f, 0xc7, 0x30 }, UD_PAGE },
	{ "VMREAD", 3, { 0x0f, 0x78, 0xc3 }, 0 },		/* rax, rbx */
	{ "VMWRITE", 3, { 0x0f, 0x79, 0xd8 }, 0 },		/* rbx, rax */
	{ "VMLAUNCH", 3, { 0x0f, 0x01, 0xc2 }, 0 },
	{ "VMRESUME", 3, { 0x0f, 0x01, 0xc3 }, 0 },
	{ "VMXOFF", 3, { 0x0f, 0x01, 0xc4 }, 0 },
	{ "VMFUNC", 3, { 0x0f, 0x01, 0xd4 }, 0 },
	{ "INVEPT", 5, { 0x66, 0x0f, 0x38, 0x80, 0x18 }, UD_PAGE }, /* (%rax), rbx */
	{ "INVVPID", 5, { 0x66, 0x0f, 0x38, 0x81, 0x18 }, UD_PAGE },
	{ "MONITOR", 3, { 0x0f, 0x01, 0xc8 }, UD_PAGE },
	{ "MWAIT", 3, { 0x0f, 0x01, 0xc9 }, 0 },
	{ "XSETBV", 3, { 0x0f, 0x01, 0xd1 }, 1 },		/* XCR0 = 1 */
};
#define NR_UD_INSNS	(sizeof(ud_insns) / sizeof(ud_insns[0]))

static volatile uint64_t ud_result[NR_UD_INSNS];
static volatile uint8_t ud_code[32] __attribute__((aligned(32)));

/* Each instruction, then RET, from a buffer; #UD resumes at the RET. */
static void guest_ud(void)
{
	unsigned int i, k;

	for (i = 0; i < NR_UD_INSNS; i++) {
		const struct ud_insn *u = &ud_insns[i];
		uint64_t a = u->rax, b = 0, c = 0, d = 0;

		for (k = 0; k < u->len; k++)
			ud_code[k] = u->bytes[k];
		ud_code[k] = 0xc3;
		kh_guest_fixup_vector = NO_FAULT;
		kh_guest_fixup_rip = (uint64_t)(uintptr_t)&ud_code[k];
		asm volatile("call *%[fn]"
			     : "+a"(a), "+b"(b), "+c"(c), "+d"(d)
			     : [fn] "r"(ud_code)
			     : "memory", "cc");
		kh_guest_fixup_rip = 0;
		ud_result[i] = kh_guest_fixup_vector;
	}
	GUEST_DONE();
}

TEST(guest_cannot_use_gets_ud)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	unsigned int i;
	int id;

	NEED_DEV();
	vm = vm_long(guest_ud, &vcpu, &id);
	ASSERT_DONE(vcpu);
	for (i = 0; i < NR_UD_INSNS; i++) {
		uint64_t v = kh_vm_global(vm, ud_result[i]);

		EXPECT_EQ(X86_TRAP_UD, v)
			TH_LOG("%s: vector %#lx (0xff: none)",
			       ud_insns[i].name ? ud_insns[i].name : "?", v);
	}
	kh_vm_free(vm);
}

/* ---- the debug registers (core/dr.c) ---- */

static volatile uint8_t dr_code[32] __attribute__((aligned(32)));

/*
 * Run one MOV DR given as bytes (then RET) with RAX and R9 in, out: the
 * exception vector or NO_FAULT.
 */
static uint64_t guest_dr_op(const uint8_t *b, unsigned int len,
			    uint64_t *rax, uint64_t *r9)
{
	register uint64_t r9v asm("r9") = *r9;
	uint64_t a = *rax;
	unsigned int k;

	for (k = 0; k < len; k++)
		dr_code[k] = b[k];
	dr_code[k] = 0xc3;
	kh_guest_fixup_vector = NO_FAULT;
	kh_guest_fixup_rip = (uint64_t)(uintptr_t)&dr_code[k];
	asm volatile("call *%[fn]" : "+a"(a), "+r"(r9v)
		     : [fn] "r"(dr_code) : "memory", "cc");
	kh_guest_fixup_rip = 0;
	*rax = a;
	*r9 = r9v;
	return kh_guest_fixup_vector;
}

/* MOV DRn, RAX (0F 23 /r) and MOV RAX, DRn (0F 21 /r). */
static uint64_t dr_write(int n, uint64_t v)
{
	uint8_t b[3] = { 0x0f, 0x23, 0xc0 | n << 3 };
	uint64_t r9 = 0;

	return guest_dr_op(b, 3, &v, &r9);
}

static uint64_t dr_read(int n, uint64_t *v)
{
	uint8_t b[3] = { 0x0f, 0x21, 0xc0 | n << 3 };
	uint64_t r9 = 0;

	*v = 0x5a5a5a5a5a5a5a5aULL;
	return guest_dr_op(b, 3, v, &r9);
}

#define DR_CHECK(expr, want)	GUEST_ASSERT_EQ((uint64_t)(expr), (uint64_t)(want))

static void guest_debug_registers(void)
{
	/* MOV R9, DR1 and MOV DR3, R9: REX.B, one byte longer */
	static const uint8_t to_r9[4] = { 0x41, 0x0f, 0x21, 0xc9 };
	static const uint8_t from_r9[4] = { 0x41, 0x0f, 0x23, 0xd9 };
	uint64_t v, r9, rax;
	int n;

	/* the values of power-on */
	for (n = 0; n < 4; n++) {
		DR_CHECK(dr_read(n, &v), NO_FAULT);
		DR_CHECK(v, 0);
	}
	DR_CHECK(dr_read(6, &v), NO_FAULT);
	DR_CHECK(v, 0xffff0ff0);
	DR_CHECK(dr_read(7, &v), NO_FAULT);
	DR_CHECK(v, 0x400);
	/* DR0-DR3 keep any address */
	for (n = 0; n < 4; n++)
		DR_CHECK(dr_write(n, 0xffffffff80001000ULL + n), NO_FAULT);
	for (n = 0; n < 4; n++) {
		DR_CHECK(dr_read(n, &v), NO_FAULT);
		DR_CHECK(v, 0xffffffff80001000ULL + n);
	}
	/* DR6 and DR7 keep their writable bits, with their fixed ones */
	DR_CHECK(dr_write(6, 0), NO_FAULT);
	DR_CHECK(dr_read(6, &v), NO_FAULT);
	DR_CHECK(v, 0xffff0ff0);
	DR_CHECK(dr_write(6, 0xe00f), NO_FAULT);
	DR_CHECK(dr_read(6, &v), NO_FAULT);
	DR_CHECK(v, 0xffffefff);
	DR_CHECK(dr_write(7, 0x1 | 0x1800), NO_FAULT);	/* L0, reserved 11-12 */
	DR_CHECK(dr_read(7, &v), NO_FAULT);
	DR_CHECK(v, 0x401);
	/* bits 63:32 of DR6 or DR7: #GP, nothing changes */
	DR_CHECK(dr_write(7, 1ULL << 32), X86_TRAP_GP);
	DR_CHECK(dr_write(6, 1ULL << 40), X86_TRAP_GP);
	DR_CHECK(dr_read(7, &v), NO_FAULT);
	DR_CHECK(v, 0x401);
	/* DR4 and DR5 are DR6 and DR7 while CR4.DE is clear */
	DR_CHECK(dr_read(4, &v), NO_FAULT);
	DR_CHECK(v, 0xffffefff);
	DR_CHECK(dr_read(5, &v), NO_FAULT);
	DR_CHECK(v, 0x401);
	DR_CHECK(dr_write(5, 0x3), NO_FAULT);
	DR_CHECK(dr_read(7, &v), NO_FAULT);
	DR_CHECK(v, 0x403);
	/* a REX-prefixed MOV: the register is R9 */
	rax = 0;
	r9 = 0;
	DR_CHECK(guest_dr_op(to_r9, 4, &rax, &r9), NO_FAULT);
	DR_CHECK(r9, 0xffffffff80001001ULL);
	r9 = 0x1234;
	DR_CHECK(guest_dr_op(from_r9, 4, &rax, &r9), NO_FAULT);
	DR_CHECK(dr_read(3, &v), NO_FAULT);
	DR_CHECK(v, 0x1234);
	/* CR4.DE: DR4 and DR5 are #UD */
	DR_CHECK(guest_write_cr4_safe(guest_read_cr4() | (1UL << 3)), NO_FAULT);	/* DE */
	DR_CHECK(dr_read(4, &v), X86_TRAP_UD);
	DR_CHECK(dr_write(5, 0), X86_TRAP_UD);
	DR_CHECK(dr_read(6, &v), NO_FAULT);
	GUEST_DONE();
}

TEST(debug_registers_keep_values)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int id;

	NEED_DEV();
	vm = vm_long(guest_debug_registers, &vcpu, &id);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* ---- last: on a CPU without the fix it may never come back ---- */

/*
 * The CVE-2015-5307 guest: 32-bit protected mode at CPL 3 with CR0.AM and
 * EFLAGS.AC, a misaligned stack, and every IDT gate leading to a CPL 3
 * handler, so that delivering #AC pushes onto the misaligned stack and
 * raises #AC again.  A CPU that takes #AC but not during delivery reaches
 * the handler (port 0xf1); one without alignment checks goes on (0xf0).
 */
asm(".pushsection .text\n"
    ".code32\n"
    "ac_loop_start:\n"
    "	pushl %eax\n"
    "	outl %eax, $0xf0\n"
    "1:	jmp 1b\n"
    "ac_loop_handler:\n"
    "	outl %eax, $0xf1\n"
    "2:	jmp 2b\n"
    "ac_loop_end:\n"
    ".code64\n"
    ".popsection\n");
extern const char ac_loop_start[], ac_loop_handler[], ac_loop_end[];

#define LOOP_GDT	0x100000UL
#define LOOP_IDT	0x101000UL
#define LOOP_TSS	0x102000UL
#define LOOP_STACK	0x103801UL	/* misaligned */

static uint64_t desc32(uint32_t base, uint32_t limit, uint8_t access,
		       uint8_t flags)
{
	return (limit & 0xffffULL) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)flags << 52 | (uint64_t)(base >> 24) << 56;
}

static void seg32(struct khyp_segment *s, uint16_t sel, uint8_t type,
		  bool system)
{
	*s = (struct khyp_segment){
		.selector = sel, .base = 0, .limit = 0xffffffff, .type = type,
		.present = 1, .dpl = sel & 3, .db = 1, .s = !system, .g = 1,
	};
}

static void setup_ac_loop(struct kh_vm *vm, struct kh_vcpu *vcpu)
{
	uint64_t *gdt = kh_gpa(vm, LOOP_GDT), *idt = kh_gpa(vm, LOOP_IDT);
	uint32_t handler = KH_GPA_LOW_CODE + (ac_loop_handler - ac_loop_start);
	struct khyp_sregs s;
	struct khyp_regs r = { 0 };
	int i;

	kh_vm_load(vm, KH_GPA_LOW_CODE, ac_loop_start, ac_loop_end);
	gdt[0] = 0;
	gdt[1] = desc32(0, 0xfffff, 0x9b, 0xc);		/* 0x08 code, DPL 0 */
	gdt[2] = desc32(0, 0xfffff, 0x93, 0xc);		/* 0x10 data, DPL 0 */
	gdt[3] = desc32(0, 0xfffff, 0xfb, 0xc);		/* 0x18 code, DPL 3 */
	gdt[4] = desc32(0, 0xfffff, 0xf3, 0xc);		/* 0x20 data, DPL 3 */
	gdt[5] = desc32(LOOP_TSS, 0x67, 0x8b, 0);	/* 0x28 busy TSS */
	/* 32-bit interrupt gates to the DPL 3 code: no stack switch */
	for (i = 0; i < 32; i++)
		idt[i] = (handler & 0xffffULL) | 0x1bULL << 16 |
			 0xeeULL << 40 | (uint64_t)(handler >> 16) << 48;

	kh_vcpu_get_sregs(vcpu, &s);
	seg32(&s.cs, 0x1b, 11, false);
	seg32(&s.ss, 0x23, 3, false);
	s.ds = s.es = s.fs = s.gs = s.ss;
	s.tr = (struct khyp_segment){ .selector = 0x28, .base = LOOP_TSS,
				      .limit = 0x67, .type = 11, .present = 1 };
	s.ldt = (struct khyp_segment){ .type = 2, .present = 1,
				       .limit = 0xffff };
	s.gdt.base = LOOP_GDT;
	s.gdt.limit = 6 * 8 - 1;
	s.idt.base = LOOP_IDT;
	s.idt.limit = 32 * 8 - 1;
	s.cr0 = KH_CR0_PE | KH_CR0_ET | KH_CR0_NE | CR0_AM;
	s.cr4 = 0;
	s.efer = 0;
	kh_vcpu_set_sregs(vcpu, &s);
	r.rip = KH_GPA_LOW_CODE;
	r.rsp = LOOP_STACK;
	r.rflags = 0x43202;	/* AC, IOPL 3, IF */
	kh_vcpu_set_regs(vcpu, &r);
}

static void on_alarm(int sig)
{
}

TEST(ac_loop_stops_on_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { .tv_sec = 2 } };
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	double t0, t;
	int id, r, e;
	long n;

	NEED_DEV();
	if (!khyp_debugfs())
		SKIP(return, "no debugfs");
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	vm = kh_vm_create(0);
	id = khyp_newest_vm();
	vcpu = kh_vcpu_add(vm, 0);
	setup_ac_loop(vm, vcpu);

	t0 = now_s();
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	r = kh_vcpu_run(vcpu);
	e = errno;
	if (!r && vcpu->run->exit_reason == KHYP_EXIT_IO &&
	    vcpu->run->io.port == 0xf0) {
		kh_vm_free(vm);
		SKIP(return, "this CPU does not check alignment (no #AC at all)");
	}
	/* a CPU that does not check delivery's pushes gets here once */
	if (!r && vcpu->run->exit_reason == KHYP_EXIT_IO &&
	    vcpu->run->io.port == 0xf1) {
		TH_LOG("#AC delivered without recursion on this CPU");
		r = kh_vcpu_run(vcpu);	/* spins in the handler */
		e = errno;
	}
	t = now_s() - t0;
	ASSERT_EQ(-1, r) TH_LOG("KHYP_RUN returned %d, exit %u", r,
				vcpu->run->exit_reason);
	EXPECT_EQ(EINTR, e);
	EXPECT_EQ(KHYP_EXIT_INTR, vcpu->run->exit_reason);
	EXPECT_GT(20.0, t) TH_LOG("the signal took %.1f s to stop the guest", t);
	n = exit_count(id, "exception");
	EXPECT_LE(1, n) TH_LOG("intercepted #AC: %ld", n);
	TH_LOG("%ld #AC exits in %.2f s", n, t);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
