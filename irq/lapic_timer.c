// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC's timer (irq/lapic.c holds the rest of the APIC): the
 * LVT timer entry's three modes, one-shot, periodic and TSC-deadline,
 * the divide configuration (TDCR), the initial and current counts
 * (TMICT, TMCCT) and IA32_TSC_DEADLINE.
 *
 * The timer is an hrtimer (never polled), on an APIC bus clock of 1 GHz
 * (1 ns per tick before the divider); a periodic timer never fires more
 * often than every lapic_min_period_us (a module parameter, 100 us), so a
 * guest cannot make the host take interrupts in a storm.  When it fires
 * (khyp_lapic_timer_fn(), hard interrupt context, any CPU) it sets the
 * LVT timer's vector in IRR, as any fixed interrupt, and tells the vCPU
 * (khyp_lapic_notify()); a periodic timer is forwarded by its period.
 *
 * The TSC-deadline mode (LVT timer bits 18:17 = 10b, IA32_TSC_DEADLINE):
 * the deadline is in the guest's TSC, which runs at the host's rate
 * (an offset, core/cpuid.c), so it becomes an hrtimer expiry through
 * tsc_khz; a deadline already passed fires at once.  The guest re-arms
 * it with a WRMSR, an exit, so it needs no minimum period.
 *
 * Locking: the APIC's @lock (struct khyp_lapic, irq/lapic.h) protects
 * the timer's fields as the registers; the callback takes it, so
 * hrtimer_cancel() is called without it.  Only the vCPU's own thread
 * starts or cancels the timer (register and MSR writes, INIT, APIC
 * disable, destruction); the callback only forwards a periodic one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>
#include <asm/tsc.h>

#include "../core/vcpu.h"
#include "lapic.h"

/*
 * The shortest period of a periodic timer (docs/api.md): 100 us unless
 * the administrator says otherwise, never below 10 us.  Read when a
 * timer starts.
 */
static unsigned int lapic_min_period_us = 100;
module_param(lapic_min_period_us, uint, 0644);
MODULE_PARM_DESC(lapic_min_period_us,
		 "shortest period of a guest's periodic LAPIC timer, in us, 10 or more (default 100)");
#define KHYP_LAPIC_MIN_PERIOD_FLOOR_US	10U

/* A deadline further away than 2^48 TSC ticks (a day at 3 GHz) is "later". */
#define KHYP_LAPIC_MAX_TSC_DELTA	BIT_ULL(48)

static u32 khyp_lapic_divide(struct khyp_lapic *a)
{
	u32 dcr = khyp_lapic_get(a, APIC_TDCR);
	u32 v = (dcr & 3) | ((dcr & 8) >> 1);

	return 1U << ((v + 1) & 7);
}

static bool khyp_lapic_periodic(struct khyp_lapic *a)
{
	return khyp_lapic_timer_mode(a) == APIC_LVT_TIMER_PERIODIC;
}

static bool khyp_lapic_tsc_deadline_mode(struct khyp_lapic *a)
{
	return khyp_lapic_timer_mode(a) == APIC_LVT_TIMER_TSCDEADLINE;
}

static enum hrtimer_restart khyp_lapic_timer_fn(struct hrtimer *t)
{
	struct khyp_lapic *a = container_of(t, struct khyp_lapic, timer);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	unsigned long flags;
	bool notify = false;
	u32 lvt;

	raw_spin_lock_irqsave(&a->lock, flags);
	lvt = khyp_lapic_get(a, APIC_LVTT);
	if (!(lvt & APIC_LVT_MASKED))
		notify = khyp_lapic_set_irr_locked(a, lvt & APIC_VECTOR_MASK,
						   false);
	if (a->period_ns && khyp_lapic_periodic(a)) {
		hrtimer_forward_now(t, ns_to_ktime(a->period_ns));
		a->start = ktime_sub_ns(hrtimer_get_expires(t), a->period_ns);
		ret = HRTIMER_RESTART;
	} else {
		a->period_ns = 0;
		a->tsc_deadline = 0;
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	if (notify)
		khyp_lapic_notify(a->vcpu);
	return ret;
}

void khyp_lapic_timer_init(struct khyp_lapic *a)
{
	hrtimer_init(&a->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	a->timer.function = khyp_lapic_timer_fn;
}

/* Stop it and wait for a running callback (without @lock: it takes it). */
void khyp_lapic_timer_cancel(struct khyp_lapic *a)
{
	hrtimer_cancel(&a->timer);
}

void khyp_lapic_timer_reset(struct khyp_lapic *a)
{
	a->period_ns = 0;
	a->tsc_deadline = 0;
}

/* Start counting from the initial count (caller holds @lock). */
void khyp_lapic_timer_start(struct khyp_lapic *a)
{
	u64 ns = (u64)khyp_lapic_get(a, APIC_TMICT) * khyp_lapic_divide(a);
	u64 min_ns = max(READ_ONCE(lapic_min_period_us),
			 KHYP_LAPIC_MIN_PERIOD_FLOOR_US) * NSEC_PER_USEC;

	a->period_ns = 0;
	if (!ns)
		return;
	if (khyp_lapic_periodic(a) && ns < min_ns)
		ns = min_ns;
	a->period_ns = ns;
	a->start = ktime_get();
	hrtimer_start(&a->timer, ktime_add_ns(a->start, ns),
		      HRTIMER_MODE_ABS_HARD);
}

/* The current count: what is left of the period, in ticks. */
u32 khyp_lapic_timer_current(struct khyp_lapic *a)
{
	s64 left;
	u64 ticks;

	if (!a->period_ns || khyp_lapic_tsc_deadline_mode(a))
		return 0;
	left = ktime_to_ns(ktime_sub(ktime_add_ns(a->start, a->period_ns),
				     ktime_get()));
	if (left <= 0)
		return 0;
	ticks = div_u64(left, khyp_lapic_divide(a));
	return min_t(u64, ticks, khyp_lapic_get(a, APIC_TMICT));
}

/*
 * IA32_TSC_DEADLINE: outside TSC-deadline mode it reads 0 and ignores
 * writes; in it, a write arms the timer for that guest TSC value (0
 * disarms), and a read gives the armed deadline, 0 once it fired.
 */
int khyp_lapic_tsc_deadline_msr(struct khyp_lapic *a, bool write, u64 *data)
{
	struct khyp_vcpu *vcpu = a->vcpu;
	unsigned long flags;
	u64 now, ns = 0;

	if (!tsc_khz)
		return -EINVAL;		/* not in CPUID: #GP */
	if (!write) {
		raw_spin_lock_irqsave(&a->lock, flags);
		*data = khyp_lapic_tsc_deadline_mode(a) ? a->tsc_deadline : 0;
		raw_spin_unlock_irqrestore(&a->lock, flags);
		return 0;
	}
	/* Only this vCPU's thread changes the mode and the deadline. */
	if (!khyp_lapic_tsc_deadline_mode(a))
		return 0;
	khyp_lapic_timer_cancel(a);
	now = khyp_backend->get_msr(vcpu, MSR_IA32_TSC);
	if (*data > now)
		ns = mul_u64_u32_div(min(*data - now, KHYP_LAPIC_MAX_TSC_DELTA),
				     USEC_PER_SEC, tsc_khz);
	raw_spin_lock_irqsave(&a->lock, flags);
	a->tsc_deadline = *data;
	a->period_ns = 0;
	if (*data) {
		a->period_ns = max(ns, 1ULL);
		a->start = ktime_get();
		hrtimer_start(&a->timer, ktime_add_ns(a->start, ns),
			      HRTIMER_MODE_ABS_HARD);
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return 0;
}

/*
 * The vector of the LVT timer entry if it is unmasked, else -1: an
 * interrupt accepted at it is counted as the timer's (irq/inject.c).
 * The vCPU's own thread (the only writer of the LVT) calls it.
 */
int khyp_lapic_timer_vector(struct khyp_vcpu *vcpu)
{
	u32 lvt = READ_ONCE(vcpu->lapic->regs[APIC_LVTT >> 2]);

	return lvt & APIC_LVT_MASKED ? -1 : lvt & APIC_VECTOR_MASK;
}

void khyp_lapic_timer_show(struct seq_file *m, struct khyp_lapic *a)
{
	static const char * const timer_modes[4] = {
		"one-shot", "periodic", "tsc-deadline", "reserved",
	};

	seq_printf(m, "  timer %s divide %u initial %u current %u period_ns %llu tsc_deadline %llu running %u\n",
		   timer_modes[khyp_lapic_timer_mode(a) >> 17],
		   khyp_lapic_divide(a), khyp_lapic_get(a, APIC_TMICT),
		   khyp_lapic_timer_current(a), a->period_ns, a->tsc_deadline,
		   hrtimer_active(&a->timer));
}
