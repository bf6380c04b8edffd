// SPDX-License-Identifier: GPL-2.0
/*
 * The 16550A UART model (uart.h).  Pure register logic, no I/O of its
 * own: serial.c puts it on ports 0x3f8-0x3ff, calls uart__in/uart__out,
 * fills the receive FIFO from stdin and turns the irq callback into
 * IRQ 4; loader_test checks it natively.
 */
#include <stdbool.h>
#include <string.h>

#include "uart.h"

void uart__init(struct uart *u, void (*tx)(void *, uint8_t),
		void (*irq)(void *, bool), void *opaque)
{
	memset(u, 0, sizeof(*u));
	u->dll = 12;		/* 9600 baud, as after a PC's reset */
	u->tx = tx;
	u->irq = irq;
	u->opaque = opaque;
}

/* IIR's interrupt identification: the highest-priority pending source. */
static uint8_t uart__iir_id(const struct uart *u)
{
	if ((u->ier & UART_IER_RDI) && u->rx_count)
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thr_ipending)
		return UART_IIR_THRI;
	return UART_IIR_NO_INT;
}

/* The interrupt output follows IIR, through OUT2; report a change. */
static void uart__update_irq(struct uart *u)
{
	bool level = uart__iir_id(u) != UART_IIR_NO_INT &&
		     (u->mcr & (UART_MCR_OUT2 | UART_MCR_LOOP)) == UART_MCR_OUT2;

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->irq)
		u->irq(u->opaque, level);
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
	uart__update_irq(u);
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

/* A read of IIR: reporting THR empty clears it. */
static uint8_t uart__iir(struct uart *u)
{
	uint8_t id = uart__iir_id(u);

	if (id == UART_IIR_THRI)
		u->thr_ipending = false;
	return (u->fcr & UART_FCR_ENABLE ? UART_IIR_FIFO : 0) | id;
}

static uint8_t uart__in_reg(struct uart *u, unsigned int off)
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

uint8_t uart__in(struct uart *u, unsigned int off)
{
	uint8_t v = uart__in_reg(u, off);

	uart__update_irq(u);
	return v;
}

static void uart__out_reg(struct uart *u, unsigned int off, uint8_t v)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_THR:
		if (dlab) {
			u->dll = v;
			break;
		}
		if (u->mcr & UART_MCR_LOOP)
			uart__rx_push(u, &v, 1);	/* loopback test */
		else if (u->tx)
			u->tx(u->opaque, v);
		/* sent at once: THR is empty again, and says so */
		u->thr_ipending = true;
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = v;
			break;
		}
		/* enabling THRI with THR empty (always) makes it pending */
		if ((v & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
			u->thr_ipending = true;
		u->ier = v & UART_IER_MASK;
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

void uart__out(struct uart *u, unsigned int off, uint8_t v)
{
	uart__out_reg(u, off, v);
	uart__update_irq(u);
}
