// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/trace.c: the fixed profile with its timeline against
 * tests/fixtures/golden/basic.trace.json (checked by hand and loaded in
 * speedscope), and what holds whatever the golden file says: valid JSON,
 * events of a thread nested or apart, inside the run, each box from a
 * sample to where the next different one begins (issue 21); the cap on
 * the timeline said out loud.
 */
#include "unit.h"

#include "fixture.h"

#include "lib/profile.h"
#include "out/output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

TEST(out_trace_golden_basic)
{
	struct profile *p = unit__basic_timeline();
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_TRACE, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	unit__golden("basic.trace.json", got, len);
	free(got);
	profile__free(p);
}

struct xev {
	double ts, dur;
	long tid;
	char name[64];
};

/* The "X" events, one a line as the writer puts them. */
static size_t x_events(const char *s, struct xev *ev, size_t max)
{
	size_t n = 0;

	for (const char *l = s; (l = strstr(l, "{\"ph\":\"X\"")) && n < max;
	     l++) {
		const char *ts = strstr(l, "\"ts\":"),
			   *dur = strstr(l, "\"dur\":");
		const char *tid = strstr(l, "\"tid\":"), *nm = l + 18;
		const char *end = strchr(nm, '"');

		if (!ts || !dur || !tid || !end)
			break;
		ev[n].ts = strtod(ts + 5, NULL);
		ev[n].dur = strtod(dur + 6, NULL);
		ev[n].tid = strtol(tid + 6, NULL, 10);
		snprintf(ev[n].name, sizeof(ev[n].name), "%.*s",
			 (int)(end - nm), nm);
		n++;
	}
	return n;
}

static bool has_x(const struct xev *ev, size_t n, const char *name, double ts,
		  double dur)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ev[i].name, name) && ev[i].ts == ts &&
		    ev[i].dur > dur - 0.0015 && ev[i].dur < dur + 0.0015)
			return true;
	return false;
}

TEST(out_trace_basic_properties)
{
	struct profile *p = unit__basic_timeline();
	const double P = 10101.010; /* one period at 99 Hz, in us */
	struct xev ev[256];
	char err[256];
	size_t len, n;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_TRACE, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (!unit__json_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not JSON: %s", err);
	CHECK(unit__utf8_valid(got, len));
	n = x_events(got, ev, 256);
	CHECK(n > 10 && n < 256);
	for (size_t i = 0; i < n; i++) {
		/* Inside the run: from the origin, before 4 s. */
		CHECK(ev[i].ts >= 0 && ev[i].dur > 0);
		CHECK(ev[i].ts + ev[i].dur <= 4000000.0005);
		/* Same thread: nested or apart, never overlapping. */
		for (size_t j = 0; j < n; j++) {
			double a0 = ev[i].ts, a1 = a0 + ev[i].dur;
			double b0 = ev[j].ts, b1 = b0 + ev[j].dur;

			if (i == j || ev[i].tid != ev[j].tid)
				continue;
			if (!(a1 <= b0 || b1 <= a0 || (a0 <= b0 && b1 <= a1) ||
			      (b0 <= a0 && a1 <= b1)))
				unit__fail(__FILE__, __LINE__,
					   "%s and %s overlap", ev[i].name,
					   ev[j].name);
		}
	}
	/* MainThread (tid 4242), second 1: 10 samples under <module>;héllo
	 * then 3 under <module>;bad..., one period apart; then it slept:
	 * the last box ends one period after its last sample. */
	CHECK(has_x(ev, n, "<module>", 0, 13 * P));
	CHECK(has_x(ev, n, "héllo", 0, 10 * P));
	CHECK(has_x(ev, n, "bad\\nname\\twith\\u007fdel", 10 * P, 3 * P));
	/* Second 2: mod (4), then <module>;héllo (5) and [truncated]...
	 * (6): consecutive samples of one stack are one box, which ends
	 * where the next different one begins. */
	CHECK(has_x(ev, n, "mod", 1000000, 4 * P));
	CHECK(has_x(ev, n, "<module>", 1000000 + 4 * P, 5 * P));
	CHECK(has_x(ev, n, "[truncated]", 1000000 + 9 * P, 6 * P));
	/* Second 4: 2^32 samples, 20 of them timed. */
	CHECK(has_x(ev, n, "<module>", 3000000, 20 * P));
	/* worker;1: x's span, 0.25 s off the CPU as the kernel saw it,
	 * then back on the CPU in x until a period after its sample. */
	CHECK(has_x(ev, n, "x", 3300000, 250000 + 50000 + P));
	/* Threads: named, the unnamed one "[unknown]"; ';' kept; real
	 * tids. */
	CHECK(strstr(got, "\"name\":\"thread_name\",\"pid\":4242,"
			  "\"tid\":4242") != NULL);
	CHECK(strstr(got, "\"args\":{\"name\":\"worker;1\"}") != NULL);
	CHECK(strstr(got, "\"args\":{\"name\":\"worker:1\"}") != NULL);
	CHECK(strstr(got, "\"args\":{\"name\":\"[unknown]\"}") != NULL);
	CHECK(strstr(got, "\"args\":{\"name\":\"python3-4242\"}") != NULL);
	CHECK(strstr(got,
		     "\"samples\":4294967454,\"samples_on_timeline\":"
		     "99,\"off_cpu_spans\":1,\"samples_dropped\":0,") != NULL);
	CHECK(strstr(got, "timeline full") == NULL);
	free(got);
	profile__free(p);
}

TEST(out_trace_cap_is_reported)
{
	struct profile *p = profile__new();
	uint32_t fr[2];
	size_t a, b;
	char err[256];
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	fr[0] = (uint32_t)profile__frame(p, PF_PYTHON,
					 profile__intern_str(p, "f"),
					 profile__intern_str(p, "f.py"), 1);
	fr[1] = (uint32_t)profile__frame(p, PF_PYTHON,
					 profile__intern_str(p, "g"),
					 profile__intern_str(p, "f.py"), 2);
	CHECK_INT(profile__add_idx(p, fr, 1, 3, &a), 0);
	CHECK_INT(profile__add_idx(p, fr + 1, 1, 2, &b), 0);
	profile__set_timeline_origin(p, 1000);
	profile__set_timeline_max(p, 2);
	CHECK_INT(profile__time_sample(p, a, 7, 1000 + 1000000, false), 0);
	CHECK_INT(profile__time_sample(p, b, 7, 1000 + 2000000, false), 0);
	CHECK_INT(profile__time_sample(p, a, 7, 1000 + 3000000, false), 0);
	CHECK_INT(profile__time_sample(p, a, 7, 1000 + 4000000, false), 0);
	CHECK_INT(profile__time_span(p, b, 7, 1000 + 4500000, 1000 + 5000000),
		  0);
	got = unit__write(p, OUT_TRACE, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(unit__json_check(got, err, sizeof(err)));
	CHECK(strstr(got, "\"samples\":5,\"samples_on_timeline\":2,"
			  "\"off_cpu_spans\":0,\"samples_dropped\":2,"
			  "\"spans_dropped\":1") != NULL);
	CHECK(strstr(got,
		     "{\"ph\":\"i\",\"s\":\"g\",\"pid\":0,\"tid\":0,"
		     "\"ts\":3000.000,\"name\":\"timeline full: 2 later "
		     "samples and 1 off-CPU spans are in the profile but not on "
		     "the timeline\"}") != NULL);
	free(got);

	/* No timeline at all (a profile read from folded stacks): no
	 * trace. */
	profile__free(p);
	p = profile__new();
	REQUIRE(p);
	CHECK_INT(profile__add(p, fr, 1, 4), 0);
	got = unit__write(p, OUT_TRACE, NULL, &len, &rc);
	CHECK_INT(rc, -ENODATA);
	free(got);
	/* A timeline with nothing on it (a run without samples): an empty
	 * trace, not an error. */
	profile__set_timeline_origin(p, 5);
	got = unit__write(p, OUT_TRACE, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(unit__json_check(got, err, sizeof(err)));
	CHECK(strstr(got, "\"ph\":\"X\"") == NULL);
	free(got);
	profile__free(p);
}

/* Without -F a period is 10 ms; no thread frame: a lane per tid. */
TEST(out_trace_no_frequency_no_thread_frame)
{
	struct profile *p = profile__new();
	uint32_t a, b;
	size_t ia, ib;
	struct xev ev[16];
	size_t len, n;
	int rc;
	char *got;

	REQUIRE(p);
	a = (uint32_t)profile__frame(p, PF_PYTHON, profile__intern_str(p, "a"),
				     profile__intern_str(p, "f.py"), 1);
	b = (uint32_t)profile__frame(p, PF_PYTHON, profile__intern_str(p, "b"),
				     profile__intern_str(p, "f.py"), 2);
	CHECK_INT(profile__add_idx(p, &a, 1, 2, &ia), 0);
	CHECK_INT(profile__add_idx(p, &b, 1, 2, &ib), 0);
	CHECK_INT(profile__time_sample(p, ia, 11, 5000000000ull, false), 0);
	CHECK_INT(profile__time_sample(p, ia, 11, 5010000000ull, false), 0);
	CHECK_INT(profile__time_sample(p, ib, 11, 5020000000ull, false), 0);
	CHECK_INT(profile__time_sample(p, ib, 12, 5005000000ull, false), 0);
	got = unit__write(p, OUT_TRACE, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	n = x_events(got, ev, 16);
	CHECK_INT(n, 3);
	/* Times from the first sample (no origin). */
	CHECK(has_x(ev, n, "a", 0, 20000));
	CHECK(has_x(ev, n, "b", 20000, 10000));
	CHECK(has_x(ev, n, "b", 5000, 10000));
	CHECK(strstr(got, "\"args\":{\"name\":\"tid 11\"}") != NULL);
	CHECK(strstr(got, "\"args\":{\"name\":\"tid 12\"}") != NULL);
	CHECK(strstr(got, "\"args\":{\"name\":\"all processes\"}") != NULL);
	free(got);
	profile__free(p);
}
