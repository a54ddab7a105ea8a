// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/lib/profile.c (interned strings, frames and stacks) and of
 * src/lib/hashmap.c (open addressing, backward-shift deletion).
 *
 * The *_hash_collision tests use inputs whose FNV-1a hashes (hash_bytes(),
 * with the seed profile.c uses) are equal, so the "probe with the next
 * derived key" path of the interning tables runs.  The pairs are built at
 * run time (collide.c), for the seeds and the struct layout of today: no
 * pair can stop colliding.
 */
#include "unit.h"

#include "collide.h"

#include "lib/hashmap.h"
#include "lib/profile.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static uint64_t inv_odd(uint64_t c)
{
	uint64_t x = c; /* Newton's iteration for c^-1 mod 2^64 */

	for (int i = 0; i < 6; i++)
		x *= 2 - c * x;
	return x;
}

/* The inverse of hash64(): the key whose hash64 is h (so its home slot in a
 * map of capacity cap is h & (cap - 1)). */
static uint64_t unhash64(uint64_t h)
{
	h ^= (h >> 31) ^ (h >> 62);
	h *= inv_odd(0x94d049bb133111ebull);
	h ^= (h >> 27) ^ (h >> 54);
	h *= inv_odd(0xbf58476d1ce4e5b9ull);
	h ^= (h >> 30) ^ (h >> 60);
	return h;
}

/* Every present key can be reached from its home slot without crossing an
 * empty slot: what linear probing needs and backward shift must keep.
 * Returns the number of keys in the table. */
static size_t check_probe_invariant(const struct hashmap *h, int *bad)
{
	size_t mask = h->cap - 1, n = 0;

	for (size_t i = 0; i < h->cap; i++) {
		if (!h->keys[i])
			continue;
		n++;
		for (size_t j = hash64(h->keys[i]) & mask; j != i;
		     j = (j + 1) & mask) {
			if (!h->keys[j]) {
				(*bad)++;
				break;
			}
		}
	}
	return n;
}

/* ---- profile: strings ---- */

TEST(profile_intern_basics)
{
	struct profile *p = profile__new();
	uint32_t a, b, hello;

	REQUIRE(p);
	CHECK_INT(profile__intern_str(p, ""), 0);
	CHECK_INT(profile__intern(p, "ignored", 0), 0);
	CHECK_STR(profile__string(p, 0), "");

	a = profile__intern_str(p, "a");
	CHECK(a != 0);
	CHECK_INT(profile__intern_str(p, "a"), a);
	CHECK_INT(profile__intern(p, "abc", 1), a); /* only len bytes count */
	b = profile__intern_str(p, "ab");
	CHECK(b != 0 && b != a);
	CHECK_INT(profile__intern(p, "abX", 2), b);
	CHECK_STR(profile__string(p, a), "a");
	CHECK_STR(profile__string(p, b), "ab");

	/* Not NUL-terminated at len: the copy is, and equals the C string. */
	hello = profile__intern(p, "hello world", 5);
	CHECK_INT(profile__intern_str(p, "hello"), hello);
	CHECK_STR(profile__string(p, hello), "hello");

	/* Non-ASCII UTF-8 is just bytes. */
	CHECK_INT(profile__intern_str(p, "héllo"),
		  profile__intern_str(p, "héllo"));
	CHECK(profile__intern_str(p, "héllo") !=
	      profile__intern_str(p, "hello"));
	CHECK_STR(profile__string(p, profile__intern_str(p, "日本語.py")),
		  "日本語.py");

	/* An id that was never handed out reads as "". */
	CHECK_STR(profile__string(p, 1000000), "");
	profile__free(p);
	profile__free(NULL);
}

TEST(profile_intern_lengths)
{
	enum { MAXLEN = 3000 };
	struct profile *p = profile__new();
	static uint32_t ids[MAXLEN + 1];
	char *buf = malloc(MAXLEN + 1);

	REQUIRE(p && buf);
	/* Strings of every length 0..MAXLEN, each a prefix of the next (the
	 * worst case for a comparison that trusts a common prefix). */
	for (int i = 0; i < MAXLEN; i++)
		buf[i] = (char)('!' + (i * 7) % 90);
	for (int len = 0; len <= MAXLEN; len++)
		ids[len] = profile__intern(p, buf, (size_t)len);
	CHECK_INT(ids[0], 0);
	for (int len = 0; len <= MAXLEN; len++) {
		const char *s = profile__string(p, ids[len]);

		if (len && ids[len] == ids[len - 1]) {
			CHECK(ids[len] != ids[len - 1]);
			break;
		}
		if (strlen(s) != (size_t)len || memcmp(s, buf, (size_t)len)) {
			CHECK_INT(strlen(s), len);
			break;
		}
		if (profile__intern(p, buf, (size_t)len) != ids[len]) {
			CHECK_INT(profile__intern(p, buf, (size_t)len),
				  ids[len]);
			break;
		}
	}
	free(buf);
	profile__free(p);
}

static void stress_name(char *s, size_t len, unsigned i)
{
	/* Vary length and shape: short numbers, long paths, UTF-8. */
	switch (i % 4) {
	case 0:
		snprintf(s, len, "%u", i);
		break;
	case 1:
		snprintf(s, len,
			 "/usr/lib/python3.12/site-packages/pkg%u/mod.py", i);
		break;
	case 2:
		snprintf(s, len, "fünktion_%u_日本", i);
		break;
	default:
		snprintf(s, len, "Class%u.method.<locals>.inner",
			 i * 2654435761u);
		break;
	}
}

TEST(profile_intern_100k)
{
	enum { N = 100000 };
	struct profile *p = profile__new();
	uint32_t *ids = calloc(N, sizeof(*ids));
	unsigned char *seen = calloc(N + 1, 1);
	char s[128];
	int bad = 0;

	REQUIRE(p && ids && seen);
	for (unsigned i = 0; i < N; i++) {
		stress_name(s, sizeof(s), i);
		ids[i] = profile__intern_str(p, s);
		if (ids[i] == 0)
			bad++;
	}
	CHECK_INT(bad, 0);
	/* Every id distinct, and every string still found after the tables
	 * grew many times. */
	for (unsigned i = 0; i < N && !bad; i++) {
		stress_name(s, sizeof(s), i);
		if (ids[i] > N || seen[ids[i]]++) {
			unit__fail(__FILE__, __LINE__,
				   "string %u: id %u reused", i, ids[i]);
			bad++;
		} else if (profile__intern_str(p, s) != ids[i]) {
			unit__fail(__FILE__, __LINE__, "string %u (%s) lost", i,
				   s);
			bad++;
		} else if (strcmp(profile__string(p, ids[i]), s) != 0) {
			unit__fail(__FILE__, __LINE__, "string %u reads \"%s\"",
				   i, profile__string(p, ids[i]));
			bad++;
		}
	}
	CHECK_INT(profile__intern_str(p, ""), 0);
	free(seen);
	free(ids);
	profile__free(p);
}

TEST(profile_intern_hash_collision)
{
	/* Two 11-byte strings with one hash, seed 0 as profile__intern(). */
	char s1[12] = "xxxxxxxxxxx", s2[12], why[256];
	struct profile *p;
	uint32_t a, b;

	if (collide__build((uint8_t *)s1, (uint8_t *)s2, 11, 0, 11, 0, true,
			   why, sizeof(why))) {
		unit__fail(__FILE__, __LINE__, "%s", why);
		return;
	}
	s2[11] = '\0';
	REQUIRE(strlen(s1) == 11 && strlen(s2) == 11 && strcmp(s1, s2) != 0);
	REQUIRE(hash_bytes(s1, 11, 0) == hash_bytes(s2, 11, 0));
	for (int order = 0; order < 2; order++) {
		p = profile__new();
		REQUIRE(p);
		if (order == 0) {
			a = profile__intern_str(p, s1);
			b = profile__intern_str(p, s2);
		} else {
			b = profile__intern_str(p, s2);
			a = profile__intern_str(p, s1);
		}
		CHECK(a != 0 && b != 0);
		CHECK(a != b);
		CHECK_INT(profile__intern_str(p, s1), a);
		CHECK_INT(profile__intern_str(p, s2), b);
		CHECK_STR(profile__string(p, a), s1);
		CHECK_STR(profile__string(p, b), s2);
		/* A third string is unaffected. */
		CHECK(profile__intern_str(p, "other") != a);
		CHECK(profile__intern_str(p, "other") != b);
		profile__free(p);
	}
}

/* ---- profile: frames ---- */

TEST(profile_frame_dedup)
{
	struct profile *p = profile__new();
	uint32_t f = 0, g = 0, file = 0, file2 = 0;
	int64_t id, ids[6];
	const struct pframe *fr;

	REQUIRE(p);
	f = profile__intern_str(p, "f");
	g = profile__intern_str(p, "g");
	file = profile__intern_str(p, "a.py");
	file2 = profile__intern_str(p, "b.py");

	id = profile__frame(p, PF_PYTHON, f, file, 10);
	REQUIRE(id >= 0);
	CHECK_INT(profile__frame(p, PF_PYTHON, f, file, 10), id);
	ids[0] = id;
	ids[1] = profile__frame(p, PF_MARKER, f, file, 10); /* kind */
	ids[2] = profile__frame(p, PF_PYTHON, g, file, 10); /* name */
	ids[3] = profile__frame(p, PF_PYTHON, f, file2, 10); /* file */
	ids[4] = profile__frame(p, PF_PYTHON, f, file, 0); /* line 0 */
	ids[5] = profile__frame(p, PF_PYTHON, f, file, -1); /* unknown */
	for (int i = 0; i < 6; i++) {
		CHECK(ids[i] >= 0);
		for (int j = 0; j < i; j++)
			CHECK(ids[i] != ids[j]);
	}
	/* Each is found again. */
	CHECK_INT(profile__frame(p, PF_MARKER, f, file, 10), ids[1]);
	CHECK_INT(profile__frame(p, PF_PYTHON, g, file, 10), ids[2]);
	CHECK_INT(profile__frame(p, PF_PYTHON, f, file2, 10), ids[3]);
	CHECK_INT(profile__frame(p, PF_PYTHON, f, file, 0), ids[4]);
	CHECK_INT(profile__frame(p, PF_PYTHON, f, file, -1), ids[5]);

	fr = profile__frame_get(p, (uint32_t)ids[5]);
	REQUIRE(fr);
	CHECK_INT(fr->kind, PF_PYTHON);
	CHECK_INT(fr->name, f);
	CHECK_INT(fr->file, file);
	CHECK_INT(fr->line, -1);
	fr = profile__frame_get(p, (uint32_t)ids[1]);
	REQUIRE(fr);
	CHECK_INT(fr->kind, PF_MARKER);
	CHECK_INT(fr->line, 10);
	CHECK(profile__frame_get(p, 6) == NULL); /* 6 frames: ids 0..5 */
	CHECK(profile__frame_get(p, UINT32_MAX) == NULL);
	profile__free(p);
}

TEST(profile_frame_many)
{
	enum { N = 20000 };
	struct profile *p = profile__new();
	int bad = 0;

	REQUIRE(p);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < N; i++) {
			int64_t id = profile__frame(p,
						    (enum pframe_kind)(i % 4),
						    (uint32_t)i / 3,
						    (uint32_t)i % 7, i - 100);

			if (id != i && bad++ < 5)
				unit__fail(__FILE__, __LINE__,
					   "pass %d frame %d got id %lld", pass,
					   i, (long long)id);
		}
	}
	CHECK_INT(bad, 0);
	profile__free(p);
}

TEST(profile_frame_hash_collision)
{
	/* Two frames (PF_PYTHON, line 7) whose bytes have one hash with seed
	 * 1, as profile__frame() uses: name and file chosen; the string ids
	 * need not exist for the frame table. */
	struct pframe a = { .line = 7, .kind = PF_PYTHON }, b;
	size_t from = offsetof(struct pframe, name);
	struct profile *p;
	int64_t ia, ib;
	const struct pframe *fr;
	char why[256];

	REQUIRE(offsetof(struct pframe, file) == from + sizeof(a.name));
	if (collide__build((uint8_t *)&a, (uint8_t *)&b, sizeof(a), from,
			   from + sizeof(a.name) + sizeof(a.file), 1, false,
			   why, sizeof(why))) {
		unit__fail(__FILE__, __LINE__, "%s", why);
		return;
	}
	REQUIRE(a.line == 7 && b.line == 7 && a.kind == PF_PYTHON &&
		b.kind == PF_PYTHON);
	REQUIRE(a.name != b.name || a.file != b.file);
	p = profile__new();
	REQUIRE(p);
	ia = profile__frame(p, a.kind, a.name, a.file, a.line);
	ib = profile__frame(p, b.kind, b.name, b.file, b.line);
	CHECK(ia >= 0 && ib >= 0);
	CHECK(ia != ib);
	CHECK_INT(profile__frame(p, a.kind, a.name, a.file, a.line), ia);
	CHECK_INT(profile__frame(p, b.kind, b.name, b.file, b.line), ib);
	fr = profile__frame_get(p, (uint32_t)ib);
	REQUIRE(fr);
	CHECK_INT(fr->name, b.name);
	CHECK_INT(fr->file, b.file);
	profile__free(p);
}

/* ---- profile: stacks ---- */

TEST(profile_stack_dedup)
{
	struct profile *p = profile__new();
	static const uint32_t s1[] = { 0, 1, 2 }, s1rev[] = { 2, 1, 0 },
			      s1pre[] = { 0, 1 }, s2[] = { 7 };
	const uint32_t *fr;
	uint32_t n;
	uint64_t count, seen[4] = { 0 };

	REQUIRE(p);
	CHECK_INT(profile__nstacks(p), 0);
	CHECK_INT(profile__total(p), 0);
	CHECK_INT(profile__add(p, s1, 3, 5), 0);
	CHECK_INT(profile__add(p, s1, 3, 2), 0); /* adds to the same */
	CHECK_INT(profile__add(p, s1rev, 3, 1), 0); /* order matters */
	CHECK_INT(profile__add(p, s1pre, 2, 10), 0); /* a prefix is another */
	CHECK_INT(profile__add(p, s2, 1, 1ull << 40), 0);
	CHECK_INT(profile__add(p, s1pre, 2, 1), 0);
	CHECK_INT(profile__nstacks(p), 4);
	CHECK_INT(profile__total(p), 5 + 2 + 1 + 10 + (1ull << 40) + 1);

	for (size_t i = 0; i < profile__nstacks(p); i++) {
		profile__stack(p, i, &fr, &n, &count);
		if (n == 3 && memcmp(fr, s1, sizeof(s1)) == 0) {
			CHECK_INT(count, 7);
			seen[0]++;
		} else if (n == 3 && memcmp(fr, s1rev, sizeof(s1rev)) == 0) {
			CHECK_INT(count, 1);
			seen[1]++;
		} else if (n == 2 && memcmp(fr, s1pre, sizeof(s1pre)) == 0) {
			CHECK_INT(count, 11);
			seen[2]++;
		} else if (n == 1 && fr[0] == 7) {
			CHECK_INT(count, 1ull << 40);
			seen[3]++;
		} else {
			unit__fail(__FILE__, __LINE__,
				   "unexpected stack %zu (n %u)", i, n);
		}
	}
	for (int i = 0; i < 4; i++)
		CHECK_INT(seen[i], 1);
	profile__free(p);
}

/* Stack k of the many-stacks test: depth 1..40, first frame k. */
static uint32_t many_stack(uint32_t k, uint32_t *fr)
{
	uint32_t n = 1 + k % 40;

	fr[0] = k;
	for (uint32_t i = 1; i < n; i++)
		fr[i] = (k * 31 + i * 17) % 1000;
	return n;
}

TEST(profile_stack_many)
{
	enum { N = 20000 };
	struct profile *p = profile__new();
	unsigned char *seen = calloc(N, 1);
	uint32_t fr[40];
	uint64_t want_total = 0;
	int bad = 0;

	REQUIRE(p && seen);
	/* Stack k is added 1 + k % 3 times, with counts k+1 each time;
	 * interleaved so the repeats hit a grown index. */
	for (int rep = 0; rep < 3; rep++) {
		for (uint32_t k = 0; k < N; k++) {
			if (rep > (int)(k % 3))
				continue;
			uint32_t n = many_stack(k, fr);

			if (profile__add(p, fr, n, k + 1) != 0)
				bad++;
			want_total += k + 1;
		}
	}
	CHECK_INT(bad, 0);
	CHECK_INT(profile__nstacks(p), N);
	CHECK_INT(profile__total(p), want_total);
	for (size_t i = 0; i < profile__nstacks(p) && bad < 5; i++) {
		const uint32_t *got;
		uint32_t n, k;
		uint64_t count;

		profile__stack(p, i, &got, &n, &count);
		k = n ? got[0] : UINT32_MAX;
		if (k >= N || seen[k]++) {
			unit__fail(__FILE__, __LINE__,
				   "stack %zu: first frame %u", i, k);
			bad++;
			continue;
		}
		if (n != many_stack(k, fr) ||
		    memcmp(got, fr, n * sizeof(*fr))) {
			unit__fail(__FILE__, __LINE__,
				   "stack %zu (k %u) differs", i, k);
			bad++;
		}
		if (count != (uint64_t)(k + 1) * (1 + k % 3)) {
			unit__fail(__FILE__, __LINE__, "stack k %u count %llu",
				   k, (unsigned long long)count);
			bad++;
		}
	}
	free(seen);
	profile__free(p);
}

TEST(profile_stack_hash_collision)
{
	/* Two 2-frame stacks with one hash, seed 2 + n as profile__add()
	 * uses. */
	uint32_t a[2] = { 0, 0 }, b[2];
	struct profile *p;
	const uint32_t *fr;
	uint32_t n;
	uint64_t count, ca = 0, cb = 0;
	char why[256];

	if (collide__build((uint8_t *)a, (uint8_t *)b, sizeof(a), 0, sizeof(a),
			   2 + 2, false, why, sizeof(why))) {
		unit__fail(__FILE__, __LINE__, "%s", why);
		return;
	}
	REQUIRE(a[0] != b[0] || a[1] != b[1]);
	p = profile__new();
	REQUIRE(p);
	CHECK_INT(profile__add(p, a, 2, 3), 0);
	CHECK_INT(profile__add(p, b, 2, 5), 0);
	CHECK_INT(profile__add(p, a, 2, 4), 0);
	CHECK_INT(profile__add(p, b, 2, 6), 0);
	CHECK_INT(profile__nstacks(p), 2);
	CHECK_INT(profile__total(p), 18);
	for (size_t i = 0; i < profile__nstacks(p); i++) {
		profile__stack(p, i, &fr, &n, &count);
		REQUIRE(n == 2);
		if (fr[0] == a[0] && fr[1] == a[1])
			ca += count;
		else if (fr[0] == b[0] && fr[1] == b[1])
			cb += count;
		else
			unit__fail(__FILE__, __LINE__, "unexpected stack");
	}
	CHECK_INT(ca, 7);
	CHECK_INT(cb, 11);
	profile__free(p);
}

/* ---- hashmap ---- */

TEST(hashmap_unhash_helper)
{
	/* The test helper itself: unhash64 inverts hash64. */
	for (uint64_t x = 1; x < 1000; x++)
		CHECK_INT(hash64(unhash64(x * 0x123456789ull)),
			  x * 0x123456789ull);
}

TEST(hashmap_basic)
{
	struct hashmap h = { 0 };
	uint64_t v = 42;

	CHECK(!hashmap__get(&h, 1, &v));
	CHECK(!hashmap__del(&h, 1));
	CHECK_INT(v, 42);

	/* Key 0 marks empty slots: refused everywhere. */
	CHECK_INT(hashmap__set(&h, 0, 5), -EINVAL);
	CHECK_INT(h.len, 0);
	CHECK(!hashmap__get(&h, 0, &v));
	CHECK(!hashmap__del(&h, 0));

	CHECK_INT(hashmap__set(&h, 1, 100), 0);
	CHECK_INT(hashmap__set(&h, UINT64_MAX, 0), 0); /* value 0 is a value */
	CHECK_INT(h.len, 2);
	CHECK(hashmap__get(&h, 1, &v));
	CHECK_INT(v, 100);
	CHECK(hashmap__get(&h, UINT64_MAX, &v));
	CHECK_INT(v, 0);
	CHECK(!hashmap__get(&h, 2, &v));
	CHECK_INT(hashmap__set(&h, 0, 5), -EINVAL);
	CHECK(!hashmap__get(&h, 0, &v));

	/* Overwrite keeps the count. */
	CHECK_INT(hashmap__set(&h, 1, 200), 0);
	CHECK_INT(h.len, 2);
	CHECK(hashmap__get(&h, 1, &v));
	CHECK_INT(v, 200);

	CHECK(hashmap__del(&h, 1));
	CHECK_INT(h.len, 1);
	CHECK(!hashmap__get(&h, 1, &v));
	CHECK(!hashmap__del(&h, 1));
	CHECK(hashmap__get(&h, UINT64_MAX, &v));

	hashmap__free(&h);
	CHECK(h.keys == NULL && h.cap == 0 && h.len == 0);
	CHECK(!hashmap__get(&h, UINT64_MAX, &v));
	/* Usable again after free. */
	CHECK_INT(hashmap__set(&h, 9, 9), 0);
	CHECK(hashmap__get(&h, 9, &v));
	CHECK_INT(v, 9);
	hashmap__free(&h);
	hashmap__free(&h);
}

/*
 * 50k keys, 16 to a home slot (homes 64 apart, so runs are long but the
 * table never fills locally), all made by inverting hash64.
 */
static uint64_t heavy_key(uint64_t i)
{
	return unhash64(((i + 1) << 40) | ((i / 16) * 64));
}

TEST(hashmap_heavy_collisions)
{
	enum { N = 50000 };
	struct hashmap h = { 0 };
	uint64_t v;
	int bad = 0, missing = 0, extra = 0;

	for (uint64_t i = 0; i < N; i++)
		if (hashmap__set(&h, heavy_key(i), i * 3 + 1))
			bad++;
	REQUIRE(bad == 0);
	CHECK_INT(h.len, N);
	for (uint64_t i = 0; i < N; i++)
		if (!hashmap__get(&h, heavy_key(i), &v) || v != i * 3 + 1)
			missing++;
	CHECK_INT(missing, 0);

	/* Delete every other key, in an order that leaves holes in the
	 * middle of runs. */
	for (uint64_t i = 0; i < N; i += 2)
		if (!hashmap__del(&h, heavy_key(i)))
			bad++;
	CHECK_INT(bad, 0);
	CHECK_INT(h.len, N / 2);
	for (uint64_t i = 0; i < N; i++) {
		bool got = hashmap__get(&h, heavy_key(i), &v);

		if (i % 2 == 0 && got)
			extra++;
		if (i % 2 == 1 && (!got || v != i * 3 + 1))
			missing++;
	}
	CHECK_INT(extra, 0);
	CHECK_INT(missing, 0);
	CHECK_INT(check_probe_invariant(&h, &bad), N / 2);
	CHECK_INT(bad, 0);
	/* Deleted ones stay deleted: a second delete finds nothing. */
	for (uint64_t i = 0; i < N; i += 2)
		if (hashmap__del(&h, heavy_key(i)))
			extra++;
	CHECK_INT(extra, 0);

	/* Put them back with new values, then delete the odd ones. */
	for (uint64_t i = 0; i < N; i += 2)
		if (hashmap__set(&h, heavy_key(i), i))
			bad++;
	for (uint64_t i = 1; i < N; i += 2)
		if (!hashmap__del(&h, heavy_key(i)))
			bad++;
	CHECK_INT(bad, 0);
	CHECK_INT(h.len, N / 2);
	for (uint64_t i = 0; i < N; i++) {
		bool got = hashmap__get(&h, heavy_key(i), &v);

		if (i % 2 == 1 && got)
			extra++;
		if (i % 2 == 0 && (!got || v != i))
			missing++;
	}
	CHECK_INT(extra, 0);
	CHECK_INT(missing, 0);
	CHECK_INT(check_probe_invariant(&h, &bad), N / 2);
	CHECK_INT(bad, 0);
	hashmap__free(&h);
}

TEST(hashmap_wraparound)
{
	/* 11 keys in a 16-slot table (it grows at the 12th): homes 14, 15
	 * and 0, so the run wraps past the end.  Delete each key alone, then
	 * many orders of all of them; check everything after each step. */
	static const unsigned homes[11] = { 15, 15, 14, 0,  15, 0,
					    14, 15, 1,	15, 0 };
	uint64_t keys[11];
	unsigned seed = 1;

	for (int i = 0; i < 11; i++)
		keys[i] = unhash64(((uint64_t)(i + 1) << 32) | homes[i]);
	for (int round = 0; round < 500; round++) {
		struct hashmap h = { 0 };
		int order[11], bad = 0;
		uint64_t v;

		for (int i = 0; i < 11; i++) {
			order[i] = i;
			if (hashmap__set(&h, keys[i], (uint64_t)i + 100))
				bad++;
		}
		REQUIRE(bad == 0);
		REQUIRE(h.cap == 16);
		if (round < 11) {
			order[0] = round;
			order[round] = 0;
		} else {
			for (int i = 10; i > 0; i--) {
				int j, t = order[i];

				seed = seed * 1103515245u + 12345u;
				j = (int)(seed >> 16) % (i + 1);

				order[i] = order[j];
				order[j] = t;
			}
		}
		for (int d = 0; d < (round < 11 ? 1 : 11); d++) {
			if (!hashmap__del(&h, keys[order[d]]))
				bad++;
			for (int i = 0; i < 11; i++) {
				bool deleted = false, got;

				for (int e = 0; e <= d; e++)
					deleted |= order[e] == i;
				got = hashmap__get(&h, keys[i], &v);
				if (got == deleted ||
				    (got && v != (uint64_t)i + 100))
					bad++;
			}
			check_probe_invariant(&h, &bad);
		}
		if (bad) {
			unit__fail(__FILE__, __LINE__, "round %d: %d errors",
				   round, bad);
			hashmap__free(&h);
			return;
		}
		hashmap__free(&h);
	}
}

TEST(hashmap_random_model)
{
	/* Random set/del/get against a plain array, keys from a universe of
	 * 3000 with only 64 distinct home patterns. */
	enum { U = 3000, OPS = 200000 };
	struct hashmap h = { 0 };
	static uint64_t keys[U], model[U]; /* model: 0 absent, else value+1 */
	uint64_t x = 88172645463325252ull, v;
	size_t len = 0;
	int bad = 0;

	for (int i = 0; i < U; i++)
		keys[i] = unhash64(((uint64_t)(i + 1) << 32) |
				   ((uint64_t)(i % 64) * 2654435761u % 4096));
	memset(model, 0, sizeof(model));
	for (int op = 0; op < OPS && bad < 5; op++) {
		int k;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (int)((x >> 8) % U);
		switch (x % 3) {
		case 0:
			if (hashmap__set(&h, keys[k], x >> 3))
				bad++;
			if (!model[k])
				len++;
			model[k] = (x >> 3) + 1;
			break;
		case 1:
			if (hashmap__del(&h, keys[k]) != (model[k] != 0)) {
				unit__fail(__FILE__, __LINE__, "op %d: del %d",
					   op, k);
				bad++;
			}
			if (model[k])
				len--;
			model[k] = 0;
			break;
		default:
			if (hashmap__get(&h, keys[k], &v) != (model[k] != 0) ||
			    (model[k] && v != model[k] - 1)) {
				unit__fail(__FILE__, __LINE__, "op %d: get %d",
					   op, k);
				bad++;
			}
			break;
		}
		if (h.len != len) {
			unit__fail(__FILE__, __LINE__,
				   "op %d: len %zu, want %zu", op, h.len, len);
			bad++;
		}
		if (op % 20000 == 0) {
			for (int i = 0; i < U; i++)
				if (hashmap__get(&h, keys[i], &v) !=
				    (model[i] != 0))
					bad++;
			check_probe_invariant(&h, &bad);
		}
	}
	CHECK_INT(bad, 0);
	hashmap__free(&h);
}
