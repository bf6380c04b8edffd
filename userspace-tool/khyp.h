/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The launcher `khyp`: what its files share.
 *
 * A guest exit travels: KHYP_RUN returns in run.c (machine__run), which
 * hands port I/O to ioport.c and MMIO to mmio.c, each of which looks the
 * address up in the device registry (bus.h) and calls the device that
 * claims it (devices/: the COM1 UART, the debug-exit and POST ports,
 * fw_cfg) or
 * answers an unclaimed access itself; hypercalls go to hypercall.c; HLT,
 * SHUTDOWN and internal errors become the launcher's exit status.  Before
 * the first run, vm.c creates the VM, its memory and vCPUs,
 * devices/devices.c registers the devices, the loaders (boot/loader.h)
 * put the image into guest memory, and boot/state.c sets the registers
 * of the CPU mode the image starts in.  options.c parses `khyp run`'s
 * command line, term.c owns the terminal, info.c answers `khyp info` and
 * `khyp stats`; boot_report.c times a boot for --boot-report.
 */
#ifndef KHYP_LAUNCHER_H
#define KHYP_LAUNCHER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <linux/khyp.h>

#include "boot/loader.h"
#include "bus.h"
#include "devices/acpi_pm.h"
#include "devices/fw_cfg.h"
#include "devices/pci.h"
#include "devices/reset.h"
#include "devices/rtc.h"
#include "devices/uart.h"

/*
 * Exit statuses of `khyp run`.  A guest's own status through the debug
 * exit port is always odd, (v << 1) | 1; the launcher's are even, except
 * the conventional 1 for a host error, so the two rarely mix up.
 */
#define STATUS_HALTED		0	/* the guest executed HLT */
#define STATUS_HOST_ERROR	1	/* no /dev/khyp, failed ioctl, bad image */
#define STATUS_USAGE		2	/* bad command line */
#define STATUS_INTERNAL		4	/* KHYP_EXIT_INTERNAL_ERROR */
#define STATUS_TRIPLE_FAULT	6	/* KHYP_EXIT_SHUTDOWN */
#define STATUS_TIMEOUT		8	/* --timeout expired */
#define STATUS_STRICT		10	/* --strict: unknown port or MMIO */
#define STATUS_RESET		12	/* guest reset, --reboot exit */
#define STATUS_PANIC		14	/* pvpanic: the guest panicked */
/* a signal that stopped the launcher: 128 + the signal number */

#define KHYP_DEV_PATH		"/dev/khyp"

/* ---- options.c ---- */

#define FORMAT_AUTO		-1
#define FORMAT_ELF		100	/* ELF32 or ELF64, as the file says */
#define MODE_DEFAULT		-1

/*
 * One --fw-cfg [name=]NAME,file=PATH or [name=]NAME,string=STR, as
 * options.c checked it (devices/fw_cfg.c reads the file): NAME is at most
 * FW_CFG_NAME_MAX characters; value points into the option's argument,
 * value_len bytes (no NUL: a PATH may be followed by ",name=...").
 */
#define FW_CFG_NAME_MAX		55	/* QEMU's: 56 bytes with the NUL */
#define OPTS_MAX_FW_CFG		31	/* QEMU's 32 file slots, less khyp's one */
#define OPTS_MAX_MODULES	32

struct fw_cfg_opt {
	char name[FW_CFG_NAME_MAX + 1];
	bool is_file;			/* file=, else string= */
	const char *value;
	size_t value_len;
};

/* One --disk FILE[,ro]: a virtio-blk device (devices/virtio/blk.c). */
#define OPTS_MAX_DISKS		4
#define OPTS_DISK_PATH_MAX	4096

struct disk_opt {
	char path[OPTS_DISK_PATH_MAX];
	bool ro;
};

/*
 * --net tap[=NAME][,mac=MAC]: a virtio-net device on the host's tap NAME
 * (devices/virtio/net.c); "" lets the kernel name a new one.
 */
#define OPTS_IFNAME_MAX		15	/* IFNAMSIZ less the NUL */

struct net_opt {
	bool on;
	char ifname[OPTS_IFNAME_MAX + 1];
	uint8_t mac[6];			/* the option's, or NET_DEFAULT_MAC */
};

/* 02 (locally administered, unicast), then "khyp" */
#define NET_DEFAULT_MAC		{ 0x02, 0x6b, 0x68, 0x79, 0x70, 0x00 }

struct run_opts {
	const char *image;
	uint64_t mem_size;		/* bytes, page aligned */
	unsigned int cpus;
	const char *cmdline;		/* multiboot, Linux; NULL: none */
	const char *initrd;		/* Linux; NULL: none */
	const char *serial;		/* NULL: stdio; else a file name */
	double timeout;			/* seconds; 0: none */
	bool trace;
	bool boot_report;		/* --boot-report[=MARK] */
	const char *boot_mark;		/* its MARK; NULL: none */
	bool strict;
	bool reboot_restart;		/* --reboot restart; else exit */
	int format;			/* FORMAT_AUTO, IMAGE_FLAT, FORMAT_ELF,
					 * IMAGE_MULTIBOOT, IMAGE_BZIMAGE,
					 * IMAGE_VMLINUX */
	int mode;			/* MODE_DEFAULT or enum boot_mode */
	bool balloon;			/* --balloon: report it at the end */
	uint64_t balloon_target;	/* bytes, page aligned; 0: none */
	uint64_t balloon_max;		/* --balloon-max: bytes, page aligned */
	bool balloon_max_set;
	bool load_addr_set, entry_set;
	uint64_t load_addr;		/* flat images */
	uint64_t entry;
	/* --module FILE[,ARGS], as given, in order: multiboot modules */
	const char *modules[OPTS_MAX_MODULES];
	unsigned int nr_modules;
	struct fw_cfg_opt fw_cfg[OPTS_MAX_FW_CFG];	/* --fw-cfg, in order */
	unsigned int nr_fw_cfg;
	struct disk_opt disks[OPTS_MAX_DISKS];	/* --disk, in order */
	unsigned int nr_disks;
	struct net_opt net;		/* --net */
	bool console;			/* --console: a virtio-console */
	const char *console_path;	/* its FILE; NULL: stdout */
	bool rng;			/* --rng: a virtio-rng */
	int acpi;			/* --acpi: ACPI_AUTO, ACPI_OFF, ACPI_ON */
};

/* --acpi; ACPI_AUTO: on for Linux, a bzImage or a vmlinux (boot/acpi.h) */
#define ACPI_AUTO		-1
#define ACPI_OFF		0
#define ACPI_ON			1

#define OPTS_DEFAULT_MEM	(64ULL << 20)
#define OPTS_MIN_MEM		(1ULL << 20)
#define FLAT_REAL_LOAD_ADDR	0x7c00
#define FLAT_HIGH_LOAD_ADDR	0x100000

/* "64M", "1G", "512K", "4096": bytes in *out; 0 or -1. */
int parse_size(const char *s, uint64_t *out);
/* A number in C syntax (0x.. hex, else decimal): 0 or -1. */
int parse_u64(const char *s, uint64_t *out);
/*
 * One --fw-cfg argument into *f: 0, or -1 with a message in err (unknown
 * key, no name, a name longer than FW_CFG_NAME_MAX, neither or both of
 * file= and string=).
 */
int fw_cfg_opt__parse(struct fw_cfg_opt *f, const char *arg,
		      char *err, size_t errlen);
/*
 * `khyp run`'s arguments (argv[0] is "run").  Returns 0, 1 for --help,
 * or -1 with a message in err.
 */
int opts__parse(struct run_opts *o, int argc, char **argv,
		char *err, size_t errlen);
extern const char run_usage[];
/* Does the guest get ACPI tables (and so the irqchip)? */
bool opts__acpi(const struct run_opts *o, bool linux_image);

/* ---- boot_report.c ---- */

/* --boot-report=MARK: MARK has 1 to BOOT_MARK_MAX printable bytes */
#define BOOT_MARK_MAX		64

/* The moments of a boot --boot-report stamps, in the order they come. */
enum boot_event {
	BOOT_VM_READY,			/* just before the first KHYP_RUN */
	BOOT_FIRST_ENTRY,		/* vCPU 0's first KHYP_RUN issued */
	BOOT_FIRST_OUTPUT,		/* the guest's first byte to COM1 */
	BOOT_MARK,			/* COM1's output first holds MARK */
	BOOT_ENDED,			/* the last boot is over */
	BOOT_NR_EVENTS,
};

/*
 * Locking: (i) set by boot_report__init() before any thread; (l) under
 * machine.lock, as COM1's output is; (a) atomic, written once.
 */
struct boot_report {
	bool on;			/* (i) --boot-report given */
	struct timespec start;		/* (i) CLOCK_MONOTONIC, cmd_run's start */
	char mark[BOOT_MARK_MAX];	/* (i) MARK, mark_len bytes, no NUL */
	unsigned int mark_len;		/* (i) 0: no MARK */
	uint8_t next[BOOT_MARK_MAX];	/* (i) the matcher's table */
	unsigned int matched;		/* (l) bytes of MARK the output ends in */
	int64_t ns[BOOT_NR_EVENTS];	/* (a) ns since start; -1: not yet */
};

/* Off unless @on; @mark may be NULL (no MARK). */
void boot_report__init(struct boot_report *r, const struct timespec *start,
		       bool on, const char *mark);
/* Stamp @e now, unless it was stamped before; any thread. */
void boot_report__event(struct boot_report *r, enum boot_event e);
/* Bytes the guest wrote to COM1, in order; under machine.lock. */
void boot_report__output(struct boot_report *r, const uint8_t *buf,
			 size_t len);
/*
 * Print the "khyp: boot: " lines on @f (khyp(1)), BOOT_ENDED stamped now
 * if it was not before.
 */
void boot_report__print(struct boot_report *r, FILE *f, int status);

/* ---- file.c ---- */

/*
 * The whole regular file at path, at most max bytes (empty only if
 * allow_empty), in a malloc'ed buffer with its size in *len; NULL with
 * "PATH: why" in err.
 */
void *file__read(const char *path, uint64_t max, bool allow_empty,
		 size_t *len, char *err, size_t errlen);

/* ---- boot/state.c ---- */

/*
 * Guest-physical layout the launcher adds to the loaders' (loader.h):
 *   [0x8000, 0x9000)  GDT at 0x8000, 64-bit TSS at 0x8100
 *   [0x9000, 0xf000)  PML4, PDPT, 4 page directories: the first 4 GiB
 *                     identity-mapped with 2 MiB pages (long mode only)
 */
#define BOOT_GDT		0x8000
#define BOOT_TSS		0x8100
#define BOOT_PML4		0x9000
#define BOOT_TABLES_END		0xf000

#define SEL_CODE64		0x08
#define SEL_CODE32		0x10
#define SEL_DATA		0x18
#define SEL_TSS			0x20	/* 16 bytes */
#define BOOT_GDT_LIMIT		(SEL_TSS + 15)

/*
 * Write the GDT, TSS and (long mode) page tables the mode of bi needs into
 * guest memory, after checking they miss the loaded image.  0 or -1 with a
 * message in err.
 */
int boot__tables(struct guest_mem *gm, const struct boot_info *bi,
		 char *err, size_t errlen);
/* The registers that start bi's entry in its mode. */
void boot__regs(const struct boot_info *bi, struct khyp_regs *r,
		struct khyp_sregs *s);

/* ---- vm.c ---- */

struct machine;
struct virtio_disk;
struct virtio_fn;

#define VIRTIO_FNS_MAX		4	/* --net, --console, --rng, --balloon */

struct vcpu {
	unsigned int id;
	int fd;
	struct khyp_run *run;		/* the shared run page */
	struct machine *machine;	/* vCPUs 1..N-1: their thread's */
	pthread_t thread;		/* vCPUs 1..N-1 (run.c) */
	int done;			/* its thread has left its loop */
};

struct vm {
	int dev;			/* /dev/khyp */
	int fd;
	struct khyp_caps caps;
	/* slot 0: [0, mem.size); slot 1: [4 GiB, 4 GiB + mem.high) */
	struct guest_mem mem;
	size_t map_len;			/* mem.base's reservation */
	unsigned int nr_vcpus;
	struct vcpu *vcpus;
	bool irqchip;			/* KHYP_CREATE_IRQCHIP done */
};

int vm__create(struct vm *vm, uint64_t mem_size, unsigned int nr_vcpus,
	       bool irqchip);
void vm__destroy(struct vm *vm);
/* KHYP_SET_BALLOON: the balloon should hold @bytes; 0 or -1 (perror). */
int vm__set_balloon(struct vm *vm, uint64_t bytes);
/*
 * KHYP_SET_BALLOON with KHYP_BALLOON_PRESSURE_MAX: the host's pressure
 * asks for at most @bytes; 0 or -1 (the reason printed).
 */
int vm__set_balloon_max(struct vm *vm, uint64_t bytes);
/* KHYP_GET_BALLOON, printed as one "khyp: balloon: ..." line on stderr. */
void vm__report_balloon(const struct vm *vm);
void balloon__print(FILE *f, const char *prefix,
		    const struct khyp_balloon_stats *st);
/* KHYP_SET_REGS and KHYP_SET_SREGS on a vCPU: 0 or -1 (message printed). */
int vcpu__set_state(struct vcpu *vcpu, const struct khyp_regs *r,
		    const struct khyp_sregs *s);
void vcpu__dump(const struct vcpu *vcpu);

/* ---- mptable.c ---- */

/* The MP spec 1.4 tables in the BIOS area for ncpus vCPUs; 0 or -1. */
int mptable__write(struct guest_mem *gm, unsigned int ncpus,
		   uint64_t load_start, uint64_t load_end);

/* ---- term.c ---- */

/* stdin into raw mode if it is a terminal; restored on every exit path. */
void term__raw(void);
void term__restore(void);

/* ---- run.c, and the exits it hands on ---- */

/* Distinct unknown ports the end-of-run report names (run.c) */
#define UNKNOWN_PORTS_MAX	8

struct machine {
	const struct run_opts *opts;
	struct vm vm;
	struct bus ports;		/* port I/O: 0-0xffff */
	struct bus mmio;		/* guest-physical, outside RAM */
	struct uart uart;		/* COM1 (devices/serial.c) */
	struct fw_cfg fw_cfg;		/* 0x510-0x511 (devices/fw_cfg.c) */
	struct pci_host pci;		/* bus 0, 0xcf8/0xcfc (devices/pci.c) */
	/* --disk: virtio-blk over virtio-pci (devices/virtio/pci.c) */
	struct virtio_disk *disks[OPTS_MAX_DISKS];
	unsigned int nr_disks;
	/* --net, --console, --rng: the same (devices/virtio/machine.c) */
	struct virtio_fn *vfns[VIRTIO_FNS_MAX];
	unsigned int nr_vfns;
	/* the virtio-balloon among them (--balloon, Linux), or NULL */
	struct virtio_dev *balloon;
	bool linux_image;		/* a bzImage or a vmlinux (cmd_run) */
	struct acpi_pm acpi_pm;		/* 0x600, 0x620 (devices/acpi_pm.c) */
	/*
	 * Legacy devices (devices/rtc.c, reset.c).  The RTC's time and
	 * NVRAM survive a --reboot restart, as a PC's CMOS does; the rest
	 * is reset (devices__reset()).
	 */
	struct rtc rtc;			/* 0x70-0x71, IRQ 8 */
	struct i8042 i8042;		/* 0x60, 0x64, IRQ 1 and 12 */
	uint8_t cf9, port92;		/* reset control, system control A */
	/* the RTC's timer thread: started by devices__start(), under @lock */
	pthread_t rtc_thread;
	pthread_cond_t rtc_cond;	/* A or B written, or stop; MONOTONIC */
	bool rtc_thread_on, rtc_thread_stop;
	/* COM1's input thread: stdin into the receive FIFO, IRQ 4 */
	pthread_t serial_thread;
	bool serial_thread_on;
	volatile bool serial_thread_stop;
	int out_fd;			/* serial output */
	int in_fd;			/* serial input; -1: none or EOF */
	unsigned long unknown_io, unknown_mmio;
	uint16_t first_unknown_port;
	uint64_t first_unknown_gpa;
	/* the first UNKNOWN_PORTS_MAX distinct unknown ports, with counts */
	struct unknown_port {
		uint16_t port;
		unsigned long count;
	} unknown_ports[UNKNOWN_PORTS_MAX];
	unsigned int nr_unknown_ports;
	/* --boot-report: set up by cmd_run, kept across --reboot restart */
	struct boot_report boot_report;
	/* run.c: exits are handled under @lock, one vCPU at a time */
	pthread_mutex_t lock;
	int status;			/* RUN_CONTINUE until the run ends */
	pthread_t main_thread;		/* runs vCPU 0 */
	unsigned int nr_threads;	/* vCPU threads started */
};

/* A status to stop with, or RUN_CONTINUE. */
#define RUN_CONTINUE		-1

int machine__run(struct machine *m);
/*
 * The guest pulled a reset (@how: "0xcf9", "8042 0xfe", ...): with
 * --reboot exit, "khyp: guest reset (<how>)" on stderr; STATUS_RESET
 * either way (main.c restarts the machine for --reboot restart).
 */
int machine__reset(struct machine *m, const char *how);	/* devices.c */
/*
 * A board interrupt line (KHYP_IRQ_LINE: ISA IRQ or IOAPIC pin @irq to
 * @level), for the devices; nothing without an irqchip (or without a
 * VM, as in loader_test).
 */
void machine__irq_line(struct machine *m, unsigned int irq, bool level);
int ioport__handle(struct machine *m, struct vcpu *vcpu);	/* ioport.c */
int mmio__handle(struct machine *m, struct vcpu *vcpu);		/* mmio.c */
int hypercall__handle(struct machine *m, struct vcpu *vcpu);	/* hypercall.c */

/* Hypercall numbers the launcher answers (guest RAX). */
#define HC_PUTCHAR		1	/* args[0]: a byte to the serial out */

/* All-ones in an access of size bytes (1, 2, 4 or 8). */
static inline uint64_t access_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/* ---- devices/ ---- */

/*
 * Set up the machine's buses and register every device on them (after
 * the serial fds are open); 0, or -1 with a message in err.
 */
int devices__init(struct machine *m, char *err, size_t errlen);
void devices__exit(struct machine *m);
/* A machine reset: the devices' state as at power-on, CMOS kept. */
void devices__reset(struct machine *m);
/*
 * Between two boots of --reboot restart, after virtio_disks__stop() and
 * virtio_fns__stop(): devices__reset(), then the virtio I/O threads
 * again.  0, or -1 with a message in err.
 */
int devices__restart(struct machine *m, char *err, size_t errlen);
/* The devices' threads, once m->lock and the VM exist; and stopping them. */
int devices__start(struct machine *m);
void devices__stop(struct machine *m);
/* pthread_create with every signal blocked in the new thread. */
int devices__thread(pthread_t *t, void *(*fn)(void *), void *arg);
int rtc__dev_init(struct machine *m, char *err, size_t errlen);
int rtc__start(struct machine *m);
void rtc__stop(struct machine *m);
int reset__init(struct machine *m, char *err, size_t errlen);
void reset__devices(struct machine *m);
int pvpanic__init(struct machine *m, char *err, size_t errlen);
int serial__start(struct machine *m);
void serial__stop(struct machine *m);
void serial__reset(struct machine *m);
int serial__init(struct machine *m, char *err, size_t errlen);
int debug__init(struct machine *m, char *err, size_t errlen);
int fw_cfg__init(struct machine *m, char *err, size_t errlen);
/* m->pci: the host bridge and 0xcf8/0xcfc, before any PCI device */
int pci_host__init(struct machine *m, char *err, size_t errlen);
/* devices/virtio/pci.c: a virtio-blk PCI function per --disk */
int virtio_disks__init(struct machine *m, char *err, size_t errlen);
void virtio_disks__stop(struct machine *m);	/* before vm__destroy */
/* their threads again, after devices__reset(): 0 or -1 (err) */
int virtio_disks__restart(struct machine *m, char *err, size_t errlen);
void virtio_disks__exit(struct machine *m);	/* before pci__exit */
void virtio_disks__free(struct machine *m);	/* after it */
/* devices/virtio/machine.c: --net, --console, --rng, --balloon, after the disks */
int virtio_fns__init(struct machine *m, char *err, size_t errlen);
void virtio_fns__stop(struct machine *m);	/* before vm__destroy */
/* their threads again, after devices__reset(): 0 or -1 (err) */
int virtio_fns__restart(struct machine *m, char *err, size_t errlen);
void virtio_fns__exit(struct machine *m);	/* before pci__exit */
void virtio_fns__free(struct machine *m);	/* after it */
int acpi_pm__init(struct machine *m, char *err, size_t errlen);
/* A byte to the serial output (COM1's THR, the putchar hypercall). */
void serial__write(struct machine *m, uint8_t c);

/* ---- info.c ---- */

int cmd_info(void);
int cmd_stats(void);
int cmd_balloon(int argc, char **argv);

/* ---- main.c ---- */

int cmd_run(int argc, char **argv);

#endif /* KHYP_LAUNCHER_H */
