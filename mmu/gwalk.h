/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading guest memory by guest-virtual address (mmu/gwalk.c), for the
 * instruction fetches of MMIO, MOV CR and LTR emulation (core/mmio.c,
 * core/cr4.c, core/desc.c), and LTR's operand and descriptor reads and
 * busy-bit write (core/desc.c).
 */
#ifndef KHYP_MMU_GWALK_H
#define KHYP_MMU_GWALK_H

#include <linux/types.h>

#include "../core/insn.h"

struct khyp_paging;
struct khyp_vcpu;

/**
 * struct khyp_guest_pf - a page fault the guest's own page tables give
 * @addr:	the linear address, for CR2.
 * @error_code:	X86_PF_PROT and X86_PF_WRITE (a supervisor access).
 */
struct khyp_guest_pf {
	u64 addr;
	u32 error_code;
};

int khyp_guest_read_virt(struct khyp_vcpu *vcpu, const struct khyp_paging *p,
			 u64 gva, void *buf, unsigned int len,
			 struct khyp_guest_pf *pf);
int khyp_guest_fetch_insn(struct khyp_vcpu *vcpu, const struct khyp_paging *p,
			  u8 bytes[KHYP_INSN_MAX_LEN]);
int khyp_guest_test_and_set_bit(struct khyp_vcpu *vcpu,
				const struct khyp_paging *p, u64 gva,
				unsigned int nr, struct khyp_guest_pf *pf);

#endif /* KHYP_MMU_GWALK_H */
