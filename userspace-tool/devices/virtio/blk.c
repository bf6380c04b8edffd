// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (virtio 1.2, 5.2) on a raw image file: `--disk FILE[,ro]`.
 *
 * One request queue.  A request is a chain: a 16-byte header the device
 * reads (type, reserved, sector), the data (read for OUT, written for
 * IN), and a status byte the device writes last.  The spec lets a driver
 * cut these into descriptors any way it likes, so the header and the data
 * are taken from the chain by offset, never by descriptor.  Requests:
 *
 *   IN      preadv of the image into the writable segments
 *   OUT     pwritev from the readable ones; IOERR on a read-only disk
 *   FLUSH   fdatasync of the image: what the guest synced is in the file
 *   GET_ID  the device's serial, 20 bytes, "khyp-disk<N>"
 *   others  UNSUPP
 *
 * Sizes are in 512-byte sectors whatever blk_size says; a transfer that is
 * not a whole number of sectors, or ends past the capacity (the file's size
 * rounded down to a sector), fails with IOERR.  A chain with no writable
 * byte for the status cannot even be failed: the queue is broken.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "virtio.h"

#define SECTOR_SIZE		512
#define VBLK_QUEUE_SIZE		VIRTQ_MAX_SIZE
#define VBLK_HDR_SIZE		16

struct vblk {
	int fd;
	bool ro;
	uint64_t capacity;			/* 512-byte sectors */
	char id[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config config;
	struct virtq_chain chain;		/* the request in progress */
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/* All of iov at offset off, through short transfers; 0 or -1. */
static int vblk__rw(int fd, struct iovec *iov, int n, uint64_t off, bool wr)
{
	ssize_t r;

	while (n > 0) {
		r = wr ? pwritev(fd, iov, n, (off_t)off) :
			 preadv(fd, iov, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;	/* an error, or the file shrank */
		off += (uint64_t)r;
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

/*
 * IN or OUT of len bytes at sector: a status.  The file I/O runs without
 * dev->lock (virtio__io_begin): only b's chain and iov, which are the I/O
 * thread's own, and the guest's buffers are touched meanwhile.
 */
static uint8_t vblk__transfer(struct virtio_dev *dev,
			      const struct virtq_chain *c, bool wr,
			      uint64_t sector, uint64_t data_off, uint64_t len)
{
	struct vblk *b = dev->priv;
	int n, r;

	if (len % SECTOR_SIZE || sector > b->capacity ||
	    len / SECTOR_SIZE > b->capacity - sector)
		return VIRTIO_BLK_S_IOERR;
	if (!len)
		return VIRTIO_BLK_S_OK;
	/* OUT: the data is readable (after the header); IN: writable */
	n = virtq__slice(c, !wr, data_off, len, b->iov, VIRTQ_MAX_SIZE);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	virtio__io_begin(dev);
	r = vblk__rw(b->fd, b->iov, n, sector * SECTOR_SIZE, wr);
	virtio__io_end(dev);
	return r ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* FLUSH: what was written reaches the file's storage. */
static uint8_t vblk__flush(struct virtio_dev *dev)
{
	struct vblk *b = dev->priv;
	int r;

	virtio__io_begin(dev);
	r = fdatasync(b->fd);
	virtio__io_end(dev);
	return r ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/*
 * One request: its status written, the bytes written into the chain in
 * *used (the status byte, and the data only if it was read in whole).
 * -EIO if the chain has no room for a status byte.
 */
static int vblk__request(struct virtio_dev *dev, struct virtq *vq,
			 const struct virtq_chain *c, uint32_t *used)
{
	struct vblk *b = dev->priv;
	struct virtio_blk_outhdr hdr;
	uint64_t data_len = 0, sector;
	uint8_t status;
	size_t n;

	if (!c->wr_len) {
		virtq__fail(vq, "request at %u: no writable status byte",
			    c->head);
		return -EIO;
	}
	*used = 1;
	if (virtq__copy_from(c, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
		status = VIRTIO_BLK_S_IOERR;
		goto done;
	}
	sector = le64toh(hdr.sector);
	switch (le32toh(hdr.type)) {
	case VIRTIO_BLK_T_IN:
		data_len = c->wr_len - 1;
		status = vblk__transfer(dev, c, false, sector, 0, data_len);
		if (status == VIRTIO_BLK_S_OK)
			*used = (uint32_t)(data_len + 1 > UINT32_MAX ?
					   UINT32_MAX : data_len + 1);
		break;
	case VIRTIO_BLK_T_OUT:
		if (b->ro) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		data_len = c->rd_len - VBLK_HDR_SIZE;
		status = vblk__transfer(dev, c, true, sector, VBLK_HDR_SIZE,
					data_len);
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = vblk__flush(dev);
		break;
	case VIRTIO_BLK_T_GET_ID:
		n = c->wr_len - 1 < sizeof(b->id) ? c->wr_len - 1 :
						    sizeof(b->id);
		virtq__copy_to(c, 0, b->id, n);
		*used = (uint32_t)n + 1;
		status = VIRTIO_BLK_S_OK;
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
done:
	virtq__copy_to(c, c->wr_len - 1, &status, 1);
	return 0;
}

static int vblk__process(struct virtio_dev *dev, unsigned int q)
{
	struct vblk *b = dev->priv;
	struct virtq *vq = &dev->vqs[q];
	uint32_t used;
	int r;

	while ((r = virtq__pop(vq, &b->chain)) > 0) {
		if (vblk__request(dev, vq, &b->chain, &used))
			return -EIO;
		virtq__push(vq, b->chain.head, used);
	}
	return r < 0 ? -EIO : 0;
}

static const struct virtio_type vblk_type = {
	.name = "virtio-blk",
	.id = VIRTIO_ID_BLOCK,
	.process = vblk__process,
};

int vblk__init(struct virtio_dev *dev, const char *path, bool ro,
	       unsigned int index, struct guest_mem *gm,
	       char *err, size_t errlen)
{
	struct vblk *b;
	off_t size;

	b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	b->ro = ro;
	b->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		snprintf(err, errlen, "--disk %s: %s", path, strerror(errno));
		goto free;
	}
	size = lseek(b->fd, 0, SEEK_END);
	if (size < 0) {
		snprintf(err, errlen, "--disk %s: %s", path, strerror(errno));
		goto close;
	}
	b->capacity = (uint64_t)size / SECTOR_SIZE;
	snprintf(b->id, sizeof(b->id), "khyp-disk%u", index);
	b->config.capacity = htole64(b->capacity);
	b->config.seg_max = htole32(VBLK_QUEUE_SIZE - 2);
	b->config.blk_size = htole32(SECTOR_SIZE);

	memset(dev, 0, sizeof(*dev));
	dev->type = &vblk_type;
	dev->priv = b;
	dev->gm = gm;
	snprintf(dev->name, sizeof(dev->name), "virtio-blk %u", index);
	dev->host_features = 1ULL << VIRTIO_F_VERSION_1 |
			     1ULL << VIRTIO_RING_F_INDIRECT_DESC |
			     1ULL << VIRTIO_RING_F_EVENT_IDX |
			     1ULL << VIRTIO_BLK_F_SEG_MAX |
			     1ULL << VIRTIO_BLK_F_BLK_SIZE |
			     1ULL << VIRTIO_BLK_F_FLUSH |
			     (ro ? 1ULL << VIRTIO_BLK_F_RO : 0);
	dev->config = (unsigned char *)&b->config;
	dev->config_len = sizeof(b->config);
	dev->nr_queues = 1;
	dev->queue_max = VBLK_QUEUE_SIZE;
	if (virtio__init(dev, err, errlen))
		goto close;
	return 0;
close:
	close(b->fd);
free:
	free(b);
	dev->priv = NULL;
	return -1;
}

void vblk__exit(struct virtio_dev *dev)
{
	struct vblk *b = dev->priv;

	virtio__exit(dev);
	if (!b)
		return;
	close(b->fd);
	free(b);
	dev->priv = NULL;
}
