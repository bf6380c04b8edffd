// SPDX-License-Identifier: GPL-2.0
/*
 * The reset devices' models (devices/reset.c): the i8042 as Linux's
 * probe and reboot use it, with nothing plugged in; 0xcf9 and port 0x92.
 */
#include <string.h>

#include "test.h"
#include "../devices/reset.h"

static bool irq_level[16];
static unsigned int irq_edges[16];

static void fake_irq(void *opaque, unsigned int irq, bool level)
{
	(void)opaque;
	if (level && !irq_level[irq])
		irq_edges[irq]++;
	irq_level[irq] = level;
}

static void kbc_setup(struct i8042 *k)
{
	memset(irq_level, 0, sizeof(irq_level));
	memset(irq_edges, 0, sizeof(irq_edges));
	i8042__init(k, fake_irq, NULL);
}

#define STATUS(k)	i8042__in(k, I8042_CMD)
#define DATA(k)		i8042__in(k, I8042_DATA)
#define CMD(k, v)	i8042__out(k, I8042_CMD, v)
#define PUT(k, v)	i8042__out(k, I8042_DATA, v)

static void i8042_selftest_and_command_byte(struct tctx *t)
{
	static struct i8042 k;

	kbc_setup(&k);
	CHECK(t, STATUS(&k) == (I8042_STR_KEYLOCK | I8042_STR_SYS));
	CHECK(t, !CMD(&k, I8042_CMD_SELF_TEST));
	CHECK(t, STATUS(&k) == (I8042_STR_KEYLOCK | I8042_STR_CMDDAT |
				I8042_STR_SYS | I8042_STR_OBF));
	CHECK(t, DATA(&k) == I8042_SELF_TEST_OK);
	CHECK(t, !(STATUS(&k) & I8042_STR_OBF));
	CHECK(t, !CMD(&k, I8042_CMD_READ_CTR));
	CHECK(t, DATA(&k) == 0x45);
	/* Linux: keyboard off, its interrupt off; then both on */
	CHECK(t, !CMD(&k, I8042_CMD_WRITE_CTR) && !PUT(&k, 0x54));
	CHECK(t, !(STATUS(&k) & (I8042_STR_OBF | I8042_STR_CMDDAT)));
	CHECK(t, !CMD(&k, I8042_CMD_READ_CTR) && DATA(&k) == 0x54);
	CHECK(t, !CMD(&k, I8042_CMD_KBD_ENABLE) && !CMD(&k, I8042_CMD_READ_CTR) &&
	      DATA(&k) == 0x44);
	CHECK(t, !CMD(&k, I8042_CMD_KBD_DISABLE) && !CMD(&k, I8042_CMD_READ_CTR) &&
	      DATA(&k) == 0x54);
	CHECK(t, !CMD(&k, I8042_CMD_AUX_DISABLE) && !CMD(&k, I8042_CMD_READ_CTR) &&
	      DATA(&k) == 0x74);
	CHECK(t, !CMD(&k, I8042_CMD_AUX_ENABLE) && !CMD(&k, I8042_CMD_READ_CTR) &&
	      DATA(&k) == 0x54);
	CHECK(t, !CMD(&k, I8042_CMD_AUX_TEST) && DATA(&k) == 0x00);
	CHECK(t, !(STATUS(&k) & I8042_STR_OBF));
	/* the two responses while KBDINT was on interrupted on IRQ 1 */
	CHECK(t, irq_edges[1] == 2 && irq_edges[12] == 0);
}

static void i8042_aux_loop_raises_irq12(struct tctx *t)
{
	static struct i8042 k;

	kbc_setup(&k);
	CHECK(t, !CMD(&k, I8042_CMD_WRITE_AUX_OUT) && !PUT(&k, 0x5a));
	CHECK(t, STATUS(&k) & I8042_STR_AUXDATA);
	CHECK(t, irq_edges[12] == 0);			/* AUXINT off */
	CHECK(t, DATA(&k) == 0x5a);
	CHECK(t, !CMD(&k, I8042_CMD_WRITE_CTR) && !PUT(&k, 0x47));
	CHECK(t, !CMD(&k, I8042_CMD_WRITE_AUX_OUT) && !PUT(&k, 0xa5));
	CHECK(t, irq_edges[12] == 1 && irq_level[12] && !irq_level[1]);
	CHECK(t, (STATUS(&k) & (I8042_STR_OBF | I8042_STR_AUXDATA)) ==
	      (I8042_STR_OBF | I8042_STR_AUXDATA));
	CHECK(t, DATA(&k) == 0xa5 && !irq_level[12]);
	/* a response on the keyboard side raises IRQ 1 */
	CHECK(t, !CMD(&k, I8042_CMD_READ_CTR));
	CHECK(t, irq_edges[1] == 1 && irq_level[1]);
	CHECK(t, DATA(&k) == 0x47 && !irq_level[1]);
	CHECK(t, DATA(&k) == 0x47);			/* empty: the last again */
}

static void i8042_no_keyboard_no_mouse(struct tctx *t)
{
	static struct i8042 k;

	kbc_setup(&k);
	CHECK(t, !PUT(&k, 0xf2));			/* keyboard: GET ID */
	CHECK(t, (STATUS(&k) & (I8042_STR_OBF | I8042_STR_TIMEOUT |
				I8042_STR_AUXDATA)) ==
	      (I8042_STR_OBF | I8042_STR_TIMEOUT));
	CHECK(t, irq_edges[1] == 1);
	CHECK(t, DATA(&k) == I8042_NO_DEVICE);
	CHECK(t, !(STATUS(&k) & (I8042_STR_OBF | I8042_STR_TIMEOUT)));
	CHECK(t, !CMD(&k, I8042_CMD_WRITE_AUX) && !PUT(&k, 0xf2));
	CHECK(t, (STATUS(&k) & (I8042_STR_OBF | I8042_STR_TIMEOUT |
				I8042_STR_AUXDATA)) ==
	      (I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXDATA));
	CHECK(t, DATA(&k) == I8042_NO_DEVICE);
}

static void i8042_resets(struct tctx *t)
{
	static struct i8042 k;
	const char *how;

	kbc_setup(&k);
	CHECK(t, !CMD(&k, I8042_CMD_READ_OUTPUT) && DATA(&k) == 0x03);
	CHECK(t, !CMD(&k, I8042_CMD_A20_OFF) && !CMD(&k, I8042_CMD_READ_OUTPUT) &&
	      DATA(&k) == 0x01);
	CHECK(t, !CMD(&k, I8042_CMD_WRITE_OUTPUT) && !PUT(&k, 0x03));
	CHECK(t, !CMD(&k, 0xff));			/* pulse nothing */
	how = CMD(&k, I8042_CMD_RESET);
	CHECK(t, how && !strcmp(how, "8042 0xfe"));
	how = CMD(&k, 0xf0);
	CHECK(t, how && !strcmp(how, "8042 pulse"));
	CHECK(t, !CMD(&k, I8042_CMD_WRITE_OUTPUT));
	how = PUT(&k, 0x02);
	CHECK(t, how && !strcmp(how, "8042 output port"));
}

static void reset_cf9_and_port92(struct tctx *t)
{
	uint8_t cf9 = 0, p92 = PORT92_A20;
	const char *how;

	CHECK(t, !reset__cf9_write(&cf9, 0x02) && cf9 == 0x02);
	CHECK(t, !reset__cf9_write(&cf9, 0x0a) && cf9 == 0x0a);
	how = reset__cf9_write(&cf9, 0x06);
	CHECK(t, how && !strcmp(how, "0xcf9"));
	CHECK(t, !reset__port92_write(&p92, 0x00) && p92 == 0x00);
	CHECK(t, !reset__port92_write(&p92, 0x02) && p92 == 0x02);
	how = reset__port92_write(&p92, 0x03);
	CHECK(t, how && !strcmp(how, "port 0x92"));
	CHECK(t, !reset__port92_write(&p92, 0x03));	/* no edge */
}

const struct tcase reset_cases[] = {
	{ "i8042_selftest_and_command_byte", i8042_selftest_and_command_byte },
	{ "i8042_aux_loop_raises_irq12", i8042_aux_loop_raises_irq12 },
	{ "i8042_no_keyboard_no_mouse", i8042_no_keyboard_no_mouse },
	{ "i8042_resets", i8042_resets },
	{ "reset_cf9_and_port92", reset_cf9_and_port92 },
	{ NULL, NULL },
};
