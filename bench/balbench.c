// SPDX-License-Identifier: GPL-2.0
/*
 * khyp-balbench: the host side of the balloon benchmark (issue 15;
 * docs/performance.md, "Linux virtio-balloon").  It runs in the machine
 * that runs the hypervisors (scripts/balloon-bench.sh, for
 * boot-bench-guest.sh --balloon), next to a Linux guest that has
 * touched most of its RAM and loaded virtio_balloon, and measures how
 * fast the guest's memory comes back to this host, on this machine's
 * CLOCK_MONOTONIC (the instruction clock under QEMU's -icount).
 *
 * What it watches, every -i microseconds (default 5000):
 *
 *   held     the guest RAM the hypervisor holds, in KiB: QEMU's resident
 *            set (/proc/PID/statm; KVM maps the process's own memory),
 *            khyp.ko's pages of the VM (`ram_pages` in
 *            /sys/kernel/debug/khyp/vmN/balloon, the newest VM)
 *   free     this machine's free memory (sysinfo(): MemFree)
 *
 * 0.5 s of samples first (the baseline and its noise), then at T0 one
 * of three things:
 *
 *   --qmp SOCK  a manager asks QEMU for the memory: the QMP command
 *               {"execute": "balloon", "arguments": {"value": RAM - N}}
 *               on QEMU's monitor socket (connected, capabilities
 *               negotiated, before T0)
 *   --khyp TOOL the same request to khyp from outside: `TOOL balloon PID
 *               N` (KHYP_SET_BALLOON on PID's VM fd), run at T0
 *   --hog       nobody asks: a child of this program grows in anonymous
 *               memory past what the machine has available (MemAvailable
 *               at T0 + N), waiting whenever MemFree falls under 6 MiB,
 *               and stops once N came back from the guest; the time of
 *               the first scan_objects call of khyp's shrinker
 *               (/sys/kernel/debug/khyp/shrinker) is the pressure's
 *               start
 *
 * and samples until the guest has given what it gives: no change of
 * held by 64 KiB or more for 2 s (the hog done, for --hog), or -t
 * seconds (default 60).  "returned" is the baseline's last held value
 * less held.  Output, after the samples ("-" where there is nothing):
 *
 *   baseline held_kib H noise_kib X free_kib F interval_us I samples N
 *   khyp reported P size S   (khyp: pages free page reporting freed and
 *                             the balloon's size before T0: both 0)
 *   trace t_s T returned_kib R free_kib F   (each 4 MiB of returned,
 *                                            and the first drop)
 *   result first_s A scan_s S from_scan_s B cmd_s C returned_mib R
 *          t90_s D mibps M free_mib G hog_mib H end WHY
 *
 *   first_s     T0 to the first sample with held a page below the
 *               baseline's lowest
 *   scan_s      (--hog) T0 to the shrinker's first scan; from_scan_s:
 *               from it to the first drop
 *   cmd_s       T0 to QEMU's reply / `khyp balloon`'s exit
 *   returned_mib  the most returned at any sample; t90_s: T0 to the
 *               first sample with 90% of it
 *   mibps       returned at t90 over (t90 - first): the rate once the
 *               guest has started
 *   free_mib    MemFree's rise from the baseline at t90 (not --hog,
 *               whose hog takes it)
 *
 * Usage: khyp-balbench --qmp SOCK --ram MIB | --khyp TOOL --pid PID | --hog
 *        --mib N [-i US] [-t S]
 * Static (cc -static -O2), as khyp-blkbench.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "linux_bench.h"

#define DEBUGFS		"/sys/kernel/debug/khyp"
#define BASELINE_S	0.5
#define QUIET_S		2.0
#define QUIET_KIB	64
#define MAX_SAMPLES	200000

enum mode { M_NONE, M_QMP, M_KHYP, M_HOG };

struct sample {
	double t;		/* since T0 */
	long held, free;	/* KiB */
};

static struct sample samples[MAX_SAMPLES];

static void usage(void)
{
	fprintf(stderr, "usage: khyp-balbench --qmp SOCK --ram MIB | --khyp TOOL "
		"--pid PID | --hog  --mib N [-i US] [-t S]\n");
	exit(2);
}

/* The whole of a small file from offset 0 (kept open), NUL-terminated. */
static char *reread(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/* The number after "@key " in @text, or -1. */
static long long field(const char *text, const char *key)
{
	size_t k = strlen(key);
	const char *p;

	for (p = text; (p = strstr(p, key)); p += k)
		if ((p == text || p[-1] == '\n') && p[k] == ' ')
			return strtoll(p + k + 1, NULL, 10);
	return -1;
}

/* The newest VM's balloon file in khyp's debugfs, opened; or -1. */
static int khyp_balloon_file(void)
{
	char path[300];
	struct dirent *e;
	long best = -1, n;
	DIR *d = opendir(DEBUGFS);

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vm", 2) &&
		    (n = strtol(e->d_name + 2, NULL, 10)) > best)
			best = n;
	closedir(d);
	if (best < 0)
		return -1;
	snprintf(path, sizeof(path), DEBUGFS "/vm%ld/balloon", best);
	return open(path, O_RDONLY);
}

/* What the hypervisor holds of the guest, in KiB (statm or debugfs). */
static long held_kib(int fd, enum mode m)
{
	char buf[1024];
	long long v;

	reread(fd, buf, sizeof(buf));
	if (m == M_QMP)		/* statm: size resident shared ... (pages) */
		return sscanf(buf, "%*s %lld", &v) == 1 ? (long)v * 4 : -1;
	v = field(buf, "ram_pages");
	return v < 0 ? -1 : (long)v * 4;
}

static long free_kib(void)
{
	struct sysinfo si;

	if (sysinfo(&si))
		return -1;
	return (long)(si.freeram * si.mem_unit / 1024);
}

/* /proc/meminfo's @name in KiB, or -1. */
static long meminfo_kib(const char *name)
{
	static int fd = -1;
	char buf[4096], key[64];

	if (fd < 0 && (fd = open("/proc/meminfo", O_RDONLY)) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s:", name);
	return (long)field(reread(fd, buf, sizeof(buf)), key);
}

/* ---- QMP: one line in, one line out ---- */

static void qmp_send(int s, const char *cmd)
{
	size_t n = strlen(cmd);

	if (write(s, cmd, n) != (ssize_t)n)
		die("QMP write");
}

/* Read until a line with @what arrives (the greeting, a reply). */
static void qmp_wait(int s, const char *what)
{
	char buf[4096];
	size_t n = 0;
	ssize_t r;

	for (;;) {
		r = read(s, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			die("QMP read");
		n += r;
		buf[n] = 0;
		if (strstr(buf, what))
			return;
		if (n > sizeof(buf) / 2) {	/* events: keep the tail */
			memmove(buf, buf + n / 2, n - n / 2);
			n -= n / 2;
		}
	}
}

static int qmp_open(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		die("socket");
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)))
		die(path);
	qmp_wait(s, "\"QMP\"");
	qmp_send(s, "{\"execute\": \"qmp_capabilities\"}\n");
	qmp_wait(s, "\"return\"");
	return s;
}

/* Whether QEMU's reply to the balloon command has come (non-blocking). */
static int qmp_replied(int s)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	char buf[4096];
	ssize_t r;
	int seen = 0;

	while (poll(&p, 1, 0) == 1 && (r = read(s, buf, sizeof(buf) - 1)) > 0) {
		buf[r] = 0;
		seen |= !!strstr(buf, "\"return\"");
	}
	return seen;
}

/* ---- the hog ---- */

/*
 * Grow to @kib KiB in anonymous memory (MAP_POPULATE: written), 4 MiB a
 * step while more than 64 MiB is available, 1 MiB steps after; wait
 * while MemFree is under 6 MiB (reclaim's turn), and give up after 30 s
 * of such waits (exit 4) rather than meet the OOM killer.  Stops (exit
 * 0) when its parent writes to @stop, or at @kib; its size goes to @out.
 */
static void hog(long kib, int stop, int out)
{
	long done = 0, step;
	int waited = 0;
	char c;

	while (done < kib && read(stop, &c, 1) != 1) {
		while (meminfo_kib("MemFree") < 6144) {
			if (++waited > 3000 || read(stop, &c, 1) == 1)
				_exit(waited > 3000 ? 4 : 0);
			usleep(10000);
		}
		step = meminfo_kib("MemAvailable") < 65536 ? 1 : 4;
		if (mmap(NULL, step << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0) ==
		    MAP_FAILED)
			_exit(3);
		done += step << 10;
		if (write(out, &done, sizeof(done)) != sizeof(done))
			_exit(5);
	}
	/* held until the parent is done measuring */
	while (read(stop, &c, 1) != 1)
		usleep(10000);
	_exit(0);
}

/* ---- the measurement ---- */

static void sleep_until(double t)
{
	struct timespec ts = { .tv_sec = (time_t)t,
			       .tv_nsec = (long)((t - (time_t)t) * 1e9) };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		usage();
	return v;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *tool = NULL;
	unsigned long mib = 0, ram = 0, interval = 5000, limit = 60, pid = 0;
	double t0, t, next, scan_t = -1, cmd_t = -1, quiet_t = -1;
	double first_t = -1, t90 = -1;
	long base_min, base_max, held, ret, max_ret = 0, last_held, hog_kib = 0;
	long last_trace = 0, ret90 = 0, free0, free90 = 0, quiet_held = 0;
	long long scans0 = -1, v;
	int i, k, nb, n = 0, fd, qmp = -1, shr = -1, hog_stop = -1, hog_out = -1;
	int ws, hog_done = 0, hog_rc = -1;
	pid_t child = 0;
	enum mode m = M_NONE;
	const char *why = "time limit";
	char buf[1024], arg[64];

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hog")) {
			m = M_HOG;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--qmp"))
			m = M_QMP, sock = argv[++i];
		else if (!strcmp(argv[i], "--khyp"))
			m = M_KHYP, tool = argv[++i];
		else if (!strcmp(argv[i], "--pid"))
			pid = num(argv[++i]);
		else if (!strcmp(argv[i], "--ram"))
			ram = num(argv[++i]);
		else if (!strcmp(argv[i], "--mib"))
			mib = num(argv[++i]);
		else if (!strcmp(argv[i], "-i"))
			interval = num(argv[++i]);
		else if (!strcmp(argv[i], "-t"))
			limit = num(argv[++i]);
		else
			usage();
	}
	if (m == M_NONE || !mib || !interval || (m != M_HOG && !pid) ||
	    (m == M_QMP && ram <= mib))
		usage();

	if (m == M_QMP) {
		snprintf(buf, sizeof(buf), "/proc/%lu/statm", pid);
		fd = open(buf, O_RDONLY);
		if (fd < 0)
			die(buf);
		qmp = qmp_open(sock);
	} else {
		fd = khyp_balloon_file();
		if (fd < 0)
			die(DEBUGFS "/vmN/balloon");
		shr = open(DEBUGFS "/shrinker", O_RDONLY);
	}

	/* the baseline */
	t = now();
	next = t;
	base_min = base_max = held_kib(fd, m);
	for (nb = 0; now() < t + BASELINE_S; nb++) {
		held = held_kib(fd, m);
		if (held < 0)
			die("reading held memory");
		base_min = held < base_min ? held : base_min;
		base_max = held > base_max ? held : base_max;
		next += interval / 1e6;
		sleep_until(next);
	}
	last_held = held_kib(fd, m);
	free0 = free_kib();
	printf("baseline held_kib %ld noise_kib %ld free_kib %ld interval_us %lu samples %d\n",
	       last_held, base_max - base_min, free0, interval, nb);
	if (shr >= 0)
		scans0 = field(reread(shr, buf, sizeof(buf)), "scan_calls");
	/* khyp: what free page reporting gave back before T0 (should be 0) */
	if (m != M_QMP) {
		reread(fd, buf, sizeof(buf));
		printf("khyp reported %lld size %lld\n", field(buf, "reported"),
		       field(buf, "size"));
	}

	/* T0 */
	t0 = now();
	if (m == M_QMP) {
		snprintf(buf, sizeof(buf),
			 "{\"execute\": \"balloon\", \"arguments\": {\"value\": %lu}}\n",
			 (ram - mib) << 20);
		qmp_send(qmp, buf);
	} else if (m == M_KHYP) {
		snprintf(arg, sizeof(arg), "%luM", mib);
		snprintf(buf, sizeof(buf), "%lu", pid);
		child = fork();
		if (!child) {
			execl(tool, tool, "balloon", buf, arg, (char *)NULL);
			_exit(127);
		}
	} else {
		int sp[2], op[2];
		long kib = meminfo_kib("MemAvailable") + (long)(mib << 10);

		if (pipe2(sp, O_NONBLOCK | O_CLOEXEC) ||
		    pipe2(op, O_NONBLOCK | O_CLOEXEC))
			die("pipe2");
		child = fork();
		if (!child)
			hog(kib, sp[0], op[1]);
		hog_stop = sp[1];
		hog_out = op[0];
	}
	if (child < 0)
		die("fork");

	next = t0;
	base_min = base_min < last_held ? base_min : last_held;
	for (;;) {
		next += interval / 1e6;
		sleep_until(next);
		t = now() - t0;
		held = held_kib(fd, m);
		ret = last_held - held;
		samples[n].t = t;
		samples[n].held = held;
		samples[n].free = free_kib();
		if (n < MAX_SAMPLES - 1)
			n++;
		if (cmd_t < 0 && m == M_QMP && qmp_replied(qmp))
			cmd_t = t;
		if (cmd_t < 0 && m == M_KHYP && waitpid(child, &ws, WNOHANG) == child)
			cmd_t = t;
		if (scan_t < 0 && shr >= 0 &&
		    field(reread(shr, buf, sizeof(buf)), "scan_calls") > scans0)
			scan_t = t;
		if (first_t < 0 && held <= base_min - 4)
			first_t = t;
		/* quiet: held within QUIET_KIB of where it was QUIET_S ago */
		if (quiet_t < 0 || held > quiet_held + QUIET_KIB ||
		    held < quiet_held - QUIET_KIB) {
			quiet_t = t;
			quiet_held = held;
		}
		max_ret = ret > max_ret ? ret : max_ret;
		if (m == M_HOG) {
			while (read(hog_out, &v, sizeof(long)) == sizeof(long))
				hog_kib = (long)v;
			if (!hog_done && (max_ret >= (long)(mib << 10) ||
			    waitpid(child, &ws, WNOHANG) == child)) {
				hog_done = 1;
				quiet_t = t;
			}
		}
		if (first_t >= 0 && t - quiet_t >= QUIET_S &&
		    (m != M_HOG || hog_done)) {
			why = "quiet";
			break;
		}
		if (t >= limit)
			break;
	}

	/* the hog ends: its memory back to the host */
	if (m == M_HOG) {
		if (write(hog_stop, "x", 1) != 1)
			kill(child, SIGKILL);
		if (waitpid(child, &ws, 0) == child)
			hog_rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	} else if (m == M_KHYP && cmd_t < 0) {
		waitpid(child, &ws, 0);
	}

	/* the first sample with 90% of the most returned */
	for (k = 0; k < n; k++) {
		ret = last_held - samples[k].held;
		if (t90 < 0 && max_ret > 0 && ret * 10 >= max_ret * 9) {
			t90 = samples[k].t;
			ret90 = ret;
			free90 = samples[k].free - free0;
		}
		if ((first_t >= 0 && samples[k].t == first_t) ||
		    ret >= last_trace + 4096 || k == n - 1) {
			printf("trace t_s %.4f returned_kib %ld free_kib %ld\n",
			       samples[k].t, ret, samples[k].free);
			if (ret >= last_trace + 4096)
				last_trace = ret;
		}
	}
	printf("result first_s ");
	first_t < 0 ? printf("-") : printf("%.4f", first_t);
	printf(" scan_s ");
	scan_t < 0 ? printf("-") : printf("%.4f", scan_t);
	printf(" from_scan_s ");
	scan_t < 0 || first_t < 0 ? printf("-") : printf("%.4f", first_t - scan_t);
	printf(" cmd_s ");
	cmd_t < 0 ? printf("-") : printf("%.4f", cmd_t);
	printf(" returned_mib %.1f t90_s ", max_ret / 1024.0);
	t90 < 0 ? printf("-") : printf("%.4f", t90);
	printf(" mibps ");
	t90 > first_t && first_t >= 0 ? printf("%.1f", ret90 / 1024.0 / (t90 - first_t)) :
		printf("-");
	printf(" free_mib ");
	m == M_HOG || t90 < 0 ? printf("-") : printf("%.1f", free90 / 1024.0);
	printf(" hog_mib ");
	m == M_HOG ? printf("%.1f", hog_kib / 1024.0) : printf("-");
	printf(" hog_rc ");
	m == M_HOG ? printf("%d", hog_rc) : printf("-");
	printf(" samples %d end %s\n", n, why);
	return first_t < 0;
}
