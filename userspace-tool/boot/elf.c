// SPDX-License-Identifier: GPL-2.0
/*
 * ELF32 and ELF64 executables.  Headers are copied out of the image with
 * memcpy (the image need not be aligned) into class-neutral structs, every
 * program header is checked, and only then is anything written.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader_priv.h"

struct ehdr {
	int class;
	uint16_t type;
	uint16_t machine;
	uint32_t version;
	uint64_t entry;
	uint64_t phoff;
	uint16_t phentsize;
	uint16_t phnum;
};

/* A PT_LOAD segment; idx is its program header index. */
struct seg {
	unsigned int idx;
	uint64_t offset;
	uint64_t vaddr;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
};

struct elf_ctx {
	struct guest_mem *gm;
	const unsigned char *img;
	size_t len;
	const struct elf_opts *opts;
	struct ehdr eh;
	struct seg seg[LOADER_MAX_SEGMENTS];
	unsigned int nseg;
	char *err;
	size_t errlen;
};

#define FAIL(c, errnum, ...) \
	loader_fail((c)->err, (c)->errlen, errnum, __VA_ARGS__)

static int read_ident(struct elf_ctx *c)
{
	const unsigned char *p = c->img;
	size_t n = c->len < SELFMAG ? c->len : SELFMAG;

	if (memcmp(p, ELFMAG, n))
		return FAIL(c, -ENOEXEC, "not an ELF image (bad magic)");
	if (c->len < EI_NIDENT)
		return FAIL(c, -EINVAL, "truncated ELF header (%zu of %d bytes)",
			    c->len, EI_NIDENT);
	if (p[EI_CLASS] != ELFCLASS32 && p[EI_CLASS] != ELFCLASS64)
		return FAIL(c, -ENOEXEC, "unsupported ELF class %u", p[EI_CLASS]);
	if (p[EI_DATA] != ELFDATA2LSB)
		return FAIL(c, -ENOEXEC, "ELF image is not little-endian (EI_DATA %u)",
			    p[EI_DATA]);
	if (p[EI_VERSION] != EV_CURRENT)
		return FAIL(c, -ENOEXEC, "unsupported ELF version %u", p[EI_VERSION]);
	c->eh.class = p[EI_CLASS];
	return 0;
}

static int read_ehdr(struct elf_ctx *c)
{
	struct ehdr *eh = &c->eh;
	Elf32_Ehdr e32;
	Elf64_Ehdr e64;
	size_t need;
	int ret;

	ret = read_ident(c);
	if (ret)
		return ret;
	need = eh->class == ELFCLASS32 ? sizeof(e32) : sizeof(e64);
	if (c->len < need)
		return FAIL(c, -EINVAL, "truncated ELF header (%zu of %zu bytes)",
			    c->len, need);
	if (eh->class == ELFCLASS32) {
		memcpy(&e32, c->img, sizeof(e32));
		eh->type = e32.e_type;
		eh->machine = e32.e_machine;
		eh->version = e32.e_version;
		eh->entry = e32.e_entry;
		eh->phoff = e32.e_phoff;
		eh->phentsize = e32.e_phentsize;
		eh->phnum = e32.e_phnum;
	} else {
		memcpy(&e64, c->img, sizeof(e64));
		eh->type = e64.e_type;
		eh->machine = e64.e_machine;
		eh->version = e64.e_version;
		eh->entry = e64.e_entry;
		eh->phoff = e64.e_phoff;
		eh->phentsize = e64.e_phentsize;
		eh->phnum = e64.e_phnum;
	}
	return 0;
}

static int check_ehdr(struct elf_ctx *c)
{
	const struct ehdr *eh = &c->eh;
	int want = c->opts->want_class;
	uint16_t machine = eh->class == ELFCLASS32 ? EM_386 : EM_X86_64;
	size_t phsize = eh->class == ELFCLASS32 ? sizeof(Elf32_Phdr) :
						  sizeof(Elf64_Phdr);
	uint64_t table;

	if (want && eh->class != want)
		return FAIL(c, -ENOEXEC, "expected an ELF%d image, this is ELF%d",
			    want == ELFCLASS32 ? 32 : 64,
			    eh->class == ELFCLASS32 ? 32 : 64);
	if (eh->version != EV_CURRENT)
		return FAIL(c, -ENOEXEC, "unsupported ELF version %" PRIu32,
			    eh->version);
	if (eh->type != ET_EXEC)
		return FAIL(c, -ENOEXEC, "not an executable ELF (e_type %u)",
			    eh->type);
	if (eh->machine != machine)
		return FAIL(c, -ENOEXEC, "wrong machine %u for ELF%d (want %s)",
			    eh->machine, eh->class == ELFCLASS32 ? 32 : 64,
			    machine == EM_386 ? "EM_386" : "EM_X86_64");
	if (eh->phentsize != phsize)
		return FAIL(c, -EINVAL, "bad e_phentsize %u (want %zu)",
			    eh->phentsize, phsize);
	if (eh->phnum == 0)
		return FAIL(c, -EINVAL, "no program headers");
	if (eh->phnum == PN_XNUM)
		return FAIL(c, -EINVAL, "extended program header numbering (e_phnum 0x%x) is not supported",
			    PN_XNUM);
	table = (uint64_t)eh->phnum * eh->phentsize;
	if (range_wraps(eh->phoff, table, c->len))
		return FAIL(c, -EINVAL, "program headers (%u x %u bytes at offset 0x%" PRIx64 ") extend beyond the end of the file (0x%zx bytes)",
			    eh->phnum, eh->phentsize, eh->phoff, c->len);
	return 0;
}

static void read_phdr(const struct elf_ctx *c, unsigned int i,
		      uint32_t *type, struct seg *s)
{
	const unsigned char *p = c->img + c->eh.phoff +
				 (uint64_t)i * c->eh.phentsize;
	Elf32_Phdr p32;
	Elf64_Phdr p64;

	s->idx = i;
	if (c->eh.class == ELFCLASS32) {
		memcpy(&p32, p, sizeof(p32));
		*type = p32.p_type;
		s->offset = p32.p_offset;
		s->vaddr = p32.p_vaddr;
		s->paddr = p32.p_paddr;
		s->filesz = p32.p_filesz;
		s->memsz = p32.p_memsz;
	} else {
		memcpy(&p64, p, sizeof(p64));
		*type = p64.p_type;
		s->offset = p64.p_offset;
		s->vaddr = p64.p_vaddr;
		s->paddr = p64.p_paddr;
		s->filesz = p64.p_filesz;
		s->memsz = p64.p_memsz;
	}
}

static int check_seg(struct elf_ctx *c, const struct seg *s)
{
	uint64_t limit = c->eh.class == ELFCLASS32 ? 1ull << 32 : 0;
	const char *space = limit ? "the 32-bit address space" : "around";
	char what[32];

	if (s->filesz > s->memsz)
		return FAIL(c, -EINVAL,
			    "segment %u: p_filesz 0x%" PRIx64 " exceeds p_memsz 0x%" PRIx64,
			    s->idx, s->filesz, s->memsz);
	if (range_wraps(s->offset, s->filesz, 0))
		return FAIL(c, -EINVAL, "segment %u: p_offset 0x%" PRIx64 " + p_filesz 0x%" PRIx64 " wraps around",
			    s->idx, s->offset, s->filesz);
	if (s->offset + s->filesz > c->len)
		return FAIL(c, -EINVAL, "segment %u: file range [0x%" PRIx64 "-0x%" PRIx64 ") extends beyond the end of the file (0x%zx bytes)",
			    s->idx, s->offset, s->offset + s->filesz, c->len);
	if (range_wraps(s->paddr, s->memsz, limit))
		return FAIL(c, -EINVAL, "segment %u: p_paddr 0x%" PRIx64 " + p_memsz 0x%" PRIx64 " wraps %s",
			    s->idx, s->paddr, s->memsz, space);
	if (range_wraps(s->vaddr, s->memsz, limit))
		return FAIL(c, -EINVAL, "segment %u: p_vaddr 0x%" PRIx64 " + p_memsz 0x%" PRIx64 " wraps %s",
			    s->idx, s->vaddr, s->memsz, space);
	if (!s->memsz)
		return 0;
	snprintf(what, sizeof(what), "segment %u", s->idx);
	return check_place(c->gm, what, s->paddr, s->memsz, c->opts->rsv,
			   c->opts->nrsv, c->err, c->errlen);
}

static int collect_segs(struct elf_ctx *c)
{
	unsigned int i;
	uint32_t type;
	struct seg s;
	int ret;

	for (i = 0; i < c->eh.phnum; i++) {
		read_phdr(c, i, &type, &s);
		if (type == PT_INTERP)
			return FAIL(c, -ENOEXEC, "dynamically linked (PT_INTERP in program header %u); only static images can be loaded",
				    i);
		if (type != PT_LOAD)
			continue;
		ret = check_seg(c, &s);
		if (ret)
			return ret;
		if (!s.memsz)
			continue;
		if (c->nseg == LOADER_MAX_SEGMENTS)
			return FAIL(c, -E2BIG, "more than %d PT_LOAD segments",
				    LOADER_MAX_SEGMENTS);
		c->seg[c->nseg++] = s;
	}
	if (!c->nseg)
		return FAIL(c, -EINVAL, "no PT_LOAD segment with contents");
	return 0;
}

static int check_overlaps(struct elf_ctx *c)
{
	const struct seg *a, *b;
	unsigned int i, j;

	for (i = 0; i < c->nseg; i++) {
		for (j = i + 1; j < c->nseg; j++) {
			a = &c->seg[i];
			b = &c->seg[j];
			if (ranges_overlap(a->paddr, a->paddr + a->memsz,
					   b->paddr, b->paddr + b->memsz))
				return FAIL(c, -EINVAL,
					    "overlapping segments %u and %u: [0x%" PRIx64 "-0x%" PRIx64 ") and [0x%" PRIx64 "-0x%" PRIx64 ")",
					    a->idx, b->idx, a->paddr,
					    a->paddr + a->memsz, b->paddr,
					    b->paddr + b->memsz);
		}
	}
	return 0;
}

/*
 * e_entry is virtual: find its segment and translate it to physical.
 * With opts->phys_entry it is physical already (Linux's vmlinux): it
 * must lie in a segment's physical range.
 */
static int find_entry(struct elf_ctx *c, uint64_t *entry)
{
	bool phys = c->opts->phys_entry;
	uint64_t e = c->eh.entry;
	unsigned int i;

	for (i = 0; i < c->nseg; i++) {
		const struct seg *s = &c->seg[i];
		uint64_t base = phys ? s->paddr : s->vaddr;

		if (e >= base && e - base < s->memsz) {
			*entry = s->paddr + (e - base);
			return 0;
		}
	}
	return FAIL(c, -EINVAL, "entry point 0x%" PRIx64 " is not inside any PT_LOAD segment%s",
		    e, phys ? "'s physical range" : "");
}

/* Where the segments go; with write, they go there. */
static void copy_segs(struct elf_ctx *c, struct boot_info *bi, bool write)
{
	unsigned char *base = c->gm->base;
	unsigned int i;

	bi->load_start = UINT64_MAX;
	bi->load_end = 0;
	for (i = 0; i < c->nseg; i++) {
		const struct seg *s = &c->seg[i];

		if (write) {
			memcpy(base + s->paddr, c->img + s->offset, s->filesz);
			memset(base + s->paddr + s->filesz, 0,
			       s->memsz - s->filesz);
		}
		if (s->paddr < bi->load_start)
			bi->load_start = s->paddr;
		if (s->paddr + s->memsz > bi->load_end)
			bi->load_end = s->paddr + s->memsz;
	}
}

int elf_load(struct guest_mem *gm, const void *img, size_t len,
	     const struct elf_opts *opts, struct boot_info *bi,
	     char *err, size_t errlen)
{
	static const struct elf_opts none;
	struct elf_ctx *c;
	uint64_t entry;
	int ret;

	ret = loader_begin(gm, img, len, bi, err, errlen);
	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c)
		return loader_fail(err, errlen, -ENOMEM, "out of memory");
	c->gm = gm;
	c->img = img;
	c->len = len;
	c->opts = opts ? opts : &none;
	c->err = err;
	c->errlen = errlen;

	ret = read_ehdr(c);
	if (ret)
		goto out;
	ret = check_ehdr(c);
	if (ret)
		goto out;
	ret = collect_segs(c);
	if (ret)
		goto out;
	ret = check_overlaps(c);
	if (ret)
		goto out;
	ret = find_entry(c, &entry);
	if (ret)
		goto out;

	copy_segs(c, bi, !c->opts->dry_run);
	bi->format = c->eh.class == ELFCLASS32 ? IMAGE_ELF32 : IMAGE_ELF64;
	bi->mode = c->eh.class == ELFCLASS32 ? MODE_PROT32 : MODE_LONG64;
	bi->entry = entry;
	set_stack(bi, gm);
out:
	free(c);
	return ret;
}

int load_elf(struct guest_mem *gm, const void *img, size_t len,
	     struct boot_info *bi, char *err, size_t errlen)
{
	return elf_load(gm, img, len, NULL, bi, err, errlen);
}
