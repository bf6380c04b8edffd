/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest memory: the regions of guest-physical space a VM has, and the
 * pages behind them, which the module owns.
 */
#ifndef KHYP_MMU_MEMORY_H
#define KHYP_MMU_MEMORY_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <uapi/linux/khyp.h>

#include "zeropool.h"

/**
 * struct khyp_mem_slot - one region of guest-physical memory
 * @base_gfn:	(c) first guest frame number.
 * @npages:	(c) length in pages.
 * @flags:	(c) KHYP_MEM_* flags.
 * @pages:	page index in the slot -> struct page *; an entry is filled on
 *		first touch (512 at once for a 2 MiB block, see memory.c) and
 *		erased when the page is given back.  Entries are added and
 *		erased only with khyp_memory.lock held, so that a fault that
 *		finds a frame empty under it knows that no one else fills
 *		it before it lets go; lookups under it need no more (the
 *		xarray's own lock serialises its internals).
 *
 * (c): constant while the slot is in khyp_memory.slots[].
 */
struct khyp_mem_slot {
	u64 base_gfn;
	u64 npages;
	u32 flags;
	struct xarray pages;
};

/**
 * struct khyp_memory - all guest memory of one VM
 * @lock:	protects @slots (adding and removing slots) and the entries
 *		of each slot's @pages.  Taken by the page-fault paths twice,
 *		briefly: to look a frame up, then to install the page they
 *		allocated and zeroed without it (khyp_memory_fault_page());
 *		held across a whole guest page walk (mmu/gwalk.c,
 *		khyp_memory_read_locked()), whose pages it keeps from
 *		being freed; never held while a guest page is allocated or
 *		zeroed, nor while a guest runs.  Taken before
 *		khyp_pgtable.lock (the zap in reclaim and region
 *		deletion), never after it.
 * @slots:	(@lock) the regions, NULL where a slot is free.
 * @slots_end:	(@lock) one past the highest slot in use (0 if none):
 *		lookups go no further.
 * @nr_pages:	pages allocated, over all slots.
 * @lost_races:	first-touch pages (or 2 MiB blocks) allocated and then
 *		freed unused, because another fault installed a page for
 *		the frame meanwhile (debugfs vm<N>/mmu).
 * @mapping:	(c) of the VM file's inode, which the VM holds (core/vm.c):
 *		userspace mappings of guest memory, to zap before a page is
 *		freed.
 * @ops:	(c) how to drop second-level mappings, called with @lock
 *		held after pages have left the slots and before they are
 *		freed.  There is one implementation, the VM's (core/vm.c):
 *		->zap is khyp_pgtable_unmap() on the VM's tables (which may
 *		split a 2 MiB mapping around a page, mmu/pgtable.c), ->flush
 *		is khyp_vm_flush_tlbs() (every vCPU, core/run.c) and then
 *		khyp_pgtable_free_detached().  It is an ops table only so
 *		that this file need not know the VM.
 * @pool:	zeroed 2 MiB blocks for first touches (mmu/zeropool.c),
 *		with a lock of its own, never taken with @lock held.
 * @inval_seq:	(@lock for writers) bumped before pages go, so that a
 *		second-level fault (mmu/fault.c) or a fault on the VMM's
 *		mapping (khyp_memory_lock_page()) that looked a page up
 *		without holding @lock can tell that the page may be gone;
 *		also whenever a slot is added, so that a fault that found
 *		no slot there maps no APIC-access page over it
 *		(mmu/fault.c), and a vCPU forgets a frame it remembered
 *		as in no slot (core/run.c: khyp_handle_npf()).
 */
struct khyp_memory {
	struct mutex lock;	/* protects slots[], see above */
	struct khyp_mem_slot *slots[KHYP_MAX_MEM_REGIONS];
	unsigned int slots_end;
	atomic_long_t nr_pages;
	atomic_long_t lost_races;
	struct address_space *mapping;
	const struct khyp_memory_ops *ops;
	struct khyp_zeropool pool;
	unsigned long inval_seq;
};

/**
 * struct khyp_memory_ops - what guest memory asks of its VM (core/vm.c)
 * @zap:	remove the second-level mappings of [gfn, gfn + npages);
 *		returns how many there were.
 * @flush:	make every vCPU forget the removed mappings; returns when
 *		none can use them any more.
 */
struct khyp_memory_ops {
	unsigned long (*zap)(struct khyp_memory *mem, u64 gfn, u64 npages);
	void (*flush)(struct khyp_memory *mem);
};

/* What is behind a guest frame (khyp_memory_frame()). */
enum khyp_frame {
	KHYP_FRAME_NOT_RAM,	/* in no slot */
	KHYP_FRAME_EMPTY,	/* RAM, no page allocated */
	KHYP_FRAME_PAGE,	/* RAM with its page */
};

void khyp_memory_init(struct khyp_memory *mem, struct address_space *mapping,
		      const struct khyp_memory_ops *ops);
u64 khyp_memory_declared_pages(struct khyp_memory *mem);
unsigned long khyp_memory_reclaim(struct khyp_memory *mem, const u64 *gfns,
				  unsigned int n, bool *not_ram);
void khyp_memory_destroy(struct khyp_memory *mem);
int khyp_memory_set_region(struct khyp_memory *mem,
			   const struct khyp_mem_region *region);
bool khyp_memory_range_ok(struct khyp_memory *mem, u64 gfn, u64 npages);
enum khyp_frame khyp_memory_frame(struct khyp_memory *mem, u64 gfn);
struct page *khyp_memory_get_page(struct khyp_memory *mem, u64 gfn,
				  u32 *flags);
int khyp_memory_read_locked(struct khyp_memory *mem, u64 gpa, void *buf,
			    unsigned int len);
struct page *khyp_memory_lock_page(struct khyp_memory *mem, u64 gfn);
struct page *khyp_memory_fault_page(struct khyp_memory *mem, u64 gfn,
				    bool try_huge, unsigned long seq,
				    u32 *flags, bool *huge);

#endif /* KHYP_MMU_MEMORY_H */
