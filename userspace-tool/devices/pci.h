/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI in the launcher: one conventional PCI bus (bus 0) behind a host
 * bridge, reached through configuration mechanism #1 (ports 0xcf8 and
 * 0xcfc-0xcff) and through the ECAM (PCIe's memory-mapped configuration
 * space, MMCONFIG: 1 MiB per bus from PCI_ECAM_BASE, 4 KiB per
 * function, which the MCFG table names), and the API a device model
 * (virtio-pci, ...) uses.
 *
 * The machine (struct machine's @pci) has one struct pci_host.  At
 * 00:00.0 sits the host bridge, Intel's Q35 MCH as QEMU's q35 shows it
 * (8086:29c0, class 0x060000, subsystem 1af4:1100, header type 0, no
 * BARs).  Devices take the next free slots, 1, 2, ... in the order they
 * call pci__register(); function 0 only (no multi-function devices);
 * every other slot and function reads all-ones, on bus 0 and on every
 * other bus the ECAM covers.
 *
 * A device model embeds a struct pci_dev (container_of, or its @priv),
 * then, before pci__register():
 *
 *	pci_dev__init(&d, "virtio-blk", &(struct pci_ids){ ... });
 *	pci_dev__bar(&d, 4, PCI_BAR_MEM64, 0x4000, 0, my_bar4_io, me,
 *		     err, len);
 *	off = pci_dev__add_cap(&d, vendor_cap, sizeof(vendor_cap), err, len);
 *	pci_dev__msix(&d, nvec, 1, err, len);	(BAR 1 is the core's)
 *	pci__register(&m->pci, &d, err, len);
 *
 * pci__register() gives each BAR an address as firmware would (I/O from
 * PCI_IO_START up, memory from PCI_MEM_START up, each naturally aligned,
 * memory at least to 4 KiB), sets I/O space, memory space and bus
 * master in the command register as SeaBIOS leaves them, and claims the
 * BARs' ranges on the machine's port and MMIO buses (bus.h) with the
 * device's handler: an access arrives with a->off relative to the BAR's
 * base.  When the guest moves a BAR or turns decoding off, the core
 * unregisters and re-registers the range (a BAR it cannot place because
 * the new range overlaps another device's stays unmapped until moved
 * again), then calls ops->decode_changed.
 *
 * Config space (256 bytes, no extended space: through the ECAM, offsets
 * 0x100-0xfff read all-ones, as a conventional function's do on PCIe;
 * an ECAM access of 1, 2 or 4 bytes, naturally aligned): the standard
 * type 0
 * header with its read-only and writable bits (command: I/O, memory,
 * bus master, parity, SERR#, INTx disable writable; status read-only,
 * bit 3 the INTx state, bit 4 set when there are capabilities; BARs with
 * sizing: all-ones reads back the size mask and the fixed flag bits;
 * expansion ROM 0; cache line size and interrupt line writable), the
 * capability list from 0x40 up, and bytes a device made writable with
 * pci_dev__cfg_writable().  Everything else reads what cfg[] holds and
 * ignores writes.
 *
 * Interrupts
 * ----------
 * INTx: pci__set_irq(d, level) sets the device's INTx level.  Fixed
 * routing (as QEMU's q35 PIRQ A-D -> GSI 16-19): slot S, pin P (1 = INTA
 * .. 4 = INTD) drives IOAPIC pin PCI_INTX_GSI(S, P) = 16 + ((S + P - 1)
 * & 3) (KHYP_IRQ_LINE irq 16-19), level-triggered, active low on the
 * wire (the launcher asserts the line with level 1).  The core ORs every
 * device's level on a shared GSI, and holds a device's line low while
 * its command register's INTx disable bit is set or MSI-X is enabled;
 * status bit 3 always shows the device's own level.  The interrupt line
 * register starts with that GSI (the guest may rewrite it; the routing
 * does not change).
 *
 * MSI-X: pci_dev__msix() gives the device N vectors with the table and
 * the PBA in a 32-bit memory BAR of their own, which the core declares
 * and serves: table at offset 0, PBA at PCI_MSIX_PBA_OFF(N), the BAR
 * size a power of two, at least 4 KiB.  pci__msix_notify(d, vec) sends
 * entry vec's address/data with KHYP_SIGNAL_MSI when MSI-X is enabled,
 * the function not masked and the entry not masked; otherwise (masked)
 * it sets the vector's pending bit, and the message goes out when the
 * guest unmasks the entry or the function (clearing the bit).  With
 * MSI-X disabled it returns -ENODEV and the device should use INTx.
 *
 * Both go through hooks in struct pci_host (@irq_line, @msi), which
 * pci_host__init() points at the machine's VM fd (read at each call:
 * the VM is created after the devices) and host tests replace; a failed
 * hook is counted in @irq_errors.  Call them only on a registered
 * device (d->host set).
 *
 * Locking: config accesses and BAR accesses come from vCPU exits, which
 * run.c serializes under the machine's lock.  pci__set_irq(),
 * pci__msix_notify() and pci__msix_enabled() may also be called from a
 * device's own thread (an I/O thread): the INTx levels and the MSI-X
 * state are under pci_host.lock, which the core takes itself (never call
 * these from inside a hook).  The device's ops are called with the
 * machine's lock held, never with pci_host.lock.
 */
#ifndef KHYP_PCI_H
#define KHYP_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/pci_regs.h>	/* PCI_COMMAND, PCI_CAP_ID_*, ... */

#include "../boot/loader.h"
#include "../bus.h"

#define PCI_CONFIG_ADDR		0xcf8	/* dword: the address register */
#define PCI_CONFIG_DATA		0xcfc	/* 0xcfc-0xcff: the data window */
#define PCI_CONFIG_ENABLE	0x80000000u

#define PCI_NR_SLOTS		32
#define PCI_CFG_SIZE		256
#define PCI_NR_BARS		6
#define PCI_CAP_FIRST		0x40	/* the first capability's offset */

/* Where pci__register() places BARs: [start, end) (boot/loader.h's map). */
#define PCI_IO_START		0xc000
#define PCI_IO_END		0x10000
#define PCI_MEM_START		MEM_PCI_START	/* 0xc0000000 */
#define PCI_MEM_END		MEM_PCI_END	/* 0xfec00000: the IOAPIC */

/* The ECAM (PCIe enhanced configuration access, MMCONFIG) */
#define PCI_ECAM_BASE		MEM_ECAM_START	/* 0xb0000000 */
#define PCI_ECAM_SIZE		MEM_ECAM_SIZE	/* buses 0-255 */

/*
 * The last bus the ACPI tables name (the MCFG's end bus, PCI0's bus
 * range): 0, the only bus there is.  The ECAM still decodes all 256
 * (every bus but 0 reads all-ones), as a q35's does, but Linux takes
 * the MCFG's end bus as the last bus to look for peer host bridges on
 * (pcibios_fixup_peer_bridges(), arch/x86/pci/legacy.c): with 255 it
 * read the vendor ID of every eighth devfn of buses 1-255, 8,160 config
 * reads through 0xcf8/0xcfc (Linux's raw_pci_ops are type 1 for the
 * first 256 bytes even with MMCONFIG), 16,320 exits to the launcher:
 * 3.1 s of a 25 s boot to /init in vmx-bochs.
 */
#define PCI_BUS_LAST		0

/* The GSI (IOAPIC pin) of INTx pin (1-4) of a device in slot. */
#define PCI_INTX_GSI(slot, pin)	(16 + (((slot) + (pin) - 1) & 3))

/* The host bridge at 00:00.0 */
#define PCI_HOST_VENDOR		0x8086
#define PCI_HOST_DEVICE		0x29c0	/* Q35 MCH, as QEMU's q35 */
#define PCI_HOST_CLASS		0x060000	/* bridge, host, prog-if 0 */
#define PCI_SUBSYS_VENDOR_QEMU	0x1af4
#define PCI_SUBSYS_QEMU		0x1100

/* MSI-X placement in its BAR */
#define PCI_MSIX_MAX		2048
#define PCI_MSIX_PBA_OFF(n)	(((n) * PCI_MSIX_ENTRY_SIZE + 0x7ff) & ~0x7ffu)

enum pci_bar_type {
	PCI_BAR_NONE = 0,
	PCI_BAR_IO,		/* I/O space: size 4 .. 256 */
	PCI_BAR_MEM32,		/* memory below 4 GiB: size >= 16 */
	PCI_BAR_MEM64,		/* 64-bit memory: takes the next BAR too */
};

struct pci_dev;

/* Optional callbacks of a device; any may be NULL. */
struct pci_dev_ops {
	/*
	 * Before a config read of size bytes at off is answered from
	 * d->cfg: the device may refresh those bytes (virtio's
	 * pci_cfg_data window).
	 */
	void (*config_read)(struct pci_dev *d, unsigned int off,
			    unsigned int size);
	/*
	 * After a config write of size bytes at off was applied to d->cfg
	 * (only its writable bits): val as the guest wrote it.
	 */
	void (*config_write)(struct pci_dev *d, unsigned int off,
			     unsigned int size, uint32_t val);
	/*
	 * The command register changed, or a BAR moved (the buses are
	 * already updated: pci_dev__bar_addr() tells where each BAR is).
	 */
	void (*decode_changed)(struct pci_dev *d);
	/*
	 * A machine reset (pci__reset): the core has put the device's
	 * config space, BARs and MSI-X back as pci__register() left them;
	 * the device's own state goes back to power-on.  Between two
	 * boots: no vCPU runs and no VM exists (an interrupt raised now
	 * goes nowhere), no lock is held.
	 */
	void (*reset)(struct pci_dev *d);
};

/* What a device says about itself (pci_dev__init). */
struct pci_ids {
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys;
	uint32_t class_code;	/* base class << 16 | sub << 8 | prog-if */
	uint8_t revision;
	uint8_t irq_pin;	/* 0: no INTx; 1-4: INTA-INTD */
};

/* One BAR; filled by pci_dev__bar(), then the core's. */
struct pci_bar {
	enum pci_bar_type type;	/* PCI_BAR_NONE: unused (or a MEM64's top) */
	uint64_t size;		/* a power of two */
	unsigned int widths;	/* BUS_WIDTH_* the handler decodes */
	bus_handler_t handle;
	void *opaque;
	/* the core's */
	uint64_t addr;		/* as the BAR register says, flags masked */
	bool mapped;		/* claimed on its bus at addr */
};

#define PCI_BAR_UNMAPPED	(~0ULL)

struct pci_msix_entry {
	uint64_t addr;
	uint32_t data;
	uint32_t ctrl;		/* PCI_MSIX_ENTRY_CTRL_MASKBIT */
};

struct pci_host;

struct pci_dev {
	/* the device's */
	const char *name;
	const struct pci_dev_ops *ops;
	void *priv;		/* for the device's callbacks */

	/* the core's: read, never write them */
	struct pci_host *host;	/* NULL until registered */
	unsigned int slot;
	uint8_t cfg[PCI_CFG_SIZE];	/* config space, as the guest reads it */
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may write */
	uint8_t cfg_reset[PCI_CFG_SIZE];	/* cfg as registered: a reset's */
	uint16_t cap_end;		/* next free capability offset */
	uint8_t cap_last;		/* offset of the last capability, 0 none */
	struct pci_bar bars[PCI_NR_BARS];
	bool intx_level;		/* the device's own INTx level */
	bool intx_out;			/* what it drives on its GSI */
	/* MSI-X: under host->lock */
	unsigned int msix_nr;		/* 0: no MSI-X */
	unsigned int msix_bar;
	uint8_t msix_cap;		/* offset of the capability */
	struct pci_msix_entry *msix;	/* msix_nr entries */
	uint64_t *msix_pba;		/* (msix_nr + 63) / 64 words */
};

/*
 * The interrupt outputs: 0 or a negative errno.  @irq_line: KHYP_IRQ_LINE
 * (gsi 16-23, level 0 or 1); @msi: KHYP_SIGNAL_MSI.
 */
typedef int (*pci_irq_line_t)(void *opaque, unsigned int gsi, int level);
typedef int (*pci_msi_t)(void *opaque, uint64_t addr, uint32_t data);

struct pci_host {
	struct bus *ports, *mmio;	/* where BARs and 0xcf8 are claimed */
	uint32_t config_addr;		/* 0xcf8 */
	struct pci_dev bridge;		/* 00:00.0 */
	struct pci_dev *slots[PCI_NR_SLOTS];
	unsigned int nr_slots;		/* next slot to give */
	uint64_t io_next, mem_next;	/* BAR placement */
	pci_irq_line_t irq_line;
	pci_msi_t msi;
	void *irq_opaque;
	unsigned long irq_errors;	/* hooks that failed */
	int vm_fd;			/* pci__init's, for its hooks */
	bool inited;			/* pci__exit has something to undo */
	/* INTx levels, the MSI-X state of every device */
	pthread_mutex_t lock;
	unsigned int gsi_count[4];	/* devices asserting GSI 16 + i */
};

/* ---- a device, before pci__register() ---- */

/* Zero d, fill its header from ids, name it (for messages). */
void pci_dev__init(struct pci_dev *d, const char *name,
		   const struct pci_ids *ids);
/*
 * Declare BAR nr (0-5; a PCI_BAR_MEM64 takes nr and nr + 1, nr <= 4) of
 * size bytes (a power of two: I/O 4 - 256, memory >= 16) whose accesses
 * of widths (BUS_WIDTH_*; 0: any) go to handle(a, opaque), a->off from
 * the BAR's base.  0, or a negative errno with a message in err.
 */
int pci_dev__bar(struct pci_dev *d, unsigned int nr, enum pci_bar_type type,
		 uint64_t size, unsigned int widths, bus_handler_t handle,
		 void *opaque, char *err, size_t errlen);
/*
 * Append a capability: cap holds all len bytes of it (len >= 2, < 256);
 * cap[0] is its ID (PCI_CAP_ID_VNDR for virtio's), the core links cap[1]
 * (next).  It goes at the next 4-aligned free offset from 0x40; its
 * bytes are read-only unless made writable.  Returns that offset, or a
 * negative errno (-ENOSPC: no room) with a message in err.
 */
int pci_dev__add_cap(struct pci_dev *d, const void *cap, unsigned int len,
		     char *err, size_t errlen);
/*
 * Let the guest write len bytes of config space from off with the bits
 * of mask set (e.g. virtio's pci_cfg bar/offset/length/data fields).
 * Header bytes below 0x40 keep the core's rules: off must be >= 0x40.
 */
void pci_dev__cfg_writable(struct pci_dev *d, unsigned int off,
			   unsigned int len, uint8_t mask);
/*
 * MSI-X with nvec vectors (1 - PCI_MSIX_MAX): adds the capability and
 * declares BAR bar (a free one) as 32-bit memory with the table and PBA,
 * all entries masked.  0, or a negative errno with a message in err.
 */
int pci_dev__msix(struct pci_dev *d, unsigned int nvec, unsigned int bar,
		  char *err, size_t errlen);

/* ---- the machine ---- */

/*
 * Set up h with its host bridge, claim 0xcf8 (dword) and 0xcfc-0xcff on
 * ports and the ECAM on mmio, and point the interrupt hooks at the VM
 * fd vm_fd (-1: none, every interrupt fails with -ENXIO).  0 or a
 * negative errno (err).
 */
int pci__init(struct pci_host *h, struct bus *ports, struct bus *mmio,
	      int vm_fd, char *err, size_t errlen);
void pci__exit(struct pci_host *h);
/*
 * Put d into the next free slot: place and enable its BARs, claim them
 * on the buses.  0, or a negative errno with a message in err (no slot
 * or no room for a BAR left, a range the buses refuse).
 */
int pci__register(struct pci_host *h, struct pci_dev *d,
		  char *err, size_t errlen);
/*
 * A machine reset (--reboot restart), between two boots: every
 * function's config space, BARs (where pci__register() placed them,
 * decoding) and MSI-X (disabled, entries masked, nothing pending) as at
 * registration, INTx low and no GSI held (the new VM's lines start
 * low), 0xcf8 cleared; then each device's ops->reset.
 */
void pci__reset(struct pci_host *h);

/*
 * The config mechanism #1 ports and the ECAM's MMIO (bus.h handlers;
 * opaque: the host): both end in the same config access of a function.
 */
int pci__config_io(struct bus_access *a, void *opaque);
int pci__ecam_io(struct bus_access *a, void *opaque);

/* ---- a registered device, at run time ---- */

/* BAR nr's guest address, or PCI_BAR_UNMAPPED when not decoded. */
uint64_t pci_dev__bar_addr(const struct pci_dev *d, unsigned int nr);
/* The command register's bits (PCI_COMMAND_MASTER: DMA allowed). */
uint16_t pci_dev__command(const struct pci_dev *d);
/* Set the device's INTx level (1 asserted); any thread. */
void pci__set_irq(struct pci_dev *d, int level);
/* MSI-X enabled by the guest (the function mask aside); any thread. */
bool pci__msix_enabled(struct pci_dev *d);
/*
 * Signal MSI-X vector vec; any thread.  1 sent, 0 left pending (masked),
 * -ENODEV MSI-X disabled (use INTx), -EINVAL no such vector, or the
 * hook's negative errno.
 */
int pci__msix_notify(struct pci_dev *d, unsigned int vec);

#endif /* KHYP_PCI_H */
