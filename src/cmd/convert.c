// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * `pyprof-bpf convert IN.folded -o OUT.EXT [--format NAME]`: folded stacks
 * (pyprof-bpf's, or any flamegraph.pl-style file) into any output format.
 * Needs no privileges and no target.
 */
#include "cmd/cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/options.h"
#include "lib/filter.h"
#include "lib/msg.h"
#include "lib/profile.h"
#include "lib/sources.h"
#include "out/file.h"
#include "out/in_folded.h"
#include "out/output.h"

static const char usage[] =
	"usage: pyprof-bpf convert IN.folded -o OUT.EXT [--format NAME] [options]\n"
	"\n"
	"Reads folded stacks (\"frame;frame;... COUNT\" lines, as pyprof-bpf,\n"
	"py-spy or stackcollapse-*.pl write them; \"-\" reads stdin) and writes\n"
	"them as a profile file for a viewer.\n"
	"\n"
	"  -o, --output FILE     where to write (through a temporary file renamed\n"
	"                        at the end); \"-\" for stdout, with --format\n"
	"      --format NAME     folded, svg, speedscope, pprof, callgrind, html,\n"
	"                        heatmap or pstats (default: the format FILE's\n"
	"                        extension names)\n"
	"  -F, --frequency HZ    the -F the stacks were sampled at: pprof then\n"
	"                        reports CPU time, the report the CPU seconds;\n"
	"                        pstats times are samples / HZ (99 if not given)\n"
	"      --title TEXT      the title shown in svg, html, speedscope, pprof\n"
	"                        and callgrind (default: the input's file name)\n"
	"      --focus REGEX     keep only the stacks with a frame that matches\n"
	"      --ignore REGEX    drop the stacks with a frame that matches\n"
	"      --hide REGEX      remove the frames that match from every stack\n"
	"                        (pprof's filters: POSIX extended, on a frame as\n"
	"                        folded stacks show it, \"name (file:line)\")\n"
	"  -h, --help            show this help\n"
	"\n"
	"Formats, by the extension of FILE:\n"
	"  .folded .txt            folded stacks       flamegraph.pl, inferno, speedscope\n"
	"  .svg                    flame graph         a web browser (click, search)\n"
	"  .speedscope.json        speedscope          speedscope FILE, or speedscope.app\n"
	"  .pb.gz                  pprof               go tool pprof -http=: FILE\n"
	"  .callgrind              callgrind           kcachegrind FILE, callgrind_annotate\n"
	"  callgrind.out.*         callgrind           (the same)\n"
	"  .html                   report              a web browser, offline\n"
	"  .heatmap.html           source heatmap      a web browser, offline; the\n"
	"                                              source is read from this\n"
	"                                              machine's files now\n"
	"  .pstats .prof           pstats              python3 -m pstats FILE,\n"
	"                                              snakeviz, gprof2dot\n"
	"  .trace.json             Chrome trace        only from a live run (-o FILE):\n"
	"  .gecko.json             Firefox Profiler    folded files hold no times\n"
	"\n"
	"Examples:\n"
	"  pyprof-bpf convert app.folded -o app.svg\n"
	"  pyprof-bpf convert app.folded -F 99 -o app.pb.gz && go tool pprof -top app.pb.gz\n"
	"  pyprof-bpf convert app.folded -F 99 -o app.pstats && python3 -m pstats app.pstats\n"
	"  pyprof-bpf -p 4242 -d 10 | pyprof-bpf convert - --format html -o - > app.html\n"
	"\n"
	"The output is written to a temporary file renamed when complete: it is\n"
	"complete or not there, also when convert is killed.  A device or pipe\n"
	"(/dev/stdout, a FIFO) is written in place; a FIFO waits for its reader.\n"
	"\n"
	"Exit status: 0 written, 1 the input is not folded stacks or holds no\n"
	"samples, or writing failed, 2 bad usage or a file that cannot be\n"
	"opened.\n";

#define fail(...) msg__fail("pyprof-bpf convert", __VA_ARGS__)

struct convert_opts {
	const char *in, *out, *title;
	enum out_format format;
	bool have_format;
	unsigned freq;
	struct filter_opts filter; /* --focus, --hide, --ignore */
};

enum { OPT_FORMAT = 256, OPT_TITLE, OPT_FOCUS, OPT_HIDE, OPT_IGNORE };

/* After the options: the one input, and the format of the output. */
static int check_files(struct args *a, struct convert_opts *o)
{
	if (optind >= a->argc)
		return args__fail(a, "which file? give the folded stacks to "
				     "read: convert IN.folded -o OUT.svg (see "
				     "convert --help)");
	o->in = a->argv[optind++];
	if (optind < a->argc)
		return args__fail(a,
				  "unexpected argument '%s': convert reads "
				  "one file; see convert --help",
				  a->argv[optind]);
	if (!o->out)
		return args__fail(a, "where to? give the output file with -o "
				     "FILE (its extension names the format), "
				     "or -o - --format NAME");
	if (!o->have_format && strcmp(o->out, "-") == 0)
		return args__fail(a,
				  "writing to stdout: say which format with "
				  "--format NAME (folded, svg, speedscope, "
				  "pprof, callgrind, html, heatmap, pstats)");
	if (!o->have_format &&
	    output__format_for_path(o->out, &o->format, a->err, a->errlen))
		return -EINVAL;
	if (o->format == OUT_TRACE || o->format == OUT_GECKO)
		return args__fail(a,
				  "a folded file holds no sample times, so it "
				  "cannot become a %s: record one live with "
				  "pyprof-bpf -p PID -o FILE%s, or choose "
				  "another format",
				  o->format == OUT_TRACE ? "trace" : "timeline",
				  o->format == OUT_TRACE ? ".trace.json" :
							   ".gecko.json");
	return 0;
}

/* 0, 1 for --help, or -EINVAL with one line in err. */
static int parse(int argc, char **argv, struct convert_opts *o, char *err,
		 size_t errlen)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "frequency", required_argument, NULL, 'F' },
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "focus", required_argument, NULL, OPT_FOCUS },
		{ "hide", required_argument, NULL, OPT_HIDE },
		{ "ignore", required_argument, NULL, OPT_IGNORE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct args a;
	int c;

	memset(o, 0, sizeof(*o));
	args__init(&a, argc, argv, ":o:F:h", longopts, "convert --help", err,
		   errlen);
	while ((c = args__next(&a)) > 0) {
		switch (c) {
		case 'o':
			if (!optarg[0])
				return args__fail(&a, "%s needs a file name",
						  a.opt);
			o->out = optarg;
			break;
		case OPT_FORMAT:
			if (output__parse_name(optarg, &o->format, err, errlen))
				return -EINVAL;
			o->have_format = true;
			break;
		case 'F':
			if (args__freq(&a, optarg, &o->freq))
				return -EINVAL;
			break;
		case OPT_TITLE:
			o->title = optarg;
			break;
		case OPT_FOCUS:
		case OPT_HIDE:
		case OPT_IGNORE:
			if (args__filter(&a,
					 c == OPT_FOCUS ? &o->filter.focus :
					 c == OPT_HIDE	? &o->filter.hide :
							  &o->filter.ignore,
					 optarg))
				return -EINVAL;
			break;
		case 'h':
			return 1;
		}
	}
	return c < 0 ? c : check_files(&a, o);
}

#define MISSING_NAMED 10 /* source files named by name on stderr */

/*
 * The heatmap's source: each Python file of p, read from the local file
 * system (the profile holds no text).  Says on stderr which files could
 * not be read; names that are not files ("<string>") are not missing.
 * NULL on ENOMEM.
 */
static struct sources *read_sources(const struct profile *p)
{
	struct sources *s = sources__new();
	size_t missing = 0, files = 0;
	char why[256];

	if (!s)
		return NULL;
	for (size_t i = 0; i < profile__nframes(p); i++) {
		const struct pframe *fr = profile__frame_get(p, (uint32_t)i);

		if (fr->kind == PF_PYTHON && fr->file &&
		    sources__read_local(s, profile__string(p, fr->file))) {
			sources__free(s);
			return NULL;
		}
	}
	for (size_t i = 0; i < sources__count(s); i++) {
		const struct source *src = sources__at(s, i);

		if (src->state == SOURCE_NOT_FILE && !src->err)
			continue;
		files++;
		if (src->state == SOURCE_OK)
			continue;
		if (++missing <= MISSING_NAMED)
			fprintf(stderr,
				"pyprof-bpf convert: source of %s %s: the "
				"heatmap lists its sampled lines without it\n",
				src->name,
				sources__why(s, src, why, sizeof(why)));
	}
	if (missing > MISSING_NAMED)
		fprintf(stderr,
			"pyprof-bpf convert: %zu more source files not "
			"found\n",
			missing - MISSING_NAMED);
	if (missing)
		fprintf(stderr,
			"pyprof-bpf convert: %zu of %zu source files could "
			"not be read: run convert where the profiled files "
			"are, or record with -o FILE.heatmap.html, which "
			"keeps them\n",
			missing, files);
	return s;
}

/* Writes p to path through a temporary file renamed at the end, so path
 * is either complete or untouched.  Returns an exit code. */
static int write_file(const struct profile *p, const struct convert_opts *o,
		      const struct out_meta *m)
{
	struct out_file of;
	int rc, err;

	if (strcmp(o->out, "-") == 0) {
		rc = output__write(p, o->format, m, stdout);
		if (rc) {
			fail("writing stdout failed: %s",
			     output__strerror(o->format, rc));
			return EXIT_FAILURE_;
		}
		return EXIT_OK;
	}
	rc = out_file__open(&of, o->out);
	if (rc == -ENXIO) {
		fprintf(stderr,
			"pyprof-bpf convert: waiting for a reader of %s (open "
			"it, e.g. cat %s; Ctrl-C gives up)\n",
			o->out, o->out);
		rc = out_file__open_flags(&of, o->out, OUT_FILE_WAIT);
	}
	if (rc == -EISDIR) {
		fail("cannot write %s: it is a directory: give a file name "
		     "with -o, e.g. %s/profile.svg",
		     o->out, o->out);
		return EXIT_USAGE;
	}
	if (rc) {
		fail("cannot write %s: %s: choose a writable path with -o",
		     o->out, strerror(-rc));
		return EXIT_USAGE;
	}
	rc = output__write(p, o->format, m, of.f);
	err = out_file__close(&of, rc == 0);
	if (!rc)
		rc = err;
	if (rc) {
		if (of.kept)
			fail("cannot rename %s to %s: %s; the output is kept "
			     "in %s",
			     of.tmp, o->out, strerror(-rc), of.tmp);
		else
			fail("writing %s failed: %s", o->out,
			     output__strerror(o->format, rc));
		return EXIT_FAILURE_;
	}
	return EXIT_OK;
}

int cmd_convert(int argc, char **argv)
{
	struct convert_opts o;
	struct out_meta m = {};
	struct sources *sources = NULL;
	struct profile *p;
	char err[PATH_MAX + 256];
	const char *base;
	int rc, code;

	rc = parse(argc, argv, &o, err, sizeof(err));
	if (rc < 0) {
		fail("%s", err);
		return EXIT_USAGE;
	}
	if (rc == 1) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	/* Killed while writing, it leaves no temporary file. */
	out_file__remove_on_signals();
	if (strcmp(o.in, "-") != 0) {
		struct stat st;

		if (stat(o.in, &st) == 0 && S_ISDIR(st.st_mode)) {
			fail("%s is a directory: give a file of folded stacks",
			     o.in);
			return EXIT_USAGE;
		}
	}
	p = profile__new();
	if (!p) {
		fail("out of memory");
		return EXIT_FAILURE_;
	}
	rc = in_folded__read_path(p, NULL, o.in, err, sizeof(err));
	if (rc) {
		fail("%s", err);
		profile__free(p);
		/* A file that does not open is a usage error; one that
		 * does not parse is bad data. */
		return rc == -EINVAL || rc == -ENOMEM || rc == -EIO ?
			       EXIT_FAILURE_ :
			       EXIT_USAGE;
	}
	/* As view and diff: an empty profile is a mistake upstream (a run
	 * that ended at once, the wrong file), not something to draw. */
	if (!profile__total(p)) {
		fail("%s holds no samples: nothing to convert (is it the "
		     "output of a run that ended at once?)",
		     strcmp(o.in, "-") == 0 ? "stdin" : o.in);
		profile__free(p);
		return EXIT_FAILURE_;
	}
	rc = filter__apply(&o.filter, &p);
	if (rc) {
		fail("filtering %s failed: %s", o.in, strerror(-rc));
		profile__free(p);
		return EXIT_FAILURE_;
	}
	base = strrchr(o.in, '/');
	base = base ? base + 1 : o.in;
	m.title = o.title ? o.title : strcmp(o.in, "-") == 0 ? "stdin" : base;
	m.freq = o.freq;
	if (o.format == OUT_PSTATS && !m.freq) {
		m.freq = 99;
		fprintf(stderr,
			"pyprof-bpf convert: no -F given: pstats times are "
			"samples / 99 Hz, pyprof-bpf's default; give -F HZ "
			"for stacks sampled at another rate\n");
	}
	if (o.format == OUT_HEATMAP && !(sources = read_sources(p))) {
		fail("out of memory");
		profile__free(p);
		return EXIT_FAILURE_;
	}
	m.sources = sources;
	code = write_file(p, &o, &m);
	sources__free(sources);
	profile__free(p);
	return code;
}
