// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "sampler/collect.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/grow.h"
#include "lib/filter.h"
#include "lib/sources.h"
#include "python/pythread.h"
#include "sampler/asyncio.h"
#include "sampler/offcpu.h"
#include "sampler/proc.h"

#define NAMES_MAX 4096
/* Frames of one profile stack: process, thread, markers, Python frames,
 * native frames with their inlined callees, kernel frames. */
#define COLLECT_STACK_MAX                                                  \
	(PY_MAX_DEPTH_CAP + 8 + NATIVE_FRAMES_MAX * NATIVE_IDS_PER_FRAME + \
	 NATIVE_KSTACK_MAX + ASYNC_FRAMES_MAX + 1)
/* A burst of new threads re-reads names at most this often (s). */
#define NAMES_MIN_PERIOD 0.02
/* The names of threads gone are dropped at most this often (s). */
#define NAMES_PRUNE_PERIOD 10.0
/* In a value of target.names: its thread was gone at the last prune. */
#define NAME_GONE (1ull << 32)
/* --native: names are read this often while a process's samples come. */
#define NAMES_REFRESH_PERIOD 0.05
/* How long a thread announced without a name is looked for (s): it is
 * named as it starts, unless started by _thread (never named). */
#define NAMES_PENDING_MAX 2.0
/* Frame ids of the samples waiting for their thread's name: 4 MiB. */
#define DEFER_IDS_MAX (1u << 20)
/* How long a sample waits for its thread's name, at most (s). */
#define DEFER_MAX 2.0
/* Frame ids --native keeps for reuse (framecache): 4 and 16 MiB. */
#define SYM_IDS_MAX (1u << 20)
#define PY_IDS_MAX (1u << 22)

static int64_t marker(struct collector *c, const char *text)
{
	return profile__frame(c->prof, PF_MARKER,
			      profile__intern_str(c->prof, text), 0, 0);
}

int collect__init(struct collector *c, struct profile *prof, struct targets *ts,
		  bool thread_ids, bool no_threads, bool merge_processes)
{
	memset(c, 0, sizeof(*c));
	c->prof = prof;
	c->ts = ts;
	c->thread_ids = thread_ids;
	c->no_threads = no_threads;
	c->merge_processes = merge_processes;
	c->buf = calloc(NAMES_MAX, sizeof(*c->buf));
	/* process, thread, a marker, the frames, a marker; with --native
	 * and --kernel (collect__set_native) more */
	c->stack = calloc(COLLECT_STACK_MAX, sizeof(*c->stack));
	c->stack_max = COLLECT_STACK_MAX;
	if (!c->buf || !c->stack)
		return -ENOMEM;
	return 0;
}

void collect__fini(struct collector *c)
{
	for (size_t i = 0; i < c->ndeferred; i++)
		free(c->deferred[i].ids);
	free(c->deferred);
	hashmap__free(&c->pending);
	framecache__free(&c->sym_ids);
	framecache__free(&c->py_ids);
	free(c->nat);
	hashmap__free(&c->timed_stacks);
	hashmap__free(&c->nvcsw);
	free(c->buf);
	free(c->stack);
}

static void add_deferred(struct collector *c, bool last);

int collect__set_profile(struct collector *c, struct profile *prof)
{
	size_t n = 0, j = 0;
	uint32_t *ids;

	/* The samples waiting for their thread's name hold frame ids of the
	 * old profile: they go into it, under a stand-in name if need be. */
	add_deferred(c, true);

	/* Every name is interned in prof first, so that a failure changes
	 * nothing. */
	for (size_t i = 0; i < c->ts->n; i++)
		n += c->ts->v[i]->names.len;
	ids = malloc((n ? n : 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < c->ts->n; i++) {
		const struct hashmap *h = &c->ts->v[i]->names;

		for (size_t k = 0; k < h->cap; k++) {
			if (!h->keys[k])
				continue;
			ids[j] = profile__intern_str(
				prof,
				profile__string(c->prof, (uint32_t)h->vals[k]));
			if (!ids[j++]) {
				free(ids);
				return -ENOMEM;
			}
		}
	}
	j = 0;
	for (size_t i = 0; i < c->ts->n; i++) {
		struct target *t = c->ts->v[i];

		t->process_frame = 0;
		for (size_t k = 0; k < t->names.cap; k++)
			if (t->names.keys[k])
				t->names.vals[k] =
					(t->names.vals[k] & NAME_GONE) | ids[j++];
	}
	free(ids);
	/* Frame ids and stack indexes cached for the old profile. */
	framecache__clear(&c->sym_ids);
	framecache__clear(&c->py_ids);
	hashmap__free(&c->timed_stacks);
	c->prof = prof;
	return 0;
}

void collect__parked(struct collector *c)
{
	for (size_t i = 0; i < c->ts->n; i++) {
		struct target *t = c->ts->v[i];
		struct collect_sample s = {
			.t = t,
			.tid = (uint32_t)t->pid,
			.flags = SAMPLE_F_UNRECOGNISED,
			.count = t->parked,
		};

		if (!t->parked)
			continue;
		t->parked = 0;
		if (collect__add(c, &s) == 0)
			c->parked_kept += s.count;
	}
}

/* The root frame of t: "comm-PID", or "comm" with --merge-processes. */
static int64_t process_frame(struct collector *c, struct target *t)
{
	char label[64];
	int64_t f;

	if (t->process_frame)
		return t->process_frame;
	if (c->merge_processes)
		snprintf(label, sizeof(label), "%s",
			 t->comm[0] ? t->comm : "?");
	else
		snprintf(label, sizeof(label), "%s-%d",
			 t->comm[0] ? t->comm : "?", t->pid);
	f = profile__frame(c->prof, PF_PROCESS,
			   profile__intern_str(c->prof, label), 0, 0);
	if (f > 0)
		t->process_frame = (uint32_t)f;
	return f;
}

/* ---- Thread names ---- */

/*
 * Which name a thread frame carries.  threading._active is read
 * (src/python/pythread.c) while threads are alive: when the sampler
 * announces a new thread, every COLLECT_NAMES_RETRY_MS while an announced
 * thread is still unnamed, every NAMES_REFRESH_PERIOD while --native
 * samples of the process come (their handling may lag), and at the first
 * sample of the process in each drain (a thread may rename itself).  A
 * name is kept by the thread's tid, which Thread._native_id gives: a tid is
 * one thread's for as long as it lives.  Its ident (pthread_self()) and its
 * thread state are not: glibc hands a finished thread's stack, and so its
 * pthread_self(), to the next thread, and CPython reuses thread-state
 * memory, so names kept by ident went to the wrong threads when threads
 * came and went.  The ident only names a forked child's main thread, whose
 * Thread keeps the parent's tid before 3.13.  A sample of a thread not
 * named yet (it has not reached threading's bookkeeping) waits, up to
 * DEFER_MAX, for a drain after its name is read (add_deferred) rather than
 * carry a stand-in name now and its own name later.
 */

/*
 * Drops from t->names the threads that were gone at the last prune too, at
 * most every NAMES_PRUNE_PERIOD: a thread's samples are collected within
 * DEFER_MAX of its end, and a process that makes short threads all day
 * keeps the names of the last seconds' threads only (every new tid had its
 * name kept until its process ended: 1 MiB for 40,000 threads, and each
 * profile collect__set_profile made interned them all).  Rebuilt, so
 * that the table shrinks as well.
 */
static void prune_names(struct target *t)
{
	struct hashmap kept = { 0 };
	double now = clock__now();

	if (now - t->names_pruned_at < NAMES_PRUNE_PERIOD)
		return;
	t->names_pruned_at = now;
	for (size_t k = 0; k < t->names.cap; k++) {
		uint64_t tid = t->names.keys[k], val = t->names.vals[k];

		if (!tid)
			continue;
		if (proc__has_thread(t->pid, (pid_t)tid))
			val &= ~NAME_GONE;
		else if (val & NAME_GONE)
			continue;
		else
			val |= NAME_GONE;
		if (hashmap__set(&kept, tid, val)) {
			hashmap__free(&kept);
			return; /* the names stay, all of them */
		}
	}
	hashmap__free(&t->names);
	t->names = kept;
}

/* Re-reads threading._active of t into t->names (by tid) and t->idents
 * (by ident, for the Threads whose native id is no thread of t). */
static void read_names(struct collector *c, struct target *t)
{
	uint64_t interp;
	int n;

	prune_names(t);
	t->names_fresh = true;
	t->names_read_at = clock__now();
	if (t->gone || python__interp(&t->py, &interp) || !interp)
		return;
	n = pythread__names_memo(&t->py.layout, &t->py.mem, interp,
				 &t->names_memo, c->buf, NAMES_MAX);
	if (n < 0)
		return; /* the names read before stay */
	hashmap__free(&t->idents);
	for (int i = 0; i < n; i++) {
		const struct pythread_name *pn = &c->buf[i];
		uint32_t id = profile__intern_str(c->prof, pn->name);

		if (!id)
			continue;
		if (pn->native_id &&
		    proc__has_thread(t->pid, (pid_t)pn->native_id))
			hashmap__set(&t->names, pn->native_id, id);
		else if (pn->thread_id)
			hashmap__set(&t->idents, pn->thread_id, id);
	}
}

/* Whether t's names may be read again now: not read in the last
 * NAMES_MIN_PERIOD s, so that a burst of new threads costs few reads. */
static bool names_stale(const struct target *t)
{
	return clock__now() - t->names_read_at >= NAMES_MIN_PERIOD;
}

/* threading's name of thread tid (a string id), or 0. */
static uint32_t python_thread_name(struct collector *c, struct target *t,
				   uint32_t tid)
{
	uint64_t thread_id, id;

	/* Once per drain: what renamed itself since is named anew. */
	if (!t->names_fresh && names_stale(t))
		read_names(c, t);
	if (hashmap__get(&t->names, tid, &id))
		return (uint32_t)id;
	if ((pid_t)tid == t->pid && t->idents.len &&
	    !sampler__thread_id(c->bpf, tid, &thread_id) &&
	    hashmap__get(&t->idents, thread_id, &id))
		return (uint32_t)id;
	return 0;
}

/* thread_frame()'s answer when the sample is to wait for the name. */
#define THREAD_FRAME_WAIT INT64_MAX

/*
 * The thread frame of tid: threading's name when it has one, else
 * "MainThread" for the main thread, else the OS thread name when it differs
 * from the process's, else "tid-N".  With wait, a thread without
 * threading's name gets no frame yet: THREAD_FRAME_WAIT.
 */
static int64_t thread_frame(struct collector *c, struct target *t, uint32_t tid,
			    bool wait)
{
	char label[PYTHREAD_NAME_MAX + 32], comm[64] = "";
	uint32_t id = python_thread_name(c, t, tid);
	const char *name = id ? profile__string(c->prof, id) : NULL;

	if (!name && wait)
		return THREAD_FRAME_WAIT;
	if (!name && (pid_t)tid == t->pid) {
		name = "MainThread";
	} else if (!name) {
		proc__comm(t->pid, (pid_t)tid, comm, sizeof(comm));
		if (comm[0] && strcmp(comm, t->comm) != 0)
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

int collect__thread_frames(struct collector *c, uint32_t pid, uint32_t tid,
			   uint32_t *proc, uint32_t *thread)
{
	struct target *t = targets__get(c->ts, (pid_t)pid);
	int64_t f;

	if (!t)
		return -ENOENT;
	f = process_frame(c, t);
	if (f < 0)
		return (int)f;
	*proc = (uint32_t)f;
	*thread = UINT32_MAX;
	if (c->no_threads)
		return 0;
	f = thread_frame(c, t, tid, false);
	if (f < 0)
		return (int)f;
	*thread = (uint32_t)f;
	return 0;
}

const char *collect__thread_name(struct collector *c, uint32_t pid,
				 uint32_t tid, char *buf, size_t len)
{
	struct target *t = targets__get(c->ts, (pid_t)pid);
	const char *name = NULL;
	uint32_t id;

	if (!t || c->no_threads)
		return NULL;
	id = python_thread_name(c, t, tid);
	if (id)
		name = profile__string(c->prof, id);
	else if (tid == pid)
		name = "MainThread";
	if (!name)
		return NULL;
	snprintf(buf, len, "%s", name);
	return buf;
}

static uint64_t pending_key(uint32_t pid, uint32_t tid)
{
	return (uint64_t)pid << 32 | tid;
}

void collect__on_new_thread(uint32_t pid, uint32_t tid, uint64_t thread_id,
			    void *arg)
{
	struct collector *c = arg;
	struct target *t = targets__get(c->ts, (pid_t)pid);
	uint64_t id;

	(void)thread_id; /* names are kept by tid: see read_names() */
	if (!t || c->no_threads || hashmap__get(&t->names, tid, &id))
		return;
	/* Read names now, while a short-lived thread is still registered;
	 * again later if it was not yet (collect__retry_names). */
	if (names_stale(t))
		read_names(c, t);
	if (!hashmap__get(&t->names, tid, &id))
		hashmap__set(&c->pending, pending_key(pid, tid),
			     (uint64_t)(clock__now() * 1000) + 1);
}

bool collect__names_pending(const struct collector *c)
{
	return c->pending.len > 0;
}

void collect__retry_names(struct collector *c)
{
	struct hashmap keep = { 0 };
	double now = clock__now();
	uint64_t id;

	if (!c->pending.len || now - c->names_retried_at < NAMES_MIN_PERIOD)
		return;
	c->names_retried_at = now;

	for (size_t i = 0; i < c->pending.cap; i++) {
		uint64_t k = c->pending.keys[i];
		uint32_t pid = (uint32_t)(k >> 32), tid = (uint32_t)k;
		double since = (double)(c->pending.vals[i] - 1) / 1000;
		struct target *t;

		if (!k)
			continue;
		t = targets__get(c->ts, (pid_t)pid);
		/* Given up on: its process or itself is gone, or it never
		 * registered with threading (a thread _thread started). */
		if (!t || t->gone || now - since > NAMES_PENDING_MAX ||
		    !proc__has_thread((pid_t)pid, (pid_t)tid))
			continue;
		if (!hashmap__get(&t->names, tid, &id) && names_stale(t))
			read_names(c, t);
		if (!hashmap__get(&t->names, tid, &id))
			hashmap__set(&keep, k, c->pending.vals[i]);
	}
	hashmap__free(&c->pending);
	c->pending = keep;
}

static int64_t python_frame(struct collector *c, struct target *t,
			    const struct py_frame *pf)
{
	const struct py_code *code;
	uint32_t name, file;
	int64_t id;

	code = python__code(&t->py, pf->code, pf->fingerprint);
	if (!code)
		return -ENOMEM;
	if (!code->ok) {
		c->unknown_frames++;
		return marker(c, "[unknown]");
	}
	name = profile__intern_str(c->prof, code->name);
	file = profile__intern_str(c->prof, code->filename);
	if (c->sources)
		sources__read_pid(c->sources, t->pid, code->filename);
	id = profile__frame(c->prof, PF_PYTHON, name, file,
			    python__line(&t->py, code, pf->lasti));
	if (id >= 0 && profile__set_first_line(c->prof, (uint32_t)id,
					       (int32_t)code->firstlineno))
		return -ENOMEM;
	return id;
}

int64_t collect__python_frame(struct collector *c, struct target *t,
			      const struct py_frame *pf)
{
	return python_frame(c, t, pf);
}

int64_t collect__marker(struct collector *c, const char *text)
{
	return marker(c, text);
}

void collect__on_new_seg(uint32_t pid, const struct py_seg *seg, void *arg)
{
	struct collector *c = arg;
	struct target *t = targets__get(c->ts, (pid_t)pid);

	if (!t)
		return;
	if (c->async)
		asyncio__new_stack(c->async, t->pid);
	for (uint32_t i = 0; i < seg->nframes && i < PY_SEG_FRAMES; i++) {
		const struct py_code *code;

		/* --async: a task is named while it lives (and its first
		 * stack is new), not only at the drain. */
		if (seg->frames[i].fingerprint & PY_FRAME_F_TASK) {
			if (c->async)
				asyncio__task_frames(c->async, c, t,
						     seg->frames[i].code,
						     seg->frames[i].fingerprint,
						     c->stack,
						     ASYNC_FRAMES_MAX);
			continue;
		}
		code = python__code(&t->py, seg->frames[i].code,
				    seg->frames[i].fingerprint);

		/* The heatmap's source, while the process still runs. */
		if (c->sources && code && code->ok)
			sources__read_pid(c->sources, t->pid, code->filename);
	}
}

/* ---- The stack builder both paths share ---- */

static const char *const lost_names[] = COLLECT_LOST_NAMES;
_Static_assert(sizeof(lost_names) / sizeof(*lost_names) == COLLECT_LOST__MAX,
	       "COLLECT_LOST_NAMES");

static void lose(struct collector *c, enum collect_lost why, uint64_t count)
{
	c->lost[why] += count;
}

/* The reason a sample is lost when building or adding it failed with err:
 * -E2BIG, too many frames; anything else, the profile could not grow. */
static enum collect_lost lost_reason(int err)
{
	return err == -E2BIG ? COLLECT_LOST_TOO_DEEP :
			       COLLECT_LOST_PROFILE_FULL;
}

/* A stack being built, root first, in c->stack.  The first failure sticks
 * in err and the rest is skipped: the sample is lost then. */
struct build {
	struct collector *c;
	uint32_t n;
	int err; /* -E2BIG (c->stack is full), or -ENOMEM */
};

static void push(struct build *b, int64_t f)
{
	if (b->err)
		return;
	if (f < 0)
		b->err = (int)f;
	else if (b->n >= b->c->stack_max)
		b->err = -E2BIG;
	else
		b->c->stack[b->n++] = (uint32_t)f;
}

static void push_marker(struct build *b, const char *text)
{
	if (!b->err)
		push(b, marker(b->c, text));
}

static void push_python(struct build *b, struct target *t,
			const struct py_frame *pf)
{
	const struct py_code *code;

	if (b->err)
		return;
	/* A frame of the runtime's (3.13's __init__ check) is left out:
	 * the caller calls the class's __init__. */
	code = python__code(&t->py, pf->code, pf->fingerprint);
	if (code && code->ok && code->shim)
		return;
	push(b, python_frame(b->c, t, pf));
}

/* What stands where the root frames of a Python stack would be when the
 * walk, which starts at the leaf, did not reach them; NULL if it did. */
static const char *root_marker(uint32_t flags)
{
	if (flags & SAMPLE_F_TRUNCATED)
		return "[truncated]";
	if (flags & SAMPLE_F_CYCLE)
		return "[frame chain loops]";
	if (flags & SAMPLE_F_PARTIAL)
		return "[partial stack]";
	return NULL;
}

/* Why a sample has no Python frame. */
static const char *no_python_marker(uint32_t flags)
{
	if (flags & SAMPLE_F_EXITING)
		return "[exiting]";
	if (flags & SAMPLE_F_NO_TSTATE)
		return "[no Python thread state]";
	if (flags & SAMPLE_F_NO_RUNTIME)
		return "[interpreter not readable]";
	/* Before Py_Initialize made the interpreter (the dynamic loader,
	 * the runtime's own set-up), and after Py_Finalize removed it. */
	if (flags & SAMPLE_F_NO_INTERP)
		return "[interpreter starting]";
	if (flags & SAMPLE_F_INTERP_GONE)
		return "[interpreter finished]";
	if (flags & SAMPLE_F_UNRECOGNISED)
		return "[not yet recognised]";
	if (flags & SAMPLE_F_BAD_CONFIG)
		return "[bad config]";
	if (flags & SAMPLE_F_PARTIAL)
		return "[unreadable frame]";
	if (flags & SAMPLE_F_ASLEEP_AT_START)
		return "[asleep since the start]";
	return "[no Python frame]";
}

/* ---- issue 23: asyncio tasks (--async) ---- */

/* Takes the task pseudo-frame (SAMPLE_F_TASK) off the root end of s's
 * frames, into s->task. */
static void split_task(struct collect_sample *s)
{
	const struct py_frame *f;

	if (!(s->flags & SAMPLE_F_TASK) || !s->npy)
		return;
	f = &s->py[s->npy - 1];
	if (!(f->fingerprint & PY_FRAME_F_TASK))
		return;
	s->task = f->code;
	s->task_fp = f->fingerprint;
	s->task_depth = f->lasti;
	s->npy--;
}

/* How many of s's Python frames, from the leaf, are its task's. */
static uint32_t task_split(const struct collect_sample *s)
{
	if (s->task_depth >= 0)
		return (uint32_t)s->task_depth < s->npy ?
			       (uint32_t)s->task_depth :
			       s->npy;
	/* Its coroutine's frame was not met: the stack was cut before it
	 * (all of them are the task's), or the task was between two steps
	 * of its coroutine (none is). */
	return root_marker(s->flags) ? s->npy : 0;
}

/* The task frames of s: its awaiters, then `Task-NAME`. */
static void push_task(struct build *b, const struct collect_sample *s)
{
	struct collector *c = b->c;
	int n;

	if (b->err || !c->async)
		return;
	if (b->n + ASYNC_FRAMES_MAX > c->stack_max) {
		b->err = -E2BIG;
		return;
	}
	n = asyncio__task_frames(c->async, c, s->t, s->task, s->task_fp,
				 c->stack + b->n, ASYNC_FRAMES_MAX);
	if (n < 0)
		b->err = n;
	else
		b->n += (uint32_t)n;
}
/* ---- end of issue 23 ---- */

/* The Python frames, or with --native the merged frames, root first; an
 * asyncio task's frames go right above its coroutine's frames. */
static void push_frames(struct build *b, const struct collect_sample *s)
{
	const struct collect_native *nat = s->nat;
	uint32_t split = s->task ? task_split(s) : 0;
	bool task_pushed = !s->task;

	if (!nat) {
		for (uint32_t i = s->npy; i-- > 0;) {
			if (!task_pushed && i + 1 == split) {
				push_task(b, s);
				task_pushed = true;
			}
			push_python(b, s->t, &s->py[i]);
		}
		if (!task_pushed)
			push_task(b, s);
		return;
	}
	for (uint32_t i = 0; i < nat->nslots; i++) {
		const struct merge_slot *sl = &nat->slots[i];

		/* An eval-loop frame with no Python frame to put in its
		 * place (the interpreter not yet readable at start-up, no
		 * thread state): it ran Python code that was not read, and
		 * the marker says why, where those frames would be. */
		if (sl->kind == MERGE_NATIVE && !s->npy && nat->eval[sl->idx]) {
			if (!i || nat->slots[i - 1].kind != MERGE_NATIVE ||
			    !nat->eval[nat->slots[i - 1].idx])
				push_marker(b, no_python_marker(s->flags));
			continue;
		}
		if (sl->kind == MERGE_NATIVE) {
			for (uint32_t j = 0; j < nat->nids[sl->idx]; j++)
				push(b, nat->ids[sl->idx][j]);
		} else if (sl->kind == MERGE_PYTHON && nat->have_pyids) {
			push(b, nat->pyids[sl->idx]);
		} else if (sl->kind == MERGE_PYTHON) {
			/* Slots number Python frames from the root. */
			if (!task_pushed && split &&
			    sl->idx == s->npy - split) {
				push_task(b, s);
				task_pushed = true;
			}
			push_python(b, s->t, &s->py[s->npy - 1 - sl->idx]);
		} else {
			push_marker(b, "[native stack truncated]");
		}
	}
	if (!task_pushed)
		push_task(b, s);
}

/* The kernel frames, root first, or the marker of a kernel stack lost. */
static void push_kernel(struct build *b, const struct collect_sample *s)
{
	struct profile *prof = b->c->prof;

	if (s->nkips < 0) {
		push_marker(b, "[kernel stack lost]");
		return;
	}
	for (int i = s->nkips; i-- > 0 && !b->err;) {
		const char *name = ksyms__find(b->c->ksyms, s->kips[i], NULL);

		push(b, profile__frame(prof, PF_KERNEL,
				       profile__intern_str(
					       prof, name ? name : "[unknown]"),
				       0, -1));
	}
}

/* ---- issue 21: the filters and the timeline ---- */

/* Whether thread tid left the CPU of its own accord since its last timed
 * sample: its count of voluntary switches changed. */
static bool slept_since(struct collector *c, uint32_t tid, uint32_t nvcsw)
{
	uint64_t k = (uint64_t)tid | 1ull << 32, prev;
	bool known = hashmap__get(&c->nvcsw, k, &prev);

	/* Bounded: forgetting a thread only costs one "it slept". */
	if (!known && c->nvcsw.len >= (1u << 16))
		hashmap__free(&c->nvcsw);
	hashmap__set(&c->nvcsw, k, (uint64_t)nvcsw + 1);
	return known && prev != (uint64_t)nvcsw + 1;
}

/* Puts the sample or span s, whose stack is idx, on the timeline. */
static int add_timed(struct collector *c, const struct collect_sample *s,
		     size_t idx)
{
	if (s->span_ns) {
		c->timed_spans++;
		return profile__time_span(c->prof, idx, s->tid, s->t_ns,
					  s->t_ns + s->span_ns);
	}
	c->timed_samples++;
	return profile__time_sample(c->prof, idx, s->tid, s->t_ns,
				    slept_since(c, s->tid, s->nvcsw));
}

/* A timed sample or span the filter left out still takes its thread's
 * lane, on the empty stack: the lanes show nothing there, and the box
 * before it ends where it begins. */
static void add_hidden(struct collector *c, const struct collect_sample *s)
{
	size_t idx;

	if (profile__add_idx(c->prof, NULL, 0, 0, &idx) || add_timed(c, s, idx))
		c->timed_lost++;
}

/* The filter's verdict on the built stack (hidden frames removed): true
 * when it is kept. */
static bool filter_keeps(struct collector *c, struct build *b)
{
	int rc;

	if (!c->filter || b->err)
		return true;
	rc = filter__stack(c->filter, c->prof, c->stack, &b->n);
	if (rc < 0)
		b->err = rc;
	return rc != 0;
}

/*
 * Adds the built stack, and puts a timed sample on the timeline; *idx
 * gets the stack.  A timeline that alone could not grow leaves the
 * samples in the profile: those are not lost.
 */
static int add(struct collector *c, const struct build *b,
	       const struct collect_sample *s, size_t *idx)
{
	int rc = profile__add_idx(c->prof, c->stack, b->n, s->count, idx);

	if (!rc && s->timed && add_timed(c, s, *idx))
		c->timed_lost++;
	return rc;
}

/*
 * The filter's verdict on the built stack, then the stack added: 0, 1 when
 * the filter left the sample out (a timed one keeps its lane), or -errno.
 */
static int filter_and_add(struct collector *c, struct build *b,
			  const struct collect_sample *s, size_t *idx)
{
	if (!filter_keeps(c, b)) {
		c->filtered += s->count;
		profile__add_filtered(c->prof, s->count);
		if (s->timed)
			add_hidden(c, s);
		return 1;
	}
	return b->err ?: add(c, b, s, idx);
}

/* ---- end of issue 21 ---- */

/* ---- Samples waiting for their thread's name ---- */

/*
 * Whether a sample of s->tid whose thread has no name yet may wait for it:
 * a live thread that is not the main thread (which is "MainThread" when
 * unnamed) and runs Python, or is young enough to be about to (a new
 * thread's first samples come before its thread state), while the samples
 * waiting stay within their bound.
 */
static bool may_wait(const struct collector *c, const struct collect_sample *s)
{
	double age;

	if ((pid_t)s->tid == s->t->pid || (s->flags & SAMPLE_F_EXITING) ||
	    c->deferred_ids >= DEFER_IDS_MAX || s->t->gone ||
	    !proc__has_thread(s->t->pid, (pid_t)s->tid))
		return false;
	return !(s->flags & SAMPLE_F_NO_TSTATE) ||
	       (proc__age((pid_t)s->tid, &age) == 0 && age < DEFER_MAX);
}

/* Keeps the built stack of s (its thread frame to come) until its thread
 * is named.  0, or -ENOMEM (then it is added now, with a stand-in name). */
static int defer(struct collector *c, const struct build *b,
		 const struct collect_sample *s)
{
	struct collect_deferred *d;
	uint32_t *ids;

	if (grow__reserve((void **)&c->deferred, &c->deferred_cap,
			  c->ndeferred + 1, sizeof(*c->deferred)))
		return -ENOMEM;
	ids = malloc(b->n * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	memcpy(ids, c->stack, b->n * sizeof(*ids));
	d = &c->deferred[c->ndeferred++];
	d->t = s->t;
	d->tid = s->tid;
	d->n = b->n;
	d->ids = ids;
	d->count = s->count;
	d->timed = s->timed;
	d->t_ns = s->t_ns;
	d->span_ns = s->span_ns;
	d->nvcsw = s->nvcsw;
	d->since = clock__now();
	c->deferred_ids += b->n;
	return 0;
}

/*
 * Adds the samples that waited for their thread's name: those whose thread
 * is named now, and with last, or once their thread, its process or their
 * time to wait is over, the others with a stand-in name.  The others wait
 * on.
 */
static void add_deferred(struct collector *c, bool last)
{
	struct collect_deferred *v = c->deferred;
	size_t n = c->ndeferred, kept = 0;
	double now = clock__now();

	c->deferred_ids = 0;
	for (size_t i = 0; i < n; i++) {
		struct build b = { .c = c, .n = v[i].n };
		struct collect_sample s = {
			.t = v[i].t,
			.tid = v[i].tid,
			.count = v[i].count,
			.timed = v[i].timed,
			.t_ns = v[i].t_ns,
			.span_ns = v[i].span_ns,
			.nvcsw = v[i].nvcsw,
		};
		size_t idx;
		int64_t f;
		int rc;

		/* Targets are retired only after a drain in which they were
		 * gone, and this runs before: v[i].t is there. */
		if (!last && !python_thread_name(c, s.t, s.tid) &&
		    now - v[i].since < DEFER_MAX && !s.t->gone &&
		    proc__has_thread(s.t->pid, (pid_t)s.tid)) {
			c->deferred_ids += v[i].n;
			v[kept++] = v[i];
			continue;
		}
		memcpy(c->stack, v[i].ids, v[i].n * sizeof(*c->stack));
		free(v[i].ids);
		f = thread_frame(c, s.t, s.tid, false);
		rc = f < 0 ? (int)f : 0;
		if (!rc) {
			c->stack[1] = (uint32_t)f;
			rc = filter_and_add(c, &b, &s, &idx);
		}
		if (rc < 0)
			lose(c, lost_reason(rc), s.count);
	}
	c->ndeferred = kept;
}

void collect__flush(struct collector *c)
{
	add_deferred(c, true);
}

void collect__new_drain(struct collector *c)
{
	for (size_t i = 0; i < c->ts->n; i++)
		c->ts->v[i]->names_fresh = false;
	/* Kernel stack ids are reused once their buffer is drained. */
	hashmap__free(&c->timed_stacks);
	/* The samples that waited for their thread's name, now that it has
	 * been looked for again. */
	add_deferred(c, false);
}

/* collect__add, with the stack's index in *idx; 1 when the filter left
 * the sample out, 2 when it waits for its thread's name (no index yet). */
static int add_sample(struct collector *c, const struct collect_sample *s,
		      size_t *idx)
{
	const struct collect_native *nat = s->nat;
	struct build b = { .c = c };
	int64_t thread = 0;
	bool deferred = false;
	char leaf[48];
	int rc;

	/* Not part of what was asked for: left out, not lost, and not in the
	 * whole that percentages are of. */
	if (c->only_tid && s->tid != c->only_tid) {
		c->other_threads += s->count;
		return 1;
	}
	push(&b, process_frame(c, s->t));
	if (!c->no_threads) {
		thread = thread_frame(c, s->t, s->tid,
				      !s->no_wait && may_wait(c, s));
		/* A stand-in until the name is known. */
		push(&b, thread == THREAD_FRAME_WAIT ? 0 : thread);
	}
	if (nat && nat->merged == MERGE_MISMATCH)
		push_marker(&b, "[unmerged]");
	if (s->npy && root_marker(s->flags))
		push_marker(&b, root_marker(s->flags));
	push_frames(&b, s);
	/* Native frames say what a thread without Python frames runs; the
	 * marker says why it has none when nothing else would. */
	if (!s->npy && !(nat && nat->nframes) && !s->task_waiting)
		push_marker(&b, no_python_marker(s->flags));
	if (s->native_lost)
		push_marker(&b, "[native stack lost]");
	if (c->ksyms)
		push_kernel(&b, s);
	if (s->flags & SAMPLE_F_OFFCPU)
		push_marker(&b, offcpu__leaf(s->flags, leaf, sizeof(leaf)));
	/* --async, wall mode: a task that was not running. */
	if (s->task_waiting)
		push_marker(&b, "[task waiting]");
	rc = b.err;
	if (!rc && thread == THREAD_FRAME_WAIT) {
		if (defer(c, &b, s) == 0) {
			deferred = true; /* added at the next drain */
			goto counted;
		}
		/* No room to wait: named now, without threading's name. */
		thread = thread_frame(c, s->t, s->tid, false);
		if (thread < 0)
			rc = (int)thread;
		else
			c->stack[1] = (uint32_t)thread;
	}
	if (!rc)
		rc = filter_and_add(c, &b, s, idx);
	if (rc == 1)
		return 1;
	if (rc) {
		lose(c, lost_reason(rc), s->count);
		return rc;
	}
counted:
	if (nat) {
		c->native_samples++;
		c->native_cut += nat->cut;
		c->native_unmerged += nat->merged == MERGE_MISMATCH;
		c->native_frames += nat->nframes;
		c->native_unnamed += nat->unnamed;
	}
	if (s->native_lost)
		c->native_lost += s->count;
	return deferred ? 2 : 0;
}

int collect__add(struct collector *c, const struct collect_sample *s)
{
	size_t idx;
	int rc = add_sample(c, s, &idx);

	return rc > 0 ? 0 : rc;
}

uint64_t collect__lost(const struct collector *c)
{
	uint64_t n = 0;

	for (int i = 0; i < COLLECT_LOST__MAX; i++)
		n += c->lost[i];
	return n;
}

void collect__print_lost(const struct collector *c, FILE *f)
{
	for (int i = 0; i < COLLECT_LOST__MAX; i++)
		if (c->lost[i] || i == COLLECT_LOST_UNRESOLVED ||
		    i == COLLECT_LOST_NO_TARGET)
			fprintf(f, ", %s %" PRIu64, lost_names[i], c->lost[i]);
}

void collect__print_stats(const struct collector *c, FILE *f)
{
	for (int i = 0; i < COLLECT_LOST__MAX; i++)
		fprintf(f, "pyprof-bpf:   lost: %-28s %" PRIu64 "\n",
			lost_names[i], c->lost[i]);
	fprintf(f,
		"pyprof-bpf:   unknown frames %" PRIu64
		", native samples %" PRIu64 " (%" PRIu64 " cut, %" PRIu64
		" unmerged, %" PRIu64 " sent without their stack)\n",
		c->unknown_frames, c->native_samples, c->native_cut,
		c->native_unmerged, c->native_lost);
	if (c->timeline || c->filter)
		fprintf(f,
			"pyprof-bpf:   timeline: %" PRIu64 " samples, %" PRIu64
			" off-CPU spans, %" PRIu64 " not placed, %.0f ns "
			"each to place; filtered out %" PRIu64 " samples\n",
			c->timed_samples, c->timed_spans, c->timed_lost,
			c->timed_samples + c->timed_spans + c->timed_lost ?
				(double)c->timed_ns /
					(double)(c->timed_samples +
						 c->timed_spans +
						 c->timed_lost) :
				0.0,
			c->filtered);
}

/* ---- The two paths: counted samples, and --native records ---- */

int collect__sample(const struct sample_key *key, uint64_t count,
		    const struct py_frame *frames, uint32_t nframes, void *arg)
{
	struct collector *c = arg;
	uint64_t ips[NATIVE_KSTACK_MAX];
	struct collect_sample s = {
		.t = targets__get(c->ts, (pid_t)key->pid),
		.tid = key->tid,
		.flags = key->flags,
		.count = count,
		.py = frames,
		.npy = nframes,
		.native_lost = key->ustack == NATIVE_USTACK_LOST,
		.kips = ips,
	};

	if (c->offcpu) {
		/* Off-CPU counts are ns: in samples from here on. */
		s.count = offcpu__samples(c->offcpu, key, count);
		if (!s.count)
			return 0;
	}
	if (!s.t)
		s.t = targets__adopt(c->ts, (pid_t)key->pid);
	if (frames)
		split_task(&s);
	nframes = s.npy;
	if (!s.t) {
		lose(c, COLLECT_LOST_NO_TARGET, s.count);
	} else if (key->depth && !frames) {
		lose(c, COLLECT_LOST_UNRESOLVED, s.count);
	} else if (nframes > PY_MAX_DEPTH_CAP) {
		lose(c, COLLECT_LOST_TOO_DEEP, s.count);
	} else {
		/* A kernel stack id the sampler could not store (or that is
		 * gone from its map) is a kernel stack lost. */
		if (c->ksyms && key->kstack != -1)
			s.nkips = key->kstack < 0 ?
					  -ENOENT :
					  sampler__kstack(c->bpf, key->kstack,
							  ips,
							  NATIVE_KSTACK_MAX);
		collect__add(c, &s);
	}
	/* Lost samples are counted: the drain goes on. */
	return 0;
}

int collect__set_native(struct collector *c, struct unwinder *unw,
			struct ksyms *ks)
{
	c->unw = unw;
	c->ksyms = ks;
	if (unw && !c->nat) {
		c->nat = calloc(1, sizeof(*c->nat));
		if (!c->nat)
			return -ENOMEM;
		framecache__init(&c->sym_ids, SYM_IDS_MAX);
		framecache__init(&c->py_ids, PY_IDS_MAX);
	}
	return 0;
}

/* A native frame: symbol and the file it is in. */
static int64_t native_frame(struct collector *c, const char *name,
			    const char *module)
{
	uint32_t file = module ? profile__intern_str(c->prof, module) : 0;

	return profile__frame(c->prof, PF_NATIVE,
			      profile__intern_str(c->prof, name), file, -1);
}

/* Symbolises nat->pcs (leaf first) into nat->ids (root first); eval frames
 * marked.  0 or -errno. */
static int native_frames(struct collector *c, pid_t pid)
{
	struct collect_native *nat = c->nat;
	uint32_t nn = nat->nframes;

	nat->unnamed = 0;
	for (uint32_t k = 0; k < nn; k++) {
		uint32_t i = nn - 1 - k, n;
		struct unwind_sym sym;
		const uint32_t *ids;
		int64_t f;

		nat->nids[i] = 0;
		nat->eval[i] = false;
		if (unwinder__sym(c->unw, pid, nat->pcs[k], &sym) ||
		    sym.n == 0) {
			sym.names[0] = "[unknown]";
			sym.n = 1;
			sym.module = NULL;
		}
		nat->eval[i] = native__is_eval(sym.names[0]);
		nat->unnamed += sym.unnamed;
		ids = framecache__get(&c->sym_ids, sym.id, &n);
		if (ids && n <= NATIVE_IDS_PER_FRAME) {
			memcpy(nat->ids[i], ids, n * sizeof(*ids));
			nat->nids[i] = n;
			continue;
		}
		for (uint32_t j = 0; j < sym.n && j < NATIVE_IDS_PER_FRAME;
		     j++) {
			f = native_frame(c, sym.names[j], sym.module);
			if (f < 0)
				return (int)f;
			nat->ids[i][nat->nids[i]++] = (uint32_t)f;
		}
		/* Not kept when out of memory: named again next time. */
		if (sym.id)
			framecache__put(&c->sym_ids, sym.id, nat->ids[i],
					nat->nids[i]);
	}
	return 0;
}

/*
 * The profile ids of the Python frames py (npy, leaf first) into
 * nat->pyids, root first: from the cache, else named and kept.  A stack
 * with a frame whose code could not be read is not kept (it may be read
 * later); its frames are named as the slots meet them.
 */
static void python_ids(struct collector *c, struct target *t, uint64_t stack,
		       const struct py_frame *py, uint32_t npy)
{
	struct collect_native *nat = c->nat;
	uint64_t key = hash64(hash64((uint64_t)t->pid) ^ stack) ^ npy;
	uint64_t unknown = c->unknown_frames;
	const uint32_t *ids;
	uint32_t n;

	nat->have_pyids = false;
	if (!npy)
		return;
	if (c->ts->retired != c->py_ids_retired) {
		framecache__clear(&c->py_ids);
		c->py_ids_retired = c->ts->retired;
	}
	ids = framecache__get(&c->py_ids, key, &n);
	if (ids && n == npy) {
		memcpy(nat->pyids, ids, n * sizeof(*ids));
		nat->have_pyids = true;
		return;
	}
	for (uint32_t i = 0; i < npy; i++) {
		int64_t f = python_frame(c, t, &py[npy - 1 - i]);

		if (f < 0 || c->unknown_frames != unknown) {
			c->unknown_frames = unknown; /* counted again later */
			return;
		}
		nat->pyids[i] = (uint32_t)f;
	}
	nat->have_pyids = true;
	framecache__put(&c->py_ids, key, nat->pyids, npy);
}

/*
 * The native half of ev into c->nat: its user stack unwound and
 * symbolised, and the Python frames py (npy, leaf first) merged in.  An
 * unwind that fails leaves no native frame, not a lost sample.  0, or
 * -E2BIG (too many frames to merge), -ENOMEM.
 */
static int native_half(struct collector *c, struct target *t,
		       const struct native_event *ev, size_t len,
		       const struct py_frame *py, uint32_t npy)
{
	struct collect_native *nat = c->nat;
	struct unwind_sample us = {
		.pid = (pid_t)ev->key.pid,
		.tid = (pid_t)ev->key.tid,
		.regs = (const uint64_t *)ev->regs,
		.stack = (const uint8_t *)ev->stack,
		.stack_len = ev->stack_len,
	};
	int rc;

	if (us.stack_len > NATIVE_STACK_MAX ||
	    us.stack_len > len - offsetof(struct native_event, stack))
		us.stack_len = 0;
	nat->cut = false;
	rc = unwinder__unwind(c->unw, &us, nat->pcs, NATIVE_FRAMES_MAX,
			      &nat->cut);
	nat->nframes = rc > 0 ? (uint32_t)rc : 0;
	if (rc <= 0)
		nat->cut = true;
	rc = native_frames(c, us.pid);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < npy; i++)
		nat->py[i] = py[npy - 1 - i];
	rc = native__merge(nat->eval, nat->nframes, nat->py, npy,
			   t->py.layout.frame_kind == PY_FRAME_OBJECT, nat->cut,
			   nat->slots, sizeof(nat->slots) / sizeof(*nat->slots),
			   &nat->nslots);
	if (rc < 0) /* -ENOSPC: more slots than frames, never */
		return -E2BIG;
	nat->merged = rc;
	return 0;
}

void collect__on_native(const struct native_event *ev, size_t len, void *arg)
{
	struct collector *c = arg;
	struct collect_sample s = { .count = 1 };
	const struct py_frame *frames;
	enum collect_lost why;
	int rc;

	if (len < offsetof(struct native_event, stack)) {
		why = COLLECT_LOST_NATIVE_SHORT;
		goto lost;
	}
	if (!c->nat || !c->unw) {
		why = COLLECT_LOST_NATIVE_OFF;
		goto lost;
	}
	s.t = targets__get(c->ts, (pid_t)ev->key.pid) ?:
		      targets__adopt(c->ts, (pid_t)ev->key.pid);
	if (!s.t) {
		why = COLLECT_LOST_NO_TARGET;
		goto lost;
	}
	/* Unwinding and symbolising may fall behind the sampler by more than
	 * a short thread lives, and its announcement with them: names are
	 * read again every NAMES_REFRESH_PERIOD while the samples come. */
	if (!c->no_threads &&
	    clock__now() - s.t->names_read_at >= NAMES_REFRESH_PERIOD)
		read_names(c, s.t);
	rc = sampler__py_frames(c->bpf, &ev->key, &frames);
	/* One more: --async's task pseudo-frame, taken off below. */
	if (rc < 0 || rc > PY_MAX_DEPTH_CAP + 1) {
		why = rc < 0 ? COLLECT_LOST_UNRESOLVED : COLLECT_LOST_TOO_DEEP;
		goto lost;
	}
	s.py = frames;
	s.npy = (uint32_t)rc;
	s.flags = ev->key.flags;
	split_task(&s);
	rc = native_half(c, s.t, ev, len, frames, s.npy);
	if (rc) {
		why = lost_reason(rc);
		goto lost;
	}
	python_ids(c, s.t, ev->key.stack_id, frames, s.npy);
	s.tid = ev->key.tid;
	s.flags = ev->key.flags;
	/* The timeline: when, and the thread's voluntary switches. */
	s.timed = c->timeline && ev->hdr.key;
	s.t_ns = ev->hdr.key;
	s.nvcsw = ev->hdr.pad;
	s.nat = c->nat;
	s.kips = (const uint64_t *)ev->kips;
	s.nkips = ev->nkips < NATIVE_KSTACK_MAX ? (int)ev->nkips :
						  NATIVE_KSTACK_MAX;
	collect__add(c, &s); /* counts it lost if it fails */
	return;
lost:
	lose(c, why, 1);
}

/* ---- issue 21: the timeline's samples and spans ---- */

/*
 * The stack of a timed key, built with no samples (the counts come with
 * the drain), into *v: its index + 1, or 0 when the filter left it out.
 * 0, or -errno when it cannot be built (process or segments gone).
 */
static int timed_stack(struct collector *c, const struct timeline_rec *r,
		       uint64_t *v)
{
	uint64_t ips[NATIVE_KSTACK_MAX];
	const struct py_frame *frames = NULL;
	struct collect_sample s = {
		.t = targets__get(c->ts, (pid_t)r->key.pid),
		.tid = r->key.tid,
		.flags = r->key.flags,
		.native_lost = r->key.ustack == NATIVE_USTACK_LOST,
		.kips = ips,
		.no_wait = true, /* the timeline needs its index now */
	};
	size_t idx;
	int n = 0, rc;

	*v = 0;
	if (s.t && r->key.depth)
		n = sampler__py_frames(c->bpf, &r->key, &frames);
	if (!s.t || n < 0 || n > PY_MAX_DEPTH_CAP + 1)
		return -ENOENT;
	s.py = frames;
	s.npy = (uint32_t)n;
	split_task(&s);
	if (c->ksyms && r->key.kstack != -1)
		s.nkips = r->key.kstack < 0 ?
				  -ENOENT :
				  sampler__kstack_of(c->bpf, r->buf,
						     r->key.kstack, ips,
						     NATIVE_KSTACK_MAX);
	rc = add_sample(c, &s, &idx);
	if (rc < 0)
		return rc;
	if (rc == 0)
		*v = (uint64_t)idx + 1;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_timed(struct collector *c, const struct timeline_rec *r);

/* What placing a record costs is measured in place, for -v (two vDSO
 * clock reads, tens of ns, included). */
void collect__on_timed(const struct timeline_rec *r, void *arg)
{
	struct collector *c = arg;
	uint64_t t0;

	if (!c->timeline)
		return;
	t0 = now_ns();
	on_timed(c, r);
	c->timed_ns += now_ns() - t0;
}

static void on_timed(struct collector *c, const struct timeline_rec *r)
{
	struct collect_sample s = {
		.tid = r->key.tid,
		.timed = true,
		.t_ns = r->t_ns,
		.span_ns = r->dur_ns,
		.nvcsw = r->nvcsw,
	};
	/* Kernel stack ids are per buffer. */
	uint64_t h = hash_bytes(&r->key, sizeof(r->key),
				r->key.kstack >= 0 ? r->buf + 1 : 0) |
		     1;
	uint64_t v;

	/* What offcpu__samples drops from the profile stays off the
	 * timeline. */
	if (c->gil_only && !(r->key.flags & SAMPLE_F_GIL_HELD))
		return;
	if (!hashmap__get(&c->timed_stacks, h, &v)) {
		if (timed_stack(c, r, &v)) {
			c->timed_lost++;
			return;
		}
		/* Not remembered on ENOMEM: the next one tries again. */
		hashmap__set(&c->timed_stacks, h, v);
	}
	if (!v) {
		add_hidden(c, &s); /* filtered out */
		return;
	}
	if (add_timed(c, &s, (size_t)(v - 1)))
		c->timed_lost++;
}
/* ---- end of issue 21 ---- */
