// SPDX-License-Identifier: GPL-2.0
/*
 * What linux_boot_test and linux_pressure_test share: finding the
 * kernel and the initramfs (the launcher: kh_find_tool()), running
 * `khyp run` on them (launch()), and reading /init's markers from the
 * console log (linux_guest.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "khyp_util.h"
#include "khyp_vm.h"
#include "linux_guest.h"

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

bool find_kernel(char *buf)
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
	return kh_find_file(buf, "KHYP_LINUX_KERNEL", NULL,
			    "/khyp-tool/vmlinuz");
}

bool find_initrd(char *buf)
{
	return kh_find_file(buf, "KHYP_LINUX_INITRD",
			    "build/test/linux-initramfs.cpio.gz",
			    "/khyp-tool/linux-initramfs.cpio.gz");
}

/* The whole of @path, NUL-terminated, at most SERIAL_MAX - 1 bytes. */
char *slurp(const char *path)
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
const char *marker(const char *log, const char *name, char *val,
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

long marker_long(const char *log, const char *name)
{
	char v[64];

	if (!marker(log, name, v, sizeof(v)))
		return -1;
	return strtol(v, NULL, 0);
}

/* The console log's lines from p to end into the TAP output. */
static void dump_part(const char *p, const char *end)
{
	const char *nl;

	while (p < end && *p) {
		nl = memchr(p, '\n', end - p);
		printf("# | %.*s\n", (int)((nl ?: end) - p), p);
		if (!nl)
			break;
		p = nl + 1;
	}
}

/*
 * Print the console log into the TAP output, or its first DUMP_HEAD and
 * last DUMP_TAIL bytes when longer: where a boot went wrong is usually
 * near its start, how it ended at its end.
 */
#define DUMP_HEAD	8000
#define DUMP_TAIL	12000

void dump_log(const char *log)
{
	size_t len = strlen(log);

	if (len <= DUMP_HEAD + DUMP_TAIL) {
		dump_part(log, log + len);
	} else {
		dump_part(log, log + DUMP_HEAD);
		printf("# | ... (%zu bytes left out) ...\n",
		       len - DUMP_HEAD - DUMP_TAIL);
		dump_part(log + len - DUMP_TAIL, log + len);
	}
	fflush(stdout);
}

/* The running khyp run's pid (for `khyp balloon PID`), or 0. */
pid_t khyp_run_pid;

/*
 * Run khyp (in the cgroup v2 directory @cgroup, if not NULL: 127 if it
 * cannot join it; its stdin @in_fd if not -1; its stdout @outfile if
 * not NULL, else @errfile as its stderr) and wait for it: its exit
 * status, 128 + signal, or -1.
 */
static int run_khyp_io(char *const argv[], const char *errfile,
		       const char *cgroup, int in_fd, const char *outfile)
{
	int ws, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (cgroup) {
			if (!kh_cg_join(cgroup))
				_exit(127);
		}
		fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (outfile) {
			fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0 || dup2(fd, 1) < 0)
				_exit(127);
		}
		if (in_fd >= 0 && dup2(in_fd, 0) < 0)
			_exit(127);
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

int run_khyp_in(char *const argv[], const char *errfile,
		const char *cgroup)
{
	return run_khyp_io(argv, errfile, cgroup, -1, NULL);
}

int run_khyp(char *const argv[], const char *errfile)
{
	return run_khyp_in(argv, errfile, NULL);
}

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
 * The hands at the guest's keyboard (a thread, for boot_plan.type): for
 * each pair of strings, wait until the first shows on the console after
 * what the last wait found, then type the second into khyp run's stdin;
 * then close it.
 */
struct typist {
	const char *serial;
	const char *const *pairs;
	int fd;				/* the pipe to khyp run's stdin */
	int stop;			/* atomic: khyp run ended */
	bool typed;			/* all of it */
};

static void *typist_thread(void *arg)
{
	struct typist *t = arg;
	const char *const *pr = t->pairs;
	size_t n, from = 0;
	const char *p;
	char *log;

	while (*pr && !__atomic_load_n(&t->stop, __ATOMIC_SEQ_CST)) {
		log = slurp(t->serial);
		p = log && strlen(log) > from ? strstr(log + from, pr[0]) : NULL;
		if (p)
			from = p - log + strlen(pr[0]);
		free(log);
		if (!p) {
			usleep(250000);
			continue;
		}
		n = strlen(pr[1]);
		if (write(t->fd, pr[1], n) != (ssize_t)n)
			break;
		pr += 2;
	}
	t->typed = !*pr;
	close(t->fd);
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

/* CPUID 0x40000010 EAX of a new vCPU, and whether it has a leaf 0x15. */
static unsigned int probed_khz, tsc_leaf15;

static void probe_tsc(void)
{
	static int done;
	struct khyp_cpuid c;
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	uint32_t i;

	if (done)
		return;
	vm = kh_vm_create(0);
	vcpu = kh_vcpu_add(vm, 0);
	memset(&c, 0, sizeof(c));
	if (!ioctl(vcpu->fd, KHYP_GET_CPUID, &c))
		for (i = 0; i < c.nent && i < KHYP_MAX_CPUID_ENTRIES; i++) {
			if (c.entries[i].function == 0x40000010)
				probed_khz = c.entries[i].eax;
			if (c.entries[i].function == 0x15 && c.entries[i].ebx)
				tsc_leaf15 = 1;
		}
	kh_vcpu_close(vcpu);
	kh_vm_free(vm);
	done = 1;
}

/* The TSC's rate khyp gives its guests (the host's tsc_khz), or 0. */
unsigned int khyp_tsc_khz(void)
{
	probe_tsc();
	return probed_khz;
}

/*
 * khyp_tsc_khz() when khyp has no leaf 0x15 with a ratio (an AMD host,
 * or an Intel one whose rate has none within 1 ppm), else 0.  Linux
 * reads 0x40000010 only for VMware.  On an Intel host it takes the
 * rate from leaf 0x15 (what the VMX boots check: the rate the guest
 * found, with nothing on the command line).  On an AMD one it
 * calibrates the TSC against the PIT and the PM timer, timing each port
 * read, and under nested TCG (svm-qemu-linux) every read is an exit of
 * 60 us or more: all three calibrations fail ("tsc: Fast TSC calibration
 * failed", "Unable to calibrate against PIT", "HPET/PMTIMER calibration
 * failed") and Linux marks the TSC unstable.  So the AMD boots pass
 * what the emulated machine cannot show Linux: the rate
 * (tsc_early_khz=).  docs/linux.md, "The clock".
 */
static unsigned int guest_tsc_khz(void)
{
	probe_tsc();
	return tsc_leaf15 ? 0 : probed_khz;
}

/*
 * @base, then what every boot's command line has: the console's
 * loglevel ($KHYP_LINUX_LOGLEVEL, 7 by default), the TSC's rate where
 * Linux cannot find it (guest_tsc_khz()), that the vCPUs' TSCs are one
 * clock (tsc=reliable: khyp gives every vCPU of a VM the same offset;
 * the machines' CPU models have no invariant-TSC bit for khyp to pass
 * on), the machine's $KHYP_LINUX_KCMD; then @extra.
 */
void guest_cmdline(char *buf, size_t len, const char *base, const char *extra)
{
	const char *loglevel = getenv("KHYP_LINUX_LOGLEVEL") ?: "7";
	unsigned int khz = guest_tsc_khz();
	char clock[64] = "";

	if (khz)
		snprintf(clock, sizeof(clock), "tsc_early_khz=%u", khz);
	snprintf(buf, len, "%s loglevel=%s %s tsc=reliable %s %s", base,
		 loglevel, clock, getenv("KHYP_LINUX_KCMD") ?: "", extra);
}

/* r->why from @fmt: false. */
static bool __attribute__((format(printf, 2, 3)))
fail(struct boot_run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return false;
}

/*
 * khyp run with @cpus vCPUs and @plan's additions, to its end: false,
 * with r->why, if the test cannot go on (/init's shell did not run).
 */
bool launch(const char *tool, const char *kernel, const char *initrd,
	    int cpus, const struct boot_plan *plan, struct boot_run *r)
{
	char serial[] = "/tmp/khyp-linux-serial-XXXXXX";
	char errfile[] = "/tmp/khyp-linux-err-XXXXXX";
	char c[16], m[16], t[16], v[64], ex[64], cmdline[1024];
	/*
	 * --boot-report: where each boot's time went (to the kernel's first
	 * console line, to /init's shell), logged with khyp run's stderr.
	 */
	char *argv[32] = { (char *)tool, "run", "-c", c, "-m", m,
			   "--initrd", (char *)initrd, "--cmdline", cmdline,
			   "--serial", serial, "--timeout", t,
			   "--boot-report=KHYP-SHELL=" };
	struct during_arg during = { .plan = plan, .serial = serial };
	struct typist typist = { .serial = serial, .pairs = plan->type };
	int fd, argc = 15, i, in[2] = { -1, -1 };
	pthread_t th, tth;
	double start;
	size_t n;

	memset(r, 0, sizeof(*r));
	fd = mkstemp(serial);
	if (fd < 0)
		return fail(r, "mkstemp: %s", strerror(errno));
	close(fd);
	fd = mkstemp(errfile);
	if (fd < 0) {
		unlink(serial);
		return fail(r, "mkstemp: %s", strerror(errno));
	}
	close(fd);
	snprintf(c, sizeof(c), "%d", cpus);
	snprintf(m, sizeof(m), "%dM", plan->mem_mb ?: GUEST_MEM_MB);
	snprintf(t, sizeof(t), "%d", BOOT_TIMEOUT_S);
	guest_cmdline(cmdline, sizeof(cmdline), kcmdline, plan->cmdline);
	if (plan->type) {
		argv[11] = "stdio";	/* --serial: the console to stdout */
		if (pipe2(in, O_CLOEXEC)) {
			unlink(serial);
			unlink(errfile);
			return fail(r, "pipe2: %s", strerror(errno));
		}
		typist.fd = in[1];
		if (pthread_create(&tth, NULL, typist_thread, &typist)) {
			close(in[0]);
			close(in[1]);
			unlink(serial);
			unlink(errfile);
			return fail(r, "pthread_create failed");
		}
	}
	for (i = 0; plan->args[i] && argc < 30; i++)
		argv[argc++] = (char *)plan->args[i];
	argv[argc++] = (char *)kernel;
	argv[argc] = NULL;

	printf("# booting %s, %d vCPU(s), with %s (%s)\n", kernel, cpus,
	       initrd, plan->name);
	if (plan->during && pthread_create(&th, NULL, during_thread, &during)) {
		unlink(serial);
		unlink(errfile);
		return fail(r, "pthread_create failed");
	}
	start = now_s();
	r->status = run_khyp_io(argv, errfile, plan->cgroup, in[0],
				plan->type ? serial : NULL);
	r->wall = now_s() - start;
	if (plan->type) {
		__atomic_store_n(&typist.stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(tth, NULL);
		close(in[0]);
		r->typed = typist.typed;
	}
	if (plan->during) {
		__atomic_store_n(&during.stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(th, NULL);
	}
	r->log = slurp(serial);
	r->err = slurp(errfile);
	unlink(serial);
	unlink(errfile);
	if (!r->log || !r->err)
		return fail(r, "out of memory for the console log");
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
		return fail(r, "/init's shell did not run (status %d; the console log is above)",
			    r->status);
	}
	return true;
}

/* "name N" in s, after prefix: N, or -1. */
long long after(const char *s, const char *prefix, const char *name)
{
	const char *p = prefix ? strstr(s, prefix) : s;

	if (!p || !(p = strstr(p, name)))
		return -1;
	return strtoll(p + strlen(name), NULL, 10);
}
