// SPDX-License-Identifier: GPL-2.0
/*
 * The ACPI PM block (devices/acpi_pm.c) through the port bus, as the
 * guest's IN and OUT reach it: the PM timer's rate and wrap, write-1-to-
 * clear status, SCI_EN, S5 power-off and the other sleep types, GPE0.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "../khyp.h"

static struct run_opts pm_opts;
static struct machine pm_m;
static char pm_log[256];	/* what the device said on stderr */
static uint64_t fake_ns;

static uint64_t fake_clock(void)
{
	return fake_ns;
}

static int pm_setup(struct tctx *t)
{
	bus__exit(&pm_m.ports);
	memset(&pm_m, 0, sizeof(pm_m));
	memset(&pm_opts, 0, sizeof(pm_opts));
	pm_m.opts = &pm_opts;
	bus__init(&pm_m.ports, "port", 0x10000);
	return acpi_pm__init(&pm_m, t->err, sizeof(t->err));
}

/* One port access, stderr into pm_log; the handler's result. */
static int pm_io(bool write, uint16_t port, unsigned int size,
		 uint64_t *data)
{
	struct bus_access a = {
		.addr = port, .size = size, .write = write,
		.data = write ? *data & access_mask(size) : access_mask(size),
	};
	FILE *f = tmpfile();
	int saved, ret;
	size_t n = 0;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	if (f)
		dup2(fileno(f), STDERR_FILENO);
	ret = bus__dispatch(&pm_m.ports, &a);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (f) {
		rewind(f);
		n = fread(pm_log, 1, sizeof(pm_log) - 1, f);
		fclose(f);
	}
	pm_log[n] = 0;
	if (!write)
		*data = a.data;
	return ret;
}

static uint64_t pm_in(uint16_t port, unsigned int size)
{
	uint64_t v = 0;

	if (pm_io(false, port, size, &v) != RUN_CONTINUE)
		return 0xdeadbeefdeadULL;
	return v;
}

static int pm_out(uint16_t port, unsigned int size, uint64_t v)
{
	return pm_io(true, port, size, &v);
}

static double host_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Against the host's own clock: ticks between two reads lie between the
 * host time between the inner ends of the reads and between their outer
 * ends, at 3.579545 MHz (one tick of rounding either way).
 */
static void acpi_pm_timer_rate(struct tctx *t)
{
	struct timespec d = { 0, 100 * 1000 * 1000 };
	double h0, h1, h2, h3, ticks;
	uint32_t a, b, prev;
	unsigned int i;

	CHECK(t, !pm_setup(t));
	prev = pm_in(ACPI_PM_TMR, 4);
	for (i = 0; i < 1000; i++) {
		uint32_t v = pm_in(ACPI_PM_TMR, 4);

		CHECK(t, v >= prev);	/* no wrap: it counts from 0 */
		prev = v;
	}
	h0 = host_s();
	a = pm_in(ACPI_PM_TMR, 4);
	h1 = host_s();
	nanosleep(&d, NULL);
	h2 = host_s();
	b = pm_in(ACPI_PM_TMR, 4);
	h3 = host_s();
	ticks = (double)(uint32_t)(b - a);
	snprintf(t->err, sizeof(t->err),
		 "%.0f ticks in %.1f-%.1f ms", ticks, (h2 - h1) * 1e3,
		 (h3 - h0) * 1e3);
	CHECK(t, ticks >= (h2 - h1) * ACPI_PM_TIMER_HZ - 1 &&
		 ticks <= (h3 - h0) * ACPI_PM_TIMER_HZ + 1);
	CHECK(t, ticks > 0.1 * ACPI_PM_TIMER_HZ - 1);
	/* read-only */
	CHECK(t, pm_out(ACPI_PM_TMR, 4, 0) == RUN_CONTINUE);
	CHECK(t, pm_in(ACPI_PM_TMR, 4) >= b);
}

static void acpi_pm_timer_wraps(struct tctx *t)
{
	CHECK(t, acpi_pm__ticks(1000000000ULL) == ACPI_PM_TIMER_HZ);
	CHECK(t, acpi_pm__ticks(3600ULL * 1000000000ULL) ==
		 3600ULL * ACPI_PM_TIMER_HZ);
	CHECK(t, acpi_pm__ticks(279) == 0 && acpi_pm__ticks(280) == 1);
	CHECK(t, !pm_setup(t));
	pm_m.acpi_pm.now_ns = fake_clock;
	pm_m.acpi_pm.tmr_start_ns = 1000;
	fake_ns = 1000 + 1000000000ULL;
	CHECK(t, pm_in(ACPI_PM_TMR, 4) == ACPI_PM_TIMER_HZ);
	CHECK(t, pm_in(ACPI_PM_TMR + 1, 1) == ((ACPI_PM_TIMER_HZ >> 8) & 0xff));
	CHECK(t, !(pm_in(ACPI_PM1_EVT, 2) & ACPI_PM1_TMR));
	/* bit 31 flips after 2^31 ticks (600 s): TMR_STS, W1C */
	fake_ns = 1000 + 600ULL * 1000000000ULL + 1000000ULL;
	CHECK(t, pm_in(ACPI_PM_TMR, 4) >> 31);
	CHECK(t, pm_in(ACPI_PM1_EVT, 2) & ACPI_PM1_TMR);
	CHECK(t, pm_out(ACPI_PM1_EVT, 2, 0) == RUN_CONTINUE);
	CHECK(t, pm_in(ACPI_PM1_EVT, 2) & ACPI_PM1_TMR);
	CHECK(t, pm_out(ACPI_PM1_EVT, 2, ACPI_PM1_TMR) == RUN_CONTINUE);
	CHECK(t, !(pm_in(ACPI_PM1_EVT, 2) & ACPI_PM1_TMR));
	/* past 2^32 ticks (1200 s): the 32-bit value wraps */
	fake_ns = 1000 + 1200ULL * 1000000000ULL + 1000000ULL;
	CHECK(t, pm_in(ACPI_PM_TMR, 4) ==
		 (uint32_t)acpi_pm__ticks(1200ULL * 1000000000ULL + 1000000ULL));
	CHECK(t, pm_in(ACPI_PM_TMR, 4) < 1000000);
	CHECK(t, pm_in(ACPI_PM1_EVT, 2) & ACPI_PM1_TMR);
}

static void acpi_pm_pm1_w1c(struct tctx *t)
{
	CHECK(t, !pm_setup(t));
	pm_m.acpi_pm.pm1_sts = ACPI_PM1_PWRBTN | ACPI_PM1_WAK;
	CHECK(t, pm_in(ACPI_PM1_EVT, 2) == (ACPI_PM1_PWRBTN | ACPI_PM1_WAK));
	/* writing 0s changes nothing, a 1 clears its bit only */
	CHECK(t, pm_out(ACPI_PM1_EVT, 2, 0) == RUN_CONTINUE);
	CHECK(t, pm_in(ACPI_PM1_EVT, 2) == (ACPI_PM1_PWRBTN | ACPI_PM1_WAK));
	CHECK(t, pm_out(ACPI_PM1_EVT + 1, 1, ACPI_PM1_WAK >> 8) == RUN_CONTINUE);
	CHECK(t, pm_in(ACPI_PM1_EVT, 2) == ACPI_PM1_PWRBTN);
	/* a 32-bit write: status W1C, enable written */
	CHECK(t, pm_out(ACPI_PM1_EVT, 4, (uint32_t)ACPI_PM1_PWRBTN << 16 |
			ACPI_PM1_PWRBTN) == RUN_CONTINUE);
	CHECK(t, pm_in(ACPI_PM1_EVT, 4) == (uint32_t)ACPI_PM1_PWRBTN << 16);
	CHECK(t, pm_in(ACPI_PM1_EVT + 2, 2) == ACPI_PM1_PWRBTN);
	/* only the defined enable bits stick */
	CHECK(t, pm_out(ACPI_PM1_EVT + 2, 2, 0xffff) == RUN_CONTINUE);
	CHECK(t, pm_in(ACPI_PM1_EVT + 2, 2) == 0x0721);
	/* SCI_EN reads 1 whatever is written; SLP_TYP reads back */
	CHECK(t, pm_in(ACPI_PM1_CNT, 2) == ACPI_PM1_SCI_EN);
	CHECK(t, pm_out(ACPI_PM1_CNT, 2, 5 << ACPI_PM1_SLP_TYP_SHIFT) ==
		 RUN_CONTINUE);
	CHECK(t, pm_in(ACPI_PM1_CNT, 2) ==
		 (ACPI_PM1_SCI_EN | 5 << ACPI_PM1_SLP_TYP_SHIFT));
	CHECK(t, !pm_log[0]);
	/* GPE0: status always 0 (W1C), enable read/write */
	CHECK(t, pm_in(ACPI_GPE0, 4) == 0);
	CHECK(t, pm_out(ACPI_GPE0, 4, 0xffffffff) == RUN_CONTINUE);
	CHECK(t, pm_in(ACPI_GPE0, 4) == 0 && pm_in(ACPI_GPE0 + 4, 4) == 0);
	CHECK(t, pm_out(ACPI_GPE0 + 8, 2, 0x1234) == RUN_CONTINUE);
	CHECK(t, pm_in(ACPI_GPE0 + 8, 4) == 0x1234);
	CHECK(t, pm_in(ACPI_GPE0 + 15, 1) == 0);
	CHECK(t, pm_in(ACPI_GPE0 + 14, 4) == 0xffff0000);
	/* 0x606 reads 0; past the block all-ones */
	CHECK(t, pm_in(ACPI_PM1_CNT + 2, 2) == 0);
	CHECK(t, (pm_in(ACPI_PM_TMR + 2, 4) >> 16) == 0xffff);
}

static void acpi_pm_s5_powers_off(struct tctx *t)
{
	CHECK(t, !pm_setup(t));
	/* SLP_TYP without SLP_EN: nothing happens (Linux writes both ways) */
	CHECK(t, pm_out(ACPI_PM1_CNT, 2, ACPI_SLP_TYP_S5 <<
			ACPI_PM1_SLP_TYP_SHIFT) == RUN_CONTINUE);
	/* another sleep type: said once, ignored */
	CHECK(t, pm_out(ACPI_PM1_CNT, 2, 1 << ACPI_PM1_SLP_TYP_SHIFT |
			ACPI_PM1_SLP_EN) == RUN_CONTINUE);
	CHECK(t, strstr(pm_log, "sleep type 1") && strstr(pm_log, "ignored"));
	CHECK(t, pm_out(ACPI_PM1_CNT, 2, 1 << ACPI_PM1_SLP_TYP_SHIFT |
			ACPI_PM1_SLP_EN) == RUN_CONTINUE);
	CHECK(t, !pm_log[0]);
	CHECK(t, !(pm_in(ACPI_PM1_CNT, 2) & ACPI_PM1_SLP_EN));
	/* S5: status 0 and the message */
	CHECK(t, pm_out(ACPI_PM1_CNT, 2, ACPI_SLP_TYP_S5 <<
			ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN) == 0);
	CHECK(t, !strcmp(pm_log, "khyp: guest powered off\n"));
	/* the same as a byte write to the high half */
	CHECK(t, pm_out(ACPI_PM1_CNT + 1, 1, (ACPI_SLP_TYP_S5 <<
			ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN) >> 8) == 0);
	bus__exit(&pm_m.ports);
}

/* A machine reset: the block as at power-on, the timer from 0 again. */
static void acpi_pm_reset(struct tctx *t)
{
	CHECK(t, !pm_setup(t));
	pm_m.acpi_pm.now_ns = fake_clock;
	pm_m.acpi_pm.tmr_start_ns = 0;
	fake_ns = 700ULL * 1000000000ULL;		/* bit 31 set: TMR_STS */
	pm_m.acpi_pm.pm1_sts = ACPI_PM1_PWRBTN;
	CHECK(t, pm_out(ACPI_PM1_EVT + 2, 2, ACPI_PM1_GBL) == RUN_CONTINUE);
	CHECK(t, pm_out(ACPI_PM1_CNT, 2, 5 << ACPI_PM1_SLP_TYP_SHIFT) ==
		 RUN_CONTINUE);
	CHECK(t, pm_out(ACPI_GPE0 + 8, 1, 0x5a) == RUN_CONTINUE);
	CHECK(t, pm_in(ACPI_PM1_EVT, 2) == (ACPI_PM1_PWRBTN | ACPI_PM1_TMR));
	acpi_pm__reset(&pm_m.acpi_pm);
	CHECK(t, pm_m.acpi_pm.now_ns == fake_clock);
	CHECK(t, pm_in(ACPI_PM_TMR, 4) == 0);
	CHECK(t, pm_in(ACPI_PM1_EVT, 4) == 0);
	CHECK(t, pm_in(ACPI_PM1_CNT, 2) == ACPI_PM1_SCI_EN);
	CHECK(t, pm_in(ACPI_GPE0 + 8, 4) == 0);
	fake_ns += 1000000000ULL;
	CHECK(t, pm_in(ACPI_PM_TMR, 4) == ACPI_PM_TIMER_HZ);
}

const struct tcase acpi_pm_cases[] = {
	{ "acpi_pm_timer_rate", acpi_pm_timer_rate },
	{ "acpi_pm_timer_wraps", acpi_pm_timer_wraps },
	{ "acpi_pm_pm1_w1c", acpi_pm_pm1_w1c },
	{ "acpi_pm_s5_powers_off", acpi_pm_s5_powers_off },
	{ "acpi_pm_reset", acpi_pm_reset },
	{ NULL, NULL },
};
