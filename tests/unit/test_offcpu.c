// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Off-CPU nanoseconds into samples, leaf names, GIL locations. */
#include "unit.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "cmd/options.h"
#include "sampler/offcpu.h"

TEST(offcpu_ns_to_samples_carries_remainders)
{
	uint64_t carry = 0, n = 0;

	/* 99 Hz: a period of 10101010 ns. */
	CHECK_INT(offcpu__ns_to_samples(10101010, 10101010, &carry), 1);
	CHECK_INT(carry, 0);
	CHECK_INT(offcpu__ns_to_samples(5000000, 10101010, &carry), 0);
	CHECK_INT(carry, 5000000);
	CHECK_INT(offcpu__ns_to_samples(5101010, 10101010, &carry), 1);
	CHECK_INT(carry, 0);
	/* A thousand 1 ms waits are 99 samples and a remainder: nothing is
	 * lost to rounding. */
	carry = 0;
	for (int i = 0; i < 1000; i++)
		n += offcpu__ns_to_samples(1000000, 10101010, &carry);
	CHECK_INT(n, 99);
	CHECK_INT(n * 10101010 + carry, 1000000000ull);
	/* No overflow at the extremes, no division by zero. */
	carry = 10101009;
	CHECK(offcpu__ns_to_samples(UINT64_MAX, 10101010, &carry) > 0);
	carry = 0;
	CHECK_INT(offcpu__ns_to_samples(123, 0, &carry), 0);
}

TEST(offcpu_samples_per_key_and_thread)
{
	struct offcpu *o = offcpu__new(1000, false);
	struct sample_key on = { .pid = 1, .tid = 2 };
	struct sample_key off = on, off2 = on;

	REQUIRE(o);
	off.flags = SAMPLE_F_OFFCPU | OFFCPU_SLEEP << SAMPLE_WHY_SHIFT;
	off2.flags = SAMPLE_F_OFFCPU | OFFCPU_FUTEX << SAMPLE_WHY_SHIFT;
	CHECK_INT(offcpu__samples(o, &on, 7), 7); /* on-CPU: as is */
	CHECK_INT(offcpu__samples(o, &off, 1500), 1);
	/* Each key carries its own remainder. */
	CHECK_INT(offcpu__samples(o, &off2, 600), 0);
	CHECK_INT(offcpu__samples(o, &off, 500), 1);
	CHECK_INT(offcpu__samples(o, &off2, 400), 1);
	offcpu__free(o);

	o = offcpu__new(1000, true); /* --gil-only */
	REQUIRE(o);
	CHECK_INT(offcpu__samples(o, &on, 7), 0);
	on.flags = SAMPLE_F_GIL_HELD;
	CHECK_INT(offcpu__samples(o, &on, 7), 7);
	offcpu__free(o);
	CHECK(offcpu__new(0, false) == NULL);
}

TEST(offcpu_leaf_names)
{
	char buf[48];

	CHECK(!strcmp(offcpu__leaf(SAMPLE_F_OFFCPU |
					   OFFCPU_FUTEX << SAMPLE_WHY_SHIFT,
				   buf, sizeof(buf)),
		      "[off-cpu: futex]"));
	CHECK(!strcmp(offcpu__leaf(OFFCPU_PREEMPTED << SAMPLE_WHY_SHIFT, buf,
				   sizeof(buf)),
		      "[off-cpu: preempted]"));
	CHECK(!strcmp(offcpu__leaf((OFFCPU_SYSCALL + PYNR_openat) << SAMPLE_WHY_SHIFT,
				   buf, sizeof(buf)),
		      "[off-cpu: openat]"));
	CHECK(!strcmp(offcpu__leaf((OFFCPU_SYSCALL + 999) << SAMPLE_WHY_SHIFT,
				   buf, sizeof(buf)),
		      "[off-cpu: syscall 999]"));
	/* An unknown code the BPF side never sends is still a frame. */
	CHECK(!strcmp(offcpu__leaf(31u << SAMPLE_WHY_SHIFT, buf, sizeof(buf)),
		      "[off-cpu: other]"));
}

TEST(offcpu_gil_where)
{
	struct py_proc_cfg cfg = { .version = 0x030b };
	struct py_gil_cfg g;

	CHECK_INT(offcpu__gil_cfg(&cfg, &g), 0);
	CHECK_INT(g.where, PY_GIL_IN_RUNTIME);
	CHECK_INT(g.off, 360);
	CHECK_INT(g.locked_off, 16);
	CHECK_INT(g.holder_off, 8);
	cfg.version = 0x030d;
	cfg.off.runtime_interp_head = 632;
	CHECK_INT(offcpu__gil_cfg(&cfg, &g), 0);
	CHECK_INT(g.where, PY_GIL_INTERP_PTR);
	CHECK_INT(g.main_interp_off, 640);
	CHECK_INT(g.off, 16);
	/* 3.15: interpreters.main after interpreters.head (936), ceval.gil
	 * at 16 (its _Py_DebugOffsets' interpreter_state.ceval_gil). */
	cfg.version = 0x030f;
	cfg.off.runtime_interp_head = 936;
	CHECK_INT(offcpu__gil_cfg(&cfg, &g), 0);
	CHECK_INT(g.where, PY_GIL_INTERP_PTR);
	CHECK_INT(g.main_interp_off, 944);
	CHECK_INT(g.off, 16);
	/* A free-threaded build has none. */
	cfg.flags = PY_CFG_FREE_THREADED;
	CHECK_INT(offcpu__gil_cfg(&cfg, &g), -ENOTSUP);
	cfg.flags = 0;
	cfg.version = 0x0310;
	CHECK_INT(offcpu__gil_cfg(&cfg, &g), -ENOTSUP);
	cfg.version = 0x0307;
	CHECK_INT(offcpu__gil_cfg(&cfg, &g), -ENOTSUP);
}

static int parse(struct options *o, char *err, size_t len, int argc,
		 char **argv)
{
	return options__parse(argc, argv, o, err, len);
}

TEST(offcpu_options)
{
	struct options o;
	char err[256];
	char *a1[] = { "pyprof-bpf", "--mode", "wall", "-p", "1", NULL };
	char *a2[] = { "pyprof-bpf", "--gil", "-p", "1", NULL };
	char *a3[] = { "pyprof-bpf", "--gil-only", "--mode", "cpu",
		       "-p",	     "1",	   NULL };
	char *a4[] = {
		"pyprof-bpf", "--idle", "--mode", "cpu", "-p", "1", NULL
	};
	char *a5[] = { "pyprof-bpf", "--mode", "idle", "-p", "1", NULL };
	char *a6[] = { "pyprof-bpf", "-p", "1", NULL };

	CHECK_INT(parse(&o, err, sizeof(err), 5, a1), 0);
	CHECK(o.wall && !o.gil);
	CHECK_INT(parse(&o, err, sizeof(err), 4, a2), 0);
	CHECK(o.wall && o.gil && !o.gil_only); /* --gil implies wall */
	CHECK_INT(parse(&o, err, sizeof(err), 6, a3), 0);
	CHECK(!o.wall && o.gil && o.gil_only); /* unless cpu is asked */
	CHECK_INT(parse(&o, err, sizeof(err), 6, a4), -EINVAL);
	CHECK(!strcmp(err, "--idle and --mode cpu disagree: choose one mode"));
	CHECK_INT(parse(&o, err, sizeof(err), 5, a5), -EINVAL);
	CHECK(!strcmp(err,
		      "invalid mode 'idle': give --mode cpu or --mode wall"));
	CHECK_INT(parse(&o, err, sizeof(err), 3, a6), 0);
	CHECK(!o.wall && !o.gil);
}
