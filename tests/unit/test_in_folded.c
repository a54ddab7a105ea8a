// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/in_folded.c: folded text read back gives the same text when
 * written again, frame kinds come back from their printed form, and every
 * malformed line is an error naming its line number.
 */
#include "unit.h"

#include "fixture.h"
#include "lib/profile.h"
#include "out/folded.h"
#include "out/in_folded.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads text into p (and p2); returns in_folded__read's result. */
static int read_text(struct profile *p, struct profile *p2, const char *text,
		     char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	if (!f)
		return -errno;
	rc = in_folded__read(p, p2, f, "t.folded", err, errlen);
	fclose(f);
	return rc;
}

static char *write_text(const struct profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (out_folded__write(p, f) != 0) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

TEST(in_folded_roundtrip_golden)
{
	char path[PATH_MAX + 64], err[256] = "";
	struct profile *p = profile__new();
	size_t wlen = 0;
	char *want, *got;

	REQUIRE(p);
	snprintf(path, sizeof(path), "%s/tests/fixtures/golden/basic.folded",
		 unit__repo_root());
	want = unit__slurp(path, &wlen);
	REQUIRE(want);
	CHECK_INT(in_folded__read_path(p, NULL, path, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	got = write_text(p);
	REQUIRE(got);
	if (strcmp(got, want) != 0)
		unit__report_diff(got, strlen(got), want, wlen);
	CHECK_INT(profile__total(p),
		  4294967296ull + 3 + 15 + 6 + 4 + 2 + 1 + 2 + 115 + 1 + 9);
	free(got);
	free(want);
	profile__free(p);
}

static const struct pframe *frame_at(const struct profile *p, size_t stack,
				     uint32_t i)
{
	const uint32_t *frames;
	uint32_t n;
	uint64_t count;

	profile__stack(p, stack, &frames, &n, &count);
	return i < n ? profile__frame_get(p, frames[i]) : NULL;
}

TEST(in_folded_frame_kinds)
{
	struct profile *p = profile__new();
	const struct pframe *f;
	char err[256] = "";

	REQUIRE(p);
	REQUIRE(read_text(p, NULL,
			  "python3-42;MainThread;g (x (y).py:7);h (b.py);"
			  "[truncated];sys_read_[k];memcpy 5\r\n"
			  "\n"
			  "main;f (a.py:-1) 2\n",
			  err, sizeof(err)) == 0);
	CHECK_INT(profile__nstacks(p), 2);
	f = frame_at(p, 0, 0);
	REQUIRE(f);
	CHECK_INT(f->kind, PF_PROCESS);
	CHECK_STR(profile__string(p, f->name), "python3-42");
	CHECK_INT(frame_at(p, 0, 1)->kind, PF_THREAD);
	f = frame_at(p, 0, 2);
	CHECK_INT(f->kind, PF_PYTHON);
	CHECK_STR(profile__string(p, f->name), "g (x");
	CHECK_STR(profile__string(p, f->file), "y).py");
	CHECK_INT(f->line, 7);
	f = frame_at(p, 0, 3);
	CHECK_INT(f->kind, PF_PYTHON);
	CHECK_STR(profile__string(p, f->file), "b.py");
	CHECK_INT(f->line, -1);
	CHECK_INT(frame_at(p, 0, 4)->kind, PF_MARKER);
	f = frame_at(p, 0, 5);
	CHECK_INT(f->kind, PF_KERNEL);
	CHECK_STR(profile__string(p, f->name), "sys_read");
	CHECK_INT(frame_at(p, 0, 6)->kind, PF_NATIVE);

	/* No "comm-PID" root: the root is native and so is what follows. */
	CHECK_INT(frame_at(p, 1, 0)->kind, PF_NATIVE);
	f = frame_at(p, 1, 1);
	CHECK_INT(f->kind, PF_PYTHON);
	CHECK_STR(profile__string(p, f->file), "a.py:-1");
	CHECK_INT(f->line, -1);
	profile__free(p);
}

/* threading's default names ("Thread-3 (work)", 3.10+) are threads after
 * a process frame, not Python frames without a line; a Python frame with
 * its line there (--no-threads) stays one. */
TEST(in_folded_thread_names_with_parentheses)
{
	struct profile *p = profile__new();
	const struct pframe *f;
	char err[256] = "";

	REQUIRE(p);
	REQUIRE(read_text(p, NULL,
			  "python3-42;Thread-3 (work);work (a.py:2) 1\n"
			  "python3-42;main (a.py:9) 1\n",
			  err, sizeof(err)) == 0);
	f = frame_at(p, 0, 1);
	REQUIRE(f);
	CHECK_INT(f->kind, PF_THREAD);
	CHECK_STR(profile__string(p, f->name), "Thread-3 (work)");
	f = frame_at(p, 1, 1);
	REQUIRE(f);
	CHECK_INT(f->kind, PF_PYTHON);
	CHECK_INT(f->line, 9);
	profile__free(p);
}

TEST(in_folded_errors_name_the_line)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "a;b 1\na;b\n",
		  "t.folded:2: expected \"frame;frame;... COUNT\", found no count" },
		{ "a;b 1\n\na;b x\n",
		  "t.folded:3: the count \"x\" is not a whole number" },
		{ "a;b -1\n",
		  "t.folded:1: the count \"-1\" is out of range: give a whole number from 0 to 9223372036854775808" },
		{ "a;b 1.5\n",
		  "t.folded:1: the count \"1.5\" is not a whole number" },
		{ "a;b -\n",
		  "t.folded:1: the count \"-\" is not a whole number" },
		{ "a;b 99999999999999999999\n",
		  "t.folded:1: the count \"99999999999999999999\" is out of range: give a whole number from 0 to 9223372036854775808" },
		{ "a;b 18446744073709551615\n",
		  "t.folded:1: the count \"18446744073709551615\" is out of range: give a whole number from 0 to 9223372036854775808" },
		{ "a;b 9223372036854775809\n",
		  "t.folded:1: the count \"9223372036854775809\" is out of range: give a whole number from 0 to 9223372036854775808" },
		{ "a;;b 1\n", "t.folded:1: frame 2 is empty" },
		{ "a; 1\n", "t.folded:1: frame 2 is empty" },
		{ " 1\n", "t.folded:1: a count with no stack before it" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct profile *p = profile__new();
		char err[256] = "";

		REQUIRE(p);
		CHECK_INT(read_text(p, NULL, cases[i].text, err, sizeof(err)),
			  -EINVAL);
		CHECK_STR(err, cases[i].err);
		profile__free(p);
	}
}

/* The largest count is read; one more is out of range (above). */
TEST(in_folded_count_max)
{
	struct profile *p = profile__new();
	char err[256] = "";

	REQUIRE(p);
	CHECK_INT(read_text(p, NULL, "a;b 9223372036854775808\n", err,
			    sizeof(err)),
		  0);
	CHECK_STR(err, "");
	CHECK(profile__total(p) == UINT64_C(9223372036854775808));
	profile__free(p);
}

TEST(in_folded_bounds)
{
	size_t big = IN_FOLDED_LINE_MAX + 10;
	char *text = malloc(big + 1), err[256] = "";
	struct profile *p = profile__new();

	REQUIRE(text && p);
	/* One line longer than the limit: an error, not an allocation. */
	memset(text, 'a', big);
	text[big] = '\0';
	CHECK_INT(read_text(p, NULL, text, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "t.folded:1: line longer than") == err);

	/* More frames than the limit. */
	for (size_t i = 0; i < 2 * (IN_FOLDED_FRAMES_MAX + 1); i += 2) {
		text[i] = 'x';
		text[i + 1] = ';';
	}
	strcpy(text + 2 * (IN_FOLDED_FRAMES_MAX + 1), "x 1\n");
	err[0] = '\0';
	CHECK_INT(read_text(p, NULL, text, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "more than 65536 frames") != NULL);

	/* A NUL byte is not text. */
	{
		static const char nul[] = "a;b 1\nx\0y 1\n";
		FILE *f = fmemopen((void *)nul, sizeof(nul) - 1, "r");

		REQUIRE(f);
		CHECK_INT(in_folded__read(p, NULL, f, "t.folded", err,
					  sizeof(err)),
			  -EINVAL);
		fclose(f);
		CHECK_STR(err, "t.folded:2: a NUL byte: this is not a "
			       "folded-stacks file");
	}
	free(text);
	profile__free(p);
}

TEST(in_folded_differential)
{
	struct profile *a = profile__new(), *b = profile__new();
	char err[256] = "";
	char *ta, *tb;

	REQUIRE(a && b);
	REQUIRE(read_text(a, b, "p-1;f (a.py:1) 3 5\np-1;g (a.py:2) 4\n", err,
			  sizeof(err)) == 0);
	ta = write_text(a);
	tb = write_text(b);
	REQUIRE(ta && tb);
	CHECK_STR(ta, "p-1;f (a.py:1) 3\np-1;g (a.py:2) 4\n");
	CHECK_STR(tb, "p-1;f (a.py:1) 5\n");
	CHECK_INT(profile__nstacks(b), 2); /* g is there, with 0 */
	free(ta);
	free(tb);
	profile__free(a);
	profile__free(b);
}

TEST(in_folded_missing_file)
{
	struct profile *p = profile__new();
	char err[256] = "";

	REQUIRE(p);
	CHECK_INT(in_folded__read_path(p, NULL, "/nonexistent/x.folded", err,
				       sizeof(err)),
		  -ENOENT);
	CHECK_STR(err, "cannot read /nonexistent/x.folded: No such file or "
		       "directory");
	profile__free(p);
}
