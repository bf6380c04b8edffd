// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-pci transport (devices/virtio/pci.c) as Linux's
 * virtio_pci_modern finds and drives it: through config mechanism #1 and
 * the MMIO bus, a --disk image on the PCI bus of devices/pci.c with fake
 * interrupt hooks; the IDs, the vendor capabilities, feature negotiation,
 * the queue registers, a read request completed by the I/O thread with
 * its MSI-X message, INTx and the ISR, reset, and a machine reset.
 */
#include <endian.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "test_virtio.h"
#include "../khyp.h"

#define BDF1		(1 << 11)
#define QS		16

static struct machine m;
static struct run_opts opts;
static unsigned int msis, lines;
static uint32_t msi_data;
static int line_level;
static char img[64];

static int fake_line(void *opaque, unsigned int gsi, int level)
{
	(void)opaque;
	(void)gsi;
	__atomic_fetch_add(&lines, 1, __ATOMIC_SEQ_CST);
	line_level = level;
	return 0;
}

static int fake_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque;
	(void)addr;
	msi_data = data;
	__atomic_fetch_add(&msis, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static uint32_t cfg_rd(unsigned int off, unsigned int size)
{
	tv_bus_rw(&m.ports, true, PCI_CONFIG_ADDR, 4,
	       PCI_CONFIG_ENABLE | BDF1 | (off & 0xfc));
	return (uint32_t)tv_bus_rw(&m.ports, false, PCI_CONFIG_DATA + (off & 3),
				size, 0);
}

static void cfg_wr(unsigned int off, unsigned int size, uint32_t v)
{
	tv_bus_rw(&m.ports, true, PCI_CONFIG_ADDR, 4,
	       PCI_CONFIG_ENABLE | BDF1 | (off & 0xfc));
	tv_bus_rw(&m.ports, true, PCI_CONFIG_DATA + (off & 3), size, v);
}

static void vpci_down(void)
{
	virtio_disks__exit(&m);
	pci__exit(&m.pci);
	virtio_disks__free(&m);
	bus__exit(&m.ports);
	bus__exit(&m.mmio);
	unlink(img);
}

/* One 8-sector disk, sector s holding bytes s + k. */
static int vpci_up(struct tctx *t)
{
	unsigned char buf[512];
	unsigned int s, k;
	int fd;

	if (m.nr_disks)
		vpci_down();
	msis = lines = 0;
	line_level = 0;
	tv_rings_clear(t);
	strcpy(img, "/tmp/khyp-vpci-XXXXXX");
	fd = mkstemp(img);
	if (fd < 0)
		return -1;
	for (s = 0; s < 8; s++) {
		for (k = 0; k < 512; k++)
			buf[k] = (unsigned char)(s + k);
		if (write(fd, buf, 512) != 512)
			return -1;
	}
	close(fd);
	memset(&opts, 0, sizeof(opts));
	strcpy(opts.disks[0].path, img);
	opts.nr_disks = 1;
	memset(&m, 0, sizeof(m));
	m.opts = &opts;
	m.vm.mem = t->gm;
	bus__init(&m.ports, "port", 0x10000);
	bus__init(&m.mmio, "MMIO", 0);
	if (pci__init(&m.pci, &m.ports, &m.mmio, -1, t->err, sizeof(t->err)))
		return -1;
	m.pci.irq_line = fake_line;
	m.pci.msi = fake_msi;
	return virtio_disks__init(&m, t->err, sizeof(t->err));
}

/* The virtio capability of cfg_type in the config space: its offset. */
static unsigned int find_cap(uint8_t type)
{
	unsigned int off = cfg_rd(PCI_CAPABILITY_LIST, 1), n;

	for (n = 0; off && n < 48; n++, off = cfg_rd(off + 1, 1))
		if (cfg_rd(off, 1) == PCI_CAP_ID_VNDR &&
		    cfg_rd(off + VIRTIO_PCI_CAP_CFG_TYPE, 1) == type)
			return off;
	return 0;
}

static unsigned int find_msix(void)
{
	unsigned int off = cfg_rd(PCI_CAPABILITY_LIST, 1), n;

	for (n = 0; off && n < 48; n++, off = cfg_rd(off + 1, 1))
		if (cfg_rd(off, 1) == PCI_CAP_ID_MSIX)
			return off;
	return 0;
}

static uint64_t bar4;

/* The register at offset off of the region of a capability type. */
static uint64_t region(uint8_t type)
{
	unsigned int c = find_cap(type);

	return bar4 + cfg_rd(c + VIRTIO_PCI_CAP_OFFSET, 4);
}

static uint64_t rd(uint64_t a, unsigned int size)
{
	return tv_bus_rw(&m.mmio, false, a, size, 0);
}

static void wr(uint64_t a, unsigned int size, uint64_t v)
{
	tv_bus_rw(&m.mmio, true, a, size, v);
}

static void vpci_ids_and_caps(struct tctx *t)
{
	static const uint8_t types[] = {
		VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_NOTIFY_CFG,
		VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_CAP_DEVICE_CFG,
	};
	unsigned int i, c;

	EXPECT_OK(t, vpci_up(t));
	CHECK(t, cfg_rd(PCI_VENDOR_ID, 2) == 0x1af4);
	CHECK(t, cfg_rd(PCI_DEVICE_ID, 2) == 0x1042);
	CHECK(t, cfg_rd(PCI_REVISION_ID, 1) == 1);
	CHECK(t, cfg_rd(PCI_SUBSYSTEM_VENDOR_ID, 2) == 0x1af4);
	CHECK(t, cfg_rd(PCI_CLASS_DEVICE, 2) == 0x0100);
	CHECK(t, cfg_rd(PCI_INTERRUPT_PIN, 1) == 1);
	CHECK(t, cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* BAR 4: 64-bit memory */
	CHECK(t, (cfg_rd(PCI_BASE_ADDRESS_4, 4) & 7) ==
		 PCI_BASE_ADDRESS_MEM_TYPE_64);
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		c = find_cap(types[i]);
		CHECK(t, c);
		CHECK(t, cfg_rd(c + VIRTIO_PCI_CAP_BAR, 1) == 4);
		CHECK(t, cfg_rd(c + VIRTIO_PCI_CAP_LEN, 1) >= 16);
		CHECK(t, cfg_rd(c + VIRTIO_PCI_CAP_LENGTH, 4) >= 1);
	}
	c = find_cap(VIRTIO_PCI_CAP_COMMON_CFG);
	CHECK(t, cfg_rd(c + VIRTIO_PCI_CAP_LENGTH, 4) >=
		 sizeof(struct virtio_pci_common_cfg));
	c = find_cap(VIRTIO_PCI_CAP_NOTIFY_CFG);
	CHECK(t, cfg_rd(c + VIRTIO_PCI_CAP_LEN, 1) ==
		 sizeof(struct virtio_pci_notify_cap));
	CHECK(t, cfg_rd(c + VIRTIO_PCI_NOTIFY_CAP_MULT, 4) == 4);
	c = find_cap(VIRTIO_PCI_CAP_DEVICE_CFG);
	CHECK(t, cfg_rd(c + VIRTIO_PCI_CAP_LENGTH, 4) >= 24);
	/* MSI-X: a config vector and one for the queue */
	c = find_msix();
	CHECK(t, c && (cfg_rd(c + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) == 1);
	vpci_down();
}

/* Linux's probe and setup of queue 0; vector: the queue's MSI-X vector. */
static int driver_setup(struct tctx *t, uint64_t common, uint16_t vector)
{
	uint64_t f;

	bar4 = (cfg_rd(PCI_BASE_ADDRESS_4, 4) & ~0xfULL) |
	       (uint64_t)cfg_rd(PCI_BASE_ADDRESS_5, 4) << 32;
	common = region(VIRTIO_PCI_CAP_COMMON_CFG);
	wr(common + VIRTIO_PCI_COMMON_STATUS, 1, 0);
	if (rd(common + VIRTIO_PCI_COMMON_STATUS, 1))
		return -1;
	wr(common + VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
						 VIRTIO_CONFIG_S_DRIVER);
	wr(common + VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	f = rd(common + VIRTIO_PCI_COMMON_DF, 4);
	wr(common + VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	f |= rd(common + VIRTIO_PCI_COMMON_DF, 4) << 32;
	if (!(f & (1ULL << VIRTIO_F_VERSION_1)))
		return -1;
	wr(common + VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(common + VIRTIO_PCI_COMMON_GF, 4, (uint32_t)f);
	wr(common + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(common + VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(f >> 32));
	wr(common + VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(rd(common + VIRTIO_PCI_COMMON_STATUS, 1) &
	      VIRTIO_CONFIG_S_FEATURES_OK))
		return -1;
	if (rd(common + VIRTIO_PCI_COMMON_NUMQ, 2) != 1)
		return -1;
	wr(common + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	if (rd(common + VIRTIO_PCI_COMMON_Q_SIZE, 2) != VIRTQ_MAX_SIZE)
		return -1;
	wr(common + VIRTIO_PCI_COMMON_Q_SIZE, 2, QS);
	wr(common + VIRTIO_PCI_COMMON_Q_MSIX, 2, vector);
	wr(common + VIRTIO_PCI_COMMON_Q_DESCLO, 4, TV_DESC);
	wr(common + VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
	wr(common + VIRTIO_PCI_COMMON_Q_AVAILLO, 4, TV_AVAIL);
	wr(common + VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
	wr(common + VIRTIO_PCI_COMMON_Q_USEDLO, 4, TV_USED);
	wr(common + VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
	wr(common + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	if (rd(common + VIRTIO_PCI_COMMON_Q_ENABLE, 2) != 1)
		return -1;
	wr(common + VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		VIRTIO_CONFIG_S_DRIVER_OK);
	(void)t;
	return 0;
}

/* An IN request of sector s into 0x101000, status at 0x108000. */
static void read_request(struct tctx *t, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_IN),
				       .sector = htole64(sector) };

	memcpy(t->gm.base + 0x100000, &h, sizeof(h));
	t->gm.base[0x108000] = 0xee;
	tv_desc(t, 0, 0x100000, 16, VRING_DESC_F_NEXT, 1);
	tv_desc(t, 1, 0x101000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
		2);
	tv_desc(t, 2, 0x108000, 1, VRING_DESC_F_WRITE, 0);
	tv_offer(t, QS, 0);
}

/* Wait up to 2 s for used idx to reach n. */
static bool wait_used(struct tctx *t, uint16_t n)
{
	unsigned int i;

	for (i = 0; i < 2000; i++) {
		if (le16toh(__atomic_load_n((uint16_t *)(t->gm.base + TV_USED + 2),
					    __ATOMIC_ACQUIRE)) == n)
			return true;
		usleep(1000);
	}
	return false;
}

static bool wait_count(unsigned int *c, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < 2000 && __atomic_load_n(c, __ATOMIC_SEQ_CST) < n; i++)
		usleep(1000);
	return __atomic_load_n(c, __ATOMIC_SEQ_CST) >= n;
}

static void vpci_msix_request(struct tctx *t)
{
	unsigned int mx;
	uint64_t common, notify, tbl, dcfg;
	unsigned int noff, mult;

	EXPECT_OK(t, vpci_up(t));
	/* MSI-X on, entry 1: vector 0x41 to APIC 0, unmasked */
	mx = find_msix();
	tbl = cfg_rd(PCI_BASE_ADDRESS_1, 4) & ~0xfULL;
	cfg_wr(mx + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	wr(tbl + 16 + PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xfee00000);
	wr(tbl + 16 + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
	wr(tbl + 16 + PCI_MSIX_ENTRY_DATA, 4, 0x41);
	wr(tbl + 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	EXPECT_OK(t, driver_setup(t, 0, 1));
	common = region(VIRTIO_PCI_CAP_COMMON_CFG);
	/* vectors: ours read back, one we lack reads NO_VECTOR */
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_Q_MSIX, 2) == 1);
	wr(common + VIRTIO_PCI_COMMON_MSIX, 2, 7);
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_MSIX, 2) == VIRTIO_MSI_NO_VECTOR);
	wr(common + VIRTIO_PCI_COMMON_MSIX, 2, 0);
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_MSIX, 2) == 0);
	/* queue fields past the last queue read 0 */
	wr(common + VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_Q_SIZE, 2) == 0);
	wr(common + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_Q_DESCLO, 4) == TV_DESC);
	/* the device config: capacity 8 sectors, read as two dwords */
	dcfg = region(VIRTIO_PCI_CAP_DEVICE_CFG);
	CHECK(t, rd(dcfg, 4) == 8 && rd(dcfg + 4, 4) == 0);
	CHECK(t, rd(dcfg + 20, 4) == 512);		/* blk_size */
	/* a request, notified at queue_notify_off * multiplier */
	noff = rd(common + VIRTIO_PCI_COMMON_Q_NOFF, 2);
	mult = cfg_rd(find_cap(VIRTIO_PCI_CAP_NOTIFY_CFG) +
		      VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
	notify = region(VIRTIO_PCI_CAP_NOTIFY_CFG) + noff * mult;
	read_request(t, 3);
	wr(notify, 2, 0);
	CHECK(t, wait_used(t, 1));
	CHECK(t, t->gm.base[0x108000] == VIRTIO_BLK_S_OK);
	CHECK(t, t->gm.base[0x101000] == 3 && t->gm.base[0x1011ff] == 2);
	CHECK(t, wait_count(&msis, 1) && msi_data == 0x41);
	CHECK(t, lines == 0);
	/* reset: reads back 0, the queue disabled, the vectors gone */
	wr(common + VIRTIO_PCI_COMMON_STATUS, 1, 0);
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_STATUS, 1) == 0);
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_Q_ENABLE, 2) == 0);
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_Q_MSIX, 2) ==
		 VIRTIO_MSI_NO_VECTOR);
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_Q_SIZE, 2) == VIRTQ_MAX_SIZE);
	vpci_down();
}

static void vpci_intx_and_isr(struct tctx *t)
{
	uint64_t common, isr, notify;

	EXPECT_OK(t, vpci_up(t));
	EXPECT_OK(t, driver_setup(t, 0, VIRTIO_MSI_NO_VECTOR));
	common = region(VIRTIO_PCI_CAP_COMMON_CFG);
	isr = region(VIRTIO_PCI_CAP_ISR_CFG);
	notify = region(VIRTIO_PCI_CAP_NOTIFY_CFG);
	CHECK(t, rd(isr, 1) == 0);
	read_request(t, 5);
	wr(notify, 2, 0);
	CHECK(t, wait_used(t, 1));
	CHECK(t, wait_count(&lines, 1) && line_level == 1);
	CHECK(t, t->gm.base[0x101000] == 5);
	/* reading the ISR returns the queue bit, clears it, lowers INTx */
	CHECK(t, rd(isr, 1) == 1);
	CHECK(t, line_level == 0);
	CHECK(t, rd(isr, 1) == 0);
	/* features are fixed after FEATURES_OK */
	wr(common + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(common + VIRTIO_PCI_COMMON_GF, 4, 0);
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_GF, 4) ==
		 1u << (VIRTIO_F_VERSION_1 - 32));
	CHECK(t, msis == 0);
	vpci_down();
}

/*
 * --reboot restart with a disk: at the end of a boot the I/O thread
 * stops; the machine reset (pci__reset, the transport's reset hook)
 * leaves the device as at power-on, with MSI-X off; its thread runs
 * again and the next boot's driver sets it up and reads as the first's.
 */
static void vpci_machine_reset(struct tctx *t)
{
	uint64_t common, notify, bar;
	unsigned int mx;

	EXPECT_OK(t, vpci_up(t));
	mx = find_msix();
	bar = cfg_rd(PCI_BASE_ADDRESS_4, 4);
	cfg_wr(mx + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	EXPECT_OK(t, driver_setup(t, 0, VIRTIO_MSI_NO_VECTOR));
	common = region(VIRTIO_PCI_CAP_COMMON_CFG);
	notify = region(VIRTIO_PCI_CAP_NOTIFY_CFG);
	read_request(t, 2);
	wr(notify, 2, 0);
	CHECK(t, wait_used(t, 1));
	cfg_wr(PCI_BASE_ADDRESS_4, 4, 0xd0000000);	/* the guest moved it */
	/* the boot ends; the machine resets */
	virtio_disks__stop(&m);
	pci__reset(&m.pci);
	CHECK(t, cfg_rd(PCI_BASE_ADDRESS_4, 4) == bar);
	CHECK(t, !(cfg_rd(mx + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE));
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_STATUS, 1) == 0);
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_Q_ENABLE, 2) == 0);
	CHECK(t, rd(common + VIRTIO_PCI_COMMON_Q_SIZE, 2) == VIRTQ_MAX_SIZE);
	EXPECT_OK(t, virtio_disks__restart(&m, t->err, sizeof(t->err)));
	/* the next boot: its own rings, a request served by the thread */
	tv_rings_clear(t);
	lines = 0;
	EXPECT_OK(t, driver_setup(t, 0, VIRTIO_MSI_NO_VECTOR));
	read_request(t, 6);
	wr(notify, 2, 0);
	CHECK(t, wait_used(t, 1));
	CHECK(t, t->gm.base[0x108000] == VIRTIO_BLK_S_OK &&
		 t->gm.base[0x101000] == 6);
	CHECK(t, wait_count(&lines, 1) && line_level == 1);	/* INTx */
	vpci_down();
}

static int parse(struct tctx *t, struct run_opts *o, int argc, char **argv)
{
	t->err[0] = 0;
	return opts__parse(o, argc, argv, t->err, sizeof(t->err));
}

/* --disk FILE[,ro]: up to OPTS_MAX_DISKS, in order. */
static void vpci_disk_options(struct tctx *t)
{
	char *ok[] = { "run", "--disk", "a.img", "--disk", "/x/b,c.img,ro",
		       "--disk", ",ro,ro", "img" };
	char *empty[] = { "run", "--disk", ",ro", "img" };
	char *many[] = { "run", "--disk", "1", "--disk", "2", "--disk", "3",
			 "--disk", "4", "--disk", "5", "img" };
	struct run_opts o;

	EXPECT_OK(t, parse(t, &o, ARRAY_SIZE(ok), ok));
	CHECK(t, o.nr_disks == 3);
	CHECK(t, !strcmp(o.disks[0].path, "a.img") && !o.disks[0].ro);
	CHECK(t, !strcmp(o.disks[1].path, "/x/b,c.img") && o.disks[1].ro);
	CHECK(t, !strcmp(o.disks[2].path, ",ro") && o.disks[2].ro);
	CHECK(t, parse(t, &o, ARRAY_SIZE(empty), empty) == -1 &&
		 t_err_has(t, "no file name"));
	CHECK(t, parse(t, &o, ARRAY_SIZE(many), many) == -1 &&
		 t_err_has(t, "at most 4"));
}

const struct tcase vpci_cases[] = {
	{ "vpci_disk_options", vpci_disk_options },
	{ "vpci_ids_and_caps", vpci_ids_and_caps },
	{ "vpci_msix_request", vpci_msix_request },
	{ "vpci_intx_and_isr", vpci_intx_and_isr },
	{ "vpci_machine_reset", vpci_machine_reset },
	{ NULL, NULL },
};
