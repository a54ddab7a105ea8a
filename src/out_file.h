/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Writing an output file so that it is either complete or untouched: the
 * writer writes a temporary file next to it, renamed over it at the end,
 * or removed on failure.
 */
#ifndef PYPROF_OUT_FILE_H
#define PYPROF_OUT_FILE_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

struct out_file {
	FILE *f; /* where to write */
	const char *final;
	char tmp[PATH_MAX];
};

/* Opens PATH.tmp.XXXXXX (mode 0644) for path.  0 or -errno
 * (-ENAMETOOLONG, or why the temporary file could not be made). */
int out_file__open(struct out_file *o, const char *path);

/* Closes the file and, when keep, renames it over the final path; else,
 * or when closing or renaming failed, removes it.  0 or -errno. */
int out_file__close(struct out_file *o, bool keep);

#endif /* PYPROF_OUT_FILE_H */
