// SPDX-License-Identifier: GPL-2.0
/*
 * MOV to and from the debug registers (KHYP_X_DR), the same for both
 * backends: every MOV DR exits (vmx/vmx.c, svm/vmcb.c), and the values
 * live in vcpu->dr, where a guest finds again what it wrote, with the
 * fixed bits the SDM gives (Vol 3 17.2).  Linux writes DR7 and DR6
 * while it boots and reads them in its exception handlers; an unmodified
 * kernel stops at its first MOV DR if that is #UD.
 *
 * The hardware's debug registers are not loaded from these: DR7 in the
 * VMCS/VMCB stays 0x400 and DR0-DR3 stay the host's, so a guest's
 * breakpoint is kept but does not fire, and DR6 does not show what the
 * guest's own single steps set in the hardware.  Arming them needs the
 * host's DR0-DR3 saved and restored around each entry (a later change).
 *
 * Not emulated: DR7.GD (general detect, a #DB on the next MOV DR).
 */
#include <linux/kernel.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "khyp.h"
#include "vcpu.h"
#include "../irq/irq.h"

/* DR6: bits 31:16 and 11:4 read as 1, bit 12 as 0 (no TSX here). */
#define KHYP_DR6_FIXED1		0xffff0ff0ULL
/* DR6 bits a MOV can change: B0-B3, BD, BS, BT. */
#define KHYP_DR6_WRITABLE	0x0000e00fULL
/* DR7: bit 10 reads as 1; bits 11, 12, 14 and 15 as 0. */
#define KHYP_DR7_FIXED1		0x400ULL
#define KHYP_DR7_WRITABLE	0xffff23ffULL

/* The debug registers after power-on, reset and INIT (SDM table 9-1). */
void khyp_dr_reset(struct khyp_vcpu *vcpu)
{
	memset(vcpu->dr.db, 0, sizeof(vcpu->dr.db));
	vcpu->dr.dr6 = KHYP_DR6_FIXED1;
	vcpu->dr.dr7 = KHYP_DR7_FIXED1;
}

static u64 khyp_dr_get(struct khyp_vcpu *vcpu, int dr)
{
	switch (dr) {
	case 0 ... 3:
		return vcpu->dr.db[dr];
	case 6:
		return vcpu->dr.dr6;
	default:
		return vcpu->dr.dr7;
	}
}

/* False: #GP(0), nothing changed. */
static bool khyp_dr_set(struct khyp_vcpu *vcpu, int dr, u64 val)
{
	switch (dr) {
	case 0 ... 3:
		vcpu->dr.db[dr] = val;
		return true;
	case 6:
		if (val >> 32)
			return false;
		vcpu->dr.dr6 = (val & KHYP_DR6_WRITABLE) | KHYP_DR6_FIXED1;
		return true;
	default:
		if (val >> 32)
			return false;
		vcpu->dr.dr7 = (val & KHYP_DR7_WRITABLE) | KHYP_DR7_FIXED1;
		return true;
	}
}

/**
 * khyp_dr_emulate() - a KHYP_X_DR exit: MOV to or from a debug register
 * @vcpu:	the vCPU
 * @exit:	the exit (exit->cr: the register, the direction, and the
 *		general register if the backend decoded it)
 *
 * DR4 and DR5 are DR6 and DR7 unless CR4.DE is set, which makes them
 * #UD, as are DR8-DR15.  A write of a bit in 63:32 of DR6 or DR7 is
 * #GP(0).  Outside 64-bit mode the operand is 32 bits.  The CPL and
 * virtual-8086 checks are the processor's: they come before the exit.
 *
 * Return: 1 to go on, 0 with an internal error if the instruction could
 * not be read or decoded.
 */
int khyp_dr_emulate(struct khyp_vcpu *vcpu, const struct khyp_exit *exit)
{
	bool write = exit->cr.write;
	u8 gpr = exit->cr.gpr, len = exit->insn_len;
	int dr = exit->cr.cr;
	struct khyp_paging p;
	bool long_mode;
	u64 *reg, val;

	khyp_backend->get_paging(vcpu, &p);
	long_mode = khyp_cr4_long_mode(&p);
	if (!exit->cr.decoded &&
	    khyp_mov_cr_decode(vcpu, &p, true, write, dr, &gpr, &len)) {
		return khyp_mov_cr_failed(vcpu, exit);
	}
	if (dr > 7 || ((dr == 4 || dr == 5) && (p.cr4 & X86_CR4_DE))) {
		khyp_irq_queue_exception(vcpu, X86_TRAP_UD, false, 0);
		return 1;
	}
	if (dr == 4 || dr == 5)
		dr += 2;
	reg = &vcpu->regs.gpr[gpr & 0xf];
	if (!write) {
		val = khyp_dr_get(vcpu, dr);
		*reg = long_mode ? val : (u32)val;
		vcpu->regs.rip += len;
		return 1;
	}
	val = long_mode ? *reg : (u32)*reg;
	if (!khyp_dr_set(vcpu, dr, val)) {
		khyp_irq_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	vcpu->regs.rip += len;
	return 1;
}
