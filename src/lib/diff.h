/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Comparing two profiles of one program (`pyprof-bpf diff`): per function
 * the share of the samples it holds in each, the change, whether the change
 * is beyond sampling noise, and whether it fails the regression gate.
 *
 * Shares are of each profile's own total, so profiles of different lengths
 * compare.  Own: the stacks that end in the function (it is running).
 * Total: the stacks that hold it, counted once however deep it recurses.
 */
#ifndef PYPROF_DIFF_H
#define PYPROF_DIFF_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/profile.h"

/* The z of a two-sided 95% interval. */
#define DIFF_Z95 1.96
/* What `diff --help` and README.md recommend for --fail-above. */
#define DIFF_DEFAULT_FAIL_ABOVE 10.0
#define DIFF_DEFAULT_MIN_SAMPLES 50
#define DIFF_DEFAULT_TOP 20

struct diff_opts {
	/* Relative growth of a function's total share, in percent, above
	 * which it fails; negative: no gate. */
	double fail_above;
	/* Functions with fewer total samples than this in both profiles are
	 * shown but never fail. */
	uint64_t min_samples;
	/* Only functions whose label matches (NULL: all). */
	const regex_t *focus;
	/* Rows per line ("name (file:line)") instead of per function. */
	bool by_line;
};

struct diff_row {
	const char *label; /* "parse (app.py)", as the table shows it */
	uint64_t own[2], total[2]; /* samples: [0] base, [1] head */
	double own_pct[2], total_pct[2]; /* shares, in percent */
	double d_own, d_total; /* head - base, in percentage points */
	double rel; /* relative change of the total share, in percent;
		     * INFINITY for a function that is new in head */
	double noise; /* a change of the total share within +-noise points
		       * is within sampling noise (95%) */
	bool significant; /* |d_total| > noise */
	bool judged; /* has min_samples in base or head */
	bool fails; /* judged, significant, and rel > fail_above */
};

struct diff;

/*
 * Compares base with head (any two profiles; they need not share ids).
 * Rows are sorted by regression: the largest growth of the total share
 * first, the largest shrinkage last.  NULL with errno set: ENOMEM, or
 * ENODATA when either profile holds no samples.
 */
struct diff *diff__new(const struct profile *base, const struct profile *head,
		       const struct diff_opts *o);
void diff__free(struct diff *d);

size_t diff__nrows(const struct diff *d);
const struct diff_row *diff__row(const struct diff *d, size_t i);
/* How many rows fail the gate. */
size_t diff__nfailed(const struct diff *d);

/*
 * Prints the table (the top rows that changed most, in points, plus every
 * failing row; 0: no table), the note on sampling noise and, last, the
 * one-line verdict.  names are base's and head's, as the user gave them.
 * 0 or -errno (-EIO) if f failed.
 */
int diff__print(const struct diff *d, FILE *f, size_t top,
		const char *base_name, const char *head_name);

/*
 * The 95% margin, in percentage points, of the difference between two
 * shares near p (0..1) measured with n1 and n2 samples: the normal
 * approximation of the binomial, DIFF_Z95 * sqrt(p(1-p)(1/n1 + 1/n2)).
 */
double diff__noise(double p, uint64_t n1, uint64_t n2);

/*
 * Copies base and head into two new profiles that share one table of
 * strings and frames (one id is one frame in both) and hold every stack
 * of either (with 0 samples on the side that lacks it), as the
 * differential writers need.  Process frames lose their pid
 * ("python3-4242" becomes "python3"): two runs of one program never have
 * the same pid.  0 or -ENOMEM.
 */
int diff__align(const struct profile *base, const struct profile *head,
		struct profile **abase, struct profile **ahead);

#endif /* PYPROF_DIFF_H */
