/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host memory pressure -> balloon targets (balloon/shrinker.c).
 */
#ifndef KHYP_BALLOON_SHRINKER_H
#define KHYP_BALLOON_SHRINKER_H

#include <linux/atomic.h>

struct khyp_balloon;
struct seq_file;

/* Pages the balloons have freed to the host since load. */
extern atomic_long_t khyp_balloon_freed_total;

int khyp_shrinker_add(struct khyp_balloon *b);
void khyp_shrinker_remove(struct khyp_balloon *b);
void khyp_shrinker_show(struct seq_file *m);
int khyp_shrinker_module_init(void);
void khyp_shrinker_module_exit(void);

#endif /* KHYP_BALLOON_SHRINKER_H */
