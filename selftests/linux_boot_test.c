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
 * KERNEL: $KHYP_LINUX_KERNEL, else /boot/vmlinuz-$(uname -r) (the
 * machines boot the same kernel), else /khyp-tool/vmlinuz.  INITRD:
 * $KHYP_LINUX_INITRD, else build/test/linux-initramfs.cpio.gz of this
 * test's source tree (scripts/test.sh builds it), else
 * /khyp-tool/linux-initramfs.cpio.gz.  Missing either is a failure, not
 * a skip: scripts/test.sh runs this test only in the machine configured
 * for it (svm-qemu-linux).  N: $KHYP_LINUX_CPUS, a list such as "1,2"
 * (one boot each, in order), by default LINUX_CPUS_DEFAULT.
 *
 * A boot takes minutes of wall time in the emulated machines (svm-qemu:
 * docs/testing.md), hence the long timeouts.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
 */
static const char kcmdline[] =
	"console=ttyS0 earlyprintk=serial,ttyS0,115200 loglevel=7 "
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

/* Run khyp and wait for it: its exit status, 128 + signal, or -1. */
static int run_khyp(char *const argv[], const char *errfile)
{
	int ws, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &ws, 0) != pid)
		return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* One boot with @cpus vCPUs, and what it must show. */
static void boot(struct __test_metadata *_metadata, const char *tool,
		 const char *kernel, const char *initrd, int cpus)
{
	char serial[] = "/tmp/khyp-linux-serial-XXXXXX";
	char errfile[] = "/tmp/khyp-linux-err-XXXXXX";
	char c[16], m[16], t[16], v[256], ex[64];
	char *argv[] = { (char *)tool, "run", "-c", c, "-m", m,
			 "--initrd", (char *)initrd,
			 "--cmdline", (char *)kcmdline, "--serial", serial,
			 "--timeout", t, (char *)kernel, NULL };
	long memtotal, loc1, loc2, want_status;
	char *log, *err;
	double start, wall;
	int fd, status;
	size_t n;

	fd = mkstemp(serial);
	ASSERT_LE(0, fd);
	close(fd);
	fd = mkstemp(errfile);
	ASSERT_LE(0, fd);
	close(fd);
	snprintf(c, sizeof(c), "%d", cpus);
	snprintf(m, sizeof(m), "%dM", GUEST_MEM_MB);
	snprintf(t, sizeof(t), "%d", BOOT_TIMEOUT_S);

	printf("# booting %s, %d vCPU(s), with %s\n", kernel, cpus, initrd);
	start = now_s();
	status = run_khyp(argv, errfile);
	wall = now_s() - start;
	log = slurp(serial);
	err = slurp(errfile);
	unlink(serial);
	unlink(errfile);
	ASSERT_NE(NULL, log);
	ASSERT_NE(NULL, err);

	printf("# %d vCPU(s): khyp run status %d after %.1f s wall; guest uptime at /init %s s, at its end %s s\n",
	       cpus, status, wall,
	       marker(log, "UPTIME", v, sizeof(v)) ? v : "?",
	       marker(log, "UPTIME-END", ex, sizeof(ex)) ? ex : "?");
	n = strlen(err);
	while (n && err[n - 1] == '\n')
		err[--n] = 0;
	if (n)
		printf("# khyp run's stderr: %.2000s\n", err);

	if (!marker(log, "SHELL", v, sizeof(v)) || strcmp(v, "ok")) {
		dump_log(log);
		free(log);
		free(err);
		ASSERT_TRUE(false) TH_LOG("/init's shell did not run (status %d; the console log is above)",
					  status);
	}
	if (marker(log, "MODULES", v, sizeof(v)))
		printf("# virtio modules loaded: %s\n", v);
	if (marker(log, "CLOCKSOURCE", v, sizeof(v)))
		printf("# clocksource: %s\n", v);
	if (marker(log, "DMESG-BAD", v, sizeof(v)))
		printf("# kernel log lines with unknown|unhandled|failed|error: %s\n",
		       v);

	EXPECT_EQ(cpus, marker_long(log, "NPROC")) TH_LOG("nproc");
	/*
	 * MemTotal: RAM less the kernel's image and reservations (about
	 * 30 MiB of 256 for Debian's kernel), and the holes below 1 MiB.
	 */
	memtotal = marker_long(log, "MEMTOTAL");
	EXPECT_LE(memtotal, GUEST_MEM_MB * 1024L);
	EXPECT_GE(memtotal, GUEST_MEM_MB * 1024L * 3 / 4)
		TH_LOG("MemTotal %ld kB of %d MiB", memtotal, GUEST_MEM_MB);
	loc1 = marker_long(log, "LOC-1");
	loc2 = marker_long(log, "LOC-2");
	EXPECT_LT(0, loc1) TH_LOG("no LOC count in /proc/interrupts");
	EXPECT_LT(loc1, loc2) TH_LOG("the LAPIC timer count did not rise over 2 s");
	EXPECT_EQ(NULL, strstr(log, "unchecked MSR access error"))
		TH_LOG("the kernel took #GP on an MSR it reads unchecked");

	/* The status /init chose. */
	if (!marker(log, "EXIT", ex, sizeof(ex))) {
		dump_log(log);
		ASSERT_TRUE(false) TH_LOG("/init never chose an exit (status %d)",
					  status);
	}
	if (!strcmp(ex, "poweroff"))
		want_status = 0;
	else if (sscanf(ex, "debug-exit %ld", &want_status) == 1)
		want_status = ((want_status << 1) | 1) & 0xff;
	else
		want_status = -1;
	EXPECT_EQ(want_status, status) TH_LOG("/init said KHYP-EXIT=%s", ex);
	EXPECT_EQ(NULL, strstr(log, "KHYP-EXIT-FAILED"));
	if (_metadata->passed == 0 || getenv("KHYP_LINUX_VERBOSE"))
		dump_log(log);
	free(log);
	free(err);
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
 * the shell and end the way /init says.
 */
TEST_F_TIMEOUT(guest, debian_kernel_boots_to_busybox, TEST_TIMEOUT_S)
{
	const char *list = getenv("KHYP_LINUX_CPUS");
	char buf[64], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", list ? list : LINUX_CPUS_DEFAULT);
	for (tok = strtok_r(buf, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		int cpus = atoi(tok);

		ASSERT_LT(0, cpus) TH_LOG("KHYP_LINUX_CPUS: '%s'", tok);
		boot(_metadata, self->tool, self->kernel, self->initrd, cpus);
	}
}

TEST_HARNESS_MAIN
