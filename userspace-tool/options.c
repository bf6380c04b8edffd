// SPDX-License-Identifier: GPL-2.0
/*
 * The command line of `khyp run`.  Pure: no I/O beyond the message it
 * returns, so loader_test checks it natively.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "khyp.h"

const char run_usage[] =
"usage: khyp run [options] IMAGE\n"
"\n"
"Runs IMAGE (a flat binary, an ELF32/ELF64 executable, a multiboot v1\n"
"kernel, a Linux bzImage or an x86-64 Linux vmlinux ELF, detected from\n"
"its contents) in a khyp guest.  The guest's serial port COM1 (0x3f8)\n"
"is the terminal.\n"
"\n"
"  -m, --memory SIZE     guest RAM, e.g. 64M, 1G (default 64M, min 1M)\n"
"  -c, --cpus N          vCPUs (default 1), one thread each; with N > 1 the\n"
"                        in-kernel irqchip: vCPU 0 starts at the entry,\n"
"                        the others wait for the guest's INIT and SIPI\n"
"      --cmdline STR     the command line of a multiboot or Linux kernel\n"
"      --initrd FILE     Linux: the initial ramdisk\n"
"      --acpi on|off     ACPI tables (RSDP at 0xe0000; PM block at 0x600,\n"
"                        S5 powers off with status 0) and the in-kernel\n"
"                        irqchip; default on for Linux.  off: an MP table,\n"
"                        as any image gets with -c N > 1\n"
"      --module FILE[,ARGS]  multiboot: load FILE as a module, its string\n"
"                        \"FILE ARGS\" (repeatable, in order; as QEMU's\n"
"                        -initrd for multiboot kernels)\n"
"      --fw-cfg [name=]NAME,file=PATH|string=STR  a file of the fw_cfg\n"
"                        device, as QEMU's -fw_cfg (repeatable; NAME at\n"
"                        most 55 characters, e.g. opt/org.example/x)\n"
"      --disk FILE[,ro]  a virtio-blk disk on the raw image FILE, as a\n"
"                        virtio-pci device (read-only with ,ro; repeatable,\n"
"                        up to 4)\n"
"      --net tap[=NAME][,mac=MAC]  a virtio-net card on the host's tap\n"
"                        device NAME (made if missing, which needs\n"
"                        CAP_NET_ADMIN; without NAME the kernel names a\n"
"                        new one); MAC default 02:6b:68:79:70:00\n"
"      --console stdio|FILE  a virtio-console (the guest's /dev/hvc0),\n"
"                        output only, to stdout or FILE\n"
"      --rng             a virtio-rng (/dev/hwrng) fed by getrandom()\n"
"      --serial stdio|FILE  where COM1 output goes (default stdio; input\n"
"                        comes from stdin only with stdio)\n"
"      --timeout SECONDS stop the guest after this long (status 8)\n"
"      --trace           one line per exit on stderr\n"
"      --boot-report[=MARK]  at the end, where the boot's time went, on\n"
"                        stderr, in seconds since khyp run started:\n"
"                          khyp: boot: vm ready after S s\n"
"                          khyp: boot: first guest entry after S s\n"
"                          khyp: boot: first serial output after S s\n"
"                          khyp: boot: 'MARK' after S s\n"
"                          khyp: boot: guest ended after S s (status N)\n"
"                        (S with 3 decimals); the MARK line with =MARK\n"
"                        only: the first time COM1's output holds MARK\n"
"                        (1 to 64 printable bytes).  Never reached:\n"
"                        vm not ready, no guest entry, no serial output,\n"
"                        'MARK' not seen.  With --reboot restart each is\n"
"                        the first in any boot\n"
"      --strict          stop on an access to an unknown port or MMIO\n"
"      --reboot exit|restart  what a guest reset does (0xcf9, the 8042's\n"
"                        0xfe, port 0x92, a triple fault): exit with status\n"
"                        12 (default; a triple fault keeps status 6), or\n"
"                        boot the image again in a new VM (CMOS kept;\n"
"                        at most one boot a second)\n"
"      --balloon[=SIZE]  show the guest's balloon at the end; with SIZE,\n"
"                        first ask it to give that much memory back\n"
"                        (a balloon target, see docs/balloon.md)\n"
"      --balloon-max=SIZE  the most the host's memory pressure may ask\n"
"                        the guest's balloon for (0: never; default: no\n"
"                        ceiling but the memory)\n"
"      --format flat|elf|multiboot|bzimage|vmlinux  do not detect the\n"
"                        format\n"
"      --load-addr ADDR  flat images: where to load (default 0x7c00 in\n"
"                        real mode, else 0x100000)\n"
"      --entry ADDR      flat images: entry point (default: load address)\n"
"      --mode real|prot32|long  flat images: CPU mode at the entry\n"
"                        (default real below 1 MiB, else prot32; long\n"
"                        identity-maps the first 4 GiB); any of these\n"
"                        three makes the image a flat one\n"
"  -h, --help            this text\n"
"\n"
"Devices: 16550 UART at 0x3f8 (IRQ 4); debug exit at 0xf4 (a guest\n"
"writing V makes khyp exit with status (V << 1) | 1); QEMU's fw_cfg at\n"
"0x510 (selector) and 0x511 (data); CMOS RTC at 0x70-0x71 (IRQ 8);\n"
"i8042 at 0x60/0x64 (no keyboard or mouse); reset at 0xcf9 and 0x92;\n"
"QEMU's pvpanic at 0x505; port 0x80 ignored; other\n"
"ports read all-ones and ignore writes, as does MMIO outside RAM.\n"
"Hypercall 1 (RAX = 1, RBX = byte) writes a byte to the serial output.\n"
"\n"
"Exit status: the guest's via port 0xf4 (odd); 0 the guest halted (HLT);\n"
"1 host error; 2 usage error; 4 internal error (registers dumped);\n"
"6 triple fault; 8 timeout; 10 --strict violation; 12 guest reset\n"
"(--reboot exit); 14 guest panic (pvpanic); 128+N signal N.\n"
"Ctrl-C stops the guest.\n";

enum {
	OPT_CMDLINE = 256, OPT_SERIAL, OPT_TIMEOUT, OPT_TRACE, OPT_STRICT,
	OPT_FORMAT, OPT_LOAD_ADDR, OPT_ENTRY, OPT_MODE, OPT_BALLOON,
	OPT_BALLOON_MAX, OPT_INITRD,
	OPT_MODULE, OPT_FW_CFG, OPT_DISK, OPT_ACPI, OPT_REBOOT,
	OPT_NET, OPT_CONSOLE, OPT_RNG, OPT_BOOT_REPORT,
};

static const struct option run_options[] = {
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "trace", no_argument, NULL, OPT_TRACE },
	{ "boot-report", optional_argument, NULL, OPT_BOOT_REPORT },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "load-addr", required_argument, NULL, OPT_LOAD_ADDR },
	{ "entry", required_argument, NULL, OPT_ENTRY },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "balloon", optional_argument, NULL, OPT_BALLOON },
	{ "balloon-max", required_argument, NULL, OPT_BALLOON_MAX },
	{ "module", required_argument, NULL, OPT_MODULE },
	{ "fw-cfg", required_argument, NULL, OPT_FW_CFG },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "acpi", required_argument, NULL, OPT_ACPI },
	{ "reboot", required_argument, NULL, OPT_REBOOT },
	{ "net", required_argument, NULL, OPT_NET },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned int shift = 0;
	char num[32];
	size_t len;
	uint64_t v;

	len = s ? strlen(s) : 0;
	if (!len || len >= sizeof(num))
		return -1;
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	}
	if (shift)
		num[len - 1] = 0;
	if (parse_u64(num, &v) || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

static int parse_format(const char *s, int *format)
{
	if (!strcmp(s, "flat"))
		*format = IMAGE_FLAT;
	else if (!strcmp(s, "elf"))
		*format = FORMAT_ELF;
	else if (!strcmp(s, "multiboot"))
		*format = IMAGE_MULTIBOOT;
	else if (!strcmp(s, "bzimage"))
		*format = IMAGE_BZIMAGE;
	else if (!strcmp(s, "vmlinux"))
		*format = IMAGE_VMLINUX;
	else
		return -1;
	return 0;
}

static int parse_mode(const char *s, int *mode)
{
	if (!strcmp(s, "real"))
		*mode = MODE_REAL16;
	else if (!strcmp(s, "prot32"))
		*mode = MODE_PROT32;
	else if (!strcmp(s, "long"))
		*mode = MODE_LONG64;
	else
		return -1;
	return 0;
}

static int parse_timeout(const char *s, double *t)
{
	char *end;

	errno = 0;
	*t = strtod(s, &end);
	if (errno || *end || end == s || !(*t > 0) || *t > 1e6)
		return -1;
	return 0;
}

/*
 * QEMU's -fw_cfg syntax: comma-separated key=value pairs, the first of
 * which may be the bare name; keys name, file and string (QEMU's gen_id
 * needs objects khyp does not have).  A value runs to the next comma.
 */
int fw_cfg_opt__parse(struct fw_cfg_opt *f, const char *arg,
		      char *err, size_t errlen)
{
	const char *p = arg, *key, *val, *name = NULL;
	size_t keylen, vallen, namelen = 0;
	bool first = true, have_value = false, bare;

	memset(f, 0, sizeof(*f));
	for (;; first = false) {
		key = p;
		vallen = strcspn(p, ",");
		keylen = strcspn(p, "=,");
		bare = false;
		if (keylen < vallen) {
			val = p + keylen + 1;
			vallen -= keylen + 1;
		} else if (first) {
			val = p;		/* [name=]NAME */
			bare = true;
		} else {
			return fail(err, errlen, "--fw-cfg '%s': '%.*s' is not key=value",
				    arg, (int)vallen, p);
		}
		if (bare || (keylen == 4 && !strncmp(key, "name", 4))) {
			if (name)
				return fail(err, errlen, "--fw-cfg '%s': two names", arg);
			name = val;
			namelen = vallen;
		} else if ((keylen == 4 && !strncmp(key, "file", 4)) ||
			   (keylen == 6 && !strncmp(key, "string", 6))) {
			if (have_value)
				return fail(err, errlen, "--fw-cfg '%s': give one of file= and string=",
					    arg);
			have_value = true;
			f->is_file = keylen == 4;
			f->value = val;
			f->value_len = vallen;
		} else {
			return fail(err, errlen, "--fw-cfg '%s': unknown key '%.*s' (name, file, string)",
				    arg, (int)keylen, key);
		}
		p = val + vallen;
		if (!*p)
			break;
		p++;
	}
	if (!name || !namelen)
		return fail(err, errlen, "--fw-cfg '%s': no name", arg);
	if (namelen > FW_CFG_NAME_MAX)
		return fail(err, errlen, "--fw-cfg '%s': the name has %zu characters, at most %d",
			    arg, namelen, FW_CFG_NAME_MAX);
	if (!have_value)
		return fail(err, errlen, "--fw-cfg '%s': needs file=PATH or string=STR",
			    arg);
	if (f->is_file && !f->value_len)
		return fail(err, errlen, "--fw-cfg '%s': empty file name", arg);
	memcpy(f->name, name, namelen);
	return 0;
}

static int opts__fw_cfg(struct run_opts *o, const char *arg,
			char *err, size_t errlen)
{
	struct fw_cfg_opt *f = &o->fw_cfg[o->nr_fw_cfg];
	unsigned int i;

	if (o->nr_fw_cfg == OPTS_MAX_FW_CFG)
		return fail(err, errlen, "at most %d --fw-cfg files", OPTS_MAX_FW_CFG);
	if (fw_cfg_opt__parse(f, arg, err, errlen))
		return -1;
	for (i = 0; i < o->nr_fw_cfg; i++)
		if (!strcmp(o->fw_cfg[i].name, f->name))
			return fail(err, errlen, "--fw-cfg: the name '%s' is given twice",
				    f->name);
	o->nr_fw_cfg++;
	return 0;
}

/* --disk FILE[,ro]: a raw image, read-only with ",ro" */
static int opts__disk(struct run_opts *o, const char *arg,
		      char *err, size_t errlen)
{
	struct disk_opt *d = &o->disks[o->nr_disks];
	size_t len = strlen(arg);

	if (o->nr_disks == OPTS_MAX_DISKS)
		return fail(err, errlen, "at most %d --disk images", OPTS_MAX_DISKS);
	d->ro = len >= 3 && !strcmp(arg + len - 3, ",ro");
	if (d->ro)
		len -= 3;
	if (!len)
		return fail(err, errlen, "--disk: no file name");
	if (len >= sizeof(d->path))
		return fail(err, errlen, "--disk: the file name is too long");
	memcpy(d->path, arg, len);
	d->path[len] = 0;
	o->nr_disks++;
	return 0;
}

/* "xx:xx:xx:xx:xx:xx" of len bytes, a unicast address not all zero. */
static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	unsigned int i, hi, lo;
	int d;

	if (len != 17)
		return -1;
	for (i = 0; i < 6; i++) {
		if (i && s[3 * i - 1] != ':')
			return -1;
		d = s[3 * i];
		hi = d >= '0' && d <= '9' ? d - '0' :
		     (d | 0x20) >= 'a' && (d | 0x20) <= 'f' ? (d | 0x20) - 'a' + 10 : 16;
		d = s[3 * i + 1];
		lo = d >= '0' && d <= '9' ? d - '0' :
		     (d | 0x20) >= 'a' && (d | 0x20) <= 'f' ? (d | 0x20) - 'a' + 10 : 16;
		if (hi > 15 || lo > 15)
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (mac[0] & 1)
		return -1;		/* a multicast address */
	return mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5] ? 0 : -1;
}

/* --net tap[=NAME][,mac=MAC] */
static int opts__net(struct run_opts *o, const char *arg,
		     char *err, size_t errlen)
{
	static const uint8_t def_mac[6] = NET_DEFAULT_MAC;
	const char *p = arg + 3, *mac = NULL;
	size_t len;

	if (o->net.on)
		return fail(err, errlen, "--net: give it once");
	if (strncmp(arg, "tap", 3) || (*p && *p != '=' && *p != ','))
		return fail(err, errlen, "--net '%s': only tap[=NAME][,mac=MAC] is known",
			    arg);
	memcpy(o->net.mac, def_mac, sizeof(def_mac));
	if (*p == '=') {
		p++;
		len = strcspn(p, ",");
		if (!len || len > OPTS_IFNAME_MAX)
			return fail(err, errlen, "--net '%s': a tap name has 1 to %d characters",
				    arg, OPTS_IFNAME_MAX);
		if (memchr(p, '/', len) || memchr(p, ' ', len) ||
		    memchr(p, ':', len))
			return fail(err, errlen, "--net '%s': a tap name has no '/', ':' or space",
				    arg);
		memcpy(o->net.ifname, p, len);
		o->net.ifname[len] = 0;
		p += len;
	}
	if (*p == ',') {
		p++;
		if (strncmp(p, "mac=", 4))
			return fail(err, errlen, "--net '%s': unknown '%s' (mac=MAC)",
				    arg, p);
		mac = p + 4;
		if (parse_mac(mac, strlen(mac), o->net.mac))
			return fail(err, errlen, "--net '%s': mac= takes a unicast address xx:xx:xx:xx:xx:xx",
				    arg);
	}
	o->net.on = true;
	return 0;
}

/*
 * --boot-report[=MARK]: MARK is printed inside one report line, so it is
 * 1 to BOOT_MARK_MAX printable bytes (no newline, no control character).
 */
static int opts__boot_report(struct run_opts *o, const char *arg,
			     char *err, size_t errlen)
{
	size_t i, len = arg ? strlen(arg) : 0;

	if (o->boot_report)
		return fail(err, errlen, "--boot-report: give it once");
	if (arg && !len)
		return fail(err, errlen, "--boot-report=MARK: MARK is empty");
	if (len > BOOT_MARK_MAX)
		return fail(err, errlen, "--boot-report=MARK: MARK has %zu bytes, at most %d",
			    len, BOOT_MARK_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)arg[i] < 0x20 || arg[i] == 0x7f)
			return fail(err, errlen, "--boot-report=MARK: MARK has a control character (byte %zu)",
				    i + 1);
	o->boot_report = true;
	o->boot_mark = arg;
	return 0;
}

/* One option; -1 with a message on a bad value. */
static int opts__one(struct run_opts *o, int c, const char *arg,
		     char *err, size_t errlen)
{
	uint64_t v;

	switch (c) {
	case 'm':
		if (parse_size(arg, &o->mem_size))
			return fail(err, errlen, "bad memory size '%s'", arg);
		return 0;
	case 'c':
		if (parse_u64(arg, &v) || v < 1 || v > KHYP_MAX_VCPUS)
			return fail(err, errlen, "--cpus takes 1 to %d, not '%s'",
				    KHYP_MAX_VCPUS, arg);
		o->cpus = v;
		return 0;
	case OPT_CMDLINE:
		o->cmdline = arg;
		return 0;
	case OPT_INITRD:
		o->initrd = arg;
		return 0;
	case OPT_SERIAL:
		o->serial = strcmp(arg, "stdio") ? arg : NULL;
		return 0;
	case OPT_TIMEOUT:
		if (parse_timeout(arg, &o->timeout))
			return fail(err, errlen, "bad timeout '%s' (seconds, > 0)", arg);
		return 0;
	case OPT_TRACE:
		o->trace = true;
		return 0;
	case OPT_BOOT_REPORT:
		return opts__boot_report(o, arg, err, errlen);
	case OPT_STRICT:
		o->strict = true;
		return 0;
	case OPT_FORMAT:
		if (parse_format(arg, &o->format))
			return fail(err, errlen, "unknown format '%s' (flat, elf, multiboot, bzimage, vmlinux)", arg);
		return 0;
	case OPT_LOAD_ADDR:
		o->load_addr_set = true;
		if (parse_u64(arg, &o->load_addr))
			return fail(err, errlen, "bad load address '%s'", arg);
		return 0;
	case OPT_ENTRY:
		o->entry_set = true;
		if (parse_u64(arg, &o->entry))
			return fail(err, errlen, "bad entry address '%s'", arg);
		return 0;
	case OPT_BALLOON:
		o->balloon = true;
		if (arg && parse_size(arg, &o->balloon_target))
			return fail(err, errlen, "bad balloon size '%s'", arg);
		return 0;
	case OPT_BALLOON_MAX:
		if (parse_size(arg, &o->balloon_max))
			return fail(err, errlen, "bad --balloon-max size '%s'", arg);
		o->balloon_max_set = true;
		return 0;
	case OPT_MODULE:
		if (o->nr_modules == OPTS_MAX_MODULES)
			return fail(err, errlen, "at most %d --module files", OPTS_MAX_MODULES);
		if (!*arg || *arg == ',')
			return fail(err, errlen, "--module '%s': no file name (FILE[,ARGS])",
				    arg);
		o->modules[o->nr_modules++] = arg;
		return 0;
	case OPT_FW_CFG:
		return opts__fw_cfg(o, arg, err, errlen);
	case OPT_DISK:
		return opts__disk(o, arg, err, errlen);
	case OPT_NET:
		return opts__net(o, arg, err, errlen);
	case OPT_CONSOLE:
		if (o->console)
			return fail(err, errlen, "--console: give it once");
		if (!*arg)
			return fail(err, errlen, "--console takes stdio or a file name");
		o->console = true;
		o->console_path = strcmp(arg, "stdio") ? arg : NULL;
		return 0;
	case OPT_RNG:
		o->rng = true;
		return 0;
	case OPT_ACPI:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return fail(err, errlen, "--acpi takes on or off, not '%s'", arg);
		o->acpi = strcmp(arg, "on") ? ACPI_OFF : ACPI_ON;
		return 0;
	case OPT_REBOOT:
		if (strcmp(arg, "exit") && strcmp(arg, "restart"))
			return fail(err, errlen, "--reboot takes exit or restart, not '%s'",
				    arg);
		o->reboot_restart = !strcmp(arg, "restart");
		return 0;
	case OPT_MODE:
		if (parse_mode(arg, &o->mode))
			return fail(err, errlen, "unknown mode '%s' (real, prot32, long)", arg);
		return 0;
	}
	return fail(err, errlen, "unknown option (see khyp run --help)");
}

/* What the options together must satisfy. */
static int opts__check(struct run_opts *o, char *err, size_t errlen)
{
	/* the RAM above the PCI hole ends below KHYP_MAX_GPA (loader.h) */
	if (o->mem_size < OPTS_MIN_MEM ||
	    o->mem_size > KHYP_MAX_GPA - (MEM_HIGH_START - MEM_LOW_SPLIT))
		return fail(err, errlen, "memory must be 1 MiB to 1 TiB less the 2 GiB PCI hole");
	if (o->mem_size & 0xfff)
		return fail(err, errlen, "memory must be a multiple of 4 KiB");
	if (o->balloon_target > o->mem_size || o->balloon_target & 0xfff)
		return fail(err, errlen, "the balloon must be a multiple of 4 KiB, at most the memory");
	if (o->balloon_max_set &&
	    (o->balloon_max > o->mem_size || o->balloon_max & 0xfff))
		return fail(err, errlen, "--balloon-max must be a multiple of 4 KiB, at most the memory");
	if ((o->mode != MODE_DEFAULT || o->load_addr_set || o->entry_set) &&
	    o->format != IMAGE_FLAT && o->format != FORMAT_AUTO)
		return fail(err, errlen, "--mode, --load-addr and --entry apply to flat images only");
	if (o->nr_modules && ((o->format != IMAGE_MULTIBOOT &&
				o->format != FORMAT_AUTO) ||
			       o->mode != MODE_DEFAULT || o->load_addr_set ||
			       o->entry_set))
		return fail(err, errlen, "--module applies to multiboot images only");
	if (!o->load_addr_set)
		o->load_addr = o->mode == MODE_REAL16 || o->mode == MODE_DEFAULT ?
			       FLAT_REAL_LOAD_ADDR : FLAT_HIGH_LOAD_ADDR;
	if (!o->entry_set)
		o->entry = o->load_addr;
	if (o->mode == MODE_REAL16 && o->entry >= HIGH_MEM_START)
		return fail(err, errlen, "a real-mode entry must lie below 1 MiB");
	return 0;
}

bool opts__acpi(const struct run_opts *o, bool linux_image)
{
	return o->acpi == ACPI_ON || (o->acpi == ACPI_AUTO && linux_image);
}

int opts__parse(struct run_opts *o, int argc, char **argv,
		char *err, size_t errlen)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->mem_size = OPTS_DEFAULT_MEM;
	o->cpus = 1;
	o->format = FORMAT_AUTO;
	o->mode = MODE_DEFAULT;
	o->acpi = ACPI_AUTO;
	err[0] = 0;
	optind = 0;		/* glibc: start afresh, also for the tests */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "m:c:h", run_options, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == '?' || c == ':') {
			if (optopt)
				return fail(err, errlen, "bad option -%c (see khyp run --help)", optopt);
			return fail(err, errlen, "bad option '%s' (see khyp run --help)",
				    argv[optind - 1]);
		}
		if (opts__one(o, c, optarg, err, errlen))
			return -1;
	}
	if (optind != argc - 1)
		return fail(err, errlen, optind >= argc ? "no image given" :
			    "one image only");
	o->image = argv[optind];
	return opts__check(o, err, errlen);
}
