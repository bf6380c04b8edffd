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
 *   blk.c         the device types: what a chain means (virtio-blk,
 *   net.c         virtio-net on a tap, virtio-console, virtio-rng,
 *   console.c
 *   rng.c         virtio-balloon)
 *   balloon.c
 *   virtqueue.c   one split queue, every guest-written byte checked
 *   machine.c     --net, --console, --rng, --balloon on the machine
 *                 (pci.c: --disk)
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
 * processes the queues, and drops it around each host I/O call (preadv,
 * pwritev, fdatasync: virtio__io_begin/end), so a vCPU reading a
 * register never waits for the disk while it holds m->lock.  The I/O
 * thread marks its batch busy meanwhile, and a reset (status 0) waits
 * on dev->idle until the batch ends: a request in progress completes
 * into the guest's buffers before the reset, never after, and the driver
 * reads back 0 only then.  The order is m->lock, then dev->lock; the I/O
 * thread never takes m->lock.  The kick (eventfd write) takes no lock.
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
	 * Process queue q (I/O thread, dev->lock held): pop, handle, push.
	 * 0: stopped when the queue was empty, or after a batch (the core
	 * calls again while chains remain); 1: chains remain that wait for
	 * something other than the driver (a packet from the tap: see
	 * wait_fd); -EIO: the queue broke a rule.  It may drop the lock
	 * around host I/O with virtio__io_begin/end.
	 */
	int (*process)(struct virtio_dev *dev, unsigned int q);
	/*
	 * May be NULL.  An fd the I/O thread also waits on (dev->lock held,
	 * the driver ready): readable, it processes queue *q as if the
	 * driver had notified it; -1: none for now.  virtio-net returns its
	 * tap while the receive queue has buffers: a guest that gives none
	 * stops the reading of the tap until its driver adds some.
	 */
	int (*wait_fd)(struct virtio_dev *dev, unsigned int *q);
	/* The driver wrote the device config (dev->lock held); may be NULL. */
	void (*config_write)(struct virtio_dev *dev, unsigned int off,
			     const void *buf, unsigned int len);
	/*
	 * The device was reset (dev->lock held, no batch in progress): the
	 * type forgets what the driver gave it.  May be NULL.
	 */
	void (*reset)(struct virtio_dev *dev);
	/*
	 * A machine reset (--reboot restart: the transport's, after reset()
	 * and between two VMs): what the device keeps across its driver's
	 * resets goes back to power-on too (the balloon's target, its
	 * counts).  dev->lock held.  May be NULL: reset() was all.
	 */
	void (*machine_reset)(struct virtio_dev *dev);
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
	pthread_cond_t idle;			/* busy went false */
	bool busy;				/* (l) a batch in progress */
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
/*
 * Back to the state after power-on: status 0, no features, no queues;
 * first waits for a batch in progress (dev->busy) to end.
 */
void virtio__reset(struct virtio_dev *dev);
/* queue_enable = 1: start queue q (a bad ring sets NEEDS_RESET). */
void virtio__enable_queue(struct virtio_dev *dev, unsigned int q);
/* The device broke (a queue's rule): DEVICE_NEEDS_RESET, config irq. */
void virtio__needs_reset(struct virtio_dev *dev);

/*
 * One turn of the I/O thread: wait up to timeout_ms (-1: for ever) for a
 * kick (the eventfd) or the type's fd, then process what is pending
 * (virtio__process, dev->lock taken here).  false when the thread must
 * end: virtio__stop(), or poll or the eventfd failed.  The device
 * fuzzer (tests/fuzz_virtio.c) runs a device with no thread by calling
 * it with 0 wherever the thread could have run.
 */
bool virtio__wait_process(struct virtio_dev *dev, int timeout_ms);

/*
 * In a type's process(): drop dev->lock around one host I/O call that may
 * block (preadv, pwritev, fdatasync), and take it back.  In between the
 * caller touches only its own request's chain and the guest buffers it
 * maps, never the queue or another (l) field: the driver cannot take
 * them away meanwhile, since a reset waits for the batch (dev->busy) and
 * a started queue's addresses are read-only.
 */
void virtio__io_begin(struct virtio_dev *dev);
void virtio__io_end(struct virtio_dev *dev);

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

/* ---- pci.c: the transport ---- */

struct machine;
struct virtio_pci;

/*
 * Put dev on the machine's PCI bus, with the PCI class class_code: the
 * transport, or NULL with a message.  The function stays on the bus as
 * long as the machine; free it after pci__exit().
 */
struct virtio_pci *vpci__create(struct machine *m, struct virtio_dev *dev,
				uint32_t class_code, char *err, size_t errlen);

/* ---- net.c: virtio-net on a tap ---- */

struct net_opt;

/*
 * A virtio-net device on the tap of o (created if it does not exist,
 * named by the kernel if o->ifname is empty): 0, or -1 with a message.
 */
int vnet__init(struct virtio_dev *dev, const struct net_opt *o,
	       struct guest_mem *gm, char *err, size_t errlen);
/*
 * The same on fd, a tap or anything that keeps frame boundaries (the
 * tests' datagram socket); ifname names it in messages.  fd is made
 * non-blocking and stays the caller's.
 */
int vnet__init_fd(struct virtio_dev *dev, int fd, const uint8_t mac[6],
		  const char *ifname, struct guest_mem *gm,
		  char *err, size_t errlen);
/* The tap's name, as the kernel gave it. */
const char *vnet__ifname(const struct virtio_dev *dev);
/* Frames dropped so far: too big for the guest's buffer, or the tap's. */
void vnet__dropped(const struct virtio_dev *dev, unsigned long *rx,
		   unsigned long *tx);
void vnet__exit(struct virtio_dev *dev);

/* ---- console.c: virtio-console, output only ---- */

/* Output to path (created or truncated), or to stdout if NULL. */
int vcons__init(struct virtio_dev *dev, const char *path,
		struct guest_mem *gm, char *err, size_t errlen);
/* Output to fd, which stays the caller's. */
int vcons__init_fd(struct virtio_dev *dev, int fd, struct guest_mem *gm,
		   char *err, size_t errlen);
void vcons__exit(struct virtio_dev *dev);

/* ---- rng.c: virtio-rng from getrandom() ---- */

int vrng__init(struct virtio_dev *dev, struct guest_mem *gm,
	       char *err, size_t errlen);
void vrng__exit(struct virtio_dev *dev);

/* ---- balloon.c: virtio-balloon on the module's balloon ---- */

struct khyp_balloon_pages;
struct khyp_balloon_stats;

/*
 * The module's side of the balloon, on the VM (vballoon_vm_host: the
 * ioctls on the int VM fd that opaque points to) or a test's fake.  Each
 * returns 0 or -errno.
 */
struct vballoon_host {
	int (*pages)(void *opaque, struct khyp_balloon_pages *p);
	int (*get)(void *opaque, struct khyp_balloon_stats *st);
	/* KHYP_BALLOON_EVENTFD with efd */
	int (*eventfd)(void *opaque, int efd);
};

extern const struct vballoon_host vballoon_vm_host;

#define VBAL_NR_STATS		10	/* VIRTIO_BALLOON_S_NR */

/* What the device did, and the guest's figures, for reports and tests. */
struct vballoon_counts {
	uint32_t num_pages;		/* the target the guest was given */
	uint32_t actual;		/* what its driver says it holds */
	/* by KHYP_BALLOON_OP_*: pages the module took, and refused */
	unsigned long long pages[3], refused[3];
	/* inflated past the target, not taken by the module yet */
	unsigned int waiting;
	unsigned long long reports;	/* reporting buffers */
	unsigned long long oversized;	/* buffers past VBAL_PFNS_MAX PFNs */
	unsigned long long errors;	/* ioctls that failed as a whole */
	unsigned long long target_changes;
	unsigned long long stats_updates;	/* stats buffers received */
	uint64_t stat[VBAL_NR_STATS];	/* by VIRTIO_BALLOON_S_* tag */
	unsigned int stat_valid;	/* bit tag: stat[tag] was sent */
};

/*
 * A virtio-balloon whose pages go to host (opaque is its argument): 0, or
 * -1 with a message.  num_pages is 0 until vballoon__attach().
 */
int vballoon__init(struct virtio_dev *dev, const struct vballoon_host *host,
		   void *opaque, struct guest_mem *gm, char *err, size_t errlen);
/*
 * The VM exists (each boot): hand the module the device's eventfd and
 * read its target.  0 or -errno (the module has no KHYP_BALLOON_EVENTFD).
 */
int vballoon__attach(struct virtio_dev *dev);
void vballoon__counts(struct virtio_dev *dev, struct vballoon_counts *n);
/* The device's lines of `khyp run --balloon` on stderr. */
void vballoon__report(struct virtio_dev *dev);
void vballoon__exit(struct virtio_dev *dev);

#endif /* KHYP_VIRTIO_H */
