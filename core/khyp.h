/* SPDX-License-Identifier: GPL-2.0 */
/*
 * khyp's internal interfaces: what the arch-neutral core (core/) expects of
 * a hardware backend (vmx/, svm/), and what the core offers to them.
 *
 * A backend owns the hardware state (later the VMCS/VMCB); the core owns
 * module lifetime, /dev/khyp and the ABI, and the one page per CPU that the
 * hardware holds while virtualization is on (VMXON region or host save
 * area).
 * Exactly one backend is selected at load time, the first whose ->probe()
 * accepts the CPU, and the rest of the module reaches it only through
 * khyp_backend (a const ops table: no backend code is called by name).
 */
#ifndef KHYP_CORE_KHYP_H
#define KHYP_CORE_KHYP_H

#include <linux/bits.h>
#include <linux/types.h>
#include <uapi/linux/khyp.h>

struct page;

/**
 * struct khyp_backend_ops - one hardware virtualization backend
 * @name:	short name, "vmx" or "svm", used in log lines.
 * @probe:	decide whether this CPU can run the backend and fill @caps.
 *		Returns 0, or -ENODEV with one log line saying what is
 *		missing.  Runs once, before anything is allocated.
 * @cpu_enable:	turn virtualization on for the calling CPU (VMXON or
 *		EFER.SVME), giving the hardware @area, a zeroed page of this
 *		CPU's that stays allocated until the CPU is disabled.  Called
 *		with interrupts off.  Returns -EBUSY if another hypervisor
 *		already has it on.
 * @cpu_disable: turn it off on the calling CPU.  Called with interrupts
 *		off, also from the reboot path: must not sleep or fail.
 */
struct khyp_backend_ops {
	const char *name;
	int (*probe)(struct khyp_caps *caps);
	int (*cpu_enable)(struct page *area);
	void (*cpu_disable)(void);
};

extern const struct khyp_backend_ops khyp_vmx_ops;
extern const struct khyp_backend_ops khyp_svm_ops;

/* A CPUID feature's bit in the register that holds it. */
#define khyp_cpuid_bit(feature)	BIT((feature) & 31)

/* Set once at load time, read-only afterwards. */
extern const struct khyp_backend_ops *khyp_backend;
extern struct khyp_caps khyp_caps;

/* core/dev.c: the /dev/khyp misc device. */
int khyp_dev_register(void);
void khyp_dev_unregister(void);

/* core/vm.c: VM objects and their files. */
int khyp_vm_init(void);
void khyp_vm_exit(void);
int khyp_vm_create(void);

/* core/hw.c: virtualization on/off on every CPU. */
int khyp_hw_enable_all(void);
void khyp_hw_disable_all(void);

#endif /* KHYP_CORE_KHYP_H */
