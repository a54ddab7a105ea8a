/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The in-memory profile every writer reads: interned strings, interned
 * frames, and stacks (root first) with their sample counts.
 */
#ifndef PYPROF_PROFILE_H
#define PYPROF_PROFILE_H

#include <stddef.h>
#include <stdint.h>

enum pframe_kind {
	PF_PROCESS, /* "comm-pid" */
	PF_THREAD, /* the thread's name */
	PF_PYTHON, /* a Python function, with file and line */
	PF_MARKER, /* "[truncated]", "[no Python frame]", ... */
	PF_NATIVE, /* a native function: name = symbol, file = object path */
	PF_KERNEL, /* a kernel function: name = symbol */
};

struct pframe {
	uint32_t name; /* string id */
	uint32_t file; /* string id, 0 if none */
	int32_t line; /* -1 if unknown (0 is a real line on 3.11+) */
	uint32_t kind; /* enum pframe_kind */
};

struct profile;

struct profile *profile__new(void);
void profile__free(struct profile *p);

/* Interns s (len bytes); id 0 is the empty string. Returns id or 0 on
 * allocation failure (with errno set). */
uint32_t profile__intern(struct profile *p, const char *s, size_t len);
uint32_t profile__intern_str(struct profile *p, const char *s);
const char *profile__string(const struct profile *p, uint32_t id);

/* Interns a frame; returns its id, or -ENOMEM. */
int64_t profile__frame(struct profile *p, enum pframe_kind kind, uint32_t name,
		       uint32_t file, int32_t line);
const struct pframe *profile__frame_get(const struct profile *p, uint32_t id);

/* Adds count samples of the stack frames[0..n) (root first). 0 or -ENOMEM. */
int profile__add(struct profile *p, const uint32_t *frames, uint32_t n,
		 uint64_t count);

size_t profile__nstacks(const struct profile *p);
void profile__stack(const struct profile *p, size_t i, const uint32_t **frames,
		    uint32_t *n, uint64_t *count);
uint64_t profile__total(const struct profile *p);

#endif /* PYPROF_PROFILE_H */
