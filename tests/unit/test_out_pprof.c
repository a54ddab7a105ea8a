// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/pprof.c.  The output is gzip: the test inflates it and
 * compares the protobuf with tests/fixtures/golden/basic.pb (checked with
 * `go tool pprof -raw` on the gzipped file), then walks the protobuf with
 * its own small decoder to check what pprof relies on: string_table[0] is
 * "", every sample's values add up, every location and function id used
 * exists, names arrive unchanged.
 */
#include "unit.h"

#include "fixture.h"

#include "lib/profile.h"
#include "out/output.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pb {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t varint(struct pb *b)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (b->p >= b->end) {
			b->bad = true;
			return 0;
		}
		v |= (uint64_t)(*b->p & 0x7f) << shift;
		if (!(*b->p++ & 0x80))
			return v;
	}
	b->bad = true;
	return 0;
}

/* The next field: number, wire type, and a varint value or a slice. */
static bool field(struct pb *b, uint32_t *num, uint64_t *v, struct pb *sub)
{
	uint64_t tag;

	if (b->p >= b->end || b->bad)
		return false;
	tag = varint(b);
	*num = (uint32_t)(tag >> 3);
	if ((tag & 7) == 0) {
		*v = varint(b);
	} else if ((tag & 7) == 2) {
		uint64_t n = varint(b);

		if (n > (uint64_t)(b->end - b->p)) {
			b->bad = true;
			return false;
		}
		sub->p = b->p;
		sub->end = b->p + n;
		sub->bad = false;
		b->p += n;
	} else {
		b->bad = true;
		return false;
	}
	return !b->bad;
}

struct decoded {
	char *strings[256];
	size_t nstrings;
	size_t samples, locations, functions, sample_types;
	uint64_t value0_sum, value1_sum;
	uint64_t max_loc_ref, max_fn_ref, max_str_ref;
	uint64_t period, default_type;
	bool bad;
};

static void note_str(struct decoded *d, uint64_t i)
{
	if (i > d->max_str_ref)
		d->max_str_ref = i;
}

static void decode(const uint8_t *buf, size_t len, struct decoded *d)
{
	struct pb b = { buf, buf + len, false }, s, t;
	uint32_t num, n2;
	uint64_t v, v2;

	memset(d, 0, sizeof(*d));
	while (field(&b, &num, &v, &s)) {
		switch (num) {
		case 1: /* sample_type */
			d->sample_types++;
			while (field(&s, &n2, &v2, &t))
				note_str(d, v2);
			break;
		case 2: { /* sample */
			int nvalue = 0;

			d->samples++;
			while (field(&s, &n2, &v2, &t)) {
				if (n2 == 1) { /* packed location ids */
					while (t.p < t.end) {
						uint64_t id = varint(&t);

						if (id > d->max_loc_ref)
							d->max_loc_ref = id;
						if (!id)
							d->bad = true;
					}
				} else if (n2 == 2) { /* packed values */
					while (t.p < t.end) {
						uint64_t x = varint(&t);

						if (nvalue == 0)
							d->value0_sum += x;
						else
							d->value1_sum += x;
						nvalue++;
					}
				} else if (n2 == 3) { /* label */
					uint32_t n3;
					uint64_t v3;
					struct pb u;

					while (field(&t, &n3, &v3, &u))
						note_str(d, v3);
				}
			}
			if (nvalue != (int)d->sample_types)
				d->bad = true;
			break;
		}
		case 4: { /* location: line { function_id, line } */
			d->locations++;
			while (field(&s, &n2, &v2, &t)) {
				uint32_t n3;
				uint64_t v3;
				struct pb u;

				if (n2 != 4)
					continue;
				while (field(&t, &n3, &v3, &u))
					if (n3 == 1 && v3 > d->max_fn_ref)
						d->max_fn_ref = v3;
			}
			break;
		}
		case 5: /* function */
			d->functions++;
			while (field(&s, &n2, &v2, &t))
				if (n2 == 2 || n2 == 4)
					note_str(d, v2);
			break;
		case 6: /* string_table */
			if (d->nstrings < 256)
				d->strings[d->nstrings++] =
					strndup((const char *)s.p,
						(size_t)(s.end - s.p));
			break;
		case 12:
			d->period = v;
			break;
		case 14:
			d->default_type = v;
			break;
		}
	}
	if (b.bad || b.p != b.end)
		d->bad = true;
}

static bool has_string(const struct decoded *d, const char *s)
{
	for (size_t i = 0; i < d->nstrings; i++)
		if (d->strings[i] && strcmp(d->strings[i], s) == 0)
			return true;
	return false;
}

TEST(out_pprof_golden_basic)
{
	struct profile *p = unit__basic_profile();
	struct decoded d;
	size_t len, plen = 0;
	uint8_t *pb;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_PPROF, unit__basic_meta(), &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	/* gzip: magic 1f 8b, deflate, no file name, mtime 0 */
	REQUIRE(len > 18);
	CHECK((uint8_t)got[0] == 0x1f && (uint8_t)got[1] == 0x8b &&
	      got[2] == 8);
	pb = unit__gunzip(got, len, &plen);
	REQUIRE(pb);
	unit__golden("basic.pb", (const char *)pb, plen);

	decode(pb, plen, &d);
	CHECK(!d.bad);
	REQUIRE(d.nstrings > 0);
	CHECK_STR(d.strings[0], "");
	CHECK(d.max_str_ref < d.nstrings);
	CHECK(d.max_loc_ref <= d.locations && d.max_loc_ref > 0);
	CHECK(d.max_fn_ref <= d.functions && d.max_fn_ref > 0);
	CHECK_INT(d.sample_types, 2);
	CHECK_INT(d.samples, 13); /* stacks with frames and samples */
	CHECK_INT(d.value0_sum, UINT64_C(4294967454));
	/* 99 Hz: 10101010 ns a sample. */
	CHECK_INT(d.period, 10101010);
	CHECK_INT(d.value1_sum, UINT64_C(4294967454) * 10101010);
	CHECK(d.default_type < d.nstrings &&
	      strcmp(d.strings[d.default_type], "cpu") == 0);
	CHECK(has_string(&d, "samples") && has_string(&d, "count") &&
	      has_string(&d, "nanoseconds"));
	/* Names as they are, but for control characters ('?', as pprof
	 * prints names one a line). */
	CHECK(has_string(&d, "<module>"));
	CHECK(has_string(&d, "héllo") && has_string(&d, "日本語.py"));
	CHECK(has_string(&d, "bad?name?with?del"));
	CHECK(has_string(&d, "g;h") && has_string(&d, "g:h"));
	CHECK(has_string(&d, "semi;colon.py"));
	CHECK(has_string(&d, "[unknown]"));
	/* Process and thread as labels. */
	CHECK(has_string(&d, "process") && has_string(&d, "thread"));
	CHECK(has_string(&d, "python3-4242") && has_string(&d, "worker;1") &&
	      has_string(&d, "worker:1") && has_string(&d, "MainThread"));
	CHECK(has_string(&d, "python3 app.py <x> & \"y\" (pid 4242)"));
	CHECK(has_string(&d, "CPython 3.12.1"));
	for (size_t i = 0; i < d.nstrings; i++)
		free(d.strings[i]);
	free(pb);
	free(got);
	profile__free(p);
}

TEST(out_pprof_without_frequency_counts_samples)
{
	struct profile *p = unit__basic_profile();
	struct decoded d;
	size_t len, plen = 0;
	uint8_t *pb;
	int rc;
	char *got;

	REQUIRE(p);
	got = unit__write(p, OUT_PPROF, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	pb = unit__gunzip(got, len, &plen);
	REQUIRE(pb);
	decode(pb, plen, &d);
	CHECK(!d.bad);
	CHECK_INT(d.sample_types, 1);
	CHECK_INT(d.value0_sum, UINT64_C(4294967454));
	CHECK_INT(d.period, 1);
	CHECK(!has_string(&d, "cpu"));
	for (size_t i = 0; i < d.nstrings; i++)
		free(d.strings[i]);
	free(pb);
	free(got);
	profile__free(p);
}

TEST(out_pprof_bad_utf8_is_replaced)
{
	struct profile *p = profile__new();
	struct decoded d;
	uint32_t fr;
	size_t len, plen = 0;
	uint8_t *pb;
	int rc;
	char *got;

	REQUIRE(p);
	fr = (uint32_t)profile__frame(p, PF_PYTHON,
				      profile__intern_str(p, "x\xff\x01"),
				      profile__intern_str(p, "a.py"), 1);
	CHECK_INT(profile__add(p, &fr, 1, 3), 0);
	got = unit__write(p, OUT_PPROF, NULL, &len, &rc);
	REQUIRE(got);
	CHECK_INT(rc, 0);
	pb = unit__gunzip(got, len, &plen);
	REQUIRE(pb);
	decode(pb, plen, &d);
	CHECK(has_string(&d, "x\xef\xbf\xbd?"));
	CHECK(!has_string(&d, "x\xff"));
	for (size_t i = 0; i < d.nstrings; i++)
		free(d.strings[i]);
	free(pb);
	free(got);
	profile__free(p);
}
