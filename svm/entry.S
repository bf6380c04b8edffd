/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world switch of the SVM backend: load the guest's general registers,
 * VMRUN, and after the #VMEXIT store them back and return to C.
 *
 * VMRUN switches RAX, RSP, RIP, RFLAGS, segments and control registers
 * through the VMCB and the host save area, but not the other general
 * registers, nor the state VMLOAD/VMSAVE move (FS/GS/TR/LDTR hidden
 * state, KERNEL_GS_BASE, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_*).  The
 * host's part of that state is in host_save_pa already (VMSAVE when the
 * vCPU was loaded on this CPU, svm/run.c).  From VMLOAD of the guest to
 * VMLOAD of the host, GS points to the guest's base: no C code, no
 * per-CPU access.  GIF is clear throughout (the caller's CLGI), so no
 * interrupt or NMI runs in between.  (VMX differs where the hardware
 * does: there the VMCS switches RSP and the exit comes back at HOST_RIP,
 * and a failed VMLAUNCH/VMRESUME returns an error; a VMRUN that fails its
 * checks exits like any other, with VMEXIT_INVALID.)
 *
 * VMLOAD, VMRUN and VMSAVE #UD when EFER.SVME is clear.  That is expected
 * only once a reboot or crash is turning SVM off (khyp_hw_going_away,
 * core/hw.c): the exception table then resumes after the instruction and
 * svm_run() discards the exit.  Any other such fault is a bug and stops
 * on ud2, as the #UD itself would have.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

/* vcpu->regs.gpr[], in instruction-encoding order (run.c checks it). */
#define GPR_RCX		(1 * 8)
#define GPR_RDX		(2 * 8)
#define GPR_RBX		(3 * 8)
/* 0 is RAX and 4 is RSP: in the VMCB. */
#define GPR_RBP		(5 * 8)
#define GPR_RSI		(6 * 8)
#define GPR_RDI		(7 * 8)
#define GPR_R8		(8 * 8)
#define GPR_R9		(9 * 8)
#define GPR_R10		(10 * 8)
#define GPR_R11		(11 * 8)
#define GPR_R12		(12 * 8)
#define GPR_R13		(13 * 8)
#define GPR_R14		(14 * 8)
#define GPR_R15		(15 * 8)

	.text

/**
 * svm_vmenter - run the guest of a VMCB until the next #VMEXIT
 * @gpr:	(%rdi) vcpu->regs.gpr, loaded before and stored after
 * @vmcb_pa:	(%rsi) the VMCB
 * @host_save_pa: (%rdx) the host's VMSAVE area
 *
 * Interrupts on, GIF clear.
 */
SYM_FUNC_START(svm_vmenter)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	/* 16(%rsp) = @gpr, 8(%rsp) = @host_save_pa, 0(%rsp) = @vmcb_pa */
	push	%rdi
	push	%rdx
	push	%rsi

	mov	%rdi, %rax
	mov	GPR_RCX(%rax), %rcx
	mov	GPR_RDX(%rax), %rdx
	mov	GPR_RBX(%rax), %rbx
	mov	GPR_RBP(%rax), %rbp
	mov	GPR_RSI(%rax), %rsi
	mov	GPR_RDI(%rax), %rdi
	mov	GPR_R8(%rax), %r8
	mov	GPR_R9(%rax), %r9
	mov	GPR_R10(%rax), %r10
	mov	GPR_R11(%rax), %r11
	mov	GPR_R12(%rax), %r12
	mov	GPR_R13(%rax), %r13
	mov	GPR_R14(%rax), %r14
	mov	GPR_R15(%rax), %r15

	mov	(%rsp), %rax
.Lvmload_guest:
	vmload	%rax
.Lvmrun:
	vmrun	%rax
.Lvmsave_guest:
	vmsave	%rax
.Lguest_saved:

	mov	16(%rsp), %rax
	mov	%rcx, GPR_RCX(%rax)
	mov	%rdx, GPR_RDX(%rax)
	mov	%rbx, GPR_RBX(%rax)
	mov	%rbp, GPR_RBP(%rax)
	mov	%rsi, GPR_RSI(%rax)
	mov	%rdi, GPR_RDI(%rax)
	mov	%r8, GPR_R8(%rax)
	mov	%r9, GPR_R9(%rax)
	mov	%r10, GPR_R10(%rax)
	mov	%r11, GPR_R11(%rax)
	mov	%r12, GPR_R12(%rax)
	mov	%r13, GPR_R13(%rax)
	mov	%r14, GPR_R14(%rax)
	mov	%r15, GPR_R15(%rax)

	mov	8(%rsp), %rax
.Lvmload_host:
	vmload	%rax
.Lhost_loaded:

	/*
	 * The guest must not steer the host's return predictions: before the
	 * first RET, refill the RSB where the host kernel says VM exits need
	 * it (Spectre v2), then untrain the return predictor where it says
	 * Retbleed or SRSO need it (with IBPB on VM exit as the SRSO
	 * mitigation if chosen).  Both are patched to nothing on CPUs that
	 * need neither.  UNTRAIN_RET may clobber RAX, RCX and RDX: the
	 * guest's values are saved already.
	 */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT
#ifdef UNTRAIN_RET_VM
	UNTRAIN_RET_VM
#else
	UNTRAIN_RET
	ALTERNATIVE "", "call entry_ibpb", X86_FEATURE_IBPB_ON_VMEXIT
#endif

	/* Leave no guest value in a register the caller may not clobber. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET

.Lfault_vmload_guest:
	cmpb	$0, khyp_hw_going_away(%rip)
	jne	.Lvmrun
	ud2
.Lfault_vmrun:
	cmpb	$0, khyp_hw_going_away(%rip)
	jne	.Lvmsave_guest
	ud2
.Lfault_vmsave_guest:
	cmpb	$0, khyp_hw_going_away(%rip)
	jne	.Lguest_saved
	ud2
.Lfault_vmload_host:
	cmpb	$0, khyp_hw_going_away(%rip)
	jne	.Lhost_loaded
	ud2

	_ASM_EXTABLE(.Lvmload_guest, .Lfault_vmload_guest)
	_ASM_EXTABLE(.Lvmrun, .Lfault_vmrun)
	_ASM_EXTABLE(.Lvmsave_guest, .Lfault_vmsave_guest)
	_ASM_EXTABLE(.Lvmload_host, .Lfault_vmload_host)
SYM_FUNC_END(svm_vmenter)
