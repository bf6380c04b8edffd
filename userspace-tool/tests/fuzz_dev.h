/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the device fuzzers (fuzz_virtio.c, fuzz_pci.c, fuzz_ports.c)
 * share: the fuzz input read as a stream of guest operations, a machine
 * built as `khyp run` builds it (devices__init) with no VM behind it, and
 * the guest's two ways in, port I/O and MMIO, through the launcher's own
 * exit handlers (ioport__handle, mmio__handle).
 *
 * Nothing runs in a thread of its own: the RTC and serial threads start
 * only in devices__start(), which a fuzzer never calls, and the virtio
 * functions are put on the bus without virtio__start(); a fuzzer runs a
 * device's I/O thread turn itself (virtio__wait_process with timeout 0)
 * where the thread could have run.  The clocks of the RTC and of the
 * ACPI PM timer are a fake one that only the input moves, so that an
 * input replays exactly.
 *
 * Guest RAM is FM_LOW bytes at 0 and FM_HIGH bytes at 4 GiB, in a
 * reservation of 4 GiB + FM_HIGH + a guard page whose other pages have
 * no access: a device that reads or writes guest RAM outside the two
 * ranges faults at once (a crash libFuzzer reports), whether or not
 * ASan would have seen it.
 */
#ifndef KHYP_FUZZ_DEV_H
#define KHYP_FUZZ_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../khyp.h"
#include "../devices/virtio/virtio.h"

#define FM_LOW		0x10000ULL		/* RAM below the hole */
#define FM_HIGH		0x4000ULL		/* RAM at 4 GiB */

/*
 * For a fuzzer's invariant checks: no coverage feedback from them (their
 * compares would steer libFuzzer and cost most of its time).
 */
#define FUZZ_CHECK	__attribute__((no_sanitize("coverage")))

/* The input, read front to back; past its end every read gives 0. */
struct fin {
	const uint8_t *p;
	size_t left;
};

static inline bool fin_more(const struct fin *in)
{
	return in->left > 0;
}

uint8_t fin_u8(struct fin *in);
uint16_t fin_u16(struct fin *in);
uint32_t fin_u32(struct fin *in);
uint64_t fin_u64(struct fin *in);
/* An access size: 1, 2, 4 or 8 (max 4 or 8). */
unsigned int fin_size(struct fin *in, unsigned int max);
/* A guest-physical address: mostly in RAM, sometimes at or past its edges. */
uint64_t fin_gpa(struct fin *in);
/* A length: mostly small, sometimes anything. */
uint32_t fin_len(struct fin *in);

/* The virtio functions a fuzzer may put on the bus. */
enum fm_virtio {
	FM_BLK,
	FM_NET,
	FM_CONSOLE,
	FM_RNG,
	FM_NR_VIRTIO,
};

#define FM_MAX_VIRTIO	4

struct fm_virtio_fn {
	struct virtio_dev dev;
	struct virtio_pci *vp;
	struct pci_dev *pci;		/* its function on the bus */
	enum fm_virtio type;
};

/* The fake machine; one at a time, rebuilt for each input. */
struct fm {
	struct run_opts opts;
	struct machine m;
	struct khyp_run run;
	struct vcpu vcpu;
	struct guest_mem gm;
	int in_wr;			/* the serial input's pipe, written here */
	int disk_fd;			/* the disk image: a memfd */
	int net_fd, wire;		/* virtio-net's socketpair: its, ours */
	struct fm_virtio_fn vfn[FM_MAX_VIRTIO];
	unsigned int nr_vfn;
	/* what the interrupt hooks saw */
	unsigned long msis, line_changes;
	int line[24];			/* the level of each GSI */
};

extern struct fm fm;
/* the fake clock, ns since 1970: CLOCK_REALTIME and CLOCK_MONOTONIC */
extern int64_t fm_clock_ns;

/*
 * The machine of `khyp run` with its RAM cleared (devices__init: COM1,
 * debug exit, fw_cfg with one file of --fw-cfg, the PCI host, ACPI PM,
 * RTC, i8042, reset, pvpanic), fake clocks and interrupt hooks.  Aborts
 * if it cannot be built (a fuzzer with no machine tests nothing).
 */
void fm_up(void);
void fm_down(void);
/*
 * A virtio function of type on the bus, as machine.c adds one but with no
 * I/O thread; a blk image of disk_bytes (read-only if ro).  Its index.
 */
unsigned int fm_virtio_add(enum fm_virtio type, uint64_t disk_bytes, bool ro);

/* A guest's port or MMIO access through the exit handlers: the status. */
int fm_port(bool write, uint16_t port, unsigned int size, uint32_t *data);
int fm_mmio(bool write, uint64_t gpa, unsigned int size, uint64_t *data);
/* A config access of 00:slot.0 through 0xcf8/0xcfc. */
uint32_t fm_cfg_read(unsigned int slot, unsigned int off, unsigned int size);
void fm_cfg_write(unsigned int slot, unsigned int off, unsigned int size,
		  uint32_t v);
/*
 * A status that ends the run must be one the launcher knows (a reset,
 * poweroff, panic, the debug exit); it then restarts, as with
 * --reboot restart: fm_reset().
 */
void fm_check_status(int status);
/* A machine reset between two boots: devices__reset(), lines low. */
void fm_reset(void);

/* The host address of guest RAM [gpa, gpa + len), or NULL. */
void *fm_ram(uint64_t gpa, uint64_t len);

/*
 * Seeds: fuzzers write their seed inputs with --seeds=DIR (which libFuzzer
 * ignores, as it does every flag that starts with "--").
 */
struct fout {
	uint8_t buf[4096];
	size_t len;
};

void fout_u8(struct fout *o, uint8_t v);
void fout_u16(struct fout *o, uint16_t v);
void fout_u32(struct fout *o, uint32_t v);
void fout_u64(struct fout *o, uint64_t v);
/* Write o to DIR/name: 0 or -1. */
int fout_write(const struct fout *o, const char *dir, const char *name);
/* argv's --seeds=DIR, or NULL. */
const char *fuzz_seeds_dir(int argc, char **argv);

#endif /* KHYP_FUZZ_DEV_H */
