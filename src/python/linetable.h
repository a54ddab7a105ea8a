/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Line numbers from a code object's line table, for each format CPython has
 * used: co_lnotab (3.8, 3.9), the 3.10 co_linetable, and the 3.11+ location
 * table.  Pure functions over bytes copied out of the target: every length is
 * checked, every loop ends at the end of the table.
 */
#ifndef PYPROF_LINETABLE_H
#define PYPROF_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

#include "python/layout.h"

/*
 * The source line of the instruction at byte offset addr (what
 * PyCode_Addr2Line(code, addr) returns in the target's version): firstlineno
 * if addr < 0 (the frame has not started), -1 if the instruction has no line
 * or addr lies past the end of the table (co_lnotab does not record where
 * the code ends: past its last entry, 3.8 and 3.9 give the last line).
 */
int linetable__addr2line(enum py_linetable_kind kind, const uint8_t *tab,
			 size_t len, int firstlineno, int addr);

#endif /* PYPROF_LINETABLE_H */
