// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The control socket's request parser and who may profile what
 * (src/serve/control.c). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "sampler/targets.h"
#include "serve/control.h"
#include "unit.h"

static int parse(const char *line, struct control_req *rq, char *err)
{
	char buf[CONTROL_LINE_MAX];

	snprintf(buf, sizeof(buf), "%s", line);
	err[0] = '\0';
	return control__parse_start(buf, 4242, rq, err, 512);
}

TEST(control_start_defaults)
{
	struct control_req rq;
	char err[512];

	CHECK_INT(parse("", &rq, err), 0);
	CHECK_INT(rq.pid, 4242);
	CHECK_INT(rq.tid, 0);
	CHECK(rq.children);
	CHECK_INT(rq.freq, 99);
	CHECK(!rq.native && !rq.kernel && !rq.wall);
	CHECK_INT(rq.fmt, OUT_FOLDED);
}

TEST(control_start_keys)
{
	struct control_req rq;
	char err[512];

	CHECK_INT(parse(" pid=7 frequency=499 native=1 kernel=1 mode=wall "
			"children=0 name=my region.speedscope.json",
			&rq, err),
		  0);
	CHECK_INT(rq.pid, 7);
	CHECK_INT(rq.freq, 499);
	CHECK(rq.native && rq.kernel && rq.wall && !rq.children);
	CHECK_INT(rq.fmt, OUT_SPEEDSCOPE);
	/* tid: that thread alone, never its descendants. */
	CHECK_INT(parse("tid=9 children=1 format=svg", &rq, err), 0);
	CHECK_INT(rq.tid, 9);
	CHECK(!rq.children);
	CHECK_INT(rq.fmt, OUT_SVG);
	CHECK_INT(parse("name=a.pb.gz", &rq, err), 0);
	CHECK_INT(rq.fmt, OUT_PPROF);
}

TEST(control_start_refusals)
{
	struct control_req rq;
	char err[512];

	CHECK_INT(parse("frequency=abc", &rq, err), -EINVAL);
	CHECK_STR(err, "bad value for frequency: 'abc'");
	CHECK_INT(parse("frequency=0", &rq, err), -EINVAL);
	CHECK_INT(parse("frequency=10001", &rq, err), -EINVAL);
	CHECK_INT(parse("frequency=-5", &rq, err), -EINVAL);
	CHECK_INT(parse("pid=0", &rq, err), -EINVAL);
	CHECK_INT(parse("pid=99999999999", &rq, err), -EINVAL);
	CHECK_INT(parse("native=yes", &rq, err), -EINVAL);
	CHECK_INT(parse("mode=gil", &rq, err), -EINVAL);
	CHECK_INT(parse("colour=red", &rq, err), -EINVAL);
	CHECK_STR(err, "unknown key 'colour'");
	CHECK_INT(parse("pid", &rq, err), -EINVAL);
	CHECK_STR(err, "bad word 'pid': want KEY=VALUE");
	CHECK_INT(parse("format=png", &rq, err), -EINVAL);
	CHECK(strstr(err, "png") != NULL);
}

TEST(control_who_may_profile)
{
	char err[512] = "";

	CHECK(control__may_profile(0, 100, 1, err, sizeof(err)));
	/* Not root: not pid 1, and not even itself when it runs as another
	 * user (this test runs as whoever, the uid below is nobody's). */
	CHECK(!control__may_profile(65534, getpid(), 1, err, sizeof(err)));
	CHECK_STR(err, "permission denied: pid 1 is not the caller's own "
		       "process or a descendant running as uid 65534; only "
		       "root may profile other processes");
	if (getuid() != 65534)
		CHECK(!control__may_profile(65534, getpid(), getpid(), err,
					    sizeof(err)));
	CHECK(control__may_profile(getuid(), getpid(), getpid(), err,
				   sizeof(err)) ||
	      getuid() != geteuid());
}

/* A run for a caller other than root profiles none of its descendants that
 * runs as anyone else (a setuid program it started). */
TEST(control_own_processes_only)
{
	struct targets ts;
	char err[512];
	int rc = 0;

	if (getuid() == 65534)
		SKIP("runs as uid 65534, the uid this test refuses");
	targets__init(&ts, false);
	ts.own_only = true;
	ts.own_uid = 65534;
	CHECK(targets__add(&ts, getpid(), true, &rc, err, sizeof(err)) == NULL);
	CHECK_INT(rc, -EPERM);
	CHECK(strstr(err, "does not run as uid 65534 alone") != NULL);
	CHECK_INT(ts.n, 0);
	targets__fini(&ts);
}
