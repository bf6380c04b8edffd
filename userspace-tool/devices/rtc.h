/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The MC146818 CMOS real-time clock and its 128 bytes of RAM, as a PC
 * has them at ports 0x70 (index) and 0x71 (data), IRQ 8 (devices/rtc.c
 * puts it on the bus).  The model itself is pure register logic: the
 * time comes from a clock callback (the host's CLOCK_REALTIME, UTC; a
 * test's fake), the interrupt line goes out through an irq callback.
 *
 * The guest's clock is the host's plus an offset in seconds, which
 * changes only when the guest sets the time (register B's SET bit, or a
 * write to a time register).  Update-ended, alarm and periodic events
 * are worked out from the clock whenever the guest looks (and when
 * rtc.c's timer thread calls rtc__tick), so register C is right at every
 * read; IRQ 8 is raised only for an event whose enable bit in register B
 * is set, and lowered when register C is read.
 */
#ifndef KHYP_RTC_H
#define KHYP_RTC_H

#include <stdbool.h>
#include <stdint.h>

#define RTC_PORT_INDEX	0x70
#define RTC_PORT_DATA	0x71
#define RTC_IRQ		8

/* registers (CMOS offsets) */
#define RTC_SECONDS		0x00
#define RTC_SECONDS_ALARM	0x01
#define RTC_MINUTES		0x02
#define RTC_MINUTES_ALARM	0x03
#define RTC_HOURS		0x04
#define RTC_HOURS_ALARM		0x05
#define RTC_DAY_OF_WEEK		0x06	/* 1 = Sunday */
#define RTC_DAY_OF_MONTH	0x07
#define RTC_MONTH		0x08
#define RTC_YEAR		0x09
#define RTC_REG_A		0x0a
#define RTC_REG_B		0x0b
#define RTC_REG_C		0x0c
#define RTC_REG_D		0x0d
#define RTC_CENTURY		0x32	/* IBM's, and the FADT's century */
#define RTC_CENTURY_PS2		0x37
#define RTC_NVRAM_FIRST		0x0e	/* 0x0e-0x7f: battery-backed RAM */
#define RTC_SIZE		128

#define RTC_A_UIP		0x80	/* update in progress */
#define RTC_A_DV_MASK		0x70	/* divider: 010 = 32.768 kHz, running */
#define RTC_A_DV_NORMAL		0x20
#define RTC_A_RS_MASK		0x0f	/* rate select: periodic 2^(RS-1) Hz */
#define RTC_B_SET		0x80	/* updates stopped, the time being set */
#define RTC_B_PIE		0x40
#define RTC_B_AIE		0x20
#define RTC_B_UIE		0x10
#define RTC_B_SQWE		0x08
#define RTC_B_DM_BINARY		0x04
#define RTC_B_24H		0x02
#define RTC_B_DSE		0x01
#define RTC_C_IRQF		0x80
#define RTC_C_PF		0x40
#define RTC_C_AF		0x20
#define RTC_C_UF		0x10
#define RTC_D_VRT		0x80	/* valid RAM and time: battery good */
#define RTC_ALARM_DONT_CARE	0xc0	/* 11xxxxxx in an alarm register */

#define RTC_UIP_NS		244000	/* UIP is set this long before an update */
/* how far (s) the guest may set its clock from the host's: 136 years */
#define RTC_MAX_OFFSET		(1LL << 32)
#define NSEC_PER_SEC_RTC	1000000000LL

struct rtc {
	uint8_t index;			/* last written to 0x70, bit 7 dropped */
	uint8_t ram[RTC_SIZE];		/* A, B, alarms, NVRAM; time when SET */
	int64_t offset;			/* guest time - host time, seconds */
	int64_t last_ns;		/* guest time of the last event check */
	bool irq_level;			/* what the line was last set to */
	int64_t (*clock)(void *opaque);		/* host time, ns since 1970 */
	void (*irq)(void *opaque, bool level);	/* IRQ 8; may be NULL */
	void *opaque;
};

/*
 * Power-on state: A 0x26 (running, 1024 Hz), B 0x02 (24 hour, BCD),
 * D VRT, NVRAM zero; the clock and irq callbacks, NULL clock: the
 * host's CLOCK_REALTIME.
 */
void rtc__init(struct rtc *r, int64_t (*clock)(void *), void (*irq)(void *, bool),
	       void *opaque);
/*
 * The firmware's part of the NVRAM, as QEMU writes it for SeaBIOS:
 * base memory 0x15/0x16 (640 KiB), extended memory in KiB 0x17/0x18 and
 * 0x30/0x31, RAM above 16 MiB below 4 GiB in 64 KiB 0x34/0x35, RAM
 * above 4 GiB in 64 KiB 0x5b-0x5d, CPUs - 1 at 0x5f.
 */
void rtc__set_memory(struct rtc *r, uint64_t below_4g, uint64_t above_4g,
		     unsigned int cpus);
uint8_t rtc__in(struct rtc *r, unsigned int port);	/* 0x70 or 0x71 */
void rtc__out(struct rtc *r, unsigned int port, uint8_t v);
/*
 * Bring the flags of register C up to now (and the line with them);
 * returns the host time in ns of the next event the guest enabled an
 * interrupt for, or 0 if none.
 */
int64_t rtc__tick(struct rtc *r);
/* rtc__tick, as the nanoseconds from now to that event (-1: none). */
int64_t rtc__wait_ns(struct rtc *r);
/* A machine reset: interrupt enables and flags cleared, time and RAM kept. */
void rtc__reset(struct rtc *r);

#endif /* KHYP_RTC_H */
