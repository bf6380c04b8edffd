// SPDX-License-Identifier: GPL-2.0
/*
 * The device registry (bus.c): registration, overlaps refused with a
 * message naming both devices, lookup at the edges of each range and of
 * the address space, access widths, dispatch to the handler.
 */
#include <errno.h>
#include <string.h>

#include "test.h"
#include "../khyp.h"

static struct bus bus;
static int calls;
static struct bus_access seen;

/* Records the access; returns the opaque pointer's int as the status. */
static int handler(struct bus_access *a, void *opaque)
{
	calls++;
	seen = *a;
	if (!a->write)
		a->data = 0x5a;
	return opaque ? *(int *)opaque : RUN_CONTINUE;
}

static struct bus_dev dev(const char *name, uint64_t base, uint64_t len)
{
	return (struct bus_dev){ .name = name, .base = base, .len = len,
				 .widths = BUS_WIDTH_ANY, .handle = handler };
}

static int reg(struct tctx *t, const char *name, uint64_t base, uint64_t len)
{
	struct bus_dev d = dev(name, base, len);

	t->err[0] = 0;
	return bus__register(&bus, &d, t->err, sizeof(t->err));
}

/* The name of the device that claims a byte access at addr, or "-". */
static const char *at(uint64_t addr)
{
	const struct bus_dev *d = bus__find(&bus, addr, 1);

	return d ? d->name : "-";
}

static void bus_setup(const char *name, uint64_t limit)
{
	bus__exit(&bus);
	bus__init(&bus, name, limit);
	calls = 0;
	memset(&seen, 0, sizeof(seen));
}

static void bus_empty(struct tctx *t)
{
	bus_setup("port", 0x10000);
	CHECK(t, !strcmp(at(0), "-") && !strcmp(at(0xffff), "-"));
	CHECK(t, !bus__find(&bus, 0x3f8, 1) && !bus__find(&bus, ~0ULL, 8));
}

static void bus_edges(struct tctx *t)
{
	bus_setup("port", 0x10000);
	CHECK(t, reg(t, "com1", 0x3f8, 8) == 0);
	CHECK(t, reg(t, "exit", 0xf4, 1) == 0);
	CHECK(t, reg(t, "first", 0, 2) == 0);
	CHECK(t, reg(t, "last", 0xfff0, 0x10) == 0);
	CHECK(t, bus.nr == 4);
	CHECK(t, !strcmp(at(0x3f7), "-"));
	CHECK(t, !strcmp(at(0x3f8), "com1") && !strcmp(at(0x3ff), "com1"));
	CHECK(t, !strcmp(at(0x400), "-"));
	CHECK(t, !strcmp(at(0xf3), "-") && !strcmp(at(0xf4), "exit"));
	CHECK(t, !strcmp(at(0xf5), "-"));
	CHECK(t, !strcmp(at(0), "first") && !strcmp(at(1), "first"));
	CHECK(t, !strcmp(at(2), "-"));
	CHECK(t, !strcmp(at(0xffef), "-") && !strcmp(at(0xfff0), "last"));
	CHECK(t, !strcmp(at(0xffff), "last") && !strcmp(at(0x10000), "-"));
	CHECK(t, !strcmp(at(~0ULL), "-"));
}

static void bus_adjacent_ranges(struct tctx *t)
{
	bus_setup("port", 0x10000);
	CHECK(t, reg(t, "b", 0x20, 0x10) == 0);
	CHECK(t, reg(t, "a", 0x10, 0x10) == 0);		/* ends where b starts */
	CHECK(t, reg(t, "c", 0x30, 1) == 0);		/* starts where b ends */
	CHECK(t, !strcmp(at(0x1f), "a") && !strcmp(at(0x20), "b"));
	CHECK(t, !strcmp(at(0x2f), "b") && !strcmp(at(0x30), "c"));
	CHECK(t, !strcmp(at(0x31), "-") && !strcmp(at(0xf), "-"));
	/* kept sorted whatever the order of registration */
	CHECK(t, bus.devs[0].base == 0x10 && bus.devs[1].base == 0x20 &&
	      bus.devs[2].base == 0x30);
}

static void bus_overlap_refused(struct tctx *t)
{
	bus_setup("port", 0x10000);
	CHECK(t, reg(t, "COM1", 0x3f8, 8) == 0);
	CHECK(t, reg(t, "dup", 0x3f8, 8) == -EEXIST);
	CHECK(t, t_err_has(t, "port 0x3f8-0x3ff of dup overlaps 0x3f8-0x3ff of COM1"));
	CHECK(t, reg(t, "low", 0x3f0, 9) == -EEXIST);	/* last byte 0x3f8 */
	CHECK(t, t_err_has(t, "port 0x3f0-0x3f8 of low overlaps 0x3f8-0x3ff of COM1"));
	CHECK(t, reg(t, "high", 0x3ff, 4) == -EEXIST);
	CHECK(t, t_err_has(t, "of high overlaps 0x3f8-0x3ff of COM1"));
	CHECK(t, reg(t, "inside", 0x3fa, 1) == -EEXIST);
	CHECK(t, reg(t, "around", 0x300, 0x200) == -EEXIST);
	CHECK(t, t_err_has(t, "port 0x300-0x4ff of around overlaps"));
	/* refused ones left nothing behind */
	CHECK(t, bus.nr == 1 && !strcmp(at(0x3f0), "-") && !strcmp(at(0x400), "-"));
	CHECK(t, !strcmp(at(0x3f8), "COM1") && !strcmp(at(0x3ff), "COM1"));
}

static void bus_bad_registration(struct tctx *t)
{
	struct bus_dev d;

	bus_setup("port", 0x10000);
	CHECK(t, reg(t, "empty", 0x10, 0) == -EINVAL);
	CHECK(t, t_err_has(t, "empty: port range at 0x10 of 0 bytes is empty or outside the port space"));
	CHECK(t, reg(t, "past", 0xffff, 2) == -EINVAL);
	CHECK(t, reg(t, "outside", 0x10000, 1) == -EINVAL);
	CHECK(t, reg(t, "wraps", ~0ULL, 2) == -EINVAL);
	d = dev("nowidth", 0x10, 1);
	d.widths = 0;
	CHECK(t, bus__register(&bus, &d, t->err, sizeof(t->err)) == -EINVAL);
	d.widths = 0x10;
	CHECK(t, bus__register(&bus, &d, t->err, sizeof(t->err)) == -EINVAL);
	CHECK(t, t_err_has(t, "nowidth: no handler or bad access widths 0x10"));
	d = dev("nohandler", 0x10, 1);
	d.handle = NULL;
	CHECK(t, bus__register(&bus, &d, t->err, sizeof(t->err)) == -EINVAL);
	d = dev("flags", 0x10, 1);
	d.flags = 1;		/* none defined yet: doorbells will be one */
	CHECK(t, bus__register(&bus, &d, t->err, sizeof(t->err)) == -EINVAL);
	CHECK(t, t_err_has(t, "flags: unknown flags 0x1"));
	CHECK(t, bus.nr == 0);
	/* the whole port space is one valid range */
	CHECK(t, reg(t, "all", 0, 0x10000) == 0);
	CHECK(t, !strcmp(at(0), "all") && !strcmp(at(0xffff), "all"));
}

static void bus_mmio_space(struct tctx *t)
{
	bus_setup("MMIO", 0);
	CHECK(t, reg(t, "lapic", 0xfee00000, 0x1000) == 0);
	CHECK(t, reg(t, "top", ~0ULL - 0xfff, 0x1000) == 0);	/* ends at 2^64 */
	CHECK(t, reg(t, "wraps", ~0ULL - 0xfff, 0x1001) == -EINVAL);
	CHECK(t, reg(t, "x", 0xfee00ff8, 0x10) == -EEXIST);
	CHECK(t, t_err_has(t, "MMIO 0xfee00ff8-0xfee01007 of x overlaps 0xfee00000-0xfee00fff of lapic"));
	CHECK(t, !strcmp(at(0xfedfffff), "-") && !strcmp(at(0xfee00000), "lapic"));
	CHECK(t, !strcmp(at(0xfee00fff), "lapic") && !strcmp(at(0xfee01000), "-"));
	CHECK(t, !strcmp(at(~0ULL), "top") && !strcmp(at(~0ULL - 0x1000), "-"));
}

static void bus_widths(struct tctx *t)
{
	struct bus_dev d = dev("bytes", 0x3f8, 8);

	bus_setup("port", 0x10000);
	d.widths = BUS_WIDTH_1;
	CHECK(t, bus__register(&bus, &d, t->err, sizeof(t->err)) == 0);
	d = dev("words", 0x100, 4);
	d.widths = BUS_WIDTH_2 | BUS_WIDTH_4;
	CHECK(t, bus__register(&bus, &d, t->err, sizeof(t->err)) == 0);
	CHECK(t, bus__find(&bus, 0x3f8, 1) && bus__find(&bus, 0x3ff, 1));
	CHECK(t, !bus__find(&bus, 0x3f8, 2) && !bus__find(&bus, 0x3fc, 4));
	CHECK(t, !bus__find(&bus, 0x100, 1) && bus__find(&bus, 0x100, 2));
	CHECK(t, bus__find(&bus, 0x103, 4) && !bus__find(&bus, 0x100, 8));
	/* not a width at all */
	CHECK(t, !bus__find(&bus, 0x100, 0) && !bus__find(&bus, 0x100, 6));
	CHECK(t, !bus__find(&bus, 0x100, 3) && !bus__find(&bus, 0x100, 16));
}

static void bus_dispatch(struct tctx *t)
{
	static int status = 33;
	struct bus_access a = { .addr = 0x3fd, .size = 1, .data = 0xff };
	struct bus_dev d = dev("com1", 0x3f8, 8);

	bus_setup("port", 0x10000);
	CHECK(t, bus__register(&bus, &d, t->err, sizeof(t->err)) == 0);
	d = dev("exit", 0xf4, 1);
	d.opaque = &status;
	CHECK(t, bus__register(&bus, &d, t->err, sizeof(t->err)) == 0);
	CHECK(t, bus__dispatch(&bus, &a) == RUN_CONTINUE);
	CHECK(t, calls == 1 && seen.off == 5 && seen.addr == 0x3fd);
	CHECK(t, a.data == 0x5a && a.off == 5);
	a = (struct bus_access){ .addr = 0xf4, .size = 4, .write = true,
				 .data = 0x10 };
	CHECK(t, bus__dispatch(&bus, &a) == 33);
	CHECK(t, calls == 2 && seen.write && seen.data == 0x10 && !seen.off);
	/* unclaimed: the handler is not called, the access untouched */
	a = (struct bus_access){ .addr = 0xf5, .size = 1, .data = 0xff };
	CHECK(t, bus__dispatch(&bus, &a) == BUS_UNCLAIMED);
	CHECK(t, calls == 2 && a.data == 0xff && !a.off);
	CHECK(t, BUS_UNCLAIMED != RUN_CONTINUE && BUS_UNCLAIMED < 0);
}

static void bus_many(struct tctx *t)
{
	static const char *const names[] = { "even", "odd" };
	uint64_t i;

	bus_setup("port", 0x10000);
	/* backwards, to move every entry; past the first allocation */
	for (i = 100; i-- > 0;)
		CHECK(t, reg(t, names[i & 1], 0x1000 + 0x10 * i, 0x10) == 0);
	CHECK(t, bus.nr == 100);
	for (i = 0; i < 100; i++) {
		CHECK(t, !strcmp(at(0x1000 + 0x10 * i), names[i & 1]));
		CHECK(t, !strcmp(at(0x100f + 0x10 * i), names[i & 1]));
	}
	CHECK(t, !strcmp(at(0xfff), "-") && !strcmp(at(0x1640), "-"));
	CHECK(t, reg(t, "dup", 0x1318, 0x10) == -EEXIST);
	CHECK(t, t_err_has(t, "of dup overlaps 0x1310-0x131f of odd"));
	bus__exit(&bus);
	CHECK(t, bus.nr == 0 && !bus.devs && !strcmp(at(0x1000), "-"));
}

const struct tcase bus_cases[] = {
	{ "bus_empty", bus_empty },
	{ "bus_edges", bus_edges },
	{ "bus_adjacent_ranges", bus_adjacent_ranges },
	{ "bus_overlap_refused", bus_overlap_refused },
	{ "bus_bad_registration", bus_bad_registration },
	{ "bus_mmio_space", bus_mmio_space },
	{ "bus_widths", bus_widths },
	{ "bus_dispatch", bus_dispatch },
	{ "bus_many", bus_many },
	{ NULL, NULL },
};
