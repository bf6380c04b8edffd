// SPDX-License-Identifier: GPL-2.0
/*
 * What a guest sees outside its RAM, through the launcher's exit handlers
 * (ioport.c, mmio.c, hypercall.c) and the devices registered on its buses
 * (devices/), with no VM behind them: a run page in memory stands for the
 * one KHYP_RUN filled, pipes for the serial output and input.  These
 * cases pin down the behaviour khyp(1) promises for each port, MMIO
 * address and hypercall, messages included.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "../khyp.h"

struct exits {
	struct run_opts opts;
	struct machine m;
	struct khyp_run run;
	struct vcpu vcpu;
	int out[2];		/* the serial output: [0] is read here */
	int in[2];		/* the serial input: [1] is written here */
	char log[512];		/* what the launcher said on stderr */
};

static struct exits ex;

static void exits_close(void)
{
	int *fds[] = { ex.out, ex.in };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		if (fds[i][0] > 0)
			close(fds[i][0]);
		if (fds[i][1] > 0)
			close(fds[i][1]);
	}
}

/* A machine as cmd_run builds it, on pipes; 0 or -1. */
static int exits_setup(struct tctx *t, bool strict, bool trace)
{
	exits_close();
	devices__exit(&ex.m);
	memset(&ex, 0, sizeof(ex));
	ex.opts.strict = strict;
	ex.opts.trace = trace;
	ex.m.opts = &ex.opts;
	ex.vcpu.run = &ex.run;
	ex.vcpu.fd = -1;
	if (pipe(ex.out) || pipe(ex.in)) {
		snprintf(t->err, sizeof(t->err), "pipe: %s", strerror(errno));
		return -1;
	}
	fcntl(ex.out[0], F_SETFL, O_NONBLOCK);
	ex.m.out_fd = ex.out[1];
	ex.m.in_fd = ex.in[0];
	return devices__init(&ex.m, t->err, sizeof(t->err));
}

/* The serial output so far, as a string. */
static const char *exits_output(void)
{
	static char buf[256];
	ssize_t n = read(ex.out[0], buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/*
 * Call fn with stderr going to ex.log: the one place the launcher's
 * messages for these exits can be checked without a machine.
 */
static int exits_call(int (*fn)(struct machine *, struct vcpu *))
{
	FILE *f = tmpfile();
	int saved, ret;
	size_t n = 0;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	if (f)
		dup2(fileno(f), STDERR_FILENO);
	ret = fn(&ex.m, &ex.vcpu);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (f) {
		rewind(f);
		n = fread(ex.log, 1, sizeof(ex.log) - 1, f);
		fclose(f);
	}
	ex.log[n] = 0;
	return ret;
}

static int port(bool out, uint16_t nr, unsigned int size, uint64_t data)
{
	memset(&ex.run, 0, sizeof(ex.run));
	ex.run.exit_reason = KHYP_EXIT_IO;
	ex.run.io.port = nr;
	ex.run.io.size = size;
	ex.run.io.direction = out ? KHYP_IO_OUT : KHYP_IO_IN;
	ex.run.io.data = data;
	return exits_call(ioport__handle);
}

static int mmio(bool write, uint64_t gpa, unsigned int size, uint64_t data)
{
	memset(&ex.run, 0, sizeof(ex.run));
	ex.run.exit_reason = KHYP_EXIT_MMIO;
	ex.run.mmio.phys_addr = gpa;
	ex.run.mmio.size = size;
	ex.run.mmio.is_write = write;
	ex.run.mmio.data = data;
	return exits_call(mmio__handle);
}

static int hypercall(uint64_t nr, uint64_t arg0)
{
	memset(&ex.run, 0, sizeof(ex.run));
	ex.run.exit_reason = KHYP_EXIT_HYPERCALL;
	ex.run.hypercall.nr = nr;
	ex.run.hypercall.args[0] = arg0;
	ex.run.hypercall.ret = 0x5555;
	return exits_call(hypercall__handle);
}

#define IN(nr, size)		port(false, nr, size, 0x1234567890ULL)
#define OUT(nr, size, v)	port(true, nr, size, v)

static void exits_unclaimed_port(struct tctx *t)
{
	CHECK(t, !exits_setup(t, false, false));
	CHECK(t, IN(0xe0, 1) == RUN_CONTINUE && ex.run.io.data == 0xff);
	CHECK(t, ex.m.unknown_io == 1 && ex.m.first_unknown_port == 0xe0);
	CHECK(t, IN(0x61, 2) == RUN_CONTINUE && ex.run.io.data == 0xffff);
	CHECK(t, IN(0xcf0, 4) == RUN_CONTINUE && ex.run.io.data == 0xffffffff);
	/* writes are ignored: the data only trimmed to the access's size */
	CHECK(t, OUT(0xffff, 1, 0x1234) == RUN_CONTINUE &&
	      ex.run.io.data == 0x34);
	CHECK(t, OUT(0x0, 2, 0x123456) == RUN_CONTINUE &&
	      ex.run.io.data == 0x3456);
	CHECK(t, ex.m.unknown_io == 5 && ex.m.first_unknown_port == 0xe0);
	CHECK(t, !ex.log[0] && !ex.m.unknown_mmio);
	CHECK(t, !exits_output()[0]);
	/* each distinct port counted, in the order first seen */
	CHECK(t, IN(0xe0, 4) == RUN_CONTINUE);
	CHECK(t, ex.m.nr_unknown_ports == 5);
	CHECK(t, ex.m.unknown_ports[0].port == 0xe0 &&
	      ex.m.unknown_ports[0].count == 2);
	CHECK(t, ex.m.unknown_ports[3].port == 0xffff &&
	      ex.m.unknown_ports[3].count == 1);
}

/* Past UNKNOWN_PORTS_MAX distinct ports only the total grows. */
static void exits_unclaimed_ports_bounded(struct tctx *t)
{
	unsigned int i;

	CHECK(t, !exits_setup(t, false, false));
	for (i = 0; i < 2 * UNKNOWN_PORTS_MAX; i++)
		CHECK(t, IN(0x100 + i, 1) == RUN_CONTINUE);
	CHECK(t, IN(0x100, 1) == RUN_CONTINUE);
	CHECK(t, ex.m.unknown_io == 2 * UNKNOWN_PORTS_MAX + 1);
	CHECK(t, ex.m.nr_unknown_ports == UNKNOWN_PORTS_MAX);
	CHECK(t, ex.m.unknown_ports[0].count == 2);
	CHECK(t, ex.m.unknown_ports[UNKNOWN_PORTS_MAX - 1].port ==
	      0x100 + UNKNOWN_PORTS_MAX - 1);
}

static void exits_strict_port(struct tctx *t)
{
	CHECK(t, !exits_setup(t, true, false));
	CHECK(t, IN(0xe0, 1) == STATUS_STRICT && ex.run.io.data == 0xff);
	CHECK(t, !strcmp(ex.log, "khyp: --strict: guest read port 0xe0 (size 1)\n"));
	CHECK(t, OUT(0x3f7, 4, 1) == STATUS_STRICT);
	CHECK(t, !strcmp(ex.log, "khyp: --strict: guest wrote port 0x3f7 (size 4)\n"));
	CHECK(t, ex.m.unknown_io == 2 && ex.m.first_unknown_port == 0xe0);
	/* the known ports do not stop a strict guest */
	CHECK(t, OUT(0x80, 1, 0x42) == RUN_CONTINUE);
	CHECK(t, OUT(0x3f8, 1, 'k') == RUN_CONTINUE);
	CHECK(t, IN(0xf4, 1) == RUN_CONTINUE && ex.m.unknown_io == 2);
}

static void exits_debug_exit(struct tctx *t)
{
	CHECK(t, !exits_setup(t, false, false));
	CHECK(t, OUT(0xf4, 1, 0x10) == 33);
	CHECK(t, OUT(0xf4, 4, 0x7f) == 0xff);
	CHECK(t, OUT(0xf4, 2, 0x80) == 1);		/* modulo 256 */
	CHECK(t, OUT(0xf4, 1, 0x100) == 1);		/* trimmed to a byte */
	CHECK(t, OUT(0xf4, 4, 0) == 1);
	/* reading it does nothing: all-ones, not an unknown port */
	CHECK(t, IN(0xf4, 1) == RUN_CONTINUE && ex.run.io.data == 0xff);
	CHECK(t, IN(0xf4, 4) == RUN_CONTINUE && ex.run.io.data == 0xffffffff);
	CHECK(t, !ex.m.unknown_io && !ex.log[0]);
	/* the neighbours are not it */
	CHECK(t, OUT(0xf3, 1, 0x10) == RUN_CONTINUE);
	CHECK(t, OUT(0xf5, 1, 0x10) == RUN_CONTINUE);
	CHECK(t, ex.m.unknown_io == 2 && ex.m.first_unknown_port == 0xf3);
	/* a 2-byte write at 0xf3 starts at an unknown port */
	CHECK(t, OUT(0xf3, 2, 0x1000) == RUN_CONTINUE && ex.m.unknown_io == 3);
}

static void exits_debug_exit_trace(struct tctx *t)
{
	CHECK(t, !exits_setup(t, false, true));
	CHECK(t, OUT(0xf4, 1, 0x10) == 33);
	CHECK(t, !strcmp(ex.log, "khyp: debug exit: guest wrote 0x10, status 33\n"));
}

static void exits_post_port(struct tctx *t)
{
	CHECK(t, !exits_setup(t, true, false));
	CHECK(t, OUT(0x80, 1, 0x55) == RUN_CONTINUE);
	CHECK(t, OUT(0x80, 4, 0x55) == RUN_CONTINUE);
	CHECK(t, IN(0x80, 1) == RUN_CONTINUE && ex.run.io.data == 0xff);
	CHECK(t, IN(0x80, 2) == RUN_CONTINUE && ex.run.io.data == 0xffff);
	CHECK(t, !ex.m.unknown_io && !ex.log[0]);
	CHECK(t, OUT(0x81, 1, 0) == STATUS_STRICT);
	CHECK(t, IN(0x7f, 1) == STATUS_STRICT);
}

static void exits_uart_ports(struct tctx *t)
{
	CHECK(t, !exits_setup(t, true, false));
	/* 0x3f8-0x3ff, byte accesses: the UART */
	CHECK(t, OUT(0x3f8, 1, 'h') == RUN_CONTINUE);
	CHECK(t, OUT(0x3f8, 1, 0x100 | 'i') == RUN_CONTINUE);
	CHECK(t, !strcmp(exits_output(), "hi"));
	CHECK(t, IN(0x3fd, 1) == RUN_CONTINUE && ex.run.io.data == 0x60);
	CHECK(t, OUT(0x3ff, 1, 0xa5) == RUN_CONTINUE);
	CHECK(t, IN(0x3ff, 1) == RUN_CONTINUE && ex.run.io.data == 0xa5);
	CHECK(t, !ex.m.unknown_io);
	/* around it, and wider accesses, are unknown ports */
	CHECK(t, IN(0x3f7, 1) == STATUS_STRICT);
	CHECK(t, IN(0x400, 1) == STATUS_STRICT);
	CHECK(t, OUT(0x3f8, 2, 'x') == STATUS_STRICT);
	CHECK(t, !strcmp(ex.log, "khyp: --strict: guest wrote port 0x3f8 (size 2)\n"));
	CHECK(t, IN(0x3fc, 4) == STATUS_STRICT && ex.run.io.data == 0xffffffff);
	CHECK(t, ex.m.unknown_io == 4 && ex.m.first_unknown_port == 0x3f7);
	CHECK(t, !exits_output()[0]);
}

static void exits_uart_input(struct tctx *t)
{
	CHECK(t, !exits_setup(t, false, false));
	CHECK(t, IN(0x3fd, 1) == RUN_CONTINUE && ex.run.io.data == 0x60);
	CHECK(t, write(ex.in[1], "ok", 2) == 2);
	/* LSR and RBR fetch what the input holds */
	CHECK(t, IN(0x3fd, 1) == RUN_CONTINUE && ex.run.io.data == 0x61);
	CHECK(t, IN(0x3f8, 1) == RUN_CONTINUE && ex.run.io.data == 'o');
	CHECK(t, IN(0x3f8, 1) == RUN_CONTINUE && ex.run.io.data == 'k');
	CHECK(t, IN(0x3fd, 1) == RUN_CONTINUE && ex.run.io.data == 0x60);
	/* the end of the input: no more reads from it */
	close(ex.in[1]);
	ex.in[1] = -1;
	CHECK(t, IN(0x3f8, 1) == RUN_CONTINUE && ex.run.io.data == 0);
	CHECK(t, ex.m.in_fd == -1);
}

static void exits_unclaimed_mmio(struct tctx *t)
{
	CHECK(t, !exits_setup(t, false, false));
	CHECK(t, mmio(false, 0xfee00000, 4, 0) == RUN_CONTINUE &&
	      ex.run.mmio.data == 0xffffffff);
	CHECK(t, ex.m.unknown_mmio == 1 && ex.m.first_unknown_gpa == 0xfee00000);
	CHECK(t, mmio(false, 0x10000000, 8, 0) == RUN_CONTINUE &&
	      ex.run.mmio.data == ~0ULL);
	CHECK(t, mmio(false, 0x10000000, 1, 0) == RUN_CONTINUE &&
	      ex.run.mmio.data == 0xff);
	/* a write is ignored, its data left as the guest wrote it */
	CHECK(t, mmio(true, 0xfec00000, 2, 0x123456) == RUN_CONTINUE &&
	      ex.run.mmio.data == 0x123456);
	CHECK(t, ex.m.unknown_mmio == 4 && ex.m.first_unknown_gpa == 0xfee00000);
	CHECK(t, !ex.m.unknown_io && !ex.log[0]);
}

static void exits_strict_mmio(struct tctx *t)
{
	CHECK(t, !exits_setup(t, true, false));
	CHECK(t, mmio(true, 0xfee000b0, 4, 0) == STATUS_STRICT);
	CHECK(t, !strcmp(ex.log, "khyp: --strict: guest wrote MMIO at 0xfee000b0 (size 4)\n"));
	CHECK(t, mmio(false, 0x4000000, 8, 0) == STATUS_STRICT &&
	      ex.run.mmio.data == ~0ULL);
	CHECK(t, !strcmp(ex.log, "khyp: --strict: guest read MMIO at 0x4000000 (size 8)\n"));
	CHECK(t, ex.m.unknown_mmio == 2);
}

static void exits_hypercalls(struct tctx *t)
{
	CHECK(t, !exits_setup(t, true, false));
	CHECK(t, hypercall(HC_PUTCHAR, 0x1241) == RUN_CONTINUE &&
	      ex.run.hypercall.ret == 0);
	CHECK(t, hypercall(HC_PUTCHAR, '\n') == RUN_CONTINUE);
	CHECK(t, !strcmp(exits_output(), "A\n"));
	CHECK(t, hypercall(0, 'x') == RUN_CONTINUE &&
	      ex.run.hypercall.ret == (uint64_t)-1);
	CHECK(t, hypercall(2, 'x') == RUN_CONTINUE &&
	      ex.run.hypercall.ret == (uint64_t)-1);
	CHECK(t, !exits_output()[0] && !ex.log[0]);
	CHECK(t, !ex.m.unknown_io && !ex.m.unknown_mmio);
}

/*
 * fw_cfg on the port bus: a 16-bit OUT to 0x510 selects, 8-bit INs from
 * 0x511 read; other widths at these ports reach no device.
 */
static void exits_fw_cfg_ports(struct tctx *t)
{
	CHECK(t, !exits_setup(t, false, false));
	CHECK(t, OUT(0x510, 2, 0x0000) == RUN_CONTINUE);
	CHECK(t, IN(0x511, 1) == RUN_CONTINUE && ex.run.io.data == 'Q');
	CHECK(t, IN(0x511, 1) == RUN_CONTINUE && ex.run.io.data == 'E');
	CHECK(t, ex.m.unknown_io == 0);
	CHECK(t, OUT(0x510, 1, 0x01) == RUN_CONTINUE && ex.m.unknown_io == 1);
	CHECK(t, IN(0x511, 2) == RUN_CONTINUE && ex.run.io.data == 0xffff);
	CHECK(t, IN(0x510, 2) == RUN_CONTINUE && ex.run.io.data == 0xffff);
	CHECK(t, ex.m.unknown_io == 2);
	/* the 1-byte OUT selected nothing: still the signature */
	CHECK(t, IN(0x511, 1) == RUN_CONTINUE && ex.run.io.data == 'M');
	CHECK(t, OUT(0x511, 1, 0x42) == RUN_CONTINUE);
	CHECK(t, IN(0x511, 1) == RUN_CONTINUE && ex.run.io.data == 'U');
	CHECK(t, IN(0x511, 1) == RUN_CONTINUE && ex.run.io.data == 0);
}

/* The legacy devices' ports, and the statuses they end the run with. */
static void exits_legacy_ports(struct tctx *t)
{
	CHECK(t, !exits_setup(t, true, false));
	/* the RTC: D says the battery is good; NVRAM */
	CHECK(t, OUT(0x70, 1, 0x8d) == RUN_CONTINUE);
	CHECK(t, IN(0x71, 1) == RUN_CONTINUE && ex.run.io.data == 0x80);
	CHECK(t, OUT(0x70, 1, 0x40) == RUN_CONTINUE &&
	      OUT(0x71, 1, 0x99) == RUN_CONTINUE);
	CHECK(t, IN(0x71, 1) == RUN_CONTINUE && ex.run.io.data == 0x99);
	/* the 8042's self-test; pvpanic's events; the reset registers */
	CHECK(t, OUT(0x64, 1, 0xaa) == RUN_CONTINUE);
	CHECK(t, IN(0x64, 1) == RUN_CONTINUE && (ex.run.io.data & 1));
	CHECK(t, IN(0x60, 1) == RUN_CONTINUE && ex.run.io.data == 0x55);
	CHECK(t, IN(0x505, 1) == RUN_CONTINUE && ex.run.io.data == 0x03);
	CHECK(t, OUT(0xcf9, 1, 0x02) == RUN_CONTINUE);
	CHECK(t, IN(0xcf9, 1) == RUN_CONTINUE && ex.run.io.data == 0x02);
	CHECK(t, IN(0x92, 1) == RUN_CONTINUE && ex.run.io.data == 0x02);
	CHECK(t, !ex.m.unknown_io && !ex.log[0]);
	/* the firmware's memory bytes follow -m: none in this machine */
	CHECK(t, OUT(0x70, 1, 0x34) == RUN_CONTINUE);
	CHECK(t, IN(0x71, 1) == RUN_CONTINUE && ex.run.io.data == 0);
}

static void exits_reset_and_panic(struct tctx *t)
{
	static const struct { uint16_t port; uint8_t v; const char *log; } r[] = {
		{ 0xcf9, 0x06, "khyp: guest reset (0xcf9)\n" },
		{ 0x64, 0xfe, "khyp: guest reset (8042 0xfe)\n" },
		{ 0x92, 0x01, "khyp: guest reset (port 0x92)\n" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(r); i++) {
		CHECK(t, !exits_setup(t, false, false));
		CHECK(t, OUT(r[i].port, 1, r[i].v) == STATUS_RESET);
		CHECK(t, !strcmp(ex.log, r[i].log));
	}
	CHECK(t, OUT(0x505, 1, 0x02) == RUN_CONTINUE);
	CHECK(t, !strcmp(ex.log, "khyp: guest panicked; its crash kernel takes over\n"));
	CHECK(t, OUT(0x505, 1, 0x00) == RUN_CONTINUE && !ex.log[0]);
	CHECK(t, OUT(0x505, 1, 0x01) == STATUS_PANIC);
	CHECK(t, !strcmp(ex.log, "khyp: guest panicked\n"));
	/* --reboot restart: the same status, quietly */
	CHECK(t, !exits_setup(t, false, false));
	ex.opts.reboot_restart = true;
	CHECK(t, OUT(0xcf9, 1, 0x0e) == STATUS_RESET && !ex.log[0]);
}

/*
 * --boot-report sees what the guest writes to COM1's THR, byte by byte;
 * not the putchar hypercall, the loopback, or the divisor latch.
 */
static void exits_uart_boot_report(struct tctx *t)
{
	struct boot_report *r = &ex.m.boot_report;
	struct timespec start;

	CHECK(t, !exits_setup(t, false, false));
	clock_gettime(CLOCK_MONOTONIC, &start);
	boot_report__init(r, &start, true, "ok");
	CHECK(t, hypercall(HC_PUTCHAR, 'o') == RUN_CONTINUE);
	CHECK(t, OUT(0x3fc, 1, UART_MCR_LOOP) == RUN_CONTINUE);
	CHECK(t, OUT(0x3f8, 1, 'o') == RUN_CONTINUE);
	CHECK(t, OUT(0x3fc, 1, 0) == RUN_CONTINUE);
	CHECK(t, OUT(0x3fb, 1, UART_LCR_DLAB) == RUN_CONTINUE);
	CHECK(t, OUT(0x3f8, 1, 'o') == RUN_CONTINUE);
	CHECK(t, OUT(0x3fb, 1, 0) == RUN_CONTINUE);
	CHECK(t, r->ns[BOOT_FIRST_OUTPUT] < 0);
	CHECK(t, OUT(0x3f8, 1, 'o') == RUN_CONTINUE);
	CHECK(t, r->ns[BOOT_FIRST_OUTPUT] >= 0 && r->ns[BOOT_MARK] < 0);
	CHECK(t, OUT(0x3f8, 1, 'k') == RUN_CONTINUE);
	CHECK(t, r->ns[BOOT_MARK] >= r->ns[BOOT_FIRST_OUTPUT]);
	CHECK(t, !strcmp(exits_output(), "ook"));
}

const struct tcase exits_cases[] = {
	{ "exits_legacy_ports", exits_legacy_ports },
	{ "exits_reset_and_panic", exits_reset_and_panic },
	{ "exits_unclaimed_port", exits_unclaimed_port },
	{ "exits_unclaimed_ports_bounded", exits_unclaimed_ports_bounded },
	{ "exits_strict_port", exits_strict_port },
	{ "exits_debug_exit", exits_debug_exit },
	{ "exits_debug_exit_trace", exits_debug_exit_trace },
	{ "exits_post_port", exits_post_port },
	{ "exits_uart_ports", exits_uart_ports },
	{ "exits_uart_input", exits_uart_input },
	{ "exits_uart_boot_report", exits_uart_boot_report },
	{ "exits_unclaimed_mmio", exits_unclaimed_mmio },
	{ "exits_strict_mmio", exits_strict_mmio },
	{ "exits_hypercalls", exits_hypercalls },
	{ "exits_fw_cfg_ports", exits_fw_cfg_ports },
	{ NULL, NULL },
};
