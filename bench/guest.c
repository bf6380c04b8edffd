// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's setup, written once for KVM and khyp: slot 0 of guest RAM
 * holds identity page tables for the first 4 GiB (2 MiB pages), a GDT, a
 * TSS, an IDT and a copy of this binary's PT_LOAD segments at gpa ==
 * vaddr, so a workload's guest code is an ordinary C function here (the
 * approach of selftests/lib/khyp_vm.c).  The layout is in bench.h.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define STR_(x)	#x
#define STR(x)	STR_(x)

volatile uint64_t bench_irq_count;
volatile uint64_t bench_apic_count[BENCH_APIC_NR_VECTORS];

/*
 * Guest code.  bench_exc_stubs: 32 entries, 16 bytes apart, for the
 * exceptions: each reports its vector on BENCH_PORT_EXC and stops there.
 * bench_irq_stub: the interrupt handler of the interrupt workload; it
 * counts, acknowledges with an OUT (an exit to userspace) and returns.
 * bench_apic_stubs: 32 bytes apart, the handlers of the local APIC's
 * vectors (BENCH_APIC_VECTOR + n): each counts in bench_apic_count[n]
 * and writes EOI, an exit handled by the in-kernel APIC, and returns.
 * bench_guest_return: where a workload function returns to.
 */
asm(".pushsection .text\n"
    ".balign 16\n"
    ".globl bench_exc_stubs\n"
    "bench_exc_stubs:\n"
    ".set vec, 0\n"
    ".rept 32\n"
    "	.balign 16\n"
    "	movl $vec, %eax\n"
    "	jmp bench_exc_common\n"
    "	.set vec, vec + 1\n"
    ".endr\n"
    "bench_exc_common:\n"
    "	outl %eax, $" STR(BENCH_PORT_EXC) "\n"
    "	hlt\n"
    "	jmp bench_exc_common\n"
    "\n"
    ".globl bench_irq_stub\n"
    "bench_irq_stub:\n"
    "	pushq %rax\n"
    "	lock incq bench_irq_count(%rip)\n"
    "	movl bench_irq_count(%rip), %eax\n"
    "	outl %eax, $" STR(BENCH_PORT_ACK) "\n"
    "	popq %rax\n"
    "	iretq\n"
    "\n"
    "\n"
    ".balign 32\n"
    ".globl bench_apic_stubs\n"
    "bench_apic_stubs:\n"
    ".set n, 0\n"
    ".rept " STR(BENCH_APIC_NR_VECTORS) "\n"
    "	.balign 32\n"
    "	pushq %rax\n"
    "	pushq %rcx\n"
    "	lock incq bench_apic_count + 8 * n(%rip)\n"
    "	movl $0xfee000b0, %eax\n"	/* EOI */
    "	xorl %ecx, %ecx\n"
    "	movl %ecx, (%rax)\n"
    "	popq %rcx\n"
    "	popq %rax\n"
    "	iretq\n"
    "	.set n, n + 1\n"
    ".endr\n"
    "\n"
    ".globl bench_guest_return\n"
    "bench_guest_return:\n"
    "	xorl %eax, %eax\n"
    "	outl %eax, $" STR(BENCH_PORT_DONE) "\n"
    "	hlt\n"
    "	jmp bench_guest_return\n"
    ".popsection\n");

extern const char bench_exc_stubs[];
extern const char bench_irq_stub[];
extern const char bench_apic_stubs[];
extern const char bench_guest_return[];

/* Read the program headers of this binary; 0 or -1 with a message. */
static int elf_phdrs(Elf64_Phdr *ph, int max, int *n, int *fdp)
{
	Elf64_Ehdr eh;
	int fd, i;

	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh)) {
		fprintf(stderr, "khyp-bench: /proc/self/exe: %s\n",
			strerror(errno));
		return -1;
	}
	if (eh.e_type != ET_EXEC || eh.e_phnum > max) {
		fprintf(stderr, "khyp-bench: must be linked static non-PIE\n");
		close(fd);
		return -1;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph[i], sizeof(*ph), eh.e_phoff + i * sizeof(*ph))
		    != sizeof(*ph)) {
			fprintf(stderr, "khyp-bench: short read of /proc/self/exe\n");
			close(fd);
			return -1;
		}
	}
	*n = eh.e_phnum;
	*fdp = fd;
	return 0;
}

uint64_t bench_base_mem(void)
{
	static uint64_t size;
	Elf64_Phdr ph[32];
	uint64_t end = 0;
	int n, fd, i;

	if (size)
		return size;
	if (elf_phdrs(ph, 32, &n, &fd))
		return 0;
	close(fd);
	for (i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr + ph[i].p_memsz > end)
			end = ph[i].p_vaddr + ph[i].p_memsz;
	/* 2 MiB above the binary for good measure, in whole 2 MiB pages */
	size = (end + 4 * MiB - 1) & ~(2 * MiB - 1);
	return size;
}

void *bench_gpa(struct bench_vm *bvm, uint64_t gpa)
{
	if (gpa >= bvm->base_size) {
		fprintf(stderr, "khyp-bench: gpa 0x%lx outside slot 0\n",
			(unsigned long)gpa);
		return NULL;
	}
	return bvm->base + gpa;
}

/* Copy the PT_LOAD segments of the binary to gpa == vaddr. */
static int load_binary(struct bench_vm *bvm)
{
	Elf64_Phdr ph[32];
	int n, fd, i;

	if (elf_phdrs(ph, 32, &n, &fd))
		return -1;
	for (i = 0; i < n; i++) {
		uint8_t *dst;

		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		if (ph[i].p_vaddr < BENCH_GPA_STACK_TOP ||
		    ph[i].p_vaddr + ph[i].p_memsz > bvm->base_size) {
			fprintf(stderr, "khyp-bench: segment at 0x%lx does not fit\n",
				(unsigned long)ph[i].p_vaddr);
			close(fd);
			return -1;
		}
		dst = bvm->base + ph[i].p_vaddr;
		if (pread(fd, dst, ph[i].p_filesz, ph[i].p_offset) !=
		    (ssize_t)ph[i].p_filesz) {
			fprintf(stderr, "khyp-bench: short read of a segment\n");
			close(fd);
			return -1;
		}
		memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
	}
	close(fd);
	return 0;
}

/* An 8-byte code or data descriptor. */
static uint64_t desc(uint32_t base, uint32_t limit, uint8_t type, uint8_t s,
		     uint8_t l, uint8_t db, uint8_t g)
{
	return (limit & 0xffffULL) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)type << 40 | (uint64_t)s << 44 | 1ULL << 47 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)l << 53 |
	       (uint64_t)db << 54 | (uint64_t)g << 55 |
	       (uint64_t)(base >> 24) << 56;
}

/* An interrupt gate (DPL 0, present) to @handler. */
static void idt_gate(uint64_t *idt, int vec, uint64_t handler)
{
	idt[2 * vec] = (handler & 0xffff) | BENCH_SEL_CODE64 << 16 |
		       0x8eULL << 40 | (handler >> 16 & 0xffff) << 48;
	idt[2 * vec + 1] = handler >> 32;
}

/* Page tables, GDT, TSS and IDT in slot 0. */
static void build_tables(struct bench_vm *bvm)
{
	uint64_t *pml4 = bench_gpa(bvm, BENCH_GPA_PML4);
	uint64_t *pdpt = bench_gpa(bvm, BENCH_GPA_PML4 + 0x1000);
	uint64_t *pd = bench_gpa(bvm, BENCH_GPA_PML4 + 0x2000);
	uint64_t *gdt = bench_gpa(bvm, BENCH_GPA_GDT);
	uint64_t *idt = bench_gpa(bvm, BENCH_GPA_IDT);
	uint8_t *tss = bench_gpa(bvm, BENCH_GPA_TSS);
	uint64_t rsp0 = BENCH_GPA_STACK_TOP;
	int i;

	/* present, writable; PS (2 MiB) in the page directories */
	pml4[0] = (BENCH_GPA_PML4 + 0x1000) | 3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (BENCH_GPA_PML4 + 0x2000 + i * 0x1000) | 3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = (uint64_t)i << 21 | 0x83;

	gdt[0] = 0;
	gdt[BENCH_SEL_CODE64 >> 3] = desc(0, 0xfffff, 11, 1, 1, 0, 1);
	gdt[BENCH_SEL_DATA >> 3] = desc(0, 0xfffff, 3, 1, 0, 1, 1);
	/* busy 64-bit TSS: a 16-byte system descriptor */
	gdt[BENCH_SEL_TSS >> 3] = desc(BENCH_GPA_TSS, 0x67, 11, 0, 0, 0, 0);
	gdt[(BENCH_SEL_TSS >> 3) + 1] = 0;

	memset(tss, 0, 0x68);
	memcpy(tss + 4, &rsp0, 8);		/* rsp0 */
	tss[102] = 0x68;			/* no I/O bitmap */

	for (i = 0; i < 32; i++)
		idt_gate(idt, i, (uint64_t)(uintptr_t)bench_exc_stubs + i * 16);
	idt_gate(idt, BENCH_IRQ_VECTOR, (uint64_t)(uintptr_t)bench_irq_stub);
	for (i = 0; i < BENCH_APIC_NR_VECTORS; i++)
		idt_gate(idt, BENCH_APIC_VECTOR + i,
			 (uint64_t)(uintptr_t)bench_apic_stubs + i * 32);
}

int bench_vm_create(struct bench_vm *bvm, const struct hv_ops *hv)
{
	memset(bvm, 0, sizeof(*bvm));
	bvm->hv = hv;
	bvm->base_size = bench_base_mem();
	if (!bvm->base_size)
		return -1;
	bvm->vm = hv->vm_create();
	if (!bvm->vm) {
		fprintf(stderr, "khyp-bench: %s: create VM: %s\n", hv->name,
			strerror(errno));
		return -1;
	}
	bvm->base = hv->mem_add(bvm->vm, 0, 0, bvm->base_size);
	if (!bvm->base) {
		fprintf(stderr, "khyp-bench: %s: add %lu MiB of RAM: %s\n",
			hv->name, (unsigned long)(bvm->base_size / MiB),
			strerror(errno));
		hv->vm_destroy(bvm->vm);
		return -1;
	}
	if (load_binary(bvm)) {
		hv->vm_destroy(bvm->vm);
		return -1;
	}
	build_tables(bvm);
	return 0;
}

void bench_vm_destroy(struct bench_vm *bvm)
{
	if (bvm->vm)
		bvm->hv->vm_destroy(bvm->vm);
	bvm->vm = NULL;
}

static struct hv_seg seg(uint16_t sel, uint8_t type, uint8_t s, uint8_t l,
			 uint8_t db, uint64_t base, uint32_t limit, uint8_t g)
{
	return (struct hv_seg){
		.base = base, .limit = limit, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = db, .s = s, .l = l, .g = g,
	};
}

int bench_vcpu_start(struct bench_vm *bvm, struct hv_vcpu *vcpu,
		     void (*fn)(uint64_t, uint64_t), uint64_t a0, uint64_t a1)
{
	return bench_vcpu_start_stack(bvm, vcpu, fn, a0, a1,
				      BENCH_GPA_STACK_TOP);
}

int bench_vcpu_start_stack(struct bench_vm *bvm, struct hv_vcpu *vcpu,
			   void (*fn)(uint64_t, uint64_t), uint64_t a0,
			   uint64_t a1, uint64_t stack_top)
{
	uint64_t rsp = stack_top - 8;
	struct hv_state st = {
		.cs = seg(BENCH_SEL_CODE64, 11, 1, 1, 0, 0, 0xffffffff, 1),
		.ds = seg(BENCH_SEL_DATA, 3, 1, 0, 1, 0, 0xffffffff, 1),
		.tr = seg(BENCH_SEL_TSS, 11, 0, 0, 0, BENCH_GPA_TSS, 0x67, 0),
		.gdt_base = BENCH_GPA_GDT,
		.gdt_limit = BENCH_SEL_TSS + 15,
		.idt_base = BENCH_GPA_IDT,
		.idt_limit = 256 * 16 - 1,
		/* PE, MP, ET, NE, WP, PG */
		.cr0 = 0x80010033,
		.cr3 = BENCH_GPA_PML4,
		/* PAE, OSFXSR, OSXMMEXCPT */
		.cr4 = 0x620,
		/* LME, LMA */
		.efer = 0x500,
		.rip = (uint64_t)(uintptr_t)fn,
		.rsp = rsp,
		.rflags = 2,
		.rdi = a0,
		.rsi = a1,
	};
	uint64_t *ret = bench_gpa(bvm, rsp);

	/* as if called: the return address on the stack */
	*ret = (uint64_t)(uintptr_t)bench_guest_return;
	if (bvm->hv->set_state(vcpu, &st)) {
		fprintf(stderr, "khyp-bench: %s: set registers: %s\n",
			bvm->hv->name, strerror(errno));
		return -1;
	}
	return 0;
}
