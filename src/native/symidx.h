/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Naming a new address without a pass over the file: one module file's
 * symbols sorted by address, and per compilation unit the ranges of its
 * inlined functions flattened into sorted segments, each built once, on
 * the first address that needs it, and shared by every process mapping
 * the file (like its CFI rows, cfi.c).  libdwfl's dwfl_module_addrinfo
 * scans every symbol on each call and libdw's dwarf_getscopes walks the
 * unit's DIE tree on each call: about 0.7 ms an address in libpython.
 * Addresses are the file's own (a pc minus the module's load bias), names
 * are copied: a process's libdwfl session may end before the index does.
 */
#ifndef PYPROF_SYMIDX_H
#define PYPROF_SYMIDX_H

#include <stdbool.h>
#include <stdint.h>

#include <elfutils/libdwfl.h>

struct sym_index;

struct sym_index *symidx__new(void);
void symidx__free(struct sym_index *x);

/* What symidx__func found. */
enum symidx_found {
	SYMIDX_NAME, /* *name is the symbol libdwfl would name */
	SYMIDX_NONE, /* no symbol covers it, libdwfl would say so too */
	SYMIDX_ASK, /* not decided here (a label without a size nearby,
		       overlapping symbols): ask dwfl_module_addrinfo */
};

/*
 * The symbol of mod (loaded with main bias bias) covering rel, chosen
 * as libdwfl chooses (global before local, the nearest start, then the
 * strongest binding, then the first).  The table is built from mod's
 * symbols on the first call.
 */
enum symidx_found symidx__func(struct sym_index *x, Dwfl_Module *mod,
			       uint64_t bias, uint64_t rel, const char **name);

/*
 * The functions inlined at dwarf address pc of unit cu (from
 * dwfl_module_addrdie), innermost first, up to max of them into names:
 * the count, or -errno.  The unit's ranges are read on its first address.
 * Subprograms named skip (the eval loop, whose frames are replaced by
 * Python's) are not indexed.
 */
int symidx__inlines(struct sym_index *x, Dwarf_Die *cu, uint64_t pc,
		    const char **names, int max, bool (*skip)(const char *));

/* Index sizes, for -v and tests: symbols, units, inline segments. */
void symidx__counts(const struct sym_index *x, uint64_t *syms, uint64_t *units,
		    uint64_t *segs);

#endif /* PYPROF_SYMIDX_H */
