/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest image loaders of the launcher `khyp run`.
 *
 * A loader copies a kernel image into guest memory and says how to start
 * it (struct boot_info).  Images are untrusted input: every size, offset
 * and address in them is checked (wrap-around, file bounds, guest RAM
 * bounds, overlaps) before a single byte of guest memory is written, so a
 * loader that fails leaves guest memory exactly as it found it.
 *
 * Every loader returns 0 or a negative errno and, on failure, writes a
 * one-line message without trailing newline into err (if err and errlen):
 *
 *   -ENOEXEC  not an image of this kind, or one we do not support
 *             (bad magic, class, machine, type, multiboot checksum/flags)
 *   -EINVAL   malformed image (truncated, offsets past the end of the
 *             file, wrapping addresses, overlapping segments, entry point
 *             outside the image) or bad arguments
 *   -ERANGE   the image does not fit in guest RAM, or collides with an
 *             area the loader needs (multiboot info, legacy BIOS hole)
 *   -E2BIG    too many segments, command line too long
 */
#ifndef KHYP_LOADER_H
#define KHYP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The guest-physical map of every khyp machine, whatever the image (as
 * QEMU's q35 lays it out):
 *
 *   [0, low)                   RAM (the loaders' "guest RAM")
 *   [low, 0xb0000000)          nothing, when low is 2 GiB
 *   [0xb0000000, 0xc0000000)   PCIe ECAM (MMCONFIG), buses 0-255
 *   [0xc0000000, 0xfec00000)   the 32-bit PCI window, where BARs go
 *   [0xfec00000, 4 GiB)        the IOAPIC and the local APICs
 *   [4 GiB, 4 GiB + high)      the rest of the RAM
 *
 * low is all of the RAM when it is less than 2816 MiB (0xb0000000), else
 * 2 GiB (q35's rule: the split on a gigabyte, the 32-bit PCI window
 * large); high is what remains.  So no RAM is ever under the ECAM or a
 * BAR the launcher places, for any -m.
 */
#define MEM_ECAM_START		0xb0000000ULL
#define MEM_ECAM_SIZE		0x10000000ULL	/* 1 MiB per bus, 256 buses */
#define MEM_PCI_START		0xc0000000ULL
#define MEM_PCI_END		0xfec00000ULL
#define MEM_LOW_MAX		MEM_ECAM_START
#define MEM_LOW_SPLIT		0x80000000ULL
#define MEM_HIGH_START		0x100000000ULL

/* How -m @ram bytes split into *low (from 0) and *high (from 4 GiB). */
static inline void mem_split(uint64_t ram, uint64_t *low, uint64_t *high)
{
	*low = ram < MEM_LOW_MAX ? ram : MEM_LOW_SPLIT;
	*high = ram - *low;
}

/*
 * Guest RAM: guest-physical [0, size) is mapped at base, and, when high
 * is not 0, [MEM_HIGH_START, MEM_HIGH_START + high) at base +
 * MEM_HIGH_START (the hole between is not mapped).  The loaders place
 * everything in [0, size); only the memory maps they write describe
 * the high part.
 */
struct guest_mem {
	unsigned char *base;
	uint64_t size;
	uint64_t high;
};

/*
 * The host address of guest-physical [gpa, gpa + len) when it lies
 * wholly in one of the two RAM ranges, else NULL: a guest's DMA address
 * must never reach the hole or beyond.
 */
static inline void *guest_mem__ptr(const struct guest_mem *gm, uint64_t gpa,
				   uint64_t len)
{
	if (len <= gm->size && gpa <= gm->size - len)
		return gm->base + gpa;
	if (gm->high && gpa >= MEM_HIGH_START && len <= gm->high &&
	    gpa - MEM_HIGH_START <= gm->high - len)
		return gm->base + gpa;
	return NULL;
}

enum image_format {
	IMAGE_FLAT,
	IMAGE_ELF32,
	IMAGE_ELF64,
	IMAGE_MULTIBOOT,
	IMAGE_BZIMAGE,
	IMAGE_VMLINUX,
};

/* A Linux kernel, whatever its form: the launcher treats both alike. */
static inline bool image_is_linux(int format)
{
	return format == IMAGE_BZIMAGE || format == IMAGE_VMLINUX;
}

/* CPU mode the guest starts in. */
enum boot_mode {
	MODE_REAL16,	/* real mode, CS:IP = entry >> 4 : entry & 0xf */
	MODE_PROT32,	/* 32-bit protected mode, flat segments, no paging */
	MODE_LONG64,	/* 64-bit long mode, identity-mapped page tables */
};

/*
 * Fixed low-memory layout (guest-physical).
 *
 *   [0x1000, 0x6000)  initial stack, boot_info.stack = 0x6000 (grows down)
 *   [0x6000, 0x8000)  multiboot area:
 *     0x6000          struct multiboot_info (EBX)
 *     0x6100          memory map, e820-style entries
 *     0x6200          boot loader name, "khyp"
 *     0x7000          command line, at most MB_CMDLINE_MAX bytes with NUL
 *   [0x9fc00, 0x100000) legacy hole: EBDA, VGA, ROMs (multiboot images
 *                   may not be loaded there)
 */
#define LOADER_STACK_BASE	0x1000
#define LOADER_STACK_TOP	0x6000
#define MB_AREA_START		0x6000
#define MB_INFO_ADDR		0x6000
#define MB_MMAP_ADDR		0x6100
#define MB_NAME_ADDR		0x6200
#define MB_CMDLINE_ADDR		0x7000
#define MB_CMDLINE_MAX		0x1000
#define MB_AREA_END		0x8000
#define LOW_MEM_END		0x9fc00		/* 639 KiB of low memory */
#define BIOS_ROM_START		0xf0000
#define BIOS_AREA_START		0xe0000		/* Linux: e820 reserved from here (acpi.h) */
#define HIGH_MEM_START		0x100000

/*
 * Linux (boot/bzimage.c): the zero page (struct boot_params) and the
 * command line, clear of the stack, the multiboot area and the launcher's
 * GDT and page tables (0x8000-0xf000, khyp.h).
 */
#define LINUX_ZERO_PAGE		0x10000
#define LINUX_CMDLINE		0x20000
#define LINUX_CMDLINE_MAX	0x10000

/* Multiboot v1. */
#define MB_HEADER_MAGIC		0x1badb002
#define MB_BOOT_MAGIC		0x2badb002	/* in EAX at entry */
#define MB_SEARCH_LEN		8192

/* multiboot header flags */
#define MB_HF_PAGE_ALIGN	(1u << 0)	/* modules page-aligned */
#define MB_HF_MEMINFO		(1u << 1)	/* wants mem_lower/upper */
#define MB_HF_VIDEO		(1u << 2)	/* video mode hints */
#define MB_HF_AOUT_KLUDGE	(1u << 16)	/* load by address fields */
#define MB_HF_SUPPORTED		(MB_HF_PAGE_ALIGN | MB_HF_MEMINFO | \
				 MB_HF_VIDEO)

/* multiboot info flags */
#define MB_IF_MEM		(1u << 0)
#define MB_IF_CMDLINE		(1u << 2)
#define MB_IF_MODS		(1u << 3)
#define MB_IF_MMAP		(1u << 6)
#define MB_IF_LOADER_NAME	(1u << 9)

#define MB_MMAP_AVAILABLE	1
#define MB_MMAP_RESERVED	2

/* The multiboot v1 info structure, as far as khyp fills it in. */
struct mb_info {
	uint32_t flags;
	uint32_t mem_lower;		/* KiB below 1 MiB */
	uint32_t mem_upper;		/* KiB above 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;		/* bytes */
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe[4];
	uint32_t framebuffer[7];
} __attribute__((packed));

/* One memory map entry; size counts the bytes after itself (20). */
struct mb_mmap_entry {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));

#define MB_MMAP_MAX_ENTRIES	4

/* One entry of the module list at mods_addr. */
struct mb_mod_entry {
	uint32_t mod_start;		/* first byte */
	uint32_t mod_end;		/* one past the last */
	uint32_t string;		/* "FILE ARGS", NUL-terminated */
	uint32_t reserved;
} __attribute__((packed));

/*
 * A module to load: len bytes at data, and its string.  The loader
 * fills start and end (guest-physical, as in the module list).
 */
struct mb_module {
	const void *data;
	size_t len;
	const char *string;
	uint32_t start, end;
};

#define MB_MAX_MODULES		32

/* ELF images with more PT_LOAD segments than this are refused. */
#define LOADER_MAX_SEGMENTS	64

/*
 * How to start the guest.  Loaders zero it first; fields that do not apply
 * stay 0.  stack is LOADER_STACK_TOP, or 0 when the image covers the stack
 * area and the guest has to set up its own.
 */
struct boot_info {
	uint64_t entry;		/* guest-physical entry point (RIP/EIP/IP) */
	int mode;		/* enum boot_mode */
	int format;		/* enum image_format that was loaded */
	uint64_t stack;		/* initial stack pointer (ESP/RSP/SP) */
	uint32_t mb_info_addr;	/* multiboot: EBX */
	uint32_t mb_magic;	/* multiboot: EAX, MB_BOOT_MAGIC */
	uint64_t boot_params;	/* Linux: RSI/ESI, the zero page */
	uint64_t load_start;	/* lowest guest-physical byte written */
	uint64_t load_end;	/* one past the highest (bss included) */
};

/*
 * Which loader to use: a valid multiboot header (magic 0x1BADB002,
 * 4-byte aligned, wholly within the first 8192 bytes, checksum valid)
 * wins, then a bzImage's boot header, then a Linux vmlinux (an x86 ELF
 * with the kernel's "Linux" note, vmlinux_detect), then the ELF magic
 * (ELF32 for ELFCLASS32, ELF64 for any other class, so that load_elf
 * can say what is wrong), else a flat binary.
 */
int loader_detect(const void *img, size_t len);
const char *image_format_name(int format);

/*
 * A raw binary: copied to load_addr, started at entry, which must lie in
 * the copied image.  It starts in real mode if entry is below 1 MiB (like
 * a boot sector), else in 32-bit protected mode; entry above 4 GiB is
 * refused.  The launcher may override boot_info.mode.
 */
int load_flat(struct guest_mem *gm, const void *img, size_t len,
	      uint64_t load_addr, uint64_t entry, struct boot_info *bi,
	      char *err, size_t errlen);

/*
 * An ELF32 (EM_386, started in MODE_PROT32) or ELF64 (EM_X86_64, started in
 * MODE_LONG64) little-endian ET_EXEC.  PT_LOAD segments go to their p_paddr;
 * p_filesz bytes are copied and the rest up to p_memsz is zeroed.  e_entry
 * is a virtual address; it must lie in a PT_LOAD segment and is translated
 * to that segment's physical address (so entry == e_entry when p_vaddr ==
 * p_paddr).  PT_INTERP (a dynamically linked program) is refused.
 */
int load_elf(struct guest_mem *gm, const void *img, size_t len,
	     struct boot_info *bi, char *err, size_t errlen);

/*
 * A multiboot v1 kernel.  With header flag bit 16 (the a.out kludge) the
 * header's load_addr, load_end_addr, bss_end_addr and entry_addr say where
 * the file goes; otherwise it must be an ELF32, loaded as by load_elf.  The
 * multiboot info (memory sizes, memory map, command line if cmdline is not
 * NULL, loader name) is built at MB_INFO_ADDR; the guest starts in
 * MODE_PROT32 with EAX = MB_BOOT_MAGIC, EBX = MB_INFO_ADDR.  Guest RAM must
 * be at least 1 MiB; the image may not touch [0, MB_AREA_END) nor the
 * legacy hole.  Header flags 0-15 other than MB_HF_SUPPORTED are refused,
 * as the specification demands; video hints are ignored.
 */
int load_multiboot(struct guest_mem *gm, const void *img, size_t len,
		   const char *cmdline, struct boot_info *bi,
		   char *err, size_t errlen);

/*
 * The same with nmods modules (at most MB_MAX_MODULES), as GRUB and
 * QEMU's -initrd load them: each page-aligned, in order, from the first
 * page above both the kernel and 1 MiB; then, on the next page, the
 * module list (struct mb_mod_entry, mods_addr) followed by the modules'
 * strings.  All of it must lie in guest RAM below 4 GiB (-ERANGE).
 * bi->load_end stays the kernel's end.
 */
int load_multiboot_mods(struct guest_mem *gm, const void *img, size_t len,
			const char *cmdline, struct mb_module *mods,
			unsigned int nmods, struct boot_info *bi,
			char *err, size_t errlen);

/* What a Linux kernel is given besides itself. */
struct linux_args {
	const char *cmdline;	/* NULL: an empty command line */
	const void *initrd;	/* NULL (and initrd_len 0): none */
	size_t initrd_len;
};

/* A Linux boot header: 0xAA55 at 0x1fe and "HdrS" at 0x202. */
bool bzimage_detect(const void *img, size_t len);

/*
 * A Linux bzImage by the x86 boot protocol, version 2.10 or later.  The
 * protected-mode kernel runs at pref_address (relocatable kernels, when
 * init_size bytes fit there; else the lowest kernel_alignment boundary
 * from 1 MiB) or at code32_start; the initrd goes as high as RAM and
 * initrd_addr_max allow; the zero page at LINUX_ZERO_PAGE holds the
 * image's setup header, the command line pointer (LINUX_CMDLINE), the
 * initrd and an e820 map.  The guest starts at the 64-bit entry (load +
 * 0x200, MODE_LONG64) when xloadflags offers it, else at the 32-bit one
 * (MODE_PROT32), with boot_params set for RSI.  The e820 map describes
 * all of gm, the RAM from 4 GiB too; gm->size may not reach into the
 * PCI hole (MEM_LOW_MAX).
 */
int load_bzimage(struct guest_mem *gm, const void *img, size_t len,
		 const struct linux_args *la, struct boot_info *bi,
		 char *err, size_t errlen);

/*
 * An x86 ELF executable with an ELF note named "Linux" in a PT_NOTE
 * segment (the build salt of every kernel since 4.17): a vmlinux.
 */
bool vmlinux_detect(const void *img, size_t len);

/*
 * An uncompressed x86-64 Linux kernel, a vmlinux ELF (boot/vmlinux.c):
 * its PT_LOAD segments at their physical addresses (above the first
 * MiB), e_entry taken as the physical address of its 64-bit entry
 * (startup_64), MODE_LONG64 with boot_params = LINUX_ZERO_PAGE, which
 * holds a setup header of protocol 2.12 made up by the loader and the
 * same command line (at most 2047 bytes), initrd (as high as RAM allows
 * below 2 GiB, above the kernel) and e820 map as load_bzimage writes.
 * No decompression and no KASLR.  A 32-bit vmlinux is refused
 * (-ENOEXEC), as is an ELF without the note.
 */
int load_vmlinux(struct guest_mem *gm, const void *img, size_t len,
		 const struct linux_args *la, struct boot_info *bi,
		 char *err, size_t errlen);

#endif /* KHYP_LOADER_H */
