/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The top-style terminal view (ncurses): a header, then the functions (or
 * lines) with OWN%, TOTAL%, OWN and TOTAL samples, as a flat table or a
 * call tree, for a live run or a saved profile; and the same table as
 * plain text for when stdout is not a terminal.
 *
 * Live use, from the profiling loop:
 *
 *	view = top__open(&(struct top_opts){ .live = true });
 *	every drain:	top__update(view, prof, &header);
 *	every tick:	if (top__wait(view, 0) == TOP_QUIT) stop;
 *	on every exit:	top__close(view);
 *
 * Only one view can be open at a time.  Until it is closed, nothing else
 * may write to the terminal (stderr included): it would be drawn over.
 */
#ifndef PYPROF_TOP_H
#define PYPROF_TOP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/profile.h"

#define TOP_HALF_LIFE 2.0 /* seconds, the default for top_opts.half_life */

struct top_opts {
	bool live; /* false: a saved profile: no "now" figures, no pause */
	double half_life; /* "now" figures halve in this many seconds (0:
			   * TOP_HALF_LIFE) */
	bool by_line; /* start per line, not per function */
	bool tree; /* start with the call tree */
};

/* What the header says.  Strings are copied; NULL or 0 leaves a field out. */
struct top_header {
	const char *target; /* "python3 4242", "3 processes", "app.folded" */
	const char *python; /* "3.11.7" */
	unsigned rate_hz; /* sampling frequency */
	uint64_t samples; /* samples taken in the last interval */
	uint64_t samples_total; /* taken since the start (0: the profile's) */
	uint64_t lost; /* lost since the start */
	unsigned threads; /* threads seen (0: counted from the profile) */
	bool has_gil; /* gil_share and gil_waiting are set (--gil) */
	double gil_share; /* share of the time the GIL was held, 0 to 1 */
	double gil_waiting; /* share of the time spent waiting for it */
	/* With has_gil: the shares of the thread whose frames (profile frame
	 * ids, thread UINT32_MAX if none) are given; false if unknown. */
	bool (*thread_gil)(uint32_t proc, uint32_t thread, double *held,
			   double *waiting, void *arg);
	void *thread_gil_arg;
	const char *status; /* a short note: "the process exited" */
};

/* top__wait's answers. */
enum top_action {
	TOP_CONTINUE = 0, /* the timeout passed, or a signal arrived */
	TOP_QUIT = 1, /* q, or the terminal went away */
	TOP_RESET = 2, /* r: the view counts from zero (its header too) */
};

struct top;

/*
 * Takes over the terminal (stdout; keys from stdin, or /dev/tty when stdin
 * is not a terminal).  NULL with errno: ENOTTY (stdout is not a terminal),
 * EINVAL (TERM unknown), EBUSY (a view is already open), ENOMEM.
 * Install SIGINT/SIGTERM handlers before: ncurses only leaves alone the
 * handlers it finds.  The terminal is restored at exit() and on crashing
 * signals too.
 */
struct top *top__open(const struct top_opts *o);

/*
 * Shows the profile's current counts; h may be NULL (header unchanged).
 * Live: "now" figures decay by the time since the last update.  The
 * profile must stay valid until the next update or top__close, its stack
 * indexes stable and its counts growing.  While paused the screen keeps
 * what it showed.  0 or -ENOMEM.
 */
int top__update(struct top *t, const struct profile *cumulative,
		const struct top_header *h);

/*
 * Handles keys and resizes for up to timeout_ms (0: only what is pending).
 * Returns TOP_CONTINUE when the time is up or a signal interrupted the
 * wait (check your flags), TOP_QUIT or TOP_RESET at once.
 */
int top__wait(struct top *t, int timeout_ms);

/* The file descriptor keys come from, for a caller's poll(). */
int top__fd(const struct top *t);

/* Restores the terminal and frees t.  NULL and a second call are fine. */
void top__close(struct top *t);

/*
 * Async-signal-safe: puts the terminal back as top__open found it (leaves
 * the alternate screen, shows the cursor, restores the tty modes), for a
 * signal handler that will not return to the loop.  top__close is still
 * due afterwards.  Does nothing when no view is open.
 */
void top__restore_terminal(void);

/*
 * The table as plain text: a header line, the column titles, the top rows
 * functions (o->by_line: lines) by own samples since the start (rows <= 0:
 * all of them), and an empty line.  o may be NULL (per function); o->tree
 * is not used.  0 or -errno.
 */
int top__snapshot(FILE *f, const struct profile *p, const struct top_header *h,
		  int rows, const struct top_opts *o);

#endif /* PYPROF_TOP_H */
