// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Tests of src/lib/filter.c: pprof's --focus, --ignore and --hide. */
#include "unit.h"

#include "fixture.h"

#include "lib/filter.h"
#include "lib/profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char fixture[] =
	"p-1;T;main (app.py:3);json.dumps (/usr/lib/python3/json.py:9) 4\n"
	"p-1;T;main (app.py:3);parse (lib/parse.py:8) 5\n"
	"p-1;T;main (app.py:4);[off-cpu: sleep] 2\n"
	"p-1;T;main (app.py:3);json.loads (/usr/lib/python3/json.py:20) 1\n"
	"p-1;U;a;b_[k] 3\n";

/* The profile's stacks as folded lines, sorted, into buf. */
static void folded(const struct profile *p, char *buf, size_t len)
{
	char *w = buf;

	*w = '\0';
	for (size_t i = 0; i < profile__nstacks(p); i++) {
		const uint32_t *fr;
		uint32_t n;
		uint64_t count;

		profile__stack(p, i, &fr, &n, &count);
		if (!n || !count)
			continue;
		for (uint32_t j = 0; j < n; j++) {
			const struct pframe *f = profile__frame_get(p, fr[j]);

			w += snprintf(w, len - (size_t)(w - buf), "%s%s",
				      j ? ";" : "",
				      profile__string(p, f->name));
		}
		w += snprintf(w, len - (size_t)(w - buf), " %llu|",
			      (unsigned long long)count);
	}
}

static struct profile *filtered(const char *focus, const char *hide,
				const char *ignore, char *out, size_t len)
{
	struct filter_opts o = { focus, hide, ignore };
	struct profile *p, *q;
	char err[256];
	struct filter *f;

	p = unit__folded_profile(fixture, err, sizeof(err));
	if (!p)
		return NULL;
	f = filter__new(&o, err, sizeof(err));
	q = f ? filter__profile(f, p) : NULL;
	filter__free(f);
	profile__free(p);
	if (q)
		folded(q, out, len);
	return q;
}

TEST(filter_focus_ignore_hide)
{
	char got[1024];
	struct profile *q;

	/* --focus: the stacks with a frame that matches, on its label. */
	q = filtered("json", NULL, NULL, got, sizeof(got));
	REQUIRE(q);
	CHECK_STR(got, "p-1;T;main;json.dumps 4|p-1;T;main;json.loads 1|");
	CHECK_INT(profile__total(q), 5);
	CHECK_INT(profile__filtered(q), 10);
	profile__free(q);
	/* A file matches too; anchors work on the label. */
	q = filtered("^parse \\(lib/", NULL, NULL, got, sizeof(got));
	REQUIRE(q);
	CHECK_STR(got, "p-1;T;main;parse 5|");
	profile__free(q);
	/* --ignore drops; process and thread frames match too. */
	q = filtered(NULL, NULL, "off-cpu|^U$", got, sizeof(got));
	REQUIRE(q);
	CHECK_INT(profile__total(q), 10);
	CHECK_INT(profile__filtered(q), 5);
	profile__free(q);
	/* --hide removes frames; two stacks become one; a kernel frame is
	 * matched with its _[k]. */
	q = filtered(NULL, "/usr/lib/python3|_\\[k\\]$", NULL, got,
		     sizeof(got));
	REQUIRE(q);
	CHECK_STR(got, "p-1;T;main 5|p-1;T;main;parse 5|"
		       "p-1;T;main;[off-cpu: sleep] 2|p-1;U;a 3|");
	CHECK_INT(profile__filtered(q), 0);
	profile__free(q);
	/* --focus looks at the stack before --hide removes anything. */
	q = filtered("json", "json", NULL, got, sizeof(got));
	REQUIRE(q);
	CHECK_STR(got, "p-1;T;main 5|");
	profile__free(q);
	/* A stack --hide empties is left out, and counted. */
	q = filtered(NULL, ".", NULL, got, sizeof(got));
	REQUIRE(q);
	CHECK_STR(got, "");
	CHECK_INT(profile__filtered(q), 15);
	profile__free(q);
}

TEST(filter_errors_and_apply)
{
	struct filter_opts o = { .hide = "a(" };
	struct profile *p;
	char err[256];

	CHECK(!filter__wanted(NULL));
	CHECK(!filter__wanted(&(struct filter_opts){ 0 }));
	CHECK(filter__wanted(&o));
	CHECK(filter__new(&o, err, sizeof(err)) == NULL);
	CHECK_INT(errno, EINVAL);
	CHECK(strstr(err, "invalid --hide 'a(':") != NULL);
	p = unit__folded_profile(fixture, err, sizeof(err));
	REQUIRE(p);
	CHECK_INT(filter__apply(&o, &p), -EINVAL);
	CHECK_INT(profile__total(p), 15); /* unchanged */
	o.hide = NULL;
	CHECK_INT(filter__apply(&o, &p), 0); /* nothing asked */
	o.ignore = "main";
	CHECK_INT(filter__apply(&o, &p), 0);
	CHECK_INT(profile__total(p), 3);
	CHECK_INT(profile__filtered(p), 12);
	profile__free(p);
}
