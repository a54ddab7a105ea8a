// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of the /proc text parsers of src/sampler/proc.c (the ones tests/fuzz/fuzz_proc
 * fuzzes): a comm that imitates more fields, a NSpid line per namespace
 * level, maps lines with odd paths.
 */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "sampler/proc.h"

TEST(proc_parse_stat_hostile_comm)
{
	/* comm is the target's to choose (prctl, /proc/self/comm): only the
	 * last ')' ends it. */
	const char *stat = "4242 (a) (b ) Z 1 2) S 1 4242 4242 0 -1 4194560 "
			   "100 0 0 0 57 13 0 0 20 0 1 0 987654 0 0";
	unsigned long long ut, st, start;
	char state;

	CHECK_INT(proc__parse_stat(stat, &state, &ut, &st, &start), 0);
	CHECK_INT(state, 'S');
	CHECK_INT(ut, 57);
	CHECK_INT(st, 13);
	CHECK_INT(start, 987654);
	CHECK_INT(proc__parse_stat("4242 (x", &state, &ut, &st, &start),
		  -EINVAL);
	CHECK_INT(proc__parse_stat("4242 (x) S 1", &state, &ut, &st, &start),
		  -EINVAL);
	CHECK_INT(proc__parse_stat("", &state, &ut, &st, &start), -EINVAL);
}

TEST(proc_parse_stat_code)
{
	/* startcode and endcode are fields 26 and 27, after a comm of the
	 * target's choosing. */
	const char *stat = "4242 (a) (b ) Z 1 2) S 1 4242 4242 0 -1 4194560 "
			   "100 0 0 0 57 13 0 0 20 0 1 0 987654 11059200 "
			   "2000 18446744073709551615 94371840 94380000 "
			   "140737488347136 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	uint64_t code = 0, end = 0;
	char self[1024];
	FILE *f;
	size_t n;

	CHECK_INT(proc__parse_stat_code(stat, &code, &end), 0);
	CHECK_INT(code == 94371840, 1);
	CHECK_INT(end == 94380000, 1);
	CHECK_INT(proc__parse_stat_code("4242 (x) S 1 2 3", &code, &end),
		  -EINVAL);
	CHECK_INT(proc__parse_stat_code("4242 (x", &code, &end), -EINVAL);
	/* Our own, which /proc shows us: where this program's code is. */
	f = fopen("/proc/self/stat", "r");
	REQUIRE(f);
	n = fread(self, 1, sizeof(self) - 1, f);
	fclose(f);
	self[n] = '\0';
	CHECK_INT(proc__parse_stat_code(self, &code, &end), 0);
	CHECK_INT(code > 1, 1);
	CHECK_INT(code <= (uint64_t)(uintptr_t)&proc__parse_stat_code, 1);
	CHECK_INT(end > (uint64_t)(uintptr_t)&proc__parse_stat_code, 1);
}

TEST(proc_parse_stat_self)
{
	unsigned long long ut, st, start;
	char buf[1024], state;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n;

	REQUIRE(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	CHECK_INT(proc__parse_stat(buf, &state, &ut, &st, &start), 0);
	CHECK_INT(state, 'R'); /* we are the one reading it */
}

TEST(proc_parse_status_number)
{
	const char *status = "Name:\tpython3\nTgid:\t4242\nNgid:\t0\n"
			     "Pid:\t4243\nNSpid:\t4243\t17\t1\n";
	pid_t v = 0;

	CHECK_INT(proc__parse_status_number(status, "\nTgid:", &v), 0);
	CHECK_INT(v, 4242);
	/* the innermost namespace's number is the last */
	CHECK_INT(proc__parse_status_number(status, "\nNSpid:", &v), 0);
	CHECK_INT(v, 1);
	CHECK_INT(proc__parse_status_number(status, "\nNgid:", &v), -EINVAL);
	CHECK_INT(proc__parse_status_number(status, "\nTracerPid:", &v),
		  -EINVAL);
	CHECK_INT(proc__parse_status_number("\nTgid:\t99999999999\n",
					    "\nTgid:", &v),
		  -EINVAL);
}

TEST(proc_parse_map_line_spaces_and_order)
{
	struct proc_map m;

	CHECK_INT(
		proc__parse_map_line("7f0000000000-7f0000001000 r-xp 00001000 "
				     "08:01 1234   /usr/lib/lib a b.so\n",
				     &m),
		0);
	CHECK_STR(m.path, "/usr/lib/lib a b.so");
	CHECK_INT(m.pgoff, 0x1000);
	CHECK_STR(m.perms, "r-xp");
	free(m.path);
	CHECK_INT(
		proc__parse_map_line("7f0000000000-7f0000001000 rw-p 00000000 "
				     "00:00 0 \n",
				     &m),
		0);
	CHECK_STR(m.path, "");
	free(m.path);
	CHECK_INT(proc__parse_map_line("7f0000001000-7f0000000000 rw-p 0 00:00 "
				       "0 /x\n",
				       &m),
		  -EINVAL);
	CHECK_INT(proc__parse_map_line("garbage\n", &m), -EINVAL);
}
