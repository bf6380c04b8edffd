// SPDX-License-Identifier: GPL-2.0
/*
 * The devices of a khyp machine, in the order they claim their ranges on
 * its two buses (bus.h): the port space 0-0xffff and the guest-physical
 * addresses outside RAM.  A new device adds its init here: RTC, i8042 and
 * the PCI host bridge on ports, virtio-mmio and the LAPIC on MMIO.
 */
#include "../khyp.h"

typedef int (*device_init_t)(struct machine *m, char *err, size_t errlen);

static const device_init_t device_inits[] = {
	serial__init,		/* devices/serial.c: COM1 */
	debug__init,		/* devices/debug.c: 0xf4, 0x80 */
	fw_cfg__init,		/* devices/fw_cfg.c: 0x510, 0x511 */
	pci_host__init,		/* devices/pci.c: 0xcf8, 0xcfc; before PCI devices */
	virtio_disks__init,	/* devices/virtio/pci.c: --disk */
	acpi_pm__init,		/* devices/acpi_pm.c: 0x600, 0x620 */
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

void devices__exit(struct machine *m)
{
	virtio_disks__exit(m);
	pci__exit(&m->pci);
	virtio_disks__free(m);
	bus__exit(&m->ports);
	bus__exit(&m->mmio);
	fw_cfg__free(&m->fw_cfg);
}
