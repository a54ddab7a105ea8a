// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The run summary (summary.h): one part per question a user asks after a
 * run; -v adds the raw counters.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>

#include "cmd/summary.h"
#include "sampler/asyncio.h"
#include "sampler/offcpu.h"

/* "; interrupted (SIGINT)", or "". */
static const char *why_stopped(int sig)
{
	return sig == SIGINT  ? "; interrupted (SIGINT)" :
	       sig == SIGTERM ? "; interrupted (SIGTERM)" :
	       sig == SIGHUP  ? "; interrupted (SIGHUP)" :
				"";
}

/*
 * Why a run took longer than it sampled, when it did noticeably: loading
 * the sampler (the verifier, BTF) takes 0.1 s on an idle machine and may
 * take a second on a busy one, before the -d clock starts.
 */
static const char *setup_note(const struct run_end *end)
{
	static char buf[64];

	if (end->setup < 0.5)
		return "";
	snprintf(buf, sizeof(buf), " (after %.1f s loading the sampler)",
		 end->setup);
	return buf;
}

/* The one process profiled. */
static void print_the_process(struct session *s, const struct run_end *end,
			      const char *why)
{
	struct target_record t;

	targets__record(&s->ts, 0, &t);
	if (t.execed)
		why = "; the process exec'd another program";
	else if (t.gone || end->targets_gone)
		why = "; the process exited";
	fprintf(stderr,
		"pyprof-bpf: pid %d, CPython %s (%s%s): %.1f s%s at %u Hz "
		"on %d CPUs%s\n",
		t.pid, t.version, t.elf_path,
		t.debug_offsets ? ", offsets from _Py_DebugOffsets" : "",
		end->elapsed, setup_note(end), s->opts.freq,
		sampler__ncpus(s->bpf), why);
	if (t.ns_pid)
		fprintf(stderr,
			"pyprof-bpf: pid %d is pid %d in its own PID "
			"namespace\n",
			t.pid, t.ns_pid);
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

/* Several processes: how many, and a line for each of the first. */
static void print_processes(struct session *s, const struct run_end *end,
			    const char *why)
{
	const struct targets *ts = &s->ts;
	size_t nproc = ts->retired + ts->n, shown;
	struct target_record t;

	fprintf(stderr,
		"pyprof-bpf: %zu Python processes (%zu still running): "
		"%.1f s%s at %u Hz on %d CPUs%s\n",
		nproc, targets__live(ts, false), end->elapsed, setup_note(end),
		s->opts.freq, sampler__ncpus(s->bpf), why);
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

/* What was profiled, for how long, and why it stopped. */
static void print_targets(struct session *s, const struct run_end *end)
{
	size_t nproc = s->ts.retired + s->ts.n;
	const char *why = why_stopped(end->signal);

	if (nproc == 1)
		print_the_process(s, end, why);
	else if (nproc == 0 && s->ts.unsupported_why[0])
		/* A Python was found that cannot be profiled: say which, in
		 * the words python__attach found for it. */
		fprintf(stderr,
			"pyprof-bpf: no Python process was profiled in %.1f s%s: "
			"%s\n",
			end->elapsed, why, s->ts.unsupported_why);
	else if (nproc == 0)
		fprintf(stderr,
			"pyprof-bpf: no Python process was profiled in %.1f s%s: "
			"the profile is empty%s\n",
			end->elapsed, why,
			s->opts.launch ?
				" (does the command run CPython 3.8+?)" :
				"");
	else
		print_processes(s, end, why);
}

/* -a, --children, a command: how processes were found. */
static void print_discovery(const struct session *s, const uint64_t *st)
{
	const struct targets *ts = &s->ts;

	fprintf(stderr,
		"pyprof-bpf: discovery: %" PRIu64
		" processes found after the start",
		ts->attach_delays);
	if (ts->attach_delays)
		fprintf(stderr,
			" (from process start to profiled: mean %.0f ms, "
			"max %.0f ms",
			1000 * ts->attach_delay_sum / (double)ts->attach_delays,
			1000 * ts->attach_delay_max);
	if (ts->attach_cpus)
		fprintf(stderr,
			"; CPU time run before: mean %.1f ms, max %.1f ms",
			1000 * ts->attach_cpu_sum / (double)ts->attach_cpus,
			1000 * ts->attach_cpu_max);
	if (ts->attach_delays)
		fputc(')', stderr);
	/* Most are recognised in BPF, from their first sample; the others
	 * userspace looks at (probes). */
	fprintf(stderr,
		"; %" PRIu64 " looked at by userspace; not Python %" PRIu64
		", unsupported Python %" PRIu64 ", failed %" PRIu64 "\n",
		st[STAT_PROBES], ts->not_python, ts->unsupported, ts->failed);
}

/*
 * Samples taken, written and lost.  The line adds up: taken (+ off-CPU
 * sample-equivalents in wall mode) = written + lost (+ those --gil-only
 * left out).
 */
static void print_samples(const struct session *s, const uint64_t *st)
{
	const struct collector *c = &s->coll;
	uint64_t lost = session__lost(s, st), off = 0, dropped = 0;
	double cpu = targets__cpu(&s->ts);

	if (c->offcpu)
		offcpu__added(c->offcpu, &off, &dropped);
	fprintf(stderr, "pyprof-bpf: samples %" PRIu64 " taken",
		st[STAT_SAMPLES]);
	if (cpu >= 0)
		fprintf(stderr,
			" (expected ~%.0f from %.2f s of CPU time while "
			"sampled)",
			cpu * s->opts.freq, cpu);
	if (s->opts.wall)
		fprintf(stderr,
			" + %" PRIu64 " off-CPU (sample-equivalents of 1/%u s "
			"off a CPU)",
			off, s->opts.freq);
	/* --async in wall mode: the tasks that were not running. */
	if (s->opts.wall && c->async)
		fprintf(stderr, " + %" PRIu64 " task-waiting",
			asyncio__stats(c->async)->waiting);
	fprintf(stderr, ", %" PRIu64 " written", profile__total(s->prof));
	if (c->filter)
		fprintf(stderr, ", %" PRIu64 " left out by the filters",
			c->filtered);
	fprintf(stderr, ", %" PRIu64 " lost", lost);
	/* Each cause by its description: the BPF side's (PYPROF_STATS in
	 * bpf/pyprof_shared.h), then the collector's. */
	if (lost) {
		stats__print(stderr, st, STAT_SHOW_LOST, " (");
		collect__print_lost(c, stderr);
		fputc(')', stderr);
	}
	if (dropped)
		fprintf(stderr, ", %" PRIu64 " left out (--gil-only)", dropped);
	fputc('\n', stderr);
}

/* --native: what the unwinder did, and what it cost. */
static void print_unwinder(const struct session *s, const uint64_t *st)
{
	const struct collector *c = &s->coll;
	struct unwind_stats u;

	unwinder__stats(s->unw, &u);
	fprintf(stderr,
		"pyprof-bpf: native stacks %" PRIu64 " (%.1f frames; "
		"%" PRIu64 " cut short, %" PRIu64 " unmerged, %" PRIu64
		" sent without their stack, %" PRIu64
		" with under 12 KiB of stack copied)\n",
		c->native_samples,
		u.samples ? (double)u.frames / (double)u.samples : 0.0,
		c->native_cut, c->native_unmerged, st[STAT_NATIVE_LOST],
		st[STAT_NATIVE_SHORT]);
	fprintf(stderr,
		"pyprof-bpf: native cost: unwinding %.1f us a sample, "
		"symbolising %.1f us an address (%" PRIu64
		" addresses), %" PRIu64 " sessions in %.1f ms\n",
		u.samples ? (double)u.unwind_ns / (double)u.samples / 1e3 : 0.0,
		u.syms ? (double)u.sym_ns / (double)u.syms / 1e3 : 0.0, u.syms,
		u.sessions, (double)u.session_ns / 1e6);
	/* Frames named "[file+0xoff]": what would name them. */
	if (c->native_unnamed)
		fprintf(stderr,
			"pyprof-bpf: native frames without a symbol: %" PRIu64
			" of %" PRIu64 " (%.1f%%), in %s: their files are "
			"stripped; install their debug files (Debian: the "
			"-dbgsym or -dbg packages, found by build-id or "
			".gnu_debuglink under /usr/lib/debug, the target's "
			"root included), or set DEBUGINFOD_URLS to fetch "
			"them\n",
			c->native_unnamed, c->native_frames,
			100.0 * (double)c->native_unnamed /
				(double)(c->native_frames ? c->native_frames :
							    1),
			u.unnamed_mods[0] ? u.unnamed_mods : "?");
}

/* --native, --kernel: what the unwinder and the kernel stacks did. */
static void print_native_summary(const struct session *s, const uint64_t *st)
{
	if (s->unw)
		print_unwinder(s, st);
	/* With --native, kernel stacks travel with the native samples; the
	 * stack-id counters only see samples sent without one. */
	if (s->ksyms && (!s->unw || st[STAT_KSTACK_NONE] ||
			 st[STAT_KSTACK_LOST] || st[STAT_KSTACK_COLLIDED]))
		fprintf(stderr,
			"pyprof-bpf: kernel stacks: %" PRIu64
			" samples in user mode, %" PRIu64
			" lost (map full), %" PRIu64 " collided\n",
			st[STAT_KSTACK_NONE], st[STAT_KSTACK_LOST],
			st[STAT_KSTACK_COLLIDED]);
}

/* How the Python stacks came out. */
static void print_python_stacks(const struct session *s, const uint64_t *st)
{
	fprintf(stderr,
		"pyprof-bpf: python stacks %" PRIu64 " complete, %" PRIu64
		" truncated (--max-depth %u), %" PRIu64 " partial",
		st[STAT_PY_FULL], st[STAT_TRUNCATED], s->opts.max_depth,
		st[STAT_PARTIAL]);
	stats__print(stderr, st, STAT_SHOW_UNRESOLVED, "; unresolved: ");
	fprintf(stderr, "; unknown frames %" PRIu64 "\n",
		s->coll.unknown_frames);
	if (stats__print(stderr, st, STAT_SHOW_FAILED,
			 "pyprof-bpf: failures: "))
		fputc('\n', stderr);
	/* What only a corrupt (or hostile) target produces. */
	if (st[STAT_CYCLE] || st[STAT_TSTATE_WALK_CAP])
		fprintf(stderr,
			"pyprof-bpf: target memory inconsistent: frame chain "
			"looped %" PRIu64 " times, thread list longer than %u "
			"%" PRIu64 " times\n",
			st[STAT_CYCLE], PY_MAX_THREADS_WALK,
			st[STAT_TSTATE_WALK_CAP]);
}

/* -v: what the BPF programs cost, and every counter. */
static void print_counters(struct session *s, const uint64_t *st)
{
	uint64_t run_ns = 0, runs = 0, maps;

	if (sampler__switch_stats(s->bpf, &run_ns, &runs) == 0 && runs)
		fprintf(stderr,
			"pyprof-bpf: sched_switch program runs %" PRIu64
			", %.3f us each on average, %" PRIu64
			" target switch-outs (kernel.bpf_stats_enabled)\n",
			runs, (double)run_ns / (double)runs / 1000.0,
			st[STAT_OFFCPU_SWITCHES]);
	run_ns = runs = 0;
	if (sampler__waking_stats(s->bpf, &run_ns, &runs) == 0 && runs)
		fprintf(stderr,
			"pyprof-bpf: sched_waking program runs %" PRIu64
			", %.3f us each on average (kernel.bpf_stats_enabled)\n",
			runs, (double)run_ns / (double)runs / 1000.0);
	run_ns = runs = 0;
	if (sampler__prog_stats(s->bpf, &run_ns, &runs) == 0 && runs)
		fprintf(stderr,
			"pyprof-bpf: sampler runs %" PRIu64
			" (all CPUs, all processes), %.3f us each on average "
			"(kernel.bpf_stats_enabled)\n",
			runs, (double)run_ns / (double)runs / 1000.0);

	stats__print_all(stderr, st, "pyprof-bpf:   ");
	collect__print_stats(&s->coll, stderr);
	/* The larger maps, then the total: kernel memory RSS omits. */
	fprintf(stderr, "pyprof-bpf: BPF maps");
	maps = sampler__maps_memory(s->bpf, stderr);
	fprintf(stderr,
		"; %.1f MiB of kernel memory in all (memlock: not in RSS)\n",
		(double)maps / (1 << 20));
}

/* --gil on free-threaded builds: they have no GIL, so no shares to give
 * for them. */
static void print_no_gil(const struct session *s)
{
	const struct targets *ts = &s->ts;

	if (ts->no_gil == 1)
		fprintf(stderr,
			"pyprof-bpf: GIL: none: pid %d runs a free-threaded "
			"CPython (%s), which has no GIL to hold or wait for\n",
			ts->no_gil_pid, ts->no_gil_version);
	else if (ts->no_gil)
		fprintf(stderr,
			"pyprof-bpf: GIL: none in %" PRIu64
			" free-threaded processes (pid %d: CPython %s, ...), "
			"which have no GIL to hold or wait for\n",
			ts->no_gil, ts->no_gil_pid, ts->no_gil_version);
}

static const char *thread_name(uint32_t pid, uint32_t tid, char *buf,
			       size_t len, void *arg)
{
	return collect__thread_name(arg, pid, tid, buf, len);
}

void summary__print(struct session *s, const struct run_end *end)
{
	const struct session_opts *o = &s->opts;
	uint64_t st[STAT__MAX];

	session__stats(s, st);
	print_targets(s, end);
	if (o->all || o->children || o->launch)
		print_discovery(s, st);
	print_samples(s, st);
	print_native_summary(s, st);
	print_python_stacks(s, st);
	if (o->gil)
		print_no_gil(s);
	sampler__print_full(s->bpf, st, stderr);
	if (s->coll.offcpu)
		offcpu__print_summary(s->coll.offcpu, stderr, o->wall,
				      o->gil && s->ts.no_gil < s->ts.attached,
				      TARGETS_SUMMARY_MAX, thread_name,
				      &s->coll);
	if (s->coll.async)
		asyncio__print_summary(s->coll.async, stderr, o->wall, o->freq);
	if (o->verbose)
		print_counters(s, st);
}
