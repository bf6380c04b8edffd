// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy PC timer: an 8254 PIT at ports 0x40-0x43, clocked at
 * 1193182 Hz, and the "system control port B" at 0x61 that gates its
 * channel 2 and shows that channel's output.  Part of the irqchip
 * (irq/irqchip.c).
 *
 * Nothing here counts: a channel remembers when its count was loaded
 * and computes its counter and its output from ktime_get() whenever the
 * guest looks (a read, a latch, a read-back, port 0x61).  Only channel
 * 0, whose output is ISA IRQ 0, has an hrtimer: it fires at the rising
 * edges of OUT0 and pulses the line (khyp_pit_raise_irq0()).  A periodic
 * channel 0 never fires more often than every pit_min_period_us (a
 * module parameter, 100 us), so a guest that programs a count of 1
 * (838 ns) gets at most 10,000 interrupts a second and the host stays
 * responsive; its counter, read back, still runs at the true rate.
 *
 * Emulated: the three channels; modes 0 (interrupt on terminal count),
 * 1 (hardware one-shot: triggered by a rising gate, so on channel 2
 * only), 2 (rate generator), 3 (square wave), 4 (software strobe) and 5
 * (hardware strobe, channel 2 only); the access modes (LSB, MSB, LSB
 * then MSB); the counter latch command; the read-back command (count
 * and status of any set of channels); the status byte (OUT, null count,
 * access and mode bits, BCD bit); the gate of channel 2 from port 0x61
 * (gate low suspends modes 0 and 4, stops modes 2 and 3 with OUT high;
 * a rising gate restarts 1, 2, 3 and 5).  Channels 0 and 1 have their
 * gate tied high, as on a PC; channel 1 (DRAM refresh) drives nothing.
 *
 * Not emulated: BCD counting (the BCD bit is kept and shown in the
 * status byte, but the channel counts in binary; no OS in use programs
 * BCD); a new count written in modes 2 and 3 takes effect at once
 * rather than at the end of the current period (as in KVM); "null
 * count" is shown while no count was written since the control word or
 * during the first tick after it was written; OUT of channel 1; the PC
 * speaker (port 0x61 bit 1 is kept, nothing sounds).
 *
 * Locking: khyp_pit.lock (a raw spinlock, irqsave: the hrtimer callback
 * runs in hard interrupt context) protects the channels, port 0x61 and
 * the timer's state.  The PIC is called only after it is dropped, so the
 * two locks never nest.  The timer is stopped under the lock with
 * hrtimer_try_to_cancel() (the callback takes the lock, so
 * hrtimer_cancel() would wait for itself); a callback that lost that
 * race finds @irq_active clear, or the timer queued again, and does
 * nothing.  hrtimer_cancel() runs only at destruction, without the lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "../core/bus.h"
#include "../core/vcpu.h"
#include "../core/vm.h"
#include "irq.h"
#include "irqchip.h"
#include "pic.h"

/*
 * The shortest period of channel 0's interrupt (docs/api.md): 100 us
 * unless the administrator says otherwise, never below 10 us.  Read
 * when the channel is programmed.
 */
static unsigned int pit_min_period_us = 100;
module_param(pit_min_period_us, uint, 0644);
MODULE_PARM_DESC(pit_min_period_us,
		 "shortest period of a guest's periodic PIT interrupt, in us, 10 or more (default 100)");
#define KHYP_PIT_MIN_PERIOD_FLOOR_US	10U

#define KHYP_PIT_HZ		1193182U
#define KHYP_PIT_PORT		0x40	/* 0x40-0x42 counters, 0x43 control */
#define KHYP_PIT_CONTROL	3
#define KHYP_PORT61		0x61
/* Port 0x61: the bits kept (gate 2, speaker, parity/IOCHK enables). */
#define KHYP_PORT61_GATE2	0x01
#define KHYP_PORT61_KEPT	0x0f
#define KHYP_PORT61_REFRESH	0x10
#define KHYP_PORT61_OUT2	0x20
/* Bit 4 of port 0x61 toggles with each DRAM refresh, every 15.085 us. */
#define KHYP_REFRESH_NS		15085

/* Access modes (control word bits 5:4) and where a two-byte access is. */
enum khyp_pit_rw {
	KHYP_PIT_RW_LATCH,	/* the counter latch command */
	KHYP_PIT_RW_LSB,
	KHYP_PIT_RW_MSB,
	KHYP_PIT_RW_WORD0,	/* LSB then MSB: the LSB is next */
	KHYP_PIT_RW_WORD1,	/* ... the MSB is next */
};

#define KHYP_PIT_STATUS_OUT	0x80
#define KHYP_PIT_STATUS_NULL	0x40
/* Read-back command (channel field 3): bits 3:1 select the channels. */
#define KHYP_PIT_RB_NO_COUNT	0x20
#define KHYP_PIT_RB_NO_STATUS	0x10

/**
 * struct khyp_pit_channel - one counter (all fields: khyp_pit.lock)
 * @count:	the count written, 1 .. 0x10000 (0 is written for 0x10000).
 * @load:	when counting began; moved forward while the gate held a
 *		mode-0 or mode-4 count suspended.
 * @gate_low_at: when the gate went low, if it is low.
 * @loaded:	a count was written since the last control word.
 * @armed:	modes 1 and 5: a rising gate triggered the count.
 * @gate:	the gate input (channels 0 and 1: always high).
 * @mode:	0-5.
 * @bcd:	the control word's BCD bit (kept, not honoured).
 * @rw:		the access mode, KHYP_PIT_RW_LSB .. _WORD0.
 * @read_state: where the next read of the live counter goes.
 * @write_state: where the next write of a count goes.
 * @write_lsb:	the LSB of a two-byte count being written.
 * @latched:	a latched count's read state, KHYP_PIT_RW_LATCH if none.
 * @latched_count: the count latched.
 * @status_latched: a status byte waits to be read.
 * @status:	the status byte latched.
 */
struct khyp_pit_channel {
	u32 count;
	ktime_t load;
	ktime_t gate_low_at;
	bool loaded, armed, gate;
	u8 mode;
	bool bcd;
	u8 rw, read_state, write_state, write_lsb;
	u8 latched;
	u16 latched_count;
	bool status_latched;
	u8 status;
};

/**
 * struct khyp_pit - the 8254 and port 0x61 of one VM
 * @lock:	protects everything below but the (c) fields.
 * @ch:		the three channels.
 * @port61:	port 0x61's kept bits (KHYP_PORT61_KEPT).
 * @timer:	channel 0's interrupt; callback khyp_pit_timer_fn().
 * @irq_active:	the timer is meant to fire (cleared to stop it).
 * @period_ns:	channel 0's interrupt period (floored), 0 for one shot.
 * @nr_irq0:	pulses of IRQ 0 (channel 0's timer fired), debugfs.
 * @nr_pio:	port accesses answered (0x40-0x43, 0x61): exits to it.
 * @chip:	(c) the irqchip (its PIC takes IRQ 0).
 * @io_pit:	(c) ports 0x40-0x43 on the VM's PIO bus.
 * @io_port61:	(c) port 0x61.
 *
 * (c): set at creation, constant until freed.
 */
struct khyp_pit {
	raw_spinlock_t lock;	/* see above; raw: the hard-irq timer takes it */
	struct khyp_pit_channel ch[3];
	u8 port61;
	struct hrtimer timer;
	bool irq_active;
	u64 period_ns;
	u64 nr_irq0;
	u64 nr_pio;
	struct khyp_irqchip *chip;
	struct khyp_bus_dev io_pit;
	struct khyp_bus_dev io_port61;
};

static u64 khyp_pit_ns_to_ticks(s64 ns)
{
	return ns <= 0 ? 0 : mul_u64_u32_div(ns, KHYP_PIT_HZ, NSEC_PER_SEC);
}

/* The time of tick @ticks after a load: rounded up, never early. */
static u64 khyp_pit_ticks_to_ns(u64 ticks)
{
	return DIV_ROUND_UP_ULL(ticks * NSEC_PER_SEC, KHYP_PIT_HZ);
}

/* Does a low gate suspend this mode's count (else it only triggers)? */
static bool khyp_pit_gate_stops(struct khyp_pit_channel *c)
{
	return c->mode != 1 && c->mode != 5;
}

/* Ticks counted since the load, at @now. */
static u64 khyp_pit_elapsed(struct khyp_pit_channel *c, ktime_t now)
{
	if (!c->loaded || ((c->mode == 1 || c->mode == 5) && !c->armed))
		return 0;
	if (!c->gate && khyp_pit_gate_stops(c))
		now = c->gate_low_at;
	return khyp_pit_ns_to_ticks(ktime_to_ns(ktime_sub(now, c->load)));
}

/* The counting element at @now (what a latch or a direct read sees). */
static u16 khyp_pit_counter(struct khyp_pit_channel *c, ktime_t now)
{
	u64 d = khyp_pit_elapsed(c, now);
	u32 rem;

	switch (c->mode) {
	case 2:
		div_u64_rem(d, c->count, &rem);
		return c->count - rem;
	case 3:
		/* Counts down by two. */
		div_u64_rem(2 * d, c->count, &rem);
		return c->count - rem;
	default:
		/* Modes 0, 1, 4, 5: down from the count, wrapping. */
		return c->count - (u32)d;
	}
}

/* The OUT pin at @now. */
static bool khyp_pit_out(struct khyp_pit_channel *c, ktime_t now)
{
	u64 d;
	u32 rem;

	/* After a control word: mode 0 drives OUT low, the others high. */
	if (!c->loaded)
		return c->mode != 0;
	if ((c->mode == 1 || c->mode == 5) && !c->armed)
		return true;
	if ((c->mode == 2 || c->mode == 3) && !c->gate)
		return true;
	d = khyp_pit_elapsed(c, now);
	switch (c->mode) {
	case 0:		/* high from terminal count on */
	case 1:		/* low from the trigger to terminal count */
		return d >= c->count;
	case 2:		/* low for the one tick when the counter is 1 */
		div_u64_rem(d, c->count, &rem);
		return c->count == 1 || rem != c->count - 1;
	case 3:		/* high for the first half (rounded up) */
		div_u64_rem(d, c->count, &rem);
		return rem < (c->count + 1) / 2;
	default:	/* 4, 5: low for the one tick at terminal count */
		return d != c->count;
	}
}

static u8 khyp_pit_status(struct khyp_pit_channel *c, ktime_t now)
{
	u8 s = (c->rw << 4) | (c->mode << 1) | c->bcd;

	if (khyp_pit_out(c, now))
		s |= KHYP_PIT_STATUS_OUT;
	if (!c->loaded || !khyp_pit_elapsed(c, now))
		s |= KHYP_PIT_STATUS_NULL;
	return s;
}

/* ---- channel 0's interrupt ---- */

/*
 * OUT0 rose: pulse ISA IRQ 0.  The one place the PIT raises its line
 * (the irqchip's routing will take it to the IOAPIC too).  Called
 * without the PIT's lock.
 */
static void khyp_pit_raise_irq0(struct khyp_pit *pit)
{
	khyp_irqchip_set_irq(pit->chip, 0, KHYP_IRQ_SRC_PIT, true);
	khyp_irqchip_set_irq(pit->chip, 0, KHYP_IRQ_SRC_PIT, false);
}

static enum hrtimer_restart khyp_pit_timer_fn(struct hrtimer *t)
{
	struct khyp_pit *pit = container_of(t, struct khyp_pit, timer);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	unsigned long flags;
	bool raise = false;

	raw_spin_lock_irqsave(&pit->lock, flags);
	/* Stopped, or programmed again (and queued) while we waited. */
	if (!pit->irq_active || hrtimer_is_queued(t))
		goto unlock;
	raise = true;
	pit->nr_irq0++;
	if (pit->period_ns) {
		hrtimer_forward_now(t, ns_to_ktime(pit->period_ns));
		ret = HRTIMER_RESTART;
	} else {
		pit->irq_active = false;
	}
unlock:
	raw_spin_unlock_irqrestore(&pit->lock, flags);
	if (raise)
		khyp_pit_raise_irq0(pit);
	return ret;
}

/* Channel 0 was programmed: (re)start or stop its interrupt. */
static void khyp_pit_arm(struct khyp_pit *pit)
{
	struct khyp_pit_channel *c = &pit->ch[0];
	u64 min_ns = max(READ_ONCE(pit_min_period_us),
			 KHYP_PIT_MIN_PERIOD_FLOOR_US) * NSEC_PER_USEC;
	u64 first;

	lockdep_assert_held(&pit->lock);
	pit->irq_active = false;
	pit->period_ns = 0;
	hrtimer_try_to_cancel(&pit->timer);
	if (!c->loaded)
		return;
	switch (c->mode) {
	case 0:		/* OUT rises at terminal count */
		first = khyp_pit_ticks_to_ns(c->count);
		break;
	case 4:		/* ... one tick after it */
		first = khyp_pit_ticks_to_ns(c->count + 1);
		break;
	case 2:
	case 3:		/* every period, from the end of the first */
		pit->period_ns = max(khyp_pit_ticks_to_ns(c->count), min_ns);
		first = pit->period_ns;
		break;
	default:	/* 1, 5: the gate never rises on channel 0 */
		return;
	}
	pit->irq_active = true;
	hrtimer_start(&pit->timer, ktime_add_ns(c->load, first),
		      HRTIMER_MODE_ABS_HARD);
}

/* ---- the channels' registers ---- */

static void khyp_pit_set_gate(struct khyp_pit_channel *c, bool gate,
			      ktime_t now)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!gate) {
		c->gate_low_at = now;
		return;
	}
	switch (c->mode) {
	case 0:
	case 4:		/* resume where it stopped */
		c->load = ktime_add(c->load, ktime_sub(now, c->gate_low_at));
		break;
	default:	/* 1, 5: trigger; 2, 3: restart from the count */
		c->load = now;
		c->armed = true;
		break;
	}
}

static void khyp_pit_load(struct khyp_pit *pit, unsigned int n, u32 val,
			  ktime_t now)
{
	struct khyp_pit_channel *c = &pit->ch[n];

	c->count = val ? val : 0x10000;
	c->load = now;
	c->gate_low_at = now;
	c->loaded = true;
	c->armed = false;
	if (n == 0)
		khyp_pit_arm(pit);
}

static void khyp_pit_latch_count(struct khyp_pit_channel *c, ktime_t now)
{
	if (c->latched != KHYP_PIT_RW_LATCH)
		return;		/* the first latch holds until it is read */
	c->latched_count = khyp_pit_counter(c, now);
	c->latched = c->rw;
}

static void khyp_pit_latch_status(struct khyp_pit_channel *c, ktime_t now)
{
	if (c->status_latched)
		return;
	c->status = khyp_pit_status(c, now);
	c->status_latched = true;
}

/* Port 0x43. */
static void khyp_pit_control(struct khyp_pit *pit, u8 val, ktime_t now)
{
	unsigned int n = val >> 6, i;
	struct khyp_pit_channel *c;
	u8 rw = (val >> 4) & 3;

	if (n == 3) {		/* read-back */
		for (i = 0; i < 3; i++) {
			if (!(val & BIT(i + 1)))
				continue;
			c = &pit->ch[i];
			if (!(val & KHYP_PIT_RB_NO_COUNT))
				khyp_pit_latch_count(c, now);
			if (!(val & KHYP_PIT_RB_NO_STATUS))
				khyp_pit_latch_status(c, now);
		}
		return;
	}
	c = &pit->ch[n];
	if (rw == KHYP_PIT_RW_LATCH) {
		khyp_pit_latch_count(c, now);
		return;
	}
	c->rw = rw;
	c->read_state = rw;
	c->write_state = rw;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)	/* 6 and 7 are 2 and 3 */
		c->mode -= 4;
	c->bcd = val & 1;
	c->loaded = false;
	c->armed = false;
	if (n == 0)
		khyp_pit_arm(pit);	/* stops it: no count yet */
}

static void khyp_pit_write_count(struct khyp_pit *pit, unsigned int n, u8 val,
				 ktime_t now)
{
	struct khyp_pit_channel *c = &pit->ch[n];

	switch (c->write_state) {
	case KHYP_PIT_RW_LSB:
		khyp_pit_load(pit, n, val, now);
		break;
	case KHYP_PIT_RW_MSB:
		khyp_pit_load(pit, n, (u32)val << 8, now);
		break;
	case KHYP_PIT_RW_WORD0:
		c->write_lsb = val;
		c->write_state = KHYP_PIT_RW_WORD1;
		break;
	case KHYP_PIT_RW_WORD1:
		khyp_pit_load(pit, n, c->write_lsb | ((u32)val << 8), now);
		c->write_state = KHYP_PIT_RW_WORD0;
		break;
	default:	/* no control word yet: ignored */
		break;
	}
}

/* A byte of a latched count, or of the live counter. */
static u8 khyp_pit_read_count(struct khyp_pit_channel *c, ktime_t now)
{
	u16 v;
	u8 *state;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latched != KHYP_PIT_RW_LATCH) {
		v = c->latched_count;
		state = &c->latched;
	} else {
		v = khyp_pit_counter(c, now);
		state = &c->read_state;
	}
	switch (*state) {
	case KHYP_PIT_RW_LSB:
		if (state == &c->latched)
			*state = KHYP_PIT_RW_LATCH;
		return v;
	case KHYP_PIT_RW_MSB:
		if (state == &c->latched)
			*state = KHYP_PIT_RW_LATCH;
		return v >> 8;
	case KHYP_PIT_RW_WORD0:
		*state = KHYP_PIT_RW_WORD1;
		return v;
	case KHYP_PIT_RW_WORD1:
		*state = state == &c->latched ? KHYP_PIT_RW_LATCH :
						KHYP_PIT_RW_WORD0;
		return v >> 8;
	default:	/* no control word yet */
		return 0;
	}
}

static u8 khyp_port61_read(struct khyp_pit *pit, ktime_t now)
{
	u8 v = pit->port61;

	if (div_u64(ktime_to_ns(now), KHYP_REFRESH_NS) & 1)
		v |= KHYP_PORT61_REFRESH;
	if (khyp_pit_out(&pit->ch[2], now))
		v |= KHYP_PORT61_OUT2;
	return v;
}

/* ---- the ports (core/bus.c handlers; vCPU threads, under RCU) ---- */

static void khyp_pit_io_read(struct khyp_bus_dev *dev, struct khyp_vcpu *vcpu,
			     u64 addr, unsigned int len, u64 *val)
{
	struct khyp_pit *pit = vcpu->vm->irqchip->pit;
	ktime_t now = ktime_get();
	unsigned long flags;
	unsigned int i, reg;
	u64 v = 0;
	u8 b;

	raw_spin_lock_irqsave(&pit->lock, flags);
	pit->nr_pio++;
	for (i = 0; i < len; i++) {
		if (addr + i >= dev->base + dev->len) {
			b = 0xff;
		} else if (dev == &pit->io_port61) {
			b = khyp_port61_read(pit, now);
		} else {
			reg = addr + i - KHYP_PIT_PORT;
			/* The control word cannot be read back. */
			b = reg == KHYP_PIT_CONTROL ? 0xff :
			    khyp_pit_read_count(&pit->ch[reg], now);
		}
		v |= (u64)b << (i * 8);
	}
	raw_spin_unlock_irqrestore(&pit->lock, flags);
	*val = v;
}

static void khyp_pit_io_write(struct khyp_bus_dev *dev,
			      struct khyp_vcpu *vcpu, u64 addr,
			      unsigned int len, u64 val)
{
	struct khyp_pit *pit = vcpu->vm->irqchip->pit;
	ktime_t now = ktime_get();
	unsigned long flags;
	unsigned int i, reg;
	u8 b;

	raw_spin_lock_irqsave(&pit->lock, flags);
	pit->nr_pio++;
	for (i = 0; i < len && addr + i < dev->base + dev->len; i++) {
		b = val >> (i * 8);
		if (dev == &pit->io_port61) {
			pit->port61 = b & KHYP_PORT61_KEPT;
			khyp_pit_set_gate(&pit->ch[2], b & KHYP_PORT61_GATE2,
					  now);
			continue;
		}
		reg = addr + i - KHYP_PIT_PORT;
		if (reg == KHYP_PIT_CONTROL)
			khyp_pit_control(pit, b, now);
		else
			khyp_pit_write_count(pit, reg, b, now);
	}
	raw_spin_unlock_irqrestore(&pit->lock, flags);
}

static const struct khyp_bus_ops khyp_pit_io_ops = {
	.read	= khyp_pit_io_read,
	.write	= khyp_pit_io_write,
};

/* ---- lifetime ---- */

/**
 * khyp_pit_create() - the PIT and port 0x61 of a new irqchip
 * @chip:	the irqchip being made, its PIC made already
 *
 * After power-on no channel counts (the BIOS or the OS programs them)
 * and channel 2's gate is low.
 *
 * Return: 0, -ENOMEM, or an error of khyp_bus_register().
 */
int khyp_pit_create(struct khyp_irqchip *chip)
{
	struct khyp_bus *bus = &chip->vm->bus;
	struct khyp_pit *pit;
	unsigned int i;
	int r;

	pit = kzalloc(sizeof(*pit), GFP_KERNEL_ACCOUNT);
	if (!pit)
		return -ENOMEM;
	raw_spin_lock_init(&pit->lock);
	hrtimer_init(&pit->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	pit->timer.function = khyp_pit_timer_fn;
	pit->chip = chip;
	for (i = 0; i < 3; i++) {
		pit->ch[i].count = 0x10000;
		pit->ch[i].gate = i != 2;
	}
	chip->pit = pit;

	r = khyp_bus_register(bus, KHYP_BUS_PIO, KHYP_PIT_PORT, 4,
			      &khyp_pit_io_ops, &pit->io_pit);
	if (r)
		goto free_pit;
	r = khyp_bus_register(bus, KHYP_BUS_PIO, KHYP_PORT61, 1,
			      &khyp_pit_io_ops, &pit->io_port61);
	if (r)
		goto unregister_pit;
	return 0;

unregister_pit:
	khyp_bus_unregister(bus, KHYP_BUS_PIO, &pit->io_pit);
free_pit:
	chip->pit = NULL;
	kfree(pit);
	return r;
}

/* Off the bus (no vCPU can program it again), the timer stopped, freed. */
void khyp_pit_destroy(struct khyp_irqchip *chip)
{
	struct khyp_pit *pit = chip->pit;
	struct khyp_bus *bus = &chip->vm->bus;

	if (!pit)
		return;
	khyp_bus_unregister(bus, KHYP_BUS_PIO, &pit->io_port61);
	khyp_bus_unregister(bus, KHYP_BUS_PIO, &pit->io_pit);
	hrtimer_cancel(&pit->timer);
	chip->pit = NULL;
	kfree(pit);
}

/* ---- debugfs ---- */

/**
 * khyp_pit_show() - the three channels and port 0x61, for debugfs
 * @m:		the file
 * @vm:		a VM with an irqchip
 *
 * Per channel: the mode, the count written, the gate, and the counter
 * and OUT as the guest would read them now; then channel 0's timer and
 * the counts.  Takes @lock.
 */
void khyp_pit_show(struct seq_file *m, struct khyp_vm *vm)
{
	struct khyp_pit *pit = vm->irqchip->pit;
	struct khyp_pit_channel *c;
	ktime_t now = ktime_get();
	unsigned long flags;
	unsigned int n;

	raw_spin_lock_irqsave(&pit->lock, flags);
	for (n = 0; n < 3; n++) {
		c = &pit->ch[n];
		seq_printf(m, "channel %u mode %u count %u loaded %u gate %u out %u counter %u rw %u bcd %u latched %u status_latched %u\n",
			   n, c->mode, c->count, c->loaded, c->gate,
			   khyp_pit_out(c, now),
			   c->loaded ? khyp_pit_counter(c, now) : 0,
			   c->rw, c->bcd, c->latched != KHYP_PIT_RW_LATCH,
			   c->status_latched);
	}
	seq_printf(m, "port61 0x%02x\nirq_active %u\nperiod_ns %llu\n",
		   khyp_port61_read(pit, now), pit->irq_active,
		   pit->period_ns);
	seq_printf(m, "irq0 %llu\npio %llu\n", pit->nr_irq0, pit->nr_pio);
	raw_spin_unlock_irqrestore(&pit->lock, flags);
}
