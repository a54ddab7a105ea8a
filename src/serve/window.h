/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The agent's memory of what it sampled: a rolling window of the last
 * intervals, each kept as its own (stack, count) pairs, and the counts
 * since the start, in bounded memory.
 *
 * Every interval the agent pushes that interval's samples (a profile of
 * their own, src/sampler/session.h's session__swap_profile).  Their stacks
 * are interned once in the window's dictionary, so an interval costs 8
 * bytes per distinct stack it saw.  Queries build a fresh profile, for the
 * writers of src/out/, of: the last N seconds, one interval (the live
 * stream), or everything since the start; filtered by process and capped
 * in stacks.
 *
 * The bounds (struct window_opts), and what happens at each:
 * - intervals: the oldest one leaves when a new one comes (the window);
 * - (stack, count) pairs over all intervals: past max_entries the oldest
 *   intervals leave early, so the window holds fewer seconds (window__stats
 *   says how many), never wrong counts;
 * - distinct stacks: every window length, or when the dictionary holds more
 *   than max_stacks, or their frames together more than max_frame_ids, it
 *   is rebuilt (compaction): the stacks in the window
 *   stay exact; those only in the totals since the start lose their
 *   process's pid when that process has left the window ("python3-4242"
 *   becomes "python3-*") and the numbers of their thread's name
 *   ("Thread-17 (work)" becomes "Thread-* (work)"), and past max_stacks
 *   or max_frame_ids, or past their own max_old_stacks, the smallest of
 *   them are merged into one "[smaller stacks merged]" stack per process
 *   and thread.  A new stack that finds the
 *   dictionary at twice max_stacks or max_frame_ids even so is counted
 *   under "[over the agent's stack limit]".
 *   Totals of samples are always exact.
 *
 * Not thread-safe: the agent holds its lock around every call.
 */
#ifndef PYPROF_WINDOW_H
#define PYPROF_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/profile.h"

struct window_opts {
	unsigned slots; /* intervals kept: the window's length */
	size_t max_stacks; /* distinct stacks before compaction merges */
	size_t max_frame_ids; /* their frames together, likewise (4 bytes
				 each); 0: WINDOW_FRAMES_PER_STACK times
				 max_stacks */
	size_t max_entries; /* (stack, count) pairs over all intervals */
	size_t max_old_stacks; /* of them, stacks only in the totals since
				  the start (0: max_stacks), and their frames
				  in proportion: the smallest past it merge */
};

#define WINDOW_MAX_STACKS_DEFAULT 50000
/* Frames per stack the default budget of frames allows on average: deep
 * stacks (a test suite's, 100-300 frames) count against it, not only their
 * number. */
#define WINDOW_FRAMES_PER_STACK 40
#define WINDOW_MAX_ENTRIES_DEFAULT (4u << 20) /* 8 bytes each: 32 MiB */

/* What an interval brought besides its stacks. */
struct window_interval {
	double t_end; /* CLOCK_REALTIME seconds at its end (the drain) */
	double duration; /* seconds it covers */
	uint64_t taken; /* samples the sampler took in it */
	uint64_t lost; /* ... and could not keep */
	uint32_t processes; /* processes profiled at its end */
};

enum window_range_kind {
	WINDOW_LAST, /* the last `seconds` (whole intervals) */
	WINDOW_ALL, /* since the start */
	WINDOW_SLOT, /* the one interval numbered seq */
};

struct window_query {
	enum window_range_kind kind;
	double seconds; /* WINDOW_LAST */
	uint64_t seq; /* WINDOW_SLOT */
	pid_t pid; /* only this process (0: every one) */
	const char *comm; /* only processes of this command name (NULL: all) */
	size_t max_stacks; /* the result's stacks (0: no cap); the smallest
			      past it are merged per process */
	size_t max_frames; /* their frames together (0: no cap), likewise:
			      what an answer costs follows its frames */
};

/* A query's answer: a profile the caller frees, and what it covers. */
struct window_result {
	struct profile *prof;
	double start; /* CLOCK_REALTIME seconds at its start (0: empty) */
	double duration; /* seconds covered */
	uint64_t taken, lost; /* samples taken and lost in that time (every
				 process: the sampler counts no others) */
	uint64_t samples; /* samples in prof */
	uint64_t first_seq, last_seq; /* the intervals covered (0 if none) */
	size_t merged; /* stacks merged by max_stacks */
	uint32_t processes; /* processes profiled at the last interval */
};

struct window_stats {
	unsigned slots; /* intervals held */
	double seconds; /* ... and the seconds they cover */
	uint64_t seq; /* the last interval's number (0: none yet) */
	size_t stacks; /* distinct stacks in the dictionary */
	size_t frames; /* distinct frames in the dictionary */
	size_t entries; /* (stack, count) pairs over all intervals */
	size_t bytes; /* memory held: dictionary, counts, intervals */
	uint64_t samples; /* samples since the start */
	uint64_t taken, lost; /* ... taken and lost by the sampler */
	uint64_t compactions;
	uint64_t early; /* intervals that left early (max_entries) */
	uint64_t over_limit; /* samples under "[over the agent's stack
				limit]" */
	double start; /* CLOCK_REALTIME at the first interval's start */
};

struct window;

/* An empty window.  NULL and errno set (EINVAL for a zero bound). */
struct window *window__new(const struct window_opts *o);
void window__free(struct window *w);

/*
 * Adds one interval: the samples of delta (its counts are the interval's)
 * and what info says.  The interval gets the next number (1, 2, ...).
 * 0 or -ENOMEM (the interval is then left out whole).
 */
int window__push(struct window *w, const struct profile *delta,
		 const struct window_interval *info);

/*
 * Answers q into *r.  0, -ENOENT (WINDOW_SLOT: that interval is not held),
 * or -ENOMEM.
 */
int window__query(struct window *w, const struct window_query *q,
		  struct window_result *r);

/* The number of the newest interval (0 when none yet). */
uint64_t window__seq(const struct window *w);
/* The number of the oldest interval held (0 when none). */
uint64_t window__first_seq(const struct window *w);

void window__stats(const struct window *w, struct window_stats *st);

/*
 * Rebuilds the dictionary now (window__push does when due): for tests and
 * for an agent that wants memory back at once.  0 or -ENOMEM (the window
 * is unchanged then).
 */
int window__compact(struct window *w);

/*
 * The pid and command name a process frame's label gives: "comm-PID" is
 * (comm, PID); a label without a pid (merged) is (label, 0).  comm gets at
 * most len - 1 bytes.
 */
void window__split_process(const char *label, char *comm, size_t len,
			   pid_t *pid);

#endif /* PYPROF_WINDOW_H */
