/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The set of processes being profiled: the ones named with -p, and the ones
 * found later (-a, followed children, a launched command's descendants).
 * A process is attached (its interpreter found), handed to the sampler,
 * and, once it exits or execs, kept until one drain has collected its last
 * samples; then it is retired to a line in the summary.
 */
#ifndef PYPROF_TARGETS_H
#define PYPROF_TARGETS_H

#include <stdbool.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/hashmap.h"
#include "python/python.h"
#include "python/pythread.h"
#include "sampler/sampler.h"

#define TARGETS_MAX PYPROF_TARGETS_MAX /* processes profiled at once */
#define TARGETS_SUMMARY_MAX 16 /* per-process summary lines */

struct target {
	struct py_target py;
	pid_t pid; /* as pyprof-bpf's /proc numbers it */
	pid_t ns_pid; /* in its own PID namespace; 0 if the same */
	char comm[16];
	bool given; /* named by -p, or the launched command */
	bool gone; /* exited or exec'd: no new samples */
	bool execed;
	bool drained; /* a drain ran after gone: nothing more to collect */
	pid_t parent; /* the target it was forked from, 0 if none */
	bool await_recognised; /* attached while the sampler's EV_RECOGNISED
				  was on its way: its delay comes with it */
	uint64_t parked; /* samples taken before it was recognised, for the
			    collector to add */
	uint64_t read_ns; /* when what was read of it was read (the sampler's
			     clock): an exec since makes it another program */
	struct py_code_range code; /* where its program's code lies, as read
				      with its config */
	double cpu0, cpu1; /* CPU seconds at attach and last seen */

	/* The collector's state for this process. */
	uint32_t process_frame; /* 0 until first needed */
	struct hashmap names; /* tid -> string id of its threading name
				 (| NAME_GONE, collect.c) */
	struct hashmap idents; /* thread_id -> string id, of the Threads
				  whose native id is no thread of this
				  process (a forked child's), last read */
	struct pythread_memo names_memo; /* where they were read from */
	bool names_fresh;
	double names_read_at;
	double names_pruned_at;
};

/* What the summary says of a process that is no longer followed. */
struct target_record {
	pid_t pid, ns_pid;
	char comm[16];
	char version[32];
	char elf_path[PATH_MAX];
	bool debug_offsets;
	double cpu; /* CPU seconds while profiled, -1 if unknown */
	bool given, execed, gone;
};

/* An interpreter file the sampler recognises processes by: a process of
 * it, whose description any other process of the file shares. */
struct interp_proto {
	struct py_target py; /* its code cache and memory are not used */
	bool described; /* handed to the sampler */
};

struct targets {
	struct sampler *bpf; /* NULL until targets__start */
	struct hashmap by_pid; /* pid -> struct target * */
	struct target **v; /* every target not yet retired */
	size_t n, cap;
	struct hashmap followed; /* pids followed for children: pid -> 1 */
	bool verbose;
	bool want_drain; /* a target went away: drain soon */
	double started_at; /* clock__now() at targets__start */
	/* Followed processes not Python yet, looked at again on a timer
	 * rather than at their next sample: pid -> when (clock__now() ns). */
	struct hashmap retry;
	bool retry_followed; /* followed processes are retried so */
	/* Only processes that run as this user alone (proc__owned_by): a
	 * run of the control socket for a caller other than root, whose
	 * descendants may exec a setuid program. */
	bool own_only;
	uid_t own_uid;
	struct hashmap expected; /* young pids whose executable was read */
	struct interp_proto files[INTERP_FILES_MAX];
	uint32_t nfiles;
	struct interp_file_key exes[INTERP_EXES_MAX]; /* described too */
	uint32_t nexes;
	/* Recognised by the sampler while the pid's previous program was
	 * still being collected: handled after the drain. */
	struct recognised_event later[16];
	uint32_t nlater;

	/* For the summary. */
	struct target_record records[TARGETS_SUMMARY_MAX];
	size_t nrecords;
	uint64_t attached, retired, not_python, unsupported, failed;
	uint64_t recognised; /* of attached: by the sampler (EV_RECOGNISED) */
	/* Why the first unsupported Python was not profiled (a launched
	 * python3.16: the summary says so). */
	char unsupported_why[512];
	/* Free-threaded targets (no GIL), and the first of them. */
	uint64_t no_gil;
	pid_t no_gil_pid;
	char no_gil_version[32];
	double retired_cpu;
	/* Discovery latency: from a process's start to its first profiled
	 * sample, and the CPU time it ran before it (what the profile lacks:
	 * unlike the wall time, it does not grow with how busy the machine
	 * is). */
	double attach_delay_sum, attach_delay_max;
	uint64_t attach_delays;
	double attach_cpu_sum, attach_cpu_max;
	uint64_t attach_cpus;
};

void targets__init(struct targets *ts, bool verbose);
void targets__fini(struct targets *ts);

/*
 * Attaches process pid.  given: named by the user (errors are theirs to
 * see).  Returns the target, or NULL with *rc = -errno and err set (see
 * python__attach).  Before targets__start, the sampler learns of it then.
 */
struct target *targets__add(struct targets *ts, pid_t pid, bool given, int *rc,
			    char *err, size_t errlen);

/* Hands every target to the sampler. 0 or -errno (err set). */
int targets__start(struct targets *ts, struct sampler *bpf, char *err,
		   size_t errlen);

/* The target of pid, gone or not; NULL if none. */
struct target *targets__get(struct targets *ts, pid_t pid);

/* pid is about to exec path: if that is, or links, a CPython, the sampler
 * is told of its interpreter file now (python__expect). */
void targets__expect(struct targets *ts, pid_t pid, const char *path);

/* Sampler events (sampler_events): see src/sampler/sampler.h. */
void targets__on_probe(struct targets *ts, pid_t pid);
void targets__on_recognised(struct targets *ts,
			    const struct recognised_event *ev);

/*
 * A process the sampler samples but userspace does not know (its
 * EV_RECOGNISED was lost, the ring buffer being full): attached now, if it
 * still runs.  Its target, or NULL.
 */
struct target *targets__adopt(struct targets *ts, pid_t pid);

/* Followed processes due to be looked at again: looks at them; returns
 * the milliseconds until the next is due (at most max_ms). */
int targets__retry(struct targets *ts, int max_ms);
void targets__on_fork(struct targets *ts, pid_t child, pid_t parent);
void targets__on_exec(struct targets *ts, pid_t pid);

/* Marks targets whose process has exited; updates CPU times. */
void targets__check(struct targets *ts);

/* Before a drain: every gone target's last samples are in it. */
void targets__drain_begin(struct targets *ts);

/* After a drain: retires targets that were gone before it began. */
void targets__drained(struct targets *ts);

/* The summary's view of target i (live or retired, i < nrecords + n,
 * retired first). */
void targets__record(const struct targets *ts, size_t i,
		     struct target_record *r);
/* CPU seconds of every target while profiled, retired ones included. */
double targets__cpu(const struct targets *ts);

/* Live targets, and live given ones. */
size_t targets__live(const struct targets *ts, bool given_only);

#endif /* PYPROF_TARGETS_H */
