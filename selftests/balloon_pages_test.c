// SPDX-License-Identifier: GPL-2.0
/*
 * The balloon's userspace protocol (uapi/linux/khyp.h), for a balloon
 * device in the VMM such as virtio-balloon: KHYP_BALLOON_PAGES moves the
 * pages of a list through the same code as the guest's hypercalls
 * (INFLATE, DEFLATE) or gives free pages back without ballooning them
 * (REPORT); KHYP_BALLOON_EVENTFD tells the VMM when the effective target
 * changes.
 *
 * The guest here speaks no balloon protocol: it touches its heap, then
 * reads, writes and checks pages when the host asks (g_cmd), as a guest
 * whose balloon driver talks to a device would.
 *
 * Guest memory: slot 0 is [0, 64 MiB), with the heap at [32, 64 MiB);
 * slot 1 is [96, 100 MiB), with a hole between them.  The guest touches
 * the first page of slot 1, which may back its whole first 2 MiB (a
 * 2 MiB mapping): the second 2 MiB stay without pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/khyp_balloon.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define MiB		(1UL << 20)
#define PAGE		4096UL
#define VM_MEM		(64 * MiB)
#define HEAP		(32 * MiB)
#define HEAP_END	VM_MEM
#define HOLE		(80 * MiB)
#define SLOT1		(96 * MiB)
#define SLOT1_SIZE	(4 * MiB)
#define BATCH		KHYP_BALLOON_BATCH_MAX
#define STATUS(e)	((e) & 0xfff)

/*
 * The 6.1 harness has timeouts only for fixture tests.  The fixture also
 * turns the pools of zeroed blocks off (mmu/zeropool.c): tests here count
 * the host's free memory, which a pool filling
 * meanwhile would take (zeropool_test has the pools).
 */
KH_POOL_OFF_FIXTURE(slow)

#define SLOW_TEST(name)	TEST_F_TIMEOUT(slow, name, 120)

enum { CMD_READ, CMD_WRITE, CMD_CHECK, CMD_PROBE, CMD_STOP };

static volatile uint64_t g_cmd, g_gpa, g_val;

static inline uint64_t pattern(uint64_t gpa)
{
	return gpa * 0x9e3779b97f4a7c15ULL;
}

/*
 * Touches the heap and the first page of slot 1, then serves the host:
 * READ g_gpa (-> its value), WRITE g_val to g_gpa, CHECK (-> how many
 * heap pages outside [g_gpa, g_gpa + g_val) lost their pattern), PROBE
 * the hypercall protocol (-> its version).
 */
static void guest_serve(void)
{
	uint64_t gpa, bad;

	for (gpa = HEAP; gpa < HEAP_END; gpa += PAGE)
		*(volatile uint64_t *)gpa = pattern(gpa);
	*(volatile uint64_t *)SLOT1 = pattern(SLOT1);
	GUEST_SYNC(0);
	for (;;) {
		switch (g_cmd) {
		case CMD_READ:
			GUEST_SYNC(*(volatile uint64_t *)g_gpa);
			break;
		case CMD_WRITE:
			*(volatile uint64_t *)g_gpa = g_val;
			GUEST_SYNC(0);
			break;
		case CMD_CHECK:
			bad = 0;
			for (gpa = HEAP; gpa < HEAP_END; gpa += PAGE)
				if ((gpa < g_gpa || gpa >= g_gpa + g_val) &&
				    *(volatile uint64_t *)gpa != pattern(gpa))
					bad++;
			GUEST_SYNC(bad);
			break;
		case CMD_PROBE:
			GUEST_SYNC(kh_guest_hypercall(KHYP_HC_BALLOON_PROBE,
						      1, 0, 0, 0, 0));
			break;
		default:
			GUEST_DONE();
		}
	}
}

struct guest {
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
};

static void guest_start(struct __test_metadata *_metadata, struct guest *g)
{
	g->vm = kh_vm_create(VM_MEM);
	kh_vm_add_region(g->vm, 1, SLOT1, SLOT1_SIZE, 0);
	g->vcpu = kh_vcpu_add(g->vm, 0);
	kh_vcpu_setup_long_mode(g->vcpu, guest_serve);
	ASSERT_SYNC(g->vcpu, 0);
}

/* One command to the guest; its answer. */
static uint64_t guest_cmd(struct __test_metadata *_metadata, struct guest *g,
			  uint64_t cmd, uint64_t gpa, uint64_t val)
{
	struct kh_ucall uc = {};
	char msg[512];

	kh_vm_global(g->vm, g_cmd) = cmd;
	kh_vm_global(g->vm, g_gpa) = gpa;
	kh_vm_global(g->vm, g_val) = val;
	EXPECT_EQ(KH_UCALL_SYNC, kh_vcpu_run_ucall(g->vcpu, &uc, msg,
						   sizeof(msg)))
		TH_LOG("%s", msg);
	return uc.args[0];
}

static void guest_stop(struct __test_metadata *_metadata, struct guest *g)
{
	kh_vm_global(g->vm, g_cmd) = CMD_STOP;
	ASSERT_DONE(g->vcpu);
	kh_vm_free(g->vm);
}

/* KHYP_BALLOON_PAGES: done, or -errno. */
static long pages(struct kh_vm *vm, uint32_t op, uint64_t *list,
		  uint32_t count)
{
	struct khyp_balloon_pages p = {
		.op = op, .count = count, .list = (uintptr_t)list,
		.done = ~0ULL,
	};

	if (ioctl(vm->fd, KHYP_BALLOON_PAGES, &p))
		return -errno;
	return p.done;
}

/* @n consecutive pages from @gpa into @list. */
static void fill(uint64_t *list, uint64_t gpa, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		list[i] = gpa + i * PAGE;
}

/* How many entries of @list have status @s. */
static unsigned int count_status(const uint64_t *list, unsigned int n,
				 uint64_t s)
{
	unsigned int i, c = 0;

	for (i = 0; i < n; i++)
		c += STATUS(list[i]) == s;
	return c;
}

TEST(cap_bit)
{
	struct khyp_caps caps = { 0 };
	int fd = open(KHYP_DEV, O_RDWR);

	if (fd < 0)
		SKIP(return, KHYP_DEV " is absent (khyp.ko not loaded)");
	ASSERT_EQ(0, ioctl(fd, KHYP_GET_CAPS, &caps));
	EXPECT_TRUE(caps.features & KHYP_CAP_BALLOON_PAGES);
	EXPECT_TRUE(caps.features & KHYP_CAP_BALLOON_PRESSURE_MAX);
	close(fd);
}

/*
 * Inflating through the ioctl after the guest touched its pages: they go
 * back to the host (the VM's pages fall, the host's free memory rises),
 * up to the target and not beyond; deflated pages read as zeros at the
 * guest's next touch, without a violation, and the rest of its data is
 * intact.
 */
SLOW_TEST(inflate_then_deflate)
{
	static uint64_t list[BATCH];
	struct khyp_balloon_stats st0, st;
	uint64_t top = HEAP_END - 4 * BATCH * PAGE;	/* 8 MiB to give */
	long before, after;
	struct guest g;
	unsigned int k;

	NEED_DEV();
	guest_start(_metadata, &g);
	ASSERT_GET_BALLOON(g.vm, &st0);
	EXPECT_EQ(KHYP_BALLOON_PROTO_NONE, st0.protocol);
	ASSERT_SET_BALLOON(g.vm, 4 * BATCH);

	before = host_free_kib();
	for (k = 0; k < 4; k++) {
		fill(list, top + k * BATCH * PAGE, BATCH);
		ASSERT_EQ(BATCH, pages(g.vm, KHYP_BALLOON_OP_INFLATE, list,
				       BATCH));
		EXPECT_EQ(BATCH, count_status(list, BATCH, KHYP_BALLOON_S_OK));
		/* The status is in the low bits only. */
		EXPECT_EQ(top + (k * BATCH + 7) * PAGE, list[7]);
	}
	after = host_free_kib();
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(KHYP_BALLOON_PROTO_USERSPACE, st.protocol);
	EXPECT_EQ(4 * BATCH, st.size);
	EXPECT_EQ(4 * BATCH, st.inflated);
	EXPECT_EQ(4 * BATCH, st.freed);
	EXPECT_EQ(st0.ram_pages - 4 * BATCH, st.ram_pages);
	EXPECT_LE(6 * 1024, after - before)
		TH_LOG("host free memory rose by %ld KiB only", after - before);
	/* The VMM's own mapping of a ballooned page: a fresh zero page. */
	EXPECT_EQ(0, *(volatile uint64_t *)kh_gpa(g.vm, top));

	/* The balloon holds its target: the next pages are refused. */
	fill(list, top - BATCH * PAGE, BATCH);
	EXPECT_EQ(0, pages(g.vm, KHYP_BALLOON_OP_INFLATE, list, BATCH));
	EXPECT_EQ(BATCH, count_status(list, BATCH, KHYP_BALLOON_S_TARGET));
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(BATCH, st.rejected);
	EXPECT_EQ(4 * BATCH, st.size);

	/* Deflate all but the first batch's pages... */
	for (k = 1; k < 4; k++) {
		fill(list, top + k * BATCH * PAGE, BATCH);
		EXPECT_EQ(BATCH, pages(g.vm, KHYP_BALLOON_OP_DEFLATE, list,
				       BATCH));
		EXPECT_EQ(BATCH, count_status(list, BATCH, KHYP_BALLOON_S_OK));
	}
	/* ... and their pages read as zeros, no violation. */
	EXPECT_EQ(0, guest_cmd(_metadata, &g, CMD_READ, top + BATCH * PAGE, 0));
	EXPECT_EQ(0, guest_cmd(_metadata, &g, CMD_READ, HEAP_END - PAGE, 0));
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(BATCH, st.size);
	EXPECT_EQ(3 * BATCH, st.deflated);
	EXPECT_EQ(0, st.violations);
	/* Every page the guest did not give kept its data. */
	EXPECT_EQ(0, guest_cmd(_metadata, &g, CMD_CHECK, top, 4 * BATCH * PAGE));

	/* A page still in the balloon: touching it is a violation. */
	EXPECT_EQ(0, guest_cmd(_metadata, &g, CMD_READ, top, 0));
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(1, st.violations);
	EXPECT_EQ(BATCH - 1, st.size);
	guest_stop(_metadata, &g);
}

/* Each bad entry gets its status; the good ones next to it take effect. */
TEST(bad_entries)
{
	uint64_t p = HEAP, q = SLOT1, r = HEAP + PAGE, list[16];
	struct khyp_balloon_stats st;
	struct guest g;

	NEED_DEV();
	guest_start(_metadata, &g);
	ASSERT_SET_BALLOON(g.vm, 2);
	list[0] = KH_GPA_MMIO;		/* not RAM */
	list[1] = HOLE;			/* between the two regions */
	list[2] = 1ULL << 45;		/* beyond any guest-physical address */
	list[3] = p | 5;		/* stray low bits */
	list[4] = p;			/* good */
	list[5] = p;			/* twice in the batch */
	list[6] = q;			/* good, in the second region */
	list[7] = r;			/* beyond the target of 2 */
	EXPECT_EQ(2, pages(g.vm, KHYP_BALLOON_OP_INFLATE, list, 8));
	EXPECT_EQ(KH_GPA_MMIO | KHYP_BALLOON_S_NOT_RAM, list[0]);
	EXPECT_EQ(HOLE | KHYP_BALLOON_S_NOT_RAM, list[1]);
	EXPECT_EQ((1ULL << 45) | KHYP_BALLOON_S_NOT_RAM, list[2]);
	EXPECT_EQ(p | 5 | KHYP_BALLOON_S_INVALID, list[3]);
	EXPECT_EQ(p | KHYP_BALLOON_S_OK, list[4]);
	EXPECT_EQ(p | KHYP_BALLOON_S_STATE, list[5]);
	EXPECT_EQ(q | KHYP_BALLOON_S_OK, list[6]);
	EXPECT_EQ(r | KHYP_BALLOON_S_TARGET, list[7]);

	/* Already in the balloon; deflating one that is not. */
	ASSERT_SET_BALLOON(g.vm, 3);
	list[0] = p;
	EXPECT_EQ(0, pages(g.vm, KHYP_BALLOON_OP_INFLATE, list, 1));
	EXPECT_EQ(p | KHYP_BALLOON_S_STATE, list[0]);
	list[0] = r;			/* not in the balloon */
	list[1] = q | 1;		/* stray low bits */
	list[2] = q;			/* good */
	list[3] = q;			/* twice: no longer in the balloon */
	EXPECT_EQ(1, pages(g.vm, KHYP_BALLOON_OP_DEFLATE, list, 4));
	EXPECT_EQ(r | KHYP_BALLOON_S_STATE, list[0]);
	EXPECT_EQ(q | 1 | KHYP_BALLOON_S_INVALID, list[1]);
	EXPECT_EQ(q | KHYP_BALLOON_S_OK, list[2]);
	EXPECT_EQ(q | KHYP_BALLOON_S_STATE, list[3]);

	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(2, st.inflated);
	EXPECT_EQ(1, st.deflated);
	EXPECT_EQ(1, st.size);
	EXPECT_EQ(6 + 1 + 3, st.rejected);
	EXPECT_EQ(0, st.violations);
	/* The second region's page came back as a zero page. */
	EXPECT_EQ(0, guest_cmd(_metadata, &g, CMD_READ, q, 0));
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(0, st.violations);
	guest_stop(_metadata, &g);
}

/* The call itself: EINVAL for bad fields, EFAULT for bad pointers. */
TEST(bad_calls)
{
	struct khyp_balloon_stats st;
	struct khyp_balloon_pages p;
	uint64_t list[1] = { HEAP };
	struct kh_vm *vm;
	void *ro;

	NEED_DEV();
	vm = kh_vm_create(VM_MEM);
	ASSERT_SET_BALLOON(vm, 2);
	*(volatile uint64_t *)kh_gpa(vm, HEAP) = 1;	/* a page to give */
	/* A good call, changed by @change, fails with @err. */
#define BAD_CALL(err, change)						\
	do {								\
		p = (struct khyp_balloon_pages){			\
			.op = KHYP_BALLOON_OP_INFLATE, .count = 1,	\
			.list = (uintptr_t)list };			\
		change;							\
		EXPECT_EQ(-1, ioctl(vm->fd, KHYP_BALLOON_PAGES, &p));	\
		EXPECT_EQ(err, errno) TH_LOG(#change);			\
	} while (0)
	BAD_CALL(EINVAL, p.flags = 1);
	BAD_CALL(EINVAL, p.reserved0 = 1);
	BAD_CALL(EINVAL, p.reserved[1] = 1);
	BAD_CALL(EINVAL, p.op = KHYP_BALLOON_OP_REPORT + 1);
	BAD_CALL(EINVAL, p.op = ~0u);
	BAD_CALL(EINVAL, p.count = 0);
	BAD_CALL(EINVAL, p.count = BATCH + 1);
	BAD_CALL(EINVAL, p.count = 0x80000000u);
	BAD_CALL(EFAULT, p.list = 0);
	BAD_CALL(EFAULT, p.list = 0xffff800000000000ULL);
	/* The list's last entry beyond what is mapped. */
	ro = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	munmap((char *)ro + PAGE, PAGE);
	BAD_CALL(EFAULT, (p.list = (uintptr_t)ro + PAGE - 8, p.count = 2));
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_BALLOON_PAGES, NULL));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(KHYP_BALLOON_PROTO_NONE, st.protocol)
		TH_LOG("a refused call ran");
	EXPECT_EQ(0, st.inflated + st.rejected);

	/* A list that cannot take its statuses: EFAULT, yet it ran. */
	BAD_CALL(EFAULT, p.list = (uintptr_t)ro);
	munmap(ro, PAGE);
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(1, st.inflated + st.rejected);	/* gpa 0 */
	EXPECT_EQ(KHYP_BALLOON_PROTO_USERSPACE, st.protocol);
#undef BAD_CALL
	p = (struct khyp_balloon_pages){ .op = KHYP_BALLOON_OP_INFLATE,
		.count = 1, .list = (uintptr_t)list };
	ASSERT_EQ(0, ioctl(vm->fd, KHYP_BALLOON_PAGES, &p));
	EXPECT_EQ(1, p.done);
	EXPECT_EQ(HEAP, list[0]);
	kh_vm_free(vm);
}

/*
 * Free page reporting: the pages go back to the host without entering
 * the balloon (no target, none counted in size); the guest touches them
 * again at will and gets zero pages, without a violation.
 */
TEST(report_frees_without_ballooning)
{
	static uint64_t list[BATCH];
	uint64_t base = HEAP + 8 * MiB, in = base - PAGE;
	struct khyp_balloon_stats st0, st;
	struct guest g;
	unsigned int n = BATCH - 8;

	NEED_DEV();
	guest_start(_metadata, &g);
	ASSERT_SET_BALLOON(g.vm, 1);
	list[0] = in;
	ASSERT_EQ(1, pages(g.vm, KHYP_BALLOON_OP_INFLATE, list, 1));
	ASSERT_GET_BALLOON(g.vm, &st0);

	fill(list, base, n);
	list[n] = in;			/* in the balloon */
	list[n + 1] = base;		/* twice in the batch */
	list[n + 2] = KH_GPA_MMIO;	/* not RAM */
	list[n + 3] = HOLE;		/* not RAM either */
	list[n + 4] = base | 3;		/* stray low bits */
	list[n + 5] = SLOT1 + 2 * MiB;	/* RAM never touched: nothing to free */
	EXPECT_EQ(n + 1, pages(g.vm, KHYP_BALLOON_OP_REPORT, list, n + 6));
	EXPECT_EQ(base | KHYP_BALLOON_S_OK, list[0]);
	EXPECT_EQ(n, count_status(list, n, KHYP_BALLOON_S_OK));
	EXPECT_EQ(in | KHYP_BALLOON_S_STATE, list[n]);
	EXPECT_EQ(base | KHYP_BALLOON_S_STATE, list[n + 1]);
	EXPECT_EQ(KH_GPA_MMIO | KHYP_BALLOON_S_NOT_RAM, list[n + 2]);
	EXPECT_EQ(HOLE | KHYP_BALLOON_S_NOT_RAM, list[n + 3]);
	EXPECT_EQ(base | 3 | KHYP_BALLOON_S_INVALID, list[n + 4]);
	EXPECT_EQ(SLOT1 + 2 * MiB, list[n + 5]);

	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(KHYP_BALLOON_PROTO_USERSPACE, st.protocol);
	EXPECT_EQ(n, st.reported);
	EXPECT_EQ(st0.ram_pages - n, st.ram_pages);
	EXPECT_EQ(1, st.size);
	EXPECT_EQ(1, st.target);
	EXPECT_EQ(1, st.effective_target);
	EXPECT_EQ(st0.freed, st.freed);
	EXPECT_EQ(st0.inflated, st.inflated);
	EXPECT_EQ(st0.target_changes, st.target_changes);
	EXPECT_EQ(st0.rejected + 5, st.rejected);

	/* The guest takes them back: zeros, no violation; the rest intact. */
	EXPECT_EQ(0, guest_cmd(_metadata, &g, CMD_READ, base, 0));
	EXPECT_EQ(0, guest_cmd(_metadata, &g, CMD_READ,
			       base + (n - 1) * PAGE, 0));
	EXPECT_EQ(0, guest_cmd(_metadata, &g, CMD_WRITE, base, 42));
	EXPECT_EQ(42, guest_cmd(_metadata, &g, CMD_READ, base, 0));
	EXPECT_EQ(0, guest_cmd(_metadata, &g, CMD_CHECK, in,
			       (n + 1) * PAGE));
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(0, st.violations);
	EXPECT_EQ(1, st.size);
	guest_stop(_metadata, &g);
}

/* Hypercalls and the ioctl: the protocol field tells the latest one. */
TEST(protocol_latest)
{
	struct khyp_balloon_stats st;
	uint64_t list[1];
	struct guest g;

	NEED_DEV();
	guest_start(_metadata, &g);
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(KHYP_BALLOON_PROTO_NONE, st.protocol);
	EXPECT_EQ(KHYP_BALLOON_VERSION,
		  guest_cmd(_metadata, &g, CMD_PROBE, 0, 0));
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(KHYP_BALLOON_PROTO_HYPERCALL, st.protocol);
	list[0] = HEAP;
	EXPECT_EQ(1, pages(g.vm, KHYP_BALLOON_OP_REPORT, list, 1));
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(KHYP_BALLOON_PROTO_USERSPACE, st.protocol);
	/* A refused call leaves it. */
	EXPECT_EQ(-EINVAL, pages(g.vm, KHYP_BALLOON_OP_REPORT, list, 0));
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(KHYP_BALLOON_PROTO_USERSPACE, st.protocol);
	guest_stop(_metadata, &g);
}

/* Signalled since the last look: reads and clears the counter. */
static uint64_t efd_count(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

static int set_eventfd(struct kh_vm *vm, int fd)
{
	struct khyp_balloon_eventfd e = { .fd = fd };

	return ioctl(vm->fd, KHYP_BALLOON_EVENTFD, &e) ? -errno : 0;
}

/*
 * The eventfd: signalled at each change of the effective target, not when
 * the target is set to what it was; replaced, detached; bad arguments.
 */
TEST(eventfd_target_changes)
{
	struct khyp_balloon_eventfd e = { .fd = -1 };
	struct khyp_balloon_stats st;
	int efd, efd2, closed;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(VM_MEM);
	efd = eventfd(0, EFD_NONBLOCK);
	efd2 = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, efd2);
	ASSERT_EQ(0, set_eventfd(vm, efd));
	EXPECT_EQ(0, efd_count(efd));

	ASSERT_SET_BALLOON(vm, 100);
	EXPECT_EQ(1, efd_count(efd));
	ASSERT_SET_BALLOON(vm, 100);		/* no change */
	EXPECT_EQ(0, efd_count(efd));
	ASSERT_SET_BALLOON(vm, 50);
	ASSERT_SET_BALLOON(vm, 0);
	EXPECT_EQ(2, efd_count(efd));
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(3, st.target_changes);

	/* Replaced: only the new one hears. */
	ASSERT_EQ(0, set_eventfd(vm, efd2));
	ASSERT_SET_BALLOON(vm, 7);
	EXPECT_EQ(0, efd_count(efd));
	EXPECT_EQ(1, efd_count(efd2));
	/* Detached: nobody; the count goes on. */
	ASSERT_EQ(0, set_eventfd(vm, -1));
	ASSERT_EQ(0, set_eventfd(vm, -1));
	ASSERT_SET_BALLOON(vm, 8);
	EXPECT_EQ(0, efd_count(efd));
	EXPECT_EQ(0, efd_count(efd2));
	ASSERT_GET_BALLOON(vm, &st);
	EXPECT_EQ(5, st.target_changes);

	/* Not an open fd; not an eventfd; bad fields. */
	closed = dup(efd);
	close(closed);
	EXPECT_EQ(-EBADF, set_eventfd(vm, closed));
	EXPECT_EQ(-EBADF, set_eventfd(vm, -2));
	EXPECT_EQ(-EINVAL, set_eventfd(vm, vm->fd));
	e.fd = efd;
	e.flags = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_BALLOON_EVENTFD, &e));
	EXPECT_EQ(EINVAL, errno);
	e.flags = 0;
	e.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_BALLOON_EVENTFD, &e));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(vm->fd, KHYP_BALLOON_EVENTFD, NULL));
	EXPECT_EQ(EFAULT, errno);

	/* Left attached: the VM puts it when it goes. */
	ASSERT_EQ(0, set_eventfd(vm, efd));
	close(efd2);
	kh_vm_free(vm);
	close(efd);
}

/*
 * A guest that touched 32 MiB (above the floor), with an eventfd set as
 * a balloon device would: the shrinker asks it.  Returns the eventfd.
 */
static int guest_start_listening(struct __test_metadata *_metadata,
				 struct guest *g)
{
	int efd;

	guest_start(_metadata, g);
	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_eventfd(g->vm, efd));
	return efd;
}

/*
 * Host pressure: a VM whose balloon device listens (an eventfd set, the
 * guest speaks no hypercall) is asked for pages; the eventfd is
 * signalled when the shrinker raises its target, and again when the
 * target decays once the pressure is gone (after 5 s).
 */
SLOW_TEST(eventfd_follows_pressure)
{
	struct khyp_balloon_stats st;
	struct pollfd pfd;
	struct guest g;
	uint64_t raised, changes;
	time_t start;
	int efd;

	NEED_DEV();
	efd = guest_start_listening(_metadata, &g);
	kh_drop_slab_caches();
	ASSERT_GET_BALLOON(g.vm, &st);
	ASSERT_LT(0, st.pressure_target)
		TH_LOG("drop_caches did not ask the VM with an eventfd");
	EXPECT_EQ(st.pressure_target, st.effective_target);
	EXPECT_EQ(0, st.probed);
	EXPECT_LE(1, efd_count(efd));
	EXPECT_LE(1, st.target_changes);
	raised = st.pressure_target;

	/*
	 * What counts is the effective target: userspace's below the
	 * pressure target changes nothing, above it does, and back.
	 */
	changes = st.target_changes;
	ASSERT_SET_BALLOON(g.vm, raised / 2);
	EXPECT_EQ(0, efd_count(efd)) TH_LOG("signalled, yet still %llu",
					    (unsigned long long)raised);
	ASSERT_SET_BALLOON(g.vm, raised + 1000);
	EXPECT_EQ(1, efd_count(efd));
	ASSERT_SET_BALLOON(g.vm, 0);
	EXPECT_EQ(1, efd_count(efd));
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(changes + 2, st.target_changes);

	/*
	 * The decay, 5 s after the last scan: no timed assertion, a
	 * generous bound.  Another scan meanwhile raises it again (and
	 * signals): wait on.
	 */
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	start = time(NULL);
	while (time(NULL) - start < 60) {
		if (poll(&pfd, 1, 1000) != 1)
			continue;
		efd_count(efd);
		ASSERT_GET_BALLOON(g.vm, &st);
		if (st.pressure_target < raised)
			break;
		raised = st.pressure_target;
	}
	EXPECT_GT(raised, st.pressure_target)
		TH_LOG("no signal for the decay in %ld s",
		       (long)(time(NULL) - start));
	EXPECT_EQ(st.pressure_target, st.effective_target);
	guest_stop(_metadata, &g);
	close(efd);
}

/* KHYP_SET_BALLOON with KHYP_BALLOON_PRESSURE_MAX: 0 or -errno. */
static int set_pressure_max(struct kh_vm *vm, uint64_t pages)
{
	struct khyp_balloon_target t = {
		.pages = pages, .flags = KHYP_BALLOON_PRESSURE_MAX,
	};

	return ioctl(vm->fd, KHYP_SET_BALLOON, &t) ? -errno : 0;
}

/*
 * The pressure target's ceiling (docs/balloon.md, "A ceiling per VM"):
 * at 0 the shrinker never asks the VM; with none it does; lowered below
 * the pressure target, the target falls to it at once and the balloon
 * device hears it; later scans stay under it; userspace's own target is
 * not capped.  Bad values and flags are refused.
 */
SLOW_TEST(pressure_max_caps_the_shrinker)
{
	struct khyp_balloon_target bad = { .pages = 1, .flags = 2 };
	uint64_t ram = (VM_MEM + SLOT1_SIZE) / PAGE, raised, max;	/* both regions */
	struct khyp_balloon_stats st;
	struct guest g;
	int efd;

	NEED_DEV();
	efd = guest_start_listening(_metadata, &g);

	/* Refused: an unknown flag, a ceiling above the RAM but "none". */
	EXPECT_EQ(-1, ioctl(g.vm->fd, KHYP_SET_BALLOON, &bad));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, set_pressure_max(g.vm, ram + 1));
	bad.flags = 0;
	bad.pages = KHYP_BALLOON_NO_MAX;	/* "none" is a ceiling's only */
	EXPECT_EQ(-1, ioctl(g.vm->fd, KHYP_SET_BALLOON, &bad));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, set_pressure_max(g.vm, ram));
	EXPECT_EQ(0, set_pressure_max(g.vm, KHYP_BALLOON_NO_MAX));

	/* 0: never asked, however hard the host reclaims. */
	ASSERT_EQ(0, set_pressure_max(g.vm, 0));
	efd_count(efd);		/* what background reclaim asked before */
	kh_drop_slab_caches();
	kh_drop_slab_caches();
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(0, st.pressure_target);
	EXPECT_EQ(0, efd_count(efd));

	/* No ceiling: asked (what shows that the reclaim above would have). */
	ASSERT_EQ(0, set_pressure_max(g.vm, KHYP_BALLOON_NO_MAX));
	kh_drop_slab_caches();
	ASSERT_GET_BALLOON(g.vm, &st);
	ASSERT_LT(4, st.pressure_target)
		TH_LOG("drop_caches did not ask the VM with no ceiling");
	raised = st.pressure_target;
	efd_count(efd);

	/*
	 * Lowered below it: the target follows at once, and is signalled
	 * (at least once: the machine's own reclaim may ask meanwhile).
	 */
	max = raised / 4;
	ASSERT_EQ(0, set_pressure_max(g.vm, max));
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(max, st.pressure_target);
	EXPECT_EQ(max, st.effective_target);
	EXPECT_LE(1, efd_count(efd));
	/* Scans after it keep under it. */
	kh_drop_slab_caches();
	kh_drop_slab_caches();
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_GE(max, st.pressure_target);
	/* Userspace's target is its own: above the ceiling, it holds. */
	ASSERT_SET_BALLOON(g.vm, raised);
	ASSERT_GET_BALLOON(g.vm, &st);
	EXPECT_EQ(raised, st.effective_target);
	EXPECT_GE(max, st.pressure_target);
	ASSERT_SET_BALLOON(g.vm, 0);

	guest_stop(_metadata, &g);
	close(efd);
}

/*
 * Two threads moving the same pages at once, and the region they are in
 * deleted and added again meanwhile: every call answers, nothing is
 * counted twice (the machine's kernel log is checked for lockdep and
 * KASAN reports by the runner).
 */
struct mover {
	struct kh_vm *vm;
	uint32_t op;
	long calls, done, errors;
	volatile int *stop;
};

static void *mover_run(void *arg)
{
	struct mover *m = arg;
	uint64_t list[64];
	long r;

	while (!*m->stop) {
		fill(list, SLOT1, 64);
		r = pages(m->vm, m->op, list, 64);
		m->calls++;
		if (r < 0)
			m->errors++;
		else
			m->done += r;
		if (m->op != KHYP_BALLOON_OP_REPORT)
			m->op ^= 1;	/* INFLATE <-> DEFLATE */
	}
	return NULL;
}

SLOW_TEST(concurrent_movers)
{
	struct mover m[3];
	struct khyp_balloon_stats st;
	volatile int stop = 0;
	pthread_t t[3];
	struct kh_vm *vm;
	uint64_t in, out;
	int i, k;

	NEED_DEV();
	vm = kh_vm_create(VM_MEM);
	kh_vm_add_region(vm, 1, SLOT1, SLOT1_SIZE, 0);
	ASSERT_SET_BALLOON(vm, 32);
	for (i = 0; i < 3; i++) {
		m[i] = (struct mover){ .vm = vm, .stop = &stop,
				       .op = i == 2 ? KHYP_BALLOON_OP_REPORT :
						      i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, mover_run, &m[i]));
	}
	for (k = 0; k < 50; k++) {
		/* Touch the pages through the VMM's mapping, then drop them. */
		memset(kh_gpa(vm, SLOT1), 1, 64 * PAGE);
		kh_vm_del_region(vm, 1);
		kh_vm_add_region(vm, 1, SLOT1, SLOT1_SIZE, 0);
		usleep(2000);
	}
	stop = 1;
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, m[i].errors);
		EXPECT_LT(0, m[i].calls);
	}
	ASSERT_GET_BALLOON(vm, &st);
	in = st.inflated;
	out = st.deflated + st.violations;
	TH_LOG("%ld, %ld, %ld calls; inflated %llu, deflated %llu, size %llu, reported %llu",
	       m[0].calls, m[1].calls, m[2].calls,
	       (unsigned long long)in, (unsigned long long)st.deflated,
	       (unsigned long long)st.size,
	       (unsigned long long)st.reported);
	EXPECT_LE(st.size, 32);
	EXPECT_EQ(in - out, st.size);
	EXPECT_EQ(0, st.violations);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
