/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A fake target memory for the fuzzers: fuzzer bytes laid out as segments
 * (address, length, contents) that a struct rmem serves.  A read succeeds
 * only when one segment holds all of it, as process_vm_readv(2) fails on an
 * unmapped page.  The seed generator (tests/fuzz/seed_pymem.c) writes the
 * same format from the reads pyprof-bpf makes of a live interpreter.
 *
 * Input: a header of FUZZ_MEM_HDR bytes the caller interprets, then
 * segments, each  u64 addr (LE) | u16 len (LE) | len bytes,  the last one cut
 * short by the end of the input.
 */
#ifndef PYPROF_FUZZ_MEM_H
#define PYPROF_FUZZ_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "python/rmem.h"

#define FUZZ_MEM_SEGS_MAX 512

struct fuzz_seg {
	uint64_t addr;
	const uint8_t *data;
	size_t len;
};

struct fuzz_mem {
	struct rmem m;
	struct fuzz_seg seg[FUZZ_MEM_SEGS_MAX];
	int nseg;
	uint64_t reads; /* reads asked for, to check work stays bounded */
};

/* Parses the segments in data[0..len) into *fm and points fm->m at them. */
void fuzz_mem__init(struct fuzz_mem *fm, const uint8_t *data, size_t len);

#endif /* PYPROF_FUZZ_MEM_H */
