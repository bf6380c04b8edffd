// SPDX-License-Identifier: GPL-2.0
/*
 * The host kernel's own reclaim drives the balloons.
 *
 * khyp registers one shrinker.  When the host runs short of memory, the
 * kernel asks it how much it could free (count_objects) and then to free
 * some (scan_objects).  khyp cannot free guest memory by itself without
 * breaking the guests, and must never wait for a guest there; so a scan
 * raises the VMs' balloon targets instead, each by a share of the request
 * proportional to the VM's allocated memory, and reports what the guests
 * have really freed since the last scan.  The guests see the new target
 * at their next TARGET call and inflate.
 *
 * Hysteresis: a target raised by pressure stays while pressure lasts;
 * once no scan has come for KHYP_PRESSURE_HOLD, a periodic work lowers it
 * by half per second, so the guests deflate gently, without
 * inflate/deflate thrashing around a pressure peak.
 *
 * Each VM keeps KHYP_BALLOON_FLOOR of its memory: pressure never asks for
 * that.  Locking: the list of balloons has a spinlock (scan_objects may
 * run in reclaim from any context that may sleep or not); the targets it
 * changes are written with WRITE_ONCE and read with READ_ONCE.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/shrinker.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "../core/compat.h"
#include "../core/vm.h"
#include "balloon.h"
#include "shrinker.h"

#define KHYP_BALLOON_FLOOR	((16 << 20) >> PAGE_SHIFT)	/* 16 MiB */
#define KHYP_PRESSURE_HOLD	(5 * HZ)

static LIST_HEAD(khyp_balloons);
static DEFINE_SPINLOCK(khyp_balloons_lock);	/* protects khyp_balloons */
static atomic_long_t khyp_balloon_freed_mark;
static struct shrinker *khyp_shrinker;
static struct shrinker khyp_shrinker_storage;	/* kernels before 6.7 */
static void khyp_pressure_decay(struct work_struct *work);
static DECLARE_DELAYED_WORK(khyp_decay_work, khyp_pressure_decay);

static struct khyp_vm *balloon_to_vm(struct khyp_balloon *b)
{
	return container_of(b, struct khyp_vm, balloon);
}

/* Pages pressure could still ask this VM for. */
static unsigned long khyp_balloon_reclaimable(struct khyp_balloon *b)
{
	long used = atomic_long_read(&balloon_to_vm(b)->mem.nr_pages);

	if (!READ_ONCE(b->probed) || used <= KHYP_BALLOON_FLOOR)
		return 0;
	return used - KHYP_BALLOON_FLOOR;
}

static unsigned long khyp_shrink_count(struct shrinker *s,
				       struct shrink_control *sc)
{
	struct khyp_balloon *b;
	unsigned long n = 0;

	spin_lock(&khyp_balloons_lock);
	list_for_each_entry(b, &khyp_balloons, node)
		n += khyp_balloon_reclaimable(b);
	spin_unlock(&khyp_balloons_lock);
	return n ? n : SHRINK_EMPTY;
}

static unsigned long khyp_shrink_scan(struct shrinker *s,
				      struct shrink_control *sc)
{
	unsigned long total = 0, share, freed, target;
	struct khyp_balloon *b;
	long now_freed;

	spin_lock(&khyp_balloons_lock);
	list_for_each_entry(b, &khyp_balloons, node)
		total += khyp_balloon_reclaimable(b);
	list_for_each_entry(b, &khyp_balloons, node) {
		unsigned long r = khyp_balloon_reclaimable(b);

		if (!r)
			continue;
		share = div64_u64((u64)sc->nr_to_scan * r, total) + 1;
		target = min(READ_ONCE(b->pressure_target) + share,
			     r + (unsigned long)READ_ONCE(b->size));
		WRITE_ONCE(b->pressure_target, target);
		WRITE_ONCE(b->last_pressure, jiffies);
	}
	spin_unlock(&khyp_balloons_lock);

	if (!total)
		return SHRINK_STOP;
	mod_delayed_work(system_wq, &khyp_decay_work, HZ);

	/* What the guests freed since the last scan asked. */
	now_freed = atomic_long_read(&khyp_balloon_freed_total);
	freed = now_freed - atomic_long_xchg(&khyp_balloon_freed_mark,
					     now_freed);
	sc->nr_scanned = sc->nr_to_scan;
	return freed;
}

/* Lower pressure targets that no scan has held up lately. */
static void khyp_pressure_decay(struct work_struct *work)
{
	struct khyp_balloon *b;
	unsigned long t;
	bool again = false;

	spin_lock(&khyp_balloons_lock);
	list_for_each_entry(b, &khyp_balloons, node) {
		t = READ_ONCE(b->pressure_target);
		if (!t)
			continue;
		again = true;
		if (time_before(jiffies,
				READ_ONCE(b->last_pressure) + KHYP_PRESSURE_HOLD))
			continue;
		WRITE_ONCE(b->pressure_target, t - min(t, max(t / 2, 256UL)));
	}
	spin_unlock(&khyp_balloons_lock);
	if (again)
		mod_delayed_work(system_wq, &khyp_decay_work, HZ);
}

void khyp_shrinker_add(struct khyp_balloon *b)
{
	spin_lock(&khyp_balloons_lock);
	list_add_tail(&b->node, &khyp_balloons);
	spin_unlock(&khyp_balloons_lock);
}

void khyp_shrinker_remove(struct khyp_balloon *b)
{
	spin_lock(&khyp_balloons_lock);
	list_del(&b->node);
	spin_unlock(&khyp_balloons_lock);
}

int khyp_balloon_module_init(void)
{
	khyp_shrinker = khyp_shrinker_create(&khyp_shrinker_storage,
					     "khyp-balloon", khyp_shrink_count,
					     khyp_shrink_scan);
	return PTR_ERR_OR_ZERO(khyp_shrinker);
}

void khyp_balloon_module_exit(void)
{
	khyp_shrinker_destroy(khyp_shrinker);
	cancel_delayed_work_sync(&khyp_decay_work);
}
