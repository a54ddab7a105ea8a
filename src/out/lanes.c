// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "out/lanes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "lib/hashmap.h"
#include "out/util.h"

/* The process and thread frames of each stack, and where its own begin. */
struct split {
	uint32_t proc, thread, first;
};

struct sort_ctx {
	const struct profile *p;
	const struct lanes *l;
	const uint32_t *lane_of; /* event -> lane */
	const uint32_t *rank; /* lane -> its place */
};

static int cmp_lane(const void *a, const void *b, void *arg)
{
	const struct lane *x = a, *y = b;

	(void)arg;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return 0;
}

/* Events by lane (in the lanes' order), start, then as they came. */
static int cmp_ev(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	const struct ptime_event *x = profile__event(c->p, i);
	const struct ptime_event *y = profile__event(c->p, j);
	uint32_t lx = c->rank[c->lane_of[i]], ly = c->rank[c->lane_of[j]];

	if (lx != ly)
		return lx < ly ? -1 : 1;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* The lanes (unsorted) and each event's lane (UINT32_MAX: none). */
static int find_lanes(struct lanes *l, const struct profile *p,
		      const struct split *sp, uint32_t *lane_of)
{
	struct hashmap index = {};
	size_t cap = 0;
	int err = 0;

	struct hashmap by_tid = {}; /* tid + 1 -> a lane of it */

	for (size_t i = 0; i < profile__nevents(p); i++) {
		const struct ptime_event *e = profile__event(p, i);
		const struct split *s;
		uint64_t k, id;

		lane_of[i] = UINT32_MAX;
		if (e->stack >= profile__nstacks(p) ||
		    sp[e->stack].first == UINT32_MAX)
			continue;
		s = &sp[e->stack];
		/* Exact and never 0: two 32-bit ids, top bit flipped. */
		k = ((uint64_t)s->proc << 32 | e->tid) ^ (1ull << 63);
		if (!hashmap__get(&index, k, &id)) {
			struct lane *ln;

			if (grow__reserve((void **)&l->lane, &cap,
					  l->nlanes + 1, sizeof(*l->lane))) {
				err = -ENOMEM;
				break;
			}
			id = l->nlanes++;
			ln = &l->lane[id];
			memset(ln, 0, sizeof(*ln));
			ln->proc = s->proc;
			ln->tid = e->tid;
			if (s->proc != UINT32_MAX)
				ln->pid = out__label_pid(out__name(
					p, profile__frame_get(p, s->proc)));
			if (hashmap__set(&index, k, id)) {
				err = -ENOMEM;
				break;
			}
		}
		/* The name known last is the most complete one. */
		l->lane[id].thread = s->thread;
		lane_of[i] = (uint32_t)id;
		l->nev++;
		if (hashmap__set(&by_tid, (uint64_t)e->tid + 1, id)) {
			err = -ENOMEM;
			break;
		}
	}
	/* Time a filter left out (an event of the empty stack) still takes
	 * its thread's lane: what it ran there is not shown. */
	for (size_t i = 0; i < profile__nevents(p) && !err; i++) {
		const struct ptime_event *e = profile__event(p, i);
		uint64_t id;

		if (e->stack < profile__nstacks(p) &&
		    sp[e->stack].first == UINT32_MAX &&
		    hashmap__get(&by_tid, (uint64_t)e->tid + 1, &id)) {
			lane_of[i] = (uint32_t)id;
			l->nev++;
		}
	}
	hashmap__free(&by_tid);
	hashmap__free(&index);
	return err;
}

/* Places the events of lane ln: starts never before the previous end. */
static void place(struct lanes *l, struct lane *ln, const struct profile *p)
{
	uint64_t prev_end = 0, near = l->period + l->period / 2;
	bool prev_span = false;

	for (size_t k = ln->begin; k < ln->begin + ln->n; k++) {
		struct lane_ev *v = &l->ev[k];
		const struct ptime_event *e = profile__event(p, v->ev);
		const struct ptime_event *next =
			k + 1 < ln->begin + ln->n ?
				profile__event(p, l->ev[k + 1].ev) :
				NULL;
		uint64_t last;

		v->stack = e->stack;
		v->span = e->flags & PTIME_SPAN;
		v->hidden = !profile__stack_depth(p, e->stack);
		v->start = e->start_ns > prev_end ? e->start_ns : prev_end;
		/* Back on the CPU, a thread goes on from the stack it left
		 * with, and runs until its next switch (a span) or sample:
		 * a sample after a span starts where the span ends, and the
		 * functions two spans share go on between them. */
		v->joined = prev_span;
		if (prev_span && !v->span)
			v->start = prev_end;
		last = e->last_ns > v->start ? e->last_ns : v->start;
		v->last = last;
		if (v->span) {
			uint64_t d = last - v->start;

			v->end = last;
			v->samples =
				(uint32_t)((d + l->period / 2) / l->period);
			if (!v->samples)
				v->samples = 1;
		} else {
			v->samples = e->samples;
			/* Ran (or waited for a CPU) until the next one; or
			 * slept for less than a sample can tell.  A span
			 * (the thread left the CPU) comes within a period,
			 * unless records were lost. */
			if (next &&
			    (next->flags & PTIME_SPAN ?
				     next->start_ns <= last + near :
				     !(next->flags & PTIME_SLEPT) ||
					     next->start_ns <= last + near))
				v->end = next->start_ns;
			else
				v->end = last + l->period;
			/* Never past the next one's start, never before the
			 * last sample. */
			if (next && next->start_ns < v->end)
				v->end = next->start_ns;
			if (v->end < last)
				v->end = last;
		}
		if (!v->hidden)
			ln->samples += v->samples;
		prev_end = v->end;
		prev_span = v->span;
		if (v->end > l->t1)
			l->t1 = v->end;
	}
}

/* func_of: frames of one kind, name and file share a number. */
static int number_functions(struct lanes *l, const struct profile *p)
{
	size_t nf = profile__nframes(p);
	struct hashmap index = {};
	int err = 0;

	l->func_of = malloc((nf ? nf : 1) * sizeof(*l->func_of));
	if (!l->func_of)
		return -ENOMEM;
	for (size_t i = 0; i < nf && !err; i++) {
		const struct pframe *fr = profile__frame_get(p, (uint32_t)i);
		uint64_t k = hash64(((uint64_t)fr->name << 32 | fr->file) ^
				    hash64(fr->kind + 1)) |
			     1,
			 v;

		/* Interned strings: equal ids are equal names. */
		for (;; k = hash64(k) | 1) {
			const struct pframe *o;

			if (!hashmap__get(&index, k, &v)) {
				v = i;
				err = hashmap__set(&index, k, v);
				break;
			}
			o = profile__frame_get(p, (uint32_t)v);
			if (o->kind == fr->kind && o->name == fr->name &&
			    o->file == fr->file)
				break;
		}
		l->func_of[i] = (uint32_t)v;
	}
	hashmap__free(&index);
	return err;
}

int lanes__build(struct lanes *l, const struct profile *p, unsigned freq)
{
	size_t nst = profile__nstacks(p), ne = profile__nevents(p), at = 0;
	struct split *sp = NULL;
	uint32_t *lane_of = NULL, *order = NULL, *rank = NULL;
	uint64_t origin = profile__timeline_origin(p);
	struct sort_ctx c = { .p = p, .l = l };
	int err = -ENOMEM;

	memset(l, 0, sizeof(*l));
	if (!origin && !ne)
		return -ENODATA;
	l->period =
		(1000000000ull + (freq ? freq : 100) / 2) / (freq ? freq : 100);
	sp = malloc((nst ? nst : 1) * sizeof(*sp));
	l->first_of = malloc((nst ? nst : 1) * sizeof(*l->first_of));
	lane_of = malloc((ne ? ne : 1) * sizeof(*lane_of));
	if (!sp || !l->first_of || !lane_of)
		goto out;
	for (size_t i = 0; i < nst; i++) {
		const uint32_t *fr;
		uint32_t n;
		uint64_t count;

		profile__stack(p, i, &fr, &n, &count);
		sp[i].first = out__split(p, fr, n, &sp[i].proc, &sp[i].thread);
		/* No frame: not shown, as anywhere; the time of its events
		 * (left out by a filter) is a hidden event of its lane. */
		l->first_of[i] = n ? sp[i].first : 0;
		if (!n)
			sp[i].first = UINT32_MAX;
	}
	err = find_lanes(l, p, sp, lane_of);
	if (!err)
		err = number_functions(l, p);
	if (err)
		goto out;
	err = -ENOMEM;
	rank = malloc((l->nlanes ? l->nlanes : 1) * sizeof(*rank));
	order = malloc((l->nev ? l->nev : 1) * sizeof(*order));
	l->ev = calloc(l->nev ? l->nev : 1, sizeof(*l->ev));
	if (!rank || !order || !l->ev)
		goto out;
	/* Lanes in order; rank maps the old lane ids to their place. */
	{
		struct lane *sorted =
			malloc((l->nlanes ? l->nlanes : 1) * sizeof(*sorted));

		if (!sorted)
			goto out;
		for (size_t i = 0; i < l->nlanes; i++) {
			sorted[i] = l->lane[i];
			sorted[i].begin = i; /* remember the old id */
		}
		qsort_r(sorted, l->nlanes, sizeof(*sorted), cmp_lane, NULL);
		for (size_t i = 0; i < l->nlanes; i++) {
			rank[sorted[i].begin] = (uint32_t)i;
			l->lane[i] = sorted[i];
		}
		free(sorted);
	}
	for (size_t i = 0, k = 0; i < ne; i++)
		if (lane_of[i] != UINT32_MAX)
			order[k++] = (uint32_t)i;
	c.lane_of = lane_of;
	c.rank = rank;
	qsort_r(order, l->nev, sizeof(*order), cmp_ev, &c);
	for (size_t i = 0; i < l->nlanes; i++) {
		l->lane[i].begin = at;
		l->lane[i].n = 0;
		while (at < l->nev && rank[lane_of[order[at]]] == i) {
			l->ev[at].ev = order[at];
			at++;
			l->lane[i].n++;
		}
	}
	l->t0 = origin;
	for (size_t i = 0; i < l->nev; i++) {
		uint64_t s = profile__event(p, l->ev[i].ev)->start_ns;

		if (!l->t0 || s < l->t0)
			l->t0 = s;
	}
	l->t1 = l->t0;
	for (size_t i = 0; i < l->nlanes; i++)
		place(l, &l->lane[i], p);
	err = 0;
out:
	free(sp);
	free(lane_of);
	free(order);
	free(rank);
	if (err)
		lanes__free(l);
	return err;
}

void lanes__free(struct lanes *l)
{
	free(l->lane);
	free(l->ev);
	free(l->first_of);
	free(l->func_of);
	memset(l, 0, sizeof(*l));
}

struct open_frame {
	uint32_t frame;
	uint64_t start;
};

struct box_state {
	struct open_frame *open;
	size_t nopen, open_cap;
	struct lane_box *box;
	size_t nbox, box_cap;
	int err;
};

/* Closes the open frames down to depth keep, at time end. */
static void close_to(struct box_state *s, size_t keep, uint64_t end)
{
	while (s->nopen > keep && !s->err) {
		struct open_frame *o = &s->open[--s->nopen];
		struct lane_box *b;

		if (end <= o->start)
			continue;
		if (grow__reserve((void **)&s->box, &s->box_cap, s->nbox + 1,
				  sizeof(*s->box))) {
			s->err = -ENOMEM;
			return;
		}
		b = &s->box[s->nbox++];
		b->frame = o->frame;
		b->depth = (uint32_t)s->nopen;
		b->start = o->start;
		b->end = end;
	}
}

static int cmp_box(const void *a, const void *b)
{
	const struct lane_box *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

int lanes__boxes(const struct lanes *l, const struct profile *p, size_t i,
		 struct lane_box **boxes, size_t *n)
{
	const struct lane *ln = &l->lane[i];
	struct box_state s = {};
	uint64_t cur = 0;

	for (size_t k = ln->begin; k < ln->begin + ln->n && !s.err; k++) {
		const struct lane_ev *v = &l->ev[k];
		uint32_t first = l->first_of[v->stack], nf;
		const uint32_t *fr;
		uint64_t count;
		size_t same = 0;

		profile__stack(p, v->stack, &fr, &nf, &count);
		while (same < s.nopen && first + same < nf &&
		       l->func_of[s.open[same].frame] ==
			       l->func_of[fr[first + same]])
			same++;
		/* A gap is time off the CPU: every box ended before it. */
		if (v->start != cur && !v->joined) {
			close_to(&s, 0, cur);
			same = 0;
		}
		close_to(&s, same, v->start);
		if (grow__reserve((void **)&s.open, &s.open_cap, nf - first + 1,
				  sizeof(*s.open))) {
			s.err = -ENOMEM;
			break;
		}
		for (uint32_t j = first + (uint32_t)same; j < nf; j++) {
			s.open[s.nopen].frame = fr[j];
			s.open[s.nopen++].start = v->start;
		}
		cur = v->end;
	}
	close_to(&s, 0, cur);
	free(s.open);
	if (s.err) {
		free(s.box);
		return s.err;
	}
	if (s.nbox > 1)
		qsort(s.box, s.nbox, sizeof(*s.box), cmp_box);
	*boxes = s.box;
	*n = s.nbox;
	return 0;
}

const char *lanes__thread_name(const struct lanes *l, const struct profile *p,
			       size_t i, char *buf, size_t len)
{
	const struct lane *ln = &l->lane[i];

	if (ln->thread != UINT32_MAX)
		return out__name(p, profile__frame_get(p, ln->thread));
	snprintf(buf, len, "tid %u", ln->tid);
	return buf;
}
