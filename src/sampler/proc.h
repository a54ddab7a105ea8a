/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* What /proc tells about a process: maps, names, CPU time, liveness. */
#ifndef PYPROF_PROC_H
#define PYPROF_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_map {
	uint64_t start, end, pgoff;
	uint64_t inode;
	char perms[5];
	char *path; /* "" for anonymous mappings */
	uint64_t dev; /* the kernel's encoding: major << 20 | minor */
};

struct proc_maps {
	struct proc_map *v;
	int n;
};

/* Reads /proc/pid/maps. Returns 0 or -errno (-ESRCH if the process is gone). */
int proc__maps(pid_t pid, struct proc_maps *out);
void proc__maps_free(struct proc_maps *m);

/* Parses one line of a maps file into *m (path malloc'd). 0 or -EINVAL. */
int proc__parse_map_line(const char *line, struct proc_map *m);

/*
 * The parsers behind the readers below, on a file's text (NUL-terminated),
 * so that they can be tested and fuzzed without a process.
 */
/* The last number on the line of /proc/PID/status that starts with key
 * ("\nTgid:", "\nNSpid:"), if in 1..INT32_MAX.  0 or -EINVAL. */
int proc__parse_status_number(const char *buf, const char *key, pid_t *out);
/* state, utime, stime (clock ticks) and starttime (ticks after boot) from
 * the text of /proc/PID/stat.  0 or -EINVAL. */
int proc__parse_stat(const char *buf, char *state, unsigned long long *utime,
		     unsigned long long *stime, unsigned long long *start);
/* startcode and endcode (fields 26 and 27: where the program's code lies)
 * from the text of /proc/PID/stat.  0 or -EINVAL. */
int proc__parse_stat_code(const char *buf, uint64_t *start, uint64_t *end);

/* Where pid's program code lies (its startcode and endcode): an exec
 * changes it.  0, -ESRCH, or -EINVAL when not shown (no memory, or no
 * right to see). */
int proc__code(pid_t pid, uint64_t *start, uint64_t *end);
/* True if pid names a live (not zombie) process. */
bool proc__alive(pid_t pid);
/* True if every uid of process pid (real, effective, saved, fs) is uid:
 * it runs as that user alone (not setuid, not changing users). */
bool proc__owned_by(pid_t pid, uid_t uid);
/* True if tid is a thread of process pid that has not been reaped. */
bool proc__has_thread(pid_t pid, pid_t tid);

/* The comm of pid (tid 0) or of its thread tid. 0 or -errno. */
int proc__comm(pid_t pid, pid_t tid, char *buf, size_t len);

/* The process (thread group) that thread tid belongs to. 0 or -errno. */
int proc__tgid(pid_t tid, pid_t *tgid);

/* pid as its own PID namespace numbers it (the last NSpid). 0 or -errno. */
int proc__ns_pid(pid_t pid, pid_t *ns_pid);

/* The CPU time pid's main thread has run, in ns (/proc/PID/schedstat,
 * exact where utime and stime count ticks). 0 or -errno. */
int proc__run_ns(pid_t pid, uint64_t *ns);

/* How long ago pid started, in seconds. 0 or -errno. */
int proc__age(pid_t pid, double *secs);

/* Both at once, in one read: -ESRCH when pid is gone or a zombie, else
 * its CPU seconds as proc__cpu_time. */
int proc__live_cpu_time(pid_t pid, double *secs);

/* utime + stime of the whole process (exited threads included), seconds. */
int proc__cpu_time(pid_t pid, double *secs);

/* A path to a file of pid's, as pid sees it: /proc/pid/root/<path>. */
void proc__root_path(pid_t pid, const char *path, char *out, size_t len);

/*
 * The thread ids of pid, into a malloc'd array. Returns the count or -errno.
 */
int proc__tids(pid_t pid, pid_t **out);

/* Every process in /proc, into a malloc'd array. The count or -errno. */
int proc__pids(pid_t **out);

/* The parent of pid. 0 or -errno. */
int proc__ppid(pid_t pid, pid_t *ppid);

/* What a pid is, to say why it has no memory to profile. */
enum proc_kind {
	PROC_GONE, /* no such process (or /proc/PID/stat unreadable) */
	PROC_ZOMBIE, /* exited, not yet reaped by its parent (*ppid) */
	PROC_KTHREAD, /* a kernel thread: no user memory at all */
	PROC_LIVE,
};
enum proc_kind proc__kind(pid_t pid, pid_t *ppid);

/*
 * The capabilities pid holds (permitted) that this process lacks
 * (effective), by name ("cap_sys_resource cap_bpf") in buf: a sign that
 * pyprof-bpf runs confined (a container) where pid does not.  Their number
 * (0: none, or unknown).
 */
int proc__caps_lacked(pid_t pid, char *buf, size_t len);

#endif /* PYPROF_PROC_H */
