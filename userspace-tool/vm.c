// SPDX-License-Identifier: GPL-2.0
/*
 * The VM through /dev/khyp: its RAM in one or two memory regions (below
 * the PCI hole and from 4 GiB, boot/loader.h), mapped into the launcher;
 * vCPUs with their run pages.  Errors are
 * printed here, with what failed and why.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "khyp.h"

static int vm__open_dev(struct vm *vm)
{
	vm->dev = open(KHYP_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (vm->dev < 0) {
		fprintf(stderr, "khyp: %s: %s%s\n", KHYP_DEV_PATH, strerror(errno),
			errno == ENOENT ? " (is khyp.ko loaded?)" : "");
		return -1;
	}
	if (ioctl(vm->dev, KHYP_GET_API_VERSION, 0) != KHYP_API_VERSION) {
		fprintf(stderr, "khyp: %s speaks another API version than %d\n",
			KHYP_DEV_PATH, KHYP_API_VERSION);
		return -1;
	}
	if (ioctl(vm->dev, KHYP_GET_CAPS, &vm->caps)) {
		perror("khyp: KHYP_GET_CAPS");
		return -1;
	}
	return 0;
}

/* Slot @slot: guest-physical [gpa, gpa + len), mapped at base + gpa. */
static int vm__add_region(struct vm *vm, unsigned int slot, uint64_t gpa,
			  uint64_t len)
{
	struct khyp_mem_region r = {
		.slot = slot, .guest_phys_addr = gpa, .size = len,
	};
	void *p;

	if (ioctl(vm->fd, KHYP_SET_MEM_REGION, &r)) {
		fprintf(stderr, "khyp: KHYP_SET_MEM_REGION of %" PRIu64 " MiB at 0x%" PRIx64 ": %s\n",
			len >> 20, gpa, strerror(errno));
		return -1;
	}
	p = mmap(vm->mem.base + gpa, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, vm->fd, gpa);
	if (p == MAP_FAILED) {
		perror("khyp: mmap of guest memory");
		return -1;
	}
	return 0;
}

/*
 * The RAM of -m @size as boot/loader.h lays it out: slot 0 below the
 * PCI hole, slot 1 from 4 GiB.  One reservation of address space holds
 * both at their guest-physical offsets (base + gpa is the host address
 * of either), the hole between left inaccessible.
 */
static int vm__add_memory(struct vm *vm, uint64_t size)
{
	uint64_t low, high;
	void *p;

	mem_split(size, &low, &high);
	vm->map_len = high ? MEM_HIGH_START + high : low;
	p = mmap(NULL, vm->map_len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("khyp: address space for guest memory");
		return -1;
	}
	vm->mem.base = p;
	if (vm__add_region(vm, 0, 0, low) ||
	    (high && vm__add_region(vm, 1, MEM_HIGH_START, high))) {
		munmap(p, vm->map_len);
		vm->mem.base = NULL;
		return -1;
	}
	vm->mem.size = low;
	vm->mem.high = high;
	return 0;
}

static int vm__create_irqchip(struct vm *vm)
{
	struct khyp_create_irqchip arg;

	if (!(vm->caps.features & KHYP_CAP_IRQCHIP)) {
		fprintf(stderr, "khyp: more than one vCPU, or Linux, needs the in-kernel irqchip, which this khyp.ko lacks\n");
		return -1;
	}
	memset(&arg, 0, sizeof(arg));
	if (ioctl(vm->fd, KHYP_CREATE_IRQCHIP, &arg)) {
		perror("khyp: KHYP_CREATE_IRQCHIP");
		return -1;
	}
	return 0;
}

static int vcpu__create(struct vm *vm, struct vcpu *vcpu, unsigned int id)
{
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KHYP_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		fprintf(stderr, "khyp: KHYP_CREATE_VCPU %u: %s\n", id,
			strerror(errno));
		return -1;
	}
	vcpu->run = mmap(NULL, KHYP_RUN_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		fprintf(stderr, "khyp: mmap of vCPU %u: %s\n", id,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void vcpu__destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, KHYP_RUN_SIZE);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
}

int vm__create(struct vm *vm, uint64_t mem_size, unsigned int nr_vcpus,
	       bool irqchip)
{
	unsigned int i;

	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	if (vm__open_dev(vm))
		goto err_close_dev;
	vm->fd = ioctl(vm->dev, KHYP_CREATE_VM, 0);
	if (vm->fd < 0) {
		perror("khyp: KHYP_CREATE_VM");
		goto err_close_dev;
	}
	if (vm__add_memory(vm, mem_size))
		goto err_close_vm;
	/*
	 * More than one vCPU: the in-kernel irqchip, whose local APICs
	 * start the APs with INIT and SIPI; they wait in the kernel until
	 * then.  Linux wants it with one vCPU too.  One vCPU without it
	 * keeps the launcher's HLT exit (status 0).
	 */
	if ((nr_vcpus > 1 || irqchip) && vm__create_irqchip(vm))
		goto err_unmap;
	vm->irqchip = nr_vcpus > 1 || irqchip;
	vm->vcpus = calloc(nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		perror("khyp: vCPUs");
		goto err_unmap;
	}
	for (i = 0; i < nr_vcpus; i++) {
		vm->vcpus[i].fd = -1;
		vm->nr_vcpus++;
		if (vcpu__create(vm, &vm->vcpus[i], i))
			goto err_vcpus;
	}
	return 0;

err_vcpus:
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu__destroy(&vm->vcpus[i]);
	free(vm->vcpus);
err_unmap:
	munmap(vm->mem.base, vm->map_len);
err_close_vm:
	close(vm->fd);
err_close_dev:
	if (vm->dev >= 0)
		close(vm->dev);
	memset(vm, 0, sizeof(*vm));
	vm->dev = vm->fd = -1;
	return -1;
}

void vm__destroy(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu__destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	if (vm->mem.base)
		munmap(vm->mem.base, vm->map_len);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->dev >= 0)
		close(vm->dev);
	memset(vm, 0, sizeof(*vm));
	vm->dev = vm->fd = -1;
}

int vcpu__set_state(struct vcpu *vcpu, const struct khyp_regs *r,
		    const struct khyp_sregs *s)
{
	if (ioctl(vcpu->fd, KHYP_SET_SREGS, s)) {
		perror("khyp: KHYP_SET_SREGS");
		return -1;
	}
	if (ioctl(vcpu->fd, KHYP_SET_REGS, r)) {
		perror("khyp: KHYP_SET_REGS");
		return -1;
	}
	return 0;
}

static void vcpu__dump_seg(const char *name, const struct khyp_segment *g)
{
	fprintf(stderr, "  %-3s sel %04x base %016" PRIx64 " limit %08x type %x p%u dpl%u db%u s%u l%u g%u%s\n",
		name, g->selector, (uint64_t)g->base, g->limit, g->type,
		g->present, g->dpl, g->db, g->s, g->l, g->g,
		g->unusable ? " unusable" : "");
}

void vcpu__dump(const struct vcpu *vcpu)
{
	struct khyp_sregs s;
	struct khyp_regs r;

	if (ioctl(vcpu->fd, KHYP_GET_REGS, &r) ||
	    ioctl(vcpu->fd, KHYP_GET_SREGS, &s)) {
		perror("khyp: reading the registers");
		return;
	}
	fprintf(stderr, "vCPU %u registers:\n", vcpu->id);
	fprintf(stderr, "  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n",
		r.rax, r.rbx, r.rcx, r.rdx);
	fprintf(stderr, "  rsi %016llx rdi %016llx rsp %016llx rbp %016llx\n",
		r.rsi, r.rdi, r.rsp, r.rbp);
	fprintf(stderr, "  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n",
		r.r8, r.r9, r.r10, r.r11);
	fprintf(stderr, "  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n",
		r.r12, r.r13, r.r14, r.r15);
	fprintf(stderr, "  rip %016llx rflags %08llx\n", r.rip, r.rflags);
	fprintf(stderr, "  cr0 %08llx cr2 %016llx cr3 %016llx cr4 %08llx efer %llx\n",
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	vcpu__dump_seg("cs", &s.cs);
	vcpu__dump_seg("ds", &s.ds);
	vcpu__dump_seg("ss", &s.ss);
	vcpu__dump_seg("tr", &s.tr);
	fprintf(stderr, "  gdt base %016llx limit %04x  idt base %016llx limit %04x\n",
		s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}

int vm__set_balloon(struct vm *vm, uint64_t bytes)
{
	struct khyp_balloon_target t = { .pages = bytes >> 12 };

	if (ioctl(vm->fd, KHYP_SET_BALLOON, &t)) {
		perror("khyp: KHYP_SET_BALLOON");
		return -1;
	}
	return 0;
}

int vm__set_balloon_max(struct vm *vm, uint64_t bytes)
{
	struct khyp_balloon_target t = {
		.pages = bytes >> 12, .flags = KHYP_BALLOON_PRESSURE_MAX,
	};

	if (!(vm->caps.features & KHYP_CAP_BALLOON_PRESSURE_MAX)) {
		fprintf(stderr, "khyp: --balloon-max: khyp.ko has no KHYP_CAP_BALLOON_PRESSURE_MAX (an older module)\n");
		return -1;
	}
	if (ioctl(vm->fd, KHYP_SET_BALLOON, &t)) {
		perror("khyp: KHYP_SET_BALLOON (--balloon-max)");
		return -1;
	}
	return 0;
}

/* One line on @f: the balloon's figures @st, after @prefix. */
void balloon__print(FILE *f, const char *prefix,
		    const struct khyp_balloon_stats *st)
{
	fprintf(f, "%s%llu pages (%llu KiB), target %llu; inflated %llu, deflated %llu, freed %llu; violations %llu, rejected %llu; notifications %llu; protocol %s, reported %llu, target changes %llu; ram pages %llu; userspace target %llu, pressure target %llu\n",
		prefix, st->size, st->size * 4, st->effective_target,
		st->inflated, st->deflated, st->freed, st->violations,
		st->rejected, st->notifications,
		st->protocol == KHYP_BALLOON_PROTO_USERSPACE ? "virtio" :
		st->protocol == KHYP_BALLOON_PROTO_HYPERCALL ? "hypercall" :
		"none", st->reported, st->target_changes, st->ram_pages,
		st->target, st->pressure_target);
}

/* One line on stderr: what the guest's balloon did. */
void vm__report_balloon(const struct vm *vm)
{
	struct khyp_balloon_stats st;

	if (ioctl(vm->fd, KHYP_GET_BALLOON, &st)) {
		perror("khyp: KHYP_GET_BALLOON");
		return;
	}
	if (!st.probed && st.protocol == KHYP_BALLOON_PROTO_NONE) {
		fprintf(stderr, "khyp: balloon: the guest does not speak the protocol\n");
		return;
	}
	balloon__print(stderr, "khyp: balloon: ", &st);
}
