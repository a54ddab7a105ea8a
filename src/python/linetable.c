// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Byte offset -> source line, for the three line table formats CPython 3.8+
 * has used.  Each decoder returns what the target's own PyCode_Addr2Line()
 * would for a well-formed table, and something harmless (never a read past
 * the end, never undefined behaviour) for a table that is not: the bytes come
 * from another process's memory and may be torn, stale or hostile.
 *
 * Arithmetic is done in int64_t with saturation, so no sequence of deltas can
 * overflow; a line that ends up outside [0, INT_MAX] is reported as -1 (no
 * line) rather than wrapped.  Addresses never need saturation: every loop
 * stops as soon as the running address passes addr (an int), and one entry
 * adds at most 255 bytes.
 */
#include "python/linetable.h"

#include <limits.h>

static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

static int line_result(int64_t line)
{
	if (line < 0 || line > INT_MAX)
		return -1;
	return (int)line;
}

/* A byte as a two's complement signed char, without implementation-defined
 * conversions. */
static int sbyte(uint8_t b)
{
	return b < 0x80 ? (int)b : (int)b - 256;
}

/*
 * co_lnotab, CPython 3.8 and 3.9 (Objects/lnotab_notes.txt of those
 * releases): pairs (unsigned byte-offset increment, signed line increment),
 * starting from offset 0 and co_firstlineno.  The line of addr is the line
 * after applying every pair whose cumulative offset is <= addr; PyCode_Addr2Line
 * breaks out as soon as the cumulative offset passes addr.  A trailing odd
 * byte is ignored (it walks len / 2 pairs).
 *
 * The table has no end address (co_code's length bounds it, and that is not
 * in the table), so offsets past the last pair get the last pair's line, as
 * in CPython: this decoder never returns -1 for a well-formed table.
 */
static int addr2line_lnotab(const uint8_t *tab, size_t len, int firstlineno,
			    int addr)
{
	int64_t line = firstlineno, off = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		off += tab[i];
		if (off > addr)
			break;
		line = sat_add(line, sbyte(tab[i + 1]));
	}
	return line_result(line);
}

/*
 * co_linetable, CPython 3.10 (Objects/lnotab_notes.txt of 3.10): pairs
 * (unsigned byte length of a range, signed line delta), where a line delta of
 * -128 means the range has no line and leaves the running line unchanged.
 * Ranges are consecutive from offset 0; zero-length ranges (used to split
 * line deltas beyond a byte) only move the running line.  An offset in no
 * range (past the end) has no line: _PyCode_CheckLineNumber returns -1 once
 * PyLineTable_NextAddressRange runs out.
 */
static int addr2line_310(const uint8_t *tab, size_t len, int firstlineno,
			 int addr)
{
	int64_t line = firstlineno, end = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		int ldelta = sbyte(tab[i + 1]);

		end += tab[i];
		if (ldelta != -128)
			line = sat_add(line, ldelta);
		/* start (the previous end) <= addr, or we would have stopped */
		if (addr < end)
			return ldelta == -128 ? -1 : line_result(line);
	}
	return -1;
}

/*
 * An unsigned varint of the 3.11+ location table (Objects/locations.md): 6-bit
 * chunks, least significant first, bit 6 set on every chunk but the last.
 * Reads only p[0..n).  Returns 0, or -1 if the chunks run past n or would
 * need a shift past 63 bits (no real table comes near: CPython's own reader
 * keeps 32 bits).
 */
static int read_varint(const uint8_t *p, size_t n, uint64_t *val)
{
	uint64_t v = 0;
	unsigned shift = 0;

	for (size_t i = 0; i < n; i++) {
		v |= (uint64_t)(p[i] & 63) << shift;
		if (!(p[i] & 64)) {
			*val = v;
			return 0;
		}
		shift += 6;
		if (shift > 63)
			return -1;
	}
	return -1;
}

/* A signed varint: the unsigned value holds |s| << 1, with bit 0 the sign. */
static int read_svarint(const uint8_t *p, size_t n, int64_t *val)
{
	uint64_t u;

	if (read_varint(p, n, &u) < 0)
		return -1;
	/* u >> 1 < 2^63, so both results fit */
	*val = (u & 1) ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
	return 0;
}

/* _PyCodeLocationInfoKind (Include/cpython/code.h, 3.11-3.13) */
enum {
	LOC_ONE_LINE0 = 10,
	LOC_ONE_LINE1 = 11,
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,
	LOC_LONG = 14,
	LOC_NONE = 15,
};

/*
 * The location table, CPython 3.11 and later (Objects/locations.md; the same
 * format in 3.12, 3.13 and 3.14).  A sequence of entries, each a header byte
 * with bit 7 set, then bytes with bit 7 clear:
 *
 *	header bit 7 = 1, bits 3-6 = code, bits 0-2 = length in code units - 1
 *	code 0-9    short form: same line, one byte of columns
 *	code 10-12  one-line form: line += code - 10, two bytes of columns
 *	code 13     no columns: line += svarint
 *	code 14     long form: line += svarint, then end line and columns
 *	code 15     no location: line unchanged, the range has no line
 *
 * The start line is a delta from the previous entry's (co_firstlineno for the
 * first), so every entry before addr's must be decoded.  Ranges are counted in
 * 2-byte code units from offset 0; addr is a byte offset, so the running end
 * is kept in bytes.
 *
 * Like CPython's advance() (Objects/codeobject.c), an entry runs from its
 * header to the next byte with bit 7 set, the entry kind comes from bits 3-6
 * even if bit 7 is clear (only possible for the first byte), and "no
 * location" needs the whole top five bits set.  Only the line delta is read
 * from an entry's body; a needed varint cut short by the end of the entry
 * makes every later line unknown, so we return -1.
 */
static int addr2line_locations(const uint8_t *tab, size_t len, int firstlineno,
			       int addr)
{
	int64_t line = firstlineno, end = 0;
	size_t i = 0;

	while (i < len) {
		uint8_t hdr = tab[i];
		unsigned code = (hdr >> 3) & 15;
		size_t next = i + 1;
		int64_t delta = 0;

		while (next < len && !(tab[next] & 0x80))
			next++;
		switch (code) {
		case LOC_NO_COLUMNS:
		case LOC_LONG:
			if (read_svarint(tab + i + 1, next - i - 1, &delta) < 0)
				return -1;
			break;
		case LOC_ONE_LINE1:
		case LOC_ONE_LINE2:
			delta = code - LOC_ONE_LINE0;
			break;
		default: /* short forms, LOC_ONE_LINE0, LOC_NONE */
			break;
		}
		line = sat_add(line, delta);
		end += ((hdr & 7) + 1) * 2;
		if (addr < end)
			return (hdr >> 3) == 0x1f ? -1 : line_result(line);
		i = next;
	}
	return -1;
}

int linetable__addr2line(enum py_linetable_kind kind, const uint8_t *tab,
			 size_t len, int firstlineno, int addr)
{
	if (addr < 0)
		return firstlineno;
	if (!tab)
		len = 0;
	switch (kind) {
	case PY_LT_LNOTAB:
		return addr2line_lnotab(tab, len, firstlineno, addr);
	case PY_LT_LINETABLE310:
		return addr2line_310(tab, len, firstlineno, addr);
	case PY_LT_LOCATIONS:
		return addr2line_locations(tab, len, firstlineno, addr);
	}
	return -1;
}
