/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 16550A UART: the registers at base + 0..7, a receive FIFO the
 * launcher fills from its input, and the transmitter, which is always
 * empty because every byte written to THR goes out at once through the
 * tx callback.
 *
 * Interrupts as the 16550 raises them, by IIR's priority: received data
 * (IER bit 0, while the FIFO holds a byte), then THR empty (IER bit 1:
 * pending when the bit is enabled with THR empty and after each byte
 * written to THR, cleared by a read of IIR that reports it or by the
 * next write to THR).  No line-status or modem-status interrupt ever
 * becomes pending (no errors, modem lines fixed).  The interrupt output
 * follows IIR as a level, gated by MCR's OUT2 as on a PC's board (and
 * off in loopback mode): the irq callback is called when it changes.
 */
#ifndef KHYP_UART_H
#define KHYP_UART_H

#include <stdbool.h>
#include <stdint.h>

#define UART_COM1_BASE	0x3f8
#define UART_COM1_IRQ	4
#define UART_NR_REGS	8

/* register offsets */
#define UART_RBR	0	/* in: receive buffer (DLAB = 0) */
#define UART_THR	0	/* out: transmit holding (DLAB = 0) */
#define UART_DLL	0	/* divisor latch low (DLAB = 1) */
#define UART_IER	1	/* interrupt enable (DLAB = 0) */
#define UART_DLM	1	/* divisor latch high (DLAB = 1) */
#define UART_IIR	2	/* in: interrupt identification */
#define UART_FCR	2	/* out: FIFO control */
#define UART_LCR	3	/* line control */
#define UART_MCR	4	/* modem control */
#define UART_LSR	5	/* line status */
#define UART_MSR	6	/* modem status */
#define UART_SCR	7	/* scratch */

#define UART_LCR_DLAB	0x80
#define UART_LSR_DR	0x01	/* data ready */
#define UART_LSR_THRE	0x20	/* transmit holding register empty */
#define UART_LSR_TEMT	0x40	/* transmitter idle */
#define UART_IER_RDI	0x01
#define UART_IER_THRI	0x02
#define UART_IER_MASK	0x0f
#define UART_IIR_NO_INT	0x01
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_FIFO	0xc0	/* FIFOs enabled */
#define UART_FCR_ENABLE	0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_MCR_OUT2	0x08	/* a PC's board: the IRQ line's enable */
#define UART_MCR_LOOP	0x10
#define UART_MSR_IDLE	0xb0	/* DCD, DSR, CTS */

#define UART_RX_SIZE	256

struct uart {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint8_t rx[UART_RX_SIZE];	/* ring: rx_head is the next byte */
	unsigned int rx_head, rx_count;
	bool thr_ipending;		/* the THR empty interrupt is pending */
	bool irq_level;			/* the output as last reported */
	void (*tx)(void *opaque, uint8_t c);
	void (*irq)(void *opaque, bool level);	/* may be NULL */
	void *opaque;
};

/* Power-on state (9600 baud, nothing enabled); irq may be NULL. */
void uart__init(struct uart *u, void (*tx)(void *, uint8_t),
		void (*irq)(void *, bool), void *opaque);
uint8_t uart__in(struct uart *u, unsigned int off);
void uart__out(struct uart *u, unsigned int off, uint8_t v);
/* Room in the receive FIFO, and adding to it: returns bytes taken. */
unsigned int uart__rx_room(const struct uart *u);
unsigned int uart__rx_push(struct uart *u, const uint8_t *buf,
			   unsigned int len);

#endif /* KHYP_UART_H */
