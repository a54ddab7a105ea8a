// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The figures behind `pyprof-bpf diff`.  Per-function own and total samples
 * come from the live view's model (src/ui/top_model.c), which already counts a
 * recursive function once per stack; this file joins the two profiles'
 * functions by label, and judges the changes.
 *
 * Noise: a sampled share behaves like a binomial proportion, so the
 * difference of two shares p1, p2 measured with n1 and n2 samples has a
 * standard error near sqrt(p(1-p)(1/n1 + 1/n2)), p the pooled share.  A
 * change inside 1.96 of those is within sampling noise at 95%: it does not
 * fail the gate, whatever its relative size.  Samples of a running program
 * are not quite independent, so this is a guide, not a guarantee.
 */
#include "lib/diff.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "ui/top_model.h"

/* Offending functions the verdict names before "and N more". */
#define VERDICT_NAMES 10

struct diff {
	struct diff_row *rows;
	size_t nrows, cap;
	size_t nfailed;
	uint64_t samples[2];
	double fail_above;
	uint64_t min_samples;
};

/* One side's function: its label and samples. */
struct fn {
	char *label;
	uint64_t own, total;
};

static int cmp_fn(const void *a, const void *b)
{
	return strcmp(((const struct fn *)a)->label,
		      ((const struct fn *)b)->label);
}

static void free_fns(struct fn *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].label);
	free(v);
}

/* p's functions (or lines), sorted by label.  0 or -ENOMEM. */
static int functions(const struct profile *p, bool by_line, struct fn **out,
		     size_t *nout)
{
	const struct top_item *items;
	struct top_model *m;
	struct fn *v = NULL;
	size_t n = 0, cap = 0;
	char buf[512];
	int err;

	m = top_model__new();
	if (!m)
		return -ENOMEM;
	top_model__set_by_line(m, by_line);
	err = top_model__update(m, p, 1.0);
	if (!err)
		err = top_model__items(m, false, TOP_SORT_TOTAL, false, &items,
				       &n);
	if (err)
		goto out;
	if (grow__reserve((void **)&v, &cap, n ? n : 1, sizeof(*v))) {
		err = -ENOMEM;
		n = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len =
			top_model__label(m, &items[i], buf, sizeof(buf), NULL);

		v[i].label = malloc(len + 1);
		if (!v[i].label) {
			n = i;
			err = -ENOMEM;
			goto out;
		}
		if (len < sizeof(buf))
			memcpy(v[i].label, buf, len + 1);
		else
			top_model__label(m, &items[i], v[i].label, len + 1,
					 NULL);
		v[i].own = items[i].own;
		v[i].total = items[i].total;
	}
	qsort(v, n, sizeof(*v), cmp_fn);
out:
	top_model__free(m);
	if (err) {
		free_fns(v, n);
		return err;
	}
	*out = v;
	*nout = n;
	return 0;
}

double diff__noise(double p, uint64_t n1, uint64_t n2)
{
	if (!n1 || !n2 || p <= 0 || p >= 1)
		return 0;
	return 100.0 * DIFF_Z95 *
	       sqrt(p * (1 - p) * (1.0 / (double)n1 + 1.0 / (double)n2));
}

static double pct(uint64_t n, uint64_t total)
{
	return total ? 100.0 * (double)n / (double)total : 0;
}

/* Fills in a row's figures from its samples. */
static void judge(struct diff *d, struct diff_row *r)
{
	uint64_t n0 = d->samples[0], n1 = d->samples[1];

	for (int s = 0; s < 2; s++) {
		r->own_pct[s] = pct(r->own[s], d->samples[s]);
		r->total_pct[s] = pct(r->total[s], d->samples[s]);
	}
	r->d_own = r->own_pct[1] - r->own_pct[0];
	r->d_total = r->total_pct[1] - r->total_pct[0];
	if (r->total[0])
		r->rel = 100.0 * r->total_pct[1] / r->total_pct[0] - 100.0;
	else
		r->rel = r->total[1] ? INFINITY : 0;
	r->noise = diff__noise((double)(r->total[0] + r->total[1]) /
				       (double)(n0 + n1),
			       n0, n1);
	r->significant = fabs(r->d_total) > r->noise;
	r->judged = r->total[0] >= d->min_samples ||
		    r->total[1] >= d->min_samples;
	r->fails = d->fail_above >= 0 && r->judged && r->significant &&
		   r->rel > d->fail_above;
	if (r->fails)
		d->nfailed++;
}

/* Regression order: the total share's growth, then the own share's. */
static int cmp_row(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;

	if (x->d_total != y->d_total)
		return x->d_total < y->d_total ? 1 : -1;
	if (x->d_own != y->d_own)
		return x->d_own < y->d_own ? 1 : -1;
	return strcmp(x->label, y->label);
}

static int add_row(struct diff *d, const struct diff_opts *o,
		   const struct fn *b, const struct fn *h)
{
	const char *label = b ? b->label : h->label;
	struct diff_row *r;

	if (o->focus && regexec(o->focus, label, 0, NULL, 0) != 0)
		return 0;
	if (grow__reserve((void **)&d->rows, &d->cap, d->nrows + 1, sizeof(*r)))
		return -ENOMEM;
	r = &d->rows[d->nrows];
	memset(r, 0, sizeof(*r));
	r->label = strdup(label);
	if (!r->label)
		return -ENOMEM;
	d->nrows++;
	if (b) {
		r->own[0] = b->own;
		r->total[0] = b->total;
	}
	if (h) {
		r->own[1] = h->own;
		r->total[1] = h->total;
	}
	judge(d, r);
	return 0;
}

struct diff *diff__new(const struct profile *base, const struct profile *head,
		       const struct diff_opts *o)
{
	struct fn *fb = NULL, *fh = NULL;
	size_t nb = 0, nh = 0, i = 0, j = 0;
	struct diff *d;
	int err;

	if (!profile__total(base) || !profile__total(head)) {
		errno = ENODATA;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	/* Shares of every sample, those a filter (--focus, --ignore) left
	 * out too, as in pprof: a function's share then means the same
	 * with and without a filter. */
	d->samples[0] = profile__total(base) + profile__filtered(base);
	d->samples[1] = profile__total(head) + profile__filtered(head);
	d->fail_above = o->fail_above;
	d->min_samples = o->min_samples;
	err = functions(base, o->by_line, &fb, &nb);
	if (!err)
		err = functions(head, o->by_line, &fh, &nh);
	/* A merge of the two sorted lists; a label on one side only is a
	 * function that appeared or went away. */
	while (!err && (i < nb || j < nh)) {
		int c = i == nb ? 1 :
			j == nh ? -1 :
				  strcmp(fb[i].label, fh[j].label);

		err = add_row(d, o, c <= 0 ? &fb[i] : NULL,
			      c >= 0 ? &fh[j] : NULL);
		i += c <= 0;
		j += c >= 0;
	}
	free_fns(fb, nb);
	free_fns(fh, nh);
	if (err) {
		diff__free(d);
		errno = -err;
		return NULL;
	}
	if (d->nrows)
		qsort(d->rows, d->nrows, sizeof(*d->rows), cmp_row);
	return d;
}

void diff__free(struct diff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nrows; i++)
		free((char *)d->rows[i].label);
	free(d->rows);
	free(d);
}

size_t diff__nrows(const struct diff *d)
{
	return d->nrows;
}

const struct diff_row *diff__row(const struct diff *d, size_t i)
{
	return i < d->nrows ? &d->rows[i] : NULL;
}

size_t diff__nfailed(const struct diff *d)
{
	return d->nfailed;
}

/* n with thousands separators ("9,950"). */
static const char *count_str(uint64_t n, char buf[32])
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%" PRIu64, n), o = 0;

	for (int k = 0; k < len; k++) {
		if (k && (len - k) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[k];
	}
	buf[o] = '\0';
	return buf;
}

/* A relative change: "+31.2%", or "new". */
static const char *rel_str(double rel, char buf[32])
{
	if (isinf(rel))
		return "new";
	snprintf(buf, 32, "%+.1f%%", rel);
	return buf;
}

static double magnitude(const struct diff_row *r)
{
	return fmax(fabs(r->d_own), fabs(r->d_total));
}

static int cmp_magnitude(const void *a, const void *b, void *arg)
{
	const struct diff_row *rows = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	double mx = magnitude(&rows[x]), my = magnitude(&rows[y]);

	if (mx != my)
		return mx < my ? 1 : -1;
	return (x > y) - (x < y);
}

/* Marks the rows the table shows: the top that changed most, in points,
 * and every failing one.  false on ENOMEM. */
static bool pick(const struct diff *d, size_t top, bool *shown)
{
	size_t *idx = malloc((d->nrows ? d->nrows : 1) * sizeof(*idx));

	if (!idx)
		return false;
	for (size_t i = 0; i < d->nrows; i++) {
		idx[i] = i;
		shown[i] = d->rows[i].fails;
	}
	qsort_r(idx, d->nrows, sizeof(*idx), cmp_magnitude, d->rows);
	for (size_t i = 0; i < d->nrows && i < top; i++)
		shown[idx[i]] = true;
	free(idx);
	return true;
}

static void print_table(const struct diff *d, FILE *f, const bool *shown)
{
	size_t n = 0;
	char rb[32];

	fputs("       own %                  total %\n"
	      "   base    head  change    base    head  change   noise"
	      "    rel.  function\n",
	      f);
	for (size_t i = 0; i < d->nrows; i++) {
		const struct diff_row *r = &d->rows[i];
		const char *mark = r->fails	   ? "FAIL " :
				   !r->judged	   ? ".    " :
				   !r->significant ? "~    " :
						     "     ";

		if (!shown[i])
			continue;
		n++;
		fprintf(f,
			"%7.1f %7.1f %+7.1f %7.1f %7.1f %+7.1f %7.1f %7s %s%s\n",
			r->own_pct[0], r->own_pct[1], r->d_own, r->total_pct[0],
			r->total_pct[1], r->d_total, r->noise,
			rel_str(r->rel, rb), mark, r->label);
	}
	if (n < d->nrows)
		fprintf(f, "(%zu more that changed less: --top N shows more)\n",
			d->nrows - n);
	fputs("change: percentage points; noise: the 95% margin of the total "
	      "change; rel.: change of the total share\n"
	      "FAIL above the threshold; ~ within noise; . below "
	      "--min-samples in both\n",
	      f);
}

/* The row with the largest relative growth of those that count. */
static const struct diff_row *largest(const struct diff *d)
{
	const struct diff_row *best = NULL;

	for (size_t i = 0; i < d->nrows; i++) {
		const struct diff_row *r = &d->rows[i];

		if (r->judged && (!best || r->rel > best->rel))
			best = r;
	}
	return best;
}

static void print_verdict(const struct diff *d, FILE *f)
{
	const struct diff_row *big = largest(d);
	size_t named = 0;
	char rb[32];

	fputs("pyprof-bpf diff: ", f);
	if (d->nfailed) {
		fprintf(f, "FAIL: %zu function%s above +%g%%:", d->nfailed,
			d->nfailed == 1 ? "" : "s", d->fail_above);
		for (size_t i = 0; i < d->nrows && named < VERDICT_NAMES; i++) {
			if (!d->rows[i].fails)
				continue;
			fprintf(f, "%s %s %s", named ? "," : "",
				d->rows[i].label, rel_str(d->rows[i].rel, rb));
			named++;
		}
		if (named < d->nfailed)
			fprintf(f, ", and %zu more", d->nfailed - named);
		fputc('\n', f);
		return;
	}
	if (d->fail_above < 0)
		fputs("no gate (--fail-above off)", f);
	else
		fprintf(f, "OK: no function grew more than %g%%",
			d->fail_above);
	if (!big)
		fprintf(f, "; no function has %" PRIu64 " samples\n",
			d->min_samples);
	else
		fprintf(f, "; largest: %s %s%s\n", big->label,
			rel_str(big->rel, rb),
			big->significant ? "" : " (within noise)");
}

int diff__print(const struct diff *d, FILE *f, size_t top,
		const char *base_name, const char *head_name)
{
	char b0[32], b1[32];
	bool *shown;

	fprintf(f, "base %s: %s samples; head %s: %s samples\n", base_name,
		count_str(d->samples[0], b0), head_name,
		count_str(d->samples[1], b1));
	if (top && d->nrows) {
		shown = calloc(d->nrows, sizeof(*shown));
		if (!shown || !pick(d, top, shown)) {
			free(shown);
			return -ENOMEM;
		}
		fputc('\n', f);
		print_table(d, f, shown);
		free(shown);
	}
	fprintf(f,
		"with %s and %s samples, changes below +-%.1f points (at a 10%% "
		"share; +-%.1f at 50%%) are within noise: more samples (-F, a "
		"longer run) narrow it\n",
		b0, b1, diff__noise(0.10, d->samples[0], d->samples[1]),
		diff__noise(0.50, d->samples[0], d->samples[1]));
	print_verdict(d, f);
	errno = 0;
	if (fflush(f) != 0 || ferror(f))
		return errno ? -errno : -EIO;
	return 0;
}

/* The name a frame has in the aligned profiles: a process without its pid. */
static uint32_t aligned_name(const struct profile *src, const struct pframe *fr,
			     struct profile *dst)
{
	const char *name = profile__string(src, fr->name);
	size_t len = strlen(name), i = len;

	if (fr->kind == PF_PROCESS) {
		while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
			i--;
		if (i > 1 && i < len && name[i - 1] == '-')
			len = i - 1;
	}
	return profile__intern(dst, name, len);
}

/* Adds src's frames and stacks to a[0] and a[1]; the samples go to
 * a[side], 0 to the other. */
static int align_side(const struct profile *src, struct profile *a[2], int side)
{
	size_t nf = profile__nframes(src), cap = 0;
	uint32_t *map, *buf = NULL;
	int err = 0;

	map = malloc((nf ? nf : 1) * sizeof(*map));
	if (!map)
		return -ENOMEM;
	for (size_t i = 0; i < nf && !err; i++) {
		const struct pframe *fr = profile__frame_get(src, (uint32_t)i);
		const char *file = profile__string(src, fr->file);
		int64_t id[2];

		for (int s = 0; s < 2; s++) {
			uint32_t name = aligned_name(src, fr, a[s]);
			uint32_t fid = profile__intern_str(a[s], file);

			if ((!name && profile__string(src, fr->name)[0]) ||
			    (!fid && file[0])) {
				err = -ENOMEM;
				break;
			}
			id[s] = profile__frame(a[s], fr->kind, name, fid,
					       fr->line);
			if (id[s] < 0)
				err = (int)id[s];
		}
		/* Both interned the same things in the same order. */
		if (!err && id[0] != id[1])
			err = -EINVAL;
		map[i] = err ? 0 : (uint32_t)id[0];
	}
	for (size_t i = 0; i < profile__nstacks(src) && !err; i++) {
		const uint32_t *frames;
		uint32_t n;
		uint64_t count;

		profile__stack(src, i, &frames, &n, &count);
		if (!count)
			continue;
		if (grow__reserve((void **)&buf, &cap, n ? n : 1,
				  sizeof(*buf))) {
			err = -ENOMEM;
			break;
		}
		for (uint32_t k = 0; k < n; k++)
			buf[k] = map[frames[k]];
		err = profile__add(a[side], buf, n, count);
		if (!err)
			err = profile__add(a[!side], buf, n, 0);
	}
	free(buf);
	free(map);
	return err;
}

int diff__align(const struct profile *base, const struct profile *head,
		struct profile **abase, struct profile **ahead)
{
	struct profile *a[2] = { profile__new(), profile__new() };
	int err = -ENOMEM;

	if (a[0] && a[1]) {
		err = align_side(base, a, 0);
		if (!err)
			err = align_side(head, a, 1);
	}
	if (err) {
		profile__free(a[0]);
		profile__free(a[1]);
		return err;
	}
	profile__add_filtered(a[0], profile__filtered(base));
	profile__add_filtered(a[1], profile__filtered(head));
	*abase = a[0];
	*ahead = a[1];
	return 0;
}
