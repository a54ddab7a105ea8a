// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The heatmap: every profiled Python source file, each line with its own
 * and total samples in a gutter and coloured by its share, in one
 * self-contained HTML page (nothing fetched).  Above the files: an index
 * of them by samples, the functions (each linked to its first line), and
 * the flame graph (src/out/svg.c's), whose boxes link to their lines.
 *
 * Own samples of a line are those in which it was the innermost Python
 * line (what it ran in C, or off the CPU, included); total samples those
 * in which it was anywhere on the stack, once per stack however deep the
 * recursion.  The same for files and functions.
 *
 * The text comes from the sources store (lib/sources.h), read while the
 * target ran or, by convert, from the local disk.  What cannot be shown is
 * shown as such, never dropped: a file that was not kept says why and lists
 * its sampled lines; a line past the end of a file (edited since the code
 * ran), line 0 (3.11+ module start-up) or an unknown line is listed below
 * the file; bytes that are not UTF-8 show as U+FFFD and the file says so.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "lib/hashmap.h"
#include "lib/sources.h"
#include "out/formats.h"
#include "out/util.h"

#define TOP_FUNCTIONS 100 /* rows of the function table */
#define LEVELS 10 /* colour steps */

/* A file, a line of a file, or a function: own and total samples. */
struct hstat {
	uint32_t name, file; /* string ids (name: functions only) */
	int32_t line; /* lines: the line; functions: the first line */
	uint64_t own, total;
	size_t seen; /* the last stack counted in, + 1 */
};

struct table {
	struct hstat *v;
	size_t n, cap;
	struct hashmap index;
};

/* A file as the page shows it. */
struct hfile {
	uint32_t id; /* section number: #fID */
	const struct hstat *st; /* its totals */
	const struct source *src; /* NULL: not in the store */
	size_t first_line, nlines; /* its lines in lines[] (sorted) */
	const char **line_at; /* start of line i + 1 of the text */
	size_t ntext; /* lines of the text */
	size_t bad_bytes; /* not UTF-8 */
	size_t lines_outside; /* sampled lines not in the text */
	size_t first_fn, nfn; /* its functions in fn_by_file[] */
};

struct state {
	const struct profile *p;
	const struct out_meta *m;
	int32_t *first; /* per frame: its function's first line */
	struct table files, lines, fns;
	struct hfile *hf; /* in files.v order after sorting */
	size_t *fn_by_file; /* fns.v indexes, by file, then as fns.v */
	struct hashmap file_of; /* string id + 1 -> hf index */
	uint64_t total, max_own, max_total;
};

static int64_t table_get(struct table *t, uint64_t key, uint32_t name,
			 uint32_t file, int32_t line)
{
	uint64_t id;

	if (hashmap__get(&t->index, key, &id))
		return (int64_t)id;
	if (grow__reserve((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v)) ||
	    hashmap__set(&t->index, key, t->n))
		return -ENOMEM;
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	t->v[t->n].name = name;
	t->v[t->n].file = file;
	t->v[t->n].line = line;
	return (int64_t)t->n++;
}

static void table_free(struct table *t)
{
	free(t->v);
	hashmap__free(&t->index);
}

/* Counts count samples of stack i into st: total once per stack, own
 * when it is the innermost Python frame's. */
static void count(struct hstat *st, size_t i, uint64_t n, bool innermost)
{
	if (st->seen != i + 1)
		st->total += n;
	st->seen = i + 1;
	if (innermost)
		st->own += n;
}

/* A line's key: (file, line), line -1 and 0 included; never 0 (string
 * ids stay below 2^31). */
static uint64_t line_key(uint32_t file, int32_t line)
{
	return ((uint64_t)file << 32 | (uint32_t)(line + 1)) ^ (1ull << 63);
}

/* The function (name, file, first line): a hash of the three, probed on
 * to the next derived key when another function has it. */
static int64_t fn_get(struct table *t, uint32_t name, uint32_t file,
		      int32_t first)
{
	uint64_t k = hash64(((uint64_t)name << 32 | file) ^
			    hash64((uint64_t)(uint32_t)first + 1)),
		 id;

	for (;; k = hash64(k + 0x9e3779b97f4a7c15ull)) {
		const struct hstat *st;

		if (!k)
			continue;
		if (!hashmap__get(&t->index, k, &id))
			break;
		st = &t->v[id];
		if (st->name == name && st->file == file && st->line == first)
			return (int64_t)id;
	}
	return table_get(t, k, name, file, first);
}

/* A file's name as the page shows it. */
static const char *file_name(const struct profile *p, uint32_t file)
{
	return file ? profile__string(p, file) : "?";
}

static int gather(struct state *s)
{
	const struct profile *p = s->p;
	int err = 0;

	for (size_t i = 0; i < profile__nstacks(p) && !err; i++) {
		const uint32_t *fr;
		uint32_t n, proc, thread, first, inner = UINT32_MAX;
		uint64_t c;

		profile__stack(p, i, &fr, &n, &c);
		if (!n || !c)
			continue;
		s->total += c;
		first = out__split(p, fr, n, &proc, &thread);
		for (uint32_t j = n; j-- > first;) {
			if (profile__frame_get(p, fr[j])->kind == PF_PYTHON) {
				inner = j;
				break;
			}
		}
		for (uint32_t j = first; j < n && !err; j++) {
			const struct pframe *pf = profile__frame_get(p, fr[j]);
			int32_t fl = s->first[fr[j]];
			int64_t a, b, d;

			if (pf->kind != PF_PYTHON)
				continue;
			a = table_get(&s->files, (uint64_t)pf->file + 1, 0,
				      pf->file, 0);
			b = table_get(&s->lines, line_key(pf->file, pf->line),
				      0, pf->file, pf->line);
			d = fn_get(&s->fns, pf->name, pf->file, fl);
			if (a < 0 || b < 0 || d < 0) {
				err = -ENOMEM;
				break;
			}
			count(&s->files.v[a], i, c, j == inner);
			count(&s->lines.v[b], i, c, j == inner);
			count(&s->fns.v[d], i, c, j == inner);
		}
	}
	return err;
}

static int cmp_by_samples(const void *a, const void *b, void *arg)
{
	const struct hstat *x = a, *y = b;
	const struct profile *p = arg;
	int c;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	if (x->own != y->own)
		return x->own > y->own ? -1 : 1;
	c = strcmp(profile__string(p, x->file), profile__string(p, y->file));
	if (c)
		return c;
	return x->file < y->file ? -1 : x->file > y->file;
}

static int cmp_fn(const void *a, const void *b, void *arg)
{
	const struct hstat *x = a, *y = b;
	const struct profile *p = arg;
	int c;

	if (x->own != y->own)
		return x->own > y->own ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	c = strcmp(profile__string(p, x->name), profile__string(p, y->name));
	if (!c)
		c = strcmp(profile__string(p, x->file),
			   profile__string(p, y->file));
	if (!c)
		c = x->line < y->line ? -1 : x->line > y->line;
	return c;
}

static int cmp_line(const void *a, const void *b, void *arg)
{
	const struct hstat *x = a, *y = b;
	const uint32_t *order = arg; /* file string id -> rank */

	if (x->file != y->file)
		return order[x->file] < order[y->file] ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Splits src's text into lines: line_at[k] is where line k + 1 starts,
 * so that line_at[k + 1] - 1 is where it ends (its '\n', or the end of a
 * text whose last line has none). */
static int split_lines(struct hfile *h)
{
	const char *t = h->src->text, *end = t + h->src->len;
	size_t n = 0;

	for (const char *q = t; q < end; q++)
		n += *q == '\n';
	if (h->src->len && end[-1] != '\n')
		n++;
	h->line_at = malloc((n + 1) * sizeof(*h->line_at));
	if (!h->line_at)
		return -ENOMEM;
	h->ntext = n;
	n = 0;
	for (const char *q = t; q < end;) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));

		h->line_at[n++] = q;
		q = nl ? nl + 1 : end;
	}
	h->line_at[n] = h->src->len && end[-1] == '\n' ? end : end + 1;
	return 0;
}

/* Line k (1-based) of h: its start and length without "\n" or "\r\n". */
static const char *line_text(const struct hfile *h, size_t k, size_t *len)
{
	const char *a = h->line_at[k - 1], *b = h->line_at[k] - 1;

	if (b > a && b[-1] == '\r')
		b--;
	*len = (size_t)(b - a);
	return a;
}

/* Bytes that are not UTF-8 in the whole text. */
static size_t count_bad(const struct source *src)
{
	const char *t = src->text, *end = t + src->len;
	size_t bad = 0;

	while (t < end) {
		uint32_t cp;
		size_t n;

		if (!*t) {
			bad++;
			t++;
			continue;
		}
		n = out__utf8_next(t, &cp);
		bad += cp == 0xfffd && n == 1;
		t += n;
	}
	return bad;
}

static unsigned level(uint64_t n, uint64_t max)
{
	unsigned l;

	if (!n || !max)
		return 0;
	l = (unsigned)((n * (double)LEVELS + (double)max - 1) / (double)max);
	return l < 1 ? 1 : l > LEVELS ? LEVELS : l;
}

static double pct(uint64_t n, uint64_t total)
{
	return total ? 100.0 * (double)n / (double)total : 0;
}

/* The anchor of line of file h: a row of the source or of the lines not
 * shown when line was sampled or is in the text, else the file. */
static void put_anchor(FILE *f, const struct state *s, const struct hfile *h,
		       int32_t line)
{
	bool in_text = h->src && h->src->state == SOURCE_OK && line >= 1 &&
		       (size_t)line <= h->ntext;
	uint64_t dummy;

	if (in_text || hashmap__get(&s->lines.index,
				    line_key(h->st->file, line), &dummy)) {
		if (line < 0)
			fprintf(f, "#f%" PRIu32 "-u", h->id);
		else
			fprintf(f, "#f%" PRIu32 "-%" PRId32, h->id, line);
	} else {
		fprintf(f, "#f%" PRIu32, h->id);
	}
}

static const struct hfile *hfile_of(const struct state *s, uint32_t file)
{
	uint64_t i;

	return hashmap__get(&s->file_of, (uint64_t)file + 1, &i) ? &s->hf[i] :
								   NULL;
}

static const char style[] =
	"<style>\n"
	"body { font-family: \"DejaVu Sans\", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1260px; padding: 0 16px 32px; color: #222; background: #fff; }\n"
	"h1 { font-size: 22px; margin: 18px 0 2px; word-break: break-all; }\n"
	"h2 { font-size: 17px; margin: 26px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }\n"
	"h3 { font-size: 15px; margin: 22px 0 4px; font-family: \"DejaVu Sans Mono\", Menlo, monospace; word-break: break-all; }\n"
	".sub, .note, .status { color: #666; font-size: 13px; margin: 2px 0 8px; }\n"
	".warn { color: #a33; }\n"
	"table { border-collapse: collapse; font-size: 13px; }\n"
	"th, td { padding: 2px 8px; text-align: left; vertical-align: top; }\n"
	"table.kv th { color: #555; font-weight: normal; white-space: nowrap; }\n"
	"table.list thead th, table.src thead th { border-bottom: 2px solid #ccc; white-space: nowrap; }\n"
	"table.list tbody tr:nth-child(odd) { background: #f6f6f2; }\n"
	"td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\n"
	"td.fn { font-family: \"DejaVu Sans Mono\", Menlo, monospace; word-break: break-all; }\n"
	"table.src { width: 100%; font-family: \"DejaVu Sans Mono\", Menlo, monospace; font-size: 12px; }\n"
	"table.src td { padding: 0 6px; line-height: 16px; }\n"
	"table.src td.ln { color: #999; text-align: right; user-select: none; }\n"
	"table.src td.own, table.src td.tot { text-align: right; color: #444; border-right: 1px solid #eee; font-variant-numeric: tabular-nums; }\n"
	"table.src td.code { white-space: pre; tab-size: 8; width: 100%; }\n"
	"table.src tr { scroll-margin-top: 120px; }\n"
	"table.src tr:target td { outline: 2px solid #36c; }\n"
	"table.out td.code { font-style: italic; color: #666; }\n"
	"#hm-goto { min-height: 20px; font-size: 13px; margin: 4px 0; }\n"
	"#flame svg { display: block; border: 1px solid #ddd; }\n"
	"a { color: #036; }\n"
	".toggle { font-size: 13px; margin: 6px 0; }\n"
	".swatch { display: inline-block; width: 14px; height: 10px; margin-right: 1px; }\n";

/* The heat colours, one rule per level and mode: by own samples (the
 * default) or total. */
static void put_levels(FILE *f)
{
	for (int l = 1; l <= LEVELS; l++) {
		double a = 0.08 + 0.82 * (double)(l - 1) / (LEVELS - 1);

		fprintf(f,
			"body.by-own tr[data-o=\"%d\"] td.code, body.by-own "
			"tr[data-o=\"%d\"] td.own, body.by-total "
			"tr[data-t=\"%d\"] td.code, body.by-total "
			"tr[data-t=\"%d\"] td.tot, .swatch.l%d { background: "
			"rgba(230, 80, 20, %.2f); }\n",
			l, l, l, l, l, a);
	}
	fputs("</style>\n", f);
}

/* The colour toggle, and the flame graph's boxes linked to their lines
 * (their labels, in #hm-frames, name the anchors). */
static const char script[] =
	"<script>//<![CDATA[\n"
	"(function () {\n"
	"\"use strict\";\n"
	"var body = document.body;\n"
	"document.querySelectorAll(\"input[name=hm-by]\").forEach(function (r) {\n"
	"  r.addEventListener(\"change\", function () {\n"
	"    body.className = \"by-\" + r.value;\n"
	"  });\n"
	"});\n"
	"var where = {};\n"
	"document.querySelectorAll(\"#hm-frames li\").forEach(function (li) {\n"
	"  where[li.getAttribute(\"data-label\")] = li.getAttribute(\"data-href\");\n"
	"});\n"
	"var svg = document.getElementById(\"pf-flame\"), go = document.getElementById(\"hm-goto\");\n"
	"if (!svg || !go) return;\n"
	"svg.addEventListener(\"click\", function (evt) {\n"
	"  var g = evt.target.closest ? evt.target.closest(\"g.f\") : null;\n"
	"  if (!g) return;\n"
	"  var label = g.querySelector(\"title\").textContent.split(\"\\n\")[0];\n"
	"  var href = where[label];\n"
	"  go.textContent = \"\";\n"
	"  if (!href) { go.textContent = label + \": no source line\"; return; }\n"
	"  var a = document.createElement(\"a\");\n"
	"  a.href = href;\n"
	"  a.id = \"hm-goto-link\";\n"
	"  a.textContent = \"Source of \" + label;\n"
	"  go.appendChild(a);\n"
	"}, true);\n"
	"svg.addEventListener(\"dblclick\", function (evt) {\n"
	"  var g = evt.target.closest ? evt.target.closest(\"g.f\") : null;\n"
	"  var href = g ? where[g.querySelector(\"title\").textContent.split(\"\\n\")[0]] : null;\n"
	"  if (href) location.hash = href;\n"
	"});\n"
	"})();\n"
	"//]]></script>\n";

static void summary(FILE *f, const struct state *s)
{
	const struct out_meta *m = s->m;
	size_t shown = 0;

	for (size_t i = 0; i < s->files.n; i++)
		shown += s->hf[i].src && s->hf[i].src->state == SOURCE_OK;
	fputs("<table class=\"kv\" id=\"summary-table\">\n", f);
	out__html_meta_rows(f, m);
	fprintf(f,
		"<tr><th>Samples</th><td>%" PRIu64
		" in this profile</td></tr>\n"
		"<tr><th>Source files</th><td>%zu profiled, %zu shown</td></tr>\n"
		"</table>\n",
		s->total, s->files.n, shown);
}

/* The state of file h, as a phrase after its name. */
static void put_status(FILE *f, const struct state *s, const struct hfile *h)
{
	const struct source *src = h->src;
	char why[256];

	fprintf(f, "<p class=\"status\" id=\"f%" PRIu32 "-status\">", h->id);
	if (!src) {
		fputs("<span class=\"warn\">source not recorded", f);
		fputs(s->m && s->m->sources ? ": past the bound on files "
					      "remembered" :
					      ": this profile was written "
					      "without its source files",
		      f);
		fputs("</span>", f);
	} else if (src->state != SOURCE_OK) {
		fputs("<span class=\"warn\">source ", f);
		out__xml_str(f, sources__why(s->m->sources, src, why,
					     sizeof(why)));
		fputs("</span>", f);
	} else {
		fprintf(f, "%zu line%s, %zu bytes, %s", h->ntext,
			h->ntext == 1 ? "" : "s", src->len,
			src->local ? "read from this machine's files when "
				     "converting" :
				     "read from the profiled process's files "
				     "while it ran");
		if (src->changed)
			fputs("; <span class=\"warn\">modified after the "
			      "process started: the lines shown may not be "
			      "the ones that ran</span>",
			      f);
		if (h->bad_bytes)
			fprintf(f,
				"; <span class=\"warn\">not UTF-8: %zu "
				"byte%s shown as \xef\xbf\xbd</span>",
				h->bad_bytes, h->bad_bytes == 1 ? "" : "s");
		if (h->lines_outside)
			fprintf(f,
				"; <span class=\"warn\">%zu sampled line%s "
				"not in the file (listed below it)</span>",
				h->lines_outside,
				h->lines_outside == 1 ? "" : "s");
	}
	fputs("</p>\n", f);
}

static void put_count(FILE *f, const char *cls, uint64_t n)
{
	fprintf(f, "<td class=\"%s\">", cls);
	if (n)
		fprintf(f, "%" PRIu64, n);
	fputs("</td>", f);
}

/* A row of the source or of the lines not shown: "data-o"/"data-t" are
 * the colour levels. */
static void row_open(FILE *f, const struct state *s, const struct hfile *h,
		     int32_t line, const struct hstat *st)
{
	if (line < 0)
		fprintf(f, "<tr id=\"f%" PRIu32 "-u\"", h->id);
	else
		fprintf(f, "<tr id=\"f%" PRIu32 "-%" PRId32 "\"", h->id, line);
	if (st) {
		unsigned o = level(st->own, s->max_own),
			 t = level(st->total, s->max_total);

		if (o)
			fprintf(f, " data-o=\"%u\"", o);
		if (t)
			fprintf(f, " data-t=\"%u\"", t);
		fprintf(f,
			" title=\"own %" PRIu64 " (%.2f%%), total %" PRIu64
			" (%.2f%%)\"",
			st->own, pct(st->own, s->total), st->total,
			pct(st->total, s->total));
	}
	fputc('>', f);
	if (line < 0)
		fputs("<td class=\"ln\">?</td>", f);
	else
		fprintf(f, "<td class=\"ln\">%" PRId32 "</td>", line);
	put_count(f, "own", st ? st->own : 0);
	put_count(f, "tot", st ? st->total : 0);
}

static const char src_head[] =
	"<thead><tr><th class=\"num\">line</th><th class=\"num\">own</th>"
	"<th class=\"num\">total</th><th>%s</th></tr></thead><tbody>\n";

/* File h: its status, functions, source, and the sampled lines it lacks. */
static void put_file(FILE *f, const struct state *s, const struct hfile *h)
{
	const struct hstat *ln = s->lines.v + h->first_line;
	bool text = h->src && h->src->state == SOURCE_OK;
	size_t k = 0, nfn = 0;

	fprintf(f, "<section class=\"file\" id=\"f%" PRIu32 "\">\n<h3>", h->id);
	out__xml_str(f, file_name(s->p, h->st->file));
	fprintf(f,
		"</h3>\n<p class=\"sub\">own %" PRIu64
		" (%.2f%%), total %" PRIu64
		" (%.2f%%) &#183; <a href=\"#index\">index</a></p>\n",
		h->st->own, pct(h->st->own, s->total), h->st->total,
		pct(h->st->total, s->total));
	put_status(f, s, h);
	for (size_t i = h->first_fn; i < h->first_fn + h->nfn; i++) {
		const struct hstat *fn = &s->fns.v[s->fn_by_file[i]];

		fputs(nfn++ ? ", " : "<p class=\"note\">Functions: ", f);
		fputs("<a href=\"", f);
		put_anchor(f, s, h, fn->line);
		fputs("\">", f);
		out__xml_str(f, out__name(s->p, &(struct pframe){
							.name = fn->name }));
		fprintf(f, "</a> (%" PRIu64 "/%" PRIu64 ")", fn->own,
			fn->total);
	}
	if (nfn)
		fputs(" &#8212; own/total samples</p>\n", f);
	if (text) {
		fprintf(f, "<table class=\"src\" id=\"f%" PRIu32 "-src\">",
			h->id);
		fprintf(f, src_head, "source");
		for (size_t line = 1; line <= h->ntext; line++) {
			const struct hstat *st = NULL;
			const char *t;
			size_t len;

			while (k < h->nlines && ln[k].line < (int32_t)line)
				k++;
			if (k < h->nlines && ln[k].line == (int32_t)line)
				st = &ln[k];
			row_open(f, s, h, (int32_t)line, st);
			fputs("<td class=\"code\">", f);
			t = line_text(h, line, &len);
			out__xml_text(f, t, len);
			fputs("</td></tr>\n", f);
		}
		fputs("</tbody></table>\n", f);
	}
	if (!h->lines_outside)
		goto out;
	fprintf(f,
		"<p class=\"note\">Sampled lines %s:</p>\n"
		"<table class=\"src out\" id=\"f%" PRIu32 "-out\">",
		text ? "not in the file as it was read" : "of this file",
		h->id);
	fprintf(f, src_head, "why not shown");
	for (k = 0; k < h->nlines; k++) {
		const struct hstat *st = &ln[k];

		if (text && st->line >= 1 && (size_t)st->line <= h->ntext)
			continue;
		row_open(f, s, h, st->line, st);
		fputs("<td class=\"code\">", f);
		if (!text)
			fputs("source not shown", f);
		else if (st->line < 0)
			fputs("line unknown", f);
		else if (st->line == 0)
			fputs("line 0: the module's start, before its first "
			      "line",
			      f);
		else
			fprintf(f,
				"past the end of the file (%zu lines): "
				"edited since the code ran?",
				h->ntext);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
out:
	fputs("</section>\n", f);
}

static void put_index(FILE *f, const struct state *s)
{
	char why[256];

	fputs("<table class=\"list\" id=\"files-table\"><thead><tr>"
	      "<th>file</th><th class=\"num\">own</th><th class=\"num\">own %</th>"
	      "<th class=\"num\">total</th><th class=\"num\">total %</th>"
	      "<th>source</th></tr></thead><tbody>\n",
	      f);
	for (size_t i = 0; i < s->files.n; i++) {
		const struct hfile *h = &s->hf[i];

		fprintf(f, "<tr><td class=\"fn\"><a href=\"#f%" PRIu32 "\">",
			h->id);
		out__xml_str(f, file_name(s->p, h->st->file));
		fprintf(f,
			"</a></td><td class=\"num\">%" PRIu64
			"</td><td class=\"num\">%.2f%%</td><td class=\"num\">%" PRIu64
			"</td><td class=\"num\">%.2f%%</td><td>",
			h->st->own, pct(h->st->own, s->total), h->st->total,
			pct(h->st->total, s->total));
		if (!h->src)
			fputs("not recorded", f);
		else if (h->src->state != SOURCE_OK)
			out__xml_str(f, sources__why(s->m->sources, h->src, why,
						     sizeof(why)));
		else if (h->lines_outside || h->src->changed || h->bad_bytes)
			fputs("shown, with warnings", f);
		else
			fputs("shown", f);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static void put_functions(FILE *f, const struct state *s)
{
	size_t n = s->fns.n < TOP_FUNCTIONS ? s->fns.n : TOP_FUNCTIONS;

	fputs("<table class=\"list\" id=\"functions-table\"><thead><tr>"
	      "<th>function</th><th>file:first line</th>"
	      "<th class=\"num\">own</th><th class=\"num\">own %</th>"
	      "<th class=\"num\">total</th><th class=\"num\">total %</th>"
	      "</tr></thead><tbody>\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		const struct hstat *fn = &s->fns.v[i];
		const struct hfile *h = hfile_of(s, fn->file);

		fputs("<tr><td class=\"fn\"><a href=\"", f);
		if (h)
			put_anchor(f, s, h, fn->line);
		fputs("\">", f);
		out__xml_str(f, out__name(s->p, &(struct pframe){
							.name = fn->name }));
		fputs("</a></td><td class=\"fn\">", f);
		out__xml_str(f, file_name(s->p, fn->file));
		if (fn->line >= 0)
			fprintf(f, ":%" PRId32, fn->line);
		fprintf(f,
			"</td><td class=\"num\">%" PRIu64
			"</td><td class=\"num\">%.2f%%</td><td class=\"num\">%" PRIu64
			"</td><td class=\"num\">%.2f%%</td></tr>\n",
			fn->own, pct(fn->own, s->total), fn->total,
			pct(fn->total, s->total));
	}
	fputs("</tbody></table>\n", f);
	if (s->fns.n > n)
		fprintf(f,
			"<p class=\"note\">%zu more functions: see each "
			"file.</p>\n",
			s->fns.n - n);
}

/* Where each Python box of the flame graph leads: its label and line. */
static int put_frame_links(FILE *f, const struct state *s)
{
	const struct profile *p = s->p;

	fputs("<ul id=\"hm-frames\" hidden=\"hidden\">\n", f);
	for (size_t i = 0; i < profile__nframes(p); i++) {
		const struct pframe *fr = profile__frame_get(p, (uint32_t)i);
		const struct hfile *h;
		char *label;

		if (fr->kind != PF_PYTHON || !(h = hfile_of(s, fr->file)))
			continue;
		label = out__label(p, fr);
		if (!label)
			return -ENOMEM;
		fputs("<li data-label=\"", f);
		out__xml_str(f, label);
		fputs("\" data-href=\"", f);
		put_anchor(f, s, h, fr->line);
		fputs("\"></li>\n", f);
		free(label);
	}
	fputs("</ul>\n", f);
	return 0;
}

/* Sorts the tables and lays out the files: their sections, their lines,
 * their text. */
static int arrange(struct state *s)
{
	const struct profile *p = s->p;
	uint32_t *order = NULL;
	size_t nstr = 0;
	int err = 0;

	if (s->files.n > 1)
		qsort_r(s->files.v, s->files.n, sizeof(*s->files.v),
			cmp_by_samples, (void *)p);
	if (s->fns.n > 1)
		qsort_r(s->fns.v, s->fns.n, sizeof(*s->fns.v), cmp_fn,
			(void *)p);
	for (size_t i = 0; i < s->files.n; i++)
		if (s->files.v[i].file >= nstr)
			nstr = s->files.v[i].file + 1;
	order = calloc(nstr ? nstr : 1, sizeof(*order));
	s->hf = calloc(s->files.n ? s->files.n : 1, sizeof(*s->hf));
	if (!order || !s->hf) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->files.n; i++) {
		order[s->files.v[i].file] = (uint32_t)i;
		if (hashmap__set(&s->file_of, (uint64_t)s->files.v[i].file + 1,
				 i)) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (s->lines.n > 1)
		qsort_r(s->lines.v, s->lines.n, sizeof(*s->lines.v), cmp_line,
			order);
	/* The index of the lines moved: build it again. */
	hashmap__free(&s->lines.index);
	for (size_t i = 0; i < s->lines.n; i++) {
		const struct hstat *ln = &s->lines.v[i];

		if (hashmap__set(&s->lines.index, line_key(ln->file, ln->line),
				 i)) {
			err = -ENOMEM;
			goto out;
		}
		if (ln->own > s->max_own)
			s->max_own = ln->own;
		if (ln->total > s->max_total)
			s->max_total = ln->total;
	}
	for (size_t i = 0, l = 0; i < s->files.n; i++) {
		struct hfile *h = &s->hf[i];
		const char *name = file_name(p, s->files.v[i].file);

		h->id = (uint32_t)i + 1;
		h->st = &s->files.v[i];
		h->src = s->m && s->m->sources ?
				 sources__get(s->m->sources, name) :
				 NULL;
		h->first_line = l;
		while (l < s->lines.n && s->lines.v[l].file == h->st->file)
			l++;
		h->nlines = l - h->first_line;
		if (h->src && h->src->state == SOURCE_OK) {
			err = split_lines(h);
			if (err)
				goto out;
			h->bad_bytes = count_bad(h->src);
		}
		for (size_t k = h->first_line; k < l; k++) {
			int32_t line = s->lines.v[k].line;

			h->lines_outside += !(h->line_at && line >= 1 &&
					      (size_t)line <= h->ntext);
		}
	}
	/* Each file's functions, in the functions' order. */
	s->fn_by_file =
		malloc((s->fns.n ? s->fns.n : 1) * sizeof(*s->fn_by_file));
	if (!s->fn_by_file) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->fns.n; i++)
		s->hf[order[s->fns.v[i].file]].nfn++;
	for (size_t i = 0, at = 0; i < s->files.n; i++) {
		s->hf[i].first_fn = at;
		at += s->hf[i].nfn;
		s->hf[i].nfn = 0;
	}
	for (size_t i = 0; i < s->fns.n; i++) {
		struct hfile *h = &s->hf[order[s->fns.v[i].file]];

		s->fn_by_file[h->first_fn + h->nfn++] = i;
	}
out:
	free(order);
	return err;
}

int out_heatmap__write(const struct profile *p, const struct out_meta *m,
		       FILE *f)
{
	struct state s = { .p = p, .m = m };
	const char *title = *out__meta_title(m) ? out__meta_title(m) :
						  "Python profile";
	int err;

	s.first = out__first_lines(p);
	if (!s.first)
		return -ENOMEM;
	err = gather(&s);
	if (!err)
		err = arrange(&s);
	if (err)
		goto out;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
	      "<meta name=\"generator\" content=\"pyprof-bpf\"/>\n<title>",
	      f);
	out__xml_str(f, title);
	fputs(" - heatmap - pyprof-bpf</title>\n", f);
	fputs(style, f);
	put_levels(f);
	fputs("</head>\n<body class=\"by-own\">\n<h1 id=\"title\">", f);
	out__xml_str(f, title);
	fputs("</h1>\n<p class=\"sub\">The profiled Python source, each line "
	      "coloured by its samples, by pyprof-bpf: <b>own</b> samples are "
	      "those in which the line was the innermost Python line "
	      "running (what it called in C included), <b>total</b> those "
	      "in which it was anywhere on the stack.</p>\n",
	      f);
	summary(f, &s);
	fputs("<h2 id=\"index\">Files</h2>\n", f);
	put_index(f, &s);
	fputs("<h2 id=\"functions\">Functions</h2>\n", f);
	put_functions(f, &s);
	fputs("<h2 id=\"flamegraph\">Flame graph</h2>\n<p class=\"note\">Click "
	      "a box to zoom in and for a link to its line (double-click "
	      "goes there).</p>\n<div id=\"hm-goto\"></div>\n<div id=\"flame\">\n",
	      f);
	err = out_svg__write_inline(p, m, f);
	if (err)
		goto out;
	fputs("</div>\n", f);
	err = put_frame_links(f, &s);
	if (err)
		goto out;
	fputs("<h2 id=\"source\">Source</h2>\n<p class=\"toggle\">Colour by: "
	      "<label><input type=\"radio\" name=\"hm-by\" value=\"own\" "
	      "checked=\"checked\"/> own samples</label> <label><input "
	      "type=\"radio\" name=\"hm-by\" value=\"total\"/> total "
	      "samples</label> &#183; share of the hottest line: ",
	      f);
	for (int l = 1; l <= LEVELS; l++)
		fprintf(f, "<span class=\"swatch l%d\"></span>", l);
	fputs("</p>\n", f);
	for (size_t i = 0; i < s.files.n; i++)
		put_file(f, &s, &s.hf[i]);
	fputs(script, f);
	fputs("</body>\n</html>\n", f);
out:
	for (size_t i = 0; s.hf && i < s.files.n; i++)
		free(s.hf[i].line_at);
	free(s.hf);
	free(s.fn_by_file);
	free(s.first);
	hashmap__free(&s.file_of);
	table_free(&s.files);
	table_free(&s.lines);
	table_free(&s.fns);
	if (err)
		return err;
	return out__finish(f);
}
