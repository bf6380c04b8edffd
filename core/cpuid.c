// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID, answered in the kernel from a per-vCPU table.
 *
 * Userspace owns the table (KHYP_SET_CPUID) and the guest gets exactly
 * what it says.  A new vCPU starts with a default derived from the host:
 * the leaves a simple guest looks at, with what khyp does not virtualize
 * hidden (VMX, SVM, XSAVE and AVX, MONITOR; the APIC and x2APIC unless
 * the VM has an irqchip, whose local APIC provides both), the
 * "running under a hypervisor" bit set, and khyp's signature at
 * 0x40000000 so that a guest can find the hypercall interface.
 */
#include <linux/string.h>
#include <asm/cpufeatures.h>
#include <asm/processor.h>

#include "vcpu.h"

#define KHYP_CPUID_SIG_EBX	0x7079684b	/* "Khyp" */
#define KHYP_CPUID_SIG_LEAF	0x40000000

static void khyp_cpuid_add(struct khyp_cpuid *t, u32 function, u32 eax,
			   u32 ebx, u32 ecx, u32 edx)
{
	struct khyp_cpuid_entry *e;

	if (t->nent >= KHYP_MAX_CPUID_ENTRIES)
		return;
	e = &t->entries[t->nent++];
	e->function = function;
	e->eax = eax;
	e->ebx = ebx;
	e->ecx = ecx;
	e->edx = edx;
}

void khyp_cpuid_set_default(struct khyp_cpuid *t, unsigned int apic_id,
			    bool lapic)
{
	u32 eax, ebx, ecx, edx, max_ext, fn;

	memset(t, 0, sizeof(*t));

	cpuid(0, &eax, &ebx, &ecx, &edx);
	khyp_cpuid_add(t, 0, min(eax, 1U), ebx, ecx, edx);

	cpuid(1, &eax, &ebx, &ecx, &edx);
	ebx = (ebx & 0x0000ffff) | (1U << 16) | (apic_id << 24);
	ecx &= ~(khyp_cpuid_bit(X86_FEATURE_VMX) |
		 khyp_cpuid_bit(X86_FEATURE_SMX) |
		 khyp_cpuid_bit(X86_FEATURE_MWAIT) |
		 khyp_cpuid_bit(X86_FEATURE_X2APIC) |
		 khyp_cpuid_bit(X86_FEATURE_TSC_DEADLINE_TIMER) |
		 khyp_cpuid_bit(X86_FEATURE_XSAVE) |
		 khyp_cpuid_bit(X86_FEATURE_OSXSAVE) |
		 khyp_cpuid_bit(X86_FEATURE_AVX) |
		 khyp_cpuid_bit(X86_FEATURE_F16C) |
		 khyp_cpuid_bit(X86_FEATURE_FMA) |
		 khyp_cpuid_bit(X86_FEATURE_PCID) |
		 khyp_cpuid_bit(X86_FEATURE_DTES64) |
		 khyp_cpuid_bit(X86_FEATURE_DSCPL) |
		 khyp_cpuid_bit(X86_FEATURE_EST) |
		 khyp_cpuid_bit(X86_FEATURE_TM2) |
		 khyp_cpuid_bit(X86_FEATURE_PDCM));
	ecx |= khyp_cpuid_bit(X86_FEATURE_HYPERVISOR);
	edx &= ~(khyp_cpuid_bit(X86_FEATURE_APIC) |
		 khyp_cpuid_bit(X86_FEATURE_MCE) |
		 khyp_cpuid_bit(X86_FEATURE_MCA) |
		 khyp_cpuid_bit(X86_FEATURE_MTRR) |
		 khyp_cpuid_bit(X86_FEATURE_DS) |
		 khyp_cpuid_bit(X86_FEATURE_ACPI) |
		 khyp_cpuid_bit(X86_FEATURE_ACC) |
		 khyp_cpuid_bit(X86_FEATURE_PBE));
	/* The in-kernel local APIC (irq/lapic.c), xAPIC and x2APIC. */
	if (lapic) {
		ecx |= khyp_cpuid_bit(X86_FEATURE_X2APIC);
		edx |= khyp_cpuid_bit(X86_FEATURE_APIC);
	}
	khyp_cpuid_add(t, 1, eax, ebx, ecx, edx);

	khyp_cpuid_add(t, KHYP_CPUID_SIG_LEAF, KHYP_CPUID_SIG_LEAF,
		       KHYP_CPUID_SIG_EBX, KHYP_CPUID_SIG_EBX,
		       KHYP_CPUID_SIG_EBX);

	max_ext = min(cpuid_eax(0x80000000), 0x80000008U);
	if (max_ext < 0x80000000)
		return;
	for (fn = 0x80000000; fn <= max_ext; fn++) {
		cpuid(fn, &eax, &ebx, &ecx, &edx);
		if (fn == 0x80000000)
			eax = max_ext;
		if (fn == 0x80000001) {
			ecx &= ~(khyp_cpuid_bit(X86_FEATURE_SVM) |
				 khyp_cpuid_bit(X86_FEATURE_SKINIT) |
				 khyp_cpuid_bit(X86_FEATURE_WDT) |
				 khyp_cpuid_bit(X86_FEATURE_XOP) |
				 khyp_cpuid_bit(X86_FEATURE_FMA4) |
				 khyp_cpuid_bit(X86_FEATURE_MWAITX));
			edx &= ~khyp_cpuid_bit(X86_FEATURE_RDTSCP);
		}
		khyp_cpuid_add(t, fn, eax, ebx, ecx, edx);
	}
}

int khyp_cpuid_check(const struct khyp_cpuid *t)
{
	unsigned int i;

	if (t->nent > KHYP_MAX_CPUID_ENTRIES || t->flags)
		return -EINVAL;
	for (i = 0; i < t->nent; i++)
		if (t->entries[i].reserved ||
		    (t->entries[i].flags & ~KHYP_CPUID_FLAG_INDEXED))
			return -EINVAL;
	return 0;
}

/* The guest executed CPUID: EAX and ECX select the leaf. */
void khyp_cpuid_emulate(struct khyp_vcpu *vcpu)
{
	u64 *gpr = vcpu->regs.gpr;
	u32 fn = gpr[KHYP_RAX], index = gpr[KHYP_RCX];
	const struct khyp_cpuid_entry *e;
	unsigned int i;

	gpr[KHYP_RAX] = 0;
	gpr[KHYP_RBX] = 0;
	gpr[KHYP_RCX] = 0;
	gpr[KHYP_RDX] = 0;
	for (i = 0; i < vcpu->cpuid.nent; i++) {
		e = &vcpu->cpuid.entries[i];
		if (e->function != fn ||
		    ((e->flags & KHYP_CPUID_FLAG_INDEXED) && e->index != index))
			continue;
		gpr[KHYP_RAX] = e->eax;
		gpr[KHYP_RBX] = e->ebx;
		gpr[KHYP_RCX] = e->ecx;
		gpr[KHYP_RDX] = e->edx;
		return;
	}
}
