/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A boot sector that counts its boots in CMOS NVRAM byte 0x40 (which a
 * PC's reset keeps) and resets the machine the way RESET_HOW says
 * (built once per way: reboot_cf9.bin, reboot_kbc.bin, reboot_92.bin).
 * On its third boot it leaves through the debug exit with the count, 3
 * (status 7): so `khyp run --reboot restart` ends with 7 after two
 * resets, and `--reboot exit` ends with 12 at the first.
 */
	.code16
	.text
	.globl	_start
_start:
	cli
	mov	$0x40, %al		/* the count: CMOS 0x40 + 1 */
	out	%al, $0x70
	in	$0x71, %al
	inc	%al
	mov	%al, %bl
	mov	$0x40, %al
	out	%al, $0x70
	mov	%bl, %al
	out	%al, $0x71
	cmp	$3, %bl
	jae	done
#if RESET_HOW == 1			/* the reset control register */
	mov	$0xcf9, %dx
	mov	$0x02, %al
	out	%al, %dx
	mov	$0x06, %al
	out	%al, %dx
#elif RESET_HOW == 2			/* the keyboard controller */
	mov	$0xfe, %al
	out	%al, $0x64
#else					/* port 0x92, bit 0 */
	in	$0x92, %al
	or	$0x01, %al
	out	%al, $0x92
#endif
	mov	$0x22, %al		/* not reset: status 69 */
	out	%al, $0xf4
done:	mov	%bl, %al
	out	%al, $0xf4
	hlt
