// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes the line-table decoders (src/python/linetable.c): co_lnotab (3.8, 3.9), the
 * 3.10 co_linetable and the 3.11+ location table, on tables copied out of an
 * untrusted target.
 *
 * Input: [0] the format (1 + b % 3: lnotab, linetable310, locations),
 * [1..4] co_firstlineno (LE, signed), [5..8] the byte offset to look up (LE,
 * signed), then the table.  The table is copied to a buffer of its exact
 * size, so ASan sees a read one byte past its end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "python/linetable.h"

#define HDR 9

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum py_linetable_kind kind;
	int32_t first, addr;
	uint8_t *tab;
	size_t len;

	if (size < HDR)
		return 0;
	kind = (enum py_linetable_kind)(1 + data[0] % 3);
	memcpy(&first, data + 1, 4);
	memcpy(&addr, data + 5, 4);
	len = size - HDR;
	tab = malloc(len ? len : 1);
	if (!tab)
		return 0;
	memcpy(tab, data + HDR, len);

	if (linetable__addr2line(kind, tab, len, first, -1) != first)
		abort(); /* a frame that has not started is on its first line */
	linetable__addr2line(kind, tab, len, first, addr);
	linetable__addr2line(kind, NULL, 0, first, addr);
	/* Offsets spread over what a table this long can describe (an
	 * entry covers at most 255 bytes), and past it. */
	for (int k = 0; k <= 32; k++) {
		int off = (int)((size_t)k * (len * 128 + 8) / 32) & ~1;
		int line = linetable__addr2line(kind, tab, len, first, off);

		if (line < -1)
			abort();
	}
	linetable__addr2line(kind, tab, len, first, INT32_MAX);
	free(tab);
	return 0;
}
