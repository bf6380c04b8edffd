/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The split virtqueue (virtio 1.2, section 2.7) over guest RAM: the one
 * queue walker every virtio device of the launcher uses, and the one place
 * where what a guest driver put into a ring is checked.
 *
 * The driver lays out three areas in guest RAM and tells the transport
 * (devices/virtio/pci.c) where they are: the descriptor table (16 bytes a
 * descriptor), the available ring (the driver's: heads of chains it
 * offers) and the used ring (the device's: heads it has finished, with
 * the bytes written).  virtq__pop() takes the next available chain and
 * turns it into segments, host pointers into guest RAM, readable ones
 * first; virtq__push() hands a chain back; virtq__need_irq() says whether
 * the driver wants an interrupt for what was pushed (VRING_AVAIL_F_NO_
 * INTERRUPT, or the used_event index with VIRTIO_RING_F_EVENT_IDX).
 *
 * A guest is not trusted.  Every address is checked against guest RAM
 * (with overflow care) before it is read, a chain may not hold more
 * descriptors than the queue has (so a loop of NEXT links ends), an
 * indirect table is a whole number of descriptors inside RAM and holds no
 * further indirect descriptor, readable descriptors come before writable
 * ones, and the driver may not offer more chains than the queue holds.  A
 * ring that breaks a rule makes virtq__pop() return -EIO and marks the
 * queue broken: the device then sets DEVICE_NEEDS_RESET (the spec's
 * section 2.1.2) and touches the queue no more until the driver resets
 * it.  The first such error of a queue is logged, once, on stderr.
 *
 * Memory ordering: the driver runs on other CPUs (the vCPUs), so the
 * available index is read with acquire semantics before the ring entries
 * it covers, the used index is published with release semantics after
 * the used element, and a full fence separates a write of ours from a
 * read of the driver's where both sides must see each other (the
 * suppression checks).
 *
 * Locking: none here.  A queue is used by one thread at a time; the
 * device that owns it says which lock (devices/virtio/virtio.h).
 */
#ifndef KHYP_VIRTQUEUE_H
#define KHYP_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../../boot/loader.h"

/* The largest queue the launcher offers (a power of 2, spec: <= 32768). */
#define VIRTQ_MAX_SIZE		256

/* One buffer of a chain: guest RAM at host address iov_base. */
struct virtq_chain {
	uint16_t head;			/* the chain's id in the used ring */
	unsigned int nr_rd;		/* device-readable segments, first */
	unsigned int nr_wr;		/* device-writable ones, after them */
	uint64_t rd_len, wr_len;	/* bytes readable, bytes writable */
	struct iovec iov[VIRTQ_MAX_SIZE];
};

struct virtq {
	/* the driver's configuration through the transport */
	uint16_t size;			/* entries, a power of 2 */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;			/* VIRTIO_RING_F_INDIRECT_DESC */
	/* set by virtq__start() */
	struct guest_mem *gm;
	unsigned char *desc, *avail, *used;	/* host addresses */
	bool started;
	bool broken;			/* a rule was broken: needs a reset */
	const char *name;		/* for the one message: "virtio-blk 0 q0" */
	/* the device's place in the rings */
	uint16_t last_avail;		/* next available entry to take */
	uint16_t used_idx;		/* next used entry to fill */
	uint16_t signalled_used;	/* used_idx at the last interrupt check */
	bool signalled_valid;		/* signalled_used means something */
};

/*
 * Back to the state after a device reset: not started, nothing
 * negotiated, the addresses 0.  The name stays.
 */
void virtq__reset(struct virtq *vq);
/*
 * The driver enabled the queue (queue_enable = 1): check that the three
 * areas of vq->size entries are aligned and inside gm.  0, or -EINVAL
 * with the queue broken (and the message logged).
 */
int virtq__start(struct virtq *vq, struct guest_mem *gm);
/* Does the driver offer a chain?  (false for a queue not started or broken) */
bool virtq__has_avail(struct virtq *vq);
/*
 * The next available chain into *c: 1, 0 if none is available, or -EIO
 * if the ring or the chain breaks a rule (the queue is broken from then
 * on; the chain is not consumed).
 */
int virtq__pop(struct virtq *vq, struct virtq_chain *c);
/* Chain head is done, with len bytes written into its writable part. */
void virtq__push(struct virtq *vq, uint16_t head, uint32_t len);
/*
 * After pushing: does the driver want an interrupt now?  Each push is
 * seen by one call at most (a batch of pushes, then one call).
 */
bool virtq__need_irq(struct virtq *vq);
/*
 * Before the device waits for the next notification: with event_idx,
 * ask for it at the next entry (avail_event).  Returns true if a chain
 * arrived meanwhile, so the caller goes on instead of waiting.
 */
bool virtq__arm_notify(struct virtq *vq);

/*
 * Copy len bytes at offset off of a chain's readable part into buf, or
 * of buf into its writable part at offset off: the bytes copied.
 */
size_t virtq__copy_from(const struct virtq_chain *c, uint64_t off, void *buf,
			size_t len);
size_t virtq__copy_to(const struct virtq_chain *c, uint64_t off,
		      const void *buf, size_t len);
/*
 * The part [off, off + len) of the chain's readable (wr == false) or
 * writable (wr == true) segments as iovecs into iov (at most max): the
 * number of iovecs, or -1 if the range is not all there or max too small.
 */
int virtq__slice(const struct virtq_chain *c, bool wr, uint64_t off,
		 uint64_t len, struct iovec *iov, int max);

/*
 * The queue broke a rule (a device's own check of a chain, too): it is
 * broken from now on and the first error is logged, with the queue's name.
 */
void virtq__fail(struct virtq *vq, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Guest RAM [gpa, gpa + len) as a host pointer, or NULL if not all RAM. */
void *guest_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

#endif /* KHYP_VIRTQUEUE_H */
