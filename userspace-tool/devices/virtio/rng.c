// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng, the entropy device (virtio 1.2, 5.4): `--rng`.  Linux's
 * virtio_rng registers it as a hw_random source (/dev/hwrng, and the
 * kernel's entropy pool through the hwrng thread).
 *
 * One queue, requestq; no features, no configuration.  A request is a
 * chain of device-writable buffers, filled with bytes from the host's
 * getrandom() (the kernel's CSPRNG, so never blocking once the host's
 * pool is ready): at most VRNG_MAX bytes a request, the used length saying
 * how many (the spec lets the device use less than the whole buffer).
 * A chain with a device-readable buffer breaks the queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "virtio.h"

#define VRNG_QUEUE_SIZE		VIRTQ_MAX_SIZE
/* Bytes a request at most: Linux asks for 64 at a time. */
#define VRNG_MAX		4096

struct vrng {
	struct virtq_chain chain;
	unsigned char buf[VRNG_MAX];
};

/* Up to VRNG_MAX random bytes into the writable part: how many. */
static uint32_t vrng__fill(struct vrng *g, const struct virtq_chain *c)
{
	size_t want = c->wr_len < VRNG_MAX ? (size_t)c->wr_len : VRNG_MAX;
	size_t got = 0;
	ssize_t r;

	while (got < want) {
		r = getrandom(g->buf + got, want - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return (uint32_t)virtq__copy_to(c, 0, g->buf, got);
}

static int vrng__process(struct virtio_dev *dev, unsigned int q)
{
	struct vrng *g = dev->priv;
	struct virtq *vq = &dev->vqs[q];
	int r;

	while ((r = virtq__pop(vq, &g->chain)) > 0) {
		if (g->chain.nr_rd) {
			virtq__fail(vq, "request at %u: a device-readable buffer",
				    g->chain.head);
			return -EIO;
		}
		virtq__push(vq, g->chain.head, vrng__fill(g, &g->chain));
	}
	return r < 0 ? -EIO : 0;
}

static const struct virtio_type vrng_type = {
	.name = "virtio-rng",
	.id = VIRTIO_ID_RNG,
	.process = vrng__process,
};

int vrng__init(struct virtio_dev *dev, struct guest_mem *gm,
	       char *err, size_t errlen)
{
	struct vrng *g = calloc(1, sizeof(*g));

	if (!g) {
		snprintf(err, errlen, "--rng: out of memory");
		return -1;
	}
	memset(dev, 0, sizeof(*dev));
	dev->type = &vrng_type;
	dev->priv = g;
	dev->gm = gm;
	snprintf(dev->name, sizeof(dev->name), "virtio-rng");
	dev->host_features = 1ULL << VIRTIO_F_VERSION_1 |
			     1ULL << VIRTIO_RING_F_INDIRECT_DESC |
			     1ULL << VIRTIO_RING_F_EVENT_IDX;
	dev->nr_queues = 1;
	dev->queue_max = VRNG_QUEUE_SIZE;
	if (virtio__init(dev, err, errlen)) {
		free(g);
		dev->priv = NULL;
		return -1;
	}
	return 0;
}

void vrng__exit(struct virtio_dev *dev)
{
	virtio__exit(dev);
	free(dev->priv);
	dev->priv = NULL;
}
