// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/heatmap.c on a fixed profile and source store, against
 * tests/fixtures/golden/heatmap.heatmap.html (checked by hand and in
 * Chromium), and what holds whatever the golden file says: well-formed and
 * self-contained; own and total per line and file, recursion counted once;
 * every sampled line shown, in the source or below it with the reason (past
 * the end, line 0, unknown); every file that could not be shown says why;
 * bytes that are not UTF-8, a NUL, CRLF and tabs shown honestly; names and
 * text escaped; the flame graph's boxes linked to their lines.
 */
#include "unit.h"

#include "fixture.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/profile.h"
#include "lib/sources.h"
#include "out/output.h"

static const char app_py[] = "import sys\n"
			     "def hot(n):\n"
			     "    return sum(range(n))\n"
			     "\n"
			     "\n"
			     "\n"
			     "def main():\n"
			     "    hot(10)\n"
			     "\n"
			     "\n"
			     "\n"
			     "main()\n";

/* Latin-1 (not UTF-8), a NUL, a tab, CRLF line ends, no final newline. */
static const char latin1_py[] = "# coding: latin-1\r\n"
				"def g():\r\n"
				"\tname = 'caf\xe9'\0x\r\n"
				"end";

static const char escape_py[] = "f = lambda: \"<tag> & 'q'\"\n";

static uint32_t F(struct profile *p, enum pframe_kind kind, const char *name,
		  const char *file, int32_t line, int32_t first)
{
	int64_t id = profile__frame(p, kind, profile__intern_str(p, name),
				    file ? profile__intern_str(p, file) : 0,
				    line);

	if (id < 0)
		return UINT32_MAX;
	if (first >= 0)
		profile__set_first_line(p, (uint32_t)id, first);
	return (uint32_t)id;
}

#define ADD(p, count, ...)                                                   \
	do {                                                                 \
		const uint32_t _fr[] = { __VA_ARGS__ };                      \
		CHECK_INT(profile__add(p, _fr, sizeof(_fr) / sizeof(_fr[0]), \
				       count),                               \
			  0);                                                \
	} while (0)

static struct profile *heat_profile(void)
{
	struct profile *p = profile__new();
	uint32_t P, T, MOD, MAIN, HOT, HOT40, MOD0, FU, G, Z, MIS, STR, BIG,
		LIM, NR, TR, LAM;

	if (!p)
		return NULL;
	P = F(p, PF_PROCESS, "python3-4242", NULL, -1, -1);
	T = F(p, PF_THREAD, "MainThread", NULL, -1, -1);
	MOD = F(p, PF_PYTHON, "<module>", "/src/app.py", 12, 1);
	MAIN = F(p, PF_PYTHON, "main", "/src/app.py", 8, 7);
	HOT = F(p, PF_PYTHON, "hot", "/src/app.py", 3, 2);
	HOT40 = F(p, PF_PYTHON, "hot", "/src/app.py", 40, 2); /* edited */
	MOD0 = F(p, PF_PYTHON, "<module>", "/src/app.py", 0, 1); /* 3.11+ */
	FU = F(p, PF_PYTHON, "f", "/src/app.py", -1, -1); /* line unknown */
	G = F(p, PF_PYTHON, "g", "/src/latin1.py", 3, 2);
	Z = F(p, PF_NATIVE, "deflate", "/usr/lib/libz.so.1", -1, -1);
	MIS = F(p, PF_PYTHON, "m", "/gone/missing.py", 5, 4);
	STR = F(p, PF_PYTHON, "<module>", "<string>", 1, 1);
	BIG = F(p, PF_PYTHON, "b", "/src/big.py", 1, 1);
	LIM = F(p, PF_PYTHON, "l", "/src/limit.py", 1, 1);
	NR = F(p, PF_PYTHON, "n", "/src/not-recorded.py", 1, 1);
	TR = F(p, PF_MARKER, "[truncated]", NULL, -1, -1);
	LAM = F(p, PF_PYTHON, "<lambda>", "/src/a&b <c>.py", 1, 1);

	ADD(p, 70, P, T, MOD, MAIN, HOT);
	ADD(p, 5, P, T, MOD, MAIN, HOT40);
	ADD(p, 2, P, T, MOD0);
	ADD(p, 1, P, T, FU);
	ADD(p, 10, P, T, MOD, G, Z); /* g's line: own, though C ran */
	ADD(p, 3, P, T, MIS);
	ADD(p, 1, P, T, STR);
	ADD(p, 1, P, T, BIG);
	ADD(p, 1, P, T, LIM);
	ADD(p, 1, P, T, NR);
	ADD(p, 4, P, T, TR, HOT, HOT); /* recursion: line 3 once */
	ADD(p, 2, P, T, LAM);
	return p;
}

static struct sources *heat_sources(void)
{
	struct sources *s = sources__new();
	char big[300];

	if (!s)
		return NULL;
	sources__set_limits(s, 3, 256, 1 << 20);
	memset(big, 'x', sizeof(big));
	CHECK_INT(sources__put(s, "/src/app.py", app_py, sizeof(app_py) - 1),
		  0);
	CHECK_INT(sources__put(s, "/src/latin1.py", latin1_py,
			       sizeof(latin1_py) - 1),
		  0);
	CHECK_INT(sources__put(s, "/src/a&b <c>.py", escape_py,
			       sizeof(escape_py) - 1),
		  0);
	/* As sources__read_pid() marks a file newer than its process. */
	((struct source *)sources__get(s, "/src/a&b <c>.py"))->changed = true;
	CHECK_INT(sources__put(s, "/src/big.py", big, sizeof(big)), 0);
	CHECK_INT(sources__put(s, "/src/limit.py", "l = 1\n", 6), 0);
	CHECK_INT(sources__read_local(s, "/gone/missing.py"), 0);
	CHECK_INT(sources__read_local(s, "<string>"), 0);
	return s;
}

static char *write_heat(size_t *len, int *rc)
{
	struct profile *p = heat_profile();
	struct sources *s = heat_sources();
	struct out_meta m = *unit__basic_meta();
	char *got = NULL;

	if (p && s) {
		m.sources = s;
		got = unit__write(p, OUT_HEATMAP, &m, len, rc);
	}
	sources__free(s);
	profile__free(p);
	return got;
}

TEST(out_heatmap_golden)
{
	size_t len;
	int rc;
	char *got = write_heat(&len, &rc);

	REQUIRE(got);
	CHECK_INT(rc, 0);
	unit__golden("heatmap.heatmap.html", got, len);
	free(got);
}

/* The section of file number id: from its start to the next one. */
static char *section(const char *page, int id)
{
	const char *a, *b;
	char start[64];

	snprintf(start, sizeof(start), "<section class=\"file\" id=\"f%d\">",
		 id);
	a = strstr(page, start);
	if (!a)
		return NULL;
	b = strstr(a, "</section>");
	return b ? strndup(a, (size_t)(b - a)) : NULL;
}

TEST(out_heatmap_properties)
{
	char err[256], *got, *app, *lat, *esc;
	size_t len;
	int rc;

	got = write_heat(&len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(!strncmp(got, "<!DOCTYPE html>\n", 16));
	if (!unit__xml_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not well-formed: %s", err);
	CHECK(unit__utf8_valid(got, len));
	CHECK(strstr(got, "https://") == NULL);
	CHECK(strstr(got, " src=") == NULL && strstr(got, "<link") == NULL);
	/* The index: app.py first (92 of 101 samples on the stack, 82 with
	 * its line innermost). */
	CHECK(strstr(got,
		     "<tbody>\n<tr><td class=\"fn\"><a href=\"#f1\">"
		     "/src/app.py</a></td><td class=\"num\">82</td><td "
		     "class=\"num\">81.19%</td><td class=\"num\">92</td>") !=
	      NULL);
	CHECK(strstr(got, "<tr><th>Source files</th><td>8 profiled, 3 "
			  "shown</td></tr>") != NULL);
	/* Functions: hot first, linked to its first line. */
	CHECK(strstr(got, "<tbody>\n<tr><td class=\"fn\"><a href=\"#f1-2\">"
			  "hot</a></td><td class=\"fn\">/src/app.py:2</td>"
			  "<td class=\"num\">79</td>") != NULL);
	/* The flame graph's boxes lead to their lines. */
	CHECK(strstr(got, "<li data-label=\"hot (/src/app.py:3)\" "
			  "data-href=\"#f1-3\"></li>") != NULL);
	CHECK(strstr(got, "<li data-label=\"hot (/src/app.py:40)\" "
			  "data-href=\"#f1-40\"></li>") != NULL);
	CHECK(strstr(got, "<svg id=\"pf-flame\"") != NULL);

	app = section(got, 1);
	REQUIRE(app);
	/* The hot line: the hottest (level 10), recursion once in total. */
	CHECK(strstr(app, "<tr id=\"f1-3\" data-o=\"10\" data-t=\"9\" "
			  "title=\"own 74 (73.27%), total 74 (73.27%)\"><td "
			  "class=\"ln\">3</td><td class=\"own\">74</td><td "
			  "class=\"tot\">74</td><td class=\"code\">    return "
			  "sum(range(n))</td></tr>") != NULL);
	CHECK(strstr(app, "<tr id=\"f1-4\"><td class=\"ln\">4</td><td "
			  "class=\"own\"></td><td class=\"tot\"></td><td "
			  "class=\"code\"></td></tr>") != NULL);
	CHECK(strstr(app,
		     "12 lines, 85 bytes, read from the profiled "
		     "process's files while it ran; <span "
		     "class=\"warn\">3 sampled lines not in the file") != NULL);
	CHECK(strstr(app, "<td class=\"ln\">40</td><td class=\"own\">5</td><td "
			  "class=\"tot\">5</td><td class=\"code\">past the end "
			  "of the file (12 lines): edited since the code "
			  "ran?</td>") != NULL);
	CHECK(strstr(app, "<tr id=\"f1-0\"") != NULL &&
	      strstr(app, "line 0: the module's start") != NULL);
	CHECK(strstr(app, "<tr id=\"f1-u\"") != NULL &&
	      strstr(app, "line unknown") != NULL);
	free(app);

	lat = section(got, 2);
	REQUIRE(lat);
	CHECK(strstr(lat, "<h3>/src/latin1.py</h3>") != NULL);
	CHECK(strstr(lat, "not UTF-8: 2 bytes shown as \xef\xbf\xbd") != NULL);
	/* g's line owns the time spent in C below it; CR gone, tab kept. */
	CHECK(strstr(lat, "<td class=\"own\">10</td><td class=\"tot\">10</td>"
			  "<td class=\"code\">\tname = &#39;caf\xef\xbf\xbd"
			  "&#39;\xef\xbf\xbdx</td>") != NULL);
	CHECK(strstr(lat, "<td class=\"code\">end</td>") != NULL);
	free(lat);

	esc = strstr(got, "<h3>/src/a&amp;b &lt;c&gt;.py</h3>");
	REQUIRE(esc);
	CHECK(strstr(esc, "modified after the process started") != NULL);
	CHECK(strstr(esc, "f = lambda: &quot;&lt;tag&gt; &amp; &#39;q&#39;"
			  "&quot;") != NULL);
	/* What could not be shown, and why. */
	CHECK(strstr(got, "source not found (No such file or directory)") !=
	      NULL);
	CHECK(strstr(got, "source not a file: code compiled from a string, "
			  "or frozen into the interpreter") != NULL);
	CHECK(strstr(got, "source not kept: 300 bytes, larger than the 256 "
			  "bytes a file may have") != NULL);
	CHECK(strstr(got, "source not kept: the heatmap keeps at most 3 files "
			  "and 1 MiB of source") != NULL);
	CHECK(strstr(got, "source not recorded: past the bound on files "
			  "remembered") != NULL);
	CHECK(strstr(got, "<td class=\"ln\">5</td><td class=\"own\">3</td><td "
			  "class=\"tot\">3</td><td class=\"code\">source not "
			  "shown</td>") != NULL);
	free(got);
}

/* Any profile, also one without a source store: written and well-formed,
 * every file "not recorded". */
TEST(out_heatmap_basic_without_sources)
{
	struct profile *p = unit__basic_profile();
	char err[256], *got;
	size_t len;
	int rc;

	REQUIRE(p);
	got = unit__write(p, OUT_HEATMAP, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (!unit__xml_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not well-formed: %s", err);
	CHECK(unit__utf8_valid(got, len));
	CHECK(strstr(got, "source not recorded: this profile was written "
			  "without its source files") != NULL);
	CHECK(strstr(got, ">h\xc3\xa9llo</a>") != NULL);
	CHECK(strstr(got, "bad\xef\xbf\xbdname\xef\xbf\xbdwith") != NULL);
	free(got);
	got = unit__write(p, OUT_HEATMAP, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	free(got);
	profile__free(p);
	/* No samples at all: an empty page, still whole. */
	p = profile__new();
	REQUIRE(p);
	got = unit__write(p, OUT_HEATMAP, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (!unit__xml_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not well-formed: %s", err);
	CHECK(strstr(got, "<td>0 profiled, 0 shown</td>") != NULL);
	free(got);
	got = unit__write(p, OUT_PSTATS, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(len == 2 && !memcmp(got, "{0", 2));
	free(got);
	profile__free(p);
}
