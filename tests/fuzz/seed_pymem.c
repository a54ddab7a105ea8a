// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Writes a seed for fuzz_pymem (or fuzz_debug_offsets) from a live CPython:
 * attaches to PID as pyprof-bpf does, performs one read the way pyprof-bpf
 * does, and records every piece of target memory that read fetched as the
 * segments of fuzz_mem.h.  Run by scripts/fuzz-seeds (root).
 *
 *   seed_pymem PID code|str|bytes|threads|attr ADDR LASTI OUT
 *   seed_pymem PID runtime 0 0 OUT     (the first 2048 bytes of _PyRuntime)
 *   seed_pymem PID dcode ADDR LASTI OUT (3.13+: the code object at ADDR read
 *                                        with the layout of _Py_DebugOffsets)
 *
 * ADDR 0 with threads means the first interpreter.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyobj.h"
#include "python/python.h"
#include "python/pythread.h"

struct rec {
	uint64_t addr;
	uint16_t len;
	uint8_t *data;
};

static struct rec recs[4096];
static int nrec;
static rmem_read_fn real_read;

static int rec_read(const struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	int rc = real_read(m, addr, buf, len);

	if (rc || len > UINT16_MAX || len == 0)
		return rc;
	for (int i = 0; i < nrec; i++)
		if (recs[i].addr == addr && recs[i].len == len)
			return 0;
	if (nrec < (int)(sizeof(recs) / sizeof(recs[0]))) {
		recs[nrec].addr = addr;
		recs[nrec].len = (uint16_t)len;
		recs[nrec].data = malloc(len);
		if (!recs[nrec].data)
			return rc;
		memcpy(recs[nrec].data, buf, len);
		nrec++;
	}
	return 0;
}

static const char *const ops[] = { "code",    "str",  "bytes",
				   "threads", "attr", "dcode" };

int main(int argc, char **argv)
{
	static struct py_target t;
	static struct pythread_name names[64];
	uint8_t hdr[16] = { 0 }, *bytes = NULL, dbg[2048 + 8];
	uint64_t code_addr = 0;
	char err[512], s[256];
	uint64_t addr, v;
	int32_t lasti;
	size_t blen;
	int op = -1;
	FILE *out;

	if (argc != 6) {
		fprintf(stderr, "usage: seed_pymem PID OP ADDR LASTI OUT\n");
		return 2;
	}
	addr = strtoull(argv[3], NULL, 0);
	lasti = (int32_t)strtol(argv[4], NULL, 0);
	if (python__attach(atoi(argv[1]), &t, err, sizeof(err)) != 0) {
		fprintf(stderr, "seed_pymem: %s\n", err);
		return 1;
	}
	out = fopen(argv[5], "w");
	if (!out) {
		fprintf(stderr, "seed_pymem: %s: %s\n", argv[5],
			strerror(errno));
		return 1;
	}
	if (strcmp(argv[2], "runtime") == 0) {
		uint8_t buf[2048];

		if (rmem__read(&t.mem, t.runtime_addr, buf, sizeof(buf)) ||
		    fwrite(buf, sizeof(buf), 1, out) != 1)
			return 1;
		return fclose(out) ? 1 : 0;
	}
	for (int i = 0; i < (int)(sizeof(ops) / sizeof(ops[0])); i++)
		if (strcmp(argv[2], ops[i]) == 0)
			op = i;
	if (op < 0) {
		fprintf(stderr, "seed_pymem: unknown op %s\n", argv[2]);
		return 2;
	}
	if (op == 3 && !addr && python__interp(&t, &addr) != 0)
		return 1;
	/* The built-in layout, as fuzz_pymem uses; for dcode the target's
	 * _Py_DebugOffsets, followed in the seed by the code address. */
	t.layout = *py_layout__builtin(t.version);
	if (op == 5) {
		if (rmem__read(&t.mem, t.runtime_addr, dbg, 2048) ||
		    py_layout__from_debug_offsets(dbg, 2048, &t.layout, err,
						  sizeof(err))) {
			fprintf(stderr, "seed_pymem: no debug offsets: %s\n",
				err);
			return 1;
		}
		code_addr = addr;
		memcpy(dbg + 2048, &code_addr, 8);
		addr = t.runtime_addr;
	}
	real_read = t.mem.read;
	t.mem.read = rec_read;
	switch (op) {
	case 0:
	case 5: {
		uint64_t ca = op == 5 ? code_addr : addr;
		const struct py_code *c;
		uint8_t b[1024];
		uint32_t fp = 0;

		/* The fingerprint that BPF would have sent with it. */
		if (t.layout.code.size <= sizeof(b) &&
		    rmem__read(&t.mem, ca, b, t.layout.code.size) == 0)
			fp = python__code_fp(&t.layout, b);
		c = python__code(&t, ca, fp);
		if (!c || !c->ok) {
			fprintf(stderr, "seed_pymem: no code object at %#llx\n",
				(unsigned long long)ca);
			return 1;
		}
		fprintf(stderr, "  %s (%s) line %d\n", c->name, c->filename,
			python__line(&t, c, lasti));
		break;
	}
	case 1:
		if (pyobj__read_str(&t.layout, &t.mem, addr, s, sizeof(s)) < 0)
			return 1;
		break;
	case 2:
		pyobj__read_bytes(&t.layout, &t.mem, addr, 1 << 16, &bytes,
				  &blen);
		pyobj__read_ulong(&t.layout, &t.mem, addr, &v);
		free(bytes);
		break;
	case 3:
		if (pythread__names(&t.layout, &t.mem, addr, names, 64) <= 0)
			return 1;
		break;
	case 4:
		if (pyobj__getattr(&t.layout, &t.mem, addr, "_name", &v) != 0)
			return 1;
		break;
	}
	hdr[0] = (uint8_t)((t.version & 0xff) - 8);
	hdr[1] = (uint8_t)op;
	memcpy(hdr + 2, &addr, 8);
	memcpy(hdr + 10, &lasti, 4);
	fwrite(hdr, sizeof(hdr), 1, out);
	if (op == 5) {
		uint16_t len = sizeof(dbg);

		fwrite(&addr, 8, 1, out);
		fwrite(&len, 2, 1, out);
		fwrite(dbg, sizeof(dbg), 1, out);
	}
	for (int i = 0; i < nrec; i++) {
		fwrite(&recs[i].addr, 8, 1, out);
		fwrite(&recs[i].len, 2, 1, out);
		fwrite(recs[i].data, recs[i].len, 1, out);
	}
	python__detach(&t);
	return fclose(out) ? 1 : 0;
}
