// SPDX-License-Identifier: GPL-2.0
/*
 * The CMOS RTC model (devices/rtc.c) on a fake clock: the time in each
 * format of register B, UIP, setting the time, register C and IRQ 8,
 * the NVRAM and the firmware's memory bytes, what a machine reset keeps.
 */
#include <string.h>
#include <time.h>

#include "test.h"
#include "../devices/rtc.h"

static int64_t fake_ns;			/* the host's clock, ns since 1970 */
static unsigned int irq_raised, irq_lowered;
static bool irq_now;

static int64_t fake_clock(void *opaque)
{
	(void)opaque;
	return fake_ns;
}

static void fake_irq(void *opaque, bool level)
{
	(void)opaque;
	irq_now = level;
	if (level)
		irq_raised++;
	else
		irq_lowered++;
}

/* 2026-12-03 16:41:07 UTC, a Thursday, plus @ms milliseconds */
static void at(int64_t ms)
{
	struct tm tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = 3,
			 .tm_hour = 16, .tm_min = 41, .tm_sec = 7 };

	fake_ns = (int64_t)timegm(&tm) * 1000000000LL + ms * 1000000LL;
}

static void rtc_setup(struct rtc *r)
{
	at(0);
	irq_raised = irq_lowered = 0;
	irq_now = false;
	rtc__init(r, fake_clock, fake_irq, NULL);
}

static uint8_t rd(struct rtc *r, uint8_t idx)
{
	rtc__out(r, RTC_PORT_INDEX, idx);
	return rtc__in(r, RTC_PORT_DATA);
}

static void wr(struct rtc *r, uint8_t idx, uint8_t v)
{
	rtc__out(r, RTC_PORT_INDEX, idx);
	rtc__out(r, RTC_PORT_DATA, v);
}

static void rtc_time_bcd_24h(struct tctx *t)
{
	static struct rtc r;

	rtc_setup(&r);
	CHECK(t, rd(&r, RTC_REG_A) == 0x26 && rd(&r, RTC_REG_B) == 0x02);
	CHECK(t, rd(&r, RTC_SECONDS) == 0x07);
	CHECK(t, rd(&r, RTC_MINUTES) == 0x41);
	CHECK(t, rd(&r, RTC_HOURS) == 0x16);
	CHECK(t, rd(&r, RTC_DAY_OF_WEEK) == 5);		/* 1 = Sunday */
	CHECK(t, rd(&r, RTC_DAY_OF_MONTH) == 0x03);
	CHECK(t, rd(&r, RTC_MONTH) == 0x12);
	CHECK(t, rd(&r, RTC_YEAR) == 0x26);
	CHECK(t, rd(&r, RTC_CENTURY) == 0x20);
	/* the NMI mask bit of the index is not part of it */
	CHECK(t, rd(&r, 0x80 | RTC_MINUTES) == 0x41);
	CHECK(t, rtc__in(&r, RTC_PORT_INDEX) == 0xff);
	/* the clock runs */
	at(60 * 1000 + 500);
	CHECK(t, rd(&r, RTC_MINUTES) == 0x42 && rd(&r, RTC_SECONDS) == 0x07);
	CHECK(t, rd(&r, RTC_REG_D) == RTC_D_VRT);
}

static void rtc_time_binary_12h(struct tctx *t)
{
	static struct rtc r;

	rtc_setup(&r);
	wr(&r, RTC_REG_B, RTC_B_DM_BINARY);		/* binary, 12 hour */
	CHECK(t, rd(&r, RTC_SECONDS) == 7 && rd(&r, RTC_MINUTES) == 41);
	CHECK(t, rd(&r, RTC_HOURS) == (0x80 | 4));	/* 4 PM */
	CHECK(t, rd(&r, RTC_YEAR) == 26 && rd(&r, RTC_CENTURY) == 20);
	wr(&r, RTC_REG_B, 0);				/* BCD, 12 hour */
	CHECK(t, rd(&r, RTC_HOURS) == 0x84 && rd(&r, RTC_MINUTES) == 0x41);
	at(-(16 * 3600 + 41 * 60) * 1000LL);		/* 00:00:07: 12 AM */
	CHECK(t, rd(&r, RTC_HOURS) == 0x12);
	at(-(4 * 3600 + 41 * 60) * 1000LL);		/* 12:00:07: 12 PM */
	CHECK(t, rd(&r, RTC_HOURS) == 0x92);
}

static void rtc_uip_before_update(struct tctx *t)
{
	static struct rtc r;

	rtc_setup(&r);
	at(500);
	CHECK(t, rd(&r, RTC_REG_A) == 0x26);
	fake_ns += 500000000LL - RTC_UIP_NS + 1000;	/* 243 us before */
	CHECK(t, rd(&r, RTC_REG_A) == (RTC_A_UIP | 0x26));
	CHECK(t, rd(&r, RTC_SECONDS) == 0x07);
	fake_ns += RTC_UIP_NS;				/* updated */
	CHECK(t, rd(&r, RTC_REG_A) == 0x26 && rd(&r, RTC_SECONDS) == 0x08);
	/* a divider not running, or SET: no update, no UIP */
	fake_ns += 1000000000LL - 100000;
	wr(&r, RTC_REG_A, 0x76);
	CHECK(t, rd(&r, RTC_REG_A) == 0x76);
	wr(&r, RTC_REG_A, 0xa6);			/* UIP is read-only */
	CHECK(t, rd(&r, RTC_REG_A) == (RTC_A_UIP | 0x26));
	wr(&r, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	CHECK(t, rd(&r, RTC_REG_A) == 0x26);
}

static void rtc_set_time(struct tctx *t)
{
	static struct rtc r;

	rtc_setup(&r);
	wr(&r, RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_UIE);
	CHECK(t, rd(&r, RTC_REG_B) == (RTC_B_SET | RTC_B_24H));	/* no UIE */
	wr(&r, RTC_YEAR, 0x30);
	wr(&r, RTC_HOURS, 0x01);
	at(5000);					/* stopped */
	CHECK(t, rd(&r, RTC_SECONDS) == 0x07 && rd(&r, RTC_YEAR) == 0x30);
	wr(&r, RTC_REG_B, RTC_B_24H);
	CHECK(t, rd(&r, RTC_HOURS) == 0x01 && rd(&r, RTC_YEAR) == 0x30);
	CHECK(t, rd(&r, RTC_MONTH) == 0x12 && rd(&r, RTC_MINUTES) == 0x41);
	at(7000);					/* runs again */
	CHECK(t, rd(&r, RTC_SECONDS) == 0x09);
	/* a time register written while running moves the clock too */
	wr(&r, RTC_MINUTES, 0x05);
	CHECK(t, rd(&r, RTC_MINUTES) == 0x05 && rd(&r, RTC_SECONDS) == 0x09);
	CHECK(t, rd(&r, RTC_HOURS) == 0x01);
	/* BCD garbage: a far-off year, clamped (no overflow for UBSan) */
	wr(&r, RTC_CENTURY, 0xff);
	CHECK(t, rd(&r, RTC_CENTURY) == 0x21 && rd(&r, RTC_YEAR) == 0x63);
	wr(&r, RTC_CENTURY, 0x00);
	CHECK(t, rd(&r, RTC_CENTURY) == 0x18 && rd(&r, RTC_YEAR) == 0x90);
}

/*
 * The divider out of its running setting (reset, 0x70) stops the clock
 * as SET does: the time registers hold the second it stopped at, the
 * guest may write them, and it runs on from there once the divider runs
 * again; no update is flagged meanwhile.
 */
static void rtc_divider_holds_time(struct tctx *t)
{
	static struct rtc r;

	rtc_setup(&r);
	at(2500);
	CHECK(t, rd(&r, RTC_SECONDS) == 0x09);
	wr(&r, RTC_REG_A, 0x70 | 0x06);			/* divider reset */
	CHECK(t, rd(&r, RTC_REG_C) == (RTC_C_UF | RTC_C_PF));	/* before */
	at(10500);
	CHECK(t, rd(&r, RTC_SECONDS) == 0x09 && rd(&r, RTC_MINUTES) == 0x41);
	CHECK(t, !(rd(&r, RTC_REG_A) & RTC_A_UIP) && rd(&r, RTC_REG_C) == 0);
	wr(&r, RTC_MINUTES, 0x50);			/* set while held */
	at(20500);
	CHECK(t, rd(&r, RTC_MINUTES) == 0x50 && rd(&r, RTC_SECONDS) == 0x09);
	/* SET as well, then cleared: still held by the divider */
	wr(&r, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	wr(&r, RTC_REG_B, RTC_B_24H);
	at(25500);
	CHECK(t, rd(&r, RTC_SECONDS) == 0x09);
	wr(&r, RTC_REG_A, RTC_A_DV_NORMAL | 0x06);	/* runs again */
	CHECK(t, rd(&r, RTC_SECONDS) == 0x09 && rd(&r, RTC_MINUTES) == 0x50);
	at(28500);
	CHECK(t, rd(&r, RTC_SECONDS) == 0x12 && rd(&r, RTC_MINUTES) == 0x50);
	CHECK(t, rd(&r, RTC_HOURS) == 0x16);
}

/* What the timer thread waits for: the next enabled event, from now. */
static void rtc_wait_ns(struct tctx *t)
{
	static struct rtc r;

	rtc_setup(&r);
	CHECK(t, rtc__wait_ns(&r) == -1);		/* nothing enabled */
	at(250);
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_UIE);	/* next second */
	CHECK(t, rtc__wait_ns(&r) == 750 * 1000000LL);
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_PIE);	/* 1024 Hz */
	CHECK(t, rtc__wait_ns(&r) > 0 &&
		 rtc__wait_ns(&r) <= 1000000000LL / 1024);
	wr(&r, RTC_REG_A, 0x70 | 0x06);			/* stopped: none */
	CHECK(t, rtc__wait_ns(&r) == -1);
}

static void rtc_update_irq_only_enabled(struct tctx *t)
{
	static struct rtc r;

	rtc_setup(&r);
	at(1500);					/* a second went by */
	/* flagged (PF at 1024 Hz too), no IRQF */
	CHECK(t, rd(&r, RTC_REG_C) == (RTC_C_UF | RTC_C_PF));
	wr(&r, RTC_REG_A, RTC_A_DV_NORMAL);		/* no periodic */
	CHECK(t, rd(&r, RTC_REG_C) == 0);
	at(2500);
	CHECK(t, rd(&r, RTC_REG_C) == RTC_C_UF);
	CHECK(t, rd(&r, RTC_REG_C) == 0);		/* read clears */
	CHECK(t, irq_raised == 0);
	CHECK(t, rtc__tick(&r) == 0);			/* nothing enabled */
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	CHECK(t, irq_raised == 0);
	CHECK(t, rtc__tick(&r) == fake_ns + 500000000LL);
	at(3000);
	CHECK(t, rtc__tick(&r) == fake_ns + 1000000000LL);
	CHECK(t, irq_raised == 1 && irq_now);
	CHECK(t, rd(&r, RTC_REG_C) == (RTC_C_IRQF | RTC_C_UF));
	CHECK(t, irq_lowered == 1 && !irq_now);
	CHECK(t, rd(&r, RTC_REG_C) == 0);
	/* an event flagged while disabled interrupts when enabled */
	wr(&r, RTC_REG_B, RTC_B_24H);
	at(4000);
	CHECK(t, rtc__tick(&r) == 0 && irq_raised == 1);
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	CHECK(t, irq_raised == 2 && irq_now);
}

static void rtc_alarm_and_periodic(struct tctx *t)
{
	static struct rtc r;

	rtc_setup(&r);
	wr(&r, RTC_REG_A, RTC_A_DV_NORMAL);		/* periodic later */
	wr(&r, RTC_SECONDS_ALARM, 0x09);
	wr(&r, RTC_MINUTES_ALARM, 0x41);
	wr(&r, RTC_HOURS_ALARM, RTC_ALARM_DONT_CARE);
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	at(1000);
	rtc__tick(&r);
	CHECK(t, irq_raised == 0);
	CHECK(t, rd(&r, RTC_REG_C) == RTC_C_UF);	/* 08: no alarm */
	at(2000);
	rtc__tick(&r);
	CHECK(t, irq_raised == 1);
	CHECK(t, rd(&r, RTC_REG_C) == (RTC_C_IRQF | RTC_C_AF | RTC_C_UF));
	/* periodic: rate 6 is 1024 Hz */
	wr(&r, RTC_REG_A, RTC_A_DV_NORMAL | 6);
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	CHECK(t, rtc__tick(&r) > fake_ns && rtc__tick(&r) <= fake_ns + 976563);
	fake_ns += 1000000;
	rtc__tick(&r);
	CHECK(t, irq_raised == 2);
	CHECK(t, rd(&r, RTC_REG_C) == (RTC_C_IRQF | RTC_C_PF));
	wr(&r, RTC_REG_A, 0x20);			/* rate 0: none */
	CHECK(t, rtc__tick(&r) == 0);
	fake_ns += 1000000;
	CHECK(t, rd(&r, RTC_REG_C) == 0);
}

static void rtc_nvram_and_memory(struct tctx *t)
{
	static struct rtc r;
	unsigned int i;

	rtc_setup(&r);
	CHECK(t, rd(&r, 0x37) == 0x20);		/* the PS/2 century */
	for (i = RTC_NVRAM_FIRST; i < RTC_SIZE; i++)
		if (i != RTC_CENTURY)		/* the clock's, see above */
			wr(&r, i, i ^ 0x5a);
	for (i = RTC_NVRAM_FIRST; i < RTC_SIZE; i++)
		if (i != RTC_CENTURY && rd(&r, i) != (i ^ 0x5a))
			break;
	CHECK(t, i == RTC_SIZE);
	wr(&r, RTC_REG_D, 0);
	wr(&r, RTC_REG_C, 0xff);
	CHECK(t, rd(&r, RTC_REG_D) == RTC_D_VRT && rd(&r, RTC_REG_C) == 0);
	/* 256 MiB below 4 GiB, 1 GiB above, 2 CPUs */
	rtc__set_memory(&r, 256 << 20, 1ULL << 30, 2);
	CHECK(t, rd(&r, 0x15) == 0x80 && rd(&r, 0x16) == 0x02);
	CHECK(t, rd(&r, 0x17) == 0xff && rd(&r, 0x18) == 0xff);
	CHECK(t, rd(&r, 0x30) == 0xff && rd(&r, 0x31) == 0xff);
	CHECK(t, rd(&r, 0x34) == 0x00 && rd(&r, 0x35) == 0x0f);
	CHECK(t, rd(&r, 0x5b) == 0x00 && rd(&r, 0x5c) == 0x40 &&
	      rd(&r, 0x5d) == 0x00);
	CHECK(t, rd(&r, 0x5f) == 1);
	rtc__set_memory(&r, 8 << 20, 0, 1);		/* 7 MiB extended */
	CHECK(t, rd(&r, 0x17) == 0x00 && rd(&r, 0x18) == 0x1c);
	CHECK(t, rd(&r, 0x34) == 0 && rd(&r, 0x35) == 0 && rd(&r, 0x5c) == 0);
}

static void rtc_reset_keeps_cmos(struct tctx *t)
{
	static struct rtc r;

	rtc_setup(&r);
	wr(&r, 0x40, 0x77);
	wr(&r, RTC_YEAR, 0x31);
	wr(&r, RTC_REG_B, RTC_B_24H | RTC_B_UIE | RTC_B_PIE);
	at(1000);
	rtc__tick(&r);
	CHECK(t, irq_now);
	rtc__reset(&r);
	CHECK(t, !irq_now);
	CHECK(t, rd(&r, RTC_REG_B) == RTC_B_24H && rd(&r, RTC_REG_C) == 0);
	CHECK(t, rd(&r, 0x40) == 0x77 && rd(&r, RTC_YEAR) == 0x31);
	CHECK(t, rd(&r, RTC_SECONDS) == 0x08);
}

const struct tcase rtc_cases[] = {
	{ "rtc_time_bcd_24h", rtc_time_bcd_24h },
	{ "rtc_time_binary_12h", rtc_time_binary_12h },
	{ "rtc_uip_before_update", rtc_uip_before_update },
	{ "rtc_set_time", rtc_set_time },
	{ "rtc_update_irq_only_enabled", rtc_update_irq_only_enabled },
	{ "rtc_alarm_and_periodic", rtc_alarm_and_periodic },
	{ "rtc_divider_holds_time", rtc_divider_holds_time },
	{ "rtc_wait_ns", rtc_wait_ns },
	{ "rtc_nvram_and_memory", rtc_nvram_and_memory },
	{ "rtc_reset_keeps_cmos", rtc_reset_keeps_cmos },
	{ NULL, NULL },
};
