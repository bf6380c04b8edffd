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
#define SHRINKER_FILE	DEBUGFS "/khyp/shrinker"
#define CG_DIR		KH_CG_ROOT "/khyp-zeropool-test"
#define FILL_WAIT_MS	60000
#define STOCK_KIB	(64 * PAGE / 1024)

FIXTURE(pool) {
	char saved[16];
};

FIXTURE_SETUP(pool)
{
	kh_read_file(PARAM, self->saved, sizeof(self->saved));
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
	return khyp_vm_stat(id, "mmu", key);
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
	khyp_debugfs();
	p->vm = kh_vm_create(VM_MEM);
	p->id = khyp_newest_vm();
	if (!(p->vm->features & KHYP_CAP_2M_PAGES) || kh_huge_pages() != 1) {
		*why = "no 2 MiB first touches here (KHYP_CAP_2M_PAGES, huge_pages)";
		kh_vm_free(p->vm);
		return -1;
	}
	p->vcpu = kh_vcpu_add(p->vm, 0);
	kh_vcpu_setup_long_mode(p->vcpu, guest_touch);
	return touch(p, 0, 0) == 0 ? 0 : -2;
}

/* zero_pool_mb=@mb, then a pvm_create() that skips where it says so. */
#define POOL_VM(p, mb)							\
	do {								\
		const char *__why = "";					\
		int __r;						\
									\
		ASSERT_EQ(0, kh_write_file(PARAM, mb)) TH_LOG("no " PARAM); \
		__r = pvm_create(p, &__why);				\
		if (__r == -1)						\
			SKIP(return, "%s", __why);			\
		ASSERT_EQ(0, __r);					\
	} while (0)

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
	struct pvm p;
	uint64_t gpa;

	NEED_DEV();
	POOL_VM(&p, "8");
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
	struct pvm p;

	NEED_DEV();
	ASSERT_TRUE(kh_cg_enter(CG_DIR)) TH_LOG("no memory cgroup to run in");
	POOL_VM(&p, "8");
	ASSERT_EQ(POOL_BLOCKS, wait_pool(&p, POOL_BLOCKS));
	/* No more fills: the charge below moves only by the drain. */
	ASSERT_EQ(0, kh_write_file(PARAM, "0"));
	drained = mmu_stat(p.id, "pool_drained");
	freed = khyp_file_count(SHRINKER_FILE, "pool_freed");
	ASSERT_LE(0, freed) TH_LOG("no pool_freed in " SHRINKER_FILE);
	before = kh_cg_kib(CG_DIR, "memory.current");

	kh_drop_slab_caches();
	after = kh_cg_kib(CG_DIR, "memory.current");
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
	struct pvm p;

	NEED_DEV();
	POOL_VM(&p, "0");
	usleep(200000);
	EXPECT_EQ(0, touch(&p, LO, HI));
	EXPECT_EQ(0, mmu_stat(p.id, "pool_filled"));
	EXPECT_EQ(0, mmu_stat(p.id, "pool_hits"));
	EXPECT_LE(POOL_BLOCKS, mmu_stat(p.id, "pool_misses"));
	kh_vm_free(p.vm);
}

TEST_HARNESS_MAIN
