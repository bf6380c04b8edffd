/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/string.h>: memset, memcpy. */
#ifndef KHYP_TEST_SHIM_LINUX_STRING_H
#define KHYP_TEST_SHIM_LINUX_STRING_H

#include <string.h>

#endif
