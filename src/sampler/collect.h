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
#include "native/framecache.h"
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
	uint32_t unnamed; /* ... of them without a symbol */
	bool cut; /* the unwind stopped before the root */
	int merged; /* enum merge_result */
	struct merge_slot slots[PY_MAX_DEPTH_CAP + NATIVE_FRAMES_MAX + 1];
	uint32_t nslots; /* root first */

	/* The Python frames' profile ids, root first, when known at once
	 * (collector.py_ids); else each is named as the slots meet it. */
	uint32_t pyids[PY_MAX_DEPTH_CAP];
	bool have_pyids;

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
	/* The timeline (issue 21): timed, the sample at t_ns (on the
	 * sampler's clock) with its thread's voluntary switches nvcsw; or
	 * with span_ns, the off-CPU span from t_ns that long. */
	bool timed;
	uint64_t t_ns;
	uint64_t span_ns;
	uint32_t nvcsw;
	/* Named at once, with a stand-in if its thread has no name yet,
	 * instead of waiting for the name (a timed stack needs its index). */
	bool no_wait;
	const struct py_frame *py; /* leaf first, as the sampler gives them */
	uint32_t npy;
	/* --async (issue 23): the asyncio task the sample is of (0: none),
	 * its fingerprint (pytask__fp), and how many of py's frames, from
	 * the leaf, are the task's (-1: its coroutine's frame was not on the
	 * stack); task_waiting: a task that was not running (wall mode). */
	uint64_t task;
	uint32_t task_fp;
	int32_t task_depth;
	bool task_waiting;
	const struct collect_native *nat; /* --native; NULL: none */
	bool native_lost; /* --native, but sent without its user stack */
	const uint64_t *kips; /* --kernel: return addresses, leaf first */
	int nkips; /* < 0: the kernel stack was lost */
};

/* A sample that waits for its thread's name: its built stack, whose
 * thread frame (ids[1]) is still to be filled. */
struct collect_deferred {
	struct target *t;
	uint32_t tid;
	uint32_t n; /* frame ids */
	uint32_t *ids;
	uint64_t count;
	bool timed; /* collect_sample's timeline fields */
	uint64_t t_ns, span_ns;
	uint32_t nvcsw;
	double since; /* clock__now() when it began to wait */
};

struct collector {
	struct profile *prof;
	struct targets *ts;
	struct sampler *bpf;
	bool thread_ids; /* "name (tid N)" */
	bool no_threads; /* no thread frame */
	bool merge_processes; /* root frame "comm", not "comm-PID" */
	/* ---- issue 21: the timeline and the filters ---- */
	bool timeline; /* time each sample (collect__on_timed) */
	bool gil_only; /* --gil-only: untimed what offcpu__samples drops */
	struct filter *filter; /* --focus/--hide/--ignore; NULL: none */
	struct hashmap timed_stacks; /* this drain: timed key -> stack + 1
					(0: not in the profile) */
	struct hashmap nvcsw; /* tid -> its last nvcsw + 1 */
	uint64_t filtered; /* samples the filter left out */
	uint64_t timed_samples, timed_spans; /* on the timeline */
	uint64_t timed_lost; /* not: stack or process gone, no memory */
	uint64_t timed_ns; /* spent placing them (collect__on_timed) */
	/* ---- end of issue 21 ---- */
	/* Wall mode / --gil: off-CPU ns into samples, GIL shares (NULL in
	 * plain cpu mode). */
	struct offcpu *offcpu;
	/* The heatmap: each source file read from its target the first time
	 * a code object names it (NULL: not asked for). */
	struct sources *sources;
	/* --async: asyncio tasks (NULL: not asked for). */
	struct asyncio *async;

	/* Threads announced without a name yet: pid << 32 | tid -> ms when
	 * announced + 1; looked for until named (collect__retry_names). */
	struct hashmap pending;
	double names_retried_at;
	/* Samples waiting for their thread's name (collect__flush). */
	struct collect_deferred *deferred;
	size_t ndeferred, deferred_cap, deferred_ids;
	struct pythread_name *buf;
	uint32_t *stack; /* scratch: one stack's frame ids */
	uint32_t stack_max; /* its size */

	/* What the summary reports. */
	uint64_t lost[COLLECT_LOST__MAX]; /* samples not added, by reason */
	uint64_t unknown_frames; /* frames whose code object was unreadable */
	uint64_t parked_kept; /* samples taken before their process was
				 recognised, kept (collect__parked) */

	/* --kernel, --native (src/native/merge.h, src/native/unwind.h, src/native/ksyms.h) */
	struct ksyms *ksyms; /* NULL: no kernel frames */
	struct unwinder *unw; /* NULL: no native frames */
	struct collect_native *nat; /* scratch for one native sample */
	uint64_t native_samples; /* native samples added */
	uint64_t native_unmerged; /* eval frames and Python groups disagreed */
	uint64_t native_cut; /* the unwind stopped before the root */
	uint64_t native_lost; /* sent without their stack (ring full) */
	uint64_t native_frames; /* native frames in added samples */
	uint64_t native_unnamed; /* ... of them without a symbol */
	/* --native: frame ids of symbolised addresses (by unwind_sym.id)
	 * and of Python stacks (by process and stack key), reused by every
	 * later sample (src/native/framecache.h); py_ids is cleared when a
	 * target is retired (its pid may come back as another process). */
	struct framecache sym_ids, py_ids;
	uint64_t py_ids_retired; /* targets retired when last cleared */
};

/*
 * Thread names are kept by tid in each target (see src/sampler/collect.c,
 * "Thread names"): a name read once stays usable after the thread exits,
 * and a new thread that reuses an old one's stack (glibc caches stacks, so
 * its pthread_self() repeats) is not taken for the old one.
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

/* Marks thread names stale and adds the samples whose thread's name they
 * waited for (see may_wait in collect.c); call before each drain. */
void collect__new_drain(struct collector *c);

/* Adds the samples still waiting for their thread's name, with a stand-in
 * name if it has none yet: after the last drain. */
void collect__flush(struct collector *c);

/*
 * Threads the sampler announced that have no name yet are looked for again
 * by collect__retry_names, at most every 20 ms, until named (or gone):
 * call it every COLLECT_NAMES_RETRY_MS while collect__names_pending, and
 * between events (which may take long to handle: --native), where it
 * returns at once when it is not time yet.
 */
#define COLLECT_NAMES_RETRY_MS 25
bool collect__names_pending(const struct collector *c);
void collect__retry_names(struct collector *c);

/* --async: a profile frame for Python frame pf of t, and a marker frame
 * ("[task unreadable]"); a frame id or -ENOMEM. */
int64_t collect__python_frame(struct collector *c, struct target *t,
			      const struct py_frame *pf);
int64_t collect__marker(struct collector *c, const char *text);

/* sampler_events.timed: puts a sample or off-CPU span on the profile's
 * timeline (c->timeline).  arg is the collector. */
void collect__on_timed(const struct timeline_rec *rec, void *arg);

/* Adds the samples the sampler took of each target before it recognised
 * it (target.parked), under "[not yet recognised]".  At each drain. */
void collect__parked(struct collector *c);

#endif /* PYPROF_COLLECT_H */
