/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The figures behind the live view (top.c), kept apart from the drawing so
 * that they can be tested: own and total samples per function or per line,
 * cumulative since the last reset and as decaying "now" figures, a filter
 * on one thread, and a call tree.
 *
 * The model reads a cumulative profile at each update.  Its stack indexes
 * must be stable and its counts may only grow (as the profiling loop's
 * profile does); the model takes the differences itself.
 *
 * Own samples: stacks whose leaf is the function (or line).  Total samples:
 * stacks that hold it anywhere, counted once per stack however often it
 * recurses.  Process and thread frames are not rows of the flat table; in
 * the tree they are the first levels.
 */
#ifndef PYPROF_TOP_MODEL_H
#define PYPROF_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/profile.h"

/* Rows kept per aggregation; frames past it share "[other functions]". */
#define TOP_ROWS_MAX (1u << 16)
/* Call-tree nodes; a stack deeper than what fits stops at its last node. */
#define TOP_NODES_MAX (1u << 18)
/* Threads told apart by the filter; the rest share "[other threads]". */
#define TOP_THREADS_MAX 4096u
/* asyncio tasks (--async) told apart; the rest share "[other tasks]". */
#define TOP_TASKS_MAX 4096u
/* A tree node is open by default when it holds this share of the samples. */
#define TOP_AUTO_OPEN_PCT 10.0

#define TOP_NO_FRAME UINT32_MAX
#define TOP_ALL_THREADS (-1)

enum top_sort {
	TOP_SORT_OWN_PCT,
	TOP_SORT_TOTAL_PCT,
	TOP_SORT_OWN,
	TOP_SORT_TOTAL,
	TOP_SORT_NAME,
	TOP_SORT__MAX,
};

extern const char *const top_sort_names[TOP_SORT__MAX];

/* One line of the table: a row of the flat table or a visible tree node. */
struct top_item {
	uint32_t id; /* row (flat) or node (tree) */
	uint32_t frame; /* a profile frame naming it, or TOP_NO_FRAME */
	uint32_t depth; /* in the tree (0: top level); 0 in the flat table */
	bool has_children; /* tree: some child has samples */
	bool open; /* tree: its children are shown */
	uint64_t own, total; /* samples since the last reset */
	double own_now, total_now; /* decaying figures */
};

struct top_model;

struct top_model *top_model__new(void);
void top_model__free(struct top_model *m);

/*
 * Takes p's current counts.  keep in [0, 1] is the weight the previous
 * "now" figures keep (1: they are never forgotten; 0: "now" is this update
 * alone).  p must stay valid until the next update or free.  A profile with
 * fewer stacks than the last one is taken as a new profile: everything is
 * reset.  0 or -ENOMEM.
 */
int top_model__update(struct top_model *m, const struct profile *p,
		      double keep);
/* Counts from zero again (the tree's open/closed state stays). */
void top_model__reset(struct top_model *m);

void top_model__set_by_line(struct top_model *m, bool by_line);
bool top_model__by_line(const struct top_model *m);

/* Threads seen, in order of first appearance.  A thread is a (process
 * frame, thread frame) pair; without thread frames, each process is one. */
size_t top_model__nthreads(const struct top_model *m);
/* How many of them have a thread frame (0 with --no-threads). */
size_t top_model__named_threads(const struct top_model *m);
/*
 * asyncio tasks seen (--async), in order of first appearance: a task is a
 * (process frame, task frame) pair, and a stack is its innermost task's.
 */
size_t top_model__ntasks(const struct top_model *m);
/* Only thread i from now on, or TOP_ALL_THREADS; i from nthreads on is
 * task i - nthreads (the stacks whose innermost task it is). */
void top_model__set_thread(struct top_model *m, int i);
int top_model__thread(const struct top_model *m);
/* The profile's process and thread frames of thread i (thread UINT32_MAX
 * when the stacks have none); false for "[other threads]" and the like. */
bool top_model__thread_frames(const struct top_model *m, size_t i,
			      uint32_t *proc, uint32_t *thread);

/* Its label ("MainThread", "python3-42/MainThread" with several
 * processes; a task's "Task-NAME"), as snprintf. */
size_t top_model__thread_label(const struct top_model *m, size_t i, char *buf,
			       size_t len);

/* Samples of the selected threads since the reset, and their "now" sum. */
void top_model__sums(struct top_model *m, uint64_t *total, double *now);

/*
 * The lines to show, sorted by sort (descending; by name ascending), with
 * percentages from the "now" figures when by_now.  tree: the visible nodes
 * of the call tree, depth first; else every row with samples.  *items
 * stays valid until the next call into the model.  0 or -ENOMEM.
 */
int top_model__items(struct top_model *m, bool tree, enum top_sort sort,
		     bool by_now, const struct top_item **items, size_t *n);

/*
 * The rows shown: only those whose label (top_model__label) holds
 * pattern, case-insensitive, as CPython's own sampler's live view filters
 * (`/`); in the tree, the matching nodes and the nodes on the way to them
 * (opened).  NULL or "" shows every row.  0 or -ENOMEM.
 */
int top_model__set_match(struct top_model *m, const char *pattern);
/* The pattern set, or NULL. */
const char *top_model__match(const struct top_model *m);

/* Samples the profile's filters (--focus, --ignore) left out since the
 * reset: percentages with all threads shown are of these and the rest,
 * as in pprof. */
uint64_t top_model__left_out(const struct top_model *m);

/* Tree node: open (1), close (0) or toggle (-1). */
void top_model__open(struct top_model *m, uint32_t node, int open);
/* Its parent, or TOP_NO_FRAME at the top level. */
uint32_t top_model__parent(const struct top_model *m, uint32_t node);
/* true when the call tree ran out of nodes (TOP_NODES_MAX). */
bool top_model__tree_full(const struct top_model *m);

/*
 * An item's label, as snprintf: "name (file:line)" per line,
 * "name (file)" per function, the bare name for other frames.  When loc is
 * not NULL it gets where " (file...)" starts in the label, or -1 if there
 * is none: a view short of room shortens the file before the name.
 */
size_t top_model__label(const struct top_model *m, const struct top_item *it,
			char *buf, size_t len, long *loc);

#endif /* PYPROF_TOP_MODEL_H */
