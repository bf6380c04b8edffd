// SPDX-License-Identifier: GPL-2.0
/*
 * The VM object and its file descriptor.
 *
 * KHYP_CREATE_VM on /dev/khyp makes a struct khyp_vm and returns an fd for
 * it.  The fd carries the VM's ioctls (guest memory now; vCPUs next) and
 * maps guest memory into the caller with mmap(MAP_SHARED) at offset =
 * guest-physical address.
 *
 * Each VM file has an inode of its own, on a small internal pseudo
 * filesystem, so that its address_space holds only this VM's mappings:
 * taking one guest page back zaps exactly the userspace PTEs that map it.
 *
 * A VM is used only by the process that created it (vm->mm): another
 * process that inherits or is passed the fd gets -EIO.
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

#include "compat.h"
#include "khyp.h"
#include "../mmu/memory.h"

#define KHYP_VMFS_MAGIC	0x6b687970	/* "khyp" */

/**
 * struct khyp_vm - one virtual machine
 * @kref:	references: the VM file, later each vCPU.
 * @mm:		(c) the creating process's mm (mmgrab'ed).
 * @mem:	guest memory, with its own lock.
 *
 * (c): set at creation, constant afterwards.
 */
struct khyp_vm {
	struct kref kref;
	struct mm_struct *mm;
	struct khyp_memory mem;
};

static struct vfsmount *khyp_vmfs_mnt;

static void khyp_vm_free(struct kref *kref)
{
	struct khyp_vm *vm = container_of(kref, struct khyp_vm, kref);

	khyp_memory_destroy(&vm->mem);
	mmdrop(vm->mm);
	kfree(vm);
}

static void khyp_vm_put(struct khyp_vm *vm)
{
	kref_put(&vm->kref, khyp_vm_free);
}

static vm_fault_t khyp_vm_fault(struct vm_fault *vmf)
{
	struct khyp_vm *vm = vmf->vma->vm_file->private_data;
	struct page *page;

	page = khyp_memory_get_page(&vm->mem, vmf->pgoff, NULL);
	if (IS_ERR(page))
		return VM_FAULT_OOM;
	if (!page)		/* the region was deleted */
		return VM_FAULT_SIGBUS;
	vmf->page = page;	/* our reference goes to the PTE */
	return 0;
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
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
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

static long khyp_vm_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct khyp_vm *vm = file->private_data;
	void __user *argp = (void __user *)arg;

	if (vm->mm != current->mm)
		return -EIO;

	switch (cmd) {
	case KHYP_SET_MEM_REGION:
		return khyp_vm_ioctl_set_mem_region(vm, argp);
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

	inode = alloc_anon_inode(khyp_vmfs_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		r = PTR_ERR(inode);
		goto drop_mm;
	}
	khyp_memory_init(&vm->mem, inode->i_mapping);

	/* The file's release drops this reference (fops_put). */
	if (!try_module_get(THIS_MODULE)) {
		r = -ENOENT;
		goto put_inode;
	}
	file = alloc_file_pseudo(inode, khyp_vmfs_mnt, "khyp-vm", O_RDWR,
				 &khyp_vm_fops);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		goto put_module;
	}
	file->private_data = vm;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		fput(file);	/* releases the VM */
		return fd;
	}
	fd_install(fd, file);
	return fd;

put_module:
	module_put(THIS_MODULE);
put_inode:
	iput(inode);
	khyp_memory_destroy(&vm->mem);
drop_mm:
	mmdrop(vm->mm);
	kfree(vm);
	return r;
}

static int khyp_vmfs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, KHYP_VMFS_MAGIC) ? 0 : -ENOMEM;
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
