// SPDX-License-Identifier: GPL-2.0
/* The command line of `khyp run` (options.c). */
#include <string.h>

#include "test.h"
#include "../khyp.h"

#define ARGS(...)	((char *[]){ "run", __VA_ARGS__, NULL })
#define NARGS(...)	(int)(sizeof((char *[]){ "run", __VA_ARGS__ }) / sizeof(char *))
#define PARSE(o, ...)	opts__parse(o, NARGS(__VA_ARGS__), ARGS(__VA_ARGS__), \
				    t->err, sizeof(t->err))

static void opts_sizes(struct tctx *t)
{
	uint64_t v;

	CHECK(t, !parse_size("64M", &v) && v == 64ULL << 20);
	CHECK(t, !parse_size("1g", &v) && v == 1ULL << 30);
	CHECK(t, !parse_size("512K", &v) && v == 512ULL << 10);
	CHECK(t, !parse_size("4096", &v) && v == 4096);
	CHECK(t, !parse_size("0x100000", &v) && v == 0x100000);
	CHECK(t, parse_size("", &v) && parse_size("M", &v));
	CHECK(t, parse_size("12X", &v) && parse_size("-1M", &v));
	CHECK(t, parse_size("99999999999999G", &v));
	CHECK(t, parse_u64("0x7c00", &v) == 0 && v == 0x7c00);
	CHECK(t, parse_u64("7c00", &v) == -1 && parse_u64(" 1", &v) == -1);
}

static void opts_defaults(struct tctx *t)
{
	struct run_opts o;

	CHECK(t, PARSE(&o, "img") == 0);
	CHECK(t, !strcmp(o.image, "img"));
	CHECK(t, o.mem_size == 64ULL << 20 && o.cpus == 1);
	CHECK(t, !o.cmdline && !o.serial && o.timeout == 0);
	CHECK(t, !o.trace && !o.strict);
	CHECK(t, o.format == FORMAT_AUTO && o.mode == MODE_DEFAULT);
	CHECK(t, o.load_addr == 0x7c00 && o.entry == 0x7c00);
}

static void opts_all(struct tctx *t)
{
	struct run_opts o;

	CHECK(t, PARSE(&o, "-m", "128M", "--cpus", "4", "--cmdline", "a b",
		       "--serial", "out.txt", "--timeout", "2.5", "--trace",
		       "--strict", "--format", "multiboot", "img") == 0);
	CHECK(t, o.mem_size == 128ULL << 20 && o.cpus == 4);
	CHECK(t, !strcmp(o.cmdline, "a b") && !strcmp(o.serial, "out.txt"));
	CHECK(t, o.timeout == 2.5 && o.trace && o.strict);
	CHECK(t, o.format == IMAGE_MULTIBOOT);
	CHECK(t, PARSE(&o, "--serial", "stdio", "--memory=2G", "img") == 0);
	CHECK(t, !o.serial && o.mem_size == 2ULL << 30);
	CHECK(t, !o.balloon && o.balloon_target == 0);
	CHECK(t, PARSE(&o, "--balloon", "img") == 0);
	CHECK(t, o.balloon && o.balloon_target == 0);
	CHECK(t, PARSE(&o, "--balloon=16M", "img") == 0);
	CHECK(t, o.balloon && o.balloon_target == 16ULL << 20);
	CHECK(t, PARSE(&o, "--balloon", "--balloon-max=8M", "img") == 0);
	CHECK(t, o.balloon && o.balloon_max_set && o.balloon_max == 8ULL << 20);
	CHECK(t, PARSE(&o, "--balloon-max=0", "img") == 0);
	CHECK(t, !o.balloon && o.balloon_max_set && o.balloon_max == 0);
	/* options may follow the image */
	CHECK(t, PARSE(&o, "img", "--trace") == 0 && o.trace);
	CHECK(t, !o.initrd);
	CHECK(t, PARSE(&o, "--initrd", "rd.gz", "--format", "bzimage",
		       "bzImage") == 0);
	CHECK(t, !strcmp(o.initrd, "rd.gz") && o.format == IMAGE_BZIMAGE);
	CHECK(t, PARSE(&o, "--format", "vmlinux", "vmlinux") == 0);
	CHECK(t, o.format == IMAGE_VMLINUX && opts__acpi(&o, true) &&
		 !opts__acpi(&o, false));
}

static void opts_flat(struct tctx *t)
{
	struct run_opts o;

	CHECK(t, PARSE(&o, "--mode", "long", "img") == 0);
	CHECK(t, o.mode == MODE_LONG64 && o.load_addr == 0x100000 &&
		 o.entry == 0x100000);
	CHECK(t, PARSE(&o, "--load-addr", "0x8000", "--entry", "0x8010",
		       "--format", "flat", "img") == 0);
	CHECK(t, o.load_addr == 0x8000 && o.entry == 0x8010);
	CHECK(t, PARSE(&o, "--mode", "real", "--entry", "0x100000", "img") == -1);
	CHECK(t, t_err_has(t, "below 1 MiB"));
	CHECK(t, PARSE(&o, "--mode", "long", "--format", "elf", "img") == -1);
	CHECK(t, t_err_has(t, "flat images only"));
}

static void opts_errors(struct tctx *t)
{
	struct run_opts o;

	CHECK(t, PARSE(&o, "--help") == 1);
	CHECK(t, PARSE(&o, "-h", "img") == 1);
	CHECK(t, PARSE(&o, "--trace") == -1 && t_err_has(t, "no image"));
	CHECK(t, PARSE(&o, "a", "b") == -1 && t_err_has(t, "one image"));
	CHECK(t, PARSE(&o, "--bogus", "img") == -1 && t_err_has(t, "--bogus"));
	CHECK(t, PARSE(&o, "-x", "img") == -1 && t_err_has(t, "-x"));
	CHECK(t, PARSE(&o, "-m", "512K", "img") == -1 && t_err_has(t, "1 MiB"));
	CHECK(t, PARSE(&o, "-m", "2000000", "img") == -1 &&
		 t_err_has(t, "4 KiB"));
	CHECK(t, PARSE(&o, "-c", "0", "img") == -1);
	CHECK(t, PARSE(&o, "-c", "65", "img") == -1);
	CHECK(t, PARSE(&o, "--timeout", "0", "img") == -1);
	CHECK(t, PARSE(&o, "--timeout", "x", "img") == -1);
	CHECK(t, PARSE(&o, "--format", "pe", "img") == -1);
	CHECK(t, PARSE(&o, "--mode", "v86", "img") == -1);
	CHECK(t, PARSE(&o, "--memory") == -1);
	CHECK(t, PARSE(&o, "--balloon=128M", "img") == -1 &&
		 t_err_has(t, "at most the memory"));
	CHECK(t, PARSE(&o, "--balloon=5000", "img") == -1);
	CHECK(t, PARSE(&o, "--balloon-max=128M", "img") == -1 &&
		 t_err_has(t, "balloon-max"));
	CHECK(t, PARSE(&o, "--balloon-max=5000", "img") == -1);
	CHECK(t, PARSE(&o, "--balloon-max=x", "img") == -1 &&
		 t_err_has(t, "balloon-max"));
	CHECK(t, PARSE(&o, "img", "--balloon-max") == -1);
	CHECK(t, PARSE(&o, "--balloon=x", "img") == -1 &&
		 t_err_has(t, "balloon size"));
	CHECK(t, PARSE(&o, "--reboot", "again", "img") == -1 &&
		 t_err_has(t, "exit or restart"));
}

static void opts_reboot(struct tctx *t)
{
	struct run_opts o;

	CHECK(t, PARSE(&o, "img") == 0 && !o.reboot_restart);
	CHECK(t, PARSE(&o, "--reboot", "restart", "img") == 0 &&
		 o.reboot_restart);
	CHECK(t, PARSE(&o, "--reboot=exit", "img") == 0 && !o.reboot_restart);
	/* the PCI and virtio devices reset with the machine */
	CHECK(t, PARSE(&o, "--reboot", "restart", "--disk", "d.img", "img") == 0 &&
		 o.reboot_restart && o.nr_disks == 1);
	CHECK(t, PARSE(&o, "--reboot", "exit", "--disk", "d.img", "img") == 0);
}

static void opts_fw_cfg_modules(struct tctx *t)
{
	struct run_opts o;

	CHECK(t, PARSE(&o, "--fw-cfg", "opt/a,file=/p,x", "img") == -1 &&
		 t_err_has(t, "'x' is not key=value"));
	CHECK(t, PARSE(&o, "--fw-cfg", "opt/a,file=/p", "--fw-cfg",
		       "string=s,name=opt/b", "--module", "m1,a b,c",
		       "--module", "m2", "img") == 0);
	CHECK(t, o.nr_fw_cfg == 2 && o.nr_modules == 2);
	CHECK(t, !strcmp(o.fw_cfg[0].name, "opt/a") && o.fw_cfg[0].is_file &&
		 o.fw_cfg[0].value_len == 2 &&
		 !strncmp(o.fw_cfg[0].value, "/p", 2));
	CHECK(t, !strcmp(o.fw_cfg[1].name, "opt/b") && !o.fw_cfg[1].is_file &&
		 o.fw_cfg[1].value_len == 1 && o.fw_cfg[1].value[0] == 's');
	CHECK(t, !strcmp(o.modules[0], "m1,a b,c") &&
		 !strcmp(o.modules[1], "m2"));
	CHECK(t, PARSE(&o, "--fw-cfg", "=opt/a,string=s", "img") == -1 &&
		 t_err_has(t, "unknown key ''"));
	CHECK(t, PARSE(&o, "--fw-cfg", "name=opt/a,name=b,string=s", "img") == -1 &&
		 t_err_has(t, "two names"));
	CHECK(t, PARSE(&o, "--fw-cfg", "string=s", "img") == -1 &&
		 t_err_has(t, "no name"));
	CHECK(t, PARSE(&o, "--fw-cfg", "opt/a,file=", "img") == -1 &&
		 t_err_has(t, "empty file name"));
	CHECK(t, PARSE(&o, "--module", "m", "--format", "elf", "img") == -1 &&
		 t_err_has(t, "multiboot images only"));
	CHECK(t, PARSE(&o, "--module", "m", "--entry", "0x8000", "img") == -1 &&
		 t_err_has(t, "multiboot images only"));
}

static void opts_boot_report(struct tctx *t)
{
	char mark[BOOT_MARK_MAX + 2], arg[BOOT_MARK_MAX + 32];
	struct run_opts o;

	CHECK(t, PARSE(&o, "img") == 0 && !o.boot_report);
	CHECK(t, PARSE(&o, "--boot-report", "img") == 0 && o.boot_report &&
		 !o.boot_mark);
	CHECK(t, PARSE(&o, "--boot-report=/ # ", "img") == 0 &&
		 o.boot_report && !strcmp(o.boot_mark, "/ # "));
	/* MARK only attached: a separate word is the image */
	CHECK(t, PARSE(&o, "--boot-report", "KHYP", "img") == -1 &&
		 t_err_has(t, "one image"));
	CHECK(t, PARSE(&o, "--boot-report=", "img") == -1 &&
		 t_err_has(t, "MARK is empty"));
	memset(mark, 'x', BOOT_MARK_MAX);
	mark[BOOT_MARK_MAX] = 0;
	snprintf(arg, sizeof(arg), "--boot-report=%s", mark);
	CHECK(t, PARSE(&o, arg, "img") == 0 &&
		 strlen(o.boot_mark) == BOOT_MARK_MAX);
	strcat(arg, "y");
	CHECK(t, PARSE(&o, arg, "img") == -1 &&
		 t_err_has(t, "MARK has 65 bytes, at most 64"));
	CHECK(t, PARSE(&o, "--boot-report=a\nb", "img") == -1 &&
		 t_err_has(t, "control character (byte 2)"));
	CHECK(t, PARSE(&o, "--boot-report=\x7f", "img") == -1 &&
		 t_err_has(t, "control character"));
	CHECK(t, PARSE(&o, "--boot-report", "--boot-report=a", "img") == -1 &&
		 t_err_has(t, "give it once"));
}

const struct tcase opts_cases[] = {
	{ "opts_sizes", opts_sizes },
	{ "opts_defaults", opts_defaults },
	{ "opts_all", opts_all },
	{ "opts_flat", opts_flat },
	{ "opts_errors", opts_errors },
	{ "opts_reboot", opts_reboot },
	{ "opts_fw_cfg_modules", opts_fw_cfg_modules },
	{ "opts_boot_report", opts_boot_report },
	{ NULL, NULL },
};
