// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/svg.c: the fixed profile against
 * tests/fixtures/golden/basic.svg (checked by hand and in Chromium), and
 * properties that hold whatever the golden file says: well-formed XML,
 * valid UTF-8, the root's samples, escaping of every awkward name.
 */
#include "unit.h"

#include "fixture.h"

#include "lib/profile.h"
#include "out/output.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

TEST(out_svg_golden_basic)
{
	struct profile *p = unit__basic_profile();
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_SVG, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	unit__golden("basic.svg", got, len);
	free(got);
	profile__free(p);
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (; (s = strstr(s, needle)); s += strlen(needle))
		n++;
	return n;
}

TEST(out_svg_basic_is_well_formed)
{
	struct profile *p = unit__basic_profile();
	char err[256], want[128];
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_SVG, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (!unit__xml_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not well-formed: %s", err);
	CHECK(unit__utf8_valid(got, len));
	CHECK(strlen(got) == len);
	/* The root box holds every sample of a stack with frames: the
	 * 0-sample and the frameless stacks are not drawn. */
	snprintf(want, sizeof(want),
		 "data-s=\"0\" data-n=\"%" PRIu64 "\" data-d=\"0\"",
		 UINT64_C(4294967454));
	CHECK(strstr(got, want) != NULL);
	/* The title, escaped; the frames that are wide enough. */
	CHECK(strstr(got,
		     "python3 app.py &lt;x&gt; &amp; &quot;y&quot; (pid 4242)") !=
	      NULL);
	CHECK(strstr(got, "&lt;module&gt; (app.py:40)") != NULL);
	CHECK(strstr(got, "at 99 Hz over 4.0 s, CPython 3.12.1, started "
			  "2023-11-14 22:13:20 UTC, 2 lost") != NULL);
	/* all, process, MainThread, <module>: the rest are under 0.1 px. */
	CHECK_INT(count(got, "<g class=\"f\""), 4);
	/* Under the process: worker;1, worker:1 and [unknown]; under
	 * MainThread: [truncated], mod, nofile; under its <module>: héllo and
	 * bad...: 8 left out, each with what is above it. */
	CHECK(strstr(got, "4294967454 samples at 99 Hz") != NULL);
	CHECK(strstr(got, "; 8 frames narrower than 0.1 px not drawn") != NULL);
	free(got);
	profile__free(p);
}

/* Every awkward name, each wide enough to be drawn. */
TEST(out_svg_escapes_every_name)
{
	static const char *const names[] = {
		"g;h",
		"<lambda>",
		"a&b",
		"quote\"d",
		"apo's",
		"bad\nname\twith\x7f"
		"del",
		"héllo",
		"\xff\xfe"
		"bad utf8",
		"c1\xc2\x85"
		"ctl",
		"]]>",
		"",
	};
	struct profile *p = profile__new();
	char err[256];
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint32_t fr = (uint32_t)profile__frame(
			p, PF_PYTHON, profile__intern_str(p, names[i]),
			profile__intern_str(p, "f<&>.py"), (int32_t)i);

		CHECK_INT(profile__add(p, &fr, 1, 10), 0);
	}
	got = unit__write(p, OUT_SVG, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (!unit__xml_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not well-formed: %s", err);
	CHECK(unit__utf8_valid(got, len));
	CHECK_INT(count(got, "<g class=\"f\""), 12);
	CHECK(strstr(got,
		     ">g;h (f&lt;&amp;&gt;.py:0)&#10;10 samples, 9.09%<") !=
	      NULL);
	CHECK(strstr(got, "&lt;lambda&gt;") != NULL);
	CHECK(strstr(got, "a&amp;b") != NULL);
	CHECK(strstr(got, "quote&quot;d") != NULL);
	CHECK(strstr(got, "apo&#39;s") != NULL);
	/* Control characters (C0, DEL, C1) and bad bytes: U+FFFD. */
	CHECK(strstr(got, "bad\xef\xbf\xbdname\xef\xbf\xbdwith\xef\xbf\xbd"
			  "del") != NULL);
	CHECK(strstr(got, "\xef\xbf\xbd\xef\xbf\xbd"
			  "bad utf8") != NULL);
	CHECK(strstr(got, "c1\xef\xbf\xbd"
			  "ctl") != NULL);
	CHECK(strstr(got, "héllo") != NULL);
	CHECK(strstr(got, "]]&gt;") != NULL);
	CHECK(strstr(got, "[unknown] (f&lt;&amp;&gt;.py:10)") != NULL);
	free(got);
	profile__free(p);
}

/* A stack deeper than any recursion would survive: drawn iteratively. */
TEST(out_svg_deep_stack)
{
	enum { DEPTH = 20000 };
	struct profile *p = profile__new();
	uint32_t *fr = calloc(DEPTH, sizeof(*fr));
	char err[256];
	size_t len;
	int rc;
	char *got;

	REQUIRE(p && fr);
	for (int i = 0; i < DEPTH; i++)
		fr[i] = (uint32_t)profile__frame(p, PF_PYTHON,
						 profile__intern_str(p, "rec"),
						 profile__intern_str(p, "r.py"),
						 i % 7);
	CHECK_INT(profile__add(p, fr, DEPTH, 1), 0);
	got = unit__write(p, OUT_SVG, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(unit__xml_check(got, err, sizeof(err)));
	CHECK_INT(count(got, "<g class=\"f\""), DEPTH + 1);
	free(got);
	free(fr);
	profile__free(p);
}
