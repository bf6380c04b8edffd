// SPDX-License-Identifier: GPL-2.0
/*
 * 2 MiB second-level mappings: a guest's first touch of untouched memory
 * is mapped 2 MiB at a time where the CPU can (KHYP_CAP_2M_PAGES) and the
 * huge_pages module parameter is on, counted in debugfs vm<N>/mmu; the
 * pages stay single pages for userspace (mmap) and for the balloon, which
 * splits a 2 MiB mapping to take one page; memory comes back when a
 * region or the VM goes.  Without the capability or with the parameter
 * off, everything is the same but with no 2 MiB mapping.
 *
 * The guest runs commands the host puts in its globals: touch a range
 * (check that it reads zero, write a pattern), check what the host wrote,
 * or give pages to the balloon and take them back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/khyp_balloon.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define MiB		(1UL << 20)
#define HUGE		(2 * MiB)
#define PAGE		4096UL
#define VM_MEM		(128 * MiB)
#define LO		(32 * MiB)
#define HI		(96 * MiB)	/* guests touch [LO, HI): 32 2 MiB ranges */
#define EXTRA_GPA	0x40000000UL	/* 1 GiB: slot 1, where a test wants */

/*
 * The fixture turns the pools of zeroed blocks off (mmu/zeropool.c):
 * memory_returns counts the host's free memory, which a pool filling
 * meanwhile would take (zeropool_test has the pools).
 */
KH_POOL_OFF_FIXTURE(slow)

#define SLOW_TEST(name)	TEST_F_TIMEOUT(slow, name, 300)

/* ---- guest ---- */

enum {
	CMD_NOP, CMD_TOUCH, CMD_CHECK_HOST, CMD_READ, CMD_BALLOON,
	CMD_BALLOON_UNTOUCHED, CMD_EXEC, CMD_STOP
};

static volatile uint64_t g_cmd, g_lo, g_hi;
static volatile uint64_t g_list[KHYP_BALLOON_BATCH_MAX]
	__attribute__((aligned(4096)));

static inline uint64_t pattern(uint64_t gpa)
{
	return gpa * 0x9e3779b97f4a7c15ULL;
}

/*
 * The balloon test's pages, by number: 0-15 one page in each of the 2 MiB
 * ranges 0-15 of [LO, HI), at different offsets; 16-271 the odd pages of
 * range 16; 272-783 the whole of range 17.
 */
#define NR_SINGLE	16
#define NR_ODD		256
#define NR_WHOLE	512
#define NR_BALLOON	(NR_SINGLE + NR_ODD + NR_WHOLE)

static inline uint64_t balloon_gpa(uint64_t i)
{
	if (i < NR_SINGLE)
		return LO + i * HUGE + ((i * 37 + 5) % 512) * PAGE;
	i -= NR_SINGLE;
	if (i < NR_ODD)
		return LO + 16 * HUGE + (2 * i + 1) * PAGE;
	return LO + 17 * HUGE + (i - NR_ODD) * PAGE;
}

/* Whether the page is among the first @n of balloon_gpa(). */
static inline bool in_balloon(uint64_t gpa, uint64_t n)
{
	uint64_t r = (gpa - LO) / HUGE, off = (gpa - LO) % HUGE / PAGE;

	if (gpa < LO || gpa >= HI)
		return false;
	if (r < 16)
		return r < n && off == (r * 37 + 5) % 512;
	if (r == 16)
		return (off & 1) && NR_SINGLE + off / 2 < n;
	if (r == 17)
		return NR_SINGLE + NR_ODD + off < n;
	return false;
}

static inline uint64_t hc(uint64_t nr, uint64_t a0, uint64_t a1)
{
	return kh_guest_hypercall(nr, a0, a1, 0, 0, 0);
}

/* Fresh memory reads zero; then word 0 and the last word get patterns. */
static uint64_t guest_touch_range(void)
{
	uint64_t gpa, bad = 0;
	volatile uint64_t *p;

	for (gpa = g_lo; gpa < g_hi; gpa += PAGE) {
		p = (volatile uint64_t *)gpa;
		bad += p[0] != 0 || p[PAGE / 8 - 1] != 0;
		p[0] = pattern(gpa);
		p[PAGE / 8 - 1] = ~gpa;
	}
	return bad;
}

/* The host wrote ~pattern into word 1 of each page. */
static uint64_t guest_check_host(void)
{
	uint64_t gpa, bad = 0;

	for (gpa = g_lo; gpa < g_hi; gpa += PAGE)
		bad += ((volatile uint64_t *)gpa)[1] != ~pattern(gpa);
	return bad;
}

static uint64_t guest_read_range(void)
{
	uint64_t gpa, sum = 0;

	for (gpa = g_lo; gpa < g_hi; gpa += PAGE)
		sum += *(volatile uint64_t *)gpa;
	return sum;
}

/* Pages of [LO, HI) not in the balloon hold their pattern. */
static void guest_check_live(uint64_t n)
{
	uint64_t gpa;

	for (gpa = LO; gpa < HI; gpa += PAGE)
		if (!in_balloon(gpa, n))
			GUEST_ASSERT_EQ(pattern(gpa), *(volatile uint64_t *)gpa);
}

/* Balloon pages [a, b) of balloon_gpa() in one call. */
static void guest_balloon_batch(uint64_t nr, uint64_t a, uint64_t b)
{
	uint64_t i;

	for (i = a; i < b; i++)
		g_list[i - a] = balloon_gpa(i);
	GUEST_ASSERT_EQ(b - a, hc(nr, (uint64_t)g_list, b - a));
	for (i = a; i < b; i++)
		GUEST_ASSERT_EQ(balloon_gpa(i) | KHYP_BALLOON_S_OK, g_list[i - a]);
}

/*
 * [LO, HI) was touched.  Single pages, then half a range, then a whole
 * range go to the balloon, the rest of the memory keeps its data; then
 * everything comes back, reading zero.
 */
static void guest_balloon(void)
{
	uint64_t i, gpa;

	GUEST_ASSERT_EQ(1, hc(KHYP_HC_BALLOON_PROBE, 1, 0));
	guest_balloon_batch(KHYP_HC_BALLOON_INFLATE, 0, NR_SINGLE);
	guest_balloon_batch(KHYP_HC_BALLOON_INFLATE, NR_SINGLE,
			    NR_SINGLE + NR_ODD);
	guest_check_live(NR_SINGLE + NR_ODD);
	GUEST_SYNC(1);		/* the host checks and writes ranges 0 and 16 */

	for (gpa = LO; gpa < LO + HUGE; gpa += PAGE)
		if (!in_balloon(gpa, NR_BALLOON))
			GUEST_ASSERT_EQ(~pattern(gpa), ((volatile uint64_t *)gpa)[1]);
	for (gpa = LO + 16 * HUGE; gpa < LO + 17 * HUGE; gpa += PAGE)
		if (!in_balloon(gpa, NR_BALLOON)) {
			GUEST_ASSERT_EQ(~pattern(gpa), ((volatile uint64_t *)gpa)[1]);
			((volatile uint64_t *)gpa)[2] = gpa + 7;
		}
	GUEST_SYNC(2);		/* the host checks word 2 */

	guest_balloon_batch(KHYP_HC_BALLOON_INFLATE, NR_SINGLE + NR_ODD,
			    NR_BALLOON);
	guest_check_live(NR_BALLOON);
	GUEST_SYNC(3);

	for (i = 0; i < NR_BALLOON; i += KHYP_BALLOON_BATCH_MAX)
		guest_balloon_batch(KHYP_HC_BALLOON_DEFLATE, i,
				    i + KHYP_BALLOON_BATCH_MAX < NR_BALLOON ?
				    i + KHYP_BALLOON_BATCH_MAX : NR_BALLOON);
	for (i = 0; i < NR_BALLOON; i++) {
		gpa = balloon_gpa(i);
		GUEST_ASSERT_EQ(0, *(volatile uint64_t *)gpa);
		*(volatile uint64_t *)gpa = pattern(gpa);
	}
	guest_check_live(0);
	GUEST_SYNC(4);
}

/* Untouched frames go to the balloon; then a neighbour is touched. */
#define UNTOUCHED	(100 * MiB)

static void guest_balloon_untouched(void)
{
	uint64_t i;

	GUEST_ASSERT_EQ(1, hc(KHYP_HC_BALLOON_PROBE, 1, 0));
	for (i = 0; i < 8; i++)
		g_list[i] = UNTOUCHED + i * PAGE;
	GUEST_ASSERT_EQ(8, hc(KHYP_HC_BALLOON_INFLATE, (uint64_t)g_list, 8));
	GUEST_SYNC(1);
	*(volatile uint64_t *)(UNTOUCHED + 100 * PAGE) = 1;
	GUEST_SYNC(2);
}

/* Write "mov $EXEC_MAGIC, %eax; ret" at g_lo and call it. */
#define EXEC_MAGIC	0x600dc0deU

static uint64_t guest_exec(void)
{
	volatile uint8_t *code = (volatile uint8_t *)g_lo;

	code[0] = 0xb8;
	code[1] = EXEC_MAGIC & 0xff;
	code[2] = (EXEC_MAGIC >> 8) & 0xff;
	code[3] = (EXEC_MAGIC >> 16) & 0xff;
	code[4] = EXEC_MAGIC >> 24;
	code[5] = 0xc3;
	return ((uint64_t (*)(void))g_lo)();
}

static void guest_main(void)
{
	uint64_t r;

	for (;;) {
		switch (g_cmd) {
		case CMD_TOUCH:
			r = guest_touch_range();
			break;
		case CMD_CHECK_HOST:
			r = guest_check_host();
			break;
		case CMD_READ:
			r = guest_read_range();
			break;
		case CMD_BALLOON:
			guest_balloon();
			r = 0;
			break;
		case CMD_BALLOON_UNTOUCHED:
			guest_balloon_untouched();
			r = 0;
			break;
		case CMD_EXEC:
			r = guest_exec();
			break;
		case CMD_STOP:
			GUEST_DONE();
		default:	/* CMD_NOP */
			g_list[0] = 0;
			r = 0;
			break;
		}
		GUEST_SYNC(r);
	}
}

/* ---- host ---- */

/* A line "@key N" of vm<id>/mmu, or -1. */
static long mmu_stat(int id, const char *key)
{
	return khyp_vm_stat(id, "mmu", key);
}

struct hvm {
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	int id;
	bool huge;		/* 2 MiB mappings expected */
};

/* Run one guest command; its result, or ~0 (and a message) on failure. */
static uint64_t guest_cmd(struct hvm *h, uint64_t cmd, uint64_t lo,
			  uint64_t hi, char *msg, size_t len)
{
	struct kh_ucall uc;

	kh_vm_global(h->vm, g_cmd) = cmd;
	kh_vm_global(h->vm, g_lo) = lo;
	kh_vm_global(h->vm, g_hi) = hi;
	if (kh_vcpu_run_ucall(h->vcpu, &uc, msg, len) != KH_UCALL_SYNC)
		return ~0ULL;
	return uc.args[0];
}

#define CMD(h, cmd, lo, hi, expect)					\
	do {								\
		char __m[512] = "";					\
		uint64_t __r = guest_cmd(h, cmd, lo, hi, __m, sizeof(__m)); \
		ASSERT_EQ((uint64_t)(expect), __r) TH_LOG("%s", __m);	\
	} while (0)

static void hvm_create(struct __test_metadata *_metadata, struct hvm *h,
		       size_t mem)
{
	int param = kh_huge_pages();
	char val[16];

	ASSERT_LE(0, param) TH_LOG(KH_HUGE_PAGES_PARAM " is missing");
	ASSERT_TRUE(khyp_debugfs()) TH_LOG("no debugfs");
	h->vm = kh_vm_create(mem);
	h->id = khyp_newest_vm();
	ASSERT_LT(0, h->id);
	h->huge = param && (h->vm->features & KHYP_CAP_2M_PAGES);
	/* What the machine is expected to offer (KHYP_EXPECT 2m=), if said. */
	if (machine_expect("2m", val, sizeof(val)))
		ASSERT_EQ(atoi(val), !!(h->vm->features & KHYP_CAP_2M_PAGES))
			TH_LOG("2 MiB pages: expected 2m=%s for this machine", val);
	h->vcpu = kh_vcpu_add(h->vm, 0);
	kh_vcpu_setup_long_mode(h->vcpu, guest_main);
	/* code, data and stack faulted in first */
	CMD(h, CMD_NOP, 0, 0, 0);
}

static void hvm_free(struct hvm *h)
{
	char msg[256];

	guest_cmd(h, CMD_STOP, 0, 0, msg, sizeof(msg));
	kh_vm_free(h->vm);
}

/* The host writes ~pattern into word 1 of every page of [lo, hi). */
static void host_write(struct hvm *h, uint64_t lo, uint64_t hi)
{
	uint64_t gpa;

	for (gpa = lo; gpa < hi; gpa += PAGE)
		((uint64_t *)kh_gpa(h->vm, gpa))[1] = ~pattern(gpa);
}

/* Pages of [lo, hi) whose words 0 and last differ from what the guest wrote. */
static size_t host_check(struct hvm *h, uint64_t lo, uint64_t hi)
{
	uint64_t gpa, *p;
	size_t bad = 0;

	for (gpa = lo; gpa < hi; gpa += PAGE) {
		p = kh_gpa(h->vm, gpa);
		bad += p[0] != pattern(gpa) || p[PAGE / 8 - 1] != ~gpa;
	}
	return bad;
}

/*
 * The guest touches 64 MiB: with the parameter on it gets 2 MiB mappings
 * (where the CPU has them), with it off none; the data is the same both
 * ways and both sides see each other's writes.  The time of the touch is
 * logged (a comparison, not a test).
 */
SLOW_TEST(guest_touch_maps_2m)
{
	int saved = kh_huge_pages(), on;
	double t[2];
	struct hvm h;

	NEED_DEV();
	ASSERT_LE(0, saved) TH_LOG(KH_HUGE_PAGES_PARAM " is missing");
	for (on = 1; on >= 0; on--) {
		ASSERT_EQ(0, kh_huge_pages_set(on));
		hvm_create(_metadata, &h, VM_MEM);
		t[on] = now_s();
		CMD(&h, CMD_TOUCH, LO, HI, 0);
		t[on] = now_s() - t[on];
		if (h.huge) {
			EXPECT_LE((HI - LO) / HUGE, mmu_stat(h.id, "huge_leaves"));
		} else {
			EXPECT_EQ(0, mmu_stat(h.id, "huge_mapped"));
		}
		EXPECT_EQ(0, mmu_stat(h.id, "huge_split"));
		EXPECT_EQ(0, host_check(&h, LO, HI));
		host_write(&h, LO, HI);
		CMD(&h, CMD_CHECK_HOST, LO, HI, 0);
		TH_LOG("huge_pages=%d: the guest touched %lu MiB in %.3f s; %ld 2 MiB mappings, %ld pages",
		       on, (HI - LO) / MiB, t[on], mmu_stat(h.id, "huge_leaves"),
		       mmu_stat(h.id, "pages"));
		hvm_free(&h);
	}
	kh_huge_pages_set(saved);
}

/*
 * Only a range that no one touched is allocated and mapped 2 MiB: one the
 * host touched first through mmap stays 4 KiB, and so do the parts of a
 * slot that do not cover a whole aligned 2 MiB.  Slot 1 is
 * [1 GiB + 1 MiB, 1 GiB + 7 MiB): two whole 2 MiB ranges, and the host
 * writes into the second.
 */
TEST(only_untouched_aligned_ranges)
{
	uint64_t lo = EXTRA_GPA + MiB, hi = EXTRA_GPA + 7 * MiB;
	uint64_t host_gpa = EXTRA_GPA + 4 * MiB + 2 * PAGE, *p;
	long before;
	struct hvm h;

	NEED_DEV();
	hvm_create(_metadata, &h, 0);
	kh_vm_add_region(h.vm, 1, lo, hi - lo, 0);
	p = kh_gpa(h.vm, host_gpa);
	p[0] = 0;	/* a write of zero: the page exists, reads zero */
	before = mmu_stat(h.id, "huge_mapped");
	CMD(&h, CMD_TOUCH, lo, hi, 0);
	EXPECT_EQ(before + (h.huge ? 1 : 0), mmu_stat(h.id, "huge_mapped"));
	EXPECT_EQ(0, host_check(&h, lo, hi));
	EXPECT_EQ(pattern(host_gpa), p[0]);
	hvm_free(&h);
}

/*
 * A read-only slot is mapped 2 MiB too, read-only: guest writes exit as
 * MMIO; a host write through mmap is seen by the guest.
 */
static void guest_readonly(void)
{
	volatile uint64_t *p = (volatile uint64_t *)(EXTRA_GPA + 8);

	GUEST_SYNC(p[0] + p[HUGE / 8] + p[HUGE / 4 - 2]);
	p[0] = 0x1234;		/* MMIO */
	GUEST_SYNC(p[1]);
	GUEST_DONE();
}

TEST(readonly_slot)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	uint64_t *p;
	long before;
	int id;

	NEED_DEV();
	ASSERT_TRUE(khyp_debugfs());
	vm = kh_vm_create(0);
	id = khyp_newest_vm();
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_readonly);
	p = kh_vm_add_region(vm, 1, EXTRA_GPA, 2 * HUGE, KHYP_MEM_READONLY);
	before = mmu_stat(id, "huge_mapped");
	ASSERT_SYNC(vcpu, 0);
	if ((vm->features & KHYP_CAP_2M_PAGES) && kh_huge_pages() == 1)
		EXPECT_LE(before + 2, mmu_stat(id, "huge_mapped"));
	ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);
	EXPECT_EQ(EXTRA_GPA + 8, vcpu->run->mmio.phys_addr);
	EXPECT_EQ(1, vcpu->run->mmio.is_write);
	EXPECT_EQ(0x1234, vcpu->run->mmio.data);
	EXPECT_EQ(0, p[1]);	/* the write did not reach memory */
	p[2] = 0x5678;
	ASSERT_SYNC(vcpu, 0x5678);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * The second-level tree has as many levels as the hardware walks: 4 for
 * EPT (khyp sets the EPT pointer's walk length), and for NPT the host's
 * own paging depth, 5 under 5-level paging (la57 in /proc/cpuinfo; a
 * machine run with "la57=1" in KHYP_EXPECT must have it).  A 4-level NPT
 * tree under a 5-level walk has its leaves read as tables: the guest then
 * cannot even start.  Here it touches memory low and at 64 GiB (other
 * level-3 and level-2 indexes; below every CPU's physical address width),
 * 2 MiB and 4 KiB mapped, and the host sees the data.
 */
#define TOP_GPA		(0x1000000000UL - 2 * HUGE)	/* 64 GiB - 4 MiB */
#define TOP_PD		(KH_GPA_SCRATCH + 0x10000)	/* its page directory */

TEST(tree_depth_follows_host_paging)
{
	bool la57 = cpuinfo_has("la57");
	const char *want;
	uint64_t *pdpt, *pd;
	char buf[8];
	struct hvm h;
	int i;

	NEED_DEV();
	want = machine_expect("la57", buf, sizeof(buf));
	if (want)
		ASSERT_EQ(atoi(want), la57)
			TH_LOG("this machine should run with%s 5-level paging: la57 is %s /proc/cpuinfo",
			       atoi(want) ? "" : "out", la57 ? "in" : "not in");
	hvm_create(_metadata, &h, VM_MEM);
	EXPECT_EQ(h.vm->backend == KHYP_BACKEND_SVM && la57 ? 5 : 4,
		  mmu_stat(h.id, "levels"));

	/* guest-virtual == guest-physical for the top range: PDPT[511] */
	kh_vm_add_region(h.vm, 1, TOP_GPA, 2 * HUGE, 0);
	pdpt = kh_gpa(h.vm, KH_GPA_PML4 + PAGE);
	pd = kh_gpa(h.vm, TOP_PD);
	for (i = 0; i < 2; i++)
		pd[510 + i] = (TOP_GPA + i * HUGE) | 0x87;	/* P RW U PS */
	pdpt[(TOP_GPA >> 30) & 511] = TOP_PD | 0x7;
	/* one page from the host first: that range stays 4 KiB */
	((uint64_t *)kh_gpa(h.vm, TOP_GPA + HUGE))[0] = 0;
	CMD(&h, CMD_TOUCH, LO, HI, 0);
	CMD(&h, CMD_TOUCH, TOP_GPA, TOP_GPA + 2 * HUGE, 0);
	EXPECT_EQ(0, host_check(&h, LO, HI));
	EXPECT_EQ(0, host_check(&h, TOP_GPA, TOP_GPA + 2 * HUGE));
	host_write(&h, TOP_GPA, TOP_GPA + 2 * HUGE);
	CMD(&h, CMD_CHECK_HOST, TOP_GPA, TOP_GPA + 2 * HUGE, 0);
	TH_LOG("la57 %s, %ld levels, %ld table pages, %ld 2 MiB mappings",
	       la57 ? "on" : "off", mmu_stat(h.id, "levels"),
	       mmu_stat(h.id, "tables"), mmu_stat(h.id, "huge_leaves"));
	hvm_free(&h);
}

static uint64_t ram_pages(struct __test_metadata *_metadata, struct kh_vm *vm)
{
	struct khyp_balloon_stats st;

	EXPECT_EQ(0, ioctl(vm->fd, KHYP_GET_BALLOON, &st));
	return st.ram_pages;
}

/* Run the balloon command up to its GUEST_SYNC(@step). */
#define BALLOON_STEP(h, step)						\
	do {								\
		struct kh_ucall __uc;					\
		char __m[512];						\
		ASSERT_EQ(KH_UCALL_SYNC, kh_vcpu_run_ucall((h)->vcpu, &__uc, \
							   __m, sizeof(__m))) \
			TH_LOG("%s", __m);				\
		ASSERT_EQ(step, __uc.args[0]);				\
	} while (0)

/*
 * The balloon takes single pages out of 2 MiB mappings: each such mapping
 * is split, the other pages keep their data and stay shared with the
 * host; a range given back whole is mapped 2 MiB again when the guest
 * touches it next.
 */
SLOW_TEST(balloon_splits_2m)
{
	long leaves, mapped, split, tables;
	uint64_t gpa, pages, *p;
	size_t bad = 0;
	struct hvm h;

	NEED_DEV();
	hvm_create(_metadata, &h, VM_MEM);
	CMD(&h, CMD_TOUCH, LO, HI, 0);
	leaves = mmu_stat(h.id, "huge_leaves");
	mapped = mmu_stat(h.id, "huge_mapped");
	tables = mmu_stat(h.id, "tables");
	if (h.huge)
		ASSERT_LE((HI - LO) / HUGE, leaves);
	pages = ram_pages(_metadata, h.vm);
	ASSERT_SET_BALLOON(h.vm, 2 * NR_BALLOON);

	/* 16 single pages and the odd half of one range: 17 splits */
	kh_vm_global(h.vm, g_cmd) = CMD_BALLOON;
	BALLOON_STEP(&h, 1);
	EXPECT_EQ(pages - NR_SINGLE - NR_ODD, ram_pages(_metadata, h.vm));
	if (h.huge) {
		EXPECT_EQ(17, mmu_stat(h.id, "huge_split"));
		EXPECT_EQ(leaves - 17, mmu_stat(h.id, "huge_leaves"));
		EXPECT_LE(tables + 17, mmu_stat(h.id, "tables"));
	}
	EXPECT_EQ(0, mmu_stat(h.id, "huge_dropped"));
	/* the host sees the guest's data around the holes, and writes */
	for (gpa = LO; gpa < HI; gpa += PAGE) {
		if (in_balloon(gpa, NR_SINGLE + NR_ODD))
			continue;
		p = kh_gpa(h.vm, gpa);
		bad += p[0] != pattern(gpa);
		if (gpa < LO + HUGE ||
		    (gpa >= LO + 16 * HUGE && gpa < LO + 17 * HUGE))
			p[1] = ~pattern(gpa);
	}
	EXPECT_EQ(0, bad);
	BALLOON_STEP(&h, 2);
	bad = 0;
	for (gpa = LO + 16 * HUGE; gpa < LO + 17 * HUGE; gpa += 2 * PAGE)
		bad += ((uint64_t *)kh_gpa(h.vm, gpa))[2] != gpa + 7;
	EXPECT_EQ(0, bad);

	/* a whole range: its table goes, no new split */
	split = mmu_stat(h.id, "huge_split");
	BALLOON_STEP(&h, 3);
	EXPECT_EQ(pages - NR_BALLOON, ram_pages(_metadata, h.vm));
	if (h.huge) {
		EXPECT_EQ(split + 1, mmu_stat(h.id, "huge_split"));
		EXPECT_EQ(leaves - 18, mmu_stat(h.id, "huge_leaves"));
	}

	/* all back: range 17 is mapped 2 MiB again, the others 4 KiB */
	BALLOON_STEP(&h, 4);
	CMD(&h, CMD_NOP, 0, 0, 0);	/* the command's own SYNC(0) */
	EXPECT_EQ(pages, ram_pages(_metadata, h.vm));
	if (h.huge) {
		EXPECT_EQ(mapped + 1, mmu_stat(h.id, "huge_mapped"));
		EXPECT_EQ(leaves - 17, mmu_stat(h.id, "huge_leaves"));
	}
	EXPECT_EQ(0, mmu_stat(h.id, "huge_dropped"));
	TH_LOG("after the balloon: %ld 2 MiB mappings, %ld split, %ld table pages",
	       mmu_stat(h.id, "huge_leaves"), mmu_stat(h.id, "huge_split"),
	       mmu_stat(h.id, "tables"));
	hvm_free(&h);
}

/*
 * A range with frames in the balloon is not allocated 2 MiB at once: that
 * would give the guest back the memory it gave the host.
 */
TEST(ballooned_frames_keep_range_4k)
{
	long mapped;
	uint64_t pages;
	struct hvm h;

	NEED_DEV();
	hvm_create(_metadata, &h, VM_MEM);
	ASSERT_SET_BALLOON(h.vm, 16);
	kh_vm_global(h.vm, g_cmd) = CMD_BALLOON_UNTOUCHED;
	BALLOON_STEP(&h, 1);
	mapped = mmu_stat(h.id, "huge_mapped");
	pages = ram_pages(_metadata, h.vm);
	BALLOON_STEP(&h, 2);
	EXPECT_EQ(mapped, mmu_stat(h.id, "huge_mapped"));
	EXPECT_EQ(pages + 1, ram_pages(_metadata, h.vm));
	CMD(&h, CMD_NOP, 0, 0, 0);
	hvm_free(&h);
}

/* Wait up to 5 s for host free memory to rise @kib above @base. */
static long freed_kib(long base, long kib)
{
	long d = 0;
	int i;

	for (i = 0; i < 50; i++) {
		d = host_free_kib() - base;
		if (d >= kib)
			break;
		usleep(100000);
	}
	return d;
}

/*
 * Memory mapped 2 MiB goes back to the host when its region is deleted
 * and when the VM goes; a region added again in the same place is mapped
 * 2 MiB again and reads zero.
 */
SLOW_TEST(memory_returns)
{
	uint64_t lo = EXTRA_GPA, hi = EXTRA_GPA + 64 * MiB;
	long before, touched, d, leaves;
	struct hvm h;

	NEED_DEV();
	hvm_create(_metadata, &h, 0);
	kh_vm_add_region(h.vm, 1, lo, hi - lo, 0);
	leaves = mmu_stat(h.id, "huge_leaves");
	before = host_free_kib();
	CMD(&h, CMD_TOUCH, lo, hi, 0);
	touched = host_free_kib();
	EXPECT_LE(60 * 1024, before - touched)
		TH_LOG("64 MiB touched, free memory fell by %ld KiB only",
		       before - touched);
	EXPECT_LE(64 * MiB / PAGE, mmu_stat(h.id, "pages"));
	EXPECT_EQ(leaves + (h.huge ? 32 : 0), mmu_stat(h.id, "huge_leaves"));
	kh_vm_del_region(h.vm, 1);
	d = freed_kib(touched, 60 * 1024);
	EXPECT_LE(60 * 1024, d)
		TH_LOG("region deleted: free memory rose by %ld KiB only", d);
	EXPECT_EQ(leaves, mmu_stat(h.id, "huge_leaves"));

	kh_vm_add_region(h.vm, 1, lo, hi - lo, 0);
	CMD(&h, CMD_TOUCH, lo, hi, 0);	/* reads zero again */
	EXPECT_EQ(leaves + (h.huge ? 32 : 0), mmu_stat(h.id, "huge_leaves"));
	touched = host_free_kib();
	hvm_free(&h);
	d = freed_kib(touched, 60 * 1024);
	EXPECT_LE(60 * 1024, d)
		TH_LOG("VM closed: free memory rose by %ld KiB only", d);
}

/*
 * iTLB multihit (CVE-2018-12207): on an Intel CPU the host kernel marks
 * affected, an executable 2 MiB EPT leaf lets a guest cause a machine
 * check.  There khyp maps 2 MiB without execute permission and splits a
 * range into executable 4 KiB mappings when the guest runs code in it;
 * data elsewhere keeps its 2 MiB mappings.  Elsewhere code runs in the
 * 2 MiB mapping as it is.  Every machine of the test runner says whether
 * it expects 2 MiB pages (KHYP_EXPECT 2m=) and whether its CPU has the
 * erratum (itlb_multihit=).
 */
#define ITLB_MULTIHIT	"/sys/devices/system/cpu/vulnerabilities/itlb_multihit"

TEST(itlb_multihit_code_splits_2m)
{
	char state[128] = "", val[16];
	bool affected, split;
	long leaves;
	struct hvm h;
	FILE *f;

	NEED_DEV();
	f = fopen(ITLB_MULTIHIT, "r");
	ASSERT_NE(NULL, f) TH_LOG("no " ITLB_MULTIHIT);
	ASSERT_NE(NULL, fgets(state, sizeof(state), f));
	fclose(f);
	state[strcspn(state, "\n")] = 0;
	affected = strncmp(state, "Not affected", 12) != 0;
	if (getenv("KHYP_EXPECT")) {
		ASSERT_NE(NULL, machine_expect("itlb_multihit", val, sizeof(val)))
			TH_LOG("the machine does not say itlb_multihit=");
		ASSERT_EQ(atoi(val), affected)
			TH_LOG("itlb_multihit: \"%s\", the machine expects %s", state, val);
	}
	hvm_create(_metadata, &h, VM_MEM);
	TH_LOG("itlb_multihit: \"%s\"; backend %s; 2 MiB pages %s",
	       state, h.vm->backend == KHYP_BACKEND_VMX ? "vmx" : "svm",
	       h.huge ? "in use" : "not in use");
	split = h.huge && affected && h.vm->backend == KHYP_BACKEND_VMX;

	CMD(&h, CMD_TOUCH, LO, LO + 4 * HUGE, 0);
	leaves = mmu_stat(h.id, "huge_leaves");
	EXPECT_EQ(h.huge ? 4 : 0, leaves);
	EXPECT_EQ(0, mmu_stat(h.id, "huge_exec_split"));
	/* Code in the second range: the guest gets its value back. */
	CMD(&h, CMD_EXEC, LO + HUGE + 0x100, 0, EXEC_MAGIC);
	EXPECT_EQ(split ? 1 : 0, mmu_stat(h.id, "huge_exec_split"))
		TH_LOG("the guest ran code in a 2 MiB mapping on a CPU with%s the erratum",
		       affected ? "" : "out");
	EXPECT_EQ(leaves - (split ? 1 : 0), mmu_stat(h.id, "huge_leaves"));
	/* Once split, it stays split; and data there reads as before. */
	CMD(&h, CMD_EXEC, LO + HUGE + 0x200, 0, EXEC_MAGIC);
	EXPECT_EQ(split ? 1 : 0, mmu_stat(h.id, "huge_exec_split"));
	EXPECT_EQ(0, host_check(&h, LO, LO + 4 * HUGE));
	hvm_free(&h);
}

TEST_HARNESS_MAIN
