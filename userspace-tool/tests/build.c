// SPDX-License-Identifier: GPL-2.0
/* In-memory ELF and multiboot images for loader_test. */
#include <string.h>

#include "test.h"

void elfb_init(struct elfb *b, int class, uint64_t entry)
{
	Elf64_Ehdr *eh = &b->eh;
	int is32 = class == ELFCLASS32;

	memset(b, 0, sizeof(*b));
	b->class = class;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = class;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = is32 ? EM_386 : EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = is32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr);
	eh->e_ehsize = is32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr);
	eh->e_phentsize = is32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr);
	b->data_end = ELF_DATA_OFF;
}

unsigned int elfb_phdr(struct elfb *b, uint32_t type, uint64_t offset,
		       uint64_t vaddr, uint64_t paddr, uint64_t filesz,
		       uint64_t memsz)
{
	Elf64_Phdr *ph = &b->ph[b->nph];

	ph->p_type = type;
	ph->p_flags = PF_R | PF_W | PF_X;
	ph->p_offset = offset;
	ph->p_vaddr = vaddr;
	ph->p_paddr = paddr;
	ph->p_filesz = filesz;
	ph->p_memsz = memsz;
	ph->p_align = 16;
	b->eh.e_phnum++;
	return b->nph++;
}

unsigned int elfb_load(struct elfb *b, uint64_t addr, uint64_t filesz,
		       uint64_t memsz, uint8_t fill)
{
	size_t off = (b->data_end + 15) & ~(size_t)15;
	uint64_t k;

	for (k = 0; k < filesz && off + k < IMG_MAX; k++)
		b->file[off + k] = (uint8_t)(fill + k);
	b->data_end = off + filesz;
	return elfb_phdr(b, PT_LOAD, off, addr, addr, filesz, memsz);
}

static void emit32(struct elfb *b)
{
	const Elf64_Ehdr *e = &b->eh;
	Elf32_Ehdr eh;
	Elf32_Phdr ph;
	unsigned int i;

	memcpy(eh.e_ident, e->e_ident, EI_NIDENT);
	eh.e_type = e->e_type;
	eh.e_machine = e->e_machine;
	eh.e_version = e->e_version;
	eh.e_entry = e->e_entry;
	eh.e_phoff = e->e_phoff;
	eh.e_shoff = 0;
	eh.e_flags = 0;
	eh.e_ehsize = e->e_ehsize;
	eh.e_phentsize = e->e_phentsize;
	eh.e_phnum = e->e_phnum;
	eh.e_shentsize = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	memcpy(b->file, &eh, sizeof(eh));
	for (i = 0; i < b->nph; i++) {
		ph.p_type = b->ph[i].p_type;
		ph.p_offset = b->ph[i].p_offset;
		ph.p_vaddr = b->ph[i].p_vaddr;
		ph.p_paddr = b->ph[i].p_paddr;
		ph.p_filesz = b->ph[i].p_filesz;
		ph.p_memsz = b->ph[i].p_memsz;
		ph.p_flags = b->ph[i].p_flags;
		ph.p_align = b->ph[i].p_align;
		memcpy(b->file + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
}

void elfb_emit(struct elfb *b)
{
	unsigned int i;

	if (b->class == ELFCLASS32) {
		emit32(b);
	} else {
		memcpy(b->file, &b->eh, sizeof(b->eh));
		for (i = 0; i < b->nph; i++)
			memcpy(b->file + sizeof(b->eh) + i * sizeof(b->ph[0]),
			       &b->ph[i], sizeof(b->ph[0]));
	}
	b->len = b->data_end < IMG_MAX ? b->data_end : IMG_MAX;
}

bool elfb_seg_loaded(const struct tctx *t, const struct elfb *b,
		     unsigned int i)
{
	const Elf64_Phdr *ph = &b->ph[i];

	return t_guest_is(t, ph->p_paddr, b->file + ph->p_offset,
			  ph->p_filesz) &&
	       t_guest_zero(t, ph->p_paddr + ph->p_filesz,
			    ph->p_memsz - ph->p_filesz);
}

void elfb_good(struct elfb *b, int class)
{
	elfb_init(b, class, 0x100040);
	elfb_load(b, 0x100000, 0x300, 0x300, 0x11);
	elfb_load(b, 0x200000, 0x180, 0x2000, 0x77);
	elfb_emit(b);
}

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

void mb_put(unsigned char *file, size_t off, uint32_t flags)
{
	put32(file + off, MB_HEADER_MAGIC);
	put32(file + off + 4, flags);
	put32(file + off + 8, -(MB_HEADER_MAGIC + flags));
}

void mb_put_aout(unsigned char *file, size_t off, uint32_t flags,
		 uint32_t header_addr, uint32_t load_addr,
		 uint32_t load_end_addr, uint32_t bss_end_addr,
		 uint32_t entry_addr)
{
	mb_put(file, off, flags);
	put32(file + off + 12, header_addr);
	put32(file + off + 16, load_addr);
	put32(file + off + 20, load_end_addr);
	put32(file + off + 24, bss_end_addr);
	put32(file + off + 28, entry_addr);
}

void aoutb_init(struct aoutb *a, size_t len, size_t hdr_off,
		uint32_t load_addr, uint32_t bss_len, uint32_t entry_off)
{
	size_t k;

	memset(a, 0, sizeof(*a));
	for (k = 0; k < len; k++)
		a->file[k] = (uint8_t)(0x40 + k);
	a->len = len;
	a->hdr_off = hdr_off;
	a->flags = MB_HF_AOUT_KLUDGE | MB_HF_MEMINFO | MB_HF_PAGE_ALIGN;
	a->header_addr = load_addr + hdr_off;
	a->load_addr = load_addr;
	a->load_end_addr = load_addr + len;
	a->bss_end_addr = bss_len ? load_addr + len + bss_len : 0;
	a->entry_addr = load_addr + entry_off;
	aoutb_emit(a);
}

void aoutb_emit(struct aoutb *a)
{
	mb_put_aout(a->file, a->hdr_off, a->flags, a->header_addr,
		    a->load_addr, a->load_end_addr, a->bss_end_addr,
		    a->entry_addr);
}

void mb_elf_build(struct elfb *b)
{
	elfb_good(b, ELFCLASS32);
	/* segment 0's data starts at ELF_DATA_OFF, within 8192 bytes */
	mb_put(b->file, ELF_DATA_OFF + 0x10, MB_HF_MEMINFO | MB_HF_PAGE_ALIGN);
}

/* One ELF note: name (with its NUL) and desc, each padded to 4 bytes. */
static size_t note_put(unsigned char *p, const char *name, uint32_t type,
		       const void *desc, uint32_t descsz)
{
	uint32_t namesz = strlen(name) + 1, h[3] = { namesz, descsz, type };
	size_t n = sizeof(h);

	memcpy(p, h, sizeof(h));
	memcpy(p + n, name, namesz);
	n += (namesz + 3) & ~3u;
	memcpy(p + n, desc, descsz);
	return n + ((descsz + 3) & ~3u);
}

void vmlinux_build(struct elfb *b, int class, const char *note_name)
{
	uint64_t hi = class == ELFCLASS32 ? 0xc1000000 : 0xffffffff81000000;
	size_t off;
	unsigned int i;

	elfb_init(b, class, VMLINUX_ENTRY);
	/* text, data with bss, and a per-CPU segment linked at 0 */
	i = elfb_load(b, VMLINUX_ENTRY, 0x300, 0x300, 0x31);
	b->ph[i].p_vaddr = hi;
	i = elfb_load(b, VMLINUX_ENTRY + 0x200000, 0x100, 0x2000, 0x52);
	b->ph[i].p_vaddr = hi + 0x200000;
	i = elfb_load(b, VMLINUX_ENTRY + 0x400000, 0x80, 0x80, 0x73);
	b->ph[i].p_vaddr = 0;
	/* the notes: Xen's first, as in Debian's kernel, then the salt */
	off = (b->data_end + 3) & ~(size_t)3;
	b->data_end = off;
	b->data_end += note_put(b->file + b->data_end, "Xen", 6, "linux", 6);
	b->data_end += note_put(b->file + b->data_end, note_name, 0x100,
				"6.1.0-57-amd64", 15);
	elfb_phdr(b, PT_NOTE, off, hi + 0x300000, VMLINUX_ENTRY + 0x300000,
		  b->data_end - off, b->data_end - off);
	elfb_emit(b);
}
