// SPDX-License-Identifier: GPL-2.0
/*
 * LTR, emulated for the SVM backend.
 *
 * QEMU's TCG (7.2, unchanged upstream) loads a null selector into TR
 * where a processor raises #GP(0): TR is then base 0, limit 0, not
 * present, and the next interrupt or exception that reads the TSS (an
 * IST gate, a change to an inner ring) reaches a cpu_abort() in
 * target/i386 ("qemu: fatal: invalid tss") that stops the whole
 * emulated machine.  A guest could thus take its host down with two
 * instructions (the guest-surface fuzzer's finding 6,
 * docs/reliability.md).  The SVM backend therefore intercepts every TR
 * write (LTR: the intercept comes after the #UD and CPL checks) and the
 * core does what the processor does:
 *
 *   a LOCK prefix				#UD
 *   selector null (index 0, TI 0)		#GP(0)
 *   in 64-bit mode, the operand's address
 *   not canonical				#GP(0), #SS(0) if SS's
 *						(RSP or RBP its base)
 *   TI set, or index past GDTR's limit	#GP(selector)
 *   in 64-bit mode, the descriptor's
 *   address not canonical			#GP(0)
 *   the operand or the descriptor in a page
 *   the guest's tables do not map		#PF(0), CR2 its address
 *   not an available TSS (S set; type 1 or
 *   9 outside long mode, 9 in it; in long
 *   mode the upper half's type not 0, or
 *   the base not canonical)		#GP(selector)
 *   not present				#NP(selector)
 *   the GDT's page read-only, CR0.WP set	#PF(P|W), CR2 the busy byte
 *   else: the busy bit is set in the GDT with a locked test-and-set; if
 *   it was set already (another vCPU's LTR of the same TSS came first)
 *   #GP(selector), as the processor's locked update would find it;
 *   else TR is loaded from the descriptor and RIP moves past the
 *   instruction.
 *
 * The instruction is decoded here (0F 00 /3; SVM without decode assists
 * says nothing of its operand, and QEMU's has no NRIP either): a register
 * operand, or a memory one at any 16-, 32- or 64-bit address (ModRM, SIB,
 * displacement, RIP-relative, segment overrides), read as a processor
 * reads it with the segment's base, but without its limit checked (nor
 * SMAP's or reserved page-table bits, mmu/gwalk.c).  QEMU's TCG lets a
 * LOCK prefix reach the intercept, hence the #UD here.  What khyp cannot
 * read (the instruction, or the operand or the descriptor in a page that
 * is not RAM, or with 5-level paging) or write (the busy bit in a
 * read-only memory region of userspace's) ends the run with
 * KHYP_INTERNAL_EMULATION and RIP at the LTR, as an MMIO instruction
 * khyp cannot decode does: no guest state has changed then.
 *
 * LLDT, task switches and IRET with NT need nothing: QEMU refuses a
 * selector whose descriptor is not a present TSS for a task switch, and
 * its null LDTR leads only to #GP at the next use, as a processor's.
 */
#include <linux/bits.h>
#include <linux/string.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "../irq/irq.h"
#include "../mmu/gwalk.h"
#include "insn.h"
#include "khyp.h"
#include "vcpu.h"

#define REX_B		0x01
#define REX_X		0x02

/* Segment registers in the order of their override prefixes' encoding. */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE };

/* The LTR at CS:RIP, decoded. */
struct ltr_insn {
	unsigned int len;
	bool lock;
	bool mem;
	u8 reg;			/* register operand: 0-15 */
	u64 ea;			/* memory operand: offset in @seg */
	int seg;
};

struct ltr_cursor {
	const u8 *bytes;
	unsigned int n, pos;
};

static int ltr_fetch(struct ltr_cursor *c, unsigned int size, u64 *val)
{
	unsigned int i;

	if (c->pos + size > KHYP_INSN_MAX_LEN)
		return -EINVAL;
	if (c->pos + size > c->n)
		return -ENODATA;
	*val = 0;
	for (i = 0; i < size; i++)
		*val |= (u64)c->bytes[c->pos + i] << (8 * i);
	c->pos += size;
	return 0;
}

static u64 ltr_sext(u64 v, unsigned int size)
{
	if (size == 1)
		return (u64)(s64)(s8)v;
	if (size == 2)
		return (u64)(s64)(s16)v;
	if (size == 4)
		return (u64)(s64)(s32)v;
	return v;
}

/* 16-bit addressing: ModRM.rm picks a sum of BX, BP, SI, DI. */
static int ltr_ea16(struct ltr_cursor *c, const u64 *gpr, u8 mod, u8 rm,
		    struct ltr_insn *in)
{
	static const s8 base[8] = { KHYP_RBX, KHYP_RBX, KHYP_RBP, KHYP_RBP,
				    -1, -1, KHYP_RBP, KHYP_RBX };
	static const s8 index[8] = { KHYP_RSI, KHYP_RDI, KHYP_RSI, KHYP_RDI,
				     KHYP_RSI, KHYP_RDI, -1, -1 };
	u64 ea = 0, disp = 0;
	int r = 0;

	if (mod == 0 && rm == 6) {
		r = ltr_fetch(c, 2, &disp);
	} else {
		ea = (base[rm] >= 0 ? gpr[base[rm]] : 0) +
		     (index[rm] >= 0 ? gpr[index[rm]] : 0);
		if (base[rm] == KHYP_RBP)
			in->seg = in->seg == SEG_NONE ? SEG_SS : in->seg;
		if (mod)
			r = ltr_fetch(c, mod == 1 ? 1 : 2, &disp);
	}
	if (r)
		return r;
	in->ea = (ea + ltr_sext(disp, mod == 1 ? 1 : 2)) & 0xffff;
	return 0;
}

/*
 * 32- and 64-bit addressing.  RIP-relative (64-bit mode, mod 0 rm 5)
 * adds the next instruction's RIP, which the caller does once the length
 * is known (*riprel).
 */
static int ltr_ea32(struct ltr_cursor *c, const u64 *gpr, u8 mod, u8 rm,
		    u8 rex, unsigned int addr_size, bool long64,
		    struct ltr_insn *in, bool *riprel)
{
	u64 ea = 0, disp = 0, sib;
	unsigned int dsize = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	int r, b = -1;

	if (rm == 4) {
		unsigned int idx, scale;

		r = ltr_fetch(c, 1, &sib);
		if (r)
			return r;
		scale = sib >> 6;
		idx = ((sib >> 3) & 7) | (rex & REX_X ? 8 : 0);
		if (idx != 4)
			ea = gpr[idx] << scale;
		if ((sib & 7) == 5 && mod == 0)
			dsize = 4;
		else
			b = (sib & 7) | (rex & REX_B ? 8 : 0);
	} else if (rm == 5 && mod == 0) {
		dsize = 4;
		*riprel = long64;
	} else {
		b = rm | (rex & REX_B ? 8 : 0);
	}
	if (b >= 0) {
		ea += gpr[b];
		if ((b & 7) == KHYP_RSP || (b & 7) == KHYP_RBP)
			in->seg = in->seg == SEG_NONE ? SEG_SS : in->seg;
	}
	if (dsize) {
		r = ltr_fetch(c, dsize, &disp);
		if (r)
			return r;
	}
	ea += ltr_sext(disp, dsize);
	in->ea = addr_size == 4 ? (u32)ea : ea;
	return 0;
}

/*
 * Decode the LTR in @bytes: 0 and *in, -ENODATA if more bytes are
 * needed, -EINVAL if it is not an LTR.  A LOCK prefix is decoded, for
 * the caller's #UD.
 */
static int ltr_decode(const u8 *bytes, unsigned int n, enum khyp_cpu_mode mode,
		      const struct khyp_vcpu_regs *regs, struct ltr_insn *in)
{
	struct ltr_cursor c = { .bytes = bytes, .n = n };
	bool long64 = mode == KHYP_MODE_LONG64, addr_prefix = false;
	bool riprel = false;
	unsigned int addr_size;
	u64 op, modrm;
	u8 rex = 0, mod, rm;
	int r;

	in->seg = SEG_NONE;
	in->lock = false;
	for (;;) {
		r = ltr_fetch(&c, 1, &op);
		if (r)
			return r;
		switch (op) {
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			/* 64-bit mode ignores them: DS or SS by the base. */
			if (!long64)
				in->seg = (op >> 3) & 3;
			rex = 0;
			continue;
		case 0x64: case 0x65:
			in->seg = op == 0x64 ? SEG_FS : SEG_GS;
			rex = 0;
			continue;
		case 0x67:
			addr_prefix = true;
			rex = 0;
			continue;
		case 0xf0:
			in->lock = true;
			rex = 0;
			continue;
		case 0x66: case 0xf2: case 0xf3:
			rex = 0;
			continue;
		}
		if (long64 && (op & 0xf0) == 0x40) {
			rex = op;
			continue;
		}
		break;
	}
	if (op != 0x0f)
		return -EINVAL;
	r = ltr_fetch(&c, 1, &op);
	if (!r)
		r = ltr_fetch(&c, 1, &modrm);
	if (r)
		return r;
	if (op != 0x00 || ((modrm >> 3) & 7) != 3)
		return -EINVAL;
	mod = modrm >> 6;
	rm = modrm & 7;

	if (mod == 3) {
		in->mem = false;
		in->reg = rm | (rex & REX_B ? 8 : 0);
		in->len = c.pos;
		return 0;
	}
	in->mem = true;
	if (long64)
		addr_size = addr_prefix ? 4 : 8;
	else
		addr_size = (mode == KHYP_MODE_PROT32) != addr_prefix ? 4 : 2;
	if (addr_size == 2)
		r = ltr_ea16(&c, regs->gpr, mod, rm, in);
	else
		r = ltr_ea32(&c, regs->gpr, mod, rm, rex, addr_size, long64,
			     in, &riprel);
	if (r)
		return r;
	in->len = c.pos;
	if (riprel) {
		in->ea += regs->rip + in->len;
		if (addr_size == 4)
			in->ea = (u32)in->ea;
	}
	if (in->seg == SEG_NONE)
		in->seg = SEG_DS;
	return 0;
}

static const struct khyp_segment *ltr_seg(const struct khyp_sregs *s, int seg)
{
	switch (seg) {
	case SEG_ES:
		return &s->es;
	case SEG_CS:
		return &s->cs;
	case SEG_SS:
		return &s->ss;
	case SEG_FS:
		return &s->fs;
	case SEG_GS:
		return &s->gs;
	default:
		return &s->ds;
	}
}

static bool ltr_canonical(u64 addr)
{
	return (u64)((s64)(addr << 16) >> 16) == addr;
}

/*
 * The checks of the table at the top on descriptor @d (@hi: its upper
 * half in long mode).  Returns the exception, or 0 if TR may load it.
 */
static int ltr_check(u64 d, u64 hi, bool lma)
{
	unsigned int type = (d >> 40) & 0xf;
	u64 base;

	if ((d & BIT_ULL(44)) || (type != 9 && (lma || type != 1)))
		return X86_TRAP_GP;
	if (!(d & BIT_ULL(47)))
		return X86_TRAP_NP;
	if (lma) {
		base = ((d >> 16) & GENMASK_ULL(23, 0)) |
		       ((d >> 32) & GENMASK_ULL(31, 24)) | hi << 32;
		/* The upper half's type field: bits 12:8 of its high dword. */
		if (((hi >> 40) & 0x1f) || !ltr_canonical(base))
			return X86_TRAP_GP;
	}
	return 0;
}

/* TR as loaded from descriptor @d (and @hi): busy, its limit scaled. */
static void ltr_segment(struct khyp_segment *tr, u16 sel, u64 d, u64 hi,
			bool lma)
{
	u32 limit = (d & 0xffff) | ((d >> 32) & 0xf0000);

	memset(tr, 0, sizeof(*tr));
	tr->selector = sel;
	tr->base = ((d >> 16) & GENMASK_ULL(23, 0)) |
		   ((d >> 32) & GENMASK_ULL(31, 24)) |
		   (lma ? (hi & U32_MAX) << 32 : 0);
	tr->g = !!(d & BIT_ULL(55));
	tr->limit = tr->g ? limit << 12 | 0xfff : limit;
	tr->type = ((d >> 40) & 0xf) | 0x2;
	tr->dpl = (d >> 45) & 3;
	tr->present = 1;
	tr->avl = !!(d & BIT_ULL(52));
	tr->db = !!(d & BIT_ULL(54));
}

static enum khyp_cpu_mode ltr_mode(const struct khyp_paging *p)
{
	if ((p->efer & EFER_LMA) && p->cs_l)
		return KHYP_MODE_LONG64;
	return p->cs_db ? KHYP_MODE_PROT32 : KHYP_MODE_PROT16;
}

/*
 * The operand's linear address in *@linear.  Outside 64-bit mode it
 * wraps at 4 GiB; in it only FS's and GS's bases count, and an address
 * that is not canonical is refused: false, with the exception queued.
 */
static bool ltr_operand(struct khyp_vcpu *vcpu, const struct khyp_sregs *s,
			enum khyp_cpu_mode mode, const struct ltr_insn *in,
			u64 *linear)
{
	u64 base = ltr_seg(s, in->seg)->base;

	if (mode != KHYP_MODE_LONG64) {
		*linear = (base + in->ea) & U32_MAX;
		return true;
	}
	*linear = in->seg == SEG_FS || in->seg == SEG_GS ? base + in->ea :
							  in->ea;
	if (ltr_canonical(*linear) && ltr_canonical(*linear + 1))
		return true;
	khyp_irq_queue_exception(vcpu, in->seg == SEG_SS ? X86_TRAP_SS :
				 X86_TRAP_GP, true, 0);
	return false;
}

/**
 * khyp_ltr_emulate() - a KHYP_X_LTR exit: the guest's LTR (see the top)
 * @vcpu:	the vCPU, its registers current
 * @exit:	the exit
 *
 * Only where the backend has ->load_tr (SVM).  Runs with preemption on:
 * it reads guest memory and may allocate the GDT's page.
 *
 * Return: 1 to go on (with an exception queued or the LTR done), 0 with
 * an internal error for userspace.
 */
int khyp_ltr_emulate(struct khyp_vcpu *vcpu, const struct khyp_exit *exit)
{
	u8 bytes[KHYP_INSN_MAX_LEN];
	struct khyp_guest_pf pf;
	struct khyp_paging p;
	struct khyp_segment tr;
	struct khyp_sregs s;
	struct ltr_insn in;
	u64 linear, d[2] = { 0, 0 };
	enum khyp_cpu_mode mode;
	u16 sel, idx;
	int n, r;
	bool lma;

	khyp_backend->get_paging(vcpu, &p);
	khyp_backend->get_sregs(vcpu, &s);
	khyp_vcpu_host_touched(vcpu);
	mode = ltr_mode(&p);
	lma = p.efer & EFER_LMA;
	n = khyp_guest_fetch_insn(vcpu, &p, bytes);
	if (n < 0 || ltr_decode(bytes, n, mode, &vcpu->regs, &in))
		return khyp_mov_cr_failed(vcpu, exit);
	if (in.lock) {
		khyp_irq_queue_exception(vcpu, X86_TRAP_UD, false, 0);
		return 1;
	}
	if (in.mem) {
		if (!ltr_operand(vcpu, &s, mode, &in, &linear))
			return 1;
		r = khyp_guest_read_virt(vcpu, &p, linear, &sel, sizeof(sel),
					 &pf);
		if (r)
			goto fault;
	} else {
		sel = vcpu->regs.gpr[in.reg];
	}

	idx = sel & 0xfff8;
	if (!idx && !(sel & 4)) {
		khyp_irq_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	if ((sel & 4) || idx + (lma ? 15 : 7) > s.gdt.limit) {
		khyp_irq_queue_exception(vcpu, X86_TRAP_GP, true, sel & 0xfffc);
		return 1;
	}
	linear = s.gdt.base + idx;
	if (!lma) {
		linear &= U32_MAX;
	} else if (!ltr_canonical(linear) || !ltr_canonical(linear + 15)) {
		khyp_irq_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	r = khyp_guest_read_virt(vcpu, &p, linear, d, lma ? 16 : 8, &pf);
	if (r)
		goto fault;
	r = ltr_check(d[0], d[1], lma);
	if (r) {
		khyp_irq_queue_exception(vcpu, r, true, sel & 0xfffc);
		return 1;
	}
	/* Busy: bit 41 of the descriptor, bit 1 of its byte 5. */
	linear += 5;
	if (!lma)
		linear &= U32_MAX;
	r = khyp_guest_test_and_set_bit(vcpu, &p, linear, 1, &pf);
	if (r < 0)
		goto fault;
	if (r) {
		/* Another vCPU's LTR marked it busy since the check. */
		khyp_irq_queue_exception(vcpu, X86_TRAP_GP, true, sel & 0xfffc);
		return 1;
	}
	ltr_segment(&tr, sel, d[0], d[1], lma);
	khyp_backend->load_tr(vcpu, &tr);
	vcpu->regs.rip += in.len;
	return 1;

fault:
	if (r != -EACCES)
		return khyp_mov_cr_failed(vcpu, exit);
	khyp_irq_queue_page_fault(vcpu, pf.addr, pf.error_code);
	return 1;
}
