// SPDX-License-Identifier: GPL-2.0
/*
 * The split virtqueue: the walk of a descriptor chain with every check a
 * guest's ring needs, the used ring, and interrupt and notification
 * suppression (virtqueue.h says what is checked and why).
 *
 * The layout, in guest RAM, little-endian (virtio 1.2, 2.7):
 *   descriptor table  size * 16 bytes, 16-aligned: addr, len, flags, next
 *   available ring    flags, idx, ring[size], used_event   (2-aligned)
 *   used ring         flags, idx, ring[size] {id, len}, avail_event
 *                                                          (4-aligned)
 * used_event and avail_event exist with VIRTIO_RING_F_EVENT_IDX only.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "virtqueue.h"

void *guest_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	return guest_mem__ptr(gm, gpa, len);	/* RAM below and above 4 GiB */
}

void virtq__fail(struct virtq *vq, const char *fmt, ...)
{
	va_list ap;

	if (vq->broken)
		return;
	vq->broken = true;
	fprintf(stderr, "khyp: %s: ", vq->name ? vq->name : "virtqueue");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; the device needs a reset\n");
}

void virtq__reset(struct virtq *vq)
{
	const char *name = vq->name;

	memset(vq, 0, sizeof(*vq));
	vq->name = name;
}

static uint64_t avail_bytes(const struct virtq *vq)
{
	return 4 + 2ULL * vq->size + (vq->event_idx ? 2 : 0);
}

static uint64_t used_bytes(const struct virtq *vq)
{
	return 4 + 8ULL * vq->size + (vq->event_idx ? 2 : 0);
}

int virtq__start(struct virtq *vq, struct guest_mem *gm)
{
	vq->gm = gm;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	if (!vq->size || vq->size > VIRTQ_MAX_SIZE ||
	    (vq->size & (vq->size - 1))) {
		virtq__fail(vq, "queue size %u is not a power of 2 up to %u",
			    vq->size, VIRTQ_MAX_SIZE);
		return -EINVAL;
	}
	if ((vq->desc_gpa & (VRING_DESC_ALIGN_SIZE - 1)) ||
	    (vq->avail_gpa & (VRING_AVAIL_ALIGN_SIZE - 1)) ||
	    (vq->used_gpa & (VRING_USED_ALIGN_SIZE - 1))) {
		virtq__fail(vq, "misaligned rings (desc 0x%llx avail 0x%llx used 0x%llx)",
			    (unsigned long long)vq->desc_gpa,
			    (unsigned long long)vq->avail_gpa,
			    (unsigned long long)vq->used_gpa);
		return -EINVAL;
	}
	vq->desc = guest_ptr(gm, vq->desc_gpa, 16ULL * vq->size);
	vq->avail = guest_ptr(gm, vq->avail_gpa, avail_bytes(vq));
	vq->used = guest_ptr(gm, vq->used_gpa, used_bytes(vq));
	if (!vq->desc || !vq->avail || !vq->used) {
		virtq__fail(vq, "rings outside guest RAM (desc 0x%llx avail 0x%llx used 0x%llx, %u entries)",
			    (unsigned long long)vq->desc_gpa,
			    (unsigned long long)vq->avail_gpa,
			    (unsigned long long)vq->used_gpa, vq->size);
		return -EINVAL;
	}
	vq->started = true;
	return 0;
}

/* The driver's available index (acquire: the entries it covers follow). */
static uint16_t avail_idx(const struct virtq *vq)
{
	return le16toh(__atomic_load_n((uint16_t *)(vq->avail + 2),
				       __ATOMIC_ACQUIRE));
}

bool virtq__has_avail(struct virtq *vq)
{
	if (!vq->started || vq->broken)
		return false;
	return avail_idx(vq) != vq->last_avail;
}

/* A descriptor as it was when read: the guest may change it meanwhile. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static void desc_read(const unsigned char *table, unsigned int i,
		      struct desc *d)
{
	struct vring_desc raw;

	memcpy(&raw, table + 16ULL * i, sizeof(raw));
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
}

/*
 * Walk the chain at head into c.  Each table (the queue's, then at most
 * one indirect table) is walked at most as many steps as it has entries,
 * so a loop of NEXT links ends in an error; the segments of the whole
 * chain are at most the queue's size (the spec's limit on a chain).
 */
static int virtq__walk(struct virtq *vq, uint16_t head, struct virtq_chain *c)
{
	const unsigned char *table = vq->desc;
	unsigned int tsize = vq->size, steps = 0, i = head;
	bool indirect = false;
	struct desc d;
	void *p;

	c->head = head;
	c->nr_rd = c->nr_wr = 0;
	c->rd_len = c->wr_len = 0;
	for (;;) {
		if (++steps > tsize) {
			virtq__fail(vq, "chain at %u: a loop (more than %u descriptors)",
				    head, tsize);
			return -EIO;
		}
		desc_read(table, i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect || indirect ||
			    (d.flags & VRING_DESC_F_NEXT)) {
				virtq__fail(vq, "chain at %u: %s", head,
					    !vq->indirect ? "indirect descriptor, not negotiated" :
					    indirect ? "indirect descriptor in an indirect table" :
					    "indirect descriptor with NEXT");
				return -EIO;
			}
			if (!d.len || d.len % 16 || d.len / 16 > vq->size) {
				virtq__fail(vq, "chain at %u: indirect table of %u bytes",
					    head, d.len);
				return -EIO;
			}
			table = guest_ptr(vq->gm, d.addr, d.len);
			if (!table) {
				virtq__fail(vq, "chain at %u: indirect table at 0x%llx+0x%x outside guest RAM",
					    head, (unsigned long long)d.addr,
					    d.len);
				return -EIO;
			}
			indirect = true;
			tsize = d.len / 16;
			steps = 0;
			i = 0;
			continue;
		}
		p = guest_ptr(vq->gm, d.addr, d.len);
		if (!p) {
			virtq__fail(vq, "chain at %u: buffer at 0x%llx+0x%x outside guest RAM",
				    head, (unsigned long long)d.addr, d.len);
			return -EIO;
		}
		if (c->nr_rd + c->nr_wr >= vq->size) {
			virtq__fail(vq, "chain at %u: more than %u buffers",
				    head, vq->size);
			return -EIO;
		}
		if (d.flags & VRING_DESC_F_WRITE) {
			c->nr_wr++;
			c->wr_len += d.len;
		} else if (c->nr_wr) {
			virtq__fail(vq, "chain at %u: a readable buffer after a writable one",
				    head);
			return -EIO;
		} else {
			c->nr_rd++;
			c->rd_len += d.len;
		}
		c->iov[c->nr_rd + c->nr_wr - 1].iov_base = p;
		c->iov[c->nr_rd + c->nr_wr - 1].iov_len = d.len;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= tsize) {
			virtq__fail(vq, "chain at %u: next %u past the table's %u entries",
				    head, i, tsize);
			return -EIO;
		}
	}
}

int virtq__pop(struct virtq *vq, struct virtq_chain *c)
{
	uint16_t idx, head, pending;

	if (vq->broken)
		return -EIO;
	if (!vq->started)
		return 0;
	idx = avail_idx(vq);
	pending = (uint16_t)(idx - vq->last_avail);
	if (!pending)
		return 0;
	if (pending > vq->size) {
		virtq__fail(vq, "available index %u is %u entries past the device's %u",
			    idx, pending, vq->last_avail);
		return -EIO;
	}
	memcpy(&head, vq->avail + 4 + 2 * (vq->last_avail & (vq->size - 1)),
	       sizeof(head));
	head = le16toh(head);
	if (head >= vq->size) {
		virtq__fail(vq, "available entry %u: head %u past the table's %u entries",
			    vq->last_avail, head, vq->size);
		return -EIO;
	}
	if (virtq__walk(vq, head, c))
		return -EIO;
	vq->last_avail++;
	return 1;
}

void virtq__push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem e = {
		.id = htole32(head),
		.len = htole32(len),
	};

	if (!vq->started || vq->broken)
		return;
	memcpy(vq->used + 4 + 8 * (vq->used_idx & (vq->size - 1)), &e,
	       sizeof(e));
	vq->used_idx++;
	/* the element before the index that hands it over (release) */
	__atomic_store_n((uint16_t *)(vq->used + 2), htole16(vq->used_idx),
			 __ATOMIC_RELEASE);
}

bool virtq__need_irq(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, ev, flags;
	bool valid = vq->signalled_valid;

	if (!vq->started || vq->broken)
		return false;
	/* our used index is visible before we read the driver's wishes */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	if (old == vq->used_idx)
		return false;		/* nothing pushed since the last call */
	if (!vq->event_idx) {
		memcpy(&flags, vq->avail, sizeof(flags));
		return !(le16toh(flags) & VRING_AVAIL_F_NO_INTERRUPT);
	}
	memcpy(&ev, vq->avail + 4 + 2 * vq->size, sizeof(ev));
	return !valid || vring_need_event(le16toh(ev), vq->used_idx, old);
}

bool virtq__arm_notify(struct virtq *vq)
{
	uint16_t ev = htole16(vq->last_avail);

	if (!vq->started || vq->broken)
		return false;
	if (vq->event_idx)
		__atomic_store_n((uint16_t *)(vq->used + 4 + 8 * vq->size), ev,
				 __ATOMIC_RELAXED);
	/* avail_event is visible before we look at the index again */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_idx(vq) != vq->last_avail;
}

/* Copy between buf and the readable or writable segments, from off. */
static size_t chain_copy(const struct virtq_chain *c, bool wr, uint64_t off,
			 unsigned char *buf, size_t len)
{
	unsigned int i = wr ? c->nr_rd : 0, end = wr ? c->nr_rd + c->nr_wr :
						       c->nr_rd;
	size_t done = 0, n;

	for (; i < end && done < len; i++) {
		if (off >= c->iov[i].iov_len) {
			off -= c->iov[i].iov_len;
			continue;
		}
		n = c->iov[i].iov_len - off;
		if (n > len - done)
			n = len - done;
		if (wr)
			memcpy((unsigned char *)c->iov[i].iov_base + off,
			       buf + done, n);
		else
			memcpy(buf + done,
			       (unsigned char *)c->iov[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq__copy_from(const struct virtq_chain *c, uint64_t off, void *buf,
			size_t len)
{
	return chain_copy(c, false, off, buf, len);
}

size_t virtq__copy_to(const struct virtq_chain *c, uint64_t off,
		      const void *buf, size_t len)
{
	return chain_copy(c, true, off, (unsigned char *)buf, len);
}

int virtq__slice(const struct virtq_chain *c, bool wr, uint64_t off,
		 uint64_t len, struct iovec *iov, int max)
{
	unsigned int i = wr ? c->nr_rd : 0, end = wr ? c->nr_rd + c->nr_wr :
						       c->nr_rd;
	uint64_t n;
	int nr = 0;

	for (; i < end && len; i++) {
		if (off >= c->iov[i].iov_len) {
			off -= c->iov[i].iov_len;
			continue;
		}
		if (nr == max)
			return -1;
		n = c->iov[i].iov_len - off;
		if (n > len)
			n = len;
		iov[nr].iov_base = (unsigned char *)c->iov[i].iov_base + off;
		iov[nr].iov_len = n;
		nr++;
		len -= n;
		off = 0;
	}
	return len ? -1 : nr;
}
