/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world switch of the VMX backend: load the guest's general registers,
 * VMLAUNCH or VMRESUME, and after the VM exit store them back and return
 * to C as if from an ordinary call.
 *
 * The VMCS switches RSP, RIP and RFLAGS; the host's RSP at the moment of
 * entry goes into HOST_RSP (through vmx_set_host_rsp()) and HOST_RIP
 * points at vmx_vmexit below, so the exit lands here on the same stack.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

/* vcpu->regs.gpr[], in instruction-encoding order (run.c checks it). */
#define GPR_RAX		(0 * 8)
#define GPR_RCX		(1 * 8)
#define GPR_RDX		(2 * 8)
#define GPR_RBX		(3 * 8)
/* 4 is RSP: in the VMCS. */
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
 * vmx_vmenter - enter the guest of the current VMCS until the next VM exit
 * @gpr:	(%rdi) vcpu->regs.gpr, loaded before and stored after
 * @launched:	(%sil) the VMCS was launched: VMRESUME, else VMLAUNCH
 *
 * Interrupts off.  Returns 0 after a VM exit (including a VM-entry
 * failure on guest state, which exits), 1 if VMLAUNCH/VMRESUME failed
 * (VMfail: see VM_INSTRUCTION_ERROR) or faulted (VMX off); @gpr is then
 * untouched.
 */
SYM_FUNC_START(vmx_vmenter)
	push %rbp
	mov  %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx

	/* @gpr, found again at HOST_RSP after the exit. */
	push %rdi

	/* @launched, in a register the call below preserves. */
	movzbl %sil, %ebx

	mov %rsp, %rdi
	call vmx_set_host_rsp

	/* CF = @launched; the moves below keep the flags. */
	bt $0, %ebx

	mov (%rsp), %rax
	mov GPR_RCX(%rax), %rcx
	mov GPR_RDX(%rax), %rdx
	mov GPR_RBX(%rax), %rbx
	mov GPR_RBP(%rax), %rbp
	mov GPR_RSI(%rax), %rsi
	mov GPR_RDI(%rax), %rdi
	mov GPR_R8(%rax), %r8
	mov GPR_R9(%rax), %r9
	mov GPR_R10(%rax), %r10
	mov GPR_R11(%rax), %r11
	mov GPR_R12(%rax), %r12
	mov GPR_R13(%rax), %r13
	mov GPR_R14(%rax), %r14
	mov GPR_R15(%rax), %r15
	mov GPR_RAX(%rax), %rax

	/* MDS and friends: flush CPU buffers (clobbers ZF only). */
	VM_CLEAR_CPU_BUFFERS

	jnc .Lvmlaunch

	/*
	 * A successful entry does not come back here but at vmx_vmexit:
	 * tell objtool that the stack there is the one of this point.
	 */
	UNWIND_HINT_SAVE

.Lvmresume:
	vmresume
	jmp .Lvmfail

.Lvmlaunch:
	vmlaunch
	jmp .Lvmfail

	_ASM_EXTABLE(.Lvmresume, .Lvmfail)
	_ASM_EXTABLE(.Lvmlaunch, .Lvmfail)

SYM_INNER_LABEL(vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR

	/* RSP is HOST_RSP again: @gpr is on top of the stack. */
	push %rax
	mov 8(%rsp), %rax
	pop GPR_RAX(%rax)
	mov %rcx, GPR_RCX(%rax)
	mov %rdx, GPR_RDX(%rax)
	mov %rbx, GPR_RBX(%rax)
	mov %rbp, GPR_RBP(%rax)
	mov %rsi, GPR_RSI(%rax)
	mov %rdi, GPR_RDI(%rax)
	mov %r8, GPR_R8(%rax)
	mov %r9, GPR_R9(%rax)
	mov %r10, GPR_R10(%rax)
	mov %r11, GPR_R11(%rax)
	mov %r12, GPR_R12(%rax)
	mov %r13, GPR_R13(%rax)
	mov %r14, GPR_R14(%rax)
	mov %r15, GPR_R15(%rax)

	xor %ebx, %ebx

.Lout:
	/* Drop @gpr. */
	pop %rax

	/*
	 * No guest value may live on in a register the host uses
	 * speculatively; RBX holds the return value.
	 */
	xor %eax, %eax
	xor %ecx, %ecx
	xor %edx, %edx
	xor %ebp, %ebp
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d

	/* Before the first unbalanced RET: the guest may have filled the RSB. */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
			   X86_FEATURE_RSB_VMEXIT_LITE
	CLEAR_BRANCH_HISTORY_VMEXIT

	mov %ebx, %eax
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET

.Lvmfail:
	mov $1, %ebx
	jmp .Lout
SYM_FUNC_END(vmx_vmenter)
