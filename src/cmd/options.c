// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "cmd/options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <linux/types.h>

#include "bpf/pyprof_shared.h"
#include "cmd/args.h"
#include "sampler/mapsize.h"

const char options__usage[] =
	"usage: pyprof-bpf -p PID[,PID...] [options]\n"
	"       pyprof-bpf -a [options]\n"
	"       pyprof-bpf [options] -- COMMAND [ARGS...]\n"
	"\n"
	"Samples the Python stacks of running CPython (3.8 to 3.15) processes with\n"
	"eBPF, without stopping or instrumenting them, and writes folded stacks\n"
	"(one line per distinct stack: frames root first, ';'-separated, a space\n"
	"and the sample count) for flamegraph.pl, inferno or speedscope.\n"
	"\n"
	"What to profile (one of):\n"
	"  -p, --pid PID[,PID..] these processes (all their threads); repeat -p or\n"
	"                        separate pids with commas\n"
	"  -a, --all             every Python process on the host, including those\n"
	"                        that start (or exec Python) later\n"
	"  -- COMMAND [ARGS...]  run COMMAND, profile it and its descendants, stop\n"
	"                        when it exits, and exit with its exit status\n"
	"      --children        with -p: also profile the processes' descendants,\n"
	"                        those running now and those started later; a\n"
	"                        -p process that is not Python (a shell) is only\n"
	"                        followed for them\n"
	"      --merge-processes one root frame per command name (\"python3\")\n"
	"                        instead of one per process (\"python3-4242\")\n"
	"\n"
	"  -F, --frequency HZ    samples per second per CPU (default 99, max 10000),\n"
	"                        on average: the rate varies within 20% so that\n"
	"                        a loop in step with it is not seen at one phase\n"
	"  -d, --duration SECS   stop after SECS seconds of sampling (default: until\n"
	"                        Ctrl-C, or until the processes exit); with\n"
	"                        -- COMMAND the profile is written after SECS and\n"
	"                        pyprof-bpf then waits for COMMAND to exit, and\n"
	"                        exits with its status\n"
	"  -o, --output FILE     write the profile to FILE at the end, through a\n"
	"                        temporary file named when complete (FILE is whole\n"
	"                        or not there); \"-\" is stdout; a device, a FIFO\n"
	"                        and /dev/stdout are written in place, and a FIFO\n"
	"                        waits for its reader\n"
	"  -f, --folded          write folded stacks to stdout (the default when no\n"
	"                        -o is given and stdout is not a terminal); not\n"
	"                        with -o FILE (--format folded -o FILE is that)\n"
	"      --format NAME     the profile's format: folded, svg, speedscope,\n"
	"                        pprof, callgrind, trace, gecko, html, heatmap,\n"
	"                        pstats (default: from -o's extension: .folded\n"
	"                        .txt .svg .speedscope.json .pb.gz .callgrind\n"
	"                        .trace.json .gecko.json .html .heatmap.html\n"
	"                        .pstats .prof; else folded)\n"
	"      --stream          write the whole profile so far every --interval\n"
	"                        (to stdout, or to FILE, replaced each time); a\n"
	"                        snapshot that cannot be written ends the run\n"
	"      --max-depth N     Python frames kept per stack (default 1024, max\n"
	"                        8192); deeper stacks keep their leaf frames and\n"
	"                        get a \"[truncated]\" frame in place of the rest\n"
	"      --interval SECS   how often samples are collected from the kernel\n"
	"                        (default 1)\n"
	"      --map-scale N     double the BPF maps sized from -F, --interval,\n"
	"                        --max-depth and the processes N times (0-8,\n"
	"                        default 0), when the summary says one was full\n"
	"      --tid             name thread frames \"NAME (tid N)\" so threads of\n"
	"                        one name stay apart\n"
	"      --no-threads      leave out the thread frame (merge all threads)\n"
	"      --mode cpu|wall   cpu (default): where threads run on a CPU; wall:\n"
	"                        every thread for all of its time, time off-CPU\n"
	"                        ending in \"[off-cpu: futex]\", \"[off-cpu: sleep]\",\n"
	"                        \"[off-cpu: io]\"... in samples of 1/HZ seconds;\n"
	"                        threads asleep since before the start under the\n"
	"                        stack they rest in (Linux 5.17: under \"[asleep\n"
	"                        since the start]\" until they next run)\n"
	"      --idle            the same as --mode wall\n"
	"      --gil             GIL held / waiting shares per thread in the\n"
	"                        summary (implies --mode wall unless --mode cpu\n"
	"                        is given); waiting ends in \"[off-cpu: gil]\"\n"
	"      --gil-only        keep only the samples that hold the GIL\n"
	"      --native          native frames too (DWARF unwinding of a copy of\n"
	"                        each sample's stack): each eval-loop frame is\n"
	"                        replaced by the Python frames it ran\n"
	"      --kernel          kernel frames too, below the user frames, with\n"
	"                        the \"_[k]\" suffix\n"
	"      --async           asyncio task frames (CPython 3.14+): \"Task-NAME\"\n"
	"                        between the event loop's frames and the task's\n"
	"                        coroutine, under the tasks awaiting it; in wall\n"
	"                        mode also the tasks not running, under their\n"
	"                        suspended coroutines and \"[task waiting]\"\n"
	"      --timeline        record when each sample was taken even when the\n"
	"                        format does not need it (trace, gecko and html\n"
	"                        always do): speedscope then gets each thread's\n"
	"                        samples in time order\n"
	"      --focus REGEX     keep only the stacks with a frame that matches\n"
	"      --ignore REGEX    drop the stacks with a frame that matches\n"
	"      --hide REGEX      remove the frames that match from every stack,\n"
	"                        e.g. --hide '/usr/lib/python3' (pprof's filters:\n"
	"                        POSIX extended, on a frame as folded stacks show\n"
	"                        it, \"name (file:line)\")\n"
	"  -v, --verbose         show libbpf's and the verifier's messages\n"
	"  -h, --help            show this help\n"
	"  -V, --version         show the version\n"
	"\n"
	"On a terminal (without --folded or -- COMMAND) it opens a live view: a\n"
	"top-style table of the functions, refreshed every --interval; keys: q quit,\n"
	"space pause, [ ] sort, t threads, l lines, \\ call tree, / filter the\n"
	"rows, ? help. With -o the profile is also written to FILE at the end.\n"
	"\n"
	"Commands:\n"
	"  view FILE             browse a saved folded profile (see view --help)\n"
	"  convert IN -o OUT     turn folded stacks into another format (see\n"
	"                        convert --help)\n"
	"  diff BASE HEAD        compare profiles, fail on a regression (diff --help)\n"
	"  serve                 the always-on agent: live page, pprof, metrics,\n"
	"                        control socket (see serve --help)\n"
	"\n"
	"Output: python3-4242;MainThread;<module> (app.py:40);main (app.py:31) 37\n"
	"  The first frame is the process (comm-PID), the second the thread (its\n"
	"  threading name, MainThread, or tid-N). Python frames are\n"
	"  \"qualname (file:line)\" with the line being executed. Special frames:\n"
	"  [truncated] deeper than --max-depth; [partial stack] a frame could not\n"
	"  be read; [no Python thread state] a thread that runs no Python;\n"
	"  [no Python frame] a Python thread between frames; [interpreter\n"
	"  starting] before the interpreter exists (a process found from its\n"
	"  start); [not yet recognised] before pyprof-bpf knew the process runs\n"
	"  Python; [unknown] a code object that could not be read (freed before\n"
	"  it was named); [off-cpu: WHY] (wall mode) time off a CPU under the\n"
	"  stack the thread left it with, or rests in.\n"
	"\n"
	"Examples:\n"
	"  sudo pyprof-bpf -p 4242 -d 10 > app.folded && flamegraph.pl app.folded > app.svg\n"
	"  sudo pyprof-bpf -p 4242 -F 999 -o app.folded     # until Ctrl-C\n"
	"  sudo pyprof-bpf -o test.folded -- python3 -m pytest tests/\n"
	"  sudo pyprof-bpf -a -d 30 -o host.folded          # every Python process\n"
	"\n"
	"Needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE) and a kernel with\n"
	"BTF (/sys/kernel/btf/vmlinux). A run summary goes to stderr.\n"
	"\n"
	"Exit status: 0 done (also when the process exited or on Ctrl-C: what was\n"
	"collected is written), 1 runtime failure (also writing the output: a full\n"
	"disk, /dev/full, Ctrl-C while a FIFO waits for its reader), 2 bad usage\n"
	"or an -o path that cannot be written (found before profiling), 3\n"
	"insufficient privileges, 4 kernel lacks BTF or a BPF feature, 5 no such\n"
	"process, 6 not a Python process, 7 unsupported Python version (with\n"
	"several -p pids, 5-7 only when none can be profiled; the others are\n"
	"warnings).\n"	"With -- COMMAND: COMMAND's own exit status (128+N if killed by signal\n"
	"N), 127 if it cannot be found, 126 if it cannot be run.\n";

enum {
	OPT_MAX_DEPTH = 256,
	OPT_CHILDREN,
	OPT_FORMAT,
	OPT_STREAM,
	OPT_MERGE_PROCESSES,
	OPT_INTERVAL,
	OPT_TID,
	OPT_NO_THREADS,
	OPT_MODE,
	OPT_IDLE,
	OPT_GIL,
	OPT_GIL_ONLY,
	OPT_NATIVE,
	OPT_KERNEL,
	OPT_TIMELINE,
	OPT_ASYNC,
	OPT_FOCUS,
	OPT_HIDE,
	OPT_IGNORE,
	OPT_MAP_SCALE,
};

static const struct option longopts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "all", no_argument, NULL, 'a' },
	{ "children", no_argument, NULL, OPT_CHILDREN },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "stream", no_argument, NULL, OPT_STREAM },
	{ "merge-processes", no_argument, NULL, OPT_MERGE_PROCESSES },
	{ "frequency", required_argument, NULL, 'F' },
	{ "duration", required_argument, NULL, 'd' },
	{ "output", required_argument, NULL, 'o' },
	{ "folded", no_argument, NULL, 'f' },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "map-scale", required_argument, NULL, OPT_MAP_SCALE },
	{ "tid", no_argument, NULL, OPT_TID },
	{ "no-threads", no_argument, NULL, OPT_NO_THREADS },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "idle", no_argument, NULL, OPT_IDLE },
	{ "gil", no_argument, NULL, OPT_GIL },
	{ "gil-only", no_argument, NULL, OPT_GIL_ONLY },
	{ "native", no_argument, NULL, OPT_NATIVE },
	{ "kernel", no_argument, NULL, OPT_KERNEL },
	{ "timeline", no_argument, NULL, OPT_TIMELINE },
	{ "async", no_argument, NULL, OPT_ASYNC },
	{ "focus", required_argument, NULL, OPT_FOCUS },
	{ "hide", required_argument, NULL, OPT_HIDE },
	{ "ignore", required_argument, NULL, OPT_IGNORE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ 0 },
};

/* '+': options end at the first non-option, so that the command after
 * "--" keeps its own options. */
static const char shortopts[] = "+:p:aF:d:o:fvhV";

struct parser {
	struct args a;
	struct options *o;
	/* What chose the mode: "--mode cpu", "--mode wall" or "--idle", to
	 * name both options of a disagreement. */
	char mode_by[48];
};

/* Adds the comma-separated pids of list to o->pids. */
static int parse_pids(struct parser *p, const char *list)
{
	return args__pids(&p->a, list, p->o->pids, &p->o->npids, MAX_PIDS);
}

/* --mode and --idle: by ("--mode cpu", "--idle") asks for wall or not. */
static int set_mode(struct parser *p, bool wall, const char *by)
{
	if (p->mode_by[0] && p->o->wall != wall)
		return args__fail(&p->a, "%s and %s disagree: choose one mode",
				  p->mode_by, by);
	if (!p->mode_by[0])
		snprintf(p->mode_by, sizeof(p->mode_by), "%s", by);
	p->o->wall = wall;
	p->o->mode_set = true;
	return 0;
}

static int parse_mode(struct parser *p, const char *arg)
{
	char by[sizeof(p->mode_by)];

	if (strcmp(arg, "cpu") != 0 && strcmp(arg, "wall") != 0)
		return args__fail(&p->a,
				  "invalid mode '%s': give --mode cpu or "
				  "--mode wall",
				  arg);
	snprintf(by, sizeof(by), "%s %s", p->a.opt, arg);
	return set_mode(p, arg[0] == 'w', by);
}

/* The bool an option without a value switches on, or NULL. */
static bool *flag(struct options *o, int c)
{
	switch (c) {
	case 'a':
		return &o->all;
	case OPT_CHILDREN:
		return &o->children;
	case OPT_STREAM:
		return &o->stream;
	case OPT_MERGE_PROCESSES:
		return &o->merge_processes;
	case 'f':
		return &o->folded;
	case OPT_TID:
		return &o->thread_ids;
	case OPT_NO_THREADS:
		return &o->no_threads;
	case OPT_NATIVE:
		return &o->native;
	case OPT_KERNEL:
		return &o->kernel;
	case OPT_TIMELINE:
		return &o->timeline;
	case OPT_ASYNC:
		return &o->async;
	case 'v':
		return &o->verbose;
	}
	return NULL;
}

/* One option c (args__next's) with its value arg: 0, 1 when the parse
 * ends there (-h, -V), or -EINVAL. */
static int parse_option(struct parser *p, int c, const char *arg)
{
	struct options *o = p->o;
	struct args *a = &p->a;
	unsigned long long v;
	bool *b = flag(o, c);

	if (b) {
		*b = true;
		return 0;
	}
	switch (c) {
	case 'p':
		return parse_pids(p, arg);
	case 'F':
		return args__freq(a, arg, &o->freq);
	case 'd':
		return args__seconds(a, arg, 0.001, 1e7, &o->duration);
	case 'o':
		if (!arg[0])
			return args__fail(a, "%s needs a file name", a->opt);
		o->output = arg;
		return 0;
	case OPT_FORMAT:
		o->format = arg;
		return 0;
	case OPT_FOCUS:
	case OPT_HIDE:
	case OPT_IGNORE:
		return args__filter(a,
				    c == OPT_FOCUS ? &o->focus :
				    c == OPT_HIDE  ? &o->hide :
						     &o->ignore,
				    arg);
	case OPT_MAX_DEPTH:
		if (args__uint(a, arg, 1, PY_MAX_DEPTH_CAP, &v))
			return -EINVAL;
		o->max_depth = (unsigned)v;
		return 0;
	case OPT_INTERVAL:
		o->interval_set = true;
		return args__seconds(a, arg, 0.05, 3600, &o->interval);
	case OPT_MAP_SCALE:
		if (args__uint(a, arg, 0, MAPSIZE_SCALE_MAX, &v))
			return -EINVAL;
		o->map_scale = (unsigned)v;
		return 0;
	case OPT_MODE:
		return parse_mode(p, arg);
	case OPT_IDLE:
		return set_mode(p, true, a->opt);
	case OPT_GIL_ONLY:
		o->gil_only = true;
		/* fall through */
	case OPT_GIL:
		o->gil = true;
		return 0;
	case 'h':
		o->help = true;
		return 1;
	case 'V':
		o->version = true;
		return 1;
	}
	return args__fail(a, "option %s is not handled", a->opt);
}

/* What follows the options: nothing, or a command after "--". */
static int take_command(struct parser *p)
{
	char **argv = p->a.argv;

	if (optind >= p->a.argc)
		return 0;
	if (optind == 0 || strcmp(argv[optind - 1], "--") != 0)
		return args__fail(&p->a,
				  "unexpected argument '%s'; to run a "
				  "command, put it after \"--\" (see --help)",
				  argv[optind]);
	p->o->cmd = &argv[optind];
	return 0;
}

/* The options that only make sense together, or apart. */
static int check_together(struct parser *p)
{
	struct options *o = p->o;
	struct args *a = &p->a;

	if (!o->npids && !o->all && !o->cmd)
		return args__fail(a, "which process? give its pid with -p "
				     "PID, -a for all Python processes, or a "
				     "command after \"--\" (see --help)");
	if ((o->npids > 0) + o->all + (o->cmd != NULL) > 1)
		return args__fail(a, "-p, -a and \"-- COMMAND\" each say what "
				     "to profile: give only one");
	if (o->folded && o->output && strcmp(o->output, "-") != 0)
		return args__fail(a,
				  "--folded writes the profile to stdout and "
				  "-o FILE to FILE: give one (--format "
				  "folded -o FILE writes folded stacks to "
				  "FILE)");
	/* "-o -" is stdout, as in convert: what --folded says. */
	if (o->output && strcmp(o->output, "-") == 0) {
		o->output = NULL;
		o->folded = true;
	}
	if (o->stream && !o->output && !o->folded)
		return args__fail(a, "--stream needs somewhere to write: add "
				     "--folded (stdout) or -o FILE");
	if (o->children && !o->npids)
		return args__fail(a, "--children goes with -p (-a and \"-- "
				     "COMMAND\" already include children)");
	if (o->thread_ids && o->no_threads)
		return args__fail(a, "--tid and --no-threads contradict each "
				     "other: choose one");
	return 0;
}

int options__parse(int argc, char **argv, struct options *o, char *err,
		   size_t errlen)
{
	struct parser p = { .o = o };
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->freq = DEFAULT_FREQ;
	o->interval = 1.0;
	o->max_depth = PY_DEFAULT_MAX_DEPTH;
	args__init(&p.a, argc, argv, shortopts, longopts, "--help", err,
		   errlen);
	while ((c = args__next(&p.a)) > 0) {
		rc = parse_option(&p, c, optarg);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	if (c < 0)
		return c;
	rc = take_command(&p);
	if (!rc)
		rc = check_together(&p);
	if (rc)
		return rc;
	/* GIL waiting is time off-CPU: --gil needs wall mode to show it. */
	if (o->gil && !o->mode_set)
		o->wall = true;
	return 0;
}
