// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (devices/virtio/net.c) with its tap replaced by one end of a
 * datagram socketpair (frames keep their boundaries, as through a tap):
 * the test holds the other end, the wire.  Transmit and receive with the
 * header and the frame cut any way, the receive queue that stops reading
 * the wire while the guest has no buffer, frames too big for a buffer,
 * chains in the wrong direction, the I/O thread waking on the wire, and
 * `--net`'s syntax.  vnet_real_tap does the same through a real tap in a
 * network namespace of its own when it can (root).
 *
 * The multi-queue ring helpers of test_virtio.h live here too.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "test_virtio.h"
#include "../khyp.h"

/* ---- the rings of a device with several queues ---- */

const struct tq tq[TQ_MAX] = {
	{ TV_DESC, TV_AVAIL, TV_USED },
	{ 0x40000, 0x48000, 0x50000 },
	{ 0x58000, 0x60000, 0x68000 },
	{ 0x70000, 0x78000, 0x80000 },
};

#define TQ_END		0x88000

void tq_desc(struct tctx *t, unsigned int q, unsigned int i, uint64_t addr,
	     uint32_t len, uint16_t flags, uint16_t next)
{
	tv_desc_at(t, tq[q].desc, i, addr, len, flags, next);
}

void tq_offer(struct tctx *t, unsigned int q, uint16_t head)
{
	uint16_t idx = tv_le16(t, tq[q].avail + 2);

	tv_put16(t, tq[q].avail + 4 + 2 * (idx % TQ_SIZE), head);
	tv_put16(t, tq[q].avail + 2, idx + 1);
}

uint16_t tq_used_idx(struct tctx *t, unsigned int q)
{
	return le16toh(__atomic_load_n((uint16_t *)(t->gm.base + tq[q].used + 2),
				       __ATOMIC_ACQUIRE));
}

void tq_used(struct tctx *t, unsigned int q, unsigned int i, uint32_t *id,
	     uint32_t *len)
{
	struct vring_used_elem e;

	memcpy(&e, t->gm.base + tq[q].used + 4 + 8 * (i % TQ_SIZE), sizeof(e));
	*id = le32toh(e.id);
	*len = le32toh(e.len);
}

uint16_t tq_avail_event(struct tctx *t, unsigned int q)
{
	return tv_le16(t, tq[q].used + 4 + 8 * TQ_SIZE);
}

static unsigned int *tq_irqs, *tq_config_irqs;

static void tq_count_irq(struct virtio_dev *d, unsigned int q)
{
	(void)d;
	(void)q;
	__atomic_fetch_add(tq_irqs, 1, __ATOMIC_SEQ_CST);
}

static void tq_count_config_irq(struct virtio_dev *d)
{
	(void)d;
	__atomic_fetch_add(tq_config_irqs, 1, __ATOMIC_SEQ_CST);
}

int tq_dev_up(struct tctx *t, struct virtio_dev *dev, uint64_t features,
	      unsigned int *irqs, unsigned int *config_irqs)
{
	const uint8_t drv = VIRTIO_CONFIG_S_ACKNOWLEDGE |
			    VIRTIO_CONFIG_S_DRIVER;
	unsigned int q;

	memset(t->gm.base + TV_DESC, 0, TQ_END - TV_DESC);
	*irqs = *config_irqs = 0;
	tq_irqs = irqs;
	tq_config_irqs = config_irqs;
	dev->transport.irq_queue = tq_count_irq;
	dev->transport.irq_config = tq_count_config_irq;
	if (dev->nr_queues > TQ_MAX)
		return -1;
	virtio__lock(dev);
	virtio__set_status(dev, 0);
	virtio__set_status(dev, drv);
	dev->driver_features = features & dev->host_features;
	virtio__set_status(dev, drv | VIRTIO_CONFIG_S_FEATURES_OK);
	for (q = 0; q < dev->nr_queues; q++) {
		dev->vqs[q].size = TQ_SIZE;
		dev->vqs[q].desc_gpa = tq[q].desc;
		dev->vqs[q].avail_gpa = tq[q].avail;
		dev->vqs[q].used_gpa = tq[q].used;
		virtio__enable_queue(dev, q);
	}
	virtio__set_status(dev, drv | VIRTIO_CONFIG_S_FEATURES_OK |
				VIRTIO_CONFIG_S_DRIVER_OK);
	virtio__unlock(dev);
	return dev->status & VIRTIO_CONFIG_S_DRIVER_OK ? 0 : -1;
}

void tq_run(struct virtio_dev *dev, unsigned int q)
{
	virtio__kick(dev, q);
	virtio__lock(dev);
	virtio__process(dev);
	virtio__unlock(dev);
}

/* ---- virtio-net on a socketpair ---- */

#define RX		0
#define TX		1
#define HDR		12			/* struct virtio_net_hdr_v1 */
#define BUF		0x100000		/* packets, 0x1000 apart */
#define BUF2		0x110000

static struct virtio_dev dev;
static int wire = -1, devfd = -1;		/* the socketpair's ends */
static unsigned int irqs, config_irqs;
static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint64_t all_features = ~0ULL;

static void net_down(void)
{
	vnet__exit(&dev);
	close(wire);
	close(devfd);
	wire = devfd = -1;
}

static int net_up(struct tctx *t, uint64_t features)
{
	int sv[2];

	if (dev.priv)
		net_down();	/* what a failed case left behind */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	devfd = sv[0];
	wire = sv[1];
	if (vnet__init_fd(&dev, devfd, mac, "sockpair", &t->gm, t->err,
			  sizeof(t->err)))
		return -1;
	return tq_dev_up(t, &dev, features, &irqs, &config_irqs);
}

/* A frame of len bytes, byte k being seed + k. */
static void frame_fill(unsigned char *p, size_t len, unsigned char seed)
{
	size_t k;

	for (k = 0; k < len; k++)
		p[k] = (unsigned char)(seed + k);
}

static bool frame_is(const unsigned char *p, size_t len, unsigned char seed)
{
	size_t k;

	for (k = 0; k < len; k++)
		if (p[k] != (unsigned char)(seed + k))
			return false;
	return true;
}

/* What the device put on the wire: its length, or -1 if nothing. */
static ssize_t wire_recv(unsigned char *buf, size_t len)
{
	return recv(wire, buf, len, MSG_DONTWAIT);
}

static int wire_send(size_t len, unsigned char seed)
{
	static unsigned char f[70000];

	frame_fill(f, len, seed);
	return send(wire, f, len, 0) == (ssize_t)len ? 0 : -1;
}

/* Does a frame wait for the device on its end of the wire? */
static bool wire_pending(void)
{
	unsigned char b[1];

	return recv(devfd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT) >= 0;
}

static uint32_t used_len(struct tctx *t, unsigned int q, unsigned int i)
{
	uint32_t id, len;

	tq_used(t, q, i, &id, &len);
	return len;
}

/* The header of a received packet at gpa: flags 0, GSO_NONE, 1 buffer. */
static bool rx_hdr_ok(struct tctx *t, uint64_t gpa)
{
	struct virtio_net_hdr_v1 h;

	memcpy(&h, t->gm.base + gpa, sizeof(h));
	return h.flags == 0 && h.gso_type == VIRTIO_NET_HDR_GSO_NONE &&
	       !h.hdr_len && !h.gso_size && !h.csum_start && !h.csum_offset &&
	       le16toh(h.num_buffers) == 1;
}

static void vnet_config_and_features(struct tctx *t)
{
	static const int not_offered[] = {
		VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM,
		VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
		VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_HOST_TSO4,
		VIRTIO_NET_F_HOST_UFO, VIRTIO_NET_F_MRG_RXBUF,
		VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_MQ, VIRTIO_NET_F_MTU,
	};
	struct virtio_net_config c;
	unsigned int i;

	EXPECT_OK(t, net_up(t, all_features));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_F_VERSION_1));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_NET_F_MAC));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_NET_F_STATUS));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_RING_F_EVENT_IDX));
	CHECK(t, dev.host_features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	for (i = 0; i < ARRAY_SIZE(not_offered); i++)
		CHECK(t, !(dev.host_features & (1ULL << not_offered[i])));
	CHECK(t, dev.nr_queues == 2);		/* no control queue */
	CHECK(t, dev.config_len >= 8);
	memset(&c, 0, sizeof(c));
	memcpy(&c, dev.config, dev.config_len < sizeof(c) ? dev.config_len :
						      sizeof(c));
	CHECK(t, !memcmp(c.mac, mac, 6));
	CHECK(t, le16toh(c.status) == VIRTIO_NET_S_LINK_UP);
	CHECK(t, !strcmp(vnet__ifname(&dev), "sockpair"));
	net_down();
}

static void vnet_transmit(struct tctx *t)
{
	unsigned char got[2048];
	unsigned long rxd, txd;

	EXPECT_OK(t, net_up(t, all_features));
	/* the header alone, then the frame cut 20 + 40 */
	memset(t->gm.base + BUF, 0, HDR);
	frame_fill(t->gm.base + BUF + 0x100, 60, 0x30);
	tq_desc(t, TX, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	tq_desc(t, TX, 1, BUF + 0x100, 20, VRING_DESC_F_NEXT, 2);
	tq_desc(t, TX, 2, BUF + 0x100 + 20, 40, 0, 0);
	tq_offer(t, TX, 0);
	tq_run(&dev, TX);
	CHECK(t, wire_recv(got, sizeof(got)) == 60 && frame_is(got, 60, 0x30));
	CHECK(t, tq_used_idx(t, TX) == 1 && used_len(t, TX, 0) == 0);
	CHECK(t, irqs == 1);
	/* header and a full-size frame in one descriptor (any layout) */
	memset(t->gm.base + BUF2, 0, HDR);
	frame_fill(t->gm.base + BUF2 + HDR, 1514, 0x99);
	tq_desc(t, TX, 5, BUF2, HDR + 1514, 0, 0);
	tq_offer(t, TX, 5);
	tq_run(&dev, TX);
	CHECK(t, wire_recv(got, sizeof(got)) == 1514 &&
		 frame_is(got, 1514, 0x99));
	/* through an indirect table */
	tv_desc_at(t, 0x200000, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	tv_desc_at(t, 0x200000, 1, BUF + 0x100, 60, 0, 0);
	tq_desc(t, TX, 7, 0x200000, 32, VRING_DESC_F_INDIRECT, 0);
	tq_offer(t, TX, 7);
	tq_run(&dev, TX);
	CHECK(t, wire_recv(got, sizeof(got)) == 60 && frame_is(got, 60, 0x30));
	CHECK(t, tq_used_idx(t, TX) == 3);
	/* shorter than the header: dropped and returned, the queue fine */
	tq_desc(t, TX, 3, BUF, HDR - 1, 0, 0);
	tq_offer(t, TX, 3);
	tq_run(&dev, TX);
	CHECK(t, wire_recv(got, sizeof(got)) < 0);
	CHECK(t, tq_used_idx(t, TX) == 4);
	CHECK(t, !(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET));
	vnet__dropped(&dev, &rxd, &txd);
	CHECK(t, rxd == 0 && txd == 1);
	/* nothing was ever put in the receive buffers' ring */
	CHECK(t, tq_used_idx(t, RX) == 0);
	net_down();
}

static void vnet_receive(struct tctx *t)
{
	EXPECT_OK(t, net_up(t, all_features));
	memset(t->gm.base + BUF, 0xee, 0x1000);
	tq_desc(t, RX, 0, BUF, 1526, VRING_DESC_F_WRITE, 0);
	tq_offer(t, RX, 0);
	/* the header in a descriptor of its own, as a driver may */
	tq_desc(t, RX, 4, BUF2, HDR, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 9);
	tq_desc(t, RX, 9, BUF2 + 0x100, 1514, VRING_DESC_F_WRITE, 0);
	tq_offer(t, RX, 4);
	EXPECT_OK(t, wire_send(100, 0x40));
	EXPECT_OK(t, wire_send(1514, 0x50));
	tq_run(&dev, RX);
	CHECK(t, tq_used_idx(t, RX) == 2);
	CHECK(t, used_len(t, RX, 0) == HDR + 100);
	CHECK(t, rx_hdr_ok(t, BUF) && frame_is(t->gm.base + BUF + HDR, 100, 0x40));
	CHECK(t, t->gm.base[BUF + HDR + 100] == 0xee);	/* no more written */
	CHECK(t, used_len(t, RX, 1) == HDR + 1514);
	CHECK(t, rx_hdr_ok(t, BUF2) &&
		 frame_is(t->gm.base + BUF2 + 0x100, 1514, 0x50));
	CHECK(t, irqs == 1);			/* one for the batch */
	CHECK(t, !wire_pending());
	net_down();
}

/*
 * No buffer, no reading: the frames stay on the wire, the device asks
 * for a kick at the next entry and its I/O thread does not wait on the
 * wire; buffers and a kick take them.
 */
static void vnet_receive_waits_for_buffers(struct tctx *t)
{
	unsigned int q = 99;

	EXPECT_OK(t, net_up(t, all_features));
	EXPECT_OK(t, wire_send(60, 1));
	EXPECT_OK(t, wire_send(61, 2));
	tq_run(&dev, RX);
	CHECK(t, wire_pending());
	CHECK(t, tq_used_idx(t, RX) == 0 && irqs == 0);
	CHECK(t, dev.type->wait_fd(&dev, &q) == -1);
	CHECK(t, tq_avail_event(t, RX) == 0);
	/* one buffer: one frame, then the ring is empty again */
	tq_desc(t, RX, 0, BUF, 1526, VRING_DESC_F_WRITE, 0);
	tq_offer(t, RX, 0);
	CHECK(t, dev.type->wait_fd(&dev, &q) == devfd && q == RX);
	tq_run(&dev, RX);
	CHECK(t, tq_used_idx(t, RX) == 1 && used_len(t, RX, 0) == HDR + 60);
	CHECK(t, frame_is(t->gm.base + BUF + HDR, 60, 1));
	CHECK(t, wire_pending());
	CHECK(t, tq_avail_event(t, RX) == 1);
	CHECK(t, dev.type->wait_fd(&dev, &q) == -1);
	/* two buffers for one frame: the second waits for the wire */
	tq_desc(t, RX, 1, BUF2, 1526, VRING_DESC_F_WRITE, 0);
	tq_desc(t, RX, 2, BUF2 + 0x1000, 1526, VRING_DESC_F_WRITE, 0);
	tq_offer(t, RX, 1);
	tq_offer(t, RX, 2);
	tq_run(&dev, RX);
	CHECK(t, tq_used_idx(t, RX) == 2 && used_len(t, RX, 1) == HDR + 61);
	CHECK(t, frame_is(t->gm.base + BUF2 + HDR, 61, 2));
	CHECK(t, !wire_pending());
	CHECK(t, dev.type->wait_fd(&dev, &q) == devfd);
	net_down();
}

/* A frame bigger than the buffer is dropped; the buffer comes back empty. */
static void vnet_receive_too_small(struct tctx *t)
{
	unsigned long rxd, txd;

	EXPECT_OK(t, net_up(t, all_features));
	memset(t->gm.base + BUF, 0xee, 0x100);
	tq_desc(t, RX, 0, BUF, HDR + 50, VRING_DESC_F_WRITE, 0);
	tq_desc(t, RX, 1, BUF2, 1526, VRING_DESC_F_WRITE, 0);
	tq_offer(t, RX, 0);
	tq_offer(t, RX, 1);
	EXPECT_OK(t, wire_send(100, 7));
	EXPECT_OK(t, wire_send(50, 8));
	tq_run(&dev, RX);
	CHECK(t, tq_used_idx(t, RX) == 2);
	CHECK(t, used_len(t, RX, 0) == 0 && t->gm.base[BUF] == 0xee);
	CHECK(t, used_len(t, RX, 1) == HDR + 50);
	CHECK(t, frame_is(t->gm.base + BUF2 + HDR, 50, 8));
	vnet__dropped(&dev, &rxd, &txd);
	CHECK(t, rxd == 1 && txd == 0);
	CHECK(t, !(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET));
	net_down();
}

/* Wrong directions and bad addresses break the device, nothing else. */
static void vnet_bad_chains(struct tctx *t)
{
	unsigned char got[64];

	/* a writable buffer to transmit */
	EXPECT_OK(t, net_up(t, all_features));
	tq_desc(t, TX, 0, BUF, HDR + 60, VRING_DESC_F_NEXT, 1);
	tq_desc(t, TX, 1, BUF2, 16, VRING_DESC_F_WRITE, 0);
	tq_offer(t, TX, 0);
	tq_run(&dev, TX);
	CHECK(t, dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(t, config_irqs == 1 && irqs == 0);
	CHECK(t, wire_recv(got, sizeof(got)) < 0);
	/* the receive side stops too: a frame stays on the wire */
	tq_desc(t, RX, 0, BUF, 1526, VRING_DESC_F_WRITE, 0);
	tq_offer(t, RX, 0);
	EXPECT_OK(t, wire_send(60, 3));
	tq_run(&dev, RX);
	CHECK(t, tq_used_idx(t, RX) == 0 && wire_pending());
	/* a readable buffer to receive into */
	EXPECT_OK(t, net_up(t, all_features));
	tq_desc(t, RX, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	tq_desc(t, RX, 1, BUF2, 1514, VRING_DESC_F_WRITE, 0);
	tq_offer(t, RX, 0);
	EXPECT_OK(t, wire_send(60, 3));
	tq_run(&dev, RX);
	CHECK(t, dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(t, tq_used_idx(t, RX) == 0);
	/* a frame outside guest RAM, and a buffer that wraps around */
	EXPECT_OK(t, net_up(t, all_features));
	tq_desc(t, TX, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	tq_desc(t, TX, 1, GUEST_SIZE - 8, 60, 0, 0);
	tq_offer(t, TX, 0);
	tq_run(&dev, TX);
	CHECK(t, dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(t, wire_recv(got, sizeof(got)) < 0);
	EXPECT_OK(t, net_up(t, all_features));
	tq_desc(t, RX, 0, ~0ULL - 100, 1526, VRING_DESC_F_WRITE, 0);
	tq_offer(t, RX, 0);
	EXPECT_OK(t, wire_send(60, 3));
	tq_run(&dev, RX);
	CHECK(t, dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* a reset and a good packet: fine again */
	EXPECT_OK(t, tq_dev_up(t, &dev, all_features, &irqs, &config_irqs));
	CHECK(t, !(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET));
	tq_desc(t, RX, 0, BUF, 1526, VRING_DESC_F_WRITE, 0);
	tq_offer(t, RX, 0);
	EXPECT_OK(t, wire_send(60, 4));
	tq_run(&dev, RX);
	CHECK(t, tq_used_idx(t, RX) == 1 && used_len(t, RX, 0) == HDR + 60);
	net_down();
}

static bool wait_used(struct tctx *t, unsigned int q, uint16_t n)
{
	unsigned int i;

	for (i = 0; i < 2000 && tq_used_idx(t, q) != n; i++)
		usleep(1000);
	return tq_used_idx(t, q) == n;
}

/* The I/O thread reads the wire by itself while there are buffers. */
static void vnet_io_thread(struct tctx *t)
{
	unsigned char got[128];
	struct pollfd p = { .fd = -1, .events = POLLIN };

	EXPECT_OK(t, net_up(t, all_features &
			    ~(1ULL << VIRTIO_RING_F_EVENT_IDX)));
	EXPECT_OK(t, virtio__start(&dev, t->err, sizeof(t->err)));
	/* frames before any buffer wait on the wire */
	EXPECT_OK(t, wire_send(60, 5));
	usleep(20000);
	CHECK(t, wire_pending() && tq_used_idx(t, RX) == 0);
	/* buffers and the driver's kick: that frame, then the next one
	 * without any kick */
	tq_desc(t, RX, 0, BUF, 1526, VRING_DESC_F_WRITE, 0);
	tq_desc(t, RX, 1, BUF2, 1526, VRING_DESC_F_WRITE, 0);
	tq_offer(t, RX, 0);
	tq_offer(t, RX, 1);
	virtio__kick(&dev, RX);
	CHECK(t, wait_used(t, RX, 1));
	EXPECT_OK(t, wire_send(70, 6));
	CHECK(t, wait_used(t, RX, 2));
	CHECK(t, frame_is(t->gm.base + BUF2 + HDR, 70, 6));
	/* transmit on a kick */
	memset(t->gm.base + 0x120000, 0, HDR);
	frame_fill(t->gm.base + 0x120000 + HDR, 60, 9);
	tq_desc(t, TX, 0, 0x120000, HDR + 60, 0, 0);
	tq_offer(t, TX, 0);
	virtio__kick(&dev, TX);
	p.fd = wire;
	CHECK(t, poll(&p, 1, 2000) == 1);
	CHECK(t, wire_recv(got, sizeof(got)) == 60 && frame_is(got, 60, 9));
	CHECK(t, wait_used(t, TX, 1));
	net_down();		/* stops and joins the thread */
	CHECK(t, !dev.thread_started);
}

static int parse(struct tctx *t, struct run_opts *o, int argc, char **argv)
{
	t->err[0] = 0;
	return opts__parse(o, argc, argv, t->err, sizeof(t->err));
}

/* --net tap[=NAME][,mac=MAC] */
static void vnet_options(struct tctx *t)
{
	static const uint8_t def[6] = NET_DEFAULT_MAC;
	static const struct {
		const char *arg, *err;
	} bad[] = {
		{ "user", "only tap" }, { "tapx", "only tap" },
		{ "tap=", "1 to 15" }, { "tap=0123456789abcdef", "1 to 15" },
		{ "tap=a/b", "no '/'" }, { "tap=k0,foo=1", "unknown" },
		{ "tap,mac=02:00:00:00:00", "unicast" },
		{ "tap,mac=03:00:00:00:00:01", "unicast" },	/* multicast */
		{ "tap,mac=00:00:00:00:00:00", "unicast" },
		{ "tap,mac=02:00:00:00:00:0g", "unicast" },
		{ "tap,mac=02-00-00-00-00-01", "unicast" },
	};
	char *a1[] = { "run", "--net", "tap", "img" };
	char *a2[] = { "run", "--net", "tap=khyp0,mac=52:54:00:AB:cd:0f",
		       "img" };
	char *a3[] = { "run", "--net", "tap,mac=02:00:00:00:00:01", "img" };
	char *twice[] = { "run", "--net", "tap", "--net", "tap=x", "img" };
	char *restart[] = { "run", "--net", "tap", "--reboot", "restart",
			    "img" };
	char *b[] = { "run", "--net", NULL, "img" };
	static const uint8_t m2[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0x0f };
	struct run_opts o;
	unsigned int i;

	EXPECT_OK(t, parse(t, &o, ARRAY_SIZE(a1), a1));
	CHECK(t, o.net.on && !o.net.ifname[0] && !memcmp(o.net.mac, def, 6));
	EXPECT_OK(t, parse(t, &o, ARRAY_SIZE(a2), a2));
	CHECK(t, o.net.on && !strcmp(o.net.ifname, "khyp0") &&
		 !memcmp(o.net.mac, m2, 6));
	EXPECT_OK(t, parse(t, &o, ARRAY_SIZE(a3), a3));
	CHECK(t, !o.net.ifname[0] && o.net.mac[5] == 1);
	CHECK(t, parse(t, &o, ARRAY_SIZE(twice), twice) == -1 &&
		 t_err_has(t, "once"));
	EXPECT_OK(t, parse(t, &o, ARRAY_SIZE(restart), restart));
	CHECK(t, o.net.on && o.reboot_restart);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		b[2] = (char *)bad[i].arg;
		if (parse(t, &o, ARRAY_SIZE(b), b) != -1 ||
		    !t_err_has(t, bad[i].err)) {
			t_fail(t, __FILE__, __LINE__, "--net %s: \"%s\"",
			       bad[i].arg, t->err);
			return;
		}
	}
	/* a bad option leaves no message behind for the next case */
	t->err[0] = 0;
}

/* ---- through a real tap, when this process may make one ---- */

#define TAP_NAME	"khyptest0"
#define TAP_HOST	"10.250.0.1"
#define TAP_GUEST	"10.250.0.2"
#define TAP_PORT	7777

static uint16_t ip_csum(const unsigned char *p, size_t len)
{
	uint32_t s = 0;
	size_t k;

	for (k = 0; k + 1 < len; k += 2)
		s += (uint32_t)p[k] << 8 | p[k + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * An Ethernet frame from the guest (mac) to dst: UDP/IPv4 TAP_GUEST ->
 * TAP_HOST:TAP_PORT carrying "hello"; its length.
 */
static size_t udp_frame(unsigned char *f, const uint8_t dst[6])
{
	static const char msg[] = "hello";
	unsigned char *ip = f + 14, *udp = ip + 20;
	size_t ulen = 8 + sizeof(msg) - 1;
	struct in_addr a;

	memcpy(f, dst, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + ulen) >> 8);
	ip[3] = (uint8_t)(20 + ulen);
	ip[8] = 64;				/* TTL */
	ip[9] = IPPROTO_UDP;
	inet_pton(AF_INET, TAP_GUEST, &a);
	memcpy(ip + 12, &a, 4);
	inet_pton(AF_INET, TAP_HOST, &a);
	memcpy(ip + 16, &a, 4);
	ip[10] = (uint8_t)(ip_csum(ip, 20) >> 8);
	ip[11] = (uint8_t)ip_csum(ip, 20);
	udp[0] = 0x30;				/* source port 12345 */
	udp[1] = 0x39;
	udp[2] = TAP_PORT >> 8;
	udp[3] = TAP_PORT & 0xff;
	udp[4] = (uint8_t)(ulen >> 8);
	udp[5] = (uint8_t)ulen;
	udp[6] = udp[7] = 0;			/* no UDP checksum */
	memcpy(udp + 8, msg, sizeof(msg) - 1);
	return 14 + 20 + ulen;
}

/* Set the tap's address and bring it up; its MAC into hw. */
static int tap_config(uint8_t hw[6])
{
	struct sockaddr_in *sin;
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = -1;

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP_NAME);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, TAP_HOST, &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr))
		goto out;
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	if (ioctl(s, SIOCSIFNETMASK, &ifr))
		goto out;
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		goto out;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) || ioctl(s, SIOCGIFHWADDR, &ifr))
		goto out;
	memcpy(hw, ifr.ifr_hwaddr.sa_data, 6);
	r = 0;
out:
	close(s);
	return r;
}

/* Is the frame at p an ARP request for TAP_GUEST from the tap? */
static bool is_arp_for_guest(const unsigned char *p, uint32_t len,
			     const uint8_t hw[6])
{
	struct in_addr a;

	inet_pton(AF_INET, TAP_GUEST, &a);
	return len >= 42 && p[12] == 0x08 && p[13] == 0x06 &&
	       !memcmp(p + 6, hw, 6) && p[20] == 0 && p[21] == 1 &&
	       !memcmp(p + 38, &a, 4);
}

/* The body of vnet_real_tap, in a child in its own network namespace. */
static void tap_child(struct tctx *t)
{
	struct net_opt o = { .on = true, .ifname = TAP_NAME };
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(TAP_PORT) };
	struct timeval tmo = { .tv_sec = 5 };
	unsigned char f[128], got[16];
	unsigned int i, n;
	uint8_t hw[6];
	uint32_t len;
	bool arp = false;
	int s;

	memcpy(o.mac, mac, 6);
	EXPECT_OK(t, vnet__init(&dev, &o, &t->gm, t->err, sizeof(t->err)));
	CHECK(t, !strcmp(vnet__ifname(&dev), TAP_NAME));
	EXPECT_OK(t, tap_config(hw));
	EXPECT_OK(t, tq_dev_up(t, &dev, all_features, &irqs, &config_irqs));
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(t, s >= 0);
	/* a datagram that never comes must not hang the test */
	CHECK(t, !setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)));
	inet_pton(AF_INET, TAP_HOST, &sa.sin_addr);
	CHECK(t, !bind(s, (struct sockaddr *)&sa, sizeof(sa)));
	/* guest -> host: a UDP datagram through the tap */
	memset(t->gm.base + BUF, 0, HDR);
	len = (uint32_t)udp_frame(f, hw);
	memcpy(t->gm.base + BUF + HDR, f, len);
	tq_desc(t, TX, 0, BUF, HDR + len, 0, 0);
	tq_offer(t, TX, 0);
	tq_run(&dev, TX);
	CHECK(t, recv(s, got, sizeof(got), 0) == 5 && !memcmp(got, "hello", 5));
	/* host -> guest: the host's ARP request for the guest's address */
	inet_pton(AF_INET, TAP_GUEST, &sa.sin_addr);
	CHECK(t, sendto(s, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)) == 1);
	for (i = 0; i < TQ_SIZE; i++) {
		tq_desc(t, RX, i, BUF2 + 0x1000 * i, 1526, VRING_DESC_F_WRITE, 0);
		tq_offer(t, RX, i);
	}
	/* other frames (IPv6 neighbour discovery) may come first */
	for (i = 0; i < 200 && !arp; i++) {
		tq_run(&dev, RX);
		for (n = 0; n < tq_used_idx(t, RX) && !arp; n++)
			arp = is_arp_for_guest(t->gm.base + BUF2 + 0x1000 * n + HDR,
					       used_len(t, RX, n) - HDR, hw);
		usleep(10000);
	}
	CHECK(t, arp);
	CHECK(t, rx_hdr_ok(t, BUF2));
	close(s);
	vnet__exit(&dev);
}

static void vnet_real_tap(struct tctx *t)
{
	char buf[sizeof(t->fail_what) + 16];
	int p[2], st;
	ssize_t n;
	pid_t pid;

	if (access("/dev/net/tun", R_OK | W_OK)) {
		snprintf(t->err, sizeof(t->err), "skipped: no /dev/net/tun");
		return;
	}
	if (pipe(p))
		CHECK(t, !"pipe");
	fflush(stdout);
	pid = fork();
	CHECK(t, pid >= 0);
	if (!pid) {
		close(p[0]);
		if (unshare(CLONE_NEWNET)) {
			n = snprintf(buf, sizeof(buf), "S unshare: %s",
				     strerror(errno));
		} else {
			tap_child(t);
			n = t->fail_file ?
			    snprintf(buf, sizeof(buf), "F%d %s%s%s%s",
				     t->fail_line, t->fail_what,
				     t->err[0] ? " (" : "", t->err,
				     t->err[0] ? ")" : "") :
			    snprintf(buf, sizeof(buf), "ok");
		}
		if (write(p[1], buf, (size_t)n) != n)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	CHECK(t, waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		 !WEXITSTATUS(st));
	CHECK(t, n > 0);
	buf[n] = 0;
	if (buf[0] == 'S') {
		snprintf(t->err, sizeof(t->err), "skipped: %.200s", buf + 2);
		return;
	}
	if (buf[0] == 'F') {
		t_fail(t, "tests/test_virtio_net.c (child)", atoi(buf + 1),
		       "%s", strchr(buf, ' ') + 1);
		return;
	}
	CHECK(t, !strcmp(buf, "ok"));
}

const struct tcase vnet_cases[] = {
	{ "vnet_config_and_features", vnet_config_and_features },
	{ "vnet_transmit", vnet_transmit },
	{ "vnet_receive", vnet_receive },
	{ "vnet_receive_waits_for_buffers", vnet_receive_waits_for_buffers },
	{ "vnet_receive_too_small", vnet_receive_too_small },
	{ "vnet_bad_chains", vnet_bad_chains },
	{ "vnet_io_thread", vnet_io_thread },
	{ "vnet_options", vnet_options },
	{ "vnet_real_tap", vnet_real_tap },
	{ NULL, NULL },
};
