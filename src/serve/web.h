/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The live page's files (src/serve/web/), compiled into the binary: the
 * agent serves every byte of its page itself and reads no file to do so.
 */
#ifndef PYPROF_WEB_H
#define PYPROF_WEB_H

#include <stdbool.h>
#include <stddef.h>

struct web_asset {
	const char *path; /* "/", "/app.js" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
};

/* The index of the file served at path, or -1. */
int web__find(const char *path);
/* File i into *a; false past the last. */
bool web__asset(unsigned i, struct web_asset *a);

#endif /* PYPROF_WEB_H */
