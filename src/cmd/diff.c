// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * `pyprof-bpf diff BASE HEAD [options]`: compares two profiles of one
 * program and gates on a regression, for CI.  Needs no privileges.  The
 * figures are in diff.c; this file reads the command line and the files.
 */
#include "cmd/cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/options.h"
#include "lib/diff.h"
#include "lib/filter.h"
#include "lib/msg.h"
#include "lib/profile.h"
#include "out/file.h"
#include "out/folded.h"
#include "out/formats.h"
#include "out/in_folded.h"
#include "out/output.h"

/* The exit status of a regression: what the gate reports to CI. */
#define EXIT_REGRESSION 1

static const char usage[] =
	"usage: pyprof-bpf diff BASE HEAD [options]\n"
	"\n"
	"Compares two profiles of one program, say before and after a change,\n"
	"and says which functions got more expensive: a table of the functions\n"
	"whose share of the samples changed most, a note on sampling noise, and\n"
	"a verdict.  It exits 1 when a function grew more than --fail-above, so\n"
	"that a CI job fails on a regression.  BASE and HEAD hold folded stacks,\n"
	"as pyprof-bpf -o FILE.folded writes them ('-' reads one from stdin).\n"
	"Needs no privileges.\n"
	"\n"
	"  --fail-above PCT    fail (exit 1) when a function's total share grew\n"
	"                      by more than PCT percent of itself: 10 or 10%\n"
	"                      (default 10%; off: report only, exit 0)\n"
	"  --min-samples N     judge only functions with N samples in BASE or\n"
	"                      HEAD (default 50): tiny ones vary by chance\n"
	"  --focus REGEX       keep only the stacks with a frame that matches\n"
	"  --ignore REGEX      drop the stacks with a frame that matches\n"
	"  --hide REGEX        remove the frames that match from every stack\n"
	"                      (pprof's filters, on both profiles: POSIX\n"
	"                      extended, on a frame as folded stacks show it,\n"
	"                      \"parse (app.py:12)\"; shares stay of every\n"
	"                      sample, as in pprof)\n"
	"  --top N             show the N functions that changed most (default\n"
	"                      20; 0: no table); failing ones are always shown\n"
	"  -l, --lines         per line (\"parse (app.py:12)\"), not per function\n"
	"  -o, --output FILE   also write the difference: FILE.svg a differential\n"
	"                      flame graph (head's widths; red grew, blue shrank),\n"
	"                      FILE.folded (or .txt) differential folded stacks,\n"
	"                      \"a;b;c 10 14\": BASE's samples, then HEAD's\n"
	"  -h, --help          show this help\n"
	"\n"
	"Own: the function was running (the stack ends in it).  Total: it was on\n"
	"the stack, counted once however deep it recurses.  Shares are of each\n"
	"profile's samples, so runs of different lengths compare.  The gate looks\n"
	"at the relative growth of the total share: 25% -> 30% is +20%.\n"
	"\n"
	"Noise: a change inside the 95% interval of sampling noise never fails,\n"
	"nor does a function under --min-samples.  With 2,500 samples on each\n"
	"side (-F 999, 2.5 s of CPU) a 25% share must move by 2.4 points (10% of\n"
	"itself) to tell; the output says where the line is for your runs.  Two\n"
	"runs of an unchanged program do not fail at the default 10%; more\n"
	"samples (-F, a longer benchmark) let a lower threshold tell.\n"
	"\n"
	"Example, in CI:\n"
	"  sudo pyprof-bpf -F 999 -o base.folded -- python bench.py   # on main\n"
	"  sudo pyprof-bpf -F 999 -o head.folded -- python bench.py   # the branch\n"
	"  pyprof-bpf diff base.folded head.folded --fail-above 10% -o diff.svg\n"
	"\n"
	"Exit status: 0 no function grew above the threshold, 1 some did (each\n"
	"is named), 2 bad usage, an input that cannot be read, is not folded\n"
	"stacks or holds no samples, or an output that cannot be written.\n";

#define fail(...) msg__fail("pyprof-bpf diff", __VA_ARGS__)

struct diff_args {
	const char *in[2]; /* BASE, HEAD */
	const char *out; /* -o, or NULL */
	enum out_format format; /* OUT_SVG or OUT_FOLDED */
	struct filter_opts filter; /* --focus, --hide, --ignore */
	size_t top;
	struct diff_opts d;
};

enum {
	OPT_FAIL_ABOVE = 256,
	OPT_MIN_SAMPLES,
	OPT_FOCUS,
	OPT_HIDE,
	OPT_IGNORE,
	OPT_TOP
};

/* One option c (args__next's) with its value arg: 0, or -EINVAL. */
static int parse_option(struct args *a, int c, const char *arg,
			struct diff_args *d)
{
	unsigned long long v;

	switch (c) {
	case OPT_FAIL_ABOVE:
		return args__percent(a, arg, 1e6, true, &d->d.fail_above);
	case OPT_MIN_SAMPLES:
		if (args__uint(a, arg, 0, UINT32_MAX, &v))
			return -EINVAL;
		d->d.min_samples = v;
		return 0;
	case OPT_FOCUS:
	case OPT_HIDE:
	case OPT_IGNORE:
		return args__filter(a,
				    c == OPT_FOCUS ? &d->filter.focus :
				    c == OPT_HIDE  ? &d->filter.hide :
						     &d->filter.ignore,
				    arg);
	case OPT_TOP:
		if (args__uint(a, arg, 0, INT_MAX, &v))
			return -EINVAL;
		d->top = (size_t)v;
		return 0;
	case 'l':
		d->d.by_line = true;
		return 0;
	case 'o':
		if (output__format_for_path(arg, &d->format, a->err,
					    a->errlen) ||
		    (d->format != OUT_SVG && d->format != OUT_FOLDED))
			return args__fail(a,
					  "cannot write '%s': diff writes "
					  "FILE.svg (a differential flame "
					  "graph) or FILE.folded (two counts "
					  "per stack)",
					  arg);
		d->out = arg;
		return 0;
	}
	return args__fail(a, "option %s is not handled", a->opt);
}

/* 0, 1 for --help, or -EINVAL with one line in err. */
static int parse(int argc, char **argv, struct diff_args *d, char *err,
		 size_t errlen)
{
	static const struct option longopts[] = {
		{ "fail-above", required_argument, NULL, OPT_FAIL_ABOVE },
		{ "min-samples", required_argument, NULL, OPT_MIN_SAMPLES },
		{ "focus", required_argument, NULL, OPT_FOCUS },
		{ "hide", required_argument, NULL, OPT_HIDE },
		{ "ignore", required_argument, NULL, OPT_IGNORE },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "lines", no_argument, NULL, 'l' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct args a;
	int c, rc;

	memset(d, 0, sizeof(*d));
	d->top = DIFF_DEFAULT_TOP;
	d->d.fail_above = DIFF_DEFAULT_FAIL_ABOVE;
	d->d.min_samples = DIFF_DEFAULT_MIN_SAMPLES;
	args__init(&a, argc, argv, ":lo:h", longopts, "diff --help", err,
		   errlen);
	while ((c = args__next(&a)) > 0) {
		if (c == 'h')
			return 1;
		rc = parse_option(&a, c, optarg, d);
		if (rc)
			return rc;
	}
	if (c < 0)
		return c;
	if (argc - optind != 2)
		return args__fail(&a, "give two profiles: pyprof-bpf diff "
				      "BASE.folded HEAD.folded (see diff "
				      "--help)");
	d->in[0] = argv[optind];
	d->in[1] = argv[optind + 1];
	if (strcmp(d->in[0], "-") == 0 && strcmp(d->in[1], "-") == 0)
		return args__fail(&a, "only one of BASE and HEAD can be '-' "
				      "(stdin)");
	return 0;
}

/* Reads one profile, through the filters.  0, or -1 after printing
 * why. */
static int read_profile(const char *path, const struct filter_opts *fo,
			struct profile **out)
{
	struct profile *p = profile__new(), *second = profile__new();
	char err[PATH_MAX + 256];
	int rc = -1, filtered;

	if (!p || !second) {
		fail("out of memory");
		goto out;
	}
	/* Read as a differential file, to tell one apart: its second
	 * counts land in second. */
	if (in_folded__read_path(p, second, path, err, sizeof(err))) {
		fail("%s", err);
		goto out;
	}
	if (profile__total(second)) {
		fail("%s holds two counts per stack (a differential file): "
		     "give diff the two profiles it was made from",
		     path);
		goto out;
	}
	if (!profile__total(p)) {
		fail("%s holds no samples: nothing to compare (did the "
		     "benchmark run under pyprof-bpf?)",
		     path);
		goto out;
	}
	filtered = filter__apply(fo, &p);
	if (filtered) {
		fail("filtering %s failed: %s", path, strerror(-filtered));
		goto out;
	}
	if (!profile__total(p)) {
		fail("no sample of %s is left after --focus, --ignore and "
		     "--hide: loosen them",
		     path);
		goto out;
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	profile__free(second);
	profile__free(p);
	return rc;
}

/* Writes the differential file.  0, or -1 after printing why. */
static int write_output(const struct diff_args *a, const struct profile *base,
			const struct profile *head)
{
	struct out_meta m = {};
	struct out_file of;
	char title[2 * PATH_MAX + 8];
	int rc, err;

	snprintf(title, sizeof(title), "%s -> %s", a->in[0], a->in[1]);
	m.title = title;
	rc = out_file__open(&of, a->out);
	if (rc == -ENXIO) {
		fprintf(stderr,
			"pyprof-bpf diff: waiting for a reader of %s (open it, "
			"e.g. cat %s; Ctrl-C gives up)\n",
			a->out, a->out);
		rc = out_file__open_flags(&of, a->out, OUT_FILE_WAIT);
	}
	if (rc) {
		fail("cannot write %s: %s: choose a writable path with -o",
		     a->out, strerror(-rc));
		return -1;
	}
	if (a->format == OUT_SVG)
		rc = out_svg__write_diff(base, head, &m, of.f);
	else
		rc = out_folded__write_diff(base, head, of.f);
	err = out_file__close(&of, rc == 0);
	if (!rc)
		rc = err;
	if (rc) {
		fail("writing %s failed: %s", a->out,
		     output__strerror(a->format, rc));
		return -1;
	}
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	struct profile *in[2] = {}, *al[2] = {};
	struct diff_args a;
	struct diff *d = NULL;
	char err[512];
	int rc, code = EXIT_USAGE;

	rc = parse(argc, argv, &a, err, sizeof(err));
	if (rc < 0) {
		fail("%s", err);
		return EXIT_USAGE;
	}
	if (rc == 1) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	/* Killed while writing -o, it leaves no temporary file. */
	out_file__remove_on_signals();
	if (read_profile(a.in[0], &a.filter, &in[0]) ||
	    read_profile(a.in[1], &a.filter, &in[1]))
		goto out;
	if (diff__align(in[0], in[1], &al[0], &al[1])) {
		fail("out of memory");
		goto out;
	}
	d = diff__new(al[0], al[1], &a.d);
	if (!d) {
		fail("comparing the profiles failed: %s", strerror(errno));
		goto out;
	}
	if (a.out && write_output(&a, al[0], al[1]))
		goto out;
	rc = diff__print(d, stdout, a.top, a.in[0], a.in[1]);
	if (rc) {
		fail("writing stdout failed: %s", strerror(-rc));
		goto out;
	}
	code = diff__nfailed(d) ? EXIT_REGRESSION : EXIT_OK;
out:
	diff__free(d);
	for (int i = 0; i < 2; i++) {
		profile__free(in[i]);
		profile__free(al[i]);
	}
	return code;
}
