// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO exits: the guest touched a guest-physical address outside its RAM.
 * The kernel has decoded the instruction (core/mmio.c) into an address,
 * a size of 1, 2, 4 or 8 bytes and a direction; a write is already
 * complete, a read's result goes back in run->mmio.data, which the kernel
 * puts into the destination register at the next KHYP_RUN.
 *
 * The access goes to the device that claims the address on the machine's
 * MMIO bus (bus.h).  None does yet (the LAPIC, the IOAPIC and virtio-mmio
 * will): an address no device claims reads all-ones and ignores writes;
 * it is counted (run.c reports the count and the first such address at
 * the end), and with --strict the launcher stops (STATUS_STRICT).
 */
#include <inttypes.h>
#include <stdio.h>

#include "khyp.h"

static int mmio__unclaimed(struct machine *m, const struct bus_access *a)
{
	if (!m->unknown_mmio++)
		m->first_unknown_gpa = a->addr;
	if (m->opts->strict) {
		fprintf(stderr, "khyp: --strict: guest %s MMIO at 0x%" PRIx64 " (size %u)\n",
			a->write ? "wrote" : "read", a->addr, a->size);
		return STATUS_STRICT;
	}
	return RUN_CONTINUE;
}

int mmio__handle(struct machine *m, struct vcpu *vcpu)
{
	struct khyp_run *run = vcpu->run;
	struct bus_access a = {
		.addr = run->mmio.phys_addr,
		.size = run->mmio.size,
		.write = run->mmio.is_write,
	};
	int ret;

	/* a write's data as the guest wrote it; a read's all-ones */
	a.data = a.write ? run->mmio.data : access_mask(a.size);
	ret = bus__dispatch(&m->mmio, &a);
	if (ret == BUS_UNCLAIMED)
		ret = mmio__unclaimed(m, &a);
	if (!a.write)
		run->mmio.data = a.data;
	return ret;
}
