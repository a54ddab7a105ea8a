/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The BPF side's lifecycle: open, configure, load, attach a perf_event
 * sampler to every online CPU; add targets; drain the double-buffered counts
 * without losing a sample; read the counters.
 */
#ifndef PYPROF_SAMPLER_H
#define PYPROF_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <linux/types.h>

#include "bpf/pyprof_shared.h"
#include "sampler/stats.h"

struct sampler;

/* Called from sampler__poll as the sampler meets new things, so that they
 * are read from the target while it is alive. */
struct sampler_events {
	void (*new_seg)(uint32_t pid, const struct py_seg *seg, void *arg);
	void (*new_thread)(uint32_t pid, uint32_t tid, uint64_t thread_id,
			   void *arg);
	void (*exec)(uint32_t pid, void *arg); /* a target exec'd */
	/* A process ran that -a or a followed parent wants looked at. */
	void (*probe)(uint32_t pid, void *arg);
	/* A followed process forked child (already followed, and already a
	 * target with the parent's config when the parent was one). */
	void (*fork)(uint32_t child, uint32_t parent, void *arg);
	/* The sampler recognised a process by an interpreter file described
	 * with sampler__add_interp_file, and samples it already. */
	void (*recognised)(const struct recognised_event *ev, void *arg);
	/* --native: a sample with its user stack (len bytes, at least the
	 * event header: the callback checks for the rest). */
	void (*native)(const struct native_event *ev, size_t len, void *arg);
	/* The timeline (sampler_opts.timeline): a counted sample or off-CPU
	 * span with its time.  Its stack resolves with sampler__py_frames
	 * and sampler__kstack_of until the drain of rec->buf ends. */
	void (*timed)(const struct timeline_rec *rec, void *arg);
	void *arg;
};

struct sampler_opts {
	unsigned freq; /* samples per second per CPU */
	unsigned max_depth; /* Python frames per stack */
	bool verbose; /* libbpf's debug output */
	unsigned discover; /* PYPROF_DISCOVER_* */
	bool wall; /* --mode wall: also count time off-CPU (offcpu.bpf.c) */
	bool gil; /* --gil: GIL state in the sample flags */
	bool async; /* --async: task pseudo-frames (SAMPLE_F_TASK) */
	unsigned native_mode; /* NATIVE_MODE_* (--kernel, --native) */
	bool timeline; /* send each sample's time (events.timed) */
	/* What the maps are sized from (src/sampler/mapsize.h). */
	double interval; /* seconds between drains (0: 1) */
	unsigned ntargets; /* processes attached before the start */
	unsigned map_scale; /* --map-scale: sized maps x 2^map_scale */
	struct sampler_events events;
};

/* Errors of sampler__open, for main's exit codes. */
enum sampler_err {
	SAMPLER_EPERM = 1, /* not permitted: privileges */
	SAMPLER_EKERNEL, /* the kernel lacks something (BTF, bpf_loop...) */
	SAMPLER_EOTHER,
};

/*
 * Opens, loads and attaches the sampler.  On failure returns NULL, sets *why
 * to a sampler_err, and writes one line saying what to do into err.
 */
struct sampler *sampler__open(const struct sampler_opts *o, int *why, char *err,
			      size_t errlen);
void sampler__close(struct sampler *p);

/* Starts sampling pid's threads with config cfg. 0 or -errno. */
int sampler__add_target(struct sampler *p, pid_t pid,
			const struct py_proc_cfg *cfg);
/*
 * Describes an interpreter file to the sampler, which from then on
 * recognises a process under discovery by its first sample in that file's
 * code (bpf/discover.bpf.h) and samples it with file->cfg at once.
 * 0 or -errno (-E2BIG: INTERP_FILES_MAX files already).
 */
int sampler__add_interp_file(struct sampler *p,
			     const struct interp_file_key *key,
			     const struct interp_file *file);
/* Tells the sampler that processes of executable key run a CPython: only
 * those it looks up in their mappings.  0 or -errno. */
int sampler__add_interp_exe(struct sampler *p,
			     const struct interp_file_key *key);
/* The samples the sampler took of pid while it was under discovery and
 * not recognised (bpf/discover.bpf.h), forgotten there.  0 if none. */
uint64_t sampler__take_parked(struct sampler *p, pid_t pid);
/* When pid last exec'd, on the sampler's clock (CLOCK_MONOTONIC, ns), or 0
 * if it has not since the sampler started or since it was forked. */
uint64_t sampler__exec_ns(struct sampler *p, pid_t pid);
/* Whether pid is sampled (added, forked from a target, or recognised). */
bool sampler__has_target(struct sampler *p, pid_t pid);
/* Stops sampling pid. */
void sampler__remove_target(struct sampler *p, pid_t pid);
/* Ends sampling, before the last drain: nothing is sampled, nor any
 * process recognised, after it (a recognised process or a forked child
 * the sampler added itself would still be sampled, and counted taken). */
void sampler__stop(struct sampler *p);
/* --async: where pid keeps its asyncio state (NULL: forget it).  0 or
 * -errno. */
int sampler__async_cfg(struct sampler *p, pid_t pid,
		       const struct py_async_cfg *cfg);

/* Follows pid's future children (PYPROF_DISCOVER_FOLLOW). 0 or -errno. */
int sampler__follow(struct sampler *p, pid_t pid);
/* Forgets pid: not followed, not a target, no probe verdict. */
void sampler__forget(struct sampler *p, pid_t pid);
/*
 * Answers a probe: pid is not to be announced again before retry_ns from
 * now (0: never, until it execs).
 */
void sampler__probe_later(struct sampler *p, pid_t pid, uint64_t retry_ns);

/*
 * Called once per distinct (thread, stack) drained: frames are leaf first,
 * nframes == key->depth.  When the stack's segments cannot all be found,
 * frames is NULL (the sample is counted as lost by the caller).
 */
typedef int (*sampler_sample_fn)(const struct sample_key *key, uint64_t count,
				 const struct py_frame *frames,
				 uint32_t nframes, void *arg);

/*
 * Switches the sampler to the other buffer, then hands every sample of the
 * buffer it left to fn and empties it.  0 or -errno.
 */
int sampler__drain(struct sampler *p, sampler_sample_fn fn, void *arg);

/* Waits up to timeout_ms for sampler events and handles them, for about
 * timeout_ms at most: the rest wait for the next call.  Returns the number
 * handled or -errno (-EINTR when a signal came, -EAGAIN when events were
 * left for the next call). */
int sampler__poll(struct sampler *p, int timeout_ms);

/* Sums the per-CPU counters into stats[STAT__MAX] (what each means:
 * sampler/stats.h). 0 or -errno. */
int sampler__stats(struct sampler *p, uint64_t *stats);

/*
 * The kernel's statistics of the sampler program (kernel.bpf_stats_enabled
 * must be 1, else both are 0): total run time in ns and number of runs.
 */
int sampler__prog_stats(struct sampler *p, uint64_t *run_ns, uint64_t *runs);

/* The pthread_self() of thread tid, as the sampler saw it. 0 or -ENOENT. */
int sampler__thread_id(struct sampler *p, uint32_t tid, uint64_t *thread_id);

/*
 * Wall mode: counts the time of threads still off-CPU up to now into the
 * active buffer (sampler__drain does it first).  0 or -errno.
 */
int sampler__offcpu_flush(struct sampler *p);

/* The kernel's statistics of the sched_switch program (wall mode). */
int sampler__switch_stats(struct sampler *p, uint64_t *run_ns, uint64_t *runs);
/* The same of the sched_waking program (wall mode). */
int sampler__waking_stats(struct sampler *p, uint64_t *run_ns, uint64_t *runs);

/*
 * During sampler__drain: the kernel return addresses of kernel stack id
 * (key->kstack), leaf first, into ips[max].  The count, or -ENOENT.
 */
int sampler__kstack(struct sampler *p, int32_t id, uint64_t *ips, uint32_t max);

/*
 * The timeline: the kernel return addresses of kernel stack id of buffer
 * buf (timeline_rec.buf), leaf first, into ips[max].  Valid until that
 * buffer's drain ends.  The count, or -ENOENT.
 */
int sampler__kstack_of(struct sampler *p, uint32_t buf, int32_t id,
		       uint64_t *ips, uint32_t max);

/*
 * The Python frames (leaf first) of a sample key, from the segments seen
 * so far or either buffer's stacks map; valid until the next call.  The
 * count (key->depth), or -ENOENT when a segment is missing.
 */
int sampler__py_frames(struct sampler *p, const struct sample_key *key,
		       const struct py_frame **frames);

/*
 * One line on f for each BPF map that filled during the run (stats are
 * sampler__stats'): which, its size, what was lost and the option that
 * raises it.  The number of lines.
 */
int sampler__print_full(const struct sampler *p, const uint64_t *stats,
			FILE *f);

/*
 * The kernel memory the BPF maps hold, in bytes (their memlock, which RSS
 * does not show); with f, the larger maps are listed on it as
 * ": name 1.23 MiB (entries), ...".
 */
uint64_t sampler__maps_memory(const struct sampler *p, FILE *f);

/* Online CPUs sampled. */
int sampler__ncpus(const struct sampler *p);

#endif /* PYPROF_SAMPLER_H */
