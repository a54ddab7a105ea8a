// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Python's pstats format, as cProfile writes it and pstats.Stats, snakeviz
 * and gprof2dot read it: one marshalled dict
 *
 *   {(file, first line, name): (cc, nc, tt, ct, {caller: (nc, cc, tt, ct)})}
 *
 * with tt a function's own time and ct its cumulative time in seconds.
 * From samples: tt is the samples in which the function was the leaf, ct
 * those in which it was on the stack, each divided by the frequency.  A
 * sampler cannot count calls, so the counts are samples too: cc (the
 * primitive calls) the samples it was on the stack in, nc every frame of
 * it in them, so that a recursive function prints "nc/cc" as cProfile's
 * do.  Recursion is counted once in ct and cc.
 *
 * Callers come from the stacks: the frame below each frame.  Per caller,
 * nc counts every such call, cc those into a function not already on the
 * stack below (so the callers' cc add up to the function's, as cProfile's
 * do), tt the samples that ended in the call, ct the samples the call was
 * in, once per stack.  Python frames are keyed by (co_filename,
 * co_firstlineno, name): with folded input, which has no first lines, the
 * lowest line sampled in the function stands in.  Other frames are keyed
 * as cProfile keys built-ins, ("~", 0, name), which pstats prints as the
 * name alone; a native frame by its library, a kernel one by "[kernel]".
 * The process and thread frames are left out: pstats has no place for
 * them.
 *
 * The marshal encoding (CPython's Python/marshal.c, version 2 and later,
 * which every Python 3 reads): '{' key value ... '0' for a dict,
 * '(' + int32 count for a tuple, 'i' + int32 or 'l' + int32 digit count +
 * 15-bit digits for an int, 'g' + IEEE double for a float, 'u' + int32
 * length + UTF-8 for a str; all little-endian.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "lib/hashmap.h"
#include "out/formats.h"
#include "out/util.h"

struct fn {
	const char *file, *name; /* as written */
	int32_t line;
	uint64_t cc, nc, tt, ct; /* samples */
	size_t seen; /* the last stack it was on, + 1 */
	uint32_t order; /* rank in (file, line, name) order */
};

struct edge {
	uint32_t caller, callee; /* fn indexes */
	uint64_t nc, cc, tt, ct;
	size_t seen;
};

struct state {
	const struct profile *p;
	int32_t *first; /* per frame: its function's first line */
	uint32_t *fn_of; /* per frame: fn index + 1 */
	struct fn *fn;
	size_t nfn, fn_cap;
	struct hashmap fn_index;
	struct edge *edge;
	size_t nedge, edge_cap;
	struct hashmap edge_index;
	uint32_t *stack; /* scratch: one stack's fn indexes */
	size_t stack_cap;
	double freq; /* samples per second */
};

/* ---- marshal ---- */

static void put_u32(FILE *f, uint32_t v)
{
	fputc((int)(v & 0xff), f);
	fputc((int)(v >> 8 & 0xff), f);
	fputc((int)(v >> 16 & 0xff), f);
	fputc((int)(v >> 24 & 0xff), f);
}

static void m_int(FILE *f, uint64_t v)
{
	uint16_t digits[5]; /* 64 bits in 15-bit digits */
	uint32_t n = 0;

	if (v <= INT32_MAX) {
		fputc('i', f);
		put_u32(f, (uint32_t)v);
		return;
	}
	for (; v; v >>= 15)
		digits[n++] = (uint16_t)(v & 0x7fff);
	fputc('l', f);
	put_u32(f, n);
	for (uint32_t i = 0; i < n; i++) {
		fputc(digits[i] & 0xff, f);
		fputc(digits[i] >> 8, f);
	}
}

static void m_float(FILE *f, double d)
{
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	fputc('g', f);
	for (int i = 0; i < 8; i++)
		fputc((int)(bits >> (8 * i) & 0xff), f);
}

/* s as a str: bytes that are not UTF-8 become U+FFFD, since marshal's
 * reader rejects them; control characters '?', as the other line-based
 * formats have them, since pstats prints names one a line. */
static void m_str(FILE *f, const char *s)
{
	size_t len = 0;
	const char *q;
	uint32_t cp;

	for (q = s; *q;) {
		size_t n = out__utf8_next(q, &cp);

		len += cp == 0xfffd && n == 1 ? 3 : n;
		q += n;
	}
	fputc('u', f);
	put_u32(f, (uint32_t)len);
	for (q = s; *q;) {
		size_t n = out__utf8_next(q, &cp);

		if (cp == 0xfffd && n == 1)
			fputs("\xef\xbf\xbd", f);
		else if (cp < 0x20 || cp == 0x7f)
			fputc('?', f);
		else
			fwrite(q, 1, n, f);
		q += n;
	}
}

static void m_tuple(FILE *f, uint32_t n)
{
	fputc('(', f);
	put_u32(f, n);
}

/* ---- functions and calls ---- */

/* What frame fr is keyed by: file, first line and name as written. */
static void fn_key(const struct state *s, uint32_t id, const char **file,
		   int32_t *line, const char **name)
{
	const struct pframe *fr = profile__frame_get(s->p, id);

	*name = out__name(s->p, fr);
	*line = 0;
	switch (fr->kind) {
	case PF_PYTHON:
		*file = fr->file ? profile__string(s->p, fr->file) : "?";
		*line = s->first[id] < 0 ? 0 : s->first[id];
		break;
	case PF_NATIVE:
		*file = fr->file ? profile__string(s->p, fr->file) : "~";
		break;
	case PF_KERNEL:
		*file = "[kernel]";
		break;
	default:
		*file = "~";
		break;
	}
}

/* The fn of frame id, made on first sight; -ENOMEM. */
static int64_t fn_of(struct state *s, uint32_t id)
{
	const char *file, *name;
	uint64_t k, v;
	int32_t line;

	if (s->fn_of[id])
		return s->fn_of[id] - 1;
	fn_key(s, id, &file, &line, &name);
	k = hash_bytes(file, strlen(file),
		       hash_bytes(name, strlen(name), (uint64_t)line));
	for (;; k = hash64(k + 0x9e3779b97f4a7c15ull)) {
		const struct fn *x;

		if (!k)
			continue;
		if (!hashmap__get(&s->fn_index, k, &v))
			break;
		x = &s->fn[v];
		if (x->line == line && !strcmp(x->file, file) &&
		    !strcmp(x->name, name))
			goto found;
	}
	if (grow__reserve((void **)&s->fn, &s->fn_cap, s->nfn + 1,
			  sizeof(*s->fn)) ||
	    hashmap__set(&s->fn_index, k, s->nfn))
		return -ENOMEM;
	v = s->nfn++;
	memset(&s->fn[v], 0, sizeof(s->fn[v]));
	s->fn[v].file = file;
	s->fn[v].name = name;
	s->fn[v].line = line;
found:
	s->fn_of[id] = (uint32_t)v + 1;
	return (int64_t)v;
}

static struct edge *edge_of(struct state *s, uint32_t caller, uint32_t callee)
{
	uint64_t k = ((uint64_t)caller << 32 | callee) + 1, v;

	if (!hashmap__get(&s->edge_index, k, &v)) {
		if (grow__reserve((void **)&s->edge, &s->edge_cap, s->nedge + 1,
				  sizeof(*s->edge)) ||
		    hashmap__set(&s->edge_index, k, s->nedge))
			return NULL;
		v = s->nedge++;
		memset(&s->edge[v], 0, sizeof(s->edge[v]));
		s->edge[v].caller = caller;
		s->edge[v].callee = callee;
	}
	return &s->edge[v];
}

/* One stack of c samples, its frames fr[0..n) after process and thread. */
static int add_stack(struct state *s, size_t i, const uint32_t *fr, uint32_t n,
		     uint64_t c)
{
	if (grow__reserve((void **)&s->stack, &s->stack_cap, n,
			  sizeof(*s->stack)))
		return -ENOMEM;
	for (uint32_t j = 0; j < n; j++) {
		int64_t id = fn_of(s, fr[j]);
		struct fn *x;
		bool below;

		if (id < 0)
			return (int)id;
		s->stack[j] = (uint32_t)id;
		x = &s->fn[id];
		/* Already on the stack, nearer the root: a recursive call. */
		below = x->seen == i + 1;
		x->seen = i + 1;
		x->nc += c;
		if (!below) {
			x->cc += c;
			x->ct += c;
		}
		if (j + 1 == n)
			x->tt += c;
		if (j) {
			struct edge *e =
				edge_of(s, s->stack[j - 1], (uint32_t)id);

			if (!e)
				return -ENOMEM;
			e->nc += c;
			if (!below)
				e->cc += c;
			if (j + 1 == n)
				e->tt += c;
			if (e->seen != i + 1)
				e->ct += c;
			e->seen = i + 1;
		}
	}
	return 0;
}

static int cmp_fn(const void *a, const void *b, void *arg)
{
	const struct fn *fns = arg;
	const struct fn *x = &fns[*(const uint32_t *)a];
	const struct fn *y = &fns[*(const uint32_t *)b];
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_edge(const void *a, const void *b, void *arg)
{
	const struct fn *fns = arg;
	const struct edge *x = a, *y = b;

	if (x->callee != y->callee)
		return fns[x->callee].order < fns[y->callee].order ? -1 : 1;
	return fns[x->caller].order < fns[y->caller].order ?
		       -1 :
		       fns[x->caller].order > fns[y->caller].order;
}

static void m_key(FILE *f, const struct fn *x)
{
	m_tuple(f, 3);
	m_str(f, x->file);
	m_int(f, (uint64_t)x->line);
	m_str(f, x->name);
}

static void write_stats(FILE *f, const struct state *s, const uint32_t *order)
{
	size_t e = 0;

	fputc('{', f);
	for (size_t i = 0; i < s->nfn; i++) {
		uint32_t id = order[i];
		const struct fn *x = &s->fn[id];

		m_key(f, x);
		m_tuple(f, 5);
		m_int(f, x->cc);
		m_int(f, x->nc);
		m_float(f, (double)x->tt / s->freq);
		m_float(f, (double)x->ct / s->freq);
		fputc('{', f);
		/* Edges are sorted by callee rank, which is i here. */
		for (; e < s->nedge && s->fn[s->edge[e].callee].order == i;
		     e++) {
			const struct edge *ed = &s->edge[e];

			m_key(f, &s->fn[ed->caller]);
			m_tuple(f, 4);
			m_int(f, ed->nc);
			m_int(f, ed->cc);
			m_float(f, (double)ed->tt / s->freq);
			m_float(f, (double)ed->ct / s->freq);
		}
		fputc('0', f);
	}
	fputc('0', f);
}

int out_pstats__write(const struct profile *p, const struct out_meta *m,
		      FILE *f)
{
	struct state s = { .p = p };
	size_t nframes = profile__nframes(p);
	uint32_t *order = NULL;
	int err = 0;

	/* Without a frequency a sample counts as one second. */
	s.freq = m && m->freq ? m->freq : 1.0;
	s.first = out__first_lines(p);
	s.fn_of = calloc(nframes ? nframes : 1, sizeof(*s.fn_of));
	if (!s.first || !s.fn_of) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < profile__nstacks(p) && !err; i++) {
		const uint32_t *fr;
		uint32_t n, proc, thread, first;
		uint64_t c;

		profile__stack(p, i, &fr, &n, &c);
		if (!n || !c)
			continue;
		first = out__split(p, fr, n, &proc, &thread);
		err = add_stack(&s, i, fr + first, n - first, c);
	}
	if (err)
		goto out;
	order = malloc((s.nfn ? s.nfn : 1) * sizeof(*order));
	if (!order) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s.nfn; i++)
		order[i] = (uint32_t)i;
	if (s.nfn > 1)
		qsort_r(order, s.nfn, sizeof(*order), cmp_fn, s.fn);
	for (size_t i = 0; i < s.nfn; i++)
		s.fn[order[i]].order = (uint32_t)i;
	if (s.nedge > 1)
		qsort_r(s.edge, s.nedge, sizeof(*s.edge), cmp_edge, s.fn);
	write_stats(f, &s, order);
out:
	free(order);
	free(s.first);
	free(s.fn_of);
	free(s.fn);
	free(s.edge);
	free(s.stack);
	hashmap__free(&s.fn_index);
	hashmap__free(&s.edge_index);
	if (err)
		return err;
	return out__finish(f);
}
