// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of the live view's figures (src/ui/top_model.c) and its plain-text
 * table (top__snapshot): own and total samples per function and per line,
 * recursion counted once per stack, the thread filter, the call tree,
 * decaying "now" figures, reset, and the caps.
 */
#include "unit.h"

#include "lib/profile.h"
#include "out/in_folded.h"
#include "ui/top.h"
#include "ui/top_model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads folded text into a new profile. */
static struct profile *load(const char *text)
{
	struct profile *p = profile__new();
	char err[256] = "";
	FILE *f;

	if (!p)
		return NULL;
	f = fmemopen((void *)text, strlen(text), "r");
	if (!f || in_folded__read(p, NULL, f, "t.folded", err, sizeof(err))) {
		fprintf(stderr, "load: %s\n", err);
		if (f)
			fclose(f);
		profile__free(p);
		return NULL;
	}
	fclose(f);
	return p;
}

/* The item labelled label in the current table, or NULL. */
static const struct top_item *find(struct top_model *m, bool tree,
				   const char *label)
{
	const struct top_item *items;
	char buf[512];
	size_t n;

	if (top_model__items(m, tree, TOP_SORT_OWN_PCT, false, &items, &n))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		top_model__label(m, &items[i], buf, sizeof(buf), NULL);
		if (strcmp(buf, label) == 0)
			return &items[i];
	}
	return NULL;
}

#define CHECK_ROW(m, tree, label, own_, total_)                         \
	do {                                                            \
		const struct top_item *_it = find(m, tree, label);      \
		if (!_it) {                                             \
			unit__fail(__FILE__, __LINE__, "no row \"%s\"", \
				   label);                              \
			break;                                          \
		}                                                       \
		CHECK_INT(_it->own, own_);                              \
		CHECK_INT(_it->total, total_);                          \
	} while (0)

static const char app[] =
	"python3-100;MainThread;<module> (app.py:30);main (app.py:25);hot (app.py:10) 80\n"
	"python3-100;MainThread;<module> (app.py:30);main (app.py:25);hot (app.py:11) 20\n"
	"python3-100;MainThread;<module> (app.py:30);main (app.py:26);cold (app.py:16) 40\n"
	"python3-100;worker;run (w.py:5);spin (w.py:9) 50\n"
	"python3-100;worker;run (w.py:6);fib (w.py:20);fib (w.py:20);fib (w.py:20) 10\n";

TEST(top_own_total_per_function)
{
	struct profile *p = load(app);
	struct top_model *m = top_model__new();
	uint64_t sum;
	double now;

	REQUIRE(p && m);
	REQUIRE(top_model__update(m, p, 0) == 0);
	top_model__sums(m, &sum, &now);
	CHECK_INT(sum, 200);
	CHECK_ROW(m, false, "hot (app.py)", 100, 100);
	CHECK_ROW(m, false, "cold (app.py)", 40, 40);
	CHECK_ROW(m, false, "main (app.py)", 0, 140);
	CHECK_ROW(m, false, "<module> (app.py)", 0, 140);
	CHECK_ROW(m, false, "spin (w.py)", 50, 50);
	CHECK_ROW(m, false, "run (w.py)", 0, 60);
	/* Three fib frames in one stack: 10 samples, not 30. */
	CHECK_ROW(m, false, "fib (w.py)", 10, 10);
	/* Process and thread frames are not functions. */
	CHECK(!find(m, false, "python3-100"));
	CHECK(!find(m, false, "MainThread"));
	top_model__free(m);
	profile__free(p);
}

TEST(top_own_total_per_line)
{
	struct profile *p = load(app);
	struct top_model *m = top_model__new();

	REQUIRE(p && m);
	top_model__set_by_line(m, true);
	REQUIRE(top_model__update(m, p, 0) == 0);
	CHECK_ROW(m, false, "hot (app.py:10)", 80, 80);
	CHECK_ROW(m, false, "hot (app.py:11)", 20, 20);
	CHECK_ROW(m, false, "main (app.py:25)", 0, 100);
	CHECK_ROW(m, false, "main (app.py:26)", 0, 40);
	CHECK_ROW(m, false, "run (w.py:5)", 0, 50);
	CHECK_ROW(m, false, "fib (w.py:20)", 10, 10);
	CHECK(!find(m, false, "hot (app.py)"));
	/* Back per function, without a new update. */
	top_model__set_by_line(m, false);
	CHECK_ROW(m, false, "hot (app.py)", 100, 100);
	top_model__free(m);
	profile__free(p);
}

TEST(top_recursion_counted_once)
{
	/* Direct and mutual recursion, and a function that is both a leaf
	 * and further up its own stack. */
	struct profile *p = load("p-1;T;a (r.py:1);b (r.py:2);a (r.py:1);"
				 "b (r.py:2);a (r.py:3) 7\n"
				 "p-1;T;a (r.py:1);c (r.py:4) 3\n");
	struct top_model *m = top_model__new();
	const struct top_item *items;
	size_t n;

	REQUIRE(p && m);
	REQUIRE(top_model__update(m, p, 0) == 0);
	CHECK_ROW(m, false, "a (r.py)", 7, 10);
	CHECK_ROW(m, false, "b (r.py)", 0, 7);
	CHECK_ROW(m, false, "c (r.py)", 3, 3);
	/* Per line a (r.py:1) is in both stacks, a (r.py:3) the leaf. */
	top_model__set_by_line(m, true);
	CHECK_ROW(m, false, "a (r.py:1)", 0, 10);
	CHECK_ROW(m, false, "a (r.py:3)", 7, 7);
	/* No total above 100%. */
	REQUIRE(top_model__items(m, false, TOP_SORT_TOTAL, false, &items, &n) ==
		0);
	for (size_t i = 0; i < n; i++)
		CHECK(items[i].total <= 10);
	top_model__free(m);
	profile__free(p);
}

TEST(top_thread_filter)
{
	struct profile *p = load(app);
	struct top_model *m = top_model__new();
	char label[64];
	uint64_t sum;
	double now;

	REQUIRE(p && m);
	REQUIRE(top_model__update(m, p, 0) == 0);
	REQUIRE(top_model__nthreads(m) == 2);
	CHECK_INT(top_model__named_threads(m), 2);
	top_model__thread_label(m, 0, label, sizeof(label));
	CHECK_STR(label, "MainThread");
	top_model__thread_label(m, 1, label, sizeof(label));
	CHECK_STR(label, "worker");

	top_model__set_thread(m, 1);
	CHECK_INT(top_model__thread(m), 1);
	top_model__sums(m, &sum, &now);
	CHECK_INT(sum, 60);
	CHECK_ROW(m, false, "spin (w.py)", 50, 50);
	CHECK_ROW(m, false, "run (w.py)", 0, 60);
	CHECK(!find(m, false, "hot (app.py)"));
	CHECK(!find(m, true, "MainThread"));
	CHECK_ROW(m, true, "worker", 0, 60);

	top_model__set_thread(m, 0);
	top_model__sums(m, &sum, &now);
	CHECK_INT(sum, 140);
	CHECK_ROW(m, false, "hot (app.py)", 100, 100);
	CHECK(!find(m, false, "spin (w.py)"));

	top_model__set_thread(m, 7); /* out of range: all */
	CHECK_INT(top_model__thread(m), TOP_ALL_THREADS);
	top_model__sums(m, &sum, &now);
	CHECK_INT(sum, 200);
	top_model__free(m);
	profile__free(p);
}

TEST(top_threads_of_several_processes)
{
	struct profile *p = load("python3-1;MainThread;f (a.py:1) 5\n"
				 "gunicorn-2;MainThread;g (b.py:1) 3\n"
				 "gunicorn-2;w1;g (b.py:1) 2\n");
	struct top_model *m = top_model__new();
	char label[64];
	uint64_t sum;
	double now;

	REQUIRE(p && m);
	REQUIRE(top_model__update(m, p, 0) == 0);
	REQUIRE(top_model__nthreads(m) == 3);
	top_model__thread_label(m, 0, label, sizeof(label));
	CHECK_STR(label, "python3-1/MainThread");
	top_model__thread_label(m, 1, label, sizeof(label));
	CHECK_STR(label, "gunicorn-2/MainThread");
	top_model__set_thread(m, 1);
	top_model__sums(m, &sum, &now);
	CHECK_INT(sum, 3);
	CHECK_ROW(m, false, "g (b.py)", 3, 3);
	top_model__free(m);
	profile__free(p);
}

TEST(top_no_thread_frames)
{
	/* --no-threads: process, then Python frames; and a plain folded
	 * file with neither. */
	struct profile *p = load("python3-1;f (a.py:1);g (a.py:2) 5\n"
				 "python3-2;f (a.py:1) 1\n"
				 "x;y 4\n");
	struct top_model *m = top_model__new();
	char label[64];

	REQUIRE(p && m);
	REQUIRE(top_model__update(m, p, 0) == 0);
	CHECK_INT(top_model__nthreads(m), 3);
	CHECK_INT(top_model__named_threads(m), 0);
	top_model__thread_label(m, 0, label, sizeof(label));
	CHECK_STR(label, "python3-1");
	top_model__thread_label(m, 2, label, sizeof(label));
	CHECK_STR(label, "[no process frame]");
	CHECK_ROW(m, false, "f (a.py)", 1, 6);
	CHECK_ROW(m, false, "x", 0, 4);
	CHECK_ROW(m, false, "y", 4, 4);
	top_model__free(m);
	profile__free(p);
}

/* The visible tree as "depth:label:own/total" lines. */
static void tree_text(struct top_model *m, enum top_sort sort, char *buf,
		      size_t len)
{
	const struct top_item *items;
	char label[256];
	size_t n, pos = 0;

	buf[0] = '\0';
	if (top_model__items(m, true, sort, false, &items, &n))
		return;
	for (size_t i = 0; i < n && pos < len; i++) {
		top_model__label(m, &items[i], label, sizeof(label), NULL);
		pos += (size_t)snprintf(buf + pos, len - pos,
					"%u:%s%s:%llu/%llu\n", items[i].depth,
					items[i].has_children ?
						(items[i].open ? "-" : "+") :
						"",
					label, (unsigned long long)items[i].own,
					(unsigned long long)items[i].total);
	}
}

TEST(top_call_tree)
{
	struct profile *p = load(app);
	struct top_model *m = top_model__new();
	const struct top_item *fib;
	char got[2048];

	REQUIRE(p && m);
	REQUIRE(top_model__update(m, p, 0) == 0);
	/* Nodes with 10% or more open by default: fib (5%) is closed. */
	tree_text(m, TOP_SORT_TOTAL, got, sizeof(got));
	CHECK_STR(got, "0:-python3-100:0/200\n"
		       "1:-MainThread:0/140\n"
		       "2:-<module> (app.py):0/140\n"
		       "3:-main (app.py):0/140\n"
		       "4:hot (app.py):100/100\n"
		       "4:cold (app.py):40/40\n"
		       "1:-worker:0/60\n"
		       "2:-run (w.py):0/60\n"
		       "3:spin (w.py):50/50\n"
		       "3:+fib (w.py):0/10\n");
	/* Opening fib shows its recursion, one node per level. */
	fib = find(m, true, "fib (w.py)");
	REQUIRE(fib);
	top_model__open(m, fib->id, 1);
	CHECK(top_model__parent(m, fib->id) != TOP_NO_FRAME);
	tree_text(m, TOP_SORT_TOTAL, got, sizeof(got));
	CHECK(strstr(got, "3:-fib (w.py):0/10\n"
			  "4:+fib (w.py):0/10\n") != NULL);
	fib = NULL;
	{
		const struct top_item *items;
		size_t n;

		REQUIRE(top_model__items(m, true, TOP_SORT_TOTAL, false, &items,
					 &n) == 0);
		for (size_t i = 0; i < n; i++)
			if (items[i].depth == 4)
				fib = &items[i];
		REQUIRE(fib);
		top_model__open(m, fib->id, 1);
	}
	tree_text(m, TOP_SORT_TOTAL, got, sizeof(got));
	CHECK(strstr(got, "3:-fib (w.py):0/10\n"
			  "4:-fib (w.py):0/10\n"
			  "5:fib (w.py):10/10\n") != NULL);
	/* Closing the process hides everything under it. */
	top_model__open(m, find(m, true, "python3-100")->id, 0);
	tree_text(m, TOP_SORT_TOTAL, got, sizeof(got));
	CHECK_STR(got, "0:+python3-100:0/200\n");
	CHECK_INT(top_model__parent(m, find(m, true, "python3-100")->id),
		  TOP_NO_FRAME);
	/* Toggle opens it again, the way it was. */
	top_model__open(m, find(m, true, "python3-100")->id, -1);
	tree_text(m, TOP_SORT_OWN, got, sizeof(got));
	CHECK(strstr(got, "0:-python3-100:0/200\n1:-MainThread:0/140\n") ==
	      got);
	/* Per line main:25 and main:26 are two nodes. */
	top_model__set_by_line(m, true);
	tree_text(m, TOP_SORT_TOTAL, got, sizeof(got));
	CHECK(strstr(got, "3:-main (app.py:25):0/100\n"
			  "4:hot (app.py:10):80/80\n"
			  "4:hot (app.py:11):20/20\n"
			  "3:-main (app.py:26):0/40\n") != NULL);
	top_model__free(m);
	profile__free(p);
}

TEST(top_sort_orders)
{
	struct profile *p = load(app);
	struct top_model *m = top_model__new();
	const struct top_item *items;
	char label[256];
	size_t n;

	REQUIRE(p && m);
	REQUIRE(top_model__update(m, p, 0) == 0);
	REQUIRE(top_model__items(m, false, TOP_SORT_OWN_PCT, false, &items,
				 &n) == 0);
	REQUIRE(n == 7);
	top_model__label(m, &items[0], label, sizeof(label), NULL);
	CHECK_STR(label, "hot (app.py)");
	top_model__label(m, &items[1], label, sizeof(label), NULL);
	CHECK_STR(label, "spin (w.py)");
	REQUIRE(top_model__items(m, false, TOP_SORT_TOTAL, false, &items, &n) ==
		0);
	/* Ties (140) go by name. */
	top_model__label(m, &items[0], label, sizeof(label), NULL);
	CHECK_STR(label, "<module> (app.py)");
	top_model__label(m, &items[1], label, sizeof(label), NULL);
	CHECK_STR(label, "main (app.py)");
	REQUIRE(top_model__items(m, false, TOP_SORT_NAME, false, &items, &n) ==
		0);
	top_model__label(m, &items[0], label, sizeof(label), NULL);
	CHECK_STR(label, "<module> (app.py)");
	top_model__label(m, &items[n - 1], label, sizeof(label), NULL);
	CHECK_STR(label, "spin (w.py)");
	top_model__free(m);
	profile__free(p);
}

static uint32_t frame(struct profile *p, enum pframe_kind kind,
		      const char *name, const char *file, int line)
{
	int64_t id = profile__frame(p, kind, profile__intern_str(p, name),
				    file ? profile__intern_str(p, file) : 0,
				    line);

	return id < 0 ? 0 : (uint32_t)id;
}

TEST(top_now_decays_and_reset)
{
	struct profile *p = profile__new();
	struct top_model *m = top_model__new();
	uint32_t a[3], b[3];
	uint64_t sum;
	double now;
	const struct top_item *it;

	REQUIRE(p && m);
	a[0] = b[0] = frame(p, PF_PROCESS, "py-1", NULL, -1);
	a[1] = b[1] = frame(p, PF_THREAD, "MainThread", NULL, -1);
	a[2] = frame(p, PF_PYTHON, "a", "x.py", 1);
	b[2] = frame(p, PF_PYTHON, "b", "x.py", 2);
	REQUIRE(profile__add(p, a, 3, 10) == 0);
	REQUIRE(profile__add(p, b, 3, 10) == 0);
	REQUIRE(top_model__update(m, p, 0.5) == 0);
	/* Second interval: only a runs. */
	REQUIRE(profile__add(p, a, 3, 10) == 0);
	REQUIRE(top_model__update(m, p, 0.5) == 0);
	top_model__sums(m, &sum, &now);
	CHECK_INT(sum, 30);
	CHECK(now == 20.0); /* a: 10 * 0.5 + 10, b: 10 * 0.5 */
	it = find(m, false, "a (x.py)");
	REQUIRE(it);
	CHECK_INT(it->own, 20);
	CHECK(it->own_now == 15.0);
	it = find(m, false, "b (x.py)");
	REQUIRE(it);
	CHECK_INT(it->own, 10);
	CHECK(it->own_now == 5.0);

	top_model__reset(m);
	top_model__sums(m, &sum, &now);
	CHECK_INT(sum, 0);
	CHECK(now == 0.0);
	CHECK(!find(m, false, "a (x.py)"));
	REQUIRE(profile__add(p, b, 3, 4) == 0);
	REQUIRE(top_model__update(m, p, 0.5) == 0);
	top_model__sums(m, &sum, &now);
	CHECK_INT(sum, 4);
	CHECK_ROW(m, false, "b (x.py)", 4, 4);
	CHECK(!find(m, false, "a (x.py)"));

	/* A smaller profile is a new one: counted from scratch. */
	{
		struct profile *q = load("p-2;T;z (z.py:1) 6\n");

		REQUIRE(q);
		REQUIRE(top_model__update(m, q, 0.5) == 0);
		top_model__sums(m, &sum, &now);
		CHECK_INT(sum, 6);
		CHECK_ROW(m, false, "z (z.py)", 6, 6);
		top_model__free(m);
		m = NULL;
		profile__free(q);
	}
	profile__free(p);
}

TEST(top_caps_rows)
{
	struct profile *p = profile__new();
	struct top_model *m = top_model__new();
	const struct top_item *items;
	uint32_t st[3];
	size_t n, nf = TOP_ROWS_MAX + 1000;
	uint64_t other = 0;
	char name[32];

	REQUIRE(p && m);
	st[0] = frame(p, PF_PROCESS, "py-1", NULL, -1);
	st[1] = frame(p, PF_THREAD, "MainThread", NULL, -1);
	/* More distinct functions than rows. */
	for (size_t i = 0; i < nf; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		st[2] = frame(p, PF_PYTHON, name, "x.py", 1);
		REQUIRE(profile__add(p, st, 3, 1) == 0);
	}
	REQUIRE(top_model__update(m, p, 0) == 0);
	REQUIRE(top_model__items(m, false, TOP_SORT_OWN, false, &items, &n) ==
		0);
	/* Row 0 is "[other functions]", so TOP_ROWS_MAX - 1 named rows. */
	CHECK_INT(n, TOP_ROWS_MAX);
	for (size_t i = 0; i < n; i++)
		if (items[i].frame == TOP_NO_FRAME)
			other = items[i].own;
	CHECK_INT(other, nf - (TOP_ROWS_MAX - 1));
	top_model__free(m);
	profile__free(p);
}

TEST(top_caps_tree_nodes)
{
	struct profile *p = profile__new();
	struct top_model *m = top_model__new();
	const struct top_item *items;
	uint32_t st[4], *f;
	size_t n, k = 520; /* k * k + k nodes > TOP_NODES_MAX */
	char name[32];

	REQUIRE(p && m);
	f = calloc(k, sizeof(*f));
	REQUIRE(f);
	st[0] = frame(p, PF_PROCESS, "py-1", NULL, -1);
	st[1] = frame(p, PF_THREAD, "MainThread", NULL, -1);
	for (size_t i = 0; i < k; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		f[i] = frame(p, PF_PYTHON, name, "x.py", 1);
	}
	for (size_t i = 0; i < k; i++) {
		for (size_t j = 0; j < k; j++) {
			st[2] = f[i];
			st[3] = f[j];
			REQUIRE(profile__add(p, st, 4, 1) == 0);
		}
	}
	REQUIRE(top_model__update(m, p, 0) == 0);
	REQUIRE(top_model__items(m, true, TOP_SORT_OWN, false, &items, &n) ==
		0);
	CHECK(top_model__tree_full(m));
	/* Every sample still counts in the nodes that fit. */
	REQUIRE(n >= 1);
	CHECK_INT(items[0].total, k * k);
	/* The flat table is not capped by the tree. */
	CHECK_ROW(m, false, "f0 (x.py)", k, 2 * k - 1);
	free(f);
	top_model__free(m);
	profile__free(p);
}

TEST(top_snapshot_text)
{
	struct profile *p = load(app);
	struct top_header h = { .target = "app.folded" };
	struct top_opts o = { .by_line = true };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	REQUIRE(p);
	f = open_memstream(&buf, &len);
	REQUIRE(f);
	CHECK_INT(top__snapshot(f, p, &h, 3, NULL), 0);
	fclose(f);
	CHECK_STR(buf, "pyprof-bpf: app.folded, 200 samples, 2 threads\n"
		       "  OWN%  TOTAL%      OWN    TOTAL  FUNCTION (FILE)\n"
		       " 50.0%   50.0%      100      100  hot (app.py)\n"
		       " 25.0%   25.0%       50       50  spin (w.py)\n"
		       " 20.0%   20.0%       40       40  cold (app.py)\n"
		       "(4 more)\n"
		       "\n");
	free(buf);

	/* A live header, per line, every row. */
	h = (struct top_header){ .target = "python3 100",
				 .python = "3.12.1",
				 .rate_hz = 99,
				 .samples = 99,
				 .samples_total = 205,
				 .lost = 5,
				 .threads = 2,
				 .has_gil = true,
				 .gil_share = 0.42,
				 .gil_waiting = 0.3 };
	buf = NULL;
	f = open_memstream(&buf, &len);
	REQUIRE(f);
	CHECK_INT(top__snapshot(f, p, &h, 0, &o), 0);
	fclose(f);
	CHECK(strncmp(buf,
		      "pyprof-bpf: python3 100, CPython 3.12.1, 99 Hz, 99 "
		      "samples in the last interval, 205 samples, 5 lost, 2 "
		      "threads, GIL held 42%, waiting 30%\n"
		      "  OWN%  TOTAL%      OWN    TOTAL  FUNCTION (FILE:LINE)\n"
		      " 40.0%   40.0%       80       80  hot (app.py:10)\n",
		      strlen("pyprof-bpf: python3 100, CPython 3.12.1, 99 Hz, "
			     "99 samples in the last interval, 205 samples, "
			     "5 lost, 2 threads, GIL held 42%, waiting 30%\n"
			     "  OWN%  TOTAL%      OWN    TOTAL  FUNCTION "
			     "(FILE:LINE)\n"
			     " 40.0%   40.0%       80       80  hot "
			     "(app.py:10)\n")) == 0);
	/* 10 lines, every one shown, then the empty line. */
	{
		int lines = 0;

		for (const char *s = buf; *s; s++)
			lines += *s == '\n';
		CHECK_INT(lines, 2 + 10 + 1);
		CHECK(strstr(buf, "more)") == NULL);
	}
	free(buf);
	profile__free(p);
}

TEST(top_open_needs_a_terminal)
{
	FILE *f;
	struct top *t;
	int fd, saved;

	/* With stdout on a file, no view: ENOTTY, nothing drawn. */
	fflush(stdout);
	saved = dup(1);
	REQUIRE(saved >= 0);
	f = tmpfile();
	REQUIRE(f);
	fd = fileno(f);
	dup2(fd, 1);
	errno = 0;
	t = top__open(NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	CHECK(t == NULL);
	CHECK_INT(errno, ENOTTY);
	CHECK_INT(lseek(fd, 0, SEEK_END), 0);
	fclose(f);
	top__close(NULL);
}
