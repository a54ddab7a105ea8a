// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out_folded.c (with src/profile.c): a fixed profile against
 * the hand-written golden file tests/fixtures/golden/basic.folded, the
 * frame formatter's truncation, and write errors.
 *
 * The golden file was written by hand from the format rules, not from the
 * program's output: root first, ';' between frames, ';' inside a frame
 * becomes ':', control characters become '?', an empty name is
 * "[unknown]", Python frames are "name (file:line)" (no ":line" when the
 * line is -1, "?" for a missing file), one space before the count, '\n'
 * after every line, lines sorted bytewise, identical lines merged.
 */
#include "unit.h"

#include "out_folded.h"
#include "profile.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The repository: $PYPROF_ROOT, else two levels above build/unit_tests,
 * else the current directory. */
static const char *repo_root(void)
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

static char *slurp(const char *path, size_t *len)
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

#define ADD(p, count, ...)                                                   \
	do {                                                                 \
		const uint32_t _fr[] = { __VA_ARGS__ };                      \
		CHECK_INT(profile__add(p, _fr, sizeof(_fr) / sizeof(_fr[0]), \
				       count),                               \
			  0);                                                \
	} while (0)

/* The profile tests/fixtures/golden/basic.folded describes. */
static struct profile *basic_profile(void)
{
	struct profile *p = profile__new();
	uint32_t P, TM, TW, TW2, TE, A, B, C, D, E, Fm, M, NPF, G1, G2, N, X;
	static const uint32_t none[1] = { 0 };

	if (!p)
		return NULL;
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

	ADD(p, 10, P, TM, A, B);
	ADD(p, 3, P, TM, A, C);
	ADD(p, 2, P, TW, A, D);
	ADD(p, 1, P, TW, E);
	ADD(p, 4, P, TM, Fm);
	ADD(p, 5, P, TM, A, B); /* the same stack again: 15 */
	ADD(p, 6, P, TM, M, A, B);
	ADD(p, 7, P, TW, A, G1);
	ADD(p, 8, P, TW, A, G2); /* three stacks that print the */
	ADD(p, 100, P, TW2, A, G1); /* same line: 115 */
	ADD(p, 1, P, TM, N);
	ADD(p, 2, P, TW, X);
	ADD(p, 9, P, TE, NPF);
	ADD(p, 4294967296ull, P, TM, A);
	ADD(p, 0, P, TM, E); /* a stack with no samples: not written */
	profile__add(p, none, 0, 5); /* an empty stack: not written */
	return p;
}

static char *write_to_mem(const struct profile *p, size_t *len, int *rc)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	*rc = out_folded__write(p, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Reports the first difference between got and want, line by line. */
static void report_diff(const char *got, size_t glen, const char *want,
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

TEST(out_folded_golden_basic)
{
	char path[PATH_MAX + 64];
	struct profile *p = basic_profile();
	size_t glen = 0, wlen = 0;
	char *got, *want;
	int rc = -1;

	REQUIRE(p);
	snprintf(path, sizeof(path), "%s/tests/fixtures/golden/basic.folded",
		 repo_root());
	want = slurp(path, &wlen);
	if (!want) {
		unit__fail(__FILE__, __LINE__,
			   "cannot read %s (set PYPROF_ROOT?)", path);
		profile__free(p);
		return;
	}
	got = write_to_mem(p, &glen, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (glen != wlen || memcmp(got, want, glen) != 0) {
		report_diff(got, glen, want, wlen);
		CHECK_INT(glen, wlen);
	}
	/* Writing twice gives the same bytes (the writer keeps no state). */
	free(got);
	got = write_to_mem(p, &glen, &rc);
	REQUIRE(got);
	CHECK(glen == wlen && memcmp(got, want, glen) == 0);
	free(got);
	free(want);
	profile__free(p);
}

/* Rules any folded output must follow, whatever the profile. */
TEST(out_folded_golden_is_well_formed)
{
	struct profile *p = basic_profile();
	size_t len = 0;
	int rc = -1;
	char *got, *line, *save = NULL, *prev = NULL;

	REQUIRE(p);
	got = write_to_mem(p, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	REQUIRE(len > 0);
	CHECK(got[len - 1] == '\n');
	CHECK(strlen(got) == len); /* no NUL bytes */
	for (line = strtok_r(got, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' '), *end;
		unsigned long long count;

		REQUIRE(sp);
		count = strtoull(sp + 1, &end, 10);
		CHECK(*end == '\0' && count > 0 && sp[1] >= '1' &&
		      sp[1] <= '9');
		CHECK(sp > line && sp[-1] != ' '); /* exactly one space */
		CHECK(line[0] != ';' && sp[-1] != ';');
		CHECK(strstr(line, ";;") == NULL); /* no empty frame */
		for (const char *c = line; c < sp; c++)
			CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
		*sp = '\0';
		if (prev)
			CHECK(strcmp(prev, line) < 0); /* sorted, merged */
		prev = line;
	}
	free(got);
	profile__free(p);
}

TEST(out_folded_empty_profile)
{
	struct profile *p = profile__new();
	static const uint32_t none[1] = { 0 };
	uint32_t fr;
	size_t len = 99;
	int rc = -1;
	char *got;

	REQUIRE(p);
	got = write_to_mem(p, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK_INT(len, 0);
	free(got);

	/* Only stacks with no frames or no samples: still nothing. */
	fr = (uint32_t)profile__frame(p, PF_PROCESS, S(p, "p-1"), 0, -1);
	CHECK_INT(profile__add(p, &fr, 1, 0), 0);
	CHECK_INT(profile__add(p, none, 0, 3), 0);
	len = 99;
	got = write_to_mem(p, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK_INT(len, 0);
	free(got);
	profile__free(p);
}

TEST(out_folded_frame_truncation)
{
	struct profile *p = profile__new();
	struct pframe fr = { .kind = PF_PYTHON, .line = 12 };
	char buf[32];

	REQUIRE(p);
	fr.name = S(p, "hello");
	fr.file = S(p, "a.py");
	/* "hello (a.py:12)" is 15 bytes. */
	CHECK_INT(out_folded__frame(p, &fr, NULL, 0), 15);
	memset(buf, 'X', sizeof(buf));
	CHECK_INT(out_folded__frame(p, &fr, buf, 0), 15);
	CHECK(buf[0] == 'X'); /* len 0: not a byte written */
	memset(buf, 'X', sizeof(buf));
	CHECK_INT(out_folded__frame(p, &fr, buf, 1), 15);
	CHECK(buf[0] == '\0' && buf[1] == 'X');
	memset(buf, 'X', sizeof(buf));
	CHECK_INT(out_folded__frame(p, &fr, buf, 5), 15);
	CHECK(memcmp(buf, "hell\0", 5) == 0 && buf[5] == 'X');
	memset(buf, 'X', sizeof(buf));
	CHECK_INT(out_folded__frame(p, &fr, buf, 15), 15);
	CHECK(memcmp(buf, "hello (a.py:12\0", 15) == 0 && buf[15] == 'X');
	memset(buf, 'X', sizeof(buf));
	CHECK_INT(out_folded__frame(p, &fr, buf, 16), 15);
	CHECK_STR(buf, "hello (a.py:12)");
	CHECK(buf[16] == 'X');
	memset(buf, 'X', sizeof(buf));
	CHECK_INT(out_folded__frame(p, &fr, buf, sizeof(buf)), 15);
	CHECK_STR(buf, "hello (a.py:12)");

	/* Sanitised while truncated: "a:b?c (f:1)" cut to 4 bytes + NUL. */
	fr.name = S(p, "a;b\nc");
	fr.file = S(p, "f");
	fr.line = 1;
	memset(buf, 'X', sizeof(buf));
	CHECK_INT(out_folded__frame(p, &fr, buf, 5), 11);
	CHECK(memcmp(buf, "a:b?\0", 5) == 0 && buf[5] == 'X');

	/* Every cut of every kind of frame: a prefix of the whole, NUL
	 * inside the buffer, nothing past it. */
	{
		static const struct {
			enum pframe_kind kind;
			const char *name, *file;
			int32_t line;
		} cases[] = {
			{ PF_PYTHON, "héllo", "日本語.py", 0 },
			{ PF_PYTHON, "", NULL, -1 },
			{ PF_PYTHON, "f", "a.py", INT32_MAX },
			{ PF_PROCESS, "python3-4242", NULL, -1 },
			{ PF_THREAD, "", NULL, -1 },
			{ PF_MARKER, "[truncated]", "ignored.py", 3 },
		};
		static const char *const whole[] = {
			"héllo (日本語.py:0)", "[unknown] (?)",
			"f (a.py:2147483647)", "python3-4242",
			"[unknown]",	       "[truncated]",
		};

		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			size_t n = strlen(whole[c]);

			fr.kind = cases[c].kind;
			fr.name = S(p, cases[c].name);
			fr.file = cases[c].file ? S(p, cases[c].file) : 0;
			fr.line = cases[c].line;
			for (size_t len = 0; len <= n + 2; len++) {
				memset(buf, 'X', sizeof(buf));
				if (out_folded__frame(p, &fr, buf, len) != n ||
				    (len &&
				     (strlen(buf) != (len <= n ? len - 1 : n) ||
				      memcmp(buf, whole[c], strlen(buf)))) ||
				    buf[len] != 'X') {
					unit__fail(
						__FILE__, __LINE__,
						"\"%s\" into %zu bytes: \"%.*s\"",
						whole[c], len, (int)len, buf);
					break;
				}
			}
		}
	}
	profile__free(p);
}

TEST(out_folded_long_stack)
{
	/* Frames and stacks far longer than any initial buffer. */
	enum { DEPTH = 300, LONG = 5000 };
	struct profile *p = profile__new();
	uint32_t *fr = calloc(DEPTH, sizeof(*fr));
	char *name = malloc(LONG + 1), *want, *got, one[64];
	size_t wlen = 0, glen = 0, cap = (size_t)DEPTH * 64 + LONG + 64;
	int rc = -1;

	REQUIRE(p && fr && name && (want = malloc(cap)));
	memset(name, 'n', LONG);
	name[LONG] = '\0';
	name[LONG / 2] = ';';
	fr[0] = (uint32_t)profile__frame(p, PF_PROCESS, S(p, "p-1"), 0, -1);
	wlen += (size_t)sprintf(want, "p-1");
	for (int i = 1; i < DEPTH; i++) {
		snprintf(one, sizeof(one), "function_number_%d", i);
		if (i == DEPTH / 2) {
			fr[i] = (uint32_t)profile__frame(
				p, PF_PYTHON, S(p, name), S(p, "long.py"), i);
			name[LONG / 2] = ':';
			wlen += (size_t)sprintf(want + wlen, ";%s (long.py:%d)",
						name, i);
		} else {
			fr[i] = (uint32_t)profile__frame(
				p, PF_PYTHON, S(p, one), S(p, "deep.py"), i);
			wlen += (size_t)sprintf(want + wlen, ";%s (deep.py:%d)",
						one, i);
		}
	}
	wlen += (size_t)sprintf(want + wlen, " 3\n");
	CHECK_INT(profile__add(p, fr, DEPTH, 3), 0);
	got = write_to_mem(p, &glen, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK_INT(glen, wlen);
	CHECK(glen == wlen && memcmp(got, want, wlen) == 0);
	free(got);
	free(want);
	free(name);
	free(fr);
	profile__free(p);
}

TEST(out_folded_write_error_readonly)
{
	struct profile *p = basic_profile();
	FILE *f = fopen("/dev/null", "r");
	int rc;

	REQUIRE(p);
	if (!f) {
		profile__free(p);
		SKIP("cannot open /dev/null: %s", strerror(errno));
	}
	rc = out_folded__write(p, f);
	CHECK(rc < 0 && rc > -4096);
	fclose(f);
	profile__free(p);
}

TEST(out_folded_write_error_dev_full)
{
	struct profile *p = basic_profile(), *big;
	FILE *f;
	int rc;

	REQUIRE(p);
	f = fopen("/dev/full", "w");
	if (!f) {
		profile__free(p);
		SKIP("cannot open /dev/full: %s", strerror(errno));
	}
	/* Small: fits the stdio buffer, so the failure comes at the flush
	 * and its errno is the device's. */
	rc = out_folded__write(p, f);
	CHECK_INT(rc, -ENOSPC);
	fclose(f);

	/* Big: the failure comes in the middle of writing. */
	big = profile__new();
	REQUIRE(big);
	for (uint32_t i = 0; i < 5000; i++) {
		char s[64];
		uint32_t fr;

		snprintf(s, sizeof(s), "some_function_with_a_long_name_%u", i);
		fr = (uint32_t)profile__frame(big, PF_PYTHON, S(big, s),
					      S(big, "f.py"), (int32_t)i);
		profile__add(big, &fr, 1, 1);
	}
	f = fopen("/dev/full", "w");
	REQUIRE(f);
	rc = out_folded__write(big, f);
	CHECK(rc < 0 && rc > -4096);
	fclose(f);
	profile__free(big);
	profile__free(p);
}
