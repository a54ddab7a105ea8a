// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/speedscope.c: the fixed profile against
 * tests/fixtures/golden/basic.speedscope.json (checked by hand, with
 * speedscope's schema and in speedscope), and valid JSON with every name
 * escaped and the weights adding up, whatever the golden file says.
 */
#include "unit.h"

#include "fixture.h"

#include "lib/profile.h"
#include "out/output.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

TEST(out_speedscope_golden_basic)
{
	struct profile *p = unit__basic_profile();
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_SPEEDSCOPE, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	unit__golden("basic.speedscope.json", got, len);
	free(got);
	profile__free(p);
}

/* The sum of the numbers after every "weights":[ */
static uint64_t weights(const char *s, int *profiles)
{
	uint64_t sum = 0;

	*profiles = 0;
	while ((s = strstr(s, "\"weights\":["))) {
		char *end;

		(*profiles)++;
		s += 11;
		while (*s != ']') {
			sum += strtoull(s, &end, 10);
			s = *end == ',' ? end + 1 : end;
			if (end == s && *s != ']')
				return 0;
		}
	}
	return sum;
}

TEST(out_speedscope_basic_properties)
{
	struct profile *p = unit__basic_profile();
	char err[256];
	size_t len;
	int rc, profiles;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_SPEEDSCOPE, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	if (!unit__json_check(got, err, sizeof(err)))
		unit__fail(__FILE__, __LINE__, "not JSON: %s", err);
	CHECK(unit__utf8_valid(got, len));
	CHECK_INT(weights(got, &profiles), UINT64_C(4294967454));
	/* MainThread, worker;1, worker:1 and the unnamed thread. */
	CHECK_INT(profiles, 4);
	CHECK(strstr(got, "\"$schema\":\"https://www.speedscope.app/"
			  "file-format-schema.json\"") != NULL);
	CHECK(strstr(got,
		     "\"name\":\"python3 app.py <x> & \\\"y\\\" (pid 4242)\"") !=
	      NULL);
	/* Names as they are: ';' kept, controls escaped, UTF-8 as is. */
	CHECK(strstr(got, "{\"name\":\"bad\\nname\\twith\\u007fdel\","
			  "\"file\":\"x.py\",\"line\":3}") != NULL);
	CHECK(strstr(got, "{\"name\":\"g;h\",\"file\":\"z.py\",\"line\":9}") !=
	      NULL);
	CHECK(strstr(got, "{\"name\":\"héllo\",\"file\":\"日本語.py\","
			  "\"line\":7}") != NULL);
	CHECK(strstr(got, "{\"name\":\"f\",\"file\":\"a.py\"}") != NULL);
	CHECK(strstr(got, "{\"name\":\"[unknown]\",\"file\":\"e.py\","
			  "\"line\":5}") != NULL);
	CHECK(strstr(got, "\"name\":\"worker;1 (python3-4242)\"") != NULL);
	CHECK(strstr(got, "\"name\":\"[unknown] (python3-4242)\"") != NULL);
	/* The busiest thread first. */
	CHECK(strstr(got, "\"profiles\":[\n{\"type\":\"sampled\",\"name\":"
			  "\"MainThread (python3-4242)\"") != NULL);
	free(got);
	profile__free(p);
}

TEST(out_speedscope_bad_utf8_is_replaced)
{
	struct profile *p = profile__new();
	uint32_t fr;
	char err[256];
	size_t len;
	int rc;
	char *got;

	REQUIRE(p);
	fr = (uint32_t)profile__frame(
		p, PF_PYTHON, profile__intern_str(p, "a\xc3(\xed\xa0\x80z"),
		profile__intern_str(p, "\xf5.py"), 1);
	CHECK_INT(profile__add(p, &fr, 1, 1), 0);
	got = unit__write(p, OUT_SPEEDSCOPE, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	CHECK(unit__json_check(got, err, sizeof(err)));
	CHECK(unit__utf8_valid(got, len));
	CHECK(strstr(got, "\"a\\ufffd(\\ufffd\\ufffd\\ufffdz\"") != NULL);
	CHECK(strstr(got, "\"\\ufffd.py\"") != NULL);
	free(got);
	profile__free(p);
}
