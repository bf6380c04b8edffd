// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon, the memory balloon device (virtio 1.2, 5.5): `--balloon`
 * on a Linux (bzImage) guest, whose virtio_balloon driver then gives
 * memory back to the host when khyp.ko asks for it.  docs/balloon.md puts
 * it next to khyp's own hypercall protocol.
 *
 * The target is the module's, not ours: num_pages is the VM's effective
 * balloon target (KHYP_GET_BALLOON's effective_target: the larger of
 * --balloon=SIZE and what the host's memory pressure asks for).  The
 * module signals an eventfd (KHYP_BALLOON_EVENTFD) whenever it changes;
 * the I/O thread waits on it with the queues, reads the new target,
 * writes it into num_pages and raises the configuration-change interrupt.
 * Nothing polls.
 *
 * Configuration (struct virtio_balloon_config, little-endian):
 *   0   num_pages    device: the target, in 4 KiB pages
 *   4   actual       driver: the pages its balloon holds (kept, reported)
 *   8   free_page_hint_cmd_id   0: VIRTIO_BALLOON_F_FREE_PAGE_HINT is not
 *                    offered (it serves migration, which khyp has not)
 *   12  poison_val   driver-written; VIRTIO_BALLOON_F_PAGE_POISON is not
 *                    offered, since a page the host gave back reads as
 *                    zeros, never as the guest's poison.  Linux then keeps
 *                    free page reporting off in a guest that poisons or
 *                    zeroes freed pages, as it must.
 *
 * Features: VIRTIO_BALLOON_F_STATS_VQ, _DEFLATE_ON_OOM (the guest may
 * deflate on its own when it runs out of memory: it still tells us), and
 * _REPORTING.  Not VIRTIO_BALLOON_F_MUST_TELL_HOST: a page the guest
 * touches while it is in the balloon just becomes a zeroed page again (the
 * module counts it as a violation and takes it out of the balloon), so the
 * host has no need to hear of a deflation before the page is used, which
 * is all that feature would promise.  Linux tells us first anyway.
 *
 * Queues, in the driver's order (Linux numbers the queues it uses one
 * after the other, skipping those whose feature it did not take; so does
 * QEMU): 0 inflateq, 1 deflateq, then statsq if STATS_VQ was negotiated,
 * then reporting_vq if REPORTING was.  free_page_vq never exists here.
 *
 *   inflateq, deflateq  device-readable buffers of le32 page frame
 *          numbers of 4 KiB pages; each PFN becomes the entry pfn << 12 of
 *          a KHYP_BALLOON_PAGES call (op INFLATE or DEFLATE, at most
 *          KHYP_BALLOON_BATCH_MAX entries a call).  The module checks
 *          each page (outside RAM, twice, beyond the target: its status)
 *          and the device counts the refused ones: virtio-balloon has no
 *          way to tell the driver which page failed, so the buffer is
 *          completed anyway and the first refusal is logged, once.
 *          Except one refusal: a page inflated beyond the target
 *          (S_TARGET) is kept waiting and offered again after the next
 *          deflation or target change.  Linux's balloon compaction
 *          migrates a ballooned page by inflating the new page first and
 *          deflating the old one after: at the target, the module
 *          refuses the new one, which the guest holds in its balloon
 *          all the same.  A deflation of a waiting page just drops it.
 *   statsq  the driver's one buffer of struct virtio_balloon_stat (le16
 *          tag, le64 value, packed).  The device keeps the figures and
 *          holds the buffer; to ask for fresh ones it gives the buffer
 *          back (every VBAL_STATS_PERIOD seconds, and when the target
 *          changes) and the driver refills it.  No ioctl takes the figures
 *          (KHYP_GET_BALLOON's guest_free is the hypercall protocol's):
 *          they end in the `khyp run --balloon` line at the end of a run.
 *   reporting_vq  free page reporting: buffers (device-writable in Linux,
 *          readable ones are taken the same way) whose guest-physical
 *          ranges are free pages of the guest; each whole 4 KiB page in
 *          them goes to KHYP_BALLOON_PAGES op REPORT: freed to the host
 *          without entering the balloon, no target involved.  The buffer
 *          is completed (used length 0) once the module has them, after
 *          which the guest may allocate the pages again (zeroed).
 *
 * A chain that breaks a queue's rules (a device-writable buffer to
 * inflate or deflate, a buffer on a queue the features leave out) marks
 * the device DEVICE_NEEDS_RESET, as every device of the launcher does;
 * wrong pages (outside RAM, twice, and so on) are only counted, and the
 * guest runs on.
 *
 * Locking: the state below is under dev->lock (the I/O thread's, and the
 * vCPUs' config accesses); the module's calls are made with the lock
 * dropped (virtio__io_begin), over the device's own list buffer.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/khyp.h>
#include <linux/khyp_balloon.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "virtio.h"

#define VBAL_QUEUE_SIZE		VIRTQ_MAX_SIZE
#define VBAL_NR_QUEUES		4	/* inflate, deflate, stats, reporting */
#define VBAL_CONFIG_LEN		16	/* up to poison_val */
#define VBAL_CFG_NUM_PAGES	0
#define VBAL_CFG_ACTUAL		4
#define VBAL_CFG_POISON		12
/* PFNs one inflate or deflate buffer may carry; Linux sends 256 at most */
#define VBAL_PFNS_MAX		(8 * KHYP_BALLOON_BATCH_MAX)
#define VBAL_STATS_MAX		64	/* stat entries read of a buffer */
#define VBAL_STAT_LEN		10	/* le16 tag, le64 value */
#define VBAL_STATS_PERIOD	5	/* seconds between fresh figures */
/* pages refused at the target, kept for later (the guest holds them) */
#define VBAL_WAIT_MAX		KHYP_BALLOON_BATCH_MAX

enum vbal_role { VBAL_INFLATE, VBAL_DEFLATE, VBAL_STATS, VBAL_REPORT,
		 VBAL_NONE };

struct vballoon {
	const struct vballoon_host *host;	/* (c) */
	void *opaque;				/* (c) */
	int efd;		/* (c) the module signals target changes */
	int tfd;		/* (c) timerfd: time for fresh stats */
	int epfd;		/* (c) epoll of the two: the I/O thread's */
	struct vballoon_counts n;		/* (l) */
	bool synced;		/* (l) num_pages read since the reset */
	bool stats_held;	/* (l) the driver's stats buffer is ours */
	uint16_t stats_head;	/* (l) its head */
	unsigned int stats_q;	/* (l) the queue it came on */
	bool warned;		/* (l) a refused page was logged */
	uint64_t waiting[VBAL_WAIT_MAX];	/* (l) inflated past the target */
	unsigned int nr_waiting;		/* (l) */
	struct virtq_chain chain;		/* I/O thread only */
	uint64_t list[KHYP_BALLOON_BATCH_MAX];	/* I/O thread only */
	uint32_t pfns[KHYP_BALLOON_BATCH_MAX];	/* I/O thread only */
};

static struct vballoon *vbal(struct virtio_dev *dev)
{
	return dev->priv;
}

static uint32_t cfg_get32(const struct virtio_dev *dev, unsigned int off)
{
	uint32_t v;

	memcpy(&v, dev->config + off, 4);
	return le32toh(v);
}

static void cfg_put32(struct virtio_dev *dev, unsigned int off, uint32_t v)
{
	v = htole32(v);
	memcpy(dev->config + off, &v, 4);
}

/* What queue q is for, given the features the driver took. */
static enum vbal_role vbal__role(const struct virtio_dev *dev, unsigned int q)
{
	bool stats = dev->driver_features & 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
	bool report = dev->driver_features & 1ULL << VIRTIO_BALLOON_F_REPORTING;

	if (q < 2)
		return q ? VBAL_DEFLATE : VBAL_INFLATE;
	if (stats && q == 2)
		return VBAL_STATS;
	if (report && q == 2u + stats)
		return VBAL_REPORT;
	return VBAL_NONE;
}

static const char *const vbal_op_names[] = { "inflate", "deflate", "report" };

/*
 * Hand b->list[0, count) to the module (dev->lock dropped meanwhile) and
 * count what it did.
 */
static void vbal__flush(struct virtio_dev *dev, uint32_t op, unsigned int count)
{
	struct vballoon *b = vbal(dev);
	struct khyp_balloon_pages p = {
		.op = op,
		.count = count,
		.list = (uint64_t)(uintptr_t)b->list,
	};
	unsigned int i, bad = 0, first = 0;
	int r;

	if (!count)
		return;
	virtio__io_begin(dev);
	r = b->host->pages(b->opaque, &p);
	virtio__io_end(dev);
	if (r) {
		b->n.errors++;
		b->n.refused[op] += count;
		if (!b->warned)
			fprintf(stderr, "khyp: %s: KHYP_BALLOON_PAGES (%s, %u pages): %s\n",
				dev->name, vbal_op_names[op], count,
				strerror(-r));
		b->warned = true;
		return;
	}
	for (i = 0; i < count; i++) {
		if (!(b->list[i] & 0xfff))
			continue;
		/* past the target: the guest holds it, the host may later */
		if (op == KHYP_BALLOON_OP_INFLATE &&
		    (b->list[i] & 0xfff) == KHYP_BALLOON_S_TARGET &&
		    b->nr_waiting < VBAL_WAIT_MAX) {
			b->waiting[b->nr_waiting++] = b->list[i] & ~0xfffULL;
			continue;
		}
		if (!bad++)
			first = i;
	}
	b->n.pages[op] += p.done;
	b->n.waiting = b->nr_waiting;
	b->n.refused[op] += bad;
	if (bad && !b->warned) {
		fprintf(stderr, "khyp: %s: the host refused %u of %u pages to %s (the first at 0x%llx: status %llu); counting the rest quietly\n",
			dev->name, bad, count, vbal_op_names[op],
			(unsigned long long)(b->list[first] & ~0xfffULL),
			(unsigned long long)(b->list[first] & 0xfff));
		b->warned = true;
	}
}

/* Offer the waiting pages again (room under the target, maybe). */
static void vbal__retry(struct virtio_dev *dev)
{
	struct vballoon *b = vbal(dev);
	unsigned int n = b->nr_waiting;

	if (!n)
		return;
	memcpy(b->list, b->waiting, n * sizeof(b->list[0]));
	b->nr_waiting = 0;
	vbal__flush(dev, KHYP_BALLOON_OP_INFLATE, n);
}

/* Deflate: a waiting page was never the host's; drop it from the list. */
static unsigned int vbal__unwait(struct vballoon *b, unsigned int k)
{
	unsigned int i, j, out = 0;

	for (i = 0; i < k; i++) {
		for (j = 0; j < b->nr_waiting; j++)
			if (b->waiting[j] == b->list[i])
				break;
		if (j == b->nr_waiting) {
			b->list[out++] = b->list[i];
			continue;
		}
		b->waiting[j] = b->waiting[--b->nr_waiting];
		b->n.pages[KHYP_BALLOON_OP_DEFLATE]++;
	}
	b->n.waiting = b->nr_waiting;
	return out;
}

/* One buffer of PFNs to inflate or deflate. */
static void vbal__pfns(struct virtio_dev *dev, uint32_t op,
		       const struct virtq_chain *c)
{
	struct vballoon *b = vbal(dev);
	uint64_t nr = c->rd_len / 4, done = 0;
	unsigned int i, k, n;

	if (nr > VBAL_PFNS_MAX) {
		b->n.refused[op] += nr - VBAL_PFNS_MAX;
		b->n.oversized++;
		nr = VBAL_PFNS_MAX;
	}
	while (done < nr) {
		k = nr - done < KHYP_BALLOON_BATCH_MAX ?
		    (unsigned int)(nr - done) : KHYP_BALLOON_BATCH_MAX;
		virtq__copy_from(c, done * 4, b->pfns, k * 4);
		for (i = 0; i < k; i++)
			b->list[i] = (uint64_t)le32toh(b->pfns[i]) << 12;
		n = op == KHYP_BALLOON_OP_DEFLATE && b->nr_waiting ?
		    vbal__unwait(b, k) : k;
		vbal__flush(dev, op, n);
		done += k;
	}
	if (op == KHYP_BALLOON_OP_DEFLATE)
		vbal__retry(dev);
}

/* One reporting buffer: every whole page of its ranges, as REPORT. */
static void vbal__report(struct virtio_dev *dev, const struct virtq_chain *c)
{
	struct vballoon *b = vbal(dev);
	unsigned int s, k = 0;
	uint64_t gpa, end;

	for (s = 0; s < c->nr_rd + c->nr_wr; s++) {
		gpa = (uint64_t)((unsigned char *)c->iov[s].iov_base -
				 dev->gm->base);
		end = (gpa + c->iov[s].iov_len) & ~0xfffULL;
		gpa = (gpa + 0xfff) & ~0xfffULL;
		for (; gpa < end; gpa += 0x1000) {
			b->list[k++] = gpa;
			if (k == KHYP_BALLOON_BATCH_MAX) {
				vbal__flush(dev, KHYP_BALLOON_OP_REPORT, k);
				k = 0;
			}
		}
	}
	vbal__flush(dev, KHYP_BALLOON_OP_REPORT, k);
	b->n.reports++;
}

/* Give the stats buffer back: the driver refills it with fresh figures. */
static void vbal__stats_request(struct virtio_dev *dev)
{
	struct vballoon *b = vbal(dev);
	struct virtq *vq;

	if (!b->stats_held)
		return;
	b->stats_held = false;
	vq = &dev->vqs[b->stats_q];
	if (vq->broken || !vq->started)
		return;
	virtq__push(vq, b->stats_head, 0);
	if (virtq__need_irq(vq) && dev->transport.irq_queue)
		dev->transport.irq_queue(dev, b->stats_q);
}

/* The driver's figures: kept by tag, the buffer held. */
static void vbal__stats(struct virtio_dev *dev, unsigned int q,
			const struct virtq_chain *c)
{
	struct vballoon *b = vbal(dev);
	unsigned char e[VBAL_STAT_LEN];
	uint64_t i, nr = c->rd_len / VBAL_STAT_LEN;
	uint16_t tag;
	uint64_t val;

	/* a second buffer while we hold one: the driver's; return the old */
	vbal__stats_request(dev);
	if (nr > VBAL_STATS_MAX)
		nr = VBAL_STATS_MAX;
	for (i = 0; i < nr; i++) {
		virtq__copy_from(c, i * VBAL_STAT_LEN, e, sizeof(e));
		memcpy(&tag, e, 2);
		memcpy(&val, e + 2, 8);
		tag = le16toh(tag);
		if (tag < VBAL_NR_STATS) {
			b->n.stat[tag] = le64toh(val);
			b->n.stat_valid |= 1u << tag;
		}
	}
	b->n.stats_updates++;
	b->stats_held = true;
	b->stats_head = c->head;
	b->stats_q = q;
}

/* The module's target into num_pages; a change raises the config irq. */
static void vbal__sync_target(struct virtio_dev *dev)
{
	struct vballoon *b = vbal(dev);
	struct khyp_balloon_stats st;
	uint64_t t;
	int r;

	virtio__io_begin(dev);
	r = b->host->get(b->opaque, &st);
	virtio__io_end(dev);
	if (r) {
		b->n.errors++;
		return;
	}
	b->synced = true;
	t = st.effective_target > UINT32_MAX ? UINT32_MAX : st.effective_target;
	if (t == cfg_get32(dev, VBAL_CFG_NUM_PAGES))
		return;
	cfg_put32(dev, VBAL_CFG_NUM_PAGES, (uint32_t)t);
	b->n.num_pages = (uint32_t)t;
	dev->config_generation++;
	b->n.target_changes++;
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK && dev->transport.irq_config)
		dev->transport.irq_config(dev);
	vbal__retry(dev);
	/* the figures as the new target starts to bite */
	vbal__stats_request(dev);
}

/* What woke the thread besides the queues: the module, the stats timer. */
static void vbal__events(struct virtio_dev *dev)
{
	struct vballoon *b = vbal(dev);
	uint64_t v;
	bool target = !b->synced;

	if (b->efd >= 0 && read(b->efd, &v, sizeof(v)) == sizeof(v))
		target = true;
	if (target)
		vbal__sync_target(dev);
	if (b->tfd >= 0 && read(b->tfd, &v, sizeof(v)) == sizeof(v))
		vbal__stats_request(dev);
}

static int vbal__process(struct virtio_dev *dev, unsigned int q)
{
	struct vballoon *b = vbal(dev);
	struct virtq *vq = &dev->vqs[q];
	enum vbal_role role = vbal__role(dev, q);
	int r;

	if (q == 0)
		vbal__events(dev);
	while ((r = virtq__pop(vq, &b->chain)) > 0) {
		switch (role) {
		case VBAL_INFLATE:
		case VBAL_DEFLATE:
			if (b->chain.nr_wr) {
				virtq__fail(vq, "%s buffer at %u: device-writable",
					    vbal_op_names[role], b->chain.head);
				return -EIO;
			}
			vbal__pfns(dev, role == VBAL_INFLATE ?
				   KHYP_BALLOON_OP_INFLATE :
				   KHYP_BALLOON_OP_DEFLATE, &b->chain);
			break;
		case VBAL_STATS:
			vbal__stats(dev, q, &b->chain);
			continue;		/* held, not used */
		case VBAL_REPORT:
			vbal__report(dev, &b->chain);
			break;
		case VBAL_NONE:
			virtq__fail(vq, "a buffer on queue %u, which the features leave out",
				    q);
			return -EIO;
		}
		virtq__push(vq, b->chain.head, 0);
	}
	return r < 0 ? -EIO : 0;
}

/* The I/O thread also waits for the module and the timer: on queue 0. */
static int vbal__wait_fd(struct virtio_dev *dev, unsigned int *q)
{
	*q = 0;
	return vbal(dev)->epfd;
}

static void vbal__config_write(struct virtio_dev *dev, unsigned int off,
			       const void *buf, unsigned int len)
{
	struct vballoon *b = vbal(dev);
	unsigned char v[8];
	unsigned int k;

	memcpy(v, buf, len < sizeof(v) ? len : sizeof(v));
	/* the driver's fields only: actual, poison_val */
	for (k = 0; k < len && k < sizeof(v) && off + k < VBAL_CONFIG_LEN; k++)
		if ((off + k >= VBAL_CFG_ACTUAL && off + k < VBAL_CFG_ACTUAL + 4) ||
		    off + k >= VBAL_CFG_POISON)
			dev->config[off + k] = v[k];
	b->n.actual = cfg_get32(dev, VBAL_CFG_ACTUAL);
}

static void vbal__reset(struct virtio_dev *dev)
{
	struct vballoon *b = vbal(dev);

	/* num_pages is the host's and stays; the rest is the driver's */
	memset(dev->config + VBAL_CFG_ACTUAL, 0,
	       VBAL_CONFIG_LEN - VBAL_CFG_ACTUAL);
	b->n.actual = 0;
	b->nr_waiting = 0;
	b->n.waiting = 0;
	b->stats_held = false;
	b->synced = false;
}

/*
 * A machine reset (--reboot restart): the next boot has a new VM, whose
 * balloon in the module is empty and whose target vballoon__attach()
 * reads (the user's --balloon=SIZE, or the shrinker's).  So num_pages is
 * 0 until then, and the counts start again: each boot's report is that
 * boot's, as the module's line is its VM's.  A signal of the old VM's
 * eventfd, or a stats tick, still pending is dropped.  reset() has
 * already dropped the waiting pages, the stats buffer and actual.
 */
static void vbal__machine_reset(struct virtio_dev *dev)
{
	struct vballoon *b = vbal(dev);
	uint64_t v;

	cfg_put32(dev, VBAL_CFG_NUM_PAGES, 0);
	memset(&b->n, 0, sizeof(b->n));
	b->warned = false;
	/* non-blocking, both: a read empties each, or finds it empty */
	if (read(b->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		b->n.errors++;
	if (read(b->tfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		b->n.errors++;
}

static const struct virtio_type vbal_type = {
	.name = "virtio-balloon",
	.id = VIRTIO_ID_BALLOON,
	.process = vbal__process,
	.wait_fd = vbal__wait_fd,
	.config_write = vbal__config_write,
	.reset = vbal__reset,
	.machine_reset = vbal__machine_reset,
};

/* ---- the module's side: KHYP_BALLOON_PAGES, KHYP_GET_BALLOON ---- */

static int vbal_vm_pages(void *opaque, struct khyp_balloon_pages *p)
{
	const int *fd = opaque;

	return ioctl(*fd, KHYP_BALLOON_PAGES, p) ? -errno : 0;
}

static int vbal_vm_get(void *opaque, struct khyp_balloon_stats *st)
{
	const int *fd = opaque;

	return ioctl(*fd, KHYP_GET_BALLOON, st) ? -errno : 0;
}

static int vbal_vm_eventfd(void *opaque, int efd)
{
	const int *fd = opaque;
	struct khyp_balloon_eventfd e = { .fd = efd };

	return ioctl(*fd, KHYP_BALLOON_EVENTFD, &e) ? -errno : 0;
}

const struct vballoon_host vballoon_vm_host = {
	.pages = vbal_vm_pages,
	.get = vbal_vm_get,
	.eventfd = vbal_vm_eventfd,
};

int vballoon__init(struct virtio_dev *dev, const struct vballoon_host *host,
		   void *opaque, struct guest_mem *gm, char *err, size_t errlen)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = VBAL_STATS_PERIOD },
		.it_value = { .tv_sec = VBAL_STATS_PERIOD },
	};
	struct epoll_event ev = { .events = EPOLLIN };
	struct vballoon *b = calloc(1, sizeof(*b));
	unsigned char *config = calloc(1, VBAL_CONFIG_LEN);
	const char *what = "out of memory";

	memset(dev, 0, sizeof(*dev));
	if (!b || !config)
		goto fail;
	b->efd = b->tfd = b->epfd = -1;
	b->host = host;
	b->opaque = opaque;
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	b->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	what = "eventfd, timerfd or epoll";
	if (b->efd < 0 || b->tfd < 0 || b->epfd < 0 ||
	    timerfd_settime(b->tfd, 0, &its, NULL))
		goto fail;
	ev.data.fd = b->efd;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->efd, &ev))
		goto fail;
	ev.data.fd = b->tfd;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->tfd, &ev))
		goto fail;
	dev->type = &vbal_type;
	dev->priv = b;
	dev->gm = gm;
	snprintf(dev->name, sizeof(dev->name), "virtio-balloon");
	dev->host_features = 1ULL << VIRTIO_F_VERSION_1 |
			     1ULL << VIRTIO_RING_F_EVENT_IDX |
			     1ULL << VIRTIO_BALLOON_F_STATS_VQ |
			     1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM |
			     1ULL << VIRTIO_BALLOON_F_REPORTING;
	dev->config = config;
	dev->config_len = VBAL_CONFIG_LEN;
	dev->nr_queues = VBAL_NR_QUEUES;
	dev->queue_max = VBAL_QUEUE_SIZE;
	what = NULL;
	if (virtio__init(dev, err, errlen))
		goto fail;
	return 0;
fail:
	if (what)
		snprintf(err, errlen, "--balloon: %s: %s", what,
			 errno ? strerror(errno) : "failed");
	if (b) {
		if (b->epfd >= 0)
			close(b->epfd);
		if (b->tfd >= 0)
			close(b->tfd);
		if (b->efd >= 0)
			close(b->efd);
	}
	free(b);
	free(config);
	dev->priv = NULL;
	dev->config = NULL;
	return -1;
}

int vballoon__attach(struct virtio_dev *dev)
{
	struct vballoon *b = vbal(dev);
	int r;

	r = b->host->eventfd(b->opaque, b->efd);
	if (r)
		return r;
	virtio__lock(dev);
	b->synced = false;
	vbal__sync_target(dev);
	virtio__unlock(dev);
	return 0;
}

void vballoon__counts(struct virtio_dev *dev, struct vballoon_counts *n)
{
	virtio__lock(dev);
	*n = vbal(dev)->n;
	virtio__unlock(dev);
}

void vballoon__report(struct virtio_dev *dev)
{
	static const char *const names[] = {
		[VIRTIO_BALLOON_S_MEMFREE] = "free",
		[VIRTIO_BALLOON_S_AVAIL] = "available",
		[VIRTIO_BALLOON_S_CACHES] = "caches",
		[VIRTIO_BALLOON_S_MEMTOT] = "total",
		[VIRTIO_BALLOON_S_SWAP_IN] = "swap-in",
		[VIRTIO_BALLOON_S_SWAP_OUT] = "swap-out",
	};
	struct vballoon_counts n;
	unsigned int i;

	vballoon__counts(dev, &n);
	fprintf(stderr, "khyp: virtio-balloon: num_pages %u, actual %u; pages inflated %llu, deflated %llu, reported %llu (in %llu reports); waiting %u; refused %llu, %llu, %llu\n",
		n.num_pages, n.actual, n.pages[KHYP_BALLOON_OP_INFLATE],
		n.pages[KHYP_BALLOON_OP_DEFLATE],
		n.pages[KHYP_BALLOON_OP_REPORT], n.reports, n.waiting,
		n.refused[KHYP_BALLOON_OP_INFLATE],
		n.refused[KHYP_BALLOON_OP_DEFLATE],
		n.refused[KHYP_BALLOON_OP_REPORT]);
	if (!n.stats_updates)
		return;
	fprintf(stderr, "khyp: virtio-balloon: guest (%llu updates):",
		n.stats_updates);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i] && n.stat_valid & 1u << i)
			fprintf(stderr, " %s %llu KiB", names[i],
				(unsigned long long)(n.stat[i] >> 10));
	fputc('\n', stderr);
}

void vballoon__exit(struct virtio_dev *dev)
{
	struct vballoon *b = vbal(dev);

	virtio__exit(dev);
	if (b) {
		close(b->epfd);
		close(b->tfd);
		close(b->efd);
	}
	free(b);
	free(dev->config);
	dev->priv = NULL;
	dev->config = NULL;
}
