// SPDX-License-Identifier: GPL-2.0
/*
 * PCI bus 0 of a khyp machine (pci.h): configuration mechanism #1 and
 * the ECAM (one config access path for both), the Q35 host bridge at
 * 00:00.0, the type 0 header of every device with its
 * BARs placed as firmware would, the capability list, INTx on a fixed
 * routing and MSI-X.  Pure apart from the two interrupt hooks, which
 * pci_host__init() points at the VM's ioctls: loader_test checks the
 * rest natively with hooks of its own.
 *
 * Each device keeps its config space as the guest reads it (cfg[]) and a
 * mask of the bits the guest may write (wmask[]): a config write is a
 * masked merge, then the core looks at what changed (command register,
 * BARs, the MSI-X control).  A BAR's wmask is its address bits, so the
 * all-ones write of a sizing reads back the size mask with the fixed
 * flag bits below it, as on hardware.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../khyp.h"

/* the command bits a device implements, as QEMU's */
#define PCI_COMMAND_WMASK	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY |	\
				 PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | \
				 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

static int __attribute__((format(printf, 4, 5)))
pci__fail(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return errnum;
}

static uint32_t cfg_get(const struct pci_dev *d, unsigned int off,
			unsigned int size)
{
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < size; i++)
		v |= (uint32_t)d->cfg[off + i] << (8 * i);
	return v;
}

static void cfg_set(struct pci_dev *d, unsigned int off, unsigned int size,
		    uint32_t v)
{
	unsigned int i;

	for (i = 0; i < size; i++)
		d->cfg[off + i] = v >> (8 * i);
}

static void wmask_set(struct pci_dev *d, unsigned int off, unsigned int size,
		      uint32_t v)
{
	unsigned int i;

	for (i = 0; i < size; i++)
		d->wmask[off + i] = v >> (8 * i);
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* ---- a device, before pci__register() ---- */

void pci_dev__init(struct pci_dev *d, const char *name,
		   const struct pci_ids *ids)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	cfg_set(d, PCI_VENDOR_ID, 2, ids->vendor);
	cfg_set(d, PCI_DEVICE_ID, 2, ids->device);
	cfg_set(d, PCI_REVISION_ID, 1, ids->revision);
	cfg_set(d, PCI_CLASS_PROG, 3, ids->class_code);
	cfg_set(d, PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_NORMAL);
	cfg_set(d, PCI_SUBSYSTEM_VENDOR_ID, 2, ids->subsys_vendor);
	cfg_set(d, PCI_SUBSYSTEM_ID, 2, ids->subsys);
	cfg_set(d, PCI_INTERRUPT_PIN, 1, ids->irq_pin <= 4 ? ids->irq_pin : 0);
	wmask_set(d, PCI_COMMAND, 2, PCI_COMMAND_WMASK);
	wmask_set(d, PCI_CACHE_LINE_SIZE, 1, 0xff);
	wmask_set(d, PCI_INTERRUPT_LINE, 1, 0xff);
	d->cap_end = PCI_CAP_FIRST;
}

/* The fixed flag bits of a BAR's low dword. */
static uint32_t bar_flags(const struct pci_bar *b)
{
	switch (b->type) {
	case PCI_BAR_IO:
		return PCI_BASE_ADDRESS_SPACE_IO;
	case PCI_BAR_MEM64:
		return PCI_BASE_ADDRESS_MEM_TYPE_64;
	default:
		return 0;
	}
}

int pci_dev__bar(struct pci_dev *d, unsigned int nr, enum pci_bar_type type,
		 uint64_t size, unsigned int widths, bus_handler_t handle,
		 void *opaque, char *err, size_t errlen)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * nr;
	uint64_t min, max, mask;
	struct pci_bar *b;

	if (nr >= PCI_NR_BARS || (type == PCI_BAR_MEM64 && nr >= 5) ||
	    d->bars[nr].type != PCI_BAR_NONE || d->host ||
	    (type == PCI_BAR_MEM64 && d->bars[nr + 1].type != PCI_BAR_NONE) ||
	    (nr && d->bars[nr - 1].type == PCI_BAR_MEM64))
		return pci__fail(err, errlen, -EINVAL,
				 "%s: BAR %u is taken or does not exist",
				 d->name, nr);
	switch (type) {
	case PCI_BAR_IO:
		min = 4;
		max = 256;
		break;
	case PCI_BAR_MEM32:
		min = 16;
		max = PCI_MEM_END - PCI_MEM_START;
		break;
	case PCI_BAR_MEM64:
		min = 16;
		max = PCI_MEM_END - PCI_MEM_START;
		break;
	default:
		return pci__fail(err, errlen, -EINVAL, "%s: BAR %u: bad type %d",
				 d->name, nr, type);
	}
	if (!is_pow2(size) || size < min || size > max)
		return pci__fail(err, errlen, -EINVAL,
				 "%s: BAR %u: size 0x%" PRIx64 " is not a power of two in 0x%" PRIx64 "-0x%" PRIx64,
				 d->name, nr, size, min, max);
	if (!handle || (widths & ~BUS_WIDTH_ANY))
		return pci__fail(err, errlen, -EINVAL,
				 "%s: BAR %u: no handler or bad widths 0x%x",
				 d->name, nr, widths);
	b = &d->bars[nr];
	b->type = type;
	b->size = size;
	b->widths = widths ? widths : BUS_WIDTH_ANY;
	b->handle = handle;
	b->opaque = opaque;
	b->addr = 0;
	b->mapped = false;
	mask = ~(size - 1);
	cfg_set(d, off, 4, bar_flags(b));
	wmask_set(d, off, 4, (uint32_t)mask & (type == PCI_BAR_IO ?
					       PCI_BASE_ADDRESS_IO_MASK :
					       PCI_BASE_ADDRESS_MEM_MASK));
	if (type == PCI_BAR_MEM64)
		wmask_set(d, off + 4, 4, mask >> 32);
	return 0;
}

int pci_dev__add_cap(struct pci_dev *d, const void *cap, unsigned int len,
		     char *err, size_t errlen)
{
	const uint8_t *c = cap;
	unsigned int off = d->cap_end;

	if (len < 2 || d->host)
		return pci__fail(err, errlen, -EINVAL,
				 "%s: a capability of %u bytes", d->name, len);
	if (off + len > PCI_CFG_SIZE)
		return pci__fail(err, errlen, -ENOSPC,
				 "%s: no room for a capability of %u bytes at 0x%x",
				 d->name, len, off);
	memcpy(&d->cfg[off], c, len);
	d->cfg[off + PCI_CAP_LIST_NEXT] = 0;
	if (d->cap_last)
		d->cfg[d->cap_last + PCI_CAP_LIST_NEXT] = off;
	else
		d->cfg[PCI_CAPABILITY_LIST] = off;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->cap_last = off;
	d->cap_end = (off + len + 3) & ~3u;
	return off;
}

void pci_dev__cfg_writable(struct pci_dev *d, unsigned int off,
			   unsigned int len, uint8_t mask)
{
	unsigned int i;

	for (i = off; i < off + len && i < PCI_CFG_SIZE; i++)
		if (i >= PCI_CAP_FIRST)
			d->wmask[i] = mask;
}

/* ---- MSI-X ---- */

static unsigned int msix_pba_words(const struct pci_dev *d)
{
	return (d->msix_nr + 63) / 64;
}

static bool msix_on(const struct pci_dev *d)
{
	return d->msix_nr &&
	       (d->cfg[d->msix_cap + PCI_MSIX_FLAGS + 1] &
		(PCI_MSIX_FLAGS_ENABLE >> 8));
}

static bool msix_fn_masked(const struct pci_dev *d)
{
	return d->cfg[d->msix_cap + PCI_MSIX_FLAGS + 1] &
	       (PCI_MSIX_FLAGS_MASKALL >> 8);
}

static int pci__send_msi(struct pci_host *h, uint64_t addr, uint32_t data)
{
	int ret = h->msi ? h->msi(h->irq_opaque, addr, data) : -ENXIO;

	if (ret < 0)
		h->irq_errors++;
	return ret;
}

/* Send what is pending and now may go.  Under h->lock. */
static void msix_flush(struct pci_dev *d)
{
	unsigned int v;

	if (!msix_on(d) || msix_fn_masked(d))
		return;
	for (v = 0; v < d->msix_nr; v++) {
		if (!(d->msix_pba[v / 64] & (1ULL << (v % 64))) ||
		    (d->msix[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT))
			continue;
		d->msix_pba[v / 64] &= ~(1ULL << (v % 64));
		pci__send_msi(d->host, d->msix[v].addr, d->msix[v].data);
	}
}

/* The MSI-X BAR: table at 0, PBA at PCI_MSIX_PBA_OFF(n). */
static int msix_bar_io(struct bus_access *a, void *opaque)
{
	struct pci_dev *d = opaque;
	uint64_t pba = PCI_MSIX_PBA_OFF(d->msix_nr);
	unsigned int v, reg;
	uint64_t val = 0;

	a->data = a->write ? a->data : 0;
	if ((a->size != 4 && a->size != 8) || (a->off & (a->size - 1)))
		return RUN_CONTINUE;		/* as QEMU: reads 0 */
	pthread_mutex_lock(&d->host->lock);
	if (a->off < (uint64_t)d->msix_nr * PCI_MSIX_ENTRY_SIZE) {
		v = a->off / PCI_MSIX_ENTRY_SIZE;
		reg = a->off % PCI_MSIX_ENTRY_SIZE;
		if (a->write) {
			uint32_t lo = a->data, hi = a->data >> 32;
			bool masked = d->msix[v].ctrl &
				      PCI_MSIX_ENTRY_CTRL_MASKBIT;

			switch (reg) {
			case PCI_MSIX_ENTRY_LOWER_ADDR:
				d->msix[v].addr = (d->msix[v].addr &
						   ~0xffffffffULL) | lo;
				if (a->size == 8)
					d->msix[v].addr = (uint64_t)hi << 32 | lo;
				break;
			case PCI_MSIX_ENTRY_UPPER_ADDR:
				d->msix[v].addr = (d->msix[v].addr &
						   0xffffffffULL) |
						  (uint64_t)lo << 32;
				break;
			case PCI_MSIX_ENTRY_DATA:
				d->msix[v].data = lo;
				if (a->size == 8)
					d->msix[v].ctrl = hi &
						PCI_MSIX_ENTRY_CTRL_MASKBIT;
				break;
			default:
				d->msix[v].ctrl = lo &
						  PCI_MSIX_ENTRY_CTRL_MASKBIT;
				break;
			}
			if (masked && !(d->msix[v].ctrl &
					PCI_MSIX_ENTRY_CTRL_MASKBIT))
				msix_flush(d);
		} else {
			const struct pci_msix_entry *e = &d->msix[v];
			uint32_t w[4] = { e->addr, e->addr >> 32, e->data,
					  e->ctrl };

			val = w[reg / 4];
			if (a->size == 8)
				val |= (uint64_t)w[reg / 4 + 1] << 32;
		}
	} else if (a->off >= pba && a->off < pba + 8 * msix_pba_words(d)) {
		/* read-only */
		if (!a->write) {
			val = d->msix_pba[(a->off - pba) / 8];
			if (a->size == 4)
				val >>= 8 * ((a->off - pba) % 8);
		}
	}
	pthread_mutex_unlock(&d->host->lock);
	if (!a->write)
		a->data = val & access_mask(a->size);
	return RUN_CONTINUE;
}

int pci_dev__msix(struct pci_dev *d, unsigned int nvec, unsigned int bar,
		  char *err, size_t errlen)
{
	uint8_t cap[PCI_CAP_MSIX_SIZEOF] = { PCI_CAP_ID_MSIX };
	uint64_t pba = PCI_MSIX_PBA_OFF(nvec), size = 4096;
	unsigned int i;
	int off, ret;

	if (!nvec || nvec > PCI_MSIX_MAX || d->msix_nr)
		return pci__fail(err, errlen, -EINVAL,
				 "%s: MSI-X with %u vectors", d->name, nvec);
	while (size < pba + 8 * ((nvec + 63) / 64))
		size <<= 1;
	ret = pci_dev__bar(d, bar, PCI_BAR_MEM32, size,
			   BUS_WIDTH_4 | BUS_WIDTH_8, msix_bar_io, d, err,
			   errlen);
	if (ret)
		return ret;
	cap[PCI_MSIX_FLAGS] = (nvec - 1) & 0xff;
	cap[PCI_MSIX_FLAGS + 1] = (nvec - 1) >> 8;
	cap[PCI_MSIX_TABLE] = bar;
	cap[PCI_MSIX_PBA] = bar | pba;
	cap[PCI_MSIX_PBA + 1] = pba >> 8;
	cap[PCI_MSIX_PBA + 2] = pba >> 16;
	d->msix = calloc(nvec, sizeof(*d->msix));
	d->msix_pba = calloc((nvec + 63) / 64, sizeof(*d->msix_pba));
	if (!d->msix || !d->msix_pba)
		goto nomem;
	off = pci_dev__add_cap(d, cap, sizeof(cap), err, errlen);
	if (off < 0) {
		ret = off;
		goto fail;
	}
	for (i = 0; i < nvec; i++)
		d->msix[i].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	d->msix_cap = off;
	d->msix_nr = nvec;
	d->msix_bar = bar;
	/* enable and function mask */
	d->wmask[off + PCI_MSIX_FLAGS + 1] = (PCI_MSIX_FLAGS_ENABLE |
					      PCI_MSIX_FLAGS_MASKALL) >> 8;
	return 0;
nomem:
	ret = pci__fail(err, errlen, -ENOMEM, "%s: out of memory", d->name);
fail:
	free(d->msix);
	free(d->msix_pba);
	d->msix = NULL;
	d->msix_pba = NULL;
	memset(&d->bars[bar], 0, sizeof(d->bars[bar]));
	cfg_set(d, PCI_BASE_ADDRESS_0 + 4 * bar, 4, 0);
	wmask_set(d, PCI_BASE_ADDRESS_0 + 4 * bar, 4, 0);
	return ret;
}

/* ---- INTx ---- */

static uint16_t cfg_command(const struct pci_dev *d)
{
	return cfg_get(d, PCI_COMMAND, 2);
}

/* Drive the device's GSI from its level and gates.  Under h->lock. */
static void intx_update(struct pci_dev *d)
{
	struct pci_host *h = d->host;
	unsigned int pin = d->cfg[PCI_INTERRUPT_PIN], i;
	bool out = d->intx_level && pin &&
		   !(cfg_command(d) & PCI_COMMAND_INTX_DISABLE) && !msix_on(d);

	if (d->intx_level)
		d->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		d->cfg[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	if (out == d->intx_out || !h)
		return;
	d->intx_out = out;
	i = PCI_INTX_GSI(d->slot, pin) - 16;
	if (out ? h->gsi_count[i]++ : --h->gsi_count[i])
		return;			/* another device keeps it up */
	if (!h->irq_line || h->irq_line(h->irq_opaque, 16 + i, out) < 0)
		h->irq_errors++;
}

void pci__set_irq(struct pci_dev *d, int level)
{
	pthread_mutex_lock(&d->host->lock);
	d->intx_level = level;
	intx_update(d);
	pthread_mutex_unlock(&d->host->lock);
}

bool pci__msix_enabled(struct pci_dev *d)
{
	bool on;

	pthread_mutex_lock(&d->host->lock);
	on = msix_on(d);
	pthread_mutex_unlock(&d->host->lock);
	return on;
}

int pci__msix_notify(struct pci_dev *d, unsigned int vec)
{
	int ret;

	pthread_mutex_lock(&d->host->lock);
	if (!msix_on(d)) {
		ret = -ENODEV;
	} else if (vec >= d->msix_nr) {
		ret = -EINVAL;
	} else if (msix_fn_masked(d) ||
		   (d->msix[vec].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT)) {
		d->msix_pba[vec / 64] |= 1ULL << (vec % 64);
		ret = 0;
	} else {
		ret = pci__send_msi(d->host, d->msix[vec].addr,
				    d->msix[vec].data);
		if (!ret)
			ret = 1;
	}
	pthread_mutex_unlock(&d->host->lock);
	return ret;
}

/* ---- BARs on the buses ---- */

uint16_t pci_dev__command(const struct pci_dev *d)
{
	return cfg_command(d);
}

uint64_t pci_dev__bar_addr(const struct pci_dev *d, unsigned int nr)
{
	if (nr >= PCI_NR_BARS || !d->bars[nr].mapped)
		return PCI_BAR_UNMAPPED;
	return d->bars[nr].addr;
}

static struct bus *bar_bus(const struct pci_dev *d, const struct pci_bar *b)
{
	return b->type == PCI_BAR_IO ? d->host->ports : d->host->mmio;
}

/* The address BAR nr's registers hold, flag bits masked. */
static uint64_t bar_reg_addr(const struct pci_dev *d, unsigned int nr)
{
	const struct pci_bar *b = &d->bars[nr];
	uint32_t lo = cfg_get(d, PCI_BASE_ADDRESS_0 + 4 * nr, 4);
	uint64_t addr;

	if (b->type == PCI_BAR_IO)
		return lo & PCI_BASE_ADDRESS_IO_MASK;
	addr = lo & PCI_BASE_ADDRESS_MEM_MASK;
	if (b->type == PCI_BAR_MEM64)
		addr |= (uint64_t)cfg_get(d, PCI_BASE_ADDRESS_0 + 4 * nr + 4,
					  4) << 32;
	return addr;
}

/*
 * Bring BAR nr's claim on its bus in line with its register and the
 * command register: true if it changed.  An address of 0 is not
 * decoded, and neither is a range the bus refuses (past the bus's end,
 * over another device): it stays unmapped until the guest moves it.
 */
static bool bar_update(struct pci_dev *d, unsigned int nr)
{
	struct pci_bar *b = &d->bars[nr];
	uint16_t cmd = cfg_command(d);
	bool decode = b->type == PCI_BAR_IO ? cmd & PCI_COMMAND_IO :
					      cmd & PCI_COMMAND_MEMORY;
	uint64_t addr = bar_reg_addr(d, nr);
	struct bus *bus = bar_bus(d, b);
	struct bus_dev bd = {
		.name = d->name,
		.base = addr,
		.len = b->size,
		.widths = b->widths,
		.handle = b->handle,
		.opaque = b->opaque,
	};
	bool was = b->mapped;
	uint64_t old = b->addr;

	if (b->mapped && (!decode || addr != b->addr)) {
		bus__unregister(bus, b->addr);
		b->mapped = false;
	}
	b->addr = addr;
	if (!b->mapped && decode && addr)
		b->mapped = !bus__register(bus, &bd, NULL, 0);
	return was != b->mapped || (b->mapped && old != addr);
}

static void bars_unmap(struct pci_dev *d)
{
	unsigned int i;

	for (i = 0; i < PCI_NR_BARS; i++) {
		if (!d->bars[i].mapped)
			continue;
		bus__unregister(bar_bus(d, &d->bars[i]), d->bars[i].addr);
		d->bars[i].mapped = false;
	}
}

static bool bars_update(struct pci_dev *d)
{
	bool changed = false;
	unsigned int i;

	for (i = 0; i < PCI_NR_BARS; i++)
		if (d->bars[i].type != PCI_BAR_NONE && bar_update(d, i))
			changed = true;
	return changed;
}

/* ---- config space ---- */

/* Does [off, off + size) touch [lo, lo + len)? */
static bool touches(unsigned int off, unsigned int size, unsigned int lo,
		    unsigned int len)
{
	return off < lo + len && lo < off + size;
}

static uint32_t pci__cfg_read(struct pci_dev *d, unsigned int off,
			      unsigned int size)
{
	uint32_t v;

	if (d->ops && d->ops->config_read)
		d->ops->config_read(d, off, size);
	pthread_mutex_lock(&d->host->lock);
	v = cfg_get(d, off, size);
	pthread_mutex_unlock(&d->host->lock);
	return v;
}

static void pci__cfg_write(struct pci_dev *d, unsigned int off,
			   unsigned int size, uint32_t val)
{
	struct pci_host *h = d->host;
	uint16_t cmd = cfg_command(d);
	bool changed = false;
	unsigned int i;
	uint8_t b;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < size; i++) {
		b = val >> (8 * i);
		d->cfg[off + i] = (d->cfg[off + i] & ~d->wmask[off + i]) |
				  (b & d->wmask[off + i]);
	}
	if (touches(off, size, PCI_COMMAND, 2) ||
	    (d->msix_nr && touches(off, size, d->msix_cap + PCI_MSIX_FLAGS, 2))) {
		intx_update(d);
		if (d->msix_nr)
			msix_flush(d);
	}
	pthread_mutex_unlock(&h->lock);

	if (touches(off, size, PCI_COMMAND, 2) || touches(off, size,
			PCI_BASE_ADDRESS_0, 4 * PCI_NR_BARS))
		changed = bars_update(d);
	if (cmd != cfg_command(d))
		changed = true;
	if (d->ops && d->ops->config_write)
		d->ops->config_write(d, off, size, val);
	if (changed && d->ops && d->ops->decode_changed)
		d->ops->decode_changed(d);
}

/* The function at bus:slot.fn, or NULL (reads all-ones). */
static struct pci_dev *pci__select(struct pci_host *h, unsigned int bus,
				   unsigned int slot, unsigned int fn)
{
	if (bus || fn || slot >= PCI_NR_SLOTS)
		return NULL;
	return h->slots[slot];
}

/*
 * A config access of a->size bytes at offset off of bus:slot.fn, from
 * either mechanism: offsets past the 256 bytes of a conventional
 * function read all-ones and take no write, as on a PCIe bus.
 */
static void pci__config_access(struct pci_host *h, unsigned int bus,
			       unsigned int slot, unsigned int fn,
			       unsigned int off, struct bus_access *a)
{
	struct pci_dev *d = pci__select(h, bus, slot, fn);

	if (!d || off + a->size > PCI_CFG_SIZE) {
		if (!a->write)
			a->data = access_mask(a->size);
		return;
	}
	if (a->write)
		pci__cfg_write(d, off, a->size, a->data);
	else
		a->data = pci__cfg_read(d, off, a->size);
}

int pci__config_io(struct bus_access *a, void *opaque)
{
	struct pci_host *h = opaque;
	unsigned int port = a->addr;
	uint32_t ca = h->config_addr;

	if (port == PCI_CONFIG_ADDR && a->size == 4) {
		if (a->write)
			h->config_addr = a->data & 0x80fffffcu;
		else
			a->data = h->config_addr;
		return RUN_CONTINUE;
	}
	if (port < PCI_CONFIG_DATA || port + a->size > PCI_CONFIG_DATA + 4 ||
	    !(ca & PCI_CONFIG_ENABLE)) {
		/* bytes and words of 0xcf8-0xcfb: nothing (no type 2) */
		if (!a->write)
			a->data = access_mask(a->size);
		return RUN_CONTINUE;
	}
	pci__config_access(h, (ca >> 16) & 0xff, (ca >> 11) & 0x1f,
			   (ca >> 8) & 7, (ca & 0xfc) + (port - PCI_CONFIG_DATA),
			   a);
	return RUN_CONTINUE;
}

int pci__ecam_io(struct bus_access *a, void *opaque)
{
	unsigned int off = a->off & 0xfff;

	/* an access that is not naturally aligned is not a config access */
	if (off & (a->size - 1)) {
		if (!a->write)
			a->data = access_mask(a->size);
		return RUN_CONTINUE;
	}
	pci__config_access(opaque, (a->off >> 20) & 0xff, (a->off >> 15) & 0x1f,
			   (a->off >> 12) & 7, off, a);
	return RUN_CONTINUE;
}

/* ---- the machine ---- */

static int pci__vm_fd_irq_line(void *opaque, unsigned int gsi, int level)
{
	const int *fd = opaque;
	struct khyp_irq_level arg = { .irq = gsi, .level = level };

	return ioctl(*fd, KHYP_IRQ_LINE, &arg) ? -errno : 0;
}

static int pci__vm_fd_msi(void *opaque, uint64_t addr, uint32_t data)
{
	const int *fd = opaque;
	struct khyp_msi arg = { .address = addr, .data = data };

	return ioctl(*fd, KHYP_SIGNAL_MSI, &arg) ? -errno : 0;
}

/* Put d into slot; its BARs keep the addresses their registers hold. */
static void pci__plug(struct pci_host *h, struct pci_dev *d,
		      unsigned int slot)
{
	unsigned int pin = d->cfg[PCI_INTERRUPT_PIN];

	d->host = h;
	d->slot = slot;
	if (pin)
		d->cfg[PCI_INTERRUPT_LINE] = PCI_INTX_GSI(slot, pin);
	h->slots[slot] = d;
}

int pci__init(struct pci_host *h, struct bus *ports, struct bus *mmio,
	      int vm_fd, char *err, size_t errlen)
{
	static const struct pci_ids bridge = {
		.vendor = PCI_HOST_VENDOR,
		.device = PCI_HOST_DEVICE,
		.subsys_vendor = PCI_SUBSYS_VENDOR_QEMU,
		.subsys = PCI_SUBSYS_QEMU,
		.class_code = PCI_HOST_CLASS,
	};
	/* 0xcf8 as a dword, the rest of 0xcf8-0xcfb apart from 0xcf9 */
	const struct bus_dev regs[] = {
		{ .name = "PCI config address", .base = PCI_CONFIG_ADDR,
		  .len = 1, .widths = BUS_WIDTH_1 | BUS_WIDTH_2 | BUS_WIDTH_4,
		  .handle = pci__config_io, .opaque = h },
		{ .name = "PCI config address", .base = PCI_CONFIG_ADDR + 2,
		  .len = 2, .widths = BUS_WIDTH_1 | BUS_WIDTH_2,
		  .handle = pci__config_io, .opaque = h },
		{ .name = "PCI config data", .base = PCI_CONFIG_DATA,
		  .len = 4, .widths = BUS_WIDTH_1 | BUS_WIDTH_2 | BUS_WIDTH_4,
		  .handle = pci__config_io, .opaque = h },
	};
	const struct bus_dev ecam = {
		.name = "PCIe ECAM", .base = PCI_ECAM_BASE, .len = PCI_ECAM_SIZE,
		.widths = BUS_WIDTH_1 | BUS_WIDTH_2 | BUS_WIDTH_4,
		.handle = pci__ecam_io, .opaque = h,
	};
	unsigned int i;
	int ret;

	memset(h, 0, sizeof(*h));
	h->ports = ports;
	h->mmio = mmio;
	h->io_next = PCI_IO_START;
	h->mem_next = PCI_MEM_START;
	h->vm_fd = vm_fd;
	if (vm_fd >= 0) {
		h->irq_line = pci__vm_fd_irq_line;
		h->msi = pci__vm_fd_msi;
		h->irq_opaque = &h->vm_fd;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->inited = true;
	for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		ret = bus__register(ports, &regs[i], err, errlen);
		if (ret)
			return ret;
	}
	ret = bus__register(mmio, &ecam, err, errlen);
	if (ret)
		return ret;
	pci_dev__init(&h->bridge, "PCI host bridge", &bridge);
	/* a host bridge's I/O and memory decoding is always on (Q35 MCH: 6) */
	cfg_set(&h->bridge, PCI_COMMAND, 2,
		PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pci__plug(h, &h->bridge, 0);
	memcpy(h->bridge.cfg_reset, h->bridge.cfg, PCI_CFG_SIZE);
	h->nr_slots = 1;
	return 0;
}

void pci__exit(struct pci_host *h)
{
	unsigned int i;

	if (!h->inited)
		return;
	for (i = 0; i < PCI_NR_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		free(h->slots[i]->msix);
		free(h->slots[i]->msix_pba);
		h->slots[i]->msix = NULL;
		h->slots[i]->msix_pba = NULL;
		h->slots[i]->msix_nr = 0;
		h->slots[i]->host = NULL;
	}
	pthread_mutex_destroy(&h->lock);
	memset(h, 0, sizeof(*h));
}

/* Place BAR b at the next naturally aligned address of its window. */
static int bar_place(struct pci_host *h, struct pci_dev *d, unsigned int nr,
		     char *err, size_t errlen)
{
	struct pci_bar *b = &d->bars[nr];
	bool io = b->type == PCI_BAR_IO;
	uint64_t *next = io ? &h->io_next : &h->mem_next;
	uint64_t end = io ? PCI_IO_END : PCI_MEM_END;
	uint64_t align = io || b->size >= 4096 ? b->size : 4096;
	uint64_t addr = (*next + align - 1) & ~(align - 1);
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * nr;

	if (addr >= end || b->size > end - addr)
		return pci__fail(err, errlen, -ENOSPC,
				 "%s: no room for BAR %u (0x%" PRIx64 " bytes) in the PCI %s window",
				 d->name, nr, b->size, io ? "I/O" : "memory");
	*next = addr + (b->size > align ? b->size : align);
	cfg_set(d, off, 4, (uint32_t)addr | bar_flags(b));
	if (b->type == PCI_BAR_MEM64)
		cfg_set(d, off + 4, 4, addr >> 32);
	return 0;
}

int pci__register(struct pci_host *h, struct pci_dev *d,
		  char *err, size_t errlen)
{
	uint16_t cmd = PCI_COMMAND_MASTER;
	unsigned int i;
	int ret;

	if (d->host)
		return pci__fail(err, errlen, -EEXIST, "%s: already on the bus",
				 d->name);
	if (h->nr_slots >= PCI_NR_SLOTS)
		return pci__fail(err, errlen, -ENOSPC,
				 "%s: no PCI slot left", d->name);
	for (i = 0; i < PCI_NR_BARS; i++) {
		if (d->bars[i].type == PCI_BAR_NONE)
			continue;
		ret = bar_place(h, d, i, err, errlen);
		if (ret)
			return ret;
		cmd |= d->bars[i].type == PCI_BAR_IO ? PCI_COMMAND_IO :
						       PCI_COMMAND_MEMORY;
	}
	pci__plug(h, d, h->nr_slots++);
	cfg_set(d, PCI_COMMAND, 2, cmd);
	for (i = 0; i < PCI_NR_BARS; i++) {
		if (d->bars[i].type == PCI_BAR_NONE)
			continue;
		bar_update(d, i);
		if (!d->bars[i].mapped)
			return pci__fail(err, errlen, -EEXIST,
					 "%s: BAR %u at 0x%" PRIx64 " overlaps another device",
					 d->name, i, d->bars[i].addr);
	}
	memcpy(d->cfg_reset, d->cfg, PCI_CFG_SIZE);
	return 0;
}

/* One function back to its registration state; under h->lock. */
static void pci__reset_dev(struct pci_dev *d)
{
	unsigned int i;

	memcpy(d->cfg, d->cfg_reset, sizeof(d->cfg));
	d->intx_level = false;
	d->intx_out = false;
	for (i = 0; i < d->msix_nr; i++) {
		d->msix[i].addr = 0;
		d->msix[i].data = 0;
		d->msix[i].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
	if (d->msix_nr)
		memset(d->msix_pba, 0, 8 * msix_pba_words(d));
}

void pci__reset(struct pci_host *h)
{
	struct pci_dev *d;
	unsigned int i;

	pthread_mutex_lock(&h->lock);
	h->config_addr = 0;
	memset(h->gsi_count, 0, sizeof(h->gsi_count));
	for (i = 0; i < PCI_NR_SLOTS; i++)
		if (h->slots[i])
			pci__reset_dev(h->slots[i]);
	pthread_mutex_unlock(&h->lock);
	/* all BARs off first: one the guest moved may sit on another's place */
	for (i = 0; i < PCI_NR_SLOTS; i++)
		if (h->slots[i])
			bars_unmap(h->slots[i]);
	for (i = 0; i < PCI_NR_SLOTS; i++) {
		d = h->slots[i];
		if (!d)
			continue;
		bars_update(d);		/* back where they were placed */
		if (d->ops && d->ops->reset)
			d->ops->reset(d);
	}
}

int pci_host__init(struct machine *m, char *err, size_t errlen)
{
	int ret = pci__init(&m->pci, &m->ports, &m->mmio, -1, err, errlen);

	if (ret)
		return ret;
	/* the VM fd exists only after the devices: read it at each call */
	m->pci.irq_line = pci__vm_fd_irq_line;
	m->pci.msi = pci__vm_fd_msi;
	m->pci.irq_opaque = &m->vm.fd;
	return 0;
}
