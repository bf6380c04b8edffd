// SPDX-License-Identifier: GPL-2.0
/*
 * Second-level page tables (EPT and NPT) over the guest memory the module
 * owns.
 *
 * Both formats are 4-level radix trees of 512 entries per 4 KiB page with
 * the same index bits as x86 long-mode paging; only the bits of an entry
 * differ, so the walker is written once and asks a struct khyp_pt_format
 * how to encode an entry.  Tables are filled lazily: a guest access to a
 * guest-physical address with no mapping exits (EPT violation, NPF), and
 * the core maps the page behind it (core/run.c).  Mappings are removed when
 * a region goes; table pages stay until the VM is destroyed.
 *
 * Only 4 KiB leaves for now; 2 MiB leaves fit in the same walker later.
 */
#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <asm/io.h>
#include <asm/mtrr.h>
#include <asm/pgtable_types.h>
#include <asm/vmx.h>

#include "pgtable.h"

#define PT_LEVELS	4
#define PT_ADDR_MASK	GENMASK_ULL(51, 12)

static inline unsigned int pt_shift(int level)
{
	return PAGE_SHIFT + 9 * (level - 1);
}

/* EPT: read/write/execute bits, write-back memory, guest PAT honoured. */
static u64 ept_table(phys_addr_t pa)
{
	return pa | VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK |
	       VMX_EPT_EXECUTABLE_MASK;
}

static u64 ept_leaf(phys_addr_t pa, bool writable)
{
	return pa | VMX_EPT_READABLE_MASK | VMX_EPT_EXECUTABLE_MASK |
	       (writable ? VMX_EPT_WRITABLE_MASK : 0) |
	       ((u64)MTRR_TYPE_WRBACK << VMX_EPT_MT_EPTE_SHIFT);
}

const struct khyp_pt_format khyp_pt_ept = {
	.name		= "ept",
	.table		= ept_table,
	.leaf		= ept_leaf,
	.present	= VMX_EPT_RWX_MASK,
};

/*
 * NPT: ordinary x86 entries.  The hardware treats every guest access as a
 * user access, so U/S is set at every level.
 */
static u64 npt_table(phys_addr_t pa)
{
	return pa | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED;
}

static u64 npt_leaf(phys_addr_t pa, bool writable)
{
	return pa | _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED |
	       (writable ? _PAGE_RW | _PAGE_DIRTY : 0);
}

const struct khyp_pt_format khyp_pt_npt = {
	.name		= "npt",
	.table		= npt_table,
	.leaf		= npt_leaf,
	.present	= _PAGE_PRESENT,
};

int khyp_pgtable_init(struct khyp_pgtable *pt, const struct khyp_pt_format *fmt)
{
	pt->fmt = fmt;
	mutex_init(&pt->lock);
	pt->root = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!pt->root)
		return -ENOMEM;
	pt->nr_tables = 1;
	return 0;
}

static void pt_free_table(struct khyp_pgtable *pt, struct page *table,
			  int level)
{
	u64 *entries = page_address(table);
	unsigned int i;

	if (level > 1)
		for (i = 0; i < PTRS_PER_PTE; i++)
			if (entries[i] & pt->fmt->present)
				pt_free_table(pt, pfn_to_page((entries[i] &
						PT_ADDR_MASK) >> PAGE_SHIFT),
					      level - 1);
	__free_page(table);
	pt->nr_tables--;
}

/* No vCPU of the VM is left: nothing walks the tables any more. */
void khyp_pgtable_destroy(struct khyp_pgtable *pt)
{
	if (pt->root)
		pt_free_table(pt, pt->root, PT_LEVELS);
	WARN_ON_ONCE(pt->nr_tables);
	pt->root = NULL;
	mutex_destroy(&pt->lock);
}

phys_addr_t khyp_pgtable_root(const struct khyp_pgtable *pt)
{
	return page_to_phys(pt->root);
}

/**
 * khyp_pgtable_map() - map one 4 KiB guest page
 * @pt:		the VM's tables
 * @gpa:	guest-physical address, page aligned, below KHYP_MAX_GPA
 * @pa:		host-physical address of the page
 * @writable:	whether guest writes are allowed
 *
 * Replaces an existing mapping of @gpa.  The caller holds @pt->lock (it
 * checks, under it, that the page is still the guest's).  Returns 0 or
 * -ENOMEM.
 */
int khyp_pgtable_map(struct khyp_pgtable *pt, u64 gpa, phys_addr_t pa,
		     bool writable)
{
	u64 *table = page_address(pt->root);
	struct page *page;
	unsigned int idx;
	int level;

	lockdep_assert_held(&pt->lock);
	for (level = PT_LEVELS; level > 1; level--) {
		idx = (gpa >> pt_shift(level)) & (PTRS_PER_PTE - 1);
		if (!(table[idx] & pt->fmt->present)) {
			page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
			if (!page)
				return -ENOMEM;
			pt->nr_tables++;
			WRITE_ONCE(table[idx], pt->fmt->table(page_to_phys(page)));
		}
		table = phys_to_virt(table[idx] & PT_ADDR_MASK);
	}
	idx = (gpa >> PAGE_SHIFT) & (PTRS_PER_PTE - 1);
	WRITE_ONCE(table[idx], pt->fmt->leaf(pa, writable));
	return 0;
}

static unsigned long pt_unmap_range(struct khyp_pgtable *pt, u64 *table,
				    int level, u64 start, u64 end)
{
	u64 span = 1ULL << pt_shift(level);
	unsigned long count = 0;
	u64 addr, next, e;
	unsigned int idx;

	for (addr = start; addr < end; addr = next) {
		next = min((addr | (span - 1)) + 1, end);
		idx = (addr >> pt_shift(level)) & (PTRS_PER_PTE - 1);
		e = table[idx];
		if (!(e & pt->fmt->present))
			continue;
		if (level == 1) {
			WRITE_ONCE(table[idx], 0);
			count++;
		} else {
			count += pt_unmap_range(pt,
						phys_to_virt(e & PT_ADDR_MASK),
						level - 1, addr, next);
		}
	}
	return count;
}

/**
 * khyp_pgtable_unmap() - remove the mappings of a guest-physical range
 * @pt:		the VM's tables
 * @gpa:	first guest-physical byte, page aligned
 * @size:	bytes, page aligned
 *
 * The caller flushes the vCPUs' TLBs before it frees the pages.  Returns
 * how many 4 KiB mappings were removed.
 */
unsigned long khyp_pgtable_unmap(struct khyp_pgtable *pt, u64 gpa, u64 size)
{
	unsigned long n;

	mutex_lock(&pt->lock);
	n = pt_unmap_range(pt, page_address(pt->root), PT_LEVELS, gpa,
			   gpa + size);
	mutex_unlock(&pt->lock);
	return n;
}
