// SPDX-License-Identifier: GPL-2.0
/*
 * Turning hardware virtualization on and off on every CPU.
 *
 * khyp keeps VMX (VMXON) or SVM (EFER.SVME) on for every online CPU while
 * the module is loaded.  The backend knows how; this file knows when:
 *  - at load, and when a CPU comes online (CPU-hotplug callbacks);
 *  - off when a CPU goes offline, at unload, on suspend, on reboot/kexec
 *    (reboot notifier), and on a crash or emergency reboot (the kernel's
 *    emergency-virt callback, which may run in NMI context).
 *
 * Each CPU gets zeroed pages for the hardware to hold while it is on
 * (the VMXON region, or the SVM host save area and VMSAVE area), allocated
 * here for every possible CPU before any is turned on and freed after all
 * are off.
 *
 * Locking: khyp_cpu_on is per CPU and only changed by its own CPU with
 * interrupts off, so a reboot IPI or a crash NMI never sees it half done.
 * khyp_hw_going_away is set once, by the reboot notifier or the emergency
 * callback, before they turn virtualization off: it stops CPUs that come
 * online later from turning it back on, stops vCPUs from entering the
 * guest again (core/run.c checks it with interrupts off, so the reboot IPI
 * cannot come between the check and the entry), and tells the backend's
 * exception fixups that a VMX or SVM instruction faulting now is expected
 * (svm/entry.S, svm/run.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/smp.h>
#include <linux/syscore_ops.h>

#include "compat.h"
#include "khyp.h"

static DEFINE_PER_CPU(bool, khyp_cpu_on);
static DEFINE_PER_CPU(struct page *, khyp_cpu_area);
bool khyp_hw_going_away;
static int khyp_cpuhp_state;

static int khyp_cpu_enable_this(void)
{
	unsigned long flags;
	int r = 0;

	local_irq_save(flags);
	if (!__this_cpu_read(khyp_cpu_on) && !READ_ONCE(khyp_hw_going_away)) {
		r = khyp_backend->cpu_enable(__this_cpu_read(khyp_cpu_area));
		if (!r)
			__this_cpu_write(khyp_cpu_on, true);
	}
	local_irq_restore(flags);
	return r;
}

static void khyp_cpu_disable_this(void *unused)
{
	unsigned long flags;

	local_irq_save(flags);
	if (__this_cpu_read(khyp_cpu_on)) {
		khyp_backend->cpu_disable();
		__this_cpu_write(khyp_cpu_on, false);
	}
	local_irq_restore(flags);
}

/* Crash or emergency reboot: NMI context, other CPUs may be stuck. */
static void khyp_emergency_disable(void)
{
	WRITE_ONCE(khyp_hw_going_away, true);
	if (raw_cpu_read(khyp_cpu_on)) {
		khyp_backend->cpu_disable();
		raw_cpu_write(khyp_cpu_on, false);
	}
}

static int khyp_cpu_online(unsigned int cpu)
{
	int r = khyp_cpu_enable_this();

	if (r == -EBUSY)
		pr_err("CPU %u: %s is already in use by another hypervisor\n",
		       cpu, khyp_backend->name);
	else if (r)
		pr_err("CPU %u: cannot turn %s on (%d)\n",
		       cpu, khyp_backend->name, r);
	return r;
}

static int khyp_cpu_offline(unsigned int cpu)
{
	khyp_cpu_disable_this(NULL);
	return 0;
}

static int khyp_reboot(struct notifier_block *nb, unsigned long code,
		       void *unused)
{
	WRITE_ONCE(khyp_hw_going_away, true);
	on_each_cpu(khyp_cpu_disable_this, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block khyp_reboot_nb = {
	.notifier_call = khyp_reboot,
};

/* Suspend and resume run on the last CPU, the others are offline already. */
static int khyp_suspend(KHYP_SYSCORE_ARGS)
{
	khyp_cpu_disable_this(NULL);
	return 0;
}

static void khyp_resume(KHYP_SYSCORE_ARGS)
{
	if (khyp_cpu_enable_this())
		pr_err("CPU %d: cannot turn %s back on after resume\n",
		       smp_processor_id(), khyp_backend->name);
}

KHYP_DEFINE_SYSCORE(khyp_syscore, khyp_suspend, khyp_resume);

/*
 * The calling CPU's area, for a backend that keeps more than the hardware
 * page in it (SVM: the host state VMSAVE stores).  Preemption must be off.
 */
struct page *khyp_hw_this_cpu_area(void)
{
	return __this_cpu_read(khyp_cpu_area);
}

static void khyp_free_cpu_areas(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (per_cpu(khyp_cpu_area, cpu))
			__free_pages(per_cpu(khyp_cpu_area, cpu),
				     khyp_backend->cpu_area_order);
		per_cpu(khyp_cpu_area, cpu) = NULL;
	}
}

static int khyp_alloc_cpu_areas(void)
{
	struct page *page;
	int cpu;

	for_each_possible_cpu(cpu) {
		page = alloc_pages_node(cpu_to_node(cpu),
					GFP_KERNEL | __GFP_ZERO,
					khyp_backend->cpu_area_order);
		if (!page) {
			khyp_free_cpu_areas();
			return -ENOMEM;
		}
		per_cpu(khyp_cpu_area, cpu) = page;
	}
	return 0;
}

/**
 * khyp_hw_enable_all() - turn virtualization on for every online CPU
 *
 * Also on every CPU that comes online later.  On failure nothing is left
 * on and -EBUSY tells that another hypervisor holds the hardware.
 */
int khyp_hw_enable_all(void)
{
	int r;

	r = khyp_alloc_cpu_areas();
	if (r)
		return r;

	khyp_register_emergency_cb(khyp_emergency_disable);
	r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "khyp:online",
			      khyp_cpu_online, khyp_cpu_offline);
	if (r < 0)
		goto unregister_emergency;
	khyp_cpuhp_state = r;

	r = register_reboot_notifier(&khyp_reboot_nb);
	if (r)
		goto remove_cpuhp;
	khyp_register_syscore(&khyp_syscore);
	return 0;

remove_cpuhp:
	cpuhp_remove_state(khyp_cpuhp_state);
unregister_emergency:
	khyp_unregister_emergency_cb(khyp_emergency_disable);
	khyp_free_cpu_areas();
	return r;
}

void khyp_hw_disable_all(void)
{
	khyp_unregister_syscore(&khyp_syscore);
	unregister_reboot_notifier(&khyp_reboot_nb);
	/* Calls khyp_cpu_offline() on every online CPU. */
	cpuhp_remove_state(khyp_cpuhp_state);
	khyp_unregister_emergency_cb(khyp_emergency_disable);
	khyp_free_cpu_areas();
}
