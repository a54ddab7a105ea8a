/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The agent's control socket (issue 20): a unix socket on which a program
 * starts and stops profiling of itself, the region between the two
 * written to a file the program opened (its descriptor passed with
 * SCM_RIGHTS) or sent back as bytes.  The protocol is README.md's
 * "Profiling a region from the program".
 *
 * Who is asking is SO_PEERCRED's answer: a caller may profile itself
 * (every thread, or one of its threads) and its descendants; only root
 * may name another process.  Each run is a sampling session of its own
 * (src/sampler/session.c), in a thread of its own, beside the agent's:
 * it samples at the caller's frequency, with the caller's --native and
 * --mode, and nothing of it stays once it ends, however it ends (stop,
 * the caller's hang-up or death, the agent stopping).
 *
 * Every byte a client sends is untrusted: requests are lines of at most
 * CONTROL_LINE_MAX bytes, the first within CONTROL_HELLO_SECS, at most
 * max_clients connections at once.
 *
 * Threads: control__start and control__stop are for the agent's main
 * thread; everything else runs in the listener's and the runs' threads.
 */
#ifndef PYPROF_CONTROL_H
#define PYPROF_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "out/output.h"

#define CONTROL_DEFAULT_PATH "/run/pyprof-bpf.sock"
#define CONTROL_LINE_MAX 4096
#define CONTROL_HELLO_SECS 5
#define CONTROL_MAX_CLIENTS 16
/* After the agent is told to stop, how long runs have to write their
 * profiles. */
#define CONTROL_STOP_SECS 10

struct control_opts {
	const char *path; /* the socket's path */
	bool group; /* gid is the socket's group (mode 0660, else 0600) */
	gid_t gid;
	unsigned max_clients; /* connections at once */
	/* What every run inherits from the agent. */
	unsigned max_depth;
	bool thread_ids;
	bool verbose;
	const char *version; /* the agent's, for "ping" */
};

struct control;

/*
 * Binds and listens on o->path, and starts the listener's thread.  A stale
 * socket left at the path (nobody answers on it) is replaced; one an agent
 * answers on is not.  NULL with one line in err.
 */
struct control *control__start(const struct control_opts *o, char *err,
			       size_t errlen);
/* Stops listening and removes the socket; runs in progress end, each
 * writing what it had, for up to CONTROL_STOP_SECS.  NULL is fine. */
void control__stop(struct control *c);
/* Runs in progress, and started since the start, for /metrics (0 for a
 * NULL c). */
void control__runs(struct control *c, uint64_t *now, uint64_t *total);

/* What "start" asks for. */
struct control_req {
	pid_t pid; /* the process (default: the caller) */
	pid_t tid; /* only this thread (0: every thread) */
	bool children; /* its descendants too (never with tid) */
	unsigned freq; /* Hz */
	bool native, kernel, wall;
	enum out_format fmt; /* from name='s extension or format= */
};

/*
 * Parses the words after "start" (KEY=VALUE ..., name= last: the rest of
 * the line) of a caller of pid caller into *rq, writing into args.  0, or
 * -EINVAL with one line in err.  Says nothing of who may ask for it.
 */
int control__parse_start(char *args, pid_t caller, struct control_req *rq,
			 char *err, size_t errlen);

/*
 * Whether a caller of uid, pid caller, may profile process target (pure
 * but for /proc): root may profile anything; anyone else itself and its
 * descendants that run as uid.  false with one line in err.
 */
bool control__may_profile(uid_t uid, pid_t caller, pid_t target, char *err,
			  size_t errlen);

#endif /* PYPROF_CONTROL_H */
