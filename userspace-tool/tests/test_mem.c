// SPDX-License-Identifier: GPL-2.0
/*
 * The machine's guest-physical map (boot/loader.h): how -m splits around
 * the PCI hole, which guest addresses reach RAM, and what each guest
 * kind is told of it (the bzImage's e820 map, the multiboot memory map,
 * the CMOS memory sizes); that no RAM lies under the ECAM or the BAR
 * window for any -m; and the largest -m the options take.
 */
#include <string.h>
#include <sys/mman.h>

#include "test.h"
#include "../khyp.h"

#define GiB		(1ULL << 30)
#define MiB		(1ULL << 20)

static void mem_split_q35(struct tctx *t)
{
	static const uint64_t want[][3] = {	/* -m, low, high */
		{ 64 * MiB, 64 * MiB, 0 },
		{ 0xb0000000 - 0x1000, 0xb0000000 - 0x1000, 0 },
		{ 0xb0000000, 2 * GiB, 0x30000000 },	/* 2816 MiB: q35's */
		{ 3 * GiB, 2 * GiB, 1 * GiB },
		{ 4 * GiB, 2 * GiB, 2 * GiB },
		{ 64 * GiB, 2 * GiB, 62 * GiB },
	};
	uint64_t low, high;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		mem_split(want[i][0], &low, &high);
		CHECK(t, low == want[i][1] && high == want[i][2]);
		/* RAM below the hole never reaches the ECAM or a BAR */
		CHECK(t, low <= MEM_ECAM_START && low <= PCI_MEM_START);
		CHECK(t, MEM_ECAM_START + MEM_ECAM_SIZE <= PCI_MEM_START);
		CHECK(t, PCI_MEM_END <= MEM_HIGH_START);
	}
}

/* A made-up guest of 4 GiB: 2 below the hole, 2 from 4 GiB. */
static void mem_guest_ptr(struct tctx *t)
{
	struct guest_mem gm = { (unsigned char *)0x10000000000ULL, 2 * GiB,
				2 * GiB };
	struct guest_mem small = { (unsigned char *)0x10000000000ULL,
				   64 * MiB, 0 };

	CHECK(t, guest_mem__ptr(&gm, 0, 16) == gm.base);
	CHECK(t, guest_mem__ptr(&gm, 2 * GiB - 16, 16) ==
		 gm.base + 2 * GiB - 16);
	CHECK(t, guest_mem__ptr(&gm, 2 * GiB, 0) == gm.base + 2 * GiB);
	/* into, across and inside the hole */
	CHECK(t, !guest_mem__ptr(&gm, 2 * GiB - 16, 17));
	CHECK(t, !guest_mem__ptr(&gm, 2 * GiB, 1));
	CHECK(t, !guest_mem__ptr(&gm, MEM_ECAM_START, 4));
	CHECK(t, !guest_mem__ptr(&gm, PCI_MEM_START, 4));
	CHECK(t, !guest_mem__ptr(&gm, MEM_HIGH_START - 4, 8));
	/* above 4 GiB: to its end, not past it, no wrap */
	CHECK(t, guest_mem__ptr(&gm, MEM_HIGH_START, 4096) ==
		 gm.base + MEM_HIGH_START);
	CHECK(t, guest_mem__ptr(&gm, 6 * GiB - 8, 8) == gm.base + 6 * GiB - 8);
	CHECK(t, !guest_mem__ptr(&gm, 6 * GiB - 8, 9));
	CHECK(t, !guest_mem__ptr(&gm, 6 * GiB, 1));
	CHECK(t, !guest_mem__ptr(&gm, ~0ULL - 3, 8));
	CHECK(t, !guest_mem__ptr(&gm, MEM_HIGH_START, ~0ULL));
	/* no RAM above 4 GiB: nothing there */
	CHECK(t, !guest_mem__ptr(&small, MEM_HIGH_START, 1));
	CHECK(t, !guest_mem__ptr(&small, 64 * MiB - 4, 8));
}

/*
 * Guest RAM below the hole of @low bytes, in address space reserved
 * (never touched but for what a loader writes): the loaders see a
 * machine of that size.  NULL if it cannot be had.
 */
static unsigned char *big_low(uint64_t low)
{
	void *p = mmap(NULL, low, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static uint64_t get(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, p, n);
	return v;
}

/* Entry i of the zero page's e820 map is [addr, addr + len) of type. */
static bool e820_is(const struct guest_mem *gm, int i, uint64_t addr,
		    uint64_t len, uint32_t type)
{
	const unsigned char *e = gm->base + LINUX_ZERO_PAGE + 0x2d0 + 20 * i;

	return get(e, 8) == addr && get(e + 8, 8) == len &&
	       get(e + 16, 4) == type;
}

/* A relocatable 2.15 bzImage, enough for load_bzimage (test_bz.c's). */
static void bz_make(unsigned char *bz, size_t len)
{
	memset(bz, 0, len);
	bz[0x1f1] = 4;
	bz[0x1fe] = 0x55;
	bz[0x1ff] = 0xaa;
	bz[0x200] = 0xeb;
	bz[0x201] = 0x6a;
	memcpy(bz + 0x202, "HdrS", 4);
	bz[0x206] = 0x0f;
	bz[0x207] = 0x02;
	bz[0x211] = 0x01;
	memcpy(bz + 0x22c, &(uint32_t){ 0x7fffffff }, 4);
	memcpy(bz + 0x230, &(uint32_t){ 0x200000 }, 4);
	bz[0x234] = 1;
	bz[0x236] = 1;
	memcpy(bz + 0x238, &(uint32_t){ 2047 }, 4);
	memcpy(bz + 0x258, &(uint64_t){ 0x1000000 }, 8);
	memcpy(bz + 0x260, &(uint32_t){ 0x800000 }, 4);
}

/* The e820 map of -m @ram with an initrd: RAM on both sides of the hole. */
static void e820_for(struct tctx *t, uint64_t ram)
{
	static unsigned char bz[0x3a00], initrd[0x2000];
	struct linux_args la = { "", initrd, sizeof(initrd) };
	struct guest_mem gm;
	uint64_t low, high;
	unsigned int n;

	mem_split(ram, &low, &high);
	gm.base = big_low(low);
	gm.size = low;
	gm.high = high;
	CHECK(t, gm.base);
	bz_make(bz, sizeof(bz));
	if (load_bzimage(&gm, bz, sizeof(bz), &la, &t->bi, t->err,
			 sizeof(t->err))) {
		munmap(gm.base, low);
		CHECK(t, !"load_bzimage");
	}
	n = gm.base[LINUX_ZERO_PAGE + 0x1e8];
	CHECK(t, n == (high ? 6u : 5u));
	CHECK(t, e820_is(&gm, 0, 0, 0x9fc00, 1));
	CHECK(t, e820_is(&gm, 1, 0x9fc00, 0x400, 2));
	CHECK(t, e820_is(&gm, 2, 0xe0000, 0x20000, 2));
	CHECK(t, e820_is(&gm, 3, 0x100000, low - 0x100000, 1));
	CHECK(t, e820_is(&gm, 4, 0xb0000000, 0x10000000, 2));
	if (high)
		CHECK(t, e820_is(&gm, 5, 0x100000000ULL, high, 1));
	/* the initrd at the top of the RAM below the hole (and 2 GiB) */
	CHECK(t, get(gm.base + LINUX_ZERO_PAGE + 0x218, 4) ==
		 ((low < 0x80000000 ? low : 0x80000000) - sizeof(initrd)));
	munmap(gm.base, low);
}

static void mem_e820_4g(struct tctx *t)
{
	e820_for(t, 4 * GiB);
}

/* linux_boot_test's later boots: 2 GiB below the hole, 3 from 4 GiB */
static void mem_e820_5g(struct tctx *t)
{
	e820_for(t, 5 * GiB);
}

static void mem_e820_below_hole(struct tctx *t)
{
	e820_for(t, 0xb0000000 - 0x1000);	/* the most without a split */
}

static void mem_e820_q35_split(struct tctx *t)
{
	e820_for(t, 0xb0000000);
}

/* The multiboot memory map names the RAM above 4 GiB too. */
static void mem_multiboot_mmap(struct tctx *t)
{
	struct mb_mmap_entry map[MB_MMAP_MAX_ENTRIES];
	struct mb_info mbi;
	struct elfb b;

	mb_elf_build(&b);
	t->gm.high = 2 * GiB;
	EXPECT_OK(t, t_load_mb(t, b.file, b.len, NULL));
	memcpy(&mbi, t->gm.base + MB_INFO_ADDR, sizeof(mbi));
	memcpy(map, t->gm.base + MB_MMAP_ADDR, sizeof(map));
	CHECK(t, mbi.mmap_length == 4 * sizeof(map[0]));
	/* mem_upper: up to the first hole */
	CHECK(t, mbi.mem_upper == (GUEST_SIZE - HIGH_MEM_START) >> 10);
	CHECK(t, map[2].addr == HIGH_MEM_START &&
		 map[2].len == GUEST_SIZE - HIGH_MEM_START);
	CHECK(t, map[3].size == 20 && map[3].addr == MEM_HIGH_START &&
		 map[3].len == 2 * GiB && map[3].type == MB_MMAP_AVAILABLE);
}

/* What the CMOS says for -m 4G: 2 GiB below 4 GiB, 2 GiB above. */
static void mem_cmos_sizes(struct tctx *t)
{
	static struct machine m;
	static struct run_opts o;
	uint8_t *ram = m.rtc.ram;

	memset(&m, 0, sizeof(m));
	o.mem_size = 4 * GiB;
	o.cpus = 1;
	m.opts = &o;
	bus__init(&m.ports, "port", 0x10000);
	EXPECT_OK(t, rtc__dev_init(&m, t->err, sizeof(t->err)));
	bus__exit(&m.ports);
	/* (2 GiB - 16 MiB) in 64 KiB; 2 GiB in 64 KiB */
	CHECK(t, ram[0x34] == 0x00 && ram[0x35] == 0x7f);
	CHECK(t, ram[0x5b] == 0x00 && ram[0x5c] == 0x80 && ram[0x5d] == 0x00);
}

static void mem_option_limit(struct tctx *t)
{
	char *argv[] = { "run", "-m", NULL, "img", NULL };
	struct run_opts o;

	argv[2] = "1022G";	/* 2 GiB below, the rest from 4 GiB to 1 TiB */
	CHECK(t, !opts__parse(&o, 4, argv, t->err, sizeof(t->err)));
	CHECK(t, o.mem_size == 1022 * GiB);
	argv[2] = "1023G";
	CHECK(t, opts__parse(&o, 4, argv, t->err, sizeof(t->err)) == -1);
	CHECK(t, t_err_has(t, "PCI hole"));
	t->err[0] = 0;
}

const struct tcase mem_cases[] = {
	{ "mem_split_q35", mem_split_q35 },
	{ "mem_guest_ptr", mem_guest_ptr },
	{ "mem_e820_4g", mem_e820_4g },
	{ "mem_e820_5g", mem_e820_5g },
	{ "mem_e820_below_hole", mem_e820_below_hole },
	{ "mem_e820_q35_split", mem_e820_q35_split },
	{ "mem_multiboot_mmap", mem_multiboot_mmap },
	{ "mem_cmos_sizes", mem_cmos_sizes },
	{ "mem_option_limit", mem_option_limit },
	{ NULL, NULL },
};
