// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * What several unit tests share: finding the repository, reading a file,
 * comparing output with a golden file, and the fixed profile every output
 * writer is tested with (tests/fixtures/golden/basic.*).
 */
#include "fixture.h"

#include "unit.h"

#include "out/in_folded.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* The repository: $PYPROF_ROOT, else two levels above build/unit_tests,
 * else the current directory. */
const char *unit__repo_root(void)
{
	static char buf[PATH_MAX];
	const char *r = getenv("PYPROF_ROOT");
	ssize_t n;
	char *s;

	if (r && *r)
		return r;
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		for (int up = 0; up < 2 && (s = strrchr(buf, '/')); up++)
			*s = '\0';
		if (buf[0]) {
			char probe[PATH_MAX + 32];

			snprintf(probe, sizeof(probe), "%s/tests/fixtures",
				 buf);
			if (access(probe, F_OK) == 0)
				return buf;
		}
	}
	return ".";
}

char *unit__slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = (n + 4096 + 1) * 2);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static uint32_t S(struct profile *p, const char *s)
{
	return profile__intern_str(p, s);
}

static uint32_t F(struct profile *p, enum pframe_kind kind, const char *name,
		  const char *file, int32_t line)
{
	int64_t id = profile__frame(p, kind, S(p, name), file ? S(p, file) : 0,
				    line);

	return id < 0 ? UINT32_MAX : (uint32_t)id;
}

/*
 * The timeline of the basic profile: each thread's samples one period
 * (1/99 s) apart from the start of second `drain`, at most 20 per stack
 * (the 2^32 one too), one after another on the thread's own clock.
 */
struct timeline_state {
	uint32_t thread_frame[4];
	uint64_t at[4];
};

static void timed(struct profile *p, struct timeline_state *ts, size_t idx,
		  uint32_t thread, int drain, uint64_t count)
{
	const uint64_t period = 1000000000ull / 99;
	uint64_t from = UNIT_T0 + (uint64_t)(drain - 1) * 1000000000ull;

	for (int i = 0; i < 4; i++) {
		if (ts->thread_frame[i] != thread)
			continue;
		/* A thread that waits for the next second slept. */
		bool slept = ts->at[i] < from;

		if (slept)
			ts->at[i] = from;
		for (uint64_t k = 0; k < count && k < 20; k++) {
			CHECK_INT(profile__time_sample(p, idx,
						       4242 + (uint32_t)i,
						       ts->at[i], slept && !k),
				  0);
			ts->at[i] += period;
		}
	}
}

/* Adds a stack: with a timeline, its samples in second `drain`. */
#define ADD(p, drain, count, ...)                                         \
	do {                                                              \
		const uint32_t _fr[] = { __VA_ARGS__ };                   \
		uint32_t _n = sizeof(_fr) / sizeof(_fr[0]);               \
		size_t _idx;                                              \
		CHECK_INT(profile__add_idx(p, _fr, _n, count, &_idx), 0); \
		if (timeline)                                             \
			timed(p, &ts, _idx, _fr[1], drain, count);        \
	} while (0)

static struct profile *basic(bool timeline)
{
	struct profile *p = profile__new();
	uint32_t P, TM, TW, TW2, TE, A, B, C, D, E, Fm, M, NPF, G1, G2, N, X;
	static const uint32_t none[1] = { 0 };
	struct timeline_state ts = {};
	size_t idx;

	if (!p)
		return NULL;
	if (timeline)
		profile__set_timeline_origin(p, UNIT_T0);
	P = F(p, PF_PROCESS, "python3-4242", NULL, -1);
	TM = F(p, PF_THREAD, "MainThread", NULL, -1);
	TW = F(p, PF_THREAD, "worker;1", NULL, -1); /* prints worker:1 */
	TW2 = F(p, PF_THREAD, "worker:1", NULL,
		-1); /* another frame, same text */
	TE = F(p, PF_THREAD, "", NULL, -1); /* [unknown] */
	A = F(p, PF_PYTHON, "<module>", "app.py", 40);
	B = F(p, PF_PYTHON, "héllo", "日本語.py", 7);
	C = F(p, PF_PYTHON,
	      "bad\nname\twith\x7f"
	      "del",
	      "x.py", 3);
	D = F(p, PF_PYTHON, "", "e.py", 5);
	E = F(p, PF_PYTHON, "f", "a.py", -1); /* line unknown: no ":line" */
	Fm = F(p, PF_PYTHON, "mod", "m.py", 0); /* line 0 is a line */
	M = F(p, PF_MARKER, "[truncated]", NULL, -1);
	NPF = F(p, PF_MARKER, "[no Python frame]", NULL, -1);
	G1 = F(p, PF_PYTHON, "g;h", "z.py", 9); /* G1 and G2 print alike */
	G2 = F(p, PF_PYTHON, "g:h", "z.py", 9);
	N = F(p, PF_PYTHON, "nofile", NULL, 2); /* no file: "?" */
	X = F(p, PF_PYTHON, "x", "semi;colon.py", 1);
	ts.thread_frame[0] = TM;
	ts.thread_frame[1] = TW;
	ts.thread_frame[2] = TW2;
	ts.thread_frame[3] = TE;

	ADD(p, 1, 10, P, TM, A, B);
	ADD(p, 1, 3, P, TM, A, C);
	ADD(p, 1, 2, P, TW, A, D);
	ADD(p, 2, 1, P, TW, E);
	ADD(p, 2, 4, P, TM, Fm);
	ADD(p, 2, 5, P, TM, A, B); /* the same stack again: 15 */
	ADD(p, 2, 6, P, TM, M, A, B);
	ADD(p, 3, 7, P, TW, A, G1);
	ADD(p, 3, 8, P, TW, A, G2); /* three stacks that print the */
	ADD(p, 3, 100, P, TW2, A, G1); /* same line: 115 */
	ADD(p, 3, 1, P, TM, N);
	ADD(p, 3, 2, P, TW, X);
	ADD(p, 3, 9, P, TE, NPF);
	ADD(p, 4, 4294967296ull, P, TM, A);
	ADD(p, 4, 0, P, TM, E); /* a stack with no samples: not written */
	CHECK_INT(profile__add_idx(p, none, 0, 5, &idx), 0);
	if (timeline) {
		/* The empty stack (what a filter left out): on MainThread's
		 * lane, after a sleep, showing nothing. */
		CHECK_INT(profile__time_sample(p, idx, 4242,
					       UNIT_T0 + 3500000000ull, true),
			  0);
		/* worker;1, after its last sample: a 0.25 s span off the
		 * CPU, then a sample after a sleep; a gap, one sample. */
		CHECK_INT(profile__add_idx(p, (const uint32_t[]){ P, TW, X }, 3,
					   0, &idx),
			  0);
		CHECK_INT(profile__time_span(p, idx, 4243,
					     UNIT_T0 + 3300000000ull,
					     UNIT_T0 + 3550000000ull),
			  0);
		CHECK_INT(profile__time_sample(p, idx, 4243,
					       UNIT_T0 + 3600000000ull, true),
			  0);
	}
	return p;
}

/* The profile tests/fixtures/golden/basic.folded describes. */
struct profile *unit__basic_profile(void)
{
	return basic(false);
}

struct profile *unit__basic_timeline(void)
{
	return basic(true);
}

const struct out_meta *unit__basic_meta(void)
{
	static const struct out_meta m = {
		.title = "python3 app.py <x> & \"y\" (pid 4242)",
		.python = "3.12.1",
		.freq = 99,
		.start_time = 1700000000.0, /* 2023-11-14 22:13:20 UTC */
		.duration = 4.0,
		.samples_taken = 4294967456ull,
		.samples_lost = 2,
	};

	return &m;
}

struct profile *unit__folded_profile(const char *text, char *err, size_t errlen)
{
	struct profile *p = profile__new();
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc = -ENOMEM;

	if (p && f)
		rc = in_folded__read(p, NULL, f, "t.folded", err, errlen);
	if (f)
		fclose(f);
	if (rc) {
		profile__free(p);
		return NULL;
	}
	return p;
}

char *unit__write(const struct profile *p, enum out_format f,
		  const struct out_meta *m, size_t *len, int *rc)
{
	char *buf = NULL;
	FILE *mf = open_memstream(&buf, len);

	*rc = -1;
	if (!mf)
		return NULL;
	*rc = output__write(p, f, m, mf);
	if (fclose(mf) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void unit__golden(const char *name, const char *got, size_t glen)
{
	char path[PATH_MAX + 64];
	size_t wlen = 0;
	char *want;

	snprintf(path, sizeof(path), "%s/tests/fixtures/golden/%s",
		 unit__repo_root(), name);
	if (getenv("PYPROF_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "wb");

		if (!f || fwrite(got, 1, glen, f) != glen || fclose(f))
			unit__fail(__FILE__, __LINE__, "cannot write %s", path);
		return;
	}
	want = unit__slurp(path, &wlen);
	if (!want) {
		unit__fail(__FILE__, __LINE__,
			   "cannot read %s (set PYPROF_ROOT?)", path);
		return;
	}
	if (glen != wlen || memcmp(got, want, glen) != 0) {
		fprintf(stderr, "golden file %s:\n", name);
		unit__report_diff(got, glen, want, wlen);
	}
	free(want);
}

bool unit__utf8_valid(const char *s, size_t len)
{
	const unsigned char *b = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t c = b[i];
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		}
		n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (c < 0xc2 || c > 0xf4 || i + n > len)
			return false;
		c &= 0xff >> (n + 1);
		for (size_t k = 1; k < n; k++) {
			if ((b[i + k] & 0xc0) != 0x80)
				return false;
			c = c << 6 | (b[i + k] & 0x3f);
		}
		if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
		    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

/* --- a small, strict XML well-formedness check --- */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':' ||
	       c == '.';
}

/* An entity or character reference at s ("&...;"); its length or 0. */
static size_t xml_ref(const char *s)
{
	static const char *const named[] = { "&amp;", "&lt;", "&gt;", "&quot;",
					     "&apos;" };
	size_t i = 2;

	for (size_t k = 0; k < 5; k++)
		if (strncmp(s, named[k], strlen(named[k])) == 0)
			return strlen(named[k]);
	if (s[1] != '#')
		return 0;
	if (s[2] == 'x')
		i++;
	while (name_char(s[i]) && s[i] != ':' && s[i] != '-')
		i++;
	return s[i] == ';' && i > 2 ? i + 1 : 0;
}

#define XML_BAD(...)                                \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		free(stack);                        \
		return false;                       \
	} while (0)

bool unit__xml_check(const char *s, char *err, size_t errlen)
{
	const char **stack = calloc(4096, sizeof(*stack));
	size_t depth = 0, roots = 0, off;
	const char *p = s;

	if (!stack)
		XML_BAD("out of memory");
	if (strncmp(p, "<?xml", 5) == 0) {
		p = strstr(p, "?>");
		if (!p)
			XML_BAD("unterminated XML declaration");
		p += 2;
	}
	if (strncmp(p, "<!DOCTYPE", 9) == 0 ||
	    strncmp(p, "\n<!DOCTYPE", 10) == 0) {
		p = strchr(p + 1, '>');
		if (!p)
			XML_BAD("unterminated DOCTYPE");
		p++;
	}
	while (*p) {
		off = (size_t)(p - s);
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t' &&
		    *p != '\r')
			XML_BAD("control character 0x%02x at byte %zu", *p,
				off);
		if (*p == '&') {
			size_t n = xml_ref(p);

			if (!n)
				XML_BAD("bare '&' at byte %zu", off);
			p += n;
			continue;
		}
		if (*p == '>' && depth == 0)
			XML_BAD("'>' outside the root at byte %zu", off);
		if (*p != '<') {
			if (depth == 0 && *p != '\n' && *p != ' ')
				XML_BAD("text outside the root at byte %zu",
					off);
			p++;
			continue;
		}
		if (strncmp(p, "<![CDATA[", 9) == 0) {
			const char *e = strstr(p, "]]>");

			if (!e || depth == 0)
				XML_BAD("bad CDATA at byte %zu", off);
			p = e + 3;
			continue;
		}
		if (strncmp(p, "<!--", 4) == 0) {
			const char *e = strstr(p, "-->");

			if (!e)
				XML_BAD("unterminated comment at byte %zu",
					off);
			p = e + 3;
			continue;
		}
		if (p[1] == '/') {
			size_t n = 0;

			while (name_char(p[2 + n]))
				n++;
			if (!depth || strncmp(stack[depth - 1], p + 2, n) ||
			    name_char(stack[depth - 1][n]) || p[2 + n] != '>')
				XML_BAD("unbalanced </%.*s> at byte %zu",
					(int)n, p + 2, off);
			depth--;
			p += 3 + n;
			continue;
		}
		/* A start tag: name, attributes name="value", > or />. */
		{
			const char *name = ++p;
			bool raw;

			while (name_char(*p))
				p++;
			if (p == name)
				XML_BAD("'<' without a name at byte %zu", off);
			raw = (p - name == 6 && !strncmp(name, "script", 6)) ||
			      (p - name == 5 && !strncmp(name, "style", 5));
			for (;;) {
				const char *an;

				while (*p == ' ' || *p == '\n' || *p == '\t')
					p++;
				if (*p == '>' || (p[0] == '/' && p[1] == '>'))
					break;
				an = p;
				while (name_char(*p))
					p++;
				if (p == an || *p != '=' ||
				    (p[1] != '"' && p[1] != '\''))
					XML_BAD("bad attribute at byte %zu",
						(size_t)(an - s));
				{
					char q = p[1];

					for (p += 2; *p != q; p++) {
						if (!*p || *p == '<')
							XML_BAD("bad attribute value at byte %zu",
								(size_t)(an -
									 s));
						if (*p == '&') {
							size_t n = xml_ref(p);

							if (!n)
								XML_BAD("bare '&' in an attribute at byte %zu",
									(size_t)(p -
										 s));
							p += n - 1;
						}
					}
					p++;
				}
			}
			if (*p == '/') {
				p += 2;
				if (!depth)
					roots++;
				continue;
			}
			p++;
			if (!depth)
				roots++;
			if (depth == 4096)
				XML_BAD("nested too deep");
			stack[depth++] = name;
			if (raw) {
				/* <script>/<style> in HTML: raw text; XML
				 * would need '<' and '&' escaped, so none
				 * may appear outside CDATA. */
				const char *end =
					strstr(p, name[1] == 'c' ? "</script>" :
								   "</style>");

				if (!end)
					XML_BAD("unterminated <%.*s>", 6, name);
				for (const char *q = p; q < end; q++) {
					if (!strncmp(q, "<![CDATA[", 9)) {
						q = strstr(q, "]]>");
						if (!q || q > end)
							XML_BAD("bad CDATA in a script");
						q += 2;
						continue;
					}
					if (*q == '<' || *q == '&')
						XML_BAD("'%c' in a script or style at byte %zu",
							*q, (size_t)(q - s));
				}
				p = end;
			}
		}
	}
	if (depth)
		XML_BAD("%zu elements left open", depth);
	if (roots != 1)
		XML_BAD("%zu root elements", roots);
	free(stack);
	return true;
}

/* --- a small, strict JSON check (RFC 8259) --- */

struct json {
	const char *s;
	size_t i;
	char *err;
	size_t errlen;
	int depth;
};

static bool json_value(struct json *j);

static void json_ws(struct json *j)
{
	while (j->s[j->i] == ' ' || j->s[j->i] == '\n' || j->s[j->i] == '\t' ||
	       j->s[j->i] == '\r')
		j->i++;
}

static bool json_fail(struct json *j, const char *what)
{
	snprintf(j->err, j->errlen, "%s at byte %zu", what, j->i);
	return false;
}

static bool json_string(struct json *j)
{
	if (j->s[j->i] != '"')
		return json_fail(j, "expected a string");
	for (j->i++; j->s[j->i] != '"'; j->i++) {
		unsigned char c = (unsigned char)j->s[j->i];

		if (!c || c < 0x20)
			return json_fail(j,
					 "raw control character in a string");
		if (c != '\\')
			continue;
		c = (unsigned char)j->s[++j->i];
		if (c == 'u') {
			for (int k = 1; k <= 4; k++)
				if (!isxdigit((unsigned char)j->s[j->i + k]))
					return json_fail(j, "bad \\u escape");
			j->i += 4;
		} else if (!strchr("\"\\/bfnrt", c) || !c) {
			return json_fail(j, "bad escape");
		}
	}
	j->i++;
	return true;
}

static bool json_number(struct json *j)
{
	size_t start = j->i;

	if (j->s[j->i] == '-')
		j->i++;
	if (j->s[j->i] == '0')
		j->i++;
	else if (j->s[j->i] >= '1' && j->s[j->i] <= '9')
		while (isdigit((unsigned char)j->s[j->i]))
			j->i++;
	else
		return json_fail(j, "bad number");
	if (j->s[j->i] == '.') {
		j->i++;
		if (!isdigit((unsigned char)j->s[j->i]))
			return json_fail(j, "bad fraction");
		while (isdigit((unsigned char)j->s[j->i]))
			j->i++;
	}
	if (j->s[j->i] == 'e' || j->s[j->i] == 'E') {
		j->i++;
		if (j->s[j->i] == '+' || j->s[j->i] == '-')
			j->i++;
		if (!isdigit((unsigned char)j->s[j->i]))
			return json_fail(j, "bad exponent");
		while (isdigit((unsigned char)j->s[j->i]))
			j->i++;
	}
	return j->i > start;
}

static bool json_value(struct json *j)
{
	const char *s = j->s;
	bool ok = true;

	json_ws(j);
	if (++j->depth > 256)
		return json_fail(j, "nested too deep");
	if (s[j->i] == '{' || s[j->i] == '[') {
		char close = s[j->i] == '{' ? '}' : ']';
		bool obj = close == '}';

		j->i++;
		json_ws(j);
		if (s[j->i] == close) {
			j->i++;
		} else {
			for (;;) {
				if (obj) {
					json_ws(j);
					if (!json_string(j))
						return false;
					json_ws(j);
					if (s[j->i++] != ':')
						return json_fail(
							j, "expected ':'");
				}
				if (!json_value(j))
					return false;
				json_ws(j);
				if (s[j->i] == ',') {
					j->i++;
					continue;
				}
				if (s[j->i] != close)
					return json_fail(
						j, "expected ',' or a close");
				j->i++;
				break;
			}
		}
	} else if (s[j->i] == '"') {
		ok = json_string(j);
	} else if (!strncmp(s + j->i, "true", 4) ||
		   !strncmp(s + j->i, "null", 4)) {
		j->i += 4;
	} else if (!strncmp(s + j->i, "false", 5)) {
		j->i += 5;
	} else {
		ok = json_number(j);
	}
	j->depth--;
	return ok;
}

bool unit__json_check(const char *s, char *err, size_t errlen)
{
	struct json j = { .s = s, .err = err, .errlen = errlen };

	if (!json_value(&j))
		return false;
	json_ws(&j);
	if (s[j.i])
		return json_fail(&j, "text after the value");
	return true;
}

/* Reports the first difference between got and want, line by line. */
void unit__report_diff(const char *got, size_t glen, const char *want,
		       size_t wlen)
{
	size_t i = 0, line = 1, bol = 0;

	while (i < glen && i < wlen && got[i] == want[i]) {
		if (got[i] == '\n') {
			line++;
			bol = i + 1;
		}
		i++;
	}
	unit__fail(
		__FILE__, __LINE__,
		"output differs from the golden file at line %zu, byte %zu:\n"
		"  got:  \"%.*s\"\n  want: \"%.*s\"",
		line, i, (int)strcspn(got + bol, "\n"), got + bol,
		(int)strcspn(want + bol, "\n"), want + bol);
}

uint8_t *unit__gunzip(const void *in, size_t inlen, size_t *outlen)
{
	z_stream z = { 0 };
	size_t cap = 1 << 16;
	uint8_t *out = malloc(cap);
	int rc;

	if (!out || inflateInit2(&z, 16 + 15) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)inlen;
	*outlen = 0;
	do {
		if (*outlen == cap) {
			uint8_t *n = realloc(out, cap *= 2);

			if (!n)
				break;
			out = n;
		}
		z.next_out = out + *outlen;
		z.avail_out = (uInt)(cap - *outlen);
		rc = inflate(&z, Z_NO_FLUSH);
		*outlen = cap - z.avail_out;
	} while (rc == Z_OK);
	inflateEnd(&z);
	if (rc != Z_STREAM_END || z.avail_in) {
		free(out);
		return NULL;
	}
	return out;
}
