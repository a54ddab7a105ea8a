// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of the timeline in src/lib/profile.c (issue 21): timed samples
 * and off-CPU spans, runs of one stack kept as one event, the cap and
 * what it drops.
 */
#include "unit.h"

#include "fixture.h"

#include "lib/profile.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static size_t stack(struct profile *p, const char *name)
{
	uint32_t f = (uint32_t)profile__frame(p, PF_PYTHON,
					      profile__intern_str(p, name),
					      profile__intern_str(p, "f.py"),
					      1);
	size_t idx = 0;

	CHECK_INT(profile__add_idx(p, &f, 1, 0, &idx), 0);
	return idx;
}

TEST(profile_timeline_runs_and_spans)
{
	struct profile *p = profile__new();
	const struct ptime_event *e;
	uint64_t ds, dp, dt;
	size_t a, b;

	REQUIRE(p);
	a = stack(p, "a");
	b = stack(p, "b");
	CHECK_INT(profile__nevents(p), 0);
	CHECK_INT(profile__timeline_origin(p), 0);
	profile__set_timeline_origin(p, 500);
	CHECK_INT(profile__timeline_origin(p), 500);

	/* Thread 1: a a a (one run), b, a after a sleep (a new run). */
	CHECK_INT(profile__time_sample(p, a, 1, 1000, false), 0);
	CHECK_INT(profile__time_sample(p, a, 1, 2000, false), 0);
	/* Thread 2 between them does not break thread 1's run. */
	CHECK_INT(profile__time_sample(p, a, 2, 2500, false), 0);
	CHECK_INT(profile__time_sample(p, a, 1, 3000, false), 0);
	CHECK_INT(profile__time_sample(p, b, 1, 4000, false), 0);
	CHECK_INT(profile__time_sample(p, b, 1, 9000, true), 0);
	/* Thread 2: a span in two pieces (a flush, then the wake-up) is
	 * one event; another span of the same stack later is another. */
	CHECK_INT(profile__time_span(p, b, 2, 3000, 5000), 0);
	CHECK_INT(profile__time_span(p, b, 2, 5000, 7000), 0);
	CHECK_INT(profile__time_span(p, b, 2, 8000, 8500), 0);
	/* A sample of the span's stack after it is not part of it. */
	CHECK_INT(profile__time_sample(p, b, 2, 8600, false), 0);
	CHECK_INT(profile__time_sample(p, 99, 2, 8700, false), -EINVAL);

	/* Timing adds no samples: the counts come from profile__add. */
	CHECK_INT(profile__total(p), 0);
	CHECK_INT(profile__nevents(p), 7);
	e = profile__event(p, 0);
	REQUIRE(e);
	CHECK_INT(e->stack, a);
	CHECK_INT(e->tid, 1);
	CHECK_INT(e->start_ns, 1000);
	CHECK_INT(e->last_ns, 3000);
	CHECK_INT(e->samples, 3);
	CHECK_INT(e->flags, 0);
	e = profile__event(p, 1); /* thread 2's a */
	CHECK_INT(e->tid, 2);
	CHECK_INT(e->samples, 1);
	e = profile__event(p, 2); /* thread 1's first b */
	CHECK_INT(e->stack, b);
	CHECK_INT(e->start_ns, 4000);
	CHECK_INT(e->flags, 0);
	e = profile__event(p, 3); /* b after the sleep */
	CHECK_INT(e->tid, 1);
	CHECK_INT(e->start_ns, 9000);
	CHECK_INT(e->flags, PTIME_SLEPT);
	e = profile__event(p, 4); /* the span, joined */
	CHECK_INT(e->flags, PTIME_SPAN);
	CHECK_INT(e->start_ns, 3000);
	CHECK_INT(e->last_ns, 7000);
	CHECK_INT(e->samples, 0);
	e = profile__event(p, 5);
	CHECK_INT(e->flags, PTIME_SPAN);
	CHECK_INT(e->start_ns, 8000);
	CHECK_INT(e->last_ns, 8500);
	e = profile__event(p, 6);
	CHECK_INT(e->flags, 0);
	CHECK_INT(e->start_ns, 8600);
	CHECK(profile__event(p, 7) == NULL);

	profile__timeline_dropped(p, &ds, &dp, &dt);
	CHECK_INT(ds, 0);
	CHECK_INT(dp, 0);
	CHECK_INT(dt, 0);
	profile__free(p);
}

/* At the cap the timeline stops for every thread: no event grows either,
 * and what is dropped is counted from the first time it happened. */
TEST(profile_timeline_cap_counts_what_it_drops)
{
	struct profile *p = profile__new();
	uint64_t ds, dp, dt;
	size_t a, b;

	REQUIRE(p);
	a = stack(p, "a");
	b = stack(p, "b");
	profile__set_timeline_max(p, 2);
	CHECK_INT(profile__time_sample(p, a, 1, 100, false), 0);
	CHECK_INT(profile__time_sample(p, b, 1, 200, false), 0);
	CHECK_INT(profile__time_sample(p, a, 1, 300, false), 0); /* dropped */
	CHECK_INT(profile__time_sample(p, b, 1, 400, false), 0); /* too */
	CHECK_INT(profile__time_span(p, b, 2, 450, 500), 0);
	CHECK_INT(profile__nevents(p), 2);
	CHECK_INT(profile__event(p, 1)->last_ns, 200);
	profile__timeline_dropped(p, &ds, &dp, &dt);
	CHECK_INT(ds, 2);
	CHECK_INT(dp, 1);
	CHECK_INT(dt, 300);
	profile__free(p);
}

TEST(profile_timeline_bound_is_documented)
{
	CHECK(PROFILE_TIMELINE_MAX >= 1u << 16);
	CHECK_INT(sizeof(struct ptime_event), 32);
	CHECK((uint64_t)PROFILE_TIMELINE_MAX * sizeof(struct ptime_event) <=
	      64ull << 20);
}

TEST(profile_basic_timeline_matches_basic_profile)
{
	struct profile *a = unit__basic_profile(), *b = unit__basic_timeline();
	uint64_t sum = 0;

	REQUIRE(a && b);
	CHECK_INT(profile__total(a), profile__total(b));
	CHECK_INT(profile__nstacks(a), profile__nstacks(b));
	for (size_t i = 0; i < profile__nevents(b); i++)
		sum += profile__event(b, i)->samples;
	/* At most 20 timed samples a stack, and 2 after. */
	CHECK_INT(sum, 10 + 3 + 2 + 1 + 4 + 5 + 6 + 7 + 8 + 20 + 1 + 2 + 9 +
			       20 + 1 + 1);
	CHECK_INT(profile__timeline_origin(b), UNIT_T0);
	profile__free(a);
	profile__free(b);
}
