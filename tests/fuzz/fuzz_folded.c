// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes the folded-stacks reader (src/out/in_folded.c), plain and differential
 * ("stack N M"), which `view`, `convert` and `diff` run on files of any
 * origin, and then the writer `convert` would run on what it read.
 *
 * Input: [0] bit 0: differential; bits 1-7: the output format
 * (b >> 1) % OUT__MAX; then the file.  Oracle: the folded output of anything
 * that was read must read back without error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/profile.h"
#include "out/folded.h"
#include "out/in_folded.h"
#include "out/output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct profile *p = NULL, *p2 = NULL, *back = NULL;
	char err[512], *text = NULL;
	size_t textlen = 0;
	FILE *in, *out;
	int rc;

	if (size < 1)
		return 0;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	in = fmemopen((void *)(data + 1), size - 1, "r");
	if (!in)
		return 0;
	p = profile__new();
	if (data[0] & 1)
		p2 = profile__new();
	rc = in_folded__read(p, p2, in, "fuzz", err, sizeof(err));
	fclose(in);
	if (rc) {
		if (!err[0])
			abort(); /* an error always says why */
		goto out;
	}
	output__write(p, (enum out_format)((data[0] >> 1) % OUT__MAX), NULL,
		      devnull);

	out = open_memstream(&text, &textlen);
	if (!out)
		goto out;
	rc = out_folded__write(p, out);
	fclose(out);
	if (rc || textlen == 0)
		goto out;
	in = fmemopen(text, textlen, "r");
	if (!in)
		goto out;
	back = profile__new();
	if (in_folded__read(back, NULL, in, "again", err, sizeof(err)) != 0) {
		fprintf(stderr, "written folded does not read back: %s\n", err);
		abort();
	}
	if (profile__total(back) != profile__total(p)) {
		fprintf(stderr, "total %llu read back as %llu\n",
			(unsigned long long)profile__total(p),
			(unsigned long long)profile__total(back));
		abort();
	}
	fclose(in);
out:
	free(text);
	profile__free(back);
	profile__free(p2);
	profile__free(p);
	return 0;
}
