// SPDX-License-Identifier: GPL-2.0
/* The self-checking worker guest and its host threads: khyp_worker.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/khyp_balloon.h>

#include "khyp_worker.h"

#define PAGE	4096UL
#define BATCH	KHYP_BALLOON_BATCH_MAX

volatile int kh_worker_stop;
static volatile uint64_t kh_worker_size;	/* pages in the balloon */
static volatile uint64_t kh_worker_list[BATCH] __attribute__((aligned(4096)));

KH_GUEST_INLINE uint64_t kh_worker_pattern(uint64_t id, uint64_t round,
					   uint64_t i)
{
	return ((id << 56) | (round << 20) | i) * 0x9e3779b97f4a7c15ULL;
}

KH_GUEST_INLINE uint64_t kh_worker_hc(uint64_t nr, uint64_t a0, uint64_t a1)
{
	return kh_guest_hypercall(nr, a0, a1, 0, 0, 0);
}

/* The k-th page of the balloon, k >= 1, from the top of the heap down. */
#define KH_WORKER_BPAGE(end, k)	((end) - (k) * PAGE)

static void kh_worker_balloon_step(uint64_t end)
{
	uint64_t t, n, i, r, gpa, max = (end - KH_WORKER_HEAP) / PAGE * 3 / 4;

	t = kh_worker_hc(KHYP_HC_BALLOON_TARGET, 0, 0);
	if (t > max)
		t = max;
	if (kh_worker_size < t) {
		n = t - kh_worker_size < BATCH ? t - kh_worker_size : BATCH;
		for (i = 0; i < n; i++)
			kh_worker_list[i] =
				KH_WORKER_BPAGE(end, kh_worker_size + 1 + i);
		r = kh_worker_hc(KHYP_HC_BALLOON_INFLATE,
				 (uint64_t)kh_worker_list, n);
		GUEST_ASSERT(r <= n);
		for (i = 0; i < r; i++)
			GUEST_ASSERT_EQ(KHYP_BALLOON_S_OK,
					kh_worker_list[i] & 0xfff);
		kh_worker_size += r;
	} else if (kh_worker_size > t) {
		n = kh_worker_size - t < BATCH ? kh_worker_size - t : BATCH;
		for (i = 0; i < n; i++)
			kh_worker_list[i] =
				KH_WORKER_BPAGE(end, kh_worker_size - i);
		r = kh_worker_hc(KHYP_HC_BALLOON_DEFLATE,
				 (uint64_t)kh_worker_list, n);
		GUEST_ASSERT_EQ(n, r);
		for (i = 0; i < n; i++) {
			gpa = KH_WORKER_BPAGE(end, kh_worker_size - i);
			GUEST_ASSERT_EQ(0, *(volatile uint64_t *)gpa);
			*(volatile uint64_t *)gpa = kh_worker_pattern(0, 0, gpa);
		}
		kh_worker_size -= r;
	}
	for (gpa = KH_WORKER_HEAP;
	     gpa < KH_WORKER_BPAGE(end, kh_worker_size); gpa += PAGE)
		GUEST_ASSERT_EQ(kh_worker_pattern(0, 0, gpa),
				*(volatile uint64_t *)gpa);
}

static void kh_guest_worker(uint64_t id, uint64_t heap_end)
{
	volatile uint64_t *a = (volatile uint64_t *)(KH_GPA_SCRATCH +
						     id * KH_WORKER_AREA);
	uint64_t round, i, gpa, n = KH_WORKER_AREA / 8;
	uint32_t r[4];

	if (heap_end) {
		GUEST_ASSERT_EQ(1, kh_worker_hc(KHYP_HC_BALLOON_PROBE, 1, 0));
		for (gpa = KH_WORKER_HEAP; gpa < heap_end; gpa += PAGE)
			*(volatile uint64_t *)gpa = kh_worker_pattern(0, 0, gpa);
	}
	for (round = 1; !kh_worker_stop; round++) {
		for (i = 0; i < n; i++)
			a[i] = kh_worker_pattern(id, round, i);
		kh_guest_cpuid(0, 0, r);
		for (i = 0; i < n; i++)
			GUEST_ASSERT_EQ(kh_worker_pattern(id, round, i), a[i]);
		if (heap_end)
			kh_worker_balloon_step(heap_end);
		GUEST_SYNC4(round, kh_worker_size, 0, 0);
	}
	GUEST_DONE();
}

static void *kh_worker_thread(void *arg)
{
	struct kh_worker *w = arg;
	struct kh_ucall uc;
	int cmd;

	w->tid = syscall(SYS_gettid);
	for (;;) {
		if (kh_vcpu_run(w->vcpu)) {
			if (errno == EINTR) {	/* a signal: the freezer's */
				w->eintr++;
				continue;
			}
			snprintf(w->msg, sizeof(w->msg), "KHYP_RUN: %s",
				 strerror(errno));
			break;
		}
		cmd = kh_vcpu_get_ucall(w->vcpu, &uc);
		if (cmd == KH_UCALL_DONE) {
			__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
			return NULL;
		}
		if (cmd != KH_UCALL_SYNC) {
			kh_vcpu_exit_str(w->vcpu, w->msg, sizeof(w->msg));
			break;
		}
		if (uc.args[0] != w->rounds + 1) {
			snprintf(w->msg, sizeof(w->msg),
				 "vCPU %u: round %llu after round %llu",
				 w->vcpu->id, (unsigned long long)uc.args[0],
				 (unsigned long long)w->rounds);
			break;
		}
		w->balloon = uc.args[1];
		if (w->balloon > w->balloon_peak)
			w->balloon_peak = w->balloon;
		__atomic_store_n(&w->rounds, uc.args[0], __ATOMIC_RELEASE);
	}
	__atomic_store_n(&w->done, -1, __ATOMIC_RELEASE);
	return NULL;
}

void kh_worker_start(struct kh_worker *w, struct kh_vcpu *vcpu,
		     uint64_t heap_end)
{
	memset(w, 0, sizeof(*w));
	w->vcpu = vcpu;
	if (vcpu->id >= KH_WORKER_MAX_VCPUS) {
		snprintf(w->msg, sizeof(w->msg), "vCPU %u: no area", vcpu->id);
		w->done = -1;
		return;
	}
	kh_vcpu_setup_long_mode(vcpu, (void (*)(void))kh_guest_worker);
	kh_vcpu_set_args(vcpu, vcpu->id, heap_end);
	if (pthread_create(&w->thread, NULL, kh_worker_thread, w)) {
		snprintf(w->msg, sizeof(w->msg), "pthread_create failed");
		w->done = -1;
	}
	while (!w->tid && !w->done)
		usleep(1000);
}

void kh_worker_wait_rounds(struct kh_worker *w, unsigned int n,
			   uint64_t more, unsigned int max_s)
{
	uint64_t goal[KHYP_MAX_VCPUS];
	time_t start = time(NULL);
	unsigned int i, left;

	for (i = 0; i < n; i++)
		goal[i] = w[i].rounds + more;
	do {
		for (i = 0, left = 0; i < n; i++)
			if (!w[i].done && w[i].rounds < goal[i])
				left++;
		if (left)
			usleep(10000);
	} while (left && time(NULL) - start < max_s);
}

void kh_worker_stop_join(struct kh_vm *vm, struct kh_worker *w,
			 unsigned int n)
{
	unsigned int i;

	kh_vm_global(vm, kh_worker_stop) = 1;
	for (i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
}
