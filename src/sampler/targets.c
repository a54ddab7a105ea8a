// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "sampler/targets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "sampler/proc.h"

/*
 * A process that is not (yet) Python while younger than this is looked at
 * again: right after exec the dynamic loader has not mapped libpython yet.
 */
#define YOUNG_SECS 2.0
#define RETRY_YOUNG_NS (20ull * 1000 * 1000)
/*
 * A followed process (a launched command's, --children) that is not Python
 * yet is looked at again this often by userspace itself, not at its next
 * sample: a script that sleeps right after its start-up has no next sample,
 * and was then never found.
 */
#define RETRY_FOLLOWED_NS (10ull * 1000 * 1000)
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
	for (uint32_t i = 0; i < ts->nfiles; i++)
		python__detach(&ts->files[i].py);
	free(ts->v);
	hashmap__free(&ts->by_pid);
	hashmap__free(&ts->followed);
	hashmap__free(&ts->retry);
	hashmap__free(&ts->expected);
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
	cfg.thread_ptr_off = t->py.thread_ptr_off;
	cfg.code = t->code;
	return sampler__add_target(ts->bpf, t->pid, &cfg);
}

/* Where pid's program code lies, now.  0 or -errno. */
static int read_code(pid_t pid, struct py_code_range *code)
{
	uint64_t start, end;
	int rc = proc__code(pid, &start, &end);

	code->start = rc ? 0 : start;
	code->end = rc ? 0 : end;
	return rc;
}

/* Whether t exec'd since what was read of it was read (t->read_ns). */
static bool execed_since_read(struct targets *ts, const struct target *t)
{
	uint64_t exec_ns = sampler__exec_ns(ts->bpf, t->pid);

	return exec_ns && exec_ns >= t->read_ns;
}

/*
 * After push_cfg: whether the config just put in the sampler is the one of
 * a program t ran before an exec.  The sampler forgot t at the exec and
 * must not take it again: it would keep the new program from being
 * recognised, or (its own executable, mapped at the same place) have it
 * read with the old one's addresses.  Taken out if so.
 */
static bool pushed_stale(struct targets *ts, struct target *t)
{
	if (!execed_since_read(ts, t))
		return false;
	sampler__remove_target(ts->bpf, t->pid);
	return true;
}

/* Tells the sampler that py's executable runs a CPython, once. */
static void describe_exe(struct targets *ts, const struct py_target *py)
{
	struct interp_file_key key = { .dev = py->exe_dev, .ino = py->exe_ino };

	if (!py->exe_ino || !ts->bpf || ts->nexes >= INTERP_EXES_MAX)
		return;
	for (uint32_t i = 0; i < ts->nexes; i++)
		if (ts->exes[i].dev == key.dev && ts->exes[i].ino == key.ino)
			return;
	if (sampler__add_interp_exe(ts->bpf, &key) == 0)
		ts->exes[ts->nexes++] = key;
}

/*
 * Describes t's interpreter file to the sampler, once per file, so that it
 * recognises the file's next processes itself (bpf/discover.bpf.h).  What
 * a process of a file needs that another's does not is only where
 * _PyRuntime is, which the sampler computes.
 */
static void describe_file(struct targets *ts, const struct py_target *py)
{
	struct interp_file_key key = { .dev = py->file_dev,
				       .ino = py->file_ino };
	struct interp_proto *pr = NULL;
	struct interp_file f;

	describe_exe(ts, py);
	if (!py->file_ino || !py->nsegs)
		return;
	for (uint32_t i = 0; i < ts->nfiles && !pr; i++)
		if (ts->files[i].py.file_dev == key.dev &&
		    ts->files[i].py.file_ino == key.ino)
			pr = &ts->files[i];
	if (!pr) {
		if (ts->nfiles >= INTERP_FILES_MAX)
			return;
		pr = &ts->files[ts->nfiles++];
		python__clone(py, py->pid, &pr->py);
		pr->described = false;
	}
	if (pr->described || !ts->bpf)
		return;
	memset(&f, 0, sizeof(f));
	py_layout__to_cfg(&pr->py.layout, pr->py.runtime_vaddr, &f.cfg);
	f.cfg.thread_ptr_off = pr->py.thread_ptr_off;
	f.id = (uint32_t)(pr - ts->files);
	f.nsegs = pr->py.nsegs;
	memcpy(f.segs, pr->py.segs, sizeof(f.segs));
	if (sampler__add_interp_file(ts->bpf, &key, &f) == 0)
		pr->described = true;
}

/* A process found after the start, delay seconds after it started, having
 * run cpu seconds (< 0: unknown) unprofiled. */
static void count_delay(struct targets *ts, double delay, double cpu)
{
	ts->attach_delay_sum += delay;
	if (delay > ts->attach_delay_max)
		ts->attach_delay_max = delay;
	ts->attach_delays++;
	if (cpu < 0)
		return;
	ts->attach_cpu_sum += cpu;
	if (cpu > ts->attach_cpu_max)
		ts->attach_cpu_max = cpu;
	ts->attach_cpus++;
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
 * Child, forked by target pt, gone or exec'd before it could be added: a
 * target already gone, reading pt's memory, so that the samples the sampler
 * took of it (with pt's config) are named and retired like any other's.
 */
static void add_ghost(struct targets *ts, pid_t child, const struct target *pt,
		      bool execed)
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
	t->execed = execed;
	if (hashmap__set(&ts->by_pid, (uint64_t)child, (uintptr_t)t)) {
		free_target(t);
		return;
	}
	ts->v[ts->n++] = t;
	ts->want_drain = true;
}

/*
 * Whether t was forked by a target and runs its program still (its
 * interpreter at the same address): then its parent's memory can name
 * what it ran once its own is gone (set_gone).  A forked child found by
 * discovery rather than by following forks.
 */
static void find_parent(struct targets *ts, struct target *t)
{
	struct target *pt;
	pid_t ppid;

	if (t->parent || proc__ppid(t->pid, &ppid))
		return;
	pt = targets__get(ts, ppid);
	if (pt && pt != t && !pt->gone &&
	    pt->py.runtime_addr == t->py.runtime_addr)
		t->parent = ppid;
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

struct target *targets__add(struct targets *ts, pid_t pid, bool given, int *rc,
			    char *err, size_t errlen)
{
	uint64_t since_ns = clock__now_ns();
	struct target *t;
	pid_t ns_pid;
	double age = -1;
	struct py_code_range code;
	uint64_t run_ns, parked = 0;

	if (ts->n >= TARGETS_MAX) {
		*rc = -ENOSPC;
		snprintf(err, errlen,
			 "more than %d processes at once: pid %d is not "
			 "profiled",
			 TARGETS_MAX, pid);
		return NULL;
	}
	if (ts->own_only && !proc__owned_by(pid, ts->own_uid)) {
		*rc = -EPERM;
		snprintf(err, errlen,
			 "process %d does not run as uid %u alone: not "
			 "profiled",
			 pid, (unsigned)ts->own_uid);
		return NULL;
	}
	if (grow_v(ts))
		goto nomem;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	/* What is read of it is of one program only if its code lies where
	 * it did before: no exec in between. */
	read_code(pid, &t->code);
	*rc = python__attach(pid, &t->py, err, errlen);
	if (!*rc)
		proc__comm(pid, 0, t->comm, sizeof(t->comm));
	if (!*rc && (!t->code.start || read_code(pid, &code) ||
		     code.start != t->code.start || code.end != t->code.end)) {
		python__detach(&t->py);
		*rc = proc__alive(pid) ? -ESTALE : -ESRCH;
		snprintf(err, errlen,
			 *rc == -ESRCH ? "pid %d exited while it was being "
					 "attached" :
					 "pid %d ran a new program while it "
					 "was being attached",
			 pid);
	}
	if (*rc) {
		free(t);
		return NULL;
	}
	t->pid = pid;
	t->given = given;
	t->read_ns = since_ns;
	if (proc__ns_pid(pid, &ns_pid) == 0 && ns_pid != pid)
		t->ns_pid = ns_pid;
	t->cpu0 = t->cpu1 = -1;
	proc__cpu_time(pid, &t->cpu0);
	t->cpu1 = t->cpu0;
	if (hashmap__set(&ts->by_pid, (uint64_t)pid, (uintptr_t)t)) {
		free_target(t);
		goto nomem;
	}
	if (ts->bpf) {
		/* Recognised by the sampler already, and told so on the ring
		 * buffer, behind what is handled now: that says since when. */
		t->await_recognised = !given &&
				      sampler__has_target(ts->bpf, pid);
		*rc = push_cfg(ts, t);
		/* Parked before this, of the program attached (an exec
		 * forgets them), unless it exec'd since it was read. */
		if (!*rc && !given)
			parked = sampler__take_parked(ts->bpf, pid);
		if (!*rc && pushed_stale(ts, t))
			*rc = -ESTALE;
		if (*rc == -ESTALE)
			snprintf(err, errlen,
				 "pid %d ran a new program while it was being "
				 "attached",
				 pid);
		else if (*rc)
			snprintf(err, errlen,
				 "cannot add pid %d to the sampler: %s", pid,
				 strerror(-*rc));
		if (*rc) {
			hashmap__del(&ts->by_pid, (uint64_t)pid);
			free_target(t);
			return NULL;
		}
		/* Its CPU time counts from now, when it is sampled. */
		proc__cpu_time(pid, &t->cpu0);
		t->cpu1 = t->cpu0;
		/* Found after the start: how long it waited. */
		/* (starttime counts clock ticks: allow one) */
		if (!given && !t->await_recognised &&
		    proc__age(pid, &age) == 0 && age >= 0 &&
		    age < clock__now() - ts->started_at + 0.011)
			count_delay(ts, age,
				    proc__run_ns(pid, &run_ns) == 0 ?
					    (double)run_ns / 1e9 :
					    -1);
		else
			age = -1;
		if (age < 0 || proc__run_ns(pid, &run_ns) != 0)
			run_ns = 0;
		describe_file(ts, &t->py);
		t->parked = parked;
	}
	hashmap__del(&ts->retry, (uint64_t)pid);
	hashmap__del(&ts->expected, (uint64_t)pid);
	if (!given)
		find_parent(ts, t);
	ts->v[ts->n++] = t;
	ts->attached++;
	if (t->py.layout.free_threaded && !ts->no_gil++) {
		ts->no_gil_pid = pid;
		snprintf(ts->no_gil_version, sizeof(ts->no_gil_version), "%s",
			 t->py.version_str);
	}
	if (ts->verbose && ts->bpf && age >= 0)
		fprintf(stderr,
			"pyprof-bpf: profiling pid %d (%s, CPython %s), "
			"%.0f ms after its start, having run %.1f ms\n",
			pid, t->comm, t->py.version_str, age * 1e3,
			(double)run_ns / 1e6);
	else if (ts->verbose && ts->bpf)
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
		/* Between its attach and now: it is another program. */
		if (pushed_stale(ts, t)) {
			t->execed = true;
			set_gone(ts, t);
			continue;
		}
		/* The summary's expected samples are of the CPU time while
		 * sampled: not the time the sampler took to load, nor any
		 * before. */
		if (t->cpu0 >= 0 && proc__cpu_time(t->pid, &t->cpu0) == 0)
			t->cpu1 = t->cpu0;
		describe_file(ts, &ts->v[i]->py);
	}
	return 0;
}

/*
 * pid, young, is not Python yet: if its executable is, or links, an
 * interpreter file the sampler does not know, describe it now, so that
 * the sampler recognises pid by its first sample in it rather than
 * waiting for userspace to see it mapped.  Once per process.
 */
static void expect_file(struct targets *ts, pid_t pid)
{
	struct py_target proto;

	if (hashmap__get(&ts->expected, (uint64_t)pid, NULL))
		return;
	if (ts->expected.len >= 4096)
		hashmap__free(&ts->expected);
	hashmap__set(&ts->expected, (uint64_t)pid, 1);
	if (python__expect(pid, NULL, &proto) == 0) {
		describe_file(ts, &proto);
		python__detach(&proto);
	}
}

void targets__expect(struct targets *ts, pid_t pid, const char *path)
{
	struct py_target proto;

	if (python__expect(pid, path, &proto) == 0) {
		describe_file(ts, &proto);
		python__detach(&proto);
	}
}

void targets__on_recognised(struct targets *ts,
			    const struct recognised_event *ev)
{
	pid_t pid = (pid_t)ev->hdr.pid, ns_pid;
	struct target *t = targets__get(ts, pid);
	const struct interp_proto *pr;
	double delay;

	if (t && !t->gone) {
		/* Attached already; sampled since this. */
		if (t->await_recognised && ev->recognised_ns > ev->start_ns &&
		    (double)ev->start_ns / 1e9 >= ts->started_at)
			count_delay(ts,
				    (double)(ev->recognised_ns - ev->start_ns) /
					    1e9,
				    (double)ev->cpu_ns / 1e9);
		t->await_recognised = false;
		return;
	}
	if (t) {
		/* The pid's previous program still has samples to collect:
		 * after the drain. */
		if (ts->nlater < sizeof(ts->later) / sizeof(ts->later[0]))
			ts->later[ts->nlater++] = *ev;
		ts->want_drain = true;
		return;
	}
	if (ev->file_id >= ts->nfiles || ts->n >= TARGETS_MAX || grow_v(ts))
		goto fail;
	if (ts->own_only && !proc__owned_by(pid, ts->own_uid))
		goto fail;
	pr = &ts->files[ev->file_id];
	t = calloc(1, sizeof(*t));
	if (!t)
		goto fail;
	python__from_file(&pr->py, pid, ev->hdr.key, &t->py);
	t->pid = pid;
	t->read_ns = ev->recognised_ns;
	t->code = ev->code;
	if (proc__ns_pid(pid, &ns_pid) == 0 && ns_pid != pid)
		t->ns_pid = ns_pid;
	memcpy(t->comm, ev->comm, sizeof(t->comm) - 1);
	t->cpu0 = t->cpu1 = -1;
	proc__cpu_time(pid, &t->cpu0);
	t->cpu1 = t->cpu0;
	if (hashmap__set(&ts->by_pid, (uint64_t)pid, (uintptr_t)t)) {
		free_target(t);
		goto fail;
	}
	find_parent(ts, t);
	/* Parked before it was recognised, unless it exec'd since: then
	 * they are the new program's, and the sampler forgot it (and must
	 * not take its config again).  Gone already (it ran briefly), or
	 * exec'd, its samples until then are kept all the same, under what
	 * can still be read of it. */
	if (proc__alive(pid))
		push_cfg(ts, t); /* the same config; and --gil's, wall's */
	t->parked = sampler__take_parked(ts->bpf, pid);
	if (pushed_stale(ts, t)) {
		t->execed = true;
		t->parked = 0;
		set_gone(ts, t);
	} else if (!proc__alive(pid)) {
		set_gone(ts, t);
	}
	/* Started after the start (the sampler's clock is CLOCK_MONOTONIC,
	 * as clock__now()'s): how long until it was sampled. */
	delay = -1;
	if (ev->recognised_ns > ev->start_ns &&
	    (double)ev->start_ns / 1e9 >= ts->started_at) {
		delay = (double)(ev->recognised_ns - ev->start_ns) / 1e9;
		count_delay(ts, delay, (double)ev->cpu_ns / 1e9);
	}
	hashmap__del(&ts->retry, (uint64_t)pid);
	ts->v[ts->n++] = t;
	ts->attached++;
	ts->recognised++;
	if (ts->verbose)
		fprintf(stderr,
			"pyprof-bpf: profiling pid %d (%s, CPython %s), "
			"recognised by the sampler %.0f ms after its start, "
			"having run %.1f ms\n",
			pid, t->comm, t->py.version_str, delay * 1e3,
			(double)ev->cpu_ns / 1e6);
	return;
fail:
	/* Not kept: its samples would have no process to go to; and not
	 * recognised again at its next sample. */
	sampler__remove_target(ts->bpf, pid);
	sampler__probe_later(ts->bpf, pid, 0);
}

struct target *targets__adopt(struct targets *ts, pid_t pid)
{
	if (!ts->bpf || !sampler__has_target(ts->bpf, pid))
		return NULL;
	targets__on_probe(ts, pid);
	return targets__get(ts, pid);
}

/* pid is to be looked at again in retry_ns: by the sampler at its next
 * sample, and, if followed, by userspace on a timer. */
static void retry_later(struct targets *ts, pid_t pid, uint64_t retry_ns)
{
	sampler__probe_later(ts->bpf, pid, retry_ns);
	if (ts->retry_followed &&
	    hashmap__get(&ts->followed, (uint64_t)pid, NULL))
		hashmap__set(&ts->retry, (uint64_t)pid,
			     (uint64_t)(clock__now() * 1e9) +
				     RETRY_FOLLOWED_NS);
}

int targets__retry(struct targets *ts, int max_ms)
{
	uint64_t now = (uint64_t)(clock__now() * 1e9), next = UINT64_MAX;
	pid_t due[64];
	size_t n = 0;

	for (size_t i = 0; i < ts->retry.cap; i++) {
		uint64_t when = ts->retry.vals[i];

		if (!ts->retry.keys[i])
			continue;
		if (when <= now && n < sizeof(due) / sizeof(due[0]))
			due[n++] = (pid_t)ts->retry.keys[i];
		else if (when < next)
			next = when;
	}
	for (size_t i = 0; i < n; i++) {
		hashmap__del(&ts->retry, (uint64_t)due[i]);
		targets__on_probe(ts, due[i]);
		/* Looked at again soon, if still not Python. */
		if (hashmap__get(&ts->retry, (uint64_t)due[i], NULL))
			next = now + RETRY_FOLLOWED_NS;
	}
	if (next == UINT64_MAX)
		return max_ms;
	now = (uint64_t)(clock__now() * 1e9);
	if (next <= now)
		return 0;
	return (next - now) / 1000000 < (uint64_t)max_ms ?
		       (int)((next - now) / 1000000) + 1 :
		       max_ms;
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
		retry_later(ts, pid, RETRY_BUSY_NS);
		return;
	}
	if (pid == getpid()) {
		/* Never profile yourself. */
		sampler__probe_later(ts->bpf, pid, 0);
		return;
	}
	if (targets__add(ts, pid, false, &rc, err, sizeof(err)))
		return;
	switch (rc) {
	case -ESRCH:
		hashmap__del(&ts->retry, (uint64_t)pid);
		sampler__take_parked(ts->bpf, pid);
		return;
	case -ESTALE:
		/* It exec'd while attached: the sampler forgot it then, and
		 * announces the new program at its first sample. */
		hashmap__del(&ts->retry, (uint64_t)pid);
		return;
	case -EAGAIN:
		expect_file(ts, pid);
		retry_later(ts, pid, RETRY_YOUNG_NS);
		return;
	case -ENOEXEC:
		if (proc__age(pid, &age) == 0 && age < YOUNG_SECS) {
			expect_file(ts, pid);
			retry_later(ts, pid, RETRY_YOUNG_NS);
			return;
		}
		ts->not_python++;
		break;
	case -ENOTSUP:
	case -EINVAL:
		ts->unsupported++;
		/* What the summary says when nothing could be profiled. */
		if (!ts->unsupported_why[0])
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
	hashmap__del(&ts->retry, (uint64_t)pid);
	sampler__take_parked(ts->bpf, pid); /* not Python: not samples */
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
	} else if (rc == -ESRCH || sampler__exec_ns(ts->bpf, child)) {
		/* Gone already, or another program already (a fork that ran
		 * briefly; a vfork that exec'd): what it ran as a target is
		 * the parent's code, so let the parent's memory name it. */
		add_ghost(ts, child, pt, sampler__exec_ns(ts->bpf, child) != 0);
	} else {
		sampler__remove_target(ts->bpf, child);
	}
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
	for (size_t i = 0; i < ts->n; i++) {
		struct target *t = ts->v[i];

		if (!t->gone)
			continue;
		t->drained = true;
		/* Parked after it was attached, before the sampler knew;
		 * after an exec, what is parked is the new program's. */
		if (!t->given && ts->bpf && !execed_since_read(ts, t))
			t->parked += sampler__take_parked(ts->bpf, t->pid);
	}
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
	/* Recognised meanwhile under a pid whose previous program may now
	 * be retired (else it waits for the next drain again). */
	if (ts->nlater) {
		struct recognised_event
			later[sizeof(ts->later) / sizeof(ts->later[0])];
		uint32_t n = ts->nlater;

		memcpy(later, ts->later, n * sizeof(later[0]));
		ts->nlater = 0;
		for (uint32_t i = 0; i < n; i++)
			targets__on_recognised(ts, &later[i]);
	}
}

size_t targets__live(const struct targets *ts, bool given_only)
{
	size_t n = 0;

	for (size_t i = 0; i < ts->n; i++)
		n += !ts->v[i]->gone && (!given_only || ts->v[i]->given);
	return n;
}
