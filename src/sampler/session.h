/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A sampling session: everything that turns processes into a profile, held
 * together for as long as one runs.  The processes (targets), the BPF
 * sampler, the collector that turns its samples into stacks of the profile,
 * and what --native, --kernel, --mode wall and --gil add (unwinder, kernel
 * symbols, off-CPU time).
 *
 * The lifecycle is session__new (nothing touched yet), session__attach for
 * the processes named up front, session__open (load the sampler, start
 * sampling), then session__poll / session__check / session__drain as often
 * as the caller likes, session__stop and a last session__drain, and
 * session__close, session__delete.  A session writes to no stream, owns no
 * terminal and handles no signal: `pyprof-bpf` (src/cmd/record.c) runs one
 * until the command ends; an agent can run one for as long as it lives.
 *
 * Read the members of struct session freely; change them only through
 * session__*.
 */
#ifndef PYPROF_SESSION_H
#define PYPROF_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/filter.h"
#include "lib/profile.h"
#include "native/ksyms.h"
#include "native/unwind.h"
#include "out/output.h"
#include "sampler/collect.h"
#include "sampler/sampler.h"
#include "sampler/targets.h"

/* What to sample and how: the command line's answers (src/cmd/options.h). */
struct session_opts {
	unsigned freq; /* samples per second per CPU */
	unsigned max_depth; /* Python frames per stack */
	double interval; /* seconds between drains, what the BPF maps are
			    sized for (0: 1) */
	unsigned map_scale; /* the sized BPF maps x 2^map_scale */
	bool verbose; /* libbpf's debug output, per-process messages */
	bool all; /* every Python process on the host, present and future */
	bool children; /* the attached processes' descendants too */
	bool launch; /* a command will be launched and followed
			(session__follow): its descendants are profiled */
	bool wall; /* off-CPU time too */
	bool gil; /* GIL held / waiting per sample */
	bool gil_only; /* only samples holding the GIL */
	bool native; /* native frames merged into the Python ones */
	bool kernel; /* kernel frames */
	bool async; /* asyncio task frames (coll.async) */
	bool thread_ids; /* "name (tid N)" thread frames */
	bool no_threads; /* no thread frame */
	bool merge_processes; /* root frame "comm", not "comm-PID" */
	bool timeline; /* when each sample was taken (the timeline) */
	struct filter_opts filter; /* --focus, --hide, --ignore */
	bool sources; /* each source file read as first named (the
			 heatmap: coll.sources, lib/sources.h) */
};

struct session {
	struct session_opts opts;
	struct targets ts;
	struct collector coll; /* coll.offcpu: --mode wall / --gil, owned
				  by the session */
	struct sampler *bpf; /* NULL until session__open */
	struct profile *prof;
	struct unwinder *unw; /* --native */
	struct ksyms *ksyms; /* --kernel */
	double wall_start; /* CLOCK_REALTIME seconds at the start */
	double start; /* clock__now() once sampling has begun */
	bool stopped; /* session__stop: the next drain is the last */
};

/* A session that samples nothing yet.  NULL and errno set on failure. */
struct session *session__new(const struct session_opts *o);
/* Frees a session made by session__new (closed first, if it was open). */
void session__delete(struct session *s);

/*
 * Attaches process pid, named by the user, to be profiled (before
 * session__open, the sampler learns of it then).  0, also when it already
 * is; or -errno with one line in err (see python__attach: -ESRCH no such
 * process, -ENOEXEC not Python, -ENOTSUP/-EINVAL a CPython it cannot
 * profile, -EPERM/-EACCES not permitted).
 */
int session__attach(struct session *s, pid_t pid, char *err, size_t errlen);

/* With children: pid, which is not Python itself (a shell), is followed for
 * its Python descendants, present and future.  Before session__open. */
void session__follow_only(struct session *s, pid_t pid);

/*
 * Loads and attaches the sampler and starts sampling the attached
 * processes (with children, their descendants too).  0, or -errno with one
 * line in err saying what to do, and the session as session__new left it:
 * -EPERM a privilege is lacking (the kernel refused the sampler, or kernel
 * symbols are unreadable), -ENOTSUP the kernel lacks a feature, -ENOMEM,
 * anything else a failure of its own.
 */
int session__open(struct session *s, char *err, size_t errlen);
/* Stops sampling and frees what session__open made, the profile too
 * (nothing when the session is not open). */
void session__close(struct session *s);

/* Follows pid's future children (a launched command). 0 or -errno. */
int session__follow(struct session *s, pid_t pid);

/* pid (followed) is about to exec path: if it is a CPython, the sampler
 * recognises it from its first instruction in the interpreter. */
void session__expect(struct session *s, pid_t pid, const char *path);

/* Waits up to timeout_ms for the sampler's events (new processes,
 * threads, code) and handles them; returns sooner while new threads wait
 * to be named (they are looked for then).  The number handled or -errno. */
int session__poll(struct session *s, int timeout_ms);
/* Notes the targets that exited since the last check. */
void session__check(struct session *s);
/* Whether a target went away and its last samples wait for a drain. */
bool session__want_drain(const struct session *s);
/*
 * Whether what the session profiles is gone: never with all; with
 * children, no target left and none followed; else no process the user
 * named left.
 */
bool session__targets_gone(const struct session *s);

/* Adds the samples taken since the last drain to the profile (after
 * session__stop, every sample left).  0 or -errno. */
int session__drain(struct session *s);
/* Stops sampling every target: the next drain holds their last samples. */
void session__stop(struct session *s);

/*
 * Hands the caller the profile so far (the samples since session__open or
 * the last swap) and goes on in fresh, an empty profile the session now
 * owns: an agent takes each interval's samples this way and keeps them as
 * it likes.  The old profile, which the caller frees; NULL with errno set
 * (ENOMEM) and nothing changed.
 */
struct profile *session__swap_profile(struct session *s,
				      struct profile *fresh);

/* Seconds since sampling began. */
double session__elapsed(const struct session *s);
/* The sampler's counters into stats[STAT__MAX]. 0 or -errno. */
int session__stats(struct session *s, uint64_t *stats);
/*
 * Samples taken but not in the profile: the maps were full, the stack
 * could not be resolved, or its process was no longer known.
 */
uint64_t session__lost(const struct session *s, const uint64_t *stats);

/* What the profile files say besides the stacks, and its strings. */
struct session_meta {
	struct out_meta m;
	char title[256];
	char python[128];
};

/*
 * The writers' meta of the profile so far, elapsed seconds long; command
 * names a launched command in the title (NULL if none).
 */
void session__meta(struct session *s, const char *command, double elapsed,
		   struct session_meta *sm);

#endif /* PYPROF_SESSION_H */
