// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "collect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "proc.h"
#include "pythread.h"

#define NAMES_MAX 4096
/* A burst of new threads re-reads names at most this often. */
#define NAMES_MIN_PERIOD 0.05

static int64_t marker(struct collector *c, const char *text)
{
	return profile__frame(c->prof, PF_MARKER,
			      profile__intern_str(c->prof, text), 0, 0);
}

int collect__init(struct collector *c, struct profile *prof,
		  struct py_target *t, bool thread_ids, bool no_threads)
{
	char comm[64] = "?", label[96];
	int64_t f;

	memset(c, 0, sizeof(*c));
	c->prof = prof;
	c->target = t;
	c->thread_ids = thread_ids;
	c->no_threads = no_threads;
	c->buf = calloc(NAMES_MAX, sizeof(*c->buf));
	/* process, thread, a marker, the frames, a marker */
	c->stack = calloc(PY_MAX_DEPTH_CAP + 4, sizeof(*c->stack));
	if (!c->buf || !c->stack)
		return -ENOMEM;
	proc__comm(t->pid, 0, comm, sizeof(comm));
	snprintf(label, sizeof(label), "%s-%d", comm, t->pid);
	f = profile__frame(prof, PF_PROCESS, profile__intern_str(prof, label),
			   0, 0);
	if (f < 0)
		return (int)f;
	c->process_frame = (uint32_t)f;
	return 0;
}

void collect__fini(struct collector *c)
{
	hashmap__free(&c->names);
	hashmap__free(&c->tid_ids);
	free(c->buf);
	free(c->stack);
}

void collect__new_drain(struct collector *c)
{
	c->names_fresh = false;
	hashmap__free(&c->tid_ids);
}

/* Re-reads threading._active into c->names, at most once per drain. */
static void refresh_names(struct collector *c)
{
	uint64_t interp;
	int n;

	if (c->names_fresh)
		return;
	c->names_fresh = true;
	c->names_read_at = clock__now();
	if (python__interp(c->target, &interp) || !interp)
		return;
	n = pythread__names(&c->target->layout, &c->target->mem, interp, c->buf,
			    NAMES_MAX);
	for (int i = 0; i < n; i++) {
		uint32_t id = profile__intern_str(c->prof, c->buf[i].name);

		if (id && c->buf[i].thread_id)
			hashmap__set(&c->names, c->buf[i].thread_id, id);
	}
}

/* threading's name of thread tid, or NULL. */
static const char *python_thread_name(struct collector *c, uint32_t tid)
{
	uint64_t thread_id, id;

	if (hashmap__get(&c->tid_ids, tid, &thread_id)) {
		thread_id--;
	} else {
		if (profiler__thread_id(c->bpf, tid, &thread_id))
			return NULL;
		hashmap__set(&c->tid_ids, tid, thread_id + 1);
	}
	if (!hashmap__get(&c->names, thread_id, &id)) {
		refresh_names(c);
		if (!hashmap__get(&c->names, thread_id, &id))
			return NULL;
	}
	return profile__string(c->prof, (uint32_t)id);
}

/*
 * The thread frame of tid: threading's name when it has one, else
 * "MainThread" for the main thread, else the OS thread name when it differs
 * from the process's, else "tid-N".
 */
static int64_t thread_frame(struct collector *c, uint32_t tid)
{
	char label[PYTHREAD_NAME_MAX + 32], comm[64] = "", pcomm[64] = "";
	const char *name = python_thread_name(c, tid);

	if (!name) {
		proc__comm(c->target->pid, (pid_t)tid, comm, sizeof(comm));
		proc__comm(c->target->pid, 0, pcomm, sizeof(pcomm));
		if ((pid_t)tid == c->target->pid)
			name = "MainThread";
		else if (comm[0] && strcmp(comm, pcomm) != 0)
			name = comm;
		else {
			snprintf(comm, sizeof(comm), "tid-%u", tid);
			name = comm;
		}
	}
	if (c->thread_ids)
		snprintf(label, sizeof(label), "%s (tid %u)", name, tid);
	else
		snprintf(label, sizeof(label), "%s", name);
	return profile__frame(c->prof, PF_THREAD,
			      profile__intern_str(c->prof, label), 0, 0);
}

static int64_t python_frame(struct collector *c, const struct py_frame *pf)
{
	const struct py_code *code;
	uint32_t name, file;

	code = python__code(c->target, pf->code, pf->firstlineno);
	if (!code)
		return -ENOMEM;
	if (!code->ok) {
		c->unknown_frames++;
		return marker(c, "[unknown]");
	}
	name = profile__intern_str(c->prof, code->name);
	file = profile__intern_str(c->prof, code->filename);
	return profile__frame(c->prof, PF_PYTHON, name, file,
			      python__line(c->target, code, pf->lasti));
}

void collect__on_new_seg(uint32_t pid, const struct py_seg *seg, void *arg)
{
	struct collector *c = arg;

	if ((pid_t)pid != c->target->pid)
		return;
	for (uint32_t i = 0; i < seg->nframes && i < PY_SEG_FRAMES; i++)
		python__code(c->target, seg->frames[i].code,
			     seg->frames[i].firstlineno);
}

void collect__on_new_thread(uint32_t pid, uint32_t tid, uint64_t thread_id,
			    void *arg)
{
	struct collector *c = arg;

	if ((pid_t)pid != c->target->pid || c->no_threads)
		return;
	hashmap__set(&c->tid_ids, tid, thread_id + 1);
	/* Read names now, while a short-lived thread is still registered. */
	if (clock__now() - c->names_read_at >= NAMES_MIN_PERIOD) {
		c->names_fresh = false;
		refresh_names(c);
	}
}

void collect__on_exec(uint32_t pid, void *arg)
{
	struct collector *c = arg;

	if ((pid_t)pid == c->target->pid)
		c->execed = true;
}

int collect__sample(const struct sample_key *key, uint64_t count,
		    const struct py_frame *frames, uint32_t nframes, void *arg)
{
	struct collector *c = arg;
	uint32_t *stack = c->stack, n = 0;
	int64_t f;

	if (key->depth && !frames) {
		c->unresolved += count;
		return 0;
	}
	if (nframes > PY_MAX_DEPTH_CAP)
		return -EINVAL;
	stack[n++] = c->process_frame;
	if (!c->no_threads) {
		f = thread_frame(c, key->tid);
		if (f < 0)
			return (int)f;
		stack[n++] = (uint32_t)f;
	}
	if (nframes && key->flags & (SAMPLE_F_TRUNCATED | SAMPLE_F_PARTIAL)) {
		/* The walk starts at the leaf, so what is missing is the root
		 * side: say so where the root frames would be. */
		f = marker(c, key->flags & SAMPLE_F_TRUNCATED ?
				      "[truncated]" :
				      "[partial stack]");
		if (f < 0)
			return (int)f;
		stack[n++] = (uint32_t)f;
	}
	for (uint32_t i = nframes; i-- > 0;) {
		f = python_frame(c, &frames[i]);
		if (f < 0)
			return (int)f;
		stack[n++] = (uint32_t)f;
	}
	if (nframes == 0) {
		const char *why = "[no Python frame]";

		if (key->flags & SAMPLE_F_NO_TSTATE)
			why = "[no Python thread state]";
		else if (key->flags & SAMPLE_F_NO_RUNTIME)
			why = "[interpreter not readable]";
		else if (key->flags & SAMPLE_F_PARTIAL)
			why = "[unreadable frame]";
		f = marker(c, why);
		if (f < 0)
			return (int)f;
		stack[n++] = (uint32_t)f;
	}
	return profile__add(c->prof, stack, n, count);
}
