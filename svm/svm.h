/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of the SVM backend share: the per-vCPU state behind
 * vcpu->priv.  The files are split as vmx/'s are:
 *
 * svm.c	probe, EFER.SVME on/off, the ops table
 * vmcb.c	VMCB life: the shared permission maps, vCPU creation and
 *		destruction, intercepts, reset state
 * state.c	guest state as the core sees it: sregs, MSRs, paging mode,
 *		control registers
 * run.c	vcpu_load/put, one guest entry, exit translation
 * entry.S	the VMRUN trampoline
 */
#ifndef KHYP_SVM_SVM_H
#define KHYP_SVM_SVM_H

#include <linux/types.h>
#include <asm/svm.h>

struct khyp_vcpu;

/**
 * struct svm_vcpu - the SVM half of a vCPU (vcpu->priv, to_svm())
 * @vmcb:	the VMCB: control area (intercepts, events, exit info) and
 *		the guest's save area.  Owned by the vCPU's thread.
 * @vmcb_pa:	its physical address, for VMRUN/VMLOAD/VMSAVE.
 * @asid:	the address-space id the guest's TLB entries carry.
 * @asid_gen:	the per-CPU ASID generation @asid was handed out in.
 * @asid_cpu:	the CPU it was handed out on, or -1.
 * @cr4:	CR4 as the guest reads it; the VMCB's has khyp_cr4_forced()
 *		on top, and PAE in one state (svm_sync_cr4()); CR4
 *		accesses are intercepted (core/cr4.c).
 * @new_asid:	the guest changed how it translates (CR4): take a new ASID
 *		before the next entry.
 * @host_tsc_aux: the host's TSC_AUX while the guest's (0) is loaded, see
 *		svm_vcpu_load().
 * @host_save_pa: the host's VMSAVE area on the CPU of the last
 *		svm_vcpu_load(), which filled it; each entry VMLOADs it.
 * @nmi_pending: an NMI waits for the guest to unblock NMIs (as VMX's).
 * @nmi_blocked: the guest is in its NMI handler: from the delivery of an
 *		NMI to the IRET that ends the handler, which is intercepted
 *		meanwhile.  SVM keeps no such state for the guest (VMX
 *		does, in the VMCS, with virtual NMIs).
 * @at_iret:	that IRET exited, at @iret_rip, and has not run yet:
 *		NMIs stay blocked while RIP is still there.
 *
 * All owned by the vCPU's thread.
 */
struct svm_vcpu {
	struct vmcb *vmcb;
	phys_addr_t vmcb_pa;
	u32 asid;
	u64 asid_gen;
	int asid_cpu;
	u64 cr4;
	bool new_asid;
	u64 host_tsc_aux;
	u64 host_save_pa;
	bool nmi_pending;
	bool nmi_blocked;
	bool at_iret;
	u64 iret_rip;
};

/* The backend's half of a vCPU (set by vcpu_create). */
#define to_svm(vcpu)	((struct svm_vcpu *)(vcpu)->priv)

/* svm/vmcb.c */
/* The CPU has the pause filter threshold (svm.c probes, vmcb.c uses). */
extern bool svm_pause_thresh;

int svm_vmcb_setup(void);
void svm_vmcb_teardown(void);
int svm_vcpu_create(struct khyp_vcpu *vcpu);
void svm_vcpu_destroy(struct khyp_vcpu *vcpu);
void svm_vmcb_reset(struct khyp_vcpu *vcpu, struct vmcb *vmcb);
void svm_vmcb_init_control(struct khyp_vcpu *vcpu, struct vmcb *vmcb);

/* svm/state.c */
void svm_set_cr4(struct khyp_vcpu *vcpu, u64 cr4);
void svm_sync_cr4(struct svm_vcpu *sv);
void svm_get_sregs(struct khyp_vcpu *vcpu, struct khyp_sregs *sregs);
void svm_set_sregs(struct khyp_vcpu *vcpu, const struct khyp_sregs *sregs);
void svm_load_tr(struct khyp_vcpu *vcpu, const struct khyp_segment *tr);
u64 svm_get_msr(struct khyp_vcpu *vcpu, u32 index);
void svm_set_msr(struct khyp_vcpu *vcpu, u32 index, u64 data);
void svm_get_paging(struct khyp_vcpu *vcpu, struct khyp_paging *paging);
u64 svm_get_cr(struct khyp_vcpu *vcpu, int cr);
bool svm_set_cr(struct khyp_vcpu *vcpu, int cr, u64 val);

/* svm/run.c */
void svm_vcpu_load(struct khyp_vcpu *vcpu, int cpu);
void svm_vcpu_put(struct khyp_vcpu *vcpu);
bool svm_nmi_held(struct khyp_vcpu *vcpu);
void svm_run(struct khyp_vcpu *vcpu, const struct khyp_entry *entry,
	     struct khyp_exit *exit);

/* svm/entry.S */
void svm_vmenter(u64 *gpr, u64 vmcb_pa, u64 host_save_pa);

#endif /* KHYP_SVM_SVM_H */
