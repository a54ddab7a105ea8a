// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The callgrind format (valgrind's docs/callgrind-format), as KCacheGrind
 * and callgrind_annotate read it.  One event, "Samples".  A function is a
 * name in a file; positions are lines.  Each stack gives its leaf line its
 * own cost, and each call on it an inclusive cost: the "calls=N LINE" line
 * counts the samples the call was on the stack in (a sampler cannot count
 * calls), followed by the caller's line and the samples.
 *
 * Recursion: a call into a function already on the stack below it is not
 * written, so every function's incoming calls add up to exactly the
 * samples it was on the stack in (its inclusive cost, as callgrind_annotate
 * --inclusive=yes computes it), and nothing is counted twice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hashmap.h"
#include "out/formats.h"
#include "out/util.h"

#define SELF UINT32_MAX

struct func {
	uint32_t name, file; /* profile string ids (file 0: none) */
	uint32_t order; /* rank in (file, name) order */
	uint32_t seen; /* the last stack it was seen in, + 1 */
	uint32_t out_id; /* compressed id once written (0: not yet) */
};

struct rec {
	uint32_t fn, cfn; /* cfn SELF: the function's own cost */
	int32_t line, cline;
	uint64_t count;
};

struct state {
	const struct profile *p;
	struct func *fn;
	size_t nfn, fn_cap;
	struct hashmap fn_index;
	uint32_t *fn_of; /* frame id -> function + 1 */
	struct rec *recs;
	size_t nrec, rec_cap;
	uint32_t *file_out; /* string id -> compressed file id (0: not yet) */
	uint32_t next_file, next_fn;
};

static int64_t function_of(struct state *s, uint32_t frame)
{
	const struct pframe *fr = profile__frame_get(s->p, frame);
	uint64_t k, id;
	uint32_t file;

	if (!fr)
		return -EINVAL;
	if (s->fn_of[frame])
		return s->fn_of[frame] - 1;
	file = fr->kind == PF_PYTHON || fr->kind == PF_NATIVE ? fr->file : 0;
	k = ((uint64_t)fr->name << 32 | file) + 1;
	if (!hashmap__get(&s->fn_index, k, &id)) {
		if (s->nfn == s->fn_cap) {
			size_t ncap = s->fn_cap ? s->fn_cap * 2 : 64;
			void *nf = realloc(s->fn, ncap * sizeof(*s->fn));

			if (!nf)
				return -ENOMEM;
			s->fn = nf;
			s->fn_cap = ncap;
		}
		id = s->nfn;
		memset(&s->fn[id], 0, sizeof(s->fn[id]));
		s->fn[id].name = fr->name;
		s->fn[id].file = file;
		if (hashmap__set(&s->fn_index, k, id))
			return -ENOMEM;
		s->nfn++;
	}
	s->fn_of[frame] = (uint32_t)id + 1;
	return (int64_t)id;
}

static int add_rec(struct state *s, uint32_t fn, int32_t line, uint32_t cfn,
		   int32_t cline, uint64_t count)
{
	struct rec *r;

	if (s->nrec == s->rec_cap) {
		size_t ncap = s->rec_cap ? s->rec_cap * 2 : 256;
		void *nr = realloc(s->recs, ncap * sizeof(*s->recs));

		if (!nr)
			return -ENOMEM;
		s->recs = nr;
		s->rec_cap = ncap;
	}
	r = &s->recs[s->nrec++];
	r->fn = fn;
	r->cfn = cfn;
	r->line = line < 0 ? 0 : line;
	r->cline = cline < 0 ? 0 : cline;
	r->count = count;
	return 0;
}

static int collect(struct state *s)
{
	const struct profile *p = s->p;
	int err = 0;

	for (size_t i = 0; i < profile__nstacks(p); i++) {
		const uint32_t *fr;
		uint32_t n, prev = 0;
		uint64_t count;

		profile__stack(p, i, &fr, &n, &count);
		if (!n || !count)
			continue;
		for (uint32_t j = 0; j < n; j++) {
			int64_t f = function_of(s, fr[j]);
			const struct pframe *pf = profile__frame_get(p, fr[j]);

			if (f < 0)
				return (int)f;
			/* A call only into a function not already below. */
			if (j && s->fn[f].seen != i + 1)
				err = add_rec(
					s, prev,
					profile__frame_get(p, fr[j - 1])->line,
					(uint32_t)f, pf->line, count);
			if (err)
				return err;
			s->fn[f].seen = (uint32_t)(i + 1);
			prev = (uint32_t)f;
		}
		err = add_rec(s, prev, profile__frame_get(p, fr[n - 1])->line,
			      SELF, 0, count);
		if (err)
			return err;
	}
	return 0;
}

static int cmp_fn(const void *a, const void *b, void *arg)
{
	const struct state *s = arg;
	const struct func *x = &s->fn[*(const uint32_t *)a];
	const struct func *y = &s->fn[*(const uint32_t *)b];
	int c = strcmp(profile__string(s->p, x->file),
		       profile__string(s->p, y->file));

	if (!c)
		c = strcmp(profile__string(s->p, x->name),
			   profile__string(s->p, y->name));
	if (!c)
		c = x->name != y->name ?
			    (x->name < y->name ? -1 : 1) :
			    (x->file < y->file ? -1 : x->file > y->file);
	return c;
}

static int cmp_rec(const void *a, const void *b, void *arg)
{
	const struct state *s = arg;
	const struct rec *x = a, *y = b;
	uint32_t xo, yo;

	if (x->fn != y->fn)
		return s->fn[x->fn].order < s->fn[y->fn].order ? -1 : 1;
	if ((x->cfn == SELF) != (y->cfn == SELF))
		return x->cfn == SELF ? -1 : 1;
	if (x->cfn != y->cfn) {
		xo = s->fn[x->cfn].order;
		yo = s->fn[y->cfn].order;
		return xo < yo ? -1 : 1;
	}
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->cline != y->cline)
		return x->cline < y->cline ? -1 : 1;
	return 0;
}

/* "(id) name" the first time, "(id)" after. */
static void put_file(struct state *s, FILE *f, const char *key, uint32_t file)
{
	uint32_t *id = &s->file_out[file];

	if (*id) {
		fprintf(f, "%s=(%" PRIu32 ")\n", key, *id);
		return;
	}
	*id = ++s->next_file;
	fprintf(f, "%s=(%" PRIu32 ") ", key, *id);
	out__line_str(f, file ? profile__string(s->p, file) : "???");
	fputc('\n', f);
}

static void put_fn(struct state *s, FILE *f, const char *key, uint32_t fn)
{
	struct func *x = &s->fn[fn];
	const char *name;

	if (x->out_id) {
		fprintf(f, "%s=(%" PRIu32 ")\n", key, x->out_id);
		return;
	}
	x->out_id = ++s->next_fn;
	name = profile__string(s->p, x->name);
	fprintf(f, "%s=(%" PRIu32 ") ", key, x->out_id);
	out__line_str(f, *name ? name : "[unknown]");
	fputc('\n', f);
}

int out_callgrind__write(const struct profile *p, const struct out_meta *m,
			 FILE *f)
{
	struct state s = { .p = p };
	size_t nframes = profile__nframes(p), nstr = 0;
	uint32_t *order = NULL;
	uint64_t total = 0;
	int err;

	s.fn_of = calloc(nframes ? nframes : 1, sizeof(*s.fn_of));
	if (!s.fn_of)
		return -ENOMEM;
	err = collect(&s);
	if (err)
		goto out;
	/* Functions in (file, name) order, so the output is stable. */
	order = malloc((s.nfn ? s.nfn : 1) * sizeof(*order));
	for (size_t i = 0; i < nframes; i++) {
		const struct pframe *fr = profile__frame_get(p, (uint32_t)i);

		if (fr && fr->file >= nstr)
			nstr = fr->file + 1;
	}
	s.file_out = calloc(nstr ? nstr : 1, sizeof(*s.file_out));
	if (!order || !s.file_out) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s.nfn; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, s.nfn, sizeof(*order), cmp_fn, &s);
	for (size_t i = 0; i < s.nfn; i++)
		s.fn[order[i]].order = (uint32_t)i;
	if (s.nrec > 1)
		qsort_r(s.recs, s.nrec, sizeof(*s.recs), cmp_rec, &s);

	for (size_t i = 0; i < s.nrec; i++)
		if (s.recs[i].cfn == SELF)
			total += s.recs[i].count;
	fputs("# callgrind format\nversion: 1\ncreator: pyprof-bpf\n", f);
	if (*out__meta_title(m)) {
		fputs("cmd: ", f);
		out__line_str(f, out__meta_title(m));
		fputc('\n', f);
	}
	if (m && (m->freq || m->python)) {
		fputs("desc: Sampled", f);
		if (m->freq)
			fprintf(f, " at %u Hz", m->freq);
		if (m->python) {
			fputs(" from CPython ", f);
			out__line_str(f, m->python);
		}
		fputc('\n', f);
	}
	fputs("positions: line\nevents: Samples\n", f);
	fprintf(f, "summary: %" PRIu64 "\n", total);

	for (size_t i = 0; i < s.nrec;) {
		uint32_t fn = s.recs[i].fn;

		fputc('\n', f);
		put_file(&s, f, "fl", s.fn[fn].file);
		put_fn(&s, f, "fn", fn);
		for (; i < s.nrec && s.recs[i].fn == fn;) {
			struct rec r = s.recs[i++];

			/* Merge records of the same lines and callee. */
			while (i < s.nrec && cmp_rec(&r, &s.recs[i], &s) == 0)
				r.count += s.recs[i++].count;
			if (r.cfn == SELF) {
				fprintf(f, "%" PRId32 " %" PRIu64 "\n", r.line,
					r.count);
				continue;
			}
			put_file(&s, f, "cfi", s.fn[r.cfn].file);
			put_fn(&s, f, "cfn", r.cfn);
			fprintf(f, "calls=%" PRIu64 " %" PRId32 "\n", r.count,
				r.cline);
			fprintf(f, "%" PRId32 " %" PRIu64 "\n", r.line,
				r.count);
		}
	}
	fprintf(f, "\ntotals: %" PRIu64 "\n", total);
out:
	free(order);
	free(s.file_out);
	free(s.fn_of);
	free(s.fn);
	free(s.recs);
	hashmap__free(&s.fn_index);
	if (err)
		return err;
	return out__finish(f);
}
