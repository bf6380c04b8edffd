// SPDX-License-Identifier: GPL-2.0
/*
 * PCI bus 0 (devices/pci.c) as a guest sees it through 0xcf8/0xcfc, the
 * ECAM and the BARs on the port and MMIO buses: config accesses of every width,
 * the host bridge, read-only and writable header bits, BAR sizing,
 * placement and moves, the capability list, INTx routing and sharing,
 * and MSI-X (table, masking, pending bits) with fake interrupt hooks in
 * place of the VM's ioctls.  Also bus__unregister (bus.c).
 */
#include <errno.h>
#include <string.h>

#include "test.h"
#include "../khyp.h"

static struct bus ports, mmio;
static struct pci_host host;

/* what the fake hooks saw */
static struct {
	unsigned int lines, msis;
	unsigned int gsi;
	int level;
	uint64_t addr;
	uint32_t data;
	unsigned int decode_changes;
	unsigned int bar_calls;
} sink;

static int fake_irq_line(void *opaque, unsigned int gsi, int level)
{
	(void)opaque;
	sink.lines++;
	sink.gsi = gsi;
	sink.level = level;
	return 0;
}

static int fake_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque;
	sink.msis++;
	sink.addr = addr;
	sink.data = data;
	return 0;
}

static int bar_io(struct bus_access *a, void *opaque)
{
	(void)opaque;
	sink.bar_calls++;
	if (!a->write)
		a->data = 0x42;
	return RUN_CONTINUE;
}

static void decode_changed(struct pci_dev *d)
{
	(void)d;
	sink.decode_changes++;
}

static const struct pci_dev_ops test_ops = {
	.decode_changed = decode_changed,
};

static int pci_setup(struct tctx *t)
{
	pci__exit(&host);
	bus__exit(&ports);
	bus__exit(&mmio);
	bus__init(&ports, "port", 0x10000);
	bus__init(&mmio, "MMIO", 0);
	memset(&sink, 0, sizeof(sink));
	if (pci__init(&host, &ports, &mmio, -1, t->err, sizeof(t->err)))
		return -1;
	host.irq_line = fake_irq_line;
	host.msi = fake_msi;
	return 0;
}

static uint64_t io(bool write, uint16_t port, unsigned int size,
		   uint64_t data)
{
	struct bus_access a = { .addr = port, .size = size, .write = write,
				.data = write ? data : access_mask(size) };

	if (bus__dispatch(&ports, &a) == BUS_UNCLAIMED)
		return 0xdead;		/* never a config value of these tests */
	return a.data;
}

static uint64_t mm(bool write, uint64_t gpa, unsigned int size, uint64_t data)
{
	struct bus_access a = { .addr = gpa, .size = size, .write = write,
				.data = write ? data : access_mask(size) };

	if (bus__dispatch(&mmio, &a) == BUS_UNCLAIMED)
		return 0xdead;
	return a.data;
}

#define BDF(slot, fn)	(((slot) << 11) | ((fn) << 8))

/* A config read or write of size bytes at off of 00:slot.fn */
static uint32_t cfg_rd(unsigned int bdf, unsigned int off, unsigned int size)
{
	io(true, PCI_CONFIG_ADDR, 4, PCI_CONFIG_ENABLE | bdf | (off & 0xfc));
	return io(false, PCI_CONFIG_DATA + (off & 3), size, 0);
}

static void cfg_wr(unsigned int bdf, unsigned int off, unsigned int size,
		   uint32_t v)
{
	io(true, PCI_CONFIG_ADDR, 4, PCI_CONFIG_ENABLE | bdf | (off & 0xfc));
	io(true, PCI_CONFIG_DATA + (off & 3), size, v);
}

static void pci_config_mechanism(struct tctx *t)
{
	unsigned int i;

	CHECK(t, !pci_setup(t));
	/* the address register: a dword, bits 1:0 and 30:24 read 0 */
	CHECK(t, io(false, PCI_CONFIG_ADDR, 4, 0) == 0);
	io(true, PCI_CONFIG_ADDR, 4, 0x80000000);
	CHECK(t, io(false, PCI_CONFIG_ADDR, 4, 0) == 0x80000000);
	io(true, PCI_CONFIG_ADDR, 4, 0xff00ff03);
	CHECK(t, io(false, PCI_CONFIG_ADDR, 4, 0) == 0x8000ff00);
	/* Linux's type 1 probe: a byte to 0xcfb changes nothing */
	io(true, PCI_CONFIG_ADDR, 4, 0x80000000);
	CHECK(t, io(true, 0xcfb, 1, 1) != 0xdead);
	CHECK(t, io(false, PCI_CONFIG_ADDR, 4, 0) == 0x80000000);
	CHECK(t, io(false, 0xcfa, 2, 0) == 0xffff);
	/* 0xcf9 is the reset register's, not PCI's */
	CHECK(t, !bus__find(&ports, 0xcf9, 1));
	/* the host bridge, at every width and offset */
	CHECK(t, cfg_rd(0, 0, 4) == 0x29c08086);
	CHECK(t, cfg_rd(0, 0, 2) == 0x8086 && cfg_rd(0, 2, 2) == 0x29c0);
	CHECK(t, cfg_rd(0, 0, 1) == 0x86 && cfg_rd(0, 1, 1) == 0x80 &&
	      cfg_rd(0, 2, 1) == 0xc0 && cfg_rd(0, 3, 1) == 0x29);
	CHECK(t, cfg_rd(0, PCI_CLASS_REVISION, 4) == 0x06000000);
	CHECK(t, cfg_rd(0, PCI_HEADER_TYPE, 1) == 0);
	CHECK(t, cfg_rd(0, PCI_SUBSYSTEM_VENDOR_ID, 4) == 0x11001af4);
	CHECK(t, cfg_rd(0, PCI_BASE_ADDRESS_0, 4) == 0);
	/* a word or dword past the data window's end is not a config access */
	io(true, PCI_CONFIG_ADDR, 4, 0x80000000);
	CHECK(t, io(false, 0xcff, 2, 0) == 0xffff);
	/* empty slots, other functions and buses, the enable bit clear */
	for (i = 1; i < PCI_NR_SLOTS; i++)
		CHECK(t, cfg_rd(BDF(i, 0), 0, 4) == 0xffffffff);
	CHECK(t, cfg_rd(BDF(0, 1), 0, 4) == 0xffffffff);
	CHECK(t, cfg_rd(BDF(7, 0), 2, 2) == 0xffff);
	CHECK(t, cfg_rd(BDF(7, 0), 3, 1) == 0xff);
	io(true, PCI_CONFIG_ADDR, 4, 0x80010000);
	CHECK(t, io(false, PCI_CONFIG_DATA, 4, 0) == 0xffffffff);
	io(true, PCI_CONFIG_ADDR, 4, 0);
	CHECK(t, io(false, PCI_CONFIG_DATA, 4, 0) == 0xffffffff);
	/* writes there go nowhere */
	cfg_wr(BDF(3, 0), PCI_COMMAND, 2, 7);
	CHECK(t, cfg_rd(BDF(3, 0), PCI_COMMAND, 2) == 0xffff);
}

static const struct pci_ids test_ids = {
	.vendor = 0x1af4, .device = 0x1042, .subsys_vendor = 0x1af4,
	.subsys = 0x0002, .class_code = 0x018000, .revision = 1,
	.irq_pin = 1,
};

/* BAR 0 I/O 32 bytes, BAR 1 memory 4 KiB, BARs 2-3 64-bit 16 KiB */
static int dev_setup(struct tctx *t, struct pci_dev *d)
{
	char *e = t->err;
	size_t n = sizeof(t->err);

	pci_dev__init(d, "test", &test_ids);
	d->ops = &test_ops;
	if (pci_dev__bar(d, 0, PCI_BAR_IO, 32, 0, bar_io, NULL, e, n) ||
	    pci_dev__bar(d, 1, PCI_BAR_MEM32, 4096, BUS_WIDTH_4, bar_io, NULL,
			 e, n) ||
	    pci_dev__bar(d, 2, PCI_BAR_MEM64, 0x4000, 0, bar_io, NULL, e, n))
		return -1;
	return pci__register(&host, d, e, n);
}

static void pci_header_bits(struct tctx *t)
{
	static struct pci_dev d;
	unsigned int s = BDF(1, 0);

	CHECK(t, !pci_setup(t));
	CHECK(t, !dev_setup(t, &d) && d.slot == 1);
	CHECK(t, cfg_rd(s, 0, 4) == 0x10421af4);
	CHECK(t, cfg_rd(s, PCI_CLASS_REVISION, 4) == 0x01800001);
	/* placed as firmware would, decoding and bus mastering on */
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_0, 4) == (0xc000 | 1));
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_1, 4) == 0xc0000000);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_2, 4) == (0xc0004000 | 4));
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_3, 4) == 0);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_4, 4) == 0);
	CHECK(t, cfg_rd(s, PCI_COMMAND, 2) == 7);
	CHECK(t, pci_dev__bar_addr(&d, 2) == 0xc0004000);
	CHECK(t, pci_dev__bar_addr(&d, 4) == PCI_BAR_UNMAPPED);
	CHECK(t, io(false, 0xc01f, 1, 0) == 0x42 && io(false, 0xc020, 1, 0) ==
	      0xdead);
	CHECK(t, mm(false, 0xc0000ffc, 4, 0) == 0x42);
	CHECK(t, mm(false, 0xc0000000, 2, 0) == 0xdead);	/* widths */
	CHECK(t, mm(true, 0xc0007ff8, 8, 1) != 0xdead);
	CHECK(t, sink.bar_calls == 3);
	/* read-only: IDs, class, header type, status, ROM, pin */
	cfg_wr(s, 0, 4, 0);
	cfg_wr(s, PCI_CLASS_REVISION, 4, 0xffffffff);
	cfg_wr(s, PCI_HEADER_TYPE, 1, 0x80);
	cfg_wr(s, PCI_STATUS, 2, 0xffff);
	cfg_wr(s, PCI_ROM_ADDRESS, 4, 0xffffffff);
	cfg_wr(s, PCI_SUBSYSTEM_VENDOR_ID, 4, 0);
	cfg_wr(s, PCI_INTERRUPT_PIN, 1, 3);
	cfg_wr(s, PCI_CAPABILITY_LIST, 1, 0x40);
	CHECK(t, cfg_rd(s, 0, 4) == 0x10421af4);
	CHECK(t, cfg_rd(s, PCI_CLASS_REVISION, 4) == 0x01800001);
	CHECK(t, cfg_rd(s, PCI_HEADER_TYPE, 1) == 0);
	CHECK(t, cfg_rd(s, PCI_STATUS, 2) == 0);
	CHECK(t, cfg_rd(s, PCI_ROM_ADDRESS, 4) == 0);
	CHECK(t, cfg_rd(s, PCI_SUBSYSTEM_VENDOR_ID, 4) == 0x00021af4);
	CHECK(t, cfg_rd(s, PCI_INTERRUPT_PIN, 1) == 1);
	CHECK(t, cfg_rd(s, PCI_CAPABILITY_LIST, 1) == 0);
	/* writable: the command bits, cache line size, interrupt line */
	cfg_wr(s, PCI_CACHE_LINE_SIZE, 1, 0x10);
	cfg_wr(s, PCI_LATENCY_TIMER, 1, 0x40);
	CHECK(t, cfg_rd(s, PCI_CACHE_LINE_SIZE, 4) == 0x10);
	CHECK(t, cfg_rd(s, PCI_INTERRUPT_LINE, 1) == PCI_INTX_GSI(1, 1));
	cfg_wr(s, PCI_INTERRUPT_LINE, 1, 11);
	CHECK(t, cfg_rd(s, PCI_INTERRUPT_LINE, 2) == 0x10b);
	sink.decode_changes = 0;
	cfg_wr(s, PCI_COMMAND, 4, 0xffffffff);
	CHECK(t, cfg_rd(s, PCI_COMMAND, 4) == 0x547);
	CHECK(t, sink.decode_changes == 1);
	cfg_wr(s, PCI_COMMAND + 1, 1, 0);
	CHECK(t, cfg_rd(s, PCI_COMMAND, 2) == 0x47);
	/* the host bridge's header too */
	cfg_wr(0, 0, 4, 0x12345678);
	cfg_wr(0, PCI_CLASS_REVISION, 4, 0);
	CHECK(t, cfg_rd(0, 0, 4) == 0x29c08086 &&
	      cfg_rd(0, PCI_CLASS_REVISION, 4) == 0x06000000);
}

static void pci_bar_sizing(struct tctx *t)
{
	static struct pci_dev d;
	unsigned int s = BDF(1, 0);

	CHECK(t, !pci_setup(t));
	CHECK(t, !dev_setup(t, &d));
	/* Linux sizes with decoding off: the ranges leave the buses */
	sink.decode_changes = 0;
	cfg_wr(s, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	CHECK(t, sink.decode_changes == 1);
	CHECK(t, io(false, 0xc000, 1, 0) == 0xdead);
	CHECK(t, mm(false, 0xc0000000, 4, 0) == 0xdead);
	CHECK(t, pci_dev__bar_addr(&d, 1) == PCI_BAR_UNMAPPED);
	cfg_wr(s, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	cfg_wr(s, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	cfg_wr(s, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	cfg_wr(s, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	cfg_wr(s, PCI_BASE_ADDRESS_4, 4, 0xffffffff);
	cfg_wr(s, PCI_BASE_ADDRESS_5, 4, 0xffffffff);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_0, 4) == 0xffffffe1);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_1, 4) == 0xfffff000);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_2, 4) == 0xffffc004);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_3, 4) == 0xffffffff);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_4, 4) == 0);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_5, 4) == 0);
	/* the flag bits stay whatever is written */
	cfg_wr(s, PCI_BASE_ADDRESS_0, 4, 0);
	cfg_wr(s, PCI_BASE_ADDRESS_2, 4, 0);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_0, 4) == 1);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_2, 4) == 4);
	/* narrower writes: a word, then bytes */
	cfg_wr(s, PCI_BASE_ADDRESS_0, 2, 0xd000);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_0, 4) == 0xd001);
	cfg_wr(s, PCI_BASE_ADDRESS_1 + 3, 1, 0xe1);
	cfg_wr(s, PCI_BASE_ADDRESS_1 + 2, 1, 0x00);
	cfg_wr(s, PCI_BASE_ADDRESS_1 + 1, 1, 0x2f);
	cfg_wr(s, PCI_BASE_ADDRESS_1, 1, 0xff);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_1, 4) == 0xe1002000);
	cfg_wr(s, PCI_BASE_ADDRESS_2, 4, 0xe1010000);
	cfg_wr(s, PCI_BASE_ADDRESS_3, 4, 0);
	/* decoding back on: the BARs where the guest put them */
	sink.decode_changes = 0;
	cfg_wr(s, PCI_COMMAND, 2, 7);
	CHECK(t, sink.decode_changes == 1);
	CHECK(t, io(false, 0xd01f, 1, 0) == 0x42 && io(false, 0xc000, 1, 0) ==
	      0xdead);
	CHECK(t, mm(false, 0xe1002000, 4, 0) == 0x42);
	CHECK(t, mm(false, 0xe1013ffc, 4, 0) == 0x42);
	CHECK(t, pci_dev__bar_addr(&d, 2) == 0xe1010000);
	/* moved while decoding: off the old address, on the new one */
	cfg_wr(s, PCI_BASE_ADDRESS_1, 4, 0xe2000000);
	CHECK(t, sink.decode_changes == 2);
	CHECK(t, mm(false, 0xe1002000, 4, 0) == 0xdead);
	CHECK(t, mm(false, 0xe2000000, 4, 0) == 0x42);
	/* onto another BAR: refused by the bus, left unmapped */
	cfg_wr(s, PCI_BASE_ADDRESS_1, 4, 0xe1010000);
	CHECK(t, pci_dev__bar_addr(&d, 1) == PCI_BAR_UNMAPPED);
	CHECK(t, mm(false, 0xe2000000, 4, 0) == 0xdead);
	cfg_wr(s, PCI_BASE_ADDRESS_1, 4, 0xe3000000);
	CHECK(t, pci_dev__bar_addr(&d, 1) == 0xe3000000);
	/* the same address again: no change reported */
	sink.decode_changes = 0;
	cfg_wr(s, PCI_BASE_ADDRESS_1, 4, 0xe3000000);
	CHECK(t, sink.decode_changes == 0);
	/* a 64-bit BAR above 4 GiB */
	cfg_wr(s, PCI_BASE_ADDRESS_3, 4, 1);
	CHECK(t, pci_dev__bar_addr(&d, 2) == 0x1e1010000ULL);
	CHECK(t, mm(false, 0x1e1010000ULL, 4, 0) == 0x42);
}

static void pci_bad_declarations(struct tctx *t)
{
	static struct pci_dev d, more[PCI_NR_SLOTS];
	unsigned int i;

	CHECK(t, !pci_setup(t));
	pci_dev__init(&d, "bad", &test_ids);
	CHECK(t, pci_dev__bar(&d, 6, PCI_BAR_IO, 4, 0, bar_io, NULL, t->err,
			      sizeof(t->err)) == -EINVAL);
	CHECK(t, pci_dev__bar(&d, 5, PCI_BAR_MEM64, 4096, 0, bar_io, NULL,
			      t->err, sizeof(t->err)) == -EINVAL);
	CHECK(t, pci_dev__bar(&d, 0, PCI_BAR_IO, 512, 0, bar_io, NULL, t->err,
			      sizeof(t->err)) == -EINVAL);
	CHECK(t, pci_dev__bar(&d, 0, PCI_BAR_MEM32, 3000, 0, bar_io, NULL,
			      t->err, sizeof(t->err)) == -EINVAL);
	CHECK(t, t_err_has(t, "not a power of two"));
	CHECK(t, pci_dev__bar(&d, 0, PCI_BAR_MEM32, 4096, 0, NULL, NULL,
			      t->err, sizeof(t->err)) == -EINVAL);
	CHECK(t, !pci_dev__bar(&d, 0, PCI_BAR_MEM64, 4096, 0, bar_io, NULL,
			       t->err, sizeof(t->err)));
	CHECK(t, pci_dev__bar(&d, 1, PCI_BAR_IO, 4, 0, bar_io, NULL, t->err,
			      sizeof(t->err)) == -EINVAL);
	CHECK(t, pci_dev__bar(&d, 0, PCI_BAR_IO, 4, 0, bar_io, NULL, t->err,
			      sizeof(t->err)) == -EINVAL);
	/* too big for the memory window: 256 MiB fits, 512 MiB does not */
	CHECK(t, !pci_dev__bar(&d, 2, PCI_BAR_MEM32, 0x10000000, 0, bar_io,
			       NULL, t->err, sizeof(t->err)));
	CHECK(t, !pci_dev__bar(&d, 3, PCI_BAR_MEM32, 0x20000000, 0, bar_io,
			       NULL, t->err, sizeof(t->err)));
	CHECK(t, pci__register(&host, &d, t->err, sizeof(t->err)) == -ENOSPC);
	CHECK(t, t_err_has(t, "no room for BAR 3"));
	/* slots 1-31, then none */
	for (i = 1; i < PCI_NR_SLOTS; i++) {
		pci_dev__init(&more[i], "more", &test_ids);
		CHECK(t, !pci__register(&host, &more[i], t->err,
					sizeof(t->err)));
		CHECK(t, more[i].slot == i);
	}
	pci_dev__init(&more[0], "one too many", &test_ids);
	CHECK(t, pci__register(&host, &more[0], t->err, sizeof(t->err)) ==
	      -ENOSPC);
	CHECK(t, t_err_has(t, "no PCI slot left"));
	CHECK(t, pci__register(&host, &more[3], t->err, sizeof(t->err)) ==
	      -EEXIST);
}

/* The ECAM address of bus:slot.fn's config offset off */
#define ECAM(bus, slot, fn, off) \
	(PCI_ECAM_BASE + ((uint64_t)(bus) << 20) + ((slot) << 15) + \
	 ((fn) << 12) + (off))

/*
 * The ECAM: the same config space as 0xcf8/0xcfc (reads and writes
 * either way round), every width and offset; other buses, functions and
 * empty slots all-ones; past 256 bytes all-ones and no write; unaligned
 * accesses not config accesses; 8 bytes not decoded.
 */
static void pci_ecam(struct tctx *t)
{
	static struct pci_dev d;
	unsigned int s = BDF(1, 0);

	CHECK(t, !pci_setup(t));
	CHECK(t, !dev_setup(t, &d) && d.slot == 1);
	CHECK(t, mm(false, ECAM(0, 0, 0, 0), 4, 0) == 0x29c08086);
	CHECK(t, mm(false, ECAM(0, 0, 0, 2), 2, 0) == 0x29c0);
	CHECK(t, mm(false, ECAM(0, 0, 0, 3), 1, 0) == 0x29);
	CHECK(t, mm(false, ECAM(0, 1, 0, 0), 4, 0) == 0x10421af4);
	CHECK(t, mm(false, ECAM(0, 1, 0, PCI_BASE_ADDRESS_1), 4, 0) ==
		 0xc0000000);
	CHECK(t, mm(false, ECAM(0, 1, 0, PCI_INTERRUPT_LINE), 1, 0) ==
		 PCI_INTX_GSI(1, 1));
	/* a write through the ECAM, read through 0xcf8, and back */
	mm(true, ECAM(0, 1, 0, PCI_INTERRUPT_LINE), 1, 11);
	CHECK(t, cfg_rd(s, PCI_INTERRUPT_LINE, 1) == 11);
	cfg_wr(s, PCI_CACHE_LINE_SIZE, 1, 0x10);
	CHECK(t, mm(false, ECAM(0, 1, 0, PCI_CACHE_LINE_SIZE), 1, 0) == 0x10);
	/* BAR sizing and a move through the ECAM: the core's same path */
	sink.decode_changes = 0;
	mm(true, ECAM(0, 1, 0, PCI_COMMAND), 2, PCI_COMMAND_MASTER);
	CHECK(t, sink.decode_changes == 1);
	CHECK(t, mm(false, 0xc0000000, 4, 0) == 0xdead);
	mm(true, ECAM(0, 1, 0, PCI_BASE_ADDRESS_1), 4, 0xffffffff);
	CHECK(t, mm(false, ECAM(0, 1, 0, PCI_BASE_ADDRESS_1), 4, 0) ==
		 0xfffff000);
	mm(true, ECAM(0, 1, 0, PCI_BASE_ADDRESS_1), 4, 0xd0000000);
	mm(true, ECAM(0, 1, 0, PCI_COMMAND), 2, 7);
	CHECK(t, mm(false, 0xd0000ffc, 4, 0) == 0x42);
	CHECK(t, pci_dev__bar_addr(&d, 1) == 0xd0000000);
	/* nothing else answers: functions, slots, buses */
	CHECK(t, mm(false, ECAM(0, 1, 1, 0), 4, 0) == 0xffffffff);
	CHECK(t, mm(false, ECAM(0, 2, 0, 0), 4, 0) == 0xffffffff);
	CHECK(t, mm(false, ECAM(0, 31, 7, 0xffc), 4, 0) == 0xffffffff);
	CHECK(t, mm(false, ECAM(1, 0, 0, 0), 4, 0) == 0xffffffff);
	CHECK(t, mm(false, ECAM(255, 1, 0, 0), 2, 0) == 0xffff);
	mm(true, ECAM(1, 1, 0, PCI_INTERRUPT_LINE), 1, 5);
	CHECK(t, cfg_rd(s, PCI_INTERRUPT_LINE, 1) == 11);
	/* extended config space of a conventional function: all-ones */
	CHECK(t, mm(false, ECAM(0, 1, 0, 0x100), 4, 0) == 0xffffffff);
	CHECK(t, mm(false, ECAM(0, 0, 0, 0xffc), 4, 0) == 0xffffffff);
	CHECK(t, mm(false, ECAM(0, 1, 0, 0xfff), 1, 0) == 0xff);
	mm(true, ECAM(0, 1, 0, 0x100 + PCI_INTERRUPT_LINE), 1, 3);
	CHECK(t, cfg_rd(s, PCI_INTERRUPT_LINE, 1) == 11);
	/* unaligned: all-ones, no write; 8 bytes: not the ECAM's */
	CHECK(t, mm(false, ECAM(0, 1, 0, 1), 2, 0) == 0xffff);
	CHECK(t, mm(false, ECAM(0, 1, 0, 2), 4, 0) == 0xffffffff);
	mm(true, ECAM(0, 1, 0, PCI_INTERRUPT_LINE - 1), 2, 0x0707);
	CHECK(t, cfg_rd(s, PCI_INTERRUPT_LINE, 1) == 11);
	CHECK(t, mm(false, ECAM(0, 1, 0, 0), 8, 0) == 0xdead);
	/* the window ends after bus 255 */
	CHECK(t, mm(false, PCI_ECAM_BASE + PCI_ECAM_SIZE, 4, 0) == 0xdead);
	CHECK(t, mm(false, PCI_ECAM_BASE - 4, 4, 0) == 0xdead);
}

static int cfg_writes;
static uint32_t cfg_last;

static void cap_write(struct pci_dev *d, unsigned int off, unsigned int size,
		      uint32_t val)
{
	(void)d;
	(void)size;
	cfg_writes++;
	cfg_last = off << 24 | (val & 0xffffff);
}

static void cap_read(struct pci_dev *d, unsigned int off, unsigned int size)
{
	if (off <= 0x53 && off + size > 0x53)
		d->cfg[0x53] = 0x77;	/* refreshed before the read */
}

static const struct pci_dev_ops cap_ops = {
	.config_read = cap_read,
	.config_write = cap_write,
};

static void pci_cap_list(struct tctx *t)
{
	static struct pci_dev d, full;
	const uint8_t big[0xbc] = { PCI_CAP_ID_VNDR };
	const uint8_t v1[] = { PCI_CAP_ID_VNDR, 0xee, 16, 1, 2, 3, 4, 5, 6, 7,
			       8, 9, 10, 11, 12, 13 };
	const uint8_t v2[] = { PCI_CAP_ID_VNDR, 0, 5, 0xaa, 0xbb };
	uint8_t ids[8], off;
	unsigned int n = 0, s = BDF(1, 0);

	CHECK(t, !pci_setup(t));
	pci_dev__init(&d, "caps", &test_ids);
	d.ops = &cap_ops;
	CHECK(t, pci_dev__add_cap(&d, v1, sizeof(v1), t->err,
				  sizeof(t->err)) == 0x40);
	CHECK(t, pci_dev__add_cap(&d, v2, sizeof(v2), t->err,
				  sizeof(t->err)) == 0x50);
	CHECK(t, !pci_dev__msix(&d, 4, 4, t->err, sizeof(t->err)));
	CHECK(t, d.msix_cap == 0x58);
	pci_dev__cfg_writable(&d, 0x44, 2, 0xff);
	pci_dev__cfg_writable(&d, 0x10, 4, 0xff);	/* header: ignored */
	CHECK(t, !pci__register(&host, &d, t->err, sizeof(t->err)));
	CHECK(t, cfg_rd(s, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* walk it as Linux does */
	for (off = cfg_rd(s, PCI_CAPABILITY_LIST, 1); off && n < 8;
	     off = cfg_rd(s, off + PCI_CAP_LIST_NEXT, 1)) {
		CHECK(t, off >= 0x40 && !(off & 3));
		ids[n++] = cfg_rd(s, off, 1);
	}
	CHECK(t, n == 3 && ids[0] == PCI_CAP_ID_VNDR &&
	      ids[1] == PCI_CAP_ID_VNDR && ids[2] == PCI_CAP_ID_MSIX);
	/* contents as given, the next pointer the core's */
	CHECK(t, cfg_rd(s, 0x40, 4) == 0x01105009);
	CHECK(t, cfg_rd(s, 0x4c, 4) == 0x0d0c0b0a);
	CHECK(t, cfg_rd(s, 0x50, 1) == PCI_CAP_ID_VNDR);
	CHECK(t, cfg_rd(s, 0x54, 1) == 0xbb && cfg_rd(s, 0x52, 2) == 0x7705);
	/* read-only unless made writable */
	cfg_writes = 0;
	cfg_wr(s, 0x40, 4, 0);
	cfg_wr(s, 0x48, 4, 0);
	CHECK(t, cfg_rd(s, 0x40, 4) == 0x01105009);
	CHECK(t, cfg_rd(s, 0x48, 4) == 0x09080706);
	cfg_wr(s, 0x44, 4, 0xdeadbeef);
	CHECK(t, cfg_rd(s, 0x44, 4) == 0x0504beef);
	CHECK(t, cfg_writes == 3 && cfg_last == (0x44u << 24 | 0xadbeef));
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_0, 4) == 0);
	/* no room for a capability past 0xff */
	pci_dev__init(&full, "full", &test_ids);
	CHECK(t, pci_dev__add_cap(&full, big, sizeof(big), t->err,
				  sizeof(t->err)) == 0x40);
	CHECK(t, pci_dev__add_cap(&full, v2, sizeof(v2), t->err,
				  sizeof(t->err)) == -ENOSPC);
	CHECK(t, pci_dev__add_cap(&full, v2, 4, t->err, sizeof(t->err)) ==
	      0xfc);
}

/* MSI-X entry v's register reg in the table at gpa base */
#define ENTRY(base, v, reg)	((base) + 16 * (v) + (reg))

static void pci_msix(struct tctx *t)
{
	static struct pci_dev d;
	unsigned int s = BDF(1, 0), cap;
	uint64_t tbl;

	CHECK(t, !pci_setup(t));
	pci_dev__init(&d, "msix", &test_ids);
	CHECK(t, !pci_dev__bar(&d, 0, PCI_BAR_MEM32, 0x1000, 0, bar_io, NULL,
			       t->err, sizeof(t->err)));
	CHECK(t, pci_dev__msix(&d, 3, 0, t->err, sizeof(t->err)) == -EINVAL);
	CHECK(t, pci_dev__msix(&d, 0, 1, t->err, sizeof(t->err)) == -EINVAL);
	CHECK(t, !pci_dev__msix(&d, 3, 1, t->err, sizeof(t->err)));
	CHECK(t, !pci__register(&host, &d, t->err, sizeof(t->err)));
	cap = d.msix_cap;
	/* the capability: 3 vectors, table at 0, PBA at 0x800 in BAR 1 */
	CHECK(t, cfg_rd(s, cap, 1) == PCI_CAP_ID_MSIX);
	CHECK(t, cfg_rd(s, cap + PCI_MSIX_FLAGS, 2) == 2);
	CHECK(t, cfg_rd(s, cap + PCI_MSIX_TABLE, 4) == 1);
	CHECK(t, cfg_rd(s, cap + PCI_MSIX_PBA, 4) == 0x801);
	tbl = cfg_rd(s, PCI_BASE_ADDRESS_1, 4);
	CHECK(t, tbl == 0xc0001000 && pci_dev__bar_addr(&d, 1) == tbl);
	/* sizing the MSI-X BAR: 4 KiB */
	cfg_wr(s, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_1, 4) == 0xfffff000);
	cfg_wr(s, PCI_BASE_ADDRESS_1, 4, tbl);
	/* entries start masked */
	CHECK(t, mm(false, ENTRY(tbl, 2, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0) == 1);
	/* disabled: the device must use INTx */
	CHECK(t, !pci__msix_enabled(&d));
	CHECK(t, pci__msix_notify(&d, 0) == -ENODEV);
	/* program entry 1, enable, masked: pending */
	mm(true, ENTRY(tbl, 1, PCI_MSIX_ENTRY_LOWER_ADDR), 4, 0xfee01000);
	mm(true, ENTRY(tbl, 1, PCI_MSIX_ENTRY_UPPER_ADDR), 4, 0);
	mm(true, ENTRY(tbl, 1, PCI_MSIX_ENTRY_DATA), 4, 0x4031);
	CHECK(t, mm(false, ENTRY(tbl, 1, 0), 8, 0) == 0xfee01000);
	CHECK(t, mm(false, ENTRY(tbl, 1, 8), 8, 0) == 0x100004031ULL);
	cfg_wr(s, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | 0x7ff);
	CHECK(t, cfg_rd(s, cap + PCI_MSIX_FLAGS, 2) == 0x8002);
	CHECK(t, pci__msix_enabled(&d));
	CHECK(t, pci__msix_notify(&d, 1) == 0 && sink.msis == 0);
	CHECK(t, mm(false, tbl + 0x800, 8, 0) == 2);
	CHECK(t, mm(false, tbl + 0x800, 4, 0) == 2);
	mm(true, tbl + 0x800, 8, 0);			/* read-only */
	CHECK(t, mm(false, tbl + 0x800, 8, 0) == 2);
	/* unmasking sends it and clears the pending bit */
	mm(true, ENTRY(tbl, 1, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	CHECK(t, sink.msis == 1 && sink.addr == 0xfee01000 &&
	      sink.data == 0x4031);
	CHECK(t, mm(false, tbl + 0x800, 8, 0) == 0);
	/* unmasked: sent at once */
	CHECK(t, pci__msix_notify(&d, 1) == 1 && sink.msis == 2);
	CHECK(t, pci__msix_notify(&d, 3) == -EINVAL);
	/* the function mask: pending, sent when it clears */
	cfg_wr(s, cap + PCI_MSIX_FLAGS + 1, 1, 0xc0);
	CHECK(t, pci__msix_notify(&d, 1) == 0 && sink.msis == 2);
	CHECK(t, pci__msix_notify(&d, 0) == 0);
	CHECK(t, mm(false, tbl + 0x800, 4, 0) == 3);
	cfg_wr(s, cap + PCI_MSIX_FLAGS + 1, 1, 0x80);
	CHECK(t, sink.msis == 3 && sink.data == 0x4031);
	/* vector 0 still masked by its entry: still pending */
	CHECK(t, mm(false, tbl + 0x800, 4, 0) == 1);
	/* a 64-bit write of address, then of data and control */
	mm(true, ENTRY(tbl, 0, 0), 8, 0xfee02000);
	mm(true, ENTRY(tbl, 0, 8), 8, 0x41);
	CHECK(t, sink.msis == 4 && sink.addr == 0xfee02000 &&
	      sink.data == 0x41);
	/* masking again stops it; writes beyond the table do nothing */
	mm(true, ENTRY(tbl, 0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0xffffffff);
	CHECK(t, mm(false, ENTRY(tbl, 0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0) ==
	      1);
	CHECK(t, pci__msix_notify(&d, 0) == 0 && sink.msis == 4);
	mm(true, ENTRY(tbl, 3, 0), 4, 0x1234);
	CHECK(t, mm(false, ENTRY(tbl, 3, 0), 4, 0) == 0);
	/* misaligned or narrow accesses read 0 */
	CHECK(t, mm(false, ENTRY(tbl, 1, 2), 4, 0) == 0);
	/* disabled again: pending bits kept, nothing sent */
	cfg_wr(s, cap + PCI_MSIX_FLAGS + 1, 1, 0);
	CHECK(t, pci__msix_notify(&d, 1) == -ENODEV && sink.msis == 4);
	/* a hook that fails */
	cfg_wr(s, cap + PCI_MSIX_FLAGS + 1, 1, 0x80);
	host.msi = NULL;
	CHECK(t, pci__msix_notify(&d, 1) == -ENXIO && host.irq_errors == 1);
}

static unsigned int resets;

static void dev_reset(struct pci_dev *d)
{
	(void)d;
	resets++;
}

static const struct pci_dev_ops reset_ops = {
	.reset = dev_reset,
};

/*
 * A machine reset (--reboot restart): each function's config space,
 * BARs and MSI-X as registered, INTx low, no stale GSI count (a line
 * asserted at the reset would otherwise keep its GSI from ever rising
 * again for the devices that share it), the device's own reset called.
 */
static void pci_reset(struct tctx *t)
{
	static struct pci_dev a, b;
	unsigned int s = BDF(1, 0), cap;
	uint64_t tbl;

	CHECK(t, !pci_setup(t));
	CHECK(t, !dev_setup(t, &a) && a.slot == 1);
	a.ops = &reset_ops;
	pci_dev__init(&b, "msix", &test_ids);
	CHECK(t, !pci_dev__msix(&b, 2, 0, t->err, sizeof(t->err)));
	CHECK(t, !pci__register(&host, &b, t->err, sizeof(t->err)));
	/* a: slot 1, INTA on GSI 17; b: slot 2, MSI-X */
	CHECK(t, b.slot == 2 && PCI_INTX_GSI(2, 1) == 18);
	tbl = pci_dev__bar_addr(&b, 0);
	cap = b.msix_cap;
	/* the guest changes everything it can */
	cfg_wr(s, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	cfg_wr(s, PCI_BASE_ADDRESS_1, 4, 0xd0000000);
	cfg_wr(s, PCI_COMMAND, 2, 7 | PCI_COMMAND_INTX_DISABLE);
	cfg_wr(s, PCI_BASE_ADDRESS_0, 4, 0xd000);
	cfg_wr(s, PCI_INTERRUPT_LINE, 1, 11);
	cfg_wr(s, PCI_CACHE_LINE_SIZE, 1, 0x10);
	CHECK(t, pci_dev__bar_addr(&a, 1) == 0xd0000000);
	cfg_wr(s, PCI_COMMAND, 2, 7);
	pci__set_irq(&a, 1);			/* GSI 17 up, held */
	CHECK(t, host.gsi_count[1] == 1 && sink.lines == 1);
	mm(true, ENTRY(tbl, 1, PCI_MSIX_ENTRY_DATA), 4, 0x41);
	cfg_wr(BDF(2, 0), cap + PCI_MSIX_FLAGS + 1, 1, 0xc0);
	CHECK(t, pci__msix_notify(&b, 1) == 0);	/* pending */
	io(true, PCI_CONFIG_ADDR, 4, PCI_CONFIG_ENABLE | BDF(2, 0));
	resets = 0;
	sink.lines = 0;
	pci__reset(&host);
	CHECK(t, resets == 1 && sink.lines == 0);	/* no VM: no hook */
	CHECK(t, io(false, PCI_CONFIG_ADDR, 4, 0) == 0);
	/* the registration's config space, the BARs back and decoding */
	CHECK(t, cfg_rd(s, PCI_COMMAND, 2) == 7);
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_0, 4) == (0xc000 | 1));
	CHECK(t, cfg_rd(s, PCI_BASE_ADDRESS_1, 4) == 0xc0000000);
	CHECK(t, cfg_rd(s, PCI_INTERRUPT_LINE, 1) == PCI_INTX_GSI(1, 1));
	CHECK(t, cfg_rd(s, PCI_CACHE_LINE_SIZE, 1) == 0);
	CHECK(t, !(cfg_rd(s, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
	CHECK(t, pci_dev__bar_addr(&a, 1) == 0xc0000000);
	CHECK(t, mm(false, 0xc0000ffc, 4, 0) == 0x42 &&
		 mm(false, 0xd0000000, 4, 0) == 0xdead);
	CHECK(t, io(false, 0xc01f, 1, 0) == 0x42 &&
		 io(false, 0xd000, 1, 0) == 0xdead);
	CHECK(t, pci_dev__bar_addr(&b, 0) == tbl);
	/* MSI-X off, entries masked and cleared, nothing pending */
	CHECK(t, cfg_rd(BDF(2, 0), cap + PCI_MSIX_FLAGS, 2) == 1);
	CHECK(t, !pci__msix_enabled(&b));
	CHECK(t, mm(false, ENTRY(tbl, 1, PCI_MSIX_ENTRY_DATA), 4, 0) == 0);
	CHECK(t, mm(false, ENTRY(tbl, 1, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0) ==
		 1);
	CHECK(t, mm(false, tbl + 0x800, 8, 0) == 0);
	/* GSI 17 counts nobody: the next assertion raises it */
	CHECK(t, host.gsi_count[1] == 0 && !a.intx_out);
	pci__set_irq(&a, 1);
	CHECK(t, sink.lines == 1 && sink.gsi == 17 && sink.level == 1);
	pci__set_irq(&a, 0);
	CHECK(t, sink.lines == 2 && sink.level == 0);
}

static void pci_intx(struct tctx *t)
{
	static struct pci_dev d[6];
	unsigned int i;

	CHECK(t, !pci_setup(t));
	for (i = 1; i < 6; i++) {
		pci_dev__init(&d[i], "intx", &test_ids);
		if (i == 2)
			CHECK(t, !pci_dev__msix(&d[i], 1, 0, t->err,
						sizeof(t->err)));
		CHECK(t, !pci__register(&host, &d[i], t->err, sizeof(t->err)));
	}
	/* the routing: slot 1 INTA and slot 5 INTA share GSI 17 */
	CHECK(t, PCI_INTX_GSI(1, 1) == 17 && PCI_INTX_GSI(5, 1) == 17);
	CHECK(t, PCI_INTX_GSI(4, 1) == 16 && PCI_INTX_GSI(3, 4) == 18);
	CHECK(t, cfg_rd(BDF(4, 0), PCI_INTERRUPT_LINE, 2) == 0x0110);
	pci__set_irq(&d[1], 1);
	CHECK(t, sink.lines == 1 && sink.gsi == 17 && sink.level == 1);
	CHECK(t, cfg_rd(BDF(1, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci__set_irq(&d[5], 1);
	pci__set_irq(&d[1], 1);
	CHECK(t, sink.lines == 1);
	pci__set_irq(&d[1], 0);
	CHECK(t, sink.lines == 1);
	CHECK(t, !(cfg_rd(BDF(1, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
	pci__set_irq(&d[5], 0);
	CHECK(t, sink.lines == 2 && sink.gsi == 17 && sink.level == 0);
	/* INTx disable: the line drops, the status bit stays */
	pci__set_irq(&d[3], 1);
	CHECK(t, sink.lines == 3 && sink.gsi == 19 && sink.level == 1);
	cfg_wr(BDF(3, 0), PCI_COMMAND, 2, 7 | PCI_COMMAND_INTX_DISABLE);
	CHECK(t, sink.lines == 4 && sink.level == 0);
	CHECK(t, cfg_rd(BDF(3, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_wr(BDF(3, 0), PCI_COMMAND, 2, 7);
	CHECK(t, sink.lines == 5 && sink.level == 1);
	pci__set_irq(&d[3], 0);
	CHECK(t, sink.lines == 6 && sink.level == 0);
	/* MSI-X enabled holds INTx low */
	pci__set_irq(&d[2], 1);
	CHECK(t, sink.lines == 7 && sink.gsi == 18);
	cfg_wr(BDF(2, 0), d[2].msix_cap + PCI_MSIX_FLAGS + 1, 1, 0x80);
	CHECK(t, sink.lines == 8 && sink.level == 0);
	pci__set_irq(&d[2], 0);
	pci__set_irq(&d[2], 1);
	CHECK(t, sink.lines == 8);
	/* a device without a pin never drives a line */
	d[4].cfg[PCI_INTERRUPT_PIN] = 0;
	pci__set_irq(&d[4], 1);
	CHECK(t, sink.lines == 8);
}

static int nop(struct bus_access *a, void *opaque)
{
	(void)a;
	(void)opaque;
	return RUN_CONTINUE;
}

static void pci_bus_unregister(struct tctx *t)
{
	struct bus b;
	struct bus_dev d = { .name = "x", .len = 0x10, .widths = BUS_WIDTH_ANY,
			     .handle = nop };
	unsigned int i;

	bus__init(&b, "MMIO", 0);
	for (i = 0; i < 3; i++) {
		d.base = 0x1000 * (i + 1);
		CHECK(t, !bus__register(&b, &d, t->err, sizeof(t->err)));
	}
	CHECK(t, bus__unregister(&b, 0x2008) == -ENOENT);
	CHECK(t, bus__unregister(&b, 0x500) == -ENOENT);
	CHECK(t, !bus__unregister(&b, 0x2000) && b.nr == 2);
	CHECK(t, !bus__find(&b, 0x2000, 1));
	CHECK(t, bus__find(&b, 0x1000, 1) && bus__find(&b, 0x300f, 1));
	CHECK(t, bus__unregister(&b, 0x2000) == -ENOENT);
	CHECK(t, !bus__unregister(&b, 0x3000) && !bus__unregister(&b, 0x1000));
	CHECK(t, b.nr == 0 && !bus__find(&b, 0x1000, 1));
	d.base = 0x2000;
	CHECK(t, !bus__register(&b, &d, t->err, sizeof(t->err)));
	CHECK(t, bus__find(&b, 0x200f, 1) && b.nr == 1);
	bus__exit(&b);
}

const struct tcase pci_cases[] = {
	{ "pci_config_mechanism", pci_config_mechanism },
	{ "pci_header_bits", pci_header_bits },
	{ "pci_bar_sizing", pci_bar_sizing },
	{ "pci_bad_declarations", pci_bad_declarations },
	{ "pci_ecam", pci_ecam },
	{ "pci_cap_list", pci_cap_list },
	{ "pci_msix", pci_msix },
	{ "pci_intx", pci_intx },
	{ "pci_reset", pci_reset },
	{ "pci_bus_unregister", pci_bus_unregister },
	{ NULL, NULL },
};
