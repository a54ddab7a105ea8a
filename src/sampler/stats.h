/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The BPF programs' counters, PYPROF_STATS in bpf/pyprof_shared.h: what
 * each is called and where the run summary shows it.  Why a sample was
 * lost, or has no Python stack, is one of them.
 */
#ifndef PYPROF_STATS_H
#define PYPROF_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>

#include "bpf/pyprof_shared.h"

/* Counter i's name for -v ("no_tstate"), or NULL past STAT__MAX. */
const char *stats__name(unsigned i);
/* What the summary calls counter i ("no thread state"), or NULL. */
const char *stats__desc(unsigned i);
/* Where the summary shows counter i (enum stat_show, without
 * STAT_SHOW_ZERO). */
enum stat_show stats__show(unsigned i);

/* Samples of a target the BPF side took but did not count (the
 * STAT_SHOW_LOST counters of s[STAT__MAX], summed). */
uint64_t stats__lost(const uint64_t *s);

/*
 * Writes the counters of s[STAT__MAX] that the summary shows at `where`,
 * in table order, as "description N, description N": those not zero, and
 * those marked STAT_SHOW_ZERO.  lead is written first, if anything is.
 * Returns how many were written.
 */
int stats__print(FILE *f, const uint64_t *s, enum stat_show where,
		 const char *lead);

/* Every counter on a line of its own, after prefix: name, value and
 * description (-v). */
void stats__print_all(FILE *f, const uint64_t *s, const char *prefix);

#endif /* PYPROF_STATS_H */
