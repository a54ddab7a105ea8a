// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "sampler/collect.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "python/pythread.h"
#include "sampler/offcpu.h"
#include "sampler/proc.h"

#define NAMES_MAX 4096
/* Physical native frames unwound per sample. */
#define NATIVE_FRAMES_MAX 256
#define NATIVE_IDS_PER_FRAME (UNWIND_INLINE_MAX + 1)
/* Frames of one profile stack: process, thread, markers, Python frames,
 * native frames with their inlined callees, kernel frames. */
#define COLLECT_STACK_MAX                                                  \
	(PY_MAX_DEPTH_CAP + 8 + NATIVE_FRAMES_MAX * NATIVE_IDS_PER_FRAME + \
	 NATIVE_KSTACK_MAX)

/* Scratch for one native sample. */
struct collect_native {
	struct py_frame py[PY_MAX_DEPTH_CAP]; /* root first */
	uint64_t pcs[NATIVE_FRAMES_MAX]; /* leaf first */
	bool eval[NATIVE_FRAMES_MAX]; /* root first, like the rest */
	uint32_t ids[NATIVE_FRAMES_MAX][NATIVE_IDS_PER_FRAME];
	uint32_t nids[NATIVE_FRAMES_MAX];
	struct merge_slot slots[PY_MAX_DEPTH_CAP + NATIVE_FRAMES_MAX + 1];
};
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

/* Appends kernel frames for ips (leaf first), root first. 0 or -errno. */
static int kernel_frames(struct collector *c, const uint64_t *ips,
			 uint32_t nips, uint32_t *stack, uint32_t *n)
{
	for (uint32_t i = nips; i-- > 0;) {
		const char *name = ksyms__find(c->ksyms, ips[i], NULL);
		int64_t f;

		f = profile__frame(
			c->prof, PF_KERNEL,
			profile__intern_str(c->prof, name ? name : "[unknown]"),
			0, -1);
		if (f < 0)
			return (int)f;
		stack[(*n)++] = (uint32_t)f;
	}
	return 0;
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

int collect__sample(const struct sample_key *key, uint64_t count,
		    const struct py_frame *frames, uint32_t nframes, void *arg)
{
	struct collector *c = arg;
	struct target *t = targets__get(c->ts, (pid_t)key->pid);
	uint32_t *stack = c->stack, n = 0;
	int64_t f;

	if (c->offcpu) {
		/* Off-CPU counts are ns: in samples from here on. */
		count = offcpu__samples(c->offcpu, key, count);
		if (!count)
			return 0;
	}
	if (!t) {
		c->no_target += count;
		return 0;
	}
	if (key->depth && !frames) {
		c->unresolved += count;
		return 0;
	}
	if (nframes > PY_MAX_DEPTH_CAP)
		return -EINVAL;
	f = process_frame(c, t);
	if (f < 0)
		return (int)f;
	stack[n++] = (uint32_t)f;
	if (!c->no_threads) {
		f = thread_frame(c, t, key->tid);
		if (f < 0)
			return (int)f;
		stack[n++] = (uint32_t)f;
	}
	if (nframes && key->flags & (SAMPLE_F_TRUNCATED | SAMPLE_F_PARTIAL |
				     SAMPLE_F_CYCLE)) {
		/* The walk starts at the leaf, so what is missing is the root
		 * side: say so where the root frames would be. */
		f = marker(c, key->flags & SAMPLE_F_TRUNCATED ? "[truncated]" :
			      key->flags & SAMPLE_F_CYCLE ?
							"[frame chain loops]" :
							"[partial stack]");
		if (f < 0)
			return (int)f;
		stack[n++] = (uint32_t)f;
	}
	for (uint32_t i = nframes; i-- > 0;) {
		f = python_frame(c, t, &frames[i]);
		if (f < 0)
			return (int)f;
		stack[n++] = (uint32_t)f;
	}
	if (nframes == 0) {
		const char *why = "[no Python frame]";

		if (key->flags & SAMPLE_F_EXITING)
			why = "[exiting]";
		else if (key->flags & SAMPLE_F_NO_TSTATE)
			why = "[no Python thread state]";
		else if (key->flags & SAMPLE_F_NO_RUNTIME)
			why = "[interpreter not readable]";
		else if (key->flags & SAMPLE_F_BAD_CONFIG)
			why = "[bad config]";
		else if (key->flags & SAMPLE_F_PARTIAL)
			why = "[unreadable frame]";
		else if (key->flags & SAMPLE_F_ASLEEP_AT_START)
			why = "[asleep since the start]";
		f = marker(c, why);
		if (f < 0)
			return (int)f;
		stack[n++] = (uint32_t)f;
	}
	if (key->ustack == NATIVE_USTACK_LOST) {
		c->native_lost += count;
		f = marker(c, "[native stack lost]");
		if (f < 0)
			return (int)f;
		stack[n++] = (uint32_t)f;
	}
	if (c->ksyms && key->kstack != -1) {
		uint64_t ips[NATIVE_KSTACK_MAX];
		int nk = -ENOENT;

		if (key->kstack >= 0)
			nk = sampler__kstack(c->bpf, key->kstack, ips,
					      NATIVE_KSTACK_MAX);
		if (nk < 0) { /* map full, collided, or gone */
			f = marker(c, "[kernel stack lost]");
			if (f < 0)
				return (int)f;
			stack[n++] = (uint32_t)f;
		} else {
			f = kernel_frames(c, ips, (uint32_t)nk, stack, &n);
			if (f < 0)
				return (int)f;
		}
	}
	if (key->flags & SAMPLE_F_OFFCPU) {
		char leaf[48];

		f = marker(c, offcpu__leaf(key->flags, leaf, sizeof(leaf)));
		if (f < 0)
			return (int)f;
		stack[n++] = (uint32_t)f;
	}
	if (c->timeline)
		return profile__add_at(c->prof, stack, n, count, c->drain_ns);
	return profile__add(c->prof, stack, n, count);
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

/* Symbolises pcs (leaf first) into nat->ids (root first); eval frames
 * marked.  0 or -errno. */
static int native_frames(struct collector *c, pid_t pid, uint32_t nn)
{
	struct collect_native *nat = c->nat;

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

void collect__on_native(const struct native_event *ev, size_t len, void *arg)
{
	struct collector *c = arg;
	struct collect_native *nat = c->nat;
	const struct sample_key *key = &ev->key;
	struct target *t = targets__get(c->ts, (pid_t)key->pid);
	uint32_t *stack = c->stack, n = 0, nslots = 0, np, nn;
	struct unwind_sample us;
	const struct py_frame *frames;
	bool cut = false;
	int64_t f;
	int rc;

	if (!nat || !c->unw)
		return;
	if (!t) {
		c->no_target++;
		return;
	}
	rc = sampler__py_frames(c->bpf, key, &frames);
	if (rc < 0 || rc > PY_MAX_DEPTH_CAP) {
		c->unresolved++;
		return;
	}
	np = (uint32_t)rc;
	for (uint32_t i = 0; i < np; i++)
		nat->py[i] = frames[np - 1 - i];

	us.pid = (pid_t)key->pid;
	us.tid = (pid_t)key->tid;
	us.regs = (const uint64_t *)ev->regs;
	us.stack = (const uint8_t *)ev->stack;
	us.stack_len = ev->stack_len;
	if (us.stack_len > NATIVE_STACK_MAX ||
	    us.stack_len > len - offsetof(struct native_event, stack))
		us.stack_len = 0;
	rc = unwinder__unwind(c->unw, &us, nat->pcs, NATIVE_FRAMES_MAX, &cut);
	nn = rc > 0 ? (uint32_t)rc : 0;
	if (rc <= 0)
		cut = true;
	if (native_frames(c, us.pid, nn))
		return;
	rc = native__merge(nat->eval, nn, nat->py, np,
			   t->py.layout.frame_kind == PY_FRAME_OBJECT, cut,
			   nat->slots, PY_MAX_DEPTH_CAP + NATIVE_FRAMES_MAX + 1,
			   &nslots);
	if (rc < 0)
		return;
	c->native_samples++;
	c->native_cut += cut;

	f = process_frame(c, t);
	if (f < 0)
		return;
	stack[n++] = (uint32_t)f;
	if (!c->no_threads) {
		f = thread_frame(c, t, key->tid);
		if (f < 0)
			return;
		stack[n++] = (uint32_t)f;
	}
	if (rc == MERGE_MISMATCH) {
		c->native_unmerged++;
		f = marker(c, "[unmerged]");
		if (f < 0)
			return;
		stack[n++] = (uint32_t)f;
	}
	if (np && key->flags & (SAMPLE_F_TRUNCATED | SAMPLE_F_PARTIAL)) {
		f = marker(c, key->flags & SAMPLE_F_TRUNCATED ?
				      "[truncated]" :
				      "[partial stack]");
		if (f < 0)
			return;
		stack[n++] = (uint32_t)f;
	}
	for (uint32_t i = 0; i < nslots; i++) {
		const struct merge_slot *sl = &nat->slots[i];

		switch (sl->kind) {
		case MERGE_NATIVE:
			for (uint32_t j = 0; j < nat->nids[sl->idx]; j++)
				stack[n++] = nat->ids[sl->idx][j];
			continue;
		case MERGE_PYTHON:
			f = python_frame(c, t, &nat->py[sl->idx]);
			break;
		default:
			f = marker(c, "[native stack truncated]");
			break;
		}
		if (f < 0)
			return;
		stack[n++] = (uint32_t)f;
	}
	if (c->ksyms &&
	    kernel_frames(c, (const uint64_t *)ev->kips,
			  ev->nkips < NATIVE_KSTACK_MAX ? ev->nkips :
							  NATIVE_KSTACK_MAX,
			  stack, &n) < 0)
		return;
	if (c->timeline)
		profile__add_at(c->prof, stack, n, 1,
				(uint64_t)(clock__now() * 1e9));
	else
		profile__add(c->prof, stack, n, 1);
}
