// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "ui/top_model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "lib/hashmap.h"
#include "out/folded.h"

#define NONE UINT32_MAX
#define LEAF_CUT 0x80000000u /* the stack did not fit in the tree */
#define ROOT 0 /* the tree's invisible root node */
#define OTHER_ROW 0 /* "[other functions]" */

const char *const top_sort_names[TOP_SORT__MAX] = {
	[TOP_SORT_OWN_PCT] = "OWN%",  [TOP_SORT_TOTAL_PCT] = "TOTAL%",
	[TOP_SORT_OWN] = "OWN",	      [TOP_SORT_TOTAL] = "TOTAL",
	[TOP_SORT_NAME] = "FUNCTION",
};

enum { OPEN_AUTO, OPEN_YES, OPEN_NO };

struct row {
	uint32_t frame; /* the first frame met of this function or line */
	uint64_t own, total;
	double own_now, total_now;
	uint64_t stamp; /* the last stack that counted it in total */
};

struct node {
	uint32_t parent, row;
	uint32_t child, next; /* first child, next sibling; NONE if none */
	uint32_t depth;
	uint8_t open; /* OPEN_* */
	bool shown_open; /* as last shown */
	uint64_t own, total;
	double own_now, total_now;
};

/* One aggregation: per function or per line. */
struct agg {
	bool by_line;
	uint32_t *frame_row; /* profile frame id -> row, NONE if not yet */
	size_t frame_row_cap;
	struct row *rows;
	size_t nrows, rows_cap;
	struct hashmap row_index;
	struct node *nodes;
	size_t nnodes, nodes_cap;
	struct hashmap node_index;
	bool tree_full;
	bool flat_dirty, tree_dirty;
};

struct sstate {
	uint64_t seen; /* count at the last update */
	uint64_t base; /* count at the last reset */
	double now;
	uint32_t thread;
	uint32_t task; /* its task slot (--async), NONE if none */
	uint32_t leaf[2]; /* tree node per aggregation, NONE if not built */
};

struct thr {
	uint32_t proc, thread; /* frames, TOP_NO_FRAME if absent */
};

/* An asyncio task (--async): its process frame and its task frame. */
struct tsk {
	uint32_t proc, task; /* frames, TOP_NO_FRAME if absent */
};

struct top_model {
	const struct profile *p;
	struct sstate *ss;
	size_t nss, ss_cap;

	struct thr *threads;
	size_t nthreads, threads_cap;
	size_t named; /* threads with a thread frame */
	struct hashmap thread_index;
	bool other_threads; /* the last slot holds every thread past the cap */
	bool multi_proc;
	int filter; /* thread index or TOP_ALL_THREADS */
	/* --async (issue 23): tasks, each a (process frame, innermost task
	 * frame) pair, in order of first appearance; the filter may be one
	 * (filter_task: filter is then a task slot). */
	struct tsk *tasks;
	size_t ntasks, tasks_cap;
	struct hashmap task_index;
	bool other_tasks;
	bool filter_task;

	struct agg agg[2]; /* [0] per function, [1] per line */
	int mode;

	uint64_t sum;
	double sum_now;
	bool sums_dirty;

	/* issue 21: the `/` pattern, and samples the filters left out */
	char *match;
	uint8_t *keep; /* tree: node matches or leads to a match */
	size_t keep_cap;
	uint64_t out_seen, out_base;
	double out_now;

	uint64_t gen;
	struct top_item *items, *stack, *tmp;
	size_t items_cap, stack_cap, tmp_cap;
};

static uint64_t next_key(uint64_t k)
{
	k = hash64(k + 0x9e3779b97f4a7c15ull);
	return k ? k : 1;
}

static void agg_free(struct agg *a)
{
	free(a->frame_row);
	free(a->rows);
	hashmap__free(&a->row_index);
	free(a->nodes);
	hashmap__free(&a->node_index);
	memset(a, 0, sizeof(*a));
}

/* Row 0 ("[other functions]") and the tree's root are always there. */
static int agg_init(struct agg *a, bool by_line)
{
	memset(a, 0, sizeof(*a));
	a->by_line = by_line;
	if (grow__reserve((void **)&a->rows, &a->rows_cap, 1,
			  sizeof(*a->rows)) ||
	    grow__reserve((void **)&a->nodes, &a->nodes_cap, 1,
			  sizeof(*a->nodes)))
		return -ENOMEM;
	memset(&a->rows[OTHER_ROW], 0, sizeof(a->rows[0]));
	a->rows[OTHER_ROW].frame = TOP_NO_FRAME;
	a->nrows = 1;
	memset(&a->nodes[ROOT], 0, sizeof(a->nodes[0]));
	a->nodes[ROOT].parent = NONE;
	a->nodes[ROOT].row = NONE;
	a->nodes[ROOT].child = NONE;
	a->nodes[ROOT].next = NONE;
	a->nnodes = 1;
	a->flat_dirty = a->tree_dirty = true;
	return 0;
}

struct top_model *top_model__new(void)
{
	struct top_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->filter = TOP_ALL_THREADS;
	m->sums_dirty = true;
	if (agg_init(&m->agg[0], false) || agg_init(&m->agg[1], true)) {
		top_model__free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

void top_model__free(struct top_model *m)
{
	if (!m)
		return;
	free(m->ss);
	free(m->threads);
	hashmap__free(&m->thread_index);
	free(m->tasks);
	hashmap__free(&m->task_index);
	agg_free(&m->agg[0]);
	agg_free(&m->agg[1]);
	free(m->items);
	free(m->stack);
	free(m->tmp);
	free(m->match);
	free(m->keep);
	free(m);
}

static void mark_dirty(struct top_model *m)
{
	m->sums_dirty = true;
	for (int i = 0; i < 2; i++)
		m->agg[i].flat_dirty = m->agg[i].tree_dirty = true;
}

/* Forgets everything learnt from the profile (a new profile). */
static int clear_all(struct top_model *m)
{
	m->nss = 0;
	m->nthreads = 0;
	m->named = 0;
	hashmap__free(&m->thread_index);
	m->other_threads = m->multi_proc = false;
	m->filter = TOP_ALL_THREADS;
	m->ntasks = 0;
	hashmap__free(&m->task_index);
	m->other_tasks = m->filter_task = false;
	for (int i = 0; i < 2; i++) {
		bool by_line = m->agg[i].by_line;

		agg_free(&m->agg[i]);
		if (agg_init(&m->agg[i], by_line))
			return -ENOMEM;
	}
	mark_dirty(m);
	return 0;
}

static const struct pframe *frame_of(const struct top_model *m, uint32_t id)
{
	return id == TOP_NO_FRAME ? NULL : profile__frame_get(m->p, id);
}

/* The thread slot of a stack: its process and thread frames. */
static int thread_of(struct top_model *m, const uint32_t *frames, uint32_t n,
		     uint32_t *slot)
{
	struct thr t = { TOP_NO_FRAME, TOP_NO_FRAME };
	const struct pframe *fr;
	uint64_t k, id;

	if (n > 0 && (fr = frame_of(m, frames[0])) && fr->kind == PF_PROCESS) {
		t.proc = frames[0];
		if (n > 1 && (fr = frame_of(m, frames[1])) &&
		    fr->kind == PF_THREAD)
			t.thread = frames[1];
	}
	k = hash64(((uint64_t)t.proc << 32 | t.thread) + 1);
	for (k = k ? k : 1;; k = next_key(k)) {
		if (!hashmap__get(&m->thread_index, k, &id))
			break;
		if (m->threads[id].proc == t.proc &&
		    m->threads[id].thread == t.thread) {
			*slot = (uint32_t)id;
			return 0;
		}
	}
	if (m->other_threads) {
		*slot = (uint32_t)(m->nthreads - 1);
		return 0;
	}
	if (grow__reserve((void **)&m->threads, &m->threads_cap,
			  m->nthreads + 1, sizeof(t)))
		return -ENOMEM;
	if (m->nthreads + 1 == TOP_THREADS_MAX) {
		/* The last slot: every thread from here on. */
		m->other_threads = true;
		m->threads[m->nthreads].proc = TOP_NO_FRAME;
		m->threads[m->nthreads].thread = TOP_NO_FRAME;
		*slot = (uint32_t)m->nthreads++;
		return 0;
	}
	if (hashmap__set(&m->thread_index, k, m->nthreads))
		return -ENOMEM;
	if (m->nthreads && m->threads[0].proc != t.proc)
		m->multi_proc = true;
	m->threads[m->nthreads] = t;
	if (t.thread != TOP_NO_FRAME)
		m->named++;
	*slot = (uint32_t)m->nthreads++;
	return 0;
}

/* The task slot of a stack (--async): its innermost task frame, with its
 * process frame; NONE when it has none. */
static int task_of(struct top_model *m, const uint32_t *frames, uint32_t n,
		   uint32_t *slot)
{
	struct tsk t = { TOP_NO_FRAME, TOP_NO_FRAME };
	const struct pframe *fr;
	uint64_t k, id;

	*slot = NONE;
	for (uint32_t j = n; j-- > 0;)
		if ((fr = frame_of(m, frames[j])) && fr->kind == PF_TASK) {
			t.task = frames[j];
			break;
		}
	if (t.task == TOP_NO_FRAME)
		return 0;
	if (n > 0 && (fr = frame_of(m, frames[0])) && fr->kind == PF_PROCESS)
		t.proc = frames[0];
	k = hash64(((uint64_t)t.proc << 32 | t.task) + 5);
	for (k = k ? k : 1;; k = next_key(k)) {
		if (!hashmap__get(&m->task_index, k, &id))
			break;
		if (m->tasks[id].proc == t.proc &&
		    m->tasks[id].task == t.task) {
			*slot = (uint32_t)id;
			return 0;
		}
	}
	if (m->other_tasks) {
		*slot = (uint32_t)(m->ntasks - 1);
		return 0;
	}
	if (grow__reserve((void **)&m->tasks, &m->tasks_cap, m->ntasks + 1,
			  sizeof(t)))
		return -ENOMEM;
	if (m->ntasks + 1 == TOP_TASKS_MAX) {
		/* The last slot: every task from here on. */
		m->other_tasks = true;
		m->tasks[m->ntasks].proc = TOP_NO_FRAME;
		m->tasks[m->ntasks].task = TOP_NO_FRAME;
		*slot = (uint32_t)m->ntasks++;
		return 0;
	}
	if (hashmap__set(&m->task_index, k, m->ntasks))
		return -ENOMEM;
	m->tasks[m->ntasks] = t;
	*slot = (uint32_t)m->ntasks++;
	return 0;
}

int top_model__update(struct top_model *m, const struct profile *p, double keep)
{
	size_t n = profile__nstacks(p);
	int rc;

	if (keep < 0 || keep != keep)
		keep = 0;
	if (keep > 1)
		keep = 1;
	if (n < m->nss && (rc = clear_all(m)))
		return rc;
	m->p = p;
	if (grow__reserve((void **)&m->ss, &m->ss_cap, n, sizeof(*m->ss)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct sstate *s = &m->ss[i];
		const uint32_t *frames;
		uint32_t nf;
		uint64_t count;

		profile__stack(p, i, &frames, &nf, &count);
		if (i >= m->nss) {
			memset(s, 0, sizeof(*s));
			s->leaf[0] = s->leaf[1] = NONE;
			if ((rc = thread_of(m, frames, nf, &s->thread)) ||
			    (rc = task_of(m, frames, nf, &s->task)))
				return rc;
			m->nss = i + 1;
		}
		if (count < s->seen) {
			/* Counts only grow; if not, start this stack over. */
			s->seen = s->base = 0;
			s->now = 0;
		}
		s->now = s->now * keep + (double)(count - s->seen);
		s->seen = count;
	}
	if (profile__filtered(p) < m->out_seen)
		m->out_seen = m->out_base = 0;
	m->out_now = m->out_now * keep +
		     (double)(profile__filtered(p) - m->out_seen);
	m->out_seen = profile__filtered(p);
	mark_dirty(m);
	return 0;
}

void top_model__reset(struct top_model *m)
{
	for (size_t i = 0; i < m->nss; i++) {
		m->ss[i].base = m->ss[i].seen;
		m->ss[i].now = 0;
	}
	m->out_base = m->out_seen;
	m->out_now = 0;
	mark_dirty(m);
}

uint64_t top_model__left_out(const struct top_model *m)
{
	return m->out_seen - m->out_base;
}

void top_model__set_by_line(struct top_model *m, bool by_line)
{
	m->mode = by_line ? 1 : 0;
}

bool top_model__by_line(const struct top_model *m)
{
	return m->mode == 1;
}

size_t top_model__nthreads(const struct top_model *m)
{
	return m->nthreads;
}

size_t top_model__named_threads(const struct top_model *m)
{
	return m->named;
}

void top_model__set_thread(struct top_model *m, int i)
{
	bool task = i >= 0 && (size_t)i >= m->nthreads;

	if (task)
		i -= (int)m->nthreads;
	if (i < 0 || (size_t)i >= (task ? m->ntasks : m->nthreads)) {
		i = TOP_ALL_THREADS;
		task = false;
	}
	if (m->filter != i || m->filter_task != task)
		mark_dirty(m);
	m->filter = i;
	m->filter_task = task;
}

int top_model__thread(const struct top_model *m)
{
	if (m->filter_task && m->filter != TOP_ALL_THREADS)
		return (int)m->nthreads + m->filter;
	return m->filter;
}

size_t top_model__ntasks(const struct top_model *m)
{
	return m->ntasks;
}

static const char *frame_name(const struct top_model *m, uint32_t id)
{
	const struct pframe *fr = frame_of(m, id);

	return fr ? profile__string(m->p, fr->name) : "";
}

bool top_model__thread_frames(const struct top_model *m, size_t i,
			      uint32_t *proc, uint32_t *thread)
{
	/* A task (i past the threads) has no thread of its own. */
	if (i >= m->nthreads || (m->other_threads && i == m->nthreads - 1) ||
	    m->threads[i].proc == TOP_NO_FRAME)
		return false;
	*proc = m->threads[i].proc;
	*thread = m->threads[i].thread == TOP_NO_FRAME ? UINT32_MAX :
							 m->threads[i].thread;
	return true;
}

size_t top_model__thread_label(const struct top_model *m, size_t i, char *buf,
			       size_t len)
{
	const struct thr *t;
	int n;

	if (i >= m->nthreads && i - m->nthreads < m->ntasks) {
		const struct tsk *k = &m->tasks[i - m->nthreads];

		if (m->other_tasks && i - m->nthreads == m->ntasks - 1)
			n = snprintf(buf, len, "[other tasks]");
		else if (m->multi_proc && k->proc != TOP_NO_FRAME)
			n = snprintf(buf, len, "%s/%s", frame_name(m, k->proc),
				     frame_name(m, k->task));
		else
			n = snprintf(buf, len, "%s", frame_name(m, k->task));
	} else if (i >= m->nthreads)
		n = snprintf(buf, len, "all threads");
	else if (m->other_threads && i == m->nthreads - 1)
		n = snprintf(buf, len, "[other threads]");
	else if ((t = &m->threads[i])->proc == TOP_NO_FRAME)
		n = snprintf(buf, len, "[no process frame]");
	else if (t->thread == TOP_NO_FRAME)
		n = snprintf(buf, len, "%s", frame_name(m, t->proc));
	else if (m->multi_proc)
		n = snprintf(buf, len, "%s/%s", frame_name(m, t->proc),
			     frame_name(m, t->thread));
	else
		n = snprintf(buf, len, "%s", frame_name(m, t->thread));
	return n < 0 ? 0 : (size_t)n;
}

static bool selected(const struct top_model *m, const struct sstate *s)
{
	if (m->filter == TOP_ALL_THREADS)
		return true;
	return m->filter_task ? s->task == (uint32_t)m->filter :
				s->thread == (uint32_t)m->filter;
}

void top_model__sums(struct top_model *m, uint64_t *total, double *now)
{
	if (m->sums_dirty) {
		m->sum = 0;
		m->sum_now = 0;
		for (size_t i = 0; i < m->nss; i++) {
			if (!selected(m, &m->ss[i]))
				continue;
			m->sum += m->ss[i].seen - m->ss[i].base;
			m->sum_now += m->ss[i].now;
		}
		/* Left out by a filter: part of the whole, of no thread. */
		if (m->filter == TOP_ALL_THREADS) {
			m->sum += m->out_seen - m->out_base;
			m->sum_now += m->out_now;
		}
		m->sums_dirty = false;
	}
	*total = m->sum;
	*now = m->sum_now;
}

/* Whether two frames are the same row of a: same kind, name, file, and
 * per line the same line too. */
static bool same_row(const struct agg *a, const struct pframe *x,
		     const struct pframe *y)
{
	return x->kind == y->kind && x->name == y->name && x->file == y->file &&
	       (!a->by_line || x->line == y->line);
}

/* The row of profile frame f in a; creates it.  NONE on ENOMEM. */
static uint32_t row_of(struct top_model *m, struct agg *a, uint32_t f)
{
	const struct pframe *fr = frame_of(m, f);
	struct pframe key;
	uint64_t k, id;

	if (f < a->frame_row_cap && a->frame_row[f] != NONE)
		return a->frame_row[f];
	if (!fr)
		return OTHER_ROW;
	if (f >= a->frame_row_cap) {
		size_t old = a->frame_row_cap;

		if (grow__reserve((void **)&a->frame_row, &a->frame_row_cap,
				  (size_t)f + 1, sizeof(*a->frame_row)))
			return NONE;
		memset(a->frame_row + old, 0xff,
		       (a->frame_row_cap - old) * sizeof(*a->frame_row));
	}
	key = *fr;
	if (!a->by_line)
		key.line = 0;
	k = hash_bytes(&key, sizeof(key), 7);
	for (k = k ? k : 1;; k = next_key(k)) {
		if (!hashmap__get(&a->row_index, k, &id))
			break;
		if (same_row(a, frame_of(m, a->rows[id].frame), fr)) {
			a->frame_row[f] = (uint32_t)id;
			return (uint32_t)id;
		}
	}
	if (a->nrows >= TOP_ROWS_MAX) {
		a->frame_row[f] = OTHER_ROW;
		return OTHER_ROW;
	}
	if (grow__reserve((void **)&a->rows, &a->rows_cap, a->nrows + 1,
			  sizeof(*a->rows)) ||
	    hashmap__set(&a->row_index, k, a->nrows))
		return NONE;
	memset(&a->rows[a->nrows], 0, sizeof(a->rows[0]));
	a->rows[a->nrows].frame = f;
	a->frame_row[f] = (uint32_t)a->nrows;
	return (uint32_t)a->nrows++;
}

static bool table_frame(const struct top_model *m, uint32_t f)
{
	const struct pframe *fr = frame_of(m, f);

	return !fr || (fr->kind != PF_PROCESS && fr->kind != PF_THREAD);
}

static int agg_flat(struct top_model *m, struct agg *a)
{
	for (size_t r = 0; r < a->nrows; r++) {
		a->rows[r].own = a->rows[r].total = 0;
		a->rows[r].own_now = a->rows[r].total_now = 0;
	}
	for (size_t i = 0; i < m->nss; i++) {
		const struct sstate *s = &m->ss[i];
		uint64_t cum = s->seen - s->base, count;
		const uint32_t *frames;
		uint32_t n, r;

		if (!selected(m, s) || (!cum && s->now <= 0))
			continue;
		profile__stack(m->p, i, &frames, &n, &count);
		m->gen++;
		for (uint32_t j = 0; j < n; j++) {
			if (!table_frame(m, frames[j]))
				continue;
			r = row_of(m, a, frames[j]);
			if (r == NONE)
				return -ENOMEM;
			/* A recursive function is in the stack once. */
			if (a->rows[r].stamp == m->gen)
				continue;
			a->rows[r].stamp = m->gen;
			a->rows[r].total += cum;
			a->rows[r].total_now += s->now;
		}
		if (n && table_frame(m, frames[n - 1])) {
			r = row_of(m, a, frames[n - 1]);
			a->rows[r].own += cum;
			a->rows[r].own_now += s->now;
		}
	}
	a->flat_dirty = false;
	return 0;
}

/* The child of parent for row; creates it.  NONE when the tree is full,
 * NONE - 1 on ENOMEM. */
static uint32_t child_of(struct agg *a, uint32_t parent, uint32_t row)
{
	uint64_t k = hash64(((uint64_t)parent << 32 | row) + 3), id;
	struct node *c;

	for (k = k ? k : 1;; k = next_key(k)) {
		if (!hashmap__get(&a->node_index, k, &id))
			break;
		if (a->nodes[id].parent == parent && a->nodes[id].row == row)
			return (uint32_t)id;
	}
	if (a->nnodes >= TOP_NODES_MAX) {
		a->tree_full = true;
		return NONE;
	}
	if (grow__reserve((void **)&a->nodes, &a->nodes_cap, a->nnodes + 1,
			  sizeof(*a->nodes)) ||
	    hashmap__set(&a->node_index, k, a->nnodes))
		return NONE - 1;
	c = &a->nodes[a->nnodes];
	memset(c, 0, sizeof(*c));
	c->parent = parent;
	c->row = row;
	c->child = NONE;
	c->next = a->nodes[parent].child;
	c->depth = parent == ROOT ? 0 : a->nodes[parent].depth + 1;
	a->nodes[parent].child = (uint32_t)a->nnodes;
	return (uint32_t)a->nnodes++;
}

/* The leaf node of stack i in a's tree (with LEAF_CUT when it did not
 * fit), or NONE on ENOMEM. */
static uint32_t leaf_of(struct top_model *m, struct agg *a, size_t i)
{
	uint32_t *leaf = &m->ss[i].leaf[a->by_line ? 1 : 0];
	const uint32_t *frames;
	uint32_t n, node = ROOT;
	uint64_t count;

	if (*leaf != NONE)
		return *leaf;
	profile__stack(m->p, i, &frames, &n, &count);
	for (uint32_t j = 0; j < n; j++) {
		uint32_t r = row_of(m, a, frames[j]), c;

		if (r == NONE)
			return NONE;
		c = child_of(a, node, r);
		if (c == NONE - 1)
			return NONE;
		if (c == NONE) {
			*leaf = node | LEAF_CUT;
			return *leaf;
		}
		node = c;
	}
	*leaf = node;
	return node;
}

static int agg_tree(struct top_model *m, struct agg *a)
{
	for (size_t x = 0; x < a->nnodes; x++) {
		a->nodes[x].own = a->nodes[x].total = 0;
		a->nodes[x].own_now = a->nodes[x].total_now = 0;
	}
	for (size_t i = 0; i < m->nss; i++) {
		const struct sstate *s = &m->ss[i];
		uint64_t cum = s->seen - s->base;
		uint32_t leaf, x;

		if (!selected(m, s) || (!cum && s->now <= 0))
			continue;
		leaf = leaf_of(m, a, i);
		if (leaf == NONE)
			return -ENOMEM;
		x = leaf & ~LEAF_CUT;
		if (!(leaf & LEAF_CUT) && x != ROOT) {
			a->nodes[x].own += cum;
			a->nodes[x].own_now += s->now;
		}
		/* Depth is bounded by the profile's stack length. */
		for (; x != ROOT; x = a->nodes[x].parent) {
			a->nodes[x].total += cum;
			a->nodes[x].total_now += s->now;
		}
	}
	a->tree_dirty = false;
	return 0;
}

struct sort_ctx {
	const struct top_model *m;
	enum top_sort sort;
	bool by_now;
};

static double sort_value(const struct sort_ctx *c, const struct top_item *x)
{
	switch (c->sort) {
	case TOP_SORT_OWN_PCT:
		return c->by_now ? x->own_now : (double)x->own;
	case TOP_SORT_TOTAL_PCT:
		return c->by_now ? x->total_now : (double)x->total;
	case TOP_SORT_OWN:
		return (double)x->own;
	default:
		return (double)x->total;
	}
}

static int cmp_name(const struct top_model *m, const struct top_item *x,
		    const struct top_item *y)
{
	const struct pframe *fx = frame_of(m, x->frame);
	const struct pframe *fy = frame_of(m, y->frame);
	int c;

	if (!fx || !fy)
		return !fx - !fy; /* "[other functions]" last */
	c = strcmp(profile__string(m->p, fx->name),
		   profile__string(m->p, fy->name));
	if (c)
		return c;
	c = strcmp(profile__string(m->p, fx->file),
		   profile__string(m->p, fy->file));
	if (c)
		return c;
	return (fx->line > fy->line) - (fx->line < fy->line);
}

static int cmp_items(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *c = arg;
	const struct top_item *x = pa, *y = pb;
	int r;

	if (c->sort != TOP_SORT_NAME) {
		double vx = sort_value(c, x), vy = sort_value(c, y);

		if (vx != vy)
			return vx < vy ? 1 : -1;
		if (x->total != y->total)
			return x->total < y->total ? 1 : -1;
		if (x->own != y->own)
			return x->own < y->own ? 1 : -1;
	}
	r = cmp_name(c->m, x, y);
	if (r)
		return r;
	return (x->id > y->id) - (x->id < y->id);
}

static int push_item(struct top_item **v, size_t *cap, size_t *n,
		     const struct top_item *it)
{
	if (grow__reserve((void **)v, cap, *n + 1, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*n)++] = *it;
	return 0;
}

static void node_item(const struct agg *a, uint32_t x, struct top_item *it)
{
	const struct node *nd = &a->nodes[x];

	memset(it, 0, sizeof(*it));
	it->id = x;
	it->frame = a->rows[nd->row].frame;
	it->depth = nd->depth;
	it->own = nd->own;
	it->total = nd->total;
	it->own_now = nd->own_now;
	it->total_now = nd->total_now;
}

/* Appends parent's children that have samples to m->tmp (from index
 * start), sorted.  Returns how many, or -ENOMEM. */
static long children(struct top_model *m, struct agg *a, uint32_t parent,
		     size_t start, struct sort_ctx *c)
{
	size_t n = start;

	for (uint32_t x = a->nodes[parent].child; x != NONE;
	     x = a->nodes[x].next) {
		struct top_item it;

		if (!a->nodes[x].total && a->nodes[x].total_now <= 0)
			continue;
		node_item(a, x, &it);
		if (push_item(&m->tmp, &m->tmp_cap, &n, &it))
			return -ENOMEM;
	}
	qsort_r(m->tmp + start, n - start, sizeof(*m->tmp), cmp_items, c);
	return (long)(n - start);
}

static bool auto_open(const struct top_item *it, uint64_t sum, double sum_now,
		      bool by_now)
{
	if (by_now)
		return sum_now > 0 &&
		       it->total_now * 100.0 >= TOP_AUTO_OPEN_PCT * sum_now;
	return sum &&
	       (double)it->total * 100.0 >= TOP_AUTO_OPEN_PCT * (double)sum;
}

/* ---- issue 21: `/` shows the rows whose label holds a pattern ---- */

int top_model__set_match(struct top_model *m, const char *pattern)
{
	char *p = pattern && *pattern ? strdup(pattern) : NULL;

	if (pattern && *pattern && !p)
		return -ENOMEM;
	free(m->match);
	m->match = p;
	return 0;
}

const char *top_model__match(const struct top_model *m)
{
	return m->match;
}

/* Whether the item's label holds the pattern (true without one). */
static bool item_matches(const struct top_model *m, const struct top_item *it)
{
	char buf[1024];

	if (!m->match)
		return true;
	top_model__label(m, it, buf, sizeof(buf), NULL);
	return strcasestr(buf, m->match) != NULL;
}

/* keep[node]: the node matches, or one below it does. */
static int mark_matches(struct top_model *m, struct agg *a)
{
	if (grow__reserve((void **)&m->keep, &m->keep_cap, a->nnodes + 1, 1))
		return -ENOMEM;
	memset(m->keep, 0, a->nnodes + 1);
	for (uint32_t x = 0; x < a->nnodes; x++) {
		struct top_item it;

		if (x == ROOT || m->keep[x])
			continue;
		node_item(a, x, &it);
		if (!item_matches(m, &it))
			continue;
		for (uint32_t y = x; y != ROOT && y != NONE && !m->keep[y];
		     y = a->nodes[y].parent)
			m->keep[y] = 1;
	}
	return 0;
}

/* Drops from the k children at m->tmp[start..] those the pattern does
 * not keep; their number. */
static long kept_children(struct top_model *m, size_t start, long k)
{
	long n = 0;

	if (!m->match || k <= 0)
		return k;
	for (long j = 0; j < k; j++)
		if (m->keep[m->tmp[start + (size_t)j].id])
			m->tmp[start + (size_t)n++] = m->tmp[start + (size_t)j];
	return n;
}

/* ---- end of issue 21 ---- */

static int tree_items(struct top_model *m, struct agg *a, struct sort_ctx *c,
		      size_t *nitems)
{
	size_t nstack = 0, n = 0;
	uint64_t sum;
	double sum_now;
	long k;

	top_model__sums(m, &sum, &sum_now);
	if (m->match && mark_matches(m, a))
		return -ENOMEM;
	k = kept_children(m, 0, children(m, a, ROOT, 0, c));
	if (k < 0)
		return -ENOMEM;
	/* Depth first without recursion: children go on the stack last
	 * first, so the first pops first. */
	for (long j = k - 1; j >= 0; j--)
		if (push_item(&m->stack, &m->stack_cap, &nstack, &m->tmp[j]))
			return -ENOMEM;
	while (nstack) {
		struct top_item it = m->stack[--nstack];
		struct node *nd = &a->nodes[it.id];

		k = kept_children(m, 0, children(m, a, it.id, 0, c));
		if (k < 0)
			return -ENOMEM;
		it.has_children = k > 0;
		/* With a pattern, the way to each match is open. */
		it.open = it.has_children &&
			  (nd->open == OPEN_YES ||
			   (nd->open == OPEN_AUTO &&
			    (m->match ||
			     auto_open(&it, sum, sum_now, c->by_now))));
		nd->shown_open = it.open;
		if (push_item(&m->items, &m->items_cap, &n, &it))
			return -ENOMEM;
		if (!it.open)
			continue;
		for (long j = k - 1; j >= 0; j--)
			if (push_item(&m->stack, &m->stack_cap, &nstack,
				      &m->tmp[j]))
				return -ENOMEM;
	}
	*nitems = n;
	return 0;
}

int top_model__items(struct top_model *m, bool tree, enum top_sort sort,
		     bool by_now, const struct top_item **items, size_t *n)
{
	struct agg *a = &m->agg[m->mode];
	struct sort_ctx c = { m, sort, by_now };
	size_t k = 0;
	int rc;

	*items = NULL;
	*n = 0;
	if (!m->p)
		return 0;
	if (tree) {
		if (a->tree_dirty && (rc = agg_tree(m, a)))
			return rc;
		if ((rc = tree_items(m, a, &c, &k)))
			return rc;
		*items = m->items;
		*n = k;
		return 0;
	}
	if (a->flat_dirty && (rc = agg_flat(m, a)))
		return rc;
	for (size_t r = 0; r < a->nrows; r++) {
		const struct row *row = &a->rows[r];
		struct top_item it = {
			.id = (uint32_t)r,
			.frame = row->frame,
			.own = row->own,
			.total = row->total,
			.own_now = row->own_now,
			.total_now = row->total_now,
		};

		if ((!row->total && row->total_now <= 0) ||
		    !item_matches(m, &it))
			continue;
		if (push_item(&m->items, &m->items_cap, &k, &it))
			return -ENOMEM;
	}
	if (k) /* m->items is NULL while nothing was pushed */
		qsort_r(m->items, k, sizeof(*m->items), cmp_items, &c);
	*items = m->items;
	*n = k;
	return 0;
}

void top_model__open(struct top_model *m, uint32_t node, int open)
{
	struct agg *a = &m->agg[m->mode];

	if (node == ROOT || node >= a->nnodes)
		return;
	if (open < 0)
		open = !a->nodes[node].shown_open;
	a->nodes[node].open = open ? OPEN_YES : OPEN_NO;
}

uint32_t top_model__parent(const struct top_model *m, uint32_t node)
{
	const struct agg *a = &m->agg[m->mode];

	if (node == ROOT || node >= a->nnodes || a->nodes[node].parent == ROOT)
		return TOP_NO_FRAME;
	return a->nodes[node].parent;
}

bool top_model__tree_full(const struct top_model *m)
{
	return m->agg[m->mode].tree_full;
}

size_t top_model__label(const struct top_model *m, const struct top_item *it,
			char *buf, size_t len, long *loc)
{
	const struct pframe *fr = frame_of(m, it->frame);
	struct pframe f;
	const char *name;

	if (loc)
		*loc = -1;
	if (!fr) {
		int n = snprintf(buf, len, "[other functions]");

		return n < 0 ? 0 : (size_t)n;
	}
	f = *fr;
	if (f.kind == PF_PYTHON) {
		if (!m->agg[m->mode].by_line)
			f.line = -1;
		/* out_folded__frame writes the name byte for byte (with
		 * unsafe bytes replaced), then " (". */
		name = profile__string(m->p, f.name);
		if (loc)
			*loc = *name ? (long)strlen(name) : 9;
	}
	return out_folded__frame(m->p, &f, buf, len);
}
