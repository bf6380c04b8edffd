// SPDX-License-Identifier: GPL-2.0
/*
 * Two vCPUs first-touch guest memory at the same time (issue 13): the
 * fault path allocates and zeroes a page with no VM-wide lock held, then
 * installs it only if no other fault installed one for that frame
 * meanwhile (mmu/memory.c).  Whatever the interleaving, every frame must
 * end with exactly one page, which both vCPUs and the VMM's mapping see,
 * holding what each vCPU wrote; and the VM's count of allocated pages
 * must be the number of frames touched, no more (a page installed twice
 * would be counted twice, or leak).
 *
 * Each test runs rounds: slot 1 is declared, two threads run one vCPU
 * each, and both guests touch their range page by page (the same range,
 * or one each), writing a word of their own in each page after checking
 * it reads zero.  Then the count is checked, each guest checks the
 * other's words (the same range: its mapping leads to the same page),
 * the host checks every page through its mmap, and the slot is deleted,
 * which must give every page back.  With the huge_pages parameter off
 * each 4 KiB frame is a chance to race; with it on (where the CPU has
 * 2 MiB second-level pages) each 2 MiB range is, with a whole block
 * allocated by each side.
 *
 * It runs in svm-qemu-smp2 (two host CPUs) and in the one-CPU machines,
 * where the two vCPU threads interleave only when one is preempted.  No
 * timing is judged: bench/ measures how much faster it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define MiB		(1UL << 20)
#define PAGE		4096UL
#define SLOT		1
#define REGION_GPA	0x10000000UL	/* 256 MiB: above slot 0 */
#define NR_VCPUS	2

FIXTURE(smp) {
	int saved_param;
};

FIXTURE_SETUP(smp)
{
	self->saved_param = -1;
}

/* An ASSERT jumps past the end of the test: the parameter goes back here. */
FIXTURE_TEARDOWN(smp)
{
	if (self->saved_param >= 0)
		kh_huge_pages_set(self->saved_param);
}

#define FAULT_TEST(name)	TEST_F_TIMEOUT(smp, name, 600)

/* ---- guest ---- */

enum { CMD_NOP, CMD_TOUCH, CMD_CHECK, CMD_STOP };

static volatile uint64_t g_cmd[NR_VCPUS], g_lo[NR_VCPUS], g_hi[NR_VCPUS];

/* Word 8 * id of a page is vCPU id's. */
static inline uint64_t tag(uint64_t gpa, uint64_t id)
{
	return (gpa + id) * 0x9e3779b97f4a7c15ULL | 1;
}

/* Each page: its own word must read zero, then gets its tag. */
static uint64_t guest_touch(uint64_t id)
{
	uint64_t gpa, bad = 0;
	volatile uint64_t *p;

	for (gpa = g_lo[id]; gpa < g_hi[id]; gpa += PAGE) {
		p = (volatile uint64_t *)gpa;
		bad += p[8 * id] != 0;
		p[8 * id] = tag(gpa, id);
	}
	return bad;
}

/* Pages whose words of the vCPUs in the mask @who lack their tags. */
static uint64_t guest_check(uint64_t id, uint64_t who)
{
	uint64_t gpa, i, bad = 0;
	volatile uint64_t *p;

	for (gpa = g_lo[id]; gpa < g_hi[id]; gpa += PAGE) {
		p = (volatile uint64_t *)gpa;
		for (i = 0; i < NR_VCPUS; i++)
			if (who & (1UL << i) && p[8 * i] != tag(gpa, i)) {
				bad++;
				break;
			}
	}
	return bad;
}

static void guest_main(uint64_t id)
{
	uint64_t r;

	for (;;) {
		switch (g_cmd[id]) {
		case CMD_TOUCH:
			r = guest_touch(id);
			break;
		case CMD_CHECK:
			r = guest_check(id, (1UL << NR_VCPUS) - 1);
			break;
		case CMD_STOP:
			GUEST_DONE();
		default:	/* CMD_NOP */
			r = 0;
			break;
		}
		GUEST_SYNC(r);
	}
}

/* ---- host ---- */

struct runner {
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	pthread_barrier_t *start;
	uint64_t cmd, lo, hi;
	uint64_t result;	/* the guest's GUEST_SYNC, ~0 on failure */
	char msg[512];
};

static void *runner_fn(void *arg)
{
	struct runner *r = arg;
	unsigned int id = r->vcpu->id;
	struct kh_ucall uc;

	kh_vm_global(r->vm, g_cmd[id]) = r->cmd;
	kh_vm_global(r->vm, g_lo[id]) = r->lo;
	kh_vm_global(r->vm, g_hi[id]) = r->hi;
	pthread_barrier_wait(r->start);
	r->result = ~0ULL;
	if (kh_vcpu_run_ucall(r->vcpu, &uc, r->msg, sizeof(r->msg)) ==
	    KH_UCALL_SYNC)
		r->result = uc.args[0];
	return NULL;
}

struct fvm {
	struct kh_vm *vm;
	struct kh_vcpu *vcpu[NR_VCPUS];
	int id;			/* debugfs vm<id>, or -1 */
};

/*
 * How many first touches lost the race to install (debugfs vm<N>/mmu),
 * or -1: logged only, since one CPU may see none.
 */
static long lost_races(struct fvm *f)
{
	return f->id < 0 ? -1 : khyp_vm_stat(f->id, "mmu", "lost_races");
}

/* Both vCPUs run one command each, at the same time. */
static void run_both(struct __test_metadata *_metadata, struct fvm *f,
		     uint64_t cmd, const uint64_t lo[NR_VCPUS],
		     const uint64_t hi[NR_VCPUS], uint64_t result[NR_VCPUS])
{
	struct runner r[NR_VCPUS];
	pthread_t thread[NR_VCPUS];
	pthread_barrier_t start;
	unsigned int i;

	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, NR_VCPUS));
	for (i = 0; i < NR_VCPUS; i++) {
		r[i] = (struct runner){ .vm = f->vm, .vcpu = f->vcpu[i],
					.start = &start, .cmd = cmd,
					.lo = lo[i], .hi = hi[i] };
		ASSERT_EQ(0, pthread_create(&thread[i], NULL, runner_fn, &r[i]));
	}
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(thread[i], NULL);
	pthread_barrier_destroy(&start);
	for (i = 0; i < NR_VCPUS; i++) {
		ASSERT_NE(~0ULL, r[i].result)
			TH_LOG("vCPU %u: %s", i, r[i].msg);
		result[i] = r[i].result;
	}
}

static long ram_pages(struct fvm *f)
{
	struct khyp_balloon_stats st;

	if (ioctl(f->vm->fd, KHYP_GET_BALLOON, &st))
		return -1;
	return st.ram_pages;
}

static void fvm_create(struct __test_metadata *_metadata, struct fvm *f)
{
	uint64_t z[NR_VCPUS] = { 0 }, res[NR_VCPUS];
	unsigned int i;

	f->vm = kh_vm_create(0);
	f->id = khyp_debugfs() ? khyp_newest_vm() : -1;
	for (i = 0; i < NR_VCPUS; i++) {
		f->vcpu[i] = kh_vcpu_add(f->vm, i);
		kh_vcpu_setup_long_mode(f->vcpu[i], (void (*)(void))guest_main);
		kh_vcpu_set_args(f->vcpu[i], i, 0);
	}
	/* Code, data and both stacks faulted in before any count. */
	run_both(_metadata, f, CMD_NOP, z, z, res);
}

static void fvm_free(struct __test_metadata *_metadata, struct fvm *f)
{
	struct kh_ucall uc;
	char msg[256];
	unsigned int i;

	for (i = 0; i < NR_VCPUS; i++) {
		kh_vm_global(f->vm, g_cmd[i]) = CMD_STOP;
		EXPECT_EQ(KH_UCALL_DONE,
			  kh_vcpu_run_ucall(f->vcpu[i], &uc, msg, sizeof(msg)))
			TH_LOG("vCPU %u: %s", i, msg);
	}
	kh_vm_free(f->vm);
}

/*
 * Host side of a round's check: pages of [lo, hi) whose words of the
 * vCPUs in @who lack their tags, or whose other words are not zero.
 */
static size_t host_check(struct fvm *f, uint64_t lo, uint64_t hi,
			 unsigned int who)
{
	uint64_t gpa, *p;
	size_t bad = 0;
	unsigned int i;

	for (gpa = lo; gpa < hi; gpa += PAGE) {
		p = kh_gpa(f->vm, gpa);
		for (i = 0; i < NR_VCPUS; i++)
			if (p[8 * i] != (who & (1U << i) ? tag(gpa, i) : 0))
				break;
		bad += i < NR_VCPUS || p[PAGE / 8 - 1] != 0;
	}
	return bad;
}

/*
 * One round: slot 1 of @size bytes, touched by both vCPUs at once over
 * the same range (@same) or one half each; checked; deleted.
 */
static void round_of(struct __test_metadata *_metadata, struct fvm *f,
		     bool same, uint64_t size, int round)
{
	uint64_t lo[NR_VCPUS], hi[NR_VCPUS], res[NR_VCPUS];
	long base, touched, after, races;
	unsigned int i;
	size_t bad;

	kh_vm_add_region(f->vm, SLOT, REGION_GPA, size, 0);
	base = ram_pages(f);
	ASSERT_LE(0, base);
	for (i = 0; i < NR_VCPUS; i++) {
		lo[i] = REGION_GPA + (same ? 0 : i * size / NR_VCPUS);
		hi[i] = same ? REGION_GPA + size : lo[i] + size / NR_VCPUS;
	}

	races = lost_races(f);
	run_both(_metadata, f, CMD_TOUCH, lo, hi, res);
	if (races >= 0)
		TH_LOG("round %d: %ld first touches lost the race to install",
		       round, lost_races(f) - races);
	/* Braces: EXPECT_EQ() TH_LOG() is more than one statement. */
	for (i = 0; i < NR_VCPUS; i++) {
		EXPECT_EQ(0, res[i])
			TH_LOG("round %d: vCPU %u found %lu of its words not zero on first touch",
			       round, i, (unsigned long)res[i]);
	}

	/* Before the host's reads, which would allocate a missing page. */
	touched = size / PAGE;
	after = ram_pages(f);
	EXPECT_EQ(base + touched, after)
		TH_LOG("round %d (%s): %ld pages allocated for %ld frames touched",
		       round, same ? "same range" : "a range each",
		       after - base, touched);

	if (same) {
		run_both(_metadata, f, CMD_CHECK, lo, hi, res);
		for (i = 0; i < NR_VCPUS; i++) {
			EXPECT_EQ(0, res[i])
				TH_LOG("round %d: vCPU %u sees %lu pages without both vCPUs' words",
				       round, i, (unsigned long)res[i]);
		}
	}
	bad = 0;
	for (i = 0; i < NR_VCPUS; i++)
		bad += host_check(f, lo[i], hi[i], same ? 3 : 1U << i);
	if (same)
		bad /= NR_VCPUS;	/* the same pages, checked twice */
	EXPECT_EQ(0, bad)
		TH_LOG("round %d: %zu pages read through the VMM's mapping lack a vCPU's word",
		       round, bad);
	EXPECT_EQ(after, ram_pages(f))
		TH_LOG("round %d: the host's reads allocated pages", round);

	kh_vm_del_region(f->vm, SLOT);
	EXPECT_EQ(base, ram_pages(f))
		TH_LOG("round %d: deleting the region left %ld pages",
		       round, ram_pages(f) - base);
}

/* Set the parameter for the test, and remember to put it back. */
static void huge_pages(struct __test_metadata *_metadata,
		       FIXTURE_DATA(smp) *self, int on)
{
	self->saved_param = kh_huge_pages();
	ASSERT_LE(0, self->saved_param)
		TH_LOG(KH_HUGE_PAGES_PARAM " is missing");
	ASSERT_EQ(0, kh_huge_pages_set(on));
}

static void run_rounds(struct __test_metadata *_metadata,
		       FIXTURE_DATA(smp) *self, int huge, bool same,
		       uint64_t size, int rounds)
{
	struct fvm f;
	double t0;
	int i;

	huge_pages(_metadata, self, huge);
	fvm_create(_metadata, &f);
	for (i = 1; i <= rounds && _metadata->passed; i++) {
		t0 = (double)clock() / CLOCKS_PER_SEC;
		round_of(_metadata, &f, same, size, i);
		TH_LOG("huge_pages=%d, %s, round %d: %lu MiB (%.2f s of CPU in the test)",
		       huge, same ? "same range" : "a range each", i,
		       (unsigned long)(size / MiB),
		       (double)clock() / CLOCKS_PER_SEC - t0);
	}
	fvm_free(_metadata, &f);
}

/* 4 KiB pages: each frame touched by both vCPUs is a race. */
FAULT_TEST(same_range_4k)
{
	NEED_DEV();
	run_rounds(_metadata, self, 0, true, 64 * MiB, 1);
}

/* Many times over: a new region each round, smaller. */
FAULT_TEST(same_range_4k_rounds)
{
	NEED_DEV();
	run_rounds(_metadata, self, 0, true, 16 * MiB, 8);
}

FAULT_TEST(own_ranges_4k)
{
	NEED_DEV();
	run_rounds(_metadata, self, 0, false, 128 * MiB, 1);
}

/* 2 MiB blocks where the CPU has them: each 2 MiB range is a race. */
FAULT_TEST(same_range_2m)
{
	NEED_DEV();
	run_rounds(_metadata, self, 1, true, 64 * MiB, 2);
}

FAULT_TEST(own_ranges_2m)
{
	NEED_DEV();
	run_rounds(_metadata, self, 1, false, 128 * MiB, 1);
}

TEST_HARNESS_MAIN
