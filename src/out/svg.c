// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * An interactive flame graph as one SVG file: the root ("all") at the
 * bottom, callees above their callers, each box as wide as its samples,
 * siblings in label order.  It reads without script (every box placed and
 * labelled), and in a browser its script adds click-to-zoom, search (the
 * Search button, Ctrl-F or '/') and a tooltip with samples and percentage.
 *
 * Boxes narrower than MIN_WIDTH pixels are left out, with everything above
 * them, so the file stays small however many stacks the profile has; the
 * subtitle says how many were left out.
 *
 * The differential mode (`pyprof-bpf diff -o diff.svg`) follows FlameGraph's
 * difffolded convention: the boxes are head's, and each is coloured by the
 * change of its own share (the samples that end in it) from base: red grew,
 * blue shrank, the deeper the larger the change; a path only in base has
 * no width in head and is not drawn.  Its tooltip gives both profiles.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/hashmap.h"
#include "out/formats.h"
#include "out/util.h"

#define WIDTH 1200
#define PAD 10
#define INNER (WIDTH - 2 * PAD)
#define FRAME_H 16
#define TOP 66 /* title, subtitle, buttons */
#define BOTTOM 34 /* the details line */
#define FONT_PX 12
#define CHAR_W 7.3 /* monospace at 12 px, with a little slack */
#define MIN_WIDTH 0.1 /* pixels */

static const char style[] =
	"<style type=\"text/css\">\n"
	"  text { font-family: \"DejaVu Sans Mono\", Menlo, Consolas, monospace; font-size: 12px; fill: #000; }\n"
	"  #pf-title { font-size: 17px; font-weight: bold; }\n"
	"  #pf-subtitle { fill: #555; }\n"
	"  .pf-button { fill: #036; cursor: pointer; text-decoration: underline; }\n"
	"  .pf-button.pf-off { visibility: hidden; }\n"
	"  g.f { cursor: pointer; }\n"
	"  g.f text { pointer-events: none; }\n"
	"  g.f:hover rect { stroke: #000; stroke-width: 0.7; }\n"
	"  g.f.pf-hidden { display: none; }\n"
	"  g.f.pf-ancestor rect { opacity: 0.55; }\n"
	"  #pf-tip { pointer-events: none; visibility: hidden; }\n"
	"  #pf-tip rect { fill: #ffffe8; stroke: #777; }\n"
	"</style>\n";

/*
 * The script: frames carry their first sample (data-s), samples (data-n)
 * and depth (data-d); their <title> is "label\nstats".  Zooming lays every
 * frame out again from those numbers.
 */
static const char script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"(function () {\n"
	"\"use strict\";\n"
	"var svg = document.getElementById(\"pf-flame\");\n"
	"var W = 1200, PAD = 10, INNER = W - 2 * PAD, CH = 7.3, MATCH = \"rgb(230,0,230)\";\n"
	"var $ = function (id) { return document.getElementById(id); };\n"
	"var details = $(\"pf-details\"), matched = $(\"pf-matched\"), unzoomBtn = $(\"pf-unzoom\");\n"
	"var tip = $(\"pf-tip\"), tipBg = $(\"pf-tip-bg\"), tipL1 = $(\"pf-tip-l1\"), tipL2 = $(\"pf-tip-l2\");\n"
	"var frames = [];\n"
	"Array.prototype.forEach.call(svg.querySelectorAll(\"g.f\"), function (g) {\n"
	"  var title = g.querySelector(\"title\").textContent, nl = title.indexOf(\"\\n\");\n"
	"  var rect = g.querySelector(\"rect\");\n"
	"  frames.push({ g: g, rect: rect, text: g.querySelector(\"text\"),\n"
	"    label: title.slice(0, nl), stats: title.slice(nl + 1),\n"
	"    s: +g.getAttribute(\"data-s\"), n: +g.getAttribute(\"data-n\"),\n"
	"    d: +g.getAttribute(\"data-d\"), fill: rect.getAttribute(\"fill\") });\n"
	"});\n"
	"if (!frames.length) return;\n"
	"var total = frames[0].n, zoomed = null, search = null;\n"
	"function fitText(f, x, w) {\n"
	"  var max = Math.floor((w - 6) / CH), s = f.label;\n"
	"  if (max < 3) s = \"\"; else if (s.length > max) s = s.slice(0, max - 2) + \"..\";\n"
	"  f.text.textContent = s;\n"
	"  f.text.setAttribute(\"x\", (x + 3).toFixed(2));\n"
	"}\n"
	"function place(f, x, w) {\n"
	"  f.rect.setAttribute(\"x\", x.toFixed(2));\n"
	"  f.rect.setAttribute(\"width\", w.toFixed(2));\n"
	"  fitText(f, x, w);\n"
	"}\n"
	"function layout() {\n"
	"  var zs = zoomed ? zoomed.s : 0, zn = zoomed ? zoomed.n : total, zd = zoomed ? zoomed.d : 0;\n"
	"  frames.forEach(function (f) {\n"
	"    var inside = f.s >= zs && f.s + f.n <= zs + zn;\n"
	"    var hide = true, anc = false;\n"
	"    if (f.d < zd && f.s <= zs && f.s + f.n >= zs + zn) {\n"
	"      place(f, PAD, INNER); hide = false; anc = true;\n"
	"    } else if (f.d >= zd && inside && zn > 0) {\n"
	"      var w = f.n / zn * INNER;\n"
	"      if (w >= 0.1) { place(f, PAD + (f.s - zs) / zn * INNER, w); hide = false; }\n"
	"    }\n"
	"    f.g.classList.toggle(\"pf-hidden\", hide);\n"
	"    f.g.classList.toggle(\"pf-ancestor\", anc);\n"
	"  });\n"
	"  unzoomBtn.classList.toggle(\"pf-off\", !zoomed);\n"
	"}\n"
	"function zoom(f) { zoomed = f.d === 0 ? null : f; layout(); }\n"
	"function setSearch(term) {\n"
	"  var re = null, ranges = [], sum = 0, end = -1;\n"
	"  search = term || null;\n"
	"  if (search) {\n"
	"    try { re = new RegExp(search); }\n"
	"    catch (e) { re = new RegExp(search.replace(/[.*+?^${}()|[\\]\\\\]/g, \"\\\\$&\")); }\n"
	"  }\n"
	"  frames.forEach(function (f) {\n"
	"    var hit = re !== null && f.d > 0 && re.test(f.label);\n"
	"    f.rect.setAttribute(\"fill\", hit ? MATCH : f.fill);\n"
	"    if (hit) ranges.push([f.s, f.s + f.n]);\n"
	"  });\n"
	"  ranges.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });\n"
	"  ranges.forEach(function (r) {\n"
	"    if (r[0] >= end) { sum += r[1] - r[0]; end = r[1]; }\n"
	"    else if (r[1] > end) { sum += r[1] - end; end = r[1]; }\n"
	"  });\n"
	"  matched.textContent = search ? \"Matched: \" + (total ? 100 * sum / total : 0).toFixed(2) + \"% (\" + sum + \" samples)\" : \"\";\n"
	"  $(\"pf-search\").textContent = search ? \"Reset search\" : \"Search\";\n"
	"}\n"
	"function askSearch() {\n"
	"  if (search) { setSearch(null); return; }\n"
	"  var term = window.prompt(\"Search frames (a regular expression):\", \"\");\n"
	"  if (term) setSearch(term);\n"
	"}\n"
	"function frameOf(evt) {\n"
	"  var g = evt.target.closest ? evt.target.closest(\"g.f\") : null;\n"
	"  for (var i = 0; g && i < frames.length; i++) if (frames[i].g === g) return frames[i];\n"
	"  return null;\n"
	"}\n"
	"function showTip(f, evt) {\n"
	"  var pt = svg.createSVGPoint(), m = svg.getScreenCTM();\n"
	"  details.textContent = f.label + \" \\u2014 \" + f.stats;\n"
	"  tipL1.textContent = f.label; tipL2.textContent = f.stats;\n"
	"  tip.style.visibility = \"visible\";\n"
	"  if (!m) return;\n"
	"  pt.x = evt.clientX; pt.y = evt.clientY; pt = pt.matrixTransform(m.inverse());\n"
	"  var w = Math.max(tipL1.getComputedTextLength(), tipL2.getComputedTextLength()) + 12;\n"
	"  var vb = svg.viewBox.baseVal, x = pt.x + 12, y = pt.y + 14;\n"
	"  if (x + w > vb.width) x = Math.max(0, pt.x - w - 4);\n"
	"  if (y + 38 > vb.height) y = pt.y - 44;\n"
	"  tipBg.setAttribute(\"width\", w.toFixed(1));\n"
	"  tip.setAttribute(\"transform\", \"translate(\" + x.toFixed(1) + \",\" + y.toFixed(1) + \")\");\n"
	"}\n"
	"svg.addEventListener(\"click\", function (evt) {\n"
	"  var f = frameOf(evt);\n"
	"  if (f) zoom(f);\n"
	"  else if (evt.target.id === \"pf-unzoom\") zoom(frames[0]);\n"
	"  else if (evt.target.id === \"pf-search\") askSearch();\n"
	"});\n"
	"svg.addEventListener(\"mousemove\", function (evt) {\n"
	"  var f = frameOf(evt);\n"
	"  if (f) showTip(f, evt);\n"
	"  else { tip.style.visibility = \"hidden\"; details.textContent = \" \"; }\n"
	"});\n"
	"svg.addEventListener(\"mouseleave\", function () { tip.style.visibility = \"hidden\"; });\n"
	"window.addEventListener(\"keydown\", function (evt) {\n"
	"  if ((evt.ctrlKey && evt.key === \"f\") || (evt.key === \"/\" && !evt.ctrlKey)) { evt.preventDefault(); askSearch(); }\n"
	"  else if (evt.key === \"Escape\") { setSearch(null); zoom(frames[0]); }\n"
	"});\n"
	"svg.pyprof = { zoom: function (i) { zoom(frames[i]); }, search: setSearch,\n"
	"  frames: frames, layout: layout };\n"
	"layout();\n"
	"})();\n"
	"]]></script>\n";

/* A stable colour per name: warm for Python, by kind for the rest. */
static void colour(const struct pframe *fr, const char *name, int *r, int *g,
		   int *b)
{
	uint32_t h = 2166136261u;
	double v1, v2, v3;

	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	v1 = (double)(h & 0xff) / 255.0;
	v2 = (double)((h >> 8) & 0xff) / 255.0;
	v3 = (double)((h >> 16) & 0xff) / 255.0;
	switch (fr ? fr->kind : PF_MARKER) {
	case PF_PYTHON:
		*r = 225 + (int)(30 * v1);
		*g = 90 + (int)(140 * v2);
		*b = 40 + (int)(50 * v3);
		break;
	case PF_NATIVE:
		*r = 70 + (int)(50 * v1);
		*g = 170 + (int)(50 * v2);
		*b = 190 + (int)(50 * v3);
		break;
	case PF_KERNEL:
		*r = 230 + (int)(25 * v1);
		*g = 150 + (int)(40 * v2);
		*b = 30 + (int)(30 * v3);
		break;
	case PF_TASK: /* asyncio tasks: green, apart from all the rest */
		*r = 90 + (int)(40 * v1);
		*g = 190 + (int)(40 * v2);
		*b = 90 + (int)(40 * v3);
		break;
	case PF_PROCESS:
	case PF_THREAD:
		*r = 175 + (int)(25 * v1);
		*g = 160 + (int)(25 * v2);
		*b = 225 + (int)(30 * v3);
		break;
	default:
		*r = *g = *b = 190 + (int)(20 * v1);
		break;
	}
}

static double share(uint64_t n, uint64_t total)
{
	return total ? 100.0 * (double)n / (double)total : 0.0;
}

static void print_pct(FILE *f, uint64_t n, uint64_t total)
{
	fprintf(f, "%.2f%%", share(n, total));
}

/*
 * A differential graph's figures: for each node of head's tree, the
 * samples of the same path in base's tree (0 where base lacks it).
 */
struct shade {
	uint64_t *total, *self; /* [nodes of head's tree] */
	uint64_t base_total; /* base's root */
	double max_delta; /* the largest change of an own share, points */
};

/* The change of node i's own share from base to head, in points. */
static double own_delta(const struct shade *sh, const struct out_tree *t,
			uint32_t i)
{
	return share(t->nodes[i].self, t->nodes[0].total) -
	       share(sh->self[i], sh->base_total);
}

/*
 * Matches head's tree t with base's tree bt (the profiles share their
 * frame ids) path by path.  Parents come before their children in both
 * trees, so one pass finds every node's match.  0 or -ENOMEM.
 */
static int shade__init(struct shade *sh, const struct out_tree *t,
		       const struct out_tree *bt)
{
	struct hashmap index = {};
	uint32_t *match;
	int err = 0;

	memset(sh, 0, sizeof(*sh));
	match = calloc(t->nnodes, sizeof(*match));
	sh->total = calloc(t->nnodes, sizeof(*sh->total));
	sh->self = calloc(t->nnodes, sizeof(*sh->self));
	if (!match || !sh->total || !sh->self) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t j = 1; j < bt->nnodes && !err; j++)
		err = hashmap__set(&index,
				   ((uint64_t)bt->nodes[j].parent + 1) << 32 |
					   bt->nodes[j].frame,
				   j);
	if (err)
		goto out;
	sh->base_total = bt->nodes[0].total;
	sh->total[0] = bt->nodes[0].total;
	for (size_t i = 1; i < t->nnodes; i++) {
		uint32_t bp = match[t->nodes[i].parent];
		uint64_t id;

		/* 0 is "none" below the root: no node's match is the root. */
		match[i] = 0;
		if ((bp || t->nodes[i].parent == 0) &&
		    hashmap__get(&index,
				 ((uint64_t)bp + 1) << 32 | t->nodes[i].frame,
				 &id)) {
			match[i] = (uint32_t)id;
			sh->total[i] = bt->nodes[id].total;
			sh->self[i] = bt->nodes[id].self;
		}
		sh->max_delta = fmax(sh->max_delta,
				     fabs(own_delta(sh, t, (uint32_t)i)));
	}
out:
	hashmap__free(&index);
	free(match);
	return err;
}

static void shade__free(struct shade *sh)
{
	free(sh->total);
	free(sh->self);
}

/* Red for growth, blue for shrinkage, light grey for none (white would
 * not stand out from the background). */
static void diff_colour(double delta, double max, int *r, int *g, int *b)
{
	double v = max > 0 ? fabs(delta) / max : 0;
	int fade = 230 - (int)(170 * fmin(v, 1.0));

	if (delta > 0) {
		*r = 255;
		*g = *b = fade;
	} else if (delta < 0) {
		*r = *g = fade;
		*b = 255;
	} else {
		*r = *g = *b = 230;
	}
}

/* The tooltip's figures of node i in a differential graph. */
static void diff_stats(FILE *f, const struct shade *sh,
		       const struct out_tree *t, uint32_t i)
{
	const struct out_node *nd = &t->nodes[i];
	uint64_t total = t->nodes[0].total;

	fprintf(f,
		"head %" PRIu64 " samples, %.2f%% (own %.2f%%); base %" PRIu64
		" samples, %.2f%% (own %.2f%%); own %+.2f points",
		nd->total, share(nd->total, total), share(nd->self, total),
		sh->total[i], share(sh->total[i], sh->base_total),
		share(sh->self[i], sh->base_total), own_delta(sh, t, i));
}

static void subtitle(FILE *f, uint64_t total, const struct out_meta *m,
		     size_t left_out, const struct shade *sh)
{
	if (sh)
		fprintf(f,
			"widths: head, %" PRIu64 " samples; colour: own share "
			"against base, %" PRIu64 " samples: red grew, blue "
			"shrank",
			total, sh->base_total);
	else
		fprintf(f, "%" PRIu64 " samples", total);
	if (m && m->freq)
		fprintf(f, " at %u Hz", m->freq);
	if (m && m->duration > 0)
		fprintf(f, " over %.1f s", m->duration);
	if (m && m->python) {
		fputs(", CPython ", f);
		out__xml_str(f, m->python);
	}
	if (m && m->start_time > 0) {
		time_t t = (time_t)m->start_time;
		struct tm tm;
		char buf[64];

		if (gmtime_r(&t, &tm) &&
		    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm))
			fprintf(f, ", started %s", buf);
	}
	if (m && m->samples_lost)
		fprintf(f, ", %" PRIu64 " lost", m->samples_lost);
	if (left_out)
		fprintf(f, "; %zu frames narrower than %.1f px not drawn",
			left_out, MIN_WIDTH);
}

struct todo {
	uint32_t node;
	uint64_t start;
};

/* Counts the boxes too narrow to draw (each with all above it). */
static size_t count_left_out(const struct out_tree *t, uint64_t total)
{
	size_t n = 0;

	for (size_t i = 1; i < t->nnodes; i++) {
		const struct out_node *nd = &t->nodes[i];
		double w = (double)nd->total * INNER / (double)total;
		double pw = (double)t->nodes[nd->parent].total * INNER /
			    (double)total;

		if (w < MIN_WIDTH && (nd->parent == 0 || pw >= MIN_WIDTH))
			n++;
	}
	return n;
}

static int write_frames(FILE *f, const struct profile *p,
			const struct out_tree *t, struct out_labels *labels,
			int height, const struct shade *sh)
{
	uint64_t total = t->nodes[0].total;
	struct todo *stack;
	size_t top = 0;
	int err = 0;

	if (!total)
		return 0;
	stack = malloc(t->nnodes * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	stack[top++] = (struct todo){ 0, 0 };
	while (top) {
		struct todo cur = stack[--top];
		const struct out_node *nd = &t->nodes[cur.node];
		const struct pframe *fr = profile__frame_get(p, nd->frame);
		const char *label =
			cur.node ? out_labels__get(labels, p, nd->frame, &err) :
				   "all";
		double x = PAD + (double)cur.start * INNER / (double)total;
		double w = (double)nd->total * INNER / (double)total;
		int y = height - BOTTOM - (int)(nd->depth + 1) * FRAME_H;
		size_t fit = w > 6 ? (size_t)((w - 6) / CHAR_W) : 0;
		uint64_t start;
		int r, g, b;

		if (w < MIN_WIDTH)
			continue;
		if (sh)
			diff_colour(own_delta(sh, t, cur.node), sh->max_delta,
				    &r, &g, &b);
		else
			colour(cur.node ? fr : NULL, label, &r, &g, &b);
		fprintf(f,
			"<g class=\"f\" data-s=\"%" PRIu64
			"\" data-n=\"%" PRIu64 "\" data-d=\"%" PRIu32
			"\"><title>",
			cur.start, nd->total, nd->depth);
		out__xml_str(f, label);
		fputs("&#10;", f);
		if (sh) {
			diff_stats(f, sh, t, cur.node);
		} else {
			fprintf(f, "%" PRIu64 " samples, ", nd->total);
			print_pct(f, nd->total, total);
		}
		if (!sh && nd->self && nd->self != nd->total) {
			fprintf(f, "; own %" PRIu64 ", ", nd->self);
			print_pct(f, nd->self, total);
		}
		fprintf(f,
			"</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
			"height=\"%d\" rx=\"2\" fill=\"rgb(%d,%d,%d)\"/>"
			"<text x=\"%.2f\" y=\"%d\">",
			x, y, w, FRAME_H - 1, r, g, b, x + 3, y + FRAME_H - 4);
		if (fit >= 3)
			out__xml_str_cut(f, label,
					 out__utf8_len(label) > fit ? fit - 2 :
								      fit);
		fputs("</text></g>\n", f);

		/* Children pushed last-first, so drawn in label order. */
		start = cur.start;
		for (uint32_t c = 0; c < nd->nchild; c++)
			start += t->nodes[t->child[nd->first + c]].total;
		for (uint32_t c = nd->nchild; c-- > 0;) {
			uint32_t id = t->child[nd->first + c];

			start -= t->nodes[id].total;
			stack[top++] = (struct todo){ id, start };
		}
	}
	free(stack);
	return err;
}

/* base: NULL, or the profile a differential graph compares p with. */
static int write_svg(const struct profile *p, const struct out_meta *m, FILE *f,
		     bool inline_svg, const struct profile *base)
{
	struct out_labels labels;
	struct out_tree t, bt = {};
	struct shade shade = {}, *sh = NULL;
	int height, err;
	size_t left_out;

	err = out_labels__init(&labels, p);
	if (err)
		return err;
	err = out_tree__build(&t, p, &labels);
	if (err)
		goto out_labels;
	if (base) {
		/* One id is one frame in both: p's labels serve base too. */
		err = out_tree__build(&bt, base, &labels);
		if (!err)
			err = shade__init(&shade, &t, &bt);
		if (err)
			goto out_tree;
		sh = &shade;
	}
	height = TOP + BOTTOM + (int)(t.max_depth + 1) * FRAME_H;
	left_out = t.nodes[0].total ? count_left_out(&t, t.nodes[0].total) : 0;

	if (!inline_svg)
		fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n",
		      f);
	fputs("<svg id=\"pf-flame\" xmlns=\"http://www.w3.org/2000/svg\" "
	      "version=\"1.1\" ",
	      f);
	if (inline_svg)
		fputs("width=\"100%\"", f);
	else
		fprintf(f, "width=\"%d\" height=\"%d\"", WIDTH, height);
	fprintf(f, " viewBox=\"0 0 %d %d\">\n", WIDTH, height);
	fputs(style, f);
	fprintf(f,
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8f8f4\"/>\n",
		WIDTH, height);
	fprintf(f,
		"<text id=\"pf-title\" x=\"%d\" y=\"24\" text-anchor=\"middle\">",
		WIDTH / 2);
	out__xml_str(f,
		     *out__meta_title(m) ? out__meta_title(m) : "Flame graph");
	fputs("</text>\n", f);
	fprintf(f,
		"<text id=\"pf-subtitle\" x=\"%d\" y=\"42\" text-anchor=\"middle\">",
		WIDTH / 2);
	subtitle(f, t.nodes[0].total, m, left_out, sh);
	fputs("</text>\n", f);
	fprintf(f,
		"<text id=\"pf-unzoom\" class=\"pf-button pf-off\" x=\"%d\" y=\"24\">Reset zoom</text>\n"
		"<text id=\"pf-search\" class=\"pf-button\" x=\"%d\" y=\"24\" text-anchor=\"end\">Search</text>\n"
		"<text id=\"pf-matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"></text>\n"
		"<text id=\"pf-details\" x=\"%d\" y=\"%d\"> </text>\n",
		PAD, WIDTH - PAD, WIDTH - PAD, height - 12, PAD, height - 12);
	fputs("<g id=\"pf-frames\">\n", f);
	err = write_frames(f, p, &t, &labels, height, sh);
	fputs("</g>\n", f);
	fputs("<g id=\"pf-tip\"><rect id=\"pf-tip-bg\" x=\"0\" y=\"0\" width=\"10\" height=\"38\" rx=\"3\"/>"
	      "<text id=\"pf-tip-l1\" x=\"6\" y=\"15\"></text>"
	      "<text id=\"pf-tip-l2\" x=\"6\" y=\"31\"></text></g>\n",
	      f);
	fputs(script, f);
	fputs("</svg>\n", f);

out_tree:
	shade__free(&shade);
	out_tree__free(&bt);
	out_tree__free(&t);
out_labels:
	out_labels__free(&labels);
	if (err)
		return err;
	return out__finish(f);
}

int out_svg__write(const struct profile *p, const struct out_meta *m, FILE *f)
{
	return write_svg(p, m, f, false, NULL);
}

int out_svg__write_inline(const struct profile *p, const struct out_meta *m,
			  FILE *f)
{
	return write_svg(p, m, f, true, NULL);
}

int out_svg__write_diff(const struct profile *base, const struct profile *head,
			const struct out_meta *m, FILE *f)
{
	return write_svg(head, m, f, false, base);
}
