// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A self-contained HTML report: a summary of the run, the threads, their
 * timeline (src/out/html_timeline.c), the top functions (own and total
 * samples), the hottest lines, and the interactive flame graph
 * (src/out/svg.c's, inline).  Everything is in the one
 * file: no script, style or font is fetched, so it opens offline and can be
 * mailed or attached to a ticket.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/hashmap.h"
#include "out/formats.h"
#include "out/util.h"

#define TOP_FUNCTIONS 50
#define TOP_LINES 25

static const char style[] =
	"<style>\n"
	"body { font-family: \"DejaVu Sans\", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1260px; padding: 0 16px 32px; color: #222; background: #fff; }\n"
	"h1 { font-size: 22px; margin: 18px 0 2px; word-break: break-all; }\n"
	"h2 { font-size: 17px; margin: 26px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }\n"
	".sub { color: #666; margin: 0 0 10px; }\n"
	"table { border-collapse: collapse; font-size: 13px; }\n"
	"th, td { padding: 3px 8px; text-align: left; vertical-align: top; }\n"
	"table.kv th { color: #555; font-weight: normal; white-space: nowrap; }\n"
	"table.list { width: 100%; }\n"
	"table.list thead th { border-bottom: 2px solid #ccc; cursor: pointer; white-space: nowrap; }\n"
	"table.list tbody tr:nth-child(odd) { background: #f6f6f2; }\n"
	"td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\n"
	"td.fn { font-family: \"DejaVu Sans Mono\", Menlo, monospace; word-break: break-all; }\n"
	"td.file { color: #555; word-break: break-all; }\n"
	".bar { display: inline-block; height: 9px; background: #e8743b; vertical-align: middle; margin-right: 6px; }\n"
	".note { color: #666; font-size: 13px; }\n"
	"#flame svg { display: block; border: 1px solid #ddd; }\n"
	"</style>\n";

/* Sorting the tables by a click on a column header. */
static const char script[] =
	"<script>\n"
	"document.querySelectorAll(\"table.list\").forEach(function (table) {\n"
	"  table.querySelectorAll(\"thead th\").forEach(function (th, col) {\n"
	"    th.addEventListener(\"click\", function () {\n"
	"      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);\n"
	"      var num = th.hasAttribute(\"data-num\"), dir = th.getAttribute(\"data-dir\") === \"desc\" ? 1 : -1;\n"
	"      rows.sort(function (a, b) {\n"
	"        var x = a.cells[col].getAttribute(\"data-v\") || a.cells[col].textContent;\n"
	"        var y = b.cells[col].getAttribute(\"data-v\") || b.cells[col].textContent;\n"
	"        return (num ? (+x) - (+y) : x.localeCompare(y)) * dir;\n"
	"      });\n"
	"      th.setAttribute(\"data-dir\", dir === 1 ? \"asc\" : \"desc\");\n"
	"      rows.forEach(function (r) { body.appendChild(r); });\n"
	"    });\n"
	"  });\n"
	"});\n"
	"</script>\n";

struct fn_stat {
	uint32_t name, file; /* string ids */
	uint32_t kind;
	int32_t line; /* for lines; -1 for functions */
	uint64_t self, total;
	size_t seen; /* last stack counted in, + 1 */
};

struct table {
	struct fn_stat *v;
	size_t n, cap;
	struct hashmap index;
};

static int64_t table_get(struct table *t, uint64_t key, const struct pframe *fr,
			 int32_t line)
{
	uint64_t id;

	if (hashmap__get(&t->index, key, &id))
		return (int64_t)id;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		void *nv = realloc(t->v, ncap * sizeof(*t->v));

		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = ncap;
	}
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	t->v[t->n].name = fr->name;
	t->v[t->n].file = fr->file;
	t->v[t->n].kind = fr->kind;
	t->v[t->n].line = line;
	if (hashmap__set(&t->index, key, t->n))
		return -ENOMEM;
	return (int64_t)t->n++;
}

static int cmp_stat(const void *a, const void *b)
{
	const struct fn_stat *x = a, *y = b;

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	if (x->name != y->name)
		return x->name < y->name ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Functions (name, file) and lines (name, file, line) with own and total
 * samples; recursion counts a function once per stack. */
static int gather(const struct profile *p, struct table *fns,
		  struct table *lines, uint64_t *total)
{
	for (size_t i = 0; i < profile__nstacks(p); i++) {
		const uint32_t *fr;
		uint32_t n, proc, thread, first;
		uint64_t count;

		profile__stack(p, i, &fr, &n, &count);
		if (!n || !count)
			continue;
		*total += count;
		first = out__split(p, fr, n, &proc, &thread);
		for (uint32_t j = first; j < n; j++) {
			const struct pframe *pf = profile__frame_get(p, fr[j]);
			uint64_t k;
			int64_t f, l;

			if (!pf)
				continue;
			k = ((uint64_t)pf->name << 32 | pf->file) + 1;
			f = table_get(fns, k, pf, -1);
			l = table_get(lines, (uint64_t)fr[j] + 1, pf, pf->line);
			if (f < 0 || l < 0)
				return -ENOMEM;
			if (fns->v[f].seen != i + 1)
				fns->v[f].total += count;
			if (lines->v[l].seen != i + 1)
				lines->v[l].total += count;
			fns->v[f].seen = lines->v[l].seen = i + 1;
			if (j + 1 == n) {
				fns->v[f].self += count;
				lines->v[l].self += count;
			}
		}
	}
	return 0;
}

static void pct_cell(FILE *f, uint64_t n, uint64_t total)
{
	double pct = total ? 100.0 * (double)n / (double)total : 0;

	fprintf(f,
		"<td class=\"num\" data-v=\"%" PRIu64 "\">%" PRIu64
		"</td><td class=\"num\" data-v=\"%.6f\"><span class=\"bar\" "
		"style=\"width:%.0fpx\"></span>%.2f%%</td>",
		n, n, pct, pct * 0.8, pct);
}

static void row(FILE *f, const struct profile *p, const struct fn_stat *s,
		size_t rank, uint64_t total, bool with_line)
{
	const char *name = profile__string(p, s->name);

	fprintf(f, "<tr><td class=\"num\">%zu</td><td class=\"fn\">", rank);
	out__xml_str(f, *name ? name : "[unknown]");
	fputs("</td><td class=\"file\">", f);
	if (s->kind == PF_PYTHON || s->kind == PF_NATIVE)
		out__xml_str(f, s->file ? profile__string(p, s->file) : "?");
	if (with_line && s->line >= 0)
		fprintf(f, ":%" PRId32, s->line);
	fputs("</td>", f);
	pct_cell(f, s->self, total);
	pct_cell(f, s->total, total);
	fputs("</tr>\n", f);
}

static void list(FILE *f, const struct profile *p, struct table *t, size_t max,
		 uint64_t total, bool with_line, const char *what)
{
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), cmp_stat);
	fprintf(f,
		"<table class=\"list\"><thead><tr><th data-num=\"1\">#</th><th>%s</th>"
		"<th>%s</th><th data-num=\"1\">own</th><th data-num=\"1\">own %%</th>"
		"<th data-num=\"1\">total</th><th data-num=\"1\">total %%</th></tr></thead><tbody>\n",
		what, with_line ? "file:line" : "file");
	for (size_t i = 0; i < t->n && i < max; i++)
		row(f, p, &t->v[i], i + 1, total, with_line);
	fputs("</tbody></table>\n", f);
	if (t->n > max)
		fprintf(f, "<p class=\"note\">%zu more not shown.</p>\n",
			t->n - max);
}

struct thread_stat {
	uint32_t proc, thread;
	uint64_t count;
};

static int cmp_thread(const void *a, const void *b)
{
	const struct thread_stat *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	return x->thread < y->thread ? -1 : x->thread > y->thread;
}

static int threads(FILE *f, const struct profile *p, uint64_t total)
{
	struct hashmap index = {};
	struct thread_stat *v = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	for (size_t i = 0; i < profile__nstacks(p); i++) {
		const uint32_t *fr;
		uint32_t nf, proc, thread;
		uint64_t count, k, id;

		profile__stack(p, i, &fr, &nf, &count);
		if (!nf || !count)
			continue;
		out__split(p, fr, nf, &proc, &thread);
		k = ((uint64_t)proc << 32 | thread) ^ (1ull << 63);
		if (!hashmap__get(&index, k, &id)) {
			if (n == cap) {
				void *nv;

				cap = cap ? cap * 2 : 16;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					err = -ENOMEM;
					goto out;
				}
				v = nv;
			}
			id = n;
			v[n++] = (struct thread_stat){ proc, thread, 0 };
			if (hashmap__set(&index, k, id)) {
				err = -ENOMEM;
				goto out;
			}
		}
		v[id].count += count;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_thread);
	fputs("<table class=\"list\" id=\"threads-table\"><thead><tr><th>thread</th>"
	      "<th>process</th><th data-num=\"1\">samples</th><th data-num=\"1\">%</th>"
	      "</tr></thead><tbody>\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		fputs("<tr><td class=\"fn\">", f);
		out__xml_str(f, v[i].thread == UINT32_MAX ?
					"(all threads)" :
					out__name(p, profile__frame_get(
							     p, v[i].thread)));
		fputs("</td><td class=\"fn\">", f);
		out__xml_str(f, v[i].proc == UINT32_MAX ?
					"-" :
					out__name(p, profile__frame_get(
							     p, v[i].proc)));
		fputs("</td>", f);
		pct_cell(f, v[i].count, total);
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
out:
	hashmap__free(&index);
	free(v);
	return err;
}

static void summary(FILE *f, const struct profile *p, const struct out_meta *m,
		    uint64_t total, size_t nfunctions)
{
	size_t nstacks = 0;

	for (size_t i = 0; i < profile__nstacks(p); i++) {
		const uint32_t *fr;
		uint32_t n;
		uint64_t count;

		profile__stack(p, i, &fr, &n, &count);
		nstacks += n && count;
	}
	fputs("<table class=\"kv\" id=\"summary-table\">\n", f);
	if (*out__meta_title(m)) {
		fputs("<tr><th>Profiled</th><td>", f);
		out__xml_str(f, out__meta_title(m));
		fputs("</td></tr>\n", f);
	}
	if (m && m->python) {
		fputs("<tr><th>Python</th><td>CPython ", f);
		out__xml_str(f, m->python);
		fputs("</td></tr>\n", f);
	}
	if (m && m->start_time > 0) {
		time_t t = (time_t)m->start_time;
		struct tm tm;
		char buf[64];

		if (gmtime_r(&t, &tm) &&
		    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm))
			fprintf(f, "<tr><th>Started</th><td>%s</td></tr>\n",
				buf);
	}
	if (m && m->duration > 0)
		fprintf(f, "<tr><th>Duration</th><td>%.1f s</td></tr>\n",
			m->duration);
	if (m && m->freq)
		fprintf(f,
			"<tr><th>Frequency</th><td>%u samples per second per CPU</td></tr>\n",
			m->freq);
	fprintf(f, "<tr><th>Samples</th><td>%" PRIu64 " in this profile",
		total);
	if (m && m->samples_taken)
		fprintf(f, "; %" PRIu64 " taken", m->samples_taken);
	if (m && (m->samples_taken || m->samples_lost))
		fprintf(f, ", %" PRIu64 " lost", m->samples_lost);
	fputs("</td></tr>\n", f);
	if (m && m->freq)
		fprintf(f,
			"<tr><th>CPU time</th><td>about %.2f s (samples / frequency)</td></tr>\n",
			(double)total / m->freq);
	fprintf(f,
		"<tr><th>Distinct stacks</th><td>%zu</td></tr>\n"
		"<tr><th>Functions</th><td>%zu</td></tr>\n"
		"</table>\n",
		nstacks, nfunctions);
}

int out_html__write(const struct profile *p, const struct out_meta *m, FILE *f)
{
	struct table fns = {}, lines = {};
	uint64_t total = 0;
	const char *title = *out__meta_title(m) ? out__meta_title(m) :
						  "Python profile";
	int err;

	err = gather(p, &fns, &lines, &total);
	if (err)
		goto out;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
	      "<meta name=\"generator\" content=\"pyprof-bpf\"/>\n<title>",
	      f);
	out__xml_str(f, title);
	fputs(" - pyprof-bpf</title>\n", f);
	fputs(style, f);
	fputs("</head>\n<body>\n<h1 id=\"title\">", f);
	out__xml_str(f, title);
	fputs("</h1>\n<p class=\"sub\">A CPU profile by pyprof-bpf, sampled "
	      "with eBPF: <b>own</b> samples are those where a function was "
	      "running, <b>total</b> those where it was on the stack.</p>\n",
	      f);
	fputs("<h2 id=\"summary\">Summary</h2>\n", f);
	summary(f, p, m, total, fns.n);
	fputs("<h2 id=\"threads\">Threads</h2>\n", f);
	err = threads(f, p, total);
	if (err)
		goto out;
	fputs("<h2 id=\"timeline-title\">Timeline</h2>\n", f);
	err = out_html__timeline(p, m, f);
	if (err)
		goto out;
	fputs("<h2 id=\"functions\">Top functions</h2>\n", f);
	list(f, p, &fns, TOP_FUNCTIONS, total, false, "function");
	fputs("<h2 id=\"lines\">Hottest lines</h2>\n", f);
	list(f, p, &lines, TOP_LINES, total, true, "function");
	fputs("<h2 id=\"flamegraph\">Flame graph</h2>\n<p class=\"note\">Each box "
	      "is a function on the stack, as wide as its samples; callers "
	      "below, callees above. Click a box to zoom in, \"Reset zoom\" "
	      "to zoom out; \"Search\" (or Ctrl-F) highlights the frames that "
	      "match a regular expression; hover for samples and percentage."
	      "</p>\n<div id=\"flame\">\n",
	      f);
	err = out_svg__write_inline(p, m, f);
	if (err)
		goto out;
	fputs("</div>\n", f);
	fputs(script, f);
	fputs("</body>\n</html>\n", f);
out:
	free(fns.v);
	free(lines.v);
	hashmap__free(&fns.index);
	hashmap__free(&lines.index);
	if (err)
		return err;
	return out__finish(f);
}
