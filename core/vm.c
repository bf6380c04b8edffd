// SPDX-License-Identifier: GPL-2.0
/*
 * The VM object and its file descriptor.
 *
 * KHYP_CREATE_VM on /dev/khyp makes a struct khyp_vm and returns an fd for
 * it.  The fd carries the VM's ioctls (guest memory, vCPU creation) and
 * maps guest memory into the caller with mmap(MAP_SHARED) at offset =
 * guest-physical address.  The VM's second-level page tables are made
 * here too, in the backend's format, and filled on guest faults
 * (mmu/fault.c).
 *
 * Each VM file has an inode of its own, on a small internal pseudo
 * filesystem, so that its address_space holds only this VM's mappings:
 * taking one guest page back zaps exactly the userspace PTEs that map it.
 * The VM holds its own reference on that inode (vm->inode): the file goes
 * when its fd is closed, but a vCPU may keep the VM, and its balloon,
 * working long after, and every page it gives back goes through the
 * inode's address_space.  The inode points to nothing of the VM's, so
 * this reference makes no cycle.
 *
 * A VM is used only by the process that created it (vm->mm): another
 * process that inherits or is passed the fd gets -EIO from every ioctl
 * but the balloon's KHYP_SET_BALLOON and KHYP_GET_BALLOON, a child does
 * not inherit the mappings (VM_DONTCOPY), and one that gets them anyway
 * (MADV_DOFORK) gets SIGBUS on its first touch.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/tsc.h>

#include "../balloon/balloon.h"
#include "../irq/irq.h"
#include "compat.h"
#include "khyp.h"
#include "stats.h"
#include "subsys.h"
#include "vcpu.h"
#include "vm.h"

static struct vfsmount *khyp_vmfs_mnt;
static atomic_t khyp_vm_ids = ATOMIC_INIT(0);
static atomic64_t khyp_vm_gens = ATOMIC64_INIT(0);

static void khyp_vm_free(struct kref *kref)
{
	struct khyp_vm *vm = container_of(kref, struct khyp_vm, kref);

	khyp_stats_vm_remove(vm);
	khyp_subsys_vm_destroy(vm);
	khyp_irqchip_destroy(vm);
	khyp_bus_destroy(&vm->bus);
	khyp_pgtable_destroy(&vm->pt);
	khyp_memory_destroy(&vm->mem);
	iput(vm->inode);
	mutex_destroy(&vm->lock);
	mmdrop(vm->mm);
	kfree(vm);
}

void khyp_vm_get(struct khyp_vm *vm)
{
	kref_get(&vm->kref);
}

void khyp_vm_put(struct khyp_vm *vm)
{
	kref_put(&vm->kref, khyp_vm_free);
}

/* Pages left the VM (mem.lock held): drop their second-level mappings. */
static unsigned long khyp_vm_zap(struct khyp_memory *mem, u64 gfn, u64 npages)
{
	struct khyp_vm *vm = container_of(mem, struct khyp_vm, mem);

	return khyp_pgtable_unmap(&vm->pt, gfn << PAGE_SHIFT,
				  npages << PAGE_SHIFT);
}

/* After the flush, no vCPU can reach the tables the zap detached. */
static void khyp_vm_flush(struct khyp_memory *mem)
{
	struct khyp_vm *vm = container_of(mem, struct khyp_vm, mem);

	khyp_vm_flush_tlbs(vm);
	khyp_pgtable_free_detached(&vm->pt);
}

static const struct khyp_memory_ops khyp_vm_memory_ops = {
	.zap	= khyp_vm_zap,
	.flush	= khyp_vm_flush,
};

static vm_fault_t khyp_vm_fault(struct vm_fault *vmf)
{
	struct khyp_vm *vm = vmf->vma->vm_file->private_data;
	struct page *page;

	/* Only the creator's mm (a mapping MADV_DOFORK let a child inherit). */
	if (vmf->vma->vm_mm != vm->mm)
		return VM_FAULT_SIGBUS;
	page = khyp_memory_lock_page(&vm->mem, vmf->pgoff);
	if (page == ERR_PTR(-EAGAIN))	/* taken back meanwhile: fault again */
		return VM_FAULT_NOPAGE;
	if (IS_ERR(page))
		return VM_FAULT_OOM;
	if (!page)		/* the region was deleted */
		return VM_FAULT_SIGBUS;
	vmf->page = page;	/* our reference goes to the PTE */
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct khyp_vm_vm_ops = {
	.fault = khyp_vm_fault,
};

static int khyp_vm_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct khyp_vm *vm = file->private_data;

	if (vm->mm != current->mm)
		return -EIO;
	/* A private (copy-on-write) mapping would not be the guest's memory. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (!khyp_memory_range_ok(&vm->mem, vma->vm_pgoff, vma_pages(vma)))
		return -EINVAL;
	/* Not inherited by fork(): a child is not the VM's creator. */
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &khyp_vm_vm_ops;
	return 0;
}

static long khyp_vm_ioctl_set_mem_region(struct khyp_vm *vm,
					 void __user *argp)
{
	struct khyp_mem_region region;

	if (copy_from_user(&region, argp, sizeof(region)))
		return -EFAULT;
	return khyp_memory_set_region(&vm->mem, &region);
}

static long khyp_vm_ioctl_set_balloon(struct khyp_vm *vm, void __user *argp)
{
	struct khyp_balloon_target t;

	if (copy_from_user(&t, argp, sizeof(t)))
		return -EFAULT;
	return khyp_balloon_set_target(vm, &t);
}

static long khyp_vm_ioctl_get_balloon(struct khyp_vm *vm, void __user *argp)
{
	struct khyp_balloon_stats st;

	khyp_balloon_get_stats(vm, &st);
	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}

static long khyp_vm_ioctl_balloon_eventfd(struct khyp_vm *vm,
					  void __user *argp)
{
	struct khyp_balloon_eventfd e;

	if (copy_from_user(&e, argp, sizeof(e)))
		return -EFAULT;
	return khyp_balloon_set_eventfd(vm, &e);
}

static long khyp_vm_ioctl_create_irqchip(struct khyp_vm *vm,
					 void __user *argp)
{
	struct khyp_create_irqchip arg;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	return khyp_irqchip_create(vm, &arg);
}

static long khyp_vm_ioctl_irq_line(struct khyp_vm *vm, void __user *argp)
{
	struct khyp_irq_level arg;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	return khyp_irqchip_irq_line(vm, &arg);
}

static long khyp_vm_ioctl_signal_msi(struct khyp_vm *vm, void __user *argp)
{
	struct khyp_msi arg;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	return khyp_irqchip_signal_msi(vm, &arg);
}

static long khyp_vm_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct khyp_vm *vm = file->private_data;
	void __user *argp = (void __user *)arg;

	/*
	 * The balloon's target and figures touch neither the guest's memory
	 * nor the creator's mm: a process given a copy of the fd (`khyp
	 * balloon PID`, through pidfd_getfd() and so ptrace's permission)
	 * may use them.  Everything else is the creator's.
	 */
	switch (cmd) {
	case KHYP_SET_BALLOON:
		return khyp_vm_ioctl_set_balloon(vm, argp);
	case KHYP_GET_BALLOON:
		return khyp_vm_ioctl_get_balloon(vm, argp);
	}
	if (vm->mm != current->mm)
		return -EIO;

	switch (cmd) {
	case KHYP_SET_MEM_REGION:
		return khyp_vm_ioctl_set_mem_region(vm, argp);
	case KHYP_CREATE_VCPU:
		return khyp_vcpu_create(vm, arg);
	case KHYP_CREATE_IRQCHIP:
		return khyp_vm_ioctl_create_irqchip(vm, argp);
	case KHYP_IRQ_LINE:
		return khyp_vm_ioctl_irq_line(vm, argp);
	case KHYP_SIGNAL_MSI:
		return khyp_vm_ioctl_signal_msi(vm, argp);
	case KHYP_BALLOON_PAGES:
		return khyp_balloon_pages_ioctl(vm, argp);
	case KHYP_BALLOON_EVENTFD:
		return khyp_vm_ioctl_balloon_eventfd(vm, argp);
	default:
		return -ENOTTY;
	}
}

static int khyp_vm_release(struct inode *inode, struct file *file)
{
	khyp_vm_put(file->private_data);
	return 0;
}

static const struct file_operations khyp_vm_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= khyp_vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= khyp_vm_mmap,
	.release	= khyp_vm_release,
	.llseek		= noop_llseek,
};

/**
 * khyp_vm_create() - KHYP_CREATE_VM: a new VM, returned as an fd
 */
int khyp_vm_create(void)
{
	struct khyp_vm *vm;
	struct inode *inode;
	struct file *file;
	int fd, r;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	kref_init(&vm->kref);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	vm->id = atomic_inc_return(&khyp_vm_ids);
	vm->gen = atomic64_inc_return(&khyp_vm_gens);
	mutex_init(&vm->lock);
	atomic_long_set(&vm->tlb_gen, 0);
	vm->last_run = jiffies;
	vm->tsc_offset = -rdtsc();
	khyp_bus_init(&vm->bus);
	r = khyp_pgtable_init(&vm->pt, khyp_backend->pt_format);
	if (r)
		goto drop_mm;

	inode = alloc_anon_inode(khyp_vmfs_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		r = PTR_ERR(inode);
		goto free_pt;
	}
	khyp_memory_init(&vm->mem, inode->i_mapping, &khyp_vm_memory_ops);
	r = khyp_subsys_vm_create(vm);
	if (r)
		goto put_inode;
	khyp_stats_vm_add(vm);

	/* The file's release drops this reference (fops_put). */
	if (!try_module_get(THIS_MODULE)) {
		r = -ENOENT;
		goto remove_stats;
	}
	file = alloc_file_pseudo(inode, khyp_vmfs_mnt, "khyp-vm", O_RDWR,
				 &khyp_vm_fops);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		goto put_module;
	}
	file->private_data = vm;
	/* The file took the first reference; this one is the VM's. */
	ihold(inode);
	vm->inode = inode;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		fput(file);	/* releases the VM */
		return fd;
	}
	fd_install(fd, file);
	return fd;

put_module:
	module_put(THIS_MODULE);
remove_stats:
	khyp_stats_vm_remove(vm);
	khyp_subsys_vm_destroy(vm);
put_inode:
	iput(inode);
	khyp_memory_destroy(&vm->mem);
free_pt:
	khyp_pgtable_destroy(&vm->pt);
drop_mm:
	khyp_bus_destroy(&vm->bus);
	mutex_destroy(&vm->lock);
	mmdrop(vm->mm);
	kfree(vm);
	return r;
}

static int khyp_vmfs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, KHYP_VM_FS_MAGIC) ? 0 : -ENOMEM;
}

/* No .owner: the internal mount must not pin the module. */
static struct file_system_type khyp_vmfs_type = {
	.name		 = "khyp_vm",
	.init_fs_context = khyp_vmfs_init_fs_context,
	.kill_sb	 = kill_anon_super,
};

int khyp_vm_init(void)
{
	khyp_vmfs_mnt = kern_mount(&khyp_vmfs_type);
	return PTR_ERR_OR_ZERO(khyp_vmfs_mnt);
}

void khyp_vm_exit(void)
{
	kern_unmount(khyp_vmfs_mnt);
}
