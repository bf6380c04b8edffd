/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The balloon of one VM: the guest pages it has handed back to the host.
 */
#ifndef KHYP_BALLOON_BALLOON_H
#define KHYP_BALLOON_BALLOON_H

#include <linux/atomic.h>
#include <linux/compiler_types.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct eventfd_ctx;
struct khyp_vm;
struct khyp_balloon_eventfd;
struct khyp_balloon_pages;
struct khyp_balloon_target;
struct khyp_balloon_stats;
struct khyp_balloon_link;

/**
 * struct khyp_balloon - one VM's balloon
 * @lock:	protects everything below but @pressure_target, @last_pressure,
 *		@share_frac, @weighed_idle, @idle_scans and @node.
 * @probed:	the guest has negotiated the protocol.
 * @protocol:	KHYP_BALLOON_PROTO_*: who moved pages last (or probed).
 * @target:	userspace's target, in pages (written under @lock, read
 *		with READ_ONCE by the shrinker, khyp_balloon_pressure_moved()).
 * @pressure_target: the shrinker's target (cmpxchg/READ_ONCE: the
 *		shrinker and the decay work change it without @lock).
 * @last_pressure: jiffies of the last shrinker scan that raised it.
 * @pressure_max: the most @pressure_target may be (KHYP_SET_BALLOON with
 *		KHYP_BALLOON_PRESSURE_MAX; ULONG_MAX: no ceiling).  Written
 *		under @lock, read with READ_ONCE by the shrinker.
 * @share_frac:	the fraction of a page the last scan's share left over
 *		(shrinker.c; under the list_lru's node lock).
 * @weighed_idle: the last scan's weigh pass found the VM idle; its raise
 *		pass uses it (shrinker.c; written and read under the
 *		list_lru's node lock, like @share_frac, which is dropped
 *		between the passes).
 * @gfns:	the guest frames in the balloon (value entries).
 * @size:	how many.
 * @no_page:	how many of them had no page when inflated (at most the
 *		VM's allocated pages at the time, see balloon.c).
 * @inflated, @deflated, @freed, @violations, @rejected, @guest_free,
 * @reported:	the counters of struct khyp_balloon_stats.
 * @notify_vector: the guest's notification vector, 0 for none; and
 * @notify_vcpu: the vCPU that gets it.  Written under @lock, read with
 *		READ_ONCE from any context (khyp_balloon_notify()).
 * @notifications: interrupts raised for target changes.
 * @target_changes: changes of the effective target (khyp_balloon_notify()).
 * @eventfd:	KHYP_BALLOON_EVENTFD's, or NULL: replaced under @lock, read
 *		under RCU from any context (khyp_balloon_notify()), the old
 *		one put after a grace period.
 * @unreported: pages freed that the shrinker has not reported yet.
 * @idle_scans: shrinker scans that weighed the VM as idle (its weight
 *		doubled) when asking it for pages; debugfs only.
 * @node:	in the list of all balloons (shrinker.c, its own lock).
 * @link:	(c) on the memcg-aware list the shrinker walks.
 * @vm:		(c) the VM, whose vm->balloon this is.
 *
 * (c): set when the VM is made, constant until it goes.
 */
struct khyp_balloon {
	struct mutex lock;	/* see above */
	bool probed;
	u32 protocol;
	u64 target;
	unsigned long pressure_target;
	unsigned long last_pressure;
	unsigned long pressure_max;
	u32 share_frac;
	bool weighed_idle;
	struct xarray gfns;
	u64 size;
	u64 no_page;
	u64 inflated, deflated, freed, violations, rejected, guest_free;
	u64 reported;
	u8 notify_vector;
	u32 notify_vcpu;
	atomic_long_t notifications;
	atomic_long_t target_changes;
	struct eventfd_ctx __rcu *eventfd;
	atomic_long_t unreported;
	atomic_long_t idle_scans;
	struct list_head node;
	struct khyp_balloon_link *link;
	struct khyp_vm *vm;
};

/*
 * Someone moves this balloon's pages: the guest has probed the hypercall
 * protocol, or a balloon device in userspace has set an eventfd.  Only
 * then does host memory pressure ask the VM for pages (shrinker.c).
 */
static inline bool khyp_balloon_listening(struct khyp_balloon *b)
{
	return READ_ONCE(b->probed) || rcu_access_pointer(b->eventfd);
}

/*
 * balloon/balloon.c.  A VM's balloon is made and freed, and the guest's
 * balloon hypercalls reach it, through the hooks it registers with the
 * core at module load (core/subsys.h); the calls below are the rest.
 */
int khyp_balloon_module_init(void);
void khyp_balloon_module_exit(void);
u64 khyp_balloon_effective(struct khyp_vm *vm);
void khyp_balloon_notify(struct khyp_balloon *b);
void khyp_balloon_pressure_moved(struct khyp_balloon *b, unsigned long old,
				 unsigned long new);
void khyp_balloon_pressure_clamp(struct khyp_balloon *b);
int khyp_balloon_set_target(struct khyp_vm *vm,
			    const struct khyp_balloon_target *t);
int khyp_balloon_set_eventfd(struct khyp_vm *vm,
			     const struct khyp_balloon_eventfd *e);
void khyp_balloon_get_stats(struct khyp_vm *vm,
			    struct khyp_balloon_stats *st);
unsigned long khyp_balloon_idle_scans(struct khyp_vm *vm);
unsigned long khyp_balloon_pressure_max(struct khyp_vm *vm);

/* balloon/pages.c: the frames in the balloon, the batches of pages. */
s64 khyp_balloon_pages(struct khyp_vm *vm, u32 op, u64 *list,
		       unsigned int n, u32 protocol);
int khyp_balloon_pages_ioctl(struct khyp_vm *vm,
			     struct khyp_balloon_pages __user *argp);
void khyp_balloon_fault(struct khyp_vm *vm, u64 gfn);
bool khyp_balloon_range_empty(struct khyp_vm *vm, u64 gfn, u64 n);

#endif /* KHYP_BALLOON_BALLOON_H */
