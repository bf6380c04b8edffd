// SPDX-License-Identifier: GPL-2.0
/*
 * COM1: the 16550 UART model of uart.c on ports 0x3f8-0x3ff, wired to the
 * launcher's serial lines.  A byte the guest writes to THR goes at once
 * to the serial output (stdout, or the file of --serial); the receive FIFO
 * is filled from stdin, without blocking, when the guest looks at LSR or
 * RBR.  Byte accesses only: a wider one is left unclaimed, and ioport.c
 * answers it as an unknown port.
 *
 * IRQ 4 follows uart.c's interrupt output (KHYP_IRQ_LINE, when the VM
 * has an irqchip).  A guest that waits for input with HLT makes no exit
 * that would look at stdin, so with an irqchip an input thread does:
 * it waits for stdin to be readable and, under m->lock, moves what it
 * holds into the receive FIFO, which raises the receive interrupt if
 * the guest enabled it.  While the FIFO is full the thread waits for
 * the guest to drain it (it checks again every 10 ms).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../khyp.h"

void serial__write(struct machine *m, uint8_t c)
{
	ssize_t n;

	do {
		n = write(m->out_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
}

/* A byte the guest wrote to THR: out, and seen by --boot-report. */
static void serial__tx(void *opaque, uint8_t c)
{
	struct machine *m = opaque;

	serial__write(m, c);
	boot_report__output(&m->boot_report, &c, 1);
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

static void serial__irq(void *opaque, bool level)
{
	machine__irq_line(opaque, UART_COM1_IRQ, level);
}

static void *serial__thread(void *arg)
{
	struct machine *m = arg;
	struct pollfd p = { .events = POLLIN };
	bool full;

	while (!m->serial_thread_stop) {
		p.fd = m->in_fd;
		if (p.fd < 0)
			break;			/* end of input */
		if (poll(&p, 1, 100) <= 0)
			continue;
		pthread_mutex_lock(&m->lock);
		full = !uart__rx_room(&m->uart);
		if (!full)
			serial__poll_input(m);
		pthread_mutex_unlock(&m->lock);
		if (full)
			usleep(10000);
	}
	return NULL;
}

/* After m->lock exists: the input thread, with an irqchip and stdin. */
int serial__start(struct machine *m)
{
	int r;

	if (!m->vm.irqchip || m->in_fd < 0)
		return 0;
	m->serial_thread_stop = false;
	r = devices__thread(&m->serial_thread, serial__thread, m);
	if (r) {
		errno = r;
		return -1;
	}
	m->serial_thread_on = true;
	return 0;
}

void serial__stop(struct machine *m)
{
	if (!m->serial_thread_on)
		return;
	m->serial_thread_stop = true;
	pthread_join(m->serial_thread, NULL);	/* within 100 ms */
	m->serial_thread_on = false;
}

/* A machine reset: the UART as at power-on; its input stays. */
void serial__reset(struct machine *m)
{
	uart__init(&m->uart, serial__tx, serial__irq, m);
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

	serial__reset(m);
	return bus__register(&m->ports, &com1, err, errlen);
}
