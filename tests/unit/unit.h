/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A tiny unit-test harness.  TEST(name) { ... } registers a test; CHECK*
 * record a failure with file:line and carry on, REQUIRE* stop the test,
 * SKIP(reason) stops it as skipped.  A test with a failed CHECK or REQUIRE
 * has failed, whether it called SKIP before or after: a skip never hides a
 * failure.
 * tests/unit/main.c runs them: `unit_tests --list`, `unit_tests NAME...`, or
 * all of them; the pytest wrapper (tests/test_unit.py) runs each by name.
 */
#ifndef PYPROF_UNIT_H
#define PYPROF_UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
	struct unit_test *next;
};

void unit__register(struct unit_test *t);
void unit__fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void unit__skip(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Debian unstable's root with CPython 3.14 and 3.15 (scripts/debian-root):
 * $PYPROF_DEBIAN_ROOT, else .deps/debian-unstable; and the launcher of its
 * python<minor> ("3.15"), which runs it there with chroot.
 */
const char *unit__debian_root(void);
const char *unit__debian_python(const char *minor);
extern int unit_failures; /* failures in the running test */
extern int unit_skipped; /* the running test called SKIP */

/* Ends the test (or the helper it is in) as skipped, with the reason: it
 * never passes silently. */
#define SKIP(...)                                            \
	do {                                                 \
		unit__skip(__FILE__, __LINE__, __VA_ARGS__); \
		return;                                      \
	} while (0)

#define TEST(name)                                                          \
	static void test_##name(void);                                      \
	static struct unit_test unit_##name = { #name, test_##name, NULL }; \
	__attribute__((constructor)) static void unit_reg_##name(void)      \
	{                                                                   \
		unit__register(&unit_##name);                               \
	}                                                                   \
	static void test_##name(void)

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond))                                                \
			unit__fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
	} while (0)

#define REQUIRE(cond)                                                         \
	do {                                                                  \
		if (!(cond)) {                                                \
			unit__fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond); \
			return;                                               \
		}                                                             \
	} while (0)

#define CHECK_INT(a, b)                                                       \
	do {                                                                  \
		long long _a = (long long)(a), _b = (long long)(b);           \
		if (_a != _b)                                                 \
			unit__fail(__FILE__, __LINE__,                        \
				   "%s == %s: %lld != %lld", #a, #b, _a, _b); \
	} while (0)

#define CHECK_STR(a, b)                                                     \
	do {                                                                \
		const char *_a = (a), *_b = (b);                            \
		if (!_a || !_b || strcmp(_a, _b) != 0)                      \
			unit__fail(__FILE__, __LINE__,                      \
				   "%s == %s: \"%s\" != \"%s\"", #a, #b,    \
				   _a ? _a : "(null)", _b ? _b : "(null)"); \
	} while (0)

#endif /* PYPROF_UNIT_H */
