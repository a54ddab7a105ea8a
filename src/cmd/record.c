// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Recording a profile, the default command: it checks what the run needs
 * before touching the kernel (privileges, BTF, the target), then samples until the duration ends, Ctrl-C, or the
 * target exits, and writes what it collected in every one of those cases.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/options.h"
#include "lib/clock.h"
#include "lib/msg.h"
#include "lib/profile.h"
#include "lib/sources.h"
#include "out/file.h"
#include "out/output.h"
#include "python/python.h"
#include "sampler/collect.h"
#include "sampler/offcpu.h"
#include "sampler/proc.h"
#include "sampler/sampler.h"
#include "sampler/targets.h"
#include "ui/top.h"

#define PYPROF_VERSION "0.1.0"
/* How often the main loop wakes to check signals and the target; sampler
 * events wake it sooner. */
#define TICK_MS 100
/* After Ctrl-C, how long a launched command may take to finish. */
#define STOP_GRACE_SECS 3.0

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

#define fail(...) msg__fail("pyprof-bpf", __VA_ARGS__)

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

/* Says which capabilities are missing. 0 when all are there. */
static int check_privileges(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2] = {};
	char missing[128] = "";
	bool admin;

	if (syscall(SYS_capget, &hdr, d) != 0)
		return 0; /* cannot tell: let the kernel decide */
	/* Before Linux 5.8, CAP_SYS_ADMIN stood for CAP_BPF and CAP_PERFMON. */
	admin = has_cap(d, CAP_SYS_ADMIN);
	if (!admin && !has_cap(d, CAP_BPF))
		strcat(missing, " CAP_BPF");
	if (!admin && !has_cap(d, CAP_PERFMON))
		strcat(missing, " CAP_PERFMON");
	if (!has_cap(d, CAP_SYS_PTRACE))
		strcat(missing, " CAP_SYS_PTRACE");
	if (!missing[0])
		return 0;
	fail("insufficient privileges (missing%s): run it as root (sudo "
	     "pyprof-bpf ...) or grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE",
	     missing);
	return -EPERM;
}

static int check_btf(void)
{
	struct stat st;

	if (stat("/sys/kernel/btf/vmlinux", &st) == 0)
		return 0;
	fail("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): "
	     "pyprof-bpf needs Linux 5.17+ built with CONFIG_DEBUG_INFO_BTF=y "
	     "(most distributions' kernels are)");
	return -ENOTSUP;
}

/* Where the profile goes: stdout, or a temporary file renamed at the end so
 * that FILE is either complete or untouched. */
struct output {
	FILE *f;
	bool to_file;
	struct out_file file;
};

static int output_open(struct output *o, const char *path)
{
	int rc;

	memset(o, 0, sizeof(*o));
	if (!path) {
		o->f = stdout;
		return 0;
	}
	rc = out_file__open(&o->file, path);
	if (rc == -EISDIR)
		fail("cannot write %s: it is a directory: give a file name "
		     "with -o, e.g. %s/profile.folded",
		     path, path);
	else if (rc)
		fail("cannot write %s: %s: choose a writable path with -o",
		     path, strerror(-rc));
	if (rc)
		return rc;
	o->f = o->file.f;
	o->to_file = true;
	return 0;
}

/* 0, -errno, or -EALREADY when the failure was already told. */
static int output_close(struct output *o, bool keep)
{
	int rc;

	if (!o->to_file)
		return fflush(stdout) == 0 ? 0 : -errno;
	rc = out_file__close(&o->file, keep);
	if (rc && o->file.kept) {
		fail("cannot rename %s to %s: %s; the profile is kept in %s",
		     o->file.tmp, o->file.final, strerror(-rc), o->file.tmp);
		return -EALREADY;
	}
	return rc;
}

/* Everything one run holds; the sampler's events reach it through arg. */
struct run {
	struct options opt;
	struct targets ts;
	struct collector coll;
	struct sampler *bpf;
	struct profile *prof;
	double wall_start; /* CLOCK_REALTIME seconds at the start */
	pid_t child; /* the launched command, 0 if none */
	int child_status; /* its wait status, once it has exited */
	bool child_exited;
	double start;
	struct unwinder *unw; /* --native */
	struct ksyms *ksyms; /* --kernel */
};

static void on_new_seg(uint32_t pid, const struct py_seg *seg, void *arg)
{
	collect__on_new_seg(pid, seg, &((struct run *)arg)->coll);
}

static void on_new_thread(uint32_t pid, uint32_t tid, uint64_t thread_id,
			  void *arg)
{
	collect__on_new_thread(pid, tid, thread_id, &((struct run *)arg)->coll);
}

static void on_exec(uint32_t pid, void *arg)
{
	struct run *r = arg;

	if (r->unw)
		unwinder__forget(r->unw, (pid_t)pid);
	targets__on_exec(&r->ts, (pid_t)pid);
}

static void on_native(const struct native_event *ev, size_t len, void *arg)
{
	collect__on_native(ev, len, &((struct run *)arg)->coll);
}

/* --native, --kernel: what the unwinder and the kernel stacks did. */
static void print_native_summary(struct run *r, const uint64_t *s)
{
	const struct collector *c = &r->coll;
	struct unwind_stats st;

	if (r->unw) {
		unwinder__stats(r->unw, &st);
		fprintf(stderr,
			"pyprof-bpf: native stacks %" PRIu64 " (%.1f frames; "
			"%" PRIu64 " cut short, %" PRIu64 " unmerged, %" PRIu64
			" sent without their stack, %" PRIu64
			" with under 12 KiB of stack copied)\n",
			c->native_samples,
			st.samples ? (double)st.frames / (double)st.samples :
				     0.0,
			c->native_cut, c->native_unmerged, s[STAT_NATIVE_LOST],
			s[STAT_NATIVE_SHORT]);
		fprintf(stderr,
			"pyprof-bpf: native cost: unwinding %.1f us a sample, "
			"symbolising %.1f us an address (%" PRIu64
			" addresses), %" PRIu64 " sessions in %.1f ms\n",
			st.samples ? (double)st.unwind_ns / (double)st.samples /
					     1e3 :
				     0.0,
			st.syms ? (double)st.sym_ns / (double)st.syms / 1e3 :
				  0.0,
			st.syms, st.sessions, (double)st.session_ns / 1e6);
	}
	/* With --native, kernel stacks travel with the native samples; the
	 * stack-id counters only see samples sent without one. */
	if (r->ksyms && (!r->unw || s[STAT_KSTACK_NONE] ||
			 s[STAT_KSTACK_LOST] || s[STAT_KSTACK_COLLIDED]))
		fprintf(stderr,
			"pyprof-bpf: kernel stacks: %" PRIu64
			" samples in user mode, %" PRIu64
			" lost (map full), %" PRIu64 " collided\n",
			s[STAT_KSTACK_NONE], s[STAT_KSTACK_LOST],
			s[STAT_KSTACK_COLLIDED]);
}

static void on_probe(uint32_t pid, void *arg)
{
	targets__on_probe(&((struct run *)arg)->ts, (pid_t)pid);
}

static void on_fork(uint32_t child, uint32_t parent, void *arg)
{
	targets__on_fork(&((struct run *)arg)->ts, (pid_t)child, (pid_t)parent);
}

static int drain(struct run *r)
{
	int rc;

	targets__drain_begin(&r->ts);
	collect__new_drain(&r->coll);
	rc = sampler__drain(r->bpf, collect__sample, &r->coll);
	targets__drained(&r->ts);
	return rc;
}

static void print_process(const struct target_record *t)
{
	char ns[48] = "";

	if (t->ns_pid)
		snprintf(ns, sizeof(ns), " (pid %d in its namespace)",
			 t->ns_pid);
	fprintf(stderr, "pyprof-bpf:   pid %d%s %s, CPython %s", t->pid, ns,
		t->comm, t->version);
	if (t->cpu >= 0)
		fprintf(stderr, ", %.2f s CPU", t->cpu);
	fprintf(stderr, "%s\n",
		t->execed ? ", exec'd another program" :
		t->gone	  ? ", exited" :
			    "");
}

static const char *thread_name(uint32_t pid, uint32_t tid, char *buf,
			       size_t len, void *arg)
{
	return collect__thread_name(arg, pid, tid, buf, len);
}

static void print_summary(struct run *r, double elapsed, bool ended)
{
	const struct options *opt = &r->opt;
	const struct targets *ts = &r->ts;
	const struct collector *c = &r->coll;
	size_t nproc = ts->retired + ts->n, shown;
	struct target_record t;
	uint64_t s[STAT__MAX] = {};
	const char *why;
	uint64_t lost;
	double cpu = targets__cpu(ts);

	sampler__stats(r->bpf, s);
	lost = s[STAT_LOST_COUNTS] + s[STAT_LOST_STACKS] + collect__lost(c);
	why = stop_signal == SIGINT  ? "; interrupted (SIGINT)" :
	      stop_signal == SIGTERM ? "; interrupted (SIGTERM)" :
	      stop_signal == SIGHUP  ? "; interrupted (SIGHUP)" :
				       "";
	if (nproc == 1) {
		targets__record(ts, 0, &t);
		if (t.execed)
			why = "; the process exec'd another program";
		else if (t.gone || ended)
			why = "; the process exited";
		fprintf(stderr,
			"pyprof-bpf: pid %d, CPython %s (%s%s): %.1f s at %u Hz "
			"on %d CPUs%s\n",
			t.pid, t.version, t.elf_path,
			t.debug_offsets ? ", offsets from _Py_DebugOffsets" :
					  "",
			elapsed, opt->freq, sampler__ncpus(r->bpf), why);
		if (t.ns_pid)
			fprintf(stderr,
				"pyprof-bpf: pid %d is pid %d in its own PID "
				"namespace\n",
				t.pid, t.ns_pid);
	} else if (nproc == 0) {
		fprintf(stderr,
			"pyprof-bpf: no Python process was profiled in %.1f s%s: "
			"the profile is empty%s\n",
			elapsed, why,
			opt->cmd ? " (does the command run CPython 3.8+?)" :
				   "");
	} else {
		fprintf(stderr,
			"pyprof-bpf: %zu Python processes (%zu still running): "
			"%.1f s at %u Hz on %d CPUs%s\n",
			nproc, targets__live(ts, false), elapsed, opt->freq,
			sampler__ncpus(r->bpf), why);
		/* The first retired ones kept, then the live ones. */
		shown = ts->nrecords + ts->n;
		if (shown > TARGETS_SUMMARY_MAX)
			shown = TARGETS_SUMMARY_MAX;
		for (size_t i = 0; i < shown; i++) {
			targets__record(ts, i, &t);
			print_process(&t);
		}
		if (shown < nproc)
			fprintf(stderr, "pyprof-bpf:   ... and %zu more\n",
				nproc - shown);
	}
	if (opt->all || opt->children || opt->cmd) {
		fprintf(stderr,
			"pyprof-bpf: discovery: %" PRIu64
			" processes looked at, %" PRIu64
			" found after the start",
			s[STAT_PROBES], ts->attach_delays);
		if (ts->attach_delays)
			fprintf(stderr,
				" (from process start to profiled: mean %.0f ms, "
				"max %.0f ms)",
				1000 * ts->attach_delay_sum /
					(double)ts->attach_delays,
				1000 * ts->attach_delay_max);
		fprintf(stderr,
			"; not Python %" PRIu64 ", unsupported Python %" PRIu64
			", failed %" PRIu64 "\n",
			ts->not_python, ts->unsupported, ts->failed);
	}
	fprintf(stderr, "pyprof-bpf: samples %" PRIu64 " taken",
		s[STAT_SAMPLES]);
	if (cpu >= 0)
		fprintf(stderr, " (expected ~%.0f from %.2f s of CPU time)",
			cpu * opt->freq, cpu);
	fprintf(stderr, ", %" PRIu64 " written, %" PRIu64 " lost",
		profile__total(r->prof), lost);
	if (lost) {
		fprintf(stderr,
			" (counts map full %" PRIu64
			", stacks map full %" PRIu64,
			s[STAT_LOST_COUNTS], s[STAT_LOST_STACKS]);
		collect__print_lost(c, stderr);
		fputc(')', stderr);
	}
	fputc('\n', stderr);
	print_native_summary(r, s);
	fprintf(stderr,
		"pyprof-bpf: python stacks %" PRIu64 " complete, %" PRIu64
		" truncated (--max-depth %u), %" PRIu64 " partial; unresolved: "
		"no thread state %" PRIu64 ", no frame %" PRIu64
		", interpreter unreadable %" PRIu64 ", bad config %" PRIu64
		", exiting %" PRIu64 "; unknown frames %" PRIu64 "\n",
		s[STAT_PY_FULL], s[STAT_TRUNCATED], opt->max_depth,
		s[STAT_PARTIAL], s[STAT_NO_TSTATE], s[STAT_NO_FRAME],
		s[STAT_ERR_RUNTIME], s[STAT_ERR_CONFIG], s[STAT_EXITING],
		c->unknown_frames);
	/* What only a corrupt (or hostile) target produces. */
	if (s[STAT_CYCLE] || s[STAT_TSTATE_WALK_CAP])
		fprintf(stderr,
			"pyprof-bpf: target memory inconsistent: frame chain "
			"looped %" PRIu64 " times, thread list longer than %u "
			"%" PRIu64 " times\n",
			s[STAT_CYCLE], PY_MAX_THREADS_WALK,
			s[STAT_TSTATE_WALK_CAP]);
	if (c->offcpu)
		offcpu__print_summary(c->offcpu, stderr, opt->wall, opt->gil,
				      TARGETS_SUMMARY_MAX, thread_name,
				      &r->coll);
	if (opt->verbose) {
		static const char *names[] = STAT_NAMES;
		uint64_t run_ns = 0, runs = 0;

		if (sampler__switch_stats(r->bpf, &run_ns, &runs) == 0 && runs)
			fprintf(stderr,
				"pyprof-bpf: sched_switch program runs %" PRIu64
				", %.3f us each on average, %" PRIu64
				" target switch-outs (kernel.bpf_stats_enabled)\n",
				runs, (double)run_ns / (double)runs / 1000.0,
				s[STAT_OFFCPU_SWITCHES]);
		run_ns = runs = 0;
		if (sampler__prog_stats(r->bpf, &run_ns, &runs) == 0 && runs)
			fprintf(stderr,
				"pyprof-bpf: sampler runs %" PRIu64
				" (all CPUs, all processes), %.3f us each on average "
				"(kernel.bpf_stats_enabled)\n",
				runs, (double)run_ns / (double)runs / 1000.0);

		for (int i = 0; i < STAT__MAX; i++)
			fprintf(stderr, "pyprof-bpf:   %-16s %" PRIu64 "\n",
				names[i], s[i]);
		collect__print_stats(c, stderr);
	}
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

/*
 * Starts `opt.cmd` as a child that waits until the sampler follows it, so
 * that not one instruction of it runs unseen.  The child's exec failure
 * comes back through a close-on-exec pipe.  0, or an exit code.
 */
static int launch(struct run *r)
{
	int go[2], fail_pipe[2], err = 0;
	ssize_t n;
	pid_t pid;
	char c;

	if (pipe2(go, O_CLOEXEC) || pipe2(fail_pipe, O_CLOEXEC)) {
		fail("cannot start %s: %s", r->opt.cmd[0], strerror(errno));
		return EXIT_FAILURE_;
	}
	pid = fork();
	if (pid < 0) {
		fail("cannot start %s: %s", r->opt.cmd[0], strerror(errno));
		return EXIT_FAILURE_;
	}
	if (pid == 0) {
		/* What pyprof-bpf changed must not leak into the command. */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(go[1]);
		close(fail_pipe[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(r->opt.cmd[0], r->opt.cmd);
		err = errno;
		if (write(fail_pipe[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(err == ENOENT ? 127 : 126);
	}
	close(go[0]);
	close(fail_pipe[1]);
	r->child = pid;
	if (sampler__follow(r->bpf, pid))
		fail("cannot follow pid %d: its children will not be profiled",
		     pid);
	c = 1;
	if (write(go[1], &c, 1) != 1) {
		/* It died before exec: waitpid tells how. */
	}
	close(go[1]);
	n = read(fail_pipe[0], &err, sizeof(err));
	close(fail_pipe[0]);
	if (n == (ssize_t)sizeof(err)) {
		fail("cannot run %s: %s%s", r->opt.cmd[0], strerror(err),
		     err == ENOENT ? " (is it on PATH?)" : "");
		waitpid(pid, NULL, 0);
		r->child = 0;
		return err == ENOENT ? 127 : 126;
	}
	return 0;
}

/* The exit code a shell gives for wait status st. */
static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return EXIT_FAILURE_;
}

/* Attaches the -p pids.  0, or the exit code when none can be profiled. */
static int attach_given(struct run *r)
{
	char err[PATH_MAX + 512];
	int rc = 0, code = EXIT_OK;

	for (unsigned i = 0; i < r->opt.npids; i++) {
		pid_t pid = r->opt.pids[i], tgid;

		if (proc__tgid(pid, &tgid) == 0 && tgid != pid) {
			fprintf(stderr,
				"pyprof-bpf: %d is a thread of process %d: "
				"profiling process %d\n",
				pid, tgid, tgid);
			pid = tgid;
		}
		if (targets__get(&r->ts, pid))
			continue;
		if (targets__add(&r->ts, pid, true, &rc, err, sizeof(err)))
			continue;
		if (r->opt.npids == 1) {
			fail("%s", err);
			return exit_for_attach(rc);
		}
		fprintf(stderr, "pyprof-bpf: skipping pid %d: %s\n", pid, err);
		code = exit_for_attach(rc);
	}
	if (r->opt.npids && r->ts.n == 0) {
		fail("none of the %u processes can be profiled", r->opt.npids);
		return code;
	}
	return EXIT_OK;
}

/* Whether pid descends from a process in ts->followed (depth-capped). */
static bool descends(struct targets *ts, pid_t pid)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		if (proc__ppid(pid, &pid))
			return false;
		if (hashmap__get(&ts->followed, (uint64_t)pid, NULL))
			return true;
	}
	return false;
}

/*
 * --children: the given processes and their descendants, present and
 * future, are followed; the present ones that run Python are profiled.
 */
static void follow_descendants(struct run *r)
{
	char err[PATH_MAX + 512];
	pid_t *pids = NULL;
	int n, rc;

	for (size_t i = 0; i < r->ts.n; i++)
		hashmap__set(&r->ts.followed, (uint64_t)r->ts.v[i]->pid, 1);
	n = proc__pids(&pids);
	/* Parents have smaller pids unless pids wrapped: two passes. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			if (hashmap__get(&r->ts.followed, (uint64_t)pids[i],
					 NULL) ||
			    !descends(&r->ts, pids[i]))
				continue;
			hashmap__set(&r->ts.followed, (uint64_t)pids[i], 1);
			if (!targets__get(&r->ts, pids[i]))
				targets__add(&r->ts, pids[i], false, &rc, err,
					     sizeof(err));
		}
	}
	free(pids);
	for (size_t i = 0; i < r->ts.followed.cap; i++)
		if (r->ts.followed.keys[i])
			sampler__follow(r->bpf, (pid_t)r->ts.followed.keys[i]);
}

/* Whether the run is over because what it profiles is gone. */
static bool run_over(struct run *r)
{
	if (r->opt.cmd)
		return r->child_exited;
	if (r->opt.all)
		return false;
	if (r->opt.children)
		return targets__live(&r->ts, false) == 0 &&
		       r->ts.followed.len == 0;
	return targets__live(&r->ts, true) == 0;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the profile files say besides the stacks. */
static void fill_meta(struct run *r, struct out_meta *m, char *title,
		      size_t tlen, char *python, size_t plen, double elapsed)
{
	uint64_t s[STAT__MAX] = {};
	size_t n = r->ts.retired + r->ts.n;
	struct target_record t;

	sampler__stats(r->bpf, s);
	memset(m, 0, sizeof(*m));
	python[0] = '\0';
	if (n == 1) {
		targets__record(&r->ts, 0, &t);
		snprintf(title, tlen, "%s %d", t.comm, t.pid);
		snprintf(python, plen, "%s", t.version);
	} else if (r->opt.cmd) {
		snprintf(title, tlen, "%s (%zu Python processes)",
			 r->opt.cmd[0], n);
	} else {
		snprintf(title, tlen, "%zu Python processes%s", n,
			 r->opt.all ? " (all)" : "");
	}
	m->title = title;
	m->python = python;
	m->freq = r->opt.freq;
	m->start_time = r->wall_start;
	m->duration = elapsed;
	m->samples_taken = s[STAT_SAMPLES];
	m->samples_lost = s[STAT_LOST_COUNTS] + s[STAT_LOST_STACKS] +
			  collect__lost(&r->coll);
	m->sources = r->coll.sources;
}

/*
 * --stream: the whole profile so far, to stdout followed by an empty line,
 * or to the -o file, replaced whole (temporary file, then rename).
 * -EPIPE when stdout's reader has gone: there is no one left to stream to.
 */
static int stream_snapshot(struct run *r, enum out_format fmt, double elapsed)
{
	char title[256], python[128];
	struct out_meta meta;
	struct output snap;
	int rc;

	fill_meta(r, &meta, title, sizeof(title), python, sizeof(python),
		  elapsed);
	if (!r->opt.output) {
		rc = output__write(r->prof, fmt, &meta, stdout);
		if (!rc && (fputc('\n', stdout) == EOF || fflush(stdout)))
			rc = -EIO;
	} else {
		rc = output_open(&snap, r->opt.output);
		if (!rc) {
			rc = output__write(r->prof, fmt, &meta, snap.f);
			rc = output_close(&snap, rc == 0) ?: rc;
		}
	}
	if (rc && rc != -EPIPE && rc != -EALREADY)
		fail("writing a snapshot failed: %s",
		     output__strerror(fmt, rc));
	return rc;
}

/* top_header.thread_gil: the GIL shares of the threads that are shown
 * as one thread of the live view (one, unless names repeat). */
static bool thread_gil(uint32_t proc, uint32_t thread, double *held,
		       double *waiting, void *arg)
{
	struct run *r = arg;
	const struct offcpu_thread *v;
	size_t n = offcpu__threads(r->coll.offcpu, &v);
	uint64_t total = 0, h = 0, w = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t p, t;

		if (collect__thread_frames(&r->coll, v[i].pid, v[i].tid, &p,
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
static void update_view(struct run *r, struct top *view, uint64_t *last)
{
	uint64_t s[STAT__MAX] = {};
	struct top_header h = {};
	char target[64], python[48] = "";

	sampler__stats(r->bpf, s);
	if (r->ts.n == 1) {
		const struct target *t = r->ts.v[0];

		snprintf(target, sizeof(target), "%s %d", t->comm, t->pid);
		snprintf(python, sizeof(python), "%s", t->py.version_str);
	} else {
		snprintf(target, sizeof(target), "%zu processes",
			 targets__live(&r->ts, false));
	}
	h.target = target;
	h.python = python;
	h.rate_hz = r->opt.freq;
	h.samples = s[STAT_SAMPLES] - *last;
	h.samples_total = s[STAT_SAMPLES];
	h.lost = s[STAT_LOST_COUNTS] + s[STAT_LOST_STACKS] +
		 collect__lost(&r->coll);
	*last = s[STAT_SAMPLES];
	if (r->opt.gil && r->coll.offcpu) {
		h.has_gil = true;
		offcpu__gil_shares(r->coll.offcpu, &h.gil_share,
				   &h.gil_waiting);
		h.thread_gil = thread_gil;
		h.thread_gil_arg = r;
	}
	top__update(view, r->prof, &h);
}

int cmd_record(int argc, char **argv)
{
	struct sampler_opts popts = {};
	struct sigaction sa = { .sa_handler = on_signal };
	struct output out;
	char err[PATH_MAX + 512];
	double next_drain, stop_asked = 0;
	uint64_t last_samples = 0;
	enum out_format fmt = OUT_FOLDED;
	struct top *view = NULL;
	bool ended = false, pipe_closed = false, live;
	struct run *r;
	int rc, why, code = EXIT_OK;

	/* Large (the summary keeps some per-process records): not on the
	 * stack. */
	r = calloc(1, sizeof(*r));
	if (!r) {
		fail("out of memory");
		return EXIT_FAILURE_;
	}
	if (options__parse(argc, argv, &r->opt, err, sizeof(err))) {
		fail("%s", err);
		free(r);
		return EXIT_USAGE;
	}
	if (r->opt.help) {
		fputs(options__usage, stdout);
		free(r);
		return EXIT_OK;
	}
	if (r->opt.version) {
		printf("pyprof-bpf %s\n", PYPROF_VERSION);
		free(r);
		return EXIT_OK;
	}

	if (r->opt.format ?
		    output__parse_name(r->opt.format, &fmt, err, sizeof(err)) :
	    r->opt.output ? output__format_for_path(r->opt.output, &fmt, err,
						    sizeof(err)) :
			    0) {
		fail("%s", err);
		free(r);
		return EXIT_USAGE;
	}
	/* A timeline at 1 s steps says little: drain 10 times a second. */
	if (fmt == OUT_TRACE && !r->opt.interval_set)
		r->opt.interval = 0.1;

	/* From here on, Ctrl-C ends the run with what was collected. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	targets__init(&r->ts, r->opt.verbose);
	if (check_privileges()) {
		code = EXIT_PERM;
		goto out_free;
	}
	if (check_btf()) {
		code = EXIT_KERNEL;
		goto out_free;
	}
	code = attach_given(r);
	if (code)
		goto out_targets;
	/* On a terminal, the live view; folded stacks go where asked. A
	 * launched command shares the terminal: no view over its output. */
	live = !r->opt.folded && !r->opt.cmd && isatty(STDOUT_FILENO);

	if (output_open(&out, r->opt.output)) {
		code = EXIT_USAGE;
		goto out_targets;
	}
	r->prof = profile__new();
	if (!r->prof ||
	    collect__init(&r->coll, r->prof, &r->ts, r->opt.thread_ids,
			  r->opt.no_threads, r->opt.merge_processes)) {
		fail("out of memory");
		code = EXIT_FAILURE_;
		goto out_fini;
	}
	if (r->opt.kernel) {
		r->ksyms = ksyms__load_proc();
		if (!r->ksyms) {
			fail("cannot read kernel symbols from /proc/kallsyms: %s: "
			     "--kernel needs root with kernel.kptr_restrict <= 1",
			     strerror(errno));
			code = EXIT_PERM;
			goto out_fini;
		}
		popts.native_mode |= NATIVE_MODE_KERNEL;
	}
	if (r->opt.native) {
		r->unw = unwinder__new();
		if (!r->unw) {
			fail("out of memory");
			code = EXIT_FAILURE_;
			goto out_fini;
		}
		popts.native_mode |= NATIVE_MODE_USER;
	}
	if (collect__set_native(&r->coll, r->unw, r->ksyms)) {
		fail("out of memory");
		code = EXIT_FAILURE_;
		goto out_fini;
	}
	popts.freq = r->opt.freq;
	popts.max_depth = r->opt.max_depth;
	popts.verbose = r->opt.verbose;
	popts.wall = r->opt.wall;
	popts.gil = r->opt.gil;
	if (r->opt.wall || r->opt.gil) {
		/* One off-CPU period weighs one sample: the perf period. */
		r->coll.offcpu = offcpu__new(1000000000ull / r->opt.freq,
					     r->opt.gil_only);
		if (!r->coll.offcpu) {
			fail("out of memory");
			code = EXIT_FAILURE_;
			goto out_fini;
		}
	}
	if (r->opt.all)
		popts.discover |= PYPROF_DISCOVER_ALL;
	if (r->opt.children || r->opt.cmd)
		popts.discover |= PYPROF_DISCOVER_FOLLOW;
	popts.events.new_seg = on_new_seg;
	popts.events.new_thread = on_new_thread;
	popts.events.exec = on_exec;
	popts.events.probe = on_probe;
	popts.events.fork = on_fork;
	popts.events.native = on_native;
	popts.events.arg = r;
	r->bpf = sampler__open(&popts, &why, err, sizeof(err));
	if (!r->bpf) {
		fail("%s", err);
		code = why == SAMPLER_EPERM   ? EXIT_PERM :
		       why == SAMPLER_EKERNEL ? EXIT_KERNEL :
						EXIT_FAILURE_;
		goto out_fini;
	}
	r->coll.bpf = r->bpf;
	r->coll.timeline = fmt == OUT_TRACE;
	/* The heatmap embeds the source, read while the targets run. */
	if (fmt == OUT_HEATMAP && !(r->coll.sources = sources__new())) {
		fail("out of memory");
		code = EXIT_FAILURE_;
		goto out_close_bpf;
	}
	if (r->coll.timeline)
		profile__set_timeline_origin(r->prof,
					     (uint64_t)(clock__now() * 1e9));
	r->wall_start = wall_now();
	if (targets__start(&r->ts, r->bpf, err, sizeof(err))) {
		fail("%s", err);
		code = EXIT_FAILURE_;
		goto out_close_bpf;
	}
	if (r->opt.children)
		follow_descendants(r);
	r->start = clock__now();
	if (r->opt.cmd) {
		code = launch(r);
		if (code)
			goto out_close_bpf;
	}
	if (live) {
		struct top_opts to = { .live = true };

		view = top__open(&to);
		if (!view) {
			fail("cannot open the live view: %s; use --folded or "
			     "-o FILE",
			     strerror(errno));
			code = EXIT_FAILURE_;
			goto out_close_bpf;
		}
	}
	next_drain = r->start + r->opt.interval;

	for (;;) {
		double now;

		sampler__poll(r->bpf, TICK_MS);
		if (view && top__wait(view, 0) == TOP_QUIT)
			break;
		now = clock__now();
		if (r->child && !r->child_exited &&
		    waitpid(r->child, &r->child_status, WNOHANG) == r->child)
			r->child_exited = true;
		targets__check(&r->ts);
		if (run_over(r)) {
			ended = true;
			break;
		}
		if (stop_signal) {
			/* A launched command got the terminal's Ctrl-C too:
			 * give it a moment to finish, and collect that. */
			if (!r->child || r->child_exited)
				break;
			if (!stop_asked) {
				stop_asked = now;
				if (stop_signal != SIGINT)
					kill(r->child, stop_signal);
			}
			if (now - stop_asked >= STOP_GRACE_SECS)
				break;
		}
		if (r->opt.duration && now - r->start >= r->opt.duration)
			break;
		if (now >= next_drain || r->ts.want_drain) {
			rc = drain(r);
			if (rc) {
				fail("collecting samples failed: %s",
				     strerror(-rc));
				code = EXIT_FAILURE_;
				break;
			}
			if (view)
				update_view(r, view, &last_samples);
			if (r->opt.stream &&
			    stream_snapshot(r, fmt, now - r->start) == -EPIPE) {
				pipe_closed = true;
				break;
			}
			if (now >= next_drain)
				next_drain += r->opt.interval;
			if (next_drain < now)
				next_drain = now + r->opt.interval;
		}
	}
	/* Nothing may reach stderr while the view owns the terminal. */
	top__close(view);
	view = NULL;
	for (size_t i = 0; i < r->ts.n; i++)
		sampler__remove_target(r->bpf, r->ts.v[i]->pid);
	rc = drain(r);
	if (rc && !code) {
		fail("collecting samples failed: %s", strerror(-rc));
		code = EXIT_FAILURE_;
	}
	print_summary(r, clock__now() - r->start, ended);

	/* The live view was the output, unless a file was asked for. */
	if (!live || r->opt.output) {
		struct out_meta meta;
		char title[256], python[128];

		fill_meta(r, &meta, title, sizeof(title), python,
			  sizeof(python), clock__now() - r->start);
		rc = pipe_closed ? -EPIPE :
				   output__write(r->prof, fmt, &meta, out.f);
		if (rc == -EPIPE && !r->opt.output) {
			pipe_closed = true;
		} else if (rc) {
			fail("writing %s failed: %s",
			     r->opt.output ? r->opt.output : "stdout",
			     output__strerror(fmt, rc));
			code = EXIT_FAILURE_;
		}
	}
out_close_bpf:
	top__close(view);
	sampler__close(r->bpf);
out_fini:
	sources__free(r->coll.sources);
	offcpu__free(r->coll.offcpu);
	collect__fini(&r->coll);
	unwinder__free(r->unw);
	ksyms__free(r->ksyms);
	profile__free(r->prof);
	rc = output_close(&out, code == EXIT_OK);
	if (rc == -EPIPE && !r->opt.output)
		pipe_closed = true;
	else if (rc == -EALREADY) /* said */
		code = EXIT_FAILURE_;
	else if (rc && code == EXIT_OK) {
		fail("writing %s failed: %s",
		     r->opt.output ? r->opt.output : "stdout", strerror(-rc));
		code = EXIT_FAILURE_;
	}
	/* Whoever read stdout (`| head`) chose to stop: not a failure. */
	if (pipe_closed)
		fprintf(stderr,
			"pyprof-bpf: stdout was closed by its reader (broken "
			"pipe): the profile there is cut short; use -o FILE "
			"for all of it\n");
out_targets:
	targets__fini(&r->ts);
out_free:
	if (r->child && !r->child_exited && stop_signal) {
		fprintf(stderr,
			"pyprof-bpf: %s (pid %d) is still running after the "
			"interrupt; not waiting for it\n",
			r->opt.cmd[0], r->child);
	} else if (r->child) {
		if (!r->child_exited) {
			/* -d ended the profile, not the command. */
			fprintf(stderr,
				"pyprof-bpf: %s; waiting for %s (pid %d) to "
				"exit\n",
				code != EXIT_OK ? "profile not written" :
				pipe_closed	? "profile cut short" :
						  "profile written",
				r->opt.cmd[0], r->child);
			while (waitpid(r->child, &r->child_status, 0) < 0 &&
			       errno == EINTR)
				;
		}
		if (code == EXIT_OK)
			code = status_code(r->child_status);
	}
	free(r);
	return code;
}
