// SPDX-License-Identifier: GPL-2.0
/*
 * The pool of zeroed 2 MiB blocks (mmu/zeropool.c): while a VM is idle,
 * khyp zeroes up to zero_pool_mb of memory for its next first touches;
 * a first touch of an untouched 2 MiB range then takes a block from the
 * pool (debugfs vm<N>/mmu: pool_blocks falls, pool_hits rises) and the
 * guest reads zeros there; under memory pressure the shrinker frees the
 * pools first (pool_drained, khyp/shrinker's pool_freed), before it asks
 * any guest to balloon; the blocks are charged to the memory cgroup of
 * the VM's creator, whose memory.current falls by them when they go.
 * With zero_pool_mb=0 there is no pool.
 *
 * The waits for the pool to fill poll its counter (the thread runs when
 * the machine is idle): they bound how long the test waits, not how fast
 * khyp must be.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define MiB		(1UL << 20)
#define HUGE		(2 * MiB)
#define PAGE		4096UL
#define VM_MEM		(64 * MiB)
#define LO		(32 * MiB)
#define POOL_MB		8
#define POOL_BLOCKS	(POOL_MB * MiB / HUGE)
#define HI		(LO + POOL_BLOCKS * HUGE)
#define DEBUGFS		"/sys/kernel/debug"
#define PARAM		"/sys/module/khyp/parameters/zero_pool_mb"
#define HUGE_PARAM	"/sys/module/khyp/parameters/huge_pages"
#define SHRINKER_FILE	DEBUGFS "/khyp/shrinker"
#define CG_ROOT		"/sys/fs/cgroup"
#define CG_DIR		CG_ROOT "/khyp-zeropool-test"
#define FILL_WAIT_MS	60000
#define STOCK_KIB	(64 * PAGE / 1024)

FIXTURE(pool) {
	char saved[16];
};

FIXTURE_SETUP(pool)
{
	int fd = open(PARAM, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, self->saved,
				       sizeof(self->saved) - 1);

	if (fd >= 0)
		close(fd);
	self->saved[n > 0 ? n : 0] = 0;
}

FIXTURE_TEARDOWN(pool)
{
	if (self->saved[0])
		kh_write_file(PARAM, self->saved);
}

/* ---- guest ---- */

static volatile uint64_t g_lo, g_hi;

/* Fresh memory reads zero; then each page gets its address. */
static void guest_touch(void)
{
	uint64_t gpa, bad;

	for (;;) {
		bad = 0;
		for (gpa = g_lo; gpa < g_hi; gpa += PAGE) {
			bad += *(volatile uint64_t *)gpa != 0;
			bad += ((volatile uint64_t *)gpa)[PAGE / 8 - 1] != 0;
			*(volatile uint64_t *)gpa = gpa;
		}
		GUEST_SYNC(bad);
	}
}

/* ---- host ---- */

static long mmu_stat(int id, const char *key)
{
	char path[128];

	snprintf(path, sizeof(path), DEBUGFS "/khyp/vm%d/mmu", id);
	return khyp_file_count(path, key);
}

static bool huge_pages_on(void)
{
	char c = 0;
	int fd = open(HUGE_PARAM, O_RDONLY);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = 0;
		close(fd);
	}
	return c == 'Y';
}

/* The memory cgroup this test runs in, or NULL (as balloon_test). */
static const char *cg_enter(void)
{
	char pid[32];

	if (access(CG_ROOT "/cgroup.controllers", F_OK))
		mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL);
	kh_write_file(CG_ROOT "/cgroup.subtree_control", "+memory");
	mkdir(CG_DIR, 0755);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (kh_write_file(CG_DIR "/cgroup.procs", pid) ||
	    access(CG_DIR "/memory.current", R_OK))
		return NULL;
	return CG_DIR "/memory.current";
}

static long cg_kib(const char *path)
{
	long long v = -1;
	FILE *f = path ? fopen(path, "r") : NULL;

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v < 0 ? -1 : (long)(v / 1024);
}

struct pvm {
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	int id;
};

static uint64_t touch(struct pvm *p, uint64_t lo, uint64_t hi)
{
	struct kh_ucall uc;
	char msg[256] = "";

	kh_vm_global(p->vm, g_lo) = lo;
	kh_vm_global(p->vm, g_hi) = hi;
	if (kh_vcpu_run_ucall(p->vcpu, &uc, msg, sizeof(msg)) != KH_UCALL_SYNC) {
		fprintf(stderr, "# guest: %s\n", msg);
		return ~0ULL;
	}
	return uc.args[0];
}

/*
 * A VM of VM_MEM whose code, data and stack are mapped; NULL (a skip
 * reason in *why) where first touches are not 2 MiB ones.
 */
static int pvm_create(struct pvm *p, const char **why)
{
	if (access(DEBUGFS "/khyp", F_OK))
		mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	p->vm = kh_vm_create(VM_MEM);
	p->id = khyp_newest_vm();
	if (!(p->vm->features & KHYP_CAP_2M_PAGES) || !huge_pages_on()) {
		*why = "no 2 MiB first touches here (KHYP_CAP_2M_PAGES, huge_pages)";
		kh_vm_free(p->vm);
		return -1;
	}
	p->vcpu = kh_vcpu_add(p->vm, 0);
	kh_vcpu_setup_long_mode(p->vcpu, guest_touch);
	return touch(p, 0, 0) == 0 ? 0 : -2;
}

/* Wait (idle) until the pool holds @blocks; its count then. */
static long wait_pool(struct pvm *p, long blocks)
{
	long n = -1;
	int ms;

	for (ms = 0; ms < FILL_WAIT_MS; ms += 20) {
		n = mmu_stat(p->id, "pool_blocks");
		if (n < 0 || n >= blocks)
			break;
		usleep(20000);
	}
	return n;
}

/*
 * An idle VM's pool fills to zero_pool_mb; the guest's first touch of
 * that many 2 MiB ranges takes every block (a hit each, no miss), reads
 * zeros, and the host sees what the guest wrote.
 */
TEST_F_TIMEOUT(pool, idle_vm_first_touch_takes_zeroed_blocks, 300)
{
	long hits, misses, leaves;
	const char *why = "";
	struct pvm p;
	uint64_t gpa;
	int r;

	NEED_DEV();
	ASSERT_EQ(0, kh_write_file(PARAM, "8")) TH_LOG("no " PARAM);
	r = pvm_create(&p, &why);
	if (r == -1)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, r);
	ASSERT_EQ(POOL_BLOCKS, wait_pool(&p, POOL_BLOCKS))
		TH_LOG("the pool of an idle VM did not fill in %d s",
		       FILL_WAIT_MS / 1000);
	hits = mmu_stat(p.id, "pool_hits");
	misses = mmu_stat(p.id, "pool_misses");
	leaves = mmu_stat(p.id, "huge_leaves");

	EXPECT_EQ(0, touch(&p, LO, HI)) TH_LOG("a pool block was not zero");
	EXPECT_EQ(hits + POOL_BLOCKS, mmu_stat(p.id, "pool_hits"));
	EXPECT_EQ(misses, mmu_stat(p.id, "pool_misses"));
	EXPECT_EQ(leaves + POOL_BLOCKS, mmu_stat(p.id, "huge_leaves"));
	for (gpa = LO; gpa < HI; gpa += PAGE)
		if (*(uint64_t *)kh_gpa(p.vm, gpa) != gpa)
			break;
	EXPECT_EQ(HI, gpa) TH_LOG("the host does not see gpa %#lx", gpa);
	TH_LOG("pool: %ld filled, %ld hits, %ld misses",
	       mmu_stat(p.id, "pool_filled"), mmu_stat(p.id, "pool_hits"),
	       mmu_stat(p.id, "pool_misses"));
	kh_vm_free(p.vm);
}

/*
 * Reclaim (drop_caches calls the shrinker) frees the pool, and the
 * memory cgroup the VM was created in gets the charge back.
 */
TEST_F_TIMEOUT(pool, shrinker_drains_pool, 300)
{
	long before, after, freed, drained;
	const char *cg, *why = "";
	struct pvm p;
	int r;

	NEED_DEV();
	ASSERT_EQ(0, kh_write_file(PARAM, "8")) TH_LOG("no " PARAM);
	cg = cg_enter();
	ASSERT_NE(NULL, cg) TH_LOG("no memory cgroup to run in");
	r = pvm_create(&p, &why);
	if (r == -1)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, r);
	ASSERT_EQ(POOL_BLOCKS, wait_pool(&p, POOL_BLOCKS));
	/* No more fills: the charge below moves only by the drain. */
	ASSERT_EQ(0, kh_write_file(PARAM, "0"));
	drained = mmu_stat(p.id, "pool_drained");
	freed = khyp_file_count(SHRINKER_FILE, "pool_freed");
	ASSERT_LE(0, freed) TH_LOG("no pool_freed in " SHRINKER_FILE);
	before = cg_kib(cg);

	kh_drop_slab_caches();
	after = cg_kib(cg);
	EXPECT_EQ(0, mmu_stat(p.id, "pool_blocks"));
	EXPECT_EQ(drained + POOL_BLOCKS, mmu_stat(p.id, "pool_drained"));
	EXPECT_LE(freed + (long)(POOL_BLOCKS * HUGE / PAGE),
		  khyp_file_count(SHRINKER_FILE, "pool_freed"));
	/*
	 * The blocks were the cgroup's: its charge falls by them, but for
	 * what the per-CPU charge stock keeps of an uncharge (up to 64
	 * pages, MEMCG_CHARGE_BATCH; measured: 8140 of 8192 KiB).
	 */
	EXPECT_LE((long)(POOL_BLOCKS * HUGE / 1024 - STOCK_KIB), before - after)
		TH_LOG("memory.current %ld -> %ld KiB", before, after);
	kh_vm_free(p.vm);
}

/* zero_pool_mb=0: nothing is zeroed ahead, every 2 MiB touch misses. */
TEST_F_TIMEOUT(pool, disabled_pool_stays_empty, 120)
{
	const char *why = "";
	struct pvm p;
	int r;

	NEED_DEV();
	ASSERT_EQ(0, kh_write_file(PARAM, "0")) TH_LOG("no " PARAM);
	r = pvm_create(&p, &why);
	if (r == -1)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, r);
	usleep(200000);
	EXPECT_EQ(0, touch(&p, LO, HI));
	EXPECT_EQ(0, mmu_stat(p.id, "pool_filled"));
	EXPECT_EQ(0, mmu_stat(p.id, "pool_hits"));
	EXPECT_LE(POOL_BLOCKS, mmu_stat(p.id, "pool_misses"));
	kh_vm_free(p.vm);
}

TEST_HARNESS_MAIN
