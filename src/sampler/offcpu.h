/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Wall-clock mode and GIL state, userspace side (issue 9): turning off-CPU
 * nanoseconds into sample-equivalents, naming why a thread was off-CPU, the
 * per-thread on/off-CPU and GIL shares of the summary, and where each
 * CPython version keeps its GIL.
 */
#ifndef PYPROF_OFFCPU_H
#define PYPROF_OFFCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <linux/types.h>

#include "bpf/pyprof_shared.h"

struct offcpu;

/* What one thread's samples were, for the summary and the live view. */
struct offcpu_thread {
	uint32_t pid, tid;
	uint64_t on, off, held, waiting; /* samples */
};

/*
 * A converter and accumulator for one run.  period_ns is the sampling
 * period (1e9 / -F): one off-CPU period weighs one sample.  gil_only drops
 * every sample that does not hold the GIL.  NULL and errno on failure.
 */
struct offcpu *offcpu__new(uint64_t period_ns, bool gil_only);
void offcpu__free(struct offcpu *o);

/*
 * How many samples key's drained count stands for: count itself for an
 * on-CPU key, else count nanoseconds in sample periods, the remainder
 * carried to the key's next count so that no time is lost.  0 means
 * nothing to add (yet, or dropped by gil_only).  Also adds to the thread's
 * shares for the summary.
 */
uint64_t offcpu__samples(struct offcpu *o, const struct sample_key *key,
			 uint64_t count);

/* Pure conversion: (ns + *carry) in periods, the rest back into *carry. */
uint64_t offcpu__ns_to_samples(uint64_t ns, uint64_t period_ns,
			       uint64_t *carry);

/* The threads seen so far, in *v; their number. */
size_t offcpu__threads(const struct offcpu *o,
		       const struct offcpu_thread **v);

/*
 * What off-CPU time added to the samples the timer took, for the summary
 * to add up: off, the off-CPU sample-equivalents; dropped, the samples
 * (on- or off-CPU) --gil-only left out.  Taken + off = written + lost +
 * dropped.
 */
void offcpu__added(const struct offcpu *o, uint64_t *off, uint64_t *dropped);

/* The shares (0 to 1) of all samples so far that held the GIL and that
 * waited for it; both 0 before any. */
void offcpu__gil_shares(const struct offcpu *o, double *held,
			double *waiting);

/* The leaf frame of an off-CPU key: "[off-cpu: futex]", ... in buf. */
const char *offcpu__leaf(uint32_t flags, char *buf, size_t len);

/* A thread's name for the summary, in buf, or NULL. */
typedef const char *(*offcpu_name_fn)(uint32_t pid, uint32_t tid, char *buf,
				      size_t len, void *arg);

/* Summary lines: the on/off-CPU split, GIL shares, one line per thread
 * (at most max_threads, busiest first; named by name_fn if not NULL). */
void offcpu__print_summary(const struct offcpu *o, FILE *f, bool wall, bool gil,
			   size_t max_threads, offcpu_name_fn name_fn,
			   void *arg);

/*
 * Wall mode, when the at_rest iterator (bpf/offcpu.bpf.c) cannot run
 * (Linux 5.17): threads of pid already asleep in a system call when
 * profiling starts are not seen leaving the CPU, so they get a record in
 * the offcpu map (map_fd) now, with no stack (SAMPLE_F_ASLEEP_AT_START) and
 * the reason read from /proc/PID/task/TID/syscall.  The next time they
 * leave the CPU they get their real stack.  Returns the number of threads
 * seeded or -errno.
 */
int offcpu__seed(int map_fd, pid_t pid);

/*
 * Where CPython cfg->version keeps its GIL, for the BPF side.  0, or
 * -ENOTSUP when the version has no GIL we know of.
 */
int offcpu__gil_cfg(const struct py_proc_cfg *cfg, struct py_gil_cfg *g);

#endif /* PYPROF_OFFCPU_H */
