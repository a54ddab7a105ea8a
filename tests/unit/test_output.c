// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/output.c: format names, the format a file name chooses, the
 * errors a user reads, and what every writer does with an empty profile,
 * a profile without a timeline, and a stream that fails.
 */
#include "unit.h"

#include "fixture.h"

#include "lib/profile.h"
#include "out/output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(output_names_round_trip)
{
	char err[256];

	for (int f = 0; f < OUT__MAX; f++) {
		enum out_format g = OUT__MAX;

		CHECK_INT(output__parse_name(output__name((enum out_format)f),
					     &g, err, sizeof(err)),
			  0);
		CHECK_INT(g, f);
	}
	CHECK_STR(output__name(OUT_SVG), "svg");
	CHECK_STR(output__name(OUT_PPROF), "pprof");
	CHECK_STR(output__name(OUT_TRACE), "trace");
}

TEST(output_unknown_name_lists_the_names)
{
	enum out_format f;
	char err[256] = "";

	CHECK_INT(output__parse_name("SVG", &f, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "unknown format 'SVG'") != NULL);
	CHECK(strstr(err, "folded, svg, speedscope, pprof, callgrind, trace, "
			  "gecko, html, heatmap, pstats") != NULL);
	CHECK_INT(output__parse_name("heatmap", &f, err, sizeof(err)), 0);
	CHECK_INT(f, OUT_HEATMAP);
	CHECK_INT(output__parse_name("pstats", &f, err, sizeof(err)), 0);
	CHECK_INT(f, OUT_PSTATS);
	CHECK_INT(output__parse_name("", &f, err, sizeof(err)), -EINVAL);
}

TEST(output_format_for_path)
{
	static const struct {
		const char *path;
		enum out_format f;
	} cases[] = {
		{ "a.folded", OUT_FOLDED },
		{ "dir.svg/a.txt", OUT_FOLDED },
		{ "/tmp/x.svg", OUT_SVG },
		{ "X.SVG", OUT_SVG },
		{ "p.speedscope.json", OUT_SPEEDSCOPE },
		{ "p.pb.gz", OUT_PPROF },
		{ "p.callgrind", OUT_CALLGRIND },
		{ "callgrind.out.4242", OUT_CALLGRIND },
		{ "out/callgrind.out", OUT_CALLGRIND },
		{ "run.trace.json", OUT_TRACE },
		{ "run.gecko.json", OUT_GECKO },
		{ "report.html", OUT_HTML },
		{ "app.heatmap.html", OUT_HEATMAP },
		{ "APP.Heatmap.HTML", OUT_HEATMAP },
		{ "app.pstats", OUT_PSTATS },
		{ "app.prof", OUT_PSTATS },
	};
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum out_format f = OUT__MAX;

		if (output__format_for_path(cases[i].path, &f, err,
					    sizeof(err)) ||
		    f != cases[i].f)
			unit__fail(__FILE__, __LINE__, "%s: got %s, want %s",
				   cases[i].path, output__name(f),
				   output__name(cases[i].f));
	}
}

TEST(output_unknown_extension_names_the_known_ones)
{
	static const char *const bad[] = { "a.json", "a.gz",	  "a",
					   ".svg",   "a.svg.bak", "x/.html" };
	enum out_format f;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_INT(output__format_for_path(bad[i], &f, err, sizeof(err)),
			  -EINVAL);
		CHECK(strstr(err, bad[i]) != NULL);
		CHECK(strstr(err, ".speedscope.json") != NULL);
		CHECK(strstr(err, "callgrind.out.*") != NULL);
		CHECK(strstr(err, "--format NAME") != NULL);
		CHECK(strchr(err, '\n') == NULL);
	}
}

TEST(output_trace_needs_a_timeline)
{
	struct profile *p = unit__basic_profile();
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_TRACE, unit__basic_meta(), &len, &rc);
	CHECK_INT(rc, -ENODATA);
	CHECK(strstr(output__strerror(OUT_TRACE, rc), "time") != NULL);
	CHECK(strstr(output__strerror(OUT_TRACE, rc), ".trace.json") != NULL);
	free(got);
	got = unit__write(p, OUT_GECKO, unit__basic_meta(), &len, &rc);
	CHECK_INT(rc, -ENODATA);
	CHECK(strstr(output__strerror(OUT_GECKO, rc), ".gecko.json") != NULL);
	/* The formats a live run times its samples for. */
	CHECK(output__timeline(OUT_TRACE) && output__timeline(OUT_GECKO) &&
	      output__timeline(OUT_HTML));
	CHECK(!output__timeline(OUT_FOLDED) && !output__timeline(OUT_SVG) &&
	      !output__timeline(OUT_SPEEDSCOPE) &&
	      !output__timeline(OUT_HEATMAP));
	CHECK_STR(output__strerror(OUT_SVG, -ENOSPC), strerror(ENOSPC));
	free(got);
	profile__free(p);
}

/* Every writer on an empty profile and on a NULL meta: no crash, a well
 * formed file. */
TEST(output_empty_profile_every_format)
{
	struct profile *p = profile__new();
	char err[256];

	REQUIRE(p);
	for (int f = 0; f < OUT__MAX; f++) {
		size_t len = 0;
		int rc;
		char *got = unit__write(p, (enum out_format)f, NULL, &len, &rc);

		REQUIRE(got);
		if (f == OUT_TRACE || f == OUT_GECKO) {
			CHECK_INT(rc, -ENODATA);
		} else if (rc != 0) {
			unit__fail(__FILE__, __LINE__, "%s: rc %d",
				   output__name((enum out_format)f), rc);
		}
		if ((f == OUT_SVG || f == OUT_HTML) &&
		    !unit__xml_check(got, err, sizeof(err)))
			unit__fail(__FILE__, __LINE__, "%s: %s",
				   output__name((enum out_format)f), err);
		if (f == OUT_SPEEDSCOPE &&
		    !unit__json_check(got, err, sizeof(err)))
			unit__fail(__FILE__, __LINE__, "speedscope: %s", err);
		if (f == OUT_FOLDED)
			CHECK_INT(len, 0);
		free(got);
	}
	profile__free(p);
}

/* A full device: every writer reports the failure instead of succeeding. */
TEST(output_write_error_every_format)
{
	struct profile *p = unit__basic_timeline();

	REQUIRE(p);
	for (int f = 0; f < OUT__MAX; f++) {
		FILE *full = fopen("/dev/full", "w");
		int rc;

		if (!full) {
			profile__free(p);
			SKIP("cannot open /dev/full: %s", strerror(errno));
		}
		rc = output__write(p, (enum out_format)f, unit__basic_meta(),
				   full);
		if (rc != -ENOSPC)
			unit__fail(__FILE__, __LINE__, "%s: rc %d, want %d",
				   output__name((enum out_format)f), rc,
				   -ENOSPC);
		fclose(full);
	}
	profile__free(p);
}

TEST(output_unknown_format_value)
{
	struct profile *p = profile__new();

	REQUIRE(p);
	CHECK_INT(output__write(p, OUT__MAX, NULL, stdout), -EINVAL);
	profile__free(p);
}
