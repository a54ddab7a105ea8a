// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The rolling window (window.h): a ring of intervals, each an array of
 * (dictionary stack, count) pairs, over a dictionary profile that interns
 * every stack once; a running sum over the ring (the whole window, at no
 * cost per query) and the totals since the start, both indexed by
 * dictionary stack.
 */
#include "serve/window.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK_OVER_LIMIT "[over the agent's stack limit]"
#define MARK_MERGED "[smaller stacks merged]"
/* The merged process frame of a process that left the window. */
#define MERGED_PID "*"

struct wentry {
	uint32_t stack; /* in the dictionary */
	uint32_t count;
};

struct wslot {
	uint64_t seq;
	struct window_interval info;
	uint64_t samples;
	struct wentry *e;
	size_t n;
};

/* Counts per dictionary stack: the window's running sum, the totals. */
struct counts {
	uint64_t *sum, *total;
	size_t cap;
};

struct window {
	struct window_opts o;
	struct profile *dict; /* counts unused: see struct counts */
	struct counts c;
	struct wslot *ring; /* o.slots of them */
	unsigned head; /* the oldest */
	unsigned used;
	uint64_t seq; /* the newest interval's number */
	size_t entries;
	size_t over_id; /* the "[over the agent's stack limit]" stack */
	unsigned since_compact; /* pushes since the last compaction */
	size_t compact_at; /* compact when the dictionary reaches this */
	size_t compact_ids_at; /* ... or its frames this */

	double start;
	uint64_t samples, taken, lost;
	uint64_t compactions, early, over_limit;
	uint32_t *buf; /* one stack's frames */
	size_t buf_cap;
};

/* ---- Copying frames and stacks from one profile to another ---- */

struct xlat {
	const struct profile *from;
	struct profile *to;
	uint32_t *map; /* from's frame id -> to's + 1, 0: not yet */
	size_t n;
};

static int xlat__init(struct xlat *x, const struct profile *from,
		      struct profile *to)
{
	x->from = from;
	x->to = to;
	x->n = profile__nframes(from);
	x->map = calloc(x->n ? x->n : 1, sizeof(*x->map));
	return x->map ? 0 : -ENOMEM;
}

static void xlat__fini(struct xlat *x)
{
	free(x->map);
	x->map = NULL;
}

static int64_t intern_copy(struct profile *to, const struct profile *from,
			   uint32_t id)
{
	const char *s = profile__string(from, id);
	uint32_t r;

	if (!s[0])
		return 0;
	r = profile__intern_str(to, s);
	return r ? (int64_t)r : -ENOMEM;
}

/* to's id of from's frame id, interned there if new; or -errno. */
static int64_t xlat__frame(struct xlat *x, uint32_t id)
{
	const struct pframe *f;
	int64_t name, file, r;

	if (id < x->n && x->map[id])
		return (int64_t)x->map[id] - 1;
	f = profile__frame_get(x->from, id);
	if (!f)
		return -EINVAL;
	name = intern_copy(x->to, x->from, f->name);
	file = intern_copy(x->to, x->from, f->file);
	if (name < 0 || file < 0)
		return -ENOMEM;
	r = profile__frame(x->to, (enum pframe_kind)f->kind, (uint32_t)name,
			   (uint32_t)file, f->line);
	if (r >= 0 && r < UINT32_MAX)
		x->map[id] = (uint32_t)r + 1;
	return r;
}

static int reserve_buf(struct window *w, size_t n)
{
	uint32_t *b;

	if (n <= w->buf_cap)
		return 0;
	b = realloc(w->buf, n * sizeof(*b));
	if (!b)
		return -ENOMEM;
	w->buf = b;
	w->buf_cap = n;
	return 0;
}

/* The number of frames of p's stack i. */
static uint32_t stack_len(const struct profile *p, size_t i)
{
	const uint32_t *fr;
	uint64_t count;
	uint32_t n;

	profile__stack(p, i, &fr, &n, &count);
	return n;
}

/* from's stack i, its first max frames (a stack merged keeps only its
 * process's and thread's: the rest are not interned where nothing will
 * use them)
 * translated into w->buf.  Their number, or -errno. */
static int64_t xlat__stack(struct window *w, struct xlat *x, size_t i,
			   uint32_t max, uint64_t *count)
{
	const uint32_t *fr;
	uint32_t n;

	profile__stack(x->from, i, &fr, &n, count);
	if (n > max)
		n = max;
	if (reserve_buf(w, n + 2))
		return -ENOMEM;
	for (uint32_t j = 0; j < n; j++) {
		int64_t f = xlat__frame(x, fr[j]);

		if (f < 0)
			return f;
		w->buf[j] = (uint32_t)f;
	}
	return n;
}

static int64_t marker(struct profile *p, const char *text)
{
	uint32_t name = profile__intern_str(p, text);

	if (!name)
		return -ENOMEM;
	return profile__frame(p, PF_MARKER, name, 0, 0);
}

void window__split_process(const char *label, char *comm, size_t len,
			   pid_t *pid)
{
	const char *dash = strrchr(label, '-');
	size_t n = strlen(label);
	long long v = 0;

	*pid = 0;
	if (dash && dash[1] &&
	    strspn(dash + 1, "0123456789") == strlen(dash + 1) &&
	    strlen(dash + 1) <= 10) {
		v = strtoll(dash + 1, NULL, 10);
		if (v > 0 && v <= INT_MAX) {
			*pid = (pid_t)v;
			n = (size_t)(dash - label);
		}
	} else if (dash && strcmp(dash + 1, MERGED_PID) == 0) {
		n = (size_t)(dash - label);
	}
	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(comm, label, n);
	comm[n] = '\0';
}

/* ---- Counts ---- */

static int counts__reserve(struct counts *c, size_t n)
{
	size_t cap = c->cap ? c->cap : 1024;
	uint64_t *sum, *total;

	if (n <= c->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	sum = realloc(c->sum, cap * sizeof(*sum));
	if (!sum)
		return -ENOMEM;
	c->sum = sum;
	total = realloc(c->total, cap * sizeof(*total));
	if (!total)
		return -ENOMEM;
	c->total = total;
	memset(c->sum + c->cap, 0, (cap - c->cap) * sizeof(*sum));
	memset(c->total + c->cap, 0, (cap - c->cap) * sizeof(*total));
	c->cap = cap;
	return 0;
}

static void counts__free(struct counts *c)
{
	free(c->sum);
	free(c->total);
	memset(c, 0, sizeof(*c));
}

/* ---- The window ---- */

/* A dictionary with the over-limit stack at *over_id. */
static struct profile *dict__new(const struct window *w, size_t *over_id)
{
	struct profile *d = profile__new();
	int64_t f;
	uint32_t id;

	if (!d)
		return NULL;
	f = marker(d, MARK_OVER_LIMIT);
	id = (uint32_t)f;
	if (f < 0 || profile__add_idx(d, &id, 1, 0, over_id)) {
		profile__free(d);
		errno = ENOMEM;
		return NULL;
	}
	profile__set_stacks_max(d, 2 * w->o.max_stacks + 1);
	profile__set_frame_ids_max(d, 2 * w->o.max_frame_ids + 1);
	return d;
}

struct window *window__new(const struct window_opts *o)
{
	struct window *w;

	if (!o->slots || !o->max_stacks || !o->max_entries) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->o = *o;
	if (!w->o.max_frame_ids)
		w->o.max_frame_ids = WINDOW_FRAMES_PER_STACK * o->max_stacks;
	if (!w->o.max_old_stacks || w->o.max_old_stacks > o->max_stacks)
		w->o.max_old_stacks = o->max_stacks;
	w->ring = calloc(o->slots, sizeof(*w->ring));
	w->dict = w->ring ? dict__new(w, &w->over_id) : NULL;
	if (!w->dict || counts__reserve(&w->c, profile__nstacks(w->dict))) {
		window__free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->compact_at = o->max_stacks;
	w->compact_ids_at = w->o.max_frame_ids;
	return w;
}

static struct wslot *slot(const struct window *w, unsigned i)
{
	return &w->ring[(w->head + i) % w->o.slots];
}

void window__free(struct window *w)
{
	if (!w)
		return;
	for (unsigned i = 0; w->ring && i < w->used; i++)
		free(slot(w, i)->e);
	free(w->ring);
	profile__free(w->dict);
	counts__free(&w->c);
	free(w->buf);
	free(w);
}

/* The oldest interval leaves the window. */
static void evict(struct window *w)
{
	struct wslot *s = slot(w, 0);

	for (size_t i = 0; i < s->n; i++)
		w->c.sum[s->e[i].stack] -= s->e[i].count;
	w->entries -= s->n;
	free(s->e);
	memset(s, 0, sizeof(*s));
	w->head = (w->head + 1) % w->o.slots;
	w->used--;
}

/* Appends count samples of stack to the entries (split if over 32 bits). */
static int add_entry(struct wentry **e, size_t *n, size_t *cap, size_t stack,
		     uint64_t count)
{
	while (count) {
		uint32_t c = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;

		if (*n == *cap) {
			size_t nc = *cap ? 2 * *cap : 64;
			struct wentry *ne = realloc(*e, nc * sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			*e = ne;
			*cap = nc;
		}
		(*e)[(*n)++] = (struct wentry){ (uint32_t)stack, c };
		count -= c;
	}
	return 0;
}

/* delta's stacks as entries of the dictionary (interned there). */
static int intern_delta(struct window *w, const struct profile *delta,
			struct wentry **out, size_t *nout, uint64_t *samples)
{
	size_t nst = profile__nstacks(delta), n = 0, cap = 0;
	struct wentry *e = NULL;
	struct xlat x;
	int rc = xlat__init(&x, delta, w->dict);

	*samples = 0;
	for (size_t i = 0; !rc && i < nst; i++) {
		uint64_t count;
		int64_t len = xlat__stack(w, &x, i, UINT32_MAX, &count);
		size_t idx;

		if (len < 0) {
			rc = (int)len;
			break;
		}
		if (!count)
			continue;
		rc = profile__add_idx(w->dict, w->buf, (uint32_t)len, 0, &idx);
		if (rc == -ENOSPC) {
			idx = w->over_id;
			w->over_limit += count;
			rc = 0;
		}
		if (!rc)
			rc = counts__reserve(&w->c, profile__nstacks(w->dict));
		if (!rc)
			rc = add_entry(&e, &n, &cap, idx, count);
		*samples += count;
	}
	xlat__fini(&x);
	if (rc) {
		free(e);
		return rc;
	}
	*out = e;
	*nout = n;
	return 0;
}

int window__push(struct window *w, const struct profile *delta,
		 const struct window_interval *info)
{
	struct wentry *e = NULL;
	uint64_t samples;
	struct wslot *s;
	size_t n = 0;
	int rc;

	rc = intern_delta(w, delta, &e, &n, &samples);
	if (rc)
		return rc;
	if (w->used == w->o.slots)
		evict(w);
	while (w->used && w->entries + n > w->o.max_entries) {
		evict(w);
		w->early++;
	}
	s = slot(w, w->used++);
	s->seq = ++w->seq;
	s->info = *info;
	s->samples = samples;
	s->e = e;
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		w->c.sum[e[i].stack] += e[i].count;
		w->c.total[e[i].stack] += e[i].count;
	}
	w->entries += n;
	w->samples += samples;
	w->taken += info->taken;
	w->lost += info->lost;
	if (w->seq == 1)
		w->start = info->t_end - info->duration;
	if (++w->since_compact >= w->o.slots ||
	    profile__nstacks(w->dict) >= w->compact_at ||
	    profile__frame_ids(w->dict) >= w->compact_ids_at)
		window__compact(w); /* on failure, tried again next time */
	return 0;
}

/* ---- Compaction ---- */

struct cmp_ctx {
	const struct profile *p;
};

static int cmp_count_desc(const void *a, const void *b, void *arg)
{
	const struct profile *p = ((struct cmp_ctx *)arg)->p;
	const uint32_t *fr;
	uint32_t n;
	uint64_t ca, cb;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	profile__stack(p, x, &fr, &n, &ca);
	profile__stack(p, y, &fr, &n, &cb);
	if (ca != cb)
		return ca > cb ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* A frame of kind labelled label in t: its id, or -ENOMEM. */
static int64_t labelled(struct profile *t, enum pframe_kind kind,
			const char *label)
{
	uint32_t name = profile__intern_str(t, label);

	return name ? profile__frame(t, kind, name, 0, 0) : -ENOMEM;
}

/* label with every run of digits made one '*' ("Thread-12 (work)" is
 * "Thread-* (work)"), into buf. */
static void merge_digits(const char *label, char *buf, size_t len)
{
	size_t o = 0;

	for (const char *c = label; *c && o + 1 < len; c++) {
		if (*c >= '0' && *c <= '9') {
			while (c[1] >= '0' && c[1] <= '9')
				c++;
			buf[o++] = '*';
		} else {
			buf[o++] = *c;
		}
	}
	buf[o] = '\0';
}

/*
 * The totals of the stacks no longer in the window, in a profile of their
 * own (counts = totals), merged where names are numbered by the churn of
 * processes and threads: the process frame loses its pid ("comm-*") when
 * that process has no stack in the window, and the thread frame its
 * numbers ("Thread-*", "tid-*"), so that the totals hold what ran, not
 * every pid and thread that came and went.
 */
static struct profile *old_totals(struct window *w, const uint8_t *live_root)
{
	size_t nst = profile__nstacks(w->dict);
	struct profile *t = profile__new();
	struct xlat x;
	int rc;

	if (!t)
		return NULL;
	rc = xlat__init(&x, w->dict, t);
	for (size_t i = 0; !rc && i < nst; i++) {
		const struct pframe *root, *thread;
		const uint32_t *fr;
		char comm[256], label[300];
		uint32_t n;
		uint64_t unused;
		int64_t len, f;
		pid_t pid;

		if (w->c.sum[i] || !w->c.total[i])
			continue;
		profile__stack(w->dict, i, &fr, &n, &unused);
		len = xlat__stack(w, &x, i, UINT32_MAX, &unused);
		if (len < 0) {
			rc = (int)len;
			break;
		}
		root = n ? profile__frame_get(w->dict, fr[0]) : NULL;
		if (!root || root->kind != PF_PROCESS)
			goto add;
		if (!live_root[fr[0]]) {
			window__split_process(profile__string(w->dict,
							      root->name),
					      comm, sizeof(comm), &pid);
			snprintf(label, sizeof(label), "%s-" MERGED_PID, comm);
			f = labelled(t, PF_PROCESS, label);
			if (f < 0) {
				rc = (int)f;
				break;
			}
			w->buf[0] = (uint32_t)f;
		}
		thread = n > 1 ? profile__frame_get(w->dict, fr[1]) : NULL;
		if (thread && thread->kind == PF_THREAD) {
			merge_digits(profile__string(w->dict, thread->name),
				     label, sizeof(label));
			f = labelled(t, PF_THREAD, label);
			if (f < 0) {
				rc = (int)f;
				break;
			}
			w->buf[1] = (uint32_t)f;
		}
add:
		rc = profile__add(t, w->buf, (uint32_t)len, w->c.total[i]);
	}
	xlat__fini(&x);
	if (rc) {
		profile__free(t);
		return NULL;
	}
	return t;
}

/* Whether stack i of p is "ROOT;[smaller stacks merged]". */
static bool is_merged(const struct profile *p, size_t i)
{
	const struct pframe *f;
	const uint32_t *fr;
	uint64_t unused;
	uint32_t n;

	profile__stack(p, i, &fr, &n, &unused);
	f = n ? profile__frame_get(p, fr[n - 1]) : NULL;
	return f && f->kind == PF_MARKER &&
	       strcmp(profile__string(p, f->name), MARK_MERGED) == 0;
}

/* Adds t's stacks to d as totals: the largest budget of them as they are,
 * at most max_old_stacks and their share of the frames, the others as
 * "PROCESS;THREAD;[smaller stacks merged]". */
static int add_old_totals(struct window *w, struct profile *d, struct counts *c,
			  const struct profile *t, size_t budget)
{
	size_t nt = profile__nstacks(t), nmerged = 0, *order, ids = 0;
	size_t ids_max = (size_t)((uint64_t)w->o.max_frame_ids *
				  w->o.max_old_stacks / w->o.max_stacks);
	struct cmp_ctx ctx = { t };
	struct xlat x;
	int rc;

	order = malloc((nt ? nt : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	/* What earlier compactions merged stays merged, first, whatever its
	 * size; the others compete for the budget. */
	for (size_t i = 0; i < nt; i++)
		if (is_merged(t, i))
			order[nmerged++] = i;
	for (size_t i = 0, k = nmerged; i < nt; i++)
		if (!is_merged(t, i))
			order[k++] = i;
	if (budget > w->o.max_old_stacks)
		budget = w->o.max_old_stacks;
	budget += nmerged;
	if (nt > budget)
		qsort_r(order + nmerged, nt - nmerged, sizeof(*order),
			cmp_count_desc, &ctx);
	rc = xlat__init(&x, t, d);
	for (size_t k = 0; !rc && k < nt; k++) {
		uint32_t n = stack_len(t, order[k]);
		/* What was merged stays as it is (3 frames at most). */
		bool merge = k >= nmerged &&
			     (k >= budget ||
			      profile__frame_ids(d) + n > w->o.max_frame_ids ||
			      ids + n > ids_max);
		uint64_t count;
		int64_t len = xlat__stack(w, &x, order[k],
					  merge ? 2 : UINT32_MAX, &count);
		size_t idx;

		if (len < 0) {
			rc = (int)len;
			break;
		}
		if (merge) {
			int64_t m = marker(d, MARK_MERGED);

			if (m < 0) {
				rc = (int)m;
				break;
			}
			w->buf[len++] = (uint32_t)m;
		} else if (!merge) {
			ids += n;
		}
		rc = profile__add_idx(d, w->buf, (uint32_t)len, 0, &idx);
		if (!rc)
			rc = counts__reserve(c, profile__nstacks(d));
		if (!rc)
			c->total[idx] += count;
	}
	xlat__fini(&x);
	free(order);
	return rc;
}

int window__compact(struct window *w)
{
	size_t nst = profile__nstacks(w->dict), over_id, budget;
	uint32_t *remap = malloc((nst ? nst : 1) * sizeof(*remap));
	uint8_t *live_root = calloc(profile__nframes(w->dict) + 1, 1);
	struct counts c = {};
	struct profile *d = NULL, *t = NULL;
	struct xlat x = {};
	int rc = -ENOMEM;

	if (!remap || !live_root)
		goto out;
	d = dict__new(w, &over_id);
	if (!d || counts__reserve(&c, profile__nstacks(d)))
		goto out;
	/* No cap while rebuilding: it holds at most what the old one did. */
	profile__set_stacks_max(d, SIZE_MAX);
	profile__set_frame_ids_max(d, SIZE_MAX);
	rc = xlat__init(&x, w->dict, d);
	/* The window's stacks, exactly. */
	for (size_t i = 0; !rc && i < nst; i++) {
		const uint32_t *fr;
		uint32_t n;
		uint64_t unused;
		int64_t len;
		size_t idx;

		remap[i] = UINT32_MAX;
		if (!w->c.sum[i])
			continue;
		profile__stack(w->dict, i, &fr, &n, &unused);
		if (n)
			live_root[fr[0]] = 1;
		len = xlat__stack(w, &x, i, UINT32_MAX, &unused);
		if (len < 0) {
			rc = (int)len;
			break;
		}
		rc = profile__add_idx(d, w->buf, (uint32_t)len, 0, &idx);
		if (!rc)
			rc = counts__reserve(&c, profile__nstacks(d));
		if (rc)
			break;
		remap[i] = (uint32_t)idx;
		c.sum[idx] += w->c.sum[i];
		c.total[idx] += w->c.total[i];
	}
	xlat__fini(&x);
	if (rc)
		goto out;
	rc = -ENOMEM;
	t = old_totals(w, live_root);
	if (!t)
		goto out;
	/* The over-limit stack is bookkeeping: not counted. */
	budget = w->o.max_stacks + 1 > profile__nstacks(d) ?
			 w->o.max_stacks + 1 - profile__nstacks(d) :
			 0;
	rc = add_old_totals(w, d, &c, t, budget);
	if (rc)
		goto out;

	/* Commit: nothing below fails. */
	for (unsigned i = 0; i < w->used; i++) {
		struct wslot *s = slot(w, i);

		for (size_t k = 0; k < s->n; k++)
			s->e[k].stack = remap[s->e[k].stack];
	}
	profile__set_stacks_max(d, 2 * w->o.max_stacks + 1);
	profile__set_frame_ids_max(d, 2 * w->o.max_frame_ids + 1);
	profile__free(w->dict);
	counts__free(&w->c);
	w->dict = d;
	w->c = c;
	w->over_id = over_id;
	d = NULL;
	memset(&c, 0, sizeof(c));
	w->compactions++;
	w->since_compact = 0;
	w->compact_at = profile__nstacks(w->dict) + w->o.max_stacks / 4;
	if (w->compact_at < w->o.max_stacks)
		w->compact_at = w->o.max_stacks;
	w->compact_ids_at = profile__frame_ids(w->dict) +
			    w->o.max_frame_ids / 4;
	if (w->compact_ids_at < w->o.max_frame_ids)
		w->compact_ids_at = w->o.max_frame_ids;
	rc = 0;
out:
	profile__free(t);
	profile__free(d);
	counts__free(&c);
	free(remap);
	free(live_root);
	if (!rc)
		malloc_trim(0); /* the old dictionary's pages back to the
				   system: RSS follows the bound */
	return rc;
}

/* ---- Queries ---- */

uint64_t window__seq(const struct window *w)
{
	return w->seq;
}

uint64_t window__first_seq(const struct window *w)
{
	return w->used ? slot(w, 0)->seq : 0;
}

void window__stats(const struct window *w, struct window_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->slots = w->used;
	for (unsigned i = 0; i < w->used; i++)
		st->seconds += slot(w, i)->info.duration;
	st->seq = w->seq;
	st->stacks = profile__nstacks(w->dict);
	st->frames = profile__nframes(w->dict);
	st->entries = w->entries;
	st->bytes = profile__bytes(w->dict) +
		    w->c.cap * (sizeof(*w->c.sum) + sizeof(*w->c.total)) +
		    w->o.slots * sizeof(*w->ring) +
		    w->entries * sizeof(struct wentry) +
		    w->buf_cap * sizeof(*w->buf);
	st->samples = w->samples;
	st->taken = w->taken;
	st->lost = w->lost;
	st->compactions = w->compactions;
	st->early = w->early;
	st->over_limit = w->over_limit;
	st->start = w->start;
}

/* Whether dictionary stack i passes q's process filter; dec caches the
 * answer per root frame (0 unknown, 1 yes, 2 no). */
static bool wanted(const struct window *w, const struct window_query *q,
		   size_t i, uint8_t *dec)
{
	const struct pframe *root;
	const uint32_t *fr;
	char comm[256];
	uint64_t unused;
	uint32_t n;
	pid_t pid;

	if (!q->pid && !q->comm)
		return true;
	profile__stack(w->dict, i, &fr, &n, &unused);
	if (!n)
		return false;
	if (dec[fr[0]])
		return dec[fr[0]] == 1;
	root = profile__frame_get(w->dict, fr[0]);
	dec[fr[0]] = 2;
	if (!root || root->kind != PF_PROCESS)
		return false;
	window__split_process(profile__string(w->dict, root->name), comm,
			      sizeof(comm), &pid);
	if ((!q->pid || q->pid == pid) && (!q->comm || !strcmp(q->comm, comm)))
		dec[fr[0]] = 1;
	return dec[fr[0]] == 1;
}

/* The counts q's range covers: w's own arrays, or *tmp made here. */
static int range_counts(struct window *w, const struct window_query *q,
			struct window_result *r, const uint64_t **out,
			uint64_t **tmp)
{
	size_t nst = profile__nstacks(w->dict);
	unsigned from = 0, to = w->used; /* slots [from, to) */

	*tmp = NULL;
	if (q->kind == WINDOW_ALL) {
		r->start = w->start;
		r->duration =
			w->used ? slot(w, w->used - 1)->info.t_end - w->start :
				  0;
		r->taken = w->taken;
		r->lost = w->lost;
		r->first_seq = w->seq ? 1 : 0;
		r->last_seq = w->seq;
		*out = w->c.total;
		return 0;
	}
	if (q->kind == WINDOW_SLOT) {
		uint64_t first = window__first_seq(w);

		if (!w->used || q->seq < first || q->seq > w->seq)
			return -ENOENT;
		from = (unsigned)(q->seq - first);
		to = from + 1;
	} else {
		double have = 0;

		/* The newest intervals while they come nearer to covering
		 * q->seconds (intervals are not all equally long). */
		from = to;
		while (from > 0) {
			double d = slot(w, from - 1)->info.duration;

			if (from < to && have + d / 2 > q->seconds)
				break;
			if (from == to && q->seconds <= 0)
				break;
			have += d;
			from--;
		}
	}
	for (unsigned i = from; i < to; i++) {
		const struct wslot *s = slot(w, i);

		r->duration += s->info.duration;
		r->taken += s->info.taken;
		r->lost += s->info.lost;
	}
	if (from < to) {
		r->start = slot(w, from)->info.t_end -
			   slot(w, from)->info.duration;
		r->first_seq = slot(w, from)->seq;
		r->last_seq = slot(w, to - 1)->seq;
	}
	if (from == 0 && to == w->used) {
		*out = w->c.sum;
		return 0;
	}
	*tmp = calloc(nst ? nst : 1, sizeof(**tmp));
	if (!*tmp)
		return -ENOMEM;
	for (unsigned i = from; i < to; i++) {
		const struct wslot *s = slot(w, i);

		for (size_t k = 0; k < s->n; k++)
			(*tmp)[s->e[k].stack] += s->e[k].count;
	}
	*out = *tmp;
	return 0;
}

struct by_count {
	const uint64_t *counts;
};

static int cmp_by_count(const void *a, const void *b, void *arg)
{
	const uint64_t *c = ((struct by_count *)arg)->counts;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (c[x] != c[y])
		return c[x] > c[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Builds r->prof from the kept stacks: the most sampled as they are, up
 * to q's max_stacks and max_frames; the rest merged per process. */
static int build(struct window *w, const uint64_t *counts, size_t *kept,
		 size_t nkept, const struct window_query *q,
		 struct window_result *r)
{
	struct profile *p = profile__new();
	struct by_count ctx = { counts };
	size_t cap = q->max_stacks, frames = 0;
	struct xlat x;
	int rc;

	if (!p)
		return -ENOMEM;
	for (size_t k = 0; q->max_frames && k < nkept; k++)
		frames += stack_len(w->dict, kept[k]);
	if ((cap && nkept > cap) || frames > q->max_frames)
		qsort_r(kept, nkept, sizeof(*kept), cmp_by_count, &ctx);
	frames = 0;
	rc = xlat__init(&x, w->dict, p);
	for (size_t k = 0; !rc && k < nkept; k++) {
		uint32_t n = stack_len(w->dict, kept[k]);
		bool merge = (cap && k >= cap) ||
			     (q->max_frames && frames + n > q->max_frames);
		uint64_t unused;
		int64_t len = xlat__stack(w, &x, kept[k],
					  merge ? 1 : UINT32_MAX, &unused);

		if (len < 0) {
			rc = (int)len;
			break;
		}
		if (!merge) {
			frames += n;
		} else {
			int64_t m = marker(p, MARK_MERGED);

			if (m < 0) {
				rc = (int)m;
				break;
			}
			len = len ? 2 : 1;
			w->buf[len - 1] = (uint32_t)m;
			r->merged++;
		}
		rc = profile__add(p, w->buf, (uint32_t)len, counts[kept[k]]);
	}
	xlat__fini(&x);
	if (rc) {
		profile__free(p);
		return rc;
	}
	r->prof = p;
	r->samples = profile__total(p);
	return 0;
}

int window__query(struct window *w, const struct window_query *q,
		  struct window_result *r)
{
	size_t nst = profile__nstacks(w->dict), nkept = 0, *kept = NULL;
	const uint64_t *counts;
	uint8_t *dec = NULL;
	uint64_t *tmp;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = range_counts(w, q, r, &counts, &tmp);
	if (rc)
		return rc;
	if (w->used)
		r->processes = slot(w, w->used - 1)->info.processes;
	kept = malloc((nst ? nst : 1) * sizeof(*kept));
	dec = calloc(profile__nframes(w->dict) + 1, 1);
	if (!kept || !dec) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nst; i++)
		if (counts[i] && wanted(w, q, i, dec))
			kept[nkept++] = i;
	rc = build(w, counts, kept, nkept, q, r);
out:
	free(kept);
	free(dec);
	free(tmp);
	return rc;
}
