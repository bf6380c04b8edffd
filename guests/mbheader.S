/* SPDX-License-Identifier: GPL-2.0 */
/* A multiboot v1 header for an ELF32 image: flags MEMINFO only. */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000002

	.section .multiboot, "a"
	.align	4
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)
