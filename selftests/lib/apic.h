/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The local APIC as the irqchip tests program it: the xAPIC page's
 * register offsets (the SDM's "Local APIC Register Address Map") and
 * the IA32_APIC_BASE MSR's bits; vec_bit() for the guests (khyp_vm.h
 * included first).
 */
#ifndef SELFTEST_APIC_H
#define SELFTEST_APIC_H

#define APIC_BASE_GPA	0xfee00000UL
#define MSR_APIC_BASE	0x1b
#define BASE_BSP	(1UL << 8)
#define BASE_EXTD	(1UL << 10)
#define BASE_EN		(1UL << 11)

#define R_ID		0x20
#define R_LVR		0x30
#define R_TPR		0x80
#define R_PPR		0xa0
#define R_EOI		0xb0
#define R_LDR		0xd0
#define R_DFR		0xe0
#define R_SVR		0xf0
#define R_ISR		0x100
#define R_TMR		0x180
#define R_IRR		0x200
#define R_ESR		0x280
#define R_ICR		0x300
#define R_ICR2		0x310
#define R_LVTT		0x320
#define R_LVT0		0x350
#define R_LVT1		0x360
#define R_LVTERR	0x370
#define R_TMICT		0x380
#define R_TMCCT		0x390
#define R_TDCR		0x3e0

/* Vector @v's bit in the 256-bit register at @base (ISR, TMR, IRR). */
KH_GUEST_INLINE int vec_bit(uint32_t base, uint8_t v)
{
	return (kh_guest_apic_read(base + (v / 32) * 0x10) >> (v % 32)) & 1;
}

#endif
