// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU object and its file descriptor.
 *
 * KHYP_CREATE_VCPU on a VM fd makes a struct khyp_vcpu and returns an fd
 * for it.  The fd carries the vCPU's ioctls (run, registers, MSRs, CPUID,
 * events) and maps, at offset 0, the struct khyp_run page through which a
 * run reports its exit, so that one run costs one ioctl.
 *
 * Lifetime: the vCPU holds a reference on its VM, and the VM keeps a
 * pointer to each vCPU (vm->vcpus[], under vm->lock) for TLB shootdowns.
 * Closing the vCPU fd removes it from the VM and frees it; the VM goes
 * when its fd and all its vCPUs are gone, in whatever order.
 *
 * Every ioctl takes vcpu->mutex, so the core and the backend see one
 * caller at a time; a second thread calling KHYP_RUN waits (killably).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>

#include "../irq/irq.h"
#include "compat.h"
#include "khyp.h"
#include "stats.h"
#include "vcpu.h"
#include "vm.h"

/* uapi order of struct khyp_regs <-> encoding order of regs.gpr[]. */
static const u8 khyp_uapi_gpr[KHYP_NR_GPRS] = {
	KHYP_RAX, KHYP_RBX, KHYP_RCX, KHYP_RDX,
	KHYP_RSI, KHYP_RDI, KHYP_RSP, KHYP_RBP,
	KHYP_R8, KHYP_R9, KHYP_R10, KHYP_R11,
	KHYP_R12, KHYP_R13, KHYP_R14, KHYP_R15,
};

/* RFLAGS bits that are reserved (must be 0) on every x86-64 CPU. */
#define KHYP_RFLAGS_RESERVED	(GENMASK_ULL(63, 22) | BIT(15) | BIT(5) | \
				 BIT(3))

static void khyp_vcpu_get_regs(struct khyp_vcpu *vcpu, struct khyp_regs *r)
{
	u64 *out = (u64 *)r;
	unsigned int i;

	for (i = 0; i < KHYP_NR_GPRS; i++)
		out[i] = vcpu->regs.gpr[khyp_uapi_gpr[i]];
	r->rip = vcpu->regs.rip;
	r->rflags = vcpu->regs.rflags;
}

static int khyp_vcpu_set_regs(struct khyp_vcpu *vcpu,
			      const struct khyp_regs *r)
{
	const u64 *in = (const u64 *)r;
	unsigned int i;

	if (r->rflags & KHYP_RFLAGS_RESERVED)
		return -EINVAL;
	for (i = 0; i < KHYP_NR_GPRS; i++)
		vcpu->regs.gpr[khyp_uapi_gpr[i]] = in[i];
	vcpu->regs.rip = r->rip;
	vcpu->regs.rflags = r->rflags | X86_EFLAGS_FIXED;
	vcpu->state_unchecked = true;
	return 0;
}

/* A real-mode segment as INIT and SIPI leave it: limit 64 KiB, present. */
static void khyp_real_segment(struct khyp_segment *seg, u16 sel, u64 base,
			      u8 type)
{
	memset(seg, 0, sizeof(*seg));
	seg->selector = sel;
	seg->base = base;
	seg->limit = 0xffff;
	seg->type = type;
	seg->present = 1;
	seg->s = 1;
}

/**
 * khyp_vcpu_init_reset() - what INIT does to a processor
 * @vcpu:	the vCPU, by its own thread (@vcpu->mutex held, in KHYP_RUN)
 *
 * The state of SDM Vol 3 table 9-1 for INIT: real mode at F000:FFF0
 * with CS.base FFFF0000, CR0 60000010, CR2-CR4 and EFER 0, general
 * registers 0 but RDX (family, model, stepping), RFLAGS 2; events that
 * were waiting are dropped, and the local APIC is reset but keeps its
 * ID (irq/lapic.c).  The segment and control registers reach the
 * hardware through the backend's set_sregs, as KHYP_SET_SREGS does.
 * The debug registers are reset as the table says (core/dr.c).
 * Unchanged, as INIT leaves them: the x87/SSE/AVX state, the MSRs and
 * the guest's CPUID table.
 */
void khyp_vcpu_init_reset(struct khyp_vcpu *vcpu)
{
	struct khyp_sregs s;

	lockdep_assert_held(&vcpu->mutex);
	memset(&s, 0, sizeof(s));
	khyp_real_segment(&s.cs, 0xf000, 0xffff0000, 0xb);	/* code, RX */
	khyp_real_segment(&s.ds, 0, 0, 3);			/* data, RW */
	khyp_real_segment(&s.es, 0, 0, 3);
	khyp_real_segment(&s.fs, 0, 0, 3);
	khyp_real_segment(&s.gs, 0, 0, 3);
	khyp_real_segment(&s.ss, 0, 0, 3);
	khyp_real_segment(&s.tr, 0, 0, 11);			/* busy TSS */
	s.tr.s = 0;
	khyp_real_segment(&s.ldt, 0, 0, 2);			/* LDT */
	s.ldt.s = 0;
	s.gdt.limit = 0xffff;
	s.idt.limit = 0xffff;
	s.cr0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET;		/* 60000010 */
	khyp_backend->set_sregs(vcpu, &s);

	memset(&vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs.gpr[KHYP_RDX] = cpuid_eax(1);
	vcpu->regs.rip = 0xfff0;
	vcpu->regs.rflags = X86_EFLAGS_FIXED;

	khyp_dr_reset(vcpu);
	memset(&vcpu->events, 0, sizeof(vcpu->events));
	vcpu->injecting = NULL;
	/* No instruction is at this RIP: the next entry ends any shadow. */
	vcpu->shadow_rip = U64_MAX;
	vcpu->pending = KHYP_PENDING_NONE;
	khyp_lapic_init(vcpu);
}

/**
 * khyp_vcpu_sipi_start() - a SIPI starts a vCPU that waits for one
 * @vcpu:	the vCPU, by its own thread, after khyp_vcpu_init_reset()
 * @vector:	the SIPI's vector: the vCPU starts at vector << 12, real mode
 */
void khyp_vcpu_sipi_start(struct khyp_vcpu *vcpu, u8 vector)
{
	struct khyp_sregs s;

	lockdep_assert_held(&vcpu->mutex);
	memset(&s, 0, sizeof(s));
	khyp_backend->get_sregs(vcpu, &s);
	khyp_real_segment(&s.cs, (u16)vector << 8, (u64)vector << 12, 0xb);
	khyp_backend->set_sregs(vcpu, &s);
	vcpu->regs.rip = 0;
}

static bool khyp_segment_ok(const struct khyp_segment *s)
{
	return !s->padding && s->type < 16 && s->present <= 1 && s->dpl < 4 &&
	       s->db <= 1 && s->s <= 1 && s->l <= 1 && s->g <= 1 &&
	       s->avl <= 1 && s->unusable <= 1;
}

static int khyp_sregs_check(const struct khyp_sregs *s)
{
	const struct khyp_segment *segs[] = {
		&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(segs); i++)
		if (!khyp_segment_ok(segs[i]))
			return -EINVAL;
	if (memchr_inv(s->gdt.padding, 0, sizeof(s->gdt.padding)) ||
	    memchr_inv(s->idt.padding, 0, sizeof(s->idt.padding)) ||
	    memchr_inv(s->reserved, 0, sizeof(s->reserved)))
		return -EINVAL;
	/* Values only the hardware could hold: reject before it does. */
	if (s->cr0 >> 32 || s->cr8 > 15 ||
	    s->cr3 >> boot_cpu_data.x86_phys_bits)
		return -EINVAL;
	/* What the guest could not set itself (core/cr4.c). */
	if (s->cr4 & ~khyp_cr4_guest_allowed())
		return -EINVAL;
	if (khyp_msr_check(MSR_EFER, s->efer))
		return -EINVAL;
	/* A mode no processor can be in (core/state.c). */
	return khyp_mode_check(s->cr0, s->cr4, s->efer);
}

static int khyp_msrs_check(struct khyp_vcpu *vcpu, const struct khyp_msrs *m,
			   bool set)
{
	const struct khyp_msr_entry *e;
	struct khyp_paging p;
	unsigned int i;

	if (!m->nmsrs || m->nmsrs > KHYP_MAX_MSRS || m->flags)
		return -EINVAL;
	for (i = 0; i < m->nmsrs; i++) {
		e = &m->entries[i];
		if (e->reserved || !khyp_msr_known(e->index))
			return -EINVAL;
		if (!set)
			continue;
		if (khyp_msr_check(e->index, e->data))
			return -EINVAL;
		/* EFER with the vCPU's CR0 and CR4 (core/state.c). */
		if (e->index == MSR_EFER) {
			khyp_backend->get_paging(vcpu, &p);
			if (khyp_mode_check(p.cr0, p.cr4, e->data))
				return -EINVAL;
		}
	}
	return 0;
}

static long khyp_vcpu_ioctl_msrs(struct khyp_vcpu *vcpu, void __user *argp,
				 bool set)
{
	struct khyp_msrs *m;
	unsigned int i;
	long r;

	m = memdup_user(argp, sizeof(*m));
	if (IS_ERR(m))
		return PTR_ERR(m);
	r = khyp_msrs_check(vcpu, m, set);
	if (r)
		goto out;
	if (set)
		vcpu->state_unchecked = true;
	for (i = 0; i < m->nmsrs; i++) {
		if (set)
			khyp_backend->set_msr(vcpu, m->entries[i].index,
					      m->entries[i].data);
		else
			m->entries[i].data =
				khyp_backend->get_msr(vcpu, m->entries[i].index);
	}
	if (!set && copy_to_user(argp, m, sizeof(*m)))
		r = -EFAULT;
out:
	kfree(m);
	return r;
}

static long khyp_vcpu_ioctl_set_cpuid(struct khyp_vcpu *vcpu,
				      void __user *argp)
{
	struct khyp_cpuid *table;
	long r;

	table = memdup_user(argp, sizeof(*table));
	if (IS_ERR(table))
		return PTR_ERR(table);
	r = khyp_cpuid_check(table);
	if (!r)
		vcpu->cpuid = *table;
	kfree(table);
	return r;
}

static long khyp_vcpu_ioctl_locked(struct khyp_vcpu *vcpu, unsigned int cmd,
				   unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	union {
		struct khyp_regs regs;
		struct khyp_sregs sregs;
		struct khyp_event event;
	} u;
	long r;

	switch (cmd) {
	case KHYP_GET_REGS:
		khyp_vcpu_get_regs(vcpu, &u.regs);
		return copy_to_user(argp, &u.regs, sizeof(u.regs)) ? -EFAULT : 0;
	case KHYP_SET_REGS:
		if (copy_from_user(&u.regs, argp, sizeof(u.regs)))
			return -EFAULT;
		return khyp_vcpu_set_regs(vcpu, &u.regs);
	case KHYP_GET_SREGS:
		memset(&u.sregs, 0, sizeof(u.sregs));
		khyp_backend->get_sregs(vcpu, &u.sregs);
		/* With an irqchip CR8 is the local APIC's TPR (irq/lapic.c). */
		if (vcpu->lapic)
			u.sregs.cr8 = khyp_lapic_get_cr8(vcpu);
		return copy_to_user(argp, &u.sregs, sizeof(u.sregs)) ?
		       -EFAULT : 0;
	case KHYP_SET_SREGS:
		if (copy_from_user(&u.sregs, argp, sizeof(u.sregs)))
			return -EFAULT;
		r = khyp_sregs_check(&u.sregs);
		if (r)
			return r;
		khyp_backend->set_sregs(vcpu, &u.sregs);
		vcpu->state_unchecked = true;
		/* Only a new class: TPR bits 3:0 stay, as a round trip keeps them. */
		if (vcpu->lapic && u.sregs.cr8 != khyp_lapic_get_cr8(vcpu))
			khyp_lapic_set_cr8(vcpu, u.sregs.cr8);
		/* Userspace started this AP itself (core/vcpu.h). */
		if (vcpu->power == KHYP_POWER_WAIT_SIPI)
			vcpu->power = KHYP_POWER_RUNNABLE;
		return 0;
	case KHYP_GET_MSRS:
		return khyp_vcpu_ioctl_msrs(vcpu, argp, false);
	case KHYP_SET_MSRS:
		return khyp_vcpu_ioctl_msrs(vcpu, argp, true);
	case KHYP_GET_CPUID:
		return copy_to_user(argp, &vcpu->cpuid, sizeof(vcpu->cpuid)) ?
		       -EFAULT : 0;
	case KHYP_SET_CPUID:
		return khyp_vcpu_ioctl_set_cpuid(vcpu, argp);
	case KHYP_INJECT_EVENT:
		if (copy_from_user(&u.event, argp, sizeof(u.event)))
			return -EFAULT;
		return khyp_irq_queue(vcpu, &u.event);
	default:
		return -ENOTTY;
	}
}

static long khyp_vcpu_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct khyp_vcpu *vcpu = file->private_data;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	/*
	 * KHYP_RUN apart: the other commands' buffer on the stack is
	 * zeroed at each call (CONFIG_INIT_STACK_ALL_ZERO), 304 bytes that
	 * every exit to userspace paid for nothing.
	 */
	if (cmd == KHYP_RUN)
		r = arg ? -EINVAL : khyp_vcpu_run(vcpu);
	else
		r = khyp_vcpu_ioctl_locked(vcpu, cmd, arg);
	mutex_unlock(&vcpu->mutex);
	return r;
}

static vm_fault_t khyp_vcpu_fault(struct vm_fault *vmf)
{
	struct khyp_vcpu *vcpu = vmf->vma->vm_file->private_data;

	/* Only the creator's mm (a mapping MADV_DOFORK let a child inherit). */
	if (vmf->pgoff || vmf->vma->vm_mm != vcpu->vm->mm)
		return VM_FAULT_SIGBUS;
	vmf->page = virt_to_page(vcpu->run);
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct khyp_vcpu_vm_ops = {
	.fault = khyp_vcpu_fault,
};

static int khyp_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct khyp_vcpu *vcpu = file->private_data;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (!(vma->vm_flags & VM_SHARED) || vma->vm_pgoff ||
	    vma_pages(vma) != KHYP_RUN_SIZE / PAGE_SIZE)
		return -EINVAL;
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &khyp_vcpu_vm_ops;
	return 0;
}

static void khyp_vcpu_free(struct khyp_vcpu *vcpu)
{
	khyp_lapic_destroy(vcpu);
	khyp_backend->vcpu_destroy(vcpu);
	fpu_free_guest_fpstate(&vcpu->fpu);
	free_page((unsigned long)vcpu->run);
	mutex_destroy(&vcpu->mutex);
	/* RCU readers (khyp_vcpu_kick()) may still look at mode and cpu. */
	kfree_rcu(vcpu, rcu);
}

static int khyp_vcpu_release(struct inode *inode, struct file *file)
{
	struct khyp_vcpu *vcpu = file->private_data;
	struct khyp_vm *vm = vcpu->vm;

	khyp_stats_vcpu_remove(vcpu);
	mutex_lock(&vm->lock);
	RCU_INIT_POINTER(vm->vcpus[vcpu->id], NULL);
	mutex_unlock(&vm->lock);
	khyp_vcpu_free(vcpu);
	khyp_vm_put(vm);
	return 0;
}

static const struct file_operations khyp_vcpu_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= khyp_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= khyp_vcpu_mmap,
	.release	= khyp_vcpu_release,
	.llseek		= noop_llseek,
};

/**
 * khyp_vcpu_create() - KHYP_CREATE_VCPU: a new vCPU, returned as an fd
 * @vm:	the VM
 * @id:	0 .. KHYP_MAX_VCPUS - 1, unused in @vm
 */
int khyp_vcpu_create(struct khyp_vm *vm, unsigned long id)
{
	struct khyp_vcpu *vcpu;
	struct file *file;
	bool irqchip;
	int fd, r;

	if (id >= KHYP_MAX_VCPUS)
		return -EINVAL;
	/* No speculative index past vm->vcpus[] either (Spectre v1). */
	id = array_index_nospec(id, KHYP_MAX_VCPUS);

	/* From now on the VM's irqchip (or its absence) is final. */
	mutex_lock(&vm->lock);
	vm->vcpu_created = true;
	irqchip = vm->irqchip;
	mutex_unlock(&vm->lock);

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->cpu = -1;
	mutex_init(&vcpu->mutex);
	khyp_vcpu_preempt_init(vcpu);
	rcuwait_init(&vcpu->halt_wait);
	khyp_cpuid_set_default(&vcpu->cpuid, id, irqchip);
	khyp_dr_reset(vcpu);
	vcpu->tlb_gen = atomic_long_read(&vm->tlb_gen);

	r = -ENOMEM;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run)
		goto free_vcpu;
	if (!fpu_alloc_guest_fpstate(&vcpu->fpu))
		goto free_run;
	if (irqchip) {
		r = khyp_lapic_create(vcpu);
		if (r)
			goto free_fpu;
		/* The APs of a PC wait for INIT and SIPI (core/vcpu.h). */
		if (id)
			vcpu->power = KHYP_POWER_WAIT_SIPI;
	}
	r = khyp_backend->vcpu_create(vcpu);
	if (r)
		goto free_lapic;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto destroy_backend;
	}

	mutex_lock(&vm->lock);
	if (rcu_access_pointer(vm->vcpus[id])) {
		r = -EEXIST;
		goto unlock_put_fd;
	}
	/* The file's release undoes all of this, and drops the VM. */
	file = anon_inode_getfile("khyp-vcpu", &khyp_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		goto unlock_put_fd;
	}
	khyp_vm_get(vm);
	rcu_assign_pointer(vm->vcpus[id], vcpu);
	mutex_unlock(&vm->lock);

	khyp_stats_vcpu_add(vcpu);
	fd_install(fd, file);
	return fd;

unlock_put_fd:
	mutex_unlock(&vm->lock);
	put_unused_fd(fd);
destroy_backend:
	khyp_backend->vcpu_destroy(vcpu);
free_lapic:
	khyp_lapic_destroy(vcpu);
free_fpu:
	fpu_free_guest_fpstate(&vcpu->fpu);
free_run:
	free_page((unsigned long)vcpu->run);
free_vcpu:
	mutex_destroy(&vcpu->mutex);
	kfree(vcpu);
	return r;
}
