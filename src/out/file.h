/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Writing an output file so that it is either complete or not there: the
 * writer writes an unnamed temporary file in the same directory
 * (O_TMPFILE), which gets a name only when it is complete and is renamed
 * over the final path at once.  Killed at any moment, even by SIGKILL, the
 * writer leaves nothing behind.
 *
 * What is not a file is written in place instead, never replaced: a
 * device, a FIFO or a socket, and anything under /dev or /proc, which
 * belong to the system (/dev/stdout is a symlink: renaming over it would
 * make it a regular file for every program).  /dev/stdout, /dev/fd/N and
 * /proc/self/fd/N name this process's own descriptors, which are written
 * through as they are (the shell's `> out.folded` or `>> log`).
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
	bool direct; /* written in place: a device, a pipe, /dev/stdout */
	bool own_fd; /* ... one of this process's descriptors (dup'ed) */
	bool named; /* tmp is a name on disk (no O_TMPFILE here) */
	char tmp[PATH_MAX]; /* the temporary name, once it has one */
};

/* Whether path is written in place rather than replaced: a device, a pipe
 * or a socket, anything that exists under /dev or /proc, and this
 * process's descriptors (/dev/stdout, /dev/fd/N, /proc/self/fd/N). */
bool out_file__in_place(const char *path);

/*
 * What would make writing path fail, found before the work that produces
 * the output, and without creating anything: 0, or -ENAMETOOLONG,
 * -EISDIR (path is a directory), -ENOENT / -ENOTDIR / -EACCES / -EROFS
 * (its directory is missing or not writable), -EBADF (a descriptor of this
 * process that is not open for writing), -EOPNOTSUPP (a socket).  A FIFO
 * is not opened: whether it has a reader is for the writer to find.
 */
int out_file__check(const char *path);

enum {
	/* A FIFO without a reader: wait for one (an interrupting signal
	 * gives -EINTR) instead of failing with -ENXIO. */
	OUT_FILE_WAIT = 1,
	/* A temporary file with its name from the start, as on a file
	 * system without O_TMPFILE (for the tests of that path). */
	OUT_FILE_NAMED = 2,
};

/*
 * Opens path for writing: a temporary file beside it (mode 0644), or the
 * thing itself when it is written in place.  Never blocks unless flags has
 * OUT_FILE_WAIT.  0 or -errno: -ENAMETOOLONG, -EISDIR when path is a
 * directory, -ENXIO a FIFO without a reader, -EBADF a descriptor of this
 * process that is not open, or why the temporary file could not be made.
 */
int out_file__open_flags(struct out_file *o, const char *path, unsigned flags);
/* out_file__open_flags() with no flags. */
int out_file__open(struct out_file *o, const char *path);

/* Closes the file and, when keep, renames it over the final path (a
 * symlink there is replaced, not followed); else, or when closing failed,
 * removes it.  When only the rename fails, the complete file stays at tmp
 * and kept says so.  0 or -errno. */
int out_file__close(struct out_file *o, bool keep);

/*
 * For a command that a signal may end while it writes (convert, diff):
 * SIGINT, SIGTERM, SIGHUP and SIGPIPE remove the temporary name, if the
 * file being written has one, and then end the process as the signal
 * would have.  A command that handles these signals itself (record)
 * writes to the end instead.
 */
void out_file__remove_on_signals(void);

#endif /* PYPROF_OUT_FILE_H */
