// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Recording a profile, the default command, in the shape of perf's
 * builtin-record.c: it checks what the run needs before touching the kernel
 * (privileges, BTF, the target), opens a sampling session
 * (src/sampler/session.c), then samples until the duration ends, Ctrl-C,
 * or the target exits, and writes what it collected in every one of those
 * cases.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/launch.h"
#include "cmd/options.h"
#include "cmd/summary.h"
#include "lib/clock.h"
#include "lib/msg.h"
#include "out/file.h"
#include "out/output.h"
#include "sampler/offcpu.h"
#include "sampler/proc.h"
#include "sampler/session.h"
#include "ui/top.h"

#define PYPROF_VERSION "0.1.0"
/* How often the main loop wakes to check signals and the target; sampler
 * events wake it sooner. */
#define TICK_MS 100
/* After Ctrl-C, how long a launched command may take to finish. */
#define STOP_GRACE_SECS 3.0

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

#define fail(...) msg__fail("pyprof-bpf", __VA_ARGS__)

/*
 * Whether the -o path can be written, found before profiling (exit 2
 * otherwise).  Nothing is created: the file is written only at the end,
 * through a temporary file that gets a name only once complete.
 */
static int output_check(const char *path)
{
	int rc = out_file__check(path);

	if (rc == -EISDIR)
		fail("cannot write %s: it is a directory: give a file name "
		     "with -o, e.g. %s/profile.folded",
		     path, path);
	else if (rc == -EBADF)
		fail("cannot write %s: it names a descriptor of pyprof-bpf "
		     "that is not open for writing: open it (e.g. 3>FILE) or "
		     "choose a file with -o",
		     path);
	else if (rc)
		fail("cannot write %s: %s: choose a writable path with -o",
		     path, strerror(-rc));
	return rc;
}

/* "SIGINT", for "interrupted (SIGINT)". */
static const char *signal_name(int sig)
{
	return sig == SIGINT  ? "SIGINT" :
	       sig == SIGTERM ? "SIGTERM" :
	       sig == SIGHUP  ? "SIGHUP" :
				"a signal";
}

/* Everything one run of the command holds. */
struct record {
	struct options opt;
	enum out_format fmt;
	bool live; /* the live view is the output */
	struct session *s;
	struct top *view;
	struct launch cmd; /* -- COMMAND */
	uint64_t view_samples; /* samples taken at the view's last update */
	double next_drain;
	double stop_asked; /* when the command was given its grace */
	double opening; /* clock__now() when the session began to open */
	bool over; /* the loop is done */
	bool targets_gone; /* ... because what it profiled has exited */
	bool pipe_closed; /* stdout's (or the -o pipe's) reader has gone */
	bool stream_failed; /* a --stream snapshot could not be written */
	bool told_no_reader; /* --stream to a FIFO without a reader: said */
};

/* The command line; prints --help and --version.  An exit code. */
static int record__parse(struct record *rec, int argc, char **argv)
{
	struct options *opt = &rec->opt;
	char err[PATH_MAX + 512];

	if (options__parse(argc, argv, opt, err, sizeof(err))) {
		fail("%s", err);
		return EXIT_USAGE;
	}
	if (opt->help) {
		fputs(options__usage, stdout);
		return EXIT_OK;
	}
	if (opt->version) {
		printf("pyprof-bpf %s\n", PYPROF_VERSION);
		return EXIT_OK;
	}
	rec->fmt = OUT_FOLDED;
	if (opt->format ? output__parse_name(opt->format, &rec->fmt, err,
					     sizeof(err)) :
	    opt->output ? output__format_for_path(opt->output, &rec->fmt, err,
						  sizeof(err)) :
			  0) {
		fail("%s", err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static void session_opts(const struct record *rec, struct session_opts *so)
{
	const struct options *o = &rec->opt;

	*so = (struct session_opts){
		.freq = o->freq,
		.max_depth = o->max_depth,
		.interval = o->interval,
		.map_scale = o->map_scale,
		.verbose = o->verbose,
		.all = o->all,
		.children = o->children,
		.launch = o->cmd != NULL,
		.wall = o->wall,
		.gil = o->gil,
		.gil_only = o->gil_only,
		.native = o->native,
		.kernel = o->kernel,
		.async = o->async,
		.thread_ids = o->thread_ids,
		.no_threads = o->no_threads,
		.merge_processes = o->merge_processes,
		.timeline = o->timeline || output__timeline(rec->fmt),
		.filter = { .focus = o->focus,
			    .hide = o->hide,
			    .ignore = o->ignore },
		.sources = rec->fmt == OUT_HEATMAP,
	};
}

static int exit_for_attach(int rc)
{
	switch (rc) {
	case -ESRCH:
		return EXIT_NOPROC;
	case -ENOEXEC:
		return EXIT_NOTPY;
	case -ENOTSUP:
	case -EINVAL:
		return EXIT_PYVER;
	case -EPERM:
	case -EACCES:
		return EXIT_PERM;
	default:
		return EXIT_FAILURE_;
	}
}

/* Attaches the -p pids.  0, or the exit code when none can be profiled. */
static int attach_given(struct record *rec)
{
	const struct options *opt = &rec->opt;
	char err[PATH_MAX + 512], comm[64];
	int rc, code = EXIT_OK;
	unsigned profiled = 0;

	for (unsigned i = 0; i < opt->npids; i++) {
		pid_t pid = opt->pids[i], tgid;

		if (proc__tgid(pid, &tgid) == 0 && tgid != pid) {
			fprintf(stderr,
				"pyprof-bpf: %d is a thread of process %d: "
				"profiling process %d\n",
				pid, tgid, tgid);
			pid = tgid;
		}
		rc = session__attach(rec->s, pid, err, sizeof(err));
		if (!rc) {
			profiled++;
			continue;
		}
		if (rc == -ENOEXEC && opt->children) {
			/* A shell, a supervisor: what it starts is Python. */
			proc__comm(pid, 0, comm, sizeof(comm));
			fprintf(stderr,
				"pyprof-bpf: pid %d (%s) is not a Python "
				"process: profiling its Python descendants\n",
				pid, comm);
			session__follow_only(rec->s, pid);
			profiled++;
			continue;
		}
		if (opt->npids == 1) {
			fail("%s", err);
			return exit_for_attach(rc);
		}
		fprintf(stderr, "pyprof-bpf: skipping pid %d: %s\n", pid, err);
		code = exit_for_attach(rc);
	}
	if (opt->npids && profiled == 0) {
		fail("none of the %u processes can be profiled", opt->npids);
		return code;
	}
	return EXIT_OK;
}

/* launch__start's follow: the command's children are profiled too. */
static void follow_command(pid_t pid, void *arg)
{
	struct record *rec = arg;
	char path[PATH_MAX];

	if (session__follow(rec->s, pid))
		fail("cannot follow pid %d: its children will not be profiled",
		     pid);
	/* A command that is, or links, a CPython is recognised from its
	 * first instruction in the interpreter, before pyprof-bpf looks. */
	if (launch__resolve(rec->opt.cmd[0], path, sizeof(path)) == 0)
		session__expect(rec->s, pid, path);
}

/*
 * Opens the FIFO at path once a reader has it open.  A blocking open
 * would miss a signal that came after the check of stop_signal and
 * before the open, and then wait forever; so it tries again every 20 ms
 * without blocking (a signal cuts the sleep short).  0, -EINTR when a
 * signal gave up, or -errno.
 */
static int wait_for_reader(struct out_file *of, const char *path)
{
	const struct timespec step = { .tv_nsec = 20 * 1000 * 1000 };
	int rc;

	for (;;) {
		if (stop_signal)
			return -EINTR;
		rc = out_file__open(of, path);
		if (rc != -ENXIO)
			return rc;
		nanosleep(&step, NULL);
	}
}

/*
 * Opens the -o file.  A FIFO without a reader: a snapshot (!wait) is
 * skipped (-ENXIO); the profile waits for one, saying so, until a signal
 * gives up.  0 or -errno; -EALREADY when the failure was told.
 */
static int output_open(struct record *rec, struct out_file *of, bool wait)
{
	const char *path = rec->opt.output;
	int rc;

	rc = out_file__open(of, path);
	if (rc == -ENXIO && !wait)
		return rc;
	if (rc == -ENXIO) {
		fprintf(stderr,
			"pyprof-bpf: waiting for a reader of %s to write the "
			"profile to (open it, e.g. cat %s; Ctrl-C gives up)\n",
			path, path);
		rc = wait_for_reader(of, path);
	}
	if (rc == -EINTR)
		fail("interrupted (%s) while waiting for a reader of %s: the "
		     "profile was not written",
		     signal_name(stop_signal), path);
	else if (rc)
		fail("cannot write %s: %s", path, strerror(-rc));
	return rc ? -EALREADY : 0;
}

/*
 * Writes the profile to the -o file.  A device or pipe (/dev/stdout, a
 * FIFO) written in place gets an empty line after each --stream
 * snapshot, as stdout does.  0, -EPIPE when a pipe's reader has gone, or
 * -EALREADY (told).
 */
static int output_write(struct record *rec, const struct out_meta *m,
			bool snapshot)
{
	const char *path = rec->opt.output;
	struct out_file of;
	int rc, rc2;

	rc = output_open(rec, &of, !snapshot);
	if (rc)
		return rc;
	rc = output__write(rec->s->prof, rec->fmt, m, of.f);
	if (!rc && snapshot && of.direct && fputc('\n', of.f) == EOF)
		rc = -errno;
	rc2 = out_file__close(&of, rc == 0);
	rc = rc ?: rc2;
	if (rc == -EPIPE && of.direct)
		return -EPIPE;
	if (rc && of.kept)
		fail("cannot rename %s to %s: %s; the profile is kept in %s",
		     of.tmp, path, strerror(-rc), of.tmp);
	else if (rc)
		fail("writing %s failed: %s", path,
		     output__strerror(rec->fmt, rc));
	return rc ? -EALREADY : 0;
}

/*
 * --stream: the whole profile so far, to stdout followed by an empty line,
 * or to the -o file, replaced whole.  0, -EPIPE when the reader has gone
 * (no one is left to stream to), -ENXIO when a FIFO has no reader yet
 * (skipped), or -EALREADY when writing failed (told).
 */
static int stream_snapshot(struct record *rec, double elapsed)
{
	const struct options *opt = &rec->opt;
	struct session_meta meta;
	int rc;

	session__meta(rec->s, opt->cmd ? opt->cmd[0] : NULL, elapsed, &meta);
	if (opt->output)
		return output_write(rec, &meta.m, true);
	rc = output__write(rec->s->prof, rec->fmt, &meta.m, stdout);
	if (!rc && (fputc('\n', stdout) == EOF || fflush(stdout)))
		rc = -errno;
	if (rc && rc != -EPIPE) {
		fail("writing stdout failed: %s",
		     output__strerror(rec->fmt, rc));
		return -EALREADY;
	}
	return rc;
}

/* top_header.thread_gil: the GIL shares of the threads that are shown
 * as one thread of the live view (one, unless names repeat). */
static bool thread_gil(uint32_t proc, uint32_t thread, double *held,
		       double *waiting, void *arg)
{
	struct session *s = arg;
	const struct offcpu_thread *v;
	size_t n = offcpu__threads(s->coll.offcpu, &v);
	uint64_t total = 0, h = 0, w = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t p, t;

		if (collect__thread_frames(&s->coll, v[i].pid, v[i].tid, &p,
					   &t) ||
		    p != proc || t != thread)
			continue;
		total += v[i].on + v[i].off;
		h += v[i].held;
		w += v[i].waiting;
	}
	if (!total)
		return false;
	*held = (double)h / (double)total;
	*waiting = (double)w / (double)total;
	return true;
}

/* Gives the live view this drain's profile and header. */
static void update_view(struct record *rec)
{
	struct session *s = rec->s;
	uint64_t st[STAT__MAX];
	struct top_header h = {};
	char target[64], python[48] = "";

	session__stats(s, st);
	if (s->ts.n == 1) {
		const struct target *t = s->ts.v[0];

		snprintf(target, sizeof(target), "%s %d", t->comm, t->pid);
		snprintf(python, sizeof(python), "%s", t->py.version_str);
	} else {
		snprintf(target, sizeof(target), "%zu processes",
			 targets__live(&s->ts, false));
	}
	h.target = target;
	h.python = python;
	h.rate_hz = rec->opt.freq;
	h.samples = st[STAT_SAMPLES] - rec->view_samples;
	h.samples_total = st[STAT_SAMPLES];
	h.lost = session__lost(s, st);
	rec->view_samples = st[STAT_SAMPLES];
	if (rec->opt.gil && s->coll.offcpu) {
		h.has_gil = true;
		offcpu__gil_shares(s->coll.offcpu, &h.gil_share,
				   &h.gil_waiting);
		h.thread_gil = thread_gil;
		h.thread_gil_arg = s;
	}
	top__update(rec->view, s->prof, &h);
}

/*
 * The one line that says sampling has begun (README, "Run summary"):
 * printed once, with every program attached and the targets in the maps
 * (a launched command released), before the live view takes the terminal.
 * Tests and scripts wait for it instead of sleeping.
 */
static void print_sampling(const struct record *rec)
{
	const struct options *o = &rec->opt;
	size_t n = rec->s->ts.n;

	if (o->all)
		fprintf(stderr,
			"pyprof-bpf: sampling every Python process at %u Hz\n",
			o->freq);
	else if (o->cmd)
		fprintf(stderr,
			"pyprof-bpf: sampling %s (pid %d) and its descendants "
			"at %u Hz\n",
			o->cmd[0], rec->cmd.pid, o->freq);
	else
		fprintf(stderr,
			"pyprof-bpf: sampling %zu process%s%s at %u Hz\n", n,
			n == 1 ? "" : "es",
			!o->children ? "" :
			n == 1	     ? " and its descendants" :
				       " and their descendants",
			o->freq);
}

/*
 * Opens the session, launches the command, opens the live view.  0, or
 * the exit code (told).
 */
static int record__open(struct record *rec)
{
	char err[PATH_MAX + 512];
	int rc;

	rec->opening = clock__now();
	rc = session__open(rec->s, err, sizeof(err));
	if (rc) {
		fail("%s", err);
		return rc == -EPERM   ? EXIT_PERM :
		       rc == -ENOTSUP ? EXIT_KERNEL :
					EXIT_FAILURE_;
	}
	if (rec->opt.cmd &&
	    launch__start(&rec->cmd, rec->opt.cmd, follow_command, rec))
		return rec->cmd.exited ? launch__exit_code(&rec->cmd) :
					 EXIT_FAILURE_;
	/* Sampling has begun: every target is in the sampler, and a launched
	 * command has been let go. */
	print_sampling(rec);
	if (rec->live) {
		rec->view = top__open(&(struct top_opts){ .live = true });
		if (!rec->view) {
			fail("cannot open the live view: %s; use --folded or "
			     "-o FILE",
			     strerror(errno));
			return EXIT_FAILURE_;
		}
	}
	rec->next_drain = rec->s->start + rec->opt.interval;
	return EXIT_OK;
}

/*
 * Whether a stop signal ends the loop.  A launched command got the
 * terminal's Ctrl-C too: it is given a moment to finish, and that is
 * collected.
 */
static bool record__stopping(struct record *rec, double now)
{
	if (!stop_signal)
		return false;
	if (!rec->cmd.pid || rec->cmd.exited)
		return true;
	if (!rec->stop_asked) {
		rec->stop_asked = now;
		if (stop_signal != SIGINT)
			launch__kill(&rec->cmd, stop_signal);
	}
	return now - rec->stop_asked >= STOP_GRACE_SECS;
}

/*
 * A drain, and what follows each: the live view, a --stream snapshot.
 * 0 or -errno (told).  A snapshot that cannot be written ends the run:
 * the next one would fail the same way.
 */
static int record__drain(struct record *rec, double now)
{
	int rc;

	rc = session__drain(rec->s);
	if (rc) {
		fail("collecting samples failed: %s", strerror(-rc));
		return rc;
	}
	if (rec->view)
		update_view(rec);
	rc = rec->opt.stream ? stream_snapshot(rec, now - rec->s->start) : 0;
	if (rc == -EPIPE) {
		rec->pipe_closed = true;
		rec->over = true;
		return 0;
	}
	if (rc == -ENXIO && !rec->told_no_reader) {
		rec->told_no_reader = true;
		fprintf(stderr,
			"pyprof-bpf: %s has no reader: snapshots are skipped "
			"until one opens it\n",
			rec->opt.output);
	} else if (rc == -EALREADY) {
		rec->stream_failed = true;
		rec->over = true;
		return rc;
	}
	if (now >= rec->next_drain)
		rec->next_drain += rec->opt.interval;
	if (rec->next_drain < now)
		rec->next_drain = now + rec->opt.interval;
	return 0;
}

/*
 * One turn of the loop: the sampler's events, the view's keys, whether the
 * run is over, and a drain when one is due.  rec->over once it is; 0, or
 * -errno when collecting failed (told).
 */
static int record__tick(struct record *rec)
{
	struct session *s = rec->s;
	double now;

	session__poll(s, TICK_MS);
	if (rec->view && top__wait(rec->view, 0) == TOP_QUIT) {
		rec->over = true;
		return 0;
	}
	now = clock__now();
	launch__reap(&rec->cmd);
	session__check(s);
	if (rec->opt.cmd ? rec->cmd.exited : session__targets_gone(s)) {
		rec->targets_gone = true;
		rec->over = true;
		return 0;
	}
	if (record__stopping(rec, now) ||
	    (rec->opt.duration && now - s->start >= rec->opt.duration)) {
		rec->over = true;
		return 0;
	}
	if (now >= rec->next_drain || session__want_drain(s))
		return record__drain(rec, now);
	return 0;
}

/* Samples until the run is over.  An exit code. */
static int record__loop(struct record *rec)
{
	while (!rec->over)
		if (record__tick(rec))
			return EXIT_FAILURE_;
	return EXIT_OK;
}

/* Writes the profile where it goes.  code, or EXIT_FAILURE_ (told). */
static int write_profile(struct record *rec, int code, double elapsed)
{
	const struct options *opt = &rec->opt;
	struct session_meta meta;
	int rc;

	if (rec->pipe_closed)
		return code;
	session__meta(rec->s, opt->cmd ? opt->cmd[0] : NULL, elapsed, &meta);
	if (opt->output) {
		rc = output_write(rec, &meta.m, false);
		if (rc == -EPIPE)
			rec->pipe_closed = true;
		return rc && rc != -EPIPE ? EXIT_FAILURE_ : code;
	}
	rc = output__write(rec->s->prof, rec->fmt, &meta.m, stdout);
	if (!rc && fflush(stdout))
		rc = -errno;
	if (rc == -EPIPE) {
		rec->pipe_closed = true;
	} else if (rc) {
		fail("writing stdout failed: %s",
		     output__strerror(rec->fmt, rc));
		return EXIT_FAILURE_;
	}
	return code;
}

/*
 * After the loop: the last samples, the summary, the profile (what was
 * collected is written whatever ended the run, unless --stream found that
 * it cannot be).  code, or the exit code of a failure (told).
 */
static int record__finish(struct record *rec, int code)
{
	struct run_end end = { .targets_gone = rec->targets_gone };
	int rc;

	/* Nothing may reach stderr while the view owns the terminal. */
	top__close(rec->view);
	rec->view = NULL;
	/* Sampled until now; the last drain only collects. */
	end.elapsed = session__elapsed(rec->s);
	end.setup = rec->s->start - rec->opening;
	session__stop(rec->s);
	rc = session__drain(rec->s);
	if (rc && !code) {
		fail("collecting samples failed: %s", strerror(-rc));
		code = EXIT_FAILURE_;
	}
	end.signal = stop_signal;
	summary__print(rec->s, &end);
	/* The live view was the output, unless a file was asked for. */
	if ((!rec->live || rec->opt.output) && !rec->stream_failed)
		code = write_profile(rec, code, end.elapsed);
	return code;
}

/* Whoever read the output (`| head`) chose to stop: not a failure, but
 * said. */
static void tell_pipe_closed(const struct record *rec)
{
	const char *path = rec->opt.output;

	if (!rec->pipe_closed)
		return;
	if (path)
		fprintf(stderr,
			"pyprof-bpf: %s was closed by its reader (broken "
			"pipe): the profile there is cut short\n",
			path);
	else
		fprintf(stderr,
			"pyprof-bpf: stdout was closed by its reader (broken "
			"pipe): the profile there is cut short; use -o FILE "
			"for all of it\n");
}

/* Waits for a launched command that is still running, unless the run was
 * interrupted.  The exit code of the run: code, else the command's. */
static int wait_command(struct record *rec, int code)
{
	const char *name = rec->opt.cmd ? rec->opt.cmd[0] : NULL;

	if (!rec->cmd.pid)
		return code;
	if (!rec->cmd.exited && stop_signal) {
		fprintf(stderr,
			"pyprof-bpf: %s (pid %d) is still running after the "
			"interrupt; not waiting for it\n",
			name, rec->cmd.pid);
		return code;
	}
	if (!rec->cmd.exited) {
		/* -d ended the profile, not the command. */
		fprintf(stderr,
			"pyprof-bpf: %s; waiting for %s (pid %d) to exit\n",
			code != EXIT_OK	 ? "profile not written" :
			rec->pipe_closed ? "profile cut short" :
					   "profile written",
			name, rec->cmd.pid);
		launch__wait(&rec->cmd);
	}
	return code == EXIT_OK ? launch__exit_code(&rec->cmd) : code;
}

/* open, the loop, finish the output.  An exit code. */
static int record(struct record *rec)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct session_opts so;
	int code;

	/* From here on, Ctrl-C ends the run with what was collected. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (checks__privileges("pyprof-bpf"))
		return EXIT_PERM;
	if (checks__btf("pyprof-bpf"))
		return EXIT_KERNEL;
	session_opts(rec, &so);
	rec->s = session__new(&so);
	if (!rec->s) {
		fail("out of memory");
		return EXIT_FAILURE_;
	}
	code = attach_given(rec);
	if (code)
		goto out_delete_session;
	/* On a terminal, the live view; folded stacks go where asked. A
	 * launched command shares the terminal: no view over its output. */
	rec->live = !rec->opt.folded && !rec->opt.cmd && isatty(STDOUT_FILENO);
	if (rec->opt.output && output_check(rec->opt.output)) {
		code = EXIT_USAGE;
		goto out_delete_session;
	}
	code = record__open(rec);
	if (code)
		goto out_close_session;
	code = record__loop(rec);
	code = record__finish(rec, code);
	tell_pipe_closed(rec);
out_close_session:
	session__close(rec->s);
out_delete_session:
	session__delete(rec->s);
	return wait_command(rec, code);
}

int cmd_record(int argc, char **argv)
{
	struct record *rec;
	int code;

	/* Large (the options hold every -p pid): not on the stack. */
	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		fail("out of memory");
		return EXIT_FAILURE_;
	}
	code = record__parse(rec, argc, argv);
	if (code == EXIT_OK && !rec->opt.help && !rec->opt.version)
		code = record(rec);
	free(rec);
	return code;
}
