/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Second-level page tables: guest-physical -> host-physical, walked by the
 * hardware (EPT on VMX, NPT on SVM).  One walker for both; the entry bits
 * differ and come from a small format table that each backend names.
 */
#ifndef KHYP_MMU_PGTABLE_H
#define KHYP_MMU_PGTABLE_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <asm/page_types.h>

struct page;

/* A 2 MiB second-level page: 512 guest frames, one level-2 leaf. */
#define KHYP_HUGE_SHIFT		21
#define KHYP_HUGE_SIZE		BIT_ULL(KHYP_HUGE_SHIFT)
#define KHYP_HUGE_PAGES		(1U << (KHYP_HUGE_SHIFT - PAGE_SHIFT))

/**
 * struct khyp_pt_format - how one second-level format encodes an entry
 * @name:	"ept" or "npt".
 * @table:	an entry pointing to the next-level table at @pa.
 * @leaf:	a 4 KiB mapping of @pa, writable or not, executable.
 * @present:	the mask that makes an entry present.
 * @huge:	the bit that makes a level-2 entry a 2 MiB leaf (@leaf of a
 *		2 MiB-aligned @pa, with this bit set).
 * @levels:	how many levels the hardware walks in a table of this
 *		format on this host, 4 or 5 (mmu/pgtable.c says why).
 * @exec:	the bit that makes a leaf executable (EPT's X), 0 if the
 *		format has none to clear.
 * @nx:		the bit that makes a leaf not executable (NPT's NX, which
 *		the nested walk honours where the host runs with EFER.NXE),
 *		0 if the format has none to set.
 * @huge_noexec: whether 2 MiB leaves must not be executable on this host
 *		(iTLB multihit), or NULL for never.
 */
struct khyp_pt_format {
	const char *name;
	u64 (*table)(phys_addr_t pa);
	u64 (*leaf)(phys_addr_t pa, bool writable);
	u64 present;
	u64 huge;
	unsigned int (*levels)(void);
	u64 exec;
	u64 nx;
	bool (*huge_noexec)(void);
};

extern const struct khyp_pt_format khyp_pt_ept;
extern const struct khyp_pt_format khyp_pt_npt;

/**
 * struct khyp_pt_stats - counters of one VM's tables (debugfs vm<N>/mmu)
 * @tables:	table pages allocated, root and detached ones included.
 * @huge_leaves: 2 MiB leaves mapped now.
 * @huge_mapped: 2 MiB leaves installed, in total.
 * @huge_split:	2 MiB leaves replaced by a table of 512 4 KiB leaves
 *		because one of their pages left the guest.
 * @huge_dropped: 2 MiB leaves removed whole because that table could not
 *		be allocated (the rest of their pages fault back as 4 KiB).
 * @huge_exec_split: non-executable 2 MiB leaves split into executable
 *		4 KiB ones because the guest fetched an instruction there.
 */
struct khyp_pt_stats {
	unsigned long tables;
	unsigned long huge_leaves;
	unsigned long huge_mapped;
	unsigned long huge_split;
	unsigned long huge_dropped;
	unsigned long huge_exec_split;
};

/**
 * struct khyp_pgtable - one VM's second-level page tables
 * @fmt:	(c) entry format.
 * @levels:	(c) levels of the tree, 4 or 5: @fmt->levels() at creation.
 * @huge_noexec: (c) 2 MiB leaves are made without @fmt->exec.
 * @lock:	protects every table page, @detached and @stats.  The fault
 *		path holds it only to install a leaf (and a table page on
 *		the way, if missing), never while a guest page is allocated;
 *		taken after khyp_memory.lock when both are held (a zap).
 * @root:	(c) the top-level table (level @levels: PML4 or PML5).
 * @detached:	(@lock) table pages that no entry points to any more but
 *		that a vCPU's paging-structure cache may still hold: freed
 *		after the next TLB flush (khyp_pgtable_free_detached()).
 * @stats:	(@lock) counters.
 */
struct khyp_pgtable {
	const struct khyp_pt_format *fmt;
	unsigned int levels;
	bool huge_noexec;
	struct mutex lock;	/* protects the tables, see above */
	struct page *root;
	struct list_head detached;
	struct khyp_pt_stats stats;
};

int khyp_pgtable_init(struct khyp_pgtable *pt, const struct khyp_pt_format *fmt);
void khyp_pgtable_destroy(struct khyp_pgtable *pt);
phys_addr_t khyp_pgtable_root(const struct khyp_pgtable *pt);
unsigned int khyp_pgtable_levels(const struct khyp_pgtable *pt);
int khyp_pgtable_map(struct khyp_pgtable *pt, u64 gpa, phys_addr_t pa,
		     bool writable);
int khyp_pgtable_map_noexec(struct khyp_pgtable *pt, u64 gpa, phys_addr_t pa);
int khyp_pgtable_map_huge(struct khyp_pgtable *pt, u64 gpa, phys_addr_t pa,
			  bool writable);
int khyp_pgtable_split_exec(struct khyp_pgtable *pt, u64 gpa);
unsigned long khyp_pgtable_unmap(struct khyp_pgtable *pt, u64 gpa, u64 size);
void khyp_pgtable_free_detached(struct khyp_pgtable *pt);
void khyp_pgtable_get_stats(struct khyp_pgtable *pt,
			    struct khyp_pt_stats *st);

#endif /* KHYP_MMU_PGTABLE_H */
