/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Reading CPython objects out of a target's memory: str, bytes, int, dict and
 * instance attributes.  Every read is bounded and every length checked; a
 * corrupt object gives an error, never a crash or an unbounded read.
 */
#ifndef PYPROF_PYOBJ_H
#define PYPROF_PYOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "python/layout.h"
#include "python/rmem.h"

/* Longest str we read, in code points; longer ones are cut (and say so). */
#define PYOBJ_STR_MAX 4096
/* Largest bytes object we read (line tables). */
#define PYOBJ_BYTES_MAX (1u << 20)

/*
 * Reads the str at addr as UTF-8 into out, NUL-terminated, cut at a character
 * boundary to fit outlen.  Returns the length written or -errno (-EINVAL for
 * something that is not a sane str).
 */
int pyobj__read_str(const struct py_layout *l, const struct rmem *m,
		    uint64_t addr, char *out, size_t outlen);

/*
 * Reads the bytes object at addr into a malloc'd buffer (*out, *outlen).
 * Returns 0 or -errno; -E2BIG if it is larger than max.
 */
int pyobj__read_bytes(const struct py_layout *l, const struct rmem *m,
		      uint64_t addr, size_t max, uint8_t **out, size_t *outlen);

/* Reads an int that fits in 64 bits (as unsigned). Returns 0 or -errno. */
int pyobj__read_ulong(const struct py_layout *l, const struct rmem *m,
		      uint64_t addr, uint64_t *out);

/* Looks up str key in the dict at addr; *value is 0 if absent. 0 or -errno. */
int pyobj__dict_get(const struct py_layout *l, const struct rmem *m,
		    uint64_t dict, const char *key, uint64_t *value);

#define PYOBJ_MEMO_ABSENT UINT64_MAX

/*
 * Where the last look-up of one key in one dict found it: a look-up
 * compares the dict's keys one by one, a read each, and the memo spares
 * that while the dict's keys table is the same and holds the same key
 * object at the same entry (or, for an absent key, no more entries).
 * Zeroed: nothing known yet.
 */
struct pyobj_dict_memo {
	uint64_t dict, type, keys; /* the dict, its type, its keys table */
	uint64_t nentries; /* the table's entries then */
	uint64_t ix; /* the key's entry, or PYOBJ_MEMO_ABSENT */
	uint64_t key; /* the key object there */
};

/* pyobj__dict_get, through memo (NULL: none), which it keeps up to date. */
int pyobj__dict_get_memo(const struct py_layout *l, const struct rmem *m,
			 uint64_t dict, const char *key,
			 struct pyobj_dict_memo *memo, uint64_t *value);

/*
 * Calls fn for each (key, value) of the dict at addr, at most max entries.
 * Stops early when fn returns non-zero.  Returns 0 or -errno.
 */
int pyobj__dict_foreach(const struct py_layout *l, const struct rmem *m,
			uint64_t dict, int max,
			int (*fn)(uint64_t key, uint64_t value, void *arg),
			void *arg);

/* Looks up instance attribute name of the object at addr (its __dict__ or
 * inline values). *value is 0 if absent. 0 or -errno. */
int pyobj__getattr(const struct py_layout *l, const struct rmem *m,
		   uint64_t obj, const char *name, uint64_t *value);

#endif /* PYPROF_PYOBJ_H */
