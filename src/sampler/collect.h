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

#include "lib/hashmap.h"
#include "lib/profile.h"
#include "native/ksyms.h"
#include "native/merge.h"
#include "native/unwind.h"
#include "python/python.h"
#include "sampler/sampler.h"
#include "sampler/targets.h"

struct collector {
	struct profile *prof;
	struct targets *ts;
	struct sampler *bpf;
	bool thread_ids; /* "name (tid N)" */
	bool no_threads; /* no thread frame */
	bool merge_processes; /* root frame "comm", not "comm-PID" */
	bool timeline; /* record when samples were drained (trace format) */
	uint64_t drain_ns; /* CLOCK_MONOTONIC time of this drain */
	/* Wall mode / --gil: off-CPU ns into samples, GIL shares (NULL in
	 * plain cpu mode). */
	struct offcpu *offcpu;

	struct hashmap tid_ids; /* tid -> thread_id + 1, this drain only */
	struct pythread_name *buf;
	uint32_t *stack; /* scratch: one stack's frame ids */

	/* What the summary reports. */
	uint64_t unresolved; /* stack segments missing: lost */
	uint64_t unknown_frames; /* frames whose code object was unreadable */
	uint64_t no_target; /* samples of a process no longer known */

	/* --kernel, --native (src/native/merge.h, src/native/unwind.h, src/native/ksyms.h) */
	struct ksyms *ksyms; /* NULL: no kernel frames */
	struct unwinder *unw; /* NULL: no native frames */
	struct collect_native *nat; /* scratch for one native sample */
	uint64_t native_samples; /* native samples added */
	uint64_t native_unmerged; /* eval frames and Python groups disagreed */
	uint64_t native_cut; /* the unwind stopped before the root */
	uint64_t native_lost; /* sent without their stack (ring full) */
};

/*
 * Thread names are keyed by thread_id (pthread_self()), not tid, in each
 * target: a name read once stays usable after the thread exits, and a new
 * thread that reuses an old one's tid and stack (glibc caches stacks, so
 * even its pthread_self() repeats) gets its own name at the next re-read.
 */
int collect__init(struct collector *c, struct profile *prof, struct targets *ts,
		  bool thread_ids, bool no_threads, bool merge_processes);
void collect__fini(struct collector *c);

/* A sampler_sample_fn: adds one drained sample to the profile. */
int collect__sample(const struct sample_key *key, uint64_t count,
		    const struct py_frame *frames, uint32_t nframes, void *arg);

/* Sampler events: a new segment's code objects and a new thread's name are
 * read at once, while the process is alive. arg is the collector. */
void collect__on_new_seg(uint32_t pid, const struct py_seg *seg, void *arg);
void collect__on_new_thread(uint32_t pid, uint32_t tid, uint64_t thread_id,
			    void *arg);

/* The profile's process and thread frames of thread tid of pid (thread
 * UINT32_MAX with --no-threads).  0, -ENOENT for a process no longer
 * known, or -ENOMEM. */
int collect__thread_frames(struct collector *c, uint32_t pid, uint32_t tid,
			   uint32_t *proc, uint32_t *thread);

/* threading's name of thread tid of pid (or "MainThread") into buf; NULL
 * when it has none or the process is no longer known. */
const char *collect__thread_name(struct collector *c, uint32_t pid,
				 uint32_t tid, char *buf, size_t len);
/*
 * Turns on native frames (--native: unw) and kernel frames (--kernel:
 * ks); the collector does not own them.  0 or -ENOMEM.
 */
int collect__set_native(struct collector *c, struct unwinder *unw,
			struct ksyms *ks);

/* sampler_events.native: unwinds, merges and adds one native sample.
 * arg is the collector. */
void collect__on_native(const struct native_event *ev, size_t len, void *arg);

/* Marks thread names stale; call before each drain. */
void collect__new_drain(struct collector *c);

#endif /* PYPROF_COLLECT_H */
