/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Builds inputs whose hash_bytes() (FNV-1a, src/lib/hashmap.h) are equal,
 * so that the interning tables' "two contents, one hash" path can be tested
 * whatever the seeds, sizes and struct layouts are today.
 */
#ifndef PYPROF_TEST_COLLIDE_H
#define PYPROF_TEST_COLLIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * a and b hold the same len bytes on entry.  Chooses bytes [from, to) of
 * each (at least 8 of them, at most 16) so that a != b and
 * hash_bytes(a, len, seed) == hash_bytes(b, len, seed); with no_nul, none
 * of the chosen bytes is 0 (for C strings).  0, or -1 with the reason in
 * why (hash_bytes is no longer the FNV-1a this file models, or no pair
 * was found: both are test failures, never skips).
 */
int collide__build(uint8_t *a, uint8_t *b, size_t len, size_t from, size_t to,
		   uint64_t seed, bool no_nul, char *why, size_t whylen);

#endif /* PYPROF_TEST_COLLIDE_H */
