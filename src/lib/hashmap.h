/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * An open-addressing hash map from non-zero 64-bit keys to 64-bit values
 * (often an index or a pointer).  Linear probing, power-of-two capacity,
 * grown at 70% load; deletion by backward shift, so no tombstones.
 */
#ifndef PYPROF_HASHMAP_H
#define PYPROF_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap {
	uint64_t *keys; /* 0 = empty slot */
	uint64_t *vals;
	size_t cap; /* power of two, or 0 */
	size_t len;
};

/* The value of key in *val (val may be NULL); false if absent. */
bool hashmap__get(const struct hashmap *h, uint64_t key, uint64_t *val);
/* Sets key (non-zero) to val. 0 or -ENOMEM. */
int hashmap__set(struct hashmap *h, uint64_t key, uint64_t val);
/* Removes key; false if it was absent. */
bool hashmap__del(struct hashmap *h, uint64_t key);
void hashmap__free(struct hashmap *h);

/* A good 64-bit mix for keys that are addresses or combined hashes. */
static inline uint64_t hash64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* FNV-1a over bytes, for string and array keys. */
static inline uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;

	h ^= 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#endif /* PYPROF_HASHMAP_H */
