// SPDX-License-Identifier: GPL-2.0
/*
 * The subsystems registered with the core (core/subsys.h).
 *
 * Lock rules: the table is written only at module load and unload
 * (khyp_subsys_register() before /dev/khyp exists,
 * khyp_subsys_unregister() after it is gone and every VM with it, since
 * each VM file holds a module reference), so it is read without a lock
 * by VM creation, VM release and hypercalls.  Nothing else may change it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <uapi/linux/khyp.h>

#include "subsys.h"

#define KHYP_MAX_SUBSYS	4

static const struct khyp_subsys *khyp_subsys[KHYP_MAX_SUBSYS];
static unsigned int khyp_nr_subsys;

/* Module load, before /dev/khyp is registered. */
int khyp_subsys_register(const struct khyp_subsys *s)
{
	const struct khyp_subsys *o;
	unsigned int i;

	if (WARN_ON_ONCE(khyp_nr_subsys == KHYP_MAX_SUBSYS))
		return -ENOSPC;
	if (s->hypercall) {
		if (WARN_ON_ONCE(s->hc_first < KHYP_HC_USER_LIMIT ||
				 s->hc_last < s->hc_first))
			return -EINVAL;
		for (i = 0; i < khyp_nr_subsys; i++) {
			o = khyp_subsys[i];
			if (WARN_ON_ONCE(o->hypercall &&
					 s->hc_first <= o->hc_last &&
					 o->hc_first <= s->hc_last))
				return -EEXIST;
		}
	}
	khyp_subsys[khyp_nr_subsys++] = s;
	return 0;
}

/* Module unload, after /dev/khyp and every VM are gone; the last first. */
void khyp_subsys_unregister(const struct khyp_subsys *s)
{
	if (WARN_ON_ONCE(!khyp_nr_subsys || khyp_subsys[khyp_nr_subsys - 1] != s))
		return;
	khyp_subsys[--khyp_nr_subsys] = NULL;
}

/* KHYP_CREATE_VM: every subsystem's part, in registration order. */
int khyp_subsys_vm_create(struct khyp_vm *vm)
{
	unsigned int i;
	int r;

	for (i = 0; i < khyp_nr_subsys; i++) {
		if (!khyp_subsys[i]->vm_create)
			continue;
		r = khyp_subsys[i]->vm_create(vm);
		if (r)
			goto undo;
	}
	return 0;

undo:
	while (i--)
		if (khyp_subsys[i]->vm_destroy)
			khyp_subsys[i]->vm_destroy(vm);
	return r;
}

/* The VM's last reference went: in the reverse order. */
void khyp_subsys_vm_destroy(struct khyp_vm *vm)
{
	unsigned int i = khyp_nr_subsys;

	while (i--)
		if (khyp_subsys[i]->vm_destroy)
			khyp_subsys[i]->vm_destroy(vm);
}

/**
 * khyp_subsys_hypercall() - one of khyp's own hypercalls
 * @vcpu:	the caller, at CPL 0
 * @nr:		the number, >= KHYP_HC_USER_LIMIT
 * @arg0:	RBX
 * @arg1:	RCX
 *
 * Return: the value for RAX: the subsystem's answer, or -KHYP_HC_ENOSYS
 * if no subsystem answers @nr.
 */
s64 khyp_subsys_hypercall(struct khyp_vcpu *vcpu, u64 nr, u64 arg0, u64 arg1)
{
	const struct khyp_subsys *s;
	unsigned int i;

	for (i = 0; i < khyp_nr_subsys; i++) {
		s = khyp_subsys[i];
		if (s->hypercall && nr >= s->hc_first && nr <= s->hc_last)
			return s->hypercall(vcpu, nr, arg0, arg1);
	}
	return -KHYP_HC_ENOSYS;
}
