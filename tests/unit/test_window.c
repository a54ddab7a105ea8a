// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The agent's rolling window (src/serve/window.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/folded.h"
#include "out/in_folded.h"
#include "serve/window.h"
#include "unit.h"

/* A profile from folded text. */
static struct profile *folded(const char *text)
{
	struct profile *p = profile__new();
	char err[256];
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	if (!p || !f || in_folded__read(p, NULL, f, "test", err, sizeof(err))) {
		fprintf(stderr, "folded: %s\n", err);
		abort();
	}
	fclose(f);
	return p;
}

static int push(struct window *w, const char *text, double t)
{
	struct profile *p = folded(text);
	struct window_interval in = {
		.t_end = t,
		.duration = 1,
		.taken = profile__total(p) + 1,
		.lost = 1,
		.processes = 1,
	};
	int rc = window__push(w, p, &in);

	profile__free(p);
	return rc;
}

/* The folded text of a query's answer (a static buffer). */
static const char *answer(struct window *w, const struct window_query *q,
			  struct window_result *r)
{
	static char buf[8192];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	buf[0] = '\0';
	if (window__query(w, q, r))
		return "(error)";
	f = open_memstream(&text, &len);
	out_folded__write(r->prof, f);
	fclose(f);
	snprintf(buf, sizeof(buf), "%s", text);
	free(text);
	profile__free(r->prof);
	r->prof = NULL;
	return buf;
}

static struct window *new_window(unsigned slots, size_t max_stacks)
{
	struct window_opts o = { .slots = slots,
				 .max_stacks = max_stacks,
				 .max_entries = 1000 };

	return window__new(&o);
}

TEST(window_ranges)
{
	struct window *w = new_window(3, 100);
	struct window_result r;
	struct window_query q = { .kind = WINDOW_LAST, .seconds = 2 };

	REQUIRE(w);
	CHECK_INT(window__seq(w), 0);
	CHECK_INT(push(w, "py-1;Main;a (x.py:1) 5\n", 101), 0);
	CHECK_INT(push(w, "py-1;Main;b (x.py:2) 3\n", 102), 0);
	CHECK_INT(push(w, "py-1;Main;a (x.py:1) 2\npy-1;Main;b (x.py:2) 1\n",
		       103),
		  0);
	CHECK_STR(answer(w, &q, &r),
		  "py-1;Main;a (x.py:1) 2\npy-1;Main;b (x.py:2) 4\n");
	CHECK_INT(r.samples, 6);
	CHECK_INT(r.first_seq, 2);
	CHECK_INT(r.last_seq, 3);
	CHECK(r.start == 101 && r.duration == 2);
	CHECK_INT(r.taken, 8);
	CHECK_INT(r.lost, 2);

	/* The fourth interval pushes the first out of the window, not out of
	 * the totals. */
	CHECK_INT(push(w, "py-1;Main;c (x.py:3) 7\n", 104), 0);
	q.seconds = 600;
	CHECK_STR(answer(w, &q, &r),
		  "py-1;Main;a (x.py:1) 2\npy-1;Main;b (x.py:2) 4\n"
		  "py-1;Main;c (x.py:3) 7\n");
	CHECK(r.duration == 3);
	q.kind = WINDOW_ALL;
	CHECK_STR(answer(w, &q, &r),
		  "py-1;Main;a (x.py:1) 7\npy-1;Main;b (x.py:2) 4\n"
		  "py-1;Main;c (x.py:3) 7\n");
	CHECK(r.start == 100 && r.duration == 4);
	CHECK_INT(r.samples, 18);
	q.kind = WINDOW_SLOT;
	q.seq = 3;
	CHECK_STR(answer(w, &q, &r),
		  "py-1;Main;a (x.py:1) 2\npy-1;Main;b (x.py:2) 1\n");
	q.seq = 1;
	CHECK_INT(window__query(w, &q, &r), -ENOENT);
	q.seq = 5;
	CHECK_INT(window__query(w, &q, &r), -ENOENT);
	window__free(w);
}

TEST(window_filters_and_cap)
{
	struct window *w = new_window(10, 100);
	struct window_result r;
	struct window_query q = { .kind = WINDOW_ALL, .pid = 2 };

	REQUIRE(w);
	push(w,
	     "py-1;Main;a (x.py:1) 5\nworker-2;Main;b (y.py:2) 3\n"
	     "worker-2;T;c (y.py:3) 1\nworker-3;Main;b (y.py:2) 4\n",
	     1);
	CHECK_STR(answer(w, &q, &r),
		  "worker-2;Main;b (y.py:2) 3\nworker-2;T;c (y.py:3) 1\n");
	q.pid = 0;
	q.comm = "worker";
	answer(w, &q, &r);
	CHECK_INT(r.samples, 8);
	q.comm = "nope";
	CHECK_STR(answer(w, &q, &r), "");
	/* Capped at 2 stacks: the largest stay, the rest merge per process. */
	q.comm = NULL;
	q.max_stacks = 2;
	CHECK_STR(answer(w, &q, &r), "py-1;Main;a (x.py:1) 5\n"
				     "worker-2;[smaller stacks merged] 4\n"
				     "worker-3;Main;b (y.py:2) 4\n");
	CHECK_INT(r.merged, 2);
	window__free(w);
}

/* 30 short-lived processes, one interval each, into a window of 2. */
static struct window *churn(size_t max_stacks)
{
	struct window *w = new_window(2, max_stacks);
	char line[128];

	for (int i = 0; w && i < 30; i++) {
		snprintf(line, sizeof(line), "py-%d;Main;f (x.py:%d) 2\n",
			 100 + i, i % 3);
		CHECK_INT(push(w, line, i + 1), 0);
	}
	return w;
}

/* An agent under churn for hours: what its window holds stops growing once
 * its stack budget is reached, however many processes come and go. */
TEST(window_memory_is_bounded_under_churn)
{
	struct window *w = new_window(4, 20);
	struct window_stats st;
	size_t early = 0, late = 0;
	char line[160];

	REQUIRE(w);
	for (int i = 0; i < 3000; i++) {
		snprintf(line, sizeof(line),
			 "python3-%d;Thread-%d;main (app.py:%d);f%d (x.py:%d) 2\n",
			 1000 + i, i, i % 50, i % 7, i % 11);
		CHECK_INT(push(w, line, i + 1), 0);
		window__stats(w, &st);
		if (i < 300 && st.bytes > early)
			early = st.bytes;
		if (i >= 300 && st.bytes > late)
			late = st.bytes;
	}
	CHECK(st.stacks <= 2 * 20 + 1);
	CHECK(early > 0);
	/* Arrays grow by doubling: bounded means no more than that. */
	CHECK(late <= 2 * early);
	CHECK_INT(st.samples, 6000);
	window__free(w);
}

/* Deep stacks (a test suite's, 100 frames) of processes that come and go:
 * their number stays far under max_stacks, but their frames count against
 * max_frame_ids, and what is kept of them stops growing. */
TEST(window_frames_are_bounded_however_deep)
{
	struct window_opts o = { .slots = 2,
				 .max_stacks = 1000,
				 .max_frame_ids = 2000,
				 .max_entries = 1000 };
	struct window *w = window__new(&o);
	struct window_query q = { .kind = WINDOW_ALL };
	struct window_result r;
	struct window_stats st;
	size_t early = 0, late = 0;
	char *line = malloc(8192);
	int len;

	REQUIRE(w && line);
	for (int i = 0; i < 400; i++) {
		len = snprintf(line, 8192, "python3-%d;MainThread", 1000 + i);
		for (int d = 0; d < 100; d++)
			len += snprintf(line + len, 8192 - (size_t)len,
					";f%d (x.py:%d)", d, i);
		snprintf(line + len, 8192 - (size_t)len, " 3\n");
		CHECK_INT(push(w, line, i + 1), 0);
		window__stats(w, &st);
		if (i < 60 && st.bytes > early)
			early = st.bytes;
		if (i >= 60 && st.bytes > late)
			late = st.bytes;
	}
	window__stats(w, &st);
	CHECK(st.compactions > 0);
	CHECK(st.stacks < 100);
	CHECK(early > 0);
	CHECK(late <= 2 * early);
	/* The frames of stacks merged are not kept either: what is left is
	 * the budget's, the window's (2 intervals) and the processes'. */
	CHECK(st.frames <= 2000 + 2 * 101 + 400);
	/* Every sample still counted, most of them merged. */
	answer(w, &q, &r);
	CHECK_INT(r.samples, 1200);
	CHECK_INT(st.samples, 1200);
	/* An answer bounded in frames: the two most sampled stacks whole (102
	 * frames each), the rest merged into their process, every sample
	 * kept; none of the merged stacks' frames in it. */
	q.max_frames = 250;
	REQUIRE(window__query(w, &q, &r) == 0);
	CHECK_INT(r.samples, 1200);
	CHECK(r.merged > 0);
	CHECK(profile__frame_ids(r.prof) <= 250 + 2 * r.merged);
	CHECK(profile__nframes(r.prof) <= 2 * 102 + 2 * r.merged + 1);
	profile__free(r.prof);
	free(line);
	window__free(w);
}

TEST(window_compaction_merges_gone_processes)
{
	struct window *w = churn(5);
	struct window_stats st;
	struct window_result r;
	struct window_query q = { .kind = WINDOW_ALL };

	REQUIRE(w);
	window__stats(w, &st);
	CHECK(st.compactions > 0);
	CHECK(st.stacks <= 2 * 5 + 1);
	CHECK_INT(st.samples, 60);
	/* Exact totals: the processes that left the window as "py-*". */
	CHECK_STR(answer(w, &q, &r),
		  "py-*;Main;f (x.py:0) 20\npy-*;Main;f (x.py:1) 18\n"
		  "py-*;Main;f (x.py:2) 18\npy-128;Main;f (x.py:1) 2\n"
		  "py-129;Main;f (x.py:2) 2\n");
	/* The window stays exact. */
	q.kind = WINDOW_LAST;
	q.seconds = 2;
	CHECK_STR(answer(w, &q, &r),
		  "py-128;Main;f (x.py:1) 2\npy-129;Main;f (x.py:2) 2\n");
	/* A filter by command name finds the merged ones too. */
	q.kind = WINDOW_ALL;
	q.comm = "py";
	answer(w, &q, &r);
	CHECK_INT(r.samples, 60);
	window__free(w);

	/* Fewer stacks allowed than there are: the smallest merge, the
	 * totals stay exact. */
	w = churn(3);
	REQUIRE(w);
	window__stats(w, &st);
	CHECK(st.stacks <= 2 * 3 + 1);
	q.comm = NULL;
	CHECK(strstr(answer(w, &q, &r), "py-*;Main;[smaller stacks merged] ") !=
	      NULL);
	CHECK_INT(r.samples, 60);
	window__free(w);
}

/* Short processes, each with a start-up stack no other had (importlib at
 * another line) and the same main(): the totals keep their own share of
 * stacks, the smallest merged under their process and thread, and the
 * dictionary levels off long before max_stacks. */
TEST(window_old_stacks_level_off)
{
	struct window_opts o = { .slots = 2,
				 .max_stacks = 1000,
				 .max_entries = 1000,
				 .max_old_stacks = 10 };
	struct window *w = window__new(&o);
	struct window_query q = { .kind = WINDOW_ALL };
	struct window_result r;
	struct window_stats st;
	const char *text;
	size_t mid = 0;
	char line[200];

	REQUIRE(w);
	for (int i = 0; i < 600; i++) {
		snprintf(line, sizeof(line),
			 "py-%d;MainThread;main (app.py:9) 5\n"
			 "py-%d;MainThread;_load (boot.py:%d) %d\n",
			 1000 + i, 1000 + i, i, 1 + (i == 7));
		CHECK_INT(push(w, line, i + 1), 0);
		window__stats(w, &st);
		/* The window's 2 intervals and one more since the last
		 * compaction (2 stacks each), the budget, the merged stack
		 * and the over-limit marker. */
		CHECK(st.stacks <= 3 * 2 + 10 + 1 + 1);
		if (i == 299)
			mid = st.bytes;
	}
	CHECK(st.bytes <= mid);
	/* Exact totals: the one start-up stack sampled twice is kept, with
	 * main's and the newest; the older ones, one sample each, merged
	 * under their thread. */
	text = answer(w, &q, &r);
	CHECK(strstr(text, "py-*;MainThread;main (app.py:9) 2990\n") != NULL);
	CHECK(strstr(text, "py-*;MainThread;_load (boot.py:7) 2\n") != NULL);
	CHECK(strstr(text, "py-*;MainThread;[smaller stacks merged] 589\n") !=
	      NULL);
	CHECK_INT(st.samples, 600 * 6 + 1);
	window__free(w);
}

TEST(window_merges_numbered_threads)
{
	struct window *w = new_window(2, 100);
	struct window_result r;
	struct window_query q = { .kind = WINDOW_ALL };
	char line[160];

	REQUIRE(w);
	/* One process whose short threads are numbered as they come. */
	for (int i = 0; i < 20; i++) {
		snprintf(line, sizeof(line),
			 "py-7;Thread-%d (work);work (x.py:3) 1\n"
			 "py-7;MainThread;main (x.py:9) 1\n",
			 i + 1);
		CHECK_INT(push(w, line, i + 1), 0);
	}
	CHECK_STR(answer(w, &q, &r), "py-7;MainThread;main (x.py:9) 20\n"
				     "py-7;Thread-* (work);work (x.py:3) 18\n"
				     "py-7;Thread-19 (work);work (x.py:3) 1\n"
				     "py-7;Thread-20 (work);work (x.py:3) 1\n");
	window__free(w);
}

TEST(window_bounds)
{
	struct window_opts o = { .slots = 100,
				 .max_stacks = 2,
				 .max_entries = 4 };
	struct window *w = window__new(&o);
	struct window_stats st;
	struct window_result r;
	struct window_query q = { .kind = WINDOW_ALL };

	REQUIRE(w);
	/* 3 entries each: the second interval pushes the first out early. */
	push(w, "a-1;m;x 1\na-1;m;y 1\na-1;m;z 1\n", 1);
	push(w, "a-1;m;x 1\na-1;m;y 1\na-1;m;w 1\n", 2);
	window__stats(w, &st);
	CHECK_INT(st.slots, 1);
	CHECK_INT(st.early, 1);
	CHECK(st.entries <= 4);
	/* Past twice max_stacks new stacks count under one marker stack. */
	push(w, "a-1;m;p 1\na-1;m;q 1\na-1;m;r 1\na-1;m;s 1\n", 3);
	window__stats(w, &st);
	CHECK(st.over_limit > 0);
	answer(w, &q, &r);
	CHECK_INT(r.samples, 10);
	CHECK_INT(st.samples, 10);
	window__free(w);

	o.slots = 0;
	CHECK(window__new(&o) == NULL);
}

TEST(window_split_process)
{
	char comm[16];
	pid_t pid;

	window__split_process("python3-4242", comm, sizeof(comm), &pid);
	CHECK_STR(comm, "python3");
	CHECK_INT(pid, 4242);
	window__split_process("my-app-7", comm, sizeof(comm), &pid);
	CHECK_STR(comm, "my-app");
	CHECK_INT(pid, 7);
	window__split_process("python3-*", comm, sizeof(comm), &pid);
	CHECK_STR(comm, "python3");
	CHECK_INT(pid, 0);
	window__split_process("gunicorn", comm, sizeof(comm), &pid);
	CHECK_STR(comm, "gunicorn");
	CHECK_INT(pid, 0);
	window__split_process("x-99999999999", comm, sizeof(comm), &pid);
	CHECK_STR(comm, "x-99999999999");
	CHECK_INT(pid, 0);
	window__split_process("a-very-long-command-name-1", comm, 8, &pid);
	CHECK_STR(comm, "a-very-");
	CHECK_INT(pid, 1);
}
