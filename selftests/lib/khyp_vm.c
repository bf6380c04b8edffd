// SPDX-License-Identifier: GPL-2.0
/*
 * The khyp selftest library: VMs, vCPUs, long mode with guest code taken
 * from the test binary itself, an IDT whose handlers record what they
 * see, and the decoding of exits and ucalls.  See khyp_vm.h for the guest
 * memory layout and the conventions.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "khyp_util.h"
#include "khyp_vm.h"

#define KH_STR_(x)	#x
#define KH_STR(x)	KH_STR_(x)
#define MiB		(1024UL * 1024)

/* ---- guest globals, written by the host or by the IDT handlers ---- */

uint8_t kh_guest_use_vmmcall;
volatile uint32_t kh_guest_vector_count[256];
volatile uint64_t kh_guest_last_vector;
volatile uint64_t kh_guest_last_error;
volatile uint64_t kh_guest_fixup_rip;
volatile uint64_t kh_guest_fixup_vector;
volatile uint32_t kh_guest_exc_expected;
volatile struct kh_guest_event kh_guest_event_log[KH_EVENT_LOG_LEN];
volatile uint32_t kh_guest_event_log_n;

/*
 * Guest code: 256 IDT entry stubs, 16 bytes apart, that push a zero error
 * code where the CPU pushes none and then the vector, and one common
 * handler.  Frame at the common handler after it saved RAX, RBX, RCX and
 * RDX: 32(%rsp) vector, 40 error code, 48 RIP, 56 CS, 64 RFLAGS, 72 RSP,
 * 80 SS.  kh_guest_return is where a guest function returns to: it reports
 * KH_UCALL_DONE.
 */
asm(".pushsection .text\n"
    ".balign 16\n"
    ".globl kh_guest_idt_stubs\n"
    "kh_guest_idt_stubs:\n"
    ".set kh_vec, 0\n"
    ".rept 256\n"
    "	.balign 16\n"
    "	.if kh_vec == 8 || kh_vec == 10 || kh_vec == 11 || kh_vec == 12 || "
    "kh_vec == 13 || kh_vec == 14 || kh_vec == 17 || kh_vec == 21 || "
    "kh_vec == 29 || kh_vec == 30\n"
    "	.else\n"
    "	pushq $0\n"
    "	.endif\n"
    "	pushq $kh_vec\n"
    "	jmp kh_guest_idt_common\n"
    "	.set kh_vec, kh_vec + 1\n"
    ".endr\n"
    "\n"
    "kh_guest_idt_common:\n"
    "	pushq %rax\n"
    "	pushq %rbx\n"
    "	pushq %rcx\n"
    "	pushq %rdx\n"
    "	movq 32(%rsp), %rax\n"
    "	movq 40(%rsp), %rbx\n"
    "	movq %rax, kh_guest_last_vector(%rip)\n"
    "	movq %rbx, kh_guest_last_error(%rip)\n"
    /* append {vector, interrupted RIP} to kh_guest_event_log */
    "	movl $1, %ecx\n"
    "	lock xaddl %ecx, kh_guest_event_log_n(%rip)\n"
    "	cmpl $" KH_STR(KH_EVENT_LOG_LEN) ", %ecx\n"
    "	jae 5f\n"
    "	shll $4, %ecx\n"
    "	leaq kh_guest_event_log(%rip), %rdx\n"
    "	addq %rdx, %rcx\n"
    "	movq %rax, (%rcx)\n"
    "	movq 48(%rsp), %rdx\n"
    "	movq %rdx, 8(%rcx)\n"
    "5:\n"
    "	leaq kh_guest_vector_count(%rip), %rcx\n"
    "	lock incl (%rcx,%rax,4)\n"
    "	cmpq $2, %rax\n"		/* an NMI is not a fault */
    "	je 2f\n"
    "	cmpq $32, %rax\n"
    "	jae 2f\n"
    "	movq kh_guest_fixup_rip(%rip), %rcx\n"
    "	testq %rcx, %rcx\n"
    "	jz 1f\n"
    "	movq %rcx, 48(%rsp)\n"
    "	movq $0, kh_guest_fixup_rip(%rip)\n"
    "	movq %rax, kh_guest_fixup_vector(%rip)\n"
    "	jmp 2f\n"
    "1:\n"
    "	btl %eax, kh_guest_exc_expected(%rip)\n"
    "	jc 2f\n"
    /* unexpected exception: struct kh_ucall on the stack, then stop */
    "	movq 48(%rsp), %rcx\n"
    "	subq $64, %rsp\n"
    "	movq $" KH_STR(KH_UCALL_UNHANDLED) ", 0(%rsp)\n"
    "	movq %rax, 8(%rsp)\n"
    "	movq %rbx, 16(%rsp)\n"
    "	movq %rcx, 24(%rsp)\n"
    "	movq $0, 32(%rsp)\n"
    "	movq $0, 40(%rsp)\n"
    "	movq $0, 48(%rsp)\n"
    "	movq $0, 56(%rsp)\n"
    "3:\n"
    "	movq %rsp, %rax\n"
    "	outl %eax, $" KH_STR(KH_PORT_UCALL) "\n"
    "	jmp 3b\n"
    "2:\n"
    "	popq %rdx\n"
    "	popq %rcx\n"
    "	popq %rbx\n"
    "	popq %rax\n"
    "	addq $16, %rsp\n"
    "	iretq\n"
    ".globl kh_guest_idt_end\n"
    "kh_guest_idt_end:\n"
    "\n"
    ".globl kh_guest_return\n"
    "kh_guest_return:\n"
    "	subq $64, %rsp\n"
    "	movq $" KH_STR(KH_UCALL_DONE) ", 0(%rsp)\n"
    "	movq $0, 8(%rsp)\n"
    "	movq $0, 16(%rsp)\n"
    "	movq $0, 24(%rsp)\n"
    "	movq $0, 32(%rsp)\n"
    "	movq $0, 40(%rsp)\n"
    "	movq $0, 48(%rsp)\n"
    "	movq $0, 56(%rsp)\n"
    "4:\n"
    "	movq %rsp, %rax\n"
    "	outl %eax, $" KH_STR(KH_PORT_UCALL) "\n"
    "	jmp 4b\n"
    ".popsection\n");

extern const char kh_guest_return[];

/* ---- host side ---- */

static void __attribute__((noreturn, format(printf, 1, 2)))
kh_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "# khyp_vm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

static void *kh_zalloc(size_t size)
{
	void *p = calloc(1, size);

	if (!p)
		kh_die("out of memory");
	return p;
}

/* End of the highest PT_LOAD segment of the binary (cached). */
static uint64_t kh_elf_end(void)
{
	static uint64_t end;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd, i;

	if (end)
		return end;
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh))
		kh_die("/proc/self/exe: %s", strerror(errno));
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) !=
		    sizeof(ph))
			kh_die("/proc/self/exe: short read");
		if (ph.p_type == PT_LOAD && ph.p_vaddr + ph.p_memsz > end)
			end = ph.p_vaddr + ph.p_memsz;
	}
	close(fd);
	return end;
}

size_t kh_vm_default_mem(void)
{
	uint64_t size = ((kh_elf_end() + 2 * MiB - 1) & ~(2 * MiB - 1)) +
			4 * MiB;

	return size < 16 * MiB ? 16 * MiB : size;
}

struct kh_vm *kh_vm_create(size_t mem_bytes)
{
	struct khyp_caps caps = { 0 };
	struct kh_vm *vm = kh_zalloc(sizeof(*vm));

	vm->dev = open(KHYP_DEV, O_RDWR | O_CLOEXEC);
	if (vm->dev < 0)
		kh_die("open %s: %s", KHYP_DEV, strerror(errno));
	if (ioctl(vm->dev, KHYP_GET_CAPS, &caps))
		kh_die("KHYP_GET_CAPS: %s", strerror(errno));
	vm->backend = caps.backend;
	vm->features = caps.features;
	vm->fd = ioctl(vm->dev, KHYP_CREATE_VM, 0);
	if (vm->fd < 0)
		kh_die("KHYP_CREATE_VM: %s", strerror(errno));
	kh_vm_add_region(vm, 0, 0, mem_bytes ? mem_bytes : kh_vm_default_mem(),
			 0);
	return vm;
}

void *kh_vm_add_region(struct kh_vm *vm, uint32_t slot, uint64_t gpa,
		       uint64_t size, uint32_t flags)
{
	struct khyp_mem_region r = {
		.slot = slot, .flags = flags,
		.guest_phys_addr = gpa, .size = size,
	};
	void *p;

	if (slot >= KHYP_MAX_MEM_REGIONS || ioctl(vm->fd, KHYP_SET_MEM_REGION, &r))
		kh_die("KHYP_SET_MEM_REGION slot %u gpa 0x%lx size 0x%lx: %s",
		       slot, (unsigned long)gpa, (unsigned long)size,
		       strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->fd, gpa);
	if (p == MAP_FAILED)
		kh_die("mmap of gpa 0x%lx: %s", (unsigned long)gpa,
		       strerror(errno));
	vm->regions[slot] = (struct kh_region){ gpa, size, p };
	return p;
}

void kh_vm_del_region(struct kh_vm *vm, uint32_t slot)
{
	struct khyp_mem_region r = { .slot = slot };
	struct kh_region *reg = &vm->regions[slot];

	if (ioctl(vm->fd, KHYP_SET_MEM_REGION, &r))
		kh_die("deleting slot %u: %s", slot, strerror(errno));
	if (reg->hva)
		munmap(reg->hva, reg->size);
	reg->hva = NULL;
}

void *kh_gpa(struct kh_vm *vm, uint64_t gpa)
{
	int i;

	for (i = 0; i < KHYP_MAX_MEM_REGIONS; i++) {
		struct kh_region *r = &vm->regions[i];

		if (r->hva && gpa >= r->gpa && gpa - r->gpa < r->size)
			return (char *)r->hva + (gpa - r->gpa);
	}
	kh_die("gpa 0x%lx is in no mapped region", (unsigned long)gpa);
}

void kh_vm_load(struct kh_vm *vm, uint64_t gpa, const void *start,
		const void *end)
{
	size_t len = (const char *)end - (const char *)start;

	/* the whole range must be in one region */
	kh_gpa(vm, gpa + len - 1);
	memcpy(kh_gpa(vm, gpa), start, len);
}

void kh_vm_free(struct kh_vm *vm)
{
	int i;

	if (!vm)
		return;
	for (i = 0; i < KHYP_MAX_VCPUS; i++)
		if (vm->vcpus[i]) {
			kh_vcpu_close(vm->vcpus[i]);
			free(vm->vcpus[i]);
		}
	for (i = 0; i < KHYP_MAX_MEM_REGIONS; i++)
		if (vm->regions[i].hva)
			munmap(vm->regions[i].hva, vm->regions[i].size);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->dev >= 0)
		close(vm->dev);
	free(vm);
}

struct kh_vcpu *kh_vcpu_add(struct kh_vm *vm, unsigned int id)
{
	struct kh_vcpu *vcpu = kh_zalloc(sizeof(*vcpu));

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KHYP_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		kh_die("KHYP_CREATE_VCPU %u: %s", id, strerror(errno));
	vcpu->run = mmap(NULL, KHYP_RUN_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED)
		kh_die("mmap of vCPU %u: %s", id, strerror(errno));
	if (id < KHYP_MAX_VCPUS)
		vm->vcpus[id] = vcpu;
	return vcpu;
}

void kh_vcpu_close(struct kh_vcpu *vcpu)
{
	if (vcpu->run && vcpu->run != MAP_FAILED)
		munmap(vcpu->run, KHYP_RUN_SIZE);
	vcpu->run = NULL;
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->fd = -1;
}

int kh_vcpu_run(struct kh_vcpu *vcpu)
{
	return ioctl(vcpu->fd, KHYP_RUN, 0);
}

#define KH_VCPU_IOCTL(vcpu, req, arg)					\
	do {								\
		if (ioctl((vcpu)->fd, req, arg))			\
			kh_die(#req " on vCPU %u: %s", (vcpu)->id,	\
			       strerror(errno));			\
	} while (0)

void kh_vcpu_get_regs(struct kh_vcpu *vcpu, struct khyp_regs *regs)
{
	KH_VCPU_IOCTL(vcpu, KHYP_GET_REGS, regs);
}

void kh_vcpu_set_regs(struct kh_vcpu *vcpu, const struct khyp_regs *regs)
{
	KH_VCPU_IOCTL(vcpu, KHYP_SET_REGS, regs);
}

void kh_vcpu_get_sregs(struct kh_vcpu *vcpu, struct khyp_sregs *sregs)
{
	KH_VCPU_IOCTL(vcpu, KHYP_GET_SREGS, sregs);
}

void kh_vcpu_set_sregs(struct kh_vcpu *vcpu, const struct khyp_sregs *sregs)
{
	KH_VCPU_IOCTL(vcpu, KHYP_SET_SREGS, sregs);
}

uint64_t kh_vcpu_get_msr(struct kh_vcpu *vcpu, uint32_t index)
{
	struct khyp_msrs m = { .nmsrs = 1 };

	m.entries[0].index = index;
	KH_VCPU_IOCTL(vcpu, KHYP_GET_MSRS, &m);
	return m.entries[0].data;
}

void kh_vcpu_set_msr(struct kh_vcpu *vcpu, uint32_t index, uint64_t value)
{
	struct khyp_msrs m = { .nmsrs = 1 };

	m.entries[0].index = index;
	m.entries[0].data = value;
	KH_VCPU_IOCTL(vcpu, KHYP_SET_MSRS, &m);
}

int kh_vcpu_inject(struct kh_vcpu *vcpu, uint32_t type, uint32_t vector,
		   uint32_t error_code, uint32_t flags)
{
	struct khyp_event ev = {
		.type = type, .vector = vector,
		.error_code = error_code, .flags = flags,
	};

	return ioctl(vcpu->fd, KHYP_INJECT_EVENT, &ev);
}

/* ---- guest state ---- */

/* An 8-byte code or data descriptor. */
static uint64_t kh_desc(uint32_t base, uint32_t limit, uint8_t type,
			uint8_t s, uint8_t dpl, uint8_t l, uint8_t db,
			uint8_t g)
{
	return (limit & 0xffffULL) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)type << 40 | (uint64_t)s << 44 |
	       (uint64_t)dpl << 45 | 1ULL << 47 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)l << 53 |
	       (uint64_t)db << 54 | (uint64_t)g << 55 |
	       (uint64_t)(base >> 24) << 56;
}

/* Page tables, GDT and TSS, once per VM. */
static void kh_vm_build_tables(struct kh_vm *vm)
{
	uint64_t *pml4, *pdpt, *pd, *gdt, *tss;
	int i;

	if (vm->tables_built)
		return;
	pml4 = kh_gpa(vm, KH_GPA_PML4);
	pdpt = kh_gpa(vm, KH_GPA_PML4 + 0x1000);
	pd = kh_gpa(vm, KH_GPA_PML4 + 0x2000);
	kh_gpa(vm, KH_GPA_PML4 + 0x5fff);
	/* present, writable, user; PS in the page directories */
	pml4[0] = (KH_GPA_PML4 + 0x1000) | 7;
	for (i = 0; i < 4; i++)
		pdpt[i] = (KH_GPA_PML4 + 0x2000 + i * 0x1000) | 7;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = (uint64_t)i << 21 | 0x87;

	gdt = kh_gpa(vm, KH_GPA_GDT);
	gdt[0] = 0;
	gdt[KH_SEL_CODE64 >> 3] = kh_desc(0, 0xfffff, 11, 1, 0, 1, 0, 1);
	gdt[KH_SEL_DATA >> 3] = kh_desc(0, 0xfffff, 3, 1, 0, 0, 1, 1);
	gdt[KH_SEL_CODE32 >> 3] = kh_desc(0, 0xfffff, 11, 1, 0, 0, 1, 1);
	gdt[KH_SEL_USER_DATA >> 3] = kh_desc(0, 0xfffff, 3, 1, 3, 0, 1, 1);
	gdt[KH_SEL_USER_CODE64 >> 3] = kh_desc(0, 0xfffff, 11, 1, 3, 1, 0, 1);
	/* busy 64-bit TSS: low 8 bytes as a system descriptor, then base 63:32 */
	gdt[KH_SEL_TSS >> 3] = kh_desc(KH_GPA_TSS, 0x67, 11, 0, 0, 0, 0, 0);
	gdt[(KH_SEL_TSS >> 3) + 1] = 0;

	tss = kh_gpa(vm, KH_GPA_TSS);
	memset(tss, 0, 0x68);
	/* rsp0 at offset 4; I/O map base (offset 102) past the limit */
	memcpy((char *)tss + 4, &(uint64_t){ KH_GPA_RING0_STACK_TOP }, 8);
	*(uint16_t *)((char *)tss + 102) = 0x68;
	vm->tables_built = true;
}

static void kh_seg(struct khyp_segment *seg, uint16_t sel, uint8_t type,
		   uint8_t s, uint8_t l, uint8_t db, uint32_t base,
		   uint32_t limit, uint8_t g)
{
	*seg = (struct khyp_segment){
		.base = base, .limit = limit, .selector = sel, .type = type,
		.present = 1, .dpl = sel & 3, .db = db, .s = s, .l = l, .g = g,
	};
}

static void kh_sregs_gdt_tr(struct khyp_sregs *s)
{
	s->gdt.base = KH_GPA_GDT;
	s->gdt.limit = KH_SEL_TSS + 15;
	kh_seg(&s->tr, KH_SEL_TSS, 11, 0, 0, 0, KH_GPA_TSS, 0x67, 0);
	s->ldt = (struct khyp_segment){ .type = 2, .present = 1,
					.limit = 0xffff };
}

/* Copy the PT_LOAD segments of the binary to gpa == vaddr, once per VM. */
static void kh_vm_load_elf(struct kh_vm *vm)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd, i;

	if (vm->elf_loaded)
		return;
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh))
		kh_die("/proc/self/exe: %s", strerror(errno));
	if (eh.e_type != ET_EXEC)
		kh_die("the test binary must be linked static non-PIE");
	for (i = 0; i < eh.e_phnum; i++) {
		char *dst;

		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) !=
		    sizeof(ph))
			kh_die("/proc/self/exe: short read");
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (ph.p_vaddr < KH_GPA_STACKS_TOP)
			kh_die("segment at 0x%lx overlaps the library's layout",
			       (unsigned long)ph.p_vaddr);
		kh_gpa(vm, ph.p_vaddr + ph.p_memsz - 1);	/* fits? */
		dst = kh_gpa(vm, ph.p_vaddr);
		if (pread(fd, dst, ph.p_filesz, ph.p_offset) !=
		    (ssize_t)ph.p_filesz)
			kh_die("/proc/self/exe: short read of a segment");
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	close(fd);
	kh_vm_global(vm, kh_guest_use_vmmcall) =
		vm->backend == KHYP_BACKEND_SVM;
	vm->elf_loaded = true;
}

void kh_vcpu_setup_long_mode(struct kh_vcpu *vcpu, void (*guest_fn)(void))
{
	struct kh_vm *vm = vcpu->vm;
	struct khyp_sregs s;
	struct khyp_regs r = { 0 };
	uint64_t rsp;

	if (vcpu->id >= (KH_GPA_STACKS_TOP - KH_GPA_RING0_STACK_TOP) /
			KH_STACK_SIZE)
		kh_die("no stack for vCPU %u", vcpu->id);
	kh_vm_load_elf(vm);
	kh_vm_build_tables(vm);

	kh_vcpu_get_sregs(vcpu, &s);
	kh_seg(&s.cs, KH_SEL_CODE64, 11, 1, 1, 0, 0, 0xffffffff, 1);
	kh_seg(&s.ds, KH_SEL_DATA, 3, 1, 0, 1, 0, 0xffffffff, 1);
	s.es = s.fs = s.gs = s.ss = s.ds;
	kh_sregs_gdt_tr(&s);
	s.idt.base = KH_GPA_IDT;
	s.idt.limit = 0;
	s.cr0 = KH_CR0_PE | KH_CR0_MP | KH_CR0_ET | KH_CR0_NE | KH_CR0_WP |
		KH_CR0_PG;
	s.cr3 = KH_GPA_PML4;
	s.cr4 = KH_CR4_PAE | KH_CR4_OSFXSR | KH_CR4_OSXMMEXCPT;
	s.efer = KH_EFER_LME | KH_EFER_LMA;
	kh_vcpu_set_sregs(vcpu, &s);

	/* as if called: return address on the stack, RSP + 8 16-aligned */
	rsp = KH_GPA_STACKS_TOP - vcpu->id * KH_STACK_SIZE - 8;
	*(uint64_t *)kh_gpa(vm, rsp) = (uint64_t)(uintptr_t)kh_guest_return;
	r.rip = (uint64_t)(uintptr_t)guest_fn;
	r.rsp = rsp;
	r.rflags = 2;
	kh_vcpu_set_regs(vcpu, &r);
}

void kh_vcpu_set_args(struct kh_vcpu *vcpu, uint64_t a0, uint64_t a1)
{
	struct khyp_regs r;

	kh_vcpu_get_regs(vcpu, &r);
	r.rdi = a0;
	r.rsi = a1;
	kh_vcpu_set_regs(vcpu, &r);
}

void kh_vm_install_idt(struct kh_vm *vm, struct kh_vcpu *vcpu)
{
	struct khyp_sregs s;
	int i;

	if (!vm->idt_built) {
		uint64_t *idt = kh_gpa(vm, KH_GPA_IDT);

		kh_gpa(vm, KH_GPA_IDT + 256 * 16 - 1);
		for (i = 0; i < 256; i++) {
			uint64_t h = (uint64_t)(uintptr_t)kh_guest_idt_stubs +
				     i * 16;

			/* 64-bit interrupt gate, DPL 0, present, no IST */
			idt[2 * i] = (h & 0xffff) | KH_SEL_CODE64 << 16 |
				     0x8eULL << 40 | (h >> 16 & 0xffff) << 48;
			idt[2 * i + 1] = h >> 32;
		}
		vm->idt_built = true;
	}
	kh_vcpu_get_sregs(vcpu, &s);
	s.idt.base = KH_GPA_IDT;
	s.idt.limit = 256 * 16 - 1;
	kh_vcpu_set_sregs(vcpu, &s);
}

void kh_vcpu_setup_real_mode(struct kh_vcpu *vcpu, uint16_t ip)
{
	struct khyp_sregs s;
	struct khyp_regs r = { 0 };

	kh_vcpu_get_sregs(vcpu, &s);	/* the reset state, but for CS */
	s.cs.selector = 0;
	s.cs.base = 0;
	kh_vcpu_set_sregs(vcpu, &s);
	r.rip = ip;
	r.rsp = KH_GPA_LOW_STACK;
	r.rflags = 2;
	kh_vcpu_set_regs(vcpu, &r);
}

void kh_vcpu_setup_prot32(struct kh_vcpu *vcpu, uint32_t eip)
{
	struct khyp_sregs s;
	struct khyp_regs r = { 0 };

	kh_vm_build_tables(vcpu->vm);
	kh_vcpu_get_sregs(vcpu, &s);
	kh_seg(&s.cs, KH_SEL_CODE32, 11, 1, 0, 1, 0, 0xffffffff, 1);
	kh_seg(&s.ds, KH_SEL_DATA, 3, 1, 0, 1, 0, 0xffffffff, 1);
	s.es = s.fs = s.gs = s.ss = s.ds;
	kh_sregs_gdt_tr(&s);
	s.cr0 = KH_CR0_PE | KH_CR0_ET | KH_CR0_NE;
	s.cr4 = 0;
	s.efer = 0;
	kh_vcpu_set_sregs(vcpu, &s);
	r.rip = eip;
	r.rsp = KH_GPA_LOW_STACK;
	r.rflags = 2;
	kh_vcpu_set_regs(vcpu, &r);
}

/* ---- exits ---- */

const char *kh_exit_name(uint32_t reason)
{
	static const char * const names[] = {
		[KHYP_EXIT_NONE] = "NONE",
		[KHYP_EXIT_IO] = "IO",
		[KHYP_EXIT_MMIO] = "MMIO",
		[KHYP_EXIT_HLT] = "HLT",
		[KHYP_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KHYP_EXIT_HYPERCALL] = "HYPERCALL",
		[KHYP_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KHYP_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KHYP_EXIT_INTR] = "INTR",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "(unknown exit reason)";
}

/* The ucall the exit carries, if it is one and its struct is in RAM. */
static bool kh_exit_ucall(struct kh_vcpu *vcpu, struct kh_ucall *uc)
{
	struct khyp_run *run = vcpu->run;
	struct kh_vm *vm = vcpu->vm;
	uint64_t gpa;
	int i;

	if (run->exit_reason != KHYP_EXIT_IO || run->io.port != KH_PORT_UCALL ||
	    run->io.size != 4 || run->io.direction != KHYP_IO_OUT)
		return false;
	gpa = (uint32_t)run->io.data;
	for (i = 0; i < KHYP_MAX_MEM_REGIONS; i++) {
		struct kh_region *r = &vm->regions[i];

		if (r->hva && gpa >= r->gpa &&
		    gpa + sizeof(*uc) <= r->gpa + r->size) {
			memcpy(uc, (char *)r->hva + (gpa - r->gpa), sizeof(*uc));
			return true;
		}
	}
	return false;
}

int kh_vcpu_get_ucall(struct kh_vcpu *vcpu, struct kh_ucall *uc)
{
	memset(uc, 0, sizeof(*uc));
	if (!kh_exit_ucall(vcpu, uc))
		return KH_UCALL_NONE;
	return uc->cmd;
}

void kh_vcpu_exit_str(struct kh_vcpu *vcpu, char *buf, size_t len)
{
	struct khyp_run *run = vcpu->run;
	struct kh_ucall uc;
	struct khyp_regs r;
	int n;

	n = snprintf(buf, len, "vCPU %u exit %s (%u)", vcpu->id,
		     kh_exit_name(run->exit_reason), run->exit_reason);
	if (n < 0 || (size_t)n >= len)
		return;
	buf += n;
	len -= n;

	switch (run->exit_reason) {
	case KHYP_EXIT_IO:
		if (kh_exit_ucall(vcpu, &uc)) {
			switch (uc.cmd) {
			case KH_UCALL_ASSERT:
				snprintf(buf, len,
					 ": guest assertion failed at %s:%lu: %s (0x%lx vs 0x%lx)",
					 uc.file, (unsigned long)uc.line,
					 uc.expr, (unsigned long)uc.args[0],
					 (unsigned long)uc.args[1]);
				return;
			case KH_UCALL_UNHANDLED:
				snprintf(buf, len,
					 ": unhandled guest exception vector %lu error 0x%lx at RIP 0x%lx",
					 (unsigned long)uc.args[0],
					 (unsigned long)uc.args[1],
					 (unsigned long)uc.args[2]);
				return;
			case KH_UCALL_SYNC:
				snprintf(buf, len,
					 ": GUEST_SYNC at %s:%lu (0x%lx 0x%lx 0x%lx 0x%lx)",
					 uc.file, (unsigned long)uc.line,
					 (unsigned long)uc.args[0],
					 (unsigned long)uc.args[1],
					 (unsigned long)uc.args[2],
					 (unsigned long)uc.args[3]);
				return;
			case KH_UCALL_DONE:
				snprintf(buf, len, ": GUEST_DONE");
				return;
			}
		}
		snprintf(buf, len, ": port 0x%x size %u %s data 0x%lx",
			 run->io.port, run->io.size,
			 run->io.direction == KHYP_IO_OUT ? "out" : "in",
			 (unsigned long)run->io.data);
		return;
	case KHYP_EXIT_MMIO:
		snprintf(buf, len, ": gpa 0x%lx size %u %s data 0x%lx",
			 (unsigned long)run->mmio.phys_addr, run->mmio.size,
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long)run->mmio.data);
		return;
	case KHYP_EXIT_HYPERCALL:
		snprintf(buf, len, ": nr 0x%lx args 0x%lx 0x%lx 0x%lx 0x%lx 0x%lx",
			 (unsigned long)run->hypercall.nr,
			 (unsigned long)run->hypercall.args[0],
			 (unsigned long)run->hypercall.args[1],
			 (unsigned long)run->hypercall.args[2],
			 (unsigned long)run->hypercall.args[3],
			 (unsigned long)run->hypercall.args[4]);
		return;
	case KHYP_EXIT_INTERNAL_ERROR:
		snprintf(buf, len,
			 ": suberror %u ndata %u hw_exit_code 0x%lx data 0x%lx 0x%lx 0x%lx 0x%lx",
			 run->internal.suberror, run->internal.ndata,
			 (unsigned long)run->internal.hw_exit_code,
			 (unsigned long)run->internal.data[0],
			 (unsigned long)run->internal.data[1],
			 (unsigned long)run->internal.data[2],
			 (unsigned long)run->internal.data[3]);
		return;
	case KHYP_EXIT_HLT:
	case KHYP_EXIT_SHUTDOWN:
		if (!ioctl(vcpu->fd, KHYP_GET_REGS, &r))
			snprintf(buf, len, ": RIP 0x%lx", (unsigned long)r.rip);
		return;
	}
}

int kh_vcpu_run_ucall(struct kh_vcpu *vcpu, struct kh_ucall *uc, char *msg,
		      size_t len)
{
	int r = kh_vcpu_run(vcpu), e = errno;
	int cmd;

	if (r) {
		snprintf(msg, len, "KHYP_RUN: %s (exit reason %s)",
			 strerror(e), kh_exit_name(vcpu->run->exit_reason));
		memset(uc, 0, sizeof(*uc));
		return -1;
	}
	kh_vcpu_exit_str(vcpu, msg, len);
	cmd = kh_vcpu_get_ucall(vcpu, uc);
	return cmd == KH_UCALL_NONE ? -1 : cmd;
}

int kh_create_irqchip(int vm_fd)
{
	struct khyp_create_irqchip arg;

	memset(&arg, 0, sizeof(arg));
	return ioctl(vm_fd, KHYP_CREATE_IRQCHIP, &arg);
}

struct kh_vm *kh_vm_with_irqchip(unsigned int n, void (*fns[])(void))
{
	struct kh_vm *vm = kh_vm_create(0);
	struct kh_vcpu *vcpu;
	unsigned int i;

	if (kh_create_irqchip(vm->fd))
		return NULL;
	for (i = 0; i < n; i++) {
		vcpu = kh_vcpu_add(vm, i);
		kh_vcpu_setup_long_mode(vcpu, fns[i]);
		kh_vm_install_idt(vm, vcpu);
	}
	return vm;
}

void *kh_vcpu_run_once(void *arg)
{
	struct kh_run_once *res = arg;

	res->r = kh_vcpu_run(res->vcpu);
	res->err = errno;
	res->exit_reason = res->vcpu->run->exit_reason;
	return NULL;
}

int kh_irq_line(struct kh_vm *vm, uint32_t irq, uint32_t level)
{
	struct khyp_irq_level arg;

	memset(&arg, 0, sizeof(arg));
	arg.irq = irq;
	arg.level = level;
	return ioctl(vm->fd, KHYP_IRQ_LINE, &arg);
}

int kh_signal_msi(struct kh_vm *vm, uint64_t address, uint32_t data)
{
	struct khyp_msi arg;

	memset(&arg, 0, sizeof(arg));
	arg.address = address;
	arg.data = data;
	return ioctl(vm->fd, KHYP_SIGNAL_MSI, &arg);
}
