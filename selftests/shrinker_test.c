// SPDX-License-Identifier: GPL-2.0
/*
 * The shrinker's policy (balloon/shrinker.c, docs/balloon.md), driven by
 * writing 2 to /proc/sys/vm/drop_caches, which calls every shrinker of
 * every memory cgroup until it has nothing more to give:
 *
 *  - a guest that never probed the balloon is never asked;
 *  - a guest is never asked to go below the floor (16 MiB allocated); an
 *    idle one is asked for everything above it; and once nothing is
 *    above it, reclaim finds nothing to scan;
 *  - with no more scans, a pressure target holds 5 s, then falls each
 *    second by half, or by 256 pages if that is more, down to 0;
 *  - several raises before the guest runs give it one notification;
 *  - what the guests gave counts as reclaimed (memory.reclaim).
 *
 * The guest (guest_shrinker()) probes unless told not to, asks for a
 * notification vector if told to, touches its heap [HEAP, g_heap_end) and
 * everything its loop will touch, then reports.  Its loop balloons pages
 * from the top of the heap down towards its target and reports again
 * (after waiting for the notification, if it asked for one).  The VMs are
 * left idle (no vCPU has left the guest for a second) before reclaim, so
 * that the shrinker asks each for all it could give: what it asks is then
 * exact.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/khyp_balloon.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define MiB		(1UL << 20)
#define PAGE		4096UL
#define VM_MEM		(128 * MiB)
#define HEAP		(32 * MiB)
#define BATCH		KHYP_BALLOON_BATCH_MAX
/* KHYP_BALLOON_FLOOR of balloon/shrinker.c: never asked below this. */
#define FLOOR		(16 * MiB / PAGE)
/* KHYP_SHRINKER_BATCH of core/compat.h: a scan raises one VM by <= 16. */
#define SCAN_BATCH	16
#define NOTIFY_VECTOR	0x41
#define DEBUGFS		"/sys/kernel/debug"
#define SHRINKER_FILE	DEBUGFS "/khyp/shrinker"

/*
 * The 6.1 harness has timeouts only for fixture tests.  The fixture also
 * turns the pools of zeroed blocks off (mmu/zeropool.c): the shrinker
 * would free them first, and the asks these tests count exactly are the
 * balloons' (zeropool_test has the pools under pressure).
 */
KH_POOL_OFF_FIXTURE(slow)

#define SLOW_TEST(name)	TEST_F_TIMEOUT(slow, name, 300)

static volatile uint64_t g_heap_end = HEAP;
static volatile uint64_t g_probe = 1;
static volatile uint64_t g_notify;
static volatile uint64_t g_list[BATCH] __attribute__((aligned(4096)));
static volatile uint64_t g_size;

static inline uint64_t hc(uint64_t nr, uint64_t a0, uint64_t a1)
{
	return kh_guest_hypercall(nr, a0, a1, 0, 0, 0);
}

/* One batch towards the target (within the heap); returns the target. */
static uint64_t guest_step(void)
{
	uint64_t t, n, i, r, max = (g_heap_end - HEAP) / PAGE;

	t = hc(KHYP_HC_BALLOON_TARGET, 0, 0);
	if (t > max)
		t = max;
	if (g_size < t) {
		n = t - g_size < BATCH ? t - g_size : BATCH;
		for (i = 0; i < n; i++)
			g_list[i] = g_heap_end - (g_size + 1 + i) * PAGE;
		r = hc(KHYP_HC_BALLOON_INFLATE, (uint64_t)g_list, n);
		GUEST_ASSERT_EQ(n, r);
		g_size += r;
	} else if (g_size > t) {
		n = g_size - t < BATCH ? g_size - t : BATCH;
		for (i = 0; i < n; i++)
			g_list[i] = g_heap_end - (g_size - i) * PAGE;
		r = hc(KHYP_HC_BALLOON_DEFLATE, (uint64_t)g_list, n);
		GUEST_ASSERT_EQ(n, r);
		g_size -= r;
	}
	return t;
}

static void guest_shrinker(void)
{
	uint64_t gpa, seen, spins;

	if (g_probe)
		GUEST_ASSERT_EQ(1, hc(KHYP_HC_BALLOON_PROBE, 1, 0));
	if (g_notify)
		GUEST_ASSERT_EQ(0, hc(KHYP_HC_BALLOON_NOTIFY, g_notify, 0));
	for (gpa = HEAP; gpa < g_heap_end; gpa += PAGE)
		*(volatile uint64_t *)gpa = gpa;
	/* What the loop touches, touched now: ram_pages stays as it is. */
	g_list[0] = 0;
	g_size = 0;
	seen = kh_guest_vector_count[NOTIFY_VECTOR];
	GUEST_SYNC(0);
	for (;;) {
		if (g_notify) {
			kh_guest_sti();
			for (spins = 0;
			     kh_guest_vector_count[NOTIFY_VECTOR] == seen;
			     spins++) {
				GUEST_ASSERT(spins < (1ULL << 28));
				kh_guest_pause();
			}
			kh_guest_cli();
			seen = kh_guest_vector_count[NOTIFY_VECTOR];
		}
		while (guest_step() != g_size)
			;
		GUEST_SYNC4(g_size, seen, 0, 0);
	}
}

struct guest {
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
};

/* A VM whose guest has touched @heap_mib MiB of heap and reported. */
static void guest_start(struct __test_metadata *_metadata, struct guest *g,
			uint64_t heap_mib, bool probe, uint8_t notify)
{
	g->vm = kh_vm_create(VM_MEM);
	g->vcpu = kh_vcpu_add(g->vm, 0);
	kh_vcpu_setup_long_mode(g->vcpu, guest_shrinker);
	if (notify)
		kh_vm_install_idt(g->vm, g->vcpu);
	kh_vm_global(g->vm, g_heap_end) = HEAP + heap_mib * MiB;
	kh_vm_global(g->vm, g_probe) = probe;
	kh_vm_global(g->vm, g_notify) = notify;
	ASSERT_SYNC(g->vcpu, 0);
}

static void guest_stop(struct guest *g)
{
	kh_vm_free(g->vm);
	g->vm = NULL;
}

static uint64_t pressure_target(struct __test_metadata *_metadata,
				struct kh_vm *vm)
{
	struct khyp_balloon_stats st;

	ASSERT_GET_BALLOON(vm, &st);
	return st.pressure_target;
}

static long shrinker_stat(const char *key)
{
	return khyp_file_count(SHRINKER_FILE, key);
}

/*
 * Two VMs with the same memory, both idle; one probed the balloon, the
 * other never did.  Reclaim asks the first (the shrinker ran) and never
 * the second: a guest that does not speak the protocol would never give
 * anything, and its share would be lost to the others.
 */
SLOW_TEST(unprobed_guest_never_asked)
{
	struct guest probed, unprobed;
	struct khyp_balloon_stats st;

	NEED_DEV();
	guest_start(_metadata, &probed, 48, true, 0);
	guest_start(_metadata, &unprobed, 48, false, 0);
	ASSERT_GET_BALLOON(unprobed.vm, &st);
	ASSERT_EQ(0, st.probed);
	ASSERT_LT(FLOOR + 8192, st.ram_pages);	/* it has plenty to give */
	sleep(2);				/* both idle */

	ASSERT_EQ(0, kh_drop_slab_caches());
	ASSERT_GET_BALLOON(probed.vm, &st);
	EXPECT_LT(0, st.pressure_target) TH_LOG("the shrinker asked no one");
	ASSERT_GET_BALLOON(unprobed.vm, &st);
	EXPECT_EQ(0, st.pressure_target)
		TH_LOG("a guest that never probed was asked for %llu pages",
		       (unsigned long long)st.pressure_target);
	EXPECT_EQ(0, st.effective_target);
	guest_stop(&probed);
	guest_stop(&unprobed);
}

/*
 * The floor: an idle VM is asked for exactly what it holds above 16 MiB;
 * one that holds less is not asked.  The first guest inflates to its
 * target and then holds the floor exactly; reclaim then finds nothing
 * khyp could give (count_objects 0): the shrinker is counted, never
 * scanned, and no target moves.
 */
SLOW_TEST(floor_never_asked_below)
{
	struct guest big, small;
	struct khyp_balloon_stats st;
	struct kh_ucall uc;
	uint64_t big_ram, target;
	long counts, scans;
	char msg[512];
	int i;

	NEED_DEV();
	ASSERT_TRUE(kh_debugfs_mounted()) TH_LOG("no debugfs");
	guest_start(_metadata, &big, 32, true, 0);
	guest_start(_metadata, &small, 0, true, 0);
	ASSERT_GET_BALLOON(small.vm, &st);
	ASSERT_GT(FLOOR, st.ram_pages)
		TH_LOG("the small VM holds %llu pages: not below the floor",
		       (unsigned long long)st.ram_pages);
	ASSERT_GET_BALLOON(big.vm, &st);
	big_ram = st.ram_pages;
	ASSERT_LT(FLOOR + 1024, big_ram);
	sleep(2);				/* both idle */

	ASSERT_EQ(0, kh_drop_slab_caches());
	ASSERT_GET_BALLOON(big.vm, &st);
	EXPECT_EQ(big_ram, st.ram_pages);
	EXPECT_EQ(big_ram - FLOOR, st.pressure_target)
		TH_LOG("asked for %llu of %llu pages; the floor is %lu",
		       (unsigned long long)st.pressure_target,
		       (unsigned long long)big_ram, FLOOR);
	target = st.pressure_target;
	EXPECT_EQ(0, pressure_target(_metadata, small.vm))
		TH_LOG("a VM below the floor was asked");

	/* The guest gives it all: it holds the floor, exactly. */
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(KH_UCALL_SYNC,
			  kh_vcpu_run_ucall(big.vcpu, &uc, msg, sizeof(msg)))
			TH_LOG("%s", msg);
		if (uc.args[0] == target)
			break;
	}
	ASSERT_EQ(target, uc.args[0]);
	ASSERT_GET_BALLOON(big.vm, &st);
	EXPECT_EQ(FLOOR, st.ram_pages);
	EXPECT_EQ(target, st.freed);

	/* Nothing left above the floor: counted, not scanned. */
	counts = shrinker_stat("count_calls");
	scans = shrinker_stat("scan_calls");
	ASSERT_LE(0, counts) TH_LOG("no %s", SHRINKER_FILE);
	ASSERT_EQ(0, kh_drop_slab_caches());
	EXPECT_LT(counts, shrinker_stat("count_calls"));
	EXPECT_EQ(scans, shrinker_stat("scan_calls"))
		TH_LOG("scanned with nothing above the floor");
	EXPECT_EQ(target, pressure_target(_metadata, big.vm));
	EXPECT_EQ(0, pressure_target(_metadata, small.vm));
	guest_stop(&big);
	guest_stop(&small);
}

/*
 * Decay: an idle VM with 1200 pages above the floor is asked for them
 * all; with no more scans, its pressure target holds 5 s, then each
 * second falls by half, or by 256 pages if that is more:
 * 1200, 600, 300, 44, 0.
 */
#define DECAY_TARGET	1200
#define DECAY_STEPS	5

/* An idle VM with DECAY_TARGET pages above the floor. */
static void decay_guest_start(struct __test_metadata *_metadata,
			      struct guest *g)
{
	struct khyp_balloon_stats st;
	uint64_t k, n;

	guest_start(_metadata, g, 0, true, 0);
	/* The VMM touches the pages that make 1200 above the floor. */
	ASSERT_GET_BALLOON(g->vm, &st);
	ASSERT_GT(FLOOR + DECAY_TARGET, st.ram_pages);
	n = FLOOR + DECAY_TARGET - st.ram_pages;
	for (k = 0; k < n; k++)
		*(volatile uint64_t *)kh_gpa(g->vm, HEAP + k * PAGE) = k;
	ASSERT_GET_BALLOON(g->vm, &st);
	ASSERT_EQ(FLOOR + DECAY_TARGET, st.ram_pages);
	sleep(2);				/* idle */
}

SLOW_TEST(decay_schedule)
{
	static const uint64_t expected[DECAY_STEPS] = {
		DECAY_TARGET, 600, 300, 44, 0,
	};
	uint64_t seen[DECAY_STEPS + 4], t;
	double at[DECAY_STEPS + 4], start;
	struct guest g;
	int i, nseen = 0;

	NEED_DEV();
	decay_guest_start(_metadata, &g);

	start = now_s();
	ASSERT_EQ(0, kh_drop_slab_caches());
	t = pressure_target(_metadata, g.vm);
	ASSERT_EQ(DECAY_TARGET, t);
	seen[nseen] = t;
	at[nseen++] = now_s();
	while (t && now_s() - start < 60) {
		usleep(20000);
		t = pressure_target(_metadata, g.vm);
		if (t != seen[nseen - 1]) {
			seen[nseen] = t;
			at[nseen++] = now_s();
			if (nseen == DECAY_STEPS + 4)
				break;
		}
	}
	for (i = 0; i < nseen; i++)
		TH_LOG("%6.2f s: pressure target %llu", at[i] - start,
		       (unsigned long long)seen[i]);
	ASSERT_EQ(DECAY_STEPS, nseen);
	for (i = 0; i < DECAY_STEPS; i++)
		EXPECT_EQ(expected[i], seen[i]) TH_LOG("step %d", i);
	/* Held 5 s after the last scan (which came after start). */
	EXPECT_LE(4.9, at[1] - start);
	for (i = 2; i < DECAY_STEPS; i++)
		EXPECT_LE(0.9, at[i] - at[i - 1]) TH_LOG("step %d", i);
	guest_stop(&g);
}

/*
 * The decay holds while the host allocates: after the scan, a child
 * process takes a twentieth of MemAvailable every second, in tenths,
 * for ALLOC_S seconds (at that pace the host would run out of room well
 * within the shrinker's 30 s horizon), then holds what it took.  The
 * pressure target must not move while the child allocates, though the
 * 5 s hold after the scan has run out, and must fall once the child
 * stops (the child's memory leaves the host room enough).
 *
 * Each tenth is one mmap() with MAP_POPULATE (the kernel faults the
 * pages in, written, without a page fault exception each), due at its
 * own time from the start: a tenth that took longer is not slept after.
 * On the debug kernel (svm-qemu-debug) malloc() and memset() at 100 ms
 * intervals took the pages in ~4 KiB faults, each through KASAN under
 * TCG, too slowly for the pace: the host's fall looked harmless and the
 * decay went on at 5.2 s, rightly (session 18).
 */
#define ALLOC_S		6

static void allocate_then_hold(long avail_kib, int done_fd)
{
	long chunk = avail_kib / 200 * 1024, i;
	double start = now_s(), d;
	void *p;

	for (i = 0; i < 10 * ALLOC_S; i++) {
		if (host_available_kib() < avail_kib / 4)
			break;			/* never near the OOM killer */
		p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED)
			_exit(3);
		d = start + (i + 1) / 10.0 - now_s();
		if (d > 0)
			usleep(d * 1e6);
	}
	if (write(done_fd, "d", 1) != 1)
		_exit(4);
	pause();
	_exit(0);
}

SLOW_TEST(decay_holds_while_host_allocates)
{
	double start, done_at = 0, fell_at = 0;
	int fds[2], status;
	struct guest g;
	uint64_t t;
	pid_t pid;
	char c;

	NEED_DEV();
	decay_guest_start(_metadata, &g);
	ASSERT_EQ(0, pipe(fds));

	start = now_s();
	ASSERT_EQ(0, kh_drop_slab_caches());
	ASSERT_EQ(DECAY_TARGET, pressure_target(_metadata, g.vm));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(fds[0]);
		allocate_then_hold(host_available_kib(), fds[1]);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	while (now_s() - start < ALLOC_S + 30) {
		usleep(20000);
		if (!done_at && read(fds[0], &c, 1) == 1)
			done_at = now_s();
		t = pressure_target(_metadata, g.vm);
		if (t == DECAY_TARGET)
			continue;
		fell_at = now_s();
		break;
	}
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(fds[0]);
	TH_LOG("scan at 0 s, the child done allocating at %.2f s, the target fell (to %llu) at %.2f s",
	       done_at ? done_at - start : -1, (unsigned long long)t,
	       fell_at ? fell_at - start : -1);
	ASSERT_TRUE(WIFSIGNALED(status)) TH_LOG("the child exited: %#x", status);
	ASSERT_NE(0, done_at) TH_LOG("the target fell while the host allocated");
	EXPECT_LE(5.5, done_at - start)
		TH_LOG("the child allocated for less than the 5 s hold");
	ASSERT_NE(0, fell_at) TH_LOG("no decay once the host stopped allocating");
	EXPECT_LT(done_at, fell_at);
	guest_stop(&g);
}

/*
 * Coalescing: reclaim raises the target in many scans while the vCPU is
 * outside the guest; each raise notifies, yet the guest gets one
 * interrupt and the VM counts one notification.  The guest takes it,
 * inflates to the target and reports having seen one.
 */
SLOW_TEST(notifications_coalesce)
{
	struct khyp_balloon_stats st;
	long scans;
	struct kh_ucall uc;
	struct guest g;
	char msg[512];

	NEED_DEV();
	ASSERT_TRUE(kh_debugfs_mounted()) TH_LOG("no debugfs");
	guest_start(_metadata, &g, 48, true, NOTIFY_VECTOR);
	ASSERT_GET_BALLOON(g.vm, &st);
	ASSERT_EQ(NOTIFY_VECTOR, st.notify_vector);
	ASSERT_EQ(0, st.notifications);

	scans = shrinker_stat("scan_calls");
	ASSERT_LE(0, scans) TH_LOG("no %s", SHRINKER_FILE);
	ASSERT_EQ(0, kh_drop_slab_caches());
	ASSERT_EQ(0, kh_drop_slab_caches());
	ASSERT_GET_BALLOON(g.vm, &st);
	/* Raised by several scans, each at most SCAN_BATCH pages. */
	EXPECT_LT(1, shrinker_stat("scan_calls") - scans);
	EXPECT_LT(2 * SCAN_BATCH, st.pressure_target)
		TH_LOG("pressure target %llu: one scan's raise",
		       (unsigned long long)st.pressure_target);
	EXPECT_EQ(1, st.notifications)
		TH_LOG("%llu notifications before the guest ran",
		       (unsigned long long)st.notifications);

	ASSERT_EQ(KH_UCALL_SYNC, kh_vcpu_run_ucall(g.vcpu, &uc, msg,
						   sizeof(msg)))
		TH_LOG("%s", msg);
	EXPECT_EQ(st.pressure_target, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]) TH_LOG("interrupts the guest took");
	guest_stop(&g);
}

/*
 * Progress: what the guests gave counts as reclaimed.  Reclaim judges
 * itself by the pages it freed (the LRU's, and those added to the
 * reclaimer's reclaim_state), not by what a shrinker returns, so a scan
 * adds the pages the guests freed since the last one there
 * (balloon/shrinker.c).  Without that, on a host with nothing else to
 * reclaim, kswapd gave the node up as unreclaimable after 16 runs however
 * much the balloons gave (balloon_test's host_pressure_two_vms starved
 * in svm-qemu-debug), and memory.reclaim fails with EAGAIN; the latter
 * is what this shows.  A VM in a memory cgroup of its own, where nothing
 * else can be reclaimed (the test's anonymous memory, no swap): its
 * guest can give its 16 MiB heap, and the VMM has touched 48 MiB more
 * (so that something stays above the floor: with nothing there, reclaim
 * would not call the scan that reports).  A first memory.reclaim raises
 * its pressure target while the guest does not run (nothing given yet:
 * its result is only logged); the guest gives its heap; a second one,
 * asking for half of that, must succeed.  Kernels from 6.4 count such
 * pages for the whole host's reclaim only, not a cgroup's: skipped there.
 */
#define RECLAIM_CG	KH_CG_ROOT "/khyp-shrinker-test"
#define RECLAIM_HEAP	16			/* MiB the guest can give */
#define RECLAIM_EXTRA	(48 * MiB)		/* touched by the VMM */
#define RECLAIM_ASK	(RECLAIM_HEAP / 2 * MiB)

static bool kernel_before(int major, int minor)
{
	struct utsname u;
	int ma, mi;

	return !uname(&u) && sscanf(u.release, "%d.%d", &ma, &mi) == 2 &&
	       (ma < major || (ma == major && mi < minor));
}

SLOW_TEST(reclaim_counts_what_guests_gave)
{
	struct khyp_balloon_stats st;
	struct kh_ucall uc;
	struct guest g;
	char msg[512], ask[32];
	uint64_t k;
	int first, second;

	NEED_DEV();
	if (!kernel_before(6, 4))
		SKIP(return, "memcg reclaim counts LRU pages only here (6.4+)");
	ASSERT_TRUE(kh_cg_enter(RECLAIM_CG)) TH_LOG("no memory cgroup to run in");
	guest_start(_metadata, &g, RECLAIM_HEAP, true, 0);
	for (k = 0; k < RECLAIM_EXTRA; k += PAGE)
		*(volatile uint64_t *)kh_gpa(g.vm, HEAP + RECLAIM_HEAP * MiB + k) = k;
	snprintf(ask, sizeof(ask), "%lu", RECLAIM_ASK);

	first = kh_write_file(RECLAIM_CG "/memory.reclaim", ask);
	ASSERT_GET_BALLOON(g.vm, &st);
	ASSERT_LE(RECLAIM_HEAP * MiB / PAGE, st.pressure_target)
		TH_LOG("memory.reclaim raised the target to %llu pages only",
		       (unsigned long long)st.pressure_target);
	ASSERT_EQ(KH_UCALL_SYNC, kh_vcpu_run_ucall(g.vcpu, &uc, msg, sizeof(msg)))
		TH_LOG("%s", msg);
	ASSERT_GET_BALLOON(g.vm, &st);
	ASSERT_EQ(RECLAIM_HEAP * MiB / PAGE, st.freed);

	second = kh_write_file(RECLAIM_CG "/memory.reclaim", ask);
	TH_LOG("memory.reclaim of %lu KiB: %s before the guest gave, %s after it gave %llu KiB",
	       RECLAIM_ASK >> 10, first ? strerror(-first) : "done",
	       second ? strerror(-second) : "done",
	       (unsigned long long)st.freed * PAGE >> 10);
	EXPECT_EQ(0, second)
		TH_LOG("the pages the guest gave were not counted as reclaimed");
	guest_stop(&g);
}

TEST_HARNESS_MAIN
