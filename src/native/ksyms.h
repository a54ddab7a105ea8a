/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Kernel symbols from /proc/kallsyms: a sorted table, binary search. */
#ifndef PYPROF_KSYMS_H
#define PYPROF_KSYMS_H

#include <stdint.h>
#include <stdio.h>

struct ksyms;

/*
 * Reads a kallsyms file (address, type, name, optional [module] per line).
 * Only text symbols are kept.  NULL with errno set; EPERM when every
 * address reads as 0 (kernel.kptr_restrict hides them).
 */
struct ksyms *ksyms__load(FILE *f);
/* The same, from /proc/kallsyms. */
struct ksyms *ksyms__load_proc(void);
void ksyms__free(struct ksyms *ks);

/* The symbol that holds addr (the last one at or below it), or NULL; *off
 * is addr's offset in it. */
const char *ksyms__find(const struct ksyms *ks, uint64_t addr, uint64_t *off);

/* Symbols loaded. */
size_t ksyms__count(const struct ksyms *ks);

#endif /* PYPROF_KSYMS_H */
