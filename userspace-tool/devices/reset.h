/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ways a PC's guest resets its machine (devices/reset.c puts them on
 * the bus): the reset control register at 0xcf9 (also the FADT's reset
 * register), port 0x92 (system control port A: fast reset in bit 0) and
 * the keyboard controller, an i8042 at 0x60 (data) and 0x64 (status,
 * command), whose output port bit 0 is the CPU's reset line.
 *
 * The i8042 is a PS/2 controller with both ports but nothing plugged in:
 * its own commands work (self-test, the command byte, the port enables
 * and tests, the output port, the AUX loopback), and a byte sent to the
 * keyboard or the mouse comes back as 0xfe with the time-out bit in the
 * status register, as a real controller answers when no device clocks
 * the byte out.  Linux finds the controller, registers its KBD and AUX
 * ports and finds no keyboard or mouse on them.  A20 is not modelled
 * (always enabled): the output port's and port 0x92's A20 bits only
 * read back.
 *
 * Each model is pure register logic: a write returns NULL, or the name
 * of the reset it asked for ("0xcf9", "8042 0xfe", ...), which reset.c
 * turns into the launcher's reset (machine__reset()).
 */
#ifndef KHYP_RESET_H
#define KHYP_RESET_H

#include <stdbool.h>
#include <stdint.h>

#define RESET_CF9_PORT		0xcf9
#define RESET_CF9_SYS_RST	0x02	/* hard reset (with RST_CPU) */
#define RESET_CF9_RST_CPU	0x04	/* 0 -> 1: reset now */
#define RESET_CF9_FULL_RST	0x08	/* power cycle (with RST_CPU) */
#define PORT92			0x92
#define PORT92_RESET		0x01	/* 0 -> 1: fast reset */
#define PORT92_A20		0x02

#define I8042_DATA		0x60
#define I8042_CMD		0x64	/* write: command; read: status */
#define I8042_KBD_IRQ		1
#define I8042_AUX_IRQ		12

/* status register */
#define I8042_STR_OBF		0x01	/* output buffer full: read 0x60 */
#define I8042_STR_IBF		0x02	/* input buffer full: always 0 here */
#define I8042_STR_SYS		0x04	/* the command byte's SYS bit */
#define I8042_STR_CMDDAT	0x08	/* last write went to 0x64 */
#define I8042_STR_KEYLOCK	0x10	/* 1: not inhibited */
#define I8042_STR_AUXDATA	0x20	/* the output byte is the mouse's */
#define I8042_STR_TIMEOUT	0x40	/* no device answered */
#define I8042_STR_PARITY	0x80

/* command byte (controller RAM 0) */
#define I8042_CTR_KBDINT	0x01
#define I8042_CTR_AUXINT	0x02
#define I8042_CTR_SYS		0x04
#define I8042_CTR_KBDDIS	0x10
#define I8042_CTR_AUXDIS	0x20
#define I8042_CTR_XLATE		0x40

/* commands written to 0x64 */
#define I8042_CMD_READ_CTR	0x20
#define I8042_CMD_WRITE_CTR	0x60
#define I8042_CMD_AUX_DISABLE	0xa7
#define I8042_CMD_AUX_ENABLE	0xa8
#define I8042_CMD_AUX_TEST	0xa9
#define I8042_CMD_SELF_TEST	0xaa	/* -> 0x55 */
#define I8042_CMD_KBD_TEST	0xab
#define I8042_CMD_KBD_DISABLE	0xad
#define I8042_CMD_KBD_ENABLE	0xae
#define I8042_CMD_READ_INPUT	0xc0
#define I8042_CMD_READ_OUTPUT	0xd0
#define I8042_CMD_WRITE_OUTPUT	0xd1
#define I8042_CMD_WRITE_KBD_OUT	0xd2	/* as if the keyboard sent it */
#define I8042_CMD_WRITE_AUX_OUT	0xd3	/* AUX loopback */
#define I8042_CMD_WRITE_AUX	0xd4	/* next data byte to the mouse */
#define I8042_CMD_A20_OFF	0xdd
#define I8042_CMD_A20_ON	0xdf
#define I8042_CMD_PULSE		0xf0	/* 0xf0-0xff: pulse output bits 0-3 */
#define I8042_CMD_RESET		0xfe	/* pulse bit 0: reset */

#define I8042_OUT_RESET		0x01	/* output port: 0 holds the CPU in reset */
#define I8042_OUT_A20		0x02
#define I8042_SELF_TEST_OK	0x55
#define I8042_NO_DEVICE		0xfe	/* with I8042_STR_TIMEOUT */
#define I8042_QUEUE		16

struct i8042 {
	uint8_t ctr;			/* the command byte */
	uint8_t outport;
	uint8_t status;			/* CMDDAT, TIMEOUT: the rest computed */
	uint8_t pending;		/* a command waiting for its data byte */
	uint8_t queue[I8042_QUEUE];	/* bytes for 0x60, oldest first */
	bool queue_aux[I8042_QUEUE];	/* ... and which came from the mouse */
	uint8_t queue_timeout[I8042_QUEUE];
	unsigned int head, count;
	uint8_t last;			/* 0x60 reads this when empty */
	bool irq_level[2];		/* IRQ 1, IRQ 12 as last set */
	void (*irq)(void *opaque, unsigned int irq, bool level);
	void *opaque;
};

/* After a PC's firmware: command byte 0x45 (translation, SYS, KBD IRQ). */
void i8042__init(struct i8042 *k, void (*irq)(void *, unsigned int, bool),
		 void *opaque);
uint8_t i8042__in(struct i8042 *k, unsigned int port);
/* NULL, or the reset the write asked for. */
const char *i8042__out(struct i8042 *k, unsigned int port, uint8_t v);

/* 0xcf9: *reg holds bits 1-3 as read back; NULL or the reset. */
const char *reset__cf9_write(uint8_t *reg, uint8_t v);
/* 0x92: *reg as read back; NULL or the reset (bit 0 from 0 to 1). */
const char *reset__port92_write(uint8_t *reg, uint8_t v);

#endif /* KHYP_RESET_H */
