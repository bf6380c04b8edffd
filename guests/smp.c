// SPDX-License-Identifier: GPL-2.0
/*
 * A multiboot ELF32 guest for `khyp run -c N`: vCPU 0 starts every other
 * vCPU as a PC's firmware does (INIT, SIPI, SIPI to all but itself,
 * through its local APIC's xAPIC page); each AP starts in real mode at
 * the SIPI page, marks itself up by its APIC ID (CPUID) and halts.
 * vCPU 0 waits for the processors of the MP table (Intel MP spec 1.4,
 * which `khyp run -c N` writes) to be up, or for "cpus=N" on the
 * command line, or for none, prints "mptable: N cpus" when it found
 * one, "cpu I up" for each CPU up, and exits with the count: status
 * 2N + 1.
 */
#include "lib.h"

#define APIC_BASE	0xfee00000u
#define APIC_SVR	0xf0
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define ICR_ALL_BUT	0xc0000
#define ICR_INIT	0x0500
#define ICR_STARTUP	0x0600
#define ICR_LEVEL	0x8000
#define ICR_ASSERT	0x4000

/* Above the launcher's boot tables (userspace-tool/boot/loader.h). */
#define TRAMPOLINE	0x10000		/* SIPI vector 0x10 */
#define UP_FLAGS	0x11000		/* one byte per APIC ID */
#define MAX_CPUS	64

/* The APs' code, real mode: the flag of their APIC ID (CS:0x1000), HLT. */
asm(".pushsection .text\n"
    ".code16\n"
    "ap_start:\n"
    "	cli\n"
    "	movl $1, %eax\n"
    "	cpuid\n"
    "	shrl $24, %ebx\n"
    "	movb $1, %cs:0x1000(%bx)\n"
    "1:	hlt\n"
    "	jmp 1b\n"
    "ap_end:\n"
    ".code32\n"
    ".popsection\n");
extern const char ap_start[], ap_end[];

static void apic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC_BASE + reg) = v;
}

static void ipi_all_but_self(uint32_t low)
{
	apic_write(APIC_ICR2, 0);
	apic_write(APIC_ICR, ICR_ALL_BUT | low);
}

static unsigned int cmdline_cpus(const struct mb_info *mbi)
{
	const char *s;
	unsigned int n = 0;

	if (!(mbi->flags & MB_INFO_CMDLINE))
		return 1;
	for (s = (const char *)mbi->cmdline; *s; s++)
		if (streq_prefix(s, "cpus="))
			break;
	if (!*s)
		return 1;
	for (s += 5; *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (*s - '0');
	return n < 1 ? 1 : n > MAX_CPUS ? MAX_CPUS : n;
}

static uint8_t sum(const volatile uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* The enabled processors of the MP table in the BIOS area, or 0. */
static unsigned int mptable_cpus(void)
{
	const volatile uint8_t *fp, *cfg, *e;
	unsigned int n = 0, i, entries;
	uint32_t a;

	for (a = 0xf0000; a < 0x100000; a += 16) {
		fp = (const volatile uint8_t *)a;
		if (fp[0] == '_' && fp[1] == 'M' && fp[2] == 'P' &&
		    fp[3] == '_' && !sum(fp, 16))
			break;
	}
	if (a >= 0x100000)
		return 0;
	cfg = (const volatile uint8_t *)(*(const volatile uint32_t *)(fp + 4));
	if (cfg[0] != 'P' || cfg[1] != 'C' || cfg[2] != 'M' || cfg[3] != 'P' ||
	    sum(cfg, *(const volatile uint16_t *)(cfg + 4)))
		return 0;
	entries = *(const volatile uint16_t *)(cfg + 34);
	e = cfg + 44;
	for (i = 0; i < entries; i++) {
		if (*e == 0) {			/* a processor: 20 bytes */
			n += e[3] & 1;
			e += 20;
		} else {
			e += 8;
		}
	}
	return n;
}

static unsigned int count_up(volatile uint8_t *up)
{
	unsigned int i, n = 0;

	for (i = 0; i < MAX_CPUS; i++)
		n += up[i];
	return n;
}

int main(uint32_t magic, const struct mb_info *mbi)
{
	volatile uint8_t *up = (volatile uint8_t *)UP_FLAGS;
	volatile char *dst = (volatile char *)TRAMPOLINE;
	unsigned int i, want, n;

	if (magic != MB_BOOT_MAGIC) {
		puts("no multiboot magic\n");
		return 0x7f;
	}
	want = mptable_cpus();
	if (want) {
		puts("mptable: ");
		put_dec(want);
		puts(" cpus\n");
	} else {
		want = cmdline_cpus(mbi);
	}
	for (i = 0; i < (unsigned int)(ap_end - ap_start); i++)
		dst[i] = ap_start[i];
	for (i = 0; i < MAX_CPUS; i++)
		up[i] = 0;
	up[0] = 1;

	apic_write(APIC_SVR, 0x1ff);
	ipi_all_but_self(ICR_INIT | ICR_LEVEL | ICR_ASSERT);
	ipi_all_but_self(ICR_INIT | ICR_LEVEL);
	for (i = 0; i < 2; i++)
		ipi_all_but_self(ICR_STARTUP | ICR_ASSERT | (TRAMPOLINE >> 12));

	/*
	 * No bound: `khyp run --timeout` is the limit.  IF=1 while it
	 * spins (nothing interrupts it): Bochs's SVM lets a guest's IF=0
	 * keep the host's interrupts out, which would freeze it.
	 */
	asm volatile("sti");
	while ((n = count_up(up)) < want)
		asm volatile("pause");
	asm volatile("cli");
	for (i = 0; i < MAX_CPUS; i++)
		if (up[i]) {
			puts("cpu ");
			put_dec(i);
			puts(" up\n");
		}
	return n;
}
