/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Where the eval loop's code is when its symbol covers only part of it.
 *
 * GCC's hot/cold partitioning (-freorder-blocks-and-partition, on with
 * profile feedback) moves blocks of a function into a separate range, which
 * a full symbol table names "_PyEval_EvalFrameDefault.cold" and a stripped
 * binary does not name at all: Debian's CPython 3.14 and 3.15 keep 0.8-1.2
 * KiB under the exported _PyEval_EvalFrameDefault and run the interpreter
 * from an unnamed 80 KiB range it jumps into.  Return addresses there are
 * eval-loop frames all the same, which --native merging must recognise.
 */
#ifndef PYPROF_NATIVE_EVALPARTS_H
#define PYPROF_NATIVE_EVALPARTS_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>

#define EVAL_PARTS_MAX 8

/* Ranges of ELF virtual addresses (the module's bias not added). */
struct eval_parts {
	uint32_t n;
	struct {
		uint64_t lo, hi;
	} r[EVAL_PARTS_MAX];
};

/*
 * Finds the parts of mod's _PyEval_EvalFrameDefault outside its symbol:
 * the call-frame-info (FDE) ranges that its direct jumps land in the
 * middle of, with the same frame (CFA) at the jump and at the target, as
 * only a jump within one function's frame has.  0 with out->n set (0 when
 * mod has no such function or no such parts), or -errno.
 */
int evalparts__find(Dwfl_Module *mod, struct eval_parts *out);

/* Whether ELF address v lies in one of the parts. */
bool evalparts__contains(const struct eval_parts *e, uint64_t v);

#endif /* PYPROF_NATIVE_EVALPARTS_H */
