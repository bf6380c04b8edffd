// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel address-space dispatch ("bus"): the ranges of MMIO
 * addresses and I/O ports that devices in the kernel answer (core/bus.h
 * says where it sits on the exit path, and its lock rules).
 *
 * Each address space has a table of ranges sorted by base, looked up by
 * binary search under RCU.  A table is never changed in place: a
 * registration builds a copy with the new range and publishes it, so an
 * exit sees either the old table or the new one, whole.  An access must
 * lie entirely within one range to be claimed; one that straddles a
 * range's end (or spans two) is not, and goes to userspace like any
 * access no one claims.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/overflow.h>
#include <linux/slab.h>

#include "bus.h"
#include "vcpu.h"
#include "vm.h"

void khyp_bus_init(struct khyp_bus *bus)
{
	mutex_init(&bus->lock);
}

/* The VM is going away: no vCPU is left to look anything up. */
void khyp_bus_destroy(struct khyp_bus *bus)
{
	struct khyp_bus_table *t;
	unsigned int i;

	for (i = 0; i < KHYP_BUS_NR; i++) {
		t = rcu_dereference_protected(bus->tables[i], true);
		/* Devices unregister before the VM goes. */
		WARN_ON_ONCE(t && t->nr);
		kfree(t);
	}
	mutex_destroy(&bus->lock);
}

static struct khyp_bus_table *khyp_bus_table(struct khyp_bus *bus,
					     enum khyp_bus_space space)
{
	lockdep_assert_held(&bus->lock);
	return rcu_dereference_protected(bus->tables[space],
					 lockdep_is_held(&bus->lock));
}

/* A range's last address (its end may be 2^64, which a u64 cannot hold). */
static u64 khyp_bus_last(const struct khyp_bus_dev *dev)
{
	return dev->base + (dev->len - 1);
}

/* The range holding [addr, addr + len), or NULL.  RCU or bus->lock. */
static struct khyp_bus_dev *khyp_bus_find(const struct khyp_bus_table *t,
					  u64 addr, unsigned int len)
{
	unsigned int lo = 0, hi = t->nr, mid;
	struct khyp_bus_dev *dev;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		dev = t->devs[mid];
		if (addr < dev->base)
			hi = mid;
		else if (addr - dev->base >= dev->len)
			lo = mid + 1;
		else
			return len <= dev->len - (addr - dev->base) ? dev : NULL;
	}
	return NULL;
}

/**
 * khyp_bus_register() - make a device answer a range of an address space
 * @bus:	the VM's bus
 * @space:	KHYP_BUS_MMIO or KHYP_BUS_PIO
 * @base:	first address of the range
 * @len:	its length in bytes
 * @ops:	the device's handlers
 * @dev:	the range, in the device's struct; filled here
 *
 * Process context (takes @bus->lock and allocates).  Vcpus may be running:
 * they see the range from their next exit on.
 *
 * Return: 0; -EINVAL for an empty range, one that wraps or leaves the
 * port space; -EEXIST if it overlaps a registered range; -ENOMEM.
 */
int khyp_bus_register(struct khyp_bus *bus, enum khyp_bus_space space,
		      u64 base, u64 len, const struct khyp_bus_ops *ops,
		      struct khyp_bus_dev *dev)
{
	struct khyp_bus_table *old, *new;
	unsigned int nr, i, at;
	u64 last;

	if (!len || check_add_overflow(base, len - 1, &last) ||
	    (space == KHYP_BUS_PIO && last > U16_MAX))
		return -EINVAL;
	might_sleep();

	mutex_lock(&bus->lock);
	old = khyp_bus_table(bus, space);
	nr = old ? old->nr : 0;
	for (at = 0; at < nr && old->devs[at]->base < base; at++)
		;
	/* The neighbours on both sides must end before / start after. */
	if ((at > 0 && khyp_bus_last(old->devs[at - 1]) >= base) ||
	    (at < nr && old->devs[at]->base <= last)) {
		mutex_unlock(&bus->lock);
		return -EEXIST;
	}
	new = kmalloc(struct_size(new, devs, nr + 1), GFP_KERNEL_ACCOUNT);
	if (!new) {
		mutex_unlock(&bus->lock);
		return -ENOMEM;
	}
	/* Only now: a @dev registered already keeps its live range. */
	dev->base = base;
	dev->len = len;
	dev->ops = ops;
	new->nr = nr + 1;
	for (i = 0; i < at; i++)
		new->devs[i] = old->devs[i];
	new->devs[at] = dev;
	for (i = at; i < nr; i++)
		new->devs[i + 1] = old->devs[i];
	rcu_assign_pointer(bus->tables[space], new);
	mutex_unlock(&bus->lock);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

/**
 * khyp_bus_unregister() - take a device's range away
 * @bus:	the VM's bus
 * @space:	as registered
 * @dev:	as registered
 *
 * Process context; may sleep.  When it returns, no vCPU is inside the
 * device's ops any more and @dev may be freed.
 */
void khyp_bus_unregister(struct khyp_bus *bus, enum khyp_bus_space space,
			 struct khyp_bus_dev *dev)
{
	struct khyp_bus_table *old, *new = NULL;
	unsigned int i, j;

	might_sleep();
	mutex_lock(&bus->lock);
	old = khyp_bus_table(bus, space);
	for (i = 0; old && i < old->nr && old->devs[i] != dev; i++)
		;
	if (WARN_ON_ONCE(!old || i == old->nr)) {
		mutex_unlock(&bus->lock);
		return;
	}
	if (old->nr > 1) {
		/* Small, and a removal must not fail. */
		new = kmalloc(struct_size(new, devs, old->nr - 1),
			      GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
		new->nr = old->nr - 1;
		for (i = 0, j = 0; i < old->nr; i++)
			if (old->devs[i] != dev)
				new->devs[j++] = old->devs[i];
	}
	rcu_assign_pointer(bus->tables[space], new);
	mutex_unlock(&bus->lock);
	synchronize_rcu();	/* no exit still reads the old table */
	kfree(old);
}

/* khyp_bus_read() (core/bus.h) once a device sits in @space. */
bool __khyp_bus_read(struct khyp_vcpu *vcpu, struct khyp_bus *bus,
		     enum khyp_bus_space space, u64 addr, unsigned int len,
		     u64 *val)
{
	struct khyp_bus_table *t;
	struct khyp_bus_dev *dev = NULL;

	lockdep_assert_held(&vcpu->mutex);
	rcu_read_lock();
	t = rcu_dereference(bus->tables[space]);
	if (t)
		dev = khyp_bus_find(t, addr, len);
	if (dev) {
		*val = 0;
		dev->ops->read(dev, vcpu, addr, len, val);
	}
	rcu_read_unlock();
	return dev;
}

/* khyp_bus_write() (core/bus.h) once a device sits in @space. */
bool __khyp_bus_write(struct khyp_vcpu *vcpu, struct khyp_bus *bus,
		      enum khyp_bus_space space, u64 addr, unsigned int len,
		      u64 val)
{
	struct khyp_bus_table *t;
	struct khyp_bus_dev *dev = NULL;

	lockdep_assert_held(&vcpu->mutex);
	rcu_read_lock();
	t = rcu_dereference(bus->tables[space]);
	if (t)
		dev = khyp_bus_find(t, addr, len);
	if (dev)
		dev->ops->write(dev, vcpu, addr, len, val);
	rcu_read_unlock();
	return dev;
}
