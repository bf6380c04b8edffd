// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (virtio 1.2, 5.1) on a host tap device: `--net tap[=NAME]`.
 *
 * Two queues, receiveq1 (0) and transmitq1 (1); no control queue, no
 * multiqueue, no offloads: the tap is opened without IFF_VNET_HDR, so
 * what crosses it is a plain Ethernet frame, and the driver checksums
 * its own packets (no VIRTIO_NET_F_CSUM) and gets whole, checksummed
 * ones (no GUEST_CSUM, GUEST_TSO*).  Features: VERSION_1, MAC (the
 * option's or a fixed locally administered one), STATUS (the link is up),
 * INDIRECT_DESC and EVENT_IDX.  Without MRG_RXBUF a frame goes into one
 * receive chain.
 *
 * Every packet is preceded by the 12-byte struct virtio_net_hdr_v1 (with
 * VERSION_1 the header always has num_buffers):
 *
 *   transmit  a chain of device-readable buffers: the header (its flags
 *             and GSO type are 0 without offloads; the device ignores
 *             it), then the frame, cut any way: written to the tap with
 *             one writev() straight from guest RAM.
 *   receive   a chain of device-writable buffers: the device reads a
 *             frame from the tap and writes the header (flags 0,
 *             GSO_NONE, num_buffers 1) and the frame.  A frame that does
 *             not fit is dropped and the buffer returned with nothing
 *             written (Linux counts an rx_length_error); the driver
 *             should give at least 1526 bytes (the spec's 5.1.6.3).
 *
 * The I/O thread (virtio.c) waits on the tap as well as on the kicks, but
 * only while the receive queue has buffers: when the guest has given none
 * the tap is not read, frames wait in the kernel's tap queue (which drops
 * past its length), and the driver's next kick (asked for through
 * avail_event, or always without EVENT_IDX) starts reading again.  So a
 * guest that does not read its network costs the launcher nothing.
 *
 * A chain in the wrong direction (a writable buffer to transmit, a
 * readable one to receive into) breaks the queue: DEVICE_NEEDS_RESET.  A
 * transmit chain shorter than the header, or with a frame longer than
 * 64 KiB, is dropped and returned (the tap would refuse it).
 *
 * The tap fd is only read and written here; tests pass a datagram socket
 * instead (vnet__init_fd), which keeps frame boundaries as a tap does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "../../khyp.h"
#include "virtio.h"

#define VNET_RX			0	/* receiveq1 */
#define VNET_TX			1	/* transmitq1 */
#define VNET_QUEUE_SIZE		VIRTQ_MAX_SIZE
#define VNET_HDR_LEN		sizeof(struct virtio_net_hdr_v1)
/* The largest frame either way: an IP packet of 64 KiB and its header. */
#define VNET_FRAME_MAX		(65535 + 14 + 4)
/* Frames received in one call of process: then the core raises the irq. */
#define VNET_RX_BATCH		64

struct vnet {
	int fd;				/* the tap, non-blocking */
	bool own_fd;			/* opened here: close it at the end */
	bool fd_failed;			/* read error or EOF: no more RX */
	bool logged_tx;			/* a transmit error was reported */
	char ifname[IFNAMSIZ];
	struct virtio_net_config config;
	unsigned long rx_dropped, tx_dropped;
	struct virtq_chain chain;	/* the packet in progress */
	struct iovec iov[VIRTQ_MAX_SIZE];
	unsigned char frame[VNET_FRAME_MAX];
};

/* One transmit chain: its frame to the tap. */
static int vnet__tx_one(struct vnet *n, struct virtq *vq,
			const struct virtq_chain *c)
{
	uint64_t len;
	ssize_t r;
	int nr;

	if (c->nr_wr) {
		virtq__fail(vq, "transmit chain at %u: a device-writable buffer",
			    c->head);
		return -EIO;
	}
	if (c->rd_len < VNET_HDR_LEN ||
	    c->rd_len - VNET_HDR_LEN > VNET_FRAME_MAX) {
		n->tx_dropped++;
		return 0;
	}
	len = c->rd_len - VNET_HDR_LEN;
	nr = virtq__slice(c, false, VNET_HDR_LEN, len, n->iov, VIRTQ_MAX_SIZE);
	if (nr <= 0) {
		n->tx_dropped++;
		return 0;
	}
	do {
		r = writev(n->fd, n->iov, nr);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		/* the tap's queue is full, its link down, a runt frame: */
		n->tx_dropped++;
		if (!n->logged_tx && errno != EAGAIN && errno != ENOBUFS) {
			n->logged_tx = true;
			fprintf(stderr, "khyp: virtio-net: writing to %s: %s (frames dropped)\n",
				n->ifname, strerror(errno));
		}
	}
	return 0;
}

static int vnet__tx(struct vnet *n, struct virtq *vq)
{
	int r;

	while ((r = virtq__pop(vq, &n->chain)) > 0) {
		if (vnet__tx_one(n, vq, &n->chain))
			return -EIO;
		virtq__push(vq, n->chain.head, 0);
	}
	return r < 0 ? -EIO : 0;
}

/* A frame of len bytes into the next receive chain: 0 or -EIO. */
static int vnet__rx_one(struct vnet *n, struct virtq *vq, size_t len)
{
	struct virtq_chain *c = &n->chain;
	struct virtio_net_hdr_v1 hdr;
	int r;

	r = virtq__pop(vq, c);
	if (r <= 0)
		return r < 0 ? -EIO : 0;	/* 0: cannot happen, checked */
	if (c->nr_rd) {
		virtq__fail(vq, "receive chain at %u: a device-readable buffer",
			    c->head);
		return -EIO;
	}
	if (c->wr_len < VNET_HDR_LEN + len) {
		n->rx_dropped++;
		virtq__push(vq, c->head, 0);
		return 0;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	hdr.num_buffers = htole16(1);
	virtq__copy_to(c, 0, &hdr, VNET_HDR_LEN);
	virtq__copy_to(c, VNET_HDR_LEN, n->frame, len);
	virtq__push(vq, c->head, (uint32_t)(VNET_HDR_LEN + len));
	return 0;
}

/*
 * Frames from the tap while the guest has buffers: 0 when it has none
 * left (the core asks for a kick) or after a batch, 1 when the tap is
 * empty (the thread waits on it), -EIO.
 */
static int vnet__rx(struct vnet *n, struct virtq *vq)
{
	unsigned int done;
	ssize_t len;

	for (done = 0; done < VNET_RX_BATCH; done++) {
		if (n->fd_failed)
			return 1;
		if (!virtq__has_avail(vq))
			return 0;
		len = read(n->fd, n->frame, sizeof(n->frame));
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (len <= 0) {
			fprintf(stderr, "khyp: virtio-net: reading %s: %s; the guest receives nothing more\n",
				n->ifname, len ? strerror(errno) : "end of file");
			n->fd_failed = true;
			return 1;
		}
		if (vnet__rx_one(n, vq, (size_t)len))
			return -EIO;
	}
	return 0;
}

static int vnet__process(struct virtio_dev *dev, unsigned int q)
{
	struct vnet *n = dev->priv;

	if (q == VNET_TX)
		return vnet__tx(n, &dev->vqs[q]);
	return vnet__rx(n, &dev->vqs[q]);
}

static int vnet__wait_fd(struct virtio_dev *dev, unsigned int *q)
{
	struct vnet *n = dev->priv;

	*q = VNET_RX;
	if (n->fd_failed || !virtq__has_avail(&dev->vqs[VNET_RX]))
		return -1;
	return n->fd;
}

static const struct virtio_type vnet_type = {
	.name = "virtio-net",
	.id = VIRTIO_ID_NET,
	.process = vnet__process,
	.wait_fd = vnet__wait_fd,
};

int vnet__init_fd(struct virtio_dev *dev, int fd, const uint8_t mac[6],
		  const char *ifname, struct guest_mem *gm,
		  char *err, size_t errlen)
{
	struct vnet *n;
	int fl;

	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "--net: out of memory");
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "--net %s: %s", ifname, strerror(errno));
		free(n);
		return -1;
	}
	n->fd = fd;
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifname);
	memcpy(n->config.mac, mac, sizeof(n->config.mac));
	n->config.status = htole16(VIRTIO_NET_S_LINK_UP);

	memset(dev, 0, sizeof(*dev));
	dev->type = &vnet_type;
	dev->priv = n;
	dev->gm = gm;
	snprintf(dev->name, sizeof(dev->name), "virtio-net %s", n->ifname);
	dev->host_features = 1ULL << VIRTIO_F_VERSION_1 |
			     1ULL << VIRTIO_RING_F_INDIRECT_DESC |
			     1ULL << VIRTIO_RING_F_EVENT_IDX |
			     1ULL << VIRTIO_NET_F_MAC |
			     1ULL << VIRTIO_NET_F_STATUS;
	dev->config = (unsigned char *)&n->config;
	dev->config_len = sizeof(n->config);
	dev->nr_queues = 2;
	dev->queue_max = VNET_QUEUE_SIZE;
	if (virtio__init(dev, err, errlen)) {
		free(n);
		dev->priv = NULL;
		return -1;
	}
	return 0;
}

/* The tap ifname ("" lets the kernel pick one): its fd, or -1. */
static int vnet__open_tap(char *ifname, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "--net: /dev/net/tun: %s%s",
			 strerror(errno),
			 errno == ENOENT ? " (modprobe tun)" : "");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		const char *why = "";

		if (errno == EPERM)
			why = " (needs CAP_NET_ADMIN, or a tap made for this user: ip tuntap add NAME mode tap user USER)";
		else if (errno == EINVAL || errno == EBUSY)
			why = " (is NAME a tun device, or in use?)";
		snprintf(err, errlen, "--net tap%s%s: TUNSETIFF: %s%s",
			 *ifname ? "=" : "", ifname, strerror(errno), why);
		close(fd);
		return -1;
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = 0;
	return fd;
}

int vnet__init(struct virtio_dev *dev, const struct net_opt *o,
	       struct guest_mem *gm, char *err, size_t errlen)
{
	char ifname[IFNAMSIZ];
	int fd;

	snprintf(ifname, sizeof(ifname), "%s", o->ifname);
	fd = vnet__open_tap(ifname, err, errlen);
	if (fd < 0)
		return -1;
	if (vnet__init_fd(dev, fd, o->mac, ifname, gm, err, errlen)) {
		close(fd);
		return -1;
	}
	((struct vnet *)dev->priv)->own_fd = true;
	return 0;
}

const char *vnet__ifname(const struct virtio_dev *dev)
{
	return ((const struct vnet *)dev->priv)->ifname;
}

void vnet__exit(struct virtio_dev *dev)
{
	struct vnet *n = dev->priv;

	virtio__exit(dev);
	if (!n)
		return;
	if (n->own_fd)
		close(n->fd);
	free(n);
	dev->priv = NULL;
}

void vnet__dropped(const struct virtio_dev *dev, unsigned long *rx,
		   unsigned long *tx)
{
	const struct vnet *n = dev->priv;

	*rx = n->rx_dropped;
	*tx = n->tx_dropped;
}
