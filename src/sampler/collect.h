/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Turning samples into profile stacks: the process and thread frames, the
 * Python frames (name, file, line), native and kernel frames, and the
 * marker frames that say why a stack is incomplete.  Samples come two ways,
 * counted in BPF maps and drained (collect__sample), or one by one with a
 * stack copy on the ring buffer (--native, collect__on_native); both hand
 * them to one builder (collect__add), and a sample either path cannot add
 * is counted lost under its reason (enum collect_lost).
 */
#ifndef PYPROF_COLLECT_H
#define PYPROF_COLLECT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/hashmap.h"
#include "lib/profile.h"
#include "native/ksyms.h"
#include "native/merge.h"
#include "native/unwind.h"
#include "python/python.h"
#include "sampler/sampler.h"
#include "sampler/targets.h"

/*
 * Why a sample was not added to the profile.  Every sample the sampler
 * counted or sent is either in the profile or counted under one of these
 * (in samples): the run summary prints them among the lost.
 */
enum collect_lost {
	COLLECT_LOST_UNRESOLVED, /* its Python stack segments were gone */
	COLLECT_LOST_NO_TARGET, /* its process is no longer known */
	COLLECT_LOST_PROFILE_FULL, /* the profile could not grow (memory) */
	COLLECT_LOST_TOO_DEEP, /* more frames than one stack holds */
	COLLECT_LOST_NATIVE_SHORT, /* --native: a record cut short */
	COLLECT_LOST_NATIVE_OFF, /* --native: a record, but no unwinder */
	COLLECT_LOST__MAX,
};

#define COLLECT_LOST_NAMES                                                \
	{                                                                 \
		"stack unresolvable", "process no longer known",          \
			"profile full (out of memory)", "stack too deep", \
			"native: event too short", "native: no unwinder", \
	}

/* Physical native frames unwound per sample. */
#define NATIVE_FRAMES_MAX 256
#define NATIVE_IDS_PER_FRAME (UNWIND_INLINE_MAX + 1)

/*
 * The native half of one --native sample, as collect__on_native builds it:
 * the native frames (profile frame ids, each frame's inlined callees after
 * it), and where the Python frames go among them (src/native/merge.h).
 */
struct collect_native {
	uint32_t ids[NATIVE_FRAMES_MAX][NATIVE_IDS_PER_FRAME]; /* root first */
	uint32_t nids[NATIVE_FRAMES_MAX];
	uint32_t nframes; /* native frames unwound */
	bool cut; /* the unwind stopped before the root */
	int merged; /* enum merge_result */
	struct merge_slot slots[PY_MAX_DEPTH_CAP + NATIVE_FRAMES_MAX + 1];
	uint32_t nslots; /* root first */

	/* Scratch for building the above. */
	struct py_frame py[PY_MAX_DEPTH_CAP]; /* root first */
	uint64_t pcs[NATIVE_FRAMES_MAX]; /* leaf first */
	bool eval[NATIVE_FRAMES_MAX]; /* root first */
};

/*
 * One sample as both paths hand it to the stack builder (collect__add):
 * whose it is, its Python frames and the flags that say why they may be
 * incomplete, and its native and kernel frames when it has them.
 */
struct collect_sample {
	struct target *t;
	uint32_t tid;
	uint32_t flags; /* SAMPLE_F_* */
	uint64_t count; /* in samples */
	uint64_t t_ns; /* when, for the timeline (trace format) */
	const struct py_frame *py; /* leaf first, as the sampler gives them */
	uint32_t npy;
	const struct collect_native *nat; /* --native; NULL: none */
	bool native_lost; /* --native, but sent without its user stack */
	const uint64_t *kips; /* --kernel: return addresses, leaf first */
	int nkips; /* < 0: the kernel stack was lost */
};

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
	uint32_t stack_max; /* its size */

	/* What the summary reports. */
	uint64_t lost[COLLECT_LOST__MAX]; /* samples not added, by reason */
	uint64_t unknown_frames; /* frames whose code object was unreadable */

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

/*
 * Makes prof the profile samples are added to from now on, so that a
 * caller can take each interval's samples away in their own profile (the
 * agent, src/cmd/serve.c).  The ids the targets cache (process frame,
 * thread names) are carried over to prof.  0 or -ENOMEM.
 */
int collect__set_profile(struct collector *c, struct profile *prof);

/*
 * The stack builder both paths share: the process and thread frames, the
 * marker frames that say why a stack is incomplete, the Python frames (or
 * with s->nat the merged Python and native frames), the kernel frames and
 * the off-CPU leaf, added to the profile.  0, or -errno when the sample was
 * not added: it is counted in c->lost then.
 */
int collect__add(struct collector *c, const struct collect_sample *s);

/* Samples not added to the profile, every reason (c->lost) together. */
uint64_t collect__lost(const struct collector *c);
/* The run summary's reasons, as ", reason N" each: the two every mode can
 * have always, the others when they happened. */
void collect__print_lost(const struct collector *c, FILE *f);
/* -v: every counter of the collector, one a line. */
void collect__print_stats(const struct collector *c, FILE *f);

/* A sampler_sample_fn: adds one drained sample to the profile (or counts
 * it lost); always 0, so that the drain goes on. */
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

/* sampler_events.native: unwinds, merges and adds one native sample, or
 * counts it lost.  arg is the collector. */
void collect__on_native(const struct native_event *ev, size_t len, void *arg);

/* Marks thread names stale; call before each drain. */
void collect__new_drain(struct collector *c);

#endif /* PYPROF_COLLECT_H */
