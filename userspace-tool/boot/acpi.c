// SPDX-License-Identifier: GPL-2.0
/*
 * The ACPI tables of a khyp guest (ACPI 6.4 chapter 5): an RSDP (revision
 * 2) pointing at an RSDT and an XSDT, which list the FADT, the MADT and
 * the MCFG; the FADT points at the FACS and the DSDT.
 *
 *   MADT  one enabled Processor Local APIC per vCPU (ACPI processor ID =
 *         APIC ID = vCPU index), the IOAPIC (ID ncpus, 0xfec00000, GSI
 *         base 0), interrupt source overrides ISA IRQ 0 -> GSI 2 (edge,
 *         active high) and IRQ 9 -> GSI 9 (level, active high: the SCI),
 *         LINT1 of every local APIC as NMI; PCAT_COMPAT (there is a PIC).
 *   FADT  revision 6: the PM block of acpi.h (PM1a event, PM1a control,
 *         PM timer with TMR_VAL_EXT, GPE0), SCI_INT 9, no SMI_CMD (the
 *         guest is in ACPI mode from the start: SCI_EN reads 1), the reset
 *         register 0xcf9 <- 0x06, IAPC_BOOT_ARCH legacy devices and 8042,
 *         no C2/C3, the 32-bit and the 64-bit (X_) addresses (but the
 *         FACS's: FIRMWARE_CTRL only, as the spec wants one of the two).
 *   MCFG  the ECAM of devices/pci.c: segment 0, bus 0 (PCI_BUS_LAST),
 *         0xb0000000.
 *   DSDT  AML assembled here: \_S5 (SLP_TYP 0, as QEMU q35), and in \_SB
 *         a processor device (ACPI0007) per vCPU and the PCI host bridge
 *         PCI0 (PNP0A08, see aml_pci0: _CRS, _OSC, _PRT), under which
 *         the ECAM as a motherboard resource (PNP0C02) and, in q35's ISA
 *         scope, COM1 (PNP0501, 0x3f8 IRQ 4), the RTC (PNP0B00, 0x70
 *         IRQ 8), the keyboard controller (PNP0303, 0x60 and 0x64, IRQ 1)
 *         and pvpanic (QEMU0001, 0x505).
 *
 * Pure: it writes guest memory only; loader_test checks every table.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "acpi.h"
#include "../devices/pci.h"

#define ACPI_OEM_ID		"KHYP  "
#define ACPI_OEM_TABLE_ID	"KHYPVM  "
#define ACPI_CREATOR_ID		"KHYP"
#define ACPI_HDR_LEN		36
#define ACPI_RSDP_LEN		36
#define ACPI_FACS_LEN		64
#define ACPI_FADT_LEN		276	/* revision 6 */
#define ACPI_FADT_REV		6
#define ACPI_MADT_REV		3
#define ACPI_DSDT_REV		2	/* 64-bit integers */
#define ACPI_MCFG_LEN		(ACPI_HDR_LEN + 8 + 16)
#define ACPI_MCFG_REV		1
#define ACPI_LAPIC_ADDR		0xfee00000u
#define ACPI_IOAPIC_ADDR	0xfec00000u

/* FADT flags and IAPC_BOOT_ARCH (5.2.9) */
#define FADT_WBINVD		(1u << 0)
#define FADT_PROC_C1		(1u << 2)
#define FADT_SLP_BUTTON		(1u << 5)	/* no fixed sleep button */
#define FADT_RTC_S4		(1u << 7)
#define FADT_TMR_VAL_EXT	(1u << 8)
#define FADT_RESET_REG_SUP	(1u << 10)
#define BOOT_LEGACY_DEVICES	(1u << 0)
#define BOOT_8042		(1u << 1)

/* MADT (5.2.12) */
#define MADT_PCAT_COMPAT	1
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_LAPIC_NMI		4
#define MPS_HIGH_EDGE		0x5	/* polarity 01, trigger 01 */
#define MPS_HIGH_LEVEL		0xd	/* polarity 01, trigger 11 */

/* Generic Address Structure (5.2.3.2) */
#define GAS_IO			1
#define GAS_BYTE		1
#define GAS_WORD		2
#define GAS_DWORD		3

static void le(uint8_t *p, uint64_t v, unsigned int n)
{
	while (n--) {
		*p++ = v;
		v >>= 8;
	}
}

uint8_t acpi__sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return s;
}

static void acpi_header(uint8_t *t, const char *sig, uint32_t len,
			uint8_t rev)
{
	memcpy(t, sig, 4);
	le(t + 4, len, 4);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	le(t + 24, 1, 4);
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	le(t + 32, 1, 4);
}

/* The checksum byte (offset 9) of a table of len bytes. */
static void acpi_checksum(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = -acpi__sum(t, len);
}

static void gas(uint8_t *p, uint8_t space, uint8_t bits, uint8_t access,
		uint64_t addr)
{
	p[0] = space;
	p[1] = bits;
	p[2] = 0;
	p[3] = access;
	le(p + 4, addr, 8);
}

/* ---- AML (chapter 20), enough for names, devices and buffers ---- */

#define AML_MAX_DEPTH		8
#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_NAME		0x08
#define AML_BYTE		0x0a
#define AML_WORD		0x0b
#define AML_DWORD		0x0c
#define AML_STRING		0x0d
#define AML_QWORD		0x0e
#define AML_SCOPE		0x10
#define AML_BUFFER		0x11
#define AML_PACKAGE		0x12
#define AML_METHOD		0x14
#define AML_EXT			0x5b
#define AML_ROOT		'\\'
#define AML_LOCAL0		0x60
#define AML_ARG0		0x68
#define AML_STORE		0x70
#define AML_AND			0x7b
#define AML_OR			0x7d
#define AML_DEVICE		0x82	/* after AML_EXT */
#define AML_CREATE_DWORD	0x8a	/* CreateDWordField */
#define AML_LNOT		0x92
#define AML_LEQUAL		0x93
#define AML_IF			0xa0
#define AML_ELSE		0xa1
#define AML_RETURN		0xa4

struct aml {
	uint8_t *p;
	size_t len, cap;
	bool overflow;
	size_t open[AML_MAX_DEPTH];	/* where each open PkgLength is */
	unsigned int depth;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->p + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Room for the longest PkgLength (4 bytes); aml_close() fills it in. */
static void aml_open(struct aml *a)
{
	static const uint8_t room[4];

	if (a->depth == AML_MAX_DEPTH) {
		a->overflow = true;
		return;
	}
	a->open[a->depth++] = a->len;
	aml_bytes(a, room, sizeof(room));
}

/*
 * PkgLength (20.2.4) counts itself and what follows it: one byte up to
 * 63, else a lead byte with the count of following bytes in bits 6-7 and
 * the low nibble of the length in bits 0-3, then the rest 8 bits a byte.
 */
static void aml_close(struct aml *a)
{
	size_t at, body, len;
	unsigned int n, i;

	if (a->overflow || !a->depth) {
		a->overflow = true;
		return;
	}
	at = a->open[--a->depth];
	body = a->len - at - 4;
	n = body + 1 <= 63 ? 1 : body + 2 < (1u << 12) ? 2 :
	    body + 3 < (1u << 20) ? 3 : 4;
	len = body + n;
	memmove(a->p + at + n, a->p + at + 4, body);
	a->len -= 4 - n;
	if (n == 1) {
		a->p[at] = len;
		return;
	}
	a->p[at] = (n - 1) << 6 | (len & 0xf);
	for (i = 1; i < n; i++)
		a->p[at + i] = len >> (4 + 8 * (i - 1));
}

/* A NameString: an optional leading '\', then one NameSeg of 1-4 chars. */
static void aml_name(struct aml *a, const char *name)
{
	char seg[4] = { '_', '_', '_', '_' };
	size_t n;

	if (*name == AML_ROOT)
		aml_byte(a, *name++);
	n = strlen(name);
	memcpy(seg, name, n < 4 ? n : 4);
	aml_bytes(a, seg, 4);
}

static void aml_int(struct aml *a, uint64_t v)
{
	if (v <= 1) {
		aml_byte(a, v ? AML_ONE : AML_ZERO);
		return;
	}
	if (v <= 0xff) {
		aml_byte(a, AML_BYTE);
		aml_byte(a, v);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD);
		aml_bytes(a, (uint8_t[]){ v, v >> 8 }, 2);
	} else if (v <= 0xffffffff) {
		uint8_t b[4];

		le(b, v, 4);
		aml_byte(a, AML_DWORD);
		aml_bytes(a, b, 4);
	} else {
		uint8_t b[8];

		le(b, v, 8);
		aml_byte(a, AML_QWORD);
		aml_bytes(a, b, 8);
	}
}

/* Name (NAME, v) */
static void aml_name_int(struct aml *a, const char *name, uint64_t v)
{
	aml_byte(a, AML_NAME);
	aml_name(a, name);
	aml_int(a, v);
}

/* Name (NAME, "s") */
static void aml_name_str(struct aml *a, const char *name, const char *s)
{
	aml_byte(a, AML_NAME);
	aml_name(a, name);
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

/*
 * EISAID ("PNP0501"): three letters of 5 bits each and four hex digits,
 * stored big-endian in a DWordConst (19.6.35).
 */
static uint32_t eisa_id(const char *id)
{
	uint32_t v = (uint32_t)(id[0] - 0x40) << 26 |
		     (uint32_t)(id[1] - 0x40) << 21 |
		     (uint32_t)(id[2] - 0x40) << 16;
	unsigned int i;

	for (i = 3; i < 7; i++) {
		char c = id[i];

		v |= (uint32_t)(c <= '9' ? c - '0' : c - 'A' + 10) <<
		     (4 * (6 - i));
	}
	return __builtin_bswap32(v);
}

static void aml_name_eisa(struct aml *a, const char *name, const char *id);

/* Name (_HID, EisaId ("...")) */
static void aml_hid_eisa(struct aml *a, const char *id)
{
	aml_name_eisa(a, "_HID", id);
}

static void aml_device(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT);
	aml_byte(a, AML_DEVICE);
	aml_open(a);
	aml_name(a, name);
}

/*
 * Resource descriptors (6.4): I/O port (decodes 16 bits), IRQ, 32-bit
 * fixed memory, the Word and DWord address spaces of a bridge, end tag.
 */
struct res {
	uint8_t b[128];
	size_t len;
};

static void res_put(struct res *r, const void *d, size_t n)
{
	memcpy(r->b + r->len, d, n);
	r->len += n;
}

static void res_io(struct res *r, uint16_t port, uint8_t len)
{
	uint8_t d[8] = { 0x47, 1, port, port >> 8, port, port >> 8, 1, len };

	res_put(r, d, sizeof(d));
}

/* IRQNoFlags () {irq}: edge, active high, exclusive */
static void res_irq(struct res *r, unsigned int irq)
{
	uint8_t d[3] = { 0x22, (1u << irq) & 0xff, (1u << irq) >> 8 };

	res_put(r, d, sizeof(d));
}

/* Memory32Fixed (ReadWrite, base, len) */
static void res_mem32_fixed(struct res *r, uint32_t base, uint32_t len)
{
	uint8_t d[12] = { 0x86, 9, 0, 1 };

	le(d + 4, base, 4);
	le(d + 8, len, 4);
	res_put(r, d, sizeof(d));
}

/* Address space types and a bridge's flags (6.4.3.5) */
#define RES_SPACE_MEM		0
#define RES_SPACE_IO		1
#define RES_SPACE_BUS		2
#define RES_PRODUCER_FIXED	0x0c	/* producer, MinFixed, MaxFixed */
#define RES_IO_ENTIRE_RANGE	0x03
#define RES_MEM_RW_UNCACHED	0x01

/*
 * WordBusNumber or WordIO (ResourceProducer, MinFixed, MaxFixed,
 * PosDecode, ...): [min, max], no translation.
 */
static void res_word(struct res *r, uint8_t space, uint8_t tflags,
		     uint16_t min, uint16_t max)
{
	uint8_t d[16] = { 0x88, 13, 0, space, RES_PRODUCER_FIXED, tflags };

	le(d + 8, min, 2);
	le(d + 10, max, 2);
	le(d + 14, max - min + 1, 2);
	res_put(r, d, sizeof(d));
}

/*
 * DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
 * NonCacheable, ReadWrite, ...): [min, max]
 */
static void res_dword_mem(struct res *r, uint32_t min, uint32_t max)
{
	uint8_t d[26] = { 0x87, 23, 0, RES_SPACE_MEM, RES_PRODUCER_FIXED,
			  RES_MEM_RW_UNCACHED };

	le(d + 10, min, 4);
	le(d + 14, max, 4);
	le(d + 22, max - min + 1, 4);
	res_put(r, d, sizeof(d));
}

/* Name (_CRS, ResourceTemplate () { ... }): a Buffer ending in the end tag. */
static void aml_crs(struct aml *a, struct res *r)
{
	r->b[r->len++] = 0x79;
	r->b[r->len++] = 0;	/* checksum 0: "treat as correct" */
	aml_byte(a, AML_NAME);
	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER);
	aml_open(a);
	aml_int(a, r->len);
	aml_bytes(a, r->b, r->len);
	aml_close(a);
}

/* A legacy device: _HID, _UID if uid >= 0, one or two I/O ranges, an IRQ. */
static void aml_isa_dev(struct aml *a, const char *name, const char *hid,
			int uid, uint16_t port, uint8_t len, uint16_t port2,
			unsigned int irq)
{
	struct res r = { .len = 0 };

	aml_device(a, name);
	aml_hid_eisa(a, hid);
	if (uid >= 0)
		aml_name_int(a, "_UID", uid);
	res_io(&r, port, len);
	if (port2)
		res_io(&r, port2, 1);
	res_irq(&r, irq);
	aml_crs(a, &r);
	aml_close(a);
}

/* Name (NAME, EisaId ("...")), always as a DWordConst, as iasl does. */
static void aml_name_eisa(struct aml *a, const char *name, const char *id)
{
	uint8_t b[4];

	le(b, eisa_id(id), 4);
	aml_byte(a, AML_NAME);
	aml_name(a, name);
	aml_byte(a, AML_DWORD);
	aml_bytes(a, b, 4);
}

/* Ops with two operands and a target: And (x, y, target) ... */
static void aml_op(struct aml *a, uint8_t op)
{
	aml_byte(a, op);
}

/* CreateDWordField (Arg3, off, NAME) */
static void aml_create_dword_arg(struct aml *a, unsigned int arg,
				 unsigned int off, const char *name)
{
	aml_byte(a, AML_CREATE_DWORD);
	aml_byte(a, AML_ARG0 + arg);
	aml_int(a, off);
	aml_name(a, name);
}

/* Or (NAME, v, NAME) */
static void aml_or_name(struct aml *a, const char *name, uint64_t v)
{
	aml_op(a, AML_OR);
	aml_name(a, name);
	aml_int(a, v);
	aml_name(a, name);
}

/*
 * The PCI Firmware Specification's _OSC (3.0, 4.5) for the host
 * bridge: with its UUID and revision 1, the OS gets control of the
 * features of OSC_GRANTED that it asks for (khyp's firmware handles
 * none: no hotplug, no AER, no PME of its own); the capabilities-masked
 * bit when that is less than it asked, an unknown revision or UUID
 * flagged in the first dword.
 *
 *   Method (_OSC, 4) {
 *     CreateDWordField (Arg3, 0, CDW1)
 *     If (LEqual (Arg0, ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766"))) {
 *       CreateDWordField (Arg3, 8, CDW3)
 *       And (CDW3, OSC_GRANTED, Local0)
 *       If (LNot (LEqual (Arg1, 1))) { Or (CDW1, 0x08, CDW1) }
 *       If (LNot (LEqual (CDW3, Local0))) { Or (CDW1, 0x10, CDW1) }
 *       Store (Local0, CDW3)
 *     } Else { Or (CDW1, 0x04, CDW1) }
 *     Return (Arg3)
 *   }
 */
#define OSC_GRANTED		0x3f	/* hotplug, SHPC, PME, AER, PCIe cap, LTR */
#define OSC_UNKNOWN_UUID	0x04
#define OSC_UNKNOWN_REV		0x08
#define OSC_MASKED		0x10

static void aml_pci_osc(struct aml *a)
{
	/* 33DB4D5B-1FF7-401C-9657-7441C03DD766 as ToUUID lays it out */
	static const uint8_t uuid[16] = {
		0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,
		0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66,
	};

	aml_byte(a, AML_METHOD);
	aml_open(a);
	aml_name(a, "_OSC");
	aml_byte(a, 4);				/* 4 args, not serialized */
	aml_create_dword_arg(a, 3, 0, "CDW1");
	aml_byte(a, AML_IF);
	aml_open(a);
	aml_op(a, AML_LEQUAL);
	aml_byte(a, AML_ARG0);
	aml_byte(a, AML_BUFFER);
	aml_open(a);
	aml_int(a, sizeof(uuid));
	aml_bytes(a, uuid, sizeof(uuid));
	aml_close(a);
	aml_create_dword_arg(a, 3, 8, "CDW3");
	aml_op(a, AML_AND);
	aml_name(a, "CDW3");
	aml_int(a, OSC_GRANTED);
	aml_byte(a, AML_LOCAL0);
	aml_byte(a, AML_IF);
	aml_open(a);
	aml_op(a, AML_LNOT);
	aml_op(a, AML_LEQUAL);
	aml_byte(a, AML_ARG0 + 1);
	aml_int(a, 1);
	aml_or_name(a, "CDW1", OSC_UNKNOWN_REV);
	aml_close(a);
	aml_byte(a, AML_IF);
	aml_open(a);
	aml_op(a, AML_LNOT);
	aml_op(a, AML_LEQUAL);
	aml_name(a, "CDW3");
	aml_byte(a, AML_LOCAL0);
	aml_or_name(a, "CDW1", OSC_MASKED);
	aml_close(a);
	aml_op(a, AML_STORE);
	aml_byte(a, AML_LOCAL0);
	aml_name(a, "CDW3");
	aml_close(a);				/* If */
	aml_byte(a, AML_ELSE);
	aml_open(a);
	aml_or_name(a, "CDW1", OSC_UNKNOWN_UUID);
	aml_close(a);
	aml_byte(a, AML_RETURN);
	aml_byte(a, AML_ARG0 + 3);
	aml_close(a);				/* Method */
}

/*
 * _PRT, the INTx routing of devices/pci.c in APIC mode: every slot's
 * INTA-INTD (_PRT pins 0-3) straight to its GSI, PCI_INTX_GSI (level,
 * active low: what a GSI of a _PRT entry without a link device is).
 */
static void aml_pci_prt(struct aml *a)
{
	unsigned int slot, pin;

	aml_byte(a, AML_NAME);
	aml_name(a, "_PRT");
	aml_byte(a, AML_PACKAGE);
	aml_open(a);
	aml_byte(a, PCI_NR_SLOTS * 4);
	for (slot = 0; slot < PCI_NR_SLOTS; slot++) {
		for (pin = 0; pin < 4; pin++) {
			aml_byte(a, AML_PACKAGE);
			aml_open(a);
			aml_byte(a, 4);
			aml_int(a, (uint64_t)slot << 16 | 0xffff);
			aml_int(a, pin);
			aml_int(a, 0);		/* Source: none, a GSI */
			aml_int(a, PCI_INTX_GSI(slot, pin + 1));
			aml_close(a);
		}
	}
	aml_close(a);
}

/*
 * The host bridge (PCI Firmware Specification 3.0, 4.1): PNP0A08 (PCI
 * Express, with PNP0A03 for older OSes), segment 0, bus 0, its windows
 * as devices/pci.c decodes them: bus 0 (PCI_BUS_LAST), all I/O but
 * the config ports 0xcf8-0xcff (consumed), and the 32-bit memory window
 * where the BARs go; _OSC; _PRT.  Below it the LPC bridge's place (q35's
 * 00:1f.0, no PCI function of its own here) holds the legacy devices.
 */
static void aml_pci0(struct aml *a)
{
	struct res r = { .len = 0 };

	aml_device(a, "PCI0");
	aml_name_eisa(a, "_HID", "PNP0A08");
	aml_name_eisa(a, "_CID", "PNP0A03");
	aml_name_int(a, "_SEG", 0);
	aml_name_int(a, "_BBN", 0);
	aml_name_int(a, "_UID", 0);
	res_word(&r, RES_SPACE_BUS, 0, 0, PCI_BUS_LAST);
	res_io(&r, PCI_CONFIG_ADDR, 8);
	res_word(&r, RES_SPACE_IO, RES_IO_ENTIRE_RANGE, 0, PCI_CONFIG_ADDR - 1);
	res_word(&r, RES_SPACE_IO, RES_IO_ENTIRE_RANGE, PCI_CONFIG_DATA + 4,
		 0xffff);
	res_dword_mem(&r, PCI_MEM_START, PCI_MEM_END - 1);
	aml_crs(a, &r);
	aml_pci_osc(a);
	aml_pci_prt(a);

	/* the ECAM, as a motherboard resource (Linux's MMCONFIG check) */
	r.len = 0;
	aml_device(a, "ECAM");
	aml_name_eisa(a, "_HID", "PNP0C02");
	res_mem32_fixed(&r, PCI_ECAM_BASE, PCI_ECAM_SIZE);
	aml_crs(a, &r);
	aml_close(a);

	aml_device(a, "ISA");
	aml_name_int(a, "_ADR", 0x001f0000);
	aml_isa_dev(a, "COM1", "PNP0501", 1, 0x3f8, 8, 0, 4);
	aml_isa_dev(a, "RTC", "PNP0B00", -1, 0x70, 2, 0, 8);
	aml_isa_dev(a, "KBD", "PNP0303", -1, 0x60, 1, 0x64, 1);

	/* pvpanic, as QEMU's ISA pvpanic device describes itself */
	r.len = 0;
	aml_device(a, "PEVT");
	aml_name_str(a, "_HID", "QEMU0001");
	res_io(&r, 0x505, 1);
	aml_crs(a, &r);
	aml_name_int(a, "_STA", 0xf);
	aml_close(a);

	aml_close(a);	/* ISA */
	aml_close(a);	/* PCI0 */
}

/* The DSDT's AML (after the header) for ncpus vCPUs. */
static void dsdt_aml(struct aml *a, unsigned int ncpus)
{
	unsigned int i;

	/* Name (\_S5, Package (4) { 0, 0, 0, 0 }): SLP_TYPa, SLP_TYPb */
	aml_byte(a, AML_NAME);
	aml_name(a, "\\_S5");
	aml_byte(a, AML_PACKAGE);
	aml_open(a);
	aml_byte(a, 4);
	for (i = 0; i < 4; i++)
		aml_int(a, i < 2 ? ACPI_SLP_TYP_S5 : 0);
	aml_close(a);

	aml_byte(a, AML_SCOPE);
	aml_open(a);
	aml_name(a, "\\_SB");
	for (i = 0; i < ncpus; i++) {
		char name[5];

		snprintf(name, sizeof(name), "C%03X", i & 0xfff);
		aml_device(a, name);
		aml_name_str(a, "_HID", "ACPI0007");
		aml_name_int(a, "_UID", i);
		aml_close(a);
	}
	aml_pci0(a);
	aml_close(a);	/* \_SB */
}

/* ---- the tables ---- */

static size_t align16(size_t v)
{
	return (v + 15) & ~(size_t)15;
}

static void write_rsdp(uint8_t *p, uint32_t rsdt, uint64_t xsdt)
{
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, ACPI_OEM_ID, 6);
	p[15] = 2;			/* revision: ACPI 2.0 and later */
	le(p + 16, rsdt, 4);
	le(p + 20, ACPI_RSDP_LEN, 4);
	le(p + 24, xsdt, 8);
	p[8] = -acpi__sum(p, 20);	/* the ACPI 1.0 part */
	p[32] = -acpi__sum(p, ACPI_RSDP_LEN);
}

static void write_facs(uint8_t *p)
{
	memcpy(p, "FACS", 4);
	le(p + 4, ACPI_FACS_LEN, 4);
	p[32] = 2;			/* version */
}

static void write_fadt(uint8_t *t, uint32_t facs, uint32_t dsdt)
{
	acpi_header(t, "FACP", ACPI_FADT_LEN, ACPI_FADT_REV);
	le(t + 36, facs, 4);		/* FIRMWARE_CTRL */
	le(t + 40, dsdt, 4);
	le(t + 46, ACPI_SCI_IRQ, 2);	/* SCI_INT; SMI_CMD 0: no SMM */
	le(t + 56, ACPI_PM1_EVT, 4);
	le(t + 64, ACPI_PM1_CNT, 4);
	le(t + 76, ACPI_PM_TMR, 4);
	le(t + 80, ACPI_GPE0, 4);
	t[88] = ACPI_PM1_EVT_LEN;
	t[89] = ACPI_PM1_CNT_LEN;
	t[91] = ACPI_PM_TMR_LEN;
	t[92] = ACPI_GPE0_LEN;
	le(t + 96, 0xfff, 2);		/* P_LVL2_LAT > 100: no C2 */
	le(t + 98, 0xfff, 2);		/* P_LVL3_LAT > 1000: no C3 */
	t[108] = 0x32;			/* CENTURY: devices/rtc.h RTC_CENTURY */
	le(t + 109, BOOT_LEGACY_DEVICES | BOOT_8042, 2);
	le(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON |
		    FADT_RTC_S4 | FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP, 4);
	gas(t + 116, GAS_IO, 8, GAS_BYTE, ACPI_RESET_PORT);
	t[128] = ACPI_RESET_VALUE;
	t[131] = 0;			/* minor version: ACPI 6.0 */
	/* X_FIRMWARE_CTRL (132) stays 0: FIRMWARE_CTRL is set (5.2.9) */
	le(t + 140, dsdt, 8);		/* X_DSDT */
	gas(t + 148, GAS_IO, ACPI_PM1_EVT_LEN * 8, GAS_WORD, ACPI_PM1_EVT);
	gas(t + 172, GAS_IO, ACPI_PM1_CNT_LEN * 8, GAS_WORD, ACPI_PM1_CNT);
	gas(t + 208, GAS_IO, ACPI_PM_TMR_LEN * 8, GAS_DWORD, ACPI_PM_TMR);
	gas(t + 220, GAS_IO, ACPI_GPE0_LEN * 8, GAS_BYTE, ACPI_GPE0);
	acpi_checksum(t, ACPI_FADT_LEN);
}

static size_t madt_len(unsigned int ncpus)
{
	return ACPI_HDR_LEN + 8 + ncpus * 8 + 12 + 2 * 10 + 6;
}

static void madt_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	e[0] = MADT_ISO;
	e[1] = 10;
	e[2] = 0;			/* bus: ISA */
	e[3] = irq;
	le(e + 4, gsi, 4);
	le(e + 8, flags, 2);
}

static void write_madt(uint8_t *t, unsigned int ncpus)
{
	size_t len = madt_len(ncpus);
	uint8_t *e = t + ACPI_HDR_LEN + 8;
	unsigned int i;

	acpi_header(t, "APIC", len, ACPI_MADT_REV);
	le(t + 36, ACPI_LAPIC_ADDR, 4);
	le(t + 40, MADT_PCAT_COMPAT, 4);
	for (i = 0; i < ncpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = i;		/* ACPI processor ID (_UID) */
		e[3] = i;		/* APIC ID */
		le(e + 4, 1, 4);	/* enabled */
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = ncpus;
	e[3] = 0;
	le(e + 4, ACPI_IOAPIC_ADDR, 4);
	le(e + 8, 0, 4);		/* GSI base */
	e += 12;
	madt_iso(e, 0, 2, MPS_HIGH_EDGE);
	e += 10;
	madt_iso(e, ACPI_SCI_IRQ, ACPI_SCI_IRQ, MPS_HIGH_LEVEL);
	e += 10;
	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = 0xff;			/* every processor */
	le(e + 3, 0, 2);		/* flags: as the bus */
	e[5] = 1;			/* LINT1 */
	acpi_checksum(t, len);
}

/*
 * MCFG (PCI Firmware Specification 3.0, 4.1.2): one ECAM allocation,
 * segment 0, bus 0 only (PCI_BUS_LAST, devices/pci.h: why) at
 * PCI_ECAM_BASE (devices/pci.c).
 */
static void write_mcfg(uint8_t *t)
{
	uint8_t *e = t + ACPI_HDR_LEN + 8;

	acpi_header(t, "MCFG", ACPI_MCFG_LEN, ACPI_MCFG_REV);
	le(e, PCI_ECAM_BASE, 8);
	le(e + 8, 0, 2);		/* segment */
	e[10] = 0;			/* first bus */
	e[11] = PCI_BUS_LAST;
	acpi_checksum(t, ACPI_MCFG_LEN);
}

/* An RSDT (4-byte entries) or XSDT (8-byte) listing n tables. */
static size_t write_sdt(uint8_t *t, const char *sig, unsigned int width,
			const uint64_t *tables, unsigned int n)
{
	size_t len = ACPI_HDR_LEN + n * width;
	unsigned int i;

	acpi_header(t, sig, len, 1);
	for (i = 0; i < n; i++)
		le(t + ACPI_HDR_LEN + i * width, tables[i], width);
	acpi_checksum(t, len);
	return len;
}

int acpi__write(struct guest_mem *gm, unsigned int ncpus,
		uint64_t load_start, uint64_t load_end,
		struct acpi_layout *where, char *err, size_t errlen)
{
	static uint8_t area[ACPI_AREA_END - ACPI_AREA_START];
	const size_t base = ACPI_AREA_START;
	struct aml a = { .cap = 0 };
	struct acpi_layout l;
	uint64_t tables[3];
	size_t at;

	if (gm->size < ACPI_AREA_END) {
		snprintf(err, errlen, "no ACPI tables: guest RAM ends below 0x%x",
			 ACPI_AREA_END);
		return -1;
	}
	if (load_start < ACPI_AREA_END && ACPI_AREA_START < load_end) {
		snprintf(err, errlen, "no ACPI tables: the image covers [0x%x, 0x%x)",
			 ACPI_AREA_START, ACPI_AREA_END);
		return -1;
	}
	if (!ncpus || ncpus > 255) {
		snprintf(err, errlen, "no ACPI tables for %u vCPUs", ncpus);
		return -1;
	}
	memset(area, 0, sizeof(area));

	l.rsdp = base;
	l.facs = base + 64;		/* 64-byte aligned */
	l.rsdt = l.facs + ACPI_FACS_LEN;
	l.xsdt = align16(l.rsdt + ACPI_HDR_LEN + 3 * 4);
	l.fadt = align16(l.xsdt + ACPI_HDR_LEN + 3 * 8);
	l.madt = align16(l.fadt + ACPI_FADT_LEN);
	l.mcfg = align16(l.madt + madt_len(ncpus));
	l.dsdt = align16(l.mcfg + ACPI_MCFG_LEN);

	a.p = area + (l.dsdt - base) + ACPI_HDR_LEN;
	a.cap = sizeof(area) - (l.dsdt - base) - ACPI_HDR_LEN;
	dsdt_aml(&a, ncpus);
	if (a.overflow || a.depth) {
		snprintf(err, errlen, "no ACPI tables: the DSDT does not fit");
		return -1;
	}
	acpi_header(area + (l.dsdt - base), "DSDT", ACPI_HDR_LEN + a.len,
		    ACPI_DSDT_REV);
	acpi_checksum(area + (l.dsdt - base), ACPI_HDR_LEN + a.len);
	l.end = l.dsdt + ACPI_HDR_LEN + a.len;

	write_facs(area + (l.facs - base));
	write_fadt(area + (l.fadt - base), l.facs, l.dsdt);
	write_madt(area + (l.madt - base), ncpus);
	write_mcfg(area + (l.mcfg - base));
	tables[0] = l.fadt;
	tables[1] = l.madt;
	tables[2] = l.mcfg;
	write_sdt(area + (l.rsdt - base), "RSDT", 4, tables, 3);
	write_sdt(area + (l.xsdt - base), "XSDT", 8, tables, 3);
	write_rsdp(area, l.rsdt, l.xsdt);

	at = l.end - base;
	memcpy(gm->base + base, area, at);
	if (where)
		*where = l;
	return 0;
}
