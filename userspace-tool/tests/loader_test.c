// SPDX-License-Identifier: GPL-2.0
/*
 * loader_test: the image loaders against well-formed and malformed images
 * built in memory, and the launcher's pure logic (the UART model, the
 * options of khyp run, the boot report, the boot state of each CPU mode,
 * the device registry, what the guest sees at each port, MMIO address
 * and hypercall).  One line per case, then "N passed, N failed".
 *
 *   loader_test                 run every case
 *   loader_test NAME...         run the cases whose name contains NAME
 *   loader_test --corpus DIR    write fuzzing seeds to DIR/elf and
 *                               DIR/multiboot, then exit
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test.h"

static const struct tcase *const suites[] = {
	elf_cases, elf_seg_cases, mb_cases, mb_aout_cases, flat_cases,
	uart_cases, opts_cases, boot_report_cases, boot_cases, bus_cases, exits_cases, bz_cases,
	fw_cfg_cases, pci_cases, virtq_cases, vblk_cases,
	vpci_cases, acpi_cases, acpi_pm_cases, rtc_cases, reset_cases,
	vnet_cases, vmisc_cases, vballoon_cases, mem_cases, vmlinux_cases,
	vrestart_cases,
};

static bool selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return true;
	for (i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

static int run(struct tctx *t, const struct tcase *c, int n)
{
	memset(t->gm.base, GUEST_FILL, GUEST_SIZE);
	t->gm.size = GUEST_SIZE;
	t->gm.high = 0;
	memset(&t->bi, 0, sizeof(t->bi));
	t->err[0] = 0;
	t->fail_file = NULL;
	c->fn(t);
	if (t->fail_file) {
		printf("FAIL %d %s: %s:%d: %s (err: \"%s\")\n", n, c->name,
		       t->fail_file, t->fail_line, t->fail_what, t->err);
		return 1;
	}
	if (t->err[0])
		printf("ok   %d %s: %s\n", n, c->name, t->err);
	else
		printf("ok   %d %s\n", n, c->name);
	return 0;
}

static int write_file(const char *dir, const char *name, const void *p,
		      size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		goto err;
	if (fwrite(p, 1, len, f) != len) {
		fclose(f);
		goto err;
	}
	if (fclose(f))
		goto err;
	return 0;
err:
	perror(path);
	return -1;
}

static int make_dir(const char *base, const char *sub, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", base, sub);
	if (mkdir(base, 0755) && errno != EEXIST)
		goto err;
	if (mkdir(out, 0755) && errno != EEXIST)
		goto err;
	return 0;
err:
	perror(out);
	return -1;
}

/* Small well-formed images for the fuzzers to start from. */
static int write_corpus(const char *dir)
{
	static struct elfb b;
	static struct aoutb a;
	char sub[4096];
	int ret = 0;

	if (make_dir(dir, "elf", sub, sizeof(sub)))
		return 1;
	elfb_good(&b, ELFCLASS64);
	ret |= write_file(sub, "elf64", b.file, b.len);
	elfb_good(&b, ELFCLASS32);
	ret |= write_file(sub, "elf32", b.file, b.len);
	elfb_init(&b, ELFCLASS64, 0x100000);
	elfb_phdr(&b, PT_NOTE, 0, 0, 0, 0, 0);
	elfb_load(&b, 0x100000, 0x10, 0x20, 1);
	elfb_load(&b, 0x101000, 0x10, 0x10, 2);
	elfb_emit(&b);
	ret |= write_file(sub, "elf64_three", b.file, b.len);
	vmlinux_build(&b, ELFCLASS64, "Linux");
	ret |= write_file(sub, "vmlinux", b.file, b.len);

	if (make_dir(dir, "multiboot", sub, sizeof(sub)))
		return 1;
	aoutb_init(&a, 0x100, 0x20, 0x100000, 0x100, 0x40);
	ret |= write_file(sub, "aout", a.file, a.len);
	aoutb_init(&a, 0x80, 0, 0x200000, 0, 0);
	a.load_end_addr = 0;
	aoutb_emit(&a);
	ret |= write_file(sub, "aout_whole_file", a.file, a.len);
	mb_elf_build(&b);
	ret |= write_file(sub, "elf32", b.file, b.len);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct tctx t;
	const struct tcase *c;
	int passed = 0, failed = 0, n = 0;
	size_t s;

	if (argc == 3 && !strcmp(argv[1], "--corpus"))
		return write_corpus(argv[2]);
	t.gm.base = malloc(GUEST_SIZE);
	if (!t.gm.base) {
		perror("malloc guest memory");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (s = 0; s < ARRAY_SIZE(suites); s++) {
		for (c = suites[s]; c->name; c++) {
			if (!selected(c->name, argc, argv))
				continue;
			if (run(&t, c, ++n))
				failed++;
			else
				passed++;
		}
	}
	free(t.gm.base);
	printf("%d passed, %d failed\n", passed, failed);
	return failed || !passed ? 1 : 0;
}
