// SPDX-License-Identifier: GPL-2.0
/*
 * An uncompressed Linux kernel: the vmlinux ELF of a kernel build, or
 * what the kernel's scripts/extract-vmlinux takes out of a distribution's
 * bzImage.  Its PT_LOAD segments go to their physical addresses, and the
 * vCPU starts at e_entry, which a vmlinux links as the physical address
 * of the kernel's own 64-bit startup_64 (ENTRY(phys_startup_64)), in long
 * mode with RSI = a zero page, as the bzImage's decompressor starts it.
 * A vmlinux has no setup header, so the loader writes the one a boot
 * loader would find in a bzImage of protocol 2.12 (what the kernel's own
 * PVH entry puts into its boot_params), then the same command line,
 * initrd and e820 map as for a bzImage (bzimage.c).
 *
 * What a bzImage would do before that is skipped: the decompression
 * (minutes of an emulated machine's time) and the decompressor's KASLR
 * (the kernel runs where it was linked, as with `nokaslr`).
 *
 * A vmlinux is recognised by the ELF note named "Linux" (the build salt,
 * in every kernel since 4.17) in a PT_NOTE segment; only x86-64 ones are
 * booted.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "loader_priv.h"

/* x86's COMMAND_LINE_SIZE (2048) less the NUL. */
#define VMLINUX_CMDLINE_MAX	2047
/* A 64-bit bzImage's initrd_addr_max. */
#define VMLINUX_INITRD_MAX	0x7fffffff
/* The setup header the loader makes: protocol 2.12, as PVH's. */
#define VMLINUX_PROTOCOL	0x020c
#define VMLINUX_HDR_END		(HDR_INIT_SIZE + 4)

static uint64_t get(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, p, n);	/* little-endian, x86 */
	return v;
}

/* Is there a note named "Linux" in the @len bytes at @p? */
static bool notes_have_linux(const unsigned char *p, uint64_t len)
{
	static const char name[] = "Linux";
	uint64_t off = 0, namesz, descsz, step;

	while (len - off >= 12) {
		namesz = get(p + off, 4);
		descsz = get(p + off + 4, 4);
		off += 12;
		/* name and description, each padded to 4 bytes */
		step = ((namesz + 3) & ~3ULL) + ((descsz + 3) & ~3ULL);
		if (step > len - off)
			return false;
		if (namesz == sizeof(name) && !memcmp(p + off, name, sizeof(name)))
			return true;
		off += step;
	}
	return false;
}

/*
 * The ELF class (ELFCLASS32 or ELFCLASS64) of an x86 ELF executable
 * with a "Linux" note in a PT_NOTE segment, else 0.
 */
static int vmlinux_class(const unsigned char *p, size_t len)
{
	uint64_t phoff, off, filesz;
	unsigned int i, phnum, phentsize, class;
	const unsigned char *ph;

	if (!p || len < sizeof(Elf64_Ehdr) || memcmp(p, ELFMAG, SELFMAG) ||
	    p[EI_DATA] != ELFDATA2LSB)
		return 0;
	class = p[EI_CLASS];
	if (class == ELFCLASS64) {
		if (get(p + offsetof(Elf64_Ehdr, e_machine), 2) != EM_X86_64)
			return 0;
		phoff = get(p + offsetof(Elf64_Ehdr, e_phoff), 8);
		phentsize = get(p + offsetof(Elf64_Ehdr, e_phentsize), 2);
		phnum = get(p + offsetof(Elf64_Ehdr, e_phnum), 2);
		if (phentsize != sizeof(Elf64_Phdr))
			return 0;
	} else if (class == ELFCLASS32) {
		if (get(p + offsetof(Elf32_Ehdr, e_machine), 2) != EM_386)
			return 0;
		phoff = get(p + offsetof(Elf32_Ehdr, e_phoff), 4);
		phentsize = get(p + offsetof(Elf32_Ehdr, e_phentsize), 2);
		phnum = get(p + offsetof(Elf32_Ehdr, e_phnum), 2);
		if (phentsize != sizeof(Elf32_Phdr))
			return 0;
	} else {
		return 0;
	}
	if (range_wraps(phoff, (uint64_t)phnum * phentsize, len))
		return 0;
	for (i = 0; i < phnum; i++) {
		ph = p + phoff + (uint64_t)i * phentsize;
		if (get(ph, 4) != PT_NOTE)
			continue;
		if (class == ELFCLASS64) {
			off = get(ph + offsetof(Elf64_Phdr, p_offset), 8);
			filesz = get(ph + offsetof(Elf64_Phdr, p_filesz), 8);
		} else {
			off = get(ph + offsetof(Elf32_Phdr, p_offset), 4);
			filesz = get(ph + offsetof(Elf32_Phdr, p_filesz), 4);
		}
		if (range_wraps(off, filesz, len))
			continue;
		if (notes_have_linux(p + off, filesz))
			return class;
	}
	return 0;
}

bool vmlinux_detect(const void *img, size_t len)
{
	return vmlinux_class(img, len) != 0;
}

int load_vmlinux(struct guest_mem *gm, const void *img, size_t len,
		 const struct linux_args *la, struct boot_info *bi,
		 char *err, size_t errlen)
{
	static const struct gm_range low = { 0, HIGH_MEM_START, "the first MiB" };
	struct elf_opts o = {
		.want_class = ELFCLASS64,
		.rsv = &low,
		.nrsv = 1,
		.dry_run = true,
		.phys_entry = true,
	};
	size_t ilen = la ? la->initrd_len : 0;
	unsigned char hdr[VMLINUX_HDR_END];
	uint64_t initrd = 0;
	int ret, class;

	ret = loader_begin(gm, img, len, bi, err, errlen);
	if (ret)
		return ret;
	class = vmlinux_class(img, len);
	if (!class)
		return loader_fail(err, errlen, -ENOEXEC,
				   "not a Linux vmlinux (an x86 ELF executable with the kernel's \"Linux\" ELF note)");
	if (class != ELFCLASS64)
		return loader_fail(err, errlen, -ENOEXEC,
				   "a 32-bit vmlinux: only x86-64 kernels boot from their ELF (boot its bzImage)");
	ret = linux_check_args(gm, la, VMLINUX_CMDLINE_MAX, err, errlen);
	if (ret)
		return ret;
	/* the segments checked (in RAM, above the first MiB), nothing written */
	ret = elf_load(gm, img, len, &o, bi, err, errlen);
	if (ret)
		return ret;
	if (ilen) {
		ret = linux_place_initrd(gm, VMLINUX_INITRD_MAX, bi->load_end,
					 ilen, &initrd, err, errlen);
		if (ret)
			return ret;
	}

	/* All checked: from here on guest memory is written. */
	o.dry_run = false;
	ret = elf_load(gm, img, len, &o, bi, err, errlen);
	if (ret)
		return ret;
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr + HDR_BOOT_FLAG, "\x55\xaa", 2);
	hdr[HDR_JUMP + 1] = VMLINUX_HDR_END - HDR_JUMP - 2;
	memcpy(hdr + HDR_MAGIC, "HdrS", 4);
	memcpy(hdr + HDR_VERSION, &(uint16_t){ VMLINUX_PROTOCOL }, 2);
	hdr[HDR_LOADFLAGS] = LOADED_HIGH;
	memcpy(hdr + HDR_INITRD_ADDR_MAX, &(uint32_t){ VMLINUX_INITRD_MAX }, 4);
	memcpy(hdr + HDR_XLOADFLAGS, &(uint16_t){ XLF_KERNEL_64 }, 2);
	memcpy(hdr + HDR_CMDLINE_SIZE, &(uint32_t){ VMLINUX_CMDLINE_MAX }, 4);
	memcpy(hdr + HDR_PREF_ADDRESS, &bi->load_start, 8);
	memcpy(hdr + HDR_INIT_SIZE,
	       &(uint32_t){ bi->load_end - bi->load_start }, 4);
	linux_zero_page(gm, hdr, sizeof(hdr), bi->load_start, la, initrd);

	bi->format = IMAGE_VMLINUX;
	bi->boot_params = LINUX_ZERO_PAGE;
	return 0;
}
