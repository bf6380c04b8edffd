// SPDX-License-Identifier: GPL-2.0
/*
 * The CMOS RTC (rtc.h): the MC146818 model, then the device on ports
 * 0x70-0x71 and its timer thread.
 *
 * Registers as the datasheet has them: the index port drops bit 7 (the
 * NMI mask of a PC, which khyp ignores) and reads all-ones; the time
 * registers in BCD or binary and in 12 or 24 hour form as register B
 * says, read live from the host's UTC clock plus the guest's offset;
 * register A's divider and rate bits as written, its UIP bit set in the
 * last 244 us of each second (while the chip would be updating); B as
 * written except that SET clears UIE (as the chip does); C read-only,
 * cleared by a read; D always VRT.  0x0e-0x7f are NVRAM.
 *
 * The clock stops, holding its time in the time registers, while B's SET
 * bit is set or A's divider is not in its running setting (010: reset
 * and test settings); it runs on from what they hold when both allow.
 *
 * Not modelled: the half second a divider reset delays the first update
 * by, daylight-saving (DSE) is kept but never applied, and a periodic
 * rate above 1024 Hz raises at most 1024 interrupts per second (register
 * C still shows PF at the rate set).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "../khyp.h"

static int64_t rtc__host_ns(const struct rtc *r)
{
	struct timespec ts;

	if (r->clock)
		return r->clock(r->opaque);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * NSEC_PER_SEC_RTC + ts.tv_nsec;
}

static int64_t rtc__guest_ns(const struct rtc *r, int64_t host)
{
	return host + r->offset * NSEC_PER_SEC_RTC;
}

static bool rtc__running(const struct rtc *r)
{
	return !(r->ram[RTC_REG_B] & RTC_B_SET) &&
	       (r->ram[RTC_REG_A] & RTC_A_DV_MASK) == RTC_A_DV_NORMAL;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static uint8_t rtc__to_reg(const struct rtc *r, unsigned int v)
{
	if (r->ram[RTC_REG_B] & RTC_B_DM_BINARY)
		return v;
	return ((v / 10) << 4) | (v % 10);
}

static unsigned int rtc__from_reg(const struct rtc *r, uint8_t v)
{
	if (r->ram[RTC_REG_B] & RTC_B_DM_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc__hour_to_reg(const struct rtc *r, unsigned int h)
{
	unsigned int h12 = h % 12 ? h % 12 : 12;

	if (r->ram[RTC_REG_B] & RTC_B_24H)
		return rtc__to_reg(r, h);
	return rtc__to_reg(r, h12) | (h >= 12 ? 0x80 : 0);
}

static unsigned int rtc__hour_from_reg(const struct rtc *r, uint8_t v)
{
	unsigned int h;

	if (r->ram[RTC_REG_B] & RTC_B_24H)
		return rtc__from_reg(r, v);
	h = rtc__from_reg(r, v & 0x7f) % 12;
	return v & 0x80 ? h + 12 : h;
}

/* The time registers (and the century) for guest second @sec. */
static void rtc__fields(const struct rtc *r, int64_t sec, uint8_t *ram)
{
	time_t t = sec;
	struct tm tm;

	gmtime_r(&t, &tm);
	ram[RTC_SECONDS] = rtc__to_reg(r, tm.tm_sec);
	ram[RTC_MINUTES] = rtc__to_reg(r, tm.tm_min);
	ram[RTC_HOURS] = rtc__hour_to_reg(r, tm.tm_hour);
	ram[RTC_DAY_OF_WEEK] = rtc__to_reg(r, tm.tm_wday + 1);
	ram[RTC_DAY_OF_MONTH] = rtc__to_reg(r, tm.tm_mday);
	ram[RTC_MONTH] = rtc__to_reg(r, tm.tm_mon + 1);
	ram[RTC_YEAR] = rtc__to_reg(r, (tm.tm_year + 1900) % 100);
	ram[RTC_CENTURY] = rtc__to_reg(r, (tm.tm_year + 1900) / 100);
}

/* The guest second the time registers in r->ram say. */
static int64_t rtc__from_fields(const struct rtc *r)
{
	const uint8_t *ram = r->ram;
	struct tm tm = { 0 };

	tm.tm_sec = rtc__from_reg(r, ram[RTC_SECONDS]);
	tm.tm_min = rtc__from_reg(r, ram[RTC_MINUTES]);
	tm.tm_hour = rtc__hour_from_reg(r, ram[RTC_HOURS]);
	tm.tm_mday = rtc__from_reg(r, ram[RTC_DAY_OF_MONTH]);
	tm.tm_mon = (int)rtc__from_reg(r, ram[RTC_MONTH]) - 1;
	tm.tm_year = rtc__from_reg(r, ram[RTC_CENTURY]) * 100 +
		     rtc__from_reg(r, ram[RTC_YEAR]) - 1900;
	return timegm(&tm);
}

static bool rtc__is_time_reg(unsigned int idx)
{
	return (idx <= RTC_YEAR && idx != RTC_SECONDS_ALARM &&
		idx != RTC_MINUTES_ALARM && idx != RTC_HOURS_ALARM) ||
	       idx == RTC_CENTURY;
}

static bool rtc__alarm_matches(const struct rtc *r, int64_t sec)
{
	static const uint8_t pairs[3][2] = {
		{ RTC_SECONDS_ALARM, RTC_SECONDS },
		{ RTC_MINUTES_ALARM, RTC_MINUTES },
		{ RTC_HOURS_ALARM, RTC_HOURS },
	};
	uint8_t now[RTC_SIZE];
	unsigned int i;
	uint8_t a;

	rtc__fields(r, sec, now);
	for (i = 0; i < 3; i++) {
		a = r->ram[pairs[i][0]];
		if ((a & RTC_ALARM_DONT_CARE) == RTC_ALARM_DONT_CARE)
			continue;
		if (a != now[pairs[i][1]])
			return false;
	}
	return true;
}

static void rtc__set_irq(struct rtc *r, bool level)
{
	if (level == r->irq_level)
		return;
	r->irq_level = level;
	if (r->irq)
		r->irq(r->opaque, level);
}

/* 32.768 kHz ticks between periodic events: 0 for none. */
static int64_t rtc__period_ns(const struct rtc *r)
{
	unsigned int rs = r->ram[RTC_REG_A] & RTC_A_RS_MASK;

	if (!rs)
		return 0;
	if (rs <= 2)
		rs += 7;
	return (NSEC_PER_SEC_RTC << (rs - 1)) / 32768;
}

/* Set the flags of register C for what happened up to host time @host. */
static void rtc__update(struct rtc *r, int64_t host)
{
	int64_t g = rtc__guest_ns(r, host), from, to, sec, period;
	uint8_t *c = &r->ram[RTC_REG_C];

	if (!rtc__running(r) || g <= r->last_ns) {
		r->last_ns = rtc__running(r) ? r->last_ns : g;
		return;
	}
	from = floor_div(r->last_ns, NSEC_PER_SEC_RTC);
	to = floor_div(g, NSEC_PER_SEC_RTC);
	if (to > from) {
		*c |= RTC_C_UF;
		/* a day at most: the alarm repeats within one */
		for (sec = to > from + 86400 ? to - 86400 : from + 1;
		     sec <= to && !(*c & RTC_C_AF); sec++)
			if (rtc__alarm_matches(r, sec))
				*c |= RTC_C_AF;
	}
	period = rtc__period_ns(r);
	if (period && floor_div(g, period) > floor_div(r->last_ns, period))
		*c |= RTC_C_PF;
	r->last_ns = g;
	if (*c & r->ram[RTC_REG_B] & (RTC_B_PIE | RTC_B_AIE | RTC_B_UIE))
		*c |= RTC_C_IRQF;
	rtc__set_irq(r, *c & RTC_C_IRQF);
}

void rtc__init(struct rtc *r, int64_t (*clock)(void *),
	       void (*irq)(void *, bool), void *opaque)
{
	uint8_t now[RTC_SIZE];

	memset(r, 0, sizeof(*r));
	r->clock = clock;
	r->irq = irq;
	r->opaque = opaque;
	r->ram[RTC_REG_A] = RTC_A_DV_NORMAL | 0x06;	/* 1024 Hz */
	r->ram[RTC_REG_B] = RTC_B_24H;
	r->ram[RTC_REG_D] = RTC_D_VRT;
	r->last_ns = rtc__guest_ns(r, rtc__host_ns(r));
	/* PS/2's century byte: NVRAM, the firmware's copy of 0x32 */
	rtc__fields(r, floor_div(r->last_ns, NSEC_PER_SEC_RTC), now);
	r->ram[RTC_CENTURY_PS2] = now[RTC_CENTURY];
}

void rtc__set_memory(struct rtc *r, uint64_t below_4g, uint64_t above_4g,
		     unsigned int cpus)
{
	uint64_t v;

	r->ram[0x15] = 640 & 0xff;		/* base memory, KiB */
	r->ram[0x16] = 640 >> 8;
	v = below_4g > (1 << 20) ? (below_4g >> 10) - 1024 : 0;
	if (v > 0xffff)
		v = 0xffff;
	r->ram[0x17] = r->ram[0x30] = v & 0xff;	/* extended memory, KiB */
	r->ram[0x18] = r->ram[0x31] = v >> 8;
	v = below_4g > (16 << 20) ? (below_4g - (16 << 20)) >> 16 : 0;
	if (v > 0xffff)
		v = 0xffff;
	r->ram[0x34] = v & 0xff;		/* above 16 MiB, 64 KiB units */
	r->ram[0x35] = v >> 8;
	v = above_4g >> 16;
	r->ram[0x5b] = v & 0xff;		/* above 4 GiB, 64 KiB units */
	r->ram[0x5c] = (v >> 8) & 0xff;
	r->ram[0x5d] = (v >> 16) & 0xff;
	r->ram[0x5f] = cpus ? cpus - 1 : 0;
}

static uint8_t rtc__read(struct rtc *r, unsigned int idx)
{
	int64_t host = rtc__host_ns(r), g;
	uint8_t now[RTC_SIZE], v;

	rtc__update(r, host);
	g = rtc__guest_ns(r, host);
	if (rtc__is_time_reg(idx)) {
		if (!rtc__running(r))
			return r->ram[idx];
		rtc__fields(r, floor_div(g, NSEC_PER_SEC_RTC), now);
		return now[idx];
	}
	switch (idx) {
	case RTC_REG_A:
		v = r->ram[RTC_REG_A] & ~RTC_A_UIP;
		if (rtc__running(r) &&
		    g - floor_div(g, NSEC_PER_SEC_RTC) * NSEC_PER_SEC_RTC >=
		    NSEC_PER_SEC_RTC - RTC_UIP_NS)
			v |= RTC_A_UIP;
		return v;
	case RTC_REG_C:
		v = r->ram[RTC_REG_C];
		r->ram[RTC_REG_C] = 0;
		rtc__set_irq(r, false);
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;
	}
	return r->ram[idx];
}

/* The time registers as they read now, into r->ram, to be changed. */
static void rtc__freeze(struct rtc *r, int64_t host)
{
	int64_t sec = floor_div(rtc__guest_ns(r, host), NSEC_PER_SEC_RTC);

	rtc__fields(r, sec, r->ram);
}

/*
 * The time registers in r->ram become the clock's: a new offset, at
 * most RTC_MAX_OFFSET either way (whatever BCD garbage the guest wrote:
 * the clock in ns must not overflow).
 */
static void rtc__thaw(struct rtc *r, int64_t host)
{
	int64_t off = rtc__from_fields(r) - floor_div(host, NSEC_PER_SEC_RTC);

	if (off > RTC_MAX_OFFSET)
		off = RTC_MAX_OFFSET;
	if (off < -RTC_MAX_OFFSET)
		off = -RTC_MAX_OFFSET;
	r->offset = off;
	r->last_ns = rtc__guest_ns(r, host);
}

/*
 * The clock stopped (SET, or the divider out of its running setting):
 * the time registers hold the time it stopped at; it started again:
 * it runs on from what they hold.
 */
static void rtc__run_changed(struct rtc *r, bool was_running, int64_t host)
{
	if (was_running && !rtc__running(r))
		rtc__freeze(r, host);
	else if (!was_running && rtc__running(r))
		rtc__thaw(r, host);
}

static void rtc__write(struct rtc *r, unsigned int idx, uint8_t v)
{
	int64_t host = rtc__host_ns(r);
	bool was_running = rtc__running(r);

	rtc__update(r, host);
	if (rtc__is_time_reg(idx)) {
		if (was_running)
			rtc__freeze(r, host);
		r->ram[idx] = v;
		if (was_running)
			rtc__thaw(r, host);
		return;
	}
	switch (idx) {
	case RTC_REG_A:
		r->ram[idx] = v & ~RTC_A_UIP;
		rtc__run_changed(r, was_running, host);
		r->last_ns = rtc__guest_ns(r, host);
		return;
	case RTC_REG_B:
		if (v & RTC_B_SET)
			v &= ~RTC_B_UIE;
		r->ram[idx] = v;
		rtc__run_changed(r, was_running, host);
		/* an event already flagged interrupts once enabled */
		if (r->ram[RTC_REG_C] & v & (RTC_B_PIE | RTC_B_AIE | RTC_B_UIE)) {
			r->ram[RTC_REG_C] |= RTC_C_IRQF;
			rtc__set_irq(r, true);
		}
		return;
	case RTC_REG_C:
	case RTC_REG_D:
		return;			/* read-only */
	}
	if (idx >= RTC_NVRAM_FIRST || idx <= RTC_HOURS_ALARM)
		r->ram[idx] = v;	/* NVRAM, alarms */
}

uint8_t rtc__in(struct rtc *r, unsigned int port)
{
	if (port == RTC_PORT_INDEX)
		return 0xff;		/* write-only */
	return rtc__read(r, r->index);
}

void rtc__out(struct rtc *r, unsigned int port, uint8_t v)
{
	if (port == RTC_PORT_INDEX)
		r->index = v & 0x7f;	/* bit 7: the NMI mask, ignored */
	else
		rtc__write(r, r->index, v);
}

int64_t rtc__tick(struct rtc *r)
{
	int64_t host = rtc__host_ns(r), g, next = 0, period, t;
	uint8_t b = r->ram[RTC_REG_B];

	rtc__update(r, host);
	if (!rtc__running(r))
		return 0;
	g = rtc__guest_ns(r, host);
	if (b & (RTC_B_UIE | RTC_B_AIE))
		next = (floor_div(g, NSEC_PER_SEC_RTC) + 1) * NSEC_PER_SEC_RTC;
	period = rtc__period_ns(r);
	if ((b & RTC_B_PIE) && period) {
		if (period < NSEC_PER_SEC_RTC / 1024)
			period = NSEC_PER_SEC_RTC / 1024;
		t = (floor_div(g, period) + 1) * period;
		if (!next || t < next)
			next = t;
	}
	return next ? next - r->offset * NSEC_PER_SEC_RTC : 0;
}

/*
 * On a PC's reset the chip keeps its time and RAM; its RESET input
 * clears the interrupt enables and flags (and SQWE).
 */
void rtc__reset(struct rtc *r)
{
	r->ram[RTC_REG_B] &= ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
	r->ram[RTC_REG_C] = 0;
	rtc__set_irq(r, false);
}

/* ---- the device: ports 0x70-0x71, IRQ 8, the timer thread ---- */

static void rtc__irq(void *opaque, bool level)
{
	machine__irq_line(opaque, RTC_IRQ, level);
}

static int rtc__io(struct bus_access *a, void *opaque)
{
	struct machine *m = opaque;

	if (!a->write) {
		a->data = rtc__in(&m->rtc, a->addr);
		return RUN_CONTINUE;
	}
	rtc__out(&m->rtc, a->addr, a->data);
	/* A, B: the thread's next wake-up may have moved */
	if (a->addr == RTC_PORT_DATA && m->rtc_thread_on &&
	    (m->rtc.index == RTC_REG_A || m->rtc.index == RTC_REG_B))
		pthread_cond_signal(&m->rtc_cond);
	return RUN_CONTINUE;
}

int64_t rtc__wait_ns(struct rtc *r)
{
	int64_t next = rtc__tick(r), now;

	if (!next)
		return -1;
	now = rtc__host_ns(r);
	return next > now ? next - now : 0;
}

/*
 * Raises IRQ 8 on time for the events the guest enabled; under m->lock.
 * It sleeps until the next event on CLOCK_MONOTONIC (rtc_cond's clock),
 * so that a step of the host's wall clock neither wakes it early nor
 * holds it back; the event's time itself comes from the wall clock.
 */
static void *rtc__thread(void *arg)
{
	struct machine *m = arg;
	struct timespec ts;
	int64_t wait, at;

	pthread_mutex_lock(&m->lock);
	while (!m->rtc_thread_stop) {
		wait = rtc__wait_ns(&m->rtc);
		if (wait < 0) {
			pthread_cond_wait(&m->rtc_cond, &m->lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		at = ts.tv_sec * NSEC_PER_SEC_RTC + ts.tv_nsec + wait;
		ts.tv_sec = at / NSEC_PER_SEC_RTC;
		ts.tv_nsec = at % NSEC_PER_SEC_RTC;
		pthread_cond_timedwait(&m->rtc_cond, &m->lock, &ts);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* After m->lock exists: the thread, if an irqchip can take IRQ 8. */
int rtc__start(struct machine *m)
{
	pthread_condattr_t ca;
	int r;

	if (!m->vm.irqchip)
		return 0;
	m->rtc_thread_stop = false;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->rtc_cond, &ca);
	pthread_condattr_destroy(&ca);
	r = devices__thread(&m->rtc_thread, rtc__thread, m);
	if (r) {
		pthread_cond_destroy(&m->rtc_cond);
		errno = r;
		return -1;
	}
	m->rtc_thread_on = true;
	return 0;
}

void rtc__stop(struct machine *m)
{
	if (!m->rtc_thread_on)
		return;
	pthread_mutex_lock(&m->lock);
	m->rtc_thread_stop = true;
	pthread_cond_signal(&m->rtc_cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->rtc_thread, NULL);
	pthread_cond_destroy(&m->rtc_cond);
	m->rtc_thread_on = false;
}

int rtc__dev_init(struct machine *m, char *err, size_t errlen)
{
	const struct run_opts *o = m->opts;
	uint64_t low, high;
	const struct bus_dev dev = {
		.name = "CMOS RTC",
		.base = RTC_PORT_INDEX,
		.len = 2,
		.widths = BUS_WIDTH_1,
		.handle = rtc__io,
		.opaque = m,
	};

	rtc__init(&m->rtc, NULL, rtc__irq, m);
	mem_split(o->mem_size, &low, &high);	/* as vm.c maps it */
	rtc__set_memory(&m->rtc, low, high, o->cpus);
	return bus__register(&m->ports, &dev, err, errlen);
}
