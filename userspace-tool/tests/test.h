/* SPDX-License-Identifier: GPL-2.0 */
/* Test harness and image builders of loader_test. */
#ifndef KHYP_LOADER_TEST_H
#define KHYP_LOADER_TEST_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../boot/loader.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define GUEST_SIZE	(64ull << 20)
#define GUEST_FILL	0xaa		/* guest RAM before each case */
#define IMG_MAX		0x10000
#define ELF_DATA_OFF	0x1000		/* segment data starts here */
#define ELF_MAX_PH	80

struct tctx {
	struct guest_mem gm;
	struct boot_info bi;
	char err[256];
	const char *fail_file;
	int fail_line;
	char fail_what[256];
};

/* Records the first failed check and returns from the case. */
#define CHECK(t, cond) do {						\
	if (!(cond)) {							\
		t_fail(t, __FILE__, __LINE__, "%s", #cond);		\
		return;							\
	}								\
} while (0)

/* A load that must fail with errnum, err containing msg, guest untouched. */
#define EXPECT_FAIL(t, ret, errnum, msg) do {				\
	int __r = (ret);						\
	if (__r != (errnum)) {						\
		t_fail(t, __FILE__, __LINE__, "returned %d, want %d",	\
		       __r, (errnum));					\
		return;							\
	}								\
	CHECK(t, t_err_has(t, msg));					\
	CHECK(t, t_guest_untouched(t));					\
} while (0)

#define EXPECT_OK(t, ret) do {						\
	int __r = (ret);						\
	if (__r) {							\
		t_fail(t, __FILE__, __LINE__, "returned %d", __r);	\
		return;							\
	}								\
} while (0)

void t_fail(struct tctx *t, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool t_err_has(const struct tctx *t, const char *msg);
bool t_guest_untouched(const struct tctx *t);
bool t_guest_is(const struct tctx *t, uint64_t addr, const void *p,
		size_t len);
bool t_guest_zero(const struct tctx *t, uint64_t addr, uint64_t len);
bool t_guest_filled(const struct tctx *t, uint64_t addr, uint64_t len);
/* The little-endian value of n bytes at p + off. */
uint64_t t_get(const unsigned char *p, size_t off, size_t n);
/* Entry i of the e820 table in the Linux zero page (LINUX_ZERO_PAGE). */
bool t_zp_e820_is(const struct tctx *t, int i, uint64_t addr, uint64_t len,
		  uint32_t type);

/* Loads through an exactly-sized heap copy, so ASan sees over-reads. */
int t_load_elf(struct tctx *t, const void *img, size_t len);
int t_load_mb(struct tctx *t, const void *img, size_t len,
	      const char *cmdline);
int t_load_flat(struct tctx *t, const void *img, size_t len,
		uint64_t load_addr, uint64_t entry);
int t_detect(const void *img, size_t len);

/*
 * ELF builder: headers kept as an Elf64 struct whatever the class, written
 * out by elfb_emit in the layout of b->class.  Program headers follow the
 * ELF header; segment data starts at ELF_DATA_OFF, each byte k of a segment
 * being fill + k.  Tests edit eh/ph after adding and call elfb_emit again.
 */
struct elfb {
	int class;
	Elf64_Ehdr eh;
	Elf64_Phdr ph[ELF_MAX_PH];
	unsigned int nph;
	size_t data_end;
	unsigned char file[IMG_MAX];
	size_t len;
};

void elfb_init(struct elfb *b, int class, uint64_t entry);
/* Adds a PT_LOAD at paddr == vaddr; returns its index. */
unsigned int elfb_load(struct elfb *b, uint64_t addr, uint64_t filesz,
		       uint64_t memsz, uint8_t fill);
unsigned int elfb_phdr(struct elfb *b, uint32_t type, uint64_t offset,
		       uint64_t vaddr, uint64_t paddr, uint64_t filesz,
		       uint64_t memsz);
void elfb_emit(struct elfb *b);
/* Guest memory holds program header i as loaded (data, then zeroes). */
bool elfb_seg_loaded(const struct tctx *t, const struct elfb *b,
		     unsigned int i);
/* A good two-segment image: text at 0x100000, data+bss at 0x200000. */
void elfb_good(struct elfb *b, int class);

/*
 * A made-up vmlinux of @class: entry VMLINUX_ENTRY (physical, as a
 * vmlinux links it), PT_LOAD 0: text at VMLINUX_ENTRY (vaddr high), 1:
 * data and bss 2 MiB above, 2: a per-CPU segment linked at vaddr 0,
 * 4 MiB above; PT_NOTE 3: a "Xen" note, then the build salt's note,
 * named @note_name ("Linux" for a kernel).
 */
#define VMLINUX_ENTRY	0x1000000ULL
void vmlinux_build(struct elfb *b, int class, const char *note_name);

/* Multiboot headers. */
void mb_put(unsigned char *file, size_t off, uint32_t flags);
void mb_put_aout(unsigned char *file, size_t off, uint32_t flags,
		 uint32_t header_addr, uint32_t load_addr,
		 uint32_t load_end_addr, uint32_t bss_end_addr,
		 uint32_t entry_addr);

/*
 * An a.out-kludge image of len bytes (fill pattern 0x40 + k) with the
 * header at hdr_off, loaded at load_addr with bss_len bytes of bss and the
 * entry entry_off bytes in.
 */
struct aoutb {
	unsigned char file[IMG_MAX];
	size_t len;
	size_t hdr_off;
	uint32_t flags;
	uint32_t header_addr;
	uint32_t load_addr;
	uint32_t load_end_addr;
	uint32_t bss_end_addr;
	uint32_t entry_addr;
};

void aoutb_init(struct aoutb *a, size_t len, size_t hdr_off,
		uint32_t load_addr, uint32_t bss_len, uint32_t entry_off);
void aoutb_emit(struct aoutb *a);

/* A good ELF32 multiboot kernel: elfb_good with a header in segment 0. */
void mb_elf_build(struct elfb *b);

/* Cases, by file. */
struct tcase {
	const char *name;
	void (*fn)(struct tctx *t);
};

extern const struct tcase elf_cases[];
extern const struct tcase elf_seg_cases[];
extern const struct tcase mb_cases[];
extern const struct tcase mb_aout_cases[];
extern const struct tcase flat_cases[];
/* the launcher's pure logic */
extern const struct tcase uart_cases[];
extern const struct tcase opts_cases[];
extern const struct tcase boot_report_cases[];
extern const struct tcase boot_cases[];
extern const struct tcase bus_cases[];
extern const struct tcase exits_cases[];
extern const struct tcase bz_cases[];
extern const struct tcase vmlinux_cases[];
extern const struct tcase fw_cfg_cases[];
extern const struct tcase pci_cases[];
extern const struct tcase virtq_cases[];
extern const struct tcase vblk_cases[];
extern const struct tcase vpci_cases[];
extern const struct tcase acpi_cases[];
extern const struct tcase acpi_pm_cases[];
extern const struct tcase rtc_cases[];
extern const struct tcase reset_cases[];
extern const struct tcase vnet_cases[];
extern const struct tcase vmisc_cases[];
extern const struct tcase vballoon_cases[];
extern const struct tcase mem_cases[];
extern const struct tcase vrestart_cases[];

#endif /* KHYP_LOADER_TEST_H */
