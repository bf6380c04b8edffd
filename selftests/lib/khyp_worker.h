/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A self-checking guest for tests that run VMs for a long time while the
 * host does things to them (CPU hotplug, suspend, memory pressure, vCPU
 * threads moving between CPUs): each vCPU counts rounds, and in each
 * round fills its own 64 KiB with a pattern of (vCPU, round), makes an
 * exit handled in the kernel (CPUID), checks the 64 KiB, and reports the
 * round with GUEST_SYNC (a port I/O exit).  A worker given a heap also
 * runs the balloon protocol (uapi/linux/khyp_balloon.h) in every round:
 * its heap [KH_WORKER_HEAP, heap_end) holds a pattern in the first word
 * of every page, it inflates from the top down towards the target (at
 * most 3/4 of the heap), deflates, checks that a page back from the
 * balloon reads zero, and checks every page outside the balloon.
 *
 * The host side runs each vCPU in a thread and checks that the rounds
 * come one after the other; a guest assertion, a failed KHYP_RUN or an
 * unexpected exit stops the thread with the reason in ->msg.  Setting
 * kh_worker_stop in a VM ends its guests with GUEST_DONE.
 *
 * Guest memory: vCPU n's 64 KiB at KH_GPA_SCRATCH + n * KH_WORKER_AREA
 * (up to 8 vCPUs); the heap from 16 MiB on (kh_vm_create() must cover it).
 */
#ifndef SELFTEST_KHYP_WORKER_H
#define SELFTEST_KHYP_WORKER_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "khyp_vm.h"

#define KH_WORKER_AREA		0x10000UL
#define KH_WORKER_MAX_VCPUS	8
#define KH_WORKER_HEAP		0x1000000UL

/* Per VM (each VM has its own copy of the binary's data). */
extern volatile int kh_worker_stop;

struct kh_worker {
	struct kh_vcpu *vcpu;
	pthread_t thread;
	volatile pid_t tid;		/* the vCPU thread, once it runs */
	volatile uint64_t rounds;	/* last round the guest reported */
	volatile uint64_t balloon;	/* pages in its balloon then */
	volatile uint64_t balloon_peak;
	volatile uint64_t eintr;	/* KHYP_RUN ended by a signal */
	volatile int done;		/* 1: GUEST_DONE; -1: failed (msg) */
	char msg[512];
};

/* Long mode at the worker guest, a thread running it; heap_end 0: none. */
void kh_worker_start(struct kh_worker *w, struct kh_vcpu *vcpu,
		     uint64_t heap_end);
/* Wait until every worker of the VM has done @more rounds (or failed). */
void kh_worker_wait_rounds(struct kh_worker *w, unsigned int n,
			   uint64_t more, unsigned int max_s);
/* Set kh_worker_stop in @vm and join these workers (all of the VM's). */
void kh_worker_stop_join(struct kh_vm *vm, struct kh_worker *w,
			 unsigned int n);

#endif /* SELFTEST_KHYP_WORKER_H */
