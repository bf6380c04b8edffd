// SPDX-License-Identifier: GPL-2.0
/*
 * The balloon protocol, host side: a guest hands pages back to the host
 * and takes them again (uapi/linux/khyp_balloon.h, docs/balloon.md).
 *
 * The guest asks for its target, then inflates: it sends a batch of guest
 * frames it does not use, and each accepted frame is freed to the host
 * through mmu/memory.c (userspace and second-level mappings removed, one
 * TLB flush for the batch, the page freed and uncharged).  Deflating just
 * forgets the frames: the next touch allocates a zeroed page, as for any
 * guest page.  The target is the larger of what userspace asks
 * (KHYP_SET_BALLOON) and what host memory pressure asks (shrinker.c).
 *
 * Guest input is not trusted: every entry is checked (RAM, not already in
 * the balloon, within the target, no stray bits) and gets its own status;
 * a bad entry is counted and harms nothing else.  A guest touching a
 * ballooned frame gets a fresh zero page and a violation on its record.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <uapi/linux/khyp_balloon.h>

#include "../core/subsys.h"
#include "../core/vcpu.h"
#include "../core/vm.h"
#include "../irq/irq.h"
#include "balloon.h"
#include "shrinker.h"

#define KHYP_BALLOON_LIST_MASK	GENMASK_ULL(11, 0)

/*
 * The value of a frame's entry in b->gfns: whether it had a page when it
 * was inflated.  Frames without one free nothing, yet cost an entry (up
 * to one xarray node each, for sparse frames), so there may be no more of
 * them than the VM has pages: a guest with a huge declared region must
 * not turn never-touched frames into host memory.  The entries are
 * charged to the VMM's memory cgroup (the vCPU thread inflates): the
 * xarray allocates most nodes under its lock with GFP_NOWAIT, which is
 * charged only with XA_FLAGS_ACCOUNT, whatever gfp xa_store() gets.
 */
#define KHYP_BALLOON_HAD_PAGE	1
#define KHYP_BALLOON_NO_PAGE	2

/* A frame left the balloon: its entry's value was @entry. */
static void khyp_balloon_forget(struct khyp_balloon *b, void *entry)
{
	lockdep_assert_held(&b->lock);
	b->size--;
	if (xa_to_value(entry) == KHYP_BALLOON_NO_PAGE)
		b->no_page--;
}

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
	mutex_init(&b->lock);
	xa_init_flags(&b->gfns, XA_FLAGS_ACCOUNT);	/* see above */
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

	khyp_shrinker_remove(b);
	xa_destroy(&b->gfns);
	mutex_destroy(&b->lock);
	kfree(b);
	vm->balloon = NULL;
}

/* What the guest is told: the larger target, within the VM's RAM. */
static u64 khyp_balloon_effective(struct khyp_vm *vm)
{
	struct khyp_balloon *b = vm->balloon;
	u64 t = max_t(u64, b->target, READ_ONCE(b->pressure_target));

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

static s64 khyp_balloon_inflate(struct khyp_vm *vm, u64 *list,
				unsigned int n)
{
	struct khyp_balloon *b = vm->balloon;
	u64 target = khyp_balloon_effective(vm);
	unsigned int i, nr = 0;
	unsigned long freed;
	bool *not_ram;
	u64 *gfns;
	u16 *idx;
	s64 r;

	gfns = kmalloc_array(n, sizeof(*gfns), GFP_KERNEL_ACCOUNT);
	idx = kmalloc_array(n, sizeof(*idx), GFP_KERNEL_ACCOUNT);
	not_ram = kcalloc(n, sizeof(*not_ram), GFP_KERNEL_ACCOUNT);
	r = -ENOMEM;
	if (!gfns || !idx || !not_ram)
		goto out;

	mutex_lock(&b->lock);
	for (i = 0; i < n; i++) {
		u64 e = READ_ONCE(list[i]), gfn = e >> PAGE_SHIFT;
		enum khyp_frame f = KHYP_FRAME_NOT_RAM;
		unsigned long v;

		if (!(e & KHYP_BALLOON_LIST_MASK) &&
		    gfn < KHYP_MAX_GPA >> PAGE_SHIFT)
			f = khyp_memory_frame(&vm->mem, gfn);
		v = f == KHYP_FRAME_PAGE ? KHYP_BALLOON_HAD_PAGE :
					   KHYP_BALLOON_NO_PAGE;

		if (e & KHYP_BALLOON_LIST_MASK) {
			list[i] = e | KHYP_BALLOON_S_INVALID;
		} else if (f == KHYP_FRAME_NOT_RAM) {
			list[i] = e | KHYP_BALLOON_S_NOT_RAM;
		} else if (xa_load(&b->gfns, gfn)) {
			list[i] = e | KHYP_BALLOON_S_STATE;
		} else if (b->size + nr >= target) {
			list[i] = e | KHYP_BALLOON_S_TARGET;
		} else if (v == KHYP_BALLOON_NO_PAGE &&
			   b->no_page >= atomic_long_read(&vm->mem.nr_pages)) {
			list[i] = e | KHYP_BALLOON_S_NO_PAGE;
		} else if (xa_err(xa_store(&b->gfns, gfn, xa_mk_value(v),
					   GFP_KERNEL_ACCOUNT))) {
			list[i] = e | KHYP_BALLOON_S_TARGET;	/* no memory */
		} else {
			if (v == KHYP_BALLOON_NO_PAGE)
				b->no_page++;
			idx[nr] = i;
			gfns[nr++] = gfn;
			continue;
		}
		b->rejected++;
	}

	freed = khyp_memory_reclaim(&vm->mem, gfns, nr, not_ram);
	b->freed += freed;
	atomic_long_add(freed, &khyp_balloon_freed_total);
	atomic_long_add(freed, &b->unreported);
	r = 0;
	for (i = 0; i < nr; i++) {
		b->size++;
		if (!not_ram[i]) {
			r++;
			continue;
		}
		/* Its region was deleted meanwhile. */
		khyp_balloon_forget(b, xa_erase(&b->gfns, gfns[i]));
		list[idx[i]] |= KHYP_BALLOON_S_NOT_RAM;
		b->rejected++;
	}
	b->inflated += r;
	mutex_unlock(&b->lock);
out:
	kfree(not_ram);
	kfree(idx);
	kfree(gfns);
	return r;
}

static s64 khyp_balloon_deflate(struct khyp_vm *vm, u64 *list,
				unsigned int n)
{
	struct khyp_balloon *b = vm->balloon;
	unsigned int i;
	s64 r = 0;

	mutex_lock(&b->lock);
	for (i = 0; i < n; i++) {
		u64 e = READ_ONCE(list[i]), gfn = e >> PAGE_SHIFT;
		void *entry = NULL;

		if (!(e & KHYP_BALLOON_LIST_MASK))
			entry = xa_erase(&b->gfns, gfn);
		if (e & KHYP_BALLOON_LIST_MASK) {
			list[i] = e | KHYP_BALLOON_S_INVALID;
		} else if (!entry) {
			list[i] = e | KHYP_BALLOON_S_STATE;
		} else {
			khyp_balloon_forget(b, entry);
			r++;
			continue;
		}
		b->rejected++;
	}
	b->deflated += r;
	mutex_unlock(&b->lock);
	return r;
}

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
	if (inflate)
		r = khyp_balloon_inflate(vm, list, count);
	else
		r = khyp_balloon_deflate(vm, list, count);
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

/*
 * A second-level fault on @gfn: if the frame is in the balloon, the guest
 * broke the protocol.  It gets a new page (the caller allocates it); the
 * frame leaves the balloon.
 */
void khyp_balloon_fault(struct khyp_vm *vm, u64 gfn)
{
	struct khyp_balloon *b = vm->balloon;
	void *entry;

	if (!xa_load(&b->gfns, gfn))
		return;
	mutex_lock(&b->lock);
	entry = xa_erase(&b->gfns, gfn);
	if (entry) {
		khyp_balloon_forget(b, entry);
		b->violations++;
		pr_info_ratelimited("vm %u: guest touched frame %#llx while it was in the balloon\n",
				    vm->id, gfn);
	}
	mutex_unlock(&b->lock);
}

/**
 * khyp_balloon_range_empty() - no frame of a range is in the balloon
 * @vm:		the VM
 * @gfn:	first frame
 * @n:		frames
 *
 * For the fault path, which may back a whole 2 MiB range at once: a frame
 * in the balloon would be allocated again, yet counted as given.  Read
 * without the balloon's lock: a frame inflated meanwhile is freed by the
 * inflation itself (which splits the 2 MiB mapping for it).
 */
bool khyp_balloon_range_empty(struct khyp_vm *vm, u64 gfn, u64 n)
{
	unsigned long index = gfn;

	if (!READ_ONCE(vm->balloon->size))	/* the usual case: no balloon */
		return true;
	return !xa_find(&vm->balloon->gfns, &index, gfn + n - 1, XA_PRESENT);
}

/**
 * khyp_balloon_notify() - tell the guest that its target changed
 * @b:	the VM's balloon
 *
 * Raises the guest's notification vector through irq/ if it asked for
 * one (NOTIFY).  Any context that may send IPIs; never waits.
 */
void khyp_balloon_notify(struct khyp_balloon *b)
{
	u8 vector = READ_ONCE(b->notify_vector);

	if (vector && khyp_irq_raise_vector(b->vm, READ_ONCE(b->notify_vcpu),
					    vector))
		atomic_long_inc(&b->notifications);
}

int khyp_balloon_set_target(struct khyp_vm *vm,
			    const struct khyp_balloon_target *t)
{
	struct khyp_balloon *b = vm->balloon;
	bool changed;

	if (t->flags || t->reserved0 ||
	    memchr_inv(t->reserved, 0, sizeof(t->reserved)))
		return -EINVAL;
	if (t->pages > khyp_memory_declared_pages(&vm->mem))
		return -EINVAL;
	mutex_lock(&b->lock);
	changed = b->target != t->pages;
	b->target = t->pages;
	mutex_unlock(&b->lock);
	if (changed)
		khyp_balloon_notify(b);
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
	mutex_unlock(&b->lock);
	st->notifications = atomic_long_read(&b->notifications);
	st->ram_pages = atomic_long_read(&vm->mem.nr_pages);
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
