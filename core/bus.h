/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel address-space dispatch ("bus") of one VM: which device in
 * the kernel answers an access to an MMIO address or an I/O port.
 *
 * A guest access that is not RAM goes, in this order, (1) to mmu/fault.c,
 * which maps it if it is RAM, (2) to the range registered here that holds
 * it, whose device completes the access synchronously, and (3) only if
 * no one claims it, to userspace (KHYP_EXIT_MMIO or KHYP_EXIT_IO).  MMIO
 * and port I/O use the same registry, one table per address space.
 *
 * The local APIC's xAPIC page registers here when a VM has an irqchip
 * (irq/irqchip.c); the IOAPIC and PIT ports (and notification addresses
 * in the style of KVM's ioeventfd) will.  Without any, every access goes
 * to userspace.
 */
#ifndef KHYP_CORE_BUS_H
#define KHYP_CORE_BUS_H

#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

struct khyp_vcpu;
struct khyp_bus_dev;

/* The address spaces a device can sit in. */
enum khyp_bus_space {
	KHYP_BUS_MMIO,		/* guest-physical addresses that are not RAM */
	KHYP_BUS_PIO,		/* I/O ports, 0 .. 0xffff */
	KHYP_BUS_NR
};

/**
 * struct khyp_bus_ops - what a device does with an access
 * @read:	put @len (1, 2, 4 or 8) bytes at @addr into *@val.
 * @write:	take @len bytes at @addr from @val (zero-extended).
 *
 * Called by the vCPU thread of @vcpu, in an RCU read-side critical
 * section (see struct khyp_bus): they must not sleep.  @addr is the
 * absolute address; the access lies within the device's range.  A device
 * cannot refuse an access it registered for: reads of nothing return
 * what the device's hardware would (often all ones).
 */
struct khyp_bus_ops {
	void (*read)(struct khyp_bus_dev *dev, struct khyp_vcpu *vcpu,
		     u64 addr, unsigned int len, u64 *val);
	void (*write)(struct khyp_bus_dev *dev, struct khyp_vcpu *vcpu,
		      u64 addr, unsigned int len, u64 val);
};

/**
 * struct khyp_bus_dev - one range of one address space
 * @base:	(r) first address.
 * @len:	(r) length in bytes, > 0.
 * @ops:	(r) the device's handlers.
 *
 * Embedded in the device's own struct (container_of in its ops).
 * (r): set by khyp_bus_register(), constant until unregistered.
 */
struct khyp_bus_dev {
	u64 base;
	u64 len;
	const struct khyp_bus_ops *ops;
};

/* One address space's ranges, sorted by base, never overlapping. */
struct khyp_bus_table {
	struct rcu_head rcu;
	unsigned int nr;
	struct khyp_bus_dev *devs[];
};

/**
 * struct khyp_bus - the in-kernel devices of one VM
 * @lock:	serialises registration and removal.  Taken at VM setup
 *		(and, later, from VM ioctls); never on the exit path.
 * @tables:	(writers: @lock; readers: RCU) per address space, the
 *		table of ranges, or NULL while there is none.  A change
 *		copies the table and publishes the copy; the old one is
 *		freed after a grace period.
 *
 * Lock rules: exits look ranges up and call the device's ops under
 * rcu_read_lock() only, so a lookup never waits for a registration and
 * ops must not sleep (a device that must would need SRCU here), nor
 * register or unregister (both take @lock and unregistering waits for
 * the readers: from an op it would wait for itself).  Both run in
 * process context, outside any lock a vCPU thread takes on an exit.
 * khyp_bus_unregister() waits for a grace period before it returns: from
 * then on no vCPU is still inside the device's ops, and the device may be
 * freed.  Registration order does not matter; a range that overlaps one
 * already registered is refused.
 */
struct khyp_bus {
	struct mutex lock;	/* serialises writers, see above */
	struct khyp_bus_table __rcu *tables[KHYP_BUS_NR];
};

void khyp_bus_init(struct khyp_bus *bus);
void khyp_bus_destroy(struct khyp_bus *bus);
int khyp_bus_register(struct khyp_bus *bus, enum khyp_bus_space space,
		      u64 base, u64 len, const struct khyp_bus_ops *ops,
		      struct khyp_bus_dev *dev);
void khyp_bus_unregister(struct khyp_bus *bus, enum khyp_bus_space space,
			 struct khyp_bus_dev *dev);
bool __khyp_bus_read(struct khyp_vcpu *vcpu, struct khyp_bus *bus,
		     enum khyp_bus_space space, u64 addr, unsigned int len,
		     u64 *val);
bool __khyp_bus_write(struct khyp_vcpu *vcpu, struct khyp_bus *bus,
		      enum khyp_bus_space space, u64 addr, unsigned int len,
		      u64 val);

/*
 * The exit path's first question: does any device sit in @space?  While
 * none does (port I/O: always today; MMIO: unless the VM has an irqchip),
 * an I/O or MMIO exit pays one load here, no RCU section and no call.
 * Reading the pointer without rcu_read_lock() is enough to test it for
 * NULL: a range registered meanwhile is seen from the next exit on, as it
 * would be with the lock.
 */
static inline bool khyp_bus_empty(struct khyp_bus *bus,
				  enum khyp_bus_space space)
{
	return !rcu_access_pointer(bus->tables[space]);
}

/**
 * khyp_bus_read() - let an in-kernel device answer a read
 * @vcpu:	the vCPU that reads, its mutex held
 * @bus:	its VM's bus
 * @space:	KHYP_BUS_MMIO or KHYP_BUS_PIO
 * @addr:	the address
 * @len:	1, 2, 4 or 8 bytes
 * @val:	the value read, if claimed
 *
 * Return: true if a device claimed the access (it is complete); false if
 * none did, and the access goes on to userspace.
 */
static inline bool khyp_bus_read(struct khyp_vcpu *vcpu, struct khyp_bus *bus,
				 enum khyp_bus_space space, u64 addr,
				 unsigned int len, u64 *val)
{
	if (khyp_bus_empty(bus, space))
		return false;
	return __khyp_bus_read(vcpu, bus, space, addr, len, val);
}

/**
 * khyp_bus_write() - let an in-kernel device take a write
 * @vcpu:	the vCPU that writes, its mutex held
 * @bus:	its VM's bus
 * @space:	KHYP_BUS_MMIO or KHYP_BUS_PIO
 * @addr:	the address
 * @len:	1, 2, 4 or 8 bytes
 * @val:	the value, zero-extended
 *
 * Return: true if a device claimed the access, as khyp_bus_read().
 */
static inline bool khyp_bus_write(struct khyp_vcpu *vcpu,
				  struct khyp_bus *bus,
				  enum khyp_bus_space space, u64 addr,
				  unsigned int len, u64 val)
{
	if (khyp_bus_empty(bus, space))
		return false;
	return __khyp_bus_write(vcpu, bus, space, addr, len, val);
}

#endif /* KHYP_CORE_BUS_H */
