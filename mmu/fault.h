/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Second-level faults on RAM (mmu/fault.c): the first stop of a guest
 * access that the second-level page tables did not map.
 */
#ifndef KHYP_MMU_FAULT_H
#define KHYP_MMU_FAULT_H

#include <linux/types.h>

struct khyp_vm;

bool khyp_mmu_huge_enabled(void);
int khyp_mmu_fault(struct khyp_vm *vm, u64 gpa, bool write, bool fetch,
		   phys_addr_t apic_pa, bool *no_slot);

#endif /* KHYP_MMU_FAULT_H */
