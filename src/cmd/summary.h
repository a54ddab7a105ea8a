/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The run summary on stderr: what was profiled and why it stopped, and
 * every sample accounted for (taken, written, lost, and why).
 */
#ifndef PYPROF_SUMMARY_H
#define PYPROF_SUMMARY_H

#include <stdbool.h>

#include "sampler/session.h"

/* How a run ended. */
struct run_end {
	double elapsed; /* seconds sampled */
	double setup; /* seconds loading the sampler, before those */
	int signal; /* the SIGINT, SIGTERM or SIGHUP that stopped it, or 0 */
	bool targets_gone; /* what it profiled had exited */
};

/* Prints the summary of session s (open, drained for the last time). */
void summary__print(struct session *s, const struct run_end *end);

#endif /* PYPROF_SUMMARY_H */
