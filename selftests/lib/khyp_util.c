// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "khyp_util.h"

#define DEBUGFS	"/sys/kernel/debug"

const char *khyp_module_path(void)
{
	static char path[256];
	struct utsname u;
	const char *env = getenv("KHYP_KO");

	if (env && *env)
		return env;
	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/khyp.ko",
		 u.release);
	return path;
}

bool khyp_module_loaded(void)
{
	return access("/sys/module/khyp", F_OK) == 0;
}

int khyp_module_load(void)
{
	int fd, r, err;

	fd = open(khyp_module_path(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, "", 0);
	err = errno;
	close(fd);
	return r ? -err : 0;
}

int khyp_module_unload(void)
{
	int i;

	/* A just-closed fd may hold the module for a moment. */
	for (i = 0; i < 50; i++) {
		if (syscall(SYS_delete_module, "khyp", O_NONBLOCK) == 0)
			return 0;
		if (errno != EAGAIN && errno != EBUSY)
			return -errno;
		usleep(20000);
	}
	return -errno;
}

int khyp_module_ensure(bool loaded)
{
	if (khyp_module_loaded() == loaded)
		return 0;
	return loaded ? khyp_module_load() : khyp_module_unload();
}

int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

bool kmsg_find(int fd, const char *needle, char *line, size_t len)
{
	char rec[2048];
	ssize_t n;
	char *text;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (n <= 0)
			return false;
		rec[n] = '\0';
		/* "level,seq,time,flags;text\n" */
		text = strchr(rec, ';');
		text = text ? text + 1 : rec;
		text[strcspn(text, "\n")] = '\0';
		if (strstr(text, needle)) {
			if (line && len)
				snprintf(line, len, "%s", text);
			return true;
		}
	}
}

bool cpuinfo_has(const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char buf[8192], *tok, *save;
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "flags", 5) && strncmp(buf, "vmx flags", 9))
			continue;
		tok = strchr(buf, ':');
		if (!tok)
			continue;
		for (tok = strtok_r(tok + 1, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(tok, flag))
				found = true;
	}
	fclose(f);
	return found;
}

bool cpu_usable_for_khyp(void)
{
	return (cpuinfo_has("vmx") && cpuinfo_has("ept")) ||
	       (cpuinfo_has("svm") && cpuinfo_has("npt"));
}

const char *machine_expect(const char *key, char *buf, size_t len)
{
	const char *env = getenv("KHYP_EXPECT");
	size_t klen = strlen(key);
	const char *p;

	for (p = env; p && *p; p += strcspn(p, ", ")) {
		p += strspn(p, ", ");
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			snprintf(buf, len, "%.*s",
				 (int)strcspn(p + klen + 1, ", "), p + klen + 1);
			return buf;
		}
	}
	return NULL;
}

/* The i-th pattern of "omit=" in @pat, or false past the last. */
static bool omit_pattern(const char *list, unsigned int i, char *pat, size_t len)
{
	const char *p = list;
	size_t n;

	for (; i && p; i--) {
		p = strchr(p, '+');
		p = p ? p + 1 : NULL;
	}
	if (!p || !*p)
		return false;
	n = strcspn(p, "+");
	snprintf(pat, len, "%.*s", (int)n, p);
	return true;
}

/* Pattern "bin:fixture.test": does its binary part match @bin? */
static const char *omit_match_bin(const char *pat, const char *bin, char *tmp,
				  size_t len)
{
	const char *colon = strchr(pat, ':');

	if (!colon)
		return NULL;
	snprintf(tmp, len, "%.*s", (int)(colon - pat), pat);
	return fnmatch(tmp, bin, 0) ? NULL : colon + 1;
}

bool kh_test_omitted(const char *bin, const char *fixture, const char *test,
		     unsigned int *used)
{
	char list[512], pat[128], tmp[128], name[256];
	const char *rest;
	bool hit = false;
	unsigned int i;

	if (!machine_expect("omit", list, sizeof(list)))
		return false;
	snprintf(name, sizeof(name), "%s.%s", fixture, test);
	for (i = 0; i < 32 && omit_pattern(list, i, pat, sizeof(pat)); i++) {
		rest = omit_match_bin(pat, bin, tmp, sizeof(tmp));
		if (rest && !fnmatch(rest, name, 0)) {
			*used |= 1u << i;
			hit = true;
		}
	}
	return hit;
}

bool kh_omit_unused(const char *bin, unsigned int used)
{
	char list[512], pat[128], tmp[128];
	bool unused = false;
	unsigned int i;

	if (!machine_expect("omit", list, sizeof(list)))
		return false;
	for (i = 0; omit_pattern(list, i, pat, sizeof(pat)); i++) {
		if (i >= 32 || !strchr(pat, ':')) {
			printf("# omit=: pattern %u '%s' is not binary:fixture.test or past 32\n",
			       i + 1, pat);
			unused = true;
		} else if (omit_match_bin(pat, bin, tmp, sizeof(tmp)) &&
			   !(used & (1u << i))) {
			printf("# omit=: '%s' matches no test of %s\n", pat, bin);
			unused = true;
		}
	}
	return unused;
}

int run_quiet(const char *cmd)
{
	char buf[512];
	int r;

	snprintf(buf, sizeof(buf), "%s >/dev/null 2>&1", cmd);
	r = system(buf);
	if (r == -1 || !WIFEXITED(r))
		return -1;
	return WEXITSTATUS(r);
}

#define ZERO_POOL_PARAM	"/sys/module/khyp/parameters/zero_pool_mb"

void kh_zero_pool_off(char saved[16])
{
	kh_read_file(ZERO_POOL_PARAM, saved, 16);
	if (saved[0])
		kh_write_file(ZERO_POOL_PARAM, "0");
}

void kh_zero_pool_restore(const char saved[16])
{
	if (saved[0])
		kh_write_file(ZERO_POOL_PARAM, saved);
}

int kh_drop_slab_caches(void)
{
	int r = kh_write_file("/proc/sys/vm/drop_caches", "2");

	if (r)
		fprintf(stderr, "# /proc/sys/vm/drop_caches: %s\n",
			strerror(-r));
	return r;
}

long host_free_kib(void)
{
	long free_kib = -1, pcp_pages = 0, n;
	char line[256];
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &n) == 1)
			free_kib = n;
	fclose(f);

	pcp_pages = host_zoneinfo_sum("count");
	if (pcp_pages < 0)
		return free_kib;
	return free_kib + pcp_pages * (sysconf(_SC_PAGESIZE) / 1024);
}

long host_zoneinfo_sum(const char *field)
{
	long sum = 0, n;
	char line[256], fmt[64];
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return -1;
	snprintf(fmt, sizeof(fmt), " %s: %%ld", field);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &n) == 1)
			sum += n;
	fclose(f);
	return sum;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *kvm_vendor(void)
{
	return cpuinfo_has("vmx") ? "kvm_intel" : "kvm_amd";
}

int kvm_modules(bool load)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), load ? "modprobe %s" : "modprobe -r %s kvm",
		 kvm_vendor());
	return run_quiet(cmd);
}

void kvm_out_khyp_in(void)
{
	if (!cpu_usable_for_khyp())
		return;
	kvm_modules(false);
	khyp_module_ensure(true);
}

int khyp_newest_vm(void)
{
	struct dirent *de;
	int id, best = -1;
	DIR *d = opendir(DEBUGFS "/khyp");

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "vm%d", &id) == 1 && id > best)
			best = id;
	closedir(d);
	return best;
}

char task_state(const char *stat_path)
{
	char buf[512], *p;
	FILE *f = fopen(stat_path, "r");
	size_t n;

	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

long khyp_file_count(const char *path, const char *key)
{
	char name[64];
	long n, found = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &n) == 2)
		if (!strcmp(name, key))
			found = n;
	fclose(f);
	return found;
}

long khyp_vm_stat(int id, const char *file, const char *key)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), DEBUGFS "/khyp/vm%d/%s", id, file);
	return key ? khyp_file_count(path, key) : kh_file_long(path);
}

long host_available_kib(void)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* The largest number of "protection: (a, b, ...)" (a zone's reserves). */
static long zone_protection(const char *p)
{
	long v, max = 0;
	char *end;

	p = strchr(p, '(');
	while (p && *p && *p != ')') {
		v = strtol(p + 1, &end, 10);
		if (end == p + 1)
			break;
		if (v > max)
			max = v;
		p = end;
	}
	return max;
}

long host_headroom_kib(long *above_low_kib)
{
	long free = -1, min = 0, low = 0, boost = 0, v, reserve;
	long above_min = 0, above_low = 0, kib = sysconf(_SC_PAGESIZE) / 1024;
	char line[256], *p;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		for (p = line; *p == ' '; p++)
			;
		if (sscanf(p, "pages free %ld", &v) == 1) {
			free = v;
			min = low = boost = 0;
		} else if (sscanf(p, "boost %ld", &v) == 1) {
			boost = v;
		} else if (sscanf(p, "min %ld", &v) == 1) {
			min = v;
		} else if (sscanf(p, "low %ld", &v) == 1) {
			low = v;
		} else if (!strncmp(p, "protection:", 11) && free >= 0) {
			reserve = boost + zone_protection(p);
			if (free > min + reserve)
				above_min += free - min - reserve;
			if (free > low + reserve)
				above_low += free - low - reserve;
			free = -1;
		}
	}
	fclose(f);
	if (above_low_kib)
		*above_low_kib = above_low * kib;
	return above_min * kib;
}

void host_hog(long kib, unsigned int hold_s)
{
	const long mib = 1024;	/* KiB */
	long done = 0, step, room, low;
	int waited = 0;
	char *p;

	while (done < kib) {
		room = host_headroom_kib(&low);
		if (low > 8 * mib)
			step = 4 * mib;
		else if (low > 0)
			step = low / 2 > 64 ? low / 2 : 64;
		else if (room > 384)
			step = 64;	/* under low everywhere: kswapd wakes */
		else
			step = 0;	/* kswapd and the balloons' turn */
		if (!step) {
			if (++waited == 600)
				_exit(4);
			usleep(50000);
			continue;
		}
		waited = 0;
		if (step > kib - done)
			step = kib - done;
		p = malloc(step * 1024);
		if (!p)
			_exit(3);
		memset(p, 0x5a, step * 1024);
		done += step;
		usleep(step == 4 * mib ? 20000 : 50000);
	}
	sleep(hold_s);
	_exit(0);
}

long kh_dir_count(const char *path, const char *prefix)
{
	struct dirent *de;
	long n = 0;
	DIR *d = opendir(path);

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    !strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

long khyp_module_refcnt(void)
{
	return kh_file_long("/sys/module/khyp/refcnt");
}

long host_vmstat(const char *key)
{
	return khyp_file_count("/proc/vmstat", key);
}

bool kmsg_report(int fd, char *line, size_t len)
{
	static const char *const bad[] = {
		"WARNING:", "BUG:", "Oops", "Call Trace",
	};
	char text[1024];
	unsigned int i;

	while (kmsg_find(fd, "", text, sizeof(text))) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(text, bad[i]))
				break;
		if (i < sizeof(bad) / sizeof(bad[0]) ||
		    (!strncmp(text, "khyp: ", 6) && strstr(text, "cannot"))) {
			snprintf(line, len, "%s", text);
			return true;
		}
	}
	return false;
}

int kh_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), r = 0;
	size_t len = strlen(val);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	close(fd);
	return r;
}

int kh_write_ulong(const char *path, unsigned long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu\n", v);
	return kh_write_file(path, buf);
}

long kh_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

long kh_file_long(const char *path)
{
	char buf[32], *end;
	long v;

	if (kh_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	v = strtol(buf, &end, 10);
	return end == buf ? -1 : v;
}

int kh_huge_pages(void)
{
	char c[2];

	if (kh_read_file(KH_HUGE_PAGES_PARAM, c, sizeof(c)) < 0)
		return -1;
	return c[0] == 'Y' || c[0] == '1';
}

int kh_huge_pages_set(bool on)
{
	return kh_write_file(KH_HUGE_PAGES_PARAM, on ? "Y" : "N");
}

bool kh_debugfs_mounted(void)
{
	struct statfs st;

	if (!statfs(DEBUGFS, &st) && st.f_type == DEBUGFS_MAGIC)
		return true;
	mkdir(DEBUGFS, 0755);
	mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	return !statfs(DEBUGFS, &st) && st.f_type == DEBUGFS_MAGIC;
}

bool khyp_debugfs(void)
{
	if (access(DEBUGFS "/khyp", F_OK))
		kh_debugfs_mounted();
	return !access(DEBUGFS "/khyp", F_OK);
}

bool kh_cg_join(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%.4000s/cgroup.procs", dir);
	return !kh_write_file(path, "0");	/* 0: the writer */
}

bool kh_cg_enter(const char *dir)
{
	char path[PATH_MAX];

	if (access(KH_CG_ROOT "/cgroup.controllers", F_OK))
		mount("cgroup2", KH_CG_ROOT, "cgroup2", 0, NULL);
	kh_write_file(KH_CG_ROOT "/cgroup.subtree_control", "+memory");
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%.4000s/memory.current", dir);
	return kh_cg_join(dir) && !access(path, R_OK);
}

long kh_cg_kib(const char *dir, const char *file)
{
	char path[PATH_MAX];
	long v;

	snprintf(path, sizeof(path), "%.2000s/%.2000s", dir, file);
	v = kh_file_long(path);
	return v < 0 ? -1 : v / 1024;
}

bool kh_find_file(char *buf, const char *env, const char *rel,
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

bool kh_find_tool(char *buf)
{
	return kh_find_file(buf, "KHYP_TOOL", "userspace-tool/khyp",
			    "/khyp-tool/khyp");
}
