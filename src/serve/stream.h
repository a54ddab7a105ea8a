/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The live stream (GET /stream) that `pyprof-bpf view http://HOST:PORT`
 * reads: a sequence of blocks, each one header line and then exactly
 * `bytes` bytes of folded stacks (src/out/folded.c's format):
 *
 *	pyprof-bpf-stream 1 kind=total seq=41 t=1718000000.250 dur=41.0
 *	    samples=8118 taken=8120 lost=2 procs=3 rate=99 bytes=1234
 *	<1234 bytes of folded stacks>
 *
 * (one line).  The first block is kind=total, every stack since the
 * agent started; then one kind=interval block per interval, its samples
 * only, as soon as the agent has collected it.  skipped=N says N intervals
 * were left out (a reader too slow for the window).  Unknown keys are
 * ignored, so that a newer agent can add some; the version (1) changes
 * when an old reader could not read the blocks.
 */
#ifndef PYPROF_STREAM_H
#define PYPROF_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/profile.h"
#include "serve/answer.h"

#define STREAM_MAGIC "pyprof-bpf-stream"
#define STREAM_VERSION 1
#define STREAM_HEAD_MAX 512 /* bytes in a header line, its '\n' included */
#define STREAM_BLOCK_MAX (64u << 20) /* bytes of stacks in one block */

struct stream_head {
	bool total; /* kind=total (else interval) */
	uint64_t seq; /* the interval's number (total: the last one in it) */
	double t; /* CLOCK_REALTIME at its end */
	double dur; /* seconds it covers */
	uint64_t samples; /* samples in the block */
	uint64_t taken, lost; /* samples taken and lost in that time */
	uint32_t procs; /* processes profiled */
	unsigned rate; /* -F */
	uint64_t skipped; /* intervals left out before this one */
	size_t bytes; /* of folded stacks after the line */
};

/*
 * Writes one block, h->bytes and h->samples taken from p, into an answer
 * the caller frees (*out).  0 or -errno (-EFBIG: more than
 * STREAM_BLOCK_MAX bytes of stacks).
 */
int stream__block(struct stream_head *h, const struct profile *p,
		  struct answer **out);

/*
 * Parses a header line (a string, without its '\n') into *h.  0, or
 * -EINVAL with one line in err: not a stream, another version, a field
 * out of range, bytes above STREAM_BLOCK_MAX.
 */
int stream__parse_head(const char *line, struct stream_head *h, char *err,
		       size_t errlen);

#endif /* PYPROF_STREAM_H */
