// SPDX-License-Identifier: GPL-2.0
/*
 * The modern virtio-pci transport (virtio 1.2, 4.1): how a driver such as
 * Linux's virtio_pci_modern reaches a virtio device on the PCI bus of
 * devices/pci.c.
 *
 * The function: vendor 0x1af4, device 0x1040 + the virtio type (0x1042
 * for a block device, 0x1041 network, 0x1043 console, 0x1044 entropy),
 * revision 1 (no legacy interface), subsystem 1af4:1100 as QEMU's, INTA.
 * Its vendor-specific capabilities point into BAR 4 (64-bit memory,
 * 16 KiB):
 *
 *   0x0000  common cfg   struct virtio_pci_common_cfg (+ the 1.2 fields)
 *   0x1000  ISR          bit 0 queue, bit 1 config; a read clears it
 *   0x2000  device cfg   the type's (struct virtio_blk_config); no
 *                        capability for a type without one (entropy)
 *   0x3000  notify       queue q at 0x3000 + q * 4 (notify_off_multiplier 4)
 *
 * and MSI-X, one vector for the configuration and one per queue, in BAR 1
 * (the PCI core's).  A notify write only wakes the device's I/O thread
 * (virtio__kick): no lock, no disk I/O on the vCPU.  Every other register
 * access takes dev->lock (virtio.h: after the machine's lock).
 *
 * Interrupts: with MSI-X enabled, the vector the driver wrote for the
 * queue (or the configuration) is sent through the PCI core, or nothing
 * for VIRTIO_MSI_NO_VECTOR; without MSI-X, the ISR bit is set and INTx
 * asserted until the driver reads the ISR.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_config.h>

#include "../../khyp.h"
#include "virtio.h"

#define VPCI_BAR		4
#define VPCI_BAR_SIZE		0x4000
#define VPCI_MSIX_BAR		1
#define VPCI_COMMON		0x0000
#define VPCI_COMMON_LEN		0x40	/* 56 bytes, 60 with the 1.2 fields */
#define VPCI_ISR		0x1000
#define VPCI_DEVICE		0x2000
#define VPCI_NOTIFY		0x3000
#define VPCI_NOTIFY_MULT	4
#define VPCI_REGION		0x1000

/* ISR bit 0 (bit 1 is the uapi's VIRTIO_PCI_ISR_CONFIG) */
#define VPCI_ISR_QUEUE		0x1
/* mass storage, SCSI: the class QEMU gives virtio-blk */
#define VPCI_CLASS_BLK		0x010000

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040
#define VIRTIO_PCI_SUBSYS	0x1100

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_dev *dev;
	/* the transport's registers, under dev->lock */
	uint32_t dfselect;		/* device_feature_select */
	uint32_t gfselect;		/* driver_feature_select */
	uint16_t queue_select;
	uint16_t msix_config;
	uint16_t msix_queue[VIRTIO_MAX_QUEUES];
	uint8_t isr;
};

static void vpci__reset(struct virtio_pci *vp)
{
	unsigned int q;

	virtio__reset(vp->dev);
	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	for (q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vp->msix_queue[q] = VIRTIO_MSI_NO_VECTOR;
	vp->isr = 0;
	pci__set_irq(&vp->pci, 0);
}

/*
 * A machine reset (pci__reset, --reboot restart): the transport's too,
 * and what the device type keeps across a driver's reset.
 */
static void vpci__machine_reset(struct pci_dev *d)
{
	struct virtio_pci *vp = d->priv;
	struct virtio_dev *dev = vp->dev;

	virtio__lock(dev);
	vpci__reset(vp);
	if (dev->type->machine_reset)
		dev->type->machine_reset(dev);
	virtio__unlock(dev);
}

static const struct pci_dev_ops vpci__ops = {
	.reset = vpci__machine_reset,
};

/* The queue the driver selected, or NULL past the device's queues. */
static struct virtq *vpci__vq(struct virtio_pci *vp)
{
	if (vp->queue_select >= vp->dev->nr_queues)
		return NULL;
	return &vp->dev->vqs[vp->queue_select];
}

/* The common configuration as the driver reads it, little-endian. */
static void vpci__common_read(struct virtio_pci *vp, unsigned char *buf)
{
	struct virtio_dev *dev = vp->dev;
	struct virtq *vq = vpci__vq(vp);
	struct virtio_pci_common_cfg c;
	uint64_t df;

	memset(&c, 0, sizeof(c));
	df = vp->dfselect < 2 ? dev->host_features >> (32 * vp->dfselect) : 0;
	c.device_feature_select = htole32(vp->dfselect);
	c.device_feature = htole32((uint32_t)df);
	c.guest_feature_select = htole32(vp->gfselect);
	c.guest_feature = htole32(vp->gfselect < 2 ?
		(uint32_t)(dev->driver_features >> (32 * vp->gfselect)) : 0);
	c.msix_config = htole16(vp->msix_config);
	c.num_queues = htole16(dev->nr_queues);
	c.device_status = dev->status;
	c.config_generation = dev->config_generation;
	c.queue_select = htole16(vp->queue_select);
	if (vq) {
		c.queue_size = htole16(vq->size);
		c.queue_msix_vector = htole16(vp->msix_queue[vp->queue_select]);
		c.queue_enable = htole16(vq->started);
		c.queue_notify_off = htole16(vp->queue_select);
		c.queue_desc_lo = htole32((uint32_t)vq->desc_gpa);
		c.queue_desc_hi = htole32((uint32_t)(vq->desc_gpa >> 32));
		c.queue_avail_lo = htole32((uint32_t)vq->avail_gpa);
		c.queue_avail_hi = htole32((uint32_t)(vq->avail_gpa >> 32));
		c.queue_used_lo = htole32((uint32_t)vq->used_gpa);
		c.queue_used_hi = htole32((uint32_t)(vq->used_gpa >> 32));
	}
	memset(buf, 0, VPCI_COMMON_LEN);
	memcpy(buf, &c, sizeof(c));
	/* 56: queue_notify_data (no NOTIF_CONFIG_DATA: 0), 58: queue_reset */
}

/* A vector the driver may use: one we have, or NO_VECTOR. */
static uint16_t vpci__vector(const struct virtio_pci *vp, uint16_t v)
{
	return v < vp->pci.msix_nr ? v : VIRTIO_MSI_NO_VECTOR;
}

static void set_half(uint64_t *v, bool hi, uint32_t x)
{
	if (hi)
		*v = (*v & 0xffffffffULL) | (uint64_t)x << 32;
	else
		*v = (*v & ~0xffffffffULL) | x;
}

/* A write of the field at off (its new value in v). */
static void vpci__common_field(struct virtio_pci *vp, unsigned int off,
			       uint32_t v)
{
	struct virtio_dev *dev = vp->dev;
	struct virtq *vq = vpci__vq(vp);
	bool q_open = vq && !vq->started;	/* queue fields writable */

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfselect = v;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfselect = v;
		break;
	case VIRTIO_PCI_COMMON_GF:
		/* fixed once FEATURES_OK is set */
		if (vp->gfselect < 2 &&
		    !(dev->status & VIRTIO_CONFIG_S_FEATURES_OK))
			set_half(&dev->driver_features, vp->gfselect, v);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->msix_config = vpci__vector(vp, (uint16_t)v);
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		if (!(v & 0xff)) {
			vpci__reset(vp);
			break;
		}
		virtio__set_status(dev, (uint8_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_select = (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (q_open)
			vq->size = (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (vq)
			vp->msix_queue[vp->queue_select] =
				vpci__vector(vp, (uint16_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (vq && (v & 0xffff) == 1)
			virtio__enable_queue(dev, vp->queue_select);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		if (q_open)
			set_half(&vq->desc_gpa,
				 off == VIRTIO_PCI_COMMON_Q_DESCHI, v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		if (q_open)
			set_half(&vq->avail_gpa,
				 off == VIRTIO_PCI_COMMON_Q_AVAILHI, v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		if (q_open)
			set_half(&vq->used_gpa,
				 off == VIRTIO_PCI_COMMON_Q_USEDHI, v);
		break;
	}
}

/* The writable fields: offset and width. */
static const struct { uint8_t off, len; } vpci_fields[] = {
	{ VIRTIO_PCI_COMMON_DFSELECT, 4 }, { VIRTIO_PCI_COMMON_GFSELECT, 4 },
	{ VIRTIO_PCI_COMMON_GF, 4 }, { VIRTIO_PCI_COMMON_MSIX, 2 },
	{ VIRTIO_PCI_COMMON_STATUS, 1 }, { VIRTIO_PCI_COMMON_Q_SELECT, 2 },
	{ VIRTIO_PCI_COMMON_Q_SIZE, 2 }, { VIRTIO_PCI_COMMON_Q_MSIX, 2 },
	{ VIRTIO_PCI_COMMON_Q_ENABLE, 2 },
	{ VIRTIO_PCI_COMMON_Q_DESCLO, 4 }, { VIRTIO_PCI_COMMON_Q_DESCHI, 4 },
	{ VIRTIO_PCI_COMMON_Q_AVAILLO, 4 }, { VIRTIO_PCI_COMMON_Q_AVAILHI, 4 },
	{ VIRTIO_PCI_COMMON_Q_USEDLO, 4 }, { VIRTIO_PCI_COMMON_Q_USEDHI, 4 },
};

/*
 * A write of any width: merged into the registers as read, then each
 * writable field it touched is written whole (the driver uses each
 * field's own width; a narrower write still means something).
 */
static void vpci__common_write(struct virtio_pci *vp, unsigned int off,
			       unsigned int size, uint64_t data)
{
	unsigned char buf[VPCI_COMMON_LEN];
	unsigned int i, k;
	uint32_t v;

	vpci__common_read(vp, buf);
	for (k = 0; k < size && off + k < VPCI_COMMON_LEN; k++)
		buf[off + k] = (unsigned char)(data >> (8 * k));
	for (i = 0; i < sizeof(vpci_fields) / sizeof(vpci_fields[0]); i++) {
		if (vpci_fields[i].off + vpci_fields[i].len <= off ||
		    vpci_fields[i].off >= off + size)
			continue;
		v = 0;
		memcpy(&v, buf + vpci_fields[i].off, vpci_fields[i].len);
		vpci__common_field(vp, vpci_fields[i].off, le32toh(v));
	}
}

/* BAR 4: one handler for the four regions. */
static int vpci__bar_io(struct bus_access *a, void *opaque)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *dev = vp->dev;
	unsigned int region = (unsigned int)(a->off / VPCI_REGION);
	unsigned int off = (unsigned int)(a->off % VPCI_REGION), k;
	unsigned char buf[VPCI_COMMON_LEN];

	if (region == VPCI_NOTIFY / VPCI_REGION) {
		if (a->write && !(off % VPCI_NOTIFY_MULT))
			virtio__kick(dev, off / VPCI_NOTIFY_MULT);
		if (!a->write)
			a->data = 0;
		return RUN_CONTINUE;
	}
	virtio__lock(dev);
	switch (region) {
	case VPCI_COMMON / VPCI_REGION:
		if (a->write) {
			vpci__common_write(vp, off, a->size, a->data);
			break;
		}
		vpci__common_read(vp, buf);
		a->data = 0;
		for (k = 0; k < a->size && off + k < VPCI_COMMON_LEN; k++)
			a->data |= (uint64_t)buf[off + k] << (8 * k);
		break;
	case VPCI_ISR / VPCI_REGION:
		if (a->write)
			break;
		a->data = off ? 0 : vp->isr;
		if (!off) {
			vp->isr = 0;
			pci__set_irq(&vp->pci, 0);
		}
		break;
	case VPCI_DEVICE / VPCI_REGION:
		if (a->write) {
			if (dev->type->config_write && off < dev->config_len)
				dev->type->config_write(dev, off, &a->data,
							a->size);
			break;
		}
		a->data = 0;
		for (k = 0; k < a->size && off + k < dev->config_len; k++)
			a->data |= (uint64_t)dev->config[off + k] << (8 * k);
		break;
	default:
		if (!a->write)
			a->data = 0;
		break;
	}
	virtio__unlock(dev);
	return RUN_CONTINUE;
}

/* An interrupt: MSI-X vector v, or INTx with the ISR bit (dev->lock held). */
static void vpci__irq(struct virtio_pci *vp, uint16_t v, uint8_t isr)
{
	int r;

	if (pci__msix_enabled(&vp->pci)) {
		if (v == VIRTIO_MSI_NO_VECTOR)
			return;
		r = pci__msix_notify(&vp->pci, v);
		if (r != -ENODEV)
			return;
	}
	vp->isr |= isr;
	pci__set_irq(&vp->pci, 1);
}

static void vpci__irq_queue(struct virtio_dev *dev, unsigned int q)
{
	struct virtio_pci *vp = dev->transport.opaque;

	vpci__irq(vp, vp->msix_queue[q], VPCI_ISR_QUEUE);
}

static void vpci__irq_config(struct virtio_dev *dev)
{
	struct virtio_pci *vp = dev->transport.opaque;

	vpci__irq(vp, vp->msix_config, VIRTIO_PCI_ISR_CONFIG);
}

static int vpci__add_cap(struct virtio_pci *vp, uint8_t type, uint32_t off,
			 uint32_t len, char *err, size_t errlen)
{
	struct virtio_pci_notify_cap c;
	unsigned int size = sizeof(c.cap);

	memset(&c, 0, sizeof(c));
	c.cap.cap_vndr = PCI_CAP_ID_VNDR;
	c.cap.cfg_type = type;
	c.cap.bar = VPCI_BAR;
	c.cap.offset = htole32(off);
	c.cap.length = htole32(len);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
		c.notify_off_multiplier = htole32(VPCI_NOTIFY_MULT);
		size = sizeof(c);
	}
	c.cap.cap_len = (uint8_t)size;
	return pci_dev__add_cap(&vp->pci, &c, size, err, errlen) < 0 ? -1 : 0;
}

struct virtio_pci *vpci__create(struct machine *m, struct virtio_dev *dev,
				uint32_t class_code, char *err, size_t errlen)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	struct pci_ids ids = {
		.vendor = VIRTIO_PCI_VENDOR,
		.device = VIRTIO_PCI_DEVICE_BASE + dev->type->id,
		.subsys_vendor = VIRTIO_PCI_VENDOR,
		.subsys = VIRTIO_PCI_SUBSYS,
		.class_code = class_code,
		.revision = 1,
		.irq_pin = 1,
	};

	if (!vp) {
		snprintf(err, errlen, "%s: out of memory", dev->name);
		return NULL;
	}
	vp->dev = dev;
	dev->transport.irq_queue = vpci__irq_queue;
	dev->transport.irq_config = vpci__irq_config;
	dev->transport.opaque = vp;
	pci_dev__init(&vp->pci, dev->name, &ids);
	vp->pci.priv = vp;
	vp->pci.ops = &vpci__ops;
	if (pci_dev__bar(&vp->pci, VPCI_BAR, PCI_BAR_MEM64, VPCI_BAR_SIZE,
			 BUS_WIDTH_ANY, vpci__bar_io, vp, err, errlen) ||
	    vpci__add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON,
			  VPCI_COMMON_LEN, err, errlen) ||
	    vpci__add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY,
			  VPCI_NOTIFY_MULT * dev->nr_queues, err, errlen) ||
	    vpci__add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR, 1,
			  err, errlen) ||
	    /* none for a type without configuration (virtio-rng) */
	    (dev->config_len &&
	     vpci__add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE,
			   dev->config_len, err, errlen)) ||
	    pci_dev__msix(&vp->pci, dev->nr_queues + 1, VPCI_MSIX_BAR,
			  err, errlen) ||
	    pci__register(&m->pci, &vp->pci, err, errlen)) {
		free(vp);
		return NULL;
	}
	virtio__lock(dev);
	vpci__reset(vp);
	virtio__unlock(dev);
	return vp;
}

/* ---- --disk: a virtio-blk PCI function per image ---- */

struct virtio_disk {
	struct virtio_dev dev;
	struct virtio_pci *vp;
};

int virtio_disks__init(struct machine *m, char *err, size_t errlen)
{
	const struct run_opts *o = m->opts;
	struct virtio_disk *d;
	unsigned int i;

	for (i = 0; i < o->nr_disks; i++) {
		d = calloc(1, sizeof(*d));
		if (!d) {
			snprintf(err, errlen, "--disk: out of memory");
			return -1;
		}
		if (vblk__init(&d->dev, o->disks[i].path, o->disks[i].ro, i,
			       &m->vm.mem, err, errlen)) {
			free(d);
			return -1;
		}
		m->disks[m->nr_disks++] = d;
		d->vp = vpci__create(m, &d->dev, VPCI_CLASS_BLK, err, errlen);
		if (!d->vp)
			return -1;
		if (virtio__start(&d->dev, err, errlen))
			return -1;
	}
	return 0;
}

/*
 * Stop the I/O threads and close the images: before pci__exit, so that no
 * thread raises an interrupt meanwhile.
 */
/*
 * Stop the I/O threads, before the VM and its memory go: a request in
 * flight must not be completed into unmapped guest RAM.
 */
void virtio_disks__stop(struct machine *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_disks; i++)
		virtio__stop(&m->disks[i]->dev);
}

/*
 * After a machine reset (the devices reset by pci__reset): the I/O
 * threads virtio_disks__stop() ended run again, for the next boot.
 */
int virtio_disks__restart(struct machine *m, char *err, size_t errlen)
{
	unsigned int i;

	for (i = 0; i < m->nr_disks; i++)
		if (virtio__start(&m->disks[i]->dev, err, errlen))
			return -1;
	return 0;
}

void virtio_disks__exit(struct machine *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_disks; i++)
		vblk__exit(&m->disks[i]->dev);
}

/* Free the PCI functions: after pci__exit, which still touches them. */
void virtio_disks__free(struct machine *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_disks; i++) {
		free(m->disks[i]->vp);
		free(m->disks[i]);
		m->disks[i] = NULL;
	}
	m->nr_disks = 0;
}
