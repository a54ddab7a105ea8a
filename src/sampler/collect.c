// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "sampler/collect.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "python/pythread.h"
#include "sampler/offcpu.h"
#include "sampler/proc.h"

#define NAMES_MAX 4096
/* Frames of one profile stack: process, thread, markers, Python frames,
 * native frames with their inlined callees, kernel frames. */
#define COLLECT_STACK_MAX                                                  \
	(PY_MAX_DEPTH_CAP + 8 + NATIVE_FRAMES_MAX * NATIVE_IDS_PER_FRAME + \
	 NATIVE_KSTACK_MAX)
/* A burst of new threads re-reads names at most this often. */
#define NAMES_MIN_PERIOD 0.05

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
	free(c->nat);
	hashmap__free(&c->tid_ids);
	free(c->buf);
	free(c->stack);
}

int collect__set_profile(struct collector *c, struct profile *prof)
{
	size_t n = 0, j = 0;
	uint32_t *ids;

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
				t->names.vals[k] = ids[j++];
	}
	free(ids);
	c->prof = prof;
	return 0;
}

void collect__new_drain(struct collector *c)
{
	c->drain_ns = (uint64_t)(clock__now() * 1e9);
	for (size_t i = 0; i < c->ts->n; i++)
		c->ts->v[i]->names_fresh = false;
	hashmap__free(&c->tid_ids);
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

/* Re-reads threading._active into t->names, at most once per drain. */
static void refresh_names(struct collector *c, struct target *t)
{
	uint64_t interp;
	int n;

	if (t->names_fresh || t->gone)
		return;
	t->names_fresh = true;
	t->names_read_at = clock__now();
	if (python__interp(&t->py, &interp) || !interp)
		return;
	n = pythread__names(&t->py.layout, &t->py.mem, interp, c->buf,
			    NAMES_MAX);
	for (int i = 0; i < n; i++) {
		uint32_t id = profile__intern_str(c->prof, c->buf[i].name);

		if (id && c->buf[i].thread_id)
			hashmap__set(&t->names, c->buf[i].thread_id, id);
	}
}

/* threading's name of thread tid, or NULL. */
static const char *python_thread_name(struct collector *c, struct target *t,
				      uint32_t tid)
{
	uint64_t thread_id, id;

	if (hashmap__get(&c->tid_ids, tid, &thread_id)) {
		thread_id--;
	} else {
		if (sampler__thread_id(c->bpf, tid, &thread_id))
			return NULL;
		hashmap__set(&c->tid_ids, tid, thread_id + 1);
	}
	if (!hashmap__get(&t->names, thread_id, &id)) {
		refresh_names(c, t);
		if (!hashmap__get(&t->names, thread_id, &id))
			return NULL;
	}
	return profile__string(c->prof, (uint32_t)id);
}

/*
 * The thread frame of tid: threading's name when it has one, else
 * "MainThread" for the main thread, else the OS thread name when it differs
 * from the process's, else "tid-N".
 */
static int64_t thread_frame(struct collector *c, struct target *t, uint32_t tid)
{
	char label[PYTHREAD_NAME_MAX + 32], comm[64] = "";
	const char *name = python_thread_name(c, t, tid);

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
	f = thread_frame(c, t, tid);
	if (f < 0)
		return (int)f;
	*thread = (uint32_t)f;
	return 0;
}

const char *collect__thread_name(struct collector *c, uint32_t pid,
				 uint32_t tid, char *buf, size_t len)
{
	struct target *t = targets__get(c->ts, (pid_t)pid);
	const char *name;

	if (!t || c->no_threads)
		return NULL;
	name = python_thread_name(c, t, tid);
	if (!name && tid == pid)
		name = "MainThread";
	if (!name)
		return NULL;
	snprintf(buf, len, "%s", name);
	return buf;
}

static int64_t python_frame(struct collector *c, struct target *t,
			    const struct py_frame *pf)
{
	const struct py_code *code;
	uint32_t name, file;

	code = python__code(&t->py, pf->code,
			    pf->firstlineno & PY_FRAME_LINENO_MASK, false);
	if (!code)
		return -ENOMEM;
	if (!code->ok) {
		c->unknown_frames++;
		return marker(c, "[unknown]");
	}
	name = profile__intern_str(c->prof, code->name);
	file = profile__intern_str(c->prof, code->filename);
	return profile__frame(c->prof, PF_PYTHON, name, file,
			      python__line(&t->py, code, pf->lasti));
}

void collect__on_new_seg(uint32_t pid, const struct py_seg *seg, void *arg)
{
	struct collector *c = arg;
	struct target *t = targets__get(c->ts, (pid_t)pid);

	if (!t)
		return;
	for (uint32_t i = 0; i < seg->nframes && i < PY_SEG_FRAMES; i++)
		python__code(&t->py, seg->frames[i].code,
			     seg->frames[i].firstlineno & PY_FRAME_LINENO_MASK,
			     true);
}

void collect__on_new_thread(uint32_t pid, uint32_t tid, uint64_t thread_id,
			    void *arg)
{
	struct collector *c = arg;
	struct target *t = targets__get(c->ts, (pid_t)pid);

	if (!t || c->no_threads)
		return;
	hashmap__set(&c->tid_ids, tid, thread_id + 1);
	/* Read names now, while a short-lived thread is still registered. */
	if (clock__now() - t->names_read_at >= NAMES_MIN_PERIOD) {
		t->names_fresh = false;
		refresh_names(c, t);
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
	if (!b->err)
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
	if (flags & SAMPLE_F_PARTIAL)
		return "[unreadable frame]";
	if (flags & SAMPLE_F_ASLEEP_AT_START)
		return "[asleep since the start]";
	return "[no Python frame]";
}

/* The Python frames, or with --native the merged frames, root first. */
static void push_frames(struct build *b, const struct collect_sample *s)
{
	const struct collect_native *nat = s->nat;

	if (!nat) {
		for (uint32_t i = s->npy; i-- > 0;)
			push_python(b, s->t, &s->py[i]);
		return;
	}
	for (uint32_t i = 0; i < nat->nslots; i++) {
		const struct merge_slot *sl = &nat->slots[i];

		if (sl->kind == MERGE_NATIVE) {
			for (uint32_t j = 0; j < nat->nids[sl->idx]; j++)
				push(b, nat->ids[sl->idx][j]);
		} else if (sl->kind == MERGE_PYTHON) {
			/* Slots number Python frames from the root. */
			push_python(b, s->t, &s->py[s->npy - 1 - sl->idx]);
		} else {
			push_marker(b, "[native stack truncated]");
		}
	}
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

/* Adds the built stack.  With the timeline, an event that alone could not
 * be stored leaves the samples in the profile: those are not lost. */
static int add(struct collector *c, const struct build *b,
	       const struct collect_sample *s)
{
	uint64_t before = profile__total(c->prof);
	int rc;

	if (!c->timeline)
		return profile__add(c->prof, c->stack, b->n, s->count);
	rc = profile__add_at(c->prof, c->stack, b->n, s->count, s->t_ns);
	return rc && profile__total(c->prof) == before ? rc : 0;
}

int collect__add(struct collector *c, const struct collect_sample *s)
{
	const struct collect_native *nat = s->nat;
	struct build b = { .c = c };
	char leaf[48];
	int rc;

	push(&b, process_frame(c, s->t));
	if (!c->no_threads)
		push(&b, thread_frame(c, s->t, s->tid));
	if (nat && nat->merged == MERGE_MISMATCH)
		push_marker(&b, "[unmerged]");
	if (s->npy && root_marker(s->flags))
		push_marker(&b, root_marker(s->flags));
	push_frames(&b, s);
	/* Native frames say what a thread without Python frames runs; the
	 * marker says why it has none when nothing else would. */
	if (!s->npy && !(nat && nat->nframes))
		push_marker(&b, no_python_marker(s->flags));
	if (s->native_lost)
		push_marker(&b, "[native stack lost]");
	if (c->ksyms)
		push_kernel(&b, s);
	if (s->flags & SAMPLE_F_OFFCPU)
		push_marker(&b, offcpu__leaf(s->flags, leaf, sizeof(leaf)));
	rc = b.err ?: add(c, &b, s);
	if (rc) {
		lose(c, lost_reason(rc), s->count);
		return rc;
	}
	if (nat) {
		c->native_samples++;
		c->native_cut += nat->cut;
		c->native_unmerged += nat->merged == MERGE_MISMATCH;
	}
	if (s->native_lost)
		c->native_lost += s->count;
	return 0;
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
		.t_ns = c->drain_ns,
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

	for (uint32_t k = 0; k < nn; k++) {
		uint32_t i = nn - 1 - k;
		struct unwind_sym sym;
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
		for (uint32_t j = 0; j < sym.n && j < NATIVE_IDS_PER_FRAME;
		     j++) {
			f = native_frame(c, sym.names[j], sym.module);
			if (f < 0)
				return (int)f;
			nat->ids[i][nat->nids[i]++] = (uint32_t)f;
		}
	}
	return 0;
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
		.stack = ev->stack,
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
	s.t = targets__get(c->ts, (pid_t)ev->key.pid);
	if (!s.t) {
		why = COLLECT_LOST_NO_TARGET;
		goto lost;
	}
	rc = sampler__py_frames(c->bpf, &ev->key, &frames);
	if (rc < 0 || rc > PY_MAX_DEPTH_CAP) {
		why = rc < 0 ? COLLECT_LOST_UNRESOLVED : COLLECT_LOST_TOO_DEEP;
		goto lost;
	}
	s.py = frames;
	s.npy = (uint32_t)rc;
	rc = native_half(c, s.t, ev, len, frames, s.npy);
	if (rc) {
		why = lost_reason(rc);
		goto lost;
	}
	s.tid = ev->key.tid;
	s.flags = ev->key.flags;
	s.t_ns = (uint64_t)(clock__now() * 1e9);
	s.nat = c->nat;
	s.kips = (const uint64_t *)ev->kips;
	s.nkips = ev->nkips < NATIVE_KSTACK_MAX ? (int)ev->nkips :
						  NATIVE_KSTACK_MAX;
	collect__add(c, &s); /* counts it lost if it fails */
	return;
lost:
	lose(c, why, 1);
}
