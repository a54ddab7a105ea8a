// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * `pyprof-bpf view FILE`: opens a saved folded profile in the same view as
 * a live run, to browse without a target; prints the table as plain text
 * when stdout is not a terminal.
 */
#include "cmd/cmd.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/options.h"
#include "cmd/view_remote.h"
#include "lib/filter.h"
#include "lib/msg.h"
#include "lib/profile.h"
#include "out/in_folded.h"
#include "ui/top.h"

static const char usage[] =
	"usage: pyprof-bpf view [options] FILE | http://HOST:PORT\n"
	"\n"
	"Opens a saved profile in the live view's table, to browse without a\n"
	"running target. FILE holds folded stacks, as pyprof-bpf -o writes them\n"
	"(or any \"frame;frame;... COUNT\" lines, flamegraph.pl's input); '-'\n"
	"reads stdin. When stdout is not a terminal, the table is printed as\n"
	"plain text instead.\n"
	"\n"
	"  -l, --lines       start per line instead of per function\n"
	"  -t, --tree        start with the call tree (terminal only)\n"
	"  -n, --rows N      plain text: only the N functions with the most own\n"
	"                    samples (default: all)\n"
	"      --focus REGEX keep only the stacks with a frame that matches\n"
	"      --ignore REGEX drop the stacks with a frame that matches\n"
	"      --hide REGEX  remove the frames that match from every stack\n"
	"                    (pprof's filters: POSIX extended, on a frame as\n"
	"                    folded stacks show it; percentages stay shares of\n"
	"                    every sample, as in pprof)\n"
	"  -h, --help        show this help\n"
	"\n"
	"With http://HOST:PORT instead of FILE, the live view of a running agent\n"
	"(pyprof-bpf serve there), without root here; not on a terminal, the\n"
	"table of everything since the agent started:\n"
	"      --token-file F  the agent's token (when it was given one)\n"
	"  -p, --pid PID       only this process\n"
	"      --comm NAME     only processes of this command name (python3)\n"
	"\n"
	"Keys: q quit, [ ] or Left Right sort column, Up Down move, t threads,\n"
	"l per line / per function, \\ flat table / call tree (Left Right fold\n"
	"and open), / show the rows holding a text (c: all again), ? help.\n"
	"\n"
	"Exit status: 0 done, 1 FILE cannot be read, is not folded stacks or\n"
	"holds no samples, 2 bad usage.\n";

static volatile sig_atomic_t view_stop;

static void on_signal(int sig)
{
	view_stop = sig;
}

#define fail(...) msg__fail("pyprof-bpf view", __VA_ARGS__)

/* Whether view's argument is an agent's address rather than a file. */
static bool is_address(const char *path)
{
	return strncmp(path, "http://", 7) == 0 ||
	       strncmp(path, "https://", 8) == 0;
}

/* Parses argv; 0, 1 for --help, or -EINVAL with one line in err. */
enum { OPT_TOKEN_FILE = 256, OPT_COMM, OPT_FOCUS, OPT_HIDE, OPT_IGNORE };

static int parse(int argc, char **argv, struct view_remote_opts *r,
		 struct filter_opts *fo, const char **path, char *err,
		 size_t errlen)
{
	static const struct option longopts[] = {
		{ "lines", no_argument, NULL, 'l' },
		{ "tree", no_argument, NULL, 't' },
		{ "rows", required_argument, NULL, 'n' },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "focus", required_argument, NULL, OPT_FOCUS },
		{ "hide", required_argument, NULL, OPT_HIDE },
		{ "ignore", required_argument, NULL, OPT_IGNORE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct top_opts *o = &r->top;
	long *rows = &r->rows;
	unsigned long long v;
	struct args a;
	int c;

	args__init(&a, argc, argv, ":ltn:p:h", longopts, "view --help", err,
		   errlen);
	while ((c = args__next(&a)) > 0) {
		switch (c) {
		case OPT_TOKEN_FILE:
			r->token_file = optarg;
			break;
		case 'p':
			if (args__uint(&a, optarg, 1, INT_MAX, &v))
				return -EINVAL;
			r->pid = (pid_t)v;
			break;
		case OPT_COMM:
			if (!optarg[0] || strlen(optarg) > 15)
				return args__fail(&a,
						  "--comm '%s': give a command "
						  "name of 1 to 15 characters",
						  optarg);
			r->comm = optarg;
			break;
		case 'l':
			o->by_line = true;
			break;
		case 't':
			o->tree = true;
			break;
		case 'n':
			if (args__uint(&a, optarg, 1, INT_MAX, &v))
				return -EINVAL;
			*rows = (long)v;
			break;
		case OPT_FOCUS:
		case OPT_HIDE:
		case OPT_IGNORE:
			if (args__filter(&a,
					 c == OPT_FOCUS ? &fo->focus :
					 c == OPT_HIDE	? &fo->hide :
							  &fo->ignore,
					 optarg))
				return -EINVAL;
			break;
		case 'h':
			return 1;
		}
	}
	if (c < 0)
		return c;
	if (optind >= argc)
		return args__fail(&a, "which file? give the profile to browse: "
				      "pyprof-bpf view app.folded");
	if (optind + 1 < argc)
		return args__fail(&a,
				  "unexpected argument '%s': view takes one "
				  "FILE",
				  argv[optind + 1]);
	*path = argv[optind];
	if ((r->token_file || r->pid || r->comm) && !is_address(*path))
		return args__fail(&a, "--token-file, --pid and --comm go with "
				      "an agent's address (http://HOST:PORT), "
				      "not a file");
	if ((fo->focus || fo->hide || fo->ignore) && is_address(*path))
		return args__fail(&a, "--focus, --hide and --ignore go with a "
				      "FILE, not an agent's address: press / "
				      "in the live view to show matching rows");
	return 0;
}

static int browse(const struct top_opts *o, const struct profile *p,
		  const struct top_header *h)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct top *t;
	int rc;

	/* Before top__open, so that ncurses keeps these handlers. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	t = top__open(o);
	if (!t && errno == EINVAL) {
		const char *term = getenv("TERM");

		fail("cannot open the terminal view: the terminal type "
		     "'%.64s' is unknown: set TERM (e.g. TERM=xterm), or "
		     "redirect stdout for a plain-text table",
		     term ? term : "");
		return EXIT_FAILURE_;
	}
	if (!t) {
		fail("cannot open the terminal view: %s: redirect stdout "
		     "for a plain-text table",
		     strerror(errno));
		return EXIT_FAILURE_;
	}
	rc = top__update(t, p, h);
	while (!rc && !view_stop) {
		rc = top__wait(t, 1000);
		if (rc == TOP_QUIT)
			break;
		rc = rc < 0 ? rc : 0;
	}
	top__close(t);
	if (rc < 0) {
		fail("the view failed: %s", strerror(-rc));
		return EXIT_FAILURE_;
	}
	return EXIT_OK;
}

int cmd_view(int argc, char **argv)
{
	struct view_remote_opts r = { .top = { .live = false } };
	struct filter_opts fo = {};
	struct top_opts o;
	struct top_header h = {};
	const char *path = NULL;
	char err[PATH_MAX + 256];
	struct profile *p;
	long rows;
	int rc, code;

	rc = parse(argc, argv, &r, &fo, &path, err, sizeof(err));
	if (rc < 0) {
		fail("%s", err);
		return EXIT_USAGE;
	}
	if (rc == 1) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (is_address(path)) {
		r.url = path;
		return view__remote(&r);
	}
	o = r.top;
	rows = r.rows;
	p = profile__new();
	if (!p) {
		fail("out of memory");
		return EXIT_FAILURE_;
	}
	rc = in_folded__read_path(p, NULL, path, err, sizeof(err));
	if (rc) {
		fail("%s", err);
		code = EXIT_FAILURE_;
		goto out;
	}
	if (!profile__total(p)) {
		fail("%s holds no samples: nothing to show (is it the "
		     "output of a run that ended at once?)",
		     path);
		code = EXIT_FAILURE_;
		goto out;
	}
	rc = filter__apply(&fo, &p);
	if (rc) {
		fail("filtering %s failed: %s", path, strerror(-rc));
		code = EXIT_FAILURE_;
		goto out;
	}
	if (!profile__total(p)) {
		fail("no sample of %s is left after --focus, --ignore and "
		     "--hide: loosen them",
		     path);
		code = EXIT_FAILURE_;
		goto out;
	}
	h.target = strcmp(path, "-") == 0 ? "<stdin>" : path;
	if (!isatty(STDOUT_FILENO)) {
		signal(SIGPIPE, SIG_IGN);
		rc = top__snapshot(stdout, p, &h, (int)rows, &o);
		code = EXIT_OK;
		if (rc && rc != -EPIPE) {
			fail("writing stdout failed: %s", strerror(-rc));
			code = EXIT_FAILURE_;
		}
		goto out;
	}
	code = browse(&o, p, &h);
out:
	profile__free(p);
	return code;
}
