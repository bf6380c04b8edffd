// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel IOAPIC: one per VM with an irqchip (irq/irqchip.c), an
 * Intel 82093AA as PCs have had since the Pentium: 24 input pins, each
 * with a redirection entry that turns the pin into an interrupt message
 * for the local APICs (irq/lapic.c).
 *
 * The guest reaches it in one page at 0xfec00000 (a range on the VM's
 * bus, core/bus.c): IOREGSEL at +0x00 selects a register, IOWIN at +0x10
 * reads or writes it, both with 32-bit accesses; other widths and other
 * offsets read all ones and ignore writes.  The registers: ID (bits
 * 27:24 writable), version (0x11, maximum redirection entry 23), the
 * arbitration ID (the ID, read-only), and the redirection table from
 * index 0x10, each 64-bit entry as two halves (low at 0x10 + 2n, high
 * at 0x11 + 2n).  struct IO_APIC_route_entry (asm/io_apic.h) is the
 * layout.  Delivery status always reads 0: a message is delivered at
 * once.  Remote IRR is read-only.
 *
 * An input (a GSI raised by userspace's KHYP_IRQ_LINE, later the PIT) is
 * a level, 1 asserted, whatever the polarity bit says (the polarity is
 * the board's wiring, which the caller has already applied, as in KVM):
 *  - edge-triggered: a 0 -> 1 change on an unmasked pin sends one
 *    message; on a masked pin the edge is lost (the datasheet: "not
 *    delivered or held pending");
 *  - level-triggered: while the line is asserted, the pin unmasked and
 *    remote IRR clear, send the message; if an APIC took it, set remote
 *    IRR.  The APIC's EOI of that vector (its TMR bit is set) clears
 *    remote IRR in every level pin with that vector, and a line still
 *    asserted sends again.  Unmasking an asserted line sends.
 *
 * A message goes to khyp_lapic_route(), the same loop as IPIs and MSIs:
 * physical (APIC ID; 0xff is every APIC, also those in x2APIC mode) or
 * logical destinations; fixed, lowest priority (to one APIC, the lowest
 * arbitration priority of those named) and NMI delivery.  INIT and
 * ExtINT are handed on like the others: the local APIC takes what it
 * emulates (khyp_lapic_deliver()),
 * and a message no APIC takes (an SMI, a mode the APIC does not emulate,
 * or no APIC matching) is dropped and counted in @nr_dropped.
 *
 * Locking: see struct khyp_ioapic (irq/ioapic.h).
 */
#include <linux/bitops.h>
#include <linux/lockdep.h>
#include <linux/nospec.h>
#include <linux/seq_file.h>
#include <asm/apicdef.h>

#include "../core/bus.h"
#include "../core/vm.h"
#include "ioapic.h"
#include "irq.h"
#include "irqchip.h"
#include "lapic.h"

/* The two windows of the page, and the registers behind IOWIN. */
#define KHYP_IOAPIC_IOREGSEL	0x00
#define KHYP_IOAPIC_IOWIN	0x10
#define KHYP_IOAPIC_REG_ID	0x00
#define KHYP_IOAPIC_REG_VER	0x01
#define KHYP_IOAPIC_REG_ARB	0x02
#define KHYP_IOAPIC_REG_REDIR	0x10	/* 2 per entry: low, high */
#define KHYP_IOAPIC_VERSION	0x11	/* the 82093AA */
#define KHYP_IOAPIC_ID_MASK	GENMASK(27, 24)

/* The writable bits of a redirection entry; the rest reads as 0. */
static const struct IO_APIC_route_entry khyp_ioapic_rw = {
	.vector			= 0xff,
	.delivery_mode		= 7,
	.dest_mode_logical	= 1,
	.active_low		= 1,
	.is_level		= 1,
	.masked			= 1,
	.destid_0_7		= 0xff,
};

/*
 * Send pin @pin's message (caller holds @lock).  Returns true if an APIC
 * took it; one that none took is counted.
 */
static bool khyp_ioapic_send(struct khyp_ioapic *ioapic, unsigned int pin)
{
	struct IO_APIC_route_entry *e = &ioapic->redir[pin];
	struct khyp_lapic_irq irq = {
		.dest		= e->destid_0_7,
		.mode		= SET_APIC_DELIVERY_MODE(0, e->delivery_mode),
		.vector		= e->vector,
		.logical	= e->dest_mode_logical,
		.level		= e->is_level,
	};

	lockdep_assert_held(&ioapic->lock);
	/* 8 bits of destination: 0xff is every APIC, in x2APIC mode too. */
	if (!irq.logical && irq.dest == 0xff)
		irq.shorthand = APIC_DEST_ALLINC;
	/*
	 * NMI, SMI, INIT and ExtINT messages are edge-triggered whatever the
	 * entry says (82093AA), and no EOI would ever clear remote IRR for
	 * them or for a vector below 16: send those as edges.
	 */
	if ((irq.mode != APIC_DM_FIXED && irq.mode != APIC_DM_LOWEST) ||
	    irq.vector < 16)
		irq.level = false;
	if (khyp_lapic_route(ioapic->vm, NULL, &irq)) {
		ioapic->nr_sent++;
		return true;
	}
	ioapic->nr_dropped++;
	return false;
}

/* Will an EOI come back for this entry's message (see the send)? */
static bool khyp_ioapic_takes_eoi(const struct IO_APIC_route_entry *e)
{
	u32 mode = SET_APIC_DELIVERY_MODE(0, e->delivery_mode);

	return (mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) &&
	       e->vector >= 16;
}

/*
 * A level-triggered pin: send if its line is asserted, it is unmasked
 * and no APIC still has the last message in service (remote IRR).
 * Caller holds @lock.  Edge-triggered pins send only on an edge.
 */
static void khyp_ioapic_service(struct khyp_ioapic *ioapic, unsigned int pin)
{
	struct IO_APIC_route_entry *e = &ioapic->redir[pin];

	lockdep_assert_held(&ioapic->lock);
	if (!e->is_level || e->masked || e->irr ||
	    !(ioapic->lines & BIT(pin)))
		return;
	if (khyp_ioapic_send(ioapic, pin) && khyp_ioapic_takes_eoi(e))
		e->irr = 1;
}

/**
 * khyp_ioapic_set_irq() - an input pin changes level
 * @ioapic:	the IOAPIC
 * @pin:	0 .. KHYP_IOAPIC_NR_PINS - 1
 * @level:	the new level, true for asserted
 *
 * Any context (a VM ioctl, a timer's hard interrupt); takes @lock.
 */
void khyp_ioapic_set_irq(struct khyp_ioapic *ioapic, unsigned int pin,
			 bool level)
{
	struct IO_APIC_route_entry *e;
	unsigned long flags;
	bool old;

	if (WARN_ON_ONCE(pin >= KHYP_IOAPIC_NR_PINS))
		return;
	pin = array_index_nospec(pin, KHYP_IOAPIC_NR_PINS);
	raw_spin_lock_irqsave(&ioapic->lock, flags);
	e = &ioapic->redir[pin];
	old = ioapic->lines & BIT(pin);
	if (level)
		ioapic->lines |= BIT(pin);
	else
		ioapic->lines &= ~BIT(pin);
	if (e->is_level)
		khyp_ioapic_service(ioapic, pin);
	else if (level && !old && !e->masked)
		khyp_ioapic_send(ioapic, pin);
	raw_spin_unlock_irqrestore(&ioapic->lock, flags);
}

/**
 * khyp_ioapic_eoi() - a local APIC's EOI of a level-triggered vector
 * @ioapic:	the IOAPIC
 * @vector:	the vector the APIC took out of service
 *
 * Clears remote IRR of the level-triggered pins with @vector, and sends
 * again those whose line is still asserted.  Called by the vCPU that
 * wrote EOI, holding no APIC's lock (this may deliver to any APIC).
 */
void khyp_ioapic_eoi(struct khyp_ioapic *ioapic, u8 vector)
{
	struct IO_APIC_route_entry *e;
	unsigned long flags;
	unsigned int pin;

	raw_spin_lock_irqsave(&ioapic->lock, flags);
	for (pin = 0; pin < KHYP_IOAPIC_NR_PINS; pin++) {
		e = &ioapic->redir[pin];
		if (e->vector != vector || !e->is_level || !e->irr)
			continue;
		e->irr = 0;
		khyp_ioapic_service(ioapic, pin);
	}
	raw_spin_unlock_irqrestore(&ioapic->lock, flags);
}

/* ---- registers ---- */

/* The register IOREGSEL selects (caller holds @lock). */
static u32 khyp_ioapic_read_reg(struct khyp_ioapic *ioapic)
{
	u32 sel = ioapic->ioregsel;
	union IO_APIC_reg_01 ver = { .raw = 0 };
	struct IO_APIC_route_entry *e;
	unsigned int pin;

	lockdep_assert_held(&ioapic->lock);
	switch (sel) {
	case KHYP_IOAPIC_REG_ID:
	case KHYP_IOAPIC_REG_ARB:	/* loaded from the ID when written */
		return ioapic->id;
	case KHYP_IOAPIC_REG_VER:
		ver.bits.version = KHYP_IOAPIC_VERSION;
		ver.bits.entries = KHYP_IOAPIC_NR_PINS - 1;
		return ver.raw;
	}
	pin = (sel - KHYP_IOAPIC_REG_REDIR) / 2;
	if (sel < KHYP_IOAPIC_REG_REDIR || pin >= KHYP_IOAPIC_NR_PINS)
		return U32_MAX;
	e = &ioapic->redir[array_index_nospec(pin, KHYP_IOAPIC_NR_PINS)];
	return sel & 1 ? e->w2 : e->w1;
}

/* A write of the register IOREGSEL selects (caller holds @lock). */
static void khyp_ioapic_write_reg(struct khyp_ioapic *ioapic, u32 val)
{
	u32 sel = ioapic->ioregsel;
	struct IO_APIC_route_entry *e;
	unsigned int pin;

	lockdep_assert_held(&ioapic->lock);
	if (sel == KHYP_IOAPIC_REG_ID) {
		ioapic->id = val & KHYP_IOAPIC_ID_MASK;
		return;
	}
	pin = (sel - KHYP_IOAPIC_REG_REDIR) / 2;
	if (sel < KHYP_IOAPIC_REG_REDIR || pin >= KHYP_IOAPIC_NR_PINS)
		return;		/* version, arbitration, nothing: read-only */
	pin = array_index_nospec(pin, KHYP_IOAPIC_NR_PINS);
	e = &ioapic->redir[pin];
	if (sel & 1) {
		e->w2 = (e->w2 & ~khyp_ioapic_rw.w2) |
			(val & khyp_ioapic_rw.w2);
		return;
	}
	e->w1 = (e->w1 & ~khyp_ioapic_rw.w1) | (val & khyp_ioapic_rw.w1);
	/* Remote IRR has no meaning for an edge (the datasheet: undefined). */
	if (!e->is_level)
		e->irr = 0;
	/* Unmasked (or made level) with the line asserted: send now. */
	khyp_ioapic_service(ioapic, pin);
}

/* ---- the page at 0xfec00000 (core/bus.c handlers) ---- */

static void khyp_ioapic_mmio_read(struct khyp_bus_dev *dev,
				  struct khyp_vcpu *vcpu, u64 addr,
				  unsigned int len, u64 *val)
{
	struct khyp_ioapic *ioapic = container_of(dev, struct khyp_ioapic,
						  mmio);
	u64 off = addr - dev->base;
	unsigned long flags;

	*val = U64_MAX;
	if (len != 4)
		return;
	raw_spin_lock_irqsave(&ioapic->lock, flags);
	ioapic->nr_mmio++;
	if (off == KHYP_IOAPIC_IOREGSEL)
		*val = ioapic->ioregsel;
	else if (off == KHYP_IOAPIC_IOWIN)
		*val = khyp_ioapic_read_reg(ioapic);
	raw_spin_unlock_irqrestore(&ioapic->lock, flags);
}

static void khyp_ioapic_mmio_write(struct khyp_bus_dev *dev,
				   struct khyp_vcpu *vcpu, u64 addr,
				   unsigned int len, u64 val)
{
	struct khyp_ioapic *ioapic = container_of(dev, struct khyp_ioapic,
						  mmio);
	u64 off = addr - dev->base;
	unsigned long flags;

	if (len != 4)
		return;
	raw_spin_lock_irqsave(&ioapic->lock, flags);
	ioapic->nr_mmio++;
	if (off == KHYP_IOAPIC_IOREGSEL)
		ioapic->ioregsel = val & 0xff;
	else if (off == KHYP_IOAPIC_IOWIN)
		khyp_ioapic_write_reg(ioapic, val);
	raw_spin_unlock_irqrestore(&ioapic->lock, flags);
}

const struct khyp_bus_ops khyp_ioapic_mmio_ops = {
	.read	= khyp_ioapic_mmio_read,
	.write	= khyp_ioapic_mmio_write,
};

/* The reset state: ID 0, every pin masked, every line low. */
void khyp_ioapic_init(struct khyp_ioapic *ioapic, struct khyp_vm *vm)
{
	unsigned int pin;

	ioapic->vm = vm;
	raw_spin_lock_init(&ioapic->lock);
	for (pin = 0; pin < KHYP_IOAPIC_NR_PINS; pin++)
		ioapic->redir[pin].masked = 1;
}

/* ---- debugfs ---- */

static const char * const khyp_ioapic_modes[8] = {
	"fixed", "lowest", "smi", "rsvd3", "nmi", "init", "rsvd6", "extint",
};

/**
 * khyp_ioapic_show() - the IOAPIC's state, for debugfs (core/stats.c)
 * @m:		the file
 * @vm:		a VM with an irqchip
 *
 * Its registers, the input lines, its counts and one line per pin: the
 * raw redirection entry, then its fields.  Takes @lock.
 */
void khyp_ioapic_show(struct seq_file *m, struct khyp_vm *vm)
{
	struct khyp_ioapic *ioapic = &vm->irqchip->ioapic;
	struct IO_APIC_route_entry e;
	unsigned long flags;
	unsigned int pin;
	u32 lines;

	raw_spin_lock_irqsave(&ioapic->lock, flags);
	lines = ioapic->lines;
	seq_printf(m, "id %u\nioregsel 0x%02x\nlines 0x%06x\n",
		   ioapic->id >> 24, ioapic->ioregsel, lines);
	seq_printf(m, "sent %llu\ndropped %llu\nmmio %llu\n", ioapic->nr_sent,
		   ioapic->nr_dropped, ioapic->nr_mmio);
	for (pin = 0; pin < KHYP_IOAPIC_NR_PINS; pin++) {
		e = ioapic->redir[pin];
		seq_printf(m, "pin %2u %08x%08x vector 0x%02x %-6s %s dest 0x%02x %s %s%s remote_irr %u line %u\n",
			   pin, (u32)e.w2, (u32)e.w1, e.vector,
			   khyp_ioapic_modes[e.delivery_mode],
			   e.dest_mode_logical ? "logical " : "physical",
			   e.destid_0_7, e.is_level ? "level" : "edge ",
			   e.masked ? "masked  " : "unmasked",
			   e.active_low ? " low" : "", e.irr,
			   !!(lines & BIT(pin)));
	}
	raw_spin_unlock_irqrestore(&ioapic->lock, flags);
}
