// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for a virtio device as a malicious guest reaches it:
 * one virtio-pci function (virtio-blk on a memfd image, virtio-net on a
 * socketpair, virtio-console or virtio-rng, the input's first byte says
 * which) on the PCI bus of a `khyp run` machine (fuzz_dev.h), driven
 * through the transport's BARs by MMIO exits while the "driver" builds
 * descriptor tables, indirect tables and rings of its choosing in guest
 * RAM: loops, buffers in and past RAM, wrong directions, indexes that
 * lie.  The device's I/O thread runs a turn when the input says so, as
 * it could at any moment.
 *
 * Input: byte 0 the device (and blk's size and read-only bit), then
 * operations, each an opcode byte and its operands (enum op below).
 *
 * Besides ASan/UBSan and the guard pages around guest RAM, after each
 * I/O thread turn: a device that is not DRIVER_OK or is in NEEDS_RESET
 * touched no byte of guest RAM and sent no queue interrupt; a queue
 * handed back no more chains than it took.  libFuzzer's -timeout finds a
 * chain walk that does not end.
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "fuzz_dev.h"

#define VPCI_ISR	0x1000
#define VPCI_DEVICE	0x2000
#define VPCI_NOTIFY	0x3000

enum op {
	OP_BAR_WRITE,		/* sel, off, size, value */
	OP_BAR_READ,		/* sel, off, size */
	OP_RAM_WRITE,		/* gpa, n, n bytes */
	OP_DESC,		/* q, i, gpa, len, flags, next: in q's table */
	OP_DESC_AT,		/* table gpa, i, gpa, len, flags, next */
	OP_OFFER,		/* q, head, bump */
	OP_AVAIL_FLAGS,		/* q, flags, used_event */
	OP_NOTIFY,		/* q, value */
	OP_IO_TURN,		/* the I/O thread runs */
	OP_DRIVER_UP,		/* features mask, base, per queue: size, vector */
	OP_MSIX_ON,		/* mask-all, unmask bits */
	OP_CFG_WRITE,		/* off, size, value: the function's config */
	OP_RESET,		/* a machine reset */
	OP_HOST_FRAME,		/* len: a frame arrives on the tap */
	OP_NR,
};

static struct fm_virtio_fn *f;
static unsigned char snap_low[FM_LOW], snap_high[FM_HIGH];

static uint64_t bar(unsigned int nr)
{
	return f->pci->bars[nr].addr;	/* where the guest put it */
}

static void common_write(unsigned int off, unsigned int size, uint64_t v)
{
	fm_check_status(fm_mmio(true, bar(4) + off, size, &v));
}

static uint64_t common_read(unsigned int off, unsigned int size)
{
	uint64_t v = 0;

	fm_check_status(fm_mmio(false, bar(4) + off, size, &v));
	return v;
}

/* An offset in BAR 4 (its four regions) or BAR 1 (the MSI-X table). */
static uint64_t bar_addr(struct fin *in)
{
	uint8_t sel = fin_u8(in);

	if (sel & 0x80)
		return bar(1) + (fin_u16(in) & 0xfff);
	if (sel & 0x40)
		return bar(4) + (fin_u16(in) & 0x3fff);
	return bar(4) + (sel & 3) * 0x1000 + fin_u8(in);
}

static void put_desc(uint64_t gpa, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vring_desc d = {
		.addr = htole64(addr),
		.len = htole32(len),
		.flags = htole16(flags),
		.next = htole16(next),
	};
	void *p = fm_ram(gpa, sizeof(d));

	if (p)
		memcpy(p, &d, sizeof(d));
}

static void desc_op(struct fin *in, uint64_t table, unsigned int i)
{
	uint64_t addr = fin_gpa(in);
	uint32_t len = fin_len(in);
	uint8_t flags = fin_u8(in);
	uint8_t next = fin_u8(in);

	/* mostly NEXT, WRITE, INDIRECT; sometimes any bits */
	put_desc(table + 16ULL * i, addr, len,
		 flags & 0x80 ? flags << 8 | flags : flags & 7, next);
}

static struct virtq *op_vq(struct fin *in)
{
	return &f->dev.vqs[fin_u8(in) % f->dev.nr_queues];
}

/* A little-endian u16 of guest RAM, any alignment (a ring may be odd). */
static bool get16(uint64_t gpa, uint16_t *v)
{
	void *p = fm_ram(gpa, 2);

	if (p) {
		memcpy(v, p, 2);
		*v = le16toh(*v);
	}
	return p;
}

static void put16(uint64_t gpa, uint16_t v)
{
	void *p = fm_ram(gpa, 2);

	v = htole16(v);
	if (p)
		memcpy(p, &v, 2);
}

static void offer(struct fin *in)
{
	struct virtq *vq = op_vq(in);
	uint16_t head = fin_u8(in), bump = fin_u8(in), idx;
	uint16_t size = vq->size ? vq->size : 1;

	if (bump & 0x80)
		head |= (uint16_t)fin_u8(in) << 8;
	if (!get16(vq->avail_gpa + 2, &idx))
		return;
	put16(vq->avail_gpa + 4 + 2ULL * (idx % size), head);
	/* one more chain; sometimes the index lies */
	put16(vq->avail_gpa + 2, idx + (bump & 0x40 ? (bump & 0x3f) : 1));
}

static void avail_flags(struct fin *in)
{
	struct virtq *vq = op_vq(in);
	uint16_t flags = fin_u16(in), ev = fin_u16(in);

	put16(vq->avail_gpa, flags);
	put16(vq->avail_gpa + 4 + 2ULL * vq->size, ev);
}

/*
 * What virtio_pci_modern does at probe: reset, ACKNOWLEDGE | DRIVER, the
 * features (those offered under the input's mask, or the mask itself),
 * FEATURES_OK, each queue's size, rings and vector, enable, DRIVER_OK.
 */
static void driver_up(struct fin *in)
{
	const uint8_t drv = VIRTIO_CONFIG_S_ACKNOWLEDGE |
			    VIRTIO_CONFIG_S_DRIVER;
	uint64_t mask = fin_u64(in), feat, base, q0;
	uint8_t sel = fin_u8(in), s;
	unsigned int q;
	uint16_t size;

	common_write(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	common_write(VIRTIO_PCI_COMMON_STATUS, 1, drv);
	common_write(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	feat = common_read(VIRTIO_PCI_COMMON_DF, 4) << 32;
	common_write(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	feat |= common_read(VIRTIO_PCI_COMMON_DF, 4);
	feat = sel & 1 ? mask : feat & ~mask;
	common_write(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	common_write(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)feat);
	common_write(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	common_write(VIRTIO_PCI_COMMON_GF, 4, feat >> 32);
	common_write(VIRTIO_PCI_COMMON_STATUS, 1,
		     drv | VIRTIO_CONFIG_S_FEATURES_OK);
	/* queue q: desc at base + q * 0x4000, avail + 0x1000, used + 0x2000 */
	base = sel & 2 ? fin_gpa(in) : (uint64_t)(sel >> 4) * 0x100;
	for (q = 0; q < f->dev.nr_queues; q++) {
		q0 = base + q * 0x4000ULL;
		s = fin_u8(in);
		size = s & 0x80 ? fin_u16(in) : 1u << (s % 9);
		common_write(VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		common_write(VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
		common_write(VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)q0);
		common_write(VIRTIO_PCI_COMMON_Q_DESCHI, 4, q0 >> 32);
		common_write(VIRTIO_PCI_COMMON_Q_AVAILLO, 4,
			     (uint32_t)(q0 + 0x1000));
		common_write(VIRTIO_PCI_COMMON_Q_AVAILHI, 4, (q0 + 0x1000) >> 32);
		common_write(VIRTIO_PCI_COMMON_Q_USEDLO, 4,
			     (uint32_t)(q0 + 0x2000));
		common_write(VIRTIO_PCI_COMMON_Q_USEDHI, 4, (q0 + 0x2000) >> 32);
		common_write(VIRTIO_PCI_COMMON_Q_MSIX, 2,
			     s & 0x40 ? VIRTIO_MSI_NO_VECTOR : q + 1);
		common_write(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	common_write(VIRTIO_PCI_COMMON_MSIX, 2, 0);
	common_write(VIRTIO_PCI_COMMON_STATUS, 1,
		     drv | VIRTIO_CONFIG_S_FEATURES_OK |
		     VIRTIO_CONFIG_S_DRIVER_OK);
}

/* MSI-X on (maybe with the function masked), entries unmasked by bits. */
static void msix_on(struct fin *in)
{
	uint8_t sel = fin_u8(in), bits = fin_u8(in);
	unsigned int v, cap = f->pci->msix_cap;
	uint64_t x;

	for (v = 0; v < f->pci->msix_nr; v++) {
		x = 0xfee00000;
		fm_check_status(fm_mmio(true, bar(1) + 16 * v, 4, &x));
		x = 0x40 + v;
		fm_check_status(fm_mmio(true, bar(1) + 16 * v + 8, 4, &x));
		x = bits >> (v & 7) & 1;	/* the mask bit */
		fm_check_status(fm_mmio(true, bar(1) + 16 * v + 12, 4, &x));
	}
	fm_cfg_write(f->pci->slot, cap + PCI_MSIX_FLAGS + 1, 1,
		     (PCI_MSIX_FLAGS_ENABLE >> 8) |
		     (sel & 1 ? PCI_MSIX_FLAGS_MASKALL >> 8 : 0));
}

static void host_frame(struct fin *in)
{
	static unsigned char frame[70000];
	uint16_t len = fin_u16(in);
	size_t n = len & 0x8000 ? sizeof(frame) : len % 2048;
	unsigned int k;

	if (f->type != FM_NET)
		return;
	for (k = 0; k < n; k++)
		frame[k] = (unsigned char)(len + k);
	(void)!send(fm.wire, frame, n, MSG_DONTWAIT);
}

/* What the device put on the wire goes: the socket never fills. */
static void wire_drain(void)
{
	static unsigned char buf[70000];

	if (f->type == FM_NET)
		while (recv(fm.wire, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			;
}

/* One turn of the I/O thread, and what it may not have done. */
FUZZ_CHECK static void io_turn(void)
{
	struct virtio_dev *dev = &f->dev;
	bool idle = !(dev->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
		    (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	uint16_t used[VIRTIO_MAX_QUEUES], avail[VIRTIO_MAX_QUEUES];
	unsigned long msis = fm.msis, lines = fm.line_changes;
	unsigned int q;

	if (idle) {
		memcpy(snap_low, fm.gm.base, FM_LOW);
		memcpy(snap_high, fm.gm.base + MEM_HIGH_START, FM_HIGH);
	}
	for (q = 0; q < dev->nr_queues; q++) {
		used[q] = dev->vqs[q].used_idx;
		avail[q] = dev->vqs[q].last_avail;
	}
	if (!virtio__wait_process(dev, 0))
		abort();
	if (idle && (memcmp(snap_low, fm.gm.base, FM_LOW) ||
		     memcmp(snap_high, fm.gm.base + MEM_HIGH_START, FM_HIGH) ||
		     fm.msis != msis || fm.line_changes != lines))
		abort();	/* a device that must do nothing did */
	for (q = 0; q < dev->nr_queues; q++)
		if ((uint16_t)(dev->vqs[q].used_idx - used[q]) >
		    (uint16_t)(dev->vqs[q].last_avail - avail[q]))
			abort();	/* more chains used than taken */
	wire_drain();
}

/* FUZZ_VERBOSE=1: where a run ended, to check what a seed reaches */
static bool verbose;

static void trace_end(void)
{
	unsigned int q;

	fprintf(stderr, "%s: status 0x%x, msis %lu, lines %lu;", f->dev.name,
		f->dev.status, fm.msis, fm.line_changes);
	for (q = 0; q < f->dev.nr_queues; q++)
		fprintf(stderr, " q%u: size %u%s%s popped %u used %u;", q,
			f->dev.vqs[q].size,
			f->dev.vqs[q].started ? " started" : "",
			f->dev.vqs[q].broken ? " broken" : "",
			f->dev.vqs[q].last_avail, f->dev.vqs[q].used_idx);
	fprintf(stderr, "\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = { data, size };
	uint8_t first = fin_u8(&in), sel, n;
	uint64_t gpa, v;
	unsigned int sz, off;
	struct virtq *vq;
	void *p;

	fm_up();
	f = &fm.vfn[fm_virtio_add(first % FM_NR_VIRTIO,
				  (first >> 2 & 0xf) * 512 + (first & 0x40 ? 100 : 0),
				  first & 0x80)];
	while (fin_more(&in)) {
		switch (fin_u8(&in) % OP_NR) {
		case OP_BAR_WRITE:
			gpa = bar_addr(&in);
			sz = fin_size(&in, 8);
			v = fin_u64(&in);
			fm_check_status(fm_mmio(true, gpa, sz, &v));
			break;
		case OP_BAR_READ:
			gpa = bar_addr(&in);
			sz = fin_size(&in, 8);
			fm_check_status(fm_mmio(false, gpa, sz, &v));
			break;
		case OP_RAM_WRITE:
			gpa = fin_gpa(&in);
			n = fin_u8(&in) % 65;
			p = fm_ram(gpa, n);
			while (n--) {
				sel = fin_u8(&in);
				if (p)
					*(uint8_t *)p++ = sel;
			}
			break;
		case OP_DESC:
			vq = op_vq(&in);
			off = fin_u8(&in);
			desc_op(&in, vq->desc_gpa, vq->size ? off % vq->size : off);
			break;
		case OP_DESC_AT:
			gpa = fin_gpa(&in);
			desc_op(&in, gpa, fin_u8(&in) % 16);
			break;
		case OP_OFFER:
			offer(&in);
			break;
		case OP_AVAIL_FLAGS:
			avail_flags(&in);
			break;
		case OP_NOTIFY:
			sel = fin_u8(&in);
			v = fin_u16(&in);
			fm_check_status(fm_mmio(true, bar(4) + VPCI_NOTIFY +
						(sel & 0x80 ? sel & 0x7f : 4 * (sel % 4)),
						2, &v));
			break;
		case OP_IO_TURN:
			io_turn();
			break;
		case OP_DRIVER_UP:
			driver_up(&in);
			break;
		case OP_MSIX_ON:
			msix_on(&in);
			break;
		case OP_CFG_WRITE:
			off = fin_u8(&in);
			sz = fin_size(&in, 4);
			fm_cfg_write(f->pci->slot, off, sz, fin_u32(&in));
			break;
		case OP_RESET:
			fm_reset();
			break;
		case OP_HOST_FRAME:
			host_frame(&in);
			break;
		}
	}
	io_turn();
	if (verbose)
		trace_end();
	fm_down();
	return 0;
}

/* ---- seeds: a well-behaved driver's requests, per device ---- */

static void s_gpa(struct fout *o, uint16_t gpa)
{
	fout_u8(o, 0);
	fout_u16(o, gpa);
}

static void s_len(struct fout *o, uint16_t len)
{
	fout_u8(o, 6);
	fout_u16(o, len);
}

/* device byte, then DRIVER_UP: all offered features, 16 entries, base 0 */
static void s_up(struct fout *o, uint8_t first)
{
	unsigned int q, nq = first % FM_NR_VIRTIO == FM_NET ||
			     first % FM_NR_VIRTIO == FM_CONSOLE ? 2 : 1;

	o->len = 0;
	fout_u8(o, first);
	fout_u8(o, OP_DRIVER_UP);
	fout_u64(o, 0);
	fout_u8(o, 0);
	for (q = 0; q < nq; q++)
		fout_u8(o, 4);
	fout_u8(o, OP_MSIX_ON);
	fout_u8(o, 0);
	fout_u8(o, 0);
}

static void s_desc(struct fout *o, uint8_t q, uint8_t i, uint16_t gpa,
		   uint16_t len, uint8_t flags, uint8_t next)
{
	fout_u8(o, OP_DESC);
	fout_u8(o, q);
	fout_u8(o, i);
	s_gpa(o, gpa);
	s_len(o, len);
	fout_u8(o, flags);
	fout_u8(o, next);
}

static void s_kick(struct fout *o, uint8_t q, uint8_t head)
{
	fout_u8(o, OP_OFFER);
	fout_u8(o, q);
	fout_u8(o, head);
	fout_u8(o, 0);
	fout_u8(o, OP_NOTIFY);
	fout_u8(o, q);
	fout_u16(o, q);
	fout_u8(o, OP_IO_TURN);
}

static void s_ram(struct fout *o, uint16_t gpa, const void *p, uint8_t n)
{
	const uint8_t *b = p;

	fout_u8(o, OP_RAM_WRITE);
	s_gpa(o, gpa);
	fout_u8(o, n);
	while (n--)
		fout_u8(o, *b++);
}

static int write_seeds(const char *dir)
{
	struct virtio_blk_outhdr hdr = { .type = htole32(VIRTIO_BLK_T_OUT),
					 .sector = htole64(1) };
	static struct fout o;
	int ret = 0;

	/* virtio-blk, 8 sectors: OUT to sector 1, IN of it, then GET_ID */
	s_up(&o, FM_BLK | 8 << 2);
	s_ram(&o, 0x8000, &hdr, sizeof(hdr));
	s_desc(&o, 0, 0, 0x8000, 16, VRING_DESC_F_NEXT, 1);
	s_desc(&o, 0, 1, 0x9000, 512, VRING_DESC_F_NEXT, 2);
	s_desc(&o, 0, 2, 0x8800, 1, VRING_DESC_F_WRITE, 0);
	s_kick(&o, 0, 0);
	hdr.type = htole32(VIRTIO_BLK_T_IN);
	s_ram(&o, 0x8000, &hdr, sizeof(hdr));
	s_desc(&o, 0, 1, 0x9000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
	       2);
	s_kick(&o, 0, 0);
	hdr.type = htole32(VIRTIO_BLK_T_GET_ID);
	s_ram(&o, 0x8000, &hdr, sizeof(hdr));
	s_desc(&o, 0, 1, 0x9000, 20, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
	       2);
	s_kick(&o, 0, 0);
	ret |= fout_write(&o, dir, "blk");
	/* an indirect table of the same three at 0xa000 */
	s_up(&o, FM_BLK | 8 << 2);
	s_ram(&o, 0x8000, &hdr, sizeof(hdr));
	s_desc(&o, 0, 0, 0xa000, 48, VRING_DESC_F_INDIRECT, 0);
	fout_u8(&o, OP_DESC_AT);
	s_gpa(&o, 0xa000);
	fout_u8(&o, 0);
	s_gpa(&o, 0x8000);
	s_len(&o, 16);
	fout_u8(&o, VRING_DESC_F_NEXT);
	fout_u8(&o, 1);
	fout_u8(&o, OP_DESC_AT);
	s_gpa(&o, 0xa000);
	fout_u8(&o, 1);
	s_gpa(&o, 0x9000);
	s_len(&o, 20);
	fout_u8(&o, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
	fout_u8(&o, 2);
	fout_u8(&o, OP_DESC_AT);
	s_gpa(&o, 0xa000);
	fout_u8(&o, 2);
	s_gpa(&o, 0x8800);
	s_len(&o, 1);
	fout_u8(&o, VRING_DESC_F_WRITE);
	fout_u8(&o, 0);
	s_kick(&o, 0, 0);
	ret |= fout_write(&o, dir, "blk_indirect");
	/* virtio-net: a frame out on queue 1, one in on queue 0 */
	s_up(&o, FM_NET);
	s_desc(&o, 1, 0, 0x8000, 12 + 60, 0, 0);
	s_kick(&o, 1, 0);
	s_desc(&o, 0, 0, 0x9000, 1526, VRING_DESC_F_WRITE, 0);
	fout_u8(&o, OP_HOST_FRAME);
	fout_u16(&o, 64);
	s_kick(&o, 0, 0);
	ret |= fout_write(&o, dir, "net");
	/* virtio-console: "hello" in two descriptors */
	s_up(&o, FM_CONSOLE);
	s_ram(&o, 0x8000, "hello", 5);
	s_desc(&o, 1, 0, 0x8000, 2, VRING_DESC_F_NEXT, 1);
	s_desc(&o, 1, 1, 0x8002, 3, 0, 0);
	s_kick(&o, 1, 0);
	ret |= fout_write(&o, dir, "console");
	/* virtio-rng: 64 bytes */
	s_up(&o, FM_RNG);
	s_desc(&o, 0, 0, 0x8000, 64, VRING_DESC_F_WRITE, 0);
	s_kick(&o, 0, 0);
	ret |= fout_write(&o, dir, "rng");
	return ret;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fuzz_seeds_dir(*argc, *argv);

	if (dir)
		exit(write_seeds(dir) ? 1 : 0);
	verbose = getenv("FUZZ_VERBOSE");
	return 0;
}
