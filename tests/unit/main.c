// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Runs the unit tests registered with TEST(); see unit.h. */
#include "unit.h"

#include <stdarg.h>
#include <stdlib.h>

static struct unit_test *head, **tail = &head;
int unit_failures;
int unit_skipped;
/* The running test's first SKIP reason, and where it was given. */
static char skip_reason[512];

void unit__register(struct unit_test *t)
{
	*tail = t;
	tail = &t->next;
}

void unit__fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	unit_failures++;
}

void unit__skip(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (unit_skipped++)
		return;
	va_start(ap, fmt);
	n = vsnprintf(skip_reason, sizeof(skip_reason), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(skip_reason))
		snprintf(skip_reason + n, sizeof(skip_reason) - (size_t)n,
			 " (%s:%d)", file, line);
}

const char *unit__debian_root(void)
{
	const char *r = getenv("PYPROF_DEBIAN_ROOT");

	return r && *r ? r : ".deps/debian-unstable";
}

const char *unit__debian_python(const char *minor)
{
	static char buf[4][512];
	static unsigned next;
	char *out = buf[next++ % 4];
	const char *root = unit__debian_root(), *slash = strrchr(root, '/');
	int dir = slash ? (int)(slash - root) : 1;

	snprintf(out, sizeof(buf[0]), "%.*s/bin/python%s", dir,
		 slash ? root : ".", minor);
	return out;
}

/*
 * Returns 0 passed, 1 failed, 2 skipped.  A failure wins over a skip: the
 * test is FAIL, and its SKIP reason goes to stderr beside the failures, so
 * that no reader of stdout (tests/test_unit.py) can take it for a skip.
 */
static int run(struct unit_test *t)
{
	unit_failures = 0;
	unit_skipped = 0;
	skip_reason[0] = '\0';
	t->fn();
	if (unit_failures) {
		if (unit_skipped)
			fprintf(stderr,
				"%s: it also asked to be skipped (%s), but a "
				"failed check is a failure\n",
				t->name, skip_reason);
		printf("FAIL %s\n", t->name);
		return 1;
	}
	if (unit_skipped) {
		printf("SKIP %s\n", skip_reason);
		printf("skipped %s\n", t->name);
		return 2;
	}
	printf("ok %s\n", t->name);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0, skipped = 0, ran = 0;

	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (struct unit_test *t = head; t; t = t->next)
			printf("%s\n", t->name);
		return 0;
	}
	for (struct unit_test *t = head; t; t = t->next) {
		int want = argc == 1;

		for (int i = 1; i < argc && !want; i++)
			want = strcmp(argv[i], t->name) == 0;
		if (!want)
			continue;
		switch (run(t)) {
		case 1:
			failed++;
			break;
		case 2:
			skipped++;
			break;
		}
		ran++;
	}
	if (ran == 0) {
		fprintf(stderr, "unit_tests: no test matched; try --list\n");
		return 2;
	}
	printf("%d passed, %d failed, %d skipped\n", ran - failed - skipped,
	       failed, skipped);
	if (failed)
		return 1;
	return skipped == ran ? 77 : 0; /* 77: automake's "skipped" */
}
