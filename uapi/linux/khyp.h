/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * khyp: the ioctl ABI of /dev/khyp.
 *
 * Rules every structure here follows:
 *  - only fixed-width __u8..__u64 types, no pointers, explicit padding so
 *    that the size is a multiple of 8 and the same for 32- and 64-bit users;
 *  - every "flags" field and every "reserved" field must be zero on input;
 *    the kernel answers -EINVAL otherwise, so that later versions can give
 *    them a meaning without breaking old callers;
 *  - an unknown ioctl number gives -ENOTTY.
 *
 * See docs/api.md for the full description.
 */
#ifndef _UAPI_LINUX_KHYP_H
#define _UAPI_LINUX_KHYP_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Version of this ABI, returned by KHYP_GET_API_VERSION.  It changes only
 * when an existing ioctl changes incompatibly; additions are announced by
 * capability bits instead.
 */
#define KHYP_API_VERSION	1

/* ioctl type number (see Documentation/userspace-api/ioctl/ioctl-number.rst) */
#define KHYPIO			0xB7

/* Which hardware backend the module selected at load time. */
#define KHYP_BACKEND_VMX	1	/* Intel VT-x with EPT */
#define KHYP_BACKEND_SVM	2	/* AMD-V with NPT */

/* struct khyp_caps.features: what the selected backend's CPU offers. */
#define KHYP_CAP_EPT			_BITULL(0)   /* VMX: extended page tables */
#define KHYP_CAP_NPT			_BITULL(1)   /* SVM: nested page tables */
#define KHYP_CAP_VPID			_BITULL(2)   /* VMX: tagged TLB (VPID) */
#define KHYP_CAP_UNRESTRICTED_GUEST	_BITULL(3)   /* VMX: real mode, no paging */
#define KHYP_CAP_NRIP_SAVE		_BITULL(4)   /* SVM: next RIP on exit */
#define KHYP_CAP_DECODE_ASSISTS		_BITULL(5)   /* SVM: decoded exit info */
#define KHYP_CAP_2M_PAGES		_BITULL(6)   /* 2 MiB second-level pages */
#define KHYP_CAP_1G_PAGES		_BITULL(7)   /* 1 GiB second-level pages */
#define KHYP_CAP_PREEMPTION_TIMER	_BITULL(8)   /* VMX preemption timer */
#define KHYP_CAP_FLUSH_BY_ASID		_BITULL(9)   /* SVM: TLB flush per ASID */
#define KHYP_CAP_VMCB_CLEAN		_BITULL(10) /* SVM: VMCB clean bits */
#define KHYP_CAP_EPT_AD			_BITULL(11) /* VMX: EPT accessed/dirty */
#define KHYP_CAP_ALL			(_BITULL(12) - 1)

/**
 * struct khyp_caps - argument of KHYP_GET_CAPS
 * @flags:	in: must be 0.
 * @backend:	out: KHYP_BACKEND_VMX or KHYP_BACKEND_SVM.
 * @features:	out: KHYP_CAP_* bits.
 * @nr_asids:	out: address-space tags the CPU offers (VPIDs or ASIDs,
 *		including the one the host uses); 0 if none.
 * @reserved:	in: must be 0; out: 0.
 */
struct khyp_caps {
	__u32 flags;
	__u32 backend;
	__u64 features;
	__u32 nr_asids;
	__u32 reserved0;
	__u64 reserved[5];
};

/* Guest memory: at most this many regions per VM, below this address. */
#define KHYP_MAX_MEM_REGIONS	32
#define KHYP_MAX_GPA		(_BITULL(40))	/* 1 TiB */

/* struct khyp_mem_region.flags */
#define KHYP_MEM_READONLY	_BITULL(0)	/* guest writes become MMIO exits */
#define KHYP_MEM_FLAGS_ALL	(KHYP_MEM_READONLY)

/**
 * struct khyp_mem_region - argument of KHYP_SET_MEM_REGION
 * @slot:	0 .. KHYP_MAX_MEM_REGIONS - 1.
 * @flags:	KHYP_MEM_* bits.
 * @guest_phys_addr: first guest-physical byte, page aligned.
 * @size:	bytes, page aligned; 0 deletes the slot.
 * @reserved:	must be 0.
 *
 * The memory belongs to the module: pages are allocated (zeroed, charged
 * to the memory cgroup of the task that touches them first) when the guest
 * or userspace first touches them, and freed when the slot or the VM goes.
 * Userspace sees it by mmap(MAP_SHARED) of the VM fd at offset
 * guest_phys_addr.
 */
struct khyp_mem_region {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 size;
	__u64 reserved[4];
};

/* On /dev/khyp. */
#define KHYP_GET_API_VERSION	_IO(KHYPIO, 0x00)
#define KHYP_GET_CAPS		_IOWR(KHYPIO, 0x01, struct khyp_caps)
#define KHYP_CREATE_VM		_IO(KHYPIO, 0x02)	/* arg: 0; returns a VM fd */

/* On a VM fd. */
#define KHYP_SET_MEM_REGION	_IOW(KHYPIO, 0x10, struct khyp_mem_region)

#endif /* _UAPI_LINUX_KHYP_H */
