// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * What several unit tests share: finding the repository, reading a file,
 * comparing output with a golden file, and the fixed profile every output
 * writer is tested with (tests/fixtures/golden/basic.*).
 */
#include "fixture.h"

#include "unit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The repository: $PYPROF_ROOT, else two levels above build/unit_tests,
 * else the current directory. */
const char *unit__repo_root(void)
{
	static char buf[PATH_MAX];
	const char *r = getenv("PYPROF_ROOT");
	ssize_t n;
	char *s;

	if (r && *r)
		return r;
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		for (int up = 0; up < 2 && (s = strrchr(buf, '/')); up++)
			*s = '\0';
		if (buf[0]) {
			char probe[PATH_MAX + 32];

			snprintf(probe, sizeof(probe), "%s/tests/fixtures",
				 buf);
			if (access(probe, F_OK) == 0)
				return buf;
		}
	}
	return ".";
}

char *unit__slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = (n + 4096 + 1) * 2);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static uint32_t S(struct profile *p, const char *s)
{
	return profile__intern_str(p, s);
}

static uint32_t F(struct profile *p, enum pframe_kind kind, const char *name,
		  const char *file, int32_t line)
{
	int64_t id = profile__frame(p, kind, S(p, name), file ? S(p, file) : 0,
				    line);

	return id < 0 ? UINT32_MAX : (uint32_t)id;
}

#define ADD(p, count, ...)                                                   \
	do {                                                                 \
		const uint32_t _fr[] = { __VA_ARGS__ };                      \
		CHECK_INT(profile__add(p, _fr, sizeof(_fr) / sizeof(_fr[0]), \
				       count),                               \
			  0);                                                \
	} while (0)

/* The profile tests/fixtures/golden/basic.folded describes. */
struct profile *unit__basic_profile(void)
{
	struct profile *p = profile__new();
	uint32_t P, TM, TW, TW2, TE, A, B, C, D, E, Fm, M, NPF, G1, G2, N, X;
	static const uint32_t none[1] = { 0 };

	if (!p)
		return NULL;
	P = F(p, PF_PROCESS, "python3-4242", NULL, -1);
	TM = F(p, PF_THREAD, "MainThread", NULL, -1);
	TW = F(p, PF_THREAD, "worker;1", NULL, -1); /* prints worker:1 */
	TW2 = F(p, PF_THREAD, "worker:1", NULL,
		-1); /* another frame, same text */
	TE = F(p, PF_THREAD, "", NULL, -1); /* [unknown] */
	A = F(p, PF_PYTHON, "<module>", "app.py", 40);
	B = F(p, PF_PYTHON, "héllo", "日本語.py", 7);
	C = F(p, PF_PYTHON,
	      "bad\nname\twith\x7f"
	      "del",
	      "x.py", 3);
	D = F(p, PF_PYTHON, "", "e.py", 5);
	E = F(p, PF_PYTHON, "f", "a.py", -1); /* line unknown: no ":line" */
	Fm = F(p, PF_PYTHON, "mod", "m.py", 0); /* line 0 is a line */
	M = F(p, PF_MARKER, "[truncated]", NULL, -1);
	NPF = F(p, PF_MARKER, "[no Python frame]", NULL, -1);
	G1 = F(p, PF_PYTHON, "g;h", "z.py", 9); /* G1 and G2 print alike */
	G2 = F(p, PF_PYTHON, "g:h", "z.py", 9);
	N = F(p, PF_PYTHON, "nofile", NULL, 2); /* no file: "?" */
	X = F(p, PF_PYTHON, "x", "semi;colon.py", 1);

	ADD(p, 10, P, TM, A, B);
	ADD(p, 3, P, TM, A, C);
	ADD(p, 2, P, TW, A, D);
	ADD(p, 1, P, TW, E);
	ADD(p, 4, P, TM, Fm);
	ADD(p, 5, P, TM, A, B); /* the same stack again: 15 */
	ADD(p, 6, P, TM, M, A, B);
	ADD(p, 7, P, TW, A, G1);
	ADD(p, 8, P, TW, A, G2); /* three stacks that print the */
	ADD(p, 100, P, TW2, A, G1); /* same line: 115 */
	ADD(p, 1, P, TM, N);
	ADD(p, 2, P, TW, X);
	ADD(p, 9, P, TE, NPF);
	ADD(p, 4294967296ull, P, TM, A);
	ADD(p, 0, P, TM, E); /* a stack with no samples: not written */
	profile__add(p, none, 0, 5); /* an empty stack: not written */
	return p;
}

/* Reports the first difference between got and want, line by line. */
void unit__report_diff(const char *got, size_t glen, const char *want,
		       size_t wlen)
{
	size_t i = 0, line = 1, bol = 0;

	while (i < glen && i < wlen && got[i] == want[i]) {
		if (got[i] == '\n') {
			line++;
			bol = i + 1;
		}
		i++;
	}
	unit__fail(
		__FILE__, __LINE__,
		"output differs from the golden file at line %zu, byte %zu:\n"
		"  got:  \"%.*s\"\n  want: \"%.*s\"",
		line, i, (int)strcspn(got + bol, "\n"), got + bol,
		(int)strcspn(want + bol, "\n"), want + bol);
}
