// SPDX-License-Identifier: GPL-2.0
/*
 * Exit statistics in debugfs and the khyp_entry/khyp_exit tracepoints:
 * run a guest that makes a known number of exits of known kinds, then
 * read them back.  With an irqchip: the interrupt counts (irqs) and the
 * controllers' state (lapic, ioapic, pic, pit) after a known sequence
 * of self-IPIs, a line interrupt and a timer interrupt.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <linux/khyp_balloon.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define DEBUGFS		"/sys/kernel/debug"
#define TRACEFS		"/sys/kernel/tracing"
#define NR_OUTS		37
#define NR_CPUIDS	5

static void guest_counted_exits(void)
{
	uint32_t r[4];
	int i;

	for (i = 0; i < NR_OUTS; i++)
		kh_guest_out8(0x70, i);
	for (i = 0; i < NR_CPUIDS; i++)
		kh_guest_cpuid(0, 0, r);
	GUEST_DONE();
}

/* Mount a pseudo filesystem at @dir unless something is there already. */
static bool ensure_mounted(const char *type, const char *dir,
			   const char *probe)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, probe);
	if (!access(path, F_OK))
		return true;
	mkdir(dir, 0755);
	mount(type, dir, type, 0, NULL);
	return !access(path, F_OK);
}

TEST(debugfs_exit_counts)
{
	char vm_path[128], vcpu_path[128];
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int i, id;

	NEED_DEV();
	/* debugfs itself may be missing; khyp's directory in it may not. */
	if (!kh_debugfs_mounted())
		SKIP(return, "no debugfs");
	ASSERT_EQ(0, access(DEBUGFS "/khyp", F_OK))
		TH_LOG("debugfs is mounted but has no khyp directory");
	vm = kh_vm_create(0);
	id = khyp_newest_vm();
	ASSERT_LT(0, id);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_counted_exits);
	for (i = 0; i < NR_OUTS; i++)
		ASSERT_IO(vcpu, 0x70, 1, KHYP_IO_OUT);
	ASSERT_DONE(vcpu);

	snprintf(vm_path, sizeof(vm_path), DEBUGFS "/khyp/vm%d/exits", id);
	snprintf(vcpu_path, sizeof(vcpu_path),
		 DEBUGFS "/khyp/vm%d/vcpu0/exits", id);
	/* the ucall of GUEST_DONE is one more port exit */
	EXPECT_EQ(NR_OUTS + 1, khyp_file_count(vcpu_path, "io"));
	EXPECT_EQ(NR_CPUIDS, khyp_file_count(vcpu_path, "cpuid"));
	EXPECT_LT(0, khyp_file_count(vcpu_path, "npf"));
	EXPECT_EQ(0, khyp_file_count(vcpu_path, "unknown"));

	/* The VM keeps the counts of a closed vCPU. */
	kh_vcpu_close(vcpu);
	EXPECT_EQ(-1, access(vcpu_path, F_OK));
	EXPECT_EQ(NR_OUTS + 1, khyp_file_count(vm_path, "io"));
	EXPECT_EQ(NR_CPUIDS, khyp_file_count(vm_path, "cpuid"));

	kh_vm_free(vm);
	EXPECT_EQ(-1, access(vm_path, F_OK));
}

#define L1D_CHEAP	500
#define L1D_OUTS	20
#define L1D_BATCHES	20
#define L1D_SYSFS	"/sys/devices/system/cpu/vulnerabilities/l1tf"

/*
 * Four phases, each ended by a port exit: exits handled in the kernel on
 * the vCPU's own state (CPUID and the balloon's PROBE), port exits to
 * userspace, balloon batches (DEFLATE; empty, so refused, but after
 * the point where a batch maps the guest's list), and EOI stores to the
 * in-kernel local APIC.  Argument: the phase.
 */
static void guest_l1d_phases(uint64_t phase, uint64_t unused)
{
	uint32_t r[4];
	int i;

	if (phase == 0) {
		for (i = 0; i < L1D_CHEAP; i++) {
			kh_guest_cpuid(0, 0, r);
			kh_guest_hypercall(KHYP_HC_BALLOON_PROBE, 1, 0, 0, 0, 0);
		}
	} else if (phase == 1) {
		for (i = 0; i < L1D_OUTS; i++)
			kh_guest_out8(0x70, i);
	} else if (phase == 3) {
		kh_guest_apic_write(0xf0, 0x1ff);	/* SVR: enabled */
		for (i = 0; i < L1D_CHEAP; i++)
			kh_guest_apic_write(0xb0, 0);	/* EOI */
	} else {
		kh_guest_hypercall(KHYP_HC_BALLOON_PROBE, 1, 0, 0, 0, 0);
		for (i = 0; i < L1D_BATCHES; i++)
			kh_guest_hypercall(KHYP_HC_BALLOON_DEFLATE, 0, 0, 0, 0,
					   0);
	}
	GUEST_DONE();
}

/* Run phase @phase of guest_l1d_phases in a new vCPU; the flushes it made. */
static long l1d_phase(struct __test_metadata *_metadata, uint64_t phase)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	long n;
	int i, id;

	vm = kh_vm_create(0);
	id = khyp_newest_vm();
	if (phase == 3 && kh_create_irqchip(vm->fd))
		return -2;
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, (void (*)(void))guest_l1d_phases);
	kh_vcpu_set_args(vcpu, phase, 0);
	for (i = 0; phase == 1 && i < L1D_OUTS; i++)
		ASSERT_IO(vcpu, 0x70, 1, KHYP_IO_OUT);
	ASSERT_DONE(vcpu);
	n = khyp_vm_stat(id, "vcpu0/l1d_flushes", NULL);
	kh_vm_free(vm);
	return n;
}

/*
 * L1TF (vmx/l1d.c): where the host flushes L1D for VMX guests
 * ("conditional cache flushes" in sysfs), khyp flushes before the first
 * entry of every KHYP_RUN and after exits that ran host code on other
 * data (here: balloon batches), but not after each of a thousand CPUID
 * and PROBE exits, nor after each of 500 EOI stores, which VMX's
 * APIC-access exit describes without a decode (docs/irq.md), as KVM's
 * fasteoi.  Where the CPU is not affected (or on SVM), never.
 */
TEST(l1d_flush_conditional)
{
	long cheap, outs, batches, eois;
	char state[256] = "";
	FILE *f;

	NEED_DEV();
	if (!kh_debugfs_mounted())
		SKIP(return, "no debugfs");
	f = fopen(L1D_SYSFS, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(state, sizeof(state), f));
	fclose(f);

	cheap = l1d_phase(_metadata, 0);
	outs = l1d_phase(_metadata, 1);
	batches = l1d_phase(_metadata, 2);
	eois = l1d_phase(_metadata, 3);
	TH_LOG("%s: flushes %ld (%d CPUIDs and PROBEs), %ld (%d port exits), %ld (%d balloon batches), %ld (%d EOIs)",
	       L1D_SYSFS, cheap, 2 * L1D_CHEAP, outs, L1D_OUTS, batches,
	       L1D_BATCHES, eois, L1D_CHEAP);
	ASSERT_NE(-2, eois);
	if (!strstr(state, "VMX: conditional cache flushes")) {
		ASSERT_EQ(NULL, strstr(state, "VMX: cache flushes"))
			TH_LOG("khyp is in 'always' mode: %s", state);
		EXPECT_EQ(0, cheap);
		EXPECT_EQ(0, outs);
		EXPECT_EQ(0, batches);
		EXPECT_EQ(0, eois);
		return;
	}
	/* Host interrupts and RAM faults add some; every entry: 1000. */
	EXPECT_LE(1, cheap);
	EXPECT_GT(L1D_CHEAP / 5, cheap);
	/* One KHYP_RUN per port exit, and the one that ends the guest. */
	EXPECT_LE(L1D_OUTS + 1, outs);
	EXPECT_LE(L1D_BATCHES, batches);
	/* The first store maps the APIC-access page: a fault, a flush. */
	EXPECT_LE(1, eois);
	EXPECT_GT(L1D_CHEAP / 5, eois);
}

#define VPID_SHARE	"/sys/module/khyp/parameters/vpids_per_user"

/* The TLB tag of vCPU @vcpu of VM @vm (debugfs), or -1. */
static long tlb_tag(int vm, int vcpu)
{
	char path[128];

	snprintf(path, sizeof(path), DEBUGFS "/khyp/vm%d/vcpu%d/tlb", vm, vcpu);
	return khyp_file_count(path, "tag");
}

/*
 * A user's vCPUs hold at most vpids_per_user VPIDs (VMX): beyond that a
 * vCPU runs untagged, while another user's vCPU still gets one, and a
 * VPID given back counts again.  On SVM the tag is the ASID of the last
 * entry: never 0 once the vCPU ran.
 */
TEST(vpid_share_per_user)
{
	char old[32] = "", line[32];
	struct kh_vcpu *v[3];
	struct kh_vm *vm;
	int id, p[2], i;
	FILE *f;
	pid_t pid;

	NEED_DEV();
	ASSERT_TRUE(kh_debugfs_mounted());
	vm = kh_vm_create(0);
	id = khyp_newest_vm();
	ASSERT_LT(0, id);
	if (vm->backend == KHYP_BACKEND_SVM) {
		v[0] = kh_vcpu_add(vm, 0);
		kh_vcpu_setup_long_mode(v[0], guest_counted_exits);
		for (i = 0; i < NR_OUTS; i++)
			ASSERT_IO(v[0], 0x70, 1, KHYP_IO_OUT);
		ASSERT_DONE(v[0]);
		EXPECT_LT(0, tlb_tag(id, 0));
		kh_vm_free(vm);
		return;
	}

	f = fopen(VPID_SHARE, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(old, sizeof(old), f));
	fclose(f);
	kh_write_file(VPID_SHARE, "2");

	for (i = 0; i < 3; i++)
		v[i] = kh_vcpu_add(vm, i);
	EXPECT_LT(0, tlb_tag(id, 0));
	EXPECT_LT(0, tlb_tag(id, 1));
	EXPECT_NE(tlb_tag(id, 0), tlb_tag(id, 1));
	EXPECT_EQ(0, tlb_tag(id, 2))
		TH_LOG("a third vCPU of the same user got a VPID beyond its share of 2");

	/* Another user, with a VM of its own, still gets one. */
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct kh_vm *cvm = kh_vm_create(0);

		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		kh_vcpu_add(cvm, 0);
		if (write(p[1], "k", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	close(p[1]);
	EXPECT_EQ(1, read(p[0], line, 1));
	close(p[0]);
	EXPECT_LT(0, tlb_tag(khyp_newest_vm(), 0))
		TH_LOG("another user's vCPU got no VPID");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* A VPID given back counts again for its user. */
	kh_vcpu_close(v[0]);
	v[0] = kh_vcpu_add(vm, 3);
	EXPECT_LT(0, tlb_tag(id, 3));

	kh_write_file(VPID_SHARE, old);
	kh_vm_free(vm);
}

TEST(tracepoints)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int i, entries = 0, io_exits = 0;
	char line[512];
	FILE *f;

	NEED_DEV();
	if (!ensure_mounted("tracefs", TRACEFS, "events"))
		SKIP(return, "no tracefs");
	ASSERT_EQ(0, access(TRACEFS "/events/khyp/khyp_exit/enable", W_OK));

	kh_write_file(TRACEFS "/tracing_on", "0");
	kh_write_file(TRACEFS "/trace", "");
	kh_write_file(TRACEFS "/events/khyp/enable", "1");
	kh_write_file(TRACEFS "/tracing_on", "1");

	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_counted_exits);
	for (i = 0; i < NR_OUTS; i++)
		ASSERT_IO(vcpu, 0x70, 1, KHYP_IO_OUT);
	ASSERT_DONE(vcpu);
	kh_vm_free(vm);

	kh_write_file(TRACEFS "/tracing_on", "0");
	kh_write_file(TRACEFS "/events/khyp/enable", "0");
	f = fopen(TRACEFS "/trace", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "khyp_entry:"))
			entries++;
		/* kind 1 is KHYP_X_IO (core/khyp.h) */
		if (strstr(line, "khyp_exit:") && strstr(line, " kind 1 "))
			io_exits++;
	}
	fclose(f);
	EXPECT_EQ(NR_OUTS + 1, io_exits);
	EXPECT_LE(NR_OUTS + 1 + NR_CPUIDS, entries);
}

/* ---- the irqchip: interrupt counts and the controllers' state ---- */

#define R_EOI		0xb0
#define R_SVR		0xf0
#define R_ICR		0x300
#define R_LVTT		0x320
#define R_TMICT		0x380
#define R_TDCR		0x3e0
#define ICR_SELF	0x40000
#define IOAPIC_GPA	0xfec00000UL
#define N_SELF		7
#define V_SELF		0x51	/* the self-IPIs, each EOI'd */
#define V_HELD		0x52	/* a self-IPI sent with IF=0, then held */
#define V_LINE		0x41	/* IRQ 4, below V_HELD's class: waits */
#define V_TIMER		0x45	/* the one-shot LAPIC timer */

KH_GUEST_INLINE void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)IOAPIC_GPA = reg;
	*(volatile uint32_t *)(IOAPIC_GPA + 0x10) = v;
}

KH_GUEST_INLINE void wait_vector(uint8_t v, uint32_t n)
{
	while (kh_guest_vector_count[v] < n)
		kh_guest_pause();
}

static void guest_irqchip(void)
{
	int i;

	kh_guest_apic_write(R_SVR, 0x1ff);
	ioapic_write(0x11 + 2 * 4, 0);		/* IRQ 4: APIC 0 */
	ioapic_write(0x10 + 2 * 4, V_LINE);	/* fixed, edge, unmasked */
	kh_guest_sti();
	for (i = 0; i < N_SELF; i++) {
		kh_guest_apic_write(R_ICR, ICR_SELF | V_SELF);
		wait_vector(V_SELF, i + 1);
		kh_guest_apic_write(R_EOI, 0);
	}
	kh_guest_cli();
	kh_guest_apic_write(R_ICR, ICR_SELF | V_HELD);
	GUEST_SYNC(1);		/* V_HELD in IRR */
	kh_guest_sti();
	wait_vector(V_HELD, 1);
	GUEST_SYNC(2);		/* V_HELD in ISR; the host pulses IRQ 4 */
	GUEST_SYNC(3);		/* V_LINE waits in IRR behind V_HELD */
	kh_guest_apic_write(R_EOI, 0);
	wait_vector(V_LINE, 1);
	kh_guest_apic_write(R_EOI, 0);
	kh_guest_apic_write(R_TDCR, 0xb);	/* divide by 1 */
	kh_guest_apic_write(R_LVTT, V_TIMER);	/* one-shot */
	kh_guest_apic_write(R_TMICT, 1000);
	wait_vector(V_TIMER, 1);
	kh_guest_apic_write(R_EOI, 0);
	GUEST_SYNC(4);
	GUEST_ASSERT_EQ(kh_guest_vector_count[V_SELF], N_SELF);
	GUEST_DONE();
}

/* The whole of a small debugfs file, NUL-terminated; "" if unreadable. */
static const char *slurp(int id, const char *name)
{
	static char buf[16384];
	char path[128];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), DEBUGFS "/khyp/vm%d/%s", id, name);
	buf[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

#define EXPECT_IN(file, text)						\
	do {								\
		const char *__s = slurp(id, file);			\
		EXPECT_NE(NULL, strstr(__s, text))			\
			TH_LOG("'%s' not in %s:\n%s", text, file, __s);	\
	} while (0)

TEST(debugfs_irqchip_state_and_counts)
{
	struct khyp_irq_level line;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	int id;

	NEED_DEV();
	if (!kh_debugfs_mounted())
		SKIP(return, "no debugfs");
	vm = kh_vm_create(0);
	id = khyp_newest_vm();
	ASSERT_LT(0, id);
	ASSERT_EQ(0, kh_create_irqchip(vm->fd));
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_irqchip);
	kh_vm_install_idt(vm, vcpu);

	ASSERT_SYNC(vcpu, 1);
	EXPECT_IN("lapic", "vcpu 0\n  base 0xfee00900 mode xapic sw-enabled\n");
	EXPECT_IN("lapic", "svr 0x1ff\n");
	EXPECT_IN("lapic", "icr 0x0000000000040052\n");
	EXPECT_IN("lapic", "  irr 0x52\n  isr -\n  tmr -\n");
	EXPECT_EQ(N_SELF, khyp_vm_stat(id, "vcpu0/irqs", "injected"));
	EXPECT_EQ(N_SELF + 1, khyp_vm_stat(id, "vcpu0/irqs", "ipi"));
	EXPECT_EQ(N_SELF, khyp_vm_stat(id, "vcpu0/irqs", "eoi"));

	ASSERT_SYNC(vcpu, 2);
	EXPECT_IN("lapic", "  irr -\n  isr 0x52\n");
	EXPECT_IN("lapic", "ppr 0x50");
	EXPECT_EQ(N_SELF + 1, khyp_vm_stat(id, "vcpu0/irqs", "injected"));
	memset(&line, 0, sizeof(line));
	line.irq = 4;
	line.level = 1;
	ASSERT_EQ(0, ioctl(vm->fd, KHYP_IRQ_LINE, &line));
	line.level = 0;
	ASSERT_EQ(0, ioctl(vm->fd, KHYP_IRQ_LINE, &line));

	ASSERT_SYNC(vcpu, 3);
	EXPECT_IN("lapic", "  irr 0x41\n  isr 0x52\n");
	EXPECT_IN("ioapic", "\npin  4 0000000000000041 vector 0x41 fixed  physical dest 0x00 edge  unmasked remote_irr 0 line 0\n");
	EXPECT_IN("ioapic", "\npin  5 0000000000010000 vector 0x00 fixed  physical dest 0x00 edge  masked   remote_irr 0 line 0\n");
	EXPECT_IN("ioapic", "\nsent 1\ndropped 0\nmmio 4\n");
	/* The edge reached the PIC too: latched in IRR, masked. */
	EXPECT_IN("pic", "master irr 0x10 isr 0x00 imr 0xff elcr 0x00 base 0x00");
	EXPECT_IN("pic", "\noutput 0\nintack 0\npio 0\n");
	EXPECT_IN("pit", "\nchannel 2 ");
	EXPECT_IN("pit", "\nirq0 0\npio 0\n");
	EXPECT_EQ(N_SELF + 1, khyp_vm_stat(id, "vcpu0/irqs", "injected"));

	ASSERT_SYNC(vcpu, 4);
	EXPECT_IN("lapic", "  timer one-shot divide 1 initial 1000 current 0 period_ns 0 tsc_deadline 0 running 0\n");
	EXPECT_IN("lapic", "  irr -\n  isr -\n  tmr -\n");
	EXPECT_IN("lapic", "lvt timer 0x00045 ");
	EXPECT_EQ(N_SELF + 3, khyp_vm_stat(id, "vcpu0/irqs", "injected"));
	EXPECT_EQ(N_SELF + 1, khyp_vm_stat(id, "vcpu0/irqs", "ipi"));
	EXPECT_EQ(N_SELF + 3, khyp_vm_stat(id, "vcpu0/irqs", "eoi"));
	EXPECT_EQ(1, khyp_vm_stat(id, "vcpu0/irqs", "timer"));
	EXPECT_EQ(0, khyp_vm_stat(id, "vcpu0/irqs", "extint"));
	EXPECT_EQ(0, khyp_vm_stat(id, "vcpu0/irqs", "nmi"));
	EXPECT_LE(2 * N_SELF + 8,
		  khyp_vm_stat(id, "vcpu0/irqs", "apic_access"));
	ASSERT_DONE(vcpu);

	/* The VM keeps the counts of a closed vCPU. */
	kh_vcpu_close(vcpu);
	EXPECT_EQ(N_SELF + 3, khyp_vm_stat(id, "irqs", "injected"));
	EXPECT_EQ(N_SELF + 3, khyp_vm_stat(id, "irqs", "eoi"));
	EXPECT_STREQ("", slurp(id, "lapic"));
	kh_vm_free(vm);
}

/* Without an irqchip the controllers' files are there and empty. */
TEST(debugfs_no_irqchip)
{
	struct kh_vm *vm;
	int id;

	NEED_DEV();
	if (!kh_debugfs_mounted())
		SKIP(return, "no debugfs");
	vm = kh_vm_create(0);
	id = khyp_newest_vm();
	ASSERT_LT(0, id);
	EXPECT_STREQ("", slurp(id, "ioapic"));
	EXPECT_STREQ("", slurp(id, "pic"));
	EXPECT_STREQ("", slurp(id, "pit"));
	EXPECT_EQ(0, khyp_vm_stat(id, "irqs", "injected"));
	kh_vm_free(vm);
}

TEST_HARNESS_MAIN
