// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO: a guest access to guest-physical memory that is not RAM.
 *
 * The second-level fault gives the address but, on CPUs without decode
 * assists (QEMU TCG's SVM), not the size, direction or register.  So the
 * core reads the instruction at CS:RIP through the guest's page tables
 * (mmu/gwalk.c), decodes it with the shared MOV-family decoder
 * (core/insn.c), and describes the access in struct khyp_run.  A store is
 * complete at once; a load finishes at the next KHYP_RUN, when userspace
 * has put the value in run->mmio.data (khyp_mmio_complete()).  RIP moves
 * past the instruction before returning to userspace either way.
 *
 * An instruction the decoder does not know stops the vCPU with a
 * KHYP_INTERNAL_EMULATION error carrying RIP and the bytes: the guest is
 * not resumed half-emulated.
 *
 * The bytes read here need not be the instruction that faulted: another
 * vCPU may have rewritten it since, or the guest changed its page tables
 * and the CPU fetched through a stale TLB entry.  The fault's direction is
 * what the hardware checked against the guest's own permissions, so a
 * store decoded for a read fault (or a load for a write fault) is not
 * emulated: that would write through a mapping the guest made read-only,
 * or read where it only let the code write.  It is the same emulation
 * error, with nothing changed and RIP still at the instruction: userspace
 * may stop the guest or run it again, which re-executes whatever is
 * there now.  (Retrying in the kernel instead could spin for as long as
 * the guest's TLB stays stale.)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/string.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "insn.h"
#include "vcpu.h"
#include "vm.h"

static enum khyp_cpu_mode khyp_mmio_mode(const struct khyp_paging *p,
					 u64 rflags)
{
	if (!(p->cr0 & X86_CR0_PE) || (rflags & X86_EFLAGS_VM))
		return KHYP_MODE_REAL;
	if ((p->efer & EFER_LMA) && p->cs_l)
		return KHYP_MODE_LONG64;
	return p->cs_db ? KHYP_MODE_PROT32 : KHYP_MODE_PROT16;
}

static u64 khyp_ip_mask(enum khyp_cpu_mode mode)
{
	switch (mode) {
	case KHYP_MODE_LONG64:
		return U64_MAX;
	case KHYP_MODE_PROT32:
		return U32_MAX;
	default:
		return U16_MAX;
	}
}

/*
 * Fetch and decode; the instruction may cross into the next page.  In
 * 64-bit mode the CPU fetches at RIP itself: the CS base counts only in
 * the other modes.
 */
static int khyp_mmio_decode(struct khyp_vcpu *vcpu, const struct khyp_paging *p,
			    enum khyp_cpu_mode mode, u8 *bytes,
			    struct khyp_insn *insn)
{
	u64 linear = vcpu->regs.rip;
	unsigned int n;
	int r;

	if (mode != KHYP_MODE_LONG64)
		linear = (p->cs_base + linear) & U32_MAX;
	n = min_t(unsigned int, KHYP_INSN_MAX_LEN,
		  PAGE_SIZE - offset_in_page(linear));
	if (khyp_guest_read_virt(vcpu, p, linear, bytes, n))
		return -EFAULT;
	r = khyp_insn_decode(bytes, n, mode, insn);
	if (r == -ENODATA && n < KHYP_INSN_MAX_LEN) {
		if (khyp_guest_read_virt(vcpu, p, linear + n, bytes + n,
					 KHYP_INSN_MAX_LEN - n))
			return -EFAULT;
		r = khyp_insn_decode(bytes, KHYP_INSN_MAX_LEN, mode, insn);
	}
	return r;
}

static bool khyp_insn_is_store(const struct khyp_insn *insn)
{
	return insn->kind != KHYP_INSN_LOAD;
}

/* Returns 0: the exit goes to userspace (MMIO or an internal error). */
int khyp_mmio_begin(struct khyp_vcpu *vcpu, const struct khyp_exit *exit)
{
	struct khyp_run *run = vcpu->run;
	u8 bytes[16] = {};
	struct khyp_paging p;
	struct khyp_insn insn;
	enum khyp_cpu_mode mode;

	khyp_backend->get_paging(vcpu, &p);
	mode = khyp_mmio_mode(&p, vcpu->regs.rflags);
	if (khyp_mmio_decode(vcpu, &p, mode, bytes, &insn) ||
	    khyp_insn_is_store(&insn) != exit->npf.write) {
		pr_info_ratelimited("vm %u vcpu %u: cannot emulate MMIO %s of %#llx at rip %#llx (%*ph)\n",
				    vcpu->vm->id, vcpu->id,
				    exit->npf.write ? "write" : "read",
				    exit->npf.gpa, vcpu->regs.rip, 8, bytes);
		run->exit_reason = KHYP_EXIT_INTERNAL_ERROR;
		run->internal.suberror = KHYP_INTERNAL_EMULATION;
		run->internal.hw_exit_code = exit->hw_code;
		run->internal.ndata = 4;
		run->internal.data[0] = vcpu->regs.rip;
		memcpy(&run->internal.data[1], bytes, 16);
		run->internal.data[3] = exit->npf.gpa;
		return 0;
	}

	run->exit_reason = KHYP_EXIT_MMIO;
	run->mmio.phys_addr = exit->npf.gpa;
	run->mmio.size = insn.size;
	memset(run->mmio.padding, 0, sizeof(run->mmio.padding));
	if (insn.kind == KHYP_INSN_LOAD) {
		run->mmio.is_write = 0;
		run->mmio.data = 0;
		vcpu->mmio_insn = insn;
		vcpu->pending = KHYP_PENDING_MMIO_READ;
	} else {
		run->mmio.is_write = 1;
		run->mmio.data = khyp_insn_store_value(&insn, vcpu->regs.gpr[insn.reg]);
	}
	vcpu->regs.rip = (vcpu->regs.rip + insn.len) & khyp_ip_mask(mode);
	return 0;
}

/* KHYP_RUN after an MMIO read: the value goes into the register. */
void khyp_mmio_complete(struct khyp_vcpu *vcpu)
{
	const struct khyp_insn *insn = &vcpu->mmio_insn;
	u64 *reg = &vcpu->regs.gpr[insn->reg];

	*reg = khyp_insn_load_value(insn, *reg, vcpu->run->mmio.data);
}
