// SPDX-License-Identifier: GPL-2.0
/*
 * Second-level page tables (EPT and NPT) over the guest memory the module
 * owns.
 *
 * Both formats are radix trees of 512 entries per 4 KiB page with the
 * same index bits as x86 long-mode paging; only the bits of an entry
 * differ, so the walker is written once and asks a struct khyp_pt_format
 * how to encode an entry.  Tables are filled lazily: a guest access to a
 * guest-physical address with no mapping exits (EPT violation, NPF), and
 * the core maps the page behind it (mmu/fault.c).
 *
 * How deep the tree is, is not ours alone to choose.  EPT's depth is a
 * field of the EPT pointer, which khyp sets to 4 (vmx/vmcs.c).  NPT has
 * no such field: the nested tables are walked in the host's paging mode
 * (AMD APM vol. 2, "Nested Paging"), so with 5 levels when the host
 * kernel runs with CR4.LA57.  A 4-level tree under a 5-level walk would have its
 * 4 KiB leaves read as table pointers, into guest pages whose contents
 * the VMM writes: so an NPT tree has 5 levels on such a host.  Guest
 * addresses stay below KHYP_MAX_GPA, so only entry 0 of a level-5 root
 * is ever used.
 *
 * Leaves are 4 KiB (level 1) or 2 MiB (level 2, bit 7 set in both
 * formats).  A 2 MiB leaf maps 512 pages that guest memory allocated as
 * one naturally aligned block (mmu/memory.c) but keeps as 512 single
 * pages, so any one of them can leave the guest: removing the mapping of
 * part of a 2 MiB leaf first splits it, eagerly, into a new table of 512
 * 4 KiB leaves that map the same pages with the same rights, then clears
 * the 4 KiB leaves asked for.  Until the caller's TLB flush a vCPU may
 * still use the old 2 MiB translation for the other pages: it leads to the
 * same pages, so that is harmless.  If the table cannot be allocated, the
 * whole 2 MiB leaf goes instead (counted as "dropped"): the other 511
 * pages stay the guest's and fault back in as 4 KiB mappings.
 *
 * On Intel CPUs with the iTLB multihit erratum (CVE-2018-12207) a guest
 * that runs code in a page whose size the translation changes can cause
 * a machine check: there, as KVM does, 2 MiB EPT leaves are made without
 * execute permission, and an instruction fetch from one splits it into
 * 4 KiB leaves that have it (khyp_pgtable_split_exec()).  Data keeps its
 * 2 MiB mappings; code costs one more fault per 2 MiB range it runs in.
 *
 * A table left with no present entry by an unmap is detached and freed
 * after the next TLB flush (a vCPU's paging-structure cache may still
 * point to it until then), so that a range whose pages all went can be
 * mapped 2 MiB again.  The fault path never replaces a table by a 2 MiB
 * leaf: it would need a flush of its own.
 *
 * All of it runs under khyp_pgtable.lock; only the hardware walks the
 * tables without it.
 */
#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <asm/cpufeature.h>
#include <linux/mm.h>
#include <asm/io.h>
#include <asm/mtrr.h>
#include <asm/pgtable_types.h>
#include <asm/vmx.h>

#include "pgtable.h"

#define PT_ADDR_MASK	GENMASK_ULL(51, 12)
#define PT_HUGE_ADDR_MASK GENMASK_ULL(51, KHYP_HUGE_SHIFT)

/* EPT entry bit 7 in a PDE: it maps a 2 MiB page (SDM vol. 3, EPT). */
#define EPT_PAGE_SIZE	BIT_ULL(7)

static inline unsigned int pt_shift(int level)
{
	return PAGE_SHIFT + 9 * (level - 1);
}

static inline unsigned int pt_index(u64 gpa, int level)
{
	return (gpa >> pt_shift(level)) & (PTRS_PER_PTE - 1);
}

/*
 * EPT: read/write/execute bits; leaves are write-back with the guest's PAT
 * ignored (IPAT).  Guest memory is ordinary host RAM that the host and
 * the VMM use write-back: a guest that made its view uncacheable or
 * write-combining would see stale data, or leave stale lines behind.
 */
static u64 ept_table(phys_addr_t pa)
{
	return pa | VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK |
	       VMX_EPT_EXECUTABLE_MASK;
}

static u64 ept_leaf(phys_addr_t pa, bool writable)
{
	return pa | VMX_EPT_READABLE_MASK | VMX_EPT_EXECUTABLE_MASK |
	       (writable ? VMX_EPT_WRITABLE_MASK : 0) |
	       ((u64)MTRR_TYPE_WRBACK << VMX_EPT_MT_EPTE_SHIFT) |
	       VMX_EPT_IPAT_BIT;
}

/* The EPT pointer's page-walk length, set by vmx/vmcs.c. */
static unsigned int ept_levels(void)
{
	return 4;
}

/* iTLB multihit: the host kernel marks the Intel CPUs that have it. */
static bool ept_huge_noexec(void)
{
	return boot_cpu_has_bug(X86_BUG_ITLB_MULTIHIT);
}

const struct khyp_pt_format khyp_pt_ept = {
	.name		= "ept",
	.table		= ept_table,
	.leaf		= ept_leaf,
	.present	= VMX_EPT_RWX_MASK,
	.huge		= EPT_PAGE_SIZE,
	.levels		= ept_levels,
	.exec		= VMX_EPT_EXECUTABLE_MASK,
	.huge_noexec	= ept_huge_noexec,
};

/*
 * NPT: ordinary x86 entries.  The hardware treats every guest access as a
 * user access, so U/S is set at every level.  In a 2 MiB leaf bit 12 is
 * the PAT bit; the address is 2 MiB aligned, so it is 0: write-back.
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

/* The nested walk is as deep as the host's paging. */
static unsigned int npt_levels(void)
{
	return pgtable_l5_enabled() ? 5 : 4;
}

const struct khyp_pt_format khyp_pt_npt = {
	.name		= "npt",
	.table		= npt_table,
	.leaf		= npt_leaf,
	.present	= _PAGE_PRESENT,
	.huge		= _PAGE_PSE,
	.levels		= npt_levels,
	.nx		= _PAGE_NX,
};

static inline bool pt_present(const struct khyp_pgtable *pt, u64 e)
{
	return e & pt->fmt->present;
}

/* A leaf above level 1: only 2 MiB ones (level 2) are ever made. */
static inline bool pt_huge(const struct khyp_pgtable *pt, u64 e, int level)
{
	return level == 2 && pt_present(pt, e) && (e & pt->fmt->huge);
}

static inline u64 *pt_table_of(u64 e)
{
	return phys_to_virt(e & PT_ADDR_MASK);
}

int khyp_pgtable_init(struct khyp_pgtable *pt, const struct khyp_pt_format *fmt)
{
	pt->fmt = fmt;
	pt->levels = fmt->levels();
	pt->huge_noexec = fmt->huge_noexec && fmt->huge_noexec();
	mutex_init(&pt->lock);
	INIT_LIST_HEAD(&pt->detached);
	memset(&pt->stats, 0, sizeof(pt->stats));
	pt->root = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!pt->root)
		return -ENOMEM;
	pt->stats.tables = 1;
	return 0;
}

static void pt_free_table(struct khyp_pgtable *pt, struct page *table,
			  int level)
{
	u64 *entries = page_address(table);
	unsigned int i;

	if (level > 1)
		for (i = 0; i < PTRS_PER_PTE; i++)
			if (pt_present(pt, entries[i]) &&
			    !pt_huge(pt, entries[i], level))
				pt_free_table(pt, virt_to_page(pt_table_of(entries[i])),
					      level - 1);
	__free_page(table);
	pt->stats.tables--;
}

/* No vCPU of the VM is left: nothing walks the tables any more. */
void khyp_pgtable_destroy(struct khyp_pgtable *pt)
{
	if (pt->root)
		pt_free_table(pt, pt->root, pt->levels);
	khyp_pgtable_free_detached(pt);
	WARN_ON_ONCE(pt->stats.tables);
	pt->root = NULL;
	mutex_destroy(&pt->lock);
}

phys_addr_t khyp_pgtable_root(const struct khyp_pgtable *pt)
{
	return page_to_phys(pt->root);
}

unsigned int khyp_pgtable_levels(const struct khyp_pgtable *pt)
{
	return pt->levels;
}

/*
 * The entry for @gpa at @level, allocating the tables above it, or the
 * 2 MiB leaf met on the way (*@found says which level the entry is at).
 */
static u64 *pt_walk(struct khyp_pgtable *pt, u64 gpa, int level, int *found)
{
	u64 *table = page_address(pt->root);
	struct page *page;
	u64 *e;
	int l;

	lockdep_assert_held(&pt->lock);
	for (l = pt->levels; ; l--) {
		e = &table[pt_index(gpa, l)];
		if (l == level || pt_huge(pt, *e, l))
			break;
		if (!pt_present(pt, *e)) {
			page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
			if (!page)
				return ERR_PTR(-ENOMEM);
			pt->stats.tables++;
			WRITE_ONCE(*e, pt->fmt->table(page_to_phys(page)));
		}
		table = pt_table_of(*e);
	}
	*found = l;
	return e;
}

/**
 * khyp_pgtable_map() - map one 4 KiB guest page
 * @pt:		the VM's tables
 * @gpa:	guest-physical address, page aligned, below KHYP_MAX_GPA
 * @pa:		host-physical address of the page
 * @writable:	whether guest writes are allowed
 *
 * Replaces an existing 4 KiB mapping of @gpa.  If a 2 MiB leaf covers
 * @gpa already, it maps this very page (another vCPU installed it after
 * this one looked the page up; a page leaves only after its leaf was
 * split or removed), and nothing changes.  The caller holds @pt->lock (it
 * checks, under it, that the page is still the guest's).  Returns 0 or
 * -ENOMEM.
 */
int khyp_pgtable_map(struct khyp_pgtable *pt, u64 gpa, phys_addr_t pa,
		     bool writable)
{
	int level;
	u64 *e;

	e = pt_walk(pt, gpa, 1, &level);
	if (IS_ERR(e))
		return PTR_ERR(e);
	if (level != 1) {
		WARN_ON_ONCE((*e & PT_HUGE_ADDR_MASK) +
			     (gpa & (KHYP_HUGE_SIZE - 1)) != pa);
		return 0;
	}
	WRITE_ONCE(*e, pt->fmt->leaf(pa, writable));
	return 0;
}

/**
 * khyp_pgtable_map_noexec() - map one 4 KiB page that is not RAM, for data
 * @pt:		the VM's tables
 * @gpa:	guest-physical address, page aligned, below KHYP_MAX_GPA
 * @pa:		host-physical address of the page
 *
 * For the APIC-access page (core/run.c): readable and writable, never
 * executable, so that an instruction fetch there is a second-level
 * fault, as from any MMIO, and never reaches the page itself.  A CPU
 * makes such a fetch an APIC-access exit, but Bochs' VMX stops the whole
 * machine ("prefetch: getHostMemAddr vetoed direct read",
 * docs/reliability.md, the guest-surface fuzzer's finding 5).  The
 * caller holds @pt->lock; nothing else can map @gpa (it is not RAM).
 * EPT clears X; NPT sets NX, which needs the host's EFER.NXE (set by
 * Linux wherever the CPU has NX): without it the call is refused.  No
 * SVM path maps such a page today.
 * Returns 0, -ENOMEM, or -EOPNOTSUPP where the format cannot forbid
 * execution.
 */
int khyp_pgtable_map_noexec(struct khyp_pgtable *pt, u64 gpa, phys_addr_t pa)
{
	u64 nx = boot_cpu_has(X86_FEATURE_NX) ? pt->fmt->nx : 0;
	int level;
	u64 *e;

	if (!pt->fmt->exec && !nx)
		return -EOPNOTSUPP;
	e = pt_walk(pt, gpa, 1, &level);
	if (IS_ERR(e))
		return PTR_ERR(e);
	if (WARN_ON_ONCE(level != 1))
		return 0;
	WRITE_ONCE(*e, (pt->fmt->leaf(pa, true) & ~pt->fmt->exec) | nx);
	return 0;
}

/**
 * khyp_pgtable_map_huge() - map 2 MiB of guest memory with one leaf
 * @pt:		the VM's tables
 * @gpa:	guest-physical address, 2 MiB aligned, below KHYP_MAX_GPA
 * @pa:		host-physical address of 512 contiguous pages, 2 MiB aligned
 * @writable:	whether guest writes are allowed
 *
 * Without execute permission where @pt->huge_noexec (see the top of this
 * file).  The caller holds @pt->lock.  Returns 0, -ENOMEM, or -EEXIST if
 * a table of 4 KiB mappings is there already (the caller maps 4 KiB
 * instead).
 */
int khyp_pgtable_map_huge(struct khyp_pgtable *pt, u64 gpa, phys_addr_t pa,
			  bool writable)
{
	int level;
	u64 *e, leaf;

	e = pt_walk(pt, gpa, 2, &level);
	if (IS_ERR(e))
		return PTR_ERR(e);
	if (pt_present(pt, *e) && !pt_huge(pt, *e, 2))
		return -EEXIST;
	if (!pt_present(pt, *e)) {
		pt->stats.huge_leaves++;
		pt->stats.huge_mapped++;
	}
	leaf = pt->fmt->leaf(pa, writable) | pt->fmt->huge;
	if (pt->huge_noexec)
		leaf &= ~pt->fmt->exec;
	WRITE_ONCE(*e, leaf);
	return 0;
}

/*
 * Replace the 2 MiB leaf *@pde by a table of 512 4 KiB leaves mapping the
 * same pages with the same bits, plus @add.  False if no table could be
 * allocated with @gfp.
 */
static bool pt_split(struct khyp_pgtable *pt, u64 *pde, u64 add, gfp_t gfp)
{
	u64 e = *pde, bits = (e & ~(PT_ADDR_MASK | pt->fmt->huge)) | add;
	phys_addr_t pa = e & PT_HUGE_ADDR_MASK;
	struct page *page;
	unsigned int i;
	u64 *ptes;

	page = alloc_page(gfp);
	if (!page)
		return false;
	ptes = page_address(page);
	for (i = 0; i < PTRS_PER_PTE; i++)
		ptes[i] = bits | (pa + i * PAGE_SIZE);
	smp_wmb();	/* the entries before the table is reachable */
	WRITE_ONCE(*pde, pt->fmt->table(page_to_phys(page)));
	pt->stats.tables++;
	pt->stats.huge_leaves--;
	pt->stats.huge_split++;
	return true;
}

static bool pt_table_empty(const struct khyp_pgtable *pt, const u64 *table)
{
	unsigned int i;

	for (i = 0; i < PTRS_PER_PTE; i++)
		if (pt_present(pt, table[i]))
			return false;
	return true;
}

static unsigned long pt_unmap_range(struct khyp_pgtable *pt, u64 *table,
				    int level, u64 start, u64 end)
{
	u64 span = 1ULL << pt_shift(level);
	unsigned long count = 0;
	u64 addr, next, e, *child;
	unsigned int idx;

	for (addr = start; addr < end; addr = next) {
		next = min((addr | (span - 1)) + 1, end);
		idx = pt_index(addr, level);
		e = table[idx];
		if (!pt_present(pt, e))
			continue;
		if (level == 1) {
			WRITE_ONCE(table[idx], 0);
			count++;
			continue;
		}
		if (pt_huge(pt, e, level)) {
			/* Often to give memory back: do not insist. */
			if (next - addr == span ||
			    !pt_split(pt, &table[idx], 0, GFP_KERNEL_ACCOUNT |
				      __GFP_NORETRY | __GFP_NOWARN)) {
				if (next - addr != span)
					pt->stats.huge_dropped++;
				WRITE_ONCE(table[idx], 0);
				pt->stats.huge_leaves--;
				count += KHYP_HUGE_PAGES;
				continue;
			}
			e = table[idx];
		}
		child = pt_table_of(e);
		count += pt_unmap_range(pt, child, level - 1, addr, next);
		if (pt_table_empty(pt, child)) {
			WRITE_ONCE(table[idx], 0);
			list_add(&virt_to_page(child)->lru, &pt->detached);
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
 * A 2 MiB leaf that the range covers only in part is split first (see
 * the top of this file).  The caller flushes the vCPUs' TLBs before it
 * frees the pages, and then calls khyp_pgtable_free_detached().  Returns
 * how many 4 KiB mappings were removed (512 for a 2 MiB leaf).
 */
unsigned long khyp_pgtable_unmap(struct khyp_pgtable *pt, u64 gpa, u64 size)
{
	unsigned long n;

	mutex_lock(&pt->lock);
	n = pt_unmap_range(pt, page_address(pt->root), pt->levels, gpa,
			   gpa + size);
	mutex_unlock(&pt->lock);
	return n;
}

/**
 * khyp_pgtable_split_exec() - let the guest run code where it fetched
 * @pt:		the VM's tables
 * @gpa:	the guest-physical address of an instruction fetch that faulted
 *
 * If a non-executable 2 MiB leaf (@pt->huge_noexec) covers @gpa, replace
 * it by 512 executable 4 KiB leaves of the same pages.  The fault itself
 * made the CPU drop its translation of @gpa, so the guest's retry walks
 * the new table; the rest of the range's old translations only lack a
 * permission, and fault here again if used.  The caller holds @pt->lock.
 * Returns 1 if it split, 0 if there was nothing to split, or -ENOMEM.
 */
int khyp_pgtable_split_exec(struct khyp_pgtable *pt, u64 gpa)
{
	u64 *table = page_address(pt->root), *e;
	int l;

	lockdep_assert_held(&pt->lock);
	if (!pt->huge_noexec)
		return 0;
	for (l = pt->levels; l > 2; l--) {
		e = &table[pt_index(gpa, l)];
		if (!pt_present(pt, *e))
			return 0;
		table = pt_table_of(*e);
	}
	e = &table[pt_index(gpa, 2)];
	if (!pt_huge(pt, *e, 2) || (*e & pt->fmt->exec))
		return 0;
	if (!pt_split(pt, e, pt->fmt->exec, GFP_KERNEL_ACCOUNT))
		return -ENOMEM;
	pt->stats.huge_split--;
	pt->stats.huge_exec_split++;
	return 1;
}

/*
 * Free the tables that unmaps detached.  Only after a TLB flush that
 * started after they were detached: no vCPU can reach them then.
 */
void khyp_pgtable_free_detached(struct khyp_pgtable *pt)
{
	struct page *page, *next;

	mutex_lock(&pt->lock);
	list_for_each_entry_safe(page, next, &pt->detached, lru) {
		list_del(&page->lru);
		__free_page(page);
		pt->stats.tables--;
	}
	mutex_unlock(&pt->lock);
}

void khyp_pgtable_get_stats(struct khyp_pgtable *pt, struct khyp_pt_stats *st)
{
	mutex_lock(&pt->lock);
	*st = pt->stats;
	mutex_unlock(&pt->lock);
}
