// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (devices/virtio/blk.c) and the device core under it
 * (virtio.c: status, features, reset, processing, interrupts) on a
 * temporary image file, with requests built in the fake guest RAM:
 * reads, writes, flush, GET_ID, read-only disks, requests past the
 * capacity, headers cut across descriptors, chains without a status byte,
 * the I/O thread dropping dev->lock while the disk works (a userfaultfd
 * holds its preadv) and a reset waiting for it.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "test_virtio.h"

#define IMG_SECTORS	64
#define QSIZE		16
#define HDR		0x100000	/* request header */
#define DATA		0x101000	/* data buffer */
#define STATUS		0x108000	/* status byte */

static struct virtio_dev dev;
static char img_path[64];
static unsigned int irqs, config_irqs;

static void count_irq(struct virtio_dev *d, unsigned int q)
{
	(void)d;
	(void)q;
	irqs++;
}

static void count_config_irq(struct virtio_dev *d)
{
	(void)d;
	config_irqs++;
}

/* Sector s of the image holds bytes (s + k) & 0xff; 0 or -1. */
static int img_create(void)
{
	unsigned char buf[512];
	unsigned int s, k;
	int fd;

	strcpy(img_path, "/tmp/khyp-vblk-XXXXXX");
	fd = mkstemp(img_path);
	if (fd < 0)
		return -1;
	for (s = 0; s < IMG_SECTORS; s++) {
		for (k = 0; k < sizeof(buf); k++)
			buf[k] = (unsigned char)(s + k);
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -1;
		}
	}
	/* a partial sector at the end does not count */
	if (write(fd, buf, 100) != 100) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static bool img_sector_is(unsigned int s, unsigned char base)
{
	unsigned char buf[512];
	unsigned int k;
	int fd = open(img_path, O_RDONLY);

	if (fd < 0)
		return false;
	if (pread(fd, buf, sizeof(buf), s * 512) != (ssize_t)sizeof(buf)) {
		close(fd);
		return false;
	}
	close(fd);
	for (k = 0; k < sizeof(buf); k++)
		if (buf[k] != (unsigned char)(base + k))
			return false;
	return true;
}

static void blk_down(void)
{
	vblk__exit(&dev);
	unlink(img_path);
}

/*
 * A device on a fresh image, negotiated (features & offered), its queue
 * at TV_* started, DRIVER_OK: 0 or -1.
 */
static int blk_up(struct tctx *t, bool ro, uint64_t features)
{
	if (dev.priv)
		blk_down();	/* what a failed case left behind */
	irqs = config_irqs = 0;
	tv_rings_clear(t);
	if (img_create())
		return -1;
	if (vblk__init(&dev, img_path, ro, 3, &t->gm, t->err, sizeof(t->err)))
		return -1;
	dev.transport.irq_queue = count_irq;
	dev.transport.irq_config = count_config_irq;
	virtio__lock(&dev);
	virtio__set_status(&dev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				 VIRTIO_CONFIG_S_DRIVER);
	dev.driver_features = features & dev.host_features;
	virtio__set_status(&dev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				 VIRTIO_CONFIG_S_DRIVER |
				 VIRTIO_CONFIG_S_FEATURES_OK);
	dev.vqs[0].size = QSIZE;
	dev.vqs[0].desc_gpa = TV_DESC;
	dev.vqs[0].avail_gpa = TV_AVAIL;
	dev.vqs[0].used_gpa = TV_USED;
	virtio__enable_queue(&dev, 0);
	virtio__set_status(&dev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				 VIRTIO_CONFIG_S_DRIVER |
				 VIRTIO_CONFIG_S_FEATURES_OK |
				 VIRTIO_CONFIG_S_DRIVER_OK);
	virtio__unlock(&dev);
	return dev.status & VIRTIO_CONFIG_S_DRIVER_OK ? 0 : -1;
}

static void put_hdr(struct tctx *t, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {
		.type = htole32(type), .sector = htole64(sector),
	};

	memcpy(t->gm.base + HDR, &h, sizeof(h));
}

/* header, data (len bytes, dir), status: descriptors 0, 1, 2 */
static void req3(struct tctx *t, uint32_t type, uint64_t sector,
		 uint32_t len, bool data_writable)
{
	put_hdr(t, type, sector);
	t->gm.base[STATUS] = 0xee;
	tv_desc(t, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
	tv_desc(t, 1, DATA, len, VRING_DESC_F_NEXT |
		(data_writable ? VRING_DESC_F_WRITE : 0), 2);
	tv_desc(t, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	tv_offer(t, QSIZE, 0);
}

/* Kick queue 0 and let the device process it, as its thread would. */
static void run_queue(void)
{
	virtio__kick(&dev, 0);
	virtio__lock(&dev);
	virtio__process(&dev);
	virtio__unlock(&dev);
}

static uint32_t last_used_len(struct tctx *t)
{
	uint32_t id, len;
	uint16_t idx = tv_le16(t, TV_USED + 2);

	tv_used(t, (idx - 1) % QSIZE, &id, &len);
	return len;
}

static bool data_is(struct tctx *t, uint64_t off, unsigned int s,
		    unsigned int len)
{
	unsigned int k;

	for (k = 0; k < len; k++)
		if (t->gm.base[DATA + off + k] != (unsigned char)(s + k))
			return false;
	return true;
}

static const uint64_t all_features = ~0ULL;

static void vblk_config_and_features(struct tctx *t)
{
	struct virtio_blk_config c;

	EXPECT_OK(t, blk_up(t, false, all_features));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_F_VERSION_1));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_BLK_F_FLUSH));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_BLK_F_BLK_SIZE));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_RING_F_EVENT_IDX));
	CHECK(t, !(dev.host_features & (1ULL << VIRTIO_BLK_F_RO)));
	CHECK(t, dev.config_len >= 24);
	memcpy(&c, dev.config, sizeof(c));
	CHECK(t, le64toh(c.capacity) == IMG_SECTORS);
	CHECK(t, le32toh(c.blk_size) == 512);
	CHECK(t, le32toh(c.seg_max) >= 1 &&
		 le32toh(c.seg_max) <= VIRTQ_MAX_SIZE - 2);
	blk_down();
	EXPECT_OK(t, blk_up(t, true, all_features));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_BLK_F_RO));
	blk_down();
}

static void vblk_feature_negotiation(struct tctx *t)
{
	const uint8_t drv = VIRTIO_CONFIG_S_ACKNOWLEDGE |
			    VIRTIO_CONFIG_S_DRIVER;

	EXPECT_OK(t, blk_up(t, false, all_features));
	virtio__lock(&dev);
	/* a reset reads back 0 and forgets the queues */
	virtio__set_status(&dev, 0);
	CHECK(t, dev.status == 0 && !dev.vqs[0].started &&
		 !dev.driver_features);
	/* no VERSION_1: FEATURES_OK does not stick, nor DRIVER_OK */
	virtio__set_status(&dev, drv);
	dev.driver_features = 1ULL << VIRTIO_BLK_F_FLUSH;
	virtio__set_status(&dev, drv | VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(t, dev.status == drv);
	virtio__set_status(&dev, drv | VIRTIO_CONFIG_S_FEATURES_OK |
				 VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(t, dev.status == drv);
	/* a feature never offered */
	virtio__set_status(&dev, 0);
	virtio__set_status(&dev, drv);
	dev.driver_features = 1ULL << VIRTIO_F_VERSION_1 |
			      1ULL << VIRTIO_BLK_F_MQ;
	virtio__set_status(&dev, drv | VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(t, dev.status == drv);
	/* the minimum: VERSION_1 only */
	virtio__set_status(&dev, 0);
	virtio__set_status(&dev, drv);
	dev.driver_features = 1ULL << VIRTIO_F_VERSION_1;
	virtio__set_status(&dev, drv | VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(t, dev.status == (drv | VIRTIO_CONFIG_S_FEATURES_OK));
	virtio__unlock(&dev);
	blk_down();
}

static void vblk_read(struct tctx *t)
{
	EXPECT_OK(t, blk_up(t, false, all_features));
	req3(t, VIRTIO_BLK_T_IN, 5, 3 * 512, true);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_OK);
	CHECK(t, data_is(t, 0, 5, 512) && data_is(t, 512, 6, 512) &&
		 data_is(t, 1024, 7, 512));
	CHECK(t, tv_le16(t, TV_USED + 2) == 1);
	CHECK(t, last_used_len(t) == 3 * 512 + 1);
	CHECK(t, irqs == 1);
	/* the last sector of the disk */
	req3(t, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 512, true);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_OK);
	CHECK(t, data_is(t, 0, IMG_SECTORS - 1, 512));
	blk_down();
}

static void vblk_write_and_flush(struct tctx *t)
{
	unsigned int k;

	EXPECT_OK(t, blk_up(t, false, all_features));
	for (k = 0; k < 1024; k++)
		t->gm.base[DATA + k] = (unsigned char)(0x40 + k);
	req3(t, VIRTIO_BLK_T_OUT, 9, 1024, false);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_OK);
	CHECK(t, last_used_len(t) == 1);
	CHECK(t, img_sector_is(9, 0x40) && img_sector_is(10, 0x40));
	CHECK(t, img_sector_is(8, 8) && img_sector_is(11, 11));
	/* flush: header and status only */
	put_hdr(t, VIRTIO_BLK_T_FLUSH, 0);
	t->gm.base[STATUS] = 0xee;
	tv_desc(t, 0, HDR, 16, VRING_DESC_F_NEXT, 2);
	tv_offer(t, QSIZE, 0);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_OK);
	CHECK(t, tv_le16(t, TV_USED + 2) == 2);
	blk_down();
}

static void vblk_read_only(struct tctx *t)
{
	memset(t->gm.base + DATA, 0x77, 512);
	EXPECT_OK(t, blk_up(t, true, all_features));
	req3(t, VIRTIO_BLK_T_OUT, 2, 512, false);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_IOERR);
	CHECK(t, img_sector_is(2, 2));
	/* reads and flushes still work */
	req3(t, VIRTIO_BLK_T_IN, 2, 512, true);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_OK);
	CHECK(t, data_is(t, 0, 2, 512));
	blk_down();
}

static void vblk_past_capacity(struct tctx *t)
{
	static const struct {
		uint32_t type;
		uint64_t sector;
		uint32_t len;
	} bad[] = {
		{ VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 1024 },	/* ends past */
		{ VIRTIO_BLK_T_IN, IMG_SECTORS, 512 },		/* the partial one */
		{ VIRTIO_BLK_T_OUT, IMG_SECTORS, 512 },
		{ VIRTIO_BLK_T_IN, ~0ULL, 512 },		/* wraps */
		{ VIRTIO_BLK_T_OUT, ~0ULL >> 9, 1024 },		/* bytes wrap */
		{ VIRTIO_BLK_T_IN, 0, 513 },			/* not sectors */
		{ VIRTIO_BLK_T_OUT, 0, 100 },
	};
	unsigned int i;

	EXPECT_OK(t, blk_up(t, false, all_features));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		req3(t, bad[i].type, bad[i].sector, bad[i].len,
		     bad[i].type == VIRTIO_BLK_T_IN);
		run_queue();
		CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_IOERR);
		/* only the status byte was written, whatever the type */
		CHECK(t, last_used_len(t) == 1);
	}
	CHECK(t, img_sector_is(0, 0) && img_sector_is(IMG_SECTORS - 1,
						      IMG_SECTORS - 1));
	CHECK(t, !(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET));
	blk_down();
}

static void vblk_get_id_and_unsupported(struct tctx *t)
{
	EXPECT_OK(t, blk_up(t, false, all_features));
	memset(t->gm.base + DATA, 0x55, 32);
	req3(t, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_OK);
	CHECK(t, !memcmp(t->gm.base + DATA, "khyp-disk3\0", 11));
	CHECK(t, t->gm.base[DATA + VIRTIO_BLK_ID_BYTES] == 0x55);
	CHECK(t, last_used_len(t) == VIRTIO_BLK_ID_BYTES + 1);
	req3(t, VIRTIO_BLK_T_DISCARD, 0, 16, false);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_UNSUPP);
	req3(t, 0x12345, 0, 16, false);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_UNSUPP);
	blk_down();
}

/* The header cut 4 + 12, the data and status byte in one descriptor. */
static void vblk_any_layout(struct tctx *t)
{
	EXPECT_OK(t, blk_up(t, false, all_features));
	put_hdr(t, VIRTIO_BLK_T_IN, 20);
	tv_desc(t, 7, HDR, 4, VRING_DESC_F_NEXT, 3);
	tv_desc(t, 3, HDR + 4, 12, VRING_DESC_F_NEXT, 11);
	tv_desc(t, 11, DATA, 512 + 1, VRING_DESC_F_WRITE, 0);
	tv_offer(t, QSIZE, 7);
	run_queue();
	CHECK(t, t->gm.base[DATA + 512] == VIRTIO_BLK_S_OK);
	CHECK(t, data_is(t, 0, 20, 512));
	/* through an indirect table */
	tv_desc_at(t, 0x200000, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
	tv_desc_at(t, 0x200000, 1, DATA, 512, VRING_DESC_F_NEXT |
		   VRING_DESC_F_WRITE, 2);
	tv_desc_at(t, 0x200000, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	tv_desc(t, 5, 0x200000, 48, VRING_DESC_F_INDIRECT, 0);
	put_hdr(t, VIRTIO_BLK_T_IN, 21);
	t->gm.base[STATUS] = 0xee;
	tv_offer(t, QSIZE, 5);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_OK);
	CHECK(t, data_is(t, 0, 21, 512));
	/* a header too short for its fields fails the request only */
	tv_desc(t, 0, HDR, 8, VRING_DESC_F_NEXT, 2);
	tv_desc(t, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	t->gm.base[STATUS] = 0xee;
	tv_offer(t, QSIZE, 0);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_IOERR);
	CHECK(t, !(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET));
	blk_down();
}

/* A broken ring: NEEDS_RESET, one config interrupt, then a reset heals. */
static void vblk_broken_ring(struct tctx *t)
{
	EXPECT_OK(t, blk_up(t, false, all_features));
	/* no writable byte for the status */
	put_hdr(t, VIRTIO_BLK_T_IN, 0);
	tv_desc(t, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
	tv_desc(t, 1, DATA, 512, 0, 0);
	tv_offer(t, QSIZE, 0);
	run_queue();
	CHECK(t, dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(t, config_irqs == 1 && irqs == 0);
	/* the driver may not clear it; more kicks change nothing */
	virtio__lock(&dev);
	virtio__set_status(&dev, dev.status & ~VIRTIO_CONFIG_S_NEEDS_RESET);
	virtio__unlock(&dev);
	CHECK(t, dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	req3(t, VIRTIO_BLK_T_IN, 0, 512, true);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == 0xee && config_irqs == 1);
	/* a loop in the ring, with a good device: the same */
	blk_down();
	EXPECT_OK(t, blk_up(t, false, all_features));
	tv_desc(t, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
	tv_desc(t, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	tv_offer(t, QSIZE, 0);
	run_queue();
	CHECK(t, dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* reset, then a good request works again */
	virtio__lock(&dev);
	virtio__set_status(&dev, 0);
	virtio__unlock(&dev);
	CHECK(t, dev.status == 0);
	blk_down();
	EXPECT_OK(t, blk_up(t, false, all_features));
	req3(t, VIRTIO_BLK_T_IN, 1, 512, true);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_OK);
	blk_down();
}

/* With EVENT_IDX the driver's used_event decides; a batch, one irq. */
static void vblk_interrupts(struct tctx *t)
{
	unsigned int i;

	EXPECT_OK(t, blk_up(t, false, all_features));
	CHECK(t, dev.vqs[0].event_idx && dev.vqs[0].indirect);
	/* four requests in one kick: one interrupt */
	req3(t, VIRTIO_BLK_T_IN, 1, 512, true);
	for (i = 0; i < 3; i++)
		tv_offer(t, QSIZE, 0);
	run_queue();
	CHECK(t, tv_le16(t, TV_USED + 2) == 4 && irqs == 1);
	/* avail_event: the next entry */
	CHECK(t, tv_le16(t, TV_USED + 4 + 8 * QSIZE) == 4);
	/* the driver asks for an interrupt only after entry 6 is used */
	tv_put16(t, TV_AVAIL + 4 + 2 * QSIZE, 6);
	tv_offer(t, QSIZE, 0);
	run_queue();
	CHECK(t, irqs == 1);
	tv_offer(t, QSIZE, 0);
	run_queue();
	CHECK(t, irqs == 1);
	tv_offer(t, QSIZE, 0);
	run_queue();
	CHECK(t, irqs == 2 && tv_le16(t, TV_USED + 2) == 7);
	/* without EVENT_IDX: NO_INTERRUPT */
	blk_down();
	EXPECT_OK(t, blk_up(t, false, all_features &
			    ~(1ULL << VIRTIO_RING_F_EVENT_IDX)));
	CHECK(t, !dev.vqs[0].event_idx);
	tv_put16(t, TV_AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	req3(t, VIRTIO_BLK_T_IN, 1, 512, true);
	run_queue();
	CHECK(t, irqs == 0 && tv_le16(t, TV_USED + 2) == 1);
	tv_put16(t, TV_AVAIL, 0);
	tv_offer(t, QSIZE, 0);
	run_queue();
	CHECK(t, irqs == 1);
	/* before DRIVER_OK nothing is processed */
	virtio__lock(&dev);
	virtio__set_status(&dev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio__unlock(&dev);
	tv_offer(t, QSIZE, 0);
	run_queue();
	CHECK(t, tv_le16(t, TV_USED + 2) == 2);
	blk_down();
}

static void vblk_io_thread(struct tctx *t)
{
	unsigned int i;

	EXPECT_OK(t, blk_up(t, false, all_features));
	EXPECT_OK(t, virtio__start(&dev, t->err, sizeof(t->err)));
	req3(t, VIRTIO_BLK_T_IN, 12, 512, true);
	virtio__kick(&dev, 0);
	/* the I/O thread completes it: wait up to 2 s */
	for (i = 0; i < 2000; i++) {
		if (__atomic_load_n((uint16_t *)(t->gm.base + TV_USED + 2),
				    __ATOMIC_ACQUIRE))
			break;
		usleep(1000);
	}
	CHECK(t, tv_le16(t, TV_USED + 2) == 1);
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_OK);
	CHECK(t, data_is(t, 0, 12, 512));
	blk_down();		/* stops and joins the thread */
	CHECK(t, !dev.thread_started);
}

/* A read that fails at the file (it shrank under us): used = status only. */
static void vblk_read_error_used_len(struct tctx *t)
{
	EXPECT_OK(t, blk_up(t, false, all_features));
	CHECK(t, truncate(img_path, 8 * 512) == 0);
	memset(t->gm.base + DATA, 0x33, 1024);
	req3(t, VIRTIO_BLK_T_IN, 7, 1024, true);	/* sector 8 is gone */
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_IOERR);
	CHECK(t, last_used_len(t) == 1);
	/* within what is left it still works, data and status counted */
	req3(t, VIRTIO_BLK_T_IN, 6, 1024, true);
	run_queue();
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_OK);
	CHECK(t, last_used_len(t) == 1024 + 1);
	blk_down();
}

/*
 * A userfaultfd on the (emptied) page of guest RAM at host address p:
 * the next access to it, the kernel's copy of a preadv included, waits
 * until the page is filled.  The fd, or -1.
 */
static int uffd_trap(void *p, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api) || madvise(p, len, MADV_DONTNEED) ||
	    ioctl(fd, UFFDIO_REGISTER, &reg)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool reset_done;

/* A vCPU writing 0 to the status register. */
static void *reset_thread(void *arg)
{
	(void)arg;
	virtio__lock(&dev);
	virtio__set_status(&dev, 0);
	__atomic_store_n(&reset_done, true, __ATOMIC_RELEASE);
	virtio__unlock(&dev);
	return NULL;
}

/*
 * While the I/O thread waits for the disk, dev->lock is free: a vCPU can
 * read a register (it holds the machine's lock then).  A reset meanwhile
 * waits until the request is complete.
 */
static void vblk_io_without_lock(struct tctx *t)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t host = ((uintptr_t)t->gm.base + DATA + page - 1) &
			 ~(uintptr_t)(page - 1);
	uint64_t gpa = host - (uintptr_t)t->gm.base;
	struct uffdio_range range = { .start = host, .len = page };
	struct uffdio_zeropage zero = { .range = range };
	struct pollfd pfd = { .events = POLLIN };
	bool faulted = false, locked = false, busy = false, started;
	bool reset_early;
	struct uffd_msg msg;
	pthread_t reset;
	unsigned int i;
	int uffd;

	EXPECT_OK(t, blk_up(t, false, all_features));
	EXPECT_OK(t, virtio__start(&dev, t->err, sizeof(t->err)));
	uffd = uffd_trap((void *)host, page);
	if (uffd < 0) {
		blk_down();
		t_fail(t, __FILE__, __LINE__, "userfaultfd: %s (root needed)",
		       strerror(errno));
		return;
	}
	/* 8 sectors from 16 into the trapped page */
	put_hdr(t, VIRTIO_BLK_T_IN, 16);
	t->gm.base[STATUS] = 0xee;
	tv_desc(t, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
	tv_desc(t, 1, gpa, (uint32_t)page, VRING_DESC_F_NEXT |
		VRING_DESC_F_WRITE, 2);
	tv_desc(t, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	tv_offer(t, QSIZE, 0);
	virtio__kick(&dev, 0);
	/* the I/O thread is in its preadv when the fault arrives */
	pfd.fd = uffd;
	if (poll(&pfd, 1, 5000) == 1 && read(uffd, &msg, sizeof(msg)) ==
	    (ssize_t)sizeof(msg) && msg.event == UFFD_EVENT_PAGEFAULT)
		faulted = true;
	/* a vCPU's register access: the lock is not held across the I/O */
	for (i = 0; faulted && i < 2000; i++) {
		if (!pthread_mutex_trylock(&dev.lock)) {
			locked = true;
			break;
		}
		usleep(1000);
	}
	if (locked) {
		busy = dev.busy && dev.status & VIRTIO_CONFIG_S_DRIVER_OK;
		virtio__unlock(&dev);
	}
	/* a reset now waits for the request in flight */
	reset_done = false;
	started = !pthread_create(&reset, NULL, reset_thread, NULL);
	usleep(100 * 1000);
	reset_early = __atomic_load_n(&reset_done, __ATOMIC_ACQUIRE);
	/* let the preadv go on (before any check can end the case) */
	ioctl(uffd, UFFDIO_ZEROPAGE, &zero);
	if (started)
		pthread_join(reset, NULL);
	ioctl(uffd, UFFDIO_UNREGISTER, &range);
	close(uffd);
	CHECK(t, faulted);
	CHECK(t, locked && busy);
	CHECK(t, started && !reset_early);
	/* the request completed before the reset */
	CHECK(t, tv_le16(t, TV_USED + 2) == 1);
	CHECK(t, t->gm.base[STATUS] == VIRTIO_BLK_S_OK);
	for (i = 0; i < page; i++)
		CHECK(t, t->gm.base[gpa + i] ==
			 (unsigned char)(16 + i / 512 + i % 512));
	CHECK(t, dev.status == 0 && !dev.vqs[0].started);
	blk_down();
}

const struct tcase vblk_cases[] = {
	{ "vblk_config_and_features", vblk_config_and_features },
	{ "vblk_feature_negotiation", vblk_feature_negotiation },
	{ "vblk_read", vblk_read },
	{ "vblk_write_and_flush", vblk_write_and_flush },
	{ "vblk_read_only", vblk_read_only },
	{ "vblk_past_capacity", vblk_past_capacity },
	{ "vblk_get_id_and_unsupported", vblk_get_id_and_unsupported },
	{ "vblk_any_layout", vblk_any_layout },
	{ "vblk_broken_ring", vblk_broken_ring },
	{ "vblk_interrupts", vblk_interrupts },
	{ "vblk_io_thread", vblk_io_thread },
	{ "vblk_read_error_used_len", vblk_read_error_used_len },
	{ "vblk_io_without_lock", vblk_io_without_lock },
	{ NULL, NULL },
};
