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
/* Write @val to the file @path: 0, or a negative errno. */
int kh_write_file(const char *path, const char *val);

/*
 * The pools of zeroed 2 MiB blocks (zero_pool_mb, mmu/zeropool.c) off,
 * for a test that counts the host's free memory or the shrinker's asks
 * exactly: the old value goes to @saved (16 bytes; "" if there is no
 * such parameter), which kh_zero_pool_restore() writes back.
 */
void kh_zero_pool_off(char saved[16]);
void kh_zero_pool_restore(const char saved[16]);

/* Write 2 to /proc/sys/vm/drop_caches: the kernel calls every shrinker. */
void kh_drop_slab_caches(void);
/* The newest VM in khyp's debugfs directory (VMs are numbered in creation
 * order: a test's own, right after it created it), or -1. */
int khyp_newest_vm(void);
/* N of the line "@key N" of a "key value" file (khyp's debugfs), or -1. */
long khyp_file_count(const char *path, const char *key);

/* The state letter of a task from its stat file (e.g. "/proc/self/task/N/stat"), '?' if unreadable. */
char task_state(const char *stat_path);

/* CLOCK_MONOTONIC in seconds. */
double now_s(void);

/* Run a shell command quietly; returns its exit status or -1. */
int run_quiet(const char *cmd);

/* KVM's vendor module for this CPU: "kvm_intel" or "kvm_amd". */
const char *kvm_vendor(void);

/*
 * Through /dev/kvm: create a VM with one vCPU, run a real-mode guest that
 * writes 42 to port 0x10 and halts.  0 on success, else -1 and a message
 * in @err.
 */
int kvm_smoke_test(char *err, size_t len);

#endif /* SELFTEST_KHYP_UTIL_H */
