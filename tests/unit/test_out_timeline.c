// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of the timeline writers (issue 21): the lanes they share
 * (src/out/lanes.c: where each event starts and ends, the boxes), the
 * gecko file against tests/fixtures/golden/basic.gecko.json (loaded in
 * speedscope by tests/test_timeline.py), and the HTML report's timeline:
 * well-formed, one file, and a report of 100k samples for
 * tests/test_timeline.py to open in Chromium.
 */
#include "unit.h"

#include "fixture.h"

#include "lib/profile.h"
#include "out/lanes.h"
#include "out/output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ull
#define PERIOD 10000000ull /* 100 Hz */

static uint32_t fr(struct profile *p, const char *name)
{
	return (uint32_t)profile__frame(p, PF_PYTHON,
					profile__intern_str(p, name),
					profile__intern_str(p, "t.py"), 1);
}

static size_t stk(struct profile *p, const uint32_t *f, uint32_t n)
{
	size_t idx = 0;

	CHECK_INT(profile__add_idx(p, f, n, 1, &idx), 0);
	return idx;
}

/* One thread: a a (run) b, a sleep, b again; then a span, a sample. */
TEST(lanes_place_events)
{
	struct profile *p = profile__new();
	uint32_t proc, thr, a, b, m;
	size_t sa, sb, sm;
	struct lanes l;
	struct lane_box *bx;
	size_t n;

	REQUIRE(p);
	proc = (uint32_t)profile__frame(
		p, PF_PROCESS, profile__intern_str(p, "python3-7"), 0, -1);
	thr = (uint32_t)profile__frame(
		p, PF_THREAD, profile__intern_str(p, "MainThread"), 0, -1);
	a = fr(p, "a");
	b = fr(p, "b");
	m = (uint32_t)profile__frame(p, PF_MARKER,
				     profile__intern_str(p, "[off-cpu: sleep]"),
				     0, -1);
	sa = stk(p, (uint32_t[]){ proc, thr, a }, 3);
	sb = stk(p, (uint32_t[]){ proc, thr, a, b }, 4);
	sm = stk(p, (uint32_t[]){ proc, thr, a, m }, 4);
	profile__set_timeline_origin(p, 1000 * MS);
	CHECK_INT(profile__time_sample(p, sa, 7, 1000 * MS, false), 0);
	CHECK_INT(profile__time_sample(p, sa, 7, 1010 * MS, false), 0);
	CHECK_INT(profile__time_sample(p, sb, 7, 1020 * MS, false), 0);
	/* Slept for 100 ms: b's box ended a period after its sample. */
	CHECK_INT(profile__time_sample(p, sb, 7, 1130 * MS, true), 0);
	/* Slept under a span: a sample ends where the span begins (within
	 * a period), and what follows starts where it ends. */
	CHECK_INT(profile__time_span(p, sm, 7, 1135 * MS, 1200 * MS), 0);
	CHECK_INT(profile__time_sample(p, sa, 7, 1206 * MS, true), 0);
	REQUIRE(lanes__build(&l, p, 100) == 0);
	CHECK_INT(l.nlanes, 1);
	CHECK_INT(l.lane[0].tid, 7);
	CHECK_INT(l.lane[0].pid, 7);
	CHECK_INT(l.nev, 5);
	CHECK_INT(l.t0, 1000 * MS);
	CHECK_INT(l.period, PERIOD);
	CHECK_INT(l.ev[0].start, 1000 * MS); /* a a: one run */
	CHECK_INT(l.ev[0].end, 1020 * MS);
	CHECK_INT(l.ev[0].samples, 2);
	CHECK_INT(l.ev[1].end, 1030 * MS); /* then it slept */
	CHECK_INT(l.ev[2].start, 1130 * MS);
	CHECK_INT(l.ev[2].end, 1135 * MS); /* the span begins */
	CHECK(l.ev[3].span);
	CHECK_INT(l.ev[3].samples, 7); /* 65 ms in 10 ms periods */
	CHECK_INT(l.ev[4].start, 1200 * MS); /* back where the span ends */
	CHECK(l.ev[4].joined);
	CHECK_INT(l.ev[4].end, 1216 * MS);
	CHECK_INT(l.t1, 1216 * MS);

	/* Boxes: a from 1000 to 1030, then (after the gap) from 1130 to
	 * the end; b twice; the span's marker. */
	REQUIRE(lanes__boxes(&l, p, 0, &bx, &n) == 0);
	CHECK_INT(n, 5);
	CHECK(bx[0].frame == a && bx[0].start == 1000 * MS &&
	      bx[0].end == 1030 * MS && bx[0].depth == 0);
	CHECK(bx[1].frame == b && bx[1].start == 1020 * MS &&
	      bx[1].end == 1030 * MS && bx[1].depth == 1);
	CHECK(bx[2].frame == a && bx[2].start == 1130 * MS &&
	      bx[2].end == 1216 * MS);
	CHECK(bx[3].frame == b && bx[3].start == 1130 * MS &&
	      bx[3].end == 1135 * MS);
	CHECK(bx[4].frame == m && bx[4].start == 1135 * MS &&
	      bx[4].end == 1200 * MS);
	free(bx);
	lanes__free(&l);
	profile__free(p);
}

/* A sleep shorter than a sample can tell is no gap; a function goes on
 * from one line to another (one box). */
TEST(lanes_short_sleep_and_lines)
{
	struct profile *p = profile__new();
	uint32_t a1, a2;
	size_t s1, s2;
	struct lanes l;
	struct lane_box *bx;
	size_t n;

	REQUIRE(p);
	a1 = fr(p, "a");
	a2 = (uint32_t)profile__frame(p, PF_PYTHON, profile__intern_str(p, "a"),
				      profile__intern_str(p, "t.py"), 2);
	s1 = stk(p, &a1, 1);
	s2 = stk(p, &a2, 1);
	CHECK_INT(profile__time_sample(p, s1, 3, 0, false), 0);
	CHECK_INT(profile__time_sample(p, s2, 3, 14 * MS, true), 0);
	CHECK_INT(profile__time_sample(p, s1, 3, 40 * MS, true), 0);
	REQUIRE(lanes__build(&l, p, 100) == 0);
	CHECK_INT(l.ev[0].end, 14 * MS); /* within 1.5 periods */
	CHECK_INT(l.ev[1].end, 24 * MS); /* not */
	REQUIRE(lanes__boxes(&l, p, 0, &bx, &n) == 0);
	CHECK_INT(n, 2);
	CHECK(bx[0].frame == a1 && bx[0].start == 0 && bx[0].end == 24 * MS);
	CHECK(bx[1].start == 40 * MS && bx[1].end == 50 * MS);
	free(bx);
	lanes__free(&l);
	/* No timeline at all. */
	profile__free(p);
	p = profile__new();
	REQUIRE(p);
	CHECK_INT(lanes__build(&l, p, 100), -ENODATA);
	profile__free(p);
}

/* Time a filter left out (the empty stack) ends the box before it and
 * shows nothing: a, [left out], a is two boxes of a. */
TEST(lanes_hidden_time)
{
	struct profile *p = profile__new();
	uint32_t a;
	size_t sa, none;
	struct lanes l;
	struct lane_box *bx;
	size_t n;

	REQUIRE(p);
	a = fr(p, "a");
	sa = stk(p, &a, 1);
	CHECK_INT(profile__add_idx(p, NULL, 0, 0, &none), 0);
	CHECK_INT(profile__time_sample(p, sa, 3, 0, false), 0);
	CHECK_INT(profile__time_sample(p, sa, 3, 10 * MS, false), 0);
	CHECK_INT(profile__time_sample(p, none, 3, 20 * MS, false), 0);
	CHECK_INT(profile__time_sample(p, none, 3, 30 * MS, false), 0);
	CHECK_INT(profile__time_sample(p, sa, 3, 40 * MS, false), 0);
	/* A thread with nothing but left-out time has no lane. */
	CHECK_INT(profile__time_sample(p, none, 4, 0, false), 0);
	REQUIRE(lanes__build(&l, p, 100) == 0);
	CHECK_INT(l.nlanes, 1);
	CHECK_INT(l.nev, 3);
	CHECK(l.ev[1].hidden && l.ev[1].start == 20 * MS &&
	      l.ev[1].end == 40 * MS);
	CHECK_INT(l.lane[0].samples, 3);
	REQUIRE(lanes__boxes(&l, p, 0, &bx, &n) == 0);
	CHECK_INT(n, 2);
	CHECK(bx[0].start == 0 && bx[0].end == 20 * MS);
	CHECK(bx[1].start == 40 * MS && bx[1].end == 50 * MS);
	free(bx);
	lanes__free(&l);
	profile__free(p);
}

TEST(out_gecko_golden_basic)
{
	struct profile *p = unit__basic_timeline();
	char err[256];
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_GECKO, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (!unit__json_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not JSON: %s", err);
	CHECK(unit__utf8_valid(got, len));
	/* The main thread is GeckoMain; a Python frame is its function's
	 * (first line), a marker "in pyprof-bpf"; speedscope's envelope. */
	CHECK(strstr(got, "\"name\":\"GeckoMain\",\"processType\":\"default\","
			  "\"processName\":\"python3-4242\",\"pid\":4242,"
			  "\"tid\":4242") != NULL);
	CHECK(strstr(got, "\"héllo (日本語.py:7)\"") != NULL);
	CHECK(strstr(got, "\"[truncated] (in pyprof-bpf)\"") != NULL);
	CHECK(strstr(got, "\"systemHost\":{\"name\":\"Firefox\"}") != NULL);
	CHECK(strstr(got, "\"version\":24,\"interval\":10.101010") != NULL);
	unit__golden("basic.gecko.json", got, len);
	free(got);
	profile__free(p);
}

/* With a timeline, speedscope gets evented profiles: opens and closes in
 * order, nested. */
TEST(out_speedscope_timeline_is_evented)
{
	struct profile *p = unit__basic_timeline();
	char err[256];
	size_t len;
	int rc, depth = 0, opens = 0;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_SPEEDSCOPE, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (!unit__json_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not JSON: %s", err);
	CHECK(strstr(got, "{\"type\":\"evented\",\"name\":\"MainThread "
			  "(python3-4242)\",\"unit\":\"nanoseconds\","
			  "\"startValue\":0,\"endValue\":3610101010,") != NULL);
	CHECK(strstr(got, "\"type\":\"sampled\"") == NULL);
	for (const char *q = got; (q = strstr(q, "{\"type\":\"")); q++) {
		if (!strncmp(q + 9, "O\"", 2)) {
			depth++;
			opens++;
		} else if (!strncmp(q + 9, "C\"", 2)) {
			CHECK(--depth >= 0);
		} else if (!strncmp(q + 9, "evented", 7)) {
			CHECK_INT(depth, 0);
		}
	}
	CHECK_INT(depth, 0);
	CHECK_INT(opens, 22); /* the trace's boxes */
	free(got);
	profile__free(p);
}

/* Past the bound every timeline writer says what it lacks, from when. */
TEST(out_timeline_bound_is_said)
{
	struct profile *p = profile__new();
	uint32_t a;
	size_t sa;
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	a = fr(p, "a");
	sa = stk(p, &a, 1);
	profile__set_timeline_origin(p, 1000 * MS);
	profile__set_timeline_max(p, 1);
	CHECK_INT(profile__time_sample(p, sa, 5, 1000 * MS, false), 0);
	CHECK_INT(profile__time_sample(p, sa, 5, 1500 * MS, true), 0);
	CHECK_INT(profile__time_span(p, sa, 6, 1600 * MS, 1700 * MS), 0);
	got = unit__write(p, OUT_HTML, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(strstr(got, "The timeline is full from 0.500 s on: 1 later "
			  "samples and 1 off-CPU spans are in the profile but "
			  "not on the timeline.") != NULL);
	free(got);
	got = unit__write(p, OUT_GECKO, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(strstr(got, "\"samples_dropped\":1,\"spans_dropped\":1") != NULL);
	free(got);
	profile__free(p);
}

TEST(out_html_timeline_basic)
{
	struct profile *p = unit__basic_timeline();
	char err[256];
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_HTML, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (!unit__xml_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not well-formed: %s", err);
	CHECK(unit__utf8_valid(got, len));
	CHECK(strstr(got, "<canvas id=\"tl-overview\">") != NULL);
	CHECK(strstr(got, "<script type=\"application/json\" id=\"tl-data\">"
			  "{\"t1\":3610101010,\"period\":10101010,") != NULL);
	/* Names in the data cannot end the script early. */
	CHECK(strstr(got, "\"name\":\"\\u003cmodule\\u003e\"") == NULL);
	CHECK(strstr(got, "[\"\\u003cmodule\\u003e\",\"app.py\",\"python\"]") !=
	      NULL);
	CHECK(strstr(got, "No timeline") == NULL);
	free(got);
	profile__free(p);
}

/*
 * 100k samples on four threads at 999 Hz, each stack 6 to 12 frames deep
 * and changing every few samples: the HTML report that
 * tests/test_timeline.py opens in Chromium.  Written to
 * $PYPROF_TIMELINE_100K when set.
 */
TEST(out_html_timeline_100k)
{
	const char *path = getenv("PYPROF_TIMELINE_100K");
	struct profile *p = profile__new();
	struct out_meta m = { .title = "100k samples", .freq = 999 };
	uint32_t funcs[60], stack[14], threads[4], proc;
	uint64_t t[4] = { 0, 0, 0, 0 }, seed = 42;
	char name[32], err[256];
	size_t len, idx;
	int rc;
	char *got;
	FILE *f;

	REQUIRE(p);
	proc = (uint32_t)profile__frame(
		p, PF_PROCESS, profile__intern_str(p, "python3-9000"), 0, -1);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), i ? "worker-%d" : "MainThread", i);
		threads[i] = (uint32_t)profile__frame(
			p, PF_THREAD, profile__intern_str(p, name), 0, -1);
	}
	for (int i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "func_%02d", i);
		funcs[i] = (uint32_t)profile__frame(
			p, PF_PYTHON, profile__intern_str(p, name),
			profile__intern_str(p, "/srv/big.py"), 10 + i);
	}
	profile__set_timeline_origin(p, 1);
	for (int s = 0; s < 100000; s++) {
		int th = s % 4, depth;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		/* A new stack every 1 to 8 samples of a thread. */
		depth = 6 + (int)((seed >> 33) % 7);
		stack[0] = proc;
		stack[1] = threads[th];
		for (int d = 0; d < depth; d++)
			stack[2 + d] =
				funcs[(d * 7 + (int)((seed >> (40 + d)) % 3) +
				       (s / 4 / ((int)(seed >> 60) + 1))) %
				      60];
		REQUIRE(profile__add_idx(p, stack, (uint32_t)(2 + depth), 1,
					 &idx) == 0);
		t[th] += 1001001;
		REQUIRE(profile__time_sample(p, idx, 9000 + (uint32_t)th, t[th],
					     false) == 0);
	}
	got = unit__write(p, OUT_HTML, &m, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (!unit__xml_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not well-formed: %s", err);
	if (path) {
		f = fopen(path, "w");
		REQUIRE(f);
		CHECK_INT(fwrite(got, 1, len, f), len);
		CHECK_INT(fclose(f), 0);
	}
	free(got);
	profile__free(p);
}
