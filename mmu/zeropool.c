// SPDX-License-Identifier: GPL-2.0
/*
 * Pre-zeroed 2 MiB blocks, so that a guest's first touch need not zero.
 *
 * The first touch of an untouched 2 MiB range of guest RAM allocates an
 * order-9 block and maps it with one 2 MiB leaf (mmu/memory.c,
 * mmu/fault.c).  Zeroing the block is most of that fault's time: 512
 * clear_page() calls, which KVM with THP pays too (docs/performance.md).
 * This file keeps, for each VM, a few blocks zeroed ahead of time, when
 * the host has nothing better to do: the fault takes one if there is one
 * and zeroes nothing; else it allocates and zeroes as before.
 *
 * Who pays: a block is charged to a memory cgroup when it is allocated,
 * and 6.1 exports no way to charge an allocated page to another one
 * later.  So each VM has its own pool, filled under the memory cgroup of
 * the task that created the VM (set_active_memcg() around the
 * allocation), the cgroup that the VM's other allocations are charged to
 * (its page tables, its link on the shrinker's list).  A pool's blocks
 * are that VM's memory before the guest touches them: in its cgroup's
 * memory.current, given back when the VM goes, and drained first by the
 * shrinker (balloon/shrinker.c) when the host or the cgroup runs short,
 * before any guest is asked to balloon.  A block handed to the guest is
 * split_page() as a block allocated in the fault would be, so each page
 * carries its own share of the charge.  (Without a pool block, the fault
 * charges the faulting task's cgroup, as before; for a VM run by the
 * process that created it, the same one.)
 *
 * How much: the zero_pool_mb module parameter, per VM (0, the default:
 * no pool; off by default until it has run through the whole suite and
 * the debug kernel: it is new in session 14), and
 * never more than the VM's declared RAM that has no page yet (a VM with
 * 4 MiB of RAM gets at most two blocks, one whose RAM is all touched
 * none).  Only where 2 MiB leaves are used (mmu/fault.c's huge_pages).
 *
 * When: one kernel thread, khyp-zeropool, at the lowest priority of the
 * normal class (nice 19), so that it runs when the CPUs are otherwise
 * idle, or nearly.  It is woken when a pool may want a block (a region
 * was added, a block was taken), waits KHYP_ZEROPOOL_DELAY for the kicks
 * to settle (a VM that lives for less gets nothing zeroed in vain), and
 * fills one block at a time, taking
 * turns between the VMs, at most KHYP_ZEROPOOL_BURST blocks before a
 * pause of KHYP_ZEROPOOL_PAUSE.  It never makes the host reclaim: the
 * allocation may not sleep for memory nor wake kswapd (no __GFP_RECLAIM
 * flag), it is not tried while less than an eighth of RAM is available,
 * nor for a cgroup within 2 MiB of its own memory.high, nor for
 * KHYP_ZEROPOOL_HOLD after the shrinker last ran (the host was short of
 * memory: a pool refilled at once would be drained again).
 *
 * Locking: pool->lock (a spinlock) guards each pool's list of blocks,
 * for a few instructions; khyp_zeropool_fill_mutex the list of pools,
 * and is held while the thread fills a block, so that a VM's pool
 * leaves the list (khyp_zeropool_destroy()) only between two blocks: a
 * pool is never filled after it left.  The thread takes mem->lock (to
 * read the declared RAM) under the fill mutex; nothing takes the fill
 * mutex under mem->lock.  The shrinker takes only pool->lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/wait.h>

#include "fault.h"
#include "memory.h"
#include "pgtable.h"
#include "zeropool.h"

#define KHYP_ZEROPOOL_ORDER	(KHYP_HUGE_SHIFT - PAGE_SHIFT)
#define KHYP_ZEROPOOL_BURST	8		/* blocks, then a pause */
#define KHYP_ZEROPOOL_PAUSE	(HZ / 20)	/* at most 320 MiB/s */
#define KHYP_ZEROPOOL_HOLD	(5 * HZ)	/* after the shrinker ran */
#define KHYP_ZEROPOOL_RETRY	HZ		/* after memory was short */
#define KHYP_ZEROPOOL_DELAY	(HZ / 10)	/* after a kick, before a fill */
/* Charged to pool->memcg; never reclaims, never dips into reserves. */
#define KHYP_ZEROPOOL_GFP	(__GFP_ACCOUNT | __GFP_ZERO | __GFP_NOWARN | \
				 __GFP_NOMEMALLOC)

static unsigned int zero_pool_mb;
module_param(zero_pool_mb, uint, 0644);
MODULE_PARM_DESC(zero_pool_mb,
		 "Memory kept zeroed per VM for its first touches of 2 MiB ranges, in MiB (default 0: none; 8 is a good start)");

static LIST_HEAD(khyp_zeropools);		/* under the fill mutex */
static DEFINE_MUTEX(khyp_zeropool_fill_mutex);	/* see above */
static DECLARE_WAIT_QUEUE_HEAD(khyp_zeropool_wq);
static struct task_struct *khyp_zeropool_task;
static bool khyp_zeropool_kicked;		/* xchg() only */
static unsigned long khyp_zeropool_last_pressure;	/* jiffies */

/* Blocks @pool should hold now. */
static unsigned int khyp_zeropool_target(struct khyp_zeropool *pool)
{
	struct khyp_memory *mem = container_of(pool, struct khyp_memory, pool);
	unsigned long want = READ_ONCE(zero_pool_mb) >> (KHYP_HUGE_SHIFT - 20);
	u64 declared, used;

	if (!want || !khyp_mmu_huge_enabled())
		return 0;
	declared = khyp_memory_declared_pages(mem);
	used = atomic_long_read(&mem->nr_pages);
	if (declared <= used)
		return 0;
	return min_t(u64, want, (declared - used) / KHYP_HUGE_PAGES);
}

/* Whether the host has memory to spare for zeroed blocks now. */
static bool khyp_zeropool_room(void)
{
	if (time_before(jiffies, READ_ONCE(khyp_zeropool_last_pressure) +
				 KHYP_ZEROPOOL_HOLD))
		return false;
	return si_mem_available() > totalram_pages() / 8 + KHYP_HUGE_PAGES;
}

/* Whether @memcg can take a block without passing its own memory.high. */
static bool khyp_zeropool_memcg_room(struct mem_cgroup *memcg)
{
#ifdef CONFIG_MEMCG
	/* The root's memory.high is "max". */
	if (memcg)
		return page_counter_read(&memcg->memory) + KHYP_HUGE_PAGES <=
		       READ_ONCE(memcg->memory.high);
#endif
	return true;
}

/*
 * One block for the first pool below its target, which then goes to the
 * end of the list (the VMs take turns).  Returns 0, -ENOENT if no pool
 * wants one, -ENOMEM if the allocation failed.
 */
static int khyp_zeropool_fill_one(void)
{
	struct khyp_zeropool *pool;
	struct mem_cgroup *old;
	struct page *block;

	lockdep_assert_held(&khyp_zeropool_fill_mutex);
	list_for_each_entry(pool, &khyp_zeropools, node)
		if (READ_ONCE(pool->nr) < khyp_zeropool_target(pool) &&
		    khyp_zeropool_memcg_room(pool->memcg))
			goto found;
	return -ENOENT;

found:
	old = set_active_memcg(pool->memcg);
	block = alloc_pages(KHYP_ZEROPOOL_GFP, KHYP_ZEROPOOL_ORDER);
	set_active_memcg(old);
	if (!block)
		return -ENOMEM;
	spin_lock(&pool->lock);
	list_add_tail(&block->lru, &pool->blocks);
	WRITE_ONCE(pool->nr, pool->nr + 1);
	spin_unlock(&pool->lock);
	atomic_long_inc(&pool->filled);
	list_move_tail(&pool->node, &khyp_zeropools);
	return 0;
}

/* One pass: returns how long to sleep before the next. */
static long khyp_zeropool_fill(void)
{
	unsigned int n;
	int r;

	for (n = 0; n < KHYP_ZEROPOOL_BURST; n++) {
		if (kthread_should_stop())
			return 0;
		if (!khyp_zeropool_room())
			return KHYP_ZEROPOOL_RETRY;
		mutex_lock(&khyp_zeropool_fill_mutex);
		r = khyp_zeropool_fill_one();
		mutex_unlock(&khyp_zeropool_fill_mutex);
		if (r == -ENOENT)
			return MAX_SCHEDULE_TIMEOUT;
		if (r)
			return KHYP_ZEROPOOL_RETRY;
		cond_resched();
	}
	return KHYP_ZEROPOOL_PAUSE;
}

static int khyp_zeropool_thread(void *unused)
{
	long timeout = MAX_SCHEDULE_TIMEOUT;

	while (!kthread_should_stop()) {
		wait_event_idle_timeout(khyp_zeropool_wq,
					READ_ONCE(khyp_zeropool_kicked) ||
					kthread_should_stop(), timeout);
		/*
		 * Kicks come in bursts (a VM adds its regions, a guest
		 * touches new memory): let them settle, and let a VM that
		 * lives for less than this go without blocks zeroed for
		 * nothing.  Then, full barrier: what the kickers changed
		 * is seen below.
		 */
		if (timeout == MAX_SCHEDULE_TIMEOUT)
			schedule_timeout_idle(KHYP_ZEROPOOL_DELAY);
		xchg(&khyp_zeropool_kicked, false);
		timeout = khyp_zeropool_fill();
	}
	return 0;
}

/* A pool may want a block: wake the thread. */
void khyp_zeropool_kick(void)
{
	if (!READ_ONCE(zero_pool_mb))
		return;
	/* Full barrier: the change that made a pool want is seen first. */
	if (!xchg(&khyp_zeropool_kicked, true))
		wake_up(&khyp_zeropool_wq);
}

static struct page *khyp_zeropool_pop(struct khyp_zeropool *pool)
{
	struct page *block;

	lockdep_assert_held(&pool->lock);
	block = list_first_entry_or_null(&pool->blocks, struct page, lru);
	if (block) {
		list_del_init(&block->lru);
		WRITE_ONCE(pool->nr, pool->nr - 1);
	}
	return block;
}

/**
 * khyp_zeropool_take() - a zeroed 2 MiB block for a first touch
 * @pool:	the VM's pool
 *
 * Return: an order-9 block, not split, zeroed and charged to the VM's
 * cgroup; or NULL if the pool is empty (the caller allocates one).
 */
struct page *khyp_zeropool_take(struct khyp_zeropool *pool)
{
	struct page *block = NULL;

	if (READ_ONCE(pool->nr)) {
		spin_lock(&pool->lock);
		block = khyp_zeropool_pop(pool);
		spin_unlock(&pool->lock);
	}
	atomic_long_inc(block ? &pool->hits : &pool->misses);
	khyp_zeropool_kick();
	return block;
}

/* Pages held in @pool now (for the shrinker's count). */
unsigned long khyp_zeropool_pages(struct khyp_zeropool *pool)
{
	return (unsigned long)READ_ONCE(pool->nr) * KHYP_HUGE_PAGES;
}

/**
 * khyp_zeropool_drain() - take blocks out of a pool, for the shrinker
 * @pool:	the VM's pool
 * @nr_pages:	pages wanted (whole blocks are taken: up to 511 more)
 * @out:	where the blocks go; khyp_zeropool_free_list() frees them
 *
 * Called under the list_lru's spinlock: takes the blocks, frees nothing.
 * Return: pages taken.
 */
unsigned long khyp_zeropool_drain(struct khyp_zeropool *pool,
				  unsigned long nr_pages, struct list_head *out)
{
	unsigned long n = 0;
	struct page *block;

	spin_lock(&pool->lock);
	while (n < nr_pages && (block = khyp_zeropool_pop(pool))) {
		list_add_tail(&block->lru, out);
		n += KHYP_HUGE_PAGES;
	}
	spin_unlock(&pool->lock);
	atomic_long_add(n / KHYP_HUGE_PAGES, &pool->drained);
	return n;
}

void khyp_zeropool_free_list(struct list_head *blocks)
{
	struct page *block, *next;

	list_for_each_entry_safe(block, next, blocks, lru) {
		list_del_init(&block->lru);
		__free_pages(block, KHYP_ZEROPOOL_ORDER);
	}
}

/* The host is short of memory (a shrinker scan): no refill for a while. */
void khyp_zeropool_pressure(void)
{
	WRITE_ONCE(khyp_zeropool_last_pressure, jiffies);
}

/* A new VM's pool, empty, charged to the calling task's memory cgroup. */
void khyp_zeropool_init(struct khyp_zeropool *pool)
{
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->blocks);
	pool->nr = 0;
	atomic_long_set(&pool->hits, 0);
	atomic_long_set(&pool->misses, 0);
	atomic_long_set(&pool->filled, 0);
	atomic_long_set(&pool->drained, 0);
	pool->memcg = get_mem_cgroup_from_mm(current->mm);
	mutex_lock(&khyp_zeropool_fill_mutex);
	list_add_tail(&pool->node, &khyp_zeropools);
	mutex_unlock(&khyp_zeropool_fill_mutex);
}

/* The VM is going: no more blocks for it, and its blocks are freed. */
void khyp_zeropool_destroy(struct khyp_zeropool *pool)
{
	struct page *block;
	LIST_HEAD(blocks);

	mutex_lock(&khyp_zeropool_fill_mutex);
	list_del(&pool->node);
	mutex_unlock(&khyp_zeropool_fill_mutex);
	spin_lock(&pool->lock);
	while ((block = khyp_zeropool_pop(pool)))
		list_add_tail(&block->lru, &blocks);
	spin_unlock(&pool->lock);
	khyp_zeropool_free_list(&blocks);
	mem_cgroup_put(pool->memcg);
	pool->memcg = NULL;
}

int khyp_zeropool_module_init(void)
{
	struct task_struct *t;

	khyp_zeropool_last_pressure = jiffies - KHYP_ZEROPOOL_HOLD - 1;
	t = kthread_create(khyp_zeropool_thread, NULL, "khyp-zeropool");
	if (IS_ERR(t))
		return PTR_ERR(t);
	sched_set_normal(t, MAX_NICE);
	khyp_zeropool_task = t;
	wake_up_process(t);
	return 0;
}

/* Every VM, and so every pool, is gone: only the thread is left. */
void khyp_zeropool_module_exit(void)
{
	WARN_ON_ONCE(!list_empty(&khyp_zeropools));
	kthread_stop(khyp_zeropool_task);
}
