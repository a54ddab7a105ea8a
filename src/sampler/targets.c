// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "sampler/targets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "sampler/proc.h"

/*
 * A process that is not (yet) Python while younger than this is looked at
 * again: right after exec the dynamic loader has not mapped libpython yet.
 */
#define YOUNG_SECS 2.0
#define RETRY_YOUNG_NS (20ull * 1000 * 1000)
/* A pid whose previous process is still being collected: wait that long. */
#define RETRY_BUSY_NS (20ull * 1000 * 1000)

void targets__init(struct targets *ts, bool verbose)
{
	memset(ts, 0, sizeof(*ts));
	ts->verbose = verbose;
}

static void free_target(struct target *t)
{
	python__detach(&t->py);
	hashmap__free(&t->names);
	hashmap__free(&t->idents);
	free(t);
}

void targets__fini(struct targets *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		free_target(ts->v[i]);
	free(ts->v);
	hashmap__free(&ts->by_pid);
	hashmap__free(&ts->followed);
	memset(ts, 0, sizeof(*ts));
}

struct target *targets__get(struct targets *ts, pid_t pid)
{
	uint64_t v;

	if (pid <= 0 || !hashmap__get(&ts->by_pid, (uint64_t)pid, &v))
		return NULL;
	return (struct target *)(uintptr_t)v;
}

static int push_cfg(struct targets *ts, struct target *t)
{
	struct py_proc_cfg cfg;

	py_layout__to_cfg(&t->py.layout, t->py.runtime_addr, &cfg);
	return sampler__add_target(ts->bpf, t->pid, &cfg);
}

/* Room for one more in ts->v.  0 or -ENOMEM. */
static int grow_v(struct targets *ts)
{
	size_t ncap = ts->cap ? ts->cap * 2 : 16;
	struct target **nv;

	if (ts->n < ts->cap)
		return 0;
	nv = realloc(ts->v, ncap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	ts->v = nv;
	ts->cap = ncap;
	return 0;
}

/*
 * Child, forked by target pt, exited before it could be added: a target
 * already gone, reading pt's memory, so that the samples the sampler took
 * of it (with pt's config) are named and retired like any other's.
 */
static void add_ghost(struct targets *ts, pid_t child, const struct target *pt)
{
	struct target *t;

	if (ts->n >= TARGETS_MAX || grow_v(ts))
		return;
	t = calloc(1, sizeof(*t));
	if (!t)
		return;
	python__clone(&pt->py, child, &t->py);
	t->pid = child;
	t->parent = pt->pid;
	memcpy(t->comm, pt->comm, sizeof(t->comm));
	t->cpu0 = t->cpu1 = -1;
	t->gone = true;
	if (hashmap__set(&ts->by_pid, (uint64_t)child, (uintptr_t)t)) {
		free_target(t);
		return;
	}
	ts->v[ts->n++] = t;
	ts->want_drain = true;
}

struct target *targets__add(struct targets *ts, pid_t pid, bool given, int *rc,
			    char *err, size_t errlen)
{
	struct target *t;
	pid_t ns_pid;
	double age;

	if (ts->n >= TARGETS_MAX) {
		*rc = -ENOSPC;
		snprintf(err, errlen,
			 "more than %d processes at once: pid %d is not "
			 "profiled",
			 TARGETS_MAX, pid);
		return NULL;
	}
	if (grow_v(ts))
		goto nomem;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	*rc = python__attach(pid, &t->py, err, errlen);
	if (*rc) {
		free(t);
		return NULL;
	}
	t->pid = pid;
	t->given = given;
	if (proc__ns_pid(pid, &ns_pid) == 0 && ns_pid != pid)
		t->ns_pid = ns_pid;
	proc__comm(pid, 0, t->comm, sizeof(t->comm));
	t->cpu0 = t->cpu1 = -1;
	proc__cpu_time(pid, &t->cpu0);
	t->cpu1 = t->cpu0;
	if (hashmap__set(&ts->by_pid, (uint64_t)pid, (uintptr_t)t)) {
		free_target(t);
		goto nomem;
	}
	if (ts->bpf) {
		*rc = push_cfg(ts, t);
		if (*rc) {
			hashmap__del(&ts->by_pid, (uint64_t)pid);
			free_target(t);
			snprintf(err, errlen,
				 "cannot add pid %d to the sampler: %s", pid,
				 strerror(-*rc));
			return NULL;
		}
		/* Its CPU time counts from now, when it is sampled. */
		proc__cpu_time(pid, &t->cpu0);
		t->cpu1 = t->cpu0;
		/* Found after the start: how long it waited. */
		/* (starttime counts clock ticks: allow one) */
		if (!given && proc__age(pid, &age) == 0 && age >= 0 &&
		    age < clock__now() - ts->started_at + 0.011) {
			ts->attach_delay_sum += age;
			if (age > ts->attach_delay_max)
				ts->attach_delay_max = age;
			ts->attach_delays++;
		}
	}
	ts->v[ts->n++] = t;
	ts->attached++;
	if (t->py.layout.free_threaded && !ts->no_gil++) {
		ts->no_gil_pid = pid;
		snprintf(ts->no_gil_version, sizeof(ts->no_gil_version), "%s",
			 t->py.version_str);
	}
	if (ts->verbose && ts->bpf)
		fprintf(stderr,
			"pyprof-bpf: profiling pid %d (%s, CPython %s)\n", pid,
			t->comm, t->py.version_str);
	return t;
nomem:
	*rc = -ENOMEM;
	snprintf(err, errlen, "out of memory");
	return NULL;
}

int targets__start(struct targets *ts, struct sampler *bpf, char *err,
		   size_t errlen)
{
	int rc;

	ts->bpf = bpf;
	ts->started_at = clock__now();
	for (size_t i = 0; i < ts->n; i++) {
		struct target *t = ts->v[i];

		rc = push_cfg(ts, t);
		if (rc) {
			snprintf(err, errlen,
				 "cannot add pid %d to the sampler: %s", t->pid,
				 strerror(-rc));
			return rc;
		}
		/* The summary's expected samples are of the CPU time while
		 * sampled: not the time the sampler took to load, nor any
		 * before. */
		if (t->cpu0 >= 0 && proc__cpu_time(t->pid, &t->cpu0) == 0)
			t->cpu1 = t->cpu0;
	}
	return 0;
}

void targets__on_probe(struct targets *ts, pid_t pid)
{
	struct target *t = targets__get(ts, pid);
	char err[512];
	double age;
	int rc;

	if (t && !t->gone)
		return; /* announced before it was added */
	if (t) {
		/* The pid's previous program still has samples to collect. */
		ts->want_drain = true;
		sampler__probe_later(ts->bpf, pid, RETRY_BUSY_NS);
		return;
	}
	if (targets__add(ts, pid, false, &rc, err, sizeof(err)))
		return;
	switch (rc) {
	case -ESRCH:
		return;
	case -EAGAIN:
		sampler__probe_later(ts->bpf, pid, RETRY_YOUNG_NS);
		return;
	case -ENOEXEC:
		if (proc__age(pid, &age) == 0 && age < YOUNG_SECS) {
			sampler__probe_later(ts->bpf, pid, RETRY_YOUNG_NS);
			return;
		}
		ts->not_python++;
		break;
	case -ENOTSUP:
	case -EINVAL:
		if (!ts->unsupported++)
			snprintf(ts->unsupported_why,
				 sizeof(ts->unsupported_why), "%s", err);
		if (ts->verbose)
			fprintf(stderr, "pyprof-bpf: skipping pid %d: %s\n",
				pid, err);
		break;
	default:
		ts->failed++;
		fprintf(stderr, "pyprof-bpf: skipping pid %d: %s\n", pid, err);
		break;
	}
	sampler__probe_later(ts->bpf, pid, 0);
}

void targets__on_fork(struct targets *ts, pid_t child, pid_t parent)
{
	struct target *pt = targets__get(ts, parent), *t;
	char err[512];
	int rc;

	hashmap__set(&ts->followed, (uint64_t)child, 1);
	if (!pt || pt->gone || targets__get(ts, child))
		return;
	/* The sampler already samples it with the parent's config; the
	 * child needs its own reader of its own memory. */
	t = targets__add(ts, child, false, &rc, err, sizeof(err));
	if (t) {
		t->parent = parent;
	} else if (rc == -ESRCH) {
		/* Gone already (a fork that ran briefly): what it ran is
		 * the parent's code, so let the parent's memory name it. */
		add_ghost(ts, child, pt);
	} else {
		sampler__remove_target(ts->bpf, child);
	}
}

static void set_gone(struct targets *ts, struct target *t)
{
	struct target *pt = targets__get(ts, t->parent);

	if (t->gone)
		return;
	t->gone = true;
	ts->want_drain = true;
	/* A forked child shares its parent's code objects; with the child's
	 * memory gone (or replaced by exec), what is left to read is read
	 * through the parent's, which holds the same objects at the same
	 * addresses (a code object whose co_firstlineno differs from the
	 * sampled one is not trusted). */
	if (pt && !pt->gone)
		rmem__init_pid(&t->py.mem, pt->pid);
}

void targets__on_exec(struct targets *ts, pid_t pid)
{
	struct target *t = targets__get(ts, pid);

	if (!t || t->gone)
		return;
	t->execed = true;
	set_gone(ts, t);
}

void targets__check(struct targets *ts)
{
	for (size_t i = 0; i < ts->n; i++) {
		struct target *t = ts->v[i];

		if (t->gone)
			continue;
		if (proc__live_cpu_time(t->pid, &t->cpu1) == -ESRCH)
			set_gone(ts, t);
	}
	/* Followed processes that exited: forget them everywhere. */
	for (size_t i = 0; i < ts->followed.cap; i++) {
		pid_t pid = (pid_t)ts->followed.keys[i];

		if (!pid || proc__alive(pid) || targets__get(ts, pid))
			continue;
		hashmap__del(&ts->followed, (uint64_t)pid);
		sampler__forget(ts->bpf, pid);
		i--; /* the backward shift moved another key here */
	}
}

void targets__drain_begin(struct targets *ts)
{
	ts->want_drain = false;
	for (size_t i = 0; i < ts->n; i++)
		if (ts->v[i]->gone)
			ts->v[i]->drained = true;
}

static void fill_record(const struct target *t, struct target_record *r)
{
	memset(r, 0, sizeof(*r));
	r->pid = t->pid;
	r->ns_pid = t->ns_pid;
	memcpy(r->comm, t->comm, sizeof(r->comm));
	snprintf(r->version, sizeof(r->version), "%s", t->py.version_str);
	snprintf(r->elf_path, sizeof(r->elf_path), "%s", t->py.elf_path);
	r->debug_offsets = t->py.debug_offsets;
	r->cpu = t->cpu0 >= 0 && t->cpu1 >= t->cpu0 ? t->cpu1 - t->cpu0 : -1;
	r->given = t->given;
	r->execed = t->execed;
	r->gone = t->gone;
}

static void record(struct targets *ts, const struct target *t)
{
	ts->retired++;
	if (t->cpu0 >= 0 && t->cpu1 >= t->cpu0)
		ts->retired_cpu += t->cpu1 - t->cpu0;
	if (ts->nrecords < TARGETS_SUMMARY_MAX)
		fill_record(t, &ts->records[ts->nrecords++]);
}

void targets__record(const struct targets *ts, size_t i,
		     struct target_record *r)
{
	if (i < ts->nrecords)
		*r = ts->records[i];
	else if (i - ts->nrecords < ts->n)
		fill_record(ts->v[i - ts->nrecords], r);
	else
		memset(r, 0, sizeof(*r));
}

double targets__cpu(const struct targets *ts)
{
	double cpu = ts->retired_cpu;

	for (size_t i = 0; i < ts->n; i++) {
		const struct target *t = ts->v[i];

		if (t->cpu0 >= 0 && t->cpu1 >= t->cpu0)
			cpu += t->cpu1 - t->cpu0;
	}
	return cpu;
}

void targets__drained(struct targets *ts)
{
	size_t j = 0;

	for (size_t i = 0; i < ts->n; i++) {
		struct target *t = ts->v[i];

		if (!t->drained) {
			ts->v[j++] = t;
			continue;
		}
		record(ts, t);
		hashmap__del(&ts->by_pid, (uint64_t)t->pid);
		if (t->execed && proc__alive(t->pid)) {
			/* Same process, new program: still followed, and
			 * worth a new look. */
			sampler__remove_target(ts->bpf, t->pid);
		} else {
			hashmap__del(&ts->followed, (uint64_t)t->pid);
			sampler__forget(ts->bpf, t->pid);
		}
		free_target(t);
	}
	ts->n = j;
}

size_t targets__live(const struct targets *ts, bool given_only)
{
	size_t n = 0;

	for (size_t i = 0; i < ts->n; i++)
		n += !ts->v[i]->gone && (!given_only || ts->v[i]->given);
	return n;
}
