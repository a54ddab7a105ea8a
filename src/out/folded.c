// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "out/folded.h"
#include "out/util.h"

#include <errno.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Appends s to buf[*pos..len), replacing what would break the format:
 * ';' separates frames, so it becomes ':'; control characters (newlines
 * above all) become '?'.  Always advances *pos by strlen(s). */
static void put(char *buf, size_t len, size_t *pos, const char *s)
{
	for (; *s; s++, (*pos)++) {
		unsigned char c = (unsigned char)*s;

		if (c == ';')
			c = ':';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		if (*pos + 1 < len)
			buf[*pos] = (char)c;
	}
	if (len)
		buf[*pos < len ? *pos : len - 1] = '\0';
}

size_t out_folded__frame(const struct profile *p, const struct pframe *fr,
			 char *buf, size_t len)
{
	const char *name = profile__string(p, fr->name);
	size_t pos = 0;
	char num[24];

	if (len)
		buf[0] = '\0';
	put(buf, len, &pos, *name ? name : "[unknown]");
	if (fr->kind == PF_KERNEL) /* flamegraph.pl colours these */
		put(buf, len, &pos, "_[k]");
	if (fr->kind != PF_PYTHON)
		return pos;
	put(buf, len, &pos, " (");
	put(buf, len, &pos, fr->file ? profile__string(p, fr->file) : "?");
	if (fr->line >= 0) {
		snprintf(num, sizeof(num), ":%" PRId32, fr->line);
		put(buf, len, &pos, num);
	}
	put(buf, len, &pos, ")");
	return pos;
}

/*
 * The lines are sorted and written without being built: a profile's
 * stacks share their frames, so each frame's text is made once (texts),
 * and a line is compared and printed frame by frame.  A large profile's
 * lines would otherwise be held as strings all at once, each its own
 * allocation: several times the answer, in the agent (src/serve).
 */
struct texts {
	const struct profile *p;
	char *buf; /* every frame's text, each NUL-terminated */
	size_t *at; /* frame id -> offset in buf; SIZE_MAX: no such frame */
	size_t n;
};

static void texts_free(struct texts *t)
{
	free(t->buf);
	free(t->at);
	t->buf = NULL;
	t->at = NULL;
}

/* Makes the text of each of p's frames.  0 or -ENOMEM. */
static int texts_make(struct texts *t, const struct profile *p)
{
	size_t cap = 1 << 16, len = 0;

	memset(t, 0, sizeof(*t));
	t->p = p;
	t->n = profile__nframes(p);
	t->at = malloc((t->n ? t->n : 1) * sizeof(*t->at));
	t->buf = malloc(cap);
	if (!t->at || !t->buf)
		goto fail;
	for (size_t id = 0; id < t->n; id++) {
		const struct pframe *fr = profile__frame_get(p, (uint32_t)id);
		size_t need;

		t->at[id] = SIZE_MAX;
		if (!fr)
			continue;
		need = out_folded__frame(p, fr, t->buf + len, cap - len);
		if (len + need + 1 > cap) {
			char *nb;

			while (len + need + 1 > cap)
				cap *= 2;
			nb = realloc(t->buf, cap);
			if (!nb)
				goto fail;
			t->buf = nb;
			out_folded__frame(p, fr, t->buf + len, cap - len);
		}
		t->at[id] = len;
		len += need + 1;
	}
	return 0;
fail:
	texts_free(t);
	return -ENOMEM;
}

static const char *text_of(const struct texts *t, uint32_t id)
{
	return id < t->n && t->at[id] != SIZE_MAX ? t->buf + t->at[id] : NULL;
}

struct line {
	uint32_t side; /* which profile: 0, or 1 in a differential file */
	uint32_t stack;
	uint64_t count[2]; /* one profile: [0]; a differential file: both */
};

/* Walks a line's text a character at a time: its frames' texts with ';'
 * between them, frames with no text left out, as they are printed. */
struct cursor {
	const struct texts *t;
	const uint32_t *frames;
	uint32_t n, i;
	const char *s; /* in the current frame's text, or NULL */
};

static void cursor_init(struct cursor *c, const struct texts *t,
			const struct line *l)
{
	uint64_t count;

	c->t = t;
	profile__stack(t->p, l->stack, &c->frames, &c->n, &count);
	c->i = 0;
	c->s = NULL;
	while (c->i < c->n && !(c->s = text_of(t, c->frames[c->i])))
		c->i++;
}

/* The next character, 0 at the end. */
static unsigned char cursor_next(struct cursor *c)
{
	if (!c->s)
		return 0;
	if (*c->s)
		return (unsigned char)*c->s++;
	c->s = NULL;
	for (c->i++; c->i < c->n; c->i++) {
		c->s = text_of(c->t, c->frames[c->i]);
		if (c->s)
			return ';';
	}
	return 0;
}

/* As strcmp over the two lines' texts. */
static int cmp_line(const void *a, const void *b, void *arg)
{
	const struct texts *t = arg;
	const struct line *la = a, *lb = b;
	struct cursor ca, cb;

	cursor_init(&ca, &t[la->side], la);
	cursor_init(&cb, &t[lb->side], lb);
	for (;;) {
		unsigned char x = cursor_next(&ca), y = cursor_next(&cb);

		if (x != y)
			return x < y ? -1 : 1;
		if (!x)
			return 0;
	}
}

/* Prints a line's text (without its count). */
static void put_line(FILE *f, const struct texts *t, const struct line *l)
{
	const uint32_t *frames;
	uint32_t n;
	uint64_t count;
	bool first = true;

	profile__stack(t->p, l->stack, &frames, &n, &count);
	for (uint32_t i = 0; i < n; i++) {
		const char *s = text_of(t, frames[i]);

		if (!s)
			continue;
		if (!first)
			putc(';', f);
		fputs(s, f);
		first = false;
	}
}

/* Appends p's stacks with samples to lines[*m...], their counts in
 * count[side]. */
static void add_lines(const struct profile *p, uint32_t side,
		      struct line *lines, size_t *m)
{
	for (size_t i = 0; i < profile__nstacks(p); i++) {
		const uint32_t *frames;
		uint32_t nf;
		uint64_t count;

		profile__stack(p, i, &frames, &nf, &count);
		if (!count || !nf)
			continue;
		lines[*m].side = side;
		lines[*m].stack = (uint32_t)i;
		lines[*m].count[side] = count;
		lines[*m].count[!side] = 0;
		(*m)++;
	}
}

/* Sorts lines and writes them with one count, or two when two. */
static int write_lines(FILE *f, const struct texts *t, struct line *lines,
		       size_t m, bool two)
{
	qsort_r(lines, m, sizeof(*lines), cmp_line, (void *)t);
	for (size_t i = 0; i < m; i++) {
		const struct line *l = &lines[i];
		uint64_t c0 = l->count[0], c1 = l->count[1];
		int rc;

		/* Different stacks can print the same (two code objects of
		 * one name and line), and a differential file has each
		 * stack once from each side: their counts add up. */
		while (i + 1 < m &&
		       cmp_line(l, &lines[i + 1], (void *)t) == 0) {
			c0 += lines[++i].count[0];
			c1 += lines[i].count[1];
		}
		put_line(f, &t[l->side], l);
		if (two)
			rc = fprintf(f, " %" PRIu64 " %" PRIu64 "\n", c0, c1);
		else
			rc = fprintf(f, " %" PRIu64 "\n", c0);
		if (rc < 0)
			return errno ? -errno : -EIO;
	}
	return out__finish(f);
}

/* Writes the stacks of ps[0..n), n 1 or 2, with one count per profile. */
static int write_profiles(const struct profile *const *ps, int n, FILE *f)
{
	struct texts t[2] = {};
	size_t cap = 0, m = 0;
	struct line *lines;
	int err = 0;

	for (int i = 0; i < n; i++)
		cap += profile__nstacks(ps[i]);
	lines = malloc((cap ? cap : 1) * sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	for (int i = 0; i < n && !err; i++)
		err = texts_make(&t[i], ps[i]);
	for (int i = 0; i < n && !err; i++)
		add_lines(ps[i], (uint32_t)i, lines, &m);
	if (!err)
		err = write_lines(f, t, lines, m, n == 2);
	for (int i = 0; i < n; i++)
		texts_free(&t[i]);
	free(lines);
	return err;
}

int out_folded__write(const struct profile *p, FILE *f)
{
	return write_profiles(&p, 1, f);
}

int out_folded__write_diff(const struct profile *base,
			   const struct profile *head, FILE *f)
{
	const struct profile *ps[2] = { base, head };

	return write_profiles(ps, 2, f);
}
