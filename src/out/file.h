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
	bool kept; /* the rename failed: the profile is whole in tmp */
	bool direct; /* a device or pipe: written in place, no tmp */
	char tmp[PATH_MAX];
};

/* Whether path is written in place rather than replaced: a device, a pipe
 * or a socket, named directly or by one of the system's own links to them
 * (/dev/stdout, /dev/fd/N, /proc/self/fd/N). */
bool out_file__in_place(const char *path);

/* Opens PATH.tmp.XXXXXX (mode 0644) for path; a device or pipe (/dev/null,
 * a FIFO, /dev/stdout) is opened itself instead.  0 or -errno
 * (-ENAMETOOLONG, -EISDIR when path is a directory, or why the temporary
 * file could not be made). */
int out_file__open(struct out_file *o, const char *path);

/* Closes the file and, when keep, renames it over the final path (a
 * symlink there is replaced, not followed); else, or when closing failed,
 * removes it.  When only the rename fails, the complete file stays at tmp
 * and kept says so.  0 or -errno. */
int out_file__close(struct out_file *o, bool keep);

#endif /* PYPROF_OUT_FILE_H */
