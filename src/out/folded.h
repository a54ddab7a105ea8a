/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Folded stacks, as flamegraph.pl, inferno and speedscope read them:
 * "root;...;leaf count\n", root first, one space before an integer count,
 * no empty frames, no ';' inside a frame, lines sorted bytewise.
 */
#ifndef PYPROF_OUT_FOLDED_H
#define PYPROF_OUT_FOLDED_H

#include <stdio.h>

#include "lib/profile.h"

/* Writes p to f. 0 or -errno (-EIO if the stream failed). */
int out_folded__write(const struct profile *p, FILE *f);

/*
 * A differential file, FlameGraph's difffolded form: "root;...;leaf N M\n",
 * N base's samples and M head's, every stack of either (0 on the side that
 * lacks it), sorted like out_folded__write().  0 or -errno.
 */
int out_folded__write_diff(const struct profile *base,
			   const struct profile *head, FILE *f);

/*
 * Formats one frame ("qualname (file:line)" for Python frames) into buf,
 * NUL-terminated and sanitised; returns the length it needed (as snprintf).
 */
size_t out_folded__frame(const struct profile *p, const struct pframe *fr,
			 char *buf, size_t len);

#endif /* PYPROF_OUT_FOLDED_H */
