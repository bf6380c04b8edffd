// SPDX-License-Identifier: GPL-2.0
/*
 * Reset: the i8042 keyboard controller, the reset control register 0xcf9
 * and port 0x92 (reset.h), and what the launcher does when the guest
 * pulls one of them: machine__reset() (run.c) ends the run with
 * STATUS_RESET, after which `khyp run --reboot exit` exits and
 * `--reboot restart` builds the machine again (main.c).
 */
#include <string.h>

#include "../khyp.h"

/* ---- the i8042 ---- */

static void i8042__update_irqs(struct i8042 *k)
{
	bool aux = k->count && k->queue_aux[k->head];
	bool lv[2] = {
		k->count && !aux && (k->ctr & I8042_CTR_KBDINT),
		aux && (k->ctr & I8042_CTR_AUXINT),
	};
	static const unsigned int irqs[2] = { I8042_KBD_IRQ, I8042_AUX_IRQ };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (lv[i] == k->irq_level[i])
			continue;
		k->irq_level[i] = lv[i];
		if (k->irq)
			k->irq(k->opaque, irqs[i], lv[i]);
	}
}

static void i8042__push(struct i8042 *k, uint8_t v, bool aux, bool timeout)
{
	unsigned int i = (k->head + k->count) % I8042_QUEUE;

	if (k->count == I8042_QUEUE)
		return;			/* the controller drops it */
	k->queue[i] = v;
	k->queue_aux[i] = aux;
	k->queue_timeout[i] = timeout;
	k->count++;
}

void i8042__init(struct i8042 *k, void (*irq)(void *, unsigned int, bool),
		 void *opaque)
{
	memset(k, 0, sizeof(*k));
	k->ctr = I8042_CTR_XLATE | I8042_CTR_SYS | I8042_CTR_KBDINT;
	k->outport = I8042_OUT_RESET | I8042_OUT_A20;
	k->irq = irq;
	k->opaque = opaque;
}

uint8_t i8042__in(struct i8042 *k, unsigned int port)
{
	uint8_t v;

	if (port == I8042_CMD) {
		v = (k->status & I8042_STR_CMDDAT) | I8042_STR_KEYLOCK |
		    (k->ctr & I8042_CTR_SYS ? I8042_STR_SYS : 0);
		if (k->count)
			v |= I8042_STR_OBF |
			     (k->queue_aux[k->head] ? I8042_STR_AUXDATA : 0) |
			     (k->queue_timeout[k->head] ? I8042_STR_TIMEOUT : 0);
		return v;
	}
	if (k->count) {
		k->last = k->queue[k->head];
		k->head = (k->head + 1) % I8042_QUEUE;
		k->count--;
		i8042__update_irqs(k);
	}
	return k->last;
}

static const char *i8042__command(struct i8042 *k, uint8_t v)
{
	switch (v) {
	case I8042_CMD_READ_CTR:
		i8042__push(k, k->ctr, false, false);
		return NULL;
	case I8042_CMD_AUX_DISABLE:
		k->ctr |= I8042_CTR_AUXDIS;
		return NULL;
	case I8042_CMD_AUX_ENABLE:
		k->ctr &= ~I8042_CTR_AUXDIS;
		return NULL;
	case I8042_CMD_AUX_TEST:
	case I8042_CMD_KBD_TEST:
		i8042__push(k, 0x00, false, false);	/* lines fine */
		return NULL;
	case I8042_CMD_SELF_TEST:
		i8042__push(k, I8042_SELF_TEST_OK, false, false);
		return NULL;
	case I8042_CMD_KBD_DISABLE:
		k->ctr |= I8042_CTR_KBDDIS;
		return NULL;
	case I8042_CMD_KBD_ENABLE:
		k->ctr &= ~I8042_CTR_KBDDIS;
		return NULL;
	case I8042_CMD_READ_INPUT:
		i8042__push(k, 0x00, false, false);
		return NULL;
	case I8042_CMD_READ_OUTPUT:
		i8042__push(k, k->outport, false, false);
		return NULL;
	case I8042_CMD_WRITE_CTR:
	case I8042_CMD_WRITE_OUTPUT:
	case I8042_CMD_WRITE_KBD_OUT:
	case I8042_CMD_WRITE_AUX_OUT:
	case I8042_CMD_WRITE_AUX:
		k->pending = v;		/* the data byte follows at 0x60 */
		return NULL;
	case I8042_CMD_A20_OFF:
		k->outport &= ~I8042_OUT_A20;
		return NULL;
	case I8042_CMD_A20_ON:
		k->outport |= I8042_OUT_A20;
		return NULL;
	}
	if (v >= I8042_CMD_PULSE && !(v & I8042_OUT_RESET))
		return v == I8042_CMD_RESET ? "8042 0xfe" : "8042 pulse";
	if (v > I8042_CMD_READ_CTR && v < I8042_CMD_WRITE_CTR)
		i8042__push(k, 0x00, false, false);	/* the rest of its RAM */
	else if (v > I8042_CMD_WRITE_CTR && v < 0x80)
		k->pending = v;				/* written, forgotten */
	return NULL;
}

static const char *i8042__data(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	switch (cmd) {
	case I8042_CMD_WRITE_CTR:
		k->ctr = v;
		return NULL;
	case I8042_CMD_WRITE_OUTPUT:
		k->outport = v;
		return v & I8042_OUT_RESET ? NULL : "8042 output port";
	case I8042_CMD_WRITE_KBD_OUT:
		i8042__push(k, v, false, false);
		return NULL;
	case I8042_CMD_WRITE_AUX_OUT:
		i8042__push(k, v, true, false);
		return NULL;
	case I8042_CMD_WRITE_AUX:
		i8042__push(k, I8042_NO_DEVICE, true, true);	/* no mouse */
		return NULL;
	case 0:
		i8042__push(k, I8042_NO_DEVICE, false, true);	/* no keyboard */
		return NULL;
	}
	return NULL;			/* 0x61-0x7f: RAM nobody reads */
}

const char *i8042__out(struct i8042 *k, unsigned int port, uint8_t v)
{
	const char *how;

	if (port == I8042_CMD) {
		k->status |= I8042_STR_CMDDAT;
		k->pending = 0;
		how = i8042__command(k, v);
	} else {
		k->status &= ~I8042_STR_CMDDAT;
		how = i8042__data(k, v);
	}
	i8042__update_irqs(k);
	return how;
}

/* ---- 0xcf9 and 0x92 ---- */

const char *reset__cf9_write(uint8_t *reg, uint8_t v)
{
	if (v & RESET_CF9_RST_CPU)
		return "0xcf9";
	*reg = v & (RESET_CF9_SYS_RST | RESET_CF9_FULL_RST);
	return NULL;
}

const char *reset__port92_write(uint8_t *reg, uint8_t v)
{
	bool rising = (v & PORT92_RESET) && !(*reg & PORT92_RESET);

	*reg = v & (PORT92_RESET | PORT92_A20);
	return rising ? "port 0x92" : NULL;
}

/* ---- on the machine's port bus ---- */

static void i8042__irq(void *opaque, unsigned int irq, bool level)
{
	machine__irq_line(opaque, irq, level);
}

static int i8042__io(struct bus_access *a, void *opaque)
{
	struct machine *m = opaque;
	const char *how;

	if (!a->write) {
		a->data = i8042__in(&m->i8042, a->addr);
		return RUN_CONTINUE;
	}
	how = i8042__out(&m->i8042, a->addr, a->data);
	return how ? machine__reset(m, how) : RUN_CONTINUE;
}

static int reset__io(struct bus_access *a, void *opaque)
{
	struct machine *m = opaque;
	const char *how;

	if (!a->write) {
		a->data = a->addr == PORT92 ? m->port92 : m->cf9;
		return RUN_CONTINUE;
	}
	if (a->addr == PORT92)
		how = reset__port92_write(&m->port92, a->data);
	else
		how = reset__cf9_write(&m->cf9, a->data);
	return how ? machine__reset(m, how) : RUN_CONTINUE;
}

/* A machine reset: the controller and registers as at power-on. */
void reset__devices(struct machine *m)
{
	i8042__init(&m->i8042, i8042__irq, m);
	m->cf9 = 0;
	m->port92 = PORT92_A20;
}

int reset__init(struct machine *m, char *err, size_t errlen)
{
	const struct bus_dev devs[] = {
		{ .name = "i8042 data", .base = I8042_DATA, .len = 1,
		  .widths = BUS_WIDTH_1, .handle = i8042__io, .opaque = m },
		{ .name = "i8042 command", .base = I8042_CMD, .len = 1,
		  .widths = BUS_WIDTH_1, .handle = i8042__io, .opaque = m },
		{ .name = "port 0x92", .base = PORT92, .len = 1,
		  .widths = BUS_WIDTH_1, .handle = reset__io, .opaque = m },
		{ .name = "reset control", .base = RESET_CF9_PORT, .len = 1,
		  .widths = BUS_WIDTH_1, .handle = reset__io, .opaque = m },
	};
	unsigned int i;

	reset__devices(m);
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		if (bus__register(&m->ports, &devs[i], err, errlen))
			return -1;
	return 0;
}
