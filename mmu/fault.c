// SPDX-License-Identifier: GPL-2.0
/*
 * A second-level fault, first as RAM: map the page behind the address.
 *
 * The run loop (core/run.c) sends every second-level fault here first.
 * If the address is RAM, the page is allocated if needed and mapped, and
 * the guest runs again: it retries the access.  Only what is not RAM, or
 * a write to read-only RAM, goes on as MMIO: to the in-kernel devices
 * (core/bus.c), then to userspace (core/mmio.c).
 *
 * The page is looked up, and on first touch allocated and zeroed,
 * without the page-table lock, and allocated and zeroed without the
 * memory lock too (mmu/memory.c): vCPUs touching new memory at the same
 * time do not wait for each other, and take each lock only for a short
 * install.  Two faults on one frame may both allocate; the memory lock
 * keeps one page, and both map it.  A region deleted or a page reclaimed
 * meanwhile could hand us a page on its way to being freed:
 * mem.inval_seq, read before the lookup and checked under the page-table
 * lock, tells; then the guest simply faults again.
 *
 * The first touch of a 2 MiB range that no one has touched yet allocates
 * the whole range as one block (mmu/memory.c) and maps it with one 2 MiB
 * leaf, if the CPU has 2 MiB second-level pages and the huge_pages
 * parameter is on.  Read-only slots get them too: the leaf is read-only
 * and writes still exit as MMIO.  A range with a frame in the balloon is
 * left to 4 KiB pages.  If a table of 4 KiB mappings is in the way
 * (another vCPU mapped a page of the new block first), this page is
 * mapped 4 KiB, and so will the block's other pages be.
 *
 * The page of a local APIC that is not RAM can be mapped to the backend's
 * APIC-access page (VMX, vmx/vmx.c): the guest's accesses to it then
 * exit as APIC accesses, which say the register and, for a store, the
 * instruction's length.  The page is never read or written through this
 * mapping (every access to it exits).  A slot added over it later drops
 * the mapping (khyp_memory_set_region()).
 */
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <asm/io.h>

#include "../balloon/balloon.h"
#include "../core/vm.h"
#include "fault.h"

static bool huge_pages = true;
module_param(huge_pages, bool, 0644);
MODULE_PARM_DESC(huge_pages,
		 "Map guest memory 2 MiB at a time where the CPU can (bool: Y or N; default Y)");

/* Whether first touches map 2 MiB at once (also for mmu/zeropool.c). */
bool khyp_mmu_huge_enabled(void)
{
	return (khyp_caps.features & KHYP_CAP_2M_PAGES) &&
	       READ_ONCE(huge_pages);
}

/* Map the 2 MiB block that @page, at @gpa, is part of with one leaf. */
static int khyp_mmu_map_huge(struct khyp_vm *vm, u64 gpa, struct page *page,
			     bool writable)
{
	u64 mask = ~(KHYP_HUGE_SIZE - 1);

	return khyp_pgtable_map_huge(&vm->pt, gpa & mask,
				     page_to_phys(page) & mask, writable);
}

/**
 * khyp_mmu_fault() - a second-level fault: map RAM if it is RAM
 * @vm:		the VM
 * @gpa:	the faulting guest-physical address
 * @write:	the access was a write
 * @fetch:	the access was an instruction fetch
 * @apic_pa:	if not 0, the APIC-access page to map at @gpa's page if it
 *		is not RAM (the faulting vCPU's xAPIC page is there)
 * @no_slot:	set to true (never to false) if the lookup found @gpa in
 *		no memory slot: MMIO, not a write to read-only RAM (not set
 *		for @gpa at or above KHYP_MAX_GPA, which no lookup reaches)
 *
 * Called by the faulting vCPU's thread, which may sleep.
 *
 * Return: > 0 if the guest can run again (mapped, or the page went away
 * meanwhile and the guest will fault again); 0 if the access is not to
 * RAM or writes read-only RAM: MMIO; a negative errno if the host failed
 * (-ENOMEM).
 */
int khyp_mmu_fault(struct khyp_vm *vm, u64 gpa, bool write, bool fetch,
		   phys_addr_t apic_pa, bool *no_slot)
{
	u64 first;
	unsigned long seq;
	bool huge = false, try_huge, writable;
	struct page *page;
	u32 flags = 0;
	int r = 0;

	if (gpa >= KHYP_MAX_GPA)
		return 0;
	/* Code in a non-executable 2 MiB leaf (iTLB multihit, pgtable.c). */
	if (fetch) {
		mutex_lock(&vm->pt.lock);
		r = khyp_pgtable_split_exec(&vm->pt, gpa);
		mutex_unlock(&vm->pt.lock);
		if (r)
			return r;
	}
	khyp_balloon_fault(vm, gpa >> PAGE_SHIFT);
	/*
	 * Before the balloon is looked at: an inflation that the look
	 * misses bumps inval_seq after it, and the 2 MiB block is then not
	 * installed (khyp_memory_fault_page()).
	 */
	seq = READ_ONCE(vm->mem.inval_seq);
	smp_rmb();	/* before the lookups; see khyp_memory_delete() */
	/* Not over frames in the balloon: they would be allocated. */
	first = ALIGN_DOWN(gpa >> PAGE_SHIFT, KHYP_HUGE_PAGES);
	try_huge = khyp_mmu_huge_enabled() &&
		   khyp_balloon_range_empty(vm, first, KHYP_HUGE_PAGES);
	page = khyp_memory_fault_page(&vm->mem, gpa >> PAGE_SHIFT, try_huge,
				      seq, &flags, &huge);
	if (IS_ERR(page))
		return PTR_ERR(page);
	if (!page && apic_pa && !fetch) {
		/* No slot appeared meanwhile (inval_seq): not RAM still. */
		mutex_lock(&vm->pt.lock);
		if (READ_ONCE(vm->mem.inval_seq) == seq)
			r = khyp_pgtable_map_noexec(&vm->pt, gpa & PAGE_MASK,
						    apic_pa);
		mutex_unlock(&vm->pt.lock);
		return r ? r : 1;
	}
	if (!page) {
		*no_slot = true;
		return 0;
	}
	if (write && (flags & KHYP_MEM_READONLY)) {
		put_page(page);
		return 0;
	}

	writable = !(flags & KHYP_MEM_READONLY);
	mutex_lock(&vm->pt.lock);
	if (READ_ONCE(vm->mem.inval_seq) == seq) {
		r = huge ? khyp_mmu_map_huge(vm, gpa, page, writable) : -EEXIST;
		if (r == -EEXIST)
			r = khyp_pgtable_map(&vm->pt, gpa & PAGE_MASK,
					     page_to_phys(page), writable);
	}
	mutex_unlock(&vm->pt.lock);
	put_page(page);
	return r ? r : 1;
}
