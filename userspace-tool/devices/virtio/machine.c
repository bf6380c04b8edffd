// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio devices of `khyp run` besides the disks (pci.c has those),
 * each a virtio-pci function on bus 0 after them, in this order:
 *
 *   --net tap[=NAME][,mac=MAC]  virtio-net on a host tap (net.c),
 *                               class 0x020000 (Ethernet)
 *   --console stdio|FILE        virtio-console, output only (console.c),
 *                               class 0x078000 (other communications)
 *   --rng                       virtio-rng from getrandom() (rng.c),
 *                               class 0x00ff00 (as QEMU's)
 *   --balloon[=SIZE]            virtio-balloon on the module's balloon
 *                               (balloon.c), class 0x00ff00; for a
 *                               bzImage guest only (the others speak
 *                               khyp's hypercall protocol)
 *
 * Each has its own I/O thread (virtio.c).  The life cycle is the disks':
 * virtio_fns__init() with the other devices, __stop() before the VM's
 * memory goes, __exit() before pci__exit(), __free() after it.  With
 * --reboot restart, each boot ends with __stop(), the machine reset
 * (pci__reset) puts each device back to power-on, and __restart()
 * starts the threads again for the next VM; the tap, the console's
 * output and the balloon's eventfd stay open throughout (main.c hands
 * the eventfd to each new VM: vballoon__attach).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../khyp.h"
#include "virtio.h"

#define VPCI_CLASS_NET		0x020000
#define VPCI_CLASS_CONSOLE	0x078000
#define VPCI_CLASS_RNG		0x00ff00
#define VPCI_CLASS_BALLOON	0x00ff00

struct virtio_fn {
	struct virtio_dev dev;
	struct virtio_pci *vp;
	void (*exit)(struct virtio_dev *dev);	/* the type's */
};

/* A new function for the machine: NULL with a message if out of memory. */
static struct virtio_fn *vfn__new(struct machine *m, char *err, size_t errlen)
{
	struct virtio_fn *f;

	if (m->nr_vfns == VIRTIO_FNS_MAX) {
		snprintf(err, errlen, "too many virtio devices");
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		snprintf(err, errlen, "virtio: out of memory");
	return f;
}

/* f's device is set up: put it on the bus and start its thread. */
static int vfn__add(struct machine *m, struct virtio_fn *f,
		    uint32_t class_code, char *err, size_t errlen)
{
	m->vfns[m->nr_vfns++] = f;
	f->vp = vpci__create(m, &f->dev, class_code, err, errlen);
	if (!f->vp)
		return -1;
	return virtio__start(&f->dev, err, errlen);
}

static int vfn__net(struct machine *m, char *err, size_t errlen)
{
	struct virtio_fn *f = vfn__new(m, err, errlen);

	if (!f)
		return -1;
	if (vnet__init(&f->dev, &m->opts->net, &m->vm.mem, err, errlen)) {
		free(f);
		return -1;
	}
	f->exit = vnet__exit;
	if (m->opts->trace)
		fprintf(stderr, "khyp: --net: tap device %s\n",
			vnet__ifname(&f->dev));
	return vfn__add(m, f, VPCI_CLASS_NET, err, errlen);
}

static int vfn__console(struct machine *m, char *err, size_t errlen)
{
	struct virtio_fn *f = vfn__new(m, err, errlen);

	if (!f)
		return -1;
	if (vcons__init(&f->dev, m->opts->console_path, &m->vm.mem, err,
			errlen)) {
		free(f);
		return -1;
	}
	f->exit = vcons__exit;
	return vfn__add(m, f, VPCI_CLASS_CONSOLE, err, errlen);
}

static int vfn__rng(struct machine *m, char *err, size_t errlen)
{
	struct virtio_fn *f = vfn__new(m, err, errlen);

	if (!f)
		return -1;
	if (vrng__init(&f->dev, &m->vm.mem, err, errlen)) {
		free(f);
		return -1;
	}
	f->exit = vrng__exit;
	return vfn__add(m, f, VPCI_CLASS_RNG, err, errlen);
}

static int vfn__balloon(struct machine *m, char *err, size_t errlen)
{
	struct virtio_fn *f = vfn__new(m, err, errlen);

	if (!f)
		return -1;
	if (vballoon__init(&f->dev, &vballoon_vm_host, &m->vm.fd, &m->vm.mem,
			   err, errlen)) {
		free(f);
		return -1;
	}
	f->exit = vballoon__exit;
	m->balloon = &f->dev;
	return vfn__add(m, f, VPCI_CLASS_BALLOON, err, errlen);
}

int virtio_fns__init(struct machine *m, char *err, size_t errlen)
{
	const struct run_opts *o = m->opts;

	if (o->net.on && vfn__net(m, err, errlen))
		return -1;
	if (o->console && vfn__console(m, err, errlen))
		return -1;
	if (o->rng && vfn__rng(m, err, errlen))
		return -1;
	if (o->balloon && m->linux_image && vfn__balloon(m, err, errlen))
		return -1;
	return 0;
}

void virtio_fns__stop(struct machine *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_vfns; i++)
		virtio__stop(&m->vfns[i]->dev);
}

int virtio_fns__restart(struct machine *m, char *err, size_t errlen)
{
	unsigned int i;

	for (i = 0; i < m->nr_vfns; i++)
		if (virtio__start(&m->vfns[i]->dev, err, errlen))
			return -1;
	return 0;
}

void virtio_fns__exit(struct machine *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_vfns; i++)
		m->vfns[i]->exit(&m->vfns[i]->dev);
}

void virtio_fns__free(struct machine *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_vfns; i++) {
		free(m->vfns[i]->vp);
		free(m->vfns[i]);
		m->vfns[i] = NULL;
	}
	m->nr_vfns = 0;
	m->balloon = NULL;
}
