/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What each endpoint answers (route.h lists them), from the rolling window
 * (window.h) and the figures the main loop gathers (metrics.h); every
 * profile goes through the writers of src/out/, so that a format is
 * written in one place.  These are http.h's handlers: they run in the
 * listener's thread and take api.lock around the window and the figures.
 */
#ifndef PYPROF_API_H
#define PYPROF_API_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "serve/http.h"
#include "serve/metrics.h"
#include "serve/window.h"

#define API_MAX_STACKS 20000 /* stacks in one answer: the rest merged */
/* ... and their frames together: deep stacks (a test suite's, 100-300
 * frames) make an answer's size, not their number. */
#define API_MAX_FRAMES (256u << 10)
#define API_MAX_BYTES (64u << 20) /* bytes of one answer */

struct api {
	pthread_mutex_t lock; /* w and m, shared with the main loop */
	struct window *w;
	struct metrics m; /* the last figures */
	char host[64]; /* this machine's name, for titles */
	const char *what; /* what is profiled: "every Python process" */
	size_t max_stacks; /* per answer */
	size_t max_frames; /* per answer */
	size_t max_bytes; /* per answer */
};

/* http_handlers.respond: arg is the struct api. */
int api__respond(void *arg, const struct request *rq, struct reply *rp);
/* http_handlers.stream_next: arg is the struct api. */
int api__stream_next(void *arg, const struct request *rq, uint64_t *seq,
		     struct answer **out);

#endif /* PYPROF_API_H */
