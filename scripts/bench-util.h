/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What the benchmark programs share (scripts/bench-floor.c,
 * scripts/bpfcost-read.c): a stop flag for SIGINT/SIGTERM, libbpf without
 * its debug lines, a positive number from the command line, and the
 * sampler's cpu-clock event on one CPU.
 */
#ifndef PYPROF_BENCH_UTIL_H
#define PYPROF_BENCH_UTIL_H

#include <errno.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig __attribute__((unused)))
{
	stop = 1;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* s as a number in (0, max] (as strtoul reads it in base 0: 0x is hex),
 * into *out; -EINVAL if it is not one. */
static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	if (errno || end == s || *end || *out == 0 || *out > max)
		return -EINVAL;
	return 0;
}

/* Same attributes as the sampler's events (src/sampler/sampler.c): a
 * fixed period of CPU clock, 1e9 / hz nanoseconds. */
static int perf_open(int cpu, unsigned long hz)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = 1000000000ull / hz,
	};

	return (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1,
			    PERF_FLAG_FD_CLOEXEC);
}

#endif /* PYPROF_BENCH_UTIL_H */
