// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * src/python/linetable.c against ground truth from real interpreters, and against
 * hostile input.
 *
 * tests/fixtures/linetable-<version>.txt are written by
 * tests/fixtures/gen_linetables.py run under each CPython: for every code
 * object of its samples, the raw table and the line PyCode_Addr2Line gives at
 * every byte offset (see the generator for the format).  They are committed,
 * so a missing one is a failure, not a skip.  Paths are relative to
 * $PYPROF_ROOT, or to the current directory (the repo root under `make`).
 */
#include "unit.h"

#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/linetable.h"

struct lt_code {
	int firstlineno;
	int nbytes;
	char *name; /* "<variant> <path>" */
	uint8_t *tab;
	size_t tablen;
	int *lines; /* nbytes entries: the line at each byte offset */
	int edge[5]; /* at -2, -1, nbytes, nbytes + 1, nbytes + 2 */
};

struct lt_fixture {
	char path[512];
	char version[32]; /* "3.11.7" */
	enum py_linetable_kind kind;
	struct lt_code *codes;
	size_t ncodes;
};

static const int edge_off[5] = { -2, -1, 0, 1, 2 }; /* last three: + nbytes */

static int edge_addr(const struct lt_code *c, int i)
{
	return i < 2 ? edge_off[i] : c->nbytes + edge_off[i];
}

static const char *root(void)
{
	const char *r = getenv("PYPROF_ROOT");

	return r && *r ? r : ".";
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static void fixture_free(struct lt_fixture *fx)
{
	for (size_t i = 0; i < fx->ncodes; i++) {
		free(fx->codes[i].name);
		free(fx->codes[i].tab);
		free(fx->codes[i].lines);
	}
	free(fx->codes);
	fx->codes = NULL;
	fx->ncodes = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex(const char *s, uint8_t **out, size_t *outlen)
{
	size_t n = strlen(s);

	*out = NULL;
	*outlen = 0;
	if (strcmp(s, "-") == 0)
		return 0;
	if (n % 2)
		return -1;
	*out = malloc(n / 2 ? n / 2 : 1);
	if (!*out)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		(*out)[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 0;
}

/* "<count>x<line> ..." into c->lines; every byte offset exactly once. */
static int parse_lines(const char *s, struct lt_code *c)
{
	long at = 0;
	char *end;

	c->lines = malloc(sizeof(int) * (size_t)(c->nbytes ? c->nbytes : 1));
	if (!c->lines)
		return -1;
	while (*s) {
		long count, line;

		while (*s == ' ')
			s++;
		if (!*s)
			break;
		count = strtol(s, &end, 10);
		if (end == s || *end != 'x' || count <= 0 ||
		    count > c->nbytes - at)
			return -1;
		s = end + 1;
		line = strtol(s, &end, 10);
		if (end == s || line < INT_MIN || line > INT_MAX)
			return -1;
		s = end;
		for (long i = 0; i < count; i++)
			c->lines[at++] = (int)line;
	}
	return at == c->nbytes ? 0 : -1;
}

static int version_kind(const char *version, enum py_linetable_kind *kind)
{
	int maj, min;

	if (sscanf(version, "%d.%d", &maj, &min) != 2 || maj != 3 || min < 8)
		return -1;
	*kind = min <= 9  ? PY_LT_LNOTAB :
		min == 10 ? PY_LT_LINETABLE310 :
			    PY_LT_LOCATIONS;
	return 0;
}

/* Loads a fixture; reports what is wrong with it and returns -1. */
static int fixture_load(const char *path, struct lt_fixture *fx)
{
	size_t len, cap = 0;
	char *buf = read_file(path, &len), *line, *save = NULL;
	int lineno = 0, have_kind = 0;
	struct lt_code *cur = NULL;
	enum { WANT_CODE, WANT_TABLE, WANT_LINES, WANT_EDGE } want = WANT_CODE;

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->path, sizeof(fx->path), "%s", path);
	if (!buf) {
		unit__fail(__FILE__, __LINE__,
			   "%s: missing or unreadable (regenerate with "
			   "tests/fixtures/gen_linetables.py)",
			   path);
		return -1;
	}
	if (memchr(buf, '\0', len)) {
		unit__fail(__FILE__, __LINE__, "%s: NUL byte", path);
		goto bad;
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "python ", 7) == 0) {
			snprintf(fx->version, sizeof(fx->version), "%s",
				 line + 7);
		} else if (strncmp(line, "kind ", 5) == 0) {
			enum py_linetable_kind k;

			if (strcmp(line + 5, "lnotab") == 0)
				fx->kind = PY_LT_LNOTAB;
			else if (strcmp(line + 5, "linetable310") == 0)
				fx->kind = PY_LT_LINETABLE310;
			else if (strcmp(line + 5, "locations") == 0)
				fx->kind = PY_LT_LOCATIONS;
			else
				goto syntax;
			/* the kind the profiler would pick for this version */
			if (version_kind(fx->version, &k) < 0 || k != fx->kind)
				goto syntax;
			have_kind = 1;
		} else if (want == WANT_CODE &&
			   strncmp(line, "code ", 5) == 0) {
			int first, n, used = 0;

			if (!have_kind ||
			    sscanf(line + 5, "%d %d %n", &first, &n, &used) <
				    2 ||
			    !used || n < 0 || n % 2)
				goto syntax;
			if (fx->ncodes == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct lt_code *nc =
					realloc(fx->codes, ncap * sizeof(*nc));

				if (!nc)
					goto bad;
				fx->codes = nc;
				cap = ncap;
			}
			cur = &fx->codes[fx->ncodes++];
			memset(cur, 0, sizeof(*cur));
			cur->firstlineno = first;
			cur->nbytes = n;
			cur->name = strdup(line + 5 + used);
			if (!cur->name)
				goto bad;
			want = WANT_TABLE;
		} else if (want == WANT_TABLE &&
			   strncmp(line, "table ", 6) == 0) {
			if (parse_hex(line + 6, &cur->tab, &cur->tablen) < 0)
				goto syntax;
			want = WANT_LINES;
		} else if (want == WANT_LINES &&
			   strncmp(line, "lines", 5) == 0) {
			if (parse_lines(line + 5, cur) < 0)
				goto syntax;
			want = WANT_EDGE;
		} else if (want == WANT_EDGE &&
			   strncmp(line, "edge ", 5) == 0) {
			if (sscanf(line + 5, "%d %d %d %d %d", &cur->edge[0],
				   &cur->edge[1], &cur->edge[2], &cur->edge[3],
				   &cur->edge[4]) != 5)
				goto syntax;
			want = WANT_CODE;
		} else {
			goto syntax;
		}
	}
	if (want != WANT_CODE || !have_kind || fx->ncodes == 0) {
		unit__fail(__FILE__, __LINE__, "%s: truncated or empty", path);
		goto bad;
	}
	free(buf);
	return 0;
syntax:
	unit__fail(__FILE__, __LINE__, "%s:%d: bad fixture line", path, lineno);
bad:
	free(buf);
	fixture_free(fx);
	return -1;
}

/*
 * Decodes one code object's table at every byte offset and the edges;
 * returns the number of mismatches, reporting the first `report` of them.
 * *checked counts the offsets compared.
 */
static long check_code(const struct lt_fixture *fx, const struct lt_code *c,
		       const uint8_t *tab, long report, long *checked)
{
	long bad = 0;

	for (int i = 0; i < c->nbytes + 5; i++) {
		int addr = i < c->nbytes ? i : edge_addr(c, i - c->nbytes);
		int want = i < c->nbytes ? c->lines[i] : c->edge[i - c->nbytes];
		int got = linetable__addr2line(fx->kind, tab, c->tablen,
					       c->firstlineno, addr);

		(*checked)++;
		if (got == want)
			continue;
		if (bad++ < report)
			unit__fail(__FILE__, __LINE__,
				   "python %s, code %s (firstlineno %d): "
				   "offset %d: line %d, want %d",
				   fx->version, c->name, c->firstlineno, addr,
				   got, want);
	}
	return bad;
}

static void check_fixture_file(const char *path)
{
	struct lt_fixture fx;
	long bad = 0, checked = 0;

	if (fixture_load(path, &fx) < 0)
		return;
	for (size_t i = 0; i < fx.ncodes; i++) {
		const struct lt_code *c = &fx.codes[i];
		/* an exact-size copy, so a sanitizer sees any overread */
		uint8_t *tab = malloc(c->tablen ? c->tablen : 1);

		REQUIRE(tab);
		if (c->tablen)
			memcpy(tab, c->tab, c->tablen);
		bad += check_code(&fx, c, tab, bad < 20 ? 20 - bad : 0,
				  &checked);
		free(tab);
	}
	printf("# %s: python %s, %zu code objects, %ld offsets checked, "
	       "%ld wrong\n",
	       path, fx.version, fx.ncodes, checked, bad);
	CHECK_INT(bad, 0);
	fixture_free(&fx);
}

static void check_fixture(const char *minor)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/tests/fixtures/linetable-%s.txt",
		 root(), minor);
	check_fixture_file(path);
}

TEST(linetable_fixture_3_8)
{
	check_fixture("3.8");
}
TEST(linetable_fixture_3_9)
{
	check_fixture("3.9");
}
TEST(linetable_fixture_3_10)
{
	check_fixture("3.10");
}
TEST(linetable_fixture_3_11)
{
	check_fixture("3.11");
}
TEST(linetable_fixture_3_12)
{
	check_fixture("3.12");
}
TEST(linetable_fixture_3_13)
{
	check_fixture("3.13");
}

static int is_required(const char *path)
{
	static const char *const req[] = { "3.8",  "3.9",  "3.10",
					   "3.11", "3.12", "3.13" };
	const char *base = strrchr(path, '/');
	char name[64];

	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		snprintf(name, sizeof(name), "linetable-%s.txt", req[i]);
		if (strcmp(base, name) == 0)
			return 1;
	}
	return 0;
}

/* Any other fixture (another build of a version, a newer version). */
TEST(linetable_fixture_others)
{
	char pat[512];
	glob_t g;
	int n = 0;

	snprintf(pat, sizeof(pat), "%s/tests/fixtures/linetable-*.txt", root());
	if (glob(pat, 0, NULL, &g) != 0)
		SKIP("no fixtures match %s", pat);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		if (is_required(g.gl_pathv[i]))
			continue;
		check_fixture_file(g.gl_pathv[i]);
		n++;
	}
	globfree(&g);
	if (n == 0)
		SKIP("no fixtures besides the required ones");
}

/* The checker must be able to fail: a wrong table or a wrong expectation. */
TEST(linetable_fixture_checker_detects_corruption)
{
	static const char *const minors[] = { "3.8", "3.10", "3.12" };

	for (size_t m = 0; m < 3; m++) {
		char path[512];
		struct lt_fixture fx;
		struct lt_code *big = NULL;
		long checked = 0;
		uint8_t *tab;

		snprintf(path, sizeof(path),
			 "%s/tests/fixtures/linetable-%s.txt", root(),
			 minors[m]);
		if (fixture_load(path, &fx) < 0)
			continue;
		for (size_t i = 0; i < fx.ncodes; i++)
			if (!big || fx.codes[i].tablen > big->tablen)
				big = &fx.codes[i];
		REQUIRE(big && big->tablen >= 4 && big->nbytes > 0);
		CHECK_INT(check_code(&fx, big, big->tab, 0, &checked), 0);

		/* one expected line off by one */
		big->lines[big->nbytes / 2]++;
		CHECK_INT(check_code(&fx, big, big->tab, 0, &checked), 1);
		big->lines[big->nbytes / 2]--;

		/* the first line delta of the table changed */
		tab = malloc(big->tablen);
		REQUIRE(tab);
		memcpy(tab, big->tab, big->tablen);
		if (fx.kind == PY_LT_LOCATIONS)
			tab[0] = 0x80 | (11 << 3) | (tab[0] & 7); /* +1 line */
		else
			tab[1] ^= 1;
		CHECK(check_code(&fx, big, tab, 0, &checked) > 0);
		free(tab);
		fixture_free(&fx);
	}
}

/*
 * Every prefix of every real table: no read past the prefix (each is its own
 * exact-size allocation; run under -fsanitize=address to see it) and a result
 * that follows from what the prefix still holds:
 *  - lnotab: the full answer below the prefix's last offset, past it the
 *    line after the prefix's last pair;
 *  - 3.10: the full answer inside the prefix's ranges, -1 past them;
 *  - 3.11+: the full answer in the ranges of complete entries, the full answer
 *    or -1 in the last (maybe cut) entry, -1 past it.
 */
struct prefix_model {
	int64_t sure_end; /* below: the full answer */
	int64_t maybe_end; /* below (and >= sure_end): full answer or -1 */
	int after; /* at and above maybe_end */
};

static void prefix_model(enum py_linetable_kind kind, const uint8_t *tab,
			 size_t k, int firstlineno, struct prefix_model *pm)
{
	int64_t off = 0, line = firstlineno, last = 0;

	pm->sure_end = pm->maybe_end = 0;
	pm->after = -1;
	switch (kind) {
	case PY_LT_LNOTAB:
		for (size_t i = 0; i + 1 < k; i += 2) {
			off += tab[i];
			line += (int8_t)tab[i + 1];
		}
		pm->sure_end = pm->maybe_end = off;
		pm->after = line < 0 || line > INT_MAX ? -1 : (int)line;
		return;
	case PY_LT_LINETABLE310:
		for (size_t i = 0; i + 1 < k; i += 2)
			off += tab[i];
		pm->sure_end = pm->maybe_end = off;
		pm->after = -1;
		return;
	case PY_LT_LOCATIONS:
		for (size_t i = 0; i < k; i++) {
			if (i == 0 || (tab[i] & 0x80)) {
				last = off;
				off += ((tab[i] & 7) + 1) * 2;
			}
		}
		pm->sure_end = last;
		pm->maybe_end = off;
		pm->after = -1;
		return;
	}
}

/*
 * Each decode walks up to the whole prefix, so all prefixes of a table cost
 * its length squared: every prefix of the first 2 KB and the last 512 bytes,
 * every 61st in between (a handful of 3.11+ tables, of long functions, are
 * 8-15 KB).
 */
static size_t prefix_step(size_t k, size_t len)
{
	if (k < 2048 || k + 512 >= len)
		return 1;
	return k + 61 < len - 512 ? 61 : len - 512 - k;
}

TEST(linetable_truncated_prefixes)
{
	static const char *const minors[] = { "3.8",  "3.9",  "3.10",
					      "3.11", "3.12", "3.13" };
	long calls = 0;

	for (size_t m = 0; m < sizeof(minors) / sizeof(minors[0]); m++) {
		char path[512];
		struct lt_fixture fx;
		long bad = 0;

		snprintf(path, sizeof(path),
			 "%s/tests/fixtures/linetable-%s.txt", root(),
			 minors[m]);
		if (fixture_load(path, &fx) < 0)
			continue;
		for (size_t ci = 0; ci < fx.ncodes; ci++) {
			const struct lt_code *c = &fx.codes[ci];
			int n = c->nbytes;
			/* the probes around where the prefix ends, and 8
			 * offsets spread over the code (a decode costs up to
			 * the prefix length: this is quadratic in the table) */
			int stride = n / 8 > 1 ? n / 8 : 1;

			for (size_t k = 0; k <= c->tablen;
			     k += prefix_step(k, c->tablen)) {
				uint8_t *tab = malloc(k ? k : 1);
				struct prefix_model pm;
				int probe[8];

				REQUIRE(tab);
				if (k)
					memcpy(tab, c->tab, k);
				prefix_model(fx.kind, c->tab, k, c->firstlineno,
					     &pm);
				probe[0] = (int)pm.sure_end - 1;
				probe[1] = (int)pm.sure_end;
				probe[2] = (int)pm.maybe_end - 1;
				probe[3] = (int)pm.maybe_end;
				probe[4] = (int)pm.maybe_end + 1;
				probe[5] = n + 2;
				probe[6] = n - 1;
				probe[7] = INT_MAX;
				for (int j = -8; j < n + 3;
				     j += j < 0 ? 1 : stride) {
					int addr = j < 0 ? probe[j + 8] : j;
					int full, got;

					if (addr < 0)
						continue;
					if (addr < n)
						full = c->lines[addr];
					else if (addr <= n + 2)
						full = c->edge[2 + addr - n];
					else
						full = linetable__addr2line(
							fx.kind, c->tab,
							c->tablen,
							c->firstlineno, addr);
					got = linetable__addr2line(
						fx.kind, k ? tab : NULL, k,
						c->firstlineno, addr);
					calls++;
					if (addr < pm.sure_end ?
						    got == full :
					    addr < pm.maybe_end ?
						    (got == full || got == -1) :
						    got == pm.after)
						continue;
					if (bad++ < 10)
						unit__fail(
							__FILE__, __LINE__,
							"python %s, code %s: "
							"prefix %zu/%zu, "
							"offset %d: line %d "
							"(full table %d)",
							fx.version, c->name, k,
							c->tablen, addr, got,
							full);
				}
				free(tab);
			}
		}
		fixture_free(&fx);
	}
	printf("# %ld decodes of truncated tables\n", calls);
}

/* ------------------------------------------------------ hand-written --- */

static const enum py_linetable_kind kinds[] = { PY_LT_LNOTAB,
						PY_LT_LINETABLE310,
						PY_LT_LOCATIONS };

#define A2L(kind, tab, first, addr) \
	linetable__addr2line(kind, tab, sizeof(tab), first, addr)

TEST(linetable_negative_addr)
{
	static const uint8_t t[] = { 0x80, 0x00, 0x82, 0x00 };

	for (size_t i = 0; i < 3; i++) {
		CHECK_INT(linetable__addr2line(kinds[i], NULL, 0, 17, -1), 17);
		CHECK_INT(linetable__addr2line(kinds[i], NULL, 0, 17, -2), 17);
		CHECK_INT(linetable__addr2line(kinds[i], t, sizeof(t), 17,
					       INT_MIN),
			  17);
		CHECK_INT(linetable__addr2line(kinds[i], t, sizeof(t), 0, -1),
			  0);
	}
}

TEST(linetable_empty_table)
{
	static const uint8_t one[] = { 0x04 };

	/* no pairs: 3.8/3.9 stay on co_firstlineno, later versions know no
	 * range at all */
	CHECK_INT(linetable__addr2line(PY_LT_LNOTAB, NULL, 0, 5, 0), 5);
	CHECK_INT(linetable__addr2line(PY_LT_LNOTAB, one, 0, 5, 100), 5);
	CHECK_INT(linetable__addr2line(PY_LT_LINETABLE310, one, 0, 5, 0), -1);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, one, 0, 5, 0), -1);
	/* a NULL table is empty whatever the length says */
	CHECK_INT(linetable__addr2line(PY_LT_LNOTAB, NULL, 99, 5, 3), 5);
	CHECK_INT(linetable__addr2line(PY_LT_LINETABLE310, NULL, 99, 5, 3), -1);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, NULL, 99, 5, 3), -1);
	/* half a pair is no pair */
	CHECK_INT(A2L(PY_LT_LNOTAB, one, 5, 10), 5);
	CHECK_INT(A2L(PY_LT_LINETABLE310, one, 5, 0), -1);
	/* an unknown kind */
	CHECK_INT(linetable__addr2line((enum py_linetable_kind)0, one, 1, 5, 0),
		  -1);
}

/* The worked example of Objects/lnotab_notes.txt (3.8/3.9): offsets 0, 6, 50,
 * 350, 361 start lines 1, 2, 7, 207, 208. */
TEST(linetable_lnotab_example)
{
	static const uint8_t t[] = { 0, 1,  6,	 1, 44, 5,  255,
				     0, 45, 127, 0, 73, 11, 1 };
	static const uint8_t neg[] = { 4, 3, 2, 0xfe, 2, 0x80, 2, 0x7f };

	/* firstlineno 0 so that the first pair's +1 gives line 1 */
	CHECK_INT(A2L(PY_LT_LNOTAB, t, 0, 0), 1);
	CHECK_INT(A2L(PY_LT_LNOTAB, t, 0, 5), 1);
	CHECK_INT(A2L(PY_LT_LNOTAB, t, 0, 6), 2);
	CHECK_INT(A2L(PY_LT_LNOTAB, t, 0, 49), 2);
	CHECK_INT(A2L(PY_LT_LNOTAB, t, 0, 50), 7);
	CHECK_INT(A2L(PY_LT_LNOTAB, t, 0, 349), 7);
	CHECK_INT(A2L(PY_LT_LNOTAB, t, 0, 350), 207);
	CHECK_INT(A2L(PY_LT_LNOTAB, t, 0, 360), 207);
	CHECK_INT(A2L(PY_LT_LNOTAB, t, 0, 361), 208);
	/* no end in this format: past the last pair is the last line */
	CHECK_INT(A2L(PY_LT_LNOTAB, t, 0, 100000), 208);
	CHECK_INT(A2L(PY_LT_LNOTAB, t, 0, INT_MAX), 208);

	/* signed line increments (3.6+): -2, -128, +127 */
	CHECK_INT(A2L(PY_LT_LNOTAB, neg, 1000, 3), 1000);
	CHECK_INT(A2L(PY_LT_LNOTAB, neg, 1000, 4), 1003);
	CHECK_INT(A2L(PY_LT_LNOTAB, neg, 1000, 6), 1001);
	CHECK_INT(A2L(PY_LT_LNOTAB, neg, 1000, 8), 873);
	CHECK_INT(A2L(PY_LT_LNOTAB, neg, 1000, 10), 1000);
	/* a line below 0 is no line */
	CHECK_INT(A2L(PY_LT_LNOTAB, neg, 100, 8), -1);
}

TEST(linetable_310_forms)
{
	static const uint8_t t[] = {
		6,   1, /* [0, 6): first + 1 */
		0,   127, /* zero width: only moves the line */
		4,   0x80, /* [6, 10): no line (-128), line unchanged */
		2,   3, /* [10, 12): first + 131 */
		254, 0xfd, /* [12, 266): first + 128 */
		0,   0x80, /* zero width, no line */
		2,   0, /* [266, 268): first + 128 */
		7, /* a lone byte: ignored */
	};

	CHECK_INT(A2L(PY_LT_LINETABLE310, t, 10, 0), 11);
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, 10, 5), 11);
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, 10, 6), -1);
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, 10, 9), -1);
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, 10, 10), 141);
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, 10, 12), 138);
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, 10, 265), 138);
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, 10, 266), 138);
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, 10, 267), 138);
	/* past the end: no range, no line */
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, 10, 268), -1);
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, 10, INT_MAX), -1);
	/* a line below 0 or above INT_MAX is no line */
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, -1, 0), 0);
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, -2, 0), -1);
	CHECK_INT(A2L(PY_LT_LINETABLE310, t, INT_MAX, 0), -1);
}

/* A location entry header: bit 7, the code, the length in code units - 1. */
#define LOC(code, units) ((uint8_t)(0x80 | (code) << 3 | ((units)-1)))

TEST(linetable_locations_forms)
{
	static const uint8_t t[] = {
		LOC(14, 1), 0x03, 0x00, 0x01, 0x02, /* [0,2): long, -1 */
		LOC(0, 2),  0x12, /* [2,6): short, same line */
		LOC(9, 1),  0x7f, /* [6,8): short 9 */
		LOC(11, 3), 4,	  10, /* [8,14): one line, +1 */
		LOC(12, 1), 0,	  0, /* [14,16): +2 */
		LOC(10, 1), 0,	  0, /* [16,18): +0 */
		LOC(15, 8), /* [18,34): no location */
		LOC(13, 1), 0x28, /* [34,36): no columns, +20 */
		LOC(13, 1), 0x51, 0x01, /* [36,38): -40 (0x51 0x01) */
		LOC(14, 2), 0x44, 0x04, 0x00, 0x00, 0x00, /* [38,42): +130 */
		LOC(15, 1), /* [42,44): none */
		LOC(5, 1),  0x00, /* [44,46): same line */
	};

	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 0), 99);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 1), 99);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 2), 99);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 5), 99);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 7), 99);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 8), 100);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 13), 100);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 14), 102);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 16), 102);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 18), -1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 33), -1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 34), 122);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 36), 82);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 38), 212);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 41), 212);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 42), -1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 44), 212);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 45), 212);
	/* past the end */
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, 46), -1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 100, INT_MAX), -1);
}

/* What CPython's reader does with a first byte lacking bit 7: the kind from
 * bits 3-6, and "no location" only with bit 7 set. */
TEST(linetable_locations_first_byte_without_bit7)
{
	static const uint8_t none_like[] = { 15 << 3, LOC(11, 1), 0, 0 };
	static const uint8_t nocol[] = { 13 << 3, 0x04, LOC(0, 1), 0 };

	CHECK_INT(A2L(PY_LT_LOCATIONS, none_like, 7, 0), 7);
	CHECK_INT(A2L(PY_LT_LOCATIONS, none_like, 7, 2), 8);
	CHECK_INT(A2L(PY_LT_LOCATIONS, nocol, 7, 0), 9);
	CHECK_INT(A2L(PY_LT_LOCATIONS, nocol, 7, 2), 9);
}

TEST(linetable_varint_never_ends)
{
	uint8_t t[1 + 4096];
	/* 11 chunks reach shift 60: still read; a 12th would be past 63 */
	static const uint8_t eleven[] = { LOC(13, 1), 0x40, 0x40, 0x40,
					  0x40,	      0x40, 0x40, 0x40,
					  0x40,	      0x40, 0x40, 0x00,
					  LOC(0, 1),  0 };
	static const uint8_t twelve[] = { LOC(13, 1), 0x40,	 0x40, 0x40,
					  0x40,	      0x40,	 0x40, 0x40,
					  0x40,	      0x40,	 0x40, 0x40,
					  0x00,	      LOC(0, 1), 0 };
	/* the varint runs into the next entry's header */
	static const uint8_t into_next[] = { LOC(13, 1), 0x41, LOC(13, 1),
					     0x02 };
	static const uint8_t cut[] = { LOC(0, 1), 0, LOC(14, 1), 0x7f };
	static const uint8_t empty_body[] = { LOC(0, 1), 0, LOC(13, 1) };

	t[0] = LOC(14, 1);
	memset(t + 1, 0x7f, sizeof(t) - 1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 1, 0), -1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 1, 1000), -1);
	t[0] = LOC(13, 8);
	memset(t + 1, 0x40, sizeof(t) - 1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, t, 1, 0), -1);

	CHECK_INT(A2L(PY_LT_LOCATIONS, eleven, 1, 0), 1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, eleven, 1, 2), 1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, twelve, 1, 0), -1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, twelve, 1, 2), -1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, into_next, 1, 0), -1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, into_next, 1, 2), -1);
	/* entries before a bad one are still fine */
	CHECK_INT(A2L(PY_LT_LOCATIONS, cut, 1, 1), 1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, cut, 1, 2), -1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, empty_body, 1, 0), 1);
	CHECK_INT(A2L(PY_LT_LOCATIONS, empty_body, 1, 2), -1);
}

/* A signed varint entry of kind 13 with the given delta (|delta| < 2^62). */
static size_t put_nocol(uint8_t *p, int64_t delta)
{
	uint64_t u = delta < 0 ? ((uint64_t)-delta << 1) | 1 :
				 (uint64_t)delta << 1;
	size_t n = 0;

	p[n++] = LOC(13, 1);
	do {
		p[n] = u & 63;
		u >>= 6;
		if (u)
			p[n] |= 64;
		n++;
	} while (u);
	return n;
}

TEST(linetable_huge_deltas)
{
	uint8_t t[64];
	size_t n = 0;
	uint8_t *lno;
	size_t lnolen = 2 * 100000;

	/* 3.11+: +3000 (a > 2000 line gap), +2^61, -2^61, then INT_MAX - 1 */
	n += put_nocol(t + n, 3000);
	n += put_nocol(t + n, (int64_t)1 << 61);
	n += put_nocol(t + n, -((int64_t)1 << 61));
	n += put_nocol(t + n, (int64_t)INT_MAX - 3001 - 1);
	n += put_nocol(t + n, 1);
	n += put_nocol(t + n, 1);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, 1, 0), 3001);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, 1, 2), -1);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, 1, 4), 3001);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, 1, 6),
		  INT_MAX - 1);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, 1, 8), INT_MAX);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, 1, 10), -1);

	/*
	 * The largest deltas we read, +(2^63 - 1) and -(2^63 - 1) in turn:
	 * the running line saturates at INT64_MAX instead of overflowing (no
	 * UB; UBSan would say), so it comes back to 0, not to where it began.
	 */
	n = 0;
	for (int i = 0; i < 4; i++) {
		t[n++] = LOC(14, 1);
		t[n++] = (i & 1) ? 0x7f : 0x7e; /* bit 0: the sign */
		for (int j = 0; j < 9; j++)
			t[n++] = 0x7f;
		t[n++] = 0x3f;
	}
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, INT_MAX, 0), -1);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, INT_MAX, 2), 0);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, INT_MAX, 4), -1);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, INT_MAX, 6), 0);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, INT_MAX, 8), -1);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, INT_MIN, 0), -1);
	CHECK_INT(linetable__addr2line(PY_LT_LOCATIONS, t, n, INT_MIN, 2), -1);

	/* 3.8/3.9 and 3.10: 100000 pairs of +127 lines */
	lno = malloc(lnolen);
	REQUIRE(lno);
	for (size_t i = 0; i < lnolen; i += 2) {
		lno[i] = i ? 0 : 2;
		lno[i + 1] = 127;
	}
	CHECK_INT(linetable__addr2line(PY_LT_LNOTAB, lno, lnolen, 1, 0), 1);
	CHECK_INT(linetable__addr2line(PY_LT_LNOTAB, lno, lnolen, 1, 2),
		  1 + 127 * 100000);
	CHECK_INT(linetable__addr2line(PY_LT_LINETABLE310, lno, lnolen, 1, 0),
		  128);
	CHECK_INT(linetable__addr2line(PY_LT_LINETABLE310, lno, lnolen, 1, 2),
		  -1);
	lno[lnolen - 2] = 2; /* the last pair now covers [2, 4) */
	CHECK_INT(linetable__addr2line(PY_LT_LINETABLE310, lno, lnolen, 1, 2),
		  1 + 127 * 100000);
	/* past INT_MAX */
	CHECK_INT(linetable__addr2line(PY_LT_LNOTAB, lno, lnolen,
				       INT_MAX - 1000, 2),
		  -1);
	CHECK_INT(linetable__addr2line(PY_LT_LINETABLE310, lno, lnolen,
				       INT_MAX - 1000, 2),
		  -1);
	free(lno);
}
