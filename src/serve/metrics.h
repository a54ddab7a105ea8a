/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * GET /metrics: the agent's counters in Prometheus' text format (0.0.4).
 * The main loop gathers the figures (struct metrics) after each interval;
 * the endpoint only formats the last ones, so that no request reads a file.
 */
#ifndef PYPROF_METRICS_H
#define PYPROF_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>

#include "bpf/pyprof_shared.h"
#include "serve/window.h"

/* HTTP answers counted by status. */
enum metrics_status {
	MS_200,
	MS_304,
	MS_400,
	MS_401,
	MS_404,
	MS_405,
	MS_413, /* request headers too large (431 too) */
	MS_500,
	MS_503,
	MS_OTHER,
	MS__MAX,
};

struct http_stats {
	uint64_t answers[MS__MAX];
	uint64_t connections; /* accepted since the start */
	uint64_t open; /* open now */
	uint64_t streams; /* /stream readers now */
	uint64_t deadline; /* closed for being too slow */
	uint64_t busy; /* turned away: too many streams or bytes queued */
	uint64_t queued; /* bytes of answers waiting for clients now */
};

struct metrics {
	const char *version;
	unsigned freq;
	double interval;
	unsigned window_secs;
	double start_time; /* CLOCK_REALTIME at the start */
	double uptime;
	uint64_t stats[STAT__MAX]; /* the sampler's counters */
	uint64_t lost; /* samples taken but not kept (session__lost) */
	uint64_t processes; /* profiled now */
	uint64_t attached, not_python, unsupported, failed;
	bool bpf_stats; /* the kernel's BPF run-time statistics are on */
	uint64_t bpf_run_ns, bpf_runs;
	uint64_t rss, maps; /* bytes: resident memory, BPF maps (memlock) */
	double cpu; /* the agent's CPU seconds */
	struct window_stats win;
	struct http_stats http;
	/* The control socket (src/serve/control.h): runs now, since the
	 * start. */
	uint64_t control_runs, control_runs_total;
};

/* Writes m in the text format. 0 or -EIO. */
int metrics__write(FILE *f, const struct metrics *m);

/* Maps an HTTP status to its counter. */
enum metrics_status metrics__status(unsigned code);

/*
 * The agent's own resident memory and CPU time (/proc/self), and the
 * memory its BPF maps hold (the memlock of every map fd in
 * /proc/self/fdinfo).  Each 0 when unknown.
 */
void metrics__self(uint64_t *rss, double *cpu, uint64_t *maps);

#endif /* PYPROF_METRICS_H */
