// SPDX-License-Identifier: GPL-2.0
/* The launcher's 16550 UART model (devices/uart.c), as a polling guest uses it. */
#include <string.h>

#include "test.h"
#include "../devices/uart.h"

static char tx_buf[64];
static unsigned int tx_len;

static void tx(void *opaque, uint8_t c)
{
	(void)opaque;
	if (tx_len < sizeof(tx_buf))
		tx_buf[tx_len++] = c;
}

static bool irq_level;
static unsigned int irq_changes;

static void irq(void *opaque, bool level)
{
	(void)opaque;
	irq_level = level;
	irq_changes++;
}

static void uart_setup(struct uart *u)
{
	tx_len = 0;
	irq_level = false;
	irq_changes = 0;
	uart__init(u, tx, irq, NULL);
}

static void uart_thr_transmits(struct tctx *t)
{
	static struct uart u;

	uart_setup(&u);
	CHECK(t, uart__in(&u, UART_LSR) == 0x60);
	uart__out(&u, UART_THR, 'h');
	uart__out(&u, UART_THR, 'i');
	CHECK(t, tx_len == 2 && !memcmp(tx_buf, "hi", 2));
	CHECK(t, uart__in(&u, UART_LSR) == 0x60);	/* still empty */
}

static void uart_rx_fifo(struct tctx *t)
{
	static struct uart u;

	uart_setup(&u);
	CHECK(t, uart__rx_push(&u, (const uint8_t *)"ab", 2) == 2);
	CHECK(t, uart__in(&u, UART_LSR) == (0x60 | UART_LSR_DR));
	CHECK(t, uart__in(&u, UART_RBR) == 'a');
	CHECK(t, uart__in(&u, UART_RBR) == 'b');
	CHECK(t, uart__in(&u, UART_LSR) == 0x60);
	CHECK(t, uart__in(&u, UART_RBR) == 0);		/* empty reads 0 */
}

static void uart_rx_full(struct tctx *t)
{
	static uint8_t big[UART_RX_SIZE + 10];
	static struct uart u;
	unsigned int i;

	uart_setup(&u);
	for (i = 0; i < sizeof(big); i++)
		big[i] = i;
	CHECK(t, uart__rx_push(&u, big, sizeof(big)) == UART_RX_SIZE);
	CHECK(t, uart__rx_room(&u) == 0);
	CHECK(t, uart__in(&u, UART_RBR) == 0);
	CHECK(t, uart__rx_room(&u) == 1);
	/* the ring wraps */
	CHECK(t, uart__rx_push(&u, big, 5) == 1);
	for (i = 1; i < UART_RX_SIZE; i++)
		CHECK(t, uart__in(&u, UART_RBR) == (uint8_t)i);
	CHECK(t, uart__in(&u, UART_RBR) == 0);
	CHECK(t, !(uart__in(&u, UART_LSR) & UART_LSR_DR));
}

static void uart_dlab_divisor(struct tctx *t)
{
	static struct uart u;

	uart_setup(&u);
	uart__out(&u, UART_LCR, 0x83);		/* DLAB, 8N1 */
	uart__out(&u, UART_DLL, 1);
	uart__out(&u, UART_DLM, 0);
	CHECK(t, tx_len == 0);			/* not transmitted */
	CHECK(t, uart__in(&u, UART_DLL) == 1 && uart__in(&u, UART_DLM) == 0);
	uart__out(&u, UART_LCR, 0x03);
	CHECK(t, uart__in(&u, UART_LCR) == 0x03);
	CHECK(t, uart__in(&u, UART_IER) == 0);
	uart__out(&u, UART_THR, 'x');
	CHECK(t, tx_len == 1 && tx_buf[0] == 'x');
}

static void uart_registers_store(struct tctx *t)
{
	static struct uart u;

	uart_setup(&u);
	uart__out(&u, UART_SCR, 0x5a);
	CHECK(t, uart__in(&u, UART_SCR) == 0x5a);
	uart__out(&u, UART_MCR, 0x0b);
	CHECK(t, uart__in(&u, UART_MCR) == 0x0b);
	uart__out(&u, UART_IER, 0xff);
	CHECK(t, uart__in(&u, UART_IER) == 0x0f);
	CHECK(t, uart__in(&u, UART_MSR) == UART_MSR_IDLE);
	uart__out(&u, UART_LSR, 0);		/* read-only */
	CHECK(t, uart__in(&u, UART_LSR) == 0x60);
}

static void uart_iir(struct tctx *t)
{
	static struct uart u;

	uart_setup(&u);
	CHECK(t, uart__in(&u, UART_IIR) == UART_IIR_NO_INT);
	uart__out(&u, UART_FCR, UART_FCR_ENABLE);
	CHECK(t, uart__in(&u, UART_IIR) == (UART_IIR_FIFO | UART_IIR_NO_INT));
	uart__out(&u, UART_IER, UART_IER_THRI | UART_IER_RDI);
	CHECK(t, (uart__in(&u, UART_IIR) & 0xf) == UART_IIR_THRI);
	uart__rx_push(&u, (const uint8_t *)"z", 1);
	CHECK(t, (uart__in(&u, UART_IIR) & 0xf) == UART_IIR_RDI);
	uart__out(&u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
	CHECK(t, !(uart__in(&u, UART_LSR) & UART_LSR_DR));
}

static void uart_loopback(struct tctx *t)
{
	static struct uart u;

	uart_setup(&u);
	uart__out(&u, UART_MCR, UART_MCR_LOOP);
	uart__out(&u, UART_THR, 0xae);
	CHECK(t, tx_len == 0);
	CHECK(t, uart__in(&u, UART_RBR) == 0xae);
}

/* THR empty: on enable, cleared by IIR, again after each byte sent. */
static void uart_thre_interrupt(struct tctx *t)
{
	static struct uart u;

	uart_setup(&u);
	uart__out(&u, UART_MCR, UART_MCR_OUT2);
	CHECK(t, !irq_level);
	uart__out(&u, UART_IER, UART_IER_THRI);
	CHECK(t, irq_level);
	CHECK(t, uart__in(&u, UART_IIR) == UART_IIR_THRI);	/* clears it */
	CHECK(t, !irq_level);
	CHECK(t, uart__in(&u, UART_IIR) == UART_IIR_NO_INT);
	uart__out(&u, UART_THR, 'a');
	CHECK(t, irq_level && tx_len == 1);
	uart__out(&u, UART_THR, 'b');			/* still pending */
	CHECK(t, irq_level && irq_changes == 3);
	uart__out(&u, UART_IER, 0);
	CHECK(t, !irq_level);
	/* Linux's UART_BUG_THRE probe: re-enabling reasserts it */
	uart__out(&u, UART_IER, UART_IER_THRI);
	CHECK(t, uart__in(&u, UART_IIR) == UART_IIR_THRI);
	uart__out(&u, UART_IER, 0);
	uart__out(&u, UART_IER, UART_IER_THRI);
	CHECK(t, uart__in(&u, UART_IIR) == UART_IIR_THRI);
	uart__out(&u, UART_FCR, UART_FCR_ENABLE);
	uart__out(&u, UART_THR, 'c');
	CHECK(t, uart__in(&u, UART_IIR) == (UART_IIR_FIFO | UART_IIR_THRI));
}

/* Received data outranks THR empty; the line follows IIR and OUT2. */
static void uart_rx_interrupt_priority(struct tctx *t)
{
	static struct uart u;

	uart_setup(&u);
	uart__out(&u, UART_IER, UART_IER_RDI | UART_IER_THRI);
	uart__rx_push(&u, (const uint8_t *)"xy", 2);
	CHECK(t, !irq_level && irq_changes == 0);	/* OUT2 off */
	CHECK(t, uart__in(&u, UART_IIR) == UART_IIR_RDI);
	uart__out(&u, UART_MCR, UART_MCR_OUT2);
	CHECK(t, irq_level);
	CHECK(t, uart__in(&u, UART_RBR) == 'x' && irq_level);
	CHECK(t, uart__in(&u, UART_IIR) == UART_IIR_RDI);
	CHECK(t, uart__in(&u, UART_RBR) == 'y');
	CHECK(t, irq_level);				/* THR empty now */
	CHECK(t, uart__in(&u, UART_IIR) == UART_IIR_THRI && !irq_level);
	uart__out(&u, UART_IER, UART_IER_RDI);
	uart__rx_push(&u, (const uint8_t *)"z", 1);
	CHECK(t, irq_level);
	uart__out(&u, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	CHECK(t, !irq_level);				/* loopback: no output */
	uart__out(&u, UART_MCR, UART_MCR_OUT2);
	uart__out(&u, UART_IER, 0);
	CHECK(t, !irq_level && uart__in(&u, UART_IIR) == UART_IIR_NO_INT);
}

const struct tcase uart_cases[] = {
	{ "uart_thr_transmits", uart_thr_transmits },
	{ "uart_rx_fifo", uart_rx_fifo },
	{ "uart_rx_full", uart_rx_full },
	{ "uart_dlab_divisor", uart_dlab_divisor },
	{ "uart_registers_store", uart_registers_store },
	{ "uart_iir", uart_iir },
	{ "uart_loopback", uart_loopback },
	{ "uart_thre_interrupt", uart_thre_interrupt },
	{ "uart_rx_interrupt_priority", uart_rx_interrupt_priority },
	{ NULL, NULL },
};
