/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The timeline as the writers draw it (the Chrome trace, the gecko file,
 * the HTML report): one lane per thread, its events in time order, each
 * with where it starts and ends, and the boxes of its frames.
 *
 * Where an event ends (issue 21):
 *  - a run of samples of one stack starts at its first sample and ends
 *    where the thread's next event begins, when the thread did not leave
 *    the CPU of its own accord in between (it ran, or waited for a CPU,
 *    all along: PTIME_SLEPT unset), or when it did for less than a
 *    sample can tell (the next one came within 1.5 periods of its last);
 *    else one sampling period after its last sample, since a sample
 *    stands for one period;
 *  - an off-CPU span (wall mode) starts and ends where the kernel saw the
 *    thread leave the CPU and come back.
 * So consecutive samples of one stack are one box, and a box ends where
 * the next different sample begins, exact to 1/F: in cpu mode a gap is
 * time the thread spent asleep (the kernel's count of its voluntary
 * switches says so), which wall mode fills with its off-CPU spans.
 * Preemption is not a gap: the thread still was where it was.
 */
#ifndef PYPROF_OUT_LANES_H
#define PYPROF_OUT_LANES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/profile.h"

/* An event of a lane, placed. */
struct lane_ev {
	uint32_t ev; /* profile__event() index */
	uint32_t stack; /* profile__stack() index */
	uint64_t start, end; /* ns, on the profile's clock; start <= end */
	uint64_t last; /* the run's last sample (a span: its end) */
	uint32_t samples; /* samples of the run; a span: its length in
			     periods, at least 1 */
	bool span; /* an off-CPU span */
	bool joined; /* goes on from the event before without time off the
			CPU between them: the thread came back on the CPU
			where that one, a span, ended */
	bool hidden; /* time a filter (--focus, --ignore) left out: it
			ends the event before, and shows nothing */
};

struct lane {
	uint32_t proc, thread; /* frame ids; UINT32_MAX when absent */
	uint32_t tid;
	uint32_t pid; /* from the process frame ("comm-PID"); 0: unknown */
	size_t begin, n; /* its events: lanes.ev[begin..begin+n) */
	uint64_t samples; /* sum of its shown events' samples */
};

struct lanes {
	struct lane *lane;
	size_t nlanes;
	struct lane_ev *ev; /* grouped by lane, each in time order */
	size_t nev;
	uint32_t *first_of; /* per stack: its first frame after the
			       process and thread frames */
	uint32_t *func_of; /* per frame: its function (kind, name, file),
			      one number per function */
	uint64_t t0; /* where times start: the origin, or the first event */
	uint64_t t1; /* the last event's end */
	uint64_t period; /* ns of one sample */
};

/*
 * The lanes of p's timeline, sampled at freq Hz (0: 100 Hz assumed), in
 * order of process (pid, else process frame) and thread id.  Stacks
 * without frames are left out.  0, -ENODATA when p has no timeline
 * (profile__timeline_origin() is 0 and it has no event), or -ENOMEM.
 */
int lanes__build(struct lanes *l, const struct profile *p, unsigned freq);
void lanes__free(struct lanes *l);

/*
 * A function's box on a lane: depth 0 is the first frame after the
 * thread.  frame is the one of its first sample (a Python frame names a
 * line: the box's first).
 */
struct lane_box {
	uint32_t frame, depth;
	uint64_t start, end;
};

/*
 * The boxes of lane i, sorted by start, then depth (callers first): a
 * function that goes on from one event to the next is one box, whichever
 * of its lines each sample was at (a box is a call, as a sampler can tell
 * one).  *boxes is malloc'd.  0 or -ENOMEM.
 */
int lanes__boxes(const struct lanes *l, const struct profile *p, size_t i,
		 struct lane_box **boxes, size_t *n);

/* The label of lane i's thread: its thread frame's name, else "tid N". */
const char *lanes__thread_name(const struct lanes *l, const struct profile *p,
			       size_t i, char *buf, size_t len);

#endif /* PYPROF_OUT_LANES_H */
