/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A virtio 1.x device of the launcher, between its transport and its
 * type (virtio 1.2, sections 2 and 3):
 *
 *   pci.c         the modern virtio-pci transport: the registers a driver
 *                 reads and writes, MSI-X; it calls virtio__* below
 *   virtio.c      what every device has: the status byte and its state
 *                 machine, feature negotiation, reset, the queues, and
 *                 the I/O thread that processes them off the vCPUs
 *   blk.c         one device type: what a chain means (virtio-blk)
 *   virtqueue.c   one split queue, every guest-written byte checked
 *
 * A request travels: the driver writes the queue's notify register, a
 * vCPU exits to pci.c, which only writes the device's eventfd
 * (virtio__kick); the device's I/O thread wakes, takes dev->lock, lets
 * the type process the queue (blk.c: preadv/pwritev on the image, the
 * used ring), and raises the queue's MSI-X vector through the transport
 * if the driver wants an interrupt.  The vCPU never waits for the disk.
 *
 * Locking: dev->lock (a mutex) protects everything below marked (l): the
 * status, the features, the queues' configuration and rings.  The vCPU
 * threads take it (under the machine's m->lock, run.c) for a register
 * access of the transport; the I/O thread takes it (alone) while it
 * processes the queues.  So a reset (status 0) waits for a batch of
 * requests in progress to end, and the driver reads back 0 only after
 * it.  The order is m->lock, then dev->lock; the I/O thread never takes
 * m->lock.  The kick (eventfd write) takes no lock.
 */
#ifndef KHYP_VIRTIO_H
#define KHYP_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtqueue.h"

#define VIRTIO_MAX_QUEUES	4

struct virtio_dev;

/* What a device type provides (blk.c). */
struct virtio_type {
	const char *name;		/* "virtio-blk" */
	uint16_t id;			/* VIRTIO_ID_BLOCK */
	/*
	 * Process queue q until it is empty (I/O thread, dev->lock held):
	 * pop, handle, push.  0, or -EIO: the queue broke a rule.
	 */
	int (*process)(struct virtio_dev *dev, unsigned int q);
	/* The driver wrote the device config (dev->lock held); may be NULL. */
	void (*config_write)(struct virtio_dev *dev, unsigned int off,
			     const void *buf, unsigned int len);
};

/* What the transport provides (pci.c): raise an interrupt. */
struct virtio_transport {
	void (*irq_queue)(struct virtio_dev *dev, unsigned int q);
	void (*irq_config)(struct virtio_dev *dev);
	void *opaque;
};

struct virtio_dev {
	const struct virtio_type *type;		/* (c) constant after init */
	struct virtio_transport transport;	/* (c) */
	void *priv;				/* (c) the type's state */
	struct guest_mem *gm;			/* (c) */
	char name[32];				/* (c) "virtio-blk 0" */
	uint64_t host_features;			/* (c) offered */
	unsigned char *config;			/* (c) device config, LE */
	unsigned int config_len;		/* (c) */
	unsigned int nr_queues;			/* (c) */
	uint16_t queue_max;			/* (c) largest queue size */

	pthread_mutex_t lock;
	uint8_t status;				/* (l) VIRTIO_CONFIG_S_* */
	uint64_t driver_features;		/* (l) written by the driver */
	struct virtq vqs[VIRTIO_MAX_QUEUES];	/* (l) */
	uint8_t config_generation;		/* (l) */

	/* the I/O thread */
	int efd;				/* (c) eventfd: kicks */
	pthread_t thread;
	bool thread_started;
	bool stop;				/* (l) */
	unsigned int kicked_queues;		/* (a) bit q: q was notified */
};

/*
 * Set up dev (its type, name, features, config, queue count filled in by
 * the caller): the lock and the eventfd.  0 or -1 with a message.
 */
int virtio__init(struct virtio_dev *dev, char *err, size_t errlen);
/*
 * Start the I/O thread (after the transport is set; again after
 * virtio__stop): 0 or -1.
 */
int virtio__start(struct virtio_dev *dev, char *err, size_t errlen);
/* Stop and join the I/O thread (idempotent); the device stays. */
void virtio__stop(struct virtio_dev *dev);
/* virtio__stop, then close the eventfd. */
void virtio__exit(struct virtio_dev *dev);

/*
 * The transport's register accesses, with dev->lock held by the caller
 * (virtio__lock/unlock).
 */
void virtio__lock(struct virtio_dev *dev);
void virtio__unlock(struct virtio_dev *dev);
/* A write of the status byte: 0 resets; FEATURES_OK only if acceptable. */
void virtio__set_status(struct virtio_dev *dev, uint8_t status);
/* Back to the state after power-on: status 0, no features, no queues. */
void virtio__reset(struct virtio_dev *dev);
/* queue_enable = 1: start queue q (a bad ring sets NEEDS_RESET). */
void virtio__enable_queue(struct virtio_dev *dev, unsigned int q);
/* The device broke (a queue's rule): DEVICE_NEEDS_RESET, config irq. */
void virtio__needs_reset(struct virtio_dev *dev);

/* The driver notified queue q (any thread, no lock): wake the I/O thread. */
void virtio__kick(struct virtio_dev *dev, unsigned int q);

/*
 * One pass of the I/O thread over the kicked queues (dev->lock held), for
 * the thread and for tests: process them, raise their interrupts.
 */
void virtio__process(struct virtio_dev *dev);

/* ---- blk.c: virtio-blk ---- */

/*
 * A virtio-blk device on the raw image at path (read-only if ro): opens
 * the file, fills dev (type, features, config); index names it.  0, or -1
 * with a message in err.
 */
int vblk__init(struct virtio_dev *dev, const char *path, bool ro,
	       unsigned int index, struct guest_mem *gm,
	       char *err, size_t errlen);
void vblk__exit(struct virtio_dev *dev);

#endif /* KHYP_VIRTIO_H */
