// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Tests of the timeline in src/lib/profile.c: profile__add_at() and its cap. */
#include "unit.h"

#include "fixture.h"

#include "lib/profile.h"

#include <stdint.h>
#include <stdlib.h>

static uint32_t frame(struct profile *p, const char *name)
{
	return (uint32_t)profile__frame(p, PF_PYTHON,
					profile__intern_str(p, name),
					profile__intern_str(p, "f.py"), 1);
}

TEST(profile_add_at_records_events)
{
	struct profile *p = profile__new();
	uint32_t a, b, s1[2], s2[1];
	const struct ptime_event *e;
	uint64_t de, ds, dt;

	REQUIRE(p);
	a = frame(p, "a");
	b = frame(p, "b");
	s1[0] = a;
	s1[1] = b;
	s2[0] = b;
	CHECK_INT(profile__nevents(p), 0);
	CHECK_INT(profile__timeline_origin(p), 0);
	profile__set_timeline_origin(p, 500);
	CHECK_INT(profile__timeline_origin(p), 500);

	CHECK_INT(profile__add_at(p, s1, 2, 3, 1000), 0);
	CHECK_INT(profile__add_at(p, s2, 1, 4, 1000), 0);
	CHECK_INT(profile__add_at(p, s2, 1, 1, 1000), 0); /* merged */
	CHECK_INT(profile__add_at(p, s1, 2, 2, 2000), 0);
	CHECK_INT(profile__add_at(p, s1, 2, 0, 3000), 0); /* no samples */
	CHECK_INT(profile__add_at(p, s2, 1, 6, 1500), 0); /* clamped to 2000 */

	/* It adds like profile__add. */
	CHECK_INT(profile__nstacks(p), 2);
	CHECK_INT(profile__total(p), 16);

	CHECK_INT(profile__nevents(p), 4);
	e = profile__event(p, 0);
	REQUIRE(e);
	CHECK_INT(e->stack, 0);
	CHECK_INT(e->t_ns, 1000);
	CHECK_INT(e->count, 3);
	e = profile__event(p, 1);
	CHECK_INT(e->stack, 1);
	CHECK_INT(e->count, 5);
	e = profile__event(p, 2);
	CHECK_INT(e->stack, 0);
	CHECK_INT(e->t_ns, 2000);
	e = profile__event(p, 3);
	CHECK_INT(e->stack, 1);
	CHECK_INT(e->t_ns, 2000); /* never before the latest time */
	CHECK_INT(e->count, 6);
	CHECK(profile__event(p, 4) == NULL);

	profile__timeline_dropped(p, &de, &ds, &dt);
	CHECK_INT(de, 0);
	CHECK_INT(ds, 0);
	CHECK_INT(dt, 0);
	profile__free(p);
}

TEST(profile_add_at_cap_counts_what_it_drops)
{
	struct profile *p = profile__new();
	uint32_t a;
	uint64_t de, ds, dt;

	REQUIRE(p);
	a = frame(p, "a");
	profile__set_timeline_max(p, 3);
	for (uint64_t t = 1; t <= 10; t++)
		CHECK_INT(profile__add_at(p, &a, 1, t, t * 100), 0);
	CHECK_INT(profile__nevents(p), 3);
	CHECK_INT(profile__total(p), 55); /* every sample still counts */
	profile__timeline_dropped(p, &de, &ds, &dt);
	CHECK_INT(de, 7);
	CHECK_INT(ds, 4 + 5 + 6 + 7 + 8 + 9 + 10);
	CHECK_INT(dt, 400);
	profile__free(p);
}

TEST(profile_default_cap_is_bounded)
{
	CHECK(PROFILE_TIMELINE_MAX >= 1u << 16);
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
		sum += profile__event(b, i)->count;
	CHECK_INT(sum, profile__total(b)); /* everything on the timeline */
	CHECK_INT(profile__timeline_origin(b), UNIT_T0);
	profile__free(a);
	profile__free(b);
}
