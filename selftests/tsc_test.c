// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's time stamp counter: one TSC per VM that starts near 0
 * (every vCPU adds the same offset, taken when the VM was made), its
 * rate given in CPUID so that a guest need not calibrate it (the timing
 * leaf 0x40000010, the invariant-TSC bit, leaves 0x15/0x16 on Intel),
 * and the local APIC's TSC-deadline timer (IA32_TSC_DEADLINE).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define APIC_BASE_GPA	0xfee00000UL
#define R_EOI		0xb0
#define R_SVR		0xf0
#define R_LVTT		0x320
#define R_TMICT		0x380
#define R_TMCCT		0x390
#define LVT_MASKED	0x10000
#define LVT_DEADLINE	0x40000
#define MSR_DEADLINE	0x6e0
#define V_TIMER		0x61
#define GP		13

#define vcount	kh_guest_vector_count

KH_GUEST_INLINE uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

static void guest_tsc_loop(void)
{
	uint32_t r[4];

	kh_guest_cpuid(0x40000010, 0, r);
	GUEST_SYNC(r[0]);		/* the TSC's rate, kHz */
	for (;;)
		GUEST_SYNC(guest_rdtsc());
}

static uint64_t sync_value(struct __test_metadata *_metadata,
			   struct kh_vcpu *vcpu)
{
	struct kh_ucall uc;
	char m[512];

	if (kh_vcpu_run_ucall(vcpu, &uc, m, sizeof(m)) != KH_UCALL_SYNC) {
		TH_LOG("%s", m);
		return 0;
	}
	return uc.args[0];
}

/*
 * vCPU 1 is made 200 ms after vCPU 0 and still reads the same clock: a
 * read on vCPU 1 between two reads on vCPU 0 lies between them (with a
 * per-vCPU offset taken at creation it would be 200 ms behind).  The
 * clock started when the VM was made: it reads no more than the time
 * since then, plus a second of slack (the host's TSC counts since the
 * machine booted, 30 s and more before this test).
 */
TEST(one_tsc_for_all_vcpus_starting_near_zero)
{
	struct kh_vcpu *v0, *v1;
	uint64_t khz0, khz1, a, b, c;
	double t0, dt;
	struct kh_vm *vm;

	NEED_DEV();
	t0 = now_s();
	vm = kh_vm_create(0);
	v0 = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(v0, guest_tsc_loop);
	usleep(200000);
	v1 = kh_vcpu_add(vm, 1);
	kh_vcpu_setup_long_mode(v1, guest_tsc_loop);
	khz0 = sync_value(_metadata, v0);
	khz1 = sync_value(_metadata, v1);
	ASSERT_NE(0, khz0) TH_LOG("no TSC rate in CPUID 0x40000010");
	ASSERT_EQ(khz0, khz1);

	a = sync_value(_metadata, v0);
	b = sync_value(_metadata, v1);
	c = sync_value(_metadata, v0);
	dt = now_s() - t0;
	TH_LOG("TSC %lu kHz; reads %lu %lu %lu after %.3f s",
	       (unsigned long)khz0, (unsigned long)a, (unsigned long)b,
	       (unsigned long)c, dt);
	EXPECT_LE(a, b) TH_LOG("vCPU 1's TSC is behind vCPU 0's");
	EXPECT_LE(b, c) TH_LOG("vCPU 1's TSC is ahead of vCPU 0's");
	EXPECT_GT((dt + 1.0) * khz0 * 1000.0, (double)c)
		TH_LOG("the guest's TSC did not start near 0");
	kh_vm_free(vm);
}

static void guest_cpuid_time(void)
{
	uint32_t r[4];

	kh_guest_cpuid(0, 0, r);
	GUEST_SYNC4(r[0], r[1], r[2], r[3]);
	kh_guest_cpuid(0x40000000, 0, r);
	GUEST_SYNC4(r[0], r[1], r[2], r[3]);
	kh_guest_cpuid(0x40000010, 0, r);
	GUEST_SYNC4(r[0], r[1], r[2], r[3]);
	kh_guest_cpuid(0x80000007, 0, r);
	GUEST_SYNC4(r[0], r[1], r[2], r[3]);
	kh_guest_cpuid(0x15, 0, r);
	GUEST_SYNC4(r[0], r[1], r[2], r[3]);
	kh_guest_cpuid(0x16, 0, r);
	GUEST_SYNC4(r[0], r[1], r[2], r[3]);
	kh_guest_cpuid(1, 0, r);
	GUEST_SYNC4(r[0], r[1], r[2], r[3]);
	GUEST_SYNC(guest_rdtsc());
	GUEST_SYNC(guest_rdtsc());
	GUEST_DONE();
}

/* Does /proc/cpuinfo list the flag (the host kernel's view)? */
static int host_flag(const char *flag)
{
	char line[4096], word[64];
	FILE *f = fopen("/proc/cpuinfo", "r");
	int found = 0;

	snprintf(word, sizeof(word), " %s ", flag);
	while (f && fgets(line, sizeof(line) - 1, f)) {
		if (strncmp(line, "flags", 5))
			continue;
		line[strcspn(line, "\n")] = ' ';
		found = strstr(line, word) != NULL;
		break;
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * The leaves a guest reads the TSC's rate from, and the rate itself: the
 * guest's TSC advances by about that many ticks per second of the host's
 * clock (loose bounds: the machines are emulated and shared).
 */
TEST(cpuid_gives_the_tsc_rate)
{
	struct kh_ucall l0, hv, tim, pm, l15, l16, l1;
	uint64_t t1, t2, hz, crystal_khz, linux_khz;
	double s1, s2, rate;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int intel, inv;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_cpuid_time);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &l0);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &hv);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &tim);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &pm);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &l15);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &l16);
	ASSERT_UCALL(vcpu, KH_UCALL_SYNC, &l1);
	s1 = now_s();
	t1 = sync_value(_metadata, vcpu);
	usleep(300000);
	t2 = sync_value(_metadata, vcpu);
	s2 = now_s();

	EXPECT_LE(0x40000010, hv.args[0]) TH_LOG("0x40000010 not announced");
	ASSERT_NE(0, tim.args[0]);
	EXPECT_EQ(1000000, tim.args[1]) TH_LOG("APIC bus clock (kHz)");
	hz = tim.args[0] * 1000;
	rate = (t2 - t1) / (s2 - s1);
	TH_LOG("TSC %lu kHz; measured %.0f Hz over %.3f s",
	       (unsigned long)tim.args[0], rate, s2 - s1);
	EXPECT_LT(0.5 * hz, rate);
	EXPECT_GT(2.0 * hz, rate);

	/* Invariant TSC: exactly when the host kernel trusts its own. */
	inv = host_flag("constant_tsc") && host_flag("nonstop_tsc");
	EXPECT_EQ(inv ? 0x100 : 0, pm.args[3])
		TH_LOG("0x80000007 EDX %#lx", (unsigned long)pm.args[3]);

	/* "GenuineIntel": EBX, EDX, ECX */
	intel = l0.args[1] == 0x756e6547 && l0.args[3] == 0x49656e69 &&
		l0.args[2] == 0x6c65746e;
	if (intel) {
		EXPECT_EQ(0x16, l0.args[0]) TH_LOG("max basic leaf");
		/*
		 * The rate as Linux computes it (native_calibrate_tsc()):
		 * crystal kHz * EBX / EAX in 32 bits.  The product must fit
		 * (tsc_khz as EBX over 10^6 did not: 1.344 MHz for 40 MHz)
		 * and the rate be within 1 ppm of khyp's; else the leaf is
		 * empty (core/cpuid.c).  vmx-bochs' 40 MHz is 1/25, exact.
		 */
		if (l15.args[1]) {
			ASSERT_EQ(1000000000, l15.args[2]) TH_LOG("crystal Hz");
			ASSERT_NE(0, l15.args[0]);
			crystal_khz = l15.args[2] / 1000;
			EXPECT_GE(UINT32_MAX / crystal_khz, l15.args[1])
				TH_LOG("0x15: %lu kHz x %lu overflows 32 bits",
				       (unsigned long)crystal_khz,
				       (unsigned long)l15.args[1]);
			linux_khz = (uint32_t)(crystal_khz * l15.args[1]) /
				    l15.args[0];
			TH_LOG("0x15: %lu/%lu of the crystal: Linux finds %lu kHz",
			       (unsigned long)l15.args[1],
			       (unsigned long)l15.args[0],
			       (unsigned long)linux_khz);
			EXPECT_GE(tim.args[0] / 1000000,
				  linux_khz > tim.args[0] ?
				  linux_khz - tim.args[0] :
				  tim.args[0] - linux_khz);
		} else {
			/*
			 * A rate that divides 10^6 kHz, or a whole number
			 * of MHz up to 4294, has an exact ratio (EBX at most
			 * 4294): the leaf may be empty for other rates only.
			 */
			EXPECT_FALSE(1000000 % tim.args[0] == 0 ||
				     (tim.args[0] % 1000 == 0 &&
				      tim.args[0] <= 4294000))
				TH_LOG("0x15 empty for %lu kHz",
				       (unsigned long)tim.args[0]);
			EXPECT_EQ(0, l15.args[0] | l15.args[2]);
		}
		EXPECT_EQ(tim.args[0] / 1000, l16.args[0]);
	} else {
		EXPECT_EQ(1, l0.args[0]) TH_LOG("max basic leaf");
	}
	/* No irqchip: no APIC, no TSC-deadline timer. */
	EXPECT_EQ(0, l1.args[2] & (1U << 24));
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_deadline(uint64_t khz)
{
	uint32_t r[4];
	uint64_t d, t, v;

	kh_guest_cpuid(1, 0, r);
	GUEST_ASSERT(r[2] & (1U << 24));
	kh_guest_apic_write(R_SVR, 0x1ff);
	/* One-shot mode: the MSR reads 0 and ignores writes. */
	kh_guest_apic_write(R_LVTT, V_TIMER);
	kh_guest_wrmsr(MSR_DEADLINE, guest_rdtsc() + khz);
	GUEST_ASSERT_EQ(kh_guest_rdmsr(MSR_DEADLINE), 0);
	kh_guest_apic_write(R_LVTT, LVT_DEADLINE | V_TIMER);
	kh_guest_cli();

	/*
	 * 20 ms from now: not before.  The MSR reads the deadline until it
	 * fired (an emulated machine may take that long for two exits).
	 */
	d = guest_rdtsc() + 20 * khz;
	kh_guest_wrmsr(MSR_DEADLINE, d);
	v = kh_guest_rdmsr(MSR_DEADLINE);
	GUEST_ASSERT(v == d || (v == 0 && guest_rdtsc() >= d));
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TMCCT), 0);
	while (!vcount[V_TIMER])
		kh_guest_safe_halt();
	t = guest_rdtsc();
	kh_guest_apic_write(R_EOI, 0);
	GUEST_ASSERT(t >= d);
	GUEST_ASSERT_EQ(kh_guest_rdmsr(MSR_DEADLINE), 0);	/* fired */
	GUEST_SYNC(1);

	/* A deadline already passed fires at once. */
	kh_guest_wrmsr(MSR_DEADLINE, guest_rdtsc() - 1);
	while (vcount[V_TIMER] < 2)
		kh_guest_safe_halt();
	kh_guest_apic_write(R_EOI, 0);
	GUEST_SYNC(2);

	/* Disarmed by 0; and the initial count is ignored in this mode. */
	kh_guest_wrmsr(MSR_DEADLINE, guest_rdtsc() + 20 * khz);
	kh_guest_wrmsr(MSR_DEADLINE, 0);
	kh_guest_apic_write(R_TMICT, 1000);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_TMICT), 0);
	kh_guest_sti();
	GUEST_SYNC(3);		/* the host waits 100 ms */
	GUEST_ASSERT_EQ(vcount[V_TIMER], 2);

	/* A mode change disarms; the reserved 11b is stored and runs nothing. */
	kh_guest_cli();
	kh_guest_wrmsr(MSR_DEADLINE, guest_rdtsc() + 20 * khz);
	kh_guest_apic_write(R_LVTT, V_TIMER);
	kh_guest_apic_write(R_LVTT, LVT_DEADLINE | V_TIMER);
	GUEST_ASSERT_EQ(kh_guest_rdmsr(MSR_DEADLINE), 0);
	kh_guest_apic_write(R_LVTT, 0x60000 | V_TIMER);
	GUEST_ASSERT_EQ(kh_guest_apic_read(R_LVTT), 0x60000 | V_TIMER);
	kh_guest_apic_write(R_TMICT, 1000);
	kh_guest_wrmsr(MSR_DEADLINE, guest_rdtsc());
	GUEST_ASSERT_EQ(kh_guest_rdmsr(MSR_DEADLINE), 0);
	kh_guest_apic_write(R_LVTT, LVT_DEADLINE | V_TIMER);
	kh_guest_sti();
	GUEST_SYNC(4);		/* the host waits 100 ms */
	GUEST_ASSERT_EQ(vcount[V_TIMER], 2);

	/* The same through x2APIC: a reserved LVT bit is #GP there. */
	kh_guest_wrmsr(0x1b, APIC_BASE_GPA | (1UL << 8) | (1UL << 11) |
		       (1UL << 10));
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(0x832, 0x60000 | V_TIMER), 0xff);
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(0x835, LVT_DEADLINE | LVT_MASKED),
			GP);
	GUEST_ASSERT_EQ(kh_guest_wrmsr_safe(0x832, LVT_DEADLINE | V_TIMER), 0xff);
	kh_guest_cli();
	kh_guest_wrmsr(MSR_DEADLINE, guest_rdtsc() + khz);
	while (vcount[V_TIMER] < 3)
		kh_guest_safe_halt();
	kh_guest_wrmsr(0x80b, 0);
	GUEST_ASSERT(kh_guest_rdmsr_safe(MSR_DEADLINE, &v) == 0xff && v == 0);
	GUEST_DONE();
}

/* The TSC's rate in the vCPU's CPUID table (leaf 0x40000010), or 0. */
static uint64_t tsc_khz_of(struct __test_metadata *_metadata,
			   struct kh_vcpu *vcpu)
{
	struct khyp_cpuid c;
	uint32_t i;

	memset(&c, 0, sizeof(c));
	if (ioctl(vcpu->fd, KHYP_GET_CPUID, &c)) {
		TH_LOG("KHYP_GET_CPUID: %s", strerror(errno));
		return 0;
	}
	for (i = 0; i < c.nent && i < KHYP_MAX_CPUID_ENTRIES; i++)
		if (c.entries[i].function == 0x40000010)
			return c.entries[i].eax;
	return 0;
}

TEST(tsc_deadline_timer)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	uint64_t khz;

	NEED_DEV();
	vm = kh_vm_create(0);
	ASSERT_EQ(0, kh_create_irqchip(vm->fd)) TH_LOG("%s", strerror(errno));
	vcpu = kh_vcpu_add(vm, 0);
	khz = tsc_khz_of(_metadata, vcpu);
	ASSERT_NE(0, khz);
	kh_vcpu_setup_long_mode(vcpu, (void (*)(void))guest_deadline);
	kh_vm_install_idt(vm, vcpu);
	kh_vcpu_set_args(vcpu, khz, 0);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_SYNC(vcpu, 2);
	ASSERT_SYNC(vcpu, 3);
	usleep(100000);
	ASSERT_SYNC(vcpu, 4);
	usleep(100000);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

static void guest_deadline_msr(void)
{
	uint64_t v;

	GUEST_SYNC(kh_guest_rdmsr_safe(MSR_DEADLINE, &v));
	GUEST_SYNC(kh_guest_wrmsr_safe(MSR_DEADLINE, 1));
	GUEST_DONE();
}

/* Without an irqchip there is no APIC timer: the MSR is #GP. */
TEST(tsc_deadline_msr_needs_irqchip)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;

	NEED_DEV();
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_deadline_msr);
	kh_vm_install_idt(vm, vcpu);
	ASSERT_SYNC(vcpu, GP);
	ASSERT_SYNC(vcpu, GP);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
