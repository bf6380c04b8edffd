// SPDX-License-Identifier: GPL-2.0
/*
 * Reading guest memory by guest-virtual address.
 *
 * To emulate an MMIO instruction the core must read its bytes at CS:RIP,
 * which means translating through the guest's own page tables: none
 * (paging off), 32-bit 2-level (4 MiB pages with PSE), PAE 3-level, or
 * long-mode 4-level (2 MiB and 1 GiB pages).  This walker only reads: it
 * checks presence, not permissions (the CPU already fetched the
 * instruction), and sets no accessed bits.  Page-table entries and bytes
 * are read from the module's own guest pages; anything outside RAM fails.
 *
 * The whole read, walk and copy, holds the memory's lock once
 * (khyp_memory_read_locked()): no page can leave the guest meanwhile, so
 * none needs a reference, and an MMIO exit pays one lock, not one per
 * level (docs/performance.md).  A frame never touched reads as zeros, as
 * its page would.
 *
 * One write: khyp_guest_set_bit_virt(), the busy bit LTR sets in the
 * guest's GDT (core/desc.c), done on the page itself with a locked
 * instruction, as the processor's own write is.
 */
#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <asm/processor-flags.h>
#include <asm/msr-index.h>

#include "../core/vcpu.h"
#include "../core/vm.h"
#include "gwalk.h"

#define GW_PRESENT	BIT_ULL(0)
#define GW_PS		BIT_ULL(7)
#define GW_ADDR_MASK	GENMASK_ULL(51, 12)

/* Copy @len bytes at guest-physical @gpa, within one page; mem.lock held. */
static int khyp_guest_read_phys(struct khyp_vm *vm, u64 gpa, void *buf,
				unsigned int len)
{
	if (gpa >= KHYP_MAX_GPA)
		return -EFAULT;
	return khyp_memory_read_locked(&vm->mem, gpa, buf, len);
}

static int gw_read_entry(struct khyp_vm *vm, u64 gpa, bool wide, u64 *e)
{
	u32 e32;
	int r;

	if (wide)
		return khyp_guest_read_phys(vm, gpa, e, 8);
	r = khyp_guest_read_phys(vm, gpa, &e32, 4);
	*e = e32;
	return r;
}

/* Guest-virtual -> guest-physical, or -EFAULT; mem.lock held. */
static int khyp_gva_to_gpa(struct khyp_vm *vm, const struct khyp_paging *p,
			   u64 gva, u64 *gpa)
{
	unsigned int level, shift, levels;
	u64 table, e;
	bool wide;
	int r;

	if (!(p->cr0 & X86_CR0_PG)) {
		*gpa = gva & U32_MAX;
		return 0;
	}
	if (p->efer & EFER_LMA) {
		if (p->cr4 & X86_CR4_LA57)
			return -EFAULT;
		levels = 4;
		wide = true;
		table = p->cr3 & GW_ADDR_MASK;
	} else if (p->cr4 & X86_CR4_PAE) {
		gva &= U32_MAX;
		r = gw_read_entry(vm, (p->cr3 & GENMASK_ULL(31, 5)) +
				  ((gva >> 30) & 3) * 8, true, &e);
		if (r || !(e & GW_PRESENT))
			return -EFAULT;
		levels = 2;
		wide = true;
		table = e & GW_ADDR_MASK;
	} else {
		gva &= U32_MAX;
		levels = 2;
		wide = false;
		table = p->cr3 & GENMASK_ULL(31, 12);
	}

	for (level = levels; level >= 1; level--) {
		shift = PAGE_SHIFT + (wide ? 9 : 10) * (level - 1);
		r = gw_read_entry(vm, table + ((gva >> shift) &
				  (wide ? 511 : 1023)) * (wide ? 8 : 4),
				  wide, &e);
		if (r || !(e & GW_PRESENT))
			return -EFAULT;
		if (level == 1 || ((e & GW_PS) && level <= 3 &&
				   (wide || (p->cr4 & X86_CR4_PSE)))) {
			if (level == 1) {
				*gpa = (e & GW_ADDR_MASK) | (gva & ~PAGE_MASK);
			} else if (!wide) {
				/* 4 MiB page: bits 20:13 are address 39:32. */
				*gpa = (e & GENMASK_ULL(31, 22)) |
				       ((e & GENMASK_ULL(20, 13)) << 19) |
				       (gva & GENMASK_ULL(21, 0));
			} else {
				*gpa = (e & GW_ADDR_MASK &
					~GENMASK_ULL(shift - 1, 0)) |
				       (gva & GENMASK_ULL(shift - 1, 0));
			}
			return 0;
		}
		table = e & (wide ? GW_ADDR_MASK : GENMASK_ULL(31, 12));
	}
	return -EFAULT;
}

/**
 * khyp_guest_read_virt() - read guest memory at a linear address
 * @vcpu:	whose address space
 * @p:		its paging state (backend get_paging)
 * @gva:	linear address (segment base already added)
 * @buf:	destination
 * @len:	bytes, may cross pages
 *
 * Returns 0, or -EFAULT if a page is not mapped or not RAM.
 */
int khyp_guest_read_virt(struct khyp_vcpu *vcpu, const struct khyp_paging *p,
			 u64 gva, void *buf, unsigned int len)
{
	struct khyp_vm *vm = vcpu->vm;
	unsigned int chunk;
	int r = 0;
	u64 gpa;

	mutex_lock(&vm->mem.lock);
	while (len) {
		chunk = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(gva));
		r = khyp_gva_to_gpa(vm, p, gva, &gpa);
		if (!r)
			r = khyp_guest_read_phys(vm, gpa, buf, chunk);
		if (r)
			break;
		gva += chunk;
		buf += chunk;
		len -= chunk;
	}
	mutex_unlock(&vm->mem.lock);
	return r;
}

/**
 * khyp_guest_set_bit_virt() - set one bit of a guest byte, atomically
 * @vcpu:	whose address space
 * @p:		its paging state (backend get_paging)
 * @gva:	linear address of the byte
 * @nr:		the bit, 0-7
 *
 * For the processor's own locked writes to guest tables that khyp
 * emulates (LTR's busy bit).  The page is allocated if the guest never
 * touched it (it then reads as zeros, so callers have read the byte
 * first and found something there).
 *
 * Return: 0; -EFAULT if @gva is not mapped or not RAM; -EROFS if it is
 * in a read-only region (a write there is userspace's to handle).
 */
int khyp_guest_set_bit_virt(struct khyp_vcpu *vcpu,
			    const struct khyp_paging *p, u64 gva,
			    unsigned int nr)
{
	struct khyp_vm *vm = vcpu->vm;
	unsigned int off;
	struct page *page;
	u32 flags = 0;
	void *va;
	u64 gpa;
	int r;

	mutex_lock(&vm->mem.lock);
	r = khyp_gva_to_gpa(vm, p, gva, &gpa);
	mutex_unlock(&vm->mem.lock);
	if (r)
		return r;
	if (gpa >= KHYP_MAX_GPA)
		return -EFAULT;
	page = khyp_memory_get_page(&vm->mem, gpa >> PAGE_SHIFT, &flags);
	if (IS_ERR_OR_NULL(page))
		return -EFAULT;
	if (flags & KHYP_MEM_READONLY) {
		put_page(page);
		return -EROFS;
	}
	/* An aligned long holds the byte: set_bit() is a locked BTS. */
	off = offset_in_page(gpa);
	va = kmap_local_page(page);
	set_bit((off % sizeof(long)) * 8 + (nr & 7),
		va + round_down(off, sizeof(long)));
	kunmap_local(va);
	put_page(page);
	return 0;
}
