/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the khyp selftests, so that each test reads as what it
 * checks: opening /dev/khyp, loading and unloading khyp.ko, reading the
 * kernel log and the CPU flags the guest kernel sees.
 */
#ifndef SELFTEST_KHYP_UTIL_H
#define SELFTEST_KHYP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/khyp.h>

#define KHYP_DEV	"/dev/khyp"

/* khyp.ko: $KHYP_KO, else where "make modules_install" puts it. */
const char *khyp_module_path(void);
bool khyp_module_loaded(void);
/* 0, or a negative errno from finit_module / delete_module. */
int khyp_module_load(void);
int khyp_module_unload(void);
/* Load or unload so that the module ends in the wanted state. */
int khyp_module_ensure(bool loaded);

/*
 * Kernel log: kmsg_open() returns an fd positioned at the end of the log;
 * kmsg_find() reads what was logged since and reports whether a line
 * contains @needle (copied to @line).
 */
int kmsg_open(void);
bool kmsg_find(int fd, const char *needle, char *line, size_t len);

/* A word on the "flags" or "vmx flags" line of /proc/cpuinfo. */
bool cpuinfo_has(const char *flag);

/* The CPU can run khyp: VMX with EPT or SVM with NPT, per /proc/cpuinfo. */
bool cpu_usable_for_khyp(void);

/*
 * What the test runner tells about the machine: $KHYP_EXPECT holds words
 * "key=value", separated by commas or spaces; returns the value, or NULL if @key is not there.
 */
const char *machine_expect(const char *key, char *buf, size_t len);

/*
 * Memory free to the host, in KiB: MemFree plus the pages waiting on the
 * per-CPU free lists (/proc/zoneinfo "count:"), which MemFree leaves out.
 */
long host_free_kib(void);
/*
 * The sum of a field over /proc/zoneinfo's lines "<field>: N" (e.g.
 * "count", the per-CPU lists' pages; "node_unreclaimable"), or -1.
 */
long host_zoneinfo_sum(const char *field);
/* MemAvailable of /proc/meminfo, in KiB, or -1. */
long host_available_kib(void);
/*
 * What the host can still give before an allocation would have to
 * reclaim by itself, in KiB: over /proc/zoneinfo's zones, the free pages
 * above the min watermark, its boost and the zone's largest lowmem
 * reserve; and in *@above_low_kib (if not NULL) those above the low
 * watermark instead, what an allocation takes without waking kswapd.
 * (MemAvailable is measured from the high watermarks and ignores the
 * boost: at 0 kswapd can be asleep, as long as one zone, the DMA zone
 * say, is above its high watermark, or the allocator already reclaiming
 * directly.)
 */
long host_headroom_kib(long *above_low_kib);
/*
 * A memory hog, for a child process: grows to @kib KiB, touching every
 * page, paced on host_headroom_kib(): 4 MiB steps while more than 8 MiB
 * is above the zones' low watermarks, then half of what is left there
 * every 50 ms, then 64 KiB steps under low in every zone (which wakes
 * kswapd, whose reclaim calls the shrinker and asks the balloons) as
 * long as 384 KiB stay above min; then it waits for kswapd and the
 * balloons rather than push the allocator into direct reclaim, where it
 * would race the guests to the OOM killer (up to 30 s without a step:
 * exit status 4 says in vain).  Then holds it @hold_s seconds and exits
 * 0 (3: malloc failed).
 */
void __attribute__((noreturn)) host_hog(long kib, unsigned int hold_s);
/* Entries of a directory whose names start with @prefix ("" for all), or -1. */
long kh_dir_count(const char *path, const char *prefix);
/* /sys/module/khyp/refcnt, or -1. */
long khyp_module_refcnt(void);
/* A field of /proc/vmstat (e.g. "oom_kill"), or -1. */
long host_vmstat(const char *key);
/*
 * A kernel report logged since kmsg_open(): the first line with WARNING:,
 * BUG:, Oops, Call Trace or "khyp:" and "error" (copied to @line).
 */
bool kmsg_report(int fd, char *line, size_t len);
/*
 * Write @val to the file @path, as the shell's "echo -n val > path" (the
 * file opened with O_TRUNC: tracefs's trace empties): 0 if all of it
 * went, else a negative errno.
 */
int kh_write_file(const char *path, const char *val);
/* The same with the number @v and a newline. */
int kh_write_ulong(const char *path, unsigned long v);
/*
 * At most @len - 1 bytes of the file @path, NUL-terminated ("" if it
 * cannot be read): how many, or -1.
 */
long kh_read_file(const char *path, char *buf, size_t len);
/* The number the file @path starts with (a debugfs counter, say), or -1. */
long kh_file_long(const char *path);

/* khyp's huge_pages parameter: 1 or 0, or -1 if there is no such file. */
#define KH_HUGE_PAGES_PARAM	"/sys/module/khyp/parameters/huge_pages"
int kh_huge_pages(void);
/* Set it: 0, or a negative errno. */
int kh_huge_pages_set(bool on);

/*
 * debugfs is mounted at /sys/kernel/debug (mounted here if not), by its
 * magic number.
 */
bool kh_debugfs_mounted(void);
/* khyp's directory in debugfs is there (debugfs mounted first if not). */
bool khyp_debugfs(void);

/*
 * Memory cgroups (v2).  kh_cg_enter(): a fresh child @dir of the cgroup
 * v2 root (mounted at KH_CG_ROOT if nothing is), with the memory
 * controller on, and this process in it, so that its memory.current is
 * what the test's VMs are charged; false if that cannot be done.
 * kh_cg_join(): this process into the cgroup @dir.  kh_cg_kib(): the
 * byte count in the file @file of @dir (memory.current, memory.high),
 * in KiB, or -1.
 */
#define KH_CG_ROOT	"/sys/fs/cgroup"
bool kh_cg_enter(const char *dir);
bool kh_cg_join(const char *dir);
long kh_cg_kib(const char *dir, const char *file);

/*
 * A file the tests need, in the first place it can be read: $@env if
 * set (and only there), else <this test's directory>/../@rel (@rel may
 * be NULL), else @fallback (the test machines' initramfs).  The path
 * goes to @buf (PATH_MAX bytes) even when it cannot be read, for the
 * message.
 */
bool kh_find_file(char *buf, const char *env, const char *rel,
		  const char *fallback);
/* The launcher: $KHYP_TOOL, ../userspace-tool/khyp or /khyp-tool/khyp. */
bool kh_find_tool(char *buf);

/*
 * The pools of zeroed 2 MiB blocks (zero_pool_mb, mmu/zeropool.c) off,
 * for a test that counts the host's free memory or the shrinker's asks
 * exactly: the old value goes to @saved (16 bytes; "" if there is no
 * such parameter), which kh_zero_pool_restore() writes back.
 */
void kh_zero_pool_off(char saved[16]);
void kh_zero_pool_restore(const char saved[16]);
/*
 * The fixture @name of such tests: the pools off before each, back
 * after it.  Needs kselftest_harness.h included first.
 */
#define KH_POOL_OFF_FIXTURE(name)					\
FIXTURE(name) {								\
	char pool_mb[16];						\
};									\
									\
FIXTURE_SETUP(name)							\
{									\
	kh_zero_pool_off(self->pool_mb);				\
}									\
									\
FIXTURE_TEARDOWN(name)							\
{									\
	kh_zero_pool_restore(self->pool_mb);				\
}

/*
 * Write 2 to /proc/sys/vm/drop_caches: the kernel calls every shrinker.
 * 0, or a negative errno (said on stderr).
 */
int kh_drop_slab_caches(void);
/* The newest VM in khyp's debugfs directory (VMs are numbered in creation
 * order: a test's own, right after it created it), or -1. */
int khyp_newest_vm(void);
/* N of the line "@key N" of a "key value" file (khyp's debugfs), or -1. */
long khyp_file_count(const char *path, const char *key);
/*
 * A count of VM @id in khyp's debugfs: the line "@key N" of its file
 * @file ("mmu", "vcpu0/exits"), or with @key NULL the number the file
 * holds ("vcpu0/l1d_flushes"); -1 if there is none.
 */
long khyp_vm_stat(int id, const char *file, const char *key);

/* The state letter of a task from its stat file (e.g. "/proc/self/task/N/stat"), '?' if unreadable. */
char task_state(const char *stat_path);

/* CLOCK_MONOTONIC in seconds. */
double now_s(void);

/* Run a shell command quietly; returns its exit status or -1. */
int run_quiet(const char *cmd);

/* KVM's vendor module for this CPU: "kvm_intel" or "kvm_amd". */
const char *kvm_vendor(void);
/*
 * modprobe it (@load), or remove it and kvm: modprobe's exit status, or
 * -1.  kvm_out_khyp_in(): after a test that loaded KVM (where khyp can
 * run at all), KVM gone and khyp.ko loaded.
 */
int kvm_modules(bool load);
void kvm_out_khyp_in(void);

/*
 * Through /dev/kvm: create a VM with one vCPU, run a real-mode guest that
 * writes 42 to port 0x10 and halts.  0 on success, else -1 and a message
 * in @err.
 */
int kvm_smoke_test(char *err, size_t len);

/*
 * Does the machine leave out test @fixture.@test of binary @bin?  The
 * word "omit=PAT+PAT..." of $KHYP_EXPECT lists fnmatch patterns
 * "binary:fixture.test" (scripts/test.sh gives each machine's, with the
 * machine that runs those tests instead).  @used marks each pattern that
 * matched (bit i for the i-th; at most 32).
 */
bool kh_test_omitted(const char *bin, const char *fixture, const char *test,
		     unsigned int *used);
/* The patterns of "omit=" for @bin that matched nothing: printed; true if any. */
bool kh_omit_unused(const char *bin, unsigned int used);

#ifdef TEST_HARNESS_MAIN
/*
 * The harness' main, after taking the tests the machine omits off their
 * fixtures' lists (the plan then counts what runs; each omitted test is
 * named on a "#" line).  A pattern for this binary that matches no test
 * fails the binary before its plan: a renamed test must not leave a
 * machine's omission silently empty.
 */
#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN \
	static void __attribute__((constructor)) \
	__constructor_order_last(void) \
	{ \
		if (!__constructor_order) \
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	} \
	static bool kh_omit_tests(const char *bin) \
	{ \
		struct __test_metadata **pp, *t, *last; \
		struct __fixture_metadata *f; \
		unsigned int used = 0; \
		for (f = __fixture_list; f; f = f->next) { \
			last = NULL; \
			for (pp = &f->tests; (t = *pp);) { \
				if (kh_test_omitted(bin, f->name, t->name, &used)) { \
					printf("# omitted here: %s.%s\n", f->name, t->name); \
					*pp = t->next; \
					continue; \
				} \
				t->prev = last ? last : t; \
				last = t; \
				pp = &t->next; \
			} \
			if (f->tests) \
				f->tests->prev = last; \
		} \
		return !kh_omit_unused(bin, used); \
	} \
	int main(int argc, char **argv) \
	{ \
		const char *bin = strrchr(argv[0], '/'); \
		if (!kh_omit_tests(bin ? bin + 1 : argv[0])) \
			return 1; \
		return test_harness_run(argc, argv); \
	}
#endif

#endif /* SELFTEST_KHYP_UTIL_H */
