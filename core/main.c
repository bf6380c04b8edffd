// SPDX-License-Identifier: GPL-2.0
/*
 * khyp: a small type-2 hypervisor as a loadable module.
 *
 * This file is where it starts: module load picks the hardware backend
 * (VMX or SVM) whose probe accepts this CPU, makes sure no other hypervisor
 * owns the hardware, turns virtualization on for every CPU (core/hw.c) and
 * registers /dev/khyp (core/dev.c).  Unload undoes it in reverse order.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/init.h>

#include "khyp.h"
#include "stats.h"
#include "../balloon/balloon.h"
#include "../mmu/zeropool.h"

const struct khyp_backend_ops *khyp_backend __read_mostly;
struct khyp_caps khyp_caps __read_mostly;

static const struct khyp_backend_ops *const khyp_backends[] = {
	&khyp_vmx_ops,
	&khyp_svm_ops,
};

/*
 * Another in-kernel hypervisor.  Since 6.12 KVM turns VMX/SVM on when its
 * vendor module loads, which the backends' cpu_enable() sees (-EBUSY).  Up
 * to 6.11 it does so only while a VM exists, so check for the module too:
 * kvm.ko is loaded only on behalf of kvm_intel or kvm_amd.
 */
static bool khyp_kvm_is_loaded(void)
{
	void *sym = __symbol_get("kvm_init");

	if (!sym)
		return false;
	__symbol_put("kvm_init");
	return true;
}

static int khyp_select_backend(void)
{
	unsigned int i;
	int r;

	for (i = 0; i < ARRAY_SIZE(khyp_backends); i++) {
		r = khyp_backends[i]->probe(&khyp_caps);
		if (r == -ENOENT)	/* not this vendor's extension */
			continue;
		if (r)
			return r;	/* present but unusable, logged */
		khyp_backend = khyp_backends[i];
		/* The core's, on every backend (irq/, balloon/). */
		khyp_caps.features |= KHYP_CAP_IRQCHIP | KHYP_CAP_BALLOON_PAGES |
				       KHYP_CAP_BALLOON_PRESSURE_MAX;
		return 0;
	}
	pr_err("this CPU has neither VMX (Intel VT-x) nor SVM (AMD-V)\n");
	return -ENODEV;
}

static int __init khyp_init(void)
{
	int r;

	r = khyp_select_backend();
	if (r)
		return r;
	khyp_cr4_init();

	if (khyp_kvm_is_loaded()) {
		pr_err("KVM is loaded and owns %s: unload kvm_intel/kvm_amd and kvm first\n",
		       khyp_backend->name);
		return -EBUSY;
	}

	if (khyp_backend->setup) {
		r = khyp_backend->setup();
		if (r)
			return r;
	}

	r = khyp_hw_enable_all();
	if (r)
		goto teardown;

	r = khyp_vm_init();
	if (r)
		goto disable;
	r = khyp_zeropool_module_init();
	if (r)
		goto vm_exit;
	r = khyp_balloon_module_init();
	if (r)
		goto zeropool_exit;
	khyp_stats_init();
	preempt_notifier_inc();

	r = khyp_dev_register();
	if (r)
		goto balloon_exit;

	pr_info("%s backend ready on %u CPUs (features %#llx)\n",
		khyp_backend->name, num_online_cpus(), khyp_caps.features);
	return 0;

balloon_exit:
	preempt_notifier_dec();
	khyp_stats_exit();
	khyp_balloon_module_exit();
zeropool_exit:
	khyp_zeropool_module_exit();
vm_exit:
	khyp_vm_exit();
disable:
	khyp_hw_disable_all();
teardown:
	if (khyp_backend->teardown)
		khyp_backend->teardown();
	return r;
}

static void __exit khyp_exit(void)
{
	khyp_dev_unregister();
	preempt_notifier_dec();
	khyp_stats_exit();
	khyp_balloon_module_exit();
	khyp_zeropool_module_exit();
	khyp_vm_exit();
	khyp_hw_disable_all();
	if (khyp_backend->teardown)
		khyp_backend->teardown();
}

module_init(khyp_init);
module_exit(khyp_exit);

MODULE_DESCRIPTION("khyp: a small, readable type-2 hypervisor (VMX/EPT and SVM/NPT)");
MODULE_AUTHOR("The khyp developers");
MODULE_LICENSE("GPL");
/* MODULE_VERSION: core/version.c */
