// SPDX-License-Identifier: GPL-2.0
/*
 * The ACPI tables (boot/acpi.c): where each one is, its checksum and
 * length, the values the FADT and the MADT promise (against boot/acpi.h,
 * which devices/acpi_pm.c implements), the DSDT's AML, and iasl's
 * disassembly of them when acpica-tools is installed.  Also --acpi and
 * the MP table a Linux guest gets without ACPI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "../khyp.h"
#include "../devices/pci.h"

static uint64_t rd(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static const uint8_t *gp(const struct tctx *t, uint64_t gpa)
{
	return t->gm.base + gpa;
}

/* A table at gpa: signature, length within the area, checksum 0. */
static bool table_ok(const struct tctx *t, uint64_t gpa, const char *sig,
		     uint8_t rev)
{
	const uint8_t *p = gp(t, gpa);
	uint32_t len = rd(p + 4, 4);

	return !memcmp(p, sig, 4) && len >= 36 &&
	       gpa + len <= ACPI_AREA_END && p[8] == rev &&
	       !acpi__sum(p, len) && !memcmp(p + 10, "KHYP  ", 6);
}

static bool gas_is(const uint8_t *g, uint8_t bits, uint64_t addr)
{
	return g[0] == 1 && g[1] == bits && g[2] == 0 && rd(g + 4, 8) == addr;
}

static int write_tables(struct tctx *t, unsigned int ncpus,
			struct acpi_layout *l)
{
	return acpi__write(&t->gm, ncpus, 0x100000, 0x200000, l, t->err,
			   sizeof(t->err));
}

static void acpi_rsdp_and_sdts(struct tctx *t)
{
	struct acpi_layout l;
	const uint8_t *r;
	unsigned int i;

	EXPECT_OK(t, write_tables(t, 2, &l));
	/* the RSDP: in 0xe0000-0xfffff, 16-byte aligned, both checksums */
	CHECK(t, l.rsdp == 0xe0000 && !(l.rsdp & 15));
	r = gp(t, l.rsdp);
	CHECK(t, !memcmp(r, "RSD PTR ", 8) && r[15] == 2);
	CHECK(t, !acpi__sum(r, 20) && !acpi__sum(r, 36));
	CHECK(t, rd(r + 20, 4) == 36);
	CHECK(t, rd(r + 16, 4) == l.rsdt && rd(r + 24, 8) == l.xsdt);
	CHECK(t, table_ok(t, l.rsdt, "RSDT", 1) && table_ok(t, l.xsdt, "XSDT", 1));
	CHECK(t, rd(gp(t, l.rsdt) + 4, 4) == 36 + 3 * 4);
	CHECK(t, rd(gp(t, l.xsdt) + 4, 4) == 36 + 3 * 8);
	CHECK(t, rd(gp(t, l.rsdt) + 36, 4) == l.fadt &&
		 rd(gp(t, l.rsdt) + 40, 4) == l.madt &&
		 rd(gp(t, l.rsdt) + 44, 4) == l.mcfg);
	CHECK(t, rd(gp(t, l.xsdt) + 36, 8) == l.fadt &&
		 rd(gp(t, l.xsdt) + 44, 8) == l.madt &&
		 rd(gp(t, l.xsdt) + 52, 8) == l.mcfg);
	CHECK(t, !memcmp(gp(t, l.facs), "FACS", 4) &&
		 rd(gp(t, l.facs) + 4, 4) == 64 && !(l.facs & 63));
	/* every table in the area the e820 map reserves, none overlapping */
	CHECK(t, ACPI_AREA_START >= BIOS_AREA_START &&
		 l.end <= ACPI_AREA_END && ACPI_AREA_END <= HIGH_MEM_START);
	CHECK(t, l.facs >= l.rsdp + 36 && l.rsdt >= l.facs + 64 &&
		 l.xsdt >= l.rsdt + 48 && l.fadt >= l.xsdt + 60 &&
		 l.madt >= l.fadt + 276 && l.mcfg > l.madt &&
		 l.dsdt >= l.mcfg + 60 && l.end > l.dsdt + 36);
	/* the rest of the area untouched */
	CHECK(t, t_guest_filled(t, l.end, ACPI_AREA_END - l.end));
	for (i = 0; i < 0xe0000; i += 0x1000)
		CHECK(t, t_guest_filled(t, i, 0x1000));
}

static void acpi_fadt_values(struct tctx *t)
{
	struct acpi_layout l;
	const uint8_t *f;

	EXPECT_OK(t, write_tables(t, 1, &l));
	CHECK(t, table_ok(t, l.fadt, "FACP", 6));
	f = gp(t, l.fadt);
	CHECK(t, rd(f + 4, 4) == 276);
	CHECK(t, rd(f + 36, 4) == l.facs && rd(f + 40, 4) == l.dsdt);
	/* X_FIRMWARE_CTRL 0: "if FIRMWARE_CTRL is non-zero, this must be 0" */
	CHECK(t, rd(f + 132, 8) == 0 && rd(f + 140, 8) == l.dsdt);
	CHECK(t, rd(f + 46, 2) == 9);			/* SCI_INT */
	CHECK(t, rd(f + 48, 4) == 0 && f[52] == 0 && f[53] == 0);	/* no SMI_CMD */
	CHECK(t, rd(f + 56, 4) == 0x600 && f[88] == 4);	/* PM1a_EVT */
	CHECK(t, rd(f + 60, 4) == 0);			/* no PM1b */
	CHECK(t, rd(f + 64, 4) == 0x604 && f[89] == 2);	/* PM1a_CNT */
	CHECK(t, rd(f + 76, 4) == 0x608 && f[91] == 4);	/* PM_TMR */
	CHECK(t, rd(f + 80, 4) == 0x620 && f[92] == 16);	/* GPE0 */
	CHECK(t, rd(f + 84, 4) == 0 && f[93] == 0);	/* no GPE1 */
	CHECK(t, rd(f + 96, 2) > 100 && rd(f + 98, 2) > 1000);
	CHECK(t, f[108] == 0x32);			/* CENTURY: the RTC's */
	CHECK(t, rd(f + 109, 2) == 3);			/* legacy, 8042 */
	CHECK(t, rd(f + 112, 4) == 0x5a5);
	CHECK(t, (rd(f + 112, 4) & (1u << 8)) && (rd(f + 112, 4) & (1u << 10)));
	CHECK(t, !(rd(f + 112, 4) & (1u << 20)));	/* not HW_REDUCED */
	CHECK(t, gas_is(f + 116, 8, 0xcf9) && f[128] == 6);	/* RESET_REG */
	CHECK(t, gas_is(f + 148, 32, 0x600));		/* X_PM1a_EVT */
	CHECK(t, gas_is(f + 172, 16, 0x604));		/* X_PM1a_CNT */
	CHECK(t, gas_is(f + 208, 32, 0x608));		/* X_PM_TMR */
	CHECK(t, gas_is(f + 220, 128, 0x620));		/* X_GPE0 */
	CHECK(t, rd(f + 160, 8) == 0 && rd(f + 184, 8) == 0 &&
		 rd(f + 232, 8) == 0);			/* no b blocks, GPE1 */
}

static void madt_check(struct tctx *t, unsigned int ncpus)
{
	struct acpi_layout l;
	unsigned int cpus = 0, ioapics = 0, nmis = 0, isos = 0;
	const uint8_t *m, *e, *end;

	EXPECT_OK(t, write_tables(t, ncpus, &l));
	CHECK(t, table_ok(t, l.madt, "APIC", 3));
	m = gp(t, l.madt);
	CHECK(t, rd(m + 36, 4) == 0xfee00000 && rd(m + 40, 4) == 1);
	end = m + rd(m + 4, 4);
	for (e = m + 44; e < end; e += e[1]) {
		CHECK(t, e[1] >= 2 && e + e[1] <= end);
		switch (e[0]) {
		case 0:
			CHECK(t, e[1] == 8 && e[2] == cpus && e[3] == cpus &&
				 rd(e + 4, 4) == 1);
			cpus++;
			break;
		case 1:
			CHECK(t, e[1] == 12 && e[2] == ncpus &&
				 rd(e + 4, 4) == 0xfec00000 && rd(e + 8, 4) == 0);
			ioapics++;
			break;
		case 2:
			CHECK(t, e[1] == 10 && e[2] == 0);
			if (e[3] == 0)
				CHECK(t, rd(e + 4, 4) == 2 && rd(e + 8, 2) == 5);
			else
				CHECK(t, e[3] == 9 && rd(e + 4, 4) == 9 &&
					 rd(e + 8, 2) == 0xd);
			isos++;
			break;
		case 4:
			CHECK(t, e[1] == 6 && e[2] == 0xff && e[5] == 1);
			nmis++;
			break;
		default:
			CHECK(t, !"unexpected MADT entry");
		}
	}
	CHECK(t, e == end);
	CHECK(t, cpus == ncpus && ioapics == 1 && isos == 2 && nmis == 1);
}

static void acpi_madt_one_cpu(struct tctx *t)
{
	madt_check(t, 1);
}

static void acpi_madt_64_cpus(struct tctx *t)
{
	madt_check(t, KHYP_MAX_VCPUS);
}

/* A PkgLength at p: its value, the bytes it takes in *n. */
static uint32_t pkglen(const uint8_t *p, unsigned int *n)
{
	unsigned int i;
	uint32_t v;

	*n = (p[0] >> 6) + 1;
	if (*n == 1)
		return p[0] & 0x3f;
	v = p[0] & 0xf;
	for (i = 1; i < *n; i++)
		v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

static bool has(const uint8_t *p, size_t len, const void *what, size_t n)
{
	size_t i;

	for (i = 0; i + n <= len; i++)
		if (!memcmp(p + i, what, n))
			return true;
	return false;
}

static void dsdt_check(struct tctx *t, unsigned int ncpus)
{
	static const uint8_t s5[] = {	/* Name (\_S5, Package (4) {0,0,0,0}) */
		0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0,
	};
	static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const uint8_t pnp0b00[] = { 0x0c, 0x41, 0xd0, 0x0b, 0x00 };
	static const uint8_t pnp0303[] = { 0x0c, 0x41, 0xd0, 0x03, 0x03 };
	static const uint8_t io505[] = { 0x47, 1, 0x05, 0x05, 0x05, 0x05, 1, 1 };
	static const uint8_t com1[] = { 0x47, 1, 0xf8, 3, 0xf8, 3, 1, 8,
					0x22, 0x10, 0, 0x79, 0 };
	static const uint8_t sta[] = { 0x08, '_', 'S', 'T', 'A', 0x0a, 0x0f };
	static const uint8_t pnp0a03[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	/* WordBusNumber 0-0; the config ports; DWordMemory's window */
	static const uint8_t bus[] = { 0x88, 13, 0, 2, 0x0c, 0, 0, 0, 0, 0,
				       0, 0, 0, 0, 1, 0 };
	static const uint8_t cf8[] = { 0x47, 1, 0xf8, 0xc, 0xf8, 0xc, 1, 8 };
	const uint8_t mem[] = { 0x87, 23, 0, 0, 0x0c, 1, 0, 0, 0, 0,
		(uint8_t)PCI_MEM_START, (uint8_t)(PCI_MEM_START >> 8),
		(uint8_t)(PCI_MEM_START >> 16), (uint8_t)(PCI_MEM_START >> 24) };
	/* slot 1 pin INTB (1) -> GSI 18; slot 31 INTD (3) -> GSI 18 */
	static const uint8_t prt1b[] = { 0x12, 0x0b, 4, 0x0c, 0xff, 0xff, 1,
					 0, 1, 0, 0x0a, 18 };
	static const uint8_t prt31d[] = { 0x12, 0x0c, 4, 0x0c, 0xff, 0xff, 31,
					  0, 0x0a, 3, 0, 0x0a, 18 };
	struct acpi_layout l;
	const uint8_t *d, *aml;
	unsigned int n;
	uint32_t len;
	char cpu[16];

	EXPECT_OK(t, write_tables(t, ncpus, &l));
	CHECK(t, table_ok(t, l.dsdt, "DSDT", 2));
	d = gp(t, l.dsdt);
	len = rd(d + 4, 4);
	CHECK(t, l.end == l.dsdt + len);
	aml = d + 36;
	CHECK(t, !memcmp(aml, s5, sizeof(s5)));
	/* Scope (\_SB) { ... } runs to the end of the table exactly */
	CHECK(t, aml[sizeof(s5)] == 0x10);
	CHECK(t, pkglen(aml + sizeof(s5) + 1, &n) ==
		 len - 36 - sizeof(s5) - 1);
	CHECK(t, !memcmp(aml + sizeof(s5) + 1 + n, "\\_SB_", 5));
	CHECK(t, has(aml, len - 36, pnp0501, sizeof(pnp0501)));
	CHECK(t, has(aml, len - 36, pnp0b00, sizeof(pnp0b00)));
	CHECK(t, has(aml, len - 36, pnp0303, sizeof(pnp0303)));
	CHECK(t, has(aml, len - 36, com1, sizeof(com1)));
	CHECK(t, has(aml, len - 36, "\x0dQEMU0001", 10));
	CHECK(t, has(aml, len - 36, io505, sizeof(io505)));
	CHECK(t, has(aml, len - 36, sta, sizeof(sta)));
	CHECK(t, has(aml, len - 36, "PCI0", 4));
	CHECK(t, has(aml, len - 36, pnp0a03, sizeof(pnp0a03)));
	CHECK(t, has(aml, len - 36, bus, sizeof(bus)));
	CHECK(t, has(aml, len - 36, cf8, sizeof(cf8)));
	CHECK(t, has(aml, len - 36, mem, sizeof(mem)));
	CHECK(t, has(aml, len - 36, prt1b, sizeof(prt1b)));
	CHECK(t, has(aml, len - 36, prt31d, sizeof(prt31d)));
	snprintf(cpu, sizeof(cpu), "C%03X", ncpus - 1);
	CHECK(t, has(aml, len - 36, cpu, 4));
	snprintf(cpu, sizeof(cpu), "C%03X", ncpus);
	CHECK(t, !has(aml, len - 36, cpu, 4));
}

/* The MCFG: the ECAM of devices/pci.c, segment 0, bus 0 only. */
static void acpi_mcfg(struct tctx *t)
{
	struct acpi_layout l;
	const uint8_t *m;

	EXPECT_OK(t, write_tables(t, 1, &l));
	CHECK(t, table_ok(t, l.mcfg, "MCFG", 1));
	m = gp(t, l.mcfg);
	CHECK(t, rd(m + 4, 4) == 36 + 8 + 16);
	CHECK(t, rd(m + 36, 8) == 0);			/* reserved */
	CHECK(t, rd(m + 44, 8) == PCI_ECAM_BASE && PCI_ECAM_BASE == 0xb0000000);
	CHECK(t, rd(m + 52, 2) == 0 && m[54] == 0 && m[55] == 0);
	CHECK(t, rd(m + 56, 4) == 0);
	CHECK(t, PCI_ECAM_SIZE == 256u << 20);
}

/* An AML integer at p (Zero, One, Byte/Word/DWordConst): its value. */
static bool aml_int_at(const uint8_t **p, uint64_t *v)
{
	static const unsigned int len[] = { [0x0a] = 1, [0x0b] = 2,
					    [0x0c] = 4 };
	const uint8_t *q = *p;

	if (q[0] <= 1) {
		*v = q[0];
		*p = q + 1;
		return true;
	}
	if (q[0] < 0x0a || q[0] > 0x0c)
		return false;
	*v = rd(q + 1, len[q[0]]);
	*p = q + 1 + len[q[0]];
	return true;
}

/*
 * The host bridge: PNP0A08/PNP0A03 with _SEG, _BBN, _UID; its _CRS
 * windows (buses, I/O around the config ports, the BAR window of
 * devices/pci.c); the ECAM as a motherboard resource; and a _PRT
 * entry for every slot and pin that says devices/pci.c's GSI.
 */
static void acpi_dsdt_pci0(struct tctx *t)
{
	static const uint8_t pci0[] = { 0x5b, 0x82 };	/* Device ... PCI0 */
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c,
				       0x41, 0xd0, 0x0a, 0x08 };
	static const uint8_t cid[] = { 0x08, '_', 'C', 'I', 'D', 0x0c,
				       0x41, 0xd0, 0x0a, 0x03 };
	static const uint8_t seg[] = { 0x08, '_', 'S', 'E', 'G', 0 };
	static const uint8_t bbn[] = { 0x08, '_', 'B', 'B', 'N', 0 };
	static const uint8_t bus[] = { 0x88, 13, 0, 2, 0x0c, 0, 0, 0, 0, 0,
				       0, 0, 0, 0, 1, 0 };
	static const uint8_t cf8[] = { 0x47, 1, 0xf8, 0x0c, 0xf8, 0x0c, 1, 8 };
	static const uint8_t io0[] = { 0x88, 13, 0, 1, 0x0c, 3, 0, 0, 0, 0,
				       0xf7, 0x0c, 0, 0, 0xf8, 0x0c };
	static const uint8_t io1[] = { 0x88, 13, 0, 1, 0x0c, 3, 0, 0, 0x00,
				       0x0d, 0xff, 0xff, 0, 0, 0x00, 0xf3 };
	static const uint8_t mem[] = { 0x87, 23, 0, 0, 0x0c, 1, 0, 0, 0, 0,
				       0x00, 0x00, 0x00, 0xc0,
				       0xff, 0xff, 0xbf, 0xfe, 0, 0, 0, 0,
				       0x00, 0x00, 0xc0, 0x3e };
	static const uint8_t ecam[] = { 0x86, 9, 0, 1, 0, 0, 0, 0xb0,
					0, 0, 0, 0x10 };
	static const uint8_t pnp0c02[] = { 0x0c, 0x41, 0xd0, 0x0c, 0x02 };
	struct acpi_layout l;
	const uint8_t *d, *aml, *p;
	unsigned int n, i, slot, pin;
	uint64_t v[4];
	uint32_t len;

	EXPECT_OK(t, write_tables(t, 1, &l));
	d = gp(t, l.dsdt);
	len = rd(d + 4, 4) - 36;
	aml = d + 36;
	CHECK(t, has(aml, len, "PCI0", 4) && has(aml, len, pci0, 2));
	CHECK(t, has(aml, len, hid, sizeof(hid)) &&
		 has(aml, len, cid, sizeof(cid)));
	CHECK(t, has(aml, len, seg, sizeof(seg)) &&
		 has(aml, len, bbn, sizeof(bbn)));
	CHECK(t, has(aml, len, bus, sizeof(bus)) &&
		 has(aml, len, cf8, sizeof(cf8)));
	CHECK(t, has(aml, len, io0, sizeof(io0)) &&
		 has(aml, len, io1, sizeof(io1)));
	CHECK(t, has(aml, len, mem, sizeof(mem)));
	CHECK(t, PCI_MEM_START == 0xc0000000 && PCI_MEM_END == 0xfec00000);
	CHECK(t, has(aml, len, pnp0c02, sizeof(pnp0c02)) &&
		 has(aml, len, ecam, sizeof(ecam)));
	CHECK(t, has(aml, len, "_OSC", 4) && has(aml, len, "ISA_", 4));
	/* _PRT: Package (128) of Package (4) { addr, pin, 0, GSI } */
	for (p = aml; p + 4 <= aml + len && memcmp(p, "_PRT", 4); p++)
		;
	CHECK(t, p + 4 <= aml + len && p[-1] == 0x08 && p[4] == 0x12);
	p += 5;
	pkglen(p, &n);
	p += n;
	CHECK(t, *p++ == 128);
	for (i = 0; i < 128; i++) {
		CHECK(t, *p++ == 0x12);
		pkglen(p, &n);
		p += n;
		CHECK(t, *p++ == 4);
		for (n = 0; n < 4; n++)
			CHECK(t, aml_int_at(&p, &v[n]));
		slot = i / 4;
		pin = i % 4;
		CHECK(t, v[0] == ((uint64_t)slot << 16 | 0xffff) && v[1] == pin &&
			 v[2] == 0 && v[3] == PCI_INTX_GSI(slot, pin + 1));
	}
	/* the rule of devices/pci.c: GSI 16 + ((slot + pin - 1) & 3) */
	CHECK(t, PCI_INTX_GSI(1, 1) == 17 && PCI_INTX_GSI(3, 2) == 20 - 4 &&
		 PCI_INTX_GSI(31, 4) == 18);
}

static void acpi_dsdt_one_cpu(struct tctx *t)
{
	dsdt_check(t, 1);
}

static void acpi_dsdt_64_cpus(struct tctx *t)
{
	dsdt_check(t, KHYP_MAX_VCPUS);
}

static void acpi_refused(struct tctx *t)
{
	struct acpi_layout l;

	/* the image covers the area; RAM ends below it: guest untouched */
	EXPECT_FAIL(t, acpi__write(&t->gm, 1, 0xe8000, 0xe9000, &l, t->err,
				   sizeof(t->err)), -1, "the image covers");
	EXPECT_FAIL(t, acpi__write(&t->gm, 1, 0x7c00, 0x100000, &l, t->err,
				   sizeof(t->err)), -1, "the image covers");
	t->gm.size = 0xe8000;
	EXPECT_FAIL(t, acpi__write(&t->gm, 1, 0x7c00, 0x7e00, &l, t->err,
				   sizeof(t->err)), -1, "guest RAM ends");
	t->gm.size = GUEST_SIZE;
	/* an image just below or above it is fine */
	EXPECT_OK(t, acpi__write(&t->gm, 1, 0x7c00, 0xe0000, &l, t->err,
				 sizeof(t->err)));
	EXPECT_OK(t, acpi__write(&t->gm, 1, 0xf0000, 0xf1000, &l, t->err,
				 sizeof(t->err)));
}

/* Write len bytes at gpa to dir/name; 0 or -1. */
static int dump(const struct tctx *t, const char *dir, const char *name,
		uint64_t gpa)
{
	char path[256];
	FILE *f;
	size_t len = rd(gp(t, gpa) + 4, 4);
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	ret = fwrite(gp(t, gpa), 1, len, f) == len ? 0 : -1;
	return fclose(f) || ret ? -1 : 0;
}

/*
 * `iasl -d` of each table; fails on a non-zero exit or any warning or
 * error in its output.  The DSDT's disassembly must name what we put in.
 */
/* iasl -d of each table in dir; see acpi_iasl_disassembles. */
static void iasl_check(struct tctx *t, const char *dir,
		       const struct acpi_layout *l)
{
	static const char *const tables[] = { "dsdt", "facp", "apic", "xsdt",
					      "rsdt", "mcfg" };
	static const char *const dsl_has[] = {
		"Name (\\_S5, Package (0x04)", "Device (COM1)", "PNP0501",
		"PNP0B00", "PNP0303", "\"QEMU0001\"", "Device (C001)",
		"IO (Decode16,", "IRQNoFlags ()",
		"Name (_STA, 0x0F)", "Device (PCI0)", "EisaId (\"PNP0A08\")",
		"EisaId (\"PNP0A03\")", "Name (_SEG, Zero)",
		"Name (_BBN, Zero)", "WordBusNumber (ResourceProducer",
		"0xFEBFFFFF,", "Method (_OSC, 4, NotSerialized)",
		"ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\")",
		"Local0 = (CDW3 & 0x3F)", "CDW3 = Local0", "Return (Arg3)",
		"Name (_PRT, Package (0x80)", "Device (ISA)",
		"Name (_ADR, 0x001F0000)", "EisaId (\"PNP0C02\")",
		"Memory32Fixed (ReadWrite,",
	};
	const uint64_t at[] = { l->dsdt, l->fadt, l->madt, l->xsdt, l->rsdt,
				l->mcfg };
	static char out[65536];
	char cmd[512];
	unsigned int i;
	size_t n;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(tables); i++) {
		char name[32];

		snprintf(name, sizeof(name), "%s.dat", tables[i]);
		CHECK(t, !dump(t, dir, name, at[i]));
		snprintf(cmd, sizeof(cmd),
			 "cd %s && iasl -d %s > %s.log 2>&1; echo $? >> %s.log",
			 dir, name, tables[i], tables[i]);
		CHECK(t, !system(cmd));
		snprintf(cmd, sizeof(cmd), "%s/%s.log", dir, tables[i]);
		f = fopen(cmd, "r");
		CHECK(t, f);
		n = fread(out, 1, sizeof(out) - 1, f);
		fclose(f);
		out[n] = 0;
		if (strstr(out, "rror") || strstr(out, "arning") ||
		    strstr(out, "nvalid") || n < 2 || strcmp(out + n - 2, "0\n")) {
			snprintf(t->err, sizeof(t->err), "iasl -d %s: %.180s",
				 name, out);
			CHECK(t, !"iasl complained");
		}
		snprintf(cmd, sizeof(cmd), "%s/%s.dsl", dir, tables[i]);
		f = fopen(cmd, "r");
		CHECK(t, f);
		n = fread(out, 1, sizeof(out) - 1, f);
		fclose(f);
		out[n] = 0;
		if (strstr(out, "rror") || strstr(out, "arning") ||
		    strstr(out, "nvalid")) {
			snprintf(t->err, sizeof(t->err), "%s.dsl: %.180s",
				 tables[i], strstr(out, "rror") ?: strstr(out, "arning") ?:
				 strstr(out, "nvalid"));
			CHECK(t, !"iasl complained in the disassembly");
		}
		if (i == 0) {
			unsigned int k;

			/* iasl compiles the disassembly back: no complaint */
			snprintf(cmd, sizeof(cmd),
				 "cd %s && iasl -p recomp dsdt.dsl > recomp.log 2>&1 && "
				 "grep -q '0 Errors, 0 Warnings, 0 Remarks' recomp.log",
				 dir);
			if (system(cmd)) {
				snprintf(t->err, sizeof(t->err),
					 "iasl does not compile dsdt.dsl cleanly (KHYP_KEEP_ACPI=1: recomp.log)");
				CHECK(t, !"the DSDT's disassembly compiles");
			}

			for (k = 0; k < ARRAY_SIZE(dsl_has); k++)
				if (!strstr(out, dsl_has[k])) {
					snprintf(t->err, sizeof(t->err),
						 "dsdt.dsl lacks '%s'", dsl_has[k]);
					CHECK(t, !"the DSDT disassembles to what we wrote");
				}
		}
	}
}

/*
 * `iasl -d` of each table; fails on a non-zero exit or any warning or
 * error in its output.  The DSDT's disassembly must name what we put in.
 * KHYP_KEEP_ACPI=1 keeps the directory (its name in /tmp/khyp-acpi-*).
 */
static void acpi_iasl_disassembles(struct tctx *t)
{
	char dir[] = "/tmp/khyp-acpi-XXXXXX", cmd[64];
	struct acpi_layout l;

	if (system("command -v iasl >/dev/null 2>&1")) {
		snprintf(t->err, sizeof(t->err),
			 "skipped: iasl not found (apt-get install acpica-tools)");
		return;
	}
	EXPECT_OK(t, write_tables(t, 2, &l));
	CHECK(t, mkdtemp(dir));
	iasl_check(t, dir, &l);
	if (getenv("KHYP_KEEP_ACPI"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) && !t->fail_file)
		CHECK(t, !"rm -rf the iasl directory");
}

static int parse(struct run_opts *o, const char *a1, const char *a2,
		 char *err, size_t errlen)
{
	char *argv[5] = { "run" };
	int argc = 1;

	if (a1)
		argv[argc++] = (char *)a1;
	if (a2)
		argv[argc++] = (char *)a2;
	argv[argc++] = "img";
	return opts__parse(o, argc, argv, err, errlen);
}

static void acpi_option(struct tctx *t)
{
	struct run_opts o;

	CHECK(t, !parse(&o, NULL, NULL, t->err, sizeof(t->err)));
	CHECK(t, o.acpi == ACPI_AUTO);
	CHECK(t, opts__acpi(&o, true) && !opts__acpi(&o, false));
	CHECK(t, !parse(&o, "--acpi", "off", t->err, sizeof(t->err)));
	CHECK(t, o.acpi == ACPI_OFF && !opts__acpi(&o, true));
	CHECK(t, !parse(&o, "--acpi=on", NULL, t->err, sizeof(t->err)));
	CHECK(t, o.acpi == ACPI_ON && opts__acpi(&o, false));
	CHECK(t, parse(&o, "--acpi", "yes", t->err, sizeof(t->err)) == -1);
	CHECK(t, t_err_has(t, "--acpi takes on or off"));
	t->err[0] = 0;
}

/*
 * Without ACPI a Linux guest gets an MP table (mptable.c): walk it all.
 * The processors, PCI bus 0 (ID 0) and the ISA bus (ID 1), the IOAPIC,
 * ExtINT and the ISA IRQs on the ISA bus, an entry for every PCI slot
 * and pin on the GSI of devices/pci.c, LINT0/LINT1; no ACPI.
 */
static void mptable_check(struct tctx *t, unsigned int ncpus)
{
	const uint8_t *fp = gp(t, 0xf0000), *c, *e, *end;
	unsigned int cpus = 0, buses = 0, isa = 0, lints = 0, n = 0;
	static uint8_t pci_seen[PCI_NR_SLOTS * 4];

	memset(pci_seen, 0, sizeof(pci_seen));
	CHECK(t, !mptable__write(&t->gm, ncpus, 0x100000, 0x200000));
	CHECK(t, !memcmp(fp, "_MP_", 4) && !acpi__sum(fp, 16) && fp[9] == 4);
	c = gp(t, rd(fp + 4, 4));
	CHECK(t, !memcmp(c, "PCMP", 4) && !acpi__sum(c, rd(c + 4, 2)));
	end = c + rd(c + 4, 2);
	for (e = c + 44; e < end; n++) {
		switch (e[0]) {
		case 0:		/* processor: APIC ID, the first the BSP */
			CHECK(t, e[1] == cpus && (e[3] & 1) &&
				 !!(e[3] & 2) == !cpus);
			cpus++;
			e += 20;
			continue;
		case 1:		/* bus */
			CHECK(t, buses < 2);
			CHECK(t, e[1] == buses &&
				 !memcmp(e + 2, buses ? "ISA   " : "PCI   ", 6));
			buses++;
			break;
		case 2:		/* the IOAPIC, ID ncpus */
			CHECK(t, e[1] == ncpus && e[3] == 1 &&
				 rd(e + 4, 4) == 0xfec00000);
			break;
		case 3:		/* I/O interrupt */
			CHECK(t, e[1] <= 3 && rd(e + 2, 2) == 0 && e[6] == ncpus);
			if (e[4] == 1) {	/* ISA: IRQ 0 on pin 2, or its own */
				CHECK(t, e[7] == (e[1] == 3 ? 0 : e[5] ? e[5] : 2));
				isa++;
				break;
			}
			CHECK(t, e[4] == 0 && e[1] == 0);
			CHECK(t, e[7] == PCI_INTX_GSI(e[5] >> 2, (e[5] & 3) + 1));
			CHECK(t, !pci_seen[e[5]]);
			pci_seen[e[5]] = 1;
			break;
		case 4:		/* local interrupt: LINT0 ExtINT, LINT1 NMI */
			CHECK(t, e[6] == 0xff && e[7] == lints &&
				 e[1] == (lints ? 1 : 3));
			lints++;
			break;
		default:
			CHECK(t, !"unexpected MP entry");
		}
		e += 8;
	}
	CHECK(t, e == end && n == rd(c + 34, 2));
	CHECK(t, cpus == ncpus && buses == 2 && isa == 16 && lints == 2);
	CHECK(t, !memchr(pci_seen, 0, sizeof(pci_seen)));
	CHECK(t, t_guest_filled(t, 0xe0000, 0x10000));	/* no ACPI */
}

static void acpi_off_mptable_one_cpu(struct tctx *t)
{
	mptable_check(t, 1);
}

static void acpi_off_mptable_64_cpus(struct tctx *t)
{
	mptable_check(t, KHYP_MAX_VCPUS);
}

const struct tcase acpi_cases[] = {
	{ "acpi_rsdp_and_sdts", acpi_rsdp_and_sdts },
	{ "acpi_fadt_values", acpi_fadt_values },
	{ "acpi_madt_one_cpu", acpi_madt_one_cpu },
	{ "acpi_madt_64_cpus", acpi_madt_64_cpus },
	{ "acpi_mcfg", acpi_mcfg },
	{ "acpi_dsdt_pci0", acpi_dsdt_pci0 },
	{ "acpi_dsdt_one_cpu", acpi_dsdt_one_cpu },
	{ "acpi_dsdt_64_cpus", acpi_dsdt_64_cpus },
	{ "acpi_refused", acpi_refused },
	{ "acpi_iasl_disassembles", acpi_iasl_disassembles },
	{ "acpi_option", acpi_option },
	{ "acpi_off_mptable_one_cpu", acpi_off_mptable_one_cpu },
	{ "acpi_off_mptable_64_cpus", acpi_off_mptable_64_cpus },
	{ NULL, NULL },
};
