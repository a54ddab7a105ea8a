/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The source files a profile names, kept for the heatmap (out/heatmap.c).
 * A live run reads each file the first time a code object names it, from
 * the target's own root (/proc/PID/root, so containers work) and while the
 * target still runs, because the file may change or vanish later; convert
 * reads them from the local file system.  The store is bounded: in files
 * kept, in bytes per file and in bytes overall; a file past a bound is
 * remembered with the reason it was not kept, and so is one that could
 * not be read.
 */
#ifndef PYPROF_SOURCES_H
#define PYPROF_SOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SOURCES_FILES_MAX 256 /* files whose text is kept */
#define SOURCES_FILE_BYTES_MAX (1u << 20) /* 1 MiB: a larger file is not */
#define SOURCES_TOTAL_BYTES_MAX (16u << 20) /* 16 MiB of text in all */
#define SOURCES_NAMES_MAX 4096 /* files remembered, kept or not */

enum source_state {
	SOURCE_OK, /* text holds the file */
	SOURCE_MISSING, /* no such file (err: the errno) */
	SOURCE_NOT_FILE, /* "<string>", "<frozen ...>", a directory, a pipe */
	SOURCE_TOO_BIG, /* larger than the per-file bound (size says) */
	SOURCE_LIMIT, /* the store was full (files or bytes) */
	SOURCE_DENIED, /* the target's user may not read it */
	SOURCE_GONE, /* the process had exited before it could be read */
	SOURCE_ERROR, /* another failure (err: the errno) */
};

struct source {
	const char *name; /* as the code object names it */
	enum source_state state;
	int err; /* errno for SOURCE_MISSING / SOURCE_ERROR */
	bool local; /* read from the local file system (convert) */
	bool changed; /* modified after the process that ran it started */
	uint64_t size; /* bytes of the file, when known */
	const char *text; /* SOURCE_OK: len bytes and a NUL (which the file
			     may also hold) */
	size_t len;
};

struct sources;

/* An empty store with the bounds above; NULL (errno set) on ENOMEM. */
struct sources *sources__new(void);
void sources__free(struct sources *s);
/* Other bounds, for tests or a smaller memory budget. */
void sources__set_limits(struct sources *s, size_t files, size_t file_bytes,
			 size_t total_bytes);

/*
 * Reads file name as process pid sees it: through /proc/PID/root, with
 * symbolic links resolved inside that root, a relative name from the
 * process's working directory; only a regular file its user may read.
 * Nothing happens when name is already in the store (the first process
 * wins), unless its process had exited before it could be read.  0, or
 * -ENOMEM; a file that cannot be kept is remembered with the reason.
 */
int sources__read_pid(struct sources *s, pid_t pid, const char *name);

/* The same from the local file system, as the caller may read it. */
int sources__read_local(struct sources *s, const char *name);

/* Stores text (len bytes) as the file name, unless name is there. 0 or
 * -ENOMEM (a bound reached is SOURCE_LIMIT, not an error). */
int sources__put(struct sources *s, const char *name, const char *text,
		 size_t len);

/* Whether name is in the store, kept or not. */
bool sources__has(const struct sources *s, const char *name);
/* The file name, or NULL if it is not in the store. */
const struct source *sources__get(const struct sources *s, const char *name);
size_t sources__count(const struct sources *s);

/* The i-th file, in the order they were added (i < sources__count()). */
const struct source *sources__at(const struct sources *s, size_t i);

/* Why file src of s is not shown, as a phrase ("not found (No such file
 * or directory)"), into buf; "" for SOURCE_OK. */
const char *sources__why(const struct sources *s, const struct source *src,
			 char *buf, size_t len);

/* Whether name can name a file at all: "<string>", "<stdin>" and
 * "<frozen importlib._bootstrap>" cannot. */
bool sources__is_path(const char *name);

#endif /* PYPROF_SOURCES_H */
