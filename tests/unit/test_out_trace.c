// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/trace.c: the fixed profile with its timeline against
 * tests/fixtures/golden/basic.trace.json (checked by hand and loaded in
 * speedscope), and what holds whatever the golden file says: valid JSON,
 * events of a thread nested or apart, inside the run, as long as their
 * samples stand for; the cap on the timeline said out loud.
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
		/* Inside the run: origin to the last drain, 4 s. */
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
	/* MainThread, drain 1 ([0 s, 1 s]): 3 + 10 samples at 99 Hz under
	 * <module>, laid from the interval's start in label order. */
	CHECK(has_x(ev, n, "<module>", 0, 13 * 10101.010));
	CHECK(has_x(ev, n, "bad\\nname\\twith\\u007fdel", 0, 3 * 10101.010));
	CHECK(has_x(ev, n, "héllo", 3 * 10101.010, 10 * 10101.010));
	/* Drain 2 ([1 s, 2 s]): "<module> (...)" sorts before "[truncated]"
	 * before "mod (...)": 5, 6 and 4 samples. */
	CHECK(has_x(ev, n, "<module>", 1000000, 5 * 10101.010));
	CHECK(has_x(ev, n, "[truncated]", 1000000 + 5 * 10101.010,
		    6 * 10101.010));
	CHECK(has_x(ev, n, "mod", 1000000 + 11 * 10101.010, 4 * 10101.010));
	/* Drain 4: 2^32 samples cannot fit a second: scaled to fill it. */
	CHECK(has_x(ev, n, "<module>", 3000000, 1000000));
	/* Threads: named, the unnamed one "[unknown]"; ';' kept. */
	CHECK(strstr(got, "\"name\":\"thread_name\",\"pid\":4242") != NULL);
	CHECK(strstr(got, "\"args\":{\"name\":\"worker;1\"}") != NULL);
	CHECK(strstr(got, "\"args\":{\"name\":\"worker:1\"}") != NULL);
	CHECK(strstr(got, "\"args\":{\"name\":\"[unknown]\"}") != NULL);
	CHECK(strstr(got, "\"args\":{\"name\":\"python3-4242\"}") != NULL);
	CHECK(strstr(got,
		     "\"samples\":4294967454,\"samples_in_timeline\":4294967454,"
		     "\"events_dropped\":0,") != NULL);
	CHECK(strstr(got, "timeline full") == NULL);
	free(got);
	profile__free(p);
}

TEST(out_trace_cap_is_reported)
{
	struct profile *p = profile__new();
	uint32_t fr;
	char err[256];
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	fr = (uint32_t)profile__frame(p, PF_PYTHON, profile__intern_str(p, "f"),
				      profile__intern_str(p, "f.py"), 1);
	profile__set_timeline_origin(p, 1000);
	profile__set_timeline_max(p, 2);
	for (uint64_t t = 1; t <= 5; t++)
		CHECK_INT(profile__add_at(p, &fr, 1, 1, 1000 + t * 1000000), 0);
	got = unit__write(p, OUT_TRACE, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(unit__json_check(got, err, sizeof(err)));
	CHECK(strstr(got,
		     "\"samples\":5,\"samples_in_timeline\":2,"
		     "\"events_dropped\":3,\"samples_dropped\":3") != NULL);
	CHECK(strstr(got,
		     "{\"ph\":\"i\",\"s\":\"g\",\"pid\":0,\"tid\":0,"
		     "\"ts\":3000.000,\"name\":\"timeline full: 3 later "
		     "samples are in the profile but not on the timeline\"}") !=
	      NULL);
	free(got);

	/* Nothing on the timeline at all: no trace. */
	profile__free(p);
	p = profile__new();
	REQUIRE(p);
	profile__set_timeline_max(p, 0);
	CHECK_INT(profile__add_at(p, &fr, 0, 4, 5), 0);
	got = unit__write(p, OUT_TRACE, NULL, &len, &rc);
	CHECK_INT(rc, -ENODATA);
	free(got);
	profile__free(p);
}

/* Without -F the stacks share each interval by their samples; without an
 * origin the first interval is as long as the shortest gap. */
TEST(out_trace_no_frequency_no_origin)
{
	struct profile *p = profile__new();
	uint32_t a, b;
	struct xev ev[16];
	size_t len, n;
	int rc;
	char *got;

	REQUIRE(p);
	a = (uint32_t)profile__frame(p, PF_PYTHON, profile__intern_str(p, "a"),
				     profile__intern_str(p, "f.py"), 1);
	b = (uint32_t)profile__frame(p, PF_PYTHON, profile__intern_str(p, "b"),
				     profile__intern_str(p, "f.py"), 2);
	CHECK_INT(profile__add_at(p, &a, 1, 3, 5000000000ull), 0);
	CHECK_INT(profile__add_at(p, &b, 1, 1, 5000000000ull), 0);
	CHECK_INT(profile__add_at(p, &a, 1, 1, 7000000000ull), 0);
	CHECK_INT(profile__add_at(p, &b, 1, 1, 9000000000ull), 0);
	got = unit__write(p, OUT_TRACE, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	n = x_events(got, ev, 16);
	CHECK_INT(n, 4);
	CHECK(has_x(ev, n, "a", 0, 1500000));
	CHECK(has_x(ev, n, "b", 1500000, 500000));
	CHECK(has_x(ev, n, "a", 2000000, 2000000));
	CHECK(has_x(ev, n, "b", 4000000, 2000000));
	/* No thread frame: one track for all. */
	CHECK(strstr(got, "\"args\":{\"name\":\"all threads\"}") != NULL);
	free(got);
	profile__free(p);
}
