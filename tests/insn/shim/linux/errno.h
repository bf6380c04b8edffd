/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for <linux/errno.h>: the kernel's uapi errno values
 * (EINVAL, ENODATA), which glibc's <errno.h> also reaches through here.
 */
#ifndef KHYP_TEST_SHIM_LINUX_ERRNO_H
#define KHYP_TEST_SHIM_LINUX_ERRNO_H

#include_next <linux/errno.h>

#endif
