/* SPDX-License-Identifier: GPL-2.0 */
/* khyp-only calls of the hypervisor layer: the balloon (docs/balloon.md). */
#ifndef KHYP_BENCH_HV_KHYP_H
#define KHYP_BENCH_HV_KHYP_H

#include <stdint.h>
#include <linux/khyp.h>

struct hv_vm;

int khyp_set_balloon(struct hv_vm *vm, uint64_t pages);
int khyp_get_balloon(struct hv_vm *vm, struct khyp_balloon_stats *st);

#endif /* KHYP_BENCH_HV_KHYP_H */
