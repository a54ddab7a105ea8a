/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Turning the samples drained from BPF into profile stacks: the process and
 * thread frames, the Python frames (name, file, line), and the marker
 * frames that say why a stack is incomplete.
 */
#ifndef PYPROF_COLLECT_H
#define PYPROF_COLLECT_H

#include <stdbool.h>
#include <stdint.h>

#include "hashmap.h"
#include "profile.h"
#include "profiler.h"
#include "python.h"

struct collector {
	struct profile *prof;
	struct py_target *target;
	struct profiler *bpf;
	bool thread_ids; /* "name (tid N)" */
	bool no_threads; /* no thread frame */

	uint32_t process_frame;
	/*
	 * Thread names are keyed by thread_id (pthread_self()), not tid: a
	 * name read once stays usable after the thread exits, and a new thread
	 * that reuses an old one's tid and stack (glibc caches stacks, so even
	 * its pthread_self() repeats) gets its own name at the next re-read.
	 */
	struct hashmap names; /* thread_id -> string id of its name */
	struct hashmap tid_ids; /* tid -> thread_id + 1, this drain only */
	bool names_fresh; /* names re-read since the last drain */
	double names_read_at; /* when (CLOCK_MONOTONIC seconds) */
	struct pythread_name *buf;
	uint32_t *stack; /* scratch: one stack's frame ids */

	/* What the summary reports. */
	uint64_t unresolved; /* stack segments missing: lost */
	uint64_t unknown_frames; /* frames whose code object was unreadable */
	bool execed; /* the target exec'd another program */
};

int collect__init(struct collector *c, struct profile *prof,
		  struct py_target *t, bool thread_ids, bool no_threads);
void collect__fini(struct collector *c);

/* A profiler_sample_fn: adds one drained sample to the profile. */
int collect__sample(const struct sample_key *key, uint64_t count,
		    const struct py_frame *frames, uint32_t nframes, void *arg);

/* profiler_events callbacks: read what a new segment's frames name, and a
 * new thread's name, while the target is alive. arg is the collector. */
void collect__on_new_seg(uint32_t pid, const struct py_seg *seg, void *arg);
void collect__on_new_thread(uint32_t pid, uint32_t tid, uint64_t thread_id,
			    void *arg);
void collect__on_exec(uint32_t pid, void *arg);

/* Marks thread names stale; call before each drain. */
void collect__new_drain(struct collector *c);

#endif /* PYPROF_COLLECT_H */
