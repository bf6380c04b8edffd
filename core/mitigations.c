// SPDX-License-Identifier: GPL-2.0
/*
 * Branch-predictor isolation between VMs: an IBPB whenever a CPU starts
 * running a vCPU of another VM than the last one it ran.
 *
 * Guests of different VMs do not trust each other; a guest that trains
 * the indirect branch predictor could steer the speculation of the next
 * guest on the same CPU (Spectre v2 across guests).  The host kernel
 * already issues IBPB between user processes that need it; khyp does the
 * same between VMs.  vCPUs of one VM share a trust domain: no barrier
 * between them.  indirect_branch_prediction_barrier() is patched to
 * nothing when the host does not use IBPB (CPU without it, or
 * spectre_v2_user=off), so this follows the host's own mitigation state.
 *
 * VMs are told apart by vm->gen, a 64-bit count that is never reused
 * (not the 32-bit id, which a user creating 2^32 VMs could make collide
 * with a victim's), so a freed VM's number cannot alias a new VM's.  0
 * is no VM's: the first vCPU a CPU runs always gets the barrier.
 */
#include <linux/percpu.h>
#include <asm/nospec-branch.h>

#include "mitigations.h"
#include "vcpu.h"
#include "vm.h"

static DEFINE_PER_CPU(u64, khyp_last_vm_gen);

/* @vcpu is being loaded on @cpu (the calling CPU); preemption is off. */
void khyp_spec_vcpu_load(struct khyp_vcpu *vcpu, int cpu)
{
	u64 *last = per_cpu_ptr(&khyp_last_vm_gen, cpu);

	if (*last == vcpu->vm->gen)
		return;
	*last = vcpu->vm->gen;
	indirect_branch_prediction_barrier();
}
