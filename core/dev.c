// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/khyp: the misc device and the ioctls on it.
 *
 * Every ioctl validates its argument completely before acting: flags and
 * reserved fields must be zero (-EINVAL), unknown numbers give -ENOTTY.
 * The structures are in uapi/linux/khyp.h and documented in docs/api.md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "khyp.h"

static long khyp_ioctl_get_caps(struct khyp_caps __user *argp)
{
	struct khyp_caps caps;

	if (copy_from_user(&caps, argp, sizeof(caps)))
		return -EFAULT;
	if (caps.flags || caps.reserved0 ||
	    memchr_inv(caps.reserved, 0, sizeof(caps.reserved)))
		return -EINVAL;

	caps = khyp_caps;
	if (copy_to_user(argp, &caps, sizeof(caps)))
		return -EFAULT;
	return 0;
}

static long khyp_dev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case KHYP_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return KHYP_API_VERSION;
	case KHYP_GET_CAPS:
		return khyp_ioctl_get_caps(argp);
	case KHYP_CREATE_VM:
		if (arg)
			return -EINVAL;
		return khyp_vm_create();
	default:
		return -ENOTTY;
	}
}

static const struct file_operations khyp_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= khyp_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice khyp_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "khyp",
	.fops	= &khyp_dev_fops,
	.mode	= 0660,
};

int khyp_dev_register(void)
{
	return misc_register(&khyp_miscdev);
}

void khyp_dev_unregister(void)
{
	misc_deregister(&khyp_miscdev);
}
