// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * --native's C library (tests/test_native.py): a -> b -> c, each a real
 * call (noinline, and work after each call so none is a tail call), built
 * without frame pointers.
 */
volatile unsigned long sink;
__attribute__((noinline)) unsigned long c(unsigned long n)
{
	unsigned long x = 0;
	for (unsigned long i = 0; i < n; i++) {
		x += i * i;
		sink = x;
	}
	return x;
}
__attribute__((noinline)) unsigned long b(unsigned long n)
{
	unsigned long r = c(n);
	sink = r;
	return r + 1;
}
__attribute__((noinline)) unsigned long a(unsigned long n)
{
	unsigned long r = b(n);
	sink = r;
	return r + 2;
}

/* A loop that reads the clock: on a clock source the vDSO reads in user
 * space, its time is in the vDSO (test_vdso_frames_unwound). */
#include <time.h>
__attribute__((noinline)) long spin_clock(long n)
{
	struct timespec ts;
	long x = 0;

	for (long i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		x += ts.tv_nsec;
		sink = x;
	}
	return x;
}
