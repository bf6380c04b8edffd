// SPDX-License-Identifier: GPL-2.0
/*
 * The hypervisor layer over /dev/kvm (<linux/kvm.h>): the reference.  A
 * small, fair runner: only the raw ioctls, with the userspace irqchip (no
 * KVM_CREATE_IRQCHIP, so interrupts go in with KVM_INTERRUPT, as with
 * khyp) but in the local APIC workloads, which give both hypervisors
 * their in-kernel irqchip, and the CPUID KVM supports
 * (KVM_GET_SUPPORTED_CPUID), which it needs for long mode.
 *
 * Guest memory is anonymous memory of this process, aligned to 2 MiB and
 * left to the system's transparent-huge-page setting (as QEMU's RAM is):
 * where the host backs it with a 2 MiB page, KVM maps 2 MiB in the
 * second-level tables.  hv_kvm_set_thp(false) asks for 4 KiB pages
 * (MADV_NOHUGEPAGE) instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "bench.h"

#define NSLOTS		4
#define MAX_CPUID	256	/* KVM_GET_SUPPORTED_CPUID fails with E2BIG if short */

struct hv_vm {
	int fd;
	struct {
		void *map;		/* the mmap, 2 MiB more than size */
		void *hva;		/* 2 MiB aligned inside it */
		uint64_t gpa, size;
	} slots[NSLOTS];
};

struct hv_vcpu {
	int fd;
	struct kvm_run *run;
	bool cpuid_set;
};

static int kvm_dev = -1;
static int kvm_run_size;
static struct kvm_cpuid2 *kvm_cpuid;
static bool kvm_no_thp;

void hv_kvm_set_thp(bool on)
{
	kvm_no_thp = !on;
}

static int kvm_open(void)
{
	kvm_dev = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_dev < 0)
		return -1;
	kvm_run_size = ioctl(kvm_dev, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm_run_size <= 0)
		return -1;
	kvm_cpuid = calloc(1, sizeof(*kvm_cpuid) +
			   MAX_CPUID * sizeof(kvm_cpuid->entries[0]));
	if (!kvm_cpuid)
		return -1;
	kvm_cpuid->nent = MAX_CPUID;
	return ioctl(kvm_dev, KVM_GET_SUPPORTED_CPUID, kvm_cpuid);
}

static struct hv_vm *kvm_vm_create(void)
{
	struct hv_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->fd = ioctl(kvm_dev, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		free(vm);
		return NULL;
	}
	return vm;
}

static void kvm_unmap(struct hv_vm *vm, int slot)
{
	munmap(vm->slots[slot].map, vm->slots[slot].size + 2 * MiB);
	vm->slots[slot].map = NULL;
}

static int kvm_mem_del(struct hv_vm *vm, int slot)
{
	struct kvm_userspace_memory_region r = { .slot = slot };
	int ret;

	if (slot >= NSLOTS || !vm->slots[slot].map) {
		errno = ENOENT;
		return -1;
	}
	r.guest_phys_addr = vm->slots[slot].gpa;
	ret = ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r);
	kvm_unmap(vm, slot);
	return ret;
}

static void kvm_vm_destroy(struct hv_vm *vm)
{
	int i;

	close(vm->fd);
	for (i = 0; i < NSLOTS; i++)
		if (vm->slots[i].map)
			kvm_unmap(vm, i);
	free(vm);
}

static void *kvm_mem_add(struct hv_vm *vm, int slot, uint64_t gpa,
			 uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
	};
	uint8_t *map;
	uintptr_t hva;

	if (slot >= NSLOTS || vm->slots[slot].map) {
		errno = EEXIST;
		return NULL;
	}
	map = mmap(NULL, size + 2 * MiB, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	hva = ((uintptr_t)map + 2 * MiB - 1) & ~(2 * MiB - 1);
	if (kvm_no_thp && madvise(map, size + 2 * MiB, MADV_NOHUGEPAGE)) {
		munmap(map, size + 2 * MiB);
		return NULL;
	}
	vm->slots[slot].map = map;
	vm->slots[slot].hva = (void *)hva;
	vm->slots[slot].gpa = gpa;
	vm->slots[slot].size = size;
	r.userspace_addr = hva;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r)) {
		int e = errno;

		kvm_unmap(vm, slot);
		errno = e;
		return NULL;
	}
	return (void *)hva;
}

static struct hv_vcpu *kvm_vcpu_create(struct hv_vm *vm, int id)
{
	struct hv_vcpu *vcpu = calloc(1, sizeof(*vcpu));

	if (!vcpu)
		return NULL;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		goto free;
	vcpu->run = mmap(NULL, kvm_run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED)
		goto close;
	return vcpu;
close:
	close(vcpu->fd);
free:
	free(vcpu);
	return NULL;
}

static void kvm_vcpu_destroy(struct hv_vcpu *vcpu)
{
	munmap(vcpu->run, kvm_run_size);
	close(vcpu->fd);
	free(vcpu);
}

static void kvm_seg(struct kvm_segment *k, const struct hv_seg *s)
{
	*k = (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.type = s->type, .present = s->present, .dpl = s->dpl,
		.db = s->db, .s = s->s, .l = s->l, .g = s->g,
	};
}

static int kvm_set_state(struct hv_vcpu *vcpu, const struct hv_state *st)
{
	struct kvm_sregs s;
	struct kvm_regs r = { 0 };

	/* before the first KVM_SET_SREGS: KVM checks EFER.LME against it */
	if (!vcpu->cpuid_set) {
		if (ioctl(vcpu->fd, KVM_SET_CPUID2, kvm_cpuid))
			return -1;
		vcpu->cpuid_set = true;
	}
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s))
		return -1;
	kvm_seg(&s.cs, &st->cs);
	kvm_seg(&s.ds, &st->ds);
	s.es = s.fs = s.gs = s.ss = s.ds;
	kvm_seg(&s.tr, &st->tr);
	s.ldt = (struct kvm_segment){ .type = 2, .present = 1,
				      .limit = 0xffff };
	s.gdt.base = st->gdt_base;
	s.gdt.limit = st->gdt_limit;
	s.idt.base = st->idt_base;
	s.idt.limit = st->idt_limit;
	s.cr0 = st->cr0;
	s.cr3 = st->cr3;
	s.cr4 = st->cr4;
	s.efer = st->efer;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &s))
		return -1;
	r.rip = st->rip;
	r.rsp = st->rsp;
	r.rflags = st->rflags;
	r.rdi = st->rdi;
	r.rsi = st->rsi;
	return ioctl(vcpu->fd, KVM_SET_REGS, &r);
}

static int kvm_run(struct hv_vcpu *vcpu, struct hv_exit *ex)
{
	struct kvm_run *run = vcpu->run;

	if (ioctl(vcpu->fd, KVM_RUN, 0))
		return -1;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		ex->kind = HV_EXIT_IO;
		ex->write = run->io.direction == KVM_EXIT_IO_OUT;
		ex->port = run->io.port;
		ex->size = run->io.size;
		ex->data = 0;
		if (ex->write)
			memcpy(&ex->data, (uint8_t *)run + run->io.data_offset,
			       run->io.size);
		if (run->io.count != 1) {
			ex->kind = HV_EXIT_OTHER;
			snprintf(ex->what, sizeof(ex->what),
				 "string I/O on port 0x%x", run->io.port);
		}
		return 0;
	case KVM_EXIT_MMIO:
		ex->kind = HV_EXIT_MMIO;
		ex->write = run->mmio.is_write;
		ex->addr = run->mmio.phys_addr;
		ex->size = run->mmio.len;
		ex->data = 0;
		if (ex->write)
			memcpy(&ex->data, run->mmio.data, run->mmio.len);
		return 0;
	case KVM_EXIT_HLT:
		ex->kind = HV_EXIT_HLT;
		return 0;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		ex->kind = HV_EXIT_IRQ_WINDOW;
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		ex->kind = HV_EXIT_OTHER;
		snprintf(ex->what, sizeof(ex->what),
			 "entry failed, hardware reason 0x%llx",
			 (unsigned long long)
			 run->fail_entry.hardware_entry_failure_reason);
		return 0;
	case KVM_EXIT_INTERNAL_ERROR:
		ex->kind = HV_EXIT_OTHER;
		snprintf(ex->what, sizeof(ex->what), "internal error %u",
			 run->internal.suberror);
		return 0;
	default:
		ex->kind = HV_EXIT_OTHER;
		snprintf(ex->what, sizeof(ex->what), "exit reason %u",
			 run->exit_reason);
		return 0;
	}
}

static void kvm_complete_read(struct hv_vcpu *vcpu, uint64_t value)
{
	struct kvm_run *run = vcpu->run;

	if (run->exit_reason == KVM_EXIT_IO)
		memcpy((uint8_t *)run + run->io.data_offset, &value,
		       run->io.size);
	else
		memcpy(run->mmio.data, &value, run->mmio.len);
}

static bool kvm_irq_ready(struct hv_vcpu *vcpu)
{
	return vcpu->run->ready_for_interrupt_injection && vcpu->run->if_flag;
}

static void kvm_request_irq_window(struct hv_vcpu *vcpu, bool on)
{
	vcpu->run->request_interrupt_window = on;
}

static int kvm_inject_irq(struct hv_vcpu *vcpu, uint8_t vector)
{
	struct kvm_interrupt irq = { .irq = vector };

	return ioctl(vcpu->fd, KVM_INTERRUPT, &irq);
}

/*
 * The local APIC workloads only: KVM's in-kernel irqchip (LAPIC, IOAPIC,
 * PIC), as khyp's KHYP_CREATE_IRQCHIP.
 */
static int kvm_create_irqchip(struct hv_vm *vm)
{
	return ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0);
}

/* With the in-kernel APIC an AP waits for INIT/SIPI: start it now. */
static int kvm_vcpu_runnable(struct hv_vcpu *vcpu)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	return ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp);
}

/*
 * The in-kernel hypercall: KVM_HC_VAPIC_POLL_IRQ, which KVM answers with
 * 0 in kvm_emulate_hypercall() without leaving the kernel.
 */
const struct hv_ops hv_kvm_ops = {
	.name			= "kvm",
	.open			= kvm_open,
	.vm_create		= kvm_vm_create,
	.vm_destroy		= kvm_vm_destroy,
	.mem_add		= kvm_mem_add,
	.mem_del		= kvm_mem_del,
	.vcpu_create		= kvm_vcpu_create,
	.vcpu_destroy		= kvm_vcpu_destroy,
	.set_state		= kvm_set_state,
	.run			= kvm_run,
	.complete_read		= kvm_complete_read,
	.irq_ready		= kvm_irq_ready,
	.request_irq_window	= kvm_request_irq_window,
	.inject_irq		= kvm_inject_irq,
	.create_irqchip		= kvm_create_irqchip,
	.vcpu_runnable		= kvm_vcpu_runnable,
	.hc_nr			= KVM_HC_VAPIC_POLL_IRQ,
	.hc_arg			= 0,
	.hc_ret			= 0,
	.hc_name		= "KVM_HC_VAPIC_POLL_IRQ (1)",
};
