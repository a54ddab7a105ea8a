// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "out/in_folded.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct reader {
	FILE *f;
	const char *name;
	unsigned long lineno;
	char *err;
	size_t errlen;
	char *line;
	uint32_t *frames, *frames2;
};

static int bad(struct reader *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(struct reader *r, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->err, r->errlen, "%s:%lu: ", r->name, r->lineno);
	if (n < 0 || (size_t)n >= r->errlen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Reads one line (without its "\n" or "\r\n") into r->line.  Returns its
 * length, -1 at the end of the file, or a negative errno.  A line longer
 * than IN_FOLDED_LINE_MAX is an error, not an allocation.
 */
static long read_line(struct reader *r)
{
	size_t len = 0;
	int c;

	errno = 0;
	while ((c = getc(r->f)) != EOF && c != '\n') {
		if (len + 1 >= IN_FOLDED_LINE_MAX)
			return -E2BIG;
		r->line[len++] = (char)c;
	}
	if (ferror(r->f))
		return errno ? -errno : -EIO;
	if (c == EOF && len == 0)
		return -1;
	if (len && r->line[len - 1] == '\r')
		len--;
	r->line[len] = '\0';
	return (long)len;
}

#define COUNT_MAX (UINT64_C(1) << 63)

/* Parses a decimal count (no sign, at most COUNT_MAX).  0, -EINVAL when s
 * is not digits, or -ERANGE when it is a negative or too large number. */
static int parse_count(const char *s, uint64_t *out)
{
	bool negative = *s == '-', big = false;
	uint64_t v = 0;

	s += negative;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		big |= v > COUNT_MAX / 10;
		if (!big)
			v = v * 10 + (uint64_t)(*s - '0');
	}
	if (negative || big || v > COUNT_MAX)
		return -ERANGE;
	*out = v;
	return 0;
}

/* The error of parse_count's why for the count (what: "count", "second
 * count") s. */
static int bad_count(struct reader *r, const char *what, const char *s, int why)
{
	if (why == -ERANGE)
		return bad(r, -EINVAL,
			   "the %s \"%.32s\" is out of range: give a whole "
			   "number from 0 to %" PRIu64,
			   what, s, COUNT_MAX);
	return bad(r, -EINVAL, "the %s \"%.32s\" is not a whole number", what,
		   s);
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* "name (file:line)" or "name (file)": splits s in place. */
static bool python_frame(char *s, size_t len, char **file, int32_t *line)
{
	char *open, *colon, *end;
	long v;

	if (len < 4 || s[len - 1] != ')')
		return false;
	s[len - 1] = '\0';
	open = strstr(s, " (");
	if (!open) {
		s[len - 1] = ')';
		return false;
	}
	/* The last " (" opens the location: names may hold parentheses. */
	for (char *o; (o = strstr(open + 2, " (")) != NULL;)
		open = o;
	*open = '\0';
	*file = open + 2;
	*line = -1;
	colon = strrchr(*file, ':');
	if (colon && colon[1] && colon[1] != '-') {
		errno = 0;
		v = strtol(colon + 1, &end, 10);
		if (!*end && !errno && v >= 0 && v <= INT32_MAX) {
			*colon = '\0';
			*line = (int32_t)v;
		}
	}
	return true;
}

static bool process_label(const char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	return i > 1 && i < len && s[i - 1] == '-';
}

struct parsed {
	enum pframe_kind kind;
	const char *name;
	size_t len;
	const char *file; /* NULL if none */
	int32_t line;
};

/* Whether s ends in ":LINE)", as a Python frame with its line does. */
static bool has_line(const char *s, size_t len)
{
	size_t i = len;

	if (!i || s[--i] != ')')
		return false;
	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	return i > 0 && i < len - 1 && s[i - 1] == ':';
}

/* Splits the frame text s (modified in place) into its parts. */
static void split_frame(char *s, uint32_t depth, bool after_process,
			struct parsed *f)
{
	size_t len = strlen(s);
	char *file = NULL;

	f->kind = PF_NATIVE;
	f->line = -1;
	if (depth == 1 && after_process && !has_line(s, len)) {
		/* A thread: threading's default names, "Thread-3 (work)",
		 * look like a Python frame without a line. */
		f->kind = PF_THREAD;
	} else if (python_frame(s, len, &file, &f->line)) {
		f->kind = PF_PYTHON;
		len = strlen(s);
	} else if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		f->kind = PF_MARKER;
	} else if (ends_with(s, len, "_[k]")) {
		f->kind = PF_KERNEL;
		len -= 4;
	} else if (depth == 0 && process_label(s, len)) {
		f->kind = PF_PROCESS;
	} else if (depth == 1 && after_process) {
		f->kind = PF_THREAD;
	} else if (len > 5 && strncmp(s, "Task-", 5) == 0) {
		/* An asyncio task (--async): "Task-NAME". */
		f->kind = PF_TASK;
	}
	f->name = s;
	f->len = len;
	f->file = file && strcmp(file, "?") != 0 ? file : NULL;
}

static int64_t intern_frame(struct profile *p, const struct parsed *f)
{
	uint32_t name = profile__intern(p, f->name, f->len), file = 0;

	if (!name && f->len)
		return -ENOMEM;
	if (f->file) {
		file = profile__intern_str(p, f->file);
		if (!file && f->file[0])
			return -ENOMEM;
	}
	return profile__frame(p, f->kind, name, file, f->line);
}

static int parse_line(struct reader *r, struct profile *p, struct profile *p2)
{
	char *counts, *c2 = NULL, *s, *next;
	uint64_t n1, n2 = 0;
	uint32_t n = 0;
	bool after_process = false;
	int rc;

	counts = strrchr(r->line, ' ');
	if (!counts)
		return bad(
			r, -EINVAL,
			"expected \"frame;frame;... COUNT\", found no count");
	*counts++ = '\0';
	if (p2) {
		/* "stack N M": the first count is the word before. */
		char *prev = strrchr(r->line, ' ');

		if (prev && parse_count(prev + 1, &n1) == 0) {
			c2 = counts;
			*prev = '\0';
			counts = prev + 1;
		}
	}
	rc = parse_count(counts, &n1);
	if (rc)
		return bad_count(r, "count", counts, rc);
	rc = c2 ? parse_count(c2, &n2) : 0;
	if (rc)
		return bad_count(r, "second count", c2, rc);
	if (!r->line[0])
		return bad(r, -EINVAL, "a count with no stack before it");
	for (s = r->line; s; s = next) {
		struct parsed f;
		int64_t id;

		next = strchr(s, ';');
		if (next)
			*next++ = '\0';
		if (!*s)
			return bad(r, -EINVAL, "frame %u is empty", n + 1);
		if (n >= IN_FOLDED_FRAMES_MAX)
			return bad(r, -EINVAL, "more than %u frames in a stack",
				   IN_FOLDED_FRAMES_MAX);
		split_frame(s, n, after_process, &f);
		after_process = n == 0 && f.kind == PF_PROCESS;
		id = intern_frame(p, &f);
		if (id < 0)
			return bad(r, -ENOMEM, "out of memory");
		r->frames[n] = (uint32_t)id;
		if (p2) {
			id = intern_frame(p2, &f);
			if (id < 0)
				return bad(r, -ENOMEM, "out of memory");
			r->frames2[n] = (uint32_t)id;
		}
		n++;
	}
	rc = profile__add(p, r->frames, n, n1);
	if (!rc && p2)
		rc = profile__add(p2, r->frames2, n, c2 ? n2 : 0);
	if (rc)
		return bad(r, rc, "out of memory");
	return 0;
}

int in_folded__read(struct profile *p, struct profile *p2, FILE *f,
		    const char *name, char *err, size_t errlen)
{
	struct reader r = {
		.f = f,
		.name = name,
		.err = err,
		.errlen = errlen,
	};
	int rc = 0;

	r.line = malloc(IN_FOLDED_LINE_MAX);
	r.frames = calloc(IN_FOLDED_FRAMES_MAX, sizeof(*r.frames));
	r.frames2 = calloc(IN_FOLDED_FRAMES_MAX, sizeof(*r.frames2));
	if (!r.line || !r.frames || !r.frames2) {
		rc = bad(&r, -ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		long len;

		r.lineno++;
		len = read_line(&r);
		if (len == -1)
			break;
		if (len == -E2BIG) {
			rc = bad(&r, -EINVAL, "line longer than %u bytes",
				 IN_FOLDED_LINE_MAX);
			break;
		}
		if (len < 0) {
			rc = bad(&r, (int)len, "read failed: %s",
				 strerror((int)-len));
			break;
		}
		if (len == 0)
			continue;
		if (memchr(r.line, '\0', (size_t)len)) {
			rc = bad(
				&r, -EINVAL,
				"a NUL byte: this is not a folded-stacks file");
			break;
		}
		rc = parse_line(&r, p, p2);
		if (rc)
			break;
	}
out:
	free(r.line);
	free(r.frames);
	free(r.frames2);
	return rc;
}

int in_folded__read_path(struct profile *p, struct profile *p2,
			 const char *path, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	int rc;

	if (strcmp(path, "-") == 0) {
		/* Closed (`<&-`): say so, not "Input/output error". */
		if (fstat(STDIN_FILENO, &st) != 0) {
			snprintf(err, errlen,
				 "cannot read stdin: it is closed: pipe folded "
				 "stacks in, or give a FILE");
			return -EBADF;
		}
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen,
				 "cannot read stdin: it is a directory: give "
				 "a file of folded stacks");
			return -EISDIR;
		}
		return in_folded__read(p, p2, stdin, "<stdin>", err, errlen);
	}
	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return rc;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "cannot read %s: it is a directory: give a file of "
			 "folded stacks",
			 path);
		fclose(f);
		return -EISDIR;
	}
	rc = in_folded__read(p, p2, f, path, err, errlen);
	fclose(f);
	return rc;
}
