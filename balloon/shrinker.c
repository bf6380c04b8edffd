// SPDX-License-Identifier: GPL-2.0
/*
 * The host kernel's own reclaim drives the balloons.
 *
 * khyp registers one shrinker.  When the host runs short of memory, the
 * kernel asks it how much it could free (count_objects) and then to free
 * some (scan_objects).  khyp cannot free guest memory by itself without
 * breaking the guests, and must never wait for a guest there; so a scan
 * raises the VMs' balloon targets instead, notifies the guests that asked
 * for it (and the balloon devices in userspace, by their eventfd), and
 * reports what those VMs' guests have really freed since the
 * last scan.  The guests inflate at their next look at the target.
 *
 * Progress: what a scan returns is not what reclaim counts.  It judges
 * itself by the LRU pages it freed and by the pages added to the
 * reclaimer's reclaim_state (slab's own frees), so a scan adds the pages
 * it reports there (khyp_account_reclaimed()).  Without that, on a host
 * with nothing on its LRU lists to free (no page cache, no swap), every
 * kswapd run counted as a failure however much the guests gave; after
 * 16 in a row kswapd gave the node up as unreclaimable and was not woken
 * again until a direct reclaim made progress, which none could either:
 * an allocation waiting for kswapd starved and the next direct reclaim
 * called the OOM killer (docs/reliability.md, the debug kernel's machine).
 *
 * Memory cgroups: the shrinker is memcg-aware.  Each VM has a link on a
 * memcg-aware list_lru, allocated when the VM is created and so charged
 * to the creator's memory cgroup, the one its guest pages are charged to.
 * Reclaim in one cgroup (its memory.high or memory.max reached) calls the
 * shrinker for that cgroup and its descendants only, and only the VMs
 * charged there are asked; global reclaim and drop_caches visit every
 * cgroup in turn.
 *
 * Zeroed blocks first: each VM's pool of zeroed 2 MiB blocks
 * (mmu/zeropool.c) is memory no guest uses yet.  count_objects counts
 * it, and a scan first takes blocks out of the pools of the cgroup's VMs
 * and frees them; only what they did not cover raises balloon targets.
 * Any scan also holds the pools' refill off for a while.
 *
 * Only VMs whose balloon someone moves are asked: the guest probed the
 * hypercall protocol, or a balloon device in userspace set an eventfd
 * (khyp_balloon_listening()).
 *
 * Sharing: within a scan, each VM's target rises by a share of the request
 * proportional to its weight: its allocated memory above a floor of
 * KHYP_BALLOON_FLOOR (what it could give), doubled if none of its vCPUs
 * has run for KHYP_IDLE_AFTER (an idle guest's memory is likely cold).
 * An active VM is asked for at most half of what it could give, an idle
 * one for all of it: a busy guest keeps its working set.  A share's
 * fraction of a page is carried to the VM's next one (share_frac,
 * under the list_lru's lock of the VM's node, which every raise of it
 * holds), so that the small requests of each scan split exactly.
 *
 * Hysteresis: a target raised by pressure stays while pressure lasts;
 * once no scan has come for KHYP_PRESSURE_HOLD, a periodic work lowers it
 * each second by half, or by 256 pages if that is more (a small target
 * does not linger), so the guests deflate gently, without
 * inflate/deflate thrashing around a pressure peak.  Two things hold the
 * decay back, because the pages it gives back are what the host would
 * have to reclaim again at once: the host still allocating (MemAvailable
 * fell since the last tick by more than KHYP_ALLOC_SLOPE beyond what
 * khyp's own VMs took, at a rate that would use up its room within
 * KHYP_ALLOC_HORIZON; this counts as pressure for the hold), and a host
 * without room (a step never takes MemAvailable below KHYP_DECAY_ROOM of
 * the RAM, counting what earlier steps gave that the guests have not
 * taken yet).  Without them, a workload that grows
 * again a few seconds after a peak finds the balloons emptied and races
 * the guests, who free asynchronously, to the OOM killer
 * (docs/reliability.md, the soak).
 *
 * Locking: a scan walks one cgroup's VMs under the list_lru's lock of
 * each node, which also keeps each VM's link (and so its balloon) alive:
 * khyp_shrinker_remove() takes it off the list first.  In 6.1 and 6.12
 * that lock is per node and shared by all cgroups (6.13 made it per
 * cgroup), so scans of different cgroups still take turns, but for one
 * pass over one node's list at a time, no longer for both passes over
 * every node with khyp's own global lock.  The scans and the decay work
 * are the only writers of the pressure targets, with cmpxchg (readers
 * use READ_ONCE), so a raise and a decay never lose each other's value;
 * a decay that checked last_pressure just before a scan renewed it still
 * halves the target once, which the scan then raises again.
 * khyp_balloons_lock (a spinlock) protects the list of all balloons,
 * which only the decay walks; khyp_sstats_lock the debugfs counters, for
 * a few instructions.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/list_lru.h>
#include <linux/mm.h>
#include <linux/math64.h>
#include <linux/nodemask.h>
#include <linux/seq_file.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "../core/compat.h"
#include "../core/vm.h"
#include "../mmu/zeropool.h"
#include "balloon.h"
#include "shrinker.h"

#define KHYP_BALLOON_FLOOR	((16 << 20) >> PAGE_SHIFT)	/* 16 MiB */
#define KHYP_PRESSURE_HOLD	(5 * HZ)
#define KHYP_IDLE_AFTER		HZ
#define KHYP_ALLOC_SLOPE	((1 << 20) >> PAGE_SHIFT) /* 1 MiB per tick */
#define KHYP_DECAY_ROOM(ram)	((ram) / 32)	/* ~3% of the host's RAM */
#define KHYP_ALLOC_HORIZON	30		/* ticks (seconds) */
#define KHYP_SHARE_SHIFT	16		/* a share's fraction, bits */

/* A VM on the memcg-aware list: slab-allocated, charged like the VM. */
struct khyp_balloon_link {
	struct list_head lru;
	struct khyp_balloon *balloon;
};

static LIST_HEAD(khyp_balloons);
static DEFINE_SPINLOCK(khyp_balloons_lock);	/* see above */
static DEFINE_SPINLOCK(khyp_sstats_lock);	/* see above */
static struct list_lru khyp_balloon_lru;
static struct kmem_cache *khyp_link_cache;
static bool khyp_lru_ready;	/* 6.1 registers the shrinker first */
static struct shrinker *khyp_shrinker;
static struct shrinker khyp_shrinker_storage;	/* kernels before 6.7 */
static void khyp_pressure_decay(struct work_struct *work);
static DECLARE_DELAYED_WORK(khyp_decay_work, khyp_pressure_decay);

/* Counters for debugfs (khyp/shrinker); under khyp_sstats_lock. */
static struct {
	u64 count_calls, scan_calls, scan_ns, scan_max_ns;
	u64 requested, raised, reported, pool_freed;
} khyp_sstats;

/* Pages pressure could still ask this VM for (its ceiling aside). */
static unsigned long khyp_balloon_reclaimable(struct khyp_balloon *b)
{
	long used = atomic_long_read(&b->vm->mem.nr_pages);

	if (!khyp_balloon_listening(b) || used <= KHYP_BALLOON_FLOOR)
		return 0;
	return used - KHYP_BALLOON_FLOOR;
}

/*
 * What a scan weighs the VM by: what it could give, but no more than
 * its ceiling leaves above its pressure target (a VM at its ceiling
 * gets no share, which would be lost), doubled when idle.
 */
static unsigned long khyp_balloon_weight(struct khyp_balloon *b, bool idle)
{
	unsigned long max = READ_ONCE(b->pressure_max);
	unsigned long room = max - min(max, READ_ONCE(b->pressure_target));
	unsigned long weight = min(khyp_balloon_reclaimable(b), room);

	return idle ? 2 * weight : weight;
}

/* None of the VM's vCPUs has left the guest for KHYP_IDLE_AFTER. */
static bool khyp_balloon_idle(struct khyp_balloon *b)
{
	unsigned long last = READ_ONCE(b->vm->last_run);

	return time_after(jiffies, last + KHYP_IDLE_AFTER);
}

/* The passes over the VMs of one memory cgroup, in this order. */
enum khyp_walk_pass {
	KHYP_WALK_DRAIN,	/* take zeroed blocks out of the pools */
	KHYP_WALK_WEIGH,	/* sum what the balloons could give */
	KHYP_WALK_RAISE,	/* spread the request over the balloons */
};

/* One pass over the VMs of @sc's memory cgroup (every node's list). */
struct khyp_walk {
	struct shrink_control *sc;
	enum khyp_walk_pass pass;
	u64 weight;		/* weigh: summed */
	unsigned long reclaimable; /* weigh: summed */
	unsigned long pooled;	/* weigh: pages in the pools, summed */
	u64 request;		/* drain, raise: pages wanted */
	unsigned long drained;	/* drain: pages taken from the pools */
	struct list_head blocks; /* drain: those blocks, freed after */
	unsigned long freed;	/* raise: reported by the VMs */
	unsigned long raised;	/* raise: targets raised by */
};

static enum lru_status khyp_walk_one(struct list_head *item,
				     struct list_lru_one *list,
				     spinlock_t *lock, void *arg)
{
	struct khyp_balloon_link *link = container_of(item, typeof(*link), lru);
	struct khyp_balloon *b = link->balloon;
	struct khyp_walk *w = arg;
	unsigned long weight, share, cap, t;
	bool idle;

	if (w->pass == KHYP_WALK_DRAIN) {
		if (w->drained < w->request)
			w->drained += khyp_zeropool_drain(&b->vm->mem.pool,
							  w->request - w->drained,
							  &w->blocks);
		return LRU_SKIP;
	}
	/*
	 * Idle or not is decided once per scan, in its weigh pass, so that
	 * a vCPU exit or a jiffy between the passes does not weigh the VM
	 * one way in the total and the other in its share.  (The node's
	 * lock is dropped between the passes: a concurrent scan's weigh
	 * pass may decide it again meanwhile, as freshly.  count_objects'
	 * weigh pass, with no request, leaves it alone.)
	 */
	if (w->pass == KHYP_WALK_WEIGH) {
		idle = khyp_balloon_idle(b);
		if (w->request)
			b->weighed_idle = idle;
		w->weight += khyp_balloon_weight(b, idle);
		w->reclaimable += khyp_balloon_weight(b, false);
		w->pooled += khyp_zeropool_pages(&b->vm->mem.pool);
		return LRU_SKIP;
	}
	idle = b->weighed_idle;
	cap = khyp_balloon_reclaimable(b);
	weight = khyp_balloon_weight(b, idle);
	w->freed += atomic_long_xchg(&b->unreported, 0);
	if (!weight || !w->weight)
		return LRU_SKIP;
	if (idle)
		atomic_long_inc(&b->idle_scans);
	WRITE_ONCE(b->last_pressure, jiffies);
	/*
	 * The exact share, request * weight / total, has a fraction of a
	 * page: carried to the VM's next share (KHYP_SHARE_SHIFT bits),
	 * so that over the scans of KHYP_SHRINKER_BATCH pages each VM
	 * gets its proportion.  (Rounded down and then one page more, as
	 * before, two VMs of 2.14:1 got 11 and 6 pages a scan, 1.83:1.)
	 */
	share = div64_u64((w->request * weight) << KHYP_SHARE_SHIFT,
			  w->weight) + b->share_frac;
	b->share_frac = share & (BIT(KHYP_SHARE_SHIFT) - 1);
	share >>= KHYP_SHARE_SHIFT;
	if (!share)
		return LRU_SKIP;
	if (!idle)
		cap /= 2;
	cap = min_t(unsigned long, cap + READ_ONCE(b->size),
		    READ_ONCE(b->pressure_max));
	t = READ_ONCE(b->pressure_target);
	do {
		if (t >= cap)
			return LRU_SKIP;
	} while (!try_cmpxchg(&b->pressure_target, &t, min(t + share, cap)));
	w->raised += min(t + share, cap) - t;
	khyp_balloon_pressure_moved(b, t, min(t + share, cap));
	/* A ceiling lowered since it was read above: see balloon.c. */
	khyp_balloon_pressure_clamp(b);
	return LRU_SKIP;
}

static void khyp_walk(struct khyp_walk *w)
{
	unsigned long left;
	int nid;

	/* Not NUMA-aware: a VM's link may sit on any node's list. */
	for_each_node(nid) {
		left = ULONG_MAX;
		list_lru_walk_one(&khyp_balloon_lru, nid, w->sc->memcg,
				  khyp_walk_one, w, &left);
	}
}

static unsigned long khyp_shrink_count(struct shrinker *s,
				       struct shrink_control *sc)
{
	struct khyp_walk w = { .sc = sc, .pass = KHYP_WALK_WEIGH };
	unsigned long vms = 0;
	int nid;

	if (!smp_load_acquire(&khyp_lru_ready))	/* pairs with init */
		return 0;
	for_each_node(nid)
		vms += list_lru_count_one(&khyp_balloon_lru, nid, sc->memcg);
	/*
	 * SHRINK_EMPTY only when this cgroup has no VM: it makes reclaim
	 * forget the shrinker for the cgroup until a VM is added again.
	 */
	if (!vms)
		return SHRINK_EMPTY;

	khyp_walk(&w);
	spin_lock(&khyp_sstats_lock);
	khyp_sstats.count_calls++;
	spin_unlock(&khyp_sstats_lock);
	return w.reclaimable + w.pooled;
}

static unsigned long khyp_shrink_scan(struct shrinker *s,
				      struct shrink_control *sc)
{
	struct khyp_walk w = { .sc = sc, .pass = KHYP_WALK_DRAIN,
			       .request = sc->nr_to_scan };
	u64 start = ktime_get_ns(), ns;

	if (!smp_load_acquire(&khyp_lru_ready))	/* pairs with init */
		return SHRINK_STOP;

	khyp_zeropool_pressure();
	INIT_LIST_HEAD(&w.blocks);
	khyp_walk(&w);
	khyp_zeropool_free_list(&w.blocks);
	if (w.drained < sc->nr_to_scan) {
		w.pass = KHYP_WALK_WEIGH;
		khyp_walk(&w);
		w.pass = KHYP_WALK_RAISE;
		w.request = sc->nr_to_scan - w.drained;
		khyp_walk(&w);
	}
	ns = ktime_get_ns() - start;
	spin_lock(&khyp_sstats_lock);
	khyp_sstats.scan_calls++;
	khyp_sstats.scan_ns += ns;
	khyp_sstats.scan_max_ns = max(khyp_sstats.scan_max_ns, ns);
	khyp_sstats.requested += sc->nr_to_scan;
	khyp_sstats.reported += w.freed;
	khyp_sstats.raised += w.raised;
	khyp_sstats.pool_freed += w.drained;
	spin_unlock(&khyp_sstats_lock);
	khyp_account_reclaimed(w.freed + w.drained);	/* see above */

	if (!w.weight && w.drained < sc->nr_to_scan)
		return w.freed + w.drained ? w.freed + w.drained : SHRINK_STOP;
	if (w.weight)
		mod_delayed_work(system_wq, &khyp_decay_work, HZ);
	/* A drained block is 512 pages: more than a batch may have gone. */
	sc->nr_scanned = max(sc->nr_to_scan, w.drained);
	return w.freed + w.drained;
}

/*
 * The host at the last decay tick: when, MemAvailable and the pages all
 * VMs held (their guest pages and their pools of zeroed blocks); and
 * the pages the decay gave back to guests that have not yet come back
 * as guest pages (what MemAvailable does not show yet).  Only the decay
 * work uses it (a work item never runs on two CPUs at once).
 */
static struct {
	bool valid;
	unsigned long at;
	long avail;
	long vm_pages;
	long given;
} khyp_decay_last;

/*
 * Has someone other than khyp's guests been taking memory since the last
 * tick, fast enough to use up the host's @room soon?  A VM's pages come
 * and go with MemAvailable (faults, balloons, pools, teardown), so they
 * are taken out of the difference, which is scaled to a second.  A scan
 * postpones the tick: a sample older than three seconds says nothing.
 */
static bool khyp_host_allocating(long avail, long vm_pages, long room)
{
	unsigned long dt = jiffies - khyp_decay_last.at;
	long fell;

	if (!khyp_decay_last.valid || !dt || dt > 3 * HZ)
		return false;
	fell = (khyp_decay_last.avail - avail) -
	       (vm_pages - khyp_decay_last.vm_pages);
	fell = fell * HZ / (long)dt;
	return fell > (long)KHYP_ALLOC_SLOPE &&
	       fell * KHYP_ALLOC_HORIZON > room;
}

/* Lower pressure targets that no scan has held up lately. */
static void khyp_pressure_decay(struct work_struct *work)
{
	long avail = si_mem_available(), vm_pages = 0, room;
	struct khyp_balloon *b;
	unsigned long t, new;
	bool again = false, allocating;

	spin_lock(&khyp_balloons_lock);
	list_for_each_entry(b, &khyp_balloons, node)
		vm_pages += atomic_long_read(&b->vm->mem.nr_pages) +
			    khyp_zeropool_pages(&b->vm->mem.pool);
	/*
	 * What earlier ticks gave back comes back as guest pages as the
	 * guests touch it; until then it is promised, not yet taken, and
	 * is out of the room.  The promise fades by 1/8 a tick, as guests
	 * may never touch it.
	 */
	if (khyp_decay_last.valid && vm_pages > khyp_decay_last.vm_pages)
		khyp_decay_last.given -= min(khyp_decay_last.given,
					     vm_pages - khyp_decay_last.vm_pages);
	khyp_decay_last.given -= khyp_decay_last.given / 8;
	room = avail - (long)KHYP_DECAY_ROOM(totalram_pages()) -
	       khyp_decay_last.given;
	allocating = khyp_host_allocating(avail, vm_pages, room);
	list_for_each_entry(b, &khyp_balloons, node) {
		t = READ_ONCE(b->pressure_target);
		if (!t)
			continue;
		again = true;
		if (allocating)
			WRITE_ONCE(b->last_pressure, jiffies);
		if (time_before(jiffies,
				READ_ONCE(b->last_pressure) + KHYP_PRESSURE_HOLD))
			continue;
		if (room <= 0)
			continue;
		/* A scan raising it meanwhile wins: try again next time. */
		new = t - min3(t, max(t / 2, 256UL), (unsigned long)room);
		if (try_cmpxchg(&b->pressure_target, &t, new)) {
			khyp_balloon_pressure_moved(b, t, new);
			room -= t - new;
			khyp_decay_last.given += t - new;
		}
	}
	spin_unlock(&khyp_balloons_lock);
	khyp_decay_last.valid = true;
	khyp_decay_last.at = jiffies;
	khyp_decay_last.avail = avail;
	khyp_decay_last.vm_pages = vm_pages;
	if (again)
		mod_delayed_work(system_wq, &khyp_decay_work, HZ);
}

/*
 * A new VM's balloon: on the list of all balloons, and linked on the
 * memcg-aware list in the caller's (the VM creator's) memory cgroup.
 */
int khyp_shrinker_add(struct khyp_balloon *b)
{
	struct khyp_balloon_link *link;

	link = kmem_cache_alloc_lru(khyp_link_cache, &khyp_balloon_lru,
				    GFP_KERNEL_ACCOUNT);
	if (!link)
		return -ENOMEM;
	INIT_LIST_HEAD(&link->lru);
	link->balloon = b;
	b->link = link;

	spin_lock(&khyp_balloons_lock);
	list_add_tail(&b->node, &khyp_balloons);
	spin_unlock(&khyp_balloons_lock);
	khyp_list_lru_add_obj(&khyp_balloon_lru, &link->lru);
	return 0;
}

void khyp_shrinker_remove(struct khyp_balloon *b)
{
	khyp_list_lru_del_obj(&khyp_balloon_lru, &b->link->lru);
	spin_lock(&khyp_balloons_lock);
	list_del(&b->node);
	spin_unlock(&khyp_balloons_lock);
	kmem_cache_free(khyp_link_cache, b->link);
	b->link = NULL;
}

/* debugfs khyp/shrinker */
void khyp_shrinker_show(struct seq_file *m)
{
	typeof(khyp_sstats) st;

	spin_lock(&khyp_sstats_lock);
	st = khyp_sstats;
	spin_unlock(&khyp_sstats_lock);
	seq_printf(m, "count_calls %llu\nscan_calls %llu\nscan_ns %llu\n",
		   st.count_calls, st.scan_calls, st.scan_ns);
	seq_printf(m, "scan_max_ns %llu\nrequested %llu\nraised %llu\n",
		   st.scan_max_ns, st.requested, st.raised);
	seq_printf(m, "reported %llu\nfreed %lu\npool_freed %llu\n",
		   st.reported, atomic_long_read(&khyp_balloon_freed_total),
		   st.pool_freed);
}

int khyp_shrinker_module_init(void)
{
	int r;

	khyp_link_cache = KMEM_CACHE(khyp_balloon_link, SLAB_ACCOUNT);
	if (!khyp_link_cache)
		return -ENOMEM;
	khyp_shrinker = khyp_shrinker_create(&khyp_shrinker_storage,
					     "khyp-balloon", khyp_shrink_count,
					     khyp_shrink_scan,
					     &khyp_balloon_lru);
	if (IS_ERR(khyp_shrinker)) {
		r = PTR_ERR(khyp_shrinker);
		goto free_cache;
	}
	smp_store_release(&khyp_lru_ready, true);	/* the list_lru is set */
	return 0;

free_cache:
	kmem_cache_destroy(khyp_link_cache);
	return r;
}

void khyp_shrinker_module_exit(void)
{
	khyp_shrinker_destroy(khyp_shrinker);
	cancel_delayed_work_sync(&khyp_decay_work);
	list_lru_destroy(&khyp_balloon_lru);
	kmem_cache_destroy(khyp_link_cache);
}
