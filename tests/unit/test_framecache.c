// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* src/native/framecache.c: ids kept under a key come back as they were;
 * past its bound the cache starts again empty; key 0 is never kept. */
#include "unit.h"

#include "native/framecache.h"

TEST(framecache_keeps_and_bounds)
{
	struct framecache fc;
	const uint32_t a[] = { 7, 8, 9 }, b[] = { 42 };
	const uint32_t *got;
	uint32_t n = 0;

	framecache__init(&fc, 9);
	CHECK(!framecache__get(&fc, 1, &n));
	CHECK_INT(framecache__put(&fc, 1, a, 3), 0);
	CHECK_INT(framecache__put(&fc, 2, b, 1), 0);
	got = framecache__get(&fc, 1, &n);
	REQUIRE(got);
	CHECK_INT(n, 3);
	CHECK_INT(got[0], 7);
	CHECK_INT(got[2], 9);
	got = framecache__get(&fc, 2, &n);
	REQUIRE(got);
	CHECK_INT(n, 1);
	CHECK_INT(got[0], 42);
	CHECK(framecache__put(&fc, 0, b, 1) != 0);
	/* 4 + 2 held; 4 more pass the bound of 9: cleared first. */
	CHECK_INT(framecache__put(&fc, 3, a, 3), 0);
	CHECK_INT(fc.clears, 1);
	CHECK(!framecache__get(&fc, 1, &n));
	got = framecache__get(&fc, 3, &n);
	CHECK(got && n == 3 && got[1] == 8);
	CHECK_INT(fc.hits, 3);
	framecache__free(&fc);
}
