// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/folded.c (with src/lib/profile.c): a fixed profile against
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

#include "fixture.h"

#include "lib/profile.h"
#include "out/folded.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t S(struct profile *p, const char *s)
{
	return profile__intern_str(p, s);
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

TEST(out_folded_golden_basic)
{
	char path[PATH_MAX + 64];
	struct profile *p = unit__basic_profile();
	size_t glen = 0, wlen = 0;
	char *got, *want;
	int rc = -1;

	REQUIRE(p);
	snprintf(path, sizeof(path), "%s/tests/fixtures/golden/basic.folded",
		 unit__repo_root());
	want = unit__slurp(path, &wlen);
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
		unit__report_diff(got, glen, want, wlen);
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
	struct profile *p = unit__basic_profile();
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
	struct profile *p = unit__basic_profile();
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
	struct profile *p = unit__basic_profile(), *big;
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
