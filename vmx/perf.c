// SPDX-License-Identifier: GPL-2.0
/*
 * Host performance monitoring while a VMX guest runs.
 *
 * perf counts host events with exclude_guest, guest-only events with
 * exclude_host, and PEBS writes its records through host virtual
 * addresses (DS_AREA): none of that may stay armed while the guest runs,
 * or the host's profile sees the guest (or a PEBS record lands on memory
 * the guest controls the timing of).  The host's perf code says which
 * MSRs must hold other values in the guest (perf_guest_get_msrs());
 * those go into the VMCS's MSR-load lists, so the CPU loads the guest's
 * values at VM entry and the host's at VM exit, atomically with the
 * switch.  SVM needs none of this: its counters' host-only/guest-only
 * bits are honoured by the hardware while EFER.SVME is set.
 *
 * The lists live in one page per vCPU: guest values in the first half,
 * host values in the second.  Without a guest PMU (khyp offers none, so
 * it passes no PMU to perf) perf hands back PERF_GLOBAL_CTRL, and
 * PEBS_ENABLE on CPUs whose PEBS is not isolated from guests.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <asm/io.h>
#include <asm/perf_event.h>
#include <asm/vmx.h>

#include "../core/khyp.h"
#include "vmx.h"

#define VMX_PERF_MAX_MSRS	8

int vmx_perf_init(struct vmx_vcpu *vv)
{
	vv->msr_lists = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vv->msr_lists)
		return -ENOMEM;
	vv->nr_switch_msrs = 0;
	return 0;
}

/* The VMCS is current: point it at the lists (empty). */
void vmx_perf_set_controls(struct vmx_vcpu *vv)
{
	u64 pa = page_to_phys(vv->msr_lists);

	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, pa);
	vmcs_write(VM_EXIT_MSR_LOAD_ADDR, pa + PAGE_SIZE / 2);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
}

void vmx_perf_free(struct vmx_vcpu *vv)
{
	if (vv->msr_lists)
		__free_page(vv->msr_lists);
	vv->msr_lists = NULL;
}

/*
 * Before each entry, interrupts off (perf's state can change under an
 * interrupt otherwise): load into the lists the MSRs whose guest value
 * differs from the host's.  With no perf event active nothing differs,
 * and the VMCS is not written.
 */
void vmx_perf_switch(struct vmx_vcpu *vv)
{
	struct vmx_msr_entry *guest = page_address(vv->msr_lists);
	struct vmx_msr_entry *host = guest + PAGE_SIZE / 2 / sizeof(*guest);
	struct perf_guest_switch_msr *msrs;
	int i, nr = 0, n = 0;

	msrs = perf_guest_get_msrs(&nr, NULL);
	for (i = 0; msrs && i < nr && n < VMX_PERF_MAX_MSRS; i++) {
		if (msrs[i].host == msrs[i].guest)
			continue;
		guest[n].index = msrs[i].msr;
		guest[n].value = msrs[i].guest;
		host[n].index = msrs[i].msr;
		host[n].value = msrs[i].host;
		n++;
	}
	WARN_ON_ONCE(msrs && nr > VMX_PERF_MAX_MSRS);
	if (n == vv->nr_switch_msrs)
		return;
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, n);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, n);
	vv->nr_switch_msrs = n;
}
