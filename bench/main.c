// SPDX-License-Identifier: GPL-2.0
/*
 * khyp-bench: time the same guest workloads through KVM or khyp.
 *
 *   khyp-bench --hv kvm|khyp [--short] [--reps N] [--only W[,W...]]
 *
 * Each workload is a guest function of this binary doing N iterations,
 * then an OUT to BENCH_PORT_DONE; the host times the whole run with
 * CLOCK_MONOTONIC and divides by N.  VM and vCPU creation are timed on
 * the host alone.  Every workload runs --reps times (5; 1 with --short)
 * after one untimed warm-up, each repetition after 0.3 s of quiet
 * (settle(); not with --short), and the median is reported, on lines
 *
 *   result HV WORKLOAD MEDIAN MIN MAX UNIT
 *
 * that scripts/bench.sh pairs into a KVM/khyp table.  Each run is also
 * checked (the guest did all its iterations and saw the right values, the
 * memory it wrote reads back on the host, the times are positive); a
 * failed check prints "FAIL" and makes the exit status 1.  --short runs
 * small iteration counts and sizes: `make test` runs it in every machine
 * so that the benchmark cannot rot.  See docs/performance.md.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/khyp_balloon.h>

#include "bench.h"
#include "hv_khyp.h"

#define MAX_REPS	31
#define UNUSED		__attribute__((unused))
#define BALLOON_BATCH	KHYP_BALLOON_BATCH_MAX

/* ---- guest side ---- */

/* What the guest reports, besides the OUT that ends a workload. */
static volatile struct {
	uint64_t done;		/* iterations done */
	uint64_t bad;		/* iterations that saw a wrong value */
} g_result;

/* The in-kernel hypercall of this run (set by the host). */
static volatile uint64_t g_hc_nr, g_hc_arg, g_hc_ret;

/* The balloon's page list. */
static volatile uint64_t g_list[BALLOON_BATCH] __attribute__((aligned(4096)));

static void __attribute__((noreturn)) guest_finish(uint64_t done,
						   uint64_t bad)
{
	g_result.done = done;
	g_result.bad = bad;
	for (;;)
		guest_out32(BENCH_PORT_DONE, done);
}

/* VMMCALL on AMD and Hygon, VMCALL on Intel: the vendor the guest sees. */
static bool guest_is_amd(void)
{
	uint32_t r[4];

	guest_cpuid(0, r);
	return r[1] == 0x68747541 /* "Auth" */ || r[1] == 0x6f677948 /* "Hygo" */;
}

static uint64_t guest_hypercall(bool amd, uint64_t nr, uint64_t a0,
				uint64_t a1)
{
	return amd ? guest_vmmcall(nr, a0, a1) : guest_vmcall(nr, a0, a1);
}

static void guest_cpuid_loop(uint64_t n, UNUSED uint64_t unused)
{
	uint32_t r[4];
	uint64_t i;

	for (i = 0; i < n; i++)
		guest_cpuid(0, r);
	guest_finish(n, 0);
}

static void guest_hypercall_loop(uint64_t n, UNUSED uint64_t unused)
{
	bool amd = guest_is_amd();
	uint64_t i, bad = 0;

	for (i = 0; i < n; i++)
		if (guest_hypercall(amd, g_hc_nr, g_hc_arg, 0) != g_hc_ret)
			bad++;
	guest_finish(n, bad);
}

static void guest_pio_loop(uint64_t n, UNUSED uint64_t unused)
{
	uint64_t i, bad = 0;

	for (i = 0; i < n; i++)
		if (guest_in32(BENCH_PORT_IN) != BENCH_IN_VALUE)
			bad++;
	guest_finish(n, bad);
}

static void guest_mmio_loop(uint64_t n, UNUSED uint64_t unused)
{
	volatile uint32_t *reg = (volatile uint32_t *)BENCH_GPA_MMIO;
	uint64_t i, bad = 0;

	for (i = 0; i < n; i++)
		if (*reg != BENCH_IN_VALUE)
			bad++;
	guest_finish(n, bad);
}

/*
 * Interrupt round trip: OUT "ready" (the host injects), the handler
 * (guest.c) counts and acknowledges with an OUT, IRETQ.
 */
static void guest_irq_loop(uint64_t n, UNUSED uint64_t unused)
{
	uint64_t i, before, spins, bad = 0;

	asm volatile("sti" : : : "memory");
	for (i = 0; i < n; i++) {
		before = bench_irq_count;
		guest_out32(BENCH_PORT_READY, i);
		for (spins = 0; bench_irq_count == before && spins < 1000000;
		     spins++)
			asm volatile("pause" : : : "memory");
		if (bench_irq_count != before + 1)
			bad++;
	}
	asm volatile("cli" : : : "memory");
	guest_finish(n, bad);
}

/* ---- the local APIC (VMs with an in-kernel irqchip) ---- */

#define APIC_EOI	0xb0
#define APIC_SVR	0xf0
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define APIC_LVTT	0x320
#define APIC_TMICT	0x380
#define APIC_TDCR	0x3e0
#define ICR_SELF	0x40000
#define V_SELF		(BENCH_APIC_VECTOR + 0)	/* self-IPI */
#define V_TIMER		(BENCH_APIC_VECTOR + 1)	/* LAPIC timer */
#define V_PING		(BENCH_APIC_VECTOR + 2)	/* vCPU 0 -> vCPU 1 */
#define V_PONG		(BENCH_APIC_VECTOR + 3)	/* vCPU 1 -> vCPU 0 */
#define APIC_COUNT(v)	bench_apic_count[(v) - BENCH_APIC_VECTOR]
#define TIMER_COUNT	1000	/* 1 us at the APIC's 1 GHz, divide by 1 */
#define SPIN_MAX	10000000ULL

/* One 32-bit store, the same instruction for both hypervisors to decode. */
GUEST_INLINE void apic_write(uint32_t reg, uint32_t v)
{
	asm volatile("movl %0, (%1)" : : "r"(v), "r"(BENCH_APIC_BASE + reg)
		     : "memory");
}

/* Wait until handler @v ran more than @before times; false on timeout. */
GUEST_INLINE bool apic_wait(uint8_t v, uint64_t before)
{
	uint64_t spins;

	for (spins = 0; APIC_COUNT(v) == before && spins < SPIN_MAX; spins++)
		asm volatile("pause" : : : "memory");
	return APIC_COUNT(v) == before + 1;
}

/* Sleep until handler @v ran more than @before times: HLT in the kernel. */
GUEST_INLINE void apic_halt_until(uint8_t v, uint64_t before)
{
	asm volatile("cli" : : : "memory");
	while (APIC_COUNT(v) == before)
		asm volatile("sti; hlt; cli" : : : "memory");
	asm volatile("sti" : : : "memory");
}

/* Self-IPI round trip: ICR (self, fixed), the handler, its EOI. */
static void guest_self_ipi(uint64_t n, UNUSED uint64_t unused)
{
	uint64_t i, bad = 0;

	apic_write(APIC_SVR, 0x1ff);
	asm volatile("sti" : : : "memory");
	for (i = 0; i < n; i++) {
		uint64_t before = APIC_COUNT(V_SELF);

		apic_write(APIC_ICR, ICR_SELF | V_SELF);
		if (!apic_wait(V_SELF, before))
			bad++;
	}
	asm volatile("cli" : : : "memory");
	guest_finish(n, bad);
}

/* LAPIC timer: one-shot of TIMER_COUNT ns, to the handler and its EOI. */
static void guest_timer(uint64_t n, UNUSED uint64_t unused)
{
	uint64_t i, bad = 0;

	apic_write(APIC_SVR, 0x1ff);
	apic_write(APIC_TDCR, 0xb);		/* divide by 1 */
	apic_write(APIC_LVTT, V_TIMER);		/* one-shot, unmasked */
	asm volatile("sti" : : : "memory");
	for (i = 0; i < n; i++) {
		uint64_t before = APIC_COUNT(V_TIMER);

		apic_write(APIC_TMICT, TIMER_COUNT);
		if (!apic_wait(V_TIMER, before))
			bad++;
	}
	asm volatile("cli" : : : "memory");
	guest_finish(n, bad);
}

/* EOI with nothing in service: the register write alone. */
static void guest_eoi(uint64_t n, UNUSED uint64_t unused)
{
	uint64_t i;

	apic_write(APIC_SVR, 0x1ff);
	for (i = 0; i < n; i++)
		apic_write(APIC_EOI, 0);
	guest_finish(n, 0);
}

static volatile uint64_t g_ipi_stop;

/*
 * A periodic LAPIC timer every WATCHDOG_COUNT ns (10 ms) while a vCPU of
 * the IPI round trip may halt.  QEMU before 9.1 drops the STI shadow at
 * VMRUN, so under a hypervisor that does not work around it (KVM) an IPI
 * can be taken between the STI and the HLT of apic_halt_until(): the HLT
 * then sleeps with the answer already counted, and nothing else would
 * ever wake it (svm-qemu-smp2 hung so in KVM's runs).  The tick bounds
 * such a lost wake-up to 10 ms; apic_halt_until() halts again after a
 * tick.  Both hypervisors run the same ticks, ~1% of a run.
 */
#define WATCHDOG_COUNT	10000000
#define APIC_LVT_PERIODIC	(1U << 17)

GUEST_INLINE void apic_watchdog(bool on)
{
	if (on) {
		apic_write(APIC_TDCR, 0xb);		/* divide by 1 */
		apic_write(APIC_LVTT, APIC_LVT_PERIODIC | V_TIMER);
	}
	apic_write(APIC_TMICT, on ? WATCHDOG_COUNT : 0);
}

/*
 * IPI round trip between two vCPUs, vCPU 0's side: a fixed IPI to APIC 1,
 * then HLT until vCPU 1's answer came in.  At the end it tells vCPU 1 to
 * stop (g_ipi_stop and one more IPI).
 */
static void guest_ipi_ping(uint64_t n, UNUSED uint64_t unused)
{
	uint64_t i;

	apic_write(APIC_SVR, 0x1ff);
	apic_watchdog(true);
	asm volatile("sti" : : : "memory");
	for (i = 0; i < n; i++) {
		uint64_t before = APIC_COUNT(V_PONG);

		apic_write(APIC_ICR2, 1U << 24);
		apic_write(APIC_ICR, V_PING);
		apic_halt_until(V_PONG, before);
	}
	g_ipi_stop = 1;
	apic_write(APIC_ICR2, 1U << 24);
	apic_write(APIC_ICR, V_PING);
	asm volatile("cli" : : : "memory");
	apic_watchdog(false);
	guest_finish(n, 0);
}

/*
 * vCPU 1: HLT; answer each IPI from vCPU 0 with one back.  It ends with
 * the OUT alone: g_result is vCPU 0's.
 */
static void guest_ipi_pong(UNUSED uint64_t n, UNUSED uint64_t unused)
{
	uint64_t seen = APIC_COUNT(V_PING);

	/* Enabled before vCPU 0 starts: a disabled APIC drops the IPI. */
	apic_write(APIC_SVR, 0x1ff);
	guest_out32(BENCH_PORT_SYNC, 0);
	apic_watchdog(true);
	asm volatile("sti" : : : "memory");
	for (;;) {
		apic_halt_until(V_PING, seen);
		seen = APIC_COUNT(V_PING);
		if (g_ipi_stop)
			break;
		apic_write(APIC_ICR2, 0);
		apic_write(APIC_ICR, V_PONG);
	}
	asm volatile("cli" : : : "memory");
	apic_watchdog(false);
	for (;;)
		guest_out32(BENCH_PORT_DONE, seen);
}

static inline uint64_t pattern(uint64_t gpa, uint64_t pass)
{
	return (gpa * 0x9e3779b97f4a7c15ULL) ^ pass;
}

/* One write per 4 KiB page of [BENCH_GPA_BIG, + size). */
static void guest_touch(uint64_t size, uint64_t pass)
{
	uint64_t gpa;

	/*
	 * With IF set, as an OS's code runs: Bochs 2.7 keeps the host's
	 * interrupts masked in a guest that runs with IF clear (VMX and
	 * SVM, docs/emulators.md), so under KVM an exit-free pass ran
	 * without the host's timer tick, which khyp on VMX lets in
	 * (vmx/run.c: vmx_set_timer()).  Nothing is injected here; the
	 * handlers are there anyway.
	 */
	asm volatile("sti" : : : "memory");
	for (gpa = BENCH_GPA_BIG; gpa < BENCH_GPA_BIG + size;
	     gpa += PAGE_SIZE_4K)
		*(volatile uint64_t *)gpa = pattern(gpa, pass);
	asm volatile("cli" : : : "memory");
	guest_finish(size / PAGE_SIZE_4K, 0);
}

/*
 * vCPU @who (0 or 1) of the 2-vCPU first touch: one write per 4 KiB page
 * of its half of [BENCH_GPA_BIG, + size).  vCPU 0 reports the whole
 * count; vCPU 1 ends with the OUT alone (g_result is vCPU 0's).
 */
static void guest_touch_half(uint64_t size, uint64_t who)
{
	uint64_t half = size / 2, start = BENCH_GPA_BIG + who * half, gpa;

	asm volatile("sti" : : : "memory");	/* as guest_touch() */
	for (gpa = start; gpa < start + half; gpa += PAGE_SIZE_4K)
		*(volatile uint64_t *)gpa = pattern(gpa, 1);
	asm volatile("cli" : : : "memory");
	if (!who)
		guest_finish(size / PAGE_SIZE_4K, 0);
	for (;;)
		guest_out32(BENCH_PORT_DONE, 0);
}

static uint64_t guest_balloon_size;	/* pages in the balloon */

/*
 * The balloon protocol (uapi/linux/khyp_balloon.h), after
 * selftests/balloon_test.c: touch the heap [BENCH_GPA_BIG, + size), stop
 * at BENCH_PORT_SYNC, then inflate from the top of the heap down until
 * the balloon holds the target, and finish.
 */
static void guest_balloon(uint64_t size, UNUSED uint64_t unused)
{
	uint64_t end = BENCH_GPA_BIG + size, max = size / PAGE_SIZE_4K;
	uint64_t gpa, t, n, i, r, bad = 0;
	bool amd = guest_is_amd();

	if (guest_hypercall(amd, KHYP_HC_BALLOON_PROBE, KHYP_BALLOON_VERSION,
			    0) != KHYP_BALLOON_VERSION)
		guest_finish(0, 1);
	for (gpa = BENCH_GPA_BIG; gpa < end; gpa += PAGE_SIZE_4K)
		*(volatile uint64_t *)gpa = pattern(gpa, 1);
	guest_out32(BENCH_PORT_SYNC, 0);

	for (;;) {
		t = guest_hypercall(amd, KHYP_HC_BALLOON_TARGET, 0, 0);
		if (t > max)
			t = max;
		if (guest_balloon_size >= t)
			break;
		n = t - guest_balloon_size;
		if (n > BALLOON_BATCH)
			n = BALLOON_BATCH;
		for (i = 0; i < n; i++)
			g_list[i] = end - (guest_balloon_size + 1 + i) *
					  PAGE_SIZE_4K;
		r = guest_hypercall(amd, KHYP_HC_BALLOON_INFLATE,
				    (uint64_t)(uintptr_t)g_list, n);
		if (r == 0 || r > n) {
			bad++;
			break;
		}
		for (i = 0; i < r; i++)
			if (g_list[i] & 0xfff)
				bad++;
		guest_balloon_size += r;
	}
	guest_finish(guest_balloon_size, bad);
}

/* ---- host side ---- */

static const struct hv_ops *hv;
static bool opt_short;
static int opt_reps = 5;
static int failures;

/*
 * Before each timed repetition, 0.3 s with nothing to do.  On the
 * machines' instruction clocks, any other task's work done during a
 * timed loop counts as the loop's.  khyp's pool thread (mmu/zeropool.c,
 * on in the bench) refills a VM's pool 0.1 s after a region was added
 * or a block taken: ~9 ms of Bochs' clock per 2 MiB block, which used to
 * land in whatever loop ran then (the hypercall's on vmx-bochs, +6 us an
 * exit; port I/O's on svm-bochs).  KVM has nothing to finish; both get
 * the same pause.  Not with --short, whose times nobody judges.
 */
#define SETTLE_US	300000

static void settle(void)
{
	if (!opt_short)
		usleep(SETTLE_US);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void __attribute__((format(printf, 2, 3)))
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	failures++;
	printf("FAIL %s: ", hv->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* A VM with one vCPU, for the workloads that run guest code. */
struct ctx {
	struct bench_vm bvm;
	struct hv_vcpu *vcpu;
};

static int ctx_create(struct ctx *c)
{
	if (bench_vm_create(&c->bvm, hv))
		return -1;
	c->vcpu = hv->vcpu_create(c->bvm.vm, 0);
	if (!c->vcpu) {
		fprintf(stderr, "khyp-bench: %s: create vCPU: %s\n", hv->name,
			strerror(errno));
		bench_vm_destroy(&c->bvm);
		return -1;
	}
	return 0;
}

static void ctx_destroy(struct ctx *c)
{
	hv->vcpu_destroy(c->vcpu);
	bench_vm_destroy(&c->bvm);
}

/*
 * Run the guest until it finishes (0) or stops at BENCH_PORT_SYNC (1):
 * answer IN and MMIO reads, inject an interrupt when asked.  -1 on a
 * failed run or an unexpected exit, with a message.
 */
static int run_guest(struct ctx *c)
{
	struct hv_exit ex;

	for (;;) {
		if (hv->run(c->vcpu, &ex)) {
			check(false, "run: %s", strerror(errno));
			return -1;
		}
		switch (ex.kind) {
		case HV_EXIT_IO:
			if (!ex.write && ex.port == BENCH_PORT_IN) {
				hv->complete_read(c->vcpu, BENCH_IN_VALUE);
				continue;
			}
			if (!ex.write)
				break;
			if (ex.port == BENCH_PORT_DONE)
				return 0;
			if (ex.port == BENCH_PORT_SYNC)
				return 1;
			if (ex.port == BENCH_PORT_ACK)
				continue;
			if (ex.port == BENCH_PORT_EXC) {
				check(false, "guest exception, vector %lu",
				      (unsigned long)ex.data);
				return -1;
			}
			if (ex.port != BENCH_PORT_READY)
				break;
			if (!hv->irq_ready(c->vcpu)) {
				hv->request_irq_window(c->vcpu, true);
				if (hv->run(c->vcpu, &ex) ||
				    ex.kind != HV_EXIT_IRQ_WINDOW) {
					check(false, "no interrupt window");
					return -1;
				}
				hv->request_irq_window(c->vcpu, false);
			}
			if (hv->inject_irq(c->vcpu, BENCH_IRQ_VECTOR)) {
				check(false, "inject: %s", strerror(errno));
				return -1;
			}
			continue;
		case HV_EXIT_MMIO:
			if (ex.write || ex.addr != BENCH_GPA_MMIO)
				break;
			hv->complete_read(c->vcpu, BENCH_IN_VALUE);
			continue;
		case HV_EXIT_HLT:
			check(false, "the guest halted");
			return -1;
		case HV_EXIT_IRQ_WINDOW:
			break;
		case HV_EXIT_OTHER:
			check(false, "unexpected exit: %s", ex.what);
			return -1;
		}
		check(false, "unexpected exit kind %d, port 0x%x, addr 0x%lx",
		      ex.kind, ex.port, (unsigned long)ex.addr);
		return -1;
	}
}

/*
 * Start fn(a0, a1), run it to the end, check what it reported; the time
 * of the run in ns, or -1.
 */
static double run_timed(struct ctx *c, void (*fn)(uint64_t, uint64_t),
			uint64_t a0, uint64_t a1, uint64_t want_done)
{
	double t0, t1;
	int r;

	bench_global(&c->bvm, g_result.done) = 0;
	bench_global(&c->bvm, g_result.bad) = ~0ULL;
	if (bench_vcpu_start(&c->bvm, c->vcpu, fn, a0, a1))
		return -1;
	t0 = now_ns();
	r = run_guest(c);
	t1 = now_ns();
	if (r)
		return -1;
	check(bench_global(&c->bvm, g_result.done) == want_done,
	      "the guest did %lu iterations of %lu",
	      (unsigned long)bench_global(&c->bvm, g_result.done),
	      (unsigned long)want_done);
	check(bench_global(&c->bvm, g_result.bad) == 0,
	      "the guest saw %lu wrong values",
	      (unsigned long)bench_global(&c->bvm, g_result.bad));
	check(t1 > t0, "time not positive");
	return t1 - t0;
}

/* ---- the workloads: each fills out[] (ns/op, or as its unit says) ---- */

/* A loop of guest exits: ns per iteration. */
static int exit_loop(struct ctx *c, void (*fn)(uint64_t, uint64_t),
		     long n, double *out)
{
	double t = run_timed(c, fn, n, 0, n);

	if (t < 0)
		return -1;
	out[0] = t / n;
	return 0;
}

static int w_cpuid(struct ctx *c, long n, double *out)
{
	return exit_loop(c, guest_cpuid_loop, n, out);
}

static int w_hypercall(struct ctx *c, long n, double *out)
{
	bench_global(&c->bvm, g_hc_nr) = hv->hc_nr;
	bench_global(&c->bvm, g_hc_arg) = hv->hc_arg;
	bench_global(&c->bvm, g_hc_ret) = hv->hc_ret;
	return exit_loop(c, guest_hypercall_loop, n, out);
}

static int w_pio(struct ctx *c, long n, double *out)
{
	return exit_loop(c, guest_pio_loop, n, out);
}

static int w_mmio(struct ctx *c, long n, double *out)
{
	return exit_loop(c, guest_mmio_loop, n, out);
}

static int w_irq(struct ctx *c, long n, double *out)
{
	uint64_t before = bench_global(&c->bvm, bench_irq_count);
	int r = exit_loop(c, guest_irq_loop, n, out);

	check(r || bench_global(&c->bvm, bench_irq_count) - before ==
	      (uint64_t)n, "%lu interrupts taken, %ld injected",
	      (unsigned long)(bench_global(&c->bvm, bench_irq_count) - before),
	      n);
	return r;
}

/*
 * The local APIC workloads: each repetition in a VM of its own with the
 * in-kernel irqchip (KVM_CREATE_IRQCHIP, KHYP_CREATE_IRQCHIP), so that
 * the APIC's exits, the interrupt and HLT are handled in the kernel by
 * both.  10 untimed iterations first, as the other exit workloads.
 */
static int apic_ctx_create(struct ctx *c, int nr_vcpus,
			   struct hv_vcpu **vcpu1)
{
	if (bench_vm_create(&c->bvm, hv))
		return -1;
	if (hv->create_irqchip(c->bvm.vm)) {
		check(false, "create irqchip: %s", strerror(errno));
		goto destroy_vm;
	}
	c->vcpu = hv->vcpu_create(c->bvm.vm, 0);
	if (!c->vcpu) {
		check(false, "create vCPU 0: %s", strerror(errno));
		goto destroy_vm;
	}
	if (nr_vcpus < 2)
		return 0;
	*vcpu1 = hv->vcpu_create(c->bvm.vm, 1);
	if (!*vcpu1 || hv->vcpu_runnable(*vcpu1)) {
		check(false, "create vCPU 1: %s", strerror(errno));
		if (*vcpu1)
			hv->vcpu_destroy(*vcpu1);
		goto destroy_vcpu;
	}
	return 0;
destroy_vcpu:
	hv->vcpu_destroy(c->vcpu);
destroy_vm:
	bench_vm_destroy(&c->bvm);
	return -1;
}

/* One vCPU: warm up, then n iterations of @fn; ns per iteration. */
static int apic_loop(void (*fn)(uint64_t, uint64_t), long n, double *out)
{
	struct ctx c;
	double t;
	int r = -1;

	if (apic_ctx_create(&c, 1, NULL))
		return -1;
	if (run_timed(&c, fn, 10, 0, 10) < 0)
		goto out;
	settle();	/* the VM is new: its pool fills now, not in the loop */
	t = run_timed(&c, fn, n, 0, n);
	if (t < 0)
		goto out;
	out[0] = t / n;
	r = 0;
out:
	ctx_destroy(&c);
	return r;
}

static int w_self_ipi(UNUSED struct ctx *unused, long n, double *out)
{
	return apic_loop(guest_self_ipi, n, out);
}

static int w_timer(UNUSED struct ctx *unused, long n, double *out)
{
	return apic_loop(guest_timer, n, out);
}

static int w_eoi(UNUSED struct ctx *unused, long n, double *out)
{
	return apic_loop(guest_eoi, n, out);
}

/* vCPU 1's thread: run it until it finishes. */
static void *ipi_pong_thread(void *arg)
{
	struct ctx *c1 = arg;

	if (run_guest(c1) != 0)
		check(false, "vCPU 1 did not finish");
	return NULL;
}

/*
 * IPI round trip between two vCPUs, each run by its own thread: ns per
 * round trip on vCPU 0.  With one host CPU the two threads take turns
 * (the IPI wakes the halted vCPU's thread): scripts/bench.sh says so.
 */
static int ipi_2vcpu_run(struct ctx *c, struct hv_vcpu *vcpu1, long n,
			 double *t)
{
	struct ctx c1 = *c;
	pthread_t th;

	c1.vcpu = vcpu1;
	bench_global(&c->bvm, g_ipi_stop) = 0;
	bench_global(&c->bvm, APIC_COUNT(V_PING)) = 0;
	bench_global(&c->bvm, APIC_COUNT(V_PONG)) = 0;
	if (bench_vcpu_start_stack(&c->bvm, vcpu1, guest_ipi_pong, 0, 0,
				   BENCH_GPA_STACK_TOP - MiB))
		return -1;
	if (run_guest(&c1) != 1) {
		check(false, "vCPU 1 did not enable its APIC");
		return -1;
	}
	if (pthread_create(&th, NULL, ipi_pong_thread, &c1)) {
		check(false, "pthread_create");
		return -1;
	}
	*t = run_timed(c, guest_ipi_ping, n, 0, n);
	pthread_join(th, NULL);
	return *t < 0 ? -1 : 0;
}

static int w_ipi_2vcpu(UNUSED struct ctx *unused, long n, double *out)
{
	struct hv_vcpu *vcpu1 = NULL;
	struct ctx c;
	double t;
	int r = -1;

	if (apic_ctx_create(&c, 2, &vcpu1))
		return -1;
	if (ipi_2vcpu_run(&c, vcpu1, 10, &t))
		goto out;
	settle();	/* as apic_loop() */
	if (ipi_2vcpu_run(&c, vcpu1, n, &t))
		goto out;
	out[0] = t / n;
	r = 0;
out:
	hv->vcpu_destroy(vcpu1);
	ctx_destroy(&c);
	return r;
}

/*
 * A fresh region of n MiB (slot 1): the guest writes each 4 KiB page once
 * (first touch: second-level faults), then again (steady state); the host
 * reads every page back.  out[0], out[1]: ns per page.
 */
static int w_memory(struct ctx *c, long n, double *out)
{
	uint64_t size = n * MiB, pages = size / PAGE_SIZE_4K, i, bad = 0;
	uint8_t *hva;
	double t;
	int r = -1;

	hva = hv->mem_add(c->bvm.vm, 1, BENCH_GPA_BIG, size);
	if (!hva) {
		check(false, "add %ld MiB: %s", n, strerror(errno));
		return -1;
	}
	t = run_timed(c, guest_touch, size, 1, pages);
	if (t < 0)
		goto out;
	out[0] = t / pages;
	t = run_timed(c, guest_touch, size, 2, pages);
	if (t < 0)
		goto out;
	out[1] = t / pages;
	for (i = 0; i < pages; i++) {
		uint64_t gpa = BENCH_GPA_BIG + i * PAGE_SIZE_4K;

		if (*(uint64_t *)(hva + i * PAGE_SIZE_4K) != pattern(gpa, 2))
			bad++;
	}
	check(!bad, "%lu of %lu touched pages read back wrong",
	      (unsigned long)bad, (unsigned long)pages);
	r = 0;
out:
	if (hv->mem_del(c->bvm.vm, 1))
		check(false, "delete the region: %s", strerror(errno));
	return r;
}

/*
 * First touch after the host was idle: a fresh region of 2n MiB (slot 1),
 * then half a second with nothing to do, then the guest writes each
 * 4 KiB page of its first n MiB once.  The same for both: KVM has
 * nothing to do in the pause; khyp's pool thread zeroes blocks for the
 * VM then (mmu/zeropool.c, zero_pool_mb=8, which scripts/bench-guest.sh sets), so this is
 * its first touch while the pool lasts.  out[0]: ns per page.
 */
#define IDLE_US		500000

static int w_memory_idle(struct ctx *c, long n, double *out)
{
	uint64_t size = n * MiB, pages = size / PAGE_SIZE_4K;
	double t;
	int r = -1;

	if (!hv->mem_add(c->bvm.vm, 1, BENCH_GPA_BIG, 2 * size)) {
		check(false, "add %ld MiB: %s", 2 * n, strerror(errno));
		return -1;
	}
	usleep(IDLE_US);
	t = run_timed(c, guest_touch, size, 1, pages);
	if (t < 0)
		goto out;
	out[0] = t / pages;
	r = 0;
out:
	if (hv->mem_del(c->bvm.vm, 1))
		check(false, "delete the region: %s", strerror(errno));
	return r;
}

/* vCPU 1's thread of the 2-vCPU first touch: its run to the end. */
static void *touch_half_thread(void *arg)
{
	struct ctx *c1 = arg;

	if (run_guest(c1) != 0)
		check(false, "vCPU 1 did not finish its half");
	return NULL;
}

/*
 * First touch of n MiB by one vCPU, then of a fresh n MiB by two vCPUs
 * at once, each writing its half (each vCPU in its own thread, as a VMM
 * runs them): the first-touch path must not serialise them.  out[0]: ns
 * per page with two vCPUs; out[1]: the two-vCPU time in percent of the
 * one-vCPU time (100: no cost of the second vCPU; with one host CPU, or
 * single-threaded TCG, the two take turns and 100 is the best possible).
 */
static int w_memory_2vcpu(UNUSED struct ctx *unused, long n, double *out)
{
	uint64_t size = n * MiB, pages = size / PAGE_SIZE_4K;
	struct hv_vcpu *vcpu1;
	double t1, t2, t0;
	struct ctx c, c1;
	pthread_t th;
	int r = -1, run0;

	if (ctx_create(&c))
		return -1;
	vcpu1 = hv->vcpu_create(c.bvm.vm, 1);
	if (!vcpu1) {
		check(false, "create vCPU 1: %s", strerror(errno));
		goto destroy_ctx;
	}
	c1 = c;
	c1.vcpu = vcpu1;

	/* One vCPU: the reference. */
	settle();	/* the new VM's pool fills now, as in mem_first_touch */
	if (!hv->mem_add(c.bvm.vm, 1, BENCH_GPA_BIG, size)) {
		check(false, "add %ld MiB: %s", n, strerror(errno));
		goto destroy_vcpu1;
	}
	t1 = run_timed(&c, guest_touch, size, 1, pages);
	if (hv->mem_del(c.bvm.vm, 1)) {
		check(false, "delete the region: %s", strerror(errno));
		goto destroy_vcpu1;
	}
	if (t1 < 0)
		goto destroy_vcpu1;

	/* Two vCPUs on a fresh region: each its half, at once. */
	settle();	/* the refill the reference's touch asked for */
	if (!hv->mem_add(c.bvm.vm, 1, BENCH_GPA_BIG, size)) {
		check(false, "add %ld MiB: %s", n, strerror(errno));
		goto destroy_vcpu1;
	}
	bench_global(&c.bvm, g_result.done) = 0;
	bench_global(&c.bvm, g_result.bad) = ~0ULL;
	if (bench_vcpu_start(&c.bvm, c.vcpu, guest_touch_half, size, 0) ||
	    bench_vcpu_start_stack(&c.bvm, vcpu1, guest_touch_half, size, 1,
				   BENCH_GPA_STACK_TOP - MiB))
		goto del_region;
	t0 = now_ns();
	if (pthread_create(&th, NULL, touch_half_thread, &c1)) {
		check(false, "pthread_create");
		goto del_region;
	}
	run0 = run_guest(&c);
	pthread_join(th, NULL);
	t2 = now_ns() - t0;
	if (run0)
		goto del_region;
	check(bench_global(&c.bvm, g_result.done) == pages,
	      "the two vCPUs did %lu pages of %lu",
	      (unsigned long)bench_global(&c.bvm, g_result.done),
	      (unsigned long)pages);
	check(t2 > 0 && t1 > 0, "time not positive");
	out[0] = t2 / pages;
	out[1] = 100.0 * t2 / t1;
	r = 0;
del_region:
	if (hv->mem_del(c.bvm.vm, 1))
		check(false, "delete the region: %s", strerror(errno));
destroy_vcpu1:
	hv->vcpu_destroy(vcpu1);
destroy_ctx:
	ctx_destroy(&c);
	return r;
}

/*
 * KVM only: the same with guest memory the host backs with 4 KiB pages
 * (MADV_NOHUGEPAGE), so that KVM maps 4 KiB too: the reference for a
 * hypervisor without 2 MiB mappings.
 */
static int w_memory_4k(struct ctx *c, long n, double *out)
{
	int r;

	hv_kvm_set_thp(false);
	r = w_memory(c, n, out);
	hv_kvm_set_thp(true);
	return r;
}

/* VM create + destroy, n times: ns per VM. */
static int w_vm(UNUSED struct ctx *c, long n, double *out)
{
	double t0 = now_ns(), t1;
	long i;

	for (i = 0; i < n; i++) {
		struct hv_vm *vm = hv->vm_create();

		if (!vm) {
			check(false, "create VM: %s", strerror(errno));
			return -1;
		}
		hv->vm_destroy(vm);
	}
	t1 = now_ns();
	check(t1 > t0, "time not positive");
	out[0] = (t1 - t0) / n;
	return 0;
}

/* n vCPUs in one new VM (ioctl and run-page mmap): ns per vCPU. */
static int w_vcpu(UNUSED struct ctx *c, long n, double *out)
{
	struct hv_vcpu *vcpus[64];
	struct hv_vm *vm = hv->vm_create();
	double t0, t1;
	long i, made;
	int r = 0;

	if (!vm) {
		check(false, "create VM: %s", strerror(errno));
		return -1;
	}
	if (n > 64)
		n = 64;
	t0 = now_ns();
	for (made = 0; made < n; made++) {
		vcpus[made] = hv->vcpu_create(vm, made);
		if (!vcpus[made])
			break;
	}
	t1 = now_ns();
	if (made < n) {
		check(false, "create vCPU %ld: %s", made, strerror(errno));
		r = -1;
	}
	for (i = 0; i < made; i++)
		hv->vcpu_destroy(vcpus[i]);
	hv->vm_destroy(vm);
	check(t1 > t0, "time not positive");
	out[0] = (t1 - t0) / n;
	return r;
}

/* Shrinker counters from debugfs; false if the file is absent. */
static bool read_shrinker(uint64_t *calls, uint64_t *ns)
{
	FILE *f = fopen("/sys/kernel/debug/khyp/shrinker", "r");
	char key[64];
	unsigned long long v;

	*calls = *ns = 0;
	if (!f)
		return false;
	while (fscanf(f, "%63s %llu", key, &v) == 2) {
		if (!strcmp(key, "scan_calls"))
			*calls = v;
		else if (!strcmp(key, "scan_ns"))
			*ns = v;
	}
	fclose(f);
	return true;
}

/*
 * khyp only.  A VM whose guest touched n MiB inflates its balloon to a
 * target of n/2 MiB set with KHYP_SET_BALLOON: out[0] = MiB/s the host
 * got back (pages freed over the guest's run).  Then, with that VM alive,
 * drop_caches makes the kernel call the shrinker: out[1] = ns per
 * scan_objects call from debugfs, or -1 (n/a).
 */
static int w_balloon(UNUSED struct ctx *unused, long n, double *out)
{
	uint64_t size = n * MiB, target = size / 2 / PAGE_SIZE_4K;
	uint64_t calls0, ns0, calls1, ns1;
	struct khyp_balloon_stats st0, st1;
	struct ctx c;
	double t;
	int r = -1;
	FILE *f;

	if (ctx_create(&c))
		return -1;
	if (!hv->mem_add(c.bvm.vm, 1, BENCH_GPA_BIG, size)) {
		check(false, "add %ld MiB: %s", n, strerror(errno));
		goto out;
	}
	bench_global(&c.bvm, guest_balloon_size) = 0;
	if (bench_vcpu_start(&c.bvm, c.vcpu, guest_balloon, size, 0))
		goto out;
	if (run_guest(&c) != 1) {
		check(false, "the balloon guest did not touch its memory");
		goto out;
	}
	settle();	/* the pool's refill after the touch */
	if (khyp_get_balloon(c.bvm.vm, &st0) ||
	    khyp_set_balloon(c.bvm.vm, target)) {
		check(false, "balloon ioctls: %s", strerror(errno));
		goto out;
	}
	t = now_ns();
	if (run_guest(&c) != 0)
		goto out;
	t = now_ns() - t;
	if (khyp_get_balloon(c.bvm.vm, &st1)) {
		check(false, "KHYP_GET_BALLOON: %s", strerror(errno));
		goto out;
	}
	check(bench_global(&c.bvm, g_result.bad) == 0 &&
	      bench_global(&c.bvm, g_result.done) == target,
	      "balloon: %lu pages of %lu, %lu refused",
	      (unsigned long)bench_global(&c.bvm, g_result.done),
	      (unsigned long)target,
	      (unsigned long)bench_global(&c.bvm, g_result.bad));
	check(st1.freed - st0.freed == target, "the host got %lu pages of %lu",
	      (unsigned long)(st1.freed - st0.freed), (unsigned long)target);
	check(t > 0, "time not positive");
	out[0] = (st1.freed - st0.freed) * PAGE_SIZE_4K / (double)MiB /
		 (t / 1e9);

	out[1] = -1;
	if (read_shrinker(&calls0, &ns0)) {
		f = fopen("/proc/sys/vm/drop_caches", "w");
		if (!f || fputs("2\n", f) < 0 || fclose(f)) {
			check(false, "drop_caches: %s", strerror(errno));
			goto out;
		}
		read_shrinker(&calls1, &ns1);
		if (calls1 > calls0)
			out[1] = (double)(ns1 - ns0) / (calls1 - calls0);
	}
	r = 0;
out:
	ctx_destroy(&c);
	return r;
}

struct workload {
	const char *name[2];	/* one or two results */
	const char *unit[2];
	int (*fn)(struct ctx *c, long n, double *out);
	long n_full, n_short;	/* iterations, or MiB for memory */
	const struct hv_ops *only_hv;	/* NULL: both */
	bool needs_ctx;		/* runs guest code in the shared VM */
};

static const struct workload workloads[] = {
	{ { "cpuid" }, { "ns/op" }, w_cpuid, 2000, 20, NULL, true },
	{ { "hypercall" }, { "ns/op" }, w_hypercall, 2000, 20, NULL, true },
	{ { "pio_in" }, { "ns/op" }, w_pio, 1000, 20, NULL, true },
	{ { "mmio_read" }, { "ns/op" }, w_mmio, 1000, 20, NULL, true },
	{ { "irq_inject" }, { "ns/op" }, w_irq, 500, 10, NULL, true },
	{ { "mem_first_touch", "mem_steady" }, { "ns/page", "ns/page" },
	  w_memory, 256, 8, NULL, true },
	{ { "mem_first_touch_idle" }, { "ns/page" }, w_memory_idle, 8, 8,
	  NULL, true },
	{ { "mem_first_touch_4k", "mem_steady_4k" }, { "ns/page", "ns/page" },
	  w_memory_4k, 256, 8, &hv_kvm_ops, true },
	{ { "mem_first_touch_2vcpu", "mem_2vcpu_vs_1" }, { "ns/page", "%" },
	  w_memory_2vcpu, 256, 8, NULL, false },
	{ { "vm_create_destroy" }, { "ns/op" }, w_vm, 20, 2, NULL, false },
	{ { "vcpu_create" }, { "ns/op" }, w_vcpu, 32, 2, NULL, false },
	{ { "balloon_reclaim", "shrinker_scan" }, { "MiB/s", "ns/call" },
	  w_balloon, 128, 16, &hv_khyp_ops, false },
	{ { "apic_self_ipi" }, { "ns/op" }, w_self_ipi, 500, 10, NULL, false },
	{ { "apic_timer" }, { "ns/op" }, w_timer, 500, 10, NULL, false },
	{ { "apic_eoi" }, { "ns/op" }, w_eoi, 1000, 20, NULL, false },
	{ { "apic_ipi_2vcpu" }, { "ns/op" }, w_ipi_2vcpu, 500, 10, NULL,
	  false },
};

#define NR_WORKLOADS	(sizeof(workloads) / sizeof(workloads[0]))

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static bool selected(const char *only, const struct workload *w)
{
	char buf[256], *tok, *save;
	int k;

	if (!only)
		return true;
	snprintf(buf, sizeof(buf), "%s", only);
	/* "+" too: the Bochs machines' command line splits at commas */
	for (tok = strtok_r(buf, ",+", &save); tok;
	     tok = strtok_r(NULL, ",+", &save))
		for (k = 0; k < 2; k++)
			if (w->name[k] && !strcmp(tok, w->name[k]))
				return true;
	return false;
}

/* Warm-up, then the repetitions; print the result lines. */
static void run_workload(struct ctx *c, const struct workload *w)
{
	double vals[2][MAX_REPS], out[2];
	long n = opt_short ? w->n_short : w->n_full;
	int rep, k, reps = 0;

	/* warm-up: the guest's code, data and stack get mapped */
	if (w->needs_ctx && w->fn != w_memory && w->fn != w_memory_4k &&
	    w->fn != w_memory_idle &&
	    w->fn(c, n < 10 ? n : 10, out))
		goto failed;
	for (rep = 0; rep < opt_reps; rep++) {
		out[0] = out[1] = -1;
		settle();
		if (w->fn(c, n, out))
			goto failed;
		for (k = 0; k < 2; k++)
			vals[k][reps] = out[k];
		reps++;
	}
	for (k = 0; k < 2 && w->name[k]; k++) {
		qsort(vals[k], reps, sizeof(double), cmp_double);
		if (vals[k][0] < 0) {
			printf("result %s %s n/a n/a n/a %s\n", hv->name,
			       w->name[k], w->unit[k]);
			continue;
		}
		printf("result %s %s %.0f %.0f %.0f %s\n", hv->name, w->name[k],
		       vals[k][reps / 2], vals[k][0], vals[k][reps - 1],
		       w->unit[k]);
	}
	fflush(stdout);
	return;
failed:
	for (k = 0; k < 2 && w->name[k]; k++)
		printf("result %s %s failed failed failed %s\n", hv->name,
		       w->name[k], w->unit[k]);
	fflush(stdout);
}

static void usage(void)
{
	size_t i;

	fprintf(stderr,
		"usage: khyp-bench --hv kvm|khyp [--short] [--reps N] [--only W,...]\n"
		"workloads:");
	for (i = 0; i < NR_WORKLOADS; i++)
		fprintf(stderr, " %s", workloads[i].name[0]);
	fprintf(stderr, "\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hv", required_argument, NULL, 'h' },
		{ "short", no_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },
		{ "only", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *only = NULL;
	struct ctx c;
	size_t i;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			if (!strcmp(optarg, "kvm"))
				hv = &hv_kvm_ops;
			else if (!strcmp(optarg, "khyp"))
				hv = &hv_khyp_ops;
			else
				usage();
			break;
		case 's':
			opt_short = true;
			opt_reps = 1;
			break;
		case 'r':
			opt_reps = atoi(optarg);
			if (opt_reps < 1 || opt_reps > MAX_REPS)
				usage();
			break;
		case 'o':
			only = optarg;
			break;
		default:
			usage();
		}
	}
	if (!hv || optind != argc)
		usage();

	if (hv->open()) {
		fprintf(stderr, "khyp-bench: open /dev/%s: %s\n", hv->name,
			strerror(errno));
		return 2;
	}
	if (ctx_create(&c))
		return 2;
	printf("# khyp-bench: %s, %d repetition(s)%s, hypercall %s\n",
	       hv->name, opt_reps, opt_short ? ", short" : "", hv->hc_name);
	fflush(stdout);
	for (i = 0; i < NR_WORKLOADS; i++) {
		const struct workload *w = &workloads[i];

		if (!selected(only, w) || (w->only_hv && w->only_hv != hv))
			continue;
		run_workload(&c, w);
	}
	ctx_destroy(&c);
	printf("# khyp-bench: %s: %s\n", hv->name,
	       failures ? "some checks FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
