// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU ioctls and mmap refusing what they must: bad ids, wrong ioctl
 * numbers and sizes, reserved bits and fields, out-of-range counts, bad
 * mappings, use from another process; and a failed call changing nothing.
 * Also the reset state of a new vCPU and register round trips, and the
 * serialisation of the vCPU's ioctls (a second caller waits, killably).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

/* @call fails with errno @err; the message says which call otherwise. */
#define EXPECT_ERRNO_LOG(err, call, fmt, ...)				\
	do {								\
		long __r = (call);					\
		int __e = errno;					\
		EXPECT_EQ(-1, __r) TH_LOG(fmt, ##__VA_ARGS__);		\
		EXPECT_EQ(err, __e) TH_LOG(fmt ": %s", ##__VA_ARGS__,	\
					   strerror(__e));		\
	} while (0)
#define EXPECT_ERRNO(err, call)	EXPECT_ERRNO_LOG(err, call, "%s", #call)

FIXTURE(vcpu) {
	struct kh_vm *vm;
	struct kh_vcpu *vcpu;
	int fd;
};

FIXTURE_SETUP(vcpu)
{
	if (access(KHYP_DEV, F_OK))
		return;
	self->vm = kh_vm_create(0);
	self->vcpu = kh_vcpu_add(self->vm, 0);
	self->fd = self->vcpu->fd;
}

FIXTURE_TEARDOWN(vcpu)
{
	kh_vm_free(self->vm);
}

/* The 6.1 harness runs the body even if the setup skipped. */
#define NEED_VCPU()							\
	do {								\
		if (!self->vcpu)					\
			SKIP(return, KHYP_DEV " is absent (khyp.ko not loaded)"); \
	} while (0)

TEST_F(vcpu, create_bad_ids)
{
	int fd;

	NEED_VCPU();
	EXPECT_ERRNO(EINVAL, ioctl(self->vm->fd, KHYP_CREATE_VCPU, KHYP_MAX_VCPUS));
	EXPECT_ERRNO(EINVAL, ioctl(self->vm->fd, KHYP_CREATE_VCPU, -1L));
	EXPECT_ERRNO(EINVAL, ioctl(self->vm->fd, KHYP_CREATE_VCPU, 1UL << 32));
	EXPECT_ERRNO(EEXIST, ioctl(self->vm->fd, KHYP_CREATE_VCPU, 0));
	fd = ioctl(self->vm->fd, KHYP_CREATE_VCPU, KHYP_MAX_VCPUS - 1);
	EXPECT_LE(0, fd) TH_LOG("vCPU %d: %s", KHYP_MAX_VCPUS - 1,
				strerror(errno));
	EXPECT_ERRNO(EEXIST, ioctl(self->vm->fd, KHYP_CREATE_VCPU,
				   KHYP_MAX_VCPUS - 1));
	close(fd);
}

TEST_F(vcpu, reset_state)
{
	struct khyp_regs r;
	struct khyp_sregs s;

	NEED_VCPU();
	kh_vcpu_get_regs(self->vcpu, &r);
	kh_vcpu_get_sregs(self->vcpu, &s);
	EXPECT_EQ(0xfff0, r.rip);
	EXPECT_EQ(2, r.rflags);
	EXPECT_EQ(0xf000, s.cs.selector);
	EXPECT_EQ(0xffff0000, s.cs.base);
	EXPECT_EQ(0xffff, s.cs.limit);
	EXPECT_EQ(0, s.cr0 & (KH_CR0_PE | KH_CR0_PG));
	EXPECT_EQ(0, s.efer);
	EXPECT_EQ(0, s.efer & KH_EFER_SVME);
}

/* Each vCPU ioctl: with another size or direction encoded it is unknown. */
TEST_F(vcpu, wrong_ioctl_numbers_enotty)
{
	static const unsigned long cmds[] = {
		KHYP_RUN, KHYP_GET_REGS, KHYP_SET_REGS, KHYP_GET_SREGS,
		KHYP_SET_SREGS, KHYP_GET_MSRS, KHYP_SET_MSRS, KHYP_GET_CPUID,
		KHYP_SET_CPUID, KHYP_INJECT_EVENT,
	};
	static char buf[16384];
	unsigned int i, dir, size, nr;

	NEED_VCPU();
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		dir = _IOC_DIR(cmds[i]);
		size = _IOC_SIZE(cmds[i]);
		nr = _IOC_NR(cmds[i]);
		EXPECT_ERRNO_LOG(ENOTTY, ioctl(self->fd, _IOC(dir, KHYPIO, nr,
							       size + 8), buf),
			 "ioctl 0x%x size + 8", nr);
		if (size >= 8)
			EXPECT_ERRNO_LOG(ENOTTY, ioctl(self->fd, _IOC(dir, KHYPIO,
								   nr, size - 8), buf),
				 "ioctl 0x%x size - 8", nr);
		EXPECT_ERRNO_LOG(ENOTTY, ioctl(self->fd, _IOC(dir ^ _IOC_WRITE,
							   KHYPIO, nr, size), buf),
			 "ioctl 0x%x other direction", nr);
		EXPECT_ERRNO_LOG(ENOTTY, ioctl(self->fd, _IOC(dir, KHYPIO + 1, nr,
							   size), buf),
			 "ioctl 0x%x other type", nr);
	}
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(KHYPIO, 0x2f), 0));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(KHYPIO, 0x7e), 0));
	/* the device's and the VM's ioctls are not the vCPU's, and back */
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, KHYP_CREATE_VM, 0));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, KHYP_CREATE_VCPU, 1));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, KHYP_SET_MEM_REGION, buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->vm->fd, KHYP_RUN, 0));
	EXPECT_ERRNO(ENOTTY, ioctl(self->vm->fd, KHYP_GET_REGS, buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->vm->dev, KHYP_GET_REGS, buf));
}

TEST_F(vcpu, run_nonzero_arg)
{
	NEED_VCPU();
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, KHYP_RUN, 1));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, KHYP_GET_REGS, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, KHYP_SET_REGS, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, KHYP_SET_SREGS, NULL));
}

TEST_F(vcpu, regs_round_trip_and_rflags)
{
	static const int bad_bits[] = { 3, 5, 15, 22, 31, 32, 63 };
	struct khyp_regs r, back;
	uint64_t *w = (uint64_t *)&r;
	unsigned int i;

	NEED_VCPU();
	for (i = 0; i < sizeof(r) / 8; i++)
		w[i] = 0x0101010101010101ULL * (i + 1);
	r.rip = 0x1000;
	r.rflags = 0x202;
	ASSERT_EQ(0, ioctl(self->fd, KHYP_SET_REGS, &r));
	kh_vcpu_get_regs(self->vcpu, &back);
	EXPECT_EQ(0, memcmp(&r, &back, sizeof(r)));

	for (i = 0; i < ARRAY_SIZE(bad_bits); i++) {
		struct khyp_regs bad = r;

		bad.rflags |= 1ULL << bad_bits[i];
		bad.rip = 0x2000;
		EXPECT_ERRNO_LOG(EINVAL, ioctl(self->fd, KHYP_SET_REGS, &bad),
			 "RFLAGS bit %d", bad_bits[i]);
	}
	kh_vcpu_get_regs(self->vcpu, &back);
	EXPECT_EQ(0x1000, back.rip) TH_LOG("a refused SET_REGS changed RIP");

	/* bit 1 is forced on */
	r.rflags = 0;
	ASSERT_EQ(0, ioctl(self->fd, KHYP_SET_REGS, &r));
	kh_vcpu_get_regs(self->vcpu, &back);
	EXPECT_EQ(2, back.rflags);
}

TEST_F(vcpu, sregs_reserved_and_padding)
{
	struct khyp_sregs s, bad, back;
	struct khyp_segment *segs;
	unsigned int i;

	NEED_VCPU();
	kh_vcpu_get_sregs(self->vcpu, &s);
	for (i = 0; i < 4; i++) {
		bad = s;
		bad.reserved[i] = 1;
		EXPECT_ERRNO_LOG(EINVAL, ioctl(self->fd, KHYP_SET_SREGS, &bad),
			 "reserved[%u]", i);
	}
	for (i = 0; i < 8; i++) {
		bad = s;
		segs = &bad.cs;
		segs[i].padding = 1;
		segs[i].base = 0x1000;
		EXPECT_ERRNO_LOG(EINVAL, ioctl(self->fd, KHYP_SET_SREGS, &bad),
			 "segment %u padding", i);
	}
	for (i = 0; i < 3; i++) {
		bad = s;
		bad.gdt.padding[i] = 1;
		EXPECT_ERRNO_LOG(EINVAL, ioctl(self->fd, KHYP_SET_SREGS, &bad),
			 "gdt.padding[%u]", i);
		bad = s;
		bad.idt.padding[i] = 1;
		EXPECT_ERRNO_LOG(EINVAL, ioctl(self->fd, KHYP_SET_SREGS, &bad),
			 "idt.padding[%u]", i);
	}
	kh_vcpu_get_sregs(self->vcpu, &back);
	EXPECT_EQ(0, memcmp(&s, &back, sizeof(s)))
		TH_LOG("a refused SET_SREGS changed the state");
}

/* The long-mode state the library sets reads back as set. */
TEST_F(vcpu, sregs_round_trip)
{
	struct khyp_sregs s, back;

	NEED_VCPU();
	kh_vcpu_setup_long_mode(self->vcpu, NULL);
	kh_vcpu_get_sregs(self->vcpu, &s);
	s.idt.base = 0x8000;
	s.idt.limit = 0xfff;
	s.cr2 = 0x123000;
	kh_vcpu_set_sregs(self->vcpu, &s);
	kh_vcpu_get_sregs(self->vcpu, &back);
	EXPECT_EQ(s.cr0, back.cr0);
	EXPECT_EQ(s.cr2, back.cr2);
	EXPECT_EQ(s.cr3, back.cr3);
	EXPECT_EQ(s.cr4, back.cr4);
	EXPECT_EQ(s.efer, back.efer);
	EXPECT_EQ(s.gdt.base, back.gdt.base);
	EXPECT_EQ(s.gdt.limit, back.gdt.limit);
	EXPECT_EQ(s.idt.base, back.idt.base);
	EXPECT_EQ(s.idt.limit, back.idt.limit);
	EXPECT_EQ(KH_SEL_CODE64, back.cs.selector);
	EXPECT_EQ(1, back.cs.l);
	EXPECT_EQ(11, back.cs.type);
	EXPECT_EQ(KH_SEL_DATA, back.ss.selector);
	EXPECT_EQ(KH_SEL_TSS, back.tr.selector);
	EXPECT_EQ(KH_GPA_TSS, back.tr.base);
	EXPECT_EQ(0x67, back.tr.limit);
	EXPECT_EQ(11, back.tr.type);
}

static int set_msrs(int fd, struct khyp_msrs *m)
{
	return ioctl(fd, KHYP_SET_MSRS, m);
}

TEST_F(vcpu, msrs_bad_input)
{
	struct khyp_msrs m;

	NEED_VCPU();
	kh_vcpu_set_msr(self->vcpu, KH_MSR_KERNEL_GS_BASE, 0x1000);

	memset(&m, 0, sizeof(m));
	EXPECT_ERRNO(EINVAL, set_msrs(self->fd, &m));	/* nmsrs 0 */
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, KHYP_GET_MSRS, &m));
	m.nmsrs = KHYP_MAX_MSRS + 1;
	m.entries[0].index = KH_MSR_KERNEL_GS_BASE;
	EXPECT_ERRNO(EINVAL, set_msrs(self->fd, &m));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, KHYP_GET_MSRS, &m));
	m.nmsrs = 1;
	m.flags = 1;
	EXPECT_ERRNO(EINVAL, set_msrs(self->fd, &m));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, KHYP_GET_MSRS, &m));
	m.flags = 0;
	m.entries[0].reserved = 1;
	EXPECT_ERRNO(EINVAL, set_msrs(self->fd, &m));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, KHYP_GET_MSRS, &m));
	m.entries[0].reserved = 0;
	m.entries[0].index = KH_MSR_UNKNOWN;
	EXPECT_ERRNO(EINVAL, set_msrs(self->fd, &m));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, KHYP_GET_MSRS, &m));
	/* the APIC is hidden: its base MSR is not in the set */
	m.entries[0].index = 0x1b;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, KHYP_GET_MSRS, &m));

	/* all or nothing: a good entry before a bad one is not applied */
	m.nmsrs = 2;
	m.entries[0] = (struct khyp_msr_entry){ KH_MSR_KERNEL_GS_BASE, 0, 0x2000 };
	m.entries[1] = (struct khyp_msr_entry){ KH_MSR_UNKNOWN, 0, 0 };
	EXPECT_ERRNO(EINVAL, set_msrs(self->fd, &m));
	/* a value the MSR cannot hold: not canonical */
	m.entries[1] = (struct khyp_msr_entry){ KH_MSR_LSTAR, 0,
						0x8000000000000000ULL };
	EXPECT_ERRNO(EINVAL, set_msrs(self->fd, &m));
	EXPECT_EQ(0x1000, kh_vcpu_get_msr(self->vcpu, KH_MSR_KERNEL_GS_BASE));

	/* and all of the documented set is there */
	m.nmsrs = 13;
	m.entries[0].index = KH_MSR_EFER;
	m.entries[1].index = KH_MSR_STAR;
	m.entries[2].index = KH_MSR_LSTAR;
	m.entries[3].index = KH_MSR_CSTAR;
	m.entries[4].index = KH_MSR_SFMASK;
	m.entries[5].index = KH_MSR_FS_BASE;
	m.entries[6].index = KH_MSR_GS_BASE;
	m.entries[7].index = KH_MSR_KERNEL_GS_BASE;
	m.entries[8].index = KH_MSR_SYSENTER_CS;
	m.entries[9].index = KH_MSR_SYSENTER_ESP;
	m.entries[10].index = KH_MSR_SYSENTER_EIP;
	m.entries[11].index = KH_MSR_PAT;
	m.entries[12].index = KH_MSR_TSC;
	EXPECT_EQ(0, ioctl(self->fd, KHYP_GET_MSRS, &m))
		TH_LOG("KHYP_GET_MSRS of the documented set: %s", strerror(errno));
	EXPECT_EQ(0x1000, m.entries[7].data);
	EXPECT_EQ(0x0007040600070406ULL, m.entries[11].data)
		TH_LOG("PAT at reset 0x%llx", (unsigned long long)m.entries[11].data);
}

TEST_F(vcpu, cpuid_bad_input)
{
	struct khyp_cpuid c, before, back;

	NEED_VCPU();
	memset(&before, 0, sizeof(before));
	ASSERT_EQ(0, ioctl(self->fd, KHYP_GET_CPUID, &before));
	memset(&c, 0, sizeof(c));
	c.nent = 1;
	c.entries[0].function = 1;
	c.entries[0].eax = 0x1234;

	c.nent = KHYP_MAX_CPUID_ENTRIES + 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, KHYP_SET_CPUID, &c));
	c.nent = 1;
	c.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, KHYP_SET_CPUID, &c));
	c.flags = 0;
	c.entries[0].reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, KHYP_SET_CPUID, &c));
	c.entries[0].reserved = 0;
	c.entries[0].flags = 2;		/* not a KHYP_CPUID_FLAG_* */
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, KHYP_SET_CPUID, &c));
	memset(&back, 0, sizeof(back));
	ASSERT_EQ(0, ioctl(self->fd, KHYP_GET_CPUID, &back));
	EXPECT_EQ(0, memcmp(&before, &back, sizeof(back)))
		TH_LOG("a refused SET_CPUID changed the table");
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, KHYP_SET_CPUID, NULL));

	/* an empty table is fine */
	c.entries[0].flags = 0;
	c.nent = 0;
	EXPECT_EQ(0, ioctl(self->fd, KHYP_SET_CPUID, &c));
	ASSERT_EQ(0, ioctl(self->fd, KHYP_GET_CPUID, &back));
	EXPECT_EQ(0, back.nent);
}

TEST_F(vcpu, mmap_rules)
{
	void *p;

	NEED_VCPU();
	p = mmap(NULL, KHYP_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, KHYP_RUN_SIZE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, 2 * KHYP_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, KHYP_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* a second shared mapping is the same page */
	p = mmap(NULL, KHYP_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	((struct khyp_run *)p)->request_interrupt_window = 1;
	EXPECT_EQ(1, self->vcpu->run->request_interrupt_window);
	munmap(p, KHYP_RUN_SIZE);
}

TEST_F(vcpu, other_process_gets_eio)
{
	int status;
	pid_t pid;

	NEED_VCPU();
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct khyp_regs r;
		void *p;
		int bad = 0;

		bad |= ioctl(self->fd, KHYP_GET_REGS, &r) != -1 || errno != EIO;
		bad |= (ioctl(self->fd, KHYP_RUN, 0) != -1 || errno != EIO) << 1;
		p = mmap(NULL, KHYP_RUN_SIZE, PROT_READ, MAP_SHARED, self->fd, 0);
		bad |= (p != MAP_FAILED || errno != EIO) << 2;
		bad |= (ioctl(self->vm->fd, KHYP_CREATE_VCPU, 5) != -1 ||
			errno != EIO) << 3;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child status 0x%x (bits: 1 GET_REGS, 2 RUN, 4 mmap, 8 CREATE_VCPU)",
		       status);
	/* the creator still can */
	kh_vcpu_setup_real_mode(self->vcpu, KH_GPA_LOW_CODE);
}

/* Regions while a vCPU exists: the VM's rules still hold. */
TEST_F(vcpu, regions_with_vcpu)
{
	struct khyp_mem_region r = { .slot = 1, .size = 4096 };

	NEED_VCPU();
	/* overlaps slot 0 */
	r.guest_phys_addr = 0x1000;
	EXPECT_ERRNO(EEXIST, ioctl(self->vm->fd, KHYP_SET_MEM_REGION, &r));
	/* unaligned, absurd */
	r.guest_phys_addr = 0x40000800;
	EXPECT_ERRNO(EINVAL, ioctl(self->vm->fd, KHYP_SET_MEM_REGION, &r));
	r.guest_phys_addr = 0x40000000;
	r.size = KHYP_MAX_GPA;
	EXPECT_ERRNO(EINVAL, ioctl(self->vm->fd, KHYP_SET_MEM_REGION, &r));
	r.size = 4096;
	EXPECT_EQ(0, ioctl(self->vm->fd, KHYP_SET_MEM_REGION, &r));
}

/*
 * Every vCPU ioctl is serialised on the vCPU, and a second caller waits
 * killably (docs/api.md).  A thread runs a guest that spins for ever; a
 * second thread's KHYP_GET_REGS must wait (it sleeps, and does not return
 * while the run goes on), and a process sharing the mm (clone(CLONE_VM),
 * so that the ioctl is allowed and a SIGKILL kills it alone) waiting the
 * same way in KHYP_GET_SREGS must die of SIGKILL while the run still goes
 * on.  Once the run
 * is stopped (immediate_exit and a signal) the waiting GET_REGS returns
 * the registers the stopped vCPU has.  The bounds below only end a
 * failing test: a passing one never waits for them.
 */
#define WAIT_BOUND_S	30

static volatile uint64_t spin_count;
static volatile int spin_sti;

static void guest_spin_forever(void)
{
	if (spin_sti)
		asm volatile("sti");
	for (;;) {
		spin_count++;
		kh_guest_pause();
	}
}

struct ioctl_thread {
	struct kh_vcpu *vcpu;
	struct khyp_regs regs;
	pid_t tid;
	int r, err;
	volatile int done;
};

static void *run_thread(void *arg)
{
	struct ioctl_thread *t = arg;

	t->r = kh_vcpu_run(t->vcpu);
	t->err = errno;
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *get_regs_thread(void *arg)
{
	struct ioctl_thread *t = arg;

	__atomic_store_n(&t->tid, syscall(SYS_gettid), __ATOMIC_RELEASE);
	t->r = ioctl(t->vcpu->fd, KHYP_GET_REGS, &t->regs);
	t->err = errno;
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A process of its own on the same mm: KHYP_GET_SREGS, then exit. */
static int get_sregs_clone(void *arg)
{
	struct khyp_sregs sregs;

	_exit(ioctl(*(int *)arg, KHYP_GET_SREGS, &sregs) ? 2 : 0);
}

static void on_usr1(int sig)
{
}

static void task_wchan(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = 0;
}

TEST_F_TIMEOUT(vcpu, ioctls_serialised_second_caller_waits_killably, 180)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* not fatal */
	struct ioctl_thread run = {}, get = {};
	char path[64], wpath[64], wchan[64], state = '?';
	static char stack[64 * 1024] __attribute__((aligned(16)));
	pthread_t run_th, get_th;
	struct khyp_regs now;
	int status = 0, fd;
	pid_t pid, w = 0;
	double t0;
	char buf[8];
	const char *v;

	NEED_VCPU();
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	kh_vcpu_setup_long_mode(self->vcpu, guest_spin_forever);
	v = machine_expect("guest_if_masks_host", buf, sizeof(buf));
	kh_vm_global(self->vm, spin_sti) = v && !strcmp(v, "1");

	/* 1. A run that holds the vCPU: the guest counts, so it is in. */
	run.vcpu = self->vcpu;
	ASSERT_EQ(0, pthread_create(&run_th, NULL, run_thread, &run));
	t0 = now_s();
	while (!kh_vm_global(self->vm, spin_count) &&
	       !__atomic_load_n(&run.done, __ATOMIC_ACQUIRE) &&
	       now_s() - t0 < WAIT_BOUND_S)
		usleep(1000);
	ASSERT_NE(0, kh_vm_global(self->vm, spin_count))
		TH_LOG("the guest did not start spinning (run returned: %d)",
		       run.done);

	/* 2. A second thread's GET_REGS sleeps until the run ends. */
	get.vcpu = self->vcpu;
	ASSERT_EQ(0, pthread_create(&get_th, NULL, get_regs_thread, &get));
	t0 = now_s();
	while (!__atomic_load_n(&get.tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", get.tid);
	snprintf(wpath, sizeof(wpath), "/proc/self/task/%d/wchan", get.tid);
	while (!__atomic_load_n(&get.done, __ATOMIC_ACQUIRE) &&
	       (state = task_state(path)) != 'D' &&
	       now_s() - t0 < WAIT_BOUND_S)
		usleep(1000);
	task_wchan(wpath, wchan, sizeof(wchan));
	EXPECT_EQ(0, get.done)
		TH_LOG("KHYP_GET_REGS returned %d (%s) while KHYP_RUN ran on the same vCPU",
		       get.r, strerror(get.err));
	EXPECT_EQ('D', state) TH_LOG("the waiting thread is in state %c", state);
	TH_LOG("the second caller sleeps in %s", wchan);
	EXPECT_EQ(0, run.done) TH_LOG("the run ended on its own");

	/* 3. A waiter of another process on the same mm dies of SIGKILL. */
	fd = self->fd;
	pid = clone(get_sregs_clone, stack + sizeof(stack), CLONE_VM | SIGCHLD,
		    &fd);
	ASSERT_LT(0, pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	t0 = now_s();
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 &&
	       (state = task_state(path)) != 'D' &&
	       now_s() - t0 < WAIT_BOUND_S)
		usleep(1000);
	EXPECT_EQ(0, w) TH_LOG("the clone's GET_SREGS returned while KHYP_RUN ran (status 0x%x)",
			       status);
	EXPECT_EQ('D', state);
	if (!w) {
		kill(pid, SIGKILL);
		t0 = now_s();
		while ((w = waitpid(pid, &status, WNOHANG)) == 0 &&
		       now_s() - t0 < WAIT_BOUND_S)
			usleep(1000);
		EXPECT_EQ(pid, w)
			TH_LOG("a process waiting for the vCPU did not die of SIGKILL within %d s",
			       WAIT_BOUND_S);
		EXPECT_EQ(0, __atomic_load_n(&run.done, __ATOMIC_ACQUIRE))
			TH_LOG("the run ended before the waiter died: nothing shown");
	}

	/* 4. Stop the run; the waiting GET_REGS then completes. */
	self->vcpu->run->immediate_exit = 1;
	pthread_kill(run_th, SIGUSR1);
	pthread_join(run_th, NULL);
	pthread_join(get_th, NULL);
	if (!w)
		w = waitpid(pid, &status, 0);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the clone's status 0x%x", status);
	self->vcpu->run->immediate_exit = 0;
	EXPECT_EQ(-1, run.r);
	EXPECT_EQ(EINTR, run.err) TH_LOG("KHYP_RUN: %s", strerror(run.err));
	ASSERT_EQ(0, get.r) TH_LOG("KHYP_GET_REGS: %s", strerror(get.err));
	kh_vcpu_get_regs(self->vcpu, &now);
	EXPECT_EQ(0, memcmp(&now, &get.regs, sizeof(now)))
		TH_LOG("the waiting GET_REGS saw rip %#llx, the stopped vCPU has %#llx",
		       (unsigned long long)get.regs.rip,
		       (unsigned long long)now.rip);
}

TEST_HARNESS_MAIN
