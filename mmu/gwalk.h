/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading guest memory by guest-virtual address (mmu/gwalk.c), for the
 * instruction fetches of MMIO and CR4 emulation (core/mmio.c, core/cr4.c),
 * and LTR's descriptor read and busy-bit write (core/desc.c).
 */
#ifndef KHYP_MMU_GWALK_H
#define KHYP_MMU_GWALK_H

#include <linux/types.h>

struct khyp_paging;
struct khyp_vcpu;

int khyp_guest_read_virt(struct khyp_vcpu *vcpu, const struct khyp_paging *p,
			 u64 gva, void *buf, unsigned int len);
int khyp_guest_set_bit_virt(struct khyp_vcpu *vcpu,
			    const struct khyp_paging *p, u64 gva,
			    unsigned int nr);

#endif /* KHYP_MMU_GWALK_H */
