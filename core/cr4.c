// SPDX-License-Identifier: GPL-2.0
/*
 * CR4 as the guest may have it, and machine checks that hit a guest.
 *
 * The guest owns only the CR4 bits in khyp_cr4_allowed: features whose
 * whole state is in the guest's registers and memory, or that khyp
 * switches itself.  A bit outside the set is one whose state lives in host
 * MSRs khyp never switches (CET, PKS, FRED, Key Locker, ...), or that
 * would let the guest use something khyp does not virtualize (VMXE, SMXE,
 * OSXSAVE: XSETBV gives #UD and CPUID hides XSAVE) or that khyp cannot
 * follow (LA57: the guest page walker of mmu/gwalk.c reads 4 levels).
 * Setting one gives the guest #GP(0), as a CPU without the feature
 * would, and KHYP_SET_SREGS -EINVAL.  Bits of features the host CPU lacks
 * are left out too, so the answer does not depend on the backend.
 *
 *   VME, PVI, TSD, DE, PSE, PAE, PGE, PCE, OSFXSR, OSXMMEXCPT: always
 *   MCE: always, but only in the guest's view: the real CR4.MCE stays set
 *	  while the guest runs (khyp_cr4_forced()), or a machine check in
 *	  the guest would shut the whole processor down
 *   UMIP, FSGSBASE, PCIDE, SMEP, SMAP: if the host CPU has them
 *   PKE: if the host CPU has protection keys (core/run.c switches PKRU)
 *
 * The guest's CPUID table (userspace's) is not consulted: a bit allowed
 * here is one the hardware can hold for the guest safely.
 *
 * Both backends keep the guest's view apart from the real register: VMX
 * with the CR4 guest/host mask and read shadow, SVM by intercepting CR4
 * reads and writes.
 */
#include <linux/bits.h>
#include <linux/cache.h>
#include <linux/mm.h>
#include <asm/cpufeature.h>
#include <asm/mce.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/ptrace.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>

#include "../irq/irq.h"
#include "../mmu/gwalk.h"
#include "insn.h"
#include "khyp.h"
#include "vcpu.h"

static u64 khyp_cr4_allowed __ro_after_init;
static u64 khyp_cr4_mce __ro_after_init;

/* At load time, once the backend is chosen. */
void khyp_cr4_init(void)
{
	u64 allowed = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE |
		      X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE |
		      X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;

	if (boot_cpu_has(X86_FEATURE_UMIP))
		allowed |= X86_CR4_UMIP;
	if (boot_cpu_has(X86_FEATURE_FSGSBASE))
		allowed |= X86_CR4_FSGSBASE;
	if (boot_cpu_has(X86_FEATURE_PCID))
		allowed |= X86_CR4_PCIDE;
	if (boot_cpu_has(X86_FEATURE_SMEP))
		allowed |= X86_CR4_SMEP;
	if (boot_cpu_has(X86_FEATURE_SMAP))
		allowed |= X86_CR4_SMAP;
	if (boot_cpu_has(X86_FEATURE_PKU))
		allowed |= X86_CR4_PKE;
	khyp_cr4_allowed = allowed;
	khyp_cr4_mce = cr4_read_shadow() & X86_CR4_MCE;
}

u64 khyp_cr4_guest_allowed(void)
{
	return khyp_cr4_allowed;
}

/* Bits that are set in the real CR4 while a guest runs, whatever it says. */
u64 khyp_cr4_forced(void)
{
	return khyp_cr4_mce;
}

/**
 * khyp_cr4_write_ok() - may MOV to CR4 change @old to @val?
 * @old:	the guest's CR4 now
 * @val:	the value written
 * @efer:	the guest's EFER (LMA: long mode)
 * @cr3:	the guest's CR3
 *
 * For MOV to CR4 that exits (and KHYP_SET_SREGS checks the allowed set):
 * the checks the processor makes, on top of the allowed set, so that a
 * write it would refuse changes nothing.  False means #GP(0).
 */
bool khyp_cr4_write_ok(u64 old, u64 val, u64 efer, u64 cr3)
{
	if (val & ~khyp_cr4_allowed)
		return false;
	/* Long mode needs PAE. */
	if ((efer & EFER_LMA) && !(val & X86_CR4_PAE))
		return false;
	/* PCIDE goes on only in long mode, with PCID 0 current. */
	if ((val & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) &&
	    (!(efer & EFER_LMA) || (cr3 & 0xfff)))
		return false;
	return true;
}

/**
 * khyp_host_machine_check() - a machine check stopped the guest
 *
 * The backends intercept #MC (and VMX reports one during VM entry): the
 * hardware then does not run the host's handler, so call it, with
 * interrupts still off, as if the check had hit user mode: the guest is
 * not host kernel code, so a recoverable error is handled as one in the
 * VMM's context.
 */
void khyp_host_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = {
		.cs = 3,	/* RPL 3: "user mode" for the handler */
		.flags = X86_EFLAGS_IF,
	};

	do_machine_check(&regs);
#endif
}

/* Is the guest in 64-bit mode (operands of MOV CR are 64 bits wide)? */
bool khyp_cr4_long_mode(const struct khyp_paging *p)
{
	return (p->efer & EFER_LMA) && p->cs_l;
}

/*
 * Decode MOV to or from CR@cr (0F 22 /r, 0F 20 /r), or with @dr the
 * debug register @cr (0F 23 /r, 0F 21 /r), at @bytes: legacy prefixes,
 * then in 64-bit mode REX (R extends the CR number: CR8 is REX.R with
 * ModRM.reg 0; B extends the register), the opcode and ModRM, whose mod
 * field the CPU ignores.  LOCK MOV CR0 is AMD's other encoding of MOV CR8
 * (CPUID AltMovCr8, "CR8_LEGACY"), in every mode: its CR8 exits carry no
 * register without decode assists, so the alias is decoded here (a
 * processor without it gives #UD for the LOCK before any exit, as VMX's
 * do, so no other exit finds one).  Returns the length, or 0 if more
 * bytes are needed or it is not a MOV with that register in the
 * direction of the exit (-EINVAL then in *err).
 */
static unsigned int khyp_decode_mov_cr(const u8 *bytes, unsigned int n,
				       bool long_mode, bool dr, bool write,
				       int cr, u8 *gpr, int *err)
{
	unsigned int i = 0, reg;
	bool lock = false;
	u8 rex = 0, modrm;

	*err = -EINVAL;
	for (; i < n && i < KHYP_INSN_MAX_LEN; i++) {
		switch (bytes[i]) {
		case 0xf0:
			lock = true;
			fallthrough;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
		case 0x64: case 0x65: case 0x66: case 0x67:
		case 0xf2: case 0xf3:
			rex = 0;	/* REX counts only right before 0F */
			continue;
		}
		if (long_mode && (bytes[i] & 0xf0) == 0x40) {
			rex = bytes[i];
			continue;
		}
		break;
	}
	if (i + 3 > n) {
		*err = i + 3 > KHYP_INSN_MAX_LEN ? -EINVAL : -ENODATA;
		return 0;
	}
	modrm = bytes[i + 2];
	reg = ((modrm >> 3) & 7) | ((rex & 0x04) << 1);
	if (lock && !dr && reg == 0)
		reg = 8;	/* CR8_LEGACY */
	if (bytes[i] != 0x0f ||
	    bytes[i + 1] != (write ? 0x22 : 0x20) + dr || reg != cr)
		return 0;
	*gpr = (modrm & 7) | ((rex & 0x01) << 3);
	*err = 0;
	return i + 3;
}

/**
 * khyp_mov_cr_decode() - fetch and decode a MOV CR or MOV DR at CS:RIP
 * @vcpu:	the vCPU, its registers current
 * @p:		its paging state (->get_paging)
 * @dr:		a debug register rather than a control register
 * @write:	MOV to the register (else from it)
 * @cr:		the register the exit named
 * @gpr:	out: the general register
 * @len:	out: the instruction's length
 *
 * Return: 0, or -errno if the bytes cannot be read or are not that MOV.
 */
int khyp_mov_cr_decode(struct khyp_vcpu *vcpu, const struct khyp_paging *p,
		       bool dr, bool write, int cr, u8 *gpr, u8 *len)
{
	u8 bytes[KHYP_INSN_MAX_LEN];
	int n, r;

	n = khyp_guest_fetch_insn(vcpu, p, bytes);
	if (n < 0)
		return n;
	*len = khyp_decode_mov_cr(bytes, n, khyp_cr4_long_mode(p), dr, write,
				  cr, gpr, &r);
	return r;
}

/**
 * khyp_mov_cr_failed() - a MOV CR or MOV DR that could not be read or
 *			  decoded: an emulation error with RIP, for userspace
 * @vcpu:	the vCPU
 * @exit:	the exit
 *
 * Return: 0, to stop the run loop.
 */
int khyp_mov_cr_failed(struct khyp_vcpu *vcpu, const struct khyp_exit *exit)
{
	struct khyp_run *run = vcpu->run;

	run->exit_reason = KHYP_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KHYP_INTERNAL_EMULATION;
	run->internal.hw_exit_code = exit->hw_code;
	run->internal.ndata = 1;
	run->internal.data[0] = vcpu->regs.rip;
	return 0;
}

/* MOV to @cr of @val: would the processor take it?  False means #GP(0). */
static bool khyp_cr_write_ok(int cr, const struct khyp_paging *p, u64 val)
{
	switch (cr) {
	case 0:
		return !(val >> 32) &&
		       !((val & X86_CR0_NW) && !(val & X86_CR0_CD));
	case 4:
		return khyp_cr4_write_ok(p->cr4, val, p->efer, p->cr3);
	case 8:
		return !(val & ~0xfULL);
	}
	return false;
}

/**
 * khyp_cr_emulate() - a KHYP_X_CR exit: MOV to or from a control register
 * @vcpu:	the vCPU
 * @exit:	the exit
 *
 * The same for both backends: the value is checked here (a write the
 * processor would refuse gives #GP(0) and changes nothing), the backend
 * applies it (->set_cr, ->get_cr), and RIP moves past the instruction
 * when the backend says it is complete.  Which accesses exit is the
 * backend's (core/khyp.h).  Outside 64-bit mode the operand is 32 bits.
 * In a VM with an irqchip CR8 is the local APIC's TPR (bits 7:4,
 * irq/lapic.c), not the backend's: a write changes the PPR at once, so
 * an interrupt it lets through is delivered at the next entry.
 * Returns 1 to go on, 0 with an internal error if the instruction could
 * not be read or decoded.
 */
int khyp_cr_emulate(struct khyp_vcpu *vcpu, const struct khyp_exit *exit)
{
	bool write = exit->cr.write;
	u8 gpr = exit->cr.gpr, len = exit->insn_len;
	int cr = exit->cr.cr;
	struct khyp_paging p;
	u64 *reg, val;
	bool long_mode;

	khyp_backend->get_paging(vcpu, &p);
	long_mode = khyp_cr4_long_mode(&p);
	if (!exit->cr.decoded &&
	    ((cr != 4 && cr != 8) ||
	     khyp_mov_cr_decode(vcpu, &p, false, write, cr, &gpr, &len))) {
		return khyp_mov_cr_failed(vcpu, exit);
	}
	reg = &vcpu->regs.gpr[gpr];
	if (!write) {
		if (cr == 8 && vcpu->lapic)
			val = khyp_lapic_get_cr8(vcpu);
		else
			val = khyp_backend->get_cr(vcpu, cr);
		*reg = long_mode ? val : (u32)val;
		vcpu->regs.rip += len;
		return 1;
	}
	val = long_mode ? *reg : (u32)*reg;
	if (!khyp_cr_write_ok(cr, &p, val)) {
		khyp_irq_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	if (cr == 8 && vcpu->lapic) {
		khyp_lapic_set_cr8(vcpu, val);
		vcpu->regs.rip += len;
		return 1;
	}
	if (khyp_backend->set_cr(vcpu, cr, val))
		vcpu->regs.rip += len;
	return 1;
}
