// SPDX-License-Identifier: GPL-2.0
/*
 * Two ports for whoever debugs or tests a guest:
 *
 *   0xf4  debug exit, as QEMU's isa-debug-exit: a write of v, of any
 *         width, stops the launcher with status (v << 1) | 1, modulo 256
 *         (always odd, so a guest's verdict never looks like one of the
 *         launcher's own statuses; khyp.h).  A read returns all-ones.
 *   0x80  POST codes, which firmware and Linux also write as a short
 *         delay: ignored, a read returns all-ones.
 *
 * Neither counts as an unknown port, so --strict lets both through.
 */
#include <inttypes.h>
#include <stdio.h>

#include "../khyp.h"

#define PORT_DEBUG_EXIT		0xf4
#define PORT_POST		0x80

static int debug__exit_io(struct bus_access *a, void *opaque)
{
	struct machine *m = opaque;
	int status = ((a->data << 1) | 1) & 0xff;

	if (!a->write)
		return RUN_CONTINUE;
	if (m->opts->trace)
		fprintf(stderr, "khyp: debug exit: guest wrote 0x%" PRIx64 ", status %d\n",
			a->data, status);
	return status;
}

static int debug__post_io(struct bus_access *a, void *opaque)
{
	(void)a;
	(void)opaque;
	return RUN_CONTINUE;
}

int debug__init(struct machine *m, char *err, size_t errlen)
{
	const struct bus_dev exit_port = {
		.name = "debug exit",
		.base = PORT_DEBUG_EXIT,
		.len = 1,
		.widths = BUS_WIDTH_ANY,
		.handle = debug__exit_io,
		.opaque = m,
	};
	const struct bus_dev post_port = {
		.name = "POST codes",
		.base = PORT_POST,
		.len = 1,
		.widths = BUS_WIDTH_ANY,
		.handle = debug__post_io,
	};

	if (bus__register(&m->ports, &exit_port, err, errlen))
		return -1;
	return bus__register(&m->ports, &post_port, err, errlen);
}
