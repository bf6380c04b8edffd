// SPDX-License-Identifier: GPL-2.0
/*
 * The split virtqueue (devices/virtio/virtqueue.c) on rings built in the
 * fake guest RAM: chains, indirect tables, the used ring, interrupt and
 * notification suppression, and the malformed rings a guest could write
 * (loops, addresses outside RAM or wrapping, indexes past the table,
 * readable after writable, indirect tables in indirect tables, an
 * available index too far ahead), each of which must break the queue and
 * nothing else.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "test.h"
#include "test_virtio.h"
#include "../khyp.h"

void tv_desc(struct tctx *t, unsigned int i, uint64_t addr, uint32_t len,
	     uint16_t flags, uint16_t next)
{
	tv_desc_at(t, TV_DESC, i, addr, len, flags, next);
}

void tv_desc_at(struct tctx *t, uint64_t table, unsigned int i, uint64_t addr,
		uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = {
		.addr = htole64(addr), .len = htole32(len),
		.flags = htole16(flags), .next = htole16(next),
	};

	memcpy(t->gm.base + table + 16 * i, &d, sizeof(d));
}

void tv_offer(struct tctx *t, uint16_t size, uint16_t head)
{
	uint16_t idx, h = htole16(head);

	memcpy(&idx, t->gm.base + TV_AVAIL + 2, 2);
	idx = le16toh(idx);
	memcpy(t->gm.base + TV_AVAIL + 4 + 2 * (idx % size), &h, 2);
	idx = htole16(idx + 1);
	memcpy(t->gm.base + TV_AVAIL + 2, &idx, 2);
}

uint16_t tv_le16(struct tctx *t, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, t->gm.base + gpa, 2);
	return le16toh(v);
}

void tv_put16(struct tctx *t, uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(t->gm.base + gpa, &v, 2);
}

void tv_used(struct tctx *t, unsigned int i, uint32_t *id, uint32_t *len)
{
	struct vring_used_elem e;

	memcpy(&e, t->gm.base + TV_USED + 4 + 8 * i, sizeof(e));
	*id = le32toh(e.id);
	*len = le32toh(e.len);
}

void tv_rings_clear(struct tctx *t)
{
	memset(t->gm.base + TV_DESC, 0, TV_RINGS_END - TV_DESC);
}

static struct virtq vq;
static struct virtq_chain chain;

/* A started queue of size entries, no features. */
static int vq_setup(struct tctx *t, uint16_t size)
{
	tv_rings_clear(t);
	virtq__reset(&vq);
	vq.name = "test q";
	vq.size = size;
	vq.desc_gpa = TV_DESC;
	vq.avail_gpa = TV_AVAIL;
	vq.used_gpa = TV_USED;
	return virtq__start(&vq, &t->gm);
}

static bool iov_is(const struct iovec *v, struct tctx *t, uint64_t gpa,
		   size_t len)
{
	return v->iov_base == t->gm.base + gpa && v->iov_len == len;
}

static void virtq_chain_and_used(struct tctx *t)
{
	uint32_t id, len;

	EXPECT_OK(t, vq_setup(t, 16));
	CHECK(t, !virtq__has_avail(&vq));
	CHECK(t, virtq__pop(&vq, &chain) == 0);
	/* 5 -> 2 -> 9: two readable, one writable */
	tv_desc(t, 5, 0x100000, 16, VRING_DESC_F_NEXT, 2);
	tv_desc(t, 2, 0x101000, 512, VRING_DESC_F_NEXT, 9);
	tv_desc(t, 9, 0x102000, 1, VRING_DESC_F_WRITE, 0);
	tv_offer(t, 16, 5);
	CHECK(t, virtq__has_avail(&vq));
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	CHECK(t, chain.head == 5 && chain.nr_rd == 2 && chain.nr_wr == 1);
	CHECK(t, chain.rd_len == 528 && chain.wr_len == 1);
	CHECK(t, iov_is(&chain.iov[0], t, 0x100000, 16));
	CHECK(t, iov_is(&chain.iov[1], t, 0x101000, 512));
	CHECK(t, iov_is(&chain.iov[2], t, 0x102000, 1));
	CHECK(t, virtq__pop(&vq, &chain) == 0);
	/* the used ring: element, then index */
	virtq__push(&vq, 5, 1);
	CHECK(t, tv_le16(t, TV_USED + 2) == 1);
	tv_used(t, 0, &id, &len);
	CHECK(t, id == 5 && len == 1);
	/* the ring wraps: 17 more single-descriptor chains */
	for (id = 0; id < 17; id++) {
		tv_desc(t, 0, 0x100000, 8, 0, 0);
		tv_offer(t, 16, 0);
		CHECK(t, virtq__pop(&vq, &chain) == 1);
		virtq__push(&vq, 0, 0);
	}
	CHECK(t, tv_le16(t, TV_USED + 2) == 18);
	CHECK(t, !vq.broken);
}

static void virtq_copy_and_slice(struct tctx *t)
{
	unsigned char buf[8];
	struct iovec iov[4];

	EXPECT_OK(t, vq_setup(t, 8));
	tv_desc(t, 0, 0x100000, 3, VRING_DESC_F_NEXT, 1);
	tv_desc(t, 1, 0x100010, 5, VRING_DESC_F_NEXT, 2);
	tv_desc(t, 2, 0x100020, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	tv_desc(t, 3, 0x100030, 4, VRING_DESC_F_WRITE, 0);
	memcpy(t->gm.base + 0x100000, "abc", 3);
	memcpy(t->gm.base + 0x100010, "defgh", 5);
	tv_offer(t, 8, 0);
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	/* a read across the descriptors, and one past the end */
	CHECK(t, virtq__copy_from(&chain, 1, buf, 5) == 5);
	CHECK(t, !memcmp(buf, "bcdef", 5));
	CHECK(t, virtq__copy_from(&chain, 6, buf, 8) == 2);
	CHECK(t, virtq__copy_to(&chain, 2, "WXYZ", 4) == 4);
	CHECK(t, !memcmp(t->gm.base + 0x100022, "WX", 2));
	CHECK(t, !memcmp(t->gm.base + 0x100030, "YZ", 2));
	CHECK(t, virtq__slice(&chain, true, 3, 3, iov, 4) == 2);
	CHECK(t, iov_is(&iov[0], t, 0x100023, 1));
	CHECK(t, iov_is(&iov[1], t, 0x100030, 2));
	CHECK(t, virtq__slice(&chain, true, 3, 6, iov, 4) == -1);
	CHECK(t, virtq__slice(&chain, false, 0, 8, iov, 1) == -1);
}

/* A chain that must break the queue, with the queue untouched after. */
static bool pop_breaks(void)
{
	if (virtq__pop(&vq, &chain) != -EIO || !vq.broken)
		return false;
	/* broken stays broken; nothing reaches the used ring */
	return virtq__pop(&vq, &chain) == -EIO && !virtq__has_avail(&vq);
}

static void virtq_loop(struct tctx *t)
{
	EXPECT_OK(t, vq_setup(t, 8));
	tv_desc(t, 0, 0x100000, 8, VRING_DESC_F_NEXT, 1);
	tv_desc(t, 1, 0x100000, 8, VRING_DESC_F_NEXT, 0);
	tv_offer(t, 8, 0);
	CHECK(t, pop_breaks());
	CHECK(t, tv_le16(t, TV_USED + 2) == 0);
	/* a descriptor linked to itself */
	EXPECT_OK(t, vq_setup(t, 8));
	tv_desc(t, 3, 0x100000, 8, VRING_DESC_F_NEXT, 3);
	tv_offer(t, 8, 3);
	CHECK(t, pop_breaks());
}

static void virtq_outside_ram(struct tctx *t)
{
	/* the last byte of RAM is fine, one more is not */
	EXPECT_OK(t, vq_setup(t, 8));
	tv_desc(t, 0, GUEST_SIZE - 16, 16, 0, 0);
	tv_offer(t, 8, 0);
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	tv_desc(t, 0, GUEST_SIZE - 16, 17, 0, 0);
	tv_offer(t, 8, 0);
	CHECK(t, pop_breaks());
	/* an address that wraps around with its length */
	EXPECT_OK(t, vq_setup(t, 8));
	tv_desc(t, 0, ~0ULL - 3, 8, 0, 0);
	tv_offer(t, 8, 0);
	CHECK(t, pop_breaks());
	EXPECT_OK(t, vq_setup(t, 8));
	tv_desc(t, 0, GUEST_SIZE + 1, 0, 0, 0);
	tv_offer(t, 8, 0);
	CHECK(t, pop_breaks());
}

static void virtq_bad_indexes(struct tctx *t)
{
	/* a head past the table */
	EXPECT_OK(t, vq_setup(t, 8));
	tv_offer(t, 8, 8);
	CHECK(t, pop_breaks());
	/* a next past the table */
	EXPECT_OK(t, vq_setup(t, 8));
	tv_desc(t, 0, 0x100000, 8, VRING_DESC_F_NEXT, 8);
	tv_offer(t, 8, 0);
	CHECK(t, pop_breaks());
	/* an available index more than the queue's size ahead */
	EXPECT_OK(t, vq_setup(t, 8));
	tv_put16(t, TV_AVAIL + 2, 9);
	CHECK(t, pop_breaks());
	/* exactly the size ahead is fine */
	EXPECT_OK(t, vq_setup(t, 8));
	tv_put16(t, TV_AVAIL + 2, 8);
	CHECK(t, virtq__pop(&vq, &chain) == 1);
}

static void virtq_direction(struct tctx *t)
{
	EXPECT_OK(t, vq_setup(t, 8));
	tv_desc(t, 0, 0x100000, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	tv_desc(t, 1, 0x100000, 8, 0, 0);
	tv_offer(t, 8, 0);
	CHECK(t, pop_breaks());
}

static void virtq_indirect(struct tctx *t)
{
	const uint64_t tab = 0x200000;

	/* a table of three: readable, readable, writable */
	EXPECT_OK(t, vq_setup(t, 8));
	vq.indirect = true;
	tv_desc_at(t, tab, 0, 0x100000, 16, VRING_DESC_F_NEXT, 2);
	tv_desc_at(t, tab, 2, 0x101000, 4096, VRING_DESC_F_NEXT, 1);
	tv_desc_at(t, tab, 1, 0x102000, 1, VRING_DESC_F_WRITE, 0);
	tv_desc(t, 4, tab, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	tv_offer(t, 8, 4);
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	CHECK(t, chain.head == 4 && chain.nr_rd == 2 && chain.nr_wr == 1);
	CHECK(t, iov_is(&chain.iov[1], t, 0x101000, 4096));
	CHECK(t, iov_is(&chain.iov[2], t, 0x102000, 1));
	/* a direct descriptor, then the table */
	tv_desc(t, 1, 0x103000, 8, VRING_DESC_F_NEXT, 4);
	tv_offer(t, 8, 1);
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	CHECK(t, chain.nr_rd == 3 && chain.nr_wr == 1);
	CHECK(t, iov_is(&chain.iov[0], t, 0x103000, 8));
	/* not negotiated */
	EXPECT_OK(t, vq_setup(t, 8));
	tv_desc(t, 4, tab, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	tv_offer(t, 8, 4);
	CHECK(t, pop_breaks());
	/* INDIRECT with NEXT */
	EXPECT_OK(t, vq_setup(t, 8));
	vq.indirect = true;
	tv_desc(t, 4, tab, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT,
		5);
	tv_offer(t, 8, 4);
	CHECK(t, pop_breaks());
	/* a table in the table (a good one: only the nesting is wrong) */
	EXPECT_OK(t, vq_setup(t, 8));
	vq.indirect = true;
	tv_desc_at(t, tab + 0x1000, 0, 0x100000, 8, 0, 0);
	tv_desc_at(t, tab, 1, tab + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	tv_desc(t, 4, tab, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	tv_offer(t, 8, 4);
	CHECK(t, pop_breaks());
}

static void virtq_indirect_malformed(struct tctx *t)
{
	const uint64_t tab = 0x200000;
	static const struct { uint64_t addr; uint32_t len; } bad[] = {
		{ 0x200000, 0 },		/* empty */
		{ 0x200000, 24 },		/* not whole descriptors */
		{ 0x200000, 9 * 16 },		/* longer than the queue */
		{ GUEST_SIZE - 16, 32 },	/* past the end of RAM */
		{ ~0ULL - 15, 32 },		/* wraps */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_OK(t, vq_setup(t, 8));
		vq.indirect = true;
		tv_desc(t, 0, bad[i].addr, bad[i].len, VRING_DESC_F_INDIRECT,
			0);
		tv_offer(t, 8, 0);
		CHECK(t, pop_breaks());
	}
	/* a loop inside the table */
	EXPECT_OK(t, vq_setup(t, 8));
	vq.indirect = true;
	tv_desc_at(t, tab, 0, 0x100000, 8, VRING_DESC_F_NEXT, 1);
	tv_desc_at(t, tab, 1, 0x100000, 8, VRING_DESC_F_NEXT, 0);
	tv_desc(t, 0, tab, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	tv_offer(t, 8, 0);
	CHECK(t, pop_breaks());
	/* a next past the table's own entries */
	EXPECT_OK(t, vq_setup(t, 8));
	vq.indirect = true;
	tv_desc_at(t, tab, 0, 0x100000, 8, VRING_DESC_F_NEXT, 2);
	tv_desc(t, 0, tab, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	tv_offer(t, 8, 0);
	CHECK(t, pop_breaks());
	/* more buffers than the queue has entries: 4 direct, 8 indirect */
	EXPECT_OK(t, vq_setup(t, 8));
	vq.indirect = true;
	for (i = 0; i < 8; i++)
		tv_desc_at(t, tab, i, 0x100000, 8,
			   i < 7 ? VRING_DESC_F_NEXT : 0, i + 1);
	for (i = 0; i < 4; i++)
		tv_desc(t, i, 0x100000, 8, VRING_DESC_F_NEXT, i + 1);
	tv_desc(t, 4, tab, 8 * 16, VRING_DESC_F_INDIRECT, 0);
	tv_offer(t, 8, 0);
	CHECK(t, pop_breaks());
}

static void virtq_start_checks(struct tctx *t)
{
	CHECK(t, vq_setup(t, 12) == -EINVAL && vq.broken);
	CHECK(t, vq_setup(t, 0) == -EINVAL);
	CHECK(t, vq_setup(t, VIRTQ_MAX_SIZE * 2) == -EINVAL);
	CHECK(t, !vq_setup(t, VIRTQ_MAX_SIZE));
	virtq__reset(&vq);
	vq.size = 8;
	vq.desc_gpa = TV_DESC + 8;		/* descriptors 16-aligned */
	vq.avail_gpa = TV_AVAIL;
	vq.used_gpa = TV_USED;
	CHECK(t, virtq__start(&vq, &t->gm) == -EINVAL);
	virtq__reset(&vq);
	vq.size = 8;
	vq.desc_gpa = TV_DESC;
	vq.avail_gpa = TV_AVAIL;
	vq.used_gpa = TV_USED + 2;		/* used ring 4-aligned */
	CHECK(t, virtq__start(&vq, &t->gm) == -EINVAL);
	virtq__reset(&vq);
	vq.size = 8;
	vq.desc_gpa = TV_DESC;
	vq.avail_gpa = TV_AVAIL;
	vq.used_gpa = GUEST_SIZE - 64;		/* 6 + 64 bytes: past RAM */
	CHECK(t, virtq__start(&vq, &t->gm) == -EINVAL);
	CHECK(t, !virtq__has_avail(&vq) && virtq__pop(&vq, &chain) == -EIO);
	/* the name survives a reset, the rest does not */
	virtq__reset(&vq);
	CHECK(t, !vq.broken && !vq.started && vq.name);
}

static void virtq_no_interrupt_flag(struct tctx *t)
{
	EXPECT_OK(t, vq_setup(t, 8));
	tv_desc(t, 0, 0x100000, 8, 0, 0);
	CHECK(t, !virtq__need_irq(&vq));	/* nothing pushed yet */
	tv_offer(t, 8, 0);
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	virtq__push(&vq, 0, 0);
	CHECK(t, virtq__need_irq(&vq));
	CHECK(t, !virtq__need_irq(&vq));	/* each push once */
	tv_put16(t, TV_AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	tv_offer(t, 8, 0);
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	virtq__push(&vq, 0, 0);
	CHECK(t, !virtq__need_irq(&vq));
	/* without EVENT_IDX, avail_event is not ours to write */
	tv_put16(t, TV_USED + 4 + 8 * 8, 0x7777);
	CHECK(t, !virtq__arm_notify(&vq));
	CHECK(t, tv_le16(t, TV_USED + 4 + 8 * 8) == 0x7777);
}

static void virtq_event_idx(struct tctx *t)
{
	const uint64_t used_event = TV_AVAIL + 4 + 2 * 8;
	const uint64_t avail_event = TV_USED + 4 + 8 * 8;
	unsigned int i;

	EXPECT_OK(t, vq_setup(t, 8));
	vq.event_idx = true;
	EXPECT_OK(t, virtq__start(&vq, &t->gm));
	tv_desc(t, 0, 0x100000, 8, 0, 0);
	/* the driver wants an interrupt when used idx passes 2 */
	tv_put16(t, used_event, 2);
	for (i = 0; i < 4; i++)
		tv_offer(t, 8, 0);
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	virtq__push(&vq, 0, 0);
	CHECK(t, virtq__need_irq(&vq));		/* the first check always */
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	virtq__push(&vq, 0, 0);
	CHECK(t, !virtq__need_irq(&vq));	/* used idx 2: not past 2 */
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	virtq__push(&vq, 0, 0);
	CHECK(t, virtq__need_irq(&vq));		/* 3: entry 2 was used */
	/* two pushes, then one check that covers the event */
	tv_put16(t, used_event, 3);
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	virtq__push(&vq, 0, 0);
	CHECK(t, virtq__need_irq(&vq));
	/* avail_event asks for the next entry; a new chain says so */
	CHECK(t, !virtq__arm_notify(&vq));
	CHECK(t, tv_le16(t, avail_event) == 4);
	tv_offer(t, 8, 0);
	CHECK(t, virtq__arm_notify(&vq));
	CHECK(t, virtq__pop(&vq, &chain) == 1);
	CHECK(t, !virtq__arm_notify(&vq));
	CHECK(t, tv_le16(t, avail_event) == 5);
}

const struct tcase virtq_cases[] = {
	{ "virtq_chain_and_used", virtq_chain_and_used },
	{ "virtq_copy_and_slice", virtq_copy_and_slice },
	{ "virtq_loop", virtq_loop },
	{ "virtq_outside_ram", virtq_outside_ram },
	{ "virtq_bad_indexes", virtq_bad_indexes },
	{ "virtq_direction", virtq_direction },
	{ "virtq_indirect", virtq_indirect },
	{ "virtq_indirect_malformed", virtq_indirect_malformed },
	{ "virtq_start_checks", virtq_start_checks },
	{ "virtq_no_interrupt_flag", virtq_no_interrupt_flag },
	{ "virtq_event_idx", virtq_event_idx },
	{ NULL, NULL },
};

uint64_t tv_bus_rw(struct bus *b, bool write, uint64_t addr,
		   unsigned int size, uint64_t data)
{
	struct bus_access a = { .addr = addr, .size = size, .write = write,
				.data = write ? data : access_mask(size) };

	if (bus__dispatch(b, &a) == BUS_UNCLAIMED)
		return 0xdead;
	return a.data;
}

int tv_no_line(void *opaque, unsigned int gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
	return 0;
}

int tv_no_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque;
	(void)addr;
	(void)data;
	return 0;
}
