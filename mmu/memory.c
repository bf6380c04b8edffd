// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory that the module owns.
 *
 * Userspace declares regions of guest-physical space (slots); nothing is
 * allocated then.  A page is allocated, zeroed and charged to the memory
 * cgroup of the task that causes it (GFP_KERNEL_ACCOUNT) the first time
 * the guest (second-level fault) or userspace (fault on its mmap of the
 * VM fd) touches it, and kept in the slot's xarray.  Because every page is
 * found through that xarray, any single page can be taken back later
 * (the balloon does): zap the userspace mapping, drop the second-level
 * entry, erase and free it.
 *
 * 2 MiB at once: when the guest faults on a frame whose 2 MiB-aligned
 * range lies wholly inside one slot and has no page yet (neither guest
 * nor userspace touched it), the fault path may ask for the whole range:
 * one order-9 block, zeroed, charged like single pages (taken zeroed
 * from the VM's pool if it has one, mmu/zeropool.c), then split_page()
 * into 512 ordinary pages that go into the xarray in one walk of it
 * (khyp_slot_store_huge()).  The block is naturally aligned, so
 * mmu/fault.c maps it with one 2 MiB leaf; for everything else
 * (userspace mappings, freeing, the balloon) its pages are single pages
 * like any other.  split_page() gives each page its own
 * reference count and its own share of the memory-cgroup charge (6.1:
 * split_page_memcg(head, 512); 6.12: split_page_memcg(head, 9, 0)), so a
 * page freed alone uncharges exactly one page.  Without such a block
 * (fragmented host memory), the fault falls back to one 4 KiB page.
 *
 * Faults of several vCPUs at once: the page (or the 2 MiB block) is
 * allocated and zeroed with no lock held, so vCPUs touching new memory
 * at the same time do not wait for each other's zeroing.  Only looking
 * the frame up and installing the new page in the slot's xarray take
 * mem->lock, each for a few instructions.  The install looks the slot
 * up again, since the region may have been deleted (and another added)
 * meanwhile, and installs only into an empty entry: if another fault
 * installed a page for the frame first, that one is used and the new
 * one freed (never counted in nr_pages, and its memory-cgroup charge
 * goes with it); a block whose range is no longer wholly untouched
 * gives only the frame's own page, and the rest goes back.  Pages a
 * reclaim (the balloon) or a region deletion takes are erased under
 * mem->lock too, so they and an install never cross; whether the page
 * is still the guest's by the time it is mapped, the caller checks with
 * inval_seq as before (mmu/fault.c).
 *
 * Every field of a region request is checked here, once: alignment,
 * overflow of base + size, the guest-physical limit, overlap with other
 * slots, flags and reserved fields.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../core/khyp.h"
#include "memory.h"
#include "pgtable.h"

void khyp_memory_init(struct khyp_memory *mem, struct address_space *mapping,
		      const struct khyp_memory_ops *ops)
{
	mem->ops = ops;
	mem->inval_seq = 0;
	mutex_init(&mem->lock);
	memset(mem->slots, 0, sizeof(mem->slots));
	mem->slots_end = 0;
	atomic_long_set(&mem->nr_pages, 0);
	atomic_long_set(&mem->lost_races, 0);
	mem->mapping = mapping;
	khyp_zeropool_init(&mem->pool);
}

/* Free every page of a slot no longer reachable by guest or userspace. */
static void khyp_slot_free(struct khyp_memory *mem, struct khyp_mem_slot *slot)
{
	struct page *page;
	unsigned long index;

	xa_for_each(&slot->pages, index, page) {
		__free_page(page);
		atomic_long_dec(&mem->nr_pages);
	}
	xa_destroy(&slot->pages);
	kfree(slot);
}

void khyp_memory_destroy(struct khyp_memory *mem)
{
	unsigned int i;

	/*
	 * The pool first: its fill thread reads the slots (the declared
	 * RAM) and would see them freed, or fill a pool for a dying VM.
	 */
	khyp_zeropool_destroy(&mem->pool);
	/* The VM file is gone: no userspace mapping is left to zap. */
	for (i = 0; i < KHYP_MAX_MEM_REGIONS; i++) {
		if (mem->slots[i])
			khyp_slot_free(mem, mem->slots[i]);
		mem->slots[i] = NULL;
	}
	mem->slots_end = 0;
	WARN_ON_ONCE(atomic_long_read(&mem->nr_pages));
	mutex_destroy(&mem->lock);
}

static bool khyp_slots_overlap(const struct khyp_mem_slot *s, u64 gfn,
			       u64 npages)
{
	return gfn < s->base_gfn + s->npages && s->base_gfn < gfn + npages;
}

/*
 * A userspace fault that found @page before it left the guest installs
 * its PTE with the page locked (khyp_memory_lock_page()): once we had the
 * lock, that PTE is in, where the unmap that follows finds it, or the
 * fault saw the new inval_seq and installs nothing.
 */
static void khyp_page_wait_user_fault(struct page *page)
{
	lock_page(page);
	unlock_page(page);
}

static int khyp_memory_delete(struct khyp_memory *mem, u32 slot_id)
{
	struct khyp_mem_slot *slot = mem->slots[slot_id];
	unsigned long index;
	struct page *page;

	if (!slot)
		return -ENOENT;
	mem->slots[slot_id] = NULL;
	while (mem->slots_end && !mem->slots[mem->slots_end - 1])
		mem->slots_end--;
	WRITE_ONCE(mem->inval_seq, mem->inval_seq + 1);
	smp_wmb();	/* seq before the unmap; pairs with khyp_mmu_fault() */
	/* No new fault finds the slot now; drop existing mappings. */
	xa_for_each(&slot->pages, index, page)
		khyp_page_wait_user_fault(page);
	unmap_mapping_range(mem->mapping, slot->base_gfn << PAGE_SHIFT,
			    slot->npages << PAGE_SHIFT, 1);
	if (mem->ops && mem->ops->zap(mem, slot->base_gfn, slot->npages))
		mem->ops->flush(mem);
	khyp_slot_free(mem, slot);
	return 0;
}

/**
 * khyp_memory_set_region() - add or delete a slot (KHYP_SET_MEM_REGION)
 * @mem:	the VM's memory
 * @r:		the request, copied from userspace and not yet checked
 *
 * A slot is set once and deleted (size 0) before its number is used again.
 * Returns -EINVAL for a malformed request, -EEXIST if the slot is in use or
 * the range overlaps another slot, -ENOENT to delete an empty slot.
 */
int khyp_memory_set_region(struct khyp_memory *mem,
			   const struct khyp_mem_region *r)
{
	struct khyp_mem_slot *slot;
	unsigned int i, id;
	u64 apic_gfn;
	int ret;

	if (r->slot >= KHYP_MAX_MEM_REGIONS || (r->flags & ~KHYP_MEM_FLAGS_ALL) ||
	    memchr_inv(r->reserved, 0, sizeof(r->reserved)))
		return -EINVAL;
	/* No speculative index past slots[] either (Spectre v1). */
	id = array_index_nospec(r->slot, KHYP_MAX_MEM_REGIONS);
	if (!PAGE_ALIGNED(r->guest_phys_addr) || !PAGE_ALIGNED(r->size))
		return -EINVAL;
	/* Also rejects base + size wrapping around. */
	if (r->guest_phys_addr >= KHYP_MAX_GPA ||
	    r->size > KHYP_MAX_GPA - r->guest_phys_addr)
		return -EINVAL;

	mutex_lock(&mem->lock);
	if (!r->size) {
		ret = khyp_memory_delete(mem, id);
		goto unlock;
	}
	ret = -EEXIST;
	if (mem->slots[id])
		goto unlock;
	for (i = 0; i < KHYP_MAX_MEM_REGIONS; i++)
		if (mem->slots[i] &&
		    khyp_slots_overlap(mem->slots[i],
				       r->guest_phys_addr >> PAGE_SHIFT,
				       r->size >> PAGE_SHIFT))
			goto unlock;

	ret = -ENOMEM;
	slot = kzalloc(sizeof(*slot), GFP_KERNEL_ACCOUNT);
	if (!slot)
		goto unlock;
	slot->base_gfn = r->guest_phys_addr >> PAGE_SHIFT;
	slot->npages = r->size >> PAGE_SHIFT;
	slot->flags = r->flags;
	/* Its nodes are charged like the pages (GFP_NOWAIT ones too). */
	xa_init_flags(&slot->pages, XA_FLAGS_ACCOUNT);
	mem->slots[id] = slot;
	mem->slots_end = max(mem->slots_end, id + 1);
	/*
	 * The range was not RAM.  A vCPU may remember a frame of it as
	 * in no slot (core/run.c: khyp_handle_npf()), with inval_seq: the
	 * new value ends that.  A fault in flight that found no slot here
	 * is MMIO once, as before; a RAM fault in flight anywhere else
	 * sees the new value and retries (or maps 4 KiB instead of 2
	 * MiB): slower, once, and harmless.  The one non-RAM page that may
	 * be mapped is the APIC-access page (mmu/fault.c), which must give
	 * way to the RAM: a fault that looked before the slot was there
	 * sees the new inval_seq and maps nothing; one that mapped
	 * already is undone here.
	 */
	WRITE_ONCE(mem->inval_seq, mem->inval_seq + 1);
	apic_gfn = KHYP_APIC_ACCESS_GPA >> PAGE_SHIFT;
	if (apic_gfn >= slot->base_gfn &&
	    apic_gfn - slot->base_gfn < slot->npages) {
		if (mem->ops && mem->ops->zap(mem, apic_gfn, 1))
			mem->ops->flush(mem);
	}
	ret = 0;
unlock:
	mutex_unlock(&mem->lock);
	if (!ret && r->size)
		khyp_zeropool_kick();	/* new RAM: its pool may want blocks */
	return ret;
}

static struct khyp_mem_slot *khyp_memory_find(struct khyp_memory *mem,
					      u64 gfn, u64 npages)
{
	struct khyp_mem_slot *s;
	unsigned int i;

	lockdep_assert_held(&mem->lock);
	/* Up to the last slot in use: MMIO, in no slot, looks at them all. */
	for (i = 0; i < mem->slots_end; i++) {
		s = mem->slots[i];
		if (s && gfn >= s->base_gfn && npages <= s->npages &&
		    gfn - s->base_gfn <= s->npages - npages)
			return s;
	}
	return NULL;
}

/* Whether [gfn, gfn + npages) lies inside one slot (for mmap). */
bool khyp_memory_range_ok(struct khyp_memory *mem, u64 gfn, u64 npages)
{
	bool ok;

	mutex_lock(&mem->lock);
	ok = npages && khyp_memory_find(mem, gfn, npages);
	mutex_unlock(&mem->lock);
	return ok;
}

/* What is behind @gfn now: no slot, no page yet, or a page. */
enum khyp_frame khyp_memory_frame(struct khyp_memory *mem, u64 gfn)
{
	struct khyp_mem_slot *slot;
	enum khyp_frame f = KHYP_FRAME_NOT_RAM;

	mutex_lock(&mem->lock);
	slot = khyp_memory_find(mem, gfn, 1);
	if (slot)
		f = xa_load(&slot->pages, gfn - slot->base_gfn) ?
		    KHYP_FRAME_PAGE : KHYP_FRAME_EMPTY;
	mutex_unlock(&mem->lock);
	return f;
}

/*
 * Whether the 2 MiB-aligned range around @gfn lies inside @slot and has no
 * page yet; if so, its first index in the slot goes to *@first.
 */
static bool khyp_slot_huge_free(struct khyp_mem_slot *slot, u64 gfn,
				unsigned long *first)
{
	u64 start = ALIGN_DOWN(gfn, KHYP_HUGE_PAGES);
	unsigned long index;

	if (start < slot->base_gfn ||
	    start + KHYP_HUGE_PAGES > slot->base_gfn + slot->npages)
		return false;
	index = start - slot->base_gfn;
	*first = index;
	return !xa_find(&slot->pages, &index, *first + KHYP_HUGE_PAGES - 1,
			XA_PRESENT);
}

/*
 * A zeroed 2 MiB block, split into 512 single pages; or NULL.  From the
 * VM's pool if it has one (zeroed ahead, charged to the VM's creator's
 * cgroup), else allocated and zeroed here (charged to the caller's).
 */
static struct page *khyp_alloc_huge(struct khyp_memory *mem)
{
	const unsigned int order = KHYP_HUGE_SHIFT - PAGE_SHIFT;
	struct page *block;

	block = khyp_zeropool_take(&mem->pool);
	if (!block)
		block = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO |
				    __GFP_NORETRY | __GFP_NOWARN, order);
	if (block)
		split_page(block, order);
	return block;
}

/* Free the pages [@from, @to) of such a block that went unused. */
static void khyp_free_huge(struct page *block, unsigned int from,
			   unsigned int to)
{
	unsigned int i;

	for (i = from; i < to; i++)
		__free_page(block + i);
}

/*
 * Fill 512 entries of @slot from @first with the pages of @block, which
 * the caller checked were all empty (under mem->lock, held).  One walk
 * of the xarray: each store goes to the entry after the previous one,
 * not down from the root, and the xarray's lock is taken once, not 512
 * times (again only if a node must be allocated with it dropped).
 * Returns 0, or an errno with nothing changed.
 */
static int khyp_slot_store_huge(struct khyp_memory *mem,
				struct khyp_mem_slot *slot,
				unsigned long first, struct page *block)
{
	XA_STATE(xas, &slot->pages, first);
	unsigned int i, n = 0;
	void *old;

	lockdep_assert_held(&mem->lock);
	do {
		xas_lock(&xas);
		for (; n < KHYP_HUGE_PAGES; n++) {
			old = xas_store(&xas, block + n);
			if (xas_error(&xas))
				break;
			WARN_ON_ONCE(old);	/* checked empty under mem->lock */
			xas_next(&xas);
		}
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL_ACCOUNT));
	if (xas_error(&xas))
		goto undo;
	atomic_long_add(KHYP_HUGE_PAGES, &mem->nr_pages);
	return 0;

undo:
	for (i = 0; i < n; i++)
		xa_erase(&slot->pages, first + i);
	return xas_error(&xas);
}

/*
 * Under mem->lock (held): the page now behind @gfn, with a reference for
 * the caller, installing the one the caller allocated (@page, or the
 * pages of the 2 MiB block @block) if there is none yet.  What is not
 * installed is freed: *@page and *@block are NULL on return.  Returns
 * NULL if @gfn is in no slot any more, or an ERR_PTR.
 */
static struct page *khyp_slot_install(struct khyp_memory *mem, u64 gfn,
				      unsigned long seq, struct page **page,
				      struct page **block, u32 *flags,
				      bool *huge)
{
	struct khyp_mem_slot *slot;
	unsigned long index, first;
	struct page *p, *old;
	unsigned int off;
	int r;

	lockdep_assert_held(&mem->lock);
	slot = khyp_memory_find(mem, gfn, 1);
	if (!slot) {			/* its region was deleted meanwhile */
		p = NULL;
		goto free;
	}
	if (flags)
		*flags = slot->flags;
	index = gfn - slot->base_gfn;
	p = xa_load(&slot->pages, index);
	if (p) {			/* another fault was first */
		atomic_long_inc(&mem->lost_races);
		goto get;
	}
	if (*block) {
		/*
		 * Still the whole range untouched (the slot may be a new
		 * one), and nothing invalidated since the caller looked at
		 * the balloon: a frame of the range inflated meanwhile has
		 * no page, and the block would give it one.
		 */
		if (mem->inval_seq == seq &&
		    khyp_slot_huge_free(slot, gfn, &first) &&
		    !khyp_slot_store_huge(mem, slot, first, *block)) {
			p = *block + (index - first);
			*block = NULL;
			*huge = true;
			goto get;
		}
		/* Else only this frame's page of the block is used. */
		off = gfn & (KHYP_HUGE_PAGES - 1);
		*page = *block + off;
		khyp_free_huge(*block, 0, off);
		khyp_free_huge(*block, off + 1, KHYP_HUGE_PAGES);
		*block = NULL;
	}
	old = xa_cmpxchg(&slot->pages, index, NULL, *page, GFP_KERNEL_ACCOUNT);
	r = xa_err(old);
	if (r) {
		p = ERR_PTR(r);
		goto free;
	}
	/* Entries only appear under mem->lock, which we hold. */
	WARN_ON_ONCE(old);
	atomic_long_inc(&mem->nr_pages);
	p = *page;
	*page = NULL;
get:
	get_page(p);
free:
	if (*block)
		khyp_free_huge(*block, 0, KHYP_HUGE_PAGES);
	if (*page)
		__free_page(*page);
	*block = NULL;
	*page = NULL;
	return p;
}

/**
 * khyp_memory_fault_page() - the page behind a guest frame, allocated on
 *			      first use, 2 MiB at a time if asked
 * @mem:	the VM's memory
 * @gfn:	guest frame number
 * @try_huge:	allocate the whole 2 MiB-aligned range around @gfn as one
 *		block if it lies in one slot and has no page yet
 * @seq:	@mem->inval_seq as the caller read it before it decided
 *		@try_huge: a block is installed only if it has not moved
 * @flags:	if not NULL, receives the slot's KHYP_MEM_* flags
 * @huge:	if not NULL, set to whether this call allocated such a block
 *		(then @gfn's page is part of 512 physically contiguous,
 *		2 MiB-aligned pages backing that range)
 *
 * The page (or block) is allocated and zeroed without @mem->lock, which
 * is taken twice, briefly: to look the frame up, then to install the new
 * page in whatever slot holds @gfn by then.  Faults of different vCPUs on
 * new memory so allocate at the same time.  If another fault installed a
 * page for @gfn meanwhile, that one is returned and ours freed: a frame
 * never gets two pages.  If the 2 MiB range is no longer untouched, only
 * @gfn's page of the block is kept (mapped 4 KiB by the caller).
 *
 * Returns the page with a reference held for the caller, NULL if @gfn is
 * in no slot (an MMIO address), or an ERR_PTR on allocation failure.
 */
struct page *khyp_memory_fault_page(struct khyp_memory *mem, u64 gfn,
				    bool try_huge, unsigned long seq,
				    u32 *flags, bool *huge)
{
	struct page *page = NULL, *block = NULL, *p;
	struct khyp_mem_slot *slot;
	bool want_huge, is_huge = false;
	unsigned long first;

	if (huge)
		*huge = false;
	mutex_lock(&mem->lock);
	slot = khyp_memory_find(mem, gfn, 1);
	if (!slot) {
		mutex_unlock(&mem->lock);
		return NULL;
	}
	if (flags)
		*flags = slot->flags;
	p = xa_load(&slot->pages, gfn - slot->base_gfn);
	if (p) {
		get_page(p);
		mutex_unlock(&mem->lock);
		return p;
	}
	want_huge = try_huge && huge &&
		    khyp_slot_huge_free(slot, gfn, &first);
	mutex_unlock(&mem->lock);

	/* The slow part, with no lock: allocate and zero. */
	if (want_huge)
		block = khyp_alloc_huge(mem);
	if (!block) {
		page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!page)
			return ERR_PTR(-ENOMEM);
	}

	mutex_lock(&mem->lock);
	p = khyp_slot_install(mem, gfn, seq, &page, &block, flags, &is_huge);
	mutex_unlock(&mem->lock);
	if (huge)
		*huge = is_huge;
	return p;
}

/**
 * khyp_memory_get_page() - the page behind a guest frame, allocated (4 KiB)
 *			    on first use
 * @mem:	the VM's memory
 * @gfn:	guest frame number
 * @flags:	if not NULL, receives the slot's KHYP_MEM_* flags
 *
 * For userspace faults and the kernel's own reads of guest memory.  As
 * khyp_memory_fault_page() without 2 MiB blocks.
 */
struct page *khyp_memory_get_page(struct khyp_memory *mem, u64 gfn,
				  u32 *flags)
{
	return khyp_memory_fault_page(mem, gfn, false, 0, flags, NULL);
}

/**
 * khyp_memory_read_locked() - copy bytes of one guest frame
 * @mem:	the VM's memory, its @lock held by the caller
 * @gpa:	guest-physical address
 * @buf:	destination
 * @len:	bytes, not past the end of @gpa's page
 *
 * For the kernel's reads of guest memory that look at several frames in
 * a row (mmu/gwalk.c): one @lock for all of them, and no reference on
 * the pages, which cannot be freed while @lock is held (a page leaves
 * its slot's xarray only under it, and is freed after that).  A frame
 * that no one has touched yet reads as the zeros its page will hold,
 * and is not given one.
 *
 * Return: 0, or -EFAULT if @gpa is in no slot.
 */
int khyp_memory_read_locked(struct khyp_memory *mem, u64 gpa, void *buf,
			    unsigned int len)
{
	u64 gfn = gpa >> PAGE_SHIFT;
	struct khyp_mem_slot *slot = khyp_memory_find(mem, gfn, 1);
	struct page *page;
	void *va;

	if (!slot)
		return -EFAULT;
	page = xa_load(&slot->pages, gfn - slot->base_gfn);
	if (!page) {
		memset(buf, 0, len);
		return 0;
	}
	va = kmap_local_page(page);
	memcpy(buf, va + offset_in_page(gpa), len);
	kunmap_local(va);
	return 0;
}

/**
 * khyp_memory_lock_page() - the page for a fault on the VMM's mapping
 * @mem:	the VM's memory
 * @gfn:	guest frame number
 *
 * As khyp_memory_get_page(), but the page comes back locked, and is
 * still the guest's: the core mm installs the PTE before it unlocks the
 * page, and a page taken back meanwhile (balloon, region deleted) is
 * detected through @mem->inval_seq, which is bumped before pages go and
 * re-read here under the page lock.  Without this, the VMM could map a
 * page that had already left the guest, and the guest and the VMM would
 * no longer share that frame.
 *
 * Return: the page, locked and with a reference for the caller; NULL if
 * @gfn is in no slot; ERR_PTR(-EAGAIN) if it was taken back meanwhile
 * (fault again); ERR_PTR(-ENOMEM).
 */
struct page *khyp_memory_lock_page(struct khyp_memory *mem, u64 gfn)
{
	unsigned long seq = READ_ONCE(mem->inval_seq);
	struct page *page;

	smp_rmb();	/* seq before the lookup, as in khyp_mmu_fault() */
	page = khyp_memory_get_page(mem, gfn, NULL);
	if (IS_ERR_OR_NULL(page))
		return page;
	lock_page(page);
	if (READ_ONCE(mem->inval_seq) != seq) {
		unlock_page(page);
		put_page(page);
		return ERR_PTR(-EAGAIN);
	}
	return page;
}

/**
 * khyp_memory_reclaim() - give single guest pages back to the host
 * @mem:	the VM's memory
 * @gfns:	guest frame numbers
 * @n:		how many
 * @not_ram:	per frame, set to whether it lies in no slot
 *
 * Each page is removed from its slot, from userspace mappings and from the
 * second-level tables (one TLB flush for the batch), then freed: its
 * memory-cgroup charge goes with it.  A page mapped by a 2 MiB leaf costs
 * a split of that leaf first (mmu/pgtable.c): the other 511 pages stay
 * mapped, with 4 KiB leaves.  A page never touched costs nothing.
 * The next touch of the frame allocates a new zeroed page.
 *
 * Return: how many pages were freed.
 */
unsigned long khyp_memory_reclaim(struct khyp_memory *mem, const u64 *gfns,
				  unsigned int n, bool *not_ram)
{
	struct khyp_mem_slot *slot;
	unsigned long zapped = 0, freed = 0;
	struct page *page, *next;
	LIST_HEAD(pages);
	unsigned int i;

	mutex_lock(&mem->lock);
	WRITE_ONCE(mem->inval_seq, mem->inval_seq + 1);
	smp_wmb();	/* seq before the unmaps; pairs with khyp_mmu_fault() */
	for (i = 0; i < n; i++) {
		slot = khyp_memory_find(mem, gfns[i], 1);
		not_ram[i] = !slot;
		if (!slot)
			continue;
		page = xa_erase(&slot->pages, gfns[i] - slot->base_gfn);
		if (!page)
			continue;
		list_add(&page->lru, &pages);
		khyp_page_wait_user_fault(page);
		unmap_mapping_range(mem->mapping, gfns[i] << PAGE_SHIFT,
				    PAGE_SIZE, 1);
		if (mem->ops)
			zapped += mem->ops->zap(mem, gfns[i], 1);
	}
	if (zapped)
		mem->ops->flush(mem);
	mutex_unlock(&mem->lock);

	list_for_each_entry_safe(page, next, &pages, lru) {
		list_del(&page->lru);
		__free_page(page);
		atomic_long_dec(&mem->nr_pages);
		freed++;
	}
	return freed;
}

/* Pages of guest RAM declared, over all slots. */
u64 khyp_memory_declared_pages(struct khyp_memory *mem)
{
	u64 n = 0;
	unsigned int i;

	mutex_lock(&mem->lock);
	for (i = 0; i < KHYP_MAX_MEM_REGIONS; i++)
		if (mem->slots[i])
			n += mem->slots[i]->npages;
	mutex_unlock(&mem->lock);
	return n;
}
