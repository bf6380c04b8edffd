// SPDX-License-Identifier: GPL-2.0
/*
 * The devices of a khyp machine, in the order they claim their ranges on
 * its two buses (bus.h): the port space 0-0xffff and the guest-physical
 * addresses outside RAM.  A new device adds its init here: RTC, i8042 and
 * the PCI host bridge on ports, virtio-mmio and the LAPIC on MMIO.
 *
 * The devices outlive the VM: `khyp run --reboot restart` builds a new
 * VM after a guest reset and calls devices__restart(): devices__reset()
 * puts each device back as a PC's reset does (the CMOS RTC keeps its
 * time and NVRAM), then the virtio devices' I/O threads, which each boot
 * stopped before its VM went, start again.  Devices with threads of
 * their own for one boot start them in devices__start(), once the VM
 * and m->lock exist, and stop them in devices__stop() before the VM
 * goes.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../khyp.h"

typedef int (*device_init_t)(struct machine *m, char *err, size_t errlen);

static const device_init_t device_inits[] = {
	serial__init,		/* devices/serial.c: COM1 */
	debug__init,		/* devices/debug.c: 0xf4, 0x80 */
	fw_cfg__init,		/* devices/fw_cfg.c: 0x510, 0x511 */
	pci_host__init,		/* devices/pci.c: 0xcf8, 0xcfc; before PCI devices */
	virtio_disks__init,	/* devices/virtio/pci.c: --disk */
	virtio_fns__init,	/* devices/virtio/machine.c: --net, --console, --rng */
	acpi_pm__init,		/* devices/acpi_pm.c: 0x600, 0x620 */
	rtc__dev_init,		/* devices/rtc.c: 0x70, 0x71 */
	reset__init,		/* devices/reset.c: 0x60, 0x64, 0x92, 0xcf9 */
	pvpanic__init,		/* devices/pvpanic.c: 0x505 */
};

int devices__init(struct machine *m, char *err, size_t errlen)
{
	unsigned int i;

	bus__init(&m->ports, "port", 0x10000);
	bus__init(&m->mmio, "MMIO", 0);
	for (i = 0; i < sizeof(device_inits) / sizeof(device_inits[0]); i++) {
		if (device_inits[i](m, err, errlen)) {
			devices__exit(m);
			return -1;
		}
	}
	return 0;
}

int machine__reset(struct machine *m, const char *how)
{
	if (!m->opts->reboot_restart)
		fprintf(stderr, "khyp: guest reset (%s)\n", how);
	else if (m->opts->trace)
		fprintf(stderr, "khyp: guest reset (%s): restarting\n", how);
	return STATUS_RESET;
}

void machine__irq_line(struct machine *m, unsigned int irq, bool level)
{
	struct khyp_irq_level l = { .irq = irq, .level = level };

	if (!m->vm.irqchip)
		return;
	if (ioctl(m->vm.fd, KHYP_IRQ_LINE, &l))
		fprintf(stderr, "khyp: KHYP_IRQ_LINE %u to %d: %s\n", irq, level,
			strerror(errno));
}

int devices__thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int r;

	/* the stopping signals are the main thread's (run.c) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

void devices__reset(struct machine *m)
{
	serial__reset(m);
	rtc__reset(&m->rtc);
	reset__devices(m);
	acpi_pm__reset(&m->acpi_pm);
	pci__reset(&m->pci);		/* and the PCI devices (ops->reset) */
}

int devices__restart(struct machine *m, char *err, size_t errlen)
{
	devices__reset(m);
	if (virtio_disks__restart(m, err, errlen) ||
	    virtio_fns__restart(m, err, errlen))
		return -1;
	return 0;
}

int devices__start(struct machine *m)
{
	if (rtc__start(m) || serial__start(m)) {
		perror("khyp: a device thread");
		devices__stop(m);
		return -1;
	}
	return 0;
}

void devices__stop(struct machine *m)
{
	serial__stop(m);
	rtc__stop(m);
}

void devices__exit(struct machine *m)
{
	virtio_disks__exit(m);
	virtio_fns__exit(m);
	pci__exit(&m->pci);
	virtio_disks__free(m);
	virtio_fns__free(m);
	bus__exit(&m->ports);
	bus__exit(&m->mmio);
	fw_cfg__free(&m->fw_cfg);
}
