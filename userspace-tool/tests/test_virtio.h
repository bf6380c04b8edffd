/* SPDX-License-Identifier: GPL-2.0 */
/* Rings in the fake guest RAM, for test_virtq.c and test_virtio_blk.c. */
#ifndef KHYP_TEST_VIRTIO_H
#define KHYP_TEST_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "test.h"
#include "../devices/virtio/virtio.h"

/* where the tests put a queue of up to VIRTQ_MAX_SIZE entries */
#define TV_DESC		0x10000
#define TV_AVAIL	0x20000
#define TV_USED		0x30000
#define TV_RINGS_END	0x40000

/* Descriptor i of the queue's table, or of the table at guest address. */
void tv_desc(struct tctx *t, unsigned int i, uint64_t addr, uint32_t len,
	     uint16_t flags, uint16_t next);
void tv_desc_at(struct tctx *t, uint64_t table, unsigned int i, uint64_t addr,
		uint32_t len, uint16_t flags, uint16_t next);
/* The driver offers the chain at head (available ring, then its index). */
void tv_offer(struct tctx *t, uint16_t size, uint16_t head);
uint16_t tv_le16(struct tctx *t, uint64_t gpa);
void tv_put16(struct tctx *t, uint64_t gpa, uint16_t v);
/* Used element i. */
void tv_used(struct tctx *t, unsigned int i, uint32_t *id, uint32_t *len);
void tv_rings_clear(struct tctx *t);

/*
 * Devices of more than one queue (test_virtio_net.c, _balloon.c): queue q's rings at
 * tq[q], QSIZE entries; tq[0] is the TV_* queue above.
 */
#define TQ_SIZE		16
#define TQ_MAX		4

struct tq {
	uint64_t desc, avail, used;
};

extern const struct tq tq[TQ_MAX];

void tq_desc(struct tctx *t, unsigned int q, unsigned int i, uint64_t addr,
	     uint32_t len, uint16_t flags, uint16_t next);
void tq_offer(struct tctx *t, unsigned int q, uint16_t head);
uint16_t tq_used_idx(struct tctx *t, unsigned int q);
/* Used element i of queue q. */
void tq_used(struct tctx *t, unsigned int q, unsigned int i, uint32_t *id,
	     uint32_t *len);
/* avail_event of queue q (EVENT_IDX): where the device wants a kick */
uint16_t tq_avail_event(struct tctx *t, unsigned int q);
/*
 * dev, set up by its type's init, as a driver leaves it: the features
 * asked for that it offers, its queues at tq[], DRIVER_OK; transport
 * hooks counting interrupts into *irqs and *config_irqs.  0 or -1.
 */
int tq_dev_up(struct tctx *t, struct virtio_dev *dev, uint64_t features,
	      unsigned int *irqs, unsigned int *config_irqs);
/* Kick queue q and process it, as the I/O thread would. */
void tq_run(struct virtio_dev *dev, unsigned int q);

struct bus;
/*
 * An access through the bus registry as a vCPU's would go (the
 * transport's tests): what it read, 0xdead where no device claims it.
 */
uint64_t tv_bus_rw(struct bus *b, bool write, uint64_t addr,
		   unsigned int size, uint64_t data);
/* Interrupt hooks of a machine that drop what they are given. */
int tv_no_line(void *opaque, unsigned int gsi, int level);
int tv_no_msi(void *opaque, uint64_t addr, uint32_t data);

#endif /* KHYP_TEST_VIRTIO_H */
