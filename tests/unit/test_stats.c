// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The BPF counters' table (PYPROF_STATS) and how the summary prints it. */
#include "unit.h"

#include <stdlib.h>

#include "sampler/stats.h"

/* What stats__print writes, as a string the caller frees. */
static char *printed(const uint64_t *s, enum stat_show where, const char *lead,
		     int *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	*n = stats__print(f, s, where, lead);
	fclose(f);
	return buf;
}

TEST(stats_table_is_whole)
{
	for (unsigned i = 0; i < STAT__MAX; i++) {
		REQUIRE(stats__name(i) && stats__desc(i));
		CHECK(stats__name(i)[0] && stats__desc(i)[0]);
		CHECK(stats__show(i) <= STAT_SHOW_OWN);
		for (unsigned j = 0; j < i; j++) {
			CHECK(strcmp(stats__name(i), stats__name(j)) != 0);
			CHECK(strcmp(stats__desc(i), stats__desc(j)) != 0);
		}
	}
	CHECK(stats__name(STAT__MAX) == NULL);
	CHECK_STR(stats__name(STAT_NO_TSTATE), "no_tstate");
	CHECK_INT(stats__show(STAT_NO_TSTATE), STAT_SHOW_UNRESOLVED);
}

/* A healthy run's summary reads as it always has: the established causes,
 * zero, and none of the others. */
TEST(stats_print_healthy)
{
	uint64_t s[STAT__MAX] = { [STAT_SAMPLES] = 10, [STAT_PY_FULL] = 10 };
	char *out;
	int n;

	out = printed(s, STAT_SHOW_UNRESOLVED, "; unresolved: ", &n);
	REQUIRE(out);
	CHECK_STR(out, "; unresolved: no thread state 0, no frame 0, "
		       "interpreter unreadable 0, bad config 0, exiting 0");
	CHECK_INT(n, 5);
	free(out);
	out = printed(s, STAT_SHOW_FAILED, "failures: ", &n);
	REQUIRE(out);
	CHECK_STR(out, "");
	CHECK_INT(n, 0);
	free(out);
	CHECK_INT(stats__lost(s), 0);
}

/* Every failure that happened is named, by its description. */
TEST(stats_print_failures)
{
	uint64_t s[STAT__MAX] = {
		[STAT_ERR_FRAME] = 3,	    [STAT_ERR_TSTATE_LIST] = 2,
		[STAT_LOST_STACKS] = 4,	    [STAT_ERR_SCRATCH] = 1,
		[STAT_FORK_UNFOLLOWED] = 5, [STAT_KSTACK_UNREAD] = 6,
	};
	char *out;
	int n;

	out = printed(s, STAT_SHOW_UNRESOLVED, "", &n);
	REQUIRE(out);
	CHECK_STR(out, "no thread state 0, thread list unreadable 2, "
		       "no frame 0, current frame unreadable 3, "
		       "interpreter unreadable 0, bad config 0, exiting 0");
	free(out);
	out = printed(s, STAT_SHOW_LOST, " (", &n);
	REQUIRE(out);
	CHECK_STR(out, " (counts map full 0, stacks map full 4, "
		       "no per-CPU scratch 1");
	free(out);
	CHECK_INT(stats__lost(s), 5);
	out = printed(s, STAT_SHOW_FAILED, "failures: ", &n);
	REQUIRE(out);
	CHECK_STR(out, "failures: forks not followed (follow map full) 5, "
		       "--native --kernel: kernel stacks unreadable 6");
	CHECK_INT(n, 2);
	free(out);
}
