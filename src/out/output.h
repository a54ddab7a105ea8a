/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Profile files people open: one entry point that writes a profile in any
 * format, the format names (--format NAME) and the file extensions that
 * choose one (-o FILE.EXT).  Each format lives in its own src/out_*.c.
 */
#ifndef PYPROF_OUTPUT_H
#define PYPROF_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/profile.h"

struct sources;

enum out_format {
	OUT_FOLDED, /* .folded .txt: flamegraph.pl, inferno, speedscope */
	OUT_SVG, /* .svg: an interactive flame graph for a browser */
	OUT_SPEEDSCOPE, /* .speedscope.json: speedscope's file format */
	OUT_PPROF, /* .pb.gz: pprof's profile.proto, gzipped */
	OUT_CALLGRIND, /* .callgrind, callgrind.out.*: KCacheGrind */
	OUT_TRACE, /* .trace.json: Chrome trace / Perfetto timeline */
	OUT_HTML, /* .html: a self-contained report */
	OUT_HEATMAP, /* .heatmap.html: the source, each line by its samples */
	OUT_PSTATS, /* .pstats .prof: Python's pstats (marshal) */
	OUT_GECKO, /* .gecko.json: the Firefox Profiler's (gecko) format */
	OUT__MAX,
};

/*
 * What writers show besides the stacks.  Every field may be left zero /
 * NULL when unknown (e.g. a profile read from a folded file); the writers
 * then leave it out.  A NULL meta is all unknown.
 */
struct out_meta {
	const char *title; /* what was profiled: "pid 4242: python3 app.py" */
	const char *python; /* CPython version(s): "3.12.1" */
	unsigned freq; /* -F: samples per second per CPU */
	double start_time; /* wall clock at the start, seconds since 1970 */
	double duration; /* seconds sampled */
	uint64_t samples_taken; /* by the sampler (0: profile__total()) */
	uint64_t samples_lost; /* taken but not in the profile */
	/* The source files the heatmap shows (lib/sources.h); NULL: none
	 * were read, and the heatmap says so. */
	const struct sources *sources;
};

/* Whether format f shows when each sample was taken, so that a live run
 * records it (trace, gecko, html). */
bool output__timeline(enum out_format f);

/* The name of a format ("svg"), as --format takes it. */
const char *output__name(enum out_format f);

/* The format NAME names; -EINVAL with a line in err listing the names. */
int output__parse_name(const char *name, enum out_format *f, char *err,
		       size_t errlen);

/*
 * The format the extension of path names: .folded .txt .svg
 * .speedscope.json .pb.gz .callgrind callgrind.out.* .trace.json
 * .gecko.json .heatmap.html .html .pstats .prof;
 * folded for a device or pipe without one (/dev/null, /dev/stdout).
 * -EINVAL with a line in err naming the known extensions and --format.
 */
int output__format_for_path(const char *path, enum out_format *f, char *err,
			    size_t errlen);

/*
 * Writes p to out in format f.  0, or -errno: -EIO/-ENOSPC... when the
 * stream failed, -ENOMEM, -ENODATA for OUT_TRACE and OUT_GECKO when p has
 * no timeline (read from a folded file).
 * output__strerror() turns the error into words.
 */
int output__write(const struct profile *p, enum out_format f,
		  const struct out_meta *m, FILE *out);

/* What went wrong in output__write(f) returning rc, as one phrase. */
const char *output__strerror(enum out_format f, int rc);

#endif /* PYPROF_OUTPUT_H */
