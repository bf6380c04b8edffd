// SPDX-License-Identifier: GPL-2.0
/*
 * `khyp run --reboot restart` with every virtio device: between two
 * boots main.c stops each device's I/O thread before the VM goes,
 * resets the machine (pci__reset: each transport, its device, and the
 * type's machine_reset) and starts the threads again for the next VM
 * (devices__restart).  The devices here sit on a PCI bus and are driven
 * through their BAR as a guest's driver does, each with rings of its own
 * in the fake guest RAM:
 *
 *   restart_reset_while_running  machine resets and drivers' resets that
 *       come while every device's thread has requests to serve (the
 *       balloon's in the middle of a module call): each device reads back
 *       as at power-on, nothing reaches its rings after the reset, and
 *       the next driver is served
 *   restart_no_leaks  RESTARTS stop/reset/start cycles: the same fds and
 *       threads after as before (/proc/self/fd, /proc/self/task), none of
 *       the I/O threads while stopped; the "tap" (a datagram socketpair)
 *       the same fd, working both ways; the balloon's eventfd handed to
 *       each new VM's fd, its target that VM's, its counts that boot's
 *   restart_machine  the machine as cmd_run builds it (devices__init with
 *       --disk, --console, --rng and --balloon) through main.c's own
 *       steps, virtio_*__stop() then devices__restart(); the console's
 *       file keeps every boot's output
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/khyp.h>
#include <linux/khyp_balloon.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "test_virtio.h"
#include "../khyp.h"

#define RESTARTS	100
#define ROUNDS		16		/* of resets while the threads run */
#define QS		16		/* the drivers' queue size */
#define RINGS		0x400000	/* slot s, queue q: + s * 0x40000 + q * 0x8000 */
#define BUFS		0x1000000	/* + s * 0x100000 + q * 0x20000 + i * 0x1000 */
#define DISK_SECTORS	128
#define NET_HDR		12		/* struct virtio_net_hdr_v1 */
#define FRAME		60

enum kind { K_BLK, K_NET, K_CONS, K_RNG, K_BAL, K_NR };

static const uint32_t kind_class[K_NR] = {
	0x010000, 0x020000, 0x078000, 0x00ff00, 0x00ff00,
};
static const unsigned int kind_queues[K_NR] = { 1, 2, 2, 1, 2 };

/* A guest driver of one function. */
struct drv {
	enum kind kind;
	unsigned int slot;
	uint16_t avail[TQ_MAX];		/* the next avail idx */
	uint16_t desc[TQ_MAX];		/* the next free descriptor */
	unsigned int reqs;		/* requests it made: a seed */
	bool no_pfns;			/* the balloon's: an empty buffer */
};

static struct machine m;
static struct run_opts opts;
static struct virtio_dev devs[K_NR];	/* the rig's */
static struct virtio_pci *vps[K_NR];
static struct drv drvs[K_NR];
static char disk_path[64], cons_path[64];
static int cons_fd = -1, wire = -1, tapfd = -1;
static int vm_fd;			/* the fake module's "VM fd" */
static bool inited[K_NR];		/* devs[k] set up */
static bool machine_on;			/* m's buses and PCI host */

/* ---- the fake module under the balloon ---- */

static struct {
	int in_call;			/* a pages() call in progress */
	unsigned int calls;
	unsigned int delay_us;		/* each pages() call takes this */
	uint64_t target;
	int efd;			/* the eventfd registered */
	int efd_vm;			/* ... with this VM fd */
	unsigned int registrations;
} fk;

static int fake_pages(void *opaque, struct khyp_balloon_pages *p)
{
	(void)opaque;
	__atomic_store_n(&fk.in_call, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&fk.calls, 1, __ATOMIC_SEQ_CST);
	if (fk.delay_us)
		usleep(fk.delay_us);
	p->done = p->count;
	__atomic_store_n(&fk.in_call, 0, __ATOMIC_SEQ_CST);
	return 0;
}

static int fake_get(void *opaque, struct khyp_balloon_stats *st)
{
	(void)opaque;
	memset(st, 0, sizeof(*st));
	st->effective_target = __atomic_load_n(&fk.target, __ATOMIC_SEQ_CST);
	return 0;
}

static int fake_eventfd(void *opaque, int efd)
{
	fk.efd = efd;
	fk.efd_vm = *(const int *)opaque;
	fk.registrations++;
	return 0;
}

static const struct vballoon_host fake_host = {
	.pages = fake_pages,
	.get = fake_get,
	.eventfd = fake_eventfd,
};

/* ---- a driver on the BAR ---- */

/* BAR 4 of the function: common cfg, ISR, device cfg, notify (pci.c). */
static uint64_t bar(const struct drv *d)
{
	return m.pci.slots[d->slot]->bars[4].addr;
}

static uint64_t rd(const struct drv *d, unsigned int off, unsigned int size)
{
	return tv_bus_rw(&m.mmio, false, bar(d) + off, size, 0);
}

static void wr(const struct drv *d, unsigned int off, unsigned int size,
	       uint64_t v)
{
	tv_bus_rw(&m.mmio, true, bar(d) + off, size, v);
}

static uint64_t ring(const struct drv *d, unsigned int q)
{
	return RINGS + d->slot * 0x40000ULL + q * 0x8000ULL;
}

static uint64_t buf(const struct drv *d, unsigned int q, unsigned int i)
{
	return BUFS + d->slot * 0x100000ULL + q * 0x20000ULL +
	       (i % QS) * 0x1000ULL;
}

/* The driver's setup: VERSION_1 only, its queues, DRIVER_OK; 0 or -1. */
static int drv_up(struct tctx *t, struct drv *d)
{
	const uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	unsigned int q;

	for (q = 0; q < kind_queues[d->kind]; q++) {
		memset(t->gm.base + ring(d, q), 0, 0x3000);
		d->avail[q] = d->desc[q] = 0;
	}
	wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	wr(d, VIRTIO_PCI_COMMON_STATUS, 1, s);
	wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(d, VIRTIO_PCI_COMMON_GF, 4, 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(d, VIRTIO_PCI_COMMON_STATUS, 1, s | VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(rd(d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -1;
	for (q = 0; q < kind_queues[d->kind]; q++) {
		wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, QS);
		wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, ring(d, q));
		wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, ring(d, q) + 0x1000);
		wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, ring(d, q) + 0x2000);
		wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	wr(d, VIRTIO_PCI_COMMON_STATUS, 1, s | VIRTIO_CONFIG_S_FEATURES_OK |
					    VIRTIO_CONFIG_S_DRIVER_OK);
	return rd(d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_DRIVER_OK ?
	       0 : -1;
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* A chain of n segments on queue q, offered (not notified). */
static void drv_chain(struct tctx *t, struct drv *d, unsigned int q,
		      const struct seg *s, unsigned int n)
{
	uint16_t head = d->desc[q], idx;
	unsigned int i;

	for (i = 0; i < n; i++) {
		idx = (uint16_t)((head + i) % QS);
		tv_desc_at(t, ring(d, q), idx, s[i].gpa, s[i].len,
			   (uint16_t)((s[i].write ? VRING_DESC_F_WRITE : 0) |
				      (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			   (uint16_t)((idx + 1) % QS));
	}
	d->desc[q] = (uint16_t)((head + n) % QS);
	tv_put16(t, ring(d, q) + 0x1000 + 4 + 2 * (d->avail[q] % QS), head);
	d->avail[q]++;
	__atomic_store_n((uint16_t *)(t->gm.base + ring(d, q) + 0x1000 + 2),
			 htole16(d->avail[q]), __ATOMIC_RELEASE);
}

static void drv_notify(const struct drv *d, unsigned int q)
{
	wr(d, 0x3000 + 4 * q, 2, q);
}

static uint16_t drv_used(struct tctx *t, const struct drv *d, unsigned int q)
{
	return le16toh(__atomic_load_n((uint16_t *)(t->gm.base + ring(d, q) +
						    0x2000 + 2),
				       __ATOMIC_ACQUIRE));
}

/* Used element i's length. */
static uint32_t drv_used_len(struct tctx *t, const struct drv *d,
			     unsigned int q, unsigned int i)
{
	struct vring_used_elem e;

	memcpy(&e, t->gm.base + ring(d, q) + 0x2000 + 4 + 8 * (i % QS),
	       sizeof(e));
	return le32toh(e.len);
}

/* Wait up to 2 s for queue q's used idx to reach n. */
static bool drv_wait(struct tctx *t, const struct drv *d, unsigned int q,
		     uint16_t n)
{
	unsigned int i;

	for (i = 0; i < 2000 && drv_used(t, d, q) != n; i++)
		usleep(1000);
	return drv_used(t, d, q) == n;
}

/*
 * The function reads as at power-on: status 0, no features taken, no
 * queue enabled or placed, every vector NO_VECTOR, ISR and INTx clear;
 * the balloon's num_pages and actual 0 after a machine reset.
 */
static bool drv_power_on(const struct drv *d, bool machine)
{
	const struct pci_dev *p = m.pci.slots[d->slot];
	unsigned int q;

	if (rd(d, VIRTIO_PCI_COMMON_STATUS, 1) ||
	    rd(d, VIRTIO_PCI_COMMON_GFSELECT, 4) ||
	    rd(d, VIRTIO_PCI_COMMON_GF, 4) ||
	    rd(d, VIRTIO_PCI_COMMON_MSIX, 2) != VIRTIO_MSI_NO_VECTOR ||
	    rd(d, VIRTIO_PCI_COMMON_DFSELECT, 4) ||
	    rd(d, VIRTIO_PCI_COMMON_Q_SELECT, 2))
		return false;
	for (q = 0; q < kind_queues[d->kind]; q++) {
		wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		if (rd(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2) ||
		    rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2) != VIRTQ_MAX_SIZE ||
		    rd(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4) ||
		    rd(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4) ||
		    rd(d, VIRTIO_PCI_COMMON_Q_MSIX, 2) != VIRTIO_MSI_NO_VECTOR)
			return false;
	}
	wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	if (rd(d, VIRTIO_PCI_COMMON_GF, 4))
		return false;
	wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	if (rd(d, 0x1000, 1) || p->intx_level)
		return false;
	if (d->kind == K_BAL && (rd(d, 0x2000 + 4, 4) ||
				 (machine && rd(d, 0x2000, 4))))
		return false;
	return true;
}

/* ---- one request each, served by the device's thread ---- */

static void disk_pattern(unsigned char *p, unsigned int sector)
{
	memset(p, (int)((sector * 7 + 1) & 0xff), 512);
}

/* The next sector's read: its data and VIRTIO_BLK_S_OK. */
static bool blk_works(struct tctx *t, struct drv *d)
{
	unsigned int sector = d->reqs++ % DISK_SECTORS;
	struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_IN),
				       .sector = htole64(sector) };
	struct seg s[3] = {
		{ buf(d, 0, 0), sizeof(h), false },
		{ buf(d, 0, 1), 512, true },
		{ buf(d, 0, 2), 1, true },
	};
	unsigned char want[512];
	uint16_t used = drv_used(t, d, 0);

	memcpy(t->gm.base + s[0].gpa, &h, sizeof(h));
	t->gm.base[s[2].gpa] = 0xee;
	drv_chain(t, d, 0, s, 3);
	drv_notify(d, 0);
	if (!drv_wait(t, d, 0, (uint16_t)(used + 1)))
		return false;
	disk_pattern(want, sector);
	return t->gm.base[s[2].gpa] == VIRTIO_BLK_S_OK &&
	       !memcmp(t->gm.base + s[1].gpa, want, 512);
}

/* A frame out to the wire, and one in from it. */
static bool net_works(struct tctx *t, struct drv *d)
{
	unsigned char seed = (unsigned char)d->reqs++, got[2 * FRAME];
	struct seg tx = { buf(d, 1, 0), NET_HDR + FRAME, false };
	struct seg rx = { buf(d, 0, 0), 1526, true };
	struct pollfd p = { .fd = wire, .events = POLLIN };
	uint16_t used = drv_used(t, d, 1);
	unsigned int k;

	memset(t->gm.base + tx.gpa, 0, NET_HDR);
	for (k = 0; k < FRAME; k++)
		t->gm.base[tx.gpa + NET_HDR + k] = (unsigned char)(seed + k);
	drv_chain(t, d, 1, &tx, 1);
	drv_notify(d, 1);
	if (!drv_wait(t, d, 1, (uint16_t)(used + 1)) || poll(&p, 1, 2000) != 1 ||
	    recv(wire, got, sizeof(got), 0) != FRAME ||
	    memcmp(got, t->gm.base + tx.gpa + NET_HDR, FRAME))
		return false;
	used = drv_used(t, d, 0);
	drv_chain(t, d, 0, &rx, 1);
	drv_notify(d, 0);
	for (k = 0; k < FRAME; k++)
		got[k] = (unsigned char)(seed - k);
	if (send(wire, got, FRAME, 0) != FRAME ||
	    !drv_wait(t, d, 0, (uint16_t)(used + 1)))
		return false;
	return drv_used_len(t, d, 0, used) == NET_HDR + FRAME &&
	       !memcmp(t->gm.base + rx.gpa + NET_HDR, got, FRAME);
}

/* The whole console file contains line. */
static bool cons_has(const char *line)
{
	static char text[16384];
	ssize_t n;
	int fd = open(cons_path, O_RDONLY);

	if (fd < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = 0;
	return strstr(text, line);
}

/* A line "KHYP-RESTART <n>" out to the console's file. */
static bool cons_works(struct tctx *t, struct drv *d)
{
	char line[32];
	struct seg s = { buf(d, 1, 0), 0, false };
	uint16_t used = drv_used(t, d, 1);

	s.len = (uint32_t)snprintf(line, sizeof(line), "KHYP-RESTART %u\n",
				   d->reqs++);
	memcpy(t->gm.base + s.gpa, line, s.len);
	drv_chain(t, d, 1, &s, 1);
	drv_notify(d, 1);
	return drv_wait(t, d, 1, (uint16_t)(used + 1)) && cons_has(line);
}

/* 32 bytes of entropy. */
static bool rng_works(struct tctx *t, struct drv *d)
{
	struct seg s = { buf(d, 0, 0), 32, true };
	uint16_t used = drv_used(t, d, 0);

	d->reqs++;
	drv_chain(t, d, 0, &s, 1);
	drv_notify(d, 0);
	return drv_wait(t, d, 0, (uint16_t)(used + 1)) &&
	       drv_used_len(t, d, 0, used) == 32;
}

/*
 * Four PFNs inflated (none for a balloon without a module behind it): the
 * buffer comes back.
 */
static bool bal_works(struct tctx *t, struct drv *d)
{
	struct seg s = { buf(d, 0, 0), d->no_pfns ? 2 : 16, false };
	uint16_t used = drv_used(t, d, 0);
	uint32_t pfn;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		pfn = htole32(0x800 + 4 * d->reqs + i);
		memcpy(t->gm.base + s.gpa + 4 * i, &pfn, 4);
	}
	d->reqs++;
	drv_chain(t, d, 0, &s, 1);
	drv_notify(d, 0);
	return drv_wait(t, d, 0, (uint16_t)(used + 1));
}

static bool drv_works(struct tctx *t, struct drv *d)
{
	switch (d->kind) {
	case K_BLK:
		return blk_works(t, d);
	case K_NET:
		return net_works(t, d);
	case K_CONS:
		return cons_works(t, d);
	case K_RNG:
		return rng_works(t, d);
	default:
		return bal_works(t, d);
	}
}

/* ---- the fds and threads of this process ---- */

static int count_dir(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

#define FDS()		count_dir("/proc/self/fd")
#define THREADS()	count_dir("/proc/self/task")

/* ---- the rig: one function of each type on a PCI bus ---- */

static int disk_make(void)
{
	unsigned char sec[512];
	unsigned int s;
	int fd;

	strcpy(disk_path, "/tmp/khyp-restart-disk-XXXXXX");
	fd = mkstemp(disk_path);
	if (fd < 0)
		return -1;
	for (s = 0; s < DISK_SECTORS; s++) {
		disk_pattern(sec, s);
		if (write(fd, sec, sizeof(sec)) != (ssize_t)sizeof(sec)) {
			close(fd);
			return -1;
		}
	}
	return close(fd);
}

/* The machine of the test: its buses, its PCI host on fake lines. */
static int machine_up(struct tctx *t)
{
	memset(&m, 0, sizeof(m));
	memset(&opts, 0, sizeof(opts));
	m.opts = &opts;
	m.vm.mem = t->gm;
	m.vm.fd = -1;
	m.out_fd = m.in_fd = -1;
	bus__init(&m.ports, "port", 0x10000);
	bus__init(&m.mmio, "MMIO", 0);
	machine_on = true;
	if (pci__init(&m.pci, &m.ports, &m.mmio, -1, t->err, sizeof(t->err)))
		return -1;
	m.pci.irq_line = tv_no_line;
	m.pci.msi = tv_no_msi;
	return 0;
}

static int rig_init(struct tctx *t, enum kind k)
{
	static const uint8_t mac[6] = { 0x02, 0x6b, 0x68, 0x79, 0x70, 0x52 };
	struct virtio_dev *dev = &devs[k];
	char *e = t->err;
	size_t el = sizeof(t->err);
	int sv[2];

	switch (k) {
	case K_BLK:
		return vblk__init(dev, disk_path, false, 0, &m.vm.mem, e, el);
	case K_NET:
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
			return -1;
		tapfd = sv[0];
		wire = sv[1];
		return vnet__init_fd(dev, tapfd, mac, "sockpair", &m.vm.mem, e,
				     el);
	case K_CONS:
		return vcons__init_fd(dev, cons_fd, &m.vm.mem, e, el);
	case K_RNG:
		return vrng__init(dev, &m.vm.mem, e, el);
	default:
		return vballoon__init(dev, &fake_host, &vm_fd, &m.vm.mem, e, el);
	}
}

/* What rig_up() made, however far it went; the threads stopped first. */
static void rig_down(void)
{
	static void (*const exits[K_NR])(struct virtio_dev *) = {
		vblk__exit, vnet__exit, vcons__exit, vrng__exit,
		vballoon__exit,
	};
	unsigned int k;

	for (k = 0; k < K_NR; k++)
		if (inited[k])
			virtio__stop(&devs[k]);
	for (k = 0; k < K_NR; k++) {
		if (inited[k])
			exits[k](&devs[k]);
		inited[k] = false;
	}
	if (machine_on)
		pci__exit(&m.pci);
	for (k = 0; k < K_NR; k++) {
		free(vps[k]);
		vps[k] = NULL;
	}
	if (machine_on) {
		bus__exit(&m.ports);
		bus__exit(&m.mmio);
	}
	machine_on = false;
	if (wire >= 0)
		close(wire);
	if (tapfd >= 0)
		close(tapfd);
	if (cons_fd >= 0)
		close(cons_fd);
	wire = tapfd = cons_fd = -1;
	unlink(disk_path);
	unlink(cons_path);
}

/*
 * Every type on the bus (slots 1-5), its thread started, the balloon
 * attached to "VM fd" 100 with target 0x100: 0 or -1.
 */
static int rig_up(struct tctx *t)
{
	unsigned int k;

	memset(&fk, 0, sizeof(fk));
	memset(devs, 0, sizeof(devs));
	fk.target = 0x100;
	vm_fd = 100;
	strcpy(cons_path, "/tmp/khyp-restart-cons-XXXXXX");
	cons_fd = mkstemp(cons_path);
	if (cons_fd < 0 || disk_make() || machine_up(t))
		return -1;
	for (k = 0; k < K_NR; k++) {
		if (rig_init(t, k))
			return -1;
		inited[k] = true;
		vps[k] = vpci__create(&m, &devs[k], kind_class[k], t->err,
				      sizeof(t->err));
		if (!vps[k])
			return -1;
		memset(&drvs[k], 0, sizeof(drvs[k]));
		drvs[k].kind = k;
		drvs[k].slot = m.pci.nr_slots - 1;
		if (virtio__start(&devs[k], t->err, sizeof(t->err)))
			return -1;
	}
	return vballoon__attach(&devs[K_BAL]) ? -1 : 0;
}

/* Requests on every queue of d, notified, not waited for. */
static void drv_flood(struct tctx *t, struct drv *d)
{
	unsigned int i, q, n = 4;
	struct seg s[3];
	unsigned char frame[FRAME];

	for (i = 0; i < n; i++) {
		memset(s, 0, sizeof(s));
		switch (d->kind) {
		case K_BLK:
			s[0] = (struct seg){ buf(d, 0, 3 * i), 16, false };
			s[1] = (struct seg){ buf(d, 0, 3 * i + 1), 4096, true };
			s[2] = (struct seg){ buf(d, 0, 3 * i + 2), 1, true };
			memset(t->gm.base + s[0].gpa, 0, 16);	/* T_IN, 0 */
			drv_chain(t, d, 0, s, 3);
			break;
		case K_NET:
			s[0] = (struct seg){ buf(d, 1, i), NET_HDR + FRAME, false };
			drv_chain(t, d, 1, s, 1);
			s[0] = (struct seg){ buf(d, 0, i), 1526, true };
			drv_chain(t, d, 0, s, 1);
			memset(frame, (int)i, sizeof(frame));
			if (send(wire, frame, sizeof(frame), MSG_DONTWAIT) < 0)
				break;
			break;
		case K_CONS:
			memcpy(t->gm.base + buf(d, 1, i), "flood\n", 6);
			s[0] = (struct seg){ buf(d, 1, i), 6, false };
			drv_chain(t, d, 1, s, 1);
			break;
		case K_RNG:
			s[0] = (struct seg){ buf(d, 0, i), 4096, true };
			drv_chain(t, d, 0, s, 1);
			break;
		default:
			memset(t->gm.base + buf(d, 0, i), 0, 64);
			s[0] = (struct seg){ buf(d, 0, i), 64, false };
			drv_chain(t, d, 0, s, 1);
			break;
		}
	}
	for (q = 0; q < kind_queues[d->kind]; q++)
		drv_notify(d, q);
}

/* What the wire and the "tap" hold: dropped (a new boot's guest starts clean). */
static void wire_drain(void)
{
	unsigned char f[2048];

	while (recv(wire, f, sizeof(f), MSG_DONTWAIT) > 0)
		;
	while (recv(tapfd, f, sizeof(f), MSG_DONTWAIT) > 0)
		;
}

static void restart_reset_while_running_body(struct tctx *t)
{
	uint16_t used[K_NR];
	struct vballoon_counts n;
	unsigned int r, k, i;
	bool machine;

	EXPECT_OK(t, rig_up(t));
	for (r = 0; r < ROUNDS; r++) {
		machine = r & 1;
		for (k = 0; k < K_NR; k++)
			EXPECT_OK(t, drv_up(t, &drvs[k]));
		/* the balloon's module calls take 20 ms: one is in progress */
		fk.delay_us = 20000;
		for (k = 0; k < K_NR; k++)
			drv_flood(t, &drvs[k]);
		for (i = 0; i < 2000 && !__atomic_load_n(&fk.in_call,
							 __ATOMIC_SEQ_CST); i++)
			usleep(100);
		CHECK(t, __atomic_load_n(&fk.in_call, __ATOMIC_SEQ_CST));
		if (machine) {
			pci__reset(&m.pci);
		} else {
			for (k = 0; k < K_NR; k++)
				wr(&drvs[k], VIRTIO_PCI_COMMON_STATUS, 1, 0);
		}
		/* the batch in progress ended before the reset did */
		CHECK(t, !__atomic_load_n(&fk.in_call, __ATOMIC_SEQ_CST));
		for (k = 0; k < K_NR; k++) {
			used[k] = drv_used(t, &drvs[k], 0);
			if (!drv_power_on(&drvs[k], machine)) {
				snprintf(t->err, sizeof(t->err),
					 "round %u, slot %u", r, drvs[k].slot);
				CHECK(t, !"the device as at power-on");
			}
		}
		vballoon__counts(&devs[K_BAL], &n);
		if (machine)
			CHECK(t, !n.pages[KHYP_BALLOON_OP_INFLATE] &&
				 !n.num_pages && !n.target_changes);
		/* and nothing reaches the old rings after it */
		usleep(20000);
		for (k = 0; k < K_NR; k++)
			CHECK(t, drv_used(t, &drvs[k], 0) == used[k]);
		fk.delay_us = 0;
		wire_drain();
		if (machine)	/* the next boot's VM */
			EXPECT_OK(t, vballoon__attach(&devs[K_BAL]));
	}
	/* the threads serve the next driver */
	for (k = 0; k < K_NR; k++) {
		EXPECT_OK(t, drv_up(t, &drvs[k]));
		CHECK(t, drv_works(t, &drvs[k]));
	}
}

static void restart_reset_while_running(struct tctx *t)
{
	restart_reset_while_running_body(t);
	rig_down();
}

static void restart_no_leaks_body(struct tctx *t)
{
	struct vballoon_counts n;
	int fds, threads, efd;
	unsigned int i, k;

	EXPECT_OK(t, rig_up(t));
	efd = fk.efd;
	CHECK(t, fk.efd_vm == 100 && fk.registrations == 1);
	for (k = 0; k < K_NR; k++) {
		EXPECT_OK(t, drv_up(t, &drvs[k]));
		CHECK(t, drv_works(t, &drvs[k]));
	}
	CHECK(t, rd(&drvs[K_BAL], 0x2000, 4) == 0x100);
	fds = FDS();
	threads = THREADS();
	CHECK(t, fds > 0 && threads > K_NR);
	for (i = 0; i < RESTARTS; i++) {
		/* the boot ends: the threads stop before its VM goes */
		for (k = 0; k < K_NR; k++)
			virtio__stop(&devs[k]);
		CHECK(t, THREADS() == threads - K_NR);
		pci__reset(&m.pci);
		for (k = 0; k < K_NR; k++)
			CHECK(t, drv_power_on(&drvs[k], true));
		for (k = 0; k < K_NR; k++)
			EXPECT_OK(t, virtio__start(&devs[k], t->err,
						   sizeof(t->err)));
		/* the next VM: another fd, another target */
		vm_fd = 101 + i;
		fk.target = 0x200 + i;
		EXPECT_OK(t, vballoon__attach(&devs[K_BAL]));
		CHECK(t, FDS() == fds && THREADS() == threads);
	}
	CHECK(t, fk.registrations == RESTARTS + 1 && fk.efd == efd &&
		 fk.efd_vm == 100 + RESTARTS);
	CHECK(t, rd(&drvs[K_BAL], 0x2000, 4) == 0x200 + RESTARTS - 1);
	vballoon__counts(&devs[K_BAL], &n);
	CHECK(t, n.target_changes == 1 && !n.pages[KHYP_BALLOON_OP_INFLATE] &&
		 n.num_pages == 0x200 + RESTARTS - 1);
	/* the last boot's drivers: every device, the same "tap" both ways */
	for (k = 0; k < K_NR; k++) {
		EXPECT_OK(t, drv_up(t, &drvs[k]));
		CHECK(t, drv_works(t, &drvs[k]));
	}
	vballoon__counts(&devs[K_BAL], &n);
	CHECK(t, n.pages[KHYP_BALLOON_OP_INFLATE] == 4);
	CHECK(t, cons_has("KHYP-RESTART 0\n") && cons_has("KHYP-RESTART 1\n"));
	CHECK(t, FDS() == fds && THREADS() == threads);
}

static void restart_no_leaks(struct tctx *t)
{
	restart_no_leaks_body(t);
	rig_down();
}

/* ---- the machine as cmd_run builds it ---- */

static int null_fd = -1;

static void restart_machine_body(struct tctx *t)
{
	static const enum kind order[] = { K_BLK, K_CONS, K_RNG, K_BAL };
	struct drv *d;
	int fds, threads;
	unsigned int i, k;

	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(t, null_fd >= 0);
	EXPECT_OK(t, disk_make());
	strcpy(cons_path, "/tmp/khyp-restart-cons-XXXXXX");
	cons_fd = mkstemp(cons_path);
	CHECK(t, cons_fd >= 0);
	memset(&m, 0, sizeof(m));
	memset(&opts, 0, sizeof(opts));
	opts.mem_size = GUEST_SIZE;
	opts.cpus = 1;
	opts.reboot_restart = true;
	snprintf(opts.disks[0].path, sizeof(opts.disks[0].path), "%s",
		 disk_path);
	opts.nr_disks = 1;
	opts.console = true;
	opts.console_path = cons_path;
	opts.rng = true;
	opts.balloon = true;
	m.opts = &opts;
	m.linux_image = true;
	m.vm.mem = t->gm;
	m.vm.fd = -1;		/* the balloon's ioctls fail: counted */
	m.out_fd = null_fd;
	m.in_fd = -1;
	/* a failed devices__init() has undone itself */
	if (devices__init(&m, t->err, sizeof(t->err)))
		CHECK(t, !"devices__init");
	machine_on = true;
	CHECK(t, m.nr_disks == 1 && m.nr_vfns == 3 && m.balloon);
	m.pci.irq_line = tv_no_line;
	m.pci.msi = tv_no_msi;
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		d = &drvs[order[i]];
		memset(d, 0, sizeof(*d));
		d->kind = order[i];
		d->slot = i + 1;
		d->no_pfns = true;	/* no module: the ioctl would fail */
	}
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		EXPECT_OK(t, drv_up(t, &drvs[order[i]]));
		CHECK(t, drv_works(t, &drvs[order[i]]));
	}
	fds = FDS();
	threads = THREADS();
	for (k = 0; k < 10; k++) {
		virtio_disks__stop(&m);
		virtio_fns__stop(&m);
		CHECK(t, THREADS() == threads - 4);
		EXPECT_OK(t, devices__restart(&m, t->err, sizeof(t->err)));
		CHECK(t, THREADS() == threads && FDS() == fds);
		for (i = 0; i < ARRAY_SIZE(order); i++) {
			d = &drvs[order[i]];
			CHECK(t, drv_power_on(d, true));
			EXPECT_OK(t, drv_up(t, d));
			CHECK(t, drv_works(t, d));
		}
	}
	/* the console's file kept every boot's line */
	CHECK(t, cons_has("KHYP-RESTART 0\n") && cons_has("KHYP-RESTART 10\n"));
}

static void restart_machine(struct tctx *t)
{
	restart_machine_body(t);
	if (machine_on) {
		virtio_disks__stop(&m);
		virtio_fns__stop(&m);
		devices__exit(&m);
		machine_on = false;
	}
	if (null_fd >= 0)
		close(null_fd);
	if (cons_fd >= 0)
		close(cons_fd);
	null_fd = cons_fd = -1;
	unlink(disk_path);
	unlink(cons_path);
}

const struct tcase vrestart_cases[] = {
	{ "restart_reset_while_running", restart_reset_while_running },
	{ "restart_no_leaks", restart_no_leaks },
	{ "restart_machine", restart_machine },
	{ NULL, NULL },
};
