/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The in-memory profile every writer reads: interned strings, interned
 * frames, and stacks (root first) with their sample counts.
 */
#ifndef PYPROF_PROFILE_H
#define PYPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pframe_kind {
	PF_PROCESS, /* "comm-pid" */
	PF_THREAD, /* the thread's name */
	PF_PYTHON, /* a Python function, with file and line */
	PF_MARKER, /* "[truncated]", "[no Python frame]", ... */
	PF_NATIVE, /* a native function: name = symbol, file = object path */
	PF_KERNEL, /* a kernel function: name = symbol */
	PF_TASK, /* an asyncio task: name = "Task-NAME" (--async) */
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

/*
 * The first line of the function a Python frame is in (co_firstlineno), for
 * the formats that name a function by where it starts (pstats).  Not part
 * of the frame's identity: a frame is one line of one function, so it has
 * one first line; the last one set stays.  -1 when never set (a profile
 * read from folded stacks).  Set: 0, or -ENOMEM (-EINVAL for no frame id).
 */
int profile__set_first_line(struct profile *p, uint32_t frame, int32_t line);
int32_t profile__first_line(const struct profile *p, uint32_t frame);

/* Adds count samples of the stack frames[0..n) (root first). 0, -ENOMEM,
 * or -ENOSPC for a new stack past the cap on stacks or on their frames. */
int profile__add(struct profile *p, const uint32_t *frames, uint32_t n,
		 uint64_t count);
/* Caps the distinct stacks (none unless set): for tests of a profile that
 * cannot grow, or a smaller memory bound. */
void profile__set_stacks_max(struct profile *p, size_t max);
/* Caps the frames of all distinct stacks together (none unless set): a
 * bound in bytes (4 each) however deep the stacks. */
void profile__set_frame_ids_max(struct profile *p, size_t max);
/* The frames of all distinct stacks together. */
size_t profile__frame_ids(const struct profile *p);

size_t profile__nstacks(const struct profile *p);
/* The bytes p's arrays and indexes hold (their capacity, not their use). */
size_t profile__bytes(const struct profile *p);
/* The number of frames of stack i (0 for the empty stack, or none). */
uint32_t profile__stack_depth(const struct profile *p, size_t i);
void profile__stack(const struct profile *p, size_t i, const uint32_t **frames,
		    uint32_t *n, uint64_t *count);
uint64_t profile__total(const struct profile *p);
size_t profile__nframes(const struct profile *p);

/* Adds like profile__add(); *idx gets the stack's index. */
int profile__add_idx(struct profile *p, const uint32_t *frames, uint32_t n,
		     uint64_t count, size_t *idx);

/*
 * Samples a filter (--focus, --ignore: lib/filter.h) left out of the
 * profile: not in its total, but part of the whole that percentages are
 * of, as in pprof.
 */
void profile__add_filtered(struct profile *p, uint64_t count);
uint64_t profile__filtered(const struct profile *p);

/*
 * The timeline (issue 21): what each thread ran, and when.  A timed
 * sample says that a thread ran a stack at a time; an off-CPU span (wall
 * mode) that it was away from the CPU, under a stack, from one time to
 * another.  Times are on one monotonic clock in nanoseconds (the
 * sampler's: CLOCK_MONOTONIC).  The stacks are the profile's (their
 * counts come from profile__add, not from here).
 *
 * Consecutive samples of a thread with one stack, with no sleep between
 * them, are kept as one event (a run), and so are spans of one stack that
 * continue each other: memory follows how often what a thread runs
 * changes, not the sampling rate.  Events are kept in the order they come
 * (a thread's in time order, as the sampler sends them; writers sort them
 * all the same).  At most a cap of them (PROFILE_TIMELINE_MAX unless set):
 * at the cap the timeline stops; later samples and spans still count in
 * the profile, and profile__timeline_dropped() says how many the timeline
 * lacks and from when.
 */
#define PROFILE_TIMELINE_MAX (1u << 21) /* 32 bytes each: 64 MiB at most */

enum ptime_flags {
	PTIME_SPAN = 1 << 0, /* an off-CPU span from start_ns to last_ns */
	PTIME_SLEPT = 1 << 1, /* the thread left the CPU of its own accord
				 since the event before this one: that one
				 ends one period after its last sample */
};

struct ptime_event {
	uint32_t stack; /* index for profile__stack() */
	uint32_t tid; /* the thread */
	uint64_t start_ns; /* its first sample, or when the span began */
	uint64_t last_ns; /* its last sample, or when the span ended */
	uint32_t samples; /* samples in the run; 0 for a span */
	uint32_t flags; /* enum ptime_flags */
};

/*
 * Thread tid ran stack at t_ns; slept: it left the CPU of its own accord
 * since its previous sample.  0, -EINVAL for no such stack, or -ENOMEM.
 */
int profile__time_sample(struct profile *p, size_t stack, uint32_t tid,
			 uint64_t t_ns, bool slept);
/* Thread tid was off the CPU under stack from start_ns to end_ns. */
int profile__time_span(struct profile *p, size_t stack, uint32_t tid,
		       uint64_t start_ns, uint64_t end_ns);
/* When sampling began, on the timeline's clock: it also says that the
 * profile has a timeline (one that may be empty).  0 if never set. */
void profile__set_timeline_origin(struct profile *p, uint64_t t_ns);
uint64_t profile__timeline_origin(const struct profile *p);
/* Changes the cap on events (for tests, or a smaller memory bound). */
void profile__set_timeline_max(struct profile *p, size_t max);
size_t profile__nevents(const struct profile *p);
const struct ptime_event *profile__event(const struct profile *p, size_t i);
/* What the timeline lacks because of the cap: samples and spans, and the
 * time of the first one dropped (0: none). */
void profile__timeline_dropped(const struct profile *p, uint64_t *samples,
			       uint64_t *spans, uint64_t *first_t_ns);

#endif /* PYPROF_PROFILE_H */
