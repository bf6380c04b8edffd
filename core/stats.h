/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Statistics in debugfs: /sys/kernel/debug/khyp/vm<N>/exits (all vCPUs,
 * including those already closed), .../vm<N>/vcpu<M>/exits, and
 * .../vm<N>/balloon (struct khyp_balloon_stats as "name value" lines),
 * .../vm<N>/mmu (guest pages allocated and struct khyp_pt_stats: table
 * pages and 2 MiB mappings, "name value" lines), .../vm<N>/irqs and
 * .../vm<N>/vcpu<M>/irqs (interrupt counts, enum khyp_irq_stat, "name
 * value" lines), and with an irqchip the controllers' state:
 * .../vm<N>/lapic (every vCPU's), .../vm<N>/ioapic, .../vm<N>/pic,
 * .../vm<N>/pit (docs/irq.md).
 */
#ifndef KHYP_CORE_STATS_H
#define KHYP_CORE_STATS_H

struct khyp_vm;
struct khyp_vcpu;

void khyp_stats_init(void);
void khyp_stats_exit(void);
void khyp_stats_vm_add(struct khyp_vm *vm);
void khyp_stats_vm_remove(struct khyp_vm *vm);
void khyp_stats_vcpu_add(struct khyp_vcpu *vcpu);
void khyp_stats_vcpu_remove(struct khyp_vcpu *vcpu);

#endif /* KHYP_CORE_STATS_H */
