// SPDX-License-Identifier: GPL-2.0
/*
 * The device registry (bus.h): per address space, an array of ranges kept
 * sorted by base and free of overlaps, so a lookup is one binary search
 * and a registration needs to check only its two neighbours.  Pure: no
 * I/O of its own, and loader_test checks it natively.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

void bus__init(struct bus *bus, const char *name, uint64_t limit)
{
	bus->name = name;
	bus->limit = limit;
	bus->devs = NULL;
	bus->nr = 0;
	bus->alloc = 0;
}

void bus__exit(struct bus *bus)
{
	free(bus->devs);
	bus__init(bus, bus->name, bus->limit);
}

/* The last byte of a range, which cannot wrap once registered. */
static uint64_t bus__last(const struct bus_dev *d)
{
	return d->base + d->len - 1;
}

static int __attribute__((format(printf, 4, 5)))
bus__fail(char *err, size_t errlen, int errnum, const char *fmt,
		     ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return errnum;
}

/* The index of the first device whose base is above addr (0..nr). */
static unsigned int bus__upper(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (bus->devs[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int bus__check(const struct bus *bus, const struct bus_dev *dev,
		      char *err, size_t errlen)
{
	const char *name = dev->name ? dev->name : "?";

	if (!dev->len || dev->base + dev->len - 1 < dev->base ||
	    (bus->limit && (dev->base >= bus->limit ||
			    dev->len > bus->limit - dev->base)))
		return bus__fail(err, errlen, -EINVAL,
				 "%s: %s range at 0x%" PRIx64 " of %" PRIu64 " bytes is empty or outside the %s space",
				 name, bus->name, dev->base, dev->len,
				 bus->name);
	if (!dev->handle || !dev->widths || (dev->widths & ~BUS_WIDTH_ANY))
		return bus__fail(err, errlen, -EINVAL,
				 "%s: no handler or bad access widths 0x%x",
				 name, dev->widths);
	if (dev->flags)
		return bus__fail(err, errlen, -EINVAL,
				 "%s: unknown flags 0x%x", name, dev->flags);
	return 0;
}

static int bus__overlap(const struct bus *bus, const struct bus_dev *dev,
			const struct bus_dev *old, char *err, size_t errlen)
{
	return bus__fail(err, errlen, -EEXIST,
			 "%s 0x%" PRIx64 "-0x%" PRIx64 " of %s overlaps 0x%" PRIx64 "-0x%" PRIx64 " of %s",
			 bus->name, dev->base, bus__last(dev),
			 dev->name ? dev->name : "?", old->base, bus__last(old),
			 old->name ? old->name : "?");
}

int bus__register(struct bus *bus, const struct bus_dev *dev,
		  char *err, size_t errlen)
{
	unsigned int i, alloc;
	struct bus_dev *devs;
	int ret;

	ret = bus__check(bus, dev, err, errlen);
	if (ret)
		return ret;
	/* devs[i - 1] starts at or below dev, devs[i] above it */
	i = bus__upper(bus, dev->base);
	if (i > 0 && bus__last(&bus->devs[i - 1]) >= dev->base)
		return bus__overlap(bus, dev, &bus->devs[i - 1], err, errlen);
	if (i < bus->nr && bus->devs[i].base <= bus__last(dev))
		return bus__overlap(bus, dev, &bus->devs[i], err, errlen);
	if (bus->nr == bus->alloc) {
		alloc = bus->alloc ? 2 * bus->alloc : 8;
		devs = realloc(bus->devs, alloc * sizeof(*devs));
		if (!devs)
			return bus__fail(err, errlen, -ENOMEM,
					 "%s: out of memory", bus->name);
		bus->devs = devs;
		bus->alloc = alloc;
	}
	memmove(&bus->devs[i + 1], &bus->devs[i],
		(bus->nr - i) * sizeof(*bus->devs));
	bus->devs[i] = *dev;
	bus->nr++;
	return 0;
}

int bus__unregister(struct bus *bus, uint64_t base)
{
	unsigned int i = bus__upper(bus, base);

	if (!i || bus->devs[i - 1].base != base)
		return -ENOENT;
	i--;
	memmove(&bus->devs[i], &bus->devs[i + 1],
		(bus->nr - i - 1) * sizeof(*bus->devs));
	bus->nr--;
	return 0;
}

const struct bus_dev *bus__find(const struct bus *bus, uint64_t addr,
				unsigned int size)
{
	unsigned int i = bus__upper(bus, addr);
	const struct bus_dev *d;

	if (!i)
		return NULL;
	d = &bus->devs[i - 1];
	if (addr - d->base >= d->len)
		return NULL;
	/* one width the device decodes: 1, 2, 4 or 8 */
	if (size > BUS_WIDTH_8 || (size & (size - 1)) || !(d->widths & size))
		return NULL;
	return d;
}

int bus__dispatch(const struct bus *bus, struct bus_access *a)
{
	const struct bus_dev *d = bus__find(bus, a->addr, a->size);

	if (!d)
		return BUS_UNCLAIMED;
	a->off = a->addr - d->base;
	return d->handle(a, d->opaque);
}
