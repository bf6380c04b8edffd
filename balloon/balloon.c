// SPDX-License-Identifier: GPL-2.0
/*
 * A VM's balloon: its targets, who is told when they change, and the
 * balloon protocol's hypercalls (uapi/linux/khyp_balloon.h,
 * docs/balloon.md).
 *
 * The target is the larger of what userspace asks (KHYP_SET_BALLOON) and
 * what host memory pressure asks (shrinker.c).  Whenever it changes, the
 * guest gets its notification interrupt if it asked for one (NOTIFY), and
 * the eventfd of KHYP_BALLOON_EVENTFD is signalled, for a balloon device
 * in userspace (virtio-balloon).
 *
 * The guest asks for its target, then inflates or deflates in batches of
 * frames, listed in its RAM; pages.c runs them, as it runs those of
 * KHYP_BALLOON_PAGES from userspace.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <uapi/linux/khyp_balloon.h>

#include "../core/compat.h"
#include "../core/subsys.h"
#include "../core/vcpu.h"
#include "../core/vm.h"
#include "../irq/irq.h"
#include "balloon.h"
#include "shrinker.h"

atomic_long_t khyp_balloon_freed_total;

/*
 * The VM lifetime hooks (core/subsys.h).  In the VM creator's context:
 * the balloon and the shrinker's link are charged there.
 */
static int khyp_balloon_vm_create(struct khyp_vm *vm)
{
	struct khyp_balloon *b;
	int r;

	b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return -ENOMEM;
	b->vm = vm;
	b->pressure_max = ULONG_MAX;
	mutex_init(&b->lock);
	xa_init_flags(&b->gfns, XA_FLAGS_ACCOUNT);	/* see pages.c */
	INIT_LIST_HEAD(&b->node);
	r = khyp_shrinker_add(b);
	if (r) {
		mutex_destroy(&b->lock);
		kfree(b);
		return r;
	}
	vm->balloon = b;
	return 0;
}

static void khyp_balloon_vm_destroy(struct khyp_vm *vm)
{
	struct khyp_balloon *b = vm->balloon;
	struct eventfd_ctx *ctx;

	/* No scan or decay can notify any more: no RCU reader is left. */
	khyp_shrinker_remove(b);
	ctx = rcu_dereference_protected(b->eventfd, true);
	if (ctx)
		eventfd_ctx_put(ctx);
	xa_destroy(&b->gfns);
	mutex_destroy(&b->lock);
	kfree(b);
	vm->balloon = NULL;
}

/* What the guest is told: the larger target, within the VM's RAM. */
u64 khyp_balloon_effective(struct khyp_vm *vm)
{
	struct khyp_balloon *b = vm->balloon;
	u64 t = max_t(u64, READ_ONCE(b->target), READ_ONCE(b->pressure_target));

	return min(t, khyp_memory_declared_pages(&vm->mem));
}

/* The list of a batch: a page of guest RAM, mapped for the call. */
static u64 *khyp_balloon_map_list(struct khyp_vm *vm, u64 gpa,
				  struct page **pagep)
{
	struct page *page;

	if (gpa & ~PAGE_MASK || gpa >= KHYP_MAX_GPA)
		return NULL;
	page = khyp_memory_get_page(&vm->mem, gpa >> PAGE_SHIFT, NULL);
	if (IS_ERR_OR_NULL(page))
		return NULL;
	*pagep = page;
	return kmap_local_page(page);
}

static void khyp_balloon_unmap_list(u64 *list, struct page *page)
{
	kunmap_local(list);
	put_page(page);
}

/* INFLATE, DEFLATE: the list is a page of guest RAM. */
static s64 khyp_balloon_batch(struct khyp_vm *vm, bool inflate, u64 gpa,
			      u64 count)
{
	struct page *page;
	u64 *list;
	s64 r;

	if (!count || count > KHYP_BALLOON_BATCH_MAX)
		return -KHYP_BALLOON_EINVAL;
	list = khyp_balloon_map_list(vm, gpa, &page);
	if (!list)
		return -KHYP_BALLOON_EINVAL;
	r = khyp_balloon_pages(vm, inflate ? KHYP_BALLOON_OP_INFLATE :
					     KHYP_BALLOON_OP_DEFLATE,
			       list, count, KHYP_BALLOON_PROTO_HYPERCALL);
	khyp_balloon_unmap_list(list, page);
	return r;
}

/**
 * khyp_balloon_hypercall() - a guest's balloon call (KHYP_HC_BALLOON_*)
 * @vcpu:	the calling vCPU (CPL 0, checked by the caller)
 * @nr:		the hypercall number, KHYP_HC_BALLOON_PROBE .. _NOTIFY
 *		(the range registered with the core)
 * @arg0:	RBX
 * @arg1:	RCX
 *
 * Return: the value for RAX; -KHYP_HC_ENOSYS for an unknown number.
 */
static s64 khyp_balloon_hypercall(struct khyp_vcpu *vcpu, u64 nr, u64 arg0,
				  u64 arg1)
{
	struct khyp_vm *vm = vcpu->vm;
	struct khyp_balloon *b = vm->balloon;
	s64 r;

	if (nr == KHYP_HC_BALLOON_PROBE) {
		if (arg0 < 1)
			return -KHYP_BALLOON_EPROTO;
		if (!READ_ONCE(b->probed)) {
			mutex_lock(&b->lock);
			WRITE_ONCE(b->probed, true);
			b->protocol = KHYP_BALLOON_PROTO_HYPERCALL;
			mutex_unlock(&b->lock);
		}
		return KHYP_BALLOON_VERSION;
	}
	if (nr < KHYP_HC_BALLOON_TARGET || nr > KHYP_HC_BALLOON_NOTIFY)
		return -KHYP_HC_ENOSYS;
	if (!READ_ONCE(b->probed))
		return -KHYP_BALLOON_EPROTO;

	switch (nr) {
	case KHYP_HC_BALLOON_TARGET:
		mutex_lock(&b->lock);
		r = khyp_balloon_effective(vm);
		mutex_unlock(&b->lock);
		return r;
	case KHYP_HC_BALLOON_INFLATE:
	case KHYP_HC_BALLOON_DEFLATE:
		/* Maps the guest's list, frees or charges pages. */
		khyp_vcpu_host_touched(vcpu);
		return khyp_balloon_batch(vm, nr == KHYP_HC_BALLOON_INFLATE,
					  arg0, arg1);
	case KHYP_HC_BALLOON_NOTIFY:
		if (arg0 && (arg0 < 32 || arg0 > 255))
			return -KHYP_BALLOON_EINVAL;
		mutex_lock(&b->lock);
		WRITE_ONCE(b->notify_vector, 0);
		WRITE_ONCE(b->notify_vcpu, vcpu->id);
		WRITE_ONCE(b->notify_vector, arg0);
		mutex_unlock(&b->lock);
		return 0;
	default:	/* KHYP_HC_BALLOON_STATS */
		mutex_lock(&b->lock);
		b->guest_free = arg0;
		mutex_unlock(&b->lock);
		return 0;
	}
}

/**
 * khyp_balloon_notify() - the effective target changed: tell who listens
 * @b:	the VM's balloon
 *
 * Signals the eventfd of KHYP_BALLOON_EVENTFD if one is set, and raises
 * the guest's notification vector through irq/ if it asked for one
 * (NOTIFY).  Any context that may send IPIs, the shrinker's under its
 * spinlock included; never waits.
 */
void khyp_balloon_notify(struct khyp_balloon *b)
{
	u8 vector = READ_ONCE(b->notify_vector);
	struct eventfd_ctx *ctx;

	atomic_long_inc(&b->target_changes);
	rcu_read_lock();
	ctx = rcu_dereference(b->eventfd);
	if (ctx)
		khyp_eventfd_signal(ctx);
	rcu_read_unlock();
	if (vector && khyp_irq_raise_vector(b->vm, READ_ONCE(b->notify_vcpu),
					    vector))
		atomic_long_inc(&b->notifications);
}

/**
 * khyp_balloon_pressure_moved() - the shrinker changed the pressure target
 * @b:		the VM's balloon
 * @old:	its value before
 * @new:	its value now
 *
 * Notifies if the effective target moved with it, that is if userspace's
 * target is not above both.  Userspace's target is read without the
 * lock: if KHYP_SET_BALLOON changes it meanwhile, one of the two sees the
 * other's new value or both see a change (each writes before it reads),
 * so a change of the effective target is never left unsignalled.  The
 * VM's RAM, which caps the effective target, is not looked at (it needs
 * a mutex): a pressure target beyond it may notify a change that is not.
 */
void khyp_balloon_pressure_moved(struct khyp_balloon *b, unsigned long old,
				 unsigned long new)
{
	u64 t = READ_ONCE(b->target);

	if (max_t(u64, t, old) != max_t(u64, t, new))
		khyp_balloon_notify(b);
}

/**
 * khyp_balloon_pressure_clamp() - the pressure target down to its ceiling
 * @b:	the balloon
 *
 * Called by the one who lowered the ceiling, after storing it and a full
 * barrier, and by a scan after its cmpxchg raised the target (a full
 * barrier too): each stores, then loads what the other stores, so at
 * least one of them sees both the new ceiling and the raised target and
 * lowers it.  (A scan reads the ceiling before it raises the target, and
 * could otherwise leave it above a ceiling set in between.)
 */
void khyp_balloon_pressure_clamp(struct khyp_balloon *b)
{
	unsigned long t = READ_ONCE(b->pressure_target), max;

	do {
		max = READ_ONCE(b->pressure_max);
		if (t <= max)
			return;
	} while (!try_cmpxchg(&b->pressure_target, &t, max));
	khyp_balloon_pressure_moved(b, t, max);
}

int khyp_balloon_set_target(struct khyp_vm *vm,
			    const struct khyp_balloon_target *t)
{
	struct khyp_balloon *b = vm->balloon;
	u64 ram = khyp_memory_declared_pages(&vm->mem);
	u64 before, after;

	if ((t->flags & ~KHYP_BALLOON_PRESSURE_MAX) || t->reserved0 ||
	    memchr_inv(t->reserved, 0, sizeof(t->reserved)))
		return -EINVAL;
	if (t->pages > ram &&
	    !(t->flags && t->pages == KHYP_BALLOON_NO_MAX))
		return -EINVAL;
	if (t->flags) {
		mutex_lock(&b->lock);
		WRITE_ONCE(b->pressure_max, t->pages > ram ? ULONG_MAX :
			   (unsigned long)t->pages);
		smp_mb();	/* the ceiling, then the target: see the clamp */
		khyp_balloon_pressure_clamp(b);
		mutex_unlock(&b->lock);
		return 0;
	}
	mutex_lock(&b->lock);
	before = khyp_balloon_effective(vm);
	WRITE_ONCE(b->target, t->pages);
	/*
	 * Store, then load pressure_target: pairs with the fully ordered
	 * cmpxchg of khyp_balloon_pressure_moved()'s callers, so that of a
	 * concurrent SET_BALLOON and decay at least one sees the other's
	 * value and signals the change.
	 */
	smp_mb();
	after = khyp_balloon_effective(vm);
	mutex_unlock(&b->lock);
	if (before != after)
		khyp_balloon_notify(b);
	return 0;
}

/**
 * khyp_balloon_set_eventfd() - KHYP_BALLOON_EVENTFD
 * @vm:	the VM
 * @e:	the eventfd to signal at each change of the effective target, or
 *	-1 for none
 *
 * Replaces the one set before, whose reference is dropped once no
 * notification can be using it.
 *
 * Return: 0; -EINVAL for flags or reserved fields, or an fd that is not
 * an eventfd; -EBADF for an fd that is not open.
 */
int khyp_balloon_set_eventfd(struct khyp_vm *vm,
			     const struct khyp_balloon_eventfd *e)
{
	struct khyp_balloon *b = vm->balloon;
	struct eventfd_ctx *ctx = NULL, *old;

	if (e->flags || memchr_inv(e->reserved, 0, sizeof(e->reserved)))
		return -EINVAL;
	if (e->fd != -1) {
		ctx = eventfd_ctx_fdget(e->fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	mutex_lock(&b->lock);
	old = rcu_replace_pointer(b->eventfd, ctx, lockdep_is_held(&b->lock));
	mutex_unlock(&b->lock);
	if (old) {
		synchronize_rcu();	/* khyp_balloon_notify() is done with it */
		eventfd_ctx_put(old);
	}
	return 0;
}

void khyp_balloon_get_stats(struct khyp_vm *vm, struct khyp_balloon_stats *st)
{
	struct khyp_balloon *b = vm->balloon;

	memset(st, 0, sizeof(*st));
	mutex_lock(&b->lock);
	st->target = b->target;
	st->pressure_target = READ_ONCE(b->pressure_target);
	st->effective_target = khyp_balloon_effective(vm);
	st->size = b->size;
	st->inflated = b->inflated;
	st->deflated = b->deflated;
	st->freed = b->freed;
	st->violations = b->violations;
	st->rejected = b->rejected;
	st->guest_free = b->guest_free;
	st->probed = b->probed;
	st->notify_vector = b->notify_vector;
	st->protocol = b->protocol;
	st->reported = b->reported;
	mutex_unlock(&b->lock);
	st->notifications = atomic_long_read(&b->notifications);
	st->target_changes = atomic_long_read(&b->target_changes);
	st->ram_pages = atomic_long_read(&vm->mem.nr_pages);
}

/* For debugfs: not in struct khyp_balloon_stats, which is ABI. */
unsigned long khyp_balloon_idle_scans(struct khyp_vm *vm)
{
	return atomic_long_read(&vm->balloon->idle_scans);
}

/* For debugfs: the pressure target's ceiling, ULONG_MAX for none. */
unsigned long khyp_balloon_pressure_max(struct khyp_vm *vm)
{
	return READ_ONCE(vm->balloon->pressure_max);
}

static const struct khyp_subsys khyp_balloon_subsys = {
	.name		= "balloon",
	.vm_create	= khyp_balloon_vm_create,
	.vm_destroy	= khyp_balloon_vm_destroy,
	.hc_first	= KHYP_HC_BALLOON_PROBE,
	.hc_last	= KHYP_HC_BALLOON_NOTIFY,
	.hypercall	= khyp_balloon_hypercall,
};

/* Module load: the shrinker, then the hooks into the core. */
int khyp_balloon_module_init(void)
{
	int r;

	r = khyp_shrinker_module_init();
	if (r)
		return r;
	r = khyp_subsys_register(&khyp_balloon_subsys);
	if (r)
		khyp_shrinker_module_exit();
	return r;
}

void khyp_balloon_module_exit(void)
{
	khyp_subsys_unregister(&khyp_balloon_subsys);
	khyp_shrinker_module_exit();
}
