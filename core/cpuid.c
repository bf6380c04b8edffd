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
 *
 * Time: the guest's TSC runs at the host's rate (an offset only, see
 * struct khyp_vm), so its frequency is the host's tsc_khz and the guest
 * need not calibrate it.  It is given where guests look: the invariant
 * bit (0x80000007 EDX, when the host's TSC is constant and does not stop
 * in deep C-states), the timing leaf 0x40000010 that hypervisors offer
 * (EAX the TSC in kHz, EBX the local APIC's bus clock in kHz), and, on
 * Intel hosts, leaves 0x15 and 0x16.  Leaf 0x15 names a 1 GHz crystal,
 * which is the in-kernel APIC's timer clock (irq/lapic.c): Linux takes
 * the APIC timer's rate from it as well, and trusts the TSC's rate it
 * gives for good (no refinement), so 0x15 has a ratio only when Linux
 * computes the rate from it to within 1 ppm (khyp_tsc_ratio()); else it
 * is empty and Linux starts from 0x16's MHz and refines that against
 * its other clocks.  Basic leaves between 2 and
 * 0x14 are then empty (all zero: no cache, topology, PMU or extended
 * feature information).
 */
#include <linux/string.h>
#include <asm/cpufeatures.h>
#include <asm/processor.h>
#include <asm/tsc.h>

#include "vcpu.h"

#define KHYP_CPUID_SIG_EBX	0x7079684b	/* "Khyp" */
#define KHYP_CPUID_SIG_LEAF	0x40000000
#define KHYP_CPUID_TIMING_LEAF	0x40000010
#define KHYP_APIC_BUS_KHZ	1000000U	/* irq/lapic.c: 1 ns per tick */
#define KHYP_INVARIANT_TSC	BIT(8)		/* 0x80000007 EDX */

/*
 * Leaf 0x15's ratio for a TSC of @khz: TSC = crystal * EBX / EAX.  Linux
 * computes it in 32 bits with the crystal in kHz (native_calibrate_tsc()),
 * so EBX may be at most 2^32 / 10^6 = 4294 with the 1 GHz crystal (khz
 * itself as EBX over 10^6 overflowed there: a Linux guest on vmx-bochs'
 * 40 MHz TSC found 1.344 MHz; docs/linux.md, "The clock").  The ratio
 * under that bound whose 32-bit result is closest to @khz, and that
 * result's distance from it in kHz: 0 for the rates a crystal makes
 * (40,000 kHz is 1/25, 2,952,000 kHz 369/125) and for 60% of 2,000
 * random rates between 1 and 5 GHz, at most 1 ppm for 95% of them, but
 * up to ~117 ppm near simple fractions of 1 GHz (2,999,712 kHz gets 3/1,
 * 96 ppm off).  The search stops at an exact ratio.
 */
static u32 khyp_tsc_ratio(u32 khz, u32 *num, u32 *den)
{
	u32 n, d, d0, got, err, best = U32_MAX;

	for (n = 1; n <= U32_MAX / KHYP_APIC_BUS_KHZ && best; n++) {
		d0 = KHYP_APIC_BUS_KHZ * n / khz;
		for (d = max(d0, 1U); d <= d0 + 1; d++) {
			got = KHYP_APIC_BUS_KHZ * n / d;
			err = got > khz ? got - khz : khz - got;
			if (err < best) {
				best = err;
				*num = n;
				*den = d;
			}
		}
	}
	return best;
}

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
	u32 eax, ebx, ecx, edx, max_ext, fn, max_basic = 1;
	u32 khz = tsc_khz, num = 0, den = 0;	/* one read of tsc_khz */
	bool intel_tsc = khz && boot_cpu_data.x86_vendor == X86_VENDOR_INTEL;

	memset(t, 0, sizeof(*t));

	cpuid(0, &eax, &ebx, &ecx, &edx);
	if (intel_tsc)
		max_basic = 0x16;
	khyp_cpuid_add(t, 0, max_basic, ebx, ecx, edx);

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
		/* Its timer's TSC-deadline mode needs the TSC's rate. */
		if (khz)
			ecx |= khyp_cpuid_bit(X86_FEATURE_TSC_DEADLINE_TIMER);
	}
	khyp_cpuid_add(t, 1, eax, ebx, ecx, edx);

	/*
	 * TSC = crystal * EBX / EAX: a 1 GHz crystal (ECX, in Hz) and
	 * khyp_tsc_ratio()'s ratio, if Linux gets the rate to 1 ppm from it;
	 * else all zero.  0x16: the base and maximum frequency and the bus
	 * (reference) clock, in MHz.
	 */
	if (intel_tsc) {
		if (khyp_tsc_ratio(khz, &num, &den) > khz / 1000000) {
			num = 0;
			den = 0;
		}
		khyp_cpuid_add(t, 0x15, den, num,
			       num ? KHYP_APIC_BUS_KHZ * 1000 : 0, 0);
		khyp_cpuid_add(t, 0x16, khz / 1000, khz / 1000,
			       KHYP_APIC_BUS_KHZ / 1000, 0);
	}

	khyp_cpuid_add(t, KHYP_CPUID_SIG_LEAF, KHYP_CPUID_TIMING_LEAF,
		       KHYP_CPUID_SIG_EBX, KHYP_CPUID_SIG_EBX,
		       KHYP_CPUID_SIG_EBX);
	khyp_cpuid_add(t, KHYP_CPUID_TIMING_LEAF, khz, KHYP_APIC_BUS_KHZ,
		       0, 0);

	max_ext = min(cpuid_eax(0x80000000), 0x80000008U);
	if (max_ext < 0x80000000)
		return;
	for (fn = 0x80000000; fn <= max_ext; fn++) {
		cpuid(fn, &eax, &ebx, &ecx, &edx);
		if (fn == 0x80000000)
			eax = max_ext;
		if (fn == 0x80000001) {
			/*
			 * CR8_LEGACY: LOCK MOV CR0 as CR8 in 32-bit code,
			 * which the core's MOV CR decoder does not take.
			 */
			ecx &= ~(khyp_cpuid_bit(X86_FEATURE_SVM) |
				 khyp_cpuid_bit(X86_FEATURE_CR8_LEGACY) |
				 khyp_cpuid_bit(X86_FEATURE_SKINIT) |
				 khyp_cpuid_bit(X86_FEATURE_WDT) |
				 khyp_cpuid_bit(X86_FEATURE_XOP) |
				 khyp_cpuid_bit(X86_FEATURE_FMA4) |
				 khyp_cpuid_bit(X86_FEATURE_MWAITX));
			edx &= ~khyp_cpuid_bit(X86_FEATURE_RDTSCP);
		}
		/*
		 * Power management: only the invariant TSC, when the host
		 * kernel trusts its own (P-state and boost bits would send
		 * a guest to MSRs it does not have).
		 */
		if (fn == 0x80000007) {
			eax = 0;
			ebx = 0;
			ecx = 0;
			edx = 0;
			if (boot_cpu_has(X86_FEATURE_CONSTANT_TSC) &&
			    boot_cpu_has(X86_FEATURE_NONSTOP_TSC))
				edx = KHYP_INVARIANT_TSC;
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
