// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A timeline in the Chrome trace event format (JSON), as Perfetto
 * (ui.perfetto.dev), chrome://tracing and speedscope open it: one track per
 * thread (the PF_THREAD frame) in one process (the PF_PROCESS frame), with
 * what that thread ran over time as nested "X" (complete) events.
 *
 * Samples are counted in BPF and collected every drain, so the profile
 * knows only which stacks a drain brought in (profile__add_at()).  Within a
 * drain's interval each thread's stacks are laid end to end from the
 * interval's start, each as long as its samples stand for (count / Hz), in
 * a stable order; so a box is "this thread ran this for that long during
 * that interval", never finer than the interval.  Without a frequency the
 * stacks share the interval in proportion to their samples.  Adjacent
 * boxes of the same frame merge.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hashmap.h"
#include "out/formats.h"
#include "out/util.h"

struct thread {
	uint32_t proc, thread; /* frame ids, UINT32_MAX when absent */
	uint32_t pid, tid;
	uint64_t first_t;
};

struct open_frame {
	uint32_t frame;
	uint64_t start;
};

/* A box closed but not yet written: a thread's are written parent first,
 * so that viewers nest boxes of the same start and length right. */
struct xbox {
	uint32_t frame, depth;
	uint64_t start, end;
};

struct state {
	const struct profile *p;
	struct out_labels labels;
	struct thread *th;
	size_t nth;
	uint32_t *thread_of; /* stack -> thread */
	uint32_t *first_of; /* stack -> first frame after process, thread */
	uint32_t *rank; /* stack -> rank in label order */
	uint64_t *start; /* event -> its interval's start */
	uint64_t t0; /* the origin of the output's times */
	struct open_frame *open;
	size_t nopen, open_cap;
	struct xbox *box;
	size_t nbox, box_cap;
	bool first_event;
	int err;
};

static const char *kind_name(const struct pframe *fr)
{
	switch (fr ? fr->kind : PF_MARKER) {
	case PF_PYTHON:
		return "python";
	case PF_NATIVE:
		return "native";
	case PF_KERNEL:
		return "kernel";
	case PF_PROCESS:
		return "process";
	case PF_THREAD:
		return "thread";
	default:
		return "marker";
	}
}

static void put_us(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

static void sep(struct state *s, FILE *f)
{
	fputs(s->first_event ? "\n" : ",\n", f);
	s->first_event = false;
}

static void emit_x(struct state *s, FILE *f, const struct thread *t,
		   uint32_t frame, uint64_t start, uint64_t end)
{
	const struct pframe *fr = profile__frame_get(s->p, frame);

	sep(s, f);
	fputs("{\"ph\":\"X\",\"name\":", f);
	out__json_str(f, fr ? out__name(s->p, fr) : "[unknown]");
	fprintf(f, ",\"cat\":\"%s\",\"ts\":", kind_name(fr));
	put_us(f, start - s->t0);
	fputs(",\"dur\":", f);
	put_us(f, end - start);
	fprintf(f, ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32, t->pid, t->tid);
	if (fr && fr->kind == PF_PYTHON) {
		fputs(",\"args\":{\"file\":", f);
		out__json_str(f,
			      fr->file ? profile__string(s->p, fr->file) : "?");
		if (fr->line >= 0)
			fprintf(f, ",\"line\":%" PRId32, fr->line);
		fputc('}', f);
	} else if (fr && fr->kind == PF_NATIVE && fr->file) {
		fputs(",\"args\":{\"file\":", f);
		out__json_str(f, profile__string(s->p, fr->file));
		fputc('}', f);
	}
	fputc('}', f);
}

/* Closes open frames down to depth keep, at time end. */
static void close_to(struct state *s, size_t keep, uint64_t end)
{
	while (s->nopen > keep) {
		struct open_frame *o = &s->open[--s->nopen];
		struct xbox *b;

		if (end <= o->start)
			continue;
		if (s->nbox == s->box_cap) {
			size_t ncap = s->box_cap ? s->box_cap * 2 : 256;
			void *nb = realloc(s->box, ncap * sizeof(*s->box));

			if (!nb) {
				s->err = -ENOMEM;
				return;
			}
			s->box = nb;
			s->box_cap = ncap;
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
	const struct xbox *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

/* Writes thread t's boxes, in time order, parents first. */
static void flush_boxes(struct state *s, FILE *f, const struct thread *t)
{
	if (s->nbox > 1)
		qsort(s->box, s->nbox, sizeof(*s->box), cmp_box);
	for (size_t i = 0; i < s->nbox; i++)
		emit_x(s, f, t, s->box[i].frame, s->box[i].start,
		       s->box[i].end);
	s->nbox = 0;
}

/* Lays one stack on thread t from start to end, merging with what is
 * open when it continues without a gap. */
static void slice(struct state *s, uint32_t stack, uint64_t start, uint64_t end,
		  uint64_t *cur)
{
	const uint32_t *fr;
	uint32_t n, first = s->first_of[stack];
	uint64_t count;
	size_t same = 0;

	profile__stack(s->p, stack, &fr, &n, &count);
	if (start != *cur)
		close_to(s, 0, *cur);
	while (same < s->nopen && first + same < n &&
	       s->open[same].frame == fr[first + same])
		same++;
	close_to(s, same, start);
	if (n - first > s->open_cap) {
		size_t ncap = n - first;
		void *no = realloc(s->open, ncap * sizeof(*s->open));

		if (!no) {
			s->err = -ENOMEM;
			return;
		}
		s->open = no;
		s->open_cap = ncap;
	}
	for (uint32_t j = first + (uint32_t)same; j < n; j++) {
		s->open[s->nopen].frame = fr[j];
		s->open[s->nopen++].start = start;
	}
	*cur = end;
}

/* For sorting stacks by their frames' labels (after process, thread). */
static int cmp_stack(const void *a, const void *b, void *arg)
{
	struct state *s = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	const uint32_t *fx, *fy;
	uint32_t nx, ny, i, j;
	uint64_t c;

	profile__stack(s->p, x, &fx, &nx, &c);
	profile__stack(s->p, y, &fy, &ny, &c);
	for (i = s->first_of[x], j = s->first_of[y]; i < nx || j < ny;
	     i++, j++) {
		int r;

		if (i >= nx)
			return -1;
		if (j >= ny)
			return 1;
		r = strcmp(out_labels__get(&s->labels, s->p, fx[i], &s->err),
			   out_labels__get(&s->labels, s->p, fy[j], &s->err));
		if (r)
			return r;
	}
	return x < y ? -1 : x > y;
}

/* Events in (thread, time, stack rank) order. */
static int cmp_event(const void *a, const void *b, void *arg)
{
	const struct state *s = arg;
	const struct ptime_event *x =
		profile__event(s->p, *(const uint32_t *)a);
	const struct ptime_event *y =
		profile__event(s->p, *(const uint32_t *)b);
	uint32_t tx = s->thread_of[x->stack], ty = s->thread_of[y->stack];

	if (tx != ty)
		return tx < ty ? -1 : 1;
	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	if (s->rank[x->stack] != s->rank[y->stack])
		return s->rank[x->stack] < s->rank[y->stack] ? -1 : 1;
	return 0;
}

static int find_threads(struct state *s)
{
	const struct profile *p = s->p;
	size_t nst = profile__nstacks(p), cap = 0;
	struct hashmap index = {};
	uint32_t next_pid = 1, next_tid = 1;
	int err = 0;

	for (size_t i = 0; i < profile__nevents(p); i++) {
		const struct ptime_event *e = profile__event(p, i);
		const uint32_t *fr;
		uint32_t n, proc, thread;
		uint64_t count, k, id;

		if (e->stack >= nst || s->thread_of[e->stack] != UINT32_MAX)
			continue;
		profile__stack(p, e->stack, &fr, &n, &count);
		if (!n)
			continue; /* as in every writer: no frames, not shown */
		s->first_of[e->stack] = out__split(p, fr, n, &proc, &thread);
		/* Exact and never 0: two 32-bit ids, top bit flipped. */
		k = ((uint64_t)proc << 32 | thread) ^ (1ull << 63);
		if (!hashmap__get(&index, k, &id)) {
			struct thread *t;

			if (s->nth == cap) {
				void *nt;

				cap = cap ? cap * 2 : 16;
				nt = realloc(s->th, cap * sizeof(*s->th));
				if (!nt) {
					err = -ENOMEM;
					goto out;
				}
				s->th = nt;
			}
			id = s->nth;
			t = &s->th[s->nth++];
			t->proc = proc;
			t->thread = thread;
			t->first_t = e->t_ns;
			t->pid = 0;
			/* The pid a process frame carries, else a made-up
			 * one: the same for every thread of the process. */
			for (size_t j = 0; j < id && !t->pid; j++)
				if (s->th[j].proc == proc)
					t->pid = s->th[j].pid;
			if (!t->pid && proc != UINT32_MAX)
				t->pid = out__label_pid(out__name(
					p, profile__frame_get(p, proc)));
			if (!t->pid)
				t->pid = next_pid++;
			t->tid = next_tid++;
			err = hashmap__set(&index, k, id);
			if (err)
				goto out;
		}
		s->thread_of[e->stack] = (uint32_t)id;
	}
out:
	hashmap__free(&index);
	return err;
}

/* Each event's interval starts at the previous drain's time; the first at
 * the origin, or one usual interval before it. */
static void find_intervals(struct state *s)
{
	const struct profile *p = s->p;
	size_t ne = profile__nevents(p);
	uint64_t first = profile__event(p, 0)->t_ns, origin, gap = 0;
	uint64_t prev_t = first, start;

	for (size_t i = 1; i < ne; i++) {
		uint64_t t = profile__event(p, i)->t_ns;

		if (t > prev_t && (!gap || t - prev_t < gap))
			gap = t - prev_t;
		prev_t = t;
	}
	origin = profile__timeline_origin(p);
	if (!origin || origin > first)
		origin = first - (gap && gap <= first	 ? gap :
				  first >= 1000000000ull ? 1000000000ull :
							   first);
	s->t0 = origin;
	start = origin;
	prev_t = first;
	for (size_t i = 0; i < ne; i++) {
		uint64_t t = profile__event(p, i)->t_ns;

		if (t != prev_t) {
			start = prev_t;
			prev_t = t;
		}
		s->start[i] = start;
	}
}

static void write_metadata(struct state *s, FILE *f)
{
	for (size_t i = 0; i < s->nth; i++) {
		const struct thread *t = &s->th[i];
		bool first_of_proc = true;

		for (size_t j = 0; j < i; j++)
			if (s->th[j].pid == t->pid)
				first_of_proc = false;
		if (first_of_proc) {
			sep(s, f);
			fprintf(f,
				"{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%" PRIu32
				",\"tid\":0,\"args\":{\"name\":",
				t->pid);
			out__json_str(
				f, t->proc == UINT32_MAX ?
					   "all processes" :
					   out__name(s->p,
						     profile__frame_get(
							     s->p, t->proc)));
			fputs("}}", f);
		}
		sep(s, f);
		fprintf(f,
			"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%" PRIu32
			",\"tid\":%" PRIu32 ",\"args\":{\"name\":",
			t->pid, t->tid);
		out__json_str(f, t->thread == UINT32_MAX ?
					 "all threads" :
					 out__name(s->p,
						   profile__frame_get(
							   s->p, t->thread)));
		fputs("}}", f);
		sep(s, f);
		fprintf(f,
			"{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%" PRIu32
			",\"tid\":%" PRIu32 ",\"args\":{\"sort_index\":%zu}}",
			t->pid, t->tid, i);
	}
}

/* Lays out the events of one thread and drain, order[b..e). */
static void write_drain(struct state *s, const uint32_t *order, size_t b,
			size_t e, uint64_t period, uint64_t *cur)
{
	const struct ptime_event *first = profile__event(s->p, order[b]);
	uint64_t start = s->start[order[b]], len = first->t_ns - start;
	double sum = 0, scale, at;

	for (size_t i = b; i < e; i++)
		sum += (double)profile__event(s->p, order[i])->count;
	if (period && sum * (double)period <= (double)len)
		scale = (double)period;
	else
		scale = sum > 0 ? (double)len / sum : 0;
	at = (double)start;
	for (size_t i = b; i < e && !s->err; i++) {
		const struct ptime_event *ev = profile__event(s->p, order[i]);
		uint64_t from = (uint64_t)at, to;

		at += (double)ev->count * scale;
		to = i + 1 == e && !period ? first->t_ns : (uint64_t)at;
		if (to > first->t_ns)
			to = first->t_ns;
		slice(s, ev->stack, from, to, cur);
	}
}

int out_trace__write(const struct profile *p, const struct out_meta *m, FILE *f)
{
	size_t ne = profile__nevents(p), nst = profile__nstacks(p), nord = 0;
	struct state s = { .p = p, .first_event = true };
	uint64_t period = 0, drop_events, drop_samples, drop_t, in_timeline = 0;
	uint64_t written = 0;
	uint32_t *order = NULL, *by_label = NULL;
	int err;

	if (!ne)
		return -ENODATA;
	if (m && m->freq)
		period = (1000000000ull + m->freq / 2) / m->freq;
	err = out_labels__init(&s.labels, p);
	if (err)
		return err;
	s.thread_of = malloc((nst ? nst : 1) * sizeof(*s.thread_of));
	s.first_of = calloc(nst ? nst : 1, sizeof(*s.first_of));
	s.rank = calloc(nst ? nst : 1, sizeof(*s.rank));
	s.start = malloc(ne * sizeof(*s.start));
	order = malloc(ne * sizeof(*order));
	by_label = malloc((nst ? nst : 1) * sizeof(*by_label));
	if (!s.thread_of || !s.first_of || !s.rank || !s.start || !order ||
	    !by_label) {
		err = -ENOMEM;
		goto out;
	}
	memset(s.thread_of, 0xff, nst * sizeof(*s.thread_of));
	err = find_threads(&s);
	if (err)
		goto out;
	find_intervals(&s);

	/* Stacks ranked by label, so a drain's stacks come in the same
	 * order every time and boxes line up across drains. */
	for (size_t i = 0; i < nst; i++)
		by_label[i] = (uint32_t)i;
	qsort_r(by_label, nst, sizeof(*by_label), cmp_stack, &s);
	for (size_t i = 0; i < nst; i++)
		s.rank[by_label[i]] = (uint32_t)i;
	for (size_t i = 0; i < ne; i++) {
		const struct ptime_event *e = profile__event(p, i);

		if (e->stack >= nst || s.thread_of[e->stack] == UINT32_MAX)
			continue;
		order[nord++] = (uint32_t)i;
		in_timeline += e->count;
	}
	if (!nord) {
		err = -ENODATA;
		goto out;
	}
	qsort_r(order, nord, sizeof(*order), cmp_event, &s);
	if (s.err) {
		err = s.err;
		goto out;
	}

	profile__timeline_dropped(p, &drop_events, &drop_samples, &drop_t);
	/* Samples of stacks with frames, as every writer counts them. */
	for (size_t i = 0; i < nst; i++) {
		const uint32_t *fr;
		uint32_t n;
		uint64_t count;

		profile__stack(p, i, &fr, &n, &count);
		if (n)
			written += count;
	}
	fputs("{\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"exporter\":\"pyprof-bpf\"",
	      f);
	if (*out__meta_title(m)) {
		fputs(",\"title\":", f);
		out__json_str(f, out__meta_title(m));
	}
	if (m && m->python) {
		fputs(",\"python\":", f);
		out__json_str(f, m->python);
	}
	if (m && m->freq)
		fprintf(f, ",\"frequency_hz\":%u", m->freq);
	fprintf(f,
		",\"samples\":%" PRIu64 ",\"samples_in_timeline\":%" PRIu64
		",\"events_dropped\":%" PRIu64 ",\"samples_dropped\":%" PRIu64,
		written, in_timeline, drop_events, drop_samples);
	fputs(",\"time_resolution\":\"the interval between two collections of "
	      "samples (--interval): within it, a thread's stacks are laid end "
	      "to end, each as long as its samples stand for\"",
	      f);
	fputs("},\n\"traceEvents\":[", f);
	write_metadata(&s, f);
	if (drop_events) {
		sep(&s, f);
		fputs("{\"ph\":\"i\",\"s\":\"g\",\"pid\":0,\"tid\":0,\"ts\":",
		      f);
		put_us(f, drop_t > s.t0 ? drop_t - s.t0 : 0);
		fprintf(f,
			",\"name\":\"timeline full: %" PRIu64
			" later samples are in the profile but not on the timeline\"}",
			drop_samples);
	}
	for (size_t b = 0; b < nord && !s.err;) {
		uint32_t th = s.thread_of[profile__event(p, order[b])->stack];
		uint64_t cur = 0;

		while (b < nord && !s.err &&
		       s.thread_of[profile__event(p, order[b])->stack] == th) {
			uint64_t t = profile__event(p, order[b])->t_ns;
			size_t e = b;

			while (e < nord &&
			       s.thread_of[profile__event(p, order[e])->stack] ==
				       th &&
			       profile__event(p, order[e])->t_ns == t)
				e++;
			write_drain(&s, order, b, e, period, &cur);
			b = e;
		}
		close_to(&s, 0, cur);
		flush_boxes(&s, f, &s.th[th]);
	}
	fputs("\n]}\n", f);
	err = s.err;
out:
	free(order);
	free(by_label);
	free(s.thread_of);
	free(s.first_of);
	free(s.rank);
	free(s.start);
	free(s.th);
	free(s.open);
	free(s.box);
	out_labels__free(&s.labels);
	if (err)
		return err;
	return out__finish(f);
}
