// SPDX-License-Identifier: GPL-2.0
/*
 * The 16550A UART model (uart.h).  Pure register logic, no I/O of its
 * own: serial.c puts it on ports 0x3f8-0x3ff, calls uart__in/uart__out
 * and fills the receive FIFO from stdin; loader_test checks it natively.
 */
#include <stdbool.h>
#include <string.h>

#include "uart.h"

void uart__init(struct uart *u, void (*tx)(void *, uint8_t), void *opaque)
{
	memset(u, 0, sizeof(*u));
	u->dll = 12;		/* 9600 baud, as after a PC's reset */
	u->tx = tx;
	u->opaque = opaque;
}

unsigned int uart__rx_room(const struct uart *u)
{
	return UART_RX_SIZE - u->rx_count;
}

unsigned int uart__rx_push(struct uart *u, const uint8_t *buf,
			   unsigned int len)
{
	unsigned int i, n = len < uart__rx_room(u) ? len : uart__rx_room(u);

	for (i = 0; i < n; i++)
		u->rx[(u->rx_head + u->rx_count + i) % UART_RX_SIZE] = buf[i];
	u->rx_count += n;
	return n;
}

static uint8_t uart__rx_pop(struct uart *u)
{
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_RX_SIZE;
	u->rx_count--;
	return c;
}

/* What IIR would say if the interrupt line were wired. */
static uint8_t uart__iir(const struct uart *u)
{
	uint8_t fifo = u->fcr & UART_FCR_ENABLE ? UART_IIR_FIFO : 0;

	if ((u->ier & UART_IER_RDI) && u->rx_count)
		return fifo | UART_IIR_RDI;
	if (u->ier & UART_IER_THRI)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NO_INT;
}

uint8_t uart__in(struct uart *u, unsigned int off)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_RBR:
		return dlab ? u->dll : uart__rx_pop(u);
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		return uart__iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT |
		       (u->rx_count ? UART_LSR_DR : 0);
	case UART_MSR:
		return UART_MSR_IDLE;
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

void uart__out(struct uart *u, unsigned int off, uint8_t v)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_THR:
		if (dlab)
			u->dll = v;
		else if (u->mcr & UART_MCR_LOOP)
			uart__rx_push(u, &v, 1);	/* loopback test */
		else if (u->tx)
			u->tx(u->opaque, v);
		break;
	case UART_IER:
		if (dlab)
			u->dlm = v;
		else
			u->ier = v & 0x0f;
		break;
	case UART_FCR:
		u->fcr = v & 0xc9;	/* enable, DMA mode, trigger level */
		if (v & UART_FCR_CLEAR_RX)
			u->rx_head = u->rx_count = 0;
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	}
	/* LSR and MSR are read-only */
}
