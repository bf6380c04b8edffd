/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * khyp's balloon protocol: what a guest needs to give memory back to the
 * host and take it again.  See docs/balloon.md.
 *
 * The guest calls the hypervisor with VMMCALL (AMD) or VMCALL (Intel):
 * number in RAX, arguments in RBX and RCX, result in RAX (a negative value
 * is an error: -KHYP_BALLOON_E*).  The calls may come from CPL 0 only.
 *
 * Pages travel in batches: a page-aligned list in guest RAM of up to
 * KHYP_BALLOON_BATCH_MAX entries of 64 bits, each the guest-physical
 * address of one 4 KiB page with its low 12 bits 0.  The host writes each
 * entry's status into those low 12 bits (KHYP_BALLOON_S_*).
 */
#ifndef _UAPI_LINUX_KHYP_BALLOON_H
#define _UAPI_LINUX_KHYP_BALLOON_H

#define KHYP_BALLOON_VERSION		1
#define KHYP_BALLOON_BATCH_MAX		512

/*
 * Hypercall numbers (RAX), arguments and results:
 * PROBE:	RBX = the guest's protocol version -> KHYP_BALLOON_VERSION.
 *		Must come first; until then the others fail with -EPROTO.
 * TARGET:	-> how many pages the balloon should hold now.
 * INFLATE:	RBX = gpa of a list, RCX = entries -> entries accepted.  The
 *		pages are freed to the host; their contents are lost.
 * DEFLATE:	RBX, RCX as for INFLATE -> entries given back.  A page given
 *		back reads as zeros.
 * STATS:	RBX = the guest's free pages (for the host's statistics) -> 0.
 * NOTIFY:	RBX = an interrupt vector (32-255), or 0 for none -> 0.  From
 *		then on, whenever the target changes, the calling vCPU gets
 *		an external interrupt with that vector (once it has RFLAGS.IF
 *		set), so the guest need not poll TARGET.  Changes that come
 *		before the interrupt is taken give one interrupt.
 *
 * A guest that touches a page while it is in the balloon gets a new zeroed
 * page there; the page leaves the balloon and the host counts a protocol
 * violation.
 */
#define KHYP_HC_BALLOON_PROBE	0x10000
#define KHYP_HC_BALLOON_TARGET	0x10001
#define KHYP_HC_BALLOON_INFLATE	0x10002
#define KHYP_HC_BALLOON_DEFLATE	0x10003
#define KHYP_HC_BALLOON_STATS	0x10004
#define KHYP_HC_BALLOON_NOTIFY	0x10005

/*
 * Per-entry status, in the entry's low 12 bits:
 * S_OK:	done.
 * S_NOT_RAM:	not a page of guest RAM.
 * S_STATE:	inflate: already in the balloon (or twice in the batch);
 *		deflate: not in the balloon.
 * S_TARGET:	inflate: the balloon holds its target already.
 * S_INVALID:	the low 12 bits were not 0.
 * S_NO_PAGE:	inflate: the frame has no page (never touched, or given
 *		back already) and the balloon holds as many such frames as
 *		the VM has pages: nothing to give, and bookkeeping to pay.
 */
#define KHYP_BALLOON_S_OK	0
#define KHYP_BALLOON_S_NOT_RAM	1
#define KHYP_BALLOON_S_STATE	2
#define KHYP_BALLOON_S_TARGET	3
#define KHYP_BALLOON_S_INVALID	4
#define KHYP_BALLOON_S_NO_PAGE	5

/* Errors of a whole call, returned negated in RAX. */
#define KHYP_BALLOON_EINVAL	22	/* bad count, list not in RAM, vector */
#define KHYP_BALLOON_EPROTO	71	/* no PROBE yet, or bad version */

#endif /* _UAPI_LINUX_KHYP_BALLOON_H */
