// SPDX-License-Identifier: GPL-2.0
/*
 * Exit, interrupt, balloon and second-level page-table statistics
 * (debugfs), the state of the in-kernel interrupt controllers, and the
 * tracepoints' definitions.
 *
 * Each vCPU counts its exits by kind of the common exit model
 * (vcpu->exits[]) and its interrupts (vcpu->irq_stats[], enum
 * khyp_irq_stat in irq/irq.h), both written only by the vCPU's own
 * thread; the files here read them without locking, so a value may be a
 * few exits old.  When a vCPU goes, its counts are added to its VM's, so
 * that the VM's files keep the total.
 *
 * With an irqchip, the VM's directory also shows each controller's state
 * (lapic: every vCPU's; ioapic, pic, pit), formatted by the irq/ file
 * that owns it under that controller's lock, with the controller's own
 * counts (deliveries, port or MMIO exits, timer pulses).
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "../balloon/balloon.h"
#include "../balloon/shrinker.h"
#include "../irq/irq.h"
#include "stats.h"
#include "vcpu.h"
#include "vm.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

static const char * const khyp_exit_names[KHYP_X_NR] = {
	[KHYP_X_NONE]		= "none",
	[KHYP_X_IO]		= "io",
	[KHYP_X_NPF]		= "npf",
	[KHYP_X_CPUID]		= "cpuid",
	[KHYP_X_HLT]		= "hlt",
	[KHYP_X_HYPERCALL]	= "hypercall",
	[KHYP_X_RDMSR]		= "rdmsr",
	[KHYP_X_WRMSR]		= "wrmsr",
	[KHYP_X_IRQ_WINDOW]	= "irq_window",
	[KHYP_X_SHUTDOWN]	= "shutdown",
	[KHYP_X_UD]		= "ud",
	[KHYP_X_INVALID_STATE]	= "invalid_state",
	[KHYP_X_UNKNOWN]	= "unknown",
	[KHYP_X_EXCEPTION]	= "exception",
	[KHYP_X_WBINVD]		= "wbinvd",
	[KHYP_X_GP]		= "gp",
	[KHYP_X_CR]		= "cr",
	[KHYP_X_DR]		= "dr",
	[KHYP_X_LTR]		= "ltr",
	[KHYP_X_PAUSE]		= "pause",
};

static const char * const khyp_irq_stat_names[KHYP_IRQ_STAT_NR] = {
	[KHYP_IRQ_STAT_INJECTED]	= "injected",
	[KHYP_IRQ_STAT_EXTINT]		= "extint",
	[KHYP_IRQ_STAT_TIMER]		= "timer",
	[KHYP_IRQ_STAT_NMI]		= "nmi",
	[KHYP_IRQ_STAT_EOI]		= "eoi",
	[KHYP_IRQ_STAT_IPI]		= "ipi",
	[KHYP_IRQ_STAT_APIC_ACCESS]	= "apic_access",
};

static struct dentry *khyp_debugfs_root;

static void khyp_stats_show_counts(struct seq_file *m, const u64 *counts)
{
	unsigned int i;

	for (i = 0; i < KHYP_X_NR; i++)
		seq_printf(m, "%-14s %llu\n", khyp_exit_names[i],
			   READ_ONCE(counts[i]));
}

static int khyp_vcpu_exits_show(struct seq_file *m, void *unused)
{
	struct khyp_vcpu *vcpu = m->private;

	khyp_stats_show_counts(m, vcpu->exits);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(khyp_vcpu_exits);

static int khyp_vcpu_tlb_show(struct seq_file *m, void *unused)
{
	struct khyp_vcpu *vcpu = m->private;

	seq_printf(m, "tag %u\n", READ_ONCE(vcpu->tlb_tag));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(khyp_vcpu_tlb);

static int khyp_vm_exits_show(struct seq_file *m, void *unused)
{
	struct khyp_vm *vm = m->private;
	struct khyp_vcpu *vcpu;
	u64 sum[KHYP_X_NR];
	unsigned int i, k;

	mutex_lock(&vm->lock);
	memcpy(sum, vm->retired_exits, sizeof(sum));
	for (i = 0; i < KHYP_MAX_VCPUS; i++) {
		vcpu = rcu_dereference_protected(vm->vcpus[i],
						 lockdep_is_held(&vm->lock));
		for (k = 0; vcpu && k < KHYP_X_NR; k++)
			sum[k] += READ_ONCE(vcpu->exits[k]);
	}
	mutex_unlock(&vm->lock);
	khyp_stats_show_counts(m, sum);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(khyp_vm_exits);

static void khyp_stats_show_irqs(struct seq_file *m, const u64 *counts)
{
	unsigned int i;

	for (i = 0; i < KHYP_IRQ_STAT_NR; i++)
		seq_printf(m, "%-14s %llu\n", khyp_irq_stat_names[i],
			   READ_ONCE(counts[i]));
}

static int khyp_vcpu_irqs_show(struct seq_file *m, void *unused)
{
	struct khyp_vcpu *vcpu = m->private;

	khyp_stats_show_irqs(m, vcpu->irq_stats);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(khyp_vcpu_irqs);

static int khyp_vm_irqs_show(struct seq_file *m, void *unused)
{
	struct khyp_vm *vm = m->private;
	u64 sum[KHYP_IRQ_STAT_NR];
	struct khyp_vcpu *vcpu;
	unsigned int i, k;

	mutex_lock(&vm->lock);
	memcpy(sum, vm->retired_irq_stats, sizeof(sum));
	for (i = 0; i < KHYP_MAX_VCPUS; i++) {
		vcpu = rcu_dereference_protected(vm->vcpus[i],
						 lockdep_is_held(&vm->lock));
		for (k = 0; vcpu && k < KHYP_IRQ_STAT_NR; k++)
			sum[k] += READ_ONCE(vcpu->irq_stats[k]);
	}
	mutex_unlock(&vm->lock);
	khyp_stats_show_irqs(m, sum);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(khyp_vm_irqs);

/* Every vCPU's local APIC; vm->lock keeps them from going meanwhile. */
static int khyp_vm_lapic_show(struct seq_file *m, void *unused)
{
	struct khyp_vm *vm = m->private;
	struct khyp_vcpu *vcpu;
	unsigned int i;

	mutex_lock(&vm->lock);
	for (i = 0; i < KHYP_MAX_VCPUS; i++) {
		vcpu = rcu_dereference_protected(vm->vcpus[i],
						 lockdep_is_held(&vm->lock));
		if (vcpu && vcpu->lapic)
			khyp_lapic_show(m, vcpu);
	}
	mutex_unlock(&vm->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(khyp_vm_lapic);

/*
 * The VM-wide controllers: empty without an irqchip.  vm->irqchip, once
 * set, lives as long as the VM, and the VM's files go before it.
 */
#define KHYP_IRQCHIP_SHOW(dev)						\
static int khyp_vm_##dev##_show(struct seq_file *m, void *unused)	\
{									\
	struct khyp_vm *vm = m->private;				\
									\
	/* Pairs with the release in khyp_irqchip_create(). */		\
	if (smp_load_acquire(&vm->irqchip))				\
		khyp_##dev##_show(m, vm);				\
	return 0;							\
}									\
DEFINE_SHOW_ATTRIBUTE(khyp_vm_##dev)

KHYP_IRQCHIP_SHOW(ioapic);
KHYP_IRQCHIP_SHOW(pic);
KHYP_IRQCHIP_SHOW(pit);

static int khyp_vm_balloon_show(struct seq_file *m, void *unused)
{
	struct khyp_balloon_stats st;

	khyp_balloon_get_stats(m->private, &st);
	seq_printf(m, "target %llu\npressure_target %llu\neffective_target %llu\n",
		   st.target, st.pressure_target, st.effective_target);
	seq_printf(m, "size %llu\ninflated %llu\ndeflated %llu\nfreed %llu\n",
		   st.size, st.inflated, st.deflated, st.freed);
	seq_printf(m, "violations %llu\nrejected %llu\nguest_free %llu\n",
		   st.violations, st.rejected, st.guest_free);
	seq_printf(m, "ram_pages %llu\nprobed %u\n", st.ram_pages, st.probed);
	seq_printf(m, "notify_vector %u\nnotifications %llu\n",
		   st.notify_vector, st.notifications);
	seq_printf(m, "protocol %u\nreported %llu\ntarget_changes %llu\n",
		   st.protocol, st.reported, st.target_changes);
	seq_printf(m, "idle_scans %lu\n", khyp_balloon_idle_scans(m->private));
	seq_printf(m, "pressure_max %lu\n",
		   khyp_balloon_pressure_max(m->private));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(khyp_vm_balloon);

static int khyp_shrinker_stats_show(struct seq_file *m, void *unused)
{
	khyp_shrinker_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(khyp_shrinker_stats);

static int khyp_vm_mmu_show(struct seq_file *m, void *unused)
{
	struct khyp_vm *vm = m->private;
	struct khyp_pt_stats st;

	khyp_pgtable_get_stats(&vm->pt, &st);
	seq_printf(m, "pages %ld\nlevels %u\ntables %lu\n",
		   atomic_long_read(&vm->mem.nr_pages),
		   khyp_pgtable_levels(&vm->pt), st.tables);
	seq_printf(m, "huge_leaves %lu\nhuge_mapped %lu\n", st.huge_leaves,
		   st.huge_mapped);
	seq_printf(m, "huge_split %lu\nhuge_dropped %lu\nhuge_exec_split %lu\n",
		   st.huge_split, st.huge_dropped, st.huge_exec_split);
	seq_printf(m, "lost_races %ld\n",
		   atomic_long_read(&vm->mem.lost_races));
	seq_printf(m, "pool_blocks %u\npool_hits %ld\npool_misses %ld\n",
		   READ_ONCE(vm->mem.pool.nr),
		   atomic_long_read(&vm->mem.pool.hits),
		   atomic_long_read(&vm->mem.pool.misses));
	seq_printf(m, "pool_filled %ld\npool_drained %ld\n",
		   atomic_long_read(&vm->mem.pool.filled),
		   atomic_long_read(&vm->mem.pool.drained));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(khyp_vm_mmu);

void khyp_stats_init(void)
{
	khyp_debugfs_root = debugfs_create_dir("khyp", NULL);
	debugfs_create_file("shrinker", 0444, khyp_debugfs_root, NULL,
			    &khyp_shrinker_stats_fops);
}

void khyp_stats_exit(void)
{
	debugfs_remove_recursive(khyp_debugfs_root);
}

void khyp_stats_vm_add(struct khyp_vm *vm)
{
	char name[16];

	snprintf(name, sizeof(name), "vm%u", vm->id);
	vm->debugfs = debugfs_create_dir(name, khyp_debugfs_root);
	debugfs_create_file("exits", 0444, vm->debugfs, vm,
			    &khyp_vm_exits_fops);
	debugfs_create_file("balloon", 0444, vm->debugfs, vm,
			    &khyp_vm_balloon_fops);
	debugfs_create_file("mmu", 0444, vm->debugfs, vm, &khyp_vm_mmu_fops);
	debugfs_create_file("irqs", 0444, vm->debugfs, vm,
			    &khyp_vm_irqs_fops);
	debugfs_create_file("lapic", 0444, vm->debugfs, vm,
			    &khyp_vm_lapic_fops);
	debugfs_create_file("ioapic", 0444, vm->debugfs, vm,
			    &khyp_vm_ioapic_fops);
	debugfs_create_file("pic", 0444, vm->debugfs, vm, &khyp_vm_pic_fops);
	debugfs_create_file("pit", 0444, vm->debugfs, vm, &khyp_vm_pit_fops);
}

void khyp_stats_vm_remove(struct khyp_vm *vm)
{
	debugfs_remove_recursive(vm->debugfs);
}

void khyp_stats_vcpu_add(struct khyp_vcpu *vcpu)
{
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	vcpu->debugfs = debugfs_create_dir(name, vcpu->vm->debugfs);
	debugfs_create_file("exits", 0444, vcpu->debugfs, vcpu,
			    &khyp_vcpu_exits_fops);
	debugfs_create_file("tlb", 0444, vcpu->debugfs, vcpu,
			    &khyp_vcpu_tlb_fops);
	debugfs_create_file("irqs", 0444, vcpu->debugfs, vcpu,
			    &khyp_vcpu_irqs_fops);
	debugfs_create_u64("l1d_flushes", 0444, vcpu->debugfs,
			   &vcpu->l1d_flushes);
	debugfs_create_u64("pause_yields", 0444, vcpu->debugfs,
			   &vcpu->pause_yields);
	debugfs_create_u64("pause_no_target", 0444, vcpu->debugfs,
			   &vcpu->pause_no_target);
}

/* Before the vCPU leaves vm->vcpus[]. */
void khyp_stats_vcpu_remove(struct khyp_vcpu *vcpu)
{
	struct khyp_vm *vm = vcpu->vm;
	unsigned int k;

	debugfs_remove_recursive(vcpu->debugfs);
	mutex_lock(&vm->lock);
	for (k = 0; k < KHYP_X_NR; k++)
		vm->retired_exits[k] += vcpu->exits[k];
	for (k = 0; k < KHYP_IRQ_STAT_NR; k++)
		vm->retired_irq_stats[k] += vcpu->irq_stats[k];
	mutex_unlock(&vm->lock);
}
