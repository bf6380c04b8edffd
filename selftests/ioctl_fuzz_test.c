// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl surface under random input (issue 16): several threads share
 * a pool of /dev/khyp, VM and vCPU fds and call every khyp ioctl on them
 * with arguments that are mostly well formed and then mutated towards the
 * edges (0, all-ones, page and size boundaries, reserved fields set),
 * interleaved with mmap/munmap of guest memory and run pages, random
 * instruction bytes written where the guest runs, KHYP_RUN cut short by a
 * timer signal, and closes racing with the other threads' calls.
 *
 * What makes it fail:
 *  - an errno no khyp ioctl documents (a leaked -ERESTARTSYS is 512),
 *    or a "set" ioctl returning something other than 0 or -1;
 *  - after every fd is closed and every mapping gone, the module's
 *    reference count not back at its value before the test, or a VM
 *    still in debugfs;
 *  - the host's kernel log (the harness in scripts/test.sh judges every
 *    WARNING, BUG, Oops, KASAN or lockdep report), and a machine that
 *    stops (no end marker before scripts/test.sh's limit).
 *
 * It stops after KHYP_FUZZ_CALLS calls (else the machine's fuzz_calls in
 * scripts/test.sh, else 100000) or KHYP_FUZZ_SECONDS (default 300, a
 * bound for a machine that stalls, not a budget),
 * whichever comes first.  KHYP_FUZZ_SEED sets the seed (default: the
 * time; printed, so that a failure can be replayed with the same
 * sequence of choices per thread, though not the same interleaving).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/khyp_balloon.h>

#include "kselftest_harness.h"
#include "khyp_util.h"

#define NR_THREADS	3
#define MAX_VMS		3
#define MAX_VCPUS	6
#define MAX_MAPS	8
#define PAGE		4096UL

struct fz_vcpu {
	int fd;				/* -1: free */
	struct khyp_run *run;		/* NULL if not mapped */
};

struct fz_map {
	void *addr;			/* NULL: free */
	size_t len;
};

/* The fds and mappings all threads draw from; pool.lock guards the tables. */
static struct {
	pthread_mutex_t lock;
	int dev;
	int efd;			/* for KHYP_BALLOON_EVENTFD */
	int vms[MAX_VMS];
	struct fz_vcpu vcpus[MAX_VCPUS];
	struct fz_map maps[MAX_MAPS];
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static atomic_ulong nr_calls;
static atomic_ulong nr_ok;
static atomic_ulong nr_bad;		/* unexpected results */
static atomic_ulong nr_faults;		/* SIGBUS/SIGSEGV on guest memory */
static char first_bad[256];
static double deadline;
static unsigned long max_calls;

/* What each thread does now, for the watchdog's report of a stuck call. */
static const char *volatile cur_op[NR_THREADS];
static volatile pid_t tids[NR_THREADS];
static atomic_int nr_done;

/*
 * Where the time goes, by call (the ioctl's name, or the close of a VM
 * or vCPU fd): printed at the end, so that a machine where the fuzzer
 * is slow (the debug kernel) says which path is.
 */
#define MAX_OP_TIMES	64
static struct {
	const char *_Atomic what;
	atomic_ulong n, ns;
} op_times[MAX_OP_TIMES];
static pthread_mutex_t op_times_lock = PTHREAD_MUTEX_INITIALIZER;

static void account(const char *what, double since)
{
	uint64_t ns = (now_s() - since) * 1e9;
	unsigned int i;

	for (i = 0; i < MAX_OP_TIMES; i++) {
		const char *w = atomic_load(&op_times[i].what);

		if (!w) {
			pthread_mutex_lock(&op_times_lock);
			w = atomic_load(&op_times[i].what);
			if (!w)
				atomic_store(&op_times[i].what, w = what);
			pthread_mutex_unlock(&op_times_lock);
		}
		if (w == what) {
			atomic_fetch_add(&op_times[i].n, 1);
			atomic_fetch_add(&op_times[i].ns, ns);
			return;
		}
	}
}

static void timed_close(const char *what, int fd)
{
	double t = now_s();

	close(fd);
	account(what, t);
}

static __thread unsigned int thread_no;
static __thread uint64_t rng;
static __thread sigjmp_buf fault_jmp;
static __thread volatile int fault_armed;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* A 64-bit value biased to the edges that break range checks. */
static uint64_t edge64(void)
{
	static const uint64_t edges[] = {
		0, 1, 2, 0xfff, 0x1000, 0x1001, 0x7fff, 0xffff, 0x10000,
		0x9f000, 0xa0000, 0xfffff, 0x100000, 0x1fffff, 0x200000,
		0x7fffffff, 0x80000000, 0xfec00000, 0xfee00000, 0xffffffff,
		0x100000000ULL, (1ULL << 40) - 0x1000, 1ULL << 40,
		(1ULL << 48) - 1, 1ULL << 63, ~0ULL, ~0ULL - 0xfff,
	};

	switch (below(4)) {
	case 0:
		return rnd();
	case 1:
		return rnd() & 0xffff;
	default:
		return edges[below(sizeof(edges) / sizeof(edges[0]))] +
		       (below(4) == 0 ? below(3) - 1 : 0);
	}
}

/* Flip a few bits or bytes of an argument, or none. */
static void mutate(void *buf, size_t len)
{
	unsigned char *p = buf;
	unsigned int n = below(4);

	while (n--) {
		size_t i = below(len);

		switch (below(3)) {
		case 0:
			p[i] ^= 1u << below(8);
			break;
		case 1:
			p[i] = 0xff;
			break;
		default:
			p[i] = rnd();
			break;
		}
	}
}

/* The errnos khyp's ioctls and mmap are documented to return. */
static bool errno_expected(int e)
{
	switch (e) {
	case EINVAL: case EFAULT: case ENOTTY: case EBADF: case ENOMEM:
	case EEXIST: case ENXIO: case EBUSY: case EINTR: case E2BIG:
	case ENOENT: case EPERM: case ENOSPC: case EAGAIN: case ERANGE:
	case ENODEV: case EACCES: case EOVERFLOW: case EMFILE: case ENFILE:
	case EOPNOTSUPP:
		return true;
	}
	return false;
}

static void bad(const char *what, long ret, int e)
{
	if (atomic_fetch_add(&nr_bad, 1) == 0)
		snprintf(first_bad, sizeof(first_bad),
			 "%s returned %ld, errno %d (%s)", what, ret, e,
			 strerror(e));
}

/*
 * One call, judged: fd-creating and query ioctls may return >= 0, the
 * others 0; any failure must carry an expected errno.
 */
static long call(const char *what, int fd, unsigned long cmd, void *arg,
		 bool returns_value)
{
	double t;
	long ret;
	int e;

	cur_op[thread_no] = what;
	t = now_s();
	ret = ioctl(fd, cmd, arg);
	e = errno;
	account(what, t);
	cur_op[thread_no] = "(between calls)";

	atomic_fetch_add(&nr_calls, 1);
	if (ret >= 0) {
		atomic_fetch_add(&nr_ok, 1);
		if (ret > 0 && !returns_value)
			bad(what, ret, 0);
	} else if (ret != -1 || !errno_expected(e)) {
		bad(what, ret, e);
	}
	errno = e;
	return ret;
}

/*
 * A VM or vCPU from the pool: a random slot, else the next one in use,
 * so that an empty slot does not turn the call into a creation (-1 only
 * when the pool is empty).
 */
static int pick_vm(void)
{
	unsigned int i, start = below(MAX_VMS);
	int fd = -1;

	pthread_mutex_lock(&pool.lock);
	for (i = 0; i < MAX_VMS && fd < 0; i++)
		fd = pool.vms[(start + i) % MAX_VMS];
	pthread_mutex_unlock(&pool.lock);
	return fd;
}

static int pick_vcpu(unsigned int *slot)
{
	unsigned int i, start = below(MAX_VCPUS);
	int fd = -1;

	pthread_mutex_lock(&pool.lock);
	for (i = 0; i < MAX_VCPUS && fd < 0; i++) {
		*slot = (start + i) % MAX_VCPUS;
		fd = pool.vcpus[*slot].fd;
	}
	pthread_mutex_unlock(&pool.lock);
	return fd;
}

/* ---- /dev/khyp and VMs ---- */

static void op_dev(void)
{
	struct khyp_caps caps;
	unsigned long cmd;
	unsigned char buf[512];

	switch (below(3)) {
	case 0:
		call("GET_API_VERSION", pool.dev, KHYP_GET_API_VERSION,
		     (void *)edge64(), true);
		break;
	case 1:
		memset(&caps, 0, sizeof(caps));
		mutate(&caps, sizeof(caps));
		call("GET_CAPS", pool.dev, KHYP_GET_CAPS,
		     below(8) ? (void *)&caps : (void *)edge64(), false);
		break;
	default:
		/* any command in khyp's space, any size and direction */
		memset(buf, 0, sizeof(buf));
		mutate(buf, sizeof(buf));
		cmd = _IOC(below(4), KHYPIO, below(0x40), below(sizeof(buf)));
		if (cmd == KHYP_CREATE_VM)
			break;
		call("dev ioctl", pool.dev, cmd, buf,
		     cmd == KHYP_GET_API_VERSION);
		break;
	}
}

static void op_create_vm(void)
{
	int fd, old = -1;
	unsigned int i = below(MAX_VMS);

	fd = call("CREATE_VM", pool.dev, KHYP_CREATE_VM,
		  below(8) ? 0 : (void *)edge64(), true);
	if (fd < 0)
		return;
	pthread_mutex_lock(&pool.lock);
	old = pool.vms[i];
	pool.vms[i] = fd;
	pthread_mutex_unlock(&pool.lock);
	if (old >= 0)
		timed_close("close VM", old);
}

static void op_close_vm(void)
{
	int fd;
	unsigned int i = below(MAX_VMS);

	pthread_mutex_lock(&pool.lock);
	fd = pool.vms[i];
	pool.vms[i] = -1;
	pthread_mutex_unlock(&pool.lock);
	if (fd >= 0)
		timed_close("close VM", fd);
}

static void op_region(int vm)
{
	static const uint64_t sizes[] = {
		0, PAGE, 2 * PAGE, 0x200000, 0x400000, 0x1000000, 0xa0000,
	};
	struct khyp_mem_region r = {
		.slot = below(6),
		.guest_phys_addr = below(2) ? below(8) * 0x200000 :
				   edge64() & ~0xfffULL,
		.size = sizes[below(sizeof(sizes) / sizeof(sizes[0]))],
	};

	if (below(4) == 0) {
		r.slot = edge64();
		r.flags = below(2) ? KHYP_MEM_READONLY : edge64();
	}
	if (below(4) == 0)
		mutate(&r, sizeof(r));
	call("SET_MEM_REGION", vm, KHYP_SET_MEM_REGION, &r, false);
}

static void op_irq(int vm)
{
	struct khyp_create_irqchip c = { 0 };
	struct khyp_irq_level l = { .irq = below(26), .level = below(2) };
	struct khyp_msi m = {
		.address = 0xfee00000 | below(4) << 12 | (below(2) << 2),
		.data = below(256) | below(8) << 8,
	};
	struct khyp_balloon_target b = { .pages = below(2) ? below(4096) :
						  edge64() };
	struct khyp_balloon_stats st;
	/* Written back: room for any count the module accepts. */
	static __thread uint64_t list[KHYP_BALLOON_BATCH_MAX];
	static const uint64_t unmapped[] = {
		0, 8, 0xfff, 1ULL << 47, 1ULL << 63, ~0ULL - 7,
	};
	struct khyp_balloon_pages bp = {
		.op = below(4), .count = below(2) ? below(10) : below(514),
	};
	struct khyp_balloon_eventfd ef = {
		.fd = below(2) ? pool.efd : below(2) ? (int)below(16) : -1,
	};
	unsigned int i;

	switch (below(7)) {
	case 0:
		if (below(4) == 0)
			mutate(&c, sizeof(c));
		call("CREATE_IRQCHIP", vm, KHYP_CREATE_IRQCHIP, &c, false);
		break;
	case 1:
		if (below(4) == 0)
			mutate(&l, sizeof(l));
		call("IRQ_LINE", vm, KHYP_IRQ_LINE, &l, false);
		break;
	case 2:
		/* never NMI or INIT storms: those are legal, but slow */
		if (below(4) == 0)
			mutate(&m, sizeof(m));
		call("SIGNAL_MSI", vm, KHYP_SIGNAL_MSI, &m, false);
		break;
	case 3:
		if (below(4) == 0)
			mutate(&b, sizeof(b));
		call("SET_BALLOON", vm, KHYP_SET_BALLOON, &b, false);
		break;
	case 4:
		/* pages of the first MiBs (where the guests run), or edges */
		for (i = 0; i < 16; i++)
			list[i] = below(2) ? below(4096) << 12 : edge64();
		if (below(4) == 0)
			mutate(&bp, sizeof(bp));
		/* the module writes the list: never somewhere of ours */
		bp.list = below(8) ? (uintptr_t)list :
			  unmapped[below(sizeof(unmapped) / sizeof(unmapped[0]))];
		call("BALLOON_PAGES", vm, KHYP_BALLOON_PAGES, &bp, false);
		break;
	case 5:
		/* the eventfd, any low fd (most are not eventfds), none */
		if (below(4) == 0)
			mutate(&ef, sizeof(ef));
		call("BALLOON_EVENTFD", vm, KHYP_BALLOON_EVENTFD, &ef, false);
		break;
	default:
		call("GET_BALLOON", vm, KHYP_GET_BALLOON,
		     below(8) ? (void *)&st : (void *)edge64(), false);
		break;
	}
}

static void op_create_vcpu(int vm)
{
	struct khyp_run *run = NULL;
	unsigned int i = below(MAX_VCPUS);
	struct fz_vcpu old;
	int fd;

	fd = call("CREATE_VCPU", vm, KHYP_CREATE_VCPU,
		  (void *)(below(4) ? below(4) : edge64()), true);
	if (fd < 0)
		return;
	if (below(8)) {
		run = mmap(NULL, KHYP_RUN_SIZE, PROT_READ | PROT_WRITE,
			   MAP_SHARED, fd, 0);
		if (run == MAP_FAILED)
			run = NULL;
	}
	pthread_mutex_lock(&pool.lock);
	old = pool.vcpus[i];
	pool.vcpus[i].fd = fd;
	pool.vcpus[i].run = run;
	/* run pages are only touched under pool.lock (run_page_do) */
	if (old.run)
		munmap(old.run, KHYP_RUN_SIZE);
	pthread_mutex_unlock(&pool.lock);
	if (old.fd >= 0)
		timed_close("close vCPU", old.fd);
}

/* Map part of a VM's guest memory, write into it (code for its vCPUs). */
static void op_guest_mem(int vm)
{
	size_t len = (1 + below(16)) * PAGE;
	off_t off = below(4) ? below(16) * PAGE : (off_t)(edge64() & ~0xfffULL);
	unsigned int i = below(MAX_MAPS), k;
	struct fz_map old;
	unsigned char *p;

	if (below(8) == 0) {
		/*
		 * Odd protections, sizes and offsets: mostly refused; what
		 * is mapped goes again at once, all of it (a page left
		 * mapped would keep the VM alive after its fd is closed).
		 */
		size_t odd = below(3) * PAGE + below(2);

		p = mmap(NULL, odd, below(8), below(2) ? MAP_PRIVATE : MAP_SHARED,
			 vm, edge64() & ~0xfffULL);
		if (p != MAP_FAILED)
			munmap(p, odd);
		return;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, vm, off);
	if (p == MAP_FAILED)
		return;
	if (sigsetjmp(fault_jmp, 1) == 0) {
		fault_armed = 1;
		/* random bytes, or HLT/OUT/jmp-self sprinkled over zeroes */
		for (k = 0; k < 64; k++) {
			size_t at = below(len);

			p[at] = below(2) ? rnd() :
				"\xf4\xe6\xeb\x0f\xcd\x90\xcc\xe4"[below(8)];
		}
	} else {
		atomic_fetch_add(&nr_faults, 1);
	}
	fault_armed = 0;
	pthread_mutex_lock(&pool.lock);
	old = pool.maps[i];
	pool.maps[i].addr = p;
	pool.maps[i].len = len;
	pthread_mutex_unlock(&pool.lock);
	if (old.addr)
		munmap(old.addr, old.len);
}

/* ---- vCPUs ---- */

static const uint32_t msr_list[] = {
	0x10, 0x1b, 0x3a, 0x48, 0x49, 0x8b, 0xfe, 0x174, 0x175, 0x176,
	0x1d9, 0x277, 0x2ff, 0x6e0, 0x800, 0x802, 0x803, 0x808, 0x80a,
	0x80b, 0x80f, 0x828, 0x830, 0x832, 0x838, 0x839, 0x83e, 0x83f,
	0xc0000080, 0xc0000081, 0xc0000082, 0xc0000084, 0xc0000100,
	0xc0000101, 0xc0000102, 0xc0000103, 0xc0010055, 0xc0010117,
};

static void op_vcpu_state(int fd)
{
	struct khyp_regs regs;
	struct khyp_sregs sregs;
	struct khyp_msrs msrs;
	struct khyp_cpuid cpuid;
	struct khyp_event ev;
	unsigned int i;

	switch (below(8)) {
	case 0:
		if (call("GET_REGS", fd, KHYP_GET_REGS, &regs, false))
			memset(&regs, 0, sizeof(regs));
		mutate(&regs, sizeof(regs));
		if (below(2))
			regs.rflags = 2 | (below(2) << 9);
		call("SET_REGS", fd, KHYP_SET_REGS, &regs, false);
		break;
	case 1:
		if (call("GET_SREGS", fd, KHYP_GET_SREGS, &sregs, false))
			memset(&sregs, 0, sizeof(sregs));
		mutate(&sregs, sizeof(sregs));
		if (below(4) == 0) {
			/* towards protected and long mode */
			sregs.cr0 |= below(2) ? 0x80000011 : 0x11;
			sregs.cr4 |= below(2) ? 0x20 : 0;
			sregs.efer |= below(2) ? 0x500 : 0;
			sregs.cr3 = below(8) * PAGE;
		}
		call("SET_SREGS", fd, KHYP_SET_SREGS, &sregs, false);
		break;
	case 2:
	case 3:
		memset(&msrs, 0, sizeof(msrs));
		msrs.nmsrs = below(4) ? 1 + below(4) : edge64();
		for (i = 0; i < KHYP_MAX_MSRS; i++) {
			msrs.entries[i].index = below(8) ?
				msr_list[below(sizeof(msr_list) / 4)] : edge64();
			msrs.entries[i].data = edge64();
		}
		if (below(4) == 0)
			mutate(&msrs, sizeof(msrs));
		call(below(2) ? "SET_MSRS" : "GET_MSRS", fd,
		     below(2) ? KHYP_SET_MSRS : KHYP_GET_MSRS, &msrs, false);
		break;
	case 4:
		if (call("GET_CPUID", fd, KHYP_GET_CPUID, &cpuid, false))
			memset(&cpuid, 0, sizeof(cpuid));
		mutate(&cpuid, sizeof(cpuid));
		if (below(4) == 0)
			cpuid.nent = edge64();
		call("SET_CPUID", fd, KHYP_SET_CPUID, &cpuid, false);
		break;
	case 5:
		memset(&ev, 0, sizeof(ev));
		ev.type = below(4);
		ev.vector = below(4) ? below(32) : edge64();
		ev.flags = below(2);
		ev.error_code = edge64();
		if (below(4) == 0)
			mutate(&ev, sizeof(ev));
		call("INJECT_EVENT", fd, KHYP_INJECT_EVENT, &ev, false);
		break;
	case 6:
		/* any command in khyp's space on a vCPU fd */
		{
			unsigned char buf[1024];
			unsigned long cmd = _IOC(below(4), KHYPIO, below(0x40),
						 below(sizeof(buf)));

			memset(buf, 0, sizeof(buf));
			mutate(buf, sizeof(buf));
			if (cmd == KHYP_RUN)
				break;
			call("vcpu ioctl", fd, cmd, buf, false);
		}
		break;
	default:
		/* a bad user pointer for every argument-taking command */
		call("GET_SREGS", fd, KHYP_GET_SREGS, (void *)edge64(), false);
		call("SET_MSRS", fd, KHYP_SET_MSRS, (void *)edge64(), false);
		break;
	}
}

static void on_alarm(int sig)
{
}

static void on_fault(int sig)
{
	if (fault_armed)
		siglongjmp(fault_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Run pages are read and written only under pool.lock, and only while the
 * slot still holds the fd this thread ran: another thread unmaps a page
 * (under the lock) when it closes or replaces the vCPU.
 */
static void run_page_before(unsigned int slot, int fd)
{
	struct khyp_run *run;

	pthread_mutex_lock(&pool.lock);
	run = pool.vcpus[slot].fd == fd ? pool.vcpus[slot].run : NULL;
	if (run && below(16) == 0)
		run->immediate_exit = below(2);
	if (run && below(8) == 0)
		run->request_interrupt_window = below(2);
	pthread_mutex_unlock(&pool.lock);
}

static void run_page_after(unsigned int slot, int fd)
{
	struct khyp_run *run;

	pthread_mutex_lock(&pool.lock);
	run = pool.vcpus[slot].fd == fd ? pool.vcpus[slot].run : NULL;
	if (run && run->exit_reason == KHYP_EXIT_IO)
		run->io.data = edge64();
	else if (run && run->exit_reason == KHYP_EXIT_MMIO)
		run->mmio.data = edge64();
	else if (run && run->exit_reason == KHYP_EXIT_HYPERCALL)
		run->hypercall.ret = edge64();
	pthread_mutex_unlock(&pool.lock);
}

/*
 * KHYP_RUN for a few ms of guest time, answering a few exits at random.
 * The timer repeats: a tick that lands between two KHYP_RUNs must not
 * leave the next one without a way out of a guest that loops or halts.
 */
static void op_run(unsigned int slot, int fd, timer_t timer)
{
	struct itimerspec its = {
		.it_value.tv_nsec = (1 + below(20)) * 1000000,
		.it_interval.tv_nsec = 5000000,
	};
	unsigned int n = 1 + below(4);

	run_page_before(slot, fd);
	timer_settime(timer, 0, &its, NULL);
	while (n--) {
		if (call("RUN", fd, KHYP_RUN, 0, false))
			break;
		run_page_after(slot, fd);
	}
	memset(&its, 0, sizeof(its));
	timer_settime(timer, 0, &its, NULL);
}

static void op_close_vcpu(void)
{
	unsigned int i = below(MAX_VCPUS);
	int fd;

	pthread_mutex_lock(&pool.lock);
	fd = pool.vcpus[i].fd;
	pool.vcpus[i].fd = -1;
	if (pool.vcpus[i].run)
		munmap(pool.vcpus[i].run, KHYP_RUN_SIZE);
	pool.vcpus[i].run = NULL;
	pthread_mutex_unlock(&pool.lock);
	if (fd >= 0)
		timed_close("close vCPU", fd);
}

static void *fuzz_thread(void *arg)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGALRM,
	};
	timer_t timer;
	unsigned int op, slot;
	int vm, fd;

	thread_no = (uintptr_t)arg % NR_THREADS;
	rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL | 1;
	sev._sigev_un._tid = syscall(SYS_gettid);
	tids[thread_no] = sev._sigev_un._tid;
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer))
		return (void *)"timer_create";

	/*
	 * One VM or vCPU created or closed in ~20 calls: objects live long
	 * enough to gather regions, an irqchip, memory and runs before a
	 * close races with them.  Creating and closing are also the slow
	 * calls on the debug kernel (40 times production's, against 3 for
	 * a run), where they were ~20% of the calls and ~80% of the time.
	 */
	while (now_s() < deadline && atomic_load(&nr_calls) < max_calls) {
		op = below(100);
		if (op < 6) {
			op_dev();
		} else if (op < 7) {
			op_create_vm();
		} else if (op < 8) {
			op_close_vm();
		} else if (op < 50) {
			vm = pick_vm();
			if (vm < 0) {
				op_create_vm();
				continue;
			}
			if (op < 22)
				op_region(vm);
			else if (op < 30)
				op_irq(vm);
			else if (op < 32)
				op_create_vcpu(vm);
			else
				op_guest_mem(vm);
		} else if (op < 51) {
			op_close_vcpu();
		} else {
			fd = pick_vcpu(&slot);
			if (fd < 0) {
				vm = pick_vm();
				if (vm >= 0)
					op_create_vcpu(vm);
				continue;
			}
			if (op < 80)
				op_vcpu_state(fd);
			else
				op_run(slot, fd, timer);
		}
	}
	timer_delete(timer);
	atomic_fetch_add(&nr_done, 1);
	return NULL;
}

struct op_time {
	const char *what;
	unsigned long n, ns;
};

static int by_time(const void *a, const void *b)
{
	const struct op_time *x = a, *y = b;

	return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

/* The eight calls that took the most time, on one line. */
static void op_times_line(char *line, size_t size)
{
	struct op_time t[MAX_OP_TIMES];
	unsigned long total = 0;
	unsigned int i, nr;
	size_t len = 0;

	for (nr = 0; nr < MAX_OP_TIMES && op_times[nr].what; nr++) {
		t[nr].what = op_times[nr].what;
		t[nr].n = op_times[nr].n;
		t[nr].ns = op_times[nr].ns;
		total += t[nr].ns;
	}
	qsort(t, nr, sizeof(t[0]), by_time);
	line[0] = 0;
	for (i = 0; i < nr && i < 8 && total && len < size; i++)
		len += snprintf(line + len, size - len, "%s%s %lu%% (%lu, %lu us)",
				i ? ", " : "", t[i].what, t[i].ns * 100 / total,
				t[i].n, t[i].ns / 1000 / t[i].n);
}

/* Print a file of /proc, prefixed, to the test's output. */
static void dump_proc(const char *path, const char *prefix)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f) {
		printf("# %s%s: %s\n", prefix, path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f))
		printf("# %s%s", prefix, line);
	fclose(f);
}

/*
 * A thread still inside a call long after the deadline is stuck, most
 * likely in the kernel: say in which call, with its kernel stack.
 */
static void watchdog(double deadline_, unsigned long *last_calls)
{
	char path[64];
	unsigned int i;

	printf("# stuck %.0f s after the deadline (%lu calls, %lu a while ago):\n",
	       now_s() - deadline_, atomic_load(&nr_calls), *last_calls);
	*last_calls = atomic_load(&nr_calls);
	for (i = 0; i < NR_THREADS; i++) {
		printf("# thread %u (tid %d): %s\n", i, tids[i],
		       cur_op[i] ? cur_op[i] : "?");
		snprintf(path, sizeof(path), "/proc/self/task/%d/stack", tids[i]);
		dump_proc(path, "  ");
		snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", tids[i]);
		dump_proc(path, "  wchan ");
		printf("\n");
	}
	fflush(stdout);
}

FIXTURE(fuzz) {
	int unused;
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

/* The harness's limit: `make fuzz` may ask for up to FUZZ_MAX_SECONDS. */
#define FUZZ_MAX_SECONDS	1100

TEST_F_TIMEOUT(fuzz, ioctls_from_threads, FUZZ_MAX_SECONDS + 100)
{
	const char *env = getenv("KHYP_FUZZ_SECONDS");
	double seconds = env ? atof(env) : 300;
	uint64_t seed;
	pthread_t th[NR_THREADS];
	struct sigaction sa = { .sa_handler = on_alarm };
	long refcnt_before, refcnt_after;
	double start, end;
	unsigned int i;
	char buf[24], line[512];
	void *err;

	if (seconds > FUZZ_MAX_SECONDS)
		seconds = FUZZ_MAX_SECONDS;
	env = getenv("KHYP_FUZZ_SEED");
	seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	/* The machine's bound (scripts/test.sh) unless the caller gives one. */
	env = getenv("KHYP_FUZZ_CALLS");
	if (!env)
		env = machine_expect("fuzz_calls", buf, sizeof(buf));
	max_calls = env ? strtoul(env, NULL, 0) : 100000;

	refcnt_before = khyp_module_refcnt();
	ASSERT_LE(0, refcnt_before) TH_LOG("khyp.ko is not loaded");
	pool.dev = open(KHYP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, pool.dev) TH_LOG(KHYP_DEV ": %s", strerror(errno));
	pool.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, pool.efd);
	for (i = 0; i < MAX_VMS; i++)
		pool.vms[i] = -1;
	for (i = 0; i < MAX_VCPUS; i++)
		pool.vcpus[i].fd = -1;

	/* SIGALRM interrupts KHYP_RUN (no SA_RESTART); faults are caught */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));

	TH_LOG("seed %llu, %d threads, %lu calls or %.0f s (KHYP_FUZZ_SEED, KHYP_FUZZ_CALLS, KHYP_FUZZ_SECONDS)",
	       (unsigned long long)seed, NR_THREADS, max_calls, seconds);
	start = now_s();
	deadline = start + seconds;
	for (i = 0; i < NR_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fuzz_thread,
					    (void *)(uintptr_t)(seed * NR_THREADS + i)));
	{
		unsigned long last = 0;
		double next = deadline + 15;

		while (atomic_load(&nr_done) < NR_THREADS) {
			usleep(200000);
			if (now_s() > next) {
				watchdog(deadline, &last);
				next = now_s() + 30;
			}
		}
	}
	end = now_s();
	for (i = 0; i < NR_THREADS; i++) {
		pthread_join(th[i], &err);
		EXPECT_EQ(NULL, err) TH_LOG("thread %u: %s", i, (char *)err);
	}

	/* everything goes: fds, run pages, guest memory mappings */
	for (i = 0; i < MAX_VCPUS; i++) {
		if (pool.vcpus[i].fd >= 0)
			close(pool.vcpus[i].fd);
		if (pool.vcpus[i].run)
			munmap(pool.vcpus[i].run, KHYP_RUN_SIZE);
	}
	for (i = 0; i < MAX_VMS; i++)
		if (pool.vms[i] >= 0)
			close(pool.vms[i]);
	for (i = 0; i < MAX_MAPS; i++)
		if (pool.maps[i].addr)
			munmap(pool.maps[i].addr, pool.maps[i].len);
	close(pool.dev);
	close(pool.efd);

	TH_LOG("%lu calls in %.1f s, %lu succeeded, %lu guest-memory faults caught",
	       atomic_load(&nr_calls), end - start, atomic_load(&nr_ok),
	       atomic_load(&nr_faults));
	op_times_line(line, sizeof(line));
	TH_LOG("time in calls, by call: %s", line);
	EXPECT_EQ(0, atomic_load(&nr_bad)) TH_LOG("%lu unexpected results, the first: %s",
						  atomic_load(&nr_bad), first_bad);
	EXPECT_LT(1000, atomic_load(&nr_calls));
	EXPECT_LT(0, atomic_load(&nr_ok));

	refcnt_after = khyp_module_refcnt();
	EXPECT_EQ(refcnt_before, refcnt_after)
		TH_LOG("module references: %ld before, %ld after closing everything",
		       refcnt_before, refcnt_after);
	EXPECT_EQ(-1, khyp_newest_vm()) TH_LOG("a VM is still in debugfs");
}

TEST_HARNESS_MAIN
