// SPDX-License-Identifier: GPL-2.0
/*
 * The device fuzzers' machine and input (fuzz_dev.h): a `khyp run`
 * machine with no VM, guest RAM fenced by pages of no access, fake clocks
 * and interrupt hooks, and the reader of the fuzz input.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_dev.h"

struct fm fm;
int64_t fm_clock_ns;

/* ---- the input ---- */

uint8_t fin_u8(struct fin *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

uint16_t fin_u16(struct fin *in)
{
	return fin_u8(in) | (uint16_t)fin_u8(in) << 8;
}

uint32_t fin_u32(struct fin *in)
{
	return fin_u16(in) | (uint32_t)fin_u16(in) << 16;
}

uint64_t fin_u64(struct fin *in)
{
	return fin_u32(in) | (uint64_t)fin_u32(in) << 32;
}

unsigned int fin_size(struct fin *in, unsigned int max)
{
	unsigned int size = 1u << (fin_u8(in) & 3);

	return size > max ? max : size;
}

uint64_t fin_gpa(struct fin *in)
{
	switch (fin_u8(in) & 7) {
	case 5:
		return MEM_HIGH_START + fin_u16(in) % (FM_HIGH + 0x100);
	case 6:
		return FM_LOW - fin_u8(in);
	case 7:
		return fin_u64(in);
	default:
		return fin_u16(in);		/* below FM_LOW: RAM */
	}
}

uint32_t fin_len(struct fin *in)
{
	switch (fin_u8(in) & 7) {
	case 6:
		return fin_u16(in);
	case 7:
		return fin_u32(in);
	default:
		return fin_u8(in);
	}
}

/* ---- the machine ---- */

void *fm_ram(uint64_t gpa, uint64_t len)
{
	return guest_mem__ptr(&fm.gm, gpa, len);
}

/* RAM at 0 and at 4 GiB, the rest of the reservation without access. */
static void fm_ram_setup(void)
{
	static unsigned char *base;
	size_t len = MEM_HIGH_START + FM_HIGH + 4096;

	if (!base) {
		base = mmap(NULL, len, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (base == MAP_FAILED ||
		    mprotect(base, FM_LOW, PROT_READ | PROT_WRITE) ||
		    mprotect(base + MEM_HIGH_START, FM_HIGH,
			     PROT_READ | PROT_WRITE)) {
			perror("fuzz: guest RAM");
			abort();
		}
	}
	memset(base, 0, FM_LOW);
	memset(base + MEM_HIGH_START, 0, FM_HIGH);
	fm.gm.base = base;
	fm.gm.size = FM_LOW;
	fm.gm.high = FM_HIGH;
}

static int64_t fm_rtc_clock(void *opaque)
{
	(void)opaque;
	return fm_clock_ns;
}

static uint64_t fm_monotonic(void)
{
	return (uint64_t)fm_clock_ns;
}

static int fm_line(void *opaque, unsigned int gsi, int level)
{
	(void)opaque;
	if (gsi < 16 || gsi >= 24 || (level != 0 && level != 1))
		abort();		/* the PCI core's GSIs are 16-23 */
	if (fm.line[gsi] == level)
		abort();		/* a change that changes nothing */
	fm.line[gsi] = level;
	fm.line_changes++;
	return 0;
}

static int fm_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque;
	(void)addr;
	(void)data;
	fm.msis++;
	return 0;
}

static void fm_die(const char *what, const char *err)
{
	fprintf(stderr, "fuzz: %s: %s\n", what, err);
	abort();
}

void fm_up(void)
{
	static const char hello[] = "hello, fw_cfg";
	char err[256];
	int in[2];

	memset(&fm, 0, sizeof(fm));
	fm.in_wr = fm.disk_fd = fm.wire = -1;
	fm_ram_setup();
	fm.opts.mem_size = 64ULL << 20;
	fm.opts.cpus = 1;
	fm.opts.reboot_restart = true;	/* a reset says nothing */
	strcpy(fm.opts.fw_cfg[0].name, "opt/fuzz");
	fm.opts.fw_cfg[0].value = hello;
	fm.opts.fw_cfg[0].value_len = sizeof(hello) - 1;
	fm.opts.nr_fw_cfg = 1;
	fm.m.opts = &fm.opts;
	fm.m.vm.fd = -1;
	fm.m.vm.mem = fm.gm;
	fm.vcpu.run = &fm.run;
	fm.vcpu.fd = -1;
	fm.m.out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fm.m.out_fd < 0 || pipe2(in, O_CLOEXEC))
		fm_die("fds", strerror(errno));
	fm.m.in_fd = in[0];
	fm.in_wr = in[1];
	fcntl(fm.in_wr, F_SETFL, O_NONBLOCK);
	if (devices__init(&fm.m, err, sizeof(err)))
		fm_die("devices__init", err);
	/* the fake clocks: the RTC as at power-on, on the fake one */
	rtc__init(&fm.m.rtc, fm_rtc_clock, fm.m.rtc.irq, fm.m.rtc.opaque);
	rtc__set_memory(&fm.m.rtc, fm.opts.mem_size, 0, fm.opts.cpus);
	fm.m.acpi_pm.now_ns = fm_monotonic;
	acpi_pm__reset(&fm.m.acpi_pm);
	fm.m.pci.irq_line = fm_line;
	fm.m.pci.msi = fm_msi;
	fm.m.pci.irq_opaque = NULL;
}

unsigned int fm_virtio_add(enum fm_virtio type, uint64_t disk_bytes, bool ro)
{
	static const uint8_t mac[6] = { 0x02, 0x66, 0x75, 0x7a, 0x7a, 0x00 };
	static const uint32_t classes[FM_NR_VIRTIO] = {
		0x010000, 0x020000, 0x078000, 0x00ff00,
	};
	struct fm_virtio_fn *f = &fm.vfn[fm.nr_vfn];
	char err[256], path[64];
	int sv[2], r = -1;

	if (fm.nr_vfn == FM_MAX_VIRTIO)
		fm_die("virtio", "too many");
	switch (type) {
	case FM_BLK:
		fm.disk_fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
		if (fm.disk_fd < 0 || ftruncate(fm.disk_fd, disk_bytes))
			fm_die("memfd", strerror(errno));
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fm.disk_fd);
		r = vblk__init(&f->dev, path, ro, fm.nr_vfn, &fm.m.vm.mem, err,
			       sizeof(err));
		break;
	case FM_NET:
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
			fm_die("socketpair", strerror(errno));
		fm.net_fd = sv[0];
		fm.wire = sv[1];
		fcntl(fm.wire, F_SETFL, O_NONBLOCK);
		r = vnet__init_fd(&f->dev, fm.net_fd, mac, "fuzz",
				  &fm.m.vm.mem, err, sizeof(err));
		break;
	case FM_CONSOLE:
		r = vcons__init_fd(&f->dev, fm.m.out_fd, &fm.m.vm.mem, err,
				   sizeof(err));
		break;
	case FM_RNG:
		r = vrng__init(&f->dev, &fm.m.vm.mem, err, sizeof(err));
		break;
	default:
		break;
	}
	if (r)
		fm_die("virtio init", err);
	f->type = type;
	fm.nr_vfn++;
	f->vp = vpci__create(&fm.m, &f->dev, classes[type], err, sizeof(err));
	if (!f->vp)
		fm_die("vpci__create", err);
	f->pci = fm.m.pci.slots[fm.m.pci.nr_slots - 1];
	return fm.nr_vfn - 1;
}

void fm_down(void)
{
	unsigned int i;

	for (i = 0; i < fm.nr_vfn; i++) {
		switch (fm.vfn[i].type) {
		case FM_BLK:
			vblk__exit(&fm.vfn[i].dev);
			break;
		case FM_NET:
			vnet__exit(&fm.vfn[i].dev);
			break;
		case FM_CONSOLE:
			vcons__exit(&fm.vfn[i].dev);
			break;
		default:
			vrng__exit(&fm.vfn[i].dev);
			break;
		}
	}
	devices__exit(&fm.m);		/* pci__exit: before the functions go */
	for (i = 0; i < fm.nr_vfn; i++)
		free(fm.vfn[i].vp);
	if (fm.m.in_fd >= 0)
		close(fm.m.in_fd);
	close(fm.m.out_fd);
	close(fm.in_wr);
	if (fm.disk_fd >= 0)
		close(fm.disk_fd);
	if (fm.wire >= 0) {
		close(fm.wire);
		close(fm.net_fd);
	}
	fm.nr_vfn = 0;
}

/* ---- the guest's accesses ---- */

void fm_check_status(int status)
{
	if (status == RUN_CONTINUE)
		return;
	/* poweroff (0), a reset, a panic, or the debug exit's odd status */
	if (status != STATUS_HALTED && status != STATUS_RESET &&
	    status != STATUS_PANIC && !(status & 1 && status < 256))
		abort();
	fm_reset();
}

void fm_reset(void)
{
	/* as `khyp run --reboot restart` goes on */
	devices__reset(&fm.m);
	memset(fm.line, 0, sizeof(fm.line));	/* the new VM's lines */
}

int fm_port(bool write, uint16_t port, unsigned int size, uint32_t *data)
{
	int ret;

	memset(&fm.run, 0, sizeof(fm.run));
	fm.run.exit_reason = KHYP_EXIT_IO;
	fm.run.io.port = port;
	fm.run.io.size = size;
	fm.run.io.direction = write ? KHYP_IO_OUT : KHYP_IO_IN;
	fm.run.io.data = write ? *data : 0x5a5a5a5a5a5a5a5aULL;
	ret = ioport__handle(&fm.m, &fm.vcpu);
	/* what goes into AL/AX/EAX fits the access */
	if (!write && (fm.run.io.data & ~access_mask(size)))
		abort();
	if (!write)
		*data = fm.run.io.data;
	return ret;
}

int fm_mmio(bool write, uint64_t gpa, unsigned int size, uint64_t *data)
{
	int ret;

	memset(&fm.run, 0, sizeof(fm.run));
	fm.run.exit_reason = KHYP_EXIT_MMIO;
	fm.run.mmio.phys_addr = gpa;
	fm.run.mmio.size = size;
	fm.run.mmio.is_write = write;
	fm.run.mmio.data = write ? *data : 0x5a5a5a5a5a5a5a5aULL;
	ret = mmio__handle(&fm.m, &fm.vcpu);
	if (!write && (fm.run.mmio.data & ~access_mask(size)))
		abort();
	if (!write)
		*data = fm.run.mmio.data;
	return ret;
}

uint32_t fm_cfg_read(unsigned int slot, unsigned int off, unsigned int size)
{
	uint32_t a = PCI_CONFIG_ENABLE | slot << 11 | (off & 0xfc), v = 0;

	fm_check_status(fm_port(true, PCI_CONFIG_ADDR, 4, &a));
	fm_check_status(fm_port(false, PCI_CONFIG_DATA + (off & 3), size, &v));
	return v;
}

void fm_cfg_write(unsigned int slot, unsigned int off, unsigned int size,
		  uint32_t v)
{
	uint32_t a = PCI_CONFIG_ENABLE | slot << 11 | (off & 0xfc);

	fm_check_status(fm_port(true, PCI_CONFIG_ADDR, 4, &a));
	fm_check_status(fm_port(true, PCI_CONFIG_DATA + (off & 3), size, &v));
}

/* ---- seeds ---- */

void fout_u8(struct fout *o, uint8_t v)
{
	if (o->len < sizeof(o->buf))
		o->buf[o->len++] = v;
}

void fout_u16(struct fout *o, uint16_t v)
{
	fout_u8(o, v);
	fout_u8(o, v >> 8);
}

void fout_u32(struct fout *o, uint32_t v)
{
	fout_u16(o, v);
	fout_u16(o, v >> 16);
}

void fout_u64(struct fout *o, uint64_t v)
{
	fout_u32(o, v);
	fout_u32(o, v >> 32);
}

int fout_write(const struct fout *o, const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		perror(dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(o->buf, 1, o->len, f) != o->len) {
		perror(path);
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

const char *fuzz_seeds_dir(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--seeds=", 8))
			return argv[i] + 8;
	return NULL;
}
