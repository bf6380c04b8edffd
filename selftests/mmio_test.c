// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO: every MOV form the kernel's decoder emulates, in both directions
 * and all sizes, with the exact register result of each load (zero and
 * sign extension, the bits an 8- or 16-bit load keeps, a 32-bit load
 * clearing bits 63:32); writes to a read-only region; the internal error
 * an instruction khyp does not emulate gives; and the instruction read
 * where the CPU fetched it (no CS base in 64-bit mode).
 *
 * The guest runs a fixed sequence of accesses at KH_GPA_MMIO (RBX holds
 * the base); after each load it reports the destination register with
 * GUEST_SYNC.  mmio_steps[] is the same sequence as the host expects it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define P	0xaaaaaaaaaaaaaaaaULL	/* register value before a load */
#define V	0x1122334455667788ULL	/* register value stored */
#define M	KH_GPA_MMIO

struct mmio_step {
	const char *what;
	uint8_t write;
	uint64_t gpa;
	uint8_t size;
	uint64_t data;		/* stores: expected; loads: given to the guest */
	uint64_t reg;		/* loads: expected register value after */
};

static const struct mmio_step mmio_steps[] = {
	/* stores of a register */
	{ "mov %al,(m)",	1, M, 1, 0x88, 0 },
	{ "mov %ax,(m)",	1, M, 2, 0x7788, 0 },
	{ "mov %eax,(m)",	1, M, 4, 0x55667788, 0 },
	{ "mov %rax,(m)",	1, M, 8, V, 0 },
	{ "mov %ah,(m)",	1, M, 1, 0x77, 0 },
	{ "mov %sil,(m)",	1, M + 1, 1, 0x99, 0 },
	{ "mov %r9,8(m)",	1, M + 8, 8, 0x0102030405060708ULL, 0 },
	{ "mov %ecx,0x10(m,idx,8)", 1, M + 0x20, 4, 0xc1c2c3c4, 0 },
	/* stores of an immediate */
	{ "movb $0x5a,(m)",	1, M, 1, 0x5a, 0 },
	{ "movw $0x1234,2(m)",	1, M + 2, 2, 0x1234, 0 },
	{ "movl $0xdeadbeef,4(m)", 1, M + 4, 4, 0xdeadbeef, 0 },
	{ "movq $-2,8(m)",	1, M + 8, 8, 0xfffffffffffffffeULL, 0 },
	{ "movq $0x7fffffff,(m)", 1, M, 8, 0x7fffffff, 0 },
	/* moffs stores (A2, A3) with a 64-bit absolute address */
	{ "movabs %al,moffs",	1, M + 0x10, 1, 0x88, 0 },
	{ "movabs %ax,moffs",	1, M + 0x10, 2, 0x7788, 0 },
	{ "movabs %eax,moffs",	1, M + 0x10, 4, 0x55667788, 0 },
	{ "movabs %rax,moffs",	1, M + 0x10, 8, V, 0 },
	/* prefixes: DS and FS overrides (FS base 0), address size 32 */
	{ "ds mov %eax,(m)",	1, M, 4, 0x55667788, 0 },
	{ "mov %eax,%fs:(m)",	1, M + 4, 4, 0x55667788, 0 },
	{ "addr32 mov %eax,(%ebx)", 1, M, 4, 0x55667788, 0 },
	/* loads */
	{ "mov (m),%al",	0, M, 1, 0x81, 0xaaaaaaaaaaaaaa81ULL },
	{ "mov (m),%ah",	0, M, 1, 0x81, 0xaaaaaaaaaaaa81aaULL },
	{ "mov (m),%ch",	0, M + 1, 1, 0x7f, 0xaaaaaaaaaaaa7faaULL },
	{ "mov (m),%ax",	0, M, 2, 0x8234, 0xaaaaaaaaaaaa8234ULL },
	{ "mov (m),%eax",	0, M, 4, 0x87654321, 0x87654321ULL },
	{ "mov (m),%rax",	0, M, 8, 0x123456789abcdef0ULL,
				0x123456789abcdef0ULL },
	{ "mov (m),%sil",	0, M + 3, 1, 0x81, 0xaaaaaaaaaaaaaa81ULL },
	{ "mov (m),%r10d",	0, M + 4, 4, 0x80000000, 0x80000000ULL },
	{ "mov 0x10(m,idx,8),%r11", 0, M + 0x20, 8, 0xfedcba9876543210ULL,
				0xfedcba9876543210ULL },
	{ "movzbl (m),%eax",	0, M, 1, 0x81, 0x81 },
	{ "movzbw (m),%ax",	0, M, 1, 0x81, 0xaaaaaaaaaaaa0081ULL },
	{ "movzwl (m),%eax",	0, M, 2, 0x8234, 0x8234 },
	{ "movzbq (m),%rax",	0, M, 1, 0x81, 0x81 },
	{ "movsbl (m),%eax",	0, M, 1, 0x81, 0xffffff81ULL },
	{ "movsbw (m),%ax",	0, M, 1, 0x81, 0xaaaaaaaaaaaaff81ULL },
	{ "movsbq (m),%rax",	0, M, 1, 0x81, 0xffffffffffffff81ULL },
	{ "movswl (m),%eax",	0, M, 2, 0x8234, 0xffff8234ULL },
	{ "movswq (m),%rax",	0, M, 2, 0x8234, 0xffffffffffff8234ULL },
	{ "movsbq (m),%rax +",	0, M, 1, 0x7f, 0x7f },
	{ "movslq (m),%rax",	0, M, 4, 0x87654321, 0xffffffff87654321ULL },
	{ "movabs moffs,%al",	0, M + 0x18, 1, 0x81, 0xaaaaaaaaaaaaaa81ULL },
	{ "movabs moffs,%ax",	0, M + 0x18, 2, 0x8234, 0xaaaaaaaaaaaa8234ULL },
	{ "movabs moffs,%eax",	0, M + 0x18, 4, 0x87654321, 0x87654321ULL },
	{ "movabs moffs,%rax",	0, M + 0x18, 8, 0x8000000000000001ULL,
				0x8000000000000001ULL },
	{ "mov %fs:(m),%eax",	0, M + 8, 4, 0x12345678, 0x12345678 },
	{ "addr32 mov (%ebx),%rax", 0, M, 8, 0x0badc0ffee0ddf00ULL,
				0x0badc0ffee0ddf00ULL },
};

/* A load into RAX from an instruction with (%rbx) = M, then its report. */
#define LOAD_RAX(insn)							\
	do {								\
		uint64_t __v = P;					\
		asm volatile(insn : "+a"(__v) : "b"(m) : "memory");	\
		GUEST_SYNC(__v);					\
	} while (0)

static void guest_mmio(void)
{
	uint64_t m = M, idx = 2, v;
	register uint64_t r9 asm("r9") = 0x0102030405060708ULL;
	register uint64_t r10 asm("r10");
	register uint64_t r11 asm("r11");

	asm volatile("movb %%al, (%0)" : : "b"(m), "a"(V) : "memory");
	asm volatile("movw %%ax, (%0)" : : "b"(m), "a"(V) : "memory");
	asm volatile("movl %%eax, (%0)" : : "b"(m), "a"(V) : "memory");
	asm volatile("movq %%rax, (%0)" : : "b"(m), "a"(V) : "memory");
	asm volatile("movb %%ah, (%0)" : : "b"(m), "a"(V) : "memory");
	asm volatile("movb %%sil, 1(%0)" : : "b"(m), "S"(0x1199ULL) : "memory");
	asm volatile("movq %%r9, 8(%0)" : : "b"(m), "r"(r9) : "memory");
	asm volatile("movl %%ecx, 0x10(%0,%1,8)"
		     : : "b"(m), "d"(idx), "c"(0xffffffffc1c2c3c4ULL) : "memory");

	asm volatile("movb $0x5a, (%0)" : : "b"(m) : "memory");
	asm volatile("movw $0x1234, 2(%0)" : : "b"(m) : "memory");
	asm volatile("movl $0xdeadbeef, 4(%0)" : : "b"(m) : "memory");
	asm volatile("movq $-2, 8(%0)" : : "b"(m) : "memory");
	asm volatile("movq $0x7fffffff, (%0)" : : "b"(m) : "memory");

	asm volatile("movabs %%al, 0xc0000010" : : "a"(V) : "memory");
	asm volatile("movabs %%ax, 0xc0000010" : : "a"(V) : "memory");
	asm volatile("movabs %%eax, 0xc0000010" : : "a"(V) : "memory");
	asm volatile("movabs %%rax, 0xc0000010" : : "a"(V) : "memory");

	asm volatile(".byte 0x3e\n\tmovl %%eax, (%0)"
		     : : "b"(m), "a"(V) : "memory");
	asm volatile("movl %%eax, %%fs:4(%0)" : : "b"(m), "a"(V) : "memory");
	asm volatile("movl %%eax, (%%ebx)" : : "b"(m), "a"(V) : "memory");

	LOAD_RAX("movb (%1), %%al");
	LOAD_RAX("movb (%1), %%ah");
	v = P;
	asm volatile("movb 1(%1), %%ch" : "+c"(v) : "b"(m) : "memory");
	GUEST_SYNC(v);
	LOAD_RAX("movw (%1), %%ax");
	LOAD_RAX("movl (%1), %%eax");
	LOAD_RAX("movq (%1), %%rax");
	v = P;
	asm volatile("movb 3(%1), %%sil" : "+S"(v) : "b"(m) : "memory");
	GUEST_SYNC(v);
	r10 = P;
	asm volatile("movl 4(%1), %%r10d" : "+r"(r10) : "b"(m) : "memory");
	GUEST_SYNC(r10);
	r11 = P;
	asm volatile("movq 0x10(%1,%2,8), %%r11"
		     : "+r"(r11) : "b"(m), "d"(idx) : "memory");
	GUEST_SYNC(r11);
	LOAD_RAX("movzbl (%1), %%eax");
	LOAD_RAX("movzbw (%1), %%ax");
	LOAD_RAX("movzwl (%1), %%eax");
	LOAD_RAX("movzbq (%1), %%rax");
	LOAD_RAX("movsbl (%1), %%eax");
	LOAD_RAX("movsbw (%1), %%ax");
	LOAD_RAX("movsbq (%1), %%rax");
	LOAD_RAX("movswl (%1), %%eax");
	LOAD_RAX("movswq (%1), %%rax");
	LOAD_RAX("movsbq (%1), %%rax");
	LOAD_RAX("movslq (%1), %%rax");
	LOAD_RAX("movabs 0xc0000018, %%al");
	LOAD_RAX("movabs 0xc0000018, %%ax");
	LOAD_RAX("movabs 0xc0000018, %%eax");
	LOAD_RAX("movabs 0xc0000018, %%rax");
	LOAD_RAX("movl %%fs:8(%1), %%eax");
	LOAD_RAX("movq (%%ebx), %%rax");
	GUEST_DONE();
}

TEST(mov_forms)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct khyp_run *run;
	unsigned int i;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	run = vcpu->run;
	kh_vcpu_setup_long_mode(vcpu, guest_mmio);

	for (i = 0; i < ARRAY_SIZE(mmio_steps); i++) {
		const struct mmio_step *s = &mmio_steps[i];
		struct kh_ucall uc;
		char msg[512];

		ASSERT_EQ(0, kh_vcpu_run(vcpu))
			TH_LOG("step %u (%s): KHYP_RUN: %s", i, s->what,
			       strerror(errno));
		kh_vcpu_exit_str(vcpu, msg, sizeof(msg));
		ASSERT_EQ(KHYP_EXIT_MMIO, run->exit_reason)
			TH_LOG("step %u (%s): %s", i, s->what, msg);
		ASSERT_EQ(s->gpa, run->mmio.phys_addr)
			TH_LOG("step %u (%s): %s", i, s->what, msg);
		ASSERT_EQ(s->size, run->mmio.size)
			TH_LOG("step %u (%s): %s", i, s->what, msg);
		ASSERT_EQ(s->write, run->mmio.is_write)
			TH_LOG("step %u (%s): %s", i, s->what, msg);
		if (s->write) {
			EXPECT_EQ(s->data, run->mmio.data)
				TH_LOG("step %u (%s): %s", i, s->what, msg);
			continue;
		}
		run->mmio.data = s->data;
		ASSERT_EQ(KH_UCALL_SYNC, kh_vcpu_run_ucall(vcpu, &uc, msg,
							   sizeof(msg)))
			TH_LOG("step %u (%s): %s", i, s->what, msg);
		EXPECT_EQ(s->reg, uc.args[0])
			TH_LOG("step %u (%s): register 0x%016llx, want 0x%016llx",
			       i, s->what, (unsigned long long)uc.args[0],
			       (unsigned long long)s->reg);
	}
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define RO_GPA	0x10000000UL	/* 256 MiB */

static void guest_readonly(void)
{
	volatile uint64_t *p = (volatile uint64_t *)RO_GPA;
	volatile uint32_t *q = (volatile uint32_t *)(RO_GPA + 0x1008);

	GUEST_SYNC(p[0]);
	*q = 0xcafef00d;
	GUEST_SYNC(*q);
	p[0] = V;
	GUEST_SYNC(p[0]);
	GUEST_DONE();
}

TEST(readonly_region)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct khyp_run *run;
	uint64_t *ro;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	run = vcpu->run;
	ro = kh_vm_add_region(vm, 1, RO_GPA, 0x10000, KHYP_MEM_READONLY);
	/* writable through the host mapping */
	ro[0] = 0x1111222233334444ULL;
	ro[0x1008 / 8] = 0x5555666677778888ULL;
	kh_vcpu_setup_long_mode(vcpu, guest_readonly);

	ASSERT_SYNC(vcpu, 0x1111222233334444ULL);
	ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);
	EXPECT_EQ(RO_GPA + 0x1008, run->mmio.phys_addr);
	EXPECT_EQ(4, run->mmio.size);
	EXPECT_EQ(1, run->mmio.is_write);
	EXPECT_EQ(0xcafef00d, run->mmio.data);
	/* the write did not land */
	ASSERT_SYNC(vcpu, 0x77778888);
	ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);
	EXPECT_EQ(RO_GPA, run->mmio.phys_addr);
	EXPECT_EQ(8, run->mmio.size);
	EXPECT_EQ(1, run->mmio.is_write);
	EXPECT_EQ(V, run->mmio.data);
	ASSERT_SYNC(vcpu, 0x1111222233334444ULL);
	ASSERT_DONE(vcpu);
	EXPECT_EQ(0x1111222233334444ULL, ro[0]);
	EXPECT_EQ(0x5555666677778888ULL, ro[0x1008 / 8]);
	kh_vm_free(vm);
}

#define LAST_GPA	0x20000000UL	/* 512 MiB: no RAM at first */
#define LAST_SLOT	(KHYP_MAX_MEM_REGIONS - 1)

static void guest_probe_last(void)
{
	volatile uint64_t *p = (volatile uint64_t *)LAST_GPA;

	GUEST_SYNC(*p);
	GUEST_SYNC(*p);
	GUEST_SYNC(*p);
	GUEST_DONE();
}

/*
 * An address is RAM exactly while a slot holds it, whichever slot it is:
 * the kernel looks slots up only as far as the highest one in use
 * (mmu/memory.c), which a region in the last slot moves up and its
 * deletion moves back down.
 */
TEST(region_in_last_slot)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	uint64_t *p;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_probe_last);
	p = kh_vm_add_region(vm, LAST_SLOT, LAST_GPA, 0x200000, 0);
	p[0] = 0x22;
	ASSERT_SYNC(vcpu, 0x22);	/* RAM in the last slot */
	kh_vm_del_region(vm, LAST_SLOT);
	ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);
	EXPECT_EQ(LAST_GPA, vcpu->run->mmio.phys_addr);
	vcpu->run->mmio.data = 0x33;
	ASSERT_SYNC(vcpu, 0x33);
	p = kh_vm_add_region(vm, 2, LAST_GPA, 0x200000, 0);
	p[0] = 0x44;
	ASSERT_SYNC(vcpu, 0x44);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/* Instructions khyp does not emulate, each at a global label. */
static void guest_bad_insn(uint64_t which)
{
	uint64_t m = M, dst;

	switch (which) {
	case 0:
		asm volatile(".globl bad_insn_0\nbad_insn_0: addl %%eax, (%0)"
			     : : "b"(m), "a"(1) : "memory");
		break;
	case 1:
		asm volatile(".globl bad_insn_1\nbad_insn_1: lock addl %%eax, (%0)"
			     : : "b"(m), "a"(1) : "memory");
		break;
	case 2:
		asm volatile(".globl bad_insn_2\nbad_insn_2: xchgl %%eax, (%0)"
			     : : "b"(m), "a"(1) : "memory");
		break;
	case 3:
		dst = KH_GPA_SCRATCH;
		asm volatile(".globl bad_insn_3\nbad_insn_3: movsb"
			     : "+S"(m), "+D"(dst) : : "memory");
		break;
	}
	GUEST_DONE();
}
extern const char bad_insn_0[], bad_insn_1[], bad_insn_2[], bad_insn_3[];

TEST(unsupported_insn_is_emulation_error)
{
	const char *labels[] = { bad_insn_0, bad_insn_1, bad_insn_2, bad_insn_3 };
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct khyp_run *run;
	unsigned int i;

	NEED_DEV();
	for (i = 0; i < 4; i++) {
		vm = kh_vm_create(0);
		vcpu = kh_vcpu_add(vm, 0);
		run = vcpu->run;
		kh_vcpu_setup_long_mode(vcpu, (void (*)(void))guest_bad_insn);
		kh_vcpu_set_args(vcpu, i, 0);
		ASSERT_EXIT(vcpu, KHYP_EXIT_INTERNAL_ERROR);
		EXPECT_EQ(KHYP_INTERNAL_EMULATION, run->internal.suberror)
			TH_LOG("case %u", i);
		EXPECT_LE(3, run->internal.ndata);
		EXPECT_EQ((uint64_t)(uintptr_t)labels[i], run->internal.data[0]);
		EXPECT_EQ(0, memcmp(&run->internal.data[1], labels[i], 15))
			TH_LOG("instruction bytes 0x%016llx 0x%016llx",
			       (unsigned long long)run->internal.data[1],
			       (unsigned long long)run->internal.data[2]);
		kh_vm_free(vm);
	}
}

/*
 * In 64-bit mode the CPU ignores the CS base when it fetches: so must the
 * MMIO emulation when it reads the instruction.  With CS.base = 1 GiB the
 * bytes at base + RIP are outside guest RAM.
 */
static void guest_cs_base(void)
{
	uint64_t m = M;

	asm volatile("movl %%eax, (%0)" : : "b"(m), "a"(0x600dc0de) : "memory");
	GUEST_DONE();
}

TEST(cs_base_ignored_in_64bit_mode)
{
	struct khyp_sregs sregs;
	struct kh_vcpu *vcpu;
	struct khyp_run *run;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	run = vcpu->run;
	kh_vcpu_setup_long_mode(vcpu, guest_cs_base);
	kh_vcpu_get_sregs(vcpu, &sregs);
	ASSERT_EQ(1, sregs.cs.l);
	sregs.cs.base = 0x40000000;
	kh_vcpu_set_sregs(vcpu, &sregs);
	ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);
	EXPECT_EQ(M, run->mmio.phys_addr);
	EXPECT_EQ(4, run->mmio.size);
	EXPECT_EQ(1, run->mmio.is_write);
	EXPECT_EQ(0x600dc0de, run->mmio.data);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
