/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Helpers the unit tests share (see fixture.c). */
#ifndef PYPROF_UNIT_FIXTURE_H
#define PYPROF_UNIT_FIXTURE_H

#include <stddef.h>

#include "profile.h"

/* The repository: $PYPROF_ROOT, else two levels above build/unit_tests,
 * else the current directory. */
const char *unit__repo_root(void);

/* The whole file, NUL-terminated (len without the NUL); NULL on failure. */
char *unit__slurp(const char *path, size_t *len);

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

#endif /* PYPROF_UNIT_FIXTURE_H */
