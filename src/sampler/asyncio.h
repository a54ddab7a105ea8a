/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * asyncio tasks in the profile (--async, CPython 3.14+; issue 23).
 *
 * For each target the sampler is told where the thread state keeps its
 * running task (once the process's _asyncio module is loaded: its
 * .AsyncioDebug section says where), and each sample of a thread running a
 * task comes with that task (SAMPLE_F_TASK).  This module names it: the
 * frames `Task-NAME` of the task and of the chain of tasks awaiting it,
 * outermost first, each awaiter followed by the coroutine frames it waits
 * in, as `python -m asyncio pstree` draws them.  In wall mode it also
 * counts the tasks that are not running, read from the task lists
 * (asyncio__tick), under their suspended coroutine stacks and a
 * `[task waiting]` leaf.
 *
 * What a task is read as is kept per drain: a task's awaiters may change,
 * so each drain reads them again, and a task gone by then keeps what was
 * read of it before.
 */
#ifndef PYPROF_ASYNCIO_H
#define PYPROF_ASYNCIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>

#include "bpf/pyprof_shared.h"

struct collector;
struct target;
struct targets;
struct sampler;

/* Tasks of one awaiting chain (the task itself included), at most. */
#define ASYNC_CHAIN_MAX 32
/* Frames the task frames of one sample may add, at most. */
#define ASYNC_FRAMES_MAX 512
/* Pending tasks read in one pass of the task lists (wall mode). */
#define ASYNC_TASKS_MAX 10000

struct asyncio;

/* What the summary says. */
struct asyncio_stats {
	uint64_t ready; /* processes whose tasks are readable */
	uint64_t old; /* processes older than 3.14 (no task frames) */
	uint64_t no_section; /* 3.14+ without a readable .AsyncioDebug */
	uint64_t named; /* tasks named */
	uint64_t unreadable; /* task frames "[task unreadable]" (freed,
				reused, or not a task) */
	uint64_t cycles; /* awaiting chains that loop */
	uint64_t chains_cut; /* ... longer than ASYNC_CHAIN_MAX tasks or
				ASYNC_FRAMES_MAX frames */
	uint64_t awaiters_cut; /* awaited-by sets read only in part */
	uint64_t multi; /* tasks with several awaiters (one path shown) */
	uint64_t gone_kept; /* reads of a task gone, which kept an earlier */
	/* Wall mode: the passes over the task lists. */
	uint64_t passes;
	double pass_secs, pass_max; /* CPU time they took, in all and at
				       most */
	double period; /* the period aimed at, in seconds */
	uint64_t waiting; /* sample-equivalents added for waiting tasks */
	uint64_t lists_cut; /* passes stopped at ASYNC_TASKS_MAX tasks */
	uint64_t lists_bad; /* passes that met a list that loops or a link
			       that could not be read */
	uint64_t tasks_max; /* the most pending tasks one pass found */
};

/*
 * The module for one run: freq is -F; wall: count waiting tasks.  NULL
 * and errno on failure.
 */
struct asyncio *asyncio__new(unsigned freq, bool wall, bool verbose);
void asyncio__free(struct asyncio *a);

/*
 * Looks at the targets: a new one older than 3.14 is said once (one
 * line, the first time), a 3.14+ one is looked at until its _asyncio
 * module is loaded, then the sampler is given its config; a gone one is
 * forgotten.  Cheap when nothing is new; call it at each poll.
 */
void asyncio__check(struct asyncio *a, struct targets *ts, struct sampler *bpf);

/*
 * The frames (profile frame ids, root first) that stand for task (fp:
 * its fingerprint, pytask__fp) of target t in a sample: the awaiting
 * chain, outermost first, each awaiter with its coroutine frames, then
 * `Task-NAME`; or a marker frame when it cannot be read.  At most max
 * into out.  The count, or -errno (-ENOMEM).
 */
int asyncio__task_frames(struct asyncio *a, struct collector *c,
			 struct target *t, uint64_t task, uint32_t fp,
			 uint32_t *out, uint32_t max);

/* A new drain: what tasks are read as is read again when next needed. */
void asyncio__new_drain(struct asyncio *a);

/* Wall mode: seconds until the next pass over the task lists (<= 0: one
 * is due); a large number when there is none to make. */
double asyncio__tick_in(const struct asyncio *a);
/* Wall mode: a pass, when due: each pending task that is not running is
 * added to the collector's profile, under its stack, weighing the time
 * since the last pass. */
void asyncio__tick(struct asyncio *a, struct collector *c, struct targets *ts);

const struct asyncio_stats *asyncio__stats(const struct asyncio *a);
/* The summary's lines (none when nothing happened to say). */
void asyncio__print_summary(const struct asyncio *a, FILE *f, bool wall,
			    unsigned freq);

#endif /* PYPROF_ASYNCIO_H */
