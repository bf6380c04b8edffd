// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the small devices a guest reaches by port I/O:
 * the CMOS RTC (0x70-0x71), the i8042 (0x60, 0x64), port 0x92 and the
 * reset control register (0xcf9), the ACPI PM1 block and timer (0x600)
 * and GPE0 (0x620), COM1's 16550 (0x3f8-0x3ff), fw_cfg (0x510-0x511),
 * the debug exit (0xf4), POST (0x80), pvpanic (0x505) and PCI's 0xcf8,
 * through ioport__handle as an IN or OUT of 1, 2 or 4 bytes reaches
 * them, on the machine of fuzz_dev.h.  Between the accesses the fake
 * clock moves (the RTC's and the PM timer's), bytes arrive on the serial
 * input, and the RTC's timer thread takes its turn (rtc__wait_ns, as the
 * thread calls it).  A reset, poweroff, panic or debug exit is a fine
 * outcome: the machine is reset as `khyp run --reboot restart` does and
 * the input goes on.
 *
 * After every operation, besides ASan/UBSan: an IN's value fits its
 * size; the RTC's IRQ 8 is up exactly when register C's IRQF is set, and
 * its index is a register; the i8042's IRQ 1 and 12 are what its queue
 * and command byte say; the UART's FIFO and the i8042's queue are within
 * their rings.
 */
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_dev.h"

enum op {
	OP_IN,			/* port, size */
	OP_OUT,			/* port, size, value */
	OP_OUT2,		/* the same: writes weigh more */
	OP_CLOCK,		/* how far the clock moves */
	OP_SERIAL_IN,		/* n, n bytes */
	OP_RTC_TURN,		/* the RTC's thread wakes */
	OP_RESET,
	OP_NR,
};

/* The ports of the machine, and the first of each device's range. */
static const struct { uint16_t base, len; } ports[] = {
	{ 0x70, 2 }, { 0x60, 1 }, { 0x64, 1 }, { 0x92, 1 }, { 0xcf9, 1 },
	{ 0x600, 16 }, { 0x620, 16 }, { 0x3f8, 8 }, { 0x510, 2 },
	{ 0xf4, 1 }, { 0x80, 1 }, { 0x505, 1 }, { 0xcf8, 8 },
};

static uint16_t fin_port(struct fin *in)
{
	uint8_t sel = fin_u8(in);

	if (sel == 0xff)
		return fin_u16(in);
	sel %= sizeof(ports) / sizeof(ports[0]);
	return ports[sel].base + fin_u8(in) % (ports[sel].len + 1);
}

FUZZ_CHECK static void check(void)
{
	const struct rtc *r = &fm.m.rtc;
	const struct i8042 *k = &fm.m.i8042;
	const struct uart *u = &fm.m.uart;
	bool aux;

	if (r->irq_level != !!(r->ram[RTC_REG_C] & RTC_C_IRQF) ||
	    r->index >= RTC_SIZE)
		abort();
	if (k->count > I8042_QUEUE || k->head >= I8042_QUEUE)
		abort();
	aux = k->count && k->queue_aux[k->head];
	if (k->irq_level[0] != (k->count && !aux &&
				(k->ctr & I8042_CTR_KBDINT)) ||
	    k->irq_level[1] != (aux && (k->ctr & I8042_CTR_AUXINT)))
		abort();
	if (u->rx_count > UART_RX_SIZE || u->rx_head >= UART_RX_SIZE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = { data, size };
	unsigned int sz, n, k;
	uint8_t buf[32], sel, op;
	uint16_t port;
	uint32_t v;
	bool wr;

	/* the host's time at power-on: 1970 to 2106 */
	fm_clock_ns = (int64_t)fin_u32(&in) * 1000000000LL;
	fm_up();
	while (fin_more(&in)) {
		op = fin_u8(&in) % OP_NR;
		switch (op) {
		case OP_IN:
		case OP_OUT:
		case OP_OUT2:
			wr = op != OP_IN;
			port = fin_port(&in);
			sz = fin_size(&in, 4);
			v = wr ? fin_u32(&in) : 0;
			fm_check_status(fm_port(wr, port, sz, &v));
			break;
		case OP_CLOCK:
			sel = fin_u8(&in);
			switch (sel & 3) {
			case 0:
				fm_clock_ns += fin_u8(&in) * 1000000LL;
				break;
			case 1:
				fm_clock_ns += 244000 * (sel >> 2);	/* UIP */
				break;
			case 2:
				fm_clock_ns += fin_u8(&in) * 1000000000LL;
				break;
			default:
				fm_clock_ns += fin_u32(&in);
				break;
			}
			break;
		case OP_SERIAL_IN:
			n = fin_u8(&in) % sizeof(buf);
			for (k = 0; k < n; k++)
				buf[k] = fin_u8(&in);
			(void)!write(fm.in_wr, buf, n);
			break;
		case OP_RTC_TURN:
			if (rtc__wait_ns(&fm.m.rtc) < -1)
				abort();
			break;
		case OP_RESET:
			fm_reset();
			break;
		}
		check();
	}
	fm_down();
	return 0;
}

/* ---- seeds: what firmware and Linux do at these ports ---- */

static void s_out(struct fout *o, uint8_t sel, uint8_t off, uint8_t size,
		  uint32_t v)
{
	fout_u8(o, OP_OUT);
	fout_u8(o, sel);
	fout_u8(o, off);
	fout_u8(o, size);
	fout_u32(o, v);
}

static void s_in(struct fout *o, uint8_t sel, uint8_t off, uint8_t size)
{
	fout_u8(o, OP_IN);
	fout_u8(o, sel);
	fout_u8(o, off);
	fout_u8(o, size);
}

static int write_seeds(const char *dir)
{
	static struct fout o;
	int ret = 0;
	unsigned int i;

	/* the RTC: read the time, set the periodic interrupt, read C */
	o.len = 0;
	fout_u32(&o, 1796000000);
	for (i = 0; i < 10; i++) {
		s_out(&o, 0, 0, 0, i);
		s_in(&o, 0, 1, 0);
	}
	s_out(&o, 0, 0, 0, RTC_REG_B);
	s_out(&o, 0, 1, 0, RTC_B_24H | RTC_B_PIE | RTC_B_UIE | RTC_B_AIE);
	fout_u8(&o, OP_CLOCK);
	fout_u8(&o, 2);
	fout_u8(&o, 2);
	fout_u8(&o, OP_RTC_TURN);
	s_out(&o, 0, 0, 0, RTC_REG_C);
	s_in(&o, 0, 1, 0);
	/* set the time: SET, a new hour, SET off */
	s_out(&o, 0, 0, 0, RTC_REG_B);
	s_out(&o, 0, 1, 0, RTC_B_SET | RTC_B_24H);
	s_out(&o, 0, 0, 0, RTC_HOURS);
	s_out(&o, 0, 1, 0, 0x23);
	s_out(&o, 0, 0, 0, RTC_REG_B);
	s_out(&o, 0, 1, 0, RTC_B_24H);
	ret |= fout_write(&o, dir, "rtc");
	/* the i8042: self test, read and write the command byte, reset */
	o.len = 0;
	fout_u32(&o, 1796000000);
	s_out(&o, 2, 0, 0, 0xaa);
	s_in(&o, 1, 0, 0);
	s_out(&o, 2, 0, 0, 0x20);
	s_in(&o, 2, 0, 0);
	s_in(&o, 1, 0, 0);
	s_out(&o, 2, 0, 0, 0x60);
	s_out(&o, 1, 0, 0, 0x47);
	s_out(&o, 2, 0, 0, 0xd4);
	s_out(&o, 1, 0, 0, 0xff);
	s_in(&o, 1, 0, 0);
	s_out(&o, 2, 0, 0, 0xfe);
	ret |= fout_write(&o, dir, "i8042");
	/* ACPI: the PM timer, SCI_EN, GPE0, S5 */
	o.len = 0;
	fout_u32(&o, 1796000000);
	s_in(&o, 5, 8, 2);
	fout_u8(&o, OP_CLOCK);
	fout_u8(&o, 3);
	fout_u32(&o, 100000000);
	s_in(&o, 5, 8, 2);
	s_out(&o, 5, 2, 1, 0x0121);
	s_in(&o, 5, 0, 1);
	s_out(&o, 6, 8, 0, 0xff);
	s_in(&o, 6, 0, 2);
	s_out(&o, 5, 4, 1, 5 << 10 | 1 << 13);
	ret |= fout_write(&o, dir, "acpi");
	/* COM1: 8N1 at 115200, FIFO, interrupts, input, a byte out */
	o.len = 0;
	fout_u32(&o, 1796000000);
	s_out(&o, 7, 3, 0, 0x80);
	s_out(&o, 7, 0, 0, 1);
	s_out(&o, 7, 3, 0, 3);
	s_out(&o, 7, 2, 0, 0xc7);
	s_out(&o, 7, 4, 0, 0x0b);
	s_out(&o, 7, 1, 0, 3);
	fout_u8(&o, OP_SERIAL_IN);
	fout_u8(&o, 3);
	fout_u8(&o, 'a');
	fout_u8(&o, 'b');
	fout_u8(&o, 'c');
	s_in(&o, 7, 5, 0);
	s_in(&o, 7, 2, 0);
	s_in(&o, 7, 0, 0);
	s_out(&o, 7, 0, 0, 'x');
	ret |= fout_write(&o, dir, "uart");
	/* fw_cfg: the signature, the file directory */
	o.len = 0;
	fout_u32(&o, 1796000000);
	s_out(&o, 8, 0, 1, 0);
	for (i = 0; i < 4; i++)
		s_in(&o, 8, 1, 0);
	s_out(&o, 8, 0, 1, 0x19);
	for (i = 0; i < 12; i++)
		s_in(&o, 8, 1, 0);
	ret |= fout_write(&o, dir, "fw_cfg");
	/* 0x92 and 0xcf9 resets, the debug exit, pvpanic */
	o.len = 0;
	fout_u32(&o, 1796000000);
	s_out(&o, 3, 0, 0, 1);
	s_out(&o, 4, 0, 0, 2);
	s_out(&o, 4, 0, 0, 6);
	s_out(&o, 9, 0, 0, 0x10);
	s_out(&o, 11, 0, 0, 1);
	fout_u8(&o, OP_RESET);
	ret |= fout_write(&o, dir, "reset");
	return ret;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fuzz_seeds_dir(*argc, *argv);

	if (dir)
		exit(write_seeds(dir) ? 1 : 0);
	return 0;
}
