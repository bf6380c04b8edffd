/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The launcher's device registry: two address spaces ("buses"), the I/O
 * ports and the guest-physical addresses outside RAM (MMIO).  A device
 * claims a range [base, base + len) of one of them with a handler and an
 * opaque pointer (devices/ registers them at start-up); on each port or
 * MMIO exit, ioport.c or mmio.c looks the address up and calls the
 * handler, and answers itself what no device claims (all-ones, counted,
 * --strict stops).  Ranges never overlap: bus__register refuses one that
 * would, naming both devices, so no access is ever decided by the order
 * of registration.
 *
 * An access is the device's when the range holds the access's first
 * byte and the device decodes its width (struct bus_dev.widths); any
 * other access is unclaimed, as on a real bus where no device answers.
 * So COM1 claims byte accesses to 0x3f8-0x3ff only, and the debug-exit
 * port 0xf4 a write of any width.
 *
 * Later (the platform issue, no uapi yet): a range whose writes the
 * kernel completes without an exit by signalling an eventfd (a doorbell,
 * as KVM's ioeventfd) will still be registered here, with a flag in
 * struct bus_dev.flags, so that the launcher's and the kernel's ranges
 * are checked against each other in this one place; the registry then
 * hands such a range to the kernel instead of calling a handler for it.
 * Devices will raise their interrupt lines through the same issue's
 * irqfd-like call, not through the bus.
 */
#ifndef KHYP_BUS_H
#define KHYP_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One access, as a handler sees it. */
struct bus_access {
	uint64_t addr;		/* the port or guest-physical address */
	uint64_t off;		/* addr - the device's base */
	unsigned int size;	/* bytes: 1, 2, 4 or 8 */
	bool write;
	/* a write's value, trimmed to size; a read's result, all-ones until set */
	uint64_t data;
};

/* RUN_CONTINUE (khyp.h), or a status to stop the launcher with. */
typedef int (*bus_handler_t)(struct bus_access *a, void *opaque);

/* struct bus_dev.widths: the access sizes a device decodes */
#define BUS_WIDTH_1		1
#define BUS_WIDTH_2		2
#define BUS_WIDTH_4		4
#define BUS_WIDTH_8		8
#define BUS_WIDTH_ANY		0xf

struct bus_dev {
	const char *name;	/* for messages: "COM1", "debug exit" */
	uint64_t base;
	uint64_t len;		/* > 0; base + len within the bus */
	unsigned int widths;	/* BUS_WIDTH_*, at least one */
	unsigned int flags;	/* none defined yet: must be 0 (doorbells) */
	bus_handler_t handle;
	void *opaque;		/* the handler's second argument */
};

/* One address space; filled at start-up, then only read (one vCPU runs). */
struct bus {
	const char *name;	/* "port", "MMIO" */
	uint64_t limit;		/* addresses below it; 0: all of 2^64 */
	struct bus_dev *devs;	/* sorted by base, never overlapping */
	unsigned int nr, alloc;
};

/* bus__dispatch found no device: distinct from RUN_CONTINUE and statuses */
#define BUS_UNCLAIMED		-2

void bus__init(struct bus *bus, const char *name, uint64_t limit);
void bus__exit(struct bus *bus);
/*
 * Claim dev's range: 0, or a negative errno with a message in err:
 * -EINVAL a malformed registration (empty, wrapping or past the bus's
 * limit, no handler or widths, unknown flags), -EEXIST a range that
 * overlaps a registered one, -ENOMEM.
 */
int bus__register(struct bus *bus, const struct bus_dev *dev,
		  char *err, size_t errlen);
/*
 * Release the range registered at base (a PCI BAR the guest moves or
 * stops decoding): 0, or -ENOENT if no range starts there.
 */
int bus__unregister(struct bus *bus, uint64_t base);
/*
 * The device that claims an access; valid until the next registration
 * or unregistration.
 */
const struct bus_dev *bus__find(const struct bus *bus, uint64_t addr,
				unsigned int size);
/*
 * Hand a to the device that claims it (setting a->off): its handler's
 * result, or BUS_UNCLAIMED with *a untouched.
 */
int bus__dispatch(const struct bus *bus, struct bus_access *a);

#endif /* KHYP_BUS_H */
