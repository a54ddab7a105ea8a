// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "lib/hashmap.h"

#include <errno.h>
#include <stdlib.h>

static size_t slot(const struct hashmap *h, uint64_t key)
{
	return hash64(key) & (h->cap - 1);
}

bool hashmap__get(const struct hashmap *h, uint64_t key, uint64_t *val)
{
	if (!h->cap || !key)
		return false;
	for (size_t i = slot(h, key);; i = (i + 1) & (h->cap - 1)) {
		if (h->keys[i] == key) {
			if (val)
				*val = h->vals[i];
			return true;
		}
		if (!h->keys[i])
			return false;
	}
}

static int grow(struct hashmap *h)
{
	size_t ncap = h->cap ? h->cap * 2 : 16;
	struct hashmap n = { .cap = ncap };

	n.keys = calloc(ncap, sizeof(*n.keys));
	n.vals = calloc(ncap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < h->cap; i++)
		if (h->keys[i])
			hashmap__set(&n, h->keys[i], h->vals[i]);
	free(h->keys);
	free(h->vals);
	*h = n;
	return 0;
}

int hashmap__set(struct hashmap *h, uint64_t key, uint64_t val)
{
	size_t i;

	if (!key)
		return -EINVAL;
	if ((h->len + 1) * 10 > h->cap * 7 && grow(h))
		return -ENOMEM;
	for (i = slot(h, key); h->keys[i] && h->keys[i] != key;
	     i = (i + 1) & (h->cap - 1))
		;
	if (!h->keys[i])
		h->len++;
	h->keys[i] = key;
	h->vals[i] = val;
	return 0;
}

bool hashmap__del(struct hashmap *h, uint64_t key)
{
	size_t i, j, mask = h->cap - 1;

	if (!h->cap || !key)
		return false;
	for (i = slot(h, key); h->keys[i] != key; i = (i + 1) & mask)
		if (!h->keys[i])
			return false;
	/* Backward-shift deletion: move later members of the probe run
	 * into the hole when their home slot allows it. */
	for (j = (i + 1) & mask; h->keys[j]; j = (j + 1) & mask) {
		size_t home = slot(h, h->keys[j]);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			h->keys[i] = h->keys[j];
			h->vals[i] = h->vals[j];
			i = j;
		}
	}
	h->keys[i] = 0;
	h->vals[i] = 0;
	h->len--;
	return true;
}

void hashmap__free(struct hashmap *h)
{
	free(h->keys);
	free(h->vals);
	h->keys = h->vals = NULL;
	h->cap = h->len = 0;
}
