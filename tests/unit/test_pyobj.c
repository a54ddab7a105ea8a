// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/python/pyobj.c and src/python/pythread.c.
 *
 * Pure tests build CPython objects, per version layout, in a buffer that a
 * fake struct rmem serves (counting reads, failing outside the buffer); the
 * free-threaded layouts (3.13t, 3.14t, 3.15t) are tested this way only, laid
 * out as their headers say: no such interpreter could be installed here.
 * Live tests start real interpreters (pyenv builds, Debian's python3.11, and
 * Debian unstable's 3.14 and 3.15 from `make deps`), which print the
 * addresses of known objects, and read them back.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "python/pyobj.h"
#include "python/pythread.h"

/* ------------------------------------------------------- fake target -- */

#define FAKE_BASE 0x10000000ull
#define FAKE_SIZE (1u << 20)

/* Py_TPFLAGS_* (Include/object.h) */
#define F_INLINE_VALUES (1ull << 2)
#define F_MANAGED_DICT (1ull << 4)
#define F_HEAPTYPE (1ull << 9)
#define F_LONG (1ull << 24)
#define F_STR (1ull << 28)
#define F_DICT (1ull << 29)

struct fake {
	struct rmem m;
	uint8_t *mem;
	size_t used; /* bump allocator */
	size_t limit; /* bytes readable from FAKE_BASE */
	int reads;
	const struct py_layout *l;
	struct py_layout layout; /* what l points at */
	uint64_t str_type, dict_type, long_type, bytes_type;
};

static int fake_read(const struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	struct fake *f = m->ctx;

	f->reads++;
	if (addr < FAKE_BASE || addr - FAKE_BASE > f->limit ||
	    len > f->limit - (addr - FAKE_BASE))
		return -EFAULT;
	memcpy(buf, f->mem + (addr - FAKE_BASE), len);
	return 0;
}

static uint64_t fake_alloc(struct fake *f, size_t size)
{
	uint64_t a;

	f->used = (f->used + 15) & ~(size_t)15;
	if (f->used + size > FAKE_SIZE)
		abort();
	a = FAKE_BASE + f->used;
	f->used += size;
	return a;
}

static void *at(struct fake *f, uint64_t addr)
{
	return f->mem + (addr - FAKE_BASE);
}

static void put64(struct fake *f, uint64_t addr, uint64_t v)
{
	memcpy(at(f, addr), &v, 8);
}

static void put32(struct fake *f, uint64_t addr, uint32_t v)
{
	memcpy(at(f, addr), &v, 4);
}

static uint64_t mk_type(struct fake *f, uint64_t flags, int64_t basicsize,
			int64_t dictoffset)
{
	const struct py_layout *l = f->l;
	uint64_t t = fake_alloc(f, 1024);

	put64(f, t, 1);
	put64(f, t + l->obj.type_flags, flags);
	put64(f, t + l->obj.type_basicsize, (uint64_t)basicsize);
	put64(f, t + l->obj.type_dictoffset, (uint64_t)dictoffset);
	return t;
}

static struct fake *fake_new(unsigned version, bool free_threaded)
{
	struct fake *f = calloc(1, sizeof(*f));

	f->mem = calloc(1, FAKE_SIZE);
	f->limit = FAKE_SIZE;
	f->m.read = fake_read;
	f->m.ctx = f;
	if (py_layout__lookup(version, 0, free_threaded, &f->layout))
		return f; /* FOR_EACH_FAKE reports it */
	f->l = &f->layout;
	f->used = 4096; /* keep FAKE_BASE itself unused */
	f->str_type = mk_type(f, F_STR, 0, 0);
	f->dict_type = mk_type(f, F_DICT, 0, 0);
	f->long_type = mk_type(f, F_LONG, 0, 0);
	f->bytes_type = mk_type(f, 1ull << 27, 0, 0);
	f->reads = 0;
	return f;
}

static void fake_free(struct fake *f)
{
	free(f->mem);
	free(f);
}

/* --------------------------------------------------------- builders -- */

static int utf8_decode(const char *s, uint32_t *cp, int max)
{
	const uint8_t *p = (const uint8_t *)s;
	int n = 0;

	while (*p && n < max) {
		uint32_t c = *p++;
		int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

		c &= more == 3 ? 0x07 : more == 2 ? 0x0f : more ? 0x1f : 0x7f;
		while (more-- > 0)
			c = (c << 6) | (*p++ & 0x3f);
		cp[n++] = c;
	}
	return n;
}

/* A str object with the given state and data, any form. */
static uint64_t mk_str_raw(struct fake *f, unsigned kind, int compact,
			   int ascii, int64_t length, const uint32_t *cp,
			   int ncp)
{
	const struct py_layout *l = f->l;
	uint64_t hdr = compact ? (ascii ? l->unicode.ascii_size :
					  l->unicode.compact_size) :
				 l->unicode.data_any + 8;
	uint64_t o = fake_alloc(f, hdr + (size_t)(ncp + 1) * (kind ? kind : 4));
	uint64_t data = o + hdr;
	uint32_t state;

	if (!compact) {
		data = fake_alloc(f, (size_t)(ncp + 1) * (kind ? kind : 4));
		put64(f, o + l->unicode.data_any, data);
	}
	put64(f, o, 1);
	put64(f, o + l->object.ob_type, f->str_type);
	put64(f, o + l->unicode.length, (uint64_t)length);
	put64(f, o + l->unicode.length + 8, (uint64_t)-1); /* hash */
	state = kind << l->unicode.kind_shift |
		(unsigned)compact << l->unicode.compact_bit |
		(unsigned)ascii << l->unicode.ascii_bit | 1u << 7;
	put32(f, o + l->unicode.state, state);
	for (int i = 0; i < ncp; i++) {
		uint8_t *p = at(f, data);

		if (kind == 1)
			p[i] = cp[i];
		else if (kind == 2)
			memcpy(p + 2 * i, &(uint16_t){ cp[i] }, 2);
		else
			memcpy(p + 4 * i, &cp[i], 4);
	}
	return o;
}

/* A canonical str (the smallest kind that fits) holding UTF-8 s. */
static uint64_t mk_str(struct fake *f, const char *s, int compact)
{
	uint32_t cp[8192], max = 0;
	int n = utf8_decode(s, cp, 8192);
	unsigned kind;

	for (int i = 0; i < n; i++)
		max = cp[i] > max ? cp[i] : max;
	kind = max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
	return mk_str_raw(f, kind, compact, max < 0x80, n, cp, n);
}

static uint64_t mk_long(struct fake *f, uint64_t v, int negative)
{
	const struct py_layout *l = f->l;
	uint64_t o = fake_alloc(f, l->obj.long_digits + 12);
	uint64_t nd = 0;

	for (uint64_t x = v; x; x >>= 30)
		put32(f, o + l->obj.long_digits + 4 * nd++, x & 0x3fffffff);
	put64(f, o, 1);
	put64(f, o + l->object.ob_type, f->long_type);
	if (l->obj.long_tagged)
		put64(f, o + l->obj.long_size,
		      nd << 3 | (!v	  ? 1 :
				 negative ? 2 :
					    0));
	else
		put64(f, o + l->obj.long_size,
		      negative ? -(int64_t)nd : (int64_t)nd);
	return o;
}

struct ent {
	uint64_t key, value;
};

/* Where dk_nentries is in a keys table made by mk_keys. */
static uint64_t keys_nentries(struct fake *f, uint64_t k)
{
	return k + (f->l->obj.dict_keys_new ? 24 : 32);
}

/* Where entry i's key is in a keys table made by mk_keys: its value is 8
 * bytes on, and its hash, in the entries that have one, 8 bytes before. */
static uint64_t keys_entry_key(struct fake *f, uint64_t k, int i)
{
	const uint8_t *h = at(f, k);
	uint64_t size, ix;

	if (!f->l->obj.dict_keys_new) {
		memcpy(&size, h + 8, 8);
		ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
		return k + 40 + size * ix + 24 * (uint64_t)i + 8;
	}
	/* h[9]: log2 of the index bytes; h[10]: the kind (0 general) */
	return k + 32 + (1ull << h[9]) +
	       (h[10] ? 16 * (uint64_t)i : 24 * (uint64_t)i + 8);
}

/* PyDictKeysObject with n entries (see src/python/pyobj.c for both layouts);
 * kind: 0 general, 1 unicode, 2 split (3.11+; ignored before). */
static uint64_t mk_keys(struct fake *f, unsigned log2, int kind,
			const struct ent *e, int n)
{
	const struct py_layout *l = f->l;
	uint64_t size = 1ull << log2, ix, k;
	bool hashed = true;

	if (!l->obj.dict_keys_new) {
		ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
		k = fake_alloc(f, 40 + size * ix + 24 * (size_t)n);
		put64(f, k, 1);
		put64(f, k + 8, size);
		put64(f, k + 24, (size << 1) / 3 - n);
		memset(at(f, k + 40), 0xff, size * ix);
	} else {
		unsigned log2ix = log2 < 8  ? log2 :
				  log2 < 16 ? log2 + 1 :
					      log2 + 2;

		hashed = !kind;
		k = fake_alloc(f, 32 + (1ull << log2ix) +
					  (hashed ? 24 : 16) * (size_t)n);
		put64(f, k, 1);
		((uint8_t *)at(f, k))[8] = log2;
		((uint8_t *)at(f, k))[9] = log2ix;
		((uint8_t *)at(f, k))[10] = kind;
		put64(f, k + 16, (size << 1) / 3 - n);
		memset(at(f, k + 32), 0xff, 1ull << log2ix);
	}
	put64(f, keys_nentries(f, k), n);
	for (int i = 0; i < n; i++) {
		uint64_t a = keys_entry_key(f, k, i);

		if (hashed)
			put64(f, a - 8, 1000 + i); /* me_hash */
		put64(f, a, e[i].key);
		put64(f, a + 8, kind == 2 ? 0 : e[i].value);
	}
	return k;
}

/* Split values for e[] (what ma_values or an object's values pointer
 * holds): values[] after l->obj.values_prefix bytes. */
static uint64_t mk_values(struct fake *f, const struct ent *e, int n,
			  int capacity, int valid)
{
	uint32_t prefix = f->l->obj.values_prefix;
	uint64_t v = fake_alloc(f, prefix + 8 * (size_t)(n + 1));

	if (prefix) {
		uint8_t *p = at(f, v);

		p[0] = capacity;
		p[1] = n;
		p[2] = 0;
		p[3] = valid;
	}
	for (int i = 0; i < n && i < capacity; i++)
		put64(f, v + prefix + 8 * i, e[i].value);
	return v;
}

static uint64_t mk_dict(struct fake *f, uint64_t keys, uint64_t values)
{
	const struct py_layout *l = f->l;
	uint64_t d = fake_alloc(f, 64);

	put64(f, d, 1);
	put64(f, d + l->object.ob_type, f->dict_type);
	put64(f, d + l->obj.dict_keys, keys);
	put64(f, d + l->obj.dict_values, values);
	return d;
}

/* A combined dict of str keys: unicode kind on 3.11+. */
static uint64_t mk_str_dict(struct fake *f, const char *const *keys,
			    const uint64_t *values, int n)
{
	struct ent e[64] = { { 0, 0 } };

	for (int i = 0; i < n; i++) {
		e[i].key = keys[i] ? mk_str(f, keys[i], 1) : 0;
		e[i].value = values[i];
	}
	return mk_dict(f, mk_keys(f, 6, 1, e, n), 0);
}

/* Every layout: the default builds, then the free-threaded ones. */
static const struct {
	unsigned version;
	bool ft;
} versions[] = {
	{ PYVER(3, 8), false },	 { PYVER(3, 9), false },
	{ PYVER(3, 10), false }, { PYVER(3, 11), false },
	{ PYVER(3, 12), false }, { PYVER(3, 13), false },
	{ PYVER(3, 14), false }, { PYVER(3, 15), false },
	{ PYVER(3, 13), true },	 { PYVER(3, 14), true },
	{ PYVER(3, 15), true },
};
#define NVERSIONS (int)(sizeof(versions) / sizeof(versions[0]))

#define FOR_EACH_FAKE(f)                                                      \
	for (int _v = 0; _v < NVERSIONS; _v++)                                \
		for (struct fake *f =                                         \
			     fake_new(versions[_v].version, versions[_v].ft); \
		     f; fake_free(f), f = NULL)                               \
			if (!f->l) {                                          \
				unit__fail(__FILE__, __LINE__,                \
					   "no layout for 3.%u%s",            \
					   versions[_v].version & 0xff,       \
					   versions[_v].ft ? "t" : "");       \
			} else

/* ---------------------------------------------------------- str tests -- */

static int rd(struct fake *f, uint64_t addr, char *out, size_t outlen)
{
	f->reads = 0;
	return pyobj__read_str(f->l, &f->m, addr, out, outlen);
}

TEST(pyobj_str_compact)
{
	static const char *const texts[] = {
		"",	  "hello",  "naïve",
		"日本語", "🐍",	    "snake 🐍 naïve 日本",
		"ÿ",	  "\u0100", "\U0010ffff",
	};

	FOR_EACH_FAKE(f)
	{
		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
			char out[64];
			uint64_t s = mk_str(f, texts[i], 1);

			CHECK_INT(rd(f, s, out, sizeof(out)), strlen(texts[i]));
			CHECK_STR(out, texts[i]);
			/* header and text in one read */
			CHECK_INT(f->reads, 1);
		}
	}
}

TEST(pyobj_str_legacy)
{
	/* str subclasses: PyUnicodeObject with data.any */
	static const char *const texts[] = {
		"", "legacy ascii", "héllo", "日本語", "🐍🐍",
	};

	FOR_EACH_FAKE(f)
	{
		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
			char out[64];
			uint64_t s = mk_str(f, texts[i], 0);

			CHECK_INT(rd(f, s, out, sizeof(out)), strlen(texts[i]));
			CHECK_STR(out, texts[i]);
			CHECK(f->reads <= 2);
		}
	}
}

TEST(pyobj_str_long_text_two_reads)
{
	FOR_EACH_FAKE(f)
	{
		char text[3 * 300 + 1] = "", out[2048];
		uint64_t s;

		for (int i = 0; i < 300; i++)
			strcat(text, "語");
		s = mk_str(f, text, 1);
		CHECK_INT(rd(f, s, out, sizeof(out)), strlen(text));
		CHECK_STR(out, text);
		CHECK_INT(f->reads, 2);
	}
}

TEST(pyobj_str_cut_at_char_boundary)
{
	FOR_EACH_FAKE(f)
	{
		uint64_t jp = mk_str(f, "日本語", 1);
		uint64_t lat = mk_str(f, "naïve", 1);
		uint64_t sn = mk_str(f, "a🐍b", 1);
		char out[16];

		CHECK_INT(rd(f, jp, out, 7), 6);
		CHECK_STR(out, "日本");
		CHECK_INT(rd(f, jp, out, 6), 3);
		CHECK_STR(out, "日");
		CHECK_INT(rd(f, jp, out, 3), 0);
		CHECK_STR(out, "");
		CHECK_INT(rd(f, jp, out, 1), 0);
		CHECK_STR(out, "");
		CHECK_INT(rd(f, lat, out, 4), 2);
		CHECK_STR(out, "na");
		CHECK_INT(rd(f, lat, out, 5), 4);
		CHECK_STR(out, "naï");
		CHECK_INT(rd(f, sn, out, 5), 1);
		CHECK_STR(out, "a");
		CHECK_INT(rd(f, sn, out, 6), 5);
		CHECK_STR(out, "a🐍");
		CHECK_INT(rd(f, jp, out, 0), -EINVAL);
	}
}

TEST(pyobj_str_invalid_code_points)
{
	FOR_EACH_FAKE(f)
	{
		uint32_t s2[] = { 'a', 0xd800, 'b', 0xdfff };
		uint32_t s4[] = { 0x110000, 0x1f40d, 0xffffffff, 0xdc00 };
		char out[64];

		CHECK_INT(rd(f, mk_str_raw(f, 2, 1, 0, 4, s2, 4), out, 64), 8);
		CHECK_STR(out, "a\xef\xbf\xbd"
			       "b\xef\xbf\xbd");
		CHECK_INT(rd(f, mk_str_raw(f, 4, 1, 0, 4, s4, 4), out, 64), 13);
		CHECK_STR(out, "\xef\xbf\xbd🐍\xef\xbf\xbd\xef\xbf\xbd");
	}
}

TEST(pyobj_str_bogus_state)
{
	FOR_EACH_FAKE(f)
	{
		uint32_t cp[] = { 'a', 'b' };
		char out[16];

		for (unsigned kind = 0; kind < 8; kind++) {
			if (kind == 1 || kind == 2 || kind == 4)
				continue;
			CHECK_INT(rd(f, mk_str_raw(f, kind, 1, 0, 2, cp, 2),
				     out, 16),
				  -EINVAL);
			CHECK_STR(out, "");
			CHECK_INT(rd(f, mk_str_raw(f, kind, 0, 0, 2, cp, 2),
				     out, 16),
				  -EINVAL);
		}
		/* ascii with a kind other than 1 */
		CHECK_INT(rd(f, mk_str_raw(f, 2, 1, 1, 2, cp, 2), out, 16),
			  -EINVAL);
		CHECK_INT(rd(f, mk_str_raw(f, 4, 0, 1, 2, cp, 2), out, 16),
			  -EINVAL);
		/* negative length */
		CHECK_INT(rd(f, mk_str_raw(f, 1, 1, 1, -1, cp, 2), out, 16),
			  -EINVAL);
		CHECK_INT(rd(f, mk_str_raw(f, 1, 1, 1, INT64_MIN, cp, 2), out,
			     16),
			  -EINVAL);
	}
}

TEST(pyobj_str_huge_length_capped)
{
	FOR_EACH_FAKE(f)
	{
		static uint32_t cp[PYOBJ_STR_MAX + 100];
		static char out[4 * PYOBJ_STR_MAX + 16];
		int64_t lens[] = { PYOBJ_STR_MAX + 1, 1ll << 40, INT64_MAX };
		char want[PYOBJ_STR_MAX + 4];

		for (int i = 0; i < PYOBJ_STR_MAX + 100; i++)
			cp[i] = 'a' + i % 26;
		for (int i = 0; i < PYOBJ_STR_MAX; i++)
			want[i] = 'a' + i % 26;
		memcpy(want + PYOBJ_STR_MAX, "...", 4);
		for (int i = 0; i < 3; i++) {
			/* only PYOBJ_STR_MAX + 100 code points exist, so a
			 * read beyond the cap would fault */
			uint64_t s4 = mk_str_raw(f, 4, 1, 0, lens[i], cp,
						 PYOBJ_STR_MAX + 100);
			uint64_t s1 = mk_str_raw(f, 1, 1, 1, lens[i], cp,
						 PYOBJ_STR_MAX + 100);
			uint64_t sl = mk_str_raw(f, 2, 0, 0, lens[i], cp,
						 PYOBJ_STR_MAX + 100);

			CHECK_INT(rd(f, s4, out, sizeof(out)),
				  PYOBJ_STR_MAX + 3);
			CHECK_STR(out, want);
			CHECK(f->reads <= 2);
			CHECK_INT(rd(f, s1, out, sizeof(out)),
				  PYOBJ_STR_MAX + 3);
			CHECK_STR(out, want);
			CHECK_INT(rd(f, sl, out, sizeof(out)),
				  PYOBJ_STR_MAX + 3);
			CHECK_STR(out, want);
			/* a small buffer: the buffer bounds the read too */
			CHECK_INT(rd(f, s4, out, 11), 10);
			CHECK_STR(out, "abcdefghij");
		}
		/* the cap is met exactly: no marker */
		CHECK_INT(rd(f,
			     mk_str_raw(f, 1, 1, 1, PYOBJ_STR_MAX, cp,
					PYOBJ_STR_MAX),
			     out, sizeof(out)),
			  PYOBJ_STR_MAX);
	}
}

TEST(pyobj_str_faults)
{
	FOR_EACH_FAKE(f)
	{
		char out[32];
		uint64_t s = mk_str(f, "legacy", 0), data;

		CHECK_INT(rd(f, 0, out, sizeof(out)), -EFAULT);
		CHECK_INT(rd(f, 8, out, sizeof(out)), -EFAULT);
		CHECK_INT(rd(f, FAKE_BASE + FAKE_SIZE + 64, out, sizeof(out)),
			  -EFAULT);
		CHECK_INT(rd(f, UINT64_MAX - 16, out, sizeof(out)), -EFAULT);
		/* legacy data pointer NULL, then out of the target */
		memcpy(&data, at(f, s + f->l->unicode.data_any), 8);
		put64(f, s + f->l->unicode.data_any, 0);
		CHECK_INT(rd(f, s, out, sizeof(out)), -EFAULT);
		put64(f, s + f->l->unicode.data_any, FAKE_BASE - 4096);
		CHECK_INT(rd(f, s, out, sizeof(out)), -EFAULT);
		put64(f, s + f->l->unicode.data_any, data);
		CHECK_INT(rd(f, s, out, sizeof(out)), 6);
	}
}

TEST(pyobj_str_at_end_of_mapping)
{
	FOR_EACH_FAKE(f)
	{
		char out[64];
		uint64_t s = mk_str(f, "tail", 1), s2;

		/* Nothing readable after the object (its NUL included): the
		 * first, longer read faults, the short one must not. */
		f->limit = s + f->l->unicode.ascii_size + 5 - FAKE_BASE;
		CHECK_INT(rd(f, s, out, sizeof(out)), 4);
		CHECK_STR(out, "tail");
		/* the text itself cut off by the end: a fault */
		f->limit = s + f->l->unicode.ascii_size + 2 - FAKE_BASE;
		CHECK_INT(rd(f, s, out, sizeof(out)), -EFAULT);
		/* header cut off */
		f->limit = s + 8 - FAKE_BASE;
		CHECK_INT(rd(f, s, out, sizeof(out)), -EFAULT);
		f->limit = FAKE_SIZE;
		s2 = mk_str(f, "日本", 1);
		f->limit = s2 + f->l->unicode.compact_size + 6 - FAKE_BASE;
		CHECK_INT(rd(f, s2, out, sizeof(out)), 6);
		CHECK_STR(out, "日本");
	}
}

/* -------------------------------------------------------- bytes, int -- */

static uint64_t mk_bytes(struct fake *f, const void *p, int64_t n, size_t have)
{
	const struct py_layout *l = f->l;
	uint64_t o = fake_alloc(f, l->bytes.ob_sval + have + 1);

	put64(f, o, 1);
	put64(f, o + l->object.ob_type, f->bytes_type);
	put64(f, o + l->bytes.ob_size, (uint64_t)n);
	memcpy(at(f, o + l->bytes.ob_sval), p, have);
	return o;
}

TEST(pyobj_bytes)
{
	FOR_EACH_FAKE(f)
	{
		static uint8_t big[100000];
		uint8_t *out = NULL;
		size_t len = 99;
		uint64_t b;

		b = mk_bytes(f, "ab\0cd", 5, 5);
		CHECK_INT(pyobj__read_bytes(f->l, &f->m, b, 100, &out, &len),
			  0);
		CHECK_INT(len, 5);
		CHECK(out && memcmp(out, "ab\0cd", 5) == 0);
		free(out);

		b = mk_bytes(f, "", 0, 0);
		CHECK_INT(pyobj__read_bytes(f->l, &f->m, b, 100, &out, &len),
			  0);
		CHECK_INT(len, 0);
		CHECK(out != NULL);
		free(out);

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = i * 7;
		b = mk_bytes(f, big, sizeof(big), sizeof(big));
		f->reads = 0;
		CHECK_INT(pyobj__read_bytes(f->l, &f->m, b, PYOBJ_BYTES_MAX,
					    &out, &len),
			  0);
		CHECK_INT(f->reads, 2);
		CHECK_INT(len, sizeof(big));
		CHECK(out && memcmp(out, big, sizeof(big)) == 0);
		free(out);

		CHECK_INT(pyobj__read_bytes(f->l, &f->m, b, 1000, &out, &len),
			  -E2BIG);
		CHECK(out == NULL);
		CHECK_INT(len, 0);
		/* a size beyond PYOBJ_BYTES_MAX is refused whatever max says */
		b = mk_bytes(f, "x", PYOBJ_BYTES_MAX + 1, 1);
		CHECK_INT(pyobj__read_bytes(f->l, &f->m, b, SIZE_MAX, &out,
					    &len),
			  -E2BIG);
		b = mk_bytes(f, "x", -1, 1);
		CHECK_INT(pyobj__read_bytes(f->l, &f->m, b, 100, &out, &len),
			  -EINVAL);
		/* claims more than exists */
		b = mk_bytes(f, "x", 1000, 1);
		f->limit = b + f->l->bytes.ob_sval + 2 - FAKE_BASE;
		CHECK_INT(pyobj__read_bytes(f->l, &f->m, b, 10000, &out, &len),
			  -EFAULT);
		CHECK(out == NULL);
	}
}

TEST(pyobj_ulong)
{
	static const uint64_t vals[] = {
		0,
		1,
		42,
		(1u << 30) - 1,
		1u << 30,
		1ull << 60,
		0x7f1234567890ull,
		UINT64_MAX - 1,
		UINT64_MAX,
	};

	FOR_EACH_FAKE(f)
	{
		const struct py_layout *l = f->l;
		uint64_t v, o;

		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			v = 12345;
			CHECK_INT(pyobj__read_ulong(l, &f->m,
						    mk_long(f, vals[i], 0), &v),
				  0);
			CHECK(v == vals[i]);
		}
		CHECK_INT(pyobj__read_ulong(l, &f->m, mk_long(f, 5, 1), &v),
			  -ERANGE);
		/* 2^64: digits 0, 0, 16 */
		o = mk_long(f, 1ull << 60, 0);
		put32(f, o + l->obj.long_digits + 8, 16);
		put64(f, o + l->obj.long_size, l->obj.long_tagged ? 3 << 3 : 3);
		CHECK_INT(pyobj__read_ulong(l, &f->m, o, &v), -ERANGE);
		/* four digits */
		put64(f, o + l->obj.long_size, l->obj.long_tagged ? 4 << 3 : 4);
		CHECK_INT(pyobj__read_ulong(l, &f->m, o, &v), -ERANGE);
		/* a digit of more than 30 bits */
		o = mk_long(f, 7, 0);
		put32(f, o + l->obj.long_digits, 1u << 30);
		CHECK_INT(pyobj__read_ulong(l, &f->m, o, &v), -EINVAL);
		if (l->obj.long_tagged) {
			o = mk_long(f, 7, 0);
			put64(f, o + l->obj.long_size, 1 << 3 | 3);
			CHECK_INT(pyobj__read_ulong(l, &f->m, o, &v), -EINVAL);
			/* bit 2 (3.14: immortal small int) is ignored */
			put64(f, o + l->obj.long_size, 1 << 3 | 4);
			CHECK_INT(pyobj__read_ulong(l, &f->m, o, &v), 0);
			CHECK_INT(v, 7);
		}
		CHECK_INT(pyobj__read_ulong(l, &f->m, 0, &v), -EFAULT);
		/* a one-digit int at the very end of the readable memory */
		o = mk_long(f, 99, 0);
		f->limit = o + l->obj.long_digits + 4 - FAKE_BASE;
		CHECK_INT(pyobj__read_ulong(l, &f->m, o, &v), 0);
		CHECK_INT(v, 99);
	}
}

/* ---------------------------------------------------------- dict tests -- */

static int count_cb(uint64_t key, uint64_t value, void *arg)
{
	int *n = arg;

	(void)key;
	(void)value;
	++*n;
	return 0;
}

static int fail_cb(uint64_t key, uint64_t value, void *arg)
{
	(void)key;
	(void)value;
	(void)arg;
	return -EIO;
}

TEST(pyobj_dict_str_keys)
{
	FOR_EACH_FAKE(f)
	{
		const struct py_layout *l = f->l;
		const char *keys[] = { "alpha",	    NULL,      "β",
				       "threading", "_active", "日本" };
		uint64_t vals[] = { 0x1111, 0x2222, 0x3333,
				    0x4444, 0x5555, 0x6666 };
		uint64_t d = mk_str_dict(f, keys, vals, 6), v;
		int n = 0;

		for (int i = 0; i < 6; i++) {
			if (!keys[i])
				continue;
			CHECK_INT(pyobj__dict_get(l, &f->m, d, keys[i], &v), 0);
			CHECK(v == vals[i]);
		}
		v = 1;
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "missing", &v), 0);
		CHECK(v == 0);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "alph", &v), 0);
		CHECK(v == 0);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "alphaa", &v), 0);
		CHECK(v == 0);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "", &v), 0);
		CHECK(v == 0);
		CHECK_INT(pyobj__dict_foreach(l, &f->m, d, 100, count_cb, &n),
			  0);
		CHECK_INT(n, 5); /* the deleted entry is skipped */
		n = 0;
		CHECK_INT(pyobj__dict_foreach(l, &f->m, d, 2, count_cb, &n), 0);
		CHECK_INT(n, 2);
		n = 0;
		CHECK_INT(pyobj__dict_foreach(l, &f->m, d, 0, count_cb, &n), 0);
		CHECK_INT(n, 0);
		CHECK_INT(pyobj__dict_foreach(l, &f->m, d, 9, fail_cb, NULL),
			  -EIO);
		/* a dict value deleted (NULL) */
		vals[0] = 0;
		d = mk_str_dict(f, keys, vals, 6);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "alpha", &v), 0);
		CHECK(v == 0);
	}
}

struct seen {
	int n;
	struct ent e[8];
};

static int seen_cb(uint64_t key, uint64_t value, void *arg)
{
	struct seen *s = arg;

	s->e[s->n].key = key;
	s->e[s->n].value = value;
	return ++s->n == 8;
}

TEST(pyobj_dict_general_keys)
{
	FOR_EACH_FAKE(f)
	{
		const struct py_layout *l = f->l;
		uint64_t fake_type = mk_type(f, 0, 0, 0), impostor, v, d;
		struct seen seen = { 0 };
		struct ent e[4];

		/* an int key, and an object that is not a str but whose
		 * bytes read as the str "threading" */
		impostor = mk_str(f, "threading", 1);
		put64(f, impostor + l->object.ob_type, fake_type);
		e[0] = (struct ent){ mk_long(f, 3, 0), 0x100 };
		e[1] = (struct ent){ impostor, 0x200 };
		e[2] = (struct ent){ mk_str(f, "threading", 0), 0x300 };
		e[3] = (struct ent){ mk_str(f, "x", 1), 0x400 };
		d = mk_dict(f, mk_keys(f, 3, 0, e, 4), 0);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "threading", &v), 0);
		CHECK(v == 0x300);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "x", &v), 0);
		CHECK(v == 0x400);
		CHECK_INT(pyobj__dict_foreach(l, &f->m, d, 8, seen_cb, &seen),
			  0);
		CHECK_INT(seen.n, 4);
		for (int i = 0; i < 4 && i < seen.n; i++)
			CHECK(seen.e[i].key == e[i].key &&
			      seen.e[i].value == e[i].value);
	}
}

TEST(pyobj_dict_split_values)
{
	FOR_EACH_FAKE(f)
	{
		const struct py_layout *l = f->l;
		struct ent e[3] = {
			{ mk_str(f, "_name", 1), 0xaaa0 },
			{ mk_str(f, "_ident", 1), 0 },
			{ mk_str(f, "_daemonic", 1), 0xccc0 },
		};
		uint64_t vals = mk_values(f, e, 3, 3, 1);
		uint64_t d = mk_dict(f, mk_keys(f, 3, 2, e, 3), vals), v;
		int n = 0;

		CHECK_INT(pyobj__dict_get(l, &f->m, d, "_name", &v), 0);
		CHECK(v == 0xaaa0);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "_ident", &v), 0);
		CHECK(v == 0);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "_daemonic", &v), 0);
		CHECK(v == 0xccc0);
		CHECK_INT(pyobj__dict_foreach(l, &f->m, d, 10, count_cb, &n),
			  0);
		CHECK_INT(n, 2);
		if (l->obj.values_prefix) {
			/* 3.13+: values beyond capacity do not exist */
			d = mk_dict(f, mk_keys(f, 3, 2, e, 3),
				    mk_values(f, e, 3, 2, 1));
			CHECK_INT(pyobj__dict_get(l, &f->m, d, "_daemonic", &v),
				  0);
			CHECK(v == 0);
		}
		if (l->obj.dict_keys_new) {
			/* values with keys that are not split: corrupt */
			d = mk_dict(f, mk_keys(f, 3, 1, e, 3), vals);
			CHECK_INT(pyobj__dict_get(l, &f->m, d, "_name", &v),
				  -EINVAL);
			/* split keys without values: corrupt */
			d = mk_dict(f, mk_keys(f, 3, 2, e, 3), 0);
			CHECK_INT(pyobj__dict_get(l, &f->m, d, "_name", &v),
				  -EINVAL);
		}
	}
}

/* d["threading"] through memo, or UINT64_MAX if the look-up failed. */
static uint64_t threading_in(struct fake *f, uint64_t d,
			     struct pyobj_dict_memo *memo)
{
	uint64_t v;

	if (pyobj__dict_get_memo(f->l, &f->m, d, "threading", memo, &v))
		return UINT64_MAX;
	return v;
}

TEST(pyobj_dict_memo)
{
	FOR_EACH_FAKE(f)
	{
		const struct py_layout *l = f->l;
		struct pyobj_dict_memo memo = { 0 };
		struct ent e[6] = {
			{ mk_str(f, "sys", 1), 0x100 },
			{ mk_str(f, "os", 1), 0x200 },
			{ mk_str(f, "abc", 1), 0x300 },
			{ mk_str(f, "threading", 1), 0x400 },
			{ mk_str(f, "time", 1), 0x500 },
			{ 0, 0 },
		};
		uint64_t k = mk_keys(f, 4, 1, e, 6), d = mk_dict(f, k, 0), v;
		uint64_t key3 = keys_entry_key(f, k, 3);
		uint64_t key5 = keys_entry_key(f, k, 5);
		int cold;

		/* 5 entries in use; the sixth is where an insert goes */
		put64(f, keys_nentries(f, k), 5);
		f->reads = 0;
		CHECK(threading_in(f, d, &memo) == 0x400);
		cold = f->reads;
		/* again: the dict, its keys, the one entry; no key read */
		f->reads = 0;
		CHECK(threading_in(f, d, &memo) == 0x400);
		CHECK_INT(f->reads, 3);
		CHECK(cold >= 7);
		/* a new value under the same key is seen */
		put64(f, key3 + 8, 0x450);
		CHECK(threading_in(f, d, &memo) == 0x450);
		/* deleted (key and value cleared): looked for again, absent */
		put64(f, key3, 0);
		put64(f, key3 + 8, 0);
		CHECK(threading_in(f, d, &memo) == 0);
		CHECK(memo.ix == PYOBJ_MEMO_ABSENT);
		f->reads = 0;
		CHECK(threading_in(f, d, &memo) == 0);
		CHECK_INT(f->reads, 2);
		/* inserted again (appended): found, not "still absent" */
		put64(f, key5, e[3].key);
		put64(f, key5 + 8, 0x600);
		put64(f, keys_nentries(f, k), 6);
		CHECK(threading_in(f, d, &memo) == 0x600);
		CHECK(memo.ix == 5);
		/* another key object at the memo's entry: compared again */
		put64(f, key5, mk_str(f, "threadinG", 1));
		CHECK(threading_in(f, d, &memo) == 0);
		/* resized: a new keys table, looked through again */
		put64(f, d + l->obj.dict_keys, mk_keys(f, 4, 1, e, 5));
		CHECK(threading_in(f, d, &memo) == 0x400);
		/* the memo is of one dict: another is looked through */
		CHECK(threading_in(f, mk_dict(f, k, 0), &memo) == 0);
		/* and a memo does not make an unreadable dict readable */
		CHECK_INT(pyobj__dict_get_memo(l, &f->m, FAKE_BASE - 64,
					       "threading", &memo, &v),
			  -EFAULT);
	}
}

TEST(pyobj_dict_corrupt)
{
	FOR_EACH_FAKE(f)
	{
		const struct py_layout *l = f->l;
		const char *keys[] = { "a", "b" };
		uint64_t vals[] = { 1, 2 }, d, k, v;
		int n = 0;

		d = mk_str_dict(f, keys, vals, 2);
		memcpy(&k, at(f, d + l->obj.dict_keys), 8);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v), 0);
		CHECK_INT(v, 2);

		/* not a dict */
		put64(f, d + l->object.ob_type, f->str_type);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v), -EINVAL);
		CHECK_INT(v, 0);
		CHECK_INT(pyobj__dict_foreach(l, &f->m, d, 5, count_cb, &n),
			  -EINVAL);
		put64(f, d + l->object.ob_type, f->dict_type);

		/* more entries than 2/3 of the slots */
		put64(f, k + (l->obj.dict_keys_new ? 24 : 32), 43);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v), -EINVAL);
		put64(f, k + (l->obj.dict_keys_new ? 24 : 32), (uint64_t)-1);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v), -EINVAL);
		put64(f, k + (l->obj.dict_keys_new ? 24 : 32), 2);

		if (l->obj.dict_keys_new) {
			uint8_t *h = at(f, k);

			h[9] = 7; /* log2 index bytes does not match size 64 */
			CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v),
				  -EINVAL);
			h[9] = 6;
			h[10] = 3; /* no such kind */
			CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v),
				  -EINVAL);
			h[10] = 1;
			h[8] = 200; /* absurd size */
			CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v),
				  -EINVAL);
			/* a big table, consistent, but too many entries to
			 * scan: refused before any is read */
			h[8] = 20;
			h[9] = 22;
			put64(f, k + 24, 100000);
			f->reads = 0;
			CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v),
				  -E2BIG);
			CHECK(f->reads <= 3);
		} else {
			put64(f, k + 8, 48); /* not a power of two */
			CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v),
				  -EINVAL);
			put64(f, k + 8, 0);
			CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v),
				  -EINVAL);
			put64(f, k + 8, 1ull << 50);
			CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v),
				  -EINVAL);
			put64(f, k + 8, 1ull << 20);
			put64(f, k + 32, 100000);
			f->reads = 0;
			CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v),
				  -E2BIG);
			CHECK(f->reads <= 3);
		}
		/* keys pointer NULL, or out of the target */
		put64(f, d + l->obj.dict_keys, 0);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v), -EFAULT);
		put64(f, d + l->obj.dict_keys, 0xdead0000);
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v), -EFAULT);
		/* entries cut off by the end of the memory */
		d = mk_str_dict(f, keys, vals, 2);
		memcpy(&k, at(f, d + l->obj.dict_keys), 8);
		f->limit = k + (l->obj.dict_keys_new ? 32 + 64 : 40 + 64) + 8 -
			   FAKE_BASE;
		CHECK_INT(pyobj__dict_get(l, &f->m, d, "b", &v), -EFAULT);
		f->limit = FAKE_SIZE;
		/* silly keys */
		CHECK_INT(pyobj__dict_get(l, &f->m, d, NULL, &v), -EINVAL);
		{
			char longkey[1024];

			memset(longkey, 'k', sizeof(longkey) - 1);
			longkey[sizeof(longkey) - 1] = 0;
			CHECK_INT(pyobj__dict_get(l, &f->m, d, longkey, &v),
				  -EINVAL);
		}
		CHECK_INT(pyobj__dict_foreach(l, &f->m, d, -1, count_cb, &n),
			  -EINVAL);
	}
}

/* A dict of 3000 str keys: several scan chunks, the last key found. */
TEST(pyobj_dict_large)
{
	FOR_EACH_FAKE(f)
	{
		static struct ent e[3000];
		char name[32];
		uint64_t d, v;
		int n = 0;

		for (int i = 0; i < 3000; i++) {
			snprintf(name, sizeof(name), "key%d", i);
			e[i] = (struct ent){ mk_str(f, name, 1), 1000 + i };
		}
		d = mk_dict(f, mk_keys(f, 13, 1, e, 3000), 0);
		CHECK_INT(pyobj__dict_get(f->l, &f->m, d, "key2999", &v), 0);
		CHECK_INT(v, 3999);
		CHECK_INT(pyobj__dict_get(f->l, &f->m, d, "key128", &v), 0);
		CHECK_INT(v, 1128);
		CHECK_INT(pyobj__dict_foreach(f->l, &f->m, d, 5000, count_cb,
					      &n),
			  0);
		CHECK_INT(n, 3000);
	}
}

/* ------------------------------------------------------------ getattr -- */

/*
 * An instance of a heap type with attributes e[], stored the way the
 * version does for a plain class; with_dict: in a real dict instead.
 */
static uint64_t mk_instance(struct fake *f, const struct ent *e, int n,
			    int with_dict)
{
	const struct py_layout *l = f->l;
	uint64_t flags = F_HEAPTYPE, type, keys, obj, d;

	keys = mk_keys(f, 3, 2, e, n);
	d = mk_dict(f, keys, mk_values(f, e, n, n, 1));
	switch (l->obj.managed_dict) {
	case PY_MD_NONE:
		type = mk_type(f, flags, 32, 16);
		obj = fake_alloc(f, 64);
		put64(f, obj + 16, d);
		break;
	case PY_MD_311:
	case PY_MD_312:
		type = mk_type(f, flags | F_MANAGED_DICT, 16, -1);
		obj = fake_alloc(f, 64) + 32; /* pre-header */
		if (with_dict)
			put64(f, obj - 24, d);
		else if (l->obj.managed_dict == PY_MD_311)
			put64(f, obj - 32, mk_values(f, e, n, n, 1));
		else
			put64(f, obj - 24, mk_values(f, e, n, n, 1) - 1);
		break;
	default: {
		/* The object header: 16 bytes, 32 free-threaded; the managed
		 * dict 3 words before the object, 1 free-threaded (no GC
		 * pre-header: pycore_object.h MANAGED_DICT_OFFSET). */
		uint64_t hdr = l->object.ob_type + 8,
			 before = l->obj.managed_dict == PY_MD_313T ? 8 : 24;

		type = mk_type(f, flags | F_MANAGED_DICT | F_INLINE_VALUES,
			       (int64_t)hdr, -1);
		obj = fake_alloc(f, 32 + hdr + 8 + 8 * n) + 32;
		memcpy(at(f, obj + hdr), at(f, mk_values(f, e, n, n, 1)),
		       8 + 8 * n);
		if (with_dict) {
			/* given up for a dict: invalid, and cleared */
			((uint8_t *)at(f, obj + hdr))[3] = 0;
			memset(at(f, obj + hdr + 8), 0, 8 * n);
			put64(f, obj - before, d);
		}
		break;
	}
	}
	put64(f, obj, 1);
	put64(f, obj + l->object.ob_type, type);
	put64(f, type + l->obj.ht_cached_keys, keys);
	return obj;
}

TEST(pyobj_getattr)
{
	FOR_EACH_FAKE(f)
	{
		const struct py_layout *l = f->l;
		struct ent e[3] = {
			{ mk_str(f, "_name", 1), mk_str(f, "worker-α", 1) },
			{ mk_str(f, "_ident", 1), 0 },
			{ mk_str(f, "_target", 1), 0x7770 },
		};

		for (int with_dict = 0; with_dict < 2; with_dict++) {
			uint64_t o = mk_instance(f, e, 3, with_dict), v;
			char out[32];

			CHECK_INT(pyobj__getattr(l, &f->m, o, "_name", &v), 0);
			CHECK(v == e[0].value);
			CHECK_INT(pyobj__read_str(l, &f->m, v, out, 32), 9);
			CHECK_STR(out, "worker-α");
			CHECK_INT(pyobj__getattr(l, &f->m, o, "_target", &v),
				  0);
			CHECK(v == 0x7770);
			v = 5;
			CHECK_INT(pyobj__getattr(l, &f->m, o, "_ident", &v), 0);
			CHECK(v == 0);
			CHECK_INT(pyobj__getattr(l, &f->m, o, "nope", &v), 0);
			CHECK(v == 0);
		}
	}
}

TEST(pyobj_getattr_no_dict)
{
	FOR_EACH_FAKE(f)
	{
		const struct py_layout *l = f->l;
		uint64_t type = mk_type(f, 0, 16, 0), o = fake_alloc(f, 32), v;

		put64(f, o + l->object.ob_type, type);
		/* no __dict__ at all (tp_dictoffset 0) */
		CHECK_INT(pyobj__getattr(l, &f->m, o, "x", &v), 0);
		CHECK(v == 0);
		/* a dict offset from the end of a variable-size object */
		put64(f, type + l->obj.type_dictoffset, (uint64_t)-8);
		CHECK_INT(pyobj__getattr(l, &f->m, o, "x", &v), -EOPNOTSUPP);
		/* a NULL dict pointer */
		put64(f, type + l->obj.type_dictoffset, 16);
		CHECK_INT(pyobj__getattr(l, &f->m, o, "x", &v), 0);
		CHECK(v == 0);
		/* not an object */
		CHECK_INT(pyobj__getattr(l, &f->m, 0, "x", &v), -EFAULT);
		CHECK_INT(pyobj__getattr(l, &f->m, 16, "x", &v), -EFAULT);
		if (l->obj.managed_dict != PY_MD_NONE) {
			/* managed values on a type that is not a heap type:
			 * no ht_cached_keys to read them with */
			struct ent e[1] = { { mk_str(f, "x", 1), 0x10 } };

			o = mk_instance(f, e, 1, 0);
			memcpy(&type, at(f, o + l->object.ob_type), 8);
			put64(f, type + l->obj.type_flags,
			      F_MANAGED_DICT | F_INLINE_VALUES);
			CHECK_INT(pyobj__getattr(l, &f->m, o, "x", &v),
				  -EINVAL);
		}
	}
}

/* ------------------------------------------------------------ garbage -- */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int nop_cb(uint64_t key, uint64_t value, void *arg)
{
	(void)key;
	(void)value;
	(void)arg;
	return 0;
}

/*
 * Memory of random words, many of them pointers back into it and small
 * numbers: every reader must come back, with an error or a bounded result,
 * whatever it is pointed at (run it under ASan/UBSan: make SAN=1).
 */
TEST(pyobj_garbage)
{
	FOR_EACH_FAKE(f)
	{
		const struct py_layout *l = f->l;
		uint64_t seed = 0x9e3779b97f4a7c15ull + _v;
		size_t words = f->limit / 8;

		for (size_t i = 512; i < words; i++) {
			uint64_t r = rnd(&seed), w;

			switch (r % 8) {
			case 0:
			case 1:
			case 2:
				w = FAKE_BASE + (rnd(&seed) % f->limit & ~7ull);
				break;
			case 3:
				w = r >> 56;
				break;
			case 4:
				w = 0;
				break;
			case 5:
				w = F_STR | F_DICT | F_HEAPTYPE |
				    F_MANAGED_DICT | F_INLINE_VALUES;
				break;
			default:
				w = rnd(&seed);
				break;
			}
			put64(f, FAKE_BASE + 8 * i, w);
		}
		for (int i = 0; i < 20000; i++) {
			uint64_t a = FAKE_BASE + rnd(&seed) % f->limit, v;
			struct pythread_name names[4];
			uint8_t *b = NULL;
			size_t blen;
			char out[64];
			int r;

			if (i & 1)
				a &= ~7ull;
			r = pyobj__read_str(l, &f->m, a, out, sizeof(out));
			CHECK(r < 0 ? out[0] == 0 :
				      (size_t)r == strlen(out) ||
					      memchr(out, 0, r));
			r = pyobj__read_bytes(l, &f->m, a, 4096, &b, &blen);
			CHECK(r < 0 ? !b : blen <= 4096);
			free(b);
			r = pyobj__read_ulong(l, &f->m, a, &v);
			CHECK(r <= 0);
			r = pyobj__dict_get(l, &f->m, a, "_name", &v);
			CHECK(r <= 0);
			r = pyobj__dict_foreach(l, &f->m, a, 1000, nop_cb,
						NULL);
			CHECK(r <= 0);
			r = pyobj__getattr(l, &f->m, a, "_name", &v);
			CHECK(r <= 0);
			r = pythread__names(l, &f->m, a, names, 4);
			CHECK(r <= 4);
		}
	}
}

/* ----------------------------------------------------- pythread (fake) -- */

TEST(pythread_names_fake)
{
	FOR_EACH_FAKE(f)
	{
		const struct py_layout *l = f->l;
		const char *tnames[] = { "MainThread", "worker-α", "io pool" };
		uint64_t idents[] = { 0x7f0000001740ull, 0x7f00000a2640ull,
				      0x7f00001b3640ull };
		struct ent act[3];
		struct pythread_name out[8];
		uint64_t interp, modules, mod, mdict, v;
		const char *mkeys[3] = { "sys", "threading", "os" };
		uint64_t mvals[3];
		const char *dkeys[2] = { "_limbo", "_active" };
		uint64_t dvals[2];
		int n;

		/* _native_id: a tid, a str (not an int: none), absent */
		for (int i = 0; i < 3; i++) {
			struct ent e[3] = {
				{ mk_str(f, "_target", 1), 0x1 },
				{ mk_str(f, "_name", 1),
				  mk_str(f, tnames[i], 1) },
				{ mk_str(f, "_native_id", 1),
				  i ? mk_str(f, "1234", 1) :
				      mk_long(f, 4242, 0) },
			};

			act[i].key = mk_long(f, idents[i], 0);
			act[i].value =
				mk_instance(f, e, i == 2 ? 2 : 3, i == 2);
		}
		dvals[0] = mk_str_dict(f, NULL, NULL, 0);
		dvals[1] = mk_dict(f, mk_keys(f, 3, 0, act, 3), 0);
		mdict = mk_str_dict(f, dkeys, dvals, 2);
		mod = fake_alloc(f, 64);
		put64(f, mod + l->obj.module_dict, mdict);
		mvals[0] = 0x5000;
		mvals[1] = mod;
		mvals[2] = 0x6000;
		modules = mk_str_dict(f, mkeys, mvals, 3);
		interp = fake_alloc(f, l->obj.interp_modules + 8);
		put64(f, interp + l->obj.interp_modules, modules);

		n = pythread__names(l, &f->m, interp, out, 8);
		CHECK_INT(n, 3);
		for (int i = 0; i < 3 && i < n; i++) {
			CHECK(out[i].thread_id == idents[i]);
			CHECK(out[i].native_id == (i ? 0 : 4242));
			CHECK_STR(out[i].name, tnames[i]);
		}
		CHECK_INT(pythread__names(l, &f->m, interp, out, 2), 2);
		CHECK_INT(pythread__names(l, &f->m, interp, out, 0), 0);

		/* one Thread unreadable: skipped */
		memcpy(&v, at(f, act[1].value + l->object.ob_type), 8);
		put64(f, act[1].value + l->object.ob_type, 0x40);
		n = pythread__names(l, &f->m, interp, out, 8);
		CHECK_INT(n, 2);
		CHECK(n == 2 && out[1].thread_id == idents[2]);
		put64(f, act[1].value + l->object.ob_type, v);

		/* threading not imported */
		mvals[1] = 0;
		modules = mk_str_dict(f, mkeys, mvals, 3);
		put64(f, interp + l->obj.interp_modules, modules);
		CHECK_INT(pythread__names(l, &f->m, interp, out, 8), 0);
		/* sys.modules not there yet */
		put64(f, interp + l->obj.interp_modules, 0);
		CHECK_INT(pythread__names(l, &f->m, interp, out, 8), 0);
		/* sys.modules is garbage */
		put64(f, interp + l->obj.interp_modules, interp);
		CHECK(pythread__names(l, &f->m, interp, out, 8) < 0);
		CHECK_INT(pythread__names(l, &f->m, 0, out, 8), -EFAULT);
	}
}

/* --------------------------------------------------------- live tests -- */

/*
 * The child prints, on one line: the interpreter state; ids of str objects
 * (compact ASCII, latin-1, UCS-2, UCS-4, a str subclass); of a bytes, an
 * int, a dict and its value for "β"; of an instance, its attribute x, and
 * another instance whose __dict__ was replaced, and its attribute w; then
 * the idents of the main thread and of the threads "worker-α", "io pool",
 * then their native ids.
 */
static const char child_py[] =
	"import ctypes, sys, threading\n"
	"ev = threading.Event()\n"
	"ts = [threading.Thread(target=ev.wait, name=n, daemon=True)\n"
	"      for n in ('worker-\\u03b1', 'io pool')]\n"
	"for t in ts: t.start()\n"
	"class S(str): pass\n"
	"class C: pass\n"
	"s = ['plain ascii', 'na\\u00efve caf\\u00e9', '\\u65e5\\u672c\\u8a9e',\n"
	"     'snake \\U0001f40d!', S('h\\u00e9llo legacy')]\n"
	"b = b'ab\\x00cd' * 100\n"
	"n = int('18446744073709551615')\n"
	"d = {'alpha': 1, '\\u03b2': s[2], 3: 'x'}\n"
	"o = C(); o.x = 'attr-\\u00e9'; o.y = 7\n"
	"o2 = C(); o2.__dict__ = {'w': 'ww', 5: 6}\n"
	"f = ctypes.pythonapi.PyInterpreterState_Main\n"
	"f.restype = ctypes.c_void_p\n"
	"print(f(), *[id(x) for x in s], id(b), id(n), id(d), id(d['\\u03b2']),\n"
	"      id(o), id(o.x), id(o2), id(o2.w), threading.get_ident(),\n"
	"      ts[0].ident, ts[1].ident, threading.get_native_id(),\n"
	"      ts[0].native_id, ts[1].native_id, flush=True)\n"
	"sys.stdin.read()\n";

enum {
	L_INTERP,
	L_S0,
	L_S1,
	L_S2,
	L_S3,
	L_S4,
	L_BYTES,
	L_INT,
	L_DICT,
	L_DICT_BETA,
	L_OBJ,
	L_OBJ_X,
	L_OBJ2,
	L_OBJ2_W,
	L_MAIN,
	L_T1,
	L_T2,
	L_MAIN_TID,
	L_T1_TID,
	L_T2_TID,
	L_N
};

struct child {
	pid_t pid;
	int in, out;
	uint64_t v[L_N];
};

static void child_stop(struct child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	if (c->in >= 0)
		close(c->in);
	if (c->out >= 0)
		close(c->out);
	c->pid = -1;
	c->in = c->out = -1;
}

/* Starts python and reads its line.  0, or -1 with a reason in why. */
static int child_start(struct child *c, const char *python, char *why,
		       size_t whylen)
{
	int pin[2], pout[2];
	char line[4096];
	size_t len = 0;
	char *p;

	c->pid = -1;
	c->in = c->out = -1;
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC)) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	c->pid = fork();
	if (c->pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		execl(python, python, "-I", "-c", child_py, (char *)NULL);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	c->in = pin[1];
	c->out = pout[0];
	if (c->pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	while (!memchr(line, '\n', len) && len < sizeof(line) - 1) {
		struct pollfd pfd = { .fd = c->out, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, 20000) <= 0) {
			snprintf(why, whylen, "%s: no output in 20 s", python);
			return -1;
		}
		r = read(c->out, line + len, sizeof(line) - 1 - len);
		if (r <= 0) {
			snprintf(why, whylen, "%s exited early", python);
			return -1;
		}
		len += r;
	}
	line[len] = 0;
	p = line;
	for (int i = 0; i < L_N; i++) {
		char *end;

		c->v[i] = strtoull(p, &end, 10);
		if (end == p) {
			snprintf(why, whylen, "bad line from %s: %.120s",
				 python, line);
			return -1;
		}
		p = end;
	}
	return 0;
}

/* The layout for python's version (micro: its patch level), or NULL with a
 * SKIP reason. */
static const struct py_layout *live_layout(unsigned version, unsigned micro,
					   const char *python, char *why,
					   size_t whylen)
{
	static struct py_layout l;

	if (geteuid() != 0) {
		snprintf(why, whylen,
			 "live tests read another process: need root");
		return NULL;
	}
	if (access(python, X_OK) != 0) {
		snprintf(why, whylen, "%s not installed", python);
		return NULL;
	}
	if (py_layout__lookup(version, micro, false, &l)) {
		snprintf(why, whylen, "no layout for 3.%u", version & 0xff);
		return NULL;
	}
	return &l;
}

static void live_pyobj(unsigned version, unsigned micro, const char *python)
{
	static const char *const want[] = {
		"plain ascii", "naïve café",   "日本語",
		"snake 🐍!",    "héllo legacy",
	};
	const struct py_layout *l;
	struct child c;
	struct rmem m;
	char why[256], out[256];
	uint8_t *bytes = NULL;
	size_t blen = 0;
	uint64_t v;

	l = live_layout(version, micro, python, why, sizeof(why));
	if (!l)
		SKIP("%s", why);
	if (child_start(&c, python, why, sizeof(why))) {
		child_stop(&c);
		unit__fail(__FILE__, __LINE__, "%s", why);
		return;
	}
	rmem__init_pid(&m, c.pid);
	for (int i = 0; i < 5; i++) {
		CHECK_INT(pyobj__read_str(l, &m, c.v[L_S0 + i], out,
					  sizeof(out)),
			  strlen(want[i]));
		CHECK_STR(out, want[i]);
	}
	CHECK_INT(pyobj__read_bytes(l, &m, c.v[L_BYTES], 1000, &bytes, &blen),
		  0);
	CHECK_INT(blen, 500);
	CHECK(bytes && memcmp(bytes + 495, "ab\0cd", 5) == 0);
	free(bytes);
	CHECK_INT(pyobj__read_ulong(l, &m, c.v[L_INT], &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_INT(pyobj__dict_get(l, &m, c.v[L_DICT], "β", &v), 0);
	CHECK(v == c.v[L_DICT_BETA]);
	CHECK_INT(pyobj__dict_get(l, &m, c.v[L_DICT], "gamma", &v), 0);
	CHECK(v == 0);
	CHECK_INT(pyobj__getattr(l, &m, c.v[L_OBJ], "x", &v), 0);
	CHECK(v == c.v[L_OBJ_X]);
	CHECK_INT(pyobj__read_str(l, &m, v, out, sizeof(out)), 7);
	CHECK_STR(out, "attr-é");
	CHECK_INT(pyobj__getattr(l, &m, c.v[L_OBJ], "zz", &v), 0);
	CHECK(v == 0);
	CHECK_INT(pyobj__getattr(l, &m, c.v[L_OBJ2], "w", &v), 0);
	CHECK(v == c.v[L_OBJ2_W]);
	child_stop(&c);
}

static void live_pythread(unsigned version, unsigned micro, const char *python)
{
	static const char *const names[] = { "MainThread", "worker-α",
					     "io pool" };
	const struct py_layout *l;
	struct pythread_name out[16];
	struct child c;
	struct rmem m;
	char why[256];
	int n;

	l = live_layout(version, micro, python, why, sizeof(why));
	if (!l)
		SKIP("%s", why);
	if (child_start(&c, python, why, sizeof(why))) {
		child_stop(&c);
		unit__fail(__FILE__, __LINE__, "%s", why);
		return;
	}
	rmem__init_pid(&m, c.pid);
	n = pythread__names(l, &m, c.v[L_INTERP], out, 16);
	CHECK_INT(n, 3);
	for (int i = 0; i < 3; i++) {
		int found = 0;

		for (int j = 0; j < n; j++) {
			if (out[j].thread_id != c.v[L_MAIN + i])
				continue;
			found = 1;
			CHECK_STR(out[j].name, names[i]);
			CHECK(out[j].native_id == c.v[L_MAIN_TID + i]);
		}
		if (!found)
			unit__fail(__FILE__, __LINE__,
				   "thread %s (%#llx) not found", names[i],
				   (unsigned long long)c.v[L_MAIN + i]);
	}
	child_stop(&c);
}

#define PYENV "/root/.pyenv/versions/"
#define LIVE(tag, maj, min, micro, python)                     \
	TEST(pyobj_live_##tag)                                 \
	{                                                      \
		live_pyobj(PYVER(maj, min), micro, python);    \
	}                                                      \
	TEST(pythread_names_##tag)                             \
	{                                                      \
		live_pythread(PYVER(maj, min), micro, python); \
	}

LIVE(3_8, 3, 8, 18, PYENV "3.8.18/bin/python3")
LIVE(3_9, 3, 9, 18, PYENV "3.9.18/bin/python3")
LIVE(3_10, 3, 10, 13, PYENV "3.10.13/bin/python3")
LIVE(3_11, 3, 11, 7, PYENV "3.11.7/bin/python3")
LIVE(3_12, 3, 12, 1, PYENV "3.12.1/bin/python3")
LIVE(3_13, 3, 13, 0, PYENV "3.13.0/bin/python3")
LIVE(3_11_debian, 3, 11, 2, "/usr/bin/python3.11")
/* Debian unstable's, through the launchers of scripts/debian-root. */
LIVE(3_14_debian, 3, 14, 10, unit__debian_python("3.14"))
LIVE(3_15_debian, 3, 15, 2, unit__debian_python("3.15"))
