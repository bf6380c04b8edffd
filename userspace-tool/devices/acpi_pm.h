/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ACPI PM block (fixed hardware) at the ports the FADT names
 * (boot/acpi.h): PM1a status and enable at 0x600, PM1a control at 0x604,
 * the PM timer at 0x608, GPE0 at 0x620-0x62f.  See devices/acpi_pm.c.
 */
#ifndef KHYP_ACPI_PM_H
#define KHYP_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "../boot/acpi.h"

struct acpi_pm {
	uint16_t pm1_sts;	/* write 1 to clear */
	uint16_t pm1_en;
	uint16_t pm1_cnt;	/* SCI_EN always reads 1 */
	uint8_t gpe0_en[ACPI_GPE0_LEN / 2];
	uint64_t tmr_start_ns;	/* CLOCK_MONOTONIC when the timer read 0 */
	uint64_t tmr_sts_epoch;	/* ticks >> 31 when TMR_STS was cleared */
	bool sleep_logged;	/* a sleep type other than S5 was reported */
	/* the clock, CLOCK_MONOTONIC in ns; tests may replace it */
	uint64_t (*now_ns)(void);
};

/* PM timer ticks (3.579545 MHz) in ns nanoseconds, not wrapped. */
uint64_t acpi_pm__ticks(uint64_t ns);
/* The timer's 32-bit value now. */
uint32_t acpi_pm__timer(struct acpi_pm *pm);
/*
 * A machine reset (--reboot restart): status, enables, control and GPE0
 * cleared, the timer from 0 again, as ICH9's PLTRST# leaves the block.
 */
void acpi_pm__reset(struct acpi_pm *pm);

#endif /* KHYP_ACPI_PM_H */
