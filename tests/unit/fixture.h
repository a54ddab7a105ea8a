/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Helpers the unit tests share (see fixture.c). */
#ifndef PYPROF_UNIT_FIXTURE_H
#define PYPROF_UNIT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/profile.h"
#include "out/output.h"

/* The repository: $PYPROF_ROOT, else two levels above build/unit_tests,
 * else the current directory. */
const char *unit__repo_root(void);

/* The whole file, NUL-terminated (len without the NUL); NULL on failure. */
char *unit__slurp(const char *path, size_t *len);

/* The gunzipped bytes of a gzip stream (malloc'd, *outlen of them); NULL
 * if it is not one. */
uint8_t *unit__gunzip(const void *in, size_t inlen, size_t *outlen);

/* Records a failure naming the first line where got and want differ. */
void unit__report_diff(const char *got, size_t glen, const char *want,
		       size_t wlen);

/*
 * The fixed profile of tests/fixtures/golden/basic.folded: names with ';',
 * control characters, UTF-8, empty names, markers, unknown lines, line 0,
 * distinct frames that print alike, a count above 2^32, and a stack with
 * no samples.  NULL on allocation failure.
 */
struct profile *unit__basic_profile(void);

/*
 * The same stacks and counts, with a timeline from UNIT_T0 (its origin):
 * each thread (MainThread tid 4242, worker;1 4243, worker:1 4244, the
 * unnamed one 4245) samples its stacks one 99 Hz period apart, at most 20
 * of each, from the start of second 1, 2, 3 or 4 (after a sleep); then on
 * worker;1 an off-CPU span from 3.3 s to 3.55 s and a sample at 3.6 s
 * after a sleep.  What the timeline writers are tested with.
 */
#define UNIT_T0 1000000000000ull
struct profile *unit__basic_timeline(void);

/* A profile read from folded text (as the file "t.folded"); NULL if the
 * text does not parse, with in_folded's error line in err. */
struct profile *unit__folded_profile(const char *text, char *err,
				     size_t errlen);

/* The metadata the golden files are written with (a title that needs
 * escaping, CPython 3.12.1, 99 Hz, a fixed start, 4 s, 2 lost). */
const struct out_meta *unit__basic_meta(void);

/* output__write() into memory: the bytes (NUL-terminated, *len without
 * it) and its return value in *rc; NULL if memory ran out. */
char *unit__write(const struct profile *p, enum out_format f,
		  const struct out_meta *m, size_t *len, int *rc);

/* Compares got with tests/fixtures/golden/NAME, recording a failure at the
 * first difference.  PYPROF_UPDATE_GOLDEN=1 writes the file instead (check
 * what changed by hand and with the format's consumer before committing). */
void unit__golden(const char *name, const char *got, size_t len);

/* Strict UTF-8: shortest forms, no surrogates, nothing above U+10FFFF. */
bool unit__utf8_valid(const char *s, size_t len);

/* Well-formed XML (an SVG, or an HTML page written as XHTML): balanced
 * tags, quoted attributes, only known entity and character references, no
 * control characters, one root.  false with the reason in err. */
bool unit__xml_check(const char *s, char *err, size_t errlen);

/* One valid JSON value (RFC 8259), nothing after it. */
bool unit__json_check(const char *s, char *err, size_t errlen);

#endif /* PYPROF_UNIT_FIXTURE_H */
