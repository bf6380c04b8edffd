/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host's speculative-execution mitigations at the points where khyp
 * switches between a guest and the host (core/mitigations.c and the
 * inline hooks below; the backends' own ones are in vmx/l1d.c,
 * vmx/entry.S and svm/entry.S).  docs/security.md lists them all.
 */
#ifndef KHYP_CORE_MITIGATIONS_H
#define KHYP_CORE_MITIGATIONS_H

#include <linux/percpu.h>
#include <asm/cpufeature.h>
#include <asm/nospec-branch.h>

struct khyp_vcpu;

void khyp_spec_vcpu_load(struct khyp_vcpu *vcpu, int cpu);

/*
 * VMSCAPE: a guest may have trained the branch predictors against the
 * host's userspace (the VMM).  Where the host kernel says the CPU is
 * affected, it issues an IBPB on this CPU's next return to user mode if
 * asked here.  Called after every guest run, before preemption is
 * enabled again, so the mark lands on the CPU that ran the guest.
 */
static __always_inline void khyp_spec_after_guest(void)
{
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);
}

#endif /* KHYP_CORE_MITIGATIONS_H */
