// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory seen from both sides, regions changing under a running
 * guest, stopping a vCPU (signal, immediate_exit), several VMs and vCPUs
 * running at once, and every way of tearing a VM with vCPUs down: after
 * each, the memory is back and khyp.ko unloads and loads again.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/khyp_balloon.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define MiB		(1024UL * 1024)
#define PAGE		4096UL
#define PATTERN		0x5a5a0000a5a50000ULL
/* guest writes [32, 96) MiB, host writes [96, 128) MiB */
#define GUEST_LO	(32 * MiB)
#define GUEST_HI	(96 * MiB)
#define HOST_HI		(128 * MiB)
#define SLOW_TIMEOUT	300

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

#define SLOW_TEST(name)	TEST_F_TIMEOUT(slow, name, SLOW_TIMEOUT)

static void guest_touch(void)
{
	uint64_t gpa, sum = 0;

	for (gpa = GUEST_LO; gpa < GUEST_HI; gpa += PAGE) {
		*(volatile uint64_t *)gpa = gpa ^ PATTERN;
		*(volatile uint64_t *)(gpa + PAGE - 8) = ~gpa;
	}
	GUEST_SYNC(1);
	for (gpa = GUEST_HI; gpa < HOST_HI; gpa += PAGE)
		sum += *(volatile uint64_t *)gpa + *(volatile uint64_t *)(gpa + 8);
	GUEST_SYNC(sum);
	GUEST_DONE();
}

SLOW_TEST(memory_shared_both_ways)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	uint64_t gpa, sum = 0, *p;
	size_t bad = 0;

	NEED_DEV();
	vm = kh_vm_create(HOST_HI);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_touch);
	ASSERT_SYNC(vcpu, 1);
	for (gpa = GUEST_LO; gpa < GUEST_HI; gpa += PAGE) {
		p = kh_gpa(vm, gpa);
		bad += p[0] != (gpa ^ PATTERN) || p[PAGE / 8 - 1] != ~gpa ||
		       p[1] != 0;
	}
	EXPECT_EQ(0, bad) TH_LOG("%zu of %lu pages differ", bad,
				 (GUEST_HI - GUEST_LO) / PAGE);
	for (gpa = GUEST_HI; gpa < HOST_HI; gpa += PAGE) {
		p = kh_gpa(vm, gpa);
		p[0] = gpa * 3;
		p[1] = 1;
		sum += gpa * 3 + 1;
	}
	ASSERT_SYNC(vcpu, sum);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

/*
 * Fresh guest memory must read zero even when the host's allocator hands
 * khyp pages that held someone else's data.  The test machines boot with
 * init_on_alloc=0 (Debian's default zeroes every allocation, which would
 * hide a khyp that forgot to): the test first fills and frees 48 MiB of
 * its own memory, so that the pages the VM gets next likely held that
 * pattern.  The guest samples 8 words of every page in [GUEST_LO,
 * GUEST_HI); the host reads [GUEST_HI, HOST_HI) through its mapping,
 * which the guest never touched (the VMM's own fault path).
 */
#define DIRTY_BYTES	(48 * MiB)
#define DIRTY_BYTE	0xa5

static void guest_count_nonzero(void)
{
	uint64_t gpa, nonzero = 0;
	unsigned int i;

	for (gpa = GUEST_LO; gpa < GUEST_HI; gpa += PAGE)
		for (i = 0; i < 8; i++)
			nonzero += *(volatile uint64_t *)(gpa + i * 504) != 0;
	GUEST_SYNC(nonzero);
	GUEST_DONE();
}

static void dirty_and_free_host_memory(void)
{
	void *p = mmap(NULL, DIRTY_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return;
	memset(p, DIRTY_BYTE, DIRTY_BYTES);
	munmap(p, DIRTY_BYTES);
}

SLOW_TEST(fresh_memory_reads_zero_after_host_dirtied)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	uint64_t gpa, *p;
	size_t nonzero = 0, i;

	NEED_DEV();
	dirty_and_free_host_memory();
	vm = kh_vm_create(HOST_HI);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_count_nonzero);
	ASSERT_SYNC(vcpu, 0);	/* nonzero words the guest found */
	ASSERT_DONE(vcpu);

	dirty_and_free_host_memory();
	for (gpa = GUEST_HI; gpa < HOST_HI; gpa += PAGE) {
		p = kh_gpa(vm, gpa);
		for (i = 0; i < PAGE / 8; i += 63)
			nonzero += p[i] != 0;
	}
	EXPECT_EQ(0, nonzero) TH_LOG("host mapping: %zu nonzero words in fresh memory",
				     nonzero);
	kh_vm_free(vm);
}

#define PROBE_GPA	0x20000000UL	/* 512 MiB: no RAM at first */

static void guest_probe(void)
{
	volatile uint64_t *p = (volatile uint64_t *)PROBE_GPA;

	GUEST_SYNC(*p);
	GUEST_SYNC(*p);
	GUEST_SYNC(*p);
	GUEST_DONE();
}

/* A region added or deleted between runs is what the guest sees next. */
TEST(region_changes_seen_by_guest)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	uint64_t *p;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_probe);
	ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);
	EXPECT_EQ(PROBE_GPA, vcpu->run->mmio.phys_addr);
	vcpu->run->mmio.data = 0x11;
	ASSERT_SYNC(vcpu, 0x11);
	p = kh_vm_add_region(vm, 1, PROBE_GPA, 2 * MiB, 0);
	p[0] = 0x22;
	ASSERT_SYNC(vcpu, 0x22);
	kh_vm_del_region(vm, 1);
	ASSERT_EXIT(vcpu, KHYP_EXIT_MMIO);
	EXPECT_EQ(PROBE_GPA, vcpu->run->mmio.phys_addr);
	vcpu->run->mmio.data = 0x33;
	ASSERT_SYNC(vcpu, 0x33);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static volatile int guest_stop;

/*
 * Whether the spinning guest enables interrupts.  It does not, the harder
 * case: host interrupts must stop it all the same.  But Bochs 2.7's SVM
 * lets the guest's RFLAGS.IF mask the host's interrupts (it ignores
 * V_INTR_MASKING there), so a guest spinning with IF=0 freezes that
 * emulated machine; the runner says so with guest_if_masks_host=1.
 */
static volatile int spin_sti;

static void guest_spin(void)
{
	GUEST_SYNC(1);
	if (spin_sti)
		asm volatile("sti");
	while (!guest_stop)
		kh_guest_pause();
	GUEST_DONE();
}

static void setup_spin(struct kh_vm *vm, struct kh_vcpu *vcpu)
{
	char buf[8];
	const char *v = machine_expect("guest_if_masks_host", buf, sizeof(buf));

	kh_vcpu_setup_long_mode(vcpu, guest_spin);
	kh_vm_global(vm, spin_sti) = v && !strcmp(v, "1");
}

static volatile int signals, kicker_stop;

static void on_signal(int sig)
{
	signals++;
}

/* Signal the main thread every 100 ms until told to stop. */
static void *kicker(void *arg)
{
	pthread_t main_thread = *(pthread_t *)arg;

	while (!kicker_stop) {
		usleep(100000);
		if (!kicker_stop)
			pthread_kill(main_thread, SIGUSR1);
	}
	return NULL;
}

SLOW_TEST(signal_stops_spinning_guest)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	pthread_t main_thread = pthread_self(), thread;
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	int r, e;

	NEED_DEV();
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	setup_spin(vm, vcpu);
	ASSERT_SYNC(vcpu, 1);

	ASSERT_EQ(0, pthread_create(&thread, NULL, kicker, &main_thread));
	r = kh_vcpu_run(vcpu);
	e = errno;
	kicker_stop = 1;
	pthread_join(thread, NULL);
	ASSERT_EQ(-1, r) TH_LOG("KHYP_RUN returned %d", r);
	EXPECT_EQ(EINTR, e) TH_LOG("errno %s", strerror(e));
	EXPECT_EQ(KHYP_EXIT_INTR, vcpu->run->exit_reason);
	EXPECT_LE(1, signals);

	/* the vCPU runs on */
	kh_vm_global(vm, guest_stop) = 1;
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

TEST(immediate_exit)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	struct khyp_regs regs;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	setup_spin(vm, vcpu);
	vcpu->run->immediate_exit = 1;
	EXPECT_EQ(-1, kh_vcpu_run(vcpu));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(KHYP_EXIT_INTR, vcpu->run->exit_reason);
	kh_vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ((uint64_t)(uintptr_t)guest_spin, regs.rip)
		TH_LOG("the guest ran");
	vcpu->run->immediate_exit = 0;
	ASSERT_SYNC(vcpu, 1);
	vcpu->run->immediate_exit = 1;
	EXPECT_EQ(-1, kh_vcpu_run(vcpu));
	EXPECT_EQ(EINTR, errno);
	vcpu->run->immediate_exit = 0;
	kh_vm_global(vm, guest_stop) = 1;
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

#define LOOPS		1000
#define HC_BASE		0x100
#define PORT_BASE	0x40

static void guest_count(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < LOOPS; i++) {
		GUEST_ASSERT_EQ(kh_guest_hypercall(HC_BASE + n, i, n, 0, 0, 0),
				i * 2 + n);
		kh_guest_out32(PORT_BASE + n, i);
	}
	GUEST_SYNC(LOOPS);
	GUEST_DONE();
}

struct vcpu_job {
	struct kh_vcpu *vcpu;
	unsigned int n;
	unsigned int hypercalls, ios;
	char err[640];
};

/* Run one vCPU to GUEST_DONE, checking each exit; errors in job->err. */
static void *vcpu_thread(void *arg)
{
	struct vcpu_job *job = arg;
	struct khyp_run *run = job->vcpu->run;
	struct kh_ucall uc;
	char msg[400];

	for (;;) {
		int cmd = kh_vcpu_run_ucall(job->vcpu, &uc, msg, sizeof(msg));

		if (cmd == KH_UCALL_DONE)
			return NULL;
		if (cmd == KH_UCALL_SYNC && uc.args[0] == LOOPS)
			continue;
		if (cmd < 0 && run->exit_reason == KHYP_EXIT_HYPERCALL &&
		    run->hypercall.nr == HC_BASE + job->n &&
		    run->hypercall.args[0] == job->hypercalls &&
		    run->hypercall.args[1] == job->n) {
			run->hypercall.ret = job->hypercalls++ * 2 + job->n;
			continue;
		}
		if (cmd < 0 && run->exit_reason == KHYP_EXIT_IO &&
		    run->io.port == PORT_BASE + job->n && run->io.size == 4 &&
		    run->io.data == job->ios) {
			job->ios++;
			continue;
		}
		snprintf(job->err, sizeof(job->err),
			 "vCPU job %u after %u hypercalls, %u I/O: %s",
			 job->n, job->hypercalls, job->ios, msg);
		return NULL;
	}
}

SLOW_TEST(two_vms_two_vcpus_each)
{
	struct vcpu_job jobs[4] = { 0 };
	pthread_t threads[4];
	struct kh_vm *vms[2];
	unsigned int i;

	NEED_DEV();
	for (i = 0; i < 2; i++)
		vms[i] = kh_vm_create(0);
	for (i = 0; i < 4; i++) {
		jobs[i].n = i;
		jobs[i].vcpu = kh_vcpu_add(vms[i / 2], i % 2);
		kh_vcpu_setup_long_mode(jobs[i].vcpu,
					(void (*)(void))guest_count);
		kh_vcpu_set_args(jobs[i].vcpu, i, 0);
	}
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, vcpu_thread,
					    &jobs[i]));
	for (i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, jobs[i].err[0]) TH_LOG("%s", jobs[i].err);
		EXPECT_EQ(LOOPS, jobs[i].hypercalls);
		EXPECT_EQ(LOOPS, jobs[i].ios);
	}
	kh_vm_free(vms[0]);
	kh_vm_free(vms[1]);
}

/* Wait up to 5 s for MemFree to come back within 16 MiB of @before. */
static long memory_missing_kib(long before)
{
	long missing = 0;
	int i;

	for (i = 0; i < 50; i++) {
		missing = before - host_free_kib();
		if (missing <= 16 * 1024)
			break;
		usleep(100000);
	}
	return missing;
}

/* Nothing holds khyp any more: it unloads, and loads again. */
static void check_module_reloads(struct __test_metadata *_metadata)
{
	int r;

	if (access(khyp_module_path(), R_OK)) {
		TH_LOG("%s not readable: not checking that khyp unloads",
		       khyp_module_path());
		return;
	}
	r = khyp_module_unload();
	ASSERT_EQ(0, r) TH_LOG("unloading khyp: %s (a reference leaked?)",
			       strerror(-r));
	r = khyp_module_load();
	ASSERT_EQ(0, r) TH_LOG("loading khyp again: %s", strerror(-r));
	ASSERT_EQ(0, access(KHYP_DEV, F_OK));
}

SLOW_TEST(teardown_vcpu_fd_first)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	long before, missing;

	NEED_DEV();
	before = host_free_kib();
	vm = kh_vm_create(HOST_HI);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_touch);
	ASSERT_SYNC(vcpu, 1);	/* 64 MiB touched */
	setup_spin(vm, vcpu);
	ASSERT_SYNC(vcpu, 1);
	kh_vcpu_close(vcpu);
	kh_vm_free(vm);
	missing = memory_missing_kib(before);
	EXPECT_GE(16 * 1024, missing)
		TH_LOG("MemFree %ld KiB lower after the fds were closed", missing);
	check_module_reloads(_metadata);
}

/* The vCPU keeps its VM alive: it runs on after the VM fd is closed. */
SLOW_TEST(teardown_vm_fd_first)
{
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	setup_spin(vm, vcpu);
	ASSERT_SYNC(vcpu, 1);
	close(vm->fd);
	vm->fd = -1;
	close(vm->dev);
	vm->dev = -1;
	kh_vm_global(vm, guest_stop) = 1;
	ASSERT_DONE(vcpu);
	kh_vcpu_close(vcpu);
	kh_vm_free(vm);
	check_module_reloads(_metadata);
}

SLOW_TEST(teardown_process_exit_without_close)
{
	long before, missing;
	int status;
	pid_t pid;

	NEED_DEV();
	before = host_free_kib();
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct kh_vm *vm = kh_vm_create(HOST_HI);
		struct kh_vcpu *vcpu = kh_vcpu_add(vm, 0);
		struct kh_ucall uc;
		char msg[256];

		kh_vcpu_add(vm, 1);
		kh_vcpu_setup_long_mode(vcpu, guest_touch);
		if (kh_vcpu_run_ucall(vcpu, &uc, msg, sizeof(msg)) !=
		    KH_UCALL_SYNC)
			_exit(1);
		setup_spin(vm, vcpu);
		_exit(kh_vcpu_run_ucall(vcpu, &uc, msg, sizeof(msg)) ==
		      KH_UCALL_SYNC ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child status 0x%x", status);
	missing = memory_missing_kib(before);
	EXPECT_GE(16 * 1024, missing)
		TH_LOG("MemFree %ld KiB lower after the child exited", missing);
	check_module_reloads(_metadata);
}

SLOW_TEST(teardown_sigkill_during_run)
{
	long before, missing;
	int status, pipefd[2];
	char c = 0;
	pid_t pid;

	NEED_DEV();
	ASSERT_EQ(0, pipe(pipefd));
	before = host_free_kib();
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct kh_vm *vm = kh_vm_create(HOST_HI);
		struct kh_vcpu *vcpu = kh_vcpu_add(vm, 0);
		struct kh_ucall uc;
		char msg[256];

		close(pipefd[0]);
		kh_vcpu_setup_long_mode(vcpu, guest_touch);
		if (kh_vcpu_run_ucall(vcpu, &uc, msg, sizeof(msg)) !=
		    KH_UCALL_SYNC)
			_exit(1);
		/* 64 MiB touched; now spin in the guest until killed */
		setup_spin(vm, vcpu);
		if (kh_vcpu_run_ucall(vcpu, &uc, msg, sizeof(msg)) !=
		    KH_UCALL_SYNC)
			_exit(1);
		c = 1;
		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		kh_vcpu_run(vcpu);
		_exit(2);
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1)) TH_LOG("the child failed");
	close(pipefd[0]);
	usleep(300000);		/* let it enter the guest */
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("child status 0x%x", status);
	missing = memory_missing_kib(before);
	EXPECT_GE(16 * 1024, missing)
		TH_LOG("MemFree %ld KiB lower after the child died", missing);
	check_module_reloads(_metadata);
}

/*
 * The VM's memory outlives its fd: with the VM fd (and every mapping of
 * it) gone, a vCPU keeps the VM, and its guest gives a page back through
 * the balloon, which zaps the VMM's mappings of that page through the
 * address_space of the VM file's inode.  That inode must live as long as
 * the VM, not as long as the file.  Without a kernel that poisons freed
 * memory, a use after free shows only where the freed inode is reused:
 * the next VMs' inodes come from the same cache right after, so if one
 * of them got the old inode's memory, the inflation zaps that VM's
 * mapping of the same guest page (mincore() turns 0).  Then everything
 * is closed: the memory comes back and khyp unloads.
 */
#define CLOSED_GPA	0x100000UL
#define CLOSED_PORT	0x90
#define OTHER_VMS	32

static volatile uint64_t closed_list[512] __attribute__((aligned(4096)));

static void guest_inflate_after_close(void)
{
	uint64_t r;

	*(volatile uint64_t *)CLOSED_GPA = 1;	/* the page exists */
	GUEST_ASSERT_EQ(KHYP_BALLOON_VERSION,
			kh_guest_hypercall(KHYP_HC_BALLOON_PROBE, 1, 0, 0, 0, 0));
	GUEST_SYNC(0);
	closed_list[0] = CLOSED_GPA;
	r = kh_guest_hypercall(KHYP_HC_BALLOON_INFLATE,
			       (uint64_t)closed_list, 1, 0, 0, 0);
	/* The host cannot read a ucall any more: plain port I/O. */
	kh_guest_out32(CLOSED_PORT, r);
	kh_guest_out32(CLOSED_PORT, closed_list[0]);
	kh_guest_out32(CLOSED_PORT, *(volatile uint64_t *)CLOSED_GPA);
	for (;;)
		kh_guest_hlt();
}

/* Run; the value of the guest's next OUT to CLOSED_PORT. */
#define ASSERT_CLOSED_OUT(vcpu, val)					\
	do {								\
		ASSERT_IO(vcpu, CLOSED_PORT, 4, KHYP_IO_OUT);		\
		(val) = (vcpu)->run->io.data;				\
	} while (0)

static bool page_mapped(void *p)
{
	unsigned char vec = 0;

	return !mincore(p, PAGE, &vec) && (vec & 1);
}

SLOW_TEST(vm_fd_closed_then_balloon_inflates)
{
	struct khyp_balloon_target t = { .pages = 1 };
	struct kh_vm *vm, *others[OTHER_VMS];
	long before, missing;
	struct kh_vcpu *vcpu;
	uint64_t *p, v;
	int i, zapped = 0;

	NEED_DEV();
	before = host_free_kib();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_inflate_after_close);
	ASSERT_SYNC(vcpu, 0);
	ASSERT_EQ(0, ioctl(vm->fd, KHYP_SET_BALLOON, &t));

	/* Nothing of the VM file is left: fd, mappings, /dev/khyp. */
	for (i = 0; i < KHYP_MAX_MEM_REGIONS; i++)
		if (vm->regions[i].hva) {
			munmap(vm->regions[i].hva, vm->regions[i].size);
			vm->regions[i].hva = NULL;
		}
	close(vm->fd);
	vm->fd = -1;
	close(vm->dev);
	vm->dev = -1;
	usleep(500000);		/* an RCU grace period: a freed inode is free */

	for (i = 0; i < OTHER_VMS; i++) {
		others[i] = kh_vm_create(0);
		p = kh_gpa(others[i], CLOSED_GPA);
		*p = 0x5a5a + i;
		ASSERT_TRUE(page_mapped(p));
	}

	ASSERT_CLOSED_OUT(vcpu, v);
	EXPECT_EQ(1, v) TH_LOG("inflation accepted");
	ASSERT_CLOSED_OUT(vcpu, v);
	EXPECT_EQ(CLOSED_GPA | KHYP_BALLOON_S_OK, v);
	ASSERT_CLOSED_OUT(vcpu, v);
	EXPECT_EQ(0, v) TH_LOG("the page was given back: it reads 0 now");

	for (i = 0; i < OTHER_VMS; i++) {
		p = kh_gpa(others[i], CLOSED_GPA);
		if (!page_mapped(p)) {
			TH_LOG("VM %d's mapping was zapped by the closed VM's inflation",
			       i);
			zapped++;
		}
		EXPECT_EQ(0x5a5a + i, *p);
	}
	EXPECT_EQ(0, zapped);

	for (i = 0; i < OTHER_VMS; i++)
		kh_vm_free(others[i]);
	kh_vm_free(vm);
	missing = memory_missing_kib(before);
	EXPECT_GE(16 * 1024, missing)
		TH_LOG("MemFree %ld KiB lower after everything was closed",
		       missing);
	check_module_reloads(_metadata);
}

TEST_HARNESS_MAIN
