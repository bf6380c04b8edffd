// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console (virtio 1.2, 5.3): `--console stdio|FILE`, a second
 * console for the guest, output only.  Linux's virtio_console makes it
 * /dev/hvc0 (console=hvc0 puts the kernel's console there too).
 *
 * One port, no features (no MULTIPORT, so no control queues; no SIZE, no
 * EMERG_WRITE): receiveq(port0) is queue 0, transmitq(port0) queue 1.
 *
 *   transmitq  device-readable chains: their bytes, in order, to the
 *              output (stdout, or FILE created or truncated); used
 *              length 0.
 *   receiveq   the guest's buffers for input: there is no input, so they
 *              stay in the ring, untouched, until a reset.
 *
 * A transmit chain with a device-writable buffer breaks the queue (the
 * spec's driver requirement): DEVICE_NEEDS_RESET.  An output that fails
 * (a closed pipe, a full disk) is reported once; later output is dropped.
 * The I/O thread writes with dev->lock held: a guest waiting for a slow
 * stdout waits only for this device (Linux's hvc driver spins on the
 * transmit queue until its buffer is used).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "virtio.h"

#define VCONS_RX		0	/* receiveq(port0) */
#define VCONS_TX		1	/* transmitq(port0) */
#define VCONS_QUEUE_SIZE	VIRTQ_MAX_SIZE

struct vcons {
	int fd;				/* the output */
	bool own_fd;			/* FILE, opened here */
	bool failed;			/* a write failed: drop the rest */
	struct virtio_console_config config;
	struct virtq_chain chain;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/* All of iov to fd, through short writes; 0 or -1. */
static int write_all(int fd, struct iovec *iov, int n)
{
	ssize_t r;

	while (n > 0) {
		if (!iov->iov_len) {
			iov++;
			n--;
			continue;
		}
		r = writev(fd, iov, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (unsigned char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static int vcons__tx(struct vcons *cn, struct virtq *vq)
{
	struct virtq_chain *c = &cn->chain;
	int r, n;

	while ((r = virtq__pop(vq, c)) > 0) {
		if (c->nr_wr) {
			virtq__fail(vq, "transmit chain at %u: a device-writable buffer",
				    c->head);
			return -EIO;
		}
		/* the readable segments are the chain's first: copy the list */
		n = (int)c->nr_rd;
		memcpy(cn->iov, c->iov, n * sizeof(cn->iov[0]));
		if (!cn->failed && write_all(cn->fd, cn->iov, n)) {
			cn->failed = true;
			fprintf(stderr, "khyp: virtio-console: %s; its output is dropped from now on\n",
				strerror(errno));
		}
		virtq__push(vq, c->head, 0);
	}
	return r < 0 ? -EIO : 0;
}

static int vcons__process(struct virtio_dev *dev, unsigned int q)
{
	if (q == VCONS_TX)
		return vcons__tx(dev->priv, &dev->vqs[q]);
	return 1;	/* receiveq: no input; the buffers wait */
}

static const struct virtio_type vcons_type = {
	.name = "virtio-console",
	.id = VIRTIO_ID_CONSOLE,
	.process = vcons__process,
};

int vcons__init_fd(struct virtio_dev *dev, int fd, struct guest_mem *gm,
		   char *err, size_t errlen)
{
	struct vcons *cn = calloc(1, sizeof(*cn));

	if (!cn) {
		snprintf(err, errlen, "--console: out of memory");
		return -1;
	}
	cn->fd = fd;
	memset(dev, 0, sizeof(*dev));
	dev->type = &vcons_type;
	dev->priv = cn;
	dev->gm = gm;
	snprintf(dev->name, sizeof(dev->name), "virtio-console");
	dev->host_features = 1ULL << VIRTIO_F_VERSION_1 |
			     1ULL << VIRTIO_RING_F_INDIRECT_DESC |
			     1ULL << VIRTIO_RING_F_EVENT_IDX;
	dev->config = (unsigned char *)&cn->config;
	dev->config_len = sizeof(cn->config);
	dev->nr_queues = 2;
	dev->queue_max = VCONS_QUEUE_SIZE;
	if (virtio__init(dev, err, errlen)) {
		free(cn);
		dev->priv = NULL;
		return -1;
	}
	return 0;
}

int vcons__init(struct virtio_dev *dev, const char *path,
		struct guest_mem *gm, char *err, size_t errlen)
{
	int fd = STDOUT_FILENO;

	if (path) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			snprintf(err, errlen, "--console %s: %s", path,
				 strerror(errno));
			return -1;
		}
	}
	if (vcons__init_fd(dev, fd, gm, err, errlen)) {
		if (path)
			close(fd);
		return -1;
	}
	((struct vcons *)dev->priv)->own_fd = path != NULL;
	return 0;
}

void vcons__exit(struct virtio_dev *dev)
{
	struct vcons *cn = dev->priv;

	virtio__exit(dev);
	if (!cn)
		return;
	if (cn->own_fd)
		close(cn->fd);
	free(cn);
	dev->priv = NULL;
}
