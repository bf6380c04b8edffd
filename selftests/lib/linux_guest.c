// SPDX-License-Identifier: GPL-2.0
/*
 * What linux_boot_test, linux_pressure_test and linux_share_test
 * share: finding the kernel and the initramfs (the launcher:
 * kh_find_tool()), running `khyp run` on them (launch(), launch_all()),
 * reading /init's markers from the console log, and the host's side of
 * the pressure tests (linux_guest.h).
 */
#include <dirent.h>
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
#include <sys/klog.h>
#include <sys/mman.h>
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
			    "build/test/linux-initramfs.cpio",
			    "/khyp-tool/linux-initramfs.cpio");
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

struct launch_one {
	const char *tool, *kernel, *initrd;
	int cpus;
	const struct boot_plan *plan;
	struct boot_run *r;
	bool ok;
};

static void *launch_thread(void *arg)
{
	struct launch_one *l = arg;

	l->ok = launch(l->tool, l->kernel, l->initrd, l->cpus, l->plan, l->r);
	return NULL;
}

bool launch_all(const char *tool, const char *kernel, const char *initrd,
		int cpus, const struct boot_plan *plans, struct boot_run *runs,
		int n)
{
	struct launch_one l[4];
	pthread_t th[4];
	bool ok = true;
	int i, started;

	if (n < 1 || n > 4)
		return fail(&runs[0], "launch_all: %d boots (1 to 4)", n);
	probe_tsc();	/* once, before the threads ask for it */
	for (started = 0; started < n; started++) {
		l[started] = (struct launch_one){
			.tool = tool, .kernel = kernel, .initrd = initrd,
			.cpus = cpus, .plan = &plans[started],
			.r = &runs[started],
		};
		if (pthread_create(&th[started], NULL, launch_thread,
				   &l[started]))
			break;
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (started < n)
		return fail(&runs[0], "pthread_create failed");
	for (i = 0; i < n; i++)
		if (!l[i].ok && ok) {
			ok = false;
			if (i)
				snprintf(runs[0].why, sizeof(runs[0].why),
					 "%s: %s", plans[i].name, runs[i].why);
		}
	return ok;
}

long meminfo_kib(const char *name)
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

void debugfs_vms(char *buf, size_t len)
{
	struct dirent **list;
	size_t n = snprintf(buf, len, " ");
	int i, k;

	k = scandir(KHYP_DEBUGFS, &list, NULL, versionsort);
	for (i = 0; i < k; i++) {
		if (!strncmp(list[i]->d_name, "vm", 2) && n < len)
			n += snprintf(buf + n, len - n, "%s ", list[i]->d_name);
		free(list[i]);
	}
	if (k >= 0)
		free(list);
}

long long vm_balloon(const char *vm, const char *name)
{
	char path[128], key[64];
	unsigned long long v;
	long long r = -1;
	FILE *f;

	snprintf(path, sizeof(path), KHYP_DEBUGFS "/%s/balloon", vm);
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

bool wait_marker(const char *serial, const int *stop, const char *name,
		 int timeout_s)
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

int host_oom_lines(void)
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

/*
 * The hog: grow in 4 MiB steps (MAP_POPULATE: written, the kernel zeroes
 * them) while more than 64 MiB is available, then in 1 MiB steps 100 ms
 * apart, each waiting until at least 6 MiB is free (reclaim: the page
 * cache, the balloons' pages coming back): exit 4 if that takes 30 s, so
 * that a machine slower than the hog does not end in the OOM killer.
 * (MemAvailable leaves out the watermarks and reserves, tens of MiB:
 * below it reclaim has not even started.)  It stops (exit 0) when
 * the parent writes to @stop_fd (the balloons have answered) or at @kib
 * KiB; it writes the KiB it reached to @out_fd.
 */
static void hog_child(long kib, int stop_fd, int out_fd)
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

static void hog_close(struct hog *h)
{
	close(h->stop_fd);
	close(h->stop_rd);
	close(h->out_fd);
	h->stop_fd = h->stop_rd = h->out_fd = -1;
}

bool hog_start(struct hog *h)
{
	int stop_pipe[2], out_pipe[2];
	long total = meminfo_kib("MemTotal");

	memset(h, 0, sizeof(*h));
	h->pid = -1;
	h->stop_fd = h->stop_rd = h->out_fd = -1;
	if (pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC))
		return false;
	if (pipe2(out_pipe, O_NONBLOCK | O_CLOEXEC)) {
		close(stop_pipe[0]);
		close(stop_pipe[1]);
		return false;
	}
	h->start = now_s();
	fflush(stdout);
	h->pid = fork();
	if (!h->pid)
		hog_child(total, stop_pipe[0], out_pipe[1]);
	close(out_pipe[1]);
	h->stop_fd = stop_pipe[1];
	h->stop_rd = stop_pipe[0];
	h->out_fd = out_pipe[0];
	if (h->pid < 0) {
		hog_close(h);
		return false;
	}
	return true;
}

bool hog_running(struct hog *h)
{
	bool ended;

	if (h->out_fd < 0)
		return false;
	ended = waitpid(h->pid, &h->status, WNOHANG) != 0;
	while (read(h->out_fd, &h->kib, sizeof(h->kib)) > 0)
		;
	if (!ended)
		return true;
	hog_close(h);
	h->secs = now_s() - h->start;
	return false;
}

void hog_stop(struct hog *h)
{
	if (!h->stopped && h->stop_fd >= 0)
		h->stopped = write(h->stop_fd, "x", 1) == 1;
}
