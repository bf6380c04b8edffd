/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The narrow hooks through which the core calls a subsystem (balloon/
 * today; later the in-kernel platform devices): VM lifetime callbacks
 * and a range of khyp's own hypercall numbers.  The core names no
 * subsystem's functions on these paths; a subsystem registers one
 * struct khyp_subsys at module load (core/subsys.c).
 */
#ifndef KHYP_CORE_SUBSYS_H
#define KHYP_CORE_SUBSYS_H

#include <linux/types.h>

struct khyp_vcpu;
struct khyp_vm;

/**
 * struct khyp_subsys - what a subsystem plugs into the core
 * @name:	for log lines.
 * @vm_create:	(optional) a VM is being made: set up the subsystem's
 *		part of it.  In the creator's context (allocations are
 *		charged to it); before any vCPU exists.  A failure fails
 *		KHYP_CREATE_VM, after the subsystems set up before this
 *		one are torn down again.
 * @vm_destroy:	(optional) undo @vm_create: the last reference to the VM
 *		is gone, no vCPU is left.  Called in the reverse order.
 * @hc_first, @hc_last: the hypercall numbers the subsystem answers, an
 *		inclusive range at or above KHYP_HC_USER_LIMIT, overlapping
 *		no other subsystem's.
 * @hypercall:	(optional) a guest's hypercall in that range, from CPL 0,
 *		by the vCPU's thread (vcpu->mutex held; may sleep).
 *		Arguments are masked to 32 bits for a 32-bit caller.
 *		Returns the value for RAX.
 */
struct khyp_subsys {
	const char *name;
	int (*vm_create)(struct khyp_vm *vm);
	void (*vm_destroy)(struct khyp_vm *vm);
	u64 hc_first, hc_last;
	s64 (*hypercall)(struct khyp_vcpu *vcpu, u64 nr, u64 arg0, u64 arg1);
};

int khyp_subsys_register(const struct khyp_subsys *s);
void khyp_subsys_unregister(const struct khyp_subsys *s);
int khyp_subsys_vm_create(struct khyp_vm *vm);
void khyp_subsys_vm_destroy(struct khyp_vm *vm);
s64 khyp_subsys_hypercall(struct khyp_vcpu *vcpu, u64 nr, u64 arg0,
			  u64 arg1);

#endif /* KHYP_CORE_SUBSYS_H */
