// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console (devices/virtio/console.c) writing to a temporary file,
 * virtio-rng (rng.c), and the two as `khyp run --console FILE --rng`
 * puts them on the PCI bus (machine.c): IDs, classes, capabilities, and a
 * request of each through the transport, completed by its I/O thread.
 */
#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "test_virtio.h"
#include "../khyp.h"

#define CRX		0	/* the console's receiveq(port0) */
#define CTX		1	/* its transmitq(port0) */
#define BUF		0x100000
#define BUF2		0x110000

static struct virtio_dev dev;
static unsigned int irqs, config_irqs;
static char out_path[64];
static int out_fd = -1;
static const uint64_t all_features = ~0ULL;

/* The whole output file, NUL-terminated, in buf: its length. */
static size_t out_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

static void cons_down(void)
{
	vcons__exit(&dev);
	close(out_fd);
	out_fd = -1;
	unlink(out_path);
}

static int cons_up(struct tctx *t)
{
	if (dev.priv)
		cons_down();
	strcpy(out_path, "/tmp/khyp-vcons-XXXXXX");
	out_fd = mkstemp(out_path);
	if (out_fd < 0)
		return -1;
	if (vcons__init_fd(&dev, out_fd, &t->gm, t->err, sizeof(t->err)))
		return -1;
	return tq_dev_up(t, &dev, all_features, &irqs, &config_irqs);
}

static void vcons_output(struct tctx *t)
{
	struct virtio_console_config c;
	char got[256];
	uint32_t id, len;

	EXPECT_OK(t, cons_up(t));
	CHECK(t, dev.nr_queues == 2);
	CHECK(t, dev.host_features == (1ULL << VIRTIO_F_VERSION_1 |
				       1ULL << VIRTIO_RING_F_INDIRECT_DESC |
				       1ULL << VIRTIO_RING_F_EVENT_IDX));
	CHECK(t, dev.config_len == sizeof(c));
	/* "hello " and "world\n" in two descriptors, then "!" */
	memcpy(t->gm.base + BUF, "hello ", 6);
	memcpy(t->gm.base + BUF2, "world\n", 6);
	tq_desc(t, CTX, 0, BUF, 6, VRING_DESC_F_NEXT, 3);
	tq_desc(t, CTX, 3, BUF2, 6, 0, 0);
	tq_offer(t, CTX, 0);
	memcpy(t->gm.base + BUF + 0x100, "!", 1);
	tq_desc(t, CTX, 1, BUF + 0x100, 1, 0, 0);
	tq_offer(t, CTX, 1);
	tq_run(&dev, CTX);
	CHECK(t, out_read(out_path, got, sizeof(got)) == 13);
	CHECK(t, !strcmp(got, "hello world\n!"));
	CHECK(t, tq_used_idx(t, CTX) == 2);
	tq_used(t, CTX, 0, &id, &len);
	CHECK(t, id == 0 && len == 0);
	CHECK(t, irqs == 1);
	/* the receive queue's buffers stay: no input, no loop */
	tq_desc(t, CRX, 0, 0x120000, 64, VRING_DESC_F_WRITE, 0);
	tq_offer(t, CRX, 0);
	tq_run(&dev, CRX);
	CHECK(t, tq_used_idx(t, CRX) == 0);
	CHECK(t, !(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET));
	/* a writable buffer to transmit breaks the device */
	tq_desc(t, CTX, 2, BUF, 6, VRING_DESC_F_NEXT, 4);
	tq_desc(t, CTX, 4, BUF2, 6, VRING_DESC_F_WRITE, 0);
	tq_offer(t, CTX, 2);
	tq_run(&dev, CTX);
	CHECK(t, dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(t, config_irqs == 1);
	CHECK(t, out_read(out_path, got, sizeof(got)) == 13);
	cons_down();
}

/* --console stdio|FILE */
static void vcons_options(struct tctx *t)
{
	char *a1[] = { "run", "--console", "stdio", "img" };
	char *a2[] = { "run", "--console", "/tmp/x", "--rng", "img" };
	char *empty[] = { "run", "--console", "", "img" };
	char *twice[] = { "run", "--console", "a", "--console", "b", "img" };
	char *restart[] = { "run", "--rng", "--reboot", "restart", "img" };
	char *none[] = { "run", "img" };
	struct run_opts o;

	t->err[0] = 0;
	EXPECT_OK(t, opts__parse(&o, ARRAY_SIZE(a1), a1, t->err,
				 sizeof(t->err)));
	CHECK(t, o.console && !o.console_path && !o.rng);
	EXPECT_OK(t, opts__parse(&o, ARRAY_SIZE(a2), a2, t->err,
				 sizeof(t->err)));
	CHECK(t, o.console && !strcmp(o.console_path, "/tmp/x") && o.rng);
	EXPECT_OK(t, opts__parse(&o, ARRAY_SIZE(none), none, t->err,
				 sizeof(t->err)));
	CHECK(t, !o.console && !o.rng && !o.net.on);
	CHECK(t, opts__parse(&o, ARRAY_SIZE(empty), empty, t->err,
			     sizeof(t->err)) == -1);
	CHECK(t, opts__parse(&o, ARRAY_SIZE(twice), twice, t->err,
			     sizeof(t->err)) == -1 && t_err_has(t, "once"));
	/* a restart resets them and starts their threads again */
	EXPECT_OK(t, opts__parse(&o, ARRAY_SIZE(restart), restart, t->err,
				 sizeof(t->err)));
	CHECK(t, o.rng && o.reboot_restart);
	t->err[0] = 0;
}

static void vrng_fill(struct tctx *t)
{
	EXPECT_OK(t, vrng__init(&dev, &t->gm, t->err, sizeof(t->err)));
	EXPECT_OK(t, tq_dev_up(t, &dev, all_features, &irqs, &config_irqs));
	CHECK(t, dev.nr_queues == 1 && dev.config_len == 0);
	/* 16 + 48 bytes: all of it, and random (64 bytes of 0xaa: 2^-512) */
	tq_desc(t, 0, 0, BUF, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	tq_desc(t, 0, 1, BUF2, 48, VRING_DESC_F_WRITE, 0);
	tq_offer(t, 0, 0);
	tq_run(&dev, 0);
	CHECK(t, tq_used_idx(t, 0) == 1);
	{
		uint32_t id, len;

		tq_used(t, 0, 0, &id, &len);
		CHECK(t, id == 0 && len == 64);
	}
	CHECK(t, !t_guest_filled(t, BUF, 16) || !t_guest_filled(t, BUF2, 48));
	CHECK(t, t_guest_filled(t, BUF + 16, 0x100) &&
		 t_guest_filled(t, BUF2 + 48, 0x100));
	CHECK(t, irqs == 1);
	/* a big buffer gets at most 4 KiB */
	tq_desc(t, 0, 2, 0x200000, 0x10000, VRING_DESC_F_WRITE, 0);
	tq_offer(t, 0, 2);
	tq_run(&dev, 0);
	{
		uint32_t id, len;

		tq_used(t, 0, 1, &id, &len);
		CHECK(t, id == 2 && len == 4096);
	}
	CHECK(t, t_guest_filled(t, 0x200000 + 4096, 0x10000 - 4096));
	/* a readable buffer breaks the device */
	tq_desc(t, 0, 3, BUF, 16, 0, 0);
	tq_offer(t, 0, 3);
	tq_run(&dev, 0);
	CHECK(t, dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(t, tq_used_idx(t, 0) == 2);
	vrng__exit(&dev);
}

/* ---- --console FILE --rng on the PCI bus ---- */

static struct machine m;
static struct run_opts opts;

/* Config space of bus 0, slot @slot, function 0. */
static uint32_t cfg_rd(unsigned int slot, unsigned int off,
		       unsigned int size)
{
	tv_bus_rw(&m.ports, true, PCI_CONFIG_ADDR, 4,
	       PCI_CONFIG_ENABLE | slot << 11 | (off & 0xfc));
	return (uint32_t)tv_bus_rw(&m.ports, false, PCI_CONFIG_DATA + (off & 3),
				size, 0);
}

static unsigned int find_cap(unsigned int slot, uint8_t type)
{
	unsigned int off = cfg_rd(slot, PCI_CAPABILITY_LIST, 1), n;

	for (n = 0; off && n < 48; n++, off = cfg_rd(slot, off + 1, 1))
		if (cfg_rd(slot, off, 1) == PCI_CAP_ID_VNDR &&
		    cfg_rd(slot, off + VIRTIO_PCI_CAP_CFG_TYPE, 1) == type)
			return off;
	return 0;
}

/* The address of the region of capability type in slot's BAR 4. */
static uint64_t region(unsigned int slot, uint8_t type)
{
	uint64_t bar4 = (cfg_rd(slot, PCI_BASE_ADDRESS_4, 4) & ~0xfULL) |
			(uint64_t)cfg_rd(slot, PCI_BASE_ADDRESS_5, 4) << 32;

	return bar4 + cfg_rd(slot, find_cap(slot, type) +
			     VIRTIO_PCI_CAP_OFFSET, 4);
}

static uint64_t rd(uint64_t a, unsigned int size)
{
	return tv_bus_rw(&m.mmio, false, a, size, 0);
}

static void wr(uint64_t a, unsigned int size, uint64_t v)
{
	tv_bus_rw(&m.mmio, true, a, size, v);
}

/* A driver's setup of slot's device, its queues at tq[]: 0 or -1. */
static int pci_driver_up(unsigned int slot, unsigned int nq)
{
	uint64_t c = region(slot, VIRTIO_PCI_CAP_COMMON_CFG);
	unsigned int q;

	wr(c + VIRTIO_PCI_COMMON_STATUS, 1, 0);
	wr(c + VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
					    VIRTIO_CONFIG_S_DRIVER);
	wr(c + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(c + VIRTIO_PCI_COMMON_GF, 4, 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(c + VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	if (rd(c + VIRTIO_PCI_COMMON_NUMQ, 2) != nq)
		return -1;
	for (q = 0; q < nq; q++) {
		wr(c + VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		wr(c + VIRTIO_PCI_COMMON_Q_SIZE, 2, TQ_SIZE);
		wr(c + VIRTIO_PCI_COMMON_Q_DESCLO, 4, tq[q].desc);
		wr(c + VIRTIO_PCI_COMMON_Q_AVAILLO, 4, tq[q].avail);
		wr(c + VIRTIO_PCI_COMMON_Q_USEDLO, 4, tq[q].used);
		wr(c + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	wr(c + VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		VIRTIO_CONFIG_S_DRIVER_OK);
	return rd(c + VIRTIO_PCI_COMMON_STATUS, 1) &
	       VIRTIO_CONFIG_S_DRIVER_OK ? 0 : -1;
}

/* Notify queue q of slot's device. */
static void pci_notify(unsigned int slot, unsigned int q)
{
	uint64_t c = region(slot, VIRTIO_PCI_CAP_COMMON_CFG);
	unsigned int mult = cfg_rd(slot, find_cap(slot, VIRTIO_PCI_CAP_NOTIFY_CFG) +
				   VIRTIO_PCI_NOTIFY_CAP_MULT, 4);

	wr(c + VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	wr(region(slot, VIRTIO_PCI_CAP_NOTIFY_CFG) +
	   rd(c + VIRTIO_PCI_COMMON_Q_NOFF, 2) * mult, 2, q);
}

static bool wait_used(struct tctx *t, unsigned int q, uint16_t n)
{
	unsigned int i;

	for (i = 0; i < 2000 && tq_used_idx(t, q) != n; i++)
		usleep(1000);
	return tq_used_idx(t, q) == n;
}

static void fns_down(void)
{
	virtio_fns__stop(&m);
	virtio_fns__exit(&m);
	pci__exit(&m.pci);
	virtio_fns__free(&m);
	bus__exit(&m.ports);
	bus__exit(&m.mmio);
	unlink(out_path);
}

static void vfns_on_pci(struct tctx *t)
{
	char got[64];

	memset(t->gm.base + TV_DESC, 0, 0x60000);
	strcpy(out_path, "/tmp/khyp-vfns-XXXXXX");
	out_fd = mkstemp(out_path);
	CHECK(t, out_fd >= 0);
	close(out_fd);
	out_fd = -1;
	memset(&opts, 0, sizeof(opts));
	opts.console = true;
	opts.console_path = out_path;
	opts.rng = true;
	opts.balloon = true;
	memset(&m, 0, sizeof(m));
	m.opts = &opts;
	m.vm.mem = t->gm;
	m.vm.fd = -1;
	m.linux_image = true;	/* --balloon adds a virtio-balloon for Linux */
	bus__init(&m.ports, "port", 0x10000);
	bus__init(&m.mmio, "MMIO", 0);
	EXPECT_OK(t, pci__init(&m.pci, &m.ports, &m.mmio, -1, t->err,
			       sizeof(t->err)));
	m.pci.irq_line = tv_no_line;
	m.pci.msi = tv_no_msi;
	EXPECT_OK(t, virtio_fns__init(&m, t->err, sizeof(t->err)));
	CHECK(t, m.nr_vfns == 3 && m.balloon);
	/* slot 1: the console; slot 2: the rng, without a device config */
	CHECK(t, cfg_rd(1, PCI_VENDOR_ID, 2) == 0x1af4);
	CHECK(t, cfg_rd(1, PCI_DEVICE_ID, 2) == 0x1043);
	CHECK(t, cfg_rd(1, PCI_CLASS_DEVICE, 2) == 0x0780);
	CHECK(t, cfg_rd(1, PCI_REVISION_ID, 1) == 1);
	CHECK(t, find_cap(1, VIRTIO_PCI_CAP_DEVICE_CFG));
	CHECK(t, cfg_rd(2, PCI_DEVICE_ID, 2) == 0x1044);
	CHECK(t, cfg_rd(2, PCI_CLASS_DEVICE, 2) == 0x00ff);
	CHECK(t, find_cap(2, VIRTIO_PCI_CAP_COMMON_CFG) &&
		 find_cap(2, VIRTIO_PCI_CAP_NOTIFY_CFG) &&
		 find_cap(2, VIRTIO_PCI_CAP_ISR_CFG));
	CHECK(t, !find_cap(2, VIRTIO_PCI_CAP_DEVICE_CFG));
	/* slot 3: the balloon, 1af4:1045, its 16 bytes of config */
	CHECK(t, cfg_rd(3, PCI_VENDOR_ID, 2) == 0x1af4);
	CHECK(t, cfg_rd(3, PCI_DEVICE_ID, 2) == 0x1045);
	CHECK(t, cfg_rd(3, PCI_CLASS_DEVICE, 2) == 0x00ff);
	CHECK(t, find_cap(3, VIRTIO_PCI_CAP_DEVICE_CFG) &&
		 cfg_rd(3, find_cap(3, VIRTIO_PCI_CAP_DEVICE_CFG) +
			VIRTIO_PCI_CAP_LENGTH, 4) == 16);
	CHECK(t, cfg_rd(4, PCI_VENDOR_ID, 2) == 0xffff);
	/* the console: a line through its I/O thread */
	EXPECT_OK(t, pci_driver_up(1, 2));
	memcpy(t->gm.base + BUF, "KHYP-HVC\n", 9);
	tq_desc(t, CTX, 0, BUF, 9, 0, 0);
	tq_offer(t, CTX, 0);
	pci_notify(1, CTX);
	CHECK(t, wait_used(t, CTX, 1));
	CHECK(t, out_read(out_path, got, sizeof(got)) == 9 &&
		 !strcmp(got, "KHYP-HVC\n"));
	/* the rng: its queue at tq[0], which the console left alone */
	memset(t->gm.base + TV_DESC, 0, 0x30000);
	EXPECT_OK(t, pci_driver_up(2, 1));
	tq_desc(t, 0, 0, BUF2, 32, VRING_DESC_F_WRITE, 0);
	tq_offer(t, 0, 0);
	pci_notify(2, 0);
	CHECK(t, wait_used(t, 0, 1));
	CHECK(t, !t_guest_filled(t, BUF2, 32));
	fns_down();
}

const struct tcase vmisc_cases[] = {
	{ "vcons_output", vcons_output },
	{ "vcons_options", vcons_options },
	{ "vrng_fill", vrng_fill },
	{ "vfns_on_pci", vfns_on_pci },
	{ NULL, NULL },
};
