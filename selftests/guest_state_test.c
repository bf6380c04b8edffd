// SPDX-License-Identifier: GPL-2.0
/*
 * The guest state khyp hands to the hardware (issue 16: the ioctl fuzzer
 * hung svm-qemu's whole machine with a fuzzed KHYP_SET_SREGS).
 *
 * EFER.LME with paging off and CR4.PAE clear is a state every x86 CPU
 * holds on the way into long mode (the manuals set PAE first, but
 * nothing requires it).  QEMU's nested SVM, at each #VMEXIT, loads the
 * host's CR0 through the same code as a MOV to CR0, which from that guest
 * state sees "paging on with LME but without PAE", gives up, and leaves
 * the guest's CR0 (paging off) in the host: the host kernel never runs
 * again.  khyp keeps the real CR4.PAE set in that state (svm/state.c):
 * these tests reach it from userspace, from the guest's WRMSR and from
 * its MOV to CR4, and expect the guest to go on.
 *
 * Then what KHYP_SET_SREGS, KHYP_SET_MSRS and the guest's WRMSR to EFER
 * refuse (docs/api.md): control-register and EFER combinations no
 * processor can hold are EINVAL (or #GP for the guest); a state that
 * spans several ioctls and that the hardware refuses to enter ends the
 * run with INVALID_STATE on both backends, checked by the core itself.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define CR0_CD		(1ULL << 30)
#define CR0_NW		(1ULL << 29)
#define CR4_PCIDE	(1ULL << 17)
#define RFLAGS_VM	(1ULL << 17)

/*
 * 32-bit protected mode, paging off: set EFER.LME with WRMSR, exit (the
 * first exit in the state), report EFER and CR4, halt.
 */
asm(".pushsection .text\n"
    ".code32\n"
    "lme_wrmsr_start:\n"
    "	movl $0xc0000080, %ecx\n"
    "	rdmsr\n"
    "	orl $0x100, %eax\n"
    "	wrmsr\n"
    "	outb %al, $0x40\n"
    "	rdmsr\n"
    "	outl %eax, $0x41\n"
    "	movl %cr4, %eax\n"
    "	outl %eax, $0x42\n"
    "	hlt\n"
    "lme_wrmsr_end:\n"
    ".code64\n"
    ".popsection\n");
extern const char lme_wrmsr_start[], lme_wrmsr_end[];

/* The same state entered from userspace: exit, report CR4, halt. */
asm(".pushsection .text\n"
    ".code32\n"
    "lme_out_start:\n"
    "	outb %al, $0x40\n"
    "	movl %cr4, %eax\n"
    "	outl %eax, $0x42\n"
    "	hlt\n"
    "lme_out_end:\n"
    ".code64\n"
    ".popsection\n");
extern const char lme_out_start[], lme_out_end[];

/* With EFER.LME set and paging off, clear CR4.PAE; exit, report, halt. */
asm(".pushsection .text\n"
    ".code32\n"
    "pae_off_start:\n"
    "	movl %cr4, %eax\n"
    "	andl $~0x20, %eax\n"
    "	movl %eax, %cr4\n"
    "	outb %al, $0x40\n"
    "	movl %cr4, %eax\n"
    "	outl %eax, $0x42\n"
    "	hlt\n"
    "pae_off_end:\n"
    ".code64\n"
    ".popsection\n");
extern const char pae_off_start[], pae_off_end[];

static struct kh_vcpu *prot32_vcpu(struct kh_vm **vm, const char *start,
				   const char *end)
{
	struct kh_vcpu *vcpu;

	*vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(*vm, 0);
	kh_vm_load(*vm, KH_GPA_LOW_CODE, start, end);
	kh_vcpu_setup_prot32(vcpu, KH_GPA_LOW_CODE);
	return vcpu;
}

/* The guest sets LME itself (WRMSR exits: the next entry is in it). */
TEST(guest_sets_lme_without_pae)
{
	struct khyp_sregs s;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = prot32_vcpu(&vm, lme_wrmsr_start, lme_wrmsr_end);
	ASSERT_IO(vcpu, 0x40, 1, KHYP_IO_OUT);
	ASSERT_IO(vcpu, 0x41, 4, KHYP_IO_OUT);
	EXPECT_EQ(KH_EFER_LME, vcpu->run->io.data & (KH_EFER_LME | KH_EFER_LMA));
	ASSERT_IO(vcpu, 0x42, 4, KHYP_IO_OUT);
	EXPECT_EQ(0, vcpu->run->io.data & KH_CR4_PAE)
		TH_LOG("the guest reads CR4 %#llx", vcpu->run->io.data);
	ASSERT_EXIT(vcpu, KHYP_EXIT_HLT);
	kh_vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(KH_EFER_LME, s.efer);
	EXPECT_EQ(0, s.cr4 & KH_CR4_PAE);
	EXPECT_EQ(0, s.cr0 & KH_CR0_PG);
	kh_vm_free(vm);
}

/* Userspace enters it with KHYP_SET_SREGS. */
TEST(lme_without_pae_from_userspace)
{
	struct khyp_sregs s;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = prot32_vcpu(&vm, lme_out_start, lme_out_end);
	kh_vcpu_get_sregs(vcpu, &s);
	s.efer = KH_EFER_LME;
	kh_vcpu_set_sregs(vcpu, &s);
	ASSERT_IO(vcpu, 0x40, 1, KHYP_IO_OUT);
	ASSERT_IO(vcpu, 0x42, 4, KHYP_IO_OUT);
	EXPECT_EQ(0, vcpu->run->io.data & KH_CR4_PAE);
	ASSERT_EXIT(vcpu, KHYP_EXIT_HLT);
	kh_vm_free(vm);
}

/* The guest clears PAE after LME (MOV to CR4 exits on SVM). */
TEST(guest_clears_pae_with_lme)
{
	struct khyp_sregs s;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = prot32_vcpu(&vm, pae_off_start, pae_off_end);
	kh_vcpu_get_sregs(vcpu, &s);
	s.efer = KH_EFER_LME;
	s.cr4 = KH_CR4_PAE;
	kh_vcpu_set_sregs(vcpu, &s);
	ASSERT_IO(vcpu, 0x40, 1, KHYP_IO_OUT);
	ASSERT_IO(vcpu, 0x42, 4, KHYP_IO_OUT);
	EXPECT_EQ(0, vcpu->run->io.data & KH_CR4_PAE);
	ASSERT_EXIT(vcpu, KHYP_EXIT_HLT);
	kh_vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(0, s.cr4 & KH_CR4_PAE);
	kh_vm_free(vm);
}

static void guest_done(void)
{
	GUEST_DONE();
}

/*
 * CR0, CR4 and EFER that no processor can hold together: EINVAL, each
 * from a long-mode state and the 32-bit one, and nothing changes.
 */
TEST(sregs_impossible_modes_refused)
{
	struct khyp_sregs good, bad, now;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int i;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_done);
	kh_vcpu_get_sregs(vcpu, &good);
	for (i = 0; i < 10; i++) {
		bad = good;
		switch (i) {
		case 0:	/* NW without CD */
			bad.cr0 = (bad.cr0 & ~CR0_CD) | CR0_NW;
			break;
		case 1:	/* paging without protection */
			bad.cr0 &= ~KH_CR0_PE;
			break;
		case 2:	/* LMA without paging */
			bad.cr0 &= ~KH_CR0_PG;
			break;
		case 3:	/* LMA without LME */
			bad.efer &= ~KH_EFER_LME;
			break;
		case 4:	/* LME with paging but without LMA */
			bad.efer &= ~KH_EFER_LMA;
			break;
		case 5:	/* long mode without PAE */
			bad.cr4 &= ~KH_CR4_PAE;
			break;
		case 6:	/* PCIDE outside long mode */
			bad.cr4 |= CR4_PCIDE;
			bad.cr0 &= ~KH_CR0_PG;
			bad.efer = KH_EFER_LME;
			break;
		case 7:	/* CR3 beyond any physical address */
			bad.cr3 |= 1ULL << 63;
			break;
		case 8:	/* LMA, paging off, no LME (the fuzzer's) */
			bad.cr0 = 0x60000011;
			bad.efer = KH_EFER_LMA;
			bad.cr4 = 0;
			break;
		case 9:	/* paging without protection, LME: 64-bit CS */
			bad.cr0 = KH_CR0_PG | KH_CR0_ET;
			bad.efer = KH_EFER_LME;
			break;
		}
		EXPECT_EQ(-1, ioctl(vcpu->fd, KHYP_SET_SREGS, &bad))
			TH_LOG("case %d accepted", i);
		EXPECT_EQ(EINVAL, errno) TH_LOG("case %d", i);
	}
	kh_vcpu_get_sregs(vcpu, &now);
	EXPECT_EQ(0, memcmp(&good, &now, sizeof(good)));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static int set_efer(struct kh_vcpu *vcpu, uint64_t efer)
{
	struct khyp_msrs m;

	memset(&m, 0, sizeof(m));
	m.nmsrs = 1;
	m.entries[0].index = KH_MSR_EFER;
	m.entries[0].data = efer;
	return ioctl(vcpu->fd, KHYP_SET_MSRS, &m);
}

/*
 * KHYP_SET_MSRS: an EFER that does not fit the vCPU's CR0 and CR4 is
 * EINVAL (LMA is never ignored), one that fits is taken.
 */
TEST(set_msrs_efer_must_fit_cr0)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = prot32_vcpu(&vm, lme_out_start, lme_out_end);
	/* paging off: LMA cannot be set, LME can */
	EXPECT_EQ(-1, set_efer(vcpu, KH_EFER_LME | KH_EFER_LMA));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_efer(vcpu, KH_EFER_LMA));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, kh_vcpu_get_msr(vcpu, KH_MSR_EFER));
	EXPECT_EQ(0, set_efer(vcpu, KH_EFER_LME)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(KH_EFER_LME, kh_vcpu_get_msr(vcpu, KH_MSR_EFER));
	/* and the guest runs in that state (the hang of the header) */
	ASSERT_IO(vcpu, 0x40, 1, KHYP_IO_OUT);
	kh_vm_free(vm);

	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_done);
	/* paging on: LMA goes with LME (neither: 32-bit PAE paging) */
	EXPECT_EQ(-1, set_efer(vcpu, KH_EFER_LME));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_efer(vcpu, KH_EFER_LMA));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(KH_EFER_LME | KH_EFER_LMA,
		  kh_vcpu_get_msr(vcpu, KH_MSR_EFER));
	EXPECT_EQ(0, set_efer(vcpu, KH_EFER_LME | KH_EFER_LMA | KH_EFER_SCE));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_efer_writes(void)
{
	uint64_t efer = kh_guest_rdmsr(KH_MSR_EFER);

	/* LMA is read-only: a write without it is taken, LMA stays */
	GUEST_SYNC(kh_guest_wrmsr_safe(KH_MSR_EFER, efer & ~KH_EFER_LMA));
	GUEST_SYNC(kh_guest_rdmsr(KH_MSR_EFER));
	/* LME cannot change while paging is on: #GP, EFER unchanged */
	GUEST_SYNC(kh_guest_wrmsr_safe(KH_MSR_EFER, efer & ~KH_EFER_LME));
	GUEST_SYNC(kh_guest_rdmsr(KH_MSR_EFER));
	GUEST_DONE();
}

/* The guest's WRMSR to EFER follows the processor (core/msr.c). */
TEST(guest_efer_write_follows_processor)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_efer_writes);
	kh_vm_install_idt(vm, vcpu);
	ASSERT_SYNC(vcpu, 0xff);		/* no fault */
	ASSERT_SYNC(vcpu, KH_EFER_LME | KH_EFER_LMA);
	ASSERT_SYNC(vcpu, 13);			/* #GP */
	ASSERT_SYNC(vcpu, KH_EFER_LME | KH_EFER_LMA);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * Virtual-8086 mode in long mode, set by KHYP_SET_REGS after the sregs:
 * the core refuses to enter (INVALID_STATE, each run, on both backends);
 * RFLAGS fixed, the guest runs.
 */
TEST(rflags_vm_in_long_mode_is_invalid_state)
{
	struct khyp_regs r;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int i;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_done);
	kh_vcpu_get_regs(vcpu, &r);
	r.rflags |= RFLAGS_VM;
	kh_vcpu_set_regs(vcpu, &r);
	for (i = 0; i < 2; i++) {
		ASSERT_EXIT(vcpu, KHYP_EXIT_INTERNAL_ERROR);
		EXPECT_EQ(KHYP_INTERNAL_INVALID_STATE,
			  vcpu->run->internal.suberror);
	}
	r.rflags &= ~RFLAGS_VM;
	kh_vcpu_set_regs(vcpu, &r);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * A TR that is not a present busy TSS is no state a processor holds (TR
 * is one from reset on); VMX's entry refuses it, QEMU's SVM takes it and
 * aborts the whole machine when an interrupt later reads the TSS
 * through it.  khyp refuses it on both: INVALID_STATE at every run until
 * userspace sets a good one.  Not present, unusable, and a 16-bit TSS
 * (type 3) in long mode.
 */
TEST(tr_not_present_is_invalid_state)
{
	struct khyp_sregs s, good;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int i, bad;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_done);
	kh_vcpu_get_sregs(vcpu, &good);
	for (bad = 0; bad < 3; bad++) {
		s = good;
		if (bad == 0)
			s.tr.present = 0;
		else if (bad == 1)
			s.tr.unusable = 1;
		else
			s.tr.type = 3;	/* a 16-bit TSS in long mode */
		kh_vcpu_set_sregs(vcpu, &s);
		for (i = 0; i < 2; i++) {
			ASSERT_EXIT(vcpu, KHYP_EXIT_INTERNAL_ERROR);
			EXPECT_EQ(KHYP_INTERNAL_INVALID_STATE,
				  vcpu->run->internal.suberror);
		}
	}
	kh_vcpu_set_sregs(vcpu, &good);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * A guest that never ran LTR keeps the TR userspace gave it, whose type
 * is a busy TSS (11, as a loaded TR always is; VMX requires it).  From
 * ring 3 an exception goes through the TSS for ring 0's stack.  QEMU's
 * TCG caches TR's type as available after its own LTR and aborts the
 * whole emulated machine ("qemu: fatal: invalid tss type") when that
 * stack switch finds a busy type: the guest-surface fuzzer's case (a
 * 32-bit guest in ring 3 or vm86 mode taking an exception) killed
 * svm-qemu.  khyp keeps the busy bit out of the VMCB (svm/state.c);
 * userspace still reads 11.  Here: ring 3 executes HLT, #GP goes to a
 * ring-0 handler through the 32-bit TSS, which reports with an OUT.
 */
asm(".pushsection .text\n"
    ".code32\n"
    "ring3_hlt_start:\n"
    "	hlt\n"			/* #GP(0) at CPL 3 */
    "	.fill 15, 1, 0x90\n"
    "ring0_gp_handler:\n"
    "	mov %esp, %eax\n"
    "	out %eax, $0x43\n"	/* the ring-0 stack the TSS gave */
    "	hlt\n"
    "ring3_hlt_end:\n"
    ".code64\n"
    ".popsection");
extern const char ring3_hlt_start[], ring0_gp_handler[], ring3_hlt_end[];

TEST(ring3_exception_through_busy_tss)
{
	uint64_t handler = KH_GPA_LOW_CODE + (ring0_gp_handler - ring3_hlt_start);
	struct khyp_segment user_data = {
		.limit = 0xffffffff, .selector = KH_SEL_USER_DATA, .type = 3,
		.present = 1, .dpl = 3, .db = 1, .s = 1, .g = 1,
	};
	uint32_t *tss, *idt;
	struct khyp_sregs s;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = prot32_vcpu(&vm, ring3_hlt_start, ring3_hlt_end);
	/* a 32-bit TSS: ESP0, SS0 */
	tss = kh_gpa(vm, KH_GPA_TSS);
	tss[1] = 0xf000;
	tss[2] = KH_SEL_DATA;
	/* #GP: a 32-bit interrupt gate to the ring-0 handler */
	idt = kh_gpa(vm, KH_GPA_IDT + 13 * 8);
	idt[0] = (handler & 0xffff) | KH_SEL_CODE32 << 16;
	idt[1] = (handler & 0xffff0000) | 0x8e00;

	kh_vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(11, s.tr.type);
	s.idt.base = KH_GPA_IDT;
	s.idt.limit = 0x7ff;
	s.cs = (struct khyp_segment){
		.limit = 0xffffffff, .selector = 0x1b, .type = 11,
		.present = 1, .dpl = 3, .db = 1, .s = 1, .g = 1,
	};
	s.ss = s.ds = s.es = s.fs = s.gs = user_data;
	kh_vcpu_set_sregs(vcpu, &s);

	ASSERT_IO(vcpu, 0x43, 4, KHYP_IO_OUT);
	/* SS, ESP, EFLAGS, CS, EIP and the error code on the TSS's stack */
	EXPECT_EQ(0xf000 - 24, vcpu->run->io.data);
	kh_vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(0, s.cs.dpl);
	EXPECT_EQ(11, s.tr.type) TH_LOG("TR reads back as a busy TSS");
	kh_vm_free(vm);
}

/*
 * LTR as a processor does it (issue 16, the guest-surface fuzzer's
 * finding 6).  QEMU's TCG loads a null selector into TR (base 0, limit 0,
 * not present) where a processor raises #GP(0), and the next interrupt
 * or exception that needs the TSS (an IST gate, a change of ring) finds
 * that TR and aborts the whole emulated machine ("qemu: fatal: invalid
 * tss").  khyp's SVM backend intercepts LTR and emulates it (core/desc.c).
 * Here, in long mode: LTR of 0 and of 3 is #GP(0) and TR stays; #UD
 * through an IST gate then switches stacks through that TR; LTR of the
 * busy TSS is #GP(sel), of one not present #NP(sel), of one past the
 * GDT's limit or in the LDT #GP(sel); LTR of an available TSS, by a
 * register and by a memory operand, loads it and marks it busy in the
 * GDT.  The same on every backend: VMX and Bochs's SVM run LTR natively.
 */
#define LTR_SEL_SPARE	0x40	/* a second TSS descriptor, 16 bytes */
#define LTR_IST1_TOP	(KH_GPA_SCRATCH + 0x8000)

static volatile uint16_t ltr_mem_sel;

static uint64_t guest_ltr(uint16_t sel, bool mem)
{
	kh_guest_fixup_vector = 0xff;
	kh_guest_last_error = ~0ULL;
	ltr_mem_sel = sel;
	if (mem)
		asm volatile("leaq 1f(%%rip), %%r11\n\t"
			     "movq %%r11, kh_guest_fixup_rip(%%rip)\n\t"
			     "ltr %0\n"
			     "1:\tmovq $0, kh_guest_fixup_rip(%%rip)"
			     : : "m"(ltr_mem_sel) : "r11", "memory");
	else
		asm volatile("leaq 1f(%%rip), %%r11\n\t"
			     "movq %%r11, kh_guest_fixup_rip(%%rip)\n\t"
			     "ltr %w0\n"
			     "1:\tmovq $0, kh_guest_fixup_rip(%%rip)"
			     : : "r"(sel) : "r11", "memory");
	return kh_guest_fixup_vector;
}

static uint16_t guest_str(void)
{
	uint16_t sel;

	asm volatile("str %0" : "=r"(sel));
	return sel;
}

/* #UD through vector 6's gate (IST 1): the vector the fixup saw. */
static uint64_t guest_ud_on_ist(void)
{
	kh_guest_fixup_vector = 0xff;
	asm volatile("leaq 1f(%%rip), %%r11\n\t"
		     "movq %%r11, kh_guest_fixup_rip(%%rip)\n\t"
		     "ud2\n"
		     "1:\tmovq $0, kh_guest_fixup_rip(%%rip)"
		     : : : "r11", "memory");
	return kh_guest_fixup_vector;
}

static void guest_ltr_semantics(void)
{
	volatile uint8_t *spare_type = (volatile uint8_t *)(KH_GPA_GDT +
							   LTR_SEL_SPARE + 5);
	volatile uint8_t *tss_type = (volatile uint8_t *)(KH_GPA_GDT +
							 KH_SEL_TSS + 5);
	volatile uint32_t *spare_base_hi = (volatile uint32_t *)
		(KH_GPA_GDT + LTR_SEL_SPARE + 8);

	uint64_t v0, e0, v3, e3, tr;

	/*
	 * Null selectors: #GP(0), TR unchanged.  Then an exception through
	 * an IST gate, whose stack comes from TR's TSS, before anything is
	 * checked: with QEMU's null TR this is where its machine stops.
	 */
	v0 = guest_ltr(0, false);
	e0 = kh_guest_last_error;
	v3 = guest_ltr(3, true);
	e3 = kh_guest_last_error;
	tr = guest_str();
	GUEST_ASSERT_EQ(6, guest_ud_on_ist());
	GUEST_ASSERT_EQ(13, v0);
	GUEST_ASSERT_EQ(0, e0);
	GUEST_ASSERT_EQ(13, v3);
	GUEST_ASSERT_EQ(0, e3);
	GUEST_ASSERT_EQ(KH_SEL_TSS, tr);
	GUEST_SYNC(1);

	/* the loaded TSS is busy: #GP(sel) */
	GUEST_ASSERT_EQ(13, guest_ltr(KH_SEL_TSS, false));
	GUEST_ASSERT_EQ(KH_SEL_TSS, kh_guest_last_error);
	/* not present: #NP(sel) */
	GUEST_ASSERT_EQ(11, guest_ltr(LTR_SEL_SPARE, false));
	GUEST_ASSERT_EQ(LTR_SEL_SPARE, kh_guest_last_error);
	/* past the GDT's limit, or in the LDT: #GP(sel) */
	GUEST_ASSERT_EQ(13, guest_ltr(0x60, false));
	GUEST_ASSERT_EQ(0x60, kh_guest_last_error);
	GUEST_ASSERT_EQ(13, guest_ltr(KH_SEL_TSS | 4, false));
	GUEST_ASSERT_EQ(KH_SEL_TSS | 4, kh_guest_last_error);
	/* a data segment is no TSS: #GP(sel) */
	GUEST_ASSERT_EQ(13, guest_ltr(KH_SEL_DATA, false));
	GUEST_ASSERT_EQ(KH_SEL_DATA, kh_guest_last_error);

	/*
	 * Present and available, with base bits 63:32 set: a non-canonical
	 * base is #GP(sel); a canonical one far up (Linux's TSS is at
	 * 0xfffffe0000001000) is loaded, its upper half's type field being
	 * bits 12:8 of the high dword, not base bits.
	 */
	*spare_type = 0x89;
	*spare_base_hi = 0x00008000;
	GUEST_ASSERT_EQ(13, guest_ltr(LTR_SEL_SPARE, false));
	GUEST_ASSERT_EQ(LTR_SEL_SPARE, kh_guest_last_error);
	*spare_base_hi = 0xfffffe00;
	GUEST_ASSERT_EQ(0xff, guest_ltr(LTR_SEL_SPARE, false));
	GUEST_ASSERT_EQ(LTR_SEL_SPARE, guest_str());
	*tss_type = 0x89;
	GUEST_ASSERT_EQ(0xff, guest_ltr(KH_SEL_TSS, false));
	*spare_base_hi = 0;

	/* present and available: loaded, and busy in the GDT */
	*spare_type = 0x89;
	GUEST_ASSERT_EQ(0xff, guest_ltr(LTR_SEL_SPARE, true));
	GUEST_ASSERT_EQ(0x8b, *spare_type);
	GUEST_ASSERT_EQ(LTR_SEL_SPARE, guest_str());
	/* back to the library's TSS, freed first, by a register */
	*tss_type = 0x89;
	GUEST_ASSERT_EQ(0xff, guest_ltr(KH_SEL_TSS, false));
	GUEST_ASSERT_EQ(0x8b, *tss_type);
	GUEST_ASSERT_EQ(KH_SEL_TSS, guest_str());
	GUEST_ASSERT_EQ(6, guest_ud_on_ist());
}

TEST(ltr_as_a_processor_does)
{
	uint64_t *gdt, *tss_ist1, *idt;
	struct khyp_sregs s;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_ltr_semantics);
	kh_vm_install_idt(vm, vcpu);
	/* #UD's gate takes IST 1, a stack of its own */
	idt = kh_gpa(vm, KH_GPA_IDT + 6 * 16);
	idt[0] |= 1ULL << 32;
	tss_ist1 = kh_gpa(vm, KH_GPA_TSS + 0x24);
	memcpy(tss_ist1, &(uint64_t){ LTR_IST1_TOP }, 8);
	kh_gpa(vm, LTR_IST1_TOP - 1);
	/* the spare: the same TSS, available but not present */
	gdt = kh_gpa(vm, KH_GPA_GDT);
	gdt[LTR_SEL_SPARE >> 3] = gdt[KH_SEL_TSS >> 3] &
				  ~(1ULL << 47 | 2ULL << 40);
	gdt[(LTR_SEL_SPARE >> 3) + 1] = 0;
	kh_vcpu_get_sregs(vcpu, &s);
	s.gdt.limit = LTR_SEL_SPARE + 15;
	kh_vcpu_set_sregs(vcpu, &s);

	ASSERT_SYNC(vcpu, 1);
	ASSERT_DONE(vcpu);
	kh_vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(KH_SEL_TSS, s.tr.selector);
	EXPECT_EQ(11, s.tr.type);
	EXPECT_EQ(1, s.tr.present);
	EXPECT_EQ(KH_GPA_TSS, s.tr.base);
	EXPECT_EQ(0x67, s.tr.limit);
	kh_vm_free(vm);
}

/*
 * LTR's faults, as a processor raises them (session 14's second review):
 * LOCK LTR is #UD; in 64-bit mode an operand address that is not
 * canonical is #GP(0), or #SS(0) through SS; an operand in a page the
 * guest did not map is #PF(0) with CR2 its address; a descriptor
 * address that is not canonical (GDTR's base + index past the lower
 * half) is #GP(0); the busy bit's write to a read-only GDT page is
 * #PF(P|W) with CR2 in the descriptor when CR0.WP is set (Linux maps
 * its GDT read-only), and goes through when it is clear.  The GDT's
 * page is mapped a second time, read-only, at the top of the lower half
 * (LTR_HIGH_GDT), the page below it not at all.  Each fault leaves the
 * GDT as it was, and TR (but for Bochs' own LTR, see below).  One VM per case, so that each shows.  SVM emulates all of it (core/desc.c), on
 * VMX the processor (Bochs) does it; the concurrent case is
 * smp_test's ltr_race_one_vcpu_wins.
 */
#define LTR_HIGH_GDT	0x7ffffffff000ULL
#define LTR_NONCANON	0x800000000000ULL
#define LTR_HIGH_PT	(KH_GPA_SCRATCH + 0x10000)	/* 3 table pages */

struct ltr_dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/*
 * LTR of the word at @addr, through DS or SS: the vector, 0xff if none.
 * SS is RSP as the base (64-bit mode ignores an SS override prefix).
 */
static uint64_t guest_ltr_at(uint64_t addr, bool ss)
{
	kh_guest_fixup_vector = 0xff;
	kh_guest_last_error = ~0ULL;
	if (ss)
		asm volatile("leaq 1f(%%rip), %%r11\n\t"
			     "movq %%r11, kh_guest_fixup_rip(%%rip)\n\t"
			     "movq %0, %%r10\n\t"
			     "subq %%rsp, %%r10\n\t"
			     "ltr (%%rsp,%%r10,1)\n"
			     "1:\tmovq $0, kh_guest_fixup_rip(%%rip)"
			     : : "r"(addr) : "r10", "r11", "memory");
	else
		asm volatile("leaq 1f(%%rip), %%r11\n\t"
			     "movq %%r11, kh_guest_fixup_rip(%%rip)\n\t"
			     "ltr (%0)\n"
			     "1:\tmovq $0, kh_guest_fixup_rip(%%rip)"
			     : : "r"(addr) : "r11", "memory");
	return kh_guest_fixup_vector;
}

/* LOCK LTR of a register (gas takes no LOCK before LTR: the byte). */
static uint64_t guest_lock_ltr(uint16_t sel)
{
	kh_guest_fixup_vector = 0xff;
	asm volatile("leaq 1f(%%rip), %%r11\n\t"
		     "movq %%r11, kh_guest_fixup_rip(%%rip)\n\t"
		     ".byte 0xf0\n\t"
		     "ltr %w0\n"
		     "1:\tmovq $0, kh_guest_fixup_rip(%%rip)"
		     : : "r"(sel) : "r11", "memory");
	return kh_guest_fixup_vector;
}

static uint64_t guest_cr2(void)
{
	uint64_t v;

	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static void guest_cr0_wp(bool on)
{
	uint64_t v;

	asm volatile("mov %%cr0, %0" : "=r"(v));
	v = on ? v | KH_CR0_WP : v & ~KH_CR0_WP;
	asm volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

enum { LTR_LOCK, LTR_OPERAND, LTR_GDT_NONCANON, LTR_GDT_READ_ONLY };

/*
 * @cr2: the machine's VMRUN loads CR2 from the VMCB.  Bochs' does not
 * (vmrun_loads_cr2=0 in svm-bochs' expectations: docs/emulators.md): its
 * guest reads whatever CR2 its host left, so the #PF's address khyp put
 * in the VMCB is checked only where the CPU loads it.
 */
static void guest_ltr_faults(uint64_t which, uint64_t cr2)
{
	volatile uint8_t *spare_type = (volatile uint8_t *)(KH_GPA_GDT +
							   LTR_SEL_SPARE + 5);
	struct ltr_dtr low, high = { 0xffff, LTR_HIGH_GDT };
	uint64_t v, e, fault_cr2;

	asm volatile("sgdt %0" : "=m"(low));
	switch (which) {
	case LTR_LOCK:
		GUEST_ASSERT_EQ(6, guest_lock_ltr(LTR_SEL_SPARE));
		break;
	case LTR_OPERAND:
		GUEST_ASSERT_EQ(13, guest_ltr_at(LTR_NONCANON, false));
		GUEST_ASSERT_EQ(0, kh_guest_last_error);
		GUEST_ASSERT_EQ(12, guest_ltr_at(LTR_NONCANON + 8, true));
		GUEST_ASSERT_EQ(0, kh_guest_last_error);
		GUEST_ASSERT_EQ(14, guest_ltr_at(LTR_HIGH_GDT - 0x800, false));
		GUEST_ASSERT_EQ(0, kh_guest_last_error);
		if (cr2)
			GUEST_ASSERT_EQ(LTR_HIGH_GDT - 0x800, guest_cr2());
		break;
	case LTR_GDT_NONCANON:
		asm volatile("lgdt %0" : : "m"(high) : "memory");
		v = guest_ltr(0x1000, false);	/* at LTR_HIGH_GDT + 0x1000 */
		e = kh_guest_last_error;
		asm volatile("lgdt %0" : : "m"(low) : "memory");
		GUEST_ASSERT_EQ(13, v);
		GUEST_ASSERT_EQ(0, e);
		break;
	case LTR_GDT_READ_ONLY:
		asm volatile("lgdt %0" : : "m"(high) : "memory");
		v = guest_ltr(LTR_SEL_SPARE, false);
		e = kh_guest_last_error;
		fault_cr2 = guest_cr2();
		asm volatile("lgdt %0" : : "m"(low) : "memory");
		GUEST_ASSERT_EQ(14, v);
		GUEST_ASSERT_EQ(3, e);	/* present, write, supervisor */
		if (cr2)
			GUEST_ASSERT_EQ(LTR_HIGH_GDT + LTR_SEL_SPARE,
					fault_cr2 & ~7ULL);
		/*
		 * Not TR: the SDM sets the busy bit before TR, so a fault
		 * leaves TR (khyp), but Bochs' own LTR loads TR first.
		 */
		GUEST_ASSERT_EQ(0x89, *spare_type);
		/* without CR0.WP a supervisor write ignores R/W */
		asm volatile("lgdt %0" : : "m"(high) : "memory");
		guest_cr0_wp(false);
		v = guest_ltr(LTR_SEL_SPARE, false);
		guest_cr0_wp(true);
		asm volatile("lgdt %0" : : "m"(low) : "memory");
		GUEST_ASSERT_EQ(0xff, v);
		GUEST_ASSERT_EQ(0x8b, *spare_type);
		GUEST_ASSERT_EQ(LTR_SEL_SPARE, guest_str());
		return;
	}
	/* a fault changes neither TR nor the descriptor */
	GUEST_ASSERT_EQ(KH_SEL_TSS, guest_str());
	GUEST_ASSERT_EQ(0x89, *spare_type);
}

/* A long-mode vCPU that runs guest_ltr_faults(@which), run to its end. */
static void ltr_fault_case(struct __test_metadata *_metadata, uint64_t which)
{
	uint64_t *gdt, *pml4, *pt;
	struct khyp_sregs s;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	char buf[8];
	bool cr2;
	int i;

	cr2 = !machine_expect("vmrun_loads_cr2", buf, sizeof(buf)) ||
	      strcmp(buf, "0");
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, (void (*)(void))guest_ltr_faults);
	kh_vcpu_set_args(vcpu, which, cr2);
	kh_vm_install_idt(vm, vcpu);
	/* the spare: the library's TSS, available */
	gdt = kh_gpa(vm, KH_GPA_GDT);
	gdt[LTR_SEL_SPARE >> 3] = gdt[KH_SEL_TSS >> 3] & ~(2ULL << 40);
	gdt[(LTR_SEL_SPARE >> 3) + 1] = 0;
	/* LTR_HIGH_GDT: PML4[255], PDPT[511], PD[511], PT[511] read-only */
	pml4 = kh_gpa(vm, KH_GPA_PML4);
	pml4[255] = LTR_HIGH_PT | 3;
	for (i = 0; i < 3; i++) {
		pt = kh_gpa(vm, LTR_HIGH_PT + i * 0x1000);
		memset(pt, 0, 0x1000);
		pt[511] = i < 2 ? (LTR_HIGH_PT + (i + 1) * 0x1000) | 3 :
				  KH_GPA_GDT | 1;
	}
	kh_vcpu_get_sregs(vcpu, &s);
	ASSERT_NE(0, s.cr0 & KH_CR0_WP);
	s.gdt.limit = LTR_SEL_SPARE + 15;
	kh_vcpu_set_sregs(vcpu, &s);

	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

TEST(ltr_lock_prefix_is_ud)
{
	NEED_DEV();
	ltr_fault_case(_metadata, LTR_LOCK);
}

TEST(ltr_operand_not_canonical_or_not_mapped)
{
	NEED_DEV();
	ltr_fault_case(_metadata, LTR_OPERAND);
}

TEST(ltr_descriptor_address_not_canonical)
{
	NEED_DEV();
	ltr_fault_case(_metadata, LTR_GDT_NONCANON);
}

TEST(ltr_busy_bit_in_read_only_gdt_page)
{
	NEED_DEV();
	ltr_fault_case(_metadata, LTR_GDT_READ_ONLY);
}

/*
 * LTR's memory operand outside long mode, as core/desc.c decodes it on
 * SVM: a 16-bit address with an FS override whose base is not 0
 * (addr16 ltr %fs:0x10(%bx,%si)), then a 32-bit SIB with no base
 * (ltr 0x100020(,%ecx,2)).  Each loads an available 32-bit TSS; STR
 * reports what TR holds.
 */
asm(".pushsection .text\n"
    ".code32\n"
    "ltr32_start:\n"
    "	movl $0x20, %ebx\n"
    "	movl $0x30, %esi\n"
    "	.byte 0x64, 0x67, 0x0f, 0x00, 0x58, 0x10\n"	/* fs:0x10(bx,si) */
    "	str %eax\n"
    "	out %eax, $0x44\n"
    "	movl $0x10, %ecx\n"
    "	ltr 0x100020(,%ecx,2)\n"
    "	str %eax\n"
    "	out %eax, $0x45\n"
    "	hlt\n"
    "ltr32_end:\n"
    ".code64\n"
    ".popsection");
extern const char ltr32_start[], ltr32_end[];

TEST(ltr_memory_operand_in_protected_mode)
{
	uint64_t *gdt;
	uint16_t *sel;
	struct khyp_sregs s;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vcpu = prot32_vcpu(&vm, ltr32_start, ltr32_end);
	gdt = kh_gpa(vm, KH_GPA_GDT);
	/* both TSS descriptors available (type 9) and present */
	gdt[KH_SEL_TSS >> 3] &= ~(2ULL << 40);
	gdt[LTR_SEL_SPARE >> 3] = gdt[KH_SEL_TSS >> 3];
	/* fs:0x10(bx,si): FS base 0x100000 + 0x10 + 0x20 + 0x30 */
	sel = kh_gpa(vm, KH_GPA_SCRATCH + 0x60);
	*sel = LTR_SEL_SPARE;
	/* 0x100020 + 2 * 0x10 */
	sel = kh_gpa(vm, KH_GPA_SCRATCH + 0x40);
	*sel = KH_SEL_TSS;
	kh_vcpu_get_sregs(vcpu, &s);
	s.gdt.limit = LTR_SEL_SPARE + 7;
	s.fs.base = KH_GPA_SCRATCH;
	kh_vcpu_set_sregs(vcpu, &s);

	ASSERT_IO(vcpu, 0x44, 4, KHYP_IO_OUT);
	EXPECT_EQ(LTR_SEL_SPARE, vcpu->run->io.data & 0xffff);
	ASSERT_IO(vcpu, 0x45, 4, KHYP_IO_OUT);
	EXPECT_EQ(KH_SEL_TSS, vcpu->run->io.data & 0xffff);
	EXPECT_EQ(11, (gdt[LTR_SEL_SPARE >> 3] >> 40) & 0xf);
	EXPECT_EQ(11, (gdt[KH_SEL_TSS >> 3] >> 40) & 0xf);
	kh_vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(KH_SEL_TSS, s.tr.selector);
	EXPECT_EQ(11, s.tr.type);
	EXPECT_EQ(KH_GPA_TSS, s.tr.base);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
