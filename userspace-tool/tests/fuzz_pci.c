// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for PCI bus 0 (devices/pci.c) as a guest reaches it:
 * configuration mechanism #1 (0xcf8, 0xcfc-0xcff) and the ECAM, at every
 * width and alignment, BAR sizing and moves (anywhere: over each other,
 * over the ECAM, past the end of the space, to 0), the command register,
 * the MSI-X capability, table and PBA, and accesses of the BARs wherever
 * they are now; between them the devices raise INTx and MSI-X vectors
 * and the machine resets.  On the bus (fuzz_dev.h's machine): a
 * virtio-blk and a virtio-rng function (the real transport), and a test
 * function with an I/O BAR, a 64-bit memory BAR and 100 MSI-X vectors
 * (a PBA of two words).
 *
 * After every operation, besides ASan/UBSan: each BAR the core says is
 * decoded is claimed on its bus at the address its register holds, with
 * decoding on, and no BAR it says is not decoded is claimed anywhere;
 * the buses' ranges are sorted and do not overlap; every GSI's count is
 * the number of functions driving it, and the line the hook last set is
 * up exactly when that count is not 0; each function drives INTx exactly
 * when its level is up, its pin set, INTx not disabled and MSI-X off, and
 * its status bit 3 shows its level; no PBA bit is set past the last
 * vector; a BAR handler sees only offsets inside its BAR.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_dev.h"

#define TEST_NVEC	100
#define NR_FN		4	/* the bridge, blk, rng, the test function */

enum op {
	OP_CFG_ADDR,		/* a value for 0xcf8 */
	OP_CFG_DATA,		/* port 0xcfc + k, size, write, value */
	OP_CFG,			/* slot, off, size, write, value: both ports */
	OP_ECAM,		/* bus, slot, fn, off, size, write, value */
	OP_BAR,			/* slot, bar, off, size, write, value */
	OP_MMIO,		/* raw address, size, write, value */
	OP_PORT,		/* raw port, size, write, value */
	OP_INTX,		/* slot, level */
	OP_MSIX,		/* slot, vector */
	OP_RESET,
	OP_NR,
};

static struct pci_dev test_fn;
static unsigned long test_accesses;

static int test_bar_io(struct bus_access *a, void *opaque)
{
	const struct pci_bar *b = opaque;

	if (a->off >= b->size)
		abort();		/* the bus gave us what is not ours */
	test_accesses++;
	if (!a->write)
		a->data = 0x42;
	return RUN_CONTINUE;
}

static void test_decode_changed(struct pci_dev *d)
{
	(void)d;
}

static const struct pci_dev_ops test_ops = {
	.decode_changed = test_decode_changed,
};

static void test_fn_add(void)
{
	const struct pci_ids ids = {
		.vendor = 0x1234, .device = 0x11, .class_code = 0xff0000,
		.irq_pin = 2,
	};
	char err[256];

	pci_dev__init(&test_fn, "fuzz test function", &ids);
	test_fn.ops = &test_ops;
	if (pci_dev__bar(&test_fn, 0, PCI_BAR_IO, 32, BUS_WIDTH_ANY,
			 test_bar_io, &test_fn.bars[0], err, sizeof(err)) ||
	    pci_dev__bar(&test_fn, 2, PCI_BAR_MEM64, 0x2000, BUS_WIDTH_ANY,
			 test_bar_io, &test_fn.bars[2], err, sizeof(err)) ||
	    pci_dev__msix(&test_fn, TEST_NVEC, 5, err, sizeof(err)) ||
	    pci__register(&fm.m.pci, &test_fn, err, sizeof(err)))
		abort();
}

static struct pci_dev *fn(struct fin *in)
{
	return fm.m.pci.slots[fin_u8(in) % NR_FN];
}

/* A config value: for a BAR, mostly an address that means something. */
static uint32_t cfg_value(struct fin *in)
{
	switch (fin_u8(in) & 7) {
	case 0:
		return ~0u;					/* sizing */
	case 1:
		return (uint32_t)PCI_MEM_START + fin_u16(in) * 0x1000u;
	case 2:
		return PCI_IO_START + fin_u8(in) * 0x20u + 1;
	case 3:
		return 0;
	case 4:
		return (uint32_t)PCI_ECAM_BASE + fin_u16(in) * 0x1000u;
	default:
		return fin_u32(in);
	}
}

/* ---- the invariants ---- */

FUZZ_CHECK static bool msix_on(const struct pci_dev *d)
{
	return d->msix_nr && (d->cfg[d->msix_cap + PCI_MSIX_FLAGS + 1] &
			      (PCI_MSIX_FLAGS_ENABLE >> 8));
}

FUZZ_CHECK static uint64_t bar_reg(const struct pci_dev *d, unsigned int nr)
{
	uint32_t lo;
	uint64_t addr;

	memcpy(&lo, &d->cfg[PCI_BASE_ADDRESS_0 + 4 * nr], 4);
	if (d->bars[nr].type == PCI_BAR_IO)
		return lo & PCI_BASE_ADDRESS_IO_MASK;
	addr = lo & PCI_BASE_ADDRESS_MEM_MASK;
	if (d->bars[nr].type == PCI_BAR_MEM64) {
		memcpy(&lo, &d->cfg[PCI_BASE_ADDRESS_0 + 4 * nr + 4], 4);
		addr |= (uint64_t)lo << 32;
	}
	return addr;
}

FUZZ_CHECK static void check_bus(const struct bus *bus)
{
	unsigned int i;

	if (bus->nr > bus->alloc)
		abort();
	for (i = 0; i + 1 < bus->nr; i++)
		if (bus->devs[i].base + bus->devs[i].len - 1 >=
		    bus->devs[i + 1].base)
			abort();
}

/* Is a range of handle/opaque claimed on bus (anywhere)? */
FUZZ_CHECK
static const struct bus_dev *claimed(const struct bus *bus,
				     const struct pci_bar *b)
{
	unsigned int i;

	for (i = 0; i < bus->nr; i++)
		if (bus->devs[i].handle == b->handle &&
		    bus->devs[i].opaque == b->opaque)
			return &bus->devs[i];
	return NULL;
}

FUZZ_CHECK static void check_bars(const struct pci_dev *d)
{
	uint16_t cmd = d->cfg[PCI_COMMAND] | d->cfg[PCI_COMMAND + 1] << 8;
	const struct bus_dev *bd;
	const struct pci_bar *b;
	const struct bus *bus;
	unsigned int i;
	bool decode;

	for (i = 0; i < PCI_NR_BARS; i++) {
		b = &d->bars[i];
		if (b->type == PCI_BAR_NONE)
			continue;
		bus = b->type == PCI_BAR_IO ? &fm.m.ports : &fm.m.mmio;
		decode = cmd & (b->type == PCI_BAR_IO ? PCI_COMMAND_IO :
							PCI_COMMAND_MEMORY);
		bd = claimed(bus, b);
		if (!b->mapped) {
			if (bd)
				abort();	/* a stale claim */
			continue;
		}
		if (!decode || !b->addr || b->addr != bar_reg(d, i) || !bd ||
		    bd->base != b->addr || bd->len != b->size)
			abort();
	}
}

FUZZ_CHECK static void check_intx(void)
{
	unsigned int count[4] = { 0 }, i, pin;
	const struct pci_dev *d;
	uint16_t cmd;
	bool out;

	for (i = 0; i < PCI_NR_SLOTS; i++) {
		d = fm.m.pci.slots[i];
		if (!d)
			continue;
		pin = d->cfg[PCI_INTERRUPT_PIN];
		cmd = d->cfg[PCI_COMMAND] | d->cfg[PCI_COMMAND + 1] << 8;
		out = d->intx_level && pin &&
		      !(cmd & PCI_COMMAND_INTX_DISABLE) && !msix_on(d);
		if (d->intx_out != out ||
		    !(d->cfg[PCI_STATUS] & PCI_STATUS_INTERRUPT) !=
		    !d->intx_level)
			abort();
		if (out)
			count[PCI_INTX_GSI(d->slot, pin) - 16]++;
		if (d->msix_nr % 64 &&
		    d->msix_pba[d->msix_nr / 64] >> (d->msix_nr % 64))
			abort();	/* a pending bit past the last vector */
	}
	for (i = 0; i < 4; i++)
		if (count[i] != fm.m.pci.gsi_count[i] ||
		    fm.line[16 + i] != (count[i] > 0))
			abort();
}

FUZZ_CHECK static void check(void)
{
	unsigned int i;

	check_bus(&fm.m.ports);
	check_bus(&fm.m.mmio);
	for (i = 0; i < PCI_NR_SLOTS; i++)
		if (fm.m.pci.slots[i])
			check_bars(fm.m.pci.slots[i]);
	check_intx();
}

/* ---- the target ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = { data, size };
	unsigned int sz, off, slot, nr;
	struct pci_dev *d;
	uint64_t v64, gpa;
	uint32_t v;
	bool wr;

	fm_up();
	fm_virtio_add(FM_BLK, 8 * 512, false);
	fm_virtio_add(FM_RNG, 0, false);
	test_fn_add();
	check();
	while (fin_more(&in)) {
		switch (fin_u8(&in) % OP_NR) {
		case OP_CFG_ADDR:
			v = fin_u8(&in);
			if (v & 0x80) {
				v = fin_u32(&in);
			} else {
				/* enabled, bus 0 mostly, slot 0-4, any offset */
				slot = fin_u8(&in);
				v = PCI_CONFIG_ENABLE |
				    (v & 0x40 ? (uint32_t)fin_u8(&in) << 16 : 0) |
				    (slot % 5) << 11 | (slot & 0xe0) << 3 |
				    fin_u8(&in);
			}
			fm_check_status(fm_port(true, PCI_CONFIG_ADDR, 4, &v));
			break;
		case OP_CFG_DATA:
			off = fin_u8(&in);
			sz = fin_size(&in, 4);
			v = cfg_value(&in);
			fm_check_status(fm_port(off & 0x80,
						PCI_CONFIG_DATA + (off & 3),
						sz, &v));
			break;
		case OP_CFG:
			slot = fin_u8(&in) % 5;
			off = fin_u8(&in);
			sz = fin_size(&in, 4);
			wr = fin_u8(&in) & 1;
			if (wr)
				fm_cfg_write(slot, off, sz, cfg_value(&in));
			else
				fm_cfg_read(slot, off, sz);
			break;
		case OP_ECAM:
			v = fin_u8(&in);
			slot = fin_u8(&in);
			gpa = PCI_ECAM_BASE +
			      ((v & 0x80 ? (uint64_t)fin_u8(&in) : 0) << 20 |
			       (uint64_t)(slot % 5) << 15 |
			       (uint64_t)(slot >> 5) << 12 |
			       (fin_u16(&in) & 0xfff));
			sz = fin_size(&in, 4);
			v64 = cfg_value(&in);
			fm_check_status(fm_mmio(v & 1, gpa, sz, &v64));
			break;
		case OP_BAR:
			d = fn(&in);
			nr = fin_u8(&in) % PCI_NR_BARS;
			off = fin_u16(&in);
			sz = fin_size(&in, 8);
			wr = fin_u8(&in) & 1;
			v64 = fin_u64(&in);
			if (!d->bars[nr].type)
				break;
			off %= d->bars[nr].size + 8;
			if (d->bars[nr].type == PCI_BAR_IO) {
				v = v64;
				fm_check_status(fm_port(wr, d->bars[nr].addr + off,
							sz > 4 ? 4 : sz, &v));
			} else {
				fm_check_status(fm_mmio(wr, d->bars[nr].addr + off,
							sz, &v64));
			}
			break;
		case OP_MMIO:
			gpa = fin_u8(&in) & 1 ? PCI_MEM_START + fin_u32(&in) % 0x100000 :
						fin_u64(&in);
			sz = fin_size(&in, 8);
			wr = fin_u8(&in) & 1;
			v64 = fin_u64(&in);
			fm_check_status(fm_mmio(wr, gpa, sz, &v64));
			break;
		case OP_PORT:
			off = fin_u16(&in);
			sz = fin_size(&in, 4);
			wr = fin_u8(&in) & 1;
			v = fin_u32(&in);
			fm_check_status(fm_port(wr, off, sz, &v));
			break;
		case OP_INTX:
			d = fn(&in);
			pci__set_irq(d, fin_u8(&in) & 1);
			break;
		case OP_MSIX:
			d = fn(&in);
			nr = fin_u8(&in);
			pci__msix_notify(d, nr % (d->msix_nr + 2));
			break;
		case OP_RESET:
			fm_reset();
			break;
		}
		check();
	}
	fm_down();
	return 0;
}

/* ---- seeds: what firmware and a driver do ---- */

static void s_cfg(struct fout *o, uint8_t slot, uint8_t off, uint8_t size_sel,
		  bool wr, uint8_t vsel, uint32_t v)
{
	fout_u8(o, OP_CFG);
	fout_u8(o, slot);
	fout_u8(o, off);
	fout_u8(o, size_sel);
	fout_u8(o, wr);
	if (!wr)
		return;
	fout_u8(o, vsel);
	if (vsel == 1 || vsel == 4)
		fout_u16(o, v);
	else if (vsel == 2)
		fout_u8(o, v);
	else if (vsel > 4)
		fout_u32(o, v);
}

static int write_seeds(const char *dir)
{
	static struct fout o;
	unsigned int slot, bar;
	int ret = 0;

	/* firmware's scan: IDs of each slot, then size and place each BAR */
	o.len = 0;
	for (slot = 0; slot < 4; slot++) {
		s_cfg(&o, slot, PCI_VENDOR_ID, 2, false, 0, 0);
		for (bar = 0; bar < 6; bar++) {
			s_cfg(&o, slot, PCI_BASE_ADDRESS_0 + 4 * bar, 2, true,
			      0, 0);
			s_cfg(&o, slot, PCI_BASE_ADDRESS_0 + 4 * bar, 2, false,
			      0, 0);
			s_cfg(&o, slot, PCI_BASE_ADDRESS_0 + 4 * bar, 2, true,
			      1, 0x100 + 0x10 * slot + 2 * bar);
		}
		s_cfg(&o, slot, PCI_COMMAND, 1, true, 5, 0x407);
	}
	ret |= fout_write(&o, dir, "scan");
	/* MSI-X on the test function: vector 3's entry, unmask, enable */
	o.len = 0;
	fout_u8(&o, OP_BAR);
	fout_u8(&o, 3);
	fout_u8(&o, 5);
	fout_u16(&o, 3 * 16 + 12);
	fout_u8(&o, 2);
	fout_u8(&o, 1);
	fout_u64(&o, 0);
	s_cfg(&o, 3, 0x40 + PCI_MSIX_FLAGS + 1, 0, true, 5, 0x80);
	fout_u8(&o, OP_MSIX);
	fout_u8(&o, 3);
	fout_u8(&o, 3);
	fout_u8(&o, OP_INTX);
	fout_u8(&o, 3);
	fout_u8(&o, 1);
	s_cfg(&o, 3, 0x40 + PCI_MSIX_FLAGS + 1, 0, true, 5, 0x00);
	fout_u8(&o, OP_RESET);
	ret |= fout_write(&o, dir, "msix");
	/* the ECAM: the host bridge's ID, a BAR move of the rng */
	o.len = 0;
	fout_u8(&o, OP_ECAM);
	fout_u8(&o, 0);
	fout_u8(&o, 0);
	fout_u16(&o, 0);
	fout_u8(&o, 2);
	fout_u8(&o, 3);
	fout_u8(&o, OP_ECAM);
	fout_u8(&o, 1);
	fout_u8(&o, 2);
	fout_u16(&o, PCI_BASE_ADDRESS_4);
	fout_u8(&o, 2);
	fout_u8(&o, 1);
	fout_u16(&o, 0x800);
	ret |= fout_write(&o, dir, "ecam");
	return ret;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fuzz_seeds_dir(*argc, *argv);

	if (dir)
		exit(write_seeds(dir) ? 1 : 0);
	return 0;
}
