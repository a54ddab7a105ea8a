/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* The one line an error gets on stderr: "pyprof-bpf[ COMMAND]: what; fix". */
#ifndef PYPROF_MSG_H
#define PYPROF_MSG_H

/* Prints "WHO: " and the formatted message, and a newline, to stderr. */
void msg__fail(const char *who, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* PYPROF_MSG_H */
