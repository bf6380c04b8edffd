/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Second-level page tables: guest-physical -> host-physical, walked by the
 * hardware (EPT on VMX, NPT on SVM).  One walker for both; the entry bits
 * differ and come from a small format table that each backend names.
 */
#ifndef KHYP_MMU_PGTABLE_H
#define KHYP_MMU_PGTABLE_H

#include <linux/mutex.h>
#include <linux/types.h>

struct page;

/**
 * struct khyp_pt_format - how one second-level format encodes an entry
 * @name:	"ept" or "npt".
 * @table:	an entry pointing to the next-level table at @pa.
 * @leaf:	a 4 KiB mapping of @pa, writable or not, executable.
 * @present:	the mask that makes an entry present.
 */
struct khyp_pt_format {
	const char *name;
	u64 (*table)(phys_addr_t pa);
	u64 (*leaf)(phys_addr_t pa, bool writable);
	u64 present;
};

extern const struct khyp_pt_format khyp_pt_ept;
extern const struct khyp_pt_format khyp_pt_npt;

/**
 * struct khyp_pgtable - one VM's second-level page tables (4 levels)
 * @fmt:	(c) entry format.
 * @lock:	protects every table page and @nr_tables.
 * @root:	(c) the top-level table (PML4).
 * @nr_tables:	(@lock) table pages allocated, root included.
 */
struct khyp_pgtable {
	const struct khyp_pt_format *fmt;
	struct mutex lock;	/* protects the tables, see above */
	struct page *root;
	unsigned long nr_tables;
};

int khyp_pgtable_init(struct khyp_pgtable *pt, const struct khyp_pt_format *fmt);
void khyp_pgtable_destroy(struct khyp_pgtable *pt);
phys_addr_t khyp_pgtable_root(const struct khyp_pgtable *pt);
int khyp_pgtable_map(struct khyp_pgtable *pt, u64 gpa, phys_addr_t pa,
		     bool writable);
unsigned long khyp_pgtable_unmap(struct khyp_pgtable *pt, u64 gpa, u64 size);

#endif /* KHYP_MMU_PGTABLE_H */
