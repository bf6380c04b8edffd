// SPDX-License-Identifier: GPL-2.0
/*
 * khyp: the launcher of khyp guests.
 *
 *   khyp run [options] IMAGE    boot IMAGE in a new VM (run.c)
 *   khyp info                   API version, backend and capabilities
 *   khyp stats                  exit and balloon counts of the VMs (debugfs)
 *   khyp balloon PID [SIZE]     the balloon of PID's VM: set its target
 *                               (balloon_cmd.c)
 *
 * `khyp run` reads the image, registers the devices (devices/), creates
 * the VM (vm.c), lets a loader put the image in guest memory
 * (boot/loader.h), sets the boot vCPU's registers for the image's mode
 * (boot/state.c) and runs it until it stops (run.c).  A guest reset
 * ends the run with STATUS_RESET; with --reboot restart the VM is torn
 * down and built again from the same image (cmd_run's loop), as a PC's
 * reset starts its firmware again, while the devices stay and are reset
 * (devices__restart: the CMOS RTC keeps its time and NVRAM; the virtio
 * devices' I/O threads, stopped before each VM goes, start again).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "khyp.h"
#include "devices/virtio/virtio.h"

static const char usage[] =
"usage: khyp run [options] IMAGE   run a guest (khyp run --help)\n"
"       khyp info                  API version, backend, capabilities\n"
"       khyp stats                 exit and balloon counts of running VMs\n"
"                                  (debugfs)\n"
"       khyp balloon PID [SIZE]    the balloon of process PID's VM; with\n"
"                                  SIZE, set its target\n"
"       khyp help                  this text\n"
"\n"
"khyp run exit status: the guest's via port 0xf4, (V << 1) | 1; 0 halted;\n"
"1 host error; 2 usage error; 4 internal error; 6 triple fault;\n"
"8 timeout; 10 --strict violation; 12 guest reset; 14 guest panic;\n"
"128+N signal N.  See khyp(1).\n";

/* The modules of --module FILE[,ARGS]: their files and strings. */
struct modules {
	struct mb_module mods[OPTS_MAX_MODULES];
	void *data[OPTS_MAX_MODULES];
	char *strings[OPTS_MAX_MODULES];
	unsigned int nr;
};

static void modules__free(struct modules *ms)
{
	unsigned int i;

	for (i = 0; i < ms->nr; i++) {
		free(ms->data[i]);
		free(ms->strings[i]);
	}
	ms->nr = 0;
}

/* A bzImage or a vmlinux, with the initrd read from its file. */
static int load_linux(struct machine *m, int format, const void *img,
		      size_t len, struct boot_info *bi, char *err,
		      size_t errlen)
{
	const struct run_opts *o = m->opts;
	struct linux_args la = { .cmdline = o->cmdline };
	void *initrd = NULL;
	int ret;

	if (o->initrd) {
		initrd = file__read(o->initrd, o->mem_size, false,
				    &la.initrd_len, err, errlen);
		if (!initrd)
			return -EINVAL;
		la.initrd = initrd;
	}
	if (format == IMAGE_VMLINUX)
		ret = load_vmlinux(&m->vm.mem, img, len, &la, bi, err, errlen);
	else
		ret = load_bzimage(&m->vm.mem, img, len, &la, bi, err, errlen);
	free(initrd);
	return ret;
}

/*
 * Read each module; its string is "FILE ARGS" (or "FILE"), as QEMU's
 * -initrd "FILE ARGS" gives it.  0, or -1 with the message printed.
 */
static int modules__read(struct modules *ms, const struct run_opts *o)
{
	char err[512], *path;
	const char *arg;
	size_t flen;

	for (ms->nr = 0; ms->nr < o->nr_modules; ms->nr++) {
		arg = o->modules[ms->nr];
		flen = strcspn(arg, ",");
		ms->strings[ms->nr] = path = strdup(arg);
		if (!path) {
			fprintf(stderr, "khyp: out of memory\n");
			return -1;
		}
		path[flen] = 0;
		ms->data[ms->nr] = file__read(path, o->mem_size, true,
					      &ms->mods[ms->nr].len, err,
					      sizeof(err));
		if (!ms->data[ms->nr]) {
			fprintf(stderr, "khyp: --module %s\n", err);
			ms->nr++;
			return -1;
		}
		if (arg[flen])
			path[flen] = ' ';	/* FILE,ARGS -> "FILE ARGS" */
		ms->mods[ms->nr].data = ms->data[ms->nr];
		ms->mods[ms->nr].string = path;
	}
	return 0;
}

/*
 * Load the image (and its modules): 0, or the status to stop with
 * (host error; usage error for --module with an image that is not
 * multiboot, or --initrd with one that is not a bzImage), with the
 * message printed.
 */
static int load_image(struct machine *m, const void *img, size_t len,
		      struct modules *ms, struct boot_info *bi)
{
	const struct run_opts *o = m->opts;
	struct guest_mem *gm = &m->vm.mem;
	int format = o->format, ret;
	char err[256] = "";

	if (format == FORMAT_AUTO && (o->mode != MODE_DEFAULT ||
				      o->load_addr_set || o->entry_set))
		format = IMAGE_FLAT;	/* flat-only options say so */
	if (format == FORMAT_AUTO || format == FORMAT_ELF)
		format = loader_detect(img, len);
	if (o->format == FORMAT_ELF && format == IMAGE_MULTIBOOT)
		format = IMAGE_ELF32;
	if (o->cmdline && format != IMAGE_MULTIBOOT && !image_is_linux(format))
		fprintf(stderr, "khyp: --cmdline ignored: %s is neither a multiboot image nor a Linux kernel\n",
			o->image);
	if (o->initrd && !image_is_linux(format)) {
		fprintf(stderr, "khyp run: --initrd needs a Linux kernel (bzImage or vmlinux); %s is loaded as %s\n",
			o->image, image_format_name(format));
		return STATUS_USAGE;
	}
	if (ms->nr && format != IMAGE_MULTIBOOT) {
		fprintf(stderr, "khyp run: --module needs a multiboot kernel; %s is loaded as %s\n",
			o->image, image_format_name(format));
		return STATUS_USAGE;
	}
	switch (format) {
	case IMAGE_BZIMAGE:
	case IMAGE_VMLINUX:
		ret = load_linux(m, format, img, len, bi, err, sizeof(err));
		break;
	case IMAGE_MULTIBOOT:
		ret = load_multiboot_mods(gm, img, len, o->cmdline, ms->mods,
					  ms->nr, bi, err, sizeof(err));
		break;
	case IMAGE_ELF32:
	case IMAGE_ELF64:
		ret = load_elf(gm, img, len, bi, err, sizeof(err));
		break;
	default:
		ret = load_flat(gm, img, len, o->load_addr, o->entry, bi,
				err, sizeof(err));
		if (!ret && o->mode != MODE_DEFAULT)
			bi->mode = o->mode;
		break;
	}
	if (ret) {
		fprintf(stderr, "khyp: %s (%s): %s\n", o->image,
			image_format_name(format), err);
		return STATUS_HOST_ERROR;
	}
	return 0;
}

static void trace_modules(const struct modules *ms)
{
	unsigned int i;

	for (i = 0; i < ms->nr; i++)
		fprintf(stderr, "khyp: module %u at [0x%x-0x%x): %s\n", i + 1,
			ms->mods[i].start, ms->mods[i].end,
			ms->mods[i].string);
}

/* VMX runs real mode and unpaged protected mode only as unrestricted guest. */
static int machine__check_mode(const struct machine *m, int mode)
{
	const struct khyp_caps *c = &m->vm.caps;

	if (c->backend != KHYP_BACKEND_VMX || mode == MODE_LONG64 ||
	    (c->features & KHYP_CAP_UNRESTRICTED_GUEST))
		return 0;
	fprintf(stderr, "khyp: %s starts in %s mode, which this CPU's VMX cannot run (no unrestricted guest)\n",
		m->opts->image, mode == MODE_REAL16 ? "real" : "unpaged protected");
	return -1;
}

/* The ACPI tables, if the guest gets them (opts__acpi): 0 or a status. */
static int machine__acpi(struct machine *m, const struct boot_info *bi)
{
	struct acpi_layout l;
	char err[256];

	if (!opts__acpi(m->opts, image_is_linux(bi->format)))
		return 0;
	if (acpi__write(&m->vm.mem, m->vm.nr_vcpus, bi->load_start,
			bi->load_end, &l, err, sizeof(err))) {
		fprintf(stderr, "khyp: %s: %s (see --acpi)\n", m->opts->image,
			err);
		return STATUS_HOST_ERROR;
	}
	if (m->opts->trace)
		fprintf(stderr, "khyp: ACPI tables at [0x%llx-0x%llx), RSDP 0x%llx\n",
			(unsigned long long)l.rsdp, (unsigned long long)l.end,
			(unsigned long long)l.rsdp);
	return 0;
}

/*
 * Load the image and set the boot vCPU's registers: 0, or the status
 * to stop with.
 */
static int machine__boot(struct machine *m, const void *img, size_t len,
			 struct modules *ms)
{
	struct khyp_sregs s;
	struct khyp_regs r;
	struct boot_info bi;
	char err[256];
	int ret;

	ret = load_image(m, img, len, ms, &bi);
	if (ret)
		return ret;
	if (machine__check_mode(m, bi.mode))
		return STATUS_HOST_ERROR;
	if (boot__tables(&m->vm.mem, &bi, err, sizeof(err))) {
		fprintf(stderr, "khyp: %s: %s\n", m->opts->image, err);
		return STATUS_HOST_ERROR;
	}
	ret = machine__acpi(m, &bi);
	if (ret)
		return ret;
	/*
	 * More than one vCPU, or Linux without ACPI: the guest finds its
	 * CPUs and interrupt routing in an MP table.
	 */
	if ((m->vm.nr_vcpus > 1 || (image_is_linux(bi.format) &&
				    !opts__acpi(m->opts, true))) &&
	    mptable__write(&m->vm.mem, m->vm.nr_vcpus, bi.load_start,
			   bi.load_end) && m->opts->trace)
		fprintf(stderr, "khyp: no MP table: the image covers 0xf0000\n");
	boot__regs(&bi, &r, &s);
	if (m->opts->trace)
		fprintf(stderr, "khyp: %s: %s, entry 0x%llx in %s mode, stack 0x%llx\n",
			m->opts->image, image_format_name(bi.format),
			(unsigned long long)bi.entry,
			bi.mode == MODE_REAL16 ? "real" :
			bi.mode == MODE_PROT32 ? "32-bit protected" : "64-bit long",
			(unsigned long long)bi.stack);
	if (m->opts->trace)
		trace_modules(ms);
	return vcpu__set_state(&m->vm.vcpus[0], &r, &s) ? STATUS_HOST_ERROR : 0;
}

static int machine__open_serial(struct machine *m)
{
	m->out_fd = STDOUT_FILENO;
	m->in_fd = -1;
	if (!m->opts->serial) {
		m->in_fd = STDIN_FILENO;
		return 0;
	}
	m->out_fd = open(m->opts->serial, O_WRONLY | O_CREAT | O_TRUNC |
			 O_CLOEXEC, 0644);
	if (m->out_fd < 0) {
		fprintf(stderr, "khyp: --serial %s: %s\n", m->opts->serial,
			strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * --reboot restart: at most one boot a second.  A boot that ended
 * within a second of its start waits out the rest of that second before
 * the next; RESTART_MAX_QUICK of them in a row are a reset loop, which
 * ends the launcher with STATUS_RESET.
 */
#define RESTART_MAX_QUICK	10

struct restarts {
	struct timespec boot;		/* when the current boot started */
	unsigned int quick;		/* quick boots in a row */
};

static double restart__since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9;
}

/* Before the next boot: 0, or -1 for a reset loop (message printed). */
static int restart__throttle(struct restarts *r)
{
	double up = restart__since(&r->boot);

	if (up >= 1.0) {
		r->quick = 0;
		return 0;
	}
	if (++r->quick >= RESTART_MAX_QUICK) {
		fprintf(stderr, "khyp: guest reset loop: %u boots in a row ended within a second; stopping\n",
			r->quick);
		return -1;
	}
	usleep((useconds_t)((1.0 - up) * 1e6));
	return 0;
}

/*
 * The virtio-balloon (--balloon on a bzImage) learns the new VM's target
 * changes through the module's eventfd: 0, or -1 with a message.
 */
static int machine__attach_balloon(struct machine *m)
{
	int r;

	if (!(m->vm.caps.features & KHYP_CAP_BALLOON_PAGES)) {
		fprintf(stderr, "khyp: --balloon: khyp.ko has no KHYP_BALLOON_PAGES, which the virtio-balloon of a Linux guest needs\n");
		return -1;
	}
	r = vballoon__attach(m->balloon);
	if (r) {
		fprintf(stderr, "khyp: --balloon: KHYP_BALLOON_EVENTFD: %s\n",
			strerror(-r));
		return -1;
	}
	return 0;
}

/*
 * One boot: a new VM, the image loaded into it, run to its end, the VM
 * destroyed; the status it ended with.
 */
static int machine__boot_once(struct machine *m, const void *img, size_t len,
			      struct modules *ms)
{
	const struct run_opts *o = m->opts;
	int status;

	if (vm__create(&m->vm, o->mem_size, o->cpus,
		       m->linux_image || o->acpi == ACPI_ON))
		return STATUS_HOST_ERROR;
	status = machine__boot(m, img, len, ms);
	if (status)
		goto out_vm;
	status = STATUS_HOST_ERROR;
	/* the ceiling before the device listens: no scan sees it uncapped */
	if (o->balloon_max_set && vm__set_balloon_max(&m->vm, o->balloon_max))
		goto out_vm;
	if (m->balloon && machine__attach_balloon(m))
		goto out_vm;
	if (o->balloon_target && vm__set_balloon(&m->vm, o->balloon_target))
		goto out_vm;
	status = machine__run(m);
	if (o->balloon)
		vm__report_balloon(&m->vm);
	if (m->balloon)
		vballoon__report(m->balloon);
out_vm:
	virtio_disks__stop(m);		/* no I/O into the RAM about to go */
	virtio_fns__stop(m);
	vm__destroy(&m->vm);
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct machine m = { .opts = &o };
	int status = STATUS_HOST_ERROR, ret;
	struct modules ms = { .nr = 0 };
	struct restarts rs = { .quick = 0 };
	struct timespec start;
	char err[512];
	void *img;
	size_t len;

	clock_gettime(CLOCK_MONOTONIC, &start);	/* --boot-report's zero */
	ret = opts__parse(&o, argc, argv, err, sizeof(err));
	if (ret) {
		if (ret > 0) {
			fputs(run_usage, stdout);
			return 0;
		}
		fprintf(stderr, "khyp run: %s\n", err);
		return STATUS_USAGE;
	}
	boot_report__init(&m.boot_report, &start, o.boot_report, o.boot_mark);
	img = file__read(o.image, o.mem_size, false, &len, err, sizeof(err));
	if (!img) {
		fprintf(stderr, "khyp: %s\n", err);
		goto out_free;
	}
	if (modules__read(&ms, &o))
		goto out_free;
	m.linux_image = image_is_linux(o.format) ||
			(o.format == FORMAT_AUTO && image_is_linux(loader_detect(img, len)));
	if (machine__open_serial(&m))
		goto out_free;
	if (devices__init(&m, err, sizeof(err))) {
		fprintf(stderr, "khyp: %s\n", err);
		goto out_serial;
	}
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &rs.boot);
		status = machine__boot_once(&m, img, len, &ms);
		if (status != STATUS_RESET || !o.reboot_restart ||
		    restart__throttle(&rs))
			break;
		if (devices__restart(&m, err, sizeof(err))) {
			fprintf(stderr, "khyp: %s\n", err);
			status = STATUS_HOST_ERROR;
			break;
		}
	}
	boot_report__event(&m.boot_report, BOOT_ENDED);	/* the last boot's end */
	devices__exit(&m);
out_serial:
	if (m.out_fd != STDOUT_FILENO)
		close(m.out_fd);
out_free:
	modules__free(&ms);
	free(img);
	boot_report__print(&m.boot_report, stderr, status);
	return status;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "info") && argc == 2)
		return cmd_info();
	if (!strcmp(cmd, "stats") && argc == 2)
		return cmd_stats();
	if (!strcmp(cmd, "balloon"))
		return cmd_balloon(argc - 1, argv + 1);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage, stdout);
		return 0;
	}
	fputs(usage, stderr);
	return STATUS_USAGE;
}
