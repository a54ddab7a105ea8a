// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * one "sampled" profile per thread, named "THREAD (PROCESS)", the busiest
 * first; frames shared between them with their file and line; weights are
 * sample counts (unit "none").  The process and thread frames name the
 * profile instead of appearing in its stacks.
 *
 * A profile with a timeline (a live run with --timeline, issue 21) is
 * written as one "evented" profile per thread instead: each function's
 * boxes (src/out/lanes.h) as it opened and closed, in nanoseconds, so that
 * speedscope's Time Order view is the timeline, and its other views weigh
 * time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "out/formats.h"
#include "out/lanes.h"
#include "out/util.h"

#define PYPROF_EXPORTER "pyprof-bpf"

struct entry {
	size_t stack;
	uint32_t proc, thread; /* frame ids, UINT32_MAX if none */
	uint32_t first; /* first frame after them */
};

struct group {
	size_t begin, end; /* entries */
	uint64_t total;
};

struct ctx {
	const struct profile *p;
	struct out_labels *labels;
	int err;
};

static const char *label(struct ctx *c, uint32_t id)
{
	return id == UINT32_MAX ? "" :
				  out_labels__get(c->labels, c->p, id, &c->err);
}

static int cmp_id_label(struct ctx *c, uint32_t a, uint32_t b)
{
	int r = strcmp(label(c, a), label(c, b));

	if (r)
		return r;
	return a < b ? -1 : a > b;
}

static int cmp_entry(const void *x, const void *y, void *arg)
{
	const struct entry *a = x, *b = y;
	struct ctx *c = arg;
	const uint32_t *fa, *fb;
	uint32_t na, nb;
	uint64_t ca, cb;
	int r;

	r = cmp_id_label(c, a->proc, b->proc);
	if (!r)
		r = cmp_id_label(c, a->thread, b->thread);
	if (r)
		return r;
	profile__stack(c->p, a->stack, &fa, &na, &ca);
	profile__stack(c->p, b->stack, &fb, &nb, &cb);
	for (uint32_t i = a->first, j = b->first; i < na || j < nb; i++, j++) {
		if (i >= na)
			return -1;
		if (j >= nb)
			return 1;
		r = cmp_id_label(c, fa[i], fb[j]);
		if (r)
			return r;
	}
	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

static int cmp_group(const void *x, const void *y, void *arg)
{
	const struct group *a = x, *b = y;

	(void)arg;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	return a->begin < b->begin ? -1 : a->begin > b->begin;
}

static void write_frame(FILE *f, const struct profile *p, uint32_t id)
{
	const struct pframe *fr = profile__frame_get(p, id);

	fputs("{\"name\":", f);
	out__json_str(f, fr ? out__name(p, fr) : "[unknown]");
	if (fr && fr->kind == PF_PYTHON) {
		fputs(",\"file\":", f);
		out__json_str(f, fr->file ? profile__string(p, fr->file) : "?");
		if (fr->line >= 0)
			fprintf(f, ",\"line\":%" PRId32, fr->line);
	} else if (fr && fr->kind == PF_NATIVE && fr->file) {
		fputs(",\"file\":", f);
		out__json_str(f, profile__string(p, fr->file));
	}
	fputc('}', f);
}

static void write_profile_name(FILE *f, struct ctx *c, const struct entry *e)
{
	char *s = NULL;
	int n;

	if (e->thread != UINT32_MAX && e->proc != UINT32_MAX)
		n = asprintf(&s, "%s (%s)", label(c, e->thread),
			     label(c, e->proc));
	else if (e->thread != UINT32_MAX || e->proc != UINT32_MAX)
		n = asprintf(&s, "%s",
			     label(c, e->thread != UINT32_MAX ? e->thread :
								e->proc));
	else
		n = asprintf(&s, "all");
	if (n < 0) {
		c->err = -ENOMEM;
		out__json_str(f, "?");
		return;
	}
	out__json_str(f, s);
	free(s);
}

/* Everything the writer lays out before writing: the stacks sorted by
 * process and thread, their groups, and each frame's index in the shared
 * frame table (UINT32_MAX for frames no stack uses). */
struct layout {
	struct entry *es;
	struct group *gs;
	uint32_t *index;
	size_t ne, ng, nidx, nframes;
};

static void layout_free(struct layout *l)
{
	free(l->es);
	free(l->gs);
	free(l->index);
}

/* The non-empty stacks, sorted by process, thread, then stack. */
static void collect_entries(struct layout *l, struct ctx *c)
{
	const struct profile *p = c->p;
	size_t nst = profile__nstacks(p);

	for (size_t i = 0; i < nst; i++) {
		const uint32_t *fr;
		uint32_t n;
		uint64_t count;

		profile__stack(p, i, &fr, &n, &count);
		if (!n || !count)
			continue;
		l->es[l->ne].stack = i;
		l->es[l->ne].first = out__split(p, fr, n, &l->es[l->ne].proc,
						&l->es[l->ne].thread);
		l->ne++;
	}
	qsort_r(l->es, l->ne, sizeof(*l->es), cmp_entry, c);
}

/* Groups (one per process and thread), the busiest first, and the shared
 * frame table, numbered in the order the sorted stacks first use them. */
static void group_entries(struct layout *l, const struct profile *p)
{
	struct entry *es = l->es;

	for (size_t i = 0; i < l->ne; i++) {
		const uint32_t *fr;
		uint32_t n;
		uint64_t count;

		if (!i || es[i].proc != es[i - 1].proc ||
		    es[i].thread != es[i - 1].thread) {
			if (l->ng)
				l->gs[l->ng - 1].end = i;
			l->gs[l->ng].begin = i;
			l->gs[l->ng++].total = 0;
		}
		profile__stack(p, es[i].stack, &fr, &n, &count);
		l->gs[l->ng - 1].total += count;
		for (uint32_t j = es[i].first; j < n; j++)
			if (fr[j] < l->nframes && l->index[fr[j]] == UINT32_MAX)
				l->index[fr[j]] = (uint32_t)l->nidx++;
	}
	if (l->ng)
		l->gs[l->ng - 1].end = l->ne;
	qsort_r(l->gs, l->ng, sizeof(*l->gs), cmp_group, NULL);
}

static int layout_init(struct layout *l, struct ctx *c)
{
	size_t nst = profile__nstacks(c->p);

	memset(l, 0, sizeof(*l));
	l->nframes = profile__nframes(c->p);
	l->es = calloc(nst ? nst : 1, sizeof(*l->es));
	l->gs = calloc(nst ? nst : 1, sizeof(*l->gs));
	l->index = malloc((l->nframes ? l->nframes : 1) * sizeof(*l->index));
	if (!l->es || !l->gs || !l->index) {
		layout_free(l);
		return -ENOMEM;
	}
	memset(l->index, 0xff,
	       (l->nframes ? l->nframes : 1) * sizeof(*l->index));
	collect_entries(l, c);
	group_entries(l, c->p);
	return 0;
}

/* The shared frame table, in index order. */
static int write_frames(FILE *f, const struct profile *p,
			const struct layout *l)
{
	uint32_t *order = malloc((l->nidx ? l->nidx : 1) * sizeof(*order));

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < l->nframes; i++)
		if (l->index[i] != UINT32_MAX)
			order[l->index[i]] = (uint32_t)i;
	for (size_t i = 0; i < l->nidx; i++) {
		write_frame(f, p, order[i]);
		fputs(i + 1 < l->nidx ? ",\n" : "\n", f);
	}
	free(order);
	return 0;
}

/* One sampled profile: a group's stacks and their weights. */
static void write_profile(FILE *f, struct ctx *c, const struct layout *l,
			  const struct group *g)
{
	const struct profile *p = c->p;

	fputs("{\"type\":\"sampled\",\"name\":", f);
	write_profile_name(f, c, &l->es[g->begin]);
	fprintf(f,
		",\"unit\":\"none\",\"startValue\":0,\"endValue\":%" PRIu64
		",\n\"samples\":[",
		g->total);
	for (size_t i = g->begin; i < g->end; i++) {
		const struct entry *e = &l->es[i];
		const uint32_t *fr;
		uint32_t n;
		uint64_t count;

		profile__stack(p, e->stack, &fr, &n, &count);
		fputs(i > g->begin ? ",\n[" : "\n[", f);
		for (uint32_t j = e->first; j < n; j++)
			fprintf(f, "%s%" PRIu32, j > e->first ? "," : "",
				fr[j] < l->nframes ? l->index[fr[j]] : 0);
		fputc(']', f);
	}
	fputs("],\n\"weights\":[", f);
	for (size_t i = g->begin; i < g->end; i++) {
		const uint32_t *fr;
		uint32_t n;
		uint64_t count;

		profile__stack(p, l->es[i].stack, &fr, &n, &count);
		fprintf(f, "%s%" PRIu64, i > g->begin ? "," : "", count);
	}
	fputs("]}", f);
}

/* ---- issue 21: the timeline as evented profiles ---- */

/* Lane i's boxes as open and close events; frames numbered by index. */
static int write_events(FILE *f, const struct profile *p, const struct lanes *l,
			size_t i, const uint32_t *index)
{
	struct lane_box *b;
	size_t n, nopen = 0;
	uint64_t *ends = NULL;
	uint32_t *frames = NULL;
	bool first = true;
	int err = lanes__boxes(l, p, i, &b, &n);

	if (err)
		return err;
	ends = malloc((n ? n : 1) * sizeof(*ends));
	frames = malloc((n ? n : 1) * sizeof(*frames));
	if (!ends || !frames) {
		err = -ENOMEM;
		goto out;
	}
	/* Boxes nest: close what ended before each opens, innermost first. */
	for (size_t k = 0; k <= n; k++) {
		while (nopen && (k == n || ends[nopen - 1] <= b[k].start)) {
			nopen--;
			fprintf(f,
				"%s{\"type\":\"C\",\"frame\":%" PRIu32
				",\"at\":%" PRIu64 "}",
				first ? "" : ",", frames[nopen],
				ends[nopen] - l->t0);
			first = false;
		}
		if (k == n)
			break;
		frames[nopen] = index[b[k].frame];
		ends[nopen++] = b[k].end;
		fprintf(f,
			"%s{\"type\":\"O\",\"frame\":%" PRIu32
			",\"at\":%" PRIu64 "}",
			first ? "" : ",", index[b[k].frame],
			b[k].start - l->t0);
		first = false;
	}
out:
	free(ends);
	free(frames);
	free(b);
	return err;
}

static int write_evented(const struct profile *p, const struct out_meta *m,
			 FILE *f)
{
	size_t nframes = profile__nframes(p), nidx = 0;
	uint32_t *index = NULL, *order = NULL;
	struct lanes l;
	char buf[32];
	int err = lanes__build(&l, p, m ? m->freq : 0);

	if (err)
		return err;
	index = malloc((nframes ? nframes : 1) * sizeof(*index));
	order = malloc((nframes ? nframes : 1) * sizeof(*order));
	if (!index || !order) {
		err = -ENOMEM;
		goto out;
	}
	memset(index, 0xff, (nframes ? nframes : 1) * sizeof(*index));
	for (size_t i = 0; i < l.nev; i++) {
		const uint32_t *fr;
		uint32_t n;
		uint64_t count;

		profile__stack(p, l.ev[i].stack, &fr, &n, &count);
		for (uint32_t j = l.first_of[l.ev[i].stack]; j < n; j++)
			if (index[fr[j]] == UINT32_MAX) {
				order[nidx] = fr[j];
				index[fr[j]] = (uint32_t)nidx++;
			}
	}
	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n",
	      f);
	fputs("\"exporter\":\"" PYPROF_EXPORTER "\",\n\"name\":", f);
	out__json_str(f, *out__meta_title(m) ? out__meta_title(m) :
					       "pyprof-bpf profile");
	fputs(",\n\"activeProfileIndex\":0,\n\"shared\":{\"frames\":[\n", f);
	for (size_t i = 0; i < nidx; i++) {
		write_frame(f, p, order[i]);
		fputs(i + 1 < nidx ? ",\n" : "\n", f);
	}
	fputs("]},\n\"profiles\":[\n", f);
	for (size_t i = 0; i < l.nlanes && !err; i++) {
		const struct lane *ln = &l.lane[i];
		char *name = NULL;

		if (asprintf(&name, "%s (%s)",
			     lanes__thread_name(&l, p, i, buf, sizeof(buf)),
			     ln->proc == UINT32_MAX ?
				     "all processes" :
				     out__name(p, profile__frame_get(
							  p, ln->proc))) < 0) {
			err = -ENOMEM;
			break;
		}
		fputs("{\"type\":\"evented\",\"name\":", f);
		out__json_str(f, name);
		free(name);
		fprintf(f,
			",\"unit\":\"nanoseconds\",\"startValue\":0,"
			"\"endValue\":%" PRIu64 ",\n\"events\":[",
			l.t1 - l.t0);
		err = write_events(f, p, &l, i, index);
		fputs(i + 1 < l.nlanes ? "]},\n" : "]}\n", f);
	}
	fputs("]}\n", f);
out:
	free(index);
	free(order);
	lanes__free(&l);
	if (err)
		return err;
	return out__finish(f);
}

/* ---- end of issue 21 ---- */

int out_speedscope__write(const struct profile *p, const struct out_meta *m,
			  FILE *f)
{
	struct out_labels labels;
	struct ctx c = { .p = p, .labels = &labels };
	struct layout l;
	int err;

	if (profile__nevents(p))
		return write_evented(p, m, f);
	err = out_labels__init(&labels, p);
	if (err)
		return err;
	err = layout_init(&l, &c);
	if (err)
		goto out_labels;
	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n",
	      f);
	fputs("\"exporter\":\"" PYPROF_EXPORTER "\",\n\"name\":", f);
	out__json_str(f, *out__meta_title(m) ? out__meta_title(m) :
					       "pyprof-bpf profile");
	fputs(",\n\"activeProfileIndex\":0,\n\"shared\":{\"frames\":[\n", f);
	err = write_frames(f, p, &l);
	if (err)
		goto out_layout;
	fputs("]},\n\"profiles\":[\n", f);
	for (size_t g = 0; g < l.ng; g++) {
		write_profile(f, &c, &l, &l.gs[g]);
		fputs(g + 1 < l.ng ? ",\n" : "\n", f);
	}
	fputs("]}\n", f);
	err = c.err;
out_layout:
	layout_free(&l);
out_labels:
	out_labels__free(&labels);
	if (err)
		return err;
	return out__finish(f);
}
