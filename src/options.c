// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "../bpf/pyprof_shared.h"

const char options__usage[] =
	"usage: pyprof-bpf -p PID [options]\n"
	"\n"
	"Samples the Python stacks of a running CPython (3.8 to 3.14) process with\n"
	"eBPF, without stopping or instrumenting it, and writes folded stacks\n"
	"(one line per distinct stack: frames root first, ';'-separated, a space\n"
	"and the sample count) for flamegraph.pl, inferno or speedscope.\n"
	"\n"
	"  -p, --pid PID         the process to profile (all its threads)\n"
	"  -F, --frequency HZ    samples per second per CPU (default 99, max 10000)\n"
	"  -d, --duration SECS   stop after SECS seconds (default: until Ctrl-C or\n"
	"                        until the process exits)\n"
	"  -o, --output FILE     write the profile to FILE (written to a temporary\n"
	"                        file and renamed when complete)\n"
	"  -f, --folded          write folded stacks to stdout (the default when no\n"
	"                        -o is given)\n"
	"      --max-depth N     Python frames kept per stack (default 1024, max\n"
	"                        8192); deeper stacks keep their leaf frames and\n"
	"                        get a \"[truncated]\" frame in place of the rest\n"
	"      --interval SECS   how often samples are collected from the kernel\n"
	"                        (default 1)\n"
	"      --tid             name thread frames \"NAME (tid N)\" so threads of\n"
	"                        one name stay apart\n"
	"      --no-threads      leave out the thread frame (merge all threads)\n"
	"  -v, --verbose         show libbpf's and the verifier's messages\n"
	"  -h, --help            show this help\n"
	"  -V, --version         show the version\n"
	"\n"
	"Output: python3-4242;MainThread;<module> (app.py:40);main (app.py:31) 37\n"
	"  The first frame is the process (comm-PID), the second the thread (its\n"
	"  threading name, MainThread, or tid-N). Python frames are\n"
	"  \"qualname (file:line)\" with the line being executed. Special frames:\n"
	"  [truncated] deeper than --max-depth; [partial stack] a frame could not\n"
	"  be read; [no Python thread state] a thread that runs no Python;\n"
	"  [no Python frame] a Python thread between frames; [unknown] a code\n"
	"  object that could not be read.\n"
	"\n"
	"Examples:\n"
	"  sudo pyprof-bpf -p 4242 -d 10 > app.folded && flamegraph.pl app.folded > app.svg\n"
	"  sudo pyprof-bpf -p 4242 -F 999 -o app.folded     # until Ctrl-C\n"
	"\n"
	"Needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE) and a kernel with\n"
	"BTF (/sys/kernel/btf/vmlinux). A run summary goes to stderr.\n"
	"\n"
	"Exit status: 0 done (also when the process exited or on Ctrl-C: what was\n"
	"collected is written), 1 runtime failure, 2 bad usage, 3 insufficient\n"
	"privileges, 4 kernel lacks BTF or a BPF feature, 5 no such process,\n"
	"6 not a Python process, 7 unsupported Python version.\n";

static int parse_uint(const char *s, const char *what, unsigned long min,
		      unsigned long max, unsigned long *out, char *err,
		      size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		snprintf(err, errlen,
			 "invalid %s '%s': give a whole number from "
			 "%lu to %lu",
			 what, s, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_secs(const char *s, const char *what, double min, double max,
		      double *out, char *err, size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max) {
		snprintf(err, errlen,
			 "invalid %s '%s': give seconds from %g to %g", what, s,
			 min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

enum {
	OPT_MAX_DEPTH = 256,
	OPT_INTERVAL,
	OPT_TID,
	OPT_NO_THREADS,
};

int options__parse(int argc, char **argv, struct options *o, char *err,
		   size_t errlen)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "frequency", required_argument, NULL, 'F' },
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "folded", no_argument, NULL, 'f' },
		{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "tid", no_argument, NULL, OPT_TID },
		{ "no-threads", no_argument, NULL, OPT_NO_THREADS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->freq = DEFAULT_FREQ;
	o->interval = 1.0;
	o->max_depth = PY_DEFAULT_MAX_DEPTH;
	err[0] = '\0';

	/* 0, not 1: glibc then also forgets where it was inside a group of
	 * short options ("-hv") from an earlier call. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:F:d:o:fvhV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'p':
			if (parse_uint(optarg, "pid", 1, INT_MAX, &v, err,
				       errlen))
				return -EINVAL;
			o->pid = (pid_t)v;
			break;
		case 'F':
			if (parse_uint(optarg, "frequency", 1, MAX_FREQ, &v,
				       err, errlen))
				return -EINVAL;
			o->freq = (unsigned)v;
			break;
		case 'd':
			if (parse_secs(optarg, "duration", 0.001, 1e7,
				       &o->duration, err, errlen))
				return -EINVAL;
			break;
		case 'o':
			if (!optarg[0]) {
				snprintf(err, errlen, "-o needs a file name");
				return -EINVAL;
			}
			o->output = optarg;
			break;
		case 'f':
			o->folded = true;
			break;
		case OPT_MAX_DEPTH:
			if (parse_uint(optarg, "max-depth", 1, PY_MAX_DEPTH_CAP,
				       &v, err, errlen))
				return -EINVAL;
			o->max_depth = (unsigned)v;
			break;
		case OPT_INTERVAL:
			if (parse_secs(optarg, "interval", 0.05, 3600,
				       &o->interval, err, errlen))
				return -EINVAL;
			break;
		case OPT_TID:
			o->thread_ids = true;
			break;
		case OPT_NO_THREADS:
			o->no_threads = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			o->help = true;
			return 0;
		case 'V':
			o->version = true;
			return 0;
		case ':':
			snprintf(err, errlen,
				 "option %s needs a value; see --help",
				 argv[optind - 1]);
			return -EINVAL;
		default:
			/* Inside a group ("-xv"), optind has not moved past
			 * the group yet: name the option itself. */
			if (optopt > 0 && optopt < 256)
				snprintf(err, errlen,
					 "unknown option '-%c'; see --help",
					 optopt);
			else
				snprintf(err, errlen,
					 "unknown option '%s'; see --help",
					 argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'; see --help",
			 argv[optind]);
		return -EINVAL;
	}
	if (!o->pid) {
		snprintf(err, errlen,
			 "which process? give its pid with -p PID "
			 "(see --help)");
		return -EINVAL;
	}
	if (o->thread_ids && o->no_threads) {
		snprintf(err, errlen,
			 "--tid and --no-threads contradict each "
			 "other: choose one");
		return -EINVAL;
	}
	return 0;
}
