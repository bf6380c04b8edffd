// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy PC interrupt controller: two 8259A PICs, the master at
 * ports 0x20-0x21 and the slave at 0xa0-0xa1 cascaded on the master's
 * IRQ 2, with the PIIX edge/level control registers (ELCR) at
 * 0x4d0-0x4d1.  Part of the irqchip (irq/irqchip.c): it exists when the
 * VM has one, and its ports are then answered here instead of in
 * userspace.
 *
 * What is emulated: the ICW1-ICW4 initialisation sequence as BIOSes and
 * Linux write it (single or cascade mode, the vector base, ICW4 with
 * 8086 mode, auto-EOI, special fully nested mode); OCW1 (the mask);
 * OCW2 (non-specific and specific EOI, the rotate commands, set
 * priority); OCW3 (read of IRR or ISR, poll, special mask mode);
 * priority resolution with rotation; the cascade; edge and level
 * triggering per pin from the ELCR (the bits of IRQ 0, 1, 2, 8 and 13
 * are fixed 0, as on PIIX).  Not emulated: MCS-80/85 mode (ICW4 bit 0
 * clear is taken as 8086 mode), level-triggered mode from ICW1's LTIM
 * bit (the ELCR decides, as on PIIX), buffered mode (no meaning here).
 *
 * The virtual wire: the master's INTR output goes to vCPU 0, where the
 * local APIC takes it as an ExtINT when it is hardware-disabled or its
 * LVT0 (LINT0) is unmasked with delivery mode ExtINT, which the BSP's
 * LVT0 is at reset, as with QEMU and KVM (khyp_lapic_accepts_extint()).
 * When INTR rises, vCPU 0 is kicked; before its next entry irq/inject.c
 * asks khyp_pic_output() and, if the guest can take an interrupt,
 * khyp_pic_intack() for the vector: that is the interrupt acknowledge
 * cycle (IRR to ISR unless auto-EOI; a spurious IRQ 7, or 15 through
 * the cascade, when the request went away meanwhile).  An ExtINT
 * bypasses the APIC's TPR and PPR and never enters its IRR or ISR.
 *
 * Locking: one raw spinlock, khyp_pic.lock, over both chips and the
 * ELCR (raw and irqsave: the PIT's hrtimer raises IRQ 0 in hard
 * interrupt context).  Nothing is called with it held but the chips'
 * own helpers: the kick of vCPU 0 comes after it is dropped, and it
 * never nests inside or outside a local APIC's lock.  The PIT (irq/pit.c)
 * calls in here without holding its own lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/lockdep.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "../core/bus.h"
#include "../core/vcpu.h"
#include "../core/vm.h"
#include "irq.h"
#include "irqchip.h"
#include "pic.h"

#define KHYP_PIC_MASTER_PORT	0x20
#define KHYP_PIC_SLAVE_PORT	0xa0
#define KHYP_PIC_ELCR_PORT	0x4d0
/* The ELCR bits that can be set: not IRQ 0, 1, 2 (master), 8, 13. */
#define KHYP_PIC_ELCR_MASK_MASTER	0xf8
#define KHYP_PIC_ELCR_MASK_SLAVE	0xde
#define KHYP_PIC_CASCADE_IRQ	2

/* ICW1, OCW2 and OCW3 bits. */
#define ICW1_ICW4		0x01	/* ICW4 follows */
#define ICW1_SINGLE		0x02	/* no cascade: no ICW3 */
#define ICW1_LTIM		0x08	/* level-triggered (ignored) */
#define ICW1_INIT		0x10
#define OCW3_SELECT		0x08	/* the write is OCW3, not OCW2 */
#define OCW3_RR			0x02	/* the next bit selects the register */
#define OCW3_RIS		0x01	/* ... ISR (else IRR) */
#define OCW3_POLL		0x04
#define OCW3_ESMM		0x40	/* the next bit sets special mask mode */
#define OCW3_SMM		0x20
#define ICW4_8086		0x01
#define ICW4_AEOI		0x02
#define ICW4_SFNM		0x10

/* Where the initialisation sequence stands: the next write to port 1. */
enum khyp_8259_init {
	KHYP_8259_READY,	/* OCW1 */
	KHYP_8259_ICW2,
	KHYP_8259_ICW3,
	KHYP_8259_ICW4,
};

/**
 * struct khyp_8259 - one 8259A (all fields: khyp_pic.lock)
 * @irr:	interrupt request register.
 * @imr:	interrupt mask register (OCW1).
 * @isr:	in-service register.
 * @lines:	the level of each input line now (edge detection).
 * @elcr:	edge (0) or level (1) per pin, the PIIX ELCR.
 * @elcr_mask:	the ELCR bits that can be set.
 * @base:	the vector of IRQ 0 of this chip (ICW2, bits 7:3).
 * @lowest:	the pin with the lowest priority is @lowest; IR(@lowest+1)
 *		has the highest (7 after reset: IR0 highest).
 * @init:	the next write to the odd port in the ICW sequence.
 * @icw4:	ICW1 said ICW4 follows.
 * @single:	ICW1 said single mode (no ICW3).
 * @auto_eoi:	ICW4: the acknowledge does not set ISR.
 * @rotate_aeoi: OCW2: rotate the priority on each auto-EOI.
 * @sfnm:	ICW4: special fully nested mode (master: the cascade's
 *		in-service bit does not hold back more slave requests).
 * @read_isr:	OCW3: reads of the even port return ISR (else IRR).
 * @poll:	OCW3: the next read of the even port is a poll.
 * @special_mask: OCW3: masked in-service levels do not block others.
 */
struct khyp_8259 {
	u8 irr, imr, isr;
	u8 lines;
	u8 elcr, elcr_mask;
	u8 base;
	u8 lowest;
	enum khyp_8259_init init;
	bool icw4, single, auto_eoi, rotate_aeoi, sfnm;
	bool read_isr, poll, special_mask;
};

/**
 * struct khyp_pic - the master and slave 8259A and the ELCR of one VM
 * @lock:	protects @chips and @output.
 * @chips:	[0] the master, [1] the slave.
 * @output:	the master's INTR as last computed.
 * @nr_intack:	interrupt acknowledges (ExtINTs delivered, debugfs).
 * @nr_pio:	port accesses answered: exits to the PICs and the ELCR.
 * @vm:		(c) the VM (vCPU 0 takes INTR).
 * @io_master:	(c) the master's ports on the VM's PIO bus.
 * @io_slave:	(c) the slave's.
 * @io_elcr:	(c) the ELCR's.
 *
 * (c): set at creation, constant until freed.
 */
struct khyp_pic {
	raw_spinlock_t lock;	/* see above; raw: the PIT's hard-irq timer */
	struct khyp_8259 chips[2];
	bool output;
	u64 nr_intack;
	u64 nr_pio;
	struct khyp_vm *vm;
	struct khyp_bus_dev io_master;
	struct khyp_bus_dev io_slave;
	struct khyp_bus_dev io_elcr;
};

/* ---- one chip ---- */

/*
 * The priority (0 highest .. 7) of the highest-priority bit of @mask, or
 * 8 if @mask is empty; priority 0 belongs to pin @lowest + 1.
 */
static unsigned int khyp_8259_priority(struct khyp_8259 *s, u8 mask)
{
	unsigned int p;

	for (p = 0; p < 8; p++)
		if (mask & BIT((p + s->lowest + 1) & 7))
			return p;
	return 8;
}

static unsigned int khyp_8259_pin(struct khyp_8259 *s, unsigned int prio)
{
	return (prio + s->lowest + 1) & 7;
}

/*
 * The pin this chip would raise INTR for, or -1: the highest unmasked
 * request whose priority is above every level in service.  In special
 * mask mode masked levels in service do not count; in special fully
 * nested mode (master) neither does the cascade's.
 */
static int khyp_8259_pending(struct khyp_8259 *s, bool master)
{
	unsigned int req, cur;
	u8 isr = s->isr;

	req = khyp_8259_priority(s, s->irr & ~s->imr);
	if (req == 8)
		return -1;
	if (s->special_mask)
		isr &= ~s->imr;
	if (master && s->sfnm)
		isr &= ~BIT(KHYP_PIC_CASCADE_IRQ);
	cur = khyp_8259_priority(s, isr);
	return req < cur ? (int)khyp_8259_pin(s, req) : -1;
}

/*
 * A line changed: an edge-triggered pin latches a rising edge into IRR;
 * a level-triggered one has IRR follow the line.
 */
static void khyp_8259_set_line(struct khyp_8259 *s, unsigned int pin,
			       bool level)
{
	u8 bit = BIT(pin);

	if (s->elcr & bit) {
		if (level)
			s->irr |= bit;
		else
			s->irr &= ~bit;
	} else if (level && !(s->lines & bit)) {
		s->irr |= bit;
	}
	if (level)
		s->lines |= bit;
	else
		s->lines &= ~bit;
}

/* The acknowledge of @pin: ISR (unless auto-EOI), IRR of an edge. */
static void khyp_8259_ack(struct khyp_8259 *s, unsigned int pin)
{
	if (s->auto_eoi) {
		if (s->rotate_aeoi)
			s->lowest = pin;
	} else {
		s->isr |= BIT(pin);
	}
	/* A level-triggered request stays while its line is high. */
	if (!(s->elcr & BIT(pin)) || !(s->lines & BIT(pin)))
		s->irr &= ~BIT(pin);
}

/* ICW1: start the sequence, as the 8259A's initialisation does. */
static void khyp_8259_icw1(struct khyp_8259 *s, u8 val)
{
	if (val & ICW1_LTIM)
		pr_debug_ratelimited("8259: ICW1 LTIM ignored, the ELCR decides\n");
	s->imr = 0;
	s->isr = 0;
	/* Edges seen before are forgotten; levels still high stay. */
	s->irr &= s->elcr & s->lines;
	s->lowest = 7;
	s->base = 0;
	s->auto_eoi = false;
	s->rotate_aeoi = false;
	s->sfnm = false;
	s->read_isr = false;
	s->poll = false;
	s->special_mask = false;
	s->icw4 = val & ICW1_ICW4;
	s->single = val & ICW1_SINGLE;
	s->init = KHYP_8259_ICW2;
}

/* OCW2: EOI and the rotation commands (bits 7:5), level in bits 2:0. */
static void khyp_8259_ocw2(struct khyp_8259 *s, u8 val)
{
	unsigned int cmd = val >> 5, pin = val & 7, prio;

	switch (cmd) {
	case 0:		/* rotate in auto-EOI mode: clear */
	case 4:		/* ... set */
		s->rotate_aeoi = cmd == 4;
		break;
	case 1:		/* non-specific EOI */
	case 5:		/* rotate on non-specific EOI */
		prio = khyp_8259_priority(s, s->isr);
		if (prio == 8)
			break;
		pin = khyp_8259_pin(s, prio);
		s->isr &= ~BIT(pin);
		if (cmd == 5)
			s->lowest = pin;
		break;
	case 3:		/* specific EOI */
		s->isr &= ~BIT(pin);
		break;
	case 6:		/* set priority: @pin becomes the lowest */
		s->lowest = pin;
		break;
	case 7:		/* rotate on specific EOI */
		s->isr &= ~BIT(pin);
		s->lowest = pin;
		break;
	default:	/* 2: no operation */
		break;
	}
}

static void khyp_8259_write(struct khyp_8259 *s, bool odd, u8 val)
{
	if (!odd) {
		if (val & ICW1_INIT) {
			khyp_8259_icw1(s, val);
		} else if (val & OCW3_SELECT) {
			if (val & OCW3_RR)
				s->read_isr = val & OCW3_RIS;
			s->poll = val & OCW3_POLL;
			if (val & OCW3_ESMM)
				s->special_mask = val & OCW3_SMM;
		} else {
			khyp_8259_ocw2(s, val);
		}
		return;
	}
	switch (s->init) {
	case KHYP_8259_READY:
		s->imr = val;
		break;
	case KHYP_8259_ICW2:
		s->base = val & 0xf8;
		if (!s->single)
			s->init = KHYP_8259_ICW3;
		else
			s->init = s->icw4 ? KHYP_8259_ICW4 : KHYP_8259_READY;
		break;
	case KHYP_8259_ICW3:
		/* The cascade is fixed: slave on master IR2. */
		s->init = s->icw4 ? KHYP_8259_ICW4 : KHYP_8259_READY;
		break;
	case KHYP_8259_ICW4:
		if (!(val & ICW4_8086))
			pr_debug_ratelimited("8259: MCS-80 mode taken as 8086 mode\n");
		s->auto_eoi = val & ICW4_AEOI;
		s->sfnm = val & ICW4_SFNM;
		s->init = KHYP_8259_READY;
		break;
	}
}

/* ---- the pair ---- */

/*
 * Recompute the cascade line and INTR (caller holds @lock).  Returns
 * true if INTR rose: vCPU 0 must be told once @lock is dropped.
 */
static bool khyp_pic_update(struct khyp_pic *pic)
{
	struct khyp_8259 *m = &pic->chips[0], *sl = &pic->chips[1];
	bool was = pic->output;

	lockdep_assert_held(&pic->lock);
	/*
	 * The cascade is a level: IR2 requests while the slave does.  A
	 * master told it is alone (ICW1 SNGL) has no slave on IR2.
	 */
	if (!m->single && khyp_8259_pending(sl, false) >= 0)
		m->irr |= BIT(KHYP_PIC_CASCADE_IRQ);
	else
		m->irr &= ~BIT(KHYP_PIC_CASCADE_IRQ);
	WRITE_ONCE(pic->output, khyp_8259_pending(m, true) >= 0);
	return pic->output && !was;
}

/*
 * INTR rose: kick vCPU 0 out of the guest or out of HLT, the way the
 * local APIC tells a vCPU (irq_request_pending first, then the kick).
 */
static void khyp_pic_notify(struct khyp_pic *pic)
{
	struct khyp_vcpu *vcpu;

	rcu_read_lock();
	vcpu = rcu_dereference(pic->vm->vcpus[0]);
	if (vcpu) {
		WRITE_ONCE(vcpu->irq_request_pending, true);
		khyp_vcpu_kick(vcpu);
	}
	rcu_read_unlock();
}

/**
 * khyp_pic_set_irq() - an ISA interrupt line changed
 * @pic:	the VM's PIC pair
 * @irq:	0-15; 2 is the cascade and has no device behind it
 * @level:	the line's new level
 *
 * Any context.  For an edge-triggered pin (the ELCR bit clear) a rising
 * edge is a request; a device that pulses calls this twice.
 */
void khyp_pic_set_irq(struct khyp_pic *pic, unsigned int irq, bool level)
{
	unsigned long flags;
	bool rose;

	if (WARN_ON_ONCE(irq >= 16) || irq == KHYP_PIC_CASCADE_IRQ)
		return;
	raw_spin_lock_irqsave(&pic->lock, flags);
	khyp_8259_set_line(&pic->chips[irq >> 3], irq & 7, level);
	rose = khyp_pic_update(pic);
	raw_spin_unlock_irqrestore(&pic->lock, flags);
	if (rose)
		khyp_pic_notify(pic);
}

/* Is INTR up?  vCPU 0's entry and HLT ask (irq/inject.c). */
bool khyp_pic_output(struct khyp_pic *pic)
{
	return READ_ONCE(pic->output);
}

/**
 * khyp_pic_intack() - the interrupt acknowledge cycle of an ExtINT
 * @pic:	the VM's PIC pair
 *
 * By vCPU 0's thread, when it delivers the interrupt.  The master
 * resolves its highest request; if that is the cascade, the slave
 * answers with its own.  If the request went away since INTR was seen,
 * the chip answers with IR7, the spurious interrupt, as an 8259A does.
 *
 * Return: the vector.
 */
u8 khyp_pic_intack(struct khyp_pic *pic)
{
	struct khyp_8259 *m = &pic->chips[0], *sl = &pic->chips[1];
	unsigned long flags;
	int pin, spin;
	u8 vector;
	bool rose;

	raw_spin_lock_irqsave(&pic->lock, flags);
	pic->nr_intack++;
	pin = khyp_8259_pending(m, true);
	if (pin < 0) {
		vector = m->base | 7;
	} else {
		khyp_8259_ack(m, pin);
		if (pin == KHYP_PIC_CASCADE_IRQ && !m->single) {
			spin = khyp_8259_pending(sl, false);
			if (spin < 0) {
				vector = sl->base | 7;
			} else {
				khyp_8259_ack(sl, spin);
				vector = sl->base | spin;
			}
		} else {
			vector = m->base | pin;
		}
	}
	rose = khyp_pic_update(pic);
	raw_spin_unlock_irqrestore(&pic->lock, flags);
	/* Another request is up already: the caller's next entry sees it. */
	if (rose)
		khyp_pic_notify(pic);
	return vector;
}

/*
 * OCW3 poll: the read is the acknowledge, answered as a byte: bit 7 set
 * and the pin, or 0 if nothing is pending.  (Caller holds @lock.)
 */
static u8 khyp_pic_poll(struct khyp_pic *pic, unsigned int n)
{
	struct khyp_8259 *s = &pic->chips[n];
	int pin = khyp_8259_pending(s, n == 0);

	s->poll = false;
	if (pin < 0)
		return 0;
	khyp_8259_ack(s, pin);
	return 0x80 | pin;
}

static u8 khyp_pic_read_port(struct khyp_pic *pic, unsigned int n, bool odd)
{
	struct khyp_8259 *s = &pic->chips[n];

	if (odd)
		return s->imr;
	if (s->poll)
		return khyp_pic_poll(pic, n);
	return s->read_isr ? s->isr : s->irr;
}

/* ---- the ports (core/bus.c handlers; vCPU threads, under RCU) ---- */

static void khyp_pic_io_read(struct khyp_bus_dev *dev, struct khyp_vcpu *vcpu,
			     u64 addr, unsigned int len, u64 *val)
{
	struct khyp_pic *pic = vcpu->vm->irqchip->pic;
	unsigned long flags;
	unsigned int i;
	u64 v = 0;
	u8 b;
	bool rose;

	raw_spin_lock_irqsave(&pic->lock, flags);
	pic->nr_pio++;
	for (i = 0; i < len; i++) {
		u64 port = addr + i;

		if (port >= dev->base + dev->len) {
			b = 0xff;
		} else if (dev == &pic->io_elcr) {
			b = pic->chips[port & 1].elcr;
		} else {
			b = khyp_pic_read_port(pic, dev == &pic->io_slave,
					       port & 1);
		}
		v |= (u64)b << (i * 8);
	}
	rose = khyp_pic_update(pic);
	raw_spin_unlock_irqrestore(&pic->lock, flags);
	if (rose)
		khyp_pic_notify(pic);
	*val = v;
}

static void khyp_pic_io_write(struct khyp_bus_dev *dev, struct khyp_vcpu *vcpu,
			      u64 addr, unsigned int len, u64 val)
{
	struct khyp_pic *pic = vcpu->vm->irqchip->pic;
	struct khyp_8259 *s;
	unsigned long flags;
	unsigned int i;
	bool rose;

	raw_spin_lock_irqsave(&pic->lock, flags);
	pic->nr_pio++;
	for (i = 0; i < len; i++) {
		u64 port = addr + i;
		u8 b = val >> (i * 8);

		if (port >= dev->base + dev->len)
			break;
		if (dev == &pic->io_elcr) {
			s = &pic->chips[port & 1];
			s->elcr = b & s->elcr_mask;
			/* A pin made level-triggered requests while high. */
			s->irr |= s->elcr & s->lines;
			continue;
		}
		khyp_8259_write(&pic->chips[dev == &pic->io_slave], port & 1,
				b);
	}
	rose = khyp_pic_update(pic);
	raw_spin_unlock_irqrestore(&pic->lock, flags);
	if (rose)
		khyp_pic_notify(pic);
}

static const struct khyp_bus_ops khyp_pic_io_ops = {
	.read	= khyp_pic_io_read,
	.write	= khyp_pic_io_write,
};

/* ---- lifetime ---- */

/**
 * khyp_pic_create() - the PIC pair of a new irqchip, on the PIO bus
 * @chip:	the irqchip being made (chip->vm set)
 *
 * The state after power-on, which the 8259A leaves undefined until
 * ICW1: no vector base and every pin masked (IMR 0xff), all pins edge.
 * QEMU and KVM leave IMR 0 instead; but a guest started without a BIOS
 * that programs only the IOAPIC would then also take every ISA IRQ as
 * an ExtINT at vector 0-15, its exception vectors.  ICW1 clears IMR, as
 * the datasheet says, so a BIOS or an OS that initialises the chips
 * sees no difference.
 *
 * Return: 0, -ENOMEM, or an error of khyp_bus_register().
 */
int khyp_pic_create(struct khyp_irqchip *chip)
{
	struct khyp_bus *bus = &chip->vm->bus;
	struct khyp_pic *pic;
	int r;

	pic = kzalloc(sizeof(*pic), GFP_KERNEL_ACCOUNT);
	if (!pic)
		return -ENOMEM;
	raw_spin_lock_init(&pic->lock);
	pic->vm = chip->vm;
	pic->chips[0].lowest = 7;
	pic->chips[1].lowest = 7;
	pic->chips[0].imr = 0xff;
	pic->chips[1].imr = 0xff;
	pic->chips[0].elcr_mask = KHYP_PIC_ELCR_MASK_MASTER;
	pic->chips[1].elcr_mask = KHYP_PIC_ELCR_MASK_SLAVE;
	chip->pic = pic;

	r = khyp_bus_register(bus, KHYP_BUS_PIO, KHYP_PIC_MASTER_PORT, 2,
			      &khyp_pic_io_ops, &pic->io_master);
	if (r)
		goto free_pic;
	r = khyp_bus_register(bus, KHYP_BUS_PIO, KHYP_PIC_SLAVE_PORT, 2,
			      &khyp_pic_io_ops, &pic->io_slave);
	if (r)
		goto unregister_master;
	r = khyp_bus_register(bus, KHYP_BUS_PIO, KHYP_PIC_ELCR_PORT, 2,
			      &khyp_pic_io_ops, &pic->io_elcr);
	if (r)
		goto unregister_slave;
	return 0;

unregister_slave:
	khyp_bus_unregister(bus, KHYP_BUS_PIO, &pic->io_slave);
unregister_master:
	khyp_bus_unregister(bus, KHYP_BUS_PIO, &pic->io_master);
free_pic:
	chip->pic = NULL;
	kfree(pic);
	return r;
}

/* Off the bus (which waits for readers), then freed; the PIT is gone. */
void khyp_pic_destroy(struct khyp_irqchip *chip)
{
	struct khyp_pic *pic = chip->pic;
	struct khyp_bus *bus = &chip->vm->bus;

	if (!pic)
		return;
	khyp_bus_unregister(bus, KHYP_BUS_PIO, &pic->io_elcr);
	khyp_bus_unregister(bus, KHYP_BUS_PIO, &pic->io_slave);
	khyp_bus_unregister(bus, KHYP_BUS_PIO, &pic->io_master);
	chip->pic = NULL;
	kfree(pic);
}

/* ---- debugfs ---- */

/**
 * khyp_pic_show() - both 8259As and the ELCR, for debugfs (core/stats.c)
 * @m:		the file
 * @vm:		a VM with an irqchip
 *
 * Per chip its registers and the state of its initialisation sequence,
 * then INTR and the counts.  Takes @lock.
 */
void khyp_pic_show(struct seq_file *m, struct khyp_vm *vm)
{
	static const char * const names[2] = { "master", "slave" };
	struct khyp_pic *pic = vm->irqchip->pic;
	struct khyp_8259 *s;
	unsigned long flags;
	unsigned int n;

	raw_spin_lock_irqsave(&pic->lock, flags);
	for (n = 0; n < 2; n++) {
		s = &pic->chips[n];
		seq_printf(m, "%s irr 0x%02x isr 0x%02x imr 0x%02x elcr 0x%02x base 0x%02x lines 0x%02x\n",
			   names[n], s->irr, s->isr, s->imr, s->elcr, s->base,
			   s->lines);
		seq_printf(m, "%s init %u lowest %u auto_eoi %u rotate_aeoi %u sfnm %u single %u read_isr %u poll %u special_mask %u\n",
			   names[n], s->init, s->lowest, s->auto_eoi,
			   s->rotate_aeoi, s->sfnm, s->single, s->read_isr,
			   s->poll, s->special_mask);
	}
	seq_printf(m, "output %u\nintack %llu\npio %llu\n", pic->output,
		   pic->nr_intack, pic->nr_pio);
	raw_spin_unlock_irqrestore(&pic->lock, flags);
}
