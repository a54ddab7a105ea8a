// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A native program that embeds Python and profiles a region of itself
 * through the agent with src/client/pyprof_bpf.h (tests/test_control.py):
 * Python's py_spin(), then its own c_spin(), between start and stop.
 *
 *	embed FILE [OPTIONS]	OPTIONS as pyprof_bpf_start_with's
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <time.h>

#include "pyprof_bpf.h"

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Not inlined, so that --native names it. */
__attribute__((noinline)) double c_spin(double secs)
{
	volatile double x = 0;
	double end = cpu_now() + secs;

	while (cpu_now() < end)
		for (int i = 0; i < 10000; i++)
			x += i;
	return x;
}

int main(int argc, char **argv)
{
	const char *err;

	if (argc < 2) {
		fprintf(stderr, "usage: embed FILE [OPTIONS]\n");
		return 2;
	}
	Py_Initialize();
	err = pyprof_bpf_start_with(argv[1], argc > 2 ? argv[2] : NULL);
	if (err) {
		fprintf(stderr, "pyprof_bpf_start: %s\n", err);
		return 1;
	}
	PyRun_SimpleString("import time\n"
			   "def py_spin():\n"
			   "    t = time.process_time()\n"
			   "    while time.process_time() - t < 0.5:\n"
			   "        pass\n"
			   "py_spin()\n");
	c_spin(0.5);
	err = pyprof_bpf_stop();
	if (err) {
		fprintf(stderr, "pyprof_bpf_stop: %s\n", err);
		return 1;
	}
	err = pyprof_bpf_stop();
	printf("second stop: %s\n", err ? err : "(none)");
	Py_Finalize();
	return 0;
}
