// SPDX-License-Identifier: GPL-2.0
/*
 * The frames in a VM's balloon, and the batches that move pages in and out
 * of it, for both protocols (docs/balloon.md): the guest's own hypercalls
 * (balloon.c maps the list from guest RAM) and KHYP_BALLOON_PAGES, through
 * which a device in userspace (virtio-balloon) hands over the pages its
 * guest driver gave it.  Both come to khyp_balloon_pages(): one function
 * per operation, the same statuses and counts whoever asks.
 *
 * INFLATE frees each accepted frame's page to the host through
 * mmu/memory.c (userspace and second-level mappings removed, one TLB flush
 * for the batch, the page freed and uncharged from the VM's memory cgroup)
 * and records the frame in the balloon, up to the effective target.
 * DEFLATE just forgets the frames: the next touch allocates a zeroed page,
 * as for any guest page.  REPORT (free page reporting) frees the pages the
 * same way without recording them: no target applies, and a later touch
 * is no violation.
 *
 * The list is not trusted: every entry is checked (RAM, not already in the
 * balloon, within the target, no stray bits) and gets its own status; a
 * bad entry is counted and harms nothing else.  A guest touching a
 * ballooned frame gets a fresh zero page and a violation on its record.
 *
 * Locking: a batch runs under the balloon's lock, which it holds across
 * khyp_memory_reclaim() (the memory's lock nests inside): two batches, of
 * either protocol, take turns, and the check that a frame is not in the
 * balloon holds until its page is gone.  A region deleted meanwhile shows
 * as not_ram from the reclaim.  The shrinker changes only the pressure
 * target, read once per batch.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/khyp.h>
#include <uapi/linux/khyp_balloon.h>

#include "../core/vm.h"
#include "balloon.h"
#include "shrinker.h"

#define KHYP_BALLOON_LIST_MASK	GENMASK_ULL(11, 0)
#define KHYP_MAX_GFN		(KHYP_MAX_GPA >> PAGE_SHIFT)

/*
 * The value of a frame's entry in b->gfns: whether it had a page when it
 * was inflated.  Frames without one free nothing, yet cost an entry (up
 * to one xarray node each, for sparse frames), so there may be no more of
 * them than the VM has pages: a guest with a huge declared region must
 * not turn never-touched frames into host memory.  The entries are
 * charged to the VMM's memory cgroup (the vCPU thread, or the device's
 * thread, inflates): the xarray allocates most nodes under its lock with
 * GFP_NOWAIT, which is charged only with XA_FLAGS_ACCOUNT (balloon.c),
 * whatever gfp xa_store() gets.
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

/* The frame of entry @e, or KHYP_FRAME_NOT_RAM for a bad or foreign one. */
static enum khyp_frame khyp_balloon_entry_frame(struct khyp_vm *vm, u64 e)
{
	if (e & KHYP_BALLOON_LIST_MASK || e >> PAGE_SHIFT >= KHYP_MAX_GFN)
		return KHYP_FRAME_NOT_RAM;
	return khyp_memory_frame(&vm->mem, e >> PAGE_SHIFT);
}

/* The scratch arrays of a batch that frees pages: @n entries each. */
struct khyp_batch {
	u64 *gfns;	/* the frames to free */
	u16 *idx;	/* their places in the list */
	bool *not_ram;	/* set by khyp_memory_reclaim() */
};

static int khyp_batch_alloc(struct khyp_batch *s, unsigned int n)
{
	s->gfns = kmalloc_array(n, sizeof(*s->gfns), GFP_KERNEL_ACCOUNT);
	s->idx = kmalloc_array(n, sizeof(*s->idx), GFP_KERNEL_ACCOUNT);
	s->not_ram = kcalloc(n, sizeof(*s->not_ram), GFP_KERNEL_ACCOUNT);
	if (s->gfns && s->idx && s->not_ram)
		return 0;
	kfree(s->not_ram);
	kfree(s->idx);
	kfree(s->gfns);
	return -ENOMEM;
}

static void khyp_batch_free(struct khyp_batch *s)
{
	kfree(s->not_ram);
	kfree(s->idx);
	kfree(s->gfns);
}

static s64 khyp_balloon_inflate(struct khyp_vm *vm, u64 *list,
				unsigned int n, struct khyp_batch *sp)
{
	struct khyp_balloon *b = vm->balloon;
	u64 target = khyp_balloon_effective(vm);
	struct khyp_batch s = *sp;
	unsigned int i, nr = 0;
	unsigned long freed;
	s64 r;

	lockdep_assert_held(&b->lock);
	for (i = 0; i < n; i++) {
		u64 e = READ_ONCE(list[i]), gfn = e >> PAGE_SHIFT;
		enum khyp_frame f = khyp_balloon_entry_frame(vm, e);
		unsigned long v;

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
			s.idx[nr] = i;
			s.gfns[nr++] = gfn;
			continue;
		}
		b->rejected++;
	}

	freed = khyp_memory_reclaim(&vm->mem, s.gfns, nr, s.not_ram);
	b->freed += freed;
	atomic_long_add(freed, &khyp_balloon_freed_total);
	atomic_long_add(freed, &b->unreported);
	r = 0;
	for (i = 0; i < nr; i++) {
		b->size++;
		if (!s.not_ram[i]) {
			r++;
			continue;
		}
		/* Its region was deleted meanwhile. */
		khyp_balloon_forget(b, xa_erase(&b->gfns, s.gfns[i]));
		list[s.idx[i]] |= KHYP_BALLOON_S_NOT_RAM;
		b->rejected++;
	}
	b->inflated += r;
	return r;
}

static s64 khyp_balloon_deflate(struct khyp_vm *vm, u64 *list,
				unsigned int n)
{
	struct khyp_balloon *b = vm->balloon;
	unsigned int i;
	s64 r = 0;

	lockdep_assert_held(&b->lock);
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
	return r;
}

/*
 * REPORT finds a frame given twice in one batch by sorting the batch's
 * valid entries as (frame, place) keys: the frame needs 28 bits
 * (KHYP_MAX_GPA), the place 9.
 */
#define KHYP_KEY_IDX_BITS	9
static_assert(KHYP_BALLOON_BATCH_MAX <= 1 << KHYP_KEY_IDX_BITS);

static int khyp_key_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Sets @dup[i] for each entry of @list that repeats an earlier one. */
static int khyp_balloon_find_dups(const u64 *list, unsigned int n, bool *dup)
{
	unsigned int i, nk = 0;
	u64 *keys;

	keys = kmalloc_array(n, sizeof(*keys), GFP_KERNEL_ACCOUNT);
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (!(list[i] & KHYP_BALLOON_LIST_MASK))
			keys[nk++] = list[i] >> PAGE_SHIFT << KHYP_KEY_IDX_BITS | i;
	sort(keys, nk, sizeof(*keys), khyp_key_cmp, NULL);
	for (i = 1; i < nk; i++)
		if (keys[i] >> KHYP_KEY_IDX_BITS ==
		    keys[i - 1] >> KHYP_KEY_IDX_BITS)
			dup[keys[i] & GENMASK(KHYP_KEY_IDX_BITS - 1, 0)] = true;
	kfree(keys);
	return 0;
}

static s64 khyp_balloon_report(struct khyp_vm *vm, u64 *list, unsigned int n,
			       struct khyp_batch *sp, const bool *dup)
{
	struct khyp_balloon *b = vm->balloon;
	struct khyp_batch s = *sp;
	unsigned int i, nr = 0;
	unsigned long freed;
	s64 r;

	lockdep_assert_held(&b->lock);

	for (i = 0; i < n; i++) {
		u64 e = list[i], gfn = e >> PAGE_SHIFT;

		if (e & KHYP_BALLOON_LIST_MASK) {
			list[i] = e | KHYP_BALLOON_S_INVALID;
		} else if (khyp_balloon_entry_frame(vm, e) ==
			   KHYP_FRAME_NOT_RAM) {
			list[i] = e | KHYP_BALLOON_S_NOT_RAM;
		} else if (dup[i] || xa_load(&b->gfns, gfn)) {
			list[i] = e | KHYP_BALLOON_S_STATE;
		} else {
			s.idx[nr] = i;
			s.gfns[nr++] = gfn;
			continue;
		}
		b->rejected++;
	}

	/* Not in the balloon: a later touch is the guest's right. */
	freed = khyp_memory_reclaim(&vm->mem, s.gfns, nr, s.not_ram);
	b->reported += freed;
	atomic_long_add(freed, &khyp_balloon_freed_total);
	atomic_long_add(freed, &b->unreported);
	r = 0;
	for (i = 0; i < nr; i++) {
		if (!s.not_ram[i]) {
			r++;
			continue;
		}
		list[s.idx[i]] |= KHYP_BALLOON_S_NOT_RAM;
		b->rejected++;
	}
	return r;
}

/**
 * khyp_balloon_pages() - run one batch of either protocol
 * @vm:		the VM
 * @op:		KHYP_BALLOON_OP_INFLATE, _DEFLATE or _REPORT
 * @list:	@n entries (uapi/linux/khyp_balloon.h), in kernel memory or
 *		mapped from guest RAM (then the guest may change them
 *		meanwhile: each is read once); each gets its status
 * @n:		1 .. KHYP_BALLOON_BATCH_MAX
 * @protocol:	KHYP_BALLOON_PROTO_HYPERCALL or _USERSPACE, who asks
 *
 * The scratch arrays are allocated (and REPORT's duplicates found) before
 * the balloon's lock is taken, so that a vCPU's fault on a ballooned
 * frame (khyp_balloon_fault()) never waits for an allocation.
 *
 * Return: the entries that took effect (status S_OK), or -ENOMEM.
 */
s64 khyp_balloon_pages(struct khyp_vm *vm, u32 op, u64 *list,
		       unsigned int n, u32 protocol)
{
	struct khyp_balloon *b = vm->balloon;
	struct khyp_batch s = { };
	bool *dup = NULL;
	s64 r = -ENOMEM;

	if (op != KHYP_BALLOON_OP_DEFLATE && khyp_batch_alloc(&s, n))
		return -ENOMEM;
	if (op == KHYP_BALLOON_OP_REPORT) {
		/* the list is the ioctl's kernel copy: no one changes it */
		dup = kcalloc(n, sizeof(*dup), GFP_KERNEL_ACCOUNT);
		if (!dup || khyp_balloon_find_dups(list, n, dup))
			goto out;
	}

	mutex_lock(&b->lock);
	b->protocol = protocol;
	switch (op) {
	case KHYP_BALLOON_OP_INFLATE:
		r = khyp_balloon_inflate(vm, list, n, &s);
		break;
	case KHYP_BALLOON_OP_DEFLATE:
		r = khyp_balloon_deflate(vm, list, n);
		break;
	default:
		r = khyp_balloon_report(vm, list, n, &s, dup);
		break;
	}
	mutex_unlock(&b->lock);
out:
	kfree(dup);
	khyp_batch_free(&s);
	return r;
}

/**
 * khyp_balloon_pages_ioctl() - KHYP_BALLOON_PAGES: a batch from userspace
 * @vm:		the VM
 * @argp:	struct khyp_balloon_pages in userspace
 *
 * The list is copied in, run and copied back with its statuses.  There is
 * no vCPU here to flush its L1D for (khyp_vcpu_host_touched()): a vCPU
 * thread that runs on this CPU afterwards is scheduled in, which flags it.
 *
 * Return: 0; -EINVAL for a bad op, count, flags or reserved field;
 * -EFAULT for an unreadable or unwritable argument or list (a batch whose
 * statuses cannot be written back has taken effect all the same);
 * -ENOMEM.
 */
int khyp_balloon_pages_ioctl(struct khyp_vm *vm,
			     struct khyp_balloon_pages __user *argp)
{
	struct khyp_balloon_pages p;
	void __user *ulist;
	size_t bytes;
	u64 *list;
	s64 r;

	if (copy_from_user(&p, argp, sizeof(p)))
		return -EFAULT;
	if (p.flags || p.reserved0 ||
	    memchr_inv(p.reserved, 0, sizeof(p.reserved)))
		return -EINVAL;
	if (p.op > KHYP_BALLOON_OP_REPORT || !p.count ||
	    p.count > KHYP_BALLOON_BATCH_MAX)
		return -EINVAL;

	ulist = u64_to_user_ptr(p.list);
	bytes = array_size(p.count, sizeof(*list));
	list = kmalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!list)
		return -ENOMEM;
	r = -EFAULT;
	if (copy_from_user(list, ulist, bytes))
		goto out;
	r = khyp_balloon_pages(vm, p.op, list, p.count,
			       KHYP_BALLOON_PROTO_USERSPACE);
	if (r < 0)
		goto out;
	if (copy_to_user(ulist, list, bytes) || put_user(r, &argp->done))
		r = -EFAULT;
	else
		r = 0;
out:
	kfree(list);
	return r;
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
