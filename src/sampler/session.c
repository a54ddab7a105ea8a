// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A sampling session (session.h): opens what the options ask for in the
 * order each needs the other, hands the sampler's events to the targets and
 * the collector, and undoes it all in reverse.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/hashmap.h"
#include "lib/sources.h"
#include "sampler/asyncio.h"
#include "sampler/offcpu.h"
#include "sampler/proc.h"
#include "sampler/session.h"

struct session *session__new(const struct session_opts *o)
{
	/* Large (the targets keep some per-process records): not on the
	 * stack. */
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->opts = *o;
	targets__init(&s->ts, o->verbose);
	s->ts.retry_followed = o->children || o->launch;
	s->ts.own_only = o->own_only;
	s->ts.own_uid = o->own_uid;
	return s;
}

void session__delete(struct session *s)
{
	if (!s)
		return;
	session__close(s);
	targets__fini(&s->ts);
	free(s);
}

int session__attach(struct session *s, pid_t pid, char *err, size_t errlen)
{
	int rc = -EINVAL;

	if (targets__get(&s->ts, pid) ||
	    targets__add(&s->ts, pid, true, &rc, err, errlen))
		return 0;
	return rc;
}

/* The sampler's events, arg being the session.  Handling a burst of them
 * may take long (reading code objects, unwinding): new threads are looked
 * for between them too, so that a short-lived one is named while it lives. */
static void on_new_seg(uint32_t pid, const struct py_seg *seg, void *arg)
{
	collect__on_new_seg(pid, seg, &((struct session *)arg)->coll);
	collect__retry_names(&((struct session *)arg)->coll);
}

static void on_new_thread(uint32_t pid, uint32_t tid, uint64_t thread_id,
			  void *arg)
{
	collect__on_new_thread(pid, tid, thread_id,
			       &((struct session *)arg)->coll);
}

static void on_exec(uint32_t pid, void *arg)
{
	struct session *s = arg;

	if (s->unw)
		unwinder__forget(s->unw, (pid_t)pid);
	targets__on_exec(&s->ts, (pid_t)pid);
}

static void on_probe(uint32_t pid, void *arg)
{
	targets__on_probe(&((struct session *)arg)->ts, (pid_t)pid);
}

static void on_recognised(const struct recognised_event *ev, void *arg)
{
	targets__on_recognised(&((struct session *)arg)->ts, ev);
}

static void on_fork(uint32_t child, uint32_t parent, void *arg)
{
	targets__on_fork(&((struct session *)arg)->ts, (pid_t)child,
			 (pid_t)parent);
}

static void on_native(const struct native_event *ev, size_t len, void *arg)
{
	collect__on_native(ev, len, &((struct session *)arg)->coll);
	collect__retry_names(&((struct session *)arg)->coll);
}

static void on_timed(const struct timeline_rec *rec, void *arg)
{
	collect__on_timed(rec, &((struct session *)arg)->coll);
}

static void sampler_opts(struct session *s, struct sampler_opts *so)
{
	const struct session_opts *o = &s->opts;

	memset(so, 0, sizeof(*so));
	so->freq = o->freq;
	so->max_depth = o->max_depth;
	so->interval = o->interval;
	so->ntargets = (unsigned)s->ts.n;
	so->map_scale = o->map_scale;
	so->verbose = o->verbose;
	so->wall = o->wall;
	so->gil = o->gil;
	so->async = o->async;
	so->timeline = o->timeline;
	if (o->kernel)
		so->native_mode |= NATIVE_MODE_KERNEL;
	if (o->native)
		so->native_mode |= NATIVE_MODE_USER;
	if (o->all)
		so->discover |= PYPROF_DISCOVER_ALL;
	if (o->children || o->launch)
		so->discover |= PYPROF_DISCOVER_FOLLOW;
	so->events.new_seg = on_new_seg;
	so->events.new_thread = on_new_thread;
	so->events.exec = on_exec;
	so->events.probe = on_probe;
	so->events.fork = on_fork;
	so->events.recognised = on_recognised;
	so->events.native = on_native;
	so->events.timed = on_timed;
	so->events.arg = s;
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
 * children: the attached processes and their descendants, present and
 * future, are followed; the present ones that run Python are profiled.
 */
static void follow_descendants(struct session *s)
{
	struct targets *ts = &s->ts;
	char err[PATH_MAX + 512];
	pid_t *pids = NULL;
	int n, rc;

	for (size_t i = 0; i < ts->n; i++)
		hashmap__set(&ts->followed, (uint64_t)ts->v[i]->pid, 1);
	n = proc__pids(&pids);
	/* Parents have smaller pids unless pids wrapped: two passes. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			if (hashmap__get(&ts->followed, (uint64_t)pids[i],
					 NULL) ||
			    !descends(ts, pids[i]))
				continue;
			hashmap__set(&ts->followed, (uint64_t)pids[i], 1);
			if (!targets__get(ts, pids[i]))
				targets__add(ts, pids[i], false, &rc, err,
					     sizeof(err));
		}
	}
	free(pids);
	for (size_t i = 0; i < ts->followed.cap; i++)
		if (ts->followed.keys[i])
			sampler__follow(s->bpf, (pid_t)ts->followed.keys[i]);
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int out_of_memory(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* The unwinder, kernel symbols and off-CPU time the options ask for. */
static int open_extras(struct session *s, char *err, size_t errlen)
{
	const struct session_opts *o = &s->opts;
	int rc;

	if (o->kernel) {
		s->ksyms = ksyms__load_proc();
		if (!s->ksyms) {
			snprintf(err, errlen,
				 "cannot read kernel symbols from "
				 "/proc/kallsyms: %s: --kernel needs root with "
				 "kernel.kptr_restrict <= 1",
				 strerror(errno));
			return -EPERM;
		}
	}
	if (o->native) {
		s->unw = unwinder__new();
		if (!s->unw) {
			rc = out_of_memory(err, errlen);
			goto out_free_ksyms;
		}
	}
	if (collect__set_native(&s->coll, s->unw, s->ksyms)) {
		rc = out_of_memory(err, errlen);
		goto out_free_unwinder;
	}
	if (o->wall || o->gil) {
		/* One off-CPU period weighs one sample: the perf period. */
		s->coll.offcpu =
			offcpu__new(1000000000ull / o->freq, o->gil_only);
		if (!s->coll.offcpu) {
			rc = out_of_memory(err, errlen);
			goto out_free_unwinder;
		}
	}
	if (o->async) {
		s->coll.async = asyncio__new(o->freq, o->wall, o->verbose);
		if (!s->coll.async) {
			rc = out_of_memory(err, errlen);
			goto out_free_offcpu;
		}
	}
	if (o->sources) {
		s->coll.sources = sources__new();
		if (!s->coll.sources) {
			rc = out_of_memory(err, errlen);
			goto out_free_async;
		}
	}
	if (filter__wanted(&o->filter)) {
		s->coll.filter = filter__new(&o->filter, err, errlen);
		if (!s->coll.filter) {
			rc = -errno;
			goto out_free_sources;
		}
	}
	return 0;

out_free_sources:
	sources__free(s->coll.sources);
	s->coll.sources = NULL;
out_free_async:
	asyncio__free(s->coll.async);
	s->coll.async = NULL;
out_free_offcpu:
	offcpu__free(s->coll.offcpu);
	s->coll.offcpu = NULL;
out_free_unwinder:
	unwinder__free(s->unw);
	s->unw = NULL;
out_free_ksyms:
	ksyms__free(s->ksyms);
	s->ksyms = NULL;
	return rc;
}

static void close_extras(struct session *s)
{
	filter__free(s->coll.filter);
	s->coll.filter = NULL;
	sources__free(s->coll.sources);
	s->coll.sources = NULL;
	asyncio__free(s->coll.async);
	s->coll.async = NULL;
	offcpu__free(s->coll.offcpu);
	s->coll.offcpu = NULL;
	unwinder__free(s->unw);
	s->unw = NULL;
	ksyms__free(s->ksyms);
	s->ksyms = NULL;
}

/* sampler__open's failures as -errno (session__open's contract). */
static int sampler_errno(int why)
{
	switch (why) {
	case SAMPLER_EPERM:
		return -EPERM;
	case SAMPLER_EKERNEL:
		return -ENOTSUP;
	default:
		return -EIO;
	}
}

int session__open(struct session *s, char *err, size_t errlen)
{
	const struct session_opts *o = &s->opts;
	struct sampler_opts so;
	int rc, why;

	s->prof = profile__new();
	if (!s->prof)
		return out_of_memory(err, errlen);
	if (collect__init(&s->coll, s->prof, &s->ts, o->thread_ids,
			  o->no_threads, o->merge_processes)) {
		rc = out_of_memory(err, errlen);
		goto out_fini_collector;
	}
	rc = open_extras(s, err, errlen);
	if (rc)
		goto out_fini_collector;
	sampler_opts(s, &so);
	s->bpf = sampler__open(&so, &why, err, errlen);
	if (!s->bpf) {
		rc = sampler_errno(why);
		goto out_close_extras;
	}
	s->coll.bpf = s->bpf;
	s->coll.timeline = o->timeline;
	s->coll.gil_only = o->gil_only;
	s->coll.only_tid = (uint32_t)o->only_tid;
	if (o->timeline)
		profile__set_timeline_origin(s->prof,
					     (uint64_t)(clock__now() * 1e9));
	s->wall_start = wall_now();
	rc = targets__start(&s->ts, s->bpf, err, errlen);
	if (rc)
		goto out_close_sampler;
	if (o->children)
		follow_descendants(s);
	if (s->coll.async)
		asyncio__check(s->coll.async, &s->ts, s->bpf);
	s->start = clock__now();
	return 0;

out_close_sampler:
	sampler__close(s->bpf);
	s->bpf = NULL;
	s->ts.bpf = NULL;
out_close_extras:
	close_extras(s);
out_fini_collector:
	collect__fini(&s->coll);
	memset(&s->coll, 0, sizeof(s->coll));
	profile__free(s->prof);
	s->prof = NULL;
	return rc;
}

void session__close(struct session *s)
{
	if (!s->bpf)
		return; /* not open, or session__open undid itself */
	sampler__close(s->bpf);
	s->bpf = NULL;
	s->ts.bpf = NULL;
	close_extras(s);
	collect__fini(&s->coll);
	memset(&s->coll, 0, sizeof(s->coll));
	profile__free(s->prof);
	s->prof = NULL;
}

int session__follow(struct session *s, pid_t pid)
{
	hashmap__set(&s->ts.followed, (uint64_t)pid, 1);
	return sampler__follow(s->bpf, pid);
}

void session__expect(struct session *s, pid_t pid, const char *path)
{
	targets__expect(&s->ts, pid, path);
}

void session__follow_only(struct session *s, pid_t pid)
{
	hashmap__set(&s->ts.followed, (uint64_t)pid, 1);
}

int session__poll(struct session *s, int timeout_ms)
{
	int n;

	/* Followed processes not Python yet are looked at on time; after
	 * what the sampler said meanwhile (it may have recognised them). */
	n = sampler__poll(s->bpf, 0);
	if (n < 0)
		return n;
	timeout_ms = targets__retry(&s->ts, timeout_ms);
	/* A short-lived thread must be named before it ends. */
	if (collect__names_pending(&s->coll) &&
	    timeout_ms > COLLECT_NAMES_RETRY_MS)
		timeout_ms = COLLECT_NAMES_RETRY_MS;
	/* --async in wall mode: the passes over the task lists. */
	if (s->coll.async) {
		double in = asyncio__tick_in(s->coll.async);

		if (in * 1000 < timeout_ms)
			timeout_ms = in > 0 ? (int)(in * 1000) : 0;
	}
	if (!n)
		n = sampler__poll(s->bpf, timeout_ms);
	collect__retry_names(&s->coll);
	if (s->coll.async) {
		asyncio__check(s->coll.async, &s->ts, s->bpf);
		asyncio__tick(s->coll.async, &s->coll, &s->ts);
	}
	return n;
}

void session__check(struct session *s)
{
	targets__check(&s->ts);
}

bool session__want_drain(const struct session *s)
{
	return s->ts.want_drain;
}

bool session__targets_gone(const struct session *s)
{
	if (s->opts.all)
		return false;
	if (s->opts.children)
		return targets__live(&s->ts, false) == 0 &&
		       s->ts.followed.len == 0;
	return targets__live(&s->ts, true) == 0;
}

int session__drain(struct session *s)
{
	int rc;

	targets__drain_begin(&s->ts);
	collect__new_drain(&s->coll);
	if (s->coll.async)
		asyncio__new_drain(s->coll.async);
	collect__parked(&s->coll);
	rc = sampler__drain(s->bpf, collect__sample, &s->coll);
	/* The last drain: no later one for samples to wait for. */
	if (s->stopped)
		collect__flush(&s->coll);
	targets__drained(&s->ts);
	return rc;
}

void session__stop(struct session *s)
{
	/* Their CPU time up to now: what the samples stand for. */
	targets__check(&s->ts);
	s->stopped = true;
	sampler__stop(s->bpf);
	for (size_t i = 0; i < s->ts.n; i++)
		sampler__remove_target(s->bpf, s->ts.v[i]->pid);
}

struct profile *session__swap_profile(struct session *s, struct profile *fresh)
{
	struct profile *old = s->prof;
	int rc;

	rc = collect__set_profile(&s->coll, fresh);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	s->prof = fresh;
	return old;
}

double session__elapsed(const struct session *s)
{
	return clock__now() - s->start;
}

int session__stats(struct session *s, uint64_t *stats)
{
	int rc;

	memset(stats, 0, STAT__MAX * sizeof(*stats));
	rc = sampler__stats(s->bpf, stats);
	/* Samples the sampler parked before it knew their process for
	 * Python, kept since: taken too. */
	stats[STAT_SAMPLES] += s->coll.parked_kept;
	return rc;
}

uint64_t session__lost(const struct session *s, const uint64_t *stats)
{
	return stats__lost(stats) + collect__lost(&s->coll);
}

void session__meta(struct session *s, const char *command, double elapsed,
		   struct session_meta *sm)
{
	struct out_meta *m = &sm->m;
	size_t n = s->ts.retired + s->ts.n;
	uint64_t stats[STAT__MAX];
	struct target_record t;

	session__stats(s, stats);
	memset(m, 0, sizeof(*m));
	sm->python[0] = '\0';
	if (n == 1) {
		targets__record(&s->ts, 0, &t);
		snprintf(sm->title, sizeof(sm->title), "%s %d", t.comm, t.pid);
		snprintf(sm->python, sizeof(sm->python), "%s", t.version);
	} else if (command) {
		snprintf(sm->title, sizeof(sm->title),
			 "%s (%zu Python processes)", command, n);
	} else {
		snprintf(sm->title, sizeof(sm->title), "%zu Python processes%s",
			 n, s->opts.all ? " (all)" : "");
	}
	m->title = sm->title;
	m->python = sm->python;
	m->freq = s->opts.freq;
	m->start_time = s->wall_start;
	m->duration = elapsed;
	m->samples_taken = stats[STAT_SAMPLES];
	m->samples_lost = session__lost(s, stats);
	m->sources = s->coll.sources;
}
