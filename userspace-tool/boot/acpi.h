/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ACPI tables the launcher writes for a guest (boot/acpi.c), and the
 * fixed hardware they describe (devices/acpi_pm.c): one header, so that
 * the tables and the device can never disagree about a port or a value.
 *
 * The hardware is QEMU q35's (ICH9) where a guest can tell: the PM block
 * at 0x600 (PM1a event 0x600, PM1a control 0x604, PM timer 0x608, GPE0
 * 0x620), the SCI on ISA IRQ 9 (level, active high), reset by writing
 * 0x06 to port 0xcf9, and S5 (soft off) as SLP_TYP 0.
 *
 * Guest-physical layout, in the reserved BIOS area of the e820 map
 * (BIOS_AREA_START, loader.h):
 *
 *   [0xe0000, 0xf0000)  ACPI: the RSDP at 0xe0000 (where the guest's
 *                       search of 0xe0000-0xfffff finds it first), then
 *                       the FACS, RSDT, XSDT, FADT, MADT and DSDT
 *   [0xf0000, ...)      the MP table (mptable.c), with --acpi off or
 *                       more than one vCPU
 */
#ifndef KHYP_ACPI_H
#define KHYP_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "loader.h"

#define ACPI_AREA_START		0xe0000
#define ACPI_AREA_END		0xf0000
#define ACPI_RSDP_ADDR		ACPI_AREA_START

/* The PM block (devices/acpi_pm.c) and what the FADT says of it. */
#define ACPI_PM1_EVT		0x600	/* PM1a status (16), enable (16) */
#define ACPI_PM1_EVT_LEN	4
#define ACPI_PM1_CNT		0x604	/* PM1a control (16) */
#define ACPI_PM1_CNT_LEN	2
#define ACPI_PM_TMR		0x608	/* PM timer (32, TMR_VAL_EXT) */
#define ACPI_PM_TMR_LEN		4
#define ACPI_GPE0		0x620	/* 8 status bytes, 8 enable bytes */
#define ACPI_GPE0_LEN		16
#define ACPI_PM_TIMER_HZ	3579545
#define ACPI_SCI_IRQ		9
#define ACPI_RESET_PORT		0xcf9
#define ACPI_RESET_VALUE	0x06
#define ACPI_SLP_TYP_S5		0	/* \_S5 in the DSDT: QEMU q35's */

/* PM1 status and enable bits (ACPI 6.4, 4.8.3.1) */
#define ACPI_PM1_TMR		(1u << 0)
#define ACPI_PM1_BM		(1u << 4)
#define ACPI_PM1_GBL		(1u << 5)
#define ACPI_PM1_PWRBTN		(1u << 8)
#define ACPI_PM1_SLPBTN		(1u << 9)
#define ACPI_PM1_RTC		(1u << 10)
#define ACPI_PM1_WAK		(1u << 15)
/* PM1 control bits (4.8.3.2) */
#define ACPI_PM1_SCI_EN		(1u << 0)
#define ACPI_PM1_SLP_TYP_SHIFT	10
#define ACPI_PM1_SLP_TYP_MASK	(7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN		(1u << 13)

/* Where acpi__write put each table (guest-physical), for tests and --trace. */
struct acpi_layout {
	uint64_t rsdp, facs, rsdt, xsdt, fadt, madt, mcfg, dsdt;
	uint64_t end;		/* one past the last byte written */
};

/*
 * Write the tables for @ncpus vCPUs (APIC IDs 0 .. ncpus - 1, the IOAPIC
 * ID ncpus) into [ACPI_AREA_START, ACPI_AREA_END).  Returns 0, or -1 with
 * a message in err when that area is not in guest RAM or overlaps the
 * image [load_start, load_end); guest memory is then untouched.  @where
 * may be NULL.
 */
int acpi__write(struct guest_mem *gm, unsigned int ncpus,
		uint64_t load_start, uint64_t load_end,
		struct acpi_layout *where, char *err, size_t errlen);

/* The 8-bit sum of len bytes (0 for a table with a right checksum). */
uint8_t acpi__sum(const void *p, size_t len);

#endif /* KHYP_ACPI_H */
