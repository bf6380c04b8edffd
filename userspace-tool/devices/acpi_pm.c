// SPDX-License-Identifier: GPL-2.0
/*
 * The ACPI PM block of a khyp machine, where the FADT (boot/acpi.c) says
 * it is, as ICH9's in QEMU q35:
 *
 *   0x600  PM1a status: the bits the FADT's fixed events define, write 1
 *          to clear.  Only TMR_STS is ever set: when bit 31 of the PM
 *          timer changed since it was last cleared.  No event raises the
 *          SCI (IRQ 9): the timer overflow does not, and there are no
 *          buttons yet.
 *   0x602  PM1a enable: read/write (TMR, GBL, PWRBTN, SLPBTN, RTC).
 *   0x604  PM1a control: SCI_EN reads 1 (there is no SMI_CMD: the guest
 *          is in ACPI mode from reset), SLP_TYP reads back, SLP_EN reads
 *          0.  Writing SLP_EN with SLP_TYP = ACPI_SLP_TYP_S5 (the DSDT's
 *          \_S5) powers the machine off: the launcher says "khyp: guest
 *          powered off" on stderr and ends with status 0.  Other sleep
 *          types are said once on stderr and ignored (the guest goes on).
 *   0x608  PM timer: 32 bits at 3.579545 MHz from CLOCK_MONOTONIC,
 *          counting from the device's creation; writes are ignored.
 *   0x620  GPE0: 8 status bytes, always 0 (write 1 to clear, nothing to
 *          clear), then 8 enable bytes, read/write.
 *
 * Any access of 1, 2 or 4 bytes, bytes in little-endian order as on
 * ICH9; bytes past a block read all-ones.  0x606-0x607 read 0.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../khyp.h"

#define PM1_LEN		(ACPI_PM_TMR + ACPI_PM_TMR_LEN - ACPI_PM1_EVT)
#define PM1_EN_BITS	(ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
			 ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
#define PM1_CNT_BITS	(ACPI_PM1_SLP_TYP_MASK | 0x6)	/* BM_RLD, GBL_RLS */
#define GPE0_HALF	(ACPI_GPE0_LEN / 2)

/* Status 0: "a poweroff through ACPI S5 ends with status 0" (issue 14). */
#define ACPI_PM_POWEROFF	0

static uint64_t acpi_pm__monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t acpi_pm__ticks(uint64_t ns)
{
	return ns / 1000000000ULL * ACPI_PM_TIMER_HZ +
	       ns % 1000000000ULL * ACPI_PM_TIMER_HZ / 1000000000ULL;
}

static uint64_t acpi_pm__now_ticks(struct acpi_pm *pm)
{
	uint64_t now = pm->now_ns();

	return acpi_pm__ticks(now > pm->tmr_start_ns ?
			      now - pm->tmr_start_ns : 0);
}

uint32_t acpi_pm__timer(struct acpi_pm *pm)
{
	return acpi_pm__now_ticks(pm);
}

static uint16_t acpi_pm__status(struct acpi_pm *pm)
{
	uint16_t sts = pm->pm1_sts;

	if (acpi_pm__now_ticks(pm) >> 31 != pm->tmr_sts_epoch)
		sts |= ACPI_PM1_TMR;
	return sts;
}

/* SLP_EN was written with the value now in pm1_cnt. */
static int acpi_pm__sleep(struct acpi_pm *pm, uint16_t cnt)
{
	unsigned int typ = (cnt & ACPI_PM1_SLP_TYP_MASK) >>
			   ACPI_PM1_SLP_TYP_SHIFT;

	if (typ == ACPI_SLP_TYP_S5) {
		fprintf(stderr, "khyp: guest powered off\n");
		return ACPI_PM_POWEROFF;
	}
	if (!pm->sleep_logged)
		fprintf(stderr, "khyp: the guest asked for ACPI sleep type %u, which khyp does not have: ignored\n",
			typ);
	pm->sleep_logged = true;
	return RUN_CONTINUE;
}

static int acpi_pm__pm1_io(struct bus_access *a, void *opaque)
{
	struct acpi_pm *pm = opaque;
	uint16_t cnt = pm->pm1_cnt;
	bool slp_en = false;
	unsigned int i;

	if (!a->write) {
		uint8_t regs[PM1_LEN] = { 0 };
		uint32_t tmr = acpi_pm__timer(pm);
		uint16_t sts = acpi_pm__status(pm);
		uint16_t ctl = pm->pm1_cnt | ACPI_PM1_SCI_EN;

		regs[0] = sts;
		regs[1] = sts >> 8;
		regs[2] = pm->pm1_en;
		regs[3] = pm->pm1_en >> 8;
		regs[4] = ctl;
		regs[5] = ctl >> 8;
		for (i = 0; i < 4; i++)
			regs[8 + i] = tmr >> (8 * i);
		a->data = 0;
		for (i = 0; i < a->size; i++)
			a->data |= (uint64_t)(a->off + i < PM1_LEN ?
					      regs[a->off + i] : 0xff) << (8 * i);
		return RUN_CONTINUE;
	}
	for (i = 0; i < a->size; i++) {
		uint16_t b = (a->data >> (8 * i)) & 0xff;
		unsigned int k = a->off + i;
		uint16_t v = k & 1 ? b << 8 : b;
		uint16_t mask = k & 1 ? 0xff00 : 0x00ff;

		switch (k) {
		case 0:
		case 1:
			if (v & ACPI_PM1_TMR)
				pm->tmr_sts_epoch = acpi_pm__now_ticks(pm) >> 31;
			pm->pm1_sts &= ~v;
			break;
		case 2:
		case 3:
			pm->pm1_en = (pm->pm1_en & ~mask) | (v & PM1_EN_BITS);
			break;
		case 4:
		case 5:
			cnt = (cnt & ~mask) | (v & mask);
			if (v & ACPI_PM1_SLP_EN)
				slp_en = true;
			break;
		}
	}
	pm->pm1_cnt = cnt & PM1_CNT_BITS;
	return slp_en ? acpi_pm__sleep(pm, cnt) : RUN_CONTINUE;
}

static int acpi_pm__gpe0_io(struct bus_access *a, void *opaque)
{
	struct acpi_pm *pm = opaque;
	unsigned int i;

	if (!a->write)
		a->data = 0;
	for (i = 0; i < a->size; i++) {
		unsigned int k = a->off + i;
		uint8_t *en = k >= GPE0_HALF && k < ACPI_GPE0_LEN ?
			      &pm->gpe0_en[k - GPE0_HALF] : NULL;

		if (a->write) {
			if (en)
				*en = a->data >> (8 * i);
			continue;
		}
		a->data |= (uint64_t)(k < GPE0_HALF ? 0 : en ? *en : 0xff) <<
			   (8 * i);
	}
	return RUN_CONTINUE;
}

void acpi_pm__reset(struct acpi_pm *pm)
{
	uint64_t (*now_ns)(void) = pm->now_ns;
	bool logged = pm->sleep_logged;	/* the launcher's: once a run */

	memset(pm, 0, sizeof(*pm));
	pm->now_ns = now_ns;
	pm->sleep_logged = logged;
	pm->tmr_start_ns = now_ns();
}

int acpi_pm__init(struct machine *m, char *err, size_t errlen)
{
	struct acpi_pm *pm = &m->acpi_pm;
	const struct bus_dev pm1 = {
		.name = "ACPI PM1/timer",
		.base = ACPI_PM1_EVT,
		.len = PM1_LEN,
		.widths = BUS_WIDTH_1 | BUS_WIDTH_2 | BUS_WIDTH_4,
		.handle = acpi_pm__pm1_io,
		.opaque = pm,
	};
	const struct bus_dev gpe0 = {
		.name = "ACPI GPE0",
		.base = ACPI_GPE0,
		.len = ACPI_GPE0_LEN,
		.widths = BUS_WIDTH_1 | BUS_WIDTH_2 | BUS_WIDTH_4,
		.handle = acpi_pm__gpe0_io,
		.opaque = pm,
	};

	memset(pm, 0, sizeof(*pm));
	pm->now_ns = acpi_pm__monotonic;
	acpi_pm__reset(pm);
	if (bus__register(&m->ports, &pm1, err, errlen))
		return -1;
	return bus__register(&m->ports, &gpe0, err, errlen);
}
