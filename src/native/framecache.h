/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * --native names every sample on its own (no counts map aggregates them in
 * the kernel), so the same frames come back thousands of times a second:
 * a bounded cache from a 64-bit key (a symbolised address's id, a Python
 * stack's key) to the short array of profile frame ids it became, so that
 * a sample seen before costs hash lookups instead of string interning
 * and line-table decoding.  Cleared whole when it holds more than its
 * bound of ids (src/sampler/collect.c).
 */
#ifndef PYPROF_FRAMECACHE_H
#define PYPROF_FRAMECACHE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/hashmap.h"

struct framecache {
	struct hashmap map; /* key -> offset + 1 in ids */
	uint32_t *ids; /* at each offset: the count, then the ids */
	size_t len, cap;
	size_t max; /* ids held before it is cleared */
	uint64_t hits, misses, clears;
};

void framecache__init(struct framecache *fc, size_t max);
void framecache__free(struct framecache *fc);
/* Forgets every entry. */
void framecache__clear(struct framecache *fc);

/* The ids cached under key (n of them in *n), or NULL; valid until the
 * next framecache__put or framecache__clear. */
const uint32_t *framecache__get(struct framecache *fc, uint64_t key,
				uint32_t *n);

/* Caches ids[n] under key (non-zero). 0 or -ENOMEM. */
int framecache__put(struct framecache *fc, uint64_t key, const uint32_t *ids,
		    uint32_t n);

#endif /* PYPROF_FRAMECACHE_H */
