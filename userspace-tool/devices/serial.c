// SPDX-License-Identifier: GPL-2.0
/*
 * COM1: the 16550 UART model of uart.c on ports 0x3f8-0x3ff, wired to the
 * launcher's serial lines.  A byte the guest writes to THR goes at once
 * to the serial output (stdout, or the file of --serial); the receive FIFO
 * is filled from stdin, without blocking, when the guest looks at LSR or
 * RBR.  Byte accesses only: a wider one is left unclaimed, and ioport.c
 * answers it as an unknown port.
 *
 * No interrupt line: khyp has no interrupt controller yet.  When the
 * platform issue gives the launcher a way to raise one (irqfd-like), IRQ 4
 * follows what uart.c's IIR already computes.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "../khyp.h"

void serial__write(struct machine *m, uint8_t c)
{
	ssize_t n;

	do {
		n = write(m->out_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
}

static void serial__tx(void *opaque, uint8_t c)
{
	serial__write(opaque, c);
}

/* Move what stdin has into the receive FIFO, without blocking. */
static void serial__poll_input(struct machine *m)
{
	struct pollfd p = { .fd = m->in_fd, .events = POLLIN };
	uint8_t buf[UART_RX_SIZE];
	unsigned int room = uart__rx_room(&m->uart);
	ssize_t n;

	if (m->in_fd < 0 || !room || poll(&p, 1, 0) <= 0)
		return;
	n = read(m->in_fd, buf, room);
	if (n > 0)
		uart__rx_push(&m->uart, buf, n);
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		m->in_fd = -1;		/* end of input */
}

static int serial__io(struct bus_access *a, void *opaque)
{
	struct machine *m = opaque;

	if (a->write) {
		uart__out(&m->uart, a->off, a->data);
		return RUN_CONTINUE;
	}
	if (a->off == UART_LSR || a->off == UART_RBR)
		serial__poll_input(m);
	a->data = uart__in(&m->uart, a->off);
	return RUN_CONTINUE;
}

int serial__init(struct machine *m, char *err, size_t errlen)
{
	const struct bus_dev com1 = {
		.name = "COM1",
		.base = UART_COM1_BASE,
		.len = UART_NR_REGS,
		.widths = BUS_WIDTH_1,
		.handle = serial__io,
		.opaque = m,
	};

	uart__init(&m->uart, serial__tx, m);
	return bus__register(&m->ports, &com1, err, errlen);
}
