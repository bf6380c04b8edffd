/* SPDX-License-Identifier: GPL-2.0 */
/*
 * irq/'s own view of the legacy PC devices: the 8259A pair (irq/pic.c)
 * and the 8254 timer with port 0x61 (irq/pit.c).  The irqchip
 * (irq/irqchip.c) makes and frees them; devices raise ISA lines with
 * khyp_pic_set_irq(); the injection path (irq/inject.c) asks the PIC for
 * an ExtINT vector.  The rest of khyp sees only irq/irq.h.
 */
#ifndef KHYP_IRQ_PIC_H
#define KHYP_IRQ_PIC_H

#include <linux/types.h>

struct khyp_irqchip;
struct khyp_pic;
struct khyp_pit;
struct khyp_vcpu;

/* The PIC pair: 0x20-0x21, 0xa0-0xa1, ELCR 0x4d0-0x4d1. */
int khyp_pic_create(struct khyp_irqchip *chip);
void khyp_pic_destroy(struct khyp_irqchip *chip);
/* ISA line @irq (0-15) is now at @level; any context. */
void khyp_pic_set_irq(struct khyp_pic *pic, unsigned int irq, bool level);
/* Is INTR up (an unmasked request above what is in service)? */
bool khyp_pic_output(struct khyp_pic *pic);
/* Interrupt acknowledge: the vector (a spurious IRQ 7 or 15 if none). */
u8 khyp_pic_intack(struct khyp_pic *pic);

/* The PIT: 0x40-0x43 and port 0x61; channel 0 drives ISA IRQ 0. */
int khyp_pit_create(struct khyp_irqchip *chip);
void khyp_pit_destroy(struct khyp_irqchip *chip);

#endif /* KHYP_IRQ_PIC_H */
