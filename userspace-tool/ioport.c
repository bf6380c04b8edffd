// SPDX-License-Identifier: GPL-2.0
/*
 * What the guest reaches outside its RAM: I/O ports, MMIO, hypercalls.
 *
 *   0x3f8-0x3ff  COM1, the 16550 UART of devices/uart.c: output to the serial
 *                output (stdout or --serial FILE), input from stdin
 *   0xf4         debug exit (QEMU's isa-debug-exit): a write of v stops
 *                the launcher with status (v << 1) | 1
 *   0x80         POST codes: ignored
 *   any other    reads all-ones, writes are ignored; counted, and with
 *                --strict the launcher stops (STATUS_STRICT)
 *
 * MMIO outside RAM is treated like an unknown port.  Hypercall 1 writes
 * its first argument's low byte to the serial output and returns 0; any
 * other number returns -1.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "khyp.h"

#define PORT_DEBUG_EXIT		0xf4
#define PORT_POST		0x80

static uint64_t size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

void serial__write(struct machine *m, uint8_t c)
{
	ssize_t n;

	do {
		n = write(m->out_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
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

static int ioport__unknown(struct machine *m, struct khyp_run *run)
{
	if (!m->unknown_io++)
		m->first_unknown_port = run->io.port;
	if (m->opts->strict) {
		fprintf(stderr, "khyp: --strict: guest %s port 0x%x (size %u)\n",
			run->io.direction == KHYP_IO_IN ? "read" : "wrote",
			run->io.port, run->io.size);
		return STATUS_STRICT;
	}
	return RUN_CONTINUE;
}

static int ioport__uart(struct machine *m, struct khyp_run *run)
{
	unsigned int off = run->io.port - UART_COM1_BASE;

	if (run->io.direction == KHYP_IO_OUT) {
		uart__out(&m->uart, off, run->io.data);
		return RUN_CONTINUE;
	}
	if (off == UART_LSR || off == UART_RBR)
		serial__poll_input(m);
	run->io.data = uart__in(&m->uart, off);
	return RUN_CONTINUE;
}

int ioport__handle(struct machine *m, struct vcpu *vcpu)
{
	struct khyp_run *run = vcpu->run;
	uint16_t port = run->io.port;
	bool out = run->io.direction == KHYP_IO_OUT;

	if (out)
		run->io.data &= size_mask(run->io.size);
	else
		run->io.data = size_mask(run->io.size);
	if (port >= UART_COM1_BASE && port < UART_COM1_BASE + UART_NR_REGS &&
	    run->io.size == 1)
		return ioport__uart(m, run);
	if (port == PORT_DEBUG_EXIT) {
		if (!out)
			return RUN_CONTINUE;
		if (m->opts->trace)
			fprintf(stderr, "khyp: debug exit: guest wrote 0x%" PRIx64 ", status %u\n",
				(uint64_t)run->io.data,
				(unsigned int)((run->io.data << 1) | 1) & 0xff);
		return ((run->io.data << 1) | 1) & 0xff;
	}
	if (port == PORT_POST)
		return RUN_CONTINUE;
	return ioport__unknown(m, run);
}

int mmio__handle(struct machine *m, struct vcpu *vcpu)
{
	struct khyp_run *run = vcpu->run;

	if (!run->mmio.is_write)
		run->mmio.data = size_mask(run->mmio.size);
	if (!m->unknown_mmio++)
		m->first_unknown_gpa = run->mmio.phys_addr;
	if (m->opts->strict) {
		fprintf(stderr, "khyp: --strict: guest %s MMIO at 0x%" PRIx64 " (size %u)\n",
			run->mmio.is_write ? "wrote" : "read",
			(uint64_t)run->mmio.phys_addr, run->mmio.size);
		return STATUS_STRICT;
	}
	return RUN_CONTINUE;
}

int hypercall__handle(struct machine *m, struct vcpu *vcpu)
{
	struct khyp_run *run = vcpu->run;

	switch (run->hypercall.nr) {
	case HC_PUTCHAR:
		serial__write(m, run->hypercall.args[0]);
		run->hypercall.ret = 0;
		break;
	default:
		run->hypercall.ret = (uint64_t)-1;
		break;
	}
	return RUN_CONTINUE;
}
