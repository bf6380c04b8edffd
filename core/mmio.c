// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO: a guest access to guest-physical memory that is not RAM.
 *
 * The second-level fault gives the address but, on CPUs without decode
 * assists (QEMU TCG's SVM), not the size, direction or register.  So the
 * core reads the instruction at CS:RIP through the guest's page tables
 * (mmu/gwalk.c), decodes it with the shared MOV-family decoder
 * (core/insn.c), then gives the access to the in-kernel device that
 * registered its address (core/bus.c), which completes it at once, or,
 * if none did, describes it in struct khyp_run for userspace: decode ->
 * dispatch -> complete.  A store to userspace is complete at once; a
 * load finishes at the next KHYP_RUN, when userspace has put the value
 * in run->mmio.data (khyp_mmio_complete()).  RIP moves past the
 * instruction before the guest runs on or userspace sees the exit.
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

#include "../irq/irq.h"
#include "../mmu/gwalk.h"
#include "bus.h"
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

static bool khyp_insn_is_store(const struct khyp_insn *insn)
{
	return insn->kind != KHYP_INSN_LOAD;
}

/**
 * struct khyp_mmio - one decoded MMIO access
 * @gpa:	the address.
 * @insn:	the instruction.
 * @next_rip:	RIP after it.
 * @data:	a store's value (zero-extended to 64 bits).
 */
struct khyp_mmio {
	u64 gpa;
	struct khyp_insn insn;
	u64 next_rip;
	u64 data;
};

/*
 * Step 1, decode: what the access is.  On failure the exit is an
 * emulation error for userspace, nothing changed; returns nonzero then.
 * Inlined into its one caller: a call more on every MMIO exit shows on
 * the instruction-counting Bochs clock (docs/performance.md).
 */
static __always_inline int
khyp_mmio_decode_exit(struct khyp_vcpu *vcpu, const struct khyp_exit *exit,
		      struct khyp_mmio *m)
{
	struct khyp_run *run = vcpu->run;
	u8 bytes[16] = {};
	struct khyp_paging p;
	enum khyp_cpu_mode mode;
	int n;

	khyp_backend->get_paging(vcpu, &p);
	mode = khyp_mmio_mode(&p, vcpu->regs.rflags);
	n = khyp_guest_fetch_insn(vcpu, &p, bytes);
	if (n < 0 || khyp_insn_decode(bytes, n, mode, &m->insn) ||
	    khyp_insn_is_store(&m->insn) != exit->npf.write) {
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
		return -EINVAL;
	}
	m->gpa = exit->npf.gpa;
	m->next_rip = (vcpu->regs.rip + m->insn.len) & khyp_ip_mask(mode);
	if (khyp_insn_is_store(&m->insn))
		m->data = khyp_insn_store_value(&m->insn,
						vcpu->regs.gpr[m->insn.reg]);
	return 0;
}

/* Step 3, complete a load: the value goes into the register. */
static void khyp_mmio_load(struct khyp_vcpu *vcpu,
			   const struct khyp_insn *insn, u64 data)
{
	u64 *reg = &vcpu->regs.gpr[insn->reg];

	*reg = khyp_insn_load_value(insn, *reg, data);
}

/*
 * Step 2, dispatch: the vCPU's own local APIC (its xAPIC page is where
 * this vCPU's IA32_APIC_BASE puts it, irq/lapic.c), then an in-kernel
 * device of the VM (core/bus.c), completes the access at once; returns
 * false if none claims it.
 */
static bool khyp_mmio_dispatch(struct khyp_vcpu *vcpu,
			       const struct khyp_mmio *m)
{
	struct khyp_bus *bus = &vcpu->vm->bus;
	u64 data;

	if (khyp_insn_is_store(&m->insn))
		return khyp_lapic_mmio_write(vcpu, m->gpa, m->insn.size,
					     m->data) ||
		       khyp_bus_write(vcpu, bus, KHYP_BUS_MMIO, m->gpa,
				      m->insn.size, m->data);
	if (!khyp_lapic_mmio_read(vcpu, m->gpa, m->insn.size, &data) &&
	    !khyp_bus_read(vcpu, bus, KHYP_BUS_MMIO, m->gpa, m->insn.size,
			   &data))
		return false;
	khyp_mmio_load(vcpu, &m->insn, data);
	return true;
}

/* No device in the kernel: describe the access to userspace. */
static void khyp_mmio_to_user(struct khyp_vcpu *vcpu,
			      const struct khyp_mmio *m)
{
	struct khyp_run *run = vcpu->run;

	run->exit_reason = KHYP_EXIT_MMIO;
	run->mmio.phys_addr = m->gpa;
	run->mmio.size = m->insn.size;
	memset(run->mmio.padding, 0, sizeof(run->mmio.padding));
	if (m->insn.kind == KHYP_INSN_LOAD) {
		run->mmio.is_write = 0;
		run->mmio.data = 0;
		vcpu->mmio_insn = m->insn;
		vcpu->pending = KHYP_PENDING_MMIO_READ;
	} else {
		run->mmio.is_write = 1;
		run->mmio.data = m->data;
	}
}

/**
 * khyp_mmio_handle() - a guest access to an address that is not RAM
 * @vcpu:	the vCPU, its mutex held
 * @exit:	the KHYP_X_NPF exit, which mmu/fault.c did not map
 *
 * Decode, dispatch to an in-kernel device, complete; or describe it to
 * userspace, which completes a load at the next KHYP_RUN.  RIP moves past
 * the instruction either way.
 *
 * Return: 1 if a device in the kernel completed it (the guest runs on),
 * 0 if the exit goes to userspace (MMIO or an internal error).
 */
int khyp_mmio_handle(struct khyp_vcpu *vcpu, const struct khyp_exit *exit)
{
	struct khyp_mmio m;
	int r = 1;

	if (khyp_mmio_decode_exit(vcpu, exit, &m))
		return 0;
	if (!khyp_mmio_dispatch(vcpu, &m)) {
		khyp_mmio_to_user(vcpu, &m);
		r = 0;
	}
	vcpu->regs.rip = m.next_rip;
	return r;
}

/* KHYP_RUN after an MMIO read that went to userspace: step 3 then. */
void khyp_mmio_complete(struct khyp_vcpu *vcpu)
{
	khyp_mmio_load(vcpu, &vcpu->mmio_insn, vcpu->run->mmio.data);
}
