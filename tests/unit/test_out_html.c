// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/html.c: the fixed profile against
 * tests/fixtures/golden/basic.html (checked by hand and in Chromium), and
 * what holds whatever the golden file says: well-formed (XHTML-style) and
 * self-contained, the summary, the threads and the top functions right,
 * every name escaped.
 */
#include "unit.h"

#include "fixture.h"

#include "lib/profile.h"
#include "out/output.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* needle occurs in s before limit. */
static bool before(const char *s, const char *needle, const char *limit)
{
	const char *at = strstr(s, needle);

	return at && at < limit;
}

TEST(out_html_golden_basic)
{
	struct profile *p = unit__basic_profile();
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_HTML, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	unit__golden("basic.html", got, len);
	free(got);
	profile__free(p);
}

TEST(out_html_basic_properties)
{
	struct profile *p = unit__basic_profile();
	char err[256];
	size_t len;
	int rc;
	char *got, *fns, *lines;

	REQUIRE(p);
	got = unit__write(p, OUT_HTML, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(!strncmp(got, "<!DOCTYPE html>\n", 16));
	if (!unit__xml_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not well-formed: %s", err);
	CHECK(unit__utf8_valid(got, len));
	/* Self-contained: nothing fetched. */
	CHECK(strstr(got, "http://") == NULL ||
	      strstr(got, "http://") ==
		      strstr(got, "http://www.w3.org/2000/svg"));
	CHECK(strstr(got, "https://") == NULL);
	CHECK(strstr(got, " src=") == NULL && strstr(got, "<link") == NULL);
	/* Summary. */
	CHECK(strstr(got, "<title>python3 app.py &lt;x&gt; &amp; &quot;y&quot; "
			  "(pid 4242) - pyprof-bpf</title>") != NULL);
	CHECK(strstr(got, "<tr><th>Python</th><td>CPython 3.12.1</td></tr>") !=
	      NULL);
	CHECK(strstr(got, "<tr><th>Started</th><td>2023-11-14 22:13:20 UTC"
			  "</td></tr>") != NULL);
	CHECK(strstr(got, "<tr><th>Samples</th><td>4294967454 in this profile; "
			  "4294967456 taken, 2 lost</td></tr>") != NULL);
	/* Threads: MainThread first (most samples). */
	CHECK(strstr(got, "<tbody>\n<tr><td class=\"fn\">MainThread</td><td "
			  "class=\"fn\">python3-4242</td><td class=\"num\" "
			  "data-v=\"4294967325\">") != NULL);
	/* Top functions: <module> first with its own 2^32; g;h and g:h are
	 * two functions; names escaped. */
	fns = strstr(got, "id=\"functions\"");
	lines = strstr(got, "id=\"lines\"");
	REQUIRE(fns && lines);
	CHECK(strstr(fns, "<tbody>\n<tr><td class=\"num\">1</td><td "
			  "class=\"fn\">&lt;module&gt;</td><td "
			  "class=\"file\">app.py</td><td class=\"num\" "
			  "data-v=\"4294967296\">4294967296</td>") != NULL);
	CHECK(before(fns,
		     "<td class=\"num\" data-v=\"4294967437\">"
		     "4294967437</td>",
		     lines));
	CHECK(before(fns, ">g;h</td><td class=\"file\">z.py</td>", lines));
	CHECK(before(fns, ">g:h</td><td class=\"file\">z.py</td>", lines));
	CHECK(before(fns,
		     ">bad\xef\xbf\xbdname\xef\xbf\xbdwith\xef\xbf\xbd"
		     "del</td>",
		     lines));
	CHECK(before(fns, ">héllo</td><td class=\"file\">日本語.py</td>",
		     lines));
	/* Hottest lines carry the line. */
	CHECK(strstr(lines, ">héllo</td><td class=\"file\">日本語.py:7</td>") !=
	      NULL);
	/* The flame graph, inline. */
	CHECK(strstr(got, "<svg id=\"pf-flame\"") != NULL);
	CHECK(strstr(got, "<?xml") == NULL);
	free(got);
	profile__free(p);
}
