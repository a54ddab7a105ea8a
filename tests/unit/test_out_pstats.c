// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/pstats.c: the fixed profile and the call fixture
 * (tests/fixtures/calls.folded: callers, recursion) against their golden
 * files, which tests/test_heatmap.py loads with pstats on every CPython
 * present; and the marshal encoding itself, byte by byte.
 */
#include "unit.h"

#include "fixture.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/profile.h"
#include "out/output.h"

static const struct out_meta hz100 = { .freq = 100 };

TEST(out_pstats_golden_basic)
{
	struct profile *p = unit__basic_profile();
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_PSTATS, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	unit__golden("basic.pstats", got, len);
	/* <module>'s cc, 2^32 + 141, as a long of 15-bit digits. */
	CHECK(memmem(got, len, "l\x03\0\0\0\x8d\0\0\0\x04\0", 11) != NULL);
	free(got);
	profile__free(p);
}

TEST(out_pstats_golden_calls)
{
	char path[PATH_MAX], err[256], *text, *got;
	struct profile *p;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/tests/fixtures/calls.folded",
		 unit__repo_root());
	text = unit__slurp(path, &len);
	REQUIRE(text);
	p = unit__folded_profile(text, err, sizeof(err));
	free(text);
	REQUIRE(p);
	got = unit__write(p, OUT_PSTATS, &hz100, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	unit__golden("calls.pstats", got, len);
	free(got);
	profile__free(p);
}

/* One function, one sample at 100 Hz, its first line recorded: every
 * byte known. */
TEST(out_pstats_marshal_bytes)
{
	static const char want[] =
		"{"
		"(\x03\0\0\0" /* the key: a 3-tuple */
		"u\x04\0\0\0a.py"
		"i\x02\0\0\0" /* the first line, not the line sampled */
		"u\x02\0\0\0\xc3\xa9"
		"(\x05\0\0\0"
		"i\x01\0\0\0" /* cc */
		"i\x01\0\0\0" /* nc */
		"g\x7b\x14\xae\x47\xe1\x7a\x84\x3f" /* tt 0.01 */
		"g\x7b\x14\xae\x47\xe1\x7a\x84\x3f" /* ct 0.01 */
		"{0" /* no callers */
		"0";
	struct profile *p = profile__new();
	uint32_t fr[3];
	int64_t id;
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	id = profile__frame(p, PF_PROCESS, profile__intern_str(p, "py-1"), 0,
			    -1);
	fr[0] = (uint32_t)id;
	id = profile__frame(p, PF_THREAD, profile__intern_str(p, "T"), 0, -1);
	fr[1] = (uint32_t)id;
	id = profile__frame(p, PF_PYTHON, profile__intern_str(p, "\xc3\xa9"),
			    profile__intern_str(p, "a.py"), 3);
	REQUIRE(id > 0);
	fr[2] = (uint32_t)id;
	CHECK_INT(profile__set_first_line(p, fr[2], 2), 0);
	CHECK_INT(profile__first_line(p, fr[2]), 2);
	CHECK_INT(profile__first_line(p, fr[0]), -1);
	CHECK_INT(profile__add(p, fr, 3, 1), 0);
	got = unit__write(p, OUT_PSTATS, &hz100, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK_INT(len, sizeof(want) - 1);
	CHECK(len == sizeof(want) - 1 && !memcmp(got, want, len));
	free(got);
	profile__free(p);
}

/* Names that are not UTF-8 still load: marshal's reader rejects them. */
TEST(out_pstats_names_made_utf8)
{
	struct profile *p = profile__new();
	uint32_t fr[1];
	int64_t id;
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	id = profile__frame(p, PF_PYTHON, profile__intern_str(p, "caf\xe9"),
			    profile__intern_str(p, "\xff.py"), 1);
	REQUIRE(id >= 0);
	fr[0] = (uint32_t)id;
	CHECK_INT(profile__add(p, fr, 1, 1), 0);
	got = unit__write(p, OUT_PSTATS, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(memmem(got, len, "u\x06\0\0\0\xef\xbf\xbd.py", 11) != NULL);
	CHECK(memmem(got, len, "u\x06\0\0\0caf\xef\xbf\xbd", 11) != NULL);
	/* Without a frequency, a sample counts as a second. */
	CHECK(memmem(got, len, "g\0\0\0\0\0\0\xf0\x3f", 9) != NULL);
	free(got);
	profile__free(p);
}
