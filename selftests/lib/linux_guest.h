/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Debian's kernel under `khyp run`, for linux_boot_test,
 * linux_pressure_test and linux_share_test (lib/linux_guest.c): where
 * the launcher, the kernel and the initramfs are ($KHYP_TOOL,
 * $KHYP_LINUX_KERNEL, $KHYP_LINUX_INITRD; linux_boot_test.c's comment),
 * one boot to its end (launch(); several at once: launch_all()), /init's
 * markers in its console log (scripts/linux-guest-init), and the host's
 * side of the pressure tests (debugfs, a memory hog).  The macros need kselftest_harness.h
 * included first.
 */
#ifndef SELFTEST_LINUX_GUEST_H
#define SELFTEST_LINUX_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define GUEST_MEM_MB		256	/* -m, unless a boot_plan says */
#define BOOT_TIMEOUT_S		600	/* khyp run --timeout, per boot */
#define SERIAL_MAX		(1 << 20)

struct __test_metadata;

/* What one khyp run printed and how it ended. */
struct boot_run {
	char *log;		/* the serial console */
	char *err;		/* khyp run's stdout and stderr */
	int status;
	double wall;
	char why[256];		/* launch(): why it returned false */
	bool typed;		/* all of boot_plan.type went to the shell */
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
	/*
	 * What to type at /init's shell (khyp.shell=1), as pairs of
	 * strings, NULL-terminated: wait until the first shows on the
	 * console (after what the last wait found), type the second.
	 * --serial stdio, the console from khyp run's stdout, its stdin a
	 * pipe, as a terminal would be.
	 */
	const char *const *type;
};

/*
 * The kernel, the initramfs (the launcher: kh_find_tool()): false if not
 * readable.
 */
bool find_kernel(char *buf);
bool find_initrd(char *buf);

/* The whole of @path, NUL-terminated, at most SERIAL_MAX - 1 bytes. */
char *slurp(const char *path);
/*
 * The value of the first marker "KHYP-@name=value" in @log (the line's
 * rest, without the CR the console adds), or NULL; as a number, or -1.
 */
const char *marker(const char *log, const char *name, char *val,
		   size_t len);
long marker_long(const char *log, const char *name);
/* Print the console log (its start and its end) into the TAP output. */
void dump_log(const char *log);
void guest_cmdline(char *buf, size_t len, const char *base, const char *extra);
unsigned int khyp_tsc_khz(void);
/* "name N" in s, after prefix: N, or -1. */
long long after(const char *s, const char *prefix, const char *name);

/* The running khyp run's pid (for `khyp balloon PID`), or 0. */
extern pid_t khyp_run_pid;
/*
 * Run khyp (in the cgroup v2 directory @cgroup, if not NULL: 127 if it
 * cannot join it) and wait for it: its exit status, 128 + signal, or -1.
 */
int run_khyp_in(char *const argv[], const char *errfile, const char *cgroup);
int run_khyp(char *const argv[], const char *errfile);
/*
 * khyp run with @cpus vCPUs and @plan's additions, to its end: false,
 * with r->why, if the test cannot go on (/init's shell did not run).
 * LAUNCH() fails the test then.
 */
bool launch(const char *tool, const char *kernel, const char *initrd,
	    int cpus, const struct boot_plan *plan, struct boot_run *r);
#define LAUNCH(tool, kernel, initrd, cpus, plan, r)			\
	ASSERT_TRUE(launch(tool, kernel, initrd, cpus, plan, r))	\
		TH_LOG("%s", (r)->why)

/*
 * Several boots at once, each as launch() does it, each in a thread of
 * its own (khyp_run_pid is then the last one started): true if every
 * one's shell ran; else the first r->why that failed is in runs[0].why
 * unless it is its own.
 */
bool launch_all(const char *tool, const char *kernel, const char *initrd,
		int cpus, const struct boot_plan *plans, struct boot_run *runs,
		int n);

/*
 * The host's side of the pressure tests (linux_pressure_test,
 * linux_share_test): its memory, khyp's debugfs, the console's markers
 * while a boot runs, and a memory hog.
 */
#define KHYP_DEBUGFS		"/sys/kernel/debug/khyp"

/* /proc/meminfo's @name in KiB, or -1. */
long meminfo_kib(const char *name);
/* " vm1 vm7 ": the VMs in debugfs now. */
void debugfs_vms(char *buf, size_t len);
/* The value of @name in debugfs khyp/@vm/balloon, or -1. */
long long vm_balloon(const char *vm, const char *name);
/* Wait up to @timeout_s for the marker @name: true if it came. */
bool wait_marker(const char *serial, const int *stop, const char *name,
		 int timeout_s);
/* The OOM killer's lines in the machine's kernel log now, or -1. */
int host_oom_lines(void);

/*
 * A memory hog, a child of the caller's, growing towards the machine's
 * RAM past its available memory (linux_guest.c, hog_child()):
 * hog_start() forks it; hog_running() takes in how far it got and is
 * false once it has exited (then status and secs are set); hog_stop()
 * asks it to stop where it is.
 */
struct hog {
	pid_t pid;
	/*
	 * The pipes' ends, non-blocking, -1 once it has ended.  The read
	 * end of the stop pipe stays open here too: a hog_stop() just
	 * after the hog exited must not raise SIGPIPE.
	 */
	int stop_fd, stop_rd, out_fd;
	long kib;			/* how far it got */
	bool stopped;			/* hog_stop() was heard */
	int status;			/* its wait status */
	double start, secs;
};

bool hog_start(struct hog *h);
bool hog_running(struct hog *h);
void hog_stop(struct hog *h);

/* The fixture of every boot: the launcher, the kernel, the initramfs. */
#define LINUX_GUEST_FIXTURE()						\
FIXTURE(guest) {							\
	char tool[PATH_MAX];						\
	char kernel[PATH_MAX];						\
	char initrd[PATH_MAX];						\
};									\
									\
FIXTURE_SETUP(guest)							\
{									\
	NEED_DEV();							\
	ASSERT_TRUE(kh_find_tool(self->tool))				\
		TH_LOG("no khyp binary (%s); set KHYP_TOOL", self->tool); \
	ASSERT_TRUE(find_kernel(self->kernel))				\
		TH_LOG("cannot read the kernel %s: set KHYP_LINUX_KERNEL", \
		       self->kernel);					\
	ASSERT_TRUE(find_initrd(self->initrd))				\
		TH_LOG("cannot read the initramfs %s: run scripts/mkinitramfs-linux.sh, or set KHYP_LINUX_INITRD", \
		       self->initrd);					\
}									\
									\
FIXTURE_TEARDOWN(guest)							\
{									\
}

#endif
