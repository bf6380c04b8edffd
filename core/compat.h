/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel interfaces that differ between the kernels khyp builds against
 * (Debian's 6.1 and 6.12).  Every version test lives here, not in the code
 * that uses the interface.
 */
#ifndef KHYP_CORE_COMPAT_H
#define KHYP_CORE_COMPAT_H

#include <linux/err.h>
#include <linux/list_lru.h>
#include <linux/shrinker.h>
#include <linux/bits.h>
#include <linux/types.h>
#include <linux/syscore_ops.h>
#include <asm/msr-index.h>
#include <asm/vmx.h>

/*
 * IA32_VMX_BASIC: both kernels have the revision and size accessors in
 * <asm/vmx.h>; only 6.12 (which also defines VMX_BASIC_32BIT_PHYS_ADDR_ONLY
 * there) has the memory-type one.
 */
#ifndef VMX_BASIC_32BIT_PHYS_ADDR_ONLY
static inline u32 vmx_basic_vmcs_mem_type(u64 basic)
{
	return (basic & VMX_BASIC_MEM_TYPE_MASK) >> VMX_BASIC_MEM_TYPE_SHIFT;
}
#endif

/*
 * The crash/emergency-reboot path turns virtualization off through one
 * registered callback on kernels that have cpu_emergency_register_virt_
 * callback() (upstream 6.6, backported to Debian's 6.1).  Older kernels
 * turn VMX and SVM off themselves in that path.  Kbuild defines
 * KHYP_HAVE_EMERGENCY_VIRT_CB when the kernel's <asm/reboot.h> has it.
 */
#ifdef KHYP_HAVE_EMERGENCY_VIRT_CB
#include <asm/reboot.h>
#define khyp_register_emergency_cb(cb)	cpu_emergency_register_virt_callback(cb)
#define khyp_unregister_emergency_cb(cb) cpu_emergency_unregister_virt_callback(cb)
#else
#define khyp_register_emergency_cb(cb)	do { } while (0)
#define khyp_unregister_emergency_cb(cb) do { } while (0)
#endif

/*
 * syscore (suspend/resume) callbacks take a data pointer and are registered
 * through a struct syscore on newer kernels (Debian's 6.12 has this
 * backported); Kbuild defines KHYP_HAVE_SYSCORE_DATA for those.
 */
#ifdef KHYP_HAVE_SYSCORE_DATA
#define KHYP_SYSCORE_ARGS		void *data
#define KHYP_DEFINE_SYSCORE(name, s, r)					\
	static const struct syscore_ops name##_ops = {			\
		.suspend = s, .resume = r };				\
	static struct syscore name = { .ops = &name##_ops }
#define khyp_register_syscore(x)	register_syscore(x)
#define khyp_unregister_syscore(x)	unregister_syscore(x)
#else
#define KHYP_SYSCORE_ARGS		void
#define KHYP_DEFINE_SYSCORE(name, s, r)					\
	static struct syscore_ops name = { .suspend = s, .resume = r }
#define khyp_register_syscore(x)	register_syscore_ops(x)
#define khyp_unregister_syscore(x)	unregister_syscore_ops(x)
#endif

/* eventfd_signal() lost its count argument (always 1) in 6.8. */
#ifdef KHYP_HAVE_EVENTFD_SIGNAL_1
#define khyp_eventfd_signal(ctx)	eventfd_signal(ctx)
#else
#define khyp_eventfd_signal(ctx)	eventfd_signal(ctx, 1)
#endif

/*
 * Pages a shrinker freed that reclaim should count as progress: reclaim
 * judges itself by the LRU pages it freed plus current->reclaim_state,
 * and ignores what a shrinker's scan returns.  6.4 added
 * mm_account_reclaimed_pages() for this (the field became "reclaimed",
 * and memcg reclaim no longer counts it, only reclaim of the whole
 * host); before, slab's frees added to reclaimed_slab directly.
 */
#ifdef KHYP_HAVE_MM_ACCOUNT_RECLAIMED
#include <linux/swap.h>
#define khyp_account_reclaimed(pages)	mm_account_reclaimed_pages(pages)
#else
#include <linux/sched.h>
#include <linux/swap.h>
static inline void khyp_account_reclaimed(unsigned long pages)
{
	if (current->reclaim_state)
		current->reclaim_state->reclaimed_slab += pages;
}
#endif

/* vm_flags_set() arrived in 6.3; before, vm_flags was written directly. */
#ifndef KHYP_HAVE_VM_FLAGS_SET
#include <linux/mm_types.h>
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/*
 * The shrinker API: shrinker_alloc()/shrinker_register()/shrinker_free()
 * since 6.7, register_shrinker() on a caller's struct before.  @storage
 * is used only by the old API.  The shrinker is memcg-aware, with @lru
 * (initialised here, destroyed by the caller) as its list.
 */
/* Small batches: even light reclaim moves the balloon targets. */
#define KHYP_SHRINKER_BATCH	16

#ifdef KHYP_HAVE_SHRINKER_ALLOC
static inline struct shrinker *
khyp_shrinker_create(struct shrinker *storage, const char *name,
		     unsigned long (*count)(struct shrinker *,
					    struct shrink_control *),
		     unsigned long (*scan)(struct shrinker *,
					   struct shrink_control *),
		     struct list_lru *lru)
{
	struct shrinker *s = shrinker_alloc(SHRINKER_MEMCG_AWARE, "%s", name);

	if (!s)
		return ERR_PTR(-ENOMEM);
	if (list_lru_init_memcg(lru, s)) {
		shrinker_free(s);
		return ERR_PTR(-ENOMEM);
	}
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
	s->batch = KHYP_SHRINKER_BATCH;
	shrinker_register(s);
	return s;
}

static inline void khyp_shrinker_destroy(struct shrinker *s)
{
	shrinker_free(s);
}
#else
/*
 * register_shrinker() gives the shrinker its id, which the list_lru needs:
 * the shrinker is live before its list_lru is; callers must cope.
 */
static inline struct shrinker *
khyp_shrinker_create(struct shrinker *storage, const char *name,
		     unsigned long (*count)(struct shrinker *,
					    struct shrink_control *),
		     unsigned long (*scan)(struct shrinker *,
					   struct shrink_control *),
		     struct list_lru *lru)
{
	int r;

	storage->count_objects = count;
	storage->scan_objects = scan;
	storage->seeks = DEFAULT_SEEKS;
	storage->batch = KHYP_SHRINKER_BATCH;
	storage->flags = SHRINKER_MEMCG_AWARE;
	r = register_shrinker(storage, "%s", name);
	if (r)
		return ERR_PTR(r);
	r = list_lru_init_memcg(lru, storage);
	if (r) {
		unregister_shrinker(storage);
		return ERR_PTR(r);
	}
	return storage;
}

static inline void khyp_shrinker_destroy(struct shrinker *s)
{
	unregister_shrinker(s);
}
#endif

/*
 * list_lru_add() took the memory cgroup from the object until 6.8, which
 * renamed that list_lru_add_obj() and gave list_lru_add() explicit node
 * and cgroup arguments.
 */
#ifdef KHYP_HAVE_LIST_LRU_ADD_OBJ
#define khyp_list_lru_add_obj(lru, item)	list_lru_add_obj(lru, item)
#define khyp_list_lru_del_obj(lru, item)	list_lru_del_obj(lru, item)
#else
#define khyp_list_lru_add_obj(lru, item)	list_lru_add(lru, item)
#define khyp_list_lru_del_obj(lru, item)	list_lru_del(lru, item)
#endif

/*
 * Is a task runnable (on a runqueue)?  6.12's scheduler keeps a task that
 * went to sleep queued for a while (delayed dequeue), so on_rq alone no
 * longer says it; it has task_is_runnable() for that, which Kbuild finds
 * (KHYP_HAVE_TASK_IS_RUNNABLE).
 */
#ifdef KHYP_HAVE_TASK_IS_RUNNABLE
#define khyp_task_runnable(t)	task_is_runnable(t)
#else
#define khyp_task_runnable(t)	READ_ONCE((t)->on_rq)
#endif

#endif /* KHYP_CORE_COMPAT_H */
