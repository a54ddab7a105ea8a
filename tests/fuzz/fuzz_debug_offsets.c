// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes py_layout__from_debug_offsets (src/python/layout.c): the
 * _Py_DebugOffsets a 3.13+ target carries at the start of _PyRuntime, which
 * the target controls and which then decides every offset we read at.
 * Input: the bytes read from _PyRuntime (at most the 2048 python.c reads).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "python/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct py_layout l;
	char err[256], diff[256];
	uint8_t *buf;

	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (py_layout__from_debug_offsets(buf, size, &l, err, sizeof(err)) ==
	    0) {
		const struct py_layout *b = py_layout__builtin(l.version);

		/* python.c's cross-check with the built-in table */
		if (b)
			py_layout__diff(&l, b, diff, sizeof(diff));
	} else if (!memchr(err, '\0', sizeof(err)) || !err[0]) {
		abort(); /* an error always says why */
	}
	free(buf);
	return 0;
}
