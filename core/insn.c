// SPDX-License-Identifier: GPL-2.0
/*
 * A small x86 instruction decoder for MMIO emulation.
 *
 * A guest access to a guest-physical address that is not RAM exits to khyp
 * with the address but, unless the CPU has decode assists, not the access
 * itself.  QEMU TCG's SVM offers neither decode assists nor NRIP save, and
 * VMX's EPT-violation exit gives neither the size nor the register, so both
 * backends fetch the bytes at CS:RIP and decode them here: size, direction,
 * register or immediate, extension and length.  The address is not needed
 * (the exit gives it), but the ModRM, SIB and displacement bytes are parsed
 * to find the length.
 *
 * Only the MOV family is decoded; everything else is -EINVAL and the caller
 * reports an internal error to userspace.  See insn.h for the API.
 *
 * Every byte is read through insn_fetch(), which checks both the caller's
 * byte count and the 15-byte architectural limit, so no input can make the
 * decoder read out of bounds.  tests/insn/ holds the unit test and fuzzer
 * that build this file in userspace: keep it free of other kernel headers.
 */
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/types.h>

#include "insn.h"

#define REX_W	0x08
#define REX_R	0x04

/* The decoder's cursor: bytes[pos] is the next byte to read. */
struct insn_cursor {
	const u8 *bytes;
	unsigned int nbytes;
	unsigned int pos;
};

/*
 * Read @n (1, 2, 4 or 8) little-endian bytes into @val.  The length limit
 * is checked first: an instruction that must be longer than 15 bytes is
 * invalid however many bytes the caller has.
 */
static int insn_fetch(struct insn_cursor *c, unsigned int n, u64 *val)
{
	unsigned int i;

	if (n > KHYP_INSN_MAX_LEN - c->pos)
		return -EINVAL;
	if (n > c->nbytes - c->pos)
		return -ENODATA;

	*val = 0;
	for (i = 0; i < n; i++)
		*val |= (u64)c->bytes[c->pos + i] << (8 * i);
	c->pos += n;
	return 0;
}

static int insn_fetch_u8(struct insn_cursor *c, u8 *byte)
{
	u64 val;
	int ret;

	ret = insn_fetch(c, 1, &val);
	if (ret)
		return ret;
	*byte = val;
	return 0;
}

/* Skip @n bytes of displacement. */
static int insn_skip(struct insn_cursor *c, unsigned int n)
{
	u64 unused;

	return n ? insn_fetch(c, n, &unused) : 0;
}

/*
 * Read the ModRM byte into @modrm and skip the SIB and displacement that
 * follow it for an @addr_size-byte (2, 4 or 8) address.  A register operand
 * (mod = 3) is no memory access: -EINVAL.
 */
static int insn_modrm(struct insn_cursor *c, unsigned int addr_size,
		      u8 *modrm)
{
	unsigned int mod, rm;
	u8 sib;
	int ret;

	ret = insn_fetch_u8(c, modrm);
	if (ret)
		return ret;
	mod = *modrm >> 6;
	rm = *modrm & 7;

	if (mod == 3)
		return -EINVAL;

	if (addr_size == 2) {
		/* [bx+si] ... [bx]; mod 0 rm 6 is disp16 alone. */
		if (mod == 1)
			return insn_skip(c, 1);
		if (mod == 2 || rm == 6)
			return insn_skip(c, 2);
		return 0;
	}

	/*
	 * 32- and 64-bit addressing.  REX.B does not matter here: r12 and
	 * r13 are encoded like esp and ebp.  mod 0 rm 5 is disp32 alone
	 * (RIP- or EIP-relative in 64-bit mode); with a SIB, mod 0 base 5
	 * is disp32 with no base.
	 */
	if (rm == 4) {
		ret = insn_fetch_u8(c, &sib);
		if (ret)
			return ret;
		if (mod == 0 && (sib & 7) == 5)
			return insn_skip(c, 4);
	}
	if (mod == 1)
		return insn_skip(c, 1);
	if (mod == 2 || (mod == 0 && rm == 5))
		return insn_skip(c, 4);
	return 0;
}

/*
 * The register operand in ModRM.reg, extended by REX.R.  For byte operands
 * without a REX prefix, 4-7 are AH, CH, DH and BH: bits 15:8 of registers
 * 0-3.  With any REX prefix they are SPL, BPL, SIL and DIL.
 */
static void insn_set_reg(struct khyp_insn *insn, u8 modrm, u8 rex)
{
	insn->reg = ((modrm >> 3) & 7) | (rex & REX_R ? 8 : 0);
	if (insn->size == 1 && insn->dst_size == 1 && !rex && insn->reg >= 4) {
		insn->reg -= 4;
		insn->high_byte = 1;
	}
}

/* 0F B6/B7/BE/BF: movzx and movsx, always loads. */
static int insn_decode_0f(struct insn_cursor *c, struct khyp_insn *insn,
			  unsigned int op_size)
{
	u8 opcode;
	int ret;

	ret = insn_fetch_u8(c, &opcode);
	if (ret)
		return ret;

	switch (opcode) {
	case 0xb6:
	case 0xb7:
		insn->extend = KHYP_EXT_ZERO;
		break;
	case 0xbe:
	case 0xbf:
		insn->extend = KHYP_EXT_SIGN;
		break;
	default:
		return -EINVAL;
	}
	insn->kind = KHYP_INSN_LOAD;
	insn->size = opcode & 1 ? 2 : 1;
	insn->dst_size = op_size;
	/* movzx/movsx r16, r/m16 is a plain 16-bit mov. */
	if (insn->dst_size == insn->size)
		insn->extend = KHYP_EXT_NONE;
	return 0;
}

int khyp_insn_decode(const u8 *bytes, unsigned int nbytes,
		     enum khyp_cpu_mode mode, struct khyp_insn *out)
{
	struct insn_cursor c = { .bytes = bytes, .nbytes = nbytes };
	struct khyp_insn insn;
	bool long64, opsize_prefix = false, addrsize_prefix = false;
	unsigned int op_size, addr_size, imm_size = 0;
	bool has_modrm = true;
	u8 opcode, modrm = 0, rex = 0;
	u64 imm;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(&insn, 0, sizeof(insn));

	switch (mode) {
	case KHYP_MODE_REAL:
	case KHYP_MODE_PROT16:
	case KHYP_MODE_PROT32:
	case KHYP_MODE_LONG64:
		break;
	default:
		return -EINVAL;
	}
	long64 = mode == KHYP_MODE_LONG64;
	if (c.nbytes > KHYP_INSN_MAX_LEN)
		c.nbytes = KHYP_INSN_MAX_LEN;

	/*
	 * Prefixes.  A REX prefix only counts if the opcode follows it
	 * directly: the CPU ignores one that another prefix follows.
	 */
	for (;;) {
		ret = insn_fetch_u8(&c, &opcode);
		if (ret)
			return ret;

		switch (opcode) {
		case 0x66:
			opsize_prefix = true;
			rex = 0;
			continue;
		case 0x67:
			addrsize_prefix = true;
			rex = 0;
			continue;
		case 0x26:	/* ES: */
		case 0x2e:	/* CS: */
		case 0x36:	/* SS: */
		case 0x3e:	/* DS: */
		case 0x64:	/* FS: */
		case 0x65:	/* GS: */
			rex = 0;
			continue;
		case 0xf0:	/* LOCK */
		case 0xf2:	/* REPNE */
		case 0xf3:	/* REP */
			return -EINVAL;
		}
		if (long64 && (opcode & 0xf0) == 0x40) {
			rex = opcode;
			continue;
		}
		break;
	}

	if (long64) {
		if (rex & REX_W)
			op_size = 8;
		else
			op_size = opsize_prefix ? 2 : 4;
		addr_size = addrsize_prefix ? 4 : 8;
	} else {
		bool big = mode == KHYP_MODE_PROT32;

		op_size = big != opsize_prefix ? 4 : 2;
		addr_size = big != addrsize_prefix ? 4 : 2;
	}

	switch (opcode) {
	case 0x88:	/* mov r/m8, r8 */
	case 0x89:	/* mov r/m, r */
		insn.kind = KHYP_INSN_STORE_REG;
		insn.size = opcode & 1 ? op_size : 1;
		break;
	case 0x8a:	/* mov r8, r/m8 */
	case 0x8b:	/* mov r, r/m */
		insn.kind = KHYP_INSN_LOAD;
		insn.size = opcode & 1 ? op_size : 1;
		break;
	case 0xc6:	/* mov r/m8, imm8 */
	case 0xc7:	/* mov r/m, imm16/32, imm32 sign-extended to 64 */
		insn.kind = KHYP_INSN_STORE_IMM;
		insn.size = opcode & 1 ? op_size : 1;
		imm_size = insn.size == 8 ? 4 : insn.size;
		break;
	case 0x63:	/* movsxd r64, r/m32; arpl outside 64-bit mode */
		if (!(rex & REX_W))
			return -EINVAL;
		insn.kind = KHYP_INSN_LOAD;
		insn.size = 4;
		insn.dst_size = 8;
		insn.extend = KHYP_EXT_SIGN;
		break;
	case 0xa0:	/* mov al, moffs8 */
	case 0xa1:	/* mov rAX, moffs */
	case 0xa2:	/* mov moffs8, al */
	case 0xa3:	/* mov moffs, rAX */
		insn.kind = opcode & 2 ? KHYP_INSN_STORE_REG : KHYP_INSN_LOAD;
		insn.size = opcode & 1 ? op_size : 1;
		has_modrm = false;
		ret = insn_skip(&c, addr_size);
		if (ret)
			return ret;
		break;
	case 0x0f:
		ret = insn_decode_0f(&c, &insn, op_size);
		if (ret)
			return ret;
		break;
	default:
		return -EINVAL;
	}

	if (!insn.dst_size)
		insn.dst_size = insn.size;

	if (has_modrm) {
		ret = insn_modrm(&c, addr_size, &modrm);
		if (ret)
			return ret;
		if (insn.kind == KHYP_INSN_STORE_IMM) {
			/* C6 /0 and C7 /0 only; the rest is not a mov. */
			if (modrm & 0x38)
				return -EINVAL;
		} else {
			insn_set_reg(&insn, modrm, rex);
		}
	}

	if (imm_size) {
		ret = insn_fetch(&c, imm_size, &imm);
		if (ret)
			return ret;
		if (insn.size == 8)
			imm = (u64)(s64)(s32)(u32)imm;
		insn.imm = imm;
	}

	insn.len = c.pos;
	*out = insn;
	return 0;
}

/* The low @size bytes, for @size 0 to 8. */
static u64 insn_trunc(u64 val, unsigned int size)
{
	return size >= 8 ? val : val & ((1ULL << (8 * size)) - 1);
}

u64 khyp_insn_load_value(const struct khyp_insn *insn, u64 old_reg,
			 u64 mem_value)
{
	u64 val = insn_trunc(mem_value, insn->size);

	if (insn->extend == KHYP_EXT_SIGN && insn->size && insn->size < 8) {
		u64 sign = 1ULL << (8 * insn->size - 1);

		val = (val ^ sign) - sign;
	}

	switch (insn->dst_size) {
	case 1:
		if (insn->high_byte)
			return (old_reg & ~0xff00ULL) | (val & 0xff) << 8;
		return (old_reg & ~0xffULL) | (val & 0xff);
	case 2:
		return (old_reg & ~0xffffULL) | (val & 0xffff);
	case 4:
		/* Zero-extended to 64 bits, as the CPU does. */
		return val & 0xffffffffULL;
	default:
		return val;
	}
}

u64 khyp_insn_store_value(const struct khyp_insn *insn, u64 reg)
{
	switch (insn->kind) {
	case KHYP_INSN_STORE_IMM:
		return insn_trunc(insn->imm, insn->size);
	case KHYP_INSN_STORE_REG:
		if (insn->high_byte)
			return (reg >> 8) & 0xff;
		return insn_trunc(reg, insn->size);
	default:
		return 0;
	}
}
