// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of `pyprof-bpf diff` (src/lib/diff.c, src/cmd/diff.c) and the
 * differential writers (out_folded__write_diff, out_svg__write_diff).  The
 * expected figures are worked out by hand from the stacks below.
 */
#include "unit.h"

#include "fixture.h"

#include "cmd/cmd.h"
#include "lib/diff.h"
#include "lib/profile.h"
#include "out/folded.h"
#include "out/formats.h"
#include "out/in_folded.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * 1,000 samples in base, 1,087 in head.  parse: 300 -> 390 (30.0% ->
 * 35.88%, +19.6%); render: 680 -> 660 (68.0% -> 60.72%); tiny: 10 -> 25,
 * under the default floor; fib recurses three deep: 10 -> 12 samples,
 * each counted once.
 */
static const char base_text[] =
	"python3-100;MainThread;<module> (app.py:40);main (app.py:31);parse (app.py:5) 250\n"
	"python3-100;MainThread;<module> (app.py:40);main (app.py:31);parse (app.py:6) 50\n"
	"python3-100;MainThread;<module> (app.py:40);main (app.py:31);render (app.py:12) 680\n"
	"python3-100;MainThread;<module> (app.py:40);main (app.py:31);tiny (app.py:20) 10\n"
	"python3-100;MainThread;<module> (app.py:40);fib (app.py:50);fib (app.py:51);fib (app.py:51) 10\n";
static const char head_text[] =
	"python3-200;MainThread;<module> (app.py:40);main (app.py:31);parse (app.py:5) 330\n"
	"python3-200;MainThread;<module> (app.py:40);main (app.py:31);parse (app.py:6) 60\n"
	"python3-200;MainThread;<module> (app.py:40);main (app.py:31);render (app.py:12) 660\n"
	"python3-200;MainThread;<module> (app.py:40);main (app.py:31);tiny (app.py:20) 25\n"
	"python3-200;MainThread;<module> (app.py:40);fib (app.py:50);fib (app.py:51);fib (app.py:51) 12\n";

static const struct diff_opts defaults = {
	.fail_above = DIFF_DEFAULT_FAIL_ABOVE,
	.min_samples = DIFF_DEFAULT_MIN_SAMPLES,
};

static struct diff *diff_of(const char *b, const char *h,
			    const struct diff_opts *o)
{
	char err[256] = "";
	struct profile *pb = unit__folded_profile(b, err, sizeof(err));
	struct profile *ph = unit__folded_profile(h, err, sizeof(err));
	struct diff *d = pb && ph ? diff__new(pb, ph, o) : NULL;

	if (err[0])
		unit__fail(__FILE__, __LINE__, "%s", err);
	profile__free(pb);
	profile__free(ph);
	return d;
}

static const struct diff_row *row(const struct diff *d, const char *label)
{
	for (size_t i = 0; i < diff__nrows(d); i++)
		if (strcmp(diff__row(d, i)->label, label) == 0)
			return diff__row(d, i);
	return NULL;
}

static bool near(double a, double b)
{
	return fabs(a - b) < 0.005;
}

TEST(diff_shares_and_recursion_once)
{
	struct diff *d = diff_of(base_text, head_text, &defaults);
	const struct diff_row *r;

	REQUIRE(d);
	CHECK_INT(diff__nrows(d), 6);
	r = row(d, "parse (app.py)");
	REQUIRE(r);
	CHECK_INT(r->own[0], 300);
	CHECK_INT(r->own[1], 390);
	CHECK_INT(r->total[0], 300);
	CHECK(near(r->total_pct[0], 30.0));
	CHECK(near(r->total_pct[1], 35.88)); /* 390 / 1087 */
	CHECK(near(r->d_total, 5.88));
	CHECK(fabs(r->rel - 19.60) < 0.01); /* 35.879 / 30 */
	/* pooled 690 / 2087: 1.96 sqrt(.3306 * .6694 * (1/1000 + 1/1087)) */
	CHECK(fabs(r->noise - 4.04) < 0.01);
	CHECK(r->significant);
	/* Three fib frames in each stack, counted once. */
	r = row(d, "fib (app.py)");
	REQUIRE(r);
	CHECK_INT(r->total[0], 10);
	CHECK_INT(r->total[1], 12);
	CHECK_INT(r->own[0], 10);
	/* Callers: total but no own share. */
	r = row(d, "<module> (app.py)");
	REQUIRE(r);
	CHECK_INT(r->own[0], 0);
	CHECK(near(r->total_pct[0], 100.0) && near(r->total_pct[1], 100.0));
	CHECK(!r->significant);
	r = row(d, "main (app.py)");
	REQUIRE(r);
	CHECK_INT(r->total[0], 990);
	CHECK_INT(r->total[1], 1075);
	/* Process and thread frames are not functions. */
	CHECK(!row(d, "python3-100") && !row(d, "MainThread"));
	diff__free(d);
}

TEST(diff_sorted_by_regression)
{
	static const char *const want[] = {
		"parse (app.py)", /* +5.88 points */
		"tiny (app.py)", /* +1.30 */
		"fib (app.py)", /* +0.10 */
		"<module> (app.py)", /* 0 */
		"main (app.py)", /* -0.10 */
		"render (app.py)", /* -7.28 */
	};
	struct diff *d = diff_of(base_text, head_text, &defaults);

	REQUIRE(d);
	REQUIRE(diff__nrows(d) == 6);
	for (size_t i = 0; i < 6; i++)
		CHECK_STR(diff__row(d, i)->label, want[i]);
	diff__free(d);
}

TEST(diff_threshold_floor_and_noise)
{
	struct diff_opts o = defaults;
	struct diff *d;
	const struct diff_row *r;

	/* At 10%: parse (+19.6%) fails; tiny (+130%) is under the floor of
	 * 50 samples; fib (+10.4%) too. */
	d = diff_of(base_text, head_text, &o);
	REQUIRE(d);
	CHECK_INT(diff__nfailed(d), 1);
	CHECK(row(d, "parse (app.py)")->fails);
	r = row(d, "tiny (app.py)");
	CHECK(!r->judged && !r->fails && r->significant && r->rel > 100);
	diff__free(d);

	/* Just above parse's growth: nothing fails. */
	o.fail_above = 20;
	d = diff_of(base_text, head_text, &o);
	REQUIRE(d);
	CHECK_INT(diff__nfailed(d), 0);
	diff__free(d);

	/* A floor of 5 judges tiny and fib: tiny's +1.30 points are beyond
	 * its noise (1.10) and fail; fib's +10.4% is 0.10 points, inside its
	 * noise (0.88), and does not. */
	o.fail_above = 10;
	o.min_samples = 5;
	d = diff_of(base_text, head_text, &o);
	REQUIRE(d);
	CHECK_INT(diff__nfailed(d), 2);
	CHECK(row(d, "tiny (app.py)")->fails);
	r = row(d, "fib (app.py)");
	CHECK(r->judged && r->rel > 10 && !r->significant && !r->fails);
	CHECK(fabs(r->noise - 0.88) < 0.01);
	diff__free(d);

	/* No gate. */
	o.fail_above = -1;
	d = diff_of(base_text, head_text, &o);
	REQUIRE(d);
	CHECK_INT(diff__nfailed(d), 0);
	diff__free(d);

	/* The textbook figure: 10% shares, 10,000 samples each. */
	CHECK(fabs(diff__noise(0.10, 10000, 10000) - 0.8315) < 0.001);
	CHECK(diff__noise(0.10, 0, 10000) == 0);
}

TEST(diff_new_function_and_focus)
{
	regex_t re;
	struct diff_opts o = defaults;
	struct diff *d;
	const struct diff_row *r;

	d = diff_of("p-1;a (x.py:1) 1000\n",
		    "p-1;a (x.py:1) 800\np-1;b (x.py:9) 200\n", &o);
	REQUIRE(d);
	r = row(d, "b (x.py)");
	REQUIRE(r);
	CHECK(isinf(r->rel) && r->fails);
	CHECK_INT(diff__nfailed(d), 1);
	diff__free(d);

	REQUIRE(regcomp(&re, "^(parse|render) ", REG_EXTENDED | REG_NOSUB) ==
		0);
	o.focus = &re;
	d = diff_of(base_text, head_text, &o);
	REQUIRE(d);
	CHECK_INT(diff__nrows(d), 2);
	CHECK_STR(diff__row(d, 0)->label, "parse (app.py)");
	CHECK_STR(diff__row(d, 1)->label, "render (app.py)");
	diff__free(d);
	regfree(&re);

	/* Per line. */
	o.focus = NULL;
	o.by_line = true;
	d = diff_of(base_text, head_text, &o);
	REQUIRE(d);
	CHECK(row(d, "parse (app.py:5)") && row(d, "parse (app.py:6)"));
	CHECK(!row(d, "parse (app.py)"));
	diff__free(d);
}

/* What diff__print writes. */
static char *printed(const struct diff *d, size_t top)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (diff__print(d, f, top, "base.folded", "head.folded")) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

static const char *last_line(const char *s)
{
	size_t len = strlen(s);
	const char *p = s + len;

	if (p > s && p[-1] == '\n')
		p--;
	while (p > s && p[-1] != '\n')
		p--;
	return p;
}

TEST(diff_print_table_note_verdict)
{
	struct diff_opts o = defaults;
	struct diff *d = diff_of(base_text, head_text, &o);
	char *out;

	REQUIRE(d);
	out = printed(d, 2);
	REQUIRE(out);
	CHECK(strstr(out, "base base.folded: 1,000 samples; head "
			  "head.folded: 1,087 samples\n") == out);
	/* The two that changed most, growth first. */
	CHECK(strstr(out, "   30.0    35.9    +5.9    30.0    35.9    +5.9"
			  "     4.0  +19.6% FAIL parse (app.py)\n") != NULL);
	CHECK(strstr(out, "   68.0    60.7    -7.3    68.0    60.7    -7.3"
			  "     4.1  -10.7%      render (app.py)\n") != NULL);
	CHECK(strstr(out, "tiny") == NULL);
	CHECK(strstr(out, "(4 more that changed less: --top N shows more)") !=
	      NULL);
	/* 1.96 sqrt(.1 * .9 * (1/1000 + 1/1087)) = 2.6 points. */
	CHECK(strstr(out, "with 1,000 and 1,087 samples, changes below "
			  "+-2.6 points (at a 10% share; +-4.3 at 50%) are "
			  "within noise") != NULL);
	CHECK_STR(last_line(out), "pyprof-bpf diff: FAIL: 1 function above "
				  "+10%: parse (app.py) +19.6%\n");
	free(out);
	diff__free(d);

	o.fail_above = 25;
	d = diff_of(base_text, head_text, &o);
	REQUIRE(d);
	out = printed(d, 0);
	REQUIRE(out);
	CHECK(strstr(out, "function\n") == NULL); /* no table */
	CHECK_STR(last_line(out), "pyprof-bpf diff: OK: no function grew more "
				  "than 25%; largest: parse (app.py) "
				  "+19.6%\n");
	free(out);
	diff__free(d);

	o.fail_above = -1;
	o.min_samples = 2000;
	d = diff_of(base_text, head_text, &o);
	REQUIRE(d);
	out = printed(d, 0);
	REQUIRE(out);
	CHECK_STR(last_line(out), "pyprof-bpf diff: no gate (--fail-above "
				  "off); no function has 2000 samples\n");
	free(out);
	diff__free(d);
}

TEST(diff_align_shares_ids_and_drops_pids)
{
	char err[256] = "";
	struct profile *b = unit__folded_profile(
		"python3-100;MainThread;a (x.py:1) 4\n", err, sizeof(err));
	struct profile *h =
		unit__folded_profile("python3-200;MainThread;b (x.py:2) 6\n"
				     "python3-200;MainThread;a (x.py:1) 1\n",
				     err, sizeof(err));
	struct profile *ab = NULL, *ah = NULL;

	REQUIRE(b && h);
	REQUIRE(diff__align(b, h, &ab, &ah) == 0);
	CHECK_INT(profile__total(ab), 4);
	CHECK_INT(profile__total(ah), 7);
	/* Every stack on both sides, with the same frames. */
	REQUIRE(profile__nstacks(ab) == 2 && profile__nstacks(ah) == 2);
	CHECK_INT(profile__nframes(ab), profile__nframes(ah));
	for (size_t i = 0; i < 2; i++) {
		const uint32_t *fb, *fh;
		uint32_t nb, nh;
		uint64_t cb, ch;

		profile__stack(ab, i, &fb, &nb, &cb);
		profile__stack(ah, i, &fh, &nh, &ch);
		CHECK(nb == nh && memcmp(fb, fh, nb * sizeof(*fb)) == 0);
		CHECK_STR(profile__string(ab,
					  profile__frame_get(ab, fb[0])->name),
			  "python3");
	}
	profile__free(ab);
	profile__free(ah);
	profile__free(b);
	profile__free(h);
}

/* Reads base and head, aligned, for the writers. */
static bool aligned(const char *b, const char *h, struct profile **ab,
		    struct profile **ah)
{
	char err[256] = "";
	struct profile *pb = unit__folded_profile(b, err, sizeof(err));
	struct profile *ph = unit__folded_profile(h, err, sizeof(err));
	bool ok = pb && ph && diff__align(pb, ph, ab, ah) == 0;

	profile__free(pb);
	profile__free(ph);
	return ok;
}

static const char small_base[] =
	"python3-100;MainThread;a (x.py:1);b (x.py:2) 3\n"
	"python3-100;MainThread;a (x.py:1) 1\n"
	"python3-100;MainThread;d (x.py:4) 1\n";
static const char small_head[] =
	"python3-200;MainThread;a (x.py:1);b (x.py:2) 5\n"
	"python3-200;MainThread;a (x.py:1);c (x.py:3) 2\n";

TEST(diff_folded_output)
{
	struct profile *ab, *ah, *rb, *rh;
	char *buf = NULL, err[256] = "";
	size_t len = 0;
	FILE *f;

	REQUIRE(aligned(small_base, small_head, &ab, &ah));
	f = open_memstream(&buf, &len);
	REQUIRE(f);
	CHECK_INT(out_folded__write_diff(ab, ah, f), 0);
	fclose(f);
	CHECK_STR(buf, "python3;MainThread;a (x.py:1) 1 0\n"
		       "python3;MainThread;a (x.py:1);b (x.py:2) 3 5\n"
		       "python3;MainThread;a (x.py:1);c (x.py:3) 0 2\n"
		       "python3;MainThread;d (x.py:4) 1 0\n");
	/* It reads back as the two profiles. */
	rb = profile__new();
	rh = profile__new();
	REQUIRE(rb && rh);
	f = fmemopen(buf, len, "r");
	REQUIRE(f);
	CHECK_INT(in_folded__read(rb, rh, f, "d.folded", err, sizeof(err)), 0);
	fclose(f);
	CHECK_INT(profile__total(rb), 5);
	CHECK_INT(profile__total(rh), 7);
	profile__free(rb);
	profile__free(rh);
	free(buf);
	profile__free(ab);
	profile__free(ah);
}

/* The fill of the box whose title starts with label, as r, g, b. */
static bool fill_of(const char *svg, const char *label, int rgb[3])
{
	char want[128];
	const char *g, *fill;

	snprintf(want, sizeof(want), "<title>%s&#10;", label);
	g = strstr(svg, want);
	if (!g || !(fill = strstr(g, "fill=\"rgb(")))
		return false;
	return sscanf(fill, "fill=\"rgb(%d,%d,%d)", &rgb[0], &rgb[1],
		      &rgb[2]) == 3;
}

TEST(diff_svg_output)
{
	struct out_meta m = { .title = "base -> head" };
	struct profile *ab, *ah;
	char *buf = NULL, err[256];
	int a[3], b[3], c[3];
	size_t len = 0;
	FILE *f;

	REQUIRE(aligned(small_base, small_head, &ab, &ah));
	f = open_memstream(&buf, &len);
	REQUIRE(f);
	CHECK_INT(out_svg__write_diff(ab, ah, &m, f), 0);
	fclose(f);
	REQUIRE(buf);
	if (!unit__xml_check(buf, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not well-formed: %s", err);
	/* Head's widths: the root holds head's 7 samples. */
	CHECK(strstr(buf, "data-s=\"0\" data-n=\"7\" data-d=\"0\"") != NULL);
	CHECK(strstr(buf,
		     "widths: head, 7 samples; colour: own share "
		     "against base, 5 samples: red grew, blue shrank") != NULL);
	/* Own shares: a 20% -> 0, b 60% -> 71.4%, c 0 -> 28.6% (the
	 * largest change, the deepest red); d is only in base. */
	REQUIRE(fill_of(buf, "a (x.py:1)", a));
	REQUIRE(fill_of(buf, "b (x.py:2)", b));
	REQUIRE(fill_of(buf, "c (x.py:3)", c));
	CHECK(c[0] == 255 && c[1] == 60 && c[2] == 60);
	CHECK(b[0] == 255 && b[1] == b[2] && b[1] > c[1] && b[1] < 230);
	CHECK(a[2] == 255 && a[0] == a[1] && a[0] < 230);
	CHECK(strstr(buf, "d (x.py:4)") == NULL);
	/* Both profiles in the tooltip. */
	CHECK(strstr(buf, "<title>b (x.py:2)&#10;head 5 samples, 71.43% (own "
			  "71.43%); base 3 samples, 60.00% (own 60.00%); own "
			  "+11.43 points</title>") != NULL);
	CHECK(strstr(buf, "<title>c (x.py:3)&#10;head 2 samples, 28.57% (own "
			  "28.57%); base 0 samples, 0.00% (own 0.00%); own "
			  "+28.57 points</title>") != NULL);
	free(buf);
	profile__free(ab);
	profile__free(ah);
}

/* Runs cmd_diff with stderr captured into err.  Returns its exit code. */
static int run_cmd(char **argv, int argc, char *err, size_t errlen)
{
	FILE *tf = tmpfile();
	int saved, rc;
	size_t n;

	if (!tf)
		return -1;
	fflush(stdout);
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tf), 2);
	rc = cmd_diff(argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tf);
	n = fread(err, 1, errlen - 1, tf);
	err[n] = '\0';
	fclose(tf);
	return rc;
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

TEST(diff_malformed_input)
{
	char dir[] = "/tmp/pyprof-diff-XXXXXX";
	char good[PATH_MAX], bad[PATH_MAX], twin[PATH_MAX], out[PATH_MAX];
	char err[1024], want[PATH_MAX + 128];
	struct stat st;

	REQUIRE(mkdtemp(dir));
	snprintf(good, sizeof(good), "%s/good.folded", dir);
	snprintf(bad, sizeof(bad), "%s/bad.folded", dir);
	snprintf(twin, sizeof(twin), "%s/twin.folded", dir);
	snprintf(out, sizeof(out), "%s/diff.svg", dir);
	REQUIRE(write_file(good, base_text));
	REQUIRE(write_file(bad, "a;b 3\na;;c 4\n"));
	REQUIRE(write_file(twin, "a;b 3 4\n"));
	{
		char *argv[] = { "diff", good, bad, "-o", out, NULL };

		CHECK_INT(run_cmd(argv, 5, err, sizeof(err)), 2);
		snprintf(want, sizeof(want),
			 "pyprof-bpf diff: %s:2: frame 2 is empty\n", bad);
		CHECK_STR(err, want);
		CHECK(stat(out, &st) != 0 && errno == ENOENT);
	}
	{
		char *argv[] = { "diff", twin, good, NULL };

		CHECK_INT(run_cmd(argv, 3, err, sizeof(err)), 2);
		CHECK(strstr(err, "twin.folded holds two counts per stack") !=
		      NULL);
	}
	{
		char *argv[] = {
			"diff", good, "--fail-above", "ten", good, NULL
		};

		CHECK_INT(run_cmd(argv, 5, err, sizeof(err)), 2);
		CHECK_STR(err, "pyprof-bpf diff: --fail-above 'ten' is not a "
			       "percentage: give one from 0 to 1000000 (10 or "
			       "10%), or off\n");
	}
	unlink(good);
	unlink(bad);
	unlink(twin);
	rmdir(dir);
}
