// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "out/folded.h"
#include "out/util.h"

#include <errno.h>
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

struct line {
	char *text;
	uint64_t count[2]; /* one profile: [0]; a differential file: both */
};

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text,
		      ((const struct line *)b)->text);
}

/* Builds the folded text of stack i (without the count). NULL on ENOMEM. */
static char *stack_text(const struct profile *p, const uint32_t *frames,
			uint32_t n)
{
	size_t cap = 256, len = 0;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	s[0] = '\0';
	for (uint32_t i = 0; i < n; i++) {
		const struct pframe *fr = profile__frame_get(p, frames[i]);
		size_t need;

		if (!fr)
			continue;
		for (;;) {
			need = out_folded__frame(p, fr, s + len + (len ? 1 : 0),
						 cap - len - (len ? 1 : 0));
			if (len + 1 + need + 1 <= cap)
				break;
			cap = (len + need + 2) * 2;
			char *ns = realloc(s, cap);

			if (!ns) {
				free(s);
				return NULL;
			}
			s = ns;
		}
		if (len)
			s[len] = ';';
		len += (len ? 1 : 0) + need;
		s[len] = '\0';
	}
	return s;
}

/* Appends the text of p's stacks with samples to lines[*m...], their
 * counts in count[side].  0 or -ENOMEM. */
static int add_lines(const struct profile *p, int side, struct line *lines,
		     size_t *m)
{
	for (size_t i = 0; i < profile__nstacks(p); i++) {
		const uint32_t *frames;
		uint32_t nf;
		uint64_t count;

		profile__stack(p, i, &frames, &nf, &count);
		if (!count || !nf)
			continue;
		lines[*m].text = stack_text(p, frames, nf);
		if (!lines[*m].text)
			return -ENOMEM;
		lines[*m].count[side] = count;
		lines[*m].count[!side] = 0;
		(*m)++;
	}
	return 0;
}

/* Sorts lines and writes them with one count, or two when two. */
static int write_lines(FILE *f, struct line *lines, size_t m, bool two)
{
	qsort(lines, m, sizeof(*lines), cmp_line);
	for (size_t i = 0; i < m; i++) {
		uint64_t c0 = lines[i].count[0], c1 = lines[i].count[1];
		int rc;

		/* Different stacks can print the same (two code objects of
		 * one name and line), and a differential file has each
		 * stack once from each side: their counts add up. */
		while (i + 1 < m &&
		       strcmp(lines[i].text, lines[i + 1].text) == 0) {
			c0 += lines[++i].count[0];
			c1 += lines[i].count[1];
		}
		if (two)
			rc = fprintf(f, "%s %" PRIu64 " %" PRIu64 "\n",
				     lines[i].text, c0, c1);
		else
			rc = fprintf(f, "%s %" PRIu64 "\n", lines[i].text, c0);
		if (rc < 0)
			return errno ? -errno : -EIO;
	}
	return out__finish(f);
}

static void free_lines(struct line *lines, size_t m)
{
	for (size_t i = 0; i < m; i++)
		free(lines[i].text);
	free(lines);
}

/* Writes the stacks of ps[0..n), n 1 or 2, with one count per profile. */
static int write_profiles(const struct profile *const *ps, int n, FILE *f)
{
	size_t cap = 0, m = 0;
	struct line *lines;
	int err = 0;

	for (int i = 0; i < n; i++)
		cap += profile__nstacks(ps[i]);
	lines = calloc(cap ? cap : 1, sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	for (int i = 0; i < n && !err; i++)
		err = add_lines(ps[i], i, lines, &m);
	if (!err)
		err = write_lines(f, lines, m, n == 2);
	free_lines(lines, m);
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
