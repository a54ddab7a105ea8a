// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A timeline in the Chrome trace event format (JSON), as Perfetto
 * (ui.perfetto.dev), chrome://tracing and speedscope open it: one track per
 * thread (its lane, src/out/lanes.h) in one process per process frame,
 * with what that thread ran over time as nested "X" (complete) events.
 *
 * Every sample carries its time (issue 21), so a box starts at a real
 * sample: consecutive samples with one stack are one box, which ends where
 * the thread's next different sample begins (or one period after its last
 * sample, when the thread then slept); an off-CPU span (wall mode) is as
 * long as the kernel saw the thread away.  Times are exact to 1/F.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "out/formats.h"
#include "out/lanes.h"
#include "out/util.h"

struct state {
	const struct profile *p;
	struct lanes l;
	uint32_t *pid; /* per lane: the trace's pid */
	bool first_event;
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
	case PF_TASK:
		return "task";
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

static void emit_x(struct state *s, FILE *f, size_t lane,
		   const struct lane_box *b)
{
	const struct pframe *fr = profile__frame_get(s->p, b->frame);

	sep(s, f);
	fputs("{\"ph\":\"X\",\"name\":", f);
	out__json_str(f, fr ? out__name(s->p, fr) : "[unknown]");
	fprintf(f, ",\"cat\":\"%s\",\"ts\":", kind_name(fr));
	put_us(f, b->start - s->l.t0);
	fputs(",\"dur\":", f);
	put_us(f, b->end - b->start);
	fprintf(f, ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32, s->pid[lane],
		s->l.lane[lane].tid);
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

/* The trace's pid of each lane: the process frame's, else one made up
 * per process frame. */
static int assign_pids(struct state *s)
{
	uint32_t next = 1;

	s->pid = calloc(s->l.nlanes ? s->l.nlanes : 1, sizeof(*s->pid));
	if (!s->pid)
		return -ENOMEM;
	for (size_t i = 0; i < s->l.nlanes; i++) {
		const struct lane *ln = &s->l.lane[i];

		s->pid[i] = ln->pid;
		for (size_t j = 0; j < i && !s->pid[i]; j++)
			if (s->l.lane[j].proc == ln->proc)
				s->pid[i] = s->pid[j];
		if (!s->pid[i])
			s->pid[i] = next++;
	}
	return 0;
}

static void write_metadata(struct state *s, FILE *f)
{
	char buf[32];

	for (size_t i = 0; i < s->l.nlanes; i++) {
		const struct lane *ln = &s->l.lane[i];
		bool first_of_proc = true;

		for (size_t j = 0; j < i; j++)
			if (s->pid[j] == s->pid[i])
				first_of_proc = false;
		if (first_of_proc) {
			sep(s, f);
			fprintf(f,
				"{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%" PRIu32
				",\"tid\":0,\"args\":{\"name\":",
				s->pid[i]);
			out__json_str(
				f, ln->proc == UINT32_MAX ?
					   "all processes" :
					   out__name(s->p,
						     profile__frame_get(
							     s->p, ln->proc)));
			fputs("}}", f);
		}
		sep(s, f);
		fprintf(f,
			"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%" PRIu32
			",\"tid\":%" PRIu32 ",\"args\":{\"name\":",
			s->pid[i], ln->tid);
		out__json_str(f, lanes__thread_name(&s->l, s->p, i, buf,
						    sizeof(buf)));
		fputs("}}", f);
		sep(s, f);
		fprintf(f,
			"{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%" PRIu32
			",\"tid\":%" PRIu32 ",\"args\":{\"sort_index\":%zu}}",
			s->pid[i], ln->tid, i);
	}
}

/* The header: what the file holds, and what the timeline lacks. */
static void write_other_data(struct state *s, const struct out_meta *m, FILE *f)
{
	const struct profile *p = s->p;
	uint64_t written = 0, on = 0, spans = 0, drop_samples, drop_spans, t;

	/* Samples of stacks with frames, as every writer counts them. */
	for (size_t i = 0; i < profile__nstacks(p); i++) {
		const uint32_t *fr;
		uint32_t n;
		uint64_t count;

		profile__stack(p, i, &fr, &n, &count);
		if (n)
			written += count;
	}
	for (size_t i = 0; i < s->l.nev; i++) {
		if (s->l.ev[i].hidden)
			continue;
		if (s->l.ev[i].span)
			spans++;
		else
			on += s->l.ev[i].samples;
	}
	profile__timeline_dropped(p, &drop_samples, &drop_spans, &t);
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
		",\"samples\":%" PRIu64 ",\"samples_on_timeline\":%" PRIu64
		",\"off_cpu_spans\":%" PRIu64 ",\"samples_dropped\":%" PRIu64
		",\"spans_dropped\":%" PRIu64,
		written, on, spans, drop_samples, drop_spans);
	fputs(",\"time_resolution\":\"each sample's own time: a box starts "
	      "at a sample and ends where the thread's next different sample "
	      "or off-CPU span begins, or one sampling period after its last "
	      "sample when the thread then slept; off-CPU spans (wall mode) "
	      "as the kernel saw them\"},\n\"traceEvents\":[",
	      f);
}

int out_trace__write(const struct profile *p, const struct out_meta *m, FILE *f)
{
	struct state s = { .p = p, .first_event = true };
	uint64_t drop_samples, drop_spans, drop_t;
	struct lane_box *boxes = NULL;
	size_t nbox;
	int err;

	err = lanes__build(&s.l, p, m ? m->freq : 0);
	if (err)
		return err;
	err = assign_pids(&s);
	if (err)
		goto out;
	write_other_data(&s, m, f);
	write_metadata(&s, f);
	profile__timeline_dropped(p, &drop_samples, &drop_spans, &drop_t);
	if (drop_samples || drop_spans) {
		sep(&s, f);
		fputs("{\"ph\":\"i\",\"s\":\"g\",\"pid\":0,\"tid\":0,\"ts\":",
		      f);
		put_us(f, drop_t > s.l.t0 ? drop_t - s.l.t0 : 0);
		fprintf(f,
			",\"name\":\"timeline full: %" PRIu64
			" later samples and %" PRIu64
			" off-CPU spans are in the profile but not on the "
			"timeline\"}",
			drop_samples, drop_spans);
	}
	for (size_t i = 0; i < s.l.nlanes && !err; i++) {
		err = lanes__boxes(&s.l, p, i, &boxes, &nbox);
		for (size_t j = 0; !err && j < nbox; j++)
			emit_x(&s, f, i, &boxes[j]);
		free(boxes);
		boxes = NULL;
	}
	fputs("\n]}\n", f);
out:
	free(s.pid);
	lanes__free(&s.l);
	if (err)
		return err;
	return out__finish(f);
}
