// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O exits: the guest executed IN or OUT (one port, 1, 2 or 4
 * bytes; string and REP forms stop in the kernel as an internal error).
 * The access goes to the device that claims the port on the machine's
 * port bus (bus.h; devices/ registers COM1 at 0x3f8-0x3ff, the debug exit
 * at 0xf4, POST codes at 0x80).  A port no device claims reads all-ones
 * and ignores writes; it is counted (run.c reports the count and the
 * first such ports at the end), and with --strict the launcher stops
 * (STATUS_STRICT).  An IN's result goes back in run->io.data, which the
 * kernel puts into AL/AX/EAX at the next KHYP_RUN.
 */
#include <stdio.h>

#include "khyp.h"

/* Count @port among the distinct ones; the first UNKNOWN_PORTS_MAX only. */
static void ioport__count_unknown(struct machine *m, uint16_t port)
{
	unsigned int i;

	for (i = 0; i < m->nr_unknown_ports; i++) {
		if (m->unknown_ports[i].port == port) {
			m->unknown_ports[i].count++;
			return;
		}
	}
	if (i < UNKNOWN_PORTS_MAX) {
		m->unknown_ports[i].port = port;
		m->unknown_ports[i].count = 1;
		m->nr_unknown_ports++;
	}
}

static int ioport__unclaimed(struct machine *m, const struct bus_access *a)
{
	if (!m->unknown_io++)
		m->first_unknown_port = a->addr;
	ioport__count_unknown(m, a->addr);
	if (m->opts->strict) {
		fprintf(stderr, "khyp: --strict: guest %s port 0x%x (size %u)\n",
			a->write ? "wrote" : "read", (unsigned int)a->addr,
			a->size);
		return STATUS_STRICT;
	}
	return RUN_CONTINUE;
}

int ioport__handle(struct machine *m, struct vcpu *vcpu)
{
	struct khyp_run *run = vcpu->run;
	struct bus_access a = {
		.addr = run->io.port,
		.size = run->io.size,
		.write = run->io.direction == KHYP_IO_OUT,
	};
	int ret;

	a.data = access_mask(a.size);
	if (a.write)
		a.data &= run->io.data;
	ret = bus__dispatch(&m->ports, &a);
	if (ret == BUS_UNCLAIMED)
		ret = ioport__unclaimed(m, &a);
	run->io.data = a.data;
	return ret;
}
