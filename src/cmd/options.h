/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* The command line. */
#ifndef PYPROF_OPTIONS_H
#define PYPROF_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Exit codes, documented in --help and README.md. */
enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1, /* a runtime failure (I/O, BPF attach, ...) */
	EXIT_USAGE = 2, /* bad command line */
	EXIT_PERM = 3, /* not root / missing capabilities */
	EXIT_KERNEL = 4, /* kernel lacks BTF or a BPF feature */
	EXIT_NOPROC = 5, /* no such process */
	EXIT_NOTPY = 6, /* the process is not Python */
	EXIT_PYVER = 7, /* a Python version we cannot profile */
};

#define DEFAULT_FREQ 99
#define MAX_FREQ 10000
#define MAX_PIDS 1024 /* -p PID,PID,... */

struct options {
	pid_t pids[MAX_PIDS]; /* -p, in the order given, no duplicates */
	unsigned npids;
	bool all; /* -a: every Python process */
	bool children; /* --children: also the descendants */
	bool merge_processes; /* --merge-processes: root frame "comm" */
	char **cmd; /* after "--": the command to launch (NULL-terminated) */
	unsigned freq; /* -F */
	double duration; /* -d seconds; 0: until Ctrl-C or target exit */
	double interval; /* --interval seconds between drains */
	bool interval_set; /* --interval was given */
	unsigned max_depth; /* --max-depth */
	unsigned map_scale; /* --map-scale */
	const char *output; /* -o FILE; NULL: stdout (also for -o -) */
	const char *format; /* --format NAME; NULL: from -o's extension */
	bool stream; /* --stream: a snapshot every --interval */
	bool folded; /* --folded, or -o -: folded stacks on stdout */
	bool thread_ids; /* --tid: "name (tid N)" thread frames */
	bool no_threads; /* --no-threads: no thread frame */
	bool wall; /* --mode wall / --idle: off-CPU time too */
	bool mode_set; /* --mode or --idle was given */
	bool gil; /* --gil: GIL held / waiting per sample */
	bool gil_only; /* --gil-only: only samples holding the GIL */
	bool native; /* --native: merged native frames */
	bool kernel; /* --kernel: kernel frames */
	bool timeline; /* --timeline: each sample's time, whatever -o is */
	bool async; /* --async: asyncio task frames (3.14+) */
	const char *focus, *hide, *ignore; /* --focus/--hide/--ignore REGEX */
	bool verbose; /* -v */
	bool help;
	bool version;
};

/*
 * Parses argv into *o (defaults first).  Returns 0, or -EINVAL with one
 * line in err naming the bad argument and the fix.
 */
int options__parse(int argc, char **argv, struct options *o, char *err,
		   size_t errlen);

/* The --help text. */
extern const char options__usage[];

#endif /* PYPROF_OPTIONS_H */
