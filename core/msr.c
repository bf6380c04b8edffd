// SPDX-License-Identifier: GPL-2.0
/*
 * The model-specific registers a guest has.
 *
 * Every RDMSR and WRMSR of the guest exits (both backends deny all MSRs in
 * their permission bitmaps) and lands here.  The set below is what a guest
 * kernel needs to run in long mode with SYSCALL/SYSENTER; the values live
 * in the backend's hardware state (VMCB or VMCS), so the core checks and
 * the backend stores.  An MSR outside the set, or a value it cannot hold,
 * gives the guest #GP, as a CPU without it would; userspace sees the same
 * set through KHYP_GET_MSRS/KHYP_SET_MSRS.  In a VM with an irqchip,
 * IA32_APIC_BASE and the x2APIC MSRs go to the local APIC first
 * (irq/lapic.c); userspace does not reach them yet.
 *
 * A few MSRs exist only for guests that read them without a fault handler
 * (Linux's rdmsr() rather than rdmsr_safe()) and find nothing to do in
 * the value; they read a constant and are not state, so KHYP_GET_MSRS
 * does not list them:
 *
 *   MSR_K8_INT_PENDING_MSG (0xc0010055), on a vCPU whose CPUID says
 *   AuthenticAMD: Linux reads it on AMD family 0xf and 0x10 (erratum 400,
 *   arch_post_acpi_subsys_init()) to see whether C1E is on.  Reads 0 (no
 *   C1E), writes are ignored.  On other vendors it is #GP, as on Intel.
 *
 *   MSR_IA32_MISC_ENABLE (0x1a0), on a vCPU whose CPUID says GenuineIntel:
 *   Linux's startup_64 (verify_cpu) reads it with no IDT yet, to clear
 *   XD_DISABLE, on family 6 model 0xd and later: a #GP there was a triple
 *   fault before the kernel's first line, on every Intel host.  Then
 *   early_init_intel() reads it for fast strings.  Reads FAST_STRING
 *   (REP MOVS/STOS run on the host's CPU as they are), BTS_UNAVAIL and
 *   PEBS_UNAVAIL (khyp has no branch trace store or PEBS), none of the
 *   bits that limit CPUID or disable XD, MONITOR (hidden) or SpeedStep; a
 *   write of that value is taken, any other is #GP.
 *
 *   MSR_IA32_UCODE_REV (0x8b), GenuineIntel: early_init_intel() writes 0,
 *   runs CPUID and reads the microcode revision (EDX) with neither access
 *   checked.  Reads revision 1 (KHYP_UCODE_REV), writes are ignored.  On
 *   AMD the index is the patch level, which Linux reads with
 *   rdmsr_safe(): #GP there as before.
 */
#include <linux/lockdep.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "../irq/irq.h"
#include "vcpu.h"

static const u32 khyp_msrs[] = {
	MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_IA32_CR_PAT, MSR_IA32_TSC,
};

#define KHYP_EFER_ALLOWED	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)

#define KHYP_MISC_ENABLE	(MSR_IA32_MISC_ENABLE_FAST_STRING | \
				 MSR_IA32_MISC_ENABLE_BTS_UNAVAIL | \
				 MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL)
#define KHYP_UCODE_REV		BIT_ULL(32)	/* EDX: the revision */

bool khyp_msr_known(u32 index)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(khyp_msrs); i++)
		if (khyp_msrs[i] == index)
			return true;
	return false;
}

/* 48-bit canonical: bits 63:47 all equal. */
static bool khyp_canonical(u64 addr)
{
	return ((s64)addr << 16 >> 16) == (s64)addr;
}

static bool khyp_pat_ok(u64 pat)
{
	unsigned int i;
	u8 type;

	for (i = 0; i < 8; i++) {
		type = pat >> (8 * i);
		if (type == 2 || type == 3 || type > 7)
			return false;
	}
	return true;
}

/* 0 if @data is a value MSR @index can hold, else -EINVAL. */
int khyp_msr_check(u32 index, u64 data)
{
	switch (index) {
	case MSR_EFER:
		return data & ~KHYP_EFER_ALLOWED ? -EINVAL : 0;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		return khyp_canonical(data) ? 0 : -EINVAL;
	case MSR_SYSCALL_MASK:
		return data >> 32 ? -EINVAL : 0;
	case MSR_IA32_SYSENTER_CS:
		return data > 0xffff ? -EINVAL : 0;
	case MSR_IA32_CR_PAT:
		return khyp_pat_ok(data) ? 0 : -EINVAL;
	case MSR_STAR:
	case MSR_IA32_TSC:
		return 0;
	default:
		return -EINVAL;
	}
}

/* Vendor strings of CPUID leaf 0, in EBX, EDX, ECX. */
static const u32 khyp_vendor_amd[3] = { 0x68747541, 0x69746e65, 0x444d4163 };
static const u32 khyp_vendor_intel[3] = { 0x756e6547, 0x49656e69, 0x6c65746e };

/* Does the vCPU's CPUID leaf 0 name @vendor? */
static bool khyp_vcpu_vendor(const struct khyp_vcpu *vcpu, const u32 *vendor)
{
	const struct khyp_cpuid_entry *e;
	unsigned int i;

	lockdep_assert_held(&vcpu->mutex);
	for (i = 0; i < vcpu->cpuid.nent; i++) {
		e = &vcpu->cpuid.entries[i];
		if (e->function == 0)
			return e->ebx == vendor[0] && e->edx == vendor[1] &&
			       e->ecx == vendor[2];
	}
	return false;
}

/*
 * True if @index is one of the constant MSRs above for this vCPU, with
 * *@val what it reads.
 */
static bool khyp_msr_const(struct khyp_vcpu *vcpu, u32 index, u64 *val)
{
	switch (index) {
	case MSR_K8_INT_PENDING_MSG:
		*val = 0;
		return khyp_vcpu_vendor(vcpu, khyp_vendor_amd);
	case MSR_IA32_MISC_ENABLE:
		*val = KHYP_MISC_ENABLE;
		return khyp_vcpu_vendor(vcpu, khyp_vendor_intel);
	case MSR_IA32_UCODE_REV:
		*val = KHYP_UCODE_REV;
		return khyp_vcpu_vendor(vcpu, khyp_vendor_intel);
	default:
		return false;
	}
}

/*
 * The guest's WRMSR to EFER, as the processor takes it: LMA is read-only
 * (the processor's result of LME and CR0.PG, which a write leaves as it
 * is), and LME cannot change while paging is on.  Returns false for #GP;
 * else *@data is what EFER becomes.  KHYP_SET_MSRS instead refuses an
 * EFER that does not fit CR0 and CR4 (core/state.c).
 */
static bool khyp_efer_write(struct khyp_vcpu *vcpu, u64 *data)
{
	struct khyp_paging p;

	khyp_backend->get_paging(vcpu, &p);
	*data = (*data & ~(u64)EFER_LMA) | (p.efer & EFER_LMA);
	return !((p.cr0 & X86_CR0_PG) && ((*data ^ p.efer) & EFER_LME));
}

/*
 * The guest executed RDMSR (@write false) or WRMSR.  Returns true if it
 * was emulated, false if the guest must get #GP.
 */
bool khyp_msr_emulate(struct khyp_vcpu *vcpu, bool write)
{
	u64 *gpr = vcpu->regs.gpr;
	u32 index = gpr[KHYP_RCX];
	u64 data;
	int r;

	/* IA32_APIC_BASE and the x2APIC MSRs, with an irqchip (irq/lapic.c). */
	data = (gpr[KHYP_RDX] << 32) | (u32)gpr[KHYP_RAX];
	r = khyp_lapic_msr(vcpu, index, write, &data);
	if (r != -ENOENT) {
		if (!r)
			khyp_irq_count_x2apic(vcpu, index, write);
		if (!r && !write) {
			gpr[KHYP_RAX] = (u32)data;
			gpr[KHYP_RDX] = data >> 32;
		}
		return !r;
	}
	if (khyp_msr_const(vcpu, index, &data)) {
		if (write)	/* MISC_ENABLE takes only its own value */
			return index != MSR_IA32_MISC_ENABLE ||
			       ((gpr[KHYP_RDX] << 32) | (u32)gpr[KHYP_RAX]) == data;
		gpr[KHYP_RAX] = (u32)data;
		gpr[KHYP_RDX] = data >> 32;
		return true;
	}
	if (!khyp_msr_known(index))
		return false;
	if (write) {
		data = (gpr[KHYP_RDX] << 32) | (u32)gpr[KHYP_RAX];
		if (khyp_msr_check(index, data))
			return false;
		if (index == MSR_EFER && !khyp_efer_write(vcpu, &data))
			return false;
		khyp_backend->set_msr(vcpu, index, data);
	} else {
		data = khyp_backend->get_msr(vcpu, index);
		gpr[KHYP_RAX] = (u32)data;
		gpr[KHYP_RDX] = data >> 32;
	}
	return true;
}
