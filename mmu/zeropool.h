/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pre-zeroed 2 MiB blocks kept for a VM's next first touches
 * (mmu/zeropool.c).
 */
#ifndef KHYP_MMU_ZEROPOOL_H
#define KHYP_MMU_ZEROPOOL_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct mem_cgroup;
struct page;

/**
 * struct khyp_zeropool - zeroed 2 MiB blocks kept for one VM
 * @lock:	protects @blocks and @nr.  Taken for a few instructions by
 *		the fault path (khyp_zeropool_take()), the refill thread
 *		and the shrinker's scan (khyp_zeropool_drain(), under the
 *		list_lru's lock); nothing is allocated, zeroed or freed
 *		under it, and no other lock is taken under it.
 * @blocks:	(@lock) order-9 blocks, not split, zeroed, linked by the
 *		first page's lru; charged to @memcg.
 * @nr:		(@lock for writers) how many blocks @blocks holds; read
 *		without the lock to decide whether to refill.
 * @memcg:	(c) the memory cgroup of the VM's creator, with a
 *		reference: the refill charges the blocks to it, as the
 *		creator's own allocations would be.  NULL without memcg.
 * @node:	on khyp_zeropools (mmu/zeropool.c), under
 *		khyp_zeropool_fill_mutex.
 * @hits:	first touches that took a block from the pool.
 * @misses:	first touches of 2 MiB that found the pool empty and
 *		allocated (and zeroed) a block in the fault.
 * @filled:	blocks the refill thread put in.
 * @drained:	blocks the shrinker took out.
 *
 * (c): constant between khyp_zeropool_init() and khyp_zeropool_destroy().
 */
struct khyp_zeropool {
	spinlock_t lock;	/* protects blocks and nr, see above */
	struct list_head blocks;
	unsigned int nr;
	struct mem_cgroup *memcg;
	struct list_head node;
	atomic_long_t hits, misses, filled, drained;
};

void khyp_zeropool_init(struct khyp_zeropool *pool);
void khyp_zeropool_destroy(struct khyp_zeropool *pool);
struct page *khyp_zeropool_take(struct khyp_zeropool *pool);
void khyp_zeropool_kick(void);
unsigned long khyp_zeropool_pages(struct khyp_zeropool *pool);
unsigned long khyp_zeropool_drain(struct khyp_zeropool *pool,
				  unsigned long nr_pages,
				  struct list_head *out);
void khyp_zeropool_free_list(struct list_head *blocks);
void khyp_zeropool_pressure(void);
int khyp_zeropool_module_init(void);
void khyp_zeropool_module_exit(void);

#endif /* KHYP_MMU_ZEROPOOL_H */
