// SPDX-License-Identifier: GPL-2.0
/*
 * mbboot: boots an uncompressed x86-64 Linux kernel (a vmlinux ELF) from
 * GRUB's multiboot loader, for the Bochs machines of scripts/machines.sh.
 *
 * Why: a distribution's bzImage decompresses itself before its first
 * line, and Debian's is xz: ~3.7 billion instructions, a minute or more
 * of wall time at every Bochs start (Bochs runs some 40-60 million
 * instructions a second here).  GRUB's `linux` command only takes a
 * bzImage, but its `multiboot` command loads this file and the modules
 * named after it.  So:
 *
 *	multiboot /boot/mbboot <the kernel's command line>
 *	module --nounzip /boot/vmlinux
 *	module --nounzip /boot/initrd	(optional)
 *
 * mbboot copies the vmlinux's PT_LOAD segments to their physical
 * addresses (moving a module out of the way first if GRUB put it there),
 * writes a zero page as khyp's launcher does for a vmlinux
 * (userspace-tool/boot/vmlinux.c: a setup header of protocol 2.12, the
 * command line, the initrd, the e820 map from GRUB's memory map) and
 * enters the kernel at its 64-bit entry (start.S).  The kernel runs where
 * it was linked: the decompressor's KASLR is skipped, as with `nokaslr`.
 * Errors are printed on COM1 and stop the machine (HLT).
 */
#include <stdint.h>
#include <stddef.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define MB_BOOT_MAGIC	0x2badb002
#define MBI_MEM		(1 << 0)
#define MBI_CMDLINE	(1 << 2)
#define MBI_MODS	(1 << 3)
#define MBI_MMAP	(1 << 6)

struct mb_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline;
	u32 mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
};

struct mb_module {
	u32 start, end, string, reserved;
};

struct mb_mmap {
	u32 size;
	u64 addr, len;
	u32 type;
} __attribute__((packed));

/* ELF64, the parts read here */
struct elf64_hdr {
	u8 ident[16];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
};

#define PT_LOAD		1
#define EM_X86_64	62

/* The zero page (struct boot_params), offsets of Documentation/x86/zero-page.rst */
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_E820_TABLE		0x2d0
#define E820_MAX		128
#define HDR_VID_MODE		0x1fa
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP		0x200
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_CODE32_START	0x214
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define HDR_END			0x264
#define LOADED_HIGH		0x01
#define XLF_KERNEL_64		0x01
#define CMDLINE_MAX		2047	/* x86's COMMAND_LINE_SIZE less the NUL */

#define MiB			0x100000ULL
#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((u64)(a) - 1))

/* Read by start.S */
u8 zero_page[4096] __attribute__((aligned(4096)));
u64 pml4[512] __attribute__((aligned(4096)));
u32 kernel_entry;

static u64 pdpt[512] __attribute__((aligned(4096)));
static u64 pd[4][512] __attribute__((aligned(4096)));
static char cmdline[CMDLINE_MAX + 1];
extern char _end[];

static inline void outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc_serial(char c)
{
	while (!(inb(0x3fd) & 0x20))	/* THR empty */
		;
	outb(0x3f8, c);
}

static void puts_serial(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc_serial('\r');
		putc_serial(*s);
	}
}

static void puthex(u64 v)
{
	int i;

	puts_serial("0x");
	for (i = 60; i >= 0; i -= 4)
		if (v >> i || !i)
			putc_serial("0123456789abcdef"[(v >> i) & 15]);
}

static void __attribute__((noreturn)) fail(const char *why)
{
	puts_serial("mbboot: ");
	puts_serial(why);
	puts_serial("\n");
	for (;;)
		asm volatile("cli; hlt");
}

static void *memmove(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	if (d < s) {
		asm volatile("rep movsb"
			     : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	} else if (d > s && n) {
		d += n - 1;
		s += n - 1;
		asm volatile("std; rep movsb; cld"
			     : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	}
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n);
void *memcpy(void *dst, const void *src, size_t n)
{
	return memmove(dst, src, n);
}

void *memset(void *dst, int c, size_t n);
void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

static void wr(u32 off, u64 v, int n)
{
	memcpy(zero_page + off, &v, n);	/* little-endian */
}

static int overlaps(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* A module GRUB gave us: where it is now. */
struct blob {
	u64 start, size;
};

/*
 * The first 4 GiB, identity-mapped with 2 MiB pages: all the kernel's
 * 64-bit entry needs (its image, the zero page, the command line).
 */
static void map_4g(void)
{
	int i, j;

	for (i = 0; i < 4; i++) {
		for (j = 0; j < 512; j++)
			pd[i][j] = ((u64)i << 30) + ((u64)j << 21) + 0x83;
		pdpt[i] = (u32)pd[i] + 0x3;	/* present, writable */
	}
	pml4[0] = (u32)pdpt + 0x3;
}

/* The e820 map of the zero page, from GRUB's (the BIOS's) memory map. */
static void e820_from_mmap(const struct mb_info *mbi)
{
	u32 p = mbi->mmap_addr, end = mbi->mmap_addr + mbi->mmap_length;
	const struct mb_mmap *m;
	int n = 0;

	while (p + sizeof(*m) <= end && n < E820_MAX) {
		m = (const struct mb_mmap *)p;
		wr(BP_E820_TABLE + n * 20, m->addr, 8);
		wr(BP_E820_TABLE + n * 20 + 8, m->len, 8);
		/* multiboot's types 1-5 are e820's */
		wr(BP_E820_TABLE + n * 20 + 16, m->type, 4);
		n++;
		p += m->size + 4;
	}
	if (!n)
		fail("no memory map from the boot loader");
	zero_page[BP_E820_ENTRIES] = n;
}

/* The command line GRUB passes, without the file name it puts first. */
static void copy_cmdline(const struct mb_info *mbi)
{
	const char *s = "";
	int n = 0;

	if (mbi->flags & MBI_CMDLINE)
		s = (const char *)mbi->cmdline;
	if (*s == '/') {
		while (*s && *s != ' ')
			s++;
		while (*s == ' ')
			s++;
	}
	while (s[n] && n < CMDLINE_MAX) {
		cmdline[n] = s[n];
		n++;
	}
	cmdline[n] = 0;
	if (s[n])
		fail("command line too long");
}

u32 mbboot_main(u32 magic, const struct mb_info *mbi);
u32 mbboot_main(u32 magic, const struct mb_info *mbi)
{
	const struct mb_module *mod;
	const struct elf64_hdr *eh;
	const struct elf64_phdr *ph;
	struct blob kern, initrd = { 0, 0 };
	u64 lo = ~0ULL, hi = 0, free_at, ram_end;
	int i;

	if (magic != MB_BOOT_MAGIC)
		fail("not started by a multiboot loader");
	if (!(mbi->flags & MBI_MODS) || mbi->mods_count < 1)
		fail("no vmlinux: give it as the first module");
	if (!(mbi->flags & MBI_MMAP) || !(mbi->flags & MBI_MEM))
		fail("no memory map from the boot loader");

	/* Everything read from GRUB's structures before anything moves. */
	memset(zero_page, 0, sizeof(zero_page));
	e820_from_mmap(mbi);
	copy_cmdline(mbi);
	mod = (const struct mb_module *)mbi->mods_addr;
	kern.start = mod[0].start;
	kern.size = mod[0].end - mod[0].start;
	if (mbi->mods_count > 1) {
		initrd.start = mod[1].start;
		initrd.size = mod[1].end - mod[1].start;
	}

	eh = (const struct elf64_hdr *)(u32)kern.start;
	if (kern.size < sizeof(*eh) || eh->ident[0] != 0x7f ||
	    eh->ident[1] != 'E' || eh->ident[2] != 'L' || eh->ident[3] != 'F' ||
	    eh->ident[4] != 2 || eh->machine != EM_X86_64 ||
	    eh->phentsize != sizeof(*ph) ||
	    eh->phoff + (u64)eh->phnum * sizeof(*ph) > kern.size)
		fail("the first module is not an x86-64 ELF vmlinux");
	ph = (const struct elf64_phdr *)(u32)(kern.start + eh->phoff);
	for (i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_LOAD || !ph[i].memsz)
			continue;
		if (ph[i].filesz > ph[i].memsz ||
		    ph[i].offset + ph[i].filesz > kern.size ||
		    ph[i].paddr < MiB || ph[i].paddr + ph[i].memsz > 0xc0000000)
			fail("a PT_LOAD segment out of range");
		if (ph[i].paddr < lo)
			lo = ph[i].paddr;
		if (ph[i].paddr + ph[i].memsz > hi)
			hi = ph[i].paddr + ph[i].memsz;
	}
	if (hi <= lo || eh->entry < lo || eh->entry >= hi)
		fail("no PT_LOAD segment, or the entry outside them");
	if (overlaps(lo, hi - lo, 0, (u32)_end))
		fail("the kernel's segments overlap mbboot");

	/*
	 * Modules GRUB put where the kernel goes are moved above everything
	 * first (the vmlinux before its segments are copied out of it).
	 */
	free_at = ALIGN_UP(hi, 2 * MiB);
	for (i = 0; i < (int)mbi->mods_count; i++)
		if (mod[i].end > free_at)
			free_at = ALIGN_UP(mod[i].end, 2 * MiB);
	/* Where a moved module goes must be RAM (below the first hole). */
	ram_end = MiB + (u64)mbi->mem_upper * 1024;
	if (overlaps(kern.start, kern.size, lo, hi - lo)) {
		if (free_at + kern.size > ram_end)
			fail("no room to move the vmlinux out of the kernel's way");
		memmove((void *)(u32)free_at, (void *)(u32)kern.start, kern.size);
		kern.start = free_at;
		free_at = ALIGN_UP(free_at + kern.size, 2 * MiB);
		eh = (const struct elf64_hdr *)(u32)kern.start;
		ph = (const struct elf64_phdr *)(u32)(kern.start + eh->phoff);
	}
	if (initrd.size && overlaps(initrd.start, initrd.size, lo, hi - lo)) {
		if (free_at + initrd.size > ram_end)
			fail("no room to move the initrd out of the kernel's way");
		memmove((void *)(u32)free_at, (void *)(u32)initrd.start,
			initrd.size);
		initrd.start = free_at;
		free_at = ALIGN_UP(free_at + initrd.size, 2 * MiB);
	}
	if (free_at > 0xc0000000)
		fail("no room to move the modules out of the kernel's way");

	for (i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_LOAD || !ph[i].memsz)
			continue;
		memmove((void *)(u32)ph[i].paddr,
			(void *)(u32)(kern.start + ph[i].offset), ph[i].filesz);
		memset((void *)(u32)(ph[i].paddr + ph[i].filesz), 0,
		       ph[i].memsz - ph[i].filesz);
	}
	kernel_entry = eh->entry;

	/* The setup header a bzImage of protocol 2.12 would have. */
	wr(HDR_BOOT_FLAG, 0xaa55, 2);
	zero_page[HDR_JUMP] = 0xeb;
	zero_page[HDR_JUMP + 1] = HDR_END - HDR_JUMP - 2;
	memcpy(zero_page + HDR_MAGIC, "HdrS", 4);
	wr(HDR_VERSION, 0x020c, 2);
	wr(HDR_VID_MODE, 0xffff, 2);
	zero_page[HDR_TYPE_OF_LOADER] = 0xff;
	zero_page[HDR_LOADFLAGS] = LOADED_HIGH;
	wr(HDR_CODE32_START, lo, 4);
	wr(HDR_INITRD_ADDR_MAX, 0x7fffffff, 4);
	wr(HDR_XLOADFLAGS, XLF_KERNEL_64, 2);
	wr(HDR_CMDLINE_SIZE, CMDLINE_MAX, 4);
	wr(HDR_PREF_ADDRESS, lo, 8);
	wr(HDR_INIT_SIZE, hi - lo, 4);
	wr(HDR_CMD_LINE_PTR, (u32)cmdline, 4);
	wr(BP_EXT_CMD_LINE_PTR, 0, 4);
	wr(HDR_RAMDISK_IMAGE, initrd.start, 4);
	wr(BP_EXT_RAMDISK_IMAGE, 0, 4);
	wr(HDR_RAMDISK_SIZE, initrd.size, 4);
	wr(BP_EXT_RAMDISK_SIZE, 0, 4);

	map_4g();
	puts_serial("mbboot: vmlinux ");
	puthex(lo);
	puts_serial("-");
	puthex(hi);
	puts_serial(", entry ");
	puthex(kernel_entry);
	puts_serial(", initrd ");
	puthex(initrd.start);
	puts_serial(" (");
	puthex(initrd.size);
	puts_serial(" bytes)\n");
	return 0;
}
