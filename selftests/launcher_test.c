// SPDX-License-Identifier: GPL-2.0
/*
 * The launcher `khyp run` on the example guests of guests/: each test runs
 * the khyp binary as a child process and checks what the guest printed on
 * the serial port (khyp's stdout), khyp's exit status and its stderr.
 *
 * Where the binary and the images are: $KHYP_TOOL and $KHYP_GUESTS (the
 * test machines' guest-run.sh sets them), else ../userspace-tool/khyp and
 * ../guests next to this test's directory (a source tree), else
 * /khyp-tool/khyp and /khyp-tool/guests (the initramfs of the Bochs and
 * QEMU machines).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "khyp_util.h"
#include "khyp_vm.h"

/* khyp run's exit statuses (userspace-tool/khyp.h, khyp(1)) */
#define ST_HALTED	0
#define ST_HOST_ERROR	1
#define ST_USAGE	2
#define ST_INTERNAL	4
#define ST_TRIPLE_FAULT	6
#define ST_TIMEOUT	8
#define ST_STRICT	10
#define ST_RESET	12
#define ST_PANIC	14
#define DEBUG_EXIT(v)	(((v) << 1) | 1)

#define RUN_LIMIT_S	25	/* per khyp run: the harness stops a test at 30 s */
#define OUT_MAX		16384

struct result {
	int status;		/* exit status, or 128 + signal */
	char out[OUT_MAX];	/* stdout: the guest's serial output */
	char err[OUT_MAX];	/* stderr */
};

static char tool[PATH_MAX], guests[PATH_MAX];

/* The launcher and the example guests (kh_find_file()). */
static bool find_tool(void)
{
	return kh_find_tool(tool) &&
	       kh_find_file(guests, "KHYP_GUESTS", "guests",
			    "/khyp-tool/guests");
}

/* Read what the child writes on two pipes until both close or time's up. */
static bool collect(int out_fd, int err_fd, struct result *r)
{
	struct pollfd p[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
	size_t len[2] = { 0, 0 };
	char *buf[2] = { r->out, r->err };
	time_t end = time(NULL) + RUN_LIMIT_S;
	int open_fds = 2, i;

	while (open_fds && time(NULL) < end) {
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			return false;
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			n = read(p[i].fd, buf[i] + len[i], OUT_MAX - 1 - len[i]);
			if (n <= 0) {
				p[i].fd = -1;
				open_fds--;
				continue;
			}
			len[i] += n;
			buf[i][len[i]] = 0;
		}
	}
	return !open_fds;
}

/* The path of an image in the guests directory. */
static const char *g(const char *name)
{
	static char buf[4][2 * PATH_MAX];
	static unsigned int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", guests, name);
	return buf[i];
}

/* Run `khyp ARGS...` (NULL-terminated) with @input on its stdin. */
static int run_khyp(struct result *r, const char *input, ...)
{
	int in[2], out[2], err[2], ws, argc = 1;
	char *argv[32];
	const char *a;
	va_list ap;
	pid_t pid;
	bool done;

	memset(r, 0, sizeof(*r));
	argv[0] = tool;
	va_start(ap, input);
	while ((a = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	if (pipe(in) || pipe(out) || pipe(err))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(in[1]);
		close(out[0]);
		close(err[0]);
		execv(tool, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (input && write(in[1], input, strlen(input)) < 0)
		return -1;
	close(in[1]);
	done = collect(out[0], err[0], r);
	close(out[0]);
	close(err[0]);
	if (!done)
		kill(pid, SIGKILL);
	if (waitpid(pid, &ws, 0) < 0)
		return -1;
	r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return 0;
}

/* Every test: khyp loaded, the launcher and the guests found. */
#define NEED_TOOL()							\
	do {								\
		NEED_DEV();						\
		ASSERT_TRUE(find_tool())				\
			TH_LOG("no khyp launcher or guests at %s, %s: build them (make tool guests) or set KHYP_TOOL, KHYP_GUESTS", \
			       tool, guests);				\
	} while (0)

#define RUN(r, input, ...)						\
	do {								\
		ASSERT_EQ(0, run_khyp(r, input, __VA_ARGS__, NULL))	\
			TH_LOG("running %s: %s", tool, strerror(errno)); \
	} while (0)

/* Status as expected, with what khyp said if not. */
#define EXPECT_STATUS(r, st)						\
	EXPECT_EQ(st, (r)->status)					\
		TH_LOG("stdout: %s\nstderr: %s", (r)->out, (r)->err)

#define EXPECT_HAS(buf, s)						\
	EXPECT_NE(NULL, strstr(buf, s)) TH_LOG("'%s' not in: %s", s, buf)

static struct result res;

/* khyp info says what KHYP_GET_CAPS says, not a fixed template. */
TEST(info_names_backend)
{
	struct khyp_caps caps = { 0 };
	char line[64];
	int fd;

	NEED_TOOL();
	fd = open(KHYP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, KHYP_GET_CAPS, &caps));
	close(fd);
	RUN(&res, NULL, "info");
	EXPECT_STATUS(&res, 0);
	EXPECT_HAS(res.out, "api_version: 1");
	ASSERT_TRUE(caps.backend == KHYP_BACKEND_VMX ||
		    caps.backend == KHYP_BACKEND_SVM);
	EXPECT_HAS(res.out, caps.backend == KHYP_BACKEND_VMX ?
		   "backend: vmx" : "backend: svm");
	snprintf(line, sizeof(line), "features: 0x%llx",
		 (unsigned long long)caps.features);
	EXPECT_HAS(res.out, line);
	snprintf(line, sizeof(line), "nr_asids: %u\n", caps.nr_asids);
	EXPECT_HAS(res.out, line);
}

static void guest_three_syncs(void)
{
	GUEST_SYNC(1);
	GUEST_SYNC(2);
	GUEST_SYNC(3);
	GUEST_DONE();
}

/*
 * khyp stats lists a VM that exists now (this test's, by its number),
 * with the counts it really has: 4 port exits (3 syncs and the done,
 * each one OUT) and no HLT.
 */
TEST(stats_lists_live_vm)
{
	struct kh_vcpu *vcpu;
	struct kh_vm *vm;
	char line[64], mine[512] = "";
	const char *p;
	int id;

	NEED_TOOL();
	khyp_debugfs();
	vm = kh_vm_create(0);
	id = khyp_newest_vm();
	ASSERT_LT(0, id);
	vcpu = kh_vcpu_add(vm, 0);
	kh_vcpu_setup_long_mode(vcpu, guest_three_syncs);
	ASSERT_SYNC(vcpu, 1);
	ASSERT_SYNC(vcpu, 2);
	ASSERT_SYNC(vcpu, 3);
	ASSERT_DONE(vcpu);
	RUN(&res, NULL, "stats");
	kh_vm_free(vm);
	EXPECT_STATUS(&res, 0);
	/* This VM's line, and only it: "vm<id>: kind count ..." */
	snprintf(line, sizeof(line), "vm%d:", id);
	p = strstr(res.out, line);
	ASSERT_NE(NULL, p) TH_LOG("no '%s' in: %s", line, res.out);
	snprintf(mine, sizeof(mine), "%.*s ", (int)strcspn(p, "\n"), p);
	EXPECT_HAS(mine, " io 4 ");
	EXPECT_HAS(mine, " hlt 0 ");
	EXPECT_HAS(res.out, "shrinker: count_calls ");
}

TEST(hello_greets_and_exits_33)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", g("hello"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x10));
	EXPECT_HAS(res.out, "Hello from a khyp guest\n");
	EXPECT_HAS(res.out, "running in 64-bit long mode");
}

/* -c 3: vCPUs 1 and 2 wait for a SIPI that never comes; stopped at the end. */
TEST(hello_with_parked_vcpus)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "-c", "3", "-m", "16M", g("hello"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x10));
	EXPECT_HAS(res.out, "Hello from a khyp guest\n");
	EXPECT_HAS(res.out, "16 MiB of RAM");
}

/* -c N: the irqchip; vCPU 0 starts the others with INIT and SIPI. */
TEST(smp_guest_starts_two_cpus)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "-c", "2", "--timeout", "20", "--cmdline",
	    "cpus=2", g("smp.elf"));
	EXPECT_STATUS(&res, DEBUG_EXIT(2));
	EXPECT_STREQ("mptable: 2 cpus\ncpu 0 up\ncpu 1 up\n", res.out);
}

/* The guest learns the count from the launcher's MP table. */
TEST(smp_guest_starts_four_cpus_of_mptable)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "-c", "4", "--timeout", "20", g("smp.elf"));
	EXPECT_STATUS(&res, DEBUG_EXIT(4));
	EXPECT_STREQ("mptable: 4 cpus\ncpu 0 up\ncpu 1 up\ncpu 2 up\ncpu 3 up\n",
		     res.out);
}

TEST(flat_boot_sector_real_mode)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", g("bootsect.bin"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x11));
	EXPECT_STREQ("Hello from a real-mode boot sector\n", res.out);
	EXPECT_STREQ("", res.err);
}

TEST(elf64_starts_in_long_mode)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", g("long64.elf"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x12));
	EXPECT_STREQ("ELF64 guest in long mode\n", res.out);
}

TEST(elf32_halts_with_status_0)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", g("prot32.elf"));
	EXPECT_STATUS(&res, ST_HALTED);
	EXPECT_STREQ("ELF32 guest in protected mode\n", res.out);
}

TEST(multiboot_cmdline)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "--cmdline", "console=ttyS0 quiet",
	    g("mbcmdline.elf"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x14));
	EXPECT_STREQ("cmdline: console=ttyS0 quiet\n", res.out);
}

TEST(memtest_and_hypercalls)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "-m", "32M", "--cmdline", "mib=4", g("memtest"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x20));
	EXPECT_HAS(res.out, "memtest: 4 MiB at 0x400000, checksum");
	EXPECT_HAS(res.out, " ok\n");
	EXPECT_HAS(res.out, "hypercall putchar ok\n");
	EXPECT_HAS(res.out, "unknown hypercall returned -1\n");
}

/* --balloon=2M: the guest gives 512 pages back, takes them again. */
TEST(memtest_balloon)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "-m", "32M", "--balloon=2M", "--cmdline",
	    "mib=4 balloon", g("memtest"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x20));
	EXPECT_HAS(res.out, "balloon: target 512 pages, gave 512, took 512 back: they read zero\n");
	EXPECT_HAS(res.err, "khyp: balloon: 0 pages (0 KiB), target 512; inflated 512, deflated 512, freed 512; violations 0, rejected 0");
	/* --balloon alone: no target, a report */
	RUN(&res, NULL, "run", "-m", "32M", "--balloon", "--cmdline",
	    "mib=4 balloon", g("memtest"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x20));
	EXPECT_HAS(res.out, "balloon: target 0 pages, gave 0");
	EXPECT_HAS(res.err, "khyp: balloon: 0 pages (0 KiB), target 0; inflated 0");
}

TEST(serial_input_from_stdin)
{
	NEED_TOOL();
	RUN(&res, "hello\n", "run", "--timeout", "60", g("echo.elf"));
	EXPECT_STATUS(&res, DEBUG_EXIT(5));
	EXPECT_STREQ("type a line: HELLO\n", res.out);
}

TEST(serial_to_file)
{
	char path[] = "/tmp/khyp-serial-XXXXXX", buf[128] = "";
	int fd;

	NEED_TOOL();
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	RUN(&res, NULL, "run", "--serial", path, g("bootsect.bin"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x11));
	EXPECT_STREQ("", res.out);
	EXPECT_LT(0, read(fd, buf, sizeof(buf) - 1));
	EXPECT_STREQ("Hello from a real-mode boot sector\n", buf);
	close(fd);
	unlink(path);
}

/*
 * --boot-report's line "khyp: boot: WHAT after S.sss s" in @err: S in
 * milliseconds, with what follows " s" in *rest (if rest); -1 if the
 * line is missing or S is not digits, a point and three digits.
 */
static long long boot_ms(const char *err, const char *what,
			 const char **rest)
{
	char head[128];
	const char *p;
	long long ms = 0;
	int i;

	snprintf(head, sizeof(head), "khyp: boot: %s after ", what);
	for (p = strstr(err, head); p && p != err && p[-1] != '\n';
	     p = strstr(p + 1, head))
		;
	if (!p)
		return -1;
	p += strlen(head);
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9')
		ms = ms * 10 + (*p++ - '0');
	if (*p++ != '.')
		return -1;
	for (i = 0; i < 3; i++, p++) {
		if (*p < '0' || *p > '9')
			return -1;
		ms = ms * 10 + (*p - '0');
	}
	if (strncmp(p, " s", 2))
		return -1;
	if (rest)
		*rest = p + 2;
	return ms;
}

/* The "guest ended" line: its time, and its status in *status. */
static long long boot_ended_ms(const char *err, int *status)
{
	const char *rest = NULL;
	long long ms = boot_ms(err, "guest ended", &rest);
	char nl = 0;

	*status = -1;
	if (ms < 0 || sscanf(rest, " (status %d)%c", status, &nl) != 2 ||
	    nl != '\n')
		return -1;
	return ms;
}

/*
 * --boot-report=MARK with a MARK hello prints: every line is there, in
 * the order the moments come, the last with khyp's exit status.
 */
TEST(boot_report_orders_the_moments)
{
	long long ready, entry, output, mark, ended;
	int status;

	NEED_TOOL();
	RUN(&res, NULL, "run", "--boot-report=from a khyp", g("hello"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x10));
	EXPECT_HAS(res.out, "Hello from a khyp guest\n");
	ready = boot_ms(res.err, "vm ready", NULL);
	entry = boot_ms(res.err, "first guest entry", NULL);
	output = boot_ms(res.err, "first serial output", NULL);
	mark = boot_ms(res.err, "'from a khyp'", NULL);
	ended = boot_ended_ms(res.err, &status);
	EXPECT_LE(0, ready) TH_LOG("stderr: %s", res.err);
	EXPECT_LE(ready, entry) TH_LOG("stderr: %s", res.err);
	EXPECT_LE(entry, output) TH_LOG("stderr: %s", res.err);
	EXPECT_LE(output, mark) TH_LOG("stderr: %s", res.err);
	EXPECT_LE(mark, ended) TH_LOG("stderr: %s", res.err);
	EXPECT_EQ(res.status, status) TH_LOG("stderr: %s", res.err);
	EXPECT_EQ(NULL, strstr(res.err, "not seen"));
}

/* A MARK the guest never prints; no --boot-report, no report. */
TEST(boot_report_mark_not_seen)
{
	int status;

	NEED_TOOL();
	RUN(&res, NULL, "run", "--boot-report=KHYP-NEVER-PRINTED", g("hello"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x10));
	EXPECT_HAS(res.err, "khyp: boot: 'KHYP-NEVER-PRINTED' not seen\n");
	EXPECT_LE(0, boot_ms(res.err, "first serial output", NULL));
	EXPECT_LE(0, boot_ended_ms(res.err, &status));
	EXPECT_EQ(res.status, status);
	RUN(&res, NULL, "run", g("hello"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x10));
	EXPECT_EQ(NULL, strstr(res.err, "khyp: boot:")) TH_LOG("%s", res.err);
	RUN(&res, NULL, "run", "--boot-report=", g("hello"));
	EXPECT_STATUS(&res, ST_USAGE);
	EXPECT_HAS(res.err, "MARK is empty");
}

/* The report comes at a timeout too; a guest that never wrote COM1. */
TEST(boot_report_at_timeout)
{
	int status;

	NEED_TOOL();
	RUN(&res, NULL, "run", "--timeout", "1", "--boot-report=x",
	    g("spin.bin"));
	EXPECT_STATUS(&res, ST_TIMEOUT);
	EXPECT_HAS(res.err, "khyp: boot: no serial output\n");
	EXPECT_HAS(res.err, "khyp: boot: 'x' not seen\n");
	EXPECT_LE(0, boot_ms(res.err, "first guest entry", NULL));
	EXPECT_LE(1000, boot_ended_ms(res.err, &status)) TH_LOG("%s", res.err);
	EXPECT_EQ(ST_TIMEOUT, status);
}

/*
 * --reboot restart: the VM and entry times are the first boot's, counted
 * from khyp run's start; three boots, one a second, end 2 s later.
 */
TEST(boot_report_across_restarts)
{
	long long entry, ended;
	int status;

	NEED_TOOL();
	RUN(&res, NULL, "run", "--reboot", "restart", "--boot-report",
	    g("reboot_kbc.bin"));
	EXPECT_STATUS(&res, DEBUG_EXIT(3));
	entry = boot_ms(res.err, "first guest entry", NULL);
	ended = boot_ended_ms(res.err, &status);
	EXPECT_LE(0, entry) TH_LOG("%s", res.err);
	EXPECT_LE(entry + 1500, ended) TH_LOG("%s", res.err);
	EXPECT_EQ(DEBUG_EXIT(3), status);
	EXPECT_EQ(NULL, strstr(res.err, "'")) TH_LOG("no MARK line: %s", res.err);
}

TEST(timeout_stops_a_spinning_guest)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "--timeout", "1", g("spin.bin"));
	EXPECT_STATUS(&res, ST_TIMEOUT);
	EXPECT_HAS(res.err, "timeout");
}

/* as in run_test: Bochs 2.7's SVM stops the machine instead */
static bool triple_fault_exits(void)
{
	char buf[16];
	const char *v = machine_expect("triple_fault_exit", buf, sizeof(buf));

	return !v || strcmp(v, "0");
}

TEST(triple_fault_status)
{
	NEED_TOOL();
	if (!triple_fault_exits())
		SKIP(return, "this emulated CPU cannot exit on a guest triple fault");
	RUN(&res, NULL, "run", "--mode", "long", g("triple.bin"));
	EXPECT_STATUS(&res, ST_TRIPLE_FAULT);
	EXPECT_HAS(res.err, "triple");
}

/* --reboot exit (the default): the first reset ends the run, status 12. */
TEST(reset_exits_with_12)
{
	static const char *const how[][2] = {
		{ "reboot_cf9.bin", "khyp: guest reset (0xcf9)\n" },
		{ "reboot_kbc.bin", "khyp: guest reset (8042 0xfe)\n" },
		{ "reboot_92.bin", "khyp: guest reset (port 0x92)\n" },
	};
	unsigned int i;

	NEED_TOOL();
	for (i = 0; i < 3; i++) {
		RUN(&res, NULL, "run", g(how[i][0]));
		EXPECT_STATUS(&res, ST_RESET);
		EXPECT_STREQ(how[i][1], res.err);
	}
	RUN(&res, NULL, "run", "--reboot", "exit", g("reboot_cf9.bin"));
	EXPECT_STATUS(&res, ST_RESET);
}

/*
 * --reboot restart: a new VM from the same image after each reset, CMOS
 * kept: the guest counts three boots in its NVRAM and exits with 3.
 * At most one boot a second: two restarts take 2 s or more.
 */
TEST(reset_restarts_keeping_cmos)
{
	struct timespec a, b;

	NEED_TOOL();
	clock_gettime(CLOCK_MONOTONIC, &a);
	RUN(&res, NULL, "run", "--reboot", "restart", g("reboot_kbc.bin"));
	clock_gettime(CLOCK_MONOTONIC, &b);
	EXPECT_STATUS(&res, DEBUG_EXIT(3));
	EXPECT_STREQ("", res.err);
	EXPECT_LE(2, b.tv_sec - a.tv_sec + (b.tv_nsec >= a.tv_nsec ? 0 : -1));
	RUN(&res, NULL, "run", "--reboot", "restart", "--trace",
	    g("reboot_92.bin"));
	EXPECT_STATUS(&res, DEBUG_EXIT(3));
	EXPECT_HAS(res.err, "khyp: guest reset (port 0x92): restarting");
}

/* A triple fault restarts too; one every boot is a loop, stopped. */
TEST(triple_fault_loop_with_restart)
{
	NEED_TOOL();
	if (!triple_fault_exits())
		SKIP(return, "this emulated CPU cannot exit on a guest triple fault");
	RUN(&res, NULL, "run", "--reboot", "restart", "--mode", "long",
	    g("triple.bin"));
	EXPECT_STATUS(&res, ST_RESET);
	EXPECT_HAS(res.err, "khyp: guest reset loop: 10 boots in a row ended within a second; stopping");
}

TEST(pvpanic_ends_with_14)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", g("panic.bin"));
	EXPECT_STATUS(&res, ST_PANIC);
	EXPECT_STREQ("khyp: guest panicked; its crash kernel takes over\nkhyp: guest panicked\n",
		     res.err);
}

/* The CMOS clock says the host's date and time (UTC), in BCD. */
TEST(rtc_reads_host_time)
{
	char before[32], after[32];
	struct tm tm;
	time_t now;

	NEED_TOOL();
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(before, sizeof(before), "%Y-%m-%d %H:%M\n", &tm);
	RUN(&res, NULL, "run", g("rtc.bin"));
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(after, sizeof(after), "%Y-%m-%d %H:%M\n", &tm);
	EXPECT_STATUS(&res, DEBUG_EXIT(0x23));
	EXPECT_TRUE(!strcmp(res.out, before) || !strcmp(res.out, after))
		TH_LOG("guest: %s host: %s", res.out, before);
}

TEST(internal_error_dumps_registers)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", g("strio.bin"));
	EXPECT_STATUS(&res, ST_INTERNAL);
	EXPECT_HAS(res.err, "internal error 4: string or REP port I/O");
	EXPECT_HAS(res.err, "data[0] 0x00000000000003f8");
	EXPECT_HAS(res.err, "vCPU 0 registers:");
	EXPECT_HAS(res.err, "rdx 00000000000003f8");
}

TEST(unknown_port_and_mmio_counted)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "--mode", "long", g("unknown.bin"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x15));
	EXPECT_HAS(res.err, "1 access(es) to unknown I/O ports (first: 0xe0; by port: 0xe0 x1)");
	EXPECT_HAS(res.err, "2 MMIO access(es) outside RAM (first: 0xc0000000)");
}

/*
 * q35's memory map from inside a guest (boot/loader.h): with -m 2816M,
 * RAM below 2 GiB and from 4 GiB (two memory slots, the launcher's one
 * mapping), the hole between reading all-ones, the ECAM at 0xb0000000
 * answering with the host bridge's IDs.
 */
TEST(memory_map_around_pci_hole)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "-m", "2816M", "--mode", "long",
	    g("highmem.bin"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x30));
	EXPECT_HAS(res.err, "1 MMIO access(es) outside RAM (first: 0x80000000)");
}

TEST(strict_stops_at_unknown_port)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "--strict", "--mode", "long", g("unknown.bin"));
	EXPECT_STATUS(&res, ST_STRICT);
	EXPECT_HAS(res.err, "--strict: guest read port 0xe0");
}

TEST(trace_lists_io_exits)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "--trace", g("bootsect.bin"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x11));
	EXPECT_STREQ("Hello from a real-mode boot sector\n", res.out);
	EXPECT_HAS(res.err, "in real mode");
	EXPECT_HAS(res.err, "exit IO rip 0x");
	EXPECT_HAS(res.err, "port 0x3fd in size 1 data 0x60");
	EXPECT_HAS(res.err, "port 0x3f8 out size 1 data 0x48");
	EXPECT_HAS(res.err, "port 0xf4 out size 1 data 0x11");
	EXPECT_HAS(res.err, "0 access(es) to unknown I/O ports");
}

TEST(usage_and_host_errors)
{
	NEED_TOOL();
	RUN(&res, NULL, "run");
	EXPECT_STATUS(&res, ST_USAGE);
	RUN(&res, NULL, "run", "--memory", "lots", g("hello"));
	EXPECT_STATUS(&res, ST_USAGE);
	RUN(&res, NULL, "run", "/nonexistent/image");
	EXPECT_STATUS(&res, ST_HOST_ERROR);
	EXPECT_HAS(res.err, "/nonexistent/image");
	/* a boot sector loaded over the launcher's page tables */
	RUN(&res, NULL, "run", "--mode", "long", "--load-addr", "0x8000",
	    g("bootsect.bin"));
	EXPECT_STATUS(&res, ST_HOST_ERROR);
	EXPECT_HAS(res.err, "overlaps");
}

/* A new file in /tmp (path: a "/tmp/...XXXXXX" template) holding len bytes. */
static bool tmp_file(char *path, const void *data, size_t len)
{
	int fd = mkstemp(path);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, data, len) == (ssize_t)len;
	close(fd);
	return ok;
}

/* fw_cfg as QEMU documents it: the guest reads -c and -m back. */
TEST(fw_cfg_signature_ram_cpus)
{
	NEED_TOOL();
	RUN(&res, NULL, "run", "-c", "2", "-m", "48M", g("fwcfg.elf"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x16));
	EXPECT_STREQ("signature: QEMU\nid: 0x1\nram: 48 MiB\ncpus: 2\nmax cpus: 2\n"
		     "reselect: QEMU\nno such key: 0\n"
		     "files: 1\nfile 0x20 4 etc/boot-fail-wait\n", res.out);
	EXPECT_STREQ("", res.err);
}

/* --fw-cfg file= and string=: in the directory by name, read through it. */
TEST(fw_cfg_file_through_directory)
{
	char path[] = "/tmp/khyp-fwcfg-XXXXXX", arg[128];

	NEED_TOOL();
	ASSERT_TRUE(tmp_file(path, "from the host\n\x01", 15));
	snprintf(arg, sizeof(arg), "name=opt/org.khyp/test,file=%s", path);
	RUN(&res, NULL, "run", "--fw-cfg", arg, "--fw-cfg", "opt/a,string=first",
	    "--cmdline", "file=opt/org.khyp/test", g("fwcfg.elf"));
	unlink(path);
	EXPECT_STATUS(&res, DEBUG_EXIT(0x16));
	EXPECT_HAS(res.out, "ram: 64 MiB\ncpus: 1\nmax cpus: 1\n");
	EXPECT_HAS(res.out, "files: 3\nfile 0x20 4 etc/boot-fail-wait\n"
		   "file 0x21 5 opt/a\nfile 0x22 15 opt/org.khyp/test\n");
	EXPECT_HAS(res.out, "opt/org.khyp/test: from the host\\n\\x01\n"
		   "past the end: 0 0\n");
	EXPECT_STREQ("", res.err);
}

TEST(fw_cfg_bad_options)
{
	static const char name56[] =
		"opt/0123456789012345678901234567890123456789012345678901";
	char arg[128];

	NEED_TOOL();
	RUN(&res, NULL, "run", "--fw-cfg", "opt/x", g("fwcfg.elf"));
	EXPECT_STATUS(&res, ST_USAGE);
	EXPECT_HAS(res.err, "--fw-cfg 'opt/x': needs file=PATH or string=STR");
	RUN(&res, NULL, "run", "--fw-cfg", "name=opt/x,file=/a,string=b",
	    g("fwcfg.elf"));
	EXPECT_STATUS(&res, ST_USAGE);
	EXPECT_HAS(res.err, "give one of file= and string=");
	RUN(&res, NULL, "run", "--fw-cfg", "name=opt/x,path=/a", g("fwcfg.elf"));
	EXPECT_STATUS(&res, ST_USAGE);
	EXPECT_HAS(res.err, "unknown key 'path'");
	/* 55 characters are QEMU's most; 56 are refused */
	ASSERT_EQ(56, strlen(name56));
	snprintf(arg, sizeof(arg), "%s,string=x", name56);
	RUN(&res, NULL, "run", "--fw-cfg", arg, g("fwcfg.elf"));
	EXPECT_STATUS(&res, ST_USAGE);
	EXPECT_HAS(res.err, "the name has 56 characters, at most 55");
	snprintf(arg, sizeof(arg), "%.55s,string=x", name56);
	RUN(&res, NULL, "run", "--fw-cfg", arg, g("fwcfg.elf"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x16));
	EXPECT_HAS(res.out, "file 0x21 1 opt/012345678901234567890123456789012345678901234567890\n");
	RUN(&res, NULL, "run", "--fw-cfg", "opt/x,string=a", "--fw-cfg",
	    "name=opt/x,string=b", g("fwcfg.elf"));
	EXPECT_STATUS(&res, ST_USAGE);
	EXPECT_HAS(res.err, "--fw-cfg: the name 'opt/x' is given twice");
	RUN(&res, NULL, "run", "--fw-cfg", "etc/boot-fail-wait,string=x",
	    g("fwcfg.elf"));
	EXPECT_STATUS(&res, ST_HOST_ERROR);
	EXPECT_HAS(res.err, "there is a file 'etc/boot-fail-wait' already");
	RUN(&res, NULL, "run", "--fw-cfg", "opt/x,file=/nonexistent/f",
	    g("fwcfg.elf"));
	EXPECT_STATUS(&res, ST_HOST_ERROR);
	EXPECT_HAS(res.err, "--fw-cfg opt/x: /nonexistent/f: No such file or directory");
}

/*
 * --module FILE[,ARGS]: each module on its own pages above the kernel,
 * in order, its string "FILE ARGS"; an empty one too.
 */
TEST(multiboot_modules)
{
	char a[] = "/tmp/khyp-mod-XXXXXX", b[] = "/tmp/khyp-mod-XXXXXX";
	char c[] = "/tmp/khyp-mod-XXXXXX", arg_a[64], arg_c[64], want[512];
	static unsigned char big[5000];
	unsigned int i, sum = 0;

	NEED_TOOL();
	for (i = 0; i < sizeof(big); i++) {
		big[i] = 'a' + i % 26;
		sum += big[i];
	}
	ASSERT_TRUE(tmp_file(a, "abc\n", 4));
	ASSERT_TRUE(tmp_file(b, big, sizeof(big)));
	ASSERT_TRUE(tmp_file(c, "", 0));
	snprintf(arg_a, sizeof(arg_a), "%s,x=1 y=2", a);
	snprintf(arg_c, sizeof(arg_c), "%s,empty", c);
	RUN(&res, NULL, "run", "--module", arg_a, "--module", b, "--module",
	    arg_c, g("mods.elf"));
	unlink(a);
	unlink(b);
	unlink(c);
	EXPECT_STATUS(&res, DEBUG_EXIT(0x18));
	snprintf(want, sizeof(want),
		 "modules: 3\nmodule 1 '%s x=1 y=2' 4 bytes: abc\\x0a\n"
		 "module 2 '%s' 5000 bytes: abcdefghijklmnop... sum %u\n"
		 "module 3 '%s empty' 0 bytes: \n", a, b, sum, c);
	EXPECT_STREQ(want, res.out);
	EXPECT_STREQ("", res.err);
	/* none given: no MULTIBOOT_INFO_MODS */
	RUN(&res, NULL, "run", g("mods.elf"));
	EXPECT_STATUS(&res, DEBUG_EXIT(0x17));
	EXPECT_STREQ("no modules\n", res.out);
}

TEST(module_errors)
{
	char a[] = "/tmp/khyp-mod-XXXXXX", want[256];
	static char big[3 << 19];

	NEED_TOOL();
	RUN(&res, NULL, "run", "--module", "/nonexistent/mod,args", g("mods.elf"));
	EXPECT_STATUS(&res, ST_HOST_ERROR);
	EXPECT_HAS(res.err, "--module /nonexistent/mod: No such file or directory");
	/* 1.5 MiB above the kernel at 1 MiB: more than 2 MiB of RAM */
	ASSERT_TRUE(tmp_file(a, big, sizeof(big)));
	RUN(&res, NULL, "run", "-m", "2M", "--module", a, g("mods.elf"));
	EXPECT_STATUS(&res, ST_HOST_ERROR);
	snprintf(want, sizeof(want), "module 1 (%s) [0x", a);
	EXPECT_HAS(res.err, want);
	EXPECT_HAS(res.err, ") lies outside guest RAM (2 MiB)");
	/* not multiboot: refused, whether detected or said */
	RUN(&res, NULL, "run", "--module", a, g("bootsect.bin"));
	EXPECT_STATUS(&res, ST_USAGE);
	EXPECT_HAS(res.err, "--module needs a multiboot kernel;");
	EXPECT_HAS(res.err, "bootsect.bin is loaded as flat binary");
	RUN(&res, NULL, "run", "--module", a, g("long64.elf"));
	EXPECT_STATUS(&res, ST_USAGE);
	EXPECT_HAS(res.err, "long64.elf is loaded as ELF64");
	RUN(&res, NULL, "run", "--module", a, "--mode", "long", g("unknown.bin"));
	EXPECT_STATUS(&res, ST_USAGE);
	EXPECT_HAS(res.err, "--module applies to multiboot images only");
	RUN(&res, NULL, "run", "--module", ",args", g("mods.elf"));
	EXPECT_STATUS(&res, ST_USAGE);
	EXPECT_HAS(res.err, "no file name");
	unlink(a);
}

TEST_HARNESS_MAIN
