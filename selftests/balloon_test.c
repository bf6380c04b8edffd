// SPDX-License-Identifier: GPL-2.0
/*
 * The balloon: a guest that implements the protocol of
 * uapi/linux/khyp_balloon.h gives pages back when its target rises and
 * takes them again when it falls; the host's free memory follows; the
 * guest's live data survives; bad guest input is refused entry by entry;
 * host memory pressure (the shrinker) raises the target and it comes back
 * down when the pressure is gone.
 *
 * Guest memory: 192 MiB.  The guest's heap is [32 MiB, 160 MiB): it
 * touches all of it, balloons pages from the top of the heap down (never
 * below 48 MiB) and checks at every step that every heap page outside
 * the balloon still holds its data.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/khyp_balloon.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define MiB		(1UL << 20)
#define PAGE		4096UL
#define VM_MEM		(192 * MiB)
#define HEAP		(32 * MiB)
#define HEAP_END	(160 * MiB)
#define LIVE_END	(HEAP + 16 * MiB)
#define BATCH		KHYP_BALLOON_BATCH_MAX
#define VMM_MARK	0x766d6d2d77726f74ULL	/* the VMM wrote this */

/* The 6.1 harness has timeouts only for fixture tests: an empty fixture. */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

#define SLOW_TEST(name)	TEST_F_TIMEOUT(slow, name, 300)

static volatile uint64_t g_heap_end = HEAP_END;	/* set per VM */
static volatile uint64_t g_list[BATCH] __attribute__((aligned(4096)));
static volatile uint64_t g_size;	/* pages in the balloon */
static volatile int g_stop;

static inline uint64_t hc(uint64_t nr, uint64_t a0, uint64_t a1)
{
	return kh_guest_hypercall(nr, a0, a1, 0, 0, 0);
}

static inline uint64_t pattern(uint64_t gpa)
{
	return gpa * 0x9e3779b97f4a7c15ULL;
}

/* The k-th page of the balloon, k >= 1, from the top of the heap down. */
static inline uint64_t balloon_page(uint64_t k)
{
	return g_heap_end - k * PAGE;
}

/* Every heap page not in the balloon still holds its pattern. */
static void guest_check_live(void)
{
	uint64_t gpa;

	for (gpa = HEAP; gpa < balloon_page(g_size); gpa += PAGE)
		GUEST_ASSERT_EQ(pattern(gpa), *(volatile uint64_t *)gpa);
}

/* One batch towards the target; returns the target (within the heap). */
static uint64_t guest_balloon_step(void)
{
	uint64_t gpa, t, n, i, r, max = (g_heap_end - LIVE_END) / PAGE;

	t = hc(KHYP_HC_BALLOON_TARGET, 0, 0);
	if (t > max)
		t = max;
	if (g_size < t) {
		n = t - g_size < BATCH ? t - g_size : BATCH;
		for (i = 0; i < n; i++)
			g_list[i] = balloon_page(g_size + 1 + i);
		r = hc(KHYP_HC_BALLOON_INFLATE, (uint64_t)g_list, n);
		for (i = 0; i < r; i++)
			GUEST_ASSERT_EQ(KHYP_BALLOON_S_OK,
					g_list[i] & 0xfff);
		g_size += r;
	} else if (g_size > t) {
		n = g_size - t < BATCH ? g_size - t : BATCH;
		for (i = 0; i < n; i++)
			g_list[i] = balloon_page(g_size - i);
		r = hc(KHYP_HC_BALLOON_DEFLATE, (uint64_t)g_list, n);
		GUEST_ASSERT_EQ(n, r);
		/* back in use: it reads zeros, then holds data again */
		for (i = 0; i < n; i++) {
			gpa = balloon_page(g_size - i);
			GUEST_ASSERT_EQ(0, *(volatile uint64_t *)gpa);
			*(volatile uint64_t *)gpa = pattern(gpa);
		}
		g_size -= r;
	}
	guest_check_live();
	return t;
}

static void guest_touch_heap(void)
{
	uint64_t gpa;

	GUEST_ASSERT_EQ(1, hc(KHYP_HC_BALLOON_PROBE, 1, 0));
	for (gpa = HEAP; gpa < g_heap_end; gpa += PAGE)
		*(volatile uint64_t *)gpa = pattern(gpa);
}

/* Polls the target: one batch per exit to the host. */
static void guest_balloon(void)
{
	uint64_t t;

	guest_touch_heap();
	GUEST_SYNC(0);
	while (!g_stop) {
		t = guest_balloon_step();
		GUEST_SYNC4(g_size, t, 0, 0);
	}
	GUEST_DONE();
}

static struct kh_vcpu *balloon_vm(struct kh_vm **vm)
{
	struct kh_vcpu *vcpu;

	*vm = kh_vm_create(VM_MEM);
	vcpu = kh_vcpu_add(*vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_balloon);
	return vcpu;
}

/* Run the guest until its balloon holds @pages (at most @steps trips). */
static uint64_t run_until_size(struct __test_metadata *_metadata,
			       struct kh_vcpu *vcpu, uint64_t pages, int steps)
{
	struct kh_ucall uc = {};
	char msg[512];

	while (steps-- > 0) {
		int c = kh_vcpu_run_ucall(vcpu, &uc, msg, sizeof(msg));

		if (c != KH_UCALL_SYNC) {
			TH_LOG("%s", msg);
			return -1;
		}
		if (uc.args[0] == pages)
			break;
	}
	return uc.args[0];
}

/* The memory cgroup this test runs in (kh_cg_enter()). */
#define CG_DIR		KH_CG_ROOT "/khyp-balloon-test"

SLOW_TEST(manual_target_returns_memory)
{
	struct khyp_balloon_stats st;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	long before, after, cg_before, cg_after;
	uint64_t half = 64 * MiB / PAGE, k, marked;

	NEED_DEV();
	ASSERT_TRUE(kh_cg_enter(CG_DIR)) TH_LOG("no memory cgroup to run in");
	vcpu = balloon_vm(&vm);
	ASSERT_SYNC(vcpu, 0);		/* 128 MiB touched */
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(1, st.probed);
	EXPECT_LE(HEAP_END / PAGE - HEAP / PAGE, st.ram_pages);

	/*
	 * The VMM maps (and writes) every page the guest will give back:
	 * inflating must take them out of its mapping too, or it would keep
	 * reading, and holding, pages that left the guest.
	 */
	for (k = 1; k <= half; k++)
		((volatile uint64_t *)kh_gpa(vm, HEAP_END - k * PAGE))[1] = VMM_MARK;

	before = host_free_kib();
	cg_before = kh_cg_kib(CG_DIR, "memory.current");
	ASSERT_SET_BALLOON(vm, half);
	ASSERT_EQ(half, run_until_size(_metadata, vcpu, half, 100));
	after = host_free_kib();
	cg_after = kh_cg_kib(CG_DIR, "memory.current");
	EXPECT_LE(60 * 1024, after - before)
		TH_LOG("host free memory rose by %ld KiB only", after - before);
	/* The guest's pages were charged to this cgroup; the charge falls. */
	EXPECT_LE(60 * 1024, cg_before - cg_after)
		TH_LOG("memory.current fell by %ld KiB only (%ld -> %ld)",
		       cg_before - cg_after, cg_before, cg_after);
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(half, st.size);
	EXPECT_EQ(half, st.effective_target);
	EXPECT_EQ(half, st.inflated);
	EXPECT_EQ(half, st.freed);
	EXPECT_EQ(0, st.violations);
	EXPECT_EQ(0, st.rejected);
	/* A sample (1 MiB) through the VMM's mapping: fresh zero pages now. */
	for (k = 1, marked = 0; k <= half; k += 64)
		marked += ((volatile uint64_t *)kh_gpa(vm, HEAP_END - k * PAGE))[1] != 0;
	EXPECT_EQ(0, marked) TH_LOG("%lu sampled pages still hold the VMM's data",
				    (unsigned long)marked);

	/* Deflate: the guest takes (and touches) the pages again. */
	before = host_free_kib();
	ASSERT_SET_BALLOON(vm, 0);
	ASSERT_EQ(0, run_until_size(_metadata, vcpu, 0, 100));
	after = host_free_kib();
	EXPECT_LE(50 * 1024, before - after)
		TH_LOG("host free memory fell by %ld KiB only", before - after);
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(0, st.size);
	EXPECT_EQ(half, st.deflated);
	/* A no-op DEFLATE would have made the guest's touches violations. */
	EXPECT_EQ(0, st.violations);

	kh_vm_global(vm, g_stop) = 1;
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * The notification interrupt: the guest asks for vector NOTIFY_VECTOR and
 * then only looks at its target when that interrupt comes, spinning with
 * interrupts enabled in between (a bounded spin: no interrupt is a
 * failure).  The target changes once while the vCPU is outside the guest
 * and once while the guest spins, which needs a kick out of the guest.
 */
#define NOTIFY_VECTOR	0x41

static volatile uint64_t g_spin_limit = 1ULL << 28;

static void guest_notified(void)
{
	uint64_t seen = 0, spins, t;

	guest_touch_heap();
	GUEST_ASSERT_EQ(-KHYP_BALLOON_EINVAL,
			hc(KHYP_HC_BALLOON_NOTIFY, 31, 0));
	GUEST_ASSERT_EQ(-KHYP_BALLOON_EINVAL,
			hc(KHYP_HC_BALLOON_NOTIFY, 256, 0));
	GUEST_ASSERT_EQ(0, hc(KHYP_HC_BALLOON_NOTIFY, NOTIFY_VECTOR, 0));
	GUEST_SYNC(0);
	while (!g_stop) {
		asm volatile("sti" ::: "memory");
		for (spins = 0; kh_guest_vector_count[NOTIFY_VECTOR] == seen;
		     spins++) {
			GUEST_ASSERT(spins < g_spin_limit);
			kh_guest_pause();
		}
		asm volatile("cli" ::: "memory");
		seen = kh_guest_vector_count[NOTIFY_VECTOR];
		do {
			t = guest_balloon_step();
		} while (g_size != t);
		GUEST_SYNC4(g_size, seen, 0, 0);
	}
	GUEST_ASSERT_EQ(0, hc(KHYP_HC_BALLOON_NOTIFY, 0, 0));
	GUEST_DONE();
}

struct later_target {
	struct kh_vm *vm;
	uint64_t pages;
	int error;
};

static void *set_target_later(void *arg)
{
	struct later_target *l = arg;
	struct khyp_balloon_target t = { .pages = l->pages };

	usleep(200000);
	l->error = ioctl(l->vm->fd, KHYP_SET_BALLOON, &t) ? errno : 0;
	return NULL;
}

static void run_notified(struct __test_metadata *_metadata,
			 struct kh_vcpu *vcpu, uint64_t size, uint64_t seen)
{
	struct kh_ucall uc = {};
	char msg[512];

	ASSERT_EQ(KH_UCALL_SYNC, kh_vcpu_run_ucall(vcpu, &uc, msg, sizeof(msg)))
		TH_LOG("%s", msg);
	EXPECT_EQ(size, uc.args[0]);
	EXPECT_EQ(seen, uc.args[1]) TH_LOG("interrupts taken");
}

SLOW_TEST(notification_interrupt)
{
	struct later_target later;
	struct khyp_balloon_stats st;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	pthread_t thread;

	NEED_DEV();
	vm = kh_vm_create(VM_MEM);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_notified);
	kh_vm_install_idt(vm, vcpu);
	ASSERT_SYNC(vcpu, 0);
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(NOTIFY_VECTOR, st.notify_vector);
	EXPECT_EQ(0, st.notifications);

	/* The target changes while the vCPU is out of the guest. */
	ASSERT_SET_BALLOON(vm, 1024);
	run_notified(_metadata, vcpu, 1024, 1);

	/* ... and while the guest spins: the vCPU must be kicked. */
	later = (struct later_target){ .vm = vm, .pages = 2048 };
	ASSERT_EQ(0, pthread_create(&thread, NULL, set_target_later, &later));
	run_notified(_metadata, vcpu, 2048, 2);
	pthread_join(thread, NULL);
	EXPECT_EQ(0, later.error);

	ASSERT_SET_BALLOON(vm, 0);
	run_notified(_metadata, vcpu, 0, 3);
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(3, st.notifications);
	EXPECT_EQ(0, st.violations);

	/* NOTIFY 0: no more interrupts. */
	kh_vm_global(vm, g_stop) = 1;
	ASSERT_DONE(vcpu);
	ASSERT_SET_BALLOON(vm, 5);
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(0, st.notify_vector);
	EXPECT_EQ(3, st.notifications);
	kh_vm_free(vm);
}

TEST(bad_targets)
{
	struct khyp_balloon_target t = { .pages = VM_MEM / PAGE + 1 };
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(VM_MEM);
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_SET_BALLOON, &t));
	EXPECT_EQ(EINVAL, errno);
	t.pages = 1;
	t.flags = 2;		/* 1 is KHYP_BALLOON_PRESSURE_MAX */
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_SET_BALLOON, &t));
	EXPECT_EQ(EINVAL, errno);
	t.flags = 0;
	t.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_SET_BALLOON, &t));
	EXPECT_EQ(EINVAL, errno);
	t.reserved[1] = 0;
	EXPECT_EQ(0, ioctl(vm->fd, KHYP_SET_BALLOON, &t));
	kh_vm_free(vm);
}

/* Every way a guest can misuse the protocol, each refused on its own. */
static void guest_malicious(void)
{
	uint64_t p = balloon_page(1), q = balloon_page(2);
	volatile uint64_t *l = g_list;

	/* before PROBE */
	GUEST_ASSERT_EQ(-KHYP_BALLOON_EPROTO, hc(KHYP_HC_BALLOON_TARGET, 0, 0));
	GUEST_ASSERT_EQ(-KHYP_BALLOON_EPROTO, hc(KHYP_HC_BALLOON_PROBE, 0, 0));
	GUEST_ASSERT_EQ(1, hc(KHYP_HC_BALLOON_PROBE, 1, 0));
	GUEST_ASSERT_EQ(-KHYP_HC_ENOSYS, hc(KHYP_HC_BALLOON_NOTIFY + 1, 0, 0));
	*(volatile uint64_t *)p = 1;
	*(volatile uint64_t *)q = 2;
	GUEST_SYNC(0);		/* the host sets the target to 2 pages */

	/* bad batches */
	GUEST_ASSERT_EQ(-KHYP_BALLOON_EINVAL,
			hc(KHYP_HC_BALLOON_INFLATE, (uint64_t)l, 0));
	GUEST_ASSERT_EQ(-KHYP_BALLOON_EINVAL,
			hc(KHYP_HC_BALLOON_INFLATE, (uint64_t)l, BATCH + 1));
	GUEST_ASSERT_EQ(-KHYP_BALLOON_EINVAL,
			hc(KHYP_HC_BALLOON_INFLATE, (uint64_t)l + 8, 1));
	GUEST_ASSERT_EQ(-KHYP_BALLOON_EINVAL,
			hc(KHYP_HC_BALLOON_INFLATE, KH_GPA_MMIO, 1));

	/* bad entries next to a good one */
	l[0] = KH_GPA_MMIO;		/* not RAM */
	l[1] = p | 5;			/* stray low bits */
	l[2] = p;			/* good */
	l[3] = p;			/* twice in the batch */
	l[4] = q;			/* good */
	l[5] = balloon_page(3);		/* beyond the target of 2 */
	GUEST_ASSERT_EQ(2, hc(KHYP_HC_BALLOON_INFLATE, (uint64_t)l, 6));
	GUEST_ASSERT_EQ(KH_GPA_MMIO | KHYP_BALLOON_S_NOT_RAM, l[0]);
	GUEST_ASSERT_EQ(p | 5 | KHYP_BALLOON_S_INVALID, l[1]);
	GUEST_ASSERT_EQ(p | KHYP_BALLOON_S_OK, l[2]);
	GUEST_ASSERT_EQ(p | KHYP_BALLOON_S_STATE, l[3]);
	GUEST_ASSERT_EQ(q | KHYP_BALLOON_S_OK, l[4]);
	GUEST_ASSERT_EQ(balloon_page(3) | KHYP_BALLOON_S_TARGET, l[5]);

	/* already in the balloon */
	l[0] = p;
	GUEST_ASSERT_EQ(0, hc(KHYP_HC_BALLOON_INFLATE, (uint64_t)l, 1));
	GUEST_ASSERT_EQ(p | KHYP_BALLOON_S_STATE, l[0]);
	/* deflating a frame not in the balloon */
	l[0] = balloon_page(4);
	GUEST_ASSERT_EQ(0, hc(KHYP_HC_BALLOON_DEFLATE, (uint64_t)l, 1));
	GUEST_ASSERT_EQ(balloon_page(4) | KHYP_BALLOON_S_STATE, l[0]);

	/* touching a ballooned page: a fresh zero page, and a violation */
	GUEST_ASSERT_EQ(0, *(volatile uint64_t *)q);
	GUEST_ASSERT_EQ(0, hc(KHYP_HC_BALLOON_STATS, 1234, 0));
	GUEST_DONE();
}

TEST(malicious_guest)
{
	struct khyp_balloon_stats st;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(VM_MEM);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_malicious);
	ASSERT_SYNC(vcpu, 0);
	ASSERT_SET_BALLOON(vm, 2);
	ASSERT_DONE(vcpu);

	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(2, st.inflated);
	EXPECT_EQ(2, st.freed);
	EXPECT_EQ(1, st.size);		/* q left the balloon when touched */
	EXPECT_EQ(1, st.violations);
	EXPECT_EQ(6, st.rejected);
	EXPECT_EQ(1234, st.guest_free);
	kh_vm_free(vm);
}

/*
 * Host pressure: dropping slab caches calls every shrinker; khyp's raises
 * the guest's target, the guest inflates; with no more pressure the
 * target decays back to 0 and the guest deflates.
 */
SLOW_TEST(shrinker_raises_then_releases)
{
	struct khyp_balloon_stats st;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;
	struct kh_vm *vm;
	time_t start;
	char msg[512];
	uint64_t peak = 0;

	NEED_DEV();
	vcpu = balloon_vm(&vm);
	ASSERT_SYNC(vcpu, 0);
	kh_drop_slab_caches();
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_LT(0, st.pressure_target)
		TH_LOG("drop_caches did not raise the target");
	EXPECT_EQ(0, st.target);

	/* The guest inflates, then deflates as the pressure target decays. */
	start = time(NULL);
	do {
		ASSERT_EQ(KH_UCALL_SYNC,
			  kh_vcpu_run_ucall(vcpu, &uc, msg, sizeof(msg)))
			TH_LOG("%s", msg);
		if (uc.args[0] > peak)
			peak = uc.args[0];
		usleep(10000);
	} while ((peak == 0 || uc.args[0] > 0) && time(NULL) - start < 120);
	EXPECT_LT(1024, peak) TH_LOG("the balloon never grew");
	EXPECT_EQ(0, uc.args[0]) TH_LOG("the balloon did not come back down");
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(0, st.pressure_target);
	EXPECT_EQ(0, st.violations);

	kh_vm_global(vm, g_stop) = 1;
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * Real pressure: two VMs (guest heaps of 128 and 64 MiB) run their
 * balloon loops while a process grows beyond the host's free memory in
 * steps.  Kernel reclaim calls the shrinker, both balloons grow,
 * the bigger VM gives more, nothing is OOM-killed; when the hog is gone
 * the targets come back down to 0.  And kswapd never gives the node up:
 * it counts a run that freed nothing as a failure, and after 16 in a
 * row it stops until a direct reclaim makes progress (/proc/zoneinfo's
 * node_unreclaimable), which the hog never does.  In a machine with no
 * page cache and no swap (svm-qemu-debug's initramfs) only the balloons'
 * pages can count, and until session 16 they did not (the pages the
 * guests freed were not added to reclaim's count): kswapd, woken by
 * watermark boosts with ~150 MiB still free, failed 16 times in 2 s
 * and the hog starved at the wall (shrinker_test's
 * reclaim_counts_what_guests_gave shows the fix directly).
 */
struct pressure_vm {
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	uint64_t heap_end;
	uint64_t peak, last;
	int error;
};

static volatile int pressure_stop;

/* A VM running guest_balloon() with its heap up to p->heap_end, touched. */
static void pressure_vm_start(struct __test_metadata *_metadata,
			      struct pressure_vm *p)
{
	p->vm = kh_vm_create(VM_MEM);
	p->vcpu = kh_vcpu_add(p->vm, 0);
	kh_vcpu_setup_long_mode(p->vcpu, guest_balloon);
	kh_vm_global(p->vm, g_heap_end) = p->heap_end;
	ASSERT_SYNC(p->vcpu, 0);
}

static void *pressure_vcpu(void *arg)
{
	struct pressure_vm *p = arg;
	struct kh_ucall uc;
	char msg[512];

	while (!pressure_stop) {
		if (kh_vcpu_run_ucall(p->vcpu, &uc, msg, sizeof(msg)) !=
		    KH_UCALL_SYNC) {
			fprintf(stderr, "# %s\n", msg);
			p->error = 1;
			return NULL;
		}
		p->last = uc.args[0];
		if (p->last > p->peak)
			p->peak = p->last;
		usleep(20000);
	}
	return NULL;
}

SLOW_TEST(host_pressure_two_vms)
{
	struct pressure_vm vms[2] = {
		{ .heap_end = HEAP + 128 * MiB },
		{ .heap_end = HEAP + 64 * MiB },
	};
	struct khyp_balloon_stats st;
	pthread_t threads[2];
	int i, status, unreclaimable;
	long kswapd_runs;
	time_t start;
	pid_t pid;

	NEED_DEV();
	for (i = 0; i < 2; i++) {
		pressure_vm_start(_metadata, &vms[i]);
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, pressure_vcpu,
					    &vms[i]));
	}

	kswapd_runs = host_vmstat("pageoutrun");
	start = time(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		host_hog(host_available_kib() + 48 * 1024, 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	/* zones whose node kswapd has given up on */
	unreclaimable = host_zoneinfo_sum("node_unreclaimable");
	TH_LOG("the hog ran %ld s; kswapd ran %ld times; zones unreclaimable: %d",
	       (long)(time(NULL) - start),
	       host_vmstat("pageoutrun") - kswapd_runs, unreclaimable);
	EXPECT_EQ(0, unreclaimable)
		TH_LOG("kswapd gave the node up though the balloons gave");
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the memory hog ended with status %#x (%s)", status,
		       WIFEXITED(status) ? "the balloons gave too little" :
		       "OOM kill?");
	for (i = 0; i < 2; i++) {
		ASSERT_GET_BALLOON(vms[i].vm, &st);
		TH_LOG("vm %d: peak balloon %lu pages, pressure target %llu",
		       i, (unsigned long)vms[i].peak,
		       (unsigned long long)st.pressure_target);
		EXPECT_LT(0, vms[i].peak);
	}
	EXPECT_LT(vms[1].peak, vms[0].peak)
		TH_LOG("the bigger VM should give more");

	/* No more pressure: both targets, and balloons, go back to 0. */
	start = time(NULL);
	while ((vms[0].last || vms[1].last) && time(NULL) - start < 90)
		usleep(100000);
	TH_LOG("the balloons were back to 0 after %ld s",
	       (long)(time(NULL) - start));
	EXPECT_EQ(0, vms[0].last);
	EXPECT_EQ(0, vms[1].last);

	pressure_stop = 1;
	for (i = 0; i < 2; i++) {
		pthread_join(threads[i], NULL);
		EXPECT_EQ(0, vms[i].error);
		kh_vm_global(vms[i].vm, g_stop) = 1;
		ASSERT_DONE(vms[i].vcpu);
		kh_vm_free(vms[i].vm);
	}
}

/*
 * Memory cgroups: reclaim inside one cgroup asks only the VMs charged to
 * it.  VM A is created (and its guest memory touched) in cgroup A, VM B
 * in cgroup B; lowering A's memory.high below its usage makes the kernel
 * reclaim in A, which calls the shrinker for A only.  A's pressure target
 * rises and its guest inflates until A is under memory.high; B's target
 * stays 0.  (A shrinker that is not memcg-aware is never called for a
 * cgroup's own reclaim.)
 */
#define CG_A	KH_CG_ROOT "/khyp-balloon-a"
#define CG_B	KH_CG_ROOT "/khyp-balloon-b"

SLOW_TEST(memcg_pressure_asks_that_cgroup)
{
	struct kh_vm *vm[2];
	struct kh_vcpu *vcpu[2];
	const char *dirs[2] = { CG_A, CG_B };
	struct khyp_balloon_stats st;
	struct kh_ucall uc = {};
	long usage, high;
	char msg[512], buf[32];
	time_t start;
	int i;

	NEED_DEV();
	ASSERT_TRUE(kh_cg_enter(CG_DIR)) TH_LOG("no memory cgroup to run in");
	for (i = 0; i < 2; i++) {
		mkdir(dirs[i], 0755);
		ASSERT_TRUE(kh_cg_join(dirs[i]))
			TH_LOG("cannot join %s", dirs[i]);
		vcpu[i] = balloon_vm(&vm[i]);
		ASSERT_SYNC(vcpu[i], 0);	/* 128 MiB charged here */
	}
	ASSERT_TRUE(kh_cg_join(CG_DIR));

	usage = kh_cg_kib(CG_A, "memory.current");
	EXPECT_LE(128 * 1024, usage);
	high = usage - 48 * 1024;
	snprintf(buf, sizeof(buf), "%ld", high * 1024);
	/* The write itself reclaims in A (and gives up after a while). */
	kh_write_file(CG_A "/memory.high", buf);
	ASSERT_GET_BALLOON(vm[0], &st);
	EXPECT_LT(0, st.pressure_target)
		TH_LOG("reclaim in cgroup A did not raise VM A's target");
	ASSERT_GET_BALLOON(vm[1], &st);
	EXPECT_EQ(0, st.pressure_target)
		TH_LOG("reclaim in cgroup A raised VM B's target");

	/* VM A's guest inflates until A fits under memory.high. */
	start = time(NULL);
	while (kh_cg_kib(CG_A, "memory.current") > high &&
	       time(NULL) - start < 60) {
		ASSERT_EQ(KH_UCALL_SYNC,
			  kh_vcpu_run_ucall(vcpu[0], &uc, msg, sizeof(msg)))
			TH_LOG("%s", msg);
	}
	EXPECT_GE(high, kh_cg_kib(CG_A, "memory.current"));
	EXPECT_LT(0, uc.args[0]) TH_LOG("VM A's balloon did not grow");
	ASSERT_EQ(KH_UCALL_SYNC,
		  kh_vcpu_run_ucall(vcpu[1], &uc, msg, sizeof(msg)));
	EXPECT_EQ(0, uc.args[0]) TH_LOG("VM B's balloon grew");
	ASSERT_GET_BALLOON(vm[1], &st);
	EXPECT_EQ(0, st.pressure_target);

	kh_write_file(CG_A "/memory.high", "max");
	for (i = 0; i < 2; i++) {
		kh_vm_global(vm[i], g_stop) = 1;
		ASSERT_DONE(vcpu[i]);
		kh_vm_free(vm[i]);
	}
	for (i = 0; i < 2; i++)
		rmdir(dirs[i]);
}

/*
 * Activity: of two VMs of the same size, the one whose vCPU has not run
 * for two seconds is asked for more (and may be asked for all it could
 * give; a busy one for half of it).
 */
SLOW_TEST(idle_vm_gives_more)
{
	struct pressure_vm vms[2] = {
		{ .heap_end = HEAP + 96 * MiB },
		{ .heap_end = HEAP + 96 * MiB },
	};
	struct khyp_balloon_stats st[2];
	pthread_t thread;
	int i;

	NEED_DEV();
	for (i = 0; i < 2; i++)
		pressure_vm_start(_metadata, &vms[i]);
	/* VM 0 keeps running; VM 1 sits idle. */
	pressure_stop = 0;
	ASSERT_EQ(0, pthread_create(&thread, NULL, pressure_vcpu, &vms[0]));
	sleep(2);
	kh_drop_slab_caches();
	for (i = 0; i < 2; i++)
		ASSERT_GET_BALLOON(vms[i].vm, &st[i]);
	pressure_stop = 1;
	pthread_join(thread, NULL);
	EXPECT_EQ(0, vms[0].error);
	TH_LOG("pressure targets: busy VM %llu, idle VM %llu pages",
	       (unsigned long long)st[0].pressure_target,
	       (unsigned long long)st[1].pressure_target);
	EXPECT_LT(0, st[0].pressure_target);
	EXPECT_LT(st[0].pressure_target, st[1].pressure_target);
	for (i = 0; i < 2; i++) {
		kh_vm_global(vms[i].vm, g_stop) = 1;
		ASSERT_DONE(vms[i].vcpu);
		kh_vm_free(vms[i].vm);
	}
}

/*
 * Bookkeeping a guest cannot inflate: a VM with a huge region it never
 * touched (512 GiB here) offers the balloon frames that free nothing.
 * Each sparse frame costs an xarray node in the host; a balloon that
 * took them all would let a guest allocate gigabytes of kernel memory.
 * Frames with no page are accepted only while the balloon holds fewer of
 * them than the VM has pages (the rest get S_NO_PAGE), and what is
 * accepted is charged to the VMM's memory cgroup: the host's slab
 * outside the cgroup does not grow with what the guest asks.
 */
#define BIG_GPA		(256ULL << 30)
#define BIG_SIZE	(512ULL << 30)
#define SPARSE_TRIES	32768ULL	/* one frame every 64: a node each */

static void guest_inflate_untouched(void)
{
	uint64_t k, i, n, ok = 0, no_page = 0, other = 0;

	GUEST_ASSERT_EQ(1, hc(KHYP_HC_BALLOON_PROBE, 1, 0));
	for (k = 0; k < SPARSE_TRIES; k += BATCH) {
		n = SPARSE_TRIES - k < BATCH ? SPARSE_TRIES - k : BATCH;
		for (i = 0; i < n; i++)
			g_list[i] = BIG_GPA + (k + i) * 64 * PAGE;
		hc(KHYP_HC_BALLOON_INFLATE, (uint64_t)g_list, n);
		for (i = 0; i < n; i++) {
			switch (g_list[i] & 0xfff) {
			case KHYP_BALLOON_S_OK:
				ok++;
				break;
			case KHYP_BALLOON_S_NO_PAGE:
				no_page++;
				break;
			default:
				other++;
			}
		}
	}
	GUEST_SYNC4(ok, no_page, other, 0);
	GUEST_DONE();
}

/* A "name value" line of a file (memory.stat, /proc/meminfo in kB). */
static long long stat_value(const char *path, const char *name)
{
	char line[256], key[64];
	long long v, found = -1;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[^: ]%*[: ] %lld", key, &v) == 2 &&
		    !strcmp(key, name)) {
			found = v;
			break;
		}
	if (f)
		fclose(f);
	return found;
}

/* All slab memory, and the part charged to our cgroup, in bytes. */
static void slab_bytes(long long *host, long long *cg)
{
	*host = stat_value("/proc/meminfo", "Slab") * 1024;
	*cg = stat_value(CG_DIR "/memory.stat", "slab");
}

SLOW_TEST(untouched_frames_bounded_and_charged)
{
	struct khyp_mem_region big = {
		.slot = 1, .guest_phys_addr = BIG_GPA, .size = BIG_SIZE,
	};
	long long host0, cg0, host1, cg1, unaccounted;
	struct khyp_balloon_stats st;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;
	struct kh_vm *vm;
	char msg[512];

	NEED_DEV();
	ASSERT_TRUE(kh_cg_enter(CG_DIR)) TH_LOG("no memory cgroup to run in");
	vm = kh_vm_create(0);
	ASSERT_EQ(0, ioctl(vm->fd, KHYP_SET_MEM_REGION, &big))
		TH_LOG("KHYP_SET_MEM_REGION: %s", strerror(errno));
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_inflate_untouched);
	ASSERT_SET_BALLOON(vm, SPARSE_TRIES * 2);

	sleep(3);	/* memory.stat may lag up to 2 s (rstat flush) */
	slab_bytes(&host0, &cg0);
	ASSERT_LE(0, host0);
	ASSERT_LE(0, cg0) TH_LOG("no slab line in " CG_DIR "/memory.stat");
	ASSERT_EQ(KH_UCALL_SYNC, kh_vcpu_run_ucall(vcpu, &uc, msg, sizeof(msg)))
		TH_LOG("%s", msg);
	sleep(3);
	slab_bytes(&host1, &cg1);
	ASSERT_GET_BALLOON(vm, &st);
	TH_LOG("accepted %llu, S_NO_PAGE %llu, other %llu; VM pages %llu; "
	       "slab +%lld KiB, of it charged here +%lld KiB",
	       (unsigned long long)uc.args[0], (unsigned long long)uc.args[1],
	       (unsigned long long)uc.args[2],
	       (unsigned long long)st.ram_pages,
	       (host1 - host0) / 1024, (cg1 - cg0) / 1024);
	EXPECT_EQ(SPARSE_TRIES, uc.args[0] + uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);
	/* At most as many page-less frames as the VM has pages. */
	EXPECT_GE(st.ram_pages, uc.args[0]);
	EXPECT_LT(0, uc.args[0]);
	EXPECT_EQ(uc.args[0], st.size);
	/* Their bookkeeping (about a node each) is charged to the cgroup. */
	EXPECT_LE((long long)uc.args[0] * 256, cg1 - cg0);
	unaccounted = (host1 - host0) - (cg1 - cg0);
	EXPECT_GT(4LL << 20, unaccounted)
		TH_LOG("the host's slab outside the cgroup grew by %lld KiB",
		       unaccounted / 1024);

	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * The VMM touching a guest page while the guest gives it back: a fault on
 * the VMM's mapping that found the page just before it left the guest
 * must not map it after it left.  Else the VMM reads and writes a page
 * that is no longer the guest's (its data goes nowhere).
 *
 * The guest loops: inflate the page, deflate it, write the iteration
 * number into it, report.  A second host thread zaps its own mapping of
 * the page and touches it again, over and over, so that it is faulting
 * when a time slice ends (on these one-CPU machines the race needs a
 * preemption inside the fault); between guest runs (seq even) it checks
 * that the mapping shows what the guest wrote last.  The main thread
 * checks the same after each report.
 */
#define RACE_GPA	0x100000UL
#define RACE_ITERS	3000

static volatile uint64_t g_race_iters = RACE_ITERS;

static void guest_inflate_loop(void)
{
	uint64_t i;

	GUEST_ASSERT_EQ(1, hc(KHYP_HC_BALLOON_PROBE, 1, 0));
	*(volatile uint64_t *)RACE_GPA = 0;
	for (i = 1; i <= g_race_iters; i++) {
		g_list[0] = RACE_GPA;
		GUEST_ASSERT_EQ(1, hc(KHYP_HC_BALLOON_INFLATE,
				      (uint64_t)g_list, 1));
		g_list[0] = RACE_GPA;
		GUEST_ASSERT_EQ(1, hc(KHYP_HC_BALLOON_DEFLATE,
				      (uint64_t)g_list, 1));
		*(volatile uint64_t *)RACE_GPA = i;
		GUEST_SYNC(i);
	}
	GUEST_DONE();
}

struct race {
	volatile uint64_t *page;	/* the VMM's mapping of RACE_GPA */
	volatile uint64_t seq;		/* odd while the guest runs */
	volatile uint64_t published;	/* what the guest wrote last */
	volatile int stop;
	uint64_t touches, checks, stale, stale_value, stale_expected;
};

static void *race_toucher(void *arg)
{
	struct race *r = arg;
	uint64_t s, p, v;

	while (!r->stop) {
		madvise((void *)r->page, PAGE, MADV_DONTNEED);
		(void)*r->page;		/* fault */
		r->touches++;
		s = r->seq;
		__sync_synchronize();
		if (s & 1)
			continue;
		p = r->published;	/* set before seq turned even */
		v = *r->page;
		__sync_synchronize();
		if (r->seq != s)	/* the guest ran meanwhile */
			continue;
		r->checks++;
		if (v != p) {
			r->stale++;
			r->stale_value = v;
			r->stale_expected = p;
		}
	}
	return NULL;
}

SLOW_TEST(vmm_fault_races_inflate)
{
	struct race r = { 0 };
	uint64_t i, main_stale = 0;
	struct kh_vcpu *vcpu;
	struct kh_ucall uc;
	struct kh_vm *vm;
	pthread_t thread;
	char msg[512];
	int c;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_inflate_loop);
	ASSERT_SET_BALLOON(vm, 1);
	r.page = kh_gpa(vm, RACE_GPA);
	r.seq = 1;
	ASSERT_EQ(0, pthread_create(&thread, NULL, race_toucher, &r));
	for (i = 1; i <= RACE_ITERS; i++) {
		c = kh_vcpu_run_ucall(vcpu, &uc, msg, sizeof(msg));
		if (c != KH_UCALL_SYNC || uc.args[0] != i)
			break;
		r.published = i;
		__sync_synchronize();
		r.seq++;			/* even: the guest is out */
		sched_yield();
		if (*r.page != i)
			main_stale++;
		r.seq++;
		__sync_synchronize();
	}
	r.stop = 1;
	pthread_join(thread, NULL);
	ASSERT_EQ(KH_UCALL_SYNC, c) TH_LOG("%s", msg);
	ASSERT_EQ(RACE_ITERS + 1, i) TH_LOG("stopped at %lu", (unsigned long)i);
	TH_LOG("%lu iterations; the other thread touched %lu times, checked %lu",
	       (unsigned long)RACE_ITERS, (unsigned long)r.touches,
	       (unsigned long)r.checks);
	EXPECT_LT(0, r.checks);
	EXPECT_EQ(0, r.stale)
		TH_LOG("the VMM saw %lu for %lu: a page no longer the guest's",
		       (unsigned long)r.stale_value,
		       (unsigned long)r.stale_expected);
	EXPECT_EQ(0, main_stale);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
