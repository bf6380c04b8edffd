// SPDX-License-Identifier: GPL-2.0
/*
 * What every virtio device of the launcher has, whatever its type and
 * transport (virtio.h draws the path of a request and the locking):
 *
 *   - the device status byte (virtio 1.2, 2.1) and its state machine: the
 *     driver sets ACKNOWLEDGE, DRIVER, then FEATURES_OK, which the device
 *     keeps only if it accepts the features the driver wrote (a subset of
 *     what it offered, with VIRTIO_F_VERSION_1: there is no legacy
 *     interface), then DRIVER_OK; writing 0 resets the device;
 *     DEVICE_NEEDS_RESET is the device's, set when a queue breaks a rule;
 *   - the queues, started when the driver enables them;
 *   - the I/O thread: it sleeps on an eventfd that the transport's notify
 *     register writes (and on the type's own fd, if it has one: the tap
 *     of virtio-net), then processes the notified queues under dev->lock
 *     (dropped around host I/O: virtio.h) and raises their interrupts.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "virtio.h"

#define DEV_FEATURE(dev, bit)	(!!((dev)->driver_features & (1ULL << (bit))))

void virtio__lock(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
}

void virtio__unlock(struct virtio_dev *dev)
{
	pthread_mutex_unlock(&dev->lock);
}

void virtio__reset(struct virtio_dev *dev)
{
	unsigned int q;

	while (dev->busy)
		pthread_cond_wait(&dev->idle, &dev->lock);
	dev->status = 0;
	dev->driver_features = 0;
	for (q = 0; q < dev->nr_queues; q++) {
		virtq__reset(&dev->vqs[q]);
		dev->vqs[q].size = dev->queue_max;	/* what the driver reads */
	}
	__atomic_store_n(&dev->kicked_queues, 0, __ATOMIC_RELAXED);
	if (dev->type && dev->type->reset)
		dev->type->reset(dev);
}

void virtio__needs_reset(struct virtio_dev *dev)
{
	if (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK && dev->transport.irq_config)
		dev->transport.irq_config(dev);
}

/* Features the driver may accept: what we offered, and version 1. */
static bool virtio__features_ok(const struct virtio_dev *dev)
{
	if (dev->driver_features & ~dev->host_features)
		return false;
	return DEV_FEATURE(dev, VIRTIO_F_VERSION_1);
}

void virtio__set_status(struct virtio_dev *dev, uint8_t status)
{
	uint8_t old = dev->status;
	unsigned int q;

	if (!status) {
		virtio__reset(dev);
		return;
	}
	if ((status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(old & VIRTIO_CONFIG_S_FEATURES_OK) && !virtio__features_ok(dev))
		status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	/* DRIVER_OK without FEATURES_OK: a driver we cannot serve */
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(status & VIRTIO_CONFIG_S_FEATURES_OK))
		status &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	/* NEEDS_RESET is the device's to set and only a reset clears it */
	dev->status = (status & ~VIRTIO_CONFIG_S_NEEDS_RESET) |
		      (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	if ((dev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_DRIVER_OK))
		for (q = 0; q < dev->nr_queues; q++)
			virtio__kick(dev, q);
}

void virtio__enable_queue(struct virtio_dev *dev, unsigned int q)
{
	struct virtq *vq = &dev->vqs[q];

	if (q >= dev->nr_queues || vq->started)
		return;
	vq->event_idx = DEV_FEATURE(dev, VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = DEV_FEATURE(dev, VIRTIO_RING_F_INDIRECT_DESC);
	if (virtq__start(vq, dev->gm))
		virtio__needs_reset(dev);
}

void virtio__kick(struct virtio_dev *dev, unsigned int q)
{
	uint64_t one = 1;

	if (q >= dev->nr_queues)
		return;
	__atomic_fetch_or(&dev->kicked_queues, 1u << q, __ATOMIC_RELEASE);
	if (dev->efd >= 0 && write(dev->efd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		perror("khyp: virtio: eventfd");
}

/*
 * Queue q until nothing is left, then ask for the next notification; or
 * until the type waits for its fd with chains left (process returns 1).
 */
static void virtio__process_queue(struct virtio_dev *dev, unsigned int q)
{
	struct virtq *vq = &dev->vqs[q];
	int r;

	for (;;) {
		r = dev->type->process(dev, q);
		if (r < 0) {
			virtio__needs_reset(dev);
			return;
		}
		if (virtq__need_irq(vq) && dev->transport.irq_queue)
			dev->transport.irq_queue(dev, q);
		if (r > 0 || !virtq__arm_notify(vq))
			return;
	}
}

void virtio__process(struct virtio_dev *dev)
{
	unsigned int pending, q;

	pending = __atomic_exchange_n(&dev->kicked_queues, 0, __ATOMIC_ACQUIRE);
	if (!(dev->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		return;
	dev->busy = true;
	for (q = 0; q < dev->nr_queues; q++)
		if ((pending & (1u << q)) && dev->vqs[q].started)
			virtio__process_queue(dev, q);
	dev->busy = false;
	pthread_cond_broadcast(&dev->idle);
}

void virtio__io_begin(struct virtio_dev *dev)
{
	virtio__unlock(dev);
}

void virtio__io_end(struct virtio_dev *dev)
{
	virtio__lock(dev);
}

/* The type's fd to wait on besides the eventfd, or -1 (dev->lock held). */
static int virtio__wait_fd(struct virtio_dev *dev, unsigned int *q)
{
	if (!dev->type->wait_fd || !(dev->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		return -1;
	return dev->type->wait_fd(dev, q);
}

bool virtio__wait_process(struct virtio_dev *dev, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = dev->efd, .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
	};
	unsigned int fq = 0;
	uint64_t v;

	virtio__lock(dev);
	p[1].fd = dev->stop ? -1 : virtio__wait_fd(dev, &fq);
	virtio__unlock(dev);
	if (poll(p, 2, timeout_ms) < 0 && errno != EINTR) {
		perror("khyp: virtio: poll");
		return false;
	}
	if ((p[0].revents & POLLIN) &&
	    read(dev->efd, &v, sizeof(v)) < 0 && errno != EINTR &&
	    errno != EAGAIN) {
		perror("khyp: virtio: eventfd");
		return false;
	}
	if (p[1].fd >= 0 && p[1].revents && fq < dev->nr_queues)
		__atomic_fetch_or(&dev->kicked_queues, 1u << fq,
				  __ATOMIC_RELAXED);
	virtio__lock(dev);
	if (dev->stop) {
		virtio__unlock(dev);
		return false;
	}
	virtio__process(dev);
	virtio__unlock(dev);
	return true;
}

/* The I/O thread: one turn after another until virtio__stop(). */
static void *virtio__thread(void *arg)
{
	struct virtio_dev *dev = arg;

	while (virtio__wait_process(dev, -1))
		;
	return NULL;
}

int virtio__init(struct virtio_dev *dev, char *err, size_t errlen)
{
	unsigned int q;

	dev->efd = eventfd(0, EFD_CLOEXEC);
	if (dev->efd < 0) {
		snprintf(err, errlen, "%s: eventfd: %s", dev->name,
			 strerror(errno));
		return -1;
	}
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->idle, NULL);
	dev->busy = false;
	for (q = 0; q < dev->nr_queues; q++) {
		dev->vqs[q].name = dev->name;
		virtq__reset(&dev->vqs[q]);
	}
	virtio__reset(dev);
	return 0;
}

int virtio__start(struct virtio_dev *dev, char *err, size_t errlen)
{
	sigset_t all, old;
	int r;

	dev->stop = false;	/* a thread virtio__stop() ended may start again */
	/* the thread takes no signal: run.c's main thread handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&dev->thread, NULL, virtio__thread, dev);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		snprintf(err, errlen, "%s: I/O thread: %s", dev->name,
			 strerror(r));
		return -1;
	}
	dev->thread_started = true;
	return 0;
}

void virtio__stop(struct virtio_dev *dev)
{
	uint64_t one = 1;

	if (!dev->thread_started)
		return;
	virtio__lock(dev);
	dev->stop = true;
	virtio__unlock(dev);
	if (write(dev->efd, &one, sizeof(one)) < 0)
		perror("khyp: virtio: eventfd");
	pthread_join(dev->thread, NULL);
	dev->thread_started = false;
}

void virtio__exit(struct virtio_dev *dev)
{
	virtio__stop(dev);
	if (dev->efd >= 0)
		close(dev->efd);
	dev->efd = -1;
	pthread_cond_destroy(&dev->idle);
	pthread_mutex_destroy(&dev->lock);
}
