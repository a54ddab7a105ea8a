// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/callgrind.c: the fixed profile against
 * tests/fixtures/golden/basic.callgrind (checked by hand and with
 * callgrind_annotate), every line against the format's grammar, and the
 * costs a reader computes (self, inclusive through calls, recursion).
 */
#include "unit.h"

#include "fixture.h"

#include "lib/profile.h"
#include "out/output.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

TEST(out_callgrind_golden_basic)
{
	struct profile *p = unit__basic_profile();
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_CALLGRIND, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	unit__golden("basic.callgrind", got, len);
	free(got);
	profile__free(p);
}

#define MAXFN 64

/* What a reader of the file sees: self cost, incoming call cost and
 * name per compressed function id. */
struct reading {
	char *name[MAXFN];
	uint64_t self[MAXFN], incoming[MAXFN], outgoing[MAXFN];
	uint64_t summary, totals, self_sum;
	char err[200];
};

static bool is_num(const char *s)
{
	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	return *s == '\0';
}

/* "(id)" or "(id) name": the id, and the name the first time. */
static int name_ref(char *s, struct reading *r)
{
	char *end;
	long id;

	if (*s != '(')
		return -1;
	id = strtol(s + 1, &end, 10);
	if (*end != ')' || id <= 0 || id >= MAXFN)
		return -1;
	if (end[1] == ' ') {
		if (r && r->name[id])
			return -1; /* named twice */
		if (r)
			r->name[id] = strdup(end + 2);
	} else if (end[1]) {
		return -1;
	} else if (r && !r->name[id]) {
		return -1; /* used before it was named */
	}
	return (int)id;
}

/* Parses text strictly; false with the first problem in r->err. */
static bool read_callgrind(char *text, struct reading *r)
{
	char *save = NULL, *line;
	bool header = true, after_calls = false, have_fn = false;
	int fn = 0, cfn = 0, lineno = 0;
	char files[MAXFN] = { 0 };

	memset(r, 0, sizeof(*r));
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp;

		lineno++;
		if (header) {
			if (!strcmp(line, "events: Samples"))
				header = false;
			else if (line[0] != '#' && !strstr(line, ": "))
				goto bad;
			continue;
		}
		if (!strncmp(line, "summary: ", 9)) {
			r->summary = strtoull(line + 9, NULL, 10);
		} else if (!strncmp(line, "totals: ", 8)) {
			r->totals = strtoull(line + 8, NULL, 10);
		} else if (!strncmp(line, "fl=", 3) ||
			   !strncmp(line, "cfi=", 4)) {
			int id = name_ref(strchr(line, '=') + 1, NULL);

			if (id < 0)
				goto bad;
			if (strchr(line, ' '))
				files[id]++;
			if (!files[id] || files[id] > 1)
				goto bad;
		} else if (!strncmp(line, "fn=", 3)) {
			fn = name_ref(line + 3, r);
			if (fn < 0)
				goto bad;
			have_fn = true;
		} else if (!strncmp(line, "cfn=", 4)) {
			cfn = name_ref(line + 4, r);
			if (cfn < 0 || !have_fn)
				goto bad;
		} else if (!strncmp(line, "calls=", 6)) {
			sp = strchr(line, ' ');
			if (!sp || !cfn)
				goto bad;
			*sp = '\0';
			if (!is_num(line + 6) || !is_num(sp + 1) ||
			    !strcmp(line + 6, "0"))
				goto bad;
			after_calls = true;
		} else {
			uint64_t cost;

			sp = strchr(line, ' ');
			if (!sp || !have_fn)
				goto bad;
			*sp = '\0';
			if (!is_num(line) || !is_num(sp + 1))
				goto bad;
			cost = strtoull(sp + 1, NULL, 10);
			if (after_calls) {
				r->incoming[cfn] += cost;
				r->outgoing[fn] += cost;
				after_calls = false;
				cfn = 0;
			} else {
				r->self[fn] += cost;
				r->self_sum += cost;
			}
		}
	}
	if (header || after_calls) {
		snprintf(r->err, sizeof(r->err), "unexpected end");
		return false;
	}
	return true;
bad:
	snprintf(r->err, sizeof(r->err), "line %d: \"%.100s\"", lineno, line);
	return false;
}

static int fn_named(const struct reading *r, const char *name)
{
	for (int i = 1; i < MAXFN; i++)
		if (r->name[i] && !strcmp(r->name[i], name))
			return i;
	return 0;
}

static void free_reading(struct reading *r)
{
	for (int i = 0; i < MAXFN; i++)
		free(r->name[i]);
}

TEST(out_callgrind_basic_costs)
{
	struct profile *p = unit__basic_profile();
	struct reading r;
	size_t len;
	int rc, f;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_CALLGRIND, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(unit__utf8_valid(got, len));
	CHECK(!strncmp(got, "# callgrind format\nversion: 1\n", 30));
	CHECK(strstr(got, "\ncmd: python3 app.py <x> & \"y\" (pid 4242)\n") !=
	      NULL);
	CHECK(strstr(got, ") semi;colon.py\n") != NULL);
	CHECK(strstr(got, ") 日本語.py\n") != NULL);
	if (!read_callgrind(got, &r)) {
		unit__fail(__FILE__, __LINE__, "malformed: %s", r.err);
		goto out;
	}
	CHECK_INT(r.summary, UINT64_C(4294967454));
	CHECK_INT(r.totals, r.summary);
	CHECK_INT(r.self_sum, r.summary);
	/* Inclusive costs, as the incoming calls add up. */
	f = fn_named(&r, "<module>");
	REQUIRE(f);
	CHECK_INT(r.incoming[f], UINT64_C(4294967296) + 3 + 15 + 6 + 2 + 115);
	CHECK_INT(r.self[f], UINT64_C(4294967296));
	f = fn_named(&r, "MainThread");
	REQUIRE(f);
	CHECK_INT(r.incoming[f], UINT64_C(4294967296) + 3 + 15 + 6 + 4 + 1);
	f = fn_named(&r, "python3-4242");
	REQUIRE(f);
	CHECK_INT(r.incoming[f], 0);
	CHECK_INT(r.outgoing[f], r.summary); /* the root: everything */
	/* Names: control characters as '?', ';' kept, UTF-8 as is; the
	 * frames that print alike stay apart. */
	CHECK(fn_named(&r, "bad?name?with?del"));
	CHECK(fn_named(&r, "héllo"));
	CHECK(fn_named(&r, "g;h") && fn_named(&r, "g:h"));
	CHECK(fn_named(&r, "worker;1") && fn_named(&r, "worker:1"));
	CHECK(fn_named(&r, "[unknown]"));
out:
	free_reading(&r);
	free(got);
	profile__free(p);
}

/* a -> b -> c -> b: b is counted once per stack, c once, a once. */
TEST(out_callgrind_recursion_counts_once)
{
	struct profile *p = profile__new();
	uint32_t a, b, c;
	struct reading r;
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	a = (uint32_t)profile__frame(p, PF_PYTHON, profile__intern_str(p, "a"),
				     profile__intern_str(p, "r.py"), 1);
	b = (uint32_t)profile__frame(p, PF_PYTHON, profile__intern_str(p, "b"),
				     profile__intern_str(p, "r.py"), 2);
	c = (uint32_t)profile__frame(p, PF_PYTHON, profile__intern_str(p, "c"),
				     profile__intern_str(p, "r.py"), 3);
	{
		const uint32_t s1[] = { a, b, c, b }, s2[] = { a, b },
			       s3[] = { a, b, a, b, c };

		CHECK_INT(profile__add(p, s1, 4, 5), 0);
		CHECK_INT(profile__add(p, s2, 2, 3), 0);
		CHECK_INT(profile__add(p, s3, 5, 7), 0);
	}
	got = unit__write(p, OUT_CALLGRIND, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (!read_callgrind(got, &r)) {
		unit__fail(__FILE__, __LINE__, "malformed: %s", r.err);
	} else {
		int fa = fn_named(&r, "a"), fb = fn_named(&r, "b"),
		    fc = fn_named(&r, "c");

		REQUIRE(fa && fb && fc);
		CHECK_INT(r.summary, 15);
		CHECK_INT(r.incoming[fa], 0);
		CHECK_INT(r.self[fa] + r.outgoing[fa], 15);
		CHECK_INT(r.incoming[fb], 15);
		CHECK_INT(r.incoming[fc], 12);
		CHECK_INT(r.self[fb], 8);
		CHECK_INT(r.self[fc], 7);
	}
	free_reading(&r);
	free(got);
	profile__free(p);
}
