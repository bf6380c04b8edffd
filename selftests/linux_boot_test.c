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
 * and checks from FILE and the exit status: the shell ran, it sees N
 * CPUs and the RAM -m gives (less what the kernel keeps), the local
 * APIC timer's count (LOC in /proc/interrupts) rises, the kernel logged
 * no unchecked MSR access, and khyp run exited with the status /init
 * chose (0 after an ACPI power-off, (V << 1) | 1 after isa-debug-exit V).
 *
 * KERNEL: $KHYP_LINUX_KERNEL (a bzImage or a vmlinux), else
 * /boot/vmlinuz-$(uname -r) (the machines boot the same kernel), else
 * /khyp-tool/vmlinuz.  INITRD:
 * $KHYP_LINUX_INITRD, else build/test/linux-initramfs.cpio.gz of this
 * test's source tree (scripts/test.sh builds it), else
 * /khyp-tool/linux-initramfs.cpio.gz.  Missing either is a failure, not
 * a skip: scripts/test.sh runs this test only in the machine configured
 * for it (svm-qemu-linux, vmx-bochs-linux).  N: $KHYP_LINUX_CPUS, a list
 * such as "1,2" (one boot each, in order), by default LINUX_CPUS_DEFAULT.
 * $KHYP_LINUX_ONE_BOOT=1 skips the tests of the other boots (the panic,
 * the devices): vmx-bochs-linux, where a boot takes minutes, boots once.
 * $KHYP_LINUX_KCMD: one more kernel option for every boot, and
 * $KHYP_LINUX_LOGLEVEL the console's loglevel (7 by default): vmx-bochs-linux
 * has cryptomgr.notests and 5 (docs/testing.md).
 *
 * A boot takes minutes of wall time in the emulated machines (svm-qemu:
 * docs/testing.md), hence the long timeouts.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
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
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

#define LINUX_CPUS_DEFAULT	"1,2"
#define GUEST_MEM_MB		256
#define BOOT_TIMEOUT_S		600	/* khyp run --timeout, per boot */
#define TEST_TIMEOUT_S		1300	/* the harness's, for two boots */
#define SERIAL_MAX		(1 << 20)

/*
 * lpj: the delay loop's calibration counts jiffies for a while, long in
 * an emulated machine; printk.devkmsg=on: /init's markers go through
 * /dev/kmsg (scripts/linux-guest-init), which is rate-limited otherwise.
 * The markers have the default level 4, so a loglevel of 5 or more
 * prints them (loglevel=, KHYP_LINUX_LOGLEVEL).
 */
static const char kcmdline[] =
	"console=ttyS0 earlyprintk=serial,ttyS0,115200 "
	"printk.devkmsg=on panic=-1 lpj=1000000 "
	"khyp.run=\"cat /proc/version\" khyp.exit=42";

/* The first path that can be read: env, <test dir>/../rel, fallback. */
static bool find_file(char *buf, const char *env, const char *rel,
		      const char *fallback)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (getenv(env)) {
		snprintf(buf, PATH_MAX, "%s", getenv(env));
		return !access(buf, R_OK);
	}
	if (rel) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = 0;
			snprintf(buf, PATH_MAX, "%.2000s/../%s", dirname(exe),
				 rel);
			if (!access(buf, R_OK))
				return true;
		}
	}
	snprintf(buf, PATH_MAX, "%s", fallback);
	return !access(buf, R_OK);
}

static bool find_tool(char *buf)
{
	return find_file(buf, "KHYP_TOOL", "userspace-tool/khyp",
			 "/khyp-tool/khyp");
}

static bool find_kernel(char *buf)
{
	char boot[PATH_MAX];
	struct utsname u;

	if (!getenv("KHYP_LINUX_KERNEL") && !uname(&u)) {
		snprintf(boot, sizeof(boot), "/boot/vmlinuz-%s", u.release);
		if (!access(boot, R_OK)) {
			snprintf(buf, PATH_MAX, "%s", boot);
			return true;
		}
	}
	return find_file(buf, "KHYP_LINUX_KERNEL", NULL, "/khyp-tool/vmlinuz");
}

static bool find_initrd(char *buf)
{
	return find_file(buf, "KHYP_LINUX_INITRD",
			 "build/test/linux-initramfs.cpio.gz",
			 "/khyp-tool/linux-initramfs.cpio.gz");
}

/* The whole of @path, NUL-terminated, at most SERIAL_MAX - 1 bytes. */
static char *slurp(const char *path)
{
	char *buf = calloc(1, SERIAL_MAX);
	size_t len = 0;
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return buf;
	while (len < SERIAL_MAX - 1 &&
	       (n = read(fd, buf + len, SERIAL_MAX - 1 - len)) > 0)
		len += n;
	close(fd);
	/* NULs (a serial line's noise) would end the string early. */
	for (n = 0; n < (ssize_t)len; n++)
		if (!buf[n])
			buf[n] = ' ';
	return buf;
}

/* A marker starts a line, or follows the kernel log's "[  uptime] ". */
static bool at_line_start(const char *log, const char *p)
{
	if (p == log || p[-1] == '\n' || p[-1] == '\r')
		return true;
	return p - log >= 2 && p[-1] == ' ' && p[-2] == ']';
}

/*
 * The value of the first marker "KHYP-@name=value" in @log (the line's
 * rest, without the CR the console adds), or NULL.
 */
static const char *marker(const char *log, const char *name, char *val,
			  size_t len)
{
	char key[64];
	const char *p = log;
	size_t klen, n;

	klen = snprintf(key, sizeof(key), "KHYP-%s=", name);
	while ((p = strstr(p, key))) {
		if (!at_line_start(log, p)) {
			p += klen;
			continue;
		}
		p += klen;
		n = strcspn(p, "\r\n");
		if (n >= len)
			n = len - 1;
		memcpy(val, p, n);
		val[n] = 0;
		return val;
	}
	return NULL;
}

static long marker_long(const char *log, const char *name)
{
	char v[64];

	if (!marker(log, name, v, sizeof(v)))
		return -1;
	return strtol(v, NULL, 0);
}

/* Print the console log (the interesting end of it) into the TAP output. */
static void dump_log(const char *log)
{
	size_t len = strlen(log);
	const char *p = len > 12000 ? log + len - 12000 : log;
	const char *nl;

	while (*p) {
		nl = strchr(p, '\n');
		printf("# | %.*s\n", (int)(nl ? nl - p : (long)strlen(p)), p);
		if (!nl)
			break;
		p = nl + 1;
	}
	fflush(stdout);
}

/* Write @s to the file @path: true if all of it went. */
static bool write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok;
}

/* The running khyp run's pid (for `khyp balloon PID`), or 0. */
static pid_t khyp_run_pid;

/*
 * Run khyp (in the cgroup v2 directory @cgroup, if not NULL: 127 if it
 * cannot join it) and wait for it: its exit status, 128 + signal, or -1.
 */
static int run_khyp_in(char *const argv[], const char *errfile,
		       const char *cgroup)
{
	char procs[PATH_MAX];
	int ws, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (cgroup) {
			snprintf(procs, sizeof(procs), "%.4000s/cgroup.procs",
				 cgroup);
			if (!write_file(procs, "0"))
				_exit(127);
		}
		fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	__atomic_store_n(&khyp_run_pid, pid, __ATOMIC_SEQ_CST);
	if (waitpid(pid, &ws, 0) != pid)
		pid = -1;
	__atomic_store_n(&khyp_run_pid, 0, __ATOMIC_SEQ_CST);
	if (pid < 0)
		return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static int run_khyp(char *const argv[], const char *errfile)
{
	return run_khyp_in(argv, errfile, NULL);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* What one khyp run printed and how it ended. */
struct boot_run {
	char *log;		/* the serial console */
	char *err;		/* khyp run's stdout and stderr */
	int status;
	double wall;
};

/*
 * What a boot adds to the plain one: more khyp run options, kernel
 * options after kcmdline (/init takes the last khyp.run), and checks of
 * its own once khyp run has exited.
 */
struct boot_plan {
	const char *name;		/* the boot's console log: NAME.log */
	const char *args[8];		/* NULL-terminated */
	char cmdline[256];
	void (*after)(struct __test_metadata *_metadata,
		      const struct boot_run *r, void *priv);
	void *priv;
	int mem_mb;			/* -m, if not GUEST_MEM_MB */
	const char *cgroup;		/* khyp run runs in it, if not NULL */
	/*
	 * A thread of the test's while khyp run runs, given the console
	 * file's path: it must return once *stop is set (khyp run ended).
	 */
	void (*during)(const char *serial, const int *stop, void *priv);
};

struct during_arg {
	const struct boot_plan *plan;
	const char *serial;
	int stop;			/* atomic */
};

static void *during_thread(void *arg)
{
	struct during_arg *d = arg;

	d->plan->during(d->serial, &d->stop, d->plan->priv);
	return NULL;
}

/*
 * Keep the console log beside the initramfs (build/test/ in a source
 * tree) as linux-boot-NAME.log, for whoever reads a failure; quietly
 * nothing where that is not writable.
 */
static void keep_log(const char *initrd, const char *name, const char *log)
{
	char dir[PATH_MAX], path[PATH_MAX];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", initrd);
	snprintf(path, sizeof(path), "%.3000s/linux-boot-%s.log", dirname(dir),
		 name);
	f = fopen(path, "w");
	if (!f)
		return;
	fputs(log, f);
	fclose(f);
}

/*
 * The TSC's rate khyp gives its guests (CPUID 0x40000010 EAX, the
 * host's tsc_khz), or 0.  Linux reads that leaf only for VMware; on an
 * Intel host it finds the rate in leaves 0x15/0x16, on an AMD one it
 * calibrates the TSC against the PIT and the PM timer, timing each port
 * read, and under nested TCG (svm-qemu-linux) every read is an exit of
 * 60 us or more: all three calibrations fail ("tsc: Fast TSC calibration
 * failed", "Unable to calibrate against PIT", "HPET/PMTIMER calibration
 * failed") and Linux marks the TSC unstable.  So the boots pass what the
 * emulated machine cannot show Linux: the rate (tsc_early_khz=) and that
 * the vCPUs' TSCs are one clock (tsc=reliable: khyp gives every vCPU of
 * a VM the same offset; the machine's CPU model has no invariant-TSC bit
 * for khyp to pass on).  docs/linux.md, "The clock".
 */
static unsigned int guest_tsc_khz(void)
{
	static unsigned int khz;
	struct khyp_cpuid c;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	uint32_t i;

	if (khz)
		return khz;
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	memset(&c, 0, sizeof(c));
	if (!ioctl(vcpu->fd, KHYP_GET_CPUID, &c))
		for (i = 0; i < c.nent && i < KHYP_MAX_CPUID_ENTRIES; i++)
			if (c.entries[i].function == 0x40000010)
				khz = c.entries[i].eax;
	kh_vcpu_close(vcpu);
	kh_vm_free(vm);
	return khz;
}

/* khyp run with @cpus vCPUs and @plan's additions, to its end. */
static void launch(struct __test_metadata *_metadata, const char *tool,
		   const char *kernel, const char *initrd, int cpus,
		   const struct boot_plan *plan, struct boot_run *r)
{
	char serial[] = "/tmp/khyp-linux-serial-XXXXXX";
	char errfile[] = "/tmp/khyp-linux-err-XXXXXX";
	char c[16], m[16], t[16], v[64], ex[64], cmdline[1024], clock[64];
	const char *loglevel = getenv("KHYP_LINUX_LOGLEVEL") ?: "7";
	char *argv[32] = { (char *)tool, "run", "-c", c, "-m", m,
			   "--initrd", (char *)initrd, "--cmdline", cmdline,
			   "--serial", serial, "--timeout", t };
	struct during_arg during = { .plan = plan, .serial = serial };
	int fd, argc = 14, i;
	pthread_t th;
	double start;
	size_t n;

	fd = mkstemp(serial);
	ASSERT_LE(0, fd);
	close(fd);
	fd = mkstemp(errfile);
	ASSERT_LE(0, fd);
	close(fd);
	snprintf(c, sizeof(c), "%d", cpus);
	snprintf(m, sizeof(m), "%dM", plan->mem_mb ?: GUEST_MEM_MB);
	snprintf(t, sizeof(t), "%d", BOOT_TIMEOUT_S);
	n = guest_tsc_khz();
	snprintf(clock, sizeof(clock), "tsc_early_khz=%zu tsc=reliable", n);
	snprintf(cmdline, sizeof(cmdline), "%s loglevel=%s %s %s %s", kcmdline,
		 loglevel, n ? clock : "", getenv("KHYP_LINUX_KCMD") ?: "",
		 plan->cmdline);
	for (i = 0; plan->args[i] && argc < 30; i++)
		argv[argc++] = (char *)plan->args[i];
	argv[argc++] = (char *)kernel;
	argv[argc] = NULL;

	printf("# booting %s, %d vCPU(s), with %s (%s)\n", kernel, cpus,
	       initrd, plan->name);
	if (plan->during)
		ASSERT_EQ(0, pthread_create(&th, NULL, during_thread, &during));
	start = now_s();
	r->status = run_khyp_in(argv, errfile, plan->cgroup);
	r->wall = now_s() - start;
	if (plan->during) {
		__atomic_store_n(&during.stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(th, NULL);
	}
	r->log = slurp(serial);
	r->err = slurp(errfile);
	unlink(serial);
	unlink(errfile);
	ASSERT_NE(NULL, r->log);
	ASSERT_NE(NULL, r->err);
	keep_log(initrd, plan->name, r->log);

	printf("# %s, %d vCPU(s): khyp run status %d after %.1f s wall; guest uptime at /init %s s, at its end %s s\n",
	       plan->name, cpus, r->status, r->wall,
	       marker(r->log, "UPTIME", v, sizeof(v)) ? v : "?",
	       marker(r->log, "UPTIME-END", ex, sizeof(ex)) ? ex : "?");
	n = strlen(r->err);
	while (n && r->err[n - 1] == '\n')
		r->err[--n] = 0;
	if (n)
		printf("# khyp run's stderr: %.2000s\n", r->err);

	if (!marker(r->log, "SHELL", v, sizeof(v)) || strcmp(v, "ok")) {
		dump_log(r->log);
		ASSERT_TRUE(false) TH_LOG("/init's shell did not run (status %d; the console log is above)",
					  r->status);
	}
}

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
	long memtotal, loc1, loc2, want_status;
	struct boot_run r;
	char v[256], ex[64];

	launch(_metadata, tool, kernel, initrd, cpus, plan, &r);
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
	 * 30 MiB of 256 for Debian's kernel), and the holes below 1 MiB.
	 */
	memtotal = marker_long(r.log, "MEMTOTAL");
	EXPECT_LE(memtotal, GUEST_MEM_MB * 1024L);
	EXPECT_GE(memtotal, GUEST_MEM_MB * 1024L * 3 / 4)
		TH_LOG("MemTotal %ld kB of %d MiB", memtotal, GUEST_MEM_MB);
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

FIXTURE(guest) {
	char tool[PATH_MAX];
	char kernel[PATH_MAX];
	char initrd[PATH_MAX];
};

FIXTURE_SETUP(guest)
{
	NEED_DEV();
	ASSERT_TRUE(find_tool(self->tool))
		TH_LOG("no khyp binary (%s); set KHYP_TOOL", self->tool);
	ASSERT_TRUE(find_kernel(self->kernel))
		TH_LOG("cannot read the kernel %s: set KHYP_LINUX_KERNEL", self->kernel);
	ASSERT_TRUE(find_initrd(self->initrd))
		TH_LOG("cannot read the initramfs %s: run scripts/mkinitramfs-linux.sh, or set KHYP_LINUX_INITRD",
		       self->initrd);
}

FIXTURE_TEARDOWN(guest)
{
}

/*
 * The boots, one per vCPU count in KHYP_LINUX_CPUS.  Each must reach
 * the shell and end the way /init says.  The first also checks the
 * virtio disks and ends in a power-off (status 0); the others end in
 * `reboot` with --reboot exit (status 12).
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
				 "khyp.end=reboot");
		}
		boot(_metadata, self->tool, self->kernel, self->initrd, cpus,
		     &plan);
		disk_cleanup(&disks);
		memset(&disks, 0, sizeof(disks));
	}
}

/*
 * KHYP_LINUX_ONE_BOOT=1: only debian_kernel_boots_to_busybox's boots run
 * (scripts/test.sh's vmx-bochs-linux; scripts/expected-skips).
 */
#define SKIP_UNLESS_ALL_BOOTS() do {					\
	const char *one = getenv("KHYP_LINUX_ONE_BOOT");		\
									\
	if (one && !strcmp(one, "1"))					\
		SKIP(return, "KHYP_LINUX_ONE_BOOT=1: one boot in this machine"); \
} while (0)

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
	"console=ttyS0 earlyprintk=serial,ttyS0,115200 loglevel=7 "
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

/* "name N" in s, after prefix: N, or -1. */
static long long after(const char *s, const char *prefix, const char *name)
{
	const char *p = prefix ? strstr(s, prefix) : s;

	if (!p || !(p = strstr(p, name)))
		return -1;
	return strtoll(p + strlen(name), NULL, 10);
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
	char m[16], t[16], v[256], want[64];
	char *argv[] = { self->tool, "run", "-c", "1", "-m", m,
			 "--initrd", self->initrd,
			 "--cmdline", (char *)kcmdline_devs, "--serial", serial,
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

	SKIP_UNLESS_ALL_BOOTS();
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

/*
 * ---- The host's pressure on a Linux guest's balloon, then a panic ----
 *
 * One boot, 1 vCPU, PR_MEM_MB of RAM, with
 *
 *   --balloon --disk /proc/self/fd/N,ro   (khyp run in cgroup PR_CG_A)
 *
 * --balloon without a size: a virtio-balloon whose target is the
 * module's pressure target alone (the shrinker's).  The disk is a
 * sparse memfd of PR_DISK_MB.  /init (khyp.pressure=2;
 * scripts/linux-guest-init) keeps PR_DATA_MB of a random pattern in a
 * tmpfs, fills its page cache with the disk (so the guest has touched
 * most of its RAM, and has clean pages it can give up), loads
 * virtio_balloon and says KHYP-PRESSURE=ready.  A thread of the test
 * (pressure_driver()) then puts it under pressure twice; each time the
 * guest waits for its balloon to grow and then to be empty again
 * (KHYP-PRESSURE-ROUND-r=peak P empty 0), and reads the disk again to
 * refill its cache.
 *
 * 1. The memory cgroup: VM B, a second VM made by the test in cgroup
 *    PR_CG_B (no guest runs in it: PR_B_MB of its RAM touched through
 *    the VMM's mapping, and the eventfd a balloon device would set, so
 *    the shrinker would ask it as it asks the Linux guest), sits beside
 *    it.  The test sets PR_CG_A's memory.high PR_MEMCG_GIVE_MB below its
 *    memory.current: reclaim in that cgroup raises the Linux VM's
 *    pressure target, its guest inflates, and memory.current falls to
 *    memory.high; B's pressure target stays 0 and its eventfd is never
 *    signalled.  memory.high back to max: the target decays, the guest
 *    deflates to 0.
 * 2. The host: a memory hog (a child of the test's, in its own cgroup)
 *    grows in steps past the machine's available memory (MemAvailable),
 *    slowly once little is left, until the guest's balloon holds
 *    PR_HOG_BALLOON pages (the test then stops it).  The Linux guest's balloon
 *    grows and the pages it frees come back to the host (the module's
 *    `freed`); B is asked too (the check of step 1 could fail); the
 *    hog reaches its size, and when it exits the target decays and the
 *    guest deflates to 0.
 *
 * Then the guest's pattern must have its first checksum, and neither
 * the guest's kernel log nor the machine's may show the OOM killer.
 * At the end /init panics (`echo c > /proc/sysrq-trigger`): pvpanic-mmio
 * (bound to the DSDT's QEMU0001) writes PANICKED to port 0x505, and khyp
 * run says so and exits 14 (STATUS_PANIC), before the panic's own restart
 * (panic=-1) would end it with 12.  (The panic has no boot of its own:
 * it is the end of this one.)
 */
#define PR_MEM_MB		192
#define PR_DISK_MB		80
#define PR_DATA_MB		32	/* /init's PR_DATA_MB */
#define PR_SET_MB		24	/* `khyp balloon PID 24M` */
#define PR_MEMCG_GIVE_MB	8
#define PR_HOG_BALLOON		4096	/* pages: the hog stops there */
#define PR_B_MEM_MB		64
#define PR_B_MB			48
#define PR_CG_ROOT		"/sys/fs/cgroup"
#define PR_CG_TEST		PR_CG_ROOT "/khyp-linux-test"
#define PR_CG_A			PR_CG_ROOT "/khyp-linux-a"
#define PR_CG_B			PR_CG_ROOT "/khyp-linux-b"
#define PR_DEBUGFS		"/sys/kernel/debug/khyp"
#define PR_TIMEOUT_S		900	/* the harness's, for the one boot */

/* What pressure_driver() saw (the test checks it after the boot). */
struct pressure {
	const char *tool;		/* khyp */
	struct kh_vm *b;		/* VM B */
	int b_efd;			/* its eventfd, non-blocking */
	char vms_before[512];		/* " vm1 vm2 " before the boot */
	char lvm[32];			/* the Linux VM's debugfs name */
	char err[256];			/* why the driver stopped early */
	bool ready;
	/* step 0: `khyp balloon PID SIZE` */
	char set_out[512];		/* its output */
	int set_status, zero_status, big_status, none_status;
	long long u_target, u_size, u_ram0, u_ram1, u_freed0, u_freed1;
	long u_cg0, u_cg1;		/* PR_CG_A's memory.current, KiB */
	double u_s;
	bool round0;
	/* step 1 */
	long a_before, a_high, a_after;	/* PR_CG_A's memory.current, KiB */
	double memcg_s;			/* until it fell to memory.high */
	long long m_pt, m_size;		/* the Linux VM's peaks meanwhile */
	long long b_pt_memcg;		/* B's peak pressure target */
	long long b_signals_memcg;	/* B's eventfd count, -1: none */
	bool round1;
	/* step 2 */
	long avail, memfree0, hog_kib;	/* MemAvailable, MemFree, the hog's size */
	bool hog_stopped;		/* by the test: the guest answered */
	int hog_status;
	double hog_s;
	long long h_pt, h_size;		/* the Linux VM's peaks */
	long long freed0, freed1, ram0, ram_min;
	long long b_pt_hog, b_signals_hog;
	long memfree_peak_hog;		/* MemFree's peak after the hog */
	bool round2;
};

static long pr_cg_kib(const char *dir, const char *file)
{
	char path[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v < 0 ? -1 : (long)(v / 1024);
}

static bool pr_cg_join(const char *dir)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	return write_file(path, "0");
}

/* /proc/meminfo's @name in KiB, or -1. */
static long meminfo_kib(const char *name)
{
	char line[128], key[64];
	long v = -1, n;
	FILE *f = fopen("/proc/meminfo", "r");

	snprintf(key, sizeof(key), "%s: %%ld kB", name);
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, key, &n) == 1) {
			v = n;
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/* " vm1 vm7 ": the VMs in debugfs now. */
static void pr_vms(char *buf, size_t len)
{
	struct dirent **list;
	size_t n = snprintf(buf, len, " ");
	int i, k;

	k = scandir(PR_DEBUGFS, &list, NULL, versionsort);
	for (i = 0; i < k; i++) {
		if (!strncmp(list[i]->d_name, "vm", 2) && n < len)
			n += snprintf(buf + n, len - n, "%s ", list[i]->d_name);
		free(list[i]);
	}
	if (k >= 0)
		free(list);
}

/* The value of @name in debugfs khyp/@vm/balloon, or -1. */
static long long pr_balloon(const char *vm, const char *name)
{
	char path[128], key[64];
	unsigned long long v;
	long long r = -1;
	FILE *f;

	snprintf(path, sizeof(path), PR_DEBUGFS "/%s/balloon", vm);
	f = fopen(path, "r");
	while (f && fscanf(f, "%63s %llu", key, &v) == 2)
		if (!strcmp(key, name)) {
			r = v;
			break;
		}
	if (f)
		fclose(f);
	return r;
}

static long long pr_b_pressure(struct pressure *p)
{
	struct khyp_balloon_stats st;

	if (ioctl(p->b->fd, KHYP_GET_BALLOON, &st))
		return -1;
	return st.pressure_target;
}

/* B's eventfd: the signals since the last read (0 if none). */
static long long pr_b_signals(struct pressure *p)
{
	uint64_t v;

	if (read(p->b_efd, &v, sizeof(v)) == sizeof(v))
		return v;
	return errno == EAGAIN ? 0 : -1;
}

/* Wait up to @timeout_s for the marker @name: true if it came. */
static bool pr_wait_marker(const char *serial, const int *stop,
			   const char *name, int timeout_s)
{
	double end = now_s() + timeout_s;
	char v[64];
	char *log;
	bool seen;

	while (!__atomic_load_n(stop, __ATOMIC_SEQ_CST) && now_s() < end) {
		log = slurp(serial);
		seen = log && marker(log, name, v, sizeof(v));
		free(log);
		if (seen)
			return true;
		usleep(250000);
	}
	return false;
}

/*
 * The hog: grow in 4 MiB steps (MAP_POPULATE: written, the kernel zeroes
 * them) while more than 64 MiB is available, then in 1 MiB steps 100 ms
 * apart, each waiting until at least 6 MiB is free (reclaim: the page
 * cache, the balloon's pages coming back): exit 4 if that takes 30 s, so
 * that a machine slower than the hog does not end in the OOM killer.
 * (MemAvailable leaves out the watermarks and reserves, tens of MiB:
 * below it reclaim has not even started.)  It stops (exit 0) when
 * the test writes to @stop_fd (the balloon has answered) or at @kib KiB;
 * it writes the KiB it reached to @out_fd.
 */
static void pr_hog(long kib, int stop_fd, int out_fd)
{
	long done = 0, step;
	int waited = 0;
	char c;

	while (done < kib && read(stop_fd, &c, 1) != 1) {
		for (waited = 0; meminfo_kib("MemFree") < 6144; waited++) {
			if (waited == 300 || read(stop_fd, &c, 1) == 1)
				goto out;
			usleep(100000);
		}
		step = meminfo_kib("MemAvailable") < 65536 ? 1 : 4;
		if (mmap(NULL, step << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0) ==
		    MAP_FAILED)
			_exit(3);
		done += step * 1024;
		if (write(out_fd, &done, sizeof(done)) != sizeof(done))
			_exit(5);
		if (step == 1)
			usleep(100000);
	}
	sleep(1);
	_exit(0);
out:
	_exit(waited == 300 ? 4 : 0);
}

/* `khyp @args` (its output in @out): its exit status, or -1. */
static int pr_khyp(const char *tool, const char *args, char *out, size_t len)
{
	char cmd[PATH_MAX + 128];
	size_t n = 0;
	FILE *f;
	int ws;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", tool, args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	out[0] = 0;
	while (n + 1 < len && fgets(out + n, len - n, f))
		n += strlen(out + n);
	while (n && out[n - 1] == '\n')
		out[--n] = 0;
	ws = pclose(f);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* The Linux VM's and B's peaks, sampled once. */
static void pr_sample(struct pressure *p, long long *pt, long long *size,
		      long long *b_pt, long long *ram_min)
{
	long long v;

	v = pr_balloon(p->lvm, "pressure_target");
	if (v > *pt)
		*pt = v;
	v = pr_balloon(p->lvm, "size");
	if (v > *size)
		*size = v;
	v = pr_b_pressure(p);
	if (v > *b_pt)
		*b_pt = v;
	v = pr_balloon(p->lvm, "ram_pages");
	if (ram_min && v >= 0 && (*ram_min < 0 || v < *ram_min))
		*ram_min = v;
}

static void pressure_driver(const char *serial, const int *stop, void *priv)
{
	struct pressure *p = priv;
	char vms[512], buf[32], *tok, *save;
	int ws, i, stop_pipe[2], out_pipe[2];
	bool stopped = false;
	double start;
	pid_t pid;

	p->b_signals_memcg = p->b_signals_hog = -1;
	p->m_pt = p->m_size = p->b_pt_memcg = -1;
	p->h_pt = p->h_size = p->b_pt_hog = p->ram_min = -1;
	if (!pr_wait_marker(serial, stop, "PRESSURE", 400)) {
		snprintf(p->err, sizeof(p->err), "no KHYP-PRESSURE=ready");
		return;
	}
	p->ready = true;
	/* the Linux VM: the one that was not there before the boot */
	pr_vms(vms, sizeof(vms));
	for (tok = strtok_r(vms, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		snprintf(buf, sizeof(buf), " %s ", tok);
		if (!strstr(p->vms_before, buf))
			snprintf(p->lvm, sizeof(p->lvm), "%s", tok);
	}
	if (!p->lvm[0]) {
		snprintf(p->err, sizeof(p->err), "no new VM in " PR_DEBUGFS);
		return;
	}
	pr_b_signals(p);	/* B's eventfd from 0 */

	/* 0. a target set from outside the launcher */
	pid = __atomic_load_n(&khyp_run_pid, __ATOMIC_SEQ_CST);
	p->u_cg0 = pr_cg_kib(PR_CG_A, "memory.current");
	p->u_ram0 = pr_balloon(p->lvm, "ram_pages");
	p->u_freed0 = pr_balloon(p->lvm, "freed");
	snprintf(buf, sizeof(buf), "balloon %d %dM", (int)pid, PR_SET_MB);
	start = now_s();
	p->set_status = pr_khyp(p->tool, buf, p->set_out, sizeof(p->set_out));
	p->u_target = pr_balloon(p->lvm, "effective_target");
	while (!__atomic_load_n(stop, __ATOMIC_SEQ_CST) && now_s() - start < 60 &&
	       pr_balloon(p->lvm, "size") < PR_SET_MB * 256 * 9 / 10)
		usleep(250000);
	p->u_s = now_s() - start;
	/* the guest looks once a second: let it see its balloon */
	pr_wait_marker(serial, stop, "PRESSURE-GROWING-1", 30);
	p->u_size = pr_balloon(p->lvm, "size");
	p->u_ram1 = pr_balloon(p->lvm, "ram_pages");
	p->u_freed1 = pr_balloon(p->lvm, "freed");
	p->u_cg1 = pr_cg_kib(PR_CG_A, "memory.current");
	/* more than the VM's RAM; a process with no VM */
	snprintf(buf, sizeof(buf), "balloon %d 1G", (int)pid);
	p->big_status = pr_khyp(p->tool, buf, vms, sizeof(vms));
	p->none_status = pr_khyp(p->tool, "balloon 1 0", vms, sizeof(vms));
	snprintf(buf, sizeof(buf), "balloon %d 0", (int)pid);
	p->zero_status = pr_khyp(p->tool, buf, vms, sizeof(vms));
	p->round0 = pr_wait_marker(serial, stop, "PRESSURE-ROUND-1", 120);
	if (!p->round0) {
		snprintf(p->err, sizeof(p->err), "no KHYP-PRESSURE-ROUND-1");
		return;
	}

	/* 1. memory.high below the Linux VM's cgroup's use */
	p->a_before = pr_cg_kib(PR_CG_A, "memory.current");
	p->a_high = p->a_before - PR_MEMCG_GIVE_MB * 1024;
	snprintf(buf, sizeof(buf), "%ld", p->a_high * 1024);
	start = now_s();
	/* the write itself reclaims in the cgroup (and gives up after a while) */
	if (!write_file(PR_CG_A "/memory.high", buf)) {
		snprintf(p->err, sizeof(p->err), "writing %s to memory.high: %s",
			 buf, strerror(errno));
		return;
	}
	while (!__atomic_load_n(stop, __ATOMIC_SEQ_CST) &&
	       now_s() - start < 90) {
		pr_sample(p, &p->m_pt, &p->m_size, &p->b_pt_memcg, NULL);
		p->a_after = pr_cg_kib(PR_CG_A, "memory.current");
		/* the guest has started: enough (it would not get under) */
		if (p->m_size > 0 && now_s() - start >= 15)
			break;
		usleep(250000);
	}
	p->memcg_s = now_s() - start;
	pr_sample(p, &p->m_pt, &p->m_size, &p->b_pt_memcg, NULL);
	write_file(PR_CG_A "/memory.high", "max");
	/* the guest deflates once the target has decayed */
	p->round1 = pr_wait_marker(serial, stop, "PRESSURE-ROUND-2", 240);
	pr_sample(p, &p->m_pt, &p->m_size, &p->b_pt_memcg, NULL);
	p->b_signals_memcg = pr_b_signals(p);
	if (!p->round1) {
		snprintf(p->err, sizeof(p->err), "no KHYP-PRESSURE-ROUND-2");
		return;
	}

	/* 2. the hog */
	p->freed0 = pr_balloon(p->lvm, "freed");
	p->ram0 = pr_balloon(p->lvm, "ram_pages");
	p->avail = meminfo_kib("MemAvailable");
	p->memfree0 = meminfo_kib("MemFree");
	if (pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) ||
	    pipe2(out_pipe, O_NONBLOCK | O_CLOEXEC)) {
		snprintf(p->err, sizeof(p->err), "pipe2: %s", strerror(errno));
		return;
	}
	start = now_s();
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(p->err, sizeof(p->err), "fork: %s", strerror(errno));
		return;
	}
	if (!pid)
		pr_hog(meminfo_kib("MemTotal"), stop_pipe[0], out_pipe[1]);
	while (waitpid(pid, &ws, WNOHANG) == 0) {
		pr_sample(p, &p->h_pt, &p->h_size, &p->b_pt_hog, &p->ram_min);
		while (read(out_pipe[0], &p->hog_kib, sizeof(p->hog_kib)) > 0)
			;
		/* enough: the guest gave PR_HOG_BALLOON pages */
		if (p->h_size >= PR_HOG_BALLOON && p->hog_kib > p->avail &&
		    !stopped)
			stopped = write(stop_pipe[1], "x", 1) == 1;
		usleep(250000);
	}
	while (read(out_pipe[0], &p->hog_kib, sizeof(p->hog_kib)) > 0)
		;
	p->hog_stopped = stopped;
	for (i = 0; i < 2; i++) {
		close(stop_pipe[i]);
		close(out_pipe[i]);
	}
	p->hog_status = ws;
	p->hog_s = now_s() - start;
	p->freed1 = pr_balloon(p->lvm, "freed");
	p->memfree_peak_hog = meminfo_kib("MemFree");
	p->b_signals_hog = pr_b_signals(p);
	p->round2 = pr_wait_marker(serial, stop, "PRESSURE-ROUND-3", 240);
	if (!p->round2)
		snprintf(p->err, sizeof(p->err), "no KHYP-PRESSURE-ROUND-3");
}

/* The OOM killer's lines in the machine's kernel log now. */
static int host_oom_lines(void)
{
	int len = klogctl(10, NULL, 0), n = 0;	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf, *q;

	if (len <= 0)
		return -1;
	buf = calloc(1, len + 1);
	if (!buf)
		return -1;
	len = klogctl(3, buf, len);		/* SYSLOG_ACTION_READ_ALL */
	for (q = buf; len > 0 && (q = strstr(q, "invoked oom-killer")); q++)
		n++;
	for (q = buf; len > 0 && (q = strstr(q, "Out of memory")); q++)
		n++;
	free(buf);
	return n;
}

/* VM B in PR_CG_B: PR_B_MB touched, an eventfd set. */
static void pr_make_b(struct __test_metadata *_metadata, struct pressure *p)
{
	struct khyp_balloon_eventfd e = { 0 };

	ASSERT_TRUE(pr_cg_join(PR_CG_B)) TH_LOG("cannot join %s", PR_CG_B);
	p->b = kh_vm_create(PR_B_MEM_MB << 20);
	memset(kh_gpa(p->b, 0), 0x6b, PR_B_MB << 20);
	p->b_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, p->b_efd);
	e.fd = p->b_efd;
	ASSERT_EQ(0, ioctl(p->b->fd, KHYP_BALLOON_EVENTFD, &e))
		TH_LOG("KHYP_BALLOON_EVENTFD: %s", strerror(errno));
	ASSERT_TRUE(pr_cg_join(PR_CG_TEST));
}

TEST_F_TIMEOUT(guest, balloon_pressure_then_panic, PR_TIMEOUT_S)
{
	struct pressure p = { .tool = self->tool, .b_efd = -1 };
	struct boot_plan plan = {
		.name = "pressure",
		.cmdline = "khyp.pressure=3 khyp.run=\"echo c > /proc/sysrq-trigger\"",
		.mem_mb = PR_MEM_MB,
		.cgroup = PR_CG_A,
		.during = pressure_driver,
		.priv = &p,
	};
	const char *mod = "khyp: balloon: ";
	char disk[64], v[256], before[64], name[32];
	int oom0, oom1, dfd, i;
	struct boot_run r;

	SKIP_UNLESS_ALL_BOOTS();
	/* the cgroups: the memory controller on below the root */
	if (access(PR_CG_ROOT "/cgroup.controllers", F_OK))
		mount("cgroup2", PR_CG_ROOT, "cgroup2", 0, NULL);
	write_file(PR_CG_ROOT "/cgroup.subtree_control", "+memory");
	mkdir(PR_CG_TEST, 0755);
	mkdir(PR_CG_A, 0755);
	mkdir(PR_CG_B, 0755);
	ASSERT_TRUE(pr_cg_join(PR_CG_TEST)) TH_LOG("no cgroup v2 at " PR_CG_ROOT);
	ASSERT_EQ(0, access(PR_CG_A "/memory.high", W_OK))
		TH_LOG("no memory controller in %s", PR_CG_A);
	write_file(PR_CG_A "/memory.high", "max");
	pr_make_b(_metadata, &p);
	ASSERT_EQ(0, pr_b_pressure(&p));

	/* the disk: a sparse memfd, read-only; the holes read as zeros */
	dfd = memfd_create("khyp-linux-cache", 0);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, ftruncate(dfd, (off_t)PR_DISK_MB << 20));
	snprintf(disk, sizeof(disk), "/proc/self/fd/%d,ro", dfd);
	plan.args[0] = "--balloon";
	plan.args[1] = "--disk";
	plan.args[2] = disk;

	pr_vms(p.vms_before, sizeof(p.vms_before));
	oom0 = host_oom_lines();
	launch(_metadata, self->tool, self->kernel, self->initrd, 1, &plan,
	       &r);
	oom1 = host_oom_lines();
	close(dfd);

	printf("# guest: %s\n", marker(r.log, "PRESSURE-MEMINFO", v, sizeof(v)) ?: "?");
	printf("# khyp balloon PID %dM: status %d, \"%s\"; effective target %lld; the balloon %lld pages after %.1f s; the VM's RAM %lld -> %lld pages, freed %lld, %s's memory.current %ld -> %ld KiB; 1G: status %d; PID 1: status %d; 0: status %d\n",
	       PR_SET_MB, p.set_status, p.set_out, p.u_target, p.u_size, p.u_s,
	       p.u_ram0, p.u_ram1, p.u_freed1 - p.u_freed0, PR_CG_A, p.u_cg0,
	       p.u_cg1, p.big_status, p.none_status, p.zero_status);
	printf("# guest: round 1: %s\n",
	       marker(r.log, "PRESSURE-ROUND-1", v, sizeof(v)) ?: "?");
	printf("# memory.high: %s's memory.current %ld KiB, memory.high %ld KiB, %ld KiB after %.1f s; Linux VM %s: peak pressure target %lld, balloon %lld pages; VM B: peak pressure target %lld, eventfd signals %lld\n",
	       PR_CG_A, p.a_before, p.a_high, p.a_after, p.memcg_s, p.lvm,
	       p.m_pt, p.m_size, p.b_pt_memcg, p.b_signals_memcg);
	printf("# guest: round 2: %s\n",
	       marker(r.log, "PRESSURE-ROUND-2", v, sizeof(v)) ?: "?");
	printf("# hog: MemFree %ld KiB, MemAvailable %ld KiB, grew to %ld KiB in %.1f s (%s), status %#x; Linux VM: peak pressure target %lld, balloon %lld pages, freed %lld pages, RAM %lld -> %lld pages at the least; VM B: peak pressure target %lld, eventfd signals %lld; MemFree after %ld KiB\n",
	       p.memfree0, p.avail, p.hog_kib, p.hog_s,
	       p.hog_stopped ? "stopped once the balloon answered" : "not stopped",
	       p.hog_status, p.h_pt, p.h_size,
	       p.freed1 - p.freed0, p.ram0, p.ram_min, p.b_pt_hog,
	       p.b_signals_hog, p.memfree_peak_hog);
	printf("# guest: round 3: %s\n",
	       marker(r.log, "PRESSURE-ROUND-3", v, sizeof(v)) ?: "?");
	printf("# OOM killer lines in the machine's log: %d before, %d after\n",
	       oom0, oom1);
	if (p.err[0])
		printf("# the driver: %s\n", p.err);

	EXPECT_TRUE(p.ready) TH_LOG("the guest never said KHYP-PRESSURE=ready");
	/* 0. `khyp balloon PID SIZE`: the running guest inflates to it */
	EXPECT_EQ(0, p.set_status) TH_LOG("khyp balloon: %s", p.set_out);
	EXPECT_EQ(PR_SET_MB * 256, p.u_target);
	EXPECT_LE(PR_SET_MB * 256 * 9 / 10, p.u_size)
		TH_LOG("the guest's balloon after `khyp balloon PID %dM`",
		       PR_SET_MB);
	EXPECT_LE(PR_SET_MB * 256 / 2, p.u_ram0 - p.u_ram1)
		TH_LOG("the VM's RAM on the host fell by %lld pages only",
		       p.u_ram0 - p.u_ram1);
	EXPECT_EQ(1, p.big_status) TH_LOG("a target above the VM's RAM");
	EXPECT_EQ(1, p.none_status) TH_LOG("a process without a VM");
	EXPECT_EQ(0, p.zero_status);
	EXPECT_TRUE(p.round0) TH_LOG("the guest did not deflate after `khyp balloon PID 0`");
	/* 1. the memory cgroup's limit: the Linux VM, not B */
	EXPECT_LT(0, p.m_pt) TH_LOG("reclaim in %s did not raise the Linux VM's target",
				    PR_CG_A);
	EXPECT_LT(0, p.m_size) TH_LOG("the Linux guest's balloon did not grow under memory.high");
	/*
	 * Not checked: that memory.current reaches memory.high within the
	 * 90 s.  It does not: the kernel throttles the VMM's own threads
	 * over memory.high (balloon.md, "Tested with Linux guests").
	 */
	EXPECT_EQ(0, p.b_pt_memcg) TH_LOG("reclaim in %s raised VM B's target",
					  PR_CG_A);
	EXPECT_EQ(0, p.b_signals_memcg) TH_LOG("VM B's eventfd was signalled");
	EXPECT_TRUE(p.round1) TH_LOG("the guest did not deflate after memory.high went");
	/* 2. the host's pressure */
	EXPECT_TRUE(WIFEXITED(p.hog_status) && WEXITSTATUS(p.hog_status) == 0)
		TH_LOG("the hog ended with status %#x (%s)", p.hog_status,
		       WIFEXITED(p.hog_status) ? "the balloon gave too little" :
		       "killed: the OOM killer?");
	EXPECT_LT(p.avail, p.hog_kib) TH_LOG("the hog did not grow past available memory");
	EXPECT_TRUE(p.hog_stopped) TH_LOG("the balloon never reached %d pages", PR_HOG_BALLOON);
	EXPECT_LE(PR_HOG_BALLOON, p.h_size) TH_LOG("the Linux guest's balloon under the hog");
	EXPECT_LE(1024, p.freed1 - p.freed0)
		TH_LOG("pages the balloon gave back to the host");
	EXPECT_LT(0, p.b_pt_hog) TH_LOG("the hog did not ask VM B: step 1 proves nothing");
	EXPECT_LT(0, p.b_signals_hog);
	EXPECT_TRUE(p.round2) TH_LOG("the guest did not deflate after the hog");
	EXPECT_EQ(0, marker_long(r.log, "PRESSURE-OOM"))
		TH_LOG("the guest's kernel log shows the OOM killer");
	EXPECT_EQ(NULL, strstr(r.log, "invoked oom-killer"));
	EXPECT_EQ(oom0, oom1) TH_LOG("the machine's kernel log shows the OOM killer");
	/* each round ended with an empty balloon (after a peak) */
	for (i = 1; i <= 3; i++) {
		snprintf(name, sizeof(name), "PRESSURE-ROUND-%d", i);
		if (!marker(r.log, name, v, sizeof(v)))
			strcpy(v, "?");
		EXPECT_TRUE(!strncmp(v, "peak ", 5) && strtol(v + 5, NULL, 10) > 0 &&
			    strstr(v, " empty 0 ")) TH_LOG("round %d: %s", i, v);
	}
	/* the guest's data */
	ASSERT_NE(NULL, marker(r.log, "PRESSURE-CRC-BEFORE", before, sizeof(before)));
	EXPECT_STREQ(before, marker(r.log, "PRESSURE-CRC-AFTER", v, sizeof(v)) ?: "?")
		TH_LOG("the guest's data changed");
	/* the module's end-of-run line: an empty balloon, no violations */
	EXPECT_NE(NULL, strstr(r.err, "protocol virtio"));
	EXPECT_EQ(0, after(r.err, mod, "balloon: "));
	EXPECT_EQ(0, after(r.err, mod, "target "));
	EXPECT_EQ(0, after(r.err, mod, "violations "));

	/* the panic that ends it */
	EXPECT_STRNE("", marker(r.log, "PVPANIC", v, sizeof(v)) ?: "")
		TH_LOG("pvpanic-mmio bound no QEMU0001 device");
	EXPECT_NE(NULL, strstr(r.log, "Kernel panic - not syncing: sysrq triggered crash"));
	EXPECT_EQ(NULL, strstr(r.log, "KHYP-EXIT="))
		TH_LOG("/init went on after the panic");
	EXPECT_EQ(14, r.status) TH_LOG("khyp run's status after a guest panic");
	EXPECT_NE(NULL, strstr(r.err, "khyp: guest panicked"));
	if (_metadata->passed == 0 || getenv("KHYP_LINUX_VERBOSE"))
		dump_log(r.log);
	fflush(stdout);
	free(r.log);
	free(r.err);
	kh_vm_free(p.b);
	close(p.b_efd);
	rmdir(PR_CG_A);
	rmdir(PR_CG_B);
}

TEST_HARNESS_MAIN
