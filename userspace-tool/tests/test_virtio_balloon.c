// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon (devices/virtio/balloon.c) over a fake module: the
 * KHYP_BALLOON_PAGES calls it makes for what a driver puts on its queues
 * (as Linux's virtio_balloon does: le32 PFNs to inflate and deflate, one
 * stats buffer, free page ranges to report), num_pages following the
 * module's target through the eventfd, the config-change interrupt.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/khyp.h>
#include <linux/khyp_balloon.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "test_virtio.h"
#include "../khyp.h"

#define INFLATEQ	0
#define DEFLATEQ	1
#define BUF		0x100000
#define BUF2		0x110000
#define FAKE_RAM_END	0x2000000	/* pages past it: S_NOT_RAM */
#define FAKE_MAX	4096

/* The module as the device sees it: every call recorded. */
static struct {
	unsigned int calls;
	uint32_t op[64];
	uint32_t count[64];
	uint64_t entry[FAKE_MAX];	/* all entries, in order, as sent */
	unsigned int nr;
	uint64_t target;
	uint64_t limit;			/* inflate: S_TARGET at this size; 0: none */
	uint64_t held;			/* the balloon's size */
	int efd;
	int fail;			/* -errno for the next pages() */
} fk;

static struct virtio_dev dev;
static unsigned int irqs, config_irqs;

static int fake_pages(void *opaque, struct khyp_balloon_pages *p)
{
	uint64_t *list = (uint64_t *)(uintptr_t)p->list;
	unsigned int i;

	(void)opaque;
	if (fk.fail)
		return fk.fail;
	if (fk.calls < 64) {
		fk.op[fk.calls] = p->op;
		fk.count[fk.calls] = p->count;
	}
	fk.calls++;
	p->done = 0;
	for (i = 0; i < p->count; i++) {
		if (fk.nr < FAKE_MAX)
			fk.entry[fk.nr++] = list[i];
		if (list[i] >= FAKE_RAM_END) {
			list[i] |= KHYP_BALLOON_S_NOT_RAM;
			continue;
		}
		if (p->op == KHYP_BALLOON_OP_INFLATE && fk.limit &&
		    fk.held >= fk.limit) {
			list[i] |= KHYP_BALLOON_S_TARGET;
			continue;
		}
		if (p->op == KHYP_BALLOON_OP_INFLATE)
			fk.held++;
		if (p->op == KHYP_BALLOON_OP_DEFLATE && fk.held)
			fk.held--;
		p->done++;
	}
	return 0;
}

static int fake_get(void *opaque, struct khyp_balloon_stats *st)
{
	(void)opaque;
	memset(st, 0, sizeof(*st));
	st->effective_target = fk.target;
	return 0;
}

static int fake_eventfd(void *opaque, int efd)
{
	(void)opaque;
	fk.efd = efd;
	return 0;
}

static const struct vballoon_host fake_host = {
	.pages = fake_pages,
	.get = fake_get,
	.eventfd = fake_eventfd,
};

static uint32_t cfg32(unsigned int off)
{
	uint32_t v;

	memcpy(&v, dev.config + off, 4);
	return le32toh(v);
}

/* The module changed the target: its eventfd. */
static void fake_signal(uint64_t target)
{
	uint64_t one = 1;

	fk.target = target;
	if (write(fk.efd, &one, sizeof(one)) != sizeof(one))
		abort();
}

/* PFNs into guest RAM at gpa, le32. */
static void put_pfns(struct tctx *t, uint64_t gpa, uint32_t first,
		     unsigned int n, uint32_t step)
{
	unsigned int i;
	uint32_t v;

	for (i = 0; i < n; i++) {
		v = htole32(first + i * step);
		memcpy(t->gm.base + gpa + 4 * i, &v, 4);
	}
}

static void bal_down(void)
{
	vballoon__exit(&dev);
}

/* A device with target pages, its driver up with features. */
static int bal_up(struct tctx *t, uint64_t target, uint64_t features)
{
	memset(&fk, 0, sizeof(fk));
	fk.efd = -1;
	fk.target = target;
	if (vballoon__init(&dev, &fake_host, NULL, &t->gm, t->err,
			   sizeof(t->err)))
		return -1;
	if (vballoon__attach(&dev))
		return -1;
	return tq_dev_up(t, &dev, features, &irqs, &config_irqs);
}

static const uint64_t all_features = ~0ULL;

static void vbal_features_config(struct tctx *t)
{
	struct vballoon_counts n;

	EXPECT_OK(t, bal_up(t, 0x1000, all_features));
	CHECK(t, dev.nr_queues == 4 && dev.config_len == 16);
	CHECK(t, dev.host_features == (1ULL << VIRTIO_F_VERSION_1 |
				       1ULL << VIRTIO_RING_F_EVENT_IDX |
				       1ULL << VIRTIO_BALLOON_F_STATS_VQ |
				       1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM |
				       1ULL << VIRTIO_BALLOON_F_REPORTING));
	/* no MUST_TELL_HOST, FREE_PAGE_HINT or PAGE_POISON */
	CHECK(t, !(dev.host_features &
		   (1ULL << VIRTIO_BALLOON_F_MUST_TELL_HOST |
		    1ULL << VIRTIO_BALLOON_F_FREE_PAGE_HINT |
		    1ULL << VIRTIO_BALLOON_F_PAGE_POISON)));
	CHECK(t, fk.efd >= 0);
	CHECK(t, cfg32(0) == 0x1000 && cfg32(4) == 0 && cfg32(8) == 0);
	/* the driver writes actual and poison_val, never num_pages */
	virtio__lock(&dev);
	dev.type->config_write(&dev, 0, "\x01\x00\x00\x00", 4);
	dev.type->config_write(&dev, 4, "\x00\x02\x00\x00", 4);
	dev.type->config_write(&dev, 8, "\x07\x00\x00\x00", 4);
	dev.type->config_write(&dev, 12, "\xaa\xaa\xaa\xaa", 4);
	virtio__unlock(&dev);
	CHECK(t, cfg32(0) == 0x1000 && cfg32(4) == 0x200 && cfg32(8) == 0 &&
		 cfg32(12) == 0xaaaaaaaa);
	vballoon__counts(&dev, &n);
	CHECK(t, n.actual == 0x200 && n.num_pages == 0x1000);
	/* a reset forgets the driver's fields, not the host's target */
	virtio__lock(&dev);
	virtio__set_status(&dev, 0);
	virtio__unlock(&dev);
	CHECK(t, cfg32(0) == 0x1000 && cfg32(4) == 0 && cfg32(12) == 0);
	bal_down();
}

static void vbal_inflate_deflate(struct tctx *t)
{
	struct vballoon_counts n;
	uint32_t id, len;
	unsigned int i;

	EXPECT_OK(t, bal_up(t, 0x1000, all_features));
	/* three PFNs, the last outside the fake's RAM */
	put_pfns(t, BUF, 0x100, 2, 1);
	put_pfns(t, BUF + 8, FAKE_RAM_END >> 12, 1, 1);
	tq_desc(t, INFLATEQ, 0, BUF, 12, 0, 0);
	tq_offer(t, INFLATEQ, 0);
	tq_run(&dev, INFLATEQ);
	CHECK(t, fk.calls == 1 && fk.op[0] == KHYP_BALLOON_OP_INFLATE &&
		 fk.count[0] == 3);
	CHECK(t, fk.entry[0] == 0x100000 && fk.entry[1] == 0x101000 &&
		 fk.entry[2] == FAKE_RAM_END);
	CHECK(t, tq_used_idx(t, INFLATEQ) == 1);
	tq_used(t, INFLATEQ, 0, &id, &len);
	CHECK(t, id == 0 && len == 0);
	CHECK(t, irqs == 1);
	vballoon__counts(&dev, &n);
	CHECK(t, n.pages[KHYP_BALLOON_OP_INFLATE] == 2 &&
		 n.refused[KHYP_BALLOON_OP_INFLATE] == 1);
	/* 600 PFNs in two descriptors: two calls, 512 and 88 */
	put_pfns(t, BUF2, 0x200, 250, 1);
	put_pfns(t, BUF2 + 0x1000, 0x200 + 250, 350, 1);
	tq_desc(t, DEFLATEQ, 0, BUF2, 1000, VRING_DESC_F_NEXT, 1);
	tq_desc(t, DEFLATEQ, 1, BUF2 + 0x1000, 1400, 0, 0);
	tq_offer(t, DEFLATEQ, 0);
	tq_run(&dev, DEFLATEQ);
	CHECK(t, fk.calls == 3 && fk.op[1] == KHYP_BALLOON_OP_DEFLATE &&
		 fk.count[1] == KHYP_BALLOON_BATCH_MAX && fk.count[2] == 88);
	for (i = 0; i < 600; i++)
		if (fk.entry[3 + i] != (uint64_t)(0x200 + i) << 12)
			break;
	CHECK(t, i == 600);
	CHECK(t, tq_used_idx(t, DEFLATEQ) == 1);
	vballoon__counts(&dev, &n);
	CHECK(t, n.pages[KHYP_BALLOON_OP_DEFLATE] == 600);
	/* a module that fails the whole call: counted, the buffer completed */
	fk.fail = -ENOTTY;
	tq_desc(t, INFLATEQ, 1, BUF, 8, 0, 0);
	tq_offer(t, INFLATEQ, 1);
	tq_run(&dev, INFLATEQ);
	CHECK(t, tq_used_idx(t, INFLATEQ) == 2);
	vballoon__counts(&dev, &n);
	CHECK(t, n.errors == 1 && n.refused[KHYP_BALLOON_OP_INFLATE] == 3);
	fk.fail = 0;
	CHECK(t, !(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET));
	/* a device-writable buffer to inflate breaks the device */
	tq_desc(t, INFLATEQ, 2, BUF, 8, VRING_DESC_F_WRITE, 0);
	tq_offer(t, INFLATEQ, 2);
	tq_run(&dev, INFLATEQ);
	CHECK(t, dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(t, config_irqs == 1 && fk.calls == 3);
	bal_down();
}

/*
 * Linux's balloon compaction at the target: the new page inflated first
 * (refused: S_TARGET), then the old one deflated; the new one is offered
 * again and taken.  A waiting page the driver deflates goes nowhere.
 */
static void vbal_migration_at_target(struct tctx *t)
{
	struct vballoon_counts n;

	EXPECT_OK(t, bal_up(t, 2, all_features));
	fk.limit = 2;
	put_pfns(t, BUF, 0x100, 2, 1);		/* 0x100, 0x101 */
	tq_desc(t, INFLATEQ, 0, BUF, 8, 0, 0);
	tq_offer(t, INFLATEQ, 0);
	tq_run(&dev, INFLATEQ);
	CHECK(t, fk.held == 2);
	/* migrate 0x100 to 0x200 */
	put_pfns(t, BUF + 0x100, 0x200, 1, 1);
	tq_desc(t, INFLATEQ, 1, BUF + 0x100, 4, 0, 0);
	tq_offer(t, INFLATEQ, 1);
	tq_run(&dev, INFLATEQ);
	vballoon__counts(&dev, &n);
	CHECK(t, n.waiting == 1 && !n.refused[KHYP_BALLOON_OP_INFLATE]);
	CHECK(t, tq_used_idx(t, INFLATEQ) == 2);
	tq_desc(t, DEFLATEQ, 0, BUF, 4, 0, 0);		/* 0x100 */
	tq_offer(t, DEFLATEQ, 0);
	tq_run(&dev, DEFLATEQ);
	CHECK(t, fk.calls == 4 && fk.held == 2);
	CHECK(t, fk.op[2] == KHYP_BALLOON_OP_DEFLATE && fk.entry[3] == 0x100000);
	CHECK(t, fk.op[3] == KHYP_BALLOON_OP_INFLATE && fk.entry[4] == 0x200000);
	vballoon__counts(&dev, &n);
	CHECK(t, !n.waiting && n.pages[KHYP_BALLOON_OP_INFLATE] == 3 &&
		 !n.refused[KHYP_BALLOON_OP_INFLATE]);
	/* 0x300 waits, then the driver deflates it: no call for it */
	put_pfns(t, BUF + 0x200, 0x300, 1, 1);
	tq_desc(t, INFLATEQ, 2, BUF + 0x200, 4, 0, 0);
	tq_offer(t, INFLATEQ, 2);
	tq_run(&dev, INFLATEQ);
	CHECK(t, fk.calls == 5);
	tq_desc(t, DEFLATEQ, 1, BUF + 0x200, 4, 0, 0);
	tq_offer(t, DEFLATEQ, 1);
	tq_run(&dev, DEFLATEQ);
	CHECK(t, fk.calls == 5 && tq_used_idx(t, DEFLATEQ) == 2);
	vballoon__counts(&dev, &n);
	CHECK(t, !n.waiting && n.pages[KHYP_BALLOON_OP_DEFLATE] == 2);
	/* a raised target takes a waiting page */
	tq_desc(t, INFLATEQ, 3, BUF + 0x200, 4, 0, 0);
	tq_offer(t, INFLATEQ, 3);
	tq_run(&dev, INFLATEQ);
	fk.limit = 3;
	fake_signal(3);
	tq_run(&dev, INFLATEQ);
	CHECK(t, fk.held == 3 && cfg32(0) == 3);
	vballoon__counts(&dev, &n);
	CHECK(t, !n.waiting && !n.refused[KHYP_BALLOON_OP_INFLATE]);
	bal_down();
}

/* One stat entry, packed as Linux's struct virtio_balloon_stat. */
static void put_stat(struct tctx *t, uint64_t gpa, uint16_t tag, uint64_t v)
{
	uint16_t tg = htole16(tag);
	uint64_t val = htole64(v);

	memcpy(t->gm.base + gpa, &tg, 2);
	memcpy(t->gm.base + gpa + 2, &val, 8);
}

static void vbal_target_and_stats(struct tctx *t)
{
	const unsigned int statsq = 2;
	struct vballoon_counts n;
	struct pollfd p;
	unsigned int q;
	uint8_t gen;

	EXPECT_OK(t, bal_up(t, 0, all_features));
	CHECK(t, cfg32(0) == 0);
	/* the driver's one stats buffer: kept, not returned */
	put_stat(t, BUF, VIRTIO_BALLOON_S_MEMFREE, 100 << 20);
	put_stat(t, BUF + 10, VIRTIO_BALLOON_S_AVAIL, 150 << 20);
	put_stat(t, BUF + 20, VIRTIO_BALLOON_S_SWAP_IN, 4096);
	put_stat(t, BUF + 30, 999, 1);		/* unknown tag: ignored */
	tq_desc(t, statsq, 0, BUF, 40, 0, 0);
	tq_offer(t, statsq, 0);
	tq_run(&dev, statsq);
	CHECK(t, tq_used_idx(t, statsq) == 0);
	vballoon__counts(&dev, &n);
	CHECK(t, n.stats_updates == 1);
	CHECK(t, n.stat_valid == (1u << VIRTIO_BALLOON_S_MEMFREE |
				  1u << VIRTIO_BALLOON_S_AVAIL |
				  1u << VIRTIO_BALLOON_S_SWAP_IN));
	CHECK(t, n.stat[VIRTIO_BALLOON_S_MEMFREE] == 100 << 20 &&
		 n.stat[VIRTIO_BALLOON_S_AVAIL] == 150 << 20 &&
		 n.stat[VIRTIO_BALLOON_S_SWAP_IN] == 4096);
	/* the I/O thread waits on the module's eventfd: quiet until it moves */
	virtio__lock(&dev);
	p.fd = dev.type->wait_fd(&dev, &q);
	virtio__unlock(&dev);
	p.events = POLLIN;
	CHECK(t, p.fd >= 0 && q == INFLATEQ);
	CHECK(t, poll(&p, 1, 0) == 0);
	gen = dev.config_generation;
	irqs = 0;
	fake_signal(0x4000);
	CHECK(t, poll(&p, 1, 0) == 1);
	tq_run(&dev, q);
	CHECK(t, poll(&p, 1, 0) == 0);
	CHECK(t, cfg32(0) == 0x4000 && config_irqs == 1);
	CHECK(t, dev.config_generation != gen);
	/* and the stats buffer went back for fresh figures */
	CHECK(t, tq_used_idx(t, statsq) == 1 && irqs == 1);
	/* a signal without a change: no interrupt */
	fake_signal(0x4000);
	tq_run(&dev, q);
	CHECK(t, config_irqs == 1);
	/* the driver refills it */
	put_stat(t, BUF, VIRTIO_BALLOON_S_MEMFREE, 20 << 20);
	tq_desc(t, statsq, 1, BUF, 10, 0, 0);
	tq_offer(t, statsq, 1);
	tq_run(&dev, statsq);
	vballoon__counts(&dev, &n);
	CHECK(t, n.stats_updates == 2 && n.target_changes == 1 &&
		 n.num_pages == 0x4000);
	CHECK(t, n.stat[VIRTIO_BALLOON_S_MEMFREE] == 20 << 20);
	/* a target past 2^32 pages: num_pages holds what it can */
	fake_signal(1ULL << 33);
	tq_run(&dev, q);
	CHECK(t, cfg32(0) == UINT32_MAX && config_irqs == 2);
	bal_down();
}

/* Reporting without the stats queue: the driver's queue 2. */
static void vbal_free_page_reporting(struct tctx *t)
{
	const unsigned int repq = 2;
	struct vballoon_counts n;
	uint32_t id, len;
	unsigned int i;

	EXPECT_OK(t, bal_up(t, 0, 1ULL << VIRTIO_F_VERSION_1 |
			    1ULL << VIRTIO_BALLOON_F_REPORTING));
	/* a 2 MiB block, and a range whose only whole page is 0x401000 */
	tq_desc(t, repq, 0, 0x200000, 0x200000,
		VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	tq_desc(t, repq, 1, 0x400800, 0x1900, VRING_DESC_F_WRITE, 0);
	tq_offer(t, repq, 0);
	tq_run(&dev, repq);
	CHECK(t, fk.calls == 2 && fk.op[0] == KHYP_BALLOON_OP_REPORT &&
		 fk.count[0] == 512 && fk.op[1] == KHYP_BALLOON_OP_REPORT &&
		 fk.count[1] == 1);
	for (i = 0; i < 512; i++)
		if (fk.entry[i] != 0x200000 + 0x1000ULL * i)
			break;
	CHECK(t, i == 512 && fk.entry[512] == 0x401000);
	CHECK(t, tq_used_idx(t, repq) == 1);
	tq_used(t, repq, 0, &id, &len);
	CHECK(t, id == 0 && len == 0 && irqs == 1);
	vballoon__counts(&dev, &n);
	CHECK(t, n.pages[KHYP_BALLOON_OP_REPORT] == 513 && n.reports == 1 &&
		 !n.pages[KHYP_BALLOON_OP_INFLATE]);
	/* the guest data there is not the device's to touch */
	CHECK(t, t_guest_filled(t, 0x200000, 0x200000));
	/* queue 3 does not exist for these features */
	tq_desc(t, 3, 0, BUF, 8, 0, 0);
	tq_offer(t, 3, 0);
	tq_run(&dev, 3);
	CHECK(t, dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	bal_down();
}

const struct tcase vballoon_cases[] = {
	{ "vbal_features_config", vbal_features_config },
	{ "vbal_inflate_deflate", vbal_inflate_deflate },
	{ "vbal_migration_at_target", vbal_migration_at_target },
	{ "vbal_target_and_stats", vbal_target_and_stats },
	{ "vbal_free_page_reporting", vbal_free_page_reporting },
	{ NULL, NULL },
};
