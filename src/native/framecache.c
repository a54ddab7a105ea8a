// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "native/framecache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"

void framecache__init(struct framecache *fc, size_t max)
{
	memset(fc, 0, sizeof(*fc));
	fc->max = max;
}

void framecache__free(struct framecache *fc)
{
	hashmap__free(&fc->map);
	free(fc->ids);
	fc->ids = NULL;
	fc->len = fc->cap = 0;
}

void framecache__clear(struct framecache *fc)
{
	hashmap__free(&fc->map);
	fc->len = 0;
	fc->clears++;
}

const uint32_t *framecache__get(struct framecache *fc, uint64_t key,
				uint32_t *n)
{
	uint64_t off;

	if (!key || !hashmap__get(&fc->map, key, &off)) {
		fc->misses++;
		return NULL;
	}
	fc->hits++;
	*n = fc->ids[off - 1];
	return &fc->ids[off];
}

int framecache__put(struct framecache *fc, uint64_t key, const uint32_t *ids,
		    uint32_t n)
{
	size_t off;

	if (!key)
		return -EINVAL;
	if (fc->len + n + 1 > fc->max)
		framecache__clear(fc);
	if (grow__reserve((void **)&fc->ids, &fc->cap, fc->len + n + 1,
			  sizeof(*fc->ids)))
		return -ENOMEM;
	off = fc->len;
	fc->ids[off] = n;
	memcpy(&fc->ids[off + 1], ids, n * sizeof(*ids));
	if (hashmap__set(&fc->map, key, off + 1))
		return -ENOMEM;
	fc->len += n + 1;
	return 0;
}
