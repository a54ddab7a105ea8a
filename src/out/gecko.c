// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The Firefox Profiler's own format ("gecko", issue 21), as
 * profiler.firefox.com opens it: one thread per lane of the timeline
 * (src/out/lanes.h), each with its samples and their times, and its stack,
 * frame and string tables.  The layout is the gecko profile version 24,
 * the one the Firefox Profiler's own importers write (its `perf script`
 * converter: src/profile-logic/import/linux-perf.js) and upgrades itself.
 *
 * The profile is wrapped as Firefox DevTools saved its recordings,
 * {"profile": GECKO, "duration": MS, "systemHost": {"name": "Firefox"}}:
 * the Firefox Profiler opens the wrapped profile as well as a bare one,
 * and speedscope only opens this one (it imports the thread named
 * "GeckoMain", or the only thread).  As in Firefox, "GeckoMain" is a
 * process's main thread (its tid is the pid); the viewers name its track
 * after the process.
 *
 * Samples: a run of n samples of one stack is written as n samples from
 * its first to its last sample time, evenly spaced (both ends are the real
 * times; the ones between are within a period of theirs), and an off-CPU
 * span as one sample per period it lasted.  A sample lasts until the next
 * one, in both viewers; where a box ends before the thread's next event
 * (the thread slept, in cpu mode), a sample without a stack ends it.
 * Python frames are "name (file:line)", which both viewers read as a
 * function in a file at a line: the line is the function's first
 * (co_firstlineno, or the lowest one sampled), so that a function is one
 * function in the viewers whichever line each sample was at; the frame
 * table's line column has the sample's line.  Native frames are "name (in
 * library)", and the frames that say why a stack is what it is ("[off-cpu:
 * sleep]") "name (in pyprof-bpf)", so that speedscope keeps them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "lib/hashmap.h"
#include "out/formats.h"
#include "out/lanes.h"
#include "out/util.h"

#define GECKO_VERSION 24

enum category {
	CAT_OTHER,
	CAT_PYTHON,
	CAT_NATIVE,
	CAT_KERNEL,
	CAT_IDLE,
};

static const char categories[] =
	"[{\"name\":\"Other\",\"color\":\"grey\",\"subcategories\":[\"Other\"]},"
	"{\"name\":\"Python\",\"color\":\"yellow\",\"subcategories\":[\"Other\"]},"
	"{\"name\":\"Native\",\"color\":\"blue\",\"subcategories\":[\"Other\"]},"
	"{\"name\":\"Kernel\",\"color\":\"orange\",\"subcategories\":[\"Other\"]},"
	"{\"name\":\"Idle\",\"color\":\"transparent\",\"subcategories\":[\"Other\"]}]";

/* One thread's tables, built as its samples are written. */
struct thread_tables {
	struct hashmap frame_of; /* profile frame id + 1 -> frame index */
	struct hashmap stack_of; /* (prefix + 1) << 32 | frame -> stack */
	uint32_t *frames; /* frame index -> profile frame id */
	size_t nframes, frames_cap;
	uint64_t *stacks; /* stack index -> (prefix + 1) << 32 | frame */
	size_t nstacks, stacks_cap;
	uint32_t *stack_of_event; /* per profile stack: + 1, 0 unknown */
};

static void tables_free(struct thread_tables *t)
{
	hashmap__free(&t->frame_of);
	hashmap__free(&t->stack_of);
	free(t->frames);
	free(t->stacks);
	free(t->stack_of_event);
	memset(t, 0, sizeof(*t));
}

static int64_t frame_index(struct thread_tables *t, uint32_t frame)
{
	uint64_t v;

	if (hashmap__get(&t->frame_of, (uint64_t)frame + 1, &v))
		return (int64_t)v;
	if (grow__reserve((void **)&t->frames, &t->frames_cap, t->nframes + 1,
			  sizeof(*t->frames)) ||
	    hashmap__set(&t->frame_of, (uint64_t)frame + 1, t->nframes))
		return -ENOMEM;
	t->frames[t->nframes] = frame;
	return (int64_t)t->nframes++;
}

/* The stack index of frames[first..n) of profile stack st. */
static int64_t stack_index(struct thread_tables *t, const struct profile *p,
			   const struct lanes *l, uint32_t st)
{
	const uint32_t *fr;
	uint32_t n;
	uint64_t count, prefix = 0; /* index + 1; 0: the root */

	if (t->stack_of_event[st])
		return t->stack_of_event[st] - 1;
	profile__stack(p, st, &fr, &n, &count);
	for (uint32_t j = l->first_of[st]; j < n; j++) {
		int64_t f = frame_index(t, fr[j]);
		uint64_t k, v;

		if (f < 0)
			return f;
		k = prefix << 32 | (uint64_t)f;
		k = k ? k : 1ull << 63; /* a root stack of frame 0 */
		if (!hashmap__get(&t->stack_of, k, &v)) {
			if (grow__reserve((void **)&t->stacks, &t->stacks_cap,
					  t->nstacks + 1, sizeof(*t->stacks)) ||
			    hashmap__set(&t->stack_of, k, t->nstacks))
				return -ENOMEM;
			t->stacks[t->nstacks] = prefix << 32 | (uint64_t)f;
			v = t->nstacks++;
		}
		prefix = v + 1;
	}
	if (!prefix)
		return -1; /* no frame of its own: no stack */
	t->stack_of_event[st] = (uint32_t)prefix;
	return (int64_t)prefix - 1;
}

static enum category category(const struct profile *p, const struct pframe *fr)
{
	switch (fr->kind) {
	case PF_PYTHON:
		return CAT_PYTHON;
	case PF_NATIVE:
		return CAT_NATIVE;
	case PF_KERNEL:
		return CAT_KERNEL;
	default:
		return strncmp(out__name(p, fr), "[off-cpu", 8) == 0 ?
			       CAT_IDLE :
			       CAT_OTHER;
	}
}

/* A frame's location string, as the viewers parse it: a function's, for
 * a Python frame (first: the function's first line, or -1). */
static void put_location(FILE *f, const struct profile *p,
			 const struct pframe *fr, int32_t first)
{
	const char *name = out__name(p, fr);
	const char *file = fr->file ? profile__string(p, fr->file) : "";
	char *s = NULL;
	int n;

	if (fr->kind == PF_PYTHON && first >= 0)
		n = asprintf(&s, "%s (%s:%" PRId32 ")", name,
			     *file ? file : "?", first);
	else if (fr->kind == PF_PYTHON)
		n = asprintf(&s, "%s (%s)", name, *file ? file : "?");
	else if (fr->kind == PF_NATIVE && *file)
		n = asprintf(&s, "%s (in %s)", name, file);
	else if (fr->kind == PF_KERNEL)
		n = asprintf(&s, "%s (in [kernel.kallsyms])", name);
	else if (fr->kind == PF_MARKER)
		/* As if pyprof-bpf were a library: speedscope keeps only
		 * frames of the form "name (where)", and the Firefox
		 * Profiler shows where. */
		n = asprintf(&s, "%s (in pyprof-bpf)", name);
	else if (fr->kind == PF_TASK)
		/* An asyncio task (--async), kept the same way. */
		n = asprintf(&s, "%s (in asyncio)", name);
	else
		n = asprintf(&s, "%s", name);
	out__json_str(f, n < 0 || !s ? name : s);
	free(s);
}

static void put_ms(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%06" PRIu64, ns / 1000000, ns % 1000000);
}

struct writer {
	const struct profile *p;
	const struct lanes *l;
	const int32_t *first_line; /* per frame: its function's first line */
	FILE *f;
	bool first;
};

static void sample(struct writer *w, int64_t stack, uint64_t t)
{
	fputs(w->first ? "[" : ",[", w->f);
	w->first = false;
	if (stack >= 0)
		fprintf(w->f, "%" PRId64, stack);
	else
		fputs("null", w->f);
	fputc(',', w->f);
	put_ms(w->f, t - w->l->t0);
	fputs(",0]", w->f);
}

/* The samples of lane i, building its tables. */
static int write_samples(struct writer *w, size_t i, struct thread_tables *t)
{
	const struct lanes *l = w->l;
	const struct lane *ln = &l->lane[i];

	w->first = true;
	for (size_t k = ln->begin; k < ln->begin + ln->n; k++) {
		const struct lane_ev *v = &l->ev[k];
		int64_t st = stack_index(t, w->p, l, v->stack);
		uint64_t n = v->samples ? v->samples : 1;
		uint64_t from = v->start, to = v->span ? v->end : v->last;

		if (st < -1)
			return (int)st;
		if (v->hidden) /* left out by a filter: nothing shown */
			n = 1;
		for (uint64_t j = 0; j < n; j++) {
			uint64_t at;

			if (v->span)
				at = from + (to - from) * j / n;
			else
				at = n > 1 ? from + (to - from) * j / (n - 1) :
					     from;
			sample(w, st, at);
		}
		/* A gap before the next event (the thread slept), or the
		 * lane's end.  Between two spans the thread was on the CPU
		 * where the first ended: no gap. */
		if (k + 1 == ln->begin + ln->n ||
		    (l->ev[k + 1].start > v->end && !l->ev[k + 1].joined))
			sample(w, -1, v->end);
	}
	return 0;
}

static void write_tables(struct writer *w, const struct thread_tables *t)
{
	FILE *f = w->f;

	fputs(",\n\"stackTable\":{\"schema\":{\"prefix\":0,\"frame\":1},"
	      "\"data\":[",
	      f);
	for (size_t j = 0; j < t->nstacks; j++) {
		uint64_t prefix = t->stacks[j] >> 32;

		if (prefix)
			fprintf(f, "%s[%" PRIu64 ",%" PRIu64 "]", j ? "," : "",
				prefix - 1, t->stacks[j] & 0xffffffffu);
		else
			fprintf(f, "%s[null,%" PRIu64 "]", j ? "," : "",
				t->stacks[j] & 0xffffffffu);
	}
	fputs("]},\n\"frameTable\":{\"schema\":{\"location\":0,"
	      "\"relevantForJS\":1,\"innerWindowID\":2,\"implementation\":3,"
	      "\"optimizations\":4,\"line\":5,\"column\":6,\"category\":7,"
	      "\"subcategory\":8},\"data\":[",
	      f);
	/* Each frame's location is the string of the same index. */
	for (size_t j = 0; j < t->nframes; j++) {
		const struct pframe *fr =
			profile__frame_get(w->p, t->frames[j]);

		fprintf(f, "%s[%zu,false,0,null,null,", j ? "," : "", j);
		if (fr && fr->kind == PF_PYTHON && fr->line >= 0)
			fprintf(f, "%" PRId32, fr->line);
		else
			fputs("null", f);
		fprintf(f, ",null,%d,0]", fr ? (int)category(w->p, fr) : 0);
	}
	fputs("]},\n\"stringTable\":[", f);
	for (size_t j = 0; j < t->nframes; j++) {
		const struct pframe *fr =
			profile__frame_get(w->p, t->frames[j]);

		if (j)
			fputc(',', f);
		if (fr)
			put_location(f, w->p, fr, w->first_line[t->frames[j]]);
		else
			fputs("\"[unknown]\"", f);
	}
	fputs("]", f);
}

static int write_thread(struct writer *w, size_t i)
{
	const struct lane *ln = &w->l->lane[i];
	const char *proc =
		ln->proc == UINT32_MAX ?
			"all processes" :
			out__name(w->p, profile__frame_get(w->p, ln->proc));
	struct thread_tables t = {};
	char buf[32];
	int err;

	t.stack_of_event =
		calloc(profile__nstacks(w->p) + 1, sizeof(*t.stack_of_event));
	if (!t.stack_of_event)
		return -ENOMEM;
	fputs(i ? ",\n{\"name\":" : "\n{\"name\":", w->f);
	out__json_str(w->f, ln->pid && ln->tid == ln->pid ?
				    "GeckoMain" :
				    lanes__thread_name(w->l, w->p, i, buf,
						       sizeof(buf)));
	fputs(",\"processType\":\"default\",\"processName\":", w->f);
	out__json_str(w->f, proc);
	fprintf(w->f,
		",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32
		",\"registerTime\":0,\"unregisterTime\":null,\n"
		"\"markers\":{\"schema\":{\"name\":0,\"startTime\":1,"
		"\"endTime\":2,\"phase\":3,\"category\":4,\"data\":5},"
		"\"data\":[]},\n\"samples\":{\"schema\":{\"stack\":0,"
		"\"time\":1,\"responsiveness\":2},\"data\":[",
		ln->pid, ln->tid);
	err = write_samples(w, i, &t);
	if (!err) {
		fputs("]}", w->f);
		write_tables(w, &t);
		fputc('}', w->f);
	}
	tables_free(&t);
	return err;
}

int out_gecko__write(const struct profile *p, const struct out_meta *m, FILE *f)
{
	struct lanes l;
	struct writer w = { .p = p, .l = &l, .f = f };
	uint64_t drop_samples, drop_spans, drop_t;
	int err;

	err = lanes__build(&l, p, m ? m->freq : 0);
	if (err)
		return err;
	w.first_line = out__first_lines(p);
	if (!w.first_line) {
		lanes__free(&l);
		return -ENOMEM;
	}
	profile__timeline_dropped(p, &drop_samples, &drop_spans, &drop_t);
	fputs("{\"profile\":{\"meta\":{", f);
	fprintf(f, "\"version\":%d,\"interval\":", GECKO_VERSION);
	put_ms(f, l.period);
	fprintf(f, ",\"startTime\":%.3f,\"shutdownTime\":null,",
		m && m->start_time > 0 ? m->start_time * 1000.0 : 0.0);
	fputs("\"processType\":0,\"product\":", f);
	out__json_str(f,
		      *out__meta_title(m) ? out__meta_title(m) : "pyprof-bpf");
	fprintf(f,
		",\"stackwalk\":0,\"debug\":0,\"gcpoison\":0,\"asyncstack\":0,"
		"\"presymbolicated\":true,\"categories\":%s,"
		"\"markerSchema\":[]},\n\"libs\":[],\"processes\":[],"
		"\"pausedRanges\":[],\n\"threads\":[",
		categories);
	for (size_t i = 0; i < l.nlanes && !err; i++)
		err = write_thread(&w, i);
	fputs("]},\n\"duration\":", f);
	put_ms(f, l.t1 - l.t0);
	fputs(",\"systemHost\":{\"name\":\"Firefox\"},\n\"pyprof\":{"
	      "\"exporter\":\"pyprof-bpf\"",
	      f);
	if (m && m->python) {
		fputs(",\"python\":", f);
		out__json_str(f, m->python);
	}
	if (m && m->freq)
		fprintf(f, ",\"frequency_hz\":%u", m->freq);
	fprintf(f,
		",\"samples_dropped\":%" PRIu64 ",\"spans_dropped\":%" PRIu64
		",\"note\":\"wrapped as Firefox DevTools recordings are, for "
		"speedscope; the Firefox Profiler opens it as it is\"}}\n",
		drop_samples, drop_spans);
	free((void *)w.first_line);
	lanes__free(&l);
	if (err)
		return err;
	return out__finish(f);
}
