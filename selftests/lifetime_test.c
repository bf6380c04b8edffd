// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetime: VMs come and go by the thousand, and processes die at any
 * point of their work, and the kernel gets everything back.
 *
 * create_run_destroy_cycles: a VM with memory and a vCPU is created, runs
 * a real-mode guest that writes 32 KiB (8 guest pages, 8 second-level
 * faults) and ends in a known OUT and HLT, and is destroyed, 1,000 times
 * (the machine's lifetime_cycles in scripts/test.sh may say fewer; the
 * count is printed).  Before and after, measured, not assumed: the
 * host's free memory (MemFree plus the per-CPU free lists, after
 * drop_caches), its slab (Slab, and SUnreclaim of it), the process's file
 * descriptors, the module's reference count and the VMs in debugfs.
 *
 * killed_while_*: a child process runs a guest on two vCPUs, or moves a
 * memory region in and out under a running vCPU, or inflates and deflates
 * its balloon through KHYP_BALLOON_PAGES; it is SIGKILLed after a random
 * delay (seeded: KHYP_LIFETIME_SEED, else the time; printed), many times.
 * Then the same figures are back.
 *
 * module_unloads_after_all: last, no VM is left in debugfs, and khyp.ko
 * unloads (nothing holds it) and loads again, as load_test does.
 *
 * The bounds: every count (fds, references, VMs) exactly back; free
 * memory within FREE_SLACK_KIB, SUnreclaim and Slab (with the
 * reclaimable part: xarray nodes are) within SLAB_SLACK_KIB of the
 * start.  One page kept per cycle would be 4,000 KiB after 1,000
 * cycles, one 64-byte object per cycle 64 KiB; the slack is what an idle
 * machine's figures move by on their own (measured: docs/reliability.md).
 * On a kernel with KASAN (svm-qemu-debug) every measure starts by
 * emptying KASAN's quarantine (lt_drain_quarantine()), so the same
 * bounds hold there.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/khyp_balloon.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define PAGE		4096UL
#define FREE_SLACK_KIB	1024
#define SLAB_SLACK_KIB	256
#define KILLS		60	/* per kind of child */

/* ---- guests ---- */

/* Real mode: 32 KiB of 0x5a5a at 0x10000, OUT of its last word, HLT. */
asm(".pushsection .text\n"
    ".code16\n"
    "lt_cycle_start:\n"
    "	movw $0x1000, %ax\n"
    "	movw %ax, %es\n"
    "	xorw %di, %di\n"
    "	movw $0x4000, %cx\n"
    "	movw $0x5a5a, %ax\n"
    "	cld\n"
    "	rep stosw\n"
    "	movw %es:0x7ffe, %ax\n"
    "	outw %ax, $0x10\n"
    "	hlt\n"
    "lt_cycle_end:\n"
    ".code64\n"
    ".popsection\n");
extern const char lt_cycle_start[], lt_cycle_end[];

/* Real mode, forever: fill 64 KiB at 0x10000, OUT a counter, again. */
asm(".pushsection .text\n"
    ".code16\n"
    "lt_spin_start:\n"
    "	movw $0x1000, %ax\n"
    "	movw %ax, %es\n"
    "	xorw %bx, %bx\n"
    "	cld\n"
    "1:	xorw %di, %di\n"
    "	movw $0x8000, %cx\n"
    "	movw %bx, %ax\n"
    "	rep stosw\n"
    "	outw %ax, $0x11\n"
    "	incw %bx\n"
    "	jmp 1b\n"
    "lt_spin_end:\n"
    ".code64\n"
    ".popsection\n");
extern const char lt_spin_start[], lt_spin_end[];

/*
 * Real mode, forever: one word into each of 16 pages at 0x80000 (slot 1,
 * which comes and goes: MMIO exits while it is away), OUT, again.
 */
#define LT_SLOT1_GPA	0x80000UL
#define LT_SLOT1_SIZE	0x10000UL
asm(".pushsection .text\n"
    ".code16\n"
    "lt_touch_start:\n"
    "	movw $0x8000, %ax\n"
    "	movw %ax, %es\n"
    "1:	xorw %di, %di\n"
    "2:	movw %di, %es:(%di)\n"
    "	addw $0x1000, %di\n"
    "	jnz 2b\n"
    "	outw %ax, $0x12\n"
    "	jmp 1b\n"
    "lt_touch_end:\n"
    ".code64\n"
    ".popsection\n");
extern const char lt_touch_start[], lt_touch_end[];

/* ---- what the kernel holds ---- */

struct lt_snap {
	long free_kib, sunreclaim_kib, slab_kib;
	long fds, refcnt, vms;
};

static long meminfo_kib(const char *key)
{
	char line[128];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/*
 * Generic KASAN keeps freed slab objects in a quarantine, up to 1/32 of
 * RAM (32 MiB in svm-qemu-debug), before their memory can be used
 * again: free memory and Slab then move by megabytes with no leak
 * (session 14: free -1,908 KiB, SUnreclaim +2,096 KiB).  Shrinking a
 * slab cache (/sys/kernel/slab/NAME/shrink, kmem_cache_shrink()) first
 * frees that cache's objects from the quarantine, then the cache's empty
 * slabs: shrinking every cache before a measure leaves nothing
 * quarantined, and the bounds need not be wider there.  A kernel without
 * KASAN is left as it is (its shrink would only return empty slabs).
 */
static bool lt_kasan(void)
{
	static int kasan = -1;
	char line[256];
	FILE *f;

	if (kasan >= 0)
		return kasan;
	/*
	 * The machines say it (kasan=1 in svm-qemu-debug's expectations):
	 * reading /proc/kallsyms cost Bochs ~6 of its seconds a test.
	 */
	if (getenv("KHYP_EXPECT")) {
		kasan = !!machine_expect("kasan", line, sizeof(line));
		return kasan;
	}
	kasan = 0;
	f = fopen("/proc/kallsyms", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, " kasan_quarantine_remove_cache\n")) {
			kasan = 1;
			break;
		}
	if (f)
		fclose(f);
	return kasan;
}

static void lt_drain_quarantine(void)
{
	char path[320];
	struct dirent *de;
	DIR *d;

	if (!lt_kasan())
		return;
	d = opendir("/sys/kernel/slab");
	while (d && (de = readdir(d))) {
		/* The merged caches' other names are symbolic links. */
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 de->d_name);
		kh_write_file(path, "1");
	}
	if (d)
		closedir(d);
}

static void snap(struct lt_snap *s)
{
	lt_drain_quarantine();
	kh_drop_slab_caches();
	s->free_kib = host_free_kib();
	s->sunreclaim_kib = meminfo_kib("SUnreclaim");
	s->slab_kib = meminfo_kib("Slab");
	s->fds = kh_dir_count("/proc/self/fd", "");
	s->refcnt = khyp_module_refcnt();
	s->vms = kh_dir_count("/sys/kernel/debug/khyp", "vm");
}

/* Everything back within the bounds (counts exactly). */
static bool snap_back(const struct lt_snap *a, const struct lt_snap *b)
{
	return b->fds == a->fds && b->refcnt == a->refcnt &&
	       b->vms == a->vms &&
	       a->free_kib - b->free_kib <= FREE_SLACK_KIB &&
	       b->sunreclaim_kib - a->sunreclaim_kib <= SLAB_SLACK_KIB &&
	       b->slab_kib - a->slab_kib <= SLAB_SLACK_KIB;
}

/*
 * The figures after: what RCU and the kernel's deferred work free comes
 * back within a second or so; a leak never does.  Up to 3 s of tries.
 */
static int snap_after(const struct lt_snap *a, struct lt_snap *b)
{
	int i;

	for (i = 0; i < 30; i++) {
		snap(b);
		if (snap_back(a, b))
			break;
		usleep(100000);
	}
	return i * 100;
}

#define EXPECT_SNAP_BACK(a, b, settled)					\
	do {								\
		TH_LOG("free %+ld KiB, SUnreclaim %+ld KiB (Slab %+ld), "	\
		       "fds %ld -> %ld, refcnt %ld -> %ld, VMs %ld -> %ld " \
		       "(settled after %d ms)", \
		       (b)->free_kib - (a)->free_kib,			\
		       (b)->sunreclaim_kib - (a)->sunreclaim_kib,	\
		       (b)->slab_kib - (a)->slab_kib,			\
		       (a)->fds, (b)->fds, (a)->refcnt, (b)->refcnt,	\
		       (a)->vms, (b)->vms, settled);			\
		EXPECT_EQ((a)->fds, (b)->fds);				\
		EXPECT_EQ((a)->refcnt, (b)->refcnt);			\
		EXPECT_EQ((a)->vms, (b)->vms);				\
		EXPECT_GE(FREE_SLACK_KIB, (a)->free_kib - (b)->free_kib); \
		EXPECT_GE(SLAB_SLACK_KIB,				\
			  (b)->sunreclaim_kib - (a)->sunreclaim_kib);	\
		EXPECT_GE(SLAB_SLACK_KIB, (b)->slab_kib - (a)->slab_kib); \
	} while (0)

/* ---- the cycles ---- */

FIXTURE(lt) {
	int unused;
};

FIXTURE_SETUP(lt)
{
}

FIXTURE_TEARDOWN(lt)
{
}

#define LT_TEST(name)	TEST_F_TIMEOUT(lt, name, 300)

/* One VM's whole life; false (and why in @msg) if the guest went wrong. */
static bool one_cycle(char *msg, size_t len)
{
	struct kh_vm *vm = kh_vm_create(1UL << 20);
	struct kh_vcpu *vcpu = kh_vcpu_add(vm, 0);
	bool ok;

	kh_vm_load(vm, KH_GPA_LOW_CODE, lt_cycle_start, lt_cycle_end);
	kh_vcpu_setup_real_mode(vcpu, KH_GPA_LOW_CODE);
	ok = !kh_vcpu_run(vcpu) && vcpu->run->exit_reason == KHYP_EXIT_IO &&
	     vcpu->run->io.port == 0x10 && vcpu->run->io.data == 0x5a5a &&
	     !kh_vcpu_run(vcpu) && vcpu->run->exit_reason == KHYP_EXIT_HLT;
	if (!ok)
		kh_vcpu_exit_str(vcpu, msg, len);
	kh_vm_free(vm);
	return ok;
}

static unsigned long machine_count(const char *key, unsigned long dflt)
{
	char buf[24];

	return machine_expect(key, buf, sizeof(buf)) ?
		strtoul(buf, NULL, 0) : dflt;
}

LT_TEST(create_run_destroy_cycles)
{
	unsigned long i, n = machine_count("lifetime_cycles", 1000);
	struct lt_snap a, b;
	struct timespec t0, t1;
	char msg[512];
	int ms;

	NEED_DEV();
	/* Warm up: the slab caches and per-CPU lists reach their level. */
	for (i = 0; i < 20; i++)
		ASSERT_TRUE(one_cycle(msg, sizeof(msg))) TH_LOG("%s", msg);
	snap(&a);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		ASSERT_TRUE(one_cycle(msg, sizeof(msg)))
			TH_LOG("cycle %lu: %s", i, msg);
		if (i + 1 == n / 2) {	/* a leak grows with the cycles */
			ms = snap_after(&a, &b);
			TH_LOG("after %lu cycles: free %+ld KiB, SUnreclaim %+ld KiB (settled after %d ms)",
			       i + 1, b.free_kib - a.free_kib,
			       b.sunreclaim_kib - a.sunreclaim_kib, ms);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = snap_after(&a, &b);
	TH_LOG("%lu cycles in %.1f s", n,
	       t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	EXPECT_SNAP_BACK(&a, &b, ms);
}

/* ---- the children that are killed ---- */

enum lt_kind { LT_RUN, LT_REGIONS, LT_BALLOON };

/* Shared with the children: how far each got, for the report. */
struct lt_progress {
	atomic_ulong ops;
};

static struct lt_progress *progress;

static void *lt_vcpu_loop(void *arg)
{
	struct kh_vcpu *vcpu = arg;

	for (;;) {
		if (kh_vcpu_run(vcpu)) {
			if (errno == EINTR)
				continue;
			_exit(10);
		}
		switch (vcpu->run->exit_reason) {
		case KHYP_EXIT_IO:
		case KHYP_EXIT_MMIO:	/* slot 1 away: writes dropped */
			atomic_fetch_add(&progress->ops, 1);
			break;
		default:
			_exit(11);
		}
	}
	return NULL;
}

/* A vCPU at the real-mode code loaded at KH_GPA_LOW_CODE, in a thread. */
static void lt_start_vcpu(struct kh_vm *vm, unsigned int id)
{
	struct kh_vcpu *vcpu = kh_vcpu_add(vm, id);
	pthread_t t;

	kh_vcpu_setup_real_mode(vcpu, KH_GPA_LOW_CODE);
	if (pthread_create(&t, NULL, lt_vcpu_loop, vcpu))
		_exit(12);
}

/* Two vCPUs spin in the guest (exits only every 64 KiB written). */
static void __attribute__((noreturn)) child_run(int ready)
{
	struct kh_vm *vm = kh_vm_create(1UL << 20);

	kh_vm_load(vm, KH_GPA_LOW_CODE, lt_spin_start, lt_spin_end);
	lt_start_vcpu(vm, 0);
	lt_start_vcpu(vm, 1);
	if (write(ready, "r", 1) != 1)
		_exit(13);
	for (;;)
		pause();
}

/* Slot 1 comes and goes while a vCPU writes into it. */
static void __attribute__((noreturn)) child_regions(int ready)
{
	struct kh_vm *vm = kh_vm_create(LT_SLOT1_GPA);
	volatile uint64_t *p;

	kh_vm_load(vm, KH_GPA_LOW_CODE, lt_touch_start, lt_touch_end);
	lt_start_vcpu(vm, 0);
	if (write(ready, "r", 1) != 1)
		_exit(13);
	for (;;) {
		p = kh_vm_add_region(vm, 1, LT_SLOT1_GPA, LT_SLOT1_SIZE, 0);
		p[0] = 1;		/* the VMM's own touch */
		kh_vm_del_region(vm, 1);
		atomic_fetch_add(&progress->ops, 1);
	}
}

/*
 * The balloon holds 1024 pages (4 MiB the VMM had touched) from the
 * start, in two batches of 512; then, again and again, 64 of them go
 * out (DEFLATE), are touched by the VMM and go back in (INFLATE): a
 * kill after the start leaves a VM with at least 960 pages in its
 * balloon.
 */
#define LT_BALLOON_BATCHES	2
static void lt_balloon_op(struct kh_vm *vm, uint32_t op, uint64_t gpa,
			  unsigned int n)
{
	static uint64_t list[KHYP_BALLOON_BATCH_MAX];
	struct khyp_balloon_pages bp = {
		.op = op, .count = n, .list = (uintptr_t)list,
	};
	unsigned int i;

	for (i = 0; i < n; i++)
		list[i] = gpa + i * PAGE;
	if (ioctl(vm->fd, KHYP_BALLOON_PAGES, &bp) || bp.done != n)
		_exit(15);
}

static void __attribute__((noreturn)) child_balloon(int ready)
{
	const uint64_t batch = KHYP_BALLOON_BATCH_MAX * PAGE;
	struct khyp_balloon_target t = {
		.pages = LT_BALLOON_BATCHES * KHYP_BALLOON_BATCH_MAX,
	};
	const uint64_t base = 8UL << 20;
	struct kh_vm *vm = kh_vm_create(16UL << 20);
	unsigned int k;

	if (ioctl(vm->fd, KHYP_SET_BALLOON, &t))
		_exit(14);
	memset(kh_gpa(vm, base), 0x5a, LT_BALLOON_BATCHES * batch);
	for (k = 0; k < LT_BALLOON_BATCHES; k++)
		lt_balloon_op(vm, KHYP_BALLOON_OP_INFLATE, base + k * batch,
			      KHYP_BALLOON_BATCH_MAX);
	if (write(ready, "r", 1) != 1)
		_exit(13);
	for (k = 0;; k = (k + 1) % (LT_BALLOON_BATCHES * 8)) {
		uint64_t gpa = base + k * (batch / 8);

		lt_balloon_op(vm, KHYP_BALLOON_OP_DEFLATE, gpa, 64);
		memset(kh_gpa(vm, gpa), 0x5a, batch / 8);
		lt_balloon_op(vm, KHYP_BALLOON_OP_INFLATE, gpa, 64);
		atomic_fetch_add(&progress->ops, 1);
	}
}

static uint64_t lt_rand(uint64_t *s)	/* xorshift64* */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint64_t lt_seed(void)
{
	const char *env = getenv("KHYP_LIFETIME_SEED");
	uint64_t s = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);

	return s ? s : 1;
}

/*
 * Fork a child of @kind KILLS times and SIGKILL it after a random delay
 * of up to @max_us from the fork: early ones die while they set their VM
 * up, late ones in the middle of their loop.
 */
static void kill_children(struct __test_metadata *_metadata,
			  enum lt_kind kind, unsigned int max_us)
{
	static const char *const names[] = { "run", "regions", "balloon" };
	unsigned int i, before_ready = 0, kills = machine_count("lifetime_kills", KILLS);
	uint64_t seed = lt_seed() + kind, rnd = seed;
	struct lt_snap a, b;
	int fds[2], status, ms;
	bool ready;
	char c;
	pid_t pid;

	progress = mmap(NULL, sizeof(*progress), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, progress);
	atomic_store(&progress->ops, 0);
	snap(&a);
	for (i = 0; i < kills; i++) {
		ASSERT_EQ(0, pipe(fds));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			close(fds[0]);
			if (kind == LT_RUN)
				child_run(fds[1]);
			if (kind == LT_REGIONS)
				child_regions(fds[1]);
			child_balloon(fds[1]);
		}
		close(fds[1]);
		/*
		 * One kill in four counts its delay from the fork (it may
		 * come while the child sets up), the others from the moment
		 * the child is in its loop, whatever the machine's speed.
		 */
		ready = lt_rand(&rnd) % 4 && read(fds[0], &c, 1) == 1;
		usleep(lt_rand(&rnd) % max_us);
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("child %u ended by itself: status %#x", i, status);
		if (!ready && read(fds[0], &c, 1) != 1)
			before_ready++;
		close(fds[0]);
	}
	ms = snap_after(&a, &b);
	TH_LOG("%s: seed %llu (KHYP_LIFETIME_SEED), %u kills, %u before the VM was ready, %lu operations done in all",
	       names[kind], (unsigned long long)(seed - kind), kills,
	       before_ready, atomic_load(&progress->ops));
	EXPECT_SNAP_BACK(&a, &b, ms);
	EXPECT_LT(0, atomic_load(&progress->ops));
	munmap(progress, sizeof(*progress));
}

LT_TEST(killed_while_running)
{
	NEED_DEV();
	kill_children(_metadata, LT_RUN, 60000);
}

LT_TEST(killed_while_changing_regions)
{
	NEED_DEV();
	kill_children(_metadata, LT_REGIONS, 60000);
}

LT_TEST(killed_while_ballooning)
{
	NEED_DEV();
	kill_children(_metadata, LT_BALLOON, 100000);
}

/* Last: nothing holds the module; it unloads and loads again. */
LT_TEST(module_unloads_after_all)
{
	int r;

	NEED_DEV();
	if (access(khyp_module_path(), R_OK))
		SKIP(return, "%s is not readable: cannot load it again",
		     khyp_module_path());
	/*
	 * A VM's module reference is its file's: a VM the files let go of
	 * but something still holds does not pin the module, and rmmod
	 * would free the caches under it.  None may be left.
	 */
	EXPECT_EQ(0, kh_dir_count("/sys/kernel/debug/khyp", "vm"))
		TH_LOG("VMs still in debugfs");
	EXPECT_EQ(0, khyp_module_refcnt());
	r = khyp_module_unload();
	ASSERT_EQ(0, r) TH_LOG("rmmod khyp: %s (refcnt %ld)", strerror(-r),
			       khyp_module_refcnt());
	EXPECT_FALSE(khyp_module_loaded());
	r = khyp_module_load();
	ASSERT_EQ(0, r) TH_LOG("load again: %s", strerror(-r));
}

TEST_HARNESS_MAIN
