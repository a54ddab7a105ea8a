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

/* Adds count samples of the stack frames[0..n) (root first). 0, -ENOMEM,
 * or -ENOSPC for a new stack past the cap on stacks. */
int profile__add(struct profile *p, const uint32_t *frames, uint32_t n,
		 uint64_t count);
/* Adds like profile__add(); *idx is the stack's index (profile__stack). */
int profile__add_stack(struct profile *p, const uint32_t *frames, uint32_t n,
		       uint64_t count, size_t *idx);
/* Caps the distinct stacks (none unless set): for tests of a profile that
 * cannot grow, or a smaller memory bound. */
void profile__set_stacks_max(struct profile *p, size_t max);

size_t profile__nstacks(const struct profile *p);
void profile__stack(const struct profile *p, size_t i, const uint32_t **frames,
		    uint32_t *n, uint64_t *count);
uint64_t profile__total(const struct profile *p);
size_t profile__nframes(const struct profile *p);

/*
 * The timeline: when samples were collected.  Samples are counted in BPF
 * and drained every interval, so a time is that of the drain that brought
 * the samples in (their resolution is the drain interval), on any one
 * monotonic clock in nanoseconds (the collector's CLOCK_MONOTONIC).
 *
 * profile__add_at() adds like profile__add() and also records the event
 * (stack, time, count).  Events are kept in the order added, with times
 * that never go backwards (an earlier time is clamped to the latest one);
 * at most a cap of them (PROFILE_TIMELINE_MAX unless set): past it the
 * samples still count in the profile, only their events are dropped and
 * counted.  0 or -ENOMEM.
 */
#define PROFILE_TIMELINE_MAX (1u << 20) /* 24 bytes each: 24 MiB */

struct ptime_event {
	uint32_t stack; /* index for profile__stack() */
	uint32_t reserved;
	uint64_t t_ns;
	uint64_t count;
};

int profile__add_at(struct profile *p, const uint32_t *frames, uint32_t n,
		    uint64_t count, uint64_t t_ns);
/* When sampling began (the start of the first drain's interval), on the
 * clock of profile__add_at(); 0 if never set. */
void profile__set_timeline_origin(struct profile *p, uint64_t t_ns);
uint64_t profile__timeline_origin(const struct profile *p);
/* Changes the cap on events (for tests, or a smaller memory bound). */
void profile__set_timeline_max(struct profile *p, size_t max);
size_t profile__nevents(const struct profile *p);
const struct ptime_event *profile__event(const struct profile *p, size_t i);
/* Events not recorded because of the cap, the samples they held, and the
 * time of the first one dropped (0: none). */
void profile__timeline_dropped(const struct profile *p, uint64_t *events,
			       uint64_t *samples, uint64_t *first_t_ns);

#endif /* PYPROF_PROFILE_H */
