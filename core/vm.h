/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM object: guest memory, its second-level page tables and the vCPUs.
 */
#ifndef KHYP_CORE_VM_H
#define KHYP_CORE_VM_H

#include <linux/atomic.h>
#include <linux/container_of.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <uapi/linux/khyp.h>

#include "bus.h"
#include "khyp.h"

#include "../irq/irq.h"
#include "../mmu/memory.h"
#include "../mmu/pgtable.h"

struct dentry;
struct inode;
struct khyp_balloon;
struct khyp_irqchip;
struct khyp_vcpu;

/**
 * struct khyp_vm - one virtual machine
 * @kref:	references: the VM file and each vCPU.
 * @mm:		(c) the creating process's mm (mmgrab'ed).
 * @id:		(c) a number for debugfs and log lines.
 * @gen:	(c) a 64-bit number never reused: which VM a CPU last ran,
 *		for the IBPB between VMs (core/mitigations.c).
 * @inode:	(c) the VM file's inode, referenced for as long as the VM
 *		lives: @mem.mapping is its address_space.
 * @mem:	guest memory, with its own lock.
 * @pt:		second-level page tables, with their own lock.
 * @lock:	protects @vcpus, @irqchip and @vcpu_created.
 * @vcpus:	(@lock for writers, RCU for readers that cannot sleep) the
 *		vCPUs by id; NULL where free.  A vCPU leaves it before its
 *		release and is freed after a grace period.
 * @tlb_gen:	bumped when second-level mappings are removed; a vCPU whose
 *		vcpu->tlb_gen differs flushes before entering.
 * @debugfs:	(c) the VM's debugfs directory, or NULL.
 * @retired_exits: (@lock) exit counts of the vCPUs already closed.
 * @retired_irq_stats: (@lock) their interrupt counts (enum khyp_irq_stat).
 * @balloon:	(c) the pages the guest gave back, with its own lock;
 *		made and freed by balloon/ through its VM hooks
 *		(core/subsys.h).
 * @bus:	the in-kernel devices' MMIO and port ranges, with its own
 *		lock (core/bus.h).
 * @irqchip:	(@lock to set, once; then constant until the VM is freed)
 *		the in-kernel interrupt controllers (irq/irqchip.c), or
 *		NULL: userspace injects interrupts.
 * @vcpu_created: (@lock) KHYP_CREATE_VCPU was called: too late for an
 *		irqchip.
 * @tsc_offset: (c) what the guest's TSC adds to the host's: minus the
 *		host's TSC when the VM was made, so that every vCPU sees
 *		one TSC that started near 0 (a guest's WRMSR to IA32_TSC
 *		moves its own vCPU's offset only, as on hardware).
 * @last_run:	jiffies when a vCPU last left the guest (WRITE_ONCE by the
 *		vCPU threads, READ_ONCE by the shrinker: is the VM idle?).
 * @last_boosted: the id of the vCPU a spinning vCPU last yielded to:
 *		the next spinner starts looking after it (core/spin.c;
 *		READ_ONCE/WRITE_ONCE by the vCPU threads, a hint).
 */
struct khyp_vm {
	struct kref kref;
	struct mm_struct *mm;
	unsigned int id;
	u64 gen;
	struct inode *inode;
	struct khyp_memory mem;
	struct khyp_pgtable pt;
	struct mutex lock;	/* protects vcpus[] */
	struct khyp_vcpu __rcu *vcpus[KHYP_MAX_VCPUS];
	atomic_long_t tlb_gen;
	struct dentry *debugfs;
	u64 retired_exits[KHYP_X_NR];
	u64 retired_irq_stats[KHYP_IRQ_STAT_NR];
	struct khyp_balloon *balloon;
	struct khyp_bus bus;
	struct khyp_irqchip *irqchip;
	bool vcpu_created;
	u64 tsc_offset;
	unsigned long last_run;
	unsigned int last_boosted;
};

void khyp_vm_get(struct khyp_vm *vm);
void khyp_vm_put(struct khyp_vm *vm);

#endif /* KHYP_CORE_VM_H */
