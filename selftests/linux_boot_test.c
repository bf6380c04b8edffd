// SPDX-License-Identifier: GPL-2.0
/*
 * Debian's own kernel, unchanged, boots under `khyp run` to a busybox
 * shell: the initramfs of scripts/mkinitramfs-linux.sh, whose /init
 * (scripts/linux-guest-init) prints markers on the serial console
 * ("KHYP-NPROC=1" ...) and ends the machine.  The test runs
 *
 *   khyp run -c N -m 256M --initrd INITRD --cmdline '...' \
 *            --serial FILE --timeout T KERNEL
 *
 * (-m 5120M for the boots after the first: RAM above 4 GiB)
 * and checks from FILE and the exit status: the shell ran, it sees N
 * CPUs and the RAM -m gives (less what the kernel keeps), the local
 * APIC timer's count (LOC in /proc/interrupts) rises, the kernel logged
 * no unchecked MSR access, and khyp run exited with the status /init
 * chose (0 after an ACPI power-off, (V << 1) | 1 after isa-debug-exit V).
 *
 * KERNEL: $KHYP_LINUX_KERNEL (a bzImage or a vmlinux), else
 * /boot/vmlinuz-$(uname -r) (the machines boot the same kernel), else
 * /khyp-tool/vmlinuz.  INITRD:
 * $KHYP_LINUX_INITRD, else build/test/linux-initramfs.cpio of this
 * test's source tree (scripts/test.sh builds it), else
 * /khyp-tool/linux-initramfs.cpio.  Missing either is a failure, not
 * a skip: scripts/test.sh runs this test only in the machine configured
 * for it (svm-qemu-linux, vmx-bochs).  N: $KHYP_LINUX_CPUS, a list
 * such as "1,2" (one boot each, in order), by default LINUX_CPUS_DEFAULT.
 * $KHYP_LINUX_KCMD: one more kernel option for every boot, and
 * $KHYP_LINUX_LOGLEVEL the console's loglevel (7 by default): vmx-bochs
 * has cryptomgr.notests and 5 (docs/testing.md).
 *
 * A boot takes minutes of wall time in the emulated machines (svm-qemu:
 * docs/testing.md), hence the long timeouts.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"
#include "linux_guest.h"

#define LINUX_CPUS_DEFAULT	"1,2"
#define TEST_TIMEOUT_S		1300	/* the harness's, for two boots */
#define HIGH_MEM_MB		5120	/* the later boots' -m: 3 GiB from 4 GiB */
#define HIGH_FILL_MB		16	/* /init's khyp.highmem= */

/*
 * The kernel log lines /init counted (unknown|unhandled|failed|error)
 * that are not khyp's doing, each with its reason.  Anything else fails
 * the boot.
 */
static const char *const dmesg_not_khyp[] = {
	/*
	 * quick_pit_calibrate() needs six reads of the PIT's count (port
	 * 0x42) within one change of its high byte (214 us); an exit takes
	 * 60 us or more under nested TCG.  The rate comes from
	 * tsc_early_khz= instead (guest_tsc_khz()).
	 */
	"tsc: Fast TSC calibration failed",
	NULL
};

/*
 * The TSC's rate the guest found (/init's KHYP-TSC-MHZ: the kernel's
 * last "tsc: Detected" or "Refined" line) is khyp's to 0.1%: from leaf
 * 0x15 on Intel, tsc_early_khz= on AMD (guest_cmdline()).  A 0x15 that
 * Linux misread gave 1.344 MHz for 40 (core/cpuid.c).
 */
static void check_tsc_rate(struct __test_metadata *_metadata, const char *log)
{
	double want = khyp_tsc_khz() / 1000.0, mhz = -1;
	char v[64];

	if (marker(log, "TSC-MHZ", v, sizeof(v)))
		mhz = strtod(v, NULL);
	EXPECT_TRUE(mhz > want * 0.999 && mhz < want * 1.001)
		TH_LOG("the guest found a %.3f MHz TSC; khyp's runs at %.3f MHz",
		       mhz, want);
}

/* The clock is the TSC, and the kernel complained of none of khyp's devices. */
static void check_clock_and_dmesg(struct __test_metadata *_metadata,
				  const char *log)
{
	const char *p = log, *key = "KHYP-DMESG: ";
	char v[64], line[512];
	int bad = 0, i;
	size_t n;

	/*
	 * "tsc-early" until Linux refines the rate against the PM timer,
	 * which needs a PM timer read between two TSC reads within 31 us:
	 * never under nested TCG, so "tsc" only on faster machines.
	 */
	if (!marker(log, "CLOCKSOURCE", v, sizeof(v)))
		strcpy(v, "?");
	EXPECT_TRUE(!strcmp(v, "tsc") || !strcmp(v, "tsc-early"))
		TH_LOG("the clocksource is %s, not the TSC", v);
	check_tsc_rate(_metadata, log);
	while ((p = strstr(p, key))) {
		p += strlen(key);
		n = strcspn(p, "\r\n");
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		for (i = 0; dmesg_not_khyp[i]; i++)
			if (strstr(line, dmesg_not_khyp[i]))
				break;
		if (!dmesg_not_khyp[i]) {
			printf("# kernel log: %s\n", line);
			bad++;
		}
	}
	EXPECT_EQ(0, bad) TH_LOG("kernel log lines about khyp's devices (above)");
	EXPECT_LE(0, marker_long(log, "DMESG-BAD")) TH_LOG("no KHYP-DMESG-BAD");
}

/* One boot with @cpus vCPUs, and what it must show. */
static void boot(struct __test_metadata *_metadata, const char *tool,
		 const char *kernel, const char *initrd, int cpus,
		 const struct boot_plan *plan)
{
	long memtotal, loc1, loc2, want_status, mem = plan->mem_mb ?: GUEST_MEM_MB;
	struct boot_run r;
	char v[256], ex[64];

	LAUNCH(tool, kernel, initrd, cpus, plan, &r);
	if (marker(r.log, "MODULES", v, sizeof(v)))
		printf("# virtio modules loaded: %s\n", v);
	if (marker(r.log, "CLOCKSOURCE", v, sizeof(v)))
		printf("# clocksource: %s\n", v);
	if (marker(r.log, "DMESG-BAD", v, sizeof(v)))
		printf("# kernel log lines with unknown|unhandled|failed|error: %s\n",
		       v);

	EXPECT_EQ(cpus, marker_long(r.log, "NPROC")) TH_LOG("nproc");
	/*
	 * MemTotal: RAM less the kernel's image and reservations (about
	 * 30 MiB of 256 for Debian's kernel, and its struct pages: 80 MiB
	 * of 5 GiB), and the holes below 1 MiB.
	 */
	memtotal = marker_long(r.log, "MEMTOTAL");
	EXPECT_LE(memtotal, mem * 1024);
	EXPECT_GE(memtotal, mem * 1024 * 3 / 4)
		TH_LOG("MemTotal %ld kB of %ld MiB", memtotal, mem);
	loc1 = marker_long(r.log, "LOC-1");
	loc2 = marker_long(r.log, "LOC-2");
	EXPECT_LT(0, loc1) TH_LOG("no LOC count in /proc/interrupts");
	EXPECT_LT(loc1, loc2) TH_LOG("the LAPIC timer count did not rise over 2 s");
	EXPECT_EQ(NULL, strstr(r.log, "unchecked MSR access error"))
		TH_LOG("the kernel took #GP on an MSR it reads unchecked");
	check_clock_and_dmesg(_metadata, r.log);

	/* The status /init chose. */
	if (!marker(r.log, "EXIT", ex, sizeof(ex))) {
		dump_log(r.log);
		ASSERT_TRUE(false) TH_LOG("/init never chose an exit (status %d)",
					  r.status);
	}
	if (!strcmp(ex, "poweroff"))
		want_status = 0;
	else if (!strcmp(ex, "reboot"))
		want_status = 12;	/* --reboot exit: STATUS_RESET */
	else if (sscanf(ex, "debug-exit %ld", &want_status) == 1)
		want_status = ((want_status << 1) | 1) & 0xff;
	else
		want_status = -1;
	EXPECT_EQ(want_status, r.status) TH_LOG("/init said KHYP-EXIT=%s", ex);
	EXPECT_EQ(NULL, strstr(r.log, "KHYP-EXIT-FAILED"));
	if (plan->after)
		plan->after(_metadata, &r, plan->priv);
	if (_metadata->passed == 0 || getenv("KHYP_LINUX_VERBOSE"))
		dump_log(r.log);
	fflush(stdout);		/* the harness's child ends with _exit */
	free(r.log);
	free(r.err);
}

/* CRC-32 as zlib and busybox's crc32 compute it (crc 0 to start). */
static uint32_t crc32_add(uint32_t crc, const unsigned char *p, size_t n)
{
	int k;

	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

/* ---- the virtio disks (the first boot) ---- */

/*
 * Two raw images of DISK_SECTORS sectors, --disk RW and --disk RO,ro.
 * Sector s holds the 512-byte record "khyp TAG sector s", left-justified
 * in 511 bytes, and a newline (scripts/linux-guest-init writes and reads
 * the same records): TAG "host" in RW, "ro" in RO.  The guest reads them,
 * writes "guest" records over RW's sectors DISK_GUEST_FIRST to
 * DISK_GUEST_END - 1 with fsync (a FLUSH), fails to write RO, and powers
 * off; then both images must hold exactly that.
 */
#define DISK_SECTORS		16384	/* 8 MiB */
#define DISK_GUEST_FIRST	2048
#define DISK_GUEST_END		4096

struct disks {
	char rw[32], ro[32];
	char ro_arg[40];
};

static void disk_record(char *rec, const char *tag, unsigned int s)
{
	char text[64];

	snprintf(text, sizeof(text), "khyp %s sector %u", tag, s);
	snprintf(rec, 513, "%-511s\n", text);
}

/* A new image at @path (a mkstemp template) of @tag records: 0 or -1. */
static int disk_make(char *path, const char *tag)
{
	static char buf[DISK_SECTORS * 512];
	unsigned int s;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	for (s = 0; s < DISK_SECTORS; s++)
		disk_record(buf + s * 512, tag, s);
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * The sectors of @path that are not what they should be: "guest"
 * records in [@first, @end), @tag records elsewhere.  -1 if unreadable.
 */
static long disk_wrong(const char *path, const char *tag, unsigned int first,
		       unsigned int end, unsigned int *first_wrong)
{
	char rec[513], got[512];
	long wrong = 0;
	unsigned int s;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	for (s = 0; s < DISK_SECTORS; s++) {
		if (pread(fd, got, 512, s * 512L) != 512) {
			close(fd);
			return -1;
		}
		disk_record(rec, s >= first && s < end ? "guest" : tag, s);
		if (memcmp(rec, got, 512) && !wrong++)
			*first_wrong = s;
	}
	close(fd);
	return wrong;
}

static void disk_check(struct __test_metadata *_metadata,
		       const struct boot_run *r, void *priv)
{
	struct disks *d = priv;
	char v[256], want[128];
	unsigned int s = 0;
	long wrong;

	/* what the guest saw */
	snprintf(want, sizeof(want), "%d ro=0 serial=khyp-disk0 cache=write back",
		 DISK_SECTORS);
	EXPECT_STREQ(want, marker(r->log, "DISK-vda", v, sizeof(v)) ?: "?");
	snprintf(want, sizeof(want), "%d ro=1 serial=khyp-disk1 cache=write back",
		 DISK_SECTORS);
	EXPECT_STREQ(want, marker(r->log, "DISK-vdb", v, sizeof(v)) ?: "?");
	EXPECT_STREQ("ok ok", marker(r->log, "DISK-READ", v, sizeof(v)) ?: "?")
		TH_LOG("the guest read other than the host's records");
	EXPECT_EQ(0, marker_long(r->log, "DISK-WRITE"))
		TH_LOG("the guest's write to vda: %s",
		       marker(r->log, "DISK-WRITE", v, sizeof(v)) ?: "?");
	EXPECT_LE(1, marker_long(r->log, "DISK-FLUSHES"))
		TH_LOG("the guest's fsync sent no FLUSH");
	EXPECT_STREQ("ok", marker(r->log, "DISK-READBACK", v, sizeof(v)) ?: "?");
	EXPECT_STREQ("ok", marker(r->log, "DISK-RO-READ", v, sizeof(v)) ?: "?");
	EXPECT_LT(0, marker_long(r->log, "DISK-RO-WRITE"))
		TH_LOG("a write to the read-only disk did not fail");
	if (marker(r->log, "DISK-RO-WRITE", v, sizeof(v)))
		printf("# the guest's write to the read-only disk: %s\n", v);

	/* what the images hold after the power-off */
	wrong = disk_wrong(d->rw, "host", DISK_GUEST_FIRST, DISK_GUEST_END, &s);
	EXPECT_EQ(0, wrong) TH_LOG("%s: %ld sector(s) wrong, the first %u",
				   d->rw, wrong, s);
	wrong = disk_wrong(d->ro, "ro", 0, 0, &s);
	EXPECT_EQ(0, wrong) TH_LOG("%s (read-only): %ld sector(s) wrong, the first %u",
				   d->ro, wrong, s);
}

/* The images, and the plan's options for them. */
static void disk_plan(struct __test_metadata *_metadata, struct disks *d,
		      struct boot_plan *p)
{
	int i = 0;

	while (p->args[i])
		i++;
	ASSERT_GE(6, i);
	snprintf(d->rw, sizeof(d->rw), "/tmp/khyp-linux-rw-XXXXXX");
	snprintf(d->ro, sizeof(d->ro), "/tmp/khyp-linux-ro-XXXXXX");
	ASSERT_EQ(0, disk_make(d->rw, "host")) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, disk_make(d->ro, "ro")) TH_LOG("%s", strerror(errno));
	snprintf(d->ro_arg, sizeof(d->ro_arg), "%s,ro", d->ro);
	p->args[i++] = "--disk";
	p->args[i++] = d->rw;
	p->args[i++] = "--disk";
	p->args[i++] = d->ro_arg;
	strncat(p->cmdline, " khyp.disk=1",
		sizeof(p->cmdline) - strlen(p->cmdline) - 1);
	p->after = disk_check;
	p->priv = d;
}

static void disk_cleanup(struct disks *d)
{
	if (d->rw[0])
		unlink(d->rw);
	if (d->ro[0])
		unlink(d->ro);
}

/* ---- the RAM above 4 GiB (the later boots) ---- */

/*
 * -m HIGH_MEM_MB is more than fits below the PCI hole (2816 MiB): the
 * launcher puts 2 GiB below it and the rest from 4 GiB (docs/linux.md,
 * "Memory map").  /init (khyp.highmem=HIGH_FILL_MB) prints the System
 * RAM ranges of /proc/iomem and zone Normal's start, managed and used
 * pages before and after it writes HIGH_FILL_MB MiB of "khyp high
 * sector s" records (disk_record()'s) to a tmpfs, and their CRC-32 as
 * it reads them back: the kernel must have all of it, zone Normal must
 * start at 4 GiB, the records must have gone there (the page allocator
 * takes the highest zone first) and read back as written.
 */
static void highmem_check(struct __test_metadata *_metadata,
			  const struct boot_run *r, void *priv)
{
	unsigned long long high_end = (1ULL << 32) +
				      ((HIGH_MEM_MB - 2048ULL) << 20) - 1;
	long pfn0 = -1, managed = -1, used0 = -1, pfn1, managed1, used1 = -1;
	char v[512], want[64], rec[513];
	uint32_t crc = 0;
	unsigned int s;

	EXPECT_LT(4L << 20, marker_long(r->log, "MEMTOTAL"))
		TH_LOG("MemTotal not above 4 GiB");
	v[0] = ' ';
	if (!marker(r->log, "HIGHMEM-IOMEM", v + 1, sizeof(v) - 1))
		strcpy(v, "?");
	snprintf(want, sizeof(want), " 100000000-%llx ", high_end);
	EXPECT_NE(NULL, strstr(v, want))
		TH_LOG("/proc/iomem's System RAM:%s; wanted%s", v, want);
	if (marker(r->log, "HIGHMEM-NORMAL-BEFORE", v, sizeof(v)))
		sscanf(v, "%ld %ld %ld", &pfn0, &managed, &used0);
	if (!marker(r->log, "HIGHMEM-NORMAL-AFTER", v, sizeof(v)) ||
	    sscanf(v, "%ld %ld %ld", &pfn1, &managed1, &used1) != 3)
		used1 = -1;
	printf("# zone Normal: start_pfn %#lx, managed %ld pages, used %ld, %ld after %d MiB in a tmpfs\n",
	       pfn0, managed, used0, used1, HIGH_FILL_MB);
	EXPECT_EQ(0x100000, pfn0) TH_LOG("zone Normal does not start at 4 GiB");
	EXPECT_LE((HIGH_MEM_MB - 2048L) * 256 * 3 / 4, managed)
		TH_LOG("the kernel manages too little of the RAM above 4 GiB");
	EXPECT_LE(used0 + HIGH_FILL_MB * 256L * 3 / 4, used1)
		TH_LOG("the tmpfs's pages did not come from above 4 GiB");
	for (s = 0; s < HIGH_FILL_MB * 2048; s++) {
		disk_record(rec, "high", s);
		crc = crc32_add(crc, (const unsigned char *)rec, 512);
	}
	snprintf(want, sizeof(want), "%08x %d", crc, HIGH_FILL_MB << 20);
	EXPECT_STREQ(want, marker(r->log, "HIGHMEM-CRC", v, sizeof(v)) ?: "?")
		TH_LOG("the records read back from above 4 GiB");
}

/*
 * The later boots' shell: khyp run's stdin is the guest's COM1 input
 * (--serial stdio, a pipe here as a terminal would be).  At the prompt
 * after KHYP-SHELL-START the test types a command, and `exit` once its
 * output shows (the shell's exit hangs its tty up, which drops output
 * the UART has not sent yet); /init then goes on.
 */
static const char *const typed[] = {
	"KHYP-SHELL-START", "",
	"# ", "echo KHYP-TYPED=$((6 * 7))\n",
	"KHYP-TYPED=42", "exit\n",
	NULL
};

static void later_checks(struct __test_metadata *_metadata,
			 const struct boot_run *r, void *priv)
{
	EXPECT_TRUE(r->typed) TH_LOG("no prompt after KHYP-SHELL-START, or no output");
	EXPECT_EQ(42, marker_long(r->log, "TYPED"))
		TH_LOG("the typed command's output");
	EXPECT_EQ(0, marker_long(r->log, "SHELL-END"))
		TH_LOG("the shell did not exit");
	highmem_check(_metadata, r, priv);
}

LINUX_GUEST_FIXTURE()

/*
 * The boots, one per vCPU count in KHYP_LINUX_CPUS.  Each must reach
 * the shell and end the way /init says.  The first also checks the
 * virtio disks and ends in a power-off (status 0); the others have
 * -m HIGH_MEM_MB, RAM above 4 GiB (highmem_check()), a shell that takes
 * what is typed on COM1 (later_checks()), and end in `reboot` with
 * --reboot exit (status 12).
 */
TEST_F_TIMEOUT(guest, debian_kernel_boots_to_busybox, TEST_TIMEOUT_S)
{
	const char *list = getenv("KHYP_LINUX_CPUS");
	char buf[64], name[32], *tok, *save;
	struct disks disks = { 0 };
	int nboot = 0;

	snprintf(buf, sizeof(buf), "%s", list ? list : LINUX_CPUS_DEFAULT);
	for (tok = strtok_r(buf, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		struct boot_plan plan = { .name = name };
		int cpus = atoi(tok);

		ASSERT_LT(0, cpus) TH_LOG("KHYP_LINUX_CPUS: '%s'", tok);
		snprintf(name, sizeof(name), "%dcpu", cpus);
		if (nboot++ == 0) {
			disk_plan(_metadata, &disks, &plan);
		} else {
			plan.args[0] = "--reboot";
			plan.args[1] = "exit";
			snprintf(plan.cmdline, sizeof(plan.cmdline),
				 "khyp.end=reboot khyp.highmem=%d "
				 "khyp.shell=1 khyp.shell_timeout=60",
				 HIGH_FILL_MB);
			plan.mem_mb = HIGH_MEM_MB;
			plan.after = later_checks;
			plan.type = typed;
		}
		boot(_metadata, self->tool, self->kernel, self->initrd, cpus,
		     &plan);
		disk_cleanup(&disks);
		memset(&disks, 0, sizeof(disks));
	}
}


/*
 * ---- The virtio devices besides the disks: network, console, entropy ----
 *
 * One more boot, 1 vCPU, with
 *
 *   --net tap=NET_TAP,mac=NET_MAC --console FILE --rng --acpi off
 *
 * run inside a network namespace of the test's own (the harness runs
 * each test in a child process, which unshares it): the tap NET_TAP,
 * persistent, with NET_HOST/24, and a TCP server on NET_HOST:NET_PORT
 * that reads what the guest sends until it half-closes, then sends
 * NET_BYTES of random bytes and closes.  /init (khyp.net=, khyp.hvc=,
 * khyp.rng=; scripts/linux-guest-init) configures the card with busybox
 * ip, pings NET_HOST, sends NET_BYTES from /dev/urandom with busybox nc
 * and prints the CRC-32 and length of what it sent and received, writes
 * HVC_WORD to /dev/hvc0, and reads /dev/hwrng.  The test compares both
 * checksums with its own and looks for HVC_WORD in FILE.
 *
 * The same boot has --balloon=BAL_SIZE (a virtio-balloon, issue 15):
 * /init (khyp.balloon=BAL_PAGES) fills a tmpfs with 96 MiB of a random
 * pattern, loads virtio_balloon, waits until it has inflated BAL_PAGES,
 * checks the pattern, then frees it.  The test checks what khyp run
 * prints at the end: the module's balloon holds at least 90% of
 * BAL_SIZE, through the userspace protocol, without violations, the
 * device had no page refused or left waiting, and the VM's allocated
 * RAM is at most its size less the balloon (the host got those pages
 * back); the pattern's checksum did
 * not change; and free page reporting gave back at least half of the
 * freed pattern: `khyp stats` read at the marker KHYP-BALLOON-FREE=begin
 * (a thread watches the console file) against the end-of-run count.
 *
 * And the boot is a restart (issue 14): `--reboot restart` with a disk
 * of RESTART_SECTORS zeros as well, and khyp.restart=1.  After all of
 * the above /init writes "khyp boot 1" into the disk's sector 0 and
 * reboots (the 8042's reset, without ACPI); khyp run tears the VM down
 * and boots a new one with every device reset.  The second boot's /init
 * finds the record (KHYP-BOOT=2), pings NET_HOST through the same tap,
 * writes HVC_WORD-AGAIN to the console, reads /dev/hwrng, loads
 * virtio_balloon and waits for BAL_PAGES inflated in the new VM, writes
 * "khyp boot 2" over the record and ends with debug-exit 42.  The test
 * checks each boot's markers apart, both end-of-run balloon reports (the
 * second VM's balloon filled again from empty; the device's counts are
 * its boot's), both words in FILE and the record in the image.
 */

#define NET_TAP		"khyp-t0"
#define NET_MAC		"02:6b:68:79:70:42"
#define NET_HOST	"10.0.2.1"
#define NET_GUEST	"10.0.2.15"
#define NET_PORT	"7001"
#define NET_BYTES	(512 * 1024)	/* each way; the guest's dd: 512 x 1 KiB */
#define HVC_WORD	"KHYP-HVC-HELLO"
#define DEVS_TIMEOUT_S	700		/* the harness's, for the one boot */
#define BAL_SIZE	"64M"
#define BAL_PAGES	16384
#define BAL_FREED_PAGES	(96 * 256)	/* /init's pattern, freed at the end */
#define RESTART_SECTORS	2048		/* 1 MiB: /init's boot record */

/*
 * The boot runs with --acpi off (an MP table, /init's debug-exit 42),
 * so that the suite boots Linux on PCI devices both ways: the other
 * boots have ACPI, where Linux scans PCI below the DSDT's root bridge
 * PCI0; without ACPI it finds bus 0 through 0xcf8 by itself.  The
 * virtio devices use MSI-X either way.
 */
static const char kcmdline_devs[] =
	"console=ttyS0 earlyprintk=serial,ttyS0,115200 "
	"printk.devkmsg=on panic=-1 lpj=1000000 khyp.exit=42 "
	"khyp.net=" NET_GUEST "/24," NET_HOST "," NET_PORT " "
	"khyp.hvc=" HVC_WORD " khyp.rng=1 khyp.balloon=16384 khyp.restart=1";

/* The console log's lines that contain any of words (a failure's clues). */
static void dump_lines(const char *log, const char *const *words)
{
	const char *p = log, *nl;
	char line[512];
	size_t n;
	int i;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		for (i = 0; words[i]; i++)
			if (strstr(line, words[i])) {
				printf("# | %s\n", line);
				break;
			}
		if (!nl)
			break;
	}
}

/* The tap, persistent, with NET_HOST/24 and up: NULL or what failed. */
static const char *net_tap_setup(void)
{
	struct sockaddr_in *sin;
	struct ifreq ifr;
	int fd, s;

	fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0)
		return "open /dev/net/tun";
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", NET_TAP);
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETPERSIST, 1)) {
		close(fd);
		return "TUNSETIFF or TUNSETPERSIST";
	}
	close(fd);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return "socket";
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", NET_TAP);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, NET_HOST, &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr))
		goto fail;
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	if (ioctl(s, SIOCSIFNETMASK, &ifr) || ioctl(s, SIOCGIFFLAGS, &ifr))
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		goto fail;
	close(s);
	return NULL;
fail:
	close(s);
	return "the tap's address or flags (SIOCSIF*)";
}

/* The host's end of the transfer (a thread). */
struct net_server {
	int lfd;			/* listening on NET_HOST:NET_PORT */
	int stop;			/* atomic: the boot is over */
	bool connected;
	uint32_t rx_crc, tx_crc;	/* of what came from, went to the guest */
	size_t rx_len, tx_len;
	char err[128];
};

/* Wait up to 0.5 s for fd to be ready for events: 1, 0 (stop), -1. */
static int net_wait(struct net_server *ns, int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	for (;;) {
		if (__atomic_load_n(&ns->stop, __ATOMIC_SEQ_CST))
			return 0;
		r = poll(&p, 1, 500);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static void *net_server(void *arg)
{
	struct net_server *ns = arg;
	unsigned char buf[16384];
	size_t n, off;
	ssize_t r;
	int c;

	if (net_wait(ns, ns->lfd, POLLIN) <= 0)
		return NULL;
	c = accept(ns->lfd, NULL, NULL);
	if (c < 0) {
		snprintf(ns->err, sizeof(ns->err), "accept: %s", strerror(errno));
		return NULL;
	}
	ns->connected = true;
	fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
	/* what the guest sends, to its half-close */
	for (;;) {
		r = read(c, buf, sizeof(buf));
		if (r > 0) {
			ns->rx_crc = crc32_add(ns->rx_crc, buf, r);
			ns->rx_len += r;
			continue;
		}
		if (!r)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			snprintf(ns->err, sizeof(ns->err), "read: %s", strerror(errno));
			goto out;
		}
		if (net_wait(ns, c, POLLIN) <= 0)
			goto out;
	}
	/* then NET_BYTES of random bytes the other way */
	while (ns->tx_len < NET_BYTES) {
		n = NET_BYTES - ns->tx_len < sizeof(buf) ? NET_BYTES - ns->tx_len :
							   sizeof(buf);
		if (getrandom(buf, n, 0) != (ssize_t)n) {
			snprintf(ns->err, sizeof(ns->err), "getrandom");
			goto out;
		}
		for (off = 0; off < n; ) {
			r = write(c, buf + off, n - off);
			if (r > 0) {
				off += r;
				continue;
			}
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				snprintf(ns->err, sizeof(ns->err), "write: %s",
					 strerror(errno));
				goto out;
			}
			if (net_wait(ns, c, POLLOUT) <= 0)
				goto out;
		}
		ns->tx_crc = crc32_add(ns->tx_crc, buf, n);
		ns->tx_len += n;
	}
out:
	close(c);
	return NULL;
}

/* The watcher of the console file for the balloon's free (a thread). */
struct bal_watch {
	const char *tool, *serial;
	int stop;			/* atomic: the boot is over */
	long long reported;		/* `khyp stats`' at the marker, or -1 */
	char line[512];			/* its balloon line */
};

/* " reported N" of the VM's line in `khyp stats`, or -1. */
static long long stats_reported(const char *tool, char *line, size_t len)
{
	char cmd[PATH_MAX + 16], buf[1024];
	long long v = -1;
	const char *p;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s stats", tool);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f)) {
		p = strstr(buf, " balloon:");
		if (!p || !(p = strstr(p, " reported ")))
			continue;
		v = strtoll(p + 10, NULL, 10);
		snprintf(line, len, "%.*s", (int)strcspn(buf, "\n"), buf);
	}
	pclose(f);
	return v;
}

static void *bal_watch(void *arg)
{
	struct bal_watch *w = arg;
	char *log;
	bool seen;

	while (!__atomic_load_n(&w->stop, __ATOMIC_SEQ_CST)) {
		log = slurp(w->serial);
		seen = log && strstr(log, "KHYP-BALLOON-FREE=begin");
		free(log);
		if (seen) {
			w->reported = stats_reported(w->tool, w->line,
						     sizeof(w->line));
			return NULL;
		}
		usleep(200000);
	}
	return NULL;
}


/* The balloon's part of the devices boot. */
static void balloon_checks(struct __test_metadata *_metadata, const char *log,
			   const char *err, const struct bal_watch *w)
{
	const char *mod = "khyp: balloon: ", *dev = "khyp: virtio-balloon: ";
	long long size, ram, reported;
	char v[256], before[64];

	if (marker(log, "BALLOON-INFLATED", v, sizeof(v)))
		printf("# guest: balloon_inflate %s; MemFree %ld kB before, %ld after\n",
		       v, marker_long(log, "BALLOON-MEMFREE-BEFORE"),
		       marker_long(log, "BALLOON-MEMFREE-AFTER"));
	printf("# khyp stats at KHYP-BALLOON-FREE=begin: %s\n",
	       w->reported >= 0 ? w->line : "(no balloon line)");
	EXPECT_LE(BAL_PAGES, marker_long(log, "BALLOON-INFLATED"))
		TH_LOG("the guest's driver did not inflate its target");
	ASSERT_NE(NULL, marker(log, "BALLOON-CRC-BEFORE", before, sizeof(before)));
	EXPECT_STREQ(before, marker(log, "BALLOON-CRC-AFTER", v, sizeof(v)) ?
			     v : "?") TH_LOG("the guest's data changed");
	/* the module's end-of-run line: the pages are the host's again */
	ASSERT_NE(NULL, strstr(err, "protocol virtio"))
		TH_LOG("no virtio-balloon pages reached the module");
	size = after(err, mod, "balloon: ");
	ram = after(err, mod, "ram pages ");
	reported = after(err, mod, "reported ");
	EXPECT_LE(BAL_PAGES * 9 / 10, size) TH_LOG("pages in the balloon");
	/*
	 * No violations; the module's rejected entries may count a balloon
	 * compaction's new page, inflated at the target (the device offers
	 * it again after the old one's deflation: "waiting 0" below).
	 */
	EXPECT_EQ(0, after(err, mod, "violations "));
	EXPECT_LE(0, ram);
	EXPECT_GE(GUEST_MEM_MB * 256LL - size, ram)
		TH_LOG("the VM's RAM still allocated on the host");
	/*
	 * The device's: the target it gave.  Not the driver's actual: this
	 * guest resets its devices on its way to the reboot (actual 0 in
	 * this line); restart_checks() reads it in the second VM's.
	 */
	EXPECT_EQ(BAL_PAGES, after(err, dev, "num_pages "));
	EXPECT_NE(NULL, strstr(err, "waiting 0; refused 0, 0, 0"));
	/* free page reporting of the freed pattern, without a target change */
	EXPECT_LE(0, w->reported) TH_LOG("`khyp stats` at the marker");
	EXPECT_LE(w->reported + BAL_FREED_PAGES / 2, reported)
		TH_LOG("reported %lld at the marker, %lld at the end",
		       w->reported, reported);
}

/* The second boot of the restart: the devices again, the balloon anew. */
static void restart_checks(struct __test_metadata *_metadata,
			   const char *log2, const char *err,
			   const char *hvc_out, const char *disk)
{
	const char *mod = "khyp: balloon: ", *dev = "khyp: virtio-balloon: num_pages";
	const char *err2 = strstr(err, mod);
	char v[256], rec[513], got[512];
	long long size, inflated;
	int fd;

	ASSERT_NE(NULL, log2) TH_LOG("the first boot did not reboot");
	ASSERT_EQ(2, marker_long(log2, "BOOT"))
		TH_LOG("no second boot that found the first's record");
	check_tsc_rate(_metadata, log2);
	EXPECT_EQ(0, marker_long(log2, "NET-PING"))
		TH_LOG("the second boot's ping of %s through the same tap", NET_HOST);
	EXPECT_STREQ("written", marker(log2, "HVC", v, sizeof(v)) ?: "?");
	EXPECT_NE(NULL, strstr(hvc_out, HVC_WORD "-AGAIN"))
		TH_LOG("--console's file after the restart: '%.200s'", hvc_out);
	EXPECT_EQ(0, strncmp(marker(log2, "RNG-CURRENT", v, sizeof(v)) ?: "?",
			     "virtio_rng", 10)) TH_LOG("rng_current: %s", v);
	EXPECT_EQ(64, marker_long(log2, "RNG-BYTES"));
	EXPECT_LE(BAL_PAGES, marker_long(log2, "BALLOON-INFLATED"))
		TH_LOG("the second boot's driver did not inflate its target");
	EXPECT_STREQ("2 0", marker(log2, "BOOT-MARK", v, sizeof(v)) ?: "?");
	EXPECT_STREQ("debug-exit 42", marker(log2, "EXIT", v, sizeof(v)) ?: "?");
	/* the second VM's end-of-run lines: its balloon, the device's boot */
	err2 = err2 ? strstr(err2 + 1, mod) : NULL;
	ASSERT_NE(NULL, err2) TH_LOG("no balloon line for the second VM");
	printf("# the second VM: %.*s\n", (int)strcspn(err2, "\n"), err2);
	size = after(err2, mod, "balloon: ");
	EXPECT_LE(BAL_PAGES * 9 / 10, size) TH_LOG("pages in the second balloon");
	EXPECT_EQ(0, after(err2, mod, "violations "));
	EXPECT_EQ(BAL_PAGES, after(err2, dev, "num_pages "));
	EXPECT_EQ(BAL_PAGES, after(err2, dev, "actual "));
	inflated = after(err2, dev, "pages inflated ");
	EXPECT_LE(BAL_PAGES, inflated);
	EXPECT_GT(BAL_PAGES * 3 / 2, inflated) TH_LOG("the first boot's counts carried over");
	EXPECT_NE(NULL, strstr(err2, "waiting 0; refused 0, 0, 0"));
	/* the record the second boot wrote, in the image */
	fd = open(disk, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(512, pread(fd, got, sizeof(got), 0));
	close(fd);
	snprintf(rec, sizeof(rec), "%-511s\n", "khyp boot 2");
	EXPECT_EQ(0, memcmp(rec, got, sizeof(got)))
		TH_LOG("sector 0: '%.20s'", got);
}

TEST_F_TIMEOUT(guest, virtio_net_console_rng, DEVS_TIMEOUT_S)
{
	char serial[] = "/tmp/khyp-linux-serial-XXXXXX";
	char errfile[] = "/tmp/khyp-linux-err-XXXXXX";
	char hvc[] = "/tmp/khyp-linux-hvc-XXXXXX";
	char disk[] = "/tmp/khyp-linux-restart-XXXXXX";
	char m[16], t[16], v[256], want[64], cmdline[1024];
	char *argv[] = { self->tool, "run", "-c", "1", "-m", m,
			 "--initrd", self->initrd,
			 "--cmdline", cmdline, "--serial", serial,
			 "--net", "tap=" NET_TAP ",mac=" NET_MAC,
			 "--console", hvc, "--rng", "--acpi", "off",
			 "--balloon=" BAL_SIZE, "--disk", disk,
			 "--reboot", "restart",
			 "--timeout", t, self->kernel, NULL };
	struct bal_watch bw = { .tool = self->tool, .serial = serial,
				.reported = -1 };
	pthread_t bth;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(atoi(NET_PORT)) };
	struct net_server ns = { .lfd = -1 };
	const char *why;
	char *log, *err, *hvc_out, *log2, *p;
	pthread_t th;
	double start;
	int fd, status, one = 1;
	size_t n;

	/* the tap driver: a module in Debian's kernel */
	if (system("modprobe tun >/dev/null 2>&1"))
		printf("# modprobe tun failed; trying /dev/net/tun anyway\n");
	ASSERT_EQ(0, access("/dev/net/tun", R_OK | W_OK))
		TH_LOG("no /dev/net/tun: %s", strerror(errno));
	ASSERT_EQ(0, unshare(CLONE_NEWNET))
		TH_LOG("unshare(CLONE_NEWNET): %s", strerror(errno));
	why = net_tap_setup();
	ASSERT_EQ(NULL, why) TH_LOG("the tap %s: %s: %s", NET_TAP, why,
				    strerror(errno));
	ns.lfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, ns.lfd);
	setsockopt(ns.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, NET_HOST, &sa.sin_addr);
	ASSERT_EQ(0, bind(ns.lfd, (struct sockaddr *)&sa, sizeof(sa)))
		TH_LOG("bind %s:%s: %s", NET_HOST, NET_PORT, strerror(errno));
	ASSERT_EQ(0, listen(ns.lfd, 1));
	ASSERT_EQ(0, pthread_create(&th, NULL, net_server, &ns));

	fd = mkstemp(serial);
	ASSERT_LE(0, fd);
	close(fd);
	fd = mkstemp(errfile);
	ASSERT_LE(0, fd);
	close(fd);
	fd = mkstemp(hvc);
	ASSERT_LE(0, fd);
	close(fd);
	fd = mkstemp(disk);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, RESTART_SECTORS * 512));
	close(fd);
	snprintf(m, sizeof(m), "%dM", GUEST_MEM_MB);
	snprintf(t, sizeof(t), "%d", BOOT_TIMEOUT_S);
	guest_cmdline(cmdline, sizeof(cmdline), kcmdline_devs, "");

	printf("# booting %s, 1 vCPU, with --net, --console, --rng, --balloon=%s and a disk, twice (--reboot restart)\n",
	       self->kernel, BAL_SIZE);
	ASSERT_EQ(0, pthread_create(&bth, NULL, bal_watch, &bw));
	start = now_s();
	status = run_khyp(argv, errfile);
	__atomic_store_n(&ns.stop, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&bw.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	pthread_join(bth, NULL);
	close(ns.lfd);
	log = slurp(serial);
	err = slurp(errfile);
	hvc_out = slurp(hvc);
	unlink(serial);
	unlink(errfile);
	unlink(hvc);
	ASSERT_NE(NULL, log);
	ASSERT_NE(NULL, err);
	ASSERT_NE(NULL, hvc_out);
	/* the first boot's console ends at its KHYP-EXIT=reboot line */
	log2 = strstr(log, "KHYP-EXIT=reboot");
	if (log2) {
		log2 += strcspn(log2, "\n");
		p = log2;
		log2 = strdup(log2);
		ASSERT_NE(NULL, log2);
		*p = 0;
	}
	printf("# khyp run status %d after %.1f s wall; guest uptime at /init %s s, at the second boot's %s s\n",
	       status, now_s() - start,
	       marker(log, "UPTIME", v, sizeof(v)) ? v : "?",
	       log2 && marker(log2, "UPTIME", want, sizeof(want)) ? want : "?");
	n = strlen(err);
	while (n && err[n - 1] == '\n')
		err[--n] = 0;
	if (n)
		printf("# khyp run's stderr: %.2000s\n", err);
	if (!marker(log, "SHELL", v, sizeof(v)) || strcmp(v, "ok")) {
		dump_log(log);
		ASSERT_TRUE(false) TH_LOG("/init's shell did not run (status %d)",
					  status);
	}
	printf("# host: %s; received %zu bytes (crc %08x), sent %zu (crc %08x)%s%s\n",
	       ns.connected ? "the guest connected" : "no connection",
	       ns.rx_len, ns.rx_crc, ns.tx_len, ns.tx_crc,
	       *ns.err ? ": " : "", ns.err);

	check_tsc_rate(_metadata, log);
	/* virtio-net: the MAC of --net, the link up, a ping, both ways */
	EXPECT_TRUE(marker(log, "NET-IF", v, sizeof(v)) && *v)
		TH_LOG("no network interface but lo in the guest");
	EXPECT_STREQ(NET_MAC, marker(log, "NET-MAC", v, sizeof(v)) ? v : "?");
	EXPECT_EQ(1, marker_long(log, "NET-CARRIER")) TH_LOG("VIRTIO_NET_S_LINK_UP");
	EXPECT_EQ(0, marker_long(log, "NET-PING"))
		TH_LOG("the guest's ping of %s", NET_HOST);
	EXPECT_STREQ("up", marker(log, "NET-OPERSTATE", v, sizeof(v)) ? v : "?");
	EXPECT_EQ(0, marker_long(log, "NET-NC"));
	EXPECT_TRUE(ns.connected);
	EXPECT_EQ(NET_BYTES, ns.rx_len);
	snprintf(want, sizeof(want), "%08x %zu", ns.rx_crc, ns.rx_len);
	EXPECT_STREQ(want, marker(log, "NET-TX", v, sizeof(v)) ? v : "?")
		TH_LOG("guest -> host: what the guest sent (crc len) and what the host got");
	snprintf(want, sizeof(want), "%08x %d", ns.tx_crc, NET_BYTES);
	EXPECT_STREQ(want, marker(log, "NET-RX", v, sizeof(v)) ? v : "?")
		TH_LOG("host -> guest: what the host sent (crc len) and what the guest got");

	/* virtio-console: the word /init wrote to /dev/hvc0 */
	EXPECT_STREQ("written", marker(log, "HVC", v, sizeof(v)) ? v : "?");
	EXPECT_NE(NULL, strstr(hvc_out, HVC_WORD))
		TH_LOG("--console's file: '%.200s'", hvc_out);

	/* virtio-rng: the current hw_random, and bytes from it */
	EXPECT_EQ(0, strncmp(marker(log, "RNG-CURRENT", v, sizeof(v)) ? v : "?",
			     "virtio_rng", 10)) TH_LOG("rng_current: %s", v);
	EXPECT_EQ(64, marker_long(log, "RNG-BYTES"));
	if (marker(log, "RNG-HEX", v, sizeof(v)))
		printf("# /dev/hwrng: %s\n", v);

	/* virtio-balloon */
	balloon_checks(_metadata, log, err, &bw);

	/*
	 * The first boot rebooted after writing its record; the second
	 * ended with debug-exit 42 (no ACPI) after using every device again.
	 */
	EXPECT_STREQ("1", marker(log, "BOOT", v, sizeof(v)) ?: "?");
	EXPECT_STREQ("1 0", marker(log, "BOOT-MARK", v, sizeof(v)) ?: "?");
	EXPECT_STREQ("reboot", marker(log, "EXIT", v, sizeof(v)) ? v : "?");
	restart_checks(_metadata, log2, err, hvc_out, disk);
	EXPECT_EQ((42 << 1) | 1, status);
	if (_metadata->passed == 0 || getenv("KHYP_LINUX_VERBOSE")) {
		static const char *const clues[] = {
			"virtio", "0000:00:", "PCI", "hvc", "hwrng", "eth0",
			"KHYP-NET", "KHYP-BALLOON", "balloon", NULL,
		};

		printf("# the console's lines about the devices:\n");
		dump_lines(log, clues);
		dump_log(log);
		if (log2) {
			printf("# the second boot:\n");
			dump_log(log2);
		}
	}
	unlink(disk);
	free(log2);
	free(log);
	free(err);
	free(hvc_out);
	fflush(stdout);		/* the harness's child ends with _exit() */
}

TEST_HARNESS_MAIN
