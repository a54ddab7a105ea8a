// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes what pyprof-bpf reads out of a target's memory: code objects (name,
 * qualname, filename, line table, then lines from it), str in every form
 * (PyUnicode compact ASCII, UCS1/2/4, legacy), bytes, int, dicts, instance
 * attributes and the thread names found through threading._active (also
 * through the memos that names are re-read with), for each supported
 * version's layout (3.8 ... 3.14).
 *
 * Input: a 16-byte header, then fake memory (fuzz_mem.h):
 *	[0]      the version: 3.(8 + b % 7)
 *	[1]      what to read (enum op, b % OP_COUNT)
 *	[2..9]   the object's address (LE)
 *	[10..13] lasti, an instruction byte offset (LE, signed)
 *	[14]     bit 0: give python__code a fingerprint that disagrees with
 *	         the object (the reused-address path)
 *	[15]     OP_THREADS, OP_ATTR: a byte XOR-ed into the memory (into
 *	         its segments' contents, at the lasti-th byte of them all,
 *	         modulo their length) before the memo's last look-up
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_mem.h"
#include "python/pyobj.h"
#include "python/python.h"
#include "python/pythread.h"

#define HDR 16

enum op {
	OP_CODE,
	OP_STR,
	OP_BYTES,
	OP_THREADS,
	OP_ATTR,
	OP_DEBUG, /* 3.13+: the layout from _Py_DebugOffsets at addr (2048
		     bytes, as python.c reads them), then the code object
		     whose address follows them */
	OP_COUNT
};

/* Reads of one input: a loop that runs away shows up as a failure here
 * rather than as a slow fuzzer. */
#define READS_MAX (1u << 21)

static void fuzz_code(struct fuzz_mem *fm, const struct py_layout *l,
		      uint64_t addr, int32_t lasti, int flags)
{
	static struct py_target t;
	const struct py_code *c;
	uint32_t fp = 0;
	uint8_t b[512];

	memset(&t, 0, sizeof(t));
	t.version = l->version;
	t.layout = *l;
	t.mem = fm->m;
	if (l->code.size <= sizeof(b) &&
	    rmem__read(&fm->m, addr, b, l->code.size) == 0)
		fp = python__code_fp(l, b);
	if (flags & 1)
		fp++;
	c = python__code(&t, addr, fp);
	if (c) {
		if (c->ok && (!c->name || !c->filename))
			abort(); /* ok promises both */
		python__line(&t, c, lasti);
		python__line(&t, c, -1);
		for (int32_t off = 0; off < 64; off += 2)
			python__line(&t, c, off);
		python__line(&t, c, INT32_MAX);
	}
	/* Again: the cached entry, then a different fingerprint. */
	python__code(&t, addr, fp);
	python__code(&t, addr, fp ^ 1);
	python__detach(&t);
}

static void same_names(const struct pythread_name *a,
		       const struct pythread_name *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].native_id != b[i].native_id ||
		    a[i].thread_id != b[i].thread_id ||
		    strcmp(a[i].name, b[i].name))
			abort();
}

/* XORs x into one byte of the memory's segments, the sel-th counted
 * across them all: an object's contents, not the segments' headers. */
static void flip_byte(const struct fuzz_mem *fm, uint8_t *mem, size_t sel,
		      uint8_t x)
{
	size_t total = 0;

	for (int k = 0; k < fm->nseg; k++)
		total += fm->seg[k].len;
	if (!total)
		return;
	sel %= total;
	for (int k = 0; k < fm->nseg; k++) {
		if (sel < fm->seg[k].len) {
			mem[(size_t)(fm->seg[k].data - mem) + sel] ^= x;
			return;
		}
		sel -= fm->seg[k].len;
	}
}

static void check_names(const struct pythread_name *names, int n)
{
	if (n > 64)
		abort();
	for (int i = 0; i < n; i++)
		if (!memchr(names[i].name, '\0', sizeof(names[i].name)))
			abort();
}

/*
 * The look-up without a memo, then through one (pyobj__dict_get_memo,
 * pythread__names_memo): on memory that did not change, the memo, as it
 * is filled and then once it holds, must give what the plain look-up gave;
 * on memory changed under it (a byte flipped: the target wrote there, or
 * lied) it must stay within its bounds like any other read.
 */
static void fuzz_threads(struct fuzz_mem *fm, const struct py_layout *l,
			 uint64_t addr, uint8_t *mem, size_t flip, uint8_t x)
{
	static struct pythread_name plain[64], memoed[64];
	struct pythread_memo memo = { 0 };
	int n;

	n = pythread__names(l, &fm->m, addr, plain, 64);
	check_names(plain, n);
	for (int k = 0; k < 2; k++) {
		if (pythread__names_memo(l, &fm->m, addr, &memo, memoed, 64) !=
		    n)
			abort();
		if (n > 0)
			same_names(plain, memoed, n);
	}
	flip_byte(fm, mem, flip, x);
	check_names(memoed,
		    pythread__names_memo(l, &fm->m, addr, &memo, memoed, 64));
}

static void fuzz_attr(struct fuzz_mem *fm, const struct py_layout *l,
		      uint64_t addr, uint8_t *mem, size_t flip, uint8_t x)
{
	struct pyobj_dict_memo memo = { 0 };
	uint64_t plain = 0, memoed = 0;
	int rc;

	rc = pyobj__dict_get(l, &fm->m, addr, "threading", &plain);
	for (int k = 0; k < 2; k++)
		if (pyobj__dict_get_memo(l, &fm->m, addr, "threading", &memo,
					 &memoed) != rc ||
		    memoed != plain)
			abort();
	flip_byte(fm, mem, flip, x);
	pyobj__dict_get_memo(l, &fm->m, addr, "threading", &memo, &memoed);
}

static int count_cb(uint64_t key, uint64_t value, void *arg)
{
	(void)key;
	(void)value;
	return ++*(int *)arg >= 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_mem fm;
	const struct py_layout *l;
	uint64_t addr, v;
	int32_t lasti;
	char s[64], big[PYOBJ_STR_MAX * 4 + 1];
	uint8_t *mem;
	size_t len;
	int n;

	if (size < HDR)
		return 0;
	l = py_layout__builtin(PYVER(3, 8 + data[0] % 7));
	if (!l)
		return 0;
	memcpy(&addr, data + 2, 8);
	memcpy(&lasti, data + 10, 4);
	/* A copy, which the memo ops change between look-ups. */
	len = size - HDR;
	mem = malloc(len ? len : 1);
	if (!mem)
		return 0;
	memcpy(mem, data + HDR, len);
	fuzz_mem__init(&fm, mem, len);

	switch (data[1] % OP_COUNT) {
	case OP_CODE:
		fuzz_code(&fm, l, addr, lasti, data[14]);
		break;
	case OP_STR:
		/* A str may hold U+0000, so strlen() may be less than n. */
		n = pyobj__read_str(l, &fm.m, addr, big, sizeof(big));
		if (n >= (int)sizeof(big) || (n >= 0 && big[n]))
			abort();
		n = pyobj__read_str(l, &fm.m, addr, s, sizeof(s));
		if (n >= (int)sizeof(s) || (n >= 0 && s[n]))
			abort();
		pyobj__read_str(l, &fm.m, addr, s, 1);
		break;
	case OP_BYTES: {
		uint8_t *out = NULL;
		size_t outlen = 0;

		n = pyobj__read_bytes(l, &fm.m, addr, 1 << 16, &out, &outlen);
		if (n == 0 && outlen > (1 << 16))
			abort();
		free(out);
		pyobj__read_ulong(l, &fm.m, addr, &v);
		break;
	}
	case OP_THREADS:
		fuzz_threads(&fm, l, addr, mem, (uint32_t)lasti, data[15] | 1);
		break;
	case OP_DEBUG: {
		uint8_t dbg[2048 + 8];
		struct py_layout dl;
		char why[256];
		uint64_t code;

		/* A 3.13+ target names its own offsets: python.c trusts them
		 * once they parse. */
		if (rmem__read(&fm.m, addr, dbg, sizeof(dbg)) != 0 ||
		    py_layout__from_debug_offsets(dbg, 2048, &dl, why,
						  sizeof(why)) != 0)
			break;
		memcpy(&code, dbg + 2048, 8);
		fuzz_code(&fm, &dl, code, lasti, data[14]);
		break;
	}
	case OP_ATTR:
		n = 0;
		pyobj__getattr(l, &fm.m, addr, "_name", &v);
		pyobj__dict_foreach(l, &fm.m, addr, 1 << 16, count_cb, &n);
		fuzz_attr(&fm, l, addr, mem, (uint32_t)lasti, data[15] | 1);
		break;
	}
	free(mem);
	if (fm.reads > READS_MAX)
		abort();
	return 0;
}
