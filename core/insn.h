/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decoding of the guest instructions that khyp emulates for MMIO.
 *
 * When a guest load or store hits a guest-physical address that is not RAM,
 * the exit gives the faulting address but no word on the access size,
 * direction, register or length (QEMU TCG's SVM has neither NRIP save nor
 * decode assists; where the hardware has decode assists, khyp does not use
 * them).  The core, not the backends, then reads the instruction bytes at
 * CS:RIP and calls khyp_insn_decode(): only core/mmio.c does (core/cr4.c
 * fetches the same way for its own MOV-to/from-CR4 decoder).  Only the MOV
 * family is supported: it is what compilers emit for MMIO accessors.
 *
 * The decoder is the same for both backends and is also built in userspace for
 * the unit test and fuzzer in tests/insn/: it uses no allocation, no global
 * state and no printing.
 */
#ifndef KHYP_CORE_INSN_H
#define KHYP_CORE_INSN_H

#include <linux/types.h>

/* The longest instruction the CPU accepts, hence the most bytes to fetch. */
#define KHYP_INSN_MAX_LEN	15

/**
 * enum khyp_cpu_mode - default operand and address size of the guest code
 * @KHYP_MODE_REAL:	real or virtual-8086 mode: 16-bit.
 * @KHYP_MODE_PROT16:	protected or compatibility mode, CS.D = 0: 16-bit.
 * @KHYP_MODE_PROT32:	protected or compatibility mode, CS.D = 1: 32-bit.
 * @KHYP_MODE_LONG64:	64-bit mode (EFER.LMA = 1 and CS.L = 1): 32-bit
 *			operands, 64-bit addresses, REX prefixes.
 */
enum khyp_cpu_mode {
	KHYP_MODE_REAL,
	KHYP_MODE_PROT16,
	KHYP_MODE_PROT32,
	KHYP_MODE_LONG64,
};

/* struct khyp_insn.kind: the direction of the memory access. */
enum {
	KHYP_INSN_LOAD = 1,	/* memory -> register @reg */
	KHYP_INSN_STORE_REG,	/* register @reg -> memory */
	KHYP_INSN_STORE_IMM,	/* @imm -> memory */
};

/* struct khyp_insn.extend: how a load widens the value it read. */
enum {
	KHYP_EXT_NONE,		/* mov: @dst_size == @size */
	KHYP_EXT_ZERO,		/* movzx */
	KHYP_EXT_SIGN,		/* movsx, movsxd */
};

/**
 * struct khyp_insn - one decoded MMIO instruction
 * @len:	instruction length in bytes: add it to RIP once emulated.
 * @size:	bytes of memory accessed: 1, 2, 4 or 8.
 * @kind:	KHYP_INSN_LOAD, KHYP_INSN_STORE_REG or KHYP_INSN_STORE_IMM.
 * @reg:	the general-purpose register loaded or stored, 0-15 in
 *		encoding order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
 *		R8 ... R15).  For AH, CH, DH and BH it is the register that
 *		holds them (RAX, RCX, RDX, RBX) and @high_byte is set.  0 for
 *		KHYP_INSN_STORE_IMM.
 * @high_byte:	1 if the operand is bits 15:8 of @reg (AH, CH, DH, BH: an
 *		8-bit register 4-7 encoded without a REX prefix).
 * @extend:	KHYP_EXT_NONE, KHYP_EXT_ZERO or KHYP_EXT_SIGN; loads only,
 *		and NONE whenever @dst_size == @size.
 * @dst_size:	loads: bytes of @reg written after extension, 1, 2, 4 or 8
 *		(a 4-byte write zeroes bits 63:32).  Stores: equal to @size.
 * @imm:	KHYP_INSN_STORE_IMM: the value to store, already truncated or
 *		sign-extended to @size bytes.  0 otherwise.
 */
struct khyp_insn {
	u8 len;
	u8 size;
	u8 kind;
	u8 reg;
	u8 high_byte;
	u8 extend;
	u8 dst_size;
	u64 imm;
};

/**
 * khyp_insn_decode() - decode one MOV-family instruction that accesses memory
 * @bytes:	the instruction bytes, starting at CS:RIP.
 * @nbytes:	how many of @bytes are valid; never read beyond.  Bytes past
 *		KHYP_INSN_MAX_LEN are ignored, so pass up to 15.
 * @mode:	the guest's code size, from CR0.PE, EFLAGS.VM, EFER.LMA and
 *		CS.L/CS.D.
 * @out:	filled on success, zeroed on failure.
 *
 * Accepted: 88, 89, 8A, 8B (mov to or from r/m), C6 /0 and C7 /0 (mov
 * immediate), 0F B6/B7/BE/BF (movzx, movsx), REX.W 63 (movsxd, 64-bit mode
 * only), A0-A3 (mov between rAX and moffs).  Prefixes: 66, 67, segment
 * overrides and, in 64-bit mode, REX.  A REX prefix followed by another
 * prefix is ignored, as the CPU does.
 *
 * Return: 0 on success.  -EINVAL if the instruction is not one khyp
 * emulates: another opcode, a register operand (ModRM.mod = 3), a LOCK,
 * REP or REPNE prefix, or more than 15 bytes.  -ENODATA if @nbytes ends
 * before the instruction does: the caller may fetch more bytes (the
 * instruction may cross a page boundary) and retry.
 */
int khyp_insn_decode(const u8 *bytes, unsigned int nbytes,
		     enum khyp_cpu_mode mode, struct khyp_insn *out);

/**
 * khyp_insn_load_value() - the register value after emulating a load
 * @insn:	a decoded KHYP_INSN_LOAD.
 * @old_reg:	the full 64-bit value of @insn->reg before the load.
 * @mem_value:	what was read from memory; only the low @insn->size bytes
 *		are used.
 *
 * Applies zero or sign extension, then writes @insn->dst_size bytes:
 * 1 and 2 keep the other bits of @old_reg (1 with @high_byte writes bits
 * 15:8), 4 zeroes bits 63:32, 8 replaces the whole register.
 *
 * Return: the new 64-bit value of @insn->reg.
 */
u64 khyp_insn_load_value(const struct khyp_insn *insn, u64 old_reg,
			 u64 mem_value);

/**
 * khyp_insn_store_value() - the value written to memory by a store
 * @insn:	a decoded KHYP_INSN_STORE_REG or KHYP_INSN_STORE_IMM.
 * @reg:	the full 64-bit value of @insn->reg (ignored for an
 *		immediate).
 *
 * Return: the value to write, in the low @insn->size bytes, upper bits
 * zero.  0 for a load.
 */
u64 khyp_insn_store_value(const struct khyp_insn *insn, u64 reg);

#endif /* KHYP_CORE_INSN_H */
