// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU's ISA pvpanic device at port 0x505 (QEMU's docs/specs/pvpanic.rst),
 * which Linux's pvpanic driver finds by the ACPI HID QEMU0001 in the DSDT.
 * A read returns the events the device supports: bit 0 PANICKED, bit 1
 * CRASH_LOADED.  A write of PANICKED ends `khyp run` with STATUS_PANIC
 * and "khyp: guest panicked"; CRASH_LOADED (the guest panicked but a
 * crash kernel takes over) is reported and the guest goes on.  Any
 * width is decoded; a write of 0 does nothing.
 */
#include <stdio.h>

#include "../khyp.h"

#define PVPANIC_PORT		0x505
#define PVPANIC_PANICKED	0x01
#define PVPANIC_CRASH_LOADED	0x02

static int pvpanic__io(struct bus_access *a, void *opaque)
{
	/* the guest may write it in a loop: said once per launcher run */
	static bool crash_said;

	(void)opaque;
	if (!a->write) {
		a->data = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
		return RUN_CONTINUE;
	}
	if (a->data & PVPANIC_PANICKED) {
		fprintf(stderr, "khyp: guest panicked\n");
		return STATUS_PANIC;
	}
	if ((a->data & PVPANIC_CRASH_LOADED) && !crash_said) {
		crash_said = true;
		fprintf(stderr, "khyp: guest panicked; its crash kernel takes over\n");
	}
	return RUN_CONTINUE;
}

int pvpanic__init(struct machine *m, char *err, size_t errlen)
{
	const struct bus_dev dev = {
		.name = "pvpanic",
		.base = PVPANIC_PORT,
		.len = 1,
		.widths = BUS_WIDTH_ANY,
		.handle = pvpanic__io,
		.opaque = m,
	};

	return bus__register(&m->ports, &dev, err, errlen);
}
