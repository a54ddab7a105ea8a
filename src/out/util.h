/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What the profile writers (src/out_*.c) share: escaping for JSON and XML,
 * frame labels, the process and thread frames at the root of a stack, and
 * the merged call tree the flame graphs draw.  Not a public API: main.c
 * and the subcommands go through output.h.
 */
#ifndef PYPROF_OUT_UTIL_H
#define PYPROF_OUT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/profile.h"

struct out_meta;

/*
 * Decodes one UTF-8 character at s (NUL-terminated).  Returns the bytes it
 * takes (at least 1); a byte that starts no valid, shortest-form, non-
 * surrogate character decodes as U+FFFD and takes one byte.
 */
size_t out__utf8_next(const char *s, uint32_t *cp);

/* s as a JSON string, quotes included: control characters as \u00XX,
 * invalid UTF-8 as \ufffd. */
void out__json_str(FILE *f, const char *s);

/* s as XML/HTML text or attribute value: & < > " ' as entities; control
 * characters (which XML 1.0 cannot carry) and invalid UTF-8 as U+FFFD. */
void out__xml_str(FILE *f, const char *s);

/* The same, at most max characters, then "..". */
void out__xml_str_cut(FILE *f, const char *s, size_t max);

/* len bytes at s (followed by a NUL or a byte below 0x80, such as a line's
 * '\n') as XML text, tabs kept: for file contents.  A NUL, a control
 * character or a byte that is not UTF-8 becomes U+FFFD; returns how many
 * bytes were not UTF-8 (NULs included). */
size_t out__xml_text(FILE *f, const char *s, size_t len);

/* s with control characters as '?' and invalid UTF-8 as U+FFFD, for the
 * line-based formats (callgrind). */
void out__line_str(FILE *f, const char *s);

/* The number of characters (not bytes) of s. */
size_t out__utf8_len(const char *s);

/* The name a frame shows ("[unknown]" for an empty one). */
const char *out__name(const struct profile *p, const struct pframe *fr);

/*
 * A frame's label, as the flame graphs print it: the name, and for a
 * Python frame " (file:line)" (no ":line" when unknown, "?" for no file).
 * Not sanitised: escape it for the format.  NULL on ENOMEM.
 */
char *out__label(const struct profile *p, const struct pframe *fr);

/*
 * Where a stack's own frames start: frames[0] is its process when it is a
 * PF_PROCESS frame, the next its thread when PF_THREAD.  *proc and *thread
 * are frame ids or UINT32_MAX when absent.  Returns the index of the first
 * frame after them.
 */
uint32_t out__split(const struct profile *p, const uint32_t *frames, uint32_t n,
		    uint32_t *proc, uint32_t *thread);

/*
 * The first line of each frame's function, by frame id, for the formats
 * that name a function by where it starts (pstats, the heatmap): the one
 * the collector recorded (co_firstlineno), else, for a Python frame, the
 * lowest line a frame of the same name and file has (folded stacks do not
 * carry first lines), else -1.  malloc'd, profile__nframes() entries;
 * NULL on ENOMEM.
 */
int32_t *out__first_lines(const struct profile *p);

/* The pid in a process label "comm-PID"; 0 if it has none. */
uint32_t out__label_pid(const char *label);

/* fflush and check the stream: 0 or -errno (-EIO). */
int out__finish(FILE *f);

/* A few things every writer prints from the metadata ("" when unknown). */
const char *out__meta_title(const struct out_meta *m);
/* The rows of an HTML report's summary table that m gives (what was
 * profiled, the Python, when it started, how long, the frequency): those
 * it has, as <tr><th>..</th><td>..</td></tr> lines. */
void out__html_meta_rows(FILE *f, const struct out_meta *m);

/*
 * Labels per frame id, made once and shared by the tree and the writers.
 */
struct out_labels {
	char **label; /* [nframes], NULL until asked */
	size_t n;
};

int out_labels__init(struct out_labels *l, const struct profile *p);
/* The label of frame id (never NULL after a successful init: "" on
 * ENOMEM, with *err set). */
const char *out_labels__get(struct out_labels *l, const struct profile *p,
			    uint32_t id, int *err);
void out_labels__free(struct out_labels *l);

/*
 * The call tree: every stack merged from the root ("all", node 0), one
 * node per distinct path.  Children are in label order (then frame id), as
 * flame graphs draw them; nodes[child[first..first+nchild)] are a node's
 * children.  Its size is bounded by the frames of the profile's stacks.
 */
struct out_node {
	uint32_t frame; /* UINT32_MAX for the root */
	uint32_t parent;
	uint32_t depth;
	uint32_t nchild;
	size_t first; /* into tree->child */
	uint64_t total; /* samples in this node and below */
	uint64_t self; /* samples ending here */
};

struct out_tree {
	struct out_node *nodes;
	size_t nnodes, cap;
	uint32_t *child; /* node ids, grouped by parent */
	uint32_t max_depth;
};

/* Builds the tree of p (stacks with no frames or no samples are left out).
 * 0, -ENOMEM, or -E2BIG past 2^32 - 2 nodes. */
int out_tree__build(struct out_tree *t, const struct profile *p,
		    struct out_labels *labels);
void out_tree__free(struct out_tree *t);

#endif /* PYPROF_OUT_UTIL_H */
