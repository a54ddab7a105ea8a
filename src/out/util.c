// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "out/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/hashmap.h"
#include "out/output.h"

size_t out__utf8_next(const char *s, uint32_t *cp)
{
	const unsigned char *b = (const unsigned char *)s;
	uint32_t c = b[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		goto bad;
	}
	/* A NUL ends the string: it is never a continuation byte. */
	for (size_t i = 1; i < n; i++) {
		if ((b[i] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (b[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*cp = c;
	return n;
bad:
	*cp = 0xfffd;
	return 1;
}

void out__json_str(FILE *f, const char *s)
{
	fputc('"', f);
	while (*s) {
		uint32_t cp;
		size_t n = out__utf8_next(s, &cp);

		if (cp == '"' || cp == '\\') {
			fputc('\\', f);
			fputc((int)cp, f);
		} else if (cp == '\n') {
			fputs("\\n", f);
		} else if (cp == '\t') {
			fputs("\\t", f);
		} else if (cp < 0x20 || cp == 0x7f) {
			fprintf(f, "\\u%04" PRIx32, cp);
		} else if (cp == 0xfffd && n == 1) {
			fputs("\\ufffd", f);
		} else if (cp == 0x2028 || cp == 0x2029) {
			/* Valid JSON, but not valid inside a <script>. */
			fprintf(f, "\\u%04" PRIx32, cp);
		} else {
			fwrite(s, 1, n, f);
		}
		s += n;
	}
	fputc('"', f);
}

/* Writes one character of s (n bytes, code point cp) as XML. */
static void xml_char(FILE *f, const char *s, size_t n, uint32_t cp)
{
	switch (cp) {
	case '&':
		fputs("&amp;", f);
		return;
	case '<':
		fputs("&lt;", f);
		return;
	case '>':
		fputs("&gt;", f);
		return;
	case '"':
		fputs("&quot;", f);
		return;
	case '\'':
		fputs("&#39;", f);
		return;
	}
	/* XML 1.0 Char excludes C0 controls and U+FFFE/U+FFFF; C1 controls
	 * and DEL are legal but invisible: all become U+FFFD. */
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe ||
	    cp == 0xffff || (cp == 0xfffd && n == 1))
		fputs("\xef\xbf\xbd", f);
	else
		fwrite(s, 1, n, f);
}

void out__xml_str_cut(FILE *f, const char *s, size_t max)
{
	size_t chars = 0;

	while (*s) {
		uint32_t cp;
		size_t n = out__utf8_next(s, &cp);

		if (chars++ == max) {
			fputs("..", f);
			return;
		}
		xml_char(f, s, n, cp);
		s += n;
	}
}

void out__xml_str(FILE *f, const char *s)
{
	out__xml_str_cut(f, s, SIZE_MAX);
}

size_t out__xml_text(FILE *f, const char *s, size_t len)
{
	const char *end = s + len;
	size_t bad = 0;

	while (s < end) {
		uint32_t cp;
		size_t n;

		if (*s == '\t') {
			fputc('\t', f);
			s++;
			continue;
		}
		if (*s == '\0') {
			cp = 0xfffd;
			n = 1;
		} else {
			n = out__utf8_next(s, &cp);
		}
		if (cp == 0xfffd && n == 1)
			bad++;
		xml_char(f, s, n, cp);
		s += n;
	}
	return bad;
}

void out__line_str(FILE *f, const char *s)
{
	while (*s) {
		uint32_t cp;
		size_t n = out__utf8_next(s, &cp);

		if (cp < 0x20 || cp == 0x7f)
			fputc('?', f);
		else if (cp == 0xfffd && n == 1)
			fputs("\xef\xbf\xbd", f);
		else
			fwrite(s, 1, n, f);
		s += n;
	}
}

size_t out__utf8_len(const char *s)
{
	size_t chars = 0;
	uint32_t cp;

	while (*s) {
		s += out__utf8_next(s, &cp);
		chars++;
	}
	return chars;
}

const char *out__name(const struct profile *p, const struct pframe *fr)
{
	const char *name = profile__string(p, fr->name);

	return *name ? name : "[unknown]";
}

char *out__label(const struct profile *p, const struct pframe *fr)
{
	const char *name = out__name(p, fr);
	char *s;
	int n;

	if (fr->kind == PF_KERNEL) /* flamegraph.pl's colour for kernel */
		return asprintf(&s, "%s_[k]", name) < 0 ? NULL : s;
	if (fr->kind != PF_PYTHON)
		return strdup(name);
	if (fr->line >= 0)
		n = asprintf(&s, "%s (%s:%" PRId32 ")", name,
			     fr->file ? profile__string(p, fr->file) : "?",
			     fr->line);
	else
		n = asprintf(&s, "%s (%s)", name,
			     fr->file ? profile__string(p, fr->file) : "?");
	return n < 0 ? NULL : s;
}

int32_t *out__first_lines(const struct profile *p)
{
	size_t n = profile__nframes(p);
	int32_t *first = malloc((n ? n : 1) * sizeof(*first));
	struct hashmap low = {}; /* (name, file) -> lowest line + 1 */
	int err = 0;

	if (!first)
		return NULL;
	for (size_t i = 0; i < n && !err; i++) {
		const struct pframe *fr = profile__frame_get(p, (uint32_t)i);
		uint64_t k = ((uint64_t)fr->name << 32 | fr->file) + 1, v;

		first[i] = profile__first_line(p, (uint32_t)i);
		if (fr->kind != PF_PYTHON || first[i] >= 0 || fr->line < 0)
			continue;
		if (!hashmap__get(&low, k, &v) || (uint64_t)fr->line + 1 < v)
			err = hashmap__set(&low, k, (uint64_t)fr->line + 1);
	}
	for (size_t i = 0; i < n && !err; i++) {
		const struct pframe *fr = profile__frame_get(p, (uint32_t)i);
		uint64_t k = ((uint64_t)fr->name << 32 | fr->file) + 1, v;

		if (fr->kind == PF_PYTHON && first[i] < 0 &&
		    hashmap__get(&low, k, &v))
			first[i] = (int32_t)(v - 1);
	}
	hashmap__free(&low);
	if (err) {
		free(first);
		return NULL;
	}
	return first;
}

uint32_t out__split(const struct profile *p, const uint32_t *frames, uint32_t n,
		    uint32_t *proc, uint32_t *thread)
{
	const struct pframe *fr;
	uint32_t i = 0;

	*proc = *thread = UINT32_MAX;
	if (i < n && (fr = profile__frame_get(p, frames[i])) &&
	    fr->kind == PF_PROCESS)
		*proc = frames[i++];
	if (i < n && (fr = profile__frame_get(p, frames[i])) &&
	    fr->kind == PF_THREAD)
		*thread = frames[i++];
	return i;
}

uint32_t out__label_pid(const char *label)
{
	size_t len = strlen(label), i = len;
	uint64_t v = 0;

	while (i > 0 && label[i - 1] >= '0' && label[i - 1] <= '9')
		i--;
	if (i == len || i == 0 || label[i - 1] != '-' || len - i > 9)
		return 0;
	for (; i < len; i++)
		v = v * 10 + (uint64_t)(label[i] - '0');
	return v <= INT32_MAX ? (uint32_t)v : 0;
}

int out__finish(FILE *f)
{
	/* A write that failed earlier left its errno (EPIPE, ENOSPC...). */
	int err = ferror(f) ? errno : 0;

	if (fflush(f) != 0)
		return -errno;
	if (ferror(f))
		return err ? -err : -EIO;
	return 0;
}

const char *out__meta_title(const struct out_meta *m)
{
	return m && m->title ? m->title : "";
}

int out_labels__init(struct out_labels *l, const struct profile *p)
{
	l->n = profile__nframes(p);
	l->label = calloc(l->n ? l->n : 1, sizeof(*l->label));
	return l->label ? 0 : -ENOMEM;
}

const char *out_labels__get(struct out_labels *l, const struct profile *p,
			    uint32_t id, int *err)
{
	const struct pframe *fr = profile__frame_get(p, id);

	if (!fr || id >= l->n)
		return "[unknown]";
	if (!l->label[id]) {
		l->label[id] = out__label(p, fr);
		if (!l->label[id]) {
			*err = -ENOMEM;
			return "";
		}
	}
	return l->label[id];
}

void out_labels__free(struct out_labels *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->label[i]);
	free(l->label);
	l->label = NULL;
	l->n = 0;
}

static int new_node(struct out_tree *t, uint32_t frame, uint32_t parent,
		    uint32_t depth)
{
	struct out_node *n;

	if (t->nnodes >= UINT32_MAX - 1)
		return -E2BIG;
	if (t->nnodes == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		void *nv = realloc(t->nodes, ncap * sizeof(*t->nodes));

		if (!nv)
			return -ENOMEM;
		t->nodes = nv;
		t->cap = ncap;
	}
	n = &t->nodes[t->nnodes++];
	memset(n, 0, sizeof(*n));
	n->frame = frame;
	n->parent = parent;
	n->depth = depth;
	if (depth > t->max_depth)
		t->max_depth = depth;
	return 0;
}

/* For sorting one node's children by label. */
struct sort_ctx {
	const struct out_tree *t;
	const char **labels;
	size_t nlabels;
};

static const char *sort_label(const struct sort_ctx *s, uint32_t frame)
{
	return frame < s->nlabels ? s->labels[frame] : "";
}

static int cmp_child(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *s = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint32_t fx = s->t->nodes[x].frame, fy = s->t->nodes[y].frame;
	int c = strcmp(sort_label(s, fx), sort_label(s, fy));

	if (c)
		return c;
	return fx < fy ? -1 : fx > fy;
}

int out_tree__build(struct out_tree *t, const struct profile *p,
		    struct out_labels *labels)
{
	struct hashmap index = {};
	struct sort_ctx sc;
	const char **lab = NULL;
	size_t *fill = NULL;
	int err;

	memset(t, 0, sizeof(*t));
	err = new_node(t, UINT32_MAX, UINT32_MAX, 0);
	if (err)
		return err;
	for (size_t i = 0; i < profile__nstacks(p); i++) {
		const uint32_t *frames;
		uint32_t n, cur = 0;
		uint64_t count, id;

		profile__stack(p, i, &frames, &n, &count);
		if (!n || !count)
			continue;
		t->nodes[0].total += count;
		for (uint32_t d = 0; d < n; d++) {
			/* Exact key: parent and frame are both 32 bits. */
			uint64_t k = ((uint64_t)cur + 1) << 32 | frames[d];

			if (!hashmap__get(&index, k, &id)) {
				id = t->nnodes;
				err = new_node(t, frames[d], cur, d + 1);
				if (!err)
					err = hashmap__set(&index, k, id);
				if (err)
					goto out;
			}
			cur = (uint32_t)id;
			t->nodes[cur].total += count;
		}
		t->nodes[cur].self += count;
	}
	hashmap__free(&index);

	/* Group children by parent, then sort each group by label. */
	t->child = malloc((t->nnodes ? t->nnodes : 1) * sizeof(*t->child));
	fill = calloc(t->nnodes, sizeof(*fill));
	lab = calloc(labels->n ? labels->n : 1, sizeof(*lab));
	if (!t->child || !fill || !lab) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 1; i < t->nnodes; i++)
		t->nodes[t->nodes[i].parent].nchild++;
	for (size_t i = 0, off = 0; i < t->nnodes; i++) {
		t->nodes[i].first = off;
		off += t->nodes[i].nchild;
	}
	for (size_t i = 1; i < t->nnodes; i++) {
		struct out_node *par = &t->nodes[t->nodes[i].parent];

		t->child[par->first + fill[t->nodes[i].parent]++] = (uint32_t)i;
		if (t->nodes[i].frame < labels->n)
			lab[t->nodes[i].frame] = out_labels__get(
				labels, p, t->nodes[i].frame, &err);
	}
	if (err)
		goto out;
	for (size_t i = 0; i < labels->n; i++)
		if (!lab[i])
			lab[i] = "";
	sc.t = t;
	sc.labels = lab;
	sc.nlabels = labels->n;
	for (size_t i = 0; i < t->nnodes; i++)
		if (t->nodes[i].nchild > 1)
			qsort_r(t->child + t->nodes[i].first,
				t->nodes[i].nchild, sizeof(*t->child),
				cmp_child, &sc);
out:
	hashmap__free(&index);
	free(fill);
	free(lab);
	if (err)
		out_tree__free(t);
	return err;
}

void out_tree__free(struct out_tree *t)
{
	free(t->nodes);
	free(t->child);
	memset(t, 0, sizeof(*t));
}

void out__html_meta_rows(FILE *f, const struct out_meta *m)
{
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
}
