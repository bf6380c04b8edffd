// SPDX-License-Identifier: GPL-2.0
/*
 * The version `modinfo khyp` shows.  Kbuild defines KHYP_VERSION (the base
 * version and the git commit) for this file alone, so that a new commit
 * recompiles one object, not the whole module.
 */
#include <linux/module.h>

MODULE_VERSION(KHYP_VERSION);
