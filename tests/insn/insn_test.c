// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test for core/insn.c, the MMIO instruction decoder, built natively
 * with ASan and UBSan.  Every instruction is decoded from a heap buffer of
 * exactly its size, so any read past the byte count is caught.  The bytes
 * were taken from GNU as (as --64, --32, .code16) and objdump -d.
 *
 * Output: one line per case, then "N passed, N failed".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/insn.h"

#define R16	KHYP_MODE_REAL
#define P16	KHYP_MODE_PROT16
#define P32	KHYP_MODE_PROT32
#define L64	KHYP_MODE_LONG64

#define LD	KHYP_INSN_LOAD
#define ST	KHYP_INSN_STORE_REG
#define IM	KHYP_INSN_STORE_IMM

#define NO	KHYP_EXT_NONE
#define ZX	KHYP_EXT_ZERO
#define SX	KHYP_EXT_SIGN

#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define BYTES(...) \
	.bytes = { __VA_ARGS__ }, .n = sizeof((u8[]){ __VA_ARGS__ })

/* len, size, kind, reg, high_byte, extend, dst_size, imm */
#define WANT(l, s, k, r, h, e, d, i) \
	.want = { .len = (l), .size = (s), .kind = (k), .reg = (r), \
		  .high_byte = (h), .extend = (e), .dst_size = (d), .imm = (i) }

struct dcase {
	const char *name;
	enum khyp_cpu_mode mode;
	u8 bytes[32];
	unsigned int n;
	int ret;
	struct khyp_insn want;
};

static const struct dcase dcases[] = {
	/* 64-bit mode */
	{ "64: mov %al,(%rax)", L64, BYTES(0x88, 0x00),
	  0, WANT(2, 1, ST, 0, 0, NO, 1, 0) },
	{ "64: mov %ah,(%rbx)", L64, BYTES(0x88, 0x23),
	  0, WANT(2, 1, ST, 0, 1, NO, 1, 0) },
	{ "64: mov %sil,(%rdi)", L64, BYTES(0x40, 0x88, 0x37),
	  0, WANT(3, 1, ST, 6, 0, NO, 1, 0) },
	{ "64: mov %r8b,(%rax)", L64, BYTES(0x44, 0x88, 0x00),
	  0, WANT(3, 1, ST, 8, 0, NO, 1, 0) },
	{ "64: mov %eax,0x10(%rbx)", L64, BYTES(0x89, 0x43, 0x10),
	  0, WANT(3, 4, ST, 0, 0, NO, 4, 0) },
	{ "64: mov %rax,(%rsp)", L64, BYTES(0x48, 0x89, 0x04, 0x24),
	  0, WANT(4, 8, ST, 0, 0, NO, 8, 0) },
	{ "64: mov %r15,0x12345678(%r12,%r13,8)", L64,
	  BYTES(0x4f, 0x89, 0xbc, 0xec, 0x78, 0x56, 0x34, 0x12),
	  0, WANT(8, 8, ST, 15, 0, NO, 8, 0) },
	{ "64: mov %cx,(%rdx)", L64, BYTES(0x66, 0x89, 0x0a),
	  0, WANT(3, 2, ST, 1, 0, NO, 2, 0) },
	{ "64: mov 0x100(%rip),%edx", L64,
	  BYTES(0x8b, 0x15, 0x00, 0x01, 0x00, 0x00),
	  0, WANT(6, 4, LD, 2, 0, NO, 4, 0) },
	{ "64: mov 0x0(%r13),%r9", L64, BYTES(0x4d, 0x8b, 0x4d, 0x00),
	  0, WANT(4, 8, LD, 9, 0, NO, 8, 0) },
	{ "64: mov (%eax),%ebx (addr32)", L64, BYTES(0x67, 0x8b, 0x18),
	  0, WANT(3, 4, LD, 3, 0, NO, 4, 0) },
	{ "64: mov 0x1000,%eax (SIB, no base)", L64,
	  BYTES(0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00),
	  0, WANT(7, 4, LD, 0, 0, NO, 4, 0) },
	{ "64: mov (%rsi),%bh", L64, BYTES(0x8a, 0x3e),
	  0, WANT(2, 1, LD, 3, 1, NO, 1, 0) },
	{ "64: mov (%rsi),%dil", L64, BYTES(0x40, 0x8a, 0x3e),
	  0, WANT(3, 1, LD, 7, 0, NO, 1, 0) },
	{ "64: movb $0x12,(%rax)", L64, BYTES(0xc6, 0x00, 0x12),
	  0, WANT(3, 1, IM, 0, 0, NO, 1, 0x12) },
	{ "64: movw $0x1234,(%rax)", L64,
	  BYTES(0x66, 0xc7, 0x00, 0x34, 0x12),
	  0, WANT(5, 2, IM, 0, 0, NO, 2, 0x1234) },
	{ "64: movl $0xdeadbeef,(%rax)", L64,
	  BYTES(0xc7, 0x00, 0xef, 0xbe, 0xad, 0xde),
	  0, WANT(6, 4, IM, 0, 0, NO, 4, 0xdeadbeef) },
	{ "64: movq $-1,(%rax)", L64,
	  BYTES(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff),
	  0, WANT(7, 8, IM, 0, 0, NO, 8, 0xffffffffffffffffULL) },
	{ "64: movq $0x7fffffff,0x8(%rax)", L64,
	  BYTES(0x48, 0xc7, 0x40, 0x08, 0xff, 0xff, 0xff, 0x7f),
	  0, WANT(8, 8, IM, 0, 0, NO, 8, 0x7fffffff) },
	{ "64: movl $0x1,0x10(%rip)", L64,
	  BYTES(0xc7, 0x05, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00),
	  0, WANT(10, 4, IM, 0, 0, NO, 4, 1) },
	{ "64: movq $-2,0x12345678(%rip)", L64,
	  BYTES(0x48, 0xc7, 0x05, 0x78, 0x56, 0x34, 0x12,
		0xfe, 0xff, 0xff, 0xff),
	  0, WANT(11, 8, IM, 0, 0, NO, 8, 0xfffffffffffffffeULL) },
	{ "64: movw $0x8000,0x12345678(%rip)", L64,
	  BYTES(0x66, 0xc7, 0x05, 0x78, 0x56, 0x34, 0x12, 0x00, 0x80),
	  0, WANT(9, 2, IM, 0, 0, NO, 2, 0x8000) },
	{ "64: movzbl (%rax),%eax", L64, BYTES(0x0f, 0xb6, 0x00),
	  0, WANT(3, 1, LD, 0, 0, ZX, 4, 0) },
	{ "64: movzbq (%rax),%rax", L64, BYTES(0x48, 0x0f, 0xb6, 0x00),
	  0, WANT(4, 1, LD, 0, 0, ZX, 8, 0) },
	{ "64: movzwl (%rax),%r10d", L64, BYTES(0x44, 0x0f, 0xb7, 0x10),
	  0, WANT(4, 2, LD, 10, 0, ZX, 4, 0) },
	{ "64: movzbw (%rax),%ax", L64, BYTES(0x66, 0x0f, 0xb6, 0x00),
	  0, WANT(4, 1, LD, 0, 0, ZX, 2, 0) },
	{ "64: movzbl (%rsi),%edi (no high byte)", L64,
	  BYTES(0x0f, 0xb6, 0x3e),
	  0, WANT(3, 1, LD, 7, 0, ZX, 4, 0) },
	{ "64: movsbq (%rax),%rax", L64, BYTES(0x48, 0x0f, 0xbe, 0x00),
	  0, WANT(4, 1, LD, 0, 0, SX, 8, 0) },
	{ "64: movswl (%rax),%eax", L64, BYTES(0x0f, 0xbf, 0x00),
	  0, WANT(3, 2, LD, 0, 0, SX, 4, 0) },
	{ "64: movsbw (%r8),%r9w", L64, BYTES(0x66, 0x45, 0x0f, 0xbe, 0x08),
	  0, WANT(5, 1, LD, 9, 0, SX, 2, 0) },
	{ "64: movslq (%rax),%rax", L64, BYTES(0x48, 0x63, 0x00),
	  0, WANT(3, 4, LD, 0, 0, SX, 8, 0) },
	{ "64: movslq 0x10(%r11),%r14", L64, BYTES(0x4d, 0x63, 0x73, 0x10),
	  0, WANT(4, 4, LD, 14, 0, SX, 8, 0) },
	{ "64: movabs 0x1122334455667788,%al", L64,
	  BYTES(0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  0, WANT(9, 1, LD, 0, 0, NO, 1, 0) },
	{ "64: movabs 0x1122334455667788,%rax", L64,
	  BYTES(0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  0, WANT(10, 8, LD, 0, 0, NO, 8, 0) },
	{ "64: movabs %eax,0x1122334455667788", L64,
	  BYTES(0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  0, WANT(9, 4, ST, 0, 0, NO, 4, 0) },
	{ "64: movabs %ax,0x1122334455667788", L64,
	  BYTES(0x66, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  0, WANT(10, 2, ST, 0, 0, NO, 2, 0) },
	{ "64: movabs %al,moffs (a2)", L64,
	  BYTES(0xa2, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  0, WANT(9, 1, ST, 0, 0, NO, 1, 0) },
	{ "64: REX.B does not move moffs off rax", L64,
	  BYTES(0x41, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  0, WANT(10, 4, LD, 0, 0, NO, 4, 0) },
	{ "64: addr32 mov 0x12345678,%eax", L64,
	  BYTES(0x67, 0xa1, 0x78, 0x56, 0x34, 0x12),
	  0, WANT(6, 4, LD, 0, 0, NO, 4, 0) },
	{ "64: mov %fs:0x28,%rax", L64,
	  BYTES(0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00),
	  0, WANT(9, 8, LD, 0, 0, NO, 8, 0) },
	{ "64: mov %ax,%gs:(%rax)", L64, BYTES(0x65, 0x66, 0x89, 0x00),
	  0, WANT(4, 2, ST, 0, 0, NO, 2, 0) },
	{ "64: mov %r12w,-0x80(%rbp,%rcx,2)", L64,
	  BYTES(0x66, 0x44, 0x89, 0x64, 0x4d, 0x80),
	  0, WANT(6, 2, ST, 12, 0, NO, 2, 0) },
	{ "64: mov (%r12),%r12", L64, BYTES(0x4d, 0x8b, 0x24, 0x24),
	  0, WANT(4, 8, LD, 12, 0, NO, 8, 0) },
	{ "64: mov 0x7f(%r13,%r12,1),%spl", L64,
	  BYTES(0x43, 0x8a, 0x64, 0x25, 0x7f),
	  0, WANT(5, 1, LD, 4, 0, NO, 1, 0) },
	{ "64: addr32 movzbl 0x10(%esp),%eax", L64,
	  BYTES(0x67, 0x0f, 0xb6, 0x44, 0x24, 0x10),
	  0, WANT(6, 1, LD, 0, 0, ZX, 4, 0) },
	{ "64: REX.W beats 66: mov %rax,(%rax)", L64,
	  BYTES(0x66, 0x48, 0x89, 0x00),
	  0, WANT(4, 8, ST, 0, 0, NO, 8, 0) },
	{ "64: REX then 66: REX ignored, 16-bit", L64,
	  BYTES(0x48, 0x66, 0x8b, 0x00),
	  0, WANT(4, 2, LD, 0, 0, NO, 2, 0) },
	{ "64: REX.R then 2e: REX ignored", L64,
	  BYTES(0x4c, 0x2e, 0x89, 0x08),
	  0, WANT(4, 4, ST, 1, 0, NO, 4, 0) },
	{ "64: REX then 3e: %ah again", L64,
	  BYTES(0x40, 0x3e, 0x88, 0x20),
	  0, WANT(4, 1, ST, 0, 1, NO, 1, 0) },
	{ "64: two REX, last wins", L64,
	  BYTES(0x48, 0x44, 0x8b, 0x00),
	  0, WANT(4, 4, LD, 8, 0, NO, 4, 0) },
	{ "64: mov %r11,0x12(%r13) disp8 with REX.B", L64,
	  BYTES(0x4d, 0x89, 0x5d, 0x12),
	  0, WANT(4, 8, ST, 11, 0, NO, 8, 0) },
	{ "64: 15 bytes: 2e*3 REX.W c7 SIB disp32 imm32", L64,
	  BYTES(0x2e, 0x2e, 0x2e, 0x48, 0xc7, 0x84, 0x88,
		0x78, 0x56, 0x34, 0x12, 0x01, 0x00, 0x00, 0x80),
	  0, WANT(15, 8, IM, 0, 0, NO, 8, 0xffffffff80000001ULL) },
	{ "64: 15 bytes: 13 x 66, mov (%rax),%ax", L64,
	  BYTES(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		0x66, 0x66, 0x66, 0x66, 0x8b, 0x00),
	  0, WANT(15, 2, LD, 0, 0, NO, 2, 0) },

	/* 32-bit protected mode */
	{ "32: mov %eax,(%ebx)", P32, BYTES(0x89, 0x03),
	  0, WANT(2, 4, ST, 0, 0, NO, 4, 0) },
	{ "32: mov (%esi),%ecx", P32, BYTES(0x8b, 0x0e),
	  0, WANT(2, 4, LD, 1, 0, NO, 4, 0) },
	{ "32: mov %ax,(%ebx)", P32, BYTES(0x66, 0x89, 0x03),
	  0, WANT(3, 2, ST, 0, 0, NO, 2, 0) },
	{ "32: mov 0x12345678,%eax", P32,
	  BYTES(0xa1, 0x78, 0x56, 0x34, 0x12),
	  0, WANT(5, 4, LD, 0, 0, NO, 4, 0) },
	{ "32: mov 0x1234(,%ecx,4),%edx", P32,
	  BYTES(0x8b, 0x14, 0x8d, 0x34, 0x12, 0x00, 0x00),
	  0, WANT(7, 4, LD, 2, 0, NO, 4, 0) },
	{ "32: mov %al,(%bx,%si) (addr16)", P32, BYTES(0x67, 0x88, 0x00),
	  0, WANT(3, 1, ST, 0, 0, NO, 1, 0) },
	{ "32: movl $1,0x10(%ebp)", P32,
	  BYTES(0xc7, 0x45, 0x10, 0x01, 0x00, 0x00, 0x00),
	  0, WANT(7, 4, IM, 0, 0, NO, 4, 1) },
	{ "32: movw $0x1234,(%eax)", P32,
	  BYTES(0x66, 0xc7, 0x00, 0x34, 0x12),
	  0, WANT(5, 2, IM, 0, 0, NO, 2, 0x1234) },
	{ "32: movzbl (%eax),%ecx", P32, BYTES(0x0f, 0xb6, 0x08),
	  0, WANT(3, 1, LD, 1, 0, ZX, 4, 0) },
	{ "32: movsbw (%eax),%dx", P32, BYTES(0x66, 0x0f, 0xbe, 0x10),
	  0, WANT(4, 1, LD, 2, 0, SX, 2, 0) },
	{ "32: movswl 0x8(%esp),%edi", P32,
	  BYTES(0x0f, 0xbf, 0x7c, 0x24, 0x08),
	  0, WANT(5, 2, LD, 7, 0, SX, 4, 0) },
	{ "32: mov 0x8(%esp),%eax", P32, BYTES(0x8b, 0x44, 0x24, 0x08),
	  0, WANT(4, 4, LD, 0, 0, NO, 4, 0) },
	{ "32: mov 0x0(%ebp),%bh", P32, BYTES(0x8a, 0x7d, 0x00),
	  0, WANT(3, 1, LD, 3, 1, NO, 1, 0) },
	{ "32: mov %dh,%es:0x10(%edi)", P32, BYTES(0x26, 0x88, 0x77, 0x10),
	  0, WANT(4, 1, ST, 2, 1, NO, 1, 0) },
	{ "32: movb $0xff,0x12345678(%eax,%ebx,2)", P32,
	  BYTES(0xc6, 0x84, 0x58, 0x78, 0x56, 0x34, 0x12, 0xff),
	  0, WANT(8, 1, IM, 0, 0, NO, 1, 0xff) },
	{ "32: mov 0x12345678,%al", P32, BYTES(0xa0, 0x78, 0x56, 0x34, 0x12),
	  0, WANT(5, 1, LD, 0, 0, NO, 1, 0) },
	{ "32: mov %ax,0x12345678", P32,
	  BYTES(0x66, 0xa3, 0x78, 0x56, 0x34, 0x12),
	  0, WANT(6, 2, ST, 0, 0, NO, 2, 0) },
	{ "32: addr16 mov 0x1234,%eax", P32, BYTES(0x67, 0xa1, 0x34, 0x12),
	  0, WANT(4, 4, LD, 0, 0, NO, 4, 0) },
	{ "32: mov 0x1234(%bp,%di),%ecx (addr16)", P32,
	  BYTES(0x67, 0x8b, 0x8b, 0x34, 0x12),
	  0, WANT(5, 4, LD, 1, 0, NO, 4, 0) },
	{ "32: movl $0x11223344,(%esp)", P32,
	  BYTES(0xc7, 0x04, 0x24, 0x44, 0x33, 0x22, 0x11),
	  0, WANT(7, 4, IM, 0, 0, NO, 4, 0x11223344) },
	{ "32: mov 0x0(,%eax,8),%eax", P32,
	  BYTES(0x8b, 0x04, 0xc5, 0x00, 0x00, 0x00, 0x00),
	  0, WANT(7, 4, LD, 0, 0, NO, 4, 0) },
	{ "32: mov 0x100,%eax (mod 0 rm 5 is absolute)", P32,
	  BYTES(0x8b, 0x05, 0x00, 0x01, 0x00, 0x00),
	  0, WANT(6, 4, LD, 0, 0, NO, 4, 0) },

	{ "32: movswl with 66 is a plain 16-bit mov", P32,
	  BYTES(0x66, 0x0f, 0xbf, 0x00),
	  0, WANT(4, 2, LD, 0, 0, NO, 2, 0) },

	/* 16-bit protected mode and real mode */
	{ "16: mov %ax,(%bx)", R16, BYTES(0x89, 0x07),
	  0, WANT(2, 2, ST, 0, 0, NO, 2, 0) },
	{ "16: mov 0x0(%bp),%ax", R16, BYTES(0x8b, 0x46, 0x00),
	  0, WANT(3, 2, LD, 0, 0, NO, 2, 0) },
	{ "16: mov 0x1234,%ax", R16, BYTES(0xa1, 0x34, 0x12),
	  0, WANT(3, 2, LD, 0, 0, NO, 2, 0) },
	{ "16: mov 0x1234,%al", R16, BYTES(0xa0, 0x34, 0x12),
	  0, WANT(3, 1, LD, 0, 0, NO, 1, 0) },
	{ "16: mov 0x1234,%dl (mod 0 rm 6 disp16)", R16,
	  BYTES(0x8a, 0x16, 0x34, 0x12),
	  0, WANT(4, 1, LD, 2, 0, NO, 1, 0) },
	{ "16: mov %eax,(%bx,%si)", R16, BYTES(0x66, 0x89, 0x00),
	  0, WANT(3, 4, ST, 0, 0, NO, 4, 0) },
	{ "16: mov (%eax),%eax", R16, BYTES(0x67, 0x66, 0x8b, 0x00),
	  0, WANT(4, 4, LD, 0, 0, NO, 4, 0) },
	{ "16: movw $0x1234,0x10(%bx,%di)", R16,
	  BYTES(0xc7, 0x41, 0x10, 0x34, 0x12),
	  0, WANT(5, 2, IM, 0, 0, NO, 2, 0x1234) },
	{ "16: movb $5,0x1234(%si)", R16,
	  BYTES(0xc6, 0x84, 0x34, 0x12, 0x05),
	  0, WANT(5, 1, IM, 0, 0, NO, 1, 5) },
	{ "16: mov %es:(%di),%ah", R16, BYTES(0x26, 0x8a, 0x25),
	  0, WANT(3, 1, LD, 0, 1, NO, 1, 0) },
	{ "16: movzbw (%bx),%ax", R16, BYTES(0x0f, 0xb6, 0x07),
	  0, WANT(3, 1, LD, 0, 0, ZX, 2, 0) },
	{ "16: movzwl (%bx),%ax is a plain 16-bit mov", R16,
	  BYTES(0x0f, 0xb7, 0x07),
	  0, WANT(3, 2, LD, 0, 0, NO, 2, 0) },
	{ "16: movsbl (%bx),%eax", R16, BYTES(0x66, 0x0f, 0xbe, 0x07),
	  0, WANT(4, 1, LD, 0, 0, SX, 4, 0) },
	{ "16: mov %eax,0x12345678(%ebx,%ecx,4)", R16,
	  BYTES(0x67, 0x66, 0x89, 0x84, 0x8b, 0x78, 0x56, 0x34, 0x12),
	  0, WANT(9, 4, ST, 0, 0, NO, 4, 0) },
	{ "16: mov 0x5678,%eax", R16, BYTES(0x66, 0xa1, 0x78, 0x56),
	  0, WANT(4, 4, LD, 0, 0, NO, 4, 0) },
	{ "16: addr32 mov 0x12345678,%eax", R16,
	  BYTES(0x67, 0x66, 0xa1, 0x78, 0x56, 0x34, 0x12),
	  0, WANT(7, 4, LD, 0, 0, NO, 4, 0) },
	{ "16: movl $0xcafebabe,-0x2(%bp)", R16,
	  BYTES(0x66, 0xc7, 0x46, 0xfe, 0xbe, 0xba, 0xfe, 0xca),
	  0, WANT(8, 4, IM, 0, 0, NO, 4, 0xcafebabe) },
	{ "16: mov %cl,0x7f(%bp,%si)", P16, BYTES(0x88, 0x4a, 0x7f),
	  0, WANT(3, 1, ST, 1, 0, NO, 1, 0) },
	{ "16: mov %ch,(%si)", P16, BYTES(0x88, 0x2c),
	  0, WANT(2, 1, ST, 1, 1, NO, 1, 0) },
	{ "16: mov 0x1234(%bx,%si),%sp (prot16)", P16,
	  BYTES(0x8b, 0xa0, 0x34, 0x12),
	  0, WANT(4, 2, LD, 4, 0, NO, 2, 0) },
	{ "16: movswl (%bx),%eax (prot16)", P16,
	  BYTES(0x66, 0x0f, 0xbf, 0x07),
	  0, WANT(4, 2, LD, 0, 0, SX, 4, 0) },

	/* Rejected: not khyp's, or not a memory access */
	{ "bad: mov %eax,%eax (mod 3)", L64, BYTES(0x8b, 0xc0), -EINVAL },
	{ "bad: mov %al,%al (mod 3)", P32, BYTES(0x88, 0xc0), -EINVAL },
	{ "bad: mov $1,%eax (c7 mod 3)", P32,
	  BYTES(0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00), -EINVAL },
	{ "bad: movzbl %al,%eax (mod 3)", L64, BYTES(0x0f, 0xb6, 0xc0),
	  -EINVAL },
	{ "bad: movslq %eax,%rax (mod 3)", L64, BYTES(0x48, 0x63, 0xc0),
	  -EINVAL },
	{ "bad: lock mov", L64, BYTES(0xf0, 0x89, 0x00), -EINVAL },
	{ "bad: lock after 66", P32, BYTES(0x66, 0xf0, 0x89, 0x00), -EINVAL },
	{ "bad: rep mov", L64, BYTES(0xf3, 0x89, 0x00), -EINVAL },
	{ "bad: repne mov", P32, BYTES(0xf2, 0x8b, 0x00), -EINVAL },
	{ "bad: xrelease mov (f3 c7)", L64,
	  BYTES(0xf3, 0xc7, 0x00, 0x01, 0x00, 0x00, 0x00), -EINVAL },
	{ "bad: c7 /1", L64, BYTES(0xc7, 0x08, 0x01, 0x00, 0x00, 0x00),
	  -EINVAL },
	{ "bad: c6 /7", L64, BYTES(0xc6, 0x38, 0x01), -EINVAL },
	{ "bad: xabort (c6 f8)", L64, BYTES(0xc6, 0xf8, 0x00), -EINVAL },
	{ "bad: movsxd without REX.W", L64, BYTES(0x63, 0x00), -EINVAL },
	{ "bad: 63 outside 64-bit mode is arpl", P32, BYTES(0x63, 0x00),
	  -EINVAL },
	{ "bad: 48 is dec %eax in 32-bit mode", P32,
	  BYTES(0x48, 0x8b, 0x00), -EINVAL },
	{ "bad: 40 is inc %ax in real mode", R16, BYTES(0x40, 0x89, 0x00),
	  -EINVAL },
	{ "bad: add %eax,(%rax)", L64, BYTES(0x01, 0x00), -EINVAL },
	{ "bad: lea (%rax),%eax", L64, BYTES(0x8d, 0x00), -EINVAL },
	{ "bad: movsb", L64, BYTES(0xa4), -EINVAL },
	{ "bad: movsl", P32, BYTES(0xa5), -EINVAL },
	{ "bad: nop", R16, BYTES(0x90), -EINVAL },
	{ "bad: incl (%rax)", L64, BYTES(0xff, 0x00), -EINVAL },
	{ "bad: mov %es,(%bx)", R16, BYTES(0x8c, 0x07), -EINVAL },
	{ "bad: syscall", L64, BYTES(0x0f, 0x05), -EINVAL },
	{ "bad: movnti (0f c3)", L64, BYTES(0x0f, 0xc3, 0x00), -EINVAL },
	{ "bad: movbe (0f 38 f0)", L64, BYTES(0x0f, 0x38, 0xf0, 0x00),
	  -EINVAL },
	{ "bad: movd (%rax),%xmm0", L64, BYTES(0x66, 0x0f, 0x6e, 0x00),
	  -EINVAL },
	{ "bad: vex c5", L64, BYTES(0xc5, 0xf9, 0x6e, 0x00), -EINVAL },
	{ "bad: 16 bytes: 14 x 66, mov (%rax),%ax", L64,
	  BYTES(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		0x66, 0x66, 0x66, 0x66, 0x66, 0x8b, 0x00), -EINVAL },
	{ "bad: 16 prefixes", P32,
	  BYTES(0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0x66, 0x67, 0x2e, 0x3e,
		0x26, 0x36, 0x64, 0x65, 0x66, 0x67), -EINVAL },
	{ "bad: 15 prefixes, nothing else", L64,
	  BYTES(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
		0x2e, 0x2e, 0x2e, 0x2e, 0x2e), -EINVAL },
	{ "bad: 16 bytes: 2e*4 REX.W c7 SIB disp32 imm32", L64,
	  BYTES(0x2e, 0x2e, 0x2e, 0x2e, 0x48, 0xc7, 0x84, 0x88,
		0x78, 0x56, 0x34, 0x12, 0x01, 0x00, 0x00, 0x80), -EINVAL },

	/* Too short: the caller may fetch more */
	{ "short: nothing", L64, .n = 0, .ret = -ENODATA },
	{ "short: 8b", L64, BYTES(0x8b), -ENODATA },
	{ "short: 0f", P32, BYTES(0x0f), -ENODATA },
	{ "short: REX.W 66", L64, BYTES(0x48, 0x66), -ENODATA },
	{ "short: 14 prefixes", L64,
	  BYTES(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		0x66, 0x66, 0x66, 0x66, 0x66), -ENODATA },
};

struct vcase {
	const char *name;
	enum khyp_cpu_mode mode;
	u8 bytes[16];
	unsigned int n;
	int load;	/* 1: load_value(a, b); 0: store_value(a) */
	u64 a, b, want;
};

static const struct vcase vcases[] = {
	{ "load: movzbq into %rax clears all", L64,
	  BYTES(0x48, 0x0f, 0xb6, 0x00), 1,
	  0xffffffffffffffffULL, 0xab, 0xab },
	{ "load: movzbl into %eax, mem upper bits ignored", L64,
	  BYTES(0x0f, 0xb6, 0x00), 1,
	  0xffffffffffffffffULL, 0xffffff80, 0x80 },
	{ "load: movsbq 0x80", L64, BYTES(0x48, 0x0f, 0xbe, 0x00), 1,
	  0, 0x80, 0xffffffffffffff80ULL },
	{ "load: movsbq 0x7f", L64, BYTES(0x48, 0x0f, 0xbe, 0x00), 1,
	  0xffffffffffffffffULL, 0x7f, 0x7f },
	{ "load: movsbl 0x80 zeroes bits 63:32", L64,
	  BYTES(0x0f, 0xbe, 0x00), 1,
	  0xffffffffffffffffULL, 0x80, 0xffffff80 },
	{ "load: movsbw 0x80 keeps bits 63:16", L64,
	  BYTES(0x66, 0x0f, 0xbe, 0x00), 1,
	  0x1111111111111111ULL, 0x80, 0x111111111111ff80ULL },
	{ "load: movzwl 0xffff8001 into %r10d", L64,
	  BYTES(0x44, 0x0f, 0xb7, 0x10), 1,
	  0xffffffffffffffffULL, 0xffff8001, 0x8001 },
	{ "load: movswl 0x8001", P32, BYTES(0x0f, 0xbf, 0x00), 1,
	  0, 0x8001, 0xffff8001 },
	{ "load: movswq 0x8001", L64, BYTES(0x48, 0x0f, 0xbf, 0x00), 1,
	  0, 0x8001, 0xffffffffffff8001ULL },
	{ "load: movslq 0x80000000", L64, BYTES(0x48, 0x63, 0x00), 1,
	  0, 0x80000000, 0xffffffff80000000ULL },
	{ "load: movslq 0x7fffffff", L64, BYTES(0x48, 0x63, 0x00), 1,
	  0xffffffffffffffffULL, 0x7fffffff, 0x7fffffff },
	{ "load: mov to %eax zeroes bits 63:32", L64, BYTES(0x8b, 0x00), 1,
	  0xffffffffffffffffULL, 0x1234567812345678ULL, 0x12345678 },
	{ "load: mov to %ax keeps bits 63:16", L64,
	  BYTES(0x66, 0x8b, 0x00), 1,
	  0x1122334455667788ULL, 0xabcd, 0x112233445566abcdULL },
	{ "load: mov to %ah writes bits 15:8", L64, BYTES(0x8a, 0x20), 1,
	  0x1122334455667788ULL, 0xee, 0x112233445566ee88ULL },
	{ "load: mov to %al writes bits 7:0", L64, BYTES(0x8a, 0x00), 1,
	  0x1122334455667788ULL, 0xffee, 0x11223344556677eeULL },
	{ "load: mov to %spl writes bits 7:0 of rsp", L64,
	  BYTES(0x40, 0x8a, 0x20), 1,
	  0x1122334455667788ULL, 0xee, 0x11223344556677eeULL },
	{ "load: mov to %rax", L64, BYTES(0x48, 0x8b, 0x00), 1,
	  0, 0x8877665544332211ULL, 0x8877665544332211ULL },
	{ "load: movabs to %al", L64,
	  BYTES(0xa0, 0, 0, 0, 0, 0, 0, 0, 0), 1,
	  0xffffffffffffffffULL, 0x12, 0xffffffffffffff12ULL },
	{ "load: mov to %bh in real mode", R16, BYTES(0x8a, 0x3f), 1,
	  0xffffffff, 0x5a, 0xffff5aff },
	{ "load: mov to %eax in 32-bit mode", P32, BYTES(0x8b, 0x00), 1,
	  0xffffffff00000000ULL, 0xdeadbeef, 0xdeadbeef },
	{ "store: mov %ah", L64, BYTES(0x88, 0x20), 0,
	  0x1122334455667788ULL, 0, 0x77 },
	{ "store: mov %al", L64, BYTES(0x88, 0x00), 0,
	  0x1122334455667788ULL, 0, 0x88 },
	{ "store: mov %dil", L64, BYTES(0x40, 0x88, 0x38), 0,
	  0x1122334455667788ULL, 0, 0x88 },
	{ "store: mov %cx", L64, BYTES(0x66, 0x89, 0x08), 0,
	  0x1122334455667788ULL, 0, 0x7788 },
	{ "store: mov %eax", L64, BYTES(0x89, 0x00), 0,
	  0x1122334455667788ULL, 0, 0x55667788 },
	{ "store: mov %rax", L64, BYTES(0x48, 0x89, 0x00), 0,
	  0x1122334455667788ULL, 0, 0x1122334455667788ULL },
	{ "store: movabs %eax,moffs", L64,
	  BYTES(0xa3, 0, 0, 0, 0, 0, 0, 0, 0), 0,
	  0x1122334455667788ULL, 0, 0x55667788 },
	{ "store: movq $-1", L64,
	  BYTES(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff), 0,
	  0x1234, 0, 0xffffffffffffffffULL },
	{ "store: movl $0xdeadbeef", L64,
	  BYTES(0xc7, 0x00, 0xef, 0xbe, 0xad, 0xde), 0,
	  0x1234, 0, 0xdeadbeef },
	{ "store: movw $0x8000", P32, BYTES(0x66, 0xc7, 0x00, 0x00, 0x80), 0,
	  0x1234, 0, 0x8000 },
	{ "store: movb $0x80", R16, BYTES(0xc6, 0x07, 0x80), 0,
	  0x1234, 0, 0x80 },
	{ "store: value of a load is 0", L64, BYTES(0x8b, 0x00), 0,
	  0x1234, 0, 0 },
};

static unsigned int passed, failed;

/*
 * Decode from a heap copy that ends right after the @n bytes, so ASan sees
 * any read past them (for 0 bytes, the end of a 1-byte buffer: ASan lets
 * malloc(0) memory be read).
 */
static int decode(const u8 *bytes, unsigned int n, enum khyp_cpu_mode mode,
		  struct khyp_insn *out)
{
	unsigned int size = n ? n : 1;
	u8 *copy = malloc(size);
	int ret;

	if (!copy)
		abort();
	memcpy(copy + size - n, bytes, n);
	ret = khyp_insn_decode(copy + size - n, n, mode, out);
	free(copy);
	return ret;
}

static bool is_zero(const struct khyp_insn *insn)
{
	static const struct khyp_insn zero;

	return !memcmp(insn, &zero, sizeof(zero));
}

static bool same(const struct khyp_insn *a, const struct khyp_insn *b)
{
	return a->len == b->len && a->size == b->size && a->kind == b->kind &&
	       a->reg == b->reg && a->high_byte == b->high_byte &&
	       a->extend == b->extend && a->dst_size == b->dst_size &&
	       a->imm == b->imm;
}

static void show(const char *what, const struct khyp_insn *i)
{
	printf("#   %s: len %u size %u kind %u reg %u high %u ext %u dst %u imm %#llx\n",
	       what, i->len, i->size, i->kind, i->reg, i->high_byte, i->extend,
	       i->dst_size, (unsigned long long)i->imm);
}

static void pass(const char *name)
{
	passed++;
	printf("ok   %s\n", name);
}

static void __printf(2, 3) fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	failed++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void run_dcase(const struct dcase *t)
{
	struct khyp_insn got;
	u8 buf[40];
	unsigned int n;
	int ret;

	ret = decode(t->bytes, t->n, t->mode, &got);
	if (ret != t->ret) {
		fail(t->name, "returned %d, want %d", ret, t->ret);
		return;
	}
	if (ret) {
		if (!is_zero(&got)) {
			fail(t->name, "output not zeroed on error");
			return;
		}
		/* An -EINVAL stays so whatever follows. */
		if (ret == -EINVAL) {
			memset(buf, 0xcc, sizeof(buf));
			memcpy(buf, t->bytes, t->n);
			ret = decode(buf, sizeof(buf), t->mode, &got);
			if (ret != -EINVAL) {
				fail(t->name, "%d with trailing bytes", ret);
				return;
			}
		}
		pass(t->name);
		return;
	}
	if (!same(&got, &t->want)) {
		show("got ", &got);
		show("want", &t->want);
		fail(t->name, "wrong decode");
		return;
	}
	if (t->want.len != t->n) {
		fail(t->name, "test bug: len %u but %u bytes", t->want.len,
		     t->n);
		return;
	}
	/* Trailing bytes (more than 15 in all) change nothing. */
	memset(buf, 0xcc, sizeof(buf));
	memcpy(buf, t->bytes, t->n);
	ret = decode(buf, sizeof(buf), t->mode, &got);
	if (ret || !same(&got, &t->want)) {
		fail(t->name, "differs with trailing bytes (%d)", ret);
		return;
	}
	/* Every truncation is -ENODATA. */
	for (n = 0; n < t->n; n++) {
		ret = decode(t->bytes, n, t->mode, &got);
		if (ret != -ENODATA || !is_zero(&got)) {
			fail(t->name, "truncated to %u: %d", n, ret);
			return;
		}
	}
	pass(t->name);
}

static void run_vcase(const struct vcase *t)
{
	struct khyp_insn insn;
	u64 got;
	int ret;

	ret = decode(t->bytes, t->n, t->mode, &insn);
	if (ret || insn.len != t->n) {
		fail(t->name, "decode: %d, len %u", ret, insn.len);
		return;
	}
	if (t->load)
		got = khyp_insn_load_value(&insn, t->a, t->b);
	else
		got = khyp_insn_store_value(&insn, t->a);
	if (got == t->want)
		pass(t->name);
	else
		fail(t->name, "got %#llx, want %#llx",
		     (unsigned long long)got, (unsigned long long)t->want);
}

/* Every one-byte opcode but the MOV family and prefixes is -EINVAL. */
static void run_all_opcodes(enum khyp_cpu_mode mode, const char *name)
{
	static const u8 ok[] = { 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0x0f,
				 0xa0, 0xa1, 0xa2, 0xa3, 0x26, 0x2e, 0x36,
				 0x3e, 0x64, 0x65, 0x66, 0x67 };
	struct khyp_insn got;
	unsigned int op, i, checked = 0;
	u8 buf[15];
	int ret;

	for (op = 0; op < 256; op++) {
		if (memchr(ok, op, sizeof(ok)))
			continue;
		if (mode == L64 && ((op & 0xf0) == 0x40 || op == 0x63))
			continue;
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = i ? 0x00 : op;
		ret = decode(buf, sizeof(buf), mode, &got);
		if (ret != -EINVAL) {
			fail(name, "opcode %#x: %d", op, ret);
			return;
		}
		checked++;
	}
	printf("#   %u opcodes\n", checked);
	pass(name);
}

static void run_bad_mode(void)
{
	static const u8 mov[] = { 0x8b, 0x00 };
	struct khyp_insn got;
	int ret;

	ret = decode(mov, sizeof(mov), (enum khyp_cpu_mode)7, &got);
	if (ret == -EINVAL && is_zero(&got))
		pass("bad: unknown mode");
	else
		fail("bad: unknown mode", "returned %d", ret);
}

int main(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dcases); i++)
		run_dcase(&dcases[i]);
	for (i = 0; i < ARRAY_SIZE(vcases); i++)
		run_vcase(&vcases[i]);
	run_all_opcodes(R16, "bad: other one-byte opcodes, real mode");
	run_all_opcodes(P32, "bad: other one-byte opcodes, 32-bit");
	run_all_opcodes(L64, "bad: other one-byte opcodes, 64-bit");
	run_bad_mode();

	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
