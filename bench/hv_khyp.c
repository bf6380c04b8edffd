// SPDX-License-Identifier: GPL-2.0
/*
 * The hypervisor layer over /dev/khyp (uapi/linux/khyp.h, docs/api.md):
 * only the raw ioctls.  Guest memory belongs to the module and is mapped
 * from the VM fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/khyp.h>
#include <linux/khyp_balloon.h>

#include "bench.h"
#include "hv_khyp.h"

#define NSLOTS	4

struct hv_vm {
	int fd;
	struct { void *hva; uint64_t size; } slots[NSLOTS];
};

struct hv_vcpu {
	int fd;
	struct khyp_run *run;
};

static int khyp_dev = -1;

static int khyp_open(void)
{
	khyp_dev = open("/dev/khyp", O_RDWR | O_CLOEXEC);
	return khyp_dev < 0 ? -1 : 0;
}

static struct hv_vm *khyp_vm_create(void)
{
	struct hv_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->fd = ioctl(khyp_dev, KHYP_CREATE_VM, 0);
	if (vm->fd < 0) {
		free(vm);
		return NULL;
	}
	return vm;
}

static int khyp_mem_del(struct hv_vm *vm, int slot)
{
	struct khyp_mem_region r = { .slot = slot };

	if (vm->slots[slot].hva)
		munmap(vm->slots[slot].hva, vm->slots[slot].size);
	vm->slots[slot].hva = NULL;
	return ioctl(vm->fd, KHYP_SET_MEM_REGION, &r);
}

static void khyp_vm_destroy(struct hv_vm *vm)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		if (vm->slots[i].hva)
			munmap(vm->slots[i].hva, vm->slots[i].size);
	close(vm->fd);
	free(vm);
}

static void *khyp_mem_add(struct hv_vm *vm, int slot, uint64_t gpa,
			  uint64_t size)
{
	struct khyp_mem_region r = {
		.slot = slot, .guest_phys_addr = gpa, .size = size,
	};
	void *hva;

	if (slot >= NSLOTS || vm->slots[slot].hva) {
		errno = EEXIST;
		return NULL;
	}
	if (ioctl(vm->fd, KHYP_SET_MEM_REGION, &r))
		return NULL;
	hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->fd, gpa);
	if (hva == MAP_FAILED) {
		int e = errno;

		r.size = 0;
		ioctl(vm->fd, KHYP_SET_MEM_REGION, &r);
		errno = e;
		return NULL;
	}
	vm->slots[slot].hva = hva;
	vm->slots[slot].size = size;
	return hva;
}

static struct hv_vcpu *khyp_vcpu_create(struct hv_vm *vm, int id)
{
	struct hv_vcpu *vcpu = calloc(1, sizeof(*vcpu));

	if (!vcpu)
		return NULL;
	vcpu->fd = ioctl(vm->fd, KHYP_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		goto free;
	vcpu->run = mmap(NULL, KHYP_RUN_SIZE, PROT_READ | PROT_WRITE,
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

static void khyp_vcpu_destroy(struct hv_vcpu *vcpu)
{
	munmap(vcpu->run, KHYP_RUN_SIZE);
	close(vcpu->fd);
	free(vcpu);
}

static void khyp_seg(struct khyp_segment *k, const struct hv_seg *s)
{
	*k = (struct khyp_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.type = s->type, .present = s->present, .dpl = s->dpl,
		.db = s->db, .s = s->s, .l = s->l, .g = s->g,
	};
}

static int khyp_set_state(struct hv_vcpu *vcpu, const struct hv_state *st)
{
	struct khyp_sregs s;
	struct khyp_regs r = { 0 };

	if (ioctl(vcpu->fd, KHYP_GET_SREGS, &s))
		return -1;
	khyp_seg(&s.cs, &st->cs);
	khyp_seg(&s.ds, &st->ds);
	s.es = s.fs = s.gs = s.ss = s.ds;
	khyp_seg(&s.tr, &st->tr);
	s.ldt = (struct khyp_segment){ .type = 2, .present = 1,
				       .limit = 0xffff };
	s.gdt.base = st->gdt_base;
	s.gdt.limit = st->gdt_limit;
	s.idt.base = st->idt_base;
	s.idt.limit = st->idt_limit;
	s.cr0 = st->cr0;
	s.cr3 = st->cr3;
	s.cr4 = st->cr4;
	s.efer = st->efer;
	if (ioctl(vcpu->fd, KHYP_SET_SREGS, &s))
		return -1;
	r.rip = st->rip;
	r.rsp = st->rsp;
	r.rflags = st->rflags;
	r.rdi = st->rdi;
	r.rsi = st->rsi;
	return ioctl(vcpu->fd, KHYP_SET_REGS, &r);
}

static int khyp_run(struct hv_vcpu *vcpu, struct hv_exit *ex)
{
	struct khyp_run *run = vcpu->run;

	if (ioctl(vcpu->fd, KHYP_RUN, 0))
		return -1;
	switch (run->exit_reason) {
	case KHYP_EXIT_IO:
		ex->kind = HV_EXIT_IO;
		ex->write = run->io.direction == KHYP_IO_OUT;
		ex->port = run->io.port;
		ex->size = run->io.size;
		ex->data = run->io.data;
		return 0;
	case KHYP_EXIT_MMIO:
		ex->kind = HV_EXIT_MMIO;
		ex->write = run->mmio.is_write;
		ex->addr = run->mmio.phys_addr;
		ex->size = run->mmio.size;
		ex->data = run->mmio.data;
		return 0;
	case KHYP_EXIT_HLT:
		ex->kind = HV_EXIT_HLT;
		return 0;
	case KHYP_EXIT_IRQ_WINDOW_OPEN:
		ex->kind = HV_EXIT_IRQ_WINDOW;
		return 0;
	case KHYP_EXIT_INTERNAL_ERROR:
		ex->kind = HV_EXIT_OTHER;
		snprintf(ex->what, sizeof(ex->what),
			 "internal error %u, hw exit 0x%llx, data 0x%llx 0x%llx 0x%llx",
			 run->internal.suberror,
			 (unsigned long long)run->internal.hw_exit_code,
			 (unsigned long long)run->internal.data[0],
			 (unsigned long long)run->internal.data[1],
			 (unsigned long long)run->internal.data[2]);
		return 0;
	default:
		ex->kind = HV_EXIT_OTHER;
		snprintf(ex->what, sizeof(ex->what), "exit reason %u",
			 run->exit_reason);
		return 0;
	}
}

static void khyp_complete_read(struct hv_vcpu *vcpu, uint64_t value)
{
	if (vcpu->run->exit_reason == KHYP_EXIT_IO)
		vcpu->run->io.data = value;
	else
		vcpu->run->mmio.data = value;
}

static bool khyp_irq_ready(struct hv_vcpu *vcpu)
{
	return vcpu->run->ready_for_interrupt;
}

static void khyp_request_irq_window(struct hv_vcpu *vcpu, bool on)
{
	vcpu->run->request_interrupt_window = on;
}

static int khyp_inject_irq(struct hv_vcpu *vcpu, uint8_t vector)
{
	struct khyp_event ev = {
		.type = KHYP_EVENT_INTERRUPT, .vector = vector,
	};

	return ioctl(vcpu->fd, KHYP_INJECT_EVENT, &ev);
}

static int khyp_create_irqchip(struct hv_vm *vm)
{
	struct khyp_create_irqchip arg = { 0 };

	return ioctl(vm->fd, KHYP_CREATE_IRQCHIP, &arg);
}

/* An AP that waits for a SIPI starts at KHYP_SET_SREGS: nothing to do. */
static int khyp_vcpu_runnable(struct hv_vcpu *vcpu)
{
	(void)vcpu;
	return 0;
}

/* ---- khyp only: the balloon ---- */

int khyp_set_balloon(struct hv_vm *vm, uint64_t pages)
{
	struct khyp_balloon_target t = { .pages = pages };

	return ioctl(vm->fd, KHYP_SET_BALLOON, &t);
}

int khyp_get_balloon(struct hv_vm *vm, struct khyp_balloon_stats *st)
{
	return ioctl(vm->fd, KHYP_GET_BALLOON, st);
}

/*
 * The in-kernel hypercall: the balloon's PROBE (docs/balloon.md), the
 * cheapest call khyp answers without leaving the kernel; it returns the
 * protocol version.
 */
const struct hv_ops hv_khyp_ops = {
	.name			= "khyp",
	.open			= khyp_open,
	.vm_create		= khyp_vm_create,
	.vm_destroy		= khyp_vm_destroy,
	.mem_add		= khyp_mem_add,
	.mem_del		= khyp_mem_del,
	.vcpu_create		= khyp_vcpu_create,
	.vcpu_destroy		= khyp_vcpu_destroy,
	.set_state		= khyp_set_state,
	.run			= khyp_run,
	.complete_read		= khyp_complete_read,
	.irq_ready		= khyp_irq_ready,
	.request_irq_window	= khyp_request_irq_window,
	.inject_irq		= khyp_inject_irq,
	.create_irqchip		= khyp_create_irqchip,
	.vcpu_runnable		= khyp_vcpu_runnable,
	.hc_nr			= KHYP_HC_BALLOON_PROBE,
	.hc_arg			= KHYP_BALLOON_VERSION,
	.hc_ret			= KHYP_BALLOON_VERSION,
	.hc_name		= "balloon PROBE (0x10000)",
};
