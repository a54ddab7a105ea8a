/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Time for intervals and rate limits: monotonic, in seconds. */
#ifndef PYPROF_CLOCK_H
#define PYPROF_CLOCK_H

#include <time.h>

static inline double clock__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif /* PYPROF_CLOCK_H */
