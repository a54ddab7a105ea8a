/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Time for intervals and rate limits: monotonic, in seconds. */
#ifndef PYPROF_CLOCK_H
#define PYPROF_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline double clock__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The same clock in nanoseconds: bpf_ktime_get_ns()'s. */
static inline uint64_t clock__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* PYPROF_CLOCK_H */
