// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercall exits: the guest executed VMCALL (Intel) or VMMCALL (AMD) at
 * CPL 0 with a number in RAX below KHYP_HC_USER_LIMIT (the numbers above
 * are khyp's own, the balloon's, answered in the kernel: docs/api.md).
 * The arguments come from RBX, RCX, RDX, RSI, RDI; run->hypercall.ret
 * goes into RAX at the next KHYP_RUN.
 *
 *   1 (HC_PUTCHAR)  the low byte of the first argument to the serial
 *                   output (devices/serial.c); returns 0
 *   any other       returns -1
 */
#include "khyp.h"

int hypercall__handle(struct machine *m, struct vcpu *vcpu)
{
	struct khyp_run *run = vcpu->run;

	switch (run->hypercall.nr) {
	case HC_PUTCHAR:
		serial__write(m, run->hypercall.args[0]);
		run->hypercall.ret = 0;
		break;
	default:
		run->hypercall.ret = (uint64_t)-1;
		break;
	}
	return RUN_CONTINUE;
}
