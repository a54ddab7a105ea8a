/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Growing a malloc'd array by doubling: the one copy every module uses. */
#ifndef PYPROF_GROW_H
#define PYPROF_GROW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Grows *v (elements of size sz, *cap of them) to hold at least need,
 * doubling from 16.  0, or -ENOMEM (also when the size would overflow).
 */
static inline int grow__reserve(void **v, size_t *cap, size_t need, size_t sz)
{
	size_t ncap = *cap ? *cap : 16;
	void *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (sz && ncap > SIZE_MAX / sz)
		return -ENOMEM;
	nv = realloc(*v, ncap * sz);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

#endif /* PYPROF_GROW_H */
