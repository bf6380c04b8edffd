// SPDX-License-Identifier: GPL-2.0
/*
 * The Intel MultiProcessor Specification 1.4 tables (chapter 4) that
 * `khyp run -c N` (N > 1), and a Linux guest with --acpi off (one vCPU
 * too), get in the BIOS area, so that a guest
 * finds its CPUs and its interrupt routing as on a PC: a floating
 * pointer at MPTABLE_ADDR (the spec's search covers 0xf0000-0xfffff),
 * then the configuration table: one processor entry per vCPU (APIC ID =
 * vCPU id, vCPU 0 the bootstrap processor), PCI bus 0 (bus ID 0) and
 * the ISA bus (bus ID 1), the IOAPIC at 0xfec00000 with ID N, the ISA
 * IRQs on its pins as QEMU wires them (IRQ 0, the PIT, on pin 2; the
 * others on their own pin; 2 is the cascade and has none), ExtINT on pin
 * 0, every PCI slot's INTA-INTD on the pin devices/pci.c drives
 * (PCI_INTX_GSI: 16-19; level, active low, as the PCI bus's default),
 * and the local APICs' LINT0 as ExtINT and LINT1 as NMI (the
 * virtual-wire mode).  The DSDT's _PRT (boot/acpi.c) says the same.
 *
 * Pure, as boot/state.c: it writes guest memory only, and loader_test
 * could check it natively.
 */
#include <stdint.h>
#include <string.h>

#include "khyp.h"

#define MPTABLE_ADDR	0xf0000
#define MP_APIC_BASE	0xfee00000u
#define MP_IOAPIC_BASE	0xfec00000u
#define MP_APIC_VERSION	0x14
#define MP_IOAPIC_VER	0x11
#define MP_ISA_IRQS	16
#define MP_BUS_PCI	0		/* bus IDs: PCI bus 0 is bus 0 */
#define MP_BUS_ISA	1
#define MP_PCI_INTS	(PCI_NR_SLOTS * 4)

struct mp_floating {
	char signature[4];	/* "_MP_" */
	uint32_t config;	/* physical address of the table */
	uint8_t length;		/* in 16-byte units: 1 */
	uint8_t spec_rev;	/* 4: version 1.4 */
	uint8_t checksum;
	uint8_t feature[5];	/* 0: a configuration table follows */
} __attribute__((packed));

struct mp_config {
	char signature[4];	/* "PCMP" */
	uint16_t length;	/* base table, header included */
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entries;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_cpu {
	uint8_t type;		/* 0 */
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;		/* bit 0: enabled, bit 1: bootstrap */
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type;		/* 1 */
	uint8_t id;
	char name[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type;		/* 2 */
	uint8_t id;
	uint8_t version;
	uint8_t flags;		/* bit 0: enabled */
	uint32_t addr;
} __attribute__((packed));

/* An I/O (type 3) or local (type 4) interrupt assignment. */
struct mp_irq {
	uint8_t type;
	uint8_t irq_type;	/* 0 INT, 1 NMI, 2 SMI, 3 ExtINT */
	uint16_t flags;		/* 0: polarity and trigger of the bus */
	uint8_t bus;
	uint8_t bus_irq;
	uint8_t dest;		/* IOAPIC ID, or 0xff: every local APIC */
	uint8_t pin;		/* INTIN or LINTIN */
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer");
_Static_assert(sizeof(struct mp_config) == 44, "MP table header");
_Static_assert(sizeof(struct mp_cpu) == 20, "MP processor entry");
_Static_assert(sizeof(struct mp_bus) == 8, "MP bus entry");
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP IOAPIC entry");
_Static_assert(sizeof(struct mp_irq) == 8, "MP interrupt entry");

enum { MP_CPU, MP_BUS, MP_IOAPIC, MP_IOINT, MP_LINT };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

/* Bytes of the whole thing for @ncpus. */
static size_t mptable__size(unsigned int ncpus)
{
	return sizeof(struct mp_floating) + sizeof(struct mp_config) +
	       ncpus * sizeof(struct mp_cpu) + 2 * sizeof(struct mp_bus) +
	       sizeof(struct mp_ioapic) +
	       (MP_ISA_IRQS + 2 + MP_PCI_INTS) * sizeof(struct mp_irq);
}

static uint8_t mptable__checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return -sum;
}

static uint8_t *mptable__irq(uint8_t *p, uint8_t type, uint8_t irq_type,
			     uint8_t bus, uint8_t bus_irq, uint8_t dest,
			     uint8_t pin)
{
	struct mp_irq e = {
		.type = type, .irq_type = irq_type, .bus = bus,
		.bus_irq = bus_irq, .dest = dest, .pin = pin,
	};

	memcpy(p, &e, sizeof(e));
	return p + sizeof(e);
}

/*
 * Write the tables for @ncpus vCPUs.  Returns 0, or -1 if they do not
 * fit in guest RAM or would overwrite the image [load_start, load_end):
 * the guest then finds no MP table, as on a PC without one.
 */
int mptable__write(struct guest_mem *gm, unsigned int ncpus,
		   uint64_t load_start, uint64_t load_end)
{
	size_t size = mptable__size(ncpus);
	uint8_t *base, *p;
	struct mp_floating fp = { .signature = "_MP_", .length = 1,
				  .spec_rev = 4 };
	struct mp_config hdr = { .signature = "PCMP", .spec_rev = 4,
				 .oem = "KHYP    ", .product = "KHYP VM     ",
				 .lapic = MP_APIC_BASE };
	struct mp_bus pci = { .type = MP_BUS, .id = MP_BUS_PCI,
			      .name = "PCI   " };
	struct mp_bus isa = { .type = MP_BUS, .id = MP_BUS_ISA,
			      .name = "ISA   " };
	struct mp_ioapic ioapic = { .type = MP_IOAPIC, .id = ncpus,
				    .version = MP_IOAPIC_VER, .flags = 1,
				    .addr = MP_IOAPIC_BASE };
	unsigned int i, slot, pin;

	if (MPTABLE_ADDR + size > gm->size ||
	    (load_start < MPTABLE_ADDR + size && MPTABLE_ADDR < load_end))
		return -1;
	base = gm->base + MPTABLE_ADDR;
	memset(base, 0, size);
	p = base + sizeof(fp) + sizeof(hdr);
	for (i = 0; i < ncpus; i++) {
		struct mp_cpu cpu = {
			.type = MP_CPU, .apic_id = i,
			.apic_version = MP_APIC_VERSION,
			.flags = 1 | (i == 0 ? 2 : 0),
		};

		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
	}
	memcpy(p, &pci, sizeof(pci));
	p += sizeof(pci);
	memcpy(p, &isa, sizeof(isa));
	p += sizeof(isa);
	memcpy(p, &ioapic, sizeof(ioapic));
	p += sizeof(ioapic);
	p = mptable__irq(p, MP_IOINT, MP_EXTINT, MP_BUS_ISA, 0, ncpus, 0);
	for (i = 0; i < MP_ISA_IRQS; i++) {
		if (i == 2)
			continue;	/* the PIC cascade */
		p = mptable__irq(p, MP_IOINT, MP_INT, MP_BUS_ISA, i, ncpus,
				 i ? i : 2);
	}
	/* a PCI source: device number in bits 6:2, INTA-INTD as 0-3 */
	for (slot = 0; slot < PCI_NR_SLOTS; slot++)
		for (pin = 0; pin < 4; pin++)
			p = mptable__irq(p, MP_IOINT, MP_INT, MP_BUS_PCI,
					 slot << 2 | pin, ncpus,
					 PCI_INTX_GSI(slot, pin + 1));
	p = mptable__irq(p, MP_LINT, MP_EXTINT, MP_BUS_ISA, 0, 0xff, 0);
	p = mptable__irq(p, MP_LINT, MP_NMI, MP_BUS_ISA, 0, 0xff, 1);

	hdr.length = p - base - sizeof(fp);
	hdr.entries = ncpus + 2 + 1 + 1 + MP_ISA_IRQS - 1 + MP_PCI_INTS + 2;
	memcpy(base + sizeof(fp), &hdr, sizeof(hdr));
	base[sizeof(fp) + offsetof(struct mp_config, checksum)] =
		mptable__checksum(base + sizeof(fp), hdr.length);

	fp.config = MPTABLE_ADDR + sizeof(fp);
	memcpy(base, &fp, sizeof(fp));
	base[offsetof(struct mp_floating, checksum)] =
		mptable__checksum(base, sizeof(fp));
	return 0;
}
