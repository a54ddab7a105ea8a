/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The writers output__write() dispatches to, one per src/out_*.c.  Each
 * writes p to f and returns 0 or -errno; m may be NULL.
 */
#ifndef PYPROF_OUT_FORMATS_H
#define PYPROF_OUT_FORMATS_H

#include <stdbool.h>
#include <stdio.h>

#include "lib/profile.h"
#include "out/output.h"

int out_svg__write(const struct profile *p, const struct out_meta *m, FILE *f);
/* The flame graph as an <svg> element inside an HTML page. */
int out_svg__write_inline(const struct profile *p, const struct out_meta *m,
			  FILE *f);
/*
 * A differential flame graph: head's boxes, coloured by the change of each
 * one's own share from base (red grew, blue shrank).  base and head must
 * share their frame ids, as diff__align() (diff.h) makes them.
 */
int out_svg__write_diff(const struct profile *base, const struct profile *head,
			const struct out_meta *m, FILE *f);
int out_speedscope__write(const struct profile *p, const struct out_meta *m,
			  FILE *f);
int out_pprof__write(const struct profile *p, const struct out_meta *m,
		     FILE *f);
int out_callgrind__write(const struct profile *p, const struct out_meta *m,
			 FILE *f);
int out_trace__write(const struct profile *p, const struct out_meta *m,
		     FILE *f);
int out_html__write(const struct profile *p, const struct out_meta *m, FILE *f);
/* The HTML report's timeline section (or a note that p has none). */
int out_html__timeline(const struct profile *p, const struct out_meta *m,
		       FILE *f);
int out_heatmap__write(const struct profile *p, const struct out_meta *m,
		       FILE *f);
int out_pstats__write(const struct profile *p, const struct out_meta *m,
		      FILE *f);
int out_gecko__write(const struct profile *p, const struct out_meta *m,
		     FILE *f);

#endif /* PYPROF_OUT_FORMATS_H */
